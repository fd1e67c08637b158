//! The reporter catalog (`plugins/<name>/`, built into `target/catalog` by
//! scripts/build-generators.sh): every plugin is locked, described and
//! built; every recorded case gives the recorded requests in-process and
//! through `wasmpush run` with `wasm = "catalog:<name>"` to a real receiver;
//! a changed catalog file or an unknown name is refused with an error naming
//! the fix; `wasmpush inspect catalog:<name>` shows the plugin's settings.
//!
//! Cases of plugins whose Buildbot reporter exists were written by that
//! reporter's own code (each plugin's `buildbot_oracle.py`); the proof
//! against a running master is `reporter_parity/`.

mod common;

use common::cases::{self, Case};
use std::path::{Path, PathBuf};
use std::process::Command;
use wasmpush::catalog;
use wasmpush::runtime::{Generator, Limits, Runtime};
use wasmpush_sources::EventKind;

/// The build's catalog folder (what `catalog:` resolves to without config).
fn catalog_dir() -> PathBuf {
    common::repo().join("target/catalog")
}

/// Every plugin folder, in name order.
fn plugins() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(common::repo().join("plugins"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn plugin_cases(name: &str) -> Vec<Case> {
    cases::read(name, &common::repo().join("plugins").join(name).join("expected"))
}

/// Loads plugin `name` the way `run` resolves `catalog:<name>`: from the
/// build's catalog, checked against the lock.
fn load(rt: &Runtime, name: &str) -> Generator {
    let found = catalog::resolve(&catalog_dir(), name, None).unwrap_or_else(|e| panic!("{e}"));
    let bytes = std::fs::read(&found.path).unwrap();
    assert_eq!(wasmpush_distribute::Sha256::of(&bytes), found.sha256, "{name}: the built file is not the locked one");
    let g = rt.load(&found.path, Some(name), Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(g.contract(), "0.2.0", "{name} speaks contract 0.2");
    g
}

#[test]
fn every_plugin_is_locked_built_and_described() {
    let lock = catalog::lock();
    let names = plugins();
    // What the catalog promises (README, docs/reporters.md).
    for required in [
        "github-status",
        "github-comment",
        "github-checks",
        "gitlab-status",
        "gitea-status",
        "bitbucket-cloud-status",
        "bitbucket-server-status",
        "bitbucket-server-core",
        "bitbucket-server-pr-comment",
        "gerrit-verify",
        "zulip",
        "slack",
        "discord",
        "msteams",
    ] {
        assert!(names.iter().any(|n| n == required), "plugins/{required} is missing: {names:?}");
    }
    for name in &names {
        let dir = common::repo().join("plugins").join(name);
        assert!(lock.contains_key(name.as_str()), "{name} is not in plugins/catalog.lock (build-generators.sh --lock)");
        assert!(dir.join("README.md").exists(), "{name}: README.md (Buildbot's master.cfg vs wasmpush config)");
        let m = catalog::manifest(&catalog_dir(), name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&m.name, name, "plugin.toml name");
        assert!(!m.events.is_empty() && !m.reporter.is_empty(), "{name}: events and a reporter block");
        // Every setting a case uses is one the manifest documents.
        for case in plugin_cases(name) {
            for (k, _) in &case.settings {
                assert!(m.settings.iter().any(|s| &s.name == k), "{}: setting {k} is not in plugin.toml", case.label);
            }
        }
    }
    for name in lock.keys() {
        assert!(names.iter().any(|n| n == name), "plugins/catalog.lock lists {name}, which has no folder");
    }
}

#[test]
fn every_plugin_sends_its_recorded_requests() {
    let rt = common::cached_runtime();
    let mut table = Vec::new();
    for name in plugins() {
        let g = load(&rt, &name);
        let all = plugin_cases(&name);
        assert!(all.len() >= 3, "{name}: only {} cases", all.len());
        let kinds: Vec<EventKind> = all.iter().map(|c| c.kind).collect();
        assert!(kinds.contains(&EventKind::BuildFinished), "{name}: no build-finished case");
        let compared = cases::check_in_process(&g, &all);
        assert!(compared >= 2, "{name}: only {compared} requests compared");
        table.push(format!("{name}: {} cases, {compared} requests", all.len()));
    }
    eprintln!("{}", table.join("\n"));
}

/// Every case (but those that fill in a value kept from an earlier
/// response, which need that response: in-process above) through
/// `wasmpush run` with `wasm = "catalog:<name>"`: every request arrives, in
/// order, as recorded. Two plugins at a time.
#[test]
fn every_plugin_case_arrives_through_the_running_host() {
    let names = plugins();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let checked = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while let Some(name) = names.get(next.fetch_add(1, std::sync::atomic::Ordering::SeqCst)) {
                    for case in plugin_cases(name) {
                        if case.expected().iter().any(|r| r.fill) {
                            continue;
                        }
                        let (got, want) = cases::through_the_host(
                            &case,
                            &format!("catalog:{name}"),
                            &common::cache_dir().join("wasmpush"),
                            &[("WASMPUSH_CATALOG", &catalog_dir())],
                        );
                        for (r, w) in got.iter().zip(&want) {
                            assert_eq!(r.method, w.method.as_str(), "{}", case.label);
                            let path = w.path.as_deref().unwrap_or_default();
                            let want_path = if path.is_empty() { "/api".to_string() } else { format!("/api/{path}") };
                            assert_eq!(r.path, want_path, "{}", case.label);
                            assert_eq!(
                                String::from_utf8_lossy(&r.body),
                                String::from_utf8_lossy(&w.body),
                                "{}",
                                case.label
                            );
                            assert_eq!(r.header("content-type"), Some(w.content_type.as_str()), "{}", case.label);
                            for (k, v) in &w.headers {
                                assert_eq!(r.header(k), Some(v.as_str()), "{}: header {k}", case.label);
                            }
                        }
                        checked.fetch_add(got.len(), std::sync::atomic::Ordering::SeqCst);
                    }
                }
            });
        }
    });
    assert!(checked.into_inner() >= plugins().len(), "too few requests went through the host");
}

