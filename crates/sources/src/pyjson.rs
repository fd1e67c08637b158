//! Buildbot's body serialisation: Python `json.dumps(value)` with its
//! defaults (separators `", "` and `": "`, `ensure_ascii=True`, keys in
//! insertion order, no trailing newline), spec §c.1.
//!
//! Used to compare payloads with captured bodies byte for byte. Numbers are
//! written with the text they were parsed from (the workspace enables
//! serde_json's `arbitrary_precision`), so `1e-07` or `3.14159` survive a
//! parse/serialise round trip exactly as Python wrote them.

use serde_json::Value;
use std::fmt::Write as _;

/// `json.dumps(value)` as Python writes it.
pub fn dumps(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, v);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, k);
                out.push_str(": ");
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_python_defaults() {
        let v: Value = serde_json::from_str(r#"{"b": [1, 2.50, 1e-07, {}], "a": "h\u00e9\n\"\u2713\ud83d\ude00\u007f", "c": null, "d": []}"#).unwrap();
        // python3 -c 'import json; print(json.dumps(json.loads(...)))' minus the number text,
        // which Python would re-render (2.5, 1e-07) but Buildbot's own text is kept here.
        assert_eq!(
            dumps(&v),
            r#"{"b": [1, 2.50, 1e-07, {}], "a": "h\u00e9\n\"\u2713\ud83d\ude00\u007f", "c": null, "d": []}"#
        );
    }
}
