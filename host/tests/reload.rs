//! Hot reload under load: while a replay of 2,000 events runs, the generator
//! set is swapped twice, once for a good version and once for a broken one.
//! The generator is the Python example (a few milliseconds per event), so the
//! replay lasts seconds while a reload takes milliseconds.
//! Every event gets exactly one report, each from the version that was live
//! when its generation started, and the broken version never goes live.

mod common;

use std::collections::HashMap;
use std::time::Duration;
use wasmpush::config::Config;
use wasmpush::service::Service;
use wasmpush_testkit::Receiver;

const N: usize = 2000;

fn write_config(dir: &std::path::Path, receiver: &str, wasm: &std::path::Path, version: &str) -> std::path::PathBuf {
    let text = format!(
        "[[source]]\ntype = \"replay\"\npath = \"events.jsonl\"\n[outbox]\npath = \"outbox.redb\"\n[runtime]\ncache_dir = \"cache\"\nworkers = 1\n\
         [[reporter]]\nname = \"chat\"\nserver_url = \"{receiver}/chat\"\n\
         [[reporter.generator]]\nwasm = {:?}\nmode = \"all\"\nsettings = {{ stream = \"{version}\" }}\n",
        wasm.to_str().unwrap()
    );
    let p = dir.join("wasmpush.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn swap_twice_under_load_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let capture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("tests/fixtures/buildbot-4.3.0/captures/082.json")).unwrap(),
    )
    .unwrap();
    let base: serde_json::Value = serde_json::from_str(capture["body_raw"].as_str().unwrap()).unwrap();
    let mut events = String::new();
    for i in 0..N {
        let mut b = base.clone();
        b["buildid"] = i.into();
        b["number"] = i.into();
        b["buildrequestid"] = i.into();
        events.push_str(&serde_json::json!({"kind": "build-finished", "payload": b}).to_string());
        events.push('\n');
    }
    std::fs::write(dir.path().join("events.jsonl"), events).unwrap();
    let broken = dir.path().join("broken.wasm");
    std::fs::write(&broken, b"\0asm\x0d\0\x01\0 a broken build of the generator").unwrap();
    let chat = common::generator("python-zulip");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let receiver = Receiver::start().await.unwrap();
        let path = write_config(dir.path(), &receiver.url(), &chat, "v1");
        let service = std::sync::Arc::new(Service::start(&Config::load(&path).unwrap()).await.unwrap());
        // Its own task, as in `wasmpush run`: the event loop blocks while the
        // worker is busy.
        let s = service.clone();
        let (d, url, chat, broken) = (dir.path().to_path_buf(), receiver.url(), chat.clone(), broken.clone());
        let reloader = tokio::spawn(async move {
            let service = s;
            let dir = d.as_path();
            let wait_for = |n: u64| {
                let delivery = service.delivery.clone();
                async move {
                    while delivery.stats().enqueued < n {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            };
            wait_for(200).await;
            let good = Config::load(&write_config(dir, &url, &chat, "v2")).unwrap();
            service.reload(&good).await.expect("the good version goes live");
            wait_for(600).await;
            let bad = Config::load(&write_config(dir, &url, &broken, "v3")).unwrap();
            let err = service.reload(&bad).await.expect_err("the broken version is refused").to_string();
            assert!(err.contains("broken.wasm") && err.contains("not a valid WebAssembly component"), "{err}");
        });
        let summary = service.run(std::future::pending(), Duration::from_secs(60)).await.unwrap();
        reloader.await.expect("the reloader's checks hold");
        assert_eq!(summary.events, N as u64);
        assert_eq!(receiver.wait_for(N, Duration::from_secs(30)).await, N);

        let mut by_number: HashMap<u64, String> = HashMap::new();
        for r in receiver.received() {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            let version = body["to"].as_str().unwrap().to_string();
            let number: u64 = body["content"]
                .as_str()
                .unwrap()
                .split("build #")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(by_number.insert(number, version).is_none(), "build {number} reported twice");
        }
        assert_eq!(by_number.len(), N, "every event got exactly one report");
        let versions: Vec<&str> = (0..N as u64).map(|n| by_number[&n].as_str()).collect();
        let v1 = versions.iter().filter(|v| **v == "v1").count();
        let v2 = versions.iter().filter(|v| **v == "v2").count();
        assert_eq!(v1 + v2, N, "only v1 and v2 ever ran: {:?}", versions.iter().find(|v| **v != "v1" && **v != "v2"));
        assert!(v1 >= 200 && v2 >= 1000, "both versions reported (v1 {v1}, v2 {v2})");
        // One worker: events are generated in order, so the live version can
        // only move forward.
        let first_v2 = versions.iter().position(|v| *v == "v2").unwrap();
        assert!(versions[first_v2..].iter().all(|v| *v == "v2"), "a v1 report after v2 went live");
        println!("{N} events: {v1} reports from v1, {v2} from v2, 0 from the broken version, 0 lost, 0 doubled");
    });
}

