//! The request side, shared by the dialects: what a translated request is, why a request is
//! refused, the options that shape translation, and readers that turn a raw JSON value into the
//! type a field needs — or into a [`Rejection`] naming that field.
//!
//! Each dialect's `request` module (`chat::request`, `interactions::request`) walks the client's
//! body key by key with [`Fields`], so that every key is either carried over, refused with a 400
//! naming it, or dropped because the configuration names it in `drop_unsupported_fields`. Nothing
//! is dropped silently.
//!
//! The walk knows where it is as a [`Path`] on the stack, written out only when a rejection names
//! it; a rejection travels up the walk boxed ([`Refusal`]), so each `?` moves one pointer. Both
//! keep the translators small (they run once per request, not per event).

use crate::json::{push_u64, Fields};
use crate::stop::{StopSequences, MAX_SEQUENCE_BYTES};
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
    /// The client's stop sequences (Chat `stop`, Interactions
    /// `generation_config.stop_sequences`): not sent upstream, honoured on the answer
    /// ([`crate::stop`]).
    pub stop: StopSequences,
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

/// A [`Rejection`] on its way up the walk.
pub type Refusal = Box<Rejection>;

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

    /// The body exceeds `max_request_bytes`.
    pub fn too_large(limit: usize) -> Self {
        Rejection {
            status: 413,
            message: [
                "The request body exceeds the gateway's limit of ",
                &decimal(limit as u64),
                " bytes.",
            ]
            .concat(),
            param: None,
            code: "request_too_large",
        }
    }

    /// The body is compressed (`content-encoding` other than `identity`).
    pub fn encoded(encoding: &str) -> Self {
        Rejection {
            status: 415,
            message: [
                "The request body is encoded with '",
                encoding.trim(),
                "'; the gateway reads only uncompressed bodies.",
            ]
            .concat(),
            param: None,
            code: "unsupported_content_encoding",
        }
    }

    /// An endpoint of the client's API that the gateway does not serve (404).
    pub fn no_endpoint(method: &str, path: &str) -> Self {
        Rejection {
            status: 404,
            message: [
                "The gateway does not serve ",
                method,
                " ",
                path,
                ": the Responses API behind it has no equivalent.",
            ]
            .concat(),
            param: None,
            code: "not_found",
        }
    }

    /// A field that has no equivalent in the Responses API (and is not configured to be dropped).
    pub fn unsupported(param: &Path, why: &str) -> Refusal {
        named(
            "unsupported_parameter",
            "Unsupported parameter: '",
            param,
            &["': ", why, "."],
        )
    }

    /// A field this dialect does not define.
    pub fn unknown(param: &Path) -> Refusal {
        named(
            "unknown_parameter",
            "Unrecognized request argument supplied: '",
            param,
            &["'."],
        )
    }

    /// A required field is absent.
    pub fn missing(param: &Path) -> Refusal {
        named(
            "missing_required_parameter",
            "Missing required parameter: '",
            param,
            &["'."],
        )
    }

    /// A field of the wrong JSON type; `expected` reads like "a string" or "an array".
    pub fn invalid_type(param: &Path, expected: &str) -> Refusal {
        named(
            "invalid_type",
            "Invalid type for '",
            param,
            &["': expected ", expected, "."],
        )
    }

    /// A field of the right type whose value cannot be used; `why` says what is wrong, in
    /// pieces that are joined (so that numbers and names need no formatting machinery).
    pub fn invalid_value(param: &Path, why: &[&str]) -> Refusal {
        let mut rejection = named("invalid_value", "Invalid value for '", param, &["': "]);
        for piece in why {
            rejection.message.push_str(piece);
        }
        rejection.message.push('.');
        rejection
    }
}

/// A 400 naming `param`: `message` is `before`, the path, then `after`.
#[cold]
#[inline(never)]
fn named(code: &'static str, before: &str, param: &Path, after: &[&str]) -> Refusal {
    let param = param.text();
    let mut message = String::with_capacity(before.len() + param.len() + 64);
    message.push_str(before);
    message.push_str(&param);
    for piece in after {
        message.push_str(piece);
    }
    Box::new(Rejection {
        status: 400,
        message,
        param: Some(param),
        code,
    })
}

