//! Plugin configuration: the JSON given in Envoy's `configuration` field, its defaults, its
//! validation (every message names the field at fault) and the per-request dialect selection.

use serde_json::{Map, Value};

/// The output dialect of one response stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Leave the response untouched.
    Passthrough,
    /// OpenAI Chat Completions chunks.
    Chat,
    /// Google Gemini Interactions events.
    Interactions,
}

impl Dialect {
    /// Parses a dialect name as used in the configuration and the selection header.
    pub fn parse(name: &str) -> Option<Dialect> {
        match name.trim() {
            "passthrough" => Some(Dialect::Passthrough),
            "chat" => Some(Dialect::Chat),
            "interactions" => Some(Dialect::Interactions),
            _ => None,
        }
    }

    /// The dialect's name, as in the configuration and in metric names.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Passthrough => "passthrough",
            Dialect::Chat => "chat",
            Dialect::Interactions => "interactions",
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

/// The whole plugin configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Dialect for requests that neither the header nor the path select.
    pub default_dialect: Dialect,
    /// Request header that selects the dialect (lower case).
    pub dialect_header: String,
    /// Per-stream knobs.
    pub stream: StreamOptions,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            default_dialect: Dialect::Passthrough,
            dialect_header: "x-transcode-to".to_string(),
            stream: StreamOptions::default(),
        }
    }
}

/// The configuration keys, in documentation order.
pub const KEYS: [&str; 7] = [
    "default_dialect",
    "dialect_header",
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
        let map: Map<String, Value> =
            serde_json::from_slice(bytes).map_err(|e| format!("config: not a JSON object: {e}"))?;
        for (key, value) in &map {
            config.set(key, value)?;
        }
        Ok(config)
    }

    fn set(&mut self, key: &str, value: &Value) -> Result<(), String> {
        let bad = |expected: &str| format!("config: {key:?} must be {expected}, got {value}");
        let choice = |choices: &str| value.as_str().ok_or_else(|| bad(choices));
        match key {
            "default_dialect" => {
                let expected = r#""passthrough", "chat" or "interactions""#;
                self.default_dialect =
                    Dialect::parse(choice(expected)?).ok_or_else(|| bad(expected))?;
            }
            "dialect_header" => {
                let name = value.as_str().unwrap_or("");
                let valid = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !valid {
                    return Err(bad("a non-empty header name (letters, digits, '-', '_')"));
                }
                self.dialect_header = name.to_ascii_lowercase();
            }
            "max_event_bytes" => {
                let expected = format!("an integer from 1 to {MAX_MAX_EVENT_BYTES}");
                let n = value
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|n| (1..=MAX_MAX_EVENT_BYTES).contains(n))
                    .ok_or_else(|| bad(&expected))?;
                self.stream.max_event_bytes = n;
            }
            "emit_reasoning" => {
                self.stream.emit_reasoning = value.as_bool().ok_or_else(|| bad("true or false"))?;
            }
            "on_truncated" => {
                let expected = r#""error" or "finish""#;
                self.stream.on_truncated = match choice(expected)? {
                    "error" => TruncatedPolicy::Error,
                    "finish" => TruncatedPolicy::Finish,
                    _ => return Err(bad(expected)),
                };
            }
            "chat_usage" => {
                let expected = r#""chunk", "finish" or "omit""#;
                self.stream.chat_usage = match choice(expected)? {
                    "chunk" => UsagePlacement::Chunk,
                    "finish" => UsagePlacement::Finish,
                    "omit" => UsagePlacement::Omit,
                    _ => return Err(bad(expected)),
                };
            }
            "invalid_events" => {
                let expected = r#""skip" or "error""#;
                self.stream.invalid_events = match choice(expected)? {
                    "skip" => InvalidEventPolicy::Skip,
                    "error" => InvalidEventPolicy::Error,
                    _ => return Err(bad(expected)),
                };
            }
            _ => {
                return Err(format!(
                    "config: unknown field {key:?}; known fields: {}",
                    KEYS.join(", ")
                ))
            }
        }
        Ok(())
    }

    /// Chooses the dialect of one request: the selection header if it names a dialect, else the
    /// path (`/v1/chat/completions` → chat, `/v1/interactions` and `/v1beta/interactions` →
    /// interactions), else the configured default.
    pub fn select_dialect(&self, header: Option<&str>, path: &str) -> Dialect {
        if let Some(dialect) = header.and_then(Dialect::parse) {
            return dialect;
        }
        let path = path.split(['?', '#']).next().unwrap_or(path);
        let under = |prefix: &str| {
            path.strip_prefix(prefix).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with('/') || rest.starts_with(':')
            })
        };
        if path == "/v1/chat/completions" {
            Dialect::Chat
        } else if under("/v1/interactions") || under("/v1beta/interactions") {
            Dialect::Interactions
        } else {
            self.default_dialect
        }
    }
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
                "emit_reasoning":false,"on_truncated":"finish","chat_usage":"omit","invalid_events":"error"}"#,
        )
        .unwrap();
        assert_eq!(config.default_dialect, Dialect::Chat);
        assert_eq!(config.dialect_header, "x-out");
        assert_eq!(
            config.stream,
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
    fn errors_name_the_field() {
        let cases: [(&[u8], &str); 6] = [
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
