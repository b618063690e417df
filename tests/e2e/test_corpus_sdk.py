"""Every corpus stream, checked with the official SDKs' own models (no Envoy here; see
test_corpus_envoy.py for the same streams through Envoy).

Interactions: identical output at splits whole / 4096 / 7 / 1, every event strictly valid against
google-genai's `InteractionSSEEvent`, exactly one terminal, and text / function-call arguments /
status matching the upstream's final response. Chat: every chunk valid as openai's
`ChatCompletionChunk`, and the SDK's own accumulator assembling the upstream's text. Anthropic:
identical output at every split, every event valid as anthropic's `RawMessageStreamEvent`, and the
SDK's own accumulator (`accumulate_event`, what `messages.stream()` runs) assembling the upstream's
text, tool calls and stop reason — or an `error` event, never a success, for every failure.
"""

import json

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import RawMessageStreamEvent
from openai.lib.streaming.chat import ChatCompletionStreamState
from pydantic import TypeAdapter
from openai.types.chat import ChatCompletionChunk

from conftest import CORPUS, corpus_files, transcode
from strict import assert_strict, parse_stream

# Recordings whose final response was edited by hand after capture, so that it disagrees with the
# streamed deltas: (file, the text the stream itself carries).
EDITED = {
    "vercel-ai-inline__should-send-finish-reason-for-incomplete-response.sse": "Hello,!",
    "vercel-ai__openai-shell-container.1.sse": "The command ran successfully.",
}
TERMINALS = ("response.completed", "response.incomplete", "response.failed",
             "response.cancelled", "error")


def corpus_names():
    return [p.name for p in sorted(CORPUS.glob("*.sse"))] if CORPUS.is_dir() else ["<absent>"]


def upstream_json(raw: bytes) -> list:
    events = []
    for block in raw.decode("utf-8", "replace").replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(line[5:].removeprefix(" ") for line in block.split("\n")
                         if line.startswith("data:"))
        try:
            value = json.loads(data)
        except ValueError:
            continue
        if isinstance(value, dict):
            events.append(value)
    return events


def upstream_summary(raw: bytes):
    """(terminal event or None, output items, streamed text) of an upstream recording."""
    events = upstream_json(raw)
    terminal = next((e for e in events if e.get("type") in TERMINALS), None)
    items = ((terminal or {}).get("response") or {}).get("output") or [
        e["item"] for e in events if e.get("type") == "response.output_item.done"]
    if items:
        text = "".join(part.get("text", "") for item in items if item.get("type") == "message"
                       for part in item.get("content") or [] if part.get("type") == "output_text")
    else:
        text = "".join(e.get("delta", "") for e in events
                       if e.get("type") == "response.output_text.delta")
    return terminal, items, text


def expected_text(name: str, raw: bytes) -> str:
    return EDITED.get(name) or upstream_summary(raw)[2]


def calls_of(items) -> list:
    return [item.get("arguments", item.get("input", "")) for item in items
            if item.get("type") in ("function_call", "custom_tool_call")]


@pytest.mark.parametrize("name", corpus_names())
def test_interactions_corpus_strict(name):
    path = CORPUS / name
    if not path.is_file():
        corpus_files()  # skips with the reason
    raw = path.read_bytes()
    whole = transcode(path, "interactions")
    for split in (4096, 7, 1):
        assert transcode(path, "interactions", split) == whole, f"split {split} differs"
    events = parse_stream(whole)
    for payload in events:
        assert_strict(payload)

    assert [e["event_type"] for e in events[:2]] == ["interaction.created", "interaction.status_update"]
    ends = [e for e in events if e["event_type"] in ("interaction.completed", "error")]
    assert len(ends) == 1 and ends[0] is events[-1], "exactly one terminal, last"
    end = ends[0]
    stream_id = events[0]["interaction"]["id"]
    if end["event_type"] == "interaction.completed":
        assert end["interaction"]["id"] == stream_id, "terminal id differs from the created id"

    terminal, items, _ = upstream_summary(raw)
    text = "".join(e["delta"]["text"] for e in events
                   if e["event_type"] == "step.delta" and e["delta"]["type"] == "text")
    args = {}
    for e in events:
        if e["event_type"] == "step.delta" and e["delta"]["type"] == "arguments_delta":
            args[e["index"]] = args.get(e["index"], "") + e["delta"]["arguments"]

    kind = (terminal or {}).get("type")
    status = ((terminal or {}).get("response") or {}).get("status")
    reason = (((terminal or {}).get("response") or {}).get("incomplete_details") or {}).get("reason")
    if kind == "response.completed":
        assert end["event_type"] == "interaction.completed"
        expected = "requires_action" if calls_of(items) else "completed"
        assert end["interaction"]["status"] == expected
    elif kind == "response.incomplete" and reason == "content_filter":
        assert end["event_type"] == "error" and end["error"]["code"] == "content_blocked"
    elif kind == "response.incomplete":
        assert end["interaction"]["status"] == "incomplete"
    elif kind == "response.cancelled":
        assert end["interaction"]["status"] == "cancelled"
    elif kind in ("response.failed", "error"):
        assert end["event_type"] == "error" and end["error"]["code"] != "aborted"
    else:
        assert terminal is None, status
        assert end["event_type"] == "error" and end["error"]["code"] == "aborted"

    if kind in ("response.completed", "response.incomplete"):
        assert text == expected_text(name, raw)
        call_steps = [e["index"] for e in events
                      if e["event_type"] == "step.start" and e["step"]["type"] == "function_call"]
        assert [args.get(i, "") for i in call_steps] == calls_of(items)


