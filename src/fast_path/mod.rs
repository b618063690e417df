//! The fast path for the hot events: a text, refusal, reasoning or tool call argument delta read
//! straight from its payload, without the full JSON parse.
//!
//! Most events of a real stream are deltas, and a delta's output is a fixed per-stream head, the
//! delta string exactly as it stands escaped in the input, and a fixed tail. The scanner
//! (`scanner.rs`) accepts only the shape real servers send: one JSON object whose keys are `type`
//! (a delta type), `item_id`, `output_index`, `content_index`, `summary_index`,
//! `sequence_number`, `delta`, `logprobs` (only an empty array) and `obfuscation`, each at most
//! once, in any order, with any JSON whitespace; keys and `type` hold no escape; strings hold no
//! raw control character and only well-formed escapes, and are UTF-8 (they are validated, never
//! re-escaped); numbers are plain non-negative integers of at most 19 digits. Anything else — an
//! unknown key, a duplicate, a nested value, `null`, a float, a non-empty logprobs array, invalid
//! UTF-8 or JSON — is left to the full parse, which decides. Once it has read one delta, the
//! stream's [`Reader`] keeps its shape (`shape.rs`) and reads the next event of the same shape by
//! comparing bytes and reading only its changing values.
//!
//! Whatever the fast path accepts, the full parse reads as the same [`Delta`] (`Delta::of`): the
//! differential fuzz target `fast_path` and `tests/properties.rs` check exactly that, for single
//! payloads and for sequences of them.

mod lex;
mod scanner;
mod shape;

use crate::responses::Delta;
use shape::Shape;

/// One stream's fast path: reads delta events, remembering the shape of the last one.
#[derive(Debug, Default)]
pub struct Reader {
    shape: Shape,
}

impl Reader {
    /// Reads `payload` (one event's data) as a delta event; `None` when it is anything else, or
    /// anything unusual.
    pub fn read<'a>(&'a mut self, payload: &'a [u8]) -> Option<Delta<'a>> {
        if let Some(values) = self.shape.values(payload) {
            return Some(self.shape.delta(values));
        }
        let (delta, layout) = scanner::scan(payload)?;
        self.shape.learn(payload, &layout, &delta);
        Some(delta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::responses::{Event, EventKind};

    /// What the full parse reads from `payload`, when it is a delta event.
    fn full(payload: &[u8]) -> Option<Delta<'_>> {
        let event: Event = serde_json::from_slice(payload).ok()?;
        std::str::from_utf8(payload).ok()?;
        Delta::of(EventKind::of(&event.kind), &event)
    }

    /// Reads `payloads` with one reader, checking each against the full parse; returns which
    /// ones the fast path accepted.
    fn read_all(payloads: &[&str]) -> Vec<bool> {
        let mut reader = Reader::default();
        payloads
            .iter()
            .map(|payload| {
                let payload = payload.as_bytes();
                let fast = reader.read(payload);
                if let Some(fast) = fast {
                    assert_eq!(Some(fast), full(payload), "{payload:?}");
                }
                fast.is_some()
            })
            .collect()
    }

    fn accepted(payload: &str) -> Delta<'_> {
        let fast = scanner::scan(payload.as_bytes())
            .unwrap_or_else(|| panic!("declined {payload}"))
            .0;
        assert_eq!(Some(fast), full(payload.as_bytes()), "{payload}");
        fast
    }

    fn declined(payload: &[u8]) {
        assert_eq!(Reader::default().read(payload), None, "{payload:?}");
    }

