//! The upstream's JSON `Response` (a non-streaming answer) → an OpenAI `chat.completion` object,
//! as the openai SDK's `ChatCompletion` reads it. The terminal semantics are the stream's:
//!
//! | upstream `status` | answer |
//! |---|---|
//! | `completed` | 200, `finish_reason` `tool_calls` when the output has a function or custom tool call, else `stop` |
//! | `incomplete` | 200, `finish_reason` `content_filter` for that reason, else `length` (never `stop`); `incomplete_details` and Azure's `content_filters` forwarded as top-level fields, like the stream's finish chunk |
//! | `failed` (or no status but an `error`) | the Chat error body `{"error":{"message","type","code","param"}}` (same field rules as the stream's error frame), status from [`failed_status`] |
//! | `cancelled` | error body, code `cancelled`, 409 |
//! | `queued`, `in_progress` | error body, code `response_not_finished`, 502 |
//! | not a Responses object | error body, code `invalid_upstream_response`, 502 |
//!
//! A body is a Responses object by [`Response::of_answer`]'s rule, the same in both dialects (a
//! 2xx body that is only an `error` is a failure). The choice's message: `content` is the concatenated `output_text` of the message
//! items (`null` when there is none), `refusal` the concatenated refusals, `tool_calls` the
//! function and custom tool calls (custom ones as `type: "function"` with their input as
//! `arguments`, as the stream reports them), `annotations` the `url_citation`s reshaped to
//! Chat's `{type, url_citation:{start_index, end_index, title, url}}` (indices shifted by the
//! characters of the text before their part; other citation kinds have no Chat form),
//! `reasoning_content` the reasoning summaries and texts when `emit_reasoning` is on. `logprobs`
//! is `{"content":[…],"refusal":null}` from the parts' token logprobs, else `null`. `usage` is
//! written as the stream writes it.
//!
//! Stop sequences ([`crate::stop`]) apply to a completed or incomplete response as in a stream:
//! `content` (the message text across the output, in order) ends before the first occurrence,
//! the output items after the one it occurs in are left out, and `finish_reason` is `stop`.
//! Usage, token logprobs and annotations are the upstream's (they may cover text past the stop).

use crate::chat::stream::{push_usage_object, token_logprobs, ErrorFrame};
use crate::config::StreamOptions;
use crate::json::{push_i64, push_raw, push_str, ArrayWriter, Fields, ObjectWriter};
use crate::outcome::{failed_status, IncompleteReason, OutcomeKind, TerminalOutcome, UnaryAnswer};
use crate::request::text;
use crate::responses::{json_string, string_contents, Item, Part, Response, Usage};
use crate::stop::{ContentsStopMatcher, StopSequences};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Answer id when the upstream gave none (the stream uses the same).
const FALLBACK_ID: &str = "\"resp_unknown\"";

/// Translates a unary Responses answer (the upstream's 2xx JSON body).
pub fn translate(body: &[u8], options: &StreamOptions, stop: &StopSequences) -> UnaryAnswer {
    let text = String::from_utf8_lossy(body);
    let Some(response) = Response::of_answer(&text) else {
        let frame = ErrorFrame::ours(
            "\"invalid_upstream_response\"",
            "\"the upstream answer is not a Responses API object\"",
        );
        return error_answer(502, &frame, None, None);
    };
    let Some(outcome) = TerminalOutcome::of_response(&response) else {
        let mut message = Vec::new();
        push_str(
            &mut message,
            &[
                "the upstream response has not finished (status ",
                response.status.as_deref().unwrap_or("unknown"),
                ")",
            ]
            .concat(),
        );
        let message = String::from_utf8_lossy(&message);
        let frame = ErrorFrame::ours("\"response_not_finished\"", &message);
        return error_answer(502, &frame, None, response.usage);
    };
    let kind = OutcomeKind::of(&outcome);
    match outcome {
        TerminalOutcome::Completed { .. } => {
            let finish = if response.has_tool_call() {
                "tool_calls"
            } else {
                "stop"
            };
            completion(&response, finish, kind, options, stop)
        }
        TerminalOutcome::Incomplete { reason, .. } => {
            let finish = match reason {
                IncompleteReason::ContentFilter => "content_filter",
                IncompleteReason::MaxOutputTokens | IncompleteReason::Other => "length",
            };
            completion(&response, finish, kind, options, stop)
        }
        TerminalOutcome::Failed { error, .. } => error_answer(
            failed_status(&error),
            &ErrorFrame::upstream(&error),
            Some(kind),
            response.usage,
        ),
        TerminalOutcome::Cancelled { .. } => {
            let frame =
                ErrorFrame::ours("\"cancelled\"", "\"the upstream response was cancelled\"");
            error_answer(409, &frame, Some(kind), response.usage)
        }
        // A whole response object never ends these ways; answered like an unreadable body.
        TerminalOutcome::Truncated
        | TerminalOutcome::EventTooLarge { .. }
        | TerminalOutcome::InvalidEvent => {
            let frame = ErrorFrame::ours(
                "\"invalid_upstream_response\"",
                "\"the upstream answer did not finish\"",
            );
            error_answer(502, &frame, Some(kind), response.usage)
        }
    }
}

