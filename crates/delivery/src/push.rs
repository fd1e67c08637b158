//! [`Delivery`]: the running push service (outbox + workers of all targets).
//!
//! [`Delivery::open`] builds it bottom up, each part getting what it needs
//! at construction: the outbox (opened and tidied), the writer's queue, the
//! workers (holding that queue), the writer thread (told to report commits
//! to the workers), then the `Delivery` handle. Nothing reaches back up.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, watch};

use crate::config::{ConfigError, TargetConfig};
use crate::outbox::writer::{self, Ack, Change, Op, Scope};
use crate::outbox::{self, Entry, EntryState, OutboxError, Outgoing, Selector};
use crate::policy::{PolicyError, PolicyRule, check_report};
use crate::worker::{Counters, Runner, Shared};
use wasmpush_model::method::Method;

/// An [`Outgoing`] that passed [`Delivery::check`] (its reporter exists,
/// its id is a usable `webhook-id`, it keeps the request policy and its
/// method is allowed). It lives here, not in [`crate::outbox`], because
/// what it certifies depends on this instance's reporters; the outbox
/// stores the plain [`Outgoing`]. Only `check` makes one, so
/// [`Delivery::enqueue_consuming`] stores it without checking again: the
/// caller checks each request once, where it decides what to do with a
/// refusal (the host refuses an event's requests for one reporter together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked(Outgoing);

impl Checked {
    /// The checked report.
    pub fn outgoing(&self) -> &Outgoing {
        &self.0
    }
}

/// Errors of the delivery service.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// A reporter's push options are invalid.
    #[error("reporter `{target}`: {source}")]
    Config {
        /// Reporter name.
        target: String,
        /// Which option and why.
        #[source]
        source: ConfigError,
    },
    /// The HTTP client could not be built (TLS material rejected).
    #[error("reporter `{target}`: cannot build the HTTP client: {message}")]
    Client {
        /// Reporter name.
        target: String,
        /// Why (secrets redacted).
        message: String,
    },
    /// Two reporters share a name.
    #[error("two reporters are named `{0}`")]
    DuplicateTarget(String),
    /// `Outgoing::target` names no configured reporter.
    #[error("no reporter named `{0}` is configured")]
    UnknownTarget(String),
    /// The report breaks the request policy; nothing was stored or sent.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The report id cannot be a `webhook-id`.
    #[error("report id {0:?} is not a usable webhook-id (1 to 256 printable ASCII characters, no spaces)")]
    InvalidId(String),
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The outbox writer thread could not be started.
    #[error("cannot start the outbox writer thread: {0}")]
    Thread(std::io::Error),
}

/// Counters for tests, benchmarks and status output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// New reports accepted into the outbox by this instance.
    pub enqueued: u64,
    /// Enqueues ignored because the same target + id was already there.
    pub duplicates: u64,
    /// Reports delivered (2xx).
    pub sent: u64,
    /// Failed attempts that were scheduled for a retry.
    pub retried: u64,
    /// Reports moved to the dead-letter list.
    pub dead: u64,
    /// Reports replaced by a later one with the same supersede key.
    pub superseded: u64,
    /// Reports pending in this instance (including ones reloaded at open).
    pub pending: u64,
}

/// One reporter's counters (see [`Delivery::target_stats`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TargetStats {
    /// Reporter name.
    pub reporter: String,
    /// Reports stored in the outbox by this instance.
    pub enqueued: u64,
    /// Reports delivered (2xx).
    pub sent: u64,
    /// Failed attempts scheduled for a retry.
    pub retried: u64,
    /// Reports moved to the dead-letter list.
    pub dead: u64,
    /// Reports replaced by a later one with the same supersede key.
    pub superseded: u64,
    /// Attempts by outcome: 2xx, 3xx, 4xx, 5xx, no response (connection
    /// error or timeout).
    pub attempts_by_class: [u64; 5],
    /// Sum over delivered reports of the time from enqueue to the 2xx, ms.
    pub latency_ms_sum: u64,
    /// Enqueue → 2xx of delivered reports, by bucket.
    pub latency: wasmpush_model::histogram::Snapshot,
    /// The last failed attempt's error (redacted).
    pub last_error: Option<String>,
}

