//! Chat Completions requests → Responses requests (`chat::request::translate`): one test per
//! mapped field and per refused field, on the exact output JSON and on the rejection's
//! status, code and param.

use responses_transcoder::chat::request::{translate, UNSUPPORTED_FIELDS};
use responses_transcoder::request::{ParticipantNames, Rejection, RequestOptions, Translated};
use responses_transcoder::Config;
use serde_json::{json, Value};

fn translate_with(body: &Value, options: &RequestOptions) -> Result<Translated, Rejection> {
    translate(body.to_string().as_bytes(), options)
}

/// The upstream body for `body` (which must translate).
fn upstream(body: Value) -> Value {
    let translated = translate_with(&body, &RequestOptions::default())
        .unwrap_or_else(|r| panic!("refused {body}: {r:?}"));
    serde_json::from_slice(&translated.body).expect("upstream body is JSON")
}

/// The rejection of `body` (which must be refused).
fn refused(body: Value) -> Rejection {
    match translate_with(&body, &RequestOptions::default()) {
        Ok(t) => panic!(
            "accepted {body}: {}",
            String::from_utf8_lossy(&t.body).into_owned()
        ),
        Err(rejection) => rejection,
    }
}

fn assert_refused(body: Value, code: &str, param: &str) -> Rejection {
    let rejection = refused(body);
    assert_eq!(rejection.status, 400, "{rejection:?}");
    assert_eq!(rejection.code, code, "{rejection:?}");
    assert_eq!(rejection.param.as_deref(), Some(param), "{rejection:?}");
    assert!(
        rejection.message.contains(&format!("'{param}'")),
        "message names the field: {rejection:?}"
    );
    rejection
}

fn dropping(fields: &[&str]) -> RequestOptions {
    RequestOptions {
        drop_unsupported_fields: fields.iter().map(|f| f.to_string()).collect(),
        ..RequestOptions::default()
    }
}

