//! Fetching over HTTPS from a real TLS server on 127.0.0.1 (trusted through
//! `extra_roots_pem`), with pin, signature, offline fallback and refusals.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{HttpsServer, component};
use wasmpush_distribute::{
    AcquireError, FetchError, FetchOptions, FetchedFrom, GeneratorSource, LoadPolicy, SecretKey, Sha256,
    SignatureError, SignatureSet, Store, TrustedKeys, acquire, fetch,
};

#[tokio::test]
async fn https_fetch_pin_signature_offline_and_refusals() {
    let wasm = component("wat-ping");
    let key = SecretKey::generate().unwrap();
    let mut set = SignatureSet::new();
    set.add(key.sign(&Sha256::of(&wasm)));
    let mut files = HashMap::new();
    files.insert("/gen/ping.wasm".to_string(), wasm.clone());
    files.insert("/gen/ping.wasm.sig".to_string(), set.to_text().into_bytes());
    files.insert("/gen/unsigned.wasm".to_string(), component("chat-message"));
    let mut server = HttpsServer::start(files).await;

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let opts = FetchOptions {
        extra_roots_pem: vec![server.ca_pem.clone().into_bytes()],
        timeout: Duration::from_secs(10),
        ..Default::default()
    };
    let src = GeneratorSource::parse(&server.url("/gen/ping.wasm")).unwrap();
    let policy =
        LoadPolicy { sha256: Some(Sha256::of(&wasm)), trusted_keys: Some(TrustedKeys::new(vec![key.public_key()])) };

    // Without trusting the test CA the download is refused (no silent downgrade).
    let e = fetch(&store, &src, &FetchOptions { timeout: Duration::from_secs(10), ..Default::default() })
        .await
        .unwrap_err();
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");

    let f = acquire(&store, &src, &policy, &opts).await.unwrap();
    assert_eq!((f.origin, f.sha256), (FetchedFrom::Network, Sha256::of(&wasm)));
    assert_eq!(f.signed_by, Some(key.public_key().key_id()));
    assert!(server.hits().contains(&"/gen/ping.wasm.sig".to_string()));

    // The signature is required: a component without one is refused.
    let unsigned = GeneratorSource::parse(&server.url("/gen/unsigned.wasm")).unwrap();
    let unpinned = LoadPolicy { sha256: None, ..policy.clone() };
    match acquire(&store, &unsigned, &unpinned, &opts).await {
        Err(AcquireError::Signature(SignatureError::Unsigned { looked_at, .. })) => {
            assert!(looked_at.ends_with("/gen/unsigned.wasm.sig"), "{looked_at}")
        }
        other => panic!("expected Unsigned, got {other:?}"),
    }

    // Missing file: a 404 is "not found", naming the URL.
    let missing = GeneratorSource::parse(&server.url("/gen/none.wasm")).unwrap();
    let e = fetch(&store, &missing, &opts).await.unwrap_err();
    assert!(matches!(e, FetchError::NotFound { .. }) && e.to_string().contains("/gen/none.wasm"), "{e}");

    // Server gone: the stored copy (and its stored signature) is used.
    server.stop().await;
    let f = acquire(&store, &src, &policy, &opts).await.unwrap();
    assert_eq!((f.origin, f.signed_by), (FetchedFrom::Store, Some(key.public_key().key_id())));
    let pinless = LoadPolicy { sha256: None, trusted_keys: None };
    assert_eq!(acquire(&store, &src, &pinless, &opts).await.unwrap().origin, FetchedFrom::Store);
}
