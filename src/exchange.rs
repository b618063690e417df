//! One HTTP exchange through the filter — client request, upstream (or Envoy's own) answer —
//! as a state machine the proxy-wasm glue drives, the way Envoy's own filters are written and
//! unit-tested: callbacks in ([`Exchange::request_headers`], [`Exchange::request_body`],
//! [`Exchange::response_headers`], [`Exchange::response_body`], [`Exchange::done`], and the
//! worker's [`Worker::expire`] on a timer tick), host calls out through [`Host`], which
//! `filter.rs` implements with proxy-wasm and the tests with a simulated Envoy.
//!
//! What each envelope case gets (docs/envelope.md):
//!
//! | case | what the client gets |
//! |---|---|
//! | request of a selected dialect | `accept-encoding` removed (the answer must be readable) |
//! | create request (`route`) | body buffered, translated, sent to `responses_path` with its `content-length` when headers can wait; the client's path kept in `x-envoy-original-path` (as Envoy's own rewrites do) |
//! | request body refused by the translator | 400 in the dialect, nothing upstream |
//! | an endpoint of the dialect's API with no Responses equivalent (`route`: Anthropic's `count_tokens`) | 404 in the dialect, nothing upstream (after the body is read when headers can wait) |
//! | request over `max_request_bytes`, or `content-encoding` other than identity | 413 / 415 in the dialect, after the body has been read and dropped (so a client still sending gets the answer, not a reset) when headers can wait; at once otherwise |
//! | SSE answer to a stream | transcoded chunk by chunk; keepalives passed on as `: keepalive` |
//! | SSE answer to a unary call | the unary object of the stream's terminal response |
//! | JSON `Response` to a stream | a stream in the dialect carrying it (text, tool calls, terminal, usage) |
//! | JSON `Response` to a unary call | the unary object; a failure with its non-2xx status when headers can wait |
//! | unary answer over `max_response_bytes` | the dialect's 502 |
//! | compressed answer, or a 2xx that is neither JSON nor SSE | the dialect's 502, naming what came |
//! | non-2xx (the upstream's, or Envoy's own 413 / 503 / 504) | the dialect's error body, status kept |
//!
//! **Header hold.** A request's headers can wait for its translated body only where Envoy runs
//! the plugin with `allow_on_headers_stop_iteration: true`; elsewhere a `Pause` from a headers
//! callback stops the body callbacks too. The configuration states which host this is
//! (`header_hold`: `on`, `off`), or leaves it to [`Worker`] (`detect`): a body callback while
//! a request's headers wait proves the hold, for good; a request whose body has not come within
//! [`HOLD_PROBE`] is resumed with its headers forwarded first, and that is all it changes — a
//! slow client never changes how later requests are handled.

use crate::config::{Config, Dialect, HeaderHold};
use crate::outcome::{OutcomeKind, UnaryAnswer};
use crate::request::{Rejection, Translated};
use crate::responses::reshape;
use crate::route::{route, AnswerKind, Route};
use crate::stop::StopSequences;
use crate::telemetry::{Counter, Report};
use crate::transcoder::Transcoder;
use crate::{anthropic, chat, error_body, interactions};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

/// How long a request's headers wait for its first body callback (`header_hold: "detect"`)
/// before they are forwarded without it.
pub const HOLD_PROBE: Duration = Duration::from_millis(1000);

/// How many bytes past `max_request_bytes` a refused request's body is read (and dropped) so that
/// the client gets its answer; a longer body gets the answer at once.
pub const MAX_DRAIN_BYTES: usize = 64 << 20;