/// A minimal request with `extra` fields added.
fn request(extra: Value) -> Value {
    let mut body = json!({"model": "gpt-x", "messages": [{"role": "user", "content": "Hi"}]});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

/// A request with these messages.
fn conversation(messages: Value) -> Value {
    json!({"model": "gpt-x", "messages": messages})
}

fn hi() -> Value {
    json!({"type": "message", "role": "user", "content": "Hi"})
}

/// The minimal upstream body with `extra` fields added.
fn expected(extra: Value) -> Value {
    let mut body = json!({"model": "gpt-x", "input": [hi()]});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

// ---------------------------------------------------------------- the body

#[test]
fn minimal_request_becomes_model_and_input() {
    let translated = translate_with(&request(json!({})), &RequestOptions::default()).unwrap();
    assert!(!translated.stream);
    assert!(!translated.include_usage);
    let body: Value = serde_json::from_slice(&translated.body).unwrap();
    assert_eq!(body, expected(json!({})));
}

#[test]
fn malformed_json_is_refused() {
    for body in [
        &b"{\"model\":"[..],
        b"",
        b"[1]",
        b"\"x\"",
        b"{\"model\":\"m\"}\xff",
    ] {
        let rejection = translate(body, &RequestOptions::default()).unwrap_err();
        assert_eq!(
            (rejection.status, rejection.code, rejection.param),
            (400, "invalid_json", None)
        );
    }
}

#[test]
fn model_is_required_and_a_string() {
    let mut body = request(json!({}));
    body.as_object_mut().unwrap().remove("model");
    assert_refused(body, "missing_required_parameter", "model");
    assert_refused(request(json!({"model": 4})), "invalid_type", "model");
    assert_refused(request(json!({"model": null})), "invalid_type", "model");
}

#[test]
fn messages_are_required_not_empty_and_an_array() {
    assert_refused(
        json!({"model": "gpt-x"}),
        "missing_required_parameter",
        "messages",
    );
    assert_refused(conversation(json!([])), "invalid_value", "messages");
    assert_refused(conversation(json!("Hi")), "invalid_type", "messages");
    assert_refused(conversation(json!(null)), "invalid_type", "messages");
    assert_refused(conversation(json!([7])), "invalid_type", "messages[0]");
}

#[test]
fn unknown_field_is_refused_naming_it() {
    assert_refused(
        request(json!({"temprature": 1})),
        "unknown_parameter",
        "temprature",
    );
    assert_refused(
        request(json!({"previous_response_id": null})),
        "unknown_parameter",
        "previous_response_id",
    );
}

#[test]
fn duplicate_keys_are_refused() {
    let body = br#"{"model":"a","model":"b","messages":[{"role":"user","content":"x"}]}"#;
    let rejection = translate(body, &RequestOptions::default()).unwrap_err();
    assert_eq!(rejection.param.as_deref(), Some("model"));
    let body = br#"{"model":"a","messages":[{"role":"user","content":"x","content":"y"}]}"#;
    let rejection = translate(body, &RequestOptions::default()).unwrap_err();
    assert_eq!(rejection.param.as_deref(), Some("messages[0].content"));
}

#[test]
fn null_means_not_given() {
    let nulls = json!({
        "temperature": null, "top_p": null, "user": null, "metadata": null, "store": null,
        "max_tokens": null, "max_completion_tokens": null, "logprobs": null,
        "top_logprobs": null, "reasoning_effort": null, "verbosity": null,
        "response_format": null, "stream": null, "stream_options": null, "tools": null,
        "tool_choice": null, "n": null, "stop": null, "seed": null, "audio": null,
        "parallel_tool_calls": null, "service_tier": null, "prediction": null,
        "web_search_options": null, "functions": null, "function_call": null,
        "logit_bias": null, "modalities": null, "frequency_penalty": null,
        "presence_penalty": null, "moderation": null, "prompt_cache_key": null,
        "prompt_cache_options": null, "prompt_cache_retention": null, "safety_identifier": null,
    });
    assert_eq!(upstream(request(nulls)), expected(json!({})));
}

// ---------------------------------------------------------------- sampling and limits

#[test]
fn max_tokens_becomes_max_output_tokens() {
    assert_eq!(
        upstream(request(json!({"max_tokens": 256}))),
        expected(json!({"max_output_tokens": 256}))
    );
}

#[test]
fn max_completion_tokens_becomes_max_output_tokens() {
    assert_eq!(
        upstream(request(json!({"max_completion_tokens": 16}))),
        expected(json!({"max_output_tokens": 16}))
    );
}

#[test]
fn max_tokens_and_max_completion_tokens_must_agree() {
    assert_eq!(
        upstream(request(
            json!({"max_tokens": 100, "max_completion_tokens": 100})
        )),
        expected(json!({"max_output_tokens": 100}))
    );
    let body = br#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":100,"max_completion_tokens":200}"#;
    let rejection = translate(body, &RequestOptions::default()).unwrap_err();
    assert_eq!(rejection.code, "invalid_value");
    assert_eq!(rejection.param.as_deref(), Some("max_completion_tokens"));
    assert!(
        rejection.message.contains("'max_tokens' (100)"),
        "{rejection:?}"
    );
}

#[test]
fn max_tokens_below_16_is_refused_not_clamped() {
    let rejection = assert_refused(
        request(json!({"max_tokens": 15})),
        "invalid_value",
        "max_tokens",
    );
    assert!(
        rejection
            .message
            .contains("Responses API requires at least 16"),
        "{rejection:?}"
    );
    assert_refused(
        request(json!({"max_completion_tokens": 0})),
        "invalid_value",
        "max_completion_tokens",
    );
    assert_refused(
        request(json!({"max_tokens": -1})),
        "invalid_type",
        "max_tokens",
    );
    assert_refused(
        request(json!({"max_tokens": "64"})),
        "invalid_type",
        "max_tokens",
    );
}

#[test]
fn temperature_and_top_p_are_copied_with_their_digits() {
    let body = br#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":0.70,"top_p":1e-1}"#;
    let out = translate(body, &RequestOptions::default()).unwrap().body;
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(r#""temperature":0.70"#), "{text}");
    assert!(text.contains(r#""top_p":1e-1"#), "{text}");
}

#[test]
fn temperature_and_top_p_out_of_range_are_refused() {
    assert_refused(
        request(json!({"temperature": 2.5})),
        "invalid_value",
        "temperature",
    );
    assert_refused(request(json!({"top_p": 1.5})), "invalid_value", "top_p");
    assert_refused(
        request(json!({"temperature": "hot"})),
        "invalid_type",
        "temperature",
    );
}

#[test]
fn string_fields_are_copied() {
    let fields = json!({
        "user": "u-1", "prompt_cache_key": "k", "safety_identifier": "s",
        "service_tier": "flex", "prompt_cache_retention": "24h",
    });
    assert_eq!(upstream(request(fields.clone())), expected(fields));
    assert_refused(request(json!({"user": 1})), "invalid_type", "user");
}

#[test]
fn metadata_and_same_shaped_objects_are_copied() {
    let fields = json!({
        "metadata": {"team": "a b", "n": "1"},
        "prompt_cache_options": {"mode": "explicit", "ttl": "30m"},
        "moderation": {"model": "omni-moderation-latest"},
    });
    assert_eq!(upstream(request(fields.clone())), expected(fields));
    assert_refused(
        request(json!({"metadata": ["a"]})),
        "invalid_type",
        "metadata",
    );
}

#[test]
fn store_and_parallel_tool_calls_are_copied() {
    let fields = json!({"store": false, "parallel_tool_calls": false});
    assert_eq!(upstream(request(fields.clone())), expected(fields));
    assert_refused(request(json!({"store": "no"})), "invalid_type", "store");
}

#[test]
fn store_omitted_is_not_sent() {
    assert!(upstream(request(json!({}))).get("store").is_none());
}

#[test]
fn reasoning_effort_becomes_reasoning_effort() {
    assert_eq!(
        upstream(request(json!({"reasoning_effort": "low"}))),
        expected(json!({"reasoning": {"effort": "low"}}))
    );
}

#[test]
fn verbosity_becomes_text_verbosity() {
    assert_eq!(
        upstream(request(json!({"verbosity": "high"}))),
        expected(json!({"text": {"verbosity": "high"}}))
    );
}

// ---------------------------------------------------------------- response_format

#[test]
fn response_format_text_becomes_text_format() {
    assert_eq!(
        upstream(request(json!({"response_format": {"type": "text"}}))),
        expected(json!({"text": {"format": {"type": "text"}}}))
    );
}

#[test]
fn response_format_json_object_becomes_text_format() {
    assert_eq!(
        upstream(request(
            json!({"response_format": {"type": "json_object"}, "verbosity": "low"})
        )),
        expected(json!({"text": {"format": {"type": "json_object"}, "verbosity": "low"}}))
    );
}

#[test]
fn response_format_json_schema_is_flattened() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}},
                        "required": ["a"], "additionalProperties": false});
    let body = request(
        json!({"response_format": {"type": "json_schema", "json_schema": {
        "name": "answer", "description": "An answer", "schema": schema, "strict": true}}}),
    );
    assert_eq!(
        upstream(body),
        expected(
            json!({"text": {"format": {"type": "json_schema", "name": "answer",
            "description": "An answer", "schema": schema, "strict": true}}})
        )
    );
}

