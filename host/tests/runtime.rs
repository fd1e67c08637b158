//! The sandbox and limits, against real components compiled from source
//! (examples/hostile, examples/buildbot-json).

mod common;

use std::time::{Duration, Instant};
use wasmpush::runtime::{CacheOutcome, Cause, GenerateError, Generator, Limits, LoadError, Runtime, RuntimeOptions};
use wasmpush_sources::EventKind;

const PAYLOAD: &str = r#"{"buildid": 1, "number": 1, "builderid": 1, "results": 0, "complete": true}"#;

fn runtime() -> Runtime {
    Runtime::new(&RuntimeOptions::default()).unwrap()
}

fn limits() -> Limits {
    Limits { timeout: Duration::from_millis(300), ..Limits::default() }
}

fn hostile(rt: &Runtime) -> Generator {
    rt.load(&common::generator("hostile"), Some("hostile"), limits()).unwrap()
}

fn run_mode(g: &Generator, mode: &str) -> Result<Option<wasmpush::runtime::Report>, GenerateError> {
    g.generate(EventKind::BuildFinished, PAYLOAD, &[("mode".into(), mode.into())])
}

fn cause(g: &Generator, mode: &str) -> Cause {
    match run_mode(g, mode) {
        Err(e) => {
            assert_eq!(e.generator, "hostile");
            assert!(e.to_string().starts_with("generator hostile: "), "{e}");
            e.cause
        }
        Ok(r) => panic!("mode {mode}: expected a failure, got {r:?}"),
    }
}

#[test]
fn infinite_loop_hits_the_time_limit() {
    let rt = runtime();
    let g = hostile(&rt);
    let start = Instant::now();
    let c = cause(&g, "loop");
    assert!(matches!(c, Cause::Timeout { .. }), "{c}");
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    assert_eq!(c.to_string(), "ran out of time (limit 300ms)");
}

#[test]
fn unbounded_allocation_hits_the_memory_limit() {
    let rt = runtime();
    let g = rt.load(&common::generator("hostile"), Some("hostile"), Limits { memory: 32 << 20, ..limits() }).unwrap();
    let c = cause(&g, "alloc");
    assert!(matches!(c, Cause::Memory { limit } if limit == 32 << 20), "{c}");
}

#[test]
fn unbounded_recursion_is_contained() {
    let rt = runtime();
    let c = cause(&hostile(&rt), "recurse");
    assert!(matches!(c, Cause::Stack) || c.to_string().contains("recursion"), "{c}");
}

#[test]
fn panic_message_reaches_the_error() {
    let rt = runtime();
    let c = cause(&hostile(&rt), "panic");
    assert_eq!(c.to_string(), "panicked: hostile generator panicked on purpose");
}

#[test]
fn guest_errors_and_exit_are_reported() {
    let rt = runtime();
    let g = hostile(&rt);
    assert_eq!(cause(&g, "error").to_string(), "returned an error: hostile generator returned an error on purpose");
    assert!(matches!(cause(&g, "exit"), Cause::Exit { .. }));
}

#[test]
fn oversized_output_is_refused() {
    let rt = runtime();
    let c = cause(&hostile(&rt), "big-output");
    // The body plus its content type ("text/plain").
    assert!(matches!(c, Cause::OutputTooLarge { size, limit } if size == (8 << 20) + 10 && limit == 1 << 20), "{c}");
}

#[test]
fn headers_count_against_the_output_limits() {
    let rt = runtime();
    let g = hostile(&rt);
    let c = cause(&g, "many-headers");
    assert!(matches!(c, Cause::TooManyHeaders { count: 100, limit: 64 }), "{c}");
    let c = cause(&g, "big-headers");
    assert!(matches!(c, Cause::HeadersTooLarge { limit, .. } if limit == 16 << 10), "{c}");
    // The body alone is under max_output; with its headers it is not.
    let c = cause(&g, "big-report");
    assert!(matches!(c, Cause::OutputTooLarge { size, limit } if size > limit && limit == 1 << 20), "{c}");
    assert!(c.to_string().contains("max_output"), "{c}");
    let roomy = Limits { max_headers: 128, max_header_bytes: 64 << 10, max_output: 2 << 20, ..limits() };
    let g = rt.load(&common::generator("hostile"), Some("hostile"), roomy).unwrap();
    for mode in ["many-headers", "big-headers", "big-report"] {
        assert!(run_mode(&g, mode).unwrap().is_some(), "{mode} fits configured limits");
    }
}

