//! Responses event → Google Gemini Interactions event bytes (`event: <type>` + `data: {…}`).
//!
//! Output items become steps with sequential indices: reasoning → `thought` (summary text as
//! `thought_summary` deltas, encrypted content as a `thought_signature` delta), message →
//! `model_output` (`text` deltas), function and custom tool calls → `function_call`
//! (`arguments_delta` deltas). One step is open at a time; a step opens lazily on its first
//! event, so no delta is lost when `output_item.added` is missing, and closes with `step.stop`.
//! Every frame is compact one-line JSON with the payload first and `event_type` last (inside a
//! delta, `type` last), as Google writes it; `continuation_token` is never sent.
//!
//! With stop sequences ([`InteractionsEncoder::set_stop`], see [`crate::stop`]) the text of
//! `model_output` steps goes through a matcher; text that could start a sequence is held back,
//! and flushed into its step before any other delta and before the step stops. A match is looked
//! for within one step's text. At a match the text before the sequence is sent and the step
//! stops at once; everything the upstream sends after it is dropped. The upstream's terminal,
//! whatever it is (it may report `incomplete`, or fail, after generating past the stop), then
//! ends the interaction as `completed` with the upstream's usage (which may count tokens past
//! the stop).

use crate::config::{StreamOptions, TruncatedPolicy};
use crate::json::{push_raw, push_str, push_u64};
use crate::outcome::{IncompleteReason, StreamInfo, TerminalOutcome, UpstreamError};
use crate::responses::{
    json_string, string_contents, Delta, Event, EventKind, Item, Response, Usage,
};
use crate::stop::{ContentsStopMatcher, StopSequences};
use crate::tracking::{PartKey, PartKind, SentParts};
use serde_json::value::RawValue;

/// The kinds of step this encoder opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepKind {
    Thought,
    ModelOutput,
    FunctionCall,
}

/// The step currently open.
#[derive(Debug, Clone, Copy)]
struct OpenStep {
    index: u64,
    output_index: Option<u64>,
    kind: StepKind,
}

/// Per-stream Interactions encoder state.
#[derive(Debug)]
pub struct InteractionsEncoder {
    options: StreamOptions,
    started: bool,
    open: Option<OpenStep>,
    next_step: u64,
    sent_parts: SentParts,
    saw_function_call: bool,
    /// `event_id` of the frames being written: the upstream event's `sequence_number`.
    event_id: Option<u64>,
    frames: u64,
    /// The head of the open step's `step.delta` frames, up to the opening quote of their text,
    /// and the step (index, kind) it was built for.
    delta_head: Vec<u8>,
    delta_head_of: Option<(u64, StepKind)>,
    /// The stop sequence matcher of the text output, when the request gave stop sequences.
    stop: Option<Box<ContentsStopMatcher>>,
    /// Text the matcher released, reused between deltas.
    released: Vec<u8>,
    /// Whether a stop sequence matched: its step is closed, the rest is dropped.
    stopped: bool,
}

impl InteractionsEncoder {
    /// A fresh encoder for one stream.
    pub fn new(options: StreamOptions) -> Self {
        InteractionsEncoder {
            options,
            started: false,
            open: None,
            next_step: 0,
            sent_parts: SentParts::default(),
            saw_function_call: false,
            event_id: None,
            frames: 0,
            delta_head: Vec::new(),
            delta_head_of: None,
            stop: None,
            released: Vec::new(),
            stopped: false,
        }
    }

    /// Honours `stop` on the text output (nothing changes when it is empty).
    pub fn set_stop(&mut self, stop: StopSequences) {
        self.stop = ContentsStopMatcher::new(stop).map(Box::new);
    }

