//! The upstream's JSON `Response` (the answer to a non-streaming request, or what
//! `GET /v1/responses/{id}` returns) → a Google Gemini `Interaction` object, shaped as
//! google-genai's `Interaction` model declares it (`_gaos/types/interactions/interaction.py`):
//!
//! ```json
//! {"id":"resp_1","status":"completed","model":"gpt-x","created":"2023-11-14T22:13:20Z",
//!  "updated":"2023-11-14T22:13:25Z","steps":[{"type":"model_output","content":[{"type":"text","text":"Hi"}]}],
//!  "usage":{"total_input_tokens":10,"total_cached_tokens":4,"total_thought_tokens":3,"total_output_tokens":4,"total_tokens":17}}
//! ```
//!
//! * `id` is the response id (the interaction id a client hands back as
//!   `previous_interaction_id`); `model` is copied; `created` / `updated` are `created_at` /
//!   `completed_at` (else `created_at`) as ISO 8601 UTC; `previous_interaction_id` is the
//!   response's `previous_response_id`; `service_tier` `default` / `flex` / `priority` becomes
//!   `standard` / `flex` / `priority` (other tiers are left out). The Interaction model
//!   declares no `object` or `role`, so neither is sent.
//! * `steps` are the output items, in order, as the stream encodes them: reasoning → `thought`
//!   (`summary` from the summary and reasoning text, `signature` from `encrypted_content`; only
//!   with `emit_reasoning`), message → `model_output` (`content` of `text`; refusals as text,
//!   annotations left out), function / custom tool call → `function_call` (`id` = `call_id`,
//!   `arguments` the parsed object). Arguments that are not a JSON object — a custom tool's
//!   free-form input, or arguments cut short — are sent as `{"input": "<text>"}` so nothing is
//!   lost. Built-in tool items produce no step (the stream drops them too). As Google's
//!   `POST /interactions` does, only output steps are returned, never the input (the upstream
//!   response does not carry it).
//! * `usage` is written by the stream's own writer.
//!
//! Terminal semantics (SPEC §4.2, answered in one body):
//!
//! | upstream `status` | answer |
//! |---|---|
//! | `completed` | 200, `completed`, or `requires_action` when a step is a function call |
//! | `incomplete`, `max_output_tokens` or any other / no reason | 200, `incomplete` |
//! | `incomplete`, `content_filter` | 400 Google error body, "the response was blocked by a content filter" (the stream's `content_blocked` error) |
//! | `failed` (or no status and an `error`) | Google error body `{"error":{"code","message","status"}}` with [`failed_status`] |
//! | `cancelled` | 200, `cancelled` |
//! | `queued` | 200, `queued` (a background interaction waiting to start; google-genai 3.x declares the status) |
//! | `in_progress` | 200, `in_progress` (a background interaction still running) |
//!
//! Google's `budget_exceeded` has no Responses counterpart (a response cut by `max_output_tokens`
//! is `incomplete`), so it is never sent.
//! | not a Responses object ([`Response::of_answer`], the same rule as Chat's) | 502 Google error body |
//!
//! Usage is reported in [`UnaryAnswer::usage`] in every case the upstream gave it (billing).
//!
//! Stop sequences ([`crate::stop`]) apply to a `completed`, `requires_action` or `incomplete`
//! answer as in a stream: within each `model_output` step, the text ends before the first
//! occurrence; the steps after it are left out, and the status is `completed`. Usage is the
//! upstream's (it may count tokens past the stop).

use crate::config::{Dialect, StreamOptions};
use crate::error_body;
use crate::interactions::stream::push_usage;
use crate::json::{push_raw, push_str, ArrayWriter, ObjectWriter};
use crate::outcome::{
    failed_status, IncompleteReason, OutcomeKind, TerminalOutcome, UnaryAnswer, UpstreamError,
};
use crate::request::Rejection;
use crate::responses::{json_string, string_contents, Item, Part, Response, Usage};
use crate::stop::{ContentsStopMatcher, StopSequences};
use serde_json::value::RawValue;

/// The message of a response stopped by a content filter (as the stream's `content_blocked`).
const CONTENT_BLOCKED: &str = "the response was blocked by a content filter";

