//! What a generator wants in its payload, and cutting a full payload down to
//! it.
//!
//! Buildbot decides what to fetch from the formatter's `want_*` flags and
//! the generator's mode (spec §b.10, `reporters/utils.py`
//! `getDetailsForBuilds`): properties (default on), steps, logs, log
//! contents (all, or only some logs by `name` or `stepname.name`), and the
//! previous build (modes `change`/`problem`, finished events only). The host
//! passes the [`Needs::union`] of all its generators to the source, which
//! fetches that much once; then [`payload_for`] gives each generator its
//! own copy with exactly what it asked for, so keys never leak from one
//! generator to another (Buildbot leaks them, spec §c.3).

use crate::event::EventKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Which log contents to attach (Buildbot's `want_logs_content`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogContents {
    /// No `content` (Buildbot's default).
    #[default]
    None,
    /// `content` on every log (`want_logs_content=True`).
    All,
    /// `content` only on logs named `name` or `stepname.name`
    /// (`want_logs_content=["stdio", "compile.stdio"]`).
    Only(BTreeSet<String>),
}

impl LogContents {
    /// Whether the log `name` of step `step` gets its content.
    pub fn wants(&self, step: &str, name: &str) -> bool {
        match self {
            LogContents::None => false,
            LogContents::All => true,
            LogContents::Only(names) => names.contains(name) || names.contains(&format!("{step}.{name}")),
        }
    }

    fn union(&self, other: &LogContents) -> LogContents {
        match (self, other) {
            (LogContents::All, _) | (_, LogContents::All) => LogContents::All,
            (LogContents::None, x) | (x, LogContents::None) => x.clone(),
            (LogContents::Only(a), LogContents::Only(b)) => LogContents::Only(a.union(b).cloned().collect()),
        }
    }
}

/// What to put in a payload. `Default` is Buildbot's default formatter:
/// every event kind, properties, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Needs {
    /// Event kinds to produce at all (others are skipped, but still counted
    /// as handled in the catch-up cursor).
    pub kinds: BTreeSet<EventKind>,
    /// `properties` as `{name: [value, source]}`; without it `properties`
    /// is `{}` as in Buildbot with `want_properties=False`.
    pub properties: bool,
    /// `steps` (implied by `logs` and `log_contents`).
    pub steps: bool,
    /// `logs` on each step (implied by `log_contents`).
    pub logs: bool,
    /// `content` on logs.
    pub log_contents: LogContents,
    /// `prev_build` on finished builds (modes `change`/`problem`).
    pub previous_build: bool,
    /// `changes`: the build's change objects (`builds/<id>/changes`;
    /// contract 0.2). Only the Buildbot source can fetch them: a relayed
    /// HttpStatusPush body has none.
    pub changes: bool,
}

impl Default for Needs {
    fn default() -> Self {
        Needs {
            kinds: EventKind::ALL.into_iter().collect(),
            properties: true,
            steps: false,
            logs: false,
            log_contents: LogContents::None,
            previous_build: false,
            changes: false,
        }
    }
}

impl Needs {
    /// Nothing at all: no kinds, no extras (the neutral element of
    /// [`union`](Self::union)).
    pub fn nothing() -> Needs {
        Needs {
            kinds: BTreeSet::new(),
            properties: false,
            steps: false,
            logs: false,
            log_contents: LogContents::None,
            previous_build: false,
            changes: false,
        }
    }

    /// What both `self` and `other` need.
    pub fn union(&self, other: &Needs) -> Needs {
        Needs {
            kinds: self.kinds.union(&other.kinds).copied().collect(),
            properties: self.properties || other.properties,
            steps: self.steps || other.steps,
            logs: self.logs || other.logs,
            log_contents: self.log_contents.union(&other.log_contents),
            previous_build: self.previous_build || other.previous_build,
            changes: self.changes || other.changes,
        }
    }

    /// Logs are fetched (asked for, or implied by contents).
    pub fn wants_logs(&self) -> bool {
        self.logs || self.log_contents != LogContents::None
    }

    /// Steps are fetched (asked for, or implied by logs).
    pub fn wants_steps(&self) -> bool {
        self.steps || self.wants_logs()
    }
}

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

    #[test]
    fn union_is_the_most_of_both() {
        let a = Needs { log_contents: LogContents::Only(["stdio".into()].into()), ..Needs::nothing() };
        let b =
            Needs { log_contents: LogContents::Only(["x.y".into()].into()), previous_build: true, ..Needs::nothing() };
        let u = a.union(&b);
        assert_eq!(u.log_contents, LogContents::Only(["stdio".into(), "x.y".into()].into()));
        assert!(u.previous_build && u.wants_steps() && u.wants_logs() && !u.properties);
        assert_eq!(
            u.union(&Needs { log_contents: LogContents::All, ..Needs::nothing() }).log_contents,
            LogContents::All
        );
        assert_eq!(Needs::nothing().union(&Needs::default()), Needs::default());
    }
}
