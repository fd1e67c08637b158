//! Buildbot's `BitbucketStatusPush` as a contract 0.2 generator: one
//! `POST <owner>/<repo>/commit/<sha>/statuses/build` per sourcestamp of the
//! build's buildset, for started and finished builds (relative to the
//! reporter's `server_url`, Buildbot's `base_url`
//! `https://api.bitbucket.org/2.0/repositories`).
//!
//! As Buildbot 4.3.0's `buildbot/reporters/bitbucket.py` does it:
//!
//! - body `{"state", "key", "name", "description", "url"}` in that key
//!   order, written like Python's `json.dumps`;
//! - `state`: `INPROGRESS` until the build finishes, then `SUCCESSFUL` for
//!   success and `FAILED` for any other result;
//! - `key`: the SHA-1 (hex) of the setting `status_key` rendered, default
//!   `%(prop:buildername)s` (Buildbot's `Property('buildername')`);
//! - `name`: the setting `status_name` rendered, same default;
//! - `description`: the report's subject; Buildbot's default formatters
//!   (`MessageFormatter(subject="", template='')`) make it `""`;
//! - `url`: the build's URL;
//! - owner/repo from the sourcestamp's `repository` as Buildbot's
//!   `get_owner_and_repo` reads it (`git@bitbucket.org:o/r.git`,
//!   `https://bitbucket.org/o/r`, `ssh://git@bitbucket.org/o/r.git`,
//!   `https://api.bitbucket.org/2.0/repositories/o/r`); an empty repository
//!   is skipped; one that is not `owner/repo` makes Buildbot's assertion
//!   fail, which ends the report: no request for it or any later
//!   sourcestamp (the earlier ones are sent).
//!
//! OAuth (client credentials) is the host's: the reporter's `auth`.
//! Every status carries the supersede key `commit/<sha>/key/<key>`.

mod sha1;

use wasmpush_guest::buildbot::{interpolate, segment, urlparse};
use wasmpush_guest::v2::{Error, Event, EventKind, Generator, Info, Level, Request, log};
use wasmpush_guest::{Map, Results, Value};

/// The path of Buildbot's default `base_url`, which `get_owner_and_repo`
/// strips from API-style repository URLs.
const BASE_PATH: &str = "/2.0/repositories";

struct BitbucketStatus;

impl Generator for BitbucketStatus {
    fn info() -> Info {
        Info::new("bitbucket-cloud-status", env!("CARGO_PKG_VERSION"))
            .description(
                "Bitbucket Cloud build status per sourcestamp, like Buildbot's BitbucketStatusPush (contract 0.2)",
            )
            .events(&[EventKind::BuildNew, EventKind::BuildFinished])
    }

    fn generate(event: &Event) -> Result<Vec<Request>, Error> {
        let build = event.build()?;
        let state = if event.kind != EventKind::BuildNew && build.complete {
            if build.result() == Some(Results::Success) { "SUCCESSFUL" } else { "FAILED" }
        } else {
            "INPROGRESS"
        };
        let key = sha1::hex(interpolate(event.setting_or("status_key", "%(prop:buildername)s"), &build).as_bytes());
        let name = interpolate(event.setting_or("status_name", "%(prop:buildername)s"), &build);
        let mut body = Map::new();
        body.insert("state".into(), state.into());
        body.insert("key".into(), key.clone().into());
        body.insert("name".into(), name.into());
        body.insert("description".into(), "".into());
        body.insert("url".into(), build.url.clone().map_or(Value::Null, Value::String));
        let body = Value::Object(body);

        let stamps = build.buildset.as_ref().map(|b| b.sourcestamps.as_slice()).unwrap_or_default();
        let mut requests = Vec::new();
        for stamp in stamps {
            if stamp.repository.is_empty() {
                log(Level::Info, "Empty repository URL for Bitbucket status: sourcestamp skipped.");
                continue;
            }
            let Some((owner, repo)) = owner_and_repo(&stamp.repository) else {
                log(
                    Level::Warn,
                    &format!(
                        "Repository {:?} is not OWNER/REPONAME: no status for it or any later sourcestamp (as Buildbot).",
                        stamp.repository
                    ),
                );
                break;
            };
            let Some(sha) = stamp.revision.as_deref().filter(|s| !s.is_empty()) else {
                log(
                    Level::Info,
                    &format!("Skipped status for {:?}: the sourcestamp has no revision.", stamp.repository),
                );
                continue;
            };
            let path = format!("{}/{}/commit/{}/statuses/build", segment(&owner), segment(&repo), segment(sha));
            requests.push(Request::post(path).json(&body).supersede(format!("commit/{sha}/key/{key}")));
        }
        Ok(requests)
    }
}

wasmpush_guest::export_v2!(BitbucketStatus);

/// Buildbot's `BitbucketStatusPush.get_owner_and_repo` (with the default
/// `base_url`): `None` where its `assert len(parts) == 2` fails, or where a
/// part is empty, `.` or `..` (which would change the API path).
fn owner_and_repo(url: &str) -> Option<(String, String)> {
    let (scheme, path) = urlparse(url);
    let path = if path.starts_with(BASE_PATH) {
        path.replace(BASE_PATH, "")
    } else if !scheme.is_empty() {
        path.to_string()
    } else {
        path.split_once(':').map_or(path, |(_, after)| after).to_string()
    };
    let path = path.trim_start_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let path = path.trim_end_matches('/');
    let (owner, repo) = path.split_once('/')?;
    let usable = |s: &str| !s.is_empty() && s != "." && s != ".." && !s.contains('/');
    (usable(owner) && usable(repo)).then(|| (owner.to_string(), repo.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_and_repo_like_buildbot() {
        let p = |u: &str| owner_and_repo(u).map(|(o, r)| format!("{o}/{r}"));
        assert_eq!(p("git@bitbucket.org:OWNER/REPONAME.git").as_deref(), Some("OWNER/REPONAME"));
        assert_eq!(p("https://bitbucket.org/OWNER/REPONAME.git").as_deref(), Some("OWNER/REPONAME"));
        assert_eq!(p("ssh://git@bitbucket.org/OWNER/REPONAME.git").as_deref(), Some("OWNER/REPONAME"));
        assert_eq!(p("https://api.bitbucket.org/2.0/repositories/OWNER/REPONAME").as_deref(), Some("OWNER/REPONAME"));
        assert_eq!(p("https://bitbucket.org/a/b/c"), None);
    }

    #[test]
    fn sha1_known_answers() {
        assert_eq!(sha1::hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1::hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        let long = vec![b'a'; 1000];
        assert_eq!(sha1::hex(&long), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
    }
}
