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
//! | `generation_config.seed`, `stop_sequences`, `speech_config`, `image_config`, `transcription_config`, `video_config` | refused, or dropped when listed (`generation_config.seed`, …) |
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
    array, body_fields, boolean, index, is_null, join, number_in, object, raw_string, string,
    unsigned, Rejection, RequestOptions, Translated,
};
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
    "generation_config.stop_sequences",
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

/// Translates one client request body into a Responses request.
pub fn translate(body: &[u8], options: &RequestOptions) -> Result<Translated, Rejection> {
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
        param: &str,
        value: &RawValue,
        why: &str,
    ) -> Result<(), Rejection> {
        if is_null(value) || self.options.drops(name) {
            Ok(())
        } else {
            Err(Rejection::unsupported(param, why))
        }
    }
}

/// Reads a field that may be `null` (absent).
fn optional<'a, T>(
    raw: &'a RawValue,
    read: impl FnOnce(&'a RawValue) -> Result<T, Rejection>,
) -> Result<Option<T>, Rejection> {
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
}

impl<'a> Request<'a> {
    /// One top-level field.
    fn field(&mut self, key: &str, value: &'a RawValue, walk: &Walk) -> Result<(), Rejection> {
        match key {
            "model" => self.model = optional(value, model)?,
            "input" => self.input = optional(value, |v| input(v, walk))?,
            "system_instruction" => self.instructions = optional(value, |v| raw_string(v, key))?,
            "previous_interaction_id" => {
                self.previous_response_id = optional(value, |v| raw_string(v, key))?
            }
            "tools" => self.tools = optional(value, |v| tools(v, walk))?,
            "generation_config" => {
                if !is_null(value) {
                    self.generation_config(value, walk)?;
                }
            }
            "response_format" => self.response_format = optional(value, response_format)?.flatten(),
            "response_mime_type" => self.response_mime_type = optional(value, |v| string(v, key))?,
            "labels" => self.metadata = optional(value, labels)?,
            "service_tier" => self.service_tier = optional(value, service_tier)?,
            "store" => self.store = optional(value, |v| boolean(v, key))?,
            "background" => self.background = optional(value, |v| boolean(v, key))?,
            "stream" => self.stream = optional(value, |v| boolean(v, key))?,
            "response_modalities" => response_modalities(value, walk)?,
            "safety_settings" | "cached_content" | "webhook_config" | "environment"
            | "continuation_token" => walk.unsupported(key, key, value, unsupported_why(key))?,
            "agent" | "agent_config" => {
                return Err(Rejection::unsupported(
                    key,
                    "agent interactions have no Responses API equivalent; use a model",
                ))
            }
            _ => return Err(Rejection::unknown(key)),
        }
        Ok(())
    }

    /// `generation_config`, key by key.
    fn generation_config(&mut self, raw: &'a RawValue, walk: &Walk) -> Result<(), Rejection> {
        let fields = object(raw, "generation_config")?;
        for (key, value) in &fields.entries {
            let at = join("generation_config", key);
            match key.as_ref() {
                "temperature" => {
                    self.temperature = optional(value, |v| number_in(v, &at, 0.0, 2.0))?
                }
                "top_p" => self.top_p = optional(value, |v| number_in(v, &at, 0.0, 1.0))?,
                "max_output_tokens" => {
                    self.max_output_tokens = optional(value, |v| max_output_tokens(v, &at))?
                }
                "thinking_level" => self.effort = optional(value, |v| thinking_level(v, &at))?,
                "thinking_summaries" => {
                    self.summary = optional(value, |v| thinking_summaries(v, &at))?.flatten()
                }
                "tool_choice" => self.tool_choice = optional(value, |v| tool_choice(v, &at))?,
                "seed"
                | "stop_sequences"
                | "speech_config"
                | "image_config"
                | "transcription_config"
                | "video_config" => walk.unsupported(&at, &at, value, unsupported_why(key))?,
                _ => return Err(Rejection::unknown(&at)),
            }
        }
        Ok(())
    }

