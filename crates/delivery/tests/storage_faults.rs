//! A full disk under the outbox (injected with a fault backend, since CI has
//! no small filesystem to fill): a commit that fails refuses what was
//! waiting for it, is published by [`Delivery::storage_failed`] (the host
//! then exits non-zero), and every later change is refused too. Nothing that
//! was acknowledged is lost: reopened after space is back, the outbox holds
//! every event and report acknowledged before the fault, and nothing after.

mod common;

use std::time::Duration;

use common::*;
use wasmpush_delivery::Delivery;
use wasmpush_delivery::faults::StorageFaults;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_instead_of_acknowledging_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.redb");
    let down = || fast_target(&closed_port_url());
    let faults = StorageFaults::default();
    let d = Delivery::open_with_faults(&path, vec![("t".into(), down())], faults.clone()).await.unwrap();

    // Before the fault: 20 events admitted, 10 of them turned into reports.
    let mut acknowledged = Vec::new();
    for n in 0..20 {
        acknowledged.push(d.admit(format!("event {n}").into_bytes()).committed().await.unwrap());
    }
    let reports: Vec<_> = (0..10).map(|n| d.check(report("t", &format!("msg_{n}"), "k", "{}")).unwrap()).collect();
    assert_eq!(d.enqueue_consuming(reports, acknowledged[..10].to_vec()).unwrap(), 10);

    // The disk fills up: the next admission and enqueue are refused, and
    // the failure is published.
    faults.fail_writes(true);
    let refused = d.admit(b"event lost to the full disk".to_vec()).committed().await;
    assert!(refused.is_err(), "an admission that cannot be committed must not be acknowledged");
    let reason =
        tokio::time::timeout(Duration::from_secs(5), d.storage_failed()).await.expect("the failure is published");
    assert!(reason.contains("no space left"), "{reason}");
    assert!(d.enqueue_batch(vec![report("t", "msg_late", "k", "{}")]).is_err());

    // Space comes back, but this handle stays refused: redb needs a reopen.
    faults.fail_writes(false);
    let again = d.admit(b"after the fault".to_vec()).committed().await;
    assert!(again.unwrap_err().to_string().contains("restart"), "a failed outbox keeps refusing until reopened");
    d.shutdown().await;

    // Reopened (what a supervisor's restart does): everything acknowledged
    // is there, nothing refused is.
    let d = Delivery::open(&path, vec![("t".into(), down())]).await.unwrap();
    let inbox: Vec<u64> = d.inbox().unwrap().into_iter().map(|(seq, _)| seq).collect();
    assert_eq!(inbox, acknowledged[10..].to_vec(), "the 10 events not yet generated are still in the inbox");
    let ids: Vec<String> = d.entries().unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(ids, (0..10).map(|n| format!("msg_{n}")).collect::<Vec<_>>());
    assert_eq!(d.admit(b"works again".to_vec()).committed().await.unwrap(), 21);
    d.shutdown().await;
}
