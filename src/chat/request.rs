//! A Chat Completions request (`POST /v1/chat/completions`) rewritten as a Responses API request
//! (`POST /v1/responses`), in the shape of the openai SDK's `ResponseCreateParams`.
//!
//! The body is walked key by key. Every key is mapped, refused with a 400 naming its path
//! (`messages[2].content[1].image_url.detail`), or — for the names in [`UNSUPPORTED_FIELDS`], when
//! the configuration's `drop_unsupported_fields` lists them — dropped. Nothing is dropped
//! silently. Values that pass unchanged (JSON schemas, metadata, numbers, strings) are copied raw,
//! so the upstream sees the client's exact bytes. `null` means "not given" for every optional
//! field, at every depth.
//!
//! | Chat field | Responses field |
//! |---|---|
//! | `model` (required) | `model` |
//! | `messages` (required, not empty) | `input` items, in order (see below) |
//! | `max_tokens`, `max_completion_tokens` | `max_output_tokens`; both given and different: 400; below 16: 400 (the Responses API minimum; never clamped) |
//! | `temperature` (0–2), `top_p` (0–1) | same, raw |
//! | `user`, `prompt_cache_key`, `safety_identifier`, `service_tier`, `prompt_cache_retention` | same |
//! | `metadata`, `prompt_cache_options`, `moderation` | same (same shapes in both APIs), raw |
//! | `store`, `parallel_tool_calls` | same |
//! | `reasoning_effort` | `reasoning.effort` |
//! | `verbosity` | `text.verbosity` |
//! | `response_format` `text` / `json_object` | `text.format` `{"type":"text"}` / `{"type":"json_object"}` |
//! | `response_format` `json_schema` `{name, schema, description, strict}` | `text.format` `{"type":"json_schema", name, schema, description, strict}` (flattened; `schema` required) |
//! | `logprobs: true`, `top_logprobs` (0–20) | `top_logprobs` (0 when not given) and `include: ["message.output_text.logprobs"]`; `top_logprobs` without `logprobs: true`: 400 |
//! | `stream` | `stream: true` only when true; [`Translated::stream`] |
//! | `stream_options.include_usage` | [`Translated::include_usage`] (not sent up) |
//! | `stream_options.include_obfuscation` | `stream_options.include_obfuscation`; `stream_options` without `stream: true`: 400, as OpenAI answers |
//! | `tools` `function` `{name, description, parameters, strict}` | `{"type":"function", name, description, parameters, strict}`: `strict` is `false` when omitted (Chat's default; Responses would default to strict), `parameters` is `null` when omitted |
//! | `tools` `custom` `{name, description, format}` | `{"type":"custom", name, description, format}`; a `grammar` format is flattened to `{type, definition, syntax}` |
//! | `tool_choice` `"none"` / `"auto"` / `"required"` | same |
//! | `tool_choice` `{"type":"function","function":{name}}` / `custom` | `{"type":"function","name"}` / `{"type":"custom","name"}` |
//! | `tool_choice` `{"type":"allowed_tools","allowed_tools":{mode, tools}}` | `{"type":"allowed_tools", mode, tools}`, each tool as `{"type", "name"}` |
//! | `n` | `1`: nothing sent; above 1: unsupported |
//! | `stop` (a string, or an array of at most 4 non-empty strings of at most 1 KiB) | not sent (the Responses API has none): honoured by the gateway on the answer ([`crate::stop`]), carried in [`Translated::stop`]; more than 4: 400 naming `stop`; `[]`: no stop |
//! | `seed`, `frequency_penalty`, `presence_penalty`, `logit_bias`, `audio`, `modalities`, `prediction`, `web_search_options`, `functions`, `function_call` | unsupported (no Responses equivalent): 400 unless dropped by configuration; neutral values are accepted and not sent: penalties `0`, `logit_bias: {}`, `modalities: ["text"]`, `functions: []` |
//! | anything else | 400 `unknown_parameter` |
//!
//! Messages, each an input item in the client's order:
//!
//! | Chat message | Responses input item |
//! |---|---|
//! | `system`, `developer` | a `message` item with the same role, where it stood (not `instructions`: a system message mid-conversation stays where it is, and several are kept); text parts → `input_text` |
//! | `user` | a `message` item: string content as is; parts `text` → `input_text`, `image_url {url, detail}` → `input_image {image_url, detail}` (`detail` `"auto"` when omitted), `file {file_id, file_data, filename}` → `input_file`; `input_audio`: unsupported (the Responses API takes no audio input) |
//! | `assistant` | a `message` item (string content as is; `text` / `refusal` parts and the `refusal` field as `output_text` / `refusal` parts), left out when empty and the message has tool calls; then one `function_call {call_id, name, arguments}` per function tool call, or `custom_tool_call {call_id, name, input}` per custom tool call — and per function call naming a custom tool of this request, which is how this filter reports custom tool calls to Chat clients; `annotations` and `reasoning_content` (fields of this filter's own answers, echoed back) are accepted and not sent: they are metadata of an earlier answer, not input; `audio` and legacy `function_call`: unsupported |
//! | `tool` | `function_call_output {call_id: tool_call_id, output}`, or `custom_tool_call_output` when the id is a custom tool call of this conversation; string content as is, text parts → `input_text` parts |
//! | `function` (legacy) | unsupported: it carries no call id to pair with |
//! | `name` (a string) on a `tool` message | accepted, not sent: it repeats what `tool_call_id` identifies |
//! | `name` (a string) on any other message | Responses messages have no participant name. At most one distinct name per role in the request: accepted and not sent (it differentiates nobody). Several distinct names sharing a role: by the configuration's `participant_names` ([`ParticipantNames`]) — refused naming the first `messages[i].name` that differs (default), dropped, or written as a `<name>: ` prefix of the message's text |
//!
//! `store` omitted is left to the Responses default (stored), so that the stream id a Chat client
//! gets back can serve as `previous_response_id`.

