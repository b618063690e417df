//! Responses event → OpenAI Chat Completions chunk bytes (`data: {…chat.completion.chunk…}`).
//!
//! Every chunk shares one prefix (`id`, `object`, `created`, `model`, `service_tier`), built once
//! when the first chunk is written. Text, refusal and reasoning deltas become `delta.content`,
//! `delta.refusal` and `delta.reasoning_content` on choice 0 (a text delta's token logprobs, when
//! the upstream sends any, become the choice's `logprobs: {"content":[…],"refusal":null}`, else
//! `null`); function and custom tool calls become `delta.tool_calls` with indices 0, 1, 2, … in
//! order of appearance. Exactly one chunk carries a `finish_reason`; failures end with an in-band
//! `{"error":…}` frame; `data: [DONE]` closes every stream.
//!
//! With stop sequences ([`ChatEncoder::set_stop`], see [`crate::stop`]) the message text goes
//! through a matcher; text that could start a sequence is held back, and flushed before any other
//! output (refusal, reasoning, a tool call) and before the terminal. At a match the text before
//! the sequence is sent, then at once the finish chunk with `finish_reason: "stop"`; everything
//! the upstream sends after it is dropped. The upstream's terminal, whatever it is (it may report
//! `incomplete`, or fail, after generating past the stop), then only supplies usage: the usage
//! chunk when it is asked for (on the finish chunk with `chat_usage: "finish"`, which then waits
//! for the terminal), then `data: [DONE]`. Usage is the upstream's, which may count tokens past
//! the stop.

use crate::config::{StreamOptions, TruncatedPolicy, UsagePlacement};
use crate::json::{push_i64, push_raw, push_str, push_u64};
use crate::outcome::{IncompleteReason, StreamInfo, TerminalOutcome, UpstreamError};
use crate::responses::{
    json_string, string_contents, Delta, Event, EventKind, Item, Response, Usage,
};
use crate::stop::{ContentsStopMatcher, StopSequences};
use crate::tracking::{PartKey, PartKind, SentParts, SentText};
use serde_json::value::RawValue;

/// How many tool calls are remembered for correlating their argument events.
const REMEMBERED_CALLS: usize = 64;

/// One tool call announced to the client.
#[derive(Debug)]
struct ToolCall {
    output_index: Option<u64>,
    item_id: Option<Vec<u8>>,
    index: u64,
    arguments: SentText,
}

/// A tool call header's fields, each a JSON string literal when the upstream gave a string.
#[derive(Debug, Clone, Copy)]
struct CallHeader<'a> {
    item_id: Option<&'a [u8]>,
    call_id: Option<&'a [u8]>,
    name: Option<&'a [u8]>,
}

/// The `delta` field a text chunk fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextField {
    /// `content`: message text.
    Content,
    /// `refusal`.
    Refusal,
    /// `reasoning_content`: reasoning summaries and reasoning text.
    Reasoning,
}

impl TextField {
    fn name(self) -> &'static [u8] {
        match self {
            TextField::Content => b"content",
            TextField::Refusal => b"refusal",
            TextField::Reasoning => b"reasoning_content",
        }
    }
}

/// The head of each kind of text chunk (see [`ChatEncoder::text_head`]), built at first use.
#[derive(Debug, Default)]
struct TextHeads {
    content: Vec<u8>,
    refusal: Vec<u8>,
    reasoning: Vec<u8>,
}

/// Per-stream Chat encoder state.
#[derive(Debug)]
pub struct ChatEncoder {
    options: StreamOptions,
    /// `data: {"id":…,"choices":[`, built at the first chunk.
    prefix: Vec<u8>,
    text_heads: TextHeads,
    role_sent: bool,
    sent_parts: SentParts,
    calls: Vec<ToolCall>,
    next_call_index: u64,
    frames: u64,
    /// The `output_index` of the latest event that carried one: the item an event without one
    /// (some servers omit it on deltas) belongs to.
    current_item: Option<u64>,
    /// The stop sequence matcher of the message text, when the request gave stop sequences.
    stop: Option<Box<ContentsStopMatcher>>,
    /// Text the matcher released, reused between chunks.
    released: Vec<u8>,
    /// Whether a stop sequence matched: the finish chunk is out, the rest is dropped.
    stopped: bool,
}

