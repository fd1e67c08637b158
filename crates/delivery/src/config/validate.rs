//! Whether a target's options are valid, all in one place: the checks
//! [`TargetConfig::validate`] makes without reading secrets or files (what
//! `wasmpush check` runs), the remarks [`TargetConfig::warnings`] makes,
//! and the shared rules the resolving code applies again to the values it
//! reads (`server_url` shape, header names, token endpoints, the
//! `x` / `x_env` / `x_file` rule of [`read_secret`]).

use std::path::Path;

use reqwest::Url;
use reqwest::header::HeaderName;
use wasmpush_model::secret::Secret;

use super::{AuthConfig, BasicAuth, BearerAuth, ConfigError, HeaderValueConfig, QueryValueConfig, TargetConfig};

/// Headers nobody may set through `headers` (the transport owns them).
const FRAMING_HEADERS: &[&str] = &["host", "content-length", "transfer-encoding", "connection"];

/// Parses and normalises `server_url`: `http`/`https` only, no
/// `user:password@` (use `auth`), no fragment, trailing `/` removed.
pub(crate) fn parse_server_url(raw: &str) -> Result<Url, ConfigError> {
    let err = |m: &str| ConfigError::field("server_url", m.to_owned());
    let mut url = Url::parse(raw.trim()).map_err(|e| err(&format!("not a valid URL: {e}")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(err("must start with http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(err("has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err("must not contain user:password@ (use `auth` with a secret from env or file)"));
    }
    if url.fragment().is_some() {
        return Err(err("must not contain a #fragment"));
    }
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(if trimmed.is_empty() { "/" } else { &trimmed });
    Ok(url)
}

/// A configured header name must be a valid token, not a framing header, and
/// not `Authorization` when `auth` is set too.
pub(crate) fn check_config_header_name(name: &str, has_auth: bool) -> Result<HeaderName, ConfigError> {
    let field = format!("headers.{name}");
    let hn = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| ConfigError::field(&field, "not a valid header name".to_owned()))?;
    if FRAMING_HEADERS.contains(&hn.as_str()) {
        return Err(ConfigError::field(&field, "is set by the HTTP client and cannot be configured".to_owned()));
    }
    if has_auth && hn == reqwest::header::AUTHORIZATION {
        return Err(ConfigError::field(&field, "conflicts with `auth`; use one of them".to_owned()));
    }
    if hn.as_str().starts_with("webhook-") {
        return Err(ConfigError::field(&field, "webhook-* headers are set by the host".to_owned()));
    }
    Ok(hn)
}

/// Reads one secret given as exactly one of a literal, an env var name or a
/// file path. `field` is the config key stem (e.g. `auth.password`) used in
/// errors; errors name the env var or file, never the value.
///
/// A file's trailing newline (`\n` or `\r\n`) is removed, as `echo x > file`
/// and most secret managers add one. Empty secrets are an error.
pub(crate) fn read_secret(
    field: &str,
    literal: Option<&str>,
    env: Option<&str>,
    file: Option<&Path>,
) -> Result<Option<Secret>, ConfigError> {
    use wasmpush_model::secret::{SecretError, SecretSource};
    let source = SecretSource {
        literal: literal.map(str::to_owned),
        env: env.map(str::to_owned),
        file: file.map(Path::to_path_buf),
    };
    source.read(field).map_err(|e| match e {
        SecretError::Ambiguous { .. } => {
            ConfigError::field(field, format!("give only one of `{field}`, `{field}_env` and `{field}_file`"))
        }
        SecretError::MissingEnv { var, .. } => ConfigError::field(
            &format!("{field}_env"),
            format!("environment variable `{var}` is not set or not valid UTF-8"),
        ),
        SecretError::File { path, source, .. } => {
            ConfigError::field(&format!("{field}_file"), format!("cannot read `{}`: {source}", path.display()))
        }
        SecretError::Empty { .. } => ConfigError::field(field, "the secret is empty".to_owned()),
    })
}

/// Checks `query` and `success` without reading secrets.
fn validate_query(cfg: &TargetConfig) -> Result<(), ConfigError> {
    for (name, value) in &cfg.query {
        let field = format!("query.{name}");
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(ConfigError::field(&field, "a parameter name must be non-empty text".to_owned()));
        }
        if let QueryValueConfig::Secret(s) = value {
            match (&s.env, &s.file) {
                (Some(_), Some(_)) => {
                    return Err(ConfigError::field(&field, "give only one of `env` and `file`".to_owned()));
                }
                (None, None) => return Err(ConfigError::field(&field, "needs `env` or `file`".to_owned())),
                _ => {}
            }
        }
    }
    if let Some(codes) = &cfg.success {
        if codes.is_empty() {
            return Err(ConfigError::field(
                "success",
                "must list at least one status (leave it out for any 2xx)".to_owned(),
            ));
        }
        if let Some(bad) = codes.iter().find(|c| !(100..=599).contains(*c)) {
            return Err(ConfigError::field("success", format!("{bad} is not an HTTP status (100 to 599)")));
        }
    }
    Ok(())
}

