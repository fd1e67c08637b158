//! Stand-in HTTP servers on 127.0.0.1 for the send-time features: a token
//! endpoint and a target, each a hyper server answering from a closure that
//! sees the method too (`common::serve` records no method), and a tracing
//! capture so tests can read every log line the delivery crate wrote.
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

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
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

pub async fn start(handler: Handler) -> StandIn {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let seen2 = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let (seen, handler) = (seen2.clone(), handler.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (seen, handler) = (seen.clone(), handler.clone());
                    async move {
                        let method = req.method().as_str().to_owned();
                        let target = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
                        let headers = req
                            .headers()
                            .iter()
                            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                            .collect();
                        let body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
                        let s = Seen { method, target, headers, body };
                        seen.lock().unwrap().push(s.clone());
                        let a = handler(&s);
                        let mut resp = hyper::Response::builder().status(a.status);
                        for (n, v) in &a.headers {
                            resp = resp.header(*n, v);
                        }
                        Ok::<_, std::convert::Infallible>(resp.body(Full::new(Bytes::from(a.body))).unwrap())
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    });
    StandIn { url: format!("http://127.0.0.1:{port}"), seen, task }
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
