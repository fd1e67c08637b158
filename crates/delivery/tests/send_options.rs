//! What the host adds at send time, end to end against servers on
//! 127.0.0.1: query parameters with a secret (Zulip's `api_key`), header
//! secrets with a scheme (GitHub's `Authorization: token …`) or a custom
//! name (GitLab's `PRIVATE-TOKEN`), and `success`, the statuses that count
//! as delivered. Every log line of this test binary is captured: no secret
//! may appear in it, in a stored error, in `outbox::list` or in the outbox
//! file, in any URL encoding.

mod common;
mod stand_in;

use std::sync::Arc;
use std::time::Duration;

use common::{Reply, Script, closed_port_url, fast_target, parse_reporter, report, serve};
use stand_in::*;
use wasmpush_delivery::{Delivery, EntryState, outbox};

const WAIT: Duration = Duration::from_secs(20);
/// A Zulip-style API key with everything that needs encoding in a query.
const ZULIP_KEY: &str = "zk y/+&=%é!Q7w";

fn query_of(target: &str) -> Vec<(String, String)> {
    let q = target.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_secret_reaches_the_target_and_never_a_log_an_error_or_the_outbox() {
    capture_logs();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("zulip-key");
    std::fs::write(&key_file, format!("{ZULIP_KEY}\n")).unwrap();
    // Zulip echoes what it got; one report is refused with a 400 whose body
    // quotes the whole request URL (encoded secret included).
    let zulip = start(Arc::new(|req: &Seen| {
        if String::from_utf8_lossy(&req.body).contains("refuse") {
            Answer::new(400, format!(r#"{{"result": "error", "msg": "bad request {}"}}"#, req.target))
        } else {
            Answer::new(200, format!(r#"{{"result": "success", "url": "{}"}}"#, req.target))
        }
    }))
    .await;
    let toml_text = format!(
        r#"
        name = "zulip"
        generator = "chat.wasm"
        server_url = "{}/api/v1"
        query = {{ api_key = {{ file = "{}" }}, stream = "builds" }}
        debug = true
        retry_schedule = ["100ms"]
        "#,
        zulip.url,
        key_file.display()
    );
    let rep = parse_reporter(&toml_text).unwrap();
    rep.push.validate().unwrap();
    // The same secret from the environment (PATH: always set, never written
    // by a test), and a Zulip that is down (connection errors name URLs).
    let mut from_env = fast_target(&zulip.url);
    from_env.query = toml::from_str::<toml::Table>("api_key = { env = \"PATH\" }").unwrap().try_into().unwrap();
    let mut down = fast_target(&closed_port_url());
    down.query = rep.push.query.clone();
    down.debug = true;
    down.max_attempts = Some(2);
    let path = dir.path().join("o.redb");
    let d = Delivery::open(&path, vec![(rep.name.clone(), rep.push), ("env".into(), from_env), ("down".into(), down)])
        .await
        .unwrap();
    let mut forged = report("zulip", "msg-z1", "k1", "type=stream&content=ok");
    forged.path = Some("messages?type=stream&api_key=forged-by-generator".into());
    d.enqueue(forged).unwrap();
    d.enqueue(report("zulip", "msg-z2", "k2", "content=refuse")).unwrap();
    d.enqueue(report("env", "msg-e1", "k", "{}")).unwrap();
    d.enqueue(report("down", "msg-d1", "k", "{}")).unwrap();
    until("all reports settled", WAIT, || {
        let s = d.stats();
        s.sent == 2 && s.dead == 2
    })
    .await;
    // Counters move when an attempt ends; the outbox row changes with the
    // writer's next commit. Wait for that commit before reading entries.
    assert!(d.wait_idle(WAIT).await);

    let seen = zulip.seen();
    let ok = seen.iter().find(|r| String::from_utf8_lossy(&r.body).contains("content=ok")).unwrap();
    assert!(ok.target.starts_with("/api/v1/messages?type=stream&"), "generator query first: {}", ok.target);
    assert_eq!(
        query_of(&ok.target),
        [("type", "stream"), ("api_key", ZULIP_KEY), ("stream", "builds")].map(|(k, v)| (k.to_owned(), v.to_owned())),
        "the host's api_key replaces the generator's, exactly decoded"
    );
    let env = seen.iter().find(|r| r.target.starts_with("/?")).unwrap();
    assert_eq!(query_of(&env.target), [("api_key".to_owned(), std::env::var("PATH").unwrap())]);

    let entries = d.entries().unwrap();
    d.shutdown().await;
    let listed = outbox::list(&path).unwrap();
    assert_eq!(listed, entries);
    assert_eq!(listed.len(), 2, "{listed:?}");
    let refused = listed.iter().find(|e| e.id == "msg-z2").unwrap();
    assert_eq!(refused.state, EntryState::Dead);
    let error = refused.last_error.clone().unwrap();
    assert!(error.contains("HTTP 400") && error.contains("api_key=***"), "{error}");
    let shown = format!("{listed:?}");
    let logs = logs();
    assert!(logs.contains("request: POST") && logs.contains("api_key=***"), "debug logs show the redacted URL");
    let file = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
    assert!(file.contains("content=refuse"), "the outbox holds the generator's report");
    for secret in [ZULIP_KEY.to_owned(), std::env::var("PATH").unwrap()] {
        assert_hidden("outbox::list", &shown, &secret);
        assert_hidden("the log", &logs, &secret);
        assert_hidden("the outbox file", &file, &secret);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_token_scheme_and_gitlab_private_token_arrive_as_configured() {
    capture_logs();
    let srv = serve(Arc::new(|_, _| Reply::status(201)), None).await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, v: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("{v}\n")).unwrap();
        p.display().to_string()
    };
    let gh_token = "ghp_Hq3LmX9vTzB7";
    let gl_token = "glpat-Rw5Ke2Nq8Jd";
    let github = parse_reporter(&format!(
        r#"
        name = "github"
        generator = "github-status.wasm"
        server_url = "{}/api/v3"
        headers = {{ Authorization = {{ value_file = "{}", prefix = "token " }}, Accept = "application/vnd.github+json" }}
        debug = true
        "#,
        srv.url,
        file("gh", gh_token)
    ))
    .unwrap();
    let gitlab = parse_reporter(&format!(
        r#"
        name = "gitlab"
        generator = "gitlab-status.wasm"
        server_url = "{}/api/v4"
        headers = {{ PRIVATE-TOKEN = {{ value_file = "{}" }} }}
        debug = true
        "#,
        srv.url,
        file("gl", gl_token)
    ))
    .unwrap();
    let d = Delivery::open(
        &dir.path().join("o.redb"),
        vec![(github.name.clone(), github.push), (gitlab.name.clone(), gitlab.push)],
    )
    .await
    .unwrap();
    let mut gh = report("github", "msg-gh", "k", r#"{"state": "success"}"#);
    gh.path = Some("repos/o/r/statuses/0123abc".into());
    d.enqueue(gh).unwrap();
    let mut gl = report("gitlab", "msg-gl", "k", r#"{"state": "success"}"#);
    gl.path = Some("projects/grp%2Fproj/statuses/0123abc".into());
    d.enqueue(gl).unwrap();
    let seen = srv.wait_for(2, WAIT).await;
    let by_path = |p: &str| seen.iter().find(|r| r.path == p).unwrap_or_else(|| panic!("{p}: {seen:?}"));
    let gh = by_path("/api/v3/repos/o/r/statuses/0123abc");
    assert_eq!(gh.header("authorization"), Some(format!("token {gh_token}").as_str()));
    assert_eq!(gh.header("accept"), Some("application/vnd.github+json"));
    let gl = by_path("/api/v4/projects/grp%2Fproj/statuses/0123abc");
    assert_eq!(gl.header("private-token"), Some(gl_token));
    assert_eq!(gl.header("authorization"), None);
    assert!(d.wait_idle(WAIT).await);
    assert_eq!(d.stats().sent, 2);
    d.shutdown().await;
    let logs = logs();
    assert!(logs.contains("private-token: ***"), "the debug log shows the header, redacted");
    assert_hidden("the log", &logs, gh_token);
    assert_hidden("the log", &logs, gl_token);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_list_decides_what_is_delivered_and_keeps_5xx_retryable() {
    // The body names the status to answer; `flaky` answers 503 once, then 201.
    let script: Script = Arc::new(|r, _| {
        let body = String::from_utf8_lossy(&r.body).into_owned();
        if body == "flaky" {
            return Reply::status(
                if r.id() == "msg-flaky" && !FLAKED.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    503
                } else {
                    201
                },
            );
        }
        Reply::status(body.parse().unwrap())
    });
    static FLAKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let srv = serve(script, None).await;
    let dir = tempfile::tempdir().unwrap();
    let mut strict = fast_target(&srv.url);
    strict.success = Some(vec![201, 204]);
    let mut lenient = fast_target(&srv.url);
    lenient.success = Some(vec![200, 404]);
    let d = Delivery::open(&dir.path().join("o.redb"), vec![("strict".into(), strict), ("lenient".into(), lenient)])
        .await
        .unwrap();
    for (target, id, body) in [
        ("strict", "msg-201", "201"),
        ("strict", "msg-204", "204"),
        ("strict", "msg-200", "200"),
        ("strict", "msg-flaky", "flaky"),
        ("lenient", "msg-404", "404"),
        ("lenient", "msg-202", "202"),
    ] {
        d.enqueue(report(target, id, id, body)).unwrap();
    }
    until("every report settled", WAIT, || {
        let s = d.stats();
        s.sent + s.dead == 6
    })
    .await;
    assert!(d.wait_idle(WAIT).await, "the writer committed what the counters show");
    let stats = d.stats();
    assert_eq!((stats.sent, stats.dead, stats.retried), (4, 2, 1), "{stats:?}");
    let entries = d.entries().unwrap();
    d.shutdown().await;
    let dead: Vec<(&str, &str)> =
        entries.iter().map(|e| (e.id.as_str(), e.last_error.as_deref().unwrap_or_default())).collect();
    assert_eq!(dead.len(), 2, "{dead:?}");
    let error = |id: &str| dead.iter().find(|(i, _)| *i == id).map(|(_, e)| *e).unwrap();
    assert!(error("msg-200").contains("HTTP 200 is not in `success` [201, 204]"), "{}", error("msg-200"));
    assert!(error("msg-202").contains("HTTP 202 is not in `success` [200, 404]"), "{}", error("msg-202"));
    assert!(entries.iter().all(|e| e.attempts == 1 && e.state == EntryState::Dead), "{entries:?}");
}
