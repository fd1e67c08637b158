//! One way to start any source.
//!
//! A [`SourceConfig`] is one `[[source]]` table, checked. [`SourceConfig::spawn`]
//! starts it on the host's channel and returns a [`SourceHandle`]: whether the
//! source is finite (a replay runs out; a relay or a master runs until it is
//! stopped) and, awaited, how it ended. The host starts every source the same
//! way and treats a long-running source that ends as a failure naming it.
//!
//! Adding a source: its module, a variant here (its kind, whether it is finite,
//! how it starts), and one arm where the host reads `[[source]]` tables.

use crate::buildbot::{self, BuildbotConfig, Needs};
use crate::relay::{RelayConfig, RelayCounters, RelayError, RelayServer};
use crate::replay::{self, ReplayError};
use crate::submit::{EventSender, Submission};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use tokio::sync::watch;

/// Every kind of source, as `[[source]] type = ...` names it (also the
/// `source` label of the host's event counter, in this order).
pub const KINDS: [&str; 3] = ["replay", "relay", "buildbot"];

/// A configured source.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    /// Recorded events from a file or folder (`type = "replay"`, `path`).
    Replay { path: PathBuf },
    /// An endpoint for Buildbot's own `HttpStatusPush` (`type = "relay"`).
    Relay(RelayConfig),
    /// A Buildbot master's websocket and REST API (`type = "buildbot"`).
    Buildbot(BuildbotConfig),
}

/// What the sources of a run count (read by `/metrics`), shared by all of them.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Events handed over, by kind of source ([`KINDS`] order).
    pub events: Arc<[AtomicU64; KINDS.len()]>,
    /// What the relay sources answered.
    pub relay: Arc<RelayCounters>,
}

/// Why a source could not start.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error("relay source: {0}")]
    Relay(#[from] RelayError),
}

impl SourceConfig {
    /// Its `type`, one of [`KINDS`].
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Replay { .. } => "replay",
            SourceConfig::Relay(_) => "relay",
            SourceConfig::Buildbot(_) => "buildbot",
        }
    }

    /// Whether the source ends by itself (a replay) or runs until stopped.
    pub fn is_finite(&self) -> bool {
        matches!(self, SourceConfig::Replay { .. })
    }

    /// Starts the source: its events go to `tx`, counted in `counters`.
    /// `needs` is what the generators need fetched; a reload may widen it
    /// (the Buildbot source follows it; the others carry what they receive).
    ///
    /// Fails before anything runs when the source cannot start (a replay
    /// file that cannot be read, a relay that cannot listen). A Buildbot
    /// source reports its own problems (credentials, state file) by ending.
    pub async fn spawn(
        &self,
        needs: watch::Receiver<Needs>,
        tx: EventSender,
        counters: &Counters,
    ) -> Result<SourceHandle, SourceError> {
        let kind = self.kind();
        let index = KINDS.iter().position(|k| *k == kind).expect("every kind is in KINDS");
        let count = counters.events.clone();
        let task = match self {
            SourceConfig::Replay { path } => {
                // Fed straight into the host's channel (no counting hop):
                // every event is in it when the task ends.
                let events = replay::read_events(path)?;
                tracing::info!(path = %path.display(), events = events.len(), "replaying recorded events");
                tokio::spawn(async move {
                    for e in events {
                        if tx.send(Submission::unacknowledged(e)).await.is_err() {
                            break;
                        }
                        count[index].fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(())
                })
            }
            SourceConfig::Relay(cfg) => {
                let tx = counted(tx, count, index);
                let server = RelayServer::bind(cfg).await?.counting_into(counters.relay.clone());
                tracing::info!(listen = %server.local_addr(), "relay listening for Buildbot's HttpStatusPush");
                tokio::spawn(async move { server.serve(tx).await.map_err(|e| e.to_string()) })
            }
            SourceConfig::Buildbot(cfg) => {
                let (tx, cfg) = (counted(tx, count, index), cfg.clone());
                tracing::info!(url = %cfg.url, "following a Buildbot master");
                let status = watch::channel(buildbot::Status::Starting).0;
                tokio::spawn(
                    async move { buildbot::run_watching(cfg, needs, tx, status).await.map_err(|e| e.to_string()) },
                )
            }
        };
        Ok(SourceHandle { kind, finite: self.is_finite(), task, ended: false })
    }
}

/// A running source. Awaiting it waits for its end: `Ok(())` when it ran out
/// (a replay) or its channel closed, `Err(reason)` when it failed (or its
/// task panicked). Once it has answered, it stays pending.
pub struct SourceHandle {
    kind: &'static str,
    finite: bool,
    task: tokio::task::JoinHandle<Result<(), String>>,
    ended: bool,
}