/// Remarks for `wasmpush check`: a secret-looking parameter written
/// literally, a listed status that is not 2xx.
fn query_warnings(cfg: &TargetConfig) -> Vec<String> {
    let mut w = Vec::new();
    for (name, value) in &cfg.query {
        if matches!(value, QueryValueConfig::Literal(_)) && secret_looking(name) {
            w.push(format!(
                "query parameter `{name}` looks like a credential but is written literally; use `{{ env = ... }}` or `{{ file = ... }}`"
            ));
        }
    }
    for code in cfg.success.iter().flatten().filter(|c| !(200..300).contains(*c)) {
        w.push(format!("`success` lists {code}: a report answered {code} counts as delivered and is removed"));
    }
    w
}

/// A token endpoint: `http`/`https`, a host, no `user:password@`, no fragment.
pub(crate) fn parse_endpoint(field: &str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw.trim()).map_err(|e| ConfigError::field(field, format!("not a valid URL: {e}")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(ConfigError::field(field, "must start with http:// or https://".to_owned()));
    }
    if url.host_str().is_none_or(str::is_empty) || !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::field(field, "needs a host and no user:password@".to_owned()));
    }
    if url.fragment().is_some() {
        return Err(ConfigError::field(field, "must not contain a #fragment".to_owned()));
    }
    Ok(url)
}

/// `{api_url}/app/installations/{installation_id}/access_tokens`.
pub(crate) fn github_token_url(api_url: &str, installation_id: &str) -> Result<Url, ConfigError> {
    let base = parse_endpoint("auth.api_url", api_url)?;
    if base.query().is_some() {
        return Err(ConfigError::field("auth.api_url", "must not contain a query".to_owned()));
    }
    let mut url = base.clone();
    url.set_path(&format!("{}/app/installations/{installation_id}/access_tokens", base.path().trim_end_matches('/')));
    Ok(url)
}

fn count_given(options: &[bool]) -> usize {
    options.iter().filter(|b| **b).count()
}

/// Checks a token provider's options without reading secrets.
fn validate_token_provider(cfg: &TargetConfig) -> Result<(), ConfigError> {
    match &cfg.auth {
        Some(AuthConfig::OAuth2ClientCredentials {
            token_url,
            client_id,
            client_secret,
            client_secret_env,
            client_secret_file,
            scope,
        }) => {
            parse_endpoint("auth.token_url", token_url)?;
            if client_id.is_empty() || client_id.chars().any(char::is_control) {
                return Err(ConfigError::field("auth.client_id", "must be non-empty text".to_owned()));
            }
            let given =
                count_given(&[client_secret.is_some(), client_secret_env.is_some(), client_secret_file.is_some()]);
            if given != 1 {
                return Err(ConfigError::field(
                    "auth.client_secret",
                    "give exactly one of `client_secret_env`, `client_secret_file` and `client_secret`".to_owned(),
                ));
            }
            if scope.as_deref().is_some_and(|s| s.chars().any(char::is_control)) {
                return Err(ConfigError::field("auth.scope", "must not contain control characters".to_owned()));
            }
        }
        Some(AuthConfig::GitHubApp { app_id, installation_id, private_key_file, private_key_env, api_url }) => {
            if app_id.is_empty() || !app_id.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ConfigError::field(
                    "auth.app_id",
                    "must be the app's id or client id (no spaces)".to_owned(),
                ));
            }
            if installation_id.is_empty() || !installation_id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError::field("auth.installation_id", "must be a number".to_owned()));
            }
            if count_given(&[private_key_file.is_some(), private_key_env.is_some()]) != 1 {
                return Err(ConfigError::field(
                    "auth.private_key",
                    "give exactly one of `private_key_file` and `private_key_env`".to_owned(),
                ));
            }
            github_token_url(api_url, installation_id)?;
        }
        _ => {}
    }
    Ok(())
}

