//! `buildbot` source: follows a Buildbot master's websocket and REST API and
//! produces the payloads Buildbot's own reporters would build.
//!
//! ```toml
//! [[source]]
//! type = "buildbot"
//! url = "http://127.0.0.1:8010/"          # the master's buildbotURL (www)
//! state_file = "/var/lib/wasmpush/buildbot-cursor.json"
//! auth = { type = "basic", user = "wasmpush", password_env = "BB_PASSWORD" }   # optional
//! # auth = { type = "bearer", token_env = "BB_PROXY_TOKEN" }                  # a proxy in front
//! start_from = "now"                      # first start without a state file: "now" | "beginning"
//! reconnect = { initial = "500ms", max = "30s" }     # websocket reconnect backoff
//! retry = { initial = "500ms", max = "30s" }         # REST retry backoff, per event
//! request_timeout = "30s"
//! ping_interval = "30s"
//! # (the old keys initial_ms / max_ms, request_timeout_secs and
//! # ping_interval_secs are still read, in their old units)
//! # buildbot_url = "https://ci.example/"  # prefix of payload urls; default: the master's /config
//! # give_up_after = 100                   # attempts before an event is dropped (logged); default never
//! ```
//!
//! How it works:
//! 1. On (re)connect it logs in if configured, subscribes on `/ws` to
//!    `builds/*/*`, `builds/*/properties/update`, `buildrequests/*/*` and
//!    `buildsets/*/*`, then **catches up** from REST on every build and
//!    buildset the [`cursor`] has not handled yet (builds that started or
//!    finished while disconnected or stopped), then follows the stream.
//! 2. For each `builds/N/new`, `builds/N/finished` and `buildsets/N/complete`
//!    not yet handled it assembles the payload ([`assemble`]) for the union
//!    of the generators' [`Needs`], sends one [`crate::SourceEvent`] and records it
//!    in the cursor file. The host then gives each generator
//!    [`payload_for`]`(&event.payload, &its_needs)`: its own snapshot.
//! 3. A REST failure (error status, garbage, timeout) retries that event
//!    with backoff and a warning naming the reason; events are never dropped
//!    silently (only after `give_up_after` attempts, with an error log).
//!    A websocket failure reconnects with backoff and catches up again.
//!
//! Ordering: events are handled one at a time in websocket order, so a
//! build's `new` always precedes its `finished`. Delivery is at least once:
//! the cursor is saved only after the host has committed the event
//! ([`crate::submit`]); a crash between the two reports the event again, with
//! the same report ids, so the outbox de-duplicates it.
//!
//! Point in time: payloads reflect the master as the websocket showed it at
//! the event ([`track`]); what the websocket did not show (e.g. during
//! catch-up) comes from REST at the time of the call. Property order and
//! dict key order come from the websocket; a catch-up payload has REST's
//! sorted order.
//!
//! Driving it from a test: see `crates/sources/tests/buildbot_live.rs` and
//! `tests/buildbot/harness.py`.

pub mod assemble;
pub mod cursor;
pub mod needs;
pub mod order;
pub mod rest;
mod session;
pub mod track;
pub mod ws;

pub use needs::{LogContents, Needs, payload_for};

use crate::secret::SecretError;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;
use wasmpush_model::auth::{BasicAuth, BearerAuth};

/// `[[source]] type = "buildbot"` (deserialize the table without its `type`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildbotConfig {
    /// The master's web root (`buildbotURL`), `http(s)://host:port/path/`.
    pub url: String,
    /// Credentials for the master's API (optional).
    #[serde(default)]
    pub auth: Option<BuildbotAuth>,
    /// Where the catch-up cursor is kept.
    pub state_file: PathBuf,
    /// Without a state file: start with builds from now on, or report every
    /// build the master has.
    #[serde(default)]
    pub start_from: StartFrom,
    /// Websocket reconnect backoff.
    #[serde(default)]
    pub reconnect: Backoff,
    /// Per-event REST retry backoff.
    #[serde(default)]
    pub retry: Backoff,
    /// Timeout of each REST call and of the websocket handshake (`"30s"`;
    /// old key `request_timeout_secs`, seconds).
    #[serde(
        alias = "request_timeout_secs",
        default = "default_30s",
        deserialize_with = "wasmpush_model::duration::secs"
    )]
    pub request_timeout: Duration,
    /// Ping the master this often; a connection silent for two intervals
    /// is dropped and made again (`"30s"`; old key `ping_interval_secs`).
    #[serde(
        alias = "ping_interval_secs",
        default = "default_30s",
        deserialize_with = "wasmpush_model::duration::secs"
    )]
    pub ping_interval: Duration,
    /// Prefix of the payloads' `url`s; default: `buildbotURL` from the
    /// master's `/config`.
    #[serde(default)]
    pub buildbot_url: Option<String>,
    /// Drop an event (with an error log) after this many failed attempts.
    /// Default: retry for ever.
    #[serde(default)]
    pub give_up_after: Option<u32>,
    /// How long an id missing from a catch-up listing (build N absent while
    /// N+1 is there: on PostgreSQL/MySQL masters N+1 can commit first) is
    /// looked for again before it is given up, with a warning naming it
    /// (`"10m"`, the default). Re-checked at every ping.
    #[serde(default = "default_gap_window", with = "humantime_serde")]
    pub gap_window: Duration,
    /// A name for this master, used in report ids instead of its
    /// `buildbotURL` (see `SourceEvent::event_id`).
    #[serde(default)]
    pub instance: Option<String>,
}

