//! Non-2xx upstream error bodies rewritten into the client dialect's error body (the HTTP status
//! is kept by the filter), and the bodies of the filter's own refusals and gateway errors. The upstream speaks OpenAI's `{"error":{"message","type","code",
//! "param"}}`; a body that is not that shape is carried as the message text.

use crate::config::Dialect;
use crate::json::{push_raw, push_str, push_u64};
use crate::request::Rejection;
use crate::responses::ErrorObject;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Longest upstream body text kept as an error message, in bytes.
const MAX_MESSAGE_BYTES: usize = 4096;

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    error: Option<ErrorObject<'a>>,
}

/// The text of a raw value that is present and not `null`.
fn raw(value: Option<&RawValue>) -> Option<&str> {
    value.map(RawValue::get).filter(|v| *v != "null")
}

/// The error body for a client of `dialect`, or `None` when the body should pass untouched.
pub fn rewrite(dialect: Dialect, status: u16, body: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(body);
    let parsed: Option<Body> = serde_json::from_str(&text).ok();
    let error = parsed.as_ref().and_then(|b| b.error.as_ref());
    let mut fallback_message = Vec::new();
    let message = match error
        .and_then(|e| raw(e.message))
        .filter(|m| m.starts_with('"'))
    {
        Some(message) => message,
        None => {
            let mut end = text.len().min(MAX_MESSAGE_BYTES);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            let text = text.get(..end).unwrap_or("").trim();
            push_str(
                &mut fallback_message,
                if text.is_empty() {
                    "upstream error"
                } else {
                    text
                },
            );
            std::str::from_utf8(&fallback_message).unwrap_or("\"upstream error\"")
        }
    };
    let mut out = Vec::with_capacity(message.len() + 96);
    match dialect {
        Dialect::Passthrough => return None,
        Dialect::Chat => {
            out.extend_from_slice(b"{\"error\":{\"message\":");
            push_raw(&mut out, message);
            out.extend_from_slice(b",\"type\":");
            push_raw(
                &mut out,
                error
                    .and_then(|e| raw(e.kind))
                    .unwrap_or("\"upstream_error\""),
            );
            out.extend_from_slice(b",\"code\":");
            push_raw(&mut out, error.and_then(|e| raw(e.code)).unwrap_or("null"));
            out.extend_from_slice(b",\"param\":");
            push_raw(&mut out, error.and_then(|e| raw(e.param)).unwrap_or("null"));
            out.extend_from_slice(b"}}");
        }
        Dialect::Interactions => google_error(&mut out, status, message),
        Dialect::Anthropic => anthropic_error(&mut out, anthropic_type(status), message),
    }
    Some(out)
}

/// The error body answering a refused request, in the client's dialect: OpenAI's
/// `{"error":{"message","type":"invalid_request_error","param","code"}}` for Chat, Google's
/// `{"error":{"code":<status>,"message","status":"INVALID_ARGUMENT"}}` for Interactions,
/// Anthropic's `{"type":"error","error":{"type":"invalid_request_error","message"}}` (the type
/// by the status: `request_too_large` for 413, `not_found_error` for 404).
pub fn rejection(dialect: Dialect, rejection: &Rejection) -> Vec<u8> {
    let mut out = Vec::with_capacity(rejection.message.len() + 128);
    match dialect {
        Dialect::Chat | Dialect::Passthrough => {
            out.extend_from_slice(b"{\"error\":{\"message\":");
            push_str(&mut out, &rejection.message);
            out.extend_from_slice(b",\"type\":\"invalid_request_error\",\"param\":");
            match &rejection.param {
                Some(param) => push_str(&mut out, param),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"code\":");
            push_str(&mut out, rejection.code);
            out.extend_from_slice(b"}}");
        }
        Dialect::Interactions | Dialect::Anthropic => {
            out = status_error(dialect, rejection.status, &rejection.message);
        }
    }
    out
}

/// The error body of an answer the gateway itself makes (an unreadable, compressed or oversized
/// upstream answer), in the client's dialect: OpenAI's `{"error":{"message","type":
/// "upstream_error","code","param":null}}` for Chat, Google's `{"error":{"code":<status>,"message",
/// "status"}}` for Interactions, Anthropic's `{"type":"error","error":{"type","message"}}` (the
/// type by the status) for Anthropic.
pub fn gateway(dialect: Dialect, status: u16, code: &str, message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 128);
    match dialect {
        Dialect::Chat | Dialect::Passthrough => {
            out.extend_from_slice(b"{\"error\":{\"message\":");
            push_str(&mut out, message);
            out.extend_from_slice(b",\"type\":\"upstream_error\",\"code\":");
            push_str(&mut out, code);
            out.extend_from_slice(b",\"param\":null}}");
        }
        Dialect::Interactions | Dialect::Anthropic => {
            out = status_error(dialect, status, message);
        }
    }
    out
}

