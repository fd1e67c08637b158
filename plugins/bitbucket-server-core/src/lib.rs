//! Buildbot's `BitbucketServerCoreAPIStatusPush` as a contract 0.2
//! generator: one `POST rest/api/1.0/projects/<proj>/repos/<slug>/commits/<sha>/builds`
//! per sourcestamp of the build's buildset, for started and finished builds
//! (relative to the reporter's `server_url`, Buildbot's `base_url`).
//!
//! As Buildbot 4.3.0's `buildbot/reporters/bitbucketserver.py` does it, the
//! body is `{"state", "url", "key", "parent", "ref", "buildNumber",
//! "description", "name", "duration", "testResults"}` in that key order
//! (every key always present, `null` when unknown), written like Python's
//! `json.dumps`:
//!
//! - `state`: `INPROGRESS` until the build finishes, then `SUCCESSFUL` for
//!   success and `FAILED` for any other result;
//! - `url`: the build's URL; `description`: `Build started.` / `Build done.`;
//! - `key`: setting `key`, default `%(prop:buildername)s`;
//! - `buildNumber`: setting `buildNumber`, default `%(prop:buildnumber)s`
//!   (a string, as Buildbot's `Interpolate` renders it);
//! - `parent`: setting `parentName`, else the parent builder's name
//!   (triggered builds), else the builder's name;
//! - `name`: setting `statusName`, else `<buildername> #<buildnumber>`
//!   (`(build request)` without a build number), prefixed with
//!   `<parent builder> #<parent build number> » ` for a triggered build;
//!   then the setting `statusSuffix` appended;
//! - `ref`: setting `ref`, else the sourcestamp's branch, as it is when it
//!   starts with `refs/`, else `refs/heads/<branch>`; `null` without one;
//! - `duration` (finished builds): setting `duration`, else
//!   `int(complete_at - started_at) * 1000`; a finished build without
//!   `complete_at` or `started_at` makes Buildbot's subtraction raise, so no
//!   status at all (a warning in the host log);
//! - `testResults` (finished builds): `{"failed", "skipped", "successful"}`
//!   from the properties `tests_failed`, `tests_skipped`,
//!   `tests_successful` (0 when missing) when any of them is non-zero,
//!   else `null`;
//! - `<proj>/<slug>`: the last two path parts of the sourcestamp's
//!   `repository` (Buildbot's `^.*?/([^/]+)/([^/]+?)(?:\.git)?$`); a
//!   sourcestamp whose repository does not match, or without a revision,
//!   is skipped (a line in the host log).
//!
//! Buildbot counts only `204 No Content` as sent: the reporter's
//! `success = [204]`. Every status carries the supersede key
//! `commit/<sha>/key/<key>`.

use wasmpush_guest::buildbot::{interpolate, python_str, python_truthy, segment};
use wasmpush_guest::v2::{Error, Event, EventKind, Generator, Info, Level, Request, log};
use wasmpush_guest::{Map, Results, Value};

struct BitbucketServerCore;

impl Generator for BitbucketServerCore {
    fn info() -> Info {
        Info::new("bitbucket-server-core", env!("CARGO_PKG_VERSION"))
            .description(
                "Bitbucket Server core-API build status per sourcestamp, like Buildbot's BitbucketServerCoreAPIStatusPush (contract 0.2)",
            )
            .events(&[EventKind::BuildNew, EventKind::BuildFinished])
    }

