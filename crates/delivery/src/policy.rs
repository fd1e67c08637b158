//! What a generator may put in a request, and nothing more.
//!
//! A generator (untrusted Wasm) proposes a body, a content type, extra
//! headers and an optional relative path. The host owns the credentials and
//! the destination, so it refuses:
//! * headers that carry or steer credentials or framing: `Authorization`,
//!   `Proxy-Authorization`, `Cookie`, `Host`, `Content-Length`,
//!   `Transfer-Encoding`, `Connection`, the host's own `webhook-*` headers,
//!   and `Content-Type` (given separately);
//! * header names that are not HTTP tokens, values with CR, LF, NUL or other
//!   control bytes;
//! * routing and method-override headers (`X-Original-URL`,
//!   `X-HTTP-Method-Override`, `Forwarded`, `X-Forwarded-*`, `Proxy-*`,
//!   `Upgrade`, `TE`, `Expect`, `Keep-Alive`, `Trailer`);
//! * a path that could leave the configured URL's origin or path: a scheme
//!   (`https://x`, `a:b`), an authority (`//host`), a segment that is `.` or
//!   `..` once percent-decoded (strict UTF-8: overlong `%c0%ae` refused) and
//!   stripped of a `;param` part and trailing whitespace/controls (what
//!   Tomcat, Jetty and Spring resolve: `..;/`, `..%09`), encoded backslashes
//!   or `%` (`%5c`, `%25`), `\`, `#`, whitespace, controls and non-ASCII.
//!   `%2F` is allowed and never decoded (GitLab's `group%2Fproject` ids).
//!
//! An accepted path is appended under the configured URL (`/x` and `x` are
//! the same), its query merged with the configured query.

use std::fmt;

use reqwest::Url;

const FORBIDDEN_HEADERS: &[&str] = &[
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
    // Routing and method overrides: proxies and frameworks act on these.
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

/// Header name prefixes refused like [`FORBIDDEN_HEADERS`].
const FORBIDDEN_PREFIXES: &[&str] = &["x-forwarded-", "proxy-"];

/// Longest path a generator may give.
const MAX_PATH: usize = 2048;

/// The rule a report broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyRule {
    /// A header the host owns (credentials, framing, webhook-*, content-type).
    ForbiddenHeader(String),
    /// A header name that is not an HTTP token.
    InvalidHeaderName(String),
    /// A header value with CR/LF, NUL, other control or invalid bytes.
    InvalidHeaderValue(String),
    /// The content type is not a valid header value.
    InvalidContentType,
    /// The path names a scheme (`https://…`, `x:`).
    PathScheme,
    /// The path names another host (`//host`) or has an empty segment.
    PathAuthority,
    /// The path climbs with `.` / `..` (also percent-encoded).
    PathDotSegment,
    /// The path has an encoded `/` or `\`, a `\`, or an encoded `%`.
    PathEncodedSeparator,
    /// The path has `#`, whitespace, control or non-ASCII characters, or is too long.
    PathInvalidCharacter,
    /// The reporter does not allow this HTTP method (`methods`).
    MethodNotAllowed {
        /// The method asked for.
        method: String,
        /// The reporter's `methods`.
        allowed: Vec<String>,
    },
}

impl fmt::Display for PolicyRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyRule::ForbiddenHeader(h) => write!(
                f,
                "header {h:?} is reserved for the host (credentials, framing, webhook-* and content-type cannot be set by a generator)"
            ),
            PolicyRule::InvalidHeaderName(h) => write!(f, "header name {h:?} is not a valid HTTP token"),
            PolicyRule::InvalidHeaderValue(h) => {
                write!(f, "header {h:?} has a value with CR/LF, NUL, control or invalid bytes")
            }
            PolicyRule::MethodNotAllowed { method, allowed } => {
                write!(f, "method {method} is not allowed by this reporter (methods = {allowed:?})")
            }
            PolicyRule::InvalidContentType => f.write_str("content type has CR/LF, control or invalid bytes"),
            PolicyRule::PathScheme => f.write_str("path must be relative: no scheme like `https:`"),
            PolicyRule::PathAuthority => f.write_str("path must not name a host (`//host`) or contain `//`"),
            PolicyRule::PathDotSegment => {
                f.write_str("path must not contain `.` or `..` segments (also percent-encoded)")
            }
            PolicyRule::PathEncodedSeparator => {
                f.write_str("path must not contain `\\`, or percent-encoded `/`, `\\` or `%`")
            }
            PolicyRule::PathInvalidCharacter => {
                f.write_str("path must be printable ASCII without spaces or `#`, at most 2048 bytes")
            }
        }
    }
}

