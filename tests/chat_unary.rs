//! Unary Responses answers → `chat.completion` objects (`chat::unary::translate`): one test per
//! terminal outcome and per message field, then every corpus stream's final response checked
//! against what the stream translation of the same file tells the client.

mod common;

use common::{corpus, edited_content, frames, output_text, transcode, upstream_terminal};
use responses_transcoder::chat::unary::translate;
use responses_transcoder::outcome::{OutcomeKind, UnaryAnswer};
use responses_transcoder::responses::{InputTokensDetails, OutputTokensDetails, Usage};
use responses_transcoder::stop::StopSequences;
use responses_transcoder::{Dialect, StreamOptions};
use serde_json::{json, Value};

const USAGE: &str = r#"{"input_tokens":10,"output_tokens":7,"total_tokens":17,"input_tokens_details":{"cached_tokens":4},"output_tokens_details":{"reasoning_tokens":3}}"#;

fn chat_usage() -> Value {
    json!({"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17,
           "prompt_tokens_details": {"cached_tokens": 4},
           "completion_tokens_details": {"reasoning_tokens": 3}})
}

/// A Responses object with `status` and `output`, and `extra` fields.
fn response(status: &str, output: Value, extra: Value) -> Value {
    let mut response = json!({"id": "resp_1", "object": "response", "created_at": 1700000000,
        "model": "gpt-x", "status": status, "output": output,
        "usage": serde_json::from_str::<Value>(USAGE).unwrap()});
    if let (Some(response), Some(extra)) = (response.as_object_mut(), extra.as_object()) {
        response.extend(extra.clone());
    }
    response
}

fn message(content: Value) -> Value {
    json!({"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
           "content": content})
}

fn text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": []})
}

fn answer_with(body: &Value, options: &StreamOptions) -> (UnaryAnswer, Value) {
    let answer = translate(
        body.to_string().as_bytes(),
        options,
        &StopSequences::default(),
    );
    let value = serde_json::from_slice(&answer.body).expect("the answer is JSON");
    (answer, value)
}

fn unary(body: &Value) -> (UnaryAnswer, Value) {
    answer_with(body, &StreamOptions::default())
}

/// The whole `chat.completion` expected for `message` and `finish_reason`.
fn completion(message: Value, finish_reason: &str) -> Value {
    json!({"id": "resp_1", "object": "chat.completion", "created": 1700000000, "model": "gpt-x",
           "choices": [{"index": 0, "message": message, "logprobs": null,
                        "finish_reason": finish_reason}],
           "usage": chat_usage()})
}

fn assistant(content: Value) -> Value {
    json!({"role": "assistant", "content": content, "refusal": null, "annotations": []})
}

#[test]
fn completed_text_becomes_a_chat_completion() {
    let body = response(
        "completed",
        json!([message(json!([text("Hello"), text(", world")]))]),
        json!({}),
    );
    let (answer, value) = unary(&body);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.outcome, Some(OutcomeKind::Completed));
    assert_eq!(value, completion(assistant(json!("Hello, world")), "stop"));
}

#[test]
fn service_tier_and_identity_are_kept() {
    let body = response(
        "completed",
        json!([message(json!([text("x")]))]),
        json!({"service_tier": "flex", "created_at": 1700000000.7}),
    );
    let (_, value) = unary(&body);
    assert_eq!(value["service_tier"], "flex");
    assert_eq!(value["created"], 1700000000);
    assert_eq!(value["id"], "resp_1");
    assert_eq!(value["model"], "gpt-x");
}

