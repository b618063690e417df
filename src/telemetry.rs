//! What the filter reports about one answer once it is known: the per-request values Envoy's
//! access log reads as filter state (`%FILTER_STATE(wasm.responses_transcoder.model:PLAIN)%`), the
//! fields token-based rate limiting and cost tracking need; and the token counts added to the
//! `tokens.*` counters on `/stats`.

use crate::config::Dialect;
use crate::outcome::{OutcomeKind, UnaryAnswer};
use crate::responses::Usage;
use crate::transcoder::Transcoder;
use serde::Deserialize;
use std::borrow::Cow;

/// Prefix of every metric name (Envoy shows them as `wasmcustom.responses_transcoder.<name>` on
/// `/stats`).
pub const METRIC_PREFIX: &str = "responses_transcoder.";

/// The filter's metrics: counters, and one gauge ([`Counter::StreamsActive`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    /// Gauge: transcoded streams open now.
    StreamsActive,
    /// Streams reset (by the client or the upstream) before they could end in-band.
    StreamsAborted,
    /// Transcoded streams, by client dialect.
    Streams(Dialect),
    /// Unary answers translated, by client dialect.
    Unary(Dialect),
    /// Client requests translated into Responses requests.
    RequestsTranslated,
    /// Client requests refused with a local reply (nothing went upstream).
    RequestsRejected,
    /// Answers of a selected dialect passed through untouched.
    Passthrough,
    /// Non-2xx answers (the upstream's or Envoy's own) rewritten into the dialect's error body.
    ErrorBodies,
    /// Answers of the other shape than asked (JSON for a stream, SSE for a unary call), reshaped.
    Reshaped,
    /// Upstream events dispatched by the framer.
    EventsIn,
    /// Events written to clients.
    EventsOut,
    /// Unparsable upstream events.
    InvalidEvents,
    /// Upstream events of unknown type.
    UnknownEvents,
    /// Upstream keepalives (events and SSE comments).
    Keepalives,
    /// Translated requests whose header-hold probe expired (`header_hold: "detect"`).
    HoldProbesExpired,
    /// Tokens reported by the upstream: input, output, cached, reasoning.
    Tokens(TokenKind),
    /// Answers by outcome, all dialects together.
    Outcome(OutcomeKind),
    /// Answers by outcome and client dialect.
    DialectOutcome(Dialect, OutcomeKind),
}

/// The token counts the `tokens.*` counters add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// `input_tokens`.
    Input,
    /// `output_tokens`.
    Output,
    /// `input_tokens_details.cached_tokens`.
    Cached,
    /// `output_tokens_details.reasoning_tokens`.
    Reasoning,
}

impl Counter {
    /// Every metric the filter defines.
    pub fn all() -> Vec<Counter> {
        let dialects = [Dialect::Chat, Dialect::Interactions, Dialect::Anthropic];
        let mut all = vec![
            Counter::StreamsActive,
            Counter::StreamsAborted,
            Counter::RequestsTranslated,
            Counter::RequestsRejected,
            Counter::Passthrough,
            Counter::ErrorBodies,
            Counter::Reshaped,
            Counter::EventsIn,
            Counter::EventsOut,
            Counter::InvalidEvents,
            Counter::UnknownEvents,
            Counter::Keepalives,
            Counter::HoldProbesExpired,
        ];
        all.extend(dialects.map(Counter::Streams));
        all.extend(dialects.map(Counter::Unary));
        all.extend(
            [
                TokenKind::Input,
                TokenKind::Output,
                TokenKind::Cached,
                TokenKind::Reasoning,
            ]
            .map(Counter::Tokens),
        );
        all.extend(OutcomeKind::ALL.map(Counter::Outcome));
        for dialect in dialects {
            all.extend(OutcomeKind::ALL.map(|kind| Counter::DialectOutcome(dialect, kind)));
        }
        all
    }

    /// Whether this metric is a gauge (else a counter).
    pub fn is_gauge(self) -> bool {
        self == Counter::StreamsActive
    }

