//! Turning one POST of Buildbot's `HttpStatusPush` into a [`SourceEvent`].
//!
//! Pure (no I/O) so it can be property-tested: every input gives either an
//! event or a [`Rejection`] (HTTP status + one-line reason), never a panic.

use crate::event::{EventKind, SourceEvent};
use serde_json::{Map, Value};

/// Header that names the event kind explicitly (overrides inference).
pub const EVENT_HEADER: &str = "x-wasmpush-event";

/// Why a POST was refused: an HTTP 4xx/5xx status and a one-line reason
/// (no newline, no body echo, no credential).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {reason}")]
pub struct Rejection {
    /// HTTP status code sent back.
    pub status: u16,
    /// One-line reason sent back as `text/plain` and logged.
    pub reason: String,
}

impl Rejection {
    pub(crate) fn new(status: u16, reason: impl Into<String>) -> Self {
        let reason: String = reason.into();
        // One line, bounded: never echo a whole body back.
        let mut line: String = reason.replace(['\r', '\n'], " ");
        if line.len() > 300 {
            let mut cut = 300;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push('…');
        }
        Rejection { status, reason: line }
    }
}

/// Checks the `Content-Type`: `application/json` or any `application/*+json`,
/// with an optional `charset=utf-8`. Buildbot always sends
/// `application/json` for JSON bodies (spec §c.1).
pub fn check_content_type(content_type: Option<&str>) -> Result<(), Rejection> {
    let Some(ct) = content_type else {
        return Err(Rejection::new(
            415,
            "missing Content-Type (expected application/json; Buildbot sends none when its formatter produced a string body)",
        ));
    };
    let mut parts = ct.split(';');
    let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let json = media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"));
    if !json {
        return Err(Rejection::new(415, format!("unsupported Content-Type {media:?} (expected application/json)")));
    }
    for param in parts {
        let (k, v) = param.split_once('=').unwrap_or((param, ""));
        if k.trim().eq_ignore_ascii_case("charset") {
            let v = v.trim().trim_matches('"');
            if !v.eq_ignore_ascii_case("utf-8") && !v.eq_ignore_ascii_case("utf8") {
                return Err(Rejection::new(415, format!("unsupported charset {v:?} (expected utf-8)")));
            }
        }
    }
    Ok(())
}

/// The kind forced by the request, if any: the last path segment
/// (`.../build-finished`) or the `X-Wasmpush-Event` header. A header with an
/// unknown kind is an error; a path segment that is not a kind is ignored.
pub fn kind_override(path: &str, header: Option<&str>) -> Result<Option<EventKind>, Rejection> {
    if let Some(h) = header {
        return h
            .trim()
            .parse::<EventKind>()
            .map(Some)
            .map_err(|e| Rejection::new(400, format!("X-Wasmpush-Event: {e}")));
    }
    let path = path.split('?').next().unwrap_or("");
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    Ok(last.parse::<EventKind>().ok())
}

/// Parses a body Buildbot's HttpStatusPush posted.
///
/// Accepted shapes (spec §c): a build object (`buildid` is an integer) →
/// `build-finished` if `complete` is `true`, else `build-new`;
/// `{"buildset": {...}, "builds": [...]}` (BuildSetCombinedStatusGenerator)
/// → `buildset-complete`; a JSON list of builds (BuildSetStatusGenerator with
/// a list formatter) → `buildset-complete` with `buildset` taken from the
/// first build. `forced` (see [`kind_override`]) replaces the inferred kind
/// but must fit the shape. The payload keeps the key order and number text
/// of the body.
pub fn parse_body(body: &[u8], forced: Option<EventKind>) -> Result<SourceEvent, Rejection> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Rejection::new(400, "empty body (expected a Buildbot build or buildset JSON object)"));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| Rejection::new(400, format!("malformed JSON: {e}")))?;
    let (inferred, payload) = match value {
        Value::Object(obj) => classify_object(obj)?,
        Value::Array(items) => (EventKind::BuildsetComplete, buildset_from_list(items)?),
        other => {
            return Err(Rejection::new(
                422,
                format!("a JSON {} is not a Buildbot payload (expected a build or buildset object)", json_type(&other)),
            ));
        }
    };
    let kind = match forced {
        None => inferred,
        Some(k) => {
            let fits = (k == EventKind::BuildsetComplete) == (inferred == EventKind::BuildsetComplete);
            if !fits {
                return Err(Rejection::new(422, format!("event kind {k} does not fit a {inferred} payload")));
            }
            k
        }
    };
    Ok(SourceEvent::new(kind, payload))
}

