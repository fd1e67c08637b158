//! Faults under a running service, injected in-process ([`Faults`]): each
//! one must stop the run with an error (the binary then exits non-zero for
//! its supervisor) and lose nothing the relay acknowledged.
//!
//! - Disk full (a fault-injecting outbox backend; `scripts/disk-full-tmpfs.sh`
//!   does the same with the real binary on a small tmpfs, which CI cannot
//!   mount). Events POSTed before the fault are answered 200 and the target
//!   is down, so they are still undelivered when the disk fills. The next
//!   POST is answered 503 with `Retry-After` (never 200) and counted, and the
//!   run ends with a storage error. Restarted with space back and the target
//!   up, every event that got a 200 is delivered.
//! - A generator worker thread that dies (a panic in host code): the run
//!   ends with `WorkerDied`; the event it held was committed and
//!   acknowledged, so the restart generates it from the inbox.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};
use wasmpush::config::Config;
use wasmpush::faults::Faults;
use wasmpush::service::{Service, ServiceError};
use wasmpush_delivery::faults::StorageFaults;
use wasmpush_testkit::Receiver;

async fn post(port: u16, buildid: i64) -> Option<u16> {
    tokio::task::spawn_blocking(move || common::post(port, "/buildbot/build-finished", &common::build_body(buildid)))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_stops_the_run_and_a_restart_delivers_every_200() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, target) = (common::free_port(), common::free_port()); // the target is down at first
    // One attempt, then an hour's wait: the outbox is quiet when the disk fills.
    let config = Config::load(&common::relay_config(dir.path(), relay, target, "1h", false)).unwrap();
    let faults = StorageFaults::default();
    let injected = Faults { storage: Some(faults.clone()), ..Faults::default() };
    let service = std::sync::Arc::new(Service::start_with_faults(&config, injected).await.unwrap());
    // The run ends on the fault, not on a stop: `_stop` stays alive.
    let (_stop, run) = common::run_until_stopped(service.clone(), Duration::from_secs(1));
    common::wait_listening(relay).await;
    let mut acknowledged = HashSet::new();
    for buildid in 1..=40 {
        assert_eq!(post(relay, buildid).await, Some(200), "before the fault every POST is stored");
        acknowledged.insert(buildid);
    }
    // Let every report have its first (failed) attempt and the status
    // updates reach the disk, so the next write is the next POST's.
    while service.delivery.stats().retried < 40 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;

    faults.fail_writes(true);
    let answer =
        tokio::task::spawn_blocking(move || common::post_response(relay, "/buildbot", &common::build_body(41)))
            .await
            .unwrap()
            .expect("the relay answers");
    assert_eq!(answer.0, 503, "an event that cannot be committed is refused, not acknowledged: {}", answer.1);
    assert!(answer.1.to_ascii_lowercase().contains("\r\nretry-after: "), "a 503 says when to retry: {}", answer.1);
    let ended =
        tokio::time::timeout(Duration::from_secs(10), run).await.expect("the run stops on a storage fault").unwrap();
    match ended {
        Err(ServiceError::Storage(reason)) => assert!(reason.contains("no space left"), "{reason}"),
        other => panic!("expected a storage error, got {other:?}"),
    }
    assert_ne!(post(relay, 42).await, Some(200), "nothing is acknowledged after the fault");
    let counted = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(counted(&service.relay.accepted), 40);
    assert!(counted(&service.relay.unavailable) >= 1, "every 503 is counted");
    let service = std::sync::Arc::try_unwrap(service).ok().expect("the run has ended");
    service.shutdown().await;

    // Restart with space back and the target up; the reports that already
    // had an attempt wait an hour (the retry schedule above): make them due
    // now, as an operator would with `wasmpush outbox retry`.
    wasmpush_delivery::outbox::retry(&dir.path().join("outbox.redb"), &wasmpush_delivery::Selector::All).unwrap();
    let delivered = restart_and_deliver(&config, target, &acknowledged).await;
    assert!(!delivered.contains(&41), "the refused event was not stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_worker_ends_the_run_and_its_acknowledged_event_is_generated_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, target) = (common::free_port(), common::free_port()); // the target is down at first
    let config = Config::load(&common::relay_config(dir.path(), relay, target, "1h", false)).unwrap();
    let faults = Faults::default();
    let service = std::sync::Arc::new(Service::start_with_faults(&config, faults.clone()).await.unwrap());
    // The run ends on the fault, not on a stop: `_stop` stays alive.
    let (_stop, run) = common::run_until_stopped(service.clone(), Duration::from_secs(1));
    common::wait_listening(relay).await;
    let mut acknowledged = HashSet::new();
    for buildid in 1..=5 {
        assert_eq!(post(relay, buildid).await, Some(200));
        acknowledged.insert(buildid);
    }
    while service.delivery.stats().enqueued < 5 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    faults.worker_panic.store(true, std::sync::atomic::Ordering::SeqCst);
    // Committed to the inbox and acknowledged before a worker takes it.
    assert_eq!(post(relay, 6).await, Some(200));
    acknowledged.insert(6);
    let ended =
        tokio::time::timeout(Duration::from_secs(30), run).await.expect("the run stops when a worker dies").unwrap();
    match ended {
        Err(e @ ServiceError::WorkerDied(_)) => assert!(e.to_string().contains("wasmpush-gen-"), "{e}"),
        other => panic!("expected a dead worker, got {other:?}"),
    }
    let service = std::sync::Arc::try_unwrap(service).ok().expect("the run has ended");
    service.shutdown().await;
    wasmpush_delivery::outbox::retry(&dir.path().join("outbox.redb"), &wasmpush_delivery::Selector::All).unwrap();
    restart_and_deliver(&config, target, &acknowledged).await;
}

/// Starts `config` again with its target listening on `target`, waits until
/// every acknowledged build is delivered, stops, and returns what arrived.
async fn restart_and_deliver(config: &Config, target: u16, acknowledged: &HashSet<i64>) -> HashSet<i64> {
    let receiver = Receiver::bind(format!("127.0.0.1:{target}").parse().unwrap()).await.unwrap();
    let service = std::sync::Arc::new(Service::start(config).await.unwrap());
    let (stop_tx, run) = common::run_until_stopped(service.clone(), Duration::from_secs(5));
    let delivered = || -> HashSet<i64> {
        receiver
            .received()
            .iter()
            .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["buildid"].as_i64().unwrap())
            .collect()
    };
    let t = Instant::now();
    while !acknowledged.is_subset(&delivered()) && t.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop_tx.send(());
    run.await.unwrap().unwrap();
    let missing: Vec<_> = acknowledged.difference(&delivered()).copied().collect();
    assert!(missing.is_empty(), "acknowledged, never delivered: {missing:?}");
    if let Ok(service) = std::sync::Arc::try_unwrap(service) {
        service.shutdown().await;
    }
    delivered()
}
