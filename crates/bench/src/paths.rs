//! Where the benches find the repository's generators and recordings.

use std::path::PathBuf;

/// The repository root (two levels above this crate).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// The folder of built example generators: `$WASMPUSH_GENERATORS`, else
/// `<repo>/target/generators` (written by `scripts/build-generators.sh`).
pub fn generators_dir() -> PathBuf {
    match std::env::var_os("WASMPUSH_GENERATORS") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => repo().join("target/generators"),
    }
}

/// The recorded Buildbot 4.3.0 pushes.
pub fn captures_dir() -> PathBuf {
    repo().join("tests/fixtures/buildbot-4.3.0/captures")
}

/// Where result tables are written: `<repo>/target/bench-results`.
pub fn results_dir() -> PathBuf {
    repo().join("target/bench-results")
}

/// A scratch folder on the same disk as the build (not tmpfs), so outbox
/// fsyncs cost what they cost in production.
pub fn scratch_dir() -> PathBuf {
    repo().join("target/bench-tmp")
}

/// One example generator per guest language, as benchmarked:
/// (language, generator file stem).
pub const LANGUAGES: [(&str, &str); 6] = [
    ("Rust", "buildbot-json"),
    ("Rust", "chat-message"),
    ("C", "c-summary"),
    ("JavaScript (QuickJS)", "js-github-status"),
    ("Python", "python-zulip"),
    ("WAT", "wat-ping"),
];

/// `<generators_dir>/<stem>.wasm`, or an error telling how to build it.
pub fn generator(stem: &str) -> anyhow::Result<PathBuf> {
    let p = generators_dir().join(format!("{stem}.wasm"));
    if !p.is_file() {
        anyhow::bail!(
            "generator {} is missing: build the examples first with `bash scripts/build-generators.sh`",
            p.display()
        );
    }
    Ok(p)
}
