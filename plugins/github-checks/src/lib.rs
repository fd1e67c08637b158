//! GitHub check runs (the Checks API), a reporter Buildbot 4.3.0 does not
//! have, as a contract 0.2 generator. Per sourcestamp of the build's buildset
//! (owner/repo and revision found as github-status finds them):
//!
//! - `build-new`: `POST repos/<owner>/<repo>/check-runs` with
//!   `{"name", "head_sha", "status": "in_progress", "started_at",
//!   "details_url", "external_id"}`, keeping the response's `/id` as
//!   `check_run_<ssid>`;
//! - `build-finished`: `PATCH repos/<owner>/<repo>/check-runs/{check_run_<ssid>}`
//!   (filled by the host) with `{"status": "completed", "conclusion",
//!   "completed_at", "output": {"title", "summary"}}`, the summary listing the
//!   build's steps (name, result, state) when the payload has them (the
//!   generator asks for steps).
//!
//! `name` is the setting `context` (default `buildbot/%(prop:buildername)s`,
//! as GitHubStatusPush's context). Conclusions: success and warnings →
//! `success`, failure and exception → `failure`, skipped → `skipped`,
//! cancelled → `cancelled`, retry → `neutral`, unknown → `failure`.
//!
//! Supersede: the `PATCH` carries `check-run/<owner>/<repo>/<sha>/build/<buildid>/<context>`
//! (one check run per build, sourcestamp and name); the `POST` has none: the
//! `PATCH` needs the id it keeps, so it must never be replaced.

use wasmpush_guest::buildbot::{interpolate, owner_repo, segment};
use wasmpush_guest::payload::{Build, Step};
use wasmpush_guest::v2::{Error, Event, EventKind, Generator, Info, Level, Needs, Request, log};
use wasmpush_guest::{Map, Results, Value, python_json_bytes};

/// GitHub's limit for `output.summary` is 65,535 characters.
const SUMMARY_MAX: usize = 60_000;

struct GitHubChecks;

impl Generator for GitHubChecks {
    fn info() -> Info {
        Info::new("github-checks", env!("CARGO_PKG_VERSION"))
            .description(
                "GitHub check run per sourcestamp: created at build start, completed at build end (contract 0.2)",
            )
            .events(&[EventKind::BuildNew, EventKind::BuildFinished])
            .needs(Needs { steps: true, ..Needs::default() })
    }

    fn generate(event: &Event) -> Result<Vec<Request>, Error> {
        let build = event.build()?;
        let started = event.kind == EventKind::BuildNew || !build.complete;
        let name = interpolate(event.setting_or("context", "buildbot/%(prop:buildername)s"), &build);
        let stamps = build.buildset.as_ref().map(|b| b.sourcestamps.as_slice()).unwrap_or_default();
        let mut requests = Vec::new();
        for stamp in stamps {
            let Some((owner, repo)) = owner_repo(stamp) else {
                log(Level::Info, "Skipped check run because required repo information is missing.");
                continue;
            };
            let Some(sha) = stamp.revision.as_deref().filter(|s| !s.is_empty()) else {
                log(Level::Info, &format!("Skipped check run for codebase {:?}, name {name:?}.", stamp.codebase));
                continue;
            };
            let runs = format!("repos/{}/{}/check-runs", segment(&owner), segment(&repo));
            let kept = format!("check_run_{}", stamp.ssid);
            if started {
                requests.push(Request::post(runs).json(&create(&build, &name, sha)).keep(&kept, "/id"));
            } else {
                requests.push(
                    Request::patch(format!("{runs}/{{{kept}}}"))
                        .body(braces_escaped(&complete(&build)), "application/json")
                        .fill()
                        .supersede(format!("check-run/{owner}/{repo}/{sha}/build/{}/{name}", build.buildid)),
                );
            }
        }
        Ok(requests)
    }
}

wasmpush_guest::export_v2!(GitHubChecks);