#[test]
fn response_format_json_schema_needs_a_schema() {
    let body = request(json!({"response_format": {"type": "json_schema",
        "json_schema": {"name": "answer"}}}));
    assert_refused(
        body,
        "missing_required_parameter",
        "response_format.json_schema.schema",
    );
}

#[test]
fn response_format_unknown_type_or_key_is_refused() {
    assert_refused(
        request(json!({"response_format": {"type": "yaml"}})),
        "invalid_value",
        "response_format.type",
    );
    assert_refused(
        request(
            json!({"response_format": {"type": "json_schema", "json_schema": {
            "name": "a", "schema": {}, "examples": []}}}),
        ),
        "unknown_parameter",
        "response_format.json_schema.examples",
    );
    assert_refused(
        request(json!({"response_format": {"type": "text", "json_schema": {}}})),
        "unknown_parameter",
        "response_format.json_schema",
    );
}

// ---------------------------------------------------------------- logprobs

#[test]
fn logprobs_with_top_logprobs_become_top_logprobs_and_include() {
    assert_eq!(
        upstream(request(json!({"logprobs": true, "top_logprobs": 5}))),
        expected(json!({"top_logprobs": 5, "include": ["message.output_text.logprobs"]}))
    );
}

#[test]
fn logprobs_alone_asks_for_zero_top_logprobs() {
    assert_eq!(
        upstream(request(json!({"logprobs": true}))),
        expected(json!({"top_logprobs": 0, "include": ["message.output_text.logprobs"]}))
    );
    assert_eq!(
        upstream(request(json!({"logprobs": false}))),
        expected(json!({}))
    );
}

#[test]
fn top_logprobs_needs_logprobs_and_at_most_20() {
    assert_refused(
        request(json!({"top_logprobs": 3})),
        "invalid_value",
        "top_logprobs",
    );
    assert_refused(
        request(json!({"logprobs": true, "top_logprobs": 21})),
        "invalid_value",
        "top_logprobs",
    );
}

// ---------------------------------------------------------------- streaming

#[test]
fn stream_true_is_sent_and_reported() {
    let translated = translate_with(
        &request(json!({"stream": true})),
        &RequestOptions::default(),
    )
    .unwrap();
    assert!(translated.stream);
    assert!(!translated.include_usage);
    let body: Value = serde_json::from_slice(&translated.body).unwrap();
    assert_eq!(body, expected(json!({"stream": true})));
}

#[test]
fn stream_false_is_not_sent() {
    let translated = translate_with(
        &request(json!({"stream": false})),
        &RequestOptions::default(),
    )
    .unwrap();
    assert!(!translated.stream);
    let body: Value = serde_json::from_slice(&translated.body).unwrap();
    assert_eq!(body, expected(json!({})));
}

#[test]
fn include_usage_is_reported_not_sent() {
    let body = request(json!({"stream": true, "stream_options": {"include_usage": true}}));
    let translated = translate_with(&body, &RequestOptions::default()).unwrap();
    assert!(translated.stream && translated.include_usage);
    let body: Value = serde_json::from_slice(&translated.body).unwrap();
    assert_eq!(body, expected(json!({"stream": true})));
}

#[test]
fn include_obfuscation_is_forwarded() {
    let body = request(json!({"stream_options": {"include_obfuscation": false}, "stream": true}));
    assert_eq!(
        upstream(body),
        expected(json!({"stream": true, "stream_options": {"include_obfuscation": false}}))
    );
}

