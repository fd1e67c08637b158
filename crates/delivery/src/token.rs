//! Token providers: access tokens the host obtains itself and sends as
//! `Authorization: Bearer <token>`.
//!
//! * `auth = { type = "oauth2-client-credentials", token_url, client_id,
//!   client_secret_env | client_secret_file, scope }`: RFC 6749 §4.4. The
//!   host POSTs the form `grant_type=client_credentials` (and `scope`) to
//!   `token_url` with HTTP Basic client authentication (id and secret
//!   form-encoded first, §2.3.1) and reads `access_token` and `expires_in`.
//!   Bitbucket Cloud (`https://bitbucket.org/site/oauth2/access_token`),
//!   Azure AD and Keycloak work this way.
//! * `auth = { type = "github-app", app_id, installation_id,
//!   private_key_file, api_url }`: the host signs an RS256 JWT
//!   `{iat: now - 60, exp: now + 540, iss: app_id}` with the app's private
//!   key, POSTs it as `Authorization: Bearer <jwt>` to
//!   `{api_url}/app/installations/{installation_id}/access_tokens` and reads
//!   `token` and `expires_at`. GitHub accepts an installation token as
//!   `token <t>` or `Bearer <t>`; the host sends `Bearer`.
//!
//! A token is cached per reporter until shortly before it expires (60 s,
//! or half its lifetime when that is shorter); concurrent requests wait for
//! one fetch (a Tokio mutex around the cache). A target answering 401 makes
//! the host drop that token, fetch a new one and send the request again at
//! once, one time. A failed fetch is a retryable failure of the report
//! (never a dead letter by itself), with an error naming the token URL;
//! while a token that is due for refresh has not yet expired, it is still
//! used when the refresh fails. Every token (and JWT) obtained is added to
//! the reporter's [`Redactor`] before it is used, so no log line or stored
//! error shows it. The token endpoint is reached with the reporter's own
//! HTTP client (same TLS options, `timeout`, no redirects).

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Url;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue};

use crate::config::{AuthConfig, ConfigError, TargetConfig, github_token_url, parse_endpoint, read_secret};
use crate::secrets::{Redactor, Secret};

/// How long before a token's expiry it is refreshed (at most half its
/// lifetime).
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// The most of a token endpoint's answer that is read.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;
/// How much of a failed token response goes into an error.
const ERROR_BODY_LIMIT: usize = 512;

/// Where a token comes from.
enum Source {
    OAuth2 {
        /// `Basic base64(urlencode(id):urlencode(secret))`.
        client_auth: Secret,
        /// `grant_type=client_credentials[&scope=…]`.
        form: String,
    },
    GitHubApp {
        /// The JWT's `iss`.
        app_id: String,
        key: EncodingKey,
    },
}

impl Source {
    fn kind(&self) -> &'static str {
        match self {
            Source::OAuth2 { .. } => "oauth2-client-credentials",
            Source::GitHubApp { .. } => "github-app",
        }
    }
}

/// A token and how long to use it.
struct Cached {
    token: Secret,
    /// Fetch a new one from then on (`None`: until a 401).
    refresh_at: Option<Instant>,
    /// Never use it from then on.
    expires_at: Option<Instant>,
}

impl Cached {
    fn new(token: Secret, start: Instant, lifetime: Option<Duration>) -> Cached {
        Cached {
            token,
            refresh_at: lifetime.map(|l| start + l - REFRESH_MARGIN.min(l / 2)),
            expires_at: lifetime.map(|l| start + l),
        }
    }
}

/// A failed token fetch. Its text names the provider type and the token
/// URL, never a secret (callers still pass it through the redactor).
#[derive(Debug, thiserror::Error)]
#[error("auth ({kind}): no token from {url}: {message}")]
pub(crate) struct TokenError {
    kind: &'static str,
    url: String,
    message: String,
}

/// Obtains, caches and refreshes one reporter's access token.
pub(crate) struct TokenProvider {
    source: Source,
    /// The token endpoint.
    url: Url,
    cache: tokio::sync::Mutex<Option<Cached>>,
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider").field("type", &self.source.kind()).field("url", &self.url.as_str()).finish()
    }
}

