//! Property tests of the payload assembler on random masters served like
//! Buildbot's REST API (keys sorted): key order, properties, cutting per
//! generator (`payload_for`) equals fetching less, previous-build search,
//! and garbage answers never panic. Cases: `PROPTEST_CASES` (default 256).

use proptest::prelude::*;
use serde_json::{Map, Number, Value, json};
use std::collections::{BTreeSet, HashMap};
use wasmpush_sources::EventKind;
use wasmpush_sources::buildbot::assemble::{self, Ctx};
use wasmpush_sources::buildbot::rest::{Api, RestError};
use wasmpush_sources::buildbot::track::Tracker;
use wasmpush_sources::buildbot::{LogContents, Needs, payload_for};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| Value::Number(n.into())),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        "[a-z\u{e9}\u{2713} ]{0,8}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z]{1,5}", inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&m[k]))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[derive(Debug, Clone)]
struct Model {
    number: i64,
    props: Vec<(String, Value)>,
    steps: Vec<(String, Vec<String>)>,
    prev_results: Vec<i64>,
    parent: bool,
}

fn model() -> impl Strategy<Value = Model> {
    (
        1i64..6,
        prop::collection::vec(("[a-z_]{1,8}", json_value(), "[A-Z][a-z]{0,6}"), 0..8),
        prop::collection::vec(("[a-z]{1,6}", prop::collection::vec("[a-z]{1,5}", 0..3)), 0..4),
        prop::collection::vec(prop_oneof![Just(0i64), Just(2), Just(5)], 6),
        any::<bool>(),
    )
        .prop_map(|(number, props, steps, prev_results, parent)| {
            let mut seen = BTreeSet::new();
            let props = props
                .into_iter()
                .filter(|(n, _, _)| seen.insert(n.clone()))
                .map(|(n, v, src)| (n, json!([v, src])))
                .collect();
            Model { number, props, steps, prev_results, parent }
        })
}

fn build_obj(id: i64, builderid: i64, number: i64, results: Value) -> Value {
    json!({"buildid": id, "number": number, "builderid": builderid, "buildrequestid": 7, "workerid": 1, "masterid": 1,
        "started_at": 100, "complete_at": 200, "locks_duration_s": 0, "complete": true, "state_string": "done",
        "results": results, "properties": {}})
}

/// REST as Buildbot serves it: envelopes, keys sorted.
struct FakeApi(HashMap<String, Value>);

impl FakeApi {
    fn new(m: &Model) -> FakeApi {
        let mut r = HashMap::new();
        let mut put = |path: String, v: Value| {
            r.insert(path, sorted(&v));
        };
        put("builds/50".into(), build_obj(50, 3, m.number, json!(0)));
        put(
            "buildrequests/7".into(),
            json!({"buildrequestid": 7, "buildsetid": 9, "builderid": 3, "priority": 0, "claimed": true,
            "claimed_at": 1, "claimed_by_masterid": 1, "complete": true, "results": 0, "submitted_at": 1, "complete_at": 2,
            "waited_for": false, "properties": null}),
        );
        put(
            "buildsets/9".into(),
            json!({"bsid": 9, "external_idstring": null, "reason": "r", "submitted_at": 1, "complete": true,
            "complete_at": 2, "results": 0, "parent_buildid": if m.parent { json!(40) } else { Value::Null },
            "parent_relationship": null, "rebuilt_buildid": null,
            "sourcestamps": [{"ssid": 1, "branch": "b", "revision": null, "project": "p", "repository": "r", "codebase": "",
                "created_at": 1, "patch": null}]}),
        );
        put("builds/40".into(), build_obj(40, 2, 1, json!(0)));
        for b in [2, 3] {
            put(
                format!("builders/{b}"),
                json!({"builderid": b, "name": format!("b{b}"), "masterids": [1], "description": null,
                "description_format": null, "description_html": null, "projectid": null, "tags": []}),
            );
        }
        let props: Map<String, Value> = m.props.iter().cloned().collect();
        put("builds/50/properties".into(), Value::Object(props));
        let mut steps = vec![];
        let mut logid = 0;
        for (i, (name, logs)) in m.steps.iter().enumerate() {
            let stepid = 100 + i as i64;
            steps.push(json!({"stepid": stepid, "number": i, "name": name, "buildid": 50, "started_at": 1, "locks_acquired_at": 1,
                "complete": true, "complete_at": 2, "state_string": "s", "results": 0, "urls": [{"url": "u", "name": "n"}], "hidden": false}));
            let mut ls = vec![];
            for l in logs {
                logid += 1;
                ls.push(json!({"logid": logid, "name": l, "slug": l, "stepid": stepid, "complete": true, "num_lines": 1, "type": "s"}));
                put(
                    format!("logs/{logid}/contents"),
                    json!({"logid": logid, "firstline": 0, "content": format!("o{l}\n")}),
                );
            }
            put(format!("steps/{stepid}/logs"), Value::Array(ls));
        }
        put("builds/50/steps".into(), Value::Array(steps));
        for n in 0..m.number {
            put(format!("builders/3/builds/{n}"), build_obj(60 + n, 3, n, json!(m.prev_results[n as usize])));
        }
        FakeApi(r)
    }
}

