//! The JSON tokens of a delta event, read from the front of a byte slice: each function returns
//! what it read and what follows, or `None` when the bytes are not exactly that token (the event
//! then takes the full parse). Nothing here allocates or copies.

use crate::word_scan::{self, word};

/// `rest` after JSON whitespace (the four bytes JSON allows between tokens). Compact JSON has
/// none: one comparison then.
pub(super) fn skip_whitespace(mut rest: &[u8]) -> &[u8] {
    if rest.first().is_some_and(|&byte| byte <= b' ') {
        while let [b' ' | b'\t' | b'\n' | b'\r', after @ ..] = rest {
            rest = after;
        }
    }
    rest
}

/// `rest` after `literal`, when it starts with it. Compared eight bytes at a time (the last
/// word overlapping the one before): `wasm32` has no fast `memcmp` (its C library compares byte
/// by byte).
pub(super) fn strip_literal<'r>(rest: &'r [u8], literal: &[u8]) -> Option<&'r [u8]> {
    let (head, after) = rest.split_at_checked(literal.len())?;
    let same = if literal.len() < 8 {
        head.iter().zip(literal).all(|(a, b)| a == b)
    } else {
        let last = literal.len() - 8;
        let words = |bytes: &[u8]| bytes.get(last..).map(word);
        head.chunks_exact(8)
            .zip(literal.chunks_exact(8))
            .all(|(a, b)| word(a) == word(b))
            && words(head) == words(literal)
    };
    same.then_some(after)
}

/// A string whose escapes are well formed and whose text is UTF-8: the literal, quotes
/// included, and what follows. ASCII text needs no further check; text with other bytes is
/// checked as a whole once its end is found.
pub(super) fn string(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let (b'"', mut inside) = rest.split_first()? else {
        return None;
    };
    let mut ascii = true;
    loop {
        let len = if ascii {
            plain_len::<true>(inside)
        } else {
            plain_len::<false>(inside)
        };
        inside = inside.get(len..)?;
        match inside.split_first()? {
            (b'"', after) => {
                let literal = rest.get(..rest.len() - after.len())?;
                let valid = ascii || std::str::from_utf8(literal).is_ok();
                return valid.then_some((literal, after));
            }
            (b'\\', after) => inside = escape(after)?,
            (&byte, _) if byte >= 0x80 => ascii = false,
            _ => return None,
        }
    }
}

/// A plain non-negative integer — no sign, fraction, exponent or leading zero, and at most 19
/// digits, so that it fits a `u64` without an overflow check (longer ones, rare as they are, take
/// the full parse) — and what follows.
pub(super) fn number(rest: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    let mut digits = 0;
    for byte in rest {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        value = value.wrapping_mul(10).wrapping_add(u64::from(digit));
        digits += 1;
    }
    let leading_zero = digits > 1 && rest.first() == Some(&b'0');
    if digits == 0 || digits > 19 || leading_zero {
        return None;
    }
    Some((value, rest.get(digits..)?))
}

/// What follows an escape whose backslash was just read, when the escape is well formed.
fn escape(rest: &[u8]) -> Option<&[u8]> {
    match rest {
        [b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't', after @ ..] => Some(after),
        [b'u', a, b, c, d, after @ ..] => [a, b, c, d]
            .iter()
            .all(|h| h.is_ascii_hexdigit())
            .then_some(after),
        _ => None,
    }
}

/// How many bytes at the start of `bytes` may stand in a JSON string as they are: everything but
/// `"`, `\` and control characters, and with `STOP_AT_NON_ASCII` bytes above 0x7F too. A word at
/// a time.
fn plain_len<const STOP_AT_NON_ASCII: bool>(bytes: &[u8]) -> usize {
    word_scan::position(
        bytes,
        |word| {
            let non_ascii = if STOP_AT_NON_ASCII {
                word_scan::non_ascii(word)
            } else {
                0
            };
            word_scan::below(word, 0x20)
                | word_scan::equal(word, b'"')
                | word_scan::equal(word, b'\\')
                | non_ascii
        },
        |b| b == b'"' || b == b'\\' || b < 0x20 || (STOP_AT_NON_ASCII && b >= 0x80),
    )
    .unwrap_or(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_len_stops_at_the_first_special_byte_of_any_word() {
        let text = b"0123456789abcdef0123456789";
        for at in 0..text.len() {
            for special in [b'"', b'\\', 0x00, 0x1f] {
                let mut bytes = text.to_vec();
                bytes[at] = special;
                // A special byte after it must not hide the first one.
                if let Some(later) = bytes.get_mut(at + 1) {
                    *later = 0x01;
                }
                assert_eq!(plain_len::<false>(&bytes), at, "{special:#x} at {at}");
                assert_eq!(plain_len::<true>(&bytes), at, "{special:#x} at {at}");
            }
        }
        assert_eq!(plain_len::<false>(text), text.len());
        let unicode = "é🎉\u{7f}".as_bytes();
        assert_eq!(plain_len::<false>(unicode), unicode.len());
        assert_eq!(plain_len::<true>(unicode), 0);
        assert_eq!(plain_len::<true>(b"abcdefgh\x7f\x80"), 9);
    }

    #[test]
    fn literals_compare_whole_words_and_the_tail() {
        let literal = b"0123456789abcdefXYZ";
        for len in 0..=literal.len() {
            let head = &literal[..len];
            assert_eq!(strip_literal(literal, head), Some(&literal[len..]));
            for at in 0..len {
                let mut other = literal.to_vec();
                other[at] ^= 1;
                assert_eq!(strip_literal(&other, head), None, "{len} {at}");
            }
        }
        assert_eq!(strip_literal(b"abc", b"abcd"), None);
    }

    #[test]
    fn strings_numbers_and_escapes() {
        let literal = r#""a\"\\\/\b\f\n\r\t\u00e9é""#.as_bytes();
        let input = [literal, b" x"].concat();
        assert_eq!(string(&input), Some((literal, &b" x"[..])));
        for bad in [
            &br#""\x""#[..],
            br#""\u12g4""#,
            br#""\u12""#,
            b"\"\x01\"",
            b"\"\xff\"",
            b"\"open",
            b"x",
        ] {
            assert_eq!(string(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(number(b"0,"), Some((0, &b","[..])));
        assert_eq!(
            number(b"9999999999999999999}"),
            Some((9999999999999999999, &b"}"[..]))
        );
        for bad in [&b"01"[..], b"-1", b"", b"x", b"10000000000000000000"] {
            assert_eq!(number(bad), None);
        }
    }
}
