//! Invariants every translated stream must meet, whatever the input: shared by the property tests
//! (`tests/properties.rs`) and the fuzz targets (`fuzz/`). Each check returns `Err` with what broke.

use responses_transcoder::{Dialect, Stats, StreamOptions, Transcoder};
use serde_json::Value;

/// Slack allowed above `max_event_bytes` for what the framer holds between chunks: the partial
/// line being read plus one separator byte.
pub const HELD_SLACK: usize = 8;

/// Transcodes `input` cut at the given chunk lengths (cycled; lengths of 0 count as 1), checking
/// after every chunk that the held-back state stays within the cap. Returns the output.
pub fn run(
    dialect: Dialect,
    options: StreamOptions,
    input: &[u8],
    chunks: &[usize],
) -> Result<Vec<u8>, String> {
    let transcoder = Transcoder::new(dialect, options).ok_or("dialect does not transcode")?;
    drive(transcoder, options, input, chunks).map(|(out, _)| out)
}

/// [`run`] honouring the stop sequences `stop`.
pub fn run_with_stop(
    dialect: Dialect,
    options: StreamOptions,
    stop: &[&str],
    input: &[u8],
    chunks: &[usize],
) -> Result<Vec<u8>, String> {
    let stop = responses_transcoder::stop::StopSequences::new(
        stop.iter().map(|s| s.to_string()).collect(),
    );
    let transcoder = Transcoder::new(dialect, options)
        .ok_or("dialect does not transcode")?
        .with_stop_sequences(&stop);
    drive(transcoder, options, input, chunks).map(|(out, _)| out)
}

/// [`run`] with a given transcoder; returns its output and its counters.
fn drive(
    mut transcoder: Transcoder,
    options: StreamOptions,
    input: &[u8],
    chunks: &[usize],
) -> Result<(Vec<u8>, Stats), String> {
    let mut out = Vec::new();
    for piece in pieces(input, chunks) {
        transcoder.feed(piece, &mut out);
        let held = transcoder.held_bytes();
        if held > options.max_event_bytes + HELD_SLACK {
            return Err(format!(
                "held {held} bytes with a cap of {}",
                options.max_event_bytes
            ));
        }
    }
    transcoder.finish(&mut out);
    if !transcoder.is_finished() {
        return Err("finish() left the stream without a terminal".into());
    }
    Ok((out, transcoder.stats()))
}

/// Every dialect that transcodes.
pub const DIALECTS: [Dialect; 3] = [Dialect::Chat, Dialect::Interactions, Dialect::Anthropic];

/// Checks that the fast path changes nothing: in every dialect, `input` whole and in `chunks`
/// gives the same bytes and the same counters as every event through the full parse.
pub fn check_fast_path(
    options: StreamOptions,
    input: &[u8],
    chunks: &[usize],
) -> Result<(), String> {
    for dialect in DIALECTS {
        let transcoder = || Transcoder::new(dialect, options).ok_or("dialect does not transcode");
        let reference = drive(
            transcoder()?.without_fast_path(),
            options,
            input,
            &[usize::MAX],
        )?;
        for chunks in [&[usize::MAX][..], chunks] {
            let fast = drive(transcoder()?, options, input, chunks)?;
            if fast.1 != reference.1 {
                return Err(format!(
                    "{dialect:?}, chunks {chunks:?}: counters {:?} with the fast path, {:?} without",
                    fast.1, reference.1
                ));
            }
            if fast.0 != reference.0 {
                let at = fast.0.iter().zip(&reference.0).position(|(a, b)| a != b);
                return Err(format!(
                    "{dialect:?}, chunks {chunks:?}: output differs from the full parse at byte {at:?}"
                ));
            }
        }
    }
    Ok(())
}

/// `input` cut at the given lengths, cycled (a length of 0 counts as 1; an empty list means
/// the whole input at once).
pub fn pieces<'a>(input: &'a [u8], lengths: &'a [usize]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = input;
    let mut lengths = lengths.iter().cycle();
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = lengths
            .next()
            .copied()
            .unwrap_or(rest.len())
            .clamp(1, rest.len());
        let (piece, tail) = rest.split_at(n);
        rest = tail;
        Some(piece)
    })
}

/// Checks `input` in every dialect: the output is the same whole and in `chunks`, and well formed.
pub fn check_all(options: StreamOptions, input: &[u8], chunks: &[usize]) -> Result<(), String> {
    for dialect in DIALECTS {
        let whole = run(dialect, options, input, &[usize::MAX])?;
        let split = run(dialect, options, input, chunks)?;
        if whole != split {
            return Err(format!(
                "{dialect:?}: output differs between whole input and chunks {chunks:?}"
            ));
        }
        check_output(dialect, &whole).map_err(|e| format!("{dialect:?}: {e}"))?;
    }
    Ok(())
}