/// Envoy as one exchange sees it: the headers and body it holds, its local reply, metrics and
/// filter state. `size` is the body size the callback was given, or [`WHOLE_BODY`].
pub trait Host {
    /// A request header (pseudo-headers included: `:path`, `:method`).
    fn request_header(&self, name: &str) -> Option<String>;
    /// Sets (`Some`) or removes (`None`) a request header.
    fn set_request_header(&mut self, name: &str, value: Option<&str>);
    /// The request body Envoy holds.
    fn request_body(&self, size: usize) -> Vec<u8>;
    /// Replaces the request body Envoy holds.
    fn set_request_body(&mut self, size: usize, body: &[u8]);
    /// A response header (`:status` included).
    fn response_header(&self, name: &str) -> Option<String>;
    /// Sets (`Some`) or removes (`None`) a response header.
    fn set_response_header(&mut self, name: &str, value: Option<&str>);
    /// The response body Envoy holds.
    fn response_body(&self, size: usize) -> Vec<u8>;
    /// Replaces the response body Envoy holds.
    fn set_response_body(&mut self, size: usize, body: &[u8]);
    /// Answers the client with a JSON body; nothing (more) goes upstream.
    fn send_reply(&mut self, status: u16, body: &[u8]);
    /// Adds `n` to a metric (a negative `n` only for the gauge).
    fn add(&mut self, counter: Counter, n: i64);
    /// Sets an access-log property (filter state), name without
    /// [`crate::telemetry::PROPERTY_PREFIX`].
    fn set_property(&mut self, name: &str, value: &str);
    /// Asks for [`Worker::expire`] to be called about every `period`.
    fn tick_every(&mut self, period: Duration);
}

/// The `size` that stands for all of the body Envoy holds (trailers callbacks are not told it).
pub const WHOLE_BODY: usize = usize::MAX;

/// What a callback tells Envoy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on to the next filter.
    Continue,
    /// Stop here (headers: wait; body: buffer) until the filter resumes or the next callback.
    Pause,
}

/// What one worker knows about Envoy's header hold, shared by its exchanges.
#[derive(Debug, Default)]
pub struct Worker {
    /// A paused request's body arrived: on this worker Envoy holds headers.
    holds: Cell<bool>,
    /// Exchanges whose headers wait on a probe, with when they started waiting.
    probing: RefCell<Vec<(u32, Duration)>>,
    /// Exchanges resumed by an expired probe, until they see their body.
    resumed: RefCell<Vec<u32>>,
    /// Whether the expired-probe warning was logged.
    warned: Cell<bool>,
}

impl Worker {
    /// The exchanges whose probe has expired at `now`: the caller resumes their headers. No
    /// conclusion is drawn for later requests (a slow client looks the same as a host that does
    /// not hold headers).
    pub fn expire(&self, now: Duration) -> Vec<u32> {
        let mut probing = self.probing.borrow_mut();
        let mut expired = Vec::new();
        probing.retain(|(id, since)| {
            let due = now.saturating_sub(*since) >= HOLD_PROBE;
            if due {
                expired.push(*id);
            }
            !due
        });
        if !expired.is_empty() && !self.warned.replace(true) {
            log::warn!(
                "responses-transcoder: a request's headers waited {} ms for its body and were \
                 forwarded without it; if this Envoy runs the filter without \
                 allow_on_headers_stop_iteration, set \"header_hold\": \"off\" (if it runs with \
                 it, \"on\") so that no request waits",
                HOLD_PROBE.as_millis()
            );
        }
        self.resumed.borrow_mut().extend(&expired);
        expired
    }

    /// Whether any exchange is waiting on a probe (the timer is needed).
    pub fn probing(&self) -> bool {
        !self.probing.borrow().is_empty()
    }

    /// Forgets an exchange that ended.
    fn forget(&self, id: u32) {
        self.probing.borrow_mut().retain(|(probe, _)| *probe != id);
        self.resumed.borrow_mut().retain(|resumed| *resumed != id);
    }

    /// Called at the first body callback of an exchange whose headers were paused: whether they
    /// still wait (else an expired probe resumed them). Waiting headers prove the hold.
    fn body_arrived(&self, id: u32) -> bool {
        let resumed = self.resumed.borrow().contains(&id);
        self.forget(id);
        if !resumed {
            self.holds.set(true);
        }
        !resumed
    }
}

/// The request side of one exchange.
#[derive(Debug)]
enum RequestState {
    /// Forwarded as it came (or rewritten without a body to read).
    Forwarded,
    /// A create request's body being buffered for translation; `held` while its headers wait.
    Reading { held: bool },
    /// A refused request's body being read and dropped; the refusal answers it at its end.
    Draining {
        received: usize,
        rejection: Box<Rejection>,
    },
    /// Answered by the filter; nothing (more) goes upstream.
    Refused,
}

