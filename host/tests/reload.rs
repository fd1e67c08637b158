//! Hot reload under load: while a replay of 2,000 events runs, the generator
//! set is swapped twice, once for a good version and once for a broken one.
//! Every event gets exactly one report, each from the version that was live
//! when its generation started, and the broken version never goes live.

mod common;

use std::collections::HashMap;
use std::time::Duration;
use wasmpush::config::Config;
use wasmpush::receiver::Receiver;
use wasmpush::service::Service;

const N: usize = 2000;

fn write_config(dir: &std::path::Path, receiver: &str, wasm: &std::path::Path, version: &str) -> std::path::PathBuf {
    let text = format!(
        "[[source]]\ntype = \"replay\"\npath = \"events.jsonl\"\n[outbox]\npath = \"outbox.redb\"\n[runtime]\ncache_dir = \"cache\"\nworkers = 1\n\
         [[reporter]]\nname = \"chat\"\nserver_url = \"{receiver}/chat\"\n\
         [[reporter.generator]]\nwasm = {:?}\nmode = \"all\"\nsettings = {{ prefix = \"{version}\" }}\n",
        wasm.to_str().unwrap()
    );
    let p = dir.join("wasmpush.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn swap_twice_under_load_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let capture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(common::repo().join("tests/fixtures/buildbot-4.3.0/captures/082.json")).unwrap()).unwrap();
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
    let chat = common::generator("chat-message");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let receiver = Receiver::start().await.unwrap();
        let path = write_config(dir.path(), &receiver.url(), &chat, "v1");
        let service = Service::start(&Config::load(&path).unwrap()).await.unwrap();
        let reloader = async {
            let wait_for = |n: u64| {
                let delivery = service.delivery.clone();
                async move {
                    while delivery.stats().enqueued < n {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            };
            wait_for(300).await;
            let good = Config::load(&write_config(dir.path(), &receiver.url(), &chat, "v2")).unwrap();
            service.reload(&good).expect("the good version goes live");
            wait_for(900).await;
            let bad = Config::load(&write_config(dir.path(), &receiver.url(), &broken, "v3")).unwrap();
            let err = service.reload(&bad).expect_err("the broken version is refused").to_string();
            assert!(err.contains("broken.wasm") && err.contains("not a valid WebAssembly component"), "{err}");
        };
        let (summary, ()) = tokio::join!(service.run(std::future::pending(), Duration::from_secs(60)), reloader);
        let summary = summary.unwrap();
        assert_eq!(summary.events, N as u64);
        assert_eq!(receiver.wait_for(N, Duration::from_secs(30)).await, N);

        let mut by_number: HashMap<u64, String> = HashMap::new();
        for r in receiver.received() {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            let text = body["text"].as_str().unwrap();
            let version = text.split_whitespace().next().unwrap().to_string();
            let number: u64 = text.split("build #").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
            assert!(by_number.insert(number, version).is_none(), "build {number} reported twice");
        }
        assert_eq!(by_number.len(), N, "every event got exactly one report");
        let versions: Vec<&str> = (0..N as u64).map(|n| by_number[&n].as_str()).collect();
        let v1 = versions.iter().filter(|v| **v == "v1").count();
        let v2 = versions.iter().filter(|v| **v == "v2").count();
        assert_eq!(v1 + v2, N, "only v1 and v2 ever ran: {:?}", versions.iter().find(|v| **v != "v1" && **v != "v2"));
        assert!(v1 >= 300 && v2 >= 1, "both versions reported (v1 {v1}, v2 {v2})");
        // One worker: events are generated in order, so the live version can
        // only move forward.
        let first_v2 = versions.iter().position(|v| *v == "v2").unwrap();
        assert!(versions[first_v2..].iter().all(|v| *v == "v2"), "a v1 report after v2 went live");
        println!("{N} events: {v1} reports from v1, {v2} from v2, 0 from the broken version, 0 lost, 0 doubled");
    });
}