impl ChatEncoder {
    /// A fresh encoder for one stream.
    pub fn new(options: StreamOptions) -> Self {
        ChatEncoder {
            options,
            prefix: Vec::new(),
            text_heads: TextHeads::default(),
            role_sent: false,
            sent_parts: SentParts::default(),
            calls: Vec::new(),
            next_call_index: 0,
            frames: 0,
            current_item: None,
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
        let reasoning = self.options.emit_reasoning;
        if event.output_index.is_some() {
            self.current_item = event.output_index;
        }
        let output_index = self.current_item;
        let key = |index: Option<u64>, kind| PartKey::new(output_index, index, kind);
        match kind {
            EventKind::Lifecycle => self.ensure_role(info, out),
            EventKind::TextDone => self.complete(
                info,
                key(event.content_index, PartKind::Text),
                TextField::Content,
                event.text,
                out,
            ),
            EventKind::RefusalDone => self.complete(
                info,
                key(event.content_index, PartKind::Refusal),
                TextField::Refusal,
                event.refusal,
                out,
            ),
            EventKind::ContentPartDone => {
                if let Some(part) = &event.part {
                    let (part_kind, field, text) = match part.kind.as_deref() {
                        Some("refusal") => (PartKind::Refusal, TextField::Refusal, part.refusal),
                        Some("reasoning_text") if reasoning => {
                            (PartKind::ReasoningText, TextField::Reasoning, part.text)
                        }
                        Some("output_text") => (PartKind::Text, TextField::Content, part.text),
                        _ => return,
                    };
                    self.complete(info, key(event.content_index, part_kind), field, text, out);
                }
            }
            EventKind::SummaryDone if reasoning => self.complete(
                info,
                key(event.summary_index, PartKind::Summary),
                TextField::Reasoning,
                event.text,
                out,
            ),
            EventKind::ReasoningDone if reasoning => self.complete(
                info,
                key(event.content_index, PartKind::ReasoningText),
                TextField::Reasoning,
                event.text,
                out,
            ),
            EventKind::OutputItemAdded => {
                if let Some(item) = event.item.as_ref().filter(|item| item.is_tool_call()) {
                    self.announce_call(info, event.output_index, item, out);
                }
            }
            EventKind::ArgumentsDone => {
                let item_id = json_string(event.item_id).map(str::as_bytes);
                let slot = self.call_slot(info, event.output_index, item_id, out);
                self.complete_arguments(info, slot, event.arguments.or(event.input), out);
            }
            EventKind::OutputItemDone => {
                if let Some(item) = &event.item {
                    self.item_done(info, event.output_index, item, out);
                }
            }
            EventKind::TextDelta
            | EventKind::RefusalDelta
            | EventKind::SummaryDelta
            | EventKind::ReasoningDelta
            | EventKind::ArgumentsDelta
            | EventKind::SummaryDone
            | EventKind::ReasoningDone
            | EventKind::SummaryPartAdded
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
        if delta.output_index.is_some() {
            self.current_item = delta.output_index;
        }
        let output_index = self.current_item;
        let key = |index: Option<u64>, kind| PartKey::new(output_index, index, kind);
        let contents = delta.contents.filter(|c| !c.is_empty());
        let (key, field, logprobs) = match delta.kind {
            EventKind::TextDelta => (
                key(delta.content_index, PartKind::Text),
                TextField::Content,
                delta.logprobs,
            ),
            EventKind::RefusalDelta => (
                key(delta.content_index, PartKind::Refusal),
                TextField::Refusal,
                None,
            ),
            EventKind::SummaryDelta if self.options.emit_reasoning => (
                key(delta.summary_index, PartKind::Summary),
                TextField::Reasoning,
                None,
            ),
            EventKind::ReasoningDelta if self.options.emit_reasoning => (
                key(delta.content_index, PartKind::ReasoningText),
                TextField::Reasoning,
                None,
            ),
            EventKind::ArgumentsDelta => {
                if let Some(contents) = contents {
                    let slot = self.call_slot(info, delta.output_index, delta.item_id, out);
                    if let Some(call) = self.calls.get_mut(slot) {
                        call.arguments.extend(contents);
                    }
                    self.arguments_chunk(info, slot, contents, out);
                }
                return;
            }
            _ => return,
        };
        if let Some(contents) = contents {
            self.sent_parts.sent(key, contents);
            self.text_chunk(info, field, contents, logprobs, out);
        }
    }

    /// Ends the stream: one finish chunk, usage, or an error frame; then `data: [DONE]`.
    pub fn terminal(&mut self, info: &StreamInfo, outcome: &TerminalOutcome, out: &mut Vec<u8>) {
        if self.stop.is_some() {
            if self.stopped {
                self.stopped_terminal(info, outcome, out);
                return;
            }
            self.release_held(info, out);
        }
        match *outcome {
            TerminalOutcome::Completed { response } => {
                let calls = !self.calls.is_empty() || response.is_some_and(Response::has_tool_call);
                let reason = if calls { "tool_calls" } else { "stop" };
                self.finish(info, reason, response.and_then(|r| r.usage), response, out);
            }
            TerminalOutcome::Incomplete { reason, response } => {
                let reason = match reason {
                    IncompleteReason::ContentFilter => "content_filter",
                    IncompleteReason::MaxOutputTokens | IncompleteReason::Other => "length",
                };
                self.finish(info, reason, response.and_then(|r| r.usage), response, out);
            }
            TerminalOutcome::Failed { error, response } => {
                self.usage_chunk(info, response.and_then(|r| r.usage), out);
                self.error_frame(ErrorFrame::upstream(&error), out);
            }
            TerminalOutcome::Cancelled { response } => {
                self.usage_chunk(info, response.and_then(|r| r.usage), out);
                let frame =
                    ErrorFrame::ours("\"cancelled\"", "\"the upstream response was cancelled\"");
                self.error_frame(frame, out);
            }
            TerminalOutcome::Truncated => match self.options.on_truncated {
                TruncatedPolicy::Finish => self.finish(info, "stop", None, None, out),
                TruncatedPolicy::Error => {
                    let message = "\"the upstream stream ended without a terminal event\"";
                    self.error_frame(ErrorFrame::ours("\"stream_truncated\"", message), out);
                }
            },
            TerminalOutcome::EventTooLarge { limit } => {
                let mut message = Vec::new();
                push_str(
                    &mut message,
                    &format!("an upstream event exceeded max_event_bytes ({limit} bytes)"),
                );
                let message = String::from_utf8_lossy(&message);
                self.error_frame(ErrorFrame::ours("\"event_too_large\"", &message), out);
            }
            TerminalOutcome::InvalidEvent => {
                let message = "\"the upstream sent an event that is not valid JSON\"";
                self.error_frame(ErrorFrame::ours("\"invalid_event\"", message), out);
            }
        }
        self.done(out);
    }

    fn done(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"data: [DONE]\n\n");
        self.frames += 1;
    }

    /// The end of a stream a stop sequence ended: the upstream's usage, as asked, and `[DONE]`
    /// (the finish chunk went out at the match, unless it carries usage).
    #[cold]
    fn stopped_terminal(
        &mut self,
        info: &StreamInfo,
        outcome: &TerminalOutcome,
        out: &mut Vec<u8>,
    ) {
        let usage = outcome.response().and_then(|r| r.usage);
        match self.options.chat_usage {
            UsagePlacement::Finish => self.finish(info, "stop", usage, None, out),
            UsagePlacement::Chunk => self.usage_chunk(info, usage, out),
            UsagePlacement::Omit => {}
        }
        self.done(out);
    }

    /// A text chunk through the stop matcher: message text is matched (and the finish chunk
    /// sent at a match); other text first releases what the matcher holds.
    #[cold]
    #[inline(never)]
    fn stop_text_chunk(
        &mut self,
        info: &StreamInfo,
        field: TextField,
        contents: &[u8],
        logprobs: Option<&RawValue>,
        out: &mut Vec<u8>,
    ) {
        let Some(mut stop) = self.stop.take() else {
            return;
        };
        let mut released = std::mem::take(&mut self.released);
        released.clear();
        if field == TextField::Content {
            let matched = stop.push(contents, &mut released);
            if !released.is_empty() || logprobs.is_some() {
                self.write_text_chunk(info, field, &released, logprobs, out);
            }
            if matched {
                self.stopped = true;
                if self.options.chat_usage != UsagePlacement::Finish {
                    self.finish(info, "stop", None, None, out);
                }
            }
        } else {
            stop.flush(&mut released);
            if !released.is_empty() {
                self.write_text_chunk(info, TextField::Content, &released, None, out);
            }
            self.write_text_chunk(info, field, contents, logprobs, out);
        }
        self.stop = Some(stop);
        self.released = released;
    }

    /// Sends the message text the stop matcher holds, before other output.
    fn release_held(&mut self, info: &StreamInfo, out: &mut Vec<u8>) {
        let Some(stop) = self.stop.as_mut().filter(|stop| stop.holds()) else {
            return;
        };
        let mut released = std::mem::take(&mut self.released);
        released.clear();
        stop.flush(&mut released);
        if !released.is_empty() {
            self.write_text_chunk(info, TextField::Content, &released, None, out);
        }
        self.released = released;
    }

    #[inline]
    fn ensure_prefix(&mut self, info: &StreamInfo) {
        if self.prefix.is_empty() {
            self.build_prefix(info);
        }
    }

    #[cold]
    fn build_prefix(&mut self, info: &StreamInfo) {
        let p = &mut self.prefix;
        p.extend_from_slice(b"data: {\"id\":");
        p.extend_from_slice(info.id().as_bytes());
        p.extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
        push_i64(p, info.created());
        p.extend_from_slice(b",\"model\":");
        p.extend_from_slice(info.model().as_bytes());
        if let Some(tier) = info.service_tier() {
            p.extend_from_slice(b",\"service_tier\":");
            p.extend_from_slice(tier.as_bytes());
        }
        p.extend_from_slice(b",\"choices\":[");
    }

    /// Starts a chunk whose choice 0 carries `delta` (a JSON object body without braces).
    fn open_choice(&mut self, info: &StreamInfo, out: &mut Vec<u8>) {
        self.ensure_prefix(info);
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(b"{\"index\":0,\"delta\":{");
    }

    fn close_choice(&mut self, out: &mut Vec<u8>) {
        self.close_choice_with(None, out);
    }

    /// Closes the chunk's delta; its choice carries `logprobs` (the upstream's token logprob
    /// array) as `{"content":[…],"refusal":null}`, or `null`.
    fn close_choice_with(&mut self, logprobs: Option<&RawValue>, out: &mut Vec<u8>) {
        match logprobs {
            Some(logprobs) => {
                out.extend_from_slice(b"},\"logprobs\":{\"content\":");
                push_raw(out, logprobs.get());
                out.extend_from_slice(b",\"refusal\":null},\"finish_reason\":null}]}\n\n");
            }
            None => out.extend_from_slice(b"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"),
        }
        self.frames += 1;
    }

    #[inline]
    fn ensure_role(&mut self, info: &StreamInfo, out: &mut Vec<u8>) {
        if !self.role_sent {
            self.send_role(info, out);
        }
    }

    #[cold]
    fn send_role(&mut self, info: &StreamInfo, out: &mut Vec<u8>) {
        self.role_sent = true;
        self.open_choice(info, out);
        out.extend_from_slice(b"\"role\":\"assistant\",\"content\":\"\"");
        self.close_choice(out);
    }

    /// Writes `{"<field>":"<contents>"}` as one chunk; `contents` is JSON string contents,
    /// `logprobs` the token log probabilities the chunk's choice carries.
    fn text_chunk(
        &mut self,
        info: &StreamInfo,
        field: TextField,
        contents: &[u8],
        logprobs: Option<&RawValue>,
        out: &mut Vec<u8>,
    ) {
        if self.stop.is_some() {
            self.stop_text_chunk(info, field, contents, logprobs, out);
            return;
        }
        self.write_text_chunk(info, field, contents, logprobs, out);
    }

    /// Writes one text chunk (see [`ChatEncoder::text_chunk`]).
    #[inline]
    fn write_text_chunk(
        &mut self,
        info: &StreamInfo,
        field: TextField,
        contents: &[u8],
        logprobs: Option<&RawValue>,
        out: &mut Vec<u8>,
    ) {
        self.ensure_role(info, out);
        out.extend_from_slice(self.text_head(info, field));
        out.extend_from_slice(contents);
        out.push(b'"');
        self.close_choice_with(logprobs, out);
    }

    /// The bytes every `field` chunk starts with, up to the opening quote of its text: the chunk
    /// prefix and `{"index":0,"delta":{"<field>":"`, built once per stream.
    fn text_head(&mut self, info: &StreamInfo, field: TextField) -> &[u8] {
        self.ensure_prefix(info);
        let TextHeads {
            content,
            refusal,
            reasoning,
        } = &mut self.text_heads;
        let head = match field {
            TextField::Content => content,
            TextField::Refusal => refusal,
            TextField::Reasoning => reasoning,
        };
        if head.is_empty() {
            head.extend_from_slice(&self.prefix);
            head.extend_from_slice(b"{\"index\":0,\"delta\":{\"");
            head.extend_from_slice(field.name());
            head.extend_from_slice(b"\":\"");
        }
        head
    }

    /// Completes a part from its full text: sends whatever its deltas (or an earlier `done`)
    /// have not sent.
    fn complete(
        &mut self,
        info: &StreamInfo,
        key: PartKey,
        field: TextField,
        text: Option<&RawValue>,
        out: &mut Vec<u8>,
    ) {
        let missing = string_contents(text).and_then(|full| self.sent_parts.complete(key, full));
        if let Some(contents) = missing {
            self.text_chunk(info, field, contents.as_bytes(), None, out);
        }
    }

    fn item_done(
        &mut self,
        info: &StreamInfo,
        output_index: Option<u64>,
        item: &Item,
        out: &mut Vec<u8>,
    ) {
        let reasoning = self.options.emit_reasoning;
        match item.kind() {
            "message" => {
                for (index, part) in (0u64..).zip(item.content_parts()) {
                    let key = |kind| PartKey::new(output_index, Some(index), kind);
                    match part.kind.as_deref() {
                        Some("output_text") => self.complete(
                            info,
                            key(PartKind::Text),
                            TextField::Content,
                            part.text,
                            out,
                        ),
                        Some("refusal") => self.complete(
                            info,
                            key(PartKind::Refusal),
                            TextField::Refusal,
                            part.refusal,
                            out,
                        ),
                        _ => {}
                    }
                }
            }
            "reasoning" if reasoning => {
                for (index, part) in (0u64..).zip(item.summary_parts()) {
                    let key = PartKey::new(output_index, Some(index), PartKind::Summary);
                    self.complete(info, key, TextField::Reasoning, part.text, out);
                }
                for (index, part) in (0u64..).zip(item.content_parts()) {
                    if part.kind.as_deref() == Some("reasoning_text") {
                        let key = PartKey::new(output_index, Some(index), PartKind::ReasoningText);
                        self.complete(info, key, TextField::Reasoning, part.text, out);
                    }
                }
            }
            _ if item.is_tool_call() => {
                let known = self.find_call(output_index, json_string(item.id).map(str::as_bytes));
                let slot = match known {
                    Some(slot) => slot,
                    None => self.announce_call(info, output_index, item, out),
                };
                self.complete_arguments(info, slot, item.call_arguments(), out);
            }
            _ => {}
        }
    }

    /// Finds a call by output index, else by item id (a JSON string literal); returns its slot in
    /// `calls`.
    fn find_call(&self, output_index: Option<u64>, item_id: Option<&[u8]>) -> Option<usize> {
        if let Some(output_index) = output_index {
            return self
                .calls
                .iter()
                .rposition(|c| c.output_index == Some(output_index));
        }
        let item_id = item_id?;
        self.calls
            .iter()
            .rposition(|c| c.item_id.as_deref() == Some(item_id))
    }

    /// The slot of the call an argument event belongs to (`item_id` a JSON string literal); a
    /// call never announced (trimmed streams) is announced now with what the event knows.
    fn call_slot(
        &mut self,
        info: &StreamInfo,
        output_index: Option<u64>,
        item_id: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> usize {
        match self.find_call(output_index, item_id) {
            Some(slot) => slot,
            None => {
                let call = CallHeader {
                    item_id,
                    call_id: item_id,
                    name: None,
                };
                self.announce(info, output_index, call, out)
            }
        }
    }

    /// Announces the call `item` (unless known); returns its slot.
    fn announce_call(
        &mut self,
        info: &StreamInfo,
        output_index: Option<u64>,
        item: &Item,
        out: &mut Vec<u8>,
    ) -> usize {
        let call = CallHeader {
            item_id: json_string(item.id).map(str::as_bytes),
            call_id: json_string(item.call_id.or(item.id)).map(str::as_bytes),
            name: json_string(item.name).map(str::as_bytes),
        };
        self.announce(info, output_index, call, out)
    }

    /// Sends the tool call header chunk and remembers the call (unless known); returns its slot.
    fn announce(
        &mut self,
        info: &StreamInfo,
        output_index: Option<u64>,
        call: CallHeader,
        out: &mut Vec<u8>,
    ) -> usize {
        let CallHeader {
            item_id,
            call_id,
            name,
        } = call;
        if let Some(slot) = self.find_call(output_index, item_id) {
            return slot;
        }
        self.release_held(info, out);
        let index = self.next_call_index;
        self.next_call_index += 1;
        self.ensure_role(info, out);
        self.open_choice(info, out);
        out.extend_from_slice(b"\"tool_calls\":[{\"index\":");
        push_u64(out, index);
        out.extend_from_slice(b",\"id\":");
        out.extend_from_slice(call_id.unwrap_or(b"\"\""));
        out.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
        out.extend_from_slice(name.unwrap_or(b"\"\""));
        out.extend_from_slice(b",\"arguments\":\"\"}}]");
        self.close_choice(out);
        if self.calls.len() >= REMEMBERED_CALLS {
            self.calls.remove(0);
        }
        self.calls.push(ToolCall {
            output_index,
            item_id: item_id.map(<[u8]>::to_vec),
            index,
            arguments: SentText::default(),
        });
        self.calls.len() - 1
    }

    fn arguments_chunk(
        &mut self,
        info: &StreamInfo,
        slot: usize,
        arguments: &[u8],
        out: &mut Vec<u8>,
    ) {
        let Some(index) = self.calls.get(slot).map(|c| c.index) else {
            return;
        };
        self.open_choice(info, out);
        out.extend_from_slice(b"\"tool_calls\":[{\"index\":");
        push_u64(out, index);
        out.extend_from_slice(b",\"function\":{\"arguments\":\"");
        out.extend_from_slice(arguments);
        out.extend_from_slice(b"\"}}]");
        self.close_choice(out);
    }

    /// Completes a call's arguments from their full text: sends whatever deltas (or an earlier
    /// `done`) have not sent.
    fn complete_arguments(
        &mut self,
        info: &StreamInfo,
        slot: usize,
        arguments: Option<&RawValue>,
        out: &mut Vec<u8>,
    ) {
        let Some(call) = self.calls.get_mut(slot) else {
            return;
        };
        if let Some(missing) =
            string_contents(arguments).and_then(|full| call.arguments.complete(full))
        {
            self.arguments_chunk(info, slot, missing.as_bytes(), out);
        }
    }

    /// The finish chunk with `reason` (and `usage` when it goes there; `response`'s
    /// `incomplete_details` and `content_filters`), then the usage chunk when it goes there.
    fn finish(
        &mut self,
        info: &StreamInfo,
        reason: &str,
        usage: Option<Usage>,
        response: Option<&Response>,
        out: &mut Vec<u8>,
    ) {
        self.ensure_role(info, out);
        self.ensure_prefix(info);
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(b"{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"");
        out.extend_from_slice(reason.as_bytes());
        out.extend_from_slice(b"\"}]");
        if let (UsagePlacement::Finish, Some(usage)) = (self.options.chat_usage, usage) {
            push_usage(out, &usage);
        }
        if let Some(response) = response {
            for (field, raw) in [
                (
                    &b",\"incomplete_details\":"[..],
                    response.incomplete_details,
                ),
                (&b",\"content_filters\":"[..], response.content_filters),
            ] {
                if let Some(raw) = raw.filter(|raw| raw.get() != "null") {
                    out.extend_from_slice(field);
                    push_raw(out, raw.get());
                }
            }
        }
        out.extend_from_slice(b"}\n\n");
        self.frames += 1;
        if self.options.chat_usage == UsagePlacement::Chunk {
            self.usage_chunk(info, usage, out);
        }
    }

    /// The `"choices":[]` chunk carrying usage, unless usage is omitted or unknown.
    fn usage_chunk(&mut self, info: &StreamInfo, usage: Option<Usage>, out: &mut Vec<u8>) {
        let Some(usage) = usage.filter(|_| self.options.chat_usage != UsagePlacement::Omit) else {
            return;
        };
        self.ensure_prefix(info);
        out.extend_from_slice(&self.prefix);
        out.push(b']');
        push_usage(out, &usage);
        out.extend_from_slice(b"}\n\n");
        self.frames += 1;
    }

    fn error_frame(&mut self, frame: ErrorFrame, out: &mut Vec<u8>) {
        out.extend_from_slice(b"data: ");
        frame.write(out);
        out.extend_from_slice(b"\n\n");
        self.frames += 1;
    }
}

/// The fields of a Chat error object (the in-band error frame, the unary error body), each raw
/// JSON.
pub(crate) struct ErrorFrame<'a> {
    kind: &'a str,
    code: &'a str,
    message: &'a str,
    param: &'a str,
}

impl<'a> ErrorFrame<'a> {
    /// An error this filter raises itself: type and code are both `code` (a JSON string literal).
    pub(crate) fn ours(code: &'a str, message: &'a str) -> Self {
        ErrorFrame {
            kind: code,
            code,
            message,
            param: "null",
        }
    }

    /// An upstream failure. Only string values are forwarded: the SDKs read each of these as a
    /// string.
    pub(crate) fn upstream(error: &UpstreamError<'a>) -> Self {
        ErrorFrame {
            kind: json_string(error.kind).unwrap_or("\"server_error\""),
            code: json_string(error.code).unwrap_or("null"),
            message: json_string(error.message).unwrap_or("\"upstream response failed\""),
            param: json_string(error.param).unwrap_or("null"),
        }
    }

    /// Appends `{"error":{"message","type","code","param"}}`.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"error\":{\"message\":");
        push_raw(out, self.message);
        out.extend_from_slice(b",\"type\":");
        push_raw(out, self.kind);
        out.extend_from_slice(b",\"code\":");
        push_raw(out, self.code);
        out.extend_from_slice(b",\"param\":");
        push_raw(out, self.param);
        out.extend_from_slice(b"}}");
    }
}

/// Appends `,"usage":{…}`.
fn push_usage(out: &mut Vec<u8>, usage: &Usage) {
    out.extend_from_slice(b",\"usage\":");
    push_usage_object(out, usage);
}

/// Appends the usage object in Chat's vocabulary: `{"prompt_tokens",…}`.
pub(crate) fn push_usage_object(out: &mut Vec<u8>, usage: &Usage) {
    out.extend_from_slice(b"{\"prompt_tokens\":");
    push_u64(out, usage.input_tokens);
    out.extend_from_slice(b",\"completion_tokens\":");
    push_u64(out, usage.output_tokens);
    out.extend_from_slice(b",\"total_tokens\":");
    push_u64(out, usage.input_tokens.saturating_add(usage.output_tokens));
    if let Some(cached) = usage.cached_tokens() {
        out.extend_from_slice(b",\"prompt_tokens_details\":{\"cached_tokens\":");
        push_u64(out, cached);
        out.push(b'}');
    }
    if let Some(reasoning) = usage.reasoning_tokens() {
        out.extend_from_slice(b",\"completion_tokens_details\":{\"reasoning_tokens\":");
        push_u64(out, reasoning);
        out.push(b'}');
    }
    out.push(b'}');
}

pub(crate) use crate::responses::token_logprobs;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Dialect;
    use crate::transcoder::Transcoder;
    use serde_json::{json, Value};