    /// Checks what needs the whole request and writes the Responses body.
    fn finish(mut self, walk: &Walk) -> Result<Translated, Rejection> {
        let model = self.model.ok_or_else(|| Rejection::missing("model"))?;
        let input = final_input(self.input.take(), walk)?;
        if self.background == Some(true) && self.store == Some(false) {
            return Err(Rejection::invalid_value(
                "background",
                "a background interaction must be stored, but 'store' is false",
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
fn final_input(input: Option<Input>, walk: &Walk) -> Result<Vec<u8>, Rejection> {
    match input {
        Some(input) if !input.empty => Ok(input.json),
        _ if walk.stateful => Ok(b"[]".to_vec()),
        Some(_) => Err(Rejection::invalid_value(
            "input",
            "the input is empty and there is no previous_interaction_id to continue",
        )),
        None => Err(Rejection::missing("input")),
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
        "stop_sequences" => "the Responses API has no stop sequences",
        "speech_config" | "transcription_config" => "this gateway returns text only",
        "image_config" | "video_config" => "this gateway returns text only",
        _ => "it has no Responses API equivalent",
    }
}

fn model(raw: &RawValue) -> Result<&str, Rejection> {
    let text = string(raw, "model")?;
    if text.is_empty() {
        return Err(Rejection::invalid_value("model", "the model name is empty"));
    }
    Ok(raw.get())
}

fn max_output_tokens(raw: &RawValue, at: &str) -> Result<u64, Rejection> {
    let n = unsigned(raw, at)?;
    if n < MIN_OUTPUT_TOKENS {
        return Err(Rejection::invalid_value(
            at,
            &format!(
                "the Responses API requires at least {MIN_OUTPUT_TOKENS} output tokens, got {n}"
            ),
        ));
    }
    Ok(n)
}

fn thinking_level(raw: &RawValue, at: &str) -> Result<&'static str, Rejection> {
    match string(raw, at)?.as_ref() {
        "minimal" => Ok("minimal"),
        "low" => Ok("low"),
        "medium" => Ok("medium"),
        "high" => Ok("high"),
        "xhigh" => Ok("xhigh"),
        _ => Err(Rejection::invalid_value(
            at,
            "expected one of 'minimal', 'low', 'medium', 'high' or 'xhigh'",
        )),
    }
}

/// `auto` asks for summaries; `none` is the Responses default (no `summary`).
fn thinking_summaries(raw: &RawValue, at: &str) -> Result<Option<&'static str>, Rejection> {
    match string(raw, at)?.as_ref() {
        "auto" => Ok(Some("auto")),
        "none" => Ok(None),
        _ => Err(Rejection::invalid_value(at, "expected 'auto' or 'none'")),
    }
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
fn tool_mode(raw: &RawValue, at: &str) -> Result<Option<&'static str>, Rejection> {
    match string(raw, at)?.as_ref() {
        "auto" => Ok(Some("auto")),
        "any" => Ok(Some("required")),
        "none" => Ok(None),
        "validated" => Err(Rejection::unsupported(
            at,
            "the Responses API has no 'validated' tool choice",
        )),
        _ => Err(Rejection::invalid_value(
            at,
            "expected one of 'auto', 'any', 'none' or 'validated'",
        )),
    }
}

/// `generation_config.tool_choice`: a mode, or `{"allowed_tools":{"mode","tools"}}`.
fn tool_choice(raw: &RawValue, at: &str) -> Result<Vec<u8>, Rejection> {
    let mut out = Vec::new();
    if first_byte(raw) != b'{' {
        push_str(&mut out, tool_mode(raw, at)?.unwrap_or("none"));
        return Ok(out);
    }
    let (mut mode, mut names) = (Some("auto"), None);
    for (key, value) in &object(raw, at)?.entries {
        let at = join(at, key);
        match key.as_ref() {
            "allowed_tools" => {
                if let Some(allowed) = optional(value, |v| allowed_tools(v, &at))? {
                    (mode, names) = allowed;
                }
            }
            _ => return Err(Rejection::unknown(&at)),
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
    at: &str,
) -> Result<(Option<&'static str>, Option<Vec<&'a str>>), Rejection> {
    let (mut mode, mut names) = (Some("auto"), None);
    for (key, value) in &object(raw, at)?.entries {
        let at = join(at, key);
        match key.as_ref() {
            "mode" => mode = optional(value, |v| tool_mode(v, &at))?.unwrap_or(Some("auto")),
            "tools" => names = optional(value, |v| tool_names(v, &at))?,
            _ => return Err(Rejection::unknown(&at)),
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
fn tool_names<'a>(raw: &'a RawValue, at: &str) -> Result<Vec<&'a str>, Rejection> {
    array(raw, at)?
        .into_iter()
        .enumerate()
        .map(|(i, name)| raw_string(name, &index(at, i)))
        .collect()
}

fn service_tier(raw: &RawValue) -> Result<&'static str, Rejection> {
    match string(raw, "service_tier")?.as_ref() {
        "standard" => Ok("default"),
        "flex" => Ok("flex"),
        "priority" => Ok("priority"),
        "deferred" => Err(Rejection::unsupported(
            "service_tier",
            "the Responses API has no 'deferred' tier",
        )),
        _ => Err(Rejection::invalid_value(
            "service_tier",
            "expected one of 'standard', 'flex', 'priority' or 'deferred'",
        )),
    }
}

/// `labels` → `metadata`, raw, within the Responses limits.
fn labels(raw: &RawValue) -> Result<&str, Rejection> {
    let fields = object(raw, "labels")?;
    if fields.entries.len() > METADATA_MAX_ENTRIES {
        return Err(Rejection::invalid_value(
            "labels",
            &format!(
                "the Responses API's metadata holds at most {METADATA_MAX_ENTRIES} entries, got {}",
                fields.entries.len()
            ),
        ));
    }
    for (key, value) in &fields.entries {
        let at = join("labels", key);
        let text = string(value, &at)?;
        if key.chars().count() > METADATA_KEY_MAX || text.chars().count() > METADATA_VALUE_MAX {
            return Err(Rejection::invalid_value(
                &at,
                &format!("the Responses API's metadata takes keys of at most {METADATA_KEY_MAX} characters and values of at most {METADATA_VALUE_MAX}"),
            ));
        }
    }
    Ok(raw.get())
}

/// `response_modalities`: only text (or nothing) is meaningful.
fn response_modalities(raw: &RawValue, walk: &Walk) -> Result<(), Rejection> {
    const KEY: &str = "response_modalities";
    if is_null(raw) {
        return Ok(());
    }
    let modalities = array(raw, KEY)?;
    let mut text_only = true;
    for (i, modality) in modalities.iter().enumerate() {
        text_only &= string(modality, &index(KEY, i))? == "text";
    }
    if text_only {
        return Ok(());
    }
    walk.unsupported(KEY, KEY, raw, "this gateway returns text only")
}

// ---------------------------------------------------------------- response format

/// A text response format as the client gave it: its MIME type and schema, and where they came
/// from (for error paths).
struct FormatSpec<'a> {
    mime: Option<Cow<'a, str>>,
    schema: Option<&'a RawValue>,
    /// Path of the format object (`response_format`, `response_format[0]`).
    path: String,
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
fn response_format(raw: &RawValue) -> Result<Option<FormatSpec<'_>>, Rejection> {
    const KEY: &str = "response_format";
    if first_byte(raw) != b'[' {
        return format_spec(raw, KEY.to_owned()).map(Some);
    }
    let formats = array(raw, KEY)?;
    match formats.as_slice() {
        [] => Ok(None),
        [one] => format_spec(one, index(KEY, 0)).map(Some),
        _ => Err(Rejection::unsupported(
            KEY,
            "the Responses API takes one text format; several response formats cannot be sent",
        )),
    }
}

fn format_spec(raw: &RawValue, path: String) -> Result<FormatSpec<'_>, Rejection> {
    let fields = object(raw, &path)?;
    let kind = match fields.get("type") {
        Some(kind) => string(kind, &join(&path, "type"))?,
        None => Cow::Borrowed(""),
    };
    match kind.as_ref() {
        "text" => text_format_spec(&fields, path),
        "audio" | "image" | "video" => Err(Rejection::unsupported(
            &join(&path, "type"),
            "this gateway returns text only",
        )),
        _ => Ok(FormatSpec {
            mime: None,
            schema: Some(raw),
            path,
            legacy: true,
        }),
    }
}

fn text_format_spec<'a>(fields: &Fields<'a>, path: String) -> Result<FormatSpec<'a>, Rejection> {
    let mut spec = FormatSpec {
        mime: None,
        schema: None,
        path,
        legacy: false,
    };
    for (key, value) in &fields.entries {
        let at = join(&spec.path, key);
        match key.as_ref() {
            "type" => {}
            "mime_type" => spec.mime = optional(value, |v| string(v, &at))?,
            "schema" => spec.schema = optional(value, |v| json_object(v, &at))?,
            _ => return Err(Rejection::unknown(&at)),
        }
    }
    Ok(spec)
}

impl<'a> FormatSpec<'a> {
    /// The Responses format, with the legacy `response_mime_type` when the format has none.
    fn resolve(self, response_mime_type: Option<&str>) -> Result<TextFormat<'a>, Rejection> {
        let own = join(&self.path, "mime_type");
        let (mime, mime_path) = match (self.mime.as_deref(), response_mime_type) {
            (Some(a), Some(b)) if a != b => {
                return Err(Rejection::invalid_value(
                    "response_mime_type",
                    &format!("it disagrees with {own}"),
                ))
            }
            (Some(mime), _) => (Some(mime), own.as_str()),
            (None, mime) => (mime, "response_mime_type"),
        };
        match (mime, self.schema) {
            (Some("application/json"), Some(schema)) => {
                json_object(schema, &self.path)?;
                Ok(TextFormat::JsonSchema(schema))
            }
            (Some("application/json"), None) => Ok(TextFormat::JsonObject),
            (_, Some(_)) if self.legacy => Err(Rejection::invalid_value(
                "response_mime_type",
                "a response_format schema needs response_mime_type 'application/json'",
            )),
            (_, Some(_)) => Err(Rejection::invalid_value(
                mime_path,
                "a schema needs the MIME type 'application/json'",
            )),
            (None | Some("text/plain"), None) => Ok(TextFormat::Text),
            (Some(_), None) => Err(Rejection::invalid_value(
                mime_path,
                "expected 'application/json' or 'text/plain'",
            )),
        }
    }
}

