//! From events to the outbox: run the pipeline on worker threads, keeping
//! each build request's events in order, and enqueue every accepted report.
//!
//! Generation is CPU-bound and synchronous (wasmtime's sync API), so it runs
//! on plain threads. An event goes to the worker chosen by its ordering key,
//! so two events of one build request are generated and enqueued in arrival
//! order, while other builds proceed on other workers. Each event takes a
//! snapshot of the current pipeline when its generation starts, so a hot
//! reload never changes generators under an event already in progress
//! (events in flight drain on the old version). A report is checked
//! against the request policy (no credential headers, no CR/LF, no path
//! escape) before it is enqueued; a refused report is logged with the
//! generator and the rule, and never sent.
//!
//! Group commit, bounded: a worker takes what is queued (at most [`BATCH`]
//! events) and stops taking more once `commit_delay` has passed since it
//! started the batch, then stores every report of the batch in one durable
//! commit, which also deletes the batch's events from the inbox. An idle
//! worker commits at once; the bound only caps a growing batch, so a slow
//! generator on one event delays another event's reports by at most
//! `commit_delay` plus that one generation.

use crate::pipeline::Pipeline;
use arc_swap::ArcSwap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use wasmpush_delivery::{Checked, Delivery, Outgoing};
use wasmpush_sources::{EventKind, SourceEvent};

/// Counters of what happened to events and reports.
#[derive(Debug, Default)]
pub struct DispatchStats {
    pub events: AtomicU64,
    /// Events by kind, in [`EventKind::ALL`] order.
    pub events_by_kind: [AtomicU64; EventKind::ALL.len()],
    pub reports: AtomicU64,
    pub generator_failures: AtomicU64,
    pub refused: AtomicU64,
    pub enqueue_failures: AtomicU64,
}

impl DispatchStats {
    /// (events, reports enqueued, generator failures, refused by policy, enqueue failures)
    pub fn snapshot(&self) -> (u64, u64, u64, u64, u64) {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        (l(&self.events), l(&self.reports), l(&self.generator_failures), l(&self.refused), l(&self.enqueue_failures))
    }
}

/// Default `[runtime] commit_delay`.
pub const DEFAULT_COMMIT_DELAY: Duration = Duration::from_millis(2);

/// An event for a worker, with its inbox row (deleted when its reports are
/// committed) when it came through the inbox.
struct Job {
    event: SourceEvent,
    inbox: Option<u64>,
}

/// A worker thread has died (a panic): events routed to it are not handled.
#[derive(Debug, thiserror::Error)]
#[error("generator worker thread {0} died; events are no longer handled")]
pub struct WorkerDied(pub String);

/// Worker threads turning events into enqueued reports.
pub struct Dispatcher {
    senders: Vec<SyncSender<Job>>,
    handles: Vec<JoinHandle<()>>,
    stats: Arc<DispatchStats>,
    died: tokio::sync::watch::Sender<Option<String>>,
}

/// Publishes the thread's death if it unwinds.
struct Alive(String, tokio::sync::watch::Sender<Option<String>>);

impl Drop for Alive {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.1.send_replace(Some(self.0.clone()));
        }
    }
}

impl Dispatcher {
    /// Starts `workers` threads (at least one) with the default commit delay.
    pub fn start(pipeline: Arc<ArcSwap<Pipeline>>, delivery: Arc<Delivery>, workers: usize) -> Dispatcher {
        Dispatcher::start_bounded(pipeline, delivery, workers, DEFAULT_COMMIT_DELAY, None)
    }

    /// Starts `workers` threads (at least one) committing each batch at most
    /// `commit_delay` after it started (see the module docs). While
    /// `panic_fault` is set, the next event a worker takes makes that worker
    /// panic (tests of what a dead worker does; `None` in production).
    pub fn start_bounded(
        pipeline: Arc<ArcSwap<Pipeline>>,
        delivery: Arc<Delivery>,
        workers: usize,
        commit_delay: Duration,
        panic_fault: Option<Arc<AtomicBool>>,
    ) -> Dispatcher {
        let stats = Arc::new(DispatchStats::default());
        let died = tokio::sync::watch::channel(None).0;
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for i in 0..workers.max(1) {
            let (tx, rx) = sync_channel::<Job>(256);
            let (pipeline, delivery, stats) = (pipeline.clone(), delivery.clone(), stats.clone());
            let fault = panic_fault.clone();
            let injected = move || {
                if fault.as_ref().is_some_and(|f| f.load(Ordering::Relaxed) && f.swap(false, Ordering::SeqCst)) {
                    panic!("injected fault: a generator worker panics");
                }
            };
            let name = format!("wasmpush-gen-{i}");
            let alive = Alive(name.clone(), died.clone());
            let handle = std::thread::Builder::new()
                .name(name)
                .spawn(move || {
                    let _alive = alive;
                    while let Ok(first) = rx.recv() {
                        injected();
                        let started = Instant::now();
                        let mut batch = Batch::default();
                        handle_event(&pipeline.load_full(), &delivery, &stats, first, &mut batch);
                        while batch.events < BATCH && started.elapsed() < commit_delay {
                            let Ok(job) = rx.try_recv() else { break };
                            handle_event(&pipeline.load_full(), &delivery, &stats, job, &mut batch);
                        }
                        store(&delivery, &stats, batch);
                    }
                })
                .expect("spawning a worker thread");
            senders.push(tx);
            handles.push(handle);
        }
        Dispatcher { senders, handles, stats, died }
    }

