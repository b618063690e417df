//! Anthropic Messages requests → Responses requests (`anthropic::request::translate`): one test
//! per mapped field and per refused field, on the exact output JSON and on the rejection's
//! status, code and param.

use responses_transcoder::anthropic::request::{effort_of_budget, translate, UNSUPPORTED_FIELDS};
use responses_transcoder::request::{Rejection, RequestOptions, Translated};
use responses_transcoder::{error_body, Config, Dialect};
use serde_json::{json, Value};

fn translate_with(body: &Value, options: &RequestOptions) -> Result<Translated, Rejection> {
    translate(body.to_string().as_bytes(), options)
}

fn upstream_with(body: Value, options: &RequestOptions) -> Value {
    let translated =
        translate_with(&body, options).unwrap_or_else(|r| panic!("refused {body}: {r:?}"));
    serde_json::from_slice(&translated.body).expect("upstream body is JSON")
}

/// The upstream body for `body` (which must translate).
fn upstream(body: Value) -> Value {
    upstream_with(body, &RequestOptions::default())
}

fn assert_refused_with(
    body: Value,
    options: &RequestOptions,
    code: &str,
    param: &str,
) -> Rejection {
    let rejection = match translate_with(&body, options) {
        Ok(t) => panic!("accepted {body}: {}", String::from_utf8_lossy(&t.body)),
        Err(rejection) => rejection,
    };
    assert_eq!(rejection.status, 400, "{rejection:?}");
    assert_eq!(rejection.code, code, "{rejection:?}");
    assert_eq!(rejection.param.as_deref(), Some(param), "{rejection:?}");
    assert!(
        rejection.message.contains(&format!("'{param}'")),
        "message names the field: {rejection:?}"
    );
    rejection
}

fn assert_refused(body: Value, code: &str, param: &str) -> Rejection {
    assert_refused_with(body, &RequestOptions::default(), code, param)
}

fn dropping(fields: &[&str]) -> RequestOptions {
    RequestOptions {
        drop_unsupported_fields: fields.iter().map(|f| f.to_string()).collect(),
        ..RequestOptions::default()
    }
}

