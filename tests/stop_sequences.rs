//! Stop sequences honoured by the gateway, on streams and unary answers of both dialects: the
//! answer ends before the first occurrence, whatever the upstream chunking, and the terminal is
//! the dialect's clean stop.

mod common;

use common::{corpus, frames, SPLITS};
use responses_transcoder::config::UsagePlacement;
use responses_transcoder::stop::StopSequences;
use responses_transcoder::{chat, interactions, Dialect, StreamOptions, Transcoder};
use serde_json::{json, Value};

fn stops(list: &[&str]) -> StopSequences {
    StopSequences::new(list.iter().map(|s| s.to_string()).collect())
}

fn transcode(
    dialect: Dialect,
    options: StreamOptions,
    stop: &[&str],
    input: &[u8],
    split: usize,
) -> Vec<u8> {
    let mut transcoder = Transcoder::new(dialect, options)
        .expect("dialect transcodes")
        .with_stop_sequences(&stops(stop));
    let mut out = Vec::new();
    for chunk in input.chunks(split.clamp(1, input.len().max(1))) {
        transcoder.feed(chunk, &mut out);
    }
    transcoder.finish(&mut out);
    out
}

fn usage_options() -> StreamOptions {
    StreamOptions {
        chat_usage: UsagePlacement::Chunk,
        ..StreamOptions::default()
    }
}

fn event(value: Value) -> String {
    format!("data: {value}\n\n")
}

const USAGE: &str = r#"{"input_tokens":5,"output_tokens":9,"total_tokens":14}"#;

