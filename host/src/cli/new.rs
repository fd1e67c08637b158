//! `wasmpush new --lang rust|python|js|c [--contract 0.1|0.2] NAME`: a
//! generator project that builds and renders on the first try.
//!
//! The project gets the language template (host/templates/<lang>/ for
//! contract 0.1, host/templates/v0.2/<lang>/ plus the shared build files for
//! 0.2, with `{{name}}` replaced), a copy of the contract's WIT in
//! `wit/wasmpush.wit`, and one recorded Buildbot payload in `payload.json` to
//! render against. Contract 0.2 is the default where a template exists (Rust,
//! Python, JavaScript); C has only the 0.1 template.

use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Lang {
    Rust,
    Python,
    Js,
    C,
}

/// The contract version a scaffolded project implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Contract {
    /// `wit/wasmpush.wit`: at most one POST per event.
    #[value(name = "0.1")]
    V0_1,
    /// `wit/v0.2`: a list of requests per event (methods, supersede keys, kept values).
    #[value(name = "0.2")]
    V0_2,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The generator's language.
    #[arg(long)]
    lang: Lang,
    /// The contract version (default: 0.2, or 0.1 for C, which has no 0.2 template yet).
    #[arg(long)]
    contract: Option<Contract>,
    /// The generator's name (lower case letters, digits and dashes); also the folder created.
    name: String,
    /// Where to create the folder (default: the current folder).
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

/// `(path in the project, text)` of a template file under host/templates/`$dir`/.
macro_rules! file {
    ($dir:literal, $path:literal) => {
        ($path, include_str!(concat!("../../templates/", $dir, "/", $path)))
    };
}

const RUST: &[(&str, &str)] =
    &[file!("rust", "Cargo.toml"), file!("rust", "src/lib.rs"), file!("rust", "build.sh"), file!("rust", ".gitignore")];
const PYTHON: &[(&str, &str)] =
    &[file!("python", "src/app.py"), file!("python", "build.sh"), file!("python", ".gitignore")];
const JS: &[(&str, &str)] = &[file!("js", "src/app.js"), file!("js", "build.sh"), file!("js", ".gitignore")];
const C: &[(&str, &str)] = &[file!("c", "main.c"), file!("c", "build.sh"), file!("c", ".gitignore")];
// 0.2: the source from templates/v0.2/<lang>/, the build files shared with 0.1
// (they read whichever WIT the project holds); the request helpers are the
// examples' own (examples/python-v2, examples/js-v2).
const RUST_V2: &[(&str, &str)] = &[
    file!("rust", "Cargo.toml"),
    file!("v0.2/rust", "src/lib.rs"),
    file!("rust", "build.sh"),
    file!("rust", ".gitignore"),
];
const PYTHON_V2: &[(&str, &str)] = &[
    file!("v0.2/python", "src/app.py"),
    ("src/wasmpush_v2.py", include_str!("../../../guest-sdk/python/wasmpush_v2.py")),
    file!("python", "build.sh"),
    file!("python", ".gitignore"),
];
const JS_V2: &[(&str, &str)] = &[
    file!("v0.2/js", "src/app.js"),
    ("src/wasmpush_v2.js", include_str!("../../../guest-sdk/js/wasmpush_v2.js")),
    file!("js", "build.sh"),
    file!("js", ".gitignore"),
];
const WIT: &str = include_str!("../../../wit/wasmpush.wit");
const WIT_V2: &str = include_str!("../../../wit/v0.2/wasmpush.wit");
const PAYLOAD: &str = include_str!("../../demo/events.jsonl");

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let name = &args.name;
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!("invalid generator name {name:?}: use lower-case letters, digits and dashes, starting with a letter");
    }
    let root = args.dir.join(name);
    if root.exists() {
        bail!("{} already exists", root.display());
    }
    let contract = args.contract.unwrap_or(if matches!(args.lang, Lang::C) { Contract::V0_1 } else { Contract::V0_2 });
    let (files, wit) = match (args.lang, contract) {
        (Lang::Rust, Contract::V0_1) => (RUST, WIT),
        (Lang::Python, Contract::V0_1) => (PYTHON, WIT),
        (Lang::Js, Contract::V0_1) => (JS, WIT),
        (Lang::C, Contract::V0_1) => (C, WIT),
        (Lang::Rust, Contract::V0_2) => (RUST_V2, WIT_V2),
        (Lang::Python, Contract::V0_2) => (PYTHON_V2, WIT_V2),
        (Lang::Js, Contract::V0_2) => (JS_V2, WIT_V2),
        (Lang::C, Contract::V0_2) => bail!("there is no contract 0.2 template for C yet: use --contract 0.1"),
    };
    for (rel, text) in files {
        let dest = root.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap_or(&root))
            .with_context(|| format!("creating {}", root.display()))?;
        std::fs::write(&dest, text.replace("{{name}}", name)).with_context(|| format!("writing {}", dest.display()))?;
        if rel.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    std::fs::create_dir_all(root.join("wit"))?;
    std::fs::write(root.join("wit/wasmpush.wit"), wit)?;
    std::fs::write(root.join("payload.json"), sample_payload()?)?;
    let version = if contract == Contract::V0_1 { "0.1" } else { "0.2" };
    println!("created {} ({:?} generator, contract {version})", root.display(), args.lang);
    println!("build:  bash {}/build.sh", root.display());
    println!(
        "try it: wasmpush render --generator {0}/{1}.wasm --event build-finished --payload {0}/payload.json --set prefix=ci",
        root.display(),
        name
    );
    Ok(ExitCode::SUCCESS)
}

/// The first recorded `build-finished` payload of the demo, pretty-printed.
fn sample_payload() -> anyhow::Result<String> {
    for line in PAYLOAD.lines() {
        let event: serde_json::Value = serde_json::from_str(line)?;
        if event["kind"] == "build-finished" {
            return Ok(serde_json::to_string_pretty(&event["payload"])? + "\n");
        }
    }
    bail!("the embedded demo events hold no build-finished event")
}
