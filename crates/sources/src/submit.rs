//! Handing events to the host, and learning when they are safe.
//!
//! A source must not acknowledge an event to anyone (a relay's `200`, a
//! Buildbot cursor) before the host has committed it to durable storage:
//! Buildbot never resends, so an acknowledgement before the commit loses the
//! event in a crash. Every event therefore travels as a [`Submission`] with
//! an [`Ack`] the host answers once the event is on disk (or refuses, e.g. on
//! a storage fault). [`submit`] sends one and waits for that answer.
//!
//! A source whose events are already durable elsewhere (a replay reads
//! files) sends [`Submission::unacknowledged`]: the host then skips its
//! inbox. Tests and tools that run a source without a store use
//! [`acknowledge_all`], which says so in its name.

use crate::event::SourceEvent;
use tokio::sync::{mpsc, oneshot};

/// The sending side every source writes to.
pub type EventSender = mpsc::Sender<Submission>;

/// One event on its way to the host.
#[derive(Debug)]
pub struct Submission {
    /// The event.
    pub event: SourceEvent,
    /// Answered once the event is committed (or refused); `None` when the
    /// sender needs no answer because the event is durable at its origin.
    pub ack: Option<Ack>,
}

impl Submission {
    /// An event the host need not make durable (it can be read again).
    pub fn unacknowledged(event: SourceEvent) -> Submission {
        Submission { event, ack: None }
    }
}

/// The host's answer to one submission. Dropping it unanswered counts as a
/// refusal, so a host that dies mid-way never acknowledges by accident.
#[derive(Debug)]
pub struct Ack(oneshot::Sender<Result<(), String>>);

impl Ack {
    /// The event is committed: the source may acknowledge it.
    pub fn committed(self) {
        let _ = self.0.send(Ok(()));
    }

    /// The event was not committed, for `why` (a storage fault, a stop).
    pub fn refused(self, why: String) {
        let _ = self.0.send(Err(why));
    }
}

/// Why [`submit`] did not end in a commit.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The host no longer takes events (it is stopping).
    #[error("wasmpush is not accepting events (it is stopping)")]
    Closed,
    /// The host took the event but could not commit it.
    #[error("wasmpush could not store the event: {0}")]
    Refused(String),
}

/// Sends `event` and waits until the host has committed it.
pub async fn submit(tx: &EventSender, event: SourceEvent) -> Result<(), SubmitError> {
    let (answer, answered) = oneshot::channel();
    tx.send(Submission { event, ack: Some(Ack(answer)) }).await.map_err(|_| SubmitError::Closed)?;
    match answered.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(why)) => Err(SubmitError::Refused(why)),
        Err(_) => Err(SubmitError::Refused("the host dropped the event before committing it".into())),
    }
}

/// For running a source without a store (tests, tools): acknowledges every
/// submission as soon as it arrives and forwards the bare events. Nothing is
/// durable here; the host never uses this.
pub fn acknowledge_all(capacity: usize) -> (EventSender, mpsc::Receiver<SourceEvent>) {
    let (tx, mut rx) = mpsc::channel::<Submission>(capacity);
    let (out_tx, out_rx) = mpsc::channel(capacity);
    tokio::spawn(async move {
        loop {
            let Submission { event, ack } = tokio::select! {
                s = rx.recv() => match s { Some(s) => s, None => break },
                () = out_tx.closed() => break, // the reader left: close the source's channel too
            };
            if out_tx.send(event).await.is_err() {
                break; // dropping `ack` refuses it
            }
            if let Some(ack) = ack {
                ack.committed();
            }
        }
    });
    (tx, out_rx)
}