/// Largest Unix time written as a date: the last second of year 9999.
const MAX_UNIX_SECONDS: f64 = 253_402_300_799.0;

/// Translates a unary Responses answer (the upstream's 2xx JSON body) into an Interaction, or a
/// Google error body when the response failed, was blocked, or is not a Responses object.
pub fn translate(body: &[u8], options: &StreamOptions, stop: &StopSequences) -> UnaryAnswer {
    let text = String::from_utf8_lossy(body);
    let Some(response) = Response::of_answer(&text) else {
        return error_answer(
            502,
            "the upstream answer is not a Responses API object",
            None,
            None,
        );
    };
    let usage = response.usage;
    let Some(outcome) = TerminalOutcome::of_response(&response) else {
        let status = match response.status.as_deref() {
            Some("queued") => "queued",
            _ => "in_progress",
        };
        return interaction_answer(&response, status, options, None, None);
    };
    let kind = Some(OutcomeKind::of(&outcome));
    match outcome {
        TerminalOutcome::Completed { .. } => {
            let status = if response.has_tool_call() {
                "requires_action"
            } else {
                "completed"
            };
            interaction_answer(&response, status, options, kind, Some(stop))
        }
        TerminalOutcome::Incomplete {
            reason: IncompleteReason::ContentFilter,
            ..
        } => error_answer(400, CONTENT_BLOCKED, kind, usage),
        TerminalOutcome::Incomplete { .. } => {
            interaction_answer(&response, "incomplete", options, kind, Some(stop))
        }
        TerminalOutcome::Failed { error, .. } => {
            error_answer(failed_status(&error), &failure_message(&error), kind, usage)
        }
        TerminalOutcome::Cancelled { .. } => {
            interaction_answer(&response, "cancelled", options, kind, None)
        }
        TerminalOutcome::Truncated
        | TerminalOutcome::EventTooLarge { .. }
        | TerminalOutcome::InvalidEvent => error_answer(
            502,
            "the upstream answer did not say how the response ended",
            kind,
            usage,
        ),
    }
}

/// A 200 answer holding the Interaction; `stop` the stop sequences that apply to it.
fn interaction_answer(
    response: &Response,
    status: &str,
    options: &StreamOptions,
    outcome: Option<OutcomeKind>,
    stop: Option<&StopSequences>,
) -> UnaryAnswer {
    let (body, stopped) = interaction(response, status, options, stop);
    UnaryAnswer {
        status: 200,
        body,
        outcome: if stopped {
            Some(OutcomeKind::Completed)
        } else {
            outcome
        },
        usage: response.usage,
    }
}

/// A Google error body `{"error":{"code":<status>,"message","status"}}`, the shape the filter
/// also answers refused requests with.
fn error_answer(
    status: u16,
    message: &str,
    outcome: Option<OutcomeKind>,
    usage: Option<Usage>,
) -> UnaryAnswer {
    let error = Rejection {
        status,
        message: message.to_owned(),
        param: None,
        code: "upstream_error",
    };
    UnaryAnswer {
        status,
        body: error_body::rejection(Dialect::Interactions, &error),
        outcome,
        usage,
    }
}

/// The upstream error's message, else a generic one.
fn failure_message(error: &UpstreamError) -> String {
    error
        .message
        .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "upstream response failed".to_owned())
}

/// Writes the Interaction object; returns it, and whether a stop sequence ended it.
fn interaction(
    response: &Response,
    status: &str,
    options: &StreamOptions,
    stop: Option<&StopSequences>,
) -> (Vec<u8>, bool) {
    let mut steps = Vec::new();
    let stopped = push_steps(&mut steps, &response.output_items(), options, stop);
    let status = if stopped { "completed" } else { status };
    let mut out = Vec::with_capacity(256 + response.output.map_or(0, |o| o.get().len()));
    let mut object = ObjectWriter::new(&mut out);
    object.raw("id", json_string(response.id).unwrap_or("\"resp_unknown\""));
    object.str("status", status);
    if let Some(model) = json_string(response.model) {
        object.raw("model", model);
    }
    let created = response.created_at;
    let updated = seconds(response.completed_at).or(created);
    for (key, time) in [("created", created), ("updated", updated)] {
        if let Some(time) = time.filter(|t| (0.0..=MAX_UNIX_SECONDS).contains(t)) {
            push_iso8601(object.key(key), time as i64);
        }
    }
    if let Some(previous) = json_string(response.previous_response_id) {
        object.raw("previous_interaction_id", previous);
    }
    if let Some(tier) = google_service_tier(response.service_tier) {
        object.str("service_tier", tier);
    }
    object.key("steps").extend_from_slice(&steps);
    if let Some(usage) = &response.usage {
        push_usage(object.key("usage"), usage);
    }
    object.end();
    (out, stopped)
}

