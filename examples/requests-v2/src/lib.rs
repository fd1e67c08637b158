//! A `wasmpush:plugin@0.2.0` generator written against the WIT directly
//! (no SDK), to exercise what 0.2 adds. Its `mode` setting picks a shape:
//!
//! - `fanout` (default): `count` (default 3) POSTs, `statuses/<buildid>/<i>`;
//! - `patch`: one PATCH to `checks/<buildid>`;
//! - `status`: one POST `statuses/<revision>` whose body says `pending` on
//!   build-new and `success`/`failure` on build-finished, with the supersede
//!   key `commit/<revision>/context/<builder>`: what GitHubStatusPush sends;
//! - `check`: a check run, GitHub Checks style: build-new POSTs
//!   `check-runs` keeping the response's `/id` as `check_run_id`;
//!   build-finished PATCHes `check-runs/{check_run_id}` (filled by the host);
//! - `refuse-second`: two POSTs, the second with a header the host reserves
//!   (`Authorization`), so the host refuses both.

wit_bindgen::generate!({
    path: "../../wit/v0.2",
    world: "generator",
});

use serde_json::{Value, json};
use wasmpush::plugin::types::{EventKind, Keep, LogContents, Method, Needs};

struct RequestsV2;

fn setting<'a>(event: &'a Event, key: &str) -> Option<&'a str> {
    event.settings.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn post(path: String, body: Value) -> Request {
    Request {
        method: Method::Post,
        path: Some(path),
        headers: Vec::new(),
        content_type: "application/json".into(),
        body: body.to_string().into_bytes(),
        supersede: None,
        keep: Vec::new(),
        fill: false,
    }
}

impl Guest for RequestsV2 {
    fn describe() -> Info {
        Info {
            name: "requests-v2".into(),
            version: "0.2.0".into(),
            description: "Fan-out, methods and supersede keys (contract 0.2)".into(),
            events: vec![EventKind::BuildNew, EventKind::BuildFinished],
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
        let build: Value = serde_json::from_str(&event.payload)
            .map_err(|e| GenerateError { message: format!("payload is not JSON: {e}") })?;
        let id = build["buildid"].as_u64().unwrap_or(0);
        let finished = matches!(event.kind, EventKind::BuildFinished);
        match setting(&event, "mode").unwrap_or("fanout") {
            "fanout" => {
                let count: u64 = setting(&event, "count").and_then(|c| c.parse().ok()).unwrap_or(3);
                Ok((0..count).map(|i| post(format!("statuses/{id}/{i}"), json!({"buildid": id, "index": i}))).collect())
            }
            "patch" => {
                let mut r = post(format!("checks/{id}"), json!({"buildid": id, "status": "completed"}));
                r.method = Method::Patch;
                Ok(vec![r])
            }
            "status" => {
                let revision = build["properties"]["revision"][0].as_str().unwrap_or("unknown").to_string();
                let builder = build["builder"]["name"].as_str().unwrap_or("builder").to_string();
                let state = match (finished, build["results"].as_u64()) {
                    (false, _) => "pending",
                    (true, Some(0)) => "success",
                    (true, _) => "failure",
                };
                let mut r =
                    post(format!("statuses/{revision}"), json!({"state": state, "context": builder, "buildid": id}));
                r.supersede = Some(format!("commit/{revision}/context/{builder}"));
                Ok(vec![r])
            }
            "check" if !finished => {
                let mut r =
                    post("check-runs".into(), json!({"name": "buildbot", "status": "in_progress", "buildid": id}));
                r.keep.push(Keep { name: "check_run_id".into(), pointer: "/id".into() });
                Ok(vec![r])
            }
            "check" => {
                let mut r = post(
                    "check-runs/{check_run_id}".into(),
                    json!({"status": "completed", "conclusion": "success", "check_run": "{check_run_id}"}),
                );
                r.method = Method::Patch;
                r.fill = true;
                Ok(vec![r])
            }
            "refuse-second" => {
                let mut second = post(format!("statuses/{id}/1"), json!({"index": 1}));
                second.headers.push(("Authorization".into(), "Bearer stolen".into()));
                Ok(vec![post(format!("statuses/{id}/0"), json!({"index": 0})), second])
            }
            other => Err(GenerateError { message: format!("unknown mode {other:?}") }),
        }
    }
}

export!(RequestsV2);
