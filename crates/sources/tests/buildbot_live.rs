//! The `buildbot` source against a real Buildbot 4.3.0 master and worker
//! (tests/buildbot/harness.py): builds that pass, fail, warn, raise, are
//! cancelled, and a parent that triggers a child.
//!
//! 1. Payloads equal the bodies Buildbot's own default HttpStatusPush
//!    posted, byte for byte, except the point-in-time completion fields of
//!    buildrequest/buildset (spec §c.2). With a www user (login + cookie).
//!    The `relay` source, fed by a second default HttpStatusPush on the
//!    same master (with HTTP Basic), receives the same bodies.
//! 2. Cutting the connection (websocket and REST) mid-run, and restarting
//!    the source on its state file, misses no event and doubles none.

mod support;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use support::{Events, Harness, Proxy, collector, expected, init_tracing, path_str, wait_following};
use tokio::sync::watch;
use wasmpush_guest::python_json;
use wasmpush_sources::buildbot::{self, BuildbotConfig, LogContents, Needs, Status, payload_for};
use wasmpush_sources::relay::{RelayConfig, RelayServer};
use wasmpush_sources::{EventKind, EventSender};

fn config(url: &str, state: &std::path::Path, extra: serde_json::Value) -> BuildbotConfig {
    let mut v = serde_json::json!({
        "url": url, "state_file": path_str(state),
        "reconnect": {"initial_ms": 200, "max_ms": 2000}, "retry": {"initial_ms": 200, "max_ms": 2000},
        "request_timeout_secs": 10, "ping_interval_secs": 5,
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    serde_json::from_value(v).unwrap()
}

fn spawn_source(
    cfg: BuildbotConfig,
    needs: Needs,
    tx: EventSender,
) -> (tokio::task::JoinHandle<()>, watch::Receiver<Status>) {
    let (st_tx, st_rx) = watch::channel(Status::Starting);
    let h = tokio::spawn(async move {
        if let Err(e) = buildbot::run_with_status(cfg, needs, tx, st_tx).await {
            panic!("buildbot source failed: {e}");
        }
    });
    (h, st_rx)
}

async fn wait_events(events: &Events, want: &BTreeSet<String>) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let got: BTreeSet<String> = events.lock().unwrap().iter().map(support::short_id).collect();
        if want.is_subset(&got) {
            return;
        }
        assert!(Instant::now() < deadline, "missing events after 90s: {:?}", want.difference(&got).collect::<Vec<_>>());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn assert_exactly_once(events: &Events, want: &BTreeSet<String>) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for e in events.lock().unwrap().iter() {
        *counts.entry(support::short_id(e)).or_default() += 1;
    }
    let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "events reported more than once: {doubled:?}");
    let got: BTreeSet<String> = counts.into_keys().collect();
    assert_eq!(&got, want, "events: unexpected or missing");
}

