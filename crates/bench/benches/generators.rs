//! Generator cost per language (issues 5 and 16), measured on the product.
//!
//! For every example generator, on the recorded 5,668-byte finished build
//! (capture 016), with criterion, all through `wasmpush::runtime::Generator`:
//!
//! * `fresh`: `Generator::generate`, the service's own call: new store + new
//!   instance + generate + drop, as for every event.
//! * `fresh-cut`: the same call on the payload as the host's pipeline hands
//!   it to this generator: cut to the generator's declared needs
//!   (`payload_for`; every example declines steps and `prev_build`).
//! * `reused`: `generate` alone on one instance kept for up to 100 calls
//!   (`Generator::time_reused_calls`, benchmarks only): the guest's own work,
//!   the floor of any fresh-instance scheme.
//! * `phases`: the `fresh-cut` call timed step by step through
//!   `Generator::generate_marked` (store, instantiate, call, output, drop).
//!
//! Criterion reports means of batches; every single call is also recorded
//! and the median and p99 per call (warm-up excluded) are printed as a
//! Markdown table and written to `target/bench-results/generators.md`.
//!
//! Run: `cargo bench -p wasmpush-bench --profile dev --bench generators --
//! --warm-up-time 1 --measurement-time 3` (filter with `python`, etc.).
//! Needs `bash scripts/build-generators.sh` first.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::Criterion;
use wasmpush::runtime::{Limits, Runtime, RuntimeOptions};
use wasmpush_bench::phases::{self, Phases};
use wasmpush_bench::stats::{Summary, summarize, us};
use wasmpush_bench::{paths, payloads};
use wasmpush_sources::buildbot::payload_for;

const WARM_UP: Duration = Duration::from_secs(1);

/// Every timed call, per bench id: (when recorded, duration).
static CALLS: Mutex<BTreeMap<String, Vec<(Instant, Duration)>>> = Mutex::new(BTreeMap::new());
/// Size of the payload the host hands each generator, bytes.
static CUT_BYTES: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());
/// Every phase breakdown, per generator.
static PHASES: Mutex<BTreeMap<String, Vec<(Instant, Phases)>>> = Mutex::new(BTreeMap::new());

fn record(id: &str, d: Duration) {
    CALLS.lock().unwrap().entry(id.to_string()).or_default().push((Instant::now(), d));
}

/// Drops the first `WARM_UP` of samples (criterion's warm-up phase).
fn after_warm_up<T: Copy>(v: &[(Instant, T)]) -> Vec<T> {
    let Some(start) = v.first().map(|s| s.0) else { return Vec::new() };
    let kept: Vec<T> = v.iter().filter(|s| s.0 >= start + WARM_UP).map(|s| s.1).collect();
    if kept.len() >= 10 { kept } else { v.iter().map(|s| s.1).collect() }
}

/// Times `iters` calls of `call`, recording each under `id`.
fn timed_iters(id: &str, iters: u64, mut call: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let t = Instant::now();
        call();
        let d = t.elapsed();
        record(id, d);
        total += d;
    }
    total
}

fn bench_generators(c: &mut Criterion) -> anyhow::Result<()> {
    let (kind, payload) = payloads::five_kb()?;
    let host = Runtime::new(&RuntimeOptions::default())?;
    // Criterion's positional filter (option values such as the `3` of
    // `--measurement-time 3` are numbers, never a filter).
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-') && a.parse::<f64>().is_err());
    let mut group = c.benchmark_group("generate");
    for (_, stem) in paths::LANGUAGES {
        // Skip generators the criterion filter excludes without loading them
        // (loading Python compiles 19 MB of Wasm).
        if let Some(f) = &filter
            && !["fresh", "fresh-cut", "reused", "phases"].iter().any(|v| format!("generate/{stem}/{v}").contains(f))
        {
            continue;
        }
        let path = paths::generator(stem)?;
        let g = host.load(&path, None, Limits::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let report = g.generate(kind, &payload, &[]).map_err(|e| anyhow::anyhow!("{e}"))?;
        anyhow::ensure!(report.is_some_and(|r| !r.body.is_empty()), "{stem} produced no report for capture 016");
        let ok = |r: &Result<Option<_>, _>| assert!(matches!(r, Ok(Some(_))), "{stem}: {r:?}");

        let id = format!("{stem}/fresh");
        group.bench_function(&id, |b| {
            b.iter_custom(|iters| timed_iters(&id, iters, || ok(&g.generate(kind, &payload, &[]))))
        });

        let cut = serde_json::to_string(&payload_for(&serde_json::from_str(&payload)?, &g.info().needs))?;
        CUT_BYTES.lock().unwrap().insert(stem.to_string(), cut.len());
        let id = format!("{stem}/fresh-cut");
        group.bench_function(&id, |b| {
            b.iter_custom(|iters| timed_iters(&id, iters, || ok(&g.generate(kind, &cut, &[]))))
        });

        let id = format!("{stem}/reused");
        group.bench_function(&id, |b| {
            b.iter_custom(|iters| {
                let took = phases::reused(&g, kind, &cut, iters as usize).expect("reused calls");
                took.iter().for_each(|d| record(&id, *d));
                took.iter().sum()
            })
        });

        let id = format!("{stem}/phases");
        group.bench_function(&id, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (ph, reports) = phases::timed(&g, kind, &cut, &[]).expect("phased call");
                    assert_eq!(reports.len(), 1, "{stem}");
                    PHASES.lock().unwrap().entry(stem.to_string()).or_default().push((Instant::now(), ph));
                    total += ph.total();
                }
                total
            })
        });
    }
    group.finish();
    Ok(())
}

