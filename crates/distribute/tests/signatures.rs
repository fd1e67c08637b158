//! Signature required: a signed plugin loads; unsigned, tampered and
//! wrong-key plugins are refused with clear errors, before anything could
//! compile them (the loader returns the error instead of bytes). Local files
//! (`<file>.sig`) and a real registry (the `sha256-<hex>.sig` tag).

mod common;

use common::{Registry, component};
use wasmpush_distribute::{
    AcquireError, FetchOptions, FetchedFrom, Freshness, GeneratorSource, LoadPolicy, SecretKey, Sha256, SignatureError,
    SignatureSet, Store, TrustedKeys, acquire, publish, publish_signature, sign_file, sign_remote, signature_path,
};

fn require(keys: &[&SecretKey]) -> LoadPolicy {
    LoadPolicy { sha256: None, trusted_keys: Some(TrustedKeys::new(keys.iter().map(|k| k.public_key()).collect())) }
}

fn sig_err(r: Result<wasmpush_distribute::Fetched, AcquireError>) -> SignatureError {
    match r {
        Err(AcquireError::Signature(e)) => {
            eprintln!("refused: {e}");
            e
        }
        Err(other) => panic!("expected a signature error, got: {other}"),
        Ok(f) => panic!("expected a refusal, but {} loaded", f.source),
    }
}

#[tokio::test]
async fn local_files_signed_unsigned_tampered_wrong_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let opts = FetchOptions::default();
    let (trusted, stranger) = (SecretKey::generate().unwrap(), SecretKey::generate().unwrap());
    let policy = require(&[&trusted]);
    let file = dir.path().join("buildbot-json.wasm");
    std::fs::write(&file, component("buildbot-json")).unwrap();
    let src = GeneratorSource::Path(file.clone());

    // Unsigned.
    let e = sig_err(acquire(&store, &src, &policy, &opts).await);
    assert!(matches!(e, SignatureError::Unsigned { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains(&file.display().to_string()) && msg.contains(".wasm.sig"), "{msg}");

    // Signed by a key the config does not list.
    sign_file(&file, &stranger).unwrap();
    let e = sig_err(acquire(&store, &src, &policy, &opts).await);
    assert!(matches!(e, SignatureError::Untrusted { .. }), "{e}");
    assert!(e.to_string().contains(&stranger.public_key().key_id().to_string()), "{e}");

    // Also signed by the trusted key: loads, and says who signed.
    sign_file(&file, &trusted).unwrap();
    let text = std::fs::read_to_string(signature_path(&file)).unwrap();
    assert_eq!(SignatureSet::parse(&text, "x").unwrap().iter().count(), 2, "signatures merge");
    let f = acquire(&store, &src, &policy, &opts).await.unwrap();
    assert_eq!(f.signed_by, Some(trusted.public_key().key_id()));
    assert_eq!(f.origin, FetchedFrom::Local);

    // Tampered after signing: even bytes that are not Wasm at all are
    // refused by the signature check, not by a parser or compiler.
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let e = sig_err(acquire(&store, &src, &policy, &opts).await);
    assert!(matches!(e, SignatureError::Tampered { .. }), "{e}");
    assert!(e.to_string().contains(&Sha256::of(&bytes).to_string()), "{e}");
    std::fs::write(&file, b"this is not wasm").unwrap();
    let e = sig_err(acquire(&store, &src, &policy, &opts).await);
    assert!(matches!(e, SignatureError::Tampered { .. }), "{e}");

    // A corrupt signature file is an error naming the plugin, not a panic.
    std::fs::write(signature_path(&file), "wasmpush-ed25519-signature-v1 nothex\n").unwrap();
    let e = acquire(&store, &src, &policy, &opts).await.unwrap_err();
    assert!(e.to_string().contains("buildbot-json.wasm") && e.to_string().contains("line 1"), "{e}");
}

#[tokio::test]
async fn registry_signed_unsigned_tampered_wrong_key_and_offline() {
    let mut reg = Registry::start();
    let opts = reg.options();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let (trusted, second, stranger) =
        (SecretKey::generate().unwrap(), SecretKey::generate().unwrap(), SecretKey::generate().unwrap());
    let policy = require(&[&trusted]);
    let (a, b, c) = (component("buildbot-json"), component("chat-message"), component("wat-ping"));

    // Signed by the trusted key (and a second signer, merged in the registry).
    let signed = reg.reference("team/signed:v1");
    publish(None, &a, &signed, &opts).await.unwrap();
    sign_remote(&store, &signed, &second, &opts).await.unwrap();
    let sig = sign_remote(&store, &signed, &trusted, &opts).await.unwrap();
    assert_eq!(sig.digest, Sha256::of(&a));
    let m = reg.raw_manifest("team/signed", &format!("sha256-{}.sig", Sha256::of(&a).hex())).await;
    assert_eq!(m["artifactType"], "application/vnd.wasmpush.signature.v1");
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh_store = Store::open(fresh_dir.path()).unwrap();
    let f = acquire(&fresh_store, &GeneratorSource::Oci(signed.clone()), &policy, &opts).await.unwrap();
    assert_eq!((f.origin, f.signed_by), (FetchedFrom::Network, Some(trusted.public_key().key_id())));

    // Unsigned.
    let unsigned = reg.reference("team/unsigned:v1");
    publish(None, &b, &unsigned, &opts).await.unwrap();
    let e = sig_err(acquire(&fresh_store, &GeneratorSource::Oci(unsigned.clone()), &policy, &opts).await);
    assert!(matches!(e, SignatureError::Unsigned { .. }), "{e}");
    assert!(e.to_string().contains("team/unsigned") && e.to_string().contains(".sig"), "{e}");

    // Wrong key.
    let foreign = reg.reference("team/foreign:v1");
    publish(None, &c, &foreign, &opts).await.unwrap();
    sign_remote(&store, &foreign, &stranger, &opts).await.unwrap();
    let e = sig_err(acquire(&fresh_store, &GeneratorSource::Oci(foreign.clone()), &policy, &opts).await);
    assert!(matches!(e, SignatureError::Untrusted { .. }), "{e}");

    // Tampered: the trusted key's signature over `a`, filed as the signature of `b`.
    let mut forged = trusted.sign(&Sha256::of(&a));
    forged.digest = Sha256::of(&b);
    publish_signature(&unsigned, forged, &opts).await.unwrap();
    let e = sig_err(acquire(&fresh_store, &GeneratorSource::Oci(unsigned.clone()), &policy, &opts).await);
    assert!(matches!(e, SignatureError::Tampered { .. }), "{e}");
    assert!(e.to_string().contains("team/unsigned"), "{e}");

    // Offline: the signed component and its signature come from the store.
    reg.stop();
    let f = acquire(&fresh_store, &GeneratorSource::Oci(signed.clone()), &policy, &opts).await.unwrap();
    assert_eq!((f.origin, f.signed_by), (FetchedFrom::Store, Some(trusted.public_key().key_id())));
    let offline = FetchOptions { freshness: Freshness::Offline, ..opts.clone() };
    assert!(acquire(&fresh_store, &GeneratorSource::Oci(signed), &policy, &offline).await.is_ok());
    let e = sig_err(acquire(&fresh_store, &GeneratorSource::Oci(foreign), &policy, &offline).await);
    assert!(matches!(e, SignatureError::Untrusted { .. }), "{e}");
}