#[test]
fn usage_is_mapped_like_the_stream() {
    let body = response("completed", json!([message(json!([text("x")]))]), json!({}));
    let (answer, value) = unary(&body);
    assert_eq!(value["usage"], chat_usage());
    assert_eq!(
        answer.usage,
        Some(Usage {
            input_tokens: 10,
            output_tokens: 7,
            total_tokens: Some(17),
            input_tokens_details: Some(InputTokensDetails {
                cached_tokens: Some(4)
            }),
            output_tokens_details: Some(OutputTokensDetails {
                reasoning_tokens: Some(3)
            }),
        })
    );
    let bare = json!({"id": "r", "status": "completed", "output": [],
                      "usage": {"input_tokens": 2, "output_tokens": 1}});
    let (_, value) = unary(&bare);
    assert_eq!(
        value["usage"],
        json!({"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3})
    );
    let none = json!({"id": "r", "status": "completed", "output": []});
    assert!(answer_of(&none).get("usage").is_none());
}

fn answer_of(body: &Value) -> Value {
    unary(body).1
}

#[test]
fn no_text_gives_null_content() {
    let body = response("completed", json!([]), json!({}));
    assert_eq!(answer_of(&body), completion(assistant(json!(null)), "stop"));
}

#[test]
fn tool_calls_finish_with_tool_calls() {
    let body = response(
        "completed",
        json!([
            {"type": "reasoning", "id": "rs_1", "summary": []},
            message(json!([text("Checking.")])),
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "weather",
             "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
            {"type": "custom_tool_call", "id": "ct_1", "call_id": "call_2", "name": "sql",
             "input": "SELECT 1"},
        ]),
        json!({}),
    );
    let mut expected = assistant(json!("Checking."));
    expected["tool_calls"] = json!([
        {"id": "call_1", "type": "function",
         "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
        {"id": "call_2", "type": "function", "function": {"name": "sql", "arguments": "SELECT 1"}},
    ]);
    assert_eq!(answer_of(&body), completion(expected, "tool_calls"));
}

#[test]
fn reasoning_becomes_reasoning_content_unless_turned_off() {
    let body = response(
        "completed",
        json!([
            {"type": "reasoning", "id": "rs_1", "summary": [
                {"type": "summary_text", "text": "First, "}, {"type": "summary_text", "text": ""}],
             "content": [{"type": "reasoning_text", "text": "then this."}]},
            message(json!([text("Done.")])),
        ]),
        json!({}),
    );
    let mut expected = assistant(json!("Done."));
    expected["reasoning_content"] = json!("First, then this.");
    assert_eq!(answer_of(&body), completion(expected, "stop"));
    let options = StreamOptions {
        emit_reasoning: false,
        ..StreamOptions::default()
    };
    let (_, value) = answer_with(&body, &options);
    assert_eq!(value, completion(assistant(json!("Done.")), "stop"));
}

#[test]
fn refusal_becomes_message_refusal() {
    let body = response(
        "completed",
        json!([message(
            json!([{"type": "refusal", "refusal": "I can't help with that."}])
        )]),
        json!({}),
    );
    let mut expected = assistant(json!(null));
    expected["refusal"] = json!("I can't help with that.");
    assert_eq!(answer_of(&body), completion(expected, "stop"));
}

#[test]
fn incomplete_for_length_finishes_with_length() {
    let details = json!({"reason": "max_output_tokens"});
    let body = response(
        "incomplete",
        json!([message(json!([text("Trunc")]))]),
        json!({"incomplete_details": details}),
    );
    let (answer, value) = unary(&body);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.outcome, Some(OutcomeKind::Incomplete));
    let mut expected = completion(assistant(json!("Trunc")), "length");
    expected["incomplete_details"] = details;
    assert_eq!(value, expected);
}

#[test]
fn incomplete_for_content_filter_finishes_with_content_filter() {
    let details = json!({"reason": "content_filter"});
    let filters = json!([{"blocked": true, "source_type": "completion"}]);
    let body = response(
        "incomplete",
        json!([]),
        json!({"incomplete_details": details, "content_filters": filters}),
    );
    let (answer, value) = unary(&body);
    assert_eq!(answer.outcome, Some(OutcomeKind::ContentFilter));
    let mut expected = completion(assistant(json!(null)), "content_filter");
    expected["incomplete_details"] = details;
    expected["content_filters"] = filters;
    assert_eq!(value, expected);
}

#[test]
fn incomplete_never_finishes_with_stop_or_tool_calls() {
    for details in [json!(null), json!({"reason": "something_new"})] {
        let body = response(
            "incomplete",
            json!([{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{\"a\""}]),
            json!({"incomplete_details": details}),
        );
        let (answer, value) = unary(&body);
        assert_eq!(answer.outcome, Some(OutcomeKind::Incomplete));
        assert_eq!(value["choices"][0]["finish_reason"], "length");
    }
}

#[test]
fn failed_becomes_an_error_body_with_its_status() {
    let body = response(
        "failed",
        json!([]),
        json!({"error": {"code": "rate_limit_exceeded", "message": "Slow down", "type": "tokens"}}),
    );
    let (answer, value) = unary(&body);
    assert_eq!(answer.status, 429);
    assert_eq!(answer.outcome, Some(OutcomeKind::Failed));
    assert_eq!(
        answer.usage.map(|u| u.input_tokens),
        Some(10),
        "usage is kept"
    );
    assert_eq!(
        value,
        json!({"error": {"message": "Slow down", "type": "tokens", "code": "rate_limit_exceeded",
                         "param": null}})
    );
    let server = json!({"status": "failed", "error": {"code": "server_error", "message": "Boom"}});
    let (answer, value) = unary(&server);
    assert_eq!(answer.status, 500);
    assert_eq!(
        value,
        json!({"error": {"message": "Boom", "type": "server_error", "code": "server_error",
                         "param": null}})
    );
}

#[test]
fn failed_error_fields_that_are_not_strings_are_not_forwarded() {
    let body = json!({"id": "r", "status": "failed", "error": {"code": 500, "message": null}});
    let (answer, value) = unary(&body);
    assert_eq!(answer.status, 500);
    assert_eq!(
        value,
        json!({"error": {"message": "upstream response failed", "type": "server_error",
                         "code": null, "param": null}})
    );
}

#[test]
fn missing_status_with_an_error_is_a_failure() {
    let body = json!({"error": {"code": "invalid_prompt", "message": "No."}});
    let (answer, value) = unary(&body);
    assert_eq!(answer.status, 400);
    assert_eq!(answer.outcome, Some(OutcomeKind::Failed));
    assert_eq!(value["error"]["code"], "invalid_prompt");
}

#[test]
fn cancelled_becomes_a_409_cancelled_error() {
    let body = response("cancelled", json!([]), json!({}));
    let (answer, value) = unary(&body);
    assert_eq!(answer.status, 409);
    assert_eq!(answer.outcome, Some(OutcomeKind::Cancelled));
    assert_eq!(
        value,
        json!({"error": {"message": "the upstream response was cancelled", "type": "cancelled",
                         "code": "cancelled", "param": null}})
    );
}

#[test]
fn unfinished_response_is_a_502_not_finished_error() {
    for status in ["in_progress", "queued"] {
        let body = response(status, json!([]), json!({"usage": null}));
        let (answer, value) = unary(&body);
        assert_eq!(answer.status, 502);
        assert_eq!(answer.outcome, None);
        assert_eq!(value["error"]["code"], "response_not_finished");
        assert_eq!(value["error"]["type"], "response_not_finished");
        assert!(value["error"]["message"].as_str().unwrap().contains(status));
    }
}

#[test]
fn a_body_that_is_not_a_response_is_a_502_invalid_upstream_response() {
    for body in [
        &b"not json"[..],
        b"[]",
        b"{}",
        b"\"response\"",
        br#"{"object":"chat.completion","choices":[]}"#,
        br#"{"status":7}"#,
        br#"{"object":"chat.completion","status":"completed","output":[]}"#,
    ] {
        let answer = translate(body, &StreamOptions::default(), &StopSequences::default());
        assert_eq!(answer.status, 502, "{}", String::from_utf8_lossy(body));
        assert_eq!((answer.outcome, answer.usage), (None, None));
        let value: Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(value["error"]["code"], "invalid_upstream_response");
        assert!(value["error"]["message"].is_string());
    }
}

#[test]
fn logprobs_become_choice_logprobs() {
    let token = |t: &str, lp: f64| {
        json!({"token": t, "logprob": lp, "bytes": [104],
               "top_logprobs": [{"token": t, "logprob": lp, "bytes": [104]}]})
    };
    let mut first = text("Hi");
    first["logprobs"] = json!([token("H", -0.5), token("i", -0.25)]);
    let mut second = text("!");
    second["logprobs"] = json!([token("!", 0.0)]);
    let body = response(
        "completed",
        json!([message(json!([first, second]))]),
        json!({}),
    );
    let value = answer_of(&body);
    assert_eq!(
        value["choices"][0]["logprobs"],
        json!({"content": [token("H", -0.5), token("i", -0.25), token("!", 0.0)],
               "refusal": null})
    );
    let mut empty = text("Hi");
    empty["logprobs"] = json!([]);
    let body = response("completed", json!([message(json!([empty]))]), json!({}));
    assert_eq!(answer_of(&body)["choices"][0]["logprobs"], json!(null));
}

#[test]
fn url_citations_become_chat_annotations() {
    let mut first = text("Read it.");
    first["annotations"] = json!([{"type": "file_citation", "file_id": "f", "filename": "a",
                                   "index": 0}]);
    let mut second = text(" Café news.");
    second["annotations"] = json!([{"type": "url_citation", "start_index": 1, "end_index": 11,
                                    "title": "News", "url": "https://n.example/"}]);
    let body = response(
        "completed",
        json!([message(json!([first, second]))]),
        json!({}),
    );
    let mut expected = assistant(json!("Read it. Café news."));
    expected["annotations"] = json!([{"type": "url_citation", "url_citation": {
        "start_index": 9, "end_index": 19, "title": "News", "url": "https://n.example/"}}]);
    assert_eq!(answer_of(&body), completion(expected, "stop"));
}

#[test]
fn escaped_text_is_copied_as_the_upstream_wrote_it() {
    let body = br#"{"id":"r","status":"completed","output":[{"type":"message","content":[{"type":"output_text","text":"caf\u00e9 \"q\"\n"},{"type":"output_text","text":"\ud83d\ude00"}]}]}"#;
    let answer = translate(body, &StreamOptions::default(), &StopSequences::default());
    let text = String::from_utf8(answer.body).unwrap();
    assert!(
        text.contains(r#""content":"caf\u00e9 \"q\"\n\ud83d\ude00""#),
        "{text}"
    );
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        value["choices"][0]["message"]["content"],
        "café \"q\"\n\u{1F600}"
    );
}

// ---------------------------------------------------------------- the corpus

/// What a Chat client gets from the stream translation of a corpus file.
#[derive(Debug, Default)]
struct Streamed {
    content: String,
    /// `(id, name, arguments)` by index.
    calls: Vec<(String, String, String)>,
    finish_reason: Option<String>,
    error: Option<Value>,
}

fn streamed(input: &[u8]) -> Streamed {
    let output = transcode(Dialect::Chat, StreamOptions::default(), input, usize::MAX);
    let mut s = Streamed::default();
    for (_, data) in frames(&output) {
        let Ok(chunk) = serde_json::from_str::<Value>(&data) else {
            continue;
        };
        if let Some(error) = chunk.get("error") {
            s.error = Some(error.clone());
        }
        let choice = &chunk["choices"][0];
        let delta = &choice["delta"];
        s.content += delta["content"].as_str().unwrap_or("");
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = call["index"].as_u64().unwrap_or(0) as usize;
            let args = call["function"]["arguments"].as_str().unwrap_or("");
            match s.calls.get_mut(index) {
                Some(existing) => existing.2 += args,
                None => s.calls.push((
                    call["id"].as_str().unwrap_or("").into(),
                    call["function"]["name"].as_str().unwrap_or("").into(),
                    args.into(),
                )),
            }
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            s.finish_reason = Some(reason.into());
        }
    }
    s
}

/// Checks the unary answer built from a corpus stream's final response.
fn check(name: &str, input: &[u8]) -> Result<bool, String> {
    let Some(terminal) = upstream_terminal(input) else {
        return Ok(false);
    };
    let Some(response) = terminal.get("response").filter(|r| r.is_object()) else {
        return Ok(false);
    };
    let answer = translate(
        response.to_string().as_bytes(),
        &StreamOptions::default(),
        &StopSequences::default(),
    );
    let value: Value =
        serde_json::from_slice(&answer.body).map_err(|e| format!("answer not JSON: {e}"))?;
    let stream = streamed(input);
    if let Some(error) = &stream.error {
        if answer.status < 400 || value["error"] != *error {
            return Err(format!(
                "stream ends in error {error}, unary is {} {value}",
                answer.status
            ));
        }
        return Ok(true);
    }
    if answer.status != 200 {
        return Err(format!(
            "status {} for a stream that finished",
            answer.status
        ));
    }
    let choices = value["choices"].as_array().ok_or("no choices")?;
    let [choice] = choices.as_slice() else {
        return Err(format!("{} choices", choices.len()));
    };
    let message = &choice["message"];
    let output = response["output"].as_array().cloned().unwrap_or_default();
    let has_item = |kind: &str| output.iter().any(|item| item["type"] == kind);
    // A hand-made stream may stream calls its (empty) final output does not repeat.
    if !output.is_empty() || stream.calls.is_empty() {
        let finish = choice["finish_reason"].as_str();
        if finish != stream.finish_reason.as_deref() {
            return Err(format!(
                "finish_reason {finish:?}, stream {:?}",
                stream.finish_reason
            ));
        }
    }
    if has_item("message") {
        // Edited recordings stream other text than their final response holds (see common).
        let expected = match edited_content(name) {
            Some(_) => output_text(input, &terminal),
            None => stream.content.clone(),
        };
        let content = message["content"].as_str().unwrap_or("");
        if content != expected {
            return Err(format!("content {content:?}, expected {expected:?}"));
        }
    }
    if has_item("function_call") || has_item("custom_tool_call") {
        let calls: Vec<(String, String)> = message["tool_calls"]
            .as_array()
            .ok_or("no tool_calls")?
            .iter()
            .map(|c| {
                let f = &c["function"];
                (
                    f["name"].as_str().unwrap_or("").into(),
                    f["arguments"].as_str().unwrap_or("").into(),
                )
            })
            .collect();
        let streamed: Vec<(String, String)> = stream
            .calls
            .iter()
            .map(|(_, name, args)| (name.clone(), args.clone()))
            .collect();
        if calls != streamed {
            return Err(format!("tool calls {calls:?}, stream {streamed:?}"));
        }
    }
    let reasoning = message["reasoning_content"].as_str().unwrap_or("");
    if reasoning != reasoning_text(&output) {
        return Err(format!(
            "reasoning {reasoning:?}, output {:?}",
            reasoning_text(&output)
        ));
    }
    Ok(true)
}

/// The reasoning summaries and texts of the output items, in order. (Not compared with the
/// stream: a hand-made stream whose summary delta lacks `output_index` is streamed twice.)
fn reasoning_text(output: &[Value]) -> String {
    let mut text = String::new();
    for item in output.iter().filter(|item| item["type"] == "reasoning") {
        let summary = item["summary"].as_array().into_iter().flatten();
        let content = item["content"].as_array().into_iter().flatten();
        for part in summary.chain(content.filter(|p| p["type"] == "reasoning_text")) {
            text += part["text"].as_str().unwrap_or("");
        }
    }
    text
}

#[test]
fn every_corpus_final_response_answers_like_its_stream() {
    let Some(files) = corpus() else {
        return;
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, input) in &files {
        match check(name, input) {
            Ok(true) => checked += 1,
            Ok(false) => {}
            Err(why) => failures.push(format!("{name}: {why}")),
        }
    }
    eprintln!("checked {checked} corpus final responses");
    assert!(
        checked >= 90,
        "only {checked} corpus streams end with a response"
    );
    assert!(
        failures.is_empty(),
        "{} of {} fail:\n{}",
        failures.len(),
        checked + failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_number_beyond_f64_in_a_forwarded_value_is_copied_as_it_came() {
    // RFC 8259 allows it (Python and JavaScript read infinity); the filter copies raw values and
    // does not judge their numbers. Found by the `request` fuzz target's unary half.
    let body = r#"{"id":"resp_1","object":"response","status":"incomplete","output":[],
        "incomplete_details":{"reason":"max_output_tokens","at":1767e225599}}"#;
    let answer = translate(
        body.as_bytes(),
        &StreamOptions::default(),
        &StopSequences::default(),
    );
    assert_eq!(answer.status, 200);
    let text = String::from_utf8(answer.body).unwrap();
    assert!(
        text.contains(r#""incomplete_details":{"reason":"max_output_tokens","at":1767e225599}"#)
    );
    let value = common::invariants::parse_json(&text).unwrap();
    assert_eq!(value["choices"][0]["finish_reason"], "length");
}
