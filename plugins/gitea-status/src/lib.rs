//! `GiteaStatusPush` of the third-party `buildbot-gitea` plugin
//! (github.com/lab132/buildbot-gitea, `buildbot_gitea/reporter.py`, 1.8.0;
//! Buildbot 4.3.0 has no Gitea reporter) as a contract 0.2 generator: one
//! `POST api/v1/repos/<owner>/<repo>/statuses/<sha>` per sourcestamp, when a
//! build starts and when it finishes, relative to the Gitea instance's URL
//! (the plugin's `baseURL`).
//!
//! As `GiteaStatusPush._send_impl` does it:
//!
//! - body `{"state", "description", "target_url", "context"}` in that order
//!   (`target_url` left out when the build has no URL);
//! - `state`: `pending` at the start; at the end success and skipped →
//!   `success`, warnings → `warning` (`success` with the setting
//!   `warningAsSuccess`), failure → `failure`, exception and cancelled →
//!   `error`, retry → `pending`, anything else → `failure`;
//! - `description`: `Build started.` / `Build done.`;
//! - `context`: the setting `context_pr` (default
//!   `buildbot/pull_request/%(prop:buildername)s`) when the build has the
//!   property `pr_id` (set by buildbot-gitea's webhook for pull requests),
//!   else `context` (default `buildbot/%(prop:buildername)s`);
//! - a sourcestamp without a revision is skipped; for a pull request the
//!   status goes to the head repository: properties `head_owner`,
//!   `head_reponame` and `head_sha`; otherwise the repository name is the
//!   property `repository_name`, else parsed from the sourcestamp's
//!   `repository` as an SSH URL (the plugin's `ssh_url_match`), and the owner
//!   the property `owner`, else parsed the same way; neither → skipped (a line
//!   in the host log).
//!
//! What 0.2 adds: the supersede key `commit/<sha>/context/<context>`, as
//! github-status.

use wasmpush_guest::buildbot::{interpolate, python_str, segment};
use wasmpush_guest::payload::{Build, SourceStamp};
use wasmpush_guest::v2::{Error, Event, EventKind, Generator, Info, Level, Request, log};
use wasmpush_guest::{Map, Results, Value};

struct GiteaStatus;

impl Generator for GiteaStatus {
    fn info() -> Info {
        Info::new("gitea-status", env!("CARGO_PKG_VERSION"))
            .description("Gitea commit status per sourcestamp, like buildbot-gitea's GiteaStatusPush (contract 0.2)")
            .events(&[EventKind::BuildNew, EventKind::BuildFinished])
    }

    fn generate(event: &Event) -> Result<Vec<Request>, Error> {
        let build = event.build()?;
        let warning_as_success = truthy(event.setting_or("warningAsSuccess", "false"));
        let (state, description) = if event.kind == EventKind::BuildNew || !build.complete {
            ("pending", "Build started.")
        } else {
            (state(build.result(), warning_as_success), "Build done.")
        };
        let pull_request = build.properties.0.contains_key("pr_id");
        let context = if pull_request {
            interpolate(event.setting_or("context_pr", "buildbot/pull_request/%(prop:buildername)s"), &build)
        } else {
            interpolate(event.setting_or("context", "buildbot/%(prop:buildername)s"), &build)
        };
        let stamps = build.buildset.as_ref().map(|b| b.sourcestamps.as_slice()).unwrap_or_default();
        let mut requests = Vec::new();
        for stamp in stamps {
            if stamp.revision.is_none() {
                continue;
            }
            let Some((owner, repo, sha)) = target(&build, stamp, pull_request) else { continue };
            let mut body = Map::new();
            body.insert("state".into(), state.into());
            body.insert("description".into(), description.into());
            if let Some(url) = &build.url {
                body.insert("target_url".into(), url.clone().into());
            }
            body.insert("context".into(), context.clone().into());
            let path = format!("api/v1/repos/{}/{}/statuses/{}", segment(&owner), segment(&repo), segment(&sha));
            requests.push(
                Request::post(path).json(&Value::Object(body)).supersede(format!("commit/{sha}/context/{context}")),
            );
        }
        Ok(requests)
    }
}

wasmpush_guest::export_v2!(GiteaStatus);

/// Gitea's state for a finished build's result (buildbot-gitea's table).
fn state(result: Option<Results>, warning_as_success: bool) -> &'static str {
    match result {
        Some(Results::Success | Results::Skipped) => "success",
        Some(Results::Warnings) if warning_as_success => "success",
        Some(Results::Warnings) => "warning",
        Some(Results::Exception | Results::Cancelled) => "error",
        Some(Results::Retry) => "pending",
        Some(Results::Failure) | None => "failure",
    }
}

/// A setting read as Python truth: `true`, `True`, `1`, `yes`, `on`.
fn truthy(s: &str) -> bool {
    matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on")
}

