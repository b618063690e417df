//! Small JSON writers for the encoders: integers, raw values and escaped strings, appended to a
//! reused output buffer without `format!`.

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
    out.push(b'"');
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
}