/// The response side of one exchange.
enum ResponseState {
    /// Passed through as it comes.
    Untouched,
    /// An SSE stream rewritten chunk by chunk.
    Stream(Box<Transcoder>),
    /// Buffered to its end, then rewritten whole; `held` when its headers wait for it.
    Buffered { kind: Buffered, held: bool },
    /// Replaced by the filter's own body (`body`, sent with the next chunk); the rest is dropped.
    Replaced { body: Vec<u8> },
}

/// What a buffered answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Buffered {
    /// A JSON `Response` for a unary call.
    Object,
    /// An SSE stream for a unary call.
    StreamForUnary,
    /// A JSON `Response` for a stream.
    ObjectForStream,
    /// The answer to a deletion.
    Deletion,
    /// A non-2xx answer with this status.
    Error(u16),
}

/// One exchange: the per-request context's whole state.
pub struct Exchange {
    id: u32,
    config: Rc<Config>,
    worker: Rc<Worker>,
    dialect: Dialect,
    request: RequestState,
    /// What the client asked for, once its request was read or rewritten (`None`: not read).
    asked: Option<Asked>,
    response: ResponseState,
    /// Whether this exchange's report went to the metrics and the access log.
    reported: bool,
    /// Output buffer reused across body chunks.
    out: Vec<u8>,
}

/// What a read (or rewritten) request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Asked {
    kind: AnswerKind,
    /// Chat: whether the request asked for the usage chunk.
    include_usage: Option<bool>,
    /// The stop sequences the answer honours.
    stop: StopSequences,
}

impl Exchange {
    /// A new exchange with the context id `id` (the id [`Worker::expire`] returns).
    pub fn new(id: u32, config: Rc<Config>, worker: Rc<Worker>) -> Exchange {
        Exchange {
            id,
            config,
            worker,
            dialect: Dialect::Passthrough,
            request: RequestState::Forwarded,
            asked: None,
            response: ResponseState::Untouched,
            reported: false,
            out: Vec::new(),
        }
    }

    /// The request headers arrived (`end_of_stream`: there is no body); `now` is the time.
    pub fn request_headers(
        &mut self,
        host: &mut impl Host,
        end_of_stream: bool,
        now: Duration,
    ) -> Flow {
        let config = Rc::clone(&self.config);
        let header = host.request_header(&config.dialect_header);
        let path = host.request_header(":path").unwrap_or_default();
        self.dialect = config.select_dialect(header.as_deref(), &path);
        if header.is_some() {
            host.set_request_header(&config.dialect_header, None);
        }
        if self.dialect == Dialect::Passthrough {
            return Flow::Continue;
        }
        // The answer must arrive uncompressed to be rewritten.
        host.set_request_header("accept-encoding", None);
        let method = host.request_header(":method").unwrap_or_default();
        match route(self.dialect, &method, &path) {
            Route::Forward => Flow::Continue,
            Route::Rewrite { path: to, kind } => {
                rewrite_path(host, &path, &to);
                self.asked = Some(Asked {
                    kind,
                    include_usage: None,
                    stop: StopSequences::default(),
                });
                Flow::Continue
            }
            Route::Create if !config.translate_requests => Flow::Continue,
            Route::Create => self.create_headers(host, &config, &path, end_of_stream, now),
            Route::Refuse(rejection) => {
                let holds = config.header_hold == HeaderHold::On
                    || (config.header_hold == HeaderHold::Detect && self.worker.holds.get());
                if end_of_stream || !holds {
                    return self.refuse(host, &rejection);
                }
                // Answered once the body is read, so that a client still sending gets it.
                self.request = RequestState::Draining {
                    received: 0,
                    rejection,
                };
                Flow::Pause
            }
        }
    }

    /// Whether Envoy is known to hold headers while the body comes: stated, or detected on this
    /// worker.
    fn headers_can_wait(&self) -> bool {
        match self.config.header_hold {
            HeaderHold::On => true,
            HeaderHold::Off => false,
            HeaderHold::Detect => self.worker.holds.get(),
        }
    }

