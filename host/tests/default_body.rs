//! `examples/buildbot-json` reproduces Buildbot 4.3.0's default
//! `HttpStatusPush` body byte for byte, for every body recorded from a real
//! master (tests/fixtures/buildbot-4.3.0/captures).
//!
//! The payload handed to the generator is what the host produces: the
//! capture's body parsed (order and number text kept) and re-serialised as
//! compact UTF-8 JSON, so the generator really has to re-encode it
//! (separators, `\uXXXX` escapes) to match.

mod common;

use wasmpush::runtime::{Limits, Runtime, RuntimeOptions};
use wasmpush_sources::replay;

#[test]
fn every_captured_json_object_body_is_reproduced_byte_for_byte() {
    let rt = Runtime::new(&RuntimeOptions::default()).unwrap();
    let g = rt.load(&common::generator("buildbot-json"), None, Limits::default()).unwrap();
    let (mut matched, mut default_bodies, mut skipped) = (0, 0, Vec::new());
    for (file, capture) in common::captures() {
        let raw = capture["body_raw"].as_str().unwrap();
        let Ok(value) = serde_json::from_str::<serde_json::Value>(raw) else {
            skipped.push(format!("{file} (empty or not JSON)"));
            continue;
        };
        if !value.is_object() {
            skipped.push(format!("{file} (a list body: BuildSetStatusGenerator's formatter, not a payload)"));
            continue;
        }
        // Kind as a replay would infer it from the body.
        let event = replay::parse(std::path::Path::new(&file), raw).unwrap().remove(0);
        let compact = serde_json::to_string(&value).unwrap();
        assert_ne!(
            compact, raw,
            "{file}: the host's payload text must differ from the wire body for this test to mean anything"
        );
        let report = g.generate(event.kind, &compact, &[]).unwrap().unwrap();
        assert_eq!(String::from_utf8(report.body).unwrap(), raw, "{file}");
        assert_eq!(report.content_type, "application/json");
        matched += 1;
        if value.get("buildid").is_some() && value.get("generator").is_none() {
            default_bodies += 1;
        }
    }
    println!("matched {matched} bodies byte for byte ({default_bodies} default build bodies); skipped: {skipped:?}");
    assert!(default_bodies >= 50, "expected every default body of the recording, got {default_bodies}");
    assert_eq!(matched + skipped.len(), 88);
}
