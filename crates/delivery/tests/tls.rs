//! TLS against real HTTPS receivers on 127.0.0.1: self-signed refused with
//! `verify` on, accepted with `verify = false` and with `ca_file`; mTLS with
//! `cert`/`key`.

mod common;

use std::time::Duration;

use common::*;
use wasmpush_delivery::{Delivery, EntryState};

async fn deliver_one(cfg: wasmpush_delivery::TargetConfig) -> (Delivery, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let d = Delivery::open(&dir.path().join("outbox.redb"), vec![("t".into(), cfg)]).await.unwrap();
    d.enqueue(report("t", "msg_tls_1", "k", r#"{"tls": true}"#)).unwrap();
    (d, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_refused_with_verify_on_then_accepted_with_verify_false() {
    let cert = self_signed();
    let srv = serve(always(200), Some(server_tls(&cert, None))).await;

    let mut cfg = fast_target(&srv.url);
    cfg.retry_schedule = Some(vec![wasmpush_delivery::DurationValue(Duration::from_secs(60))]);
    let (d, _dir) = deliver_one(cfg).await;
    assert!(d.wait_idle(Duration::from_secs(10)).await);
    assert_eq!(srv.count(), 0, "nothing may be sent over an unverified connection");
    assert!(srv.tls_failures.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    let e = d.entries().unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].state, EntryState::Pending, "a TLS failure is retried, not dropped");
    let err = e[0].last_error.clone().unwrap_or_default().to_lowercase();
    assert!(err.contains("certificate") || err.contains("issuer"), "{err}");
    d.shutdown().await;

    let mut cfg = fast_target(&srv.url);
    cfg.verify = false;
    let (d, _dir) = deliver_one(cfg).await;
    let got = srv.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].body, br#"{"tls": true}"#);
    assert!(d.wait_idle(Duration::from_secs(5)).await);
    assert_eq!(d.stats().sent, 1);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_file_trusts_a_self_signed_receiver_and_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    // 1. the self-signed certificate itself as the trust root
    let cert = self_signed();
    let srv = serve(always(200), Some(server_tls(&cert, None))).await;
    let ca_path = dir.path().join("self.pem");
    std::fs::write(&ca_path, &cert.cert_pem).unwrap();
    let mut cfg = fast_target(&srv.url);
    cfg.ca_file = Some(ca_path);
    let (d, _d2) = deliver_one(cfg).await;
    srv.wait_for(1, Duration::from_secs(10)).await;
    d.shutdown().await;

    // 2. a private CA that signed the server certificate
    let ca = Ca::new();
    let srv = serve(always(200), Some(server_tls(&ca.leaf(false), None))).await;
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, &ca.pem).unwrap();
    let mut cfg = fast_target(&srv.url);
    cfg.ca_file = Some(ca_path);
    let (d, _d3) = deliver_one(cfg).await;
    srv.wait_for(1, Duration::from_secs(10)).await;
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_needs_the_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let srv = serve(always(200), Some(server_tls(&ca.leaf(false), Some(&ca)))).await;
    let client = ca.leaf(true);
    let (ca_path, cert_path, key_path) =
        (dir.path().join("ca.pem"), dir.path().join("client.pem"), dir.path().join("client.key"));
    std::fs::write(&ca_path, &ca.pem).unwrap();
    std::fs::write(&cert_path, &client.cert_pem).unwrap();
    std::fs::write(&key_path, &client.key_pem).unwrap();

    // Without a client certificate the server refuses the handshake.
    let mut cfg = fast_target(&srv.url);
    cfg.ca_file = Some(ca_path.clone());
    cfg.retry_schedule = Some(vec![wasmpush_delivery::DurationValue(Duration::from_secs(60))]);
    let (d, _d1) = deliver_one(cfg).await;
    assert!(d.wait_idle(Duration::from_secs(10)).await);
    assert_eq!(srv.count(), 0);
    assert_eq!(d.stats().sent, 0);
    d.shutdown().await;

    // With cert + key it is accepted.
    let mut cfg = fast_target(&srv.url);
    cfg.ca_file = Some(ca_path);
    cfg.cert = Some(cert_path);
    cfg.key = Some(key_path);
    let (d, _d2) = deliver_one(cfg).await;
    let got = srv.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].id(), "msg_tls_1");
    d.shutdown().await;
}

#[tokio::test]
async fn unreadable_tls_files_are_config_errors_naming_the_field() {
    let mut cfg = fast_target("https://127.0.0.1:1");
    cfg.ca_file = Some("/nonexistent/ca.pem".into());
    let e = cfg.resolve().unwrap_err();
    assert_eq!(e.field, "ca_file");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let mut cfg = fast_target("https://127.0.0.1:1");
    cfg.cert = Some(bad);
    let e = cfg.resolve().unwrap_err();
    assert_eq!(e.field, "cert", "{e}");
}
