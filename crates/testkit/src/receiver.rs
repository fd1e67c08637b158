//! A small HTTP receiver on 127.0.0.1 that records every request: the
//! demo's target, and a real server for tests.
//!
//! It answers 200 at once (or a status chosen per request by
//! [`Receiver::respond_with`]) and keeps method, path, headers and body of
//! everything it accepted, in arrival order.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hyper_util::rt::TokioIo;
use tokio::sync::Notify;

use crate::http::{Handler, Received, Reply, serve_connection};

type Responder = Arc<dyn Fn(&Received) -> (u16, String) + Send + Sync>;

#[derive(Clone, Default)]
struct Shared {
    log: Arc<Mutex<Vec<Received>>>,
    notify: Arc<Notify>,
    respond: Arc<Mutex<Option<Responder>>>,
}

/// A running receiver. Dropping it does not stop the server task; it ends
/// with the runtime.
pub struct Receiver {
    addr: SocketAddr,
    shared: Shared,
}

impl Receiver {
    /// Starts listening on 127.0.0.1 with an OS-chosen port.
    pub async fn start() -> std::io::Result<Receiver> {
        Receiver::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts listening on `addr`.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Receiver> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Shared::default();
        let state = shared.clone();
        let handler: Handler = Arc::new(move |received: Received| {
            let responder = state.respond.lock().expect("receiver lock").clone();
            let (status, body) = responder.map(|f| f(&received)).unwrap_or((200, String::new()));
            if (200..300).contains(&status) {
                state.log.lock().expect("receiver lock").push(received);
                state.notify.notify_waiters();
            }
            Reply::with_body(status, body)
        });
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                tokio::spawn(serve_connection(TokioIo::new(stream), handler.clone()));
            }
        });
        Ok(Receiver { addr, shared })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Chooses the status for each request; only 2xx requests are recorded.
    pub fn respond_with(&self, f: impl Fn(&Received) -> u16 + Send + Sync + 'static) {
        *self.shared.respond.lock().expect("receiver lock") = Some(Arc::new(move |r| (f(r), String::new())));
    }

    /// Chooses the status and the response body for each request (e.g. a
    /// JSON object like a forge's answer); only 2xx requests are recorded.
    pub fn respond_with_body(&self, f: impl Fn(&Received) -> (u16, String) + Send + Sync + 'static) {
        *self.shared.respond.lock().expect("receiver lock") = Some(Arc::new(f));
    }

    /// Everything accepted so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.log.lock().expect("receiver lock").clone()
    }

    /// Waits until at least `n` requests were accepted or `timeout` passes;
    /// returns how many there are.
    pub async fn wait_for(&self, n: usize, timeout: std::time::Duration) -> usize {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.notify.notified();
            let count = self.shared.log.lock().expect("receiver lock").len();
            if count >= n || tokio::time::Instant::now() >= deadline {
                return count;
            }
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }
}
