//! `relay` source: an HTTP endpoint that accepts the POSTs of Buildbot's own
//! `HttpStatusPush`, so an existing master can point at wasmpush without new
//! Buildbot code.
//!
//! ```toml
//! [[source]]
//! type = "relay"
//! listen = "127.0.0.1:8020"
//! max_body = "4MiB"                    # or a byte count; default 8MiB
//! auth = { type = "basic", user = "buildbot", password_env = "RELAY_PASSWORD" }
//! # auth = { type = "shared-secret", header = "X-Relay-Token", secret_env = "RELAY_TOKEN" }
//! # auth = { type = "none" }           # explicit: an open endpoint
//! ```
//!
//! On the Buildbot side: `HttpStatusPush(serverUrl="http://wasmpush:8020/buildbot",
//! auth=("buildbot", util.Secret("relay_password")))` (basic) or
//! `headers={"X-Relay-Token": "..."}` (shared secret; Buildbot does not
//! render headers, spec §a).
//!
//! Each POST becomes one [`SourceEvent`] sent into the host's channel; the
//! kind is inferred from the body ([`parse::parse_body`]), or forced by the
//! last path segment (`/buildbot/build-finished`) or the `X-Wasmpush-Event`
//! header. The answer is `200 queued <event id>` once the host has committed the
//! event to its durable inbox ([`crate::submit`]); a storage fault answers 503
//! and the master's copy is the only one, so nothing is acknowledged that a
//! crash could lose. Anything else gets a 4xx (or 503 when the host stops taking
//! events) with a one-line `text/plain` reason, nothing is enqueued, and the
//! server keeps serving. Checks, in order: method (405), credential (401),
//! Content-Type (415), size (413), JSON (400), shape (422).
//!
//! Driving it from a test: `RelayServer::bind(&config).await?` with
//! `listen = "127.0.0.1:0"`, read [`RelayServer::local_addr`], then
//! `tokio::spawn(server.serve(tx))`. The server stops when the receiving side
//! of `tx` is dropped.

pub mod parse;

use crate::secret::{Secret, SecretError, SecretSource};
use crate::submit::{EventSender, SubmitError, submit};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use parse::Rejection;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use wasmpush_model::auth::BasicAuth;

/// Default `max_body`: 8 MiB (a finished build with all log contents can be
/// large; Buildbot's default body is ~2-10 KB).
pub const DEFAULT_MAX_BODY: u64 = 8 * 1024 * 1024;

/// `[[source]] type = "relay"` (deserialize the table without its `type`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// Address to listen on, e.g. `127.0.0.1:8020` (port 0 = any free port).
    pub listen: SocketAddr,
    /// Required: how a POST proves it comes from the master.
    pub auth: RelayAuthConfig,
    /// Largest accepted body in bytes (`4194304` or `"4MiB"`); bigger → 413.
    #[serde(default = "default_max_body", deserialize_with = "wasmpush_model::size::deserialize")]
    pub max_body: u64,
    /// How long a POST is held until its event is committed before a 503
    /// (`"30s"`; old key `enqueue_timeout_secs`, a number of seconds).
    #[serde(
        rename = "enqueue_timeout",
        alias = "enqueue_timeout_secs",
        default = "default_enqueue_timeout",
        deserialize_with = "wasmpush_model::duration::secs"
    )]
    pub enqueue_timeout: Duration,
    /// Most connections served at once (default 256); more wait in the
    /// listen backlog. Bounds file descriptors and bodies in memory
    /// (`max_connections × max_body`).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Longest time a client may take to send a request's headers
    /// (`"10s"`): a slow client (slowloris) is cut, its slot freed.
    #[serde(default = "default_header_timeout", with = "humantime_serde")]
    pub header_timeout: Duration,
    /// Longest time a client may take to send a body (`"30s"`); then 408.
    #[serde(default = "default_body_timeout", with = "humantime_serde")]
    pub body_timeout: Duration,
    /// Most body bytes held in memory at once across all requests
    /// (`"64MiB"`, the default). A POST whose declared size does not fit
    /// waits for room (up to `body_timeout`), then gets a 503: many large
    /// bodies cannot exhaust memory even below `max_connections`.
    #[serde(default = "default_body_budget", deserialize_with = "wasmpush_model::size::deserialize")]
    pub body_budget: u64,
    /// Serve HTTPS: `tls = { cert = "relay.pem", key = "relay.key" }` (PEM
    /// files; the certificate file may hold the chain). Without it the
    /// relay speaks plain HTTP, fine on loopback; elsewhere a Basic
    /// credential would cross the network in clear (`wasmpush check` warns).
    #[serde(default)]
    pub tls: Option<RelayTls>,
    /// A name for the master posting here, used in report ids instead of
    /// the `buildbotURL` its payloads carry (set it when that URL is not
    /// unique, or to keep ids when the URL changes).
    #[serde(default)]
    pub instance: Option<String>,
}

