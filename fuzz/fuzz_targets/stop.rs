//! Stop sequences over arbitrary text in arbitrary pieces: what the stream matcher releases is the
//! text up to the first occurrence (the whole text without one), whatever the pieces; it never
//! holds more than the longest sequence minus one character; and the matcher over JSON string
//! contents releases the same text, escaped.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use responses_transcoder::json::push_str;
use responses_transcoder::stop::{
    decode_contents, ContentsStopMatcher, StopMatcher, StopSequences,
};

#[derive(Debug, Arbitrary)]
struct Input {
    sequences: Vec<String>,
    pieces: Vec<String>,
}

/// The JSON string contents of `text` (the literal without its quotes).
fn contents(text: &str) -> Vec<u8> {
    let mut literal = Vec::new();
    push_str(&mut literal, text);
    literal
        .get(1..literal.len() - 1)
        .unwrap_or_default()
        .to_vec()
}

fuzz_target!(|input: Input| {
    let sequences: Vec<String> = input.sequences.into_iter().take(5).collect();
    let stop = StopSequences::new(sequences);
    let longest = stop
        .as_slice()
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0);
    let (Some(mut matcher), Some(mut escaped)) = (
        StopMatcher::new(stop.clone()),
        ContentsStopMatcher::new(stop.clone()),
    ) else {
        return;
    };
    let whole: String = input.pieces.concat();
    let expected = match stop.cut(&whole) {
        Some(at) => &whole[..at],
        None => &whole[..],
    };
    let (mut released, mut released_escaped) = (String::new(), Vec::new());
    let mut stopped = false;
    for piece in &input.pieces {
        stopped = matcher.push(piece, &mut released);
        assert_eq!(
            escaped.push(&contents(piece), &mut released_escaped),
            stopped
        );
        if stopped {
            break;
        }
        assert!(matcher.held().chars().count() < longest.max(1));
    }
    if !stopped {
        matcher.flush(&mut released);
        escaped.flush(&mut released_escaped);
    }
    assert_eq!(released, expected);
    let mut decoded = String::new();
    decode_contents(&released_escaped, &mut None, &mut decoded);
    assert_eq!(decoded, expected);
});
