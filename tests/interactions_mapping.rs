//! One test per row of the Interactions mapping (SPEC §4.2), including the traps other bridges
//! fell into (first delta swallowed, no terminal at EOF, terminal id differing, double terminal).

mod common;

use common::{frames, transcode};
use responses_transcoder::config::TruncatedPolicy;
use responses_transcoder::{Dialect, StreamOptions};
use serde_json::{json, Value};

const CREATED: &str = r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","created_at":1700000000,"model":"gpt-x","status":"in_progress","output":[]}}"#;
const USAGE: &str = r#"{"input_tokens":10,"output_tokens":7,"total_tokens":17,"input_tokens_details":{"cached_tokens":4},"output_tokens_details":{"reasoning_tokens":3}}"#;

fn sse(events: &[&str]) -> Vec<u8> {
    events
        .iter()
        .map(|e| format!("event: ignored\ndata: {e}\n\n"))
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

/// `(event line, JSON)` of every frame, checked identical at several splits; the raw data lines
/// come back too, for byte-layout checks.
fn run_with(events: &[&str], options: StreamOptions) -> (Vec<(String, Value)>, Vec<String>) {
    let input = sse(events);
    let whole = transcode(Dialect::Interactions, options, &input, usize::MAX);
    for split in [1, 3, 7, 64] {
        assert_eq!(
            transcode(Dialect::Interactions, options, &input, split),
            whole,
            "split {split}"
        );
    }
    let frames = frames(&whole);
    let raw = frames.iter().map(|(_, data)| data.clone()).collect();
    let parsed = frames
        .into_iter()
        .map(|(event, data)| {
            let event = event.expect("every frame has an event line");
            let value = if data == "[DONE]" {
                json!("[DONE]")
            } else {
                serde_json::from_str(&data).unwrap()
            };
            (event, value)
        })
        .collect();
    (parsed, raw)
}

fn run(events: &[&str]) -> Vec<(String, Value)> {
    run_with(events, StreamOptions::default()).0
}

fn types(frames: &[(String, Value)]) -> Vec<&str> {
    frames.iter().map(|(event, _)| event.as_str()).collect()
}

fn of_type<'a>(frames: &'a [(String, Value)], event_type: &str) -> Vec<&'a Value> {
    frames
        .iter()
        .filter(|(e, _)| e == event_type)
        .map(|(_, v)| v)
        .collect()
}

fn terminal_frame(frames: &[(String, Value)]) -> &Value {
    let n = frames.len();
    assert_eq!(frames[n - 1], ("done".to_string(), json!("[DONE]")));
    let terminals: Vec<&(String, Value)> = frames
        .iter()
        .filter(|(e, _)| e == "interaction.completed" || e == "error")
        .collect();
    assert_eq!(terminals.len(), 1, "exactly one terminal event: {frames:?}");
    assert_eq!(
        terminals[0],
        &frames[n - 2],
        "the terminal event comes just before done"
    );
    &frames[n - 2].1
}

#[test]
fn stream_opens_with_created_and_status_update_in_googles_byte_layout() {
    let (frames, raw) = run_with(
        &[CREATED, &text_delta(0, "Hi"), &completed("[]")],
        StreamOptions::default(),
    );
    assert_eq!(
        types(&frames)[..2],
        ["interaction.created", "interaction.status_update"]
    );
    assert_eq!(
        raw[0],
        r#"{"interaction":{"id":"resp_1","status":"in_progress","object":"interaction","model":"gpt-x"},"event_id":"0","event_type":"interaction.created"}"#
    );
    assert_eq!(
        raw[1],
        r#"{"interaction_id":"resp_1","status":"in_progress","event_id":"0","event_type":"interaction.status_update"}"#
    );
    for data in &raw[..raw.len() - 1] {
        assert!(
            !data.contains(": ") && !data.contains('\n'),
            "compact JSON: {data}"
        );
        assert!(
            data.ends_with("\"}") && data.contains(",\"event_type\":\""),
            "event_type last: {data}"
        );
    }
    let text_delta = raw
        .iter()
        .find(|d| d.contains("\"type\":\"text\""))
        .unwrap();
    assert!(
        text_delta.contains(r#""delta":{"text":"Hi","type":"text"}"#),
        "type last inside a delta: {text_delta}"
    );
}

#[test]
fn first_text_delta_yields_created_step_start_and_the_delta_itself() {
    let frames = run(&[
        &text_delta(0, "first"),
        &text_delta(0, " second"),
        &completed("[]"),
    ]);
    assert_eq!(
        types(&frames),
        [
            "interaction.created",
            "interaction.status_update",
            "step.start",
            "step.delta",
            "step.delta",
            "step.stop",
            "interaction.completed",
            "done"
        ]
    );
    assert_eq!(
        frames[3].1["delta"],
        json!({"text": "first", "type": "text"})
    );
    assert_eq!(frames[2].1["step"], json!({"type": "model_output"}));
}

#[test]
fn reasoning_becomes_a_thought_step_with_summary_and_signature_deltas() {
    let frames = run(&[
        CREATED,
        r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"reasoning","id":"rs_1","summary":[]}}"#,
        r#"{"type":"response.reasoning_summary_text.delta","item_id":"rs_1","output_index":0,"summary_index":0,"delta":"Plan"}"#,
        r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"Plan"}],"encrypted_content":"gAAA"}}"#,
        r#"{"type":"response.output_item.added","output_index":1,"item":{"type":"message","id":"msg_1","content":[]}}"#,
        &text_delta(1, "Answer"),
        &completed("[]"),
    ]);
    let starts = of_type(&frames, "step.start");
    assert_eq!(starts[0]["step"], json!({"type": "thought"}));
    assert_eq!(
        (starts[0]["index"].clone(), starts[1]["index"].clone()),
        (json!(0), json!(1))
    );
    let deltas = of_type(&frames, "step.delta");
    assert_eq!(
        deltas[0]["delta"],
        json!({"content": {"text": "Plan", "type": "text"}, "type": "thought_summary"})
    );
    assert_eq!(
        deltas[1]["delta"],
        json!({"signature": "gAAA", "type": "thought_signature"})
    );
    assert_eq!(deltas[2]["index"], 1);
    let stops: Vec<Value> = of_type(&frames, "step.stop")
        .iter()
        .map(|v| v["index"].clone())
        .collect();
    assert_eq!(stops, [json!(0), json!(1)]);
}