use crate::json::{push_raw, push_str, ArrayWriter, Fields, ObjectWriter};
use crate::request::{
    array, bad_type, body_fields, boolean, decimal, is_null, is_string, number_up_to, object,
    only_keys, present, raw_string, stop_sequences, string, text, unsigned, ParticipantNames, Path,
    Refusal, Rejection, RequestOptions, Translated,
};
use crate::stop::StopSequences;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Client fields with no Responses equivalent: refused with a 400 naming them, unless the
/// configuration's `drop_unsupported_fields` lists them.
pub const UNSUPPORTED_FIELDS: &[&str] = &[
    "n",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "audio",
    "modalities",
    "prediction",
    "web_search_options",
    "functions",
    "function_call",
];

/// The optional top-level fields this module maps (besides [`UNSUPPORTED_FIELDS`]).
const MAPPED_FIELDS: &[&str] = &[
    "temperature",
    "top_p",
    "user",
    "prompt_cache_key",
    "safety_identifier",
    "service_tier",
    "prompt_cache_retention",
    "metadata",
    "prompt_cache_options",
    "moderation",
    "store",
    "parallel_tool_calls",
    "max_tokens",
    "max_completion_tokens",
    "logprobs",
    "top_logprobs",
    "reasoning_effort",
    "verbosity",
    "response_format",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "stop",
];

/// The smallest `max_output_tokens` the Responses API accepts.
const MIN_OUTPUT_TOKENS: u64 = 16;
/// The largest `top_logprobs` either API accepts.
const MAX_TOP_LOGPROBS: u64 = 20;
/// The most stop sequences a Chat request may give, as OpenAI accepts.
const MAX_STOP_SEQUENCES: usize = 4;

/// Translates one client request body into a Responses request.
pub fn translate(body: &[u8], options: &RequestOptions) -> Result<Translated, Rejection> {
    walk(body, options).map_err(|refusal| *refusal)
}

fn walk(body: &[u8], options: &RequestOptions) -> Result<Translated, Refusal> {
    let fields = body_fields(body)?;
    for required in ["model", "messages"] {
        if fields.get(required).is_none() {
            return Err(Rejection::missing(&Path::top(required)));
        }
    }
    let custom_tools = custom_tool_names(fields.get("tools"));
    let mut out = Vec::with_capacity(body.len() + 128);
    let mut request = Request::new(&mut out, options, &custom_tools);
    for (key, value) in &fields.entries {
        request.field(key, value)?;
    }
    let (stream, include_usage, stop) = request.finish()?;
    Ok(Translated {
        body: out,
        stream,
        include_usage,
        stop,
    })
}

/// Why a field of [`UNSUPPORTED_FIELDS`] has no Responses equivalent.
fn unsupported_reason(field: &str) -> &'static str {
    match field {
        "n" => "the Responses API returns one answer per request",
        "seed" => "the Responses API has no seed",
        "frequency_penalty" | "presence_penalty" => {
            "the Responses API has no frequency or presence penalty"
        }
        "logit_bias" => "the Responses API has no logit bias",
        "audio" | "modalities" => "the Responses API has no audio output",
        "prediction" => "the Responses API has no predicted outputs",
        "web_search_options" => {
            "web search is a tool in the Responses API, and this gateway does not add tools"
        }
        "functions" | "function_call" => {
            "legacy function calling is not translated; use 'tools' and 'tool_choice'"
        }
        _ => "the Responses API has no equivalent",
    }
}

/// Whether an unsupported field's value asks for nothing the Responses API would not do anyway.
fn is_neutral(field: &str, raw: &RawValue) -> bool {
    let mut compact = Vec::new();
    push_raw(&mut compact, raw.get());
    match field {
        "frequency_penalty" | "presence_penalty" => {
            serde_json::from_str::<f64>(raw.get()).is_ok_and(|n| n == 0.0)
        }
        "functions" => compact == b"[]",
        "logit_bias" => compact == b"{}",
        "modalities" => compact == br#"["text"]"#,
        _ => false,
    }
}

/// Refuses an unsupported value (`field` as listed in [`UNSUPPORTED_FIELDS`], `param` its path),
/// unless it is neutral or the configuration drops it.
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

/// The value of a required key (`null` is left to the reader, which names the expected type).
#[inline(never)]
fn required<'a>(fields: &Fields<'a>, path: &Path, key: &str) -> Result<&'a RawValue, Refusal> {
    fields
        .get(key)
        .ok_or_else(|| Rejection::missing(&path.key(key)))
}

/// A required string member, raw (quotes and escapes kept).
#[inline(never)]
fn required_raw<'a>(fields: &Fields<'a>, path: &Path, key: &str) -> Result<&'a str, Refusal> {
    raw_string(required(fields, path, key)?, &path.key(key))
}

/// The object's required `type`, as a string.
#[inline(never)]
fn type_of<'a>(fields: &Fields<'a>, path: &Path) -> Result<Cow<'a, str>, Refusal> {
    string(required(fields, path, "type")?, &path.key("type"))
}

/// Copies an optional string field of `fields` into `object` under the same key.
#[inline(never)]
fn copy_string(
    object: &mut ObjectWriter,
    fields: &Fields,
    path: &Path,
    key: &str,
) -> Result<(), Refusal> {
    if let Some(raw) = present(fields, key) {
        object.raw(key, raw_string(raw, &path.key(key))?);
    }
    Ok(())
}

/// Names of the custom tools the request declares (malformed entries are reported by the walk).
fn custom_tool_names(tools: Option<&RawValue>) -> Vec<String> {
    let tools: Vec<&RawValue> = tools
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or_default();
    let name = |tool: &RawValue| {
        let tool = Fields::parse(tool.get())?;
        if text(tool.get("type")?)? != "custom" {
            return None;
        }
        let name = text(Fields::parse(tool.get("custom")?.get())?.get("name")?)?;
        Some(name.into_owned())
    };
    tools.into_iter().filter_map(name).collect()
}

/// What the client asked in `stream_options`.
#[derive(Debug, Default)]
struct StreamRequest {
    include_usage: bool,
    include_obfuscation: Option<bool>,
}

