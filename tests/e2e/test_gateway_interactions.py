"""An unmodified google-genai program against a strict Responses-only upstream, through a real Envoy:
the filter rewrites each Interactions request into a Responses request (which the upstream validates
as the real API does, against the openai SDK's own request types) and each answer, streamed or not,
back into Interactions."""

import json

import pytest
from google import genai
from google.genai import types

from conftest import REPO, Envoy, forwarded, post, sent
from strict import assert_strict, parse_stream

TEXT = "The quick brown fox jumps over the lazy dog."
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object",
                   "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                   "required": ["city"]},
}


@pytest.fixture()
def client(envoy):
    # No retries: a refused or failed answer must surface on the first attempt.
    return genai.Client(api_key="x", http_options=types.HttpOptions(
        base_url=envoy.url, api_version="v1beta", timeout=20_000,
        retry_options=types.HttpRetryOptions(attempts=1)))


def replay(name: str) -> dict:
    return {"x-replay-file": name}


def model_text(interaction) -> str:
    return "".join(c.text for s in interaction.steps if s.type == "model_output"
                   for c in (s.content or []) if c.type == "text")


def test_unary_text(client, upstream):
    interaction = client.interactions.create(
        model="gpt-test", input="Say the pangram.", system_instruction="Be brief.",
        generation_config={"temperature": 0.3, "max_output_tokens": 64},
        extra_headers=replay("text"))
    assert interaction.id == "resp_e2e_text"
    assert interaction.status == "completed"
    assert model_text(interaction) == TEXT
    assert interaction.usage.total_input_tokens == 21
    assert interaction.usage.total_tokens == 31
    body = sent(upstream)
    assert body["model"] == "gpt-test"
    assert body["input"] == "Say the pangram."
    assert body["instructions"] == "Be brief."
    assert body["temperature"] == 0.3
    assert body["max_output_tokens"] == 64
    assert not body.get("stream"), "a unary request must not ask the upstream for a stream"
    assert "generation_config" not in body and "system_instruction" not in body


def test_unary_answer_is_a_declared_interaction(envoy, upstream):
    from google.genai._gaos.types.interactions.interaction import Interaction
    status, headers, body = post(envoy.url, "/v1beta/interactions",
                                 body={"model": "any", "input": "hi"}, headers=replay("reasoning"))
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    interaction = Interaction.model_validate(json.loads(body))
    assert not (interaction.model_extra or {}), interaction.model_extra
    assert [s.type for s in interaction.steps][-1] == "model_output"


def test_streaming_request_is_translated(client, envoy, upstream):
    events = list(client.interactions.create(model="any", input="hi", stream=True,
                                             extra_headers=replay("text")))
    assert events[-1].event_type == "interaction.completed"
    assert sent(upstream)["stream"] is True
    status, _, raw = post(envoy.url, "/v1beta/interactions", headers=replay("text"))
    assert status == 200
    for payload in parse_stream(raw):
        assert_strict(payload)


def test_function_call_round_trip_with_previous_interaction_id(client, upstream):
    first = client.interactions.create(model="any", input="Weather in Paris and Tokyo?",
                                       tools=[WEATHER_TOOL], extra_headers=replay("parallel_tools"))
    assert first.status == "requires_action"
    calls = [s for s in first.steps if s.type == "function_call"]
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("call_weather_paris", "get_weather", {"city": "Paris", "unit": "c"}),
        ("call_weather_tokyo", "get_weather", {"city": "Tokyo", "unit": "c"})]
    body = sent(upstream)
    assert body["tools"] == [{"type": "function", "name": "get_weather",
                              "description": WEATHER_TOOL["description"],
                              "parameters": WEATHER_TOOL["parameters"], "strict": False}]

    results = [{"type": "function_result", "call_id": c.id, "name": c.name,
                "result": {"temperature": 21 if c.arguments["city"] == "Paris" else 25}}
               for c in calls]
    second = client.interactions.create(model="any", previous_interaction_id=first.id,
                                        input=results, tools=[WEATHER_TOOL],
                                        extra_headers=replay("text"))
    assert second.status == "completed"
    assert model_text(second) == TEXT
    body = sent(upstream)
    assert body["previous_response_id"] == "resp_e2e_tools"
    assert [(i["type"], i["call_id"]) for i in body["input"]] == [
        ("function_call_output", "call_weather_paris"),
        ("function_call_output", "call_weather_tokyo")]
    assert json.loads(body["input"][0]["output"]) == {"temperature": 21}


def test_function_call_round_trip_stateless(client, upstream):
    first = client.interactions.create(model="any", input="Weather in Paris and Tokyo?",
                                       tools=[WEATHER_TOOL], extra_headers=replay("parallel_tools"))
    calls = [s for s in first.steps if s.type == "function_call"]
    history = [{"type": "user_input", "content": [{"type": "text",
                                                   "text": "Weather in Paris and Tokyo?"}]}]
    history += [{"type": "function_call", "id": c.id, "name": c.name, "arguments": c.arguments}
                for c in calls]
    history += [{"type": "function_result", "call_id": c.id, "name": c.name, "result": "sunny"}
                for c in calls]
    second = client.interactions.create(model="any", input=history, tools=[WEATHER_TOOL],
                                        extra_headers=replay("text"))
    assert second.status == "completed"
    items = sent(upstream)["input"]
    assert items[0]["role"] == "user"
    assert [(i["type"], i["call_id"]) for i in items[1:]] == [
        ("function_call", "call_weather_paris"), ("function_call", "call_weather_tokyo"),
        ("function_call_output", "call_weather_paris"),
        ("function_call_output", "call_weather_tokyo")]
    assert json.loads(items[1]["arguments"]) == {"city": "Paris", "unit": "c"}
    assert items[3]["output"] == "sunny"


