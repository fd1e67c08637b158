//! Buildbot's `BitbucketServerPRCommentPush` as a contract 0.2 generator:
//! when a build of a pull request finishes, one
//! `POST rest/api/1.0/projects/<proj>/repos/<slug>/pull-requests/<id>/comments`
//! with `{"text": <message>}` (relative to the reporter's `server_url`,
//! Buildbot's `base_url`).
//!
//! As Buildbot 4.3.0's `buildbot/reporters/bitbucketserver.py` does it:
//!
//! - the pull request is the build property `pullrequesturl` (set by
//!   Buildbot's Bitbucket Server change hook); the request path is
//!   `rest/api/1.0` + the path of that URL + `/comments`; a build without
//!   the property gets no comment;
//! - the text is Buildbot's default `MessageFormatter` body
//!   (`default_body_template_plain`): what was detected, builder, projects,
//!   build URL, state, revision, worker, reason, blamelist (change authors,
//!   `owner`, `owners`), then the steps with their log links;
//! - which results get a comment is the host's `mode` (the generator kind
//!   `build-status`, Buildbot's default `BuildStatusGenerator`, whose default
//!   mode is failing, passing and warnings).
//!
//! Comments are not superseded (each one is its own message).

use wasmpush_guest::buildbot::{percent_encode, python_str, urlparse};
use wasmpush_guest::v2::{Error, Event, EventKind, Generator, Info, Level, Needs, Request, log};
use wasmpush_guest::{Build, Map, Value};

struct BitbucketServerPrComment;

impl Generator for BitbucketServerPrComment {
    fn info() -> Info {
        Info::new("bitbucket-server-pr-comment", env!("CARGO_PKG_VERSION"))
            .description(
                "Bitbucket Server pull-request comment when a build finishes, like Buildbot's BitbucketServerPRCommentPush (contract 0.2)",
            )
            .events(&[EventKind::BuildFinished])
            .needs(Needs { properties: true, steps: true, logs: true, changes: true, ..Needs::default() })
    }

    fn generate(event: &Event) -> Result<Vec<Request>, Error> {
        if event.kind != EventKind::BuildFinished {
            return Ok(Vec::new()); // BuildStatusGenerator without report_new
        }
        let build = event.build()?;
        let Some(pr_url) = build.properties.get("pullrequesturl").filter(|v| !v.is_null()) else {
            return Ok(Vec::new());
        };
        let Some(pr_url) = pr_url.as_str().filter(|s| !s.is_empty()) else {
            log(Level::Warn, &format!("pullrequesturl is not a URL ({pr_url}): no comment."));
            return Ok(Vec::new());
        };
        let Some(pr_path) = safe_path(urlparse(pr_url).1) else {
            log(Level::Warn, &format!("pullrequesturl {pr_url:?} has no usable path: no comment."));
            return Ok(Vec::new());
        };
        let authors: Vec<String> = event.changes()?.into_iter().map(|c| c.author).collect();
        let text = message(&build, &authors, event.setting_or("title", "Buildbot"));
        let mut body = Map::new();
        body.insert("text".into(), text.into());
        Ok(vec![Request::post(format!("rest/api/1.0{pr_path}/comments")).json(&Value::Object(body))])
    }
}

wasmpush_guest::export_v2!(BitbucketServerPrComment);

/// Buildbot's `Results` names, indexed by result code.
const RESULT_NAMES: [&str; 7] = ["success", "warnings", "failure", "skipped", "exception", "retry", "cancelled"];