/// `response_mime_type` without `response_format`.
fn mime_only_format(mime: &str) -> Result<TextFormat<'static>, Rejection> {
    match mime {
        "application/json" => Ok(TextFormat::JsonObject),
        "text/plain" => Ok(TextFormat::Text),
        _ => Err(Rejection::invalid_value(
            "response_mime_type",
            "expected 'application/json' or 'text/plain'",
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
fn json_object<'a>(raw: &'a RawValue, at: &str) -> Result<&'a RawValue, Rejection> {
    object(raw, at)?;
    Ok(raw)
}

// ---------------------------------------------------------------- tools

/// `tools`: function declarations only.
fn tools(raw: &RawValue, walk: &Walk) -> Result<Vec<u8>, Rejection> {
    let mut out = Vec::with_capacity(raw.get().len() + 32);
    let mut list = ArrayWriter::new(&mut out);
    for (i, tool) in array(raw, "tools")?.into_iter().enumerate() {
        let path = index("tools", i);
        let fields = object(tool, &path)?;
        let kind = required_string(&fields, &path, "type")?;
        match kind.as_ref() {
            "function" => function_tool(&fields, &path, walk, list.item())?,
            builtin if BUILTIN_TOOLS.contains(&builtin) => {
                return Err(Rejection::unsupported(
                    &join(&path, "type"),
                    &format!("the built-in tool '{builtin}' cannot be served: the Responses answer would not carry its results back"),
                ))
            }
            _ => {
                return Err(Rejection::invalid_value(
                    &join(&path, "type"),
                    "unknown tool type",
                ))
            }
        }
    }
    list.end();
    Ok(out)
}

fn function_tool(
    fields: &Fields,
    path: &str,
    walk: &Walk,
    out: &mut Vec<u8>,
) -> Result<(), Rejection> {
    let mut name = None;
    let mut description = None;
    let mut parameters = None;
    for (key, value) in &fields.entries {
        let at = join(path, key);
        match key.as_ref() {
            "type" => {}
            "name" => name = optional(value, |v| raw_string(v, &at))?,
            "description" => description = optional(value, |v| raw_string(v, &at))?,
            "parameters" => parameters = optional(value, |v| json_object(v, &at))?,
            "defer_loading" => {
                if optional(value, |v| boolean(v, &at))? == Some(true) {
                    return Err(Rejection::unsupported(
                        &at,
                        "deferred functions need the tool search tool, whose results the answer would not carry",
                    ));
                }
            }
            "short_description" => walk.unsupported(
                "tools.short_description",
                &at,
                value,
                "the Responses API has no short descriptions of functions",
            )?,
            _ => return Err(Rejection::unknown(&at)),
        }
    }
    let name = name.ok_or_else(|| Rejection::missing(&join(path, "name")))?;
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

/// A required string member, unescaped.
fn required_string<'a>(
    fields: &Fields<'a>,
    path: &str,
    key: &str,
) -> Result<Cow<'a, str>, Rejection> {
    let at = join(path, key);
    match fields.get(key).filter(|v| !is_null(v)) {
        Some(value) => string(value, &at),
        None => Err(Rejection::missing(&at)),
    }
}