#[test]
fn many_memories_cannot_multiply_the_memory_limit() {
    // 200 core instances, each with a 64 MiB memory its start function fills.
    let many = common::generator("wat-many-memories");
    let e = runtime().load(&many, Some("many"), limits()).err().expect("refused by the pooling allocator");
    let text = e.to_string();
    assert!(text.contains(&many.display().to_string()) && text.contains("core module instances"), "{text}");
    // Without pooling, the limit counts every memory of the instance: the
    // second 64 MiB memory is refused at instantiation (load runs describe).
    let unpooled = Runtime::new(&RuntimeOptions { pooling: false, ..RuntimeOptions::default() }).unwrap();
    let e = unpooled.load(&many, Some("many"), limits()).err().expect("refused at instantiation");
    let text = e.to_string();
    assert!(text.contains(&many.display().to_string()) && text.contains("memory limit of 67108864 bytes"), "{text}");
    // A well-behaved generator still loads and runs on either engine.
    for rt in [runtime(), unpooled] {
        let good = rt.load(&common::generator("buildbot-json"), None, limits()).unwrap();
        assert!(good.generate(EventKind::BuildFinished, PAYLOAD, &[]).unwrap().is_some());
    }
}

#[test]
fn sandbox_grants_no_files_env_or_sockets() {
    let rt = runtime();
    let g = hostile(&rt);
    for (mode, expect) in [
        ("read-file", "sandbox denied reading /etc/passwd"),
        ("read-env", "sandbox gave no environment variables"),
        ("socket", "sandbox denied a TCP connection"),
    ] {
        let c = cause(&g, mode);
        assert!(matches!(&c, Cause::Guest { message } if message.starts_with(expect)), "{mode}: {c}");
    }
}

#[test]
fn log_and_output_floods_are_bounded() {
    let rt = runtime();
    let g = rt
        .load(&common::generator("hostile"), Some("hostile"), Limits { timeout: Duration::from_secs(10), ..limits() })
        .unwrap();
    let r = run_mode(&g, "log-spam").unwrap().unwrap();
    assert_eq!(r.body, b"logged a lot");
    // Output over the budget is dropped, never a trap: the report survives.
    let r = run_mode(&g, "stdout-spam").unwrap().expect("a chatty generator keeps its report");
    assert_eq!(r.body, b"printed a lot");
    // Empty log lines cost a minimum each, so a million of them end quickly.
    let r = run_mode(&g, "empty-log-spam").unwrap().expect("the report survives");
    assert_eq!(r.body, b"logged nothing, often");
}

#[test]
fn a_well_behaved_generator_still_works_after_every_hostile_one() {
    let rt = runtime();
    let bad = hostile(&rt);
    let good = rt.load(&common::generator("buildbot-json"), None, limits()).unwrap();
    for mode in ["loop", "alloc", "recurse", "panic", "big-output", "exit"] {
        assert!(run_mode(&bad, mode).is_err(), "{mode}");
        let r = good.generate(EventKind::BuildFinished, PAYLOAD, &[]).unwrap().unwrap();
        assert_eq!(r.body, PAYLOAD.as_bytes(), "after {mode}");
    }
}

#[test]
fn every_event_gets_a_fresh_instance() {
    // The hostile generator in harmless mode keeps no state; buildbot-json
    // would show leftovers if memory survived between calls. Run two
    // different payloads alternately and check each output is exact.
    let rt = runtime();
    let good = rt.load(&common::generator("buildbot-json"), None, limits()).unwrap();
    let other = r#"{"buildid": 2, "number": 9}"#;
    for _ in 0..3 {
        assert_eq!(good.generate(EventKind::BuildNew, PAYLOAD, &[]).unwrap().unwrap().body, PAYLOAD.as_bytes());
        assert_eq!(good.generate(EventKind::BuildNew, other, &[]).unwrap().unwrap().body, other.as_bytes());
    }
}

