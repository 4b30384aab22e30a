//! The canonical encoding of an event: the bytes that are hashed.
//!
//! JSON with object keys sorted by their UTF-8 bytes, no whitespace, strings escaped as
//! RFC 8259 requires and nothing more (`"` `\` and U+0000..U+001F; every other character,
//! non-ASCII included, is written as its UTF-8 bytes), numbers as written, amounts as strings.
//! The encoding does not depend on how a `serde_json::Value` orders its keys, so the same
//! payload read back from PostgreSQL's `jsonb` (which reorders keys) encodes to the same bytes.

use serde_json::Value;

pub fn canonical_bytes(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_value(&map[key], out);
            }
            out.push(b'}');
        }
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for ch in s.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\u{0c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        let v = json!({"b": 1, "a": {"z": "x", "y": [1, "2", null]}, "ä": true});
        assert_eq!(
            String::from_utf8(canonical_bytes(&v)).unwrap(),
            r#"{"a":{"y":[1,"2",null],"z":"x"},"b":1,"ä":true}"#
        );
    }

    #[test]
    fn escapes_only_what_json_requires() {
        let v = json!("Müller \"GmbH\"\n\u{1}€");
        assert_eq!(
            String::from_utf8(canonical_bytes(&v)).unwrap(),
            "\"Müller \\\"GmbH\\\"\\n\\u0001€\""
        );
    }

    #[test]
    fn is_stable_through_a_reparse() {
        let v = json!({"amount": "119.00", "seq": 12, "text": "Grüße / Tab\t"});
        let bytes = canonical_bytes(&v);
        let back: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(canonical_bytes(&back), bytes);
    }
}
