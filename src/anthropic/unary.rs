//! The upstream's JSON `Response` (a non-streaming answer) → an Anthropic `Message`, as the
//! anthropic SDK's `Message` model reads it:
//!
//! ```json
//! {"id":"resp_1","type":"message","role":"assistant","model":"gpt-x",
//!  "content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,
//!  "usage":{"input_tokens":6,"cache_creation_input_tokens":0,"cache_read_input_tokens":4,"output_tokens":7}}
//! ```
//!
//! `content` holds the output items in order, as the stream encodes them: reasoning → `thinking`
//! (summary and reasoning text; `signature` carrying the item id and encrypted content; only with
//! `emit_reasoning`, and only when there is text or encrypted content), message → `text` (output
//! text and refusals, concatenated; empty ones left out), function / custom tool call →
//! `tool_use` (`id` = `call_id`, `input` the parsed arguments object, `{}` when there are none,
//! `{"input": "<text>"}` for anything that is not an object). `usage` is written by the stream's
//! own writer.
//!
//! | upstream `status` | answer |
//! |---|---|
//! | `completed` | 200, `stop_reason` `tool_use` when the output has a call, else `end_turn` |
//! | `incomplete`, `content_filter` | 200, `refusal` |
//! | `incomplete`, any other or no reason | 200, `max_tokens` (never `end_turn`) |
//! | `failed` (or no status and an `error`) | Anthropic error body, type by the upstream code, status by [`failed_status`] |
//! | `cancelled` | Anthropic error body, `api_error`, 409 |
//! | `queued`, `in_progress` | Anthropic error body, `api_error`, 502 |
//! | not a Responses object ([`Response::of_answer`]) | Anthropic error body, `api_error`, 502 |
//!
//! Usage is reported in [`UnaryAnswer::usage`] in every case the upstream gave it (billing).
//!
//! Stop sequences ([`crate::stop`]) apply to every `Message` answer as in a stream: the message
//! text ends before the first occurrence, the blocks after it are left out, and the answer has
//! `stop_reason: "stop_sequence"` with the `stop_sequence` that matched (outcome `completed`).
//! Usage is the upstream's (it may count tokens past the stop).

use super::stream::{error_type, push_usage, SIGNATURE_PREFIX};
use crate::config::StreamOptions;
use crate::error_body::anthropic_error;
use crate::interactions::unary::push_arguments;
use crate::json::{push_str, ArrayWriter, ObjectWriter};
use crate::outcome::{failed_status, IncompleteReason, OutcomeKind, TerminalOutcome, UnaryAnswer};
use crate::responses::{json_string, string_contents, Item, Response, Usage};
use crate::stop::{ContentsStopMatcher, StopSequences};

/// Translates a unary Responses answer (the upstream's 2xx JSON body) into a `Message`, or
/// Anthropic's error body when the response failed or is not a Responses object.
pub fn translate(body: &[u8], options: &StreamOptions, stop: &StopSequences) -> UnaryAnswer {
    let text = String::from_utf8_lossy(body);
    let Some(response) = Response::of_answer(&text) else {
        return error_answer(
            502,
            "api_error",
            "the upstream answer is not a Responses API object",
            None,
            None,
        );
    };
    let usage = response.usage;
    let Some(outcome) = TerminalOutcome::of_response(&response) else {
        let message = [
            "the upstream response has not finished (status ",
            response.status.as_deref().unwrap_or("unknown"),
            ")",
        ]
        .concat();
        return error_answer(502, "api_error", &message, None, usage);
    };
    let kind = Some(OutcomeKind::of(&outcome));
    match outcome {
        TerminalOutcome::Completed { .. } => {
            let reason = if response.has_tool_call() {
                "tool_use"
            } else {
                "end_turn"
            };
            message_answer(&response, reason, options, kind, stop)
        }
        TerminalOutcome::Incomplete { reason, .. } => {
            let reason = match reason {
                IncompleteReason::ContentFilter => "refusal",
                IncompleteReason::MaxOutputTokens | IncompleteReason::Other => "max_tokens",
            };
            message_answer(&response, reason, options, kind, stop)
        }
        TerminalOutcome::Failed { error, .. } => {
            let message = error
                .message
                .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "upstream response failed".to_owned());
            error_answer(
                failed_status(&error),
                error_type(&error),
                &message,
                kind,
                usage,
            )
        }
        TerminalOutcome::Cancelled { .. } => error_answer(
            409,
            "api_error",
            "the upstream response was cancelled",
            kind,
            usage,
        ),
        TerminalOutcome::Truncated
        | TerminalOutcome::EventTooLarge { .. }
        | TerminalOutcome::InvalidEvent => error_answer(
            502,
            "api_error",
            "the upstream answer did not say how the response ended",
            kind,
            usage,
        ),
    }
}

/// Anthropic's error body with `status`.
fn error_answer(
    status: u16,
    kind: &str,
    message: &str,
    outcome: Option<OutcomeKind>,
    usage: Option<Usage>,
) -> UnaryAnswer {
    let mut quoted = Vec::with_capacity(message.len() + 2);
    push_str(&mut quoted, message);
    let mut body = Vec::with_capacity(quoted.len() + 64);
    anthropic_error(
        &mut body,
        kind,
        std::str::from_utf8(&quoted).unwrap_or("\"upstream error\""),
    );
    UnaryAnswer {
        status,
        body,
        outcome,
        usage,
    }
}