/// The decimal digits of `n`, for messages.
pub fn decimal(n: u64) -> String {
    let mut digits = Vec::with_capacity(20);
    push_u64(&mut digits, n);
    String::from_utf8(digits).unwrap_or_default()
}

/// Where a value sits in the client's body (`messages[2].content[0].type`): a chain of keys and
/// indices kept on the stack while the walk descends, and written out only when a rejection
/// names it.
#[derive(Debug, Clone, Copy)]
pub struct Path<'p> {
    parent: Option<&'p Path<'p>>,
    step: Step<'p>,
}

/// One step down: into an object's key, or an array's element.
#[derive(Debug, Clone, Copy)]
enum Step<'p> {
    Key(&'p str),
    Index(usize),
}

impl<'p> Path<'p> {
    /// A top-level key: `Path::top("messages")` is `messages`.
    pub const fn top(key: &'p str) -> Self {
        Path {
            parent: None,
            step: Step::Key(key),
        }
    }

    /// A key below this path: `messages[0]` and `content` make `messages[0].content`.
    pub fn key<'q>(&'q self, key: &'q str) -> Path<'q> {
        Path {
            parent: Some(self),
            step: Step::Key(key),
        }
    }

    /// An array element below this path: `messages` and 2 make `messages[2]`.
    pub fn index(&self, i: usize) -> Path<'_> {
        Path {
            parent: Some(self),
            step: Step::Index(i),
        }
    }

    /// The path as written in rejections.
    pub fn text(&self) -> String {
        let mut text = String::new();
        self.write(&mut text);
        text
    }

    fn write(&self, out: &mut String) {
        if let Some(parent) = self.parent {
            parent.write(out);
        }
        match self.step {
            Step::Key(key) => {
                if self.parent.is_some() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Index(i) => {
                out.push('[');
                out.push_str(&decimal(i as u64));
                out.push(']');
            }
        }
    }
}

/// What a Chat request's participant names (`messages[].name` on roles other than `tool`) become
/// when several distinct names share one role. With at most one name per role a name
/// differentiates nobody: it is accepted and not sent, whatever this says; a `tool` message's
/// name repeats what its `tool_call_id` identifies and is never refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ParticipantNames {
    /// A 400 naming the first `messages[i].name` that differs from an earlier name of its role:
    /// dropping would merge the participants.
    #[default]
    Refuse,
    /// Accepted and not sent: the participants of a role are merged.
    Drop,
    /// Each named message's text is prefixed with `<name>: `, so the model still tells the
    /// participants apart.
    Prefix,
}

/// Options of request translation, from the plugin configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// Client fields (paths as in rejections, e.g. `seed`, `generation_config.seed`)
    /// that are dropped instead of refused. Only fields a dialect lists as unsupported can be
    /// named here; the configuration checks that.
    pub drop_unsupported_fields: Vec<String>,
    /// Chat participant names shared by several participants of one role.
    pub participant_names: ParticipantNames,
}

impl RequestOptions {
    /// Whether the configuration says to drop the unsupported field `param`.
    pub fn drops(&self, param: &str) -> bool {
        self.drop_unsupported_fields.iter().any(|f| f == param)
    }
}

/// Reads the whole request body as a JSON object.
pub fn body_fields(body: &[u8]) -> Result<Fields<'_>, Refusal> {
    let malformed = |detail: &dyn std::fmt::Display| Box::new(Rejection::malformed(detail));
    let text = std::str::from_utf8(body).map_err(|e| malformed(&e))?;
    let value: &RawValue = serde_json::from_str(text).map_err(|e| malformed(&e))?;
    let fields = Fields::parse(value.get())
        .ok_or_else(|| malformed(&"the top level must be a JSON object"))?;
    no_duplicate(fields, None)
}

