//! Against a real OCI registry (Debian's docker-registry on 127.0.0.1):
//! push, pull by tag and by digest, offline reuse after the registry is
//! stopped, tag moves, and digest mismatches refused.

mod common;

use common::{Registry, component};
use wasmpush_distribute::{
    AcquireError, FetchError, FetchOptions, FetchedFrom, Freshness, GeneratorSource, LoadPolicy, Sha256, Store,
    acquire, fetch, publish, pull,
};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    (dir, store)
}

#[tokio::test]
async fn push_then_pull_by_tag_and_by_digest() {
    let reg = Registry::start();
    let opts = reg.options();
    let wasm = component("buildbot-json");
    let target = reg.reference("team/buildbot-json:v1");

    let t = std::time::Instant::now();
    let pushed = publish(None, &wasm, &target, &opts).await.unwrap();
    eprintln!("timing: push of {} bytes took {:?}", wasm.len(), t.elapsed());
    assert_eq!(pushed.component, Sha256::of(&wasm));
    assert_eq!(pushed.by_digest.digest(), Some(pushed.manifest));

    // The registry holds a Wasm OCI artifact in the shared convention.
    let m = reg.raw_manifest("team/buildbot-json", "v1").await;
    assert_eq!(m["config"]["mediaType"], "application/vnd.wasm.config.v0+json");
    assert_eq!(m["layers"].as_array().unwrap().len(), 1);
    assert_eq!(m["layers"][0]["mediaType"], "application/wasm");
    assert_eq!(m["layers"][0]["digest"], pushed.component.to_string());
    assert!(reg.blob_file(&pushed.component.hex()).is_file());

    // Pushing the same file again is reproducible: same manifest digest.
    let again = publish(None, &wasm, &target, &opts).await.unwrap();
    assert_eq!(again.manifest, pushed.manifest);

    // Pull by tag into an empty store.
    let (_d1, s1) = store();
    let f = pull(&s1, &target, &opts).await.unwrap();
    assert_eq!(f.bytes, wasm);
    assert_eq!(f.sha256, pushed.component);
    assert_eq!(f.origin, FetchedFrom::Network);
    assert_eq!(f.resolved.as_deref(), Some(pushed.by_digest.to_string().as_str()));
    assert_eq!(std::fs::read(s1.blob_path(&f.sha256)).unwrap(), wasm, "stored content-addressed");

    // Pull by digest into another empty store.
    let (_d2, s2) = store();
    let f = pull(&s2, &pushed.by_digest, &opts).await.unwrap();
    assert_eq!(f.bytes, wasm);
    assert_eq!(f.origin, FetchedFrom::Network);

    // The same through the config-level source syntax.
    let (_d3, s3) = store();
    let src = GeneratorSource::parse(&format!("oci://{}/team/buildbot-json@{}", reg.addr, pushed.manifest)).unwrap();
    let f =
        acquire(&s3, &src, &LoadPolicy { sha256: Some(pushed.component), trusted_keys: None }, &opts).await.unwrap();
    assert_eq!(f.sha256, pushed.component);
}

#[tokio::test]
async fn offline_reuse_after_the_registry_is_stopped() {
    let mut reg = Registry::start();
    let opts = reg.options();
    let wasm = component("chat-message");
    let target = reg.reference("team/chat:stable");
    let pushed = publish(None, &wasm, &target, &opts).await.unwrap();

    let (_d, s) = store();
    let by_tag = GeneratorSource::Oci(target.clone());
    let first = fetch(&s, &by_tag, &opts).await.unwrap();
    assert_eq!(first.origin, FetchedFrom::Network);
    let by_digest = GeneratorSource::Oci(pushed.by_digest.clone());
    // A digest reference already known is served from the store, no network.
    assert_eq!(fetch(&s, &by_digest, &opts).await.unwrap().origin, FetchedFrom::Store);

    reg.stop();

    // Refresh: the registry is unreachable, the last resolution is reused.
    let f = fetch(&s, &by_tag, &opts).await.unwrap();
    assert_eq!((f.origin, f.sha256), (FetchedFrom::Store, pushed.component));
    assert_eq!(f.bytes, wasm);
    assert_eq!(f.resolved.as_deref(), Some(pushed.by_digest.to_string().as_str()));
    // Explicitly offline, by tag and by digest, and pinned.
    let offline = FetchOptions { freshness: Freshness::Offline, ..opts.clone() };
    assert_eq!(fetch(&s, &by_tag, &offline).await.unwrap().sha256, pushed.component);
    assert_eq!(fetch(&s, &by_digest, &offline).await.unwrap().sha256, pushed.component);
    let pinned = LoadPolicy { sha256: Some(pushed.component), trusted_keys: None };
    assert_eq!(acquire(&s, &by_tag, &pinned, &opts).await.unwrap().origin, FetchedFrom::Store);

    // A store that never saw it: a clear error naming the reference.
    let (_d2, empty) = store();
    let e = fetch(&empty, &by_tag, &opts).await.unwrap_err();
    assert!(matches!(e, FetchError::Unreachable { .. }), "{e}");
    let msg = e.to_string();
    eprintln!("refused: {msg}");
    assert!(msg.contains("team/chat:stable") && msg.contains("no copy"), "{msg}");
    let e = fetch(&empty, &by_tag, &offline).await.unwrap_err();
    assert!(matches!(e, FetchError::NotCached { .. }), "{e}");
}

