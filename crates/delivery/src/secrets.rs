//! Secrets: where they come from, and how they are kept out of logs.
//!
//! A secret is read from an environment variable or a file when a target is
//! resolved (never at config parse time), and every resolved secret value is
//! registered with the target's [`Redactor`]. Anything that may be logged or
//! stored as an error message (URLs, headers, bodies, `reqwest` errors) goes
//! through [`Redactor::redact`] first, which replaces each occurrence of a
//! secret with `***`.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;

use crate::config::ConfigError;

/// What a redacted secret is replaced with in logs and stored errors.
pub const REDACTED: &str = "***";

pub use wasmpush_model::secret::Secret;

/// Reads one secret given as exactly one of a literal, an env var name or a
/// file path. `field` is the config key stem (e.g. `auth.password`) used in
/// errors; errors name the env var or file, never the value.
///
/// A file's trailing newline (`\n` or `\r\n`) is removed, as `echo x > file`
/// and most secret managers add one. Empty secrets are an error.
pub(crate) fn read_secret(
    field: &str,
    literal: Option<&str>,
    env: Option<&str>,
    file: Option<&Path>,
) -> Result<Option<Secret>, ConfigError> {
    use wasmpush_model::secret::{SecretError, SecretSource};
    let source = SecretSource {
        literal: literal.map(str::to_owned),
        env: env.map(str::to_owned),
        file: file.map(Path::to_path_buf),
    };
    source.read(field).map_err(|e| match e {
        SecretError::Ambiguous { .. } => {
            ConfigError::field(field, format!("give only one of `{field}`, `{field}_env` and `{field}_file`"))
        }
        SecretError::MissingEnv { var, .. } => ConfigError::field(
            &format!("{field}_env"),
            format!("environment variable `{var}` is not set or not valid UTF-8"),
        ),
        SecretError::File { path, source, .. } => {
            ConfigError::field(&format!("{field}_file"), format!("cannot read `{}`: {source}", path.display()))
        }
        SecretError::Empty { .. } => ConfigError::field(field, "the secret is empty".to_owned()),
    })
}

/// Replaces every known secret value with `***` in text that may be logged.
///
/// Cheap to clone (shared list). Longer secrets are replaced first so that a
/// secret containing another one is fully hidden.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<Vec<String>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// Builds a redactor for these secrets. Derived forms that also travel on
    /// the wire (the base64 of `user:password` for basic auth is added by the
    /// caller) should be passed too.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut v: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        // Also hide the standard base64 form of each secret (e.g. a token
        // that ends up inside a basic-auth header built by someone else).
        let b64: Vec<String> = v
            .iter()
            .filter(|s| s.len() >= 4)
            .map(|s| base64::engine::general_purpose::STANDARD.encode(s.as_bytes()))
            .collect();
        v.extend(b64);
        v.sort_by_key(|s| std::cmp::Reverse(s.len()));
        v.dedup();
        Redactor { secrets: Arc::new(v) }
    }

    /// One redactor hiding the secrets of all of `parts` (the service uses
    /// it for every target, so no target's log lines show another's secret).
    pub fn union<'a>(parts: impl IntoIterator<Item = &'a Redactor>) -> Self {
        let mut v: Vec<String> = parts.into_iter().flat_map(|r| r.secrets.iter().cloned()).collect();
        v.sort_by_key(|s| std::cmp::Reverse(s.len()));
        v.dedup();
        Redactor { secrets: Arc::new(v) }
    }

    /// True when `text` contains no secret (used by tests and assertions).
    pub fn is_clean(&self, text: &str) -> bool {
        !self.secrets.iter().any(|s| text.contains(s.as_str()))
    }

    /// `text` with every secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in self.secrets.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }

    /// A body for a log line: lossy UTF-8, redacted *before* truncation to
    /// `limit` bytes (so a secret cut at the limit cannot half-leak), with a
    /// note of how many bytes were left out.
    pub fn redact_body(&self, body: &[u8], limit: usize) -> String {
        let text = self.redact(&String::from_utf8_lossy(body));
        if text.len() <= limit {
            return text;
        }
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}…[{} more bytes]", &text[..cut], text.len() - cut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_plain_and_base64_forms_and_never_half_leaks() {
        let r = Redactor::new(["s3cr3t-token".to_owned()]);
        assert_eq!(r.redact("a s3cr3t-token b"), "a *** b");
        let b64 = base64::engine::general_purpose::STANDARD.encode("s3cr3t-token");
        assert_eq!(r.redact(&format!("x{b64}y")), "x***y");
        // limit falls in the middle of the secret: nothing of it remains.
        let out = r.redact_body(b"0123s3cr3t-token", 8);
        assert!(!out.contains("s3cr"), "{out}");
        assert!(format!("{:?}", Secret::new("abc")).contains("***"));
    }

    #[test]
    fn reads_file_and_trims_newline_and_rejects_two_sources() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tok");
        std::fs::write(&p, "abc\r\n").unwrap();
        let s = read_secret("auth.token", None, None, Some(&p)).unwrap().unwrap();
        assert_eq!(s.expose(), "abc");
        let e = read_secret("auth.token", Some("x"), None, Some(&p)).unwrap_err();
        assert!(e.to_string().contains("auth.token"), "{e}");
        let e = read_secret("auth.token", None, Some("WASMPUSH_SURELY_UNSET_VAR"), None).unwrap_err();
        assert!(e.to_string().contains("WASMPUSH_SURELY_UNSET_VAR"), "{e}");
    }
}
