//! Generator cost per language (issue 5, item 1).
//!
//! For every example generator, on the recorded 5,668-byte finished build
//! (capture 016), with criterion:
//!
//! * `fresh/host`: `wasmpush::runtime::Generator::generate`, the host's own
//!   call: new store + new instance + generate + drop, as for every event.
//! * `reused`: `generate` alone on one instance kept for all calls (the
//!   floor of any fresh-instance scheme; [`wasmpush_bench::proto`]).
//! * `fresh/keep-resident`: the host's fresh call in the prototype sandbox
//!   with the pooling allocator keeping linear memory and tables resident
//!   between instances and resetting only dirtied pages (`PAGEMAP_SCAN`).
//! * `fresh/host-cut`: the host's call on the payload as the host's pipeline
//!   hands it to this generator: cut to the generator's declared needs
//!   (`payload_for`; every example declines steps and `prev_build`, so
//!   2.2 KB of the 5.7 KB remain).
//! * `phases`: the prototype's fresh call with the host's engine settings,
//!   timed step by step (store/WASI set-up, instantiate, call, drop).
//!
//! Criterion reports means of batches; every single call is also recorded
//! and the median and p99 per call (warm-up excluded) are printed as a
//! Markdown table and written to `target/bench-results/generators.md`.
//!
//! Run: `cargo bench -p wasmpush-bench --profile dev --bench generators` (filter with
//! `-- python`, etc.). Needs `bash scripts/build-generators.sh` first.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::Criterion;
use wasmpush::runtime::{Limits, Runtime, RuntimeOptions};
use wasmpush_bench::proto::{EngineOptions, Phases, ProtoRuntime};
use wasmpush_bench::stats::{Summary, summarize, us};
use wasmpush_bench::{paths, payloads, proto};
use wasmpush_sources::buildbot::payload_for;

const WARM_UP: Duration = Duration::from_secs(1);
const KEEP_RESIDENT: usize = 16 << 20;

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

fn bench_generators(c: &mut Criterion) -> anyhow::Result<()> {
    let (kind, payload) = payloads::five_kb()?;
    let event = proto::event(kind, &payload, &[]);
    let host = Runtime::new(&RuntimeOptions { cache_dir: None, pooling: true, max_memory: 256 << 20 })?;
    let base = ProtoRuntime::new(EngineOptions::host())?;
    let keep = if proto::pagemap_scan_available() {
        Some(ProtoRuntime::new(EngineOptions::keep_resident(KEEP_RESIDENT))?)
    } else {
        eprintln!("PAGEMAP_SCAN is not available on this kernel: skipping the keep-resident variant");
        None
    };
    let mut group = c.benchmark_group("generate");
    for (_, stem) in paths::LANGUAGES {
        // Skip generators the criterion filter excludes without loading them
        // (loading Python compiles 19 MB of Wasm).
        if let Some(filter) = std::env::args().skip(1).find(|a| !a.starts_with('-'))
            && !format!("generate/{stem}/fresh/host generate/{stem}/fresh/host-cut generate/{stem}/reused generate/{stem}/fresh/keep-resident generate/{stem}/phases").contains(&filter)
        {
            continue;
        }
        let path = paths::generator(stem)?;
        let g = host.load(&path, None, Limits::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let report = g.generate(kind, &payload, &[]).map_err(|e| anyhow::anyhow!("{e}"))?;
        let body = report.map_or(0, |r| r.body.len());
        anyhow::ensure!(body > 0, "{stem} produced no report for capture 016");

        let id = format!("{stem}/fresh/host");
        group.bench_function(&id, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    let r = g.generate(kind, &payload, &[]);
                    let d = t.elapsed();
                    assert!(matches!(r, Ok(Some(_))), "{stem}: {r:?}");
                    record(&id, d);
                    total += d;
                }
                total
            })
        });

        let cut = serde_json::to_string(&payload_for(&serde_json::from_str(&payload)?, &g.info().needs))?;
        let id = format!("{stem}/fresh/host-cut");
        group.bench_function(&id, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    let r = g.generate(kind, &cut, &[]);
                    let d = t.elapsed();
                    assert!(matches!(r, Ok(Some(_))), "{stem}: {r:?}");
                    record(&id, d);
                    total += d;
                }
                total
            })
        });
        CUT_BYTES.lock().unwrap().insert(stem.to_string(), cut.len());

        let pg = base.load(&path)?;
        let mut reused = pg.reused()?;
        anyhow::ensure!(reused.call(&event)? == body, "{stem}: the prototype's body differs in length from the host's");
        let id = format!("{stem}/reused");
        group.bench_function(&id, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    if reused.calls() >= proto::Reused::REFRESH {
                        reused = pg.reused().expect("new instance");
                    }
                    let t = Instant::now();
                    let n = reused.call(&event).expect("reused call");
                    let d = t.elapsed();
                    assert_eq!(n, body);
                    record(&id, d);
                    total += d;
                }
                total
            })
        });
        drop(reused);

        if let Some(keep) = &keep {
            let kg = keep.load(&path)?;
            let id = format!("{stem}/fresh/keep-resident");
            group.bench_function(&id, |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let t = Instant::now();
                        let n = kg.fresh(&event).expect("keep-resident call");
                        let d = t.elapsed();
                        assert_eq!(n, body);
                        record(&id, d);
                        total += d;
                    }
                    total
                })
            });
        }

        let id = format!("{stem}/phases");
        group.bench_function(&id, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (ph, n) = pg.phases(&event).expect("phased call");
                    assert_eq!(n, body);
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
        "Generator cost per call on capture 016 (5,668-byte finished build); median / p99 (mean) of single calls, warm-up excluded.\n\
         Build: debug_assertions={} (bench profile), keep-resident = {} MiB + PAGEMAP_SCAN.\n\n",
        cfg!(debug_assertions),
        KEEP_RESIDENT >> 20
    ));
    out.push_str("| language | generator | fresh, host: median / p99 (mean) | reused instance | fresh, keep-resident | fresh, host, payload cut to needs | phases (host settings, medians): store+WASI / instantiate / call / drop |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for (lang, stem) in paths::LANGUAGES {
        if !calls.contains_key(&format!("{stem}/fresh/host")) {
            continue;
        }
        let ph = phases.get(stem).map(|v| after_warm_up(v)).unwrap_or_default();
        let med = |f: fn(&Phases) -> Duration| summarize(&ph.iter().map(f).collect::<Vec<_>>()).median;
        let phase_cell = if ph.is_empty() {
            "–".to_string()
        } else {
            format!(
                "{} / {} / {} / {}",
                us(med(|p| p.state)),
                us(med(|p| p.instantiate)),
                us(med(|p| p.call)),
                us(med(|p| p.drop))
            )
        };
        out.push_str(&format!(
            "| {lang} | {stem} | {} | {} | {} | {} ({} B) | {phase_cell} |\n",
            cell(get(format!("{stem}/fresh/host"))),
            cell(get(format!("{stem}/reused"))),
            cell(get(format!("{stem}/fresh/keep-resident"))),
            cell(get(format!("{stem}/fresh/host-cut"))),
            CUT_BYTES.lock().unwrap().get(stem).copied().unwrap_or(0),
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
