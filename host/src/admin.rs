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

use crate::dispatch::DispatchStats;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
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
    fn is_ready(&self) -> Result<(), String> {
        if let Some(reason) = self.delivery.storage_fault() {
            return Err(format!("outbox storage failed: {reason}"));
        }
        if !self.ready.load(Ordering::Relaxed) {
            return Err("starting: sources are not running yet".into());
        }
        Ok(())
    }
}

impl Collector for Probes {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let d = &self.dispatch;
        let out = self.delivery.stats();
        let counters: [(&str, &str, u64); 11] = [
            ("events", "Events taken from the sources and generated", l(&d.events)),
            ("reports_generated", "Reports produced by generators", l(&d.reports)),
            ("generator_failures", "Generator calls that failed (time, memory, trap, error)", l(&d.generator_failures)),
            ("reports_refused", "Reports refused by the request policy (never sent)", l(&d.refused)),
            ("enqueue_failures", "Reports that could not be stored in the outbox", l(&d.enqueue_failures)),
            ("reports_enqueued", "Reports stored in the outbox", out.enqueued),
            ("reports_duplicate", "Reports already in the outbox (same webhook-id)", out.duplicates),
            ("deliveries", "Reports delivered (2xx)", out.sent),
            ("delivery_retries", "Failed attempts scheduled for a retry", out.retried),
            ("dead_letters", "Reports moved to the dead-letter list", out.dead),
            (
                "relay_unavailable",
                "Relay POSTs answered 503 (not stored; Buildbot drops them)",
                l(&self.relay.unavailable),
            ),
        ];
        for (name, help, value) in counters {
            emit(&mut encoder, name, help, ConstCounter::new(value))?;
        }
        emit(
            &mut encoder,
            "relay_accepted",
            "Relay POSTs answered 200 (stored)",
            ConstCounter::new(l(&self.relay.accepted)),
        )?;
        emit(
            &mut encoder,
            "relay_refused",
            "Relay POSTs refused with a 4xx",
            ConstCounter::new(l(&self.relay.refused)),
        )?;
        emit(&mut encoder, "outbox_pending", "Reports waiting in the outbox", ConstGauge::new(out.pending as i64))?;
        let held = l(&self.relay.body_kib_held) as i64;
        emit(
            &mut encoder,
            "relay_body_kib_in_memory",
            "Relay request bodies held in memory (KiB of body_budget)",
            ConstGauge::new(held),
        )?;
        let ready = i64::from(self.is_ready().is_ok());
        emit(&mut encoder, "ready", "1 when sources run and the outbox is writable", ConstGauge::new(ready))?;

        let targets = self.delivery.target_stats();
        type Read<T> = fn(&T) -> u64;
        let per_target: [(&str, &str, Read<wasmpush_delivery::TargetStats>); 3] = [
            ("reporter_deliveries", "Reports delivered (2xx), by reporter", |t| t.sent),
            ("reporter_retries", "Failed attempts scheduled for a retry, by reporter", |t| t.retried),
            ("reporter_dead_letters", "Reports moved to the dead-letter list, by reporter", |t| t.dead),
        ];
        for (name, help, value) in per_target {
            let rows = targets.iter().map(|t| (vec![("reporter", t.reporter.clone())], value(t)));
            family(&mut encoder, name, help, rows)?;
        }
        let classes = ["2xx", "3xx", "4xx", "5xx", "none"];
        let rows = targets.iter().flat_map(|t| {
            classes
                .iter()
                .zip(t.attempts_by_class)
                .map(|(class, n)| (vec![("reporter", t.reporter.clone()), ("status", class.to_string())], n))
        });
        family(
            &mut encoder,
            "reporter_attempts",
            "Delivery attempts by reporter and status class (none: no response)",
            rows,
        )?;
        let rows = targets.iter().map(|t| (vec![("reporter", t.reporter.clone())], t.latency_ms_sum));
        family(
            &mut encoder,
            "reporter_delivery_milliseconds",
            "Sum over delivered reports of enqueue-to-2xx time, in ms (divide by deliveries for the mean)",
            rows,
        )?;

        let pipeline = self.pipeline.load();
        let generators: Vec<(Vec<(&str, String)>, crate::runtime::CallStats)> = pipeline
            .reporters
            .iter()
            .flat_map(|r| {
                r.slots.iter().map(|s| {
                    let labels = vec![("reporter", r.name.clone()), ("generator", s.generator.name().to_string())];
                    (labels, s.generator.call_stats())
                })
            })
            .collect();
        let per_generator: [(&str, &str, Read<crate::runtime::CallStats>); 3] = [
            ("generator_calls", "generate calls, by reporter and generator", |c| c.calls),
            ("generator_call_failures", "generate calls that failed, by reporter and generator", |c| c.failures),
            ("generator_microseconds", "Time in generate (instantiation included), in µs", |c| c.micros),
        ];
        for (name, help, value) in per_generator {
            let rows = generators.iter().map(|(labels, c)| (labels.clone(), value(c)));
            family(&mut encoder, name, help, rows)?;
        }
        Ok(())
    }
}

/// Writes `wasmpush_<name>` with its help text and value.
fn emit(encoder: &mut DescriptorEncoder, name: &str, help: &str, metric: impl EncodeMetric) -> std::fmt::Result {
    metric.encode(encoder.encode_descriptor(&format!("wasmpush_{name}"), help, None, metric.metric_type())?)
}

/// Writes the counter family `wasmpush_<name>`, one row per label set.
fn family<'a>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl Iterator<Item = (Vec<(&'a str, String)>, u64)>,
) -> std::fmt::Result {
    let name = format!("wasmpush_{name}");
    let mut metric = encoder.encode_descriptor(&name, help, None, MetricType::Counter)?;
    for (labels, value) in rows {
        ConstCounter::new(value).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
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