/// Refuses an object whose key appears twice (`path` is the object's, `None` at the top).
fn no_duplicate<'a>(fields: Fields<'a>, path: Option<&Path>) -> Result<Fields<'a>, Refusal> {
    match fields.duplicate() {
        None => Ok(fields),
        Some(key) => {
            let at = match path {
                Some(path) => path.key(key),
                None => Path::top(key),
            };
            Err(Rejection::invalid_value(
                &at,
                &["the key appears more than once"],
            ))
        }
    }
}

/// Whether `raw` is JSON `null`.
pub fn is_null(raw: &RawValue) -> bool {
    raw.get() == "null"
}

/// The value of `key`, unless it is absent or `null`.
#[inline(never)]
pub fn present<'a>(fields: &Fields<'a>, key: &str) -> Option<&'a RawValue> {
    fields.get(key).filter(|raw| !is_null(raw))
}

/// Refuses a `type` that is none of the expected ones.
#[inline(never)]
pub fn bad_type(path: &Path, expected: &str) -> Refusal {
    Rejection::invalid_value(&path.key("type"), &[expected])
}

/// Whether a raw value is a JSON string.
pub fn is_string(raw: &RawValue) -> bool {
    raw.get().starts_with('"')
}

/// Refuses the first key of `fields` that is not in `allowed`.
#[inline(never)]
pub fn only_keys(fields: &Fields, path: &Path, allowed: &[&str]) -> Result<(), Refusal> {
    match fields
        .entries
        .iter()
        .find(|(key, _)| !allowed.contains(&key.as_ref()))
    {
        Some((key, _)) => Err(Rejection::unknown(&path.key(key))),
        None => Ok(()),
    }
}

/// Reads an object field (duplicate keys refused).
#[inline(never)]
pub fn object<'a>(raw: &'a RawValue, param: &Path) -> Result<Fields<'a>, Refusal> {
    let fields =
        Fields::parse(raw.get()).ok_or_else(|| Rejection::invalid_type(param, "an object"))?;
    no_duplicate(fields, Some(param))
}

/// Reads an array field, its elements left raw.
#[inline(never)]
pub fn array<'a>(raw: &'a RawValue, param: &Path) -> Result<Vec<&'a RawValue>, Refusal> {
    serde_json::from_str(raw.get()).map_err(|_| Rejection::invalid_type(param, "an array"))
}

/// A JSON string's text, unescaped (borrowed when it holds no escape); `None` for any other
/// value.
#[inline(never)]
pub fn text(raw: &RawValue) -> Option<Cow<'_, str>> {
    #[derive(serde::Deserialize)]
    struct Text<'a>(#[serde(borrow)] Cow<'a, str>);
    serde_json::from_str::<Text>(raw.get()).ok().map(|t| t.0)
}

/// Reads a string field, unescaped (borrowed when it holds no escape).
pub fn string<'a>(raw: &'a RawValue, param: &Path) -> Result<Cow<'a, str>, Refusal> {
    text(raw).ok_or_else(|| Rejection::invalid_type(param, "a string"))
}

/// Checks that a field is a JSON string and returns it raw (quotes and escapes kept), ready to be
/// copied into the output.
#[inline(never)]
pub fn raw_string<'a>(raw: &'a RawValue, param: &Path) -> Result<&'a str, Refusal> {
    string(raw, param)?;
    Ok(raw.get())
}

/// Reads a boolean field.
#[inline(never)]
pub fn boolean(raw: &RawValue, param: &Path) -> Result<bool, Refusal> {
    match raw.get() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Rejection::invalid_type(param, "a boolean")),
    }
}

/// Reads a non-negative integer field.
#[inline(never)]
pub fn unsigned(raw: &RawValue, param: &Path) -> Result<u64, Refusal> {
    serde_json::from_str(raw.get())
        .map_err(|_| Rejection::invalid_type(param, "a non-negative integer"))
}

