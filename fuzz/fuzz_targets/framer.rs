//! Arbitrary bytes through the SSE framer: the same events and comments, in the same order (or the
//! same error), whatever the chunking, and never more held than the cap allows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use responses_transcoder::sse::{Frame, FrameError, Framer};
use responses_transcoder_fuzz::invariants::{pieces, HELD_SLACK};
use responses_transcoder_fuzz::split_input;

/// Each event's payload, or `None` for a comment, and how framing ended.
type Framed = (Vec<Option<Vec<u8>>>, Result<(), FrameError>);

fn frame(input: &[u8], cap: usize, chunks: &[usize]) -> Framed {
    let mut framer = Framer::new(cap);
    let mut frames = Vec::new();
    let mut push = |frame: Frame| {
        frames.push(match frame {
            Frame::Event(data) => Some(data.to_vec()),
            Frame::Comment => None,
        })
    };
    for piece in pieces(input, chunks) {
        if let Err(e) = framer.feed(piece, &mut push) {
            return (frames, Err(e));
        }
        let held = framer.held_bytes();
        assert!(held <= cap + HELD_SLACK, "held {held}");
    }
    let result = framer.finish(&mut push);
    (frames, result)
}

fuzz_target!(|data: &[u8]| {
    let (options, chunks, stream) = split_input(data);
    let cap = options.max_event_bytes;
    assert_eq!(
        frame(stream, cap, &[usize::MAX]),
        frame(stream, cap, &chunks)
    );
});
