//! A scripted server on 127.0.0.1, plain HTTP or HTTPS: every request is
//! recorded, then a [`Script`] chooses the reply from it and from how many
//! requests came before (fail twice then succeed, answer slowly, redirect…).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub use crate::http::Reply;
use crate::http::{Handler, Received, serve_connection};

/// Decides the reply from the request and how many requests came before it.
pub type Script = Arc<dyn Fn(&Received, usize) -> Reply + Send + Sync>;

/// Always answers `status` with an empty body.
pub fn always(status: u16) -> Script {
    Arc::new(move |_, _| Reply::status(status))
}

/// A running server; stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>` or `https://…`.
    pub url: String,
    pub reqs: Arc<Mutex<Vec<Received>>>,
    /// Connections whose TLS handshake failed (HTTPS only).
    pub tls_failures: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Received> {
        self.reqs.lock().expect("server lock").clone()
    }

    pub fn count(&self) -> usize {
        self.reqs.lock().expect("server lock").len()
    }

    /// Waits until at least `n` requests arrived (or panics after `max`).
    pub async fn wait_for(&self, n: usize, max: Duration) -> Vec<Received> {
        let end = Instant::now() + max;
        loop {
            if self.count() >= n {
                return self.requests();
            }
            assert!(Instant::now() < end, "only {} of {n} requests arrived within {max:?}", self.count());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stops accepting connections (the listener is closed on return).
    pub async fn stop(&mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

/// Starts a server on 127.0.0.1 (HTTPS when `tls` is given, e.g. from
/// `tls::server_tls`).
pub async fn serve(script: Script, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("a bound address");
    let scheme = if tls.is_some() { "https" } else { "http" };
    let reqs: Arc<Mutex<Vec<Received>>> = Arc::default();
    let tls_failures: Arc<AtomicUsize> = Arc::default();
    let log = reqs.clone();
    let handler: Handler = Arc::new(move |r: Received| {
        let index = {
            let mut g = log.lock().expect("server lock");
            g.push(r.clone());
            g.len() - 1
        };
        script(&r, index)
    });
    let failures = tls_failures.clone();
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let (handler, failures, acceptor) = (handler.clone(), failures.clone(), acceptor.clone());
            tokio::spawn(async move {
                match acceptor {
                    Some(a) => match a.accept(stream).await {
                        Ok(s) => serve_connection(TokioIo::new(s), handler).await,
                        Err(_) => {
                            failures.fetch_add(1, Ordering::SeqCst);
                        }
                    },
                    None => serve_connection(TokioIo::new(stream), handler).await,
                }
            });
        }
    });
    Server { addr, url: format!("{scheme}://127.0.0.1:{}", addr.port()), reqs, tls_failures, task }
}

/// A 127.0.0.1 URL with nothing listening (connection refused).
pub fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = l.local_addr().expect("a bound address").port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}
