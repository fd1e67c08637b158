//! Distributing generators through the `wasmpush` binary: signatures
//! required by the config (unsigned, tampered and wrong-key plugins refused
//! before compiling), metadata readable without running, and a generator
//! pushed to a real OCI registry (Debian's `docker-registry` on loopback),
//! pinned, run from there, and run again from the plugin store after the
//! registry is gone.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn wasmpush(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmpush"))
        .args(args)
        .current_dir(dir)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn err(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

fn compiled(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("cache/wasmpush"))
        .map(|d| d.filter_map(Result::ok).filter(|e| e.path().extension().is_some_and(|x| x == "cwasm")).count())
        .unwrap_or(0)
}

#[test]
fn required_signatures_refuse_unsigned_tampered_and_untrusted_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&wasmpush(d, &["keygen", "team"]));
    ok(&wasmpush(d, &["keygen", "stranger"]));
    std::fs::copy(common::generator("buildbot-json"), d.join("gen.wasm")).unwrap();
    std::fs::write(
        d.join("wasmpush.toml"),
        "[plugins]\nstore = \"store\"\nrequire_signature = [\"team.pub\"]\n[[reporter]]\nname = \"r\"\nserver_url = \"http://127.0.0.1:1\"\n[[reporter.generator]]\nwasm = \"gen.wasm\"\n",
    )
    .unwrap();
    let e = err(&wasmpush(d, &["check", "wasmpush.toml"]));
    assert!(e.contains("gen.wasm") && e.contains("unsigned") || e.contains("no signature"), "{e}");
    assert_eq!(compiled(d), 0, "an unsigned plugin is refused before it is compiled");

    ok(&wasmpush(d, &["sign", "gen.wasm", "--key", "stranger.secret"]));
    let e = err(&wasmpush(d, &["check", "wasmpush.toml"]));
    assert!(e.contains("untrusted"), "{e}");
    assert_eq!(compiled(d), 0);

    ok(&wasmpush(d, &["sign", "gen.wasm", "--key", "team.secret"]));
    let out = ok(&wasmpush(d, &["check", "wasmpush.toml"]));
    assert!(out.contains("generator buildbot-json"), "{out}");
    let verified = ok(&wasmpush(d, &["verify", "gen.wasm", "--key", "team.pub"]));
    assert!(verified.contains("is signed by trusted key"), "{verified}");

    // Same signature file, other bytes: tampered.
    std::fs::copy(common::generator("chat-message"), d.join("gen.wasm")).unwrap();
    let before = compiled(d);
    let e = err(&wasmpush(d, &["check", "wasmpush.toml"]));
    assert!(e.contains("gen.wasm"), "{e}");
    assert_eq!(compiled(d), before, "a tampered plugin is refused before it is compiled");
}

/// `docker-registry serve` on a free loopback port; killed on drop.
struct Registry {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        if !Path::new("/usr/bin/docker-registry").exists() {
            let install = || {
                Command::new("apt-get")
                    .args(["install", "-y", "--no-install-recommends", "docker-registry"])
                    .stdout(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if !install() {
                let _ = Command::new("apt-get").arg("update").stdout(Stdio::null()).status();
                assert!(install(), "apt-get install docker-registry failed");
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr = format!("127.0.0.1:{port}");
        let cfg = dir.path().join("config.yml");
        std::fs::write(
            &cfg,
            format!("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n  secret: test\n", dir.path().join("data").display()),
        )
        .unwrap();
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(start.elapsed() < Duration::from_secs(20), "docker-registry did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Registry { child, addr, _dir: dir }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn push_to_a_registry_pin_run_and_reuse_offline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let registry = Registry::start();
    let addr = registry.addr.clone();
    std::fs::copy(common::generator("buildbot-json"), d.join("gen.wasm")).unwrap();

    // Metadata readable without running it, once stamped.
    let before = ok(&wasmpush(d, &["inspect", "gen.wasm"]));
    assert!(before.contains("stamped     no"), "{before}");
    ok(&wasmpush(d, &["stamp", "gen.wasm", "--author", "CI team <ci@example.invalid>"]));
    let after = ok(&wasmpush(d, &["inspect", "gen.wasm"]));
    assert!(
        after.contains("\"name\":\"buildbot-json\"")
            && after.contains("CI team")
            && after.contains("exports describe and generate"),
        "{after}"
    );

    let reference = format!("oci://{addr}/wasmpush/buildbot-json:v1");
    let pushed = ok(&wasmpush(d, &["push", "gen.wasm", &reference, "--plain-http", &addr]));
    let pin = pushed.lines().find_map(|l| l.strip_prefix("sha256 = ")).unwrap().trim_matches('"').to_string();
    let pulled = ok(&wasmpush(d, &["pull", &reference, "--plain-http", &addr, "-o", "pulled.wasm"]));
    assert!(pulled.contains(&pin), "{pulled}");
    assert_eq!(std::fs::read(d.join("pulled.wasm")).unwrap(), std::fs::read(d.join("gen.wasm")).unwrap());

    let rt = tokio::runtime::Runtime::new().unwrap();
    let receiver = rt.block_on(wasmpush_testkit::Receiver::start()).unwrap();
    let capture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("tests/fixtures/buildbot-4.3.0/captures/082.json")).unwrap(),
    )
    .unwrap();
    std::fs::write(d.join("event.json"), capture["body_raw"].as_str().unwrap()).unwrap();
    let config = |pin: &str| {
        format!(
            "[plugins]\nstore = \"store\"\nplain_http_registries = [\"{addr}\"]\n[[source]]\ntype = \"replay\"\npath = \"event.json\"\n\
             [[reporter]]\nname = \"r\"\nserver_url = \"{}/hook\"\n[[reporter.generator]]\nwasm = \"{reference}\"\nsha256 = \"{pin}\"\n",
            receiver.url()
        )
    };
    std::fs::write(d.join("wasmpush.toml"), config(&pin)).unwrap();
    ok(&wasmpush(d, &["run", "wasmpush.toml", "--settle", "10s"]));
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(receiver.received()[0].body, capture["body_raw"].as_str().unwrap().as_bytes());

    // A wrong pin is refused.
    std::fs::write(d.join("wasmpush.toml"), config(&"1".repeat(64))).unwrap();
    let e = err(&wasmpush(d, &["check", "wasmpush.toml"]));
    assert!(e.contains("sha256 mismatch"), "{e}");

    // Registry gone: the pinned digest comes from the plugin store.
    drop(registry);
    std::fs::write(d.join("wasmpush.toml"), config(&pin)).unwrap();
    ok(&wasmpush(d, &["run", "wasmpush.toml", "--settle", "10s"]));
    assert_eq!(receiver.received().len(), 2, "the same report again (replayed), from the stored component");
}
