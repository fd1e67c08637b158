//! Cutting a full payload down to what one generator needs.
//!
//! A source assembles each event's payload once, for the
//! [`Needs::union`](wasmpush_model::Needs::union) of every generator's
//! needs; [`payload_for`] then gives each generator its own copy with exactly
//! what it asked for, so keys never leak from one generator to another
//! (Buildbot leaks them, spec §c.3). It applies to every source's events:
//! a relayed or replayed payload is cut the same way as a Buildbot one.

use serde_json::{Map, Value};
use wasmpush_model::needs::Needs;

/// `full` (a payload assembled for the union of needs) cut down to `needs`:
/// `properties` emptied to `{}` when not wanted (position kept), `steps`,
/// step `logs`, log `content` and `prev_build` removed when not wanted. Works
/// on build payloads and on `{"buildset", "builds"}` payloads; the result is
/// a new value, `full` is untouched.
pub fn payload_for(full: &Value, needs: &Needs) -> Value {
    let mut out = full.clone();
    let is_buildset = out.get("builds").is_some_and(Value::is_array) && out.get("buildid").is_none();
    if is_buildset {
        if let Some(Value::Array(builds)) = out.get_mut("builds") {
            for b in builds.iter_mut().filter_map(Value::as_object_mut) {
                cut_build(b, needs);
            }
        }
    } else if let Some(b) = out.as_object_mut() {
        cut_build(b, needs);
    }
    out
}

fn cut_build(build: &mut Map<String, Value>, needs: &Needs) {
    if !needs.properties
        && let Some(p) = build.get_mut("properties")
    {
        *p = Value::Object(Map::new());
    }
    if !needs.previous_build {
        build.shift_remove("prev_build");
    }
    if !needs.changes {
        build.shift_remove("changes");
    }
    if !needs.wants_steps() {
        build.shift_remove("steps");
        return;
    }
    let Some(Value::Array(steps)) = build.get_mut("steps") else { return };
    for step in steps.iter_mut().filter_map(Value::as_object_mut) {
        if !needs.wants_logs() {
            step.shift_remove("logs");
            continue;
        }
        let step_name = step.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        let Some(Value::Array(logs)) = step.get_mut("logs") else { continue };
        for log in logs.iter_mut().filter_map(Value::as_object_mut) {
            let name = log.get("name").and_then(Value::as_str).unwrap_or("");
            if !needs.log_contents.wants(&step_name, name) {
                log.shift_remove("content");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wasmpush_model::needs::LogContents;

    fn full() -> Value {
        json!({"buildid": 1, "properties": {"a": [1, "x"]}, "builder": {}, "url": "u",
            "steps": [{"name": "compile", "logs": [
                {"name": "stdio", "content": {"content": "o1"}},
                {"name": "warnings", "content": {"content": "w"}}]}],
            "prev_build": null})
    }

    #[test]
    fn cuts_to_each_generators_needs_without_touching_the_original() {
        let f = full();
        let plain = payload_for(&f, &Needs::default());
        assert_eq!(plain, json!({"buildid": 1, "properties": {"a": [1, "x"]}, "builder": {}, "url": "u"}));
        let no_props = payload_for(&f, &Needs { properties: false, ..Needs::default() });
        assert_eq!(
            serde_json::to_string(&no_props).unwrap(),
            r#"{"buildid":1,"properties":{},"builder":{},"url":"u"}"#
        );
        let only =
            Needs { log_contents: LogContents::Only(["compile.warnings".to_string()].into()), ..Needs::default() };
        let cut = payload_for(&f, &only);
        assert_eq!(cut["steps"][0]["logs"][0], json!({"name": "stdio"}));
        assert_eq!(cut["steps"][0]["logs"][1]["content"]["content"], "w");
        assert!(cut.get("prev_build").is_none());
        let steps_only = payload_for(&f, &Needs { steps: true, previous_build: true, ..Needs::default() });
        assert_eq!(steps_only["steps"], json!([{"name": "compile"}]));
        assert!(serde_json::to_string(&steps_only).unwrap().contains("prev_build"));
        assert_eq!(f, full(), "the full payload must not change");
        let bs = payload_for(&json!({"buildset": {}, "builds": [f.clone()]}), &Needs::default());
        assert_eq!(bs["builds"][0], plain);
    }

    #[test]
    fn changes_reach_only_the_generators_that_ask_for_them() {
        let f = json!({"buildid": 1, "changes": [{"changeid": 5, "branch": "refs/pull/7/merge"}]});
        assert!(payload_for(&f, &Needs::default()).get("changes").is_none());
        let asked = Needs { changes: true, ..Needs::default() };
        assert_eq!(payload_for(&f, &asked)["changes"][0]["changeid"], 5);
        assert!(Needs::default().union(&asked).changes);
    }
}
