//! The on-disk outbox: a [redb] database (crash-safe, copy-on-write B-trees,
//! checksummed commits) holding every report from enqueue until a 2xx.
//!
//! Tables: `entries` (seq → JSON metadata), `bodies` (seq → body bytes),
//! `index` (`target \0 id` → seq, for idempotent enqueue), `counters`, and
//! `inbox` (events accepted but not yet generated, see `INBOX`).
//! `seq` grows with each enqueue, so iterating `entries` gives FIFO order.
//!
//! One thread changes the file: the `writer` (opening aside, see
//! `open_for_delivery`). Readers (`load_meta`, `load_body`, …) read
//! committed state from any thread.
//!
//! The admin functions [`list`], [`retry`] and [`drop`] are meant for the
//! CLI while no `wasmpush` runs on the file (redb locks it: a running
//! instance makes them fail with [`OutboxError::InUse`]); `retry` and
//! `drop` start a writer thread of their own for their one commit. A
//! running instance changes the dead-letter list through its writer
//! instead ([`crate::Delivery::retry_dead`], [`crate::Delivery::drop_dead`]);
//! both apply the same `revive` and `remove`.
//!
//! Layout, each file using only those above it: `error.rs`
//! ([`OutboxError`]); `report.rs` (what is stored: [`Outgoing`] in,
//! `Meta` kept, [`Entry`]/[`Detail`] shown, [`Selector`]); this file
//! (tables, opening the file, reads, the row changes `revive` and
//! `remove`); `memory.rs` (values kept from responses, a table of the
//! same file) and `writer.rs` (the thread and its operations);
//! `maintenance.rs` (tidying at open, the CLI's `list`/`retry`/`drop`).

mod error;
mod maintenance;
pub mod memory;
mod report;
pub(crate) mod writer;

use std::path::Path;
use std::time::SystemTime;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

pub use error::OutboxError;
pub(crate) use error::storage;
pub(crate) use maintenance::open_for_delivery;
pub use maintenance::{drop, list, retry};
pub use report::{Detail, Entry, EntryState, Outgoing, Selector};
pub(crate) use report::{Meta, index_key, ms_to_time, now_ms};

pub(crate) const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("entries");
pub(crate) const BODIES: TableDefinition<u64, &[u8]> = TableDefinition::new("bodies");
pub(crate) const INDEX: TableDefinition<&str, u64> = TableDefinition::new("index");
pub(crate) const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
/// Events accepted from a source but not yet turned into reports (seq →
/// the event, opaque bytes the host encodes). An event leaves the inbox in
/// the same transaction that stores its reports, so after a crash every
/// inbox row is an event to generate again.
pub(crate) const INBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("inbox");
/// `target \0 supersede key` → seq of the latest report with that key.
pub(crate) const SUPERSEDE: TableDefinition<&str, u64> = TableDefinition::new("supersede");
/// `target \0 ordering key` → values kept from responses (see [`crate::memory`]).
pub(crate) const MEMORY: TableDefinition<&str, &[u8]> = TableDefinition::new("memory");

/// Every entry with this `webhook-id` (one per reporter at most), with its body.
pub(crate) fn find(db: &Database, id: &str) -> Result<Vec<Detail>, OutboxError> {
    let mut out = Vec::new();
    for (seq, m) in load_all(db)?.into_iter().filter(|(_, m)| m.id == id) {
        if let Some(body) = load_body(db, seq)? {
            let entry = Entry::from_meta(seq, &m);
            out.push(Detail { entry, content_type: m.content_type, headers: m.headers, path: m.path, body });
        }
    }
    Ok(out)
}

/// When the oldest pending entry was enqueued (FIFO order: the first
/// pending row), `None` when nothing is pending.
pub(crate) fn oldest_pending(db: &Database) -> Result<Option<SystemTime>, OutboxError> {
    let txn = db.begin_read().map_err(storage)?;
    let table = txn.open_table(ENTRIES).map_err(storage)?;
    for row in table.iter().map_err(storage)? {
        let (k, v) = row.map_err(storage)?;
        if let Ok(m) = Meta::decode(k.value(), v.value())
            && m.state == EntryState::Pending
        {
            return Ok(Some(ms_to_time(m.enqueued_at_ms)));
        }
    }
    Ok(None)
}

