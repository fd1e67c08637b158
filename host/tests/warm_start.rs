//! Warm start (issue 16, PERFORMANCE.md R3): a generator file whose identity
//! (device, inode, size, mtime, ctime) is unchanged since it was hashed is
//! not read again: its digest comes from the record next to the compiled
//! cache, the pin (or the catalog lock) is checked against that digest and
//! the compiled entry is used. The same path with changed content is read,
//! hashed and refused by its pin or the lock.

use std::path::{Path, PathBuf};
use std::process::Command;
use wasmpush::config::Config;
use wasmpush::pipeline::Pipeline;
use wasmpush::plan::{Plan, PlanError};
use wasmpush::plugins::PluginError;
use wasmpush::runtime::{CacheOutcome, Limits, Runtime, RuntimeOptions};
use wasmpush_distribute::identity::SETTLE;
use wasmpush_distribute::{AcquireError, Sha256};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn built(rel: &str) -> PathBuf {
    let p = repo().join(rel);
    assert!(p.exists(), "{} is missing: run scripts/build-generators.sh first", p.display());
    p
}

/// Files changed less than [`SETTLE`] ago are not recorded (a second write
/// in the same timestamp tick could keep their identity): wait that long.
fn settle() {
    std::thread::sleep(SETTLE + std::time::Duration::from_millis(200));
}

/// A config in `dir` with one generator `gen.wasm` pinned to `pin`.
fn config(dir: &Path, pin: &Sha256) -> Config {
    let path = dir.join("wasmpush.toml");
    std::fs::write(
        &path,
        format!(
            "[[source]]\ntype = \"replay\"\npath = \"events\"\n[outbox]\npath = \"o.redb\"\n[runtime]\ncache_dir = \"cache\"\n\
             [[reporter]]\nname = \"r\"\nserver_url = \"http://127.0.0.1:9/api\"\n\
             [[reporter.generator]]\nwasm = \"gen.wasm\"\nsha256 = \"{}\"\nkind = \"build-status\"\nmode = \"all\"\n",
            pin.hex()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("events")).unwrap();
    Config::load(&path).unwrap()
}

fn runtime(config: &Config) -> Runtime {
    Runtime::new(&RuntimeOptions { cache_dir: config.cache_dir(), ..RuntimeOptions::default() }).unwrap()
}

/// Fetches and loads the one generator as `wasmpush run` does; returns
/// whether the fetcher read the file, and the loaded generator's origin.
fn start(config: &Config, rt: &Runtime, tokio: &tokio::runtime::Runtime) -> Result<(bool, CacheOutcome), PluginError> {
    let plan = match tokio.block_on(Plan::build(config)) {
        Err(PlanError::Plugin(e)) => return Err(e),
        other => other.unwrap_or_else(|e| panic!("{e}")),
    };
    let read = !plan.reporters[0].generators[0].component.bytes.is_empty();
    let pipeline = Pipeline::build(&plan, rt).unwrap_or_else(|e| panic!("{e}"));
    Ok((read, pipeline.reporters[0].slots[0].generator.origin()))
}

#[test]
fn an_unchanged_file_is_not_read_again_and_the_same_path_with_changed_content_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read(built("target/generators/wat-ping.wasm")).unwrap();
    let pin = Sha256::of(&original);
    let wasm = dir.path().join("gen.wasm");
    std::fs::write(&wasm, &original).unwrap();
    settle();
    let config = config(dir.path(), &pin);
    let tokio = tokio::runtime::Runtime::new().unwrap();

    // Cold: read, hashed, compiled, identity recorded.
    assert_eq!(start(&config, &runtime(&config), &tokio).unwrap(), (true, CacheOutcome::Compiled));
    // Warm (a new runtime, as a restart has): not read, compiled entry used.
    assert_eq!(start(&config, &runtime(&config), &tokio).unwrap(), (false, CacheOutcome::Cached));
    // `Runtime::load` by path takes the digest from the same record.
    let g = runtime(&config).load(&wasm, None, Limits::default()).unwrap();
    assert_eq!((g.sha256(), g.origin()), (pin.hex().as_str(), CacheOutcome::Cached));

    // Same path, same size, one byte changed: read again and refused.
    let mut changed = original.clone();
    *changed.last_mut().unwrap() ^= 1;
    std::fs::write(&wasm, &changed).unwrap();
    match start(&config, &runtime(&config), &tokio) {
        Err(PluginError::Load(AcquireError::Pin(e))) => {
            assert_eq!((e.expected, e.actual), (pin, Sha256::of(&changed)));
            assert!(e.to_string().contains("gen.wasm"), "{e}");
        }
        other => panic!("a changed file must be refused by its pin, got {other:?}"),
    }
    // Still refused once it has settled and its own digest is recorded: the
    // record holds the digest of what is in the file, never the pinned one.
    settle();
    for _ in 0..2 {
        assert!(matches!(start(&config, &runtime(&config), &tokio), Err(PluginError::Load(AcquireError::Pin(_)))));
    }

    // The original content back (new ctime): read and hashed, accepted.
    std::fs::write(&wasm, &original).unwrap();
    assert_eq!(start(&config, &runtime(&config), &tokio).unwrap(), (true, CacheOutcome::Cached));
}

