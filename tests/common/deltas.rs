//! Delta events for the fast path's differential tests (`tests/properties.rs` and the fuzz target
//! `fast_path`), built from a string of choice bytes: mostly the shape real servers send, in any
//! key order and spacing, and often with one thing unusual — an escape, a duplicate or unknown
//! key, a number that is not a plain integer, a non-empty logprobs array, invalid UTF-8 — that
//! the fast path must leave to the full parse. Whatever the fast path accepts must read the same
//! as the full parse, and a stream must translate the same with and without it.

use responses_transcoder::fast_path::Reader;
use responses_transcoder::responses::{Delta, Event, EventKind};

/// A source of choices; zeros once the bytes run out.
pub struct Choices<'a> {
    bytes: &'a [u8],
}

impl<'a> Choices<'a> {
    /// Choices read from `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Choices { bytes }
    }

    fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&byte, rest)) => {
                self.bytes = rest;
                byte
            }
            None => 0,
        }
    }

    /// A number below `n` (at least 1).
    fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.max(1)
    }

    /// True once in `n` times.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Whether any choice is left.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

const DELTA_TYPES: [&str; 6] = [
    "\"response.output_text.delta\"",
    "\"response.refusal.delta\"",
    "\"response.reasoning_summary_text.delta\"",
    "\"response.reasoning_text.delta\"",
    "\"response.function_call_arguments.delta\"",
    "\"response.custom_tool_call_input.delta\"",
];

/// Types the fast path must not take: other events, and a delta type spelled with an escape.
const OTHER_TYPES: [&str; 4] = [
    "\"response.output_text.done\"",
    "\"response.created\"",
    "\"response.output_text.delt\\u0061\"",
    "\"response.output_text.delta \"",
];

/// Pieces of string contents: plain text, every escape JSON has, non-ASCII text, and things a
/// JSON string may not hold (bad escapes, raw control characters, invalid UTF-8).
const TEXT: [&[u8]; 20] = [
    b"tok ",
    b"Hello",
    b"0123456789abcdef",
    b"\\\"",
    b"\\\\",
    b"\\/",
    b"\\b\\f\\n\\r\\t",
    b"\\u00e9",
    b"\\ud83c\\udf89",
    b"\\ud800",
    "é".as_bytes(),
    "🎉 日本".as_bytes(),
    b"\x7f",
    b"\\x",
    b"\\u12g4",
    b"\\u12",
    b"\x01",
    b"\t",
    b"\xff",
    b"\"",
];

/// Whitespace between tokens: mostly none, as servers send.
const SPACE: [&str; 8] = ["", "", "", "", " ", "\n", "\t", " \r\n "];

fn text(c: &mut Choices, out: &mut Vec<u8>) {
    out.push(b'"');
    for _ in 0..c.below(5) {
        // The well-formed pieces; the bad ones (the last seven) once in a while.
        let piece = if c.one_in(40) {
            c.pick(&TEXT)
        } else {
            TEXT[c.below(TEXT.len() - 7)]
        };
        out.extend_from_slice(piece);
    }
    out.push(b'"');
}

fn number(c: &mut Choices, out: &mut Vec<u8>) {
    const ODD: [&str; 10] = [
        "01",
        "-1",
        "1.5",
        "1e3",
        "9999999999999999999",
        "18446744073709551615",
        "18446744073709551616",
        "null",
        "\"3\"",
        "-0",
    ];
    if c.one_in(30) {
        out.extend_from_slice(c.pick(&ODD).as_bytes());
    } else {
        let value = match c.below(3) {
            0 => u64::from(c.byte() % 4),
            1 => u64::from(c.byte()),
            _ => u64::from(c.byte()) << 16 | u64::from(c.byte()),
        };
        out.extend_from_slice(value.to_string().as_bytes());
    }
}

