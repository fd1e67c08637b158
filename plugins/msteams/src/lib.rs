//! A Microsoft Teams message when a build starts and when it finishes
//! (Buildbot has no Teams reporter in core): an Adaptive Card in the
//! `message` envelope that Teams webhooks accept (a Workflows "When a Teams
//! webhook request is received" flow, and the older Office 365 connector
//! incoming webhooks). The webhook URL is the credential: the reporter's
//! `server_url_env`; every request goes to that URL itself (no path).
//!
//! ```json
//! {"type": "message", "attachments": [{
//!   "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null,
//!   "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
//!     "type": "AdaptiveCard", "version": "1.4",
//!     "body": [
//!       {"type": "TextBlock", "text": "pass #3 finished: success", "size": "Medium",
//!        "weight": "Bolder", "color": "Good", "wrap": true},
//!       {"type": "FactSet", "facts": [{"title": "Builder", "value": "pass"}, ...]}],
//!     "actions": [{"type": "Action.OpenUrl", "title": "View build", "url": "http://..."}]}}]}
//! ```
//!
//! `color`: `Good` (success), `Warning` (warnings, retry, cancelled, skipped),
//! `Attention` (failure, exception), `Accent` while the build runs.

use wasmpush_guest::v2::{Error, Event, EventKind, Generator, Info, Method, Request};
use wasmpush_guest::{Results, Value, json};

struct Teams;

impl Generator for Teams {
    fn info() -> Info {
        Info::new("msteams", env!("CARGO_PKG_VERSION"))
            .description("Microsoft Teams webhook Adaptive Card per build start and finish (contract 0.2)")
            .events(&[EventKind::BuildNew, EventKind::BuildFinished])
    }

    fn generate(event: &Event) -> Result<Vec<Request>, Error> {
        let build = event.build()?;
        let finished = event.kind == EventKind::BuildFinished && build.complete;
        let builder = build.builder_name().unwrap_or("build");
        let result = build.result().map_or("unknown", Results::name);
        let (headline, color) = if finished {
            (format!("{builder} #{} finished: {result}", build.number), color(build.result()))
        } else {
            (format!("{builder} #{} started", build.number), "Accent")
        };
        let mut facts = vec![fact("Builder", builder), fact("Build", &build.number.to_string())];
        if finished {
            facts.push(fact("Result", result));
            if !build.state_string.is_empty() {
                facts.push(fact("Status", &build.state_string));
            }
        }
        if let Some(stamp) = build.sourcestamp() {
            if !stamp.project.is_empty() {
                facts.push(fact("Project", &stamp.project));
            }
            if let Some(branch) = stamp.branch.as_deref().filter(|b| !b.is_empty()) {
                facts.push(fact("Branch", branch));
            }
            if let Some(rev) = stamp.revision.as_deref().filter(|r| !r.is_empty()) {
                facts.push(fact("Revision", &rev.chars().take(12).collect::<String>()));
            }
        }
        let mut card = json!({
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {"type": "TextBlock", "text": headline, "size": "Medium", "weight": "Bolder", "color": color, "wrap": true},
                {"type": "FactSet", "facts": facts},
            ],
        });
        if let Some(url) = build.url.as_deref().filter(|u| !u.is_empty()) {
            card["actions"] = json!([{"type": "Action.OpenUrl", "title": "View build", "url": url}]);
        }
        let body = json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card,
            }],
        });
        Ok(vec![Request::new(Method::Post).json(&body)])
    }
}

wasmpush_guest::export_v2!(Teams);

/// A FactSet row (text as it is: see README "Deliberate differences").
fn fact(title: &str, value: &str) -> Value {
    json!({"title": title, "value": value})
}

/// The headline colour for a finished build's result.
fn color(result: Option<Results>) -> &'static str {
    match result {
        Some(Results::Success) => "Good",
        Some(Results::Warnings | Results::Skipped | Results::Retry | Results::Cancelled) => "Warning",
        Some(Results::Failure | Results::Exception) | None => "Attention",
    }
}