#[test]
fn a_recorded_file_without_a_compiled_entry_is_read_checked_and_compiled() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read(built("target/generators/wat-ping.wasm")).unwrap();
    std::fs::write(dir.path().join("gen.wasm"), &original).unwrap();
    settle();
    let config = config(dir.path(), &Sha256::of(&original));
    let tokio = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(start(&config, &runtime(&config), &tokio).unwrap(), (true, CacheOutcome::Compiled));
    for e in std::fs::read_dir(dir.path().join("cache")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "cwasm") {
            std::fs::remove_file(p).unwrap();
        }
    }
    // The fetcher recalls the digest without reading; the runtime, finding
    // no compiled entry, reads the file (which must hash to that digest).
    assert_eq!(start(&config, &runtime(&config), &tokio).unwrap(), (false, CacheOutcome::Compiled));
    assert_eq!(start(&config, &runtime(&config), &tokio).unwrap(), (false, CacheOutcome::Cached));
}

#[test]
fn wasmpush_check_refuses_a_catalog_file_changed_in_place_after_a_warm_start() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog");
    std::fs::create_dir_all(&catalog).unwrap();
    let file = catalog.join("github-status.wasm");
    std::fs::copy(built("target/catalog/github-status.wasm"), &file).unwrap();
    std::fs::copy(built("target/catalog/github-status.toml"), catalog.join("github-status.toml")).unwrap();
    settle();
    let cfg = dir.path().join("wasmpush.toml");
    std::fs::write(
        &cfg,
        "[[source]]\ntype = \"replay\"\npath = \"events\"\n[outbox]\npath = \"o.redb\"\n[runtime]\ncache_dir = \"cache\"\n\
         [[reporter]]\nname = \"gh\"\nserver_url = \"http://127.0.0.1:9/api\"\n[[reporter.generator]]\nwasm = \"catalog:github-status\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("events")).unwrap();
    let check = || {
        Command::new(env!("CARGO_BIN_EXE_wasmpush"))
            .args(["check", cfg.to_str().unwrap()])
            .env("WASMPUSH_CATALOG", &catalog)
            .output()
            .unwrap()
    };
    for start in ["cold", "warm"] {
        let out = check();
        assert!(out.status.success(), "{start}: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(std::fs::read_dir(dir.path().join("cache/file-digests")).unwrap().count(), 1, "identity recorded");

    let mut bytes = std::fs::read(&file).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let out = check();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a changed catalog file must be refused");
    assert!(err.contains("catalog:github-status") && err.contains("catalog lock says"), "{err}");
}
