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

use wasmpush_guest::buildbot::{interpolate, owner_repo, segment};
use wasmpush_guest::v2::{Error, Event, EventKind, Generator, Info, Level, Request, log};
use wasmpush_guest::{Map, Results, Value};

struct GitHubStatus;

impl Generator for GitHubStatus {
    fn info() -> Info {
        Info::new("github-status", env!("CARGO_PKG_VERSION"))
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
