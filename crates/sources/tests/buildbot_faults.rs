//! A master whose REST API answers with errors, garbage or not at all: the
//! `buildbot` source retries the event with backoff, logs why, and still
//! delivers it exactly once with the right payload.
//!
//! A proxy in front of the real master (tests/buildbot/harness.py) passes
//! the websocket through and answers the next REST connections itself: a
//! 500, an HTML page, a truncated JSON, and silence (timeout).

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Harness, LogBuf, path_str};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use wasmpush_sources::EventKind;
use wasmpush_sources::buildbot::{self, BuildbotConfig, Needs, Status};

#[derive(Clone, Copy, Debug)]
enum Fault {
    Status500,
    Html,
    TruncatedJson,
    Silence,
}

/// Proxy: `/ws` connections pass; REST connections take the next fault
/// from the queue (answered with `Connection: close`), or pass when empty.
/// `arm` also cuts idle REST connections so the next request reconnects.
type Conns = Arc<Mutex<Vec<(u64, tokio::task::JoinHandle<()>)>>>;

#[derive(Clone, Default)]
struct Faults {
    queue: Arc<Mutex<Vec<Fault>>>,
    conns: Conns,
    ws_conns: Arc<Mutex<std::collections::HashSet<u64>>>,
    served: Arc<Mutex<Vec<String>>>,
}

impl Faults {
    fn arm(&self, faults: &[Fault]) {
        *self.queue.lock().unwrap() = faults.iter().rev().copied().collect();
        let ws = self.ws_conns.lock().unwrap().clone();
        self.conns.lock().unwrap().retain(|(id, h)| {
            if !ws.contains(id) {
                h.abort();
            }
            ws.contains(id)
        });
    }

    async fn start(&self, upstream: std::net::SocketAddr) -> std::net::SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let me = self.clone();
        tokio::spawn(async move {
            for id in 0u64.. {
                let Ok((down, _)) = l.accept().await else { continue };
                let me2 = me.clone();
                let h = tokio::spawn(async move { me2.serve(id, down, upstream).await });
                me.conns.lock().unwrap().push((id, h));
            }
        });
        addr
    }

    async fn serve(&self, id: u64, mut down: TcpStream, upstream: std::net::SocketAddr) {
        // Read the request head to see what it is.
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match down.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let line = String::from_utf8_lossy(&head).lines().next().unwrap_or("").to_string();
        let is_ws = line.starts_with("GET /ws");
        if is_ws {
            self.ws_conns.lock().unwrap().insert(id);
        }
        let fault = if is_ws { None } else { self.queue.lock().unwrap().pop() };
        let Some(fault) = fault else {
            let Ok(mut up) = TcpStream::connect(upstream).await else { return };
            if up.write_all(&head).await.is_err() {
                return;
            }
            let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
            return;
        };
        self.served.lock().unwrap().push(format!("{fault:?} for {line}"));
        let (status, ct, body) = match fault {
            Fault::Status500 => ("500 Internal Server Error", "text/plain", "boom".to_string()),
            Fault::Html => ("200 OK", "text/html", "<html>proxy login page</html>".to_string()),
            Fault::TruncatedJson => ("200 OK", "application/json", "{\"builds\": [{\"buildid\": 1,".to_string()),
            Fault::Silence => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                return;
            }
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = down.write_all(resp.as_bytes()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_errors_garbage_and_timeouts_are_retried_not_dropped() {
    let logs = LogBuf::default();
    let l2 = logs.clone();
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_env_filter("wasmpush_sources=info")
        .with_writer(move || l2.clone())
        .init();

    let h = Harness::start(&[]);
    let upstream = url::Url::parse(&h.url()).unwrap();
    let faults = Faults::default();
    let proxy = faults.start(format!("127.0.0.1:{}", upstream.port().unwrap()).parse().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg: BuildbotConfig = serde_json::from_value(serde_json::json!({
        "url": format!("http://{proxy}/"), "state_file": path_str(&dir.path().join("cursor.json")),
        "retry": {"initial_ms": 100, "max_ms": 500}, "request_timeout_secs": 2, "ping_interval_secs": 30,
    }))
    .unwrap();
    // Acknowledged at once: a stand-in for the host's inbox commit.
    let (tx, mut rx) = wasmpush_sources::acknowledge_all(16);
    let (st_tx, mut st) = watch::channel(Status::Starting);
    let source = tokio::spawn(buildbot::run_with_status(cfg, Needs::default(), tx, st_tx));
    tokio::time::timeout(Duration::from_secs(60), st.wait_for(|s| *s == Status::Following)).await.unwrap().unwrap();

    faults.arm(&[Fault::Status500, Fault::Html, Fault::TruncatedJson, Fault::Silence]);
    let t = Instant::now();
    let run_dir = h_dir(&h);
    let run = tokio::task::spawn_blocking(move || {
        support::harness(&["run-builds", "--dir", run_dir.as_str(), "--only", "pass"])
    })
    .await
    .unwrap();
    let buildid = run["builds"][0]["buildid"].as_i64().unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(60), rx.recv()).await.expect("events must arrive").unwrap();
        got.push(ev);
    }
    eprintln!("[timing] faulty run: {:.1}s", t.elapsed().as_secs_f64());
    let ids: Vec<String> = got.iter().map(support::short_id).collect();
    assert_eq!(
        ids,
        [
            format!("build-new:{buildid}"),
            format!("build-finished:{buildid}"),
            format!("buildset-complete:{}", run["builds"][0]["bsid"])
        ]
    );
    let fin = got.iter().find(|e| e.kind == EventKind::BuildFinished).unwrap();
    assert_eq!(fin.payload["builder"]["name"], "pass");
    assert_eq!(fin.payload["results"], 0);
    assert!(tokio::time::timeout(Duration::from_secs(2), rx.recv()).await.is_err(), "an event was reported twice");

    let served = faults.served.lock().unwrap().clone();
    assert_eq!(served.len(), 4, "every fault was served: {served:?}");
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    for why in
        ["HTTP 500: boom", "expected JSON, got Content-Type \"text/html\"", "malformed JSON", "no answer within 2s"]
    {
        assert!(text.contains(why), "no retry warning mentioning {why:?} in the logs");
    }
    assert!(text.contains("cannot assemble the payload; retrying"));
    source.abort();
    drop(h);
}

fn h_dir(h: &Harness) -> String {
    path_str(&h.dir.path().join("run"))
}
