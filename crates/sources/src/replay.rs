//! Replay of recorded events from files.
//!
//! A replay input is a file or a folder of files (read in name order). Each
//! file is JSON or JSON lines; each record is either
//! - an event: `{"kind": "build-finished", "payload": {...}}`, or
//! - a bare payload as Buildbot pushed it. Its kind is inferred: an object
//!   with `buildset` and `builds` is `buildset-complete`; a build object is
//!   `build-finished` when `complete` is true, else `build-new`.
//!
//! A file that holds a JSON array is read as a list of records.

use crate::event::{EventKind, SourceEvent};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Why recorded events could not be read. Each names the file (and line).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: not valid JSON: {source}")]
    Json { path: PathBuf, line: usize, source: serde_json::Error },
    #[error("{path}:{line}: {reason}")]
    Record { path: PathBuf, line: usize, reason: String },
}

/// Reads every event under `path` (a file or a folder), in order.
pub fn read_events(path: &Path) -> Result<Vec<SourceEvent>, ReplayError> {
    let io = |source| ReplayError::Io { path: path.to_path_buf(), source };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        return read_file(path);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("json" | "jsonl")))
        .collect();
    files.sort();
    let mut events = Vec::new();
    for file in files {
        events.extend(read_file(&file)?);
    }
    Ok(events)
}

/// Reads the events of one JSON or JSON-lines file.
pub fn read_file(path: &Path) -> Result<Vec<SourceEvent>, ReplayError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReplayError::Io { path: path.to_path_buf(), source })?;
    parse(path, &text)
}

/// Parses recorded events from `text`; `path` is only used in errors.
pub fn parse(path: &Path, text: &str) -> Result<Vec<SourceEvent>, ReplayError> {
    // A whole-file JSON document first (object or array), else JSON lines.
    if let Ok(doc) = serde_json::from_str::<Value>(text) {
        let records = match doc {
            Value::Array(items) => items,
            other => vec![other],
        };
        return records.into_iter().map(|r| record(path, 1, r)).collect();
    }
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|source| ReplayError::Json {
            path: path.to_path_buf(),
            line: line_no,
            source,
        })?;
        events.push(record(path, line_no, value)?);
    }
    Ok(events)
}

fn record(path: &Path, line: usize, value: Value) -> Result<SourceEvent, ReplayError> {
    let err = |reason: String| ReplayError::Record { path: path.to_path_buf(), line, reason };
    let Value::Object(obj) = value else {
        return Err(err("a record must be a JSON object".into()));
    };
    if let (Some(kind), Some(payload)) = (obj.get("kind"), obj.get("payload")) {
        let kind = kind.as_str().ok_or_else(|| err("\"kind\" must be a string".into()))?;
        let kind: EventKind = kind.parse().map_err(|e: crate::event::UnknownEventKind| err(e.to_string()))?;
        if !payload.is_object() {
            return Err(err("\"payload\" must be a JSON object".into()));
        }
        return Ok(SourceEvent::new(kind, payload.clone()));
    }
    let kind = if obj.contains_key("buildset") && obj.contains_key("builds") {
        EventKind::BuildsetComplete
    } else if obj.contains_key("buildid") {
        match obj.get("complete") {
            Some(Value::Bool(true)) => EventKind::BuildFinished,
            _ => EventKind::BuildNew,
        }
    } else {
        return Err(err("neither an event ({\"kind\", \"payload\"}) nor a Buildbot build or buildset payload".into()));
    };
    Ok(SourceEvent::new(kind, Value::Object(obj)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_kinds_and_reads_json_lines() {
        let text = concat!(
            "{\"buildid\": 1, \"complete\": false}\n",
            "{\"buildid\": 1, \"complete\": true}\n",
            "\n",
            "{\"buildset\": {\"bsid\": 3}, \"builds\": []}\n",
            "{\"kind\": \"build-new\", \"payload\": {\"buildid\": 2}}\n",
        );
        let kinds: Vec<EventKind> = parse(Path::new("x.jsonl"), text).unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [EventKind::BuildNew, EventKind::BuildFinished, EventKind::BuildsetComplete, EventKind::BuildNew]
        );
    }

    #[test]
    fn bad_records_name_file_and_line() {
        let err = parse(Path::new("rec.jsonl"), "{\"buildid\": 1}\n{\"nope\": 2}\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "rec.jsonl:2: neither an event ({\"kind\", \"payload\"}) nor a Buildbot build or buildset payload"
        );
        let err = parse(Path::new("rec.jsonl"), "{\"buildid\": 1}\n{oops\n").unwrap_err();
        assert!(err.to_string().starts_with("rec.jsonl:2: not valid JSON"), "{err}");
        let err = parse(Path::new("k.json"), "{\"kind\": \"build-started\", \"payload\": {}}").unwrap_err();
        assert!(err.to_string().contains("unknown event kind \"build-started\""), "{err}");
    }
}
