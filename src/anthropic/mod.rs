//! Everything Anthropic Messages: the request translator (`MessageCreateParams` → Responses
//! request, [`request`]), the stream encoder (Responses events → `message_start` /
//! `content_block_*` / `message_delta` / `message_stop` / `error` events, [`stream`]) and the
//! unary answer (Responses object → `Message`, [`unary`]).

pub mod request;
pub mod stream;
pub mod unary;

pub use stream::AnthropicEncoder;
