//! The commit bound: a worker commits the reports it has generated once
//! `commit_delay` has passed since its batch started, instead of holding
//! them while it generates the rest of its queue. One worker, one fast event
//! (a builder the slow generator does not take) queued ahead of five slow
//! ones (a generator that spins to its 200 ms time limit first): the fast
//! event's report is in the outbox while at least three slow events are
//! still waiting to be generated. Without the bound all six were committed
//! together, after every slow one.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmpush::config::Config;
use wasmpush::dispatch::Dispatcher;
use wasmpush::service::Service;
use wasmpush_sources::{EventKind, SourceEvent};

fn event(buildid: i64, builder: &str) -> SourceEvent {
    let mut payload: serde_json::Value = serde_json::from_str(&common::build_body(buildid)).unwrap();
    payload["builder"]["name"] = builder.into();
    SourceEvent::new(EventKind::BuildFinished, payload)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_generator_does_not_hold_reports_generated_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let target = common::free_port(); // down: reports stay in the outbox
    let text = format!(
        "[outbox]\npath = \"outbox.redb\"\n[runtime]\ncache_dir = \"cache\"\n\
         [[reporter]]\nname = \"target\"\nserver_url = \"http://127.0.0.1:{target}/hook\"\nretry_schedule = [\"1h\"]\n\
         [[reporter.generator]]\nwasm = {:?}\nkind = \"build-status\"\nbuilders = [\"slow\"]\nsettings = {{ mode = \"loop\" }}\nlimits = {{ timeout = \"200ms\" }}\n\
         [[reporter.generator]]\nwasm = {:?}\nkind = \"build-status\"\n",
        common::generator("hostile").to_str().unwrap(),
        common::generator("buildbot-json").to_str().unwrap()
    );
    std::fs::write(dir.path().join("bound.toml"), text).unwrap();
    let config = Config::load(&dir.path().join("bound.toml")).unwrap();
    let service = Service::start(&config).await.unwrap();
    let dispatcher = Arc::new(Dispatcher::start_bounded(
        service.pipeline.clone(),
        service.delivery.clone(),
        1,
        Duration::from_millis(2),
        None,
    ));
    let stats = dispatcher.stats();
    let d = dispatcher.clone();
    tokio::task::spawn_blocking(move || {
        d.submit(event(1, "fast"));
        for id in 2..=6 {
            d.submit(event(id, "slow"));
        }
    })
    .await
    .unwrap();
    let t = Instant::now();
    while service.delivery.stats().enqueued == 0 {
        assert!(t.elapsed() < Duration::from_secs(60), "no report was ever committed");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let handled = stats.snapshot().0;
    println!("the fast event's report was committed after {handled} of 6 events were generated");
    assert!(handled <= 3, "the fast report waited for {handled} events' generation");
    let d = Arc::try_unwrap(dispatcher).ok().unwrap();
    tokio::task::spawn_blocking(move || d.finish()).await.unwrap().unwrap();
    assert_eq!(service.delivery.stats().enqueued, 6, "every event's report is stored in the end");
    service.shutdown().await;
}
