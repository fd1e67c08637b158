//! The sandboxed Wasm runtime: load generators once, run each event in a
//! fresh, limited instance.
//!
//! One [`Runtime`] holds the wasmtime [`Engine`] (pooling allocator, epoch
//! interruption) and a [`Linker`] with WASI (granting nothing, see
//! [`sandbox`]) and the host's `log`. [`Runtime::load`] compiles a component
//! (or takes it from the [`cache`]), pre-links it and asks it to describe
//! itself. [`Generator::generate`] then creates a new store and instance for
//! every call, so nothing survives from one build to the next, and turns every
//! failure into a [`GenerateError`] naming the generator.

pub mod cache;
pub mod capture;
pub mod error;
pub mod limits;
pub mod sandbox;

mod contract;

pub use cache::{Cache, CacheOutcome};
pub use error::{Cause, GenerateError, LoadError};
pub use limits::Limits;

use contract::{Instance, Pre};
use sandbox::State;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use wasmpush_model::histogram::{CALL_BOUNDS, Histogram, Snapshot};
pub use wasmpush_model::method::Method;
use wasmpush_sources::EventKind;
/// Payload parts a generator needs (the WIT `needs` record; `kinds` are its events).
pub use wasmpush_sources::buildbot::{LogContents, Needs};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

/// How often the epoch advances; timeouts are rounded up to this.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Engine-wide settings.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Where compiled components are kept; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Use wasmtime's pooling allocator (faster instantiation).
    pub pooling: bool,
    /// The largest memory limit any generator may be given.
    pub max_memory: u64,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions { cache_dir: None, pooling: true, max_memory: 256 << 20 }
    }
}