/// A 200 answer holding the `Message`; `stop` the stop sequences that apply to its text.
fn message_answer(
    response: &Response,
    stop_reason: &str,
    options: &StreamOptions,
    outcome: Option<OutcomeKind>,
    stop: &StopSequences,
) -> UnaryAnswer {
    let mut content = Vec::new();
    let matched = push_content(&mut content, &response.output_items(), options, stop);
    let mut body = Vec::with_capacity(256 + content.len());
    let mut message = ObjectWriter::new(&mut body);
    message.raw("id", json_string(response.id).unwrap_or("\"resp_unknown\""));
    message.str("type", "message");
    message.str("role", "assistant");
    message.raw("model", json_string(response.model).unwrap_or("\"\""));
    message.key("content").extend_from_slice(&content);
    match &matched {
        Some(sequence) => {
            message.str("stop_reason", "stop_sequence");
            message.str("stop_sequence", sequence);
        }
        None => {
            message.str("stop_reason", stop_reason);
            message.raw("stop_sequence", "null");
        }
    }
    match &response.usage {
        Some(usage) => push_usage(message.key("usage"), usage),
        None => message.raw("usage", r#"{"input_tokens":0,"output_tokens":0}"#),
    }
    message.end();
    UnaryAnswer {
        status: 200,
        body,
        outcome: if matched.is_some() {
            Some(OutcomeKind::Completed)
        } else {
            outcome
        },
        usage: response.usage,
    }
}

/// Writes the content blocks of the output items; returns the stop sequence that ended them,
/// if one did.
fn push_content(
    out: &mut Vec<u8>,
    items: &[Item],
    options: &StreamOptions,
    stop: &StopSequences,
) -> Option<String> {
    let mut blocks = ArrayWriter::new(out);
    for item in items {
        match item.kind() {
            "message" => {
                let mut matcher = ContentsStopMatcher::new(stop.clone());
                let mut text = Vec::new();
                let mut matched = false;
                for part in item.content_parts() {
                    match (part.kind.as_deref(), matcher.as_mut()) {
                        (Some("output_text"), Some(matcher)) => {
                            let contents = string_contents(part.text).unwrap_or("");
                            if matcher.push(contents.as_bytes(), &mut text) {
                                matched = true;
                                break;
                            }
                        }
                        (Some("output_text"), None) => text
                            .extend_from_slice(string_contents(part.text).unwrap_or("").as_bytes()),
                        (Some("refusal"), _) => {
                            if let Some(matcher) = matcher.as_mut() {
                                matcher.flush(&mut text);
                            }
                            text.extend_from_slice(
                                string_contents(part.refusal).unwrap_or("").as_bytes(),
                            );
                        }
                        _ => {}
                    }
                }
                if let Some(matcher) = matcher.as_mut().filter(|_| !matched) {
                    matcher.flush(&mut text);
                }
                if !text.is_empty() {
                    let mut block = ObjectWriter::new(blocks.item());
                    block.str("type", "text");
                    let literal = block.key("text");
                    literal.push(b'"');
                    literal.extend_from_slice(&text);
                    literal.push(b'"');
                    block.end();
                }
                if matched {
                    blocks.end();
                    return matcher.and_then(|m| m.matched().map(str::to_owned));
                }
            }
            "reasoning" if options.emit_reasoning => {
                let summary = item.summary_parts();
                let content = item.content_parts();
                let text: String = summary
                    .iter()
                    .filter_map(|part| string_contents(part.text))
                    .chain(
                        content
                            .iter()
                            .filter(|part| part.kind.as_deref() == Some("reasoning_text"))
                            .filter_map(|part| string_contents(part.text)),
                    )
                    .collect();
                let encrypted = string_contents(item.encrypted_content);
                if text.is_empty() && encrypted.is_none() {
                    continue;
                }
                let mut block = ObjectWriter::new(blocks.item());
                block.str("type", "thinking");
                let literal = block.key("thinking");
                literal.push(b'"');
                literal.extend_from_slice(text.as_bytes());
                literal.push(b'"');
                let signature = block.key("signature");
                signature.push(b'"');
                if let Some(id) = string_contents(item.id) {
                    signature.extend_from_slice(SIGNATURE_PREFIX.as_bytes());
                    signature.extend_from_slice(id.as_bytes());
                    signature.push(b':');
                    signature.extend_from_slice(encrypted.unwrap_or("").as_bytes());
                }
                signature.push(b'"');
                block.end();
            }
            _ if item.is_tool_call() => {
                let mut block = ObjectWriter::new(blocks.item());
                block.str("type", "tool_use");
                block.raw(
                    "id",
                    json_string(item.call_id.or(item.id)).unwrap_or("\"\""),
                );
                block.raw("name", json_string(item.name).unwrap_or("\"\""));
                push_arguments(block.key("input"), item);
                block.end();
            }
            _ => {}
        }
    }
    blocks.end();
    None
}
