//! Responses event → Anthropic Messages stream event bytes (`event: <type>` + `data: {…}`).
//!
//! The stream opens with `message_start` (the message id is the upstream response id), then each
//! output item becomes one content block with sequential indices: a message → `text`
//! (`text_delta`; refusal text too), a reasoning item → `thinking` (summary and reasoning text as
//! `thinking_delta`, then a `signature_delta` carrying the item id and its encrypted content, see
//! [`signature`]), a function or custom tool call → `tool_use` (`input_json_delta`; a custom
//! tool's free-form input travels as `{"input": "<text>"}`). One block is open at a time; a block
//! opens lazily on its first event and closes with `content_block_stop`. The stream ends with
//! `message_delta` (stop reason, usage) and `message_stop`, or with one `error` event:
//!
//! | upstream terminal | Anthropic ending |
//! |---|---|
//! | `response.completed` | `stop_reason` `end_turn`, or `tool_use` when the output has calls |
//! | `response.incomplete`, `max_output_tokens` or any other / no reason | `max_tokens` |
//! | `response.incomplete`, `content_filter` | `refusal` |
//! | `response.failed`, `error` | `error` event, type by the upstream code ([`error_type`]) |
//! | `response.cancelled`, EOF without a terminal, event too large, invalid event | `error` event, `api_error` (EOF: `end_turn` with `on_truncated: "finish"`) |
//!
//! Every text delta passes through [`AnthropicEncoder::text`], the one place text reaches the
//! client. With stop sequences ([`AnthropicEncoder::set_stop`], see [`crate::stop`]) the
//! message text goes through a matcher there: text that could start a sequence is held back and
//! flushed into its block before anything else is written to it and before it stops. At a match
//! the text before the sequence is sent, the block stops, everything the upstream sends after it
//! is dropped, and the stream ends with `stop_reason: "stop_sequence"` and the `stop_sequence`
//! that matched — whatever the upstream's terminal (it may report `incomplete`, or fail, after
//! generating past the stop), with the upstream's usage (which may count tokens past the stop).

use crate::config::{StreamOptions, TruncatedPolicy};
use crate::json::{push_raw, push_str, push_u64};
use crate::outcome::{IncompleteReason, StreamInfo, TerminalOutcome, UpstreamError};
use crate::responses::{
    json_string, string_contents, Delta, Event, EventKind, Item, Response, Usage,
};
use crate::stop::{ContentsStopMatcher, StopSequences};
use crate::tracking::{PartKey, PartKind, SentParts};
use serde_json::value::RawValue;

/// What a thinking block's signature starts with: this gateway's signature, not Anthropic's.
pub const SIGNATURE_PREFIX: &str = "responses:";

/// The kinds of content block this encoder opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Text,
    Thinking,
    /// A tool call; `custom` when its input is free-form text, wrapped as `{"input": …}`.
    ToolUse {
        custom: bool,
    },
}

/// The block currently open.
#[derive(Debug, Clone, Copy)]
struct OpenBlock {
    index: u64,
    output_index: Option<u64>,
    kind: BlockKind,
    /// A custom tool's input: whether `{"input":"` has been sent.
    input_started: bool,
}

/// Per-stream Anthropic encoder state.
#[derive(Debug)]
pub struct AnthropicEncoder {
    options: StreamOptions,
    started: bool,
    open: Option<OpenBlock>,
    next_block: u64,
    sent_parts: SentParts,
    saw_tool_use: bool,
    frames: u64,
    /// The stop sequence matcher of the message text, when the request gave stop sequences.
    stop: Option<Box<ContentsStopMatcher>>,
    /// Text the matcher released, reused between deltas.
    released: Vec<u8>,
    /// Whether a stop sequence matched: its block is closed, the rest is dropped.
    stopped: bool,
}

impl AnthropicEncoder {
    /// A fresh encoder for one stream.
    pub fn new(options: StreamOptions) -> Self {
        AnthropicEncoder {
            options,
            started: false,
            open: None,
            next_block: 0,
            sent_parts: SentParts::default(),
            saw_tool_use: false,
            frames: 0,
            stop: None,
            released: Vec::new(),
            stopped: false,
        }
    }