/// (owner, repository, sha) of the status for `stamp`, or `None` (logged)
/// when buildbot-gitea would skip it.
fn target(build: &Build, stamp: &SourceStamp, pull_request: bool) -> Option<(String, String, String)> {
    let sha = stamp.revision.clone().unwrap_or_default();
    let parsed = || ssh_url_match(&stamp.repository);
    if pull_request {
        let head = |name: &str| {
            let value = prop(build, name);
            if value.is_none() {
                log(Level::Info, &format!("Could not send status, pull request build has no {name} property."));
            }
            value
        };
        return Some((head("head_owner")?, head("head_reponame")?, head("head_sha")?));
    }
    let Some(repo) = prop(build, "repository_name").or_else(|| parsed().map(|(_, r)| r)) else {
        log(Level::Info, "Could not send status, build has no repository_name property for Gitea.");
        return None;
    };
    let Some(owner) = prop(build, "owner").or_else(|| parsed().map(|(o, _)| o)) else {
        log(Level::Info, "Could not send status, build has no owner property for Gitea.");
        return None;
    };
    Some((owner, repo, sha))
}

/// A build property as Python's `str.format` writes it.
fn prop(build: &Build, name: &str) -> Option<String> {
    build.properties.get(name).map(python_str)
}

/// buildbot-gitea's `ssh_url_match`, applied with `re.match`:
/// `(ssh://)?[\w+\-\_]+@[\w\.\-\_]+:?(\d*/)?(?P<owner>[\w_\-\.]+)/(?P<repo_name>[\w_\-\.]+?)(\.git)?$`
/// → (owner, repo_name), trying the alternatives in the regex's order.
/// `https://` URLs do not match (the webhook's properties name the repository).
fn ssh_url_match(url: &str) -> Option<(String, String)> {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let name = |c: char| word(c) || c == '.' || c == '-';
    let chars: Vec<char> = url.strip_prefix("ssh://").unwrap_or(url).chars().collect();
    let user = chars.iter().take_while(|&&c| word(c) || c == '+' || c == '-').count();
    if user == 0 || chars.get(user) != Some(&'@') {
        return None;
    }
    let host_start = user + 1;
    let host_max = chars[host_start..].iter().take_while(|&&c| name(c)).count();
    for host in (1..=host_max).rev() {
        let after_host = host_start + host;
        let mut colon = vec![after_host];
        if chars.get(after_host) == Some(&':') {
            colon.insert(0, after_host + 1);
        }
        for p in colon {
            let digits = chars[p..].iter().take_while(|c| c.is_ascii_digit()).count();
            let mut starts = vec![p];
            if chars.get(p + digits) == Some(&'/') {
                starts.insert(0, p + digits + 1);
            }
            for start in starts {
                if let Some(found) = owner_repo_tail(&chars[start..], name) {
                    return Some(found);
                }
            }
        }
    }
    None
}

/// `(?P<owner>[\w_\-\.]+)/(?P<repo_name>[\w_\-\.]+?)(\.git)?$` at the start of `chars`.
fn owner_repo_tail(chars: &[char], name: impl Fn(char) -> bool) -> Option<(String, String)> {
    let owner = chars.iter().take_while(|&&c| name(c)).count();
    if owner == 0 || chars.get(owner) != Some(&'/') {
        return None;
    }
    let mut rest = &chars[owner + 1..];
    // Python's `$` also matches before a final newline.
    if rest.last() == Some(&'\n') {
        rest = &rest[..rest.len() - 1];
    }
    if rest.is_empty() || !rest.iter().all(|&c| name(c)) {
        return None;
    }
    let rest: String = rest.iter().collect();
    let repo = match rest.strip_suffix(".git") {
        Some(r) if !r.is_empty() => r.to_string(),
        _ => rest,
    };
    Some((chars[..owner].iter().collect(), repo))
}

#[cfg(test)]
mod tests {
    use super::ssh_url_match;

    #[test]
    fn ssh_urls_read_like_buildbot_gitea() {
        let m = |u: &str| ssh_url_match(u).map(|(o, r)| format!("{o}/{r}"));
        assert_eq!(m("git@gitea.example:acme/widgets.git").as_deref(), Some("acme/widgets"));
        assert_eq!(m("ssh://git@gitea.example:2222/acme/widgets.git").as_deref(), Some("acme/widgets"));
        assert_eq!(m("ssh://git@gitea.example/acme/widgets").as_deref(), Some("acme/widgets"));
        assert_eq!(m("git@host/repo").as_deref(), Some("t/repo"));
        assert_eq!(m("git@host:22/repo").as_deref(), Some("22/repo"));
        assert_eq!(m("https://gitea.example/acme/widgets.git"), None);
        assert_eq!(m("git@host:group/sub/repo"), None);
        assert_eq!(m("git@h:o/.git").as_deref(), Some("o/.git"));
        assert_eq!(m("git@h:o/x.git.git").as_deref(), Some("o/x.git"));
        assert_eq!(m("ssh://git@h:22/o/r\n").as_deref(), Some("o/r"));
    }
}
