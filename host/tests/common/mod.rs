//! Shared helpers for the host's integration tests: paths to the example
//! generators (built by scripts/build-generators.sh) and to the recorded
//! Buildbot 4.3.0 fixtures.
#![allow(dead_code)]

pub mod buildbot;
pub mod cases;

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
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap(),
            )
        })
        .collect()
}

/// A free TCP port on 127.0.0.1 (nothing listens on it once returned).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One plain HTTP/1.1 POST of a JSON body, as Buildbot's HttpStatusPush
/// sends it; the status code, or None if the connection failed.
pub fn post(port: u16, path: &str, body: &str) -> Option<u16> {
    post_response(port, path, body).map(|(status, _)| status)
}

/// [`post`], also returning the whole response text (head and body).
pub fn post_response(port: u16, path: &str, body: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(60))).ok()?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    Some((resp.split(' ').nth(1)?.parse().ok()?, resp))
}

/// A recorded finished-build body (capture 082) with `buildid` and
/// `buildrequestid` set to `buildid`: one distinct build per call.
pub fn build_body(buildid: i64) -> String {
    static BASE: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let base = BASE.get_or_init(|| {
        let capture: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(repo().join("tests/fixtures/buildbot-4.3.0/captures/082.json")).unwrap(),
        )
        .unwrap();
        serde_json::from_str(capture["body_raw"].as_str().unwrap()).unwrap()
    });
    let mut b = base.clone();
    b["buildid"] = buildid.into();
    b["buildrequestid"] = buildid.into();
    b.to_string()
}

/// A config with a relay on `relay` (no auth) and one reporter running the
/// default-body generator against `target`, retrying every `retry`. With
/// `slow_first`, a generator that spins until its 50 ms timeout runs before
/// it on every event (generation is slow; the report still comes from the
/// default-body generator).
pub fn relay_config(dir: &Path, relay: u16, target: u16, retry: &str, slow_first: bool) -> PathBuf {
    let slow = if slow_first {
        format!(
            "[[reporter.generator]]\nwasm = {:?}\nkind = \"build-start-end\"\nsettings = {{ mode = \"loop\" }}\nlimits = {{ timeout = \"50ms\" }}\n",
            generator("hostile").to_str().unwrap()
        )
    } else {
        String::new()
    };
    let text = format!(
        "[[source]]\ntype = \"relay\"\nlisten = \"127.0.0.1:{relay}\"\nauth = {{ type = \"none\" }}\n\
         [outbox]\npath = \"outbox.redb\"\n[runtime]\ncache_dir = \"cache\"\n\
         [[reporter]]\nname = \"target\"\nserver_url = \"http://127.0.0.1:{target}/hook\"\nretry_schedule = [\"{retry}\"]\nretry_jitter = 0.0\nmax_attempts = 100000\n\
         {slow}[[reporter.generator]]\nwasm = {:?}\nkind = \"build-start-end\"\n",
        generator("buildbot-json").to_str().unwrap()
    );
    let p = dir.join("relay.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs `service` on its own task until the returned sender is used or
/// dropped (then it settles for `settle`): the stop handle and the run.
pub fn run_until_stopped(
    service: std::sync::Arc<wasmpush::service::Service>,
    settle: std::time::Duration,
) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<Result<(), wasmpush::service::ServiceError>>) {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(async move {
        let stop = async {
            let _ = stop_rx.await;
        };
        service.run(stop, settle).await.map(|_| ())
    });
    (stop_tx, run)
}

/// Waits (up to 30 s) until something listens on 127.0.0.1:`port`.
pub async fn wait_listening(port: u16) {
    let t = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < std::time::Duration::from_secs(30), "nothing listens on port {port}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A compiled-component cache shared by every test of one test binary:
/// Python and JS components take seconds to compile, so each is compiled
/// once per run.
pub fn cache_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// A runtime using [`cache_dir`].
pub fn cached_runtime() -> wasmpush::runtime::Runtime {
    let options =
        wasmpush::runtime::RuntimeOptions { cache_dir: Some(cache_dir().join("wasmpush")), ..Default::default() };
    wasmpush::runtime::Runtime::new(&options).unwrap()
}
