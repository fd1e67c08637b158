//! What arrives on the wire: auth, headers, body, path, Standard Webhooks
//! headers (signature checked with an independent HMAC), config parsing.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::*;
use sha2::{Digest, Sha256};
use wasmpush_delivery::{Delivery, HeaderValueConfig, SecretHeader};

/// HMAC-SHA256 written out from RFC 2104, independent of the crate's code.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = if key.len() > 64 { Sha256::digest(key).to_vec() } else { key.to_vec() };
    k.resize(64, 0);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new().chain_update(&ipad).chain_update(msg).finalize();
    Sha256::new().chain_update(&opad).chain_update(inner).finalize().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_headers_body_path_and_signature_arrive_exactly() {
    let srv = serve(always(204), None).await;
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "p@ss:w0rd\n").unwrap();
    let sig_file = dir.path().join("sig");
    let key = b"0123456789abcdef0123456789abcdef";
    std::fs::write(&sig_file, format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))).unwrap();
    let api = dir.path().join("api");
    std::fs::write(&api, "k-42").unwrap();

    let mut cfg = fast_target(&format!("{}/hook/?src=bb", srv.url));
    cfg.auth = Some(wasmpush_delivery::AuthConfig::Basic(wasmpush_delivery::BasicAuth {
        user: "builder".into(),
        password: None,
        password_env: None,
        password_file: Some(pw),
    }));
    cfg.headers.insert("X-Source".into(), HeaderValueConfig::Literal("wasmpush test".into()));
    cfg.headers.insert(
        "X-Api-Key".into(),
        HeaderValueConfig::Secret(SecretHeader {
            value_env: None,
            value_file: Some(api),
            prefix: "key ".into(),
            suffix: String::new(),
        }),
    );
    cfg.signing_secret_file = Some(sig_file);
    let d = Delivery::open(&dir.path().join("o.redb"), vec![("hook".into(), cfg)]).await.unwrap();

    let mut r = report("hook", "msg_abc", "buildrequest:1", r#"{"build": 1, "text": "h\u00e9llo"}"#);
    r.path = Some("/builds/1?event=finished".into());
    r.headers = vec![("X-Event".into(), "finished".into()), ("X-Source".into(), "generator-tries".into())];
    d.enqueue(r.clone()).unwrap();
    let got = srv.wait_for(1, Duration::from_secs(10)).await;
    let q = &got[0];
    assert_eq!(q.path, "/hook/builds/1?src=bb&event=finished");
    assert_eq!(q.body, r.body, "body byte for byte");
    let b64 = base64::engine::general_purpose::STANDARD.encode("builder:p@ss:w0rd");
    assert_eq!(q.header("authorization"), Some(format!("Basic {b64}").as_str()));
    assert_eq!(q.header("x-source"), Some("wasmpush test"), "configured header wins");
    assert_eq!(q.header("x-api-key"), Some("key k-42"));
    assert_eq!(q.header("x-event"), Some("finished"));
    assert_eq!(q.header("content-type"), Some("application/json"));
    assert_eq!(q.header("content-length"), Some(r.body.len().to_string().as_str()));
    assert_eq!(q.id(), "msg_abc");
    let ts: u64 = q.header("webhook-timestamp").unwrap().parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(now.abs_diff(ts) < 60);
    let mut signed = format!("msg_abc.{ts}.").into_bytes();
    signed.extend_from_slice(&q.body);
    let expect = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(hmac_sha256(key, &signed)));
    assert_eq!(q.header("webhook-signature"), Some(expect.as_str()));
    assert!(d.wait_idle(Duration::from_secs(5)).await);
    assert_eq!(d.stats().sent, 1);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_from_env_and_no_content_type_for_an_empty_type() {
    let srv = serve(always(200), None).await;
    // SAFETY: this variable is only read by this test, set before any thread reads it.
    unsafe { std::env::set_var("WASMPUSH_TEST_BEARER_TOKEN", "tok-ABC.123") };
    let toml_text = format!(
        r#"
        name = "gh"
        generator = "x.wasm"
        server_url = "{}/"
        auth = {{ type = "bearer", token_env = "WASMPUSH_TEST_BEARER_TOKEN" }}
        timeout = "5s"
        "#,
        srv.url
    );
    let rep = parse_reporter(&toml_text).unwrap();
    assert_eq!((rep.name.as_str(), rep.generator.as_str()), ("gh", "x.wasm"));
    rep.push.validate().unwrap();
    let w = rep.push.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("plain `http://`"), "{w:?}");
    let dir = tempfile::tempdir().unwrap();
    let d = Delivery::open(&dir.path().join("o.redb"), vec![(rep.name, rep.push)]).await.unwrap();
    let mut r = report("gh", "id-1", "k", "");
    r.content_type = String::new();
    d.enqueue(r).unwrap();
    let q = srv.wait_for(1, Duration::from_secs(10)).await.remove(0);
    assert_eq!(q.path, "/", "trailing slash normalised, root kept");
    assert_eq!(q.header("authorization"), Some("Bearer tok-ABC.123"));
    assert_eq!(q.header("content-type"), None);
    assert_eq!(q.header("content-length"), Some("0"));
    assert_eq!(q.header("webhook-signature"), None, "no signing secret, no signature");
    d.shutdown().await;
}

#[test]
fn config_errors_name_the_field_and_warnings_flag_literal_secrets() {
    let e = parse_reporter("name='a'\ngenerator='g'\nserver_url='http://h'\nverfy=false\n").err().unwrap();
    assert!(e.to_string().contains("unknown field `verfy`"), "{e}");
    let e = parse_reporter("name='a'\ngenerator='g'\nserver_url='ftp://h'\n").unwrap().push.validate();
    assert_eq!(e.unwrap_err().field, "server_url");
    let e = parse_reporter("name='a'\ngenerator='g'\nserver_url='http://u:p@h'\n").unwrap().push.validate();
    assert!(e.unwrap_err().message.contains("auth"));
    let e = parse_reporter(
        "name='a'\ngenerator='g'\nserver_url='http://h'\nauth={type='bearer',token='t'}\nheaders={Authorization='x'}\n",
    )
    .unwrap()
    .push
    .validate();
    assert_eq!(e.unwrap_err().field, "headers.Authorization");
    assert!(
        parse_reporter(
            "name='a'\ngenerator='g'\nserver_url='http://h'\nauth={type='basic',user='u',pasword_env='X'}\n"
        )
        .is_err()
    );
    let rep = parse_reporter(
        "name='a'\ngenerator='g'\nserver_url='http://h'\nauth={type='basic',user='u',password='hunter2'}\nheaders={X-Token='abc'}\nsigning_secret='s'\nverify=false\ntimeout=2.5\nretry_schedule=['1s', 30, '2m']\n",
    )
    .unwrap();
    rep.push.validate().unwrap();
    assert_eq!(rep.push.timeout.0, Duration::from_millis(2500));
    let w = rep.push.warnings().join("\n");
    for needle in ["auth.password", "X-Token", "signing_secret", "verify = false", "plain `http://`"] {
        assert!(w.contains(needle), "missing {needle:?} in {w}");
    }
    assert!(!w.contains("hunter2"), "a warning never shows the secret");
    let e = parse_reporter("name='a'\ngenerator='g'\nserver_url='http://h'\nauth={type='basic',user='u',password_env='WASMPUSH_SURELY_UNSET'}\n")
        .unwrap()
        .push
        .resolve()
        .unwrap_err();
    assert_eq!(e.field, "auth.password_env");
    assert!(e.to_string().contains("WASMPUSH_SURELY_UNSET"));
}
