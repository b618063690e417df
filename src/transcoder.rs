//! One transcoded stream: upstream bytes in, client bytes out.
//!
//! [`Transcoder::feed`] frames the bytes of one body chunk, decodes each complete event and hands
//! it to the dialect's encoder, appending everything it produces to `out` before returning — so a
//! chunk's events reach the client in the same callback. [`Transcoder::finish`] ends the stream:
//! when the upstream stopped without a terminal event, the client still gets an ending in its own
//! dialect. Exactly one terminal outcome is emitted per stream; input after it is ignored.

use crate::chat::ChatEncoder;
use crate::config::{Dialect, InvalidEventPolicy, StreamOptions};
use crate::interactions::InteractionsEncoder;
use crate::responses::{json_string, ErrorObject, Event, EventKind, Response};
use crate::sse::{FrameError, Framer};
use serde_json::value::RawValue;

/// Stream id used when the upstream never sent a response id nor an item id.
const FALLBACK_ID: &str = "\"resp_unknown\"";

/// Identity of the stream, fixed at its first output: id, creation time, model, service tier.
#[derive(Debug, Default)]
pub struct StreamInfo {
    id: Option<String>,
    model: Option<String>,
    created: Option<i64>,
    service_tier: Option<String>,
    frozen: bool,
}

impl StreamInfo {
    /// Takes whatever identity `event` carries, unless the identity is already fixed. The id is
    /// the response id, else the first item id seen.
    pub fn observe(&mut self, event: &Event) {
        if self.frozen {
            return;
        }
        let keep = |slot: &mut Option<String>, raw: Option<&RawValue>| {
            if slot.is_none() {
                *slot = json_string(raw).map(str::to_owned);
            }
        };
        if let Some(response) = &event.response {
            keep(&mut self.id, response.id);
            keep(&mut self.model, response.model);
            keep(&mut self.service_tier, response.service_tier);
            if self.created.is_none() {
                self.created = response
                    .created_at
                    .filter(|t| t.is_finite() && *t >= 0.0 && *t < 1e15)
                    .map(|t| t as i64);
            }
        }
        keep(&mut self.id, event.item_id);
        keep(&mut self.id, event.item.as_ref().and_then(|item| item.id));
    }

    /// Fixes the identity: later events cannot change it.
    pub fn freeze(&mut self) {
        self.frozen = true;
    }

    /// The stream id as a JSON string literal.
    pub fn id(&self) -> &str {
        self.id.as_deref().unwrap_or(FALLBACK_ID)
    }

    /// The model as a JSON string literal (`""` when unknown).
    pub fn model(&self) -> &str {
        self.model_known().unwrap_or("\"\"")
    }

    /// The model as a JSON string literal, when the upstream named it.
    pub fn model_known(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// Creation time, Unix seconds (0 when unknown).
    pub fn created(&self) -> i64 {
        self.created.unwrap_or(0)
    }

    /// Service tier as a JSON string literal, when known.
    pub fn service_tier(&self) -> Option<&str> {
        self.service_tier.as_deref()
    }
}

/// Why an incomplete response stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncompleteReason {
    /// `max_output_tokens`.
    MaxOutputTokens,
    /// `content_filter`.
    ContentFilter,
    /// Missing or any other reason (treated like a length cut, never as a clean stop).
    Other,
}

/// An upstream error: from `response.failed`'s `response.error` or from an `error` event.
#[derive(Debug, Default, Clone, Copy)]
pub struct UpstreamError<'e> {
    /// Error type, raw JSON.
    pub kind: Option<&'e RawValue>,
    /// Error code, raw JSON.
    pub code: Option<&'e RawValue>,
    /// Message, raw JSON.
    pub message: Option<&'e RawValue>,
    /// Param, raw JSON.
    pub param: Option<&'e RawValue>,
}

impl<'e> UpstreamError<'e> {
    fn from_object(error: &ErrorObject<'e>) -> Self {
        UpstreamError {
            kind: error.kind,
            code: error.code,
            message: error.message,
            param: error.param,
        }
    }

    /// The `error` event's fields: top-level (OpenAI) or nested under `error` (other servers).
    fn from_error_event(event: &Event<'e>) -> Self {
        let nested = event
            .error
            .as_ref()
            .map(Self::from_object)
            .unwrap_or_default();
        UpstreamError {
            kind: nested.kind,
            code: event.code.or(nested.code),
            message: event.message.or(nested.message),
            param: event.param.or(nested.param),
        }
    }

    /// The code as a plain string, when it is a JSON string.
    pub fn code_str(&self) -> Option<String> {
        self.code
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
    }
}