/// A minimal request with `extra` fields added.
fn request(extra: Value) -> Value {
    let mut body = json!({"model": "gpt-x", "max_tokens": 256,
        "messages": [{"role": "user", "content": "Hi"}]});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

/// A request with these messages.
fn conversation(messages: Value) -> Value {
    request(json!({ "messages": messages }))
}

/// The input items of a request with these messages.
fn input(messages: Value) -> Value {
    upstream(conversation(messages))["input"].clone()
}

/// The input items of one user message with these content blocks.
fn user_blocks(blocks: Value) -> Value {
    input(json!([{"role": "user", "content": blocks}]))
}

#[test]
fn minimal_request() {
    let translated = translate_with(&request(json!({})), &RequestOptions::default()).unwrap();
    assert!(!translated.stream);
    assert_eq!(
        serde_json::from_slice::<Value>(&translated.body).unwrap(),
        json!({"model": "gpt-x", "max_output_tokens": 256,
            "input": [{"type": "message", "role": "user", "content": "Hi"}]})
    );
}

#[test]
fn required_fields() {
    for field in ["model", "max_tokens", "messages"] {
        let mut body = request(json!({}));
        body.as_object_mut().unwrap().remove(field);
        let rejection = translate_with(&body, &RequestOptions::default()).unwrap_err();
        assert_eq!(rejection.code, "missing_required_parameter");
        assert_eq!(rejection.param.as_deref(), Some(field));
    }
    assert_refused(
        request(json!({"max_tokens": 8})),
        "invalid_value",
        "max_tokens",
    );
    assert_refused(
        request(json!({"max_tokens": -1})),
        "invalid_type",
        "max_tokens",
    );
    assert_refused(
        request(json!({"messages": []})),
        "invalid_value",
        "messages",
    );
    assert_refused(request(json!({"model": 1})), "invalid_type", "model");
}

#[test]
fn stream_is_carried_only_when_true() {
    let translated = translate_with(
        &request(json!({"stream": true})),
        &RequestOptions::default(),
    )
    .unwrap();
    assert!(translated.stream);
    let body: Value = serde_json::from_slice(&translated.body).unwrap();
    assert_eq!(body["stream"], true);
    assert!(upstream(request(json!({"stream": false})))
        .get("stream")
        .is_none());
}

#[test]
fn system_string_is_instructions_and_blocks_are_a_system_message_first() {
    assert_eq!(
        upstream(request(json!({"system": "Be brief."})))["instructions"],
        "Be brief."
    );
    let body = upstream(request(json!({"system": [
        {"type": "text", "text": "One.", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Two."}]})));
    assert_eq!(
        body["input"],
        json!([
            {"type": "message", "role": "system", "content": [
                {"type": "input_text", "text": "One."}, {"type": "input_text", "text": "Two."}]},
            {"type": "message", "role": "user", "content": "Hi"}
        ])
    );
    assert_refused(
        request(json!({"system": [{"type": "image", "source": {}}]})),
        "invalid_value",
        "system[0].type",
    );
}

#[test]
fn sampling_metadata_and_service_tier() {
    let body = upstream(request(json!({"temperature": 0.5, "top_p": 0.9,
        "metadata": {"user_id": "user-1"}, "service_tier": "standard_only"})));
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["top_p"], 0.9);
    assert_eq!(body["safety_identifier"], "user-1");
    assert_eq!(body["service_tier"], "default");
    assert_eq!(
        upstream(request(json!({"service_tier": "auto"})))["service_tier"],
        "auto"
    );
    assert_refused(
        request(json!({"temperature": 1.5})),
        "invalid_value",
        "temperature",
    );
    assert_refused(
        request(json!({"metadata": {"team": "a"}})),
        "unknown_parameter",
        "metadata.team",
    );
    assert!(upstream(request(json!({"metadata": {"user_id": null}})))
        .get("safety_identifier")
        .is_none());
}

#[test]
fn tools_become_function_tools() {
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}});
    let body = upstream(request(json!({"tools": [
        {"name": "get_weather", "description": "Weather.", "input_schema": schema,
         "cache_control": {"type": "ephemeral", "ttl": "1h"}, "eager_input_streaming": true},
        {"type": "custom", "name": "strict_one", "input_schema": schema, "strict": true,
         "defer_loading": false, "allowed_callers": ["direct"]}]})));
    assert_eq!(
        body["tools"],
        json!([
            {"type": "function", "name": "get_weather", "description": "Weather.",
             "parameters": schema, "strict": false},
            {"type": "function", "name": "strict_one", "parameters": schema, "strict": true}
        ])
    );
}

#[test]
fn tools_without_an_equivalent_are_refused() {
    let schema = json!({"type": "object"});
    assert_refused(
        request(json!({"tools": [{"type": "bash_20250124", "name": "bash"}]})),
        "unsupported_parameter",
        "tools[0].type",
    );
    assert_refused(
        request(json!({"tools": [{"name": "f", "input_schema": schema, "defer_loading": true}]})),
        "unsupported_parameter",
        "tools[0].defer_loading",
    );
    assert_refused(
        request(json!({"tools": [{"name": "f", "input_schema": schema,
            "allowed_callers": ["code_execution_20250825"]}]})),
        "unsupported_parameter",
        "tools[0].allowed_callers[0]",
    );
    let examples = request(json!({"tools": [{"name": "f", "input_schema": schema,
        "input_examples": [{"a": 1}]}]}));
    assert_refused(
        examples.clone(),
        "unsupported_parameter",
        "tools[0].input_examples",
    );
    let body = upstream_with(examples, &dropping(&["tools[].input_examples"]));
    assert!(body["tools"][0].get("input_examples").is_none());
    assert_refused(
        request(json!({"tools": [{"name": "f"}]})),
        "missing_required_parameter",
        "tools[0].input_schema",
    );
    assert_refused(
        request(json!({"tools": [{"name": "f", "input_schema": schema, "color": 1}]})),
        "unknown_parameter",
        "tools[0].color",
    );
}

#[test]
fn tool_choice_each_kind() {
    for (choice, expected) in [
        (json!({"type": "auto"}), json!("auto")),
        (json!({"type": "any"}), json!("required")),
        (json!({"type": "none"}), json!("none")),
        (
            json!({"type": "tool", "name": "get_weather"}),
            json!({"type": "function", "name": "get_weather"}),
        ),
    ] {
        let body = upstream(request(json!({ "tool_choice": choice })));
        assert_eq!(body["tool_choice"], expected);
        assert!(body.get("parallel_tool_calls").is_none());
    }
    let body = upstream(request(
        json!({"tool_choice": {"type": "any", "disable_parallel_tool_use": true}}),
    ));
    assert_eq!(body["parallel_tool_calls"], false);
    let body = upstream(request(
        json!({"tool_choice": {"type": "auto", "disable_parallel_tool_use": false}}),
    ));
    assert!(body.get("parallel_tool_calls").is_none());
    assert_refused(
        request(json!({"tool_choice": {"type": "none", "disable_parallel_tool_use": true}})),
        "unknown_parameter",
        "tool_choice.disable_parallel_tool_use",
    );
    assert_refused(
        request(json!({"tool_choice": {"type": "tool"}})),
        "missing_required_parameter",
        "tool_choice.name",
    );
    assert_refused(
        request(json!({"tool_choice": {"type": "required"}})),
        "invalid_value",
        "tool_choice.type",
    );
}

#[test]
fn thinking_budget_becomes_an_effort() {
    assert_eq!(effort_of_budget(1023), None);
    assert_eq!(effort_of_budget(1024), Some("low"));
    assert_eq!(effort_of_budget(4000), Some("low"));
    assert_eq!(effort_of_budget(10000), Some("medium"));
    assert_eq!(effort_of_budget(23999), Some("medium"));
    assert_eq!(effort_of_budget(31999), Some("high"));
    let body = upstream(request(
        json!({"thinking": {"type": "enabled", "budget_tokens": 10000}}),
    ));
    assert_eq!(
        body["reasoning"],
        json!({"effort": "medium", "summary": "auto"})
    );
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    let body = upstream(request(
        json!({"thinking": {"type": "enabled", "budget_tokens": 2048, "display": "omitted"}}),
    ));
    assert_eq!(body["reasoning"], json!({"effort": "low"}));
    let body = upstream(request(json!({"thinking": {"type": "adaptive"}})));
    assert_eq!(body["reasoning"], json!({"summary": "auto"}));
    let body = upstream(request(json!({"thinking": {"type": "disabled"}})));
    assert!(body.get("reasoning").is_none() && body.get("include").is_none());
    assert_refused(
        request(json!({"thinking": {"type": "enabled", "budget_tokens": 512}})),
        "invalid_value",
        "thinking.budget_tokens",
    );
    assert_refused(
        request(json!({"thinking": {"type": "enabled"}})),
        "missing_required_parameter",
        "thinking.budget_tokens",
    );
}

#[test]
fn output_config_effort_and_format() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}},
        "required": ["a"], "additionalProperties": false});
    let body = upstream(request(json!({
        "thinking": {"type": "enabled", "budget_tokens": 30000},
        "output_config": {"effort": "low", "format": {"type": "json_schema", "schema": schema}}})));
    assert_eq!(
        body["reasoning"]["effort"], "low",
        "output_config.effort wins"
    );
    assert_eq!(
        body["text"],
        json!({"format": {"type": "json_schema", "name": "output", "schema": schema, "strict": true}})
    );
    assert_refused(
        request(json!({"output_config": {"effort": "max"}})),
        "unsupported_parameter",
        "output_config.effort",
    );
    assert_refused(
        request(json!({"output_config": {"format": {"type": "xml"}}})),
        "invalid_value",
        "output_config.format.type",
    );
}

