//! SIGKILL in the middle of a burst: a child process (this test binary
//! re-run in "child" mode) enqueues reports for a target that is down and
//! prints each acknowledged id; the parent kills it with SIGKILL, then
//! checks that every acknowledged report is in the outbox and arrives after
//! a restart with the target up. (The lead's test does the same with the
//! `wasmpush` binary.)

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use wasmpush_delivery::{Delivery, DurationValue, EntryState, outbox};

const CHILD_ENV: &str = "WASMPUSH_DELIVERY_CRASH_CHILD";
const KILL_AFTER: usize = 1200;

/// Child mode: enqueue for ever (4 concurrent producers), print acks.
async fn child(path: &str) {
    let mut down = fast_target(&closed_port_url());
    down.retry_schedule = Some(vec![DurationValue(Duration::from_millis(300))]);
    down.max_attempts = Some(1000);
    let d = std::sync::Arc::new(Delivery::open(path.as_ref(), vec![("t".into(), down)]).await.unwrap());
    let mut tasks = Vec::new();
    for p in 0..4 {
        let d = d.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let id = format!("msg_{p}_{n}");
                let r = report("t", &id, &format!("buildrequest:{p}"), &format!(r#"{{"p": {p}, "n": {n}}}"#));
                d.enqueue_async(vec![r]).await.unwrap();
                println!("acked {id}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_burst_loses_no_acknowledged_report() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        child(&path).await;
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.redb");
    let mut proc = Command::new(std::env::current_exe().unwrap())
        .args(["sigkill_mid_burst_loses_no_acknowledged_report", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(proc.stdout.take().unwrap()).lines();
    let mut acked = HashSet::new();
    while acked.len() < KILL_AFTER {
        let line = lines.next().expect("child ended early").unwrap();
        if let Some(id) = line.strip_prefix("acked ") {
            acked.insert(id.to_owned());
        }
    }
    proc.kill().unwrap(); // SIGKILL
    proc.wait().unwrap();
    for line in lines.map_while(Result::ok) {
        if let Some(id) = line.strip_prefix("acked ") {
            acked.insert(id.to_owned());
        }
    }

    let stored = outbox::list(&path).unwrap();
    let stored_ids: HashSet<String> = stored.iter().map(|e| e.id.clone()).collect();
    let missing: Vec<_> = acked.difference(&stored_ids).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged reports lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(stored.iter().all(|e| e.state == EntryState::Pending));

    let srv = serve(always(200), None).await;
    let mut up = fast_target(&srv.url);
    up.retry_schedule = Some(vec![DurationValue(Duration::from_millis(300))]);
    let d = Delivery::open(&path, vec![("t".into(), up)]).await.unwrap();
    srv.wait_for(stored.len(), Duration::from_secs(60)).await;
    assert!(d.wait_idle(Duration::from_secs(30)).await);
    d.shutdown().await;
    let got = srv.requests();
    let got_ids: HashSet<String> = got.iter().map(Received::id).collect();
    assert!(acked.is_subset(&got_ids), "every acknowledged report arrived");
    assert_eq!(got_ids, stored_ids, "exactly what the outbox held");
    // Per producer (= ordering key), ids arrive in increasing order.
    for p in 0..4 {
        let ns: Vec<u64> =
            got.iter().filter_map(|r| r.id().strip_prefix(&format!("msg_{p}_")).map(|n| n.parse().unwrap())).collect();
        assert!(ns.windows(2).all(|w| w[0] < w[1]), "producer {p} out of order");
    }
    eprintln!("SIGKILL after {} acks: {} in outbox, {} delivered after restart", acked.len(), stored.len(), got.len());
}
