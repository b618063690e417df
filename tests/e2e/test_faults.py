"""Faults through a real Envoy (one worker): upstream resets and EOFs, error bodies, bodies that must
pass untouched, clients that go away, bad configuration, and 1,000 concurrent streams."""

import asyncio
import http.client
import json
import socket
import time
import uuid

import openai
import pytest
from google import genai
from google.genai import types

from conftest import CHAT_BODY, STREAMS, Envoy, post, transcode, wait_until

CHAT_REQUEST = json.dumps(CHAT_BODY).encode()
CHAT_LENGTH = str(len(CHAT_REQUEST)).encode()

TEXT = "The quick brown fox jumps over the lazy dog."


def served(envoy) -> bool:
    """The worker still translates a normal stream correctly."""
    status, _, body = post(envoy.url, "/v1/chat/completions", headers={"x-replay-file": "text"})
    return status == 200 and body == transcode(STREAMS / "text.sse", "chat")


def test_upstream_reset_mid_stream(envoy):
    """A reset upstream reaches the openai client as an error, never as a finished answer."""
    client = openai.OpenAI(base_url=envoy.url + "/v1", api_key="x", max_retries=0, timeout=20)
    before = envoy.counter("streams.aborted")
    content, finishes = [], []
    with pytest.raises((openai.APIError, Exception)) as raised:
        for chunk in client.chat.completions.create(
                model="any", messages=[{"role": "user", "content": "hi"}], stream=True,
                extra_headers={"x-replay-file": "text", "x-replay-reset-after": "8"}):
            if chunk.choices:
                content.append(chunk.choices[0].delta.content or "")
                finishes.append(chunk.choices[0].finish_reason)
    assert "".join(content) == "The quick brown fox"[:len("".join(content))]
    assert not any(finishes), f"a reset stream must not finish: {finishes}"
    assert raised.value is not None
    wait_until(lambda: envoy.counter("streams.aborted") == before + 1, 10, "streams.aborted")
    assert served(envoy)


def test_upstream_clean_eof_without_terminal(envoy):
    for route, end in (("/v1/chat/completions", b'"code":"stream_truncated"'),
                       ("/v1beta/interactions", b'"code":"aborted"')):
        status, _, body = post(envoy.url, route, headers={"x-replay-file": "truncated"})
        assert status == 200
        assert end in body
        assert body.endswith(b"data: [DONE]\n\n")


def test_non_2xx_json_error_chat(envoy):
    client = openai.OpenAI(base_url=envoy.url + "/v1", api_key="x", max_retries=0, timeout=20)
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="any", messages=[{"role": "user", "content": "hi"}], stream=True,
                                       extra_headers={"x-replay-status": "429"})
    assert raised.value.status_code == 429
    assert raised.value.code == "rate_limit_exceeded"
    assert "replayed upstream error 429" in raised.value.message


def test_non_2xx_json_error_interactions(envoy):
    status, headers, body = post(envoy.url, "/v1beta/interactions",
                                 headers={"x-replay-status": "429"})
    assert status == 429
    error = json.loads(body)["error"]
    assert error == {"code": 429, "message": "replayed upstream error 429",
                     "status": "RESOURCE_EXHAUSTED"}
    client = genai.Client(api_key="x", http_options=types.HttpOptions(
        base_url=envoy.url, api_version="v1beta", timeout=20_000))
    # The SDK raises its status error (it does not retry 400) carrying the rewritten body.
    with pytest.raises(Exception) as raised:
        list(client.interactions.create(model="any", input="hi", stream=True,
                                        extra_headers={"x-replay-status": "400"}))
    assert getattr(raised.value, "status_code", None) == 400
    assert raised.value.body == {"error": {"code": 400, "message": "replayed upstream error 400",
                                           "status": "INVALID_ARGUMENT"}}