#[test]
fn stream_options_without_stream_are_refused() {
    assert_refused(
        request(json!({"stream_options": {"include_usage": true}})),
        "invalid_value",
        "stream_options",
    );
    assert_refused(
        request(json!({"stream": true, "stream_options": {"include_usage": true, "x": 1}})),
        "unknown_parameter",
        "stream_options.x",
    );
}

// ---------------------------------------------------------------- n and unsupported fields

#[test]
fn n_of_one_is_accepted_and_not_sent() {
    assert_eq!(upstream(request(json!({"n": 1}))), expected(json!({})));
    assert_refused(request(json!({"n": 0})), "invalid_value", "n");
}

#[test]
fn unsupported_fields_are_the_configurable_ones() {
    let config = json!({"drop_unsupported_fields": UNSUPPORTED_FIELDS}).to_string();
    let config = Config::parse(config.as_bytes()).expect("config accepts every chat field");
    assert_eq!(
        config.request.drop_unsupported_fields.len(),
        UNSUPPORTED_FIELDS.len()
    );
}

/// One test that the field is refused naming it, one that configuration drops it.
macro_rules! unsupported {
    ($refused:ident, $dropped:ident, $field:literal, $value:tt) => {
        #[test]
        fn $refused() {
            let rejection = assert_refused(
                request(json!({ $field: $value })),
                "unsupported_parameter",
                $field,
            );
            assert!(
                rejection.message.contains("Responses")
                    || rejection.message.contains("tools"),
                "the message says why: {rejection:?}"
            );
        }

        #[test]
        fn $dropped() {
            let translated =
                translate_with(&request(json!({ $field: $value })), &dropping(&[$field]))
                    .unwrap();
            let body: Value = serde_json::from_slice(&translated.body).unwrap();
            assert_eq!(body, expected(json!({})));
            let other = translate_with(&request(json!({ $field: $value })), &dropping(&["seed"]));
            if $field != "seed" {
                assert!(other.is_err(), "only the configured field is dropped");
            }
        }
    };
}

unsupported!(
    n_above_one_is_refused_naming_it,
    n_above_one_is_dropped_when_configured,
    "n",
    2
);
unsupported!(
    seed_is_refused_naming_it,
    seed_is_dropped_when_configured,
    "seed",
    42
);
unsupported!(
    frequency_penalty_is_refused_naming_it,
    frequency_penalty_is_dropped_when_configured,
    "frequency_penalty",
    0.5
);
unsupported!(
    presence_penalty_is_refused_naming_it,
    presence_penalty_is_dropped_when_configured,
    "presence_penalty",
    (-1)
);
unsupported!(
    logit_bias_is_refused_naming_it,
    logit_bias_is_dropped_when_configured,
    "logit_bias",
    {"50256": -100}
);
unsupported!(
    audio_is_refused_naming_it,
    audio_is_dropped_when_configured,
    "audio",
    {"voice": "alloy", "format": "mp3"}
);
unsupported!(
    modalities_with_audio_are_refused_naming_them,
    modalities_are_dropped_when_configured,
    "modalities",
    ["text", "audio"]
);
unsupported!(
    prediction_is_refused_naming_it,
    prediction_is_dropped_when_configured,
    "prediction",
    {"type": "content", "content": "x"}
);
unsupported!(
    web_search_options_are_refused_naming_them,
    web_search_options_are_dropped_when_configured,
    "web_search_options",
    {}
);
unsupported!(
    functions_are_refused_naming_them,
    functions_are_dropped_when_configured,
    "functions",
    [{"name": "f"}]
);
unsupported!(
    function_call_is_refused_naming_it,
    function_call_is_dropped_when_configured,
    "function_call",
    "auto"
);

#[test]
fn neutral_values_of_unsupported_fields_are_accepted_and_not_sent() {
    let neutral = json!({
        "stop": [], "frequency_penalty": 0, "presence_penalty": 0.0, "logit_bias": {},
        "modalities": ["text"], "functions": [], "n": 1,
    });
    assert_eq!(upstream(request(neutral)), expected(json!({})));
}

// ---------------------------------------------------------------- tools

#[test]
fn function_tools_are_flattened_and_non_strict_by_default() {
    let parameters = json!({"type": "object", "properties": {"city": {"type": "string"}}});
    let body = request(json!({"tools": [
        {"type": "function", "function": {"name": "weather", "description": "Weather",
                                          "parameters": parameters}},
        {"type": "function", "function": {"name": "strict_one", "parameters": parameters,
                                          "strict": true}},
        {"type": "function", "function": {"name": "no_args", "strict": null}},
    ]}));
    assert_eq!(
        upstream(body),
        expected(json!({"tools": [
            {"type": "function", "name": "weather", "description": "Weather",
             "parameters": parameters, "strict": false},
            {"type": "function", "name": "strict_one", "parameters": parameters, "strict": true},
            {"type": "function", "name": "no_args", "parameters": null, "strict": false},
        ]}))
    );
}

