//! Parity with Buildbot, measured (issue 14): a real Buildbot 4.3.0 master
//! (tests/buildbot/parity.cfg, started by tests/buildbot/harness.py) runs
//! Buildbot's own forge reporters, each posting to a capture receiver on
//! 127.0.0.1 under `/buildbot/<ReporterClass>`; the receiver answers like the
//! forges where a reporter reads the answer (an emulation: GitLab project
//! lookup, OAuth token, 201/204). One `wasmpush run` follows the same master
//! (`buildbot` source) with one `[[reporter]]` per catalog plugin, posting to
//! the same receiver under `/wasmpush/<plugin>`, its `[reporter]` block taken
//! from the plugin's `plugin.toml` with only the URLs rebased on the receiver.
//!
//! The builds (one master start, all concurrent): pass, fail, warn,
//! exception, cancelled, a two-codebase build and a pull-request/Gerrit
//! change build. Per reporter and per build the requests of both sides are
//! compared, per resource (commit) in the order they arrived: method, path
//! after the prefix, query, JSON body (parsed: same keys and values), auth
//! headers (scheme and value: both sides get the same test credentials) and
//! content type. Only the rules of [`NORMALISATION`] may make them differ.
//! The test fails unless every reporter captured at least one request per
//! build kind it applies to, on both sides.
//!
//! `cargo test --test reporter_parity -- --nocapture` prints the comparison
//! table (reporter → builds compared → requests identical / deliberately
//! different) to stderr. Needs the whole catalog built: `bash
//! scripts/build-generators.sh` (zulip is Python: not built with
//! WASMPUSH_ONLY_RUST=1).

mod common;

use common::buildbot::{Cleanup, harness, python};

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Every build kind of `harness.py run-parity-builds`.
const ALL: &[&str] = &["pass", "fail", "warn", "exception", "slow", "multi", "pr"];
/// Builds with one codebase, whose `project` is a build property (Buildbot's
/// ZulipStatusPush raises KeyError 'project' on the two-codebase build and
/// sends nothing; the zulip plugin refuses it likewise).
const SINGLE_CODEBASE: &[&str] = &["pass", "fail", "warn", "exception", "slow", "pr"];
/// Builds with a pull request / Gerrit change.
const PR: &[&str] = &["pr"];
/// Builds whose result is 0, 1 or 2 and that carry a pull request: what
/// Buildbot's `BuildStatusGenerator()` (default mode) reports on.
const PR_FINISHED: &[&str] = &["pr"];

/// One compared reporter: Buildbot's class (capture prefix
/// `/buildbot/<buildbot>`) ↔ catalog plugin (prefix `/wasmpush/<plugin>`).
struct Row {
    /// Buildbot 4.3.0 reporter class, as configured in parity.cfg.
    buildbot: &'static str,
    /// Catalog plugin (`plugins/<plugin>/`, `target/catalog/<plugin>.wasm`).
    plugin: &'static str,
    /// Keys of the `[[reporter.generator]]` table besides `wasm`: Buildbot's
    /// default generators of that reporter.
    generator: &'static str,
    /// Overrides of the plugin.toml `[reporter]` block, dotted key → TOML
    /// value (non-secret values parity.cfg gives Buildbot, e.g. a user name).
    reporter: &'static [(&'static str, &'static str)],
    /// The environment of `wasmpush run`: the secrets the `[reporter]` block
    /// names, with the values parity.cfg gives Buildbot.
    env: &'static [(&'static str, &'static str)],
    /// The build kinds this reporter must report on (both sides).
    builds: &'static [&'static str],
}