/// The Responses request being written, and the fields that are written once the walk is over
/// because several client fields make them.
struct Request<'o, 'a> {
    object: ObjectWriter<'o>,
    options: &'o RequestOptions,
    custom_tools: &'o [String],
    max_output_tokens: Option<(&'static str, u64)>,
    logprobs: bool,
    top_logprobs: Option<&'a str>,
    reasoning_effort: Option<&'a str>,
    text_format: Option<Vec<u8>>,
    verbosity: Option<&'a str>,
    stream: bool,
    stream_options: Option<StreamRequest>,
    stop: StopSequences,
}

impl<'o, 'a> Request<'o, 'a> {
    fn new(out: &'o mut Vec<u8>, options: &'o RequestOptions, custom_tools: &'o [String]) -> Self {
        Request {
            object: ObjectWriter::new(out),
            options,
            custom_tools,
            max_output_tokens: None,
            logprobs: false,
            top_logprobs: None,
            reasoning_effort: None,
            text_format: None,
            verbosity: None,
            stream: false,
            stream_options: None,
            stop: StopSequences::default(),
        }
    }

    /// Maps, refuses or drops one top-level field.
    fn field(&mut self, key: &str, value: &'a RawValue) -> Result<(), Refusal> {
        let at = &Path::top(key);
        if is_null(value) && key != "model" && key != "messages" {
            let known = MAPPED_FIELDS.contains(&key) || UNSUPPORTED_FIELDS.contains(&key);
            return if known {
                Ok(())
            } else {
                Err(Rejection::unknown(at))
            };
        }
        match key {
            "model" => self.object.raw(key, raw_string(value, at)?),
            "messages" => {
                let input = Conversation::new(self.options, self.custom_tools).translate(value)?;
                self.object.key("input").extend_from_slice(&input);
            }
            "temperature" => self.object.raw(key, number_up_to(value, at, 2)?),
            "top_p" => self.object.raw(key, number_up_to(value, at, 1)?),
            "user"
            | "prompt_cache_key"
            | "safety_identifier"
            | "service_tier"
            | "prompt_cache_retention" => self.object.raw(key, raw_string(value, at)?),
            "metadata" | "prompt_cache_options" | "moderation" => {
                object(value, at)?;
                self.object.raw(key, value.get());
            }
            "store" | "parallel_tool_calls" => self.object.bool(key, boolean(value, at)?),
            "max_tokens" => self.max_output_tokens("max_tokens", value)?,
            "max_completion_tokens" => self.max_output_tokens("max_completion_tokens", value)?,
            "logprobs" => self.logprobs = boolean(value, at)?,
            "top_logprobs" => self.top_logprobs = Some(top_logprobs(value, at)?),
            "reasoning_effort" => self.reasoning_effort = Some(raw_string(value, at)?),
            "verbosity" => self.verbosity = Some(raw_string(value, at)?),
            "response_format" => self.text_format = Some(text_format(value)?),
            "stream" => self.stream = boolean(value, at)?,
            "stream_options" => self.stream_options = Some(stream_options(value)?),
            "tools" => tools(self.object.key("tools"), value)?,
            "tool_choice" => tool_choice(self.object.key("tool_choice"), value)?,
            "stop" => self.stop = stop_sequences(value, at, MAX_STOP_SEQUENCES, true)?,
            "n" => {
                let n = unsigned(value, at)?;
                if n == 0 {
                    return Err(Rejection::invalid_value(at, &["expected at least 1"]));
                }
                if n > 1 {
                    unsupported(self.options, key, at, value)?;
                }
            }
            _ if UNSUPPORTED_FIELDS.contains(&key) => unsupported(self.options, key, at, value)?,
            _ => return Err(Rejection::unknown(at)),
        }
        Ok(())
    }

    fn max_output_tokens(&mut self, key: &'static str, value: &RawValue) -> Result<(), Refusal> {
        let at = &Path::top(key);
        let n = unsigned(value, at)?;
        if n < MIN_OUTPUT_TOKENS {
            return Err(too_few_tokens(at, n));
        }
        match self.max_output_tokens {
            Some((other, m)) if m != n => Err(Rejection::invalid_value(
                at,
                &[
                    "it differs from '",
                    other,
                    "' (",
                    &decimal(m),
                    "); send one of them",
                ],
            )),
            _ => {
                self.max_output_tokens = Some((key, n));
                Ok(())
            }
        }
    }

    /// Writes the fields several client fields make, closes the object; returns whether the
    /// client asked for a stream, and for the usage chunk, and the stop sequences.
    fn finish(mut self) -> Result<(bool, bool, StopSequences), Refusal> {
        if let Some((_, n)) = self.max_output_tokens {
            self.object.u64("max_output_tokens", n);
        }
        self.write_logprobs()?;
        if let Some(effort) = self.reasoning_effort {
            let mut reasoning = ObjectWriter::new(self.object.key("reasoning"));
            reasoning.raw("effort", effort);
            reasoning.end();
        }
        if self.text_format.is_some() || self.verbosity.is_some() {
            let mut text = ObjectWriter::new(self.object.key("text"));
            if let Some(format) = &self.text_format {
                text.key("format").extend_from_slice(format);
            }
            if let Some(verbosity) = self.verbosity {
                text.raw("verbosity", verbosity);
            }
            text.end();
        }
        let include_usage = self.write_stream()?;
        let stream = self.stream;
        self.object.end();
        Ok((stream, include_usage, self.stop))
    }

