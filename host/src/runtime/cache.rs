//! On-disk cache of compiled components.
//!
//! Compiling a component costs 40 ms (C) to 8 s (StarlingMonkey JS); loading
//! a precompiled one costs well under a few milliseconds. Entries are keyed by
//! the sha256 of the `.wasm` and a hash of the engine's configuration and
//! wasmtime version, so a changed plugin or engine setting never reuses a
//! stale entry.
//!
//! Deserialising a compiled artefact runs native code, so only files this
//! host wrote are ever loaded: the cache directory is created with mode 0700,
//! entries are written to a temporary file and renamed into place, and an
//! entry is trusted only if it is a regular file owned by the current user
//! that nobody else can write, inside a directory nobody else can write.
//!
//! Next to the entries, in `file-digests/`, is the record of local files'
//! digests by identity ([`wasmpush_distribute::identity`], written by the
//! plugin fetcher): a warm start takes an unchanged `.wasm`'s sha256 from
//! it, finds the entry by that digest and never reads the `.wasm`
//! ([`Cache::load`] with empty bytes).

use super::error::LoadError;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use wasmpush_distribute::{FileDigests, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Whether a component came from the cache or was compiled now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from a cache entry written earlier.
    Cached,
    /// Compiled now (and written to the cache when there is one).
    Compiled,
}

/// A directory of compiled components.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    engine_key: String,
    file_digests: FileDigests,
}

impl Cache {
    /// Opens (creating with mode 0700) the cache in `dir` for `engine`.
    pub fn open(dir: &Path, engine: &Engine) -> Result<Cache, LoadError> {
        let err = |source| LoadError::Cache { path: dir.to_path_buf(), source };
        std::fs::create_dir_all(dir).map_err(err)?;
        let meta = std::fs::metadata(dir).map_err(err)?;
        if meta.permissions().mode() & 0o022 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
        }
        let mut h = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        env!("CARGO_PKG_VERSION").hash(&mut h);
        let file_digests = FileDigests::in_cache(dir);
        Ok(Cache { dir: dir.to_path_buf(), engine_key: format!("{:016x}", h.finish()), file_digests })
    }

    /// The cache's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The record of local files' digests kept with this cache.
    pub fn file_digests(&self) -> &FileDigests {
        &self.file_digests
    }

    fn entry(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.cwasm", self.engine_key))
    }

    /// The component for `wasm` (whose digest is `sha256`), from the cache
    /// when a trusted entry exists, else compiled and stored. An empty
    /// `wasm` means the caller did not read the file (its digest came from
    /// the identity record): on a miss the file at `path` is read, and must
    /// still hash to `sha256`.
    pub fn load(
        &self,
        engine: &Engine,
        wasm: &[u8],
        sha256: &str,
        path: &Path,
    ) -> Result<(Component, CacheOutcome), LoadError> {
        let entry = self.entry(sha256);
        if trusted(&entry) {
            // SAFETY: the entry was written by this host (see the module docs:
            // private directory, owned by us, not writable by others) from the
            // component with this exact digest, for an engine with this exact
            // configuration hash.
            match unsafe { Component::deserialize_file(engine, &entry) } {
                Ok(c) => return Ok((c, CacheOutcome::Cached)),
                Err(e) => tracing::warn!(entry = %entry.display(), "ignoring unusable cache entry: {e}"),
            }
        }
        let read;
        let wasm = if wasm.is_empty() {
            read = read_verified(path, sha256)?;
            &read[..]
        } else {
            wasm
        };
        let bytes = engine
            .precompile_component(wasm)
            .map_err(|e| LoadError::Invalid { path: path.to_path_buf(), reason: format!("{e:#}") })?;
        if let Err(e) = self.store(&entry, &bytes) {
            tracing::warn!(entry = %entry.display(), "could not write the compiled-component cache: {e}");
        }
        // SAFETY: `bytes` was produced just now by `precompile_component` on this engine.
        let component = unsafe { Component::deserialize(engine, &bytes) }
            .map_err(|e| LoadError::Invalid { path: path.to_path_buf(), reason: format!("{e:#}") })?;
        Ok((component, CacheOutcome::Compiled))
    }

    fn store(&self, entry: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(entry).map_err(|e| e.error)?;
        Ok(())
    }
}

/// The file at `path`, which must hash to `sha256` (the digest recalled
/// for it): a file that changed in between is refused, not compiled.
pub(crate) fn read_verified(path: &Path, sha256: &str) -> Result<Vec<u8>, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read { path: path.to_path_buf(), source })?;
    let actual = Sha256::of(&bytes).hex();
    if actual != sha256 {
        return Err(LoadError::Invalid {
            path: path.to_path_buf(),
            reason: format!(
                "the file changed while it was loaded (sha256 {sha256} expected, now {actual}); load it again"
            ),
        });
    }
    Ok(bytes)
}

fn trusted(entry: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(entry) else { return false };
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc_geteuid() };
    let dir_ok =
        entry.parent().and_then(|d| std::fs::metadata(d).ok()).is_some_and(|d| d.uid() == uid && d.mode() & 0o022 == 0);
    meta.file_type().is_file() && meta.uid() == uid && meta.mode() & 0o022 == 0 && dir_ok
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
