//! Where a fresh-instance generator call spends its time, per engine
//! setting: `cargo run -p wasmpush-bench --bin phases [-- --calls N] [STEM...]`.
//!
//! For each example generator (or the stems given) and each engine variant
//! of [`wasmpush_bench::proto`], runs the host's per-event sequence (store +
//! WASI context, instantiate, generate on capture 016, drop) `--calls` times
//! in three interleaved rounds, and prints the median time and minor page
//! faults of each step. Variants: the host's settings today; the pooling
//! allocator keeping 16 / 64 MiB of linear memory resident with
//! `PAGEMAP_SCAN` resets; the on-demand allocator; and a reused instance.
//! `--variants host,keep16,keep64,on-demand` picks some; `--trimmed` drops
//! `steps` and `prev_build` from the payload (what the generators' `needs` ask for).

use std::time::Duration;

use anyhow::Result;
use wasmpush_bench::proto::{EngineOptions, Phases, ProtoRuntime};
use wasmpush_bench::stats::{summarize, us};
use wasmpush_bench::{paths, payloads, proto};

fn main() -> Result<()> {
    let mut calls = 300usize;
    let mut only: Option<String> = None;
    let mut trimmed = false;
    let mut stems: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--calls" => {
                calls =
                    args.next().and_then(|v| v.parse().ok()).ok_or_else(|| anyhow::anyhow!("--calls needs a number"))?
            }
            "--variants" => only = args.next(),
            "--trimmed" => trimmed = true,
            "--bench" => {}
            other if other.starts_with('-') => anyhow::bail!("unknown option {other}"),
            other => stems.push(other.to_string()),
        }
    }
    if stems.is_empty() {
        stems = paths::LANGUAGES.iter().map(|(_, s)| s.to_string()).collect();
    }
    let (kind, mut payload) = payloads::five_kb()?;
    if trimmed {
        payload = payloads::without_steps(&payload)?;
    }
    let event = proto::event(kind, &payload, &[]);
    let mut variants = vec![EngineOptions::host()];
    if proto::pagemap_scan_available() {
        variants.push(EngineOptions::keep_resident(16 << 20));
        variants.push(EngineOptions::keep_resident(64 << 20));
    } else {
        eprintln!("PAGEMAP_SCAN is not available on this kernel: keep-resident variants skipped");
    }
    variants.push(EngineOptions { pooling: false, ..EngineOptions::host() });
    if let Some(only) = &only {
        // e.g. `--variants host,keep16`: host, keep16, keep64, on-demand
        let want = |v: &EngineOptions| {
            let key = match (v.pooling, v.keep_resident >> 20) {
                (false, _) => "on-demand".to_string(),
                (true, 0) => "host".to_string(),
                (true, mib) => format!("keep{mib}"),
            };
            only.split(',').any(|w| w == key)
        };
        variants.retain(want);
    }
    let runtimes: Vec<ProtoRuntime> = variants.iter().map(|v| ProtoRuntime::new(*v)).collect::<Result<_>>()?;

    println!(
        "capture 016 ({} B{}), {calls} calls x 3 rounds per cell; medians; faults = minor page faults (instantiate/call/drop)",
        payload.len(),
        if trimmed { ", without steps and prev_build" } else { "" }
    );
    println!("debug_assertions={}\n", cfg!(debug_assertions));
    println!("| generator | variant | total | store+WASI | instantiate | call | drop | faults |");
    println!("|---|---|---|---|---|---|---|---|");
    for stem in &stems {
        let path = paths::generator(stem)?;
        let gens: Vec<_> = runtimes.iter().map(|r| r.load(&path)).collect::<Result<_>>()?;
        let mut samples: Vec<Vec<Phases>> = vec![Vec::new(); gens.len()];
        let mut reused_samples: Vec<Duration> = Vec::new();
        for _round in 0..3 {
            for (i, g) in gens.iter().enumerate() {
                for _ in 0..calls.div_ceil(10) {
                    g.phases(&event)?; // warm the pool slots and caches
                }
                for _ in 0..calls {
                    samples[i].push(g.phases(&event)?.0);
                }
            }
            let mut r = gens[0].reused()?;
            for _ in 0..calls {
                if r.calls() >= proto::Reused::REFRESH {
                    r = gens[0].reused()?;
                }
                let t = std::time::Instant::now();
                r.call(&event)?;
                reused_samples.push(t.elapsed());
            }
        }
        for (v, s) in variants.iter().zip(&samples) {
            let med = |f: &dyn Fn(&Phases) -> Duration| summarize(&s.iter().map(f).collect::<Vec<_>>()).median;
            let fmed = |k: usize| {
                let mut f: Vec<u64> = s.iter().map(|p| p.faults[k]).collect();
                f.sort_unstable();
                f[f.len() / 2]
            };
            println!(
                "| {stem} | {} | {} | {} | {} | {} | {} | {}/{}/{} |",
                v.label(),
                us(med(&|p| p.total())),
                us(med(&|p| p.state)),
                us(med(&|p| p.instantiate)),
                us(med(&|p| p.call)),
                us(med(&|p| p.drop)),
                fmed(0),
                fmed(1),
                fmed(2)
            );
        }
        println!("| {stem} | reused instance (call only) | {} | | | | | |", us(summarize(&reused_samples).median));
    }
    Ok(())
}
