//! Contract 0.2 (`wit/v0.2`) end to end, with a real component compiled from
//! source (examples/requests-v2) beside 0.1 ones: one event → several
//! requests stored together and delivered in order, methods a reporter must
//! allow, and supersede keys, through a running service and a real receiver.

mod common;

use std::time::{Duration, Instant};
use wasmpush::config::Config;
use wasmpush::runtime::{Cause, Limits, Method, Runtime, RuntimeOptions};
use wasmpush::service::Service;
use wasmpush_sources::EventKind;
use wasmpush_testkit::Receiver;

const PAYLOAD: &str = r#"{"buildid": 7, "number": 1, "builderid": 1, "results": 0, "complete": true}"#;

fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn both_contracts_load_and_a_v2_generator_returns_many_requests_within_the_limits() {
    let rt = Runtime::new(&RuntimeOptions::default()).unwrap();
    let old = rt.load(&common::generator("buildbot-json"), None, Limits::default()).unwrap();
    assert_eq!(old.contract(), "0.1.0");
    let one = old.generate_all(EventKind::BuildFinished, PAYLOAD, &[]).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!((one[0].method, one[0].supersede.as_deref()), (Method::Post, None));

    let g = rt.load(&common::generator("requests-v2"), None, Limits::default()).unwrap();
    assert_eq!((g.contract(), g.name()), ("0.2.0", "requests-v2"));
    let three = g.generate_all(EventKind::BuildFinished, PAYLOAD, &[]).unwrap();
    let paths: Vec<_> = three.iter().map(|r| r.path.clone().unwrap()).collect();
    assert_eq!(paths, ["statuses/7/0", "statuses/7/1", "statuses/7/2"]);
    assert!(three.iter().all(|r| r.method == Method::Post));
    let patch = g.generate_all(EventKind::BuildFinished, PAYLOAD, &settings(&[("mode", "patch")])).unwrap();
    assert_eq!(patch[0].method, Method::Patch);
    let none = g.generate_all(EventKind::BuildFinished, PAYLOAD, &settings(&[("count", "0")])).unwrap();
    assert!(none.is_empty(), "an empty list is nothing to send");
    // `generate` keeps its at-most-one promise for 0.1-style callers.
    let e = g.generate(EventKind::BuildFinished, PAYLOAD, &[]).unwrap_err();
    assert!(matches!(e.cause, Cause::TooManyRequests { count: 3, limit: 1 }), "{e}");

    let e = g.generate_all(EventKind::BuildFinished, PAYLOAD, &settings(&[("count", "17")])).unwrap_err();
    assert!(matches!(e.cause, Cause::TooManyRequests { count: 17, limit: 16 }), "{e}");
    assert!(e.to_string().contains("requests-v2") && e.to_string().contains("max_requests"), "{e}");
    let small = Limits { max_output: 100, ..Limits::default() };
    let g = rt.load(&common::generator("requests-v2"), None, small).unwrap();
    let e = g.generate_all(EventKind::BuildFinished, PAYLOAD, &settings(&[("count", "4")])).unwrap_err();
    assert!(matches!(e.cause, Cause::OutputTooLarge { limit: 100, .. }), "max_output bounds the sum: {e}");
}

/// A relay config whose one reporter runs requests-v2 with `settings`.
fn config(dir: &std::path::Path, relay: u16, target: u16, settings: &str, extra: &str) -> std::path::PathBuf {
    let path = common::relay_config(dir, relay, target, "1h", false);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            common::generator("buildbot-json").to_str().unwrap(),
            common::generator("requests-v2").to_str().unwrap(),
        )
        .replace("kind = \"build-start-end\"\n", &format!("kind = \"build-start-end\"\nsettings = {settings}\n"))
        .replace("max_attempts = 100000\n", &format!("max_attempts = 100000\n{extra}"));
    std::fs::write(&path, text).unwrap();
    path
}