    /// The metric's name, without [`METRIC_PREFIX`].
    pub fn name(self) -> String {
        let simple = match self {
            Counter::StreamsActive => "streams.active",
            Counter::StreamsAborted => "streams.aborted",
            Counter::RequestsTranslated => "requests.translated",
            Counter::RequestsRejected => "requests.rejected",
            Counter::Passthrough => "passthrough",
            Counter::ErrorBodies => "error_bodies_rewritten",
            Counter::Reshaped => "answers_reshaped",
            Counter::EventsIn => "events_in",
            Counter::EventsOut => "events_out",
            Counter::InvalidEvents => "invalid_events",
            Counter::UnknownEvents => "unknown_events",
            Counter::Keepalives => "keepalives",
            Counter::HoldProbesExpired => "header_hold.probes_expired",
            Counter::Streams(dialect) => return ["streams.", dialect.name()].concat(),
            Counter::Unary(dialect) => return ["unary.", dialect.name()].concat(),
            Counter::Tokens(kind) => {
                let kind = match kind {
                    TokenKind::Input => "input",
                    TokenKind::Output => "output",
                    TokenKind::Cached => "cached",
                    TokenKind::Reasoning => "reasoning",
                };
                return ["tokens.", kind].concat();
            }
            Counter::Outcome(kind) => return ["outcome.", kind.name()].concat(),
            Counter::DialectOutcome(dialect, kind) => {
                return [dialect.name(), ".outcome.", kind.name()].concat()
            }
        };
        simple.to_owned()
    }
}

/// Prefix of every property name; Envoy stores a property `p` as filter state `wasm.p`.
pub const PROPERTY_PREFIX: &str = "responses_transcoder.";

/// One answer's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The client dialect.
    pub dialect: Dialect,
    /// The upstream response id (the Chat stream id, the interaction id).
    pub response_id: Option<String>,
    /// The model that answered.
    pub model: Option<String>,
    /// How the answer ended; `None` when it did not (reset before its end) or is still running.
    pub outcome: Option<OutcomeKind>,
    /// Token usage, when the upstream reported it.
    pub usage: Option<Usage>,
}

impl Report {
    /// The report of a transcoded stream, as far as it got.
    pub fn of_stream(dialect: Dialect, transcoder: &Transcoder) -> Report {
        let info = transcoder.info();
        let stats = transcoder.stats();
        Report {
            dialect,
            response_id: info.id_known().and_then(unquote),
            model: info.model_known().and_then(unquote),
            outcome: stats.outcome,
            usage: stats.usage,
        }
    }

    /// The report of a unary answer, from the upstream's `Response` body and its translation.
    pub fn of_unary(dialect: Dialect, upstream_body: &[u8], answer: &UnaryAnswer) -> Report {
        #[derive(Deserialize)]
        struct Identity<'a> {
            #[serde(borrow)]
            id: Option<Cow<'a, str>>,
            #[serde(borrow)]
            model: Option<Cow<'a, str>>,
        }
        let text = String::from_utf8_lossy(upstream_body);
        let identity: Option<Identity> = serde_json::from_str(&text).ok();
        let (id, model) = identity.map_or((None, None), |i| (i.id, i.model));
        Report {
            dialect,
            response_id: id.map(Cow::into_owned),
            model: model.map(Cow::into_owned),
            outcome: answer.outcome,
            usage: answer.usage,
        }
    }

    /// The report of an exchange that ended without an upstream answer to translate (a refused
    /// request, an error status, an answer the filter could not read).
    pub fn of_outcome(dialect: Dialect, outcome: OutcomeKind) -> Report {
        Report {
            dialect,
            response_id: None,
            model: None,
            outcome: Some(outcome),
            usage: None,
        }
    }

    /// The counters this report adds to: its outcome (overall and per dialect) and its tokens.
    pub fn counts(&self) -> Vec<(Counter, u64)> {
        let mut counts = Vec::new();
        if let Some(outcome) = self.outcome {
            counts.push((Counter::Outcome(outcome), 1));
            let dialect = match self.dialect {
                Dialect::Interactions => Dialect::Interactions,
                Dialect::Anthropic => Dialect::Anthropic,
                Dialect::Chat | Dialect::Passthrough => Dialect::Chat,
            };
            counts.push((Counter::DialectOutcome(dialect, outcome), 1));
        }
        if let Some(usage) = &self.usage {
            counts.extend([
                (Counter::Tokens(TokenKind::Input), usage.input_tokens),
                (Counter::Tokens(TokenKind::Output), usage.output_tokens),
                (
                    Counter::Tokens(TokenKind::Cached),
                    usage.cached_tokens().unwrap_or(0),
                ),
                (
                    Counter::Tokens(TokenKind::Reasoning),
                    usage.reasoning_tokens().unwrap_or(0),
                ),
            ]);
        }
        counts
    }

    /// The outcome's name, or `aborted` for an answer that never ended.
    pub fn outcome_name(&self) -> &'static str {
        self.outcome.map_or("aborted", OutcomeKind::name)
    }

    /// The access-log properties, names without [`PROPERTY_PREFIX`]; absent values are left out.
    pub fn properties(&self) -> Vec<(&'static str, String)> {
        let mut properties = vec![
            ("dialect", self.dialect.name().to_owned()),
            ("outcome", self.outcome_name().to_owned()),
        ];
        if let Some(id) = &self.response_id {
            properties.push(("response_id", id.clone()));
        }
        if let Some(model) = &self.model {
            properties.push(("model", model.clone()));
        }
        if let Some(usage) = &self.usage {
            for (name, value) in [
                ("input_tokens", Some(usage.input_tokens)),
                ("output_tokens", Some(usage.output_tokens)),
                ("cached_tokens", usage.cached_tokens()),
                ("reasoning_tokens", usage.reasoning_tokens()),
                (
                    "total_tokens",
                    Some(usage.input_tokens.saturating_add(usage.output_tokens)),
                ),
            ] {
                if let Some(value) = value {
                    properties.push((name, value.to_string()));
                }
            }
        }
        properties
    }
}

