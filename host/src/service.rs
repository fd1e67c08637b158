//! A whole config, running: runtime, pipeline, delivery, sources, workers.
//!
//! [`Service::start`] builds the config's [`Plan`] (everything decoded,
//! checked and fetched) and starts it: every generator loaded, the outbox
//! opened (which resumes whatever was pending). [`Service::run`] feeds the
//! configured sources through the [`Dispatcher`] until the finite ones
//! (replay) are exhausted and the long-running ones (relay, buildbot) are
//! told to stop, then waits for delivery to settle.

use crate::config::{Config, ConfigError};
use crate::dispatch::{Dispatcher, WorkerDied};
use crate::faults::Faults;
use crate::pipeline::{Pipeline, PipelineError};
use crate::plan::{Plan, PlanError, ReporterIdentity};
use crate::runtime::Runtime;
use arc_swap::ArcSwap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use wasmpush_delivery::{Admitting, Delivery, DeliveryError, Stats};
use wasmpush_sources::relay::RelayCounters;
use wasmpush_sources::{Ack, SourceError, SourceEvent, Submission};

/// Why the service could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Load(#[from] crate::runtime::LoadError),
    #[error("cannot create the outbox folder {path}: {source}")]
    OutboxDir { path: PathBuf, source: std::io::Error },
    #[error("outbox {path}: {source}")]
    Delivery { path: PathBuf, source: DeliveryError },
    /// A source could not start (a replay file, a relay's listener).
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A commit failed: nothing more can be stored until a restart reopens
    /// the outbox.
    #[error("outbox storage failed: {0}; stopping so that a restart reopens it (nothing acknowledged is lost)")]
    Storage(String),
    #[error(transparent)]
    WorkerDied(#[from] WorkerDied),
    #[error("the {kind} source stopped: {reason}")]
    SourceStopped { kind: &'static str, reason: String },
    #[error(transparent)]
    Admin(#[from] crate::admin::AdminError),
}

/// A configured source: how it starts, whether it ends by itself
/// ([`wasmpush_sources::SourceConfig`]).
pub use wasmpush_sources::SourceConfig as SourceSpec;

/// What a run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub events: u64,
    pub reports: u64,
    pub generator_failures: u64,
    pub refused: u64,
    pub enqueue_failures: u64,
    pub delivery: Stats,
}

/// Everything a config describes, loaded and ready.
pub struct Service {
    pub runtime: Arc<Runtime>,
    /// The current generators; [`Service::reload`] swaps it atomically.
    pub pipeline: Arc<ArcSwap<Pipeline>>,
    /// Reporter names and push options: a reload may not change them.
    identity: ReporterIdentity,
    pub delivery: Arc<Delivery>,
    pub sources: Vec<SourceSpec>,
    workers: usize,
    commit_delay: Duration,
    /// What the generators need fetched (Buildbot sources follow it; a
    /// reload may widen it).
    needs: tokio::sync::watch::Sender<wasmpush_sources::buildbot::Needs>,
    faults: Faults,
    /// What the relay sources answered (every 503 counted).
    pub relay: Arc<RelayCounters>,
    /// Events each kind of source handed over ([`SOURCE_KINDS`] order).
    pub source_events: Arc<[std::sync::atomic::AtomicU64; SOURCE_KINDS.len()]>,
    /// `[admin]` with its token, read once at start.
    admin: Option<(crate::admin::AdminSection, Option<wasmpush_model::secret::Secret>)>,
    /// The outbox file (the control socket lives beside it).
    outbox_path: PathBuf,
}

impl Service {
    /// Builds the plan of `config` ([`Plan::build`]) and starts it. Must
    /// run inside Tokio.
    pub async fn start(config: &Config) -> Result<Service, ServiceError> {
        Service::start_with_faults(config, Faults::default()).await
    }

    /// [`Service::start`] with `faults` injected (tests of what a full disk
    /// or a dead worker does).
    pub async fn start_with_faults(config: &Config, faults: Faults) -> Result<Service, ServiceError> {
        Service::start_plan(Plan::build(config).await?, faults).await
    }

    /// Starts `plan`: the engine, its generators loaded, the outbox opened
    /// (which resumes whatever was pending). The sources start with
    /// [`Service::run`].
    pub async fn start_plan(plan: Plan, faults: Faults) -> Result<Service, ServiceError> {
        let runtime = Arc::new(Runtime::new(&plan.runtime.engine)?);
        let pipeline = Arc::new(ArcSwap::from_pointee(Pipeline::build(&plan, &runtime)?));
        let Plan { runtime: options, outbox, admin, targets, sources, identity, .. } = plan;
        let outbox = outbox.path;
        if let Some(dir) = outbox.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| ServiceError::OutboxDir { path: dir.to_path_buf(), source })?;
        }
        let delivery = match faults.storage.clone() {
            None => Delivery::open(&outbox, targets).await,
            Some(faults) => Delivery::open_with_faults(&outbox, targets, faults).await,
        }
        .map_err(|source| ServiceError::Delivery { path: outbox.clone(), source })?;
        let needs = tokio::sync::watch::channel(pipeline.load().needs()).0;
        Ok(Service {
            needs,
            runtime,
            pipeline,
            identity,
            delivery: Arc::new(delivery),
            sources,
            workers: options.workers,
            commit_delay: options.commit_delay,
            faults,
            relay: Arc::default(),
            source_events: Arc::default(),
            admin,
            outbox_path: outbox,
        })
    }

    /// Closes the outbox cleanly once nothing else holds it (a later
    /// [`Service::start`] on the same config can then open it again).
    pub async fn shutdown(self) {
        let Service { mut delivery, pipeline, .. } = self;
        drop(pipeline);
        // Another holder (a task of a run that is ending) lets go shortly.
        let end = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match Arc::try_unwrap(delivery) {
                Ok(d) => return d.shutdown().await,
                Err(shared) if tokio::time::Instant::now() < end => {
                    delivery = shared;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(_) => {
                    tracing::warn!("the outbox is still in use at shutdown; it closes when its last user ends");
                    return;
                }
            }
        }
    }

    /// Routes the events a crash left in the inbox (accepted, acknowledged,
    /// not yet generated) before any new event.
    fn recover_inbox(
        &self,
        route: &dyn Fn(SourceEvent, Option<u64>) -> Result<(), WorkerDied>,
    ) -> Result<(), ServiceError> {
        let rows = self.delivery.inbox().map_err(|e| ServiceError::Storage(e.to_string()))?;
        if !rows.is_empty() {
            tracing::info!(events = rows.len(), "generating events accepted before the last stop");
        }
        for (seq, bytes) in rows {
            match serde_json::from_slice::<SourceEvent>(&bytes) {
                Ok(event) => route(event, Some(seq))?,
                Err(e) => tracing::error!(inbox = seq, "an inbox event cannot be read ({e}); it stays in the outbox"),
            }
        }
        Ok(())
    }

    /// Builds the plan of `config` (the same step as a start), loads its
    /// generators in the background of running events and, only if every
    /// one loads, switches to them atomically. Events
    /// already being generated finish on the old version; the next event
    /// uses the new one. On any error the old generators stay live and the
    /// error says why. Reporters and their push options cannot change
    /// without a restart (the outbox keeps reports per reporter).
    pub async fn reload(&self, config: &Config) -> Result<(), ServiceError> {
        if ReporterIdentity::of(config) != self.identity {
            return Err(config
                .invalid("reporter", "reporters or their push options changed: restart wasmpush to apply that".into())
                .into());
        }
        let plan = Plan::build(config).await?;
        let next = Pipeline::build(&plan, &self.runtime)?;
        let names: Vec<String> = next
            .reporters
            .iter()
            .flat_map(|r| r.slots.iter().map(|s| format!("{}@{}", s.generator.name(), &s.generator.sha256()[..12])))
            .collect();
        let needs = next.needs();
        self.pipeline.store(Arc::new(next));
        // After the swap: an event fetched for the new needs is generated by
        // the new generators.
        self.needs.send_if_modified(|current| {
            let changed = *current != needs;
            *current = needs;
            changed
        });
        tracing::info!(generators = %names.join(", "), "reloaded generators");
        Ok(())
    }

    /// Runs every source to its end (or until `stop` resolves), then keeps
    /// delivering for up to `settle` until nothing is pending. What is still
    /// pending then stays in the outbox for the next start.
    ///
    /// Accepted means durable: an event from a relay or a Buildbot master is
    /// committed to the outbox's inbox (group commit) before its source may
    /// acknowledge it, and leaves the inbox in the commit that stores its
    /// reports. Events left in the inbox by a crash are generated again
    /// first (same report ids, so nothing is stored twice). A failed commit,
    /// a dead worker or a long-running source that stops ends the run with an
    /// error (the process exits non-zero for a supervisor to restart it);
    /// nothing is acknowledged that was not committed.
    pub async fn run(&self, stop: impl Future<Output = ()>, settle: Duration) -> Result<Summary, ServiceError> {
        self.run_observed(stop, settle, |_| {}).await
    }

    /// [`Service::run`], handing `observe` the run's live event counters as
    /// soon as they exist (the command line's progress bar polls them).
    pub async fn run_observed(
        &self,
        stop: impl Future<Output = ()>,
        settle: Duration,
        observe: impl FnOnce(Arc<crate::dispatch::DispatchStats>),
    ) -> Result<Summary, ServiceError> {
        let dispatcher = Arc::new(Dispatcher::start_bounded(
            self.pipeline.clone(),
            self.delivery.clone(),
            self.workers,
            self.commit_delay,
            Some(self.faults.worker_panic.clone()),
        ));
        observe(dispatcher.stats());
        let route = |event: SourceEvent, inbox: Option<u64>| {
            let d = dispatcher.clone();
            tokio::task::block_in_place(move || d.route(event, inbox))
        };
        let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let admin = match &self.admin {
            Some((section, token)) => {
                let server = crate::admin::AdminServer::bind(section, token.clone()).await?;
                tracing::info!(listen = %server.local_addr(), "admin listener: /, /api, /metrics, /healthz, /readyz");
                let probes = crate::admin::Probes {
                    dispatch: dispatcher.stats(),
                    delivery: self.delivery.clone(),
                    relay: self.relay.clone(),
                    source_events: self.source_events.clone(),
                    pipeline: self.pipeline.clone(),
                    ready: ready.clone(),
                };
                Some(AbortOnDrop(tokio::spawn(server.serve(probes))))
            }
            None => None,
        };
        // `wasmpush outbox …` reaches a running service here (the file is locked).
        let control = match crate::control::ControlSocket::serve(&self.outbox_path, self.delivery.clone()) {
            Ok(socket) => Some(socket),
            Err(e) => {
                let path = crate::control::socket_path(&self.outbox_path);
                tracing::warn!(path = %path.display(), "no control socket (`wasmpush outbox` cannot reach this run): {e}");
                None
            }
        };
        self.recover_inbox(&route)?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Submission>(1024);
        let counters = wasmpush_sources::Counters { events: self.source_events.clone(), relay: self.relay.clone() };
        // Finite sources (replay) end by themselves; long-running ones (relay,
        // buildbot) run until the run stops them.
        let (mut finite, mut long_running) = (Vec::new(), Vec::new());
        for source in &self.sources {
            let handle = source.spawn(self.needs.subscribe(), tx.clone(), &counters).await?;
            if handle.is_finite() { finite.push(handle) } else { long_running.push(handle) }
        }
        drop(tx);
        crate::notify::ready();
        ready.store(true, std::sync::atomic::Ordering::Relaxed);
        // Events to acknowledge travel through `admitted` in arrival order:
        // each waits for its inbox commit (admissions commit in order, many
        // per fsync), is acknowledged, then routed to its worker.
        let (admitted_tx, mut admitted_rx) = tokio::sync::mpsc::unbounded_channel::<(SourceEvent, Admitting, Ack)>();
        let committer = {
            let dispatcher = dispatcher.clone();
            tokio::spawn(async move {
                while let Some((event, admitting, ack)) = admitted_rx.recv().await {
                    match admitting.committed().await {
                        Ok(seq) => {
                            ack.committed();
                            let d = dispatcher.clone();
                            if let Err(e) = tokio::task::block_in_place(move || d.route(event, Some(seq))) {
                                // Committed, so not lost: the next start generates it.
                                tracing::error!("{e}");
                            }
                        }
                        Err(e) => ack.refused(e.to_string()),
                    }
                }
            })
        };
        // With any long-running source the service runs until `stop`.
        let runs_until_stopped = !long_running.is_empty();
        let all_fed = async {
            for f in finite {
                let _ = f.await;
            }
            if runs_until_stopped {
                std::future::pending::<()>().await;
            }
        };
        tokio::pin!(all_fed, stop);
        let mut fed = false;
        // On stop the channel is closed (a relay then answers 503 instead of
        // accepting what would not be handled) and what is already queued is
        // still handled: nothing accepted is dropped.
        let failure = loop {
            tokio::select! {
                submission = rx.recv() => match submission {
                    Some(Submission { event, ack: None }) => {
                        if let Err(e) = route(event, None) {
                            break Some(ServiceError::from(e));
                        }
                    }
                    Some(Submission { event, ack: Some(ack) }) => match serde_json::to_vec(&event) {
                        Ok(bytes) => {
                            let _ = admitted_tx.send((event, self.delivery.admit(bytes), ack));
                        }
                        Err(e) => ack.refused(format!("cannot encode the event: {e}")),
                    },
                    None => break None,
                },
                reason = self.delivery.storage_failed() => break Some(ServiceError::Storage(reason)),
                died = dispatcher.died() => break Some(ServiceError::from(died)),
                (kind, result) = wasmpush_sources::first_to_end(&mut long_running), if !fed => {
                    let reason = result.err().unwrap_or_else(|| "it ended".into());
                    break Some(ServiceError::SourceStopped { kind, reason });
                }
                _ = &mut all_fed, if !fed => {
                    fed = true;
                    rx.close();
                }
                _ = &mut stop, if !fed => {
                    tracing::info!("stopping: no more events are taken");
                    crate::notify::stopping();
                    fed = true;
                    rx.close();
                }
            }
        };
        ready.store(false, std::sync::atomic::Ordering::Relaxed);
        for source in long_running {
            source.stop().await;
        }
        drop(admitted_tx);
        let _ = committer.await;
        let Ok(dispatcher) = Arc::try_unwrap(dispatcher) else {
            unreachable!("every other holder of the dispatcher has ended")
        };
        // The workers end (and release the outbox) before the run returns,
        // on a failure too: a caller may reopen the outbox right after.
        let finished = tokio::task::spawn_blocking(move || dispatcher.finish())
            .await
            .unwrap_or_else(|_| Err(WorkerDied("the dispatcher".into())));
        if let Some(failure) = failure {
            return Err(failure);
        }
        // A worker that died while the run was stopping still fails it.
        let stats = finished?;
        // Deliver what is pending (including reports reloaded from the
        // outbox) until nothing is left or `settle` runs out.
        let deadline = tokio::time::Instant::now() + settle;
        while self.delivery.stats().pending > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.delivery.wait_idle(deadline.saturating_duration_since(tokio::time::Instant::now())).await;
        drop(admin);
        drop(control);
        let (events, reports, generator_failures, refused, enqueue_failures) = stats.snapshot();
        Ok(Summary { events, reports, generator_failures, refused, enqueue_failures, delivery: self.delivery.stats() })
    }
}

/// The `source` label of `wasmpush_source_events_total`, by index.
pub const SOURCE_KINDS: [&str; wasmpush_sources::KINDS.len()] = wasmpush_sources::KINDS;

/// A task that ends when its handle is dropped (the admin listener lives as
/// long as the run, whichever way the run ends).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