#[test]
fn cache_control_is_checked_and_not_sent() {
    let body = upstream(request(json!({"cache_control": {"type": "ephemeral"}})));
    assert!(!body.to_string().contains("cache_control"));
    assert_refused(
        request(json!({"cache_control": {"type": "forever"}})),
        "invalid_value",
        "cache_control.type",
    );
    let body = user_blocks(json!([{"type": "text", "text": "x",
        "cache_control": {"type": "ephemeral", "ttl": "5m"}}]));
    assert_eq!(
        body,
        json!([{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}])
    );
}

#[test]
fn unsupported_fields_are_refused_or_dropped() {
    for (field, value) in [
        ("top_k", json!(5)),
        ("container", json!("c_1")),
        ("context_management", json!({"edits": []})),
        (
            "mcp_servers",
            json!([{"type": "url", "url": "https://x", "name": "x"}]),
        ),
        ("diagnostics", json!({"previous_message_id": "m"})),
        ("inference_geo", json!("us")),
        ("speed", json!("fast")),
    ] {
        let body = request(json!({ field: value }));
        let rejection = assert_refused(body.clone(), "unsupported_parameter", field);
        let error: Value =
            serde_json::from_slice(&error_body::rejection(Dialect::Anthropic, &rejection)).unwrap();
        assert_eq!(error["type"], "error");
        assert_eq!(error["error"]["type"], "invalid_request_error");
        assert!(error["error"]["message"].as_str().unwrap().contains(field));
        let dropped = upstream_with(body, &dropping(&[field]));
        assert!(dropped.get(field).is_none(), "{field}");
    }
    for (field, neutral) in [
        ("mcp_servers", json!([])),
        ("speed", json!("standard")),
        ("top_k", json!(null)),
    ] {
        upstream(request(json!({ field: neutral })));
    }
    assert_refused(
        request(json!({"color": "red"})),
        "unknown_parameter",
        "color",
    );
    assert_refused(
        request(json!({"color": null})),
        "unknown_parameter",
        "color",
    );
}

