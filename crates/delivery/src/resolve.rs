//! Turning a valid [`TargetConfig`] into what a sender uses: a normalised
//! URL, resolved secrets, header values, TLS material and a retry policy.
//! Whether options are valid is decided in [`crate::config`] (this file
//! calls its checks, it adds none of its own beyond what needs the secret
//! or file itself: header bytes, PEM contents, signing key).

use std::path::Path;

use base64::Engine as _;
use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};

use crate::config::{
    AuthConfig, BasicAuth, BearerAuth, ConfigError, HeaderValueConfig, TargetConfig, check_config_header_name,
    parse_server_url, read_secret,
};
use crate::retry::RetryPolicy;
use crate::secrets::{Redactor, Secret};
use crate::webhook::SigningKey;

/// A target ready to send: built by [`TargetConfig::resolve`]. Its `Debug`
/// output never shows a secret.
#[derive(Debug, Clone)]
pub struct ResolvedTarget {
    /// `server_url` parsed, without a trailing `/`.
    pub base_url: Url,
    /// Full `Authorization` header value, if `auth` is basic or bearer.
    pub(crate) authorization: Option<Secret>,
    /// The token provider, if `auth` is one (shared by clones).
    pub(crate) token: Option<std::sync::Arc<crate::token::TokenProvider>>,
    /// Query parameters added per attempt (`query`).
    pub(crate) query: Vec<crate::query::QueryParam>,
    /// Statuses that count as delivered (`success`); `None`: any 2xx.
    pub(crate) success: Option<Vec<u16>>,
    /// Configured headers, in config order; `true` marks a secret value.
    pub(crate) headers: Vec<(HeaderName, HeaderValue, bool)>,
    pub(crate) verify: bool,
    pub(crate) ca_pem: Option<Vec<u8>>,
    pub(crate) identity_pem: Option<Vec<u8>>,
    pub(crate) debug: bool,
    pub(crate) debug_body_limit: usize,
    pub(crate) timeout: std::time::Duration,
    pub(crate) concurrency: usize,
    /// Methods generators may use (`methods`).
    pub(crate) methods: Vec<wasmpush_model::method::Method>,
    pub(crate) retry: RetryPolicy,
    pub(crate) signing_key: Option<SigningKey>,
    /// Hides every secret of this target in log lines and stored errors.
    pub redactor: Redactor,
}

impl TargetConfig {
    /// Reads secrets and certificate files and builds everything a sender
    /// needs. Errors name the field (and env var or file), never a value.
    pub fn resolve(&self) -> Result<ResolvedTarget, ConfigError> {
        resolve(self)
    }
}

fn read_file(field: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| ConfigError::field(field, format!("cannot read `{}`: {e}", path.display())))
}

