//! The upstream event model: OpenAI Responses API streaming events, borrowed from the SSE payload.
//!
//! Only the fields the encoders need are declared; everything else is skipped by serde. Values
//! the output merely copies (text deltas, ids, model names, error codes) are kept as borrowed
//! [`RawValue`]s: their JSON bytes are written to the client as they came, without being decoded
//! and encoded again. Objects that are large or rarely needed (`response.output`, message
//! content) stay raw until an encoder asks for them.

use super::object::{ErrorObject, Response};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// One upstream event (`data:` payload), as much of it as the encoders read.
#[derive(Debug, Deserialize)]
pub struct Event<'a> {
    /// The event type (`response.output_text.delta`, …); see [`EventKind`].
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    /// Upstream sequence number, when the server sends one.
    pub sequence_number: Option<u64>,
    /// Index of the output item this event belongs to.
    pub output_index: Option<u64>,
    /// Index of the content part inside a message or reasoning item.
    pub content_index: Option<u64>,
    /// Index of the summary part inside a reasoning item.
    pub summary_index: Option<u64>,
    /// Id of the output item (servers may rotate it mid-stream; correlate by index).
    #[serde(borrow)]
    pub item_id: Option<&'a RawValue>,
    /// Text, refusal, reasoning or argument delta.
    #[serde(borrow)]
    pub delta: Option<&'a RawValue>,
    /// Full text in `*.done` events.
    #[serde(borrow)]
    pub text: Option<&'a RawValue>,
    /// Token log probabilities of a `response.output_text.delta` (an array, empty unless the
    /// request included `message.output_text.logprobs`), kept raw: the Chat token logprob
    /// objects have the same fields.
    #[serde(borrow)]
    pub logprobs: Option<&'a RawValue>,
    /// Full refusal in `response.refusal.done`.
    #[serde(borrow)]
    pub refusal: Option<&'a RawValue>,
    /// Full arguments in `response.function_call_arguments.done`.
    #[serde(borrow)]
    pub arguments: Option<&'a RawValue>,
    /// Full input in `response.custom_tool_call_input.done`.
    #[serde(borrow)]
    pub input: Option<&'a RawValue>,
    /// The item of `response.output_item.added | done`.
    #[serde(borrow)]
    pub item: Option<Item<'a>>,
    /// The part of `response.content_part.*` and `response.reasoning_summary_part.*`.
    #[serde(borrow)]
    pub part: Option<Part<'a>>,
    /// The response object of lifecycle and terminal events.
    #[serde(borrow)]
    pub response: Option<Response<'a>>,
    /// `error` events: code at top level (OpenAI's shape).
    #[serde(borrow)]
    pub code: Option<&'a RawValue>,
    /// `error` events: message at top level.
    #[serde(borrow)]
    pub message: Option<&'a RawValue>,
    /// `error` events: param at top level.
    #[serde(borrow)]
    pub param: Option<&'a RawValue>,
    /// `error` events: nested error object (shape some servers and proxies use).
    #[serde(borrow)]
    pub error: Option<ErrorObject<'a>>,
}

/// An output item: message, reasoning, function call, custom tool call or a built-in tool call.
#[derive(Debug, Deserialize)]
pub struct Item<'a> {
    /// Item type (`message`, `reasoning`, `function_call`, `custom_tool_call`, …).
    #[serde(rename = "type", borrow)]
    pub kind: Option<Cow<'a, str>>,
    /// Item id.
    #[serde(borrow)]
    pub id: Option<&'a RawValue>,
    /// Tool call id the client answers with.
    #[serde(borrow)]
    pub call_id: Option<&'a RawValue>,
    /// Tool name.
    #[serde(borrow)]
    pub name: Option<&'a RawValue>,
    /// Function call arguments (a JSON string).
    #[serde(borrow)]
    pub arguments: Option<&'a RawValue>,
    /// Custom tool call input (a string).
    #[serde(borrow)]
    pub input: Option<&'a RawValue>,
    /// Encrypted reasoning content.
    #[serde(borrow)]
    pub encrypted_content: Option<&'a RawValue>,
    /// Message or reasoning content parts, decoded on demand by [`Item::content_parts`].
    #[serde(borrow)]
    pub content: Option<&'a RawValue>,
    /// Reasoning summary parts, decoded on demand by [`Item::summary_parts`].
    #[serde(borrow)]
    pub summary: Option<&'a RawValue>,
}