/// The compared reporters. A row whose plugin is missing fails the test.
const REPORTERS: &[Row] = &[
    Row {
        buildbot: "GitHubStatusPush",
        plugin: "github-status",
        generator: "kind = \"build-start-end\"",
        reporter: &[],
        env: &[("GITHUB_TOKEN", "gh-token")],
        builds: ALL,
    },
    Row {
        buildbot: "GitHubCommentPush",
        plugin: "github-comment",
        generator: "kind = \"build-start-end\"",
        reporter: &[],
        env: &[("GITHUB_TOKEN", "gh-token")],
        builds: PR,
    },
    Row {
        buildbot: "GitLabStatusPush",
        plugin: "gitlab-status",
        generator: "kind = \"build-start-end\"",
        reporter: &[],
        env: &[("GITLAB_TOKEN", "gl-token")],
        builds: ALL,
    },
    Row {
        buildbot: "BitbucketStatusPush",
        plugin: "bitbucket-cloud-status",
        generator: "kind = \"build-start-end\"",
        reporter: &[("auth.client_id", "\"bb-key\"")],
        env: &[("BB_SECRET", "bb-secret")],
        builds: ALL,
    },
    Row {
        buildbot: "BitbucketServerStatusPush",
        plugin: "bitbucket-server-status",
        generator: "kind = \"build-start-end\"",
        reporter: &[("auth.user", "\"bbs-user\"")],
        env: &[("BITBUCKET_PASSWORD", "bbs-password")],
        builds: ALL,
    },
    Row {
        buildbot: "BitbucketServerCoreAPIStatusPush",
        plugin: "bitbucket-server-core",
        generator: "kind = \"build-start-end\"",
        reporter: &[],
        env: &[("BITBUCKET_TOKEN", "bbs-token")],
        builds: ALL,
    },
    Row {
        buildbot: "BitbucketServerPRCommentPush",
        plugin: "bitbucket-server-pr-comment",
        generator: "kind = \"build-status\"\nreport_new = false",
        reporter: &[("auth.user", "\"bbs-user\"")],
        env: &[("BITBUCKET_PASSWORD", "bbs-password")],
        builds: PR_FINISHED,
    },
    Row {
        buildbot: "GerritVerifyStatusPush",
        plugin: "gerrit-verify",
        generator: "kind = \"build-start-end\"",
        reporter: &[("auth.user", "\"gerrit-user\"")],
        env: &[("GERRIT_HTTP_PASSWORD", "gerrit-password")],
        builds: PR,
    },
    Row {
        buildbot: "ZulipStatusPush",
        plugin: "zulip",
        generator: "kind = \"build-start-end\"",
        reporter: &[],
        env: &[("ZULIP_KEY", "zulip-key")],
        builds: SINGLE_CODEBASE,
    },
];

/// How the config names a plugin: `catalog:<name>` when `plugins/catalog.lock`
/// (compiled into the host) pins the file the catalog build wrote, else
/// that file's path (a plugin not locked yet, or a lock not rewritten after
/// a rebuild: that is `host/tests/catalog.rs`'s business, not parity's).
fn plugin_wasm(name: &str) -> String {
    let p = plugin_file(name);
    let lock = std::fs::read_to_string(common::repo().join("plugins/catalog.lock")).unwrap_or_default();
    let locked = lock.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"').to_string())
    });
    let out = Command::new("sha256sum").arg(&p).output().unwrap();
    let actual = String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or("").to_string();
    match locked {
        Some(l) if l == actual => format!("catalog:{name}"),
        Some(_) => {
            eprintln!("reporter parity: {name}.wasm differs from plugins/catalog.lock: using the file");
            p.to_str().unwrap().to_string()
        }
        None => p.to_str().unwrap().to_string(),
    }
}

/// `target/catalog/<name>.wasm`; a missing one fails the test, loudly.
fn plugin_file(name: &str) -> PathBuf {
    let p = common::repo().join("target/catalog").join(format!("{name}.wasm"));
    assert!(
        p.exists(),
        "reporter parity: catalog plugin {name:?} is missing ({}): build the catalog with \
         `bash scripts/build-generators.sh` (WASMPUSH_ONLY_RUST=1 skips the non-Rust plugins, \
         e.g. zulip), or the plugin does not exist yet",
        p.display()
    );
    p
}

/// A rule that lets the two sides differ. Every difference the test accepts
/// is one of these (mirrored in docs/reporters.md, "Parity with Buildbot").
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Rule {
    BuildRequest,
    GitLabLookup,
    OAuthToken,
    GitLabProject,
    QueryOrder,
}