    /// Honours `stop` on the message text (nothing changes when it is empty).
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
        self.ensure_started(info, out);
        let reasoning = self.options.emit_reasoning;
        let oi = event.output_index;
        let key = |index: Option<u64>, kind| PartKey::new(oi, index, kind);
        match kind {
            EventKind::OutputItemAdded => {
                if let Some(item) = event.item.as_ref().filter(|item| item.is_tool_call()) {
                    self.ensure_block(oi, tool_kind(item), Some(item), out);
                }
            }
            EventKind::TextDone => self.complete(
                info,
                key(event.content_index, PartKind::Text),
                BlockKind::Text,
                event.text,
                out,
            ),
            EventKind::RefusalDone => self.complete(
                info,
                key(event.content_index, PartKind::Refusal),
                BlockKind::Text,
                event.refusal,
                out,
            ),
            EventKind::ContentPartDone => {
                if let Some(part) = &event.part {
                    let (part_kind, block, text) = match part.kind.as_deref() {
                        Some("output_text") => (PartKind::Text, BlockKind::Text, part.text),
                        Some("refusal") => (PartKind::Refusal, BlockKind::Text, part.refusal),
                        Some("reasoning_text") if reasoning => {
                            (PartKind::ReasoningText, BlockKind::Thinking, part.text)
                        }
                        _ => return,
                    };
                    self.complete(info, key(event.content_index, part_kind), block, text, out);
                }
            }
            EventKind::SummaryDone if reasoning => self.complete(
                info,
                key(event.summary_index, PartKind::Summary),
                BlockKind::Thinking,
                event.text,
                out,
            ),
            EventKind::ReasoningDone if reasoning => self.complete(
                info,
                key(event.content_index, PartKind::ReasoningText),
                BlockKind::Thinking,
                event.text,
                out,
            ),
            EventKind::ArgumentsDone => {
                let block = self.open_tool_kind();
                let full = event.arguments.or(event.input);
                self.complete(info, key(None, PartKind::Arguments), block, full, out);
            }
            EventKind::OutputItemDone => {
                if let Some(item) = &event.item {
                    self.item_done(info, oi, item, out);
                }
            }
            EventKind::Lifecycle
            | EventKind::SummaryPartAdded
            | EventKind::TextDelta
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
        self.ensure_started(info, out);
        let key = |index: Option<u64>, kind| PartKey::new(delta.output_index, index, kind);
        let (key, block) = match delta.kind {
            EventKind::TextDelta => (key(delta.content_index, PartKind::Text), BlockKind::Text),
            EventKind::RefusalDelta => {
                (key(delta.content_index, PartKind::Refusal), BlockKind::Text)
            }
            EventKind::SummaryDelta if self.options.emit_reasoning => (
                key(delta.summary_index, PartKind::Summary),
                BlockKind::Thinking,
            ),
            EventKind::ReasoningDelta if self.options.emit_reasoning => (
                key(delta.content_index, PartKind::ReasoningText),
                BlockKind::Thinking,
            ),
            EventKind::ArgumentsDelta => (key(None, PartKind::Arguments), self.open_tool_kind()),
            _ => return,
        };
        if let Some(contents) = delta.contents.filter(|c| !c.is_empty()) {
            let key = self.key_for(key, block);
            self.sent_parts.sent(key, contents);
            self.block_delta(info, key, block, contents, out);
        }
    }

