//! Property tests: for arbitrary inputs and arbitrary chunkings (inside CRLFs, inside UTF-8
//! sequences, one byte at a time) the output equals the whole-input output, is well formed with
//! exactly one terminal, and the state held between chunks never exceeds the configured cap.

mod common;

use common::deltas::{self, Choices};
use common::invariants::{
    check_all, check_fast_path, check_output, pieces, run, run_with_stop, DIALECTS,
};
use proptest::prelude::*;
use responses_transcoder::sse::{Frame, Framer};
use responses_transcoder::{Dialect, StreamOptions};
use std::sync::OnceLock;

/// Corpus streams, or a few built-in ones when the corpus is absent.
fn streams() -> &'static [Vec<u8>] {
    static STREAMS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    STREAMS.get_or_init(|| match common::corpus() {
        Some(files) => files.into_iter().map(|(_, bytes)| bytes).collect(),
        None => vec![
            text_stream(&["Hel", "lo ", "wörld ", "🎉"], "\n").into_bytes(),
            text_stream(&["a", "b"], "\r\n").into_bytes(),
        ],
    })
}

/// A complete Responses stream with these text deltas and this line ending.
fn text_stream(deltas: &[&str], eol: &str) -> String {
    let mut events = vec![
        r#"{"type":"response.created","response":{"id":"resp_p","model":"m","created_at":1}}"#
            .to_string(),
        r#"{"type":"response.output_item.added","output_index":0,"item":{"id":"msg_p","type":"message","role":"assistant","content":[]}}"#.to_string(),
    ];
    for delta in deltas {
        events.push(
            serde_json::json!({
                "type": "response.output_text.delta", "item_id": "msg_p",
                "output_index": 0, "content_index": 0, "delta": delta,
            })
            .to_string(),
        );
    }
    events.push(
        r#"{"type":"response.completed","response":{"id":"resp_p","status":"completed"}}"#
            .to_string(),
    );
    events
        .iter()
        .map(|e| format!("data: {e}{eol}{eol}"))
        .collect()
}

/// Upstream events of a stream (blank-line separated blocks, separators kept).
fn blocks(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..stream.len() {
        if stream[i..].starts_with(b"\n\n") {
            out.push(stream[start..i + 2].to_vec());
            start = i + 2;
        }
    }
    out.push(stream[start..].to_vec());
    out
}

/// One edit of an upstream event sequence.
#[derive(Debug, Clone)]
enum Edit {
    Drop(usize),
    Duplicate(usize),
    Swap(usize, usize),
    Truncate(usize),
    Flip(usize, u8),
    Crlf,
    Cr,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Drop),
        any::<usize>().prop_map(Edit::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Flip(at, b)),
        Just(Edit::Crlf),
        Just(Edit::Cr),
    ]
}

fn apply(stream: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut events = blocks(stream);
    for edit in edits {
        let n = events.len().max(1);
        match *edit {
            Edit::Drop(i) if !events.is_empty() => {
                events.remove(i % n);
            }
            Edit::Duplicate(i) if !events.is_empty() => {
                let copy = events[i % n].clone();
                events.insert(i % n, copy);
            }
            Edit::Swap(a, b) if !events.is_empty() => events.swap(a % n, b % n),
            _ => {}
        }
    }
    let mut bytes = events.concat();
    for edit in edits {
        match *edit {
            Edit::Truncate(at) => bytes.truncate(at % (bytes.len() + 1)),
            Edit::Flip(at, b) if !bytes.is_empty() => {
                let i = at % bytes.len();
                bytes[i] = b;
            }
            Edit::Crlf => bytes = String::from_utf8_lossy(&bytes).replace('\n', "\r\n").into(),
            Edit::Cr => bytes = String::from_utf8_lossy(&bytes).replace('\n', "\r").into(),
            _ => {}
        }
    }
    bytes
}