/// A required string member: raw (to copy) and unescaped (to compare).
fn required_raw<'a>(
    fields: &Fields<'a>,
    path: &str,
    key: &str,
) -> Result<(&'a str, Cow<'a, str>), Rejection> {
    let at = join(path, key);
    match fields.get(key).filter(|v| !is_null(v)) {
        Some(value) => Ok((value.get(), string(value, &at)?)),
        None => Err(Rejection::missing(&at)),
    }
}

// ---------------------------------------------------------------- input

/// `input`: a string, one content, or a list of contents or of steps.
fn input(raw: &RawValue, walk: &Walk) -> Result<Input, Rejection> {
    match first_byte(raw) {
        b'"' => {
            let text = string(raw, "input")?;
            Ok(Input {
                json: raw.get().as_bytes().to_vec(),
                empty: text.is_empty(),
            })
        }
        b'{' => {
            let fields = object(raw, "input")?;
            let mut items = Items::default();
            user_message(&[(fields, "input".to_owned())], &mut items)?;
            Ok(items.finish())
        }
        b'[' => input_list(raw, walk),
        _ => Err(Rejection::invalid_type(
            "input",
            "a string, a content object or a list of steps or contents",
        )),
    }
}

/// A list of contents (one user message) or of steps (one item each).
fn input_list(raw: &RawValue, walk: &Walk) -> Result<Input, Rejection> {
    let raws = array(raw, "input")?;
    let mut elements = Vec::with_capacity(raws.len());
    for (i, element) in raws.iter().enumerate() {
        let path = index("input", i);
        let fields = object(element, &path)?;
        elements.push((fields, path));
    }
    let mut items = Items::default();
    let is_content = |(fields, path): &(Fields, String)| {
        required_string(fields, path, "type").map(|t| CONTENT_TYPES.contains(&t.as_ref()))
    };
    let kinds = elements
        .iter()
        .map(is_content)
        .collect::<Result<Vec<bool>, Rejection>>()?;
    if kinds.iter().all(|&content| content) && !kinds.is_empty() {
        user_message(&elements, &mut items)?;
    } else if let Some(i) = kinds.iter().position(|&content| content) {
        return Err(Rejection::invalid_value(
            &join(&index("input", i), "type"),
            "a list of steps cannot hold a bare content; wrap it in a user_input step",
        ));
    } else {
        for ((fields, path), raw) in elements.iter().zip(raws) {
            step(fields, path, raw, walk, &mut items)?;
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
    path: &str,
    raw: &RawValue,
    walk: &Walk,
    items: &mut Items,
) -> Result<(), Rejection> {
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
                &join(path, "type"),
                "steps of built-in tools cannot be replayed to the Responses API",
            ))
        }
        _ => Err(Rejection::invalid_value(
            &join(path, "type"),
            "unknown step type",
        )),
    }
}

