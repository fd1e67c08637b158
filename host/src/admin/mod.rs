//! The admin listener (`[admin] listen = "127.0.0.1:9464"`): what an
//! operator or a monitoring system asks a running wasmpush.
//!
//! - `GET /metrics`: Prometheus text format (prometheus-client), read from
//!   the counters the data path keeps anyway, at scrape time.
//! - `GET /healthz`: the process answers (200).
//! - `GET /readyz`: 200 once the outbox is open, the generators are loaded
//!   and every source runs, while the outbox is writable; 503 otherwise
//!   (the same moment systemd gets `READY=1`).
//!
//! Off unless configured. With `token_env` / `token_file`, every request
//! needs `Authorization: Bearer <token>`. A non-loopback address without a
//! token is refused at start unless `allow_unauthenticated = true` says it
//! is intended (metrics reveal builder activity).

mod api;
mod metrics;
pub mod page;
pub mod view;

use crate::dispatch::DispatchStats;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use prometheus_client::registry::Registry;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmpush_delivery::Delivery;
use wasmpush_model::secret::{Secret, SecretSource};
use wasmpush_sources::relay::RelayCounters;

/// `[admin]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    /// Address of the admin listener.
    pub listen: SocketAddr,
    /// Env var holding the bearer token every request must carry.
    #[serde(default)]
    pub token_env: Option<String>,
    /// File holding the bearer token.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Serve a non-loopback address without a token (say so explicitly).
    #[serde(default)]
    pub allow_unauthenticated: bool,
    /// Host names (besides IP addresses and `localhost`) the page and the
    /// API answer to, e.g. `["wasmpush.internal"]`. Any other `Host` is
    /// refused, so a DNS-rebound name cannot reach them.
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// Why the admin listener cannot start.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(
        "admin: {0} is not a loopback address and no token is set: set `token_env` or `token_file`, or `allow_unauthenticated = true`"
    )]
    Unprotected(SocketAddr),
    #[error("admin: {0}")]
    Token(#[from] wasmpush_model::secret::SecretError),
    #[error("admin: cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

impl AdminSection {
    /// Reads the token and checks the address may be served as configured.
    pub fn token(&self) -> Result<Option<Secret>, AdminError> {
        let token = SecretSource { literal: None, env: self.token_env.clone(), file: self.token_file.clone() }
            .read("admin.token")?;
        if token.is_none() && !self.listen.ip().is_loopback() && !self.allow_unauthenticated {
            return Err(AdminError::Unprotected(self.listen));
        }
        Ok(token)
    }
}

/// What the admin listener reads: the live counters of a run.
#[derive(Clone)]
pub struct Probes {
    pub dispatch: Arc<DispatchStats>,
    pub delivery: Arc<Delivery>,
    pub relay: Arc<RelayCounters>,
    /// Events by kind of source (`service::SOURCE_KINDS`).
    pub source_events: Arc<[AtomicU64; wasmpush_sources::KINDS.len()]>,
    /// The live generators (their call counters; a reload swaps them).
    pub pipeline: Arc<arc_swap::ArcSwap<crate::pipeline::Pipeline>>,
    /// Set once every source runs (see [`crate::notify::ready`]).
    pub ready: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for Probes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Probes")
    }
}

impl Probes {
    /// Ready: sources run and the outbox accepts writes.
    pub(crate) fn is_ready(&self) -> Result<(), String> {
        if let Some(reason) = self.delivery.storage_fault() {
            return Err(format!("outbox storage failed: {reason}"));
        }
        if !self.ready.load(Ordering::Relaxed) {
            return Err("starting: sources are not running yet".into());
        }
        Ok(())
    }
}

/// What every handler shares.
pub struct App {
    probes: Probes,
    registry: Registry,
    token: Option<Secret>,
    /// `[admin] hosts`.
    hosts: Vec<String>,
}

/// A bound admin listener, not yet serving.
pub struct AdminServer {
    listener: tokio::net::TcpListener,
    token: Option<Secret>,
    hosts: Vec<String>,
}

impl AdminServer {
    /// Binds the section's address; `token` is what [`AdminSection::token`]
    /// read (once, at start).
    pub async fn bind(section: &AdminSection, token: Option<Secret>) -> Result<AdminServer, AdminError> {
        let listener = tokio::net::TcpListener::bind(section.listen)
            .await
            .map_err(|source| AdminError::Bind { addr: section.listen, source })?;
        Ok(AdminServer { listener, token, hosts: section.hosts.clone() })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until the task is dropped or aborted.
    pub async fn serve(self, probes: Probes) {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(probes.clone()));
        let app = Arc::new(App { probes, registry, token: self.token, hosts: self.hosts });
        // The page and the API are for a browser: guarded against other
        // sites (see `api::same_origin`). Scrapers and probes are not.
        let operator = Router::new()
            .route("/", get(index))
            .route(
                "/status.js",
                get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], page::SCRIPT) }),
            )
            .route("/status.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], page::STYLE) }))
            .route("/api/status", get(api::status))
            .route("/api/outbox", get(api::list))
            .route("/api/outbox/{id}", get(api::show))
            .route("/api/outbox/retry", post(api::retry))
            .route("/api/outbox/drop", post(api::drop))
            .route_layer(axum::middleware::from_fn_with_state(app.clone(), api::same_origin));
        let router = Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz))
            .merge(operator)
            .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
            .route_layer(axum::middleware::from_fn_with_state(app.clone(), authorize))
            .with_state(app);
        if let Err(e) = axum::serve(self.listener, router).await {
            tracing::error!("admin listener stopped: {e}");
        }
    }
}

async fn authorize(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(token) = &app.token {
        let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(presented_token);
        let ok = given.is_some_and(|g| {
            use subtle::ConstantTimeEq;
            bool::from(g.as_bytes().ct_eq(token.expose().as_bytes()))
        });
        if !ok {
            // Basic lets a browser ask the operator for the token (any user name).
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic realm=\"wasmpush admin\", charset=\"UTF-8\"")],
                "the admin token is required: `Authorization: Bearer <token>`, or Basic with the token as password\n",
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// Served with the page: scripts and styles only from this listener, no
/// framing, forms only back here.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                        connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `GET /`: the status page.
async fn index(State(app): State<Arc<App>>) -> Response {
    let html = tokio::task::spawn_blocking(move || page::render(&api::gather(&app))).await;
    match html {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
                (header::CACHE_CONTROL, "no-store"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            html,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot render the page: {e}\n")).into_response(),
    }
}

/// The token in `Bearer <token>`, or the password of `Basic base64(user:token)`.
fn presented_token(authorization: &str) -> Option<String> {
    if let Some(t) = authorization.strip_prefix("Bearer ") {
        return Some(t.to_string());
    }
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD.decode(authorization.strip_prefix("Basic ")?).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':')?.1.to_string())
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &app.registry) {
        Ok(()) => ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot encode metrics: {e}\n")).into_response(),
    }
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    match app.probes.is_ready() {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")).into_response(),
    }
}