fn cell(s: Option<Summary>) -> String {
    match s {
        Some(s) if s.n > 0 => format!("{} / {} ({})", us(s.median), us(s.p99), us(s.mean)),
        _ => "–".into(),
    }
}

fn table() -> String {
    let calls = CALLS.lock().unwrap();
    let phases = PHASES.lock().unwrap();
    let get = |id: String| calls.get(&id).map(|v| summarize(&after_warm_up(v)));
    let mut out = String::new();
    out.push_str(&format!(
        "Generator cost per call on capture 016 (5,668-byte finished build), all through `wasmpush::runtime::Generator`; median / p99 (mean) of single calls, warm-up excluded.\n\
         Build: debug_assertions={}; pooling allocator, keep-resident + PAGEMAP_SCAN: {}.\n\n",
        cfg!(debug_assertions),
        wasmtime::PoolingAllocationConfig::is_pagemap_scan_available()
    ));
    out.push_str("| language | generator | fresh: median / p99 (mean) | fresh, payload as the pipeline hands it | reused instance (same cut payload) | phases of the cut call (medians): store / instantiate / call / output / drop | faults (inst/call/drop) |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for (lang, stem) in paths::LANGUAGES {
        if !calls.contains_key(&format!("{stem}/fresh")) {
            continue;
        }
        let ph = phases.get(stem).map(|v| after_warm_up(v)).unwrap_or_default();
        let med = |f: fn(&Phases) -> Duration| summarize(&ph.iter().map(f).collect::<Vec<_>>()).median;
        let fmed = |k: usize| {
            let mut f: Vec<u64> = ph.iter().map(|p| p.faults[k]).collect();
            f.sort_unstable();
            f.get(f.len() / 2).copied().unwrap_or(0)
        };
        let (phase_cell, fault_cell) = if ph.is_empty() {
            ("–".to_string(), "–".to_string())
        } else {
            (
                format!(
                    "{} / {} / {} / {} / {}",
                    us(med(|p| p.store)),
                    us(med(|p| p.instantiate)),
                    us(med(|p| p.call)),
                    us(med(|p| p.output)),
                    us(med(|p| p.drop))
                ),
                format!("{}/{}/{}", fmed(0), fmed(1), fmed(2)),
            )
        };
        out.push_str(&format!(
            "| {lang} | {stem} | {} | {} ({} B) | {} | {phase_cell} | {fault_cell} |\n",
            cell(get(format!("{stem}/fresh"))),
            cell(get(format!("{stem}/fresh-cut"))),
            CUT_BYTES.lock().unwrap().get(stem).copied().unwrap_or(0),
            cell(get(format!("{stem}/reused"))),
        ));
    }
    out
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(WARM_UP)
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    if let Err(e) = bench_generators(&mut c) {
        eprintln!("generators bench failed: {e:#}");
        std::process::exit(1);
    }
    c.final_summary();
    let t = table();
    println!("\n{t}");
    let dir = paths::results_dir();
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join("generators.md"), &t);
        println!("written to {}", dir.join("generators.md").display());
    }
}
