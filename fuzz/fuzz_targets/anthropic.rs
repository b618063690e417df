//! Arbitrary bytes through the Anthropic encoder, whole and in chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use responses_transcoder::Dialect;

fuzz_target!(|data: &[u8]| responses_transcoder_fuzz::check_dialect(Dialect::Anthropic, data));
