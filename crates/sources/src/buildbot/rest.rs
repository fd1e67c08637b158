//! Buildbot REST client (`/api/v2`, spec §g.1) with optional credentials.
//!
//! Every answer is checked: a non-2xx status, a non-JSON body or a missing
//! `{"<plural>": [...]}` envelope is a [`RestError`] naming the path, never a
//! panic or a silently empty result. Credentials:
//! - `basic`: Buildbot's `UserPasswordAuth`/`HTPasswdAuth`: `GET /auth/login`
//!   with HTTP Basic returns the session cookie, which is then sent on every
//!   request (and on the websocket); the login is redone once on a 401/403.
//!   The Basic header is also sent on every request (for a proxy in front).
//! - `bearer`: `Authorization: Bearer <token>` on every request (a proxy in
//!   front of the master).

use crate::secret::Secret;
use base64::Engine as _;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderMap, HeaderValue, SET_COOKIE};
use serde_json::Value;
use std::future::Future;
use std::sync::RwLock;
use std::time::Duration;

/// A REST call that failed. Names the path; never holds a credential.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RestError {
    #[error("GET {path}: cannot connect: {reason}")]
    Connect { path: String, reason: String },
    #[error("GET {path}: no answer within {secs}s")]
    Timeout { path: String, secs: u64 },
    #[error("GET {path}: not found (HTTP 404)")]
    NotFound { path: String },
    #[error("GET {path}: access denied (HTTP {status}); check the source's `auth`")]
    Denied { path: String, status: u16 },
    #[error("GET {path}: HTTP {status}: {snippet}")]
    Status { path: String, status: u16, snippet: String },
    #[error("GET {path}: unusable answer: {reason}")]
    Garbage { path: String, reason: String },
}

/// Reading the data API: the one thing the assembler needs (so it can be
/// tested on recorded REST dumps).
pub trait Api: Sync {
    /// `GET /api/v2/<path>` → the `<plural>` list of the envelope.
    fn list(&self, path: &str, plural: &str) -> impl Future<Output = Result<Vec<Value>, RestError>> + Send;
}

/// The credential the source uses against the master.
#[derive(Debug, Clone)]
pub enum Credential {
    /// Log in with HTTP Basic at `/auth/login`, then use the session cookie.
    Basic { user: String, password: Secret },
    /// Send `Authorization: Bearer <token>`.
    Bearer(Secret),
}

/// A REST client for one master.
pub struct Rest {
    client: reqwest::Client,
    base: url::Url,
    timeout: Duration,
    credential: Option<Credential>,
    cookie: RwLock<Option<String>>,
}

