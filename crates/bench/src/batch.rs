//! A dispatcher with a pluggable "event → reports" step, to compare in one
//! end-to-end run what the host does with what it could do.
//!
//! Same shape as `host/src/dispatch.rs`: worker threads chosen by the
//! event's ordering key, queues of 256, each worker takes the event it was
//! given plus whatever is already queued (up to `max_batch`), turns them into
//! reports, and stores those with one `Delivery::enqueue_batch` (one fsync'd
//! commit) before taking more. With `max_batch = 1` it is the dispatcher
//! before batching (one commit per report). The step is either the host's
//! `Pipeline::handle` ([`pipeline_step`]) or a prototype of proposed host
//! changes ([`ProtoStep`]).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use wasmpush::pipeline::{Pipeline, report_id};
use wasmpush_delivery::{Delivery, Outgoing, check_report};
use wasmpush_sources::SourceEvent;
use wasmpush_sources::buildbot::{Needs, payload_for};

use crate::proto::{self, ProtoGenerator};

/// Turns one event into reports; the second value counts failures.
pub type Step = Arc<dyn Fn(&SourceEvent) -> (Vec<Outgoing>, u64) + Send + Sync>;

/// Counters (events, reports enqueued, failures of any kind, commits).
#[derive(Debug, Default)]
pub struct BatchStats {
    /// Events taken.
    pub events: AtomicU64,
    /// Reports stored in the outbox.
    pub reports: AtomicU64,
    /// Generator failures, refused reports and failed enqueues.
    pub failures: AtomicU64,
    /// `enqueue_batch` calls (outbox commits).
    pub commits: AtomicU64,
}

/// The host's own step: `Pipeline::handle` plus the request-policy check,
/// as `host/src/dispatch.rs` does.
pub fn pipeline_step(pipeline: Arc<Pipeline>) -> Step {
    Arc::new(move |event| {
        let outcome = pipeline.handle(event);
        let mut failures = outcome.failures.len() as u64;
        let mut out = Vec::new();
        for p in outcome.produced {
            let r = &p.report;
            if check_report(&p.generator, &r.content_type, &r.headers, r.path.as_deref()).is_err() {
                failures += 1;
                continue;
            }
            out.push(Outgoing {
                target: p.reporter,
                id: p.id,
                ordering_key: p.ordering_key,
                generator: p.generator,
                body: p.report.body,
                content_type: p.report.content_type,
                headers: p.report.headers,
                path: p.report.path,
                method: Default::default(),
                supersede: None,
                keep: Vec::new(),
                fill: false,
            });
        }
        (out, failures)
    })
}

/// The proposed host changes for one reporter with one generator (mode
/// `all`, so the filter passes every build event): generation in the
/// prototype sandbox with its engine options (e.g. pages kept resident),
/// and, with `copy_payload`, the payload handling of today's
/// `Pipeline::handle` (the filter's clone of the whole payload and the
/// equality check against the original) before `payload_for`; without it,
/// `payload_for` straight from the event (the proposed pipeline change).
pub struct ProtoStep {
    /// Reporter name (report ids are derived from it).
    pub reporter: String,
    /// The generator, loaded in a prototype engine.
    pub generator: Arc<ProtoGenerator>,
    /// What the generator declared it needs.
    pub needs: Needs,
    /// Keep today's payload copies (see the type docs).
    pub copy_payload: bool,
}

impl ProtoStep {
    /// As a dispatcher step.
    pub fn step(self) -> Step {
        Arc::new(move |event| {
            let text = if self.copy_payload {
                let copy = event.payload.clone();
                let whole = copy == event.payload;
                std::hint::black_box(whole);
                serde_json::to_string(&payload_for(&copy, &self.needs)).unwrap_or_default()
            } else {
                serde_json::to_string(&payload_for(&event.payload, &self.needs)).unwrap_or_default()
            };
            match self.generator.fresh_report(&proto::event(event.kind, &text, &[])) {
                Ok(Some(r)) => {
                    if check_report(&self.generator.name, &r.content_type, &r.headers, r.path.as_deref()).is_err() {
                        return (Vec::new(), 1);
                    }
                    let o = Outgoing {
                        target: self.reporter.clone(),
                        id: report_id(&self.reporter, &event.event_id()),
                        ordering_key: event.ordering_key(),
                        generator: self.generator.name.clone(),
                        body: r.body,
                        content_type: r.content_type,
                        headers: r.headers,
                        path: r.path,
                        method: Default::default(),
                        supersede: None,
                        keep: Vec::new(),
                        fill: false,
                    };
                    (vec![o], 0)
                }
                Ok(None) => (Vec::new(), 0),
                Err(e) => {
                    tracing::error!("prototype generation failed: {e:#}");
                    (Vec::new(), 1)
                }
            }
        })
    }
}

/// Worker threads that turn events into reports and enqueue them in batches.
pub struct BatchDispatcher {
    senders: Vec<SyncSender<SourceEvent>>,
    handles: Vec<JoinHandle<()>>,
    stats: Arc<BatchStats>,
}

impl BatchDispatcher {
    /// Starts `workers` threads (at least one); `max_batch` = most events per
    /// outbox commit (1 = the dispatcher before batching, 256 = the host's).
    pub fn start(
        step: Step,
        delivery: Arc<Delivery>,
        workers: usize,
        max_batch: usize,
    ) -> std::io::Result<BatchDispatcher> {
        let stats = Arc::new(BatchStats::default());
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for i in 0..workers.max(1) {
            let (tx, rx) = sync_channel::<SourceEvent>(256);
            let (step, delivery, stats) = (step.clone(), delivery.clone(), stats.clone());
            let handle = std::thread::Builder::new()
                .name(format!("bench-batch-{i}"))
                .spawn(move || work(&*step, &delivery, &stats, &rx, max_batch.max(1)))?;
            senders.push(tx);
            handles.push(handle);
        }
        Ok(BatchDispatcher { senders, handles, stats })
    }

    /// Queues `event` on the worker owning its ordering key (blocks when full).
    pub fn submit(&self, event: SourceEvent) {
        let mut h = DefaultHasher::new();
        event.ordering_key().hash(&mut h);
        let i = (h.finish() % self.senders.len() as u64) as usize;
        let _ = self.senders[i].send(event);
    }

    /// Waits until every submitted event is handled.
    pub fn finish(self) -> Arc<BatchStats> {
        drop(self.senders);
        for h in self.handles {
            let _ = h.join();
        }
        self.stats
    }
}

fn work(
    step: &(dyn Fn(&SourceEvent) -> (Vec<Outgoing>, u64) + Send + Sync),
    delivery: &Delivery,
    stats: &BatchStats,
    rx: &Receiver<SourceEvent>,
    max_batch: usize,
) {
    while let Ok(first) = rx.recv() {
        let mut events = vec![first];
        while events.len() < max_batch {
            match rx.try_recv() {
                Ok(e) => events.push(e),
                Err(_) => break,
            }
        }
        let mut batch = Vec::with_capacity(events.len());
        for event in &events {
            stats.events.fetch_add(1, Ordering::Relaxed);
            let (out, failures) = step(event);
            stats.failures.fetch_add(failures, Ordering::Relaxed);
            batch.extend(out);
        }
        if batch.is_empty() {
            continue;
        }
        let n = batch.len() as u64;
        stats.commits.fetch_add(1, Ordering::Relaxed);
        match delivery.enqueue_batch(batch) {
            Ok(_) => {
                stats.reports.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::error!("bench batch enqueue failed: {e}");
                stats.failures.fetch_add(n, Ordering::Relaxed);
            }
        }
    }
}
