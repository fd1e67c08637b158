//! A stand-alone copy of the host's generator sandbox, for measuring.
//!
//! `wasmpush::runtime::Generator::generate` is one opaque call (new store,
//! new instance, call, drop). To see where its time goes, and to try engine
//! settings the host does not expose yet, this module rebuilds the same
//! sandbox from the same WIT with the same engine configuration as
//! `host/src/runtime/mod.rs` (pooling allocator, epoch interruption, 512 KiB
//! wasm stack, 32 backtrace frames) and the same store state as
//! `host/src/runtime/sandbox.rs` (WASI granting nothing, bounded stdout and
//! stderr pipes, frozen wall clock, virtual monotonic clock, store limits).
//!
//! [`EngineOptions`] adds the knobs under test: the pooling allocator's
//! `linear_memory_keep_resident` / `table_keep_resident` with the Linux
//! `PAGEMAP_SCAN` ioctl (reset only the pages a call dirtied, keep them
//! mapped), and reusing one instance for many calls (the lower bound of any
//! "fresh instance" scheme). It is benchmark code: nothing here is meant for
//! the service.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, StoreLimits, StoreLimitsBuilder,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "generator",
    });
}

pub use bindings::wasmpush::plugin::types::{Event, EventKind};
use bindings::wasmpush::plugin::{host, types::Level};

/// A wasmtime store for one generator call.
pub type Store = wasmtime::Store<State>;

/// Engine settings under test. [`EngineOptions::host`] is what the host uses today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// Pooling allocator (the host's default) instead of on-demand.
    pub pooling: bool,
    /// `PoolingAllocationConfig::linear_memory_keep_resident` (0 = off, the default).
    pub keep_resident: usize,
    /// `PoolingAllocationConfig::table_keep_resident` (0 = off, the default).
    pub table_keep_resident: usize,
    /// `PoolingAllocationConfig::pagemap_scan` (Linux ≥ 6.7): with
    /// keep-resident, reset only the pages the call dirtied.
    pub pagemap_scan: bool,
    /// The largest linear memory a generator may get (host default 256 MiB).
    pub max_memory: usize,
}

impl EngineOptions {
    /// Exactly what `wasmpush::runtime::Runtime::new` configures today.
    pub fn host() -> EngineOptions {
        EngineOptions {
            pooling: true,
            keep_resident: 0,
            table_keep_resident: 0,
            pagemap_scan: false,
            max_memory: 256 << 20,
        }
    }

    /// The host's settings plus pages kept resident between instances and
    /// reset with `PAGEMAP_SCAN` (the change proposed for the host).
    pub fn keep_resident(bytes: usize) -> EngineOptions {
        EngineOptions {
            keep_resident: bytes,
            table_keep_resident: 1 << 20,
            pagemap_scan: true,
            ..EngineOptions::host()
        }
    }

    /// A short label for tables.
    pub fn label(&self) -> String {
        if !self.pooling {
            return "on-demand".into();
        }
        if self.keep_resident == 0 {
            return "host (pooling)".into();
        }
        format!("keep-resident {} MiB{}", self.keep_resident >> 20, if self.pagemap_scan { " + pagemap" } else { "" })
    }
}

/// Whether this kernel supports the `PAGEMAP_SCAN` ioctl wasmtime can use.
pub fn pagemap_scan_available() -> bool {
    PoolingAllocationConfig::is_pagemap_scan_available()
}

/// Per-call store state, as in `host/src/runtime/sandbox.rs`.
pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    log_budget: u64,
    /// What the guest printed (bounded).
    pub stdout: MemoryOutputPipe,
    /// What the guest printed on stderr (bounded).
    pub stderr: MemoryOutputPipe,
}