/// redb's page cache (read cache + write buffer). redb's default is 1 GiB,
/// which a large outbox fills with report bodies that are read once per
/// attempt: memory would grow with the outbox instead of staying bounded
/// while a target is down. Metadata and B-tree pages are what it needs.
const CACHE_SIZE: usize = 32 * 1024 * 1024;

/// Opens (creating if needed) the outbox file and its tables.
pub(crate) fn open_db(path: &Path) -> Result<Database, OutboxError> {
    open_db_with(path, None)
}

/// [`open_db`], with injected storage faults when `faults` is given.
pub(crate) fn open_db_with(
    path: &Path,
    faults: Option<&crate::faults::StorageFaults>,
) -> Result<Database, OutboxError> {
    let open_err = |message: String| OutboxError::Open { path: path.to_owned(), message };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
    }
    let mut builder = Database::builder();
    builder.set_cache_size(CACHE_SIZE);
    let db = match faults {
        None => builder.create(path),
        Some(faults) => {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(|e| open_err(e.to_string()))?;
            let inner = redb::backends::FileBackend::new(file).map_err(|e| open_err(e.to_string()))?;
            builder.create_with_backend(crate::faults::FaultyFile { inner, faults: faults.clone() })
        }
    }
    .map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => OutboxError::InUse(path.to_owned()),
        other => OutboxError::Open { path: path.to_owned(), message: other.to_string() },
    })?;
    let txn = db.begin_write().map_err(storage)?;
    txn.open_table(ENTRIES).map_err(storage)?;
    txn.open_table(BODIES).map_err(storage)?;
    txn.open_table(INDEX).map_err(storage)?;
    txn.open_table(COUNTERS).map_err(storage)?;
    txn.open_table(INBOX).map_err(storage)?;
    txn.open_table(SUPERSEDE).map_err(storage)?;
    txn.open_table(MEMORY).map_err(storage)?;
    txn.commit().map_err(storage)?;
    Ok(db)
}

/// Every entry in FIFO order, with its metadata.
///
/// An entry whose metadata cannot be decoded is quarantined: left in the
/// file untouched, skipped, and named in an error log line, so one bad
/// entry never stops `open`, `outbox list` or `outbox drop` for the others.
pub(crate) fn load_all(db: &Database) -> Result<Vec<(u64, Meta)>, OutboxError> {
    let txn = db.begin_read().map_err(storage)?;
    let table = txn.open_table(ENTRIES).map_err(storage)?;
    scan(&table)
}

/// Every inbox row (events accepted but not yet generated), oldest first.
pub(crate) fn load_inbox(db: &Database) -> Result<Vec<(u64, Vec<u8>)>, OutboxError> {
    let txn = db.begin_read().map_err(storage)?;
    let table = txn.open_table(INBOX).map_err(storage)?;
    let mut out = Vec::new();
    for row in table.iter().map_err(storage)? {
        let (k, v) = row.map_err(storage)?;
        out.push((k.value(), v.value().to_vec()));
    }
    Ok(out)
}

/// One entry's metadata, if it still exists (the body is not read).
pub(crate) fn load_meta(db: &Database, seq: u64) -> Result<Option<Meta>, OutboxError> {
    let txn = db.begin_read().map_err(storage)?;
    let entries = txn.open_table(ENTRIES).map_err(storage)?;
    let Some(meta) = entries.get(seq).map_err(storage)? else {
        return Ok(None);
    };
    Meta::decode(seq, meta.value()).map(Some)
}

/// One entry's body, if the entry still exists (an entry without a body row
/// has an empty body).
pub(crate) fn load_body(db: &Database, seq: u64) -> Result<Option<Vec<u8>>, OutboxError> {
    let txn = db.begin_read().map_err(storage)?;
    let entries = txn.open_table(ENTRIES).map_err(storage)?;
    if entries.get(seq).map_err(storage)?.is_none() {
        return Ok(None);
    }
    let bodies = txn.open_table(BODIES).map_err(storage)?;
    let body = bodies.get(seq).map_err(storage)?.map(|b| b.value().to_vec()).unwrap_or_default();
    Ok(Some(body))
}

