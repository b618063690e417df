"""The HTTP envelope through a real Envoy: every exchange ends in the client's dialect, whatever the
client's pacing, the answer's shape, encoding or size, or Envoy's own replies (README, "The HTTP
envelope"). Clients are the official openai and google-genai SDKs, or raw sockets where the test is
about bytes and timing."""

import asyncio
import gzip
import http.client
import io
import json
import re
import socket
import time

import openai
import pytest
from google import genai
from google.genai import types

from conftest import (ENVOY_YAML, STREAMS, Envoy, Upstream, forwarded, http_get, post, sent,
                      stop, wait_until)

TEXT = "The quick brown fox jumps over the lazy dog."
MESSAGES = [{"role": "user", "content": "hi"}]


def replay(name: str, **headers) -> dict:
    return {"x-replay-file": name, **headers}


def chat_client(proxy: Envoy) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0, timeout=30)


def genai_client(proxy: Envoy) -> genai.Client:
    return genai.Client(api_key="x", http_options=types.HttpOptions(
        base_url=proxy.url, api_version="v1beta", timeout=30_000,
        retry_options=types.HttpRetryOptions(attempts=1)))


def model_text(interaction) -> str:
    return "".join(c.text for s in interaction.steps if s.type == "model_output"
                   for c in (s.content or []) if c.type == "text")


def stream_text(events) -> str:
    return "".join(e.delta.text for e in events
                   if e.event_type == "step.delta" and e.delta.type == "text")


def without_decompressor(text: str) -> str:
    """envoy/envoy.yaml without its decompressor filter."""
    text, n = re.subn(r"( +)- name: envoy\.filters\.http\.decompressor\n.*?(?=\1- name: )", "",
                      text, flags=re.S)
    assert n == 1, n
    return text


