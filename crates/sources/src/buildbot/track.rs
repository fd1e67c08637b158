//! State seen on the websocket, for point-in-time payloads.
//!
//! Buildbot's reporter enriches an event while the build goes on, so its
//! payload reflects the master at (about) event time. The REST API, queried
//! a moment later, may already show more (a finished parent, a completed
//! buildset, properties added later), and it sorts keys. The [`Tracker`]
//! keeps what the websocket said, in order:
//! - the latest message of each build, build request and buildset
//!   (`builds/*/*`, `buildrequests/*/*`, `buildsets/*/*`);
//! - each build's properties in the order they were first set, with their
//!   values as sent (`builds/*/properties/update`: key order inside dict
//!   values is kept, which REST loses).
//!
//! The assembler uses it as the state "at the event"; anything unknown
//! (e.g. after a reconnect) comes from REST instead.

use serde_json::{Map, Value};
use std::collections::{HashMap, VecDeque};

/// How many finished builds keep their tracked properties (for the
/// buildset-complete payload that follows).
const KEEP_FINISHED_PROPS: usize = 512;
/// Safety bound on each map if finish/complete frames were missed.
const MAX_ENTRIES: usize = 20_000;

/// Websocket-derived state (see the module docs).
#[derive(Debug, Default)]
pub struct Tracker {
    builds: HashMap<i64, Map<String, Value>>,
    props: HashMap<i64, Map<String, Value>>,
    finished_props: VecDeque<i64>,
    buildrequests: HashMap<i64, Value>,
    buildsets: HashMap<i64, Value>,
}

impl Tracker {
    /// Records one event frame (`key` split on `/`, `msg` its message).
    pub fn observe(&mut self, key: &[&str], msg: &Value) {
        let id = key.get(1).and_then(|s| s.parse::<i64>().ok());
        let (Some(id), Some(obj)) = (id, msg.as_object()) else { return };
        match (key[0], &key[2..]) {
            ("builds", ["properties", "update"]) => {
                let props = self.props.entry(id).or_default();
                for (name, v) in obj {
                    // Only well-formed [value, source] pairs.
                    if v.as_array().is_some_and(|a| a.len() == 2 && a[1].is_string()) {
                        props.insert(name.clone(), v.clone());
                    }
                }
            }
            ("builds", [_]) => {
                self.builds.insert(id, obj.clone());
            }
            ("buildrequests", [_]) => {
                self.buildrequests.insert(id, msg.clone());
            }
            ("buildsets", [_]) => {
                self.buildsets.insert(id, msg.clone());
            }
            _ => {}
        }
        for len in [self.builds.len(), self.props.len(), self.buildrequests.len(), self.buildsets.len()] {
            if len > MAX_ENTRIES {
                tracing::warn!(
                    "buildbot: websocket state grew past {MAX_ENTRIES} entries; dropping it (payloads fall back to REST)"
                );
                *self = Tracker::default();
                break;
            }
        }
    }

    /// The latest message of build `id`.
    pub fn build(&self, id: i64) -> Option<&Map<String, Value>> {
        self.builds.get(&id)
    }

    /// Build `id`'s properties so far, in first-set order.
    pub fn properties(&self, id: i64) -> Option<&Map<String, Value>> {
        self.props.get(&id).filter(|p| !p.is_empty())
    }

    /// The latest message of build request `id`.
    pub fn buildrequest(&self, id: i64) -> Option<&Value> {
        self.buildrequests.get(&id)
    }

    /// The latest message of buildset `id`.
    pub fn buildset(&self, id: i64) -> Option<&Value> {
        self.buildsets.get(&id)
    }

    /// Build `id` finished and was handled: drop its state (its properties
    /// are kept a while for the buildset-complete payload).
    pub fn build_done(&mut self, id: i64) {
        self.builds.remove(&id);
        self.finished_props.push_back(id);
        while self.finished_props.len() > KEEP_FINISHED_PROPS {
            if let Some(old) = self.finished_props.pop_front() {
                self.props.remove(&old);
            }
        }
    }

    /// Buildset `id` completed and was handled.
    pub fn buildset_done(&mut self, id: i64) {
        self.buildsets.remove(&id);
    }

    /// Build request `id` completed: nothing will ask for it any more.
    pub fn buildrequest_done(&mut self, id: i64) {
        self.buildrequests.remove(&id);
    }

    /// After a reconnect: the latest-state maps may be stale (frames were
    /// missed), so forget them. Properties are kept: what was seen is right,
    /// missed ones are added from REST.
    pub fn reconnected(&mut self) {
        self.builds.clear();
        self.buildrequests.clear();
        self.buildsets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_first_set_order_and_latest_values() {
        let mut t = Tracker::default();
        t.observe(&["builds", "3", "properties", "update"], &json!({"b": [1, "S"], "a": [{"z": 1, "y": 2}, "S"]}));
        t.observe(&["builds", "3", "properties", "update"], &json!({"c": [3, "S"], "b": [2, "S"], "bad": 1}));
        let p = t.properties(3).unwrap();
        assert_eq!(serde_json::to_string(p).unwrap(), r#"{"b":[2,"S"],"a":[{"z":1,"y":2},"S"],"c":[3,"S"]}"#);
        t.observe(&["builds", "3", "update"], &json!({"buildid": 3, "state_string": "x"}));
        t.observe(&["builds", "3", "finished"], &json!({"buildid": 3, "state_string": "y"}));
        assert_eq!(t.build(3).unwrap()["state_string"], "y");
        t.build_done(3);
        assert!(t.build(3).is_none() && t.properties(3).is_some());
        t.observe(&["buildsets", "x", "new"], &json!({}));
        assert!(t.buildset(0).is_none());
    }
}
