//! Token providers end to end, against real HTTP servers on 127.0.0.1.
//!
//! The OAuth2 token endpoint here is a stand-in for Bitbucket Cloud's
//! (`https://bitbucket.org/site/oauth2/access_token`), which cannot run
//! here: it checks what RFC 6749 asks of a client credentials request
//! (POST, form body `grant_type=client_credentials`, HTTP Basic client
//! authentication with form-encoded id and secret) and answers the way
//! Bitbucket does (`access_token`, `token_type`, `expires_in`). The GitHub
//! App stand-in plays `api.github.com`'s
//! `POST /app/installations/{id}/access_tokens`: it verifies the app's RS256
//! JWT with jsonwebtoken's `decode` and the public key of an RSA key that
//! `openssl` makes at test time, and answers `token` and `expires_at`.
//!
//! Each flow: many concurrent reports share one token fetch; a 401 from the
//! target makes the host fetch a new token and send again at once (no
//! retry counted); a short-lived token is fetched again once it has
//! expired; no token, JWT or client secret appears in any log line (debug
//! logging on), stored error or the outbox file. A token endpoint that
//! fails makes the report retry, with an error naming the token URL.

mod common;
mod stand_in;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use common::{fast_target, report};
use stand_in::*;
use wasmpush_delivery::{AuthConfig, Delivery, TargetConfig};

const CLIENT_ID: &str = "wasmpush-client";
/// Needs form-encoding in the Basic credential (RFC 6749 §2.3.1).
const CLIENT_SECRET: &str = "cs-Vt8/x+y z:Q4";
const SCOPE: &str = "repository:write pullrequest";
const APP_ID: u64 = 12345;
const INSTALLATION: u64 = 4242;
const WAIT: Duration = Duration::from_secs(20);

/// The token server's side: what it issued, what the target accepts, and
/// every check that failed.
#[derive(Default)]
struct Issuer {
    issued: Mutex<Vec<String>>,
    valid: Mutex<HashSet<String>>,
    /// Lifetime of the next tokens, in seconds.
    lifetime: AtomicU64,
    /// Answer this many token requests with a 503 first.
    fail_next: AtomicUsize,
    problems: Mutex<Vec<String>>,
    /// Every JWT a GitHub App request carried.
    jwts: Mutex<Vec<String>>,
}

