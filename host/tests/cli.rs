//! The `wasmpush` binary as a user runs it.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn wasmpush(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmpush"))
        .args(args)
        .env("XDG_CACHE_HOME", cache)
        .env("RUST_LOG", "info")
        .output()
        .unwrap()
}

fn payload_file(dir: &Path, capture: &str) -> (std::path::PathBuf, String) {
    let c: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("tests/fixtures/buildbot-4.3.0/captures").join(capture)).unwrap(),
    )
    .unwrap();
    let raw = c["body_raw"].as_str().unwrap().to_string();
    let pretty = serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&raw).unwrap()).unwrap();
    let p = dir.join(capture);
    std::fs::write(&p, pretty).unwrap();
    (p, raw)
}

#[test]
fn render_prints_the_exact_body_and_metadata_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let (payload, raw) = payload_file(dir.path(), "082.json");
    let gen_path = common::generator("buildbot-json");
    let args = [
        "render",
        "--generator",
        gen_path.to_str().unwrap(),
        "--event",
        "build-finished",
        "--payload",
        payload.to_str().unwrap(),
    ];
    let out = wasmpush(&args, dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), raw);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("content-type: application/json"), "{stderr}");
    assert!(stderr.contains("cache=\"miss\"") || stderr.contains("cache=miss"), "first run compiles: {stderr}");
    // Second start: no recompilation, visible in the log line.
    let out = wasmpush(&args, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cache=\"hit\"") || stderr.contains("cache=hit"), "second run uses the cache: {stderr}");
}

#[test]
fn render_with_settings_and_no_report() {
    let dir = tempfile::tempdir().unwrap();
    let (payload, _) = payload_file(dir.path(), "082.json");
    let chat = common::generator("chat-message");
    let base = [
        "render",
        "--generator",
        chat.to_str().unwrap(),
        "--event",
        "build-finished",
        "--payload",
        payload.to_str().unwrap(),
    ];
    let out = wasmpush(&[&base[..], &["--set", "channel=#ci"]].concat(), dir.path());
    assert!(out.status.success());
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["channel"], "#ci");
    assert!(body["text"].as_str().unwrap().contains("*pass* build #3 success on `main`"), "{body}");
    // A successful build with only_failures=true: no report, nothing on stdout, exit 0.
    let out = wasmpush(&[&base[..], &["--set", "only_failures=true"]].concat(), dir.path());
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
}

#[test]
fn render_failures_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let (payload, _) = payload_file(dir.path(), "082.json");
    let hostile = common::generator("hostile");
    let out = wasmpush(
        &[
            "render",
            "--generator",
            hostile.to_str().unwrap(),
            "--event",
            "build-new",
            "--payload",
            payload.to_str().unwrap(),
            "--set",
            "mode=panic",
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap();
    assert_eq!(last, "error: generator hostile: panicked: hostile generator panicked on purpose");

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"buildid\": ").unwrap();
    let out = wasmpush(
        &[
            "render",
            "--generator",
            hostile.to_str().unwrap(),
            "--event",
            "build-new",
            "--payload",
            bad.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.trim_end().ends_with("EOF while parsing a value at line 1 column 12"), "{stderr}");
    assert!(stderr.contains(&format!("error: payload {} is not valid JSON", bad.display())), "{stderr}");
    assert_eq!(stderr.lines().filter(|l| l.starts_with("error:")).count(), 1);

    let out = wasmpush(
        &["render", "--generator", "/nonexistent.wasm", "--event", "build-new", "--payload", payload.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: generator /nonexistent.wasm: cannot read the file: No such file or directory (os error 2)"
    );

    let out = wasmpush(
        &[
            "render",
            "--generator",
            hostile.to_str().unwrap(),
            "--event",
            "build-started",
            "--payload",
            payload.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown event kind \"build-started\""));
}

#[test]
fn check_lists_generators_and_rejects_bad_configs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wasmpush.toml");
    let json = common::generator("buildbot-json");
    std::fs::write(
        &cfg,
        format!(
            "[[reporter]]\nname = \"status\"\nserver_url = \"http://127.0.0.1:1/hook\"\n[[reporter.generator]]\nwasm = {:?}\nmode = \"all\"\n",
            json.to_str().unwrap()
        ),
    )
    .unwrap();
    let out = wasmpush(&["check", cfg.to_str().unwrap()], dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("generator buildbot-json 0.1.0"), "{stdout}");
    assert!(stdout.contains("events build-new, build-finished, buildset-complete"), "{stdout}");

    std::fs::write(&cfg, format!("[[reporter]]\nname = \"s\"\nserver_url = \"http://127.0.0.1:1\"\n[[reporter.generator]]\nwasm = {:?}\nbuilders = [\"a\"]\ntags = [\"b\"]\n", json.to_str().unwrap())).unwrap();
    let out = wasmpush(&["check", cfg.to_str().unwrap()], dir.path());
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!(
            "error: config {}: reporter \"s\" generator 0: `builders` and `tags` cannot be used together",
            cfg.display()
        )
    );

    std::fs::write(&cfg, "[[reporter]]\nname = 3\n").unwrap();
    let out = wasmpush(&["check", cfg.to_str().unwrap()], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with(&format!("error: config {}: ", cfg.display())) && stderr.contains("name"), "{stderr}");
}

