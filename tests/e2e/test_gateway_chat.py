"""An unmodified openai-SDK Chat Completions program against a strict Responses-only upstream, through
a real Envoy: the filter rewrites each Chat request into a Responses request (which the upstream
validates as the real API does, against the openai SDK's own request types) and each answer,
streamed or not, back into Chat Completions."""

import json
import time

import openai
import pytest
from openai.types.chat import ChatCompletion

from conftest import Envoy, forwarded, post, sent, wait_until

TEXT = "The quick brown fox jumps over the lazy dog."
MESSAGES = [{"role": "user", "content": "hi"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object",
                       "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                       "required": ["city"]},
    },
}


@pytest.fixture()
def client(envoy):
    return openai.OpenAI(base_url=envoy.url + "/v1", api_key="x", max_retries=0, timeout=20)


def replay(name: str, **headers) -> dict:
    return {"x-replay-file": name, **headers}


def test_unary_text(client, upstream):
    completion = client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        max_tokens=64, temperature=0.2, top_p=0.9, user="u-1", metadata={"team": "a"},
        extra_headers=replay("text"))
    assert isinstance(completion, ChatCompletion)
    assert completion.object == "chat.completion"
    assert completion.id == "resp_e2e_text"
    assert completion.model == "gpt-test-2026"
    choice = completion.choices[0]
    assert (choice.message.role, choice.message.content, choice.finish_reason) == (
        "assistant", TEXT, "stop")
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (21, 10, 31)
    assert usage.prompt_tokens_details.cached_tokens == 8
    body = sent(upstream)
    assert "messages" not in body
    assert body["model"] == "gpt-test"
    assert body["max_output_tokens"] == 64
    assert (body["temperature"], body["top_p"], body["user"]) == (0.2, 0.9, "u-1")
    assert body["metadata"] == {"team": "a"}
    assert not body.get("stream"), "a unary request must not ask the upstream for a stream"
    texts = json.dumps(body)
    assert "Be brief." in texts and "hi" in texts


def test_unary_answer_headers_and_model(envoy):
    status, headers, body = post(envoy.url, "/v1/chat/completions",
                                 body={"model": "any", "messages": MESSAGES},
                                 headers=replay("reasoning"))
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    completion = ChatCompletion.model_validate(json.loads(body))
    assert completion.choices[0].finish_reason == "stop"


def test_stream_without_include_usage_has_no_usage_chunk(client, upstream):
    chunks = list(client.chat.completions.create(model="any", messages=MESSAGES, stream=True,
                                                 extra_headers=replay("text")))
    # The classic loop: every chunk has a choice.
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text == TEXT
    assert all(chunk.usage is None for chunk in chunks)
    body = sent(upstream)
    assert body["stream"] is True and "stream_options" not in body


def test_stream_with_include_usage_ends_with_usage_chunk(client):
    chunks = list(client.chat.completions.create(
        model="any", messages=MESSAGES, stream=True, stream_options={"include_usage": True},
        extra_headers=replay("text")))
    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens == 31
    assert all(c.choices for c in chunks[:-1])


def test_tool_call_round_trip(client, upstream):
    messages = [{"role": "user", "content": "Weather in Paris and Tokyo?"}]
    first = client.chat.completions.create(model="any", messages=messages, tools=[WEATHER_TOOL],
                                           tool_choice="auto", parallel_tool_calls=True,
                                           extra_headers=replay("parallel_tools"))
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("call_weather_paris", "get_weather", {"city": "Paris", "unit": "c"}),
        ("call_weather_tokyo", "get_weather", {"city": "Tokyo", "unit": "c"})]
    body = sent(upstream)
    function = WEATHER_TOOL["function"]
    assert body["tools"] == [{"type": "function", "name": "get_weather",
                              "description": function["description"],
                              "parameters": function["parameters"], "strict": False}]
    assert body["tool_choice"] == "auto" and body["parallel_tool_calls"] is True

    # The usual program: append the assistant message as returned, then one tool message per call.
    messages.append(choice.message)
    for call in calls:
        messages.append({"role": "tool", "tool_call_id": call.id, "content": "21 C"})
    second = client.chat.completions.create(model="any", messages=messages, tools=[WEATHER_TOOL],
                                            extra_headers=replay("text"))
    assert second.choices[0].message.content == TEXT
    items = sent(upstream)["input"]
    kinds = [(i.get("type", "message"), i.get("call_id")) for i in items]
    assert kinds[-4:] == [("function_call", "call_weather_paris"),
                          ("function_call", "call_weather_tokyo"),
                          ("function_call_output", "call_weather_paris"),
                          ("function_call_output", "call_weather_tokyo")]
    assert json.loads(items[-4]["arguments"]) == {"city": "Paris", "unit": "c"}
    assert items[-1]["output"] == "21 C"


def test_streamed_tool_call_round_trip(client, upstream):
    messages = [{"role": "user", "content": "Weather?"}]
    with client.chat.completions.stream(model="any", messages=messages, tools=[WEATHER_TOOL],
                                        extra_headers=replay("parallel_tools")) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert [c.id for c in calls] == ["call_weather_paris", "call_weather_tokyo"]
    messages.append({"role": "assistant", "content": None, "tool_calls": [
        {"id": c.id, "type": "function",
         "function": {"name": c.function.name, "arguments": c.function.arguments}}
        for c in calls]})
    messages += [{"role": "tool", "tool_call_id": c.id, "content": "sunny"} for c in calls]
    chunks = list(client.chat.completions.create(model="any", messages=messages, stream=True,
                                                 tools=[WEATHER_TOOL], extra_headers=replay("text")))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == TEXT
    outputs = [i for i in sent(upstream)["input"] if i.get("type") == "function_call_output"]
    assert [o["call_id"] for o in outputs] == ["call_weather_paris", "call_weather_tokyo"]


