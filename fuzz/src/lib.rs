//! Shared pieces of the fuzz targets: the stream invariants of `tests/common/invariants.rs` and
//! the way a fuzz input is cut into an option set, chunk lengths and the stream itself.

#[path = "../../tests/common/invariants.rs"]
pub mod invariants;

use responses_transcoder::{Dialect, StreamOptions};

/// Splits a fuzz input into (options, chunk lengths, stream): the first byte picks the event cap
/// (small caps are chosen often so that the limit is exercised), the next four give chunk lengths.
pub fn split_input(data: &[u8]) -> (StreamOptions, [usize; 4], &[u8]) {
    let (head, stream) = data.split_at(data.len().min(5));
    let byte = |i: usize| head.get(i).copied().unwrap_or(0) as usize;
    let max_event_bytes = match byte(0) {
        0..=63 => 16 + byte(0) * 8,
        _ => StreamOptions::default().max_event_bytes,
    };
    let options = StreamOptions {
        max_event_bytes,
        ..StreamOptions::default()
    };
    (
        options,
        [byte(1) + 1, byte(2) + 1, byte(3) + 1, byte(4) + 1],
        stream,
    )
}

/// The body of the `chat` and `interactions` targets: no panic, the same well-formed output
/// whole and in chunks, the held state within the cap. Panics (for libFuzzer) on a violation.
pub fn check_dialect(dialect: Dialect, data: &[u8]) {
    let (options, chunks, stream) = split_input(data);
    let whole = invariants::run(dialect, options, stream, &[usize::MAX]).unwrap();
    let split = invariants::run(dialect, options, stream, &chunks).unwrap();
    assert!(whole == split, "output depends on chunking {chunks:?}");
    invariants::check_output(dialect, &whole).unwrap();
}
