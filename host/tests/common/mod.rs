//! Shared helpers for the host's integration tests: paths to the example
//! generators (built by scripts/build-generators.sh) and to the recorded
//! Buildbot 4.3.0 fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `target/generators/<name>.wasm`, which must have been built.
pub fn generator(name: &str) -> PathBuf {
    let p = repo().join("target/generators").join(format!("{name}.wasm"));
    assert!(p.exists(), "{} is missing: run scripts/build-generators.sh first (scripts/test.sh does)", p.display());
    p
}

/// The recorded captures: (file name, parsed capture JSON).
pub fn captures() -> Vec<(String, serde_json::Value)> {
    let dir = repo().join("tests/fixtures/buildbot-4.3.0/captures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()))
        .collect()
}
