//! Buildbot's `GitHubCommentPush` as a contract 0.2 generator: one
//! `POST repos/<owner>/<repo>/issues/<number>/comments` with `{"body": ...}`
//! per sourcestamp of the build's buildset, when the build is a pull request.
//!
//! As Buildbot 4.3.0's `buildbot/reporters/github.py` does it
//! (`GitHubCommentPush` inherits `GitHubStatusPush.sendMessage`):
//!
//! - the pull request number comes from the build property `branch`
//!   (`refs/pull/<N>/head` or `refs/pull/<N>/merge`,
//!   [`wasmpush_guest::buildbot::pull_request`]); without one, nothing is
//!   posted (a line in the host log per sourcestamp);
//! - the comment is the formatter's text: by default nothing when the build
//!   starts (`MessageFormatterRenderable(None)`) and `Build done.` when it
//!   finishes, whatever the result; the settings `startDescription` and
//!   `endDescription` replace them (`%(prop:NAME)s` rendered like
//!   `Interpolate`; empty means no comment);
//! - owner/repo from the sourcestamp's `project` or `repository` URL, and a
//!   revision, are required as for the status (a sourcestamp without them is
//!   skipped): a build of several codebases comments once per codebase.
//!
//! No supersede key: every comment is a new resource.

use wasmpush_guest::buildbot::{interpolate, owner_repo, pull_request, segment};
use wasmpush_guest::v2::{Error, Event, EventKind, Generator, Info, Level, Request, log};
use wasmpush_guest::{Map, Value};

struct GitHubComment;

impl Generator for GitHubComment {
    fn info() -> Info {
        Info::new("github-comment", env!("CARGO_PKG_VERSION"))
            .description("A pull request comment per sourcestamp, like Buildbot's GitHubCommentPush (contract 0.2)")
            .events(&[EventKind::BuildNew, EventKind::BuildFinished])
    }

    fn generate(event: &Event) -> Result<Vec<Request>, Error> {
        let build = event.build()?;
        let template = if event.kind == EventKind::BuildNew || !build.complete {
            event.setting_or("startDescription", "")
        } else {
            event.setting_or("endDescription", "Build done.")
        };
        if template.is_empty() {
            return Ok(Vec::new());
        }
        let comment = interpolate(template, &build);
        let issue = build.properties.get_str("branch").and_then(pull_request);
        let stamps = build.buildset.as_ref().map(|b| b.sourcestamps.as_slice()).unwrap_or_default();
        let mut requests = Vec::new();
        for stamp in stamps {
            let Some((owner, repo)) = owner_repo(stamp) else {
                log(Level::Info, "Skipped status update because required repo information is missing.");
                continue;
            };
            let Some(sha) = stamp.revision.as_deref().filter(|s| !s.is_empty()) else {
                log(Level::Info, &format!("Skipped status update for codebase {:?}, issue {issue:?}.", stamp.codebase));
                continue;
            };
            let Some(issue) = issue else {
                log(Level::Info, &format!("Skipped status update for repo {repo} sha {sha} as issue is not specified"));
                continue;
            };
            let mut body = Map::new();
            body.insert("body".into(), Value::String(comment.clone()));
            let path = format!("repos/{}/{}/issues/{}/comments", segment(&owner), segment(&repo), segment(issue));
            requests.push(Request::post(path).json(&Value::Object(body)));
        }
        Ok(requests)
    }
}

wasmpush_guest::export_v2!(GitHubComment);
