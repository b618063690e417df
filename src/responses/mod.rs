//! The OpenAI Responses API as this filter meets it: the stream events and the `Response` object
//! it reads from the upstream, and the request body it sends up.
//!
//! * [`event`]: one SSE event payload, borrowed (values the output copies stay raw JSON).
//! * [`object`]: the `Response` object of lifecycle / terminal events and of unary answers.
//! * [`reshape`]: an answer of the other shape than asked (JSON for a stream, SSE for a unary
//!   call) made into the one asked.

pub mod event;
pub mod object;
pub mod reshape;

pub use event::{
    json_string, string_contents, token_logprobs, Delta, Event, EventKind, Item, Part,
};
pub use object::{ErrorObject, InputTokensDetails, OutputTokensDetails, Response, Usage};