def test_non_sse_json_200_is_byte_identical(envoy, upstream):
    """A JSON 2xx answer to a request the filter did not translate (here: a Responses request
    whose answer the header asks to be Chat) passes untouched."""
    _, _, direct = post(upstream.url, "/v1/responses",
                        headers={"x-replay-file": "text", "x-replay-json": "1"})
    status, headers, body = post(envoy.url, "/v1/responses",
                                 headers={"x-replay-file": "text", "x-replay-json": "1",
                                          "x-transcode-to": "chat"})
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert body == direct
    assert json.loads(body)["id"] == "resp_e2e_text"


def test_client_disconnect_mid_stream(envoy, upstream):
    """Clients that hang up mid-stream leave nothing behind; the next streams are fine."""
    before = envoy.counter("streams.aborted")
    token = uuid.uuid4().hex
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", envoy.port), timeout=10)
        request = (b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json"
                   b"\r\nx-replay-file: long\r\nx-replay-hold-after: 20\r\nx-replay-release: "
                   + token.encode() + b"\r\ncontent-length: " + CHAT_LENGTH + b"\r\n\r\n"
                   + CHAT_REQUEST)
        sock.sendall(request)
        got = b""
        while b'"content":"w5 "' not in got:
            data = sock.recv(65536)
            assert data, "stream ended early"
            got += data
        sock.close()
    wait_until(lambda: envoy.counter("streams.aborted") == before + 20, 15, "aborted streams")
    wait_until(lambda: envoy.counter("streams.active") == 0, 15, "no active stream left")
    upstream.release(token)
    assert served(envoy)


def test_bad_configuration_is_rejected_naming_the_field(upstream):
    """A typo in the plugin configuration stops Envoy at load, with a log line naming the field."""
    proxy = Envoy(upstream, plugin_config='{"max_event_byte": 5}', wait_ready=False)
    try:
        wait_until(lambda: proxy.proc.poll() is not None, 30, "Envoy to refuse the plugin")
        assert proxy.proc.returncode != 0
        log = proxy.log_text()
        assert 'rejected plugin configuration: config: unknown field "max_event_byte"' in log
        assert "Unable to create Wasm plugin responses_transcoder" in log
    finally:
        proxy.stop()


def test_bad_value_is_rejected_naming_the_field(upstream):
    proxy = Envoy(upstream, plugin_config='{"max_event_bytes": 0}', wait_ready=False)
    try:
        wait_until(lambda: proxy.proc.poll() is not None, 30, "Envoy to refuse the plugin")
        assert "max_event_bytes" in proxy.log_text()
    finally:
        proxy.stop()


async def _one_stream(port: int, token: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\n"
                 b"content-type: application/json\r\nx-replay-file: long\r\n"
                 b"x-replay-hold-after: 6\r\nx-replay-release: " + token.encode() +
                 b"\r\ncontent-length: " + CHAT_LENGTH + b"\r\n\r\n" + CHAT_REQUEST)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), timeout=120)
    writer.close()
    return data


def _dechunk(raw: bytes) -> bytes:
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:100]
    out = b""
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return out
        out, rest = out + rest[:size], rest[size + 2:]


def test_thousand_concurrent_streams_on_one_worker(upstream):
    proxy = Envoy(upstream, concurrency=1)
    try:
        token = uuid.uuid4().hex
        expected = transcode(STREAMS / "long.sse", "chat")

        async def run():
            tasks = [asyncio.create_task(_one_stream(proxy.port, token)) for _ in range(1000)]
            # All 1,000 streams are open in the one worker at the same time before any finishes.
            deadline = time.monotonic() + 60
            while proxy.counter("streams.active") < 1000:
                assert time.monotonic() < deadline, \
                    f"only {proxy.counter('streams.active')} streams became active"
                await asyncio.sleep(0.2)
            upstream.release(token)
            return await asyncio.gather(*tasks)

        results = asyncio.run(run())
        bodies = [_dechunk(r) for r in results]
        assert sum(b == expected for b in bodies) == 1000
        wait_until(lambda: proxy.counter("streams.active") == 0, 15, "streams to close")
        assert proxy.counter("outcome.completed") == 1000
        assert served(proxy)
    finally:
        proxy.stop()