/// How a stream ended. Every encoder matches this exhaustively.
#[derive(Debug, Clone, Copy)]
pub enum TerminalOutcome<'e> {
    /// `response.completed`.
    Completed {
        /// The final response.
        response: Option<&'e Response<'e>>,
    },
    /// `response.incomplete`.
    Incomplete {
        /// Why it stopped.
        reason: IncompleteReason,
        /// The final response.
        response: Option<&'e Response<'e>>,
    },
    /// `response.failed` or an `error` event.
    Failed {
        /// The upstream error.
        error: UpstreamError<'e>,
        /// The final response (`response.failed` only).
        response: Option<&'e Response<'e>>,
    },
    /// `response.cancelled`.
    Cancelled {
        /// The final response.
        response: Option<&'e Response<'e>>,
    },
    /// EOF or `data: [DONE]` without a terminal event.
    Truncated,
    /// An upstream event exceeded `max_event_bytes`.
    EventTooLarge {
        /// The cap.
        limit: usize,
    },
    /// An unparsable event, with `invalid_events: "error"`.
    InvalidEvent,
}

/// Terminal outcome names, as counted in metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeKind {
    /// `response.completed`.
    Completed,
    /// `response.incomplete` for length or an unknown reason.
    Incomplete,
    /// `response.incomplete` for content filtering.
    ContentFilter,
    /// `response.failed` or `error`.
    Failed,
    /// `response.cancelled`.
    Cancelled,
    /// Upstream ended without a terminal event.
    Truncated,
    /// Event over the size cap.
    EventTooLarge,
    /// Unparsable event, configured fatal.
    InvalidEvent,
}

impl OutcomeKind {
    /// All kinds, for defining metrics.
    pub const ALL: [OutcomeKind; 8] = [
        OutcomeKind::Completed,
        OutcomeKind::Incomplete,
        OutcomeKind::ContentFilter,
        OutcomeKind::Failed,
        OutcomeKind::Cancelled,
        OutcomeKind::Truncated,
        OutcomeKind::EventTooLarge,
        OutcomeKind::InvalidEvent,
    ];

    /// Metric-friendly name.
    pub fn name(self) -> &'static str {
        match self {
            OutcomeKind::Completed => "completed",
            OutcomeKind::Incomplete => "incomplete",
            OutcomeKind::ContentFilter => "content_filter",
            OutcomeKind::Failed => "failed",
            OutcomeKind::Cancelled => "cancelled",
            OutcomeKind::Truncated => "truncated",
            OutcomeKind::EventTooLarge => "event_too_large",
            OutcomeKind::InvalidEvent => "invalid_event",
        }
    }

    fn of(outcome: &TerminalOutcome) -> OutcomeKind {
        match outcome {
            TerminalOutcome::Completed { .. } => OutcomeKind::Completed,
            TerminalOutcome::Incomplete {
                reason: IncompleteReason::ContentFilter,
                ..
            } => OutcomeKind::ContentFilter,
            TerminalOutcome::Incomplete { .. } => OutcomeKind::Incomplete,
            TerminalOutcome::Failed { .. } => OutcomeKind::Failed,
            TerminalOutcome::Cancelled { .. } => OutcomeKind::Cancelled,
            TerminalOutcome::Truncated => OutcomeKind::Truncated,
            TerminalOutcome::EventTooLarge { .. } => OutcomeKind::EventTooLarge,
            TerminalOutcome::InvalidEvent => OutcomeKind::InvalidEvent,
        }
    }
}

/// Counters of one stream, read by the filter for its metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Upstream events dispatched by the framer (including `[DONE]` and unparsable ones).
    pub events_in: u64,
    /// Events (frames) written to the client, `[DONE]` included.
    pub events_out: u64,
    /// Unparsable upstream events.
    pub invalid_events: u64,
    /// Upstream events of unknown type.
    pub unknown_events: u64,
    /// How the stream ended, once it has.
    pub outcome: Option<OutcomeKind>,
}

/// The dialect encoders, behind one interface.
#[derive(Debug)]
enum Encoder {
    Chat(ChatEncoder),
    Interactions(InteractionsEncoder),
}

impl Encoder {
    fn event(&mut self, info: &StreamInfo, kind: EventKind, event: &Event, out: &mut Vec<u8>) {
        match self {
            Encoder::Chat(chat) => chat.event(info, kind, event, out),
            Encoder::Interactions(interactions) => interactions.event(info, kind, event, out),
        }
    }

    fn terminal(
        &mut self,
        info: &StreamInfo,
        outcome: &TerminalOutcome,
        event_id: Option<u64>,
        out: &mut Vec<u8>,
    ) {
        match self {
            Encoder::Chat(chat) => chat.terminal(info, outcome, out),
            Encoder::Interactions(interactions) => {
                interactions.terminal(info, outcome, event_id, out)
            }
        }
    }

    fn frames(&self) -> u64 {
        match self {
            Encoder::Chat(chat) => chat.frames(),
            Encoder::Interactions(interactions) => interactions.frames(),
        }
    }
}

/// Everything about one stream except its framing.
#[derive(Debug)]
struct Stream {
    encoder: Encoder,
    info: StreamInfo,
    options: StreamOptions,
    finished: bool,
    stats: Stats,
}