/// Entries table type inside a write transaction.
pub(crate) type EntriesTable<'t> = redb::Table<'t, u64, &'static [u8]>;

/// Every decodable entry of `entries` in FIFO order (undecodable ones are
/// quarantined as in [`load_all`]).
fn scan(entries: &impl ReadableTable<u64, &'static [u8]>) -> Result<Vec<(u64, Meta)>, OutboxError> {
    let mut out = Vec::new();
    for row in entries.iter().map_err(storage)? {
        let (k, v) = row.map_err(storage)?;
        match Meta::decode(k.value(), v.value()) {
            Ok(meta) => out.push((k.value(), meta)),
            Err(e) => tracing::error!("{e}; quarantined: skipped, left in the file"),
        }
    }
    Ok(out)
}

/// Makes matching entries due now, inside the caller's write transaction:
/// dead ones become pending with their attempt count reset; pending ones
/// keep their count. Returns the entries changed (for re-dispatch by a
/// running instance). Used by the writer thread only.
pub(crate) fn revive(
    entries: &mut EntriesTable<'_>,
    sel: &dyn Fn(&Meta) -> bool,
) -> Result<Vec<(u64, Meta)>, OutboxError> {
    let now = now_ms();
    let changed: Vec<(u64, Meta)> = scan(entries)?
        .into_iter()
        .filter(|(_, m)| sel(m))
        .map(|(seq, mut m)| {
            if m.state == EntryState::Dead {
                m.attempts = 0;
                m.state = EntryState::Pending;
            }
            m.next_attempt_at_ms = now;
            (seq, m)
        })
        .collect();
    for (seq, m) in &changed {
        entries.insert(*seq, m.encode().as_slice()).map_err(storage)?;
    }
    Ok(changed)
}

/// Removes matching entries (row, body, index) inside the caller's write
/// transaction; returns them. Used by the writer thread and by
/// [`open_for_delivery`].
pub(crate) fn remove(
    entries: &mut EntriesTable<'_>,
    bodies: &mut EntriesTable<'_>,
    index: &mut redb::Table<'_, &'static str, u64>,
    sel: &dyn Fn(&Meta) -> bool,
) -> Result<Vec<(u64, Meta)>, OutboxError> {
    let gone: Vec<(u64, Meta)> = scan(entries)?.into_iter().filter(|(_, m)| sel(m)).collect();
    for (seq, m) in &gone {
        entries.remove(*seq).map_err(storage)?;
        bodies.remove(*seq).map_err(storage)?;
        index.remove(m.index_key().as_str()).map_err(storage)?;
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmpush_model::method::Method;

    #[test]
    fn an_undecodable_entry_is_quarantined_and_the_others_load() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(&dir.path().join("o.redb")).unwrap();
        let good = Meta {
            target: "t".into(),
            id: "msg_1".into(),
            ordering_key: "k".into(),
            generator: "g".into(),
            content_type: String::new(),
            headers: Vec::new(),
            path: None,
            enqueued_at_ms: 0,
            attempts: 0,
            next_attempt_at_ms: 0,
            last_error: None,
            state: EntryState::Pending,
            body_len: 0,
            method: Method::Post,
            supersede: None,
            keep: Vec::new(),
            fill: false,
        };
        let txn = db.begin_write().unwrap();
        {
            let mut entries = txn.open_table(ENTRIES).unwrap();
            entries.insert(1, b"\xff not json".as_slice()).unwrap();
            entries.insert(2, good.encode().as_slice()).unwrap();
        }
        txn.commit().unwrap();
        let loaded = load_all(&db).unwrap();
        assert_eq!(loaded.iter().map(|(s, m)| (*s, m.id.as_str())).collect::<Vec<_>>(), vec![(2, "msg_1")]);
    }
}