/// The engine, linker and cache shared by every generator.
pub struct Runtime {
    engine: Engine,
    linker: Linker<State>,
    cache: Option<Cache>,
    max_memory: u64,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    /// Builds the engine and linker and starts the epoch ticker.
    pub fn new(options: &RuntimeOptions) -> Result<Runtime, LoadError> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.max_wasm_stack(512 << 10);
        config.wasm_backtrace_max_frames(std::num::NonZeroUsize::new(32));
        if options.pooling {
            let mut pool = PoolingAllocationConfig::default();
            pool.max_memory_size(usize::try_from(options.max_memory).unwrap_or(usize::MAX));
            // Per component, checked when it is loaded: one component cannot
            // take the pool's slots from every other generator.
            pool.max_core_instances_per_component(sandbox::MAX_CORE_INSTANCES as u32);
            pool.max_memories_per_component(sandbox::MAX_MEMORIES as u32);
            pool.max_tables_per_component(sandbox::MAX_TABLES as u32);
            // Where the kernel can tell which pages an instance dirtied
            // (PAGEMAP_SCAN, Linux >= 6.7), keep slots' pages resident and
            // reset only those: no page faults and no madvise per event
            // (measured in crates/bench: 25-65 % less per fresh instance).
            // Without it, keeping pages resident would mean clearing them
            // all on every event, so it stays off.
            if PoolingAllocationConfig::is_pagemap_scan_available() {
                pool.pagemap_scan(wasmtime::Enabled::Yes);
                pool.linear_memory_keep_resident(16 << 20);
                pool.table_keep_resident(1 << 20);
            }
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&config)
            .map_err(|e| LoadError::Invalid { path: PathBuf::from("<engine>"), reason: format!("{e:#}") })?;
        let mut linker: Linker<State> = Linker::new(&engine);
        let link_err =
            |e: wasmtime::Error| LoadError::Invalid { path: PathBuf::from("<linker>"), reason: format!("{e:#}") };
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(link_err)?;
        contract::add_to_linker(&mut linker).map_err(link_err)?;
        let cache = match &options.cache_dir {
            Some(dir) => Some(Cache::open(dir, &engine)?),
            None => None,
        };
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let (engine2, stop) = (engine.clone(), ticker_stop.clone());
        std::thread::Builder::new()
            .name("wasmpush-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine2.increment_epoch();
                }
            })
            .map_err(|source| LoadError::Cache { path: PathBuf::from("<epoch thread>"), source })?;
        Ok(Runtime { engine, linker, cache, max_memory: options.max_memory, ticker_stop })
    }

    /// The engine (for benchmarks and tools).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Loads the component at `path` under the name `name` (as used in logs
    /// and errors), with `limits`. With a cache, a file whose identity is
    /// unchanged since the plugin fetcher recorded its digest is not read
    /// when its compiled entry exists (this does not write the record).
    pub fn load(&self, path: &Path, name: Option<&str>, limits: Limits) -> Result<Generator, LoadError> {
        let read_err = |source| LoadError::Read { path: path.to_path_buf(), source };
        let meta = std::fs::metadata(path).map_err(read_err)?;
        if let Some(sha256) = self.cache.as_ref().and_then(|c| c.file_digests().recall(path, &meta)) {
            return self.load_digested(&[], &sha256.hex(), path, name, limits);
        }
        let wasm = std::fs::read(path).map_err(read_err)?;
        self.load_bytes(&wasm, path, name, limits)
    }

    /// Like [`Runtime::load`] for bytes already in memory; `path` is only
    /// used in messages.
    pub fn load_bytes(
        &self,
        wasm: &[u8],
        path: &Path,
        name: Option<&str>,
        limits: Limits,
    ) -> Result<Generator, LoadError> {
        self.load_digested(wasm, &hex::encode(Sha256::digest(wasm)), path, name, limits)
    }

    /// Like [`Runtime::load_bytes`] when the hex sha256 of `wasm` is already
    /// known (the plugin fetcher computed it while checking the pin), so a
    /// large component is not hashed twice at start. `wasm` is empty when
    /// the fetcher did not read the file (its identity record gave the
    /// digest): the compiled entry is taken from the cache, or the file at
    /// `path` is read and must still hash to `sha256`.
    pub fn load_digested(
        &self,
        wasm: &[u8],
        sha256: &str,
        path: &Path,
        name: Option<&str>,
        limits: Limits,
    ) -> Result<Generator, LoadError> {
        if limits.memory > self.max_memory {
            return Err(LoadError::BadInfo {
                path: path.to_path_buf(),
                reason: format!(
                    "memory limit {} is over the runtime's maximum of {} bytes",
                    limits.memory, self.max_memory
                ),
            });
        }
        let sha256 = sha256.to_string();
        let invalid = |e: wasmtime::Error| LoadError::Invalid { path: path.to_path_buf(), reason: format!("{e:#}") };
        let (component, origin) = match &self.cache {
            Some(cache) => cache.load(&self.engine, wasm, &sha256, path)?,
            None if wasm.is_empty() => {
                let read = cache::read_verified(path, &sha256)?;
                (Component::new(&self.engine, &read).map_err(invalid)?, CacheOutcome::Compiled)
            }
            None => (Component::new(&self.engine, wasm).map_err(invalid)?, CacheOutcome::Compiled),
        };
        let wrong_world =
            |e: wasmtime::Error| LoadError::WrongWorld { path: path.to_path_buf(), reason: format!("{e:#}") };
        let instance_pre = self.linker.instantiate_pre(&component).map_err(wrong_world)?;
        let pre =
            Pre::new(instance_pre).map_err(|reason| LoadError::WrongWorld { path: path.to_path_buf(), reason })?;
        let mut generator = Generator {
            name: name.unwrap_or("").to_string(),
            path: path.to_path_buf(),
            sha256,
            origin,
            info: Info {
                name: String::new(),
                version: String::new(),
                description: String::new(),
                events: Vec::new(),
                needs: Needs::nothing(),
            },
            limits,
            pre,
            calls: CallCounters::default(),
        };
        let label = if generator.name.is_empty() { path.display().to_string() } else { generator.name.clone() };
        generator.name = label;
        let info = generator
            .describe()
            .map_err(|e| LoadError::Describe { path: path.to_path_buf(), reason: e.cause.to_string() })?;
        if info.name.trim().is_empty() {
            return Err(LoadError::BadInfo { path: path.to_path_buf(), reason: "empty name".into() });
        }
        for (field, text, max) in [("name", &info.name, 128), ("version", &info.version, 64)] {
            check_label(field, text, max).map_err(|reason| LoadError::BadInfo { path: path.to_path_buf(), reason })?;
        }
        if name.is_none() {
            generator.name = info.name.clone();
        }
        generator.info = info;
        tracing::info!(
            generator = %generator.name,
            version = %generator.info.version,
            sha256 = %generator.sha256,
            cache = if origin == CacheOutcome::Cached { "hit" } else { "miss" },
            "loaded generator"
        );
        Ok(generator)
    }
}

