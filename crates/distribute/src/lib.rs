//! Distributing generator components: where they come from, how they are
//! kept, and what must hold before the host compiles one.
//!
//! - [`GeneratorSource`]: a config `wasm` value — a local path,
//!   `https://…`, or `oci://registry/repo[:tag][@sha256:…]`.
//! - [`Store`]: a content-addressed folder (`sha256/<hex>`, atomic writes,
//!   re-hashed on read) plus an index from tag/URL to digest, so fetched
//!   components are reused offline.
//! - [`acquire`] / [`fetch`]: obtain the bytes ([`Fetched`] carries the sha256
//!   that runs and, for OCI, the immutable `…@sha256:<manifest>` reference to
//!   log); `acquire` then enforces the [`LoadPolicy`]: the `sha256` pin
//!   ([`PinError`] names file, expected and actual digests) and, when the
//!   config requires it, a valid ed25519 signature by a trusted key
//!   ([`SignatureError`]: unsigned, tampered, untrusted). Both checks run on
//!   the bytes before anything compiles them.
//! - [`push`] / [`pull`] / [`publish_signature`] / [`sign_remote`]: the OCI
//!   registry side (format in [`oci`]'s docs), through `oci-client`.
//! - [`identity`]: a record of local files' digests by file identity
//!   (device, inode, size, mtime, ctime), so an unchanged file is not read
//!   or hashed again at start ([`FetchOptions::file_digests`]).
//! - [`sign`]: key and signature formats; [`sign_file`] writes `<file>.sig`.
//! - [`inspect`] / [`embed_metadata`]: name, version, description, authors,
//!   events and needs read from custom sections without running anything.
//!
//! Typical host use:
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use wasmpush_distribute::*;
//! let store = Store::open(Store::default_dir().unwrap())?;
//! let source = GeneratorSource::parse("oci://127.0.0.1:5000/team/fmt:1.0")?;
//! let policy = LoadPolicy { sha256: None, trusted_keys: None };
//! let opts = FetchOptions { plain_http_registries: vec!["127.0.0.1:5000".into()], ..Default::default() };
//! let fetched = acquire(&store, &source, &policy, &opts).await?;
//! println!("{} runs {} ({:?})", source, fetched.sha256, fetched.resolved);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod digest;
pub mod fetch;
mod https;
pub mod identity;
pub mod keys;
pub mod metadata;
pub mod oci;
pub mod sign;
pub mod source;
pub mod store;

pub use digest::{DigestParseError, PinError, Sha256, verify_pin};
pub use fetch::{
    AcquireError, FetchError, FetchOptions, Fetched, FetchedFrom, Freshness, LoadPolicy, RegistryAuth, acquire, fetch,
    fetch_signatures,
};
pub use identity::{FileDigest, FileDigests, digest_file};
pub use metadata::{Inspection, LogContents, Metadata, MetadataError, Needs, embed_metadata, inspect};
pub use oci::{Published, publish, publish_signature, pull, sign_remote, signature_tag};
pub use sign::{
    KeyError, KeyId, PublicKey, SecretKey, Signature, SignatureError, SignatureSet, TrustedKeys, signature_path, verify,
};
pub use source::{GeneratorSource, OciRef, SourceError};
pub use store::{RefEntry, Store, StoreError};

/// Signs the local component at `path` with `key`, merging the signature
/// into `<path>.sig` (created if missing); returns the signature file.
pub fn sign_file(path: &std::path::Path, key: &SecretKey) -> Result<std::path::PathBuf, AcquireError> {
    fn read(p: &std::path::Path) -> impl FnOnce(std::io::Error) -> FetchError + '_ {
        move |e| FetchError::Read { path: p.to_path_buf(), source: e }
    }
    let bytes = std::fs::read(path).map_err(read(path))?;
    let sig_path = signature_path(path);
    let mut set = match std::fs::read_to_string(&sig_path) {
        Ok(text) => SignatureSet::parse(&text, &path.display().to_string())?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => SignatureSet::new(),
        Err(e) => return Err(read(&sig_path)(e).into()),
    };
    set.add(key.sign(&Sha256::of(&bytes)));
    std::fs::write(&sig_path, set.to_text()).map_err(read(&sig_path))?;
    Ok(sig_path)
}