/// Token provider remarks for `wasmpush check`.
fn token_warnings(cfg: &TargetConfig) -> Vec<String> {
    let plain = |u: &str| u.trim_start().to_ascii_lowercase().starts_with("http://");
    let mut w = Vec::new();
    match &cfg.auth {
        Some(AuthConfig::OAuth2ClientCredentials { token_url, client_secret, .. }) => {
            if client_secret.is_some() {
                w.push(
                    "`auth.client_secret` is written in the config; prefer `client_secret_env` or `client_secret_file`"
                        .to_owned(),
                );
            }
            if plain(token_url) {
                w.push(
                    "`auth.token_url` is plain `http://`: the client secret and tokens travel unencrypted".to_owned(),
                );
            }
        }
        Some(AuthConfig::GitHubApp { api_url, .. }) if plain(api_url) => {
            w.push("`auth.api_url` is plain `http://`: the app's JWT and tokens travel unencrypted".to_owned());
        }
        _ => {}
    }
    w
}

/// Webhook URLs whose path or query is the credential: Slack, Discord,
/// Microsoft Teams / Power Automate, Google Chat, Mattermost, or any URL
/// with a secret-looking query key.
fn secret_url_looking(url: &str) -> bool {
    let u = url.to_ascii_lowercase();
    let hosts = [
        "hooks.slack.com/",
        "discord.com/api/webhooks/",
        "discordapp.com/api/webhooks/",
        ".webhook.office.com/",
        "logic.azure.com",
        "chat.googleapis.com/",
        "/hooks/",
    ];
    hosts.iter().any(|h| u.contains(h))
        || reqwest::Url::parse(url).is_ok_and(|p| p.query_pairs().any(|(k, _)| secret_looking(&k) || k == "sig"))
}

/// Header (and query parameter) names that look like they carry
/// credentials: a literal value for one of them makes
/// [`TargetConfig::warnings`] complain.
fn secret_looking(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["auth", "token", "secret", "key", "password", "cookie", "signature"].iter().any(|w| n.contains(w))
}

