//! Everything OpenAI Chat Completions: the stream encoder (Responses events → `chat.completion.chunk`
//! frames).

pub mod request;
pub mod stream;
pub mod unary;

pub use stream::ChatEncoder;
