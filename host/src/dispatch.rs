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

use crate::pipeline::Pipeline;
use arc_swap::ArcSwap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;
use wasmpush_delivery::{Delivery, Outgoing, check_report};
use wasmpush_sources::SourceEvent;

/// Counters of what happened to events and reports.
#[derive(Debug, Default)]
pub struct DispatchStats {
    pub events: AtomicU64,
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

/// Worker threads turning events into enqueued reports.
pub struct Dispatcher {
    senders: Vec<SyncSender<SourceEvent>>,
    handles: Vec<JoinHandle<()>>,
    stats: Arc<DispatchStats>,
}

impl Dispatcher {
    /// Starts `workers` threads (at least one).
    pub fn start(pipeline: Arc<ArcSwap<Pipeline>>, delivery: Arc<Delivery>, workers: usize) -> Dispatcher {
        let stats = Arc::new(DispatchStats::default());
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for i in 0..workers.max(1) {
            let (tx, rx) = sync_channel::<SourceEvent>(256);
            let (pipeline, delivery, stats) = (pipeline.clone(), delivery.clone(), stats.clone());
            let handle = std::thread::Builder::new()
                .name(format!("wasmpush-gen-{i}"))
                .spawn(move || {
                    // Take whatever is already queued (up to BATCH events),
                    // generate, and store the reports in one durable commit.
                    // No event waits for a batch to fill.
                    while let Ok(first) = rx.recv() {
                        let mut batch = Vec::new();
                        handle_event(&pipeline.load_full(), &stats, &first, &mut batch);
                        for _ in 1..BATCH {
                            let Ok(event) = rx.try_recv() else { break };
                            handle_event(&pipeline.load_full(), &stats, &event, &mut batch);
                        }
                        store(&delivery, &stats, batch);
                    }
                })
                .expect("spawning a worker thread");
            senders.push(tx);
            handles.push(handle);
        }
        Dispatcher { senders, handles, stats }
    }

    /// The shared counters.
    pub fn stats(&self) -> Arc<DispatchStats> {
        self.stats.clone()
    }

    /// Queues `event` on the worker that owns its ordering key. Blocks while
    /// that worker's queue is full (back-pressure for replays).
    pub fn submit(&self, event: SourceEvent) {
        let mut h = DefaultHasher::new();
        event.ordering_key().hash(&mut h);
        let i = (h.finish() % self.senders.len() as u64) as usize;
        // A worker only stops when its sender is dropped, so this cannot fail.
        let _ = self.senders[i].send(event);
    }

    /// Waits until every submitted event has been handled.
    pub fn finish(self) -> Arc<DispatchStats> {
        drop(self.senders);
        for h in self.handles {
            let _ = h.join();
        }
        self.stats
    }
}

/// Most events a worker generates before storing their reports together.
const BATCH: usize = 256;

fn store(delivery: &Delivery, stats: &DispatchStats, batch: Vec<(String, Outgoing)>) {
    if batch.is_empty() {
        return;
    }
    let n = batch.len() as u64;
    let (events, items): (Vec<String>, Vec<Outgoing>) = batch.into_iter().unzip();
    match delivery.enqueue_batch(items) {
        Ok(_) => {
            stats.reports.fetch_add(n, Ordering::Relaxed);
        }
        Err(e) => {
            tracing::error!(events = %events.join(","), "could not store {n} report(s) in the outbox: {e}");
            stats.enqueue_failures.fetch_add(n, Ordering::Relaxed);
        }
    }
}

fn handle_event(pipeline: &Pipeline, stats: &DispatchStats, event: &SourceEvent, batch: &mut Vec<(String, Outgoing)>) {
    stats.events.fetch_add(1, Ordering::Relaxed);
    let outcome = pipeline.handle(event);
    stats.generator_failures.fetch_add(outcome.failures.len() as u64, Ordering::Relaxed);
    for p in outcome.produced {
        let r = &p.report;
        if let Err(e) = check_report(&p.generator, &r.content_type, &r.headers, r.path.as_deref()) {
            tracing::error!(reporter = %p.reporter, event = %event.event_id(), "report refused, nothing sent: {e}");
            stats.refused.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let outgoing = Outgoing {
            target: p.reporter.clone(),
            id: p.id,
            ordering_key: p.ordering_key,
            generator: p.generator,
            body: p.report.body,
            content_type: p.report.content_type,
            headers: p.report.headers,
            path: p.report.path,
        };
        batch.push((event.event_id(), outgoing));
    }
}
