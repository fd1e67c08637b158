//! Memory while a target is down (issue 11): N reports of B KiB each, every
//! one with its own ordering key (so N key workers wait at once, the worst
//! case), pushed to a local receiver that answers every request with
//! `503 Service Unavailable` and `Retry-After: 3600`. Once every report has
//! had its first attempt (all N are then waiting an hour for a retry), it
//! prints the process's VmRSS and VmHWM, and the same figures from before
//! the enqueue. A waiting worker holds no body, so RSS must not grow with
//! N × B (goal: below 150 MiB for 10,000 × 256 KiB).
//!
//! ```text
//! cargo run -p wasmpush-delivery --example outage_memory [-- N [BODY_KIB]]
//! ```
//! (the workspace's one profile, `dev`, which tests and benches use too).
//! Defaults: N = 10000, BODY_KIB = 256; also settable by the env vars
//! `OUTAGE_N`, `OUTAGE_BODY_KIB`; `OUTAGE_TIMEOUT_SECS` (default 900) bounds
//! the wait for the first attempts.
//!
//! It writes N × B (about **2.5 GiB** with the defaults) to an outbox in a
//! temporary directory under `$TMPDIR` (removed at the end). Not part of
//! `.ci/run`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use wasmpush_delivery::{Delivery, Outgoing, TargetConfig};

/// Reports per `enqueue_batch` call (one fsync'd commit each).
const CHUNK: usize = 16;

fn arg_or_env(pos: usize, env: &str, default: u64) -> u64 {
    std::env::args()
        .nth(pos)
        .or_else(|| std::env::var(env).ok())
        .map(|s| s.parse().unwrap_or_else(|_| panic!("{env}: not a number: {s:?}")))
        .unwrap_or(default)
}

/// (VmRSS, VmHWM) in KiB from /proc/self/status.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A receiver that is "down": reads each request body (discarding it) and
/// answers 503 with `Retry-After: 3600`.
async fn serve_503() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            tokio::spawn(async move {
                let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let mut body = req.into_body();
                    while let Some(Ok(_)) = body.frame().await {}
                    let resp = hyper::Response::builder()
                        .status(503)
                        .header("Retry-After", "3600")
                        .body(Full::new(Bytes::from_static(b"down for maintenance")))
                        .unwrap();
                    Ok::<_, Infallible>(resp)
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    });
    url
}

#[tokio::main]
async fn main() {
    let n = arg_or_env(1, "OUTAGE_N", 10_000);
    let body_kib = arg_or_env(2, "OUTAGE_BODY_KIB", 256);
    let timeout = Duration::from_secs(arg_or_env(3, "OUTAGE_TIMEOUT_SECS", 900));
    let body_len = usize::try_from(body_kib * 1024).unwrap();

    let url = serve_503().await;
    let dir = tempfile::tempdir().unwrap();
    let target: TargetConfig = toml::from_str(&format!("server_url = \"{url}\"")).unwrap();
    let delivery =
        Arc::new(Delivery::open(&dir.path().join("outbox.redb"), vec![("down".to_owned(), target)]).await.unwrap());

    let (rss0, hwm0) = rss_kib();
    println!("before enqueue: VmRSS {} VmHWM {}", mib(rss0), mib(hwm0));

    let started = Instant::now();
    let d = Arc::clone(&delivery);
    tokio::task::spawn_blocking(move || {
        let mut i = 0;
        while i < n {
            let batch = (i..n.min(i + CHUNK as u64))
                .map(|k| {
                    let mut body = vec![b'x'; body_len];
                    let tag = format!("{{\"report\":{k}}}");
                    let m = tag.len().min(body_len);
                    body[..m].copy_from_slice(&tag.as_bytes()[..m]);
                    Outgoing {
                        target: "down".to_owned(),
                        id: format!("report-{k}"),
                        ordering_key: format!("buildrequest:{k}"),
                        generator: "outage-memory".to_owned(),
                        body,
                        content_type: "application/json".to_owned(),
                        headers: vec![],
                        path: None,
                        method: Default::default(),
                        supersede: None,
                        keep: Vec::new(),
                        fill: false,
                    }
                })
                .collect::<Vec<_>>();
            i += batch.len() as u64;
            d.enqueue_batch(batch).unwrap();
        }
    })
    .await
    .unwrap();
    let enqueued_in = started.elapsed();

    let end = Instant::now() + timeout;
    while delivery.stats().retried < n && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = delivery.stats();
    let (rss1, hwm1) = rss_kib();
    println!(
        "after first attempts: N {n} body {body_kib} KiB ({:.2} GiB total) enqueued in {:.1?}, all attempted in {:.1?}",
        (n * body_kib) as f64 / (1024.0 * 1024.0),
        enqueued_in,
        started.elapsed()
    );
    println!("  stats: {stats:?}");
    println!("  VmRSS {} VmHWM {}", mib(rss1), mib(hwm1));
    if stats.retried < n {
        println!("  TIMEOUT: only {} of {n} reports had their first attempt within {timeout:?}", stats.retried);
    }

    match Arc::try_unwrap(delivery) {
        Ok(d) => d.shutdown().await,
        Err(_) => unreachable!("the enqueue task has ended"),
    }
    if stats.retried < n {
        std::process::exit(1);
    }
}