#[test]
fn custom_tools_are_flattened() {
    let body = request(json!({"tools": [
        {"type": "custom", "custom": {"name": "sql", "description": "Runs SQL",
            "format": {"type": "grammar", "grammar": {"definition": "start: x", "syntax": "lark"}}}},
        {"type": "custom", "custom": {"name": "free", "format": {"type": "text"}}},
    ]}));
    assert_eq!(
        upstream(body),
        expected(json!({"tools": [
            {"type": "custom", "name": "sql", "description": "Runs SQL",
             "format": {"type": "grammar", "definition": "start: x", "syntax": "lark"}},
            {"type": "custom", "name": "free", "format": {"type": "text"}},
        ]}))
    );
}

#[test]
fn malformed_tools_are_refused_naming_the_path() {
    assert_refused(
        request(json!({"tools": [{"type": "function", "function": {"name": "f", "x": 1}}]})),
        "unknown_parameter",
        "tools[0].function.x",
    );
    assert_refused(
        request(json!({"tools": [{"type": "web_search"}]})),
        "invalid_value",
        "tools[0].type",
    );
    assert_refused(
        request(json!({"tools": [{"type": "function", "function": {"description": "d"}}]})),
        "missing_required_parameter",
        "tools[0].function.name",
    );
    assert_refused(
        request(json!({"tools": [{"type": "function", "name": "f"}]})),
        "unknown_parameter",
        "tools[0].name",
    );
    assert_refused(
        request(json!({"tools": [{"type": "function",
            "function": {"name": "f", "parameters": "none"}}]})),
        "invalid_type",
        "tools[0].function.parameters",
    );
}

#[test]
fn tool_choice_modes_are_copied() {
    for mode in ["none", "auto", "required"] {
        assert_eq!(
            upstream(request(json!({"tool_choice": mode}))),
            expected(json!({"tool_choice": mode}))
        );
    }
    assert_refused(
        request(json!({"tool_choice": "any"})),
        "invalid_value",
        "tool_choice",
    );
}

#[test]
fn named_tool_choice_is_flattened() {
    assert_eq!(
        upstream(request(
            json!({"tool_choice": {"type": "function", "function": {"name": "weather"}}})
        )),
        expected(json!({"tool_choice": {"type": "function", "name": "weather"}}))
    );
    assert_eq!(
        upstream(request(
            json!({"tool_choice": {"type": "custom", "custom": {"name": "sql"}}})
        )),
        expected(json!({"tool_choice": {"type": "custom", "name": "sql"}}))
    );
    assert_refused(
        request(json!({"tool_choice": {"type": "function", "name": "weather"}})),
        "unknown_parameter",
        "tool_choice.name",
    );
}

#[test]
fn allowed_tools_choice_becomes_responses_allowed_tools() {
    let body = request(
        json!({"tool_choice": {"type": "allowed_tools", "allowed_tools": {
        "mode": "required", "tools": [
            {"type": "function", "function": {"name": "weather"}},
            {"type": "custom", "custom": {"name": "sql"}}]}}}),
    );
    assert_eq!(
        upstream(body),
        expected(
            json!({"tool_choice": {"type": "allowed_tools", "mode": "required", "tools": [
            {"type": "function", "name": "weather"}, {"type": "custom", "name": "sql"}]}})
        )
    );
    assert_refused(
        request(
            json!({"tool_choice": {"type": "allowed_tools", "allowed_tools": {
            "mode": "sometimes", "tools": []}}}),
        ),
        "invalid_value",
        "tool_choice.allowed_tools.mode",
    );
}

// ---------------------------------------------------------------- messages

#[test]
fn system_message_position_is_kept() {
    let body = conversation(json!([
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "system", "content": "Now answer in French."},
        {"role": "user", "content": "Bye"},
    ]));
    assert_eq!(
        upstream(body)["input"],
        json!([
            {"type": "message", "role": "system", "content": "Be brief."},
            {"type": "message", "role": "user", "content": "Hi"},
            {"type": "message", "role": "assistant", "content": "Hello."},
            {"type": "message", "role": "system", "content": "Now answer in French."},
            {"type": "message", "role": "user", "content": "Bye"},
        ])
    );
}

#[test]
fn developer_message_keeps_its_role_and_text_parts() {
    let body = conversation(json!([
        {"role": "developer", "content": [{"type": "text", "text": "Rule 1"},
            {"type": "text", "text": "Rule 2", "prompt_cache_breakpoint": {"mode": "explicit"}}]},
        {"role": "user", "content": "Hi"},
    ]));
    assert_eq!(
        upstream(body)["input"][0],
        json!({"type": "message", "role": "developer", "content": [
            {"type": "input_text", "text": "Rule 1"},
            {"type": "input_text", "text": "Rule 2",
             "prompt_cache_breakpoint": {"mode": "explicit"}}]})
    );
}

