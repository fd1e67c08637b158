//! What the outbox stores: a report on its way in ([`Outgoing`]), its
//! stored metadata ([`Meta`]), and the views the admin commands show
//! ([`Entry`], [`Detail`]) and select by ([`Selector`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use wasmpush_model::method::Method;

use super::error::OutboxError;

/// One report to push, as produced by the host's pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Reporter (target) name, as given to [`crate::Delivery::open`].
    pub target: String,
    /// Stable `webhook-id`, computed by the host (same report → same id, so
    /// re-enqueuing it is a no-op and a re-sent copy is recognisable).
    pub id: String,
    /// FIFO key: reports with the same key (per target) are delivered in
    /// enqueue order, e.g. `buildrequest:12`.
    pub ordering_key: String,
    /// Generator name (for errors and `outbox list`).
    pub generator: String,
    /// The body, sent byte for byte.
    pub body: Vec<u8>,
    /// `Content-Type`; empty = no header (Buildbot's empty-body case).
    pub content_type: String,
    /// Extra headers from the generator (checked by [`crate::check_report`]).
    pub headers: Vec<(String, String)>,
    /// Relative path under `server_url` (checked by [`crate::check_report`]).
    pub path: Option<String>,
    /// The HTTP method; the target must allow it (`methods`, default POST).
    pub method: Method,
    /// A later report of the same target with the same key replaces this one
    /// while it waits (see [`crate::outbox`]'s supersede rule).
    pub supersede: Option<String>,
    /// (name, JSON pointer): values to keep from a 2xx JSON response, for
    /// later reports of the same target and ordering key ([`crate::memory`]).
    pub keep: Vec<(String, String)>,
    /// Replace `{name}` in path and body by kept values at send time.
    pub fill: bool,
}

/// Whether an entry is still being delivered or has given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryState {
    /// Waiting for its (next) attempt.
    Pending,
    /// On the dead-letter list: a permanent failure or attempts exhausted.
    /// Stays until `retry` or `drop`.
    Dead,
    /// Replaced, before it was delivered, by a later report of the same
    /// target with the same supersede key; never sent. Listed until the next
    /// start, which removes it.
    Superseded,
}

/// What is stored per report besides the body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub target: String,
    pub id: String,
    pub ordering_key: String,
    pub generator: String,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub path: Option<String>,
    pub enqueued_at_ms: u64,
    pub attempts: u32,
    pub next_attempt_at_ms: u64,
    pub last_error: Option<String>,
    pub state: EntryState,
    pub body_len: u64,
    #[serde(default)]
    pub method: Method,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersede: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fill: bool,
}

impl Meta {
    pub(crate) fn index_key(&self) -> String {
        index_key(&self.target, &self.id)
    }
    pub(crate) fn encode(&self) -> Vec<u8> {
        // Serialising plain strings and numbers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
    pub(crate) fn decode(seq: u64, bytes: &[u8]) -> Result<Meta, OutboxError> {
        serde_json::from_slice(bytes).map_err(|e| OutboxError::Corrupt { seq, message: e.to_string() })
    }
}

pub(crate) fn index_key(target: &str, id: &str) -> String {
    format!("{target}\0{id}")
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub(crate) fn ms_to_time(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// One outbox entry as shown by `wasmpush outbox list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the outbox (FIFO order).
    pub seq: u64,
    /// The stable `webhook-id`.
    pub id: String,
    /// Reporter (target) name.
    pub target: String,
    /// Per-target FIFO key, e.g. `buildrequest:12`.
    pub ordering_key: String,
    /// Generator that produced the report.
    pub generator: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was enqueued.
    pub enqueued_at: SystemTime,
    /// When the next attempt is due (meaningless for dead entries).
    pub next_attempt_at: SystemTime,
    /// Last failure, secrets redacted.
    pub last_error: Option<String>,
    /// Pending or dead.
    pub state: EntryState,
    /// Body size in bytes.
    pub body_len: u64,
    /// The HTTP method.
    pub method: Method,
    /// Its supersede key, if any.
    pub supersede: Option<String>,
}

impl Entry {
    pub(crate) fn from_meta(seq: u64, m: &Meta) -> Entry {
        Entry {
            seq,
            id: m.id.clone(),
            target: m.target.clone(),
            ordering_key: m.ordering_key.clone(),
            generator: m.generator.clone(),
            attempts: m.attempts,
            enqueued_at: ms_to_time(m.enqueued_at_ms),
            next_attempt_at: ms_to_time(m.next_attempt_at_ms),
            last_error: m.last_error.clone(),
            state: m.state,
            body_len: m.body_len,
            method: m.method,
            supersede: m.supersede.clone(),
        }
    }
}

impl std::fmt::Display for Entry {
    /// One line for `wasmpush outbox list`:
    /// `SEQ STATE ID target=… key=… generator=… attempts=N next=RFC3339 bytes=N error=…`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            EntryState::Pending => "pending",
            EntryState::Dead => "dead",
            EntryState::Superseded => "superseded",
        };
        write!(
            f,
            "{} {state} {} target={} key={} generator={} attempts={} next={} bytes={}",
            self.seq,
            self.id,
            self.target,
            self.ordering_key,
            self.generator,
            self.attempts,
            humantime::format_rfc3339_seconds(self.next_attempt_at),
            self.body_len
        )?;
        if self.method != Method::Post {
            write!(f, " method={}", self.method)?;
        }
        if let Some(k) = &self.supersede {
            write!(f, " supersede={k:?}")?;
        }
        if let Some(e) = &self.last_error {
            write!(f, " error={e:?}")?;
        }
        Ok(())
    }
}

/// One entry with what would be sent: shown by the admin API. The body is
/// what the generator produced; the host adds credentials only at send
/// time, so no secret is stored here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    /// The entry as `list` shows it.
    pub entry: Entry,
    /// The body's content type.
    pub content_type: String,
    /// The generator's headers (credentials are added at send time).
    pub headers: Vec<(String, String)>,
    /// The path below the reporter's URL, if the generator set one.
    pub path: Option<String>,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// Which entries an admin action applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Every entry with this `webhook-id` (in any target).
    Id(String),
    /// Every dead entry.
    Dead,
    /// Every entry.
    All,
}

impl Selector {
    pub(crate) fn matches(&self, m: &Meta) -> bool {
        match self {
            Selector::Id(id) => &m.id == id,
            Selector::Dead => m.state == EntryState::Dead,
            Selector::All => true,
        }
    }
}