/// Checks that a step holds only the given keys.
fn only_keys(fields: &Fields, path: &str, known: &[&str]) -> Result<(), Rejection> {
    match fields
        .entries
        .iter()
        .find(|(key, _)| !known.contains(&key.as_ref()))
    {
        Some((key, _)) => Err(Rejection::unknown(&join(path, key))),
        None => Ok(()),
    }
}

/// The contents of a step (`content`), each as an object with its path; none when absent.
fn step_contents<'a>(
    fields: &Fields<'a>,
    path: &str,
) -> Result<Vec<(Fields<'a>, String)>, Rejection> {
    let at = join(path, "content");
    let Some(raw) = fields.get("content").filter(|v| !is_null(v)) else {
        return Ok(Vec::new());
    };
    array(raw, &at)?
        .into_iter()
        .enumerate()
        .map(|(i, content)| {
            let path = index(&at, i);
            object(content, &path).map(|fields| (fields, path))
        })
        .collect()
}

fn user_input_step(fields: &Fields, path: &str, items: &mut Items) -> Result<(), Rejection> {
    only_keys(fields, path, &["type", "content"])?;
    let contents = step_contents(fields, path)?;
    if contents.is_empty() {
        return Err(Rejection::invalid_value(
            &join(path, "content"),
            "a user_input step needs at least one content",
        ));
    }
    user_message(&contents, items)
}

