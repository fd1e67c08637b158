//! Benchmark inputs, all derived from the real Buildbot 4.3.0 recordings in
//! `tests/fixtures/buildbot-4.3.0/captures/`.
//!
//! * [`five_kb`]: capture 016, a finished build with steps, logs (with
//!   content) and `prev_build`: 5,668 bytes as Buildbot pushed it.
//! * [`recorded_builds`]: every recorded build object (new and finished,
//!   2–9 KB), the replay set of the end-to-end bench.
//! * [`unique_events`]: N events cycling through those, each with its own
//!   `buildid` (so every report has its own id and none is de-duplicated by
//!   the outbox) and one build request per new/finished pair.
//! * [`sized`]: the 5 KB build trimmed to ~1 KB or grown to any size by
//!   appending log lines to a step's log content (Buildbot's
//!   `want_logs_content`), for the cost-growth bench.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use wasmpush_sources::{EventKind, SourceEvent};

use crate::paths;

/// The raw body of capture `NNN` (e.g. `"016"`), exactly as Buildbot sent it.
pub fn capture_body(n: &str) -> Result<String> {
    let path = paths::captures_dir().join(format!("{n}.json"));
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let doc: Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    match doc.get("body_raw").and_then(Value::as_str) {
        Some(body) => Ok(body.to_string()),
        None => bail!("{}: no `body_raw` string", path.display()),
    }
}

/// The kind of a recorded build object: finished when `complete` is true.
pub fn build_kind(payload: &Value) -> EventKind {
    if payload.get("complete").and_then(Value::as_bool) == Some(true) {
        EventKind::BuildFinished
    } else {
        EventKind::BuildNew
    }
}

/// Capture 016 (finished build, 5,668 bytes): kind and payload text.
pub fn five_kb() -> Result<(EventKind, String)> {
    let text = capture_body("016")?;
    let v: Value = serde_json::from_str(&text).context("capture 016 body is not JSON")?;
    Ok((build_kind(&v), text))
}

/// Every recorded build object (bodies that have `buildid` and `builder`),
/// in capture order, de-duplicated by text.
pub fn recorded_builds() -> Result<Vec<Value>> {
    let mut files: Vec<_> = std::fs::read_dir(paths::captures_dir())
        .with_context(|| format!("listing {}", paths::captures_dir().display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for f in files {
        let stem = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let Ok(body) = capture_body(&stem) else { continue };
        let Ok(v) = serde_json::from_str::<Value>(&body) else { continue };
        if v.get("buildid").is_some() && v.get("builder").is_some() && seen.insert(body) {
            out.push(v);
        }
    }
    if out.is_empty() {
        bail!("no recorded build objects under {}", paths::captures_dir().display());
    }
    Ok(out)
}

/// `n` events cycling through `templates`, event `i` with `buildid`
/// 1,000,000 + i and `buildrequestid` 1,000,000 + i / 2.
pub fn unique_events(templates: &[Value], n: usize) -> Vec<SourceEvent> {
    (0..n)
        .map(|i| {
            let mut p = templates[i % templates.len()].clone();
            if let Some(o) = p.as_object_mut() {
                o.insert("buildid".into(), Value::from(1_000_000 + i as u64));
                o.insert("buildrequestid".into(), Value::from(1_000_000 + (i / 2) as u64));
            }
            SourceEvent::new(build_kind(&p), p)
        })
        .collect()
}

/// The 5 KB build resized to about `target` bytes of JSON: below its size,
/// `steps`, `prev_build` and then `properties` are dropped (what a
/// formatter that wants none of them gets, ~1 KB); above it, log lines are
/// appended to the first log's content. Returns the compact JSON text.
pub fn sized(target: usize) -> Result<String> {
    let (_, text) = five_kb()?;
    let mut v: Value = serde_json::from_str(&text)?;
    let len = |v: &Value| serde_json::to_string(v).map(|s| s.len()).unwrap_or(0);
    if target < len(&v) {
        if let Some(o) = v.as_object_mut() {
            for key in ["steps", "prev_build", "properties"] {
                o.remove(key);
                if len(&Value::Object(o.clone())) <= target {
                    break;
                }
            }
        }
        return Ok(serde_json::to_string(&v)?);
    }
    let content = v
        .pointer_mut("/steps/1/logs/0/content/content")
        .context("capture 016 has no /steps/1/logs/0/content/content")?;
    let mut log = content.as_str().unwrap_or_default().to_string();
    let mut line = 0usize;
    let base = len(&Value::String(log.clone()));
    let need = target.saturating_sub(text.len());
    while log.len() + 40 < base + need {
        line += 1;
        log.push_str(&format!("o compiling src/module_{line:05}.c ... ok ({} ms)\n", line % 997));
    }
    *content = Value::String(log);
    Ok(serde_json::to_string(&v)?)
}

/// `payload` without the parts a generator that declared `needs` with
/// `steps = false` and `previous-build = false` (every example but the
/// byte-identical `buildbot-json` on the `/full` reporter) does not get from
/// Buildbot: `steps` (with their logs) and `prev_build`. What the host could
/// hand such a generator instead of the whole recorded object.
pub fn without_steps(payload: &str) -> Result<String> {
    let mut v: Value = serde_json::from_str(payload)?;
    if let Some(o) = v.as_object_mut() {
        o.remove("steps");
        o.remove("prev_build");
    }
    Ok(serde_json::to_string(&v)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_kb_is_the_recorded_finished_build() {
        let (kind, text) = five_kb().unwrap();
        assert_eq!(kind, EventKind::BuildFinished);
        assert_eq!(text.len(), 5668);
    }

    #[test]
    fn unique_events_have_distinct_ids_and_paired_requests() {
        let t = recorded_builds().unwrap();
        assert!(t.len() >= 4, "{} templates", t.len());
        let ev = unique_events(&t, 10);
        let ids: std::collections::HashSet<_> = ev.iter().map(|e| e.event_id()).collect();
        assert_eq!(ids.len(), 10);
        assert_eq!(ev[0].ordering_key(), ev[1].ordering_key());
        assert_ne!(ev[1].ordering_key(), ev[2].ordering_key());
    }

    #[test]
    fn sized_payloads_are_close_to_the_target_and_still_builds() {
        for target in [1_000usize, 16_000, 64_000, 1_000_000] {
            let s = sized(target).unwrap();
            let v: Value = serde_json::from_str(&s).unwrap();
            assert!(v.get("buildid").is_some());
            let ratio = s.len() as f64 / target as f64;
            assert!((0.6..1.3).contains(&ratio), "target {target}: got {}", s.len());
        }
    }
}
