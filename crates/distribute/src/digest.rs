//! sha256 digests of components, and pins.
//!
//! A component is identified everywhere (the store, the config's `sha256 =`
//! pin, signatures, logs, the OCI layer digest) by the sha256 of its exact
//! bytes, so "what runs" is one unambiguous value.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256 as Hasher};

/// The sha256 digest of a byte string. Displays as `sha256:<64 hex>` (the
/// OCI notation); [`Sha256::hex`] gives the bare hex for file names and pins.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256([u8; 32]);

impl Sha256 {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Sha256(Hasher::digest(bytes).into())
    }

    /// Wraps raw digest bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Sha256(bytes)
    }

    /// The 32 raw bytes (what signatures are computed over).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lowercase hex digits, without the `sha256:` prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses `sha256:<hex>` or bare `<hex>` (64 hex digits, any case), as
    /// written in a config pin or an OCI digest.
    pub fn parse(text: &str) -> Result<Self, DigestParseError> {
        let t = text.trim();
        let hex_part = t.strip_prefix("sha256:").unwrap_or(t);
        if hex_part.len() != 64 {
            return Err(DigestParseError { text: text.to_string() });
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut out).map_err(|_| DigestParseError { text: text.to_string() })?;
        Ok(Sha256(out))
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl FromStr for Sha256 {
    type Err = DigestParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sha256::parse(s)
    }
}

impl serde::Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Sha256 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Sha256::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A text that is not a sha256 digest.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{text:?} is not a sha256 digest (expected 64 hex digits, optionally prefixed by `sha256:`)")]
pub struct DigestParseError {
    /// The rejected text.
    pub text: String,
}

/// A component whose bytes do not match the configured `sha256` pin.
///
/// Its message names the component (file, URL or reference), the expected
/// and the actual digest, so the operator can tell a stale pin from a
/// swapped file.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "generator {label}: sha256 mismatch: the config pins {expected} but the component is {actual}; refusing to load it"
)]
pub struct PinError {
    /// What was loaded: a path, a URL or an OCI reference.
    pub label: String,
    /// The pinned digest.
    pub expected: Sha256,
    /// The digest of the bytes actually obtained.
    pub actual: Sha256,
}

/// Checks `bytes` against the pin `expected`; returns their digest when they
/// match. `label` names the component in the error.
pub fn verify_pin(bytes: &[u8], expected: &Sha256, label: &str) -> Result<Sha256, PinError> {
    let actual = Sha256::of(bytes);
    if &actual == expected {
        Ok(actual)
    } else {
        Err(PinError { label: label.to_string(), expected: *expected, actual })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest_and_forms() {
        let d = Sha256::of(b"abc");
        assert_eq!(d.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(Sha256::parse(&d.to_string()).unwrap(), d);
        assert_eq!(Sha256::parse(&d.hex().to_uppercase()).unwrap(), d);
        assert!(Sha256::parse("sha256:abc").is_err());
        assert!(Sha256::parse(&"z".repeat(64)).is_err());
        assert!(Sha256::parse(&format!("sha512:{}", d.hex())).is_err());
    }

    #[test]
    fn pin_mismatch_names_everything() {
        let want = Sha256::of(b"one");
        let err = verify_pin(b"two", &want, "gen/a.wasm").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("gen/a.wasm"), "{msg}");
        assert!(msg.contains(&want.hex()), "{msg}");
        assert!(msg.contains(&Sha256::of(b"two").hex()), "{msg}");
        assert_eq!(verify_pin(b"one", &want, "x").unwrap(), want);
    }
}