#[test]
fn system_message_takes_text_parts_only() {
    assert_refused(
        conversation(json!([{"role": "system", "content": [
            {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}])),
        "invalid_value",
        "messages[0].content[0].type",
    );
}

#[test]
fn user_parts_become_input_parts() {
    let body = conversation(json!([{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "file", "file": {"file_id": "file-1"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE",
                                  "filename": "a.pdf"}},
    ]}]));
    assert_eq!(
        upstream(body)["input"],
        json!([{"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "What is this?"},
            {"type": "input_image", "image_url": "https://x/y.png", "detail": "low"},
            {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "auto"},
            {"type": "input_file", "file_id": "file-1"},
            {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE",
             "filename": "a.pdf"},
        ]}])
    );
}

#[test]
fn input_audio_is_refused_naming_the_part() {
    let rejection = assert_refused(
        conversation(json!([{"role": "user", "content": [
            {"type": "text", "text": "Listen"},
            {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}])),
        "unsupported_parameter",
        "messages[0].content[1]",
    );
    assert!(rejection.message.contains("audio"), "{rejection:?}");
}

#[test]
fn malformed_user_parts_are_refused_naming_the_path() {
    assert_refused(
        conversation(json!([{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "u", "detail": "low", "size": 1}}]}])),
        "unknown_parameter",
        "messages[0].content[0].image_url.size",
    );
    assert_refused(
        conversation(json!([{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "u", "detail": 2}}]}])),
        "invalid_type",
        "messages[0].content[0].image_url.detail",
    );
    assert_refused(
        conversation(json!([{"role": "user", "content": [{"type": "video"}]}])),
        "invalid_value",
        "messages[0].content[0].type",
    );
    assert_refused(
        conversation(json!([{"role": "user", "content": [{"type": "file", "file": {}}]}])),
        "invalid_value",
        "messages[0].content[0].file",
    );
    assert_refused(
        conversation(json!([{"role": "user", "content": 5}])),
        "invalid_type",
        "messages[0].content",
    );
    assert_refused(
        conversation(json!([{"role": "user"}])),
        "missing_required_parameter",
        "messages[0].content",
    );
}

#[test]
fn assistant_text_and_refusal_parts_become_output_parts() {
    let body = conversation(json!([
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "I can't"},
                                          {"type": "refusal", "refusal": "Refused."}]},
        {"role": "assistant", "content": "Partly.", "refusal": "No more."},
        {"role": "user", "content": "Ok"},
    ]));
    assert_eq!(
        upstream(body)["input"],
        json!([
            hi(),
            {"type": "message", "role": "assistant", "content": [
                {"type": "output_text", "text": "I can't", "annotations": []},
                {"type": "refusal", "refusal": "Refused."}]},
            {"type": "message", "role": "assistant", "content": [
                {"type": "output_text", "text": "Partly.", "annotations": []},
                {"type": "refusal", "refusal": "No more."}]},
            {"type": "message", "role": "user", "content": "Ok"},
        ])
    );
}

#[test]
fn tool_round_trip_keeps_call_ids() {
    let body = conversation(json!([
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "call_2", "type": "function",
             "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "21C"}]},
    ]));
    assert_eq!(
        upstream(body)["input"],
        json!([
            {"type": "message", "role": "user", "content": "Weather in Paris and Rome?"},
            {"type": "function_call", "call_id": "call_1", "name": "weather",
             "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call", "call_id": "call_2", "name": "weather",
             "arguments": "{\"city\":\"Rome\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
            {"type": "function_call_output", "call_id": "call_2",
             "output": [{"type": "input_text", "text": "21C"}]},
        ])
    );
}

#[test]
fn assistant_text_comes_before_its_tool_calls() {
    let body = conversation(json!([
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Let me check.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "done"},
    ]));
    assert_eq!(
        upstream(body)["input"],
        json!([
            hi(),
            {"type": "message", "role": "assistant", "content": "Let me check."},
            {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "done"},
        ])
    );
}

#[test]
fn empty_assistant_content_with_tool_calls_makes_no_message() {
    for content in [json!(""), json!([]), json!(null)] {
        let body = conversation(json!([
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": content, "refusal": null, "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        ]));
        assert_eq!(
            upstream(body)["input"],
            json!([hi(), {"type": "function_call", "call_id": "c", "name": "f",
                          "arguments": "{}"}])
        );
    }
}

#[test]
fn assistant_without_content_or_tool_calls_is_refused() {
    assert_refused(
        conversation(json!([{"role": "user", "content": "Hi"},
                            {"role": "assistant", "content": null}])),
        "missing_required_parameter",
        "messages[1].content",
    );
}

