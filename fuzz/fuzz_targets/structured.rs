//! Well-formed Responses events in arbitrary order with arbitrary indices, ids and text, framed
//! with arbitrary line endings: both encoders keep their invariants, whole and in chunks.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use responses_transcoder::StreamOptions;
use responses_transcoder_fuzz::invariants::check_all;
use serde_json::{json, Value};

#[derive(Arbitrary, Debug)]
enum Kind {
    Message,
    FunctionCall,
    CustomToolCall,
    Reasoning,
    WebSearch,
}

#[derive(Arbitrary, Debug)]
enum Event {
    Created {
        id: u8,
        with_model: bool,
    },
    ItemAdded {
        at: u8,
        kind: Kind,
        id: u8,
    },
    ItemDone {
        at: u8,
        kind: Kind,
        id: u8,
        text: String,
    },
    PartAdded {
        at: u8,
        part: u8,
    },
    TextDelta {
        at: u8,
        part: u8,
        text: String,
    },
    TextDone {
        at: u8,
        part: u8,
        text: String,
    },
    RefusalDelta {
        at: u8,
        text: String,
    },
    ArgumentsDelta {
        at: u8,
        text: String,
    },
    ArgumentsDone {
        at: u8,
        text: String,
    },
    SummaryDelta {
        at: u8,
        summary: u8,
        text: String,
    },
    ReasoningTextDelta {
        at: u8,
        text: String,
    },
    Completed {
        id: u8,
        with_output: bool,
    },
    Incomplete {
        reason: u8,
    },
    Failed {
        code: u8,
    },
    Cancelled,
    Error {
        code: u8,
    },
    Unknown,
    Comment,
    Done,
    Garbage(Vec<u8>),
}

fn item(kind: &Kind, id: u8, text: &str) -> Value {
    match kind {
        Kind::Message => json!({"type": "message", "id": format!("msg_{id}"), "role": "assistant",
            "content": [{"type": "output_text", "text": text}]}),
        Kind::FunctionCall => json!({"type": "function_call", "id": format!("fc_{id}"),
            "call_id": format!("call_{id}"), "name": "f", "arguments": text}),
        Kind::CustomToolCall => json!({"type": "custom_tool_call", "id": format!("ct_{id}"),
            "call_id": format!("call_{id}"), "name": "g", "input": text}),
        Kind::Reasoning => json!({"type": "reasoning", "id": format!("rs_{id}"),
            "summary": [{"type": "summary_text", "text": text}], "encrypted_content": "sig"}),
        Kind::WebSearch => json!({"type": "web_search_call", "id": format!("ws_{id}")}),
    }
}

fn payload(event: &Event) -> Vec<u8> {
    let value = match event {
        Event::Created { id, with_model } => json!({"type": "response.created", "response":
            {"id": format!("resp_{id}"), "model": if *with_model { "m" } else { "" }, "created_at": 1}}),
        Event::ItemAdded { at, kind, id } => json!({"type": "response.output_item.added",
            "output_index": at, "item": item(kind, *id, "")}),
        Event::ItemDone { at, kind, id, text } => json!({"type": "response.output_item.done",
            "output_index": at, "item": item(kind, *id, text)}),
        Event::PartAdded { at, part } => json!({"type": "response.content_part.added",
            "output_index": at, "content_index": part, "part": {"type": "output_text", "text": ""}}),
        Event::TextDelta { at, part, text } => json!({"type": "response.output_text.delta",
            "output_index": at, "content_index": part, "delta": text}),
        Event::TextDone { at, part, text } => json!({"type": "response.output_text.done",
            "output_index": at, "content_index": part, "text": text}),
        Event::RefusalDelta { at, text } => json!({"type": "response.refusal.delta",
            "output_index": at, "content_index": 0, "delta": text}),
        Event::ArgumentsDelta { at, text } => json!({"type":
            "response.function_call_arguments.delta", "output_index": at, "delta": text}),
        Event::ArgumentsDone { at, text } => json!({"type":
            "response.function_call_arguments.done", "output_index": at, "arguments": text}),
        Event::SummaryDelta { at, summary, text } => json!({"type":
            "response.reasoning_summary_text.delta", "output_index": at, "summary_index": summary,
            "delta": text}),
        Event::ReasoningTextDelta { at, text } => json!({"type": "response.reasoning_text.delta",
            "output_index": at, "content_index": 0, "delta": text}),
        Event::Completed { id, with_output } => json!({"type": "response.completed", "response":
            {"id": format!("resp_{id}"), "status": "completed", "output": if *with_output {
                json!([item(&Kind::Message, 0, "final")]) } else { json!([]) },
             "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}}}),
        Event::Incomplete { reason } => {
            let reason = ["max_output_tokens", "content_filter", "other"][*reason as usize % 3];
            json!({"type": "response.incomplete", "response": {"status": "incomplete",
                "incomplete_details": {"reason": reason}}})
        }
        Event::Failed { code } => {
            let code =
                ["server_error", "rate_limit_exceeded", "invalid_prompt"][*code as usize % 3];
            json!({"type": "response.failed", "response": {"status": "failed",
                "error": {"code": code, "message": "m"}}})
        }
        Event::Cancelled => {
            json!({"type": "response.cancelled", "response": {"status": "cancelled"}})
        }
        Event::Error { code } => {
            json!({"type": "error", "code": format!("e{code}"), "message": "m"})
        }
        Event::Unknown => json!({"type": "response.web_search_call.searching", "output_index": 0}),
        Event::Comment => return b": keep-alive".to_vec(),
        Event::Done => return b"data: [DONE]".to_vec(),
        Event::Garbage(bytes) => return [b"data: ".as_slice(), bytes].concat(),
    };
    format!("data: {value}").into_bytes()
}

#[derive(Arbitrary, Debug)]
struct Input {
    events: Vec<Event>,
    crlf: bool,
    chunks: [u8; 3],
}

fuzz_target!(|input: Input| {
    let eol: &[u8] = if input.crlf { b"\r\n" } else { b"\n" };
    let mut stream = Vec::new();
    for event in &input.events {
        stream.extend_from_slice(&payload(event));
        stream.extend_from_slice(eol);
        stream.extend_from_slice(eol);
    }
    let chunks = input.chunks.map(|c| c as usize + 1);
    check_all(StreamOptions::default(), &stream, &chunks).unwrap();
});