/// The push service. See the crate docs for the guarantees.
pub struct Delivery {
    /// The workers' state; it owns the database handle with the writer.
    shared: Arc<Shared>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Set by the writer on the first failed commit (see [`Delivery::storage_failed`]).
    failed: watch::Sender<Option<String>>,
}

/// An event on its way into the inbox: [`Admitting::committed`] resolves
/// once it is on disk. Admissions resolve in the order they were made.
pub struct Admitting(tokio::sync::oneshot::Receiver<Result<u64, OutboxError>>);

impl Admitting {
    /// The event's inbox seq once committed (fsync'd), or why it was not.
    pub async fn committed(self) -> Result<u64, DeliveryError> {
        Ok(self.0.await.map_err(|_| OutboxError::Closed)??)
    }
}

fn check_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 256 && id.bytes().all(|b| (0x21..0x7f).contains(&b))
}

impl Delivery {
    /// Opens (or creates) the outbox at `outbox_path`, resolves every
    /// target's secrets and TLS files, builds one keep-alive HTTP client per
    /// target, and starts delivering everything pending in the outbox.
    /// Pending entries whose target is not configured stay in the outbox
    /// (a warning names the target). Must be called inside a Tokio runtime.
    pub async fn open(outbox_path: &Path, targets: Vec<(String, TargetConfig)>) -> Result<Delivery, DeliveryError> {
        Delivery::open_inner(outbox_path, targets, None).await
    }

    /// [`Delivery::open`] on storage whose writes fail while `faults` says
    /// so: for testing what a full disk does.
    pub async fn open_with_faults(
        outbox_path: &Path,
        targets: Vec<(String, TargetConfig)>,
        faults: crate::faults::StorageFaults,
    ) -> Result<Delivery, DeliveryError> {
        Delivery::open_inner(outbox_path, targets, Some(faults)).await
    }

    async fn open_inner(
        outbox_path: &Path,
        targets: Vec<(String, TargetConfig)>,
        faults: Option<crate::faults::StorageFaults>,
    ) -> Result<Delivery, DeliveryError> {
        let mut resolved = Vec::new();
        for (name, cfg) in targets {
            let target = cfg.resolve().map_err(|source| DeliveryError::Config { target: name.clone(), source })?;
            resolved.push((name, target));
        }
        let all_secrets = crate::secrets::Redactor::union(resolved.iter().map(|(_, t)| &t.redactor));
        let mut runners = HashMap::new();
        for (name, mut target) in resolved {
            target.redactor = all_secrets.clone();
            let client = crate::client::build_client(&target)
                .map_err(|message| DeliveryError::Client { target: name.clone(), message })?;
            let permits = Semaphore::new(target.concurrency);
            let runner = Runner {
                stats: Default::default(),
                name: name.clone(),
                target,
                client,
                permits,
                queues: Mutex::default(),
                wake: tokio::sync::Notify::new(),
            };
            if runners.insert(name.clone(), Arc::new(runner)).is_some() {
                return Err(DeliveryError::DuplicateTarget(name));
            }
        }
        // 1. The outbox, opened and tidied before any writer runs on it.
        let path = outbox_path.to_owned();
        let (db, entries) = tokio::task::spawn_blocking(move || outbox::open_for_delivery(&path, faults.as_ref()))
            .await
            .map_err(|e| OutboxError::Storage(format!("outbox open task failed: {e}")))??;
        let db = Arc::new(db);

        // 2. The writer's queue; 3. the workers, which send it their
        // updates; 4. the writer thread, which tells the workers about each
        // commit before acknowledging it (so an acknowledged enqueue is
        // already queued on its worker).
        let (writer_queue, writer_ops) = writer::queue();
        let shared = Arc::new(Shared {
            db: Arc::clone(&db),
            writer: writer_queue,
            counters: Counters::default(),
            shutdown: watch::channel(false).0,
            runners,
            handle: tokio::runtime::Handle::current(),
            recent: Default::default(),
        });
        let workers = Arc::clone(&shared);
        let listener: writer::Listener = Box::new(move |seq, meta| workers.committed(seq, meta));
        let failed = watch::channel(None).0;
        let writer_handle = writer::spawn(db, writer_ops, listener, failed.clone()).map_err(DeliveryError::Thread)?;

        let mut orphans: HashMap<String, usize> = HashMap::new();
        for (seq, meta) in entries.iter().filter(|(_, m)| m.state == EntryState::Pending) {
            if shared.dispatch(*seq, meta) {
                shared.counters.pending.fetch_add(1, Ordering::Relaxed);
            } else {
                *orphans.entry(meta.target.clone()).or_default() += 1;
            }
        }
        for (target, n) in orphans {
            tracing::warn!(reporter = %target, pending = n, "outbox holds reports for a reporter that is not configured; they stay in the outbox");
        }
        Ok(Delivery { shared, writer: Mutex::new(Some(writer_handle)), failed })
    }