    fn generate(event: &Event) -> Result<Vec<Request>, Error> {
        let build = event.build()?;
        let raw = event.value()?;
        let props = &build.properties;
        let setting = |name: &str| event.setting(name).filter(|s| !s.is_empty());
        let finished = event.kind != EventKind::BuildNew && build.complete;

        let description = if finished { "Build done." } else { "Build started." };
        let mut duration = Value::Null;
        let mut test_results = Value::Null;
        let state = if finished {
            if let Some(d) = setting("duration") {
                duration = interpolate(d, &build).into();
            } else if let Some(complete_at) = raw.get("complete_at") {
                let (Some(end), Some(start)) = (number(complete_at), raw.get("started_at").and_then(number)) else {
                    log(
                        Level::Warn,
                        "A finished build without complete_at or started_at: no status (Buildbot's duration raises).",
                    );
                    return Ok(Vec::new());
                };
                duration = Value::from(((end - start).trunc() as i64) * 1000);
            }
            let count = |name: &str| props.get(name).cloned().unwrap_or(Value::from(0));
            let (failed, skipped, successful) =
                (count("tests_failed"), count("tests_skipped"), count("tests_successful"));
            if [&failed, &skipped, &successful].iter().any(|v| python_truthy(v)) {
                let mut t = Map::new();
                t.insert("failed".into(), failed);
                t.insert("skipped".into(), skipped);
                t.insert("successful".into(), successful);
                test_results = Value::Object(t);
            }
            if build.result() == Some(Results::Success) { "SUCCESSFUL" } else { "FAILED" }
        } else {
            "INPROGRESS"
        };

        let parent_name = build.parentbuilder.as_ref().map(|b| b.name.clone()).filter(|n| !n.is_empty());
        let parent = match (setting("parentName"), &parent_name) {
            (Some(t), _) => interpolate(t, &build),
            (None, Some(p)) => p.clone(),
            (None, None) => build.builder_name().unwrap_or_default().to_string(),
        };
        let mut status_name = match setting("statusName") {
            Some(t) => interpolate(t, &build),
            None => {
                let number =
                    props.get("buildnumber").filter(|v| python_truthy(v)).map_or("(build request)".into(), python_str);
                let name = format!("{} #{number}", props.get("buildername").map_or("None".into(), python_str));
                match &parent_name {
                    Some(p) => {
                        let parent_number = build.parentbuild.as_ref().map_or("None".into(), |b| b.number.to_string());
                        format!("{p} #{parent_number} \u{00bb} {name}")
                    }
                    None => name,
                }
            }
        };
        if let Some(suffix) = setting("statusSuffix") {
            status_name.push_str(&interpolate(suffix, &build));
        }
        let key = interpolate(event.setting_or("key", "%(prop:buildername)s"), &build);
        let build_number = interpolate(setting("buildNumber").unwrap_or("%(prop:buildnumber)s"), &build);

        let stamps = build.buildset.as_ref().map(|b| b.sourcestamps.as_slice()).unwrap_or_default();
        let mut requests = Vec::new();
        for stamp in stamps {
            let Some(sha) = stamp.revision.as_deref().filter(|s| !s.is_empty()) else {
                log(Level::Info, &format!("Unable to get the commit hash for SSID: {}", stamp.ssid));
                continue;
            };
            let reference = match event.setting("ref") {
                Some(t) => Value::from(interpolate(t, &build)),
                None => match &stamp.branch {
                    Some(b) if b.starts_with("refs/") => b.clone().into(),
                    Some(b) => format!("refs/heads/{b}").into(),
                    None => Value::Null,
                },
            };
            if !python_truthy(&reference) {
                log(
                    Level::Warn,
                    &format!("Unable to resolve ref for SSID: {}: the status shows on the commit only.", stamp.ssid),
                );
            }
            let Some((proj, slug)) = project_and_slug(&stamp.repository) else {
                log(
                    Level::Info,
                    &format!("Unable to parse repository info from {:?} for SSID: {}", stamp.repository, stamp.ssid),
                );
                continue;
            };
            let mut body = Map::new();
            body.insert("state".into(), state.into());
            body.insert("url".into(), build.url.clone().map_or(Value::Null, Value::String));
            body.insert("key".into(), key.clone().into());
            body.insert("parent".into(), parent.clone().into());
            body.insert("ref".into(), reference);
            body.insert("buildNumber".into(), build_number.clone().into());
            body.insert("description".into(), description.into());
            body.insert("name".into(), status_name.clone().into());
            body.insert("duration".into(), duration.clone());
            body.insert("testResults".into(), test_results.clone());
            let path = format!(
                "rest/api/1.0/projects/{}/repos/{}/commits/{}/builds",
                segment(&proj),
                segment(&slug),
                segment(sha)
            );
            requests.push(Request::post(path).json(&Value::Object(body)).supersede(format!("commit/{sha}/key/{key}")));
        }
        Ok(requests)
    }
}

wasmpush_guest::export_v2!(BitbucketServerCore);

/// Buildbot's `re.search(r"^.*?/([^/]+)/([^/]+?)(?:\.git)?$", repo)`: the
/// last two `/`-separated parts (at least one `/` before them), `.git` cut
/// from the second unless that would leave it empty.
fn project_and_slug(repo: &str) -> Option<(String, String)> {
    let mut parts = repo.rsplitn(3, '/');
    let (slug, proj, prefix) = (parts.next()?, parts.next()?, parts.next()?);
    if proj.is_empty() || slug.is_empty() || prefix.contains('\n') {
        return None;
    }
    let slug = slug.strip_suffix(".git").filter(|s| !s.is_empty()).unwrap_or(slug);
    Some((proj.to_string(), slug.to_string()))
}

/// A JSON number as f64 (Buildbot's epoch seconds).
fn number(v: &Value) -> Option<f64> {
    v.as_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_parts_like_buildbot_regex() {
        let p = |u: &str| project_and_slug(u).map(|(a, b)| format!("{a}|{b}"));
        assert_eq!(p("https://bb.example/scm/PROJ/repo.git").as_deref(), Some("PROJ|repo"));
        assert_eq!(p("ssh://git@bb.example:7999/proj/repo.git").as_deref(), Some("proj|repo"));
        assert_eq!(p("/a/b").as_deref(), Some("a|b"));
        assert_eq!(p("git@bb.example:PROJ/repo.git"), None);
        assert_eq!(p("https://bb.example/PROJ/.git").as_deref(), Some("PROJ|.git"));
        assert_eq!(p(""), None);
    }
}
