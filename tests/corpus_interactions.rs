//! Every corpus stream, translated to Interactions at every split, gives the same bytes; those
//! bytes follow Google's framing (event line = `event_type`, one terminal event, `event: done`)
//! and their assembled text, function calls and terminal status match the upstream's final
//! response. Strict validation against the google-genai SDK's own models runs in
//! `tests/e2e/test_interactions_conformance.py`.

mod common;

use common::{
    corpus, edited_content, frames, output_calls, output_text, transcode, upstream_terminal, SPLITS,
};
use responses_transcoder::{Dialect, StreamOptions};
use serde_json::Value;

/// What a client assembles from an Interactions stream.
#[derive(Debug, Default)]
struct Assembled {
    id: Option<String>,
    text: String,
    /// `(id, name, arguments)` per function_call step.
    calls: Vec<(String, String, String)>,
    status: Option<String>,
    error_code: Option<String>,
}

fn assemble(output: &[u8]) -> Result<Assembled, String> {
    let frames = frames(output);
    let (last, body) = frames.split_last().ok_or("empty output")?;
    if last != &(Some("done".to_string()), "[DONE]".to_string()) {
        return Err(format!("last frame is not event: done / [DONE]: {last:?}"));
    }
    let mut a = Assembled::default();
    let mut open: Option<(u64, String)> = None;
    let mut next_index = 0;
    let mut terminals = 0;
    for (n, (event, data)) in body.iter().enumerate() {
        let value: Value =
            serde_json::from_str(data).map_err(|e| format!("frame {n}: {e}: {data}"))?;
        let event_type = value["event_type"]
            .as_str()
            .ok_or(format!("frame {n}: no event_type"))?;
        if event.as_deref() != Some(event_type) {
            return Err(format!(
                "frame {n}: event line {event:?} != event_type {event_type}"
            ));
        }
        if !data.ends_with(&format!("\"event_type\":\"{event_type}\"}}")) {
            return Err(format!("frame {n}: event_type is not the last key: {data}"));
        }
        if data.contains("continuation_token") || data.contains("requires_continuation") {
            return Err(format!("frame {n}: continuation fields: {data}"));
        }
        if terminals > 0 {
            return Err(format!("frame {n} after the terminal event: {data}"));
        }
        match (n, event_type) {
            (0, "interaction.created") | (1, "interaction.status_update") => {
                let id = value["interaction"]["id"]
                    .as_str()
                    .or(value["interaction_id"].as_str());
                let id = id
                    .ok_or(format!("frame {n}: no interaction id"))?
                    .to_string();
                if a.id.get_or_insert(id.clone()) != &id {
                    return Err("status_update id differs from interaction.created id".into());
                }
            }
            (0 | 1, _) => {
                return Err(format!(
                    "frame {n} is {event_type}, expected created/status_update"
                ))
            }
            (_, "step.start") => {
                if let Some(step) = &open {
                    return Err(format!("step {} still open at frame {n}", step.0));
                }
                let index = value["index"].as_u64().ok_or("step.start without index")?;
                if index != next_index {
                    return Err(format!("step index {index}, expected {next_index}"));
                }
                next_index += 1;
                let step = &value["step"];
                let kind = step["type"]
                    .as_str()
                    .ok_or("step without type")?
                    .to_string();
                if kind == "function_call" {
                    let id = step["id"].as_str().ok_or("function_call step without id")?;
                    let name = step["name"]
                        .as_str()
                        .ok_or("function_call step without name")?;
                    a.calls.push((id.into(), name.into(), String::new()));
                }
                open = Some((index, kind));
            }
            (_, "step.delta") => {
                let (index, kind) = open
                    .as_ref()
                    .ok_or(format!("frame {n}: delta outside a step"))?;
                if value["index"] != *index {
                    return Err(format!(
                        "frame {n}: delta for step {} inside step {index}",
                        value["index"]
                    ));
                }
                let delta = &value["delta"];
                match (kind.as_str(), delta["type"].as_str()) {
                    ("model_output", Some("text")) => {
                        a.text += delta["text"].as_str().ok_or("text delta without text")?
                    }
                    ("thought", Some("thought_summary" | "thought_signature")) => {}
                    ("function_call", Some("arguments_delta")) => {
                        let call = a.calls.last_mut().ok_or("arguments without a call")?;
                        call.2 += delta["arguments"]
                            .as_str()
                            .ok_or("arguments_delta without arguments")?;
                    }
                    other => return Err(format!("frame {n}: delta {other:?} in a {kind} step")),
                }
            }
            (_, "step.stop") => {
                let (index, _) = open
                    .take()
                    .ok_or(format!("frame {n}: stop without a step"))?;
                if value["index"] != index {
                    return Err(format!(
                        "frame {n}: stop for {} while {index} open",
                        value["index"]
                    ));
                }
            }
            (_, "interaction.completed") => {
                terminals += 1;
                if value["interaction"]["id"].as_str() != a.id.as_deref() {
                    return Err("terminal event carries another interaction id".into());
                }
                a.status = value["interaction"]["status"].as_str().map(str::to_string);
            }
            (_, "error") => {
                terminals += 1;
                a.error_code = value["error"]["code"].as_str().map(str::to_string);
            }
            (_, other) => return Err(format!("frame {n}: unexpected event type {other}")),
        }
    }
    if open.is_some() {
        return Err("a step is still open at the end".into());
    }
    if terminals != 1 {
        return Err(format!("{terminals} terminal events"));
    }
    Ok(a)
}