#[test]
fn outbox_list_retry_and_drop() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let receiver = rt.block_on(wasmpush_testkit::Receiver::start()).unwrap();
    // The target refuses everything with 422: not retryable, so dead at once.
    receiver.respond_with(|_| 422);
    let (payload, _) = payload_file(dir.path(), "082.json");
    let events = dir.path().join("events.json");
    std::fs::copy(&payload, &events).unwrap();
    let json = common::generator("buildbot-json");
    let write = |with_source: bool| {
        let source = if with_source {
            format!("[[source]]\ntype = \"replay\"\npath = {:?}\n", events.to_str().unwrap())
        } else {
            String::new()
        };
        let cfg = dir.path().join("wasmpush.toml");
        std::fs::write(
            &cfg,
            format!(
                "{source}[[reporter]]\nname = \"t\"\nserver_url = \"{}/hook\"\n[[reporter.generator]]\nwasm = {:?}\n",
                receiver.url(),
                json.to_str().unwrap()
            ),
        )
        .unwrap();
        cfg
    };
    let cfg = write(true);
    let cfg_s = cfg.to_str().unwrap();
    let out = wasmpush(&["run", cfg_s, "--settle", "5s"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("dead 1"), "{}", String::from_utf8_lossy(&out.stdout));

    let out = wasmpush(&["outbox", "list", "--config", cfg_s], dir.path());
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success());
    assert_eq!(listing.lines().count(), 1, "{listing}");
    assert!(
        listing.contains(" dead msg_")
            && listing.contains("target=t")
            && listing.contains("generator=buildbot-json")
            && listing.contains("422"),
        "{listing}"
    );
    let id = listing.split_whitespace().nth(2).unwrap().to_string();

    // Retry it with the target fixed, no source: it is delivered.
    receiver.respond_with(|_| 200);
    let out = wasmpush(&["outbox", "retry", "--config", cfg_s], dir.path());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1 report(s) will be retried at the next start");
    let cfg = write(false);
    let out = wasmpush(&["run", cfg.to_str().unwrap(), "--settle", "10s"], dir.path());
    assert!(out.status.success());
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("webhook-id"), Some(id.as_str()));
    let out = wasmpush(&["outbox", "list", "--config", cfg.to_str().unwrap()], dir.path());
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));

    // Dead again, then dropped.
    receiver.respond_with(|_| 400);
    let cfg = write(true);
    wasmpush(&["run", cfg.to_str().unwrap(), "--settle", "5s"], dir.path());
    let out = wasmpush(&["outbox", "drop", "--dead", "--config", cfg.to_str().unwrap()], dir.path());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1 report(s) dropped");
    let out = wasmpush(&["outbox", "drop", "--config", cfg.to_str().unwrap()], dir.path());
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), "error: say which reports to drop: an id, or --dead");
}

