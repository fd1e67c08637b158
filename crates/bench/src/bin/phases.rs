//! Where a fresh-instance generator call spends its time, measured on the
//! product: `cargo run -p wasmpush-bench --bin phases [-- --calls N]
//! [--trimmed] [--variants host,on-demand] [STEM...]`.
//!
//! For each example generator (or the stems given) and each runtime variant,
//! runs `wasmpush::runtime::Generator`'s own per-event call (store + WASI
//! context, instantiate, generate on capture 016, output, drop; timed with
//! `Generator::generate_marked`) `--calls` times in three interleaved
//! rounds, and prints the median time and minor page faults of each step.
//! Variants are `RuntimeOptions` the host has: `host` (its defaults: pooling
//! allocator, pages kept resident and reset with `PAGEMAP_SCAN` where the
//! kernel has it) and `on-demand` (`pooling = false`). A last row per
//! generator times `generate` alone on a reused instance (the floor).
//! `--trimmed` drops `steps` and `prev_build` from the payload (what the
//! generators' `needs` ask for).

use std::time::Duration;

use anyhow::Result;
use wasmpush::runtime::{Limits, Runtime, RuntimeOptions};
use wasmpush_bench::phases::{self, Phases};
use wasmpush_bench::stats::{summarize, us};
use wasmpush_bench::{paths, payloads};

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
    let mut variants = vec![
        ("host", RuntimeOptions::default()),
        ("on-demand", RuntimeOptions { pooling: false, ..RuntimeOptions::default() }),
    ];
    if let Some(only) = &only {
        variants.retain(|(name, _)| only.split(',').any(|w| w == *name));
    }
    let runtimes: Vec<Runtime> = variants.iter().map(|(_, o)| Runtime::new(o)).collect::<Result<_, _>>()?;

    println!(
        "capture 016 ({} B{}), {calls} calls x 3 rounds per cell; medians; faults = minor page faults (instantiate/call/drop)",
        payload.len(),
        if trimmed { ", without steps and prev_build" } else { "" }
    );
    println!(
        "debug_assertions={}; PAGEMAP_SCAN available (host keeps pages resident): {}\n",
        cfg!(debug_assertions),
        wasmtime::PoolingAllocationConfig::is_pagemap_scan_available()
    );
    println!("| generator | variant | total | store+WASI | instantiate | call | output | drop | faults |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for stem in &stems {
        let path = paths::generator(stem)?;
        let gens: Vec<_> = runtimes
            .iter()
            .map(|r| r.load(&path, None, Limits::default()))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut samples: Vec<Vec<Phases>> = vec![Vec::new(); gens.len()];
        let mut reused: Vec<Duration> = Vec::new();
        for _round in 0..3 {
            for (i, g) in gens.iter().enumerate() {
                for _ in 0..calls.div_ceil(10) {
                    phases::timed(g, kind, &payload, &[])?; // warm the pool slots and caches
                }
                for _ in 0..calls {
                    samples[i].push(phases::timed(g, kind, &payload, &[])?.0);
                }
            }
            reused.extend(phases::reused(&gens[0], kind, &payload, calls)?);
        }
        for ((name, _), s) in variants.iter().zip(&samples) {
            let med = |f: &dyn Fn(&Phases) -> Duration| summarize(&s.iter().map(f).collect::<Vec<_>>()).median;
            let fmed = |k: usize| {
                let mut f: Vec<u64> = s.iter().map(|p| p.faults[k]).collect();
                f.sort_unstable();
                f[f.len() / 2]
            };
            println!(
                "| {stem} | {name} | {} | {} | {} | {} | {} | {} | {}/{}/{} |",
                us(med(&|p| p.total())),
                us(med(&|p| p.store)),
                us(med(&|p| p.instantiate)),
                us(med(&|p| p.call)),
                us(med(&|p| p.output)),
                us(med(&|p| p.drop)),
                fmed(0),
                fmed(1),
                fmed(2)
            );
        }
        println!("| {stem} | reused instance (call only) | {} | | | | | | |", us(summarize(&reused).median));
    }
    Ok(())
}
