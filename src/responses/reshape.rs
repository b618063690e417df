//! An upstream answer of the other shape than the client asked for, made into the one it asked
//! for, still in the Responses API's terms (the dialect translators take it from there):
//!
//! * [`stream_of_object`]: a JSON `Response` (a server that ignores `stream`, a cache) → the SSE
//!   events a stream of it would have carried: `response.created`, per output item
//!   `response.output_item.added` and `.done` (the encoders emit an item's text and arguments
//!   from its `done` event when no deltas came), and the terminal event its `status` names. A
//!   response still `queued` / `in_progress` gets no terminal event, so the client learns that it
//!   did not finish.
//! * [`object_of_stream`]: an SSE stream → the `Response` its terminal event carries
//!   (`response.completed`, `.incomplete`, `.failed`, `.cancelled`: the Responses API puts the
//!   whole object there), or a failed `Response` for an `error` event or a stream that ended
//!   without a terminal event.

use crate::json::{push_raw, push_u64, Fields, ObjectWriter};
use crate::sse::{Frame, Framer};
use serde_json::value::RawValue;

/// The events of a stream carrying the response `body`, as SSE bytes; `None` when `body` is not
/// a JSON object with an `output` array or a `status`.
pub fn stream_of_object(body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let fields = Fields::parse(text)?;
    let status = fields
        .get("status")
        .and_then(|s| serde_json::from_str::<&str>(s.get()).ok());
    let items: Vec<&RawValue> = match fields.get("output") {
        Some(output) => serde_json::from_str(output.get()).ok()?,
        None if status.is_some() => Vec::new(),
        None => return None,
    };
    let response = text.trim();
    let mut out = Vec::with_capacity(body.len() * 2 + 256);
    let mut sequence = 0;
    let mut event = |out: &mut Vec<u8>, kind: &str, fill: &dyn Fn(&mut ObjectWriter)| {
        out.extend_from_slice(b"data: ");
        let mut writer = ObjectWriter::new(out);
        writer.str("type", kind);
        writer.u64("sequence_number", sequence);
        fill(&mut writer);
        writer.end();
        out.extend_from_slice(b"\n\n");
        sequence += 1;
    };
    event(&mut out, "response.created", &|w| {
        w.raw("response", response)
    });
    for (index, item) in items.iter().enumerate() {
        for kind in ["response.output_item.added", "response.output_item.done"] {
            event(&mut out, kind, &|w| {
                push_u64(w.key("output_index"), index as u64);
                push_raw(w.key("item"), item.get());
            });
        }
    }
    let terminal = match status {
        Some("completed") => Some("response.completed"),
        Some("incomplete") => Some("response.incomplete"),
        Some("failed") => Some("response.failed"),
        Some("cancelled") => Some("response.cancelled"),
        None if fields.get("error").is_some_and(|e| e.get() != "null") => Some("response.failed"),
        _ => None,
    };
    if let Some(kind) = terminal {
        event(&mut out, kind, &|w| w.raw("response", response));
    }
    Some(out)
}

/// The `Response` a stream `body` ended with, as JSON; events over `max_event_bytes` are
/// skipped. Never fails: a stream without a terminal event gives a failed response saying so.
pub fn object_of_stream(body: &[u8], max_event_bytes: usize) -> Vec<u8> {
    let mut framer = Framer::new(max_event_bytes);
    let mut last: Option<Vec<u8>> = None;
    let mut take = |frame: Frame| {
        if let Some(found) = match frame {
            Frame::Event(data) => terminal_of(data),
            Frame::Comment => None,
        } {
            last = Some(found);
        }
    };
    // An event over the cap ends the framing; what came before it still counts.
    let _ = framer
        .feed(body, &mut take)
        .and_then(|()| framer.finish(&mut take));
    last.unwrap_or_else(|| {
        failed(
            "\"stream_truncated\"",
            "\"the upstream stream ended before the response did\"",
        )
    })
}

