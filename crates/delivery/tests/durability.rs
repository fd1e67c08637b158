//! The outbox across restarts: nothing lost, duplicates keep their
//! webhook-id, idempotent enqueue, and the offline admin functions.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use wasmpush_delivery::{Delivery, DurationValue, EntryState, OutboxError, Selector, outbox};

fn key_of(n: usize) -> String {
    format!("buildrequest:{}", n % 10)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_to_a_down_target_survives_a_restart_and_all_arrives_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.redb");
    let mut down = fast_target(&closed_port_url());
    down.retry_schedule = Some(vec![DurationValue(Duration::from_secs(30))]);
    let d = Arc::new(Delivery::open(&path, vec![("t".into(), down)]).await.unwrap());
    // 1,000 reports from 8 concurrent producers, plus a repeated id.
    let mut tasks = Vec::new();
    for p in 0..8 {
        let d = d.clone();
        tasks.push(tokio::spawn(async move {
            for n in (p..1000).step_by(8) {
                let r = report("t", &format!("msg_{n}"), &key_of(n), &format!(r#"{{"n": {n}}}"#));
                d.enqueue_async(vec![r]).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(d.enqueue_async(vec![report("t", "msg_7", &key_of(7), "{}")]).await.unwrap(), 0);
    let s = d.stats();
    assert_eq!((s.enqueued, s.duplicates, s.sent), (1000, 1, 0));
    assert!(matches!(outbox::list(&path), Err(OutboxError::InUse(_))), "a running instance locks the outbox");
    Arc::into_inner(d).unwrap().shutdown().await;

    let listed = outbox::list(&path).unwrap();
    assert_eq!(listed.len(), 1000);
    assert!(listed.iter().all(|e| e.state == EntryState::Pending));
    // Make everything due now instead of in 30 s (the CLI's `outbox retry --all`).
    assert_eq!(outbox::retry(&path, &Selector::All).unwrap(), 1000);

    // Restart with the receiver up (the target's URL may change between runs).
    let srv = serve(always(200), None).await;
    let d = Delivery::open(&path, vec![("t".into(), fast_target(&srv.url))]).await.unwrap();
    let got = srv.wait_for(1000, Duration::from_secs(30)).await;
    assert!(d.wait_idle(Duration::from_secs(10)).await);
    let mut per_key: HashMap<String, Vec<usize>> = HashMap::new();
    for r in &got {
        let n: usize = r.id().trim_start_matches("msg_").parse().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["n"].as_u64(), Some(n as u64), "body matches its webhook-id");
        per_key.entry(key_of(n)).or_default().push(n);
    }
    let mut all: Vec<usize> = per_key.values().flatten().copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..1000).collect::<Vec<_>>(), "every report exactly once");
    for (k, ns) in &per_key {
        // A key's FIFO follows enqueue order. Producers interleave freely, but
        // each producer enqueued its own n's in increasing order.
        for p in 0..8 {
            let mine: Vec<usize> = ns.iter().copied().filter(|n| n % 8 == p).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "{k} producer {p}: {mine:?}");
        }
    }
    d.shutdown().await;
    assert!(outbox::list(&path).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_mid_delivery_loses_nothing_and_duplicates_keep_their_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.redb");
    let slow = Arc::new(|_: &Received, _| Reply { delay: Duration::from_millis(3), ..Reply::ok() });
    let srv = serve(slow, None).await;
    let mut cfg = fast_target(&srv.url);
    cfg.concurrency = 2;
    let d = Delivery::open(&path, vec![("t".into(), cfg.clone())]).await.unwrap();
    let batch: Vec<_> = (0..400)
        .map(|n| report("t", &format!("msg_{n}"), &format!("k{}", n % 4), &format!(r#"{{"n": {n}}}"#)))
        .collect();
    assert_eq!(d.enqueue_batch(batch).unwrap(), 400);
    srv.wait_for(60, Duration::from_secs(10)).await;
    d.shutdown().await; // mid-way: requests in flight are abandoned
    let before = srv.count();
    let left = outbox::list(&path).unwrap().len();
    assert!(before < 400 && left > 0, "stopped mid-way ({before} arrived, {left} left)");
    assert!(before + left >= 400, "nothing lost: {before} arrived + {left} pending");

    let d = Delivery::open(&path, vec![("t".into(), cfg)]).await.unwrap();
    assert!(d.wait_idle(Duration::from_secs(30)).await);
    d.shutdown().await;
    let got = srv.requests();
    let mut bodies: HashMap<String, Vec<u8>> = HashMap::new();
    let mut first_seen: HashMap<String, Vec<usize>> = HashMap::new();
    for r in &got {
        if let Some(prev) = bodies.insert(r.id(), r.body.clone()) {
            assert_eq!(prev, r.body, "a duplicate is the same report with the same webhook-id");
        } else {
            let n: usize = r.id().trim_start_matches("msg_").parse().unwrap();
            first_seen.entry(format!("k{}", n % 4)).or_default().push(n);
        }
    }
    assert_eq!(bodies.len(), 400, "every report arrived");
    for (k, ns) in first_seen {
        assert!(ns.windows(2).all(|w| w[0] < w[1]), "order of {k}: {ns:?}");
    }
    assert!(outbox::list(&path).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_admin_lists_retries_and_drops_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("outbox.redb");
    assert!(outbox::list(&path).unwrap().is_empty(), "a missing outbox is empty");
    let srv = serve(always(404), None).await;
    let d = Delivery::open(&path, vec![("t".into(), fast_target(&srv.url))]).await.unwrap();
    d.enqueue_batch(vec![report("t", "a", "k1", "{}"), report("t", "b", "k2", "{}")]).unwrap();
    srv.wait_for(2, Duration::from_secs(5)).await;
    assert!(d.wait_idle(Duration::from_secs(5)).await);
    d.shutdown().await;

    let e = outbox::list(&path).unwrap();
    assert_eq!(e.len(), 2);
    assert!(e.iter().all(|e| e.state == EntryState::Dead && e.attempts == 1 && e.generator == "test-gen"));
    let line = e[0].to_string();
    assert!(line.contains(" dead a target=t key=k1 generator=test-gen attempts=1") && line.contains("404"), "{line}");
    assert_eq!(outbox::drop(&path, &Selector::Id("a".into())).unwrap(), 1);
    assert_eq!(outbox::retry(&path, &Selector::Dead).unwrap(), 1);
    let e = outbox::list(&path).unwrap();
    assert_eq!((e.len(), e[0].id.as_str(), e[0].state, e[0].attempts), (1, "b", EntryState::Pending, 0));

    // The revived entry is delivered on the next start.
    let ok = serve(always(200), None).await;
    let d = Delivery::open(&path, vec![("t".into(), fast_target(&ok.url))]).await.unwrap();
    assert_eq!(ok.wait_for(1, Duration::from_secs(5)).await[0].id(), "b");
    assert!(d.wait_idle(Duration::from_secs(5)).await);
    d.shutdown().await;
    assert!(outbox::list(&path).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_for_an_unconfigured_target_stay_in_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.redb");
    let mut down = fast_target(&closed_port_url());
    down.retry_schedule = Some(vec![DurationValue(Duration::from_secs(60))]);
    let d = Delivery::open(&path, vec![("old".into(), down)]).await.unwrap();
    d.enqueue(report("old", "x1", "k", "{}")).unwrap();
    assert!(matches!(
        d.enqueue(report("nope", "x2", "k", "{}")),
        Err(wasmpush_delivery::DeliveryError::UnknownTarget(_))
    ));
    d.shutdown().await;
    let srv = serve(always(200), None).await;
    let d = Delivery::open(&path, vec![("new".into(), fast_target(&srv.url))]).await.unwrap();
    assert!(d.wait_idle(Duration::from_secs(2)).await);
    assert_eq!(srv.count(), 0);
    assert_eq!(d.entries().unwrap().len(), 1, "kept, not dropped");
    d.shutdown().await;
}
