//! The outbox API and the status page's data, for an operator's browser or
//! script:
//!
//! - `GET /api/status`: [`StatusView`] as JSON (what the page at `/` shows).
//! - `GET /api/outbox?state=pending|dead&reporter=NAME`: entries, FIFO order.
//! - `GET /api/outbox/{id}`: one report with its body, as stored (the host
//!   adds credentials only at send time, so no secret is in it).
//! - `POST /api/outbox/retry`, `POST /api/outbox/drop`: JSON `{"id": …}` or
//!   `{"dead": true}`, answered `{"changed": N}`; or an HTML form (`id=…` or
//!   `dead=1`), answered `303 See Other` back to `/`. Only dead reports are
//!   retried or dropped: a pending one is the workers' business.
//!
//! A browser page must not be able to act here on the operator's behalf:
//! [`same_origin`] refuses a request whose `Host` is a name the listener was
//! not told about (DNS rebinding) and a change whose `Origin` is another
//! site (cross-site forms and scripts).

use super::App;
use super::view::{DeliveryView, EntryView, GeneratorView, MAX_ROWS, ReporterView, StatusView};
use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmpush_delivery::{EntryState, Selector};

/// Fills a [`StatusView`] from the live service and the outbox.
pub fn gather(app: &App) -> StatusView {
    let probes = &app.probes;
    let entries = probes.delivery.entries().unwrap_or_else(|e| {
        tracing::warn!("status page: cannot read the outbox: {e}");
        Vec::new()
    });
    let mut reporters: BTreeMap<String, ReporterView> = BTreeMap::new();
    for t in probes.delivery.target_stats() {
        reporters.insert(
            t.reporter.clone(),
            ReporterView {
                name: t.reporter,
                delivered: t.sent,
                retries: t.retried,
                last_error: t.last_error,
                ..ReporterView::default()
            },
        );
    }
    for e in &entries {
        let row = reporters
            .entry(e.target.clone())
            .or_insert_with(|| ReporterView { name: e.target.clone(), ..ReporterView::default() });
        match e.state {
            EntryState::Pending => row.pending += 1,
            EntryState::Dead => row.dead += 1,
            EntryState::Superseded => row.superseded += 1,
        }
    }
    let recent = probes
        .delivery
        .recent()
        .into_iter()
        .map(|a| DeliveryView {
            at_ms: unix_ms(a.at),
            reporter: a.reporter,
            id: a.id,
            ordering_key: a.ordering_key,
            generator: a.generator,
            status: a.status,
            latency_ms: u64::try_from(a.latency.as_millis()).unwrap_or(u64::MAX),
            outcome: a.outcome.as_str().to_string(),
        })
        .collect();
    let pipeline = probes.pipeline.load();
    let generators = pipeline
        .reporters
        .iter()
        .flat_map(|r| {
            r.slots.iter().map(|s| {
                let c = s.generator.call_stats();
                GeneratorView {
                    reporter: r.name.clone(),
                    generator: s.generator.name().to_string(),
                    calls: c.calls,
                    failures: c.failures,
                    mean_micros: c.micros.checked_div(c.calls).unwrap_or(0),
                    last_error: c.last_error,
                }
            })
        })
        .collect();
    StatusView {
        version: env!("CARGO_PKG_VERSION").to_string(),
        not_ready: probes.is_ready().err(),
        reporters: reporters.into_values().collect(),
        recent,
        generators,
        dead: entries.iter().filter(|e| e.state == EntryState::Dead).take(MAX_ROWS).map(EntryView::from).collect(),
    }
}

fn unix_ms(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Runs `f` (an outbox read: a redb read transaction, file I/O) on the
/// blocking pool, off the listener's async threads.
async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> T + Send + 'static,
) -> Result<T, Response> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || f(&app))
        .await
        .map_err(|e| refuse(StatusCode::INTERNAL_SERVER_ERROR, &format!("outbox read: {e}")))
}

pub(super) async fn status(State(app): State<Arc<App>>) -> Response {
    match blocking(&app, gather).await {
        Ok(view) => Json(view).into_response(),
        Err(r) => r,
    }
}

/// `GET /api/outbox` filters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    state: Option<String>,
    reporter: Option<String>,
}

pub(super) async fn list(State(app): State<Arc<App>>, Query(q): Query<ListQuery>) -> Response {
    let state = match q.state.as_deref() {
        None => None,
        Some("pending") => Some(EntryState::Pending),
        Some("dead") => Some(EntryState::Dead),
        Some("superseded") => Some(EntryState::Superseded),
        Some(other) => {
            return refuse(StatusCode::BAD_REQUEST, &format!("state: `{other}` is not pending, dead or superseded"));
        }
    };
    let entries = match blocking(&app, |app| app.probes.delivery.entries()).await {
        Ok(entries) => entries,
        Err(r) => return r,
    };
    match entries {
        Ok(entries) => {
            let entries: Vec<EntryView> = entries
                .iter()
                .filter(|e| state.is_none_or(|s| e.state == s))
                .filter(|e| q.reporter.as_ref().is_none_or(|r| &e.target == r))
                .map(EntryView::from)
                .collect();
            Json(serde_json::json!({ "entries": entries })).into_response()
        }
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, &format!("cannot read the outbox: {e}")),
    }
}