def raw_exchange(port: int, head: bytes, body_parts, pause_s: float = 0.0,
                 timeout_s: float = 30) -> bytes:
    """Sends `head` then each body part (after `pause_s`), and returns the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as conn:
        conn.sendall(head)
        for part in body_parts:
            time.sleep(pause_s)
            conn.sendall(part)
        answer = b""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            data = conn.recv(65536)
            if not data:
                break
            answer += data
        return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def parse_answer(answer: bytes):
    """(status, body) of a raw HTTP/1.1 answer, chunked or not."""
    class Wire:
        def makefile(self, *_):
            return io.BytesIO(answer)
    response = http.client.HTTPResponse(Wire())
    response.begin()
    return response.status, response.read()


# --- Header hold -----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["on", "detect"])
def test_a_slow_first_client_changes_nothing_for_later_requests(upstream, mode):
    """A body 1.5 s behind its headers on a fresh Envoy: later requests still get the full
    behaviour (a failed unary answer raises; a refused request never reaches the upstream)."""
    proxy = Envoy(upstream, plugin_config=json.dumps({"header_hold": mode}))
    try:
        body = json.dumps({"model": "any", "messages": MESSAGES}).encode()
        head = (f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                f"x-replay-file: text\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
                ).encode()
        answer = raw_exchange(proxy.port, head, [body], pause_s=1.5)
        status, answer_body = parse_answer(answer)
        assert status == 200, answer[:300]
        assert json.loads(answer_body)["choices"][0]["message"]["content"] == TEXT
        client = chat_client(proxy)
        with pytest.raises(openai.InternalServerError) as raised:
            client.chat.completions.create(model="any", messages=MESSAGES,
                                           extra_headers=replay("failed"))
        assert raised.value.status_code == 500
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="any", messages=MESSAGES, seed=1,
                                           extra_headers={**replay("text"), "x-test-marker": "slow"})
        assert not forwarded(upstream, "slow")
        assert "content-length" in upstream.last_request()["headers"]
        probes = proxy.counter("header_hold.probes_expired")
        assert probes == (1 if mode == "detect" else 0)
    finally:
        proxy.stop()


# --- Answer shape ------------------------------------------------------------------------------------

def test_json_answer_to_a_chat_stream_is_a_stream(envoy):
    chunks = list(chat_client(envoy).chat.completions.create(
        model="any", messages=MESSAGES, stream=True, stream_options={"include_usage": True},
        extra_headers=replay("parallel_tools", **{"x-replay-json": "1"})))
    calls = [c for ch in chunks if ch.choices for c in (ch.choices[0].delta.tool_calls or [])]
    assert {c.function.name for c in calls if c.function.name} == {"get_weather"}
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == "tool_calls"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == ""


def test_json_answer_to_an_interactions_stream_is_a_stream(envoy):
    client = genai_client(envoy)
    events = list(client.interactions.create(
        model="any", input="hi", stream=True, extra_headers=replay("text", **{"x-replay-json": "1"})))
    assert stream_text(events) == TEXT
    assert events[-1].event_type == "interaction.completed"
    assert events[-1].interaction.usage.total_tokens == 31


def test_json_failure_to_a_stream_raises(envoy):
    with pytest.raises(openai.APIError) as raised:
        list(chat_client(envoy).chat.completions.create(
            model="any", messages=MESSAGES, stream=True,
            extra_headers=replay("failed", **{"x-replay-json": "1"})))
    assert "server_error" in str(raised.value.body) or raised.value.code == "server_error"


def test_sse_answer_to_a_unary_call_is_the_object(envoy):
    completion = chat_client(envoy).chat.completions.create(
        model="any", messages=MESSAGES, extra_headers=replay("text", **{"x-replay-sse": "1"}))
    assert completion.choices[0].message.content == TEXT
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.total_tokens == 31
    google = genai_client(envoy)
    interaction = google.interactions.create(
        model="any", input="hi", extra_headers=replay("text", **{"x-replay-sse": "1"}))
    assert interaction.status == "completed" and model_text(interaction) == TEXT


def test_sse_failure_to_a_unary_call_raises(envoy):
    with pytest.raises(openai.InternalServerError):
        chat_client(envoy).chat.completions.create(
            model="any", messages=MESSAGES, extra_headers=replay("failed", **{"x-replay-sse": "1"}))


def test_html_answer_is_the_dialects_502(envoy):
    with pytest.raises(openai.APIStatusError) as raised:
        chat_client(envoy).chat.completions.create(
            model="any", messages=MESSAGES,
            extra_headers=replay("text", **{"x-replay-content-type": "text/html"}))
    assert raised.value.status_code == 502
    assert raised.value.body["code"] == "unexpected_answer"
    client = genai_client(envoy)
    with pytest.raises(Exception) as google:
        client.interactions.create(
            model="any", input="hi",
            extra_headers=replay("text", **{"x-replay-content-type": "text/html"}))
    assert getattr(google.value, "status_code", None) == 502
    assert google.value.body["error"]["status"] == "INTERNAL"


# --- Encodings -------------------------------------------------------------------------------------

def test_compressed_answers_never_reach_the_client(envoy, upstream):
    """The client asks for gzip: the filter removes that, so the upstream sees no
    `accept-encoding` and answers plainly. An upstream that compresses anyway gets the dialect's
    502 naming the encoding, never a compressed body the client cannot read as its dialect."""
    client = chat_client(envoy)
    chunks = list(client.chat.completions.create(
        model="any", messages=MESSAGES, stream=True,
        extra_headers=replay("text", **{"accept-encoding": "gzip"})))
    assert "accept-encoding" not in upstream.last_request()["headers"]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == TEXT
    for stream in (True, False):
        with pytest.raises(openai.APIStatusError) as raised:
            result = client.chat.completions.create(
                model="any", messages=MESSAGES, stream=stream,
                extra_headers=replay("text", **{"x-replay-gzip": "1"}))
            list(result) if stream else result
        assert raised.value.status_code == 502
        assert raised.value.body["code"] == "unsupported_encoding"
        assert "'gzip'" in raised.value.body["message"]
    google = genai_client(envoy)
    with pytest.raises(Exception) as failed:
        google.interactions.create(model="any", input="hi",
                                   extra_headers=replay("text", **{"x-replay-gzip": "1"}))
    assert getattr(failed.value, "status_code", None) == 502


def test_compressed_request_is_decoded_by_the_shipped_configuration(envoy, upstream):
    body = gzip.compress(json.dumps({"model": "any", "messages": MESSAGES}).encode())
    status, _, answer = post(envoy.url, "/v1/chat/completions", body=body,
                             headers={**replay("text"), "content-encoding": "gzip"})
    assert status == 200, answer
    assert json.loads(answer)["choices"][0]["message"]["content"] == TEXT
    request = sent(upstream)
    assert request["input"][0]["content"] == "hi"
    assert "content-encoding" not in upstream.last_request()["headers"]


def test_without_the_decompressor_a_compressed_request_is_refused(upstream):
    proxy = Envoy(upstream, template=without_decompressor(ENVOY_YAML.read_text()))
    try:
        body = gzip.compress(json.dumps({"model": "any", "messages": MESSAGES}).encode())
        status, _, answer = post(proxy.url, "/v1/chat/completions", body=body,
                                 headers={**replay("text"), "content-encoding": "gzip",
                                          "x-test-marker": "gz-request"})
        assert status == 415
        assert "'gzip'" in json.loads(answer)["error"]["message"]
        assert not forwarded(upstream, "gz-request")
    finally:
        proxy.stop()


# --- Sizes -----------------------------------------------------------------------------------------

def test_a_20_mb_unary_answer_is_the_dialects_502(envoy):
    with pytest.raises(openai.APIStatusError) as raised:
        chat_client(envoy).chat.completions.create(
            model="any", messages=MESSAGES,
            extra_headers=replay("text", **{"x-replay-pad-bytes": str(20_000_000)}))
    assert raised.value.status_code == 502
    assert raised.value.body["code"] == "response_too_large"


def test_an_over_cap_chunked_burst_gets_the_413(envoy, upstream):
    size = 9 << 20
    head = (b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"transfer-encoding: chunked\r\nx-test-marker: burst\r\nconnection: close\r\n\r\n")
    piece = b'{"model":"any","messages":[{"role":"user","content":"' + b"x" * (size - 100) + b'"}]}'
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(piece), piece)
    answer = raw_exchange(envoy.port, head, [chunked])
    assert status_of(answer) == 413, answer[:300]
    head_part, body = answer.split(b"\r\n\r\n", 1)
    assert b"application/json" in head_part
    assert json.loads(body)["error"]["code"] == "request_too_large"
    assert not forwarded(upstream, "burst")


def test_ten_async_9_mb_requests_all_get_413(envoy, upstream):
    big = [{"role": "user", "content": "x" * (9 << 20)}]

    async def one(client):
        try:
            await client.chat.completions.create(model="any", messages=big,
                                                 extra_headers={"x-test-marker": "async-big"})
        except openai.APIStatusError as err:
            return err.status_code
        except openai.APIConnectionError as err:
            return f"connection error: {err!r}"
        return "no error"

    async def all_of_them():
        client = openai.AsyncOpenAI(base_url=envoy.url + "/v1", api_key="x", max_retries=0,
                                    timeout=60)
        try:
            return await asyncio.gather(*[one(client) for _ in range(10)])
        finally:
            await client.close()

    assert asyncio.run(all_of_them()) == [413] * 10
    assert not forwarded(upstream, "async-big")


# --- Envoy's own replies ---------------------------------------------------------------------------

def test_upstream_down_is_a_503_in_each_dialect():
    dead = Upstream()
    stop(dead.proc)  # its port now refuses connections
    proxy = Envoy(dead)
    try:
        with pytest.raises(openai.InternalServerError) as raised:
            chat_client(proxy).chat.completions.create(model="any", messages=MESSAGES)
        assert raised.value.status_code == 503
        assert raised.value.body["type"] == "upstream_error"
        assert raised.value.body["message"]
        client = genai_client(proxy)
        with pytest.raises(Exception) as google:
            client.interactions.create(model="any", input="hi")
        assert getattr(google.value, "status_code", None) == 503
        assert google.value.body["error"]["status"] == "UNAVAILABLE"
    finally:
        proxy.stop()


# --- Keepalives ------------------------------------------------------------------------------------

def test_keepalives_reach_the_client_at_once(envoy, upstream):
    """Each upstream keepalive leaves Envoy as `: keepalive` within 100 ms of the upstream writing
    it (the replay upstream records when it wrote each event)."""
    body = json.dumps({"model": "any", "messages": MESSAGES, "stream": True}).encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            f"x-replay-file: keepalive\r\nx-replay-delay-ms: 250\r\nx-replay-id: ka\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode()
    arrivals = []
    with socket.create_connection(("127.0.0.1", envoy.port), timeout=30) as conn:
        conn.sendall(head + body)
        received = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            data = conn.recv(65536)
            if not data:
                break
            now = time.monotonic()
            arrivals += [now] * data.count(b": keepalive\n\n")
            received += data
    assert b"data: [DONE]" in received
    written = json.loads(http_get(upstream.url + "/_timings/ka")[1])
    events = (STREAMS / "keepalive.sse").read_bytes().split(b"\n\n")
    keepalive_times = [t for t, e in zip(written, events) if b"keepalive" in e or e.startswith(b":")]
    assert len(arrivals) == len(keepalive_times) == 3
    for sent_at, arrived in zip(keepalive_times, arrivals):
        assert arrived - sent_at < 0.1, (arrived - sent_at)
    assert envoy.counter("keepalives") >= 3


def test_sdks_read_streams_with_keepalives(envoy):
    chunks = list(chat_client(envoy).chat.completions.create(
        model="any", messages=MESSAGES, stream=True, extra_headers=replay("keepalive")))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == TEXT
    client = genai_client(envoy)
    events = list(client.interactions.create(
        model="any", input="hi", stream=True, extra_headers=replay("keepalive")))
    assert stream_text(events) == TEXT


# --- Paths and the Interactions surface ------------------------------------------------------------

def test_trailing_slash_create_is_translated(envoy, upstream):
    status, headers, body = post(envoy.url, "/v1beta/interactions/", body={"model": "any", "input": "hi"},
                                 headers=replay("text"))
    assert status == 200
    assert json.loads(body)["status"] == "completed"
    assert sent(upstream)["input"] == "hi"


def test_cancel_and_delete_with_google_genai(envoy, upstream):
    client = genai_client(envoy)
    cancelled = client.interactions.cancel("resp_e2e_text", extra_headers=replay("text"))
    assert cancelled.status == "cancelled" and cancelled.id == "resp_e2e_text"
    assert upstream.last_request()["path"] == "/v1/responses/resp_e2e_text/cancel"
    assert client.interactions.delete("resp_e2e_text") is None
    request = upstream.last_request()
    assert (request["method"], request["path"]) == ("DELETE", "/v1/responses/resp_e2e_text")


# --- Access log ------------------------------------------------------------------------------------

def test_access_log_names_refusals_and_errors_with_the_clients_path(upstream):
    envoy = Envoy(upstream)
    client = chat_client(envoy)
    before = 0
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="any", messages=MESSAGES, seed=2)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="any", messages=MESSAGES,
                                       extra_headers=replay("text", **{"x-replay-status": "429"}))
    wait_until(lambda: len(envoy.access_log_lines()) >= before + 2, 10, "access log lines")
    refused, limited = envoy.access_log_lines()[before:before + 2]
    assert (refused["path"], refused["dialect"], refused["outcome"], refused["status"]) == (
        "/v1/chat/completions", "chat", "rejected", 400)
    assert (limited["path"], limited["dialect"], limited["outcome"], limited["status"]) == (
        "/v1/chat/completions", "chat", "error_status", 429)
    envoy.stop()
