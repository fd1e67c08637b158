//! What the capture server recorded: requests parsed into comparable
//! form (side, reporter row, path, query, body, auth), the rules of
//! [`NORMALISATION`](super::NORMALISATION) applied, grouped per reporter,
//! build kind and side.

use super::*;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Side {
    Buildbot,
    Wasmpush,
}

/// One captured request, as compared.
#[derive(Clone, Debug)]
pub(crate) struct Req {
    pub(crate) side: Side,
    pub(crate) row: usize,
    pub(crate) method: String,
    /// Path after the prefix, without the query (normalised).
    pub(crate) path: String,
    /// Query parameters, sorted (rule QueryOrder).
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Value,
    /// `authorization` and `private-token` headers, lowercase names.
    pub(crate) auth: Vec<(String, String)>,
    pub(crate) content_type: String,
    pub(crate) at: f64,
}

impl Req {
    pub(crate) fn same(&self, other: &Req) -> Vec<String> {
        let mut diff = Vec::new();
        let mut field = |name: &str, a: String, b: String| {
            if a != b {
                diff.push(format!("{name}: Buildbot {a} | wasmpush {b}"));
            }
        };
        field("method", self.method.clone(), other.method.clone());
        field("path", self.path.clone(), other.path.clone());
        field("query", format!("{:?}", self.query), format!("{:?}", other.query));
        if self.body != other.body {
            field("body", self.body.to_string(), other.body.to_string());
        }
        field("auth", format!("{:?}", self.auth), format!("{:?}", other.auth));
        field("content type", self.content_type.clone(), other.content_type.clone());
        diff
    }

    /// The state this request reports, for the printed state order.
    pub(crate) fn state(&self) -> String {
        for k in ["state", "event", "value"] {
            if let Some(v) = self.body.get(k) {
                return v.as_str().map_or(v.to_string(), str::to_string);
            }
        }
        "comment".into()
    }
}

pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(v) => {
                    out.push(v);
                    i += 3;
                }
                Err(_) => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a capture line into a request of one row's side, or the rule
/// that drops it. None: not a compared reporter's request.
pub(crate) fn parse(c: &Value) -> Option<Result<Req, (Side, usize, Rule)>> {
    let full = c["path"].as_str()?;
    let (side, row, rest) = REPORTERS.iter().enumerate().find_map(|(i, row)| {
        let b = format!("/buildbot/{}", row.buildbot);
        let w = format!("/wasmpush/{}", row.plugin);
        if let Some(rest) = full.strip_prefix(&b).filter(|r| r.is_empty() || r.starts_with(['/', '?'])) {
            Some((Side::Buildbot, i, rest.to_string()))
        } else {
            full.strip_prefix(&w)
                .filter(|r| r.is_empty() || r.starts_with(['/', '?']))
                .map(|rest| (Side::Wasmpush, i, rest.to_string()))
        }
    })?;
    let method = c["method"].as_str().unwrap_or("POST").to_string();
    let (path, query) = rest.split_once('?').map_or((rest.clone(), ""), |(p, q)| (p.to_string(), q));
    let headers: Vec<(String, String)> = c["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h[0].as_str().unwrap().to_ascii_lowercase(), h[1].as_str().unwrap().to_string()))
        .collect();
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let raw = c["body"].as_str().unwrap_or("");
    let body = serde_json::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.to_string()));

    // Rules that drop a whole request.
    if applied(Rule::OAuthToken) && path.ends_with("/oauth2/access_token") {
        return Some(Err((side, row, Rule::OAuthToken)));
    }
    if applied(Rule::GitLabLookup) && method == "GET" && REPORTERS[row].buildbot == "GitLabStatusPush" {
        return Some(Err((side, row, Rule::GitLabLookup)));
    }
    let url = ["target_url", "url"].iter().find_map(|k| body.get(*k).and_then(Value::as_str)).unwrap_or("");
    if applied(Rule::BuildRequest) && side == Side::Buildbot && url.contains("#/buildrequests/") {
        return Some(Err((side, row, Rule::BuildRequest)));
    }
    // Rules that rewrite a field.
    let mut path = path;
    if applied(Rule::GitLabProject)
        && REPORTERS[row].buildbot == "GitLabStatusPush"
        && let Some(after) = path.strip_prefix("/api/v4/projects/")
    {
        let tail = after.find('/').map_or("", |i| &after[i..]);
        path = format!("/api/v4/projects/{{project}}{tail}");
    }
    let mut query: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    if applied(Rule::QueryOrder) {
        query.sort();
    }
    let mut auth: Vec<(String, String)> =
        headers.iter().filter(|(k, _)| k == "authorization" || k == "private-token").cloned().collect();
    auth.sort();
    let content_type = header("content-type").unwrap_or_default().split(';').next().unwrap().trim().to_string();
    Some(Ok(Req {
        side,
        row,
        method,
        path,
        query,
        body,
        auth,
        content_type,
        at: c["received_at"].as_f64().unwrap_or(0.0),
    }))
}