fn wasmpush(args: &[&str], catalog: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wasmpush")).args(args).env("WASMPUSH_CATALOG", catalog).output().unwrap()
}

/// A config naming `wasm` for its one generator, checked by `wasmpush check`.
fn check_config(dir: &Path, wasm: &str, extra: &str, catalog: &Path) -> std::process::Output {
    let cfg = dir.join("wasmpush.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[source]]\ntype = \"replay\"\npath = \"events\"\n[outbox]\npath = \"o.redb\"\n[runtime]\ncache_dir = {cache:?}\n\
             [[reporter]]\nname = \"gh\"\nserver_url = \"http://127.0.0.1:9/api\"\n[[reporter.generator]]\nwasm = {wasm:?}\n{extra}",
            cache = common::cache_dir().join("wasmpush").to_str().unwrap(),
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("events")).unwrap();
    wasmpush(&["check", cfg.to_str().unwrap()], catalog)
}

#[test]
fn a_changed_catalog_file_an_unknown_name_and_a_disagreeing_pin_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ok = check_config(dir.path(), "catalog:github-status", "", &catalog_dir());
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));

    // A catalog whose github-status.wasm was changed by one byte.
    let tampered = dir.path().join("tampered");
    std::fs::create_dir_all(&tampered).unwrap();
    let mut bytes = std::fs::read(catalog_dir().join("github-status.wasm")).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(tampered.join("github-status.wasm"), bytes).unwrap();
    std::fs::copy(catalog_dir().join("github-status.toml"), tampered.join("github-status.toml")).unwrap();
    let out = check_config(dir.path(), "catalog:github-status", "", &tampered);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("catalog:github-status") && err.contains("catalog lock says"), "{err}");
    assert!(err.contains("build-generators.sh"), "the error says how to fix it: {err}");

    let out = check_config(dir.path(), "catalog:no-such-reporter", "", &catalog_dir());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("catalog:no-such-reporter") && err.contains("github-status"),
        "{err}"
    );

    let pin = format!("sha256 = \"{}\"\n", "0".repeat(64));
    let out = check_config(dir.path(), "catalog:github-status", &pin, &catalog_dir());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("catalog lock says"), "{err}");

    // `[plugins] catalog` wins over the environment.
    let cfg_dir = dir.path().join("configured");
    std::fs::create_dir_all(&cfg_dir).unwrap();
    let out = check_config(
        &cfg_dir,
        "catalog:github-status",
        &format!("[plugins]\ncatalog = {:?}\n", catalog_dir().to_str().unwrap()),
        &tampered,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A built plugin whose manifest is gone or unreadable is refused by `check`,
/// naming the manifest, rather than running without its default kind and
/// settings check.
#[test]
fn a_catalog_plugin_with_a_missing_or_broken_manifest_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog");
    std::fs::create_dir_all(&catalog).unwrap();
    std::fs::copy(catalog_dir().join("github-status.wasm"), catalog.join("github-status.wasm")).unwrap();
    let out = check_config(dir.path(), "catalog:github-status", "", &catalog);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("github-status.toml") && err.contains("manifest"), "{err}");

    std::fs::write(catalog.join("github-status.toml"), "name = [").unwrap();
    let out = check_config(dir.path(), "catalog:github-status", "", &catalog);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("github-status.toml"), "{err}");

    std::fs::copy(catalog_dir().join("github-status.toml"), catalog.join("github-status.toml")).unwrap();
    let out = check_config(dir.path(), "catalog:github-status", "", &catalog);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn inspect_shows_a_catalog_plugins_settings_and_reporter_block() {
    let out = wasmpush(&["inspect", "catalog:github-status"], &catalog_dir());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("matches the catalog lock"), "{text}");
    assert!(text.contains("replaces    GitHubStatusPush"), "{text}");
    assert!(text.contains("context = \"buildbot/%(prop:buildername)s\""), "{text}");
    assert!(text.contains("GITHUB_TOKEN"), "the reporter block names the token's variable: {text}");
}

