//! A Google Gemini Interactions request (`POST /v1beta/interactions`, google-genai's
//! `CreateModelInteraction`) rewritten as an OpenAI Responses request (`POST /v1/responses`).
//!
//! The body is walked key by key, at every depth: each key is carried over, refused with a 400
//! naming its path (`input[1].content[0].mime_type`), or — for the names in
//! [`UNSUPPORTED_FIELDS`] — dropped when the configuration's `drop_unsupported_fields` lists it.
//! Nothing is dropped silently. A JSON `null` counts as an absent field. Strings, numbers and
//! schemas the Responses API takes unchanged are copied raw (compacted), never re-encoded.
//!
//! | Interactions field | Responses field |
//! |---|---|
//! | `model` (required, non-empty) | `model` |
//! | `input`: a string | `input`, the same string |
//! | `input`: one content object, or a list of contents | `input`: one `user` message |
//! | `input`: a list of steps | `input`: one item per step (below) |
//! | `input` absent or empty, with `previous_interaction_id` | `input: []` (the Responses API requires `input`) |
//! | `input` absent or empty, without it | refused |
//! | `system_instruction` | `instructions` |
//! | `previous_interaction_id` | `previous_response_id` (an interaction id *is* the upstream response id) |
//! | `tools[]` `{"type":"function","name","description","parameters"}` | function tool, `strict: false` (the Responses default `true` would reject ordinary Gemini schemas) |
//! | `tools[].name`, `description`, `parameters` | copied unchanged (the upstream applies its own name and schema rules, and its errors name the same path) |
//! | `tools[].defer_loading: true` | refused: deferred functions need the tool search tool, whose results are not carried back |
//! | `tools[].short_description` | refused, or dropped as `tools.short_description` |
//! | `tools[]` of a built-in type (`google_search`, `code_execution`, `url_context`, `file_search`, `google_maps`, `computer_use`, `mcp_server`, `tool_search`, `retrieval`) | refused: the answer could not carry their results |
//! | `generation_config.temperature` (0–2), `top_p` (0–1) | `temperature`, `top_p` |
//! | `generation_config.max_output_tokens` | `max_output_tokens`; below 16 refused (the Responses API's minimum), never clamped |
//! | `generation_config.thinking_level` `minimal`/`low`/`medium`/`high`/`xhigh` | `reasoning.effort`, the same word |
//! | `generation_config.thinking_summaries` `auto` / `none` | `reasoning.summary: "auto"` / no summary (the Responses default) |
//! | `generation_config.tool_choice` `auto` / `none` / `any` | `tool_choice` `auto` / `none` / `required` |
//! | `generation_config.tool_choice` `{"allowed_tools":{"mode","tools":[names]}}` | `{"type":"allowed_tools","mode":"auto"\|"required","tools":[{"type":"function","name"}]}`; mode `none` → `"none"`; no `tools` → the plain mode |
//! | `generation_config.tool_choice` `validated` | refused: no Responses equivalent |
//! | `generation_config.stop_sequences` (at most 5 non-empty strings of at most 1 KiB, as Gemini's generation config takes) | not sent (the Responses API has none): honoured by the gateway on the answer ([`crate::stop`]), carried in [`Translated::stop`] |
//! | `generation_config.seed`, `speech_config`, `image_config`, `transcription_config`, `video_config` | refused, or dropped when listed (`generation_config.seed`, …) |
//! | `response_format` `{"type":"text","mime_type":"application/json","schema"}` | `text.format` `{"type":"json_schema","name":"response","schema","strict":false}` |
//! | `response_format` `{"type":"text","mime_type":"application/json"}` (no schema) | `text.format` `{"type":"json_object"}` |
//! | `response_format` `{"type":"text"}` / `text/plain` | `text.format` `{"type":"text"}` |
//! | `response_format`: a bare JSON schema (legacy) with `response_mime_type: "application/json"` | `text.format` `json_schema`, as above |
//! | `response_mime_type` alone | `application/json` → `json_object`, `text/plain` → `text` |
//! | `response_format`: a list of one format | as that format; a longer list, or an audio / image / video format, refused |
//! | a schema with a MIME type other than `application/json`; a format `mime_type` that disagrees with `response_mime_type` | refused |
//! | `labels` | `metadata` (at most 16 entries, keys ≤ 64 and values ≤ 512 characters: the Responses limits); more refused |
//! | `service_tier` `standard` / `flex` / `priority` | `service_tier` `default` / `flex` / `priority`; `deferred` refused |
//! | `store`, `background`, `stream` | the same (`background: true` with `store: false` refused, as the Responses API does) |
//! | `response_modalities` `["text"]` (or `[]`) | nothing (text is the only output) |
//! | `response_modalities` with anything else, `safety_settings`, `cached_content`, `webhook_config`, `environment`, `continuation_token` | refused, or dropped when listed |
//! | `agent`, `agent_config` (agent interactions) | refused |
//! | any other key, at any depth | refused as unknown |
//!
//! Input contents (in a user message, and in a function result's list):
//!
//! | Interactions content | Responses part |
//! |---|---|
//! | `{"type":"text","text"}` | `{"type":"input_text","text"}` (`annotations` must be absent or empty) |
//! | `{"type":"image","data","mime_type"}` | `{"type":"input_image","image_url":"data:<mime_type>;base64,<data>"}` |
//! | `{"type":"image","uri"}` (`http(s):` or `data:`) | `{"type":"input_image","image_url":uri}`; other URI schemes refused |
//! | `image.resolution` `low` / `high` / `ultra_high` | `detail` `low` / `high` / `original`; `medium` refused (no equivalent) |
//! | `{"type":"document","data","mime_type"}` | `{"type":"input_file","filename":"document.<ext>","file_data":"data:…;base64,…"}` (the extension from the MIME type: the upstream reads it) |
//! | `{"type":"document","uri"}` (`http(s):`) | `{"type":"input_file","file_url":uri}` |
//! | `document.resolution` `low` / `high` | `detail` `low` / `high`; others refused; `document.processing` refused |
//! | `mime_type` next to a `uri` | not sent: the upstream reads the type from the file |
//! | `audio`, `video` | refused: the Responses API takes neither |
//!
//! Steps:
//!
//! | Interactions step | Responses item |
//! |---|---|
//! | `{"type":"user_input","content":[…]}` | `{"type":"message","role":"user","content":[parts]}` |
//! | `{"type":"model_output","content":[text…]}` | `{"type":"message","role":"assistant","content":[{"type":"output_text","text"}…]}`; non-text content and `error` refused; no content → no item |
//! | `{"type":"function_call","id","name","arguments":{…}}` | `{"type":"function_call","call_id":id,"name","arguments":"<the object as compact JSON>"}` |
//! | `{"type":"function_result","call_id","result","name"}` | `{"type":"function_call_output","call_id","output","name"}`: a string result as is, an object as compact JSON text, a list of contents as a list of parts |
//! | `function_result.is_error: true` | refused, or dropped as `input.function_result.is_error` (the Responses API has no error flag) |
//! | a `function_result` whose `call_id` matches no earlier `function_call` step, without `previous_interaction_id` | refused (the Responses API would refuse it) |
//! | `{"type":"thought",…}` | refused, or dropped as `input.thought`: a Responses `reasoning` item needs the upstream item id, which a thought step does not carry; the SDK never replays thoughts by itself |
//! | built-in tool steps (`google_search_call`, `code_execution_result`, …) | refused |