/// The response of a terminal event's payload, or a failed one for an `error` event.
fn terminal_of(data: &[u8]) -> Option<Vec<u8>> {
    let fields = Fields::parse(std::str::from_utf8(data).ok()?)?;
    let kind: &str = serde_json::from_str(fields.get("type")?.get()).ok()?;
    match kind {
        "response.completed" | "response.incomplete" | "response.failed" | "response.cancelled" => {
            Some(fields.get("response")?.get().as_bytes().to_vec())
        }
        "error" => {
            let nested = fields.get("error").and_then(|e| Fields::parse(e.get()));
            let source = nested.as_ref().unwrap_or(&fields);
            let code = source.get("code").map_or("null", RawValue::get);
            let message = source
                .get("message")
                .map_or("\"the upstream reported an error\"", RawValue::get);
            Some(failed(code, message))
        }
        _ => None,
    }
}

/// A failed `Response` with the given raw JSON `code` and `message`.
fn failed(code: &str, message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 96);
    let mut response = ObjectWriter::new(&mut out);
    response.str("object", "response");
    response.str("status", "failed");
    let error = response.key("error");
    let mut fields = ObjectWriter::new(error);
    fields.raw("code", code);
    fields.raw("message", message);
    fields.end();
    response.raw("output", "[]");
    response.end();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(sse: &[u8]) -> Vec<serde_json::Value> {
        String::from_utf8(sse.to_vec())
            .unwrap()
            .split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn an_object_becomes_created_items_and_its_terminal() {
        let body = br#"{"id":"resp_1","object":"response","status":"incomplete","output":[{"type":"message","content":[]},{"type":"function_call","call_id":"c"}]}"#;
        let events = events(&stream_of_object(body).unwrap());
        let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "response.created",
                "response.output_item.added",
                "response.output_item.done",
                "response.output_item.added",
                "response.output_item.done",
                "response.incomplete"
            ]
        );
        assert_eq!(events[3]["output_index"], 1);
        assert_eq!(events[3]["item"]["call_id"], "c");
        assert_eq!(events[5]["response"]["id"], "resp_1");
        assert_eq!(events[5]["sequence_number"], 5);
    }

    #[test]
    fn a_running_object_gets_no_terminal_and_a_non_object_no_stream() {
        let events = events(&stream_of_object(br#"{"status":"queued"}"#).unwrap());
        assert_eq!(events.len(), 1);
        assert!(stream_of_object(br#"{"hello":1}"#).is_none());
        assert!(stream_of_object(b"<html>").is_none());
        assert!(stream_of_object(br#"{"output":3}"#).is_none());
    }

    #[test]
    fn a_stream_becomes_its_terminal_response() {
        let sse = b"event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r\",\"status\":\"in_progress\"}}\n\n: keepalive\n\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\",\"status\":\"completed\",\"output\":[]}}\n\n";
        let object: serde_json::Value =
            serde_json::from_slice(&object_of_stream(sse, 1024)).unwrap();
        assert_eq!(object["status"], "completed");
    }

    #[test]
    fn an_error_event_or_a_cut_stream_is_a_failed_response() {
        let sse = b"data: {\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":\"slow down\"}\n\n";
        let object: serde_json::Value =
            serde_json::from_slice(&object_of_stream(sse, 1024)).unwrap();
        assert_eq!(object["status"], "failed");
        assert_eq!(object["error"]["code"], "rate_limit_exceeded");
        assert_eq!(object["error"]["message"], "slow down");
        let nested = b"data: {\"type\":\"error\",\"error\":{\"code\":\"server_error\",\"message\":\"x\"}}\n\n";
        let object: serde_json::Value =
            serde_json::from_slice(&object_of_stream(nested, 1024)).unwrap();
        assert_eq!(object["error"]["code"], "server_error");
        let cut = b"data: {\"type\":\"response.created\",\"response\":{}}\n\n";
        let object: serde_json::Value =
            serde_json::from_slice(&object_of_stream(cut, 1024)).unwrap();
        assert_eq!(object["error"]["code"], "stream_truncated");
    }
}