/// A raw JSON number of seconds.
fn seconds(raw: Option<&RawValue>) -> Option<f64> {
    raw.and_then(|raw| serde_json::from_str::<f64>(raw.get()).ok())
        .filter(|t| t.is_finite())
}

/// Google's name of a Responses service tier, when there is one.
fn google_service_tier(raw: Option<&RawValue>) -> Option<&'static str> {
    match json_string(raw)? {
        "\"default\"" => Some("standard"),
        "\"flex\"" => Some("flex"),
        "\"priority\"" => Some("priority"),
        _ => None,
    }
}

/// Writes `"YYYY-MM-DDThh:mm:ssZ"` for non-negative Unix seconds (years up to 9999).
fn push_iso8601(out: &mut Vec<u8>, unix: i64) {
    let days = unix.div_euclid(86_400);
    let second_of_day = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    out.push(b'"');
    for (value, width, separator) in [
        (year, 4, b'-'),
        (month, 2, b'-'),
        (day, 2, b'T'),
        (second_of_day / 3600, 2, b':'),
        (second_of_day % 3600 / 60, 2, b':'),
        (second_of_day % 60, 2, b'Z'),
    ] {
        let value = value.unsigned_abs();
        for place in (0..width).rev() {
            out.push(b'0' + (value / 10u64.pow(place) % 10) as u8);
        }
        out.push(separator);
    }
    out.push(b'"');
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Writes the steps of the output items; returns whether a stop sequence ended them.
fn push_steps(
    out: &mut Vec<u8>,
    items: &[Item],
    options: &StreamOptions,
    stop: Option<&StopSequences>,
) -> bool {
    let mut steps = ArrayWriter::new(out);
    for item in items {
        let matcher = match item.kind() {
            "message" => stop.and_then(|stop| ContentsStopMatcher::new(stop.clone())),
            _ => None,
        };
        if let Some(matcher) = matcher {
            if push_stopped_model_output(steps.item(), item, matcher) {
                steps.end();
                return true;
            }
            continue;
        }
        let write: fn(&mut Vec<u8>, &Item) = match item.kind() {
            "message" => push_model_output,
            "reasoning" if options.emit_reasoning => push_thought,
            _ if item.is_tool_call() => push_function_call,
            _ => continue,
        };
        write(steps.item(), item);
    }
    steps.end();
    false
}

/// A `model_output` step whose text goes through a stop matcher; returns whether a sequence
/// matched (the text then ends before it). Text the matcher releases late joins the text entry
/// it follows.
#[inline(never)]
fn push_stopped_model_output(
    out: &mut Vec<u8>,
    item: &Item,
    mut stop: ContentsStopMatcher,
) -> bool {
    let mut texts: Vec<Vec<u8>> = Vec::new();
    let mut stopped = false;
    for part in item.content_parts().iter() {
        match part.kind.as_deref() {
            Some("output_text") => {
                let mut released = Vec::new();
                stopped = stop.push(
                    string_contents(part.text).unwrap_or("").as_bytes(),
                    &mut released,
                );
                texts.push(released);
                if stopped {
                    break;
                }
            }
            Some("refusal") => {
                if let Some(last) = texts.last_mut() {
                    stop.flush(last);
                }
                texts.push(
                    string_contents(part.refusal)
                        .unwrap_or("")
                        .as_bytes()
                        .to_vec(),
                );
            }
            _ => {}
        }
    }
    if let Some(last) = texts.last_mut().filter(|_| !stopped) {
        stop.flush(last);
    }
    let mut step = ObjectWriter::new(out);
    step.str("type", "model_output");
    texts.retain(|text| !text.is_empty());
    if !texts.is_empty() {
        let mut list = ArrayWriter::new(step.key("content"));
        for text in &texts {
            let mut content = ObjectWriter::new(list.item());
            content.str("type", "text");
            let literal = content.key("text");
            literal.push(b'"');
            literal.extend_from_slice(text);
            literal.push(b'"');
            content.end();
        }
        list.end();
    }
    step.end();
    stopped
}

/// Writes `[{"type":"text","text":…},…]` for the parts that carry text.
fn push_texts<'p>(out: &mut Vec<u8>, texts: impl Iterator<Item = &'p str>) {
    let mut list = ArrayWriter::new(out);
    for text in texts {
        let mut content = ObjectWriter::new(list.item());
        content.str("type", "text");
        content.raw("text", text);
        content.end();
    }
    list.end();
}