use crate::json::{push_raw, push_str, ArrayWriter, Fields, ObjectWriter};
use crate::request::{
    array, body_fields, boolean, decimal, is_null, number_up_to, object, only_keys, raw_string,
    stop_sequences, string, unsigned, Path, Refusal, Rejection, RequestOptions, Translated,
};
use crate::stop::StopSequences;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Client fields with no Responses equivalent: refused with a 400 naming them, unless the
/// configuration's `drop_unsupported_fields` lists them. Nested names are dotted paths;
/// `input.thought` means thought steps in `input`.
pub const UNSUPPORTED_FIELDS: &[&str] = &[
    "safety_settings",
    "cached_content",
    "webhook_config",
    "environment",
    "continuation_token",
    "response_modalities",
    "generation_config.seed",
    "generation_config.speech_config",
    "generation_config.image_config",
    "generation_config.transcription_config",
    "generation_config.video_config",
    "tools.short_description",
    "input.thought",
    "input.function_result.is_error",
];

/// The name given to a `json_schema` response format (the Responses API requires one; an
/// Interactions schema has none).
pub const SCHEMA_NAME: &str = "response";

/// The most stop sequences a request may give, as Gemini's generation config takes.
const MAX_STOP_SEQUENCES: usize = 5;

/// Lowest `max_output_tokens` the Responses API accepts.
const MIN_OUTPUT_TOKENS: u64 = 16;

/// Most `metadata` entries the Responses API accepts, and its key and value lengths.
const METADATA_MAX_ENTRIES: usize = 16;
const METADATA_KEY_MAX: usize = 64;
const METADATA_VALUE_MAX: usize = 512;

/// Built-in tool types of the Interactions API (all refused).
const BUILTIN_TOOLS: [&str; 9] = [
    "google_search",
    "code_execution",
    "url_context",
    "file_search",
    "google_maps",
    "computer_use",
    "mcp_server",
    "tool_search",
    "retrieval",
];

/// Content types of the Interactions API.
const CONTENT_TYPES: [&str; 5] = ["text", "image", "document", "audio", "video"];

/// Paths of the top-level fields that nested values hang from.
static INPUT: Path = Path::top("input");
static GENERATION_CONFIG: Path = Path::top("generation_config");
static RESPONSE_FORMAT: Path = Path::top("response_format");
static RESPONSE_MIME_TYPE: Path = Path::top("response_mime_type");
static TOOLS: Path = Path::top("tools");
static LABELS: Path = Path::top("labels");

/// Translates one client request body into a Responses request.
pub fn translate(body: &[u8], options: &RequestOptions) -> Result<Translated, Rejection> {
    translate_walk(body, options).map_err(|refusal| *refusal)
}

fn translate_walk(body: &[u8], options: &RequestOptions) -> Result<Translated, Refusal> {
    let fields = body_fields(body)?;
    let walk = Walk {
        options,
        stateful: fields
            .get("previous_interaction_id")
            .is_some_and(|v| !is_null(v)),
    };
    let mut request = Request::default();
    for (key, value) in &fields.entries {
        request.field(key, value, &walk)?;
    }
    request.finish(&walk)
}

/// What every part of the walk needs to know.
struct Walk<'o> {
    options: &'o RequestOptions,
    /// Whether the request continues a stored interaction (`previous_interaction_id`).
    stateful: bool,
}

impl Walk<'_> {
    /// An unsupported field: fine when `null` or configured to be dropped (`name`), else refused
    /// naming `param`.
    fn unsupported(
        &self,
        name: &str,
        param: &Path,
        value: &RawValue,
        why: &str,
    ) -> Result<(), Refusal> {
        if is_null(value) || self.options.drops(name) {
            Ok(())
        } else {
            Err(Rejection::unsupported(param, why))
        }
    }
}

/// Reads a field that may be `null` (absent).
#[inline(never)]
fn optional<'a, T>(
    raw: &'a RawValue,
    read: impl FnOnce(&'a RawValue) -> Result<T, Refusal>,
) -> Result<Option<T>, Refusal> {
    if is_null(raw) {
        Ok(None)
    } else {
        read(raw).map(Some)
    }
}

/// The first byte of a raw value, which tells its JSON kind.
fn first_byte(raw: &RawValue) -> u8 {
    raw.get().as_bytes().first().copied().unwrap_or(b' ')
}

/// The contents of a raw JSON string literal (escapes kept, quotes removed).
fn contents(raw_literal: &str) -> &str {
    raw_literal
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or("")
}

/// The translated `input`: the JSON value to send, and whether it says nothing.
struct Input {
    json: Vec<u8>,
    empty: bool,
}

/// The Responses request being assembled; written in a fixed key order by [`Request::finish`].
#[derive(Default)]
struct Request<'a> {
    model: Option<&'a str>,
    instructions: Option<&'a str>,
    input: Option<Input>,
    previous_response_id: Option<&'a str>,
    tools: Option<Vec<u8>>,
    tool_choice: Option<Vec<u8>>,
    response_format: Option<FormatSpec<'a>>,
    response_mime_type: Option<Cow<'a, str>>,
    effort: Option<&'static str>,
    summary: Option<&'static str>,
    temperature: Option<&'a str>,
    top_p: Option<&'a str>,
    max_output_tokens: Option<u64>,
    metadata: Option<&'a str>,
    service_tier: Option<&'static str>,
    store: Option<bool>,
    background: Option<bool>,
    stream: Option<bool>,
    stop: StopSequences,
}

impl<'a> Request<'a> {
    /// One top-level field.
    fn field(&mut self, key: &str, value: &'a RawValue, walk: &Walk) -> Result<(), Refusal> {
        let at = &Path::top(key);
        match key {
            "model" => self.model = optional(value, model)?,
            "input" => self.input = optional(value, |v| input(v, walk))?,
            "system_instruction" => self.instructions = optional(value, |v| raw_string(v, at))?,
            "previous_interaction_id" => {
                self.previous_response_id = optional(value, |v| raw_string(v, at))?
            }
            "tools" => self.tools = optional(value, |v| tools(v, walk))?,
            "generation_config" => {
                if !is_null(value) {
                    self.generation_config(value, walk)?;
                }
            }
            "response_format" => self.response_format = optional(value, response_format)?.flatten(),
            "response_mime_type" => self.response_mime_type = optional(value, |v| string(v, at))?,
            "labels" => self.metadata = optional(value, labels)?,
            "service_tier" => self.service_tier = optional(value, service_tier)?,
            "store" => self.store = optional(value, |v| boolean(v, at))?,
            "background" => self.background = optional(value, |v| boolean(v, at))?,
            "stream" => self.stream = optional(value, |v| boolean(v, at))?,
            "response_modalities" => response_modalities(value, walk)?,
            "safety_settings" | "cached_content" | "webhook_config" | "environment"
            | "continuation_token" => walk.unsupported(key, at, value, unsupported_why(key))?,
            "agent" | "agent_config" => {
                return Err(Rejection::unsupported(
                    at,
                    "agent interactions have no Responses API equivalent; use a model",
                ))
            }
            _ => return Err(Rejection::unknown(at)),
        }
        Ok(())
    }