#[test]
fn function_calls_become_function_call_steps_and_require_action() {
    let frames = run(&[
        CREATED,
        r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":""}}"#,
        r#"{"type":"response.function_call_arguments.delta","item_id":"fc_1","output_index":0,"delta":"{\"city\":"}"#,
        r#"{"type":"response.function_call_arguments.delta","item_id":"fc_1","output_index":0,"delta":"\"Rome\"}"}"#,
        r#"{"type":"response.function_call_arguments.done","item_id":"fc_1","output_index":0,"arguments":"{\"city\":\"Rome\"}"}"#,
        r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}"#,
        r#"{"type":"response.output_item.added","output_index":1,"item":{"type":"function_call","id":"fc_2","call_id":"call_2","name":"get_time","arguments":""}}"#,
        r#"{"type":"response.function_call_arguments.done","item_id":"fc_2","output_index":1,"arguments":"{}"}"#,
        r#"{"type":"response.output_item.done","output_index":1,"item":{"type":"function_call","id":"fc_2","call_id":"call_2","name":"get_time","arguments":"{}"}}"#,
        &completed(r#"[{"type":"function_call"},{"type":"function_call"}]"#),
    ]);
    let starts = of_type(&frames, "step.start");
    assert_eq!(
        starts[0]["step"],
        json!({"type":"function_call","id":"call_1","name":"get_weather","arguments":{}})
    );
    assert_eq!(starts[1]["step"]["id"], "call_2");
    let args: Vec<(Value, Value)> = of_type(&frames, "step.delta")
        .iter()
        .map(|d| (d["index"].clone(), d["delta"].clone()))
        .collect();
    assert_eq!(
        args,
        [
            (
                json!(0),
                json!({"arguments":"{\"city\":","type":"arguments_delta"})
            ),
            (
                json!(0),
                json!({"arguments":"\"Rome\"}","type":"arguments_delta"})
            ),
            (json!(1), json!({"arguments":"{}","type":"arguments_delta"})),
        ]
    );
    assert_eq!(
        terminal_frame(&frames)["interaction"]["status"],
        "requires_action"
    );
}

#[test]
fn completed_carries_usage_with_thought_tokens_split_out() {
    let frames = run(&[CREATED, &text_delta(0, "x"), &completed("[]")]);
    let interaction = &terminal_frame(&frames)["interaction"];
    assert_eq!(interaction["status"], "completed");
    assert_eq!(interaction["id"], "resp_1");
    assert_eq!(
        interaction["usage"],
        json!({"total_input_tokens":10,"total_cached_tokens":4,"total_thought_tokens":3,"total_output_tokens":4,"total_tokens":17})
    );
}

#[test]
fn incomplete_for_length_or_unknown_reason_closes_the_step_and_completes_as_incomplete() {
    for details in [
        r#","incomplete_details":{"reason":"max_output_tokens"}"#,
        r#","incomplete_details":{"reason":"other"}"#,
        "",
    ] {
        let frames = run(&[
            CREATED,
            &text_delta(0, "cut"),
            &terminal("incomplete", "incomplete", details, "[]"),
        ]);
        let n = frames.len();
        assert_eq!(frames[n - 3].0, "step.stop", "open step closed first");
        let interaction = &terminal_frame(&frames)["interaction"];
        assert_eq!(interaction["status"], "incomplete");
        assert_eq!(interaction["usage"]["total_input_tokens"], 10);
    }
}