/// The normalisation table: rule, reporters, side, field, why.
const NORMALISATION: &[(Rule, &str, &str, &str, &str)] = &[
    (
        Rule::BuildRequest,
        "GitHubStatusPush, GitLabStatusPush, BitbucketServerCoreAPIStatusPush",
        "Buildbot",
        "whole request whose target URL is `#/buildrequests/N`",
        "Buildbot's default BuildRequestGenerator posts \"Build pending.\" when a request is queued; \
         wasmpush has no build-request event (dropped, counted as deliberately different)",
    ),
    (
        Rule::GitLabLookup,
        "GitLabStatusPush",
        "both",
        "`GET /api/v4/projects/<owner%2Frepo>`",
        "Buildbot looks the numeric project id up (cached per reporter); a plugin may address the project \
         by its URL-encoded path instead, which GitLab accepts (dropped)",
    ),
    (
        Rule::OAuthToken,
        "BitbucketStatusPush",
        "both",
        "`POST .../site/oauth2/access_token`",
        "Buildbot fetches a token before every report, the host once per hour (cached): the token \
         requests are dropped; the statuses must carry the same `Bearer` token",
    ),
    (
        Rule::GitLabProject,
        "GitLabStatusPush",
        "both",
        "path segment after `/api/v4/projects/`",
        "numeric id (42 from the lookup) and URL-encoded path (`o%2Fr`) name the same project: both \
         become `{project}`",
    ),
    (
        Rule::QueryOrder,
        "all",
        "both",
        "order of query parameters",
        "parameters are compared as a sorted list (the host appends its `query` parameters after the \
         plugin's)",
    ),
];

/// Whether `r` is in [`NORMALISATION`]: the code applies a rule only then.
fn applied(r: Rule) -> bool {
    NORMALISATION.iter().any(|n| n.0 == r)
}

fn rule_name(r: Rule) -> &'static str {
    match r {
        Rule::BuildRequest => "build-request pending",
        Rule::GitLabLookup => "GitLab project lookup",
        Rule::OAuthToken => "OAuth token request",
        Rule::GitLabProject => "GitLab project id/path",
        Rule::QueryOrder => "query order",
    }
}

// ------------------------------------------------------------------ harness

// ------------------------------------------------------------- wasmpush side

/// `url` with its scheme and authority replaced by `base` (its path kept).
fn rebase(url: &str, base: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    format!("{base}{}", path.trim_end_matches('/'))
}

/// Every environment variable a `[reporter]` block reads (`*_env`, `env`).
fn env_names(v: &toml::Value, out: &mut BTreeSet<String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                match v {
                    toml::Value::String(s) if k == "env" || k.ends_with("_env") => {
                        out.insert(s.clone());
                    }
                    _ => env_names(v, out),
                }
            }
        }
        toml::Value::Array(a) => a.iter().for_each(|v| env_names(v, out)),
        _ => {}
    }
}

