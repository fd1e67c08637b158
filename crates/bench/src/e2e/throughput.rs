//! wasmpush's side of the end-to-end bench: recorded events → filters →
//! a generator (`buildbot-json` by default) → outbox → HTTP push to the
//! receiver, with the host's own `Service` pieces (config, runtime,
//! pipeline, `Delivery` with its redb outbox, `Dispatcher`) and nothing else.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wasmpush::config::Config;
use wasmpush::dispatch::Dispatcher;
use wasmpush::pipeline::report_id;
use wasmpush::service::Service;
use wasmpush_sources::SourceEvent;

use super::procs::{ReceiverProcess, self_cpu};
use crate::clock::now_ns;
use crate::stats::{Summary, summarize};

/// The reporter name every cell uses (part of the report ids).
pub const REPORTER: &str = "bench";

/// What one cell measured.
#[derive(Debug, Clone)]
pub struct CellResult {
    /// The generator's file stem (e.g. `chat-message`).
    pub generator: String,
    /// Generator worker threads.
    pub workers: usize,
    /// Reports pushed (a generator may decline some events).
    pub reports: usize,
    /// First submit → last arrival.
    pub elapsed: Duration,
    /// Reports per second over `elapsed`.
    pub rate: f64,
    /// Submit → arrival at the receiver, per report.
    pub latency: Summary,
    /// CPU of the wasmpush process (all threads) per report.
    pub cpu_per_report: Duration,
    /// CPU of the receiver process per report.
    pub receiver_cpu_per_report: Duration,
    /// Mean request body received, bytes.
    pub mean_body: usize,
}

/// The config of one cell: one reporter with `generator` (`buildbot-json`
/// gives Buildbot's default body), Buildbot's default generator filters, pushing to the
/// receiver; outbox in `dir`; warm compile cache in `cache`.
pub fn config_text(receiver: &str, generator: &Path, dir: &Path, cache: &Path, workers: usize) -> String {
    format!(
        r#"[runtime]
cache_dir = {cache:?}
workers = {workers}

[outbox]
path = {outbox:?}

[[reporter]]
name = "{REPORTER}"
server_url = "{receiver}/bench"

[[reporter.generator]]
wasm = {generator:?}
kind = "build-status"
mode = "all"
"#,
        cache = cache.display().to_string(),
        outbox = dir.join("outbox.redb").display().to_string(),
        generator = generator.display().to_string(),
    )
}

/// Loads `text` as a config file written to `dir/wasmpush.toml`.
pub fn write_config(dir: &Path, text: &str) -> Result<Config> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("wasmpush.toml");
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Config::load(&path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Stops delivery and closes the outbox (as `wasmpush run` does on exit).
pub async fn shutdown(service: Service) {
    service.shutdown().await;
}

/// What every cell shares: the Tokio runtime delivery runs on, the
/// receiver, the generator file and a scratch folder.
pub struct Harness<'a> {
    /// Runs `Delivery`'s tasks.
    pub rt: &'a tokio::runtime::Runtime,
    /// Where reports go.
    pub receiver: &'a ReceiverProcess,
    /// The generator's `.wasm` (`buildbot-json.wasm` by default).
    pub generator: &'a Path,
    /// Outboxes and the compile cache live here.
    pub scratch: &'a Path,
}

/// Runs one cell: all `events` submitted as fast as the dispatcher takes
/// them (it blocks when a worker's queue of 256 is full), until every
/// report arrived at the receiver or `timeout` passed.
pub fn run_cell(h: &Harness<'_>, events: &[SourceEvent], workers: usize, timeout: Duration) -> Result<CellResult> {
    let Harness { rt, receiver, generator, scratch } = *h;
    let stem = generator.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = scratch.join(format!("cell-{stem}-{workers}"));
    let _ = std::fs::remove_dir_all(&dir);
    let config = write_config(&dir, &config_text(&receiver.url(), generator, &dir, &scratch.join("cache"), workers))?;
    let service = rt.block_on(Service::start(&config)).map_err(|e| anyhow::anyhow!("{e}"))?;
    receiver.reset()?;
    let ids: Vec<String> = events.iter().map(|e| report_id(REPORTER, &e.event_id())).collect();
    let batch: Vec<SourceEvent> = events.to_vec();
    let n = batch.len();
    let mut submitted = Vec::with_capacity(n);
    let (cpu0, rcpu0) = (self_cpu(), receiver.cpu());
    let t0 = now_ns();
    let d = Dispatcher::start(service.pipeline.clone(), service.delivery.clone(), workers);
    for e in batch {
        submitted.push(now_ns());
        d.submit(e);
    }
    // A generator may decline events (chat-message skips some): once every
    // event is handled, wait for the reports it made, not for one per event.
    let stats = d.finish()?;
    let (_, reports, failures, refused, enq) = stats.snapshot();
    let want = usize::try_from(reports).unwrap_or(usize::MAX);
    let got = receiver.wait_for(want, timeout)?;
    if got < want || failures + refused + enq > 0 {
        bail!(
            "{stem}: {got} of {want} reports arrived within {timeout:?} ({n} events; failures {failures}, refused {refused}, enqueue failures {enq})"
        );
    }
    let (cpu1, rcpu1) = (self_cpu(), receiver.cpu());
    let hits = receiver.dump()?;
    rt.block_on(service.delivery.wait_idle(Duration::from_secs(10)));
    rt.block_on(shutdown(service));
    let _ = std::fs::remove_dir_all(&dir);

    let arrival: HashMap<&str, u64> = hits.iter().map(|h| (h.id.as_str(), h.at_ns)).collect();
    let mut lat = Vec::with_capacity(n);
    let mut last = t0;
    for (id, sub) in ids.iter().zip(&submitted) {
        // Declined events have no report (the count was checked above).
        let Some(&at) = arrival.get(id.as_str()) else { continue };
        last = last.max(at);
        lat.push(Duration::from_nanos(at.saturating_sub(*sub)));
    }
    let elapsed = Duration::from_nanos(last - t0);
    Ok(CellResult {
        generator: stem,
        workers,
        reports: want,
        elapsed,
        rate: want as f64 / elapsed.as_secs_f64(),
        latency: summarize(&lat),
        cpu_per_report: (cpu1 - cpu0) / want.max(1) as u32,
        receiver_cpu_per_report: rcpu1.saturating_sub(rcpu0) / want.max(1) as u32,
        mean_body: hits.iter().map(|h| h.bytes).sum::<usize>() / hits.len().max(1),
    })
}

/// One report at a time through the host's dispatcher (1 worker): submit,
/// wait until delivery has its 2xx, next. Submit → 2xx per report.
pub fn unloaded_latency(h: &Harness<'_>, events: &[SourceEvent]) -> Result<Summary> {
    let Harness { rt, receiver, generator, scratch } = *h;
    let dir: PathBuf = scratch.join("cell-unloaded");
    let _ = std::fs::remove_dir_all(&dir);
    let config = write_config(&dir, &config_text(&receiver.url(), generator, &dir, &scratch.join("cache"), 1))?;
    let service = rt.block_on(Service::start(&config)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let d = Dispatcher::start(service.pipeline.clone(), service.delivery.clone(), 1);
    let mut lat = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let t = Instant::now();
        d.submit(e.clone());
        while service.delivery.stats().sent < i as u64 + 1 {
            if t.elapsed() > Duration::from_secs(10) {
                bail!("report {i} was not delivered within 10 s");
            }
            std::thread::yield_now();
        }
        lat.push(t.elapsed());
    }
    d.finish()?;
    rt.block_on(shutdown(service));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(summarize(&lat))
}
