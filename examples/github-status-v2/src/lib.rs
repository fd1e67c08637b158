//! Buildbot's `GitHubStatusPush` as a contract 0.2 generator (the guest
//! SDK's `v2` API): one `POST repos/<owner>/<repo>/statuses/<sha>` per
//! sourcestamp of the build's buildset, for started and finished builds.
//!
//! As Buildbot 4.3.0's `buildbot/reporters/github.py` does it:
//!
//! - body `{"state": ..., "description": ..., "target_url": <build url>,
//!   "context": ...}` in that key order, written like Python's `json.dumps`;
//! - `state`: `pending` when the build starts; when it finishes, by result:
//!   success, warnings and skipped → `success`, failure → `failure`,
//!   exception and cancelled → `error`, retry → `pending`, anything else →
//!   `error`;
//! - `description`: `Build started.` / `Build done.` (the default formatters);
//! - owner/repo: the sourcestamp's `project` when it is `owner/repo`, else
//!   parsed from its `repository` URL like Buildbot's `giturlparse`
//!   (`https://github.com/o/r.git`, `git@github.com:o/r.git`,
//!   `ssh://git@host:22/o/r`, ...); a sourcestamp without them, or without a
//!   revision, is skipped (a line in the host log), as Buildbot skips it;
//! - `context`: the setting `context`, default `buildbot/%(prop:buildername)s`
//!   (`%(prop:NAME)s` is replaced by the build property, as Buildbot's
//!   `Interpolate` does; the builder's name when the property is missing).
//!
//! What 0.2 adds: every status carries the supersede key
//! `commit/<sha>/context/<context>`, so a `success` replaces a `pending` for
//! the same commit and context that is still waiting in the outbox (GitHub
//! keeps only the latest status per context anyway).
//!
//! Differences: Buildbot's `BuildRequestGenerator` ("Build pending." when a
//! build request is queued) has no wasmpush event; a `project` with more than
//! one `/` (which makes Buildbot's `split` raise) falls back to the URL.

use wasmpush_guest::payload::{Build, SourceStamp};
use wasmpush_guest::v2::{Error, Event, EventKind, Generator, Info, Level, Request, log};
use wasmpush_guest::{Map, Results, Value};

struct GitHubStatus;

impl Generator for GitHubStatus {
    fn info() -> Info {
        Info::new("github-status-v2", env!("CARGO_PKG_VERSION"))
            .description("GitHub commit status per sourcestamp, like Buildbot's GitHubStatusPush (contract 0.2)")
            .events(&[EventKind::BuildNew, EventKind::BuildFinished])
    }

    fn generate(event: &Event) -> Result<Vec<Request>, Error> {
        let build = event.build()?;
        let (state, description) = if event.kind == EventKind::BuildNew || !build.complete {
            ("pending", "Build started.")
        } else {
            (state(build.result()), "Build done.")
        };
        let context = interpolate(event.setting_or("context", "buildbot/%(prop:buildername)s"), &build);
        let stamps = build.buildset.as_ref().map(|b| b.sourcestamps.as_slice()).unwrap_or_default();
        let mut requests = Vec::new();
        for stamp in stamps {
            let Some((owner, repo)) = owner_repo(stamp) else {
                log(Level::Info, "Skipped status update because required repo information is missing.");
                continue;
            };
            let Some(sha) = stamp.revision.as_deref().filter(|s| !s.is_empty()) else {
                log(
                    Level::Info,
                    &format!("Skipped status update for codebase {:?}, context {context:?}.", stamp.codebase),
                );
                continue;
            };
            let mut body = Map::new();
            body.insert("state".into(), state.into());
            body.insert("description".into(), description.into());
            body.insert("target_url".into(), build.url.clone().map_or(Value::Null, Value::String));
            body.insert("context".into(), context.clone().into());
            let path = format!("repos/{}/{}/statuses/{}", segment(&owner), segment(&repo), segment(sha));
            requests.push(
                Request::post(path).json(&Value::Object(body)).supersede(format!("commit/{sha}/context/{context}")),
            );
        }
        Ok(requests)
    }
}

wasmpush_guest::export_v2!(GitHubStatus);

/// GitHub's state for a finished build's result (Buildbot's table).
fn state(result: Option<Results>) -> &'static str {
    match result {
        Some(Results::Success | Results::Warnings | Results::Skipped) => "success",
        Some(Results::Failure) => "failure",
        Some(Results::Retry) => "pending",
        Some(Results::Exception | Results::Cancelled) | None => "error",
    }
}

/// `%(prop:NAME)s` replaced by the build property NAME (strings as they are,
/// other values as JSON, missing ones empty; `buildername` falls back to the
/// builder's name).
fn interpolate(template: &str, build: &Build) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("%(prop:") {
        let Some(len) = rest[start..].find(")s") else { break };
        out.push_str(&rest[..start]);
        let name = &rest[start + "%(prop:".len()..start + len];
        match build.properties.get(name) {
            Some(Value::String(s)) => out.push_str(s),
            Some(Value::Null) => {}
            Some(v) => out.push_str(&v.to_string()),
            None if name == "buildername" => out.push_str(build.builder_name().unwrap_or_default()),
            None => {}
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// (owner, repo) from the project (`owner/repo`) or the repository URL.
fn owner_repo(stamp: &SourceStamp) -> Option<(String, String)> {
    let pair = match stamp.project.split_once('/') {
        Some((owner, repo)) if !stamp.project.is_empty() && !repo.contains('/') => {
            Some((owner.to_string(), repo.to_string()))
        }
        _ if !stamp.repository.is_empty() => parse_git_url(&stamp.repository),
        _ => None,
    }?;
    let usable = |s: &str| !s.is_empty() && s != "." && s != "..";
    (usable(&pair.0) && usable(&pair.1)).then_some(pair)
}

/// Buildbot's `giturlparse`: `[proto://][user[:password]@]domain(:[port/]|/)[owner/]repo[.git]`.
fn parse_git_url(url: &str) -> Option<(String, String)> {
    let rest = ["https://", "http://", "ssh://", "git://"].iter().find_map(|p| url.strip_prefix(p)).unwrap_or(url);
    // `user[:password]@` (the user holds neither `:` nor `@`, the password
    // anything): the regex tries the last `@` first, then none at all.
    let mut starts: Vec<usize> = rest
        .match_indices('@')
        .map(|(i, _)| i)
        .filter(|&i| !rest[..i].split(':').next().unwrap_or_default().contains('@'))
        .map(|i| i + 1)
        .collect();
    starts.reverse();
    starts.push(0);
    starts.into_iter().find_map(|start| after_user(&rest[start..]))
}

/// `domain(:[port/]|/)[owner/]repo[.git]` → (owner, repo).
fn after_user(s: &str) -> Option<(String, String)> {
    let sep = s.find([':', '/']).filter(|&i| i > 0)?;
    let mut path = &s[sep + 1..];
    if s.as_bytes()[sep] == b':'
        && let Some((port, after)) = path.split_once('/')
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
    {
        path = after;
    }
    let (owner, repo) = path.rsplit_once('/')?;
    let repo = repo.strip_suffix(".git").filter(|r| !r.is_empty()).unwrap_or(repo);
    (!owner.is_empty() && !repo.is_empty()).then(|| (owner.to_string(), repo.to_string()))
}

/// A path segment: anything outside `A-Za-z0-9-._~` percent-encoded (a
/// GitHub owner, repo or sha never needs it; a hostile project name cannot
/// add segments or a query).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