impl TargetConfig {
    /// Checks everything that can be checked without reading secrets or
    /// files: URL shape, header names, numbers. `wasmpush
    /// check` should call this; [`TargetConfig::resolve`] calls it too.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.server_url_secret()?;
        parse_server_url(url.expose())?;
        for name in self.headers.keys() {
            check_config_header_name(name, self.auth.is_some())?;
        }
        validate_query(self)?;
        validate_token_provider(self)?;
        if let Some(AuthConfig::Basic(BasicAuth { user, .. })) = &self.auth
            && user.contains(':')
        {
            return Err(ConfigError::field("auth.user", "must not contain `:`".to_owned()));
        }
        if self.key.is_some() && self.cert.is_none() {
            return Err(ConfigError::field("key", "`key` needs `cert`".to_owned()));
        }
        if self.timeout.0.is_zero() {
            return Err(ConfigError::field("timeout", "must be greater than zero".to_owned()));
        }
        if !(0.0..=1.0).contains(&self.retry_jitter) {
            return Err(ConfigError::field("retry_jitter", "must be between 0 and 1".to_owned()));
        }
        if self.max_attempts == Some(0) {
            return Err(ConfigError::field("max_attempts", "must be at least 1".to_owned()));
        }
        if self.methods.is_empty() {
            return Err(ConfigError::field("methods", "must list at least one method (e.g. [\"POST\"])".to_owned()));
        }
        if self.concurrency == 0 {
            return Err(ConfigError::field("concurrency", "must be at least 1".to_owned()));
        }
        if self.retry_schedule.as_ref().is_some_and(|s| s.is_empty()) && self.max_attempts.is_some_and(|m| m > 1) {
            return Err(ConfigError::field("retry_schedule", "is empty but max_attempts asks for retries".to_owned()));
        }
        // A wait longer than this is a typo, and jitter arithmetic on it
        // would overflow.
        const LONGEST_WAIT: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);
        if let Some((i, d)) = self.retry_schedule.iter().flatten().enumerate().find(|(_, d)| d.0 > LONGEST_WAIT) {
            return Err(ConfigError::field(
                "retry_schedule",
                format!("entry {i} waits {}: at most 30 days", humantime::format_duration(d.0)),
            ));
        }
        Ok(())
    }

    /// `server_url`, `server_url_env` or `server_url_file`, read (exactly
    /// one must be given).
    pub(crate) fn server_url_secret(&self) -> Result<Secret, ConfigError> {
        read_secret(
            "server_url",
            self.server_url.as_deref(),
            self.server_url_env.as_deref(),
            self.server_url_file.as_deref(),
        )?
        .ok_or_else(|| {
            ConfigError::field(
                "server_url",
                "missing: give `server_url`, `server_url_env` or `server_url_file`".to_owned(),
            )
        })
    }

    /// Non-fatal remarks for `wasmpush check`: literal secrets in the config,
    /// `verify = false`, a secret-looking header given literally, plain
    /// `http://` with credentials.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if let Some(url) = &self.server_url
            && secret_url_looking(url)
        {
            w.push(
                "`server_url` looks like a webhook URL that is itself a credential; prefer `server_url_env` or `server_url_file` (then it is redacted in logs)"
                    .to_owned(),
            );
        }
        match &self.auth {
            Some(AuthConfig::Basic(BasicAuth { password: Some(_), .. })) => {
                w.push("`auth.password` is written in the config; prefer `password_env` or `password_file`".to_owned())
            }
            Some(AuthConfig::Bearer(BearerAuth { token: Some(_), .. })) => {
                w.push("`auth.token` is written in the config; prefer `token_env` or `token_file`".to_owned())
            }
            _ => {}
        }
        w.extend(query_warnings(self));
        w.extend(token_warnings(self));
        if self.signing_secret.is_some() {
            w.push(
                "`signing_secret` is written in the config; prefer `signing_secret_env` or `signing_secret_file`"
                    .to_owned(),
            );
        }
        for (name, v) in &self.headers {
            if matches!(v, HeaderValueConfig::Literal(_)) && secret_looking(name) {
                w.push(format!(
                    "header `{name}` looks like a credential but is written literally; use `{{ value_env = ... }}` or `{{ value_file = ... }}`"
                ));
            }
        }
        if !self.verify {
            w.push("`verify = false`: the server certificate is not checked".to_owned());
        }
        let has_creds = self.auth.is_some()
            || self.headers.values().any(|v| matches!(v, HeaderValueConfig::Secret(_)))
            || self.query.values().any(|v| matches!(v, QueryValueConfig::Secret(_)));
        let plain_http =
            self.server_url.as_deref().is_some_and(|u| u.trim_start().to_ascii_lowercase().starts_with("http://"));
        if has_creds && plain_http {
            w.push("credentials are sent over plain `http://`".to_owned());
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absurd_retry_wait_is_refused_naming_the_field() {
        let cfg: TargetConfig =
            toml::from_str("server_url = \"http://127.0.0.1:1/\"\nretry_schedule = [\"5s\", \"100000d\"]").unwrap();
        let err = cfg.validate().unwrap_err();
        assert_eq!(err.field, "retry_schedule");
        assert!(err.message.contains("entry 1") && err.message.contains("30 days"), "{}", err.message);
        let ok: TargetConfig =
            toml::from_str("server_url = \"http://127.0.0.1:1/\"\nretry_schedule = [\"30d\"]").unwrap();
        assert!(ok.validate().is_ok());
    }

    #[test]
    fn a_secret_url_comes_from_one_place_and_a_literal_webhook_url_warns() {
        let both: TargetConfig =
            toml::from_str("server_url = \"http://127.0.0.1:1/\"\nserver_url_env = \"HOOK_URL\"").unwrap();
        let err = both.validate().unwrap_err();
        assert!(err.to_string().contains("give only one of `server_url`, `server_url_env`"), "{err}");
        let none: TargetConfig = toml::from_str("timeout = \"5s\"").unwrap();
        assert!(none.validate().unwrap_err().to_string().contains("server_url"));
        let slack = TargetConfig::new("https://hooks.slack.com/services/T000/B000/XXXXXXXX");
        assert!(slack.warnings().iter().any(|w| w.contains("server_url_file")), "{:?}", slack.warnings());
        let keyed = TargetConfig::new("https://chat.example/api?key=abc");
        assert!(keyed.warnings().iter().any(|w| w.contains("server_url_env")));
        assert!(TargetConfig::new("https://ci.example/hooks-dashboard").warnings().is_empty());
        let from_env: TargetConfig = toml::from_str("server_url_env = \"WASMPUSH_TEST_UNSET_URL\"").unwrap();
        assert_eq!(from_env.server_url_for_display(), "(URL from env WASMPUSH_TEST_UNSET_URL)");
        assert!(from_env.validate().unwrap_err().to_string().contains("server_url_env"));
    }

    #[test]
    fn reads_file_and_trims_newline_and_rejects_two_sources() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tok");
        std::fs::write(&p, "abc\r\n").unwrap();
        let s = read_secret("auth.token", None, None, Some(&p)).unwrap().unwrap();
        assert_eq!(s.expose(), "abc");
        let e = read_secret("auth.token", Some("x"), None, Some(&p)).unwrap_err();
        assert!(e.to_string().contains("auth.token"), "{e}");
        let e = read_secret("auth.token", None, Some("WASMPUSH_SURELY_UNSET_VAR"), None).unwrap_err();
        assert!(e.to_string().contains("WASMPUSH_SURELY_UNSET_VAR"), "{e}");
    }
}
