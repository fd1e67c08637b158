//! Catch-up gaps (issue 11) against a real Buildbot 4.3.0 master
//! (tests/buildbot/harness.py).
//!
//! On PostgreSQL/MySQL masters build N+1 can commit before build N, so the
//! catch-up list `builds?buildid__ge=…` may lack N while N+1 is there. A
//! REST-rewriting proxy in front of the master plays that race: while build
//! N is "hidden" it is left out of every `api/v2/builds` list and
//! `api/v2/builds/N` answers `{"builds": []}`; the websocket passes
//! untouched.
//!
//! 1. `a_gap_is_reported_once_the_build_appears`: the batch ran while no
//!    source was running; the restarted source reports every other build
//!    but not N while N is hidden; once N shows up (well within
//!    `gap_window`) its `build-new` and `build-finished` are reported, and
//!    every event exactly once.
//! 2. `a_gap_that_never_appears_is_given_up_and_logged`: with
//!    `gap_window = "2s"` and N hidden for good, N is never reported; the
//!    give-up is logged (warn/error) naming N; the cursor moves past the
//!    batch and later builds are reported.

mod support;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use support::{Events, Harness, LogBuf, collector, expected, path_str, wait_following};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::Instrument;
use wasmpush_sources::EventSender;
use wasmpush_sources::buildbot::{self, BuildbotConfig, Needs, Status};

// ------------------------------------------------------------------ logs

/// Every log line of this test binary (each test's source runs in a span
/// naming the test, so its lines can be told apart), echoed to stderr.
fn logs() -> &'static LogBuf {
    static LOGS: OnceLock<LogBuf> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = LogBuf(Arc::default());
        let w = buf.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "wasmpush_sources=info".into()))
            .with_writer(move || w.clone())
            .init();
        buf
    })
}

/// The log lines written inside the span `gaptest{test="<test>"}`.
fn log_lines(test: &str) -> Vec<String> {
    let tag = format!("gaptest{{test=\"{test}\"}}");
    let text = String::from_utf8_lossy(&logs().0.lock().unwrap()).into_owned();
    text.lines().filter(|l| l.contains(&tag)).map(str::to_string).collect()
}

// ----------------------------------------------------------------- proxy

/// TCP proxy in front of the master: `/ws` passes untouched; each REST
/// request is forwarded on its own upstream connection (`Connection:
/// close`), its answer read whole and rewritten to hide the builds in
/// `hidden`.
#[derive(Clone, Default)]
struct HidingProxy {
    hidden: Arc<Mutex<BTreeSet<i64>>>,
    /// Requests answered without a hidden build: (build id, request target).
    hid: Arc<Mutex<Vec<(i64, String)>>>,
    /// REST requests seen (request targets).
    seen: Arc<Mutex<Vec<String>>>,
}