impl<'a> Item<'a> {
    /// The item type, or `""` when absent.
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or("")
    }

    /// Whether this item is a call the client must answer (function or custom tool call).
    pub fn is_tool_call(&self) -> bool {
        matches!(self.kind(), "function_call" | "custom_tool_call")
    }

    /// The call's arguments: `arguments` for function calls, `input` for custom tool calls.
    pub fn call_arguments(&self) -> Option<&'a RawValue> {
        self.arguments.or(self.input)
    }

    /// Content parts, or none when absent or not an array of parts.
    pub fn content_parts(&self) -> Vec<Part<'a>> {
        parts(self.content)
    }

    /// Summary parts, or none when absent or not an array of parts.
    pub fn summary_parts(&self) -> Vec<Part<'a>> {
        parts(self.summary)
    }
}

fn parts(raw: Option<&RawValue>) -> Vec<Part<'_>> {
    raw.and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or_default()
}

/// A content or summary part.
#[derive(Debug, Deserialize)]
pub struct Part<'a> {
    /// Part type (`output_text`, `refusal`, `summary_text`, `reasoning_text`, …).
    #[serde(rename = "type", borrow)]
    pub kind: Option<Cow<'a, str>>,
    /// Text of text-like parts.
    #[serde(borrow)]
    pub text: Option<&'a RawValue>,
    /// Text of refusal parts.
    #[serde(borrow)]
    pub refusal: Option<&'a RawValue>,
    /// Annotations (citations) of `output_text` parts, raw.
    #[serde(borrow)]
    pub annotations: Option<&'a RawValue>,
    /// Token log probabilities of `output_text` parts, raw.
    #[serde(borrow)]
    pub logprobs: Option<&'a RawValue>,
}

/// The upstream event types the encoders act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `response.created`, `response.in_progress`, `response.queued`.
    Lifecycle,
    /// `response.output_item.added`.
    OutputItemAdded,
    /// `response.output_item.done`.
    OutputItemDone,
    /// `response.output_text.delta`.
    TextDelta,
    /// `response.output_text.done`.
    TextDone,
    /// `response.content_part.done`.
    ContentPartDone,
    /// `response.refusal.delta`.
    RefusalDelta,
    /// `response.refusal.done`.
    RefusalDone,
    /// `response.function_call_arguments.delta`, `response.custom_tool_call_input.delta`.
    ArgumentsDelta,
    /// `response.function_call_arguments.done`, `response.custom_tool_call_input.done`.
    ArgumentsDone,
    /// `response.reasoning_summary_part.added`.
    SummaryPartAdded,
    /// `response.reasoning_summary_text.delta`.
    SummaryDelta,
    /// `response.reasoning_summary_text.done`.
    SummaryDone,
    /// `response.reasoning_text.delta`.
    ReasoningDelta,
    /// `response.reasoning_text.done`.
    ReasoningDone,
    /// `response.completed`.
    Completed,
    /// `response.incomplete`.
    Incomplete,
    /// `response.failed`.
    Failed,
    /// `response.cancelled`.
    Cancelled,
    /// `error`.
    Error,
    /// `keepalive`: sent by Responses servers while a model is quiet, to keep connections open.
    Keepalive,
    /// Known events that carry nothing for the client (annotations, built-in tool progress, …).
    Ignored,
    /// Any other type: ignored and counted.
    Unknown,
}