def test_streamed_function_call_round_trip(client, upstream):
    events = list(client.interactions.create(model="any", input="Weather?", tools=[WEATHER_TOOL],
                                             stream=True, extra_headers=replay("parallel_tools")))
    starts = [e.step for e in events if e.event_type == "step.start" and e.step.type == "function_call"]
    assert [s.id for s in starts] == ["call_weather_paris", "call_weather_tokyo"]
    end = events[-1]
    assert end.interaction.status == "requires_action"
    results = [{"type": "function_result", "call_id": s.id, "name": s.name, "result": "ok"}
               for s in starts]
    events = list(client.interactions.create(model="any", previous_interaction_id=end.interaction.id,
                                             input=results, stream=True,
                                             extra_headers=replay("text")))
    assert events[-1].interaction.status == "completed"
    body = sent(upstream)
    assert body["previous_response_id"] == "resp_e2e_tools" and body["stream"] is True


def test_incomplete_unary_answer(client):
    interaction = client.interactions.create(model="any", input="hi",
                                             extra_headers=replay("incomplete_length"))
    assert interaction.status == "incomplete"
    assert interaction.usage is not None


def test_failed_unary_answer_is_an_error(client):
    with pytest.raises(Exception) as raised:
        client.interactions.create(model="any", input="hi", extra_headers=replay("failed"))
    assert getattr(raised.value, "status_code", None) == 500
    assert raised.value.body["error"]["status"] == "INTERNAL"


def test_unsupported_field_is_refused_naming_it(client, upstream):
    with pytest.raises(Exception) as raised:
        client.interactions.create(model="any", input="hi",
                                   generation_config={"seed": 7},
                                   extra_headers={**replay("text"), "x-test-marker": "seed"})
    assert getattr(raised.value, "status_code", None) == 400
    error = raised.value.body["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert "generation_config.seed" in error["message"]
    assert not forwarded(upstream, "seed"), "nothing may go upstream for a refused request"


def test_malformed_json_is_refused(envoy, upstream):
    status, headers, body = post(envoy.url, "/v1beta/interactions", body=b'{"model": "any", "input": ',
                                 headers={"x-test-marker": "malformed-interactions"})
    assert status == 400
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
    assert not forwarded(upstream, "malformed-interactions")


def test_dropped_field_when_configured(upstream):
    proxy = Envoy(upstream, plugin_config='{"drop_unsupported_fields":["generation_config.seed"]}')
    try:
        client = genai.Client(api_key="x", http_options=types.HttpOptions(
            base_url=proxy.url, api_version="v1beta", timeout=20_000,
            retry_options=types.HttpRetryOptions(attempts=1)))
        interaction = client.interactions.create(model="any", input="hi",
                                                 generation_config={"seed": 7},
                                                 extra_headers=replay("text"))
        assert interaction.status == "completed"
        assert "seed" not in json.dumps(sent(upstream))
    finally:
        proxy.stop()


def test_get_interaction_maps_to_get_response(envoy, upstream):
    status, _, body = post(envoy.url, "/v1beta/interactions", body={"model": "any", "input": "hi"},
                           headers=replay("text"))
    interaction_id = json.loads(body)["id"]
    client = genai.Client(api_key="x", http_options=types.HttpOptions(
        base_url=envoy.url, api_version="v1beta", timeout=20_000))
    fetched = client.interactions.get(interaction_id, extra_headers=replay("text"))
    assert fetched.id == interaction_id and fetched.status == "completed"
    request = upstream.last_request()
    assert request["method"] == "GET"
    assert request["path"].split("?")[0] == f"/v1/responses/{interaction_id}"


def test_openai_front_config_turns_the_google_key_into_a_bearer_token(upstream):
    """envoy/envoy-openai.yaml (Envoy in front of api.openai.com) with its cluster pointed at the
    local upstream: a google-genai program's key reaches the upstream as OpenAI's bearer token (and
    only so), a Chat program's Authorization passes untouched."""
    text = (REPO / "envoy" / "envoy-openai.yaml").read_text()
    text = text.replace("type: LOGICAL_DNS", "type: STATIC")
    text = text.replace("socket_address: { address: api.openai.com, port_value: 443 }",
                        "socket_address: { address: 127.0.0.1, port_value: 8080 }")
    text = text[:text.index("      transport_socket:")]
    proxy = Envoy(upstream, template=text)
    try:
        client = genai.Client(api_key="sk-test-key", http_options=types.HttpOptions(
            base_url=proxy.url, api_version="v1beta", timeout=20_000,
            retry_options=types.HttpRetryOptions(attempts=1)))
        interaction = client.interactions.create(model="any", input="hi", extra_headers=replay("text"))
        assert model_text(interaction) == TEXT
        headers = upstream.last_request()["headers"]
        assert headers["authorization"] == "Bearer sk-test-key"
        assert "x-goog-api-key" not in headers
        status, _, _ = post(proxy.url, "/v1/chat/completions",
                            headers={**replay("text"), "authorization": "Bearer sk-chat"})
        assert status == 200
        assert upstream.last_request()["headers"]["authorization"] == "Bearer sk-chat"
    finally:
        proxy.stop()
