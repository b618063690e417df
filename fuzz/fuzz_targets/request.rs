//! Arbitrary bytes as a client request (Chat, Interactions or Anthropic) and as an upstream unary
//! answer. The first byte picks which: no panic; a translated request is one JSON object naming a
//! model; a refusal is a 400 or 413 whose error body, in every dialect, is valid JSON naming its
//! message;
//! a unary answer is valid JSON with an HTTP status.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| responses_transcoder_fuzz::check_request(data));