/// Checks one dialect's output for well-formedness and exactly one terminal.
pub fn check_output(dialect: Dialect, out: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(out).map_err(|e| format!("output is not UTF-8: {e}"))?;
    let body = text
        .strip_suffix("\n\n")
        .ok_or("output does not end with a blank line")?;
    // Upstream keepalives pass on as comments, wherever they came; the rest is the dialect's.
    let blocks: Vec<&str> = body
        .split("\n\n")
        .filter(|block| *block != ": keepalive")
        .collect();
    match dialect {
        Dialect::Chat => check_chat(&blocks),
        Dialect::Interactions => check_interactions(&blocks),
        Dialect::Anthropic => check_anthropic(&blocks),
        Dialect::Passthrough => Err("passthrough has no output format".into()),
    }
}

fn parse(data: &str) -> Result<Value, String> {
    parse_json(data).map_err(|e| format!("not JSON ({e}): {data}"))
}

/// Parses JSON text as RFC 8259 defines it. Values the filter copies as they came may hold what
/// the grammar allows but `serde_json` refuses to build a `Value` from: a number beyond `f64`'s
/// range (`1e999`; Python and JavaScript read infinity) or a lone surrogate escape (`"\uDAFE"`;
/// both read it as is). The grammar is checked as it is; for the rest of the checks such numbers
/// read as `0` and such escapes as U+FFFD.
pub fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| e.to_string())?;
    serde_json::from_str(text)
        .or_else(|_| serde_json::from_str(&readable(text)))
        .map_err(|e| e.to_string())
}