#[test]
fn check_warns_about_literal_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wasmpush.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[reporter]]\nname = \"s\"\nserver_url = \"https://x.invalid/\"\nauth = {{ type = \"bearer\", token = \"hunter2-literal\" }}\n[[reporter.generator]]\nwasm = {:?}\n",
            common::generator("buildbot-json").to_str().unwrap()
        ),
    )
    .unwrap();
    let out = wasmpush(&["check", cfg.to_str().unwrap()], dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("reporter s -> https://x.invalid/") || stdout.contains("reporter s -> https://x.invalid"),
        "{stdout}"
    );
    assert!(stdout.contains("warning:") && stdout.contains("auth"), "{stdout}");
    assert!(!stdout.contains("hunter2-literal"), "the secret itself is never printed: {stdout}");

    // An open, clear-text relay on all interfaces and a secret webhook URL.
    std::fs::write(
        &cfg,
        format!(
            "[[source]]\ntype = \"relay\"\nlisten = \"0.0.0.0:0\"\nauth = {{ type = \"none\" }}\n\
             [[reporter]]\nname = \"chat\"\nserver_url_env = \"CHAT_HOOK_URL\"\n[[reporter.generator]]\nwasm = {:?}\n",
            common::generator("buildbot-json").to_str().unwrap()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wasmpush"))
        .args(["check", cfg.to_str().unwrap()])
        .env("CHAT_HOOK_URL", "https://hooks.slack.com/services/T0/B0/hook-s3cr3t")
        .env("XDG_CACHE_HOME", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("anyone who can reach it") && stdout.contains("plain HTTP"), "{stdout}");
    assert!(stdout.contains("reporter chat -> (URL from env CHAT_HOOK_URL)"), "{stdout}");
    assert!(!stdout.contains("hook-s3cr3t"), "a secret URL is never printed: {stdout}");
}

#[test]
fn pinned_digest_mismatch_is_refused_before_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let json = common::generator("buildbot-json");
    let actual = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(&json).unwrap()))
    };
    let cfg = dir.path().join("wasmpush.toml");
    let write = |pin: &str| {
        std::fs::write(
            &cfg,
            format!("[[reporter]]\nname = \"s\"\nserver_url = \"http://127.0.0.1:1\"\n[[reporter.generator]]\nwasm = {:?}\nsha256 = \"{pin}\"\n", json.to_str().unwrap()),
        )
        .unwrap()
    };
    write(&actual);
    let out = wasmpush(&["check", cfg.to_str().unwrap()], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("sha256 = \"{actual}\"")));
    let wrong = "0".repeat(64);
    write(&wrong);
    let fresh = dir.path().join("fresh");
    let out = wasmpush(&["check", cfg.to_str().unwrap()], &fresh);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!(
            "error: generator {}: sha256 mismatch: the config pins sha256:{wrong} but the component is sha256:{actual}; refusing to load it",
            json.display()
        )
    );
    // Refused before compiling: nothing was written to the compiled-component cache.
    let compiled = std::fs::read_dir(fresh.join("wasmpush"))
        .map(|d| d.filter_map(Result::ok).filter(|e| e.path().extension().is_some_and(|x| x == "cwasm")).count())
        .unwrap_or(0);
    assert_eq!(compiled, 0, "nothing was compiled");
}

#[test]
fn hostile_reports_are_refused_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let receiver = rt.block_on(wasmpush_testkit::Receiver::start()).unwrap();
    let (payload, _) = payload_file(dir.path(), "082.json");
    let hostile = common::generator("hostile");
    let mut cfg = format!("[[source]]\ntype = \"replay\"\npath = {:?}\n", payload.to_str().unwrap());
    for (mode, path) in [
        ("set-authorization", ""),
        ("crlf-header", ""),
        ("path-escape", "../../admin"),
        ("path-escape", "//evil.example/x"),
        ("path-escape", "https://evil.example/"),
    ] {
        cfg.push_str(&format!(
            "[[reporter]]\nname = \"{mode}{}\"\nserver_url = \"{}/hooks/buildbot\"\n[[reporter.generator]]\nwasm = {:?}\nsettings = {{ mode = \"{mode}\", path = \"{path}\" }}\n",
            path.len(),
            receiver.url(),
            hostile.to_str().unwrap()
        ));
    }
    let file = dir.path().join("wasmpush.toml");
    std::fs::write(&file, cfg).unwrap();
    let out = wasmpush(&["run", file.to_str().unwrap(), "--settle", "5s"], dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("reports 0 generator-failures 0 refused 5 sent 0"), "{stdout}");
    assert!(receiver.received().is_empty(), "nothing is sent for a refused report");
    let refusals: Vec<&str> = stderr.lines().filter(|l| l.contains("report refused, nothing sent")).collect();
    assert_eq!(refusals.len(), 5, "{stderr}");
    assert!(refusals.iter().all(|l| l.contains("generator `hostile`")), "{refusals:?}");
    assert!(refusals.iter().any(|l| l.contains("Authorization")), "{refusals:?}");
}

