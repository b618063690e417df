//! One transcoded stream: upstream bytes in, client bytes out.
//!
//! [`Transcoder::feed`] frames the bytes of one body chunk, decodes each complete event and hands
//! it to the dialect's encoder, appending everything it produces to `out` before returning — so a
//! chunk's events reach the client in the same callback. [`Transcoder::finish`] ends the stream:
//! when the upstream stopped without a terminal event, the client still gets an ending in its own
//! dialect. Exactly one terminal outcome is emitted per stream; input after it is ignored.
//!
//! Delta events, most of any stream, take the fast path ([`crate::fast_path`]) once the stream's
//! identity is fixed; every other event, and any delta the fast path finds unusual, the full
//! parse. Both end in the same encoder call, so the output does not depend on which one read it.
//!
//! [`Transcoder::with_stop_sequences`] makes the encoder honour the request's stop sequences
//! ([`crate::stop`]); a stream a stop sequence ended counts as `completed`, whatever the upstream
//! reported after it.

use crate::anthropic::AnthropicEncoder;
use crate::chat::ChatEncoder;
use crate::config::{Dialect, InvalidEventPolicy, StreamOptions};
use crate::fast_path;
use crate::interactions::InteractionsEncoder;
use crate::outcome::{IncompleteReason, OutcomeKind, StreamInfo, TerminalOutcome, UpstreamError};
use crate::responses::{Delta, Event, EventKind, Usage};
use crate::sse::{Frame, FrameError, Framer};
use crate::stop::StopSequences;

/// What an upstream keepalive becomes in every dialect.
pub const KEEPALIVE: &[u8] = b": keepalive\n\n";

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
    /// Upstream keepalives (`keepalive` events and SSE comments).
    pub keepalives: u64,
    /// How the stream ended, once it has.
    pub outcome: Option<OutcomeKind>,
    /// Token usage of the terminal response, when the upstream reported it.
    pub usage: Option<Usage>,
}

/// The dialect encoders, behind one interface.
#[derive(Debug)]
enum Encoder {
    Chat(ChatEncoder),
    Interactions(InteractionsEncoder),
    Anthropic(AnthropicEncoder),
}

impl Encoder {
    fn event(&mut self, info: &StreamInfo, kind: EventKind, event: &Event, out: &mut Vec<u8>) {
        match self {
            Encoder::Chat(chat) => chat.event(info, kind, event, out),
            Encoder::Interactions(interactions) => interactions.event(info, kind, event, out),
            Encoder::Anthropic(anthropic) => anthropic.event(info, kind, event, out),
        }
    }

    fn delta(&mut self, info: &StreamInfo, delta: &Delta, out: &mut Vec<u8>) {
        match self {
            Encoder::Chat(chat) => chat.delta(info, delta, out),
            Encoder::Interactions(interactions) => interactions.delta(info, delta, out),
            Encoder::Anthropic(anthropic) => anthropic.delta(info, delta, out),
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
            Encoder::Anthropic(anthropic) => anthropic.terminal(info, outcome, out),
        }
    }

    fn set_stop(&mut self, stop: StopSequences) {
        match self {
            Encoder::Chat(chat) => chat.set_stop(stop),
            Encoder::Interactions(interactions) => interactions.set_stop(stop),
            Encoder::Anthropic(anthropic) => anthropic.set_stop(stop),
        }
    }

    fn stopped(&self) -> bool {
        match self {
            Encoder::Chat(chat) => chat.stopped(),
            Encoder::Interactions(interactions) => interactions.stopped(),
            Encoder::Anthropic(anthropic) => anthropic.stopped(),
        }
    }

    fn frames(&self) -> u64 {
        match self {
            Encoder::Chat(chat) => chat.frames(),
            Encoder::Interactions(interactions) => interactions.frames(),
            Encoder::Anthropic(anthropic) => anthropic.frames(),
        }
    }
}