/// One user message from contents.
fn user_message(contents: &[(Fields, String)], items: &mut Items) -> Result<(), Rejection> {
    let out = items.next();
    out.extend_from_slice(b"{\"type\":\"message\",\"role\":\"user\",\"content\":");
    parts(contents, out)?;
    out.push(b'}');
    Ok(())
}

/// Contents as a list of Responses input parts.
fn parts(contents: &[(Fields, String)], out: &mut Vec<u8>) -> Result<(), Rejection> {
    let mut list = ArrayWriter::new(out);
    for (fields, path) in contents {
        input_part(fields, path, list.item())?;
    }
    list.end();
    Ok(())
}

/// One content as a Responses input part.
fn input_part(fields: &Fields, path: &str, out: &mut Vec<u8>) -> Result<(), Rejection> {
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
        "image" => image_part(fields, path, out),
        "document" => document_part(fields, path, out),
        "audio" | "video" => Err(Rejection::unsupported(
            &join(path, "type"),
            &format!("the Responses API takes no {kind} input"),
        )),
        _ => Err(Rejection::invalid_value(
            &join(path, "type"),
            "unknown content type",
        )),
    }
}

/// A text content's text (raw); `annotations` must be absent or empty.
fn text_content<'a>(fields: &Fields<'a>, path: &str) -> Result<&'a str, Rejection> {
    let mut text = None;
    for (key, value) in &fields.entries {
        let at = join(path, key);
        match key.as_ref() {
            "type" => {}
            "text" => text = optional(value, |v| raw_string(v, &at))?,
            "annotations" => {
                if !is_null(value) && !array(value, &at)?.is_empty() {
                    return Err(Rejection::unsupported(
                        &at,
                        "citations cannot be sent to the Responses API",
                    ));
                }
            }
            _ => return Err(Rejection::unknown(&at)),
        }
    }
    text.ok_or_else(|| Rejection::missing(&join(path, "text")))
}

/// The members of an image or document content.
#[derive(Default)]
struct Media<'a> {
    data: Option<&'a str>,
    mime: Option<&'a str>,
    uri: Option<Cow<'a, str>>,
    uri_raw: Option<&'a str>,
    detail: Option<&'static str>,
}

