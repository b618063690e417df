"""Responses → Chat Completions through a real Envoy, consumed with the official openai SDK."""

import json
import threading
import time
import uuid

import openai
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState

from conftest import CHAT_BODY, STREAMS, post, transcode, wait_until

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture()
def client(envoy):
    return openai.OpenAI(base_url=envoy.url + "/v1", api_key="x", max_retries=0, timeout=20)


def replay(name: str, **headers) -> dict:
    return {"x-replay-file": name, **{k.replace("_", "-"): str(v) for k, v in headers.items()}}


def chunks_of(client, name: str, **headers) -> list:
    """The chunks of a stream that asked for the usage chunk."""
    stream = client.chat.completions.create(model="any", messages=MESSAGES, stream=True,
                                            stream_options={"include_usage": True},
                                            extra_headers=replay(name, **headers))
    return list(stream)


def accumulate(chunks):
    """What the SDK's chat.completions.stream() helper assembles from these chunks."""
    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(chunk)
    return state.current_completion_snapshot


def test_text_stream(client):
    chunks = chunks_of(client, "text")
    assert {c.id for c in chunks} == {"resp_e2e_text"}
    assert {c.model for c in chunks} == {"gpt-test-2026"}
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "The quick brown fox jumps over the lazy dog."
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    usage = chunks[-1].usage
    assert chunks[-1].choices == []
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (21, 10, 31)
    assert usage.prompt_tokens_details.cached_tokens == 8


def test_stream_helper(client):
    with client.chat.completions.stream(model="any", messages=MESSAGES,
                                        stream_options={"include_usage": True},
                                        extra_headers=replay("text")) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()
    assert "".join(deltas) == "The quick brown fox jumps over the lazy dog."
    assert final.choices[0].message.content == "The quick brown fox jumps over the lazy dog."
    assert final.choices[0].finish_reason == "stop"
    assert final.usage.total_tokens == 31


def test_parallel_tool_calls(client):
    with client.chat.completions.stream(model="any", messages=MESSAGES,
                                        stream_options={"include_usage": True},
                                        extra_headers=replay("parallel_tools")) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert [c.id for c in calls] == ["call_weather_paris", "call_weather_tokyo"]
    assert [c.function.name for c in calls] == ["get_weather", "get_weather"]
    # The second call's arguments arrive only in function_call_arguments.done: sent once, not lost.
    assert [json.loads(c.function.arguments) for c in calls] == [
        {"city": "Paris", "unit": "c"}, {"city": "Tokyo", "unit": "c"}]
    assert final.usage.completion_tokens_details.reasoning_tokens == 30


def test_tool_call_indices_are_contiguous(client):
    chunks = chunks_of(client, "parallel_tools")
    indices = [tc.index for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    # The calls sit at output_index 1 and 2 upstream (after a reasoning item); Chat wants 0, 1.
    assert sorted(set(indices)) == [0, 1]
    assert indices == sorted(indices)


def test_reasoning(client):
    chunks = chunks_of(client, "reasoning")
    reasoning = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
                        for c in chunks if c.choices)
    assert reasoning == "The user asks for 2+2. That is 4."
    snapshot = accumulate(chunks)
    assert snapshot.choices[0].message.content == "2 + 2 = 4."
    assert snapshot.choices[0].finish_reason == "stop"
    assert chunks[-1].usage.completion_tokens_details.reasoning_tokens == 58


@pytest.mark.parametrize("name,finish", [("incomplete_length", "length"),
                                         ("content_filter", "content_filter")])
def test_incomplete(client, name, finish):
    chunks = chunks_of(client, name)
    snapshot = accumulate(chunks)
    assert snapshot.choices[0].finish_reason == finish
    assert snapshot.choices[0].message.content == "Once upon a time there"
    assert chunks[-1].usage.total_tokens == 18


@pytest.mark.parametrize("name,code,message", [
    ("failed", "server_error", "The model failed to generate a response."),
    ("error_event", "rate_limit_exceeded", "Rate limit reached for requests."),
    ("truncated", "stream_truncated", "the upstream stream ended without a terminal event"),
])
def test_failures_raise(client, name, code, message):
    seen = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in client.chat.completions.create(model="any", messages=MESSAGES, stream=True,
                                                    extra_headers=replay(name)):
            seen.append(chunk)
    assert raised.value.code == code
    assert message in raised.value.message
    assert all(not c.choices or c.choices[0].finish_reason is None for c in seen)