/// A guest-chosen label (its name or version) ends up in log lines, error
/// messages and `wasmpush outbox list`: it must be short and printable, so
/// a plugin cannot forge log lines or drive a terminal with it.
fn check_label(field: &str, text: &str, max: usize) -> Result<(), String> {
    if text.len() > max {
        return Err(format!("{field} is {} bytes long (at most {max})", text.len()));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{field} {:?} contains control characters", error::printable(text)));
    }
    Ok(())
}

#[cfg(test)]
mod label_tests {
    #[test]
    fn guest_labels_are_short_and_printable() {
        assert!(super::check_label("name", "buildbot-json", 128).is_ok());
        let forged = super::check_label("name", "x\n2026-12-03 ERROR fake", 128).unwrap_err();
        assert!(forged.contains("control characters") && !forged.contains('\n'), "{forged}");
        assert!(super::check_label("version", &"9".repeat(65), 64).unwrap_err().contains("at most 64"));
    }
}

/// What a generator says about itself (the WIT `info` record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub name: String,
    pub version: String,
    pub description: String,
    pub events: Vec<EventKind>,
    pub needs: Needs,
}

/// One request as the generator returned it, before the host's policy
/// checks. A 0.1 generator's report is a `POST` with no supersede key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub method: Method,
    pub body: Vec<u8>,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    /// Relative path, with an optional `?query`.
    pub path: Option<String>,
    /// A newer report of the same reporter with this key replaces a waiting one.
    pub supersede: Option<String>,
    /// (name, JSON pointer) of response values to keep for the same build.
    pub keep: Vec<(String, String)>,
    /// Fill `{name}` placeholders in path and body from kept values at send time.
    pub fill: bool,
}

/// The steps of one fresh-instance call, in order, as reported to
/// [`Generator::generate_marked`] when each ends (for benchmarks).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Store and sandbox state made (WASI context, pipes, limiter, deadline).
    Store,
    /// Component instantiated (pool slot, memory image, guest start).
    Instantiate,
    /// `generate` returned (event copied in, guest work, reports copied out).
    Call,
    /// The guest's stdout and stderr forwarded to the log.
    Output,
    /// Store dropped: the pool slot is reset and returned.
    Drop,
}

/// A loaded, pre-linked generator. Cheap to share between threads; every
/// call to [`Generator::generate`] gets its own instance.
pub struct Generator {
    name: String,
    path: PathBuf,
    sha256: String,
    origin: CacheOutcome,
    info: Info,
    limits: Limits,
    pre: Pre,
    calls: CallCounters,
}

/// What a generator's `generate` calls did since it was loaded (for
/// metrics).
#[derive(Debug)]
struct CallCounters {
    calls: AtomicU64,
    failures: AtomicU64,
    micros: AtomicU64,
    /// Time per call, by bucket.
    time: Histogram,
    /// The last failure, as the user sees it (names the generator).
    last_error: std::sync::Mutex<Option<String>>,
}

impl Default for CallCounters {
    fn default() -> CallCounters {
        CallCounters {
            calls: AtomicU64::default(),
            failures: AtomicU64::default(),
            micros: AtomicU64::default(),
            time: Histogram::new(CALL_BOUNDS),
            last_error: std::sync::Mutex::default(),
        }
    }
}

/// A snapshot of a generator's [`Generator::generate`] calls.
#[derive(Debug, Clone, PartialEq)]
pub struct CallStats {
    /// Calls made.
    pub calls: u64,
    /// Calls that failed (time, memory, trap, guest error, limits).
    pub failures: u64,
    /// Time spent in them, in µs (instantiation included).
    pub micros: u64,
    /// Time per call, by bucket.
    pub time: Snapshot,
    /// The last failure's message.
    pub last_error: Option<String>,
}

