//! JSON written exactly as Buildbot writes it.
//!
//! Buildbot's `HttpStatusPush` sends `json.dumps(body)` with Python's
//! defaults: `", "` and `": "` separators, no trailing newline, keys in
//! insertion order, and `ensure_ascii=True` (every character outside
//! printable ASCII becomes `\uXXXX`, lower-case hex, with surrogate pairs).
//! Numbers are written with the text they were parsed from (serde_json's
//! `arbitrary_precision`), so integers stay integers and floats keep
//! Python's `repr`.

use serde_json::Value;

/// `value` as Python's `json.dumps(value)` would write it.
pub fn python_json(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value);
    out
}

/// [`python_json`] as bytes, ready to be a report body.
pub fn python_json_bytes(value: &Value) -> Vec<u8> {
    python_json(value).into_bytes()
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, &n.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(out, k);
                out.push_str(": ");
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// Numbers parsed from Python's output are copied as they are. Numbers made
/// in Rust (`1e16`) get Python's exponent form (`1e+16`, `1e-05`).
fn write_number(out: &mut String, text: &str) {
    match text.find(['e', 'E']) {
        None => out.push_str(text),
        Some(pos) => {
            out.push_str(&text[..pos]);
            out.push('e');
            let exp = &text[pos + 1..];
            let (sign, digits) = match exp.as_bytes().first() {
                Some(b'-') => ('-', &exp[1..]),
                Some(b'+') => ('+', &exp[1..]),
                _ => ('+', exp),
            };
            out.push(sign);
            if digits.len() < 2 {
                out.push('0');
            }
            out.push_str(digits);
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04x}", unit));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> String {
        python_json(&serde_json::from_str(text).unwrap())
    }

    #[test]
    fn separators_and_order_match_python() {
        assert_eq!(
            roundtrip(r#"{"b":1,"a":[1,2,{"z":null,"y":true}]}"#),
            r#"{"b": 1, "a": [1, 2, {"z": null, "y": true}]}"#
        );
    }

    #[test]
    fn non_ascii_is_escaped_like_ensure_ascii() {
        // é, ✓, and an astral character (surrogate pair), plus DEL and a control char.
        let s = Value::String("h\u{e9}llo \u{2713} \u{1F600} \u{7f}\u{1}".into());
        assert_eq!(python_json(&s), r#""h\u00e9llo \u2713 \ud83d\ude00 \u007f\u0001""#);
        assert_eq!(roundtrip(r#""a\"b\\c\n\t\r\b\f/""#), r#""a\"b\\c\n\t\r\b\f/""#);
    }

    #[test]
    fn numbers_keep_their_text() {
        assert_eq!(
            roundtrip("[1, 1.5, 1e+16, 1.5e-05, -0.0, 12345678901234567890123]"),
            "[1, 1.5, 1e+16, 1.5e-05, -0.0, 12345678901234567890123]"
        );
        assert_eq!(python_json(&serde_json::json!([1e16, 2.5e-7])), "[1e+16, 2.5e-07]");
    }
}
