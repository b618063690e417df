//! What every encoder needs to know about one answer, kept apart from the code that drives them:
//! the answer's identity ([`StreamInfo`]), how it ended ([`TerminalOutcome`]) and the outcome
//! names counted in metrics ([`OutcomeKind`]). The stream encoders, the unary translators and the
//! transcoder import this module; it imports none of them.

use crate::responses::{json_string, ErrorObject, Event, Response, Usage};
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

    /// The stream id as a JSON string literal, when the upstream gave one.
    pub fn id_known(&self) -> Option<&str> {
        self.id.as_deref()
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
    /// The fields of an error object.
    pub fn from_object(error: &ErrorObject<'e>) -> Self {
        UpstreamError {
            kind: error.kind,
            code: error.code,
            message: error.message,
            param: error.param,
        }
    }

    /// The `error` event's fields: top-level (OpenAI) or nested under `error` (other servers).
    pub fn from_error_event(event: &Event<'e>) -> Self {
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

impl<'e> TerminalOutcome<'e> {
    /// The final response object the upstream sent with this outcome, if any.
    pub fn response(&self) -> Option<&'e Response<'e>> {
        match *self {
            TerminalOutcome::Completed { response }
            | TerminalOutcome::Incomplete { response, .. }
            | TerminalOutcome::Failed { response, .. }
            | TerminalOutcome::Cancelled { response } => response,
            TerminalOutcome::Truncated
            | TerminalOutcome::EventTooLarge { .. }
            | TerminalOutcome::InvalidEvent => None,
        }
    }

    /// How a whole `Response` object (a unary answer, or a background response fetched by id)
    /// ended, from its `status`; `None` while it is still `queued` or `in_progress`. A missing or
    /// unknown status with an `error` is a failure, otherwise incomplete: never a silent success.
    pub fn of_response(response: &'e Response<'e>) -> Option<TerminalOutcome<'e>> {
        let failed = || TerminalOutcome::Failed {
            error: response
                .error
                .as_ref()
                .map(UpstreamError::from_object)
                .unwrap_or_default(),
            response: Some(response),
        };
        Some(match response.status.as_deref() {
            Some("completed") => TerminalOutcome::Completed {
                response: Some(response),
            },
            Some("queued" | "in_progress") => return None,
            Some("cancelled") => TerminalOutcome::Cancelled {
                response: Some(response),
            },
            Some("failed") => failed(),
            _ if response.error.is_some() => failed(),
            _ => TerminalOutcome::Incomplete {
                reason: IncompleteReason::of(response),
                response: Some(response),
            },
        })
    }
}

impl IncompleteReason {
    /// The reason of an incomplete response, from `incomplete_details.reason`.
    pub fn of(response: &Response) -> IncompleteReason {
        match response.incomplete_reason().as_deref() {
            Some("max_output_tokens") => IncompleteReason::MaxOutputTokens,
            Some("content_filter") => IncompleteReason::ContentFilter,
            _ => IncompleteReason::Other,
        }
    }
}

/// The HTTP status that reports a failed response in a unary answer, from its error code:
/// 429 for rate limits and quota, 400 for a refused prompt, 504 for timeouts, else 500.
pub fn failed_status(error: &UpstreamError) -> u16 {
    let code = error.code_str().unwrap_or_default();
    match code.as_str() {
        "rate_limit_exceeded" | "rate_limit_error" | "insufficient_quota" => 429,
        "invalid_prompt"
        | "invalid_request"
        | "invalid_request_error"
        | "context_length_exceeded" => 400,
        c if c.contains("timeout") || c.contains("timed_out") => 504,
        _ => 500,
    }
}

/// A unary (non-streaming) answer translated into the client's dialect, with what the filter
/// reports about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnaryAnswer {
    /// HTTP status to answer with (the upstream's 200, or the failure's status).
    pub status: u16,
    /// The client's JSON body.
    pub body: Vec<u8>,
    /// How the response ended (`None` while it is still running, or when the upstream body was
    /// not a Responses object).
    pub outcome: Option<OutcomeKind>,
    /// Token usage, when the upstream reported it.
    pub usage: Option<Usage>,
}

/// Terminal outcome names, as counted in metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// The request was refused by the filter (400, 413, 415): nothing went upstream.
    Rejected,
    /// A non-2xx answer, from the upstream or from Envoy itself (503, 504, …).
    ErrorStatus,
    /// A unary answer over `max_response_bytes`.
    ResponseTooLarge,
    /// An answer the filter cannot read: compressed, not JSON or SSE, not a Responses object.
    UnexpectedAnswer,
}

impl OutcomeKind {
    /// All kinds, for defining metrics.
    pub const ALL: [OutcomeKind; 12] = [
        OutcomeKind::Completed,
        OutcomeKind::Incomplete,
        OutcomeKind::ContentFilter,
        OutcomeKind::Failed,
        OutcomeKind::Cancelled,
        OutcomeKind::Truncated,
        OutcomeKind::EventTooLarge,
        OutcomeKind::InvalidEvent,
        OutcomeKind::Rejected,
        OutcomeKind::ErrorStatus,
        OutcomeKind::ResponseTooLarge,
        OutcomeKind::UnexpectedAnswer,
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
            OutcomeKind::Rejected => "rejected",
            OutcomeKind::ErrorStatus => "error_status",
            OutcomeKind::ResponseTooLarge => "response_too_large",
            OutcomeKind::UnexpectedAnswer => "unexpected_answer",
        }
    }

    /// The kind of an outcome.
    pub fn of(outcome: &TerminalOutcome) -> OutcomeKind {
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
