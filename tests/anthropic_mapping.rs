//! One test per row of the Anthropic stream mapping (SPEC §11): message_start, text / thinking /
//! tool_use blocks, message_delta with the stop reason and usage, and every terminal, including
//! the traps other bridges fell into (first delta swallowed, no terminal at EOF, a failure that
//! looks like a success).

mod common;

use common::{frames, transcode};
use responses_transcoder::config::TruncatedPolicy;
use responses_transcoder::stop::StopSequences;
use responses_transcoder::{Dialect, StreamOptions, Transcoder};
use serde_json::{json, Value};

const CREATED: &str = r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","created_at":1700000000,"model":"gpt-x","status":"in_progress","output":[]}}"#;
const USAGE: &str = r#"{"input_tokens":10,"output_tokens":7,"total_tokens":17,"input_tokens_details":{"cached_tokens":4},"output_tokens_details":{"reasoning_tokens":3}}"#;

fn sse(events: &[&str]) -> Vec<u8> {
    events
        .iter()
        .map(|e| format!("data: {e}\n\n"))
        .collect::<String>()
        .into_bytes()
}

fn terminal(kind: &str, status: &str, extra: &str, output: &str) -> String {
    format!(
        r#"{{"type":"response.{kind}","response":{{"id":"resp_1","status":"{status}"{extra},"output":{output},"usage":{USAGE}}}}}"#
    )
}

fn completed(output: &str) -> String {
    terminal("completed", "completed", "", output)
}

fn text_delta(output_index: u64, delta: &str) -> String {
    format!(
        r#"{{"type":"response.output_text.delta","item_id":"msg_1","output_index":{output_index},"content_index":0,"delta":{}}}"#,
        json!(delta)
    )
}

/// `(event name, JSON)` of every frame, checked identical at several splits and checked that
/// each frame's `type` is its event name.
fn run_with(events: &[&str], options: StreamOptions) -> Vec<(String, Value)> {
    let input = sse(events);
    let whole = transcode(Dialect::Anthropic, options, &input, usize::MAX);
    for split in [1, 3, 7, 64] {
        assert_eq!(
            transcode(Dialect::Anthropic, options, &input, split),
            whole,
            "split {split}"
        );
    }
    common::invariants::check_output(Dialect::Anthropic, &whole).unwrap();
    frames(&whole)
        .into_iter()
        .map(|(event, data)| {
            let event = event.expect("every frame has an event line");
            let value: Value = serde_json::from_str(&data).unwrap();
            assert_eq!(value["type"], event.as_str());
            (event, value)
        })
        .collect()
}

fn run(events: &[&str]) -> Vec<(String, Value)> {
    run_with(events, StreamOptions::default())
}

fn types(frames: &[(String, Value)]) -> Vec<&str> {
    frames.iter().map(|(event, _)| event.as_str()).collect()
}

fn last(frames: &[(String, Value)], event: &str) -> Value {
    frames
        .iter()
        .rev()
        .find(|(e, _)| e == event)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {event} in {:?}", types(frames)))
}

fn deltas(frames: &[(String, Value)]) -> Vec<Value> {
    frames
        .iter()
        .filter(|(e, _)| e == "content_block_delta")
        .map(|(_, v)| v["delta"].clone())
        .collect()
}

#[test]
fn text_stream_is_message_start_one_text_block_and_end_turn() {
    let frames = run(&[
        CREATED,
        &text_delta(0, "Hel"),
        &text_delta(0, "lo"),
        &completed(r#"[{"type":"message","content":[{"type":"output_text","text":"Hello"}]}]"#),
    ]);
    assert_eq!(
        types(&frames),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(
        frames[0].1,
        json!({"type": "message_start", "message": {"id": "resp_1", "type": "message",
            "role": "assistant", "model": "gpt-x", "content": [], "stop_reason": null,
            "stop_sequence": null, "usage": {"input_tokens": 0, "output_tokens": 0}}})
    );
    assert_eq!(
        frames[1].1["content_block"],
        json!({"type": "text", "text": ""})
    );
    assert_eq!(
        deltas(&frames),
        [
            json!({"type": "text_delta", "text": "Hel"}),
            json!({"type": "text_delta", "text": "lo"})
        ]
    );
    assert_eq!(
        last(&frames, "message_delta"),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"input_tokens": 6, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 4, "output_tokens": 7,
                "output_tokens_details": {"thinking_tokens": 3}}})
    );
}

#[test]
fn first_delta_without_created_still_starts_the_message() {
    let frames = run(&[&text_delta(0, "Hi"), &completed("[]")]);
    assert_eq!(frames[0].0, "message_start");
    assert_eq!(frames[0].1["message"]["id"], "msg_1");
    assert_eq!(
        deltas(&frames),
        [json!({"type": "text_delta", "text": "Hi"})]
    );
}