fn error_answer(
    status: u16,
    frame: &ErrorFrame,
    outcome: Option<OutcomeKind>,
    usage: Option<Usage>,
) -> UnaryAnswer {
    let mut body = Vec::new();
    frame.write(&mut body);
    UnaryAnswer {
        status,
        body,
        outcome,
        usage,
    }
}

/// A 200 `chat.completion` answer with one choice ending in `finish` (`stop` when a stop
/// sequence ended it).
fn completion(
    response: &Response,
    finish: &str,
    kind: OutcomeKind,
    options: &StreamOptions,
    stop: &StopSequences,
) -> UnaryAnswer {
    let items = response.output_items();
    let message = Message::collect(&items, options.emit_reasoning, stop);
    let (finish, kind) = match message.stopped {
        true => ("stop", OutcomeKind::Completed),
        false => (finish, kind),
    };
    let mut body = Vec::with_capacity(256 + message.content.len());
    let mut object = ObjectWriter::new(&mut body);
    object.raw("id", json_string(response.id).unwrap_or(FALLBACK_ID));
    object.str("object", "chat.completion");
    push_i64(object.key("created"), created(response));
    object.raw("model", json_string(response.model).unwrap_or("\"\""));
    if let Some(tier) = json_string(response.service_tier) {
        object.raw("service_tier", tier);
    }
    let mut choices = ArrayWriter::new(object.key("choices"));
    let mut choice = ObjectWriter::new(choices.item());
    choice.u64("index", 0);
    message.write(choice.key("message"));
    message.write_logprobs(choice.key("logprobs"));
    choice.str("finish_reason", finish);
    choice.end();
    choices.end();
    if let Some(usage) = &response.usage {
        push_usage_object(object.key("usage"), usage);
    }
    for (key, raw) in [
        ("incomplete_details", response.incomplete_details),
        ("content_filters", response.content_filters),
    ] {
        if let Some(raw) = raw.filter(|raw| raw.get() != "null") {
            object.raw(key, raw.get());
        }
    }
    object.end();
    UnaryAnswer {
        status: 200,
        body,
        outcome: Some(kind),
        usage: response.usage,
    }
}

/// Creation time in whole seconds (0 when absent or absurd), as the stream writes it.
fn created(response: &Response) -> i64 {
    response
        .created_at
        .filter(|t| t.is_finite() && *t >= 0.0 && *t < 1e15)
        .map_or(0, |t| t as i64)
}

/// The assistant message the output items make, its texts kept as JSON string contents
/// (escapes as the upstream wrote them).
#[derive(Default)]
struct Message<'a> {
    /// Concatenated `output_text`, when there is any.
    content: String,
    has_content: bool,
    /// Concatenated refusals, when there is any.
    refusal: Option<String>,
    /// Reasoning summaries and texts, when any is not empty (and reasoning is forwarded).
    reasoning: Option<String>,
    /// Annotations, each a written Chat annotation object.
    annotations: Vec<Vec<u8>>,
    /// Token logprob entries of the text parts, raw.
    logprobs: Vec<&'a RawValue>,
    /// Characters of `content` so far, for shifting citation indices.
    content_chars: u64,
    /// Function and custom tool calls, in order.
    calls: Vec<&'a Item<'a>>,
    /// Whether a stop sequence ended the text.
    stopped: bool,
}