fn classify_object(obj: Map<String, Value>) -> Result<(EventKind, Value), Rejection> {
    // A build object has a "buildset" too; a buildset payload has "builds" and no "buildid".
    if obj.contains_key("builds") && !obj.contains_key("buildid") {
        if !obj.get("buildset").is_some_and(Value::is_object) {
            return Err(Rejection::new(422, "buildset payload: \"buildset\" must be an object"));
        }
        match obj.get("builds") {
            Some(Value::Array(builds)) if builds.iter().all(Value::is_object) => {}
            _ => return Err(Rejection::new(422, "buildset payload: \"builds\" must be a list of build objects")),
        }
        return Ok((EventKind::BuildsetComplete, Value::Object(obj)));
    }
    if obj.get("buildid").is_none_or(|v| v.as_i64().is_none()) {
        return Err(Rejection::new(
            422,
            "not a Buildbot payload: a build needs an integer \"buildid\", a buildset needs \"buildset\" and \"builds\"",
        ));
    }
    let kind = match obj.get("complete") {
        Some(Value::Bool(true)) => EventKind::BuildFinished,
        _ => EventKind::BuildNew,
    };
    Ok((kind, Value::Object(obj)))
}

fn buildset_from_list(items: Vec<Value>) -> Result<Value, Rejection> {
    let Some(first) = items.first() else {
        return Err(Rejection::new(422, "an empty JSON list is not a Buildbot payload"));
    };
    let buildset = first.get("buildset").filter(|b| b.is_object()).cloned().ok_or_else(|| {
        Rejection::new(422, "a JSON list body must hold build objects with a \"buildset\" (BuildSetStatusGenerator)")
    })?;
    if !items.iter().all(|b| b.get("buildid").is_some_and(|v| v.as_i64().is_some())) {
        return Err(Rejection::new(422, "a JSON list body must hold build objects with an integer \"buildid\""));
    }
    let mut obj = Map::new();
    obj.insert("buildset".into(), buildset);
    obj.insert("builds".into(), Value::Array(items));
    Ok(Value::Object(obj))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_kinds_like_replay() {
        let e = parse_body(br#"{"buildid": 3, "complete": true, "x": 1.50}"#, None).unwrap();
        assert_eq!(e.kind, EventKind::BuildFinished);
        assert_eq!(serde_json::to_string(&e.payload).unwrap(), r#"{"buildid":3,"complete":true,"x":1.50}"#);
        assert_eq!(parse_body(br#"{"buildid": 3, "complete": false}"#, None).unwrap().kind, EventKind::BuildNew);
        let bs = parse_body(br#"{"buildset": {"bsid": 4}, "builds": []}"#, None).unwrap();
        assert_eq!((bs.kind, bs.bsid()), (EventKind::BuildsetComplete, Some(4)));
        let list = parse_body(br#"[{"buildid": 1, "buildset": {"bsid": 9}}]"#, None).unwrap();
        assert_eq!((list.kind, list.bsid()), (EventKind::BuildsetComplete, Some(9)));
    }

    #[test]
    fn overrides_and_their_limits() {
        let forced = parse_body(br#"{"buildid": 3}"#, Some(EventKind::BuildFinished)).unwrap();
        assert_eq!(forced.kind, EventKind::BuildFinished);
        let err = parse_body(br#"{"buildid": 3}"#, Some(EventKind::BuildsetComplete)).unwrap_err();
        assert_eq!(
            (err.status, err.reason.as_str()),
            (422, "event kind buildset-complete does not fit a build-new payload")
        );
        assert_eq!(kind_override("/hook/build-new", None).unwrap(), Some(EventKind::BuildNew));
        assert_eq!(kind_override("/hook/other?x=1", None).unwrap(), None);
        assert_eq!(kind_override("/", Some("buildset-complete")).unwrap(), Some(EventKind::BuildsetComplete));
        assert_eq!(kind_override("/", Some("nope")).unwrap_err().status, 400);
    }

    #[test]
    fn bad_bodies_are_4xx_with_one_line() {
        for (body, status) in [
            (&b""[..], 400),
            (b"  \n", 400),
            (b"{oops", 400),
            (b"\xff\xfe", 400),
            (b"\"a string\"", 422),
            (b"[]", 422),
            (b"[1]", 422),
            (br#"{"buildid": "7"}"#, 422),
            (br#"{"buildset": 1, "builds": []}"#, 422),
            (br#"{"buildset": {}, "builds": [1]}"#, 422),
        ] {
            let err = parse_body(body, None).unwrap_err();
            assert_eq!(err.status, status, "{body:?}: {err}");
            assert!(!err.reason.contains('\n'));
        }
    }

    #[test]
    fn content_types() {
        assert!(check_content_type(Some("application/json")).is_ok());
        assert!(check_content_type(Some("Application/JSON; charset=UTF-8")).is_ok());
        assert!(check_content_type(Some("application/vnd.api+json")).is_ok());
        assert_eq!(check_content_type(None).unwrap_err().status, 415);
        assert_eq!(check_content_type(Some("text/plain")).unwrap_err().status, 415);
        assert_eq!(check_content_type(Some("application/json; charset=latin1")).unwrap_err().status, 415);
    }
}
