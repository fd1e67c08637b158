//! Fresh-instance generation on several threads at once, measured on the
//! product: `cargo run -p wasmpush-bench --bin genload [-- --threads 1,2
//! --seconds 3 STEM...]`.
//!
//! The single-threaded benches miss one cost the service pays: when a
//! pool slot is reset with `madvise`, the kernel must flush the TLBs of every
//! other CPU running a thread of the process (an IPI each; in a VM an IPI is
//! a VM exit). Here T threads each run `wasmpush::runtime::Generator::generate`
//! (store, instantiate, generate, drop) for a few seconds, with the host's
//! default `RuntimeOptions` (pooling allocator, pages kept resident and reset
//! with `PAGEMAP_SCAN` where the kernel has it) and with the on-demand
//! allocator (`pooling = false`); both variants are interleaved twice. The
//! payload is capture 016 cut to what the generators ask for (no steps, no
//! `prev_build`), as the host's pipeline hands it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use wasmpush::runtime::{Limits, Runtime, RuntimeOptions};
use wasmpush_bench::e2e::procs::self_cpu;
use wasmpush_bench::stats::us;
use wasmpush_bench::{paths, payloads};

fn main() -> Result<()> {
    let mut threads = vec![1usize, 2];
    let mut seconds = 3u64;
    let mut stems: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => {
                threads = args.next().unwrap_or_default().split(',').filter_map(|t| t.parse().ok()).collect();
            }
            "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(3),
            "--bench" => {}
            other if other.starts_with('-') => anyhow::bail!("unknown option {other}"),
            other => stems.push(other.to_string()),
        }
    }
    if stems.is_empty() {
        stems = vec!["buildbot-json".into(), "chat-message".into(), "js-github-status".into()];
    }
    let (kind, payload) = payloads::five_kb()?;
    let payload = Arc::new(payloads::without_steps(&payload)?);
    let variants = [
        ("host", RuntimeOptions::default()),
        ("on-demand", RuntimeOptions { pooling: false, ..RuntimeOptions::default() }),
    ];
    let runtimes: Vec<Runtime> = variants.iter().map(|(_, o)| Runtime::new(o)).collect::<Result<_, _>>()?;
    println!(
        "fresh calls on {} threads for {seconds} s per cell (payload {} B); debug_assertions={}",
        threads.iter().map(|t| t.to_string()).collect::<Vec<_>>().join("/"),
        payload.len(),
        cfg!(debug_assertions)
    );
    println!("\n| generator | variant | threads | calls/s | CPU per call | wall per call per thread |");
    println!("|---|---|---|---|---|---|");
    for stem in &stems {
        let path = paths::generator(stem)?;
        let gens: Vec<Arc<_>> = runtimes
            .iter()
            .map(|r| r.load(&path, None, Limits::default()).map(Arc::new))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for &t in &threads {
            for _round in 0..2 {
                for ((name, _), g) in variants.iter().zip(&gens) {
                    let stop = Arc::new(AtomicBool::new(false));
                    let calls = Arc::new(AtomicU64::new(0));
                    let cpu0 = self_cpu();
                    let start = Instant::now();
                    let handles: Vec<_> = (0..t)
                        .map(|_| {
                            let (g, stop, calls, payload) = (g.clone(), stop.clone(), calls.clone(), payload.clone());
                            std::thread::spawn(move || -> Result<()> {
                                while !stop.load(Ordering::Relaxed) {
                                    g.generate(kind, &payload, &[]).map_err(|e| anyhow::anyhow!("{e}"))?;
                                    calls.fetch_add(1, Ordering::Relaxed);
                                }
                                Ok(())
                            })
                        })
                        .collect();
                    std::thread::sleep(Duration::from_secs(seconds));
                    stop.store(true, Ordering::Relaxed);
                    for h in handles {
                        h.join().map_err(|_| anyhow::anyhow!("a load thread panicked"))??;
                    }
                    let (wall, cpu, n) = (start.elapsed(), self_cpu() - cpu0, calls.load(Ordering::Relaxed).max(1));
                    println!(
                        "| {stem} | {name} | {t} | {:.0} | {} | {} |",
                        n as f64 / wall.as_secs_f64(),
                        us(cpu / n as u32),
                        us(wall * t as u32 / n as u32)
                    );
                }
            }
        }
    }
    Ok(())
}