impl Rest {
    /// A client for the master at `base` (its `buildbotURL`, ending in `/`).
    pub fn new(base: url::Url, timeout: Duration, credential: Option<Credential>) -> Result<Rest, RestError> {
        wasmpush_model::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("wasmpush-sources/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RestError::Connect { path: base.to_string(), reason: e.to_string() })?;
        Ok(Rest { client, base, timeout, credential, cookie: RwLock::new(None) })
    }

    /// Headers to authenticate a request (REST or websocket). Contains
    /// secrets: never log it.
    pub fn auth_headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        match &self.credential {
            Some(Credential::Basic { user, password }) => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", password.expose()));
                if let Ok(mut v) = HeaderValue::from_str(&format!("Basic {b64}")) {
                    v.set_sensitive(true);
                    h.insert(AUTHORIZATION, v);
                }
            }
            Some(Credential::Bearer(token)) => {
                if let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {}", token.expose())) {
                    v.set_sensitive(true);
                    h.insert(AUTHORIZATION, v);
                }
            }
            None => {}
        }
        if let Some(c) = self.cookie.read().ok().and_then(|c| c.clone())
            && let Ok(mut v) = HeaderValue::from_str(&c)
        {
            v.set_sensitive(true);
            h.insert(COOKIE, v);
        }
        h
    }

    /// Logs in (basic credential only) and keeps the session cookie.
    pub async fn login(&self) -> Result<(), RestError> {
        let Some(Credential::Basic { .. }) = &self.credential else { return Ok(()) };
        let path = "auth/login";
        let url = self.base.join(path).map_err(|e| RestError::Garbage { path: path.into(), reason: e.to_string() })?;
        let mut headers = self.auth_headers();
        headers.remove(COOKIE);
        let resp = self.client.get(url).headers(headers).send().await.map_err(|e| self.transport(path, e))?;
        let status = resp.status().as_u16();
        if status == 401 || status == 403 {
            return Err(RestError::Denied { path: path.into(), status });
        }
        if status >= 400 {
            return Err(RestError::Status { path: path.into(), status, snippet: "login failed".into() });
        }
        // Buildbot sets the (anonymous) session cookie, then the logged-in
        // one under the same name: the last value of each name wins.
        let mut jar: Vec<(String, String)> = Vec::new();
        for v in resp.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let Some((name, value)) = v.split(';').next().and_then(|kv| kv.trim().split_once('=')) else { continue };
            jar.retain(|(n, _)| n != name);
            jar.push((name.to_string(), value.to_string()));
        }
        let cookies: Vec<String> = jar.into_iter().map(|(n, v)| format!("{n}={v}")).collect();
        if cookies.is_empty() {
            return Err(RestError::Garbage {
                path: path.into(),
                reason: "login answered without a session cookie".into(),
            });
        }
        if let Ok(mut c) = self.cookie.write() {
            *c = Some(cookies.join("; "));
        }
        Ok(())
    }

    /// `GET <base><path>` → parsed JSON (any shape), e.g. `config`.
    pub async fn get_json(&self, path: &str) -> Result<Value, RestError> {
        let mut relogged = false;
        loop {
            let url =
                self.base.join(path).map_err(|e| RestError::Garbage { path: path.into(), reason: e.to_string() })?;
            let resp = self
                .client
                .get(url)
                .headers(self.auth_headers())
                .header(ACCEPT, "application/json")
                .send()
                .await
                .map_err(|e| self.transport(path, e))?;
            let status = resp.status().as_u16();
            if (status == 401 || status == 403)
                && !relogged
                && matches!(self.credential, Some(Credential::Basic { .. }))
            {
                relogged = true;
                self.login().await?;
                continue;
            }
            let ct = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let body = resp.bytes().await.map_err(|e| self.transport(path, e))?;
            return match status {
                200..=299 => {
                    if !ct.contains("json") {
                        return Err(RestError::Garbage {
                            path: path.into(),
                            reason: format!("expected JSON, got Content-Type {ct:?}"),
                        });
                    }
                    serde_json::from_slice(&body)
                        .map_err(|e| RestError::Garbage { path: path.into(), reason: format!("malformed JSON: {e}") })
                }
                404 => Err(RestError::NotFound { path: path.into() }),
                401 | 403 => Err(RestError::Denied { path: path.into(), status }),
                _ => Err(RestError::Status { path: path.into(), status, snippet: snippet(&body) }),
            };
        }
    }

    fn transport(&self, path: &str, e: reqwest::Error) -> RestError {
        if e.is_timeout() {
            RestError::Timeout { path: path.into(), secs: self.timeout.as_secs() }
        } else {
            // Without the URL: it is ours and may be long; the path names it.
            RestError::Connect { path: path.into(), reason: wasmpush_model::error_chain(&e.without_url()) }
        }
    }
}

impl Api for Rest {
    async fn list(&self, path: &str, plural: &str) -> Result<Vec<Value>, RestError> {
        let full = format!("api/v2/{path}");
        let mut v = self.get_json(&full).await?;
        match v.get_mut(plural).map(Value::take) {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(RestError::Garbage { path: full, reason: format!("no {plural:?} list in the answer") }),
        }
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_become_sensitive_headers_and_never_print() {
        let base = url::Url::parse("http://127.0.0.1:1/").unwrap();
        let bearer =
            Rest::new(base.clone(), Duration::from_secs(1), Some(Credential::Bearer(Secret::new("t0k")))).unwrap();
        let h = bearer.auth_headers();
        assert_eq!(h[AUTHORIZATION], "Bearer t0k");
        assert!(h[AUTHORIZATION].is_sensitive());
        let basic = Credential::Basic { user: "u".into(), password: Secret::new("p@ss") };
        assert!(!format!("{basic:?}").contains("p@ss"));
        let rest = Rest::new(base, Duration::from_secs(1), Some(basic)).unwrap();
        assert_eq!(rest.auth_headers()[AUTHORIZATION], "Basic dTpwQHNz");
        assert!(rest.auth_headers().get(COOKIE).is_none());
    }

    #[tokio::test]
    async fn unreachable_master_is_a_connect_error_naming_the_path() {
        // A port that was just free: nothing listens there.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let rest =
            Rest::new(url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap(), Duration::from_secs(2), None)
                .unwrap();
        let err = rest.list("builds/1", "builds").await.unwrap_err();
        assert!(matches!(err, RestError::Connect { .. }), "{err}");
        assert!(err.to_string().starts_with("GET api/v2/builds/1: cannot connect"), "{err}");
    }
}