/// A report refused by the request policy; it is never sent. `Display`:
/// ``generator `NAME`: report refused: RULE``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("generator `{generator}`: report refused: {rule}")]
pub struct PolicyError {
    /// The generator that produced the report.
    pub generator: String,
    /// The rule it broke.
    pub rule: PolicyRule,
}

fn value_ok(v: &str) -> bool {
    // RFC 9110 field-value: visible ASCII, SP, HTAB (obs-text refused: a
    // generator has no reason to send it and proxies disagree on it).
    v.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

fn name_ok(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Checks what a generator asks for. `headers` are the generator's extra
/// headers, `path` its relative path (or `None` for the configured URL).
pub fn check_report(
    generator: &str,
    content_type: &str,
    headers: &[(String, String)],
    path: Option<&str>,
) -> Result<(), PolicyError> {
    let refuse = |rule| Err(PolicyError { generator: generator.to_owned(), rule });
    if !value_ok(content_type) {
        return refuse(PolicyRule::InvalidContentType);
    }
    for (name, value) in headers {
        if !name_ok(name) {
            return refuse(PolicyRule::InvalidHeaderName(name.clone()));
        }
        let lower = name.to_ascii_lowercase();
        if FORBIDDEN_HEADERS.contains(&lower.as_str()) || FORBIDDEN_PREFIXES.iter().any(|p| lower.starts_with(p)) {
            return refuse(PolicyRule::ForbiddenHeader(name.clone()));
        }
        if !value_ok(value) {
            return refuse(PolicyRule::InvalidHeaderValue(name.clone()));
        }
    }
    if let Some(p) = path
        && let Err(rule) = check_path(p)
    {
        return refuse(rule);
    }
    Ok(())
}

fn check_path(p: &str) -> Result<(), PolicyRule> {
    if p.len() > MAX_PATH || !p.bytes().all(|b| (0x21..0x7f).contains(&b)) || p.contains('#') {
        return Err(PolicyRule::PathInvalidCharacter);
    }
    let (path, _query) = p.split_once('?').unwrap_or((p, ""));
    if path.contains('\\') {
        return Err(PolicyRule::PathEncodedSeparator);
    }
    // A colon in the first segment makes it a scheme (`https:`, `javascript:`).
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    if first.contains(':') {
        return Err(PolicyRule::PathScheme);
    }
    if path.starts_with("//") || path.contains("//") {
        return Err(PolicyRule::PathAuthority);
    }
    let lower = path.to_ascii_lowercase();
    // `%2F` stays allowed and is never decoded (GitLab's `group%2Fproject`
    // ids); an encoded backslash or `%` (double encoding) is refused.
    if lower.contains("%5c") || lower.contains("%25") {
        return Err(PolicyRule::PathEncodedSeparator);
    }
    for seg in path.split('/') {
        let decoded = decode_segment(seg).ok_or(PolicyRule::PathInvalidCharacter)?;
        // A server that does decode `%2F` would see separate segments there:
        // each piece must pass too (`..%2F..%2Fadmin` is refused).
        for piece in decoded.replace("%2f", "%2F").split("%2F") {
            // What Tomcat, Jetty and Spring resolve: `..;param`, `..%09`.
            let name = piece.split(';').next().unwrap_or("");
            let name = name.trim_end_matches(|c: char| c.is_whitespace() || c.is_control());
            if name == "." || name == ".." {
                return Err(PolicyRule::PathDotSegment);
            }
        }
    }
    Ok(())
}

/// A path segment percent-decoded as strict UTF-8 (overlong forms such as
/// `%c0%ae` are refused: `None`), `%2F` kept as it is.
fn decode_segment(seg: &str) -> Option<String> {
    let bytes = seg.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = seg.get(i + 1..i + 3)?;
            let b = u8::from_str_radix(hex, 16).ok()?;
            if b == b'/' {
                out.extend_from_slice(&bytes[i..i + 3]);
            } else {
                out.push(b);
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The URL a report goes to: `base` (already normalised, no trailing `/`)
/// with the checked relative `path` appended and queries merged. Returns
/// `None` if the result would not stay under `base` (defence in depth; the
/// checks above should already make that impossible).
pub(crate) fn target_url(base: &Url, path: Option<&str>) -> Option<Url> {
    let Some(p) = path.filter(|p| !p.is_empty()) else {
        return Some(base.clone());
    };
    check_path(p).ok()?;
    let (rel, query) = p.split_once('?').map_or((p, None), |(a, b)| (a, Some(b)));
    let mut url = base.clone();
    let base_path = base.path().trim_end_matches('/');
    let rel = rel.trim_start_matches('/');
    url.set_path(&format!("{base_path}/{rel}"));
    let merged = match (base.query(), query) {
        (Some(a), Some(b)) if !b.is_empty() => Some(format!("{a}&{b}")),
        (a, b) => a.map(str::to_owned).or(b.filter(|q| !q.is_empty()).map(str::to_owned)),
    };
    url.set_query(merged.as_deref());
    let under = url.path() == base_path || url.path().starts_with(&format!("{base_path}/")) || base_path.is_empty();
    (url.origin() == base.origin() && under).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_rule(p: &str) -> Option<PolicyRule> {
        check_report("g", "application/json", &[], Some(p)).err().map(|e| e.rule)
    }

    #[test]
    fn refuses_escapes() {
        for p in ["../x", "a/../../x", "%2e%2e/x", ".%2E/x", "a/%2E%2e", "./x", "a/."] {
            assert_eq!(path_rule(p), Some(PolicyRule::PathDotSegment), "{p}");
        }
        for p in ["//evil.example/x", "a//b"] {
            assert_eq!(path_rule(p), Some(PolicyRule::PathAuthority), "{p}");
        }
        for p in ["https://evil.example/", "javascript:x", "/http:x"] {
            assert_eq!(path_rule(p), Some(PolicyRule::PathScheme), "{p}");
        }
        for p in ["a%5c..", "a\\b", "%252e%252e"] {
            assert_eq!(path_rule(p), Some(PolicyRule::PathEncodedSeparator), "{p}");
        }
        // What servers resolve although it is not a plain `..`.
        for p in ["a/..;/admin", "..;x/y", "..%09/x", "a/.%20/b", "a/.;jsessionid=1/b"] {
            assert_eq!(path_rule(p), Some(PolicyRule::PathDotSegment), "{p}");
        }
        for p in ["%c0%ae%c0%ae/x", "a/%zz", "a/%e2%82"] {
            assert_eq!(path_rule(p), Some(PolicyRule::PathInvalidCharacter), "{p}");
        }
        // Allowed: GitLab project ids, dot-files, `..` inside a name.
        for p in ["projects/group%2Fproject/statuses/abc", "repos/ORG/.github/x", "a/..b/c", "a/b..", "v1/x;y"] {
            assert_eq!(path_rule(p), None, "{p}");
        }
        for p in ["a b", "a\r\nHost: x", "x#frag", "é"] {
            assert_eq!(path_rule(p), Some(PolicyRule::PathInvalidCharacter), "{p}");
        }
        assert_eq!(path_rule("statuses/abc?x=1&y=..").map(|r| r.to_string()), None);
    }

    #[test]
    fn refuses_headers() {
        let h = |n: &str, v: &str| check_report("gen", "", &[(n.into(), v.into())], None);
        let e = h("authorization", "Bearer x").unwrap_err();
        assert!(e.to_string().contains("gen") && e.to_string().contains("reserved"), "{e}");
        assert!(matches!(h("X-A", "a\r\nInjected: 1").unwrap_err().rule, PolicyRule::InvalidHeaderValue(_)));
        assert!(matches!(h("X A", "v").unwrap_err().rule, PolicyRule::InvalidHeaderName(_)));
        assert!(matches!(h("Transfer-Encoding", "chunked").unwrap_err().rule, PolicyRule::ForbiddenHeader(_)));
        for name in
            ["X-Original-URL", "X-HTTP-Method-Override", "Forwarded", "X-Forwarded-Host", "Proxy-Foo", "TE", "Upgrade"]
        {
            assert!(matches!(h(name, "x").unwrap_err().rule, PolicyRule::ForbiddenHeader(_)), "{name}");
        }
        assert!(h("X-Ok", "fine\tvalue").is_ok());
        assert!(check_report("g", "text/plain\r\nX: y", &[], None).is_err());
    }

    #[test]
    fn joins_under_base() {
        let base = Url::parse("https://h.example/api/hook?k=1").unwrap();
        let u = target_url(&base, Some("/repos/o/r?x=2")).unwrap();
        assert_eq!(u.as_str(), "https://h.example/api/hook/repos/o/r?k=1&x=2");
        let root = Url::parse("http://127.0.0.1:9/").unwrap();
        assert_eq!(target_url(&root, Some("a/b")).unwrap().as_str(), "http://127.0.0.1:9/a/b");
        assert_eq!(target_url(&base, None).unwrap(), base);
        assert!(target_url(&base, Some("../x")).is_none());
    }
}