#[test]
fn every_unsupported_field_is_a_valid_drop_name() {
    for field in UNSUPPORTED_FIELDS {
        let config = format!(r#"{{"drop_unsupported_fields":["{field}"]}}"#);
        Config::parse(config.as_bytes()).unwrap_or_else(|e| panic!("{field}: {e}"));
    }
}

#[test]
fn user_blocks_text_images_and_documents() {
    let items = user_blocks(json!([
        {"type": "text", "text": "Look:"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
        {"type": "image", "source": {"type": "url", "url": "https://x/cat.png"}},
        {"type": "document", "title": "report.pdf",
         "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"},
         "citations": {"enabled": false}},
        {"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain"}}
    ]));
    assert_eq!(
        items,
        json!([{"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "Look:"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "auto"},
            {"type": "input_image", "image_url": "https://x/cat.png", "detail": "auto"},
            {"type": "input_file", "filename": "report.pdf", "file_data": "data:application/pdf;base64,JVBER"},
            {"type": "input_file", "filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBER"},
            {"type": "input_file", "file_url": "https://x/a.pdf"},
            {"type": "input_text", "text": "plain"}
        ]}])
    );
}

#[test]
fn user_blocks_without_an_equivalent_are_refused() {
    let one = |block: Value| conversation(json!([{"role": "user", "content": [block]}]));
    assert_refused(
        one(json!({"type": "image", "source": {"type": "file", "file_id": "file_1"}})),
        "unsupported_parameter",
        "messages[0].content[0].source.type",
    );
    assert_refused(
        one(
            json!({"type": "document", "source": {"type": "url", "url": "https://x"},
            "citations": {"enabled": true}}),
        ),
        "unsupported_parameter",
        "messages[0].content[0].citations.enabled",
    );
    assert_refused(
        one(
            json!({"type": "document", "source": {"type": "url", "url": "https://x"},
            "context": "c"}),
        ),
        "unsupported_parameter",
        "messages[0].content[0].context",
    );
    assert_refused(
        one(
            json!({"type": "document", "source": {"type": "url", "url": "https://x"},
            "title": "t"}),
        ),
        "unsupported_parameter",
        "messages[0].content[0].title",
    );
    assert_refused(
        one(json!({"type": "document", "source": {"type": "content", "content": "x"}})),
        "unsupported_parameter",
        "messages[0].content[0].source.type",
    );
    assert_refused(
        one(json!({"type": "text", "text": "x", "citations": [{"type": "char_location"}]})),
        "unsupported_parameter",
        "messages[0].content[0].citations",
    );
    assert_refused(
        one(json!({"type": "search_result"})),
        "invalid_value",
        "messages[0].content[0].type",
    );
    assert_refused(
        conversation(json!([{"role": "system", "content": "x"}])),
        "invalid_value",
        "messages[0].role",
    );
    assert_refused(
        conversation(json!([{"role": "user", "content": "x", "name": "bob"}])),
        "unknown_parameter",
        "messages[0].name",
    );
}

#[test]
fn tool_round_trip_keeps_ids_and_order() {
    let items = input(json!([
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris", "n": [1, 2]}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "21 C"},
            {"type": "tool_result", "tool_use_id": "toolu_2",
             "content": [{"type": "text", "text": "18 C"}], "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Thanks"}]}
    ]));
    assert_eq!(
        items,
        json!([
            {"type": "message", "role": "user", "content": "Weather?"},
            {"type": "message", "role": "assistant", "content": [
                {"type": "output_text", "text": "Checking.", "annotations": []}]},
            {"type": "function_call", "call_id": "toolu_1", "name": "get_weather",
             "arguments": "{\"city\":\"Paris\",\"n\":[1,2]}"},
            {"type": "function_call", "call_id": "toolu_2", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "toolu_1", "output": "21 C"},
            {"type": "function_call_output", "call_id": "toolu_2",
             "output": [{"type": "input_text", "text": "18 C"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Thanks"}]}
        ])
    );
}

#[test]
fn tool_result_is_error_is_said_in_the_output() {
    let result = |content: Value| {
        input(json!([
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
                "is_error": true, "content": content}]}
        ]))[1]["output"]
            .clone()
    };
    assert_eq!(result(json!("No such file")), json!("Error: No such file"));
    assert_eq!(
        result(json!([{"type": "text", "text": "No such file"}])),
        json!([{"type": "input_text", "text": "Error:"}, {"type": "input_text", "text": "No such file"}])
    );
    let items = input(json!([
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "is_error": false}]}
    ]));
    assert_eq!(items[1]["output"], "");
    assert_refused(
        conversation(json!([{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t", "is_error": "yes"}]}])),
        "invalid_type",
        "messages[0].content[0].is_error",
    );
    assert_refused(
        conversation(json!([{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "tool_use"}]}]}])),
        "invalid_value",
        "messages[0].content[0].content[0].type",
    );
}