/// The relay's TLS certificate and key (PEM files).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayTls {
    /// Certificate chain, leaf first.
    pub cert: std::path::PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: std::path::PathBuf,
}

impl RelayConfig {
    /// Remarks for `wasmpush check`: an open or clear-text relay reachable
    /// from other machines.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.listen.ip().is_loopback() {
            return w;
        }
        if matches!(self.auth, RelayAuthConfig::None) {
            w.push(format!(
                "relay on {} has `auth = {{ type = \"none\" }}`: anyone who can reach it can inject build events",
                self.listen
            ));
        }
        if self.tls.is_none() {
            w.push(format!(
                "relay on {} speaks plain HTTP to other machines: its credential crosses the network in clear; set `tls = {{ cert, key }}`",
                self.listen
            ));
        }
        w
    }
}

fn default_max_connections() -> usize {
    256
}
fn default_header_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_body_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_body_budget() -> u64 {
    64 << 20
}

fn default_max_body() -> u64 {
    DEFAULT_MAX_BODY
}
fn default_enqueue_timeout() -> Duration {
    Duration::from_secs(30)
}

/// How the relay authenticates POSTs.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RelayAuthConfig {
    /// No credential required (say so explicitly).
    None,
    /// HTTP Basic, what `HttpStatusPush(auth=(user, password))` sends.
    Basic(BasicAuth),
    /// A header whose value must equal the secret exactly, what
    /// `HttpStatusPush(headers={"X-Relay-Token": "..."})` sends.
    SharedSecret {
        /// Header name (default `X-Relay-Token`).
        #[serde(default = "default_secret_header")]
        header: String,
        #[serde(default)]
        secret: Option<String>,
        #[serde(default)]
        secret_env: Option<String>,
        #[serde(default)]
        secret_file: Option<std::path::PathBuf>,
    },
}

fn default_secret_header() -> String {
    "X-Relay-Token".into()
}