#[test]
fn custom_tool_round_trip_keeps_call_ids() {
    let body = json!({"model": "gpt-x", "tools": [
        {"type": "custom", "custom": {"name": "sql"}}], "messages": [
        {"role": "user", "content": "Count rows"},
        {"role": "assistant", "tool_calls": [
            {"id": "call_a", "type": "custom", "custom": {"name": "sql", "input": "SELECT 1"}},
            // This filter reports custom tool calls to Chat clients as function calls.
            {"id": "call_b", "type": "function",
             "function": {"name": "sql", "arguments": "SELECT 2"}}]},
        {"role": "tool", "tool_call_id": "call_a", "content": "1"},
        {"role": "tool", "tool_call_id": "call_b", "content": "2"},
    ]});
    assert_eq!(
        upstream(body)["input"],
        json!([
            {"type": "message", "role": "user", "content": "Count rows"},
            {"type": "custom_tool_call", "call_id": "call_a", "name": "sql", "input": "SELECT 1"},
            {"type": "custom_tool_call", "call_id": "call_b", "name": "sql", "input": "SELECT 2"},
            {"type": "custom_tool_call_output", "call_id": "call_a", "output": "1"},
            {"type": "custom_tool_call_output", "call_id": "call_b", "output": "2"},
        ])
    );
}

#[test]
fn malformed_tool_calls_and_tool_messages_are_refused() {
    let call = |call: Value| {
        conversation(json!([{"role": "user", "content": "Hi"},
                            {"role": "assistant", "tool_calls": [call]}]))
    };
    assert_refused(
        call(json!({"type": "function", "function": {"name": "f", "arguments": "{}"}})),
        "missing_required_parameter",
        "messages[1].tool_calls[0].id",
    );
    assert_refused(
        call(json!({"id": "c", "type": "function", "function": {"name": "f", "arguments": {}}})),
        "invalid_type",
        "messages[1].tool_calls[0].function.arguments",
    );
    assert_refused(
        call(json!({"id": "c", "type": "web"})),
        "invalid_value",
        "messages[1].tool_calls[0].type",
    );
    assert_refused(
        conversation(json!([{"role": "tool", "content": "x"}])),
        "missing_required_parameter",
        "messages[0].tool_call_id",
    );
    assert_refused(
        conversation(json!([{"role": "tool", "tool_call_id": "c", "content": [
            {"type": "image_url", "image_url": {"url": "u"}}]}])),
        "invalid_value",
        "messages[0].content[0].type",
    );
}

#[test]
fn one_name_per_role_is_accepted_and_not_sent() {
    // AutoGen names every message after its role's one participant.
    let body = conversation(json!([{"role": "system", "content": "x", "name": "system"},
                                   {"role": "user", "content": "Hi", "name": "user"},
                                   {"role": "assistant", "content": "Hello", "name": "assistant"},
                                   {"role": "user", "content": "Hi", "name": "user"}]));
    let input = upstream(body)["input"].clone();
    assert_eq!(input[1], hi());
    assert_eq!(input[3], hi());
    assert!(!input.to_string().contains("\"name\""), "{input}");
    let nulls = conversation(json!([{"role": "user", "content": "Hi", "name": null}]));
    assert_eq!(upstream(nulls)["input"], json!([hi()]));
}

#[test]
fn tool_message_name_is_carried_by_the_call_id() {
    // CrewAI names each tool message after its tool; two tools share the role.
    let body = conversation(json!([
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "multiply", "arguments": "{}"}},
            {"id": "call_2", "type": "function", "function": {"name": "add", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "name": "multiply", "content": "6"},
        {"role": "tool", "tool_call_id": "call_2", "name": "add", "content": "5"}]));
    let input = upstream(body)["input"].clone();
    assert_eq!(
        input[3],
        json!({"type": "function_call_output", "call_id": "call_1", "output": "6"})
    );
    assert_eq!(
        input[4],
        json!({"type": "function_call_output", "call_id": "call_2", "output": "5"})
    );
}

#[test]
fn several_names_sharing_a_role_are_refused_naming_the_second() {
    let body = conversation(json!([{"role": "user", "content": "Hi", "name": "alice"},
                                   {"role": "assistant", "content": "Hello", "name": "bot"},
                                   {"role": "user", "content": "Hey", "name": "alice"},
                                   {"role": "user", "content": "Yo", "name": "bob"}]));
    let rejection = assert_refused(body, "unsupported_parameter", "messages[3].name");
    assert!(rejection.message.contains("participant"), "{rejection:?}");
    let not_a_string = conversation(json!([{"role": "user", "content": "Hi", "name": 7}]));
    assert_refused(not_a_string, "invalid_type", "messages[0].name");
}

fn names(names: ParticipantNames) -> RequestOptions {
    RequestOptions {
        participant_names: names,
        ..RequestOptions::default()
    }
}