    /// Checks `o` against this instance's reporters and the request policy;
    /// a [`Checked`] report can be stored by [`Delivery::enqueue_consuming`].
    pub fn check(&self, o: Outgoing) -> Result<Checked, DeliveryError> {
        self.validate(&o)?;
        Ok(Checked(o))
    }

    fn validate(&self, o: &Outgoing) -> Result<(), DeliveryError> {
        if !self.shared.runners.contains_key(&o.target) {
            return Err(DeliveryError::UnknownTarget(o.target.clone()));
        }
        if !check_id(&o.id) {
            return Err(DeliveryError::InvalidId(o.id.clone()));
        }
        check_report(&o.generator, &o.content_type, &o.headers, o.path.as_deref())?;
        self.check_method(&o.target, &o.generator, o.method)?;
        Ok(())
    }

    /// Whether `target` allows `method` (its `methods`, default `["POST"]`).
    pub fn check_method(&self, target: &str, generator: &str, method: Method) -> Result<(), DeliveryError> {
        let Some(runner) = self.shared.runners.get(target) else {
            return Err(DeliveryError::UnknownTarget(target.to_string()));
        };
        if runner.target.methods.contains(&method) {
            return Ok(());
        }
        let allowed = runner.target.methods.iter().map(|m| m.as_str().to_string()).collect();
        Err(DeliveryError::Policy(PolicyError {
            generator: generator.to_string(),
            rule: PolicyRule::MethodNotAllowed { method: method.to_string(), allowed },
        }))
    }

    fn account(&self, items: usize, inserted: usize) {
        let c = &self.shared.counters;
        c.enqueued.fetch_add(inserted as u64, Ordering::Relaxed);
        c.pending.fetch_add(inserted as u64, Ordering::Relaxed);
        c.duplicates.fetch_add((items - inserted) as u64, Ordering::Relaxed);
    }

    /// Stores one report durably (fsync'd redb commit) and queues it.
    /// Returns only once it is on disk. The same target + id again is a
    /// no-op while the first is in the outbox. A report that breaks the
    /// request policy is refused and nothing is stored.
    ///
    /// Blocks the calling thread for one commit (concurrent callers share
    /// it: group commit). From async code prefer [`Delivery::enqueue_async`].
    pub fn enqueue(&self, o: Outgoing) -> Result<(), DeliveryError> {
        self.enqueue_batch(vec![o]).map(|_| ())
    }

    /// Like [`Delivery::enqueue`] for many reports in one commit; all or
    /// nothing (the first invalid report refuses the batch). Returns how
    /// many were new.
    pub fn enqueue_batch(&self, items: Vec<Outgoing>) -> Result<usize, DeliveryError> {
        let checked = items.into_iter().map(|o| self.check(o)).collect::<Result<Vec<_>, _>>()?;
        self.enqueue_consuming(checked, Vec::new())
    }

