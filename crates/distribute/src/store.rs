//! The content-addressed store of fetched components.
//!
//! Layout under the store folder (created mode 0700):
//!
//! ```text
//! sha256/<64 hex>          component bytes; the name is the sha256 of the content
//! signatures/<64 hex>.sig  detached signature set for that component (sign.rs format)
//! refs/<64 hex>.json       what a source text last resolved to (the name is the
//!                          sha256 of the source text, e.g. "oci://host/repo:tag")
//! ```
//!
//! Every write goes to a temporary file in the same folder and is renamed
//! into place, so a reader never sees a partial file. Every read of a blob
//! re-hashes it: a corrupted or edited entry is treated as missing (and
//! removed), never handed out under a wrong name.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Sha256;

/// A store folder. Cheap to clone; safe to share between threads and
/// processes (writes are atomic renames of complete files).
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// A store operation that failed on the file system.
#[derive(Debug, thiserror::Error)]
#[error("plugin store {path}: {action}: {source}")]
pub struct StoreError {
    /// The file or folder concerned.
    pub path: PathBuf,
    /// What was being done.
    pub action: &'static str,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

/// What a mutable source (a tag, a URL) resolved to the last time it was
/// fetched from the network: reused when the network is unavailable, or
/// instead of the network under [`crate::Freshness::PreferCache`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefEntry {
    /// The source text (`oci://…` or `https://…`).
    pub source: String,
    /// The component's sha256.
    pub component: Sha256,
    /// For OCI sources, the immutable `oci://registry/repo@sha256:<manifest>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<String>,
    /// When it was resolved, in seconds since the Unix epoch.
    pub resolved_at: u64,
}

fn io_err<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |source| StoreError { path: path.to_path_buf(), action, source }
}

fn private_dir(path: &Path) -> Result<(), StoreError> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(path).map_err(io_err(path, "create folder"))
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Store, StoreError> {
        let root = dir.into();
        for sub in ["", "sha256", "signatures", "refs"] {
            private_dir(&root.join(sub))?;
        }
        Ok(Store { root })
    }

    /// The default location: `$XDG_CACHE_HOME/wasmpush/plugins`, else
    /// `$HOME/.cache/wasmpush/plugins`; `None` when neither is set.
    pub fn default_dir() -> Option<PathBuf> {
        let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
            Some(x) => PathBuf::from(x),
            None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".cache"),
        };
        Some(base.join("wasmpush").join("plugins"))
    }

    /// The store's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the component with `digest` is (or would be) kept.
    pub fn blob_path(&self, digest: &Sha256) -> PathBuf {
        self.root.join("sha256").join(digest.hex())
    }

    fn signature_path(&self, digest: &Sha256) -> PathBuf {
        self.root.join("signatures").join(format!("{}.sig", digest.hex()))
    }

    fn ref_path(&self, key: &str) -> PathBuf {
        self.root.join("refs").join(format!("{}.json", Sha256::of(key.as_bytes()).hex()))
    }

    /// The bytes of component `digest`, if stored and intact. A stored file
    /// whose content no longer matches its name is deleted and reported as
    /// missing.
    pub fn get(&self, digest: &Sha256) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.blob_path(digest);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path, "read")(e)),
        };
        let actual = Sha256::of(&bytes);
        if &actual != digest {
            tracing::warn!(path = %path.display(), %actual, "plugin store entry is corrupted; removing it");
            let _ = fs::remove_file(&path);
            return Ok(None);
        }
        Ok(Some(bytes))
    }

    /// Whether component `digest` is stored (without re-hashing it).
    pub fn contains(&self, digest: &Sha256) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Stores `bytes` under their sha256 (a no-op when already present) and
    /// returns the digest.
    pub fn put(&self, bytes: &[u8]) -> Result<Sha256, StoreError> {
        let digest = Sha256::of(bytes);
        let path = self.blob_path(&digest);
        if !path.is_file() {
            self.write_atomic(&path, bytes)?;
        }
        Ok(digest)
    }

    /// The detached signature set stored for component `digest`, as text.
    pub fn get_signature(&self, digest: &Sha256) -> Result<Option<String>, StoreError> {
        let path = self.signature_path(digest);
        match fs::read_to_string(&path) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path, "read")(e)),
        }
    }

    /// Replaces the signature set stored for component `digest`.
    pub fn put_signature(&self, digest: &Sha256, text: &str) -> Result<(), StoreError> {
        self.write_atomic(&self.signature_path(digest), text.as_bytes())
    }

    /// What the source text `key` last resolved to, if recorded.
    pub fn lookup_ref(&self, key: &str) -> Result<Option<RefEntry>, StoreError> {
        let path = self.ref_path(key);
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path, "read")(e)),
        };
        match serde_json::from_slice::<RefEntry>(&text) {
            Ok(entry) if entry.source == key => Ok(Some(entry)),
            Ok(_) | Err(_) => {
                tracing::warn!(path = %path.display(), "unreadable plugin store index entry; ignoring it");
                Ok(None)
            }
        }
    }

    /// Records what `entry.source` resolved to.
    pub fn record_ref(&self, entry: &RefEntry) -> Result<(), StoreError> {
        let path = self.ref_path(&entry.source);
        let json = serde_json::to_vec_pretty(entry).map_err(|e| io_err(&path, "encode")(std::io::Error::other(e)))?;
        self.write_atomic(&path, &json)
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let dir = path.parent().unwrap_or(&self.root);
        let mut tmp =
            tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir).map_err(io_err(dir, "create temporary file"))?;
        tmp.write_all(bytes).map_err(io_err(tmp.path(), "write"))?;
        tmp.as_file().sync_all().map_err(io_err(path, "sync"))?;
        tmp.persist(path).map_err(|e| io_err(path, "rename into place")(e.error))?;
        Ok(())
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        let d = store.put(b"component").unwrap();
        assert_eq!(d, Sha256::of(b"component"));
        assert_eq!(store.get(&d).unwrap().as_deref(), Some(&b"component"[..]));
        assert!(store.blob_path(&d).ends_with(format!("sha256/{}", d.hex())));
        // Tamper with the stored file: it must not be served any more.
        fs::write(store.blob_path(&d), b"evil").unwrap();
        assert_eq!(store.get(&d).unwrap(), None);
        assert!(!store.contains(&d));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(store.root()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    #[test]
    fn refs_round_trip_and_are_keyed_by_source() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let e = RefEntry {
            source: "oci://127.0.0.1:1/a:v1".into(),
            component: Sha256::of(b"x"),
            resolved: Some("oci://127.0.0.1:1/a@sha256:00".into()),
            resolved_at: 5,
        };
        store.record_ref(&e).unwrap();
        assert_eq!(store.lookup_ref(&e.source).unwrap(), Some(e.clone()));
        assert_eq!(store.lookup_ref("oci://127.0.0.1:1/a:v2").unwrap(), None);
        store.put_signature(&e.component, "sig").unwrap();
        assert_eq!(store.get_signature(&e.component).unwrap().as_deref(), Some("sig"));
    }
}
