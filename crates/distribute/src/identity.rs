//! A record of local files' digests by file identity, so a warm start takes
//! a component's sha256 from one `stat` instead of reading and hashing it
//! (19 MB and ~50 ms for the Python generator).
//!
//! The record lives next to the host's compiled-component cache
//! (`<cache_dir>/file-digests/`, mode 0700, created with the first entry),
//! one small file per path:
//!
//! ```text
//! wasmpush-file-digest-1 <dev> <ino> <size> <mtime ns> <ctime ns> <sha256 hex>
//! ```
//!
//! A digest is recalled only when all five identity fields are unchanged.
//! Any write to a file moves its ctime, which only root can set back (by
//! moving the clock), so a changed file is always read and hashed again and
//! its record replaced. A file whose mtime or ctime is within
//! [`SETTLE`] of the moment it was read is not recorded: a second write in
//! the same timestamp tick (or the same second, on file systems with
//! coarse timestamps) could otherwise leave the identity unchanged.
//!
//! The record only ever saves work: what runs is still decided by the
//! digest (the pin and signature are checked against it, and the compiled
//! cache is keyed by it; a file that must be compiled is read and hashed,
//! and must match). Entries are trusted only inside a directory owned by
//! this user that nobody else can write, and only as regular files owned by
//! this user that nobody else can write.

use std::fs::Metadata;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::digest::Sha256;

/// How old a file's last change must be before its identity is recorded.
pub const SETTLE: Duration = Duration::from_secs(2);

/// The folder of the record inside a cache folder.
const SUBDIR: &str = "file-digests";
const MAGIC: &str = "wasmpush-file-digest-1";

/// The identity → digest record of one cache folder.
#[derive(Debug, Clone)]
pub struct FileDigests {
    dir: PathBuf,
}

/// What identifies a file's content without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Identity {
    fn of(m: &Metadata) -> Identity {
        Identity {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        }
    }
}

impl FileDigests {
    /// The record of the cache folder `cache_dir` (its `file-digests`
    /// folder; nothing is created until the first entry is written).
    pub fn in_cache(cache_dir: &Path) -> FileDigests {
        FileDigests { dir: cache_dir.join(SUBDIR) }
    }

    /// Whether the record's folder is one this user owns and nobody else
    /// can write (a record anyone could write is never used).
    fn private(&self) -> bool {
        std::fs::symlink_metadata(&self.dir).is_ok_and(|m| m.is_dir() && m.uid() == euid() && m.mode() & 0o022 == 0)
    }

    /// The record's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry(&self, path: &Path) -> PathBuf {
        let key = Sha256::of(path.as_os_str().as_encoded_bytes()).hex();
        self.dir.join(format!("{}.digest", &key[..32]))
    }

    /// The recorded digest of the file at `path` whose metadata is `meta`,
    /// when its identity has not changed since it was recorded.
    pub fn recall(&self, path: &Path, meta: &Metadata) -> Option<Sha256> {
        let entry = self.entry(path);
        let m = std::fs::symlink_metadata(&entry).ok()?;
        if !self.private() {
            return None;
        }
        if !m.file_type().is_file() || m.uid() != euid() || m.mode() & 0o022 != 0 {
            return None;
        }
        let text = std::fs::read_to_string(&entry).ok()?;
        let (identity, digest) = parse(&text)?;
        (identity == Identity::of(meta)).then_some(digest)
    }

    /// Records `digest` for the file at `path`, whose metadata was `before`
    /// when reading started, unless the file changed since (a fresh `stat`
    /// differs) or changed too recently to be told apart (see [`SETTLE`]).
    /// Failing to write the record is logged, never an error.
    pub fn remember(&self, path: &Path, before: &Metadata, digest: &Sha256) {
        let identity = Identity::of(before);
        let Ok(after) = std::fs::metadata(path) else { return };
        if Identity::of(&after) != identity || !settled(&identity) {
            return;
        }
        let line = format!(
            "{MAGIC} {} {} {} {} {} {}\n",
            identity.dev,
            identity.ino,
            identity.size,
            identity.mtime_ns,
            identity.ctime_ns,
            digest.hex()
        );
        let entry = self.entry(path);
        let write = || -> std::io::Result<()> {
            if !self.dir.exists() {
                std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.dir)?;
            }
            if !self.private() {
                return Err(std::io::Error::other("the folder is not private to this user"));
            }
            let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
            tmp.write_all(line.as_bytes())?;
            tmp.persist(&entry).map_err(|e| e.error)?;
            Ok(())
        };
        if let Err(e) = write() {
            tracing::warn!(entry = %entry.display(), "could not record the digest of {}: {e}", path.display());
        }
    }
}