/// One delta event payload.
pub fn payload(c: &mut Choices) -> Vec<u8> {
    const KEYS: [&str; 9] = [
        "type",
        "item_id",
        "output_index",
        "content_index",
        "summary_index",
        "sequence_number",
        "delta",
        "logprobs",
        "obfuscation",
    ];
    // Which keys, in which order: `type` and `delta` most of the time, the others often.
    let mut keys: Vec<&str> = KEYS
        .iter()
        .copied()
        .filter(|key| match *key {
            "type" => !c.one_in(20),
            "delta" => !c.one_in(8),
            "summary_index" => c.one_in(4),
            _ => !c.one_in(3),
        })
        .collect();
    for i in (1..keys.len()).rev() {
        keys.swap(i, c.below(i + 1));
    }
    if c.one_in(16) && !keys.is_empty() {
        let again = keys[c.below(keys.len())];
        keys.insert(c.below(keys.len() + 1), again);
    }
    if c.one_in(16) {
        keys.insert(
            c.below(keys.len() + 1),
            c.pick(&["text", "part", "typ\\u0065"]),
        );
    }
    let mut out = Vec::new();
    out.extend_from_slice(c.pick(&SPACE).as_bytes());
    out.push(b'{');
    for (n, key) in keys.iter().enumerate() {
        if n > 0 {
            out.extend_from_slice(c.pick(&SPACE).as_bytes());
            out.push(b',');
        }
        out.extend_from_slice(c.pick(&SPACE).as_bytes());
        out.extend_from_slice(format!("\"{key}\"").as_bytes());
        out.extend_from_slice(c.pick(&SPACE).as_bytes());
        out.push(b':');
        out.extend_from_slice(c.pick(&SPACE).as_bytes());
        match *key {
            "type" if c.one_in(16) => out.extend_from_slice(c.pick(&OTHER_TYPES).as_bytes()),
            "type" => out.extend_from_slice(c.pick(&DELTA_TYPES).as_bytes()),
            "output_index" | "content_index" | "summary_index" | "sequence_number" => {
                number(c, &mut out)
            }
            "logprobs" if c.one_in(10) => out.extend_from_slice(
                c.pick(&[
                    "null",
                    r#"[{"token":"a","logprob":-1.5,"bytes":[97],"top_logprobs":[]}]"#,
                ])
                .as_bytes(),
            ),
            "logprobs" => out.extend_from_slice(c.pick(&["[]", "[]", "[ ]", "[\n]"]).as_bytes()),
            "part" => out.extend_from_slice(b"{}"),
            _ if c.one_in(40) => out.extend_from_slice(c.pick(&["null", "7", "{}"]).as_bytes()),
            _ => text(c, &mut out),
        }
    }
    out.extend_from_slice(c.pick(&SPACE).as_bytes());
    out.push(b'}');
    out.extend_from_slice(c.pick(&SPACE).as_bytes());
    out
}

/// The same event again with new values where real streams change them (sequence number, delta,
/// obfuscation) — so that a reader meets the shape it learnt — or, at times, another event.
pub fn next_payload(c: &mut Choices, previous: &[u8]) -> Vec<u8> {
    if previous.is_empty() || c.one_in(4) {
        return payload(c);
    }
    let mut out = String::from_utf8_lossy(previous).into_owned();
    for key in ["\"sequence_number\":", "\"delta\":\"", "\"obfuscation\":\""] {
        if let Some(at) = out.find(key) {
            let start = at + key.len();
            let value_end = if key.ends_with('"') {
                // The closing quote: the first one no backslash escapes.
                let mut escaped = false;
                out[start..]
                    .find(|ch: char| {
                        let end = ch == '"' && !escaped;
                        escaped = ch == '\\' && !escaped;
                        end
                    })
                    .map(|end| start + end)
            } else {
                out[start..]
                    .find(|ch: char| !ch.is_ascii_digit())
                    .map(|end| start + end)
            };
            if let Some(end) = value_end {
                let mut value = Vec::new();
                if key.ends_with('"') {
                    text(c, &mut value);
                    value.pop();
                    value.remove(0);
                } else {
                    number(c, &mut value);
                }
                out.replace_range(start..end, &String::from_utf8_lossy(&value));
            }
        }
    }
    out.into_bytes()
}