    /// Whether a stop sequence ended the answer.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Translates one non-terminal event.
    pub fn event(&mut self, info: &StreamInfo, kind: EventKind, event: &Event, out: &mut Vec<u8>) {
        if self.stopped {
            return;
        }
        if let Some(delta) = Delta::of(kind, event) {
            self.delta(info, &delta, out);
            return;
        }
        self.event_id = event.sequence_number;
        self.ensure_started(info, out);
        let reasoning = self.options.emit_reasoning;
        let oi = event.output_index;
        let key = |index: Option<u64>, kind| PartKey::new(oi, index, kind);
        match kind {
            EventKind::Lifecycle | EventKind::SummaryPartAdded => {}
            EventKind::OutputItemAdded => {
                if let Some(item) = &event.item {
                    self.item_added(oi, item, out);
                }
            }
            EventKind::TextDone => self.complete(
                key(event.content_index, PartKind::Text),
                StepKind::ModelOutput,
                event.text,
                out,
            ),
            EventKind::RefusalDone => self.complete(
                key(event.content_index, PartKind::Refusal),
                StepKind::ModelOutput,
                event.refusal,
                out,
            ),
            EventKind::ContentPartDone => {
                if let Some(part) = &event.part {
                    let (part_kind, step, text) = match part.kind.as_deref() {
                        Some("output_text") => (PartKind::Text, StepKind::ModelOutput, part.text),
                        Some("refusal") => (PartKind::Refusal, StepKind::ModelOutput, part.refusal),
                        Some("reasoning_text") if reasoning => {
                            (PartKind::ReasoningText, StepKind::Thought, part.text)
                        }
                        _ => return,
                    };
                    self.complete(key(event.content_index, part_kind), step, text, out);
                }
            }
            EventKind::SummaryDone if reasoning => self.complete(
                key(event.summary_index, PartKind::Summary),
                StepKind::Thought,
                event.text,
                out,
            ),
            EventKind::ReasoningDone if reasoning => self.complete(
                key(event.content_index, PartKind::ReasoningText),
                StepKind::Thought,
                event.text,
                out,
            ),
            EventKind::ArgumentsDone => {
                let full = event.arguments.or(event.input);
                self.complete(
                    key(None, PartKind::Arguments),
                    StepKind::FunctionCall,
                    full,
                    out,
                );
            }
            EventKind::OutputItemDone => {
                if let Some(item) = &event.item {
                    self.item_done(oi, item, out);
                }
            }
            EventKind::TextDelta
            | EventKind::RefusalDelta
            | EventKind::SummaryDelta
            | EventKind::ReasoningDelta
            | EventKind::ArgumentsDelta
            | EventKind::SummaryDone
            | EventKind::ReasoningDone
            | EventKind::Completed
            | EventKind::Incomplete
            | EventKind::Failed
            | EventKind::Cancelled
            | EventKind::Error
            | EventKind::Ignored
            | EventKind::Keepalive
            | EventKind::Unknown => {}
        }
    }

    /// Translates one delta event (text, refusal, reasoning, tool call arguments): what most
    /// events of a stream are, whether the full parse or the fast path read them.
    pub fn delta(&mut self, info: &StreamInfo, delta: &Delta, out: &mut Vec<u8>) {
        if self.stopped {
            return;
        }
        self.event_id = delta.sequence_number;
        self.ensure_started(info, out);
        let key = |index: Option<u64>, kind| PartKey::new(delta.output_index, index, kind);
        let (key, step) = match delta.kind {
            EventKind::TextDelta => (
                key(delta.content_index, PartKind::Text),
                StepKind::ModelOutput,
            ),
            EventKind::RefusalDelta => (
                key(delta.content_index, PartKind::Refusal),
                StepKind::ModelOutput,
            ),
            EventKind::SummaryDelta if self.options.emit_reasoning => (
                key(delta.summary_index, PartKind::Summary),
                StepKind::Thought,
            ),
            EventKind::ReasoningDelta if self.options.emit_reasoning => (
                key(delta.content_index, PartKind::ReasoningText),
                StepKind::Thought,
            ),
            EventKind::ArgumentsDelta => (key(None, PartKind::Arguments), StepKind::FunctionCall),
            _ => return,
        };
        if let Some(contents) = delta.contents.filter(|c| !c.is_empty()) {
            let key = self.key_for(key, step);
            self.sent_parts.sent(key, contents);
            self.part_delta(key, step, contents, out);
        }
    }

