//! Every corpus stream, translated to Anthropic Messages at every split, gives the same bytes;
//! those bytes follow Anthropic's framing (checked by `common::invariants`) and their assembled
//! text, tool calls and stop reason match the upstream's final response. Validation against the
//! anthropic SDK's own event models and accumulator runs in `tests/e2e/test_corpus_sdk.py`.

mod common;

use common::{
    corpus, edited_content, frames, invariants, output_calls, output_items, output_text, transcode,
    upstream_terminal, SPLITS,
};
use responses_transcoder::{Dialect, StreamOptions};
use serde_json::Value;

/// What a client assembles from an Anthropic stream.
#[derive(Debug, Default)]
struct Assembled {
    text: String,
    /// `(id, name, input JSON text)` per tool_use block.
    calls: Vec<(String, String, String)>,
    stop_reason: Option<String>,
    error: Option<String>,
}

fn assemble(output: &[u8]) -> Result<Assembled, String> {
    invariants::check_output(Dialect::Anthropic, output)?;
    let mut a = Assembled::default();
    let mut kinds = Vec::new();
    for (_, data) in frames(output) {
        let value: Value = serde_json::from_str(&data).map_err(|e| format!("{e}: {data}"))?;
        match value["type"].as_str().unwrap_or("") {
            "content_block_start" => {
                let block = &value["content_block"];
                let kind = block["type"].as_str().unwrap_or("").to_string();
                if kind == "tool_use" {
                    let field = |k: &str| block[k].as_str().unwrap_or("").to_string();
                    a.calls.push((field("id"), field("name"), String::new()));
                }
                kinds.push(kind);
            }
            "content_block_delta" => {
                let delta = &value["delta"];
                let kind = kinds.last().map(String::as_str);
                match (kind, delta["type"].as_str()) {
                    (Some("text"), Some("text_delta")) => {
                        a.text += delta["text"].as_str().ok_or("text_delta without text")?
                    }
                    (Some("thinking"), Some("thinking_delta" | "signature_delta")) => {}
                    (Some("tool_use"), Some("input_json_delta")) => {
                        let call = a.calls.last_mut().ok_or("input outside a call")?;
                        call.2 += delta["partial_json"]
                            .as_str()
                            .ok_or("input_json_delta without partial_json")?;
                    }
                    other => return Err(format!("delta {other:?}: {data}")),
                }
            }
            "message_delta" => {
                a.stop_reason = value["delta"]["stop_reason"].as_str().map(str::to_string)
            }
            "error" => a.error = value["error"]["type"].as_str().map(str::to_string),
            _ => {}
        }
    }
    Ok(a)
}

/// The input a call's arguments become: a function call's JSON object (`{}` when empty); a
/// custom tool call's free-form text as `{"input": text}` (SPEC §11), whatever it looks like.
fn expected_input(custom: bool, arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(value @ Value::Object(_)) if !custom => value,
        _ if arguments.trim().is_empty() && !custom => Value::Object(Default::default()),
        _ => serde_json::json!({ "input": arguments }),
    }
}

fn check(name: &str, input: &[u8], output: &[u8]) -> Result<(), String> {
    let a = assemble(output)?;
    let Some(terminal) = upstream_terminal(input) else {
        return match a.error.as_deref() {
            Some("api_error") => Ok(()),
            _ => Err(format!("no upstream terminal, got {a:?}")),
        };
    };
    let kind = terminal["type"].as_str().unwrap_or("");
    let reason = terminal["response"]["incomplete_details"]["reason"].as_str();
    let calls = output_calls(input, &terminal);
    let expected = match (kind, reason) {
        ("response.failed" | "error" | "response.cancelled", _) => None,
        ("response.incomplete", Some("content_filter")) => Some("refusal"),
        ("response.incomplete", _) => Some("max_tokens"),
        _ if !calls.is_empty() => Some("tool_use"),
        _ => Some("end_turn"),
    };
    if a.stop_reason.as_deref() != expected || a.error.is_some() == expected.is_some() {
        return Err(format!(
            "ended {:?} / error {:?}, expected {expected:?}",
            a.stop_reason, a.error
        ));
    }
    if expected.is_none() {
        return Ok(());
    }
    let text = edited_content(name).map_or_else(|| output_text(input, &terminal), str::to_string);
    if a.text != text {
        return Err(format!(
            "text differs:\n  ours:     {:?}\n  upstream: {text:?}",
            a.text
        ));
    }
    let ours: Vec<(String, String, Value)> = a
        .calls
        .iter()
        .map(|(id, name, json)| {
            let input = if json.is_empty() {
                Value::Object(Default::default())
            } else {
                serde_json::from_str(json).unwrap_or(Value::Null)
            };
            (id.clone(), name.clone(), input)
        })
        .collect();
    let custom = output_items(input, &terminal)
        .into_iter()
        .filter(|item| item["type"] == "function_call" || item["type"] == "custom_tool_call")
        .map(|item| item["type"] == "custom_tool_call");
    let theirs: Vec<(String, String, Value)> = calls
        .iter()
        .zip(custom)
        .map(|((id, name, args), custom)| (id.clone(), name.clone(), expected_input(custom, args)))
        .collect();
    if kind == "response.completed" && ours != theirs {
        return Err(format!(
            "tool calls differ:\n  ours:     {ours:?}\n  upstream: {theirs:?}"
        ));
    }
    Ok(())
}

#[test]
fn every_corpus_stream_translates_identically_at_every_split_and_matches_its_final_response() {
    let Some(corpus) = corpus() else { return };
    let mut failures = Vec::new();
    for (name, input) in &corpus {
        let options = StreamOptions::default();
        let whole = transcode(Dialect::Anthropic, options, input, SPLITS[0]);
        for split in &SPLITS[1..] {
            assert!(
                transcode(Dialect::Anthropic, options, input, *split) == whole,
                "{name}: output at split {split} differs from the whole-input output"
            );
        }
        if let Err(why) = check(name, input, &whole) {
            failures.push(format!("{name}: {why}"));
        }
    }
    eprintln!("checked {} corpus streams", corpus.len());
    assert!(
        failures.is_empty(),
        "{} of {} streams fail:\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n")
    );
}
