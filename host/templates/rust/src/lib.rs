//! {{name}}: a wasmpush report generator.
//!
//! On `build-finished` it reports `{"text": "<builder> #<number> <result>"}`,
//! with an optional `prefix` setting. Edit `generate` to shape your body.

wit_bindgen::generate!({ path: "wit", world: "generator" });

use wasmpush::plugin::types::{EventKind, LogContents, Needs};

struct Component;

const RESULTS: [&str; 7] = ["success", "warnings", "failure", "skipped", "exception", "retry", "cancelled"];

impl Guest for Component {
    fn describe() -> Info {
        Info {
            name: "{{name}}".into(),
            version: "0.1.0".into(),
            description: "one line per finished build".into(),
            events: vec![EventKind::BuildFinished],
            needs: Needs { properties: true, steps: false, logs: false, log_contents: LogContents::None, previous_build: false },
        }
    }

    fn generate(event: Event) -> Result<Option<Report>, GenerateError> {
        let build: serde_json::Value =
            serde_json::from_str(&event.payload).map_err(|e| GenerateError { message: format!("payload is not JSON: {e}") })?;
        let builder = build["builder"]["name"].as_str().unwrap_or("unknown");
        let result = build["results"].as_u64().and_then(|r| RESULTS.get(r as usize)).copied().unwrap_or("unknown");
        let prefix = event.settings.iter().find(|(k, _)| k == "prefix").map(|(_, v)| format!("{v} ")).unwrap_or_default();
        let text = format!("{prefix}{builder} #{} {result}", build["number"]);
        let body = serde_json::json!({ "text": text }).to_string();
        Ok(Some(Report { body: body.into_bytes(), content_type: "application/json".into(), headers: vec![], path: None }))
    }
}

export!(Component);
