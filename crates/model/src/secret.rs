//! Secrets (relay and Buildbot credentials, push tokens, signing keys,
//! secret webhook URLs, the admin token): where they come from and how they
//! stay out of text.
//!
//! A secret is configured as exactly one of a literal (`password = "..."`),
//! an environment variable (`password_env = "NAME"`) or a file
//! (`password_file = "/run/secrets/x"`, trailing newline removed). It is
//! read when the part that needs it starts, not when the config is parsed,
//! and errors name the field, variable or file, never the value.

use std::fmt;
use std::path::PathBuf;

/// A secret value. `Debug` and `Display` print `***`, so a stray `{:?}`
/// cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value read from a trusted place.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The clear value: only for building or checking a credential.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A secret that could not be read. Names the config field and the env var
/// or file, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{field}: give exactly one of `{field}`, `{field}_env` or `{field}_file`")]
    Ambiguous { field: String },
    #[error("{field}_env: environment variable {var} is not set or not UTF-8")]
    MissingEnv { field: String, var: String },
    #[error("{field}_file: cannot read {path}: {source}")]
    File { field: String, path: PathBuf, source: std::io::Error },
    #[error("{field}: the secret is empty")]
    Empty { field: String },
}

/// Where one secret comes from. Config structs build it from their
/// `{field}`, `{field}_env` and `{field}_file` keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretSource {
    /// The literal value (allowed, but env or file are preferred).
    pub literal: Option<String>,
    /// Environment variable holding it.
    pub env: Option<String>,
    /// File holding it.
    pub file: Option<PathBuf>,
}

impl SecretSource {
    /// Reads the secret; `field` (e.g. `auth.password`) is used in errors.
    /// `Ok(None)` when none of the three is given.
    pub fn read(&self, field: &str) -> Result<Option<Secret>, SecretError> {
        let given = [self.literal.is_some(), self.env.is_some(), self.file.is_some()].iter().filter(|b| **b).count();
        if given > 1 {
            return Err(SecretError::Ambiguous { field: field.into() });
        }
        let value = if let Some(v) = &self.literal {
            v.clone()
        } else if let Some(var) = &self.env {
            std::env::var(var).map_err(|_| SecretError::MissingEnv { field: field.into(), var: var.clone() })?
        } else if let Some(path) = &self.file {
            let mut v = std::fs::read_to_string(path).map_err(|source| SecretError::File {
                field: field.into(),
                path: path.clone(),
                source,
            })?;
            if v.ends_with('\n') {
                v.pop();
                if v.ends_with('\r') {
                    v.pop();
                }
            }
            v
        } else {
            return Ok(None);
        };
        if value.is_empty() {
            return Err(SecretError::Empty { field: field.into() });
        }
        Ok(Some(Secret(value)))
    }

    /// Like [`read`](Self::read) but the secret is required.
    pub fn require(&self, field: &str) -> Result<Secret, SecretError> {
        self.read(field)?.ok_or_else(|| SecretError::Ambiguous { field: field.into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_literal_env_and_file_and_never_prints_the_value() {
        let lit = SecretSource { literal: Some("s3cr3t".into()), ..Default::default() };
        let s = lit.require("auth.password").unwrap();
        assert_eq!(s.expose(), "s3cr3t");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");

        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "from-file\r\n").unwrap();
        let file = SecretSource { file: Some(f.clone()), ..Default::default() };
        assert_eq!(file.require("auth.password").unwrap().expose(), "from-file");

        let env = SecretSource { env: Some("WASMPUSH_SOURCES_TEST_SURELY_UNSET".into()), ..Default::default() };
        let err = env.require("auth.password").unwrap_err().to_string();
        assert!(err.contains("WASMPUSH_SOURCES_TEST_SURELY_UNSET"), "{err}");

        let both = SecretSource { literal: Some("a".into()), file: Some(f), ..Default::default() };
        assert!(matches!(both.read("x"), Err(SecretError::Ambiguous { .. })));
        assert!(SecretSource::default().read("x").unwrap().is_none());
        let empty = SecretSource { literal: Some(String::new()), ..Default::default() };
        assert!(matches!(empty.read("x"), Err(SecretError::Empty { .. })));
    }
}