#[test]
fn several_names_sharing_a_role_are_dropped_or_prefixed_when_configured() {
    let body = conversation(json!([
        {"role": "user", "content": "Hi", "name": "alice"},
        {"role": "user", "content": [{"type": "text", "text": "Yo"}], "name": "bob"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/i.png"}}], "name": "bob"},
        {"role": "assistant", "content": "Hello"}]));
    let dropped = translate_with(&body, &names(ParticipantNames::Drop)).unwrap();
    let dropped: Value = serde_json::from_slice(&dropped.body).unwrap();
    assert_eq!(dropped["input"][0], hi());
    assert_eq!(
        dropped["input"][1]["content"],
        json!([{"type": "input_text", "text": "Yo"}])
    );
    let prefixed = translate_with(&body, &names(ParticipantNames::Prefix)).unwrap();
    let prefixed: Value = serde_json::from_slice(&prefixed.body).unwrap();
    assert_eq!(prefixed["input"][0]["content"], "alice: Hi");
    assert_eq!(
        prefixed["input"][1]["content"],
        json!([{"type": "input_text", "text": "bob: Yo"}])
    );
    assert_eq!(
        prefixed["input"][2]["content"][0],
        json!({"type": "input_text", "text": "bob: "})
    );
    assert_eq!(prefixed["input"][2]["content"][1]["type"], "input_image");
    assert_eq!(prefixed["input"][3]["content"], "Hello");
}

#[test]
fn stop_is_accepted_not_sent_and_carried() {
    let accepted =
        |extra: Value| translate_with(&request(extra), &RequestOptions::default()).unwrap();
    let one = accepted(json!({"stop": "Observation:"}));
    assert_eq!(one.stop.as_slice(), ["Observation:"]);
    let body: Value = serde_json::from_slice(&one.body).unwrap();
    assert!(body.get("stop").is_none(), "{body}");
    // smolagents' CodeAgent.
    let three = accepted(json!({"stop": ["Observation:", "Calling tools:", "</code>"]}));
    assert_eq!(
        three.stop.as_slice(),
        ["Observation:", "Calling tools:", "</code>"]
    );
    assert!(accepted(json!({"stop": []})).stop.is_empty());
    assert!(accepted(json!({"stop": null})).stop.is_empty());
}

#[test]
fn stop_beyond_what_openai_accepts_is_refused_naming_it() {
    assert_refused(
        request(json!({"stop": ["a", "b", "c", "d", "e"]})),
        "invalid_value",
        "stop",
    );
    assert_refused(
        request(json!({"stop": ["a", ""]})),
        "invalid_value",
        "stop[1]",
    );
    assert_refused(request(json!({"stop": ""})), "invalid_value", "stop");
    assert_refused(request(json!({"stop": [1]})), "invalid_type", "stop[0]");
    assert_refused(request(json!({"stop": 1})), "invalid_type", "stop");
    assert_refused(
        request(json!({"stop": "x".repeat(1025)})),
        "invalid_value",
        "stop",
    );
}

#[test]
fn legacy_function_role_is_refused() {
    let rejection = assert_refused(
        conversation(json!([{"role": "function", "name": "f", "content": "1"}])),
        "unsupported_parameter",
        "messages[0].role",
    );
    assert!(rejection.message.contains("tool"), "{rejection:?}");
}

#[test]
fn unknown_or_missing_role_is_refused() {
    assert_refused(
        conversation(json!([{"role": "critic", "content": "x"}])),
        "invalid_value",
        "messages[0].role",
    );
    assert_refused(
        conversation(json!([{"content": "x"}])),
        "missing_required_parameter",
        "messages[0].role",
    );
    assert_refused(
        conversation(json!([{"role": "user", "content": "x", "tool_call_id": "c"}])),
        "unknown_parameter",
        "messages[0].tool_call_id",
    );
}

#[test]
fn echoed_answer_fields_are_accepted_and_not_sent() {
    let body = conversation(json!([
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello", "refusal": null, "annotations": [],
         "reasoning_content": "The user greets.", "audio": null, "function_call": null,
         "tool_calls": null},
    ]));
    assert_eq!(
        upstream(body)["input"],
        json!([hi(), {"type": "message", "role": "assistant", "content": "Hello"}])
    );
}

#[test]
fn assistant_audio_and_legacy_function_call_are_refused() {
    assert_refused(
        conversation(json!([{"role": "assistant", "audio": {"id": "audio_1"}}])),
        "unsupported_parameter",
        "messages[0].audio",
    );
    assert_refused(
        conversation(json!([{"role": "assistant", "content": null,
                             "function_call": {"name": "f", "arguments": "{}"}}])),
        "unsupported_parameter",
        "messages[0].function_call",
    );
}

#[test]
fn escapes_pass_through_unchanged() {
    let body = br#"{"model":"m","messages":[{"role":"user","content":"caf\u00e9 \"q\"\n"}]}"#;
    let out = translate(body, &RequestOptions::default()).unwrap().body;
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(r#""content":"caf\u00e9 \"q\"\n""#), "{text}");
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["input"][0]["content"], "café \"q\"\n");
}