/// A stream of a message whose text arrives in `deltas`, then one function call, ending in
/// `terminal` (`response.completed`, `response.incomplete`, `response.failed`).
fn stream(deltas: &[&str], terminal: &str) -> Vec<u8> {
    let usage: Value = serde_json::from_str(USAGE).unwrap();
    let mut s = event(
        json!({"type":"response.created","response":{"id":"resp_1","created_at":1,"model":"m","status":"in_progress","output":[]}}),
    );
    s += &event(
        json!({"type":"response.output_item.added","output_index":0,"item":{"type":"message","id":"msg_1","role":"assistant","content":[]}}),
    );
    for d in deltas {
        s += &event(
            json!({"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":d}),
        );
    }
    s += &event(
        json!({"type":"response.output_text.done","output_index":0,"content_index":0,"text":deltas.concat()}),
    );
    s += &event(
        json!({"type":"response.output_item.done","output_index":0,"item":{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":deltas.concat()}]}}),
    );
    s += &event(
        json!({"type":"response.output_item.added","output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":""}}),
    );
    s += &event(
        json!({"type":"response.function_call_arguments.delta","output_index":1,"delta":"{}"}),
    );
    s += &event(
        json!({"type":"response.output_item.done","output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":"{}"}}),
    );
    let status = match terminal {
        "response.completed" => "completed",
        "response.incomplete" => "incomplete",
        _ => "failed",
    };
    s += &event(
        json!({"type":terminal,"response":{"id":"resp_1","status":status,"usage":usage,
        "incomplete_details": if status == "incomplete" { json!({"reason":"max_output_tokens"}) } else { Value::Null },
        "error": if status == "failed" { json!({"code":"server_error","message":"boom"}) } else { Value::Null }}}),
    );
    s.into_bytes()
}

/// What a Chat client assembles: content, tool call count, finish reasons, usage, error.
fn chat_view(out: &[u8]) -> (String, usize, Vec<String>, Option<Value>, Option<Value>) {
    let frames = frames(out);
    assert_eq!(frames.last().map(|f| f.1.as_str()), Some("[DONE]"));
    let (mut content, mut calls, mut finishes, mut usage, mut error) =
        (String::new(), 0, vec![], None, None);
    for (_, data) in &frames[..frames.len() - 1] {
        let chunk: Value = serde_json::from_str(data).unwrap();
        if let Some(e) = chunk.get("error") {
            error = Some(e.clone());
            continue;
        }
        if let Some(u) = chunk.get("usage") {
            usage = Some(u.clone());
        }
        let Some(choice) = chunk["choices"].get(0) else {
            continue;
        };
        content += choice["delta"]["content"].as_str().unwrap_or("");
        calls += choice["delta"]["tool_calls"].as_array().map_or(0, Vec::len);
        if let Some(f) = choice["finish_reason"].as_str() {
            finishes.push(f.to_string());
        }
    }
    (content, calls, finishes, usage, error)
}

#[test]
fn chat_stream_ends_before_the_stop_at_every_split() {
    let input = stream(
        &["Thought: add\nObs", "ervation: 4", "2\nmore"],
        "response.completed",
    );
    let reference = transcode(
        Dialect::Chat,
        usage_options(),
        &["Observation:"],
        &input,
        usize::MAX,
    );
    for split in SPLITS.into_iter().chain(2..40) {
        assert_eq!(
            transcode(
                Dialect::Chat,
                usage_options(),
                &["Observation:"],
                &input,
                split
            ),
            reference,
            "split {split}"
        );
    }
    let (content, calls, finishes, usage, error) = chat_view(&reference);
    assert_eq!(content, "Thought: add\n");
    assert_eq!(calls, 0, "output after the stop is dropped");
    assert_eq!(finishes, ["stop"]);
    assert_eq!(
        usage.unwrap()["completion_tokens"],
        9,
        "usage is the upstream's"
    );
    assert!(error.is_none());
    assert!(!String::from_utf8_lossy(&reference).contains("Observation"));
}

#[test]
fn chat_finish_goes_out_at_the_match_and_usage_at_the_upstream_terminal() {
    let input = stream(&["a STOP b"], "response.completed");
    let mut transcoder = Transcoder::new(Dialect::Chat, usage_options())
        .unwrap()
        .with_stop_sequences(&stops(&["STOP"]));
    let cut = input.windows(6).position(|w| w == b"STOP b").unwrap() + 200;
    let mut out = Vec::new();
    transcoder.feed(&input[..cut], &mut out);
    let (content, _, finishes, usage, _) =
        chat_view(&[out.clone(), b"data: [DONE]\n\n".to_vec()].concat());
    assert_eq!((content.as_str(), finishes.len(), usage), ("a ", 1, None));
    transcoder.feed(&input[cut..], &mut out);
    transcoder.finish(&mut out);
    let (_, _, finishes, usage, _) = chat_view(&out);
    assert_eq!(finishes, ["stop"]);
    assert!(usage.is_some());
    assert_eq!(
        transcoder.stats().outcome.map(|o| o.name()),
        Some("completed")
    );
}

#[test]
fn chat_usage_on_the_finish_chunk_waits_for_the_terminal() {
    let options = StreamOptions {
        chat_usage: UsagePlacement::Finish,
        ..StreamOptions::default()
    };
    let out = transcode(
        Dialect::Chat,
        options,
        &["STOP"],
        &stream(&["a STOP b"], "response.completed"),
        1,
    );
    let frames = frames(&out);
    let finish: Value = serde_json::from_str(&frames[frames.len() - 2].1).unwrap();
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert_eq!(finish["usage"]["prompt_tokens"], 5);
}

#[test]
fn after_a_stop_the_upstream_terminal_does_not_change_the_outcome() {
    for terminal in ["response.incomplete", "response.failed"] {
        let out = transcode(
            Dialect::Chat,
            usage_options(),
            &["STOP"],
            &stream(&["a STOP b"], terminal),
            7,
        );
        let (content, _, finishes, _, error) = chat_view(&out);
        assert_eq!(
            (content.as_str(), finishes),
            ("a ", vec!["stop".to_string()]),
            "{terminal}"
        );
        assert!(error.is_none(), "{terminal}");
    }
    // Upstream EOF with no terminal after the stop: still a clean stop.
    let input = stream(&["a STOP b"], "response.completed");
    let eof = &input[..input.windows(6).rposition(|w| w == b"data: ").unwrap()];
    let (_, _, finishes, _, error) = chat_view(&transcode(
        Dialect::Chat,
        usage_options(),
        &["STOP"],
        eof,
        5,
    ));
    assert_eq!(finishes, ["stop"]);
    assert!(error.is_none());
}

#[test]
fn without_a_match_held_text_is_flushed_and_the_answer_is_unchanged() {
    let input = stream(&["ends with ST", "O"], "response.completed");
    let plain = common::transcode(Dialect::Chat, usage_options(), &input, usize::MAX);
    let stopped = transcode(Dialect::Chat, usage_options(), &["STOP"], &input, 3);
    let (content, calls, finishes, usage, _) = chat_view(&stopped);
    assert_eq!(content, "ends with STO");
    assert_eq!(calls, 2, "the call header and its arguments");
    assert_eq!(finishes, ["tool_calls"]);
    assert_eq!(chat_view(&plain), (content, calls, finishes, usage, None));
    // An incomplete answer stays incomplete.
    let cut = transcode(
        Dialect::Chat,
        usage_options(),
        &["STOP"],
        &stream(&["ST"], "response.incomplete"),
        1,
    );
    assert_eq!(chat_view(&cut).2, ["length"]);
}

#[test]
fn tool_call_arguments_and_reasoning_are_never_matched() {
    let input = stream(&["no match here"], "response.completed");
    let (content, calls, finishes, _, _) = chat_view(&transcode(
        Dialect::Chat,
        usage_options(),
        &["{}", "f"],
        &input,
        1,
    ));
    assert_eq!(content, "no match here");
    assert_eq!(calls, 2, "the call header and its arguments");
    assert_eq!(finishes, ["tool_calls"]);
}

#[test]
fn escapes_and_multibyte_text_are_matched_as_text() {
    let input = stream(
        &["caf\u{e9} \"q\"\n", "\n\u{1f600} rest"],
        "response.completed",
    );
    for split in [usize::MAX, 1] {
        let (content, _, finishes, _, _) = chat_view(&transcode(
            Dialect::Chat,
            usage_options(),
            &["\n\n"],
            &input,
            split,
        ));
        assert_eq!(content, "caf\u{e9} \"q\"");
        assert_eq!(finishes, ["stop"]);
    }
}

/// What an Interactions client sees: event types in order, text, final status and usage.
fn interactions_view(out: &[u8]) -> (Vec<String>, String, Option<String>, Option<Value>) {
    let (mut types, mut text, mut status, mut usage) = (vec![], String::new(), None, None);
    for (event, data) in frames(out) {
        let event = event.unwrap();
        if event == "done" {
            continue;
        }
        let value: Value = serde_json::from_str(&data).unwrap();
        if event == "step.delta" {
            text += value["delta"]["text"].as_str().unwrap_or("");
        }
        if event == "interaction.completed" {
            status = value["interaction"]["status"].as_str().map(str::to_string);
            usage = value["interaction"].get("usage").cloned();
        }
        types.push(event);
    }
    (types, text, status, usage)
}

#[test]
fn interactions_stream_closes_the_step_at_the_stop_and_completes() {
    let input = stream(&["Answer: 42", "END trailing"], "response.incomplete");
    let reference = transcode(
        Dialect::Interactions,
        StreamOptions::default(),
        &["END"],
        &input,
        usize::MAX,
    );
    for split in SPLITS {
        assert_eq!(
            transcode(
                Dialect::Interactions,
                StreamOptions::default(),
                &["END"],
                &input,
                split
            ),
            reference
        );
    }
    let (types, text, status, usage) = interactions_view(&reference);
    assert_eq!(text, "Answer: 42");
    assert_eq!(status.as_deref(), Some("completed"));
    assert_eq!(usage.unwrap()["total_input_tokens"], 5);
    assert_eq!(
        types,
        [
            "interaction.created",
            "interaction.status_update",
            "step.start",
            "step.delta",
            "step.stop",
            "interaction.completed"
        ]
    );
}

#[test]
fn interactions_held_text_is_flushed_into_its_step_before_it_stops() {
    let input = stream(&["text E", "N"], "response.completed");
    let (types, text, status, _) = interactions_view(&transcode(
        Dialect::Interactions,
        StreamOptions::default(),
        &["END"],
        &input,
        1,
    ));
    assert_eq!(text, "text EN");
    assert_eq!(status.as_deref(), Some("requires_action"));
    let first_stop = types.iter().position(|t| t == "step.stop").unwrap();
    let last_delta_of_text = types
        .iter()
        .take(first_stop)
        .rposition(|t| t == "step.delta")
        .unwrap();
    assert!(last_delta_of_text < first_stop);
}

#[test]
fn corpus_streams_cut_at_a_sequence_taken_from_their_own_text() {
    let Some(files) = corpus() else { return };
    let mut cut = 0;
    for (name, input) in files {
        let plain = common::transcode(Dialect::Chat, StreamOptions::default(), &input, usize::MAX);
        // No stop sequence: byte-identical.
        let none = transcode(
            Dialect::Chat,
            StreamOptions::default(),
            &[],
            &input,
            usize::MAX,
        );
        assert_eq!(none, plain, "{name}");
        let (text, ..) = chat_view(&plain);
        // A sequence that never occurs leaves the assembled answer unchanged.
        let never = transcode(
            Dialect::Chat,
            StreamOptions::default(),
            &["\u{1}never\u{2}"],
            &input,
            7,
        );
        let (a, b) = (chat_view(&plain), chat_view(&never));
        assert_eq!((a.0, a.1, a.2, a.4), (b.0, b.1, b.2, b.4), "{name}");
        let chars: Vec<char> = text.chars().collect();
        if chars.len() < 12 {
            continue;
        }
        let sequence: String = chars[chars.len() / 2..chars.len() / 2 + 4].iter().collect();
        let expected = &text[..text.find(&sequence).unwrap()];
        let reference = transcode(
            Dialect::Chat,
            StreamOptions::default(),
            &[&sequence],
            &input,
            usize::MAX,
        );
        for split in SPLITS {
            assert_eq!(
                transcode(
                    Dialect::Chat,
                    StreamOptions::default(),
                    &[&sequence],
                    &input,
                    split
                ),
                reference,
                "{name} split {split}"
            );
        }
        let (content, _, finishes, _, error) = chat_view(&reference);
        assert_eq!(content, expected, "{name}");
        assert_eq!(finishes, ["stop"], "{name}");
        assert!(error.is_none(), "{name}");
        cut += 1;
    }
    assert!(cut > 10, "only {cut} corpus streams had text to cut");
}

fn response(texts: &[&str], status: &str) -> Vec<u8> {
    let content: Vec<Value> = texts
        .iter()
        .map(|t| json!({"type":"output_text","text":t,"annotations":[]}))
        .collect();
    json!({"id":"resp_1","object":"response","created_at":1,"model":"m","status":status,
        "incomplete_details": if status == "incomplete" { json!({"reason":"max_output_tokens"}) } else { Value::Null },
        "output":[{"type":"message","id":"msg_1","role":"assistant","status":"completed","content":content},
                  {"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":"{}"}],
        "usage":serde_json::from_str::<Value>(USAGE).unwrap()})
    .to_string()
    .into_bytes()
}

#[test]
fn chat_unary_content_is_cut_and_finishes_with_stop() {
    for status in ["completed", "incomplete"] {
        let answer = chat::unary::translate(
            &response(&["Thought: x\nObserv", "ation: y"], status),
            &StreamOptions::default(),
            &stops(&["Observation:"]),
        );
        let body: Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(body["choices"][0]["message"]["content"], "Thought: x\n");
        assert_eq!(body["choices"][0]["finish_reason"], "stop");
        assert!(
            body["choices"][0]["message"].get("tool_calls").is_none(),
            "items after the stop are left out"
        );
        assert_eq!(body["usage"]["completion_tokens"], 9);
    }
    let kept = chat::unary::translate(
        &response(&["no match"], "completed"),
        &StreamOptions::default(),
        &stops(&["zz"]),
    );
    let body: Value = serde_json::from_slice(&kept.body).unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "no match");
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn interactions_unary_steps_are_cut_and_complete() {
    let answer = interactions::unary::translate(
        &response(&["Answer: 4", "2 END more"], "incomplete"),
        &StreamOptions::default(),
        &stops(&["END"]),
    );
    let body: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(body["status"], "completed");
    assert_eq!(
        body["steps"],
        json!([{"type":"model_output","content":[{"type":"text","text":"Answer: 4"},{"type":"text","text":"2 "}]}])
    );
    let held = interactions::unary::translate(
        &response(&["ends E"], "completed"),
        &StreamOptions::default(),
        &stops(&["END"]),
    );
    let body: Value = serde_json::from_slice(&held.body).unwrap();
    assert_eq!(body["status"], "requires_action");
    assert_eq!(body["steps"][0]["content"][0]["text"], "ends E");
}
