//! The OpenAI Responses API as this filter meets it: the stream events and the `Response` object
//! it reads from the upstream, and the request body it sends up.
//!
//! * [`event`]: one SSE event payload, borrowed (values the output copies stay raw JSON).
//! * [`object`]: the `Response` object of lifecycle / terminal events and of unary answers.

pub mod event;
pub mod object;

pub use event::{
    json_string, string_contents, token_logprobs, Delta, Event, EventKind, Item, Part,
};
pub use object::{ErrorObject, InputTokensDetails, OutputTokensDetails, Response, Usage};