    /// `generation_config`, key by key.
    fn generation_config(&mut self, raw: &'a RawValue, walk: &Walk) -> Result<(), Refusal> {
        let fields = object(raw, &GENERATION_CONFIG)?;
        for (key, value) in &fields.entries {
            let at = &GENERATION_CONFIG.key(key);
            match key.as_ref() {
                "temperature" => self.temperature = optional(value, |v| number_up_to(v, at, 2))?,
                "top_p" => self.top_p = optional(value, |v| number_up_to(v, at, 1))?,
                "max_output_tokens" => {
                    self.max_output_tokens = optional(value, |v| max_output_tokens(v, at))?
                }
                "thinking_level" => self.effort = optional(value, |v| thinking_level(v, at))?,
                "thinking_summaries" => {
                    self.summary = optional(value, |v| thinking_summaries(v, at))?.flatten()
                }
                "tool_choice" => self.tool_choice = optional(value, |v| tool_choice(v, at))?,
                "stop_sequences" => {
                    self.stop =
                        optional(value, |v| stop_sequences(v, at, MAX_STOP_SEQUENCES, false))?
                            .unwrap_or_default()
                }
                "seed"
                | "speech_config"
                | "image_config"
                | "transcription_config"
                | "video_config" => {
                    let name = ["generation_config.", key].concat();
                    walk.unsupported(&name, at, value, unsupported_why(key))?
                }
                _ => return Err(Rejection::unknown(at)),
            }
        }
        Ok(())
    }

    /// Checks what needs the whole request and writes the Responses body.
    fn finish(mut self, walk: &Walk) -> Result<Translated, Refusal> {
        let model = self
            .model
            .ok_or_else(|| Rejection::missing(&Path::top("model")))?;
        let input = final_input(self.input.take(), walk)?;
        if self.background == Some(true) && self.store == Some(false) {
            return Err(Rejection::invalid_value(
                &Path::top("background"),
                &["a background interaction must be stored, but 'store' is false"],
            ));
        }
        let text = match self.response_format.take() {
            Some(spec) => Some(spec.resolve(self.response_mime_type.as_deref())?),
            None => self
                .response_mime_type
                .as_deref()
                .map(mime_only_format)
                .transpose()?,
        };
        Ok(Translated {
            body: self.write(model, &input, text.as_ref()),
            stream: self.stream == Some(true),
            include_usage: false,
            stop: std::mem::take(&mut self.stop),
        })
    }

    /// Writes the Responses body, keys in a fixed order.
    fn write(&self, model: &str, input: &[u8], text: Option<&TextFormat>) -> Vec<u8> {
        let mut body = Vec::with_capacity(input.len() + 256);
        let mut out = ObjectWriter::new(&mut body);
        out.raw("model", model);
        if let Some(instructions) = self.instructions {
            out.raw("instructions", instructions);
        }
        out.key("input").extend_from_slice(input);
        if let Some(id) = self.previous_response_id {
            out.raw("previous_response_id", id);
        }
        if let Some(tools) = &self.tools {
            out.key("tools").extend_from_slice(tools);
        }
        if let Some(choice) = &self.tool_choice {
            out.key("tool_choice").extend_from_slice(choice);
        }
        if let Some(format) = text {
            write_text_format(out.key("text"), format);
        }
        self.write_generation(&mut out);
        out.end();
        body
    }

    /// Writes what `generation_config`, `labels`, `service_tier` and the flags map to.
    fn write_generation(&self, out: &mut ObjectWriter) {
        write_reasoning(out, self.effort, self.summary);
        if let Some(t) = self.temperature {
            out.raw("temperature", t);
        }
        if let Some(p) = self.top_p {
            out.raw("top_p", p);
        }
        if let Some(n) = self.max_output_tokens {
            out.u64("max_output_tokens", n);
        }
        if let Some(metadata) = self.metadata {
            out.raw("metadata", metadata);
        }
        if let Some(tier) = self.service_tier {
            out.str("service_tier", tier);
        }
        for (key, value) in [
            ("store", self.store),
            ("background", self.background),
            ("stream", self.stream),
        ] {
            if let Some(value) = value {
                out.bool(key, value);
            }
        }
    }
}

/// The `input` to send: the client's, or `[]` when it continues a stored interaction without
/// new input. Without `previous_interaction_id` an empty input is refused, as the Responses API
/// refuses it.
fn final_input(input: Option<Input>, walk: &Walk) -> Result<Vec<u8>, Refusal> {
    match input {
        Some(input) if !input.empty => Ok(input.json),
        _ if walk.stateful => Ok(b"[]".to_vec()),
        Some(_) => Err(Rejection::invalid_value(
            &INPUT,
            &["the input is empty and there is no previous_interaction_id to continue"],
        )),
        None => Err(Rejection::missing(&INPUT)),
    }
}

/// Why a field in [`UNSUPPORTED_FIELDS`] is refused.
fn unsupported_why(key: &str) -> &'static str {
    match key {
        "safety_settings" => "the Responses API has no safety settings",
        "cached_content" => "the Responses API has no explicit cached contents",
        "webhook_config" => "the Responses API has no per-request webhooks",
        "environment" => "the Responses API has no interaction environments",
        "continuation_token" => "the Responses API has no continuation tokens",
        "seed" => "the Responses API has no seed",
        "speech_config" | "transcription_config" => "this gateway returns text only",
        "image_config" | "video_config" => "this gateway returns text only",
        _ => "it has no Responses API equivalent",
    }
}

fn model(raw: &RawValue) -> Result<&str, Refusal> {
    let at = &Path::top("model");
    if string(raw, at)?.is_empty() {
        return Err(Rejection::invalid_value(at, &["the model name is empty"]));
    }
    Ok(raw.get())
}

fn max_output_tokens(raw: &RawValue, at: &Path) -> Result<u64, Refusal> {
    let n = unsigned(raw, at)?;
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
    Ok(n)
}

/// Reads a string that must be one of `words` (each mapped to the word to send), else refused
/// with `expected`.
#[inline(never)]
fn one_of<T: Copy>(
    raw: &RawValue,
    at: &Path,
    words: &[(&str, T)],
    expected: &str,
) -> Result<T, Refusal> {
    let text = string(raw, at)?;
    match words.iter().find(|(word, _)| *word == text) {
        Some((_, mapped)) => Ok(*mapped),
        None => Err(Rejection::invalid_value(at, &[expected])),
    }
}

