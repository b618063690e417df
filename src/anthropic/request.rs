//! An Anthropic Messages request (`POST /v1/messages`, the anthropic SDK's `MessageCreateParams`)
//! rewritten as a Responses API request (`POST /v1/responses`).
//!
//! The body is walked key by key, at every depth: each key is carried over, refused with a 400
//! naming its path (`messages[1].content[0].source.type`), or — for the names in
//! [`UNSUPPORTED_FIELDS`] — dropped when the configuration's `drop_unsupported_fields` lists it.
//! Nothing is dropped silently. A JSON `null` counts as an absent field. Strings and schemas
//! the Responses API takes unchanged are copied raw (compacted).
//!
//! | Messages field | Responses field |
//! |---|---|
//! | `model` (required) | `model` |
//! | `max_tokens` (required) | `max_output_tokens`; below 16 refused (the Responses API minimum), never clamped |
//! | `messages` (required, not empty) | `input` items, in order (below) |
//! | `system`: a string | `instructions` |
//! | `system`: text blocks | a `system` message first in `input`, one `input_text` part per block |
//! | `temperature` (0–1), `top_p` (0–1) | the same, raw |
//! | `metadata.user_id` | `safety_identifier` (what Anthropic uses it for: telling end users apart for abuse detection) |
//! | `stream` | `stream: true` only when true |
//! | `service_tier` `auto` / `standard_only` | `service_tier` `auto` / `default` |
//! | `tools[]` (client tools: `name`, `description`, `input_schema`, `strict`) | `{"type":"function", name, description, "parameters": input_schema, strict}`, `strict` `false` when omitted |
//! | `tools[].cache_control`, `tools[].eager_input_streaming` | accepted, not sent (a caching hint, see below; input is streamed anyway) |
//! | `tools[].defer_loading: true`, `tools[].allowed_callers` other than `["direct"]` | refused: they need Anthropic's tool search and code execution |
//! | `tools[].input_examples` | refused, or dropped as `tools[].input_examples` |
//! | `tools[]` with a `type` other than `custom` (Anthropic-defined and server tools: `bash_…`, `web_search_…`, …) | refused: the answer could not carry their results |
//! | `tool_choice` `auto` / `any` / `none` | `tool_choice` `auto` / `required` / `none` |
//! | `tool_choice` `{"type":"tool","name"}` | `{"type":"function","name"}` |
//! | `tool_choice.disable_parallel_tool_use: true` | `parallel_tool_calls: false` |
//! | `thinking` `{"type":"enabled","budget_tokens"}` | `reasoning.effort` by the budget: below 1024 refused (Anthropic's minimum), up to 7999 `low`, up to 23999 `medium`, from 24000 `high`; `reasoning.summary: "auto"`; `include: ["reasoning.encrypted_content"]` (so that a replayed thinking block carries its reasoning) |
//! | `thinking` `{"type":"adaptive"}` | `reasoning.summary: "auto"` and the same `include`, no effort (the model decides) |
//! | `thinking.display: "omitted"` | no `reasoning.summary` |
//! | `thinking` `{"type":"disabled"}` | nothing (the upstream model's default applies: the Responses API cannot turn reasoning off on every model) |
//! | `output_config.effort` `low` / `medium` / `high` / `xhigh` | `reasoning.effort`, the same word (it wins over the budget rule); `max` refused |
//! | `output_config.format` `{"type":"json_schema","schema"}` | `text.format` `{"type":"json_schema","name":"output","schema","strict":true}` |
//! | `cache_control` (top level and on blocks and tools) | accepted (its shape checked), not sent: the Responses API caches prompt prefixes by itself |
//! | `stop_sequences` (at most 16 non-empty strings of at most 1 KiB) | not sent (the Responses API has none): honoured by the gateway on the answer ([`crate::stop`]: `stop_reason: "stop_sequence"` with the `stop_sequence` that matched), carried in [`Translated::stop`] |
//! | `top_k`, `container`, `context_management`, `mcp_servers`, `diagnostics`, `inference_geo`, `speed` | refused, or dropped when listed; `speed: "standard"` accepted |
//! | any other key, at any depth | refused as unknown |
//!
//! Messages, in order (a message's blocks keep their order: a user message's `tool_result`
//! blocks become items of their own between the message parts around them):
//!
//! | Messages block | Responses input |
//! |---|---|
//! | user / assistant `content` as a string | a `message` item with that role and the string |
//! | user `text` | `input_text` part of a `user` message (`citations` must be absent or empty) |
//! | user `image`, `source` `base64` / `url` | `input_image` with `image_url` a `data:` URL / the URL, `detail: "auto"`; `source` `file` refused (Anthropic file ids mean nothing upstream) |
//! | user `document`, `source` `base64` PDF | `input_file` `{"filename": title or "document.pdf", "file_data": "data:application/pdf;base64,…"}` |
//! | user `document`, `source` `url` | `input_file` `{"file_url"}` |
//! | user `document`, `source` `text` | `input_text` with the document's text |
//! | `document.title` (other than on a base64 PDF), `document.context`, `document.citations.enabled: true`, `source` `content` / `file` | refused |
//! | user `tool_result` `{tool_use_id, content, is_error}` | `function_call_output` `{"call_id": tool_use_id, "output"}`: a string as is, blocks as `input_text` / `input_image` / `input_file` parts, none as `""` |
//! | `tool_result.is_error: true` | the output is preceded by `Error: ` (a first text part, or the string's prefix): the Responses API has no error flag, and agents mark every failed tool run so — the model reads the failure in the output |
//! | assistant `text` | `output_text` part of an `assistant` message (`citations`, echoed from an earlier answer, accepted and not sent) |
//! | assistant `tool_use` `{id, name, input}` | `function_call` `{"call_id": id, name, "arguments": input as compact JSON}` |
//! | assistant `thinking` with a signature this gateway issued | `reasoning` item `{"id", "summary":[{"type":"summary_text","text": thinking}], "encrypted_content"}` (see `stream::SIGNATURE_PREFIX`) |
//! | assistant `thinking` with another signature, `redacted_thinking` | refused, or dropped as `messages[].content[].thinking`: a Responses reasoning item needs the upstream's item id |
//! | a last message from the `assistant` (prefill) | refused: the Responses API cannot continue a partial answer |
//! | any other block type | refused |