/// The hostile-generator suite through the real binary: every misbehaviour
/// is contained with an error naming the generator and the limit, and a
/// well-behaved generator in the same run still delivers. (A component
/// that cannot even load, such as `wat-many-memories`, stops the start
/// instead: `host/tests/runtime.rs`.)
#[test]
fn every_hostile_generator_is_contained_while_a_good_one_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let receiver = rt.block_on(wasmpush_testkit::Receiver::start()).unwrap();
    let (payload, _) = payload_file(dir.path(), "082.json");
    let failing = [
        ("loop", "ran out of time (limit 300ms)"),
        ("alloc", "exceeded its memory limit of 33554432 bytes"),
        ("recurse", "recursion"),
        ("panic", "panicked: hostile generator panicked on purpose"),
        ("exit", "exited the process with status"),
        ("big-output", "over the 1048576-byte max_output"),
        ("big-report", "over the 1048576-byte max_output"),
        ("many-headers", "returned 100 headers, over the limit of 64 (max_headers)"),
        ("big-headers", "over the 16384-byte max_header_bytes"),
    ];
    // Chatty, but correct: their reports are delivered.
    let chatty = ["stdout-spam", "empty-log-spam", "log-spam"];
    let mut cfg = format!(
        "[[source]]\ntype = \"replay\"\npath = {:?}\n[runtime.limits]\nmemory = \"32MiB\"\ntimeout = \"300ms\"\n",
        payload.to_str().unwrap()
    );
    for mode in failing.iter().map(|(m, _)| *m).chain(chatty) {
        // Printing 200,000 lines takes longer than the suite's 300 ms.
        let limits = if chatty.contains(&mode) { "limits = { timeout = \"20s\" }\n" } else { "" };
        cfg.push_str(&format!(
            "[[reporter]]\nname = \"{mode}\"\nserver_url = \"{}/{mode}\"\n[[reporter.generator]]\nname = \"hostile-{mode}\"\nwasm = {:?}\nsettings = {{ mode = \"{mode}\" }}\n{limits}",
            receiver.url(),
            common::generator("hostile").to_str().unwrap()
        ));
    }
    cfg.push_str(&format!(
        "[[reporter]]\nname = \"good\"\nserver_url = \"{}/good\"\n[[reporter.generator]]\nwasm = {:?}\n",
        receiver.url(),
        common::generator("buildbot-json").to_str().unwrap()
    ));
    let file = dir.path().join("wasmpush.toml");
    std::fs::write(&file, cfg).unwrap();
    let out = wasmpush(&["run", file.to_str().unwrap(), "--settle", "10s"], dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains(&format!("generator-failures {}", failing.len())), "{stdout}\n{stderr}");
    for (mode, limit) in failing {
        let line = stderr
            .lines()
            .find(|l| l.contains(&format!("generator hostile-{mode}: ")))
            .unwrap_or_else(|| panic!("no error line for {mode}:\n{stderr}"));
        assert!(line.contains(limit), "{mode}: expected {limit:?} in {line}");
    }
    let received: Vec<String> = receiver.received().iter().map(|r| r.path.clone()).collect();
    for path in ["/good"].into_iter().chain(chatty.map(|m| match m {
        "stdout-spam" => "/stdout-spam",
        "empty-log-spam" => "/empty-log-spam",
        _ => "/log-spam",
    })) {
        assert!(received.iter().any(|p| p == path), "{path} not delivered: {received:?}\n{stderr}");
    }
    assert_eq!(received.len(), 1 + chatty.len(), "nothing from a failed generator is sent: {received:?}");
    // 1.3 million lines were attempted; max_log (64 KiB each for log calls,
    // stdout and stderr) keeps a few thousand.
    assert!(stderr.lines().count() < 10_000, "guest floods stay bounded: {} lines", stderr.lines().count());
}

