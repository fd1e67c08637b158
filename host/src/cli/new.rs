//! `wasmpush new --lang rust|python|js|c NAME`: a generator project that
//! builds and renders on the first try.
//!
//! The project gets the language template (host/templates/<lang>/, with
//! `{{name}}` replaced), a copy of the WIT in `wit/`, and one recorded
//! Buildbot payload in `payload.json` to render against.

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

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The generator's language.
    #[arg(long)]
    lang: Lang,
    /// The generator's name (lower case letters, digits and dashes); also the folder created.
    name: String,
    /// Where to create the folder (default: the current folder).
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

macro_rules! files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../templates/", $path)))),*]
    };
}

const RUST: &[(&str, &str)] = files!["rust/Cargo.toml", "rust/src/lib.rs", "rust/build.sh", "rust/.gitignore"];
const PYTHON: &[(&str, &str)] = files!["python/src/app.py", "python/build.sh", "python/.gitignore"];
const JS: &[(&str, &str)] = files!["js/src/app.js", "js/build.sh", "js/.gitignore"];
const C: &[(&str, &str)] = files!["c/main.c", "c/build.sh", "c/.gitignore"];
const WIT: &str = include_str!("../../../wit/wasmpush.wit");
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
    let files = match args.lang {
        Lang::Rust => RUST,
        Lang::Python => PYTHON,
        Lang::Js => JS,
        Lang::C => C,
    };
    for (path, text) in files {
        let rel = path.split_once('/').map(|(_, r)| r).unwrap_or(path);
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
    std::fs::write(root.join("wit/wasmpush.wit"), WIT)?;
    std::fs::write(root.join("payload.json"), sample_payload()?)?;
    println!("created {} ({:?} generator)", root.display(), args.lang);
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
