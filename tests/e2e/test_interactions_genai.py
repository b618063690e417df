"""Responses → Gemini Interactions through a real Envoy, consumed with the official google-genai SDK."""

import json

import pytest
from google import genai
from google.genai import types

from conftest import STREAMS, post, transcode
from strict import assert_strict, parse_stream


@pytest.fixture()
def client(envoy):
    return genai.Client(api_key="x", http_options=types.HttpOptions(
        base_url=envoy.url, api_version="v1beta", timeout=20_000))


def events_of(client, name: str) -> list:
    stream = client.interactions.create(
        model="any", input="hi", stream=True,
        extra_headers={"x-replay-file": name})
    return list(stream)


def terminal(events):
    ends = [e for e in events if e.event_type in ("interaction.completed", "error")]
    assert len(ends) == 1, f"expected exactly one terminal event, got {[e.event_type for e in ends]}"
    assert events[-1] is ends[0], "the terminal event must be the last one"
    return ends[0]


def step_types(events):
    return [e.step.type for e in events if e.event_type == "step.start"]


def deltas(events, kind):
    return [e.delta for e in events if e.event_type == "step.delta" and e.delta.type == kind]


def check_all_strict(envoy, name):
    """The same stream, fetched raw: every event passes the SDK's models strictly."""
    status, _, body = post(envoy.url, "/v1beta/interactions", headers={"x-replay-file": name})
    assert status == 200
    for payload in parse_stream(body):
        assert_strict(payload)


def test_text(client, envoy):
    events = events_of(client, "text")
    assert [e.event_type for e in events[:2]] == ["interaction.created", "interaction.status_update"]
    assert events[0].interaction.id == "resp_e2e_text"
    assert step_types(events) == ["model_output"]
    assert "".join(d.text for d in deltas(events, "text")) == \
        "The quick brown fox jumps over the lazy dog."
    end = terminal(events)
    assert end.event_type == "interaction.completed"
    assert end.interaction.id == "resp_e2e_text"
    assert end.interaction.status == "completed"
    usage = end.interaction.usage
    assert (usage.total_input_tokens, usage.total_output_tokens, usage.total_tokens) == (21, 10, 31)
    assert usage.total_cached_tokens == 8
    check_all_strict(envoy, "text")


def test_thought(client, envoy):
    events = events_of(client, "reasoning")
    assert step_types(events) == ["thought", "model_output"]
    summary = "".join(d.content.text for d in deltas(events, "thought_summary"))
    assert summary == "The user asks for 2+2. That is 4."
    assert [d.signature for d in deltas(events, "thought_signature")] == ["gAAAAB-signature"]
    assert "".join(d.text for d in deltas(events, "text")) == "2 + 2 = 4."
    end = terminal(events)
    assert end.interaction.status == "completed"
    assert end.interaction.usage.total_thought_tokens == 58
    assert end.interaction.usage.total_output_tokens == 64 - 58
    check_all_strict(envoy, "reasoning")


def test_function_calls_require_action(client, envoy):
    events = events_of(client, "parallel_tools")
    assert step_types(events) == ["thought", "function_call", "function_call"]
    starts = [e for e in events if e.event_type == "step.start"]
    assert [s.index for s in starts] == [0, 1, 2]
    calls = {}
    for s in starts[1:]:
        assert s.step.name == "get_weather"
        calls[s.index] = {"id": s.step.id, "args": ""}
    for e in events:
        if e.event_type == "step.delta" and e.delta.type == "arguments_delta":
            calls[e.index]["args"] += e.delta.arguments
    assert [c["id"] for c in calls.values()] == ["call_weather_paris", "call_weather_tokyo"]
    assert [json.loads(c["args"]) for c in calls.values()] == [
        {"city": "Paris", "unit": "c"}, {"city": "Tokyo", "unit": "c"}]
    end = terminal(events)
    assert end.interaction.status == "requires_action"
    check_all_strict(envoy, "parallel_tools")


def test_incomplete(client, envoy):
    events = events_of(client, "incomplete_length")
    assert "".join(d.text for d in deltas(events, "text")) == "Once upon a time there"
    end = terminal(events)
    assert end.event_type == "interaction.completed"
    assert end.interaction.status == "incomplete"
    assert end.interaction.usage.total_tokens == 18
    check_all_strict(envoy, "incomplete_length")


@pytest.mark.parametrize("name,code", [
    ("content_filter", "content_blocked"),
    ("failed", "api_error"),
    ("error_event", "rate_limit_exceeded"),
    ("truncated", "aborted"),
])
def test_errors_are_in_band(client, envoy, name, code):
    events = events_of(client, name)
    end = terminal(events)
    assert end.event_type == "error"
    assert end.error.code == code
    assert end.error.message
    check_all_strict(envoy, name)


def test_stream_ids_and_event_ids(client):
    events = events_of(client, "text")
    # event_id carries the upstream sequence_number: resumable, non-decreasing.
    ids = [int(e.event_id) for e in events]
    assert ids == sorted(ids)
    assert ids[-1] == 17


def test_v1_path_and_byte_layout(envoy):
    """Without api_version the SDK posts to /v1/interactions; both select the dialect."""
    for path in ("/v1/interactions", "/v1beta/interactions"):
        status, headers, body = post(envoy.url, path, headers={"x-replay-file": "reasoning"})
        assert status == 200
        assert headers["content-type"] == "text/event-stream; charset=utf-8"
        assert body == transcode(STREAMS / "reasoning.sse", "interactions")
    for block in body.decode().split("\n\n")[:-1]:
        event_line, data_line = block.split("\n")
        name = event_line.removeprefix("event: ")
        if name == "done":
            assert data_line == "data: [DONE]"
            continue
        payload = data_line.removeprefix("data: ")
        assert json.loads(payload)["event_type"] == name
        assert payload.endswith(f'"event_type":"{name}"}}'), "event_type must be the last key"


def test_resume_path_is_rewritten(envoy, upstream):
    """An Interactions resume (GET with last_event_id) reaches the upstream as starting_after."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", envoy.port, timeout=10)
    conn.request("GET", "/v1beta/interactions/resp_e2e_text?stream=true&last_event_id=5",
                 headers={"x-replay-file": "text"})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status == 200
    assert upstream.last_request()["path"] == "/v1/responses/resp_e2e_text?stream=true&starting_after=5"
    assert body.startswith(b"event: interaction.created\n")