    /// Ends the stream: closes the open step, writes exactly one terminal event, then
    /// `event: done` / `data: [DONE]`.
    pub fn terminal(
        &mut self,
        info: &StreamInfo,
        outcome: &TerminalOutcome,
        event_id: Option<u64>,
        out: &mut Vec<u8>,
    ) {
        self.event_id = event_id;
        self.ensure_started(info, out);
        self.close_step(out);
        if self.stopped {
            self.completed(info, "completed", outcome.response(), out);
            self.done(out);
            return;
        }
        match *outcome {
            TerminalOutcome::Completed { response } => {
                let calls = self.saw_function_call || response.is_some_and(Response::has_tool_call);
                let status = if calls {
                    "requires_action"
                } else {
                    "completed"
                };
                self.completed(info, status, response, out);
            }
            TerminalOutcome::Incomplete { reason, response } => match reason {
                IncompleteReason::ContentFilter => {
                    self.error(
                        b"\"content_blocked\"",
                        "\"the response was blocked by a content filter\"",
                        out,
                    );
                }
                IncompleteReason::MaxOutputTokens | IncompleteReason::Other => {
                    self.completed(info, "incomplete", response, out);
                }
            },
            TerminalOutcome::Failed { error, .. } => {
                let code = google_code(&error);
                let message = error
                    .message
                    .map(RawValue::get)
                    .filter(|m| m.starts_with('"'))
                    .unwrap_or("\"upstream response failed\"");
                self.error(code.as_bytes(), message, out);
            }
            TerminalOutcome::Cancelled { response } => {
                self.completed(info, "cancelled", response, out)
            }
            TerminalOutcome::Truncated => match self.options.on_truncated {
                TruncatedPolicy::Finish => self.completed(info, "completed", None, out),
                TruncatedPolicy::Error => {
                    self.error(
                        b"\"aborted\"",
                        "\"the upstream stream ended without a terminal event\"",
                        out,
                    );
                }
            },
            TerminalOutcome::EventTooLarge { limit } => {
                let mut message = Vec::new();
                push_str(
                    &mut message,
                    &format!("an upstream event exceeded max_event_bytes ({limit} bytes)"),
                );
                self.error(
                    b"\"event_too_large\"",
                    &String::from_utf8_lossy(&message),
                    out,
                );
            }
            TerminalOutcome::InvalidEvent => {
                self.error(
                    b"\"invalid_event\"",
                    "\"the upstream sent an event that is not valid JSON\"",
                    out,
                );
            }
        }
        self.done(out);
    }

