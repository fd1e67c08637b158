//! `wasmpush-delivery`: the host side of the push. It holds the credentials,
//! checks what a generator asks for, stores every report in a durable outbox
//! before the first attempt, and delivers it with retries until a 2xx or the
//! dead-letter list. Buildbot's `HttpStatusPush` sends once and forgets
//! (spec §d); this crate loses nothing.
//!
//! # Using it (the host)
//! ```text
//! // config: each [[reporter]] table, without the host's `name` and `generator`, is a TargetConfig
//! for (name, cfg) in &reporters { cfg.validate()?; warn_all(cfg.warnings()); }   // `wasmpush check`
//! let delivery = Delivery::open(&outbox_path, reporters).await?;                  // resumes pending reports
//! check_report(gen, &ct, &headers, path.as_deref())?;                             // optional early check
//! delivery.enqueue(Outgoing { target, id, ordering_key, generator, body, content_type, headers, path, method, supersede, keep, fill })?;
//! delivery.wait_idle(Duration::from_secs(30)).await;                              // replay / tests
//! delivery.shutdown().await;
//! // CLI without a running instance:
//! outbox::list(&path)?; outbox::retry(&path, &Selector::Dead)?; outbox::drop(&path, &Selector::Id(id))?;
//! ```
//!
//! # Guarantees
//! * **Durable before acknowledged**: [`Delivery::enqueue`] returns after a
//!   fsync'd redb commit (concurrent enqueues share one commit). A report
//!   leaves the outbox only after a 2xx (or by `outbox drop`).
//! * **At least once, recognisably**: a crash can re-send a report that was
//!   delivered but not yet removed; the copy has the same `webhook-id`.
//! * **Order**: per target, reports with the same `ordering_key` are
//!   delivered in enqueue order; a report that dies does not block the next.
//! * **Isolation**: each target has its own client, queues and
//!   `concurrency` limit; a key waiting for a retry holds no permit, so a
//!   dead target or build never delays another.
//! * **Retries**: connection errors, timeouts, 408, 429 and 5xx are retried
//!   on the target's schedule with jitter and never sooner than
//!   `Retry-After`; other statuses (3xx, 4xx) and exhausted attempts go to
//!   the dead-letter list ([`EntryState::Dead`]). Nothing retries for ever.
//! * **Supersede**: a report with a `supersede` key replaces the target's
//!   previous report with the same key if that one is still pending (not
//!   delivered, not dead): in the commit that stores the new report the old
//!   one becomes [`EntryState::Superseded`] (its body deleted, listed until
//!   the next start) and is never sent afterwards. A request already in
//!   flight completes; its outcome is not recorded (a failure is not
//!   retried). So a "pending" stuck in retries never lands after the
//!   "success" that replaced it. Reports without a key are never replaced.
//! * **Secrets** come from env or files, live only in the host, and are
//!   replaced by `***` in every log line and stored error ([`Redactor`]).
//!
//! # Request layout
//! `{method} {server_url}[/{path}]` (method POST unless the report says
//! otherwise and the target's `methods` allows it) with, in order of precedence (later wins):
//! generator headers, configured `headers`, `Content-Type` (if the report
//! has one), `Authorization` (from `auth`), `webhook-id`,
//! `webhook-timestamp` and, with a signing secret, `webhook-signature`
//! (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`; see
//! [`webhook`]). Redirects are not followed (a 3xx is a permanent failure).
//! The configured `query` parameters are appended to the URL after the
//! generator's own query, per attempt (never stored in the outbox). With a
//! token provider (`auth` of type `oauth2-client-credentials` or
//! `github-app`, see [`token`]) `Authorization` is `Bearer <token>`; a 401
//! makes the host fetch a new token and send again at once, one time.
//!
//! # Reporter options (TOML keys, see [`TargetConfig`])
//! `server_url` (or `server_url_env` / `server_url_file` for a URL that is a secret), `auth` (`{type="basic", user, password_env|password_file|password}` or
//! `{type="bearer", token_env|token_file|token}` or a token provider:
//! `{type="oauth2-client-credentials", token_url, client_id, client_secret_env|client_secret_file, scope}`,
//! `{type="github-app", app_id, installation_id, private_key_file|private_key_env, api_url}`),
//! `headers` (`Name = "literal"` or
//! `Name = { value_env|value_file, prefix, suffix }`), `query` (`name = "literal"` or
//! `name = { env|file }`), `success` (statuses that count as delivered), `verify`, `ca_file`, `cert`, `key`,
//! `debug`, `debug_body_limit`, `skip_encoding` (accepted; bodies are always sent as
//! produced), `timeout`, `retry_schedule`, `retry_jitter`, `max_attempts`,
//! `concurrency`, `methods` (default `["POST"]`), `signing_secret_env|signing_secret_file|signing_secret`.

#![warn(missing_docs)]

pub mod activity;
mod client;
pub mod config;
pub mod faults;
pub mod outbox;
pub mod policy;
mod push;
mod query;
pub mod resolve;
pub mod retry;
pub mod secrets;
pub mod token;
pub mod webhook;
mod worker;

pub use activity::{Attempted, Outcome};
pub use config::{
    AuthConfig, BasicAuth, BearerAuth, ConfigError, DurationValue, HeaderValueConfig, QueryValueConfig, SecretHeader,
    SecretQuery, TargetConfig,
};
/// Values kept from responses: a table of the outbox (`outbox::memory`),
/// also reachable here, its old path.
pub use outbox::memory;
pub use outbox::{Detail, Entry, EntryState, OutboxError, Outgoing, Selector};
pub use policy::{PolicyError, PolicyRule, check_report};
pub use push::{Admitting, Checked, Delivery, DeliveryError, Stats, TargetStats};
pub use resolve::ResolvedTarget;
pub use secrets::{Redactor, Secret};