/// The `[[reporter]]` table for `row`: plugin.toml's `[reporter]` block with
/// the URLs on the capture receiver, the row's overrides and generator.
fn reporter_table(row: &Row, capture_url: &str) -> toml::Table {
    let manifest = common::repo().join("plugins").join(row.plugin).join("plugin.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("reporter parity: {}: {e} (plugin {:?} missing?)", manifest.display(), row.plugin));
    let manifest: toml::Table = text.parse().unwrap_or_else(|e| panic!("{}: {e}", row.plugin));
    let mut r = manifest
        .get("reporter")
        .and_then(toml::Value::as_table)
        .cloned()
        .unwrap_or_else(|| panic!("plugins/{}/plugin.toml has no [reporter] block", row.plugin));
    let base = format!("{capture_url}/wasmpush/{}", row.plugin);
    let server = r.get("server_url").and_then(toml::Value::as_str).unwrap_or("").to_string();
    r.insert("server_url".into(), rebase(&server, &base).into());
    if let Some(auth) = r.get_mut("auth").and_then(toml::Value::as_table_mut) {
        for key in ["token_url", "api_url"] {
            if let Some(u) = auth.get(key).and_then(toml::Value::as_str).map(str::to_string) {
                auth.insert(key.into(), rebase(&u, &base).into());
            }
        }
    }
    for (key, value) in row.reporter {
        let value: toml::Table = format!("v = {value}").parse().unwrap();
        let mut at = &mut r;
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().unwrap();
        for p in parts {
            at = at.entry(p).or_insert_with(|| toml::Table::new().into()).as_table_mut().unwrap();
        }
        at.insert(last.into(), value["v"].clone());
    }
    let mut names = BTreeSet::new();
    env_names(&toml::Value::Table(r.clone()), &mut names);
    let given: BTreeSet<String> = row.env.iter().map(|(k, _)| k.to_string()).collect();
    assert!(
        names.is_subset(&given),
        "reporter parity: plugins/{}/plugin.toml reads {names:?}; the row gives {given:?}",
        row.plugin
    );
    r.insert("name".into(), row.plugin.into());
    let mut generator: toml::Table = row.generator.parse().unwrap();
    generator.insert("wasm".into(), plugin_wasm(row.plugin).into());
    r.insert("generator".into(), toml::Value::Array(vec![generator.into()]));
    r
}

fn wasmpush_run(dir: &Path, buildbot_url: &str, capture_url: &str) -> Child {
    let mut cfg = toml::Table::new();
    let mut source = toml::Table::new();
    source.insert("type".into(), "buildbot".into());
    source.insert("url".into(), buildbot_url.into());
    source.insert("state_file".into(), "cursor.json".into());
    source.insert("start_from".into(), "beginning".into());
    cfg.insert("source".into(), toml::Value::Array(vec![source.into()]));
    let mut outbox = toml::Table::new();
    outbox.insert("path".into(), "outbox.redb".into());
    cfg.insert("outbox".into(), outbox.into());
    let mut runtime = toml::Table::new();
    runtime.insert("cache_dir".into(), "cache".into());
    cfg.insert("runtime".into(), runtime.into());
    let reporters = REPORTERS.iter().map(|row| toml::Value::Table(reporter_table(row, capture_url))).collect();
    cfg.insert("reporter".into(), toml::Value::Array(reporters));
    let path = dir.join("wasmpush.toml");
    std::fs::write(&path, toml::to_string(&cfg).unwrap()).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmpush"));
    cmd.args(["run", path.to_str().unwrap()]);
    for row in REPORTERS {
        for (k, v) in row.env {
            cmd.env(k, v);
        }
    }
    cmd.stdout(Stdio::null()).stderr(std::fs::File::create(dir.join("wasmpush.log")).unwrap()).spawn().unwrap()
}

// ---------------------------------------------------------------- captures

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Side {
    Buildbot,
    Wasmpush,
}

/// One captured request, as compared.
#[derive(Clone, Debug)]
struct Req {
    side: Side,
    row: usize,
    method: String,
    /// Path after the prefix, without the query (normalised).
    path: String,
    /// Query parameters, sorted (rule QueryOrder).
    query: Vec<(String, String)>,
    body: Value,
    /// `authorization` and `private-token` headers, lowercase names.
    auth: Vec<(String, String)>,
    content_type: String,
    at: f64,
}

impl Req {
    fn same(&self, other: &Req) -> Vec<String> {
        let mut diff = Vec::new();
        let mut field = |name: &str, a: String, b: String| {
            if a != b {
                diff.push(format!("{name}: Buildbot {a} | wasmpush {b}"));
            }
        };
        field("method", self.method.clone(), other.method.clone());
        field("path", self.path.clone(), other.path.clone());
        field("query", format!("{:?}", self.query), format!("{:?}", other.query));
        if self.body != other.body {
            field("body", self.body.to_string(), other.body.to_string());
        }
        field("auth", format!("{:?}", self.auth), format!("{:?}", other.auth));
        field("content type", self.content_type.clone(), other.content_type.clone());
        diff
    }

    /// The state this request reports, for the printed state order.
    fn state(&self) -> String {
        for k in ["state", "event", "value"] {
            if let Some(v) = self.body.get(k) {
                return v.as_str().map_or(v.to_string(), str::to_string);
            }
        }
        "comment".into()
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(v) => {
                    out.push(v);
                    i += 3;
                }
                Err(_) => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a capture line into a request of one row's side, or the rule
/// that drops it. None: not a compared reporter's request.
fn parse(c: &Value) -> Option<Result<Req, (Side, usize, Rule)>> {
    let full = c["path"].as_str()?;
    let (side, row, rest) = REPORTERS.iter().enumerate().find_map(|(i, row)| {
        let b = format!("/buildbot/{}", row.buildbot);
        let w = format!("/wasmpush/{}", row.plugin);
        if let Some(rest) = full.strip_prefix(&b).filter(|r| r.is_empty() || r.starts_with(['/', '?'])) {
            Some((Side::Buildbot, i, rest.to_string()))
        } else {
            full.strip_prefix(&w)
                .filter(|r| r.is_empty() || r.starts_with(['/', '?']))
                .map(|rest| (Side::Wasmpush, i, rest.to_string()))
        }
    })?;
    let method = c["method"].as_str().unwrap_or("POST").to_string();
    let (path, query) = rest.split_once('?').map_or((rest.clone(), ""), |(p, q)| (p.to_string(), q));
    let headers: Vec<(String, String)> = c["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h[0].as_str().unwrap().to_ascii_lowercase(), h[1].as_str().unwrap().to_string()))
        .collect();
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let raw = c["body"].as_str().unwrap_or("");
    let body = serde_json::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.to_string()));

    // Rules that drop a whole request.
    if applied(Rule::OAuthToken) && path.ends_with("/oauth2/access_token") {
        return Some(Err((side, row, Rule::OAuthToken)));
    }
    if applied(Rule::GitLabLookup) && method == "GET" && REPORTERS[row].buildbot == "GitLabStatusPush" {
        return Some(Err((side, row, Rule::GitLabLookup)));
    }
    let url = ["target_url", "url"].iter().find_map(|k| body.get(*k).and_then(Value::as_str)).unwrap_or("");
    if applied(Rule::BuildRequest) && side == Side::Buildbot && url.contains("#/buildrequests/") {
        return Some(Err((side, row, Rule::BuildRequest)));
    }
    // Rules that rewrite a field.
    let mut path = path;
    if applied(Rule::GitLabProject)
        && REPORTERS[row].buildbot == "GitLabStatusPush"
        && let Some(after) = path.strip_prefix("/api/v4/projects/")
    {
        let tail = after.find('/').map_or("", |i| &after[i..]);
        path = format!("/api/v4/projects/{{project}}{tail}");
    }
    let mut query: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    if applied(Rule::QueryOrder) {
        query.sort();
    }
    let mut auth: Vec<(String, String)> =
        headers.iter().filter(|(k, _)| k == "authorization" || k == "private-token").cloned().collect();
    auth.sort();
    let content_type = header("content-type").unwrap_or_default().split(';').next().unwrap().trim().to_string();
    Some(Ok(Req {
        side,
        row,
        method,
        path,
        query,
        body,
        auth,
        content_type,
        at: c["received_at"].as_f64().unwrap_or(0.0),
    }))
}

/// The build kind a request is about: a revision in its path, else the
/// build's URL in its body, else (a reporter that only reports on pull
/// requests) `pr`.
fn kind_of<'a>(req: &Req, builds: &'a [Value]) -> Option<&'a str> {
    for b in builds {
        let revs = b["revisions"].as_object().unwrap();
        if revs.values().any(|r| req.path.contains(r.as_str().unwrap())) {
            return b["kind"].as_str();
        }
    }
    let text = req.body.to_string();
    for b in builds {
        let url = b["url"].as_str().unwrap();
        let json_url = serde_json::to_string(url).unwrap();
        let json_url = json_url.trim_matches('"');
        for (i, _) in text.match_indices(json_url) {
            let next = text[i + json_url.len()..].chars().next();
            if !next.is_some_and(|c| c.is_ascii_digit()) {
                return b["kind"].as_str();
            }
        }
    }
    if REPORTERS[req.row].builds == PR || REPORTERS[req.row].builds == PR_FINISHED {
        return Some("pr");
    }
    None
}

