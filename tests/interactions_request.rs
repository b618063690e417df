//! Interactions request → Responses request: one test per mapped field and per refused field
//! (`interactions::request`), asserting on the exact Responses body or on the rejection.

use responses_transcoder::config::Config;
use responses_transcoder::interactions::request::{translate, UNSUPPORTED_FIELDS};
use responses_transcoder::request::{Rejection, RequestOptions, Translated};
use serde_json::{json, Value};

fn run_with(body: &Value, options: &RequestOptions) -> Result<Translated, Rejection> {
    translate(&serde_json::to_vec(body).unwrap(), options)
}

/// The Responses body for a request that must pass.
fn ok(body: Value) -> Value {
    let translated =
        run_with(&body, &RequestOptions::default()).unwrap_or_else(|r| panic!("refused: {r:?}"));
    serde_json::from_slice(&translated.body).expect("the output is JSON")
}

/// The rejection of a request that must be refused.
fn refused(body: Value) -> Rejection {
    match run_with(&body, &RequestOptions::default()) {
        Ok(t) => panic!("passed: {}", String::from_utf8_lossy(&t.body)),
        Err(rejection) => rejection,
    }
}

fn dropping(names: &[&str]) -> RequestOptions {
    RequestOptions {
        drop_unsupported_fields: names.iter().map(|n| n.to_string()).collect(),
        ..RequestOptions::default()
    }
}