/// `payload`, or at times a near miss of it (cut short, extended, one byte changed): when the
/// reader knows its shape, the one thing it must notice.
pub fn near_miss(c: &mut Choices, payload: &[u8]) -> Vec<u8> {
    let mut out = payload.to_vec();
    match c.below(16) {
        0 => {
            let keep = out.len().saturating_sub(1 + c.below(4));
            out.truncate(keep);
        }
        1 => out.extend_from_slice(c.pick(&[" ", "x", "}", ",\"a\":1}", "\n", "0"]).as_bytes()),
        2 if !out.is_empty() => {
            let at = c.below(out.len());
            let byte = c.pick(b"\" :,{}[]0\\\x01\xffa");
            if c.one_in(2) {
                out[at] = byte;
            } else {
                out.insert(at, byte);
            }
        }
        _ => {}
    }
    out
}

/// Delta event payloads from all of `choices`: each often the one before with new values, or a
/// near miss of it.
pub fn payloads(c: &mut Choices) -> Vec<Vec<u8>> {
    let mut payloads = Vec::new();
    let mut base = Vec::new();
    while !c.is_empty() {
        base = next_payload(c, &base);
        payloads.push(near_miss(c, &base));
    }
    payloads
}

/// What the full parse reads from `payload` when it is a delta event (`None` when it is not
/// one, or not valid).
pub fn full_parse(payload: &[u8]) -> Option<Delta<'_>> {
    let text = std::str::from_utf8(payload).ok()?;
    let event: Event = serde_json::from_str(text).ok()?;
    Delta::of(EventKind::of(&event.kind), &event)
}

/// Reads `payloads` in turn with one fast path reader: whatever it accepts must be what the
/// full parse reads. Returns how many it accepted.
pub fn check_reader(payloads: &[Vec<u8>]) -> Result<usize, String> {
    let mut reader = Reader::default();
    let mut accepted = 0;
    for payload in payloads {
        if let Some(fast) = reader.read(payload) {
            accepted += 1;
            let full = full_parse(payload);
            if full != Some(fast) {
                return Err(format!(
                    "fast path read {fast:?}, full parse {full:?}: {:?}",
                    String::from_utf8_lossy(payload)
                ));
            }
        }
    }
    Ok(accepted)
}

/// An SSE stream of `payloads`: `response.created` first (so that the fast path engages) unless
/// `created_first` is false, each payload as `data:` lines (split where it holds line breaks,
/// as the framer joins them), with `event:` lines and a terminal at times.
pub fn stream(c: &mut Choices, payloads: &[Vec<u8>], created_first: bool) -> Vec<u8> {
    let eol: &[u8] = c.pick(&[b"\n".as_slice(), b"\n", b"\r\n"]);
    let mut out = Vec::new();
    let event = |out: &mut Vec<u8>, name: Option<&str>, data: &[u8]| {
        if let Some(name) = name {
            out.extend_from_slice(format!("event: {name}").as_bytes());
            out.extend_from_slice(eol);
        }
        for line in data.split(|&b| b == b'\n') {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(line);
            out.extend_from_slice(eol);
        }
        out.extend_from_slice(eol);
    };
    let created =
        br#"{"type":"response.created","response":{"id":"resp_1","model":"m","created_at":1}}"#;
    if created_first {
        event(&mut out, Some("response.created"), created);
    }
    let added = br#"{"type":"response.output_item.added","output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f"}}"#;
    for payload in payloads {
        if c.one_in(16) {
            event(&mut out, None, added);
        }
        let name = c.one_in(2).then_some("response.output_text.delta");
        event(&mut out, name, payload);
    }
    if c.one_in(2) {
        event(
            &mut out,
            None,
            br#"{"type":"response.completed","response":{"id":"resp_1","status":"completed","usage":{"input_tokens":1,"output_tokens":2,"total_tokens":3}}}"#,
        );
    }
    out
}