/// Everything about one stream except its framing.
#[derive(Debug)]
struct Stream {
    encoder: Encoder,
    info: StreamInfo,
    /// Whether `info` is frozen: from then on an event cannot change the stream's identity, and
    /// delta events may take the fast path.
    identity_fixed: bool,
    /// The fast path's reader, unless it is off (see [`Transcoder::without_fast_path`]).
    fast_path: Option<fast_path::Reader>,
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
            Dialect::Anthropic => Encoder::Anthropic(AnthropicEncoder::new(options)),
            Dialect::Passthrough => return None,
        };
        Some(Transcoder {
            framer: Framer::new(options.max_event_bytes),
            stream: Stream {
                encoder,
                info: StreamInfo::default(),
                identity_fixed: false,
                fast_path: Some(fast_path::Reader::default()),
                options,
                finished: false,
                stats: Stats::default(),
            },
        })
    }

    /// The same transcoder with every event read by the full parse: the reference the fast path
    /// is checked against (differential tests and fuzz target).
    pub fn without_fast_path(mut self) -> Transcoder {
        self.stream.fast_path = None;
        self
    }

    /// The same transcoder honouring the client's stop sequences on the text output (none: the
    /// output is unchanged).
    pub fn with_stop_sequences(mut self, stop: &StopSequences) -> Transcoder {
        if !stop.is_empty() {
            self.stream.encoder.set_stop(stop.clone());
        }
        self
    }

    /// Translates one chunk of upstream body, appending the client bytes to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if self.stream.finished {
            return;
        }
        let Transcoder { framer, stream } = self;
        if let Err(FrameError::EventTooLarge { limit }) =
            framer.feed(input, &mut |frame| stream.on_frame(frame, out))
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
                framer.finish(&mut |frame| stream.on_frame(frame, out))
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

    /// The stream's identity (id, model) as far as the upstream has told it.
    pub fn info(&self) -> &StreamInfo {
        &self.stream.info
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
    #[inline(always)]
    fn on_frame(&mut self, frame: Frame, out: &mut Vec<u8>) {
        match frame {
            Frame::Event(data) => self.on_data(data, out),
            Frame::Comment => self.keepalive(out),
        }
    }

    fn on_data(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if self.finished || data.is_empty() {
            return;
        }
        self.stats.events_in += 1;
        if let Some(reader) = self.fast_path.as_mut().filter(|_| self.identity_fixed) {
            if let Some(delta) = reader.read(data) {
                self.encoder.delta(&self.info, &delta, out);
                return;
            }
        }
        self.parse(data, out);
    }

    /// The full parse of one event's payload. Kept out of [`Stream::on_data`] so that the fast
    /// path's code stays small: in V8, a function's frame (and what it spills) is sized for its
    /// largest path.
    #[inline(never)]
    fn parse(&mut self, data: &[u8], out: &mut Vec<u8>) {
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
                reason: response.map_or(IncompleteReason::Other, IncompleteReason::of),
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
            EventKind::Keepalive => {
                self.keepalive(out);
                return;
            }
            _ => {
                self.freeze();
                self.encoder.event(&self.info, kind, &event, out);
                return;
            }
        };
        self.end_at(&outcome, event.sequence_number, out);
    }

    /// Passes an upstream keepalive on as an SSE comment, which every dialect's client ignores,
    /// so that idle timers between the client and Envoy see traffic while the model is quiet.
    /// After the terminal nothing is read, keepalives included (counted or not, the result must
    /// not depend on where the input was cut).
    fn keepalive(&mut self, out: &mut Vec<u8>) {
        if !self.finished {
            self.stats.keepalives += 1;
            out.extend_from_slice(KEEPALIVE);
        }
    }

    fn freeze(&mut self) {
        self.info.freeze();
        self.identity_fixed = true;
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
        self.freeze();
        self.stats.outcome = Some(if self.encoder.stopped() {
            OutcomeKind::Completed
        } else {
            OutcomeKind::of(outcome)
        });
        self.stats.usage = outcome.response().and_then(|r| r.usage);
        self.encoder.terminal(&self.info, outcome, event_id, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A found-by-fuzzing case: a comment after the terminal was counted when it came in the
    /// terminal's chunk and not when it came later.
    #[test]
    fn keepalives_after_the_terminal_are_not_read_whatever_the_chunking() {
        let input = concat!(
            ": before\n\n",
            "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\",\"status\":\"completed\",\"output\":[]}}\n\n",
            ": after\n\n",
        )
        .as_bytes();
        let run = |piece: usize| {
            let mut transcoder = Transcoder::new(Dialect::Chat, StreamOptions::default()).unwrap();
            let mut out = Vec::new();
            for chunk in input.chunks(piece) {
                transcoder.feed(chunk, &mut out);
            }
            transcoder.finish(&mut out);
            (out, transcoder.stats())
        };
        let whole = run(input.len());
        assert_eq!(whole.1.keepalives, 1);
        assert!(whole.0.starts_with(KEEPALIVE));
        for piece in 1..input.len() {
            assert_eq!(run(piece), whole, "piece size {piece}");
        }
    }
}
