//! The outbox's single writer thread, with group commit.
//!
//! All changes go through one thread: it takes every operation waiting in
//! its queue (up to [`MAX_BATCH`]), applies them in one redb write
//! transaction and commits once. A batch holding an enqueue is committed
//! with `Durability::Immediate` (fsync) *before* any enqueuer is
//! acknowledged, so "enqueue returned" always means "on disk". Status
//! updates and removals after a 2xx are committed without fsync (they are
//! made durable by the next durable commit, at most [`FLUSH_EVERY`] later):
//! losing one in a crash only means a report is retried or re-sent with the
//! same `webhook-id`, never lost.
//!
//! Everything that changes the outbox file sends an [`Op`] here: enqueues,
//! admissions, the workers' status updates and removals, a running
//! instance's `outbox retry`/`drop`, and the CLI's `outbox retry`/`drop` on
//! a stopped outbox (which start a writer of their own, see
//! [`crate::outbox::retry`]). The only exception is opening
//! ([`crate::outbox::open_for_delivery`]), before any writer runs.
//!
//! The writer knows nothing of the workers: whoever needs to hear about
//! commits passes a [`Listener`] at construction. Build order: the queue
//! ([`queue`]) first, so the workers can hold its sending half; then the
//! workers; then the thread ([`spawn`]) with the workers as its listener.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration, Instant};

use redb::{Database, Durability, ReadableTable};

use super::{
    BODIES, COUNTERS, ENTRIES, EntryState, INBOX, INDEX, MEMORY, Meta, OutboxError, Outgoing, SUPERSEDE, Selector,
    index_key, now_ms, storage,
};

/// Most operations applied in one transaction.
pub(crate) const MAX_BATCH: usize = 4096;
/// Longest time a non-durable commit stays non-durable.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// How an enqueuer is told its batch is on disk: the number of new entries.
pub(crate) enum Ack {
    Sync(SyncSender<Result<usize, OutboxError>>),
    Async(tokio::sync::oneshot::Sender<Result<usize, OutboxError>>),
}

impl Ack {
    fn send(self, r: Result<usize, OutboxError>) {
        match self {
            Ack::Sync(s) => {
                let _ = s.send(r);
            }
            Ack::Async(s) => {
                let _ = s.send(r);
            }
        }
    }
}

/// A change to the outbox.
pub(crate) enum Op {
    /// Insert reports (idempotent per target + id) and delete the inbox
    /// rows `consumed` (the events they came from), durably, in one
    /// transaction.
    Enqueue { items: Vec<Outgoing>, consumed: Vec<u64>, ack: Ack },
    /// Store one accepted event in the inbox, durably; answers its seq.
    Admit { event: Vec<u8>, ack: tokio::sync::oneshot::Sender<Result<u64, OutboxError>> },
    /// Rewrite an entry's metadata (attempt count, next time, error, state).
    Update { seq: u64, meta: Box<Meta> },
    /// Delete a delivered entry.
    /// Delivered: remove it, and keep `kept` values (if any) for its
    /// target and ordering key in the same commit.
    Remove { seq: u64, index_key: String, kept: Option<Box<super::memory::Kept>> },
    /// An admin change (`outbox retry` / `outbox drop`), committed durably;
    /// answers the entries changed once the commit is done.
    Admin { change: Change, scope: Scope, ack: SyncSender<Result<Vec<(u64, Meta)>, OutboxError>> },
    /// Commit durably (everything sent before it included), then ack.
    Flush { ack: Ack },
    /// Commit durably and stop.
    Shutdown { ack: SyncSender<()> },
}

/// What an [`Op::Admin`] does to the entries the selector matches (within
/// its [`Scope`]).
pub(crate) enum Change {
    /// Due now; a dead one becomes pending with its attempts reset
    /// ([`super::revive`]).
    Retry(Selector),
    /// Deleted for good ([`super::remove`]).
    Drop(Selector),
}

