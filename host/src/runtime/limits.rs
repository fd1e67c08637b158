//! Per-generator resource limits, with safe defaults.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What one generator may use while handling one event. Every generator gets
/// these defaults unless its config says otherwise (`limits = { ... }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Linear memory, all memories of the instance together.
    #[serde(deserialize_with = "wasmpush_model::size::deserialize")]
    pub memory: u64,
    /// Wall-clock time for instantiation plus `generate`, enforced by epoch
    /// interruption (granularity: [`super::EPOCH_TICK`]).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Largest output accepted for one event: body, content type, headers,
    /// path and supersede key of all its requests together (all of it is
    /// stored in the outbox).
    #[serde(deserialize_with = "wasmpush_model::size::deserialize")]
    pub max_output: u64,
    /// Most requests one event may produce (contract 0.2; a 0.1 generator
    /// produces at most one).
    pub max_requests: usize,
    /// Most headers one request may carry.
    pub max_headers: usize,
    /// Most bytes of header names and values together in one report.
    #[serde(deserialize_with = "wasmpush_model::size::deserialize")]
    pub max_header_bytes: u64,
    /// Log volume kept per event, for host `log` calls (each line costs at
    /// least 64 bytes), stdout and stderr each; the excess is dropped and
    /// counted, never a trap.
    #[serde(deserialize_with = "wasmpush_model::size::deserialize")]
    pub max_log: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: 64 << 20,
            timeout: Duration::from_secs(2),
            max_output: 1 << 20,
            max_requests: 16,
            max_headers: 64,
            max_header_bytes: 16 << 10,
            max_log: 64 << 10,
        }
    }
}