fn thinking_level(raw: &RawValue, at: &Path) -> Result<&'static str, Refusal> {
    const LEVELS: [(&str, &str); 5] = [
        ("minimal", "minimal"),
        ("low", "low"),
        ("medium", "medium"),
        ("high", "high"),
        ("xhigh", "xhigh"),
    ];
    let expected = "expected one of 'minimal', 'low', 'medium', 'high' or 'xhigh'";
    one_of(raw, at, &LEVELS, expected)
}

/// `auto` asks for summaries; `none` is the Responses default (no `summary`).
fn thinking_summaries(raw: &RawValue, at: &Path) -> Result<Option<&'static str>, Refusal> {
    const SUMMARIES: [(&str, Option<&str>); 2] = [("auto", Some("auto")), ("none", None)];
    one_of(raw, at, &SUMMARIES, "expected 'auto' or 'none'")
}

fn write_reasoning(out: &mut ObjectWriter, effort: Option<&str>, summary: Option<&str>) {
    if effort.is_none() && summary.is_none() {
        return;
    }
    let mut reasoning = ObjectWriter::new(out.key("reasoning"));
    if let Some(effort) = effort {
        reasoning.str("effort", effort);
    }
    if let Some(summary) = summary {
        reasoning.str("summary", summary);
    }
    reasoning.end();
}

/// A Google tool choice mode as the Responses word, or `None` for `none`.
fn tool_mode(raw: &RawValue, at: &Path) -> Result<Option<&'static str>, Refusal> {
    const MODES: [(&str, Option<&str>); 3] = [
        ("auto", Some("auto")),
        ("any", Some("required")),
        ("none", None),
    ];
    if string(raw, at)? == "validated" {
        return Err(Rejection::unsupported(
            at,
            "the Responses API has no 'validated' tool choice",
        ));
    }
    let expected = "expected one of 'auto', 'any', 'none' or 'validated'";
    one_of(raw, at, &MODES, expected)
}

/// `generation_config.tool_choice`: a mode, or `{"allowed_tools":{"mode","tools"}}`.
fn tool_choice(raw: &RawValue, at: &Path) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::new();
    if first_byte(raw) != b'{' {
        push_str(&mut out, tool_mode(raw, at)?.unwrap_or("none"));
        return Ok(out);
    }
    let (mut mode, mut names) = (Some("auto"), None);
    for (key, value) in &object(raw, at)?.entries {
        let at = &at.key(key);
        match key.as_ref() {
            "allowed_tools" => {
                if let Some(allowed) = optional(value, |v| allowed_tools(v, at))? {
                    (mode, names) = allowed;
                }
            }
            _ => return Err(Rejection::unknown(at)),
        }
    }
    match (mode, names) {
        (Some(mode), Some(names)) => write_allowed_tools(&mut out, mode, &names),
        (mode, _) => push_str(&mut out, mode.unwrap_or("none")),
    }
    Ok(out)
}

/// `allowed_tools`: the mode (`None` for `none`; `auto` when absent) and the function names
/// (`None` when absent: every tool).
fn allowed_tools<'a>(
    raw: &'a RawValue,
    at: &Path,
) -> Result<(Option<&'static str>, Option<Vec<&'a str>>), Refusal> {
    let (mut mode, mut names) = (Some("auto"), None);
    for (key, value) in &object(raw, at)?.entries {
        let at = &at.key(key);
        match key.as_ref() {
            "mode" => mode = optional(value, |v| tool_mode(v, at))?.unwrap_or(Some("auto")),
            "tools" => names = optional(value, |v| tool_names(v, at))?,
            _ => return Err(Rejection::unknown(at)),
        }
    }
    Ok((mode, names))
}

/// `{"type":"allowed_tools","mode","tools":[{"type":"function","name"}…]}`.
fn write_allowed_tools(out: &mut Vec<u8>, mode: &str, names: &[&str]) {
    let mut choice = ObjectWriter::new(out);
    choice.str("type", "allowed_tools");
    choice.str("mode", mode);
    let mut list = ArrayWriter::new(choice.key("tools"));
    for name in names {
        let mut tool = ObjectWriter::new(list.item());
        tool.str("type", "function");
        tool.raw("name", name);
        tool.end();
    }
    list.end();
    choice.end();
}

/// A list of function names, each raw.
fn tool_names<'a>(raw: &'a RawValue, at: &Path) -> Result<Vec<&'a str>, Refusal> {
    array(raw, at)?
        .into_iter()
        .enumerate()
        .map(|(i, name)| raw_string(name, &at.index(i)))
        .collect()
}

fn service_tier(raw: &RawValue) -> Result<&'static str, Refusal> {
    const TIERS: [(&str, &str); 3] = [
        ("standard", "default"),
        ("flex", "flex"),
        ("priority", "priority"),
    ];
    let at = &Path::top("service_tier");
    if string(raw, at)? == "deferred" {
        return Err(Rejection::unsupported(
            at,
            "the Responses API has no 'deferred' tier",
        ));
    }
    let expected = "expected one of 'standard', 'flex', 'priority' or 'deferred'";
    one_of(raw, at, &TIERS, expected)
}

/// `labels` → `metadata`, raw, within the Responses limits.
fn labels(raw: &RawValue) -> Result<&str, Refusal> {
    let fields = object(raw, &LABELS)?;
    let count = fields.entries.len();
    if count > METADATA_MAX_ENTRIES {
        return Err(Rejection::invalid_value(
            &LABELS,
            &[
                "the Responses API's metadata holds at most ",
                &decimal(METADATA_MAX_ENTRIES as u64),
                " entries, got ",
                &decimal(count as u64),
            ],
        ));
    }
    for (key, value) in &fields.entries {
        let at = &LABELS.key(key);
        let text = string(value, at)?;
        if key.chars().count() > METADATA_KEY_MAX || text.chars().count() > METADATA_VALUE_MAX {
            return Err(Rejection::invalid_value(
                at,
                &[
                    "the Responses API's metadata takes keys of at most ",
                    &decimal(METADATA_KEY_MAX as u64),
                    " characters and values of at most ",
                    &decimal(METADATA_VALUE_MAX as u64),
                ],
            ));
        }
    }
    Ok(raw.get())
}

/// `response_modalities`: only text (or nothing) is meaningful.
fn response_modalities(raw: &RawValue, walk: &Walk) -> Result<(), Refusal> {
    const KEY: &str = "response_modalities";
    let at = &Path::top(KEY);
    if is_null(raw) {
        return Ok(());
    }
    let mut text_only = true;
    for (i, modality) in array(raw, at)?.into_iter().enumerate() {
        text_only &= string(modality, &at.index(i))? == "text";
    }
    if text_only {
        return Ok(());
    }
    walk.unsupported(KEY, at, raw, "this gateway returns text only")
}