/// The build kind a request is about: a revision in its path, else the
/// build's URL in its body, else (a reporter that only reports on pull
/// requests) `pr`.
pub(crate) fn kind_of<'a>(req: &Req, builds: &'a [Value]) -> Option<&'a str> {
    for b in builds {
        let revs = b["revisions"].as_object().unwrap();
        if revs.values().any(|r| req.path.contains(r.as_str().unwrap())) {
            return b["kind"].as_str();
        }
    }
    let text = req.body.to_string();
    for b in builds {
        let url = b["url"].as_str().unwrap();
        let json_url = serde_json::to_string(url).unwrap();
        let json_url = json_url.trim_matches('"');
        for (i, _) in text.match_indices(json_url) {
            let next = text[i + json_url.len()..].chars().next();
            if !next.is_some_and(|c| c.is_ascii_digit()) {
                return b["kind"].as_str();
            }
        }
    }
    if REPORTERS[req.row].builds == PR || REPORTERS[req.row].builds == PR_FINISHED {
        return Some("pr");
    }
    None
}

pub(crate) fn read_captures(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Requests per (row, kind, side), in arrival order, and drops per (row, side, rule).
pub(crate) type Grouped = BTreeMap<(usize, String, Side), Vec<Req>>;
pub(crate) type Dropped = BTreeMap<(usize, Side, Rule), usize>;

pub(crate) fn group(captures: &[Value], builds: &[Value]) -> (Grouped, Dropped, Vec<Req>) {
    let mut grouped = Grouped::new();
    let mut dropped = Dropped::new();
    let mut unknown = Vec::new();
    let mut reqs: Vec<Req> = Vec::new();
    for c in captures {
        match parse(c) {
            None => {}
            Some(Err((side, row, rule))) => *dropped.entry((row, side, rule)).or_default() += 1,
            Some(Ok(r)) => reqs.push(r),
        }
    }
    reqs.sort_by(|a, b| a.at.total_cmp(&b.at));
    for r in reqs {
        match kind_of(&r, builds) {
            Some(k) => grouped.entry((r.row, k.to_string(), r.side)).or_default().push(r),
            None => unknown.push(r),
        }
    }
    (grouped, dropped, unknown)
}

pub(crate) fn covered(grouped: &Grouped) -> Vec<String> {
    let mut missing = Vec::new();
    for (i, row) in REPORTERS.iter().enumerate() {
        for kind in row.builds {
            for side in [Side::Buildbot, Side::Wasmpush] {
                if grouped.get(&(i, kind.to_string(), side)).is_none_or(Vec::is_empty) {
                    missing.push(format!("{} ↔ {}: no {side:?} request for build {kind}", row.buildbot, row.plugin));
                }
            }
        }
    }
    missing
}
