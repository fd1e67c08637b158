//! Stand-in HTTP servers on 127.0.0.1 for the send-time features: a token
//! endpoint and a target, each `wasmpush_testkit::serve` answering from a
//! closure over what it saw (method, target, headers, body), and a tracing
//! capture so tests can read every log line the delivery crate wrote.
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use wasmpush_testkit::{Received, Reply, Server, serve};

/// One request as a stand-in saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Status, extra headers and body of an answer.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Answer {
    pub fn new(status: u16, body: impl Into<String>) -> Answer {
        Answer { status, headers: Vec::new(), body: body.into() }
    }
    pub fn json(status: u16, v: &serde_json::Value) -> Answer {
        Answer { status, headers: vec![("content-type", "application/json".to_owned())], body: v.to_string() }
    }
}

pub type Handler = Arc<dyn Fn(&Seen) -> Answer + Send + Sync>;

/// A running stand-in; stops when dropped.
pub struct StandIn {
    pub url: String,
    server: Server,
}

impl From<Received> for Seen {
    fn from(r: Received) -> Seen {
        Seen { method: r.method, target: r.path, headers: r.headers, body: r.body }
    }
}

impl StandIn {
    pub fn seen(&self) -> Vec<Seen> {
        self.server.requests().into_iter().map(Seen::from).collect()
    }
    pub fn count(&self) -> usize {
        self.server.count()
    }
}

pub async fn start(handler: Handler) -> StandIn {
    let server = serve(
        Arc::new(move |r: &Received, _| {
            let a = handler(&Seen::from(r.clone()));
            let headers = a.headers.into_iter().map(|(n, v)| (n.to_owned(), v)).collect();
            Reply { headers, ..Reply::with_body(a.status, a.body) }
        }),
        None,
    )
    .await;
    StandIn { url: server.url.clone(), server }
}

/// Polls `cond` every 5 ms until it holds; panics naming `what` after `max`.
pub async fn until(what: &str, max: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + max;
    while !cond() {
        assert!(Instant::now() < end, "timed out after {max:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static LOGS: OnceLock<Buf> = OnceLock::new();

/// Installs (once per test binary) a global subscriber writing every event
/// of every level and crate to memory.
pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let buf = Buf::default();
        let w = buf.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || w.clone())
            .init();
        buf
    });
}

/// Everything logged so far in this test binary.
pub fn logs() -> String {
    LOGS.get().map(|b| String::from_utf8_lossy(&b.0.lock().unwrap()).into_owned()).unwrap_or_default()
}

/// The forms a secret may take in a URL or a form body: plain, form-encoded
/// (`+` for space), `%20` for space, lower-case hex.
pub fn encoded_forms(secret: &str) -> Vec<String> {
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let pct = form.replace('+', "%20");
    let mut v = vec![secret.to_owned(), lower_hex(&form), lower_hex(&pct), form, pct];
    v.sort();
    v.dedup();
    v
}

/// `%2F` → `%2f`, the rest unchanged.
fn lower_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut hex_left = 0;
    for c in s.chars() {
        if hex_left > 0 {
            out.push(c.to_ascii_lowercase());
            hex_left -= 1;
        } else {
            hex_left = if c == '%' { 2 } else { 0 };
            out.push(c);
        }
    }
    out
}

/// Panics naming `what` and the form if any form of `secret` is in `text`.
pub fn assert_hidden(what: &str, text: &str, secret: &str) {
    for f in encoded_forms(secret) {
        assert!(!text.contains(&f), "{what} contains the secret (as {f:?})");
    }
}