/// Reads an image or document; `detail` maps `resolution`.
fn media<'a>(
    fields: &Fields<'a>,
    path: &str,
    detail: fn(&str) -> Option<&'static str>,
) -> Result<Media<'a>, Rejection> {
    let mut media = Media::default();
    for (key, value) in &fields.entries {
        let at = join(path, key);
        match key.as_ref() {
            "type" => {}
            "data" => media.data = optional(value, |v| raw_string(v, &at))?,
            "mime_type" => media.mime = optional(value, |v| mime_type(v, &at))?,
            "uri" => {
                media.uri = optional(value, |v| string(v, &at))?;
                media.uri_raw = optional(value, |v| raw_string(v, &at))?;
            }
            "resolution" => {
                media.detail = optional(value, |v| {
                    detail(&string(v, &at)?).ok_or_else(|| {
                        Rejection::unsupported(&at, "the Responses API has no such detail level")
                    })
                })?
            }
            "processing" if is_null(value) => {}
            "processing" => {
                return Err(Rejection::unsupported(
                    &at,
                    "the Responses API has no processing options",
                ))
            }
            _ => return Err(Rejection::unknown(&at)),
        }
    }
    if media.data.is_some() && media.uri.is_some() {
        return Err(Rejection::invalid_value(
            &join(path, "uri"),
            "give either data or uri, not both",
        ));
    }
    if media.data.is_none() && media.uri.is_none() {
        return Err(Rejection::missing(&join(path, "data")));
    }
    Ok(media)
}

/// A MIME type safe to place in a `data:` URL (returned as its raw contents).
fn mime_type<'a>(raw: &'a RawValue, at: &str) -> Result<&'a str, Rejection> {
    let mime = contents(raw_string(raw, at)?);
    let safe = mime.contains('/')
        && mime
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/.+-_".contains(&b));
    if !safe {
        return Err(Rejection::invalid_value(at, "not a MIME type"));
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

fn image_detail(resolution: &str) -> Option<&'static str> {
    match resolution {
        "low" => Some("low"),
        "high" => Some("high"),
        "ultra_high" => Some("original"),
        _ => None,
    }
}

fn document_detail(resolution: &str) -> Option<&'static str> {
    match resolution {
        "low" => Some("low"),
        "high" => Some("high"),
        _ => None,
    }
}

fn image_part(fields: &Fields, path: &str, out: &mut Vec<u8>) -> Result<(), Rejection> {
    let media = media(fields, path, image_detail)?;
    let mut part = ObjectWriter::new(out);
    part.str("type", "input_image");
    match (media.data, media.uri_raw) {
        (Some(data), _) => {
            let mime = media
                .mime
                .ok_or_else(|| Rejection::missing(&join(path, "mime_type")))?;
            push_data_url(part.key("image_url"), mime, data);
        }
        (None, Some(uri)) => {
            check_uri(
                media.uri.as_deref(),
                path,
                &["https://", "http://", "data:"],
            )?;
            part.raw("image_url", uri);
        }
        (None, None) => return Err(Rejection::missing(&join(path, "data"))),
    }
    if let Some(detail) = media.detail {
        part.str("detail", detail);
    }
    part.end();
    Ok(())
}

fn document_part(fields: &Fields, path: &str, out: &mut Vec<u8>) -> Result<(), Rejection> {
    let media = media(fields, path, document_detail)?;
    let mut part = ObjectWriter::new(out);
    part.str("type", "input_file");
    match (media.data, media.uri_raw) {
        (Some(data), _) => {
            let mime = media
                .mime
                .ok_or_else(|| Rejection::missing(&join(path, "mime_type")))?;
            part.str("filename", &document_filename(mime));
            push_data_url(part.key("file_data"), mime, data);
        }
        (None, Some(uri)) => {
            check_uri(media.uri.as_deref(), path, &["https://", "http://"])?;
            part.raw("file_url", uri);
        }
        (None, None) => return Err(Rejection::missing(&join(path, "data"))),
    }
    if let Some(detail) = media.detail {
        part.str("detail", detail);
    }
    part.end();
    Ok(())
}