def test_first_chunk_arrives_while_upstream_holds(client, upstream):
    """Streaming, not buffering: text is delivered while the upstream still holds later events."""
    token = uuid.uuid4().hex
    stream = client.chat.completions.create(
        model="any", messages=MESSAGES, stream=True,
        extra_headers=replay("text", x_replay_hold_after=7, x_replay_release=token))
    released_at = []
    content = []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            content.append(chunk.choices[0].delta.content)
            if not released_at:
                # Three deltas are out; the upstream is blocked until we release it.
                released_at.append(time.monotonic())
                threading.Timer(0.2, upstream.release, args=(token,)).start()
    assert released_at, "no content before the hold"
    assert "".join(content) == "The quick brown fox jumps over the lazy dog."


def test_first_chunk_arrives_while_upstream_holds_raw(envoy, upstream):
    """Same proof at the byte level: a bounded read gets the first delta before the release."""
    import http.client

    token = uuid.uuid4().hex
    conn = http.client.HTTPConnection("127.0.0.1", envoy.port, timeout=10)
    conn.request("POST", "/v1/chat/completions", body=json.dumps(CHAT_BODY),
                 headers={"content-type": "application/json", **replay(
                     "text", x_replay_hold_after=7, x_replay_release=token)})
    resp = conn.getresponse()
    early = b""
    while b'"content":"The"' not in early:
        data = resp.read1(65536)  # raises TimeoutError after 10 s if the filter buffered
        assert data, "stream ended before the first delta"
        early += data
    assert b"[DONE]" not in early
    upstream.release(token)
    rest = resp.read()
    conn.close()
    assert rest.endswith(b"data: [DONE]\n\n")
    assert b'"finish_reason":"stop"' in rest


@pytest.mark.parametrize("split", [1, 7, 4096])
def test_split_delivery_is_byte_identical(envoy, split):
    status, _, whole = post(envoy.url, "/v1/chat/completions", headers=replay("reasoning"))
    status2, _, split_body = post(envoy.url, "/v1/chat/completions",
                                  headers=replay("reasoning", x_replay_split=split))
    assert status == status2 == 200
    assert split_body == whole == transcode(STREAMS / "reasoning.sse", "chat")


def test_response_headers_and_upstream_request(envoy, upstream):
    status, headers, _ = post(envoy.url, "/v1/chat/completions",
                              headers={**replay("text"), "accept-encoding": "gzip, br",
                                       "x-transcode-to": "chat"})
    assert status == 200
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert "content-length" not in headers
    sent = upstream.last_request()["headers"]
    assert "accept-encoding" not in sent, "accept-encoding must be stripped when transcoding"
    assert "x-transcode-to" not in sent, "the dialect header must not go upstream"


def test_dialect_header_selects_chat_on_any_path(envoy, upstream):
    """On a path that is not Chat's, the header picks the answer's dialect; the request (here a
    Responses request) is not translated, so nothing asked for the usage chunk."""
    status, _, body = post(envoy.url, "/v1/responses",
                           headers={**replay("text"), "x-transcode-to": "chat"})
    assert status == 200
    assert upstream.last_request()["body"]["input"] == "hi"
    expected = transcode(STREAMS / "text.sse", "chat").split(b"\n\n")
    usage_chunk = [frame for frame in expected if b'"choices":[]' in frame]
    assert len(usage_chunk) == 1
    assert body == b"\n\n".join(f for f in expected if f not in usage_chunk)


def test_passthrough_is_byte_identical(envoy, upstream):
    """No header, a path that selects nothing, default `passthrough`: the upstream's bytes."""
    status, headers, body = post(envoy.url, "/v1/responses", headers=replay("reasoning"))
    assert status == 200
    assert body == (STREAMS / "reasoning.sse").read_bytes()
    # The header overrides the path: the Chat request goes upstream as it is (the Responses-only
    # upstream refuses it) and its error body comes back untouched.
    _, _, direct = post(upstream.url, "/v1/chat/completions", headers=replay("reasoning"))
    status, _, body = post(envoy.url, "/v1/chat/completions",
                           headers={**replay("reasoning"), "x-transcode-to": "passthrough"})
    assert status == 404
    assert body == direct


def test_counters(envoy):
    before = {k: envoy.counter(k) for k in ("streams.chat", "outcome.completed",
                                             "outcome.incomplete", "events_in", "events_out")}
    post(envoy.url, "/v1/chat/completions", headers=replay("text"))
    post(envoy.url, "/v1/chat/completions", headers=replay("incomplete_length"))

    def grew():
        return (envoy.counter("streams.chat") - before["streams.chat"] == 2
                and envoy.counter("outcome.completed") - before["outcome.completed"] == 1
                and envoy.counter("outcome.incomplete") - before["outcome.incomplete"] == 1)

    wait_until(grew, 10, "stream counters")
    sent = sum((STREAMS / f).read_bytes().count(b"\n\n") for f in ("text.sse", "incomplete_length.sse"))
    assert envoy.counter("events_in") - before["events_in"] == sent
    assert envoy.counter("events_out") > before["events_out"]
