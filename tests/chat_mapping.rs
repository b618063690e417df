//! One test per row of the Chat mapping (SPEC §4.1) and the SSE input rules it relies on (§3),
//! on small hand-written Responses streams.

mod common;

use common::{frames, transcode};
use responses_transcoder::config::{InvalidEventPolicy, TruncatedPolicy, UsagePlacement};
use responses_transcoder::{Dialect, StreamOptions, Transcoder};
use serde_json::{json, Value};

const CREATED: &str = r#"{"type":"response.created","response":{"id":"resp_1","created_at":1700000000,"model":"gpt-x","status":"in_progress","output":[]}}"#;
const USAGE: &str = r#"{"input_tokens":10,"output_tokens":7,"total_tokens":17,"input_tokens_details":{"cached_tokens":4},"output_tokens_details":{"reasoning_tokens":3}}"#;

fn sse(events: &[&str]) -> Vec<u8> {
    events
        .iter()
        .map(|e| format!("data: {e}\n\n"))
        .collect::<String>()
        .into_bytes()
}

fn completed(output: &str) -> String {
    format!(
        r#"{{"type":"response.completed","response":{{"id":"resp_1","status":"completed","output":{output},"usage":{USAGE}}}}}"#
    )
}

fn incomplete(reason: &str, output: &str) -> String {
    format!(
        r#"{{"type":"response.incomplete","response":{{"id":"resp_1","status":"incomplete","incomplete_details":{reason},"output":{output},"usage":{USAGE}}}}}"#
    )
}

fn text_delta(output_index: u64, delta: &str) -> String {
    format!(
        r#"{{"type":"response.output_text.delta","item_id":"msg_1","output_index":{output_index},"content_index":0,"delta":{}}}"#,
        json!(delta)
    )
}

/// Runs a stream with `options` at every split; returns the frames' data, decoded.
fn run_with(events: &[&str], options: StreamOptions) -> Vec<Value> {
    let input = sse(events);
    let whole = transcode(Dialect::Chat, options, &input, usize::MAX);
    for split in [1, 2, 3, 5, 64] {
        assert_eq!(
            transcode(Dialect::Chat, options, &input, split),
            whole,
            "split {split}"
        );
    }
    frames(&whole)
        .into_iter()
        .map(|(event, data)| {
            assert!(event.is_none(), "chat frames have no event line");
            if data == "[DONE]" {
                Value::String(data)
            } else {
                serde_json::from_str(&data).expect("frame is JSON")
            }
        })
        .collect()
}

fn run(events: &[&str]) -> Vec<Value> {
    run_with(events, StreamOptions::default())
}

fn deltas(frames: &[Value]) -> Vec<Value> {
    frames
        .iter()
        .filter_map(|f| f["choices"][0].get("delta").cloned())
        .collect()
}

fn content(frames: &[Value]) -> String {
    deltas(frames)
        .iter()
        .filter_map(|d| d["content"].as_str().map(str::to_string))
        .collect()
}

fn finish_reasons(frames: &[Value]) -> Vec<Value> {
    frames
        .iter()
        .filter_map(|f| f["choices"][0].get("finish_reason"))
        .filter(|r| !r.is_null())
        .cloned()
        .collect()
}

fn tool_call_parts(frames: &[Value]) -> Vec<Value> {
    deltas(frames)
        .iter()
        .filter_map(|d| d.get("tool_calls"))
        .flat_map(|c| c.as_array().cloned().unwrap())
        .collect()
}

fn error_frame(frames: &[Value]) -> Option<Value> {
    frames.iter().find_map(|f| f.get("error").cloned())
}

fn assert_ends_with_done(frames: &[Value]) {
    assert_eq!(frames.last(), Some(&json!("[DONE]")));
    assert_eq!(frames.iter().filter(|f| **f == json!("[DONE]")).count(), 1);
}

