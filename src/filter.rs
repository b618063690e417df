//! proxy-wasm glue: the root context (configuration, metrics) and one HTTP context per request.
//! No mapping logic lives here: a client request goes through its dialect's `request::translate`,
//! each response body chunk through [`Transcoder::feed`], a unary answer through its dialect's
//! `unary::translate`, and the result replaces what Envoy holds.
//!
//! Translating a request (or a unary answer) needs its whole body before its headers leave:
//! the path, `content-length` and, for answers, `:status` depend on it. Proxy-Wasm 0.2.1 has no
//! such pause; Envoy (1.35+) provides one when the Wasm `PluginConfig` sets
//! `allow_on_headers_stop_iteration: true` — without it, a `Pause` from a headers callback stops
//! the body callbacks too and the request would hang. So each worker finds out which host it
//! runs on ([`HeaderHold`]): the first translated request pauses its headers; a body callback
//! proves the pause works; if none comes within [`HOLD_PROBE`], the request is resumed and the
//! worker forwards headers at once from then on (translated bodies then go upstream chunked, and
//! a unary answer keeps the upstream's status).

use crate::config::{Config, Dialect};
use crate::outcome::{OutcomeKind, UnaryAnswer};
use crate::request::{Rejection, Translated};
use crate::stop::StopSequences;
use crate::telemetry::{Report, PROPERTY_PREFIX};
use crate::transcoder::{Stats, Transcoder};
use crate::{chat, error_body, interactions, resume};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, SystemTime};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// Prefix of every metric name (Envoy shows them under `wasmcustom.` on `/stats`).
const METRIC_PREFIX: &str = "responses_transcoder.";

/// Ids of the counters and the gauge this filter exports.
#[derive(Debug, Default)]
struct Metrics {
    streams_active: u32,
    streams_aborted: u32,
    streams_chat: u32,
    streams_interactions: u32,
    unary_chat: u32,
    unary_interactions: u32,
    requests_translated: u32,
    requests_rejected: u32,
    passthrough: u32,
    compressed_passthrough: u32,
    error_bodies: u32,
    events_in: u32,
    events_out: u32,
    invalid_events: u32,
    unknown_events: u32,
    tokens: [u32; 4],
    outcomes: [u32; OutcomeKind::ALL.len()],
    chat_outcomes: [u32; OutcomeKind::ALL.len()],
    interactions_outcomes: [u32; OutcomeKind::ALL.len()],
}

impl Metrics {
    fn define() -> Metrics {
        let counter = |name: &str| {
            hostcalls::define_metric(MetricType::Counter, &format!("{METRIC_PREFIX}{name}"))
                .unwrap_or(0)
        };
        let outcomes = |prefix: &str| {
            OutcomeKind::ALL.map(|kind| counter(&format!("{prefix}{}", kind.name())))
        };
        Metrics {
            streams_active: hostcalls::define_metric(
                MetricType::Gauge,
                &format!("{METRIC_PREFIX}streams.active"),
            )
            .unwrap_or(0),
            streams_aborted: counter("streams.aborted"),
            streams_chat: counter("streams.chat"),
            streams_interactions: counter("streams.interactions"),
            unary_chat: counter("unary.chat"),
            unary_interactions: counter("unary.interactions"),
            requests_translated: counter("requests.translated"),
            requests_rejected: counter("requests.rejected"),
            passthrough: counter("passthrough"),
            compressed_passthrough: counter("passthrough_compressed"),
            error_bodies: counter("error_bodies_rewritten"),
            events_in: counter("events_in"),
            events_out: counter("events_out"),
            invalid_events: counter("invalid_events"),
            unknown_events: counter("unknown_events"),
            tokens: ["input", "output", "cached", "reasoning"]
                .map(|kind| counter(&format!("tokens.{kind}"))),
            outcomes: outcomes("outcome."),
            chat_outcomes: outcomes("chat.outcome."),
            interactions_outcomes: outcomes("interactions.outcome."),
        }
    }

