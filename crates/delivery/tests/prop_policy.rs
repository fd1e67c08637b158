//! Property tests of the request policy (`check_report`): what a hostile
//! generator proposes as a relative path or as extra headers.
//!
//! * An accepted path has no `.`/`..` segment however a server decodes it,
//!   and the request really goes to the configured origin, under the
//!   configured path, with the configured query first (checked end to end:
//!   `target_url` is private, so each accepted path is delivered to a real
//!   receiver on 127.0.0.1 and the request target it saw is checked).
//! * A header list is accepted exactly when no name is reserved (in any
//!   letter case) and no value has CR, LF, NUL or another control byte.
//! * Arbitrary strings never panic and are refused with a one-line error.
//!
//! Case count: `PROPTEST_CASES`, else 512 per property.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use wasmpush_delivery::{Delivery, DeliveryError, EntryState, check_report};

/// `PROPTEST_CASES` if set, else `default`. No failure persistence: a
/// failure prints its minimal input instead of writing a regressions file.
fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(cases) }
}

const CASES: u32 = 512;

// ---------------------------------------------------------------- paths

/// Pieces a traversal attempt is made of, and harmless ones.
const PIECES: &[&str] = &[
    "..",
    ".",
    "..;",
    "..;x",
    "%2e%2e",
    "%2E.",
    ".%2e",
    "..%09",
    "..%00",
    "%c0%ae%c0%ae",
    "%2F",
    "a",
    "b;c",
    ".github",
    "\\",
    "%5c",
    "%25",
    "//",
    "?q=1",
    "#f",
    " ",
];

/// One segment: one to three pieces or random ASCII glued together (so
/// `..%2F..`, `.%2e;x`, `a..` and the like come up).
fn segment() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(PIECES).prop_map(str::to_owned),
        2 => "[a-z0-9_~-]{1,6}",
        1 => "[!-~]{0,6}",
        1 => "[ -~]{0,6}",
    ];
    prop::collection::vec(piece, 1..4).prop_map(|p| p.concat())
}

/// Segments joined with `/`, sometimes with a leading `/`.
fn path() -> impl Strategy<Value = String> {
    (any::<bool>(), prop::collection::vec(segment(), 1..6)).prop_map(|(lead, segs)| {
        let p = segs.join("/");
        if lead { format!("/{p}") } else { p }
    })
}

