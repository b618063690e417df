//! Helpers shared by the integration tests: the corpus, chunked feeding, SSE frame splitting.
#![allow(dead_code)] // each test binary uses its own subset

pub mod deltas;
pub mod invariants;

use responses_transcoder::{Dialect, StreamOptions, Transcoder};
use serde_json::Value;
use std::path::PathBuf;

/// The chunk sizes every stream is fed in (`usize::MAX` = the whole stream at once).
pub const SPLITS: [usize; 4] = [usize::MAX, 4096, 7, 1];

/// The shared corpus of real Responses streams, or `None` (with a visible note) when this
/// checkout has no `../shared/corpus` beside it.
pub fn corpus() -> Option<Vec<(String, Vec<u8>)>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "SKIPPED: corpus not found at {} (it lives beside the repo in the project workspace)",
            dir.display()
        );
        return None;
    };
    let mut files: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sse"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&p).unwrap();
            (name, bytes)
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 100,
        "corpus at {} has only {} streams",
        dir.display(),
        files.len()
    );
    Some(files)
}

/// Recordings edited by hand so that their own events disagree: `(file, text the client must
/// get, why)`. The client gets what was streamed, plus a `done` tail only where it continues the
/// deltas.
const EDITED: [(&str, &str, &str); 2] = [
    (
        "vercel-ai-inline__should-send-finish-reason-for-incomplete-response.sse",
        "Hello,!",
        "deltas say \"Hello,\", output_text.done continues it with \"!\", the final output drops the \"!\"",
    ),
    (
        "vercel-ai__openai-shell-container.1.sse",
        "The command ran successfully.",
        "the deltas end in \"successfully.\" but every done event says \"successfully in the container…\"",
    ),
];

/// The text a client must assemble from an edited recording, when `file` is one.
pub fn edited_content(file: &str) -> Option<&'static str> {
    EDITED
        .iter()
        .find(|(name, _, _)| *name == file)
        .map(|(_, content, _)| *content)
}

/// Transcodes `input` fed in chunks of `split` bytes.
pub fn transcode(dialect: Dialect, options: StreamOptions, input: &[u8], split: usize) -> Vec<u8> {
    let mut transcoder = Transcoder::new(dialect, options).expect("dialect transcodes");
    let mut out = Vec::new();
    for chunk in input.chunks(split.clamp(1, input.len().max(1))) {
        transcoder.feed(chunk, &mut out);
    }
    transcoder.finish(&mut out);
    out
}

/// Splits an SSE byte stream into `(event name, data)` frames; the output of our encoders is
/// always `\n`-terminated with one `data:` line per frame.
pub fn frames(output: &[u8]) -> Vec<(Option<String>, String)> {
    let text = std::str::from_utf8(output).expect("output is UTF-8");
    assert!(
        text.is_empty() || text.ends_with("\n\n"),
        "output must end with a blank line"
    );
    text.split_terminator("\n\n")
        .map(|block| {
            let mut event = None;
            let mut data = None;
            for line in block.split('\n') {
                if let Some(v) = line.strip_prefix("event: ") {
                    assert!(
                        event.replace(v.to_string()).is_none(),
                        "two event lines in {block:?}"
                    );
                } else if let Some(v) = line.strip_prefix("data: ") {
                    assert!(
                        data.replace(v.to_string()).is_none(),
                        "two data lines in {block:?}"
                    );
                } else {
                    panic!("unexpected line {line:?} in frame {block:?}");
                }
            }
            (
                event,
                data.unwrap_or_else(|| panic!("frame without data: {block:?}")),
            )
        })
        .collect()
}

/// The upstream's own account of the stream: its first terminal event, if any (the transcoder
/// ends at the first one).
pub fn upstream_terminal(input: &[u8]) -> Option<Value> {
    upstream_events(input)
        .into_iter()
        .filter_map(|(_, data)| serde_json::from_str::<Value>(&data).ok())
        .find(|value| {
            matches!(
                value["type"].as_str().unwrap_or(""),
                "response.completed"
                    | "response.incomplete"
                    | "response.failed"
                    | "response.cancelled"
                    | "error"
            )
        })
}

/// Raw upstream events (for expectations only; a plain splitter, not the framer under test).
pub fn upstream_events(input: &[u8]) -> Vec<(Option<String>, String)> {
    let text = String::from_utf8_lossy(input).replace("\r\n", "\n");
    text.split("\n\n")
        .filter_map(|block| {
            let data: Vec<&str> = block
                .lines()
                .filter_map(|l| {
                    l.strip_prefix("data:")
                        .map(|d| d.strip_prefix(' ').unwrap_or(d))
                })
                .collect();
            (!data.is_empty()).then(|| (None, data.join("\n")))
        })
        .collect()
}

/// Output items the stream ends with: the terminal response's `output`, or, when a hand-made
/// stream left it empty, the items of its `response.output_item.done` events.
pub fn output_items(input: &[u8], terminal: &Value) -> Vec<Value> {
    let items = terminal["response"]["output"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !items.is_empty() {
        return items;
    }
    upstream_json(input)
        .filter(|event| event["type"] == "response.output_item.done")
        .map(|event| event["item"].clone())
        .collect()
}

/// Upstream payloads that are JSON.
pub fn upstream_json(input: &[u8]) -> impl Iterator<Item = Value> {
    upstream_events(input)
        .into_iter()
        .filter_map(|(_, data)| serde_json::from_str(&data).ok())
}

/// Concatenated `output_text` of the message items; when the stream has no items at all, the
/// concatenated text deltas.
pub fn output_text(input: &[u8], terminal: &Value) -> String {
    let items = output_items(input, terminal);
    if items.is_empty() {
        return upstream_json(input)
            .filter(|event| event["type"] == "response.output_text.delta")
            .map(|event| event["delta"].as_str().unwrap_or("").to_string())
            .collect();
    }
    items
        .iter()
        .filter(|item| item["type"] == "message")
        .flat_map(|item| item["content"].as_array().cloned().unwrap_or_default())
        .filter(|part| part["type"] == "output_text")
        .map(|part| part["text"].as_str().unwrap_or("").to_string())
        .collect()
}

/// `(call_id, name, arguments)` of the function and custom tool calls. The call id is the one
/// the stream announced first (`output_item.added`): hand-made streams change it later.
pub fn output_calls(input: &[u8], terminal: &Value) -> Vec<(String, String, String)> {
    let announced: Vec<String> = upstream_json(input)
        .filter(|event| event["type"] == "response.output_item.added")
        .filter(|event| {
            event["item"]["type"] == "function_call" || event["item"]["type"] == "custom_tool_call"
        })
        .map(|event| event["item"]["call_id"].as_str().unwrap_or("").to_string())
        .collect();
    output_items(input, terminal)
        .iter()
        .filter(|item| item["type"] == "function_call" || item["type"] == "custom_tool_call")
        .enumerate()
        .map(|(n, item)| {
            let args = item.get("arguments").or_else(|| item.get("input"));
            let id = announced
                .get(n)
                .cloned()
                .unwrap_or_else(|| item["call_id"].as_str().unwrap_or("").to_string());
            (
                id,
                item["name"].as_str().unwrap_or("").to_string(),
                args.and_then(Value::as_str).unwrap_or("").to_string(),
            )
        })
        .collect()
}