pub(super) async fn show(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let (found, id) = match blocking(&app, move |app| (app.probes.delivery.show(&id), id)).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    match found {
        Ok(found) if found.is_empty() => refuse(StatusCode::NOT_FOUND, &format!("no report `{id}` in the outbox")),
        Ok(found) => {
            let reports: Vec<serde_json::Value> = found
                .into_iter()
                .map(|d| {
                    let (body, encoding) = match String::from_utf8(d.body) {
                        Ok(text) => (text, "utf-8"),
                        Err(e) => {
                            use base64::Engine;
                            (base64::engine::general_purpose::STANDARD.encode(e.into_bytes()), "base64")
                        }
                    };
                    serde_json::json!({
                        "entry": EntryView::from(&d.entry),
                        "content_type": d.content_type,
                        "headers": d.headers,
                        "path": d.path,
                        "body": body,
                        "body_encoding": encoding,
                    })
                })
                .collect();
            Json(serde_json::json!({ "reports": reports })).into_response()
        }
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, &format!("cannot read the outbox: {e}")),
    }
}

/// Which dead reports a retry or drop applies to.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Target {
    #[serde(default)]
    id: Option<String>,
    /// `true` in JSON; `1` / `true` / `on` in a form.
    #[serde(default)]
    dead: Option<String>,
}

/// A change's selector and whether it came from an HTML form (answered
/// with a redirect to the page) rather than JSON (answered with JSON).
fn asked(headers: &HeaderMap, body: &[u8]) -> Result<(Selector, bool), (StatusCode, String)> {
    let ctype = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let (target, form) = if ctype.starts_with("application/json") {
        let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| bad(format!("body: {e}")))?;
        let id = v.get("id").and_then(|i| i.as_str()).map(str::to_string);
        let dead = v.get("dead").and_then(|d| d.as_bool()).map(|d| d.to_string());
        (Target { id, dead }, false)
    } else if ctype.starts_with("application/x-www-form-urlencoded") {
        let t: Target = serde_urlencoded::from_bytes(body).map_err(|e| bad(format!("form: {e}")))?;
        (t, true)
    } else {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/json or application/x-www-form-urlencoded".into(),
        ));
    };
    let all_dead = matches!(target.dead.as_deref(), Some("1" | "true" | "on"));
    let selector = match (target.id, all_dead) {
        (Some(id), false) if !id.is_empty() => Selector::Id(id),
        (None, true) => Selector::Dead,
        _ => return Err(bad("say which reports: `id`, or `dead` for every dead report".into())),
    };
    Ok((selector, form))
}

pub(super) async fn retry(State(app): State<Arc<App>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    change(&app, &headers, body, "retry").await
}

pub(super) async fn drop(State(app): State<Arc<App>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    change(&app, &headers, body, "drop").await
}

async fn change(app: &Arc<App>, headers: &HeaderMap, body: axum::body::Bytes, action: &'static str) -> Response {
    let (selector, form) = match asked(headers, &body) {
        Ok(a) => a,
        Err((status, message)) => return refuse(status, &message),
    };
    let delivery = app.probes.delivery.clone();
    let sel = selector.clone();
    let done = tokio::task::spawn_blocking(move || match action {
        "retry" => delivery.retry_dead(&sel),
        _ => delivery.drop_dead(&sel),
    })
    .await;
    match done {
        Ok(Ok(changed)) => {
            tracing::info!(action, ?selector, changed, "admin: outbox change");
            if form {
                Redirect::to("/").into_response()
            } else {
                Json(serde_json::json!({ "changed": changed })).into_response()
            }
        }
        Ok(Err(e)) => refuse(StatusCode::SERVICE_UNAVAILABLE, &format!("{action}: {e}")),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &format!("{action}: {e}")),
    }
}

/// A JSON error `{"error": …}`.
pub(super) fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// Guards the page and the API against other sites in the operator's
/// browser:
/// - `Host` must be an IP address, `localhost`, or a name listed in
///   `[admin] hosts` (a DNS-rebound name is refused, so a foreign page
///   cannot even read);
/// - a change (any method but GET/HEAD) must come from the same origin: an
///   `Origin` equal to `http(s)://<Host>`, or, without `Origin`, no
///   `Sec-Fetch-Site` other than `same-origin` / `none` (curl and scripts
///   send neither).
pub(super) async fn same_origin(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return refuse(StatusCode::BAD_REQUEST, "a Host header is required");
    };
    if !host_allowed(host, &app.hosts) {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            &format!("Host `{host}` is not this admin listener's: add it to `[admin] hosts` to serve it"),
        );
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
        let fetch_site = headers.get("sec-fetch-site").and_then(|o| o.to_str().ok());
        let same = match origin {
            Some(o) => {
                let o = o.to_ascii_lowercase();
                let host = host.to_ascii_lowercase();
                o == format!("http://{host}") || o == format!("https://{host}")
            }
            None => fetch_site.is_none_or(|s| s == "same-origin" || s == "none"),
        };
        if !same {
            return refuse(StatusCode::FORBIDDEN, "cross-origin change refused");
        }
    }
    next.run(request).await
}

/// `host[:port]` is an IP literal, `localhost`, or one of `extra`.
fn host_allowed(host: &str, extra: &[String]) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => return v6.split_once(']').is_some_and(|(ip, _)| ip.parse::<std::net::Ipv6Addr>().is_ok()),
        None => host.rsplit_once(':').map_or(host, |(h, port)| if port.parse::<u16>().is_ok() { h } else { host }),
    };
    name.parse::<std::net::Ipv4Addr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || extra.iter().any(|e| e.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::host_allowed;

    #[test]
    fn only_addresses_localhost_and_listed_names_are_served() {
        let extra = vec!["wasmpush.internal".to_string()];
        for ok in ["127.0.0.1:9464", "127.0.0.1", "[::1]:9464", "localhost:9464", "LOCALHOST", "wasmpush.internal:1"] {
            assert!(host_allowed(ok, &extra), "{ok}");
        }
        for bad in ["evil.example:9464", "evil.example", "127.0.0.1.evil.example", "[::1", "", "wasmpush.internal.evil"]
        {
            assert!(!host_allowed(bad, &extra), "{bad}");
        }
    }
}
