//! What a generator says about itself, readable without running it.
//!
//! Two sources, both custom sections of the outermost component, so reading
//! them needs only a parser (nothing is compiled or instantiated):
//!
//! - `wasmpush:metadata`: UTF-8 JSON written by [`embed_metadata`], e.g.
//!   `{"name":"fmt","version":"1.2.0","description":"…","authors":["A <a@x>"],
//!   "events":["build-finished"],"needs":{"properties":true,"steps":false,"logs":false,
//!   "log-contents":"none","previous-build":false}}`. Field names follow the
//!   WIT record `info` (`log-contents` is `"none"`, `"all"` or `{"only":[…]}`);
//!   unknown fields are ignored, every field is optional. `needs` is the
//!   model's [`Needs`], written in this JSON spelling.
//! - The registry-standard sections of the `wasm-metadata` crate
//!   (`component-name`, `version`, `description`, `authors`, `licenses`,
//!   `source`, `homepage`, `revision`, `producers`), used for whatever the
//!   wasmpush section does not say. [`embed_metadata`] writes those too.
//!
//! The component's import and export names are listed from its own import
//! and export sections.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use wasm_metadata::{AddMetadata, AddMetadataField, Payload as MetaPayload};
use wasmparser::{Chunk, Encoding, Parser, Payload};

use crate::digest::Sha256;

pub use wasmpush_model::needs::{LogContents, Needs};

/// Name of the custom section holding wasmpush's JSON metadata.
pub const SECTION_NAME: &str = "wasmpush:metadata";

/// A generator's self-description (mirrors the WIT `info` record plus
/// authorship). Every field is optional: a component may carry none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Metadata {
    /// Short machine-friendly name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The generator's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// One line for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who made it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    /// SPDX license expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licenses: Option<String>,
    /// URL of its source code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Event kinds it wants, as in WIT (`build-new`, `build-finished`, `buildset-complete`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// What the host must put into payloads (WIT `needs`; its `kinds` are
    /// not part of this field, see [`events`](Self::events)).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "needs_json")]
    pub needs: Option<Needs>,
}

/// The `needs` object of the metadata JSON, converted to and from the
/// model's [`Needs`] (the one definition; see `wasmpush_model::needs`).
///
/// The wire format really differs from [`Needs`]'s own serde, so it has its
/// own shape here: field names as in the WIT record (`log-contents`,
/// `previous-build`), every flag off when absent (not Buildbot's defaults),
/// unknown fields ignored (a newer contract may add some), `changes`
/// written only when set (contract 0.2), and no event kinds (those are
/// [`Metadata::events`]): needs read from metadata have empty `kinds`.
mod needs_json {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use wasmpush_model::needs::{LogContents, Needs};

    #[derive(Default, Serialize, Deserialize)]
    #[serde(rename_all = "kebab-case", default)]
    struct Wire {
        properties: bool,
        steps: bool,
        logs: bool,
        log_contents: LogContents,
        previous_build: bool,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        changes: bool,
    }

    pub fn serialize<S: Serializer>(needs: &Option<Needs>, s: S) -> Result<S::Ok, S::Error> {
        needs
            .as_ref()
            .map(|n| Wire {
                properties: n.properties,
                steps: n.steps,
                logs: n.logs,
                log_contents: n.log_contents.clone(),
                previous_build: n.previous_build,
                changes: n.changes,
            })
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Needs>, D::Error> {
        Ok(Option::<Wire>::deserialize(d)?.map(|w| Needs {
            properties: w.properties,
            steps: w.steps,
            logs: w.logs,
            log_contents: w.log_contents,
            previous_build: w.previous_build,
            changes: w.changes,
            ..Needs::nothing()
        }))
    }
}

/// Everything [`inspect`] learns about a component.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// sha256 of the bytes (what a pin names).
    pub sha256: Sha256,
    /// Size in bytes.
    pub size: u64,
    /// The merged metadata (wasmpush section first, then standard sections).
    pub metadata: Metadata,
    /// Whether a `wasmpush:metadata` section was present.
    pub has_wasmpush_section: bool,
    /// Top-level import names, e.g. `wasmpush:plugin/host@0.1.0`.
    pub imports: Vec<String>,
    /// Top-level export names, e.g. `describe`, `generate`.
    pub exports: Vec<String>,
    /// Producers (`field`, `name`, `version`) of the component and its modules.
    pub producers: Vec<(String, String, String)>,
}

