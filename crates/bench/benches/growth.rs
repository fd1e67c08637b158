//! Cost growth (issue 5, item 4): time per report against payload size
//! (1 KB → 1 MB) and against the number of generators per event.
//!
//! * `size/<generator>/<bytes>`: `Generator::generate` (fresh instance, the
//!   host's call) on capture 016 resized by [`payloads::sized`]: ~1 KB
//!   without steps, `prev_build` and properties; the recorded 5.7 KB; then
//!   16 KB to 1 MB by appending log lines to a step's log content (what a
//!   generator asking for `log-contents` gets). The whole payload reaches the
//!   guest, which parses all of it.
//! * `pipeline/<bytes>`: `Pipeline::handle` with one `buildbot-json`
//!   reporter: filters, cutting the payload to the generator's needs (it
//!   does not want steps, so the logs never reach it), serialising, running
//!   it. Shows the host-side cost of big payloads.
//! * `fanout/<k>`: `Pipeline::handle` of the 5.7 KB build with k reporters
//!   of one `buildbot-json` each (k reports per event).
//! * `overhead/*`: the host-side steps of `Pipeline::handle` alone (payload
//!   clone in the filter, `payload_for`, the equality check, serialising,
//!   the report id).
//!
//! Prints per-call medians and p99 (warm-up excluded) and writes
//! `target/bench-results/growth.md`. Run:
//! `cargo bench -p wasmpush-bench --profile dev --bench growth` (filter with
//! `-- size`). `--profile dev` reuses the test build; see docs/PERFORMANCE.md.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::Criterion;
use serde_json::Value;
use wasmpush::config::Config;
use wasmpush::pipeline::Pipeline;
use wasmpush::plan::Plan;
use wasmpush::runtime::{Limits, Runtime, RuntimeOptions};
use wasmpush_bench::stats::{summarize, us};
use wasmpush_bench::{paths, payloads};
use wasmpush_sources::buildbot::payload_for;
use wasmpush_sources::{EventKind, SourceEvent};

const WARM_UP: Duration = Duration::from_millis(500);
const SIZES: [usize; 7] = [1_000, 5_668, 16_000, 64_000, 256_000, 512_000, 1_000_000];
const GENERATORS: [&str; 5] = ["buildbot-json", "chat-message", "c-summary", "js-github-status", "python-zulip"];
const FANOUT: [usize; 5] = [1, 2, 4, 8, 16];

static CALLS: Mutex<BTreeMap<String, Vec<(Instant, Duration)>>> = Mutex::new(BTreeMap::new());

fn record(id: &str, d: Duration) {
    CALLS.lock().unwrap().entry(id.to_string()).or_default().push((Instant::now(), d));
}

fn median_after_warm_up(id: &str) -> Option<(Duration, Duration)> {
    let calls = CALLS.lock().unwrap();
    let v = calls.get(id)?;
    let start = v.first()?.0;
    let mut kept: Vec<Duration> = v.iter().filter(|s| s.0 >= start + WARM_UP).map(|s| s.1).collect();
    if kept.len() < 5 {
        kept = v.iter().map(|s| s.1).collect();
    }
    let s = summarize(&kept);
    Some((s.median, s.p99))
}

fn wanted(id: &str) -> bool {
    match std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        Some(f) => id.contains(&f),
        None => true,
    }
}

fn limits() -> Limits {
    Limits { memory: 256 << 20, timeout: Duration::from_secs(30), max_output: 8 << 20, ..Limits::default() }
}

fn pipeline(runtime: &Runtime, reporters: usize) -> anyhow::Result<Pipeline> {
    let wasm = paths::generator("buildbot-json")?;
    let mut text = String::from(
        "[runtime]\ncache = false\n\n[runtime.limits]\nmemory = \"256MiB\"\ntimeout = \"30s\"\nmax_output = \"8MiB\"\n",
    );
    for i in 0..reporters {
        text.push_str(&format!(
            "\n[[reporter]]\nname = \"r{i}\"\nserver_url = \"http://127.0.0.1:9/r{i}\"\n\n[[reporter.generator]]\nwasm = {:?}\nkind = \"build-status\"\nmode = \"all\"\n",
            wasm.display().to_string()
        ));
    }
    let dir = paths::scratch_dir();
    let config = Config::parse(&text, &dir.join("growth.toml"), &dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let plan = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(Plan::build(&config))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Pipeline::build(&plan, runtime).map_err(|e| anyhow::anyhow!("{e}"))
}

fn timed(c: &mut Criterion, id: &str, mut f: impl FnMut() -> usize) {
    if !wanted(id) {
        return;
    }
    c.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let n = f();
                let d = t.elapsed();
                assert!(n > 0, "{id}: no report");
                record(id, d);
                total += d;
            }
            total
        })
    });
}

