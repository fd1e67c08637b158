//! The relay endpoint, driven by a real HTTP client over 127.0.0.1.

use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use wasmpush_guest::python_json;
use wasmpush_sources::relay::{RelayConfig, RelayServer};
use wasmpush_sources::{EventKind, SourceEvent};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/buildbot-4.3.0/captures")
}

/// (file name, raw body) of every non-empty captured Buildbot POST.
fn captured_bodies() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(fixtures()).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for p in names {
        if p.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let rec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let body = rec["body_raw"].as_str().unwrap().to_string();
        if !body.is_empty() {
            out.push((p.file_name().unwrap().to_string_lossy().into_owned(), body));
        }
    }
    out
}

async fn start(
    auth: serde_json::Value,
    max_body: u64,
) -> (String, mpsc::Receiver<SourceEvent>, tokio::task::JoinHandle<()>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cfg: RelayConfig =
        serde_json::from_value(serde_json::json!({"listen": "127.0.0.1:0", "auth": auth, "max_body": max_body}))
            .unwrap();
    let server = RelayServer::bind(&cfg).await.unwrap();
    let url = format!("http://{}", server.local_addr());
    // Acknowledged at once: a stand-in for the host's inbox commit.
    let (tx, rx) = wasmpush_sources::acknowledge_all(256);
    let task = tokio::spawn(async move { server.serve(tx).await.unwrap() });
    (url, rx, task)
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
}

