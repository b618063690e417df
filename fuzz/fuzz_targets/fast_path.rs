//! The fast path against the full parse. Half the inputs are read as choices that build delta
//! events (`tests/common/deltas.rs`): each payload the fast path accepts must read as the full
//! parse reads it, also when it repeats a shape the reader learnt. The other half are arbitrary
//! bytes. Either way the stream must translate to the same bytes and counters with and without
//! the fast path, whole and in chunks, in both dialects.
#![no_main]

use libfuzzer_sys::fuzz_target;
use responses_transcoder_fuzz::deltas::{self, Choices};
use responses_transcoder_fuzz::invariants::check_fast_path;
use responses_transcoder_fuzz::split_input;

fuzz_target!(|data: &[u8]| {
    let (options, chunks, rest) = split_input(data);
    let Some((&mode, rest)) = rest.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        check_fast_path(options, rest, &chunks).unwrap();
        return;
    }
    let mut choices = Choices::new(rest);
    let payloads = deltas::payloads(&mut choices);
    deltas::check_reader(&payloads).unwrap();
    let stream = deltas::stream(&mut Choices::new(rest), &payloads, mode % 16 != 1);
    check_fast_path(options, &stream, &chunks).unwrap();
});