    fn done(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"event: done\ndata: [DONE]\n\n");
        self.frames += 1;
    }

    /// Writes `event: <event_type>\ndata: {<body>,"event_id":…,"event_type":…}\n\n`; `body`
    /// writes the payload fields, each followed by a comma.
    fn frame(&mut self, out: &mut Vec<u8>, event_type: &str, body: impl FnOnce(&mut Vec<u8>)) {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(event_type.as_bytes());
        out.extend_from_slice(b"\ndata: {");
        body(out);
        self.end_frame(out, event_type);
    }

    /// Ends a frame whose payload fields are written: `"event_id":…,"event_type":…}`.
    #[inline]
    fn end_frame(&mut self, out: &mut Vec<u8>, event_type: &str) {
        if let Some(id) = self.event_id {
            out.extend_from_slice(b"\"event_id\":\"");
            push_u64(out, id);
            out.extend_from_slice(b"\",");
        }
        out.extend_from_slice(b"\"event_type\":\"");
        out.extend_from_slice(event_type.as_bytes());
        out.extend_from_slice(b"\"}\n\n");
        self.frames += 1;
    }

    #[inline]
    fn ensure_started(&mut self, info: &StreamInfo, out: &mut Vec<u8>) {
        if !self.started {
            self.start(info, out);
        }
    }

    #[cold]
    fn start(&mut self, info: &StreamInfo, out: &mut Vec<u8>) {
        self.started = true;
        self.frame(out, "interaction.created", |out| {
            out.extend_from_slice(b"\"interaction\":");
            push_interaction(out, info, "in_progress", None);
            out.push(b',');
        });
        self.frame(out, "interaction.status_update", |out| {
            out.extend_from_slice(b"\"interaction_id\":");
            out.extend_from_slice(info.id().as_bytes());
            out.extend_from_slice(b",\"status\":\"in_progress\",");
        });
    }

    fn item_added(&mut self, output_index: Option<u64>, item: &Item, out: &mut Vec<u8>) {
        match item.kind() {
            "message" => {
                self.ensure_step(output_index, StepKind::ModelOutput, None, out);
            }
            "reasoning" if self.options.emit_reasoning => {
                self.ensure_step(output_index, StepKind::Thought, None, out);
            }
            _ if item.is_tool_call() => {
                self.ensure_step(output_index, StepKind::FunctionCall, Some(item), out);
            }
            _ => {}
        }
    }

    fn item_done(&mut self, output_index: Option<u64>, item: &Item, out: &mut Vec<u8>) {
        let key = |index: u64, kind| PartKey::new(output_index, Some(index), kind);
        match item.kind() {
            "message" => {
                for (index, part) in (0u64..).zip(item.content_parts()) {
                    match part.kind.as_deref() {
                        Some("output_text") => self.complete(
                            key(index, PartKind::Text),
                            StepKind::ModelOutput,
                            part.text,
                            out,
                        ),
                        Some("refusal") => self.complete(
                            key(index, PartKind::Refusal),
                            StepKind::ModelOutput,
                            part.refusal,
                            out,
                        ),
                        _ => {}
                    }
                }
            }
            "reasoning" if self.options.emit_reasoning => {
                for (index, part) in (0u64..).zip(item.summary_parts()) {
                    self.complete(
                        key(index, PartKind::Summary),
                        StepKind::Thought,
                        part.text,
                        out,
                    );
                }
                for (index, part) in (0u64..).zip(item.content_parts()) {
                    if part.kind.as_deref() == Some("reasoning_text") {
                        self.complete(
                            key(index, PartKind::ReasoningText),
                            StepKind::Thought,
                            part.text,
                            out,
                        );
                    }
                }
                if let Some(signature) = json_string(item.encrypted_content) {
                    self.ensure_step(output_index, StepKind::Thought, None, out);
                    let index = self.open.map_or(0, |s| s.index);
                    self.frame(out, "step.delta", |out| {
                        push_index(out, index);
                        out.extend_from_slice(b"\"delta\":{\"signature\":");
                        out.extend_from_slice(signature.as_bytes());
                        out.extend_from_slice(b",\"type\":\"thought_signature\"},");
                    });
                }
            }
            _ if item.is_tool_call() => {
                self.ensure_step(output_index, StepKind::FunctionCall, Some(item), out);
                let key = PartKey::new(output_index, None, PartKind::Arguments);
                self.complete(key, StepKind::FunctionCall, item.call_arguments(), out);
            }
            _ => return,
        }
        if self.open.is_some_and(|s| s.output_index == output_index) {
            self.close_step(out);
        }
    }

    /// Returns the index of the open step for `output_index` and `kind`, opening it (and closing
    /// any other) when needed. `call` names a function call step's id and name.
    #[inline]
    fn ensure_step(
        &mut self,
        output_index: Option<u64>,
        kind: StepKind,
        call: Option<&Item>,
        out: &mut Vec<u8>,
    ) -> u64 {
        match self.open {
            Some(open)
                if open.kind == kind
                    && (open.output_index == output_index || output_index.is_none()) =>
            {
                open.index
            }
            _ => self.open_step(output_index, kind, call, out),
        }
    }

    /// Closes the open step, if any, and opens a new one; returns its index.
    #[cold]
    fn open_step(
        &mut self,
        output_index: Option<u64>,
        kind: StepKind,
        call: Option<&Item>,
        out: &mut Vec<u8>,
    ) -> u64 {
        self.close_step(out);
        let index = self.next_step;
        self.next_step += 1;
        self.open = Some(OpenStep {
            index,
            output_index,
            kind,
        });
        if kind == StepKind::FunctionCall {
            self.saw_function_call = true;
        }
        self.frame(out, "step.start", |out| {
            push_index(out, index);
            out.extend_from_slice(b"\"step\":{\"type\":\"");
            match kind {
                StepKind::Thought => out.extend_from_slice(b"thought\""),
                StepKind::ModelOutput => out.extend_from_slice(b"model_output\""),
                StepKind::FunctionCall => {
                    let id = call.and_then(|c| json_string(c.call_id.or(c.id)));
                    let name = call.and_then(|c| json_string(c.name));
                    out.extend_from_slice(b"function_call\",\"id\":");
                    out.extend_from_slice(id.unwrap_or("\"\"").as_bytes());
                    out.extend_from_slice(b",\"name\":");
                    out.extend_from_slice(name.unwrap_or("\"\"").as_bytes());
                    out.extend_from_slice(b",\"arguments\":{}");
                }
            }
            out.extend_from_slice(b"},");
        });
        index
    }

    fn close_step(&mut self, out: &mut Vec<u8>) {
        if let Some(open) = self.open {
            self.flush_held(out);
            self.open = None;
            self.frame(out, "step.stop", |out| push_index(out, open.index));
        }
    }

    /// A part's delta: through the stop matcher when there is one.
    #[inline]
    fn part_delta(&mut self, key: PartKey, step: StepKind, contents: &[u8], out: &mut Vec<u8>) {
        if self.stop.is_some() {
            self.stop_part_delta(key, step, contents, out);
            return;
        }
        self.step_delta(key.output_index_opt(), step, contents, out);
    }

    /// Text output is matched (its step stops at a match); other deltas first release what the
    /// matcher holds.
    #[cold]
    #[inline(never)]
    fn stop_part_delta(
        &mut self,
        key: PartKey,
        step: StepKind,
        contents: &[u8],
        out: &mut Vec<u8>,
    ) {
        let output_index = key.output_index_opt();
        if key.kind != PartKind::Text {
            self.flush_held(out);
            self.step_delta(output_index, step, contents, out);
            return;
        }
        // Opened first, so that a step it closes gets its held text.
        let index = self.ensure_step(output_index, step, None, out);
        let Some(mut stop) = self.stop.take() else {
            return;
        };
        let mut released = std::mem::take(&mut self.released);
        released.clear();
        let matched = stop.push(contents, &mut released);
        if !released.is_empty() {
            self.write_delta(index, step, &released, out);
        }
        self.stop = Some(stop);
        self.released = released;
        if matched {
            self.close_step(out);
            self.stopped = true;
        }
    }

    /// Writes the text the stop matcher holds into the open step.
    fn flush_held(&mut self, out: &mut Vec<u8>) {
        let Some(open) = self.open else {
            return;
        };
        let Some(stop) = self.stop.as_mut().filter(|stop| stop.holds()) else {
            return;
        };
        let mut released = std::mem::take(&mut self.released);
        released.clear();
        stop.flush(&mut released);
        if !released.is_empty() {
            self.write_delta(open.index, open.kind, &released, out);
        }
        self.released = released;
    }

    /// Completes a part from its full text: sends whatever its deltas have not sent.
    fn complete(
        &mut self,
        key: PartKey,
        step: StepKind,
        full: Option<&RawValue>,
        out: &mut Vec<u8>,
    ) {
        let key = self.key_for(key, step);
        let missing = string_contents(full).and_then(|full| self.sent_parts.complete(key, full));
        if let Some(contents) = missing {
            self.part_delta(key, step, contents.as_bytes(), out);
        }
    }

    /// Argument events carry no content index; a missing output index means the open call.
    fn key_for(&self, key: PartKey, step: StepKind) -> PartKey {
        match self.open {
            Some(open) if key.output_index == u64::MAX && open.kind == step => PartKey {
                output_index: open.output_index.unwrap_or(u64::MAX),
                ..key
            },
            _ => key,
        }
    }

    fn step_delta(
        &mut self,
        output_index: Option<u64>,
        step: StepKind,
        contents: &[u8],
        out: &mut Vec<u8>,
    ) {
        let index = self.ensure_step(output_index, step, None, out);
        self.write_delta(index, step, contents, out);
    }

    /// Writes a `step.delta` of step `index`.
    #[inline]
    fn write_delta(&mut self, index: u64, step: StepKind, contents: &[u8], out: &mut Vec<u8>) {
        if self.delta_head_of != Some((index, step)) {
            let head = &mut self.delta_head;
            head.clear();
            head.extend_from_slice(b"event: step.delta\ndata: {");
            push_index(head, index);
            head.extend_from_slice(match step {
                StepKind::ModelOutput => b"\"delta\":{\"text\":\"",
                StepKind::Thought => b"\"delta\":{\"content\":{\"text\":\"",
                StepKind::FunctionCall => b"\"delta\":{\"arguments\":\"",
            });
            self.delta_head_of = Some((index, step));
        }
        out.extend_from_slice(&self.delta_head);
        out.extend_from_slice(contents);
        out.extend_from_slice(match step {
            StepKind::ModelOutput => b"\",\"type\":\"text\"},",
            StepKind::Thought => b"\",\"type\":\"text\"},\"type\":\"thought_summary\"},",
            StepKind::FunctionCall => b"\",\"type\":\"arguments_delta\"},",
        });
        self.end_frame(out, "step.delta");
    }

    fn completed(
        &mut self,
        info: &StreamInfo,
        status: &str,
        response: Option<&Response>,
        out: &mut Vec<u8>,
    ) {
        let usage = response.and_then(|r| r.usage);
        self.frame(out, "interaction.completed", |out| {
            out.extend_from_slice(b"\"interaction\":");
            push_interaction(out, info, status, usage.as_ref());
            out.push(b',');
        });
    }

    fn error(&mut self, code: &[u8], message: &str, out: &mut Vec<u8>) {
        self.frame(out, "error", |out| {
            out.extend_from_slice(b"\"error\":{\"code\":");
            out.extend_from_slice(code);
            out.extend_from_slice(b",\"message\":");
            push_raw(out, message);
            out.extend_from_slice(b"},");
        });
    }
}

