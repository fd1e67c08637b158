//! ed25519 key pairs and their text files.
//!
//! | file | content |
//! |---|---|
//! | secret key (written mode 0600; refused when group/world can access it) | `wasmpush-ed25519-secret:<base64 of the 32-byte seed>` |
//! | public key (also accepted inline in a config) | `wasmpush-ed25519-public:<base64 of the 32-byte key>` |
//!
//! Lines starting with `#` and blank lines are ignored. A key id is the
//! first 8 bytes of the sha256 of the raw public key, in hex (16 digits):
//! short enough to read in an error, and what a signature line names.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use crate::digest::Sha256;
use crate::sign::{Signature, message};

/// Prefix of a secret key file's line.
pub const SECRET_PREFIX: &str = "wasmpush-ed25519-secret:";
/// Prefix of a public key's text.
pub const PUBLIC_PREFIX: &str = "wasmpush-ed25519-public:";

/// An ed25519 signing key. Its `Debug` shows only the key id; its text form
/// is only produced by [`SecretKey::write_file`].
pub struct SecretKey(SigningKey);

/// An ed25519 public key that signatures can be checked against.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

/// Short identifier of a public key (16 hex digits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub(crate) [u8; 8]);

/// A key that cannot be read, parsed, generated or written. Never contains
/// secret key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not a key of the expected kind.
    #[error("{label}: not a wasmpush ed25519 {kind} key: {reason}")]
    Format {
        /// File name or config field.
        label: String,
        /// `secret` or `public`.
        kind: &'static str,
        /// What is wrong (never the key text).
        reason: String,
    },
    /// A secret key file that others can read.
    #[error("secret key file {path} is accessible to other users (mode {mode:o}); run `chmod 600` on it")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The system's random source failed.
    #[error("cannot generate a key: {0}")]
    Random(String),
}

/// The first line of `text` that is neither blank nor a `#` comment.
fn key_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'))
}

fn decode_32(b64: &str, label: &str, kind: &'static str) -> Result<[u8; 32], KeyError> {
    let fmt_err = |reason: &str| KeyError::Format { label: label.to_string(), kind, reason: reason.to_string() };
    let raw = B64.decode(b64.trim()).map_err(|_| fmt_err("the key is not valid base64"))?;
    raw.try_into().map_err(|_| fmt_err("the key must be 32 bytes"))
}

impl SecretKey {
    /// A new random key (from the operating system's generator).
    pub fn generate() -> Result<SecretKey, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }

    /// Parses a secret key's text (`label` names it in errors).
    pub fn parse(text: &str, label: &str) -> Result<SecretKey, KeyError> {
        let line = key_line(text).unwrap_or("");
        let b64 = line.strip_prefix(SECRET_PREFIX).ok_or_else(|| KeyError::Format {
            label: label.to_string(),
            kind: "secret",
            reason: format!("expected a line starting with {SECRET_PREFIX}"),
        })?;
        Ok(SecretKey(SigningKey::from_bytes(&decode_32(b64, label, "secret")?)))
    }

    /// Reads a secret key file, refusing one that group or others can access.
    pub fn read_file(path: &Path) -> Result<SecretKey, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io { path: path.into(), source })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let meta = std::fs::metadata(path).map_err(|source| KeyError::Io { path: path.into(), source })?;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::Permissions { path: path.into(), mode });
            }
        }
        SecretKey::parse(&text, &path.display().to_string())
    }

    /// Writes the key to a new file created with mode 0600 (an existing
    /// file is never overwritten).
    pub fn write_file(&self, path: &Path) -> Result<(), KeyError> {
        use std::io::Write as _;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let text = format!(
            "# wasmpush signing key {} (keep private)\n{SECRET_PREFIX}{}\n",
            self.public_key().key_id(),
            B64.encode(self.0.to_bytes())
        );
        let mut f = opts.open(path).map_err(|source| KeyError::Io { path: path.into(), source })?;
        f.write_all(text.as_bytes()).map_err(|source| KeyError::Io { path: path.into(), source })
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs the component whose sha256 is `digest`.
    pub fn sign(&self, digest: &Sha256) -> Signature {
        Signature { key_id: self.public_key().key_id(), digest: *digest, sig: self.0.sign(&message(digest)) }
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({}, <redacted>)", self.public_key().key_id())
    }
}