#[test]
fn text_only_in_done_events_is_sent_once() {
    let frames = run(&[
        CREATED,
        r#"{"type":"response.output_text.done","output_index":0,"content_index":0,"text":"Whole"}"#,
        r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"message","content":[{"type":"output_text","text":"Whole"}]}}"#,
        &completed("[]"),
    ]);
    assert_eq!(
        deltas(&frames),
        [json!({"type": "text_delta", "text": "Whole"})]
    );
}

#[test]
fn function_call_is_a_tool_use_block_with_input_json_deltas() {
    let frames = run(&[
        CREATED,
        r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":""}}"#,
        r#"{"type":"response.function_call_arguments.delta","output_index":0,"item_id":"fc_1","delta":"{\"city\":"}"#,
        r#"{"type":"response.function_call_arguments.delta","output_index":0,"item_id":"fc_1","delta":"\"Paris\"}"}"#,
        r#"{"type":"response.function_call_arguments.done","output_index":0,"item_id":"fc_1","arguments":"{\"city\":\"Paris\"}"}"#,
        r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}"#,
        &completed(
            r#"[{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{}"}]"#,
        ),
    ]);
    assert_eq!(
        last(&frames, "content_block_start")["content_block"],
        json!({"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}})
    );
    let json: String = deltas(&frames)
        .iter()
        .map(|d| {
            assert_eq!(d["type"], "input_json_delta");
            d["partial_json"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(json, r#"{"city":"Paris"}"#);
    assert_eq!(
        last(&frames, "message_delta")["delta"]["stop_reason"],
        "tool_use"
    );
}

#[test]
fn parallel_calls_are_sequential_blocks_and_arguments_only_in_done_are_sent_once() {
    let call = |i: u64, id: &str| {
        format!(
            r#"{{"type":"response.output_item.added","output_index":{i},"item":{{"type":"function_call","id":"fc_{id}","call_id":"call_{id}","name":"f","arguments":""}}}}"#
        )
    };
    let done = |i: u64, id: &str, args: &str| {
        format!(
            r#"{{"type":"response.function_call_arguments.done","output_index":{i},"item_id":"fc_{id}","arguments":{}}}"#,
            json!(args)
        )
    };
    let frames = run(&[
        CREATED,
        &call(1, "a"),
        &done(1, "a", "{\"x\":1}"),
        &call(2, "b"),
        &done(2, "b", "{\"x\":2}"),
        &completed("[]"),
    ]);
    let starts: Vec<Value> = frames
        .iter()
        .filter(|(e, _)| e == "content_block_start")
        .map(|(_, v)| json!([v["index"], v["content_block"]["id"]]))
        .collect();
    assert_eq!(starts, [json!([0, "call_a"]), json!([1, "call_b"])]);
    let inputs: Vec<Value> = deltas(&frames)
        .into_iter()
        .map(|d| d["partial_json"].clone())
        .collect();
    assert_eq!(inputs, [json!("{\"x\":1}"), json!("{\"x\":2}")]);
    assert_eq!(
        last(&frames, "message_delta")["delta"]["stop_reason"],
        "tool_use"
    );
}

#[test]
fn custom_tool_input_travels_as_an_input_object() {
    let frames = run(&[
        CREATED,
        r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"custom_tool_call","id":"ct_1","call_id":"call_c","name":"shell","input":""}}"#,
        r#"{"type":"response.custom_tool_call_input.delta","output_index":0,"item_id":"ct_1","delta":"echo \"hi\"\n"}"#,
        r#"{"type":"response.custom_tool_call_input.delta","output_index":0,"item_id":"ct_1","delta":"ls"}"#,
        r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"custom_tool_call","id":"ct_1","call_id":"call_c","name":"shell","input":"echo \"hi\"\nls"}}"#,
        &completed("[]"),
    ]);
    let json: String = deltas(&frames)
        .iter()
        .map(|d| d["partial_json"].as_str().unwrap().to_owned())
        .collect();
    let input: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(input, json!({"input": "echo \"hi\"\nls"}));
}

#[test]
fn custom_tool_without_input_gets_an_empty_input_object() {
    let frames = run(&[
        CREATED,
        r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"custom_tool_call","id":"ct_1","call_id":"call_c","name":"shell"}}"#,
        r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"custom_tool_call","id":"ct_1","call_id":"call_c","name":"shell"}}"#,
        &completed("[]"),
    ]);
    let json: String = deltas(&frames)
        .iter()
        .map(|d| d["partial_json"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&json).unwrap(),
        json!({"input": ""})
    );
}

