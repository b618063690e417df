//! Plugin configuration: the JSON given in Envoy's `configuration` field, its defaults, its
//! validation (every message names the field at fault) and the per-request dialect selection.

use crate::json::{push_str, Fields};
use crate::request::{decimal, ParticipantNames, RequestOptions};
use crate::{anthropic, chat, interactions};
use serde_json::value::RawValue;

/// The output dialect of one response stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Leave the response untouched.
    Passthrough,
    /// OpenAI Chat Completions chunks.
    Chat,
    /// Google Gemini Interactions events.
    Interactions,
    /// Anthropic Messages events.
    Anthropic,
}

impl Dialect {
    /// Parses a dialect name as used in the configuration and the selection header.
    pub fn parse(name: &str) -> Option<Dialect> {
        match name.trim() {
            "passthrough" => Some(Dialect::Passthrough),
            "chat" => Some(Dialect::Chat),
            "interactions" => Some(Dialect::Interactions),
            "anthropic" => Some(Dialect::Anthropic),
            _ => None,
        }
    }

    /// The dialect's name, as in the configuration and in metric names.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Passthrough => "passthrough",
            Dialect::Chat => "chat",
            Dialect::Interactions => "interactions",
            Dialect::Anthropic => "anthropic",
        }
    }
}

/// What to send when the upstream ends (EOF or `[DONE]`) without a terminal event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TruncatedPolicy {
    /// An in-band error (`stream_truncated` in Chat, `aborted` in Interactions).
    Error,
    /// A normal finish (`stop` / `completed`), as LiteLLM does.
    Finish,
}

/// Where Chat usage goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsagePlacement {
    /// A last chunk with `"choices":[]`, as OpenAI sends with `stream_options.include_usage`.
    Chunk,
    /// On the chunk that carries `finish_reason`.
    Finish,
    /// Not sent.
    Omit,
}

/// What to do with a `data:` payload that is not valid JSON (or not valid UTF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidEventPolicy {
    /// Skip it, count it, log once per stream.
    Skip,
    /// End the stream in-band with an `invalid_event` error.
    Error,
}

/// Knobs that shape one transcoded stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamOptions {
    /// Cap on one upstream event (its partial line plus data held between chunks), in bytes.
    pub max_event_bytes: usize,
    /// Whether reasoning text is forwarded (`reasoning_content` in Chat, thought steps in
    /// Interactions).
    pub emit_reasoning: bool,
    /// Ending for an upstream that stops without a terminal event.
    pub on_truncated: TruncatedPolicy,
    /// Placement of Chat usage.
    pub chat_usage: UsagePlacement,
    /// Handling of unparsable events.
    pub invalid_events: InvalidEventPolicy,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            emit_reasoning: true,
            on_truncated: TruncatedPolicy::Error,
            chat_usage: UsagePlacement::Chunk,
            invalid_events: InvalidEventPolicy::Skip,
        }
    }
}

/// Default cap on one upstream event: 1 MiB.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 1 << 20;
/// Largest accepted `max_event_bytes`: 64 MiB.
const MAX_MAX_EVENT_BYTES: usize = 64 << 20;

/// Which Chat streams carry usage, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatUsage {
    /// As the request asked: a usage chunk when the client sent
    /// `stream_options.include_usage: true` (as OpenAI does), none otherwise.
    AsRequested,
    /// Always, in the given place.
    Always(UsagePlacement),
}

impl ChatUsage {
    /// Where the usage of one stream goes; `include_usage` is what the request asked, `None` when
    /// the filter did not read the request (it was not translated).
    pub fn placement(self, include_usage: Option<bool>) -> UsagePlacement {
        match self {
            ChatUsage::AsRequested if include_usage == Some(true) => UsagePlacement::Chunk,
            ChatUsage::AsRequested => UsagePlacement::Omit,
            ChatUsage::Always(placement) => placement,
        }
    }
}

/// How the filter may hold a request's headers while it reads the body it translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderHold {
    /// Envoy holds headers and still delivers the body (`allow_on_headers_stop_iteration: true`
    /// on the Wasm `PluginConfig`): every translated request waits for its body.
    On,
    /// Envoy cannot hold headers (Istio `WasmPlugin`, Envoy Gateway `EnvoyExtensionPolicy`):
    /// headers are forwarded before the body, at once.
    Off,
    /// Not stated: each worker finds out from its translated requests (see `exchange`).
    Detect,
}