/// A body with `model` and `input` plus `extra`.
fn with(extra: Value) -> Value {
    let mut body = json!({"model": "gpt-x", "input": "hi"});
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

/// The body `with(extra)` translates to, minus the model and input.
fn mapped(extra: Value) -> Value {
    let mut out = ok(with(extra));
    let map = out.as_object_mut().unwrap();
    assert_eq!(map.remove("model"), Some(json!("gpt-x")));
    assert_eq!(map.remove("input"), Some(json!("hi")));
    out
}

fn input_of(input: Value) -> Value {
    ok(json!({"model": "m", "input": input}))["input"].clone()
}

fn assert_refused(rejection: &Rejection, param: &str, code: &str) {
    assert_eq!(rejection.status, 400, "{rejection:?}");
    assert_eq!(rejection.param.as_deref(), Some(param), "{rejection:?}");
    assert_eq!(rejection.code, code, "{rejection:?}");
    assert!(
        rejection.message.contains(&format!("'{param}'")),
        "message names the field: {rejection:?}"
    );
}

fn user(content: Value) -> Value {
    json!({"type": "message", "role": "user", "content": content})
}

// ---------------------------------------------------------------- top level

#[test]
fn string_input_passes_as_string() {
    let translated = run_with(
        &json!({"model": "gemini-x", "input": "Tell me a joke."}),
        &RequestOptions::default(),
    )
    .unwrap();
    assert_eq!(
        translated.body,
        br#"{"model":"gemini-x","input":"Tell me a joke."}"#
    );
    assert!(!translated.stream);
    assert!(!translated.include_usage);
}

#[test]
fn strings_are_copied_with_their_escapes() {
    let body = br#"{"model":"m","input":"caf\u00e9 \"q\"\n","system_instruction":"be\tterse"}"#;
    let translated = translate(body, &RequestOptions::default()).unwrap();
    assert_eq!(
        translated.body,
        br#"{"model":"m","instructions":"be\tterse","input":"caf\u00e9 \"q\"\n"}"#
    );
}

#[test]
fn missing_model_refused() {
    assert_refused(
        &refused(json!({"input": "hi"})),
        "model",
        "missing_required_parameter",
    );
    assert_refused(
        &refused(json!({"model": "", "input": "hi"})),
        "model",
        "invalid_value",
    );
    assert_refused(
        &refused(json!({"model": 3, "input": "hi"})),
        "model",
        "invalid_type",
    );
}

#[test]
fn missing_input_refused_without_previous_interaction_id() {
    assert_refused(
        &refused(json!({"model": "m"})),
        "input",
        "missing_required_parameter",
    );
    assert_refused(
        &refused(json!({"model": "m", "input": ""})),
        "input",
        "invalid_value",
    );
    assert_refused(
        &refused(json!({"model": "m", "input": []})),
        "input",
        "invalid_value",
    );
}

#[test]
fn absent_input_with_previous_interaction_id_sends_an_empty_list() {
    assert_eq!(
        ok(json!({"model": "m", "previous_interaction_id": "resp_1"})),
        json!({"model": "m", "input": [], "previous_response_id": "resp_1"})
    );
    assert_eq!(
        ok(json!({"model": "m", "input": "", "previous_interaction_id": "resp_1"}))["input"],
        json!([])
    );
}

#[test]
fn previous_interaction_id_becomes_previous_response_id() {
    assert_eq!(
        mapped(json!({"previous_interaction_id": "resp_abc"})),
        json!({"previous_response_id": "resp_abc"})
    );
}

#[test]
fn system_instruction_becomes_instructions() {
    assert_eq!(
        mapped(json!({"system_instruction": "Answer in French."})),
        json!({"instructions": "Answer in French."})
    );
}

#[test]
fn store_background_and_stream_are_copied() {
    assert_eq!(
        mapped(json!({"store": false, "stream": true})),
        json!({"store": false, "stream": true})
    );
    assert_eq!(
        mapped(json!({"background": true, "store": true})),
        json!({"store": true, "background": true})
    );
}

#[test]
fn stream_true_asks_for_a_stream() {
    let stream = run_with(&with(json!({"stream": true})), &RequestOptions::default()).unwrap();
    assert!(stream.stream);
    let unary = run_with(&with(json!({"stream": false})), &RequestOptions::default()).unwrap();
    assert!(!unary.stream);
}

#[test]
fn background_without_store_refused() {
    assert_refused(
        &refused(with(json!({"background": true, "store": false}))),
        "background",
        "invalid_value",
    );
}

#[test]
fn wrong_types_refused_naming_the_field() {
    assert_refused(
        &refused(with(json!({"stream": "yes"}))),
        "stream",
        "invalid_type",
    );
    assert_refused(
        &refused(json!({"model": "m", "input": 7})),
        "input",
        "invalid_type",
    );
    assert_refused(
        &refused(with(json!({"system_instruction": ["a"]}))),
        "system_instruction",
        "invalid_type",
    );
}

#[test]
fn null_fields_count_as_absent() {
    assert_eq!(
        mapped(
            json!({"system_instruction": null, "generation_config": {"temperature": null},
                      "tools": null, "safety_settings": null})
        ),
        json!({})
    );
}

#[test]
fn malformed_json_refused() {
    for body in [
        &b"{\"model\":"[..],
        b"[1]",
        b"{\"model\":\"m\",\"input\":\"\xff\"}",
    ] {
        let rejection = translate(body, &RequestOptions::default()).unwrap_err();
        assert_eq!(
            (rejection.status, rejection.code),
            (400, "invalid_json"),
            "{rejection:?}"
        );
    }
}

#[test]
fn duplicate_keys_refused() {
    let rejection = translate(
        br#"{"model":"m","input":"a","input":"b"}"#,
        &RequestOptions::default(),
    )
    .unwrap_err();
    assert_eq!(rejection.param.as_deref(), Some("input"));
}

#[test]
fn unknown_top_level_field_refused() {
    assert_refused(
        &refused(with(json!({"temprature": 1}))),
        "temprature",
        "unknown_parameter",
    );
}

#[test]
fn agent_interactions_refused() {
    assert_refused(
        &refused(json!({"agent": "deep-research-pro-preview", "input": "x"})),
        "agent",
        "unsupported_parameter",
    );
    assert_refused(
        &refused(with(json!({"agent_config": {"type": "deep-research"}}))),
        "agent_config",
        "unsupported_parameter",
    );
}

#[test]
fn labels_become_metadata() {
    assert_eq!(
        mapped(json!({"labels": {"team": "search", "env": "prod"}})),
        json!({"metadata": {"team": "search", "env": "prod"}})
    );
}

#[test]
fn more_than_sixteen_labels_refused() {
    let labels: serde_json::Map<String, Value> =
        (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
    let rejection = refused(with(json!({ "labels": labels })));
    assert_refused(&rejection, "labels", "invalid_value");
    assert!(rejection.message.contains("16"));
    assert_refused(
        &refused(with(json!({"labels": {"k": 1}}))),
        "labels.k",
        "invalid_type",
    );
}

#[test]
fn service_tier_maps_to_responses_tiers() {
    for (google, openai) in [
        ("standard", "default"),
        ("flex", "flex"),
        ("priority", "priority"),
    ] {
        assert_eq!(
            mapped(json!({ "service_tier": google })),
            json!({ "service_tier": openai })
        );
    }
}

#[test]
fn deferred_service_tier_refused() {
    assert_refused(
        &refused(with(json!({"service_tier": "deferred"}))),
        "service_tier",
        "unsupported_parameter",
    );
    assert_refused(
        &refused(with(json!({"service_tier": "turbo"}))),
        "service_tier",
        "invalid_value",
    );
}

#[test]
fn text_response_modality_accepted() {
    assert_eq!(mapped(json!({"response_modalities": ["text"]})), json!({}));
    assert_eq!(mapped(json!({"response_modalities": []})), json!({}));
}

#[test]
fn other_response_modalities_refused_unless_dropped() {
    let body = with(json!({"response_modalities": ["text", "audio"]}));
    assert_refused(
        &refused(body.clone()),
        "response_modalities",
        "unsupported_parameter",
    );
    assert!(run_with(&body, &dropping(&["response_modalities"])).is_ok());
}

#[test]
fn unsupported_top_level_fields_refused_naming_them() {
    let cases = [
        (
            "safety_settings",
            json!([{"type": "harassment", "threshold": "block_none"}]),
        ),
        ("cached_content", json!("cachedContents/abc")),
        ("webhook_config", json!({"uris": ["https://x"]})),
        ("environment", json!("env_1")),
        ("continuation_token", json!("tok")),
    ];
    for (field, value) in cases {
        let body = with(json!({ field: value }));
        assert_refused(&refused(body.clone()), field, "unsupported_parameter");
        let dropped = run_with(&body, &dropping(&[field])).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&dropped.body).unwrap(),
            json!({"model": "gpt-x", "input": "hi"}),
            "{field} dropped when configured"
        );
    }
}