impl Generator {
    /// Counts of its `generate` calls since it was loaded.
    pub fn call_stats(&self) -> CallStats {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CallStats {
            calls: l(&self.calls.calls),
            failures: l(&self.calls.failures),
            micros: l(&self.calls.micros),
            time: self.calls.time.snapshot(),
            last_error: self.calls.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    /// The name used in logs and errors (configured, else the generator's own).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Hex sha256 of the `.wasm` bytes.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
    /// Whether loading hit the compiled-component cache.
    pub fn origin(&self) -> CacheOutcome {
        self.origin
    }
    /// The generator's own description.
    pub fn info(&self) -> &Info {
        &self.info
    }
    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
    /// The contract it implements: `"0.1.0"` or `"0.2.0"`.
    pub fn contract(&self) -> &'static str {
        self.pre.contract()
    }
    /// Whether the generator declared interest in `kind`.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.info.events.contains(&kind)
    }

    fn store(&self) -> Store<State> {
        let mut store = Store::new(self.pre.engine(), State::new(&self.name, self.limits.memory, self.limits.max_log));
        store.limiter(|s| s.limiter());
        let ticks = self.limits.timeout.as_micros().div_ceil(EPOCH_TICK.as_micros()).max(1) as u64;
        // +1: the current tick may be about to end.
        store.set_epoch_deadline(ticks + 1);
        store.epoch_deadline_trap();
        store
    }

    fn run<T>(
        &self,
        mark: &mut dyn FnMut(Step),
        call: impl FnOnce(&mut Store<State>, Instance) -> wasmtime::Result<T>,
    ) -> Result<T, GenerateError> {
        let mut store = self.store();
        mark(Step::Store);
        let fail = |cause| GenerateError { generator: self.name.clone(), cause };
        let instance = self.pre.instantiate(&mut store);
        mark(Step::Instantiate);
        let result = match instance {
            Ok(instance) => call(&mut store, instance),
            Err(e) => Err(e),
        };
        mark(Step::Call);
        let stderr = String::from_utf8_lossy(&store.data().stderr.contents()).into_owned();
        self.forward_output(store.data(), &stderr);
        mark(Step::Output);
        drop(store);
        mark(Step::Drop);
        result.map_err(|e| fail(error::classify(&e, &stderr, &self.limits)))
    }

    /// Benchmarks only, never used by the service: `calls` calls of
    /// `generate` on **one** instance (state survives between them), each
    /// timed. It is the floor under any fresh-instance scheme: the guest's
    /// own work on a warm instance. Keep `calls` small (the instance has
    /// one call's timeout and memory limit for all of them).
    #[doc(hidden)]
    pub fn time_reused_calls(
        &self,
        kind: EventKind,
        payload: &str,
        settings: &[(String, String)],
        calls: usize,
    ) -> Result<Vec<Duration>, GenerateError> {
        let guest = |e: String| GenerateError {
            generator: self.name.clone(),
            cause: Cause::Guest { message: error::truncate(&e, 2000) },
        };
        self.run(&mut |_| {}, |store, g| {
            let mut took = Vec::with_capacity(calls);
            for _ in 0..calls {
                let t = std::time::Instant::now();
                let out = g.generate(store, kind, payload, settings)?;
                took.push(t.elapsed());
                if let Err(e) = out {
                    return Ok(Err(e));
                }
            }
            Ok(Ok(took))
        })?
        .map_err(guest)
    }