    const CREATED: &str = r#"data: {"type":"response.created","response":{"id":"resp_1","created_at":1,"model":"m","status":"in_progress","output":[]}}"#;

    /// The chunks' choices for a `response.output_text.delta` carrying `logprobs`.
    fn delta_chunks(logprobs: Option<&str>) -> Vec<u8> {
        let field = logprobs
            .map(|l| format!(r#","logprobs":{l}"#))
            .unwrap_or_default();
        let input = format!(
            "{CREATED}\n\ndata: {{\"type\":\"response.output_text.delta\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"{field}}}\n\n"
        );
        let mut transcoder =
            Transcoder::new(Dialect::Chat, StreamOptions::default()).expect("chat transcodes");
        let mut out = Vec::new();
        transcoder.feed(input.as_bytes(), &mut out);
        out
    }

    fn last_choice(out: &[u8]) -> Value {
        let text = std::str::from_utf8(out).unwrap();
        let data = text.trim_end().rsplit("data: ").next().unwrap();
        serde_json::from_str::<Value>(data).unwrap()["choices"][0].clone()
    }

    #[test]
    fn text_delta_logprobs_become_choice_logprobs() {
        let token = r#"{"token":"Hi","logprob":-0.5,"bytes":[72,105],"top_logprobs":[{"token":"Hi","logprob":-0.5,"bytes":[72,105]}]}"#;
        let choice = last_choice(&delta_chunks(Some(&format!("[{token}]"))));
        assert_eq!(choice["delta"], json!({"content": "Hi"}));
        assert_eq!(
            choice["logprobs"],
            json!({"content": [serde_json::from_str::<Value>(token).unwrap()], "refusal": null})
        );
    }

