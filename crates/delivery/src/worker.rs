//! Per-target delivery: one FIFO queue per ordering key, one worker task per
//! non-empty queue, at most `concurrency` requests in flight per target.
//!
//! A key's worker handles its queue head until it is delivered or dead, so
//! reports with the same key arrive in order. While the head waits for a
//! retry, the worker holds no permit: other keys and other targets go on.
//! Nor does it hold the body: it is read from the outbox once the worker has
//! a permit, just before each attempt, and dropped after it, so memory does
//! not grow with the number of reports waiting for a target that is down.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redb::Database;
use tokio::sync::{Semaphore, watch};
use wasmpush_model::histogram::{Histogram, LATENCY_BOUNDS};

use crate::activity::{Attempted, Outcome, Recent};
use crate::client::{Attempt, attempt};
use crate::outbox::writer::Op;
use crate::outbox::{EntryState, Meta, load_body, load_meta, now_ms};
use crate::resolve::ResolvedTarget;

/// Counters behind [`crate::Stats`].
#[derive(Default)]
pub(crate) struct Counters {
    pub enqueued: AtomicU64,
    pub duplicates: AtomicU64,
    pub sent: AtomicU64,
    pub retried: AtomicU64,
    pub dead: AtomicU64,
    pub superseded: AtomicU64,
    pub pending: AtomicU64,
    /// Key workers not sleeping (due work exists or a request is in flight).
    pub busy: AtomicUsize,
    /// Key worker tasks alive.
    pub workers: AtomicUsize,
}

/// Everything the workers of all targets share.
pub(crate) struct Shared {
    pub db: Arc<Database>,
    pub writer: Sender<Op>,
    pub counters: Counters,
    pub shutdown: watch::Sender<bool>,
    pub runners: HashMap<String, Arc<Runner>>,
    pub handle: tokio::runtime::Handle,
    /// The last finished attempts, for the status page.
    pub recent: Recent,
}

/// What happened to one target's reports (see [`crate::TargetStats`]).
pub(crate) struct TargetCounters {
    pub enqueued: AtomicU64,
    pub sent: AtomicU64,
    pub retried: AtomicU64,
    pub dead: AtomicU64,
    pub superseded: AtomicU64,
    /// Attempts by status class: 2xx, 3xx, 4xx, 5xx, none (no response).
    pub by_class: [AtomicU64; 5],
    /// Sum of delivered reports' time from enqueue to 2xx, in ms.
    pub latency_ms_sum: AtomicU64,
    /// Enqueue → 2xx of delivered reports.
    pub latency: Histogram,
    pub last_error: Mutex<Option<String>>,
}

impl Default for TargetCounters {
    fn default() -> TargetCounters {
        TargetCounters {
            enqueued: AtomicU64::default(),
            sent: AtomicU64::default(),
            retried: AtomicU64::default(),
            dead: AtomicU64::default(),
            superseded: AtomicU64::default(),
            by_class: Default::default(),
            latency_ms_sum: AtomicU64::default(),
            latency: Histogram::new(LATENCY_BOUNDS),
            last_error: Mutex::default(),
        }
    }
}

/// One target: its resolved options, HTTP client and key queues.
pub(crate) struct Runner {
    pub stats: TargetCounters,
    pub name: String,
    pub target: ResolvedTarget,
    pub client: reqwest::Client,
    pub permits: Semaphore,
    /// A key is present exactly while a worker task serves it.
    pub queues: Mutex<HashMap<String, VecDeque<u64>>>,
    /// Wakes this target's waiting workers when one of its entries was
    /// superseded (it may be the one a worker waits to retry).
    pub wake: tokio::sync::Notify,
}

impl Shared {
    /// The writer's [`crate::outbox::writer::Listener`]: an entry a commit
    /// made pending (counted as enqueued for its reporter) or superseded
    /// (its waiting worker is woken).
    pub(crate) fn committed(self: &Arc<Self>, seq: u64, meta: &Meta) {
        if meta.state == EntryState::Pending
            && let Some(runner) = self.runners.get(&meta.target)
        {
            runner.stats.enqueued.fetch_add(1, Ordering::Relaxed);
        }
        self.dispatch(seq, meta);
    }

    /// Queues a pending entry on its target; starts the key's worker if
    /// none runs. Entries of unknown targets are left in the outbox.
    pub(crate) fn dispatch(self: &Arc<Self>, seq: u64, meta: &Meta) -> bool {
        let Some(runner) = self.runners.get(&meta.target) else {
            return false;
        };
        if meta.state == EntryState::Superseded {
            runner.wake.notify_waiters();
            return true;
        }
        let mut queues = runner.queues.lock().unwrap_or_else(|p| p.into_inner());
        match queues.get_mut(&meta.ordering_key) {
            Some(q) => q.push_back(seq),
            None => {
                queues.insert(meta.ordering_key.clone(), VecDeque::from([seq]));
                self.counters.workers.fetch_add(1, Ordering::SeqCst);
                self.counters.busy.fetch_add(1, Ordering::SeqCst);
                let (shared, runner, key) = (Arc::clone(self), Arc::clone(runner), meta.ordering_key.clone());
                self.handle.spawn(async move { key_worker(shared, runner, key).await });
            }
        }
        true
    }
}

