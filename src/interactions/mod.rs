//! Everything Google Gemini Interactions: the stream encoder (Responses events → `interaction.*` /
//! `step.*` events).

pub mod request;
pub mod stream;
pub mod unary;

pub use stream::InteractionsEncoder;