#[test]
fn describe_is_read_at_load() {
    let rt = runtime();
    let g = rt.load(&common::generator("buildbot-json"), None, limits()).unwrap();
    assert_eq!(g.name(), "buildbot-json");
    assert_eq!(g.info().events, [EventKind::BuildNew, EventKind::BuildFinished, EventKind::BuildsetComplete]);
    assert!(g.info().needs.properties);
    let chat = rt.load(&common::generator("chat-message"), Some("team-chat"), limits()).unwrap();
    assert_eq!(chat.name(), "team-chat");
    assert_eq!(chat.info().name, "chat-message");
    assert!(!chat.wants(EventKind::BuildNew));
}

#[test]
fn second_start_uses_the_compiled_cache() {
    let dir = tempfile::tempdir().unwrap();
    let opts = RuntimeOptions { cache_dir: Some(dir.path().join("cache")), ..RuntimeOptions::default() };
    let first = Runtime::new(&opts).unwrap().load(&common::generator("buildbot-json"), None, limits()).unwrap();
    assert_eq!(first.origin(), CacheOutcome::Compiled);
    let entries: Vec<_> = std::fs::read_dir(dir.path().join("cache")).unwrap().collect();
    assert_eq!(entries.len(), 1, "one compiled entry written");
    let rt = Runtime::new(&opts).unwrap();
    let second = rt.load(&common::generator("buildbot-json"), None, limits()).unwrap();
    assert_eq!(second.origin(), CacheOutcome::Cached);
    assert_eq!(second.generate(EventKind::BuildNew, PAYLOAD, &[]).unwrap().unwrap().body, PAYLOAD.as_bytes());
    // An entry someone else could have written is never loaded.
    use std::os::unix::fs::PermissionsExt;
    let entry = std::fs::read_dir(dir.path().join("cache")).unwrap().next().unwrap().unwrap().path();
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).unwrap();
    let third = rt.load(&common::generator("buildbot-json"), None, limits()).unwrap();
    assert_eq!(third.origin(), CacheOutcome::Compiled);
}

#[test]
fn malformed_wasm_and_wrong_world_are_clear_load_errors() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm not really").unwrap();
    let e = rt.load(&junk, None, limits()).err().unwrap();
    assert!(matches!(e, LoadError::Invalid { .. }), "{e}");
    assert!(
        e.to_string().starts_with(&format!("generator {}: not a valid WebAssembly component", junk.display())),
        "{e}"
    );

    let empty = dir.path().join("empty.wasm");
    std::fs::write(&empty, wat::parse_str("(component)").unwrap()).unwrap();
    let e = rt.load(&empty, None, limits()).err().unwrap();
    assert!(matches!(e, LoadError::WrongWorld { .. }), "{e}");
    assert!(e.to_string().contains("does not implement the wasmpush:plugin/generator world"), "{e}");

    let core = dir.path().join("core.wasm");
    std::fs::write(&core, wat::parse_str("(module)").unwrap()).unwrap();
    assert!(matches!(rt.load(&core, None, limits()).err().unwrap(), LoadError::Invalid { .. }));

    let missing = dir.path().join("missing.wasm");
    let e = rt.load(&missing, None, limits()).err().unwrap();
    assert!(e.to_string().starts_with(&format!("generator {}: cannot read the file", missing.display())), "{e}");
}

#[test]
fn malformed_payload_is_the_generators_error_not_a_crash() {
    let rt = runtime();
    let g = rt.load(&common::generator("buildbot-json"), None, limits()).unwrap();
    let e = g.generate(EventKind::BuildNew, "{not json", &[]).unwrap_err();
    assert!(matches!(&e.cause, Cause::Guest { message } if message.starts_with("payload is not valid JSON")), "{e}");
    let chat = rt.load(&common::generator("chat-message"), None, limits()).unwrap();
    let e = chat.generate(EventKind::BuildFinished, r#"{"buildid": "one"}"#, &[]).unwrap_err();
    assert!(
        e.to_string().starts_with("generator chat-message: returned an error: payload is not a Buildbot build"),
        "{e}"
    );
}