/// `default_body_template_plain` rendered as Buildbot's `MessageFormatter`
/// does for one build (mode failing/passing/warnings, so no "new failure" or
/// "restored build").
fn message(build: &Build, change_authors: &[String], title: &str) -> String {
    let props = &build.properties;
    let prop_or = |name: &str, default: &str| props.get(name).map_or(default.to_string(), python_str);
    let detected = match build.results {
        Some(2) => "failed build".to_string(),
        Some(1) => "problem in the build".to_string(),
        Some(0) => "passing build".to_string(),
        Some(4) => "build exception".to_string(),
        None => "not finished build".to_string(),
        Some(r) => match usize::try_from(r).ok().and_then(|i| RESULT_NAMES.get(i)) {
            Some(name) => format!("{name} build"),
            None => "Invalid status build".to_string(),
        },
    };
    let stamps = build.buildset.as_ref().map(|b| b.sourcestamps.as_slice()).unwrap_or_default();
    let mut projects: Vec<&str> = Vec::new();
    for s in stamps {
        if !s.project.is_empty() && !projects.contains(&s.project.as_str()) {
            projects.push(&s.project);
        }
    }
    let projects = if projects.is_empty() { title.to_string() } else { projects.join(", ") };

    // getResponsibleUsersForBuild: change authors, `owner`, `owners`; sorted, unique.
    let mut blamelist: Vec<String> = change_authors.to_vec();
    match props.get("owner") {
        Some(Value::String(s)) => blamelist.push(s.clone()),
        Some(Value::Array(a)) => blamelist.extend(a.iter().map(python_str)),
        _ => {}
    }
    if let Some(Value::Array(a)) = props.get("owners") {
        blamelist.extend(a.iter().map(python_str));
    }
    blamelist.sort();
    blamelist.dedup();

    let mut text = format!(
        "A {detected} has been detected on builder {builder} while building {projects}.\n\n\
         Full details are available at:\n    {url}\n\n\
         Build state: {state}\nRevision: {revision}\nWorker: {worker}\nBuild Reason: {reason}\n\
         Blamelist: {blamelist}\n\nSteps:\n",
        builder = build.builder_name().unwrap_or_default(),
        url = build.url.as_deref().unwrap_or_default(),
        state = build.state_string,
        revision = prop_or("got_revision", "(unknown)"),
        worker = prop_or("workername", "<unknown>"),
        reason = prop_or("reason", "(unknown)"),
        blamelist = blamelist.join(", "),
    );
    match build.steps.as_deref() {
        Some(steps) if !steps.is_empty() => {
            for step in steps {
                let result = step
                    .results
                    .and_then(|r| {
                        // Python list indexing: -1 is the last name.
                        let i = if r < 0 { r + RESULT_NAMES.len() as i64 } else { r };
                        usize::try_from(i).ok().and_then(|i| RESULT_NAMES.get(i))
                    })
                    .copied()
                    .unwrap_or_default();
                text.push_str(&format!("\n- {}: {} ( {result} )\n", step.number, step.name));
                if let Some(logs) = step.logs.as_deref().filter(|l| !l.is_empty()) {
                    text.push_str("    Logs:");
                    for l in logs {
                        text.push_str(&format!("\n        - {}: {}", l.name, l.url.as_deref().unwrap_or_default()));
                    }
                    text.push('\n');
                }
            }
            text.push('\n');
        }
        _ => text.push_str("\n- (no steps)\n"),
    }
    text
}

/// The URL path as Buildbot uses it, with anything outside RFC 3986's path
/// characters percent-encoded and `.`/`..` segments refused (they would
/// leave `rest/api/1.0`). A path that does not start with `/` gets one.
fn safe_path(path: &str) -> Option<String> {
    if path.is_empty() {
        return None;
    }
    let mut out = String::new();
    for seg in path.trim_start_matches('/').split('/') {
        if seg == "." || seg == ".." {
            return None;
        }
        out.push('/');
        out.push_str(&percent_encode(seg, b"!$&'()*+,;=:@%"));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_request_paths() {
        let p = |u: &str| safe_path(urlparse(u).1);
        assert_eq!(
            p("https://bb.example/projects/P/repos/r/pull-requests/7").as_deref(),
            Some("/projects/P/repos/r/pull-requests/7")
        );
        assert_eq!(
            p("https://bb.example/projects/P/repos/r/pull-requests/7?x=1#y").as_deref(),
            Some("/projects/P/repos/r/pull-requests/7")
        );
        assert_eq!(p("https://bb.example/a/../b"), None);
        assert_eq!(p("https://bb.example/a b").as_deref(), Some("/a%20b"));
    }
}