// ---------------------------------------------------------------- response format

/// A text response format as the client gave it: its MIME type and schema, and where they came
/// from (for error paths).
struct FormatSpec<'a> {
    mime: Option<Cow<'a, str>>,
    schema: Option<&'a RawValue>,
    /// Whether the format came in a list (`response_format[0]`) rather than alone.
    listed: bool,
    /// A bare schema (the legacy form): its MIME type comes from `response_mime_type`.
    legacy: bool,
}

/// The Responses `text.format` chosen.
enum TextFormat<'a> {
    Text,
    JsonObject,
    JsonSchema(&'a RawValue),
}

/// `response_format`: one format or a list of one; `None` for an empty list.
fn response_format(raw: &RawValue) -> Result<Option<FormatSpec<'_>>, Refusal> {
    if first_byte(raw) != b'[' {
        return format_spec(raw, false).map(Some);
    }
    let formats = array(raw, &RESPONSE_FORMAT)?;
    match formats.as_slice() {
        [] => Ok(None),
        [one] => format_spec(one, true).map(Some),
        _ => Err(Rejection::unsupported(
            &RESPONSE_FORMAT,
            "the Responses API takes one text format; several response formats cannot be sent",
        )),
    }
}

/// The path of a format: `response_format`, or `response_format[0]` when it came in a list.
fn format_path(listed: bool) -> Path<'static> {
    if listed {
        RESPONSE_FORMAT.index(0)
    } else {
        RESPONSE_FORMAT
    }
}

fn format_spec(raw: &RawValue, listed: bool) -> Result<FormatSpec<'_>, Refusal> {
    let path = &format_path(listed);
    let fields = object(raw, path)?;
    let kind = match fields.get("type") {
        Some(kind) => string(kind, &path.key("type"))?,
        None => Cow::Borrowed(""),
    };
    match kind.as_ref() {
        "text" => text_format_spec(&fields, listed),
        "audio" | "image" | "video" => Err(Rejection::unsupported(
            &path.key("type"),
            "this gateway returns text only",
        )),
        _ => Ok(FormatSpec {
            mime: None,
            schema: Some(raw),
            listed,
            legacy: true,
        }),
    }
}

fn text_format_spec<'a>(fields: &Fields<'a>, listed: bool) -> Result<FormatSpec<'a>, Refusal> {
    let path = &format_path(listed);
    let mut spec = FormatSpec {
        mime: None,
        schema: None,
        listed,
        legacy: false,
    };
    for (key, value) in &fields.entries {
        let at = &path.key(key);
        match key.as_ref() {
            "type" => {}
            "mime_type" => spec.mime = optional(value, |v| string(v, at))?,
            "schema" => spec.schema = optional(value, |v| json_object(v, at))?,
            _ => return Err(Rejection::unknown(at)),
        }
    }
    Ok(spec)
}

impl<'a> FormatSpec<'a> {
    /// The Responses format, with the legacy `response_mime_type` when the format has none.
    fn resolve(self, response_mime_type: Option<&str>) -> Result<TextFormat<'a>, Refusal> {
        let path = &format_path(self.listed);
        let own = &path.key("mime_type");
        let (mime, mime_path) = match (self.mime.as_deref(), response_mime_type) {
            (Some(a), Some(b)) if a != b => {
                return Err(Rejection::invalid_value(
                    &RESPONSE_MIME_TYPE,
                    &["it disagrees with ", &own.text()],
                ))
            }
            (Some(mime), _) => (Some(mime), own),
            (None, mime) => (mime, &RESPONSE_MIME_TYPE),
        };
        match (mime, self.schema) {
            (Some("application/json"), Some(schema)) => {
                json_object(schema, path)?;
                Ok(TextFormat::JsonSchema(schema))
            }
            (Some("application/json"), None) => Ok(TextFormat::JsonObject),
            (_, Some(_)) if self.legacy => Err(Rejection::invalid_value(
                &RESPONSE_MIME_TYPE,
                &["a response_format schema needs response_mime_type 'application/json'"],
            )),
            (_, Some(_)) => Err(Rejection::invalid_value(
                mime_path,
                &["a schema needs the MIME type 'application/json'"],
            )),
            (None | Some("text/plain"), None) => Ok(TextFormat::Text),
            (Some(_), None) => Err(Rejection::invalid_value(
                mime_path,
                &["expected 'application/json' or 'text/plain'"],
            )),
        }
    }
}

/// `response_mime_type` without `response_format`.
fn mime_only_format(mime: &str) -> Result<TextFormat<'static>, Refusal> {
    match mime {
        "application/json" => Ok(TextFormat::JsonObject),
        "text/plain" => Ok(TextFormat::Text),
        _ => Err(Rejection::invalid_value(
            &RESPONSE_MIME_TYPE,
            &["expected 'application/json' or 'text/plain'"],
        )),
    }
}

fn write_text_format(out: &mut Vec<u8>, format: &TextFormat) {
    out.extend_from_slice(b"{\"format\":");
    let mut spec = ObjectWriter::new(out);
    match format {
        TextFormat::Text => spec.str("type", "text"),
        TextFormat::JsonObject => spec.str("type", "json_object"),
        TextFormat::JsonSchema(schema) => {
            spec.str("type", "json_schema");
            spec.str("name", SCHEMA_NAME);
            spec.raw("schema", schema.get());
            spec.bool("strict", false);
        }
    }
    spec.end();
    out.push(b'}');
}

/// Checks that a value is a JSON object and returns it.
fn json_object<'a>(raw: &'a RawValue, at: &Path) -> Result<&'a RawValue, Refusal> {
    object(raw, at)?;
    Ok(raw)
}

// ---------------------------------------------------------------- tools

/// `tools`: function declarations only.
fn tools(raw: &RawValue, walk: &Walk) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::with_capacity(raw.get().len() + 32);
    let mut list = ArrayWriter::new(&mut out);
    for (i, tool) in array(raw, &TOOLS)?.into_iter().enumerate() {
        let path = &TOOLS.index(i);
        let fields = object(tool, path)?;
        let kind = required_string(&fields, path, "type")?;
        match kind.as_ref() {
            "function" => function_tool(&fields, path, walk, list.item())?,
            builtin if BUILTIN_TOOLS.contains(&builtin) => {
                return Err(Rejection::unsupported(
                    &path.key("type"),
                    &[
                        "the built-in tool '",
                        builtin,
                        "' cannot be served: the Responses answer would not carry its results back",
                    ]
                    .concat(),
                ))
            }
            _ => {
                return Err(Rejection::invalid_value(
                    &path.key("type"),
                    &["unknown tool type"],
                ))
            }
        }
    }
    list.end();
    Ok(out)
}

