//! The HTTP envelope, natively: one exchange driven through a simulated Envoy the way Envoy's own
//! filter tests drive theirs (headers, body chunks with `end_of_stream`, timer ticks), with
//! assertions on what Envoy would forward upstream and send the client.

use responses_transcoder::config::{Config, Dialect, HeaderHold};
use responses_transcoder::exchange::{Exchange, Flow, Host, Worker, HOLD_PROBE};
use responses_transcoder::telemetry::Counter;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

/// What Envoy holds for one exchange, and what it let through.
#[derive(Default)]
struct FakeEnvoy {
    request_headers: Vec<(String, String)>,
    request_body: Vec<u8>,
    response_headers: Vec<(String, String)>,
    response_body: Vec<u8>,
    reply: Option<(u16, Vec<u8>)>,
    counters: HashMap<Counter, i64>,
    properties: HashMap<String, String>,
    ticking: bool,
}

fn get(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

fn set(headers: &mut Vec<(String, String)>, name: &str, value: Option<&str>) {
    headers.retain(|(n, _)| n != name);
    if let Some(value) = value {
        headers.push((name.to_owned(), value.to_owned()));
    }
}

impl Host for FakeEnvoy {
    fn request_header(&self, name: &str) -> Option<String> {
        get(&self.request_headers, name)
    }
    fn set_request_header(&mut self, name: &str, value: Option<&str>) {
        set(&mut self.request_headers, name, value);
    }
    fn request_body(&self, size: usize) -> Vec<u8> {
        self.request_body[..size.min(self.request_body.len())].to_vec()
    }
    fn set_request_body(&mut self, size: usize, body: &[u8]) {
        let size = size.min(self.request_body.len());
        self.request_body.splice(..size, body.iter().copied());
    }
    fn response_header(&self, name: &str) -> Option<String> {
        get(&self.response_headers, name)
    }
    fn set_response_header(&mut self, name: &str, value: Option<&str>) {
        set(&mut self.response_headers, name, value);
    }
    fn response_body(&self, size: usize) -> Vec<u8> {
        self.response_body[..size.min(self.response_body.len())].to_vec()
    }
    fn set_response_body(&mut self, size: usize, body: &[u8]) {
        let size = size.min(self.response_body.len());
        self.response_body.splice(..size, body.iter().copied());
    }
    fn send_reply(&mut self, status: u16, body: &[u8]) {
        assert!(self.reply.is_none(), "a second local reply");
        self.reply = Some((status, body.to_vec()));
    }
    fn add(&mut self, counter: Counter, n: i64) {
        *self.counters.entry(counter).or_default() += n;
    }
    fn set_property(&mut self, name: &str, value: &str) {
        self.properties.insert(name.to_owned(), value.to_owned());
    }
    fn tick_every(&mut self, _period: Duration) {
        self.ticking = true;
    }
}

/// One exchange in a simulated Envoy: what went upstream, what reached the client.
struct Sim {
    exchange: Exchange,
    envoy: FakeEnvoy,
    /// The request headers as they left for the upstream, once they did.
    upstream_headers: Option<Vec<(String, String)>>,
    upstream_body: Vec<u8>,
    request_paused: bool,
    /// The response headers as they left for the client, once they did.
    client_headers: Option<Vec<(String, String)>>,
    client_body: Vec<u8>,
    response_paused: bool,
}

const CHAT: &str = "/v1/chat/completions";
const INTERACTIONS: &str = "/v1beta/interactions";

impl Sim {
    fn new(id: u32, config: &Rc<Config>, worker: &Rc<Worker>) -> Sim {
        Sim {
            exchange: Exchange::new(id, Rc::clone(config), Rc::clone(worker)),
            envoy: FakeEnvoy::default(),
            upstream_headers: None,
            upstream_body: Vec::new(),
            request_paused: false,
            client_headers: None,
            client_body: Vec::new(),
            response_paused: false,
        }
    }

    fn headers(&mut self, method: &str, path: &str, extra: &[(&str, &str)], eos: bool, at: u64) {
        self.envoy.request_headers = [(":method", method), (":path", path)]
            .iter()
            .chain(extra)
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let flow = self
            .exchange
            .request_headers(&mut self.envoy, eos, Duration::from_millis(at));
        self.request_paused = flow == Flow::Pause;
        if !self.request_paused {
            self.upstream_headers = Some(self.envoy.request_headers.clone());
        }
    }

    /// A request body chunk arriving at Envoy.
    fn body(&mut self, chunk: &[u8], eos: bool) -> Flow {
        self.envoy.request_body.extend_from_slice(chunk);
        let size = self.envoy.request_body.len();
        let flow = self.exchange.request_body(&mut self.envoy, size, eos);
        if flow == Flow::Continue && self.envoy.reply.is_none() {
            if self.upstream_headers.is_none() {
                self.upstream_headers = Some(self.envoy.request_headers.clone());
            }
            self.upstream_body.append(&mut self.envoy.request_body);
        }
        flow
    }

    /// The probe timer resumed this exchange: its headers go upstream as they are.
    fn resumed(&mut self) {
        self.upstream_headers = Some(self.envoy.request_headers.clone());
        self.request_paused = false;
    }

    fn respond(&mut self, status: u16, headers: &[(&str, &str)], eos: bool) -> Flow {
        let status = status.to_string();
        self.envoy.response_headers = [(":status", status.as_str())]
            .iter()
            .chain(headers)
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let flow = self.exchange.response_headers(&mut self.envoy, eos);
        self.response_paused = flow == Flow::Pause;
        if !self.response_paused {
            self.client_headers = Some(self.envoy.response_headers.clone());
        }
        flow
    }

    fn answer(&mut self, chunk: &[u8], eos: bool) -> Flow {
        self.envoy.response_body.extend_from_slice(chunk);
        let size = self.envoy.response_body.len();
        let flow = self.exchange.response_body(&mut self.envoy, size, eos);
        if flow == Flow::Continue {
            if self.client_headers.is_none() {
                self.client_headers = Some(self.envoy.response_headers.clone());
            }
            self.client_body.append(&mut self.envoy.response_body);
        }
        flow
    }

    fn upstream_header(&self, name: &str) -> Option<String> {
        get(self.upstream_headers.as_ref()?, name)
    }

    fn client_header(&self, name: &str) -> Option<String> {
        get(self.client_headers.as_ref()?, name)
    }

    fn client_status(&self) -> u16 {
        self.client_header(":status").unwrap().parse().unwrap()
    }

    fn client_json(&self) -> Value {
        serde_json::from_slice(&self.client_body).expect("a JSON body")
    }

    fn reply_json(&self) -> (u16, Value) {
        let (status, body) = self.envoy.reply.as_ref().expect("a local reply");
        (*status, serde_json::from_slice(body).unwrap())
    }

    fn count(&self, counter: Counter) -> i64 {
        self.envoy.counters.get(&counter).copied().unwrap_or(0)
    }
}

fn config(json: &str) -> Rc<Config> {
    Rc::new(Config::parse(json.as_bytes()).unwrap())
}

fn chat_request(stream: bool) -> Vec<u8> {
    serde_json::to_vec(&json!({"model": "m", "stream": stream,
        "messages": [{"role": "user", "content": "hi"}]}))
    .unwrap()
}

const SSE: (&str, &str) = ("content-type", "text/event-stream");
const JSON: (&str, &str) = ("content-type", "application/json");

fn completed_stream(text: &str) -> Vec<u8> {
    let created = json!({"type": "response.created", "sequence_number": 0,
        "response": {"id": "resp_1", "object": "response", "created_at": 1, "model": "m", "status": "in_progress", "output": []}});
    let delta = json!({"type": "response.output_text.delta", "sequence_number": 1,
        "output_index": 0, "content_index": 0, "item_id": "msg_1", "delta": text});
    let done = json!({"type": "response.completed", "sequence_number": 2, "response": object("completed", text)});
    format!("data: {created}\n\ndata: {delta}\n\ndata: {done}\n\n").into_bytes()
}

fn object(status: &str, text: &str) -> Value {
    json!({"id": "resp_1", "object": "response", "created_at": 1, "model": "m", "status": status,
        "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}],
        "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}})
}

/// The Chat chunks of an SSE body, `[DONE]` left out.
fn chat_chunks(body: &[u8]) -> Vec<Value> {
    String::from_utf8(body.to_vec())
        .unwrap()
        .split("\n\n")
        .filter_map(|frame| frame.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str(data).unwrap())
        .collect()
}

fn chat_text(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

// --- Header hold ---------------------------------------------------------------------------

#[test]
fn a_slow_first_body_never_changes_how_later_requests_are_handled() {
    let config = config("{}");
    let worker = Rc::new(Worker::default());
    // The first request's body comes 1.5 s after its headers.
    let mut slow = Sim::new(1, &config, &worker);
    slow.headers("POST", CHAT, &[], false, 0);
    assert!(slow.request_paused && slow.envoy.ticking);
    assert!(worker.expire(Duration::from_millis(500)).is_empty());
    assert_eq!(worker.expire(HOLD_PROBE), vec![1]);
    slow.resumed();
    assert!(!worker.probing());
    assert_eq!(slow.body(&chat_request(false), true), Flow::Continue);
    // Its headers left first: no content-length; its body still went translated.
    assert_eq!(slow.upstream_header("content-length"), None);
    assert_eq!(
        slow.upstream_header(":path").as_deref(),
        Some("/v1/responses")
    );
    let sent: Value = serde_json::from_slice(&slow.upstream_body).unwrap();
    assert_eq!(sent["input"][0]["content"], "hi");

    // The next request on the worker still waits for its body, which proves the hold.
    let mut next = Sim::new(2, &config, &worker);
    next.headers("POST", CHAT, &[], false, 2000);
    assert!(next.request_paused);
    let body = chat_request(false);
    assert_eq!(next.body(&body, true), Flow::Continue);
    let length: usize = next
        .upstream_header("content-length")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(length, next.upstream_body.len());
    // Known from now on: no probe, and a failed unary answer keeps its failure status.
    let mut third = Sim::new(3, &config, &worker);
    third.envoy.ticking = false;
    third.headers("POST", CHAT, &[], false, 3000);
    assert!(third.request_paused && !third.envoy.ticking);
    third.body(&chat_request(false), true);
    let failed = json!({"id": "resp_1", "object": "response", "status": "failed", "output": [],
        "error": {"code": "server_error", "message": "boom"}});
    assert_eq!(third.respond(200, &[JSON], false), Flow::Pause);
    third.answer(failed.to_string().as_bytes(), true);
    assert_eq!(third.client_status(), 500);
    assert_eq!(third.client_json()["error"]["message"], "boom");
}

#[test]
fn a_stated_hold_never_probes_and_off_never_waits() {
    let worker = Rc::new(Worker::default());
    let mut on = Sim::new(1, &config(r#"{"header_hold":"on"}"#), &worker);
    on.headers("POST", CHAT, &[], false, 0);
    assert!(on.request_paused && !on.envoy.ticking && !worker.probing());
    let mut off = Sim::new(2, &config(r#"{"header_hold":"off"}"#), &worker);
    off.headers("POST", CHAT, &[], false, 0);
    assert!(!off.request_paused && !off.envoy.ticking);
    assert_eq!(
        off.upstream_header(":path").as_deref(),
        Some("/v1/responses")
    );
    assert_eq!(off.upstream_header("content-length"), None);
    let body = chat_request(true);
    assert_eq!(off.body(&body[..9], false), Flow::Pause);
    assert_eq!(off.body(&body[9..], true), Flow::Continue);
    let sent: Value = serde_json::from_slice(&off.upstream_body).unwrap();
    assert_eq!(sent["stream"], true);
}

#[test]
fn an_exchange_that_ends_while_waiting_is_no_probe() {
    let config = config("{}");
    let worker = Rc::new(Worker::default());
    let mut gone = Sim::new(7, &config, &worker);
    gone.headers("POST", CHAT, &[], false, 0);
    assert!(worker.probing());
    drop(gone);
    assert!(!worker.probing());
    assert!(worker.expire(HOLD_PROBE * 2).is_empty());
}

// --- Refusals, sizes, encodings -----------------------------------------------------------

#[test]
fn a_refused_request_sends_nothing_upstream_and_is_logged() {
    let mut sim = Sim::new(1, &config(r#"{"header_hold":"on"}"#), &Rc::default());
    sim.headers("POST", CHAT, &[], false, 0);
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "seed": 3});
    sim.body(body.to_string().as_bytes(), true);
    assert!(sim.upstream_headers.is_none());
    let (status, error) = sim.reply_json();
    assert_eq!(status, 400);
    assert_eq!(error["error"]["param"], "seed");
    assert_eq!(sim.envoy.properties["dialect"], "chat");
    assert_eq!(sim.envoy.properties["outcome"], "rejected");
    // The filter's own reply passes its response callbacks untouched.
    assert_eq!(sim.respond(400, &[JSON], false), Flow::Continue);
}

#[test]
fn an_oversized_declared_body_is_read_and_dropped_then_answered() {
    let mut sim = Sim::new(
        1,
        &config(r#"{"header_hold":"on","max_request_bytes":100}"#),
        &Rc::default(),
    );
    sim.headers("POST", CHAT, &[("content-length", "250")], false, 0);
    assert!(sim.request_paused && sim.envoy.reply.is_none());
    for _ in 0..4 {
        assert_eq!(sim.body(&[b'x'; 50], false), Flow::Pause);
        assert!(sim.envoy.request_body.is_empty(), "dropped as it comes");
    }
    assert!(sim.envoy.reply.is_none());
    sim.body(&[b'x'; 50], true);
    assert!(sim.upstream_headers.is_none());
    let (status, error) = sim.reply_json();
    assert_eq!(status, 413);
    assert_eq!(error["error"]["code"], "request_too_large");
}

#[test]
fn an_oversized_chunked_burst_is_answered_at_its_end() {
    let mut sim = Sim::new(
        1,
        &config(r#"{"header_hold":"on","max_request_bytes":100}"#),
        &Rc::default(),
    );
    sim.headers("POST", INTERACTIONS, &[], false, 0);
    assert_eq!(sim.body(&[b'x'; 60], false), Flow::Pause);
    assert_eq!(sim.body(&[b'x'; 60], false), Flow::Pause);
    assert!(sim.envoy.reply.is_none() && sim.envoy.request_body.is_empty());
    sim.body(&[b'x'; 60], true);
    let (status, error) = sim.reply_json();
    assert_eq!(status, 413);
    assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
    assert!(sim.upstream_headers.is_none());
}

#[test]
fn without_a_hold_an_oversized_declared_body_is_refused_at_once() {
    let mut sim = Sim::new(
        1,
        &config(r#"{"header_hold":"off","max_request_bytes":100}"#),
        &Rc::default(),
    );
    sim.headers("POST", CHAT, &[("content-length", "250")], false, 0);
    assert_eq!(sim.reply_json().0, 413);
    assert!(sim.upstream_headers.is_none());
}

#[test]
fn a_compressed_request_is_refused_naming_its_encoding() {
    let mut sim = Sim::new(1, &config(r#"{"header_hold":"on"}"#), &Rc::default());
    sim.headers("POST", CHAT, &[("content-encoding", "gzip")], false, 0);
    sim.body(b"\x1f\x8b\x08\x00", true);
    let (status, error) = sim.reply_json();
    assert_eq!(status, 415);
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("'gzip'"));
    assert!(sim.upstream_headers.is_none());
}

#[test]
fn the_translated_request_has_no_stale_headers() {
    let mut sim = Sim::new(1, &config(r#"{"header_hold":"on"}"#), &Rc::default());
    let body = chat_request(true);
    sim.headers(
        "POST",
        "/v1/chat/completions/",
        &[
            ("accept-encoding", "gzip"),
            ("content-length", &body.len().to_string()),
            ("x-transcode-to", "chat"),
        ],
        false,
        0,
    );
    sim.body(&body, true);
    assert_eq!(sim.upstream_header("accept-encoding"), None);
    assert_eq!(sim.upstream_header("x-transcode-to"), None);
    assert_eq!(
        sim.upstream_header(":path").as_deref(),
        Some("/v1/responses")
    );
    assert_eq!(
        sim.upstream_header("x-envoy-original-path").as_deref(),
        Some("/v1/chat/completions/")
    );
    assert_eq!(
        sim.upstream_header("content-length"),
        Some(sim.upstream_body.len().to_string())
    );
}

#[test]
fn trailers_end_a_request_body() {
    // Envoy's decompressor ends the body it decoded with trailers, not `end_of_stream`.
    let mut sim = Sim::new(1, &config(r#"{"header_hold":"on"}"#), &Rc::default());
    sim.headers("POST", CHAT, &[], false, 0);
    assert_eq!(sim.body(&chat_request(false), false), Flow::Pause);
    assert_eq!(
        sim.exchange.request_trailers(&mut sim.envoy),
        Flow::Continue
    );
    let sent: Value = serde_json::from_slice(&sim.envoy.request_body).unwrap();
    assert_eq!(sent["input"][0]["content"], "hi");
    assert_eq!(
        sim.envoy
            .request_headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map(|(_, v)| v.clone()),
        Some(sim.envoy.request_body.len().to_string())
    );
}

#[test]
fn trailers_end_a_buffered_answer() {
    let mut sim = sent_chat(false);
    sim.respond(200, &[JSON], false);
    let body = object("completed", "Fine").to_string();
    assert_eq!(sim.answer(body.as_bytes(), false), Flow::Pause);
    assert_eq!(
        sim.exchange.response_trailers(&mut sim.envoy),
        Flow::Continue
    );
    let completion: Value = serde_json::from_slice(&sim.envoy.response_body).unwrap();
    assert_eq!(completion["choices"][0]["message"]["content"], "Fine");
}

// --- Answer shape ----------------------------------------------------------------------------

fn sent_chat(stream: bool) -> Sim {
    let mut sim = Sim::new(1, &config(r#"{"header_hold":"on"}"#), &Rc::default());
    sim.headers("POST", CHAT, &[], false, 0);
    sim.body(&chat_request(stream), true);
    sim
}

#[test]
fn a_json_answer_to_a_stream_becomes_a_stream() {
    let mut sim = sent_chat(true);
    assert_eq!(
        sim.respond(200, &[JSON, ("content-length", "999")], false),
        Flow::Continue
    );
    assert_eq!(
        sim.client_header("content-type").as_deref(),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(sim.client_header("content-length"), None);
    let body = object("incomplete", "Hello there").to_string();
    assert_eq!(sim.answer(&body.as_bytes()[..10], false), Flow::Pause);
    sim.answer(&body.as_bytes()[10..], true);
    let chunks = chat_chunks(&sim.client_body);
    assert_eq!(chat_text(&chunks), "Hello there");
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "length"
    );
    assert_eq!(chunks[0]["id"], "resp_1");
    assert!(sim.client_body.ends_with(b"data: [DONE]\n\n"));
    assert_eq!(sim.envoy.properties["outcome"], "incomplete");
    assert_eq!(sim.count(Counter::Reshaped), 1);
}

#[test]
fn a_json_answer_that_is_no_response_ends_the_stream_with_an_error() {
    let mut sim = sent_chat(true);
    sim.respond(200, &[JSON], false);
    sim.answer(br#"{"hello":"world"}"#, true);
    let text = String::from_utf8(sim.client_body.clone()).unwrap();
    assert!(
        text.contains(r#""error":{"#) && text.contains("not a Responses object"),
        "{text}"
    );
}

#[test]
fn an_sse_answer_to_a_unary_call_becomes_the_object() {
    let mut sim = sent_chat(false);
    assert_eq!(sim.respond(200, &[SSE], false), Flow::Pause);
    let stream = completed_stream("Hi!");
    sim.answer(&stream[..40], false);
    sim.answer(&stream[40..], true);
    assert_eq!(sim.client_status(), 200);
    let completion = sim.client_json();
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(completion["choices"][0]["message"]["content"], "Hi!");
    assert_eq!(
        sim.client_header("content-length"),
        Some(sim.client_body.len().to_string())
    );
}

#[test]
fn a_failed_sse_answer_to_a_unary_call_is_an_error_status() {
    let mut sim = sent_chat(false);
    sim.respond(200, &[SSE], false);
    sim.answer(
        b"data: {\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":\"slow\"}\n\n",
        true,
    );
    assert_eq!(sim.client_status(), 429);
    assert_eq!(sim.client_json()["error"]["message"], "slow");
}

#[test]
fn html_and_plain_text_answers_come_in_the_dialect() {
    let mut ok_html = sent_chat(false);
    ok_html.respond(200, &[("content-type", "text/html")], false);
    ok_html.answer(b"<html>maintenance</html>", true);
    assert_eq!(ok_html.client_status(), 502);
    assert_eq!(ok_html.client_json()["error"]["code"], "unexpected_answer");
    // Envoy's own reply: no healthy upstream.
    let mut down = Sim::new(1, &config(r#"{"header_hold":"on"}"#), &Rc::default());
    down.headers("POST", INTERACTIONS, &[], false, 0);
    down.body(br#"{"model":"m","input":"hi"}"#, true);
    down.respond(
        503,
        &[("content-type", "text/plain"), ("content-length", "19")],
        false,
    );
    down.answer(b"no healthy upstream", true);
    assert_eq!(down.client_status(), 503);
    assert_eq!(
        down.client_header("content-type").as_deref(),
        Some("application/json")
    );
    let error = down.client_json();
    assert_eq!(error["error"]["message"], "no healthy upstream");
    assert_eq!(error["error"]["status"], "UNAVAILABLE");
    assert_eq!(down.envoy.properties["outcome"], "error_status");
}

#[test]
fn envoy_replies_while_the_request_is_read_come_in_the_dialect() {
    let mut sim = Sim::new(1, &config(r#"{"header_hold":"on"}"#), &Rc::default());
    sim.headers("POST", CHAT, &[], false, 0);
    sim.body(b"{", false);
    sim.respond(413, &[("content-type", "text/plain")], false);
    sim.answer(b"Payload Too Large", true);
    assert_eq!(sim.client_status(), 413);
    assert_eq!(sim.client_json()["error"]["message"], "Payload Too Large");
}

#[test]
fn compressed_answers_are_never_passed_on() {
    for (stream, content_type) in [(true, SSE), (false, JSON)] {
        let mut sim = sent_chat(stream);
        sim.respond(200, &[content_type, ("content-encoding", "gzip")], false);
        sim.answer(b"\x1f\x8b\x08\x00garbage", false);
        sim.answer(b"more", true);
        assert_eq!(sim.client_status(), 502);
        assert_eq!(sim.client_header("content-encoding"), None);
        let error = sim.client_json();
        assert_eq!(error["error"]["code"], "unsupported_encoding");
        assert!(error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'gzip'"));
    }
}

#[test]
fn a_unary_answer_over_the_cap_is_a_502() {
    let mut sim = Sim::new(
        1,
        &config(r#"{"header_hold":"on","max_response_bytes":1000}"#),
        &Rc::default(),
    );
    sim.headers("POST", CHAT, &[], false, 0);
    sim.body(&chat_request(false), true);
    sim.respond(200, &[JSON], false);
    assert_eq!(sim.answer(&[b' '; 600], false), Flow::Pause);
    assert_eq!(sim.answer(&[b' '; 600], false), Flow::Continue);
    assert_eq!(sim.answer(&[b' '; 600], true), Flow::Continue);
    assert_eq!(sim.client_status(), 502);
    assert_eq!(sim.client_json()["error"]["code"], "response_too_large");
    assert_eq!(sim.envoy.properties["outcome"], "response_too_large");
}

// --- Streams -----------------------------------------------------------------------------------

#[test]
fn keepalives_leave_in_the_same_callback() {
    let mut sim = sent_chat(true);
    sim.respond(200, &[SSE], false);
    sim.answer(b": ping\n\n", false);
    assert_eq!(sim.client_body, b": keepalive\n\n");
    sim.answer(
        b"event: keepalive\ndata: {\"type\":\"keepalive\",\"sequence_number\":4}\n\n",
        false,
    );
    assert_eq!(sim.client_body, b": keepalive\n\n: keepalive\n\n");
    sim.answer(&completed_stream("ok"), true);
    assert_eq!(chat_text(&chat_chunks(&sim.client_body)), "ok");
    sim.exchange.done(&mut sim.envoy);
    assert_eq!(sim.count(Counter::Keepalives), 2);
    assert_eq!(sim.count(Counter::StreamsActive), 0);
}

#[test]
fn a_stream_reset_before_its_end_is_counted_aborted() {
    let mut sim = sent_chat(true);
    sim.respond(200, &[SSE], false);
    sim.answer(&completed_stream("ok")[..60], false);
    sim.exchange.done(&mut sim.envoy);
    assert_eq!(sim.count(Counter::StreamsAborted), 1);
    assert_eq!(sim.envoy.properties["outcome"], "aborted");
}

// --- The Interactions surface ------------------------------------------------------------------

#[test]
fn cancel_and_delete_go_to_the_responses_api() {
    let config = config(r#"{"header_hold":"on"}"#);
    let mut cancel = Sim::new(1, &config, &Rc::default());
    cancel.headers("POST", "/v1beta/interactions/resp_1/cancel", &[], false, 0);
    assert_eq!(
        cancel.upstream_header(":path").as_deref(),
        Some("/v1/responses/resp_1/cancel")
    );
    cancel.body(b"", true);
    cancel.respond(200, &[JSON], false);
    cancel.answer(
        json!({"id": "resp_1", "object": "response", "status": "cancelled", "output": []})
            .to_string()
            .as_bytes(),
        true,
    );
    assert_eq!(cancel.client_json()["status"], "cancelled");

    let mut delete = Sim::new(2, &config, &Rc::default());
    delete.headers("DELETE", "/v1beta/interactions/resp_1", &[], true, 0);
    assert_eq!(
        delete.upstream_header(":path").as_deref(),
        Some("/v1/responses/resp_1")
    );
    delete.respond(200, &[JSON], false);
    delete.answer(
        br#"{"id":"resp_1","object":"response.deleted","deleted":true}"#,
        true,
    );
    assert_eq!(delete.client_json(), json!({}));

    let mut missing = Sim::new(3, &config, &Rc::default());
    missing.headers("DELETE", "/v1beta/interactions/resp_2", &[], true, 0);
    missing.respond(404, &[JSON], false);
    missing.answer(
        br#"{"error":{"message":"No response found","type":"invalid_request_error"}}"#,
        true,
    );
    assert_eq!(missing.client_status(), 404);
    assert_eq!(missing.client_json()["error"]["status"], "NOT_FOUND");
}

#[test]
fn the_interactions_create_path_with_a_trailing_slash_is_translated() {
    let mut sim = Sim::new(1, &config(r#"{"header_hold":"on"}"#), &Rc::default());
    sim.headers("POST", "/v1beta/interactions/", &[], false, 0);
    sim.body(br#"{"model":"m","input":"hi","stream":true}"#, true);
    let sent: Value = serde_json::from_slice(&sim.upstream_body).unwrap();
    assert_eq!(sent["input"], "hi");
    assert_eq!(sent["stream"], true);
    assert_eq!(
        sim.upstream_header(":path").as_deref(),
        Some("/v1/responses")
    );
}

#[test]
fn passthrough_requests_are_untouched() {
    let mut sim = Sim::new(1, &config("{}"), &Rc::default());
    sim.headers(
        "POST",
        "/v1/responses",
        &[("accept-encoding", "gzip")],
        false,
        0,
    );
    assert_eq!(
        sim.upstream_header("accept-encoding").as_deref(),
        Some("gzip")
    );
    assert_eq!(sim.body(b"{}", true), Flow::Continue);
    sim.respond(200, &[SSE, ("content-encoding", "gzip")], false);
    sim.answer(b"\x1f\x8b", true);
    assert_eq!(sim.client_body, b"\x1f\x8b");
    assert_eq!(
        sim.client_header("content-encoding").as_deref(),
        Some("gzip")
    );
}

#[test]
fn header_hold_is_on_off_or_detect() {
    assert_eq!(config("{}").header_hold, HeaderHold::Detect);
}

// --- Anthropic Messages ----------------------------------------------------------------------

const MESSAGES: &str = "/v1/messages";

fn anthropic_request(extra: Value) -> Vec<u8> {
    let mut body = json!({"model": "m", "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}]});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    serde_json::to_vec(&body).unwrap()
}

#[test]
fn anthropic_create_is_translated_and_streamed_back_as_messages_events() {
    let config = config(r#"{"header_hold":"on"}"#);
    let worker = Rc::new(Worker::default());
    let mut sim = Sim::new(1, &config, &worker);
    sim.headers(
        "POST",
        MESSAGES,
        &[("anthropic-version", "2023-06-01")],
        false,
        0,
    );
    assert!(sim.request_paused);
    sim.body(&anthropic_request(json!({"stream": true})), true);
    assert_eq!(
        sim.upstream_header(":path").as_deref(),
        Some("/v1/responses")
    );
    assert_eq!(
        sim.upstream_header("x-envoy-original-path").as_deref(),
        Some(MESSAGES)
    );
    let sent: Value = serde_json::from_slice(&sim.upstream_body).unwrap();
    assert_eq!(
        (sent["max_output_tokens"].clone(), sent["stream"].clone()),
        (json!(64), json!(true))
    );
    sim.respond(200, &[SSE], false);
    sim.answer(&completed_stream("Hello"), true);
    let body = String::from_utf8(sim.client_body.clone()).unwrap();
    assert!(body.starts_with("event: message_start\n"), "{body}");
    assert!(body.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    assert!(body.contains(r#""delta":{"type":"text_delta","text":"Hello"}"#));
    assert_eq!(sim.count(Counter::Streams(Dialect::Anthropic)), 1);
    assert_eq!(
        sim.envoy.properties.get("dialect").map(String::as_str),
        Some("anthropic")
    );
}

#[test]
fn anthropic_unary_answer_and_failure_status() {
    let config = config(r#"{"header_hold":"on"}"#);
    let worker = Rc::new(Worker::default());
    let mut sim = Sim::new(1, &config, &worker);
    sim.headers("POST", MESSAGES, &[], false, 0);
    sim.body(&anthropic_request(json!({})), true);
    sim.respond(200, &[JSON], false);
    sim.answer(object("completed", "Hi").to_string().as_bytes(), true);
    let message = sim.client_json();
    assert_eq!(message["type"], "message");
    assert_eq!(message["content"], json!([{"type": "text", "text": "Hi"}]));
    assert_eq!(message["stop_reason"], "end_turn");
    assert_eq!(sim.count(Counter::Unary(Dialect::Anthropic)), 1);

    let mut failed = Sim::new(2, &config, &worker);
    failed.headers("POST", MESSAGES, &[], false, 0);
    failed.body(&anthropic_request(json!({})), true);
    failed.respond(429, &[JSON], false);
    failed.answer(
        br#"{"error":{"message":"Slow down","type":"requests","code":"rate_limit_exceeded"}}"#,
        true,
    );
    assert_eq!(failed.client_status(), 429);
    assert_eq!(
        failed.client_json(),
        json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down"}})
    );
}

#[test]
fn anthropic_refusals_are_in_anthropics_shape_and_nothing_goes_upstream() {
    let config = config(r#"{"header_hold":"on"}"#);
    let worker = Rc::new(Worker::default());
    let mut sim = Sim::new(1, &config, &worker);
    sim.headers("POST", MESSAGES, &[], false, 0);
    sim.body(&anthropic_request(json!({"top_k": 5})), true);
    let (status, body) = sim.reply_json();
    assert_eq!(status, 400);
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("'top_k'"));
    assert!(sim.upstream_body.is_empty());

    // count_tokens: read to its end, then answered here.
    let mut count = Sim::new(2, &config, &worker);
    count.headers("POST", "/v1/messages/count_tokens", &[], false, 0);
    assert!(count.request_paused && count.envoy.reply.is_none());
    count.body(&anthropic_request(json!({})), true);
    let (status, body) = count.reply_json();
    assert_eq!(status, 404);
    assert_eq!(body["error"]["type"], "not_found_error");
    assert!(count.upstream_headers.is_none());
    assert_eq!(count.count(Counter::RequestsRejected), 1);

    // Without a body, or where headers cannot wait: at once.
    let mut get = Sim::new(3, &config, &worker);
    get.headers("GET", "/v1/messages/batches", &[], true, 0);
    assert_eq!(get.reply_json().0, 404);
}
