//! Conformance against a real Buildbot 4.3.0 master (installed from PyPI by
//! tests/buildbot/setup.sh, started on 127.0.0.1 by tests/buildbot/harness.py).
//!
//! The master runs builds that pass, fail, warn, raise an exception, are
//! cancelled, and a parent that triggers a child, with non-ASCII, nested
//! JSON and float properties. Buildbot's own `HttpStatusPush` (default
//! generator, `report_new=True`) posts to a capture receiver at `/default`.
//! Two `wasmpush run` processes use the `buildbot-json` example generator:
//! one follows the master (`buildbot` source) and posts to `/wasmpush`, one is
//! fed by a second Buildbot `HttpStatusPush` (`relay` source) and posts to
//! `/relayed`. For every (build, event) pair the bodies are compared: relay
//! byte-identical; buildbot source byte-identical except the point-in-time
//! completion fields of `buildrequest` and `buildset` (spec §c.2).

mod common;

use common::buildbot::{Cleanup, harness, python};

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The tests of this file each run a master, a worker and builds: one at a
/// time, so that neither starves the other on a small machine.
static ONE_MASTER_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Starts a master (and worker) in `dir/run` capturing its pushes to
/// `dir/capture.jsonl`; `extra` adds harness arguments. Returns the
/// harness state, the capture file and the guard that stops it all.
fn start_master(py: &Path, dir: &Path, extra: &[&str]) -> (Value, PathBuf, Cleanup) {
    let run_dir = dir.join("run");
    let capture = dir.join("capture.jsonl");
    let mut args = vec!["start", "--dir", run_dir.to_str().unwrap(), "--capture-out", capture.to_str().unwrap()];
    args.extend_from_slice(extra);
    let state = harness(py, &args);
    (state, capture, Cleanup { py: py.to_path_buf(), run_dir, children: Vec::new() })
}

fn wasmpush_run(dir: &Path, name: &str, source: &str, target: &str) -> Child {
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "{source}\n[outbox]\npath = \"{name}-outbox.redb\"\n[runtime]\ncache_dir = \"cache\"\n\
             [[reporter]]\nname = \"{name}\"\nserver_url = \"{target}\"\n[[reporter.generator]]\nwasm = {:?}\n",
            common::generator("buildbot-json").to_str().unwrap()
        ),
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_wasmpush"))
        .args(["run", cfg.to_str().unwrap()])
        // The relay's password reaches wasmpush only through its environment.
        .env("RELAY_PASSWORD", "s3cret")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap())
        .spawn()
        .unwrap()
}

/// (buildid, "new" | "finished") → raw body, for the captures posted to `path`.
fn bodies(captures: &[Value], path: &str) -> BTreeMap<(i64, &'static str), String> {
    let mut out = BTreeMap::new();
    for c in captures.iter().filter(|c| c["path"] == path) {
        let raw = c["body"].as_str().unwrap().to_string();
        let v: Value = serde_json::from_str(&raw).unwrap();
        let event = if v["complete"] == true { "finished" } else { "new" };
        assert!(out.insert((v["buildid"].as_i64().unwrap(), event), raw).is_none(), "{path}: two bodies for one event");
    }
    out
}

/// The body with the point-in-time completion fields of `buildrequest` and
/// `buildset` blanked out.
fn without_racy_fields(raw: &str) -> String {
    let mut v: Value = serde_json::from_str(raw).unwrap();
    for obj in ["buildrequest", "buildset"] {
        for f in ["complete", "complete_at", "results"] {
            if let Some(o) = v.get_mut(obj).and_then(Value::as_object_mut) {
                o.insert(f.into(), Value::Null);
            }
        }
    }
    v.to_string()
}

