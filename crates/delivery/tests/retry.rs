//! Retries, Retry-After, dead letters, timeouts, ordering and isolation,
//! against real receivers on 127.0.0.1.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use wasmpush_delivery::{Delivery, DurationValue, EntryState, Selector};

fn outbox() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("outbox.redb");
    (dir, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_500_then_429_retry_after_then_200_with_the_right_waits() {
    let script: Script = Arc::new(|_, i| match i {
        0 => Reply::status(500),
        1 => {
            let mut r = Reply::status(429);
            r.headers = vec![("retry-after".into(), "1".into())];
            r
        }
        _ => Reply::ok(),
    });
    let srv = serve(script, None).await;
    let (_d, path) = outbox();
    let mut cfg = fast_target(&srv.url);
    cfg.retry_schedule = Some(vec![DurationValue(Duration::from_millis(200))]);
    let d = Delivery::open(&path, vec![("t".into(), cfg)]).await.unwrap();
    d.enqueue(report("t", "msg_retry", "k", r#"{"n": 1}"#)).unwrap();
    let got = srv.wait_for(3, Duration::from_secs(10)).await;
    assert!(d.wait_idle(Duration::from_secs(5)).await);
    let gap1 = got[1].at - got[0].at;
    let gap2 = got[2].at - got[1].at;
    assert!(
        gap1 >= Duration::from_millis(190) && gap1 < Duration::from_millis(900),
        "after 500: schedule wait, got {gap1:?}"
    );
    assert!(
        gap2 >= Duration::from_millis(990) && gap2 < Duration::from_millis(1900),
        "after 429: Retry-After 1 s, got {gap2:?}"
    );
    assert!(got.iter().all(|r| r.id() == "msg_retry"), "same webhook-id on every attempt");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(srv.count(), 3, "delivered once successfully, then never again");
    let s = d.stats();
    assert_eq!((s.sent, s.retried, s.dead, s.pending), (1, 2, 0, 0));
    assert!(d.wait_idle(Duration::from_secs(5)).await);
    assert!(d.entries().unwrap().is_empty(), "removed from the outbox after the 2xx");
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_4xx_go_straight_to_the_dead_letter_list_and_retry_revives_them() {
    let script: Script = Arc::new(|r, _| if r.id() == "msg_bad" { Reply::status(422) } else { Reply::ok() });
    let srv = serve(script, None).await;
    let (_d, path) = outbox();
    let d = Delivery::open(&path, vec![("t".into(), fast_target(&srv.url))]).await.unwrap();
    d.enqueue(report("t", "msg_bad", "k", "{}")).unwrap();
    d.enqueue(report("t", "msg_next", "k", "{}")).unwrap();
    let got = srv.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(got[0].id(), "msg_bad");
    assert_eq!(got[1].id(), "msg_next", "a dead report does not block its key");
    assert!(d.wait_idle(Duration::from_secs(5)).await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(srv.count(), 2, "422 is not retried");
    let e = d.entries().unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].id.as_str(), e[0].state, e[0].attempts), ("msg_bad", EntryState::Dead, 1));
    assert!(e[0].last_error.as_deref().unwrap_or_default().contains("422"));
    assert_eq!(d.stats().dead, 1);
    // Running-instance retry: it is sent again (and dies again: 422 stays 422).
    assert_eq!(d.retry_dead(&Selector::Id("msg_bad".into())).unwrap(), 1);
    srv.wait_for(3, Duration::from_secs(5)).await;
    assert!(d.wait_idle(Duration::from_secs(5)).await);
    assert_eq!(d.drop_dead(&Selector::Dead).unwrap(), 1);
    assert!(d.entries().unwrap().is_empty());
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_are_bounded_and_a_timeout_is_retried() {
    // Always 503: gives up after max_attempts.
    let srv = serve(always(503), None).await;
    let (_d, path) = outbox();
    let mut cfg = fast_target(&srv.url);
    cfg.max_attempts = Some(3);
    cfg.retry_schedule = Some(vec![DurationValue(Duration::from_millis(20))]);
    // A receiver that answers too late: the timeout counts as a failure.
    let slow = serve(
        Arc::new(|_, i| if i == 0 { Reply { delay: Duration::from_secs(3), ..Reply::ok() } } else { Reply::ok() }),
        None,
    )
    .await;
    let mut slow_cfg = fast_target(&slow.url);
    slow_cfg.timeout = DurationValue(Duration::from_millis(300));
    let d = Delivery::open(&path, vec![("t".into(), cfg), ("slow".into(), slow_cfg)]).await.unwrap();
    d.enqueue(report("t", "m1", "k", "{}")).unwrap();
    d.enqueue(report("slow", "m2", "k", "{}")).unwrap();
    srv.wait_for(3, Duration::from_secs(5)).await;
    slow.wait_for(2, Duration::from_secs(5)).await;
    assert!(d.wait_idle(Duration::from_secs(5)).await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(srv.count(), 3, "exactly max_attempts");
    let e = d.entries().unwrap();
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].state, EntryState::Dead);
    assert!(e[0].last_error.as_deref().unwrap_or_default().contains("gave up after 3 attempts"));
    let s = d.stats();
    assert_eq!((s.sent, s.dead), (1, 1));
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_key_order_holds_and_dead_targets_or_keys_delay_nobody() {
    // Receiver A: jittery latency; the key "build:stuck" always gets 503.
    let script: Script = Arc::new(|r, i| {
        if r.header("x-key") == Some("build:stuck") {
            return Reply::status(503);
        }
        Reply { delay: Duration::from_millis((i as u64 * 7) % 23), ..Reply::ok() }
    });
    let a = serve(script, None).await;
    let (_d, path) = outbox();
    let mut a_cfg = fast_target(&a.url);
    a_cfg.retry_schedule = Some(vec![DurationValue(Duration::from_secs(30))]);
    a_cfg.concurrency = 4;
    // Target B: nothing listens; long waits between attempts.
    let mut b_cfg = fast_target(&closed_port_url());
    b_cfg.retry_schedule = Some(vec![DurationValue(Duration::from_secs(30))]);
    let d = Delivery::open(&path, vec![("a".into(), a_cfg), ("b".into(), b_cfg)]).await.unwrap();

    let mk = |t: &str, key: &str, n: usize| {
        let mut r = report(t, &format!("{t}-{key}-{n}"), key, &format!(r#"{{"n": {n}}}"#));
        r.headers = vec![("X-Key".into(), key.into())];
        r
    };
    // Dead target first, then a stuck key, then interleaved live keys.
    let start = Instant::now();
    for n in 0..20 {
        d.enqueue(mk("b", "build:1", n)).unwrap();
    }
    d.enqueue(mk("a", "build:stuck", 0)).unwrap();
    d.enqueue(mk("a", "build:stuck", 1)).unwrap();
    for n in 0..30 {
        for key in ["build:1", "build:2", "build:3"] {
            d.enqueue(mk("a", key, n)).unwrap();
        }
    }
    let got = a.wait_for(91, Duration::from_secs(10)).await;
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(5), "live keys were delayed: {elapsed:?}");
    let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
    for r in &got {
        let key = r.header("x-key").unwrap().to_owned();
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        seen.entry(key).or_default().push(v["n"].as_u64().unwrap() as usize);
    }
    for key in ["build:1", "build:2", "build:3"] {
        assert_eq!(seen[key], (0..30).collect::<Vec<_>>(), "order of {key}");
    }
    assert_eq!(seen["build:stuck"], vec![0], "the stuck key's second report waits behind its head");
    assert!(d.wait_idle(Duration::from_secs(5)).await, "everything left is waiting for a later retry");
    let s = d.stats();
    assert_eq!(s.sent, 90);
    assert_eq!(s.pending, 22, "20 for the dead target + 2 on the stuck key");
    d.shutdown().await;
}
