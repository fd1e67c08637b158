//! Contract 0.2 from the authors' side: the Rust guest SDK's `v2` API,
//! Python and JavaScript generators with typed request helpers
//! (examples/python-v2, examples/js-v2), and `wasmpush new`, which scaffolds
//! 0.2 projects unless asked for 0.1. Recorded cases live in
//! `examples/<name>/expected-v2/<case>/` (format: `common/cases.rs`); the
//! catalog's plugins (written with the same SDK) are tested in `catalog.rs`.

mod common;

use std::process::Command;
use wasmpush::runtime::{Generator, Limits, Method, Runtime, RuntimeOptions};
use wasmpush_sources::EventKind;

fn cases(example: &str) -> Vec<common::cases::Case> {
    common::cases::read(example, &common::repo().join("examples").join(example).join("expected-v2"))
}

fn load(rt: &Runtime, example: &str) -> Generator {
    let g = rt.load(&common::generator(example), Some(example), Limits::default()).unwrap();
    assert_eq!(g.contract(), "0.2.0", "{example} speaks contract 0.2");
    g
}

/// Every recorded case of `example`, in-process; returns how many requests
/// were compared.
fn check_recorded_cases(example: &str) -> usize {
    let rt = common::cached_runtime();
    let g = load(&rt, example);
    let all = cases(example);
    assert!(all.len() >= 3, "{example}: only {} cases", all.len());
    common::cases::check_in_process(&g, &all)
}

#[test]
fn python_v2_produces_its_recorded_requests() {
    assert!(check_recorded_cases("python-v2") >= 5);
}

#[test]
fn js_v2_produces_its_recorded_requests() {
    assert!(check_recorded_cases("js-v2") >= 5);
}

/// A generator built with the SDK's 0.1 API imports only 0.1's interfaces
/// and one built with its `v2` API only 0.2's, though both link the same
/// SDK: the SDK compiles out wit-bindgen's imports-only sections.
#[test]
fn each_component_imports_only_the_contract_it_was_built_for() {
    let rt = common::cached_runtime();
    let catalog = common::repo().join("target/catalog/github-status.wasm");
    for (wasm, own, other) in [
        (common::generator("buildbot-json"), "@0.1.0", "@0.2.0"),
        (common::generator("chat-message"), "@0.1.0", "@0.2.0"),
        (common::generator("hostile"), "@0.1.0", "@0.2.0"),
        (catalog, "@0.2.0", "@0.1.0"),
        (common::generator("requests-v2"), "@0.2.0", "@0.1.0"),
    ] {
        let example = wasm.display();
        let component = wasmtime::component::Component::from_file(rt.engine(), &wasm).unwrap();
        let ty = component.component_type();
        let imports: Vec<String> = ty.imports(rt.engine()).map(|(name, _)| name.to_string()).collect();
        let ours: Vec<&String> = imports.iter().filter(|n| n.starts_with("wasmpush:plugin/")).collect();
        assert!(ours.iter().any(|n| n.as_str() == format!("wasmpush:plugin/types{own}")), "{example}: {imports:?}");
        assert!(ours.iter().all(|n| n.ends_with(own) && !n.ends_with(other)), "{example}: {imports:?}");
        let exports: Vec<String> = ty.exports(rt.engine()).map(|(name, _)| name.to_string()).collect();
        assert_eq!(exports, ["describe", "generate"], "{example}");
    }
}

fn wasmpush(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wasmpush")).args(args).output().unwrap()
}

/// `wasmpush new --lang rust` scaffolds a contract 0.2 project, and
/// `--contract 0.1` the 0.1 one; both build and render the sample payload.
#[test]
fn wasmpush_new_scaffolds_contract_0_2_by_default_and_0_1_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::new(&RuntimeOptions::default()).unwrap();
    for (name, extra, contract) in [("new-default", &[][..], "0.2.0"), ("new-v1", &["--contract", "0.1"][..], "0.1.0")]
    {
        let mut args = vec!["new", "--lang", "rust", name, "--dir", dir.path().to_str().unwrap()];
        args.extend(extra);
        let out = wasmpush(&args);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let project = dir.path().join(name);
        let wit = std::fs::read_to_string(project.join("wit/wasmpush.wit")).unwrap();
        assert!(wit.contains(&format!("package wasmpush:plugin@{contract};")), "{name}");
        let build = Command::new("bash")
            .arg(project.join("build.sh"))
            .env("CARGO_TARGET_DIR", common::repo().join("target/scaffold"))
            .output()
            .unwrap();
        assert!(build.status.success(), "{name} build: {}", String::from_utf8_lossy(&build.stderr));
        let wasm = project.join(format!("{name}.wasm"));
        let g = rt.load(&wasm, None, Limits::default()).unwrap();
        assert_eq!(g.contract(), contract, "{name}");
        let payload = std::fs::read_to_string(project.join("payload.json")).unwrap();
        let got = g.generate_all(EventKind::BuildFinished, &payload, &[("prefix".into(), "ci".into())]).unwrap();
        assert_eq!(got.len(), 1, "{name}");
        assert_eq!(got[0].method, Method::Post);
        let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
        assert_eq!(body["text"], "ci pass #1 success", "{name}");
    }
    let out = wasmpush(&["new", "--lang", "c", "--contract", "0.2", "c-gen", "--dir", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--contract 0.1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("c-gen").exists(), "nothing is written for a refused scaffold");
}
