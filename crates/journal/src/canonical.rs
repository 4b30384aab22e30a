//! The canonical encoding of an event: the bytes that are hashed.
//!
//! JSON with object keys sorted by their UTF-8 bytes, no whitespace, strings escaped as
//! RFC 8259 requires and nothing more (`"` `\` and U+0000..U+001F; every other character,
//! non-ASCII included, is written as its UTF-8 bytes), numbers as written, amounts as strings.
//! The encoding does not depend on how a `serde_json::Value` orders its keys, so the same
//! payload read back from PostgreSQL's `jsonb` (which reorders keys) encodes to the same bytes.

use serde_json::Value;

/// The canonical bytes of a JSON text, written without building a `serde_json::Value`: for
/// `kontor verify`, which re-encodes every stored payload (PostgreSQL's `jsonb` hands them out
/// with its own key order and spacing). Whenever [`CanonicalJson::encode`] answers, its bytes
/// are `canonical_bytes(&serde_json::from_str(text)?)` (a proptest holds it to that); a text it
/// is not sure of (not JSON, an escaped key, a key twice, an exponent, a
/// lone surrogate escape, nesting deeper than 100) is left to the caller (`None`), who parses it into a `Value`.
#[derive(Default)]
pub struct CanonicalJson {
    out: Vec<u8>,
    scratch: Vec<u8>,
    /// Members of the objects being written: (key start, key end) in the text, (value start,
    /// value end) in `out`. After `encode`, the members of the top-level object, sorted.
    members: Vec<(usize, usize, usize, usize)>,
    text_len: usize,
    top_object: bool,
    /// The last key orders seen, by number of keys.
    orders: [KeyOrder; ORDER_SLOTS],
}

const ORDER_SLOTS: usize = 8;

/// An object's keys as they came (concatenated, with their ends) and the order that sorts them.
#[derive(Default)]
struct KeyOrder {
    keys: Vec<u8>,
    ends: Vec<usize>,
    sorted: Vec<usize>,
}

struct NotFast;

const MAX_DEPTH: usize = 100;

impl CanonicalJson {
    pub fn new() -> CanonicalJson {
        CanonicalJson::default()
    }

    /// The canonical bytes of `text`, or None when the caller must parse it into a `Value`.
    pub fn encode(&mut self, text: &str) -> Option<&[u8]> {
        self.out.clear();
        self.members.clear();
        self.text_len = text.len();
        self.top_object = false;
        let s = text.as_bytes();
        let mut i = skip_ws(s, 0);
        self.top_object = s.get(i) == Some(&b'{');
        i = self.value(s, i, 0).ok()?;
        if skip_ws(s, i) != s.len() {
            return None;
        }
        if !self.top_object {
            self.members.clear();
        }
        Some(&self.out)
    }