    #[test]
    fn reads_what_real_servers_send() {
        let delta = accepted(
            r#"{"type":"response.output_text.delta","sequence_number":7,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"caf\u00e9 \"x\"","logprobs":[],"obfuscation":"Zq1"}"#,
        );
        assert_eq!(delta.kind, EventKind::TextDelta);
        assert_eq!(delta.contents, Some(&br#"caf\u00e9 \"x\""#[..]));
        assert_eq!(delta.item_id, Some(&b"\"msg_1\""[..]));
        assert_eq!(
            (
                delta.sequence_number,
                delta.output_index,
                delta.content_index
            ),
            (Some(7), Some(1), Some(0))
        );
        accepted(
            " {\n\t\"delta\" : \"é🎉\\n\" ,\r\n \"type\":\"response.reasoning_summary_text.delta\", \"summary_index\": 9999999999999999999 , \"logprobs\" : [ ] } \n",
        );
        accepted(r#"{"type":"response.function_call_arguments.delta","delta":"{\"a\\/b\": 1}"}"#);
        accepted(r#"{"type":"response.custom_tool_call_input.delta","delta":""}"#);
        accepted(r#"{"type":"response.refusal.delta"}"#);
        accepted(r#"{"type":"response.reasoning_text.delta","delta":"\ud800 lone"}"#);
    }

    #[test]
    fn leaves_everything_unusual_to_the_full_parse() {
        for payload in [
            r#"{"type":"response.output_text.delta","delta":"a","text":"x"}"#,
            r#"{"type":"response.output_text.delta","delta":"a","delta":"b"}"#,
            r#"{"type":"response.output_text.delta","output_index":1,"output_index":1}"#,
            r#"{"type":"response.output_text.delta","logprobs":[{"token":"a"}]}"#,
            r#"{"type":"response.output_text.delta","logprobs":null}"#,
            r#"{"type":"response.output_text.delta","output_index":null}"#,
            r#"{"type":"response.output_text.delta","output_index":-1}"#,
            r#"{"type":"response.output_text.delta","output_index":01}"#,
            r#"{"type":"response.output_text.delta","output_index":1.0}"#,
            r#"{"type":"response.output_text.delta","output_index":1e2}"#,
            r#"{"type":"response.output_text.delta","output_index":18446744073709551616}"#,
            r#"{"type":"response.output_text.delta","output_index":10000000000000000000}"#,
            r#"{"type":"response.output_text.delta","delta":{"a":1}}"#,
            r#"{"type":"response.output_text.delta","delta":"bad \x escape"}"#,
            r#"{"type":"response.output_text.delta","delta":"bad \u12g4"}"#,
            "{\"type\":\"response.output_text.delta\",\"delta\":\"raw \u{1} control\"}",
            r#"{"type":"response.output_text.delt\u0061","delta":"a"}"#,
            r#"{"typ\u0065":"response.output_text.delta","delta":"a"}"#,
            r#"{"type":"response.output_text.done","text":"a"}"#,
            r#"{"type":"response.created"}"#,
            r#"{"delta":"a"}"#,
            r#"{}"#,
            r#"{"type":"response.output_text.delta",}"#,
            r#"{"type":"response.output_text.delta"} x"#,
            r#"{"type":"response.output_text.delta""#,
            r#"{"type":"response.output_text.delta","delta":"unterminated}"#,
            r#"[DONE]"#,
            "",
        ] {
            declined(payload.as_bytes());
        }
        declined(b"{\"type\":\"response.output_text.delta\",\"delta\":\"\xff\"}");
    }

    #[test]
    fn events_of_a_known_shape_read_their_new_values() {
        let text = |seq: &str, delta: &str, obfuscation: &str| {
            format!(
                r#"{{"type":"response.output_text.delta","sequence_number":{seq},"item_id":"msg_1","output_index":1,"content_index":0,"delta":"{delta}","logprobs":[],"obfuscation":"{obfuscation}"}}"#
            )
        };
        let stream = [
            text("1", "Hel", "abc"),
            text("2", "lo", ""),
            text("30", "", "xyzw"),
            text("400", "caf\\u00e9 é", "q"),
            // Not accepted whatever the shape: a bad escape, a leading zero, a raw control.
            text("5", "\\x", "q"),
            text("05", "a", "q"),
            text("6", "a\u{1}", "q"),
            // Another shape (one more space), then the first again.
            text("7", "a", "q").replace(r#""logprobs":[]"#, r#""logprobs":[ ]"#),
            text("8", "b", "q"),
            // Another item: a new shape, learnt on the way.
            text("9", "c", "q").replace("msg_1", "msg_22"),
            text("10", "d", "q").replace("msg_1", "msg_22"),
        ];
        let refs: Vec<&str> = stream.iter().map(String::as_str).collect();
        assert_eq!(
            read_all(&refs),
            [true, true, true, true, false, false, false, true, true, true, true]
        );
        read_all(&[
            r#"{"type":"response.function_call_arguments.delta","delta":"{\"","item_id":"fc_1","obfuscation":"Ze","output_index":0,"sequence_number":3}"#,
            r#"{"type":"response.function_call_arguments.delta","delta":"a","item_id":"fc_1","obfuscation":"K","output_index":0,"sequence_number":4}"#,
            r#"{"type":"response.function_call_arguments.delta","delta":"a","item_id":"fc_1","obfuscation":"K","output_index":0,"sequence_number":4} "#,
            r#"{"type":"response.function_call_arguments.delta","delta":"a","item_id":"fc_1","obfuscation":"K","output_index":0,"sequence_number":4"#,
            r#"{"type":"response.function_call_arguments.delta","delta":"b","item_id":"fc_1","obfuscation":"K","output_index":0,"sequence_number":45}"#,
        ]);
    }
}
