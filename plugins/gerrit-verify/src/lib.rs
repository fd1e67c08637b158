//! Buildbot's `GerritVerifyStatusPush` as a contract 0.2 generator: one
//! `POST a/changes/<change>/revisions/<revision>/verify-status~verifications`
//! per Gerrit change of the build, when it starts and when it finishes.
//!
//! As Buildbot 4.3.0's `buildbot/reporters/gerrit_verify_status.py` does it:
//!
//! - the changes: the build property `gerrit_changes` (a list of
//!   `{"change_id": ..., "revision_id": ...}`) when present, else
//!   `event.change.number` / `event.patchSet.number` (set by Gerrit's
//!   change source and `GerritChangeSource` events), else none;
//! - body, in this key order and written like Python's `json.dumps`:
//!   `name` (setting `verification_name`, default `%(prop:buildername)s`),
//!   `value` (1 success and warnings, -1 failure, 0 skipped, exception,
//!   retry and cancelled, -1 for an unknown result; 0 when the build
//!   starts), `abstain` (setting `abstain`, default false), `comment`
//!   (`Build started.` / `Build done.`), `url` (the build's URL, left out when
//!   it has none), `reporter` (setting `reporter`, default `buildbot`),
//!   `category` (setting `category`, left out when unset), `duration`
//!   (`pending` when the build starts, else `Nm Ns`, `Nh Nm Ns` or
//!   `N day(s) Nh Nm Ns`).
//!
//! What 0.2 adds: the supersede key
//! `change/<change>/revision/<revision>/name/<name>`, so the finished
//! verification replaces a start one still waiting in the outbox.

use wasmpush_guest::buildbot::interpolate;
use wasmpush_guest::v2::{Error, Event, EventKind, Generator, Info, Level, Request, log};
use wasmpush_guest::{Build, Map, Results, Value};

struct GerritVerify;

impl Generator for GerritVerify {
    fn info() -> Info {
        Info::new("gerrit-verify", env!("CARGO_PKG_VERSION"))
            .description(
                "Gerrit verify-status verification per change, like Buildbot's GerritVerifyStatusPush (contract 0.2)",
            )
            .events(&[EventKind::BuildNew, EventKind::BuildFinished])
    }

    fn generate(event: &Event) -> Result<Vec<Request>, Error> {
        let build = event.build()?;
        let finished = event.kind == EventKind::BuildFinished && build.complete;
        let (value, duration, comment) = if finished {
            let duration = match (build.started_at, build.complete_at) {
                (Some(start), Some(end)) => format_duration(end - start),
                _ => format_duration(0),
            };
            (value(build.result()), duration, "Build done.")
        } else {
            (0, "pending".to_string(), "Build started.")
        };
        let name = interpolate(event.setting_or("verification_name", "%(prop:buildername)s"), &build);
        let reporter = interpolate(event.setting_or("reporter", "buildbot"), &build);
        let category = event.setting("category").filter(|c| !c.is_empty()).map(|c| interpolate(c, &build));
        let abstain = match event.setting_or("abstain", "false").to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" | "" => false,
            other => return Err(Error::new(format!("gerrit-verify: setting abstain={other:?} is not true or false"))),
        };

        let mut requests = Vec::new();
        for (change, revision) in changes(&build) {
            let mut body = Map::new();
            body.insert("name".into(), name.clone().into());
            body.insert("value".into(), value.into());
            body.insert("abstain".into(), abstain.into());
            body.insert("comment".into(), comment.into());
            if let Some(url) = &build.url {
                body.insert("url".into(), url.clone().into());
            }
            body.insert("reporter".into(), reporter.clone().into());
            if let Some(category) = &category {
                body.insert("category".into(), category.clone().into());
            }
            body.insert("duration".into(), duration.clone().into());
            let path = format!(
                "a/changes/{}/revisions/{}/verify-status~verifications",
                id_segment(&change),
                id_segment(&revision)
            );
            requests.push(
                Request::post(path)
                    .json(&Value::Object(body))
                    .supersede(format!("change/{change}/revision/{revision}/name/{name}")),
            );
        }
        Ok(requests)
    }
}

wasmpush_guest::export_v2!(GerritVerify);

/// Buildbot's `RESULTS_TABLE` (and `DEFAULT_RESULT` -1).
fn value(result: Option<Results>) -> i64 {
    match result {
        Some(Results::Success | Results::Warnings) => 1,
        Some(Results::Failure) | None => -1,
        Some(Results::Skipped | Results::Exception | Results::Retry | Results::Cancelled) => 0,
    }
}

/// Buildbot's `formatDuration` of a number of seconds.
fn format_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, rest) = (seconds / 86400, seconds % 86400);
    let (hours, rest) = (rest / 3600, rest % 3600);
    let (minutes, seconds) = (rest / 60, rest % 60);
    if days > 0 {
        format!("{days} day{} {hours}h {minutes}m {seconds}s", if days > 1 { "s" } else { "" })
    } else if hours > 0 {
        format!("{hours}h {minutes}m {seconds}s")
    } else {
        format!("{minutes}m {seconds}s")
    }
}

/// A change or revision id as one path segment: as Buildbot sends it when it
/// is already URL-safe (Gerrit's `project~branch~Id` form has the project's
/// `/` written `%2F`, so a `%XX` escape is kept); any other byte is
/// percent-encoded, so an id cannot add segments or a query.
fn id_segment(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    for (i, &b) in bytes.iter().enumerate() {
        let escape = b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || escape {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Python's `str()` of a change or revision id (ints and strings; `None`
/// for a missing one, which is skipped).
fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Buildbot's `getGerritChanges`: (change, revision) pairs.
fn changes(build: &Build) -> Vec<(String, String)> {
    let props = &build.properties;
    if props.0.contains_key("gerrit_changes") {
        let list = match props.get("gerrit_changes") {
            Some(Value::Array(list)) => list.as_slice(),
            _ => {
                log(Level::Warn, "gerrit-verify: property gerrit_changes is not a list; nothing sent");
                &[]
            }
        };
        return list
            .iter()
            .filter_map(|c| {
                let pair = id_text(c.get("change_id")).zip(id_text(c.get("revision_id")));
                if pair.is_none() {
                    log(
                        Level::Warn,
                        &format!("gerrit-verify: gerrit_changes entry {c} has no change_id/revision_id; skipped"),
                    );
                }
                pair
            })
            .collect();
    }
    if props.0.contains_key("event.change.number") {
        match id_text(props.get("event.change.number")).zip(id_text(props.get("event.patchSet.number"))) {
            Some(pair) => return vec![pair],
            None => log(Level::Warn, "gerrit-verify: event.change.number without event.patchSet.number; nothing sent"),
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_buildbot() {
        assert_eq!(format_duration(0), "0m 0s");
        assert_eq!(format_duration(61), "1m 1s");
        assert_eq!(format_duration(3661), "1h 1m 1s");
        assert_eq!(format_duration(86400 + 5), "1 day 0h 0m 5s");
        assert_eq!(format_duration(2 * 86400 + 3600), "2 days 1h 0m 0s");
    }

    #[test]
    fn ids_stay_one_segment() {
        assert_eq!(id_segment("demo%2Frepo~main~I84"), "demo%2Frepo~main~I84");
        assert_eq!(id_segment("a/b?c%zz"), "a%2Fb%3Fc%25zz");
    }
}