use super::stream::SIGNATURE_PREFIX;
use crate::json::{push_raw, push_str, ArrayWriter, Fields, ObjectWriter};
use crate::request::{
    array, bad_type, body_fields, boolean, decimal, is_null, is_string, number_up_to, object,
    only_keys, present, raw_string, stop_sequences, string, unsigned, Path, Refusal, Rejection,
    RequestOptions, Translated,
};
use crate::stop::StopSequences;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Client fields with no Responses equivalent: refused with a 400 naming them, unless the
/// configuration's `drop_unsupported_fields` lists them. `messages[].content[].thinking` stands
/// for thinking blocks this gateway did not sign (and redacted ones), `tools[].input_examples`
/// for any tool's examples.
pub const UNSUPPORTED_FIELDS: &[&str] = &[
    "top_k",
    "container",
    "context_management",
    "mcp_servers",
    "diagnostics",
    "inference_geo",
    "speed",
    THINKING_BLOCK,
    INPUT_EXAMPLES,
];

/// The optional top-level fields this module maps (besides [`UNSUPPORTED_FIELDS`]).
const MAPPED_FIELDS: &[&str] = &[
    "system",
    "temperature",
    "top_p",
    "metadata",
    "stream",
    "service_tier",
    "tools",
    "tool_choice",
    "thinking",
    "output_config",
    "cache_control",
    "stop_sequences",
];

/// The drop name of thinking blocks that cannot be replayed.
const THINKING_BLOCK: &str = "messages[].content[].thinking";
/// The drop name of a tool's `input_examples`.
const INPUT_EXAMPLES: &str = "tools[].input_examples";
/// The smallest `max_output_tokens` the Responses API accepts.
const MIN_OUTPUT_TOKENS: u64 = 16;
/// The most stop sequences a request may give (Anthropic documents no limit; this bounds the
/// matching work per delta).
const MAX_STOP_SEQUENCES: usize = 16;
/// Anthropic's smallest thinking budget.
const MIN_THINKING_BUDGET: u64 = 1024;

/// Translates one client request body into a Responses request.
pub fn translate(body: &[u8], options: &RequestOptions) -> Result<Translated, Rejection> {
    walk(body, options).map_err(|refusal| *refusal)
}

fn walk(body: &[u8], options: &RequestOptions) -> Result<Translated, Refusal> {
    let fields = body_fields(body)?;
    for required in ["model", "max_tokens", "messages"] {
        if fields.get(required).is_none() {
            return Err(Rejection::missing(&Path::top(required)));
        }
    }
    let mut out = Vec::with_capacity(body.len() + 128);
    let mut request = Request::new(&mut out, options);
    for (key, value) in &fields.entries {
        request.field(key, value)?;
    }
    let stop = std::mem::take(&mut request.stop);
    let stream = request.finish();
    Ok(Translated {
        body: out,
        stream,
        include_usage: false,
        stop,
    })
}

/// Why a field of [`UNSUPPORTED_FIELDS`] has no Responses equivalent.
fn unsupported_reason(field: &str) -> &'static str {
    match field {
        "top_k" => "the Responses API has no top-k sampling",
        "container" | "context_management" | "mcp_servers" => {
            "it configures Anthropic's own server-side tools and context, which the Responses API behind this gateway does not run"
        }
        "diagnostics" | "inference_geo" | "speed" => {
            "it is an Anthropic service option with no Responses equivalent"
        }
        THINKING_BLOCK => {
            "only thinking blocks this gateway signed can be replayed (a Responses reasoning item needs the upstream's item id)"
        }
        INPUT_EXAMPLES => "Responses function tools take no input examples",
        _ => "the Responses API has no equivalent",
    }
}

/// Whether an unsupported field's value asks for nothing the Responses API would not do anyway.
fn is_neutral(field: &str, raw: &RawValue) -> bool {
    let mut compact = Vec::new();
    push_raw(&mut compact, raw.get());
    match field {
        "mcp_servers" => compact == b"[]",
        "speed" => compact == br#""standard""#,
        _ => false,
    }
}

/// Refuses an unsupported value (`field` as listed in [`UNSUPPORTED_FIELDS`], `param` its path),
/// unless it is neutral or the configuration drops it.
#[inline(never)]
fn unsupported(
    options: &RequestOptions,
    field: &str,
    param: &Path,
    raw: &RawValue,
) -> Result<(), Refusal> {
    if is_neutral(field, raw) || options.drops(field) {
        return Ok(());
    }
    Err(Rejection::unsupported(param, unsupported_reason(field)))
}