/// The body that creates the check run.
fn create(build: &Build, name: &str, sha: &str) -> Value {
    let mut body = Map::new();
    body.insert("name".into(), name.into());
    body.insert("head_sha".into(), sha.into());
    body.insert("status".into(), "in_progress".into());
    if let Some(t) = build.started_at {
        body.insert("started_at".into(), iso8601(t).into());
    }
    if let Some(url) = &build.url {
        body.insert("details_url".into(), url.clone().into());
    }
    body.insert("external_id".into(), build.buildid.to_string().into());
    Value::Object(body)
}

/// The body that completes it.
fn complete(build: &Build) -> Value {
    let result = build.result();
    let mut body = Map::new();
    body.insert("status".into(), "completed".into());
    body.insert("conclusion".into(), conclusion(result).into());
    if let Some(t) = build.complete_at {
        body.insert("completed_at".into(), iso8601(t).into());
    }
    let mut output = Map::new();
    output.insert("title".into(), title(build).into());
    output.insert("summary".into(), summary(build).into());
    body.insert("output".into(), Value::Object(output));
    Value::Object(body)
}

/// GitHub's conclusion for a finished build's result.
fn conclusion(result: Option<Results>) -> &'static str {
    match result {
        Some(Results::Success | Results::Warnings) => "success",
        Some(Results::Skipped) => "skipped",
        Some(Results::Cancelled) => "cancelled",
        Some(Results::Retry) => "neutral",
        Some(Results::Failure | Results::Exception) | None => "failure",
    }
}

fn result_name(code: Option<i64>) -> &'static str {
    Results::from_code(code).map_or("not finished", Results::name)
}

/// `Build 12: failure`.
fn title(build: &Build) -> String {
    format!("Build {}: {}", build.number, result_name(build.results))
}

/// A line about the build, then one line per visible step.
fn summary(build: &Build) -> String {
    let builder = build.builder_name().unwrap_or("?");
    let mut out = format!("Build {} of {} finished: {}", build.number, one_line(builder), result_name(build.results));
    if !build.state_string.is_empty() {
        out.push_str(&format!(" ({})", one_line(&build.state_string)));
    }
    out.push('.');
    if let Some(url) = &build.url {
        out.push_str(&format!("\n\n{url}"));
    }
    let steps: Vec<&Step> = build.steps.iter().flatten().filter(|s| !s.hidden).collect();
    if !steps.is_empty() {
        out.push_str("\n\n| # | step | result | state |\n|---|---|---|---|");
        for (i, step) in steps.iter().enumerate() {
            let line = format!(
                "\n| {} | {} | {} | {} |",
                step.number,
                cell(&step.name),
                result_name(step.results),
                cell(&step.state_string)
            );
            if out.len() + line.len() > SUMMARY_MAX {
                out.push_str(&format!("\n\n{} more steps not shown.", steps.len() - i));
                break;
            }
            out.push_str(&line);
        }
    }
    out
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// Text for a Markdown table cell: one line, `|` escaped.
fn cell(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

/// `value` as Buildbot's JSON, with every `{` inside a string written as
/// `\u007b`: the host fills `{name}` in a filled request's body, and text
/// from the payload (a step called `{x}`) must reach GitHub unchanged. JSON
/// readers decode `\u007b` back to `{`; the object braces are never
/// followed by a name character, so they stay.
fn braces_escaped(value: &Value) -> Vec<u8> {
    let json = String::from_utf8(python_json_bytes(value)).unwrap_or_default();
    let mut out = String::with_capacity(json.len());
    let mut chars = json.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '{' && chars.peek().is_some_and(|n| n.is_ascii_alphanumeric() || *n == '_') {
            out.push_str("\\u007b");
        } else {
            out.push(c);
        }
    }
    out.into_bytes()
}

/// Seconds since the epoch as `2026-11-27T19:59:05Z`.
fn iso8601(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_braces() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_795_809_545), "2026-11-27T19:59:05Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        let body = braces_escaped(&wasmpush_guest::json!({"a": {"b": "x {check_run_1} {}"}}));
        assert_eq!(String::from_utf8(body).unwrap(), r#"{"a": {"b": "x \u007bcheck_run_1} {}"}}"#);
    }
}
