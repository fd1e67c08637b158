//! The admin listener of a running service, over real HTTP: health,
//! readiness, bearer auth and Prometheus metrics that follow real traffic
//! (relay POSTs generated and delivered to a real receiver).

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};
use wasmpush::config::Config;
use wasmpush::receiver::Receiver;
use wasmpush::service::Service;

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
