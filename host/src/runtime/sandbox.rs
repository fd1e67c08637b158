//! What a generator instance can reach: its per-event store state.
//!
//! The WASI context grants nothing: no preopened directories, no environment,
//! no arguments, no sockets (wasmtime-wasi denies TCP, UDP and name lookups
//! unless enabled), no inherited stdio. stdout and stderr go to bounded
//! in-memory pipes that the host copies into its log, attributed to the
//! generator. Clocks are virtual: the wall clock is frozen at the Unix epoch
//! and the monotonic clock advances 1 µs per reading, so a generator's output
//! depends only on its input. Randomness is real (runtimes such as Python
//! seed hash tables from it; it leaks nothing).

use super::bindings::wasmpush::plugin::{host, types::Level};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// State of one store: one generator handling one event.
pub struct State {
    generator: String,
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    log_budget: u64,
    dropped_log_lines: u64,
    pub(crate) stdout: MemoryOutputPipe,
    pub(crate) stderr: MemoryOutputPipe,
}

impl State {
    /// A fresh sandbox for `generator`, with `memory` bytes of linear memory
    /// and `max_log` bytes of log per event.
    pub fn new(generator: &str, memory: u64, max_log: u64) -> State {
        let pipe_cap = max_log.max(1024) as usize;
        let stdout = MemoryOutputPipe::new(pipe_cap);
        let stderr = MemoryOutputPipe::new(pipe_cap);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FrozenWallClock)
            .monotonic_clock(VirtualMonotonicClock::default())
            .build();
        let limits = StoreLimitsBuilder::new()
            .memory_size(usize::try_from(memory).unwrap_or(usize::MAX))
            .table_elements(1 << 20)
            .trap_on_grow_failure(true)
            .build();
        State {
            generator: generator.to_string(),
            wasi,
            table: ResourceTable::new(),
            limits,
            log_budget: max_log,
            dropped_log_lines: 0,
            stdout,
            stderr,
        }
    }

    /// The limiter wasmtime consults on every memory or table growth.
    pub fn limiter(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.limits
    }

    /// Log lines dropped because the per-event budget ran out.
    pub fn dropped_log_lines(&self) -> u64 {
        self.dropped_log_lines
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

impl super::bindings::wasmpush::plugin::types::Host for State {}

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