    /// Like [`Delivery::enqueue_batch`] for reports already checked by
    /// [`Delivery::check`] (not checked again), and deletes the inbox rows
    /// `consumed` (the events these reports came from, see
    /// [`Delivery::admit`]) in the same transaction: an event leaves the
    /// inbox exactly when its reports are durable. `items` may be empty (the
    /// events produced nothing).
    pub fn enqueue_consuming(&self, items: Vec<Checked>, consumed: Vec<u64>) -> Result<usize, DeliveryError> {
        let items: Vec<Outgoing> = items.into_iter().map(|c| c.0).collect();
        let n = items.len();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.shared
            .writer
            .send(Op::Enqueue { items, consumed, ack: Ack::Sync(tx) })
            .map_err(|_| OutboxError::Closed)?;
        let inserted = rx.recv().map_err(|_| OutboxError::Closed)??;
        self.account(n, inserted);
        Ok(inserted)
    }

    /// Async [`Delivery::enqueue_batch`]: resolves once the batch is on disk.
    pub async fn enqueue_async(&self, items: Vec<Outgoing>) -> Result<usize, DeliveryError> {
        for o in &items {
            self.validate(o)?;
        }
        let n = items.len();
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.shared
            .writer
            .send(Op::Enqueue { items, consumed: Vec::new(), ack: Ack::Async(tx) })
            .map_err(|_| OutboxError::Closed)?;
        let inserted = rx.await.map_err(|_| OutboxError::Closed)??;
        self.account(n, inserted);
        Ok(inserted)
    }

    /// Stores an accepted event (opaque bytes) in the inbox, in the next
    /// group commit. Only once [`Admitting::committed`] resolves may the
    /// event be acknowledged to its source. Queues it now (so admissions
    /// commit in call order) and never blocks.
    pub fn admit(&self, event: Vec<u8>) -> Admitting {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if let Err(std::sync::mpsc::SendError(Op::Admit { ack, .. })) =
            self.shared.writer.send(Op::Admit { event, ack: tx })
        {
            let _ = ack.send(Err(OutboxError::Closed));
        }
        Admitting(rx)
    }

    /// Every event still in the inbox (accepted, not yet generated), oldest
    /// first: after a crash, the events to generate again.
    pub fn inbox(&self) -> Result<Vec<(u64, Vec<u8>)>, DeliveryError> {
        Ok(outbox::load_inbox(&self.shared.db)?)
    }

    /// The first failed commit's reason, if any: from then on every change
    /// is refused until the outbox is reopened (readiness checks read it).
    pub fn storage_fault(&self) -> Option<String> {
        self.failed.borrow().clone()
    }

    /// Resolves when a commit has failed (disk full, I/O error), with the
    /// reason. From then on every change is refused: the outbox must be
    /// reopened, so the caller should stop the process with a non-zero exit.
    pub async fn storage_failed(&self) -> String {
        let mut rx = self.failed.subscribe();
        let reason = rx.wait_for(Option::is_some).await.map(|r| r.clone().unwrap_or_default());
        match reason {
            Ok(reason) => reason,
            Err(_) => std::future::pending().await,
        }
    }

    /// Waits until nothing is due: no request in flight and every pending
    /// report is waiting for a future retry (or the outbox is empty); then
    /// commits every status change durably, so [`Delivery::entries`] and the
    /// file reflect all outcomes. Returns false if `timeout` passed first.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let end = tokio::time::Instant::now() + timeout;
        loop {
            if self.shared.counters.busy.load(Ordering::SeqCst) == 0 {
                let (tx, rx) = tokio::sync::oneshot::channel();
                if self.shared.writer.send(Op::Flush { ack: Ack::Async(tx) }).is_ok() {
                    let _ = tokio::time::timeout_at(end, rx).await;
                }
                return true;
            }
            if tokio::time::Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Current counters.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        Stats {
            enqueued: c.enqueued.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            sent: c.sent.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            dead: c.dead.load(Ordering::Relaxed),
            superseded: c.superseded.load(Ordering::Relaxed),
            pending: c.pending.load(Ordering::Relaxed),
        }
    }