/// The error body of `status` with the plain-text `message` in the dialects whose error shape
/// carries only those: Google's for Interactions, Anthropic's (the type by the status) otherwise.
fn status_error(dialect: Dialect, status: u16, message: &str) -> Vec<u8> {
    let mut literal = Vec::with_capacity(message.len() + 2);
    push_str(&mut literal, message);
    let literal = std::str::from_utf8(&literal).unwrap_or("\"error\"");
    let mut out = Vec::with_capacity(literal.len() + 96);
    match dialect {
        Dialect::Interactions => google_error(&mut out, status, literal),
        Dialect::Chat | Dialect::Passthrough | Dialect::Anthropic => {
            anthropic_error(&mut out, anthropic_type(status), literal)
        }
    }
    out
}

/// Appends Google's error body `{"error":{"code":<status>,"message":<message>,"status":<name>}}`;
/// `message` is a JSON string literal.
fn google_error(out: &mut Vec<u8>, status: u16, message: &str) {
    out.extend_from_slice(b"{\"error\":{\"code\":");
    push_u64(out, u64::from(status));
    out.extend_from_slice(b",\"message\":");
    push_raw(out, message);
    out.extend_from_slice(b",\"status\":\"");
    out.extend_from_slice(google_status(status).as_bytes());
    out.extend_from_slice(b"\"}}");
}

/// Appends Anthropic's error body `{"type":"error","error":{"type":<kind>,"message":<message>}}`;
/// `message` is a JSON string literal.
pub fn anthropic_error(out: &mut Vec<u8>, kind: &str, message: &str) {
    out.extend_from_slice(b"{\"type\":\"error\",\"error\":{\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",\"message\":");
    push_raw(out, message);
    out.extend_from_slice(b"}}");
}

/// Anthropic's error type for an HTTP status, as its API documents them (`api_error` for any
/// other 5xx, `invalid_request_error` for any other 4xx).
pub fn anthropic_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        503 | 529 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

/// Google's canonical status name for an HTTP status.
fn google_status(status: u16) -> &'static str {
    match status {
        400 | 413 | 415 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        402..=498 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_bodies_use_anthropics_shape_and_vocabulary() {
        let body = br#"{"error": {"message": "Slow down", "type": "requests", "code": "rate_limit_exceeded"}}"#;
        let out: serde_json::Value =
            serde_json::from_slice(&rewrite(Dialect::Anthropic, 429, body).unwrap()).unwrap();
        assert_eq!(
            out,
            serde_json::json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down"}})
        );
        let refused = Rejection::too_large(10);
        let out: serde_json::Value =
            serde_json::from_slice(&rejection(Dialect::Anthropic, &refused)).unwrap();
        assert_eq!(out["error"]["type"], "request_too_large");
        let out: serde_json::Value = serde_json::from_slice(&gateway(
            Dialect::Anthropic,
            503,
            "upstream_error",
            "no \"healthy\" upstream",
        ))
        .unwrap();
        assert_eq!(out["error"]["type"], "overloaded_error");
        assert_eq!(out["error"]["message"], "no \"healthy\" upstream");
        for (status, kind) in [
            (400, "invalid_request_error"),
            (401, "authentication_error"),
            (403, "permission_error"),
            (404, "not_found_error"),
            (415, "invalid_request_error"),
            (500, "api_error"),
            (502, "api_error"),
            (504, "timeout_error"),
            (529, "overloaded_error"),
        ] {
            assert_eq!(anthropic_type(status), kind, "{status}");
        }
    }

    #[test]
    fn openai_error_is_kept_for_chat() {
        let body = br#"{"error": {"message": "Rate limit", "type": "requests", "code": "rate_limit_exceeded", "param": null}}"#;
        let out = rewrite(Dialect::Chat, 429, body).unwrap();
        assert_eq!(
            out,
            br#"{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded","param":null}}"#
        );
    }

    #[test]
    fn openai_error_becomes_google_error_for_interactions() {
        let body =
            br#"{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded"}}"#;
        let out = rewrite(Dialect::Interactions, 429, body).unwrap();
        assert_eq!(
            out,
            br#"{"error":{"code":429,"message":"Rate limit","status":"RESOURCE_EXHAUSTED"}}"#
        );
    }

    #[test]
    fn non_json_body_becomes_the_message() {
        let out = rewrite(Dialect::Chat, 502, b"bad gateway \xff").unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["error"]["message"], "bad gateway \u{fffd}");
        assert_eq!(value["error"]["type"], "upstream_error");
        assert!(rewrite(Dialect::Passthrough, 502, b"x").is_none());
    }

    #[test]
    fn rejections_in_each_dialect() {
        let refused = Rejection::unsupported(
            &crate::request::Path::top("stop"),
            "the Responses API has no stop sequences",
        );
        let chat: serde_json::Value =
            serde_json::from_slice(&rejection(Dialect::Chat, &refused)).unwrap();
        assert_eq!(chat["error"]["param"], "stop");
        assert_eq!(chat["error"]["code"], "unsupported_parameter");
        assert_eq!(chat["error"]["type"], "invalid_request_error");
        let google: serde_json::Value =
            serde_json::from_slice(&rejection(Dialect::Interactions, &refused)).unwrap();
        assert_eq!(google["error"]["code"], 400);
        assert_eq!(google["error"]["status"], "INVALID_ARGUMENT");
        assert!(google["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'stop'"));
    }
}