impl EventKind {
    /// Classifies an event type string.
    pub fn of(kind: &str) -> EventKind {
        match kind {
            "response.created" | "response.in_progress" | "response.queued" => EventKind::Lifecycle,
            "response.output_item.added" => EventKind::OutputItemAdded,
            "response.output_item.done" => EventKind::OutputItemDone,
            "response.output_text.delta" => EventKind::TextDelta,
            "response.output_text.done" => EventKind::TextDone,
            "response.content_part.done" => EventKind::ContentPartDone,
            "response.refusal.delta" => EventKind::RefusalDelta,
            "response.refusal.done" => EventKind::RefusalDone,
            "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta" => {
                EventKind::ArgumentsDelta
            }
            "response.function_call_arguments.done" | "response.custom_tool_call_input.done" => {
                EventKind::ArgumentsDone
            }
            "response.reasoning_summary_part.added" => EventKind::SummaryPartAdded,
            "response.reasoning_summary_text.delta" => EventKind::SummaryDelta,
            "response.reasoning_summary_text.done" => EventKind::SummaryDone,
            "response.reasoning_text.delta" => EventKind::ReasoningDelta,
            "response.reasoning_text.done" => EventKind::ReasoningDone,
            "response.completed" => EventKind::Completed,
            "response.incomplete" => EventKind::Incomplete,
            "response.failed" => EventKind::Failed,
            "response.cancelled" => EventKind::Cancelled,
            "error" => EventKind::Error,
            "keepalive" => EventKind::Keepalive,
            "response.content_part.added"
            | "response.reasoning_summary_part.done"
            | "response.output_text.annotation.added"
            | "response.output_text_annotation.added" => EventKind::Ignored,
            other if is_builtin_tool_progress(other) => EventKind::Ignored,
            _ => EventKind::Unknown,
        }
    }
}

/// Progress events of server-side tools, which a client of another dialect has no use for.
fn is_builtin_tool_progress(kind: &str) -> bool {
    const PREFIXES: [&str; 10] = [
        "response.web_search_call.",
        "response.file_search_call.",
        "response.code_interpreter_call",
        "response.image_generation_call.",
        "response.mcp_",
        "response.shell_call",
        "response.local_shell_call",
        "response.apply_patch_call",
        "response.tool_search_call",
        "response.audio",
    ];
    PREFIXES.iter().any(|p| kind.starts_with(p))
}

/// A delta event — text, refusal, reasoning summary, reasoning text or tool call arguments — as
/// the encoders read it. These are most of the events of a real stream: the full parse builds one
/// from an [`Event`] ([`Delta::of`]), the fast path (`crate::fast_path`) straight from the payload,
/// and the encoders handle both alike.
#[derive(Debug, Clone, Copy)]
pub struct Delta<'a> {
    /// [`EventKind::TextDelta`], `RefusalDelta`, `SummaryDelta`, `ReasoningDelta` or
    /// `ArgumentsDelta`.
    pub kind: EventKind,
    /// Upstream sequence number, when the server sends one.
    pub sequence_number: Option<u64>,
    /// Index of the output item.
    pub output_index: Option<u64>,
    /// Index of the content part.
    pub content_index: Option<u64>,
    /// Index of the summary part.
    pub summary_index: Option<u64>,
    /// The item id as a JSON string literal (quotes included, UTF-8), when it is a string.
    pub item_id: Option<&'a [u8]>,
    /// The delta's JSON string contents as written (escapes kept, UTF-8), when it is a string
    /// (the encoders skip empty ones).
    pub contents: Option<&'a [u8]>,
    /// Token log probabilities, when the event carries a non-empty array of them.
    pub logprobs: Option<&'a RawValue>,
}

impl<'a> Delta<'a> {
    /// The delta view of `event` (of type `kind`), or `None` when it is not a delta event.
    pub fn of(kind: EventKind, event: &Event<'a>) -> Option<Delta<'a>> {
        matches!(
            kind,
            EventKind::TextDelta
                | EventKind::RefusalDelta
                | EventKind::SummaryDelta
                | EventKind::ReasoningDelta
                | EventKind::ArgumentsDelta
        )
        .then(|| Delta {
            kind,
            sequence_number: event.sequence_number,
            output_index: event.output_index,
            content_index: event.content_index,
            summary_index: event.summary_index,
            item_id: json_string(event.item_id).map(str::as_bytes),
            contents: string_contents(event.delta).map(str::as_bytes),
            logprobs: token_logprobs(event.logprobs),
        })
    }
}

impl PartialEq for Delta<'_> {
    fn eq(&self, other: &Self) -> bool {
        let fields = |d: &Self| {
            (
                d.kind,
                d.sequence_number,
                d.output_index,
                d.content_index,
                d.summary_index,
                d.item_id,
                d.contents,
            )
        };
        fields(self) == fields(other)
            && self.logprobs.map(RawValue::get) == other.logprobs.map(RawValue::get)
    }
}

