//! Test support: the Python harness (real Buildbot 4.3.0 master + worker)
//! and a cuttable TCP proxy. Nothing here is skipped: if Python or pip
//! fails, the test fails.
#![allow(dead_code)]

use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Runs `tests/buildbot/setup.sh` once per test binary; the venv's python.
pub fn python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let t = Instant::now();
        let out = Command::new("bash").arg(repo().join("tests/buildbot/setup.sh")).output().expect("run setup.sh");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "tests/buildbot/setup.sh failed:\n{stderr}");
        eprintln!(
            "[timing] setup.sh: {:.1}s ({})",
            t.elapsed().as_secs_f64(),
            stderr.trim().lines().last().unwrap_or("")
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().lines().last().unwrap().to_string())
    })
    .clone()
}

/// One master + worker (+ capture receiver), stopped on drop.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub state: Value,
}

impl Harness {
    pub fn start(extra: &[&str]) -> Harness {
        let dir = tempfile::Builder::new().prefix("wasmpush-bb-").tempdir().unwrap();
        let d = dir.path().join("run");
        let cap = dir.path().join("capture.jsonl");
        let mut args = vec!["start", "--dir", d.to_str().unwrap(), "--capture-out", cap.to_str().unwrap()];
        args.extend_from_slice(extra);
        let t = Instant::now();
        let state = harness(&args);
        eprintln!(
            "[timing] harness start (create master, start master + worker): {:.1}s {}",
            t.elapsed().as_secs_f64(),
            state["timings_s"]
        );
        Harness { dir, state }
    }

    fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn url(&self) -> String {
        self.state["buildbot_url"].as_str().unwrap().to_string()
    }

    /// `run-builds` in the background; join the thread for its JSON.
    pub fn run_builds_bg(&self) -> std::thread::JoinHandle<Value> {
        let d = self.run_dir();
        std::thread::spawn(move || {
            let t = Instant::now();
            let v = harness(&["run-builds", "--dir", d.to_str().unwrap()]);
            eprintln!("[timing] run-builds: {:.1}s", t.elapsed().as_secs_f64());
            v
        })
    }

    /// The captured POSTs so far.
    pub fn captures(&self) -> Vec<Value> {
        let p = self.dir.path().join("capture.jsonl");
        std::fs::read_to_string(p).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    pub fn wait_captures(&self, n: usize) {
        let p = self.dir.path().join("capture.jsonl");
        harness(&["wait-captures", "--file", p.to_str().unwrap(), "--count", &n.to_string(), "--timeout", "60"]);
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let d = self.run_dir();
        let out = Command::new(python()).arg(script()).args(["stop", "--dir", d.to_str().unwrap()]).output();
        if let Ok(o) = out {
            eprintln!("harness stop: {}", String::from_utf8_lossy(&o.stdout).trim());
        }
    }
}

fn script() -> PathBuf {
    repo().join("tests/buildbot/harness.py")
}

/// Runs a harness command; its stdout JSON.
pub fn harness(args: &[&str]) -> Value {
    let out = Command::new(python()).arg(script()).args(args).output().expect("run harness.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "harness.py {} failed:\n{stdout}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap()
}

/// A TCP proxy on 127.0.0.1 whose connections can be cut, and which can
/// refuse new ones for a while (a network blip).
pub struct Proxy {
    pub addr: SocketAddr,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    refuse_until: Arc<Mutex<Option<Instant>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let refuse_until: Arc<Mutex<Option<Instant>>> = Arc::default();
        let (c2, r2) = (conns.clone(), refuse_until.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut down, _)) = listener.accept().await else { continue };
                let refusing = r2.lock().unwrap().is_some_and(|t| Instant::now() < t);
                if refusing {
                    drop(down);
                    continue;
                }
                let h = tokio::spawn(async move {
                    if let Ok(mut up) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
                c2.lock().unwrap().push(h);
            }
        });
        Proxy { addr, conns, refuse_until, accept }
    }

    /// Cuts every open connection and refuses new ones for `outage`.
    pub fn cut(&self, outage: Duration) {
        *self.refuse_until.lock().unwrap() = Some(Instant::now() + outage);
        for h in self.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        for h in self.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "wasmpush_sources=info".into()))
        .with_test_writer()
        .try_init();
}

pub fn path_str(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// Log lines captured for assertions (and echoed to stderr): the writer of
/// a `tracing_subscriber::fmt()` set up by the test.
#[derive(Clone, Default)]
pub struct LogBuf(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        std::io::stderr().write_all(b)?;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The events a source sent, in order.
pub type Events = Arc<Mutex<Vec<wasmpush_sources::SourceEvent>>>;

/// Collects the events; acknowledges each at once (stand-in for the host's
/// inbox commit, which these source-level tests do not run).
pub fn collector() -> (wasmpush_sources::EventSender, Events) {
    let (tx, mut rx) = wasmpush_sources::acknowledge_all(64);
    let events: Events = Arc::default();
    let e2 = events.clone();
    tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            e2.lock().unwrap().push(ev);
        }
    });
    (tx, events)
}

/// Waits (60 s at most) until the source follows the websocket.
pub async fn wait_following(st: &mut tokio::sync::watch::Receiver<wasmpush_sources::buildbot::Status>) {
    tokio::time::timeout(Duration::from_secs(60), st.wait_for(|s| *s == wasmpush_sources::buildbot::Status::Following))
        .await
        .expect("source did not reach Following within 60s")
        .unwrap();
}

/// An event's id without its master (`build-finished:12`): the tests name
/// builds by number. The master part is checked where it matters (the
/// relay and the Buildbot source must agree on it).
pub fn short_id(e: &wasmpush_sources::SourceEvent) -> String {
    e.event_id().split('@').next().unwrap_or_default().to_string()
}

/// Every (event kind, id) a `run-builds` result must produce: new +
/// finished per build, complete per buildset.
pub fn expected(run: &Value) -> std::collections::BTreeSet<String> {
    let mut want = std::collections::BTreeSet::new();
    for b in run["builds"].as_array().unwrap() {
        want.insert(format!("build-new:{}", b["buildid"]));
        want.insert(format!("build-finished:{}", b["buildid"]));
        want.insert(format!("buildset-complete:{}", b["bsid"]));
    }
    want
}