async fn post(
    c: &reqwest::Client,
    url: &str,
    ct: Option<&str>,
    auth: Option<(&str, &str)>,
    body: impl Into<reqwest::Body>,
) -> (u16, String) {
    let mut req = c.post(url).body(body);
    if let Some(ct) = ct {
        req = req.header("Content-Type", ct);
    }
    if let Some((u, p)) = auth {
        req = req.basic_auth(u, Some(p));
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn relays_every_captured_buildbot_body_byte_for_byte() {
    let (url, mut rx, task) =
        start(serde_json::json!({"type": "basic", "user": "bb", "password": "pw"}), 1 << 20).await;
    let c = client();
    let bodies = captured_bodies();
    assert!(bodies.len() >= 80, "fixtures missing: {}", bodies.len());
    for (name, body) in &bodies {
        let (status, text) =
            post(&c, &format!("{url}/default"), Some("application/json"), Some(("bb", "pw")), body.clone()).await;
        assert_eq!(status, 200, "{name}: {text}");
        let ev = rx.recv().await.unwrap();
        assert_eq!(text, format!("queued {}\n", ev.event_id()));
        // A list body (BuildSetStatusGenerator) arrives as {"buildset", "builds": <the list>}.
        let relayed = if body.starts_with('[') { &ev.payload["builds"] } else { &ev.payload };
        assert_eq!(python_json(relayed), *body, "{name}: payload does not re-serialise to the same bytes");
        let parsed: serde_json::Value = serde_json::from_str(body).unwrap();
        let want = if parsed.is_array() || parsed.get("builds").is_some() {
            EventKind::BuildsetComplete
        } else if parsed["complete"] == true {
            EventKind::BuildFinished
        } else {
            EventKind::BuildNew
        };
        assert_eq!(ev.kind, want, "{name}");
    }
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("server stops when the receiver is dropped")
        .unwrap();
}

/// A POST with `Transfer-Encoding: chunked` (no Content-Length) of
/// `chunks` x `size` bytes, written by hand; returns the raw response.
async fn raw_chunked_post(url: &str, chunks: usize, size: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAuthorization: Basic YmI6cHc=\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..chunks {
        // The server may answer 413 and close before everything is written.
        if s.write_all(format!("{size:x}\r\n{}\r\n", " ".repeat(size)).as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp).await;
    String::from_utf8_lossy(&resp).into_owned()
}

#[tokio::test]
async fn bad_input_gets_a_one_line_4xx_and_enqueues_nothing() {
    let (url, mut rx, _task) = start(serde_json::json!({"type": "basic", "user": "bb", "password": "pw"}), 2000).await;
    let c = client();
    let good = r#"{"buildid": 7, "complete": true, "results": 0}"#;
    let json = Some("application/json");
    let ok = Some(("bb", "pw"));
    type Case<'a> = (&'a str, Option<&'a str>, Option<(&'a str, &'a str)>, String, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("no credential", json, None, good.into(), 401, "missing credential"),
        ("wrong password", json, Some(("bb", "nope")), good.into(), 401, "wrong credential"),
        ("wrong user", json, Some(("bob", "pw")), good.into(), 401, "wrong credential"),
        ("malformed JSON", json, ok, "{\"buildid\": 7,".into(), 400, "malformed JSON"),
        ("empty body", None, ok, String::new(), 415, "missing Content-Type"),
        ("text/plain", Some("text/plain"), ok, good.into(), 415, "unsupported Content-Type"),
        (
            "too big",
            json,
            ok,
            format!("{{\"buildid\": 1, \"pad\": \"{}\"}}", "x".repeat(3000)),
            413,
            "over the configured limit",
        ),
        ("not a build", json, ok, "{\"hello\": 1}".into(), 422, "not a Buildbot payload"),
        ("scalar", json, ok, "42".into(), 422, "not a Buildbot payload"),
    ];
    for (what, ct, auth, body, status, reason) in cases {
        let (got, text) = post(&c, &url, ct, auth, body).await;
        assert_eq!(got, status, "{what}: {text}");
        assert!(text.contains(reason), "{what}: {text:?}");
        assert_eq!(text.trim_end().lines().count(), 1, "{what}: reason must be one line: {text:?}");
        assert!(!text.contains("pw"), "{what}: a credential leaked into {text:?}");
    }
    // Chunked body (no Content-Length) over the limit: caught while reading.
    let raw = raw_chunked_post(&url, 10, 500).await;
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
    let resp = c.get(&url).basic_auth("bb", Some("pw")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert!(rx.try_recv().is_err(), "a refused POST enqueued an event");

    // Still serving: a good POST goes through.
    let (got, text) = post(&c, &url, Some("application/json; charset=utf-8"), ok, good).await;
    assert_eq!((got, text.as_str()), (200, "queued build-finished:7\n"));
    assert_eq!(rx.recv().await.unwrap().kind, EventKind::BuildFinished);
    assert!(rx.try_recv().is_err());
}

#[tokio::test]
async fn shared_secret_and_kind_overrides() {
    let (url, mut rx, _task) =
        start(serde_json::json!({"type": "shared-secret", "header": "X-Hook-Token", "secret": "t0k"}), 1 << 16).await;
    let c = client();
    let send = |path: &str, token: Option<&str>, event: Option<&str>, body: &str| {
        let mut req = c.post(format!("{url}{path}")).header("Content-Type", "application/json").body(body.to_string());
        if let Some(t) = token {
            req = req.header("X-Hook-Token", t);
        }
        if let Some(e) = event {
            req = req.header("X-Wasmpush-Event", e);
        }
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    assert_eq!(send("/", None, None, r#"{"buildid": 1}"#).await.0, 401);
    assert_eq!(send("/", Some("t0kx"), None, r#"{"buildid": 1}"#).await.0, 401);
    let (s, t) = send("/hook/build-new", Some("t0k"), None, r#"{"buildid": 1, "complete": true}"#).await;
    assert_eq!((s, t.as_str()), (200, "queued build-new:1\n"));
    assert_eq!(rx.recv().await.unwrap().kind, EventKind::BuildNew);
    let (s, _) = send("/", Some("t0k"), Some("build-finished"), r#"{"buildid": 2}"#).await;
    assert_eq!(s, 200);
    assert_eq!(rx.recv().await.unwrap().event_id(), "build-finished:2");
    let (s, t) = send("/", Some("t0k"), Some("build-started"), r#"{"buildid": 3}"#).await;
    assert_eq!(s, 400, "{t}");
    let (s, t) = send("/x/buildset-complete", Some("t0k"), None, r#"{"buildid": 3}"#).await;
    assert_eq!(s, 422, "{t}");
    assert!(rx.try_recv().is_err());
}

#[tokio::test]
async fn missing_secret_env_is_a_clear_start_error() {
    let cfg: RelayConfig = serde_json::from_value(serde_json::json!({
        "listen": "127.0.0.1:0",
        "auth": {"type": "basic", "user": "u", "password_env": "WASMPUSH_RELAY_TEST_UNSET_VAR"}
    }))
    .unwrap();
    let err = RelayServer::bind(&cfg).await.err().expect("must fail").to_string();
    assert!(err.contains("WASMPUSH_RELAY_TEST_UNSET_VAR") && err.contains("auth.password"), "{err}");
}

/// Slowloris: 2,000 connections that never finish their headers. The relay
/// serves at most `max_connections` at once and cuts each slow one after
/// `header_timeout`, so its file descriptors stay bounded and a legitimate
/// POST queued behind them still gets its `200`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_cannot_exhaust_the_relay() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const SLOW: usize = 2000;
    const CAP: usize = 128;
    let fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let cfg: RelayConfig = serde_json::from_value(serde_json::json!({
        "listen": "127.0.0.1:0", "auth": {"type": "none"},
        "max_connections": CAP, "header_timeout": "1s", "body_timeout": "2s",
    }))
    .unwrap();
    let server = RelayServer::bind(&cfg).await.unwrap();
    let addr = server.local_addr();
    // Acknowledged at once: a stand-in for the host's inbox commit.
    let (tx, mut rx) = wasmpush_sources::acknowledge_all(16);
    tokio::spawn(server.serve(tx));
    let base = fds();
    let mut slow = Vec::new();
    for _ in 0..SLOW {
        slow.push(tokio::spawn(async move {
            let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else { return };
            let _ = s.write_all(b"POST /buildbot HTTP/1.1\r\nHost: x\r\n").await; // and never the rest
            let mut buf = [0u8; 64];
            let _ = tokio::time::timeout(Duration::from_secs(60), s.read(&mut buf)).await;
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Client sockets are in this process too: without the cap the relay
    // would add one descriptor per slow client on top of them.
    let peak = fds();
    assert!(peak <= base + SLOW + CAP + 64, "descriptors grew from {base} to {peak} with {SLOW} slow clients");

    let body = captured_bodies().into_iter().next().unwrap().1;
    let legit = tokio::time::timeout(
        Duration::from_secs(45),
        client().post(format!("http://{addr}/buildbot")).header("content-type", "application/json").body(body).send(),
    )
    .await
    .expect("a legitimate POST gets through within 45 s")
    .unwrap();
    assert_eq!(legit.status(), 200, "{:?}", legit.text().await);
    assert!(rx.recv().await.is_some());
    println!("{SLOW} slow clients: descriptors {base} -> {peak} (cap {CAP}); the legitimate POST was answered 200");
    for s in slow {
        s.abort();
    }
}

/// `tls = { cert, key }`: Buildbot's POST over HTTPS with Basic auth is
/// accepted; the same port refuses clear text; a key that does not match
/// the certificate is a start error naming `tls.key`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_serves_https_with_its_own_certificate() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let ca = wasmpush_testkit::tls::self_signed();
    let (cert, key) = (dir.path().join("relay.pem"), dir.path().join("relay.key"));
    std::fs::write(&cert, &ca.cert_pem).unwrap();
    std::fs::write(&key, &ca.key_pem).unwrap();
    let cfg: RelayConfig = serde_json::from_value(serde_json::json!({
        "listen": "127.0.0.1:0", "auth": {"type": "basic", "user": "bb", "password": "pw"},
        "tls": {"cert": cert, "key": key},
    }))
    .unwrap();
    assert!(cfg.warnings().is_empty(), "loopback: nothing to warn about");
    let server = RelayServer::bind(&cfg).await.unwrap();
    let port = server.local_addr().port();
    let (tx, mut rx) = wasmpush_sources::acknowledge_all(16);
    let task = tokio::spawn(async move { server.serve(tx).await.unwrap() });

    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.cert_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let body = captured_bodies().remove(0).1;
    let url = format!("https://localhost:{port}/buildbot");
    let (status, text) = post(&trusting, &url, Some("application/json"), Some(("bb", "pw")), body.clone()).await;
    assert_eq!(status, 200, "{text}");
    assert!(rx.recv().await.is_some(), "the HTTPS POST became an event");

    // Clear text on the TLS port gets no HTTP answer.
    let plain = client().post(format!("http://127.0.0.1:{port}/buildbot")).body(body).send().await;
    assert!(plain.is_err(), "clear text must not be served: {plain:?}");

    // A key from another certificate is refused at start, naming the field.
    let other = wasmpush_testkit::tls::self_signed();
    std::fs::write(&key, &other.key_pem).unwrap();
    let err = RelayServer::bind(&cfg).await.err().expect("a mismatched key is refused").to_string();
    assert!(err.starts_with("relay: tls.key:"), "{err}");
    task.abort();

    let open: RelayConfig =
        serde_json::from_value(serde_json::json!({"listen": "0.0.0.0:0", "auth": {"type": "none"}})).unwrap();
    let w = open.warnings().join("\n");
    assert!(w.contains("anyone who can reach it") && w.contains("plain HTTP"), "{w}");
}

/// `body_budget`: bodies held in memory at once are bounded across all
/// connections. A client that declares a large body and stalls holds its
/// share: a small POST still fits beside it, a large one is held (not
/// refused: Buildbot drops a refused report) until the staller is cut with
/// a 408 at `body_timeout`, then answered 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_in_flight_stay_within_the_memory_budget() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = captured_bodies().into_iter().map(|(_, b)| b).find(|b| b.len() > 3000).expect("a body over 3 KB");
    let cfg: RelayConfig = serde_json::from_value(serde_json::json!({
        "listen": "127.0.0.1:0", "auth": {"type": "none"},
        "body_budget": format!("{}", body.len() + 1024), "body_timeout": "5s",
    }))
    .unwrap();
    let counters = std::sync::Arc::new(wasmpush_sources::relay::RelayCounters::default());
    let server = RelayServer::bind(&cfg).await.unwrap().counting_into(counters.clone());
    let addr = server.local_addr();
    let (tx, mut rx) = wasmpush_sources::acknowledge_all(16);
    let task = tokio::spawn(async move { server.serve(tx).await.unwrap() });

    // Declares the large body, sends a little of it, stalls.
    let mut staller = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /buildbot HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    staller.write_all(head.as_bytes()).await.unwrap();
    staller.write_all(&body.as_bytes()[..100]).await.unwrap();
    // Until the staller holds its share of the budget.
    let share = (body.len() as u64).div_ceil(1024);
    let t = std::time::Instant::now();
    while counters.body_kib_held.load(std::sync::atomic::Ordering::Relaxed) < share {
        assert!(t.elapsed() < Duration::from_secs(30), "the staller never took its share");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let url = format!("http://{addr}/buildbot");
    let small = post(&client(), &url, Some("application/json"), None, r#"{"buildid": 5}"#).await;
    assert_eq!(small.0, 200, "a small body fits beside the staller: {}", small.1);
    assert!(rx.recv().await.is_some());
    let large = tokio::spawn({
        let (url, body) = (url.clone(), body.clone());
        async move { post(&client(), &url, Some("application/json"), None, body).await }
    });
    // The staller is cut 5 s after it took its share; well before that, the
    // large body is still waiting.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(!large.is_finished(), "a large body waits while the staller holds the budget");
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), staller.read_to_string(&mut answer)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "the staller is cut: {answer}");
    let (status, text) = large.await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(rx.recv().await.is_some());
    task.abort();
}
