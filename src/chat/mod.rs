//! Everything OpenAI Chat Completions: the request translator (Chat request → Responses request),
//! the stream encoder (Responses events → `chat.completion.chunk` frames) and the unary
//! translator (Responses object → `chat.completion`).

pub mod request;
pub mod stream;
pub mod unary;

pub use stream::ChatEncoder;
