//! Which events were already handled, persisted so that a restart or a
//! reconnect reports every build exactly once.
//!
//! Builds and buildsets have increasing integer ids. For each, the cursor
//! keeps `next` (every id below it is fully handled) and the handled ids at
//! or above it (events do not finish in id order). A build is fully handled
//! once its `finished` event is; a buildset once its `complete` event is.
//! Ids that do not exist (gaps found while catching up) count as handled.
//!
//! The file is JSON, written atomically (temp file, fsync, rename) after
//! every handled event:
//! `{"version": 1, "master": "http://…/", "builds": {"next": 12, "new_done": [13],
//! "finished_done": [14]}, "buildsets": {"next": 9, "done": [11]}}`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The cursor file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    #[error("state file {path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("state file {path}: not a wasmpush buildbot cursor ({reason}); fix or delete it")]
    Corrupt { path: PathBuf, reason: String },
}

/// Handled builds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildCursor {
    /// Every build id below this is fully handled.
    pub next: i64,
    /// Builds at or above `next` whose `new` event is handled.
    #[serde(default)]
    pub new_done: BTreeSet<i64>,
    /// Builds at or above `next` whose `finished` event is handled.
    #[serde(default)]
    pub finished_done: BTreeSet<i64>,
}

impl BuildCursor {
    /// The `new` event of build `id` was handled (or skipped).
    pub fn new_handled(&self, id: i64) -> bool {
        id < self.next || self.new_done.contains(&id) || self.finished_done.contains(&id)
    }
    /// The `finished` event of build `id` was handled.
    pub fn finished_handled(&self, id: i64) -> bool {
        id < self.next || self.finished_done.contains(&id)
    }
    /// Records the `new` event of `id` as handled.
    pub fn mark_new(&mut self, id: i64) {
        if id >= self.next {
            self.new_done.insert(id);
        }
    }
    /// Records the `finished` event of `id` (hence the whole build) as handled.
    pub fn mark_finished(&mut self, id: i64) {
        if id >= self.next {
            self.new_done.remove(&id);
            self.finished_done.insert(id);
        }
        while self.finished_done.remove(&self.next) {
            self.new_done.remove(&self.next);
            self.next += 1;
        }
    }
}

/// Handled buildsets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetCursor {
    /// Every buildset id below this is handled.
    pub next: i64,
    /// Buildsets at or above `next` whose `complete` event is handled.
    #[serde(default)]
    pub done: BTreeSet<i64>,
}

impl SetCursor {
    /// The `complete` event of buildset `id` was handled.
    pub fn handled(&self, id: i64) -> bool {
        id < self.next || self.done.contains(&id)
    }
    /// Records buildset `id` as handled.
    pub fn mark(&mut self, id: i64) {
        if id >= self.next {
            self.done.insert(id);
        }
        while self.done.remove(&self.next) {
            self.next += 1;
        }
    }
}

/// The persisted catch-up cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Format version (1).
    pub version: u32,
    /// The master it belongs to (a different master warns).
    pub master: String,
    pub builds: BuildCursor,
    pub buildsets: SetCursor,
}

impl Cursor {
    /// Reads the cursor; `Ok(None)` if the file does not exist yet.
    pub fn load(path: &Path) -> Result<Option<Cursor>, CursorError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(CursorError::Io { path: path.into(), reason: e.to_string() }),
        };
        let c: Cursor = serde_json::from_str(&text)
            .map_err(|e| CursorError::Corrupt { path: path.into(), reason: e.to_string() })?;
        if c.version != 1 {
            return Err(CursorError::Corrupt { path: path.into(), reason: format!("unknown version {}", c.version) });
        }
        Ok(Some(c))
    }

    /// Writes the cursor atomically (temp file in the same folder, fsync,
    /// rename), creating the folder if needed.
    pub fn save(&self, path: &Path) -> Result<(), CursorError> {
        let io = |e: std::io::Error| CursorError::Io { path: path.into(), reason: e.to_string() };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let body = serde_json::to_vec_pretty(self)
            .map_err(|e| CursorError::Io { path: path.into(), reason: e.to_string() })?;
        {
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(&body).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_completion_advances_next_only_when_contiguous() {
        let mut b = BuildCursor { next: 5, ..Default::default() };
        b.mark_new(5);
        b.mark_new(6);
        b.mark_finished(6);
        assert_eq!(b.next, 5);
        assert!(b.new_handled(5) && !b.finished_handled(5) && b.finished_handled(6));
        b.mark_finished(5);
        assert_eq!((b.next, b.new_done.len(), b.finished_done.len()), (7, 0, 0));
        assert!(b.finished_handled(4) && !b.new_handled(7));
        let mut s = SetCursor { next: 1, ..Default::default() };
        s.mark(2);
        s.mark(1);
        assert_eq!((s.next, s.done.len()), (3, 0));
    }

    #[test]
    fn saves_atomically_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/cursor.json");
        assert_eq!(Cursor::load(&p).unwrap(), None);
        let c = Cursor {
            version: 1,
            master: "http://m/".into(),
            builds: BuildCursor { next: 3, ..Default::default() },
            ..Default::default()
        };
        c.save(&p).unwrap();
        assert_eq!(Cursor::load(&p).unwrap(), Some(c));
        assert!(!dir.path().join("sub/cursor.json.tmp").exists());
        std::fs::write(&p, "{not json").unwrap();
        let err = Cursor::load(&p).unwrap_err().to_string();
        assert!(err.contains("cursor.json") && err.contains("delete it"), "{err}");
    }
}
