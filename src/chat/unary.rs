//! STUB (being written): the upstream's JSON `Response` → the client's unary answer.

use crate::outcome::UnaryAnswer;

/// Translates a unary Responses answer (the upstream's 2xx JSON body).
pub fn translate(body: &[u8]) -> UnaryAnswer {
    UnaryAnswer {
        status: 200,
        body: body.to_vec(),
        outcome: None,
        usage: None,
    }
}