    /// Per-reporter counters since this instance opened, by reporter name.
    pub fn target_stats(&self) -> Vec<TargetStats> {
        let mut all: Vec<TargetStats> = self
            .shared
            .runners
            .values()
            .map(|r| {
                let l = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
                TargetStats {
                    reporter: r.name.clone(),
                    enqueued: l(&r.stats.enqueued),
                    sent: l(&r.stats.sent),
                    retried: l(&r.stats.retried),
                    dead: l(&r.stats.dead),
                    superseded: l(&r.stats.superseded),
                    attempts_by_class: std::array::from_fn(|i| l(&r.stats.by_class[i])),
                    latency_ms_sum: l(&r.stats.latency_ms_sum),
                    latency: r.stats.latency.snapshot(),
                    last_error: r.stats.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
                }
            })
            .collect();
        all.sort_by(|a, b| a.reporter.cmp(&b.reporter));
        all
    }

    /// The outbox content (pending and dead), FIFO order. Status changes are
    /// committed asynchronously, so a just-finished attempt may show a moment
    /// later.
    pub fn entries(&self) -> Result<Vec<Entry>, DeliveryError> {
        Ok(outbox::load_all(&self.shared.db)?.iter().map(|(s, m)| Entry::from_meta(*s, m)).collect())
    }

    /// The last finished attempts (at most [`crate::activity::RECENT`]),
    /// newest first.
    pub fn recent(&self) -> Vec<crate::Attempted> {
        self.shared.recent.newest_first()
    }

    /// Every entry with this `webhook-id`, with its body (admin API).
    pub fn show(&self, id: &str) -> Result<Vec<outbox::Detail>, DeliveryError> {
        Ok(outbox::find(&self.shared.db, id)?)
    }

    /// When the oldest pending report was enqueued; `None` when nothing is
    /// pending. Reads the outbox (a scrape-time probe, not for the data path).
    pub fn oldest_pending(&self) -> Result<Option<std::time::SystemTime>, DeliveryError> {
        Ok(outbox::oldest_pending(&self.shared.db)?)
    }

    /// Running-instance `outbox retry`: selected **dead** entries become
    /// pending and are delivered now. Returns how many. The change goes
    /// through the writer thread (one durable commit) like every other.
    pub fn retry_dead(&self, sel: &Selector) -> Result<usize, DeliveryError> {
        let changed = self.admin(Change::Retry(sel.clone()))?;
        for (seq, meta) in &changed {
            self.shared.counters.pending.fetch_add(1, Ordering::Relaxed);
            self.shared.dispatch(*seq, meta);
        }
        Ok(changed.len())
    }

    /// Running-instance `outbox drop`: deletes selected **dead** entries,
    /// through the writer thread. Returns how many.
    pub fn drop_dead(&self, sel: &Selector) -> Result<usize, DeliveryError> {
        Ok(self.admin(Change::Drop(sel.clone()))?.len())
    }

    /// Sends an admin change to the writer; answers the entries changed
    /// once it is committed. Blocks the calling thread for that commit.
    fn admin(&self, change: Change) -> Result<Vec<(u64, outbox::Meta)>, OutboxError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.shared.writer.send(Op::Admin { change, scope: Scope::Dead, ack: tx }).map_err(|_| OutboxError::Closed)?;
        rx.recv().map_err(|_| OutboxError::Closed)?
    }

    /// Stops the workers (an interrupted request leaves its report pending;
    /// it is re-sent with the same `webhook-id` after the next open),
    /// commits durably and closes the outbox file. When this returns, the
    /// same outbox can be opened again.
    pub async fn shutdown(self) {
        self.stop();
        let handle = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        let end = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.shared.counters.workers.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // The file closes with the last reference to the workers' state
        // (it owns the database handle; the writer's went with its thread):
        // a worker task drops its own just after leaving the count above.
        while Arc::strong_count(&self.shared) > 1 && tokio::time::Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        std::mem::drop(self);
    }

    fn stop(&self) {
        if !*self.shared.shutdown.borrow() {
            self.shared.shutdown.send_replace(true);
            let (tx, _rx) = std::sync::mpsc::sync_channel(1);
            let _ = self.shared.writer.send(Op::Shutdown { ack: tx });
        }
    }
}

impl Drop for Delivery {
    /// Dropping without [`Delivery::shutdown`] still stops the workers and
    /// the writer (asynchronously).
    fn drop(&mut self) {
        self.stop();
    }
}