impl<'a> Message<'a> {
    fn collect(items: &'a [Item<'a>], reasoning: bool, stop: &StopSequences) -> Self {
        let mut message = Message::default();
        let mut matcher = ContentsStopMatcher::new(stop.clone());
        for item in items {
            match item.kind() {
                "message" => {
                    for part in item.content_parts().iter() {
                        message.part(part, matcher.as_mut());
                        if message.stopped {
                            return message;
                        }
                    }
                }
                "reasoning" if reasoning => message.reasoning(item),
                _ if item.is_tool_call() => message.calls.push(item),
                _ => {}
            }
        }
        if let Some(matcher) = &mut matcher {
            let mut held = Vec::new();
            matcher.flush(&mut held);
            message.content.push_str(&String::from_utf8_lossy(&held));
        }
        message
    }

    fn part(&mut self, part: &Part<'a>, stop: Option<&mut ContentsStopMatcher>) {
        match part.kind.as_deref() {
            Some("output_text") => {
                let text = string_contents(part.text).unwrap_or("");
                self.citations(part.annotations);
                match stop {
                    Some(stop) => {
                        let mut released = Vec::new();
                        self.stopped = stop.push(text.as_bytes(), &mut released);
                        self.content.push_str(&String::from_utf8_lossy(&released));
                    }
                    None => self.content.push_str(text),
                }
                self.has_content = true;
                self.content_chars += decoded_chars(part.text);
                if let Some(entries) = token_logprobs(part.logprobs)
                    .and_then(|raw| serde_json::from_str::<Vec<&RawValue>>(raw.get()).ok())
                {
                    self.logprobs.extend(entries);
                }
            }
            Some("refusal") => self
                .refusal
                .get_or_insert_with(String::new)
                .push_str(string_contents(part.refusal).unwrap_or("")),
            _ => {}
        }
    }

    fn reasoning(&mut self, item: &Item) {
        let summaries = item.summary_parts().into_iter();
        let texts = item
            .content_parts()
            .into_iter()
            .filter(|part| part.kind.as_deref() == Some("reasoning_text"));
        for part in summaries.chain(texts) {
            if let Some(text) = string_contents(part.text).filter(|t| !t.is_empty()) {
                self.reasoning
                    .get_or_insert_with(String::new)
                    .push_str(text);
            }
        }
    }

    /// Reshapes a part's `url_citation`s, shifting their indices past the text before the part.
    fn citations(&mut self, raw: Option<&RawValue>) {
        let citations: Vec<&RawValue> = raw
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or_default();
        for citation in citations.into_iter().filter_map(|c| Fields::parse(c.get())) {
            let Some(url) = json_string(citation.get("url")) else {
                continue;
            };
            if citation.get("type").and_then(text).as_deref() != Some("url_citation") {
                continue;
            }
            let mut out = Vec::new();
            let mut annotation = ObjectWriter::new(&mut out);
            annotation.str("type", "url_citation");
            let mut inner = ObjectWriter::new(annotation.key("url_citation"));
            let shift = |key: &str| {
                let index = citation
                    .get(key)
                    .and_then(|raw| serde_json::from_str(raw.get()).ok());
                index.unwrap_or(0u64).saturating_add(self.content_chars)
            };
            inner.u64("start_index", shift("start_index"));
            inner.u64("end_index", shift("end_index"));
            inner.raw(
                "title",
                json_string(citation.get("title")).unwrap_or("\"\""),
            );
            inner.raw("url", url);
            inner.end();
            annotation.end();
            self.annotations.push(out);
        }
    }

    /// `{"role":"assistant","content","refusal","annotations","tool_calls"?,"reasoning_content"?}`.
    fn write(&self, out: &mut Vec<u8>) {
        let mut message = ObjectWriter::new(out);
        message.str("role", "assistant");
        write_text(
            message.key("content"),
            self.has_content.then_some(&self.content),
        );
        write_text(message.key("refusal"), self.refusal.as_ref());
        let mut annotations = ArrayWriter::new(message.key("annotations"));
        for annotation in &self.annotations {
            annotations.item().extend_from_slice(annotation);
        }
        annotations.end();
        if !self.calls.is_empty() {
            let mut calls = ArrayWriter::new(message.key("tool_calls"));
            for call in &self.calls {
                write_call(calls.item(), call);
            }
            calls.end();
        }
        if let Some(reasoning) = &self.reasoning {
            write_text(message.key("reasoning_content"), Some(reasoning));
        }
        message.end();
    }

    /// `{"content":[…],"refusal":null}`, or `null` without token logprobs.
    fn write_logprobs(&self, out: &mut Vec<u8>) {
        if self.logprobs.is_empty() {
            out.extend_from_slice(b"null");
            return;
        }
        let mut logprobs = ObjectWriter::new(out);
        let mut content = ArrayWriter::new(logprobs.key("content"));
        for entry in &self.logprobs {
            push_raw(content.item(), entry.get());
        }
        content.end();
        logprobs.raw("refusal", "null");
        logprobs.end();
    }
}

/// Writes JSON string contents as a string literal, or `null`.
fn write_text(out: &mut Vec<u8>, contents: Option<&String>) {
    match contents {
        Some(contents) => {
            out.push(b'"');
            out.extend_from_slice(contents.as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// `{"id","type":"function","function":{"name","arguments"}}`, as the stream announces a call.
fn write_call(out: &mut Vec<u8>, item: &Item) {
    let mut call = ObjectWriter::new(out);
    call.raw(
        "id",
        json_string(item.call_id.or(item.id)).unwrap_or("\"\""),
    );
    call.str("type", "function");
    let mut function = ObjectWriter::new(call.key("function"));
    function.raw("name", json_string(item.name).unwrap_or("\"\""));
    function.raw(
        "arguments",
        json_string(item.call_arguments()).unwrap_or("\"\""),
    );
    function.end();
    call.end();
}

/// Characters of a JSON string once decoded (0 when it is not a string).
fn decoded_chars(raw: Option<&RawValue>) -> u64 {
    raw.and_then(|raw| serde_json::from_str::<Cow<str>>(raw.get()).ok())
        .map_or(0, |text| text.chars().count() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoded_chars_count_escapes_once() {
        let raw: &RawValue = serde_json::from_str(r#""a\u00e9\n""#).unwrap();
        assert_eq!(decoded_chars(Some(raw)), 3);
        assert_eq!(decoded_chars(None), 0);
    }
}
