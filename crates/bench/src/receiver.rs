//! The end-to-end bench's target: an HTTP/1.1 keep-alive server on
//! 127.0.0.1 that reads each request body and answers `200` at once.
//!
//! Unlike `wasmpush_testkit::Receiver` (which keeps every request for the
//! demo and the tests) it only keeps, per request, the `webhook-id` header
//! and the arrival time on the shared monotonic clock ([`crate::clock`]), so
//! it stays small and fast under 20k+ requests per second and the sender's
//! latency can be computed. It runs in its own process (`e2e receiver`), so
//! its CPU and memory are not counted against the process being measured.
//!
//! Control endpoints (not counted): `GET /__count` → number of requests;
//! `GET /__dump` → one `<webhook-id or -> <arrival ns> <body bytes>` line per
//! request; `POST /__reset` → forget everything.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::clock::now_ns;

#[derive(Default)]
struct Log {
    hits: Vec<(String, u64, usize)>,
}

async fn handle(log: Arc<Mutex<Log>>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let id = req.headers().get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(status(StatusCode::BAD_REQUEST, "")),
    };
    let arrived = now_ns();
    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
    Ok(match path.as_str() {
        "/__count" => status(StatusCode::OK, &log.hits.len().to_string()),
        "/__dump" => {
            let mut s = String::with_capacity(log.hits.len() * 48);
            for (id, t, n) in &log.hits {
                s.push_str(&format!("{id} {t} {n}\n"));
            }
            status(StatusCode::OK, &s)
        }
        "/__reset" => {
            log.hits.clear();
            status(StatusCode::OK, "")
        }
        _ => {
            log.hits.push((id, arrived, body.len()));
            status(StatusCode::OK, "")
        }
    })
}

fn status(code: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = code;
    r
}

/// Serves on `listener` until the runtime ends.
pub async fn serve(listener: TcpListener) {
    let log = Arc::new(Mutex::new(Log::default()));
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let log = log.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(log.clone(), req));
            let _ = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}

/// Binds 127.0.0.1 on a free port.
pub async fn bind() -> std::io::Result<(TcpListener, SocketAddr)> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    let a = l.local_addr()?;
    Ok((l, a))
}