#[test]
fn reasoning_is_a_thinking_block_with_a_replayable_signature() {
    let frames = run(&[
        CREATED,
        r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"reasoning","id":"rs_1","summary":[]}}"#,
        r#"{"type":"response.reasoning_summary_text.delta","output_index":0,"summary_index":0,"item_id":"rs_1","delta":"Think"}"#,
        r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"Thinking."}],"encrypted_content":"gAAA+/="}}"#,
        &text_delta(1, "4"),
        &completed("[]"),
    ]);
    assert_eq!(
        frames[1].1["content_block"],
        json!({"type": "thinking", "thinking": "", "signature": ""})
    );
    assert_eq!(
        deltas(&frames),
        [
            json!({"type": "thinking_delta", "thinking": "Think"}),
            json!({"type": "thinking_delta", "thinking": "ing."}),
            json!({"type": "signature_delta", "signature": "responses:rs_1:gAAA+/="}),
            json!({"type": "text_delta", "text": "4"}),
        ]
    );
    let starts: Vec<&str> = frames
        .iter()
        .filter(|(e, _)| e == "content_block_start")
        .map(|(_, v)| v["content_block"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(starts, ["thinking", "text"]);
}

#[test]
fn encrypted_reasoning_without_summary_still_gets_a_block_and_reasoning_off_gets_none() {
    let events = [
        CREATED,
        r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"enc"}}"#,
        &text_delta(1, "ok"),
        &completed("[]"),
    ];
    let frames = run(&events);
    assert_eq!(
        deltas(&frames)[0],
        json!({"type": "signature_delta", "signature": "responses:rs_1:enc"})
    );
    let quiet = run_with(
        &events,
        StreamOptions {
            emit_reasoning: false,
            ..StreamOptions::default()
        },
    );
    assert_eq!(
        deltas(&quiet),
        [json!({"type": "text_delta", "text": "ok"})]
    );
}

#[test]
fn incomplete_is_max_tokens_never_end_turn() {
    for extra in [
        r#","incomplete_details":{"reason":"max_output_tokens"}"#,
        r#","incomplete_details":{"reason":"something_new"}"#,
        "",
    ] {
        let frames = run(&[
            CREATED,
            &text_delta(0, "cut"),
            &terminal("incomplete", "incomplete", extra, "[]"),
        ]);
        let end = last(&frames, "message_delta");
        assert_eq!(end["delta"]["stop_reason"], "max_tokens", "{extra}");
        assert_eq!(end["usage"]["output_tokens"], 7);
    }
}

#[test]
fn incomplete_with_calls_is_still_max_tokens() {
    let frames = run(&[
        CREATED,
        r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"function_call","call_id":"c","name":"f"}}"#,
        &terminal(
            "incomplete",
            "incomplete",
            r#","incomplete_details":{"reason":"max_output_tokens"}"#,
            r#"[{"type":"function_call","call_id":"c","name":"f","arguments":"{"}]"#,
        ),
    ]);
    assert_eq!(
        last(&frames, "message_delta")["delta"]["stop_reason"],
        "max_tokens"
    );
}

#[test]
fn content_filter_is_refusal() {
    let frames = run(&[
        CREATED,
        &terminal(
            "incomplete",
            "incomplete",
            r#","incomplete_details":{"reason":"content_filter"}"#,
            "[]",
        ),
    ]);
    assert_eq!(
        last(&frames, "message_delta")["delta"]["stop_reason"],
        "refusal"
    );
}

#[test]
fn failures_end_with_an_error_event_in_anthropics_vocabulary() {
    for (code, kind) in [
        ("server_error", "api_error"),
        ("rate_limit_exceeded", "rate_limit_error"),
        ("server_is_overloaded", "overloaded_error"),
        ("invalid_prompt", "invalid_request_error"),
        ("request_timeout", "timeout_error"),
    ] {
        let failed = format!(
            r#"{{"type":"response.failed","response":{{"id":"resp_1","status":"failed","error":{{"code":"{code}","message":"It broke."}},"output":[]}}}}"#
        );
        let frames = run(&[CREATED, &text_delta(0, "par"), &failed]);
        let (event, end) = frames.last().unwrap();
        assert_eq!(event, "error");
        assert_eq!(
            *end,
            json!({"type": "error", "error": {"type": kind, "message": "It broke."}})
        );
        assert!(!types(&frames).contains(&"message_stop"), "never a success");
    }
}