fn push_index(out: &mut Vec<u8>, index: u64) {
    out.extend_from_slice(b"\"index\":");
    push_u64(out, index);
    out.push(b',');
}

/// Writes the interaction object of lifecycle events.
fn push_interaction(out: &mut Vec<u8>, info: &StreamInfo, status: &str, usage: Option<&Usage>) {
    out.extend_from_slice(b"{\"id\":");
    out.extend_from_slice(info.id().as_bytes());
    out.extend_from_slice(b",\"status\":\"");
    out.extend_from_slice(status.as_bytes());
    out.extend_from_slice(b"\",\"object\":\"interaction\"");
    if let Some(model) = info.model_known() {
        out.extend_from_slice(b",\"model\":");
        out.extend_from_slice(model.as_bytes());
    }
    if let Some(usage) = usage {
        out.extend_from_slice(b",\"usage\":");
        push_usage(out, usage);
    }
    out.push(b'}');
}

/// Writes an Interactions `usage` object: `total_input_tokens`, `total_cached_tokens`,
/// `total_thought_tokens` (reasoning), `total_output_tokens` (output − reasoning),
/// `total_tokens`. Shared by the stream's terminal event and the unary answer.
pub(crate) fn push_usage(out: &mut Vec<u8>, usage: &Usage) {
    let thought = usage.reasoning_tokens().unwrap_or(0);
    out.extend_from_slice(b"{\"total_input_tokens\":");
    push_u64(out, usage.input_tokens);
    out.extend_from_slice(b",\"total_cached_tokens\":");
    push_u64(out, usage.cached_tokens().unwrap_or(0));
    out.extend_from_slice(b",\"total_thought_tokens\":");
    push_u64(out, thought);
    out.extend_from_slice(b",\"total_output_tokens\":");
    push_u64(out, usage.output_tokens.saturating_sub(thought));
    out.extend_from_slice(b",\"total_tokens\":");
    let total = usage.input_tokens.saturating_add(usage.output_tokens);
    push_u64(out, usage.total_tokens.unwrap_or(total));
    out.push(b'}');
}

/// Google's error code for an upstream error (a JSON string literal).
fn google_code(error: &UpstreamError) -> &'static str {
    let code = error.code_str().unwrap_or_default();
    match code.as_str() {
        "rate_limit_exceeded" | "rate_limit_error" | "insufficient_quota" => {
            "\"rate_limit_exceeded\""
        }
        "invalid_prompt"
        | "invalid_request"
        | "invalid_request_error"
        | "context_length_exceeded" => "\"invalid_request\"",
        c if c.contains("timeout") || c.contains("timed_out") || c == "deadline_exceeded" => {
            "\"deadline_exceeded\""
        }
        _ => "\"api_error\"",
    }
}
