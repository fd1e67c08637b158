//! Contract 0.2 from the authors' side: the Rust guest SDK's `v2` API
//! (examples/github-status-v2), Python and JavaScript generators with typed
//! request helpers (examples/python-v2, examples/js-v2), and `wasmpush new`,
//! which scaffolds 0.2 projects unless asked for 0.1.
//!
//! Recorded cases live in `examples/<name>/expected-v2/<case>/` (not
//! `expected/`, whose readers expect at most one report per case):
//! `event`, `payload.json` and optional `settings` as in `expected/`, then
//! either `no-report` or, for each request in order, `requests/<i>/body`
//! (the exact bytes) and `requests/<i>/request.json` (`method`, `path`,
//! `content_type`, `headers`, `supersede`, `keep` as `[name, pointer]`
//! pairs, `fill`). github-status-v2's cases were computed by Buildbot
//! 4.3.0's own `GitHubStatusPush.sendMessage` with its HTTP post captured.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use wasmpush::runtime::{Generator, Limits, Method, Report, Runtime, RuntimeOptions};
use wasmpush_sources::EventKind;

struct Case {
    label: String,
    dir: PathBuf,
    kind: EventKind,
    settings: Vec<(String, String)>,
}

fn cases(example: &str) -> Vec<Case> {
    let root = common::repo().join("examples").join(example).join("expected-v2");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| Case {
            label: format!("{example}/{}", dir.file_name().unwrap().to_string_lossy()),
            kind: std::fs::read_to_string(dir.join("event")).unwrap().trim().parse().unwrap(),
            settings: std::fs::read_to_string(dir.join("settings"))
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (k, v) = l.split_once('=').unwrap();
                    (k.to_string(), v.to_string())
                })
                .collect(),
            dir,
        })
        .collect()
}

