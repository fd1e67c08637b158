//! Property tests of the relay body parser: no input makes it panic, every
//! refusal is a one-line 4xx, and accepted payloads re-serialise to the
//! exact bytes Buildbot sent. Case count: `PROPTEST_CASES` (default 256).

use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use wasmpush_guest::python_json;
use wasmpush_sources::EventKind;
use wasmpush_sources::relay::parse::{check_content_type, kind_override, parse_body};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        ".*".prop_map(Value::String),
        "[a-z\u{e9}\u{2713}\u{1f600}\\\\\"\n\t]{0,12}".prop_map(Value::String),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((".{0,8}", inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A build-like object: `buildid` first, random fields, maybe `complete`.
fn build() -> impl Strategy<Value = (Value, Option<bool>)> {
    (any::<u32>(), prop::option::of(any::<bool>()), prop::collection::vec(("[a-z_]{1,10}", json()), 0..8)).prop_map(
        |(id, complete, extra)| {
            let mut m = Map::new();
            m.insert("buildid".into(), Value::Number(id.into()));
            for (k, v) in extra {
                if k != "buildid" && k != "complete" && k != "builds" {
                    m.insert(k, v);
                }
            }
            if let Some(c) = complete {
                m.insert("complete".into(), Value::Bool(c));
            }
            (Value::Object(m), complete)
        },
    )
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Err(r) = parse_body(&body, None) {
            prop_assert!((400..500).contains(&r.status), "{r}");
            prop_assert!(!r.reason.contains('\n'));
        }
    }

    #[test]
    fn arbitrary_json_is_accepted_or_refused_cleanly(v in json(), forced in prop::option::of(0usize..3)) {
        let body = python_json(&v);
        let forced = forced.map(|i| EventKind::ALL[i]);
        match parse_body(body.as_bytes(), forced) {
            Ok(ev) => {
                if v.is_object() {
                    prop_assert_eq!(python_json(&ev.payload), body);
                }
                if let Some(k) = forced {
                    prop_assert_eq!(ev.kind, k);
                }
            }
            Err(r) => {
                prop_assert!((400..500).contains(&r.status), "{}", r);
                prop_assert!(!r.reason.contains('\n'));
            }
        }
    }

    #[test]
    fn builds_round_trip_byte_for_byte((b, complete) in build()) {
        let body = python_json(&b);
        let ev = parse_body(body.as_bytes(), None).unwrap();
        prop_assert_eq!(ev.kind, if complete == Some(true) { EventKind::BuildFinished } else { EventKind::BuildNew });
        prop_assert_eq!(python_json(&ev.payload), body);
        // Pretty or compact whitespace does not change the payload.
        let compact = serde_json::to_string(&b).unwrap();
        prop_assert_eq!(python_json(&parse_body(compact.as_bytes(), None).unwrap().payload), python_json(&b));
    }

    #[test]
    fn header_inputs_never_panic(ct in prop::option::of(".{0,40}"), path in ".{0,40}", ev in prop::option::of(".{0,20}")) {
        let _ = check_content_type(ct.as_deref());
        let _ = kind_override(&path, ev.as_deref());
    }
}
