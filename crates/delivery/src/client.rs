//! One HTTP client per target (TLS options, keep-alive) and one delivery
//! attempt: build the request, send it, classify the outcome, and log it
//! (with `debug = true`, in full) with every secret redacted.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};

use crate::outbox::Meta;
use crate::resolve::ResolvedTarget;
use crate::retry::{StatusClass, classify_status, parse_retry_after};

/// How much of a response body is read at most (the rest is dropped).
const MAX_RESPONSE_READ: usize = 64 * 1024;
/// How much of a response body goes into a stored `last_error`.
const ERROR_BODY_LIMIT: usize = 512;

/// Builds the target's client: HTTP/1.1, keep-alive pool, no redirects
/// (a 3xx is a permanent failure: following it could turn the POST into a
/// GET or carry credentials elsewhere), TLS per `verify`/`ca_file`/`cert`.
///
/// Targets with the default TLS settings (verified against the system's
/// roots, no CA file, no client certificate) and the same connect timeout
/// share one client: its root store is loaded once, not once per reporter
/// (a measurable part of a warm start), and its keep-alive pool serves every
/// such target (connections are pooled per host anyway).
pub(crate) fn build_client(t: &ResolvedTarget) -> Result<reqwest::Client, String> {
    wasmpush_model::install_crypto_provider();
    let connect_timeout = t.timeout.min(Duration::from_secs(10));
    let default_tls = t.verify && t.ca_pem.is_none() && t.identity_pem.is_none();
    if default_tls {
        static SHARED: std::sync::Mutex<Vec<(Duration, reqwest::Client)>> = std::sync::Mutex::new(Vec::new());
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, c)) = shared.iter().find(|(d, _)| *d == connect_timeout) {
            return Ok(c.clone());
        }
        let client = configure(t, connect_timeout)?;
        shared.push((connect_timeout, client.clone()));
        return Ok(client);
    }
    configure(t, connect_timeout)
}

fn configure(t: &ResolvedTarget, connect_timeout: Duration) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(concat!("wasmpush/", env!("CARGO_PKG_VERSION")));
    if !t.verify {
        b = b.danger_accept_invalid_certs(true);
    }
    if let Some(pem) = &t.ca_pem {
        for cert in reqwest::Certificate::from_pem_bundle(pem).map_err(|e| format!("ca_file: {e}"))? {
            b = b.add_root_certificate(cert);
        }
    }
    if let Some(pem) = &t.identity_pem {
        b = b.identity(reqwest::Identity::from_pem(pem).map_err(|e| format!("cert/key: {e}"))?);
    }
    b.build().map_err(|e| t.redactor.redact(&wasmpush_model::error_chain(&e)))
}

/// The result of one attempt.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// 2xx, with the values the report asked to keep from the response.
    Delivered { status: u16, kept: Vec<(String, String)> },
    /// Connection error, timeout, 408, 429, 5xx (`status`: none without a
    /// response).
    Retry { error: String, retry_after: Option<Duration>, status: Option<u16> },
    /// Anything else (3xx, other 4xx, a request that cannot be built).
    Permanent { error: String, status: Option<u16> },
}

fn build_headers(t: &ResolvedTarget, meta: &Meta, body: &[u8]) -> Result<HeaderMap, String> {
    let mut h = HeaderMap::new();
    for (n, v) in &meta.headers {
        let name = HeaderName::from_bytes(n.as_bytes()).map_err(|_| format!("bad header name {n:?}"))?;
        let value = HeaderValue::from_str(v).map_err(|_| format!("bad value for header {n:?}"))?;
        h.append(name, value);
    }
    for (name, value, _) in &t.headers {
        h.insert(name.clone(), value.clone());
    }
    if !meta.content_type.is_empty() {
        let ct = HeaderValue::from_str(&meta.content_type).map_err(|_| "bad content type".to_owned())?;
        h.insert(CONTENT_TYPE, ct);
    }
    if body.is_empty() {
        // hyper omits the header for an empty body; Buildbot sends
        // `Content-Length: 0` and some receivers answer 411 without it.
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0u32));
    }
    if let Some(a) = &t.authorization {
        let mut v = HeaderValue::from_str(a.expose()).map_err(|_| "bad auth header".to_owned())?;
        v.set_sensitive(true);
        h.insert(AUTHORIZATION, v);
    }
    let ts = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let id = HeaderValue::from_str(&meta.id).map_err(|_| "bad webhook-id".to_owned())?;
    h.insert(HeaderName::from_static("webhook-id"), id);
    h.insert(HeaderName::from_static("webhook-timestamp"), HeaderValue::from(ts));
    if let Some(k) = &t.signing_key {
        let sig = HeaderValue::from_str(&k.sign(&meta.id, ts, body)).map_err(|_| "bad signature".to_owned())?;
        h.insert(HeaderName::from_static("webhook-signature"), sig);
    }
    Ok(h)
}

/// Headers as a log string: sensitive values (Authorization, secret
/// headers) become `***`, the rest go through the redactor.
fn headers_for_log(t: &ResolvedTarget, h: &HeaderMap) -> String {
    let mut s = String::new();
    for (n, v) in h {
        let shown = if v.is_sensitive() || n == AUTHORIZATION || n == reqwest::header::PROXY_AUTHORIZATION {
            crate::secrets::REDACTED.to_owned()
        } else {
            t.redactor.redact(&String::from_utf8_lossy(v.as_bytes()))
        };
        let _ = write!(s, "{n}: {shown}; ");
    }
    s
}

