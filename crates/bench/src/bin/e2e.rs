//! The end-to-end benchmark (issue 5, items 2 and 3), one command:
//!
//! ```text
//! cargo run -p wasmpush-bench --bin e2e [-- OPTIONS]
//! ```
//!
//! It starts everything it needs and stops it: a receiver process on
//! 127.0.0.1 answering 200 at once; wasmpush's own service pieces
//! (`Service::start`, `Dispatcher`, `Delivery`) in this process for each
//! worker count and each generator; Buildbot 4.3.0's `HttpStatusPush` in the Buildbot venv
//! (`tests/buildbot/setup.sh`, or `$BUILDBOT_PYTHON`) sending the same build
//! objects to the same receiver; then start-up and memory probes (child
//! processes). Prints a Markdown report and writes it to
//! `target/bench-results/e2e.md`. Takes about 2–4 minutes.
//!
//! Options: `--events N` (wasmpush reports per cell, default 20000),
//! `--workers 1,2,4`, `--generators buildbot-json,chat-message` (example
//! generator stems, one set of cells each; default `buildbot-json`, Buildbot's
//! default body; the Buildbot peer always sends that body), `--peer-events N`
//! (default 2000), `--peer-concurrency 1,2,4`, `--peer-backends
//! txrequests,treq`, `--no-peer`, `--no-startup`, `--warm-runs N` (default
//! 5), `--load N` (events for the memory-under-load probe, default 1000).
//!
//! Internal sub-commands (run by the bench itself): `receiver`, `probe`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wasmpush::runtime::{Limits, Runtime, RuntimeOptions};
use wasmpush_bench::e2e::procs::ReceiverProcess;
use wasmpush_bench::e2e::report::{E2eReport, loadavg};
use wasmpush_bench::e2e::throughput::{Harness, run_cell, unloaded_latency};
use wasmpush_bench::e2e::{peer, startup};
use wasmpush_bench::{paths, payloads, receiver};

struct Options {
    events: usize,
    workers: Vec<usize>,
    generators: Vec<String>,
    peer_events: usize,
    peer_concurrency: Vec<usize>,
    peer_backends: Vec<String>,
    peer: bool,
    startup: bool,
    warm_runs: usize,
    load: usize,
}

fn list(v: Option<String>, what: &str) -> Result<Vec<usize>> {
    let v = v.with_context(|| format!("{what} needs a value"))?;
    v.split(',').map(|x| x.trim().parse::<usize>().with_context(|| format!("{what}: {x:?} is not a number"))).collect()
}

fn number(v: Option<String>, what: &str) -> Result<usize> {
    v.with_context(|| format!("{what} needs a value"))?.parse().with_context(|| format!("{what} needs a number"))
}

fn options(args: Vec<String>) -> Result<Options> {
    let mut o = Options {
        events: 20_000,
        workers: vec![1, 2, 4],
        generators: vec!["buildbot-json".into()],
        peer_events: 2_000,
        peer_concurrency: vec![1, 2, 4],
        peer_backends: vec!["txrequests".into(), "treq".into()],
        peer: true,
        startup: true,
        warm_runs: 5,
        load: 1_000,
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--events" => o.events = number(it.next(), "--events")?,
            "--workers" => o.workers = list(it.next(), "--workers")?,
            "--generators" => {
                o.generators = it.next().context("--generators needs a value")?.split(',').map(String::from).collect()
            }
            "--peer-events" => o.peer_events = number(it.next(), "--peer-events")?,
            "--peer-concurrency" => o.peer_concurrency = list(it.next(), "--peer-concurrency")?,
            "--peer-backends" => {
                o.peer_backends =
                    it.next().context("--peer-backends needs a value")?.split(',').map(String::from).collect()
            }
            "--no-peer" => o.peer = false,
            "--no-startup" => o.startup = false,
            "--warm-runs" => o.warm_runs = number(it.next(), "--warm-runs")?,
            "--load" => o.load = number(it.next(), "--load")?,
            "--bench" => {}
            other => bail!("unknown option {other:?} (see the doc comment of crates/bench/src/bin/e2e.rs)"),
        }
    }
    if o.events == 0 || o.workers.is_empty() || o.workers.contains(&0) {
        bail!("--events and --workers must be positive");
    }
    Ok(o)
}

fn receiver_main() -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let (listener, addr) = receiver::bind().await?;
        println!("{addr}");
        use std::io::Write;
        std::io::stdout().flush()?;
        // Exit when the parent goes away (its end of our stdin closes).
        std::thread::spawn(|| {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
            std::process::exit(0);
        });
        receiver::serve(listener).await;
        Ok(())
    })
}