    /// The headers of a create request: refuse what cannot be read, else wait for the body.
    fn create_headers(
        &mut self,
        host: &mut impl Host,
        config: &Config,
        path: &str,
        end_of_stream: bool,
        now: Duration,
    ) -> Flow {
        if end_of_stream {
            return self.refuse(host, &Rejection::malformed("the request has no body"));
        }
        let holds = self.headers_can_wait();
        let encoding = host
            .request_header("content-encoding")
            .filter(|e| !e.trim().eq_ignore_ascii_case("identity"));
        let declared = host
            .request_header("content-length")
            .and_then(|n| n.trim().parse::<usize>().ok());
        let refusal = match (encoding, declared) {
            (Some(encoding), _) => Some(Rejection::encoded(&encoding)),
            (None, Some(n)) if n > config.max_request_bytes => {
                Some(Rejection::too_large(config.max_request_bytes))
            }
            _ => None,
        };
        if let Some(rejection) = refusal {
            if !holds {
                // The body cannot be read before the headers leave: answer now.
                return self.refuse(host, &rejection);
            }
            self.request = RequestState::Draining {
                received: 0,
                rejection: Box::new(rejection),
            };
            return Flow::Pause;
        }
        rewrite_path(host, path, &config.responses_path);
        // The translated body has another length: set again once it is known, if headers wait.
        host.set_request_header("content-length", None);
        match config.header_hold {
            HeaderHold::Off => {
                self.request = RequestState::Reading { held: false };
                Flow::Continue
            }
            HeaderHold::On => {
                self.request = RequestState::Reading { held: true };
                Flow::Pause
            }
            HeaderHold::Detect => {
                self.request = RequestState::Reading { held: true };
                if !holds {
                    self.worker.probing.borrow_mut().push((self.id, now));
                    host.tick_every(HOLD_PROBE / 4);
                }
                Flow::Pause
            }
        }
    }

    /// A request body callback: `size` bytes held by Envoy so far (or since the last callback when
    /// the filter dropped them).
    pub fn request_body(&mut self, host: &mut impl Host, size: usize, end_of_stream: bool) -> Flow {
        match &mut self.request {
            RequestState::Reading { held } => {
                let held = *held
                    && (self.config.header_hold == HeaderHold::On
                        || self.worker.body_arrived(self.id));
                self.request = RequestState::Reading { held };
                if size > self.config.max_request_bytes {
                    self.request = RequestState::Draining {
                        received: 0,
                        rejection: Box::new(Rejection::too_large(self.config.max_request_bytes)),
                    };
                    return self.request_body(host, size, end_of_stream);
                }
                if !end_of_stream {
                    // Envoy buffers the body until its end.
                    return Flow::Pause;
                }
                let body = host.request_body(size);
                self.translate(host, &body, size, held)
            }
            RequestState::Draining { received, .. } => {
                *received = received.saturating_add(size);
                let received = *received;
                host.set_request_body(size, &[]);
                let limit = self
                    .config
                    .max_request_bytes
                    .saturating_add(MAX_DRAIN_BYTES);
                if !end_of_stream && received <= limit {
                    return Flow::Pause;
                }
                match std::mem::replace(&mut self.request, RequestState::Refused) {
                    RequestState::Draining { rejection, .. } => self.refuse(host, &rejection),
                    _ => Flow::Pause,
                }
            }
            RequestState::Forwarded | RequestState::Refused => Flow::Continue,
        }
    }

    /// The request trailers arrived: the body (if the filter holds one) is complete. Envoy's
    /// decompressor, for one, ends a body it decoded with trailers rather than `end_of_stream`.
    pub fn request_trailers(&mut self, host: &mut impl Host) -> Flow {
        match self.request {
            RequestState::Reading { .. } | RequestState::Draining { .. } => {
                let size = host.request_body(WHOLE_BODY).len();
                self.request_body(host, size, true)
            }
            RequestState::Forwarded | RequestState::Refused => Flow::Continue,
        }
    }

