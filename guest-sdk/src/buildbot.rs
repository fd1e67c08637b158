//! What Buildbot's reporters share, for generators that reproduce them:
//! `Interpolate`-style property templates, repository URLs read like
//! Buildbot's `giturlparse`, safe path segments and percent-encoding, and
//! Python's own semantics where Buildbot leans on them (`str()`, `repr()`,
//! truth values, `urlparse`).
//!
//! One home for these so every catalog plugin renders `context` and finds
//! `owner/repo` the same way Buildbot 4.3.0 does (`buildbot/process/properties.py`,
//! `buildbot/util/giturlparse.py`).

use crate::payload::{Build, SourceStamp};
use serde_json::Value;

/// `%(prop:NAME)s` replaced by the build property NAME, as Buildbot's
/// `Interpolate` renders it: Python's `str()` of the value (strings as they
/// are, `True`/`False`, lists and dicts as Python writes them), `null` and
/// missing ones empty (`buildername` falls back to the builder's name).
/// `%(prop:NAME:-DEFAULT)s` gives DEFAULT when NAME is missing,
/// `%(prop:NAME:~DEFAULT)s` when it is missing or false (empty, `0`, ...),
/// `%(prop:NAME:+TEXT)s` gives TEXT when NAME is set, else nothing.
/// Anything else (`%(src:…)s`, `%(kw:…)s`, `:?`) is left as written.
pub fn interpolate(template: &str, build: &Build) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("%(prop:") {
        let Some(len) = rest[start..].find(")s") else { break };
        out.push_str(&rest[..start]);
        let spec = &rest[start + "%(prop:".len()..start + len];
        let (name, op) = match spec.split_once(':') {
            Some((n, o)) => (n, Some(o)),
            None => (spec, None),
        };
        let value = match build.properties.get(name) {
            Some(v) => Some(v.clone()),
            None if name == "buildername" => build.builder_name().map(|b| Value::String(b.to_string())),
            None => None,
        };
        match (op, &value) {
            (Some(o), _) if o.starts_with('-') => match &value {
                Some(v) => out.push_str(&rendered(v)),
                None => out.push_str(&o[1..]),
            },
            (Some(o), _) if o.starts_with('~') => match &value {
                Some(v) if python_truthy(v) => out.push_str(&rendered(v)),
                _ => out.push_str(&o[1..]),
            },
            (Some(o), _) if o.starts_with('+') => {
                if value.is_some() {
                    out.push_str(&o[1..]);
                }
            }
            (Some(_), _) => out.push_str(&rest[start..start + len + 2]),
            (None, Some(v)) => out.push_str(&rendered(v)),
            (None, None) => {}
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// A property value as `Interpolate` renders it: Python's `str()`, but
/// `None` as empty.
fn rendered(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        other => python_str(other),
    }
}

/// Python's `str()` of a JSON value, as `"%s" % value`, an f-string,
/// `str.format` or Jinja write it: strings as they are, anything else as
/// [`python_repr`] (`None`, `True`, `3`, `['a', 1]`, `{'k': 'v'}`).
pub fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => python_repr(other),
    }
}