/// Percent-decodes `s` (invalid escapes kept as they are, invalid UTF-8
/// replaced), repeated until nothing changes: stricter than any one server.
fn decode(s: &str) -> String {
    let mut cur = s.to_owned();
    for _ in 0..4 {
        let b = cur.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if b[i] == b'%'
                && i + 2 < b.len()
                && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
            {
                out.push((h * 16 + l) as u8);
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        let next = String::from_utf8_lossy(&out).into_owned();
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

/// The first segment of `path` (its part before `?`) that a server could
/// resolve as `.` or `..`: percent-decoded, split at decoded `/` and `\`,
/// stripped of a `;param` part and of trailing whitespace and controls.
fn dot_segment(path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap_or("");
    for seg in path.split('/') {
        for piece in decode(seg).split(['/', '\\']) {
            let name = piece.split(';').next().unwrap_or("");
            let name = name.trim_end_matches(|c: char| c.is_whitespace() || c.is_control());
            if name == "." || name == ".." {
                return Some(seg.to_owned());
            }
        }
    }
    None
}

fn accepts_path(p: &str) -> bool {
    check_report("g", "application/json", &[], Some(p)).is_ok()
}

// -------------------------------------------------------------- headers

/// Every name the policy documents as reserved, lower case.
const RESERVED: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "content-type",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-original-url",
    "x-rewrite-url",
    "x-http-method-override",
    "x-method-override",
    "x-http-method",
    "forwarded",
    "upgrade",
    "te",
    "expect",
    "keep-alive",
    "trailer",
];

/// Reserved prefixes, lower case.
const RESERVED_PREFIXES: &[&str] = &["x-forwarded-", "proxy-"];

/// Names a generator legitimately sends.
const ORDINARY: &[&str] =
    &["X-GitHub-Event", "X-Gitlab-Event", "Accept", "User-Agent", "X-Request-Id", "Idempotency-Key"];

fn reserved(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    RESERVED.contains(&lower.as_str()) || RESERVED_PREFIXES.iter().any(|p| lower.starts_with(p))
}

fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// RFC 9110 field-value as the policy reads it: visible ASCII, SP, HTAB.
fn clean_value(v: &str) -> bool {
    v.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

/// A name in random letter case.
fn header_name() -> impl Strategy<Value = String> {
    let base = prop_oneof![
        4 => prop::sample::select(RESERVED).prop_map(str::to_owned),
        1 => "[A-Za-z]{1,8}".prop_map(|s| format!("X-Forwarded-{s}")),
        1 => "[A-Za-z]{1,8}".prop_map(|s| format!("Proxy-{s}")),
        4 => prop::sample::select(ORDINARY).prop_map(str::to_owned),
        3 => "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}",
        1 => "[ -~]{0,8}",
        1 => ".{0,6}",
    ];
    (base, prop::collection::vec(any::<bool>(), 32)).prop_map(|(name, upper)| {
        name.chars()
            .zip(upper.into_iter().cycle())
            .map(|(c, u)| if u { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
            .collect()
    })
}

fn header_value() -> impl Strategy<Value = String> {
    let bad =
        prop::sample::select(&["\r", "\n", "\0", "\r\n", "\r\nAuthorization: Bearer x", "\x7f", "\x01", "\u{e9}"][..]);
    prop_oneof![
        4 => "[ -~\t]{0,16}",
        3 => ("[ -~]{0,8}", bad, "[ -~]{0,8}").prop_map(|(a, b, c)| format!("{a}{b}{c}")),
        1 => ".{0,8}",
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((header_name(), header_value()), 0..5)
}

// ----------------------------------------------------------- properties

/// The oracles themselves: they must see what servers resolve.
#[test]
fn oracles_catch_known_escapes() {
    for p in ["..", "a/.", "..;x/b", "a/%2e%2E", "%2E./x", "..%09", ".%00", "a%2F..", "%252e%252e", "x/..%5c", "/.;y"] {
        assert!(dot_segment(p).is_some(), "{p}");
    }
    for p in ["a/..b", ".github/x", "b;c/..x", "a/b?x=..", "%2e%2ex", "", "/"] {
        assert_eq!(dot_segment(p), None, "{p}");
    }
    assert!(reserved("PROXY-Foo") && reserved("x-FORWARDED-for") && reserved("Te") && !reserved("X-Te"));
    assert!(!clean_value("a\rb") && !clean_value("a\u{e9}") && clean_value("a\tb"));
}

proptest! {
    #![proptest_config(config(CASES))]

    /// An accepted path has no segment a server would resolve as `.`/`..`.
    #[test]
    fn accepted_paths_have_no_dot_segments(p in path()) {
        if accepts_path(&p) {
            prop_assert_eq!(dot_segment(&p), None, "accepted {:?}", p);
        }
    }

    /// Headers are accepted exactly when every name is an HTTP token and not
    /// reserved in any letter case, and no value has CR, LF, NUL or another
    /// control (or non-ASCII) byte.
    #[test]
    fn headers_accepted_iff_none_reserved_or_dirty(hs in headers()) {
        let verdict = check_report("g", "application/json", &hs, None);
        let expected = hs.iter().all(|(n, v)| is_token(n) && !reserved(n) && clean_value(v));
        if verdict.is_ok() {
            for (n, v) in &hs {
                prop_assert!(!reserved(n), "reserved header {:?} accepted", n);
                prop_assert!(!v.contains(['\r', '\n', '\0']), "value {:?} of {:?} accepted", v, n);
            }
        }
        prop_assert_eq!(verdict.is_ok(), expected, "{:?}: {:?}", hs, verdict);
    }

    /// Nothing panics; a refusal is one line naming the generator; an
    /// accepted report still satisfies the two properties above.
    #[test]
    fn arbitrary_strings_never_panic(
        content_type in any::<String>(),
        hs in prop::collection::vec((any::<String>(), any::<String>()), 0..4),
        p in prop::option::of(any::<String>()),
    ) {
        match check_report("gen", &content_type, &hs, p.as_deref()) {
            Ok(()) => {
                prop_assert!(clean_value(&content_type));
                for (n, v) in &hs {
                    prop_assert!(is_token(n) && !reserved(n) && clean_value(v), "{:?}: {:?}", n, v);
                }
                if let Some(p) = &p {
                    prop_assert_eq!(dot_segment(p), None, "accepted {:?}", p);
                }
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.starts_with("generator `gen`: report refused: "), "{}", msg);
                prop_assert!(!msg.contains(['\n', '\r', '\0']), "{:?}", msg);
            }
        }
    }
}

/// Every accepted path is delivered to the configured origin, under the
/// configured path (segment for segment, nothing resolved away), with the
/// configured query first; `enqueue` and `check_report` agree.
#[test]
fn accepted_paths_are_delivered_under_the_configured_url() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let srv = rt.block_on(serve(always(200), None));
    let dir = tempfile::tempdir().unwrap();
    let base = format!("{}/api/v1/hook?token=x", srv.url);
    let d = rt.block_on(Delivery::open(&dir.path().join("o.redb"), vec![("t".into(), fast_target(&base))])).unwrap();
    let host = format!("127.0.0.1:{}", srv.addr.port());
    let seq = AtomicU64::new(0);
    let accepted = AtomicU64::new(0);
    let mut runner = TestRunner::new(config(CASES));
    let result = runner.run(&path(), |p| {
        let id = format!("p{}", seq.fetch_add(1, Ordering::SeqCst));
        let mut r = report("t", &id, &id, "{}");
        r.path = Some(p.clone());
        let policy_ok = accepts_path(&p);
        match (d.enqueue(r), policy_ok) {
            (Ok(()), true) => {}
            (Err(DeliveryError::Policy(_)), false) => return Ok(()),
            (other, _) => {
                return Err(TestCaseError::fail(format!("{p:?}: check_report ok={policy_ok}, enqueue {other:?}")));
            }
        }
        accepted.fetch_add(1, Ordering::SeqCst);
        // Wait for the request; a report the client refused to send (URL not
        // under server_url) goes to the dead-letter list at once.
        let end = Instant::now() + Duration::from_secs(10);
        let req = loop {
            if let Some(req) = srv.requests().into_iter().find(|q| q.id() == id) {
                break req;
            }
            let dead = d.entries().unwrap().into_iter().find(|e| e.id == id && e.state == EntryState::Dead);
            if dead.is_some() || Instant::now() > end {
                return Err(TestCaseError::fail(format!("{p:?}: accepted but not sent: {dead:?}")));
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        prop_assert_eq!(req.header("host"), Some(host.as_str()), "{:?}", p);
        let (got_path, got_query) = req.path.split_once('?').unwrap_or((&req.path, ""));
        let rest = got_path.strip_prefix("/api/v1/hook");
        prop_assert!(
            matches!(rest, Some("") | Some("/")) || rest.is_some_and(|r| r.starts_with('/')),
            "{p:?} -> {}",
            req.path
        );
        prop_assert!(got_query == "token=x" || got_query.starts_with("token=x&"), "{:?} -> {}", p, req.path);
        // Nothing was resolved away: as many segments as the generator gave.
        let rel = p.split('?').next().unwrap_or("").trim_start_matches('/');
        let sent_rel = got_path.strip_prefix("/api/v1/hook/").unwrap_or("");
        prop_assert_eq!(sent_rel.split('/').count(), rel.split('/').count(), "{:?} -> {}", p, req.path);
        prop_assert_eq!(dot_segment(sent_rel), None, "{:?} -> {}", p, req.path);
        Ok(())
    });
    let accepted = accepted.load(Ordering::SeqCst);
    rt.block_on(d.shutdown());
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!("{accepted} of {} generated paths accepted and delivered", runner.config().cases);
    // The generator must exercise the accepting side too.
    assert!(accepted * 20 >= u64::from(runner.config().cases), "only {accepted} paths accepted");
}