/// Builds the token provider of `cfg.auth`, if it is one: reads the client
/// secret or private key (pushed to `secrets` for the redactor) and checks
/// the key can sign.
pub(crate) fn resolve(cfg: &TargetConfig, secrets: &mut Vec<String>) -> Result<Option<TokenProvider>, ConfigError> {
    let (source, url) = match &cfg.auth {
        Some(AuthConfig::OAuth2ClientCredentials {
            token_url,
            client_id,
            client_secret,
            client_secret_env,
            client_secret_file,
            scope,
        }) => {
            let url = parse_endpoint("auth.token_url", token_url)?;
            let secret = read_secret(
                "auth.client_secret",
                client_secret.as_deref(),
                client_secret_env.as_deref(),
                client_secret_file.as_deref(),
            )?
            .ok_or_else(|| ConfigError::field("auth.client_secret", "missing".to_owned()))?;
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", enc(client_id), enc(secret.expose()));
            let b64 = base64::engine::general_purpose::STANDARD.encode(&pair);
            secrets.extend([secret.expose().to_owned(), enc(secret.expose()), pair, b64.clone()]);
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if let Some(scope) = scope.as_deref().filter(|s| !s.is_empty()) {
                form.append_pair("scope", scope);
            }
            (Source::OAuth2 { client_auth: Secret::new(format!("Basic {b64}")), form: form.finish() }, url)
        }
        Some(AuthConfig::GitHubApp { app_id, installation_id, private_key_file, private_key_env, api_url }) => {
            let url = github_token_url(api_url, installation_id)?;
            let pem = read_secret("auth.private_key", None, private_key_env.as_deref(), private_key_file.as_deref())?
                .ok_or_else(|| ConfigError::field("auth.private_key", "missing".to_owned()))?;
            secrets.push(pem.expose().to_owned());
            let field = if private_key_file.is_some() { "auth.private_key_file" } else { "auth.private_key_env" };
            let key = EncodingKey::from_rsa_pem(pem.expose().as_bytes())
                .map_err(|e| ConfigError::field(field, format!("not a PEM RSA private key (PKCS#1 or PKCS#8): {e}")))?;
            // Sign once now: a key that cannot sign fails at start, not at
            // the first report.
            jsonwebtoken::encode(&Header::new(Algorithm::RS256), &serde_json::json!({"iss": app_id}), &key)
                .map_err(|e| ConfigError::field(field, format!("cannot sign with this key: {e}")))?;
            (Source::GitHubApp { app_id: app_id.clone(), key }, url)
        }
        _ => return Ok(None),
    };
    Ok(Some(TokenProvider { source, url, cache: tokio::sync::Mutex::new(None) }))
}

/// The JWT's `iss`: the app id as a number when it is one (what GitHub's
/// own libraries send), else the client id as a string.
fn issuer(app_id: &str) -> serde_json::Value {
    app_id.parse::<u64>().map_or_else(|_| serde_json::Value::from(app_id), serde_json::Value::from)
}

async fn read_limited(resp: &mut reqwest::Response) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < MAX_TOKEN_RESPONSE {
        match resp.chunk().await {
            Ok(Some(c)) => out.extend_from_slice(&c[..c.len().min(MAX_TOKEN_RESPONSE - out.len())]),
            _ => break,
        }
    }
    out
}

/// `expires_in` as a number of seconds (some servers send a string).
fn seconds(v: &serde_json::Value) -> Option<Duration> {
    let secs = match v {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs.max(0.0)).ok()
}

impl TokenProvider {
    fn error(&self, message: impl Into<String>) -> TokenError {
        TokenError { kind: self.source.kind(), url: self.url.to_string(), message: message.into() }
    }

    /// The current token, fetched if there is none or it is due for refresh.
    /// Concurrent callers wait for one fetch.
    pub(crate) async fn token(
        &self,
        client: &reqwest::Client,
        timeout: Duration,
        redactor: &Redactor,
    ) -> Result<Secret, TokenError> {
        let mut cache = self.cache.lock().await;
        let now = Instant::now();
        if let Some(c) = cache.as_ref()
            && c.refresh_at.is_none_or(|t| now < t)
        {
            return Ok(c.token.clone());
        }
        match self.fetch(client, timeout, redactor).await {
            Ok(fresh) => {
                let token = fresh.token.clone();
                *cache = Some(fresh);
                Ok(token)
            }
            Err(e) => match cache.as_ref() {
                // Due for refresh but not expired: use it while it lasts.
                Some(c) if c.expires_at.is_some_and(|t| Instant::now() < t) => {
                    tracing::warn!(error = %redactor.redact(&e.to_string()), "token refresh failed; using the current token until it expires");
                    Ok(c.token.clone())
                }
                _ => Err(e),
            },
        }
    }