    /// Ends the stream: closes the open block, then `message_delta` and `message_stop`, or one
    /// `error` event.
    pub fn terminal(&mut self, info: &StreamInfo, outcome: &TerminalOutcome, out: &mut Vec<u8>) {
        if self.started {
            self.close_block(out);
        }
        if self.stopped {
            let stop_sequence = self.stop.as_ref().and_then(|stop| stop.matched());
            let mut matched = Vec::new();
            push_str(&mut matched, stop_sequence.unwrap_or_default());
            let matched = String::from_utf8_lossy(&matched).into_owned();
            self.finish(info, "stop_sequence", &matched, outcome.response(), out);
            return;
        }
        match *outcome {
            TerminalOutcome::Completed { response } => {
                let calls = self.saw_tool_use || response.is_some_and(Response::has_tool_call);
                let reason = if calls { "tool_use" } else { "end_turn" };
                self.finish(info, reason, "null", response, out);
            }
            TerminalOutcome::Incomplete { reason, response } => {
                let reason = match reason {
                    IncompleteReason::ContentFilter => "refusal",
                    IncompleteReason::MaxOutputTokens | IncompleteReason::Other => "max_tokens",
                };
                self.finish(info, reason, "null", response, out);
            }
            TerminalOutcome::Failed { error, .. } => {
                let message = json_string(error.message).unwrap_or("\"upstream response failed\"");
                self.error(error_type(&error), message, out);
            }
            TerminalOutcome::Cancelled { .. } => {
                self.error("api_error", "\"the upstream response was cancelled\"", out);
            }
            TerminalOutcome::Truncated => match self.options.on_truncated {
                TruncatedPolicy::Finish => self.finish(info, "end_turn", "null", None, out),
                TruncatedPolicy::Error => self.error(
                    "api_error",
                    "\"the upstream stream ended without a terminal event\"",
                    out,
                ),
            },
            TerminalOutcome::EventTooLarge { limit } => {
                let mut message = Vec::new();
                push_str(
                    &mut message,
                    &format!("an upstream event exceeded max_event_bytes ({limit} bytes)"),
                );
                self.error("api_error", &String::from_utf8_lossy(&message), out);
            }
            TerminalOutcome::InvalidEvent => self.error(
                "api_error",
                "\"the upstream sent an event that is not valid JSON\"",
                out,
            ),
        }
    }

    /// Writes `event: <kind>\ndata: {"type":"<kind>",<body>}\n\n`; `body` writes the fields
    /// after `type`, each preceded by a comma.
    fn frame(&mut self, out: &mut Vec<u8>, kind: &str, body: impl FnOnce(&mut Vec<u8>)) {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: {\"type\":\"");
        out.extend_from_slice(kind.as_bytes());
        out.push(b'"');
        body(out);
        out.extend_from_slice(b"}\n\n");
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
        self.frame(out, "message_start", |out| {
            out.extend_from_slice(b",\"message\":{\"id\":");
            out.extend_from_slice(info.id().as_bytes());
            out.extend_from_slice(b",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
            out.extend_from_slice(info.model().as_bytes());
            out.extend_from_slice(
                b",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\
                  \"usage\":{\"input_tokens\":0,\"output_tokens\":0}}",
            );
        });
    }

    /// The kind of the open tool block (arguments events name no item type).
    fn open_tool_kind(&self) -> BlockKind {
        match self.open {
            Some(OpenBlock {
                kind: kind @ BlockKind::ToolUse { .. },
                ..
            }) => kind,
            _ => BlockKind::ToolUse { custom: false },
        }
    }

    fn item_done(
        &mut self,
        info: &StreamInfo,
        output_index: Option<u64>,
        item: &Item,
        out: &mut Vec<u8>,
    ) {
        let key = |index: u64, kind| PartKey::new(output_index, Some(index), kind);
        match item.kind() {
            "message" => {
                for (index, part) in (0u64..).zip(item.content_parts()) {
                    let (kind, text) = match part.kind.as_deref() {
                        Some("output_text") => (PartKind::Text, part.text),
                        Some("refusal") => (PartKind::Refusal, part.refusal),
                        _ => continue,
                    };
                    self.complete(info, key(index, kind), BlockKind::Text, text, out);
                }
            }
            "reasoning" if self.options.emit_reasoning => {
                for (index, part) in (0u64..).zip(item.summary_parts()) {
                    let key = key(index, PartKind::Summary);
                    self.complete(info, key, BlockKind::Thinking, part.text, out);
                }
                for (index, part) in (0u64..).zip(item.content_parts()) {
                    if part.kind.as_deref() == Some("reasoning_text") {
                        let key = key(index, PartKind::ReasoningText);
                        self.complete(info, key, BlockKind::Thinking, part.text, out);
                    }
                }
                let open = self.open.is_some_and(|b| {
                    b.kind == BlockKind::Thinking && b.output_index == output_index
                });
                let encrypted = json_string(item.encrypted_content).is_some();
                if let Some(id) = string_contents(item.id).filter(|_| open || encrypted) {
                    let index = self.ensure_block(output_index, BlockKind::Thinking, None, out);
                    let encrypted = string_contents(item.encrypted_content).unwrap_or("");
                    self.frame(out, "content_block_delta", |out| {
                        push_index(out, index);
                        out.extend_from_slice(
                            b",\"delta\":{\"type\":\"signature_delta\",\"signature\":\"",
                        );
                        out.extend_from_slice(SIGNATURE_PREFIX.as_bytes());
                        out.extend_from_slice(id.as_bytes());
                        out.push(b':');
                        out.extend_from_slice(encrypted.as_bytes());
                        out.extend_from_slice(b"\"}");
                    });
                }
            }
            _ if item.is_tool_call() => {
                let kind = tool_kind(item);
                self.ensure_block(output_index, kind, Some(item), out);
                let key = PartKey::new(output_index, None, PartKind::Arguments);
                self.complete(info, key, kind, item.call_arguments(), out);
            }
            _ => return,
        }
        if self.stopped {
            return;
        }
        if self.open.is_some_and(|b| b.output_index == output_index) {
            self.close_block(out);
        }
    }

    /// Returns the index of the open block for `output_index` and `kind`, opening it (and
    /// closing any other) when needed. `call` names a tool block's id and name.
    #[inline]
    fn ensure_block(
        &mut self,
        output_index: Option<u64>,
        kind: BlockKind,
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
            _ => self.open_block(output_index, kind, call, out),
        }
    }