/// The value of a required key.
#[inline(never)]
fn required<'a>(fields: &Fields<'a>, path: &Path, key: &str) -> Result<&'a RawValue, Refusal> {
    present(fields, key).ok_or_else(|| Rejection::missing(&path.key(key)))
}

/// A required string member, raw (quotes and escapes kept).
#[inline(never)]
fn required_raw<'a>(fields: &Fields<'a>, path: &Path, key: &str) -> Result<&'a str, Refusal> {
    raw_string(required(fields, path, key)?, &path.key(key))
}

/// A required string member, unescaped.
#[inline(never)]
fn required_text<'a>(fields: &Fields<'a>, path: &Path, key: &str) -> Result<Cow<'a, str>, Refusal> {
    string(required(fields, path, key)?, &path.key(key))
}

/// The object's required `type`, as a string.
#[inline(never)]
fn type_of<'a>(fields: &Fields<'a>, path: &Path) -> Result<Cow<'a, str>, Refusal> {
    required_text(fields, path, "type")
}

/// Checks a `cache_control` hint (`{"type":"ephemeral","ttl"}`), which is not sent: the Responses
/// API caches prompt prefixes by itself.
#[inline(never)]
fn cache_control(fields: &Fields, path: &Path) -> Result<(), Refusal> {
    match present(fields, "cache_control") {
        Some(raw) => cache_hint(raw, &path.key("cache_control")),
        None => Ok(()),
    }
}

/// Checks one `cache_control` value at `path`.
#[inline(never)]
fn cache_hint(raw: &RawValue, path: &Path) -> Result<(), Refusal> {
    let hint = object(raw, path)?;
    only_keys(&hint, path, &["type", "ttl"])?;
    if type_of(&hint, path)? != "ephemeral" {
        return Err(bad_type(path, "expected 'ephemeral'"));
    }
    if let Some(ttl) = present(&hint, "ttl") {
        string(ttl, &path.key("ttl"))?;
    }
    Ok(())
}

/// The Responses request being written, and the fields written once the walk is over because
/// several client fields make them (or they must come in a given place).
struct Request<'o> {
    object: ObjectWriter<'o>,
    options: &'o RequestOptions,
    max_output_tokens: u64,
    system: Option<Vec<u8>>,
    input: Vec<u8>,
    stream: bool,
    parallel_tool_calls: Option<bool>,
    reasoning: Option<Reasoning>,
    effort: Option<&'static str>,
    text_format: Option<Vec<u8>>,
    stop: StopSequences,
}

/// What `thinking` asks for.
#[derive(Debug, Clone, Copy)]
struct Reasoning {
    effort: Option<&'static str>,
    summary: bool,
}

impl<'o> Request<'o> {
    fn new(out: &'o mut Vec<u8>, options: &'o RequestOptions) -> Self {
        Request {
            object: ObjectWriter::new(out),
            options,
            max_output_tokens: 0,
            system: None,
            input: Vec::new(),
            stream: false,
            parallel_tool_calls: None,
            reasoning: None,
            effort: None,
            text_format: None,
            stop: StopSequences::default(),
        }
    }

    /// Maps, refuses or drops one top-level field.
    fn field(&mut self, key: &str, value: &RawValue) -> Result<(), Refusal> {
        let at = &Path::top(key);
        if is_null(value) && !matches!(key, "model" | "messages" | "max_tokens") {
            let known = MAPPED_FIELDS.contains(&key) || UNSUPPORTED_FIELDS.contains(&key);
            return if known {
                Ok(())
            } else {
                Err(Rejection::unknown(at))
            };
        }
        match key {
            "model" => self.object.raw(key, raw_string(value, at)?),
            "max_tokens" => {
                let n = unsigned(value, at)?;
                if n < MIN_OUTPUT_TOKENS {
                    return Err(Rejection::invalid_value(
                        at,
                        &[
                            "the Responses API requires at least ",
                            &decimal(MIN_OUTPUT_TOKENS),
                            " output tokens, got ",
                            &decimal(n),
                        ],
                    ));
                }
                self.max_output_tokens = n;
            }
            "messages" => {
                self.input = Conversation {
                    options: self.options,
                }
                .translate(value)?
            }
            "system" => {
                if is_string(value) {
                    self.object.raw("instructions", raw_string(value, at)?);
                } else {
                    self.system = Some(system_item(value)?);
                }
            }
            "temperature" | "top_p" => self.object.raw(key, number_up_to(value, at, 1)?),
            "metadata" => {
                let metadata = object(value, at)?;
                only_keys(&metadata, at, &["user_id"])?;
                if let Some(user) = present(&metadata, "user_id") {
                    let user = raw_string(user, &at.key("user_id"))?;
                    self.object.raw("safety_identifier", user);
                }
            }
            "stream" => self.stream = boolean(value, at)?,
            "service_tier" => {
                let tier = match string(value, at)?.as_ref() {
                    "auto" => "auto",
                    "standard_only" => "default",
                    _ => {
                        return Err(Rejection::invalid_value(
                            at,
                            &["expected 'auto' or 'standard_only'"],
                        ))
                    }
                };
                self.object.str(key, tier);
            }
            "tools" => tools(self.object.key("tools"), value, self.options)?,
            "tool_choice" => {
                self.parallel_tool_calls = tool_choice(self.object.key("tool_choice"), value)?;
            }
            "thinking" => self.reasoning = thinking(value)?,
            "output_config" => self.output_config(value)?,
            "stop_sequences" => self.stop = stop_sequences(value, at, MAX_STOP_SEQUENCES, false)?,
            "cache_control" => cache_hint(value, at)?,
            _ if UNSUPPORTED_FIELDS.contains(&key) => unsupported(self.options, key, at, value)?,
            _ => return Err(Rejection::unknown(at)),
        }
        Ok(())
    }

