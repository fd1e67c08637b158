//! Where a generator comes from: a local path, an `https://` URL or an OCI
//! reference.
//!
//! The text form is what the config's `wasm = "…"` key holds:
//!
//! | text | source |
//! |---|---|
//! | `generators/fmt.wasm`, `/abs/fmt.wasm` | [`GeneratorSource::Path`] (relative paths are resolved by the caller, see [`GeneratorSource::resolve_relative`]) |
//! | `https://host/path/fmt.wasm` | [`GeneratorSource::Https`] |
//! | `oci://registry[:port]/repo[:tag][@sha256:…]` | [`GeneratorSource::Oci`]; the registry must be named, the tag defaults to `latest` |
//!
//! `http://` and other schemes are refused: a generator fetched in clear text
//! could be swapped on the way.

use std::fmt;
use std::path::{Path, PathBuf};

use oci_client::Reference;
use reqwest::Url;

use crate::digest::Sha256;

/// One generator's origin, parsed from the config's `wasm` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeneratorSource {
    /// A file on this machine.
    Path(PathBuf),
    /// A component downloaded over HTTPS (its detached signature, when
    /// required, is `<url>.sig`).
    Https(Url),
    /// A component stored in an OCI registry as a Wasm artifact.
    Oci(OciRef),
}

/// An OCI reference with an explicit registry: `registry/repo:tag`,
/// `registry/repo@sha256:…` or both. Displays as `oci://…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OciRef(Reference);

/// A `wasm` value that is not a usable source.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    /// Empty text.
    #[error("generator source is empty")]
    Empty,
    /// A scheme other than `https://`, `oci://` or a plain path.
    #[error("generator source {text:?}: unsupported scheme {scheme:?} (use a local path, https://… or oci://…)")]
    UnsupportedScheme {
        /// The rejected text.
        text: String,
        /// Its scheme.
        scheme: String,
    },
    /// An `https://` URL that does not parse.
    #[error("generator source {text:?}: invalid URL: {reason}")]
    BadUrl {
        /// The rejected text.
        text: String,
        /// Why.
        reason: String,
    },
    /// An `oci://` reference that does not parse or names no registry.
    #[error("generator source {text:?}: invalid OCI reference: {reason}")]
    BadReference {
        /// The rejected text.
        text: String,
        /// Why.
        reason: String,
    },
}

impl GeneratorSource {
    /// Parses a config `wasm` value (see the module docs for the forms).
    pub fn parse(text: &str) -> Result<Self, SourceError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(SourceError::Empty);
        }
        if let Some(rest) = t.strip_prefix("oci://") {
            return OciRef::parse(rest)
                .map(GeneratorSource::Oci)
                .map_err(|reason| SourceError::BadReference { text: text.to_string(), reason });
        }
        if let Some((scheme, _)) = t.split_once("://") {
            if scheme.eq_ignore_ascii_case("https") {
                let url =
                    Url::parse(t).map_err(|e| SourceError::BadUrl { text: text.to_string(), reason: e.to_string() })?;
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(SourceError::BadUrl { text: text.to_string(), reason: "no host".into() });
                }
                return Ok(GeneratorSource::Https(url));
            }
            return Err(SourceError::UnsupportedScheme { text: text.to_string(), scheme: scheme.to_string() });
        }
        Ok(GeneratorSource::Path(PathBuf::from(t)))
    }

    /// For a relative [`GeneratorSource::Path`], the path joined to `base`
    /// (the config file's folder); every other source is returned unchanged.
    pub fn resolve_relative(self, base: &Path) -> Self {
        match self {
            GeneratorSource::Path(p) if p.is_relative() => GeneratorSource::Path(base.join(p)),
            other => other,
        }
    }

    /// The key under which the store remembers what this source last
    /// resolved to (a path is never cached, so it has none).
    pub(crate) fn index_key(&self) -> Option<String> {
        match self {
            GeneratorSource::Path(_) => None,
            other => Some(other.to_string()),
        }
    }
}

impl fmt::Display for GeneratorSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GeneratorSource::Path(p) => write!(f, "{}", p.display()),
            GeneratorSource::Https(u) => write!(f, "{u}"),
            GeneratorSource::Oci(r) => write!(f, "{r}"),
        }
    }
}

impl std::str::FromStr for GeneratorSource {
    type Err = SourceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GeneratorSource::parse(s)
    }
}