    /// Closes the open block, if any, and opens a new one; returns its index.
    #[cold]
    fn open_block(
        &mut self,
        output_index: Option<u64>,
        kind: BlockKind,
        call: Option<&Item>,
        out: &mut Vec<u8>,
    ) -> u64 {
        self.close_block(out);
        let index = self.next_block;
        self.next_block += 1;
        self.open = Some(OpenBlock {
            index,
            output_index,
            kind,
            input_started: false,
        });
        self.frame(out, "content_block_start", |out| {
            push_index(out, index);
            out.extend_from_slice(b",\"content_block\":");
            match kind {
                BlockKind::Text => out.extend_from_slice(b"{\"type\":\"text\",\"text\":\"\"}"),
                BlockKind::Thinking => out.extend_from_slice(
                    b"{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}",
                ),
                BlockKind::ToolUse { .. } => {
                    let id = call.and_then(|c| json_string(c.call_id.or(c.id)));
                    let name = call.and_then(|c| json_string(c.name));
                    out.extend_from_slice(b"{\"type\":\"tool_use\",\"id\":");
                    out.extend_from_slice(id.unwrap_or("\"\"").as_bytes());
                    out.extend_from_slice(b",\"name\":");
                    out.extend_from_slice(name.unwrap_or("\"\"").as_bytes());
                    out.extend_from_slice(b",\"input\":{}}");
                }
            }
        });
        if matches!(kind, BlockKind::ToolUse { .. }) {
            self.saw_tool_use = true;
        }
        index
    }

    fn close_block(&mut self, out: &mut Vec<u8>) {
        let Some(open) = self.open else {
            return;
        };
        self.flush_held(out);
        self.open = None;
        if open.kind == (BlockKind::ToolUse { custom: true }) {
            // A custom tool's input as the object `{"input": "<text>"}`, closed (or whole, when
            // none came).
            let rest: &[u8] = if open.input_started {
                b"\\\"}"
            } else {
                b"{\\\"input\\\":\\\"\\\"}"
            };
            self.input_json(open.index, rest, out);
        }
        self.frame(out, "content_block_stop", |out| push_index(out, open.index));
    }

    /// Completes a part from its full text: sends whatever its deltas have not sent.
    fn complete(
        &mut self,
        info: &StreamInfo,
        key: PartKey,
        block: BlockKind,
        full: Option<&RawValue>,
        out: &mut Vec<u8>,
    ) {
        let key = self.key_for(key, block);
        let missing = string_contents(full).and_then(|full| self.sent_parts.complete(key, full));
        if let Some(contents) = missing {
            self.block_delta(info, key, block, contents.as_bytes(), out);
        }
    }