    fn write_logprobs(&mut self) -> Result<(), Refusal> {
        match (self.logprobs, self.top_logprobs) {
            (true, top) => {
                self.object
                    .raw("include", r#"["message.output_text.logprobs"]"#);
                self.object.raw("top_logprobs", top.unwrap_or("0"));
                Ok(())
            }
            (false, Some(_)) => Err(Rejection::invalid_value(
                &Path::top("top_logprobs"),
                &["it requires 'logprobs': true"],
            )),
            (false, None) => Ok(()),
        }
    }

    /// Writes `stream` and `stream_options`; returns whether the client asked for usage.
    fn write_stream(&mut self) -> Result<bool, Refusal> {
        let options = self.stream_options.take();
        if !self.stream {
            return match options {
                Some(_) => Err(Rejection::invalid_value(
                    &Path::top("stream_options"),
                    &["it is only allowed when 'stream' is true"],
                )),
                None => Ok(false),
            };
        }
        self.object.bool("stream", true);
        let options = options.unwrap_or_default();
        if let Some(obfuscation) = options.include_obfuscation {
            let mut upstream = ObjectWriter::new(self.object.key("stream_options"));
            upstream.bool("include_obfuscation", obfuscation);
            upstream.end();
        }
        Ok(options.include_usage)
    }
}

/// A token limit below the Responses API's minimum.
fn too_few_tokens(at: &Path, n: u64) -> Refusal {
    Rejection::invalid_value(
        at,
        &[
            "the Responses API requires at least ",
            &decimal(MIN_OUTPUT_TOKENS),
            " output tokens, got ",
            &decimal(n),
        ],
    )
}

fn top_logprobs<'a>(raw: &'a RawValue, at: &Path) -> Result<&'a str, Refusal> {
    if unsigned(raw, at)? > MAX_TOP_LOGPROBS {
        return Err(Rejection::invalid_value(
            at,
            &["expected an integer from 0 to ", &decimal(MAX_TOP_LOGPROBS)],
        ));
    }
    Ok(raw.get())
}

fn stream_options(raw: &RawValue) -> Result<StreamRequest, Refusal> {
    const PATH: Path = Path::top("stream_options");
    let mut request = StreamRequest::default();
    for (key, value) in &object(raw, &PATH)?.entries {
        let at = &PATH.key(key);
        if is_null(value) {
            continue;
        }
        match key.as_ref() {
            "include_usage" => request.include_usage = boolean(value, at)?,
            "include_obfuscation" => request.include_obfuscation = Some(boolean(value, at)?),
            _ => return Err(Rejection::unknown(at)),
        }
    }
    Ok(request)
}

/// `response_format` → the `text.format` object.
fn text_format(raw: &RawValue) -> Result<Vec<u8>, Refusal> {
    const PATH: Path = Path::top("response_format");
    let fields = object(raw, &PATH)?;
    let kind = type_of(&fields, &PATH)?;
    let mut out = Vec::new();
    let mut format = ObjectWriter::new(&mut out);
    match kind.as_ref() {
        "text" | "json_object" => {
            only_keys(&fields, &PATH, &["type"])?;
            format.str("type", &kind);
        }
        "json_schema" => {
            only_keys(&fields, &PATH, &["type", "json_schema"])?;
            format.str("type", "json_schema");
            json_schema(&mut format, required(&fields, &PATH, "json_schema")?)?;
        }
        _ => {
            return Err(bad_type(
                &PATH,
                "expected 'text', 'json_object' or 'json_schema'",
            ))
        }
    }
    format.end();
    Ok(out)
}

/// `response_format.json_schema`'s fields, flattened into `text.format`.
fn json_schema(format: &mut ObjectWriter, raw: &RawValue) -> Result<(), Refusal> {
    const TOP: Path = Path::top("response_format");
    let path = &TOP.key("json_schema");
    let fields = object(raw, path)?;
    only_keys(&fields, path, &["name", "description", "schema", "strict"])?;
    format.raw("name", required_raw(&fields, path, "name")?);
    copy_string(format, &fields, path, "description")?;
    let schema_path = &path.key("schema");
    let schema = present(&fields, "schema").ok_or_else(|| Rejection::missing(schema_path))?;
    object(schema, schema_path)?;
    format.raw("schema", schema.get());
    if let Some(strict) = present(&fields, "strict") {
        format.bool("strict", boolean(strict, &path.key("strict"))?);
    }
    Ok(())
}

/// `tools` → Responses tools (function and custom tools at the top level of each entry).
fn tools(out: &mut Vec<u8>, raw: &RawValue) -> Result<(), Refusal> {
    const TOOLS: Path = Path::top("tools");
    let mut list = ArrayWriter::new(out);
    for (i, tool) in array(raw, &TOOLS)?.into_iter().enumerate() {
        let path = &TOOLS.index(i);
        let fields = object(tool, path)?;
        let kind = type_of(&fields, path)?;
        let write = match kind.as_ref() {
            "function" => function_tool,
            "custom" => custom_tool,
            _ => return Err(bad_type(path, "expected 'function' or 'custom'")),
        };
        only_keys(&fields, path, &["type", &kind])?;
        let definition = required(&fields, path, &kind)?;
        write(list.item(), definition, &path.key(&kind))?;
    }
    list.end();
    Ok(())
}

fn function_tool(out: &mut Vec<u8>, raw: &RawValue, path: &Path) -> Result<(), Refusal> {
    let fields = object(raw, path)?;
    only_keys(
        &fields,
        path,
        &["name", "description", "parameters", "strict"],
    )?;
    let mut tool = ObjectWriter::new(out);
    tool.str("type", "function");
    tool.raw("name", required_raw(&fields, path, "name")?);
    copy_string(&mut tool, &fields, path, "description")?;
    match present(&fields, "parameters") {
        Some(parameters) => {
            object(parameters, &path.key("parameters"))?;
            tool.raw("parameters", parameters.get());
        }
        None => tool.raw("parameters", "null"),
    }
    let strict = match present(&fields, "strict") {
        Some(strict) => boolean(strict, &path.key("strict"))?,
        None => false,
    };
    tool.bool("strict", strict);
    tool.end();
    Ok(())
}

fn custom_tool(out: &mut Vec<u8>, raw: &RawValue, path: &Path) -> Result<(), Refusal> {
    let fields = object(raw, path)?;
    only_keys(&fields, path, &["name", "description", "format"])?;
    let mut tool = ObjectWriter::new(out);
    tool.str("type", "custom");
    tool.raw("name", required_raw(&fields, path, "name")?);
    copy_string(&mut tool, &fields, path, "description")?;
    if let Some(format) = present(&fields, "format") {
        custom_format(tool.key("format"), format, &path.key("format"))?;
    }
    tool.end();
    Ok(())
}

