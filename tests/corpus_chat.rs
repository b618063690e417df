//! Every corpus stream, translated to Chat at every split, gives the same bytes; those bytes are
//! well-formed Chat chunks whose assembled content, tool calls, finish reason and usage match the
//! upstream's own final response object.

mod common;

use common::{
    corpus, edited_content, frames, output_calls, output_text, transcode, upstream_events,
    upstream_terminal, SPLITS,
};
use responses_transcoder::{Dialect, StreamOptions};
use serde_json::Value;

/// What a client assembles from a Chat stream.
#[derive(Debug, Default)]
struct Assembled {
    id: Option<String>,
    content: String,
    refusal: String,
    reasoning: String,
    /// `(id, name, arguments)` by tool call index.
    calls: Vec<(String, String, String)>,
    finish_reason: Option<String>,
    usage: Option<Value>,
    error: Option<Value>,
}

fn assemble(output: &[u8]) -> Result<Assembled, String> {
    let frames = frames(output);
    let (last, body) = frames.split_last().ok_or("empty output")?;
    if last.1 != "[DONE]" || last.0.is_some() {
        return Err(format!("last frame is not data: [DONE]: {last:?}"));
    }
    let mut a = Assembled::default();
    for (n, (event, data)) in body.iter().enumerate() {
        if event.is_some() {
            return Err(format!("frame {n} has an event line"));
        }
        let chunk: Value =
            serde_json::from_str(data).map_err(|e| format!("frame {n} not JSON: {e}: {data}"))?;
        if a.error.is_some() || a.usage.is_some() && chunk.get("error").is_none() {
            return Err(format!("frame {n} after the error/usage frame: {data}"));
        }
        if let Some(error) = chunk.get("error") {
            for key in ["message", "type", "code", "param"] {
                if error.get(key).is_none() {
                    return Err(format!("error frame lacks {key}: {data}"));
                }
            }
            if !error["message"].is_string() {
                return Err(format!("error message is not a string: {data}"));
            }
            a.error = Some(error.clone());
            continue;
        }
        if chunk["object"] != "chat.completion.chunk"
            || !chunk["created"].is_i64()
            || !chunk["model"].is_string()
        {
            return Err(format!("frame {n} is not a chunk: {data}"));
        }
        let id = chunk["id"].as_str().ok_or(format!("frame {n} has no id"))?;
        if a.id.get_or_insert_with(|| id.to_string()) != id {
            return Err(format!("frame {n} changes the stream id to {id}"));
        }
        let choices = chunk["choices"]
            .as_array()
            .ok_or(format!("frame {n}: no choices"))?;
        if let Some(usage) = chunk.get("usage") {
            a.usage = Some(usage.clone());
        }
        match choices.as_slice() {
            [] if chunk.get("usage").is_some() => continue,
            [choice] => {
                let logprobs = &choice["logprobs"];
                if choice["index"] != 0 || !(logprobs.is_null() || logprobs["content"].is_array()) {
                    return Err(format!("frame {n}: bad choice {choice}"));
                }
                if a.finish_reason.is_some() {
                    return Err(format!("frame {n}: chunk after the finish chunk"));
                }
                let delta = choice["delta"]
                    .as_object()
                    .ok_or(format!("frame {n}: no delta"))?;
                if n == 0 && delta.get("role").and_then(Value::as_str) != Some("assistant") {
                    return Err("first chunk does not carry role assistant".into());
                }
                if delta.is_empty() && choice["finish_reason"].is_null() {
                    return Err(format!("frame {n}: empty no-op chunk"));
                }
                for (key, value) in delta {
                    match key.as_str() {
                        "role" => {}
                        "content" => a.content += value.as_str().ok_or("content not a string")?,
                        "refusal" => a.refusal += value.as_str().ok_or("refusal not a string")?,
                        "reasoning_content" => {
                            a.reasoning += value.as_str().ok_or("reasoning not a string")?
                        }
                        "tool_calls" => {
                            for call in value.as_array().ok_or("tool_calls not an array")? {
                                let index =
                                    call["index"].as_u64().ok_or("tool call without index")?
                                        as usize;
                                let args = call["function"]["arguments"].as_str().unwrap_or("");
                                if index == a.calls.len() {
                                    let id = call["id"]
                                        .as_str()
                                        .ok_or("first tool call chunk lacks id")?;
                                    if call["type"] != "function" {
                                        return Err(format!("tool call type: {call}"));
                                    }
                                    let name =
                                        call["function"]["name"].as_str().ok_or("no tool name")?;
                                    a.calls.push((id.into(), name.into(), args.into()));
                                } else if let Some(existing) = a.calls.get_mut(index) {
                                    if call.get("id").is_some() {
                                        return Err(format!("tool call {index} announced twice"));
                                    }
                                    if args.is_empty() {
                                        return Err(format!(
                                            "empty arguments delta for call {index}"
                                        ));
                                    }
                                    existing.2 += args;
                                } else {
                                    return Err(format!("tool call index {index} skips ahead"));
                                }
                            }
                        }
                        other => return Err(format!("unexpected delta key {other}")),
                    }
                }
                if let Some(reason) = choice["finish_reason"].as_str() {
                    a.finish_reason = Some(reason.to_string());
                } else if !choice["finish_reason"].is_null() {
                    return Err(format!("frame {n}: bad finish_reason"));
                }
            }
            _ => return Err(format!("frame {n}: unexpected choices {choices:?}")),
        }
    }
    if a.finish_reason.is_some() == a.error.is_some() {
        return Err(format!(
            "need exactly one of finish_reason and error, got {:?} / {:?}",
            a.finish_reason, a.error
        ));
    }
    Ok(a)
}

