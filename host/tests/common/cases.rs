//! Recorded request cases of contract-0.2 generators: `examples/<name>/expected-v2/<case>/`
//! and the catalog's `plugins/<name>/expected/<case>/`. A case holds `event`,
//! `payload.json` and optional `settings` (`key=value` lines), then either
//! `no-report` or, for each request in order, `requests/<i>/body` (the exact
//! bytes) and `requests/<i>/request.json` (`method`, `path`, `content_type`,
//! `headers`, `supersede`, `keep` as `[name, pointer]` pairs, `fill`).

use std::path::{Path, PathBuf};
use std::process::Command;
use wasmpush::runtime::{Generator, Report};
use wasmpush_sources::EventKind;
use wasmpush_testkit::Received;

pub struct Case {
    pub label: String,
    pub dir: PathBuf,
    pub kind: EventKind,
    pub settings: Vec<(String, String)>,
}

/// Every case folder under `root`, in name order; `name` prefixes labels.
pub fn read(name: &str, root: &Path) -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let label = format!("{name}/{}", dir.file_name().unwrap().to_string_lossy());
            let event = std::fs::read_to_string(dir.join("event")).unwrap_or_else(|e| panic!("{label}/event: {e}"));
            Case {
                kind: event.trim().parse().unwrap_or_else(|e| panic!("{label}/event: {e:?}")),
                settings: std::fs::read_to_string(dir.join("settings"))
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(|l| {
                        let (k, v) = l.split_once('=').unwrap_or_else(|| panic!("{label}/settings: {l:?}"));
                        (k.to_string(), v.to_string())
                    })
                    .collect(),
                label,
                dir,
            }
        })
        .collect()
}

impl Case {
    /// The payload as the host hands it over (compact JSON).
    pub fn payload(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("payload.json")).unwrap();
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&text).unwrap()).unwrap()
    }

    /// The recorded requests, in order (empty for `no-report`).
    pub fn expected(&self) -> Vec<Report> {
        if self.dir.join("no-report").exists() {
            return Vec::new();
        }
        let mut out = Vec::new();
        while let Ok(body) = std::fs::read(self.dir.join(format!("requests/{}/body", out.len()))) {
            let file = self.dir.join(format!("requests/{}/request.json", out.len()));
            let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let text = |k: &str| meta[k].as_str().map(str::to_string);
            out.push(Report {
                method: meta["method"].as_str().unwrap().parse().unwrap(),
                body,
                content_type: text("content_type").unwrap(),
                headers: serde_json::from_value(meta["headers"].clone()).unwrap(),
                path: text("path"),
                supersede: text("supersede"),
                keep: serde_json::from_value(meta["keep"].clone()).unwrap(),
                fill: meta["fill"].as_bool().unwrap(),
            });
        }
        assert!(!out.is_empty(), "{}: neither no-report nor requests/0", self.label);
        out
    }
}

/// Runs every case through `g` in-process and compares each request with
/// the recording; returns how many requests were compared.
pub fn check_in_process(g: &Generator, cases: &[Case]) -> usize {
    let mut compared = 0;
    for case in cases {
        let got = g
            .generate_all(case.kind, &case.payload(), &case.settings)
            .unwrap_or_else(|e| panic!("{}: {e}", case.label));
        let want = case.expected();
        assert_eq!(got.len(), want.len(), "{}: {got:#?}", case.label);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                String::from_utf8_lossy(&g.body),
                String::from_utf8_lossy(&w.body),
                "{} request {i}",
                case.label
            );
            assert_eq!(g, w, "{} request {i}", case.label);
        }
        compared += want.len();
    }
    compared
}

/// One case through `wasmpush run` (replay source, the generator `wasm` as a
/// config would name it) to a real receiver under `/api`; `env` is set for
/// the process. Returns what arrived and what was recorded.
pub fn through_the_host(case: &Case, wasm: &str, cache: &Path, env: &[(&str, &Path)]) -> (Vec<Received>, Vec<Report>) {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let receiver = rt.block_on(wasmpush_testkit::Receiver::start()).unwrap();
    let payload: serde_json::Value = serde_json::from_str(&case.payload()).unwrap();
    let events = dir.path().join("events.jsonl");
    std::fs::write(&events, serde_json::json!({"kind": case.kind.as_str(), "payload": payload}).to_string()).unwrap();
    let settings: Vec<String> =
        case.settings.iter().map(|(k, v)| format!("{k} = {}", toml::Value::String(v.clone()))).collect();
    let want = case.expected();
    let mut methods: Vec<String> = want.iter().map(|r| format!("{:?}", r.method.as_str())).collect();
    methods.push("\"POST\"".into());
    methods.sort();
    methods.dedup();
    let config = format!(
        "[[source]]\ntype = \"replay\"\npath = {events:?}\n[outbox]\npath = \"outbox.redb\"\n[runtime]\ncache_dir = {cache:?}\n\
         [[reporter]]\nname = \"r\"\nserver_url = \"{url}/api\"\nmethods = [{methods}]\n\
         [[reporter.generator]]\nwasm = {wasm:?}\nkind = \"build-start-end\"\nsettings = {{ {settings} }}\n",
        events = events.to_str().unwrap(),
        cache = cache.to_str().unwrap(),
        url = receiver.url(),
        methods = methods.join(", "),
        settings = settings.join(", "),
    );
    let cfg = dir.path().join("wasmpush.toml");
    std::fs::write(&cfg, config).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmpush"));
    cmd.args(["run", cfg.to_str().unwrap(), "--settle", "10s"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}: {}", case.label, String::from_utf8_lossy(&out.stderr));
    let got = receiver.received();
    assert_eq!(got.len(), want.len(), "{}: {}", case.label, String::from_utf8_lossy(&out.stderr));
    (got, want)
}