impl State {
    /// A fresh sandbox with `memory` bytes of linear memory and `max_log` bytes of log.
    pub fn new(memory: u64, max_log: u64) -> State {
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
        State { wasi, table: ResourceTable::new(), limits, log_budget: max_log, stdout, stderr }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl bindings::wasmpush::plugin::types::Host for State {}

impl host::Host for State {
    fn log(&mut self, _level: Level, message: String) {
        self.log_budget = self.log_budget.saturating_sub(message.len() as u64);
    }
}

struct FrozenWallClock;

impl HostWallClock for FrozenWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

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

/// An engine and linker configured like the host's (plus [`EngineOptions`]).
pub struct ProtoRuntime {
    engine: Engine,
    linker: Linker<State>,
    /// The options it was built with.
    pub options: EngineOptions,
}

impl ProtoRuntime {
    /// Builds the engine and linker. Epoch interruption is on (as in the
    /// host); stores get a deadline far in the future, so no ticker thread is
    /// needed.
    pub fn new(options: EngineOptions) -> Result<ProtoRuntime> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.max_wasm_stack(512 << 10);
        config.wasm_backtrace_max_frames(std::num::NonZeroUsize::new(32));
        if options.pooling {
            let mut pool = PoolingAllocationConfig::default();
            pool.max_memory_size(options.max_memory);
            if options.keep_resident > 0 {
                pool.linear_memory_keep_resident(options.keep_resident);
            }
            if options.table_keep_resident > 0 {
                pool.table_keep_resident(options.table_keep_resident);
            }
            if options.pagemap_scan {
                pool.pagemap_scan(Enabled::Yes);
            }
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&config).map_err(|e| anyhow::anyhow!("engine ({}): {e:#}", options.label()))?;
        let mut linker: Linker<State> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| anyhow::anyhow!("linking WASI: {e:#}"))?;
        host::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)
            .map_err(|e| anyhow::anyhow!("linking host: {e:#}"))?;
        bindings::wasmpush::plugin::types::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)
            .map_err(|e| anyhow::anyhow!("linking types: {e:#}"))?;
        Ok(ProtoRuntime { engine, linker, options })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles and pre-links the component at `path`.
    pub fn load(&self, path: &Path) -> Result<ProtoGenerator> {
        let wasm = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let component =
            Component::new(&self.engine, &wasm).map_err(|e| anyhow::anyhow!("compiling {}: {e:#}", path.display()))?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow::anyhow!("linking {}: {e:#}", path.display()))?;
        let pre = bindings::GeneratorPre::new(pre)
            .map_err(|e| anyhow::anyhow!("{} is not a generator: {e:#}", path.display()))?;
        Ok(ProtoGenerator { pre, name: path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default() })
    }
}

/// A report as a prototype generator returned it.
#[derive(Debug, Clone)]
pub struct ProtoReport {
    /// Body bytes.
    pub body: Vec<u8>,
    /// `Content-Type` (empty = none).
    pub content_type: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Relative path under the reporter's URL.
    pub path: Option<String>,
}

/// Time spent in each step of one fresh-instance call.
#[derive(Debug, Clone, Copy, Default)]
pub struct Phases {
    /// `State::new` (WASI context, pipes, limits) + `Store::new` + limiter + deadline.
    pub state: Duration,
    /// `GeneratorPre::instantiate` (allocation, memory image, guest start).
    pub instantiate: Duration,
    /// `call_generate`: copying the event in, the guest's work, copying the report out.
    pub call: Duration,
    /// Dropping the store (the instance goes back to the pool, memory is reset).
    pub drop: Duration,
    /// Minor page faults taken by this thread during instantiate, call, drop.
    pub faults: [u64; 3],
}

impl Phases {
    /// The whole call.
    pub fn total(&self) -> Duration {
        self.state + self.instantiate + self.call + self.drop
    }
}

/// Minor page faults of the calling thread so far (`getrusage(RUSAGE_THREAD)`).
pub fn minor_faults() -> u64 {
    // SAFETY: an all-zero rusage is valid, and getrusage only writes into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    ru.ru_minflt as u64
}

/// A compiled, pre-linked generator.
pub struct ProtoGenerator {
    pre: bindings::GeneratorPre<State>,
    /// The file stem, for messages.
    pub name: String,
}

/// Default per-call limits (the host's defaults).
const MEMORY: u64 = 64 << 20;
const MAX_LOG: u64 = 64 << 10;

impl ProtoGenerator {
    /// A new store as the host makes one for every call.
    pub fn store(&self) -> Store {
        let mut store = wasmtime::Store::new(self.pre.engine(), State::new(MEMORY, MAX_LOG));
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(1 << 40);
        store.epoch_deadline_trap();
        store
    }

