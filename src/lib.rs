//! # responses-transcoder
//!
//! An Envoy HTTP filter (proxy-wasm, `wasm32-wasip1`, V8) that rewrites an upstream's OpenAI
//! **Responses API** SSE stream, chunk by chunk, into **OpenAI Chat Completions chunks** or
//! **Google Gemini Interactions events** or **Anthropic Messages events**, reporting every terminal outcome in-band in the
//! client's own dialect.
//!
//! The data flows one way:
//!
//! ```text
//! upstream bytes ─▶ sse (framer) ─▶ responses (typed event) ─▶ chat | interactions | anthropic (encoder) ─▶ client bytes
//!                        ▲                                                   │
//!                  transcoder (per-stream state: dialect, ids, step/tool indices, limits, terminal)
//!                        ▲
//!              filter (proxy-wasm glue)      bin/transcode (CLI)      benches / tests
//! ```
//!
//! * [`sse`] frames bytes into event payloads (WHATWG rules, byte cap) and knows nothing else;
//!   it borrows complete lines from the input chunk and copies only a line split across chunks.
//! * [`fast_path`] reads the hot delta events straight from their bytes; whatever it does not
//!   accept goes to the full parse.
//! * [`responses`] is the upstream event model, borrowed from the payload.
//! * [`chat`] writes Chat Completions chunks; [`interactions`] writes Gemini Interactions events;
//!   [`anthropic`] writes Anthropic Messages events. Each also holds its dialect's request
//!   translator and unary answer.
//! * [`transcoder`] owns one stream: identity, terminal outcome, counters; the filter and the CLI
//!   drive it the same way: `feed(chunk, &mut out)` per body chunk, `finish(&mut out)` at the end.
//! * [`config`] is the plugin configuration and the per-request dialect choice.
//! * [`route`] says what a client request is (create, resume, cancel, delete, other) and where
//!   it goes on the Responses API.
//! * [`exchange`] is one HTTP exchange as a state machine: hold or forward, stream or unary,
//!   status, encoding, size, local replies; `filter` drives it, the tests drive it natively.
//! * [`stop`] honours the client's stop sequences (the Responses API has none): the matcher the
//!   encoders and unary translators run the text output through.
//! * [`error_body`] rewrites a non-2xx upstream error body into the client dialect's error body.
//! * [`request`] is what the request translators (`chat::request`, `interactions::request`,
//!   `anthropic::request`) share; [`outcome`] the terminal types every encoder matches.
//! * [`telemetry`] is the per-request report (tokens, outcome); [`tracking`] bounds what each
//!   part has sent; [`json`] holds the small JSON writers; `word_scan` the word-at-a-time byte
//!   searches the framer and the fast path share.
//! * `filter` (wasm32 only) is the proxy-wasm glue: it turns host callbacks into
//!   [`exchange`] calls and [`exchange::Host`] calls into host calls.
//!
//! Everything but `filter` is plain Rust, tested natively with `cargo test`.

pub mod anthropic;
pub mod chat;
pub mod config;
pub mod error_body;
pub mod exchange;
pub mod fast_path;
pub mod interactions;
pub mod json;
pub mod outcome;
pub mod request;
pub mod responses;
pub mod route;
pub mod sse;
pub mod stop;
pub mod telemetry;
pub mod tracking;
pub mod transcoder;
mod word_scan;

#[cfg(target_arch = "wasm32")]
mod filter;

pub use config::{Config, Dialect, StreamOptions};
pub use transcoder::{Stats, Transcoder};