pub(crate) fn resolve(cfg: &TargetConfig) -> Result<ResolvedTarget, ConfigError> {
    cfg.validate()?;
    let url = cfg.server_url_secret()?;
    let base_url = parse_server_url(url.expose())?;
    let mut secrets: Vec<String> = Vec::new();
    if cfg.server_url.is_none() {
        // A secret URL: its path and query are the credential. Every request
        // URL starts with the base path and query, so they hide it too.
        secrets.push(url.expose().to_owned());
        secrets.push(base_url.as_str().to_owned());
        if base_url.path() != "/" {
            secrets.push(base_url.path().to_owned());
        }
        secrets.extend(base_url.query().map(str::to_owned));
    }

    let authorization = match &cfg.auth {
        None => None,
        Some(AuthConfig::Basic(BasicAuth { user, password, password_env, password_file })) => {
            let pw =
                read_secret("auth.password", password.as_deref(), password_env.as_deref(), password_file.as_deref())?
                    .ok_or_else(|| {
                    ConfigError::field(
                        "auth",
                        "basic auth needs `password_env`, `password_file` or `password`".to_owned(),
                    )
                })?;
            let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", pw.expose()));
            secrets.push(pw.expose().to_owned());
            secrets.push(b64.clone());
            Some(Secret::new(format!("Basic {b64}")))
        }
        Some(AuthConfig::Bearer(BearerAuth { token, token_env, token_file })) => {
            let t = read_secret("auth.token", token.as_deref(), token_env.as_deref(), token_file.as_deref())?
                .ok_or_else(|| {
                    ConfigError::field("auth", "bearer auth needs `token_env`, `token_file` or `token`".to_owned())
                })?;
            secrets.push(t.expose().to_owned());
            Some(Secret::new(format!("Bearer {}", t.expose())))
        }
        Some(AuthConfig::OAuth2ClientCredentials { .. } | AuthConfig::GitHubApp { .. }) => None,
    };
    let token = crate::token::resolve(cfg, &mut secrets)?.map(std::sync::Arc::new);
    let query = crate::query::resolve(cfg, &mut secrets)?;
    if let Some(a) = &authorization
        && HeaderValue::from_str(a.expose()).is_err()
    {
        return Err(ConfigError::field(
            "auth",
            "the credential contains characters not allowed in a header".to_owned(),
        ));
    }

    let mut headers = Vec::new();
    for (name, value) in &cfg.headers {
        let hn = check_config_header_name(name, cfg.auth.is_some())?;
        let field = format!("headers.{name}");
        let (text, secret) = match value {
            HeaderValueConfig::Literal(v) => (v.clone(), false),
            HeaderValueConfig::Secret(s) => {
                let sec = read_secret(&field, None, s.value_env.as_deref(), s.value_file.as_deref())?
                    .ok_or_else(|| ConfigError::field(&field, "needs `value_env` or `value_file`".to_owned()))?;
                secrets.push(sec.expose().to_owned());
                (format!("{}{}{}", s.prefix, sec.expose(), s.suffix), true)
            }
        };
        let mut hv = HeaderValue::from_str(&text).map_err(|_| {
            ConfigError::field(&field, "value contains CR, LF or other bytes not allowed in a header".to_owned())
        })?;
        hv.set_sensitive(secret);
        headers.push((hn, hv, secret));
    }

    let signing_key = read_secret(
        "signing_secret",
        cfg.signing_secret.as_deref(),
        cfg.signing_secret_env.as_deref(),
        cfg.signing_secret_file.as_deref(),
    )?
    .map(|s| {
        secrets.push(s.expose().to_owned());
        SigningKey::from_secret(&s).map_err(|m| ConfigError::field("signing_secret", m))
    })
    .transpose()?;

    let ca_pem = cfg.ca_file.as_deref().map(|p| read_file("ca_file", p)).transpose()?;
    if let Some(pem) = &ca_pem {
        reqwest::Certificate::from_pem_bundle(pem)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ConfigError::field("ca_file", "no PEM certificate found".to_owned()))?;
    }
    let identity_pem = match (&cfg.cert, &cfg.key) {
        (Some(c), k) => {
            let mut pem = read_file("cert", c)?;
            if let Some(k) = k {
                pem.push(b'\n');
                pem.extend(read_file("key", k)?);
            }
            wasmpush_model::install_crypto_provider();
            reqwest::Identity::from_pem(&pem)
                .map_err(|e| ConfigError::field("cert", format!("not a usable PEM certificate + private key: {e}")))?;
            Some(pem)
        }
        (None, _) => None,
    };

    let schedule = cfg
        .retry_schedule
        .as_ref()
        .map(|s| s.iter().map(|d| d.0).collect())
        .unwrap_or_else(|| crate::retry::DEFAULT_SCHEDULE.to_vec());
    let retry = RetryPolicy::new(schedule, cfg.retry_jitter, cfg.max_attempts);

    Ok(ResolvedTarget {
        base_url,
        authorization,
        token,
        query,
        success: cfg.success.clone(),
        headers,
        verify: cfg.verify,
        ca_pem,
        identity_pem,
        debug: cfg.debug,
        debug_body_limit: cfg.debug_body_limit,
        timeout: cfg.timeout.0,
        concurrency: cfg.concurrency,
        methods: cfg.methods.clone(),
        retry,
        signing_key,
        redactor: Redactor::new(secrets),
    })
}