/// The packaged systemd unit passes `systemd-analyze verify`, and `run`
/// speaks its `Type=notify` protocol: READY=1 once the relay accepts events
/// (a POST right after it is stored), STOPPING=1 on SIGTERM, clean exit.
#[test]
fn systemd_unit_verifies_and_run_notifies_ready_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(common::repo().join("packaging/wasmpush.service")).unwrap();
    let unit = unit.replace("/usr/local/bin/wasmpush", env!("CARGO_BIN_EXE_wasmpush"));
    let unit_path = dir.path().join("wasmpush.service");
    std::fs::write(&unit_path, unit).unwrap();
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit_path)
        .output()
        .expect("systemd-analyze (scripts/test.sh installs it)");
    let said = String::from_utf8_lossy(&verify.stderr).into_owned() + &String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success() && !said.contains("wasmpush.service"), "systemd-analyze verify: {said}");

    let socket_path = dir.path().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(std::time::Duration::from_secs(120))).unwrap();
    let (relay, target) = (common::free_port(), common::free_port());
    let config = common::relay_config(dir.path(), relay, target, "1h", false);
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmpush"))
        .args(["run", config.to_str().unwrap(), "--settle", "1s"])
        .env("NOTIFY_SOCKET", &socket_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).expect("READY=1 within 120 s");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("READY=1"), "{}", String::from_utf8_lossy(&buf[..n]));
    assert_eq!(
        common::post(relay, "/buildbot/build-finished", &common::build_body(7)),
        Some(200),
        "ready means accepting"
    );
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let n = socket.recv(&mut buf).expect("STOPPING=1 after SIGTERM");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1"));
    assert!(child.wait().unwrap().success());
}