/// The running binary: SIGHUP reloads a good version at once; a broken one
/// is refused with a reason and the previous version keeps reporting.
#[test]
fn sighup_reloads_the_running_binary_and_refuses_a_broken_version() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let receiver = rt.block_on(Receiver::start()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let chat = common::generator("chat-message");
    let broken = dir.path().join("broken.wasm");
    std::fs::write(&broken, b"not wasm at all").unwrap();
    let cfg = dir.path().join("wasmpush.toml");
    let write = |wasm: &std::path::Path, version: &str| {
        std::fs::write(
            &cfg,
            format!(
                "[[source]]\ntype = \"relay\"\nlisten = \"127.0.0.1:{port}\"\nauth = {{ type = \"none\" }}\n[outbox]\npath = \"outbox.redb\"\n\
                 [[reporter]]\nname = \"chat\"\nserver_url = \"{}/chat\"\n[[reporter.generator]]\nwasm = {:?}\nmode = \"all\"\nsettings = {{ prefix = \"{version}\" }}\n",
                receiver.url(),
                wasm.to_str().unwrap()
            ),
        )
        .unwrap()
    };
    write(&chat, "v1");
    /// Kills the service whatever the test's outcome.
    struct Guard(std::process::Child);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Guard(
        std::process::Command::new(env!("CARGO_BIN_EXE_wasmpush"))
            .args(["run", cfg.to_str().unwrap(), "--watch-interval", "1h"])
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (line_tx, lines) = std::sync::mpsc::channel::<String>();
    let stderr = child.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = line_tx.send(line);
        }
    });
    let wait_line = |needle: &str| -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let line = lines
                .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
                .unwrap_or_else(|_| panic!("no log line with {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    };
    wait_line("relay listening");
    let capture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("tests/fixtures/buildbot-4.3.0/captures/082.json")).unwrap(),
    )
    .unwrap();
    let mut body: serde_json::Value = serde_json::from_str(capture["body_raw"].as_str().unwrap()).unwrap();
    let post = |number: i64, body: &mut serde_json::Value| {
        body["buildid"] = number.into();
        body["number"] = number.into();
        let out = std::process::Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "20",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                "@-",
            ])
            .arg(format!("http://127.0.0.1:{port}/relay"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(body.to_string().as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with('2'),
            "relay answered {}",
            String::from_utf8_lossy(&out.stdout)
        );
    };
    let pid = child.0.id().to_string();
    let hup = || assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());

    post(1, &mut body);
    rt.block_on(receiver.wait_for(1, Duration::from_secs(20)));
    write(&chat, "v2");
    hup();
    wait_line("reloaded generators");
    post(2, &mut body);
    rt.block_on(receiver.wait_for(2, Duration::from_secs(20)));
    write(&broken, "v3");
    hup();
    let refused = wait_line("reload refused");
    assert!(refused.contains("broken.wasm") && refused.contains("previous generators stay live"), "{refused}");
    post(3, &mut body);
    assert_eq!(rt.block_on(receiver.wait_for(3, Duration::from_secs(20))), 3);
    // SIGTERM: a graceful stop, in bounded time.
    let _ = std::process::Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.0.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "wasmpush did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut texts: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["text"].as_str().unwrap().to_string())
        .collect();
    texts
        .sort_by_key(|t| t.split("build #").nth(1).unwrap().split_whitespace().next().unwrap().parse::<u32>().unwrap());
    let versions: Vec<&str> = texts.iter().map(|t| t.split_whitespace().next().unwrap()).collect();
    assert_eq!(versions, ["v1", "v2", "v2"], "{texts:?}");
}