fn check(name: &str, input: &[u8], output: &[u8]) -> Result<(), String> {
    let a = assemble(output)?;
    let Some(terminal) = upstream_terminal(input) else {
        return match a.error_code.as_deref() {
            Some("aborted") => Ok(()),
            _ => Err(format!(
                "no upstream terminal, expected aborted, got {:?} {:?}",
                a.status, a.error_code
            )),
        };
    };
    let kind = terminal["type"].as_str().unwrap_or("");
    let reason = terminal["response"]["incomplete_details"]["reason"].as_str();
    let calls = output_calls(input, &terminal);
    let (expected_status, expected_error) = match (kind, reason) {
        ("response.failed" | "error", _) => (None, Some(())),
        ("response.incomplete", Some("content_filter")) => (None, Some(())),
        ("response.incomplete", _) => (Some("incomplete"), None),
        ("response.cancelled", _) => (Some("cancelled"), None),
        _ if !calls.is_empty() => (Some("requires_action"), None),
        _ => (Some("completed"), None),
    };
    if a.status.as_deref() != expected_status || a.error_code.is_some() != expected_error.is_some()
    {
        return Err(format!(
            "terminal {:?}/{:?}, expected {expected_status:?} (error: {})",
            a.status,
            a.error_code,
            expected_error.is_some()
        ));
    }
    if expected_error.is_some() {
        return Ok(());
    }
    let text = edited_content(name).map_or_else(|| output_text(input, &terminal), str::to_string);
    if a.text != text {
        return Err(format!(
            "text differs:\n  ours:     {:?}\n  upstream: {text:?}",
            a.text
        ));
    }
    if a.calls != calls {
        return Err(format!(
            "function calls differ:\n  ours:     {:?}\n  upstream: {calls:?}",
            a.calls
        ));
    }
    Ok(())
}

#[test]
fn every_corpus_stream_translates_identically_at_every_split_and_matches_its_final_response() {
    let Some(corpus) = corpus() else { return };
    let mut failures = Vec::new();
    for (name, input) in &corpus {
        let whole = transcode(
            Dialect::Interactions,
            StreamOptions::default(),
            input,
            SPLITS[0],
        );
        for split in &SPLITS[1..] {
            let split_output = transcode(
                Dialect::Interactions,
                StreamOptions::default(),
                input,
                *split,
            );
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
