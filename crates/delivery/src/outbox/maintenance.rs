//! Changes to the outbox file outside the data path: tidying it when a
//! [`crate::Delivery`] opens it, and the CLI's `outbox list`/`retry`/`drop`
//! on a file no `wasmpush` runs on.

use std::path::Path;
use std::sync::Arc;

use redb::Database;

use super::{
    BODIES, ENTRIES, Entry, EntryState, INDEX, Meta, OutboxError, Selector, load_all, memory, open_db, open_db_with,
    remove, storage, writer,
};

fn open_existing(path: &Path) -> Result<Option<Database>, OutboxError> {
    if !path.exists() {
        return Ok(None);
    }
    open_db(path).map(Some)
}

/// Opens the outbox for [`crate::Delivery`] and tidies it: entries
/// superseded in the previous run are removed (they were listed for that
/// run only) and kept values older than [`memory::KEEP_FOR`] are pruned.
/// Returns the database and every entry left, in FIFO order.
///
/// These two commits are the only outbox changes not made by the writer
/// thread ([`writer`]): they are part of opening, done before the writer
/// starts, while nothing else has the file (redb locks it to this process
/// and the instance is not serving yet), and the entries returned for
/// dispatch must already be without them.
pub(crate) fn open_for_delivery(
    path: &Path,
    faults: Option<&crate::faults::StorageFaults>,
) -> Result<(Database, Vec<(u64, Meta)>), OutboxError> {
    let db = open_db_with(path, faults)?;
    let txn = db.begin_write().map_err(storage)?;
    {
        let mut entries = txn.open_table(ENTRIES).map_err(storage)?;
        let mut bodies = txn.open_table(BODIES).map_err(storage)?;
        let mut index = txn.open_table(INDEX).map_err(storage)?;
        remove(&mut entries, &mut bodies, &mut index, &|m| m.state == EntryState::Superseded)?;
    }
    txn.commit().map_err(storage)?;
    memory::prune(&db)?;
    let entries = load_all(&db)?;
    Ok((db, entries))
}

/// Applies an admin change to an outbox no `wasmpush` runs on, through a
/// writer thread started for it and stopped after its commit: the CLI's
/// changes take the same path as a running instance's. Returns how many
/// entries changed.
fn change_stopped(outbox_path: &Path, change: writer::Change) -> Result<usize, OutboxError> {
    let Some(db) = open_existing(outbox_path)? else {
        return Ok(0);
    };
    let (queue, ops) = writer::queue();
    let failed = tokio::sync::watch::channel(None).0;
    let thread = writer::spawn(Arc::new(db), ops, Box::new(|_, _| {}), failed)
        .map_err(|e| OutboxError::Storage(format!("cannot start the outbox writer thread: {e}")))?;
    let (ack, answer) = std::sync::mpsc::sync_channel(1);
    let sent = queue.send(writer::Op::Admin { change, scope: writer::Scope::Any, ack });
    let changed = match sent {
        Ok(()) => answer.recv().map_err(|_| OutboxError::Closed).and_then(|r| r),
        Err(_) => Err(OutboxError::Closed),
    };
    // No sender left: the writer ends and closes the file before we return.
    std::mem::drop(queue);
    let _ = thread.join();
    changed.map(|v| v.len())
}

/// Lists every entry (pending and dead) in FIFO order. A missing file is an
/// empty outbox.
pub fn list(outbox_path: &Path) -> Result<Vec<Entry>, OutboxError> {
    let Some(db) = open_existing(outbox_path)? else {
        return Ok(Vec::new());
    };
    Ok(load_all(&db)?.iter().map(|(seq, m)| Entry::from_meta(*seq, m)).collect())
}

/// Makes the selected entries due now (dead → pending, attempts reset).
/// The next `wasmpush` start delivers them. Returns how many changed.
pub fn retry(outbox_path: &Path, sel: &Selector) -> Result<usize, OutboxError> {
    change_stopped(outbox_path, writer::Change::Retry(sel.clone()))
}

/// Deletes the selected entries for good. Returns how many were removed.
pub fn drop(outbox_path: &Path, sel: &Selector) -> Result<usize, OutboxError> {
    change_stopped(outbox_path, writer::Change::Drop(sel.clone()))
}
