//! A hostile generator cannot set credentials, inject headers or escape the
//! configured URL: the report is refused with an error naming the generator
//! and the rule, and nothing is stored or sent.

mod common;

use std::time::Duration;

use common::*;
use wasmpush_delivery::{Delivery, DeliveryError, PolicyRule, check_report};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_reports_are_refused_and_never_sent() {
    let srv = serve(always(200), None).await;
    let dir = tempfile::tempdir().unwrap();
    let d =
        Delivery::open(&dir.path().join("o.redb"), vec![("t".into(), fast_target(&format!("{}/api/hook", srv.url)))])
            .await
            .unwrap();
    let hostile = |headers: Vec<(&str, &str)>, path: Option<&str>| {
        let mut r = report("t", "msg_evil", "k", "{}");
        r.generator = "hostile.wasm".into();
        r.headers = headers.into_iter().map(|(a, b)| (a.to_owned(), b.to_owned())).collect();
        r.path = path.map(str::to_owned);
        r
    };
    let cases: Vec<(wasmpush_delivery::Outgoing, &str)> = vec![
        (hostile(vec![("Authorization", "Bearer stolen")], None), "reserved"),
        (hostile(vec![("proxy-authorization", "x")], None), "reserved"),
        (hostile(vec![("Cookie", "s=1")], None), "reserved"),
        (hostile(vec![("Host", "evil.example")], None), "reserved"),
        (hostile(vec![("webhook-signature", "v1,forged")], None), "reserved"),
        (hostile(vec![("X-Ok", "a\r\nAuthorization: Bearer x")], None), "CR/LF"),
        (hostile(vec![("X-Bad\nName", "v")], None), "not a valid HTTP token"),
        (hostile(vec![], Some("../../admin")), "`..`"),
        (hostile(vec![], Some("x/%2e%2e/%2E%2e/admin")), "`..`"),
        (hostile(vec![], Some("//evil.example/steal")), "`//host`"),
        (hostile(vec![], Some("https://evil.example/")), "scheme"),
        (hostile(vec![], Some("..%2f..%2fadmin")), "percent-encoded"),
        (hostile(vec![], Some("a\r\nX: y")), "printable ASCII"),
    ];
    for (r, rule_text) in cases {
        let what = format!("{:?} {:?}", r.headers, r.path);
        // The same verdict from the standalone check the host may call early.
        assert!(check_report(&r.generator, &r.content_type, &r.headers, r.path.as_deref()).is_err(), "{what}");
        match d.enqueue(r) {
            Err(DeliveryError::Policy(e)) => {
                let msg = e.to_string();
                assert!(msg.contains("generator `hostile.wasm`"), "{msg}");
                assert!(msg.contains(rule_text), "{what}: {msg}");
            }
            other => panic!("{what}: expected a policy refusal, got {other:?}"),
        }
    }
    // One bad report refuses the whole batch.
    let mut bad = report("t", "b2", "k", "{}");
    bad.headers = vec![("Content-Length".into(), "0".into())];
    let e = d.enqueue_batch(vec![report("t", "b1", "k", "{}"), bad]).unwrap_err();
    assert!(matches!(e, DeliveryError::Policy(ref p) if matches!(p.rule, PolicyRule::ForbiddenHeader(_))), "{e}");
    // Bad ids are refused too.
    assert!(matches!(d.enqueue(report("t", "id with space", "k", "{}")), Err(DeliveryError::InvalidId(_))));
    assert!(d.wait_idle(Duration::from_secs(2)).await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(srv.count(), 0, "nothing was sent");
    assert!(d.entries().unwrap().is_empty(), "nothing was stored");
    // A legitimate path and header still work.
    let mut ok = report("t", "fine", "k", "{}");
    ok.path = Some("statuses/abc123?state=ok".into());
    ok.headers = vec![("X-GitHub-Event".into(), "status".into())];
    d.enqueue(ok).unwrap();
    let got = srv.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got[0].path, "/api/hook/statuses/abc123?state=ok");
    d.shutdown().await;
}