/// Checks that a field is a number from 0 to `max` and returns it raw, so the output carries
/// the client's exact digits.
#[inline(never)]
pub fn number_up_to<'a>(raw: &'a RawValue, param: &Path, max: u32) -> Result<&'a str, Refusal> {
    let n: f64 =
        serde_json::from_str(raw.get()).map_err(|_| Rejection::invalid_type(param, "a number"))?;
    if !(0.0..=f64::from(max)).contains(&n) {
        return Err(Rejection::invalid_value(
            param,
            &["expected a number from 0 to ", &decimal(max.into())],
        ));
    }
    Ok(raw.get())
}

/// Reads stop sequences: an array of at most `max` non-empty strings (or, when `one_string`, a
/// single string), each at most [`MAX_SEQUENCE_BYTES`] long.
#[inline(never)]
pub fn stop_sequences(
    raw: &RawValue,
    param: &Path,
    max: usize,
    one_string: bool,
) -> Result<StopSequences, Refusal> {
    let expected = if one_string {
        "a string or an array of strings"
    } else {
        "an array of strings"
    };
    let elements: Vec<&RawValue> = if one_string && raw.get().starts_with('"') {
        vec![raw]
    } else {
        serde_json::from_str(raw.get()).map_err(|_| Rejection::invalid_type(param, expected))?
    };
    if elements.len() > max {
        return Err(Rejection::invalid_value(
            param,
            &["expected at most ", &decimal(max as u64), " stop sequences"],
        ));
    }
    let mut sequences = Vec::with_capacity(elements.len());
    for (i, element) in elements.into_iter().enumerate() {
        let at = if raw.get().starts_with('"') {
            *param
        } else {
            param.index(i)
        };
        let sequence = string(element, &at)?.into_owned();
        if sequence.is_empty() {
            return Err(Rejection::invalid_value(
                &at,
                &["a stop sequence must not be empty"],
            ));
        }
        if sequence.len() > MAX_SEQUENCE_BYTES {
            return Err(Rejection::invalid_value(
                &at,
                &[
                    "a stop sequence is at most ",
                    &decimal(MAX_SEQUENCE_BYTES as u64),
                    " bytes long",
                ],
            ));
        }
        sequences.push(sequence);
    }
    Ok(StopSequences::new(sequences))
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
        let role = Path::top("messages");
        let role = role.index(0);
        let role = role.key("role");
        let err = string(raw("1"), &role).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("messages[0].role"));
        assert_eq!(err.code, "invalid_type");
        assert_eq!(
            err.message,
            "Invalid type for 'messages[0].role': expected a string."
        );
        let x = Path::top("x");
        assert_eq!(string(raw(r#""a\nb""#), &x).unwrap(), "a\nb");
        assert_eq!(raw_string(raw(r#""a\nb""#), &x).unwrap(), r#""a\nb""#);
        assert!(boolean(raw("\"true\""), &x).is_err());
        assert!(boolean(raw("true"), &x).unwrap());
        assert!(unsigned(raw("-1"), &x).is_err());
        assert_eq!(number_up_to(raw("0.70"), &x, 2).unwrap(), "0.70");
        let out = number_up_to(raw("3"), &Path::top("temperature"), 2).unwrap_err();
        assert_eq!(out.code, "invalid_value");
        assert_eq!(
            out.message,
            "Invalid value for 'temperature': expected a number from 0 to 2."
        );
        let dup = object(raw(r#"{"a":1,"a":1}"#), &Path::top("o")).unwrap_err();
        assert_eq!(dup.param.as_deref(), Some("o.a"));
        assert_eq!(array(raw("[1,{}]"), &x).unwrap().len(), 2);
    }

    #[test]
    fn paths_are_written_only_when_named() {
        let messages = Path::top("messages");
        let second = messages.index(2);
        assert_eq!(second.key("content").text(), "messages[2].content");
        assert_eq!(Path::top("model").text(), "model");
        assert_eq!(decimal(0), "0");
        assert_eq!(
            Rejection::too_large(1024).message.matches("1024").count(),
            1
        );
    }
}
