//! The upstream's JSON `Response` → an Anthropic `Message` (`anthropic::unary::translate`), one
//! test per row of its terminal table, and the content blocks of each output item.

use responses_transcoder::anthropic::unary::translate;
use responses_transcoder::outcome::OutcomeKind;
use responses_transcoder::stop::StopSequences;
use responses_transcoder::StreamOptions;
use serde_json::{json, Value};

const USAGE: &str = r#"{"input_tokens":10,"output_tokens":7,"total_tokens":17,"input_tokens_details":{"cached_tokens":4},"output_tokens_details":{"reasoning_tokens":3}}"#;

fn response(status: &str, extra: &str, output: &str) -> String {
    format!(
        r#"{{"id":"resp_1","object":"response","created_at":1700000000,"model":"gpt-x","status":"{status}"{extra},"output":{output},"usage":{USAGE}}}"#
    )
}

fn answer_with(body: &str, options: &StreamOptions) -> (u16, Value, Option<OutcomeKind>) {
    let answer = translate(body.as_bytes(), options, &StopSequences::default());
    let value = serde_json::from_slice(&answer.body).expect("the answer is JSON");
    (answer.status, value, answer.outcome)
}

fn answer(body: &str) -> (u16, Value, Option<OutcomeKind>) {
    answer_with(body, &StreamOptions::default())
}

const OUTPUT: &str = r#"[
  {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"Think."}],"encrypted_content":"enc"},
  {"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Hel","annotations":[]},{"type":"output_text","text":"lo \"you\"","annotations":[]}]},
  {"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
  {"type":"custom_tool_call","id":"ct_1","call_id":"call_2","name":"shell","input":"ls -l"},
  {"type":"web_search_call","id":"ws_1","status":"completed"}
]"#;

#[test]
fn completed_is_a_message_with_every_block() {
    let (status, message, outcome) = answer(&response("completed", "", OUTPUT));
    assert_eq!((status, outcome), (200, Some(OutcomeKind::Completed)));
    assert_eq!(
        message,
        json!({"id": "resp_1", "type": "message", "role": "assistant", "model": "gpt-x",
            "content": [
                {"type": "thinking", "thinking": "Think.", "signature": "responses:rs_1:enc"},
                {"type": "text", "text": "Hello \"you\""},
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "shell", "input": {"input": "ls -l"}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 6, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 4, "output_tokens": 7,
                "output_tokens_details": {"thinking_tokens": 3}}})
    );
}

#[test]
fn text_only_is_end_turn_and_reasoning_off_leaves_thinking_out() {
    let output = r#"[{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"x"}]},
        {"type":"message","content":[{"type":"output_text","text":"Hi"}]}]"#;
    let options = StreamOptions {
        emit_reasoning: false,
        ..StreamOptions::default()
    };
    let (_, message, _) = answer_with(&response("completed", "", output), &options);
    assert_eq!(message["stop_reason"], "end_turn");
    assert_eq!(message["content"], json!([{"type": "text", "text": "Hi"}]));
}

#[test]
fn incomplete_is_max_tokens_and_content_filter_is_refusal() {
    for (extra, reason, kind) in [
        (
            r#","incomplete_details":{"reason":"max_output_tokens"}"#,
            "max_tokens",
            OutcomeKind::Incomplete,
        ),
        ("", "max_tokens", OutcomeKind::Incomplete),
        (
            r#","incomplete_details":{"reason":"content_filter"}"#,
            "refusal",
            OutcomeKind::ContentFilter,
        ),
    ] {
        let (status, message, outcome) = answer(&response("incomplete", extra, OUTPUT));
        assert_eq!((status, outcome), (200, Some(kind)));
        assert_eq!(message["stop_reason"], reason, "{extra}");
    }
}

#[test]
fn failed_is_an_anthropic_error_with_its_status() {
    for (code, status, kind) in [
        ("rate_limit_exceeded", 429, "rate_limit_error"),
        ("server_error", 500, "api_error"),
        ("invalid_prompt", 400, "invalid_request_error"),
    ] {
        let extra = format!(r#","error":{{"code":"{code}","message":"Nope."}}"#);
        let (got, body, outcome) = answer(&response("failed", &extra, "[]"));
        assert_eq!((got, outcome), (status, Some(OutcomeKind::Failed)));
        assert_eq!(
            body,
            json!({"type": "error", "error": {"type": kind, "message": "Nope."}})
        );
    }
}

#[test]
fn cancelled_running_and_foreign_bodies_are_errors() {
    let (status, body, _) = answer(&response("cancelled", "", "[]"));
    assert_eq!((status, &body["error"]["type"]), (409, &json!("api_error")));
    let (status, body, outcome) = answer(&response("in_progress", "", "[]"));
    assert_eq!((status, outcome), (502, None));
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("in_progress"));
    let (status, body, _) = answer(r#"{"object":"chat.completion","choices":[]}"#);
    assert_eq!(status, 502);
    assert_eq!(body["type"], "error");
}

#[test]
fn a_stop_sequence_cuts_the_text_and_leaves_the_later_blocks_out() {
    let stop = StopSequences::new(vec!["lo \"y".to_owned()]);
    let stopped = translate(
        response("completed", "", OUTPUT).as_bytes(),
        &StreamOptions::default(),
        &stop,
    );
    let message: Value = serde_json::from_slice(&stopped.body).unwrap();
    assert_eq!(stopped.outcome, Some(OutcomeKind::Completed));
    assert_eq!(
        message["content"],
        json!([
            {"type": "thinking", "thinking": "Think.", "signature": "responses:rs_1:enc"},
            {"type": "text", "text": "Hel"}
        ])
    );
    assert_eq!(
        (&message["stop_reason"], &message["stop_sequence"]),
        (&json!("stop_sequence"), &json!("lo \"y"))
    );
    assert_eq!(message["usage"]["output_tokens"], 7);
    // An incomplete answer the stop cut is a completed one; an unmatched stop changes nothing.
    let cut = translate(
        response("incomplete", "", OUTPUT).as_bytes(),
        &StreamOptions::default(),
        &stop,
    );
    assert_eq!(cut.outcome, Some(OutcomeKind::Completed));
    let unmatched = StopSequences::new(vec!["zzz".to_owned()]);
    let (_, plain, _) = answer(&response("completed", "", OUTPUT));
    let same = translate(
        response("completed", "", OUTPUT).as_bytes(),
        &StreamOptions::default(),
        &unmatched,
    );
    assert_eq!(serde_json::from_slice::<Value>(&same.body).unwrap(), plain);
}