    fn output_config(&mut self, raw: &RawValue) -> Result<(), Refusal> {
        const PATH: Path = Path::top("output_config");
        let fields = object(raw, &PATH)?;
        only_keys(&fields, &PATH, &["effort", "format"])?;
        if let Some(effort) = present(&fields, "effort") {
            let at = &PATH.key("effort");
            self.effort = Some(match string(effort, at)?.as_ref() {
                "low" => "low",
                "medium" => "medium",
                "high" => "high",
                "xhigh" => "xhigh",
                "max" => {
                    return Err(Rejection::unsupported(
                        at,
                        "the Responses API has no effort above 'xhigh'",
                    ))
                }
                _ => {
                    return Err(Rejection::invalid_value(
                        at,
                        &["expected 'low', 'medium', 'high', 'xhigh' or 'max'"],
                    ))
                }
            });
        }
        if let Some(format) = present(&fields, "format") {
            let at = &PATH.key("format");
            let format = object(format, at)?;
            only_keys(&format, at, &["type", "schema"])?;
            if type_of(&format, at)? != "json_schema" {
                return Err(bad_type(at, "expected 'json_schema'"));
            }
            let schema = required(&format, at, "schema")?;
            object(schema, &at.key("schema"))?;
            let mut out = Vec::with_capacity(schema.get().len() + 64);
            let mut text = ObjectWriter::new(&mut out);
            text.str("type", "json_schema");
            text.str("name", "output");
            text.raw("schema", schema.get());
            text.bool("strict", true);
            text.end();
            self.text_format = Some(out);
        }
        Ok(())
    }

