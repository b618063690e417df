//! Arbitrary bytes through the SSE framer: the same events (or the same error) whatever the
//! chunking, and never more held than the cap allows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use responses_transcoder::sse::{FrameError, Framer};
use responses_transcoder_fuzz::invariants::{pieces, HELD_SLACK};
use responses_transcoder_fuzz::split_input;

fn frame(input: &[u8], cap: usize, chunks: &[usize]) -> (Vec<Vec<u8>>, Result<(), FrameError>) {
    let mut framer = Framer::new(cap);
    let mut events = Vec::new();
    for piece in pieces(input, chunks) {
        if let Err(e) = framer.feed(piece, &mut |e: &[u8]| events.push(e.to_vec())) {
            return (events, Err(e));
        }
        let held = framer.held_bytes();
        assert!(held <= cap + HELD_SLACK, "held {held}");
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