/// Default cap on a buffered client request body: 8 MiB.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 8 << 20;
/// Largest accepted `max_request_bytes`: 64 MiB.
const MAX_MAX_REQUEST_BYTES: usize = 64 << 20;
/// Default cap on a buffered unary (non-streaming) answer: 8 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 << 20;
/// Largest accepted `max_response_bytes`: 64 MiB.
const MAX_MAX_RESPONSE_BYTES: usize = 64 << 20;

/// The whole plugin configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Dialect for requests that neither the header nor the path select.
    pub default_dialect: Dialect,
    /// Request header that selects the dialect (lower case).
    pub dialect_header: String,
    /// Whether Chat and Interactions requests are rewritten into Responses requests.
    pub translate_requests: bool,
    /// Upstream path of translated requests (`/v1/responses`, or e.g. Azure's
    /// `/openai/v1/responses`).
    pub responses_path: String,
    /// Cap on a client request body buffered for translation, in bytes.
    pub max_request_bytes: usize,
    /// Cap on a unary answer buffered for translation, in bytes.
    pub max_response_bytes: usize,
    /// Whether Envoy holds request headers for the filter (stated, or detected).
    pub header_hold: HeaderHold,
    /// Request translation options.
    pub request: RequestOptions,
    /// Which Chat streams carry usage.
    pub chat_usage: ChatUsage,
    /// Per-stream knobs (their `chat_usage` is resolved per request by
    /// [`Config::stream_options`]).
    pub stream: StreamOptions,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            default_dialect: Dialect::Passthrough,
            dialect_header: "x-transcode-to".to_string(),
            translate_requests: true,
            responses_path: "/v1/responses".to_string(),
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            header_hold: HeaderHold::Detect,
            request: RequestOptions::default(),
            chat_usage: ChatUsage::AsRequested,
            stream: StreamOptions::default(),
        }
    }
}

/// The configuration keys, in documentation order.
pub const KEYS: [&str; 14] = [
    "default_dialect",
    "dialect_header",
    "translate_requests",
    "responses_path",
    "header_hold",
    "max_request_bytes",
    "max_response_bytes",
    "drop_unsupported_fields",
    "participant_names",
    "max_event_bytes",
    "emit_reasoning",
    "on_truncated",
    "chat_usage",
    "invalid_events",
];