/// A custom tool's input format: `text`, or `grammar` with its definition flattened.
fn custom_format(out: &mut Vec<u8>, raw: &RawValue, path: &Path) -> Result<(), Refusal> {
    let fields = object(raw, path)?;
    let mut format = ObjectWriter::new(out);
    match type_of(&fields, path)?.as_ref() {
        "text" => {
            only_keys(&fields, path, &["type"])?;
            format.str("type", "text");
        }
        "grammar" => {
            only_keys(&fields, path, &["type", "grammar"])?;
            let grammar_path = &path.key("grammar");
            let grammar = object(required(&fields, path, "grammar")?, grammar_path)?;
            only_keys(&grammar, grammar_path, &["definition", "syntax"])?;
            format.str("type", "grammar");
            for key in ["definition", "syntax"] {
                format.raw(key, required_raw(&grammar, grammar_path, key)?);
            }
        }
        _ => return Err(bad_type(path, "expected 'text' or 'grammar'")),
    }
    format.end();
    Ok(())
}

fn tool_choice(out: &mut Vec<u8>, raw: &RawValue) -> Result<(), Refusal> {
    const PATH: Path = Path::top("tool_choice");
    if is_string(raw) {
        return match string(raw, &PATH)?.as_ref() {
            "none" | "auto" | "required" => {
                out.extend_from_slice(raw.get().as_bytes());
                Ok(())
            }
            _ => Err(Rejection::invalid_value(
                &PATH,
                &["expected 'none', 'auto', 'required' or an object"],
            )),
        };
    }
    let fields = object(raw, &PATH)?;
    let kind = type_of(&fields, &PATH)?;
    if kind == "allowed_tools" {
        only_keys(&fields, &PATH, &["type", "allowed_tools"])?;
        return allowed_tools(out, required(&fields, &PATH, "allowed_tools")?);
    }
    named_tool(out, &fields, &PATH)
}

/// `{"type":"function","function":{"name"}}` or `{"type":"custom","custom":{"name"}}` →
/// `{"type", "name"}`.
fn named_tool(out: &mut Vec<u8>, fields: &Fields, path: &Path) -> Result<(), Refusal> {
    let kind = type_of(fields, path)?;
    if kind != "function" && kind != "custom" {
        return Err(bad_type(
            path,
            "expected 'function', 'custom' or 'allowed_tools'",
        ));
    }
    only_keys(fields, path, &["type", &kind])?;
    let inner_path = &path.key(&kind);
    let inner = object(required(fields, path, &kind)?, inner_path)?;
    only_keys(&inner, inner_path, &["name"])?;
    let name = required_raw(&inner, inner_path, "name")?;
    let mut tool = ObjectWriter::new(out);
    tool.str("type", &kind);
    tool.raw("name", name);
    tool.end();
    Ok(())
}

fn allowed_tools(out: &mut Vec<u8>, raw: &RawValue) -> Result<(), Refusal> {
    const TOP: Path = Path::top("tool_choice");
    let path = &TOP.key("allowed_tools");
    let fields = object(raw, path)?;
    only_keys(&fields, path, &["mode", "tools"])?;
    let mode_path = &path.key("mode");
    let mode = required(&fields, path, "mode")?;
    if !matches!(string(mode, mode_path)?.as_ref(), "auto" | "required") {
        return Err(Rejection::invalid_value(
            mode_path,
            &["expected 'auto' or 'required'"],
        ));
    }
    let mut choice = ObjectWriter::new(out);
    choice.str("type", "allowed_tools");
    choice.raw("mode", mode.get());
    let tools_path = &path.key("tools");
    let mut list = ArrayWriter::new(choice.key("tools"));
    for (i, tool) in array(required(&fields, path, "tools")?, tools_path)?
        .into_iter()
        .enumerate()
    {
        let path = &tools_path.index(i);
        named_tool(list.item(), &object(tool, path)?, path)?;
    }
    list.end();
    choice.end();
    Ok(())
}

/// `messages` → `input` items. Remembers the custom tool calls it has seen, so that a tool
/// message answering one becomes a `custom_tool_call_output`.
struct Conversation<'r> {
    options: &'r RequestOptions,
    custom_tools: &'r [String],
    custom_calls: Vec<String>,
    /// Whether participant names become a prefix of their message's text.
    prefix_names: bool,
}

impl<'r> Conversation<'r> {
    fn new(options: &'r RequestOptions, custom_tools: &'r [String]) -> Self {
        Conversation {
            options,
            custom_tools,
            custom_calls: Vec::new(),
            prefix_names: false,
        }
    }

    fn translate(mut self, raw: &RawValue) -> Result<Vec<u8>, Refusal> {
        const MESSAGES: Path = Path::top("messages");
        let messages = array(raw, &MESSAGES)?;
        if messages.is_empty() {
            return Err(Rejection::invalid_value(
                &MESSAGES,
                &["expected at least one message"],
            ));
        }
        if let Some(i) = shared_role(&messages) {
            match self.options.participant_names {
                ParticipantNames::Refuse => {
                    return Err(Rejection::unsupported(
                        &MESSAGES.index(i).key("name"),
                        "several participants share this message's role, and Responses messages \
                         have no participant name: dropping the names would merge them (the \
                         gateway's participant_names setting can drop them or prefix the text \
                         with them)",
                    ));
                }
                ParticipantNames::Drop => {}
                ParticipantNames::Prefix => self.prefix_names = true,
            }
        }
        let mut out = Vec::with_capacity(raw.get().len() + 64);
        let mut items = ArrayWriter::new(&mut out);
        for (i, message) in messages.into_iter().enumerate() {
            self.message(&mut items, message, &MESSAGES.index(i))?;
        }
        items.end();
        Ok(out)
    }