fn function_tool(
    fields: &Fields,
    path: &Path,
    walk: &Walk,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let mut name = None;
    let mut description = None;
    let mut parameters = None;
    for (key, value) in &fields.entries {
        let at = &path.key(key);
        match key.as_ref() {
            "type" => {}
            "name" => name = optional(value, |v| raw_string(v, at))?,
            "description" => description = optional(value, |v| raw_string(v, at))?,
            "parameters" => parameters = optional(value, |v| json_object(v, at))?,
            "defer_loading" => {
                if optional(value, |v| boolean(v, at))? == Some(true) {
                    return Err(Rejection::unsupported(
                        at,
                        "deferred functions need the tool search tool, whose results the answer would not carry",
                    ));
                }
            }
            "short_description" => walk.unsupported(
                "tools.short_description",
                at,
                value,
                "the Responses API has no short descriptions of functions",
            )?,
            _ => return Err(Rejection::unknown(at)),
        }
    }
    let name = name.ok_or_else(|| Rejection::missing(&path.key("name")))?;
    let mut tool = ObjectWriter::new(out);
    tool.str("type", "function");
    tool.raw("name", name);
    if let Some(description) = description {
        tool.raw("description", description);
    }
    if let Some(parameters) = parameters {
        tool.raw("parameters", parameters.get());
    }
    tool.bool("strict", false);
    tool.end();
    Ok(())
}

/// A required member (`null` counts as absent).
#[inline(never)]
fn required<'a>(fields: &Fields<'a>, path: &Path, key: &str) -> Result<&'a RawValue, Refusal> {
    fields
        .get(key)
        .filter(|v| !is_null(v))
        .ok_or_else(|| Rejection::missing(&path.key(key)))
}

/// A required string member, unescaped.
#[inline(never)]
fn required_string<'a>(
    fields: &Fields<'a>,
    path: &Path,
    key: &str,
) -> Result<Cow<'a, str>, Refusal> {
    string(required(fields, path, key)?, &path.key(key))
}

/// A required string member: raw (to copy) and unescaped (to compare).
#[inline(never)]
fn required_raw<'a>(
    fields: &Fields<'a>,
    path: &Path,
    key: &str,
) -> Result<(&'a str, Cow<'a, str>), Refusal> {
    let value = required(fields, path, key)?;
    Ok((value.get(), string(value, &path.key(key))?))
}

// ---------------------------------------------------------------- input

/// `input`: a string, one content, or a list of contents or of steps.
fn input(raw: &RawValue, walk: &Walk) -> Result<Input, Refusal> {
    match first_byte(raw) {
        b'"' => {
            let text = string(raw, &INPUT)?;
            Ok(Input {
                json: raw.get().as_bytes().to_vec(),
                empty: text.is_empty(),
            })
        }
        b'{' => {
            let contents = Contents {
                list: vec![object(raw, &INPUT)?],
                base: &INPUT,
                alone: true,
            };
            let mut items = Items::default();
            user_message(&contents, &mut items)?;
            Ok(items.finish())
        }
        b'[' => input_list(raw, walk),
        _ => Err(Rejection::invalid_type(
            &INPUT,
            "a string, a content object or a list of steps or contents",
        )),
    }
}

/// A list of contents (one user message) or of steps (one item each).
fn input_list(raw: &RawValue, walk: &Walk) -> Result<Input, Refusal> {
    let raws = array(raw, &INPUT)?;
    let elements = raws
        .iter()
        .enumerate()
        .map(|(i, element)| object(element, &INPUT.index(i)))
        .collect::<Result<Vec<_>, Refusal>>()?;
    let mut kinds = Vec::with_capacity(elements.len());
    for (i, fields) in elements.iter().enumerate() {
        let kind = required_string(fields, &INPUT.index(i), "type")?;
        kinds.push(CONTENT_TYPES.contains(&kind.as_ref()));
    }
    let mut items = Items::default();
    if kinds.iter().all(|&content| content) && !kinds.is_empty() {
        let contents = Contents {
            list: elements,
            base: &INPUT,
            alone: false,
        };
        user_message(&contents, &mut items)?;
    } else if let Some(i) = kinds.iter().position(|&content| content) {
        return Err(Rejection::invalid_value(
            &INPUT.index(i).key("type"),
            &["a list of steps cannot hold a bare content; wrap it in a user_input step"],
        ));
    } else {
        for (i, (fields, raw)) in elements.iter().zip(raws).enumerate() {
            step(fields, &INPUT.index(i), raw, walk, &mut items)?;
        }
    }
    Ok(items.finish())
}

/// Input items being written, and the function call ids seen so far.
#[derive(Default)]
struct Items {
    out: Vec<u8>,
    count: usize,
    calls: Vec<String>,
}

impl Items {
    /// Opens the next item: returns the buffer to write it to.
    fn next(&mut self) -> &mut Vec<u8> {
        if self.count > 0 {
            self.out.push(b',');
        }
        self.count += 1;
        &mut self.out
    }

    fn finish(self) -> Input {
        let mut json = Vec::with_capacity(self.out.len() + 2);
        json.push(b'[');
        json.extend_from_slice(&self.out);
        json.push(b']');
        Input {
            json,
            empty: self.count == 0,
        }
    }
}

/// One step of `input`.
fn step(
    fields: &Fields,
    path: &Path,
    raw: &RawValue,
    walk: &Walk,
    items: &mut Items,
) -> Result<(), Refusal> {
    let kind = required_string(fields, path, "type")?;
    match kind.as_ref() {
        "user_input" => user_input_step(fields, path, items),
        "model_output" => model_output_step(fields, path, items),
        "function_call" => function_call_step(fields, path, items),
        "function_result" => function_result_step(fields, path, walk, items),
        "thought" => walk.unsupported(
            "input.thought",
            path,
            raw,
            "thought steps cannot be replayed to the Responses API (its reasoning items need the upstream item id); list \"input.thought\" in drop_unsupported_fields to drop them",
        ),
        builtin if builtin.ends_with("_call") || builtin.ends_with("_result") => {
            Err(Rejection::unsupported(
                &path.key("type"),
                "steps of built-in tools cannot be replayed to the Responses API",
            ))
        }
        _ => Err(Rejection::invalid_value(
            &path.key("type"),
            &["unknown step type"],
        )),
    }
}

/// Contents and where they sit: each at `base[i]`, or at `base` itself for one content given
/// alone (`input: {…}`).
struct Contents<'a, 'p> {
    list: Vec<Fields<'a>>,
    base: &'p Path<'p>,
    alone: bool,
}

impl<'p> Contents<'_, 'p> {
    /// The path of the `i`-th content.
    fn at(&self, i: usize) -> Path<'p> {
        if self.alone {
            *self.base
        } else {
            self.base.index(i)
        }
    }
}

/// The contents of a step (`content`, at `at`), each an object; none when absent.
fn step_contents<'a>(fields: &Fields<'a>, at: &Path) -> Result<Vec<Fields<'a>>, Refusal> {
    let Some(raw) = fields.get("content").filter(|v| !is_null(v)) else {
        return Ok(Vec::new());
    };
    objects(raw, at)
}