impl PublicKey {
    /// Parses `wasmpush-ed25519-public:<base64>` (comment lines allowed).
    pub fn parse(text: &str, label: &str) -> Result<PublicKey, KeyError> {
        let line = key_line(text).unwrap_or("");
        let b64 = line.strip_prefix(PUBLIC_PREFIX).ok_or_else(|| KeyError::Format {
            label: label.to_string(),
            kind: "public",
            reason: format!("expected text starting with {PUBLIC_PREFIX}"),
        })?;
        let raw = decode_32(b64, label, "public")?;
        VerifyingKey::from_bytes(&raw).map(PublicKey).map_err(|_| KeyError::Format {
            label: label.to_string(),
            kind: "public",
            reason: "not a valid ed25519 point".into(),
        })
    }

    /// Reads a public key file.
    pub fn read_file(path: &Path) -> Result<PublicKey, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io { path: path.into(), source })?;
        PublicKey::parse(&text, &path.display().to_string())
    }

    /// The one-line text form, `wasmpush-ed25519-public:<base64>`.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_PREFIX}{}", B64.encode(self.0.to_bytes()))
    }

    /// Writes the text form (with a comment naming the key id) to `path`.
    pub fn write_file(&self, path: &Path) -> Result<(), KeyError> {
        let text = format!("# wasmpush public key {}\n{}\n", self.key_id(), self.to_text());
        std::fs::write(path, text).map_err(|source| KeyError::Io { path: path.into(), source })
    }

    /// Whether `sig` is this key's signature over `msg` (strict ed25519).
    pub(crate) fn verifies(&self, msg: &[u8], sig: &ed25519_dalek::Signature) -> bool {
        self.0.verify_strict(msg, sig).is_ok()
    }

    /// This key's id.
    pub fn key_id(&self) -> KeyId {
        let d = Sha256::of(self.0.as_bytes());
        let mut id = [0u8; 8];
        id.copy_from_slice(&d.as_bytes()[..8]);
        KeyId(id)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

impl KeyId {
    /// Parses 16 hex digits.
    pub fn parse(text: &str) -> Option<KeyId> {
        let mut id = [0u8; 8];
        hex::decode_to_slice(text, &mut id).ok()?;
        Some(KeyId(id))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::{SignatureSet, signature_path};

    impl SecretKey {
        fn seed_for_test(&self) -> [u8; 32] {
            self.0.to_bytes()
        }
    }

    #[test]
    fn key_text_round_trips_and_errors_hide_secrets() {
        let k = SecretKey::generate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.secret");
        k.write_file(&p).unwrap();
        let back = SecretKey::read_file(&p).unwrap();
        assert_eq!(back.public_key(), k.public_key());
        assert!(k.write_file(&p).is_err(), "must not overwrite");
        let pubtext = k.public_key().to_text();
        assert_eq!(PublicKey::parse(&pubtext, "cfg").unwrap(), k.public_key());
        assert!(!format!("{k:?}").contains(&B64.encode(k.seed_for_test())));
        let e = PublicKey::parse(&std::fs::read_to_string(&p).unwrap(), "cfg").unwrap_err();
        let secret_b64 = B64.encode(k.seed_for_test());
        assert!(!e.to_string().contains(&secret_b64), "{e}");
        let e = SignatureSet::parse("wasmpush-ed25519-signature-v1 zz", "gen.wasm").unwrap_err();
        assert!(e.to_string().contains("gen.wasm") && e.to_string().contains("line 1"), "{e}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(SecretKey::read_file(&p), Err(KeyError::Permissions { .. })));
        }
        assert_eq!(signature_path(Path::new("/a/b.wasm")), Path::new("/a/b.wasm.sig"));
    }
}