/// A local file's digest, and its bytes when they had to be read.
#[derive(Debug)]
pub struct FileDigest {
    /// sha256 of the file's content.
    pub sha256: Sha256,
    /// The content; `None` when the digest came from the record and the
    /// file was not read.
    pub bytes: Option<Vec<u8>>,
}

/// The digest of the file at `path` (whose metadata, taken just before, is
/// `meta`): recalled from `record` when the file's identity is unchanged,
/// else read and hashed (and recorded).
pub fn digest_file(path: &Path, meta: &Metadata, record: Option<&FileDigests>) -> std::io::Result<FileDigest> {
    if let Some(sha256) = record.and_then(|r| r.recall(path, meta)) {
        return Ok(FileDigest { sha256, bytes: None });
    }
    let bytes = std::fs::read(path)?;
    let sha256 = Sha256::of(&bytes);
    if let Some(r) = record {
        r.remember(path, meta, &sha256);
    }
    Ok(FileDigest { sha256, bytes: Some(bytes) })
}

fn parse(text: &str) -> Option<(Identity, Sha256)> {
    let mut it = text.split_ascii_whitespace();
    if it.next()? != MAGIC {
        return None;
    }
    let identity = Identity {
        dev: it.next()?.parse().ok()?,
        ino: it.next()?.parse().ok()?,
        size: it.next()?.parse().ok()?,
        mtime_ns: it.next()?.parse().ok()?,
        ctime_ns: it.next()?.parse().ok()?,
    };
    let digest = Sha256::parse(it.next()?).ok()?;
    it.next().is_none().then_some((identity, digest))
}

/// Whether the file's last change is at least [`SETTLE`] in the past.
fn settled(identity: &Identity) -> bool {
    let Ok(now) = SystemTime::now().duration_since(UNIX_EPOCH) else { return false };
    let limit = now.as_nanos() as i128 - SETTLE.as_nanos() as i128;
    identity.mtime_ns <= limit && identity.ctime_ns <= limit
}

fn euid() -> u32 {
    unsafe extern "C" {
        fn geteuid() -> u32;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settled_file(dir: &Path, content: &[u8]) -> PathBuf {
        let p = dir.join("gen.wasm");
        std::fs::write(&p, content).unwrap();
        std::thread::sleep(SETTLE + Duration::from_millis(100));
        p
    }

    #[test]
    fn an_unchanged_file_is_recalled_a_changed_one_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let record = FileDigests::in_cache(&dir.path().join("cache"));
        let p = settled_file(dir.path(), b"one");

        let first = digest_file(&p, &std::fs::metadata(&p).unwrap(), Some(&record)).unwrap();
        assert_eq!((first.sha256, first.bytes.as_deref()), (Sha256::of(b"one"), Some(&b"one"[..])));
        let warm = digest_file(&p, &std::fs::metadata(&p).unwrap(), Some(&record)).unwrap();
        assert_eq!((warm.sha256, warm.bytes), (Sha256::of(b"one"), None), "recalled, not read");

        // Same size, same path: the write moves ctime (and mtime).
        std::fs::write(&p, b"two").unwrap();
        let changed = digest_file(&p, &std::fs::metadata(&p).unwrap(), Some(&record)).unwrap();
        assert_eq!((changed.sha256, changed.bytes.as_deref()), (Sha256::of(b"two"), Some(&b"two"[..])));
        // Too recent to be recorded: read again next time too.
        let again = digest_file(&p, &std::fs::metadata(&p).unwrap(), Some(&record)).unwrap();
        assert!(again.bytes.is_some());
    }

    #[test]
    fn a_damaged_or_foreign_entry_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let record = FileDigests::in_cache(dir.path());
        let p = settled_file(dir.path(), b"one");
        let meta = std::fs::metadata(&p).unwrap();
        record.remember(&p, &meta, &Sha256::of(b"one"));
        assert_eq!(record.recall(&p, &meta), Some(Sha256::of(b"one")));
        let entry = record.entry(&p);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(record.recall(&p, &meta), None, "writable by others");
        std::fs::write(&entry, "wasmpush-file-digest-1 1 2 3\n").unwrap();
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(record.recall(&p, &meta), None, "truncated");
        assert_eq!(record.recall(&dir.path().join("other.wasm"), &meta), None, "another path");
    }
}
