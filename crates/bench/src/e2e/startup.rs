//! Start-up and memory (issue 5, item 3): a child process does what
//! `wasmpush run` does before its first event (`Config::load`, a Tokio
//! runtime, `Service::start`: engine, 5 generators compiled or taken from the
//! cache, outbox opened, HTTP clients built), says "ready", idles, then
//! optionally takes a load while its RSS is sampled.
//!
//! The parent stamps the shared monotonic clock just before `spawn`, so
//! "ready" counts exec, dynamic linking and everything up to ready.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wasmpush::dispatch::Dispatcher;
use wasmpush::service::Service;

use super::procs::status_kib;
use super::throughput::{shutdown, write_config};
use crate::clock::now_ns;
use crate::{paths, payloads};

/// The generators loaded at start-up: one per guest language.
pub const STARTUP_GENERATORS: [&str; 5] =
    ["buildbot-json", "c-summary", "js-github-status", "python-zulip", "wat-ping"];

/// A config with five reporters, one generator each, all pushing to `receiver`.
pub fn config_text(receiver: &str, dir: &Path, cache: &Path) -> Result<String> {
    let mut t = format!(
        "[runtime]\ncache_dir = {:?}\nworkers = 2\n\n[outbox]\npath = {:?}\n",
        cache.display().to_string(),
        dir.join("outbox.redb").display().to_string()
    );
    for stem in STARTUP_GENERATORS {
        let wasm = paths::generator(stem)?;
        t.push_str(&format!(
            "\n[[reporter]]\nname = \"{stem}\"\nserver_url = \"{receiver}/{stem}\"\n\n[[reporter.generator]]\nwasm = {:?}\nkind = \"build-status\"\nmode = \"all\"\n",
            wasm.display().to_string()
        ));
    }
    Ok(t)
}

/// One start of the probe.
#[derive(Debug, Clone, Default)]
pub struct StartResult {
    /// Parent's spawn → child's `main`.
    pub exec: Duration,
    /// Parent's spawn → child ready (generators loaded, outbox open).
    pub ready: Duration,
    /// RSS one second after ready, KiB, and its anonymous and file-backed parts.
    pub idle_rss_kib: u64,
    pub idle_anon_kib: u64,
    pub idle_file_kib: u64,
    /// Highest RSS sampled (every 5 ms) during the load, KiB (0 without load).
    pub load_rss_kib: u64,
    /// Kernel high-water mark at the end, KiB.
    pub hwm_kib: u64,
    /// `Service::start`'s steps redone one by one after ready (name, time).
    pub steps: Vec<(String, Duration)>,
    /// Reports the load produced and delivered, and how long it took.
    pub load_reports: u64,
    /// Wall time of the load (submit of the first event → all delivered).
    pub load_time: Duration,
}

/// Runs `exe probe CONFIG --load N` and collects what it prints.
pub fn run_probe(exe: &Path, config: &Path, load: usize) -> Result<StartResult> {
    let t0 = now_ns();
    let mut child = Command::new(exe)
        .arg("probe")
        .arg(config)
        .arg("--load")
        .arg(load.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {} probe", exe.display()))?;
    let stdout = child.stdout.take().context("probe stdout")?;
    let mut r = StartResult::default();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        let mut it = line.split_whitespace();
        let key = it.next().unwrap_or("");
        let vals: Vec<u64> = it.filter_map(|v| v.parse().ok()).collect();
        let v = |i: usize| vals.get(i).copied().unwrap_or(0);
        match key {
            "main" => r.exec = Duration::from_nanos(v(0).saturating_sub(t0)),
            "ready" => r.ready = Duration::from_nanos(v(0).saturating_sub(t0)),
            "step" => {
                let mut parts = line.split_whitespace().skip(1);
                if let (Some(name), Some(us)) = (parts.next(), parts.next().and_then(|v| v.parse::<u64>().ok())) {
                    r.steps.push((name.to_string(), Duration::from_micros(us)));
                }
            }
            "idle" => {
                r.idle_rss_kib = v(0);
                r.idle_anon_kib = v(1);
                r.idle_file_kib = v(2);
            }
            "load" => {
                r.load_rss_kib = v(0);
                r.hwm_kib = v(1);
                r.load_reports = v(2);
                r.load_time = Duration::from_micros(v(3));
            }
            _ => {}
        }
    }
    let status = child.wait()?;
    if !status.success() || r.ready.is_zero() {
        bail!("the start-up probe failed ({status})");
    }
    Ok(r)
}