    fn add(id: u32, n: u64) {
        if n > 0 {
            // A failed metric update must never disturb the stream.
            let _ = hostcalls::increment_metric(id, i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    fn gauge(id: u32, delta: i64) {
        let _ = hostcalls::increment_metric(id, delta);
    }

    fn record_stream(&self, stats: &Stats) {
        Metrics::add(self.events_in, stats.events_in);
        Metrics::add(self.events_out, stats.events_out);
        Metrics::add(self.invalid_events, stats.invalid_events);
        Metrics::add(self.unknown_events, stats.unknown_events);
    }

    /// Counts an answer's outcome (overall and per dialect) and its tokens.
    fn record_report(&self, report: &Report) {
        if let Some(outcome) = report.outcome {
            let per_dialect = match report.dialect {
                Dialect::Interactions => &self.interactions_outcomes,
                Dialect::Chat | Dialect::Passthrough => &self.chat_outcomes,
            };
            if let Some(slot) = OutcomeKind::ALL.iter().position(|k| *k == outcome) {
                for ids in [&self.outcomes, per_dialect] {
                    if let Some(id) = ids.get(slot) {
                        Metrics::add(*id, 1);
                    }
                }
            }
        }
        if let Some(usage) = report.usage {
            let counts = [
                usage.input_tokens,
                usage.output_tokens,
                usage.cached_tokens().unwrap_or(0),
                usage.reasoning_tokens().unwrap_or(0),
            ];
            for (id, n) in self.tokens.iter().zip(counts) {
                Metrics::add(*id, n);
            }
        }
    }
}

/// How long a request's headers wait for its first body callback before the worker concludes
/// that Envoy does not deliver body callbacks to a paused stream.
const HOLD_PROBE: Duration = Duration::from_millis(1000);

/// What Envoy does, on this worker, with a `Pause` from a headers callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderHold {
    /// Not known yet: the next translated request finds out.
    Unknown,
    /// Headers wait and body callbacks still come (`allow_on_headers_stop_iteration: true`).
    Holds,
    /// Everything stops: headers must be forwarded before the body is seen.
    StopsAll,
}

/// State shared by the root context and the request contexts of one worker.
#[derive(Debug)]
struct Worker {
    hold: Cell<HeaderHold>,
    /// Requests whose headers are paused while `hold` is unknown, with when they paused.
    probing: RefCell<Vec<(u32, SystemTime)>>,
    /// Probing requests the root resumed (their headers went on without their body).
    resumed: RefCell<Vec<u32>>,
}

impl Default for Worker {
    fn default() -> Self {
        Worker {
            hold: Cell::new(HeaderHold::Unknown),
            probing: RefCell::new(Vec::new()),
            resumed: RefCell::new(Vec::new()),
        }
    }
}

/// Root context: holds the validated configuration, the metric ids and the worker's state.
#[derive(Default)]
struct Root {
    config: Rc<Config>,
    metrics: Rc<Metrics>,
    worker: Rc<Worker>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        match Config::parse(&bytes) {
            Ok(config) => {
                self.config = Rc::new(config);
                self.metrics = Rc::new(Metrics::define());
                true
            }
            Err(message) => {
                log::error!("responses-transcoder: rejected plugin configuration: {message}");
                false
            }
        }
    }

    fn on_tick(&mut self) {
        // Requests paused longer than the probe: Envoy stops their body too. Resume them with
        // their headers as they are (path rewritten, length removed) and stop pausing.
        let now = self.get_current_time();
        let expired: Vec<u32> = {
            let mut probing = self.worker.probing.borrow_mut();
            let (expired, waiting): (Vec<_>, Vec<_>) = probing.drain(..).partition(|(_, since)| {
                now.duration_since(*since).unwrap_or_default() >= HOLD_PROBE
            });
            *probing = waiting;
            expired.into_iter().map(|(id, _)| id).collect()
        };
        if !expired.is_empty() && self.worker.hold.get() == HeaderHold::Unknown {
            self.worker.hold.set(HeaderHold::StopsAll);
            log::warn!(
                "responses-transcoder: Envoy does not deliver the body of a request whose headers \
                 are paused; forwarding headers first from now on (set \
                 allow_on_headers_stop_iteration: true on the Wasm PluginConfig to keep \
                 content-length and unary error statuses exact)"
            );
        }
        for id in expired {
            self.worker.resumed.borrow_mut().push(id);
            if hostcalls::set_effective_context(id).is_ok() {
                let _ = hostcalls::resume_http_request();
            }
        }
        if self.worker.probing.borrow().is_empty() {
            let _ = hostcalls::set_tick_period(Duration::ZERO);
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Request {
            id: context_id,
            worker: Rc::clone(&self.worker),
            config: Rc::clone(&self.config),
            metrics: Rc::clone(&self.metrics),
            dialect: Dialect::Passthrough,
            request: RequestSide::Untouched,
            body: Body::Untouched,
            reported: false,
            stop: StopSequences::default(),
            out: Vec::new(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// What happens to the request of one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestSide {
    /// Forwarded as the client sent it; its answer's usage placement is unknown.
    Untouched,
    /// A Chat or Interactions request being buffered for translation; `held` when its headers
    /// wait for the translated body.
    Buffering { held: bool },
    /// Rewritten for the Responses API (or an Interactions resume / get mapped onto it): a 2xx
    /// JSON answer is a Responses object to translate. `include_usage` is what a Chat request
    /// asked for (`None` when there was no request body to read).
    Translated { include_usage: Option<bool> },
    /// Refused with a local reply in the client's dialect; nothing went upstream.
    Refused,
}

/// What happens to the response body of one request.
enum Body {
    /// Passed through byte-identical.
    Untouched,
    /// An SSE stream rewritten chunk by chunk.
    Stream(Box<Transcoder>),
    /// A 2xx JSON Responses object, buffered and translated at its end (headers held meanwhile).
    Unary,
    /// A non-2xx JSON error body, buffered and rewritten at its end.
    Error { status: u16 },
}

/// Per-request context.
struct Request {
    id: u32,
    worker: Rc<Worker>,
    config: Rc<Config>,
    metrics: Rc<Metrics>,
    dialect: Dialect,
    request: RequestSide,
    body: Body,
    /// Whether this exchange's report went to the metrics and the access-log properties.
    reported: bool,
    /// The translated request's stop sequences, honoured on its answer.
    stop: StopSequences,
    /// Output buffer reused across body chunks.
    out: Vec<u8>,
}

impl Context for Request {}

impl HttpContext for Request {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let header = self.get_http_request_header(&self.config.dialect_header);
        let path = self.get_http_request_header(":path").unwrap_or_default();
        self.dialect = self.config.select_dialect(header.as_deref(), &path);
        if header.is_some() {
            self.set_http_request_header(&self.config.dialect_header, None);
        }
        if self.dialect == Dialect::Passthrough {
            return Action::Continue;
        }
        // The response must arrive uncompressed to be rewritten.
        self.set_http_request_header("accept-encoding", None);
        let method = self.get_http_request_header(":method").unwrap_or_default();
        if self.dialect == Dialect::Interactions && method == "GET" {
            if let Some(responses_path) = resume::responses_path(&path) {
                self.set_http_request_header(":path", Some(&responses_path));
                self.request = RequestSide::Translated {
                    include_usage: None,
                };
            }
            return Action::Continue;
        }
        if !(self.config.translate_requests
            && method == "POST"
            && self.config.is_create_path(self.dialect, &path))
        {
            return Action::Continue;
        }
        if end_of_stream {
            return self.refuse(&Rejection::malformed("the request has no body"));
        }
        let declared = self
            .get_http_request_header("content-length")
            .and_then(|n| n.trim().parse::<usize>().ok());
        if declared.is_some_and(|n| n > self.config.max_request_bytes) {
            return self.refuse(&Rejection::too_large(self.config.max_request_bytes));
        }
        self.set_http_request_header(":path", Some(&self.config.responses_path));
        // The translated body has another length: set again below if the headers can wait.
        self.set_http_request_header("content-length", None);
        let hold = self.worker.hold.get();
        self.request = RequestSide::Buffering {
            held: hold != HeaderHold::StopsAll,
        };
        match hold {
            HeaderHold::StopsAll => Action::Continue,
            HeaderHold::Holds => Action::Pause,
            HeaderHold::Unknown => {
                let now = self.get_current_time();
                self.worker.probing.borrow_mut().push((self.id, now));
                let _ = hostcalls::set_tick_period(HOLD_PROBE / 4);
                Action::Pause
            }
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let RequestSide::Buffering { held } = self.request else {
            return Action::Continue;
        };
        let held = held && self.learn_hold();
        if body_size > self.config.max_request_bytes {
            return self.refuse(&Rejection::too_large(self.config.max_request_bytes));
        }
        if !end_of_stream {
            // Envoy buffers the body until its end.
            return Action::Pause;
        }
        let body = self.get_http_request_body(0, body_size).unwrap_or_default();
        let translated = match self.dialect {
            Dialect::Chat => chat::request::translate(&body, &self.config.request),
            Dialect::Interactions => interactions::request::translate(&body, &self.config.request),
            Dialect::Passthrough => return Action::Continue,
        };
        match translated {
            Ok(Translated {
                body: upstream,
                include_usage,
                stop,
                ..
            }) => {
                self.stop = stop;
                self.set_http_request_body(0, body_size, &upstream);
                if held {
                    let length = upstream.len().to_string();
                    self.set_http_request_header("content-length", Some(&length));
                }
                self.request = RequestSide::Translated {
                    include_usage: Some(include_usage),
                };
                Metrics::add(self.metrics.requests_translated, 1);
                Action::Continue
            }
            Err(rejection) => self.refuse(&rejection),
        }
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if self.dialect == Dialect::Passthrough || self.request == RequestSide::Refused {
            return Action::Continue;
        }
        let status = self
            .get_http_response_header(":status")
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or(0);
        let content_type = self
            .get_http_response_header("content-type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let compressed = self
            .get_http_response_header("content-encoding")
            .is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"));
        let success = (200..300).contains(&status);
        let translated = matches!(self.request, RequestSide::Translated { .. });
        if compressed {
            Metrics::add(self.metrics.compressed_passthrough, 1);
        } else if success && content_type.starts_with("text/event-stream") {
            self.start_stream();
        } else if success && content_type.contains("json") && translated && !end_of_stream {
            self.body = Body::Unary;
            self.set_http_response_header("content-length", None);
            if self.worker.hold.get() == HeaderHold::Holds {
                // Held until the answer is translated: its status and length change.
                return Action::Pause;
            }
        } else if !success && content_type.contains("json") {
            self.body = Body::Error { status };
            self.set_http_response_header("content-length", None);
            self.set_http_response_header("content-type", Some("application/json"));
        } else {
            Metrics::add(self.metrics.passthrough, 1);
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        match &self.body {
            Body::Untouched => return Action::Continue,
            // Envoy buffers these bodies until their end, where they are rewritten whole.
            Body::Error { .. } | Body::Unary if !end_of_stream => return Action::Pause,
            Body::Error { .. } | Body::Unary | Body::Stream(_) => {}
        }
        let chunk = match body_size {
            0 => Vec::new(),
            n => self.get_http_response_body(0, n).unwrap_or_default(),
        };
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        match &mut self.body {
            Body::Stream(transcoder) => {
                transcoder.feed(&chunk, &mut out);
                if end_of_stream {
                    transcoder.finish(&mut out);
                }
            }
            Body::Unary => {
                let answer = self.unary_answer(&chunk);
                if self.worker.hold.get() == HeaderHold::Holds {
                    // The headers waited (see on_http_response_headers): they can still change.
                    self.set_http_response_header(":status", Some(&answer.status.to_string()));
                    let length = answer.body.len().to_string();
                    self.set_http_response_header("content-length", Some(&length));
                }
                self.report(Report::of_unary(self.dialect, &chunk, &answer));
                out = answer.body;
            }
            Body::Error { status } => match error_body::rewrite(self.dialect, *status, &chunk) {
                Some(rewritten) => {
                    Metrics::add(self.metrics.error_bodies, 1);
                    out = rewritten;
                }
                None => out.extend_from_slice(&chunk),
            },
            Body::Untouched => {}
        }
        self.set_http_response_body(0, body_size, &out);
        self.out = out;
        if end_of_stream {
            self.report_stream();
        }
        Action::Continue
    }

    fn on_log(&mut self) {
        if let Body::Stream(transcoder) = &self.body {
            if !transcoder.is_finished() {
                // Reset by the upstream or the client before the stream could end in-band.
                Metrics::add(self.metrics.streams_aborted, 1);
            }
        }
        self.report_stream();
    }
}

impl Request {
    /// Called at each body callback of a request whose headers were paused: whether they are
    /// still held (else the root resumed them, and they went upstream as they were). A body
    /// callback while held proves that this worker's Envoy holds headers.
    fn learn_hold(&mut self) -> bool {
        self.worker
            .probing
            .borrow_mut()
            .retain(|(id, _)| *id != self.id);
        let mut resumed = self.worker.resumed.borrow_mut();
        if let Some(at) = resumed.iter().position(|id| *id == self.id) {
            resumed.swap_remove(at);
            self.request = RequestSide::Buffering { held: false };
            return false;
        }
        self.worker.hold.set(HeaderHold::Holds);
        true
    }

    /// Answers the client with `rejection` in its dialect; nothing goes upstream.
    fn refuse(&mut self, rejection: &Rejection) -> Action {
        log::info!(
            "responses-transcoder: refused a {} request: {}",
            self.dialect.name(),
            rejection.message
        );
        self.request = RequestSide::Refused;
        Metrics::add(self.metrics.requests_rejected, 1);
        let body = error_body::rejection(self.dialect, rejection);
        self.send_http_response(
            u32::from(rejection.status),
            vec![("content-type", "application/json")],
            Some(&body),
        );
        Action::Pause
    }

    /// Sets up the transcoder of an SSE answer.
    fn start_stream(&mut self) {
        let include_usage = match self.request {
            RequestSide::Translated { include_usage } => include_usage,
            RequestSide::Untouched | RequestSide::Buffering { .. } | RequestSide::Refused => None,
        };
        let options = self.config.stream_options(include_usage);
        let Some(transcoder) = Transcoder::new(self.dialect, options)
            .map(|transcoder| transcoder.with_stop_sequences(&self.stop))
        else {
            Metrics::add(self.metrics.passthrough, 1);
            return;
        };
        self.body = Body::Stream(Box::new(transcoder));
        Metrics::gauge(self.metrics.streams_active, 1);
        let streams = match self.dialect {
            Dialect::Interactions => self.metrics.streams_interactions,
            Dialect::Chat | Dialect::Passthrough => self.metrics.streams_chat,
        };
        Metrics::add(streams, 1);
        // Headers cannot change once this returns: the body's length is about to change.
        self.set_http_response_header("content-length", None);
        self.set_http_response_header("content-type", Some("text/event-stream; charset=utf-8"));
    }

    /// Translates a unary Responses answer into the client's dialect.
    fn unary_answer(&self, body: &[u8]) -> UnaryAnswer {
        let options = self.config.stream_options(None);
        let (answer, counter) = match self.dialect {
            Dialect::Interactions => (
                interactions::unary::translate(body, &options, &self.stop),
                self.metrics.unary_interactions,
            ),
            Dialect::Chat | Dialect::Passthrough => (
                chat::unary::translate(body, &options, &self.stop),
                self.metrics.unary_chat,
            ),
        };
        Metrics::add(counter, 1);
        answer
    }

    /// Reports a stream once: its counters, and its outcome, tokens and access-log properties.
    fn report_stream(&mut self) {
        if let Body::Stream(transcoder) = &self.body {
            if !self.reported {
                self.metrics.record_stream(&transcoder.stats());
                let report = Report::of_stream(self.dialect, transcoder);
                self.report(report);
            }
        }
    }

    /// Records an answer's report in the metrics and as access-log properties, once.
    fn report(&mut self, report: Report) {
        if std::mem::replace(&mut self.reported, true) {
            return;
        }
        self.metrics.record_report(&report);
        for (name, value) in report.properties() {
            let path = format!("{PROPERTY_PREFIX}{name}");
            self.set_property(vec![path.as_str()], Some(value.as_bytes()));
        }
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        if let Body::Stream(_) = self.body {
            Metrics::gauge(self.metrics.streams_active, -1);
        }
        // A request that ended while its headers waited (the client went away) is no probe.
        self.worker
            .probing
            .borrow_mut()
            .retain(|(id, _)| *id != self.id);
        self.worker.resumed.borrow_mut().retain(|id| *id != self.id);
    }
}
