//! Small JSON helpers: writers for the encoders (integers, raw values, escaped strings, objects),
//! appended to a reused output buffer without `format!`; and [`Fields`], an object read as its
//! keys in order with each value left raw, for code that must account for every key it is given.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Appends the decimal digits of `n`.
pub fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(slot) = digits.get_mut(start) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(start..).unwrap_or(&[]));
}

/// Appends a signed integer.
pub fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

/// Appends a raw JSON value on one line: string literals are copied as they are (they cannot hold
/// a raw line break); other values are copied with the whitespace between tokens removed, since
/// an upstream payload spread over several `data:` lines may carry newlines there.
pub fn push_raw(out: &mut Vec<u8>, raw: &str) {
    if raw.starts_with('"') {
        out.extend_from_slice(raw.as_bytes());
        return;
    }
    let mut in_string = false;
    let mut escaped = false;
    for &b in raw.as_bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            continue;
        }
        out.push(b);
    }
}

/// Appends `s` as a JSON string literal.
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    push_contents(out, s);
    out.push(b'"');
}

/// Appends `s` escaped as the contents of a JSON string literal (without the quotes).
pub fn push_contents(out: &mut Vec<u8>, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let code = c as usize;
                out.extend_from_slice(b"\\u00");
                out.push(HEX.get(code >> 4).copied().unwrap_or(b'0'));
                out.push(HEX.get(code & 0xF).copied().unwrap_or(b'0'));
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

/// Writes one JSON object field by field: `{"a":1,"b":"x"}`. Keys are written as given (they must
/// not need escaping); values are raw JSON, strings to escape, integers or booleans.
pub struct ObjectWriter<'o> {
    out: &'o mut Vec<u8>,
    empty: bool,
}

impl<'o> ObjectWriter<'o> {
    /// Opens an object at the end of `out`.
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        ObjectWriter { out, empty: true }
    }

    /// Writes `"key":` (after a comma when needed) and returns the buffer for the value.
    pub fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    /// A raw JSON value, compacted onto one line.
    pub fn raw(&mut self, key: &str, raw: &str) {
        push_raw(self.key(key), raw);
    }

    /// A string value, escaped.
    pub fn str(&mut self, key: &str, value: &str) {
        push_str(self.key(key), value);
    }

    /// An unsigned integer value.
    pub fn u64(&mut self, key: &str, value: u64) {
        push_u64(self.key(key), value);
    }

    /// A boolean value.
    pub fn bool(&mut self, key: &str, value: bool) {
        let text: &[u8] = if value { b"true" } else { b"false" };
        self.key(key).extend_from_slice(text);
    }

    /// Closes the object.
    pub fn end(self) {
        self.out.push(b'}');
    }
}

/// Writes one JSON array element by element: `[{"a":1},"x"]`. Each element is written into the
/// buffer [`ArrayWriter::item`] returns (after a comma when needed).
pub struct ArrayWriter<'o> {
    out: &'o mut Vec<u8>,
    empty: bool,
}

impl<'o> ArrayWriter<'o> {
    /// Opens an array at the end of `out`.
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        out.push(b'[');
        ArrayWriter { out, empty: true }
    }

    /// Starts the next element and returns the buffer to write it into.
    pub fn item(&mut self) -> &mut Vec<u8> {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out
    }

    /// Whether no element has been started.
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// Closes the array.
    pub fn end(self) {
        self.out.push(b']');
    }
}

/// A JSON object as its fields in document order, each value left raw and borrowed from the input.
/// Duplicate keys are kept (the caller decides whether they are an error: see [`Fields::duplicate`]).
#[derive(Debug, Default)]
pub struct Fields<'a> {
    /// `(key, raw value)` in document order.
    pub entries: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> Fields<'a> {
    /// Reads `text` as an object, or `None` when it is not a JSON object.
    pub fn parse(text: &'a str) -> Option<Fields<'a>> {
        serde_json::from_str(text).ok()
    }

    /// The raw value of `key` (its first occurrence).
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| *value)
    }

    /// The first key that occurs twice, if any.
    pub fn duplicate(&self) -> Option<&str> {
        self.entries.iter().enumerate().find_map(|(i, (key, _))| {
            self.entries
                .get(i + 1..)?
                .iter()
                .any(|(other, _)| other == key)
                .then_some(key.as_ref())
        })
    }
}

/// An object key, borrowed when it holds no escape.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Fields<'de>, M::Error> {
                let mut entries = Vec::new();
                while let Some(Key(key)) = map.next_key::<Key>()? {
                    let value: &'de RawValue = map.next_value()?;
                    entries.push((key, value));
                }
                Ok(Fields { entries })
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        let mut out = Vec::new();
        for n in [0u64, 7, 10, 1234567890, u64::MAX] {
            out.clear();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
        out.clear();
        push_i64(&mut out, i64::MIN);
        assert_eq!(out, i64::MIN.to_string().as_bytes());
    }

    #[test]
    fn raw_values_lose_whitespace_outside_strings_only() {
        let mut out = Vec::new();
        push_raw(&mut out, "{\n  \"a b\": [1,\n 2],\r\n\t\"c\\\" d\": null }");
        assert_eq!(out, br#"{"a b":[1,2],"c\" d":null}"#);
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = Vec::new();
        push_str(&mut out, "a\"b\\c\nd\u{1}é");
        let back: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, "a\"b\\c\nd\u{1}é");
    }

    #[test]
    fn fields_keep_order_raw_values_and_duplicates() {
        let fields = Fields::parse(r#"{"b": [1, 2], "a\u0041": "x", "b": null}"#).unwrap();
        let keys: Vec<&str> = fields.entries.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["b", "aA", "b"]);
        assert_eq!(fields.get("b").map(RawValue::get), Some("[1, 2]"));
        assert_eq!(fields.duplicate(), Some("b"));
        assert!(Fields::parse("[1]").is_none());
        assert!(Fields::parse("{").is_none());
    }

    #[test]
    fn array_writer_separates_elements() {
        let mut out = Vec::new();
        let mut array = ArrayWriter::new(&mut out);
        assert!(array.is_empty());
        array.item().extend_from_slice(b"1");
        push_str(array.item(), "x");
        assert!(!array.is_empty());
        array.end();
        assert_eq!(out, br#"[1,"x"]"#);
    }

    #[test]
    fn object_writer_writes_fields_in_order() {
        let mut out = Vec::new();
        let mut object = ObjectWriter::new(&mut out);
        object.str("a", "x\"y");
        object.raw("b", "[1, 2]");
        object.u64("c", 3);
        object.bool("d", false);
        object.end();
        assert_eq!(out, br#"{"a":"x\"y","b":[1,2],"c":3,"d":false}"#);
    }
}
