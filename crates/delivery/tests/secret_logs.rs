//! With `debug = true`, every request and response is logged, and no secret
//! appears in any captured log line (all levels, all crates) nor in a stored
//! error. Its own test binary: it installs a global tracing subscriber.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use common::*;
use wasmpush_delivery::{AuthConfig, BasicAuth, BearerAuth, Delivery, HeaderValueConfig, SecretHeader};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const PASSWORD: &str = "pw-Zq7!xK9#secret";
const TOKEN: &str = "tok-Hn4vR8uLw2";
const HEADER_SECRET: &str = "hdr-Yc3pQ6mB1s";
const SIGNING: &str = "sig-Lk8dF5tGh0";
/// A webhook URL's secret path part (Slack-style), given by file.
const URL_SECRET: &str = "urlsecret-Wd2Nc7Vb4";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_log_line_even_with_debug() {
    let buf = Buf::default();
    let w = buf.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || w.clone())
        .init();

    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, v: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, v).unwrap();
        p
    };
    // The receiver echoes the password in its first answer (a 500), then accepts.
    let script: Script = Arc::new(|_, i| {
        if i == 0 {
            let mut r = Reply::status(500);
            r.body = format!("bad credentials {PASSWORD} / {HEADER_SECRET}").into();
            r.headers = vec![("x-echo".into(), PASSWORD.into())];
            r
        } else {
            Reply::ok()
        }
    });
    let srv = serve(script, None).await;
    let mut basic = fast_target(&format!("{}/hook", srv.url));
    basic.debug = true;
    basic.auth = Some(AuthConfig::Basic(BasicAuth {
        user: "u".into(),
        password: None,
        password_env: None,
        password_file: Some(file("pw", PASSWORD)),
    }));
    basic.headers.insert(
        "X-Token".into(),
        HeaderValueConfig::Secret(SecretHeader {
            value_env: None,
            value_file: Some(file("h", HEADER_SECRET)),
            prefix: "token ".into(),
            suffix: String::new(),
        }),
    );
    basic.signing_secret_file = Some(file("s", SIGNING));

    // A second target that is down: connection errors must not leak either.
    let mut down = fast_target(&closed_port_url());
    down.debug = true;
    down.max_attempts = Some(2);
    down.auth =
        Some(AuthConfig::Bearer(BearerAuth { token: None, token_env: None, token_file: Some(file("t", TOKEN)) }));

    // Webhook URLs that are themselves the credential, from a file: one up,
    // one down (reqwest's connection errors name the URL).
    let mut webhook = fast_target("http://unused.invalid/");
    webhook.server_url = None;
    webhook.server_url_file =
        Some(file("url", &format!("{}/services/T0/B0/{URL_SECRET}?sig={URL_SECRET}q\n", srv.url)));
    webhook.debug = true;
    let mut webhook_down = fast_target("http://unused.invalid/");
    webhook_down.server_url = None;
    webhook_down.server_url_file = Some(file("url-down", &format!("{}/services/{URL_SECRET}d", closed_port_url())));
    webhook_down.max_attempts = Some(2);

    let d = Delivery::open(
        &dir.path().join("o.redb"),
        vec![
            ("basic".into(), basic),
            ("down".into(), down),
            ("webhook".into(), webhook),
            ("webhook-down".into(), webhook_down),
        ],
    )
    .await
    .unwrap();
    // Even a body that contains a secret is redacted in the debug output.
    d.enqueue(report("basic", "msg-1", "k", &format!(r#"{{"leak": "{PASSWORD}", "t": "{TOKEN}"}}"#))).unwrap();
    d.enqueue(report("down", "msg-2", "k", r#"{"x": 1}"#)).unwrap();
    d.enqueue(report("webhook", "msg-3", "k", r#"{"x": 3}"#)).unwrap();
    d.enqueue(report("webhook-down", "msg-4", "k", r#"{"x": 4}"#)).unwrap();
    let seen = srv.wait_for(3, Duration::from_secs(10)).await;
    assert!(
        seen.iter().any(|r| r.path.contains(&format!("/services/T0/B0/{URL_SECRET}"))),
        "the secret URL from the file is where the report goes"
    );
    // Wait for both down targets' reports to die (a retry may still be
    // scheduled when the workers first look idle), then commit everything.
    let t = std::time::Instant::now();
    while d.stats().dead < 2 {
        assert!(t.elapsed() < Duration::from_secs(30), "the down targets' reports never died: {:?}", d.stats());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(d.wait_idle(Duration::from_secs(10)).await);
    let entries = d.entries().unwrap();
    d.shutdown().await;

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    if let Ok(p) = std::env::var("WASMPUSH_DUMP_LOGS") {
        std::fs::write(p, &logs).unwrap();
    }
    assert!(logs.contains("request: POST"), "debug logging is on:\n{logs}");
    assert!(logs.contains("response: 500"), "{logs}");
    assert!(logs.contains("***"), "redaction marker present");
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let forbidden = [
        PASSWORD.to_owned(),
        TOKEN.to_owned(),
        HEADER_SECRET.to_owned(),
        SIGNING.to_owned(),
        b64(&format!("u:{PASSWORD}")),
        b64(TOKEN),
        URL_SECRET.to_owned(),
    ];
    for (n, line) in logs.lines().enumerate() {
        for s in &forbidden {
            assert!(!line.contains(s.as_str()), "secret leaked on log line {n}: {line}");
        }
    }
    assert_eq!(entries.len(), 2, "the down targets' reports are dead, the others delivered");
    let stored = format!("{entries:?}");
    assert!(stored.contains("Dead"));
    for s in &forbidden {
        assert!(!stored.contains(s.as_str()), "secret in stored error: {stored}");
    }
}