    /// Writes the fields several client fields make and closes the object; returns whether the
    /// client asked for a stream.
    fn finish(mut self) -> bool {
        self.object.u64("max_output_tokens", self.max_output_tokens);
        let input = self.object.key("input");
        match self.system.take() {
            Some(system) => {
                // The system item first, then the conversation's items.
                input.push(b'[');
                input.extend_from_slice(&system);
                if self.input.len() > 2 {
                    input.push(b',');
                    input.extend_from_slice(self.input.get(1..).unwrap_or(b"]"));
                } else {
                    input.push(b']');
                }
            }
            None => input.extend_from_slice(&self.input),
        }
        if let Some(parallel) = self.parallel_tool_calls {
            self.object.bool("parallel_tool_calls", parallel);
        }
        let effort = self.effort.or(self.reasoning.and_then(|r| r.effort));
        let summary = self.reasoning.is_some_and(|r| r.summary);
        if effort.is_some() || summary {
            let mut reasoning = ObjectWriter::new(self.object.key("reasoning"));
            if let Some(effort) = effort {
                reasoning.str("effort", effort);
            }
            if summary {
                reasoning.str("summary", "auto");
            }
            reasoning.end();
        }
        if self.reasoning.is_some() {
            self.object
                .raw("include", r#"["reasoning.encrypted_content"]"#);
        }
        if let Some(format) = &self.text_format {
            let mut text = ObjectWriter::new(self.object.key("text"));
            text.key("format").extend_from_slice(format);
            text.end();
        }
        if self.stream {
            self.object.bool("stream", true);
        }
        self.object.end();
        self.stream
    }
}

/// `system` as text blocks → `{"type":"message","role":"system","content":[input_text…]}`.
fn system_item(raw: &RawValue) -> Result<Vec<u8>, Refusal> {
    const PATH: Path = Path::top("system");
    let blocks = array(raw, &PATH)
        .map_err(|_| Rejection::invalid_type(&PATH, "a string or an array of text blocks"))?;
    let mut out = Vec::with_capacity(raw.get().len() + 64);
    let mut item = ObjectWriter::new(&mut out);
    item.str("type", "message");
    item.str("role", "system");
    let mut parts = ArrayWriter::new(item.key("content"));
    for (i, block) in blocks.into_iter().enumerate() {
        let path = &PATH.index(i);
        let fields = object(block, path)?;
        if type_of(&fields, path)? != "text" {
            return Err(bad_type(path, "expected 'text'"));
        }
        input_text(parts.item(), &fields, path)?;
    }
    parts.end();
    item.end();
    Ok(out)
}

/// A `text` block → `{"type":"input_text","text"}` (`citations` absent or empty: citations
/// of input text have no Responses form).
#[inline(never)]
fn input_text(out: &mut Vec<u8>, fields: &Fields, path: &Path) -> Result<(), Refusal> {
    only_keys(
        fields,
        path,
        &["type", "text", "cache_control", "citations"],
    )?;
    cache_control(fields, path)?;
    if let Some(citations) = present(fields, "citations") {
        let at = &path.key("citations");
        if !array(citations, at)?.is_empty() {
            return Err(Rejection::unsupported(
                at,
                "Responses input text carries no citations",
            ));
        }
    }
    let mut part = ObjectWriter::new(out);
    part.str("type", "input_text");
    part.raw("text", required_raw(fields, path, "text")?);
    part.end();
    Ok(())
}

/// `tools` → Responses function tools.
fn tools(out: &mut Vec<u8>, raw: &RawValue, options: &RequestOptions) -> Result<(), Refusal> {
    const TOOLS: Path = Path::top("tools");
    let mut list = ArrayWriter::new(out);
    for (i, tool) in array(raw, &TOOLS)?.into_iter().enumerate() {
        let path = &TOOLS.index(i);
        let fields = object(tool, path)?;
        if let Some(kind) = present(&fields, "type") {
            let kind = string(kind, &path.key("type"))?;
            if kind != "custom" {
                return Err(Rejection::unsupported(
                    &path.key("type"),
                    "Anthropic-defined and server tools have no Responses equivalent this gateway could answer; declare client tools with 'input_schema'",
                ));
            }
        }
        only_keys(
            &fields,
            path,
            &[
                "type",
                "name",
                "description",
                "input_schema",
                "strict",
                "cache_control",
                "eager_input_streaming",
                "defer_loading",
                "allowed_callers",
                "input_examples",
            ],
        )?;
        cache_control(&fields, path)?;
        if let Some(eager) = present(&fields, "eager_input_streaming") {
            boolean(eager, &path.key("eager_input_streaming"))?;
        }
        if let Some(defer) = present(&fields, "defer_loading") {
            let at = &path.key("defer_loading");
            if boolean(defer, at)? {
                return Err(Rejection::unsupported(
                    at,
                    "deferred tools need Anthropic's tool search, which the Responses API behind this gateway does not run",
                ));
            }
        }
        if let Some(callers) = present(&fields, "allowed_callers") {
            let at = &path.key("allowed_callers");
            for (k, caller) in array(callers, at)?.into_iter().enumerate() {
                if string(caller, &at.index(k))? != "direct" {
                    return Err(Rejection::unsupported(
                        &at.index(k),
                        "only direct calls exist on the Responses API",
                    ));
                }
            }
        }
        if let Some(examples) = present(&fields, "input_examples") {
            unsupported(
                options,
                INPUT_EXAMPLES,
                &path.key("input_examples"),
                examples,
            )?;
        }
        let mut tool = ObjectWriter::new(list.item());
        tool.str("type", "function");
        tool.raw("name", required_raw(&fields, path, "name")?);
        if let Some(description) = present(&fields, "description") {
            tool.raw(
                "description",
                raw_string(description, &path.key("description"))?,
            );
        }
        let schema = required(&fields, path, "input_schema")?;
        object(schema, &path.key("input_schema"))?;
        tool.raw("parameters", schema.get());
        let strict = match present(&fields, "strict") {
            Some(strict) => boolean(strict, &path.key("strict"))?,
            None => false,
        };
        tool.bool("strict", strict);
        tool.end();
    }
    list.end();
    Ok(())
}

/// `tool_choice` → the Responses `tool_choice`; returns `parallel_tool_calls` when
/// `disable_parallel_tool_use` decides it.
fn tool_choice(out: &mut Vec<u8>, raw: &RawValue) -> Result<Option<bool>, Refusal> {
    const PATH: Path = Path::top("tool_choice");
    let fields = object(raw, &PATH)?;
    let kind = type_of(&fields, &PATH)?;
    match kind.as_ref() {
        "auto" | "any" => only_keys(&fields, &PATH, &["type", "disable_parallel_tool_use"])?,
        "tool" => only_keys(
            &fields,
            &PATH,
            &["type", "name", "disable_parallel_tool_use"],
        )?,
        "none" => only_keys(&fields, &PATH, &["type"])?,
        _ => return Err(bad_type(&PATH, "expected 'auto', 'any', 'tool' or 'none'")),
    }
    match kind.as_ref() {
        "auto" => push_str(out, "auto"),
        "any" => push_str(out, "required"),
        "none" => push_str(out, "none"),
        _ => {
            let mut tool = ObjectWriter::new(out);
            tool.str("type", "function");
            tool.raw("name", required_raw(&fields, &PATH, "name")?);
            tool.end();
        }
    }
    let parallel = match present(&fields, "disable_parallel_tool_use") {
        Some(raw) => boolean(raw, &PATH.key("disable_parallel_tool_use"))?.then_some(false),
        None => None,
    };
    Ok(parallel)
}

/// `thinking` → what `reasoning` asks for (`None`: thinking disabled).
fn thinking(raw: &RawValue) -> Result<Option<Reasoning>, Refusal> {
    const PATH: Path = Path::top("thinking");
    let fields = object(raw, &PATH)?;
    let kind = type_of(&fields, &PATH)?;
    let effort = match kind.as_ref() {
        "disabled" => {
            only_keys(&fields, &PATH, &["type"])?;
            return Ok(None);
        }
        "adaptive" => {
            only_keys(&fields, &PATH, &["type", "display"])?;
            None
        }
        "enabled" => {
            only_keys(&fields, &PATH, &["type", "budget_tokens", "display"])?;
            let at = &PATH.key("budget_tokens");
            let budget = unsigned(required(&fields, &PATH, "budget_tokens")?, at)?;
            Some(effort_of_budget(budget).ok_or_else(|| {
                Rejection::invalid_value(at, &["expected at least ", &decimal(MIN_THINKING_BUDGET)])
            })?)
        }
        _ => {
            return Err(bad_type(
                &PATH,
                "expected 'enabled', 'adaptive' or 'disabled'",
            ))
        }
    };
    let summary = match present(&fields, "display") {
        None => true,
        Some(display) => match string(display, &PATH.key("display"))?.as_ref() {
            "summarized" => true,
            "omitted" => false,
            _ => {
                return Err(Rejection::invalid_value(
                    &PATH.key("display"),
                    &["expected 'summarized' or 'omitted'"],
                ))
            }
        },
    };
    Ok(Some(Reasoning { effort, summary }))
}

/// The Responses reasoning effort of an Anthropic thinking budget: below 1024 none (refused),
/// then `low` up to 7999, `medium` up to 23999, `high` from 24000 — so that Claude Code's
/// "think" (4000), "think hard" (10000) and "ultrathink" (31999) budgets land on the three
/// efforts.
pub fn effort_of_budget(budget: u64) -> Option<&'static str> {
    match budget {
        0..MIN_THINKING_BUDGET => None,
        MIN_THINKING_BUDGET..8000 => Some("low"),
        8000..24000 => Some("medium"),
        _ => Some("high"),
    }
}