/// An array of objects.
fn objects<'a>(raw: &'a RawValue, at: &Path) -> Result<Vec<Fields<'a>>, Refusal> {
    array(raw, at)?
        .into_iter()
        .enumerate()
        .map(|(i, content)| object(content, &at.index(i)))
        .collect()
}

fn user_input_step(fields: &Fields, path: &Path, items: &mut Items) -> Result<(), Refusal> {
    only_keys(fields, path, &["type", "content"])?;
    let at = &path.key("content");
    let list = step_contents(fields, at)?;
    if list.is_empty() {
        return Err(Rejection::invalid_value(
            at,
            &["a user_input step needs at least one content"],
        ));
    }
    let contents = Contents {
        list,
        base: at,
        alone: false,
    };
    user_message(&contents, items)
}

/// One user message from contents.
fn user_message(contents: &Contents, items: &mut Items) -> Result<(), Refusal> {
    let out = items.next();
    out.extend_from_slice(b"{\"type\":\"message\",\"role\":\"user\",\"content\":");
    parts(contents, out)?;
    out.push(b'}');
    Ok(())
}

/// Contents as a list of Responses input parts.
fn parts(contents: &Contents, out: &mut Vec<u8>) -> Result<(), Refusal> {
    let mut list = ArrayWriter::new(out);
    for (i, fields) in contents.list.iter().enumerate() {
        input_part(fields, &contents.at(i), list.item())?;
    }
    list.end();
    Ok(())
}

/// One content as a Responses input part.
fn input_part(fields: &Fields, path: &Path, out: &mut Vec<u8>) -> Result<(), Refusal> {
    let kind = required_string(fields, path, "type")?;
    match kind.as_ref() {
        "text" => {
            let text = text_content(fields, path)?;
            let mut part = ObjectWriter::new(out);
            part.str("type", "input_text");
            part.raw("text", text);
            part.end();
            Ok(())
        }
        "image" => media_part(fields, path, &IMAGE, out),
        "document" => media_part(fields, path, &DOCUMENT, out),
        "audio" | "video" => Err(Rejection::unsupported(
            &path.key("type"),
            &["the Responses API takes no ", &kind, " input"].concat(),
        )),
        _ => Err(Rejection::invalid_value(
            &path.key("type"),
            &["unknown content type"],
        )),
    }
}

/// A text content's text (raw); `annotations` must be absent or empty.
fn text_content<'a>(fields: &Fields<'a>, path: &Path) -> Result<&'a str, Refusal> {
    let mut text = None;
    for (key, value) in &fields.entries {
        let at = &path.key(key);
        match key.as_ref() {
            "type" => {}
            "text" => text = optional(value, |v| raw_string(v, at))?,
            "annotations" => {
                if !is_null(value) && !array(value, at)?.is_empty() {
                    return Err(Rejection::unsupported(
                        at,
                        "citations cannot be sent to the Responses API",
                    ));
                }
            }
            _ => return Err(Rejection::unknown(at)),
        }
    }
    text.ok_or_else(|| Rejection::missing(&path.key("text")))
}

/// How an image or a document content becomes a Responses part.
struct MediaKind {
    /// The Responses part type.
    part: &'static str,
    /// The key of inline data (a `data:` URL).
    data_key: &'static str,
    /// The key of a URI.
    uri_key: &'static str,
    /// URI schemes the upstream can fetch, and how a rejection names them.
    schemes: &'static [&'static str],
    scheme_names: &'static str,
    /// `resolution` values and the `detail` each becomes.
    details: &'static [(&'static str, &'static str)],
    /// Whether inline data needs a file name telling its type.
    filename: bool,
}

const IMAGE: MediaKind = MediaKind {
    part: "input_image",
    data_key: "image_url",
    uri_key: "image_url",
    schemes: &["https://", "http://", "data:"],
    scheme_names: "https / http / data",
    details: &[("low", "low"), ("high", "high"), ("ultra_high", "original")],
    filename: false,
};

const DOCUMENT: MediaKind = MediaKind {
    part: "input_file",
    data_key: "file_data",
    uri_key: "file_url",
    schemes: &["https://", "http://"],
    scheme_names: "https / http",
    details: &[("low", "low"), ("high", "high")],
    filename: true,
};

/// The members of an image or document content.
#[derive(Default)]
struct Media<'a> {
    data: Option<&'a str>,
    mime: Option<&'a str>,
    uri: Option<Cow<'a, str>>,
    uri_raw: Option<&'a str>,
    detail: Option<&'static str>,
}

/// Reads an image or document.
fn media<'a>(fields: &Fields<'a>, path: &Path, kind: &MediaKind) -> Result<Media<'a>, Refusal> {
    let mut media = Media::default();
    for (key, value) in &fields.entries {
        let at = &path.key(key);
        match key.as_ref() {
            "type" => {}
            "data" => media.data = optional(value, |v| raw_string(v, at))?,
            "mime_type" => media.mime = optional(value, |v| mime_type(v, at))?,
            "uri" => {
                media.uri = optional(value, |v| string(v, at))?;
                media.uri_raw = optional(value, |v| raw_string(v, at))?;
            }
            "resolution" => {
                media.detail = optional(value, |v| {
                    let resolution = string(v, at)?;
                    match kind.details.iter().find(|(r, _)| *r == resolution) {
                        Some((_, detail)) => Ok(*detail),
                        None => Err(Rejection::unsupported(
                            at,
                            "the Responses API has no such detail level",
                        )),
                    }
                })?
            }
            "processing" if is_null(value) => {}
            "processing" => {
                return Err(Rejection::unsupported(
                    at,
                    "the Responses API has no processing options",
                ))
            }
            _ => return Err(Rejection::unknown(at)),
        }
    }
    if media.data.is_some() && media.uri.is_some() {
        return Err(Rejection::invalid_value(
            &path.key("uri"),
            &["give either data or uri, not both"],
        ));
    }
    if media.data.is_none() && media.uri.is_none() {
        return Err(Rejection::missing(&path.key("data")));
    }
    Ok(media)
}

/// A MIME type safe to place in a `data:` URL (returned as its raw contents).
fn mime_type<'a>(raw: &'a RawValue, at: &Path) -> Result<&'a str, Refusal> {
    let mime = contents(raw_string(raw, at)?);
    let safe = mime.contains('/')
        && mime
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/.+-_".contains(&b));
    if !safe {
        return Err(Rejection::invalid_value(at, &["not a MIME type"]));
    }
    Ok(mime)
}

/// Writes `"data:<mime>;base64,<data>"` from the raw contents of both.
fn push_data_url(out: &mut Vec<u8>, mime: &str, data: &str) {
    out.extend_from_slice(b"\"data:");
    out.extend_from_slice(mime.as_bytes());
    out.extend_from_slice(b";base64,");
    out.extend_from_slice(contents(data).as_bytes());
    out.push(b'"');
}

