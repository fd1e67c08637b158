//! Buildbot's `BitbucketServerStatusPush` as a contract 0.2 generator: one
//! `POST rest/build-status/1.0/commits/<sha>` per sourcestamp of the
//! build's buildset, for started and finished builds (relative to the
//! reporter's `server_url`, Buildbot's `base_url`).
//!
//! As Buildbot 4.3.0's `buildbot/reporters/bitbucketserver.py` does it:
//!
//! - body `{"state", "url", "key", "description", "name"}` in that key
//!   order, written like Python's `json.dumps`; `name` only when the setting
//!   `statusName` is given and renders to something non-empty;
//! - `state`: `INPROGRESS` until the build finishes, then `SUCCESSFUL` for
//!   success and `FAILED` for any other result;
//! - `key`: the setting `key` rendered, default `%(prop:buildername)s`;
//! - `description`: `Build started.` / `Build done.` (the default formatters);
//! - `url`: the build's URL;
//! - a sourcestamp without a revision is skipped (a line in the host log).
//!
//! Buildbot counts only `204 No Content` as sent: the reporter's
//! `success = [204]`. Every status carries the supersede key
//! `commit/<sha>/key/<key>`.

use wasmpush_guest::buildbot::{interpolate, segment};
use wasmpush_guest::v2::{Error, Event, EventKind, Generator, Info, Level, Request, log};
use wasmpush_guest::{Map, Results, Value};

struct BitbucketServerStatus;

impl Generator for BitbucketServerStatus {
    fn info() -> Info {
        Info::new("bitbucket-server-status", env!("CARGO_PKG_VERSION"))
            .description(
                "Bitbucket Server build status per sourcestamp, like Buildbot's BitbucketServerStatusPush (contract 0.2)",
            )
            .events(&[EventKind::BuildNew, EventKind::BuildFinished])
    }

    fn generate(event: &Event) -> Result<Vec<Request>, Error> {
        let build = event.build()?;
        let (state, description) = if event.kind != EventKind::BuildNew && build.complete {
            (if build.result() == Some(Results::Success) { "SUCCESSFUL" } else { "FAILED" }, "Build done.")
        } else {
            ("INPROGRESS", "Build started.")
        };
        let key = interpolate(event.setting_or("key", "%(prop:buildername)s"), &build);
        let name = event.setting("statusName").filter(|s| !s.is_empty()).map(|t| interpolate(t, &build));
        let mut body = Map::new();
        body.insert("state".into(), state.into());
        body.insert("url".into(), build.url.clone().map_or(Value::Null, Value::String));
        body.insert("key".into(), key.clone().into());
        body.insert("description".into(), description.into());
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            body.insert("name".into(), name.into());
        }
        let body = Value::Object(body);

        let stamps = build.buildset.as_ref().map(|b| b.sourcestamps.as_slice()).unwrap_or_default();
        let mut requests = Vec::new();
        for stamp in stamps {
            let Some(sha) = stamp.revision.as_deref().filter(|s| !s.is_empty()) else {
                log(Level::Info, "Unable to get the commit hash: sourcestamp skipped.");
                continue;
            };
            let path = format!("rest/build-status/1.0/commits/{}", segment(sha));
            requests.push(Request::post(path).json(&body).supersede(format!("commit/{sha}/key/{key}")));
        }
        Ok(requests)
    }
}

wasmpush_guest::export_v2!(BitbucketServerStatus);