impl OciRef {
    /// Parses `registry/repo[:tag][@sha256:…]` (without `oci://`). The first
    /// component must look like a registry host (contain `.` or `:`, or be
    /// `localhost`): a bare `repo:tag` would silently mean Docker Hub.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim().trim_start_matches("oci://");
        let first = t.split('/').next().unwrap_or("");
        if !t.contains('/') || !(first.contains('.') || first.contains(':') || first == "localhost") {
            return Err("the reference must start with the registry host, e.g. oci://ghcr.io/team/fmt:1.0".into());
        }
        let r = Reference::try_from(t).map_err(|e| e.to_string())?;
        if let Some(d) = r.digest() {
            Sha256::parse(d).map_err(|_| format!("unsupported digest {d:?} (only sha256 is supported)"))?;
        }
        Ok(OciRef(r))
    }

    /// The underlying `oci-client` reference.
    pub fn reference(&self) -> &Reference {
        &self.0
    }

    /// `host[:port]` as the client connects to it.
    pub fn registry(&self) -> &str {
        self.0.resolve_registry()
    }

    /// The repository path, e.g. `team/fmt`.
    pub fn repository(&self) -> &str {
        self.0.repository()
    }

    /// The tag, if the reference has one (`latest` when neither a tag nor a
    /// digest was written).
    pub fn tag(&self) -> Option<&str> {
        self.0.tag()
    }

    /// The manifest digest the reference pins, if any.
    pub fn digest(&self) -> Option<Sha256> {
        self.0.digest().and_then(|d| Sha256::parse(d).ok())
    }

    /// The same repository with `tag` (and no digest).
    pub fn with_tag(&self, tag: &str) -> OciRef {
        OciRef(Reference::with_tag(self.0.registry().to_string(), self.0.repository().to_string(), tag.to_string()))
    }

    /// The same repository pinned to manifest `digest` (and no tag): the
    /// immutable form that is logged once a tag has been resolved.
    pub fn with_digest(&self, digest: &Sha256) -> OciRef {
        OciRef(self.0.clone_with_digest(digest.to_string()))
    }
}

impl fmt::Display for OciRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "oci://{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_form() {
        assert_eq!(GeneratorSource::parse("gen/a.wasm").unwrap(), GeneratorSource::Path("gen/a.wasm".into()));
        match GeneratorSource::parse("https://example.org/x/a.wasm").unwrap() {
            GeneratorSource::Https(u) => assert_eq!(u.path(), "/x/a.wasm"),
            other => panic!("{other:?}"),
        }
        match GeneratorSource::parse("oci://127.0.0.1:5000/team/fmt:v1").unwrap() {
            GeneratorSource::Oci(r) => {
                assert_eq!(r.registry(), "127.0.0.1:5000");
                assert_eq!(r.repository(), "team/fmt");
                assert_eq!(r.tag(), Some("v1"));
                assert_eq!(r.to_string(), "oci://127.0.0.1:5000/team/fmt:v1");
            }
            other => panic!("{other:?}"),
        }
        let d = Sha256::of(b"m");
        match GeneratorSource::parse(&format!("oci://ghcr.io/team/fmt@{d}")).unwrap() {
            GeneratorSource::Oci(r) => {
                assert_eq!(r.digest(), Some(d));
                assert_eq!(r.tag(), None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_bad_sources() {
        assert!(matches!(GeneratorSource::parse(" "), Err(SourceError::Empty)));
        let e = GeneratorSource::parse("http://example.org/a.wasm").unwrap_err();
        assert!(matches!(e, SourceError::UnsupportedScheme { .. }), "{e}");
        let e = GeneratorSource::parse("oci://fmt:v1").unwrap_err();
        assert!(e.to_string().contains("registry host"), "{e}");
        let e = GeneratorSource::parse("oci://ghcr.io/team/fmt@sha512:abcd").unwrap_err();
        assert!(matches!(e, SourceError::BadReference { .. }), "{e}");
        assert!(GeneratorSource::parse("https://").is_err());
    }

    #[test]
    fn relative_paths_resolve_against_base() {
        let s = GeneratorSource::parse("g/a.wasm").unwrap().resolve_relative(Path::new("/etc/wp"));
        assert_eq!(s, GeneratorSource::Path("/etc/wp/g/a.wasm".into()));
        let s = GeneratorSource::parse("/abs/a.wasm").unwrap().resolve_relative(Path::new("/etc/wp"));
        assert_eq!(s, GeneratorSource::Path("/abs/a.wasm".into()));
    }
}