    fn message(
        &mut self,
        items: &mut ArrayWriter,
        raw: &RawValue,
        path: &Path,
    ) -> Result<(), Refusal> {
        let fields = object(raw, path)?;
        let role_path = &path.key("role");
        let role = string(required(&fields, path, "role")?, role_path)?;
        let prefixed = match self.prefix_names && role != "tool" {
            true => prefixed_content(&fields, path)?,
            false => None,
        };
        let content = prefixed
            .as_deref()
            .and_then(|json| serde_json::from_str::<&RawValue>(json).ok());
        let fields = match content {
            Some(content) => with_content(&fields, content),
            None => fields,
        };
        match role.as_ref() {
            "system" | "developer" => self.instruction(items.item(), &fields, path, &role),
            "user" => self.user(items.item(), &fields, path),
            "assistant" => self.assistant(items, &fields, path),
            "tool" => self.tool(items.item(), &fields, path),
            "function" => Err(Rejection::unsupported(
                role_path,
                "the legacy 'function' role carries no call id; answer 'tool_calls' with 'tool' messages",
            )),
            _ => Err(Rejection::invalid_value(
                role_path,
                &["expected 'system', 'developer', 'user', 'assistant' or 'tool'"],
            )),
        }
    }

    /// Checks a message's keys: `role`, the role's own `allowed` keys, and `name` (a string,
    /// not sent: [`shared_role`] has decided whether names may be left out).
    fn message_keys(&self, fields: &Fields, path: &Path, allowed: &[&str]) -> Result<(), Refusal> {
        for (key, value) in &fields.entries {
            if key == "role" || allowed.contains(&key.as_ref()) {
                continue;
            }
            let at = &path.key(key);
            if key != "name" {
                return Err(Rejection::unknown(at));
            }
            if !is_null(value) {
                string(value, at)?;
            }
        }
        Ok(())
    }

    /// A `system` or `developer` message: the same role, text only.
    fn instruction(
        &self,
        out: &mut Vec<u8>,
        fields: &Fields,
        path: &Path,
        role: &str,
    ) -> Result<(), Refusal> {
        self.message_keys(fields, path, &["content"])?;
        let content = required(fields, path, "content")?;
        let mut item = ObjectWriter::new(out);
        item.str("type", "message");
        item.str("role", role);
        text_content(item.key("content"), content, &path.key("content"))?;
        item.end();
        Ok(())
    }

    fn user(&self, out: &mut Vec<u8>, fields: &Fields, path: &Path) -> Result<(), Refusal> {
        self.message_keys(fields, path, &["content"])?;
        let content_path = &path.key("content");
        let content = required(fields, path, "content")?;
        let mut item = ObjectWriter::new(out);
        item.str("type", "message");
        item.str("role", "user");
        if is_string(content) {
            item.raw("content", raw_string(content, content_path)?);
        } else {
            user_parts(item.key("content"), content, content_path)?;
        }
        item.end();
        Ok(())
    }

    fn assistant(
        &mut self,
        items: &mut ArrayWriter,
        fields: &Fields,
        path: &Path,
    ) -> Result<(), Refusal> {
        const ALLOWED: [&str; 7] = [
            "content",
            "refusal",
            "tool_calls",
            "audio",
            "function_call",
            "annotations",
            "reasoning_content",
        ];
        self.message_keys(fields, path, &ALLOWED)?;
        echoed_fields(fields, path)?;
        let calls_path = &path.key("tool_calls");
        let calls = match present(fields, "tool_calls") {
            Some(raw) => array(raw, calls_path)?,
            None => Vec::new(),
        };
        let content = present(fields, "content");
        let refusal = present(fields, "refusal");
        if content.is_none() && refusal.is_none() && calls.is_empty() {
            return Err(Rejection::missing(&path.key("content")));
        }
        assistant_message(items, content, refusal, !calls.is_empty(), path)?;
        for (k, call) in calls.into_iter().enumerate() {
            self.tool_call(items.item(), call, &calls_path.index(k))?;
        }
        Ok(())
    }

    /// One assistant tool call → a `function_call` or `custom_tool_call` item.
    fn tool_call(&mut self, out: &mut Vec<u8>, raw: &RawValue, path: &Path) -> Result<(), Refusal> {
        let fields = object(raw, path)?;
        let kind = type_of(&fields, path)?;
        if kind != "function" && kind != "custom" {
            return Err(bad_type(path, "expected 'function' or 'custom'"));
        }
        only_keys(&fields, path, &["id", "type", &kind])?;
        let id_raw = required(&fields, path, "id")?;
        let id = string(id_raw, &path.key("id"))?;
        let call_path = &path.key(&kind);
        let call = object(required(&fields, path, &kind)?, call_path)?;
        let argument_key = if kind == "function" {
            "arguments"
        } else {
            "input"
        };
        only_keys(&call, call_path, &["name", argument_key])?;
        let name_raw = required(&call, call_path, "name")?;
        let name = string(name_raw, &call_path.key("name"))?;
        let argument = required_raw(&call, call_path, argument_key)?;
        let custom = kind == "custom" || self.custom_tools.iter().any(|t| *t == name);
        if custom {
            self.custom_calls.push(id.into_owned());
        }
        let mut item = ObjectWriter::new(out);
        if custom {
            item.str("type", "custom_tool_call");
        } else {
            item.str("type", "function_call");
        }
        item.raw("call_id", id_raw.get());
        item.raw("name", name_raw.get());
        item.raw(if custom { "input" } else { "arguments" }, argument);
        item.end();
        Ok(())
    }

    /// A `tool` message → the output of the call it answers.
    fn tool(&self, out: &mut Vec<u8>, fields: &Fields, path: &Path) -> Result<(), Refusal> {
        self.message_keys(fields, path, &["content", "tool_call_id"])?;
        let id_raw = required(fields, path, "tool_call_id")?;
        let id = string(id_raw, &path.key("tool_call_id"))?;
        let content = required(fields, path, "content")?;
        let mut item = ObjectWriter::new(out);
        if self.custom_calls.iter().any(|call| *call == id) {
            item.str("type", "custom_tool_call_output");
        } else {
            item.str("type", "function_call_output");
        }
        item.raw("call_id", id_raw.get());
        text_content(item.key("output"), content, &path.key("content"))?;
        item.end();
        Ok(())
    }
}