    /// Argument events carry no content index; a missing output index means the open block.
    fn key_for(&self, key: PartKey, block: BlockKind) -> PartKey {
        match self.open {
            Some(open) if key.output_index == u64::MAX && open.kind == block => PartKey {
                output_index: open.output_index.unwrap_or(u64::MAX),
                ..key
            },
            _ => key,
        }
    }

    /// One delta of `contents` (JSON string contents as the upstream wrote them) of the part
    /// `key` into its block.
    fn block_delta(
        &mut self,
        info: &StreamInfo,
        key: PartKey,
        block: BlockKind,
        contents: &[u8],
        out: &mut Vec<u8>,
    ) {
        if self.stopped {
            return;
        }
        let output_index = key.output_index_opt();
        match block {
            BlockKind::Text => self.text(info, key, contents, out),
            BlockKind::Thinking => {
                let index = self.ensure_block(output_index, block, None, out);
                self.frame(out, "content_block_delta", |out| {
                    push_index(out, index);
                    out.extend_from_slice(
                        b",\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"",
                    );
                    out.extend_from_slice(contents);
                    out.extend_from_slice(b"\"}");
                });
            }
            BlockKind::ToolUse { custom: false } => {
                let index = self.ensure_block(output_index, block, None, out);
                self.input_json(index, contents, out);
            }
            BlockKind::ToolUse { custom: true } => {
                let index = self.ensure_block(output_index, block, None, out);
                let mut partial = Vec::with_capacity(contents.len() + 16);
                if let Some(open) = self.open.as_mut().filter(|open| !open.input_started) {
                    open.input_started = true;
                    partial.extend_from_slice(b"{\\\"input\\\":\\\"");
                }
                escape_again(&mut partial, contents);
                self.input_json(index, &partial, out);
            }
        }
    }

    /// A text delta: the one place message text reaches the client. Message text goes through
    /// the stop matcher when there is one (a refusal's text does not, but first releases what
    /// the matcher holds).
    fn text(&mut self, _info: &StreamInfo, key: PartKey, contents: &[u8], out: &mut Vec<u8>) {
        let index = self.ensure_block(key.output_index_opt(), BlockKind::Text, None, out);
        if self.stop.is_some() {
            if key.kind == PartKind::Text {
                self.stop_text(index, contents, out);
                return;
            }
            self.flush_held(out);
        }
        self.text_delta(index, contents, out);
    }

    /// Message text through the stop matcher: what it releases is sent; at a match the block
    /// stops and the answer ends.
    #[cold]
    #[inline(never)]
    fn stop_text(&mut self, index: u64, contents: &[u8], out: &mut Vec<u8>) {
        let Some(mut stop) = self.stop.take() else {
            return;
        };
        let mut released = std::mem::take(&mut self.released);
        released.clear();
        let matched = stop.push(contents, &mut released);
        if !released.is_empty() {
            self.text_delta(index, &released, out);
        }
        self.stop = Some(stop);
        self.released = released;
        if matched {
            self.close_block(out);
            self.stopped = true;
        }
    }

    /// Writes the text the stop matcher holds into the open text block.
    fn flush_held(&mut self, out: &mut Vec<u8>) {
        let Some(open) = self.open.filter(|open| open.kind == BlockKind::Text) else {
            return;
        };
        let Some(stop) = self.stop.as_mut().filter(|stop| stop.holds()) else {
            return;
        };
        let mut released = std::mem::take(&mut self.released);
        released.clear();
        stop.flush(&mut released);
        if !released.is_empty() {
            self.text_delta(open.index, &released, out);
        }
        self.released = released;
    }

    /// A `text_delta` of block `index`.
    fn text_delta(&mut self, index: u64, contents: &[u8], out: &mut Vec<u8>) {
        self.frame(out, "content_block_delta", |out| {
            push_index(out, index);
            out.extend_from_slice(b",\"delta\":{\"type\":\"text_delta\",\"text\":\"");
            out.extend_from_slice(contents);
            out.extend_from_slice(b"\"}");
        });
    }

