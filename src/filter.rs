//! proxy-wasm glue: the root context (configuration, metrics, the probe timer) and one HTTP
//! context per request. Each callback hands its arguments to [`Exchange`], which decides; this
//! file only turns those decisions ([`Host`] calls, [`Flow`]) into host calls.

use crate::config::Config;
use crate::exchange::{Exchange, Flow, Host, Worker};
use crate::telemetry::{Counter, METRIC_PREFIX, PROPERTY_PREFIX};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType, MetricType};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// Metric ids, by metric.
type Metrics = HashMap<Counter, u32>;

/// Root context: the validated configuration, the metric ids and the worker's header-hold state.
#[derive(Default)]
struct Root {
    config: Rc<Config>,
    metrics: Rc<Metrics>,
    worker: Rc<Worker>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, plugin_configuration_size: usize) -> bool {
        let bytes = body(BufferType::PluginConfiguration, plugin_configuration_size);
        match Config::parse(&bytes) {
            Ok(config) => {
                self.config = Rc::new(config);
                self.metrics = Rc::new(define_metrics());
                true
            }
            Err(message) => {
                log::error!("responses-transcoder: rejected plugin configuration: {message}");
                false
            }
        }
    }

    fn on_tick(&mut self) {
        for id in self.worker.expire(now()) {
            if hostcalls::set_effective_context(id).is_ok() {
                if let Some(id) = self.metrics.get(&Counter::HoldProbesExpired) {
                    let _ = hostcalls::increment_metric(*id, 1);
                }
                let _ = hostcalls::resume_http_request();
            }
        }
        if !self.worker.probing() {
            let _ = hostcalls::set_tick_period(Duration::ZERO);
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Request {
            exchange: Exchange::new(context_id, Rc::clone(&self.config), Rc::clone(&self.worker)),
            metrics: Rc::clone(&self.metrics),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// Defines every metric the filter exports.
fn define_metrics() -> Metrics {
    Counter::all()
        .into_iter()
        .filter_map(|counter| {
            let kind = if counter.is_gauge() {
                MetricType::Gauge
            } else {
                MetricType::Counter
            };
            let name = [METRIC_PREFIX, &counter.name()].concat();
            let id = hostcalls::define_metric(kind, &name).ok()?;
            Some((counter, id))
        })
        .collect()
}

/// Envoy's clock, as time since the Unix epoch.
fn now() -> Duration {
    hostcalls::get_current_time()
        .ok()
        .and_then(|time| time.duration_since(SystemTime::UNIX_EPOCH).ok())
        .unwrap_or_default()
}

/// Per-request context.
struct Request {
    exchange: Exchange,
    metrics: Rc<Metrics>,
}

/// The host as an exchange sees it. Host calls go through `hostcalls` with their errors ignored
/// (a header that cannot be read is absent), never unwrapped: the module must not panic.
struct Envoy<'m> {
    metrics: &'m Metrics,
}

impl Host for Envoy<'_> {
    fn request_header(&self, name: &str) -> Option<String> {
        hostcalls::get_map_value(MapType::HttpRequestHeaders, name).unwrap_or_default()
    }

    fn set_request_header(&mut self, name: &str, value: Option<&str>) {
        let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, name, value);
    }

    fn request_body(&self, size: usize) -> Vec<u8> {
        body(BufferType::HttpRequestBody, size)
    }

    fn set_request_body(&mut self, size: usize, body: &[u8]) {
        let _ = hostcalls::set_buffer(BufferType::HttpRequestBody, 0, size, body);
    }

    fn response_header(&self, name: &str) -> Option<String> {
        hostcalls::get_map_value(MapType::HttpResponseHeaders, name).unwrap_or_default()
    }

    fn set_response_header(&mut self, name: &str, value: Option<&str>) {
        let _ = hostcalls::set_map_value(MapType::HttpResponseHeaders, name, value);
    }

    fn response_body(&self, size: usize) -> Vec<u8> {
        body(BufferType::HttpResponseBody, size)
    }

    fn set_response_body(&mut self, size: usize, body: &[u8]) {
        let _ = hostcalls::set_buffer(BufferType::HttpResponseBody, 0, size, body);
    }

    fn send_reply(&mut self, status: u16, body: &[u8]) {
        let headers = vec![("content-type", "application/json")];
        let _ = hostcalls::send_http_response(u32::from(status), headers, Some(body));
    }

    fn add(&mut self, counter: Counter, n: i64) {
        if let Some(id) = self.metrics.get(&counter) {
            let _ = hostcalls::increment_metric(*id, n);
        }
    }

    fn set_property(&mut self, name: &str, value: &str) {
        let path = [PROPERTY_PREFIX, name].concat();
        let _ = hostcalls::set_property(vec![path.as_str()], Some(value.as_bytes()));
    }

    fn tick_every(&mut self, period: Duration) {
        let _ = hostcalls::set_tick_period(period);
    }
}

/// The first `size` bytes of a body Envoy holds.
fn body(buffer: BufferType, size: usize) -> Vec<u8> {
    match size {
        0 => Vec::new(),
        n => hostcalls::get_buffer(buffer, 0, n)
            .ok()
            .flatten()
            .unwrap_or_default(),
    }
}

impl Request {
    /// Runs one exchange step and tells Envoy what it decided.
    fn step(&mut self, call: impl FnOnce(&mut Exchange, &mut Envoy) -> Flow) -> Action {
        let mut host = Envoy {
            metrics: &self.metrics,
        };
        match call(&mut self.exchange, &mut host) {
            Flow::Continue => Action::Continue,
            Flow::Pause => Action::Pause,
        }
    }
}

impl Context for Request {}

impl HttpContext for Request {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.step(|exchange, host| exchange.request_headers(host, end_of_stream, now()))
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.step(|exchange, host| exchange.request_body(host, body_size, end_of_stream))
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        self.step(|exchange, host| exchange.request_trailers(host))
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.step(|exchange, host| exchange.response_headers(host, end_of_stream))
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.step(|exchange, host| exchange.response_body(host, body_size, end_of_stream))
    }

    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        self.step(|exchange, host| exchange.response_trailers(host))
    }

    fn on_log(&mut self) {
        self.step(|exchange, host| {
            exchange.done(host);
            Flow::Continue
        });
    }
}