/// Refuses a URI the upstream could not fetch.
fn check_uri(uri: Option<&str>, path: &str, schemes: &[&str]) -> Result<(), Rejection> {
    let uri = uri.unwrap_or("");
    let lower = uri.get(..8).unwrap_or(uri).to_ascii_lowercase();
    if schemes.iter().any(|s| lower.starts_with(s)) {
        return Ok(());
    }
    Err(Rejection::invalid_value(
        &join(path, "uri"),
        &format!(
            "the upstream can only fetch {} URIs",
            schemes
                .iter()
                .map(|s| s.trim_end_matches("//").trim_end_matches(':'))
                .collect::<Vec<_>>()
                .join(" / ")
        ),
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
        Some((_, ext)) => format!("document.{ext}"),
        None => "document".to_owned(),
    }
}

fn model_output_step(fields: &Fields, path: &str, items: &mut Items) -> Result<(), Rejection> {
    only_keys(fields, path, &["type", "content", "error"])?;
    if fields.get("error").is_some_and(|v| !is_null(v)) {
        return Err(Rejection::unsupported(
            &join(path, "error"),
            "a failed model output cannot be replayed to the Responses API",
        ));
    }
    let contents = step_contents(fields, path)?;
    if contents.is_empty() {
        return Ok(());
    }
    let mut message = ObjectWriter::new(items.next());
    message.str("type", "message");
    message.str("role", "assistant");
    let mut list = ArrayWriter::new(message.key("content"));
    for (content, at) in &contents {
        if required_string(content, at, "type")? != "text" {
            return Err(Rejection::unsupported(
                &join(at, "type"),
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

fn function_call_step(fields: &Fields, path: &str, items: &mut Items) -> Result<(), Rejection> {
    only_keys(fields, path, &["type", "id", "name", "arguments"])?;
    let (id, decoded_id) = required_raw(fields, path, "id")?;
    let (name, _) = required_raw(fields, path, "name")?;
    let at = join(path, "arguments");
    let arguments = fields
        .get("arguments")
        .filter(|v| !is_null(v))
        .ok_or_else(|| Rejection::missing(&at))?;
    let arguments = compact_object(arguments, &at)?;
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
fn compact_object(raw: &RawValue, at: &str) -> Result<String, Rejection> {
    object(raw, at)?;
    compact(raw)
}

/// A value as compact JSON text.
fn compact(raw: &RawValue) -> Result<String, Rejection> {
    let mut out = Vec::with_capacity(raw.get().len());
    push_raw(&mut out, raw.get());
    String::from_utf8(out).map_err(Rejection::malformed)
}

fn function_result_step(
    fields: &Fields,
    path: &str,
    walk: &Walk,
    items: &mut Items,
) -> Result<(), Rejection> {
    only_keys(
        fields,
        path,
        &["type", "call_id", "result", "is_error", "name"],
    )?;
    let call_id_path = join(path, "call_id");
    let (call_id, call) = required_raw(fields, path, "call_id")?;
    if !walk.stateful && !items.calls.iter().any(|c| *c == call) {
        return Err(Rejection::invalid_value(
            &call_id_path,
            "no earlier function_call step has this id (send that step, or previous_interaction_id)",
        ));
    }
    check_is_error(fields, path, walk)?;
    let name = match fields.get("name") {
        Some(value) => optional(value, |v| raw_string(v, &join(path, "name")))?,
        None => None,
    };
    let at = join(path, "result");
    let result = fields
        .get("result")
        .filter(|v| !is_null(v))
        .ok_or_else(|| Rejection::missing(&at))?;
    let mut output = Vec::new();
    function_output(result, &at, &mut output)?;
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
fn check_is_error(fields: &Fields, path: &str, walk: &Walk) -> Result<(), Rejection> {
    let Some(flag) = fields.get("is_error") else {
        return Ok(());
    };
    let at = join(path, "is_error");
    if optional(flag, |v| boolean(v, &at))? != Some(true) {
        return Ok(());
    }
    walk.unsupported(
        "input.function_result.is_error",
        &at,
        flag,
        "the Responses API has no error flag on function outputs; list \"input.function_result.is_error\" in drop_unsupported_fields to send the result without it",
    )
}

/// A function result as a Responses `output`: a string as is, an object as compact JSON text, a
/// list of contents as a list of parts.
fn function_output(raw: &RawValue, at: &str, out: &mut Vec<u8>) -> Result<(), Rejection> {
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
            let contents = array(raw, at)?
                .into_iter()
                .enumerate()
                .map(|(i, content)| {
                    let path = index(at, i);
                    object(content, &path).map(|fields| (fields, path))
                })
                .collect::<Result<Vec<_>, Rejection>>()?;
            parts(&contents, out)
        }
        _ => Err(Rejection::invalid_type(
            at,
            "a string, an object or a list of contents",
        )),
    }
}