/// Completion fields that are racy in Buildbot itself (spec §c.2).
fn without_racy(v: &Value) -> Value {
    let mut v = v.clone();
    for obj in ["buildrequest", "buildset"] {
        if let Some(o) = v.get_mut(obj).and_then(Value::as_object_mut) {
            for f in ["complete", "complete_at", "results"] {
                o.insert(f.into(), Value::String("<point-in-time>".into()));
            }
        }
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_match_buildbots_default_httpstatuspush() {
    init_tracing();
    let relay_cfg: RelayConfig = serde_json::from_value(serde_json::json!({
        "listen": "127.0.0.1:0", "auth": {"type": "basic", "user": "relay", "password": "r3lay"}
    }))
    .unwrap();
    let relay = RelayServer::bind(&relay_cfg).await.unwrap();
    let relay_url = format!("relay=http://relay:r3lay@127.0.0.1:{}/relay", relay.local_addr().port());
    let (rtx, relayed) = collector();
    tokio::spawn(relay.serve(rtx));
    let h = Harness::start(&["--www-user", "wasmpush", "--www-password", "s3cr3t-\u{e9}", "--reporter", &relay_url]);
    let dir = tempfile::tempdir().unwrap();
    let (tx, events) = collector();
    // The host would pass the union of its generators' needs: fetch more than
    // the default generator wants, then cut per generator with payload_for.
    let union = Needs::default().union(&Needs {
        steps: true,
        logs: true,
        log_contents: LogContents::Only(["stdio".to_string()].into()),
        previous_build: true,
        ..Needs::nothing()
    });
    let cfg = config(
        &h.url(),
        &dir.path().join("cursor.json"),
        serde_json::json!({
            "auth": {"type": "basic", "user": "wasmpush", "password": "s3cr3t-\u{e9}"}
        }),
    );
    let (source, mut status) = spawn_source(cfg, union, tx);
    wait_following(&mut status).await;

    let t = Instant::now();
    let run = tokio::task::spawn_blocking({
        let bg = h.run_builds_bg();
        move || bg.join().unwrap()
    })
    .await
    .unwrap();
    let want = expected(&run);
    wait_events(&events, &want).await;
    eprintln!("[timing] builds + all source events: {:.1}s", t.elapsed().as_secs_f64());
    let results: BTreeMap<String, i64> = run["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["builder"].as_str().unwrap().to_string(), b["results"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        results,
        [("child", 0), ("exception", 4), ("fail", 2), ("parent", 0), ("pass", 0), ("slow", 6), ("warn", 1)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    );

    // Buildbot's default reporter: "new" for all 7, "finished" for results 0/1/2 (5).
    h.wait_captures(12);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_exactly_once(&events, &want);
    let evs = events.lock().unwrap().clone();
    let (mut exact, mut compared) = (0, 0);
    for cap in h.captures() {
        assert_eq!(cap["path"], "/default");
        let body = cap["body"].as_str().unwrap();
        let pushed: Value = serde_json::from_str(body).unwrap();
        let kind = if pushed["complete"] == true { EventKind::BuildFinished } else { EventKind::BuildNew };
        let id = format!("{kind}:{}", pushed["buildid"]);
        let ev = evs.iter().find(|e| support::short_id(e) == id).unwrap_or_else(|| panic!("no event {id}"));
        let ours = payload_for(&ev.payload, &Needs::default());
        compared += 1;
        if python_json(&ours) == body {
            exact += 1;
            continue;
        }
        assert_eq!(
            python_json(&without_racy(&ours)),
            python_json(&without_racy(&pushed)),
            "{id}: payload differs from Buildbot's body"
        );
    }
    assert_eq!(compared, 12);
    eprintln!(
        "{exact}/{compared} payloads byte-identical to Buildbot's bodies; the rest differ only in buildrequest/buildset completion"
    );

    // The relay got the other reporter's POSTs: same builds, same events.
    let deadline = Instant::now() + Duration::from_secs(30);
    while relayed.lock().unwrap().len() < 12 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rel = relayed.lock().unwrap().clone();
    let ids: BTreeSet<String> = rel.iter().map(support::short_id).collect();
    assert_eq!((rel.len(), ids.len()), (12, 12), "relay events: {ids:?}");
    // Through the relay or from the master, an event has the same full id,
    // master included (`build-new:3@http://127.0.0.1:…`): the same webhook-id.
    for ev in &rel {
        let id = ev.event_id();
        assert!(id.contains("@http://"), "the master is part of the id: {id}");
        assert!(evs.iter().any(|e| e.event_id() == id), "the master source has no event {id}");
    }
    let mut relay_exact = 0;
    for cap in h.captures() {
        let pushed: Value = serde_json::from_str(cap["body"].as_str().unwrap()).unwrap();
        let kind = if pushed["complete"] == true { EventKind::BuildFinished } else { EventKind::BuildNew };
        let id = format!("{kind}:{}", pushed["buildid"]);
        let ev = rel.iter().find(|e| support::short_id(e) == id).unwrap_or_else(|| panic!("relay: no event {id}"));
        relay_exact += usize::from(python_json(&ev.payload) == cap["body"].as_str().unwrap());
        // Two reporters fetch at their own moment: only the racy fields may differ.
        assert_eq!(python_json(&without_racy(&ev.payload)), python_json(&without_racy(&pushed)), "relay {id}");
    }
    eprintln!(
        "relay: {relay_exact}/12 bodies identical to the other reporter's, the rest differ only in completion fields"
    );

    // The fetched extras are there for the generators that want them.
    let fin =
        evs.iter().find(|e| e.kind == EventKind::BuildFinished && e.payload["builder"]["name"] == "pass").unwrap();
    let steps = fin.payload["steps"].as_array().unwrap();
    let hello = steps.iter().find(|s| s["name"] == "hello").unwrap();
    let content = hello["logs"][0]["content"]["content"].as_str().unwrap();
    assert!(content.contains("non-ascii: h\u{e9}llo \u{2713}"), "{content}");
    assert!(fin.payload.get("prev_build").is_some());
    let props = python_json(&fin.payload["properties"]);
    assert!(props.contains(r#""nested_json": [{"zeta": [1, 2.5, {"k": "v", "b": null}], "alpha": true, "mid": {"y": 1, "x": "\u00e9"}}, "Builder"]"#), "{props}");
    assert!(props.contains(r#""tiny_float": [1e-07, "Builder"]"#), "{props}");
    let bs = evs
        .iter()
        .find(|e| e.kind == EventKind::BuildsetComplete && e.payload["builds"][0]["builder"]["name"] == "parent")
        .unwrap();
    assert_eq!(bs.payload["buildset"]["complete"], true);
    source.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_connections_and_a_restart_miss_nothing_and_double_nothing() {
    init_tracing();
    let h = Harness::start(&[]);
    let upstream = url::Url::parse(&h.url()).unwrap();
    let proxy = Proxy::start(format!("127.0.0.1:{}", upstream.port().unwrap()).parse().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("cursor.json");
    let (tx, events) = collector();
    let url = format!("http://{}/", proxy.addr);
    let (a, mut status) = spawn_source(config(&url, &state, serde_json::json!({})), Needs::default(), tx.clone());
    wait_following(&mut status).await;

    let builds = h.run_builds_bg();
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.cut(Duration::from_secs(3));
    let reconnecting =
        tokio::time::timeout(Duration::from_secs(10), status.wait_for(|s| matches!(s, Status::Reconnecting { .. })))
            .await
            .is_ok();
    assert!(reconnecting, "the source did not notice the cut");
    wait_following(&mut status).await;
    let before_restart = events.lock().unwrap().len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // A crash: the task is dropped wherever it is; builds go on meanwhile.
    a.abort();
    let _ = a.await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (b, mut status_b) = spawn_source(config(&url, &state, serde_json::json!({})), Needs::default(), tx);
    wait_following(&mut status_b).await;
    proxy.cut(Duration::from_secs(2));

    let run = tokio::task::spawn_blocking(move || builds.join().unwrap()).await.unwrap();
    let want = expected(&run);
    wait_events(&events, &want).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_exactly_once(&events, &want);
    eprintln!("{} events exactly once ({before_restart} before the restart)", want.len());
    // Each build's new precedes its finished.
    let order: Vec<String> = events.lock().unwrap().iter().map(support::short_id).collect();
    for b in run["builds"].as_array().unwrap() {
        let pos = |k: &str| order.iter().position(|x| *x == format!("{k}:{}", b["buildid"])).unwrap();
        assert!(pos("build-new") < pos("build-finished"), "build {} finished before new: {order:?}", b["buildid"]);
    }
    b.abort();
}

/// A hot reload that adds a `build-new` generator widens the running
/// source's needs: builds that start after it are reported as `build-new`
/// too, without a restart (issue 11: reload and needs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widened_needs_reach_the_running_source() {
    init_tracing();
    let h = Harness::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let (tx, events) = collector();
    let finished_only = Needs { kinds: [EventKind::BuildFinished].into(), ..Needs::default() };
    let (needs_tx, needs_rx) = watch::channel(finished_only);
    let (st_tx, mut status) = watch::channel(Status::Starting);
    let cfg = config(&h.url(), &dir.path().join("cursor.json"), serde_json::json!({}));
    let source = tokio::spawn(buildbot::run_watching(cfg, needs_rx, tx, st_tx));
    wait_following(&mut status).await;

    let ids = |run: &Value| -> Vec<i64> {
        run["builds"].as_array().unwrap().iter().map(|b| b["buildid"].as_i64().unwrap()).collect()
    };
    let before = h.run_builds_bg();
    let before = tokio::task::spawn_blocking(move || before.join().unwrap()).await.unwrap();
    let want: BTreeSet<String> = ids(&before).iter().map(|id| format!("build-finished:{id}")).collect();
    wait_events(&events, &want).await;
    let kinds = |events: &Events| -> BTreeSet<EventKind> { events.lock().unwrap().iter().map(|e| e.kind).collect() };
    assert_eq!(kinds(&events), [EventKind::BuildFinished].into(), "before the reload only finished builds are wanted");

    needs_tx.send(Needs::default()).unwrap(); // the reload: every kind
    let after = h.run_builds_bg();
    let after = tokio::task::spawn_blocking(move || after.join().unwrap()).await.unwrap();
    let want: BTreeSet<String> = ids(&after).iter().map(|id| format!("build-new:{id}")).collect();
    wait_events(&events, &want).await;
    source.abort();
}
