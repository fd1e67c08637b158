//! ed25519 signatures over components.
//!
//! # What is signed
//!
//! The 32 raw bytes of the component's sha256, prefixed with the domain
//! separator `wasmpush-signature-v1:component-sha256:` so a wasmpush
//! signature can never be replayed as a signature over anything else.
//! Verification always recomputes the digest from the bytes it was handed;
//! the digest written in a signature line is only used to explain a failure.
//!
//! # Signature set file
//!
//! UTF-8 text, `<file>.sig` beside a local file or `<url>.sig` beside an
//! HTTPS one, or the layer of the registry's signature artifact (see
//! [`crate::oci`]): one line per signer,
//! `wasmpush-ed25519-signature-v1 <key id> sha256:<hex> <base64 of the 64-byte signature>`;
//! `#` comments and blank lines are ignored. Key formats are in [`crate::keys`].

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::digest::Sha256;
pub use crate::keys::{KeyError, KeyId, PUBLIC_PREFIX, PublicKey, SECRET_PREFIX, SecretKey};

/// First word of a signature line.
pub const SIGNATURE_TAG: &str = "wasmpush-ed25519-signature-v1";
const DOMAIN: &[u8] = b"wasmpush-signature-v1:component-sha256:";

/// One signer's signature over one component digest.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature {
    /// Who signed.
    pub key_id: KeyId,
    /// The digest the signer says it signed.
    pub digest: Sha256,
    pub(crate) sig: ed25519_dalek::Signature,
}

/// The detached signatures of one component (one per signer).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignatureSet {
    sigs: Vec<Signature>,
}

/// The public keys a config accepts signatures from.
#[derive(Clone, Debug, Default)]
pub struct TrustedKeys {
    keys: Vec<PublicKey>,
}

/// Why a generator's signature is not acceptable. Every message names the
/// generator, and the loader reports it before compiling anything.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SignatureError {
    /// No signature at all.
    #[error(
        "generator {plugin} is not signed (no signature found at {looked_at}); the config requires a signature by one of the trusted keys {trusted}"
    )]
    Unsigned {
        /// The generator (path, URL or reference).
        plugin: String,
        /// Where the signature was looked for.
        looked_at: String,
        /// The trusted key ids, comma-separated.
        trusted: String,
    },
    /// A trusted key's signature that does not match the bytes.
    #[error(
        "generator {plugin}: the signature by trusted key {key} does not match its content ({reason}); the component was modified after signing or the signature was forged"
    )]
    Tampered {
        /// The generator.
        plugin: String,
        /// The trusted key whose signature failed.
        key: KeyId,
        /// Details (digests involved).
        reason: String,
    },
    /// Signed, but only by keys the config does not trust.
    #[error("generator {plugin} is signed only by untrusted key(s) {signers}; the config trusts {trusted}")]
    Untrusted {
        /// The generator.
        plugin: String,
        /// Who signed it.
        signers: String,
        /// Who would have been accepted.
        trusted: String,
    },
    /// A signature file that does not parse.
    #[error("generator {plugin}: malformed signature file, line {line}: {reason}")]
    Malformed {
        /// The generator.
        plugin: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// The bytes actually signed for component `digest`.
pub(crate) fn message(digest: &Sha256) -> Vec<u8> {
    let mut m = DOMAIN.to_vec();
    m.extend_from_slice(digest.as_bytes());
    m
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({} over {})", self.key_id, self.digest)
    }
}

impl Signature {
    /// The signature's line in a signature file.
    pub fn to_line(&self) -> String {
        format!("{SIGNATURE_TAG} {} {} {}", self.key_id, self.digest, B64.encode(self.sig.to_bytes()))
    }

    fn parse_line(line: &str) -> Result<Signature, String> {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [tag, key, digest, sig] = parts[..] else {
            return Err(format!("expected `{SIGNATURE_TAG} <key id> sha256:<hex> <base64>`"));
        };
        if tag != SIGNATURE_TAG {
            return Err(format!("unknown signature kind {tag:?} (expected {SIGNATURE_TAG})"));
        }
        let key_id = KeyId::parse(key).ok_or_else(|| format!("bad key id {key:?}"))?;
        let digest = Sha256::parse(digest).map_err(|e| e.to_string())?;
        let raw: [u8; 64] = B64
            .decode(sig)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| "the signature must be 64 bytes of base64".to_string())?;
        Ok(Signature { key_id, digest, sig: ed25519_dalek::Signature::from_bytes(&raw) })
    }
}

impl SignatureSet {
    /// An empty set.
    pub fn new() -> Self {
        SignatureSet::default()
    }

    /// Parses a signature file's text; `plugin` names the generator in errors.
    pub fn parse(text: &str, plugin: &str) -> Result<SignatureSet, SignatureError> {
        let mut set = SignatureSet::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let sig = Signature::parse_line(line).map_err(|reason| SignatureError::Malformed {
                plugin: plugin.to_string(),
                line: i + 1,
                reason,
            })?;
            set.add(sig);
        }
        Ok(set)
    }

    /// The file text: one line per signature.
    pub fn to_text(&self) -> String {
        self.sigs.iter().map(|s| s.to_line() + "\n").collect()
    }

    /// Adds `sig`, replacing an earlier signature by the same key.
    pub fn add(&mut self, sig: Signature) {
        self.sigs.retain(|s| s.key_id != sig.key_id);
        self.sigs.push(sig);
    }

    /// Whether there is no signature.
    pub fn is_empty(&self) -> bool {
        self.sigs.is_empty()
    }

    /// The signatures, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Signature> {
        self.sigs.iter()
    }
}