#[test]
fn wasmpush_matches_buildbots_own_push_for_every_build_and_event() {
    let _one = ONE_MASTER_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let started = Instant::now();
    let py = python();
    let dir = tempfile::tempdir().unwrap();
    let relay_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let relay_reporter = format!("relay=http://relay:s3cret@127.0.0.1:{relay_port}/relay");
    let (state, capture, mut cleanup) = start_master(&py, dir.path(), &["--reporter", &relay_reporter]);
    let run_dir = cleanup.run_dir.clone();
    let buildbot_url = state["buildbot_url"].as_str().unwrap();
    let capture_url = state["capture_url"].as_str().unwrap().trim_end_matches('/');

    let follow = format!(
        "[[source]]\ntype = \"buildbot\"\nurl = \"{buildbot_url}\"\nstate_file = \"cursor.json\"\nstart_from = \"beginning\"\n"
    );
    let relay = format!(
        "[[source]]\ntype = \"relay\"\nlisten = \"127.0.0.1:{relay_port}\"\nauth = {{ type = \"basic\", user = \"relay\", password_env = \"RELAY_PASSWORD\" }}\n"
    );
    cleanup.children.push(wasmpush_run(dir.path(), "follow", &follow, &format!("{capture_url}/wasmpush")));
    cleanup.children.push(wasmpush_run(dir.path(), "relay", &relay, &format!("{capture_url}/relayed")));
    std::thread::sleep(Duration::from_secs(2));

    let builds = harness(&py, &["run-builds", "--dir", run_dir.to_str().unwrap()]);
    let results: Vec<i64> =
        builds["builds"].as_array().unwrap().iter().map(|b| b["results"].as_i64().unwrap()).collect();
    for r in [0, 1, 2, 4, 6] {
        assert!(results.contains(&r), "the builds cover result {r}: {results:?}");
    }
    // Buildbot's default: "new" for every build, "finished" for results 0, 1, 2.
    let expected = results.len() + results.iter().filter(|r| **r <= 2).count();
    let deadline = Instant::now() + Duration::from_secs(120);
    let captures = loop {
        let captures: Vec<Value> = std::fs::read_to_string(&capture)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let count = |p: &str| captures.iter().filter(|c| c["path"] == p).count();
        if (count("/default") >= expected && count("/wasmpush") >= expected && count("/relayed") >= expected)
            || Instant::now() > deadline
        {
            break captures;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let default = bodies(&captures, "/default");
    let relayed = bodies(&captures, "/relayed");
    let followed = bodies(&captures, "/wasmpush");
    assert_eq!(default.len(), expected, "Buildbot's own pushes");
    assert_eq!(
        relayed.keys().collect::<Vec<_>>(),
        default.keys().collect::<Vec<_>>(),
        "relay: same (build, event) pairs"
    );
    assert_eq!(
        followed.keys().collect::<Vec<_>>(),
        default.keys().collect::<Vec<_>>(),
        "buildbot source: same (build, event) pairs"
    );
    let (mut relay_same, mut follow_same, mut follow_exact) = (0, 0, 0);
    for (key, body) in &default {
        assert_eq!(&relayed[key], body, "relay {key:?}: byte-identical");
        relay_same += 1;
        assert_eq!(without_racy_fields(&followed[key]), without_racy_fields(body), "buildbot source {key:?}");
        follow_same += 1;
        if &followed[key] == body {
            follow_exact += 1;
        }
    }
    // Non-ASCII made it through as Buildbot escapes it.
    assert!(
        default.values().any(|b| b.contains("\\u00e9") || b.contains("\\u2713")),
        "the properties include non-ASCII text"
    );
    println!(
        "conformance: {relay_same}/{} relay pairs byte-identical; {follow_same}/{} buildbot-source pairs identical \
         ({follow_exact} byte-identical including completion fields); {:.0}s",
        default.len(),
        default.len(),
        started.elapsed().as_secs_f64()
    );
}

/// (buildid, "new" | "finished") of every capture posted to `path`, with
/// how many times each arrived (a crash may send one again, same id).
fn events_at(capture: &Path, path: &str) -> BTreeMap<(i64, &'static str), usize> {
    let mut out = BTreeMap::new();
    for line in std::fs::read_to_string(capture).unwrap_or_default().lines() {
        let c: Value = serde_json::from_str(line).unwrap();
        if c["path"] == path {
            let v: Value = serde_json::from_str(c["body"].as_str().unwrap()).unwrap();
            let event = if v["complete"] == true { "finished" } else { "new" };
            *out.entry((v["buildid"].as_i64().unwrap(), event)).or_default() += 1;
        }
    }
    out
}

/// `wasmpush run` following a real master is SIGKILLed in the middle of a
/// burst of builds, right after its first report arrived, and restarted:
/// every event Buildbot's own push reported is reported by wasmpush at least
/// once (the cursor only moves past events committed to the outbox).
#[test]
fn sigkill_while_following_a_master_misses_no_build() {
    let _one = ONE_MASTER_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let py = python();
    let dir = tempfile::tempdir().unwrap();
    let (state, capture, mut cleanup) = start_master(&py, dir.path(), &[]);
    let run_dir = cleanup.run_dir.clone();
    let buildbot_url = state["buildbot_url"].as_str().unwrap();
    let target = format!("{}/killed", state["capture_url"].as_str().unwrap().trim_end_matches('/'));
    let follow = format!(
        "[[source]]\ntype = \"buildbot\"\nurl = \"{buildbot_url}\"\nstate_file = \"cursor.json\"\nstart_from = \"beginning\"\n"
    );
    cleanup.children.push(wasmpush_run(dir.path(), "killed", &follow, &target));
    std::thread::sleep(Duration::from_secs(2));
    let builds = {
        let (py, run_dir) = (py.clone(), run_dir.clone());
        std::thread::spawn(move || harness(&py, &["run-builds", "--dir", run_dir.to_str().unwrap()]))
    };
    let t = Instant::now();
    while events_at(&capture, "/killed").is_empty() {
        assert!(t.elapsed() < Duration::from_secs(120), "no report before the kill");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut victim = cleanup.children.pop().unwrap();
    victim.kill().unwrap(); // SIGKILL
    victim.wait().unwrap();
    let before = events_at(&capture, "/killed").len();
    assert!(!builds.is_finished(), "the kill must land while builds still run");
    cleanup.children.push(wasmpush_run(dir.path(), "killed", &follow, &target));

    let builds = builds.join().unwrap();
    let results: Vec<i64> =
        builds["builds"].as_array().unwrap().iter().map(|b| b["results"].as_i64().unwrap()).collect();
    let expected = results.len() + results.iter().filter(|r| **r <= 2).count();
    let deadline = Instant::now() + Duration::from_secs(120);
    let (default, killed) = loop {
        let (default, killed) = (events_at(&capture, "/default"), events_at(&capture, "/killed"));
        if (default.len() >= expected && default.keys().all(|k| killed.contains_key(k))) || Instant::now() > deadline {
            break (default, killed);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(default.len(), expected, "Buildbot's own pushes");
    let missing: Vec<_> = default.keys().filter(|k| !killed.contains_key(*k)).collect();
    let again: usize = killed.values().map(|n| n - 1).sum();
    println!(
        "killed after {before} of {expected} events were reported; after the restart {} reported, {again} twice, {} missing",
        killed.len(),
        missing.len()
    );
    assert!(missing.is_empty(), "events Buildbot reported that wasmpush never did after the crash: {missing:?}");
}

/// A hot reload that turns a finished-only generator into a start-end one
/// widens what the running Buildbot source fetches: builds that start after
/// the reload are reported as `new` too, without a restart.
#[test]
fn a_reload_to_start_end_reports_the_next_builds_new_events() {
    let _one = ONE_MASTER_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(reload_scenario());
}

async fn reload_scenario() {
    let py = python();
    let dir = tempfile::tempdir().unwrap();
    let (state, capture, cleanup) = start_master(&py, dir.path(), &[]);
    let run_dir = cleanup.run_dir.clone();
    let write = |generator: &str| {
        let text = format!(
            "[[source]]\ntype = \"buildbot\"\nurl = \"{}\"\nstate_file = \"cursor.json\"\nping_interval_secs = 5\n\
             [outbox]\npath = \"outbox.redb\"\n[runtime]\ncache_dir = \"cache\"\n\
             [[reporter]]\nname = \"reload\"\nserver_url = \"{}/reload\"\n\
             [[reporter.generator]]\nwasm = {:?}\n{generator}\n",
            state["buildbot_url"].as_str().unwrap(),
            state["capture_url"].as_str().unwrap().trim_end_matches('/'),
            common::generator("buildbot-json").to_str().unwrap()
        );
        let p = dir.path().join("reload.toml");
        std::fs::write(&p, text).unwrap();
        wasmpush::config::Config::load(&p).unwrap()
    };
    let finished_only = write("kind = \"build-status\"\nreport_new = false");
    let service = std::sync::Arc::new(wasmpush::service::Service::start(&finished_only).await.unwrap());
    let (stop_tx, run) = common::run_until_stopped(service.clone(), Duration::from_secs(2));
    tokio::time::sleep(Duration::from_secs(3)).await; // following
    let only = |what: &[&str]| -> Vec<String> { what.iter().map(|s| s.to_string()).collect() };
    let run_builds = |only: Vec<String>| {
        let (py, run_dir) = (py.clone(), run_dir.clone());
        tokio::task::spawn_blocking(move || {
            let mut args =
                vec!["run-builds".to_string(), "--dir".into(), run_dir.to_str().unwrap().into(), "--only".into()];
            args.push(only.join(","));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            harness(&py, &args)
        })
    };
    let ids = |builds: &Value| -> Vec<i64> {
        builds["builds"].as_array().unwrap().iter().map(|b| b["buildid"].as_i64().unwrap()).collect()
    };
    let wait_for = |want: Vec<(i64, &'static str)>| {
        let capture = capture.clone();
        async move {
            let t = Instant::now();
            loop {
                let got = events_at(&capture, "/reload");
                if want.iter().all(|k| got.contains_key(k)) || t.elapsed() > Duration::from_secs(90) {
                    return got;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };

    let before = ids(&run_builds(only(&["pass", "fail"])).await.unwrap());
    let got = wait_for(before.iter().map(|id| (*id, "finished")).collect()).await;
    assert!(
        before.iter().all(|id| got.contains_key(&(*id, "finished"))),
        "finished reports before the reload: {got:?}"
    );
    assert!(got.keys().all(|(_, e)| *e == "finished"), "no new events are wanted before the reload: {got:?}");

    service.reload(&write("kind = \"build-start-end\"")).await.unwrap();
    let after = ids(&run_builds(only(&["pass"])).await.unwrap());
    let got = wait_for(after.iter().map(|id| (*id, "new")).collect()).await;
    let missing: Vec<_> = after.iter().filter(|id| !got.contains_key(&(**id, "new"))).collect();
    assert!(missing.is_empty(), "builds started after the reload without a `new` report: {missing:?}");
    let _ = stop_tx.send(());
    run.await.unwrap().unwrap();
}