@pytest.mark.parametrize("name", corpus_names())
def test_chat_corpus_sdk(name):
    path = CORPUS / name
    if not path.is_file():
        corpus_files()
    raw = path.read_bytes()
    body = transcode(path, "chat").decode("utf-8")
    assert body.endswith("data: [DONE]\n\n")
    state = ChatCompletionStreamState()
    chunks, error = [], None
    for block in body.split("\n\n")[:-2]:
        assert block.startswith("data: ") and "\n" not in block, block
        payload = json.loads(block[len("data: "):])
        if "error" in payload:
            error = payload["error"]
            continue
        assert error is None, "a chunk after the error frame"
        chunk = ChatCompletionChunk.model_validate(payload)
        chunks.append(chunk)
        state.handle_chunk(chunk)

    terminal, _, _ = upstream_summary(raw)
    kind = (terminal or {}).get("type")
    assert chunks or error, "no output at all"
    if chunks:
        assert len({c.id for c in chunks}) == 1, "one id per stream"
    if kind in ("response.completed", "response.incomplete"):
        assert error is None
        choice = state.current_completion_snapshot.choices[0]
        assert (choice.message.content or "") == expected_text(name, raw)
        assert choice.finish_reason in ("stop", "tool_calls", "length", "content_filter")
        if kind == "response.incomplete":
            assert choice.finish_reason in ("length", "content_filter")
    else:
        assert error is not None, f"{kind or 'EOF'} must end with an in-band error frame"


ANTHROPIC_EVENT = TypeAdapter(RawMessageStreamEvent)


def anthropic_input(item) -> dict:
    """What a call's arguments become in a tool_use block: a function call's JSON object (`{}`
    when empty); a custom tool call's free-form text as `{"input": text}`."""
    text = item.get("arguments", item.get("input", "")) or ""
    if item.get("type") == "function_call":
        if not text.strip():
            return {}
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
    return {"input": text}


@pytest.mark.parametrize("name", corpus_names())
def test_anthropic_corpus_sdk(name):
    path = CORPUS / name
    if not path.is_file():
        corpus_files()
    raw = path.read_bytes()
    whole = transcode(path, "anthropic")
    for split in (4096, 7, 1):
        assert transcode(path, "anthropic", split) == whole, f"split {split} differs"
    body = whole.decode("utf-8")
    assert body.endswith("\n\n")
    snapshot, json_bufs, error, ends = None, {}, None, 0
    for block in body[:-2].split("\n\n"):
        if block == ": keepalive":
            continue
        event_line, data_line = block.split("\n")
        kind = event_line.removeprefix("event: ")
        payload = json.loads(data_line.removeprefix("data: "))
        assert payload["type"] == kind, block
        assert ends == 0, f"an event after the ending: {block}"
        if kind == "error":
            assert set(payload["error"]) == {"type", "message"}
            error = payload["error"]
            ends += 1
            continue
        event = ANTHROPIC_EVENT.validate_python(payload)
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
        if kind == "message_stop":
            ends += 1
    assert ends == 1, "exactly one ending"

    terminal, items, _ = upstream_summary(raw)
    kind = (terminal or {}).get("type")
    reason = (((terminal or {}).get("response") or {}).get("incomplete_details") or {}).get("reason")
    if kind not in ("response.completed", "response.incomplete"):
        assert error is not None, f"{kind or 'EOF'} must end with an error event"
        return
    assert error is None
    text = "".join(b.text for b in snapshot.content if b.type == "text")
    assert text == expected_text(name, raw)
    calls = [item for item in items if item.get("type") in ("function_call", "custom_tool_call")]
    if kind == "response.completed":
        assert snapshot.stop_reason == ("tool_use" if calls else "end_turn")
        uses = [b for b in snapshot.content if b.type == "tool_use"]
        assert [b.input for b in uses] == [anthropic_input(c) for c in calls]
    else:
        assert snapshot.stop_reason == ("refusal" if reason == "content_filter" else "max_tokens")
