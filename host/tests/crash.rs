//! Crash test: `wasmpush run` is killed with SIGKILL in the middle of a burst
//! of 5,000 reports to a target that is down. Restarted with the target up,
//! every report arrives; none is lost, and a duplicate (a report delivered
//! but not yet removed when the process died) carries the same webhook-id.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wasmpush_testkit::Receiver;

const N: usize = 5000;

fn events(path: &std::path::Path) {
    let capture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("tests/fixtures/buildbot-4.3.0/captures/082.json")).unwrap(),
    )
    .unwrap();
    let base: serde_json::Value = serde_json::from_str(capture["body_raw"].as_str().unwrap()).unwrap();
    let mut out = String::new();
    for i in 0..N {
        let mut b = base.clone();
        // 500 build requests with a new and a finished event each... of 4 builds.
        b["buildid"] = (1000 + i).into();
        b["buildrequestid"] = (i % 1000).into();
        out.push_str(
            &serde_json::json!({"kind": if i % 2 == 0 { "build-new" } else { "build-finished" }, "payload": b})
                .to_string(),
        );
        out.push('\n');
    }
    std::fs::write(path, out).unwrap();
}

fn config(dir: &std::path::Path, port: u16, with_source: bool) -> std::path::PathBuf {
    let source = if with_source { "[[source]]\ntype = \"replay\"\npath = \"events.jsonl\"\n" } else { "" };
    let text = format!(
        "{source}[outbox]\npath = \"outbox.redb\"\n[runtime]\ncache_dir = \"cache\"\n\
         [[reporter]]\nname = \"target\"\nserver_url = \"http://127.0.0.1:{port}/hook\"\nretry_schedule = [\"200ms\"]\nretry_jitter = 0.0\nmax_attempts = 100000\n\
         [[reporter.generator]]\nwasm = {:?}\nkind = \"build-start-end\"\n",
        common::generator("buildbot-json").to_str().unwrap()
    );
    let p = dir.join(if with_source { "replay.toml" } else { "drain.toml" });
    std::fs::write(&p, text).unwrap();
    p
}

fn run(cfg: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wasmpush"))
        .args(["run", cfg.to_str().unwrap(), "--settle", "60s"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn sigkill_mid_burst_loses_no_report() {
    let dir = tempfile::tempdir().unwrap();
    events(&dir.path().join("events.jsonl"));
    // A port with nothing listening: the target is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let replay = config(dir.path(), port, true);
    // Compile once so the first run spends its time on the burst.
    run(&config(dir.path(), port, false));

    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmpush"))
        .args(["run", replay.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let start = Instant::now();
    while let Some(Ok(line)) = lines.next() {
        if line.contains("replaying recorded events") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the run never started replaying");
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let pending = wasmpush_delivery::outbox::list(&dir.path().join("outbox.redb")).unwrap();
    let k = pending.len();
    println!("killed after {k} of {N} reports were stored");
    assert!(k > 0 && k < N, "the kill must land mid-burst (stored {k} of {N})");
    let pending_ids: HashSet<String> = pending.iter().map(|e| e.id.clone()).collect();
    assert_eq!(pending_ids.len(), k);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let receiver = rt.block_on(Receiver::bind(format!("127.0.0.1:{port}").parse().unwrap())).unwrap();

    // Restart with no source: exactly what the outbox held arrives.
    run(&config(dir.path(), port, false));
    let drained: HashSet<String> =
        receiver.received().iter().map(|r| r.header("webhook-id").unwrap().to_string()).collect();
    assert_eq!(drained, pending_ids, "every stored report is delivered after the crash");

    // Replay again with the target up: every report arrives.
    run(&replay);
    let received = receiver.received();
    let mut bodies: HashMap<String, Vec<u8>> = HashMap::new();
    let mut duplicates = 0;
    for r in &received {
        let id = r.header("webhook-id").unwrap().to_string();
        match bodies.get(&id) {
            Some(body) => {
                duplicates += 1;
                assert_eq!(body, &r.body, "a duplicate carries the same id and the same body");
            }
            None => {
                bodies.insert(id, r.body.clone());
            }
        }
    }
    println!(
        "sent {N}, received {} ({} distinct, {duplicates} duplicates with the same webhook-id)",
        received.len(),
        bodies.len()
    );
    assert_eq!(bodies.len(), N, "every report arrived");
    let left = wasmpush_delivery::outbox::list(&dir.path().join("outbox.redb")).unwrap();
    assert!(left.is_empty(), "outbox empty at the end: {left:?}");
}
