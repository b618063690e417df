//! The request side, shared by the dialects: what a translated request is, why a request is
//! refused, the options that shape translation, and readers that turn a raw JSON value into the
//! type a field needs — or into a [`Rejection`] naming that field.
//!
//! Each dialect's `request` module (`chat::request`, `interactions::request`) walks the client's
//! body key by key with [`Fields`], so that every key is either carried over, refused with a 400
//! naming it, or dropped because the configuration names it in `drop_unsupported_fields`. Nothing
//! is dropped silently.

use crate::json::Fields;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// A client request rewritten as a Responses API request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    /// The Responses request body (`POST /v1/responses`), compact JSON.
    pub body: Vec<u8>,
    /// Whether the client asked for a stream (`stream: true`); otherwise the answer is unary.
    pub stream: bool,
    /// Chat only: whether the client asked for the usage chunk (`stream_options.include_usage`).
    pub include_usage: bool,
}

/// Why a client request is refused. The filter answers it in the client's dialect
/// (`error_body::rejection`) and forwards nothing upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// HTTP status: 400, or 413 for a body over `max_request_bytes`.
    pub status: u16,
    /// Human-readable message, naming the field at fault.
    pub message: String,
    /// The field at fault as a path (`messages[2].content[0].type`), when there is one.
    pub param: Option<String>,
    /// Machine-readable code, in OpenAI's vocabulary (`unsupported_parameter`, `invalid_type`, …).
    pub code: &'static str,
}

impl Rejection {
    /// The body is not JSON (or not an object where one is required at the top).
    pub fn malformed(detail: impl std::fmt::Display) -> Self {
        Rejection {
            status: 400,
            message: format!("The request body is not valid JSON: {detail}."),
            param: None,
            code: "invalid_json",
        }
    }

    /// A field that has no equivalent in the Responses API (and is not configured to be dropped).
    pub fn unsupported(param: &str, why: &str) -> Self {
        Rejection {
            status: 400,
            message: format!("Unsupported parameter: '{param}': {why}."),
            param: Some(param.to_owned()),
            code: "unsupported_parameter",
        }
    }

    /// A field this dialect does not define.
    pub fn unknown(param: &str) -> Self {
        Rejection {
            status: 400,
            message: format!("Unrecognized request argument supplied: '{param}'."),
            param: Some(param.to_owned()),
            code: "unknown_parameter",
        }
    }

    /// A required field is absent.
    pub fn missing(param: &str) -> Self {
        Rejection {
            status: 400,
            message: format!("Missing required parameter: '{param}'."),
            param: Some(param.to_owned()),
            code: "missing_required_parameter",
        }
    }

    /// A field of the wrong JSON type; `expected` reads like "a string" or "an array".
    pub fn invalid_type(param: &str, expected: &str) -> Self {
        Rejection {
            status: 400,
            message: format!("Invalid type for '{param}': expected {expected}."),
            param: Some(param.to_owned()),
            code: "invalid_type",
        }
    }

    /// A field of the right type whose value cannot be used; `why` says what is wrong.
    pub fn invalid_value(param: &str, why: &str) -> Self {
        Rejection {
            status: 400,
            message: format!("Invalid value for '{param}': {why}."),
            param: Some(param.to_owned()),
            code: "invalid_value",
        }
    }

    /// The body exceeds `max_request_bytes`.
    pub fn too_large(limit: usize) -> Self {
        Rejection {
            status: 413,
            message: format!("The request body exceeds the gateway's limit of {limit} bytes."),
            param: None,
            code: "request_too_large",
        }
    }
}

/// Options of request translation, from the plugin configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// Client fields (paths as in rejections, e.g. `seed`, `generation_config.stop_sequences`)
    /// that are dropped instead of refused. Only fields a dialect lists as unsupported can be
    /// named here; the configuration checks that.
    pub drop_unsupported_fields: Vec<String>,
}

impl RequestOptions {
    /// Whether the configuration says to drop the unsupported field `param`.
    pub fn drops(&self, param: &str) -> bool {
        self.drop_unsupported_fields.iter().any(|f| f == param)
    }
}

/// Joins a path and a key: `join("messages[0]", "content")` is `messages[0].content`.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Joins a path and an array index: `index("messages", 2)` is `messages[2]`.
pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// Reads the whole request body as a JSON object.
pub fn body_fields(body: &[u8]) -> Result<Fields<'_>, Rejection> {
    let text = std::str::from_utf8(body).map_err(Rejection::malformed)?;
    let value: &RawValue = serde_json::from_str(text).map_err(Rejection::malformed)?;
    let fields = Fields::parse(value.get())
        .ok_or_else(|| Rejection::malformed("the top level must be a JSON object"))?;
    if let Some(key) = fields.duplicate() {
        return Err(Rejection::invalid_value(
            key,
            "the key appears more than once",
        ));
    }
    Ok(fields)
}