impl Config {
    /// Parses the plugin configuration. Empty input or `{}` gives every default. Unknown keys and
    /// bad values are errors whose message names the field.
    pub fn parse(bytes: &[u8]) -> Result<Config, String> {
        let mut config = Config::default();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(config);
        }
        let fields = std::str::from_utf8(bytes)
            .ok()
            .and_then(Fields::parse)
            .ok_or("config: not a JSON object")?;
        if let Some(key) = fields.duplicate() {
            return Err(["config: ", &quoted(key), " is given more than once"].concat());
        }
        for (key, value) in &fields.entries {
            config.set(key, value)?;
        }
        Ok(config)
    }

    /// The options of one stream: the configured knobs, with Chat usage placed as the request
    /// asked (`include_usage`: `None` when the request was not read).
    pub fn stream_options(&self, include_usage: Option<bool>) -> StreamOptions {
        StreamOptions {
            chat_usage: self.chat_usage.placement(include_usage),
            ..self.stream
        }
    }

    fn set(&mut self, key: &str, value: &RawValue) -> Result<(), String> {
        let bad = |expected: &str| {
            [
                "config: ",
                &quoted(key),
                " must be ",
                expected,
                ", got ",
                value.get(),
            ]
            .concat()
        };
        let text = || serde_json::from_str::<String>(value.get()).ok();
        let choice = |choices: &str| text().ok_or_else(|| bad(choices));
        let flag = || match value.get() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(bad("true or false")),
        };
        let bytes = |max: usize| {
            serde_json::from_str::<u64>(value.get())
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| bad(&["an integer from 1 to ", &decimal(max as u64)].concat()))
        };
        match key {
            "default_dialect" => {
                let expected = r#""passthrough", "chat", "interactions" or "anthropic""#;
                self.default_dialect =
                    Dialect::parse(&choice(expected)?).ok_or_else(|| bad(expected))?;
            }
            "dialect_header" => {
                let name = text().unwrap_or_default();
                let valid = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !valid {
                    return Err(bad("a non-empty header name (letters, digits, '-', '_')"));
                }
                self.dialect_header = name.to_ascii_lowercase();
            }
            "translate_requests" => self.translate_requests = flag()?,
            "responses_path" => {
                let path = text().unwrap_or_default();
                let valid = path.starts_with('/')
                    && path
                        .bytes()
                        .all(|b| b.is_ascii_graphic() && b != b'#' && b != b'\\');
                if !valid {
                    return Err(bad("a path starting with '/' (printable ASCII, no '#')"));
                }
                self.responses_path = path;
            }
            "header_hold" => {
                let expected = r#""on", "off" or "detect""#;
                self.header_hold = match choice(expected)?.as_str() {
                    "on" => HeaderHold::On,
                    "off" => HeaderHold::Off,
                    "detect" => HeaderHold::Detect,
                    _ => return Err(bad(expected)),
                };
            }
            "max_request_bytes" => self.max_request_bytes = bytes(MAX_MAX_REQUEST_BYTES)?,
            "max_response_bytes" => self.max_response_bytes = bytes(MAX_MAX_RESPONSE_BYTES)?,
            "drop_unsupported_fields" => {
                let known: Vec<&str> = chat::request::UNSUPPORTED_FIELDS
                    .iter()
                    .chain(interactions::request::UNSUPPORTED_FIELDS)
                    .chain(anthropic::request::UNSUPPORTED_FIELDS)
                    .copied()
                    .collect();
                let expected = ["a list of unsupported fields: ", &known.join(", ")].concat();
                let names: Vec<String> =
                    serde_json::from_str(value.get()).map_err(|_| bad(&expected))?;
                if let Some(name) = names.iter().find(|n| !known.contains(&n.as_str())) {
                    let why = match name.as_str() {
                        "stop" | "generation_config.stop_sequences" | "stop_sequences" => {
                            " is not a field the filter refuses (it honours stop sequences); "
                        }
                        "messages[].name" => {
                            " is not a field the filter refuses (see \"participant_names\"); "
                        }
                        _ => " is not a field the filter refuses; ",
                    };
                    return Err([
                        "config: \"drop_unsupported_fields\": ",
                        &quoted(name),
                        why,
                        &expected,
                    ]
                    .concat());
                }
                self.request.drop_unsupported_fields = names;
            }
            "participant_names" => {
                let expected = r#""refuse", "drop" or "prefix""#;
                self.request.participant_names = match choice(expected)?.as_str() {
                    "refuse" => ParticipantNames::Refuse,
                    "drop" => ParticipantNames::Drop,
                    "prefix" => ParticipantNames::Prefix,
                    _ => return Err(bad(expected)),
                };
            }
            "max_event_bytes" => self.stream.max_event_bytes = bytes(MAX_MAX_EVENT_BYTES)?,
            "emit_reasoning" => self.stream.emit_reasoning = flag()?,
            "on_truncated" => {
                let expected = r#""error" or "finish""#;
                self.stream.on_truncated = match choice(expected)?.as_str() {
                    "error" => TruncatedPolicy::Error,
                    "finish" => TruncatedPolicy::Finish,
                    _ => return Err(bad(expected)),
                };
            }
            "chat_usage" => {
                let expected = r#""request", "chunk", "finish" or "omit""#;
                self.chat_usage = match choice(expected)?.as_str() {
                    "request" => ChatUsage::AsRequested,
                    "chunk" => ChatUsage::Always(UsagePlacement::Chunk),
                    "finish" => ChatUsage::Always(UsagePlacement::Finish),
                    "omit" => ChatUsage::Always(UsagePlacement::Omit),
                    _ => return Err(bad(expected)),
                };
            }
            "invalid_events" => {
                let expected = r#""skip" or "error""#;
                self.stream.invalid_events = match choice(expected)?.as_str() {
                    "skip" => InvalidEventPolicy::Skip,
                    "error" => InvalidEventPolicy::Error,
                    _ => return Err(bad(expected)),
                };
            }
            _ => {
                return Err([
                    "config: unknown field ",
                    &quoted(key),
                    "; known fields: ",
                    &KEYS.join(", "),
                ]
                .concat())
            }
        }
        Ok(())
    }

    /// Chooses the dialect of one request: the selection header if it names a dialect, else the
    /// path (`/v1/chat/completions` → chat, `/v1/interactions` and `/v1beta/interactions` →
    /// interactions, `/v1/messages` and the paths below it → anthropic), else the configured
    /// default.
    pub fn select_dialect(&self, header: Option<&str>, path: &str) -> Dialect {
        if let Some(dialect) = header.and_then(Dialect::parse) {
            return dialect;
        }
        let path = crate::route::base(path);
        let under = |prefix: &str| {
            path.strip_prefix(prefix).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with('/') || rest.starts_with(':')
            })
        };
        if path == "/v1/chat/completions" {
            Dialect::Chat
        } else if under("/v1/interactions") || under("/v1beta/interactions") {
            Dialect::Interactions
        } else if under("/v1/messages") {
            Dialect::Anthropic
        } else {
            self.default_dialect
        }
    }
}