impl HidingProxy {
    async fn start(&self, upstream: SocketAddr) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let Ok((down, _)) = listener.accept().await else { continue };
                let me2 = me.clone();
                tokio::spawn(async move {
                    if let Err(e) = me2.serve(down, upstream).await {
                        eprintln!("[proxy] connection ended: {e}");
                    }
                });
            }
        });
        addr
    }

    fn hide(&self, id: i64) {
        self.hidden.lock().unwrap().insert(id);
    }

    fn unhide(&self, id: i64) {
        self.hidden.lock().unwrap().remove(&id);
    }

    /// Requests in which `id` was hidden so far.
    fn hid_count(&self, id: i64) -> usize {
        self.hid.lock().unwrap().iter().filter(|(i, _)| *i == id).count()
    }

    async fn serve(&self, mut down: TcpStream, upstream: SocketAddr) -> std::io::Result<()> {
        let mut buf = Vec::new();
        let Some(head_end) = read_head(&mut down, &mut buf).await? else { return Ok(()) };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or("").to_string();
        let mut parts = request_line.split(' ');
        let (method, target) = (parts.next().unwrap_or("GET").to_string(), parts.next().unwrap_or("/").to_string());
        let mut up = TcpStream::connect(upstream).await?;
        if target == "/ws" || target.starts_with("/ws?") || target.starts_with("/ws/") {
            up.write_all(&buf).await?;
            tokio::io::copy_bidirectional(&mut down, &mut up).await?;
            return Ok(());
        }
        self.seen.lock().unwrap().push(target.clone());
        // One request per connection, both ways.
        let mut req = format!("{method} {target} HTTP/1.1\r\n");
        let mut content_length = 0usize;
        for l in lines.filter(|l| !l.is_empty()) {
            let name = l.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
            if name == "content-length" {
                content_length = l.split_once(':').map(|(_, v)| v.trim().parse().unwrap_or(0)).unwrap_or(0);
            }
            if matches!(name.as_str(), "connection" | "keep-alive" | "accept-encoding" | "te" | "upgrade") {
                continue;
            }
            req.push_str(l);
            req.push_str("\r\n");
        }
        req.push_str("Connection: close\r\n\r\n");
        let mut body = buf[head_end..].to_vec();
        while body.len() < content_length {
            let mut chunk = [0u8; 4096];
            let n = down.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        up.write_all(req.as_bytes()).await?;
        up.write_all(&body).await?;
        let mut resp = Vec::new();
        up.read_to_end(&mut resp).await?;
        let Some((status_line, headers, body)) = parse_response(&resp) else {
            // Not HTTP: pass it on as it came.
            down.write_all(&resp).await?;
            return Ok(());
        };
        let body = self.rewrite(&target, body);
        let mut out = format!("{status_line}\r\n");
        for (k, v) in &headers {
            if matches!(k.to_ascii_lowercase().as_str(), "content-length" | "transfer-encoding" | "connection") {
                continue;
            }
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
        down.write_all(out.as_bytes()).await?;
        down.write_all(&body).await?;
        down.flush().await?;
        let _ = down.shutdown().await;
        Ok(())
    }

    /// Hides the builds in `hidden` from `api/v2/builds` lists and answers
    /// `api/v2/builds/<hidden>` with an empty list.
    fn rewrite(&self, target: &str, body: Vec<u8>) -> Vec<u8> {
        let path = target.split('?').next().unwrap_or(target);
        let Some(rest) = path.strip_prefix("/api/v2/builds") else { return body };
        let hidden = self.hidden.lock().unwrap().clone();
        if hidden.is_empty() {
            return body;
        }
        if rest.is_empty() || rest == "/" {
            let Ok(mut v) = serde_json::from_slice::<Value>(&body) else { return body };
            let Some(list) = v.get_mut("builds").and_then(Value::as_array_mut) else { return body };
            let mut removed = Vec::new();
            list.retain(|b| match b.get("buildid").and_then(Value::as_i64) {
                Some(id) if hidden.contains(&id) => {
                    removed.push(id);
                    false
                }
                _ => true,
            });
            if removed.is_empty() {
                return body;
            }
            if let Some(total) = v.pointer_mut("/meta/total")
                && let Some(t) = total.as_i64()
            {
                *total = Value::from(t - removed.len() as i64);
            }
            for id in removed {
                eprintln!("[proxy] hid build {id} from {target}");
                self.hid.lock().unwrap().push((id, target.to_string()));
            }
            return serde_json::to_vec(&v).unwrap();
        }
        if let Some(id) = rest.strip_prefix('/').and_then(|s| s.parse::<i64>().ok())
            && hidden.contains(&id)
        {
            eprintln!("[proxy] hid build {id}: {target}");
            self.hid.lock().unwrap().push((id, target.to_string()));
            return br#"{"builds": [], "meta": {"total": 0}}"#.to_vec();
        }
        body
    }
}

/// Reads until the end of the request head; its length (None: closed first).
async fn read_head(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Option<usize>> {
    loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(Some(p + 4));
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Status line, headers and (de-chunked) body of an HTTP/1.1 response.
type Response = (String, Vec<(String, String)>, Vec<u8>);

/// A whole HTTP/1.1 response: status line, headers, (de-chunked) body.
fn parse_response(resp: &[u8]) -> Option<Response> {
    let end = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&resp[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?.to_string();
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect();
    let header = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    let raw = &resp[end + 4..];
    let body = if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        let mut out = Vec::new();
        let mut rest = raw;
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size_str = String::from_utf8_lossy(&rest[..line_end]).into_owned();
            let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
            rest = &rest[line_end + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
        out
    } else if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        raw.get(..n)?.to_vec()
    } else {
        raw.to_vec()
    };
    Some((status_line, headers, body))
}

// ---------------------------------------------------------------- source

fn config(url: &str, state: &Path, extra: Value) -> BuildbotConfig {
    let mut v = serde_json::json!({
        "url": url, "state_file": path_str(state),
        "reconnect": {"initial_ms": 200, "max_ms": 2000}, "retry": {"initial_ms": 200, "max_ms": 2000},
        "request_timeout_secs": 10, "ping_interval_secs": 1,
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("config {v}: {e}"))
}

/// Runs the source in a span `gaptest{test=…}` (its log lines carry it).
fn spawn_source(
    test: &str,
    cfg: BuildbotConfig,
    tx: EventSender,
) -> (tokio::task::JoinHandle<()>, watch::Receiver<Status>) {
    let (st_tx, st_rx) = watch::channel(Status::Starting);
    // The subscriber must exist before the span is made: a span created
    // with no subscriber stays disabled, and its lines would lack the tag.
    logs();
    // The target passes the `wasmpush_sources=…` filter, so the span shows.
    let span = tracing::info_span!(target: "wasmpush_sources::gaptest", "gaptest", test = test);
    let h = tokio::spawn(
        async move {
            if let Err(e) = buildbot::run_with_status(cfg, Needs::default(), tx, st_tx).await {
                panic!("buildbot source failed: {e}");
            }
        }
        .instrument(span),
    );
    (h, st_rx)
}

fn event_ids(events: &Events) -> Vec<String> {
    events.lock().unwrap().iter().map(support::short_id).collect()
}

async fn wait_events(events: &Events, want: &BTreeSet<String>, secs: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let got: BTreeSet<String> = event_ids(events).into_iter().collect();
        if want.is_subset(&got) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: missing after {secs}s: {:?} (got {:?})",
            want.difference(&got).collect::<Vec<_>>(),
            event_ids(events)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn of_build(id: i64) -> BTreeSet<String> {
    [format!("build-new:{id}"), format!("build-finished:{id}")].into()
}

fn counts(events: &Events) -> BTreeMap<String, usize> {
    let mut c: BTreeMap<String, usize> = BTreeMap::new();
    for id in event_ids(events) {
        *c.entry(id).or_default() += 1;
    }
    c
}

fn assert_none_doubled(events: &Events) {
    let doubled: Vec<_> = counts(events).into_iter().filter(|(_, n)| *n > 1).collect();
    assert!(doubled.is_empty(), "events reported more than once: {doubled:?}");
}

fn build_ids(run: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = run["builds"].as_array().unwrap().iter().map(|b| b["buildid"].as_i64().unwrap()).collect();
    ids.sort();
    ids
}

async fn run_builds(h: &Harness, only: Option<&str>) -> Value {
    let t = Instant::now();
    let v = match only {
        None => {
            let bg = h.run_builds_bg();
            tokio::task::spawn_blocking(move || bg.join().unwrap()).await.unwrap()
        }
        Some(only) => {
            let d = path_str(&h.dir.path().join("run"));
            let only = only.to_string();
            tokio::task::spawn_blocking(move || support::harness(&["run-builds", "--dir", &d, "--only", &only]))
                .await
                .unwrap()
        }
    };
    eprintln!("[timing] run-builds {only:?}: {:.1}s", t.elapsed().as_secs_f64());
    v
}

/// Master + hiding proxy; a state file written by a source that reached
/// Following and was stopped; then a batch of builds run with no source
/// running. Returns the proxy URL, the batch and N, a build in its middle.
async fn setup(test: &str, h: &Harness, proxy: &HidingProxy, state: &Path) -> (String, Value, i64) {
    let upstream = url::Url::parse(&h.url()).unwrap();
    let addr = proxy.start(format!("127.0.0.1:{}", upstream.port().unwrap()).parse().unwrap()).await;
    let url = format!("http://{addr}/");

    let (tx, first_events) = collector();
    let (first, mut st) = spawn_source(test, config(&url, state, serde_json::json!({})), tx);
    wait_following(&mut st).await;
    first.abort();
    let _ = first.await;
    assert!(state.exists(), "the first run wrote no state file");
    assert!(event_ids(&first_events).is_empty(), "nothing ran yet: {:?}", event_ids(&first_events));

    let run = run_builds(h, None).await;
    let ids = build_ids(&run);
    assert!(ids.len() >= 3, "a batch of at least 3 builds: {run}");
    let n = ids[ids.len() / 2];
    assert!(n > ids[0] && n < ids[ids.len() - 1], "N={n} is in the middle of {ids:?}");
    assert!(n >= 3, "N={n} must not be mistaken for other small numbers in the log line");
    eprintln!("[{test}] batch {ids:?}; hiding N={n}");
    (url, run, n)
}

/// The batch runs while the source is stopped; on restart build N is
/// missing from the catch-up list (a later build is there): N is reported
/// once it appears.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_is_reported_once_the_build_appears() {
    const TEST: &str = "appears";
    logs();
    let t0 = Instant::now();
    let h = Harness::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("cursor.json");
    let proxy = HidingProxy::default();
    let (url, run, n) = setup(TEST, &h, &proxy, &state).await;
    let want = expected(&run);
    let others: BTreeSet<String> = want.difference(&of_build(n)).cloned().collect();

    proxy.hide(n);
    let (tx, events) = collector();
    let cfg = config(&url, &state, serde_json::json!({"gap_window": "30s", "ping_interval_secs": 1}));
    let (source, mut st) = spawn_source(TEST, cfg, tx);
    wait_following(&mut st).await;
    let t_hidden = Instant::now();
    wait_events(&events, &others, 90, "while N is hidden, every other event").await;
    assert!(proxy.hid_count(n) > 0, "the catch-up list never held build {n}: {:?}", proxy.seen.lock().unwrap());
    // A few re-checks (ping every 1s) while N is still missing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = event_ids(&events);
    assert!(
        of_build(n).iter().all(|e| !got.contains(e)),
        "build {n} was reported while the master did not show it: {got:?}"
    );
    let rechecks = proxy.hid_count(n);
    assert!(rechecks >= 2, "build {n} was not re-checked while missing (requests: {:?})", proxy.hid.lock().unwrap());

    proxy.unhide(n);
    let t_shown = Instant::now();
    eprintln!(
        "[{TEST}] build {n} shown after {:.1}s hidden ({rechecks} requests answered without it)",
        t_hidden.elapsed().as_secs_f64()
    );
    wait_events(&events, &of_build(n), 60, "once N appears, its events").await;
    eprintln!("[timing] build {n} reported {:.1}s after it appeared", t_shown.elapsed().as_secs_f64());
    // No doubles, nothing unexpected, new before finished.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_none_doubled(&events);
    let got: BTreeSet<String> = event_ids(&events).into_iter().collect();
    assert_eq!(got, want, "events: unexpected or missing");
    let order = event_ids(&events);
    let pos = |k: &str| order.iter().position(|x| *x == format!("{k}:{n}")).unwrap();
    assert!(pos("build-new") < pos("build-finished"), "build {n}: finished before new: {order:?}");
    let gave_up: Vec<String> = log_lines(TEST).into_iter().filter(|l| l.contains("giving up")).collect();
    assert!(gave_up.is_empty(), "gave up although N appeared within gap_window: {gave_up:?}");
    source.abort();
    eprintln!("[timing] {TEST}: {:.1}s", t0.elapsed().as_secs_f64());
}

/// Build N stays missing: after `gap_window` it is given up (logged,
/// naming N), never reported, and the cursor moves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_that_never_appears_is_given_up_and_logged() {
    const TEST: &str = "never";
    logs();
    let t0 = Instant::now();
    let h = Harness::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("cursor.json");
    let proxy = HidingProxy::default();
    let (url, run, n) = setup(TEST, &h, &proxy, &state).await;
    let want = expected(&run);
    let others: BTreeSet<String> = want.difference(&of_build(n)).cloned().collect();
    let last = *build_ids(&run).last().unwrap();

    proxy.hide(n);
    let (tx, events) = collector();
    let cfg = config(&url, &state, serde_json::json!({"gap_window": "2s", "ping_interval_secs": 1}));
    let (source, mut st) = spawn_source(TEST, cfg, tx);
    wait_following(&mut st).await;
    let t_following = Instant::now();
    wait_events(&events, &others, 90, "every event but N's").await;
    assert!(proxy.hid_count(n) > 0, "the catch-up list never held build {n}: {:?}", proxy.seen.lock().unwrap());

    // The give-up, logged at warn/error level, naming N.
    let deadline = Instant::now() + Duration::from_secs(60);
    let line = loop {
        let found = log_lines(TEST).into_iter().find(|l| l.contains("giving up on ids missing from the master"));
        if let Some(l) = found {
            break l;
        }
        assert!(
            Instant::now() < deadline,
            "no \"giving up on ids missing from the master\" log line within 60s; this source's lines:\n{}",
            log_lines(TEST).join("\n")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("[timing] give-up logged {:.1}s after Following", t_following.elapsed().as_secs_f64());
    assert!(line.contains(" WARN ") || line.contains("ERROR"), "the give-up is not a warning or error: {line}");
    let after = &line[line.find("giving up on ids missing").unwrap()..];
    let numbers: BTreeSet<&str> = after.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).collect();
    assert!(numbers.contains(n.to_string().as_str()), "the give-up does not name build {n}: {line}");

    // The cursor moves past the batch (N counts as handled now).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let c: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap_or_default()).unwrap_or_default();
        let next = c["builds"]["next"].as_i64().unwrap_or(0);
        if next > last {
            break;
        }
        assert!(Instant::now() < deadline, "the cursor stays before build {n}: builds.next = {next}, state {c}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Later builds are reported (live), N still never.
    let later = run_builds(&h, Some("pass,fail")).await;
    assert!(build_ids(&later).iter().all(|id| *id > last), "later builds {later}");
    wait_events(&events, &expected(&later), 90, "later builds").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = event_ids(&events);
    assert!(of_build(n).iter().all(|e| !got.contains(e)), "build {n} was reported although hidden for good: {got:?}");
    assert_none_doubled(&events);
    let all: BTreeSet<String> = others.union(&expected(&later)).cloned().collect();
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), all, "events: unexpected or missing");
    source.abort();
    eprintln!("[timing] {TEST}: {:.1}s", t0.elapsed().as_secs_f64());
}