/// `messages` → `input` items.
struct Conversation<'r> {
    options: &'r RequestOptions,
}

impl Conversation<'_> {
    fn translate(self, raw: &RawValue) -> Result<Vec<u8>, Refusal> {
        const MESSAGES: Path = Path::top("messages");
        let messages = array(raw, &MESSAGES)?;
        if messages.is_empty() {
            return Err(Rejection::invalid_value(
                &MESSAGES,
                &["expected at least one message"],
            ));
        }
        let last = messages.len() - 1;
        let mut out = Vec::with_capacity(raw.get().len() + 64);
        let mut items = ArrayWriter::new(&mut out);
        for (i, message) in messages.into_iter().enumerate() {
            let path = &MESSAGES.index(i);
            let fields = object(message, path)?;
            only_keys(&fields, path, &["role", "content"])?;
            let role_path = &path.key("role");
            let role = string(required(&fields, path, "role")?, role_path)?;
            let content = required(&fields, path, "content")?;
            match role.as_ref() {
                "user" => self.user(&mut items, content, &path.key("content"))?,
                "assistant" if i == last => {
                    return Err(Rejection::unsupported(
                        path,
                        "the Responses API cannot continue a partial assistant answer (prefill); end the conversation with a user message",
                    ))
                }
                "assistant" => self.assistant(&mut items, content, &path.key("content"))?,
                _ => {
                    return Err(Rejection::invalid_value(
                        role_path,
                        &["expected 'user' or 'assistant'"],
                    ))
                }
            }
        }
        items.end();
        Ok(out)
    }

    /// A user message: its parts as one `user` message, its tool results as items of their own,
    /// in their order.
    fn user(
        &self,
        items: &mut ArrayWriter,
        content: &RawValue,
        path: &Path,
    ) -> Result<(), Refusal> {
        if is_string(content) {
            message(items.item(), "user", raw_string(content, path)?.as_bytes());
            return Ok(());
        }
        let mut parts = Parts::new();
        for (j, block) in blocks(content, path)?.into_iter().enumerate() {
            let block_path = &path.index(j);
            let fields = object(block, block_path)?;
            match type_of(&fields, block_path)?.as_ref() {
                "text" => input_text(parts.next(), &fields, block_path)?,
                "image" => input_image(parts.next(), &fields, block_path)?,
                "document" => input_document(parts.next(), &fields, block_path)?,
                "tool_result" => {
                    parts.flush(items, "user");
                    tool_result(items.item(), &fields, block_path)?;
                }
                _ => {
                    return Err(bad_type(
                        block_path,
                        "expected 'text', 'image', 'document' or 'tool_result'",
                    ))
                }
            }
        }
        parts.flush(items, "user");
        Ok(())
    }

    /// An assistant message: text as one `assistant` message, tool calls and thinking as items
    /// of their own, in their order.
    fn assistant(
        &self,
        items: &mut ArrayWriter,
        content: &RawValue,
        path: &Path,
    ) -> Result<(), Refusal> {
        if is_string(content) {
            message(
                items.item(),
                "assistant",
                raw_string(content, path)?.as_bytes(),
            );
            return Ok(());
        }
        let mut parts = Parts::new();
        for (j, block) in blocks(content, path)?.into_iter().enumerate() {
            let block_path = &path.index(j);
            let fields = object(block, block_path)?;
            match type_of(&fields, block_path)?.as_ref() {
                "text" => output_text(parts.next(), &fields, block_path)?,
                "tool_use" => {
                    parts.flush(items, "assistant");
                    tool_use(items.item(), &fields, block_path)?;
                }
                "thinking" => {
                    parts.flush(items, "assistant");
                    self.thinking_block(items, &fields, block_path)?;
                }
                "redacted_thinking" => {
                    only_keys(&fields, block_path, &["type", "data"])?;
                    required_raw(&fields, block_path, "data")?;
                    if !self.options.drops(THINKING_BLOCK) {
                        return Err(Rejection::unsupported(
                            block_path,
                            unsupported_reason(THINKING_BLOCK),
                        ));
                    }
                }
                _ => {
                    return Err(bad_type(
                        block_path,
                        "expected 'text', 'tool_use', 'thinking' or 'redacted_thinking'",
                    ))
                }
            }
        }
        parts.flush(items, "assistant");
        Ok(())
    }

    /// A thinking block this gateway signed → a `reasoning` item; any other is refused (or
    /// dropped when configured).
    fn thinking_block(
        &self,
        items: &mut ArrayWriter,
        fields: &Fields,
        path: &Path,
    ) -> Result<(), Refusal> {
        only_keys(fields, path, &["type", "thinking", "signature"])?;
        let thinking = required_raw(fields, path, "thinking")?;
        let signature = required_text(fields, path, "signature")?;
        let parsed = signature
            .strip_prefix(SIGNATURE_PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .filter(|(id, _)| !id.is_empty());
        let Some((id, encrypted)) = parsed else {
            if self.options.drops(THINKING_BLOCK) {
                return Ok(());
            }
            return Err(Rejection::unsupported(
                &path.key("signature"),
                unsupported_reason(THINKING_BLOCK),
            ));
        };
        let mut item = ObjectWriter::new(items.item());
        item.str("type", "reasoning");
        item.str("id", id);
        let mut summary = ArrayWriter::new(item.key("summary"));
        if thinking != "\"\"" {
            let mut part = ObjectWriter::new(summary.item());
            part.str("type", "summary_text");
            part.raw("text", thinking);
            part.end();
        }
        summary.end();
        if !encrypted.is_empty() {
            item.str("encrypted_content", encrypted);
        }
        item.end();
        Ok(())
    }
}