#[test]
fn every_unsupported_field_can_be_configured_to_drop() {
    let names = serde_json::to_string(UNSUPPORTED_FIELDS).unwrap();
    let config = Config::parse(format!(r#"{{"drop_unsupported_fields":{names}}}"#).as_bytes())
        .expect("the configuration accepts every listed field");
    assert_eq!(
        config.request.drop_unsupported_fields.len(),
        UNSUPPORTED_FIELDS.len()
    );
}

// ---------------------------------------------------------------- generation_config

#[test]
fn temperature_and_top_p_copied_raw() {
    let translated = run_with(
        &with(json!({"generation_config": {"temperature": 0.7, "top_p": 1}})),
        &RequestOptions::default(),
    )
    .unwrap();
    let text = String::from_utf8(translated.body).unwrap();
    assert!(text.ends_with(r#","temperature":0.7,"top_p":1}"#), "{text}");
}

#[test]
fn temperature_out_of_range_refused() {
    assert_refused(
        &refused(with(json!({"generation_config": {"temperature": 2.5}}))),
        "generation_config.temperature",
        "invalid_value",
    );
    assert_refused(
        &refused(with(json!({"generation_config": {"top_p": -0.1}}))),
        "generation_config.top_p",
        "invalid_value",
    );
}

#[test]
fn max_output_tokens_copied() {
    assert_eq!(
        mapped(json!({"generation_config": {"max_output_tokens": 512}})),
        json!({"max_output_tokens": 512})
    );
}

#[test]
fn max_output_tokens_below_sixteen_refused_never_clamped() {
    let rejection = refused(with(json!({"generation_config": {"max_output_tokens": 8}})));
    assert_refused(
        &rejection,
        "generation_config.max_output_tokens",
        "invalid_value",
    );
    assert!(
        rejection.message.contains("at least 16"),
        "{}",
        rejection.message
    );
}

#[test]
fn thinking_level_maps_to_reasoning_effort() {
    for level in ["minimal", "low", "medium", "high", "xhigh"] {
        assert_eq!(
            mapped(json!({"generation_config": {"thinking_level": level}})),
            json!({"reasoning": {"effort": level}})
        );
    }
    assert_refused(
        &refused(with(
            json!({"generation_config": {"thinking_level": "extreme"}}),
        )),
        "generation_config.thinking_level",
        "invalid_value",
    );
}

#[test]
fn thinking_summaries_auto_asks_for_a_reasoning_summary() {
    assert_eq!(
        mapped(
            json!({"generation_config": {"thinking_level": "high", "thinking_summaries": "auto"}})
        ),
        json!({"reasoning": {"effort": "high", "summary": "auto"}})
    );
}

#[test]
fn thinking_summaries_none_sends_no_summary() {
    assert_eq!(
        mapped(json!({"generation_config": {"thinking_summaries": "none"}})),
        json!({})
    );
    assert_refused(
        &refused(with(
            json!({"generation_config": {"thinking_summaries": "detailed"}}),
        )),
        "generation_config.thinking_summaries",
        "invalid_value",
    );
}

#[test]
fn tool_choice_modes_map_to_responses_tool_choice() {
    for (google, openai) in [("auto", "auto"), ("none", "none"), ("any", "required")] {
        assert_eq!(
            mapped(json!({"generation_config": {"tool_choice": google}})),
            json!({ "tool_choice": openai })
        );
    }
}

#[test]
fn validated_tool_choice_refused() {
    assert_refused(
        &refused(with(
            json!({"generation_config": {"tool_choice": "validated"}}),
        )),
        "generation_config.tool_choice",
        "unsupported_parameter",
    );
}

#[test]
fn allowed_tools_become_an_allowed_tools_choice() {
    assert_eq!(
        mapped(json!({"generation_config": {"tool_choice":
            {"allowed_tools": {"mode": "any", "tools": ["get_weather", "get_time"]}}}})),
        json!({"tool_choice": {"type": "allowed_tools", "mode": "required", "tools": [
            {"type": "function", "name": "get_weather"},
            {"type": "function", "name": "get_time"}]}})
    );
    assert_eq!(
        mapped(
            json!({"generation_config": {"tool_choice": {"allowed_tools": {"mode": "none", "tools": ["f"]}}}})
        ),
        json!({"tool_choice": "none"})
    );
    assert_eq!(
        mapped(json!({"generation_config": {"tool_choice": {"allowed_tools": {"mode": "any"}}}})),
        json!({"tool_choice": "required"})
    );
    assert_refused(
        &refused(with(json!({"generation_config": {"tool_choice":
            {"allowed_tools": {"mode": "any", "names": ["f"]}}}}))),
        "generation_config.tool_choice.allowed_tools.names",
        "unknown_parameter",
    );
}

#[test]
fn seed_refused_naming_generation_config_seed() {
    assert_refused(
        &refused(with(json!({"generation_config": {"seed": 7}}))),
        "generation_config.seed",
        "unsupported_parameter",
    );
}

#[test]
fn stop_sequences_are_accepted_not_sent_and_carried() {
    let body = with(json!({"generation_config": {"stop_sequences": ["END", "\n\n"]}}));
    let translated = run_with(&body, &RequestOptions::default()).unwrap();
    assert_eq!(translated.stop.as_slice(), ["END", "\n\n"]);
    let out: Value = serde_json::from_slice(&translated.body).unwrap();
    assert_eq!(out, json!({"model": "gpt-x", "input": "hi"}));
    let null = with(json!({"generation_config": {"stop_sequences": null}}));
    assert!(run_with(&null, &RequestOptions::default())
        .unwrap()
        .stop
        .is_empty());
}

#[test]
fn stop_sequences_beyond_what_gemini_takes_are_refused_naming_them() {
    let six = json!({"generation_config": {"stop_sequences": ["a", "b", "c", "d", "e", "f"]}});
    assert_refused(
        &refused(with(six)),
        "generation_config.stop_sequences",
        "invalid_value",
    );
    let empty = json!({"generation_config": {"stop_sequences": ["a", ""]}});
    assert_refused(
        &refused(with(empty)),
        "generation_config.stop_sequences[1]",
        "invalid_value",
    );
    let string = json!({"generation_config": {"stop_sequences": "END"}});
    assert_refused(
        &refused(with(string)),
        "generation_config.stop_sequences",
        "invalid_type",
    );
}

#[test]
fn media_generation_configs_refused_naming_them() {
    for key in [
        "speech_config",
        "image_config",
        "transcription_config",
        "video_config",
    ] {
        assert_refused(
            &refused(with(json!({"generation_config": { key: {} }}))),
            &format!("generation_config.{key}"),
            "unsupported_parameter",
        );
    }
}

#[test]
fn unsupported_generation_config_fields_dropped_when_configured() {
    let body =
        with(json!({"generation_config": {"seed": 7, "speech_config": {}, "temperature": 0}}));
    let options = dropping(&["generation_config.seed", "generation_config.speech_config"]);
    let out: Value = serde_json::from_slice(&run_with(&body, &options).unwrap().body).unwrap();
    assert_eq!(
        out,
        json!({"model": "gpt-x", "input": "hi", "temperature": 0})
    );
    let partly = dropping(&["generation_config.seed"]);
    assert_eq!(
        run_with(&body, &partly).unwrap_err().param.as_deref(),
        Some("generation_config.speech_config")
    );
}

#[test]
fn unknown_generation_config_field_refused() {
    assert_refused(
        &refused(with(json!({"generation_config": {"top_k": 40}}))),
        "generation_config.top_k",
        "unknown_parameter",
    );
    assert_refused(
        &refused(with(json!({"generation_config": "hot"}))),
        "generation_config",
        "invalid_type",
    );
}

// ---------------------------------------------------------------- response format

const SCHEMA: &str = r#"{"type":"object","properties":{"name":{"type":"string"}}}"#;

fn schema() -> Value {
    serde_json::from_str(SCHEMA).unwrap()
}

#[test]
fn json_response_format_with_schema_becomes_json_schema() {
    assert_eq!(
        mapped(
            json!({"response_format": {"type": "text", "mime_type": "application/json", "schema": schema()}})
        ),
        json!({"text": {"format": {"type": "json_schema", "name": "response", "schema": schema(), "strict": false}}})
    );
}

#[test]
fn json_response_format_without_schema_becomes_json_object() {
    assert_eq!(
        mapped(json!({"response_format": {"type": "text", "mime_type": "application/json"}})),
        json!({"text": {"format": {"type": "json_object"}}})
    );
}

#[test]
fn plain_text_response_format_becomes_text() {
    assert_eq!(
        mapped(json!({"response_format": {"type": "text", "mime_type": "text/plain"}})),
        json!({"text": {"format": {"type": "text"}}})
    );
    assert_eq!(
        mapped(json!({"response_format": {"type": "text"}})),
        json!({"text": {"format": {"type": "text"}}})
    );
}

#[test]
fn legacy_schema_with_response_mime_type_becomes_json_schema() {
    assert_eq!(
        mapped(json!({"response_format": schema(), "response_mime_type": "application/json"})),
        json!({"text": {"format": {"type": "json_schema", "name": "response", "schema": schema(), "strict": false}}})
    );
    assert_refused(
        &refused(with(json!({"response_format": schema()}))),
        "response_mime_type",
        "invalid_value",
    );
}

#[test]
fn response_mime_type_alone_sets_the_format() {
    assert_eq!(
        mapped(json!({"response_mime_type": "application/json"})),
        json!({"text": {"format": {"type": "json_object"}}})
    );
    assert_eq!(
        mapped(json!({"response_mime_type": "text/plain"})),
        json!({"text": {"format": {"type": "text"}}})
    );
    assert_refused(
        &refused(with(json!({"response_mime_type": "text/x-enum"}))),
        "response_mime_type",
        "invalid_value",
    );
}

#[test]
fn a_list_of_one_response_format_is_that_format() {
    assert_eq!(
        mapped(json!({"response_format": [{"type": "text", "mime_type": "application/json"}]})),
        json!({"text": {"format": {"type": "json_object"}}})
    );
}

#[test]
fn several_response_formats_refused() {
    assert_refused(
        &refused(with(json!({"response_format": [
            {"type": "text"}, {"type": "image", "mime_type": "image/png"}]}))),
        "response_format",
        "unsupported_parameter",
    );
}

#[test]
fn non_text_response_format_refused() {
    for kind in ["image", "audio", "video"] {
        assert_refused(
            &refused(with(json!({"response_format": {"type": kind}}))),
            "response_format.type",
            "unsupported_parameter",
        );
    }
}

#[test]
fn schema_without_json_mime_type_refused() {
    assert_refused(
        &refused(with(json!({"response_format":
            {"type": "text", "mime_type": "text/plain", "schema": schema()}}))),
        "response_format.mime_type",
        "invalid_value",
    );
    assert_refused(
        &refused(with(
            json!({"response_format": {"type": "text", "schema": "x"}}),
        )),
        "response_format.schema",
        "invalid_type",
    );
    assert_refused(
        &refused(with(
            json!({"response_format": {"type": "text", "strict": true}}),
        )),
        "response_format.strict",
        "unknown_parameter",
    );
}

// ---------------------------------------------------------------- tools

#[test]
fn function_tool_becomes_non_strict_function_tool() {
    let parameters = json!({"type": "object", "properties": {"city": {"type": "string"}}});
    assert_eq!(
        mapped(json!({"tools": [{"type": "function", "name": "get_weather",
            "description": "Weather now", "parameters": parameters}]})),
        json!({"tools": [{"type": "function", "name": "get_weather", "description": "Weather now",
            "parameters": parameters, "strict": false}]})
    );
    assert_eq!(
        mapped(json!({"tools": [{"type": "function", "name": "ping", "defer_loading": false}]})),
        json!({"tools": [{"type": "function", "name": "ping", "strict": false}]})
    );
}

#[test]
fn function_tool_without_name_refused() {
    assert_refused(
        &refused(with(
            json!({"tools": [{"type": "function", "description": "x"}]}),
        )),
        "tools[0].name",
        "missing_required_parameter",
    );
    assert_refused(
        &refused(with(
            json!({"tools": [{"type": "function", "name": "f", "parameters": "x"}]}),
        )),
        "tools[0].parameters",
        "invalid_type",
    );
    assert_refused(
        &refused(with(
            json!({"tools": [{"type": "function", "name": "f", "strict": true}]}),
        )),
        "tools[0].strict",
        "unknown_parameter",
    );
}

#[test]
fn builtin_tools_refused_naming_them() {
    for tool in [
        "google_search",
        "code_execution",
        "url_context",
        "file_search",
        "google_maps",
        "computer_use",
        "mcp_server",
        "tool_search",
        "retrieval",
    ] {
        let rejection = refused(with(json!({"tools": [
            {"type": "function", "name": "f"}, {"type": tool}]})));
        assert_refused(&rejection, "tools[1].type", "unsupported_parameter");
        assert!(rejection.message.contains(tool), "{}", rejection.message);
    }
    assert_refused(
        &refused(with(json!({"tools": [{"type": "teleport"}]}))),
        "tools[0].type",
        "invalid_value",
    );
}

#[test]
fn deferred_function_refused() {
    assert_refused(
        &refused(with(
            json!({"tools": [{"type": "function", "name": "f", "defer_loading": true}]}),
        )),
        "tools[0].defer_loading",
        "unsupported_parameter",
    );
}

#[test]
fn function_short_description_refused_unless_dropped() {
    let body =
        with(json!({"tools": [{"type": "function", "name": "f", "short_description": "s"}]}));
    assert_refused(
        &refused(body.clone()),
        "tools[0].short_description",
        "unsupported_parameter",
    );
    let out: Value = serde_json::from_slice(
        &run_with(&body, &dropping(&["tools.short_description"]))
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(
        out["tools"],
        json!([{"type": "function", "name": "f", "strict": false}])
    );
}

// ---------------------------------------------------------------- input contents

#[test]
fn single_content_object_becomes_one_user_message() {
    assert_eq!(
        input_of(json!({"type": "text", "text": "hello"})),
        json!([user(json!([{"type": "input_text", "text": "hello"}]))])
    );
}

#[test]
fn content_list_becomes_one_user_message() {
    assert_eq!(
        input_of(json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}])),
        json!([user(json!([
            {"type": "input_text", "text": "a"},
            {"type": "input_text", "text": "b"}]))])
    );
}

#[test]
fn image_data_becomes_a_data_url() {
    assert_eq!(
        input_of(json!([{"type": "image", "data": "iVBORw0K", "mime_type": "image/png"}])),
        json!([user(
            json!([{"type": "input_image", "image_url": "data:image/png;base64,iVBORw0K"}])
        )])
    );
}

#[test]
fn image_data_without_mime_type_refused_naming_mime_type() {
    assert_refused(
        &refused(
            json!({"model": "m", "input": [{"type": "text", "text": "x"},
            {"type": "image", "data": "iVBORw0K"}]}),
        ),
        "input[1].mime_type",
        "missing_required_parameter",
    );
    assert_refused(
        &refused(
            json!({"model": "m", "input": [{"type": "image", "data": "x",
            "mime_type": "image/png;x=,"}]}),
        ),
        "input[0].mime_type",
        "invalid_value",
    );
}

#[test]
fn image_uri_becomes_image_url() {
    assert_eq!(
        input_of(
            json!([{"type": "image", "uri": "https://example.com/cat.png", "mime_type": "image/png"}])
        ),
        json!([user(
            json!([{"type": "input_image", "image_url": "https://example.com/cat.png"}])
        )])
    );
}

#[test]
fn image_uri_the_upstream_cannot_fetch_refused() {
    assert_refused(
        &refused(json!({"model": "m", "input": [{"type": "image", "uri": "gs://bucket/cat.png"}]})),
        "input[0].uri",
        "invalid_value",
    );
    assert_refused(
        &refused(
            json!({"model": "m", "input": [{"type": "image", "uri": "https://x/a.png",
            "data": "AAAA", "mime_type": "image/png"}]}),
        ),
        "input[0].uri",
        "invalid_value",
    );
    assert_refused(
        &refused(json!({"model": "m", "input": [{"type": "image", "mime_type": "image/png"}]})),
        "input[0].data",
        "missing_required_parameter",
    );
}

#[test]
fn image_resolution_maps_to_detail() {
    for (resolution, detail) in [("low", "low"), ("high", "high"), ("ultra_high", "original")] {
        assert_eq!(
            input_of(
                json!([{"type": "image", "uri": "https://x/a.png", "resolution": resolution}])
            ),
            json!([user(
                json!([{"type": "input_image", "image_url": "https://x/a.png", "detail": detail}])
            )])
        );
    }
    assert_refused(
        &refused(
            json!({"model": "m", "input": [{"type": "image", "uri": "https://x/a.png",
            "resolution": "medium"}]}),
        ),
        "input[0].resolution",
        "unsupported_parameter",
    );
}

#[test]
fn document_data_becomes_input_file_with_a_typed_filename() {
    assert_eq!(
        input_of(json!([{"type": "document", "data": "JVBERi0x", "mime_type": "application/pdf"}])),
        json!([user(
            json!([{"type": "input_file", "filename": "document.pdf",
            "file_data": "data:application/pdf;base64,JVBERi0x"}])
        )])
    );
}

#[test]
fn document_uri_becomes_file_url() {
    assert_eq!(
        input_of(
            json!([{"type": "document", "uri": "https://example.com/a.pdf", "resolution": "low"}])
        ),
        json!([user(
            json!([{"type": "input_file", "file_url": "https://example.com/a.pdf", "detail": "low"}])
        )])
    );
    assert_refused(
        &refused(
            json!({"model": "m", "input": [{"type": "document", "uri": "data:application/pdf;base64,AA"}]}),
        ),
        "input[0].uri",
        "invalid_value",
    );
}

#[test]
fn document_processing_refused() {
    assert_refused(
        &refused(
            json!({"model": "m", "input": [{"type": "document", "uri": "https://x/a.pdf",
            "processing": "static"}]}),
        ),
        "input[0].processing",
        "unsupported_parameter",
    );
}

#[test]
fn audio_and_video_input_refused_naming_the_path() {
    for kind in ["audio", "video"] {
        let rejection = refused(
            json!({"model": "m", "input": [{"type": "user_input", "content": [
            {"type": "text", "text": "what is this?"},
            {"type": kind, "data": "AAAA", "mime_type": "audio/wav"}]}]}),
        );
        assert_refused(
            &rejection,
            "input[0].content[1].type",
            "unsupported_parameter",
        );
    }
}

#[test]
fn text_annotations_refused_unless_empty() {
    assert_eq!(
        input_of(json!([{"type": "text", "text": "a", "annotations": []}])),
        json!([user(json!([{"type": "input_text", "text": "a"}]))])
    );
    assert_refused(
        &refused(json!({"model": "m", "input": [{"type": "text", "text": "a",
            "annotations": [{"type": "url_citation", "url": "https://x"}]}]})),
        "input[0].annotations",
        "unsupported_parameter",
    );
}

#[test]
fn unknown_content_keys_and_types_refused() {
    assert_refused(
        &refused(json!({"model": "m", "input": [{"type": "text", "text": "a", "lang": "en"}]})),
        "input[0].lang",
        "unknown_parameter",
    );
    assert_refused(
        &refused(json!({"model": "m", "input": [{"text": "a"}]})),
        "input[0].type",
        "missing_required_parameter",
    );
    assert_refused(
        &refused(json!({"model": "m", "input": {"type": "hologram"}})),
        "input.type",
        "invalid_value",
    );
}

// ---------------------------------------------------------------- input steps

#[test]
fn user_input_step_becomes_a_user_message() {
    assert_eq!(
        input_of(json!([{"type": "user_input", "content": [{"type": "text", "text": "hi"}]}])),
        json!([user(json!([{"type": "input_text", "text": "hi"}]))])
    );
    assert_refused(
        &refused(json!({"model": "m", "input": [{"type": "user_input", "content": []}]})),
        "input[0].content",
        "invalid_value",
    );
}

#[test]
fn model_output_step_becomes_an_assistant_message() {
    assert_eq!(
        input_of(json!([
            {"type": "user_input", "content": [{"type": "text", "text": "hi"}]},
            {"type": "model_output", "content": [{"type": "text", "text": "Hello!"}]},
            {"type": "model_output"},
            {"type": "user_input", "content": [{"type": "text", "text": "bye"}]}])),
        json!([
            user(json!([{"type": "input_text", "text": "hi"}])),
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello!"}]},
            user(json!([{"type": "input_text", "text": "bye"}]))])
    );
}

#[test]
fn model_output_step_with_non_text_content_refused() {
    assert_refused(
        &refused(
            json!({"model": "m", "input": [{"type": "model_output", "content": [
            {"type": "image", "data": "AAAA", "mime_type": "image/png"}]}]}),
        ),
        "input[0].content[0].type",
        "unsupported_parameter",
    );
    assert_refused(
        &refused(json!({"model": "m", "input": [{"type": "model_output",
            "error": {"code": 13, "message": "x"}}]})),
        "input[0].error",
        "unsupported_parameter",
    );
}

#[test]
fn function_call_step_becomes_function_call_with_compact_arguments() {
    let body = br#"{"model":"m","input":[{"type":"function_call","id":"call_1","name":"get_weather","arguments":{ "city" : "Paris", "units": ["c"] }}]}"#;
    let out: Value =
        serde_json::from_slice(&translate(body, &RequestOptions::default()).unwrap().body).unwrap();
    assert_eq!(
        out["input"],
        json!([{"type": "function_call", "call_id": "call_1", "name": "get_weather",
            "arguments": r#"{"city":"Paris","units":["c"]}"#}])
    );
}

#[test]
fn function_call_step_with_non_object_arguments_refused() {
    assert_refused(
        &refused(
            json!({"model": "m", "input": [{"type": "function_call", "id": "c", "name": "f",
            "arguments": "{\"a\":1}"}]}),
        ),
        "input[0].arguments",
        "invalid_type",
    );
    assert_refused(
        &refused(
            json!({"model": "m", "input": [{"type": "function_call", "name": "f", "arguments": {}}]}),
        ),
        "input[0].id",
        "missing_required_parameter",
    );
}

fn call(id: &str) -> Value {
    json!({"type": "function_call", "id": id, "name": "get_weather", "arguments": {"city": "Paris"}})
}

fn call_item(id: &str) -> Value {
    json!({"type": "function_call", "call_id": id, "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"})
}

#[test]
fn function_result_step_becomes_function_call_output_with_same_call_id() {
    assert_eq!(
        input_of(json!([call("call_9"),
            {"type": "function_result", "call_id": "call_9", "name": "get_weather", "result": "sunny"}])),
        json!([call_item("call_9"),
            {"type": "function_call_output", "call_id": "call_9", "output": "sunny", "name": "get_weather"}])
    );
}

#[test]
fn function_result_object_is_sent_as_json_text() {
    let body = br#"{"model":"m","input":[{"type":"function_call","id":"c","name":"f","arguments":{}},{"type":"function_result","call_id":"c","result":{ "temp": 21, "sky": "clear" }}]}"#;
    let out: Value =
        serde_json::from_slice(&translate(body, &RequestOptions::default()).unwrap().body).unwrap();
    assert_eq!(
        out["input"][1],
        json!({"type": "function_call_output", "call_id": "c", "output": r#"{"temp":21,"sky":"clear"}"#})
    );
}

#[test]
fn function_result_content_list_becomes_output_parts() {
    assert_eq!(
        input_of(
            json!([call("c"), {"type": "function_result", "call_id": "c", "result": [
            {"type": "text", "text": "chart:"},
            {"type": "image", "data": "iVBO", "mime_type": "image/png"}]}])
        )[1],
        json!({"type": "function_call_output", "call_id": "c", "output": [
            {"type": "input_text", "text": "chart:"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBO"}]})
    );
    assert_refused(
        &refused(
            json!({"model": "m", "input": [call("c"), {"type": "function_result", "call_id": "c",
            "result": [{"type": "function", "name": "f"}]}]}),
        ),
        "input[1].result[0].type",
        "invalid_value",
    );
    assert_refused(
        &refused(
            json!({"model": "m", "input": [call("c"), {"type": "function_result", "call_id": "c",
            "result": 42}]}),
        ),
        "input[1].result",
        "invalid_type",
    );
}

#[test]
fn function_result_without_its_call_refused_unless_previous_interaction_id() {
    let result = json!({"type": "function_result", "call_id": "call_1", "result": "ok"});
    assert_refused(
        &refused(json!({"model": "m", "input": [call("call_2"), result]})),
        "input[1].call_id",
        "invalid_value",
    );
    assert_eq!(
        ok(json!({"model": "m", "previous_interaction_id": "resp_1", "input": [result]}))["input"],
        json!([{"type": "function_call_output", "call_id": "call_1", "output": "ok"}])
    );
}

#[test]
fn function_result_is_error_refused_unless_dropped() {
    let body = json!({"model": "m", "input": [call("c"),
        {"type": "function_result", "call_id": "c", "result": "boom", "is_error": true}]});
    assert_refused(
        &refused(body.clone()),
        "input[1].is_error",
        "unsupported_parameter",
    );
    let out: Value = serde_json::from_slice(
        &run_with(&body, &dropping(&["input.function_result.is_error"]))
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(
        out["input"][1],
        json!({"type": "function_call_output", "call_id": "c", "output": "boom"})
    );
    assert_eq!(
        input_of(
            json!([call("c"), {"type": "function_result", "call_id": "c", "result": "ok", "is_error": false}])
        )[1],
        json!({"type": "function_call_output", "call_id": "c", "output": "ok"})
    );
}

#[test]
fn thought_step_refused_unless_dropped() {
    let body = json!({"model": "m", "input": [
        {"type": "user_input", "content": [{"type": "text", "text": "2+2?"}]},
        {"type": "thought", "signature": "c2ln", "summary": [{"type": "text", "text": "add"}]},
        {"type": "model_output", "content": [{"type": "text", "text": "4"}]}]});
    let rejection = refused(body.clone());
    assert_refused(&rejection, "input[1]", "unsupported_parameter");
    assert!(rejection.message.contains("input.thought"));
    let out: Value =
        serde_json::from_slice(&run_with(&body, &dropping(&["input.thought"])).unwrap().body)
            .unwrap();
    assert_eq!(
        out["input"],
        json!([user(json!([{"type": "input_text", "text": "2+2?"}])),
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "4"}]}])
    );
}

#[test]
fn builtin_tool_steps_refused() {
    assert_refused(
        &refused(json!({"model": "m", "input": [
            {"type": "google_search_call", "id": "s", "arguments": {"queries": ["x"]}}]})),
        "input[0].type",
        "unsupported_parameter",
    );
    assert_refused(
        &refused(json!({"model": "m", "input": [{"type": "daydream"}]})),
        "input[0].type",
        "invalid_value",
    );
}

#[test]
fn a_list_mixing_steps_and_contents_refused() {
    assert_refused(
        &refused(json!({"model": "m", "input": [
            {"type": "user_input", "content": [{"type": "text", "text": "a"}]},
            {"type": "text", "text": "b"}]})),
        "input[1].type",
        "invalid_value",
    );
}

#[test]
fn unknown_step_keys_refused_with_their_path() {
    assert_refused(
        &refused(json!({"model": "m", "input": [
            {"type": "user_input", "role": "user", "content": [{"type": "text", "text": "a"}]}]})),
        "input[0].role",
        "unknown_parameter",
    );
    assert_refused(
        &refused(json!({"model": "m", "input": [
            {"type": "user_input", "content": [{"type": "text", "text": "a", "mime_type": "text/plain"}]}]})),
        "input[0].content[0].mime_type",
        "unknown_parameter",
    );
}

#[test]
fn a_multi_turn_tool_conversation_translates_whole() {
    let body = json!({
        "model": "gemini-3-flash-preview",
        "system_instruction": "You are terse.",
        "input": [
            {"type": "user_input", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            call("call_1"),
            {"type": "function_result", "call_id": "call_1", "name": "get_weather", "result": {"temp": 21}}],
        "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
        "generation_config": {"temperature": 0.2, "max_output_tokens": 256, "thinking_level": "low",
            "tool_choice": "auto"},
        "stream": true,
        "store": false,
    });
    let translated = run_with(&body, &RequestOptions::default()).unwrap();
    assert!(translated.stream);
    let out: Value = serde_json::from_slice(&translated.body).unwrap();
    assert_eq!(
        out,
        json!({
            "model": "gemini-3-flash-preview",
            "instructions": "You are terse.",
            "input": [
                user(json!([{"type": "input_text", "text": "Weather in Paris?"}])),
                call_item("call_1"),
                {"type": "function_call_output", "call_id": "call_1", "output": "{\"temp\":21}", "name": "get_weather"}],
            "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": false}],
            "tool_choice": "auto",
            "reasoning": {"effort": "low"},
            "temperature": 0.2,
            "max_output_tokens": 256,
            "store": false,
            "stream": true,
        })
    );
}
