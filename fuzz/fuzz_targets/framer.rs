//! Arbitrary bytes through the SSE framer: the same events (or the same error) whatever the
//! chunking, and never more held than the cap allows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use responses_transcoder::sse::{FrameError, Framer};
use responses_transcoder_fuzz::invariants::HELD_SLACK;
use responses_transcoder_fuzz::split_input;

fn frame(input: &[u8], cap: usize, chunks: &[usize]) -> (Vec<Vec<u8>>, Result<(), FrameError>) {
    let mut framer = Framer::new(cap);
    let mut events = Vec::new();
    let mut rest = input;
    let mut lengths = chunks.iter().cycle();
    while !rest.is_empty() {
        let n = lengths
            .next()
            .copied()
            .unwrap_or(rest.len())
            .clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(n);
        if let Err(e) = framer.feed(chunk, &mut |e: &[u8]| events.push(e.to_vec())) {
            return (events, Err(e));
        }
        assert!(
            framer.held_bytes() <= cap + HELD_SLACK,
            "held {}",
            framer.held_bytes()
        );
        rest = tail;
    }
    let result = framer.finish(&mut |e: &[u8]| events.push(e.to_vec()));
    (events, result)
}

fuzz_target!(|data: &[u8]| {
    let (options, chunks, stream) = split_input(data);
    let cap = options.max_event_bytes;
    assert_eq!(
        frame(stream, cap, &[usize::MAX]),
        frame(stream, cap, &chunks)
    );
});
