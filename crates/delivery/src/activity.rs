//! The last few finished attempts, newest first, for an operator's status
//! page: which build's report went where, with what answer, how late. A
//! bounded ring in memory (nothing here is durable: the outbox is).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// How many finished attempts [`crate::Delivery::recent`] keeps.
pub const RECENT: usize = 100;

/// What an attempt led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx: the report left the outbox.
    Delivered,
    /// A failure; another attempt is scheduled.
    Retry,
    /// A permanent failure or the last attempt: on the dead-letter list.
    Dead,
}

impl Outcome {
    /// `delivered`, `retry` or `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Retry => "retry",
            Outcome::Dead => "dead",
        }
    }
}

/// One finished attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempted {
    /// When the attempt ended.
    pub at: SystemTime,
    /// Reporter (target) name.
    pub reporter: String,
    /// The report's `webhook-id`.
    pub id: String,
    /// Which build (the ordering key, e.g. `buildrequest:12`).
    pub ordering_key: String,
    /// The generator that produced the report.
    pub generator: String,
    /// The HTTP status, `None` without a response (connection error, timeout).
    pub status: Option<u16>,
    /// From enqueue to the end of this attempt.
    pub latency: Duration,
    /// What happened to the report.
    pub outcome: Outcome,
}

/// The ring behind [`crate::Delivery::recent`].
#[derive(Debug, Default)]
pub(crate) struct Recent(Mutex<VecDeque<Attempted>>);

impl Recent {
    pub(crate) fn record(&self, a: Attempted) {
        let mut ring = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if ring.len() == RECENT {
            ring.pop_back();
        }
        ring.push_front(a);
    }

    pub(crate) fn newest_first(&self) -> Vec<Attempted> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }
}