    /// Resolves with the first worker thread that died.
    pub async fn died(&self) -> WorkerDied {
        let mut rx = self.died.subscribe();
        let name = rx.wait_for(Option::is_some).await.map(|n| n.clone().unwrap_or_default());
        match name {
            Ok(name) => WorkerDied(name),
            Err(_) => std::future::pending().await,
        }
    }

    /// The shared counters.
    pub fn stats(&self) -> Arc<DispatchStats> {
        self.stats.clone()
    }

    /// Queues `event` on the worker that owns its ordering key. Blocks while
    /// that worker's queue is full (back-pressure for replays). For tools
    /// and benches; the service uses [`Dispatcher::route`].
    pub fn submit(&self, event: SourceEvent) {
        if let Err(e) = self.route(event, None) {
            tracing::error!("{e}");
        }
    }

    /// Queues `event` (from inbox row `inbox`, if any) on the worker that
    /// owns its ordering key, blocking while that worker's queue is full.
    /// Fails if that worker has died.
    pub fn route(&self, event: SourceEvent, inbox: Option<u64>) -> Result<(), WorkerDied> {
        let mut h = DefaultHasher::new();
        event.ordering_key().hash(&mut h);
        let i = (h.finish() % self.senders.len() as u64) as usize;
        self.senders[i].send(Job { event, inbox }).map_err(|_| WorkerDied(format!("wasmpush-gen-{i}")))
    }

    /// Waits until every submitted event has been handled. Fails if a
    /// worker died (its queued events were not handled).
    pub fn finish(self) -> Result<Arc<DispatchStats>, WorkerDied> {
        drop(self.senders);
        let mut died = None;
        for (i, h) in self.handles.into_iter().enumerate() {
            if h.join().is_err() {
                died.get_or_insert(WorkerDied(format!("wasmpush-gen-{i}")));
            }
        }
        died.map_or(Ok(self.stats), Err)
    }
}

/// Most events a worker generates before storing their reports together.
const BATCH: usize = 256;

/// What one worker generated since its last commit.
#[derive(Default)]
struct Batch {
    events: usize,
    /// Each report with the id of the event it came from (for errors).
    reports: Vec<(String, Checked)>,
    /// Inbox rows to delete in the commit that stores `reports`.
    consumed: Vec<u64>,
}

fn store(delivery: &Delivery, stats: &DispatchStats, batch: Batch) {
    if batch.reports.is_empty() && batch.consumed.is_empty() {
        return;
    }
    let n = batch.reports.len() as u64;
    let (events, items): (Vec<String>, Vec<Checked>) = batch.reports.into_iter().unzip();
    match delivery.enqueue_consuming(items, batch.consumed) {
        Ok(_) => {
            stats.reports.fetch_add(n, Ordering::Relaxed);
        }
        Err(e) => {
            // The events stay in the inbox (the commit that would delete
            // them failed), so a restart generates them again.
            tracing::error!(events = %events.join(","), "could not store {n} report(s) in the outbox: {e}");
            stats.enqueue_failures.fetch_add(n.max(1), Ordering::Relaxed);
        }
    }
}

fn handle_event(pipeline: &Pipeline, delivery: &Delivery, stats: &DispatchStats, job: Job, batch: &mut Batch) {
    let Job { event, inbox } = job;
    let event = &event;
    batch.events += 1;
    batch.consumed.extend(inbox);
    stats.events.fetch_add(1, Ordering::Relaxed);
    if let Some(i) = EventKind::ALL.iter().position(|k| *k == event.kind) {
        stats.events_by_kind[i].fetch_add(1, Ordering::Relaxed);
    }
    let outcome = pipeline.handle(event);
    stats.generator_failures.fetch_add(outcome.failures.len() as u64, Ordering::Relaxed);
    // A reporter's requests for one event are checked one by one and stored
    // all or none: one refused request refuses the event's others too.
    if outcome.produced.is_empty() {
        return;
    }
    let event_id = event.event_id();
    let mut produced = outcome.produced.into_iter().peekable();
    while let Some(first) = produced.next() {
        let mut group = vec![first];
        while let Some(next) = produced.next_if(|p| p.reporter == group[0].reporter) {
            group.push(next);
        }
        let (reporter, n) = (group[0].reporter.clone(), group.len());
        // Each request is checked once, here: `enqueue_consuming` stores
        // the `Checked` reports without checking them again.
        let checked: Result<Vec<Checked>, _> = group
            .into_iter()
            .enumerate()
            .map(|(index, p)| {
                let outgoing = Outgoing {
                    target: p.reporter,
                    id: p.id,
                    ordering_key: p.ordering_key,
                    generator: p.generator,
                    body: p.report.body,
                    content_type: p.report.content_type,
                    headers: p.report.headers,
                    path: p.report.path,
                    method: p.report.method,
                    supersede: p.report.supersede,
                    keep: p.report.keep,
                    fill: p.report.fill,
                };
                delivery.check(outgoing).map_err(|e| (index, e))
            })
            .collect();
        match checked {
            Ok(checked) => batch.reports.extend(checked.into_iter().map(|c| (event_id.clone(), c))),
            Err((index, e)) => {
                tracing::error!(%reporter, event = %event_id, "report refused, nothing sent (request {index} of {n}): {e}");
                stats.refused.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    }
}
