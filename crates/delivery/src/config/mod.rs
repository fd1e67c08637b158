//! The per-reporter push options (`[[reporter]]` table keys), Buildbot's
//! `HttpStatusPush` names in snake_case plus the retry/outbox additions.
//!
//! Unknown keys are refused (`deny_unknown_fields`); the host hands over
//! a reporter's table without its own keys (`name`, `generator`).
//!
//! This file says what each option means; `validate.rs` says whether a
//! target's options are valid (every check and warning, in one file);
//! [`crate::resolve`] turns valid options into what a sender uses.
//!
//! Example (TOML):
//! ```toml
//! [[reporter]]
//! name = "ci-hook"                      # host key
//! generator = "gen/buildbot-json.wasm"  # host key
//! server_url = "https://ci.example/hook/"   # trailing `/` is normalised
//! auth = { type = "bearer", token_env = "HOOK_TOKEN" }
//! headers = { X-Source = "wasmpush", X-Api-Key = { value_file = "/run/secrets/key", prefix = "key " } }
//! query = { stream = "builds", api_key = { env = "HOOK_API_KEY" } }   # added at send time
//! success = [200, 201, 204]             # default: any 2xx
//! verify = true
//! ca_file = "/etc/wasmpush/ca.pem"
//! timeout = "10s"
//! retry_schedule = ["5s", "5m", "30m", "2h", "5h", "10h", "10h", "24h", "24h"]
//! signing_secret_env = "HOOK_SIGNING_SECRET"
//! ```

mod validate;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
pub use wasmpush_model::auth::{BasicAuth, BearerAuth};

pub(crate) use validate::{check_config_header_name, github_token_url, parse_endpoint, parse_server_url, read_secret};

/// Error in a reporter's push options. Its `Display` names the offending key
/// (`field`), never a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reporter option `{field}`: {message}")]
pub struct ConfigError {
    /// The TOML key, e.g. `auth.password_env` or `headers.X-Token`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn field(field: &str, message: String) -> Self {
        ConfigError { field: field.to_owned(), message }
    }
}

/// Push options of one reporter (target). See the module docs for an example
/// and [`crate`] docs for the full key list.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// Where reports are POSTed (`serverUrl`). `http` or `https`; a trailing
    /// `/` is removed (Buildbot aborts on it); a query string is kept; a
    /// report's relative `path` is appended under it. A URL that is itself
    /// a credential (Slack, Discord, Teams and Google Chat webhooks) belongs
    /// in `server_url_env` or `server_url_file` instead: then its path and
    /// query are redacted wherever the host logs or stores text.
    #[serde(default)]
    pub server_url: Option<String>,
    /// Env var holding `server_url` (a secret URL).
    #[serde(default)]
    pub server_url_env: Option<String>,
    /// File holding `server_url` (a secret URL).
    #[serde(default)]
    pub server_url_file: Option<PathBuf>,
    /// Basic or bearer authentication; secrets from env or file.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// Extra headers on every request. Configured headers override the same
    /// header set by a generator.
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderValueConfig>,
    /// Query parameters the host appends to every request URL at send time,
    /// after the generator's path and query (`name = "literal"` or
    /// `name = { env = "VAR" }` / `{ file = "/run/secrets/x" }` for a
    /// secret). A secret parameter is never stored in the outbox and is
    /// redacted, plain or URL-encoded, in every log line and error. A
    /// parameter of the same name already in the URL is replaced.
    #[serde(default)]
    pub query: BTreeMap<String, QueryValueConfig>,
    /// Statuses that count as delivered, e.g. `[200, 201, 204]` (default:
    /// any 2xx). A 2xx not listed is a permanent failure (dead letter);
    /// 408, 429 and 5xx not listed are retried as usual.
    #[serde(default)]
    pub success: Option<Vec<u16>>,
    /// `false` accepts any server certificate (self-signed, wrong host).
    #[serde(default = "default_true")]
    pub verify: bool,
    /// PEM file with extra trusted root certificate(s), added to the system roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate for mTLS (may also contain the key).
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// PEM private key for `cert` (PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// Log every request and response (status, headers, body up to
    /// `debug_body_limit` bytes) at INFO level, secrets replaced by `***`.
    #[serde(default)]
    pub debug: bool,
    /// How many body bytes a debug log line shows (default 4096).
    #[serde(default = "default_body_limit")]
    pub debug_body_limit: usize,
    /// Buildbot compatibility flag. In Buildbot it only chose between sending
    /// the JSON text as `str` or UTF-8 `bytes` (identical on the wire). Here a
    /// report body is bytes already and is **always sent exactly as the
    /// generator produced it**, with either value; the key is accepted so
    /// Buildbot configs translate one to one.
    #[serde(default)]
    pub skip_encoding: bool,
    /// Whole-request timeout (connect + send + response). Seconds or a
    /// humantime string (`"10s"`, `"1m 30s"`). Default 30 s.
    #[serde(default = "default_timeout")]
    pub timeout: DurationValue,
    /// Waits between attempts (the first attempt is immediate). Default:
    /// Standard Webhooks' example schedule extended to about three days:
    /// 5s, 5m, 30m, 2h, 5h, 10h, 10h, 24h, 24h (10 attempts, ~75.6 h).
    #[serde(default)]
    pub retry_schedule: Option<Vec<DurationValue>>,
    /// Random spread applied to each wait, as a fraction (0.2 = ±20 %).
    #[serde(default = "default_jitter")]
    pub retry_jitter: f64,
    /// Total attempts before a report goes to the dead-letter list. Default:
    /// schedule length + 1. Larger values repeat the last wait.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Requests in flight at once for this target (different ordering keys).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// HTTP methods this target's generators may use (contract 0.2);
    /// default `["POST"]`.
    #[serde(default = "default_methods")]
    pub methods: Vec<wasmpush_model::method::Method>,
    /// Standard Webhooks signing secret (`whsec_<base64>` or raw text), given
    /// literally (warned), by env var or by file.
    #[serde(default)]
    pub signing_secret: Option<String>,
    /// Env var holding the signing secret.
    #[serde(default)]
    pub signing_secret_env: Option<String>,
    /// File holding the signing secret.
    #[serde(default)]
    pub signing_secret_file: Option<PathBuf>,
}