/// Whether `raw` is JSON `null`.
pub fn is_null(raw: &RawValue) -> bool {
    raw.get() == "null"
}

/// Reads an object field (duplicate keys refused).
pub fn object<'a>(raw: &'a RawValue, param: &str) -> Result<Fields<'a>, Rejection> {
    let fields =
        Fields::parse(raw.get()).ok_or_else(|| Rejection::invalid_type(param, "an object"))?;
    if let Some(key) = fields.duplicate() {
        return Err(Rejection::invalid_value(
            &join(param, key),
            "the key appears more than once",
        ));
    }
    Ok(fields)
}

/// Reads an array field, its elements left raw.
pub fn array<'a>(raw: &'a RawValue, param: &str) -> Result<Vec<&'a RawValue>, Rejection> {
    serde_json::from_str(raw.get()).map_err(|_| Rejection::invalid_type(param, "an array"))
}

/// Reads a string field, unescaped (borrowed when it holds no escape).
pub fn string<'a>(raw: &'a RawValue, param: &str) -> Result<Cow<'a, str>, Rejection> {
    #[derive(serde::Deserialize)]
    struct Text<'a>(#[serde(borrow)] Cow<'a, str>);
    serde_json::from_str::<Text>(raw.get())
        .map(|t| t.0)
        .map_err(|_| Rejection::invalid_type(param, "a string"))
}

/// Checks that a field is a JSON string and returns it raw (quotes and escapes kept), ready to be
/// copied into the output.
pub fn raw_string<'a>(raw: &'a RawValue, param: &str) -> Result<&'a str, Rejection> {
    string(raw, param)?;
    Ok(raw.get())
}

/// Reads a boolean field.
pub fn boolean(raw: &RawValue, param: &str) -> Result<bool, Rejection> {
    serde_json::from_str(raw.get()).map_err(|_| Rejection::invalid_type(param, "a boolean"))
}

/// Reads a non-negative integer field.
pub fn unsigned(raw: &RawValue, param: &str) -> Result<u64, Rejection> {
    serde_json::from_str(raw.get())
        .map_err(|_| Rejection::invalid_type(param, "a non-negative integer"))
}

/// Checks that a field is a number within `min..=max` and returns it raw, so the output carries
/// the client's exact digits.
pub fn number_in<'a>(
    raw: &'a RawValue,
    param: &str,
    min: f64,
    max: f64,
) -> Result<&'a str, Rejection> {
    let n: f64 =
        serde_json::from_str(raw.get()).map_err(|_| Rejection::invalid_type(param, "a number"))?;
    if !(min..=max).contains(&n) {
        return Err(Rejection::invalid_value(
            param,
            &format!("expected a number from {min} to {max}"),
        ));
    }
    Ok(raw.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> &RawValue {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn body_must_be_one_object_without_duplicate_keys() {
        assert_eq!(body_fields(b"[1]").unwrap_err().code, "invalid_json");
        assert_eq!(body_fields(b"{\"a\":").unwrap_err().code, "invalid_json");
        assert_eq!(
            body_fields(b"{\"a\":1}\xff").unwrap_err().code,
            "invalid_json"
        );
        let dup = body_fields(br#"{"a":1,"a":2}"#).unwrap_err();
        assert_eq!(dup.param.as_deref(), Some("a"));
        assert_eq!(body_fields(br#" {"a":1} "#).unwrap().entries.len(), 1);
    }

    #[test]
    fn readers_name_the_field() {
        let err = string(raw("1"), "messages[0].role").unwrap_err();
        assert_eq!(err.param.as_deref(), Some("messages[0].role"));
        assert_eq!(err.code, "invalid_type");
        assert_eq!(string(raw(r#""a\nb""#), "x").unwrap(), "a\nb");
        assert_eq!(raw_string(raw(r#""a\nb""#), "x").unwrap(), r#""a\nb""#);
        assert!(boolean(raw("\"true\""), "stream").is_err());
        assert!(unsigned(raw("-1"), "n").is_err());
        assert_eq!(number_in(raw("0.70"), "t", 0.0, 2.0).unwrap(), "0.70");
        let out = number_in(raw("3"), "temperature", 0.0, 2.0).unwrap_err();
        assert_eq!(out.code, "invalid_value");
        assert!(out.message.contains("'temperature'"));
        assert!(object(raw(r#"{"a":1,"a":1}"#), "o").is_err());
        assert_eq!(array(raw("[1,{}]"), "a").unwrap().len(), 2);
    }

    #[test]
    fn paths_join() {
        assert_eq!(join("", "model"), "model");
        assert_eq!(
            join(&index("messages", 2), "content"),
            "messages[2].content"
        );
    }
}
