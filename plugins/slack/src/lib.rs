//! A Slack incoming-webhook message when a build starts and when it
//! finishes (Buildbot has no Slack reporter in core). The webhook URL is
//! the credential: the reporter's `server_url_env`; every request goes to
//! that URL itself (no path).
//!
//! Body (Slack's `chat.postMessage` subset that incoming webhooks accept):
//!
//! ```json
//! {"text": "pass #3 finished: success",
//!  "blocks": [
//!    {"type": "section", "text": {"type": "mrkdwn",
//!      "text": ":white_check_mark: *<http://buildbot/#/builders/4/builds/3|pass #3>* finished: *success*"}},
//!    {"type": "context", "elements": [{"type": "mrkdwn",
//!      "text": "build successful · demo/repo · main · `0123456789ab`"}]}]}
//! ```
//!
//! `text` is the notification's plain text (and what clients without
//! blocks show). Text from the build is escaped as Slack asks (`&`, `<`,
//! `>`), so a branch or builder name cannot add links or mentions.

use wasmpush_guest::v2::{Error, Event, EventKind, Generator, Info, Method, Request};
use wasmpush_guest::{Build, Results, json};

struct Slack;

impl Generator for Slack {
    fn info() -> Info {
        Info::new("slack", env!("CARGO_PKG_VERSION"))
            .description("Slack incoming-webhook message per build start and finish (contract 0.2)")
            .events(&[EventKind::BuildNew, EventKind::BuildFinished])
    }

    fn generate(event: &Event) -> Result<Vec<Request>, Error> {
        let build = event.build()?;
        let finished = event.kind == EventKind::BuildFinished && build.complete;
        let title = format!("{} #{}", build.builder_name().unwrap_or("build"), build.number);
        let (emoji, what) = if finished {
            let result = build.result().map_or("unknown", Results::name);
            (emoji(build.result()), format!("finished: {result}"))
        } else {
            (":arrow_forward:", "started".to_string())
        };
        let link = match build.url.as_deref() {
            Some(url) if !url.is_empty() => format!("<{}|{}>", escape(url), escape(&title).replace('|', "\u{2758}")),
            _ => escape(&title),
        };
        let headline = if finished {
            let (word, result) = what.split_once(": ").unwrap_or((&what, ""));
            format!("{emoji} *{link}* {word}: *{result}*")
        } else {
            format!("{emoji} *{link}* {what}")
        };
        let mut blocks = vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": headline}})];
        let context = context(&build, finished);
        if !context.is_empty() {
            blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}));
        }
        let body = json!({"text": format!("{} {what}", escape(&title)), "blocks": blocks});
        Ok(vec![Request::new(Method::Post).json(&body)])
    }
}

wasmpush_guest::export_v2!(Slack);

/// The emoji for a finished build's result.
fn emoji(result: Option<Results>) -> &'static str {
    match result {
        Some(Results::Success) => ":white_check_mark:",
        Some(Results::Warnings) => ":warning:",
        Some(Results::Failure) => ":x:",
        Some(Results::Skipped) => ":fast_forward:",
        Some(Results::Exception) => ":boom:",
        Some(Results::Retry) => ":repeat:",
        Some(Results::Cancelled) => ":no_entry_sign:",
        None => ":grey_question:",
    }
}

/// Slack's mrkdwn escaping: `&`, `<`, `>`.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The context line: the build's state string when finished, then the first
/// sourcestamp's project, branch and revision (12 characters), those present.
fn context(build: &Build, finished: bool) -> String {
    let mut parts = Vec::new();
    if finished && !build.state_string.is_empty() {
        parts.push(escape(&build.state_string));
    }
    if let Some(stamp) = build.sourcestamp() {
        if !stamp.project.is_empty() {
            parts.push(escape(&stamp.project));
        }
        if let Some(branch) = stamp.branch.as_deref().filter(|b| !b.is_empty()) {
            parts.push(escape(branch));
        }
        if let Some(rev) = stamp.revision.as_deref().filter(|r| !r.is_empty()) {
            let short: String = rev.chars().take(12).collect();
            parts.push(format!("`{}`", escape(&short.replace('`', "'"))));
        }
    }
    parts.join(" \u{b7} ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_slack() {
        assert_eq!(escape("a<b>&c"), "a&lt;b&gt;&amp;c");
    }
}
