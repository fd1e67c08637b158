//! `wasmpush new` for every language: the scaffolded project builds with its
//! own build.sh and renders its sample payload on the first try. Toolchains
//! come from the repository's shared installs (scripts/toolchains), as the
//! template README describes; a Rust project builds with cargo.

mod common;

use std::process::Command;

fn wasmpush(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wasmpush")).args(args).output().unwrap()
}

/// Shell lines that point a template's build.sh at the repository's toolchains.
fn toolchain_env(lang: &str) -> &'static str {
    match lang {
        "python" => "export COMPONENTIZE_PY=$(bash scripts/toolchains/python.sh)",
        "js" => "export COMPONENTIZE_QJS=$(bash scripts/toolchains/js.sh)/node_modules/.bin/componentize-qjs",
        "c" => {
            "eval \"$(bash scripts/toolchains/c.sh)\"; export CLANG WASI_SYSROOT WIT_BINDGEN WASM_TOOLS WASI_ADAPTER"
        }
        _ => "export CARGO_TARGET_DIR=$PWD/target/scaffold",
    }
}

#[test]
fn scaffolded_projects_build_and_render_in_every_language() {
    let dir = tempfile::tempdir().unwrap();
    for lang in ["rust", "python", "js", "c"] {
        let name = format!("my-{lang}-gen");
        let out = wasmpush(&["new", "--lang", lang, &name, "--dir", dir.path().to_str().unwrap()]);
        assert!(out.status.success(), "{lang}: {}", String::from_utf8_lossy(&out.stderr));
        let project = dir.path().join(&name);
        assert!(project.join("wit/wasmpush.wit").exists() && project.join("payload.json").exists());
        let build = Command::new("bash")
            .arg("-c")
            .arg(format!("set -e; {}; bash {}/build.sh", toolchain_env(lang), project.display()))
            .current_dir(common::repo())
            .output()
            .unwrap();
        assert!(build.status.success(), "{lang} build: {}", String::from_utf8_lossy(&build.stderr));
        let wasm = project.join(format!("{name}.wasm"));
        let payload = project.join("payload.json");
        let out = wasmpush(&[
            "render",
            "--generator",
            wasm.to_str().unwrap(),
            "--event",
            "build-finished",
            "--payload",
            payload.to_str().unwrap(),
            "--set",
            "prefix=ci",
            "--no-cache",
        ]);
        assert!(out.status.success(), "{lang} render: {}", String::from_utf8_lossy(&out.stderr));
        let body = String::from_utf8(out.stdout).unwrap();
        if lang == "c" {
            assert!(body.starts_with(&format!("{name}: a build finished (")), "{lang}: {body}");
        } else {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{lang}: {e}: {body}"));
            assert_eq!(v["text"], "ci pass #1 success", "{lang}");
        }
    }
    // A second scaffold with the same name is refused, and bad names too.
    let out = wasmpush(&["new", "--lang", "rust", "my-rust-gen", "--dir", dir.path().to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = wasmpush(&["new", "--lang", "rust", "Bad_Name"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid generator name \"Bad_Name\""));
}