impl Case {
    /// The payload as the host hands it over (compact JSON).
    fn payload(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("payload.json")).unwrap();
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&text).unwrap()).unwrap()
    }

    /// The recorded requests, in order (empty for `no-report`).
    fn expected(&self) -> Vec<Report> {
        if self.dir.join("no-report").exists() {
            return Vec::new();
        }
        let mut out = Vec::new();
        while let Ok(body) = std::fs::read(self.dir.join(format!("requests/{}/body", out.len()))) {
            let meta: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(self.dir.join(format!("requests/{}/request.json", out.len()))).unwrap(),
            )
            .unwrap();
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

/// One runtime with a shared compiled-component cache (Python takes seconds
/// to compile).
fn cache_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn runtime() -> Runtime {
    Runtime::new(&RuntimeOptions { cache_dir: Some(cache_dir().join("wasmpush")), ..RuntimeOptions::default() })
        .unwrap()
}

fn load(rt: &Runtime, example: &str) -> Generator {
    let g = rt.load(&common::generator(example), Some(example), Limits::default()).unwrap();
    assert_eq!(g.contract(), "0.2.0", "{example} speaks contract 0.2");
    g
}

/// Every recorded case of `example`, in-process; returns how many requests
/// were compared.
fn check_recorded_cases(example: &str) -> usize {
    let rt = runtime();
    let g = load(&rt, example);
    let all = cases(example);
    assert!(all.len() >= 3, "{example}: only {} cases", all.len());
    let mut compared = 0;
    for case in &all {
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

#[test]
fn github_status_v2_sends_what_buildbot_sends_for_every_recorded_case() {
    let compared = check_recorded_cases("github-status-v2");
    assert!(compared >= 6, "{compared}");
}

#[test]
fn python_v2_produces_its_recorded_requests() {
    assert!(check_recorded_cases("python-v2") >= 5);
}

#[test]
fn js_v2_produces_its_recorded_requests() {
    assert!(check_recorded_cases("js-v2") >= 5);
}

/// Buildbot 4.3.0's table in `GitHubStatusPush.sendMessage`: SUCCESS,
/// WARNINGS and SKIPPED → success, FAILURE → failure, EXCEPTION and
/// CANCELLED → error, RETRY → pending, anything else → error; a started
/// build is pending.
#[test]
fn github_status_v2_maps_every_buildbot_result_like_github_status_push() {
    let rt = runtime();
    let g = load(&rt, "github-status-v2");
    let case = common::repo().join("examples/github-status-v2/expected-v2/finished-success/payload.json");
    let base: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(case).unwrap()).unwrap();
    let state = |kind: EventKind, results: serde_json::Value| {
        let mut build = base.clone();
        build["results"] = results;
        let got = g.generate_all(kind, &build.to_string(), &[]).unwrap();
        assert_eq!(got.len(), 1);
        let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
        (body["state"].as_str().unwrap().to_string(), body["description"].as_str().unwrap().to_string())
    };
    let table = [
        (0, "success"),
        (1, "success"),
        (2, "failure"),
        (3, "success"),
        (4, "error"),
        (5, "pending"),
        (6, "error"),
        (7, "error"),
        (-1, "error"),
    ];
    for (code, want) in table {
        assert_eq!(state(EventKind::BuildFinished, code.into()), (want.to_string(), "Build done.".into()), "{code}");
    }
    assert_eq!(state(EventKind::BuildFinished, serde_json::Value::Null).0, "error");
    let mut running = base.clone();
    running["complete"] = false.into();
    running["results"] = serde_json::Value::Null;
    let got = g.generate_all(EventKind::BuildNew, &running.to_string(), &[]).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!((body["state"].as_str(), body["description"].as_str()), (Some("pending"), Some("Build started.")));
}

/// Owner and repository as Buildbot's `giturlparse` reads them; a project
/// `owner/repo` wins over the URL; a stamp without either is skipped.
#[test]
fn github_status_v2_reads_owner_and_repo_like_buildbot() {
    let rt = runtime();
    let g = load(&rt, "github-status-v2");
    let path = |project: &str, repository: &str| {
        let build = serde_json::json!({
            "buildid": 1, "number": 1, "builderid": 1, "complete": true, "results": 0,
            "properties": {"buildername": ["b", "Builder"]},
            "buildset": {"bsid": 1, "sourcestamps": [
                {"ssid": 1, "revision": "abc", "project": project, "repository": repository, "codebase": ""}
            ]},
        });
        let got = g.generate_all(EventKind::BuildFinished, &build.to_string(), &[]).unwrap();
        got.first().map(|r| r.path.clone().unwrap())
    };
    let cases = [
        ("", "https://github.com/acme/widgets.git", Some("repos/acme/widgets/statuses/abc")),
        ("", "https://github.com/acme/widgets", Some("repos/acme/widgets/statuses/abc")),
        ("", "git@github.com:acme/widgets.git", Some("repos/acme/widgets/statuses/abc")),
        ("", "ssh://git@github.com/acme/widgets.git", Some("repos/acme/widgets/statuses/abc")),
        ("", "ssh://git@git.example:2222/acme/tools", Some("repos/acme/tools/statuses/abc")),
        ("", "git://github.com/acme/w.x.git", Some("repos/acme/w.x/statuses/abc")),
        ("", "https://user:p%40ss@github.com/acme/widgets.git", Some("repos/acme/widgets/statuses/abc")),
        ("acme/docs", "https://github.com/other/place.git", Some("repos/acme/docs/statuses/abc")),
        ("nested/group/project", "https://gitlab.example/a/b.git", Some("repos/a/b/statuses/abc")),
        ("plain", "", None),
        ("", "https://github.com/justone", None),
        ("", "", None),
        ("../x", "", None),
        ("a b/c?d", "", Some("repos/a%20b/c%3Fd/statuses/abc")),
    ];
    for (project, repository, want) in cases {
        assert_eq!(path(project, repository).as_deref(), want, "project {project:?} repository {repository:?}");
    }
}

/// A generator built with the SDK's 0.1 API imports only 0.1's interfaces
/// and one built with its `v2` API only 0.2's, though both link the same
/// SDK: the SDK compiles out wit-bindgen's imports-only sections.
#[test]
fn each_component_imports_only_the_contract_it_was_built_for() {
    let rt = runtime();
    for (example, own, other) in [
        ("buildbot-json", "@0.1.0", "@0.2.0"),
        ("chat-message", "@0.1.0", "@0.2.0"),
        ("hostile", "@0.1.0", "@0.2.0"),
        ("github-status-v2", "@0.2.0", "@0.1.0"),
        ("requests-v2", "@0.2.0", "@0.1.0"),
    ] {
        let component = wasmtime::component::Component::from_file(rt.engine(), common::generator(example)).unwrap();
        let ty = component.component_type();
        let imports: Vec<String> = ty.imports(rt.engine()).map(|(name, _)| name.to_string()).collect();
        let ours: Vec<&String> = imports.iter().filter(|n| n.starts_with("wasmpush:plugin/")).collect();
        assert!(ours.iter().any(|n| n.as_str() == format!("wasmpush:plugin/types{own}")), "{example}: {imports:?}");
        assert!(ours.iter().all(|n| n.ends_with(own) && !n.ends_with(other)), "{example}: {imports:?}");
        let exports: Vec<String> = ty.exports(rt.engine()).map(|(name, _)| name.to_string()).collect();
        assert_eq!(exports, ["describe", "generate"], "{example}");
    }
}

/// github-status-v2's cases through `wasmpush run` and a real receiver:
/// every request arrives, in order, as recorded.
#[test]
fn github_status_v2_cases_arrive_in_order_through_the_running_host() {
    let example = "github-status-v2";
    let mut checked = 0;
    for case in cases(example) {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let receiver = rt.block_on(wasmpush::receiver::Receiver::start()).unwrap();
        let payload: serde_json::Value = serde_json::from_str(&case.payload()).unwrap();
        let events = dir.path().join("events.jsonl");
        std::fs::write(&events, serde_json::json!({"kind": case.kind.as_str(), "payload": payload}).to_string())
            .unwrap();
        let settings: Vec<String> =
            case.settings.iter().map(|(k, v)| format!("{k} = {}", toml::Value::String(v.clone()))).collect();
        let config = format!(
            "[[source]]\ntype = \"replay\"\npath = {events:?}\n[outbox]\npath = \"outbox.redb\"\n[runtime]\ncache_dir = {cache:?}\n\
             [[reporter]]\nname = \"r\"\nserver_url = \"{url}/api\"\n[[reporter.generator]]\nwasm = {wasm:?}\nkind = \"build-start-end\"\nsettings = {{ {settings} }}\n",
            events = events.to_str().unwrap(),
            cache = cache_dir().join("wasmpush").to_str().unwrap(),
            url = receiver.url(),
            wasm = common::generator(example).to_str().unwrap(),
            settings = settings.join(", "),
        );
        let cfg = dir.path().join("wasmpush.toml");
        std::fs::write(&cfg, config).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_wasmpush"))
            .args(["run", cfg.to_str().unwrap(), "--settle", "10s"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {}", case.label, String::from_utf8_lossy(&out.stderr));
        let want = case.expected();
        let got = receiver.received();
        assert_eq!(got.len(), want.len(), "{}: {}", case.label, String::from_utf8_lossy(&out.stderr));
        for (r, w) in got.iter().zip(&want) {
            assert_eq!(r.method, w.method.as_str(), "{}", case.label);
            assert_eq!(r.path, format!("/api/{}", w.path.as_deref().unwrap()), "{}", case.label);
            assert_eq!(String::from_utf8_lossy(&r.body), String::from_utf8_lossy(&w.body), "{}", case.label);
            assert_eq!(r.header("content-type"), Some("application/json"), "{}", case.label);
        }
        checked += got.len();
    }
    assert!(checked >= 6, "{checked}");
}

fn wasmpush(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wasmpush")).args(args).output().unwrap()
}

/// `wasmpush new --lang rust` scaffolds a contract 0.2 project, and
/// `--contract 0.1` the 0.1 one; both build and render the sample payload.
#[test]
fn wasmpush_new_scaffolds_contract_0_2_by_default_and_0_1_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::new(&RuntimeOptions::default()).unwrap();
    for (name, extra, contract) in [("new-default", &[][..], "0.2.0"), ("new-v1", &["--contract", "0.1"][..], "0.1.0")]
    {
        let mut args = vec!["new", "--lang", "rust", name, "--dir", dir.path().to_str().unwrap()];
        args.extend(extra);
        let out = wasmpush(&args);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let project = dir.path().join(name);
        let wit = std::fs::read_to_string(project.join("wit/wasmpush.wit")).unwrap();
        assert!(wit.contains(&format!("package wasmpush:plugin@{contract};")), "{name}");
        let build = Command::new("bash")
            .arg(project.join("build.sh"))
            .env("CARGO_TARGET_DIR", common::repo().join("target/scaffold"))
            .output()
            .unwrap();
        assert!(build.status.success(), "{name} build: {}", String::from_utf8_lossy(&build.stderr));
        let wasm = project.join(format!("{name}.wasm"));
        let g = rt.load(&wasm, None, Limits::default()).unwrap();
        assert_eq!(g.contract(), contract, "{name}");
        let payload = std::fs::read_to_string(project.join("payload.json")).unwrap();
        let got = g.generate_all(EventKind::BuildFinished, &payload, &[("prefix".into(), "ci".into())]).unwrap();
        assert_eq!(got.len(), 1, "{name}");
        assert_eq!(got[0].method, Method::Post);
        let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
        assert_eq!(body["text"], "ci pass #1 success", "{name}");
    }
    let out = wasmpush(&["new", "--lang", "c", "--contract", "0.2", "c-gen", "--dir", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--contract 0.1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("c-gen").exists(), "nothing is written for a refused scaffold");
}