/// `auth = { type = "basic", user = "u", password_env = "P" }`,
/// `auth = { type = "bearer", token_file = "/run/secrets/t" }`, or a token
/// the host obtains and refreshes itself: `type = "oauth2-client-credentials"`
/// or `type = "github-app"` (see [`crate::token`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum AuthConfig {
    /// HTTP Basic (`Authorization: Basic base64(user:password)`).
    Basic(BasicAuth),
    /// `Authorization: Bearer <token>`.
    Bearer(BearerAuth),
    /// OAuth 2.0 client credentials grant (RFC 6749 §4.4; Bitbucket Cloud,
    /// Azure AD, Keycloak): the host POSTs `grant_type=client_credentials`
    /// to `token_url` with HTTP Basic client authentication and sends
    /// `Authorization: Bearer <access_token>`, cached until shortly before
    /// `expires_in`.
    #[serde(rename = "oauth2-client-credentials")]
    OAuth2ClientCredentials {
        /// The token endpoint (`http` or `https`).
        token_url: String,
        /// The client id (not a secret).
        client_id: String,
        /// Literal client secret: allowed, but `wasmpush check` warns.
        #[serde(default)]
        client_secret: Option<String>,
        /// Env var holding the client secret.
        #[serde(default)]
        client_secret_env: Option<String>,
        /// File holding the client secret.
        #[serde(default)]
        client_secret_file: Option<PathBuf>,
        /// Space-separated scopes to ask for (optional).
        #[serde(default)]
        scope: Option<String>,
    },
    /// A GitHub App installation token: the host signs an RS256 JWT with the
    /// app's private key, exchanges it at
    /// `{api_url}/app/installations/{installation_id}/access_tokens` and
    /// sends `Authorization: Bearer <token>`, cached until shortly before
    /// `expires_at`.
    #[serde(rename = "github-app")]
    GitHubApp {
        /// The app's id (a number) or client id (`Iv1.…`): the JWT's `iss`.
        #[serde(deserialize_with = "id_text")]
        app_id: String,
        /// The installation to act as (a number).
        #[serde(deserialize_with = "id_text")]
        installation_id: String,
        /// File holding the app's PEM private key (PKCS#1 as GitHub gives it,
        /// or PKCS#8).
        #[serde(default)]
        private_key_file: Option<PathBuf>,
        /// Env var holding the PEM private key.
        #[serde(default)]
        private_key_env: Option<String>,
        /// The REST API root; GitHub Enterprise Server:
        /// `https://HOST/api/v3`.
        #[serde(default = "default_github_api")]
        api_url: String,
    },
}