/// Bytes biased toward SSE and Responses syntax, so random input reaches deep states.
fn sse_soup() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"data: ".to_vec()),
        Just(b"event: x\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b": ping\n".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"[DONE]".to_vec()),
        Just(br#"{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"x"}"#.to_vec()),
        Just(br#"{"type":"response.function_call_arguments.delta","output_index":1,"delta":"{"}"#.to_vec()),
        Just(br#"{"type":"response.output_item.added","output_index":1,"item":{"type":"function_call","call_id":"c","name":"f"}}"#.to_vec()),
        Just(br#"{"type":"response.reasoning_summary_text.delta","output_index":0,"summary_index":0,"delta":"t"}"#.to_vec()),
        Just(br#"{"type":"response.completed","response":{"id":"r","status":"completed"}}"#.to_vec()),
        Just(br#"{"type":"response.incomplete","response":{"incomplete_details":{"reason":"content_filter"}}}"#.to_vec()),
        Just(br#"{"type":"error","code":"x","message":"m"}"#.to_vec()),
        proptest::collection::vec(any::<u8>(), 1..8),
    ];
    proptest::collection::vec(token, 0..60).prop_map(|parts| parts.concat())
}

fn chunkings() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(1usize..300, 1..16)
}

/// Most generated events are ones the fast path takes (else the differential tests below would
/// mostly exercise the full parse), and not all of them.
#[test]
fn generated_delta_events_mostly_take_the_fast_path() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let choices: Vec<u8> = (0..20_000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect();
    let payloads = deltas::payloads(&mut Choices::new(&choices));
    let accepted = deltas::check_reader(&payloads).unwrap();
    assert!(
        accepted * 2 > payloads.len() && accepted < payloads.len(),
        "{accepted} of {} accepted",
        payloads.len()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Real streams give the same, well-formed output under any chunking.
    #[test]
    fn corpus_streams_are_split_invariant(pick in any::<usize>(), chunks in chunkings()) {
        let stream = &streams()[pick % streams().len()];
        check_all(StreamOptions::default(), stream, &chunks).map_err(TestCaseError::fail)?;
    }

    /// Real streams with events dropped, duplicated, reordered, truncated, corrupted, or their
    /// line endings changed: never a panic, always one terminal, output independent of chunking.
    #[test]
    fn edited_streams_stay_well_formed(
        pick in any::<usize>(),
        edits in proptest::collection::vec(edit(), 0..6),
        chunks in chunkings(),
    ) {
        let stream = apply(&streams()[pick % streams().len()], &edits);
        check_all(StreamOptions::default(), &stream, &chunks).map_err(TestCaseError::fail)?;
    }

    /// Real streams, edited, with stop sequences taken from a stream's own bytes: the output does
    /// not depend on the chunking and stays well-formed (one terminal, `[DONE]` last).
    #[test]
    fn stop_sequences_keep_streams_split_invariant(
        pick in any::<usize>(),
        edits in proptest::collection::vec(edit(), 0..3),
        at in any::<usize>(),
        len in 1usize..6,
        chunks in chunkings(),
    ) {
        let original = &streams()[pick % streams().len()];
        let stream = apply(original, &edits);
        let start = at % original.len().max(1);
        let sequence = String::from_utf8_lossy(original.get(start..start + len).unwrap_or(b"x"));
        let stop = [sequence.as_ref(), "\n\n", "é"];
        for dialect in DIALECTS {
            let whole = run_with_stop(dialect, StreamOptions::default(), &stop, &stream, &[usize::MAX])
                .map_err(TestCaseError::fail)?;
            let split = run_with_stop(dialect, StreamOptions::default(), &stop, &stream, &chunks)
                .map_err(TestCaseError::fail)?;
            prop_assert!(whole == split, "{dialect:?} output depends on chunking {chunks:?}");
            check_output(dialect, &whole).map_err(TestCaseError::fail)?;
        }
    }

    /// Arbitrary SSE-flavoured bytes, with a small event cap so that it is reached often.
    #[test]
    fn arbitrary_bytes_respect_the_cap(
        input in sse_soup(),
        chunks in chunkings(),
        cap in 16usize..512,
    ) {
        let options = StreamOptions { max_event_bytes: cap, ..StreamOptions::default() };
        check_all(options, &input, &chunks).map_err(TestCaseError::fail)?;
    }

    /// Any text, in any line-ending style, one to five bytes at a time (so inside CRLFs and
    /// inside multi-byte UTF-8 sequences): identical output, and every character arrives.
    #[test]
    fn unicode_text_survives_any_split(
        deltas in proptest::collection::vec(".{0,12}", 1..12),
        eol in prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
        chunks in proptest::collection::vec(1usize..6, 1..8),
    ) {
        let refs: Vec<&str> = deltas.iter().map(String::as_str).collect();
        let stream = text_stream(&refs, eol);
        check_all(StreamOptions::default(), stream.as_bytes(), &chunks)
            .map_err(TestCaseError::fail)?;
        let out = run(Dialect::Chat, StreamOptions::default(), stream.as_bytes(), &chunks)
            .map_err(TestCaseError::fail)?;
        check_output(Dialect::Chat, &out).map_err(TestCaseError::fail)?;
        let mut text = String::new();
        for block in String::from_utf8(out).unwrap().split("\n\n") {
            if let Some(data) = block.strip_prefix("data: ").filter(|d| d.starts_with('{')) {
                let value: serde_json::Value = serde_json::from_str(data).unwrap();
                text += value["choices"][0]["delta"]["content"].as_str().unwrap_or("");
            }
        }
        prop_assert_eq!(text, deltas.concat());
    }

    /// Whatever delta event the fast path accepts — any kind, key order, spacing, escape, number —
    /// reads the same as with the full parse, also when it repeats a shape the reader learnt.
    #[test]
    fn fast_path_reads_what_the_full_parse_reads(
        choices in proptest::collection::vec(any::<u8>(), 0..3000),
    ) {
        let payloads = deltas::payloads(&mut Choices::new(&choices));
        deltas::check_reader(&payloads).map_err(TestCaseError::fail)?;
    }

    /// Streams of such events, and real streams, translate to the same bytes and counters with
    /// and without the fast path, whole and in any chunks, under any event cap.
    #[test]
    fn fast_path_changes_no_output(
        choices in proptest::collection::vec(any::<u8>(), 0..2000),
        pick in any::<usize>(),
        chunks in chunkings(),
        cap in prop_oneof![Just(1usize << 20), 16usize..400],
    ) {
        let options = StreamOptions { max_event_bytes: cap, ..StreamOptions::default() };
        let mut choices = Choices::new(&choices);
        let created_first = pick % 8 != 0;
        let payloads = deltas::payloads(&mut choices);
        let stream = deltas::stream(&mut choices, &payloads, created_first);
        check_fast_path(options, &stream, &chunks).map_err(TestCaseError::fail)?;
        let real = &streams()[pick % streams().len()];
        check_fast_path(StreamOptions::default(), real, &chunks).map_err(TestCaseError::fail)?;
    }

    /// The framer yields the same events and comments, in the same order, however its input is
    /// cut, CR / LF / CRLF included.
    #[test]
    fn framer_is_split_invariant(input in sse_soup(), chunks in chunkings()) {
        let frame = |chunks: &[usize]| {
            let mut framer = Framer::new(1 << 20);
            // An event's payload, or `None` for a comment: both must stand in the same place.
            let mut frames: Vec<Option<Vec<u8>>> = Vec::new();
            let mut push = |frame: Frame| frames.push(match frame {
                Frame::Event(data) => Some(data.to_vec()),
                Frame::Comment => None,
            });
            for piece in pieces(&input, chunks) {
                framer.feed(piece, &mut push).unwrap();
            }
            framer.finish(&mut push).unwrap();
            frames
        };
        prop_assert_eq!(frame(&chunks), frame(&[usize::MAX]));
    }
}