/// The probe itself (`e2e probe CONFIG --load N`), in the child process.
pub fn probe_main(config: &Path, load: usize) -> Result<()> {
    println!("main {}", now_ns());
    let config = wasmpush::config::Config::load(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let rt = tokio::runtime::Runtime::new()?;
    let service = rt.block_on(Service::start(&config)).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("ready {}", now_ns());
    std::io::stdout().flush()?;
    std::thread::sleep(Duration::from_secs(1));
    let kib = |f: &str| status_kib(None, f).unwrap_or(0);
    println!("idle {} {} {}", kib("VmRSS"), kib("RssAnon"), kib("RssFile"));
    breakdown(&config, &rt)?;
    if load > 0 {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (peak, stop) = (peak.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(status_kib(None, "VmRSS").unwrap_or(0), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        let events = payloads::unique_events(&payloads::recorded_builds()?, load);
        let t = Instant::now();
        let d = Dispatcher::start(service.pipeline.clone(), service.delivery.clone(), config.runtime.workers);
        for e in events {
            d.submit(e);
        }
        let stats = d.finish()?;
        rt.block_on(service.delivery.wait_idle(Duration::from_secs(60)));
        let elapsed = t.elapsed();
        stop.store(true, Ordering::Relaxed);
        let _ = sampler.join();
        let (_, reports, failures, _, _) = stats.snapshot();
        if failures > 0 {
            bail!("{failures} generator failures under load");
        }
        println!(
            "load {} {} {} {}",
            peak.load(Ordering::Relaxed),
            status_kib(None, "VmHWM").unwrap_or(0),
            reports,
            elapsed.as_micros()
        );
    }
    rt.block_on(shutdown(service));
    Ok(())
}

/// Where start-up time goes: the steps of `Service::start` done again, one
/// by one, in the same (now warm) process. Prints `step <name> <µs>` lines.
fn breakdown(config: &wasmpush::config::Config, rt: &tokio::runtime::Runtime) -> Result<()> {
    use wasmpush::runtime::{Runtime, RuntimeOptions};
    let t = Instant::now();
    let runtime = Runtime::new(&RuntimeOptions {
        cache_dir: config.cache_dir(),
        pooling: config.runtime.pooling,
        max_memory: config.runtime.max_memory,
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("step engine {}", t.elapsed().as_micros());
    for (ri, r) in config.reporters.iter().enumerate() {
        for (gi, g) in r.generators.iter().enumerate() {
            let limits = wasmpush::plan::limits(config, ri, gi).map_err(|e| anyhow::anyhow!("{e}"))?;
            let t = Instant::now();
            let loaded = runtime
                .load(&config.resolve(std::path::Path::new(&g.wasm)), None, limits)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("step load:{} {}", loaded.name(), t.elapsed().as_micros());
        }
    }
    let targets = wasmpush::plan::targets(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let path = config.outbox_path().with_extension("breakdown.redb");
    let t = Instant::now();
    let delivery =
        rt.block_on(wasmpush_delivery::Delivery::open(&path, targets)).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("step outbox+clients {}", t.elapsed().as_micros());
    rt.block_on(delivery.shutdown());
    let _ = std::fs::remove_file(&path);
    Ok(())
}

/// Writes the probe's config into `dir` (outbox there, cache in `cache`).
pub fn prepare(dir: &Path, receiver: &str, cache: &Path) -> Result<std::path::PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    write_config(dir, &config_text(receiver, dir, cache)?)?;
    Ok(dir.join("wasmpush.toml"))
}