/// Keeps `busy`/`workers` right however the worker ends (shutdown included).
struct Presence<'a> {
    c: &'a Counters,
    busy: bool,
}

impl Presence<'_> {
    fn set_busy(&mut self, b: bool) {
        if b != self.busy {
            if b {
                self.c.busy.fetch_add(1, Ordering::SeqCst);
            } else {
                self.c.busy.fetch_sub(1, Ordering::SeqCst);
            }
            self.busy = b;
        }
    }
}

impl Drop for Presence<'_> {
    fn drop(&mut self) {
        self.set_busy(false);
        self.c.workers.fetch_sub(1, Ordering::SeqCst);
    }
}

fn pop_head(runner: &Runner, key: &str) {
    let mut queues = runner.queues.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(q) = queues.get_mut(key) {
        q.pop_front();
    }
}

/// Sleeps for `d` unless shutdown comes first; returns false on shutdown.
async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => true,
        _ = stop.wait_for(|v| *v) => false,
    }
}

/// Whether entry `seq` was superseded meanwhile (read from the outbox).
fn is_superseded(shared: &Shared, seq: u64) -> bool {
    matches!(load_meta(&shared.db, seq), Ok(Some(m)) if m.state == EntryState::Superseded)
}

/// Counts an entry found superseded: it leaves the pending count.
fn superseded(shared: &Shared, runner: &Runner, meta: &Meta) {
    tracing::info!(reporter = %runner.name, id = %meta.id, "report superseded before delivery; not sent");
    shared.counters.superseded.fetch_add(1, Ordering::Relaxed);
    shared.counters.pending.fetch_sub(1, Ordering::Relaxed);
    runner.stats.superseded.fetch_add(1, Ordering::Relaxed);
}

async fn key_worker(shared: Arc<Shared>, runner: Arc<Runner>, key: String) {
    let c = &shared.counters;
    let mut presence = Presence { c, busy: true };
    let mut stop = shared.shutdown.subscribe();
    loop {
        let head = {
            let mut queues = runner.queues.lock().unwrap_or_else(|p| p.into_inner());
            match queues.get(&key).and_then(|q| q.front().copied()) {
                Some(seq) => seq,
                None => {
                    queues.remove(&key);
                    return;
                }
            }
        };
        if *stop.borrow() {
            return;
        }
        let mut meta = match load_meta(&shared.db, head) {
            Ok(Some(found)) => found,
            Ok(None) => {
                pop_head(&runner, &key); // dropped by an admin action
                continue;
            }
            Err(e) => {
                tracing::error!(reporter = %runner.name, seq = head, error = %e, "cannot read outbox entry; will try again");
                presence.set_busy(false);
                if !pause(&mut stop, Duration::from_secs(1)).await {
                    return;
                }
                presence.set_busy(true);
                continue;
            }
        };
        match meta.state {
            EntryState::Pending => {}
            EntryState::Dead => {
                pop_head(&runner, &key);
                continue;
            }
            EntryState::Superseded => {
                superseded(&shared, &runner, &meta);
                pop_head(&runner, &key);
                continue;
            }
        }
        if !deliver(&shared, &runner, &mut presence, &mut stop, head, &mut meta).await {
            return;
        }
        pop_head(&runner, &key);
    }
}

