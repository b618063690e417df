//! Everything Google Gemini Interactions: the request translator (`CreateModelInteraction` →
//! Responses request, [`request`]), the stream encoder (Responses events → `interaction.*` /
//! `step.*` events, [`stream`]) and the unary answer (Responses object → `Interaction`,
//! [`unary`]).

pub mod request;
pub mod stream;
pub mod unary;

pub use stream::InteractionsEncoder;
