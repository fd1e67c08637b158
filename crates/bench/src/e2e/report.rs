//! The end-to-end bench's Markdown report.

use std::fmt::Write;
use std::time::Duration;

use super::peer::PeerRun;
use super::startup::StartResult;
use super::throughput::CellResult;
use crate::stats::{Summary, thousands, us};

/// Everything one run measured.
pub struct E2eReport {
    /// How to re-run it.
    pub command: String,
    /// Events per wasmpush cell and per Buildbot cell.
    pub events: usize,
    pub peer_events: usize,
    /// `/proc/loadavg` at the start and the end (the machine is shared).
    pub load_before: String,
    pub load_after: String,
    /// wasmpush cells.
    pub cells: Vec<CellResult>,
    /// One report at a time.
    pub unloaded: Option<Summary>,
    /// The Buildbot peer's cells.
    pub peer: Option<PeerRun>,
    /// Mean body the receiver got from the Buildbot peer, bytes.
    pub peer_body: usize,
    /// Start-up probes: empty cache, filled cache, and the one under load.
    pub cold: Vec<StartResult>,
    pub warm: Vec<StartResult>,
    pub load: Option<StartResult>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

/// CPU model, cores, kernel, memory.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_string();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<u64>().ok()))
        .map(|k| format!("{:.0} GiB", k as f64 / (1024.0 * 1024.0)))
        .unwrap_or_default();
    format!("{model}, {cores} cores, {mem} RAM, Linux {kernel}")
}

/// `/proc/loadavg`'s first three fields.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1e3;
    if v < 10.0 { format!("{v:.2} ms") } else { format!("{v:.0} ms") }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn median<T: Copy + Ord>(mut v: Vec<T>) -> Option<T> {
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2).copied()
}

impl E2eReport {
    fn best_peer(&self, concurrency: usize) -> Option<&super::peer::PeerCell> {
        self.peer
            .as_ref()?
            .cells
            .iter()
            .filter(|c| c.concurrency == concurrency)
            .max_by(|a, b| a.rate.total_cmp(&b.rate))
    }