#[test]
fn signed_thinking_replays_as_a_reasoning_item() {
    let items = input(json!([
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Easy.", "signature": "responses:rs_1:gAAA+/="},
            {"type": "thinking", "thinking": "", "signature": "responses:rs_2:"},
            {"type": "text", "text": "4"}]},
        {"role": "user", "content": "Thanks"}
    ]));
    assert_eq!(
        items[1],
        json!({"type": "reasoning", "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "Easy."}], "encrypted_content": "gAAA+/="})
    );
    assert_eq!(
        items[2],
        json!({"type": "reasoning", "id": "rs_2", "summary": []})
    );
    assert_eq!(items[3]["role"], "assistant");
}

#[test]
fn foreign_and_redacted_thinking_are_refused_or_dropped() {
    let body = conversation(json!([
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Hmm.", "signature": "EqQBCkgIARABGAIi"},
            {"type": "redacted_thinking", "data": "EmwKAhgB"},
            {"type": "text", "text": "Hello"}]},
        {"role": "user", "content": "Again"}
    ]));
    assert_refused(
        body.clone(),
        "unsupported_parameter",
        "messages[1].content[0].signature",
    );
    let options = dropping(&["messages[].content[].thinking"]);
    let items = upstream_with(body, &options)["input"].clone();
    assert_eq!(items.as_array().unwrap().len(), 3);
    assert_eq!(items[1]["role"], "assistant");
    let redacted = conversation(json!([
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "x"}]},
        {"role": "user", "content": "Again"}
    ]));
    assert_refused(redacted, "unsupported_parameter", "messages[1].content[0]");
}

#[test]
fn assistant_prefill_is_refused() {
    assert_refused(
        conversation(json!([
            {"role": "user", "content": "Name a color"},
            {"role": "assistant", "content": "The color is"}
        ])),
        "unsupported_parameter",
        "messages[1]",
    );
}

#[test]
fn assistant_blocks_without_an_equivalent_are_refused() {
    assert_refused(
        conversation(json!([
            {"role": "assistant", "content": [{"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}]},
            {"role": "user", "content": "ok"}
        ])),
        "invalid_value",
        "messages[0].content[0].type",
    );
    assert_refused(
        conversation(json!([
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": "x"}]},
            {"role": "user", "content": "ok"}
        ])),
        "invalid_type",
        "messages[0].content[0].input",
    );
}

#[test]
fn malformed_bodies_are_refused() {
    assert_eq!(
        translate(b"{", &RequestOptions::default())
            .unwrap_err()
            .code,
        "invalid_json"
    );
    assert_eq!(
        translate(br#"{"model":"m","model":"n"}"#, &RequestOptions::default())
            .unwrap_err()
            .param
            .as_deref(),
        Some("model")
    );
}

#[test]
fn stop_sequences_are_honoured_by_the_gateway_not_sent() {
    let translated = translate_with(
        &request(json!({"stop_sequences": ["\n\nHuman:", "END"]})),
        &RequestOptions::default(),
    )
    .unwrap();
    assert_eq!(translated.stop.as_slice(), ["\n\nHuman:", "END"]);
    let body: Value = serde_json::from_slice(&translated.body).unwrap();
    assert!(body.get("stop_sequences").is_none() && body.get("stop").is_none());
    let none = translate_with(
        &request(json!({"stop_sequences": []})),
        &RequestOptions::default(),
    )
    .unwrap();
    assert!(none.stop.is_empty());
    assert_refused(
        request(json!({"stop_sequences": [""]})),
        "invalid_value",
        "stop_sequences[0]",
    );
    assert_refused(
        request(json!({"stop_sequences": "END"})),
        "invalid_type",
        "stop_sequences",
    );
    let many: Vec<String> = (0..17).map(|i| format!("s{i}")).collect();
    assert_refused(
        request(json!({ "stop_sequences": many })),
        "invalid_value",
        "stop_sequences",
    );
    let refused = Config::parse(br#"{"drop_unsupported_fields":["stop_sequences"]}"#).unwrap_err();
    assert!(refused.contains("honours stop sequences"), "{refused}");
}