impl Api for FakeApi {
    async fn list(&self, path: &str, _plural: &str) -> Result<Vec<Value>, RestError> {
        match self.0.get(path) {
            Some(Value::Array(items)) if path.ends_with("/steps") || path.ends_with("/logs") => Ok(items.clone()),
            Some(v) => Ok(vec![v.clone()]),
            None => Err(RestError::NotFound { path: path.into() }),
        }
    }
}

fn needs() -> impl Strategy<Value = Needs> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0usize..3,
        any::<bool>(),
        prop::collection::btree_set("[a-z]{1,5}", 0..3),
    )
        .prop_map(|(properties, steps, logs, lc, previous_build, only)| Needs {
            properties,
            steps,
            logs,
            log_contents: match lc {
                0 => LogContents::None,
                1 => LogContents::All,
                _ => LogContents::Only(only),
            },
            previous_build,
            ..Needs::default()
        })
}

fn ctx() -> Ctx {
    Ctx { buildbot_url: "http://m/".into() }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

proptest! {
    #[test]
    fn cutting_equals_fetching_less_and_keys_keep_buildbots_order(m in model(), a in needs(), b in needs()) {
        let api = FakeApi::new(&m);
        let union = a.union(&b);
        let kind = EventKind::BuildFinished;
        let (full, only_a) = rt().block_on(async {
            (assemble::build_payload(&api, &ctx(), 50, kind, None, &union).await.unwrap(),
             assemble::build_payload(&api, &ctx(), 50, kind, None, &a).await.unwrap())
        });
        let cut = payload_for(&full, &a);
        prop_assert_eq!(serde_json::to_string(&cut).unwrap(), serde_json::to_string(&only_a).unwrap());

        let mut keys: Vec<&str> = vec!["buildid", "number", "builderid", "buildrequestid", "workerid", "masterid", "started_at",
            "complete_at", "locks_duration_s", "complete", "state_string", "results", "properties", "buildrequest", "buildset",
            "parentbuild", "parentbuilder", "builder", "url"];
        if a.wants_steps() { keys.push("steps"); }
        if a.previous_build { keys.push("prev_build"); }
        prop_assert_eq!(only_a.as_object().unwrap().keys().map(String::as_str).collect::<Vec<_>>(), keys);
        let props: Map<String, Value> = m.props.iter().cloned().collect();
        prop_assert_eq!(&only_a["properties"], &if a.properties { Value::Object(props) } else { json!({}) });
        prop_assert_eq!(only_a["parentbuild"].is_null(), !m.parent);
        if a.previous_build {
            let want = (0..m.number).rev().find(|n| m.prev_results[*n as usize] != 5);
            prop_assert_eq!(only_a["prev_build"]["number"].as_i64(), want);
        }
        if a.wants_logs() {
            for (s, (sname, logs)) in only_a["steps"].as_array().unwrap().iter().zip(&m.steps) {
                for (l, lname) in s["logs"].as_array().unwrap().iter().zip(logs) {
                    prop_assert_eq!(l.get("content").is_some(), a.log_contents.wants(sname, lname));
                    prop_assert_eq!(&l["stepname"], &json!(sname));
                }
            }
        }
    }

    #[test]
    fn tracked_properties_keep_their_order_and_dict_order(m in model()) {
        let api = FakeApi::new(&m);
        let mut t = Tracker::default();
        let msg: Map<String, Value> = m.props.iter().cloned().collect();
        t.observe(&["builds", "50", "properties", "update"], &Value::Object(msg.clone()));
        let got = rt().block_on(assemble::build_payload(&api, &ctx(), 50, EventKind::BuildFinished, Some(&t), &Needs::default())).unwrap();
        // Byte-identical to what was set, not REST's sorted version.
        prop_assert_eq!(serde_json::to_string(&got["properties"]).unwrap(), serde_json::to_string(&msg).unwrap());
    }

    #[test]
    fn garbage_answers_never_panic(m in model(), junk in prop::collection::vec(json_value(), 1..12), n in needs(), seed in any::<u64>()) {
        let mut api = FakeApi::new(&m);
        // Replace some answers with random JSON, drop others.
        let mut paths: Vec<String> = api.0.keys().cloned().collect();
        paths.sort();
        for (i, p) in paths.iter().enumerate() {
            let pick = (seed.rotate_left(i as u32) as usize) % (junk.len() + 2);
            if pick < junk.len() { api.0.insert(p.clone(), junk[pick].clone()); }
            else if pick == junk.len() { api.0.remove(p); }
        }
        let n = n.union(&Needs { previous_build: true, ..Needs::nothing() });
        let _ = rt().block_on(async {
            let _ = assemble::build_payload(&api, &ctx(), 50, EventKind::BuildFinished, None, &n).await;
            assemble::buildset_payload(&api, &ctx(), 9, None, &n).await
        });
    }
}