fn main() -> Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("receiver") => return receiver_main(),
        Some("probe") => {
            let config = PathBuf::from(args.get(1).context("probe CONFIG [--load N]")?);
            let load = if args.get(2).map(String::as_str) == Some("--load") {
                number(args.get(3).cloned(), "--load")?
            } else {
                0
            };
            return startup::probe_main(&config, load);
        }
        _ => {}
    }
    let command =
        format!("cargo run -p wasmpush-bench --bin e2e{}{}", if args.is_empty() { "" } else { " -- " }, args.join(" "));
    let o = options(std::mem::take(&mut args))?;
    let started = Instant::now();
    let load_before = loadavg();
    let exe = std::env::current_exe()?;
    let generator = paths::generator("buildbot-json")?;
    let scratch = paths::scratch_dir().join(format!("e2e-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let python = if o.peer { Some(peer::python()?) } else { None };

    let receiver = ReceiverProcess::spawn(&exe)?;
    eprintln!("receiver on {}", receiver.url());
    let templates = payloads::recorded_builds()?;
    let events = payloads::unique_events(&templates, o.events);
    let rt = tokio::runtime::Runtime::new()?;
    let mut cells = Vec::new();
    let mut unloaded = None;
    for stem in &o.generators {
        let path = paths::generator(stem)?;
        let h = Harness { rt: &rt, receiver: &receiver, generator: &path, scratch: &scratch };
        // Warm the compile cache (and the receiver) so every cell starts alike.
        run_cell(&h, &events[..events.len().min(500)], 1, Duration::from_secs(60))?;
        for &w in &o.workers {
            let c = run_cell(&h, &events, w, Duration::from_secs(120))?;
            eprintln!("wasmpush ({stem}) workers={w}: {:.0} reports/s, p99 {:?}", c.rate, c.latency.p99);
            cells.push(c);
        }
        // One report at a time needs a report for every event: buildbot-json's.
        if unloaded.is_none() && stem == "buildbot-json" {
            unloaded = Some(unloaded_latency(&h, &events[..events.len().min(300)])?);
        }
    }

    let mut peer_body = 0;
    let peer_run = match &python {
        Some(py) => {
            let file = scratch.join("peer-payloads.jsonl");
            let needs = {
                let runtime = Runtime::new(&RuntimeOptions {
                    cache_dir: Some(scratch.join("cache")),
                    ..RuntimeOptions::default()
                })?;
                runtime.load(&generator, None, Limits::default())?.info().needs.clone()
            };
            peer::write_payloads(&file, &events[..o.peer_events.min(events.len())], &needs)?;
            receiver.reset()?;
            let r = peer::run(
                py,
                &format!("{}/peer", receiver.url()),
                &file,
                &o.peer_concurrency,
                &o.peer_backends,
                Duration::from_secs(600),
            )?;
            let hits = receiver.dump()?;
            let expected: usize = r.cells.iter().map(|c| c.reports + c.reports.min(50)).sum();
            if hits.len() != expected {
                bail!("the receiver got {} requests from the Buildbot peer, expected {expected}", hits.len());
            }
            peer_body = hits.iter().map(|h| h.bytes).sum::<usize>() / hits.len().max(1);
            Some(r)
        }
        None => None,
    };

    let (mut cold, mut warm, mut load) = (Vec::new(), Vec::new(), None);
    if o.startup {
        let cache = scratch.join("startup-cache");
        let dir = scratch.join("startup");
        let config = startup::prepare(&dir, &receiver.url(), &cache)?;
        let _ = std::fs::remove_dir_all(&cache);
        cold.push(startup::run_probe(&exe, &config, 0)?);
        for _ in 0..o.warm_runs {
            warm.push(startup::run_probe(&exe, &config, 0)?);
        }
        if o.load > 0 {
            load = Some(startup::run_probe(&exe, &config, o.load)?);
        }
    }
    drop(receiver);
    let _ = std::fs::remove_dir_all(&scratch);

    let report = E2eReport {
        command,
        events: o.events,
        peer_events: o.peer_events,
        load_before,
        load_after: loadavg(),
        cells,
        unloaded,
        peer: peer_run,
        peer_body,
        cold,
        warm,
        load,
        elapsed: started.elapsed(),
    };
    let md = report.markdown();
    println!("{md}");
    let dir = paths::results_dir();
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("e2e.md"), &md)?;
    eprintln!("written to {}", dir.join("e2e.md").display());
    Ok(())
}
