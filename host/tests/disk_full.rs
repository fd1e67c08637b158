//! Disk full under a running service (a fault-injecting outbox backend: CI
//! has no small filesystem to fill). Events POSTed to the relay before the
//! fault are answered 200 and the target is down, so they are still
//! undelivered when the disk fills. The next POST is answered 503 (never
//! 200), and the run ends with a storage error (the process would exit
//! non-zero for its supervisor). Restarted with space back and the target
//! up, every event that got a 200 is delivered.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};
use wasmpush::config::Config;
use wasmpush::receiver::Receiver;
use wasmpush::service::{Service, ServiceError};
use wasmpush_delivery::faults::StorageFaults;

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
    let service = std::sync::Arc::new(Service::start_with_faults(&config, Some(faults.clone())).await.unwrap());
    let run = tokio::spawn({
        let service = service.clone();
        async move { service.run(std::future::pending(), Duration::from_secs(1)).await.map(|_| ()) }
    });
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", relay)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(30), "the relay never listened");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
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
    let answer = post(relay, 41).await;
    assert_eq!(answer, Some(503), "an event that cannot be committed is refused, not acknowledged");
    let ended =
        tokio::time::timeout(Duration::from_secs(10), run).await.expect("the run stops on a storage fault").unwrap();
    match ended {
        Err(ServiceError::Storage(reason)) => assert!(reason.contains("no space left"), "{reason}"),
        other => panic!("expected a storage error, got {other:?}"),
    }
    assert_ne!(post(relay, 42).await, Some(200), "nothing is acknowledged after the fault");
    let service = std::sync::Arc::try_unwrap(service).ok().expect("the run has ended");
    service.shutdown().await;

    // Restart with space back and the target up; the reports that already
    // had an attempt wait an hour (the retry schedule above): make them due
    // now, as an operator would with `wasmpush outbox retry`.
    wasmpush_delivery::outbox::retry(&dir.path().join("outbox.redb"), &wasmpush_delivery::Selector::All).unwrap();
    let receiver = Receiver::bind(format!("127.0.0.1:{target}").parse().unwrap()).await.unwrap();
    let service = Service::start(&config).await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let service = std::sync::Arc::new(service);
    let run = tokio::spawn({
        let service = service.clone();
        async move {
            service
                .run(
                    async {
                        let _ = stop_rx.await;
                    },
                    Duration::from_secs(5),
                )
                .await
                .map(|_| ())
        }
    });
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
    assert!(missing.is_empty(), "acknowledged before the fault, never delivered: {missing:?}");
    assert!(!delivered().contains(&41), "the refused event was not stored");
}