fn default_gap_window() -> Duration {
    Duration::from_secs(600)
}

fn default_30s() -> Duration {
    Duration::from_secs(30)
}

/// Credentials for the master.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum BuildbotAuth {
    /// A www user (`UserPasswordAuth`, `HTPasswdAuth`): log in at
    /// `/auth/login` with HTTP Basic, then use the session cookie.
    Basic(BasicAuth),
    /// `Authorization: Bearer <token>` on every request.
    Bearer(BearerAuth),
}

/// See [`BuildbotConfig::start_from`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartFrom {
    /// Builds running or starting from now on (running ones get `finished`).
    #[default]
    Now,
    /// Every build and buildset the master knows.
    Beginning,
}

/// Exponential backoff with jitter: `initial`, doubling, at most `max`
/// (`{ initial = "500ms", max = "30s" }`; the old keys `initial_ms` and
/// `max_ms` take milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Backoff {
    #[serde(alias = "initial_ms", deserialize_with = "wasmpush_model::duration::millis")]
    pub initial: Duration,
    #[serde(alias = "max_ms", deserialize_with = "wasmpush_model::duration::millis")]
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { initial: Duration::from_millis(500), max: Duration::from_secs(30) }
    }
}

impl Backoff {
    /// The delay before attempt `attempt + 1` (0-based), jittered to 50-100%.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1);
        let base = ms(self.initial).saturating_mul(1u64 << attempt.min(30)).min(ms(self.max));
        let jitter = 0.5 + rand::random::<f64>() * 0.5;
        Duration::from_millis((base as f64 * jitter) as u64)
    }
}