/// The upstream's token logprob array, when it holds at least one entry (servers send `[]` when
/// the request did not ask for logprobs) and every entry has the Responses API's shape — the
/// array is copied to the client as it came, so nothing else (an unknown field, a number out of
/// `f64` range) may pass.
pub fn token_logprobs(raw: Option<&RawValue>) -> Option<&RawValue> {
    raw.filter(|raw| {
        let text = raw.get();
        text.starts_with('[')
            && text
                .get(1..)
                .is_some_and(|rest| !rest.trim_start().starts_with(']'))
            && serde_json::from_str::<Vec<TokenLogprob>>(text).is_ok()
    })
}

/// One token's logprob, as the Responses API sends it (`token`, `logprob`, `bytes`, and for the
/// chosen token `top_logprobs`, its alternatives); read only to check the shape.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenLogprob<'a> {
    #[serde(borrow, rename = "token")]
    _token: Cow<'a, str>,
    #[serde(rename = "logprob")]
    _logprob: f64,
    #[serde(default, rename = "bytes")]
    _bytes: Option<Vec<u8>>,
    #[serde(default, borrow, rename = "top_logprobs")]
    _top_logprobs: Option<Vec<TokenLogprob<'a>>>,
}

/// The raw JSON text of `raw` when it is a string literal (quotes included), else `None`.
pub fn json_string(raw: Option<&RawValue>) -> Option<&str> {
    raw.map(RawValue::get).filter(|s| s.starts_with('"'))
}

/// The contents of a JSON string literal as written (escapes kept, quotes removed), else `None`.
pub fn string_contents(raw: Option<&RawValue>) -> Option<&str> {
    json_string(raw)?.strip_prefix('"')?.strip_suffix('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_text_delta_fields() {
        let data = br#"{"type":"response.output_text.delta","item_id":"msg_1","output_index":1,"content_index":0,"delta":"caf\u00e9 \"x\"","sequence_number":4}"#;
        let ev: Event = serde_json::from_slice(data).unwrap();
        assert_eq!(EventKind::of(&ev.kind), EventKind::TextDelta);
        assert_eq!(json_string(ev.delta), Some(r#""caf\u00e9 \"x\"""#));
        assert_eq!(string_contents(ev.delta), Some(r#"caf\u00e9 \"x\""#));
        assert_eq!(ev.output_index, Some(1));
        assert_eq!(ev.sequence_number, Some(4));
    }

    #[test]
    fn reads_response_usage_and_incomplete_reason() {
        let data = br#"{"type":"response.incomplete","response":{"id":"resp_1","created_at":17,"model":"m","incomplete_details":{"reason":"content_filter"},"usage":{"input_tokens":3,"output_tokens":5,"total_tokens":8,"input_tokens_details":{"cached_tokens":1},"output_tokens_details":{"reasoning_tokens":2}},"output":[{"type":"function_call","call_id":"c"}]}}"#;
        let ev: Event = serde_json::from_slice(data).unwrap();
        let response = ev.response.unwrap();
        assert_eq!(
            response.incomplete_reason().as_deref(),
            Some("content_filter")
        );
        let usage = response.usage.unwrap();
        assert_eq!(
            (usage.cached_tokens(), usage.reasoning_tokens()),
            (Some(1), Some(2))
        );
        assert!(response.has_tool_call());
    }

    #[test]
    fn classifies_builtin_tool_progress_as_ignored() {
        assert_eq!(
            EventKind::of("response.web_search_call.searching"),
            EventKind::Ignored
        );
        assert_eq!(
            EventKind::of("response.code_interpreter_call_code.delta"),
            EventKind::Ignored
        );
        assert_eq!(EventKind::of("response.something_new"), EventKind::Unknown);
    }

    #[test]
    fn non_string_delta_is_not_text() {
        let ev: Event = serde_json::from_slice(br#"{"type":"x","delta":{"a":1}}"#).unwrap();
        assert_eq!(json_string(ev.delta), None);
        let ev: Event = serde_json::from_slice(br#"{"type":"x","delta":""}"#).unwrap();
        assert_eq!(string_contents(ev.delta), Some(""));
    }
}
