//! Buildbot's `GitLabStatusPush` as a contract 0.2 generator: one
//! `POST projects/<project>/statuses/<sha>` per sourcestamp of the build's
//! buildset, for started and finished builds (the reporter's `server_url` is
//! Buildbot's `baseURL` + `/api/v4`).
//!
//! As Buildbot 4.3.0's `buildbot/reporters/gitlab.py` does it:
//!
//! - body `{"state", "ref", "description", "target_url", "name"}` in that
//!   key order (`target_url` left out when the build has no URL), written
//!   like Python's `json.dumps`;
//! - `state`: a finished build by result: success, warnings and skipped →
//!   `success`, failure and exception → `failed`, cancelled → `canceled`,
//!   retry → `pending`, anything else → `failed`; a build that is not
//!   finished is `running` once it has a `started_at`, else `pending`;
//! - `description`: `Build started.` / `Build done.` (the default formatters);
//! - `name`: the setting `context`, default `buildbot/%(prop:buildername)s`;
//! - `ref`: the build property `source_branch` when the build has it (merge
//!   request builds), else the sourcestamp's branch;
//! - the project: the property `source_project_id` when the build has it,
//!   else `owner/repo` of the sourcestamp's `repository` URL as Buildbot's
//!   `giturlparse` reads it; a sourcestamp whose URL does not parse is
//!   skipped (a line in the host log).
//!
//! Deliberate difference: Buildbot first asks `GET /api/v4/projects/<path>`
//! for the numeric project id; this generator sends to
//! `projects/<URL-encoded path>/statuses/<sha>` directly (GitLab accepts the
//! encoded path wherever it takes an id), so one request per sourcestamp and
//! no cache. A sourcestamp without a revision is skipped (Buildbot would post
//! to `statuses/None`, which GitLab refuses).
//!
//! Every status carries the supersede key `commit/<sha>/context/<name>`, so a
//! `success` replaces a `running` for the same commit and name that still
//! waits in the outbox.

use wasmpush_guest::buildbot::{interpolate, parse_git_url, python_str, segment};
use wasmpush_guest::v2::{Error, Event, EventKind, Generator, Info, Level, Request, log};
use wasmpush_guest::{Map, Results, Value};

struct GitLabStatus;

impl Generator for GitLabStatus {
    fn info() -> Info {
        Info::new("gitlab-status", env!("CARGO_PKG_VERSION"))
            .description("GitLab commit status per sourcestamp, like Buildbot's GitLabStatusPush (contract 0.2)")
            .events(&[EventKind::BuildNew, EventKind::BuildFinished])
    }

    fn generate(event: &Event) -> Result<Vec<Request>, Error> {
        let build = event.build()?;
        let finished = event.kind != EventKind::BuildNew && build.complete;
        let (state, description) = if finished {
            (state(build.result()), "Build done.")
        } else if build.started_at.is_some_and(|t| t != 0) {
            ("running", "Build started.")
        } else {
            ("pending", "Build started.")
        };
        let context = interpolate(event.setting_or("context", "buildbot/%(prop:buildername)s"), &build);
        let project_id = build.properties.get("source_project_id").map(python_str);
        let source_branch = build.properties.get("source_branch").cloned();
        let stamps = build.buildset.as_ref().map(|b| b.sourcestamps.as_slice()).unwrap_or_default();
        let mut requests = Vec::new();
        for stamp in stamps {
            let project = match &project_id {
                Some(id) => id.clone(),
                None => match parse_git_url(&stamp.repository) {
                    Some((owner, repo)) => format!("{owner}/{repo}"),
                    None => {
                        log(
                            Level::Info,
                            &format!("Skipped status: no GitLab project in repository {:?}.", stamp.repository),
                        );
                        continue;
                    }
                },
            };
            let Some(sha) = stamp.revision.as_deref().filter(|s| !s.is_empty()) else {
                log(
                    Level::Info,
                    &format!("Skipped status for {:?}: the sourcestamp has no revision.", stamp.repository),
                );
                continue;
            };
            let mut body = Map::new();
            body.insert("state".into(), state.into());
            body.insert(
                "ref".into(),
                source_branch.clone().unwrap_or_else(|| stamp.branch.clone().map_or(Value::Null, Value::String)),
            );
            body.insert("description".into(), description.into());
            if let Some(url) = &build.url {
                body.insert("target_url".into(), url.clone().into());
            }
            body.insert("name".into(), context.clone().into());
            let path = format!("projects/{}/statuses/{}", segment(&project), segment(sha));
            requests.push(
                Request::post(path).json(&Value::Object(body)).supersede(format!("commit/{sha}/context/{context}")),
            );
        }
        Ok(requests)
    }
}

wasmpush_guest::export_v2!(GitLabStatus);

/// GitLab's state for a finished build's result (Buildbot's table).
fn state(result: Option<Results>) -> &'static str {
    match result {
        Some(Results::Success | Results::Warnings | Results::Skipped) => "success",
        Some(Results::Failure | Results::Exception) | None => "failed",
        Some(Results::Cancelled) => "canceled",
        Some(Results::Retry) => "pending",
    }
}