    /// An `input_json_delta` whose `partial_json` has the JSON string contents `partial`.
    fn input_json(&mut self, index: u64, partial: &[u8], out: &mut Vec<u8>) {
        self.frame(out, "content_block_delta", |out| {
            push_index(out, index);
            out.extend_from_slice(b",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"");
            out.extend_from_slice(partial);
            out.extend_from_slice(b"\"}");
        });
    }

    /// `message_delta` with the stop reason, the stop sequence (a JSON literal) and usage, then
    /// `message_stop`.
    fn finish(
        &mut self,
        info: &StreamInfo,
        reason: &str,
        stop_sequence: &str,
        response: Option<&Response>,
        out: &mut Vec<u8>,
    ) {
        self.ensure_started(info, out);
        let usage = response.and_then(|r| r.usage);
        self.frame(out, "message_delta", |out| {
            out.extend_from_slice(b",\"delta\":{\"stop_reason\":\"");
            out.extend_from_slice(reason.as_bytes());
            out.extend_from_slice(b"\",\"stop_sequence\":");
            out.extend_from_slice(stop_sequence.as_bytes());
            out.extend_from_slice(b"},\"usage\":");
            match &usage {
                Some(usage) => push_usage(out, usage),
                None => out.extend_from_slice(b"{\"output_tokens\":0}"),
            }
        });
        self.frame(out, "message_stop", |_| {});
    }

    /// The `error` event (`message` a JSON string literal): how a failed stream ends.
    fn error(&mut self, kind: &str, message: &str, out: &mut Vec<u8>) {
        self.frame(out, "error", |out| {
            out.extend_from_slice(b",\"error\":{\"type\":\"");
            out.extend_from_slice(kind.as_bytes());
            out.extend_from_slice(b"\",\"message\":");
            push_raw(out, message);
            out.push(b'}');
        });
    }
}

/// The block kind of a tool call item.
fn tool_kind(item: &Item) -> BlockKind {
    BlockKind::ToolUse {
        custom: item.kind() == "custom_tool_call",
    }
}

/// Appends `,"index":<index>`.
fn push_index(out: &mut Vec<u8>, index: u64) {
    out.extend_from_slice(b",\"index\":");
    push_u64(out, index);
}

/// Appends JSON string contents escaped once more, so that they read as the contents of a JSON
/// string inside a JSON string (`a\"b` → `a\\\"b`).
fn escape_again(out: &mut Vec<u8>, contents: &[u8]) {
    for &b in contents {
        if b == b'\\' || b == b'"' {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// Writes an Anthropic `usage` object: `input_tokens` (the uncached input: Anthropic counts
/// cache reads apart), `cache_creation_input_tokens` (0: the Responses API reports none),
/// `cache_read_input_tokens`, `output_tokens` (reasoning included, as Anthropic counts thinking),
/// and `output_tokens_details.thinking_tokens` when the upstream reported reasoning tokens.
/// Shared by the stream's `message_delta` and the unary `Message`.
pub(crate) fn push_usage(out: &mut Vec<u8>, usage: &Usage) {
    let cached = usage.cached_tokens().unwrap_or(0);
    out.extend_from_slice(b"{\"input_tokens\":");
    push_u64(out, usage.input_tokens.saturating_sub(cached));
    out.extend_from_slice(b",\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":");
    push_u64(out, cached);
    out.extend_from_slice(b",\"output_tokens\":");
    push_u64(out, usage.output_tokens);
    if let Some(reasoning) = usage.reasoning_tokens() {
        out.extend_from_slice(b",\"output_tokens_details\":{\"thinking_tokens\":");
        push_u64(out, reasoning.min(usage.output_tokens));
        out.push(b'}');
    }
    out.push(b'}');
}

/// Anthropic's error type for an upstream failure, from its code: `rate_limit_error`,
/// `overloaded_error`, `invalid_request_error`, `timeout_error`, else `api_error`.
pub(crate) fn error_type(error: &UpstreamError) -> &'static str {
    let code = error.code_str().unwrap_or_default();
    match code.as_str() {
        "rate_limit_exceeded" | "rate_limit_error" | "insufficient_quota" => "rate_limit_error",
        "server_is_overloaded" | "overloaded" | "overloaded_error" | "slow_down" => {
            "overloaded_error"
        }
        "invalid_prompt"
        | "invalid_request"
        | "invalid_request_error"
        | "context_length_exceeded" => "invalid_request_error",
        c if c.contains("timeout") || c.contains("timed_out") => "timeout_error",
        _ => "api_error",
    }
}
