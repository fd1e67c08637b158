//! Every example generator, in every language, checked against its recorded
//! cases (`examples/<name>/expected/<case>/`), in-process and through the
//! running `wasmpush run` binary; and the hostile modes of the big runtimes
//! (Python, JavaScript) and of hand-written WAT, to show the limits hold for
//! them too.
//!
//! Case folder: `event`, `payload.json`, optional `settings` (`key=value`
//! lines), and either `body` (+ optional `report.json` with content_type,
//! path, headers) or `no-report`.

mod common;

use std::path::PathBuf;
use std::time::Duration;
use wasmpush::runtime::{Cause, Generator, Limits, Runtime};
use wasmpush_sources::EventKind;

struct Case {
    example: String,
    name: String,
    dir: PathBuf,
    kind: EventKind,
    settings: Vec<(String, String)>,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut examples: Vec<PathBuf> =
        std::fs::read_dir(common::repo().join("examples")).unwrap().map(|e| e.unwrap().path()).collect();
    examples.sort();
    for ex in examples {
        let Ok(entries) = std::fs::read_dir(ex.join("expected")) else { continue };
        let mut dirs: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
        dirs.sort();
        for dir in dirs {
            let kind = std::fs::read_to_string(dir.join("event")).unwrap().trim().parse().unwrap();
            let settings = std::fs::read_to_string(dir.join("settings"))
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (k, v) = l.split_once('=').unwrap();
                    (k.to_string(), v.to_string())
                })
                .collect();
            out.push(Case {
                example: ex.file_name().unwrap().to_string_lossy().into_owned(),
                name: dir.file_name().unwrap().to_string_lossy().into_owned(),
                dir,
                kind,
                settings,
            });
        }
    }
    out
}

fn load(rt: &Runtime, example: &str, limits: Limits) -> Generator {
    rt.load(&common::generator(example), Some(example), limits).unwrap()
}

fn expected_meta(case: &Case) -> serde_json::Value {
    std::fs::read_to_string(case.dir.join("report.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(serde_json::Value::Null)
}

#[test]
fn every_language_produces_its_expected_reports() {
    let all = cases();
    let languages: std::collections::BTreeSet<&str> =
        all.iter().map(|c| c.example.split('-').next().unwrap()).collect();
    for lang in ["python", "js", "c", "wat"] {
        assert!(languages.contains(lang), "no expected cases for a {lang} example");
    }
    let rt = common::cached_runtime();
    let mut checked = 0;
    for case in &all {
        let g = load(&rt, &case.example, Limits::default());
        let payload = std::fs::read_to_string(case.dir.join("payload.json")).unwrap();
        let payload = serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&payload).unwrap()).unwrap();
        let got = g
            .generate(case.kind, &payload, &case.settings)
            .unwrap_or_else(|e| panic!("{}/{}: {e}", case.example, case.name));
        let label = format!("{}/{}", case.example, case.name);
        if case.dir.join("no-report").exists() {
            assert!(got.is_none(), "{label}: expected no report, got {got:?}");
        } else {
            let r = got.unwrap_or_else(|| panic!("{label}: no report"));
            assert_eq!(
                String::from_utf8_lossy(&r.body),
                std::fs::read_to_string(case.dir.join("body")).unwrap(),
                "{label}"
            );
            let meta = expected_meta(case);
            if !meta.is_null() {
                assert_eq!(r.content_type, meta["content_type"].as_str().unwrap(), "{label}");
                assert_eq!(r.path.as_deref(), meta["path"].as_str(), "{label}");
                let headers: Vec<(String, String)> = serde_json::from_value(meta["headers"].clone()).unwrap();
                assert_eq!(r.headers, headers, "{label}");
            }
        }
        checked += 1;
    }
    println!("{checked} example cases matched across {languages:?}");
}

