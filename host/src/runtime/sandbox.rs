//! What a generator instance can reach: its per-event store state.
//!
//! The WASI context grants nothing: no preopened directories, no environment,
//! no arguments, no sockets (wasmtime-wasi denies TCP, UDP and name lookups
//! unless enabled), no inherited stdio. stdout and stderr go to bounded
//! in-memory buffers ([`Captured`]: the excess is dropped, never a trap) that
//! the host copies into its log, attributed to the generator. Memory is
//! counted over every linear memory of the instance together ([`Budget`]),
//! and the numbers of core instances, memories and tables are capped, so a
//! component that instantiates a module many times cannot multiply its
//! memory limit. Clocks are virtual: the wall clock is frozen at the Unix epoch
//! and the monotonic clock advances 1 µs per reading, so a generator's output
//! depends only on its input. Randomness is real (runtimes such as Python
//! seed hash tables from it; it leaks nothing).

use super::capture::Captured;
use super::contract::v1::wasmpush::plugin::{host, types::Level};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// State of one store: one generator handling one event.
pub struct State {
    generator: String,
    wasi: WasiCtx,
    table: ResourceTable,
    budget: Budget,
    log_budget: u64,
    dropped_log_lines: u64,
    pub(crate) stdout: Captured,
    pub(crate) stderr: Captured,
}

/// Most core instances one generator instance may create (store-wide and,
/// with pooling, per component). The largest example (Python) has 13.
pub const MAX_CORE_INSTANCES: usize = 32;
/// Most linear memories of one generator instance (JavaScript has two).
pub const MAX_MEMORIES: usize = 4;
/// Most tables of one generator instance (the examples have two).
pub const MAX_TABLES: usize = 8;
/// Most elements of one table.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// A resource the guest asked for beyond its limit. Returned from the
/// limiter, so the guest traps (a refused `memory.grow` that returned -1
/// would leave many runtimes to abort with a less clear message).
#[derive(Debug, thiserror::Error)]
pub enum OverBudget {
    #[error(
        "forcing trap when growing memory: all memories of the instance would use {wanted} bytes, over the limit of {limit}"
    )]
    Memory { wanted: usize, limit: usize },
    #[error("forcing trap when growing a table to {wanted} elements, over the limit of {limit}")]
    Table { wanted: usize, limit: usize },
}

/// The memory limit counted over every memory of a store (wasmtime's own
/// `StoreLimits` applies its limit to each memory separately).
struct Budget {
    limit: usize,
    used: usize,
    /// Counted by the last `memory_growing`, given back if the grow failed.
    last: usize,
}

impl ResourceLimiter for Budget {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let extra = desired.saturating_sub(current);
        let wanted = self.used.saturating_add(extra);
        if wanted > self.limit {
            return Err(OverBudget::Memory { wanted, limit: self.limit }.into());
        }
        self.used = wanted;
        self.last = extra;
        Ok(true)
    }
    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.used -= std::mem::take(&mut self.last);
        Ok(())
    }
    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            return Err(OverBudget::Table { wanted: desired, limit: MAX_TABLE_ELEMENTS }.into());
        }
        Ok(true)
    }
    fn instances(&self) -> usize {
        MAX_CORE_INSTANCES
    }
    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
    fn tables(&self) -> usize {
        MAX_TABLES
    }
}

impl State {
    /// A fresh sandbox for `generator`, with `memory` bytes of linear memory
    /// (all memories together) and `max_log` bytes of log per event (each
    /// of stdout and stderr keeps as much; the rest is dropped).
    pub fn new(generator: &str, memory: u64, max_log: u64) -> State {
        let pipe_cap = max_log.max(1024) as usize;
        let stdout = Captured::new(pipe_cap);
        let stderr = Captured::new(pipe_cap);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FrozenWallClock)
            .monotonic_clock(VirtualMonotonicClock::default())
            .build();
        let budget = Budget { limit: usize::try_from(memory).unwrap_or(usize::MAX), used: 0, last: 0 };
        State {
            generator: generator.to_string(),
            wasi,
            table: ResourceTable::new(),
            budget,
            log_budget: max_log,
            dropped_log_lines: 0,
            stdout,
            stderr,
        }
    }

    /// The limiter wasmtime consults on every memory or table growth.
    pub fn limiter(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.budget
    }

    /// Log lines dropped because the per-event budget ran out.
    pub fn dropped_log_lines(&self) -> u64 {
        self.dropped_log_lines
    }

    /// Bytes of stdout and stderr dropped over the capture budget.
    pub fn dropped_output(&self) -> u64 {
        self.stdout.dropped() + self.stderr.dropped()
    }

    /// Spends log budget; false when the line must be dropped.
    pub(crate) fn take_log_budget(&mut self, bytes: usize) -> bool {
        if bytes as u64 > self.log_budget {
            self.dropped_log_lines += 1;
            self.log_budget = 0;
            return false;
        }
        self.log_budget -= bytes as u64;
        true
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl super::contract::v1::wasmpush::plugin::types::Host for State {}
impl super::contract::v2::wasmpush::plugin::types::Host for State {}

impl super::contract::v2::wasmpush::plugin::host::Host for State {
    fn log(&mut self, level: super::contract::v2::wasmpush::plugin::types::Level, message: String) {
        use super::contract::v2::wasmpush::plugin::types::Level as V2;
        let level = match level {
            V2::Trace => Level::Trace,
            V2::Debug => Level::Debug,
            V2::Info => Level::Info,
            V2::Warn => Level::Warn,
            V2::Error => Level::Error,
        };
        host::Host::log(self, level, message);
    }
}

impl host::Host for State {
    fn log(&mut self, level: Level, message: String) {
        // Every line costs at least 64 bytes of the budget: a loop of empty
        // log calls is bounded too.
        if !self.take_log_budget(message.len().max(64)) {
            return;
        }
        let message = super::error::printable(&message);
        let g = self.generator.as_str();
        match level {
            Level::Trace => tracing::trace!(generator = g, "{message}"),
            Level::Debug => tracing::debug!(generator = g, "{message}"),
            Level::Info => tracing::info!(generator = g, "{message}"),
            Level::Warn => tracing::warn!(generator = g, "{message}"),
            Level::Error => tracing::error!(generator = g, "{message}"),
        }
    }
}

/// The wall clock a generator sees: always the Unix epoch.
struct FrozenWallClock;

impl HostWallClock for FrozenWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// A monotonic clock that advances 1 µs per reading: time moves forward for
/// runtimes that need it, but reveals nothing about the host.
#[derive(Default)]
struct VirtualMonotonicClock(AtomicU64);

impl HostMonotonicClock for VirtualMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000
    }
    fn now(&self) -> u64 {
        self.0.fetch_add(1_000, Ordering::Relaxed) + 1_000
    }
}