/// A message part's text: `output_text` text or a refusal.
fn message_text<'a>(part: &Part<'a>) -> Option<&'a str> {
    match part.kind.as_deref() {
        Some("output_text") => json_string(part.text),
        Some("refusal") => json_string(part.refusal),
        _ => None,
    }
}

fn push_model_output(out: &mut Vec<u8>, item: &Item) {
    let parts = item.content_parts();
    let texts: Vec<&str> = parts.iter().filter_map(message_text).collect();
    let mut step = ObjectWriter::new(out);
    step.str("type", "model_output");
    if !texts.is_empty() {
        push_texts(step.key("content"), texts.into_iter());
    }
    step.end();
}

fn push_thought(out: &mut Vec<u8>, item: &Item) {
    let summary = item.summary_parts();
    let content = item.content_parts();
    let texts: Vec<&str> = summary
        .iter()
        .filter_map(|part| json_string(part.text))
        .chain(
            content
                .iter()
                .filter(|part| part.kind.as_deref() == Some("reasoning_text"))
                .filter_map(|part| json_string(part.text)),
        )
        .collect();
    let mut step = ObjectWriter::new(out);
    step.str("type", "thought");
    if !texts.is_empty() {
        push_texts(step.key("summary"), texts.into_iter());
    }
    if let Some(signature) = json_string(item.encrypted_content) {
        step.raw("signature", signature);
    }
    step.end();
}

fn push_function_call(out: &mut Vec<u8>, item: &Item) {
    let mut step = ObjectWriter::new(out);
    step.str("type", "function_call");
    step.raw(
        "id",
        json_string(item.call_id.or(item.id)).unwrap_or("\"\""),
    );
    step.raw("name", json_string(item.name).unwrap_or("\"\""));
    push_arguments(step.key("arguments"), item);
    step.end();
}

/// A call's arguments as an object: the parsed JSON object, `{}` when there are none, else
/// `{"input": "<text>"}`.
pub(crate) fn push_arguments(out: &mut Vec<u8>, item: &Item) {
    let text = item
        .call_arguments()
        .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
        .unwrap_or_default();
    if item.kind() == "function_call" {
        if text.trim().is_empty() {
            out.extend_from_slice(b"{}");
            return;
        }
        if let Ok(raw) = serde_json::from_str::<&RawValue>(&text) {
            if raw.get().starts_with('{') {
                push_raw(out, raw.get());
                return;
            }
        }
    }
    out.extend_from_slice(b"{\"input\":");
    push_str(out, &text);
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(unix: i64) -> String {
        let mut out = Vec::new();
        push_iso8601(&mut out, unix);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn unix_seconds_become_iso8601() {
        assert_eq!(iso(0), "\"1970-01-01T00:00:00Z\"");
        assert_eq!(iso(1_700_000_000), "\"2023-11-14T22:13:20Z\"");
        assert_eq!(iso(951_782_400), "\"2000-02-29T00:00:00Z\"");
        assert_eq!(iso(253_402_300_799), "\"9999-12-31T23:59:59Z\"");
    }
}