    /// Copies what the guest printed into the host log, attributed to it.
    fn forward_output(&self, state: &State, stderr: &str) {
        let stdout = state.stdout.contents();
        for (stream, text) in [("stdout", String::from_utf8_lossy(&stdout).as_ref()), ("stderr", stderr)] {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                tracing::info!(generator = %self.name, stream, "{}", error::truncate(line, 1000));
            }
        }
        if state.dropped_log_lines() > 0 {
            tracing::warn!(generator = %self.name, dropped = state.dropped_log_lines(), "log budget exhausted; lines dropped");
        }
        if state.dropped_output() > 0 {
            tracing::warn!(generator = %self.name, dropped_bytes = state.dropped_output(), "stdout/stderr over the log budget; the rest was dropped");
        }
    }

    fn describe(&self) -> Result<Info, GenerateError> {
        self.run(&mut |_| {}, |store, g| g.describe(store))
    }

    /// Runs the generator on one event in a fresh instance: the requests to
    /// send, in order (empty: nothing to send). `payload` is the JSON text of
    /// the payload; `settings` the generator's configured key/values. The
    /// limits apply to the event's requests together.
    pub fn generate_all(
        &self,
        kind: EventKind,
        payload: &str,
        settings: &[(String, String)],
    ) -> Result<Vec<Report>, GenerateError> {
        self.generate_marked(kind, payload, settings, &mut |_| {})
    }

    /// [`Generator::generate_all`] calling `mark` as each [`Step`] of the
    /// fresh-instance call ends, so a benchmark can time the product's own
    /// call step by step (the service passes a no-op).
    #[doc(hidden)]
    pub fn generate_marked(
        &self,
        kind: EventKind,
        payload: &str,
        settings: &[(String, String)],
        mark: &mut dyn FnMut(Step),
    ) -> Result<Vec<Report>, GenerateError> {
        let started = std::time::Instant::now();
        let result = self.generate_once(kind, payload, settings, mark);
        let c = &self.calls;
        c.calls.fetch_add(1, Ordering::Relaxed);
        c.failures.fetch_add(u64::from(result.is_err()), Ordering::Relaxed);
        let took = started.elapsed();
        c.micros.fetch_add(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
        c.time.observe(took);
        if let Err(e) = &result {
            *c.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
        }
        result
    }

    /// [`Generator::generate_all`] for callers that expect at most one
    /// request (0.1-style tools and tests): the first one; more than one is
    /// an error naming the count.
    pub fn generate(
        &self,
        kind: EventKind,
        payload: &str,
        settings: &[(String, String)],
    ) -> Result<Option<Report>, GenerateError> {
        let mut all = self.generate_all(kind, payload, settings)?;
        if all.len() > 1 {
            let cause = Cause::TooManyRequests { count: all.len(), limit: 1 };
            return Err(GenerateError { generator: self.name.clone(), cause });
        }
        Ok(all.pop())
    }

    fn generate_once(
        &self,
        kind: EventKind,
        payload: &str,
        settings: &[(String, String)],
        mark: &mut dyn FnMut(Step),
    ) -> Result<Vec<Report>, GenerateError> {
        let fail = |cause| GenerateError { generator: self.name.clone(), cause };
        let guest = |e: String| fail(Cause::Guest { message: error::truncate(&e, 2000) });
        let reports = self.run(mark, |store, g| g.generate(store, kind, payload, settings))?.map_err(guest)?;
        self.check_output(&reports).map_err(fail)?;
        Ok(reports)
    }

    /// The limits over an event's requests: count, headers per request,
    /// and the size of everything stored.
    fn check_output(&self, reports: &[Report]) -> Result<(), Cause> {
        let limits = &self.limits;
        if reports.len() > limits.max_requests {
            return Err(Cause::TooManyRequests { count: reports.len(), limit: limits.max_requests });
        }
        let mut size = 0u64;
        for (index, r) in reports.iter().enumerate() {
            if r.headers.len() > limits.max_headers {
                return Err(Cause::TooManyHeaders { count: r.headers.len(), limit: limits.max_headers });
            }
            let header_bytes: u64 = r.headers.iter().map(|(n, v)| (n.len() + v.len()) as u64).sum();
            if header_bytes > limits.max_header_bytes {
                return Err(Cause::HeadersTooLarge { size: header_bytes, limit: limits.max_header_bytes });
            }
            if let Some(key) = &r.supersede
                && (key.is_empty() || key.len() > 512 || key.chars().any(char::is_control))
            {
                let reason = "a supersede key must be 1..=512 printable bytes".to_string();
                return Err(Cause::BadRequest { index, reason });
            }
            for (name, pointer) in &r.keep {
                if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    let reason = format!("keep name {:?}: 1..=64 ASCII letters, digits or `_`", error::printable(name));
                    return Err(Cause::BadRequest { index, reason });
                }
                if !(pointer.is_empty() || pointer.starts_with('/')) {
                    let reason = format!("keep pointer {:?} is not a JSON pointer", error::printable(pointer));
                    return Err(Cause::BadRequest { index, reason });
                }
            }
            let keep_bytes: u64 = r.keep.iter().map(|(n, p)| (n.len() + p.len()) as u64).sum();
            size += r.body.len() as u64
                + r.content_type.len() as u64
                + r.path.as_ref().map_or(0, |p| p.len() as u64)
                + r.supersede.as_ref().map_or(0, |k| k.len() as u64)
                + keep_bytes
                + header_bytes;
        }
        if size > limits.max_output {
            return Err(Cause::OutputTooLarge { size, limit: limits.max_output });
        }
        Ok(())
    }
}
