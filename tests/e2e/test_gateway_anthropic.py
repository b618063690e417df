"""An unmodified anthropic-SDK Messages program against a strict Responses-only upstream, through a
real Envoy: the filter rewrites each Messages request into a Responses request (which the upstream
validates as the real API does, against the openai SDK's own request types) and each answer,
streamed or not, back into Anthropic Messages events or a `Message`."""

import json

import anthropic
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from conftest import Envoy, Upstream, forwarded, post, sent, stop, wait_until

TEXT = "The quick brown fox jumps over the lazy dog."
MESSAGES = [{"role": "user", "content": "hi"}]
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {"type": "object",
                     "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                     "required": ["city"]},
}
EVENT = TypeAdapter(RawMessageStreamEvent)


@pytest.fixture()
def client(envoy):
    return anthropic.Anthropic(base_url=envoy.url, api_key="x", max_retries=0, timeout=20)


def replay(name: str, **headers) -> dict:
    return {"x-replay-file": name, **headers}


def test_unary_text(client, upstream):
    message = client.messages.create(
        model="gpt-test", max_tokens=64, system="Be brief.", messages=MESSAGES,
        metadata={"user_id": "u-1"}, extra_headers=replay("text"),
        # Sampling parameters older SDKs (and many agents) send; this SDK has them no more.
        extra_body={"temperature": 0.2, "top_p": 0.9})
    assert isinstance(message, Message)
    assert (message.id, message.model, message.role) == ("resp_e2e_text", "gpt-test-2026",
                                                         "assistant")
    assert [(b.type, b.text) for b in message.content] == [("text", TEXT)]
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    usage = message.usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (13, 8, 10)
    body = sent(upstream)
    assert body["model"] == "gpt-test" and body["max_output_tokens"] == 64
    assert body["instructions"] == "Be brief."
    assert (body["temperature"], body["top_p"], body["safety_identifier"]) == (0.2, 0.9, "u-1")
    assert body["input"] == [{"type": "message", "role": "user", "content": "hi"}]
    assert not body.get("stream")
    request = upstream.last_request()
    assert request["headers"]["authorization"] == "Bearer x", "credentials pass untouched"


def test_stream_create_events_are_the_sdks_own(client, upstream):
    events = list(client.messages.create(model="any", max_tokens=64, messages=MESSAGES,
                                         stream=True, extra_headers=replay("text")))
    for event in events:
        EVENT.validate_python(event.to_dict())
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    text = "".join(e.delta.text for e in events
                   if e.type == "content_block_delta" and e.delta.type == "text_delta")
    assert text == TEXT
    assert events[-2].delta.stop_reason == "end_turn"
    assert events[-2].usage.output_tokens == 10
    assert sent(upstream)["stream"] is True


def test_stream_helper_final_message(client):
    with client.messages.stream(model="any", max_tokens=64, messages=MESSAGES,
                                extra_headers=replay("text")) as stream:
        assert "".join(stream.text_stream) == TEXT
        final = stream.get_final_message()
    assert final.content[0].text == TEXT
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (13, 10)


def test_tool_round_trip_with_thinking(client, upstream):
    messages = [{"role": "user", "content": "Weather in Paris and Tokyo?"}]
    first = client.messages.create(
        model="any", max_tokens=256, messages=messages, tools=[WEATHER_TOOL],
        tool_choice={"type": "auto", "disable_parallel_tool_use": False},
        thinking={"type": "enabled", "budget_tokens": 10000}, extra_headers=replay("parallel_tools"))
    assert first.stop_reason == "tool_use"
    thinking, *calls = first.content
    assert thinking.type == "thinking" and thinking.signature.startswith("responses:")
    assert [(c.type, c.id, c.name, c.input) for c in calls] == [
        ("tool_use", "call_weather_paris", "get_weather", {"city": "Paris", "unit": "c"}),
        ("tool_use", "call_weather_tokyo", "get_weather", {"city": "Tokyo", "unit": "c"})]
    body = sent(upstream)
    assert body["tools"] == [{"type": "function", "name": "get_weather",
                              "description": WEATHER_TOOL["description"],
                              "parameters": WEATHER_TOOL["input_schema"], "strict": False}]
    assert body["tool_choice"] == "auto"
    assert body["reasoning"] == {"effort": "medium", "summary": "auto"}
    assert body["include"] == ["reasoning.encrypted_content"]

    # The usual program: the assistant turn as returned, then one tool_result per call.
    messages.append({"role": "assistant", "content": first.content})
    messages.append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": calls[0].id, "content": "21 C"},
        {"type": "tool_result", "tool_use_id": calls[1].id, "content": "no data", "is_error": True},
    ]})
    second = client.messages.create(model="any", max_tokens=256, messages=messages,
                                    tools=[WEATHER_TOOL], extra_headers=replay("text"))
    assert second.content[0].text == TEXT
    items = sent(upstream)["input"]
    assert items[1] == {"type": "reasoning", "id": "rs_e2e_tools", "summary": [],
                        "encrypted_content": "gAAAAB-opaque"}
    kinds = [(i.get("type"), i.get("call_id")) for i in items[2:]]
    assert kinds == [("function_call", "call_weather_paris"),
                     ("function_call", "call_weather_tokyo"),
                     ("function_call_output", "call_weather_paris"),
                     ("function_call_output", "call_weather_tokyo")]
    assert json.loads(items[2]["arguments"]) == {"city": "Paris", "unit": "c"}
    assert items[4]["output"] == "21 C"
    assert items[5]["output"] == "Error: no data"