/// Buildbot 4.3.0's table in `GitHubStatusPush.sendMessage`: SUCCESS,
/// WARNINGS and SKIPPED → success, FAILURE → failure, EXCEPTION and
/// CANCELLED → error, RETRY → pending, anything else → error; a started
/// build is pending.
#[test]
fn github_status_maps_every_buildbot_result_like_github_status_push() {
    let rt = common::cached_runtime();
    let g = load(&rt, "github-status");
    let case = common::repo().join("plugins/github-status/expected/finished-success/payload.json");
    let base: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(case).unwrap()).unwrap();
    let state = |kind: EventKind, results: serde_json::Value| {
        let mut build = base.clone();
        build["results"] = results;
        let got = g.generate_all(kind, &build.to_string(), &[]).unwrap();
        assert_eq!(got.len(), 1);
        let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
        (body["state"].as_str().unwrap().to_string(), body["description"].as_str().unwrap().to_string())
    };
    let table =
        [(0, "success"), (1, "success"), (2, "failure"), (3, "success"), (4, "error"), (5, "pending"), (6, "error")];
    for (code, want) in table.into_iter().chain([(7, "error"), (-1, "error")]) {
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
fn github_status_reads_owner_and_repo_like_buildbot() {
    let rt = common::cached_runtime();
    let g = load(&rt, "github-status");
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

/// github-checks in one `wasmpush run`: the build-new POST keeps the check
/// run's id from GitHub's answer and the build-finished PATCH of the same
/// build fills it in, however quickly the second follows the first (the
/// kept value is committed before the next request of the build is read).
#[test]
fn github_checks_creates_then_completes_the_same_run_within_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let receiver = rt.block_on(wasmpush_testkit::Receiver::start()).unwrap();
    receiver.respond_with_body(|r| {
        if r.method == "POST" { (201, r#"{"id": 4242, "status": "in_progress"}"#.into()) } else { (200, "{}".into()) }
    });
    let case = |name: &str| -> serde_json::Value {
        let p = common::repo().join("plugins/github-checks/expected").join(name).join("payload.json");
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let events = dir.path().join("events.jsonl");
    let lines = [
        serde_json::json!({"kind": "build-new", "payload": case("new-in-progress")}).to_string(),
        serde_json::json!({"kind": "build-finished", "payload": case("finished-success-steps")}).to_string(),
    ];
    std::fs::write(&events, lines.join("\n")).unwrap();
    let cfg = dir.path().join("wasmpush.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[source]]\ntype = \"replay\"\npath = {events:?}\n[outbox]\npath = \"outbox.redb\"\n[runtime]\ncache_dir = {cache:?}\n\
             [[reporter]]\nname = \"checks\"\nserver_url = \"{url}/api\"\nmethods = [\"POST\", \"PATCH\"]\n\
             [[reporter.generator]]\nwasm = \"catalog:github-checks\"\nkind = \"build-start-end\"\n",
            events = events.to_str().unwrap(),
            cache = common::cache_dir().join("wasmpush").to_str().unwrap(),
            url = receiver.url(),
        ),
    )
    .unwrap();
    let out = wasmpush(&["run", cfg.to_str().unwrap(), "--settle", "10s"], &catalog_dir());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let got: Vec<(String, String)> = receiver.received().into_iter().map(|r| (r.method, r.path)).collect();
    assert_eq!(
        got,
        [
            ("POST".to_string(), "/api/repos/demo/repo/check-runs".to_string()),
            ("PATCH".to_string(), "/api/repos/demo/repo/check-runs/4242".to_string())
        ],
        "{stderr}"
    );
    assert!(!stderr.contains("no value kept"), "{stderr}");
}

/// A catalog plugin named without `kind` behaves like its Buildbot
/// reporter's default generator: GitHubStatusPush reports a build's start
/// (`pending`) as well as its end, so the start arrives.
#[test]
fn a_catalog_plugin_without_kind_gets_its_reporters_default_generator() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let receiver = rt.block_on(wasmpush_testkit::Receiver::start()).unwrap();
    let case = common::repo().join("plugins/github-status/expected/new-pending/payload.json");
    let payload: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(case).unwrap()).unwrap();
    let events = dir.path().join("events.jsonl");
    std::fs::write(&events, serde_json::json!({"kind": "build-new", "payload": payload}).to_string()).unwrap();
    let cfg = dir.path().join("wasmpush.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[source]]\ntype = \"replay\"\npath = {events:?}\n[outbox]\npath = \"outbox.redb\"\n[runtime]\ncache_dir = {cache:?}\n\
             [[reporter]]\nname = \"gh\"\nserver_url = \"{url}/api\"\n[[reporter.generator]]\nwasm = \"catalog:github-status\"\n",
            events = events.to_str().unwrap(),
            cache = common::cache_dir().join("wasmpush").to_str().unwrap(),
            url = receiver.url(),
        ),
    )
    .unwrap();
    let out = wasmpush(&["run", cfg.to_str().unwrap(), "--settle", "10s"], &catalog_dir());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got = receiver.received();
    assert_eq!(got.len(), 1, "the build's start was reported: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&got[0].body).contains("\"state\": \"pending\""), "{:?}", got[0]);
}

/// A setting the plugin does not read (a typo) is refused by name, with the
/// settings it does read; a documented one passes.
#[test]
fn a_catalog_plugins_unknown_setting_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = check_config(dir.path(), "catalog:github-status", "settings = { contxt = \"ci\" }\n", &catalog_dir());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("settings.contxt") && err.contains("its settings: context"), "{err}");
    let out = check_config(dir.path(), "catalog:github-status", "settings = { context = \"ci\" }\n", &catalog_dir());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