async fn read_body(resp: &mut reqwest::Response, keep: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut read = 0usize;
    while read < MAX_RESPONSE_READ {
        match resp.chunk().await {
            Ok(Some(c)) => {
                read += c.len();
                if out.len() < keep {
                    out.extend_from_slice(&c[..c.len().min(keep - out.len())]);
                }
            }
            _ => break,
        }
    }
    out
}

/// Sends one report once. `name` is the reporter name (for logs).
pub(crate) async fn attempt(
    client: &reqwest::Client,
    t: &ResolvedTarget,
    name: &str,
    meta: &Meta,
    body: &[u8],
) -> Attempt {
    let r = &t.redactor;
    let Some(mut url) = crate::policy::target_url(&t.base_url, meta.path.as_deref()) else {
        return Attempt::Permanent {
            error: format!("path {:?} does not stay under server_url", meta.path),
            status: None,
        };
    };
    // Host-side additions, per attempt and never stored: query secrets and
    // a token from the reporter's token provider.
    crate::query::apply(&mut url, &t.query);
    let mut headers = match build_headers(t, meta, body) {
        Ok(h) => h,
        Err(e) => return Attempt::Permanent { error: r.redact(&e), status: None },
    };
    let mut token = None;
    if let Some(p) = &t.token {
        match p.authorize(client, t.timeout, r, &mut headers).await {
            Ok(tok) => token = Some(tok),
            Err(e) => return Attempt::Retry { error: r.redact(&e.to_string()), retry_after: None, status: None },
        }
    }
    let attempt_no = meta.attempts + 1;
    if t.debug {
        tracing::info!(
            target: "wasmpush_delivery::debug",
            reporter = name, id = %meta.id, attempt = attempt_no,
            "request: POST {} headers: {}body: {}",
            r.redact(url.as_str()), headers_for_log(t, &headers), r.redact_body(body, t.debug_body_limit)
        );
    }
    let started = std::time::Instant::now();
    let method = reqwest::Method::from_bytes(meta.method.as_str().as_bytes()).unwrap_or(reqwest::Method::POST);
    let send = |headers: HeaderMap| {
        client.request(method.clone(), url.clone()).headers(headers).timeout(t.timeout).body(body.to_vec()).send()
    };
    let mut sent = send(headers.clone()).await;
    // A 401 to a host-obtained token: it was revoked or expired early. Drop
    // it, get a new one and send again at once, one time.
    if let (Some(p), Some(used), Ok(resp)) = (&t.token, &token, &sent)
        && resp.status() == reqwest::StatusCode::UNAUTHORIZED
    {
        if t.debug {
            tracing::info!(target: "wasmpush_delivery::debug", reporter = name, id = %meta.id, attempt = attempt_no,
                "response: 401 after {:?}; fetching a new token and sending again", started.elapsed());
        }
        p.invalidate(used).await;
        if let Err(e) = p.authorize(client, t.timeout, r, &mut headers).await {
            let error = r.redact(&format!("HTTP 401, then {e}"));
            return Attempt::Retry { error, retry_after: None, status: Some(401) };
        }
        sent = send(headers).await;
    }
    let mut resp = match sent {
        Ok(resp) => resp,
        Err(e) => {
            // reqwest's text names the URL, which may be a credential.
            let builder = e.is_builder();
            let error = r.redact(&wasmpush_model::error_chain(&e.without_url()));
            if t.debug {
                tracing::info!(target: "wasmpush_delivery::debug", reporter = name, id = %meta.id,
                    attempt = attempt_no, "response: none after {:?}: {error}", started.elapsed());
            }
            return if builder {
                Attempt::Permanent { error, status: None }
            } else {
                Attempt::Retry { error, retry_after: None, status: None }
            };
        }
    };
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    let resp_headers = t.debug.then(|| headers_for_log(t, resp.headers()));
    let limit = t.debug_body_limit.max(ERROR_BODY_LIMIT);
    let limit = if meta.keep.is_empty() { limit } else { limit.max(crate::outbox::memory::MAX_RESPONSE) };
    let body_text = read_body(&mut resp, limit).await;
    if let Some(hs) = resp_headers {
        tracing::info!(
            target: "wasmpush_delivery::debug",
            reporter = name, id = %meta.id, attempt = attempt_no,
            "response: {} after {:?} headers: {}body: {}",
            status.as_u16(), started.elapsed(), hs, r.redact_body(&body_text, t.debug_body_limit)
        );
    }
    let describe = || format!("HTTP {}: {}", status.as_u16(), r.redact_body(&body_text, ERROR_BODY_LIMIT));
    let code = status.as_u16();
    // `success` lists what counts as delivered; a 2xx outside it is final.
    let listed = t.success.as_ref().map(|l| l.contains(&code));
    match (listed, classify_status(code)) {
        (Some(true), _) | (None, StatusClass::Success) => {
            let kept = crate::outbox::memory::extract(&meta.keep, &body_text);
            if kept.len() < meta.keep.len() {
                tracing::warn!(reporter = name, id = %meta.id, "the response did not hold every value to keep \
                    (a JSON body with each pointer): a later report that fills them will fail");
            }
            Attempt::Delivered { status: code, kept }
        }
        (Some(false), StatusClass::Success) => {
            let list = t.success.as_deref().unwrap_or_default();
            let body = r.redact_body(&body_text, ERROR_BODY_LIMIT);
            Attempt::Permanent {
                error: format!("HTTP {code} is not in `success` {list:?}: {body}"),
                status: Some(code),
            }
        }
        (_, StatusClass::Retry) => Attempt::Retry { error: describe(), retry_after, status: Some(code) },
        (_, StatusClass::Permanent) => Attempt::Permanent { error: describe(), status: Some(code) },
    }
}