def test_streamed_tool_round_trip(client, upstream):
    messages = [{"role": "user", "content": "Weather?"}]
    with client.messages.stream(model="any", max_tokens=256, messages=messages,
                                tools=[WEATHER_TOOL], tool_choice={"type": "any"},
                                extra_headers=replay("parallel_tools")) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    calls = [b for b in final.content if b.type == "tool_use"]
    assert [(c.id, c.input) for c in calls] == [
        ("call_weather_paris", {"city": "Paris", "unit": "c"}),
        ("call_weather_tokyo", {"city": "Tokyo", "unit": "c"})]
    assert sent(upstream)["tool_choice"] == "required"
    messages.append({"role": "assistant", "content": final.content})
    messages.append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": c.id, "content": [{"type": "text", "text": "sunny"}]}
        for c in calls]})
    with client.messages.stream(model="any", max_tokens=256, messages=messages,
                                tools=[WEATHER_TOOL], extra_headers=replay("text")) as stream:
        assert "".join(stream.text_stream) == TEXT
    outputs = [i for i in sent(upstream)["input"] if i.get("type") == "function_call_output"]
    assert [o["call_id"] for o in outputs] == ["call_weather_paris", "call_weather_tokyo"]


def test_reasoning_stream_is_a_thinking_block(client):
    with client.messages.stream(model="any", max_tokens=256, messages=MESSAGES,
                                thinking={"type": "adaptive"},
                                extra_headers=replay("reasoning")) as stream:
        final = stream.get_final_message()
    thinking, text = final.content
    assert thinking.thinking == "The user asks for 2+2. That is 4."
    assert thinking.signature == "responses:rs_e2e_reasoning:gAAAAB-signature"
    assert text.text == "2 + 2 = 4."


@pytest.mark.parametrize("stream", [False, True])
def test_failed_upstream_raises(client, stream):
    with pytest.raises(anthropic.APIStatusError) as raised:
        answer = client.messages.create(model="any", max_tokens=64, messages=MESSAGES,
                                        stream=stream, extra_headers=replay("failed"))
        list(answer)
    error = raised.value.body
    assert error["type"] == "error" and error["error"]["type"] == "api_error"
    assert error["error"]["message"] == "The model failed to generate a response."
    if not stream:
        assert raised.value.status_code == 500


def test_error_event_stream_raises_rate_limit(client):
    with pytest.raises(anthropic.APIStatusError) as raised:
        list(client.messages.create(model="any", max_tokens=64, messages=MESSAGES, stream=True,
                                    extra_headers=replay("error_event")))
    assert raised.value.body["error"]["type"] == "rate_limit_error"


def test_upstream_error_status_is_anthropics(client):
    with pytest.raises(anthropic.RateLimitError) as raised:
        client.messages.create(model="any", max_tokens=64, messages=MESSAGES,
                               extra_headers=replay("text", **{"x-replay-status": "429"}))
    assert raised.value.body == {"type": "error", "error": {
        "type": "rate_limit_error", "message": "replayed upstream error 429"}}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("name, reason", [("incomplete_length", "max_tokens"),
                                          ("content_filter", "refusal")])
def test_incomplete_is_never_end_turn(client, name, reason, stream):
    if stream:
        with client.messages.stream(model="any", max_tokens=64, messages=MESSAGES,
                                    extra_headers=replay(name)) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(model="any", max_tokens=64, messages=MESSAGES,
                                         extra_headers=replay(name))
    assert message.stop_reason == reason
    assert message.content[0].text == "Once upon a time there"
    assert message.usage.output_tokens == 3


def test_refused_field_is_a_400_naming_it_and_nothing_goes_upstream(client, upstream):
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(model="any", max_tokens=64, messages=MESSAGES,
                               extra_body={"top_k": 5},
                               extra_headers={**replay("text"), "x-test-marker": "top_k"})
    assert raised.value.status_code == 400
    error = raised.value.body
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert "'top_k'" in error["error"]["message"]
    assert not forwarded(upstream, "top_k"), "nothing may go upstream for a refused request"


def test_count_tokens_is_answered_in_anthropics_shape(client, upstream):
    with pytest.raises(anthropic.NotFoundError) as raised:
        client.messages.count_tokens(model="any", messages=MESSAGES,
                                     extra_headers={"x-test-marker": "count"})
    assert raised.value.body["error"]["type"] == "not_found_error"
    assert not forwarded(upstream, "count")