#[tokio::test]
async fn a_tag_is_resolved_to_a_digest_and_moves_only_on_refresh() {
    let reg = Registry::start();
    let opts = reg.options();
    let (a, b) = (component("buildbot-json"), component("chat-message"));
    let target = reg.reference("team/fmt:latest");
    let pa = publish(None, &a, &target, &opts).await.unwrap();

    let (_d, s) = store();
    let src = GeneratorSource::Oci(target.clone());
    assert_eq!(fetch(&s, &src, &opts).await.unwrap().sha256, pa.component);

    let pb = publish(None, &b, &target, &opts).await.unwrap();
    assert_ne!(pa.manifest, pb.manifest);
    let cached = FetchOptions { freshness: Freshness::PreferCache, ..opts.clone() };
    let f = fetch(&s, &src, &cached).await.unwrap();
    assert_eq!((f.origin, f.sha256), (FetchedFrom::Store, pa.component), "PreferCache keeps the first resolution");
    let f = fetch(&s, &src, &opts).await.unwrap();
    assert_eq!((f.origin, f.sha256), (FetchedFrom::Network, pb.component), "Refresh follows the tag");
    assert_eq!(f.resolved.as_deref(), Some(pb.by_digest.to_string().as_str()));
}

#[tokio::test]
async fn digest_mismatches_are_refused() {
    let reg = Registry::start();
    let opts = reg.options();
    let wasm = component("buildbot-json");
    let other = component("chat-message");
    let target = reg.reference("team/pinned:v1");
    let pushed = publish(None, &wasm, &target, &opts).await.unwrap();
    let src = GeneratorSource::Oci(target.clone());

    // The config pins another digest.
    let (_d, s) = store();
    let wrong = Sha256::of(&other);
    let e = acquire(&s, &src, &LoadPolicy { sha256: Some(wrong), trusted_keys: None }, &opts).await.unwrap_err();
    let msg = e.to_string();
    eprintln!("refused: {msg}");
    assert!(matches!(e, AcquireError::Pin(_)), "{msg}");
    assert!(msg.contains(&target.to_string()), "{msg}");
    assert!(msg.contains(&wrong.to_string()) && msg.contains(&pushed.component.to_string()), "{msg}");

    // A manifest digest the registry does not have.
    let missing = GeneratorSource::Oci(target.with_digest(&Sha256::of(b"no such manifest")));
    let e = fetch(&s, &missing, &opts).await.unwrap_err();
    assert!(matches!(e, FetchError::NotFound { .. }), "{e}");

    // The registry serves bytes that do not match the layer digest.
    let blob = reg.blob_file(&pushed.component.hex());
    let mut evil = wasm.clone();
    let last = evil.len() - 1;
    evil[last] ^= 0xff;
    std::fs::write(&blob, &evil).unwrap();
    let (_d2, fresh) = store();
    let e = fetch(&fresh, &src, &opts).await.unwrap_err();
    let msg = e.to_string();
    eprintln!("refused: {msg}");
    assert!(matches!(e, FetchError::Invalid { .. }), "{msg}");
    assert!(msg.contains("does not match") && msg.contains("team/pinned:v1"), "{msg}");
    assert!(!fresh.contains(&Sha256::of(&evil)) && !fresh.contains(&pushed.component), "nothing stored");
}

#[tokio::test]
async fn push_refuses_what_is_not_a_component() {
    let reg = Registry::start();
    let e = publish(None, b"\0asm\x01\0\0\0", &reg.reference("team/core:v1"), &reg.options()).await.unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("refusing to push") && msg.contains("core WebAssembly module"), "{msg}");
}