/// Why the buildbot source stopped. Network and master problems are not
/// errors (they are retried); these are.
#[derive(Debug, thiserror::Error)]
pub enum BuildbotError {
    #[error("buildbot source: {field}: {reason}")]
    Config { field: &'static str, reason: String },
    #[error("buildbot source: {0}")]
    Secret(#[from] SecretError),
    #[error("buildbot source: {0}")]
    Cursor(#[from] cursor::CursorError),
    /// The host refused an event (storage fault): the cursor stays before it.
    #[error("buildbot source: {0}; the cursor stays before this event")]
    NotStored(String),
}

/// Where the source is, for health checks and tests ([`run_with_status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Not connected yet.
    Starting,
    /// Connected and subscribed; reporting what was missed.
    CatchingUp,
    /// Caught up; following the websocket.
    Following,
    /// The connection failed or was lost; a reconnect is scheduled.
    Reconnecting { reason: String },
}

/// Follows the master in `config`, sending one [`crate::SourceEvent`] per Buildbot
/// event (kinds in `needs.kinds`) with payloads holding what `needs` asks
/// for. Returns `Ok(())` when the receiver of `tx` is dropped, `Err` only
/// for problems a retry cannot fix (config, credentials, state file).
pub async fn run(config: BuildbotConfig, needs: Needs, tx: crate::submit::EventSender) -> Result<(), BuildbotError> {
    let (status, _) = tokio::sync::watch::channel(Status::Starting);
    run_with_status(config, needs, tx, status).await
}

/// [`run`], publishing its [`Status`] on `status` (e.g. wait for
/// `Following` before starting builds in a test).
pub async fn run_with_status(
    config: BuildbotConfig,
    needs: Needs,
    tx: crate::submit::EventSender,
    status: tokio::sync::watch::Sender<Status>,
) -> Result<(), BuildbotError> {
    run_watching(config, tokio::sync::watch::channel(needs).1, tx, status).await
}

/// [`run_with_status`] with needs that can change while it runs: a hot
/// reload that adds a `build-new` generator or asks for steps, logs or
/// `prev_build` widens `needs`, and every event handled from then on is
/// fetched and sent accordingly. (Events handled before the change were
/// fetched for the old needs; the cursor does not go back for them.)
pub async fn run_watching(
    config: BuildbotConfig,
    needs: tokio::sync::watch::Receiver<Needs>,
    tx: crate::submit::EventSender,
    status: tokio::sync::watch::Sender<Status>,
) -> Result<(), BuildbotError> {
    wasmpush_model::install_crypto_provider();
    let base = parse_base(&config.url)?;
    let credential = match &config.auth {
        None => None,
        Some(BuildbotAuth::Basic(basic)) => Some(rest::Credential::Basic {
            user: basic.user.clone(),
            password: basic.password_source().require("auth.password")?,
        }),
        Some(BuildbotAuth::Bearer(bearer)) => {
            Some(rest::Credential::Bearer(bearer.token_source().require("auth.token")?))
        }
    };
    if let Some(u) = &config.buildbot_url {
        parse_base(u).map_err(|_| BuildbotError::Config {
            field: "buildbot_url",
            reason: format!("{u:?} is not an http(s) URL"),
        })?;
    }
    let timeout = config.request_timeout.max(Duration::from_secs(1));
    let rest = rest::Rest::new(base.clone(), timeout, credential)
        .map_err(|e| BuildbotError::Config { field: "url", reason: e.to_string() })?;
    session::Source::new(config, base, rest, needs, tx, status)?.run().await
}

/// Checks and normalises the master URL (http/https, no credentials in it,
/// ending in `/`).
fn parse_base(raw: &str) -> Result<url::Url, BuildbotError> {
    let bad = |reason: String| BuildbotError::Config { field: "url", reason };
    let mut u = url::Url::parse(raw).map_err(|e| bad(format!("{raw:?}: {e}")))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(bad(format!("{raw:?}: must be http:// or https://")));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("credentials must go in `auth`, not in the URL".into()));
    }
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    u.set_query(None);
    u.set_fragment(None);
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_and_url_checks() {
        let cfg: BuildbotConfig = serde_json::from_value(serde_json::json!({
            "url": "http://127.0.0.1:8010", "state_file": "/tmp/x.json",
            "auth": {"type": "basic", "user": "u", "password_env": "P"}, "retry": {"max_ms": 1000}
        }))
        .unwrap();
        assert_eq!(cfg.retry, Backoff { initial: Duration::from_millis(500), max: Duration::from_secs(1) });
        assert_eq!(cfg.start_from, StartFrom::Now);
        // Durations are humantime strings; the old keys keep their units.
        let new: BuildbotConfig = serde_json::from_value(serde_json::json!({
            "url": "http://h", "state_file": "s", "request_timeout": "1m", "ping_interval": "5s",
            "reconnect": {"initial": "1s", "max": "2m"}
        }))
        .unwrap();
        let old: BuildbotConfig = serde_json::from_value(serde_json::json!({
            "url": "http://h", "state_file": "s", "request_timeout_secs": 60, "ping_interval_secs": 5,
            "reconnect": {"initial_ms": 1000, "max_ms": 120000}
        }))
        .unwrap();
        for c in [&new, &old] {
            assert_eq!((c.request_timeout, c.ping_interval), (Duration::from_secs(60), Duration::from_secs(5)));
            assert_eq!(c.reconnect, Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(120) });
        }
        assert_eq!(parse_base(&cfg.url).unwrap().as_str(), "http://127.0.0.1:8010/");
        assert!(parse_base("http://u:p@h/").unwrap_err().to_string().contains("auth"));
        assert!(parse_base("ftp://h/").is_err());
        assert!(
            serde_json::from_value::<BuildbotConfig>(serde_json::json!({"url": "x", "state_file": "y", "nope": 1}))
                .is_err()
        );
        let b = Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(1) };
        assert!(b.delay(0) <= Duration::from_millis(100) && b.delay(0) >= Duration::from_millis(50));
        assert!(b.delay(20) <= Duration::from_millis(1000) && b.delay(20) >= Duration::from_millis(500));
    }
}