/// Attempts `meta` until it is delivered, dead or gone (dropped by an admin
/// action meanwhile). Returns false on shutdown (the entry stays pending in
/// the outbox).
async fn deliver(
    shared: &Shared,
    runner: &Runner,
    presence: &mut Presence<'_>,
    stop: &mut watch::Receiver<bool>,
    seq: u64,
    meta: &mut Meta,
) -> bool {
    let c = &shared.counters;
    loop {
        let now = now_ms();
        if meta.next_attempt_at_ms > now {
            // Waiting for a retry: a later report with the same supersede key
            // ends the wait (and this entry) early.
            let woken = runner.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if meta.supersede.is_some() && is_superseded(shared, seq) {
                superseded(shared, runner, meta);
                return true;
            }
            presence.set_busy(false);
            let wait = Duration::from_millis(meta.next_attempt_at_ms - now);
            let go_on = tokio::select! {
                go_on = pause(stop, wait) => go_on,
                () = woken => true,
            };
            if !go_on {
                return false;
            }
            presence.set_busy(true);
            continue;
        }
        if meta.supersede.is_some() && is_superseded(shared, seq) {
            superseded(shared, runner, meta);
            return true;
        }
        // The body is read only with a permit held and dropped with it: the
        // workers waiting for a permit or a retry hold none.
        let outcome = tokio::select! {
            out = async {
                let _permit = runner.permits.acquire().await;
                match load_body(&shared.db, seq) {
                    Ok(Some(body)) if meta.fill => match crate::outbox::memory::fill(&shared.db, meta, body) {
                        Ok(Ok((filled, body))) => {
                            Ok(Some(attempt(&runner.client, &runner.target, &runner.name, &filled, &body).await))
                        }
                        Ok(Err(missing)) => Ok(Some(Attempt::Permanent { error: missing, status: None })),
                        Err(e) => Err(e),
                    },
                    Ok(Some(body)) => Ok(Some(attempt(&runner.client, &runner.target, &runner.name, meta, &body).await)),
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                }
            } => out,
            _ = stop.wait_for(|v| *v) => return false,
        };
        let outcome = match outcome {
            Ok(Some(outcome)) => outcome,
            Ok(None) => return true, // dropped by an admin action
            Err(e) => {
                tracing::error!(reporter = %runner.name, seq, error = %e, "cannot read outbox entry; will try again");
                presence.set_busy(false);
                if !pause(stop, Duration::from_secs(1)).await {
                    return false;
                }
                presence.set_busy(true);
                continue;
            }
        };
        meta.attempts += 1;
        let class = match &outcome {
            Attempt::Delivered { status, .. } => usize::from(status / 100).clamp(2, 5) - 2,
            Attempt::Retry { status: Some(s), .. } | Attempt::Permanent { status: Some(s), .. } => {
                usize::from(s / 100).clamp(2, 5) - 2
            }
            _ => 4,
        };
        runner.stats.by_class[class].fetch_add(1, Ordering::Relaxed);
        let status = match &outcome {
            Attempt::Delivered { status, .. } => Some(*status),
            Attempt::Retry { status, .. } | Attempt::Permanent { status, .. } => *status,
        };
        let record = |outcome: Outcome| {
            shared.recent.record(Attempted {
                at: std::time::SystemTime::now(),
                reporter: runner.name.clone(),
                id: meta.id.clone(),
                ordering_key: meta.ordering_key.clone(),
                generator: meta.generator.clone(),
                status,
                latency: Duration::from_millis(now_ms().saturating_sub(meta.enqueued_at_ms)),
                outcome,
            })
        };
        let (error, retry_after) = match outcome {
            Attempt::Delivered { status, kept } => {
                runner.stats.sent.fetch_add(1, Ordering::Relaxed);
                let waited = now_ms().saturating_sub(meta.enqueued_at_ms);
                runner.stats.latency_ms_sum.fetch_add(waited, Ordering::Relaxed);
                runner.stats.latency.observe(Duration::from_millis(waited));
                record(Outcome::Delivered);
                tracing::debug!(reporter = %runner.name, id = %meta.id, status, attempts = meta.attempts, "report delivered");
                let kept = (!kept.is_empty()).then(|| {
                    Box::new(crate::outbox::memory::Kept {
                        key: crate::outbox::index_key(&meta.target, &meta.ordering_key),
                        values: kept,
                    })
                });
                let fills_later = kept.is_some();
                let _ = shared.writer.send(Op::Remove { seq, index_key: meta.index_key(), kept });
                if fills_later {
                    // The next request of this key may fill from these
                    // values (create, then update): it must find them
                    // committed, so wait for the writer's commit.
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    if shared.writer.send(Op::Flush { ack: crate::outbox::writer::Ack::Async(tx) }).is_ok() {
                        let _ = rx.await;
                    }
                }
                c.sent.fetch_add(1, Ordering::Relaxed);
                c.pending.fetch_sub(1, Ordering::Relaxed);
                return true;
            }
            Attempt::Retry { error, retry_after, .. } => (error, retry_after),
            Attempt::Permanent { error, .. } => {
                record(Outcome::Dead);
                bury(shared, runner, seq, meta, format!("not retryable: {error}"));
                return true;
            }
        };
        match runner.target.retry.next_delay(meta.attempts, retry_after) {
            Some(delay) => {
                record(Outcome::Retry);
                tracing::warn!(reporter = %runner.name, id = %meta.id, attempt = meta.attempts, %error,
                    "delivery failed; retrying in {delay:?}");
                meta.next_attempt_at_ms = now_ms().saturating_add(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
                *runner.stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.clone());
                meta.last_error = Some(error);
                let _ = shared.writer.send(Op::Update { seq, meta: Box::new(meta.clone()) });
                c.retried.fetch_add(1, Ordering::Relaxed);
                runner.stats.retried.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                record(Outcome::Dead);
                bury(
                    shared,
                    runner,
                    seq,
                    meta,
                    format!(
                        "gave up after {} attempt{}: {error}",
                        meta.attempts,
                        if meta.attempts == 1 { "" } else { "s" }
                    ),
                );
                return true;
            }
        }
    }
}

/// Moves an entry to the dead-letter list.
fn bury(shared: &Shared, runner: &Runner, seq: u64, meta: &mut Meta, error: String) {
    tracing::error!(reporter = %runner.name, id = %meta.id, generator = %meta.generator,
        attempts = meta.attempts, %error, "report moved to the dead-letter list");
    meta.state = EntryState::Dead;
    runner.stats.dead.fetch_add(1, Ordering::Relaxed);
    *runner.stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.clone());
    meta.last_error = Some(error);
    let _ = shared.writer.send(Op::Update { seq, meta: Box::new(meta.clone()) });
    shared.counters.dead.fetch_add(1, Ordering::Relaxed);
    shared.counters.pending.fetch_sub(1, Ordering::Relaxed);
}
