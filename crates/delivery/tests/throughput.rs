//! Measures enqueue and end-to-end throughput against a real receiver on
//! 127.0.0.1 (run with `--nocapture` to see the figures). The asserted
//! floors are far below the measured rates; they catch a collapse (e.g. a
//! lost group commit), not noise.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use wasmpush_delivery::Delivery;

fn body(n: usize) -> String {
    format!(r#"{{"buildid": {n}, "results": 0, "state_string": "build successful", "pad": "{}"}}"#, "x".repeat(400))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_and_end_to_end_throughput() {
    let srv = serve(always(200), None).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.redb");
    let d = Arc::new(Delivery::open(&path, vec![("t".into(), fast_target(&srv.url))]).await.unwrap());

    // 1. one blocking enqueue at a time: one fsync'd commit each.
    let t = Instant::now();
    for n in 0..1000 {
        d.enqueue(report("t", &format!("seq_{n}"), &format!("br:{}", n % 50), &body(n))).unwrap();
    }
    let seq_rate = 1000.0 / t.elapsed().as_secs_f64();

    // 2. 32 concurrent producers: they share commits (group commit).
    let t = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..32 {
        let d = d.clone();
        tasks.push(tokio::spawn(async move {
            for n in (p..2000).step_by(32) {
                d.enqueue_async(vec![report("t", &format!("con_{n}"), &format!("br:{}", n % 50), &body(n))])
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let conc_rate = 2000.0 / t.elapsed().as_secs_f64();

    // 3. batches of 500 (what a replay or a busy pipeline would hand over).
    let t = Instant::now();
    for b in 0..40 {
        let batch = (0..500)
            .map(|i| {
                let n = b * 500 + i;
                report("t", &format!("bat_{n}"), &format!("br:{}", n % 200), &body(n))
            })
            .collect();
        d.enqueue_batch(batch).unwrap();
    }
    let batch_rate = 20000.0 / t.elapsed().as_secs_f64();

    srv.wait_for(23000, Duration::from_secs(120)).await;
    let e2e = t.elapsed();
    assert!(d.wait_idle(Duration::from_secs(30)).await);
    let s = d.stats();
    assert_eq!((s.sent, s.pending, s.dead), (23000, 0, 0));
    eprintln!(
        "enqueue throughput: sequential {seq_rate:.0}/s, 32 concurrent producers {conc_rate:.0}/s, \
         batches of 500 {batch_rate:.0}/s; 20,000 batched reports delivered end to end in {e2e:.2?} \
         ({:.0}/s incl. draining the earlier 3,000)",
        23000.0 / e2e.as_secs_f64()
    );
    assert!(seq_rate > 20.0 && conc_rate > 100.0 && batch_rate > 1000.0);
    Arc::into_inner(d).unwrap().shutdown().await;
}