/// The text of a JSON string literal.
fn unquote(literal: &str) -> Option<String> {
    serde_json::from_str(literal).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StreamOptions;

    #[test]
    fn stream_report_carries_identity_outcome_and_usage() {
        let stream = concat!(
            "data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_\\u0031\",\"model\":\"gpt-x\",\"output\":[]}}\n\n",
            "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"output\":[],",
            "\"usage\":{\"input_tokens\":10,\"output_tokens\":7,\"input_tokens_details\":{\"cached_tokens\":4},",
            "\"output_tokens_details\":{\"reasoning_tokens\":3}}}}\n\n",
        );
        let mut transcoder = Transcoder::new(Dialect::Chat, StreamOptions::default()).unwrap();
        let mut out = Vec::new();
        transcoder.feed(stream.as_bytes(), &mut out);
        let report = Report::of_stream(Dialect::Chat, &transcoder);
        let properties = report.properties();
        let get = |name: &str| {
            properties
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("dialect"), Some("chat"));
        assert_eq!(get("response_id"), Some("resp_1"));
        assert_eq!(get("model"), Some("gpt-x"));
        assert_eq!(get("outcome"), Some("completed"));
        assert_eq!(get("input_tokens"), Some("10"));
        assert_eq!(get("output_tokens"), Some("7"));
        assert_eq!(get("cached_tokens"), Some("4"));
        assert_eq!(get("reasoning_tokens"), Some("3"));
        assert_eq!(get("total_tokens"), Some("17"));
    }

    #[test]
    fn metric_names_are_unique_and_the_old_ones_are_kept() {
        let names: Vec<String> = Counter::all().into_iter().map(Counter::name).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        for name in [
            "streams.active",
            "streams.chat",
            "unary.interactions",
            "tokens.cached",
            "outcome.completed",
            "chat.outcome.failed",
            "interactions.outcome.rejected",
            "streams.anthropic",
            "unary.anthropic",
            "anthropic.outcome.failed",
            "keepalives",
        ] {
            assert!(names.iter().any(|n| n == name), "{name}");
        }
    }

    #[test]
    fn unfinished_stream_reports_aborted_without_usage() {
        let transcoder = Transcoder::new(Dialect::Interactions, StreamOptions::default()).unwrap();
        let report = Report::of_stream(Dialect::Interactions, &transcoder);
        assert_eq!(report.outcome_name(), "aborted");
        assert_eq!(
            report.properties(),
            vec![
                ("dialect", "interactions".to_owned()),
                ("outcome", "aborted".to_owned())
            ]
        );
    }

    #[test]
    fn unary_report_reads_identity_from_the_upstream_body() {
        let answer = UnaryAnswer {
            status: 200,
            body: Vec::new(),
            outcome: Some(OutcomeKind::Incomplete),
            usage: None,
        };
        let report = Report::of_unary(
            Dialect::Chat,
            br#"{"id":"resp_9","model":"m","status":"incomplete"}"#,
            &answer,
        );
        assert_eq!(report.response_id.as_deref(), Some("resp_9"));
        assert_eq!(report.model.as_deref(), Some("m"));
        assert_eq!(report.outcome_name(), "incomplete");
    }
}