#[test]
fn first_chunk_carries_the_assistant_role_and_every_chunk_the_response_identity() {
    let out = run(&[CREATED, &text_delta(0, "Hi"), &completed("[]")]);
    assert_eq!(
        out[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    for chunk in &out[..out.len() - 1] {
        assert_eq!(chunk["id"], "resp_1");
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["created"], 1700000000);
        assert_eq!(chunk["model"], "gpt-x");
    }
    assert_ends_with_done(&out);
}

#[test]
fn stream_id_falls_back_to_the_first_item_id_and_never_changes() {
    let late_created = CREATED.replace("resp_1", "resp_late");
    let out = run(&[
        &text_delta(0, "a"),
        &late_created,
        &text_delta(0, "b"),
        &completed("[]"),
    ]);
    let ids: Vec<&Value> = out.iter().filter_map(|f| f.get("id")).collect();
    assert!(ids.iter().all(|id| *id == "msg_1"), "{ids:?}");
}

#[test]
fn text_deltas_are_forwarded_verbatim_and_empty_ones_skipped() {
    let out = run(&[
        CREATED,
        &text_delta(0, "caf\u{e9} "),
        &text_delta(0, ""),
        &text_delta(0, "\"quoted\"\n"),
        &completed("[]"),
    ]);
    assert_eq!(content(&out), "caf\u{e9} \"quoted\"\n");
    assert!(deltas(&out)
        .iter()
        .all(|d| d.as_object().is_some_and(|o| !o.is_empty()) || d.is_null() || d == &json!({})));
    assert_eq!(
        deltas(&out)
            .iter()
            .filter(|d| d.get("content").is_some())
            .count(),
        3,
        "role + 2 non-empty deltas"
    );
}

#[test]
fn text_sent_only_in_done_events_is_emitted_exactly_once() {
    let out = run(&[
        CREATED,
        r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"message","id":"msg_1","content":[]}}"#,
        r#"{"type":"response.output_text.done","item_id":"msg_1","output_index":0,"content_index":0,"text":"whole answer"}"#,
        r#"{"type":"response.content_part.done","item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"whole answer"}}"#,
        r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"message","id":"msg_1","content":[{"type":"output_text","text":"whole answer"}]}}"#,
        &completed("[]"),
    ]);
    assert_eq!(content(&out), "whole answer");
}

#[test]
fn done_text_completes_deltas_that_stopped_short() {
    let out = run(&[
        CREATED,
        &text_delta(0, "Got"),
        r#"{"type":"response.output_text.done","item_id":"msg_1","output_index":0,"content_index":0,"text":"Got it."}"#,
        r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"message","content":[{"type":"output_text","text":"Got it."}]}}"#,
        &completed("[]"),
    ]);
    assert_eq!(content(&out), "Got it.");
}

#[test]
fn parts_are_correlated_by_output_index_even_when_item_ids_rotate() {
    let rotated = r#"{"type":"response.output_text.done","item_id":"msg_OTHER","output_index":0,"content_index":0,"text":"ab"}"#;
    let out = run(&[
        CREATED,
        &text_delta(0, "a"),
        &text_delta(0, "b"),
        rotated,
        &completed("[]"),
    ]);
    assert_eq!(content(&out), "ab");
}

#[test]
fn refusal_deltas_map_to_delta_refusal() {
    let out = run(&[
        CREATED,
        r#"{"type":"response.refusal.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"I can't"}"#,
        r#"{"type":"response.refusal.done","item_id":"msg_1","output_index":0,"content_index":0,"refusal":"I can't"}"#,
        &completed("[]"),
    ]);
    let refusals: Vec<Value> = deltas(&out)
        .iter()
        .filter_map(|d| d.get("refusal").cloned())
        .collect();
    assert_eq!(refusals, [json!("I can't")]);
}

const REASONING: [&str; 3] = [
    r#"{"type":"response.reasoning_summary_text.delta","item_id":"rs_1","output_index":0,"summary_index":1,"delta":"Think"}"#,
    r#"{"type":"response.reasoning_text.delta","item_id":"rs_1","output_index":0,"content_index":0,"delta":"ing"}"#,
    r#"{"type":"response.reasoning_summary_text.done","item_id":"rs_1","output_index":0,"summary_index":1,"text":"Think"}"#,
];

#[test]
fn reasoning_maps_to_reasoning_content_on_choice_zero() {
    let out = run(&[
        CREATED,
        REASONING[0],
        REASONING[1],
        REASONING[2],
        &completed("[]"),
    ]);
    let reasoning: String = deltas(&out)
        .iter()
        .filter_map(|d| d["reasoning_content"].as_str().map(str::to_string))
        .collect();
    assert_eq!(reasoning, "Thinking");
    assert!(out
        .iter()
        .filter_map(|f| f["choices"].as_array())
        .flatten()
        .all(|c| c["index"] == 0));
}