/// Why the relay could not start or stopped. Never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("relay: {0}")]
    Secret(#[from] SecretError),
    #[error("relay: auth.header: {0:?} is not a valid header name")]
    HeaderName(String),
    #[error("relay: cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("relay: tls.{field}: {message}")]
    Tls { field: &'static str, message: String },
}

/// A rustls server config from the relay's PEM files.
fn tls_acceptor(tls: &RelayTls) -> Result<tokio_rustls::TlsAcceptor, RelayError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |field, message: String| RelayError::Tls { field, message };
    let certs = CertificateDer::pem_file_iter(&tls.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad("cert", format!("{}: {e}", tls.cert.display())))?;
    if certs.is_empty() {
        return Err(bad("cert", format!("{}: no PEM certificate found", tls.cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| bad("key", format!("{}: {e}", tls.key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("cert", e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad("key", format!("does not match the certificate or is unusable: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

enum Auth {
    None,
    Basic { user: String, password: Secret },
    Header { name: header::HeaderName, secret: Secret },
}

impl Auth {
    fn resolve(cfg: &RelayAuthConfig) -> Result<Auth, RelayError> {
        Ok(match cfg {
            RelayAuthConfig::None => Auth::None,
            RelayAuthConfig::Basic(basic) => {
                Auth::Basic { user: basic.user.clone(), password: basic.password_source().require("auth.password")? }
            }
            RelayAuthConfig::SharedSecret { header, secret, secret_env, secret_file } => {
                let src = SecretSource { literal: secret.clone(), env: secret_env.clone(), file: secret_file.clone() };
                let name = header::HeaderName::from_bytes(header.as_bytes())
                    .map_err(|_| RelayError::HeaderName(header.clone()))?;
                Auth::Header { name, secret: src.require("auth.secret")? }
            }
        })
    }

    /// `Ok` if the request carries the right credential.
    fn check(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        let eq = |a: &[u8], b: &[u8]| bool::from(a.ct_eq(b));
        match self {
            Auth::None => Ok(()),
            Auth::Basic { user, password } => {
                let Some(value) = headers.get(header::AUTHORIZATION) else {
                    return Err(Rejection::new(401, "missing credential (HTTP Basic expected)"));
                };
                let decoded = value
                    .to_str()
                    .ok()
                    .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
                    .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok())
                    .ok_or_else(|| Rejection::new(401, "malformed Authorization header (HTTP Basic expected)"))?;
                let (u, p) = match decoded.iter().position(|b| *b == b':') {
                    Some(i) => (&decoded[..i], &decoded[i + 1..]),
                    None => (&decoded[..], &b""[..]),
                };
                // Evaluate both comparisons: no early exit on the user name.
                let ok = eq(u, user.as_bytes()) & eq(p, password.expose().as_bytes());
                if ok { Ok(()) } else { Err(Rejection::new(401, "wrong credential")) }
            }
            Auth::Header { name, secret } => match headers.get(name) {
                None => Err(Rejection::new(401, format!("missing credential (header {name})"))),
                Some(v) if eq(v.as_bytes(), secret.expose().as_bytes()) => Ok(()),
                Some(_) => Err(Rejection::new(401, "wrong credential")),
            },
        }
    }
}

/// What the relay answered, counted (for logs, metrics and tests). A 503
/// means the master's copy is the only one: Buildbot drops it unless it is
/// re-sent, so every one is counted.
#[derive(Debug, Default)]
pub struct RelayCounters {
    /// POSTs answered 200 (committed to the inbox).
    pub accepted: AtomicU64,
    /// POSTs answered 503 (not stored: storage fault, shutdown or timeout).
    pub unavailable: AtomicU64,
    /// POSTs answered another 4xx (bad input, credential, size).
    pub refused: AtomicU64,
    /// Request bodies held in memory now, in KiB of `body_budget`.
    pub body_kib_held: AtomicU64,
}

/// One request's share of `body_budget`, counted in
/// [`RelayCounters::body_kib_held`] while it is held.
struct Room<'a> {
    _permit: tokio::sync::SemaphorePermit<'a>,
    kib: u64,
    counters: &'a RelayCounters,
}

impl Drop for Room<'_> {
    fn drop(&mut self) {
        self.counters.body_kib_held.fetch_sub(self.kib, Ordering::Relaxed);
    }
}

struct Shared {
    /// `body_budget` in KiB permits.
    bodies: Arc<tokio::sync::Semaphore>,
    bodies_capacity: usize,
    instance: Option<String>,
    counters: Arc<RelayCounters>,
    auth: Auth,
    max_body: u64,
    enqueue_timeout: Duration,
    body_timeout: Duration,
    tx: EventSender,
}

/// A bound relay endpoint, not yet serving.
pub struct RelayServer {
    body_budget: u64,
    instance: Option<String>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    counters: Arc<RelayCounters>,
    listener: TcpListener,
    auth: Auth,
    max_body: u64,
    enqueue_timeout: Duration,
    max_connections: usize,
    header_timeout: Duration,
    body_timeout: Duration,
}

impl RelayServer {
    /// Reads the credential and binds the listening socket.
    pub async fn bind(config: &RelayConfig) -> Result<RelayServer, RelayError> {
        let auth = Auth::resolve(&config.auth)?;
        let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| RelayError::Bind { addr: config.listen, source })?;
        Ok(RelayServer {
            body_budget: config.body_budget,
            instance: config.instance.clone(),
            tls,
            counters: Arc::default(),
            listener,
            auth,
            max_body: config.max_body,
            enqueue_timeout: config.enqueue_timeout,
            max_connections: config.max_connections.max(1),
            header_timeout: config.header_timeout,
            body_timeout: config.body_timeout,
        })
    }

    /// Counts this server's answers into `counters` (shared with other
    /// relays or read by the host).
    pub fn counting_into(mut self, counters: Arc<RelayCounters>) -> RelayServer {
        self.counters = counters;
        self
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound TCP listener has a local address")
    }

    /// Serves until the receiver of `tx` is dropped (then stops accepting;
    /// requests in flight finish on their own). At most `max_connections`
    /// connections are served at once; a client that has not sent its
    /// headers within `header_timeout` is disconnected.
    pub async fn serve(self, tx: EventSender) -> Result<(), RelayError> {
        let addr = self.local_addr();
        let closed = tx.clone();
        let kib = usize::try_from(self.body_budget.div_ceil(1024))
            .unwrap_or(usize::MAX)
            .clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        let shared = Arc::new(Shared {
            bodies: Arc::new(tokio::sync::Semaphore::new(kib)),
            bodies_capacity: kib,
            instance: self.instance,
            counters: self.counters,
            auth: self.auth,
            max_body: self.max_body,
            enqueue_timeout: self.enqueue_timeout,
            body_timeout: self.body_timeout,
            tx,
        });
        let app = Router::new().fallback(handle).layer(DefaultBodyLimit::disable()).with_state(shared);
        let slots = Arc::new(tokio::sync::Semaphore::new(self.max_connections));
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(self.header_timeout);
        tracing::info!(%addr, "relay listening for Buildbot HttpStatusPush POSTs");
        loop {
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                () = closed.closed() => return Ok(()),
            };
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors, or the peer left: go on.
                        tracing::warn!(%addr, "relay: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = closed.closed() => return Ok(()),
            };
            let service =
                hyper_util::service::TowerToHyperService::new(app.clone().layer(axum::Extension(ConnectInfo(peer))));
            let (http, tls, handshake_timeout) = (http.clone(), self.tls.clone(), self.header_timeout);
            tokio::spawn(async move {
                let _slot = slot;
                let ended = match tls {
                    None => http.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await,
                    // The handshake counts against the header timeout: a
                    // client that stalls in it is cut like a slow one.
                    Some(tls) => match tokio::time::timeout(handshake_timeout, tls.accept(stream)).await {
                        Ok(Ok(stream)) => http.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await,
                        Ok(Err(e)) => return tracing::debug!(%peer, "relay: TLS handshake failed: {e}"),
                        Err(_) => return tracing::debug!(%peer, "relay: TLS handshake timed out"),
                    },
                };
                if let Err(e) = ended {
                    tracing::debug!(%peer, "relay: connection ended: {e}");
                }
            });
        }
    }
}

/// Binds and serves `config` until the receiver of `tx` is dropped.
pub async fn run(config: RelayConfig, tx: EventSender) -> Result<(), RelayError> {
    RelayServer::bind(&config).await?.serve(tx).await
}

async fn handle(
    State(s): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match accept(&s, method, &uri, &headers, body).await {
        Ok(id) => {
            s.counters.accepted.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%peer, path = uri.path(), event = %id, "relay: event queued");
            (StatusCode::OK, format!("queued {id}\n")).into_response()
        }
        Err(r) => {
            tracing::warn!(%peer, path = uri.path(), status = r.status, reason = %r.reason, "relay: POST refused");
            let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
            let mut resp = (status, format!("{}\n", r.reason)).into_response();
            if r.status == 401 {
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"wasmpush\""));
            }
            if r.status == 405 {
                resp.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("POST"));
            }
            if r.status == 503 {
                s.counters.unavailable.fetch_add(1, Ordering::Relaxed);
                resp.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
            } else {
                s.counters.refused.fetch_add(1, Ordering::Relaxed);
            }
            resp
        }
    }
}

async fn accept(s: &Shared, method: Method, uri: &Uri, headers: &HeaderMap, body: Body) -> Result<String, Rejection> {
    if method != Method::POST {
        return Err(Rejection::new(405, format!("method {method} not allowed (POST only)")));
    }
    s.auth.check(headers)?;
    let ct = headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("(not text)"));
    parse::check_content_type(ct)?;
    let too_big = || Rejection::new(413, format!("body over the configured limit of {} bytes", s.max_body));
    if let Some(len) = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        && len > s.max_body
    {
        return Err(too_big());
    }
    // Room for the body in the memory budget (the declared size, or the
    // largest allowed when none is declared), held until the event is
    // handed over.
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let kib = u32::try_from(declared.unwrap_or(s.max_body).div_ceil(1024).max(1)).unwrap_or(u32::MAX);
    let kib = kib.min(u32::try_from(s.bodies_capacity).unwrap_or(u32::MAX));
    let permit = tokio::time::timeout(s.body_timeout, s.bodies.acquire_many(kib))
        .await
        .map_err(|_| Rejection::new(503, "too many request bodies in memory (body_budget); retry later"))?
        .expect("the semaphore is never closed");
    s.counters.body_kib_held.fetch_add(u64::from(kib), Ordering::Relaxed);
    let _room = Room { _permit: permit, kib: u64::from(kib), counters: &s.counters };
    let limit = usize::try_from(s.max_body).unwrap_or(usize::MAX);
    let read = tokio::time::timeout(s.body_timeout, axum::body::to_bytes(body, limit));
    let bytes =
        read.await
            .map_err(|_| Rejection::new(408, format!("body not received within {:?}", s.body_timeout)))?
            .map_err(|e| {
                if is_length_limit(&e) { too_big() } else { Rejection::new(400, format!("cannot read body: {e}")) }
            })?;
    let event_header = headers.get(parse::EVENT_HEADER).map(|v| v.to_str().unwrap_or("(not text)"));
    let forced = parse::kind_override(uri.path(), event_header)?;
    let event = parse::parse_body(&bytes, forced)?.with_instance(s.instance.clone());
    let id = event.event_id();
    // Held (bounded by `enqueue_timeout`) until the event is committed:
    // Buildbot drops a report on any non-2xx, so waiting beats refusing.
    match tokio::time::timeout(s.enqueue_timeout, submit(&s.tx, event)).await {
        Ok(Ok(())) => Ok(id),
        Ok(Err(SubmitError::Closed)) => Err(Rejection::new(503, "not accepting events (wasmpush is shutting down)")),
        Ok(Err(e @ SubmitError::Refused(_))) => Err(Rejection::new(503, e.to_string())),
        Err(_) => Err(Rejection::new(503, "event not stored within enqueue_timeout; retry later")),
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_from_toml_like_values() {
        let cfg: RelayConfig = serde_json::from_value(serde_json::json!({
            "listen": "127.0.0.1:0", "max_body": "4MiB",
            "auth": {"type": "shared-secret", "secret": "t0k"}
        }))
        .unwrap();
        assert_eq!(cfg.max_body, 4 * 1024 * 1024);
        assert!(matches!(&cfg.auth, RelayAuthConfig::SharedSecret { header, .. } if header == "X-Relay-Token"));
        let err = serde_json::from_value::<RelayConfig>(serde_json::json!({
            "listen": "127.0.0.1:0", "max_body": "4 parsecs", "auth": {"type": "none"}
        }))
        .unwrap_err();
        assert!(err.to_string().contains("4 parsecs"), "{err}");
        assert!(serde_json::from_value::<RelayConfig>(serde_json::json!({"listen": "127.0.0.1:0"})).is_err());
    }
}