/// The index of the first message whose participant name differs from an earlier name of the
/// same role (`tool` messages aside: their name repeats the call id), or `None` when every role
/// has at most one distinct name. Messages that are not well formed are left to the walk.
#[inline(never)]
fn shared_role(messages: &[&RawValue]) -> Option<usize> {
    let mut names: Vec<(Cow<str>, Cow<str>)> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let Some(fields) = Fields::parse(message.get()) else {
            continue;
        };
        let (Some(role), Some(name)) = (
            fields.get("role").and_then(text),
            fields.get("name").and_then(text),
        ) else {
            continue;
        };
        if role == "tool" {
            continue;
        }
        match names.iter().find(|(r, _)| *r == role) {
            Some((_, first)) if *first != name => return Some(i),
            Some(_) => {}
            None => names.push((role, name)),
        }
    }
    None
}

/// A named message's content with `<name>: ` in front of its text: a string content prefixed;
/// parts with the first part's text prefixed when it is a text part, else a text part
/// `<name>: ` put first. `None` when the message has no name or no content.
#[inline(never)]
fn prefixed_content(fields: &Fields, path: &Path) -> Result<Option<String>, Refusal> {
    let (Some(name), Some(content)) = (present(fields, "name"), present(fields, "content")) else {
        return Ok(None);
    };
    let name = string(name, &path.key("name"))?;
    let prefix = [name.as_ref(), ": "].concat();
    let mut out = Vec::with_capacity(content.get().len() + prefix.len() + 32);
    if is_string(content) {
        let text = string(content, &path.key("content"))?;
        push_str(&mut out, &[prefix.as_str(), &text].concat());
    } else {
        // Anything but an array of parts is left for the walk to refuse.
        let Ok(parts) = serde_json::from_str::<Vec<&RawValue>>(content.get()) else {
            return Ok(None);
        };
        let first = parts.first().and_then(|part| Fields::parse(part.get()));
        let first_text = first.as_ref().filter(|part| {
            part.get("type").and_then(text).as_deref() == Some("text")
                && part.get("text").is_some_and(is_string)
        });
        let mut list = ArrayWriter::new(&mut out);
        let rest = match first_text {
            Some(part) => {
                let mut object = ObjectWriter::new(list.item());
                for (key, value) in &part.entries {
                    match (key.as_ref(), text(value)) {
                        ("text", Some(old)) => {
                            object.str("text", &[prefix.as_str(), &old].concat())
                        }
                        _ => object.raw(key, value.get()),
                    }
                }
                object.end();
                parts.get(1..).unwrap_or_default()
            }
            None => {
                let mut object = ObjectWriter::new(list.item());
                object.str("type", "text");
                object.str("text", &prefix);
                object.end();
                &parts[..]
            }
        };
        for part in rest {
            push_raw(list.item(), part.get());
        }
        list.end();
    }
    Ok(String::from_utf8(out).ok())
}

/// `fields` with its `content` replaced.
#[inline(never)]
fn with_content<'b>(fields: &Fields<'b>, content: &'b RawValue) -> Fields<'b> {
    Fields {
        entries: fields
            .entries
            .iter()
            .map(|(key, value)| (key.clone(), if key == "content" { content } else { *value }))
            .collect(),
    }
}

/// Fields of this filter's own answers that clients echo back in assistant messages: checked,
/// not sent; and the assistant fields that have no Responses equivalent.
fn echoed_fields(fields: &Fields, path: &Path) -> Result<(), Refusal> {
    if let Some(annotations) = present(fields, "annotations") {
        array(annotations, &path.key("annotations"))?;
    }
    if let Some(reasoning) = present(fields, "reasoning_content") {
        string(reasoning, &path.key("reasoning_content"))?;
    }
    for key in ["audio", "function_call"] {
        if present(fields, key).is_some() {
            return Err(Rejection::unsupported(
                &path.key(key),
                unsupported_reason(key),
            ));
        }
    }
    Ok(())
}

/// The assistant's text as a `message` item: a string as is, parts and refusals as
/// `output_text` / `refusal` parts. Left out when empty and the message has tool calls.
fn assistant_message(
    items: &mut ArrayWriter,
    content: Option<&RawValue>,
    refusal: Option<&RawValue>,
    has_calls: bool,
    path: &Path,
) -> Result<(), Refusal> {
    let content_path = &path.key("content");
    let text = match content {
        Some(raw) if is_string(raw) => Some(raw_string(raw, content_path)?),
        _ => None,
    };
    if let (Some(text), None) = (text, refusal) {
        if text != "\"\"" || !has_calls {
            write_assistant(items.item(), text.as_bytes());
        }
        return Ok(());
    }
    let mut parts = Vec::new();
    let mut list = ArrayWriter::new(&mut parts);
    match (text, content) {
        (Some("\"\""), _) | (None, None) => {}
        (Some(text), _) => output_part(list.item(), "output_text", text),
        (None, Some(raw)) => assistant_parts(&mut list, raw, content_path)?,
    }
    if let Some(refusal) = refusal {
        let refusal = raw_string(refusal, &path.key("refusal"))?;
        output_part(list.item(), "refusal", refusal);
    }
    let empty = list.is_empty();
    list.end();
    if !empty || !has_calls {
        write_assistant(items.item(), &parts);
    }
    Ok(())
}

/// `{"type":"message","role":"assistant","content":<content>}`.
fn write_assistant(out: &mut Vec<u8>, content: &[u8]) {
    let mut item = ObjectWriter::new(out);
    item.str("type", "message");
    item.str("role", "assistant");
    item.key("content").extend_from_slice(content);
    item.end();
}

/// An assistant part: `{"type":"output_text","text","annotations":[]}` or
/// `{"type":"refusal","refusal"}` (`kind` is the type, and the key of the raw string `value`).
fn output_part(out: &mut Vec<u8>, kind: &str, value: &str) {
    let mut part = ObjectWriter::new(out);
    part.str("type", kind);
    if kind == "refusal" {
        part.raw("refusal", value);
    } else {
        part.raw("text", value);
        part.raw("annotations", "[]");
    }
    part.end();
}