/// `text` (grammatical JSON) with every number token that `f64` reads as infinite replaced by
/// `0`, and every unpaired surrogate escape by `\uFFFD`.
fn readable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut in_string = false;
    while let Some(c) = rest.chars().next() {
        if in_string && c == '\\' {
            let unit = |s: &str| {
                s.strip_prefix("\\u")
                    .and_then(|s| s.get(..4))
                    .and_then(|hex| u16::from_str_radix(hex, 16).ok())
            };
            match unit(rest) {
                Some(0xD800..=0xDBFF) if matches!(unit(&rest[6..]), Some(0xDC00..=0xDFFF)) => {
                    out.push_str(&rest[..12]);
                    rest = &rest[12..];
                }
                Some(0xD800..=0xDFFF) => {
                    out.push_str("\\uFFFD");
                    rest = &rest[6..];
                }
                _ => {
                    let len = 1 + rest[1..].chars().next().map_or(0, char::len_utf8);
                    out.push_str(&rest[..len]);
                    rest = &rest[len..];
                }
            }
        } else if !in_string && (c == '-' || c.is_ascii_digit()) {
            let len = rest
                .find(|n: char| !(n.is_ascii_digit() || matches!(n, '.' | 'e' | 'E' | '+' | '-')))
                .unwrap_or(rest.len());
            match rest[..len].parse::<f64>() {
                Ok(n) if n.is_infinite() => out.push('0'),
                _ => out.push_str(&rest[..len]),
            }
            rest = &rest[len..];
        } else {
            if c == '"' {
                in_string = !in_string;
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn check_chat(blocks: &[&str]) -> Result<(), String> {
    let (last, events) = blocks.split_last().ok_or("empty output")?;
    if *last != "data: [DONE]" {
        return Err(format!("last event is not [DONE]: {last}"));
    }
    let (mut terminals, mut id, mut next_tool_index) = (0, None::<String>, 0u64);
    for block in events {
        let data = block
            .strip_prefix("data: ")
            .filter(|d| !d.contains('\n'))
            .ok_or_else(|| format!("not a single data line: {block}"))?;
        let value = parse(data)?;
        if terminals > 0 && !matches!(value["choices"].as_array(), Some(c) if c.is_empty()) {
            return Err(format!("output after the terminal: {data}"));
        }
        if value.get("error").is_some() {
            if value["error"]["message"].as_str().is_none() {
                return Err(format!("error frame without message: {data}"));
            }
            terminals += 1;
            continue;
        }
        if value["object"] != "chat.completion.chunk" {
            return Err(format!("not a chunk: {data}"));
        }
        let chunk_id = value["id"].as_str().ok_or("chunk without id")?.to_string();
        if *id.get_or_insert_with(|| chunk_id.clone()) != chunk_id {
            return Err(format!("stream id changed to {chunk_id}"));
        }
        for choice in value["choices"].as_array().ok_or("chunk without choices")? {
            if choice["index"] != 0 {
                return Err(format!("choice index is not 0: {data}"));
            }
            for call in choice["delta"]["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let index = call["index"].as_u64().ok_or("tool call without index")?;
                if index > next_tool_index {
                    return Err(format!("tool call index {index} skips {next_tool_index}"));
                }
                next_tool_index = next_tool_index.max(index + 1);
            }
            if !choice["finish_reason"].is_null() {
                terminals += 1;
            }
        }
    }
    match terminals {
        1 => Ok(()),
        n => Err(format!("{n} terminals (finish_reason or error frame)")),
    }
}

fn check_interactions(blocks: &[&str]) -> Result<(), String> {
    let (last, events) = blocks.split_last().ok_or("empty output")?;
    if *last != "event: done\ndata: [DONE]" {
        return Err(format!("last event is not done/[DONE]: {last}"));
    }
    let (terminal, steps) = events.split_last().ok_or("no terminal event")?;
    let (mut open, mut next_index) = (None::<u64>, 0u64);
    for (n, block) in events.iter().enumerate() {
        let (event_line, data_line) = block
            .split_once('\n')
            .ok_or_else(|| format!("not two lines: {block}"))?;
        let name = event_line
            .strip_prefix("event: ")
            .ok_or_else(|| format!("no event line: {block}"))?;
        let data = data_line
            .strip_prefix("data: ")
            .filter(|d| !d.contains('\n'))
            .ok_or_else(|| format!("not one data line: {block}"))?;
        if !data.ends_with(&format!("\"event_type\":\"{name}\"}}")) {
            return Err(format!("event_type is not last or differs: {block}"));
        }
        let value = parse(data)?;
        let is_terminal = matches!(name, "interaction.completed" | "error");
        if is_terminal != (n == steps.len()) {
            return Err(format!("terminal {name} at event {n} of {}", events.len()));
        }
        let index = value["index"].as_u64();
        match name {
            "step.start" => {
                if open.is_some() || index != Some(next_index) {
                    return Err(format!("step.start out of order: {data}"));
                }
                open = index;
                next_index += 1;
            }
            "step.delta" | "step.stop" => {
                if open.is_none() || index != open {
                    return Err(format!("{name} outside its step: {data}"));
                }
                if name == "step.stop" {
                    open = None;
                }
            }
            "interaction.created"
            | "interaction.status_update"
            | "interaction.completed"
            | "error" => {}
            other => return Err(format!("unknown event {other}")),
        }
    }
    if open.is_some() {
        return Err(format!("a step is still open at the terminal: {terminal}"));
    }
    Ok(())
}

/// Anthropic: `event:` + one `data:` line whose `type` is the event name; `message_start` first
/// (unless the stream fails at once); blocks opened, filled and closed in order with indices
/// 0, 1, 2, …; exactly one ending, last: `message_delta` + `message_stop`, or one `error`.
fn check_anthropic(blocks: &[&str]) -> Result<(), String> {
    let (mut started, mut open, mut next_index) = (false, None::<u64>, 0u64);
    let (mut delta_seen, mut ended) = (false, false);
    for (n, block) in blocks.iter().enumerate() {
        if ended {
            return Err(format!("output after the ending: {block}"));
        }
        let (event_line, data_line) = block
            .split_once('\n')
            .ok_or_else(|| format!("not two lines: {block}"))?;
        let name = event_line
            .strip_prefix("event: ")
            .ok_or_else(|| format!("no event line: {block}"))?;
        let data = data_line
            .strip_prefix("data: ")
            .filter(|d| !d.contains('\n'))
            .ok_or_else(|| format!("not one data line: {block}"))?;
        if !data.starts_with(&format!("{{\"type\":\"{name}\"")) {
            return Err(format!("type is not first or differs: {block}"));
        }
        let value = parse(data)?;
        if name != "error" && name != "message_start" && !started {
            return Err(format!("{name} before message_start"));
        }
        if delta_seen && name != "message_stop" {
            return Err(format!("{name} after message_delta"));
        }
        let index = value["index"].as_u64();
        match name {
            "message_start" => {
                if n != 0 {
                    return Err("message_start is not first".into());
                }
                started = true;
            }
            "content_block_start" => {
                if open.is_some() || index != Some(next_index) {
                    return Err(format!("content_block_start out of order: {data}"));
                }
                open = index;
                next_index += 1;
            }
            "content_block_delta" | "content_block_stop" => {
                if open.is_none() || index != open {
                    return Err(format!("{name} outside its block: {data}"));
                }
                if name == "content_block_stop" {
                    open = None;
                }
            }
            "message_delta" => {
                if open.is_some() {
                    return Err("message_delta with a block open".into());
                }
                if value["delta"]["stop_reason"].as_str().is_none() {
                    return Err(format!("message_delta without stop_reason: {data}"));
                }
                delta_seen = true;
            }
            "message_stop" => {
                if !delta_seen {
                    return Err("message_stop without message_delta".into());
                }
                ended = true;
            }
            "error" => {
                if value["error"]["message"].as_str().is_none()
                    || value["error"]["type"].as_str().is_none()
                {
                    return Err(format!("error without type or message: {data}"));
                }
                ended = true;
            }
            other => return Err(format!("unknown event {other}")),
        }
    }
    if !ended {
        return Err("no ending (message_stop or error)".into());
    }
    Ok(())
}