/// A message's content parts, gathered until something that is an item of its own comes.
struct Parts {
    out: Vec<u8>,
    count: usize,
}

impl Parts {
    fn new() -> Self {
        Parts {
            out: Vec::new(),
            count: 0,
        }
    }

    /// The buffer to write the next part into.
    fn next(&mut self) -> &mut Vec<u8> {
        if self.count > 0 {
            self.out.push(b',');
        }
        self.count += 1;
        &mut self.out
    }

    /// Writes the gathered parts as one `role` message, if there are any.
    fn flush(&mut self, items: &mut ArrayWriter, role: &str) {
        if self.count == 0 {
            return;
        }
        let mut content = Vec::with_capacity(self.out.len() + 2);
        content.push(b'[');
        content.append(&mut self.out);
        content.push(b']');
        message(items.item(), role, &content);
        self.count = 0;
    }
}

/// `{"type":"message","role":<role>,"content":<content>}`.
#[inline(never)]
fn message(out: &mut Vec<u8>, role: &str, content: &[u8]) {
    let mut item = ObjectWriter::new(out);
    item.str("type", "message");
    item.str("role", role);
    item.key("content").extend_from_slice(content);
    item.end();
}

/// A message's content blocks.
fn blocks<'a>(raw: &'a RawValue, path: &Path) -> Result<Vec<&'a RawValue>, Refusal> {
    array(raw, path).map_err(|_| Rejection::invalid_type(path, "a string or an array of blocks"))
}

/// An assistant `text` block → `{"type":"output_text","text","annotations":[]}`; its
/// `citations` (of an earlier answer) are checked and not sent.
fn output_text(out: &mut Vec<u8>, fields: &Fields, path: &Path) -> Result<(), Refusal> {
    only_keys(
        fields,
        path,
        &["type", "text", "cache_control", "citations"],
    )?;
    cache_control(fields, path)?;
    if let Some(citations) = present(fields, "citations") {
        array(citations, &path.key("citations"))?;
    }
    let mut part = ObjectWriter::new(out);
    part.str("type", "output_text");
    part.raw("text", required_raw(fields, path, "text")?);
    part.raw("annotations", "[]");
    part.end();
    Ok(())
}

/// An `image` block → `{"type":"input_image","image_url","detail":"auto"}`.
fn input_image(out: &mut Vec<u8>, fields: &Fields, path: &Path) -> Result<(), Refusal> {
    only_keys(fields, path, &["type", "source", "cache_control"])?;
    cache_control(fields, path)?;
    let source_path = &path.key("source");
    let source = object(required(fields, path, "source")?, source_path)?;
    let mut part = ObjectWriter::new(out);
    part.str("type", "input_image");
    match type_of(&source, source_path)?.as_ref() {
        "base64" => {
            only_keys(&source, source_path, &["type", "media_type", "data"])?;
            let media_type = required_text(&source, source_path, "media_type")?;
            let data = required_text(&source, source_path, "data")?;
            push_str(
                part.key("image_url"),
                &["data:", &media_type, ";base64,", &data].concat(),
            );
        }
        "url" => {
            only_keys(&source, source_path, &["type", "url"])?;
            part.raw("image_url", required_raw(&source, source_path, "url")?);
        }
        "file" => {
            return Err(Rejection::unsupported(
                &source_path.key("type"),
                "Anthropic file ids mean nothing to the Responses API; send the image as base64 or a URL",
            ))
        }
        _ => return Err(bad_type(source_path, "expected 'base64', 'url' or 'file'")),
    }
    part.str("detail", "auto");
    part.end();
    Ok(())
}