    /// Forgets `used` (the target refused it with a 401), unless another
    /// request has replaced it already.
    pub(crate) async fn invalidate(&self, used: &Secret) {
        let mut cache = self.cache.lock().await;
        if cache.as_ref().is_some_and(|c| &c.token == used) {
            *cache = None;
        }
    }

    /// Puts `Authorization: Bearer <token>` into `headers`; returns the token.
    pub(crate) async fn authorize(
        &self,
        client: &reqwest::Client,
        timeout: Duration,
        redactor: &Redactor,
        headers: &mut HeaderMap,
    ) -> Result<Secret, TokenError> {
        let token = self.token(client, timeout, redactor).await?;
        let mut v = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| self.error("the token has characters not allowed in a header"))?;
        v.set_sensitive(true);
        headers.insert(AUTHORIZATION, v);
        Ok(token)
    }

    async fn fetch(
        &self,
        client: &reqwest::Client,
        timeout: Duration,
        redactor: &Redactor,
    ) -> Result<Cached, TokenError> {
        let started = Instant::now();
        let mut headers = HeaderMap::new();
        let body = match &self.source {
            Source::OAuth2 { client_auth, form } => {
                let mut auth = HeaderValue::from_str(client_auth.expose())
                    .map_err(|_| self.error("the client credentials do not fit in a header"))?;
                auth.set_sensitive(true);
                headers.insert(AUTHORIZATION, auth);
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
                headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
                form.clone().into_bytes()
            }
            Source::GitHubApp { app_id, key } => {
                let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
                let claims =
                    serde_json::json!({"iat": now.saturating_sub(60), "exp": now + 540, "iss": issuer(app_id)});
                let jwt = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, key)
                    .map_err(|e| self.error(format!("cannot sign the app's JWT: {e}")))?;
                redactor.add(&jwt);
                let mut auth = HeaderValue::from_str(&format!("Bearer {jwt}"))
                    .map_err(|_| self.error("the JWT does not fit in a header"))?;
                auth.set_sensitive(true);
                headers.insert(AUTHORIZATION, auth);
                headers.insert(ACCEPT, HeaderValue::from_static("application/vnd.github+json"));
                headers.insert("x-github-api-version", HeaderValue::from_static("2022-11-28"));
                headers.insert(CONTENT_LENGTH, HeaderValue::from(0u32));
                Vec::new()
            }
        };
        let sent = client.post(self.url.clone()).headers(headers).timeout(timeout).body(body).send().await;
        let mut resp = sent.map_err(|e| self.error(redactor.redact(&wasmpush_model::error_chain(&e.without_url()))))?;
        let status = resp.status();
        let bytes = read_limited(&mut resp).await;
        if !status.is_success() {
            return Err(self.error(format!(
                "HTTP {}: {}",
                status.as_u16(),
                redactor.redact_body(&bytes, ERROR_BODY_LIMIT)
            )));
        }
        // Parsed as a plain value first: a typed parse error could quote the
        // token.
        let json: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| self.error(format!("HTTP {}: the answer is not JSON ({e})", status.as_u16())))?;
        let (token_key, lifetime) = match &self.source {
            Source::OAuth2 { .. } => {
                if let Some(t) = json.get("token_type").and_then(|t| t.as_str())
                    && !t.eq_ignore_ascii_case("bearer")
                {
                    return Err(self.error(format!("token_type is {t:?}, not \"Bearer\"")));
                }
                ("access_token", json.get("expires_in").and_then(seconds))
            }
            Source::GitHubApp { .. } => {
                let at = json
                    .get("expires_at")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| self.error("the answer has no `expires_at`"))?;
                let at = humantime::parse_rfc3339_weak(at)
                    .map_err(|e| self.error(format!("`expires_at` is not an RFC 3339 time: {e}")))?;
                ("token", Some(at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO)))
            }
        };
        let token = json
            .get(token_key)
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.error(format!("the answer has no `{token_key}` string")))?;
        redactor.add(token);
        let start = match self.source {
            // `expires_in` counts from when the server issued it: at the latest
            // when the request left.
            Source::OAuth2 { .. } => started,
            Source::GitHubApp { .. } => Instant::now(),
        };
        tracing::debug!(url = %redactor.redact(self.url.as_str()), kind = self.source.kind(),
            lifetime = ?lifetime, "obtained an access token");
        Ok(Cached::new(Secret::new(token), start, lifetime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(auth: &str) -> TargetConfig {
        toml::from_str(&format!("server_url = \"https://x.example/\"\nauth = {auth}")).unwrap()
    }

    #[test]
    fn token_options_are_validated_naming_the_field() {
        for (auth, field) in [
            (
                r#"{ type = "oauth2-client-credentials", token_url = "ftp://x/", client_id = "c", client_secret_env = "S" }"#,
                "auth.token_url",
            ),
            (
                r#"{ type = "oauth2-client-credentials", token_url = "https://x/t", client_id = "c" }"#,
                "auth.client_secret",
            ),
            (
                r#"{ type = "oauth2-client-credentials", token_url = "https://x/t", client_id = "", client_secret_env = "S" }"#,
                "auth.client_id",
            ),
            (
                r#"{ type = "github-app", app_id = 1, installation_id = "abc", private_key_file = "/k" }"#,
                "auth.installation_id",
            ),
            (r#"{ type = "github-app", app_id = 1, installation_id = 2 }"#, "auth.private_key"),
            (
                r#"{ type = "github-app", app_id = 1, installation_id = 2, private_key_file = "/k", api_url = "x" }"#,
                "auth.api_url",
            ),
        ] {
            let err = parse(auth).validate().unwrap_err();
            assert_eq!(err.field, field, "{auth}: {err}");
        }
        let gh = parse(r#"{ type = "github-app", app_id = 123, installation_id = 456, private_key_file = "/k" }"#);
        assert!(gh.validate().is_ok());
        assert!(
            matches!(&gh.auth, Some(AuthConfig::GitHubApp { app_id, api_url, .. }) if app_id == "123" && api_url == "https://api.github.com")
        );
        let url = github_token_url("https://ghe.example/api/v3/", "456").unwrap();
        assert_eq!(url.as_str(), "https://ghe.example/api/v3/app/installations/456/access_tokens");
        let lit = parse(
            r#"{ type = "oauth2-client-credentials", token_url = "http://x/t", client_id = "c", client_secret = "s" }"#,
        );
        let w = lit.warnings();
        assert!(
            w.iter().any(|w| w.contains("client_secret_env")) && w.iter().any(|w| w.contains("token_url")),
            "{w:?}"
        );
        // The header form is refused next to a provider.
        let both: TargetConfig = toml::from_str(
            "server_url = \"https://x/\"\nheaders = { Authorization = \"x\" }\nauth = { type = \"github-app\", app_id = 1, installation_id = 2, private_key_file = \"/k\" }",
        )
        .unwrap();
        assert_eq!(both.validate().unwrap_err().field, "headers.Authorization");
    }

    #[test]
    fn a_bad_private_key_fails_at_resolve_naming_the_file_not_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("app.pem");
        std::fs::write(&key, "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n").unwrap();
        let cfg = parse(&format!(
            "{{ type = \"github-app\", app_id = 1, installation_id = 2, private_key_file = {:?} }}",
            key.display().to_string()
        ));
        let err = cfg.resolve().unwrap_err();
        assert_eq!(err.field, "auth.private_key_file");
        assert!(!err.to_string().contains("bm90IGEga2V5"), "{err}");
    }

    #[test]
    fn a_token_is_refreshed_before_it_expires() {
        let start = Instant::now();
        let long = Cached::new(Secret::new("t"), start, Some(Duration::from_secs(3600)));
        assert_eq!(long.refresh_at, Some(start + Duration::from_secs(3540)));
        let short = Cached::new(Secret::new("t"), start, Some(Duration::from_secs(10)));
        assert_eq!(short.refresh_at, Some(start + Duration::from_secs(5)));
        assert_eq!(short.expires_at, Some(start + Duration::from_secs(10)));
        assert!(Cached::new(Secret::new("t"), start, None).refresh_at.is_none());
        assert_eq!(issuer("123"), serde_json::json!(123));
        assert_eq!(issuer("Iv1.abc"), serde_json::json!("Iv1.abc"));
        assert_eq!(seconds(&serde_json::json!("7200")), Some(Duration::from_secs(7200)));
    }
}