/// One upstream Responses stream being rewritten into one output dialect.
#[derive(Debug)]
pub struct Transcoder {
    framer: Framer,
    stream: Stream,
}

impl Transcoder {
    /// A transcoder into `dialect`, or `None` for a dialect that leaves the body untouched.
    pub fn new(dialect: Dialect, options: StreamOptions) -> Option<Transcoder> {
        let encoder = match dialect {
            Dialect::Chat => Encoder::Chat(ChatEncoder::new(options)),
            Dialect::Interactions => Encoder::Interactions(InteractionsEncoder::new(options)),
            Dialect::Passthrough => return None,
        };
        Some(Transcoder {
            framer: Framer::new(options.max_event_bytes),
            stream: Stream {
                encoder,
                info: StreamInfo::default(),
                options,
                finished: false,
                stats: Stats::default(),
            },
        })
    }

    /// Translates one chunk of upstream body, appending the client bytes to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if self.stream.finished {
            return;
        }
        let Transcoder { framer, stream } = self;
        if let Err(FrameError::EventTooLarge { limit }) =
            framer.feed(input, &mut |data| stream.on_data(data, out))
        {
            stream.end(&TerminalOutcome::EventTooLarge { limit }, out);
        }
    }

    /// Ends the upstream body: flushes a pending event, and if no terminal event came, ends the
    /// stream as truncated.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let Transcoder { framer, stream } = self;
        if !stream.finished {
            if let Err(FrameError::EventTooLarge { limit }) =
                framer.finish(&mut |data| stream.on_data(data, out))
            {
                stream.end(&TerminalOutcome::EventTooLarge { limit }, out);
            }
        }
        stream.end(&TerminalOutcome::Truncated, out);
    }

    /// Whether the terminal outcome has been emitted.
    pub fn is_finished(&self) -> bool {
        self.stream.finished
    }

    /// Bytes held back waiting for the rest of an event.
    pub fn held_bytes(&self) -> usize {
        self.framer.held_bytes()
    }

    /// This stream's counters so far.
    pub fn stats(&self) -> Stats {
        Stats {
            events_out: self.stream.encoder.frames(),
            ..self.stream.stats
        }
    }
}

impl Stream {
    fn on_data(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if self.finished || data.is_empty() {
            return;
        }
        self.stats.events_in += 1;
        if data == b"[DONE]" {
            self.end(&TerminalOutcome::Truncated, out);
            return;
        }
        // Validating the payload once is cheaper than serde_json validating each string.
        let parsed = std::str::from_utf8(data)
            .map_err(|err| format!("invalid UTF-8: {err}"))
            .and_then(|text| serde_json::from_str::<Event>(text).map_err(|err| err.to_string()));
        let event: Event = match parsed {
            Ok(event) => event,
            Err(err) => {
                self.stats.invalid_events += 1;
                if self.stats.invalid_events == 1 {
                    log::warn!("upstream event is not valid JSON ({err}); skipped");
                }
                if self.options.invalid_events == InvalidEventPolicy::Error {
                    self.end(&TerminalOutcome::InvalidEvent, out);
                }
                return;
            }
        };
        let kind = EventKind::of(&event.kind);
        self.info.observe(&event);
        let response = event.response.as_ref();
        let outcome = match kind {
            EventKind::Completed => TerminalOutcome::Completed { response },
            EventKind::Incomplete => TerminalOutcome::Incomplete {
                reason: match response.and_then(Response::incomplete_reason).as_deref() {
                    Some("max_output_tokens") => IncompleteReason::MaxOutputTokens,
                    Some("content_filter") => IncompleteReason::ContentFilter,
                    _ => IncompleteReason::Other,
                },
                response,
            },
            EventKind::Failed => TerminalOutcome::Failed {
                error: response
                    .and_then(|r| r.error.as_ref())
                    .map(UpstreamError::from_object)
                    .unwrap_or_default(),
                response,
            },
            EventKind::Error => TerminalOutcome::Failed {
                error: UpstreamError::from_error_event(&event),
                response: None,
            },
            EventKind::Cancelled => TerminalOutcome::Cancelled { response },
            EventKind::Unknown => {
                self.stats.unknown_events += 1;
                return;
            }
            EventKind::Ignored => return,
            _ => {
                self.info.freeze();
                self.encoder.event(&self.info, kind, &event, out);
                return;
            }
        };
        self.end_at(&outcome, event.sequence_number, out);
    }

    fn end(&mut self, outcome: &TerminalOutcome, out: &mut Vec<u8>) {
        self.end_at(outcome, None, out);
    }

    /// Ends the stream; `event_id` is the sequence number of the upstream event that ended it.
    fn end_at(&mut self, outcome: &TerminalOutcome, event_id: Option<u64>, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.info.freeze();
        self.stats.outcome = Some(OutcomeKind::of(outcome));
        self.encoder.terminal(&self.info, outcome, event_id, out);
    }
}