    /// Translates a whole create request body and forwards it, or refuses it.
    fn translate(&mut self, host: &mut impl Host, body: &[u8], size: usize, held: bool) -> Flow {
        let translated = match self.dialect {
            Dialect::Chat => chat::request::translate(body, &self.config.request),
            Dialect::Interactions => interactions::request::translate(body, &self.config.request),
            Dialect::Anthropic => anthropic::request::translate(body, &self.config.request),
            Dialect::Passthrough => return Flow::Continue,
        };
        match translated {
            Ok(Translated {
                body: upstream,
                stream,
                include_usage,
                stop,
            }) => {
                host.set_request_body(size, &upstream);
                if held {
                    host.set_request_header("content-length", Some(&upstream.len().to_string()));
                }
                self.request = RequestState::Forwarded;
                self.asked = Some(Asked {
                    kind: if stream {
                        AnswerKind::Stream
                    } else {
                        AnswerKind::Unary
                    },
                    include_usage: Some(include_usage),
                    stop,
                });
                host.add(Counter::RequestsTranslated, 1);
                Flow::Continue
            }
            Err(rejection) => self.refuse(host, &rejection),
        }
    }

    /// Answers the client with `rejection` in its dialect; nothing (more) goes upstream.
    fn refuse(&mut self, host: &mut impl Host, rejection: &Rejection) -> Flow {
        log::info!(
            "responses-transcoder: refused a {} request: {}",
            self.dialect.name(),
            rejection.message
        );
        self.request = RequestState::Refused;
        self.worker.forget(self.id);
        host.add(Counter::RequestsRejected, 1);
        self.report(
            host,
            Report::of_outcome(self.dialect, OutcomeKind::Rejected),
        );
        host.send_reply(
            rejection.status,
            &error_body::rejection(self.dialect, rejection),
        );
        Flow::Pause
    }