#[test]
fn deltas_without_output_index_are_not_sent_again_by_item_done() {
    // Some servers omit output_index on deltas but send it on output_item.done.
    let out = run(&[
        CREATED,
        r#"{"type":"response.output_item.added","output_index":0,"item":{"id":"rs_1","type":"reasoning"}}"#,
        r#"{"type":"response.reasoning_summary_text.delta","item_id":"rs_1","summary_index":0,"delta":"Plan"}"#,
        r#"{"type":"response.output_item.done","output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"Plan"}]}}"#,
        &completed("[]"),
    ]);
    let reasoning: Vec<String> = deltas(&out)
        .iter()
        .filter_map(|d| d["reasoning_content"].as_str().map(str::to_string))
        .collect();
    assert_eq!(reasoning, ["Plan"]);
}

#[test]
fn reasoning_can_be_switched_off() {
    let options = StreamOptions {
        emit_reasoning: false,
        ..StreamOptions::default()
    };
    let out = run_with(
        &[CREATED, REASONING[0], REASONING[1], &completed("[]")],
        options,
    );
    assert!(deltas(&out)
        .iter()
        .all(|d| d.get("reasoning_content").is_none()));
}

fn call_added(output_index: u64, call: &str, name: &str) -> String {
    format!(
        r#"{{"type":"response.output_item.added","output_index":{output_index},"item":{{"type":"function_call","id":"fc_{call}","call_id":"call_{call}","name":"{name}","arguments":""}}}}"#
    )
}

fn args_delta(output_index: u64, call: &str, delta: &str) -> String {
    format!(
        r#"{{"type":"response.function_call_arguments.delta","item_id":"fc_{call}","output_index":{output_index},"delta":{}}}"#,
        json!(delta)
    )
}

fn args_done(output_index: u64, call: &str, arguments: &str) -> String {
    format!(
        r#"{{"type":"response.function_call_arguments.done","item_id":"fc_{call}","output_index":{output_index},"arguments":{}}}"#,
        json!(arguments)
    )
}

fn call_done(output_index: u64, call: &str, name: &str, arguments: &str) -> String {
    format!(
        r#"{{"type":"response.output_item.done","output_index":{output_index},"item":{{"type":"function_call","id":"fc_{call}","call_id":"call_{call}","name":"{name}","arguments":{}}}}}"#,
        json!(arguments)
    )
}

const CALLS_OUTPUT: &str =
    r#"[{"type":"function_call","call_id":"call_a"},{"type":"function_call","call_id":"call_b"}]"#;

#[test]
fn parallel_tool_calls_get_contiguous_indices_from_zero_after_a_reasoning_item() {
    let reasoning_item = r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"reasoning","id":"rs_1"}}"#;
    let out = run(&[
        CREATED,
        reasoning_item,
        &call_added(1, "a", "get_weather"),
        &args_delta(1, "a", "{\"city\":"),
        &args_delta(1, "a", ""),
        &args_delta(1, "a", "\"Rome\"}"),
        &call_done(1, "a", "get_weather", "{\"city\":\"Rome\"}"),
        &call_added(2, "b", "get_time"),
        &args_delta(2, "b", "{}"),
        &call_done(2, "b", "get_time", "{}"),
        &completed(CALLS_OUTPUT),
    ]);
    let parts = tool_call_parts(&out);
    assert_eq!(
        parts[0],
        json!({"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}})
    );
    assert_eq!(
        parts[1],
        json!({"index":0,"function":{"arguments":"{\"city\":"}})
    );
    assert_eq!(
        parts[2],
        json!({"index":0,"function":{"arguments":"\"Rome\"}"}})
    );
    assert_eq!(parts[3]["index"], 1);
    assert_eq!(parts[3]["id"], "call_b");
    assert_eq!(parts[4], json!({"index":1,"function":{"arguments":"{}"}}));
    assert_eq!(
        parts.len(),
        5,
        "no empty or repeated argument deltas: {parts:?}"
    );
    assert_eq!(finish_reasons(&out), [json!("tool_calls")]);
}

#[test]
fn arguments_sent_only_in_done_events_are_emitted_once() {
    let out = run(&[
        CREATED,
        &call_added(0, "a", "f"),
        &call_added(1, "b", "g"),
        &args_done(0, "a", "{\"x\":1}"),
        &args_done(1, "b", "{\"y\":2}"),
        &call_done(0, "a", "f", "{\"x\":1}"),
        &call_done(1, "b", "g", "{\"y\":2}"),
        &completed(CALLS_OUTPUT),
    ]);
    let args: Vec<(Value, Value)> = tool_call_parts(&out)
        .iter()
        .filter(|p| p.get("id").is_none())
        .map(|p| (p["index"].clone(), p["function"]["arguments"].clone()))
        .collect();
    assert_eq!(
        args,
        [
            (json!(0), json!("{\"x\":1}")),
            (json!(1), json!("{\"y\":2}"))
        ]
    );
}

#[test]
fn a_call_seen_only_in_output_item_done_is_announced_with_its_arguments() {
    let out = run(&[
        CREATED,
        &call_done(0, "a", "f", "{}"),
        &completed(CALLS_OUTPUT),
    ]);
    let parts = tool_call_parts(&out);
    assert_eq!(parts[0]["id"], "call_a");
    assert_eq!(parts[1]["function"]["arguments"], "{}");
    assert_eq!(parts.len(), 2);
}

#[test]
fn custom_tool_calls_are_function_tool_calls_with_their_input_as_arguments() {
    let out = run(&[
        CREATED,
        r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"custom_tool_call","id":"ctc_1","call_id":"call_c","name":"exec","input":""}}"#,
        r#"{"type":"response.custom_tool_call_input.delta","item_id":"ctc_1","output_index":0,"delta":"ls -la"}"#,
        r#"{"type":"response.custom_tool_call_input.done","item_id":"ctc_1","output_index":0,"input":"ls -la"}"#,
        &completed(r#"[{"type":"custom_tool_call","call_id":"call_c"}]"#),
    ]);
    let parts = tool_call_parts(&out);
    assert_eq!(parts[0]["function"]["name"], "exec");
    assert_eq!(parts[1]["function"]["arguments"], "ls -la");
    assert_eq!(parts.len(), 2);
    assert_eq!(finish_reasons(&out), [json!("tool_calls")]);
}