    /// After a successful `encode` of `text`: `value[key].as_str()` of the encoded value.
    pub fn top_level_str<'s>(&'s self, text: &str, key: &str) -> Option<std::borrow::Cow<'s, str>> {
        if text.len() != self.text_len {
            return None;
        }
        let (_, _, vs, ve) = *self
            .members
            .iter()
            .find(|m| &text.as_bytes()[m.0..m.1] == key.as_bytes())?;
        let v = &self.out[vs..ve];
        if v.first() != Some(&b'"') {
            return None;
        }
        if !v.contains(&b'\\') {
            return std::str::from_utf8(&v[1..v.len() - 1])
                .ok()
                .map(std::borrow::Cow::Borrowed);
        }
        serde_json::from_slice::<String>(v)
            .ok()
            .map(std::borrow::Cow::Owned)
    }

    fn value(&mut self, s: &[u8], i: usize, depth: usize) -> Result<usize, NotFast> {
        match s.get(i) {
            Some(b'{') => self.object(s, i + 1, depth + 1),
            Some(b'[') => self.array(s, i + 1, depth + 1),
            Some(b'"') => string(s, i + 1, &mut self.out),
            Some(b't') => self.literal(s, i, b"true"),
            Some(b'f') => self.literal(s, i, b"false"),
            Some(b'n') => self.literal(s, i, b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(s, i),
            _ => Err(NotFast),
        }
    }

    fn literal(&mut self, s: &[u8], i: usize, word: &[u8]) -> Result<usize, NotFast> {
        if s.len() >= i + word.len() && &s[i..i + word.len()] == word {
            self.out.extend_from_slice(word);
            Ok(i + word.len())
        } else {
            Err(NotFast)
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, copied as written (as serde_json keeps it); exponents
    /// are left to serde_json, which rewrites them.
    fn number(&mut self, s: &[u8], start: usize) -> Result<usize, NotFast> {
        let mut i = start;
        if s[i] == b'-' {
            i += 1;
        }
        match s.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while matches!(s.get(i), Some(b'0'..=b'9')) {
                    i += 1;
                }
            }
            _ => return Err(NotFast),
        }
        if s.get(i) == Some(&b'.') {
            i += 1;
            let digits = i;
            while matches!(s.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            if i == digits {
                return Err(NotFast);
            }
        }
        if matches!(s.get(i), Some(b'e' | b'E')) {
            return Err(NotFast);
        }
        self.out.extend_from_slice(&s[start..i]);
        Ok(i)
    }

    fn array(&mut self, s: &[u8], mut i: usize, depth: usize) -> Result<usize, NotFast> {
        if depth > MAX_DEPTH {
            return Err(NotFast);
        }
        self.out.push(b'[');
        i = skip_ws(s, i);
        if s.get(i) == Some(&b']') {
            self.out.push(b']');
            return Ok(i + 1);
        }
        loop {
            i = self.value(s, i, depth)?;
            i = skip_ws(s, i);
            match s.get(i) {
                Some(b',') => {
                    self.out.push(b',');
                    i = skip_ws(s, i + 1);
                }
                Some(b']') => {
                    self.out.push(b']');
                    return Ok(i + 1);
                }
                _ => return Err(NotFast),
            }
        }
    }

    fn object(&mut self, s: &[u8], mut i: usize, depth: usize) -> Result<usize, NotFast> {
        if depth > MAX_DEPTH {
            return Err(NotFast);
        }
        let base = self.members.len();
        let start = self.out.len();
        i = skip_ws(s, i);
        if s.get(i) == Some(&b'}') {
            self.out.extend_from_slice(b"{}");
            return Ok(i + 1);
        }
        loop {
            if s.get(i) != Some(&b'"') {
                return Err(NotFast);
            }
            let key_start = i + 1;
            let mut k = key_start;
            loop {
                match s.get(k) {
                    Some(b'"') => break,
                    Some(b'\\') | None => return Err(NotFast),
                    Some(&c) if c < 0x20 => return Err(NotFast),
                    Some(_) => k += 1,
                }
            }
            i = skip_ws(s, k + 1);
            if s.get(i) != Some(&b':') {
                return Err(NotFast);
            }
            i = skip_ws(s, i + 1);
            let value_start = self.out.len();
            i = self.value(s, i, depth)?;
            self.members
                .push((key_start, k, value_start, self.out.len()));
            i = skip_ws(s, i);
            match s.get(i) {
                Some(b',') => i = skip_ws(s, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return Err(NotFast),
            }
        }
        let members = &mut self.members[base..];
        // The sorted order of these keys: the payloads of a journal have the same keys in the
        // same order over and over, so the last order seen for as many keys is tried first.
        let order = &mut self.orders[members.len() % ORDER_SLOTS];
        let known = order.ends.len() == members.len()
            && members.iter().enumerate().all(|(n, m)| {
                let from = if n == 0 { 0 } else { order.ends[n - 1] };
                s[m.0..m.1] == order.keys[from..order.ends[n]]
            });
        if !known {
            order.keys.clear();
            order.ends.clear();
            order.sorted.clear();
            order.sorted.extend(0..members.len());
            let key = |i: usize| &s[members[i].0..members[i].1];
            order.sorted.sort_unstable_by(|&a, &b| key(a).cmp(key(b)));
            if order.sorted.windows(2).any(|w| key(w[0]) == key(w[1])) {
                return Err(NotFast); // a key twice: serde_json keeps the last, leave it to it
            }
            for m in members.iter() {
                order.keys.extend_from_slice(&s[m.0..m.1]);
                order.ends.push(order.keys.len());
            }
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.out[start..]);
        self.out.truncate(start);
        self.out.push(b'{');
        for (n, &index) in order.sorted.iter().enumerate() {
            let m = &mut members[index];
            if n > 0 {
                self.out.push(b',');
            }
            self.out.push(b'"');
            self.out.extend_from_slice(&s[m.0..m.1]);
            self.out.extend_from_slice(b"\":");
            let value_start = self.out.len();
            self.out
                .extend_from_slice(&self.scratch[m.2 - start..m.3 - start]);
            m.2 = value_start;
            m.3 = self.out.len();
        }
        self.out.push(b'}');
        if depth > 1 {
            self.members.truncate(base);
        }
        Ok(i)
    }
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while matches!(s.get(i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        i += 1;
    }
    i
}

fn hex4(s: &[u8], at: usize) -> Result<u32, NotFast> {
    let hex = s.get(at..at + 4).ok_or(NotFast)?;
    hex.iter().try_fold(0u32, |acc, &b| {
        let d = (b as char).to_digit(16).ok_or(NotFast)?;
        Ok(acc * 16 + d)
    })
}

/// A string from just after its opening quote: written in canonical form, returns the index
/// after its closing quote.
fn string(s: &[u8], mut i: usize, out: &mut Vec<u8>) -> Result<usize, NotFast> {
    out.push(b'"');
    loop {
        let run = i;
        // Eight bytes at a time while none is a quote, a backslash or a control character.
        while let Some(word) = s.get(i..i + 8) {
            let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            const ONES: u64 = 0x0101_0101_0101_0101;
            const HIGH: u64 = 0x8080_8080_8080_8080;
            let quote = w ^ (ONES * b'"' as u64);
            let backslash = w ^ (ONES * b'\\' as u64);
            let special = (quote.wrapping_sub(ONES) & !quote)
                | (backslash.wrapping_sub(ONES) & !backslash)
                | (w.wrapping_sub(ONES * 0x20) & !w);
            if special & HIGH != 0 {
                break;
            }
            i += 8;
        }
        while let Some(&c) = s.get(i) {
            if c == b'"' || c == b'\\' || c < 0x20 {
                break;
            }
            i += 1;
        }
        out.extend_from_slice(&s[run..i]);
        match s.get(i) {
            Some(b'"') => {
                out.push(b'"');
                return Ok(i + 1);
            }
            Some(b'\\') => {
                let c = match s.get(i + 1) {
                    Some(b'"') => '"',
                    Some(b'\\') => '\\',
                    Some(b'/') => '/',
                    Some(b'b') => '\u{08}',
                    Some(b'f') => '\u{0c}',
                    Some(b'n') => '\n',
                    Some(b'r') => '\r',
                    Some(b't') => '\t',
                    Some(b'u') => {
                        let mut code = hex4(s, i + 2)?;
                        i += 4;
                        if (0xD800..0xDC00).contains(&code) && s.get(i + 2..i + 4) == Some(b"\\u") {
                            // A surrogate pair; a lone surrogate is left to serde_json.
                            let low = hex4(s, i + 4)?;
                            if (0xDC00..0xE000).contains(&low) {
                                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                                i += 6;
                            }
                        }
                        char::from_u32(code).ok_or(NotFast)?
                    }
                    _ => return Err(NotFast),
                };
                i += 2;
                let mut buf = [0u8; 4];
                write_string_body(c.encode_utf8(&mut buf), out);
            }
            _ => return Err(NotFast), // a control character, or the end of the text
        }
    }
}

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
    write_string_body(s, out);
    out.push(b'"');
}

fn write_string_body(s: &str, out: &mut Vec<u8>) {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
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

    /// What `kontor verify` computes from a stored payload: the fast encoding when it answers,
    /// else the `Value` way.
    /// One encoder for all the texts of a thread, as in `kontor verify` (its key orders are
    /// kept from one text to the next).
    fn both(text: &str) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        thread_local! {
            static FAST: std::cell::RefCell<CanonicalJson> = std::cell::RefCell::new(CanonicalJson::new());
        }
        let f = FAST.with(|fast| fast.borrow_mut().encode(text).map(<[u8]>::to_vec));
        let slow = serde_json::from_str::<Value>(text)
            .ok()
            .map(|v| canonical_bytes(&v));
        (f, slow)
    }

    #[test]
    fn encodes_a_payload_as_jsonb_hands_it_out() {
        let text = r#"{"seq": 7, "line": 2, "side": "credit", "actor": {"id": "01a2", "kind": "api_key"}, "amount": "461.44", "period": "2026-09", "reason": null, "version": 1, "tax_rate": -0.190, "lines": [1, {"b": true, "a": false}, []], "description": "Bench M\u00fcller \"15\" \\ a\/b \t\u0001 €"}"#;
        let (fast, slow) = both(text);
        assert_eq!(fast.as_deref(), slow.as_deref());
        assert!(fast.is_some());
        let mut enc = CanonicalJson::new();
        enc.encode(text).unwrap();
        assert_eq!(
            enc.top_level_str(text, "period").as_deref(),
            Some("2026-09")
        );
        assert_eq!(
            enc.top_level_str(text, "description").as_deref(),
            Some("Bench Müller \"15\" \\ a/b \t\u{1} €")
        );
        assert_eq!(enc.top_level_str(text, "seq"), None);
        assert_eq!(enc.top_level_str(text, "kind"), None);
        assert_eq!(enc.top_level_str(text, "nope"), None);
    }

    #[test]
    fn leaves_what_it_is_not_sure_of_to_serde_json() {
        for text in [
            r#"{"a": 1, "a": 2}"#,
            r#"{"\u0061": 1}"#,
            r#"{"a": 1e5}"#,
            r#"{"a": "\ud83d"}"#,
            r#"{"a": 01}"#,
            r#"{"a": 1.}"#,
            r#"{"a": 1} x"#,
            "{\"a\": \"\u{1}\"}",
            r#"{"a": tru}"#,
            r#"{"a": [1,]}"#,
            r#"{"a": 1,}"#,
            "",
        ] {
            let (fast, slow) = both(text);
            assert_eq!(fast, None, "{text}");
            if let Some(slow) = slow {
                assert!(!slow.is_empty());
            }
        }
        let deep = "[".repeat(120) + &"]".repeat(120);
        assert_eq!(both(&deep).0, None);
    }

    /// A JSON document written the way a generator chooses: spacing, escapes, numbers.
    #[derive(Debug, Clone)]
    enum J {
        Null,
        Bool(bool),
        Num(String),
        Str(String),
        Arr(Vec<J>),
        Obj(Vec<(String, J)>),
    }

    fn render(j: &J, style: u64, out: &mut String) {
        let (comma, colon) = match style % 3 {
            0 => (",", ":"),
            1 => (", ", ": "),
            _ => (" ,\n\t", " :\r\n "),
        };
        match j {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => out.push_str(n),
            J::Str(s) => render_str(s, style, out),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(comma);
                    }
                    render(item, style.rotate_left(7) ^ i as u64, out);
                }
                out.push(']');
            }
            J::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push_str(comma);
                    }
                    render_str(k, style >> 3, out);
                    out.push_str(colon);
                    render(v, style.rotate_left(11) ^ i as u64, out);
                }
                out.push('}');
            }
        }
    }

    fn render_str(s: &str, style: u64, out: &mut String) {
        out.push('"');
        for (i, c) in s.chars().enumerate() {
            let pick = style.rotate_left(i as u32 % 64) & 7;
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' if pick < 4 => out.push_str("\\n"),
                '/' if pick < 4 => out.push_str("\\/"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
                c if pick == 0 || pick == 5 => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{:04x}", u));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }

    fn json() -> impl Strategy<Value = J> {
        let key = prop_oneof![
            Just("a".to_string()),
            Just("b".to_string()),
            Just("ä".to_string()),
            Just("period".to_string()),
            Just("Z".to_string()),
            "[a-z]{1,12}",
            ".{0,6}",
        ];
        let leaf = prop_oneof![
            Just(J::Null),
            any::<bool>().prop_map(J::Bool),
            "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,6})?([eE][+-]?[0-9]{1,3})?".prop_map(J::Num),
            any::<i64>().prop_map(|n| J::Num(n.to_string())),
            any::<String>().prop_map(J::Str),
            "[a-zA-Z0-9 .\\-\"\\\\/äöü€\n\t]{0,20}".prop_map(J::Str),
        ];
        leaf.prop_recursive(5, 64, 8, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(J::Arr),
                prop::collection::vec((key.clone(), inner), 0..8).prop_map(J::Obj),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever the fast encoder answers is what `canonical_bytes` makes of the parsed text.
        #[test]
        fn fast_encoding_is_canonical_bytes(j in json(), style in any::<u64>()) {
            let mut text = String::new();
            render(&j, style, &mut text);
            let (fast, slow) = both(&text);
            if let Some(fast) = &fast {
                prop_assert_eq!(Some(fast), slow.as_ref(), "{}", text);
            }
            if let Some(slow) = slow {
                // What the fast encoder says of the top-level "period" is what a Value says.
                let v: Value = serde_json::from_str(&text).unwrap();
                let mut enc = CanonicalJson::new();
                if enc.encode(&text).is_some() {
                    let period = enc.top_level_str(&text, "period");
                    prop_assert_eq!(period.as_deref(), v["period"].as_str());
                }
                prop_assert!(!slow.is_empty());
            }
        }

        /// Texts one after the other with the same keys, in the same or another order, or as
        /// many other keys: the key order kept from the text before is used only when it fits.
        #[test]
        fn key_orders_kept_between_texts(texts in prop::collection::vec(
            prop::sample::subsequence(vec!["a", "b", "seq", "ä", "period", "line", "lin", "z", "Z"], 0..=9)
                .prop_shuffle(),
            1..30,
        )) {
            for keys in texts {
                let members: Vec<String> = keys
                    .iter()
                    .enumerate()
                    .map(|(n, k)| format!("\"{k}\": {{\"{k}\": {n}, \"x\": \"{n}\"}}"))
                    .collect();
                let text = format!("{{{}}}", members.join(", "));
                let (fast, slow) = both(&text);
                prop_assert!(fast.is_some(), "{}", text);
                prop_assert_eq!(fast, slow, "{}", text);
            }
        }

        /// Arbitrary text: whenever the fast encoder answers, serde_json reads the text and
        /// encodes it to the same bytes.
        #[test]
        fn fast_encoding_of_any_text(text in "[{}\\[\\]\":,0-9a-z\\\\ .\\-]{0,40}") {
            let (fast, slow) = both(&text);
            if fast.is_some() {
                prop_assert_eq!(fast, slow, "{}", text);
            }
        }

        /// jsonb's way of writing (", " and ": ", keys by length) of a flat payload: always fast.
        #[test]
        fn flat_payloads_take_the_fast_way(
            members in prop::collection::btree_map("[a-z_]{1,20}", prop_oneof![
                Just(J::Null),
                any::<bool>().prop_map(J::Bool),
                any::<i64>().prop_map(|n| J::Num(n.to_string())),
                "-?[1-9][0-9]{0,8}\\.[0-9]{2}".prop_map(J::Num),
                any::<String>().prop_map(J::Str),
            ], 0..30),
            style in any::<u64>(),
        ) {
            let mut members: Vec<(String, J)> = members.into_iter().collect();
            members.sort_by(|a, b| (a.0.len(), &a.0).cmp(&(b.0.len(), &b.0)));
            // Keys as jsonb writes them: no escapes (these need none).
            let mut text = String::from("{");
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    text.push_str(", ");
                }
                text.push_str(&format!("\"{k}\": "));
                render(v, style ^ i as u64, &mut text);
            }
            text.push('}');
            let (fast, slow) = both(&text);
            prop_assert!(fast.is_some(), "{}", text);
            prop_assert_eq!(fast, slow, "{}", text);
        }
    }
}