/// A `document` block → an `input_file` (PDF as base64 or URL) or an `input_text` (plain text).
fn input_document(out: &mut Vec<u8>, fields: &Fields, path: &Path) -> Result<(), Refusal> {
    only_keys(
        fields,
        path,
        &[
            "type",
            "source",
            "cache_control",
            "citations",
            "context",
            "title",
        ],
    )?;
    cache_control(fields, path)?;
    if present(fields, "context").is_some() {
        return Err(Rejection::unsupported(
            &path.key("context"),
            "Responses file inputs carry no context",
        ));
    }
    if let Some(citations) = present(fields, "citations") {
        let at = &path.key("citations");
        let config = object(citations, at)?;
        only_keys(&config, at, &["enabled"])?;
        if let Some(enabled) = present(&config, "enabled") {
            if boolean(enabled, &at.key("enabled"))? {
                return Err(Rejection::unsupported(
                    &at.key("enabled"),
                    "the answer could not carry Anthropic's document citations",
                ));
            }
        }
    }
    let title = present(fields, "title");
    let source_path = &path.key("source");
    let source = object(required(fields, path, "source")?, source_path)?;
    let kind = type_of(&source, source_path)?;
    if kind != "base64" && title.is_some() {
        return Err(Rejection::unsupported(
            &path.key("title"),
            "only a base64 PDF carries a name (as its filename) upstream",
        ));
    }
    let mut part = ObjectWriter::new(out);
    match kind.as_ref() {
        "base64" => {
            only_keys(&source, source_path, &["type", "media_type", "data"])?;
            let media_path = &source_path.key("media_type");
            let media_type = required_text(&source, source_path, "media_type")?;
            if media_type != "application/pdf" {
                return Err(Rejection::invalid_value(
                    media_path,
                    &["expected 'application/pdf'"],
                ));
            }
            let data = required_text(&source, source_path, "data")?;
            part.str("type", "input_file");
            match title {
                Some(title) => part.raw("filename", raw_string(title, &path.key("title"))?),
                None => part.str("filename", "document.pdf"),
            }
            push_str(
                part.key("file_data"),
                &["data:application/pdf;base64,", &data].concat(),
            );
        }
        "url" => {
            only_keys(&source, source_path, &["type", "url"])?;
            part.str("type", "input_file");
            part.raw("file_url", required_raw(&source, source_path, "url")?);
        }
        "text" => {
            only_keys(&source, source_path, &["type", "media_type", "data"])?;
            let media_path = &source_path.key("media_type");
            if required_text(&source, source_path, "media_type")? != "text/plain" {
                return Err(Rejection::invalid_value(
                    media_path,
                    &["expected 'text/plain'"],
                ));
            }
            part.str("type", "input_text");
            part.raw("text", required_raw(&source, source_path, "data")?);
        }
        "content" | "file" => {
            return Err(Rejection::unsupported(
                &source_path.key("type"),
                "send the document as a base64 PDF, a URL or plain text",
            ))
        }
        _ => {
            return Err(bad_type(
                source_path,
                "expected 'base64', 'url', 'text', 'content' or 'file'",
            ))
        }
    }
    part.end();
    Ok(())
}

/// A `tool_result` block → `{"type":"function_call_output","call_id","output"}`.
fn tool_result(out: &mut Vec<u8>, fields: &Fields, path: &Path) -> Result<(), Refusal> {
    only_keys(
        fields,
        path,
        &[
            "type",
            "tool_use_id",
            "content",
            "is_error",
            "cache_control",
        ],
    )?;
    cache_control(fields, path)?;
    let is_error = match present(fields, "is_error") {
        Some(raw) => boolean(raw, &path.key("is_error"))?,
        None => false,
    };
    let mut item = ObjectWriter::new(out);
    item.str("type", "function_call_output");
    item.raw("call_id", required_raw(fields, path, "tool_use_id")?);
    let output = item.key("output");
    let content_path = &path.key("content");
    match present(fields, "content") {
        None if is_error => push_str(output, "Error"),
        None => output.extend_from_slice(b"\"\""),
        Some(content) if is_string(content) => {
            if is_error {
                let text = string(content, content_path)?;
                push_str(output, &["Error: ", &text].concat());
            } else {
                output.extend_from_slice(raw_string(content, content_path)?.as_bytes());
            }
        }
        Some(content) => {
            let blocks = blocks(content, content_path)?;
            if blocks.is_empty() && !is_error {
                output.extend_from_slice(b"\"\"");
            } else {
                let mut parts = ArrayWriter::new(output);
                if is_error {
                    push_error_part(parts.item());
                }
                for (k, block) in blocks.into_iter().enumerate() {
                    let block_path = &content_path.index(k);
                    let fields = object(block, block_path)?;
                    match type_of(&fields, block_path)?.as_ref() {
                        "text" => input_text(parts.item(), &fields, block_path)?,
                        "image" => input_image(parts.item(), &fields, block_path)?,
                        "document" => input_document(parts.item(), &fields, block_path)?,
                        _ => {
                            return Err(bad_type(
                                block_path,
                                "expected 'text', 'image' or 'document'",
                            ))
                        }
                    }
                }
                parts.end();
            }
        }
    }
    item.end();
    Ok(())
}

/// The text part that marks a failed tool run's output.
fn push_error_part(out: &mut Vec<u8>) {
    let mut part = ObjectWriter::new(out);
    part.str("type", "input_text");
    part.str("text", "Error:");
    part.end();
}

/// A `tool_use` block → `{"type":"function_call","call_id","name","arguments"}`.
fn tool_use(out: &mut Vec<u8>, fields: &Fields, path: &Path) -> Result<(), Refusal> {
    only_keys(
        fields,
        path,
        &["type", "id", "name", "input", "cache_control"],
    )?;
    cache_control(fields, path)?;
    let input = required(fields, path, "input")?;
    object(input, &path.key("input"))?;
    let mut arguments = Vec::with_capacity(input.get().len());
    push_raw(&mut arguments, input.get());
    let mut item = ObjectWriter::new(out);
    item.str("type", "function_call");
    item.raw("call_id", required_raw(fields, path, "id")?);
    item.raw("name", required_raw(fields, path, "name")?);
    push_str(
        item.key("arguments"),
        std::str::from_utf8(&arguments).unwrap_or("{}"),
    );
    item.end();
    Ok(())
}
