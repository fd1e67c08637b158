//! What the status page and `GET /api/status` show: one snapshot of a
//! running service, gathered from the live counters and the outbox at
//! request time. Plain data, so the page renderer and the JSON API share
//! it and a test can build one by hand.

use serde::Serialize;
use wasmpush_delivery::{Entry, EntryState};

/// The whole page.
#[derive(Debug, Clone, Serialize, Default)]
pub struct StatusView {
    /// `wasmpush` version.
    pub version: String,
    /// `None` when ready; otherwise why not (same as `/readyz`).
    pub not_ready: Option<String>,
    /// One row per reporter, sorted by name.
    pub reporters: Vec<ReporterView>,
    /// The latest deliveries, newest first (bounded).
    pub recent: Vec<DeliveryView>,
    /// One row per (reporter, generator).
    pub generators: Vec<GeneratorView>,
    /// Dead letters, oldest first (bounded by [`MAX_ROWS`]).
    pub dead: Vec<EntryView>,
}

/// Most rows a table of the page shows.
pub const MAX_ROWS: usize = 200;

/// A reporter's counts since start and its outbox content now.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ReporterView {
    pub name: String,
    /// Reports delivered (2xx) since start.
    pub delivered: u64,
    /// Failed attempts scheduled for a retry since start.
    pub retries: u64,
    /// In the outbox now, waiting for an attempt.
    pub pending: u64,
    /// On the dead-letter list now.
    pub dead: u64,
    /// Replaced by a later report with the same supersede key (listed until
    /// the next start).
    pub superseded: u64,
    /// The last failed attempt's error (secrets redacted).
    pub last_error: Option<String>,
}

/// One finished delivery attempt that got an answer or gave up.
#[derive(Debug, Clone, Serialize, Default)]
pub struct DeliveryView {
    /// When the attempt ended, ms since the Unix epoch.
    pub at_ms: u64,
    pub reporter: String,
    /// The report's `webhook-id`.
    pub id: String,
    /// The ordering key, e.g. `buildrequest:12` (which build).
    pub ordering_key: String,
    /// The generator (plugin) that produced it.
    pub generator: String,
    /// HTTP status, `None` when no response came (connection error, timeout).
    pub status: Option<u16>,
    /// Enqueue to this attempt's end, ms.
    pub latency_ms: u64,
    /// `delivered`, `retry` or `dead`.
    pub outcome: String,
}

/// A generator's calls since it was loaded.
#[derive(Debug, Clone, Serialize, Default)]
pub struct GeneratorView {
    pub reporter: String,
    pub generator: String,
    pub calls: u64,
    pub failures: u64,
    /// Mean time per call, µs (instantiation included).
    pub mean_micros: u64,
    /// The last failure's message (already user-facing: names the plugin).
    pub last_error: Option<String>,
}

/// One outbox entry, as JSON and as a table row.
#[derive(Debug, Clone, Serialize, Default)]
pub struct EntryView {
    pub seq: u64,
    pub id: String,
    pub reporter: String,
    pub ordering_key: String,
    pub generator: String,
    /// `pending`, `dead` or `superseded`.
    pub state: String,
    pub attempts: u32,
    pub enqueued_at_ms: u64,
    pub next_attempt_at_ms: u64,
    pub last_error: Option<String>,
    pub body_len: u64,
}

fn unix_ms(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl From<&Entry> for EntryView {
    fn from(e: &Entry) -> EntryView {
        EntryView {
            seq: e.seq,
            id: e.id.clone(),
            reporter: e.target.clone(),
            ordering_key: e.ordering_key.clone(),
            generator: e.generator.clone(),
            state: match e.state {
                EntryState::Pending => "pending",
                EntryState::Dead => "dead",
                EntryState::Superseded => "superseded",
            }
            .to_string(),
            attempts: e.attempts,
            enqueued_at_ms: unix_ms(e.enqueued_at),
            next_attempt_at_ms: unix_ms(e.next_attempt_at),
            last_error: e.last_error.clone(),
            body_len: e.body_len,
        }
    }
}