    /// The Markdown text.
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "## End-to-end run\n");
        let _ = writeln!(o, "- command: `{}`", self.command);
        let _ = writeln!(o, "- machine: {}", machine());
        let _ = writeln!(o, "- build: debug_assertions={} (see PERFORMANCE.md, build profile)", cfg!(debug_assertions));
        let _ = writeln!(o, "- load average before / after: {} / {}", self.load_before, self.load_after);
        let _ = writeln!(o, "- wall time of the whole run: {:.0} s\n", self.elapsed.as_secs_f64());

        let mut generators: Vec<String> = self.cells.iter().map(|c| format!("`{}`", c.generator)).collect();
        generators.dedup();
        let generators = generators.join(" / ");
        let _ = writeln!(
            o,
            "### Throughput and latency (receiver on 127.0.0.1 answers 200 at once; HTTP/1.1 keep-alive)\n"
        );
        let _ = writeln!(
            o,
            "wasmpush: {} recorded build events (2–9 KB as recorded, cut to what the generator declared it needs) → Buildbot's default filters → {} (fresh instance per event; `buildbot-json` is Buildbot's default body) → redb outbox (fsync) → push (8 connections). \
             Buildbot: the first {} of the same build objects, cut the same way, through `HttpStatusPush.sendMessage` (the same bytes on the wire as `buildbot-json`'s). Latency: submit → received (wasmpush, includes queueing at saturation: up to 256 events per worker queue); one `sendMessage` (Buildbot).\n",
            thousands(self.events as u64),
            generators,
            thousands(self.peer_events as u64)
        );
        let _ = writeln!(
            o,
            "| system | workers / concurrent | reports | mean body | reports/s | p50 latency | p99 latency | CPU per report (sender) | CPU per report (receiver) |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|");
        for c in &self.cells {
            let _ = writeln!(
                o,
                "| wasmpush ({}) | {} | {} | {} B | **{}** | {} | {} | {} | {} |",
                c.generator,
                c.workers,
                thousands(c.reports as u64),
                thousands(c.mean_body as u64),
                thousands(c.rate.round() as u64),
                ms(c.latency.median),
                ms(c.latency.p99),
                us(c.cpu_per_report),
                us(c.receiver_cpu_per_report)
            );
        }
        if let Some(p) = &self.peer {
            for c in &p.cells {
                let _ = writeln!(
                    o,
                    "| Buildbot {} `HttpStatusPush` ({}) | {} | {} | {} B | **{}** | {:.2} ms | {:.2} ms | {} | |",
                    p.buildbot,
                    c.backend,
                    c.concurrency,
                    thousands(c.reports as u64),
                    thousands(self.peer_body as u64),
                    thousands(c.rate.round() as u64),
                    c.p50_ms,
                    c.p99_ms,
                    us(Duration::from_secs_f64(c.cpu_s / c.reports as f64)),
                );
            }
        }
        if let Some(u) = &self.unloaded {
            let _ = writeln!(
                o,
                "\nOne report at a time (host dispatcher, 1 worker; submit → 2xx seen by delivery, incl. generate and the outbox fsync): p50 {}, p99 {} over {} reports.",
                ms(u.median),
                ms(u.p99),
                u.n
            );
        }
        if self.peer.is_some() {
            let _ = writeln!(o, "\n**Ratio to Buildbot (same run, best Buildbot backend at the same concurrency):**\n");
            let mut workers: Vec<usize> = self.cells.iter().map(|c| c.workers).collect();
            workers.sort_unstable();
            workers.dedup();
            for w in workers {
                let Some(peer) = self.best_peer(w) else { continue };
                for c in self.cells.iter().filter(|c| c.workers == w) {
                    let _ = writeln!(
                        o,
                        "- wasmpush ({}) workers={w}: {:.1}× ({} vs {} reports/s, Buildbot {})",
                        c.generator,
                        c.rate / peer.rate,
                        thousands(c.rate.round() as u64),
                        thousands(peer.rate.round() as u64),
                        peer.backend
                    );
                }
            }
            let best = self.cells.iter().max_by(|a, b| a.rate.total_cmp(&b.rate));
            let peer_cells = self.peer.as_ref().map(|p| p.cells.as_slice()).unwrap_or_default();
            let best_peer = peer_cells.iter().max_by(|a, b| a.rate.total_cmp(&b.rate));
            let best_default =
                peer_cells.iter().filter(|c| c.backend == "txrequests").max_by(|a, b| a.rate.total_cmp(&b.rate));
            if let Some(ours) = best {
                let what = format!("wasmpush ({})", ours.generator);
                if let Some(b) = best_peer {
                    let _ = writeln!(
                        o,
                        "- best {what} vs best Buildbot: **{:.1}×** ({} vs {} reports/s, {} ×{})",
                        ours.rate / b.rate,
                        thousands(ours.rate.round() as u64),
                        thousands(b.rate.round() as u64),
                        b.backend,
                        b.concurrency
                    );
                }
                if let Some(b) = best_default {
                    let _ = writeln!(
                        o,
                        "- best {what} vs best Buildbot with its default client (txrequests): **{:.1}×** ({} vs {} reports/s)",
                        ours.rate / b.rate,
                        thousands(ours.rate.round() as u64),
                        thousands(b.rate.round() as u64)
                    );
                }
            }
        }

        if !self.cold.is_empty() || !self.warm.is_empty() {
            let _ = writeln!(
                o,
                "\n### Start-up and memory (5 generators: Rust, C, JavaScript, Python, WAT; 5 reporters)\n"
            );
            let _ = writeln!(
                o,
                "| start | runs | process start → ready (median) | of which exec → main | RSS idle (1 s after ready) | of which anonymous / file-backed |"
            );
            let _ = writeln!(o, "|---|---|---|---|---|---|");
            for (name, v) in [("cold (empty compile cache)", &self.cold), ("warm (cache filled)", &self.warm)] {
                if v.is_empty() {
                    continue;
                }
                let ready = median(v.iter().map(|r| r.ready).collect()).unwrap_or_default();
                let exec = median(v.iter().map(|r| r.exec).collect()).unwrap_or_default();
                let idle = median(v.iter().map(|r| r.idle_rss_kib).collect()).unwrap_or_default();
                let anon = median(v.iter().map(|r| r.idle_anon_kib).collect()).unwrap_or_default();
                let file = median(v.iter().map(|r| r.idle_file_kib).collect()).unwrap_or_default();
                let _ = writeln!(
                    o,
                    "| {name} | {} | **{}** | {} | **{}** | {} / {} |",
                    v.len(),
                    ms(ready),
                    ms(exec),
                    mib(idle),
                    mib(anon),
                    mib(file)
                );
            }
            if let Some(first) = self.warm.first().filter(|r| !r.steps.is_empty()) {
                let _ = writeln!(
                    o,
                    "\nWhere a warm start goes (the steps of `Service::start` redone one by one in the warm process, medians over the warm runs):\n"
                );
                let _ = writeln!(o, "| step | time |\n|---|---|");
                for (i, (name, _)) in first.steps.iter().enumerate() {
                    let t = median(self.warm.iter().filter_map(|r| r.steps.get(i).map(|s| s.1)).collect())
                        .unwrap_or_default();
                    let _ = writeln!(o, "| {name} | {} |", ms(t));
                }
            }
            if let Some(l) = &self.load {
                let rate = l.load_reports as f64 / l.load_time.as_secs_f64().max(1e-9);
                let _ = writeln!(
                    o,
                    "\nUnder load ({} reports from 5 generators per event, 2 workers, {:.0} reports/s): peak RSS sampled every 5 ms **{}**, kernel high-water mark {}.",
                    thousands(l.load_reports),
                    rate,
                    mib(l.load_rss_kib),
                    mib(l.hwm_kib)
                );
            }
        }
        o
    }
}