/// An image (`input_image`) or a document (`input_file`) part.
fn media_part(
    fields: &Fields,
    path: &Path,
    kind: &MediaKind,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let media = media(fields, path, kind)?;
    let mut part = ObjectWriter::new(out);
    part.str("type", kind.part);
    match (media.data, media.uri_raw) {
        (Some(data), _) => {
            let mime = media
                .mime
                .ok_or_else(|| Rejection::missing(&path.key("mime_type")))?;
            if kind.filename {
                part.str("filename", &document_filename(mime));
            }
            push_data_url(part.key(kind.data_key), mime, data);
        }
        (None, Some(uri)) => {
            check_uri(media.uri.as_deref(), path, kind)?;
            part.raw(kind.uri_key, uri);
        }
        (None, None) => return Err(Rejection::missing(&path.key("data"))),
    }
    if let Some(detail) = media.detail {
        part.str("detail", detail);
    }
    part.end();
    Ok(())
}

/// Refuses a URI the upstream could not fetch.
fn check_uri(uri: Option<&str>, path: &Path, kind: &MediaKind) -> Result<(), Refusal> {
    let uri = uri.unwrap_or("");
    let lower = uri.get(..8).unwrap_or(uri).to_ascii_lowercase();
    if kind.schemes.iter().any(|s| lower.starts_with(s)) {
        return Ok(());
    }
    Err(Rejection::invalid_value(
        &path.key("uri"),
        &["the upstream can only fetch ", kind.scheme_names, " URIs"],
    ))
}

/// A file name whose extension tells the upstream the document's type.
fn document_filename(mime: &str) -> String {
    const EXTENSIONS: [(&str, &str); 12] = [
        ("application/pdf", "pdf"),
        ("text/csv", "csv"),
        (
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "pptx",
        ),
        ("application/vnd.ms-powerpoint", "ppt"),
        ("application/vnd.oasis.opendocument.presentation", "odp"),
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "docx",
        ),
        ("application/msword", "doc"),
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
            "dotx",
        ),
        ("application/vnd.oasis.opendocument.text", "odt"),
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        ("application/vnd.ms-excel", "xls"),
        ("application/vnd.oasis.opendocument.spreadsheet", "ods"),
    ];
    match EXTENSIONS.iter().find(|(m, _)| *m == mime) {
        Some((_, ext)) => ["document.", ext].concat(),
        None => "document".to_owned(),
    }
}

fn model_output_step(fields: &Fields, path: &Path, items: &mut Items) -> Result<(), Refusal> {
    only_keys(fields, path, &["type", "content", "error"])?;
    if fields.get("error").is_some_and(|v| !is_null(v)) {
        return Err(Rejection::unsupported(
            &path.key("error"),
            "a failed model output cannot be replayed to the Responses API",
        ));
    }
    let content_path = &path.key("content");
    let contents = step_contents(fields, content_path)?;
    if contents.is_empty() {
        return Ok(());
    }
    let mut message = ObjectWriter::new(items.next());
    message.str("type", "message");
    message.str("role", "assistant");
    let mut list = ArrayWriter::new(message.key("content"));
    for (i, content) in contents.iter().enumerate() {
        let at = &content_path.index(i);
        if required_string(content, at, "type")? != "text" {
            return Err(Rejection::unsupported(
                &at.key("type"),
                "the Responses API takes only text in the model's earlier output",
            ));
        }
        let mut part = ObjectWriter::new(list.item());
        part.str("type", "output_text");
        part.raw("text", text_content(content, at)?);
        part.end();
    }
    list.end();
    message.end();
    Ok(())
}

fn function_call_step(fields: &Fields, path: &Path, items: &mut Items) -> Result<(), Refusal> {
    only_keys(fields, path, &["type", "id", "name", "arguments"])?;
    let (id, decoded_id) = required_raw(fields, path, "id")?;
    let (name, _) = required_raw(fields, path, "name")?;
    let at = &path.key("arguments");
    let arguments = compact_object(required(fields, path, "arguments")?, at)?;
    items.calls.push(decoded_id.into_owned());
    let mut call = ObjectWriter::new(items.next());
    call.str("type", "function_call");
    call.raw("call_id", id);
    call.raw("name", name);
    call.str("arguments", &arguments);
    call.end();
    Ok(())
}

/// An object, as compact JSON text.
fn compact_object(raw: &RawValue, at: &Path) -> Result<String, Refusal> {
    object(raw, at)?;
    let mut out = Vec::with_capacity(raw.get().len());
    push_raw(&mut out, raw.get());
    String::from_utf8(out).map_err(|e| Box::new(Rejection::malformed(e)))
}

fn function_result_step(
    fields: &Fields,
    path: &Path,
    walk: &Walk,
    items: &mut Items,
) -> Result<(), Refusal> {
    only_keys(
        fields,
        path,
        &["type", "call_id", "result", "is_error", "name"],
    )?;
    let (call_id, call) = required_raw(fields, path, "call_id")?;
    if !walk.stateful && !items.calls.iter().any(|c| *c == call) {
        return Err(Rejection::invalid_value(
            &path.key("call_id"),
            &["no earlier function_call step has this id (send that step, or previous_interaction_id)"],
        ));
    }
    check_is_error(fields, path, walk)?;
    let name = match fields.get("name") {
        Some(value) => optional(value, |v| raw_string(v, &path.key("name")))?,
        None => None,
    };
    let at = &path.key("result");
    let result = required(fields, path, "result")?;
    let mut output = Vec::new();
    function_output(result, at, &mut output)?;
    let mut item = ObjectWriter::new(items.next());
    item.str("type", "function_call_output");
    item.raw("call_id", call_id);
    item.key("output").extend_from_slice(&output);
    if let Some(name) = name {
        item.raw("name", name);
    }
    item.end();
    Ok(())
}

/// `function_result.is_error`: `false` says nothing; `true` has no Responses equivalent.
fn check_is_error(fields: &Fields, path: &Path, walk: &Walk) -> Result<(), Refusal> {
    let Some(flag) = fields.get("is_error") else {
        return Ok(());
    };
    let at = &path.key("is_error");
    if optional(flag, |v| boolean(v, at))? != Some(true) {
        return Ok(());
    }
    walk.unsupported(
        "input.function_result.is_error",
        at,
        flag,
        "the Responses API has no error flag on function outputs; list \"input.function_result.is_error\" in drop_unsupported_fields to send the result without it",
    )
}

/// A function result as a Responses `output`: a string as is, an object as compact JSON text, a
/// list of contents as a list of parts.
fn function_output(raw: &RawValue, at: &Path, out: &mut Vec<u8>) -> Result<(), Refusal> {
    match first_byte(raw) {
        b'"' => {
            push_raw(out, raw_string(raw, at)?);
            Ok(())
        }
        b'{' => {
            push_str(out, &compact_object(raw, at)?);
            Ok(())
        }
        b'[' => {
            let contents = Contents {
                list: objects(raw, at)?,
                base: at,
                alone: false,
            };
            parts(&contents, out)
        }
        _ => Err(Rejection::invalid_type(
            at,
            "a string, an object or a list of contents",
        )),
    }
}