/// The stream id the upstream implies: the first response id, else the first item id.
fn expected_id(input: &[u8]) -> Option<String> {
    upstream_events(input)
        .into_iter()
        .filter_map(|(_, data)| serde_json::from_str::<Value>(&data).ok())
        .find_map(|event| {
            let id = event["response"]["id"]
                .as_str()
                .or(event["item_id"].as_str())
                .or(event["item"]["id"].as_str());
            id.map(str::to_string)
        })
}

fn check(name: &str, input: &[u8], output: &[u8]) -> Result<(), String> {
    let a = assemble(output)?;
    if let (Some(expected), Some(id)) = (expected_id(input), &a.id) {
        if &expected != id {
            return Err(format!("stream id {id}, upstream implies {expected}"));
        }
    }
    let Some(terminal) = upstream_terminal(input) else {
        let code = a.error.as_ref().map(|e| e["code"].clone());
        return match code {
            Some(Value::String(code)) if code == "stream_truncated" => Ok(()),
            _ => Err(format!(
                "no upstream terminal, expected stream_truncated, got {:?} {:?}",
                a.finish_reason, a.error
            )),
        };
    };
    let kind = terminal["type"].as_str().unwrap_or("");
    let response = &terminal["response"];
    match kind {
        "response.failed" | "error" => {
            let error = a
                .error
                .as_ref()
                .ok_or("failure not reported as an error frame")?;
            let upstream = if kind == "error" {
                terminal
                    .get("message")
                    .or(terminal["error"].get("message"))
                    .cloned()
            } else {
                response["error"].get("message").cloned()
            };
            if let Some(Value::String(message)) = upstream {
                if error["message"] != message.as_str() {
                    return Err(format!(
                        "error message {} != upstream {message}",
                        error["message"]
                    ));
                }
            }
            return Ok(());
        }
        "response.cancelled" => {
            return match a.error {
                Some(e) if e["code"] == "cancelled" => Ok(()),
                other => Err(format!("cancelled reported as {other:?}")),
            }
        }
        _ => {}
    }
    let calls = output_calls(input, &terminal);
    let expected_reason = match (kind, response["incomplete_details"]["reason"].as_str()) {
        ("response.incomplete", Some("content_filter")) => "content_filter",
        ("response.incomplete", _) => "length",
        _ if !calls.is_empty() => "tool_calls",
        _ => "stop",
    };
    if a.finish_reason.as_deref() != Some(expected_reason) {
        return Err(format!(
            "finish_reason {:?}, expected {expected_reason}",
            a.finish_reason
        ));
    }
    let text = edited_content(name).map_or_else(|| output_text(input, &terminal), str::to_string);
    if a.content != text {
        return Err(format!(
            "content differs from the final response:\n  ours:     {:?}\n  upstream: {:?}",
            a.content, text
        ));
    }
    if a.calls != calls {
        return Err(format!(
            "tool calls differ:\n  ours:     {:?}\n  upstream: {calls:?}",
            a.calls
        ));
    }
    let usage = &response["usage"];
    if usage.is_object() {
        let ours = a.usage.as_ref().ok_or("usage missing")?;
        let (input_tokens, output_tokens) = (
            usage["input_tokens"].as_u64(),
            usage["output_tokens"].as_u64(),
        );
        let expected = [
            ("prompt_tokens", input_tokens),
            ("completion_tokens", output_tokens),
            (
                "total_tokens",
                input_tokens.zip(output_tokens).map(|(i, o)| i + o),
            ),
        ];
        for (key, value) in expected {
            if ours[key].as_u64() != value {
                return Err(format!("usage {key}: {} vs {value:?}", ours[key]));
            }
        }
        if ours["prompt_tokens_details"]["cached_tokens"]
            != usage["input_tokens_details"]["cached_tokens"]
        {
            return Err("cached_tokens differ".into());
        }
        if ours["completion_tokens_details"]["reasoning_tokens"]
            != usage["output_tokens_details"]["reasoning_tokens"]
        {
            return Err("reasoning_tokens differ".into());
        }
    }
    Ok(())
}

#[test]
fn every_corpus_stream_translates_identically_at_every_split_and_matches_its_final_response() {
    let Some(corpus) = corpus() else { return };
    let mut failures = Vec::new();
    for (name, input) in &corpus {
        let whole = transcode(Dialect::Chat, StreamOptions::default(), input, SPLITS[0]);
        for split in &SPLITS[1..] {
            let split_output = transcode(Dialect::Chat, StreamOptions::default(), input, *split);
            assert!(
                split_output == whole,
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