/// A source that stops (here a Buildbot source whose cursor file is
/// garbage) stops the whole process with a non-zero exit and one line
/// naming it, even though the relay beside it could go on: a supervisor
/// restarts it instead of it idling without that source.
#[test]
fn a_source_that_stops_ends_the_process_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cursor.json"), "not a cursor").unwrap();
    let (relay, target) = (common::free_port(), common::free_port());
    let config = common::relay_config(dir.path(), relay, target, "1h", false);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.insert_str(
        0,
        "[[source]]\ntype = \"buildbot\"\nurl = \"http://127.0.0.1:9/\"\nstate_file = \"cursor.json\"\n",
    );
    std::fs::write(&config, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmpush"))
        .args(["run", config.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > std::time::Duration::from_secs(120) {
            let _ = child.kill();
            panic!("wasmpush idled on after its buildbot source stopped");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "exit status {status}: {stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.contains("buildbot source stopped") && last.contains("cursor.json"), "{stderr}");
}

#[test]
fn a_relay_that_cannot_listen_ends_the_process_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let relay = taken.local_addr().unwrap().port();
    let config = common::relay_config(dir.path(), relay, common::free_port(), "1h", false);
    let out = Command::new(env!("CARGO_BIN_EXE_wasmpush"))
        .args(["run", config.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "exit status {}: {stderr}", out.status);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.contains("relay") && last.contains(&format!("127.0.0.1:{relay}")), "{stderr}");
}

#[test]
fn completions_and_man_pages_come_from_the_command_line_itself() {
    let dir = tempfile::tempdir().unwrap();
    let out = wasmpush(&["completions", "bash"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.contains("_wasmpush()") && script.contains("complete -F _wasmpush"), "{script}");
    for sub in ["render", "check", "run", "outbox", "completions", "man", "--log-format"] {
        assert!(script.contains(sub), "bash completion lacks {sub}");
    }
    for (shell, mark) in [
        ("zsh", "#compdef wasmpush"),
        ("fish", "complete -c wasmpush"),
        ("elvish", "wasmpush"),
        ("powershell", "wasmpush"),
    ] {
        let out = wasmpush(&["completions", shell], dir.path());
        assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains(mark), "{shell}");
    }
    let out = wasmpush(&["completions", "tcsh"], dir.path());
    assert!(!out.status.success(), "an unknown shell is refused");

    let out = wasmpush(&["man"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH wasmpush 1") && page.contains(".SH SUBCOMMANDS") && page.contains("render"), "{page}");
    let out = wasmpush(&["man", "run"], dir.path());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH wasmpush-run 1") && page.contains("watch\\-interval"), "{page}");
    let out = wasmpush(&["man", "nonesuch"], dir.path());
    assert!(!out.status.success());
    let pages = dir.path().join("man1");
    let out = wasmpush(&["man", "--dir", pages.to_str().unwrap()], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for page in ["wasmpush.1", "wasmpush-render.1", "wasmpush-outbox.1", "wasmpush-man.1"] {
        assert!(pages.join(page).is_file(), "{page}");
    }
}

/// `--log-format json`: every log line is one JSON object (what a log
/// shipper parses), the event's fields at its top level; the command's
/// own output on stdout is unchanged.
#[test]
fn log_format_json_makes_every_log_line_a_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let receiver = rt.block_on(wasmpush_testkit::Receiver::start()).unwrap();
    let (payload, _) = payload_file(dir.path(), "082.json");
    let cfg = dir.path().join("wasmpush.toml");
    std::fs::write(
        &cfg,
        format!(
            "[outbox]\npath = \"outbox.redb\"\n[[source]]\ntype = \"replay\"\npath = {:?}\n\
             [[reporter]]\nname = \"r\"\nserver_url = \"{}/hooks\"\n[[reporter.generator]]\nwasm = {:?}\n",
            payload.to_str().unwrap(),
            receiver.url(),
            common::generator("buildbot-json").to_str().unwrap()
        ),
    )
    .unwrap();
    let out = wasmpush(&["--log-format", "json", "run", cfg.to_str().unwrap(), "--settle", "10s"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("events 1 reports 1 "), "stdout stays plain text");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}")))
        .collect();
    assert!(lines.iter().all(|l| l["timestamp"].is_string() && l["level"].is_string()), "{stderr}");
    let finished = lines.iter().find(|l| l["message"] == "sources finished").unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(finished["level"], "INFO");
    assert_eq!(finished["events"], 1, "fields are top-level keys: {finished}");
    assert_eq!(finished["sent"], 1, "{finished}");

    // The global flag goes anywhere on the line; the default stays text.
    let out = wasmpush(&["run", cfg.to_str().unwrap(), "--settle", "10s", "--log-format", "json"], dir.path());
    assert!(String::from_utf8_lossy(&out.stderr).lines().all(|l| l.starts_with('{')));
    let out = wasmpush(&["run", cfg.to_str().unwrap(), "--settle", "10s"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sources finished") && !stderr.lines().any(|l| l.starts_with('{')), "{stderr}");
}

/// `render --payload FOLDER`: every `*.json` in name order, each body after a
/// `==> NAME <==` line; a bad payload is named and fails the command, the
/// others are still rendered. No progress bar when stderr is not a terminal.
#[test]
fn render_a_folder_of_payloads_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let payloads = dir.path().join("payloads");
    std::fs::create_dir(&payloads).unwrap();
    let (_, raw82) = payload_file(&payloads, "082.json");
    let (_, raw29) = payload_file(&payloads, "029.json");
    std::fs::write(payloads.join("notes.txt"), "not a payload").unwrap();
    let json = common::generator("buildbot-json");
    let args = [
        "render",
        "--generator",
        json.to_str().unwrap(),
        "--event",
        "build-finished",
        "--payload",
        payloads.to_str().unwrap(),
    ];
    let body = |raw: &str| if raw.ends_with('\n') { raw.to_string() } else { format!("{raw}\n") };
    let expected = format!("==> 029.json <==\n{}==> 082.json <==\n{}", body(&raw29), body(&raw82));
    let out = wasmpush(&args, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
    assert!(stderr.contains("029.json: content-type: application/json"), "{stderr}");
    assert!(stderr.contains("082.json: content-type: application/json"), "{stderr}");
    assert!(!stderr.contains('\r') && !stderr.contains("\u{1b}["), "no progress bar off a terminal: {stderr:?}");

    std::fs::write(payloads.join("bad.json"), "{\"buildid\": ").unwrap();
    let out = wasmpush(&args, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected, "the good payloads are still rendered");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 2, "{stderr}");
    assert!(errors[0].starts_with("error: bad.json: payload ") && errors[0].contains("is not valid JSON"), "{stderr}");
    assert_eq!(errors[1], "error: 1 of 3 payloads failed");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = wasmpush(&[&args[..6], &[empty.to_str().unwrap()]].concat(), dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no *.json file"));
}
