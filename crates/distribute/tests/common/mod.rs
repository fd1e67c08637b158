//! Test helpers: a real OCI registry (Debian's `docker-registry`, installed
//! with apt when missing) and a real HTTPS file server (`wasmpush-testkit`'s
//! server and test CA), both on 127.0.0.1 and stopped when dropped; real
//! components built by `scripts/build-generators.sh`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmpush_distribute::{FetchOptions, OciRef};
use wasmpush_testkit::tls::{Ca, server_tls};
use wasmpush_testkit::{Received, Reply, Server, serve};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// The bytes of `target/generators/<name>.wasm` (a real component).
pub fn component(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/generators").join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "missing test component {} ({e}): build the example generators first with `bash scripts/build-generators.sh`",
            path.display()
        )
    })
}

fn apt_install() -> bool {
    Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "docker-registry"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs Debian's `docker-registry` if it is not there yet (running
/// `apt-get update` only when the first install attempt fails).
pub fn ensure_registry_installed() {
    static LOCK: Mutex<()> = Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if Path::new(REGISTRY_BIN).exists() {
        return;
    }
    let t = Instant::now();
    if !apt_install() {
        let _ = Command::new("apt-get").arg("update").stdout(Stdio::null()).status();
        assert!(apt_install(), "apt-get install docker-registry failed");
    }
    assert!(Path::new(REGISTRY_BIN).exists(), "{REGISTRY_BIN} still missing after apt-get install docker-registry");
    eprintln!("timing: apt-get install docker-registry took {:?}", t.elapsed());
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    std::str::from_utf8(&buf[..n]).ok()?.split_whitespace().nth(1)?.parse().ok()
}

/// A `docker-registry serve` process on a free loopback port with its own
/// storage folder; killed on drop.
pub struct Registry {
    pub addr: String,
    pub storage: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl Registry {
    pub fn start() -> Registry {
        ensure_registry_installed();
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("data");
        let addr = format!("127.0.0.1:{}", free_port());
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n  secret: wasmpush-test-{}\n",
            storage.display(),
            std::process::id()
        );
        let cfg_path = dir.path().join("config.yml");
        std::fs::write(&cfg_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let t = Instant::now();
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&cfg_path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut reg = Registry { addr, storage, child: Some(child), _dir: dir };
        while http_status(&reg.addr, "/v2/") != Some(200) {
            if let Some(st) = reg.child.as_mut().unwrap().try_wait().unwrap() {
                let log = std::fs::read_to_string(reg._dir.path().join("registry.log")).unwrap_or_default();
                panic!("docker-registry exited ({st}): {log}");
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "docker-registry did not answer on {} within 20 s",
                reg.addr
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!("timing: docker-registry ready on {} in {:?}", reg.addr, t.elapsed());
        reg
    }

    /// `oci://<addr>/<path>`.
    pub fn reference(&self, path: &str) -> OciRef {
        OciRef::parse(&format!("{}/{path}", self.addr)).unwrap()
    }

    /// Options that speak plain HTTP to this registry.
    pub fn options(&self) -> FetchOptions {
        FetchOptions {
            plain_http_registries: vec![self.addr.clone()],
            timeout: Duration::from_secs(20),
            ..Default::default()
        }
    }

    /// Kills the registry now (what "the registry went away" looks like).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The file holding blob `hex` in the registry's filesystem storage.
    pub fn blob_file(&self, hex: &str) -> PathBuf {
        self.storage.join(format!("docker/registry/v2/blobs/sha256/{}/{hex}/data", &hex[..2]))
    }

    /// GETs a manifest straight from the registry (JSON).
    pub async fn raw_manifest(&self, repo: &str, reference: &str) -> serde_json::Value {
        let url = format!("http://{}/v2/{repo}/manifests/{reference}", self.addr);
        let _ = rustls::crypto::ring::default_provider().install_default();
        let c = reqwest::Client::new();
        let r = c.get(url).header("Accept", "application/vnd.oci.image.manifest.v1+json").send().await.unwrap();
        assert!(r.status().is_success(), "manifest GET: {}", r.status());
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An HTTPS server on 127.0.0.1 serving `files` (path → bytes; 404
/// otherwise) with a certificate from a fresh test CA.
pub struct HttpsServer {
    pub addr: SocketAddr,
    /// The CA to trust (`extra_roots_pem`).
    pub ca_pem: String,
    pub files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    server: Server,
}

impl HttpsServer {
    pub async fn start(files: HashMap<String, Vec<u8>>) -> HttpsServer {
        let ca = Ca::new();
        let files = Arc::new(Mutex::new(files));
        let served = files.clone();
        let script = Arc::new(move |r: &Received, _| {
            let path = r.path.split('?').next().unwrap_or_default();
            match served.lock().unwrap().get(path) {
                Some(b) => Reply::with_body(200, b.clone()),
                None => Reply::status(404),
            }
        });
        let server = serve(script, Some(server_tls(&ca.leaf(false), None))).await;
        HttpsServer { addr: server.addr, ca_pem: ca.pem, files, server }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.addr.port())
    }

    /// The paths requested so far (without query), in arrival order.
    pub fn hits(&self) -> Vec<String> {
        self.server.requests().into_iter().map(|r| r.path.split('?').next().unwrap_or_default().to_owned()).collect()
    }

    /// Stops accepting connections (the listener is closed on return).
    pub async fn stop(&mut self) {
        self.server.stop().await;
    }
}