/// An assistant's content parts: `text` and `refusal`.
fn assistant_parts(list: &mut ArrayWriter, raw: &RawValue, path: &Path) -> Result<(), Refusal> {
    for (j, part) in content_parts(raw, path)?.into_iter().enumerate() {
        let part_path = &path.index(j);
        let fields = object(part, part_path)?;
        let (kind, key) = match type_of(&fields, part_path)?.as_ref() {
            "text" => ("output_text", "text"),
            "refusal" => ("refusal", "refusal"),
            _ => return Err(bad_type(part_path, "expected 'text' or 'refusal'")),
        };
        let allowed: &[&str] = if key == "text" {
            &["type", "text", "prompt_cache_breakpoint"]
        } else {
            &["type", "refusal"]
        };
        only_keys(&fields, part_path, allowed)?;
        if present(&fields, "prompt_cache_breakpoint").is_some() {
            return Err(Rejection::unsupported(
                &part_path.key("prompt_cache_breakpoint"),
                "assistant text becomes Responses output text, which takes no cache breakpoint",
            ));
        }
        output_part(list.item(), kind, required_raw(&fields, part_path, key)?);
    }
    Ok(())
}

/// Reads content that is not a string: an array of parts.
fn content_parts<'a>(raw: &'a RawValue, path: &Path) -> Result<Vec<&'a RawValue>, Refusal> {
    array(raw, path).map_err(|_| Rejection::invalid_type(path, "a string or an array of parts"))
}

/// Text-only content (system, developer and tool messages): a string as is, `text` parts as
/// `input_text` parts.
fn text_content(out: &mut Vec<u8>, raw: &RawValue, path: &Path) -> Result<(), Refusal> {
    if is_string(raw) {
        out.extend_from_slice(raw_string(raw, path)?.as_bytes());
        return Ok(());
    }
    let mut list = ArrayWriter::new(out);
    for (j, part) in content_parts(raw, path)?.into_iter().enumerate() {
        let part_path = &path.index(j);
        let fields = object(part, part_path)?;
        if type_of(&fields, part_path)? != "text" {
            return Err(bad_type(
                part_path,
                "expected 'text' (this message takes text only)",
            ));
        }
        input_text(list.item(), &fields, part_path)?;
    }
    list.end();
    Ok(())
}

/// A user message's parts: text, images and files.
fn user_parts(out: &mut Vec<u8>, raw: &RawValue, path: &Path) -> Result<(), Refusal> {
    let mut list = ArrayWriter::new(out);
    for (j, part) in content_parts(raw, path)?.into_iter().enumerate() {
        let part_path = &path.index(j);
        let fields = object(part, part_path)?;
        let write = match type_of(&fields, part_path)?.as_ref() {
            "text" => input_text,
            "image_url" => input_image,
            "file" => input_file,
            "input_audio" => {
                return Err(Rejection::unsupported(
                    part_path,
                    "the Responses API takes no audio input",
                ))
            }
            _ => {
                return Err(bad_type(
                    part_path,
                    "expected 'text', 'image_url', 'file' or 'input_audio'",
                ))
            }
        };
        write(list.item(), &fields, part_path)?;
    }
    list.end();
    Ok(())
}

/// Copies a part's `prompt_cache_breakpoint` (same shape in both APIs).
fn copy_breakpoint(part: &mut ObjectWriter, fields: &Fields, path: &Path) -> Result<(), Refusal> {
    if let Some(breakpoint) = present(fields, "prompt_cache_breakpoint") {
        object(breakpoint, &path.key("prompt_cache_breakpoint"))?;
        part.raw("prompt_cache_breakpoint", breakpoint.get());
    }
    Ok(())
}

/// `{"type":"text","text"}` → `{"type":"input_text","text"}`.
fn input_text(out: &mut Vec<u8>, fields: &Fields, path: &Path) -> Result<(), Refusal> {
    only_keys(fields, path, &["type", "text", "prompt_cache_breakpoint"])?;
    let mut part = ObjectWriter::new(out);
    part.str("type", "input_text");
    part.raw("text", required_raw(fields, path, "text")?);
    copy_breakpoint(&mut part, fields, path)?;
    part.end();
    Ok(())
}

/// `{"type":"image_url","image_url":{url, detail}}` → `{"type":"input_image", image_url, detail}`.
fn input_image(out: &mut Vec<u8>, fields: &Fields, path: &Path) -> Result<(), Refusal> {
    only_keys(
        fields,
        path,
        &["type", "image_url", "prompt_cache_breakpoint"],
    )?;
    let image_path = &path.key("image_url");
    let image = object(required(fields, path, "image_url")?, image_path)?;
    only_keys(&image, image_path, &["url", "detail"])?;
    let mut part = ObjectWriter::new(out);
    part.str("type", "input_image");
    part.raw("image_url", required_raw(&image, image_path, "url")?);
    match present(&image, "detail") {
        Some(detail) => part.raw("detail", raw_string(detail, &image_path.key("detail"))?),
        None => part.str("detail", "auto"),
    }
    copy_breakpoint(&mut part, fields, path)?;
    part.end();
    Ok(())
}

/// `{"type":"file","file":{file_id | file_data, filename}}` → `{"type":"input_file", …}`.
fn input_file(out: &mut Vec<u8>, fields: &Fields, path: &Path) -> Result<(), Refusal> {
    only_keys(fields, path, &["type", "file", "prompt_cache_breakpoint"])?;
    let file_path = &path.key("file");
    let file = object(required(fields, path, "file")?, file_path)?;
    only_keys(&file, file_path, &["file_id", "file_data", "filename"])?;
    if present(&file, "file_id").is_none() && present(&file, "file_data").is_none() {
        return Err(Rejection::invalid_value(
            file_path,
            &["expected 'file_id' or 'file_data'"],
        ));
    }
    let mut part = ObjectWriter::new(out);
    part.str("type", "input_file");
    for key in ["file_id", "file_data", "filename"] {
        copy_string(&mut part, &file, file_path, key)?;
    }
    copy_breakpoint(&mut part, fields, path)?;
    part.end();
    Ok(())
}