    /// The response headers arrived (the upstream's, or Envoy's own local reply).
    pub fn response_headers(&mut self, host: &mut impl Host, end_of_stream: bool) -> Flow {
        if self.dialect == Dialect::Passthrough || matches!(self.request, RequestState::Refused) {
            // Passthrough, or the filter's own reply.
            return Flow::Continue;
        }
        let status = host
            .response_header(":status")
            .and_then(|s| s.trim().parse::<u16>().ok())
            .unwrap_or(0);
        let content_type = host
            .response_header("content-type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let encoding = host
            .response_header("content-encoding")
            .filter(|e| !e.trim().eq_ignore_ascii_case("identity"));
        // An answer to a request the filter read (or to one it was still reading: Envoy's own
        // reply) must come in the client's dialect whatever it is.
        let read = self.asked.is_some() || !matches!(self.request, RequestState::Forwarded);
        let held = self.headers_can_wait();
        let sse = content_type.starts_with("text/event-stream");
        let json = content_type.contains("json");
        if status < 200 || status == 204 || status == 304 {
            return Flow::Continue;
        }
        if status >= 300 {
            host.set_response_header("content-encoding", None);
            if end_of_stream {
                self.report(
                    host,
                    Report::of_outcome(self.dialect, OutcomeKind::ErrorStatus),
                );
                return Flow::Continue;
            }
            let kind = match encoding {
                // A compressed error body cannot be read: its status is all it says.
                Some(_) => {
                    let message = ["the upstream answered ", &status.to_string()].concat();
                    let outcome = OutcomeKind::ErrorStatus;
                    return self.replace(host, status, outcome, "upstream_error", &message);
                }
                None => Buffered::Error(status),
            };
            return self.buffer(host, kind, false);
        }
        if end_of_stream {
            host.add(Counter::Passthrough, 1);
            return Flow::Continue;
        }
        if let Some(encoding) = encoding.filter(|_| read || sse) {
            let message = [
                "the upstream answered with content-encoding '",
                encoding.trim(),
                "', which the gateway cannot decode",
            ]
            .concat();
            let outcome = OutcomeKind::UnexpectedAnswer;
            return self.replace(host, 502, outcome, "unsupported_encoding", &message);
        }
        let asked = self.asked.as_ref().map(|asked| asked.kind);
        match (asked, sse, json) {
            (Some(AnswerKind::Unary), true, _) => self.buffer(host, Buffered::StreamForUnary, held),
            (_, true, _) => {
                self.start_stream(host);
                Flow::Continue
            }
            (Some(AnswerKind::Stream), _, true) => {
                host.set_response_header("content-length", None);
                host.set_response_header("content-type", Some(SSE_CONTENT_TYPE));
                self.buffer(host, Buffered::ObjectForStream, false)
            }
            (Some(AnswerKind::Unary), _, true) => self.buffer(host, Buffered::Object, held),
            (Some(AnswerKind::Deletion), _, _) => self.buffer(host, Buffered::Deletion, held),
            (Some(_), _, _) => {
                let message = [
                    "the upstream answered ",
                    &status.to_string(),
                    " with content-type '",
                    if content_type.is_empty() {
                        "(none)"
                    } else {
                        &content_type
                    },
                    "', neither JSON nor an event stream",
                ]
                .concat();
                let outcome = OutcomeKind::UnexpectedAnswer;
                self.replace(host, 502, outcome, "unexpected_answer", &message)
            }
            (None, _, _) => {
                host.add(Counter::Passthrough, 1);
                Flow::Continue
            }
        }
    }

    /// Buffers the answer to rewrite it at its end; its headers wait when `held` (its status
    /// and length can then still change).
    fn buffer(&mut self, host: &mut impl Host, kind: Buffered, held: bool) -> Flow {
        host.set_response_header("content-length", None);
        if kind != Buffered::ObjectForStream {
            host.set_response_header("content-type", Some("application/json"));
        }
        self.response = ResponseState::Buffered { kind, held };
        if held {
            Flow::Pause
        } else {
            Flow::Continue
        }
    }

    /// Replaces the answer (which has a body) with the dialect's error (`status`, `code`,
    /// `message`); called from the response headers, which can still change.
    fn replace(
        &mut self,
        host: &mut impl Host,
        status: u16,
        outcome: OutcomeKind,
        code: &str,
        message: &str,
    ) -> Flow {
        log::warn!("responses-transcoder: {message}");
        let body = error_body::gateway(self.dialect, status, code, message);
        host.set_response_header(":status", Some(&status.to_string()));
        host.set_response_header("content-type", Some("application/json"));
        host.set_response_header("content-encoding", None);
        host.set_response_header("content-length", Some(&body.len().to_string()));
        self.response = ResponseState::Replaced { body };
        self.report(host, Report::of_outcome(self.dialect, outcome));
        Flow::Continue
    }

    /// Sets up the transcoder of an SSE answer.
    fn start_stream(&mut self, host: &mut impl Host) {
        let Some(transcoder) = self.transcoder() else {
            host.add(Counter::Passthrough, 1);
            return;
        };
        self.response = ResponseState::Stream(Box::new(transcoder));
        host.add(Counter::StreamsActive, 1);
        host.add(Counter::Streams(self.dialect), 1);
        // Headers cannot change once this returns: the body's length is about to change.
        host.set_response_header("content-length", None);
        host.set_response_header("content-type", Some(SSE_CONTENT_TYPE));
    }

    /// A transcoder for this exchange's answer: the dialect, the usage the request asked for,
    /// its stop sequences.
    fn transcoder(&self) -> Option<Transcoder> {
        let asked = self.asked.as_ref();
        let options = self
            .config
            .stream_options(asked.and_then(|asked| asked.include_usage));
        let transcoder = Transcoder::new(self.dialect, options)?;
        Some(match asked {
            Some(asked) => transcoder.with_stop_sequences(&asked.stop),
            None => transcoder,
        })
    }

    /// A response body callback: `size` bytes held by Envoy.
    pub fn response_body(
        &mut self,
        host: &mut impl Host,
        size: usize,
        end_of_stream: bool,
    ) -> Flow {
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        let flow = match &mut self.response {
            ResponseState::Untouched => return Flow::Continue,
            ResponseState::Replaced { body } => {
                out.append(body);
                Flow::Continue
            }
            ResponseState::Stream(transcoder) => {
                let chunk = host.response_body(size);
                transcoder.feed(&chunk, &mut out);
                if end_of_stream {
                    transcoder.finish(&mut out);
                }
                Flow::Continue
            }
            ResponseState::Buffered { kind, held } => {
                let (kind, held) = (*kind, *held);
                let over = size > self.config.max_response_bytes;
                if !end_of_stream && !over {
                    // Envoy buffers the body until its end.
                    self.out = out;
                    return Flow::Pause;
                }
                let body = host.response_body(size);
                let (status, rewritten) = if over {
                    self.too_large(host, kind, &body)
                } else {
                    self.rewrite(host, kind, &body)
                };
                if held {
                    // The headers waited: they can still change.
                    host.set_response_header(":status", Some(&status.to_string()));
                    host.set_response_header("content-length", Some(&rewritten.len().to_string()));
                }
                out = rewritten;
                self.response = ResponseState::Replaced { body: Vec::new() };
                Flow::Continue
            }
        };
        host.set_response_body(size, &out);
        self.out = out;
        if end_of_stream {
            self.report_stream(host);
        }
        flow
    }

    /// The response trailers arrived: a buffered answer is complete (a stream ended at its last
    /// data callback already, as far as the client can be told: nothing can be added here).
    pub fn response_trailers(&mut self, host: &mut impl Host) -> Flow {
        match self.response {
            ResponseState::Buffered { .. } => {
                let size = host.response_body(WHOLE_BODY).len();
                self.response_body(host, size, true)
            }
            ResponseState::Untouched
            | ResponseState::Stream(_)
            | ResponseState::Replaced { .. } => Flow::Continue,
        }
    }

    /// A whole buffered answer rewritten for the client: its status and body.
    fn rewrite(&mut self, host: &mut impl Host, kind: Buffered, body: &[u8]) -> (u16, Vec<u8>) {
        match kind {
            Buffered::Error(status) => {
                let rewritten = error_body::rewrite(self.dialect, status, body);
                host.add(Counter::ErrorBodies, u64::from(rewritten.is_some()) as i64);
                self.report(
                    host,
                    Report::of_outcome(self.dialect, OutcomeKind::ErrorStatus),
                );
                (status, rewritten.unwrap_or_else(|| body.to_vec()))
            }
            Buffered::Object => self.unary(host, body),
            Buffered::StreamForUnary => {
                host.add(Counter::Reshaped, 1);
                let object = reshape::object_of_stream(body, self.config.stream.max_event_bytes);
                self.unary(host, &object)
            }
            Buffered::ObjectForStream => {
                host.add(Counter::Reshaped, 1);
                let events = reshape::stream_of_object(body).unwrap_or_else(|| {
                    error_event(
                        "unexpected_answer",
                        "the upstream answered a JSON body that is not a Responses object",
                    )
                });
                (200, self.stream_of(host, &events))
            }
            Buffered::Deletion => {
                self.report(
                    host,
                    Report::of_outcome(self.dialect, OutcomeKind::Completed),
                );
                (200, b"{}".to_vec())
            }
        }
    }

    /// An answer over `max_response_bytes`: the dialect's 502 (an in-band error for a stream).
    fn too_large(&mut self, host: &mut impl Host, kind: Buffered, body: &[u8]) -> (u16, Vec<u8>) {
        let message = [
            "the upstream's answer exceeds the gateway's limit of ",
            &self.config.max_response_bytes.to_string(),
            " bytes",
        ]
        .concat();
        log::warn!("responses-transcoder: {message}");
        match kind {
            // An error body is only read for its message: its beginning will do.
            Buffered::Error(_) => self.rewrite(host, kind, body),
            Buffered::ObjectForStream => {
                let events = error_event("response_too_large", &message);
                (200, self.stream_of(host, &events))
            }
            Buffered::Object | Buffered::StreamForUnary | Buffered::Deletion => {
                self.report(
                    host,
                    Report::of_outcome(self.dialect, OutcomeKind::ResponseTooLarge),
                );
                (
                    502,
                    error_body::gateway(self.dialect, 502, "response_too_large", &message),
                )
            }
        }
    }

    /// Translates a unary Responses answer into the client's dialect.
    fn unary(&mut self, host: &mut impl Host, body: &[u8]) -> (u16, Vec<u8>) {
        let options = self.config.stream_options(None);
        let none = StopSequences::default();
        let stop = self.asked.as_ref().map_or(&none, |asked| &asked.stop);
        let answer: UnaryAnswer = match self.dialect {
            Dialect::Interactions => interactions::unary::translate(body, &options, stop),
            Dialect::Anthropic => anthropic::unary::translate(body, &options, stop),
            Dialect::Chat | Dialect::Passthrough => chat::unary::translate(body, &options, stop),
        };
        host.add(Counter::Unary(self.dialect), 1);
        self.report(host, Report::of_unary(self.dialect, body, &answer));
        (answer.status, answer.body)
    }

    /// A whole Responses stream `events` transcoded at once; the stream is then reported.
    fn stream_of(&mut self, host: &mut impl Host, events: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(mut transcoder) = self.transcoder() {
            transcoder.feed(events, &mut out);
            transcoder.finish(&mut out);
            host.add(Counter::Streams(self.dialect), 1);
            self.record_stream(host, &transcoder);
        }
        out
    }

    /// The exchange ended (Envoy's `on_log`): a stream that did not end in-band was reset.
    pub fn done(&mut self, host: &mut impl Host) {
        if let ResponseState::Stream(transcoder) = &self.response {
            if !transcoder.is_finished() {
                host.add(Counter::StreamsAborted, 1);
            }
            host.add(Counter::StreamsActive, -1);
        }
        self.report_stream(host);
        self.worker.forget(self.id);
    }

    /// Reports a stream once: its counters, and its outcome, tokens and access-log properties.
    fn report_stream(&mut self, host: &mut impl Host) {
        if self.reported {
            return;
        }
        let response = std::mem::replace(&mut self.response, ResponseState::Untouched);
        if let ResponseState::Stream(transcoder) = &response {
            self.record_stream(host, transcoder);
        }
        self.response = response;
    }

    fn record_stream(&mut self, host: &mut impl Host, transcoder: &Transcoder) {
        let stats = transcoder.stats();
        for (counter, n) in [
            (Counter::EventsIn, stats.events_in),
            (Counter::EventsOut, stats.events_out),
            (Counter::InvalidEvents, stats.invalid_events),
            (Counter::UnknownEvents, stats.unknown_events),
            (Counter::Keepalives, stats.keepalives),
        ] {
            add(host, counter, n);
        }
        self.report(host, Report::of_stream(self.dialect, transcoder));
    }

    /// Records an answer's report in the metrics and as access-log properties, once.
    fn report(&mut self, host: &mut impl Host, report: Report) {
        if std::mem::replace(&mut self.reported, true) {
            return;
        }
        for (counter, n) in report.counts() {
            add(host, counter, n);
        }
        for (name, value) in report.properties() {
            host.set_property(name, &value);
        }
    }
}

/// The content type of every transcoded stream.
const SSE_CONTENT_TYPE: &str = "text/event-stream; charset=utf-8";

/// Adds a count that is not zero.
fn add(host: &mut impl Host, counter: Counter, n: u64) {
    if n > 0 {
        host.add(counter, i64::try_from(n).unwrap_or(i64::MAX));
    }
}

/// Rewrites the request path, keeping the client's in `x-envoy-original-path` (where Envoy keeps
/// it for its own rewrites, and where access logs read it).
fn rewrite_path(host: &mut impl Host, from: &str, to: &str) {
    host.set_request_header("x-envoy-original-path", Some(from));
    host.set_request_header(":path", Some(to));
}

/// A Responses `error` event as SSE bytes: what a stream that cannot carry the answer ends with.
fn error_event(code: &str, message: &str) -> Vec<u8> {
    let mut out = b"data: ".to_vec();
    let mut event = crate::json::ObjectWriter::new(&mut out);
    event.str("type", "error");
    event.str("code", code);
    event.str("message", message);
    event.end();
    out.extend_from_slice(b"\n\n");
    out
}

impl Drop for Exchange {
    fn drop(&mut self) {
        // An exchange that ended while its headers waited (the client went away) is no probe.
        self.worker.forget(self.id);
    }
}