#[test]
fn error_event_before_anything_is_the_only_event() {
    let frames = run(&[r#"{"type":"error","code":"rate_limit_exceeded","message":"Slow down."}"#]);
    assert_eq!(
        frames,
        [(
            "error".to_owned(),
            json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down."}})
        )]
    );
}

#[test]
fn cancelled_and_truncated_are_errors_unless_configured_to_finish() {
    let cancelled = run(&[CREATED, &terminal("cancelled", "cancelled", "", "[]")]);
    assert_eq!(cancelled.last().unwrap().1["error"]["type"], "api_error");
    let cut = run(&[CREATED, &text_delta(0, "Hi")]);
    let (event, end) = cut.last().unwrap();
    assert_eq!(event, "error");
    assert!(end["error"]["message"]
        .as_str()
        .unwrap()
        .contains("without a terminal event"));
    let finished = run_with(
        &[CREATED, &text_delta(0, "Hi")],
        StreamOptions {
            on_truncated: TruncatedPolicy::Finish,
            ..StreamOptions::default()
        },
    );
    assert_eq!(
        last(&finished, "message_delta"),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"output_tokens": 0}})
    );
}

#[test]
fn event_over_the_cap_ends_with_an_error() {
    let big = text_delta(0, &"x".repeat(4096));
    let frames = run_with(
        &[CREATED, &big],
        StreamOptions {
            max_event_bytes: 1024,
            ..StreamOptions::default()
        },
    );
    let (event, end) = frames.last().unwrap();
    assert_eq!(event, "error");
    assert!(end["error"]["message"]
        .as_str()
        .unwrap()
        .contains("max_event_bytes"));
}

#[test]
fn keepalives_pass_as_comments() {
    let input = sse(&[CREATED, r#"{"type":"keepalive"}"#, &completed("[]")]);
    let out = transcode(Dialect::Anthropic, StreamOptions::default(), &input, 5);
    assert!(String::from_utf8(out)
        .unwrap()
        .contains("\n\n: keepalive\n\n"));
}

/// The frames of `events` with these stop sequences, checked identical at several splits.
fn run_stopped(events: &[&str], stop: &[&str]) -> Vec<(String, Value)> {
    let input = sse(events);
    let stop = StopSequences::new(stop.iter().map(|s| s.to_string()).collect());
    let run = |split: usize| {
        let mut transcoder = Transcoder::new(Dialect::Anthropic, StreamOptions::default())
            .unwrap()
            .with_stop_sequences(&stop);
        let mut out = Vec::new();
        for chunk in input.chunks(split) {
            transcoder.feed(chunk, &mut out);
        }
        transcoder.finish(&mut out);
        out
    };
    let whole = run(input.len());
    for split in [1, 3, 7, 64] {
        assert_eq!(run(split), whole, "split {split}");
    }
    common::invariants::check_output(Dialect::Anthropic, &whole).unwrap();
    frames(&whole)
        .into_iter()
        .map(|(event, data)| (event.unwrap(), serde_json::from_str(&data).unwrap()))
        .collect()
}

#[test]
fn a_stop_sequence_across_deltas_ends_the_message_with_stop_sequence() {
    let frames = run_stopped(
        &[
            CREATED,
            &text_delta(0, "Hello wo"),
            &text_delta(0, "rld. More"),
            &text_delta(0, " text"),
            r#"{"type":"response.output_item.added","output_index":1,"item":{"type":"function_call","call_id":"c","name":"f"}}"#,
            &terminal(
                "incomplete",
                "incomplete",
                r#","incomplete_details":{"reason":"max_output_tokens"}"#,
                "[]",
            ),
        ],
        &["world", "xyz"],
    );
    let text: String = deltas(&frames)
        .iter()
        .map(|d| d["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "Hello ");
    assert_eq!(
        last(&frames, "message_delta"),
        json!({"type": "message_delta", "delta": {"stop_reason": "stop_sequence", "stop_sequence": "world"},
            "usage": {"input_tokens": 6, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 4, "output_tokens": 7,
                "output_tokens_details": {"thinking_tokens": 3}}})
    );
    let starts = frames
        .iter()
        .filter(|(e, _)| e == "content_block_start")
        .count();
    assert_eq!(starts, 1, "nothing after the stop");
}

#[test]
fn held_text_is_flushed_when_no_stop_sequence_completes() {
    let frames = run_stopped(
        &[
            CREATED,
            &text_delta(0, "Hello wor"),
            r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"message","content":[{"type":"output_text","text":"Hello wor"}]}}"#,
            &completed("[]"),
        ],
        &["world"],
    );
    let text: String = deltas(&frames)
        .iter()
        .map(|d| d["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "Hello wor");
    assert_eq!(
        last(&frames, "message_delta")["delta"],
        json!({"stop_reason": "end_turn", "stop_sequence": null})
    );
}