impl TrustedKeys {
    /// Trusts exactly `keys`.
    pub fn new(keys: Vec<PublicKey>) -> Self {
        TrustedKeys { keys }
    }

    /// The trusted keys.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    fn ids(&self) -> String {
        let ids: Vec<String> = self.keys.iter().map(|k| k.key_id().to_string()).collect();
        if ids.is_empty() { "(none)".into() } else { ids.join(", ") }
    }
}

/// Where a local file's detached signature lives: `<file>.sig`.
pub fn signature_path(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".sig");
    PathBuf::from(s)
}

/// Checks that `bytes` (the generator named `plugin`) carry a valid
/// signature by one of the `trusted` keys, and returns that key's id.
///
/// `signatures` is `None` when no signature file exists (`looked_at` says
/// where it was looked for). The order of judgement: a valid signature by a
/// trusted key accepts; otherwise a failing signature by a trusted key is
/// [`SignatureError::Tampered`]; otherwise signatures by other keys only are
/// [`SignatureError::Untrusted`]; no signature is [`SignatureError::Unsigned`].
pub fn verify(
    plugin: &str,
    bytes: &[u8],
    signatures: Option<&SignatureSet>,
    looked_at: &str,
    trusted: &TrustedKeys,
) -> Result<KeyId, SignatureError> {
    verify_digest(plugin, &Sha256::of(bytes), signatures, looked_at, trusted)
}

/// Like [`verify`] for a component whose digest is already known.
pub fn verify_digest(
    plugin: &str,
    actual: &Sha256,
    signatures: Option<&SignatureSet>,
    looked_at: &str,
    trusted: &TrustedKeys,
) -> Result<KeyId, SignatureError> {
    let actual = *actual;
    let set = match signatures {
        Some(s) if !s.is_empty() => s,
        _ => {
            return Err(SignatureError::Unsigned {
                plugin: plugin.into(),
                looked_at: looked_at.into(),
                trusted: trusted.ids(),
            });
        }
    };
    let msg = message(&actual);
    let mut tampered = None;
    for sig in set.iter() {
        for key in trusted.keys.iter().filter(|k| k.key_id() == sig.key_id) {
            if key.verifies(&msg, &sig.sig) {
                return Ok(sig.key_id);
            }
            let reason = if sig.digest != actual {
                format!("it signed {} but the component is {actual}", sig.digest)
            } else {
                format!("the signature over {actual} is invalid")
            };
            tampered.get_or_insert((sig.key_id, reason));
        }
    }
    if let Some((key, reason)) = tampered {
        return Err(SignatureError::Tampered { plugin: plugin.into(), key, reason });
    }
    let signers: Vec<String> = set.iter().map(|s| s.key_id.to_string()).collect();
    Err(SignatureError::Untrusted { plugin: plugin.into(), signers: signers.join(", "), trusted: trusted.ids() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_each_refusal() {
        let k = SecretKey::generate().unwrap();
        let other = SecretKey::generate().unwrap();
        let trusted = TrustedKeys::new(vec![k.public_key()]);
        let wasm = b"\0asm component bytes";
        let mut set = SignatureSet::new();
        set.add(k.sign(&Sha256::of(wasm)));
        let set = SignatureSet::parse(&set.to_text(), "p").unwrap();
        assert_eq!(verify("p", wasm, Some(&set), "p.sig", &trusted).unwrap(), k.public_key().key_id());

        let e = verify("p.wasm", b"changed", Some(&set), "p.sig", &trusted).unwrap_err();
        assert!(matches!(e, SignatureError::Tampered { .. }) && e.to_string().contains("p.wasm"), "{e}");

        let e = verify("p.wasm", wasm, None, "p.wasm.sig", &trusted).unwrap_err();
        assert!(matches!(e, SignatureError::Unsigned { .. }) && e.to_string().contains("p.wasm.sig"), "{e}");

        let mut foreign = SignatureSet::new();
        foreign.add(other.sign(&Sha256::of(wasm)));
        let e = verify("p.wasm", wasm, Some(&foreign), "p.sig", &trusted).unwrap_err();
        assert!(matches!(e, SignatureError::Untrusted { .. }), "{e}");
        assert!(e.to_string().contains(&other.public_key().key_id().to_string()), "{e}");

        // A forged signature line claiming the trusted key id.
        let forged =
            foreign.to_text().replace(&other.public_key().key_id().to_string(), &k.public_key().key_id().to_string());
        let forged = SignatureSet::parse(&forged, "p").unwrap();
        let e = verify("p.wasm", wasm, Some(&forged), "p.sig", &trusted).unwrap_err();
        assert!(matches!(e, SignatureError::Tampered { .. }) && e.to_string().contains("invalid"), "{e}");
    }
}