fn bench(c: &mut Criterion) -> anyhow::Result<Vec<(usize, String)>> {
    let runtime = Runtime::new(&RuntimeOptions { cache_dir: None, pooling: true, max_memory: 256 << 20 })?;
    let texts: Vec<(usize, String)> =
        SIZES.iter().map(|&s| Ok((s, payloads::sized(s)?))).collect::<anyhow::Result<_>>()?;
    for stem in GENERATORS {
        if !wanted(&format!("size/{stem}/")) {
            continue;
        }
        let g = runtime.load(&paths::generator(stem)?, None, limits()).map_err(|e| anyhow::anyhow!("{e}"))?;
        for (size, text) in &texts {
            timed(c, &format!("size/{stem}/{size}"), || match g.generate(EventKind::BuildFinished, text, &[]) {
                Ok(Some(r)) => r.body.len(),
                other => panic!("{stem} on {size} bytes: {other:?}"),
            });
        }
    }
    if wanted("pipeline/") {
        let p = pipeline(&runtime, 1)?;
        for (size, text) in &texts {
            let event = SourceEvent::new(EventKind::BuildFinished, serde_json::from_str::<Value>(text)?);
            timed(c, &format!("pipeline/{size}"), || {
                let out = p.handle(&event);
                assert!(out.failures.is_empty(), "{:?}", out.failures);
                out.produced.len()
            });
        }
    }
    if wanted("fanout/") {
        let (_, text) = payloads::five_kb()?;
        let event = SourceEvent::new(EventKind::BuildFinished, serde_json::from_str::<Value>(&text)?);
        for k in FANOUT {
            let p = pipeline(&runtime, k)?;
            timed(c, &format!("fanout/{k}"), || {
                let out = p.handle(&event);
                assert_eq!(out.produced.len(), k);
                out.produced.len()
            });
        }
    }
    if wanted("overhead/") {
        // The host-side steps `Pipeline::handle` takes per generator, alone.
        let (_, text) = payloads::five_kb()?;
        let full: Value = serde_json::from_str(&text)?;
        let needs = runtime
            .load(&paths::generator("buildbot-json")?, None, limits())
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .info()
            .needs
            .clone();
        let cut = payload_for(&full, &needs);
        timed(c, "overhead/clone", || std::hint::black_box(full.clone()).as_object().map_or(1, |o| o.len()));
        timed(c, "overhead/payload_for", || {
            payload_for(std::hint::black_box(&full), &needs).as_object().map_or(1, |o| o.len())
        });
        timed(c, "overhead/eq", || usize::from(std::hint::black_box(&full) == std::hint::black_box(&full.clone())) + 1);
        timed(c, "overhead/to_string", || serde_json::to_string(std::hint::black_box(&cut)).map_or(1, |t| t.len()));
        timed(c, "overhead/report_id", || wasmpush::pipeline::report_id("bench", "build-finished:1").len());
    }
    Ok(texts.iter().map(|(s, t)| (*s, format!("{}", t.len()))).collect())
}

fn table(sizes: &[(usize, String)]) -> String {
    let mut o = String::new();
    o.push_str(&format!(
        "Cost growth; median / p99 per call, warm-up excluded; debug_assertions={}.\n\n",
        cfg!(debug_assertions)
    ));
    o.push_str("Payload size (fresh instance per call; the whole payload reaches the guest):\n\n| generator |");
    for (s, actual) in sizes {
        o.push_str(&format!(" {} B{} |", actual, if *s == 5_668 { " (recorded)" } else { "" }));
    }
    o.push_str(" µs per extra KB (5.7 KB → 1 MB) |\n|---|");
    for _ in sizes {
        o.push_str("---|");
    }
    o.push_str("---|\n");
    let mut rows: Vec<String> = GENERATORS.iter().map(|g| format!("size/{g}")).collect();
    rows.push("pipeline".into());
    for row in rows {
        if median_after_warm_up(&format!("{row}/{}", SIZES[0])).is_none() {
            continue;
        }
        let label = if row == "pipeline" {
            "host pipeline, buildbot-json (payload cut to its needs)".to_string()
        } else {
            row.trim_start_matches("size/").to_string()
        };
        o.push_str(&format!("| {label} |"));
        for (s, _) in sizes {
            match median_after_warm_up(&format!("{row}/{s}")) {
                Some((m, p)) => o.push_str(&format!(" {} / {} |", us(m), us(p))),
                None => o.push_str(" – |"),
            }
        }
        let slope = match (
            median_after_warm_up(&format!("{row}/5668")),
            median_after_warm_up(&format!("{row}/1000000")),
            sizes.iter().find(|(s, _)| *s == 1_000_000),
        ) {
            (Some((a, _)), Some((b, _)), Some((_, big))) => {
                let kb = (big.parse::<f64>().unwrap_or(1e6) - 5_668.0) / 1000.0;
                format!("{:.2}", (b.as_secs_f64() - a.as_secs_f64()) * 1e6 / kb)
            }
            _ => "–".into(),
        };
        o.push_str(&format!(" {slope} |\n"));
    }
    o.push_str("\nGenerators per event (`Pipeline::handle`, 5.7 KB recorded build, k reporters of one `buildbot-json` each):\n\n| k | per event: median / p99 | per report (median / k) |\n|---|---|---|\n");
    for k in FANOUT {
        if let Some((m, p)) = median_after_warm_up(&format!("fanout/{k}")) {
            o.push_str(&format!("| {k} | {} / {} | {} |\n", us(m), us(p), us(m / k as u32)));
        }
    }
    let over: Vec<String> = ["clone", "payload_for", "eq", "to_string", "report_id"]
        .iter()
        .filter_map(|k| median_after_warm_up(&format!("overhead/{k}")).map(|(m, _)| format!("{k} {}", us(m))))
        .collect();
    if !over.is_empty() {
        o.push_str(&format!(
            "\nHost-side steps of `Pipeline::handle` alone, on the recorded 5.3 KB build (medians; `eq` includes a clone): {}.\n",
            over.join(", ")
        ));
    }
    o
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(WARM_UP)
        .measurement_time(Duration::from_secs(2))
        .sample_size(10)
        .configure_from_args();
    let sizes = match bench(&mut c) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("growth bench failed: {e:#}");
            std::process::exit(1);
        }
    };
    c.final_summary();
    let t = table(&sizes);
    println!("\n{t}");
    let dir = paths::results_dir();
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join("growth.md"), &t);
        println!("written to {}", dir.join("growth.md").display());
    }
}
