//! The admin listener of a running service, over real HTTP: health,
//! readiness, bearer auth and Prometheus metrics that follow real traffic
//! (relay POSTs generated and delivered to a real receiver).

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};
use wasmpush::config::Config;
use wasmpush::service::Service;
use wasmpush_testkit::Receiver;

/// `GET path` with an optional bearer token: (status, body).
fn get(port: u16, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.split(' ').nth(1)?.parse().ok()?;
    Some((status, resp.split_once("\r\n\r\n")?.1.to_string()))
}

/// The value of an unlabelled metric line `name value`.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_health_follow_a_running_service() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, target, admin) = (common::free_port(), common::free_port(), common::free_port());
    let receiver = Receiver::bind(format!("127.0.0.1:{target}").parse().unwrap()).await.unwrap();
    let path = common::relay_config(dir.path(), relay, target, "1h", false);
    std::fs::write(dir.path().join("admin.token"), "adm1n-t0ken\n").unwrap();
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.insert_str(0, &format!("[admin]\nlisten = \"127.0.0.1:{admin}\"\ntoken_file = \"admin.token\"\n"));
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    let service = std::sync::Arc::new(Service::start(&config).await.unwrap());
    let (stop_tx, run) = common::run_until_stopped(service.clone(), Duration::from_secs(5));
    let token = Some("adm1n-t0ken");
    let t = Instant::now();
    let ready = loop {
        let answer = tokio::task::spawn_blocking(move || get(admin, "/readyz", token)).await.unwrap();
        if let Some((200, body)) = answer {
            break body;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "never ready: {answer:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(ready, "ready\n");
    let (status, _) = tokio::task::spawn_blocking(move || get(admin, "/metrics", None)).await.unwrap().unwrap();
    assert_eq!(status, 401, "metrics need the token");
    let (status, _) =
        tokio::task::spawn_blocking(move || get(admin, "/healthz", Some("wrong"))).await.unwrap().unwrap();
    assert_eq!(status, 401);

    for buildid in 1..=5 {
        let status = tokio::task::spawn_blocking(move || {
            common::post(relay, "/buildbot/build-finished", &common::build_body(buildid))
        })
        .await
        .unwrap();
        assert_eq!(status, Some(200));
    }
    let t = Instant::now();
    while receiver.received().len() < 5 {
        assert!(t.elapsed() < Duration::from_secs(30), "reports were not delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, text) = tokio::task::spawn_blocking(move || get(admin, "/metrics", token)).await.unwrap().unwrap();
    assert_eq!(status, 200, "{text}");
    for (name, value) in [
        ("wasmpush_events_total", 5.0),
        ("wasmpush_reports_enqueued_total", 5.0),
        ("wasmpush_deliveries_total", 5.0),
        ("wasmpush_relay_accepted_total", 5.0),
        ("wasmpush_relay_unavailable_total", 0.0),
        ("wasmpush_generator_failures_total", 0.0),
        ("wasmpush_outbox_pending", 0.0),
        ("wasmpush_ready", 1.0),
        ("wasmpush_relay_body_kib_in_memory", 0.0),
    ] {
        assert_eq!(metric(&text, name), Some(value), "{name} in\n{text}");
    }
    assert!(text.contains("# HELP wasmpush_deliveries Reports delivered (2xx)"), "{text}");
    // By reporter and by generator.
    for (name, value) in [
        ("wasmpush_reporter_deliveries_total{reporter=\"target\"}", 5.0),
        ("wasmpush_reporter_dead_letters_total{reporter=\"target\"}", 0.0),
        ("wasmpush_reporter_attempts_total{reporter=\"target\",status=\"2xx\"}", 5.0),
        ("wasmpush_reporter_attempts_total{reporter=\"target\",status=\"none\"}", 0.0),
        ("wasmpush_generator_calls_total{reporter=\"target\",generator=\"buildbot-json\"}", 5.0),
        ("wasmpush_generator_call_failures_total{reporter=\"target\",generator=\"buildbot-json\"}", 0.0),
    ] {
        assert_eq!(metric(&text, name), Some(value), "{name} in\n{text}");
    }
    let latency = metric(&text, "wasmpush_reporter_delivery_milliseconds_total{reporter=\"target\"}");
    assert!(latency.is_some_and(|ms| ms >= 0.0), "{text}");
    let _ = stop_tx.send(());
    run.await.unwrap().unwrap();
    // The listener ends with the run.
    assert!(tokio::task::spawn_blocking(move || get(admin, "/healthz", token)).await.unwrap().is_none());
}

#[tokio::test]
async fn an_unprotected_admin_address_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::relay_config(dir.path(), common::free_port(), common::free_port(), "1h", false);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.insert_str(0, "[admin]\nlisten = \"0.0.0.0:0\"\n");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    let err = Service::start(&config).await.err().expect("refused").to_string();
    assert!(err.contains("not a loopback address") && err.contains("token_file"), "{err}");
}

/// A raw HTTP/1.1 request: (status, headers and body as text).
fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    write!(s, "{head}\r\n{body}").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    (resp.split(' ').nth(1).unwrap().parse().unwrap(), resp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_api_shows_retries_and_drops_dead_reports_for_the_same_origin_only() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, target, admin) = (common::free_port(), common::free_port(), common::free_port());
    let path = common::relay_config(dir.path(), relay, target, "1h", false);
    let mut text = std::fs::read_to_string(&path).unwrap().replace("max_attempts = 100000", "max_attempts = 1");
    std::fs::write(dir.path().join("admin.token"), "s3cret-adm1n\n").unwrap();
    text.insert_str(0, &format!("[admin]\nlisten = \"127.0.0.1:{admin}\"\ntoken_file = \"admin.token\"\n"));
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    let service = std::sync::Arc::new(Service::start(&config).await.unwrap());
    let (stop_tx, run) = common::run_until_stopped(service.clone(), Duration::from_secs(5));
    common::wait_listening(relay).await;
    // Nothing listens on the target yet: two reports die after one attempt.
    for buildid in [41, 42] {
        let status = tokio::task::spawn_blocking(move || {
            common::post(relay, "/buildbot/build-finished", &common::build_body(buildid))
        })
        .await
        .unwrap();
        assert_eq!(status, Some(200));
    }
    let bearer = ("Authorization", "Bearer s3cret-adm1n");
    let call = move |method: &'static str, path: String, headers: Vec<(&'static str, String)>, body: String| {
        tokio::task::spawn_blocking(move || {
            let h: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            request(admin, method, &path, &h, &body)
        })
    };
    let auth = || vec![(bearer.0, bearer.1.to_string())];
    let t = Instant::now();
    let dead: Vec<serde_json::Value> = loop {
        let (status, resp) = call("GET", "/api/outbox?state=dead".into(), auth(), String::new()).await.unwrap();
        assert_eq!(status, 200, "{resp}");
        let v: serde_json::Value = serde_json::from_str(resp.split_once("\r\n\r\n").unwrap().1).unwrap();
        let entries = v["entries"].as_array().unwrap().clone();
        if entries.len() == 2 {
            break entries;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "reports never died: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(dead.iter().all(|e| e["reporter"] == "target" && e["state"] == "dead" && e["attempts"] == 1), "{dead:?}");
    let (first, second) = (dead[0]["id"].as_str().unwrap().to_string(), dead[1]["id"].as_str().unwrap().to_string());

    // The page (its browser test is status_page.rs): served with a strict CSP.
    let (status, page) = call("GET", "/".into(), auth(), String::new()).await.unwrap();
    assert_eq!(status, 200, "{page}");
    assert!(page.to_ascii_lowercase().contains("content-security-policy: default-src 'none'"), "{page}");
    assert!(page.contains(&first) && page.contains(&second), "both dead letters are listed: {page}");

    // One report with its body, as stored.
    let (status, resp) = call("GET", format!("/api/outbox/{first}"), auth(), String::new()).await.unwrap();
    assert_eq!(status, 200, "{resp}");
    assert!(resp.contains("\"body_encoding\":\"utf-8\"") && resp.contains("\\\"buildid\\\": 41"), "{resp}");
    assert!(!resp.contains("s3cret"), "{resp}");
    let (status, _) = call("GET", "/api/outbox/msg_nope".into(), auth(), String::new()).await.unwrap();
    assert_eq!(status, 404);

    // Guards: the token (Bearer, or Basic with any user), a known Host, a same-origin change.
    let (status, resp) = call("GET", "/api/status".into(), vec![], String::new()).await.unwrap();
    assert_eq!(status, 401, "{resp}");
    assert!(resp.contains("WWW-Authenticate: Basic") || resp.contains("www-authenticate: Basic"), "{resp}");
    let basic = format!("Basic {}", base64_encode("operator:s3cret-adm1n"));
    let (status, resp) =
        call("GET", "/api/status".into(), vec![("Authorization", basic.clone())], String::new()).await.unwrap();
    assert_eq!(status, 200, "{resp}");
    assert!(resp.contains("\"name\":\"target\"") && resp.contains("\"dead\":2"), "{resp}");
    let mut rebound = auth();
    rebound.push(("Host", format!("attacker.example:{admin}")));
    let (status, _) = call("GET", "/api/status".into(), rebound, String::new()).await.unwrap();
    assert_eq!(status, 421, "a DNS-rebound Host is refused");
    let json = |id: &str| format!("{{\"id\":\"{id}\"}}");
    let mut cross = auth();
    cross.push(("Content-Type", "application/json".into()));
    cross.push(("Origin", "http://attacker.example".into()));
    let (status, _) = call("POST", "/api/outbox/retry".into(), cross, json(&first)).await.unwrap();
    assert_eq!(status, 403, "a cross-origin retry is refused");
    let mut fetched = auth();
    fetched.push(("Content-Type", "application/x-www-form-urlencoded".into()));
    fetched.push(("Sec-Fetch-Site", "cross-site".into()));
    let (status, _) = call("POST", "/api/outbox/drop".into(), fetched, format!("id={second}")).await.unwrap();
    assert_eq!(status, 403, "a cross-site form is refused");

    // A real receiver comes up; a same-origin retry delivers the first report now.
    let receiver = Receiver::bind(format!("127.0.0.1:{target}").parse().unwrap()).await.unwrap();
    let mut same = auth();
    same.push(("Content-Type", "application/json".into()));
    same.push(("Origin", format!("http://127.0.0.1:{admin}")));
    let (status, resp) = call("POST", "/api/outbox/retry".into(), same.clone(), json(&first)).await.unwrap();
    assert_eq!(status, 200, "{resp}");
    assert!(resp.ends_with("{\"changed\":1}"), "{resp}");
    let t = Instant::now();
    while receiver.received().is_empty() {
        assert!(t.elapsed() < Duration::from_secs(30), "the retried report never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(String::from_utf8_lossy(&receiver.received()[0].body).contains("\"buildid\": 41"));
    // A form drop (curl-like: no Origin, no Sec-Fetch-Site) answers with a redirect to the page.
    let mut form = auth();
    form.push(("Content-Type", "application/x-www-form-urlencoded".into()));
    let (status, resp) = call("POST", "/api/outbox/drop".into(), form, format!("id={second}")).await.unwrap();
    assert_eq!(status, 303, "{resp}");
    assert!(resp.to_ascii_lowercase().contains("location: /\r\n"), "{resp}");
    let (_, resp) = call("GET", "/api/outbox".into(), auth(), String::new()).await.unwrap();
    assert!(resp.ends_with("{\"entries\":[]}"), "nothing left: {resp}");
    let (status, _) = call("POST", "/api/outbox/drop".into(), same, "{}".into()).await.unwrap();
    assert_eq!(status, 400, "a change must say which reports");

    // Histograms and the oldest pending age.
    let (_, metrics) = call("GET", "/metrics".into(), auth(), String::new()).await.unwrap();
    for line in [
        "wasmpush_reporter_delivery_seconds_count{reporter=\"target\"} 1",
        "wasmpush_generator_call_seconds_count{reporter=\"target\",generator=\"buildbot-json\"} 2",
        "wasmpush_outbox_oldest_pending_seconds 0",
        "wasmpush_events_by_kind_total{kind=\"build-finished\"} 2",
        "wasmpush_source_events_total{source=\"relay\"} 2",
        "wasmpush_source_events_total{source=\"replay\"} 0",
        "wasmpush_reporter_enqueued_total{reporter=\"target\"} 2",
        "wasmpush_reporter_superseded_total{reporter=\"target\"} 0",
        "wasmpush_reporter_attempts_total{reporter=\"target\",status=\"none\"} 2",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    let _ = stop_tx.send(());
    run.await.unwrap().unwrap();
}

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// `wasmpush outbox <args>` with `config`: (success, stdout, stderr).
fn outbox_cli(config: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasmpush"))
        .arg("outbox")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_command_works_while_the_service_runs_through_its_control_socket() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (relay, target) = (common::free_port(), common::free_port());
    let path = common::relay_config(dir.path(), relay, target, "1h", false);
    let text = std::fs::read_to_string(&path).unwrap().replace("max_attempts = 100000", "max_attempts = 1");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    let service = std::sync::Arc::new(Service::start(&config).await.unwrap());
    let (stop_tx, run) = common::run_until_stopped(service.clone(), Duration::from_secs(5));
    common::wait_listening(relay).await;
    for buildid in [51, 52] {
        let status = tokio::task::spawn_blocking(move || {
            common::post(relay, "/buildbot/build-finished", &common::build_body(buildid))
        })
        .await
        .unwrap();
        assert_eq!(status, Some(200));
    }
    let t = Instant::now();
    while service.delivery.entries().unwrap().iter().filter(|e| e.state == wasmpush_delivery::EntryState::Dead).count()
        < 2
    {
        assert!(t.elapsed() < Duration::from_secs(30), "reports never died");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let socket = wasmpush::control::socket_path(&config.outbox_path());
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "only the service's user may use the socket");

    let cfg = path.clone();
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || outbox_cli(&cfg, &["list"])).await.unwrap();
    assert!(ok, "{stderr}");
    assert!(stderr.contains("0 pending, 2 dead") && stderr.contains("running service"), "{stderr}");
    let ids: Vec<String> = stdout.lines().map(|l| l.split(' ').nth(2).unwrap().to_string()).collect();
    assert_eq!(ids.len(), 2, "{stdout}");
    assert!(stdout.lines().all(|l| l.contains(" dead msg_") && l.contains("target=target")), "{stdout}");

    let receiver = Receiver::bind(format!("127.0.0.1:{target}").parse().unwrap()).await.unwrap();
    let (cfg, id) = (path.clone(), ids[0].clone());
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || outbox_cli(&cfg, &["retry", &id])).await.unwrap();
    assert!(ok && stdout.contains("1 report(s) are being retried now"), "{stdout}{stderr}");
    let t = Instant::now();
    while receiver.received().is_empty() {
        assert!(t.elapsed() < Duration::from_secs(30), "the retried report never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cfg = path.clone();
    let (ok, stdout, stderr) =
        tokio::task::spawn_blocking(move || outbox_cli(&cfg, &["drop", "--dead"])).await.unwrap();
    assert!(ok && stdout.contains("1 report(s) dropped"), "{stdout}{stderr}");
    let cfg = path.clone();
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || outbox_cli(&cfg, &["list"])).await.unwrap();
    assert!(ok && stdout.is_empty() && stderr.contains("0 pending, 0 dead"), "{stdout}{stderr}");

    let _ = stop_tx.send(());
    run.await.unwrap().unwrap();
    assert!(!socket.exists(), "the socket goes with the run");
    std::sync::Arc::try_unwrap(service).ok().expect("the run let go of the service").shutdown().await;
    // Stopped: the command opens the file itself.
    let cfg = path.clone();
    let (ok, _, stderr) = tokio::task::spawn_blocking(move || outbox_cli(&cfg, &["list"])).await.unwrap();
    assert!(ok && stderr.contains("0 pending, 0 dead") && !stderr.contains("running"), "{stderr}");
}
