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

mod metrics;
pub mod page;
pub mod view;

use crate::dispatch::DispatchStats;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
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

struct App {
    probes: Probes,
    registry: Registry,
    token: Option<Secret>,
}

/// A bound admin listener, not yet serving.
pub struct AdminServer {
    listener: tokio::net::TcpListener,
    token: Option<Secret>,
}

impl AdminServer {
    /// Checks the section and binds its address.
    pub async fn bind(section: &AdminSection) -> Result<AdminServer, AdminError> {
        let token = section.token()?;
        let listener = tokio::net::TcpListener::bind(section.listen)
            .await
            .map_err(|source| AdminError::Bind { addr: section.listen, source })?;
        Ok(AdminServer { listener, token })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until the task is dropped or aborted.
    pub async fn serve(self, probes: Probes) {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(probes.clone()));
        let app = Arc::new(App { probes, registry, token: self.token });
        let router = Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz))
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
        let given =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let ok = given.is_some_and(|g| {
            use subtle::ConstantTimeEq;
            bool::from(g.as_bytes().ct_eq(token.expose().as_bytes()))
        });
        if !ok {
            return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "bearer token required\n")
                .into_response();
        }
    }
    next.run(request).await
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