    fn check(
        &self,
        store: &Store,
        out: wasmtime::Result<
            Result<Option<bindings::wasmpush::plugin::types::Report>, bindings::wasmpush::plugin::types::GenerateError>,
        >,
    ) -> Result<usize> {
        let stderr = String::from_utf8_lossy(&store.data().stderr.contents()).into_owned();
        match out {
            Err(e) => bail!("generator {} trapped: {e:#}; stderr: {stderr}", self.name),
            Ok(Err(e)) => bail!("generator {} returned an error: {}", self.name, e.message),
            Ok(Ok(report)) => Ok(report.map_or(0, |r| r.body.len())),
        }
    }

    /// Fresh store + instance + call + drop: what the host does per event.
    /// Returns the body length (0 = no report).
    pub fn fresh(&self, event: &Event) -> Result<usize> {
        let mut store = self.store();
        let g = self.pre.instantiate(&mut store).map_err(|e| anyhow::anyhow!("instantiating {}: {e:#}", self.name))?;
        let out = g.call_generate(&mut store, event);
        self.check(&store, out)
    }

    /// Like [`ProtoGenerator::fresh`], returning the report itself.
    pub fn fresh_report(&self, event: &Event) -> Result<Option<ProtoReport>> {
        let mut store = self.store();
        let g = self.pre.instantiate(&mut store).map_err(|e| anyhow::anyhow!("instantiating {}: {e:#}", self.name))?;
        match g.call_generate(&mut store, event) {
            Err(e) => bail!("generator {} trapped: {e:#}", self.name),
            Ok(Err(e)) => bail!("generator {} returned an error: {}", self.name, e.message),
            Ok(Ok(r)) => Ok(r.map(|r| ProtoReport {
                body: r.body,
                content_type: r.content_type,
                headers: r.headers,
                path: r.path,
            })),
        }
    }

    /// Like [`ProtoGenerator::fresh`], timing each step.
    pub fn phases(&self, event: &Event) -> Result<(Phases, usize)> {
        let t0 = Instant::now();
        let mut store = self.store();
        let (t1, f1) = (Instant::now(), minor_faults());
        let g = self.pre.instantiate(&mut store).map_err(|e| anyhow::anyhow!("instantiating {}: {e:#}", self.name))?;
        let (t2, f2) = (Instant::now(), minor_faults());
        let out = g.call_generate(&mut store, event);
        let (t3, f3) = (Instant::now(), minor_faults());
        let len = self.check(&store, out)?;
        let (t4, f4) = (Instant::now(), minor_faults());
        drop(store);
        let (t5, f5) = (Instant::now(), minor_faults());
        let faults = [f2 - f1, f3 - f2, f5 - f4];
        Ok((Phases { state: t1 - t0, instantiate: t2 - t1, call: t3 - t2, drop: t5 - t4, faults }, len))
    }

    /// One instance kept for many calls.
    pub fn reused(&self) -> Result<Reused<'_>> {
        let mut store = self.store();
        let instance =
            self.pre.instantiate(&mut store).map_err(|e| anyhow::anyhow!("instantiating {}: {e:#}", self.name))?;
        Ok(Reused { generator: self, store, instance, calls: 0 })
    }
}

/// A live instance reused across calls (what "generate alone" measures).
/// Guests built for one call per instance may never free memory (the WAT
/// examples use a bump allocator), so callers replace it every
/// [`Reused::REFRESH`] calls, outside the timed part.
pub struct Reused<'a> {
    generator: &'a ProtoGenerator,
    store: Store,
    instance: bindings::Generator,
    calls: u64,
}

impl Reused<'_> {
    /// Calls after which a benchmark should take a new instance.
    pub const REFRESH: u64 = 1000;

    /// Calls made on this instance.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// Calls `generate` on the same instance; returns the body length.
    pub fn call(&mut self, event: &Event) -> Result<usize> {
        self.calls += 1;
        let out = self.instance.call_generate(&mut self.store, event);
        self.generator.check(&self.store, out)
    }
}

/// The WIT event for `kind` (`build-new`, `build-finished`, `buildset-complete`).
pub fn event(kind: wasmpush_sources::EventKind, payload: &str, settings: &[(String, String)]) -> Event {
    let kind = match kind {
        wasmpush_sources::EventKind::BuildNew => EventKind::BuildNew,
        wasmpush_sources::EventKind::BuildFinished => EventKind::BuildFinished,
        wasmpush_sources::EventKind::BuildsetComplete => EventKind::BuildsetComplete,
    };
    Event { kind, payload: payload.to_string(), settings: settings.to_vec() }
}