def test_response_format_json_schema(client, upstream):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}},
              "required": ["answer"], "additionalProperties": False}
    client.chat.completions.create(
        model="any", messages=MESSAGES, extra_headers=replay("text"),
        response_format={"type": "json_schema",
                         "json_schema": {"name": "reply", "schema": schema, "strict": True}})
    assert sent(upstream)["text"]["format"] == {"type": "json_schema", "name": "reply",
                                                "schema": schema, "strict": True}


@pytest.mark.parametrize("stream, expected", [("incomplete_length", "length"),
                                              ("content_filter", "content_filter")])
def test_incomplete_unary_answer_is_never_stop(client, stream, expected):
    completion = client.chat.completions.create(model="any", messages=MESSAGES,
                                                extra_headers=replay(stream))
    assert completion.choices[0].finish_reason == expected
    assert completion.usage is not None


def test_failed_unary_answer_raises(client):
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model="any", messages=MESSAGES, extra_headers=replay("failed"))
    assert raised.value.status_code == 500
    assert raised.value.body["code"] == "server_error"


def test_unsupported_field_is_refused_naming_it(client, upstream):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="any", messages=MESSAGES, seed=7,
                                       extra_headers={**replay("text"), "x-test-marker": "seed"})
    assert raised.value.param == "seed"
    assert raised.value.code == "unsupported_parameter"
    assert not forwarded(upstream, "seed"), "nothing may go upstream for a refused request"


def test_empty_messages_are_refused(client, upstream):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="any", messages=[],
                                       extra_headers={**replay("text"), "x-test-marker": "empty"})
    assert raised.value.param == "messages"
    assert not forwarded(upstream, "empty")


def test_malformed_json_is_refused(envoy, upstream):
    status, headers, body = post(envoy.url, "/v1/chat/completions", body=b'{"model": ',
                                 headers={"x-test-marker": "malformed-chat"})
    assert status == 400
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_json"
    assert not forwarded(upstream, "malformed-chat")


def test_request_over_the_cap_is_413_in_dialect(upstream):
    proxy = Envoy(upstream, plugin_config='{"max_request_bytes": 2048}')
    try:
        client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0, timeout=20)
        big = [{"role": "user", "content": "x" * 4096}]
        with pytest.raises(openai.APIStatusError) as raised:
            client.chat.completions.create(model="any", messages=big,
                                           extra_headers={**replay("text"), "x-test-marker": "big"})
        assert raised.value.status_code == 413
        assert raised.value.body["code"] == "request_too_large"
        assert not forwarded(upstream, "big")
        # Under the cap, the same route works.
        ok = client.chat.completions.create(model="any", messages=MESSAGES,
                                            extra_headers=replay("text"))
        assert ok.choices[0].message.content == TEXT
    finally:
        proxy.stop()


def test_dropped_field_when_configured(upstream):
    proxy = Envoy(upstream, plugin_config='{"drop_unsupported_fields":["seed"]}')
    try:
        client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0, timeout=20)
        completion = client.chat.completions.create(model="any", messages=MESSAGES, seed=7,
                                                    extra_headers=replay("text"))
        assert completion.choices[0].message.content == TEXT
        assert "seed" not in sent(upstream)
    finally:
        proxy.stop()


def test_translation_off_forwards_the_chat_request(upstream):
    proxy = Envoy(upstream, plugin_config='{"translate_requests": false}')
    try:
        status, _, body = post(proxy.url, "/v1/chat/completions", headers=replay("text"))
        # The strict upstream refuses the untranslated Chat request; the error reaches the client
        # in its own dialect.
        assert status == 404
        assert json.loads(body)["error"]["message"] == "Invalid URL (POST /v1/chat/completions)"
        assert upstream.last_request()["body"]["messages"] == MESSAGES
    finally:
        proxy.stop()


def test_credentials_pass_untouched(client, upstream):
    client.chat.completions.create(model="any", messages=MESSAGES, extra_headers=replay("text"))
    assert upstream.last_request()["headers"]["authorization"] == "Bearer x"


def test_without_header_hold_requests_still_translate(upstream):
    """On an Envoy that cannot hold headers (no `allow_on_headers_stop_iteration`, as Istio's
    WasmPlugin runs the filter) configured `"header_hold": "off"`: headers go first, bodies go
    upstream chunked, answers are still translated, refusals still reach the client, and no
    request waits for a probe."""
    proxy = Envoy(upstream, hold_headers=False, plugin_config='{"header_hold": "off"}')
    try:
        client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0, timeout=20)
        started = time.monotonic()
        first = client.chat.completions.create(model="any", messages=MESSAGES,
                                               extra_headers=replay("text"))
        assert time.monotonic() - started < 0.9, "no request may wait for a probe"
        assert first.choices[0].message.content == TEXT
        request = upstream.last_request()
        assert request["status"] == 200 and "content-length" not in request["headers"]
        chunks = list(client.chat.completions.create(model="any", messages=MESSAGES, stream=True,
                                                     extra_headers=replay("text")))
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == TEXT
        with pytest.raises(openai.BadRequestError) as raised:
            client.chat.completions.create(model="any", messages=MESSAGES, seed=1,
                                           extra_headers={**replay("text"), "x-test-marker": "fw"})
        assert raised.value.param == "seed"
        # A failed unary answer keeps the upstream's 200 here; its body is still the error.
        status, _, body = post(proxy.url, "/v1/chat/completions",
                               body={"model": "any", "messages": MESSAGES}, headers=replay("failed"))
        assert status == 200
        assert json.loads(body)["error"]["code"] == "server_error"
    finally:
        proxy.stop()