    #[test]
    fn empty_or_absent_logprobs_leave_the_chunk_unchanged() {
        let plain = delta_chunks(None);
        assert_eq!(last_choice(&plain)["logprobs"], Value::Null);
        assert_eq!(delta_chunks(Some("[]")), plain);
        assert_eq!(delta_chunks(Some("[ \t ]")), plain);
        assert_eq!(delta_chunks(Some("null")), plain);
    }

    #[test]
    fn token_logprobs_needs_a_non_empty_array_of_well_formed_entries() {
        fn raw(text: &str) -> &RawValue {
            serde_json::from_str(text).unwrap()
        }
        let entry = r#"{"token":"a","logprob":-0.5,"bytes":[97],"top_logprobs":[{"token":"b","logprob":-1,"bytes":[98]}]}"#;
        assert!(token_logprobs(Some(raw(&format!("[{entry}]")))).is_some());
        assert!(token_logprobs(Some(raw(r#"[{"token":"a","logprob":0}]"#))).is_some());
        // Copied as they came: an unknown field or a number out of f64 range must not pass
        // (a fuzz-found case: `3e554` made the output unreadable for strict JSON parsers).
        assert!(token_logprobs(Some(raw("[{}]"))).is_none());
        assert!(token_logprobs(Some(raw(r#"[{"token":"a","logprob":3e554}]"#))).is_none());
        assert!(token_logprobs(Some(raw(r#"[{"":[{"":3e554}]}]"#))).is_none());
        assert!(token_logprobs(Some(raw(r#"[{"token":"a","logprob":0,"x":1}]"#))).is_none());
        assert!(token_logprobs(Some(raw("[ ]"))).is_none());
        assert!(token_logprobs(Some(raw("{}"))).is_none());
        assert!(token_logprobs(None).is_none());
    }
}
