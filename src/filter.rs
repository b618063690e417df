//! proxy-wasm glue: the root context (configuration, metrics) and one HTTP context per request.
//! No mapping logic lives here: each body chunk goes through [`Transcoder::feed`] and is replaced
//! by what it returns.

use crate::config::{Config, Dialect};
use crate::error_body;
use crate::outcome::OutcomeKind;
use crate::resume;
use crate::transcoder::{Stats, Transcoder};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};
use std::rc::Rc;

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
    passthrough: u32,
    compressed_passthrough: u32,
    error_bodies: u32,
    events_in: u32,
    events_out: u32,
    invalid_events: u32,
    unknown_events: u32,
    outcomes: [u32; OutcomeKind::ALL.len()],
}

impl Metrics {
    fn define() -> Metrics {
        let counter = |name: &str| {
            hostcalls::define_metric(MetricType::Counter, &format!("{METRIC_PREFIX}{name}"))
                .unwrap_or(0)
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
            passthrough: counter("passthrough"),
            compressed_passthrough: counter("passthrough_compressed"),
            error_bodies: counter("error_bodies_rewritten"),
            events_in: counter("events_in"),
            events_out: counter("events_out"),
            invalid_events: counter("invalid_events"),
            unknown_events: counter("unknown_events"),
            outcomes: OutcomeKind::ALL.map(|kind| counter(&format!("outcome.{}", kind.name()))),
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

    fn record(&self, stats: &Stats) {
        Metrics::add(self.events_in, stats.events_in);
        Metrics::add(self.events_out, stats.events_out);
        Metrics::add(self.invalid_events, stats.invalid_events);
        Metrics::add(self.unknown_events, stats.unknown_events);
        if let Some(outcome) = stats.outcome {
            let slot = OutcomeKind::ALL.iter().position(|k| *k == outcome);
            if let Some(id) = slot.and_then(|i| self.outcomes.get(i)) {
                Metrics::add(*id, 1);
            }
        }
    }
}

/// Root context: holds the validated configuration and the metric ids.
#[derive(Default)]
struct Root {
    config: Rc<Config>,
    metrics: Rc<Metrics>,
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

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Request {
            config: Rc::clone(&self.config),
            metrics: Rc::clone(&self.metrics),
            dialect: Dialect::Passthrough,
            body: Body::Untouched,
            out: Vec::new(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// What happens to the response body of one request.
enum Body {
    /// Passed through byte-identical.
    Untouched,
    /// An SSE stream rewritten chunk by chunk.
    Stream(Box<Transcoder>),
    /// A non-2xx JSON error body, buffered and rewritten at its end.
    Error { status: u16 },
}

/// Per-request context.
struct Request {
    config: Rc<Config>,
    metrics: Rc<Metrics>,
    dialect: Dialect,
    body: Body,
    /// Output buffer reused across body chunks.
    out: Vec<u8>,
}

impl Context for Request {}

impl HttpContext for Request {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let header = self.get_http_request_header(&self.config.dialect_header);
        let path = self.get_http_request_header(":path").unwrap_or_default();
        self.dialect = self.config.select_dialect(header.as_deref(), &path);
        if header.is_some() {
            self.set_http_request_header(&self.config.dialect_header, None);
        }
        if self.dialect != Dialect::Passthrough {
            // The body must arrive uncompressed to be rewritten.
            self.set_http_request_header("accept-encoding", None);
        }
        let method = self.get_http_request_header(":method").unwrap_or_default();
        if self.dialect == Dialect::Interactions && method == "GET" {
            if let Some(responses_path) = resume::responses_path(&path) {
                self.set_http_request_header(":path", Some(&responses_path));
            }
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if self.dialect == Dialect::Passthrough {
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
        if compressed {
            Metrics::add(self.metrics.compressed_passthrough, 1);
            return Action::Continue;
        }
        if success && content_type.starts_with("text/event-stream") {
            let Some(transcoder) = Transcoder::new(self.dialect, self.config.stream) else {
                Metrics::add(self.metrics.passthrough, 1);
                return Action::Continue;
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
            // Envoy buffers the error body until its end, where it is rewritten whole.
            Body::Error { .. } if !end_of_stream => return Action::Pause,
            Body::Error { .. } | Body::Stream(_) => {}
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
        Action::Continue
    }

    fn on_log(&mut self) {
        if let Body::Stream(transcoder) = &self.body {
            self.metrics.record(&transcoder.stats());
            if !transcoder.is_finished() {
                // Reset by the upstream or the client before the stream could end in-band.
                Metrics::add(self.metrics.streams_aborted, 1);
            }
        }
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        if let Body::Stream(_) = self.body {
            Metrics::gauge(self.metrics.streams_active, -1);
        }
    }
}
