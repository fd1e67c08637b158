//! Metadata of real components, read without running them, and stamped in.

mod common;

use common::component;
use wasmpush_distribute::{LogContents, Metadata, MetadataError, Needs, Sha256, embed_metadata, inspect};

fn validate(bytes: &[u8]) {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)
        .expect("stamped component must stay valid");
}

#[test]
fn inspects_real_components_without_running_them() {
    for name in ["buildbot-json", "chat-message", "wat-ping"] {
        let wasm = component(name);
        let i = inspect(&wasm).unwrap();
        assert_eq!(i.sha256, Sha256::of(&wasm));
        assert_eq!(i.size, wasm.len() as u64);
        assert!(i.exports_generator_world(), "{name}: exports {:?}", i.exports);
        assert!(i.imports.iter().any(|x| x.starts_with("wasmpush:plugin/types@")), "{name}: imports {:?}", i.imports);
        assert!(!i.has_wasmpush_section, "{name}");
    }
    let rust = inspect(&component("buildbot-json")).unwrap();
    assert!(
        rust.producers.iter().any(|(f, n, _)| f == "processed-by" && n == "wit-bindgen-rust"),
        "{:?}",
        rust.producers
    );
}

#[test]
fn embed_then_inspect_round_trips_and_replaces() {
    let wasm = component("buildbot-json");
    let before = inspect(&wasm).unwrap();
    let meta = Metadata {
        name: Some("buildbot-json".into()),
        version: Some("1.2.3".into()),
        description: Some("Buildbot's default JSON body".into()),
        authors: vec!["Ada <ada@example.org>".into(), "Team CI".into()],
        licenses: Some("Apache-2.0".into()),
        source: Some("https://example.org/src".into()),
        events: vec!["build-new".into(), "build-finished".into()],
        needs: Some(Needs {
            properties: true,
            steps: true,
            logs: false,
            log_contents: LogContents::Only(["compile.stdio".into()].into()),
            previous_build: true,
            changes: true,
            ..Needs::nothing()
        }),
    };
    let stamped = embed_metadata(&wasm, &meta).unwrap();
    validate(&stamped);
    let i = inspect(&stamped).unwrap();
    assert!(i.has_wasmpush_section);
    assert_eq!(i.metadata, meta);
    assert_eq!((i.imports.clone(), i.exports.clone()), (before.imports.clone(), before.exports.clone()));
    assert!(i.producers.iter().any(|(f, n, _)| f == "processed-by" && n == "wasmpush"), "{:?}", i.producers);

    // Stamping again replaces: exactly one section, with the new content.
    let meta2 = Metadata { version: Some("2.0.0".into()), ..meta.clone() };
    let twice = embed_metadata(&stamped, &meta2).unwrap();
    validate(&twice);
    let count = twice.windows(b"wasmpush:metadata".len()).filter(|w| w == b"wasmpush:metadata").count();
    assert_eq!(count, 1);
    assert_eq!(inspect(&twice).unwrap().metadata.version.as_deref(), Some("2.0.0"));

    // The standard sections alone (another tool's view) carry the basics.
    let i = inspect(&without_wasmpush_section(&twice)).unwrap();
    assert!(!i.has_wasmpush_section);
    assert_eq!(i.metadata.version.as_deref(), Some("2.0.0"));
    assert_eq!(i.metadata.description.as_deref(), Some("Buildbot's default JSON body"));
    assert_eq!(i.metadata.authors, meta.authors);
    assert_eq!(i.metadata.name.as_deref(), Some("buildbot-json"));
}

/// `bytes` with the trailing `wasmpush:metadata` section cut off (embed
/// always writes it last).
fn without_wasmpush_section(bytes: &[u8]) -> Vec<u8> {
    let mut parser = wasmparser::Parser::new(0);
    let (mut off, mut cut) = (0usize, None);
    loop {
        let start = off;
        let wasmparser::Chunk::Parsed { consumed, payload } = parser.parse(&bytes[off..], true).unwrap() else {
            panic!("truncated")
        };
        off += consumed;
        match payload {
            wasmparser::Payload::ModuleSection { unchecked_range, .. }
            | wasmparser::Payload::ComponentSection { unchecked_range, .. } => off = unchecked_range.end as usize,
            wasmparser::Payload::CustomSection(c) if c.name() == "wasmpush:metadata" => cut = Some(start),
            wasmparser::Payload::End(_) => break,
            _ => {}
        }
    }
    bytes[..cut.expect("section present")].to_vec()
}

#[test]
fn refuses_garbage_core_modules_and_bad_sections_with_clear_errors() {
    assert!(matches!(inspect(b"not wasm at all"), Err(MetadataError::Invalid(_))));
    assert!(matches!(inspect(b"\0asm\x01\0\0\0"), Err(MetadataError::CoreModule)));
    let wasm = component("wat-ping");
    assert!(matches!(inspect(&wasm[..wasm.len() / 2]), Err(MetadataError::Invalid(_))));
    // A hand-made section with invalid JSON.
    let mut bad = wasm.clone();
    let name = b"wasmpush:metadata";
    let payload = b"{not json";
    bad.push(0);
    bad.push((1 + name.len() + payload.len()) as u8);
    bad.push(name.len() as u8);
    bad.extend_from_slice(name);
    bad.extend_from_slice(payload);
    let e = inspect(&bad).unwrap_err();
    assert!(matches!(e, MetadataError::BadSection(_)) && e.to_string().contains("wasmpush:metadata"), "{e}");
    let e = embed_metadata(&wasm, &Metadata { licenses: Some("not a license (((".into()), ..Default::default() })
        .unwrap_err();
    assert!(e.to_string().contains("licenses"), "{e}");
}

#[test]
fn damaged_components_give_errors_never_panics() {
    // Untrusted bytes are inspected before anything else: every truncation
    // and many single-byte corruptions of a real component must come back
    // as Ok or Err, never a panic.
    let wasm = component("wat-ping");
    for len in 0..wasm.len() {
        // A cut exactly between two sections is still well-formed, so only
        // "no panic" holds for every length; a cut inside the header or a
        // section is an error.
        let r = inspect(&wasm[..len]);
        if len < 8 {
            assert!(r.is_err(), "prefix of {len} bytes");
        }
    }
    assert!(matches!(inspect(&wasm[..wasm.len() - 1]), Err(MetadataError::Invalid(_))));
    for i in 0..wasm.len() {
        for x in [0x01u8, 0x80, 0xff] {
            let mut bad = wasm.clone();
            bad[i] ^= x;
            let _ = inspect(&bad);
            let _ = embed_metadata(&bad, &Metadata::default());
        }
    }
}
