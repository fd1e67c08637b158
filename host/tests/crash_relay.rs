//! Relay crash test: 1,200 Buildbot bodies are POSTed to `wasmpush run`'s
//! relay by 16 concurrent clients while the target is down, and the process
//! is SIGKILLed at a seeded moment (printed) once enough POSTs were answered
//! 2xx; the last round runs a slow first generator (50 ms per event), so the
//! kill lands while acknowledged events wait to be generated. Restarted with the target up, every event whose POST got a 2xx is
//! delivered: a `200` means the event was committed to the inbox, never just
//! queued in memory. Each round asserts the kill came after at least 100
//! acknowledged events that had not been delivered (the target was down), so
//! the test cannot pass by killing an idle process.

mod common;

use std::collections::HashSet;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmpush_testkit::Receiver;

/// POSTs per round.
const N: usize = 1200;
const CLIENTS: usize = 16;

fn start(cfg: &std::path::Path, relay: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_wasmpush"))
        .args(["run", cfg.to_str().unwrap(), "--settle", "30s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", relay)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(60), "the relay never started listening");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// A tiny deterministic generator for kill moments (printed, so a failing
/// round can be rerun with the same seed).
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn sigkill_never_loses_an_acknowledged_relay_post() {
    let mut seed: u64 = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_2026);
    println!("seed {seed}");
    for round in 0..4 {
        let slow_first = round == 3;
        let kill_after = 150 + (next(&mut seed) % 600) as usize;
        let dir = tempfile::tempdir().unwrap();
        let (relay, target) = (common::free_port(), common::free_port()); // nothing listens on `target`: it is down
        let cfg = common::relay_config(dir.path(), relay, target, "200ms", slow_first);
        let mut child = start(&cfg, relay);

        let acked: Arc<Mutex<Vec<i64>>> = Arc::default();
        let sent = Arc::new(AtomicUsize::new(0));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (acked, sent) = (acked.clone(), sent.clone());
                std::thread::spawn(move || {
                    for i in (c..N).step_by(CLIENTS) {
                        let buildid = 10_000 * (round + 1) + i as i64;
                        sent.fetch_add(1, Ordering::SeqCst);
                        if common::post(relay, "/buildbot/build-finished", &common::build_body(buildid))
                            .is_some_and(|s| (200..300).contains(&s))
                        {
                            acked.lock().unwrap().push(buildid);
                        }
                    }
                })
            })
            .collect();
        let t = Instant::now();
        while acked.lock().unwrap().len() < kill_after {
            assert!(
                t.elapsed() < Duration::from_secs(120),
                "round {round}: only {} POSTs acknowledged",
                acked.lock().unwrap().len()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().unwrap(); // SIGKILL, mid-burst: clients are still posting
        let acked_at_kill = acked.lock().unwrap().len();
        child.wait().unwrap();
        for c in clients {
            c.join().unwrap();
        }
        let acked: HashSet<i64> = acked.lock().unwrap().iter().copied().collect();
        println!(
            "round {round} (slow first generator: {slow_first}): kill planned after {kill_after} acks; at kill {acked_at_kill} acknowledged, none delivered (target down); \
             {} POSTs sent, {} acknowledged in all",
            sent.load(Ordering::SeqCst),
            acked.len()
        );
        assert!(acked_at_kill >= 100, "the kill must come after at least 100 undelivered acknowledged events");
        let stored = wasmpush_delivery::outbox::list(&dir.path().join("outbox.redb")).unwrap().len();
        println!(
            "round {round}: at kill {stored} reports were stored; the other acknowledged events were in the inbox"
        );
        if slow_first {
            assert!(
                acked_at_kill.saturating_sub(stored) >= 100,
                "with a slow generator at least 100 acknowledged events must still wait for generation at the kill"
            );
        }

        // Restart with the target up: every acknowledged event arrives.
        let rt = tokio::runtime::Runtime::new().unwrap();
        let receiver = rt.block_on(Receiver::bind(format!("127.0.0.1:{target}").parse().unwrap())).unwrap();
        let mut child = start(&cfg, relay);
        let delivered = |receiver: &Receiver| -> (HashSet<i64>, usize, usize) {
            let got = receiver.received();
            let mut builds = HashSet::new();
            let mut ids = HashSet::new();
            let mut dup = 0;
            for r in &got {
                let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                builds.insert(v["buildid"].as_i64().unwrap());
                if !ids.insert(r.header("webhook-id").unwrap().to_string()) {
                    dup += 1;
                }
            }
            (builds, got.len(), dup)
        };
        let t = Instant::now();
        while !acked.is_subset(&delivered(&receiver).0) && t.elapsed() < Duration::from_secs(120) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let status = child.wait().unwrap();
        let (builds, requests, duplicates) = delivered(&receiver);
        let missing: Vec<&i64> = acked.difference(&builds).collect();
        println!(
            "round {round}: after restart {requests} requests, {} distinct builds delivered, {duplicates} duplicates (same webhook-id), \
             {} acknowledged missing",
            builds.len(),
            missing.len()
        );
        assert!(missing.is_empty(), "round {round}: acknowledged events never delivered: {missing:?}");
        assert!(status.success(), "round {round}: the restarted run must stop cleanly on SIGTERM: {status}");
    }
}