/// A name as a JSON string literal, quoted and escaped, for error messages.
fn quoted(name: &str) -> String {
    let mut out = Vec::with_capacity(name.len() + 2);
    push_str(&mut out, name);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_empty_object_give_defaults() {
        assert_eq!(Config::parse(b"").unwrap(), Config::default());
        assert_eq!(Config::parse(b" {} ").unwrap(), Config::default());
    }

    #[test]
    fn every_field_parses() {
        let config = Config::parse(
            br#"{"default_dialect":"chat","dialect_header":"X-Out","max_event_bytes":4096,
                "emit_reasoning":false,"on_truncated":"finish","chat_usage":"omit","invalid_events":"error",
                "translate_requests":false,"responses_path":"/openai/v1/responses?api-version=preview",
                "max_request_bytes":1024,"drop_unsupported_fields":[],"header_hold":"on",
                "max_response_bytes":2048,"participant_names":"prefix"}"#,
        )
        .unwrap();
        assert_eq!(config.request.participant_names, ParticipantNames::Prefix);
        assert_eq!(config.default_dialect, Dialect::Chat);
        assert_eq!(config.dialect_header, "x-out");
        assert!(!config.translate_requests);
        assert_eq!(
            config.responses_path,
            "/openai/v1/responses?api-version=preview"
        );
        assert_eq!(config.max_request_bytes, 1024);
        assert_eq!(config.max_response_bytes, 2048);
        assert_eq!(config.header_hold, HeaderHold::On);
        assert_eq!(config.chat_usage, ChatUsage::Always(UsagePlacement::Omit));
        assert_eq!(
            config.stream_options(Some(true)),
            StreamOptions {
                max_event_bytes: 4096,
                emit_reasoning: false,
                on_truncated: TruncatedPolicy::Finish,
                chat_usage: UsagePlacement::Omit,
                invalid_events: InvalidEventPolicy::Error,
            }
        );
    }

    #[test]
    fn participant_names_name_the_field_when_bad() {
        assert_eq!(
            Config::default().request.participant_names,
            ParticipantNames::Refuse
        );
        let err = Config::parse(br#"{"participant_names":"keep"}"#).unwrap_err();
        assert!(err.contains("\"participant_names\""), "{err}");
        let err = Config::parse(br#"{"drop_unsupported_fields":["messages[].name"]}"#).unwrap_err();
        assert!(err.contains("\"participant_names\""), "{err}");
        let err = Config::parse(br#"{"drop_unsupported_fields":["stop"]}"#).unwrap_err();
        assert!(err.contains("honours stop sequences"), "{err}");
    }

    #[test]
    fn chat_usage_follows_the_request_by_default() {
        let config = Config::default();
        assert_eq!(
            config.stream_options(Some(true)).chat_usage,
            UsagePlacement::Chunk
        );
        assert_eq!(
            config.stream_options(Some(false)).chat_usage,
            UsagePlacement::Omit
        );
        assert_eq!(config.stream_options(None).chat_usage, UsagePlacement::Omit);
        let always = Config::parse(br#"{"chat_usage":"finish"}"#).unwrap();
        assert_eq!(
            always.stream_options(Some(false)).chat_usage,
            UsagePlacement::Finish
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases: [(&[u8], &str); 13] = [
            (br#"{"header_hold":true}"#, "\"header_hold\" must be \"on\""),
            (
                br#"{"max_response_bytes":0}"#,
                "\"max_response_bytes\" must be an integer from 1",
            ),
            (
                br#"{"translate_requests":1}"#,
                "\"translate_requests\" must be true or false",
            ),
            (
                br#"{"responses_path":"v1/responses"}"#,
                "\"responses_path\" must be a path",
            ),
            (
                br#"{"max_request_bytes":0}"#,
                "\"max_request_bytes\" must be an integer from 1",
            ),
            (
                br#"{"drop_unsupported_fields":["messages"]}"#,
                "\"messages\" is not a field the filter refuses",
            ),
            (br#"{"chat_usage":"always"}"#, "\"chat_usage\" must be"),
            (
                br#"{"max_event_byte":1}"#,
                "unknown field \"max_event_byte\"",
            ),
            (
                br#"{"max_event_bytes":0}"#,
                "\"max_event_bytes\" must be an integer from 1",
            ),
            (
                br#"{"default_dialect":"gemini"}"#,
                "\"default_dialect\" must be",
            ),
            (
                br#"{"emit_reasoning":"yes"}"#,
                "\"emit_reasoning\" must be true or false",
            ),
            (br#"{"dialect_header":"a b"}"#, "\"dialect_header\" must be"),
            (br#"[1]"#, "not a JSON object"),
        ];
        for (input, expected) in cases {
            let err = Config::parse(input).unwrap_err();
            assert!(
                err.contains(expected),
                "{err:?} should contain {expected:?}"
            );
        }
    }

    #[test]
    fn dialect_selection_order_is_header_path_default() {
        let config = Config::default();
        assert_eq!(
            config.select_dialect(None, "/v1/chat/completions"),
            Dialect::Chat
        );
        assert_eq!(
            config.select_dialect(None, "/v1/chat/completions?x=1"),
            Dialect::Chat
        );
        assert_eq!(
            config.select_dialect(None, "/v1/chat/completions/"),
            Dialect::Chat
        );
        assert_eq!(
            config.select_dialect(None, "/v1beta/interactions/"),
            Dialect::Interactions
        );
        assert_eq!(
            config.select_dialect(None, "/v1beta/interactions"),
            Dialect::Interactions
        );
        assert_eq!(
            config.select_dialect(None, "/v1/interactions/abc?stream=true"),
            Dialect::Interactions
        );
        assert_eq!(
            config.select_dialect(None, "/v1/interactionsx"),
            Dialect::Passthrough
        );
        assert_eq!(
            config.select_dialect(None, "/v1/responses"),
            Dialect::Passthrough
        );
        for path in [
            "/v1/messages",
            "/v1/messages/",
            "/v1/messages?beta=true",
            "/v1/messages/count_tokens",
        ] {
            assert_eq!(
                config.select_dialect(None, path),
                Dialect::Anthropic,
                "{path}"
            );
        }
        assert_eq!(
            config.select_dialect(None, "/v1/messagesx"),
            Dialect::Passthrough
        );
        assert_eq!(
            config.select_dialect(Some("anthropic"), "/v1/responses"),
            Dialect::Anthropic
        );
        assert_eq!(
            config.select_dialect(Some("chat"), "/v1/responses"),
            Dialect::Chat
        );
        assert_eq!(
            config.select_dialect(Some("passthrough"), "/v1/chat/completions"),
            Dialect::Passthrough
        );
        assert_eq!(
            config.select_dialect(Some("bogus"), "/v1/chat/completions"),
            Dialect::Chat
        );
        let chat_default = Config {
            default_dialect: Dialect::Chat,
            ..Config::default()
        };
        assert_eq!(
            chat_default.select_dialect(None, "/v1/responses"),
            Dialect::Chat
        );
    }
}