#[test]
fn content_filter_becomes_a_content_blocked_error() {
    let frames = run(&[
        CREATED,
        &text_delta(0, "cut"),
        &terminal(
            "incomplete",
            "incomplete",
            r#","incomplete_details":{"reason":"content_filter"}"#,
            "[]",
        ),
    ]);
    assert_eq!(frames[frames.len() - 3].0, "step.stop");
    assert_eq!(terminal_frame(&frames)["error"]["code"], "content_blocked");
}

#[test]
fn failures_map_to_googles_error_codes() {
    let cases = [
        ("server_error", "api_error"),
        ("rate_limit_exceeded", "rate_limit_exceeded"),
        ("invalid_prompt", "invalid_request"),
        ("request_timeout", "deadline_exceeded"),
        ("something_else", "api_error"),
    ];
    for (code, expected) in cases {
        let failed = format!(
            r#"{{"type":"response.failed","response":{{"id":"resp_1","status":"failed","error":{{"code":"{code}","message":"boom"}}}}}}"#
        );
        let frames = run(&[CREATED, &text_delta(0, "x"), &failed]);
        assert_eq!(
            terminal_frame(&frames)["error"],
            json!({"code": expected, "message": "boom"}),
            "{code}"
        );
        let event = format!(r#"{{"type":"error","code":"{code}","message":"boom","param":null}}"#);
        assert_eq!(
            terminal_frame(&run(&[CREATED, &event]))["error"]["code"],
            expected
        );
    }
}

#[test]
fn cancelled_completes_with_status_cancelled() {
    let frames = run(&[
        CREATED,
        &text_delta(0, "x"),
        r#"{"type":"response.cancelled","response":{"id":"resp_1","status":"cancelled"}}"#,
    ]);
    assert_eq!(
        terminal_frame(&frames)["interaction"]["status"],
        "cancelled"
    );
}

#[test]
fn eof_without_terminal_closes_the_step_and_ends_with_aborted() {
    for events in [
        vec![
            CREATED,
            "{\"type\":\"response.output_text.delta\",\"output_index\":0,\"delta\":\"x\"}",
        ],
        vec![CREATED, "[DONE]"],
    ] {
        let frames = run(&events);
        assert_eq!(terminal_frame(&frames)["error"]["code"], "aborted");
    }
    let frames = run(&[CREATED, &text_delta(0, "x")]);
    assert_eq!(frames[frames.len() - 3].0, "step.stop");
}

#[test]
fn eof_can_be_configured_to_complete() {
    let options = StreamOptions {
        on_truncated: TruncatedPolicy::Finish,
        ..StreamOptions::default()
    };
    let (frames, _) = run_with(&[CREATED, &text_delta(0, "x")], options);
    assert_eq!(
        terminal_frame(&frames)["interaction"]["status"],
        "completed"
    );
}

#[test]
fn the_interaction_id_is_fixed_by_the_first_event_and_reused_by_the_terminal() {
    let frames = run(&[
        &text_delta(0, "a"),
        &CREATED.replace("resp_1", "resp_other"),
        &completed("[]").replace("resp_1", "resp_late"),
    ]);
    assert_eq!(frames[0].1["interaction"]["id"], "msg_1");
    assert_eq!(frames[1].1["interaction_id"], "msg_1");
    assert_eq!(terminal_frame(&frames)["interaction"]["id"], "msg_1");
}

#[test]
fn exactly_one_terminal_event_even_when_the_upstream_sends_two() {
    let frames = run(&[
        CREATED,
        &completed("[]"),
        r#"{"type":"error","code":"server_error","message":"late"}"#,
        &completed("[]"),
    ]);
    assert_eq!(
        terminal_frame(&frames)["interaction"]["status"],
        "completed"
    );
}

#[test]
fn event_ids_carry_the_upstream_sequence_number() {
    let delta = r#"{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"x","sequence_number":42}"#;
    let frames = run(&[CREATED, delta, &completed("[]")]);
    let ids: Vec<&Value> = frames
        .iter()
        .map(|(_, v)| v.get("event_id").unwrap_or(&Value::Null))
        .collect();
    // created + status_update from sequence 0; step.start and step.delta from 42; no id for the
    // terminal (its upstream event has none) nor for done.
    assert_eq!(
        ids[..4],
        [&json!("0"), &json!("0"), &json!("42"), &json!("42")]
    );
    assert!(frames
        .iter()
        .all(|(_, v)| v.get("continuation_token").is_none()));
}

#[test]
fn text_only_in_done_events_is_emitted_once_and_nothing_is_dropped() {
    let frames = run(&[
        CREATED,
        r#"{"type":"response.output_text.done","output_index":0,"content_index":0,"text":"all"}"#,
        r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"message","content":[{"type":"output_text","text":"all"}]}}"#,
        &completed("[]"),
    ]);
    let texts: Vec<&Value> = of_type(&frames, "step.delta")
        .iter()
        .map(|d| &d["delta"]["text"])
        .collect();
    assert_eq!(texts, [&json!("all")]);
}