def test_malformed_json_is_refused(envoy, upstream):
    status, headers, body = post(envoy.url, "/v1/messages", body=b'{"model": ',
                                 headers={"x-test-marker": "malformed-anthropic"})
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["type"] == "invalid_request_error"
    assert not forwarded(upstream, "malformed-anthropic")


def test_selected_by_header_on_another_path(envoy, upstream):
    body = {"model": "any", "max_tokens": 64, "messages": MESSAGES}
    status, _, answer = post(envoy.url, "/custom/v1/messages", body=body,
                             headers={**replay("text"), "x-transcode-to": "anthropic"})
    assert status == 200
    assert Message.model_validate(json.loads(answer)).content[0].text == TEXT
    assert sent(upstream)["max_output_tokens"] == 64


@pytest.mark.parametrize("stream", [False, True])
def test_stop_sequence_ends_the_answer(client, upstream, stream):
    if stream:
        with client.messages.stream(model="any", max_tokens=64, messages=MESSAGES,
                                    stop_sequences=["brown", "zzz"],
                                    extra_headers=replay("text")) as events:
            assert "".join(events.text_stream) == "The quick "
            message = events.get_final_message()
    else:
        message = client.messages.create(model="any", max_tokens=64, messages=MESSAGES,
                                         stop_sequences=["brown", "zzz"],
                                         extra_headers=replay("text"))
    assert [b.text for b in message.content] == ["The quick "]
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "brown")
    assert message.usage.output_tokens == 10, "usage is the upstream's"
    body = sent(upstream)
    assert "stop_sequences" not in body and "stop" not in body


def test_counters_and_access_log_name_the_dialect(upstream):
    proxy = Envoy(upstream)
    try:
        client = anthropic.Anthropic(base_url=proxy.url, api_key="x", max_retries=0, timeout=20)
        list(client.messages.create(model="any", max_tokens=64, messages=MESSAGES, stream=True,
                                    extra_headers=replay("text")))
        client.messages.create(model="any", max_tokens=64, messages=MESSAGES,
                               extra_headers=replay("incomplete_length"))
        expected = {"streams.anthropic": 1, "unary.anthropic": 1,
                    "anthropic.outcome.completed": 1, "anthropic.outcome.incomplete": 1,
                    "chat.outcome.completed": 0, "tokens.input": 21 + 15}
        wait_until(lambda: {k: proxy.counter(k) for k in expected} == expected, 10,
                   f"counters {expected}")
        wait_until(lambda: len(proxy.access_log_lines()) == 2, 10, "two access-log lines")
        lines = proxy.access_log_lines()
        assert [(l["dialect"], l["outcome"], l["response_id"]) for l in lines] == [
            ("anthropic", "completed", "resp_e2e_text"),
            ("anthropic", "incomplete", "resp_e2e_incomplete_length")]
    finally:
        proxy.stop()


# --- The envelope, in Anthropic's shape ---------------------------------------------------------------

def test_json_answer_to_a_stream_is_a_stream(client):
    with client.messages.stream(model="any", max_tokens=64, messages=MESSAGES,
                                extra_headers=replay("text", **{"x-replay-json": "1"})) as stream:
        assert "".join(stream.text_stream) == TEXT
        assert stream.get_final_message().stop_reason == "end_turn"


def test_sse_answer_to_a_unary_call_is_the_message(client):
    message = client.messages.create(model="any", max_tokens=64, messages=MESSAGES,
                                     extra_headers=replay("text", **{"x-replay-sse": "1"}))
    assert message.content[0].text == TEXT and message.usage.output_tokens == 10


def test_html_answer_is_a_502_in_anthropics_shape(client):
    with pytest.raises(anthropic.APIStatusError) as raised:
        client.messages.create(model="any", max_tokens=64, messages=MESSAGES,
                               extra_headers=replay("text", **{"x-replay-content-type": "text/html"}))
    assert raised.value.status_code == 502
    assert raised.value.body["error"]["type"] == "api_error"


def test_keepalives_pass_the_sdk(client):
    with client.messages.stream(model="any", max_tokens=64, messages=MESSAGES,
                                extra_headers=replay("keepalive")) as stream:
        final = stream.get_final_message()
    assert final.stop_reason in ("end_turn", "max_tokens")


def test_upstream_down_is_an_overloaded_503():
    dead = Upstream()
    stop(dead.proc)  # its port now refuses connections
    proxy = Envoy(dead)
    try:
        client = anthropic.Anthropic(base_url=proxy.url, api_key="x", max_retries=0, timeout=20)
        with pytest.raises(anthropic.APIStatusError) as raised:
            client.messages.create(model="any", max_tokens=64, messages=MESSAGES)
        assert raised.value.status_code == 503
        assert raised.value.body["type"] == "error"
        assert raised.value.body["error"]["type"] == "overloaded_error"
    finally:
        proxy.stop()
