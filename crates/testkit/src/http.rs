//! Reading a request and writing its answer: the one HTTP/1.1 connection
//! handler both servers use.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::StatusCode;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers in arrival order, names lower-case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the whole body had arrived.
    pub at: Instant,
}

impl Received {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The `webhook-id` header, or "" without one.
    pub fn id(&self) -> String {
        self.header("webhook-id").unwrap_or_default().to_owned()
    }
}

/// What a server answers.
#[derive(Clone, Debug)]
pub struct Reply {
    /// An invalid code (outside 100..=999) is answered as 500.
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Waited before answering (a slow endpoint).
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply { status, headers: vec![], body: Vec::new(), delay: Duration::ZERO }
    }
    pub fn ok() -> Self {
        Reply::status(200)
    }
    /// `status` with `body`.
    pub fn with_body(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Reply { body: body.into(), ..Reply::status(status) }
    }
}

/// Decides the answer to one request (and records it, as the server wants).
pub(crate) type Handler = Arc<dyn Fn(Received) -> Reply + Send + Sync>;

/// Serves HTTP/1.1 (keep-alive) on `io` until the client closes it.
pub(crate) async fn serve_connection<I>(io: I, handler: Handler)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = service_fn(move |req: hyper::Request<Incoming>| {
        let handler = handler.clone();
        async move {
            let method = req.method().to_string();
            let path = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
            let headers = req
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            let body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
            let reply = handler(Received { method, path, headers, body, at: Instant::now() });
            if !reply.delay.is_zero() {
                tokio::time::sleep(reply.delay).await;
            }
            let mut resp = hyper::Response::builder()
                .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
            for (n, v) in &reply.headers {
                resp = resp.header(n, v);
            }
            Ok::<_, std::convert::Infallible>(
                resp.body(Full::new(Bytes::from(reply.body))).expect("a valid status and headers"),
            )
        }
    });
    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, svc).await;
}
