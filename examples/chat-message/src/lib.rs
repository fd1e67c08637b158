//! A chat message (Slack / Mattermost / Zulip incoming-webhook style) for
//! every finished build: `{"text": "..."}` built from the result, builder,
//! branch, revision and the build's URL.
//!
//! Settings (all optional):
//! - `channel`: adds `"channel": ...` to the body (Slack, Mattermost).
//! - `username`: adds `"username": ...` (the bot's display name).
//! - `only_failures = "true"`: stay quiet for successful builds.
//! - `prefix`: text put before every message, e.g. `[ci]`.

use wasmpush_guest::{Error, Event, EventKind, Generator, Info, Map, Report, Results, Value, export_generator};

struct ChatMessage;

fn icon(result: Option<Results>) -> &'static str {
    match result {
        Some(Results::Success) => ":white_check_mark:",
        Some(Results::Warnings) => ":warning:",
        Some(Results::Failure) => ":x:",
        Some(Results::Exception) => ":boom:",
        Some(Results::Cancelled) => ":no_entry_sign:",
        _ => ":grey_question:",
    }
}

impl Generator for ChatMessage {
    fn info() -> Info {
        Info::new("chat-message", env!("CARGO_PKG_VERSION"))
            .description("Slack/Mattermost/Zulip-style text message for finished builds")
            .events(&[EventKind::BuildFinished])
    }

    fn generate(event: &Event) -> Result<Option<Report>, Error> {
        let build = event.build()?;
        let result = build.result();
        if event.setting("only_failures") == Some("true") && matches!(result, Some(Results::Success)) {
            return Ok(None);
        }
        let builder = build.builder_name().unwrap_or("unknown builder");
        let outcome = result.map(Results::name).unwrap_or("not finished");
        let mut text = String::new();
        if let Some(prefix) = event.setting("prefix") {
            text.push_str(prefix);
            text.push(' ');
        }
        text.push_str(&format!("{} *{}* build #{} {}", icon(result), builder, build.number, outcome));
        let branch = build.properties.get_str("branch").or_else(|| build.sourcestamp()?.branch.as_deref());
        if let Some(branch) = branch.filter(|b| !b.is_empty()) {
            text.push_str(&format!(" on `{branch}`"));
        }
        let revision = build.properties.get_str("revision").or_else(|| build.sourcestamp()?.revision.as_deref());
        if let Some(rev) = revision.filter(|r| !r.is_empty()) {
            text.push_str(&format!(" ({})", &rev[..rev.len().min(12)]));
        }
        if !build.state_string.is_empty() {
            text.push_str(&format!(": {}", build.state_string));
        }
        if let Some(url) = &build.url {
            text.push_str(&format!("\n<{url}|Open build>"));
        }
        let mut body = Map::new();
        if let Some(channel) = event.setting("channel") {
            body.insert("channel".into(), Value::String(channel.into()));
        }
        if let Some(username) = event.setting("username") {
            body.insert("username".into(), Value::String(username.into()));
        }
        body.insert("text".into(), Value::String(text));
        let json = serde_json_compact(&Value::Object(body));
        Ok(Some(Report::new(json, "application/json")))
    }
}

/// Chat services accept any JSON; compact UTF-8 is the smallest.
fn serde_json_compact(v: &Value) -> Vec<u8> {
    wasmpush_guest::serde_json::to_vec(v).unwrap_or_default()
}

export_generator!(ChatMessage);