async fn post(relay: u16, event: &'static str, buildid: i64) {
    let status = tokio::task::spawn_blocking(move || {
        common::post(relay, &format!("/buildbot/{event}"), &common::build_body(buildid))
    })
    .await
    .unwrap();
    assert_eq!(status, Some(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_fans_out_into_requests_delivered_in_order_with_stable_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, target) = (common::free_port(), common::free_port());
    let receiver = Receiver::bind(format!("127.0.0.1:{target}").parse().unwrap()).await.unwrap();
    let path = config(dir.path(), relay, target, "{ mode = \"fanout\", count = \"3\" }", "");
    let config = Config::load(&path).unwrap();
    let service = std::sync::Arc::new(Service::start(&config).await.unwrap());
    let (stop_tx, run) = common::run_until_stopped(service.clone(), Duration::from_secs(10));
    common::wait_listening(relay).await;
    post(relay, "build-finished", 31).await;
    assert_eq!(receiver.wait_for(3, Duration::from_secs(30)).await, 3);
    let got = receiver.received();
    let paths: Vec<_> = got.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/hook/statuses/31/0", "/hook/statuses/31/1", "/hook/statuses/31/2"], "in order");
    let ids: Vec<_> = got.iter().map(|r| r.header("webhook-id").unwrap().to_string()).collect();
    let event_id = "build-finished:31@http://127.0.0.1:8010";
    let expected: Vec<_> = (0..3).map(|i| wasmpush::pipeline::request_id("target", event_id, i)).collect();
    assert_eq!(ids, expected, "request 0 keeps the 0.1 id; the others add their index");
    // The same event again (a replay, a master resending) produces the same
    // requests with the same ids: a receiver can tell the copies apart.
    post(relay, "build-finished", 31).await;
    assert_eq!(receiver.wait_for(6, Duration::from_secs(30)).await, 6);
    let again: Vec<_> = receiver.received()[3..].iter().map(|r| r.header("webhook-id").unwrap().to_string()).collect();
    assert_eq!(again, expected);
    let _ = stop_tx.send(());
    run.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_is_sent_only_when_the_reporter_allows_it_and_a_refusal_takes_the_whole_event() {
    for (settings, methods, arrives) in [
        ("{ mode = \"patch\" }", "", None),
        ("{ mode = \"patch\" }", "methods = [\"POST\", \"PATCH\"]\n", Some("PATCH")),
        ("{ mode = \"refuse-second\" }", "", None),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (relay, target) = (common::free_port(), common::free_port());
        let receiver = Receiver::bind(format!("127.0.0.1:{target}").parse().unwrap()).await.unwrap();
        let path = config(dir.path(), relay, target, settings, methods);
        let config = Config::load(&path).unwrap();
        let service = std::sync::Arc::new(Service::start(&config).await.unwrap());
        let (stop_tx, run) = common::run_until_stopped(service.clone(), Duration::from_secs(10));
        common::wait_listening(relay).await;
        post(relay, "build-finished", 32).await;
        let _ = stop_tx.send(());
        run.await.unwrap().unwrap();
        let got: Vec<_> = receiver.received().iter().map(|r| r.method.clone()).collect();
        match arrives {
            Some(method) => assert_eq!(got, [method], "{settings} {methods}"),
            None => {
                assert!(got.is_empty(), "{settings}: nothing is sent, got {got:?}");
                assert_eq!(service.delivery.stats().enqueued, 0, "{settings}: nothing is stored");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_supersedes_a_pending_status_stuck_in_retries() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, target) = (common::free_port(), common::free_port());
    let receiver = Receiver::bind(format!("127.0.0.1:{target}").parse().unwrap()).await.unwrap();
    // The forge is down for "pending" (503: retried in an hour), up for the rest.
    let pending_tries = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tries = pending_tries.clone();
    receiver.respond_with(move |r| {
        if String::from_utf8_lossy(&r.body).contains("\"pending\"") {
            tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            503
        } else {
            201
        }
    });
    let path = config(dir.path(), relay, target, "{ mode = \"status\" }", "");
    let config = Config::load(&path).unwrap();
    let service = std::sync::Arc::new(Service::start(&config).await.unwrap());
    let (stop_tx, run) = common::run_until_stopped(service.clone(), Duration::from_secs(10));
    common::wait_listening(relay).await;
    post(relay, "build-new", 33).await;
    let t = Instant::now();
    while service.delivery.stats().retried == 0 {
        assert!(t.elapsed() < Duration::from_secs(30), "the 503 was never scheduled for a retry");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    post(relay, "build-finished", 33).await;
    assert_eq!(receiver.wait_for(1, Duration::from_secs(30)).await, 1, "the success went out without waiting an hour");
    let got = receiver.received();
    assert!(String::from_utf8_lossy(&got[0].body).contains("\"success\""), "{:?}", got[0]);
    assert_eq!(got[0].path, "/hook/statuses/0123456789abcdef0123456789abcdef01234567");

    // `outbox list` (through the control socket) shows the superseded one.
    let cfg = path.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_wasmpush"))
            .args(["outbox", "list", "--config"])
            .arg(&cfg)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        listed.contains(" superseded msg_")
            && listed.contains("supersede=\"commit/0123456789abcdef0123456789abcdef01234567/context/pass\"")
            && listed.contains("superseded by msg_"),
        "{listed}"
    );
    let _ = stop_tx.send(());
    run.await.unwrap().unwrap();
    let stats = service.delivery.stats();
    assert_eq!((stats.sent, stats.superseded, stats.pending), (1, 1, 0), "{stats:?}");
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(pending_tries.load(std::sync::atomic::Ordering::SeqCst), 1, "the pending status never went out again");
}

#[test]
fn render_prints_every_request_of_a_v2_generator_and_stays_the_same_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let payload = dir.path().join("build.json");
    std::fs::write(&payload, PAYLOAD).unwrap();
    let render = |set: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_wasmpush"));
        cmd.args(["render", "--no-cache", "--event", "build-finished", "--generator"])
            .arg(common::generator("requests-v2"))
            .arg("--payload")
            .arg(&payload);
        for s in set {
            cmd.args(["--set", s]);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let (stdout, stderr) = render(&["count=2"]);
    assert_eq!(stdout, "{\"buildid\":7,\"index\":0}\n{\"buildid\":7,\"index\":1}\n");
    assert!(
        stderr.contains("request 0: path: statuses/7/0") && stderr.contains("request 1: path: statuses/7/1"),
        "{stderr}"
    );
    let (stdout, stderr) = render(&["mode=patch"]);
    assert_eq!(stdout, "{\"buildid\":7,\"status\":\"completed\"}", "one request prints as in 0.1");
    assert!(stderr.contains("method: PATCH") && !stderr.contains("request 0"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_kept_from_a_create_fills_the_update_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, target) = (common::free_port(), common::free_port());
    // A stand-in for GitHub's Checks API: creating a check run answers its id.
    let receiver = Receiver::bind(format!("127.0.0.1:{target}").parse().unwrap()).await.unwrap();
    receiver.respond_with_body(|r| match r.method.as_str() {
        "POST" => (201, r#"{"id": 4242, "status": "in_progress"}"#.to_string()),
        _ => (200, "{}".to_string()),
    });
    let path = config(dir.path(), relay, target, "{ mode = \"check\" }", "methods = [\"POST\", \"PATCH\"]\n");
    let config = Config::load(&path).unwrap();

    // First run: build-new creates the check run; the host keeps its id.
    let service = std::sync::Arc::new(Service::start(&config).await.unwrap());
    let (stop_tx, run) = common::run_until_stopped(service.clone(), Duration::from_secs(10));
    common::wait_listening(relay).await;
    post(relay, "build-new", 34).await;
    assert_eq!(receiver.wait_for(1, Duration::from_secs(30)).await, 1);
    let _ = stop_tx.send(());
    run.await.unwrap().unwrap();
    std::sync::Arc::try_unwrap(service).ok().expect("the run let go of the service").shutdown().await;

    // Second run, a new process as far as the outbox knows: build-finished updates it.
    let service = std::sync::Arc::new(Service::start(&config).await.unwrap());
    let (stop_tx, run) = common::run_until_stopped(service.clone(), Duration::from_secs(10));
    common::wait_listening(relay).await;
    post(relay, "build-finished", 34).await;
    assert_eq!(receiver.wait_for(2, Duration::from_secs(30)).await, 2);
    let update = &receiver.received()[1];
    assert_eq!((update.method.as_str(), update.path.as_str()), ("PATCH", "/hook/check-runs/4242"));
    assert!(String::from_utf8_lossy(&update.body).contains("\"check_run\":\"4242\""), "{update:?}");

    // A build whose create never kept a value: the update is a dead letter naming the value.
    post(relay, "build-finished", 35).await;
    let t = Instant::now();
    while service.delivery.stats().dead == 0 {
        assert!(t.elapsed() < Duration::from_secs(30), "the unfillable update never died");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The counter moves when the attempt ends; the row with the writer's next commit.
    assert!(service.delivery.wait_idle(Duration::from_secs(10)).await);
    let dead = service.delivery.entries().unwrap();
    assert!(dead[0].last_error.as_deref().unwrap_or_default().contains("no value kept for {check_run_id}"), "{dead:?}");
    assert_eq!(receiver.received().len(), 2, "nothing was sent for it");
    let _ = stop_tx.send(());
    run.await.unwrap().unwrap();
}