impl Inspection {
    /// Whether the component exports what world `generator` requires.
    pub fn exports_generator_world(&self) -> bool {
        ["describe", "generate"].iter().all(|e| self.exports.iter().any(|x| x == e))
    }
}

/// Bytes that cannot be inspected or stamped.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MetadataError {
    /// Not a WebAssembly binary, or a truncated/malformed one.
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    /// A core module, not a component.
    #[error(
        "this is a core WebAssembly module, not a component (build for wasm32-wasip2 or run `wasm-tools component new`)"
    )]
    CoreModule,
    /// A `wasmpush:metadata` section that is not the expected JSON.
    #[error("custom section {SECTION_NAME}: {0}")]
    BadSection(String),
    /// A standard metadata value that the `wasm-metadata` crate refuses
    /// (e.g. a license that is not an SPDX expression, a source that is not a URL).
    #[error("metadata field {field}: {reason}")]
    BadField {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

/// One top-level section: its full byte range (id and size included) and,
/// for a custom section, its name.
struct TopSection {
    range: Range<usize>,
    custom: Option<(String, Range<usize>)>,
}

/// The header's encoding, the top-level sections, and the top-level import
/// and export names.
struct TopLevel {
    encoding: Encoding,
    sections: Vec<TopSection>,
    imports: Vec<String>,
    exports: Vec<String>,
}

fn invalid(e: impl std::fmt::Display) -> MetadataError {
    MetadataError::Invalid(e.to_string())
}

/// Splits `bytes` into its header and top-level sections, skipping over the
/// content of nested modules and components.
fn top_level(bytes: &[u8]) -> Result<TopLevel, MetadataError> {
    let mut parser = Parser::new(0);
    let mut offset = 0usize;
    let mut encoding = None;
    let mut sections = Vec::new();
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    loop {
        let start = offset;
        let (consumed, payload) = match parser.parse(&bytes[offset..], true).map_err(invalid)? {
            Chunk::NeedMoreData(_) => return Err(invalid("truncated")),
            Chunk::Parsed { consumed, payload } => (consumed, payload),
        };
        offset += consumed;
        let mut custom = None;
        match payload {
            Payload::Version { encoding: e, .. } => {
                encoding = Some(e);
                continue;
            }
            Payload::End(_) => break,
            Payload::ModuleSection { unchecked_range, .. } | Payload::ComponentSection { unchecked_range, .. } => {
                // The parent parser has already accounted for the nested
                // bytes; only our slice position has to jump over them.
                offset = usize::try_from(unchecked_range.end).unwrap_or(usize::MAX);
            }
            Payload::CodeSectionStart { size, .. } => {
                parser.skip_section();
                offset += size as usize;
            }
            Payload::CustomSection(c) => {
                let at = usize::try_from(c.data_offset()).unwrap_or(usize::MAX);
                let data = at..at.saturating_add(c.data().len());
                custom = Some((c.name().to_string(), data));
            }
            Payload::ComponentImportSection(r) => {
                for i in r {
                    imports.push(i.map_err(invalid)?.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(r) => {
                for e in r {
                    exports.push(e.map_err(invalid)?.name.name.to_string());
                }
            }
            _ => {}
        }
        if offset > bytes.len() {
            return Err(invalid("a section runs past the end of the file"));
        }
        sections.push(TopSection { range: start..offset, custom });
    }
    let encoding = encoding.ok_or_else(|| invalid("no header"))?;
    Ok(TopLevel { encoding, sections, imports, exports })
}

/// Reads a component's metadata, imports and exports without running it.
pub fn inspect(bytes: &[u8]) -> Result<Inspection, MetadataError> {
    let TopLevel { encoding, sections, imports, exports } = top_level(bytes)?;
    if encoding != Encoding::Component {
        return Err(MetadataError::CoreModule);
    }
    let mut own: Option<Metadata> = None;
    for s in &sections {
        if let Some((name, data)) = &s.custom
            && name == SECTION_NAME
        {
            own = Some(
                serde_json::from_slice(&bytes[data.clone()]).map_err(|e| MetadataError::BadSection(e.to_string()))?,
            );
        }
    }
    let payload = MetaPayload::from_binary(bytes).map_err(invalid)?;
    let std_meta = payload.metadata();
    let mut producers = Vec::new();
    collect_producers(&payload, &mut producers);

    let has_wasmpush_section = own.is_some();
    let mut m = own.unwrap_or_default();
    m.name = m.name.or_else(|| std_meta.name.clone());
    m.version = m.version.or_else(|| std_meta.version.as_ref().map(|v| v.to_string()));
    m.description = m.description.or_else(|| std_meta.description.as_ref().map(|v| v.to_string()));
    if m.authors.is_empty()
        && let Some(a) = &std_meta.authors
    {
        m.authors = a.to_string().split(", ").filter(|s| !s.is_empty()).map(String::from).collect();
    }
    m.licenses = m.licenses.or_else(|| std_meta.licenses.as_ref().map(|v| v.to_string()));
    m.source = m.source.or_else(|| std_meta.source.as_ref().map(|v| v.to_string()));
    Ok(Inspection {
        sha256: Sha256::of(bytes),
        size: bytes.len() as u64,
        metadata: m,
        has_wasmpush_section,
        imports,
        exports,
        producers,
    })
}

fn collect_producers(p: &MetaPayload, out: &mut Vec<(String, String, String)>) {
    let (meta, children) = match p {
        MetaPayload::Component { metadata, children } => (metadata, &children[..]),
        MetaPayload::Module(metadata) => (metadata, &[][..]),
    };
    if let Some(prod) = &meta.producers {
        for (field, entries) in prod.iter() {
            for (name, version) in entries.iter() {
                let t = (field.clone(), name.clone(), version.clone());
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
    }
    for c in children {
        collect_producers(c, out);
    }
}

/// Returns `bytes` with `meta` stamped in: the `wasmpush:metadata` section
/// added or replaced (exactly one remains, at the end), the standard
/// sections set for the fields `meta` has, and `wasmpush` recorded as a
/// `processed-by` producer. Everything else is kept byte for byte.
pub fn embed_metadata(bytes: &[u8], meta: &Metadata) -> Result<Vec<u8>, MetadataError> {
    if top_level(bytes)?.encoding != Encoding::Component {
        return Err(MetadataError::CoreModule);
    }
    let mut add = AddMetadata::default();
    add.processed_by = vec![("wasmpush".into(), env!("CARGO_PKG_VERSION").into())];
    if let Some(n) = &meta.name {
        add.name = AddMetadataField::Set(n.clone());
    }
    if let Some(v) = &meta.version {
        add.version = AddMetadataField::Set(wasm_metadata::Version::new(v.clone()));
    }
    if let Some(d) = &meta.description {
        add.description = AddMetadataField::Set(wasm_metadata::Description::new(d.clone()));
    }
    if !meta.authors.is_empty() {
        add.authors = AddMetadataField::Set(wasm_metadata::Authors::new(meta.authors.join(", ")));
    }
    if let Some(l) = &meta.licenses {
        let v = wasm_metadata::Licenses::new(l)
            .map_err(|e| MetadataError::BadField { field: "licenses", reason: e.to_string() })?;
        add.licenses = AddMetadataField::Set(v);
    }
    if let Some(s) = &meta.source {
        let v = wasm_metadata::Source::new(s)
            .map_err(|e| MetadataError::BadField { field: "source", reason: e.to_string() })?;
        add.source = AddMetadataField::Set(v);
    }
    let stamped = add.to_wasm(bytes).map_err(invalid)?;

    let mut out = stamped[..8].to_vec();
    for s in &top_level(&stamped)?.sections {
        if matches!(&s.custom, Some((name, _)) if name == SECTION_NAME) {
            continue;
        }
        out.extend_from_slice(&stamped[s.range.clone()]);
    }
    let json = serde_json::to_vec(meta).map_err(|e| MetadataError::BadSection(e.to_string()))?;
    let section = wasm_encoder::CustomSection { name: SECTION_NAME.into(), data: json.into() };
    // A custom section has id 0 in components as in modules.
    wasm_encoder::Section::append_to(&section, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_keep_the_wit_json_spelling() {
        let meta = Metadata {
            needs: Some(Needs {
                properties: true,
                log_contents: LogContents::Only(["stdio".into()].into()),
                ..Needs::nothing()
            }),
            ..Metadata::default()
        };
        let json = serde_json::to_string(&meta).unwrap();
        assert_eq!(
            json,
            r#"{"needs":{"properties":true,"steps":false,"logs":false,"log-contents":{"only":["stdio"]},"previous-build":false}}"#
        );
        assert_eq!(serde_json::from_str::<Metadata>(&json).unwrap(), meta);
        // Absent flags are off (not Buildbot's defaults), unknown fields are ignored.
        let m: Metadata = serde_json::from_str(r#"{"needs":{"changes":true,"future":1}}"#).unwrap();
        assert_eq!(m.needs, Some(Needs { changes: true, ..Needs::nothing() }));
    }
}