/// Which entries an [`Op::Admin`] may touch.
pub(crate) enum Scope {
    /// Only **dead** ones: a running instance, whose workers own the
    /// pending ones.
    Dead,
    /// Any the selector matches: the CLI on an outbox no instance runs on.
    Any,
}

impl Scope {
    fn selects<'a>(&self, sel: &'a Selector) -> impl Fn(&Meta) -> bool + 'a {
        let dead_only = matches!(self, Scope::Dead);
        move |m| (!dead_only || m.state == EntryState::Dead) && sel.matches(m)
    }
}

/// Told after each commit, before anyone waiting for it is acknowledged,
/// about every entry the commit made pending (new ones) and every entry it
/// superseded: a plain callback passed in at construction (the workers'
/// dispatch in a running instance, nothing for the CLI). It runs on the
/// writer thread, so it must not block.
pub(crate) type Listener = Box<dyn Fn(u64, &Meta) + Send>;

/// The writer's queue. Made before the thread so that the workers, which
/// send their updates to it, can exist before the writer that tells them
/// about commits ([`spawn`]).
pub(crate) fn queue() -> (Sender<Op>, Receiver<Op>) {
    std::sync::mpsc::channel()
}

/// Starts the writer thread on `ops` (from [`queue`]). It stops on
/// [`Op::Shutdown`], or when every sender is gone; the listener may hold a
/// sender itself (the workers do), so a running instance always ends it
/// with [`Op::Shutdown`].
pub(crate) fn spawn(
    db: Arc<Database>,
    ops: Receiver<Op>,
    listener: Listener,
    failed: tokio::sync::watch::Sender<Option<String>>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("wasmpush-outbox".into()).spawn(move || run(&db, &ops, &listener, &failed))
}

/// After a failed commit redb answers every later call with an error
/// (`PreviousIo`) until the database is reopened, so the writer does not
/// pretend: the first failure is published on `failed` (the host stops with
/// a non-zero exit and a supervisor restarts it on a fresh handle), and
/// every later change is refused at once. Nothing waiting is acknowledged.
fn run(db: &Database, rx: &Receiver<Op>, listener: &Listener, failed: &tokio::sync::watch::Sender<Option<String>>) {
    let mut last_durable = Instant::now();
    let mut dirty = false;
    loop {
        let first = if dirty {
            match rx.recv_timeout(FLUSH_EVERY.saturating_sub(last_durable.elapsed())) {
                Ok(op) => Some(op),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(op) => Some(op),
                Err(_) => break,
            }
        };
        let mut ops: Vec<Op> = first.into_iter().collect();
        while ops.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => ops.push(op),
                Err(_) => break,
            }
        }
        let durable = ops.is_empty()
            || last_durable.elapsed() >= FLUSH_EVERY
            || ops.iter().any(|o| {
                matches!(
                    o,
                    Op::Enqueue { .. } | Op::Admit { .. } | Op::Admin { .. } | Op::Flush { .. } | Op::Shutdown { .. }
                )
            });
        let stop = ops.iter().any(|o| matches!(o, Op::Shutdown { .. }));
        let result = match failed.borrow().clone() {
            Some(first) => Err(OutboxError::Storage(format!("an earlier commit failed ({first}); restart wasmpush"))),
            None => apply(db, &mut ops, durable),
        };
        match result {
            Ok(Applied { inserted, admitted: inserted_inbox, superseded, admin }) => {
                if durable {
                    last_durable = Instant::now();
                    dirty = false;
                } else {
                    dirty = true;
                }
                for (_, seq, meta) in &inserted {
                    listener(*seq, meta);
                }
                // A superseded entry's worker may be waiting for a retry:
                // telling the listener (state `Superseded`) wakes it to drop it.
                for (seq, meta) in &superseded {
                    listener(*seq, meta);
                }
                let mut counts = vec![0usize; ops.len()];
                for (i, _, _) in &inserted {
                    counts[*i] += 1;
                }
                let mut admitted = inserted_inbox.into_iter();
                let mut admin = admin.into_iter();
                for (op, n) in ops.into_iter().zip(counts) {
                    match op {
                        Op::Enqueue { ack, .. } => ack.send(Ok(n)),
                        Op::Admit { ack, .. } => {
                            let _ = ack.send(admitted.next().ok_or(OutboxError::Closed));
                        }
                        Op::Admin { ack, .. } => {
                            let _ = ack.send(admin.next().ok_or(OutboxError::Closed));
                        }
                        Op::Flush { ack } => ack.send(Ok(0)),
                        Op::Shutdown { ack } => {
                            let _ = ack.send(());
                        }
                        Op::Update { .. } | Op::Remove { .. } => {}
                    }
                }
            }
            Err(e) => {
                if failed.borrow().is_none() {
                    tracing::error!(error = %e, "outbox commit failed; nothing in this batch is acknowledged");
                    failed.send_replace(Some(e.to_string()));
                }
                for op in ops {
                    match op {
                        Op::Enqueue { ack, .. } | Op::Flush { ack } => {
                            ack.send(Err(OutboxError::Storage(e.to_string())));
                        }
                        Op::Admit { ack, .. } => {
                            let _ = ack.send(Err(OutboxError::Storage(e.to_string())));
                        }
                        Op::Admin { ack, .. } => {
                            let _ = ack.send(Err(OutboxError::Storage(e.to_string())));
                        }
                        Op::Shutdown { ack } => {
                            let _ = ack.send(());
                        }
                        Op::Update { .. } | Op::Remove { .. } => {}
                    }
                }
            }
        }
        if stop {
            break;
        }
    }
}

