//! Buildbot's key order for data API objects.
//!
//! Pushed payloads and websocket frames keep the insertion order of each
//! entity's `_db2data` (spec §f), but the REST API sorts keys (spec §g.1).
//! [`reorder`] puts a REST object back into `_db2data` order; keys not in
//! the table (a newer Buildbot) follow in the order REST gave them.

use serde_json::{Map, Value};

/// A data API entity type (whose key order is known).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Build,
    Buildset,
    Sourcestamp,
    Patch,
    Buildrequest,
    Builder,
    Step,
    StepUrl,
    Log,
    Logchunk,
}

impl Entity {
    /// `_db2data` order, from Buildbot 4.3.0 `master/buildbot/data/*.py`.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Entity::Build => &[
                "buildid",
                "number",
                "builderid",
                "buildrequestid",
                "workerid",
                "masterid",
                "started_at",
                "complete_at",
                "locks_duration_s",
                "complete",
                "state_string",
                "results",
                "properties",
            ],
            Entity::Buildset => &[
                "bsid",
                "external_idstring",
                "reason",
                "submitted_at",
                "complete",
                "complete_at",
                "results",
                "parent_buildid",
                "parent_relationship",
                "rebuilt_buildid",
                "sourcestamps",
            ],
            Entity::Sourcestamp => {
                &["ssid", "branch", "revision", "project", "repository", "codebase", "created_at", "patch"]
            }
            Entity::Patch => &["patchid", "level", "subdir", "author", "comment", "body"],
            Entity::Buildrequest => &[
                "buildrequestid",
                "buildsetid",
                "builderid",
                "priority",
                "claimed",
                "claimed_at",
                "claimed_by_masterid",
                "complete",
                "results",
                "submitted_at",
                "complete_at",
                "waited_for",
                "properties",
            ],
            Entity::Builder => &[
                "builderid",
                "name",
                "masterids",
                "description",
                "description_format",
                "description_html",
                "projectid",
                "tags",
            ],
            Entity::Step => &[
                "stepid",
                "number",
                "name",
                "buildid",
                "started_at",
                "locks_acquired_at",
                "complete",
                "complete_at",
                "state_string",
                "results",
                "urls",
                "hidden",
            ],
            Entity::StepUrl => &["name", "url"],
            Entity::Log => &["logid", "name", "slug", "stepid", "complete", "num_lines", "type"],
            Entity::Logchunk => &["logid", "firstline", "content"],
        }
    }
}

/// `value` with its keys (and those of its known sub-objects: a buildset's
/// sourcestamps and their patch, a step's urls) in `_db2data` order.
/// Non-objects are returned unchanged.
pub fn reorder(entity: Entity, value: Value) -> Value {
    let Value::Object(mut obj) = value else { return value };
    let mut out = Map::with_capacity(obj.len());
    for key in entity.keys() {
        if let Some((k, v)) = obj.shift_remove_entry(*key) {
            let v = match (entity, *key) {
                (Entity::Buildset, "sourcestamps") => map_list(v, Entity::Sourcestamp),
                (Entity::Sourcestamp, "patch") => reorder(Entity::Patch, v),
                (Entity::Step, "urls") => map_list(v, Entity::StepUrl),
                _ => v,
            };
            out.insert(k, v);
        }
    }
    out.extend(obj);
    Value::Object(out)
}

fn map_list(v: Value, entity: Entity) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(|i| reorder(entity, i)).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restores_db2data_order_and_keeps_unknown_keys_last() {
        let rest: Value = serde_json::from_str(
            r#"{"bsid": 1, "complete": false, "zzz_new": 1, "reason": "r", "sourcestamps": [{"ssid": 2, "branch": "b", "patch": {"body": "x", "patchid": 1}}]}"#,
        )
        .unwrap();
        let got = serde_json::to_string(&reorder(Entity::Buildset, rest)).unwrap();
        assert_eq!(
            got,
            r#"{"bsid":1,"reason":"r","complete":false,"sourcestamps":[{"ssid":2,"branch":"b","patch":{"patchid":1,"body":"x"}}],"zzz_new":1}"#
        );
        assert_eq!(reorder(Entity::Build, Value::Null), Value::Null);
    }
}