impl Issuer {
    fn new(lifetime: u64) -> Arc<Issuer> {
        let i = Issuer::default();
        i.lifetime.store(lifetime, Ordering::SeqCst);
        Arc::new(i)
    }
    fn issue(&self, prefix: &str) -> String {
        let mut issued = self.issued.lock().unwrap();
        let t = format!("{prefix}{}-Zr7Qm2", issued.len() + 1);
        issued.push(t.clone());
        self.valid.lock().unwrap().insert(t.clone());
        t
    }
    fn issued(&self) -> Vec<String> {
        self.issued.lock().unwrap().clone()
    }
    fn revoke(&self, t: &str) {
        self.valid.lock().unwrap().remove(t);
    }
    fn problem(&self, p: String) -> Answer {
        self.problems.lock().unwrap().push(p.clone());
        Answer::new(400, p)
    }
    fn failing(&self) -> bool {
        self.fail_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Bitbucket Cloud's token endpoint, as far as a client can tell.
fn oauth2_endpoint(issuer: Arc<Issuer>) -> Handler {
    Arc::new(move |req: &Seen| {
        if req.method != "POST" || req.target != "/site/oauth2/access_token" {
            return issuer.problem(format!("token request is {} {}", req.method, req.target));
        }
        let basic = req.header("authorization").and_then(|v| v.strip_prefix("Basic ")).unwrap_or_default();
        let decoded = base64::engine::general_purpose::STANDARD.decode(basic).unwrap_or_default();
        let decoded = String::from_utf8(decoded).unwrap_or_default();
        let (id, secret) = decoded.split_once(':').unwrap_or_default();
        let unform = |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().unwrap().1.into_owned();
        if unform(id) != CLIENT_ID || unform(secret) != CLIENT_SECRET {
            return issuer.problem("client authentication is not Basic id:secret".to_owned());
        }
        if !req.header("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) {
            return issuer.problem(format!("content type {:?}", req.header("content-type")));
        }
        let form: Vec<(String, String)> =
            url::form_urlencoded::parse(&req.body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let want =
            vec![("grant_type".to_owned(), "client_credentials".to_owned()), ("scope".to_owned(), SCOPE.to_owned())];
        if form != want {
            return issuer.problem(format!("form {form:?}"));
        }
        if issuer.failing() {
            // An endpoint that echoes the credentials: they must not leak.
            return Answer::new(503, format!("temporarily unavailable for {CLIENT_ID}:{CLIENT_SECRET}"));
        }
        let token = issuer.issue("bb-at-");
        Answer::json(
            200,
            &serde_json::json!({
                "access_token": token,
                "scopes": SCOPE,
                "token_type": "bearer",
                "expires_in": issuer.lifetime.load(Ordering::SeqCst),
                "state": "client_credentials",
                "refresh_token": "rt-never-used",
            }),
        )
    })
}

/// `api.github.com`'s installation token endpoint: the JWT is verified with
/// the app's public key.
fn github_endpoint(issuer: Arc<Issuer>, public_pem: String) -> Handler {
    Arc::new(move |req: &Seen| {
        let path = format!("/api/v3/app/installations/{INSTALLATION}/access_tokens");
        if req.method != "POST" || req.target != path {
            return issuer.problem(format!("token request is {} {}", req.method, req.target));
        }
        if req.header("accept") != Some("application/vnd.github+json") {
            return issuer.problem(format!("accept {:?}", req.header("accept")));
        }
        let Some(jwt) = req.header("authorization").and_then(|v| v.strip_prefix("Bearer ")) else {
            return issuer.problem("no Bearer JWT".to_owned());
        };
        issuer.jwts.lock().unwrap().push(jwt.to_owned());
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(public_pem.as_bytes()).unwrap();
        let validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        let claims = match jsonwebtoken::decode::<serde_json::Value>(jwt, &key, &validation) {
            Ok(data) => data.claims,
            Err(e) => return issuer.problem(format!("JWT rejected: {e}")),
        };
        let (iat, exp) = (claims["iat"].as_u64().unwrap_or(0), claims["exp"].as_u64().unwrap_or(0));
        let now = now_secs();
        if claims["iss"] != serde_json::json!(APP_ID) || exp != iat + 600 || iat > now - 60 || iat + 90 < now {
            return issuer.problem(format!("claims {claims} at {now}"));
        }
        if issuer.failing() {
            // Echoes the JWT: it must not leak into the stored error.
            return Answer::new(503, format!("unavailable for {jwt}"));
        }
        let token = issuer.issue("ghs_");
        let expires = SystemTime::now() + Duration::from_secs(issuer.lifetime.load(Ordering::SeqCst));
        Answer::json(
            201,
            &serde_json::json!({
                "token": token,
                "expires_at": humantime::format_rfc3339_seconds(expires).to_string(),
                "permissions": {"statuses": "write"},
                "repository_selection": "all",
            }),
        )
    })
}

/// The target: a valid `Bearer` token gets 201, anything else 401. Both
/// answers echo the token, so only the redactor keeps it out of the debug
/// log.
fn target(issuer: Arc<Issuer>) -> Handler {
    Arc::new(move |req: &Seen| {
        let token = req.header("authorization").and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default();
        if issuer.valid.lock().unwrap().contains(token) {
            Answer::new(201, format!(r#"{{"state": "success", "seen": "{token}"}}"#))
        } else {
            Answer::new(401, format!(r#"{{"message": "Bad credentials: {token}"}}"#))
        }
    })
}

/// An RSA key made by the `openssl` command: (private key file in PKCS#1,
/// as GitHub hands it out; the same key in PKCS#8; public key PEM).
fn rsa_key(dir: &Path) -> (PathBuf, PathBuf, String) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap_or_else(|e| {
            panic!("this test needs the `openssl` command (Debian package `openssl`) to make an RSA key: {e}")
        });
        assert!(out.status.success(), "openssl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    run(&["genrsa", "-out", "pkcs8.pem", "2048"]);
    run(&["rsa", "-in", "pkcs8.pem", "-traditional", "-out", "pkcs1.pem"]);
    let public = String::from_utf8(run(&["rsa", "-in", "pkcs8.pem", "-pubout"])).unwrap();
    assert!(public.contains("BEGIN PUBLIC KEY"), "{public}");
    (dir.join("pkcs1.pem"), dir.join("pkcs8.pem"), public)
}

enum Flavor {
    OAuth2,
    GitHubApp,
}

struct Setup {
    issuer: Arc<Issuer>,
    token_srv: StandIn,
    target: StandIn,
    cfg: TargetConfig,
    /// Secrets of the configuration (client secret, private key).
    secrets: Vec<String>,
    _dir: tempfile::TempDir,
}

async fn setup(flavor: Flavor, lifetime: u64) -> Setup {
    capture_logs();
    let dir = tempfile::tempdir().unwrap();
    let issuer = Issuer::new(lifetime);
    let target = start(target(issuer.clone())).await;
    let (token_srv, auth, secrets) = match flavor {
        Flavor::OAuth2 => {
            let secret_file = dir.path().join("client-secret");
            std::fs::write(&secret_file, format!("{CLIENT_SECRET}\n")).unwrap();
            let srv = start(oauth2_endpoint(issuer.clone())).await;
            let auth = AuthConfig::OAuth2ClientCredentials {
                token_url: format!("{}/site/oauth2/access_token", srv.url),
                client_id: CLIENT_ID.to_owned(),
                client_secret: None,
                client_secret_env: None,
                client_secret_file: Some(secret_file),
                scope: Some(SCOPE.to_owned()),
            };
            (srv, auth, vec![CLIENT_SECRET.to_owned()])
        }
        Flavor::GitHubApp => {
            let (pkcs1, pkcs8, public) = rsa_key(dir.path());
            let srv = start(github_endpoint(issuer.clone(), public)).await;
            let api_url = format!("{}/api/v3/", srv.url);
            let auth = |key: PathBuf| AuthConfig::GitHubApp {
                app_id: APP_ID.to_string(),
                installation_id: INSTALLATION.to_string(),
                private_key_file: Some(key),
                private_key_env: None,
                api_url: api_url.clone(),
            };
            // GitHub's PKCS#1 key is what runs; PKCS#8 is accepted too.
            let mut other = TargetConfig::new(&target.url);
            other.auth = Some(auth(pkcs8));
            other.resolve().expect("a PKCS#8 key resolves");
            let pem = std::fs::read_to_string(&pkcs1).unwrap();
            let key_line = pem.lines().nth(5).unwrap().to_owned();
            (srv, auth(pkcs1), vec![key_line])
        }
    };
    let mut cfg = fast_target(&format!("{}/repos/o/r/statuses", target.url));
    cfg.auth = Some(auth);
    cfg.debug = true;
    cfg.concurrency = 8;
    Setup { issuer, token_srv, target, cfg, secrets, _dir: dir }
}

async fn one_token_for_many_a_new_one_after_401_and_after_expiry(flavor: Flavor, name: &str) {
    let s = setup(flavor, 3600).await;
    let outbox = s._dir.path().join("o.redb");
    let d = Delivery::open(&outbox, vec![(name.to_owned(), s.cfg.clone())]).await.unwrap();

    // 1. Twelve reports on twelve keys, up to eight in flight: one fetch.
    let batch = (0..12).map(|i| report(name, &format!("msg-{name}-{i}"), &format!("build:{i}"), "{}")).collect();
    d.enqueue_batch(batch).unwrap();
    until("12 deliveries", WAIT, || d.stats().sent == 12).await;
    assert_eq!(s.token_srv.count(), 1, "concurrent requests share one token fetch");
    let first = s.issuer.issued()[0].clone();
    let seen = s.target.seen();
    assert_eq!(seen.len(), 12);
    for r in &seen {
        assert_eq!(r.header("authorization"), Some(format!("Bearer {first}").as_str()));
    }

    // 2. The target revokes it: 401, a new token, the same request again at once.
    s.issuer.revoke(&first);
    d.enqueue(report(name, &format!("msg-{name}-revoked"), "build:r", "{}")).unwrap();
    until("the report after the 401", WAIT, || d.stats().sent == 13).await;
    assert_eq!(s.token_srv.count(), 2, "one refresh after the 401");
    let second = s.issuer.issued()[1].clone();
    let seen = s.target.seen();
    let [.., refused, accepted] = seen.as_slice() else { panic!("{seen:?}") };
    assert_eq!(refused.header("authorization"), Some(format!("Bearer {first}").as_str()));
    assert_eq!(accepted.header("authorization"), Some(format!("Bearer {second}").as_str()));
    assert_eq!(refused.header("webhook-id"), accepted.header("webhook-id"), "the same report, sent again");
    assert_eq!(d.stats().retried, 0, "sent again within the attempt, not retried later");

    // 3. Tokens now live 2 s; the next 401 brings one, which then expires.
    s.issuer.lifetime.store(2, Ordering::SeqCst);
    s.issuer.revoke(&second);
    d.enqueue(report(name, &format!("msg-{name}-short"), "build:s", "{}")).unwrap();
    until("the report with a short-lived token", WAIT, || d.stats().sent == 14).await;
    assert_eq!(s.token_srv.count(), 3);
    tokio::time::sleep(Duration::from_millis(2500)).await; // past its expiry
    d.enqueue(report(name, &format!("msg-{name}-expired"), "build:e", "{}")).unwrap();
    until("the report after expiry", WAIT, || d.stats().sent == 15).await;
    assert_eq!(s.token_srv.count(), 4, "an expired token is fetched again");
    let fourth = s.issuer.issued()[3].clone();
    let last = s.target.seen().pop().unwrap();
    assert_eq!(last.header("authorization"), Some(format!("Bearer {fourth}").as_str()));
    let stats = d.stats();
    assert_eq!((stats.retried, stats.dead), (0, 0));
    assert!(s.issuer.problems.lock().unwrap().is_empty(), "{:?}", s.issuer.problems.lock().unwrap());
    d.shutdown().await;

    let logs = logs();
    assert!(logs.contains("request: POST") && logs.contains("fetching a new token"), "debug logs are on");
    let mut secrets = s.secrets.clone();
    secrets.extend(s.issuer.issued());
    secrets.extend(s.issuer.jwts.lock().unwrap().iter().cloned());
    let file = String::from_utf8_lossy(&std::fs::read(&outbox).unwrap()).into_owned();
    for secret in &secrets {
        assert_hidden("the log", &logs, secret);
        assert_hidden("the outbox file", &file, secret);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_client_credentials_one_fetch_refresh_on_401_and_on_expiry() {
    one_token_for_many_a_new_one_after_401_and_after_expiry(Flavor::OAuth2, "bitbucket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_app_jwt_verified_one_fetch_refresh_on_401_and_on_expiry() {
    one_token_for_many_a_new_one_after_401_and_after_expiry(Flavor::GitHubApp, "github").await;
}

async fn a_failing_token_endpoint_retries_the_report(flavor: Flavor, name: &str, token_path: &str) {
    let s = setup(flavor, 3600).await;
    s.issuer.fail_next.store(2, Ordering::SeqCst);
    let outbox = s._dir.path().join("o.redb");
    let d = Delivery::open(&outbox, vec![(name.to_owned(), s.cfg.clone())]).await.unwrap();
    d.enqueue(report(name, &format!("msg-{name}-1"), "k", "{}")).unwrap();
    until("delivery once the token endpoint is back", WAIT, || d.stats().sent == 1).await;
    let stats = d.stats();
    assert_eq!((stats.retried, stats.dead), (2, 0), "two retryable failures, no dead letter");
    assert_eq!(s.token_srv.count(), 3);
    assert_eq!(s.target.count(), 1, "nothing is sent without a token");
    let error = d.target_stats().into_iter().find(|t| t.reporter == name).unwrap().last_error.unwrap();
    assert!(error.contains(&format!("{}{token_path}", s.token_srv.url)), "names the token URL: {error}");
    assert!(error.contains("HTTP 503"), "{error}");
    d.shutdown().await;
    let logs = logs();
    assert!(logs.contains("delivery failed; retrying"), "the retry is logged");
    let mut secrets = s.secrets.clone();
    secrets.extend(s.issuer.issued());
    secrets.extend(s.issuer.jwts.lock().unwrap().iter().cloned());
    for secret in &secrets {
        assert_hidden("the stored error", &error, secret);
        assert_hidden("the log", &logs, secret);
    }
    assert!(error.contains("***"), "the echoed credential is redacted: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_token_endpoint_failure_is_retryable_and_names_the_url() {
    a_failing_token_endpoint_retries_the_report(Flavor::OAuth2, "bb-down", "/site/oauth2/access_token").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_token_endpoint_failure_is_retryable_and_names_the_url() {
    let path = format!("/api/v3/app/installations/{INSTALLATION}/access_tokens");
    a_failing_token_endpoint_retries_the_report(Flavor::GitHubApp, "gh-down", &path).await;
}

#[test]
fn token_providers_parse_from_toml_with_defaults() {
    let cfg: TargetConfig = toml::from_str(
        r#"
        server_url = "https://api.bitbucket.org/2.0/repositories"
        auth = { type = "oauth2-client-credentials", token_url = "https://bitbucket.org/site/oauth2/access_token", client_id = "k", client_secret_env = "BB_SECRET" }
        "#,
    )
    .unwrap();
    cfg.validate().unwrap();
    assert!(cfg.warnings().is_empty(), "{:?}", cfg.warnings());
    let gh: TargetConfig = toml::from_str(
        r#"
        server_url = "https://api.github.com"
        auth = { type = "github-app", app_id = 12345, installation_id = 4242, private_key_file = "/etc/wasmpush/app.pem" }
        "#,
    )
    .unwrap();
    gh.validate().unwrap();
    let Some(AuthConfig::GitHubApp { api_url, app_id, .. }) = &gh.auth else { panic!() };
    assert_eq!((api_url.as_str(), app_id.as_str()), ("https://api.github.com", "12345"));
    let err = gh.resolve().unwrap_err();
    assert_eq!(err.field, "auth.private_key_file", "{err}");
    assert!(err.to_string().contains("/etc/wasmpush/app.pem"), "{err}");
}
