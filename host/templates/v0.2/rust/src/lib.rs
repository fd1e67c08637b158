//! {{name}}: a wasmpush report generator (contract 0.2, `wit/wasmpush.wit`).
//!
//! On `build-finished` it sends one `POST` of `{"text": "<builder> #<number>
//! <result>"}` to the reporter's URL, with an optional `prefix` setting.
//! Contract 0.2 lets `generate` return any number of requests, each with its
//! own method, path, supersede key and kept response values: see `request`
//! below and the comments in `generate`.

wit_bindgen::generate!({ path: "wit", world: "generator" });

use wasmpush::plugin::types::{EventKind, LogContents, Method, Needs};

struct Component;

const RESULTS: [&str; 7] = ["success", "warnings", "failure", "skipped", "exception", "retry", "cancelled"];

/// A request with a JSON body; set the other fields with struct update syntax.
fn request(method: Method, path: Option<String>, body: &serde_json::Value) -> Request {
    Request {
        method,
        path,
        headers: Vec::new(),
        content_type: "application/json".into(),
        body: body.to_string().into_bytes(),
        supersede: None,
        keep: Vec::new(),
        fill: false,
    }
}

impl Guest for Component {
    fn describe() -> Info {
        Info {
            name: "{{name}}".into(),
            version: "0.1.0".into(),
            description: "one line per finished build".into(),
            events: vec![EventKind::BuildFinished],
            needs: Needs {
                properties: true,
                steps: false,
                logs: false,
                log_contents: LogContents::None,
                previous_build: false,
                changes: false,
            },
        }
    }

    fn generate(event: Event) -> Result<Vec<Request>, GenerateError> {
        let build: serde_json::Value =
            serde_json::from_str(&event.payload).map_err(|e| GenerateError { message: format!("payload is not JSON: {e}") })?;
        let builder = build["builder"]["name"].as_str().unwrap_or("unknown");
        let result = build["results"].as_u64().and_then(|r| RESULTS.get(r as usize)).copied().unwrap_or("unknown");
        let prefix = event.settings.iter().find(|(k, _)| k == "prefix").map(|(_, v)| format!("{v} ")).unwrap_or_default();
        let text = format!("{prefix}{builder} #{} {result}", build["number"]);
        let message = request(Method::Post, None, &serde_json::json!({ "text": text }));
        // More requests go in the same list, sent in order, e.g. a commit
        // status that replaces an older one still waiting in the outbox:
        //   Request { supersede: Some(format!("commit/{sha}/context/{builder}")),
        //             ..request(Method::Post, Some(format!("statuses/{sha}")), &status) }
        // A reporter sends methods other than POST only when its config
        // allows them (`methods = ["POST", "PATCH"]`).
        Ok(vec![message])
    }
}

export!(Component);