#[test]
fn every_example_works_through_the_running_host() {
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let receiver = rt.block_on(wasmpush_testkit::Receiver::start()).unwrap();
        let payload: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(case.dir.join("payload.json")).unwrap()).unwrap();
        let events = dir.path().join("events.jsonl");
        std::fs::write(&events, serde_json::json!({"kind": case.kind.as_str(), "payload": payload}).to_string())
            .unwrap();
        let kind = if case.kind == EventKind::BuildsetComplete { "buildset-combined" } else { "build-start-end" };
        let settings: Vec<String> =
            case.settings.iter().map(|(k, v)| format!("{k} = {}", toml::Value::String(v.clone()))).collect();
        let config = format!(
            "[[source]]\ntype = \"replay\"\npath = {events:?}\n[outbox]\npath = \"outbox.redb\"\n[runtime]\ncache_dir = {cache:?}\n\
             [[reporter]]\nname = \"r\"\nserver_url = \"{url}/{ex}\"\n[[reporter.generator]]\nwasm = {wasm:?}\nkind = \"{kind}\"\nsettings = {{ {settings} }}\n",
            events = events.to_str().unwrap(),
            cache = common::cache_dir().join("wasmpush").to_str().unwrap(),
            url = receiver.url(),
            ex = case.example,
            wasm = common::generator(&case.example).to_str().unwrap(),
            settings = settings.join(", "),
        );
        let cfg = dir.path().join("wasmpush.toml");
        std::fs::write(&cfg, config).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasmpush"))
            .args(["run", cfg.to_str().unwrap(), "--settle", "10s"])
            .output()
            .unwrap();
        let label = format!("{}/{}", case.example, case.name);
        assert!(out.status.success(), "{label}: {}", String::from_utf8_lossy(&out.stderr));
        let received = receiver.received();
        if case.dir.join("no-report").exists() {
            assert!(received.is_empty(), "{label}: {received:?}");
            continue;
        }
        assert_eq!(received.len(), 1, "{label}: {}", String::from_utf8_lossy(&out.stdout));
        let r = &received[0];
        assert_eq!(
            String::from_utf8_lossy(&r.body),
            std::fs::read_to_string(case.dir.join("body")).unwrap(),
            "{label}"
        );
        let meta = expected_meta(&case);
        let want_path = match meta.get("path").and_then(|p| p.as_str()) {
            Some(p) => format!("/{}/{p}", case.example),
            None => format!("/{}", case.example),
        };
        assert_eq!(r.path, want_path, "{label}");
        if let Some(ct) = meta.get("content_type").and_then(|c| c.as_str()).filter(|c| !c.is_empty()) {
            assert_eq!(r.header("content-type"), Some(ct), "{label}");
        }
        for h in meta.get("headers").and_then(|h| h.as_array()).into_iter().flatten() {
            assert_eq!(r.header(h[0].as_str().unwrap()), h[1].as_str(), "{label}");
        }
        assert!(r.header("webhook-id").is_some_and(|id| id.starts_with("msg_")), "{label}");
    }
}

const BUILD: &str = r#"{"buildid": 1, "number": 1, "builderid": 1, "results": 2, "complete": true, "state_string": "failed", "properties": {}, "builder": {"builderid": 1, "name": "b", "tags": []}, "url": "http://x/#/builders/1/builds/1"}"#;

fn hostile(g: &Generator, mode: &str) -> Cause {
    match g.generate(EventKind::BuildFinished, BUILD, &[("mode".into(), mode.into())]) {
        Err(e) => {
            assert!(e.to_string().starts_with(&format!("generator {}: ", g.name())), "{e}");
            e.cause
        }
        Ok(r) => panic!("{} mode={mode}: expected a failure, got {r:?}", g.name()),
    }
}

#[test]
fn limits_hold_for_python_and_javascript_runtimes() {
    let rt = common::cached_runtime();
    for example in ["python-zulip", "js-github-status"] {
        // The loop must end by the deadline; the other modes get a deadline a
        // loaded machine cannot reach, so they show their own cause.
        let quick = load(&rt, example, Limits { timeout: Duration::from_millis(500), ..Limits::default() });
        let c = hostile(&quick, "loop");
        assert!(matches!(c, Cause::Timeout { .. }), "{example} loop: {c}");
        let g = load(&rt, example, Limits { timeout: Duration::from_secs(60), ..Limits::default() });
        let c = hostile(&g, "alloc");
        assert!(matches!(c, Cause::Memory { .. } | Cause::Trap { .. } | Cause::Guest { .. }), "{example} alloc: {c}");
        let c = hostile(&g, "raise");
        assert!(!matches!(c, Cause::Timeout { .. }), "{example} raise: {c}");
        let c = hostile(&g, "error");
        assert!(matches!(c, Cause::Guest { .. }), "{example} error: {c}");
        // Still healthy afterwards (a fresh instance per event): the recorded
        // success case still gives its exact body.
        let case = common::repo().join("examples").join(example).join("expected/finished-success");
        let payload = std::fs::read_to_string(case.join("payload.json")).unwrap();
        let ok = g.generate(EventKind::BuildFinished, &payload, &[]).unwrap().expect("a report");
        assert_eq!(ok.body, std::fs::read(case.join("body")).unwrap(), "{example} after hostile runs");
    }
}

#[test]
fn limits_hold_for_hand_written_wat() {
    let rt = common::cached_runtime();
    let g = load(&rt, "wat-hostile", Limits { timeout: Duration::from_millis(300), ..Limits::default() });
    assert!(matches!(hostile(&g, "loop"), Cause::Timeout { .. }));
    assert!(matches!(hostile(&g, "stack"), Cause::Stack));
    assert!(matches!(hostile(&g, "unreachable"), Cause::Trap { .. }));
    assert!(matches!(hostile(&g, "big-body"), Cause::OutputTooLarge { .. }));
    assert!(matches!(hostile(&g, "bad-pointer"), Cause::Trap { .. }));
    assert!(matches!(hostile(&g, "bad-utf8"), Cause::Trap { .. }));
    let c = hostile(&g, "grow");
    assert!(matches!(c, Cause::Memory { .. } | Cause::Guest { .. }), "{c}");
}