/// Python's truth value of a JSON value (`None`, `False`, `0`, `''`, `[]`,
/// `{}` are false).
pub fn python_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Python's `repr()` of a JSON value (`None`, `True`, `'text'`, `[1, 'a']`,
/// `{'k': 'v'}`).
pub fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
            let mut out = String::from(quote);
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c == quote => {
                        out.push('\\');
                        out.push(c);
                    }
                    c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push(quote);
            out
        }
        Value::Array(a) => format!("[{}]", a.iter().map(python_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{}: {}", python_repr(&Value::String(k.clone())), python_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// (owner, repo) of a sourcestamp: its `project` when that is `owner/repo`,
/// else parsed from its `repository` URL ([`parse_git_url`]). `None` when
/// neither gives a usable pair (Buildbot then skips the sourcestamp).
pub fn owner_repo(stamp: &SourceStamp) -> Option<(String, String)> {
    let pair = match stamp.project.split_once('/') {
        Some((owner, repo)) if !stamp.project.is_empty() && !repo.contains('/') => {
            Some((owner.to_string(), repo.to_string()))
        }
        _ if !stamp.repository.is_empty() => parse_git_url(&stamp.repository),
        _ => None,
    }?;
    let usable = |s: &str| !s.is_empty() && s != "." && s != "..";
    (usable(&pair.0) && usable(&pair.1)).then_some(pair)
}

/// Buildbot's `giturlparse`: `[proto://][user[:password]@]domain(:[port/]|/)[owner/]repo[.git]`
/// → (owner, repo). The owner may hold `/` (GitLab groups: `group/sub`).
pub fn parse_git_url(url: &str) -> Option<(String, String)> {
    let rest = ["https://", "http://", "ssh://", "git://"].iter().find_map(|p| url.strip_prefix(p)).unwrap_or(url);
    // `user[:password]@` (the user holds neither `:` nor `@`, the password
    // anything): the regex tries the last `@` first, then none at all.
    let mut starts: Vec<usize> = rest
        .match_indices('@')
        .map(|(i, _)| i)
        .filter(|&i| !rest[..i].split(':').next().unwrap_or_default().contains('@'))
        .map(|i| i + 1)
        .collect();
    starts.reverse();
    starts.push(0);
    starts.into_iter().find_map(|start| after_user(&rest[start..]))
}

/// `domain(:[port/]|/)[owner/]repo[.git]` → (owner, repo).
fn after_user(s: &str) -> Option<(String, String)> {
    let sep = s.find([':', '/']).filter(|&i| i > 0)?;
    let mut path = &s[sep + 1..];
    if s.as_bytes()[sep] == b':'
        && let Some((port, after)) = path.split_once('/')
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
    {
        path = after;
    }
    let (owner, repo) = path.rsplit_once('/')?;
    let repo = repo.strip_suffix(".git").filter(|r| !r.is_empty()).unwrap_or(repo);
    (!owner.is_empty() && !repo.is_empty()).then(|| (owner.to_string(), repo.to_string()))
}

/// The pull request number in a branch name, as Buildbot's GitHub reporters
/// read it (`re.search(r"refs/pull/([0-9]*)/(head|merge)", branch)`): the
/// first `refs/pull/<digits>/head` or `/merge` anywhere in the name. `None`
/// when there is none, or when its number is empty (Buildbot would then post
/// to `issues//comments`).
pub fn pull_request(branch: &str) -> Option<&str> {
    let mut from = 0;
    while let Some(at) = branch[from..].find("refs/pull/") {
        let start = from + at + "refs/pull/".len();
        let digits = branch[start..].bytes().take_while(u8::is_ascii_digit).count();
        let after = &branch[start + digits..];
        if after.starts_with("/head") || after.starts_with("/merge") {
            return (digits > 0).then(|| &branch[start..start + digits]);
        }
        from = start;
    }
    None
}

/// A path segment: anything outside `A-Za-z0-9-._~` percent-encoded, so a
/// hostile project name or branch cannot add segments or a query (`/`
/// becomes `%2F`, as GitLab's URL-encoded project paths need).
pub fn segment(s: &str) -> String {
    percent_encode(s, b"")
}

/// `s` with every byte outside RFC 3986's unreserved characters
/// (`A-Za-z0-9-._~`) and `safe` written `%XX` (upper-case hex).
pub fn percent_encode(s: &str, safe: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || safe.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Python's `urllib.parse.urlparse(url)`: (scheme, lower-cased, and path),
/// the path without netloc, query, fragment and `;params`.
pub fn urlparse(url: &str) -> (String, &str) {
    let mut scheme = String::new();
    let url = url.trim_start_matches(|c: char| c <= ' ');
    let mut rest = url;
    if let Some(i) = url.find(':')
        && i > 0
        && url.as_bytes()[0].is_ascii_alphabetic()
        && url[..i].bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        scheme = url[..i].to_ascii_lowercase();
        rest = &url[i + 1..];
    }
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        rest = &after[end..];
    }
    if let Some(i) = rest.find('#') {
        rest = &rest[..i];
    }
    if let Some(i) = rest.find('?') {
        rest = &rest[..i];
    }
    const USES_PARAMS: &[&str] = &[
        "", "ftp", "hdl", "prospero", "http", "imap", "https", "shttp", "rtsp", "rtsps", "rtspu", "sip", "sips", "mms",
        "sftp", "tel",
    ];
    if USES_PARAMS.contains(&scheme.as_str()) && rest.contains(';') {
        let i = match rest.rfind('/') {
            Some(slash) => rest[slash..].find(';').map(|j| slash + j),
            None => rest.find(';'),
        };
        if let Some(i) = i {
            rest = &rest[..i];
        }
    }
    (scheme, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_urls_read_like_giturlparse() {
        let p = |u: &str| parse_git_url(u).map(|(o, r)| format!("{o}/{r}"));
        assert_eq!(p("https://github.com/o/r.git").as_deref(), Some("o/r"));
        assert_eq!(p("git@github.com:o/r.git").as_deref(), Some("o/r"));
        assert_eq!(p("ssh://git@host:22/o/r").as_deref(), Some("o/r"));
        assert_eq!(p("https://gitlab.example/group/sub/proj").as_deref(), Some("group/sub/proj"));
        assert_eq!(p("nonsense"), None);
    }

    #[test]
    fn interpolate_like_buildbot() {
        let build: Build = serde_json::from_value(serde_json::json!({
            "buildid": 1, "number": 2, "builderid": 3,
            "properties": {
                "empty": ["", "x"], "none": [null, "x"], "n": [3, "x"], "f": [false, "x"],
                "j": [{"a": [1, "it's", true, null]}, "x"], "s": ["v", "x"]
            },
            "builder": {"builderid": 3, "name": "b"}
        }))
        .unwrap();
        let i = |t: &str| interpolate(t, &build);
        assert_eq!(
            i("%(prop:s)s/%(prop:n)s/%(prop:f)s/%(prop:none)s/%(prop:missing)s/%(prop:buildername)s"),
            "v/3/False///b"
        );
        assert_eq!(i("%(prop:j)s"), r#"{'a': [1, "it's", True, None]}"#);
        assert_eq!(i("%(prop:empty:-d)s|%(prop:missing:-d)s|%(prop:none:-d)s"), "|d|");
        assert_eq!(i("%(prop:empty:~d)s|%(prop:f:~d)s|%(prop:s:~d)s"), "d|d|v");
        assert_eq!(i("%(prop:empty:+yes)s|%(prop:missing:+yes)s"), "yes|");
        assert_eq!(i("%(src:cb:branch)s %(prop:s:?|a|b)s"), "%(src:cb:branch)s %(prop:s:?|a|b)s");
    }

    #[test]
    fn pull_requests_read_like_buildbot() {
        assert_eq!(pull_request("refs/pull/42/merge"), Some("42"));
        assert_eq!(pull_request("refs/pull/7/head"), Some("7"));
        assert_eq!(pull_request("x/refs/pull/a/head refs/pull/9/headless"), Some("9"));
        assert_eq!(pull_request("refs/pull//head"), None);
        assert_eq!(pull_request("refs/pull/42"), None);
        assert_eq!(pull_request("main"), None);
    }

    #[test]
    fn segments_cannot_escape() {
        assert_eq!(segment("a/b?c"), "a%2Fb%3Fc");
        assert_eq!(segment("v1.2-x_y~"), "v1.2-x_y~");
    }

    #[test]
    fn percent_encode_keeps_what_is_safe() {
        assert_eq!(percent_encode("a b/c@d", b"/@"), "a%20b/c@d");
        assert_eq!(percent_encode("é", b""), "%C3%A9");
    }

    #[test]
    fn urlparse_like_python() {
        assert_eq!(urlparse("https://h.example/a/b?x=1#y"), ("https".into(), "/a/b"));
        assert_eq!(urlparse("HTTP://h/a;p/b;q"), ("http".into(), "/a;p/b"));
        assert_eq!(urlparse("git@bitbucket.org:o/r.git"), (String::new(), "git@bitbucket.org:o/r.git"));
        assert_eq!(urlparse("ssh://git@h:7999/o/r"), ("ssh".into(), "/o/r"));
        assert_eq!(urlparse("  //h/p"), (String::new(), "/p"));
    }

    #[test]
    fn python_str_repr_truthy() {
        let v = serde_json::json!({"a": [1, true, null, "it's", "q\"'\n"]});
        assert_eq!(python_str(&v), r#"{'a': [1, True, None, "it's", 'q"\'\n']}"#);
        assert_eq!(python_str(&Value::Null), "None");
        assert_eq!(python_str(&serde_json::json!("s")), "s");
        assert_eq!(python_repr(&serde_json::json!("s")), "'s'");
        let t = |v: Value| python_truthy(&v);
        assert!(!t(Value::Null) && !t(serde_json::json!(0)) && !t(serde_json::json!(0.0)) && !t(serde_json::json!("")));
        assert!(!t(serde_json::json!([])) && !t(serde_json::json!({})) && !t(serde_json::json!(false)));
        assert!(
            t(serde_json::json!(1))
                && t(serde_json::json!("0"))
                && t(serde_json::json!([0]))
                && t(serde_json::json!(true))
        );
    }
}