/// What one transaction did, for the acknowledgements and wake-ups after it.
#[derive(Default)]
struct Applied {
    /// Each new outbox entry: (index of the op that inserted it, seq, meta).
    inserted: Vec<(usize, u64, Meta)>,
    /// The inbox seq of each `Admit`, in op order.
    admitted: Vec<u64>,
    /// Entries replaced by a newer one with the same supersede key.
    superseded: Vec<(u64, Meta)>,
    /// The entries each `Admin` changed, in op order.
    admin: Vec<Vec<(u64, Meta)>>,
}

/// Applies `ops` in one transaction.
fn apply(db: &Database, ops: &mut [Op], durable: bool) -> Result<Applied, OutboxError> {
    let mut txn = db.begin_write().map_err(storage)?;
    txn.set_durability(if durable { Durability::Immediate } else { Durability::None }).map_err(storage)?;
    let Applied { mut inserted, mut admitted, mut superseded, mut admin } = Applied::default();
    {
        let mut entries = txn.open_table(ENTRIES).map_err(storage)?;
        let mut bodies = txn.open_table(BODIES).map_err(storage)?;
        let mut index = txn.open_table(INDEX).map_err(storage)?;
        let mut counters = txn.open_table(COUNTERS).map_err(storage)?;
        let mut inbox = txn.open_table(INBOX).map_err(storage)?;
        let mut keys = txn.open_table(SUPERSEDE).map_err(storage)?;
        let mut memory = txn.open_table(MEMORY).map_err(storage)?;
        let mut next_seq = counters.get("next_seq").map_err(storage)?.map_or(1, |v| v.value());
        let mut next_inbox = counters.get("next_inbox").map_err(storage)?.map_or(1, |v| v.value());
        let now = now_ms();
        for (i, op) in ops.iter_mut().enumerate() {
            match op {
                Op::Admit { event, .. } => {
                    inbox.insert(next_inbox, event.as_slice()).map_err(storage)?;
                    admitted.push(next_inbox);
                    next_inbox += 1;
                }
                Op::Enqueue { items, consumed, .. } => {
                    for seq in consumed.drain(..) {
                        inbox.remove(seq).map_err(storage)?;
                    }
                    for it in items.drain(..) {
                        let key = index_key(&it.target, &it.id);
                        if index.get(key.as_str()).map_err(storage)?.is_some() {
                            continue;
                        }
                        let seq = next_seq;
                        next_seq += 1;
                        let meta = Meta {
                            target: it.target,
                            id: it.id,
                            ordering_key: it.ordering_key,
                            generator: it.generator,
                            content_type: it.content_type,
                            headers: it.headers,
                            path: it.path,
                            enqueued_at_ms: now,
                            attempts: 0,
                            next_attempt_at_ms: now,
                            last_error: None,
                            state: EntryState::Pending,
                            body_len: it.body.len() as u64,
                            method: it.method,
                            supersede: it.supersede,
                            keep: it.keep,
                            fill: it.fill,
                        };
                        if let Some(k) = &meta.supersede {
                            let skey = index_key(&meta.target, k);
                            let previous = keys.get(skey.as_str()).map_err(storage)?.map(|v| v.value());
                            let waiting = match previous {
                                Some(old) => entries
                                    .get(old)
                                    .map_err(storage)?
                                    .and_then(|v| Meta::decode(old, v.value()).ok())
                                    .filter(|m| m.state == EntryState::Pending)
                                    .map(|m| (old, m)),
                                None => None,
                            };
                            if let Some((old, mut m)) = waiting {
                                m.state = EntryState::Superseded;
                                m.last_error = Some(format!("superseded by {} (supersede key {k:?})", meta.id));
                                entries.insert(old, m.encode().as_slice()).map_err(storage)?;
                                bodies.remove(old).map_err(storage)?;
                                superseded.push((old, m));
                            }
                            keys.insert(skey.as_str(), seq).map_err(storage)?;
                        }
                        entries.insert(seq, meta.encode().as_slice()).map_err(storage)?;
                        bodies.insert(seq, it.body.as_slice()).map_err(storage)?;
                        index.insert(key.as_str(), seq).map_err(storage)?;
                        inserted.push((i, seq, meta));
                    }
                }
                Op::Update { seq, meta } => {
                    // A superseded entry stays superseded (its worker may
                    // still report the attempt it had in flight).
                    let current = entries.get(*seq).map_err(storage)?.map(|v| Meta::decode(*seq, v.value()));
                    if let Some(current) = current
                        && current.is_ok_and(|c| c.state != EntryState::Superseded)
                    {
                        entries.insert(*seq, meta.encode().as_slice()).map_err(storage)?;
                    }
                }
                Op::Remove { seq, index_key, kept } => {
                    if let Some(kept) = kept {
                        super::memory::store(&mut memory, kept, now)?;
                    }
                    let gone = entries.remove(*seq).map_err(storage)?.and_then(|v| Meta::decode(*seq, v.value()).ok());
                    if let Some(skey) = gone.and_then(|m| m.supersede.map(|k| super::index_key(&m.target, &k)))
                        && keys.get(skey.as_str()).map_err(storage)?.is_some_and(|v| v.value() == *seq)
                    {
                        keys.remove(skey.as_str()).map_err(storage)?;
                    }
                    bodies.remove(*seq).map_err(storage)?;
                    index.remove(index_key.as_str()).map_err(storage)?;
                }
                Op::Admin { change: Change::Retry(sel), scope, .. } => {
                    admin.push(super::revive(&mut entries, &scope.selects(sel))?);
                }
                Op::Admin { change: Change::Drop(sel), scope, .. } => {
                    admin.push(super::remove(&mut entries, &mut bodies, &mut index, &scope.selects(sel))?);
                }
                Op::Flush { .. } | Op::Shutdown { .. } => {}
            }
        }
        counters.insert("next_seq", next_seq).map_err(storage)?;
        counters.insert("next_inbox", next_inbox).map_err(storage)?;
    }
    txn.commit().map_err(storage)?;
    Ok(Applied { inserted, admitted, superseded, admin })
}
