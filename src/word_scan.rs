//! Byte searches eight bytes at a time, for the two scans that read every byte of a stream: the
//! SSE framer's line ends and the fast path's plain run of a JSON string. A `u64` per step
//! (Mycroft's zero-byte test), which `wasm32` runs natively without a target feature; `memchr`
//! searches a `usize`, four bytes, at a time there.
//!
//! Each flag test may also flag a byte above a true match (its borrow), never below one, so the
//! lowest flagged byte of a word is always a true match.

/// Every byte of the word set to `byte`.
const fn splat(byte: u8) -> u64 {
    u64::from_le_bytes([byte; 8])
}

/// The high bit of every byte of a word.
const HIGH_BITS: u64 = splat(0x80);

/// Eight bytes as one little-endian word (zero when `bytes` is not eight long).
pub fn word(bytes: &[u8]) -> u64 {
    <[u8; 8]>::try_from(bytes).map_or(0, u64::from_le_bytes)
}

/// Flags (high bit set) the bytes of `word` below `bound`, for `bound` at most 0x80.
pub fn below(word: u64, bound: u8) -> u64 {
    word.wrapping_sub(splat(bound)) & !word & HIGH_BITS
}

/// Flags the bytes of `word` equal to `byte`.
pub fn equal(word: u64, byte: u8) -> u64 {
    below(word ^ splat(byte), 1)
}

/// Flags the bytes of `word` above 0x7F.
pub fn non_ascii(word: u64) -> u64 {
    word & HIGH_BITS
}

/// The position of the first byte of `bytes` that `matches`: whole words through `flags` (which
/// flags a word's matching bytes with the tests above), the tail byte by byte.
#[inline(always)]
pub fn position(
    bytes: &[u8],
    flags: impl Fn(u64) -> u64,
    matches: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let found = flags(word(chunk));
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = chunks.remainder();
    tail.iter().position(|&b| matches(b)).map(|i| at + i)
}