fn read_captures(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Requests per (row, kind, side), in arrival order, and drops per (row, side, rule).
type Grouped = BTreeMap<(usize, String, Side), Vec<Req>>;
type Dropped = BTreeMap<(usize, Side, Rule), usize>;

fn group(captures: &[Value], builds: &[Value]) -> (Grouped, Dropped, Vec<Req>) {
    let mut grouped = Grouped::new();
    let mut dropped = Dropped::new();
    let mut unknown = Vec::new();
    let mut reqs: Vec<Req> = Vec::new();
    for c in captures {
        match parse(c) {
            None => {}
            Some(Err((side, row, rule))) => *dropped.entry((row, side, rule)).or_default() += 1,
            Some(Ok(r)) => reqs.push(r),
        }
    }
    reqs.sort_by(|a, b| a.at.total_cmp(&b.at));
    for r in reqs {
        match kind_of(&r, builds) {
            Some(k) => grouped.entry((r.row, k.to_string(), r.side)).or_default().push(r),
            None => unknown.push(r),
        }
    }
    (grouped, dropped, unknown)
}

fn covered(grouped: &Grouped) -> Vec<String> {
    let mut missing = Vec::new();
    for (i, row) in REPORTERS.iter().enumerate() {
        for kind in row.builds {
            for side in [Side::Buildbot, Side::Wasmpush] {
                if grouped.get(&(i, kind.to_string(), side)).is_none_or(Vec::is_empty) {
                    missing.push(format!("{} ↔ {}: no {side:?} request for build {kind}", row.buildbot, row.plugin));
                }
            }
        }
    }
    missing
}

#[test]
fn catalog_plugins_send_what_buildbots_reporters_send() {
    let started = Instant::now();
    // Fail before anything starts if a listed plugin is missing.
    for row in REPORTERS {
        plugin_file(row.plugin);
    }
    let py = python();
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let capture = dir.path().join("capture.jsonl");
    let state = harness(
        &py,
        &[
            "start",
            "--dir",
            run_dir.to_str().unwrap(),
            "--config",
            "parity.cfg",
            "--forges",
            "--capture-out",
            capture.to_str().unwrap(),
        ],
    );
    let mut cleanup = Cleanup { py: py.clone(), run_dir: run_dir.clone(), children: Vec::new() };
    let master_up = started.elapsed();
    let buildbot_url = state["buildbot_url"].as_str().unwrap();
    let capture_url = state["capture_url"].as_str().unwrap().trim_end_matches('/');
    cleanup.children.push(wasmpush_run(dir.path(), buildbot_url, capture_url));

    // Builds start once wasmpush follows the master live: a build that
    // started and finished before would reach it in one catch-up, where its
    // `pending` may be superseded by the result before it is sent (by design).
    let t_follow = Instant::now();
    loop {
        let log = std::fs::read_to_string(dir.path().join("wasmpush.log")).unwrap_or_default();
        if log.contains("following events") {
            break;
        }
        if let Some(status) = cleanup.children[0].try_wait().unwrap() {
            panic!("wasmpush run exited ({status}) before following the master:\n{log}");
        }
        assert!(t_follow.elapsed() < Duration::from_secs(180), "wasmpush did not follow the master:\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let following = t_follow.elapsed();
    let t_builds = Instant::now();
    let builds = harness(&py, &["run-parity-builds", "--dir", run_dir.to_str().unwrap()]);
    let builds_took = t_builds.elapsed();
    let builds = builds["builds"].as_array().unwrap().clone();
    let results: BTreeMap<&str, i64> =
        builds.iter().map(|b| (b["kind"].as_str().unwrap(), b["results"].as_i64().unwrap())).collect();
    for (kind, want) in [("pass", 0), ("warn", 1), ("fail", 2), ("exception", 4), ("slow", 6), ("multi", 0), ("pr", 0)]
    {
        assert_eq!(results.get(kind), Some(&want), "build {kind}: {results:?}");
    }

    // Wait until every reporter reported every build on both sides and the
    // receiver has been quiet for 3 s (late `finished` requests).
    let t_wait = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(180);
    let (mut last_len, mut quiet_since) = (usize::MAX, Instant::now());
    let captures = loop {
        let captures = read_captures(&capture);
        if captures.len() != last_len {
            (last_len, quiet_since) = (captures.len(), Instant::now());
        }
        if let Some(status) = cleanup.children[0].try_wait().unwrap() {
            let log = std::fs::read_to_string(dir.path().join("wasmpush.log")).unwrap_or_default();
            panic!("wasmpush run exited ({status}) while the reports were awaited:\n{log}");
        }
        let (grouped, _, _) = group(&captures, &builds);
        let done = covered(&grouped).is_empty() && quiet_since.elapsed() > Duration::from_secs(3);
        if done || Instant::now() > deadline {
            break captures;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let waited = t_wait.elapsed();
    let log = std::fs::read_to_string(dir.path().join("wasmpush.log")).unwrap_or_default();
    let (grouped, dropped, unknown) = group(&captures, &builds);

    let mut failures = covered(&grouped);
    for r in &unknown {
        failures.push(format!(
            "{} ↔ {}: {:?} request names no build: {} {}",
            REPORTERS[r.row].buildbot, REPORTERS[r.row].plugin, r.side, r.method, r.path
        ));
    }
    // Compare per reporter, build and resource, in arrival order.
    let mut table = Vec::new();
    for (i, row) in REPORTERS.iter().enumerate() {
        let (mut kinds, mut identical, mut different) = (0, 0, 0);
        let mut states = Vec::new();
        for kind in ALL {
            let empty = Vec::new();
            let bb = grouped.get(&(i, kind.to_string(), Side::Buildbot)).unwrap_or(&empty);
            let wp = grouped.get(&(i, kind.to_string(), Side::Wasmpush)).unwrap_or(&empty);
            if bb.is_empty() && wp.is_empty() {
                continue;
            }
            kinds += 1;
            let paths: BTreeSet<&str> = bb.iter().chain(wp).map(|r| r.path.as_str()).collect();
            for path in paths {
                let b: Vec<&Req> = bb.iter().filter(|r| r.path == path).collect();
                let w: Vec<&Req> = wp.iter().filter(|r| r.path == path).collect();
                let order = |v: &[&Req]| v.iter().map(|r| r.state()).collect::<Vec<_>>().join("→");
                if order(&b) != order(&w) {
                    failures.push(format!(
                        "{} ↔ {} build {kind} {path}: states Buildbot [{}] wasmpush [{}]",
                        row.buildbot,
                        row.plugin,
                        order(&b),
                        order(&w)
                    ));
                }
                states.push(format!("{kind}:{}", order(&b)));
                for (x, y) in b.iter().zip(&w) {
                    let diff = x.same(y);
                    if diff.is_empty() {
                        identical += 1;
                    } else {
                        failures.push(format!(
                            "{} ↔ {} build {kind} {path} ({}):\n      {}",
                            row.buildbot,
                            row.plugin,
                            x.state(),
                            diff.join("\n      ")
                        ));
                    }
                }
                different += b.len().abs_diff(w.len());
            }
        }
        let drops: Vec<String> = dropped
            .iter()
            .filter(|((r, _, _), _)| *r == i)
            .map(|((_, side, rule), n)| format!("{n} {} ({side:?})", rule_name(*rule)))
            .collect();
        let deliberate: usize = dropped.iter().filter(|((r, _, _), _)| *r == i).map(|(_, n)| n).sum();
        table.push((row, kinds, identical, deliberate, different, drops, states));
    }

    eprintln!("\nreporter parity (Buildbot 4.3.0 ↔ wasmpush catalog):");
    eprintln!(
        "| Buildbot reporter | catalog plugin | builds compared | requests identical | deliberately different | mismatched |"
    );
    eprintln!("|---|---|---|---|---|---|");
    for (row, kinds, identical, deliberate, different, drops, _) in &table {
        eprintln!(
            "| {} | {} | {kinds}/{} | {identical} | {deliberate}{} | {different} |",
            row.buildbot,
            row.plugin,
            row.builds.len(),
            if drops.is_empty() { String::new() } else { format!(": {}", drops.join(", ")) }
        );
    }
    for (row, .., states) in &table {
        eprintln!("  {} states per commit: {}", row.plugin, states.join(" "));
    }
    eprintln!("normalisation (the only differences accepted):");
    for (rule, reporters, side, field, why) in NORMALISATION {
        eprintln!("  {} [{reporters}; {side}] {field}: {why}", rule_name(*rule));
    }
    let total = started.elapsed();
    eprintln!(
        "wall time {:.1}s (master up {:.1}s, wasmpush following {:.1}s, builds {:.1}s, waiting for reports {:.1}s)\n",
        total.as_secs_f64(),
        master_up.as_secs_f64(),
        following.as_secs_f64(),
        builds_took.as_secs_f64(),
        waited.as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "reporter parity: {} problem(s):\n  {}\nwasmpush log (tail):\n{}",
        failures.len(),
        failures.join("\n  "),
        log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
    );
}
