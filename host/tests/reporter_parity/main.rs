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

mod captures;
#[path = "../common/mod.rs"]
mod common;
mod wasmpush_side;

use captures::*;
use wasmpush_side::*;

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