/// An id written as a TOML integer or string (`app_id = 12345` or `"Iv1.x"`).
fn id_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u64),
        Text(String),
    }
    Ok(match Id::deserialize(d)? {
        Id::Number(n) => n.to_string(),
        Id::Text(t) => t,
    })
}

fn default_github_api() -> String {
    "https://api.github.com".to_owned()
}

/// A configured header value: a plain string, or a secret read from env or
/// file, e.g. `{ value_env = "GH_TOKEN", prefix = "token " }`. A secret
/// header's value is redacted in every log line.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HeaderValueConfig {
    /// Sent as is; not treated as a secret (a secret-looking name warns).
    Literal(String),
    /// Built as `prefix + secret + suffix`.
    Secret(SecretHeader),
}

/// A header whose value (or part of it) is a secret.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretHeader {
    /// Env var holding the secret part.
    #[serde(default)]
    pub value_env: Option<String>,
    /// File holding the secret part.
    #[serde(default)]
    pub value_file: Option<PathBuf>,
    /// Text before the secret (e.g. `"token "`).
    #[serde(default)]
    pub prefix: String,
    /// Text after the secret.
    #[serde(default)]
    pub suffix: String,
}

/// A configured query parameter: a plain string, or a secret read from env
/// or file (`{ env = "ZULIP_KEY" }`). A secret parameter is added per
/// attempt and redacted in every log line and error.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum QueryValueConfig {
    /// Sent as is; not treated as a secret (a secret-looking name warns).
    Literal(String),
    /// Read from env or file when the reporter starts.
    Secret(SecretQuery),
}

/// A query parameter whose value is a secret.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretQuery {
    /// Env var holding the value.
    #[serde(default)]
    pub env: Option<String>,
    /// File holding the value (trailing newline removed).
    #[serde(default)]
    pub file: Option<PathBuf>,
}

pub use wasmpush_model::duration::DurationValue;

fn default_true() -> bool {
    true
}
fn default_body_limit() -> usize {
    4096
}
fn default_timeout() -> DurationValue {
    DurationValue(Duration::from_secs(30))
}
fn default_jitter() -> f64 {
    0.2
}
fn default_methods() -> Vec<wasmpush_model::method::Method> {
    vec![wasmpush_model::method::Method::Post]
}

fn default_concurrency() -> usize {
    8
}

impl TargetConfig {
    /// A config with only `server_url` set and every default (handy for the
    /// host's tests and for code that builds targets programmatically).
    pub fn new(server_url: impl Into<String>) -> Self {
        TargetConfig {
            server_url: Some(server_url.into()),
            server_url_env: None,
            server_url_file: None,
            auth: None,
            headers: BTreeMap::new(),
            query: BTreeMap::new(),
            success: None,
            verify: true,
            ca_file: None,
            cert: None,
            key: None,
            debug: false,
            debug_body_limit: default_body_limit(),
            skip_encoding: false,
            timeout: default_timeout(),
            retry_schedule: None,
            retry_jitter: default_jitter(),
            max_attempts: None,
            concurrency: default_concurrency(),
            methods: default_methods(),
            signing_secret: None,
            signing_secret_env: None,
            signing_secret_file: None,
        }
    }

    /// Where reports go, for display: the URL when it is written in the
    /// config, else where it is read from (a secret URL is never shown).
    pub fn server_url_for_display(&self) -> String {
        match (&self.server_url, &self.server_url_env, &self.server_url_file) {
            (Some(url), _, _) => url.clone(),
            (None, Some(env), _) => format!("(URL from env {env})"),
            (None, None, Some(file)) => format!("(URL from file {})", file.display()),
            (None, None, None) => "(no URL)".to_owned(),
        }
    }
}