impl SourceHandle {
    /// Its kind, one of [`KINDS`].
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Whether it ends by itself (a replay) or runs until stopped.
    pub fn is_finite(&self) -> bool {
        self.finite
    }

    /// Stops the source and waits until it has let go of its channel,
    /// listener and files.
    pub async fn stop(self) {
        self.task.abort();
        if !self.ended {
            let _ = self.task.await;
        }
    }
}

impl Future for SourceHandle {
    type Output = Result<(), String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.ended {
            return Poll::Pending;
        }
        let ended = std::task::ready!(Pin::new(&mut self.task).poll(cx));
        self.ended = true;
        Poll::Ready(
            ended.unwrap_or_else(|e| {
                Err(if e.is_panic() { "its task panicked".into() } else { "it was cancelled".into() })
            }),
        )
    }
}

/// The first of `handles` to end, with its kind and how it ended; pending
/// for ever when there are none.
pub async fn first_to_end(handles: &mut [SourceHandle]) -> (&'static str, Result<(), String>) {
    std::future::poll_fn(|cx| {
        for handle in handles.iter_mut() {
            if let Poll::Ready(ended) = Pin::new(&mut *handle).poll(cx) {
                return Poll::Ready((handle.kind, ended));
            }
        }
        Poll::Pending
    })
    .await
}

/// A sender for one long-running source that counts what it hands over
/// (for `/metrics`) and forwards it, acknowledgement included, to `tx`.
/// When the host stops taking events, what is still here is dropped
/// unacknowledged (refused), as in the host's own channel.
fn counted(tx: EventSender, counts: Arc<[AtomicU64; KINDS.len()]>, kind: usize) -> EventSender {
    let (inner, mut rx) = tokio::sync::mpsc::channel::<Submission>(64);
    tokio::spawn(async move {
        while let Some(s) = rx.recv().await {
            counts[kind].fetch_add(1, Ordering::Relaxed);
            if tx.send(s).await.is_err() {
                break; // the host stopped taking events: dropping `rx` tells the source
            }
        }
    });
    inner
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_replay_runs_out_and_a_relay_runs_until_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("events.jsonl");
        std::fs::write(&file, "{\"buildid\": 1, \"complete\": false}\n{\"buildid\": 1, \"complete\": true}\n").unwrap();
        let counters = Counters::default();
        let needs = watch::channel(Needs::default()).1;

        let replay = SourceConfig::Replay { path: file };
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let handle = replay.spawn(needs.clone(), tx, &counters).await.unwrap();
        assert_eq!((handle.kind(), handle.is_finite()), ("replay", true));
        assert_eq!(handle.await, Ok(()));
        assert_eq!(counters.events[0].load(Ordering::Relaxed), 2);
        assert!(rx.recv().await.unwrap().ack.is_none());

        let relay: RelayConfig =
            serde_json::from_value(serde_json::json!({"listen": "127.0.0.1:0", "auth": {"type": "none"}})).unwrap();
        let relay = SourceConfig::Relay(relay);
        let (tx, _rx) = tokio::sync::mpsc::channel(8);
        let mut handles = vec![relay.spawn(needs.clone(), tx, &counters).await.unwrap()];
        assert_eq!((handles[0].kind(), handles[0].is_finite()), ("relay", false));
        let ended = tokio::time::timeout(std::time::Duration::from_millis(200), first_to_end(&mut handles)).await;
        assert!(ended.is_err(), "a relay runs until it is stopped");

        // A long-running source that fails ends with its reason.
        let master: BuildbotConfig =
            serde_json::from_value(serde_json::json!({"url": "ftp://h/", "state_file": dir.path().join("c.json")}))
                .unwrap();
        let (tx, _rx) = tokio::sync::mpsc::channel(8);
        handles.push(SourceConfig::Buildbot(master).spawn(needs.clone(), tx, &counters).await.unwrap());
        let (kind, ended) = first_to_end(&mut handles).await;
        assert_eq!(kind, "buildbot");
        assert!(ended.unwrap_err().contains("must be http:// or https://"));
        for handle in handles {
            handle.stop().await;
        }

        let missing = SourceConfig::Replay { path: dir.path().join("missing.jsonl") };
        let (tx, _rx) = tokio::sync::mpsc::channel(8);
        let err = missing.spawn(needs, tx, &counters).await.err().expect("an unreadable file fails the start");
        assert!(err.to_string().starts_with("cannot read "), "{err}");
    }
}