#[test]
fn output_item_done_never_carries_a_finish_reason() {
    let out = run(&[
        CREATED,
        &call_added(0, "a", "f"),
        &call_done(0, "a", "f", "{}"),
        &completed(CALLS_OUTPUT),
    ]);
    let with_reason: Vec<usize> = out
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            !f["choices"][0]["finish_reason"].is_null()
                && f.get("choices").is_some()
                && !f["choices"][0].is_null()
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(with_reason.len(), 1);
    let finish = with_reason[0];
    assert_eq!(out[finish]["choices"][0]["delta"], json!({}));
    assert!(
        out[finish + 1]["choices"].as_array().unwrap().is_empty(),
        "usage chunk follows the finish chunk"
    );
}

#[test]
fn completed_without_calls_finishes_with_stop() {
    let out = run(&[CREATED, &text_delta(0, "x"), &completed("[]")]);
    assert_eq!(finish_reasons(&out), [json!("stop")]);
    assert_ends_with_done(&out);
}

#[test]
fn completed_whose_output_has_a_call_finishes_with_tool_calls() {
    let out = run(&[CREATED, &completed(CALLS_OUTPUT)]);
    assert_eq!(finish_reasons(&out), [json!("tool_calls")]);
}

#[test]
fn incomplete_maps_to_length_or_content_filter_and_never_to_stop() {
    let cases = [
        (r#"{"reason":"max_output_tokens"}"#, "length"),
        (r#"{"reason":"content_filter"}"#, "content_filter"),
        (r#"{"reason":"something_new"}"#, "length"),
        ("null", "length"),
    ];
    for (details, expected) in cases {
        let out = run(&[CREATED, &text_delta(0, "cut"), &incomplete(details, "[]")]);
        assert_eq!(finish_reasons(&out), [json!(expected)], "{details}");
        assert!(
            out.iter().any(|f| f.get("usage").is_some()),
            "usage kept on incomplete"
        );
        assert_ends_with_done(&out);
    }
}

#[test]
fn incomplete_overrides_tool_calls_and_forwards_its_details() {
    let out = run(&[
        CREATED,
        &call_added(0, "a", "f"),
        &args_delta(0, "a", "{\"x"),
        &incomplete(r#"{"reason":"max_output_tokens"}"#, CALLS_OUTPUT),
    ]);
    assert_eq!(finish_reasons(&out), [json!("length")]);
    let finish = out
        .iter()
        .find(|f| f["choices"][0]["finish_reason"] == "length")
        .unwrap();
    assert_eq!(
        finish["incomplete_details"],
        json!({"reason":"max_output_tokens"})
    );
}

#[test]
fn response_failed_becomes_an_error_frame_after_usage() {
    let failed = format!(
        r#"{{"type":"response.failed","response":{{"id":"resp_1","status":"failed","error":{{"code":"server_error","message":"The model crashed"}},"usage":{USAGE}}}}}"#
    );
    let out = run(&[CREATED, &text_delta(0, "partial"), &failed]);
    let error = error_frame(&out).expect("error frame");
    assert_eq!(
        error,
        json!({"message":"The model crashed","type":"server_error","code":"server_error","param":null})
    );
    assert!(
        finish_reasons(&out).is_empty(),
        "a failure is never a finish"
    );
    let n = out.len();
    assert!(
        out[n - 2].get("error").is_some() && out[n - 3].get("usage").is_some(),
        "usage, error, [DONE]"
    );
    assert_ends_with_done(&out);
}

#[test]
fn error_events_of_both_shapes_become_error_frames() {
    let top_level = r#"{"type":"error","code":"rate_limit_exceeded","message":"Slow down","param":null,"sequence_number":3}"#;
    let nested = r#"{"type":"error","error":{"type":"invalid_request_error","code":"bad","message":"Nope","param":"input"}}"#;
    let error = error_frame(&run(&[CREATED, top_level])).unwrap();
    assert_eq!(
        (error["code"].clone(), error["message"].clone()),
        (json!("rate_limit_exceeded"), json!("Slow down"))
    );
    let error = error_frame(&run(&[CREATED, nested])).unwrap();
    assert_eq!(
        error,
        json!({"message":"Nope","type":"invalid_request_error","code":"bad","param":"input"})
    );
}

#[test]
fn error_fields_that_are_not_strings_are_not_forwarded() {
    // Found by the `chat` fuzz target: an object as `message` reached the client, whose SDK
    // reads the message as a string.
    let odd = r#"{"type":"error","code":{"n":1},"message":{"type":"x"},"param":7}"#;
    let error = error_frame(&run(&[CREATED, odd])).unwrap();
    assert_eq!(
        error,
        json!({"message":"upstream response failed","type":"server_error","code":null,"param":null})
    );
}

#[test]
fn cancelled_becomes_a_cancelled_error_frame() {
    let out = run(&[
        CREATED,
        r#"{"type":"response.cancelled","response":{"id":"resp_1","status":"cancelled"}}"#,
    ]);
    assert_eq!(error_frame(&out).unwrap()["code"], "cancelled");
    assert_ends_with_done(&out);
}

#[test]
fn eof_or_done_marker_without_terminal_is_reported_as_truncated() {
    for events in [
        vec![
            CREATED,
            "{\"type\":\"response.output_text.delta\",\"delta\":\"x\"}",
        ],
        vec![CREATED, "[DONE]"],
    ] {
        let out = run(&events);
        assert_eq!(error_frame(&out).unwrap()["code"], "stream_truncated");
        assert!(finish_reasons(&out).is_empty());
        assert_ends_with_done(&out);
    }
}

#[test]
fn truncation_can_be_configured_to_finish_with_stop() {
    let options = StreamOptions {
        on_truncated: TruncatedPolicy::Finish,
        ..StreamOptions::default()
    };
    let out = run_with(&[CREATED, &text_delta(0, "x")], options);
    assert_eq!(finish_reasons(&out), [json!("stop")]);
    assert!(error_frame(&out).is_none());
}

#[test]
fn exactly_one_terminal_even_when_the_upstream_sends_more() {
    let out = run(&[
        CREATED,
        &completed("[]"),
        r#"{"type":"error","message":"late"}"#,
        &text_delta(0, "late"),
        "[DONE]",
    ]);
    assert_eq!(finish_reasons(&out), [json!("stop")]);
    assert!(error_frame(&out).is_none());
    assert_eq!(content(&out), "");
    assert_ends_with_done(&out);
}

#[test]
fn usage_maps_cached_and_reasoning_details() {
    let out = run(&[CREATED, &completed("[]")]);
    let usage_chunk = out.iter().find(|f| f.get("usage").is_some()).unwrap();
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(
        usage_chunk["usage"],
        json!({"prompt_tokens":10,"completion_tokens":7,"total_tokens":17,
               "prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":3}})
    );
}

#[test]
fn usage_can_ride_on_the_finish_chunk_or_be_omitted() {
    let on_finish = StreamOptions {
        chat_usage: UsagePlacement::Finish,
        ..StreamOptions::default()
    };
    let out = run_with(&[CREATED, &completed("[]")], on_finish);
    let finish = out
        .iter()
        .find(|f| f["choices"][0]["finish_reason"] == "stop")
        .unwrap();
    assert_eq!(finish["usage"]["total_tokens"], 17);
    assert_eq!(out.iter().filter(|f| f.get("usage").is_some()).count(), 1);
    let omit = StreamOptions {
        chat_usage: UsagePlacement::Omit,
        ..StreamOptions::default()
    };
    assert!(run_with(&[CREATED, &completed("[]")], omit)
        .iter()
        .all(|f| f.get("usage").is_none()));
}

#[test]
fn events_that_carry_nothing_for_the_client_emit_no_chunks() {
    let out = run(&[
        CREATED,
        r#"{"type":"response.in_progress","response":{"id":"resp_1"}}"#,
        r#"{"type":"response.content_part.added","output_index":0,"content_index":0,"part":{"type":"output_text","text":""}}"#,
        r#"{"type":"response.web_search_call.searching","output_index":1}"#,
        r#"{"type":"response.output_text.annotation.added","output_index":0}"#,
        r#"{"type":"response.brand_new_event","x":1}"#,
        &completed("[]"),
    ]);
    // role chunk, finish chunk, usage chunk, [DONE]
    assert_eq!(out.len(), 4, "{out:?}");
}

#[test]
fn invalid_json_is_skipped_and_counted_or_fatal_when_configured() {
    let input = sse(&[CREATED, "{not json", &text_delta(0, "ok"), &completed("[]")]);
    let mut transcoder = Transcoder::new(Dialect::Chat, StreamOptions::default()).unwrap();
    let mut out = Vec::new();
    transcoder.feed(&input, &mut out);
    transcoder.finish(&mut out);
    assert_eq!(transcoder.stats().invalid_events, 1);
    assert!(String::from_utf8(out)
        .unwrap()
        .contains("\"content\":\"ok\""));

    let fatal = StreamOptions {
        invalid_events: InvalidEventPolicy::Error,
        ..StreamOptions::default()
    };
    let out = run_with(&[CREATED, "{not json", &text_delta(0, "ok")], fatal);
    assert_eq!(error_frame(&out).unwrap()["code"], "invalid_event");
    assert_eq!(content(&out), "");
}

#[test]
fn invalid_utf8_in_an_event_is_skipped_like_invalid_json() {
    let mut input = sse(&[CREATED]);
    input.extend_from_slice(
        b"data: {\"type\":\"response.output_text.delta\",\"delta\":\"\xff\"}\n\n",
    );
    input.extend_from_slice(&sse(&[&text_delta(0, "fine"), &completed("[]")]));
    let out = transcode(Dialect::Chat, StreamOptions::default(), &input, 1);
    let text = String::from_utf8(out).expect("output stays UTF-8");
    assert!(text.contains("\"content\":\"fine\"") && text.contains("\"finish_reason\":\"stop\""));
}

#[test]
fn an_event_over_the_cap_ends_the_stream_in_band() {
    let options = StreamOptions {
        max_event_bytes: 256,
        ..StreamOptions::default()
    };
    let big = text_delta(0, &"x".repeat(400));
    let out = run_with(
        &[
            CREATED,
            &text_delta(0, "before"),
            &big,
            &text_delta(0, "after"),
        ],
        options,
    );
    assert_eq!(error_frame(&out).unwrap()["code"], "event_too_large");
    assert_eq!(content(&out), "before");
    assert_ends_with_done(&out);
}

#[test]
fn sse_input_rules_crlf_comments_multiline_data_and_bom() {
    let mut input = vec![0xEF, 0xBB, 0xBF];
    input.extend_from_slice(b": keep-alive\r\nevent: response.created\r\n");
    input.extend_from_slice(format!("data: {CREATED}\r\n\r\n").as_bytes());
    input.extend_from_slice(b"data: {\"type\":\"response.output_text.delta\",\r\ndata: \"output_index\":0,\"delta\":\"multi\"}\r\r");
    input.extend_from_slice(format!("data:{}\n\n", completed("[]")).as_bytes());
    let whole = transcode(Dialect::Chat, StreamOptions::default(), &input, usize::MAX);
    for split in 1..=16 {
        assert_eq!(
            transcode(Dialect::Chat, StreamOptions::default(), &input, split),
            whole
        );
    }
    let text = String::from_utf8(whole).unwrap();
    assert!(text.contains("\"content\":\"multi\""), "{text}");
    assert!(text.contains("\"finish_reason\":\"stop\""));
}
