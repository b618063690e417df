"""What agent frameworks send by default, through a real Envoy (`{}` config) before the strict
upstream: the request bodies AutoGen, CrewAI and smolagents sent (captured by
tests/e2e/frameworks/capture.py, `make frameworks`) are replayed and must be translated and
accepted, their answers valid Chat Completions; stop sequences are honoured by the gateway (the
openai SDK and google-genai, stream and unary); participant names are accepted where they
differentiate nobody and refused, naming the field, where several participants share a role."""

import json
from pathlib import Path

import openai
import pytest
from google import genai
from google.genai import types
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from conftest import Envoy, Upstream, post, sent, stop
from strict import assert_strict, parse_stream

FRAMEWORKS = Path(__file__).resolve().parent / "frameworks"
CAPTURED = sorted((FRAMEWORKS / "captured").glob("*.json"))
# What the replay streams say past their stop sequences: it must never reach a client.
AFTER_STOP = ["must never reach", "hallucinated", "Observation:", "Calling tools:", "</code>"]
REACT_BEFORE_STOP = "Thought: call the tool.\nAction: get_weather\n"


@pytest.fixture(scope="module")
def upstream():
    server = Upstream(extra_dirs=[FRAMEWORKS / "streams"])
    yield server
    stop(server.proc)


@pytest.fixture(scope="module")
def envoy(upstream):
    proxy = Envoy(upstream)
    yield proxy
    proxy.stop()


@pytest.fixture()
def client(envoy):
    return openai.OpenAI(base_url=envoy.url + "/v1", api_key="x", max_retries=0, timeout=20)


def accumulate(chunks):
    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(chunk)
    return state.current_completion_snapshot


def chat_answer(raw: bytes, stream: bool) -> ChatCompletion:
    """The Chat answer as the openai SDK reads it (a stream assembled by its own helper)."""
    if not stream:
        return ChatCompletion.model_validate(json.loads(raw))
    text = raw.decode()
    assert text.endswith("data: [DONE]\n\n"), text[-200:]
    chunks = [ChatCompletionChunk.model_validate(json.loads(block[len("data: "):]))
              for block in text.split("\n\n")[:-2]]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishes) == 1, finishes
    return accumulate(chunks)


def test_framework_fixtures_are_there():
    names = {path.name.rsplit("-", 1)[0] for path in CAPTURED}
    assert {"autogen", "crewai", "smolagents"} <= names, CAPTURED


@pytest.mark.parametrize("fixture", CAPTURED, ids=lambda p: p.stem)
def test_captured_framework_requests_are_translated_and_answered(fixture, envoy, upstream):
    captured = json.loads(fixture.read_text())
    assert captured["requests"], fixture
    for n, request in enumerate(captured["requests"]):
        body = request["body"]
        status, headers, raw = post(envoy.url, "/v1/chat/completions", body=body,
                                    headers={"x-replay-file": request["replay"]})
        assert status == 200, (n, raw[:500])
        upstream_body = sent(upstream)
        assert "stop" not in upstream_body and "messages" not in upstream_body
        assert '"name": "user"' not in json.dumps(upstream_body["input"])
        completion = chat_answer(raw, bool(body.get("stream")))
        message = completion.choices[0].message
        content = message.content or ""
        for text in AFTER_STOP:
            assert text not in content, (n, content)
        if request["replay"] == "code_step":
            # smolagents' CodeAgent: the step ends at "</code>", as OpenAI would end it.
            assert completion.choices[0].finish_reason == "stop"
            assert content == 'Thought: I know the answer.\n<code>\nfinal_answer("Sunny, 21 °C")\n'
        elif request["replay"].endswith("_call"):
            assert completion.choices[0].finish_reason == "tool_calls"
            assert message.tool_calls, n
        else:
            assert content == "The weather in Paris is sunny, 21 °C."


def test_chat_stream_with_stop_ends_before_it(client, upstream):
    stream = client.chat.completions.create(
        model="any", messages=[{"role": "user", "content": "weather?"}], stream=True,
        stop=["Observation:", "Calling tools:"], stream_options={"include_usage": True},
        extra_headers={"x-replay-file": "react_text", "x-replay-split": "3"})
    chunks = list(stream)
    completion = accumulate(chunks)
    assert completion.choices[0].message.content == REACT_BEFORE_STOP
    assert completion.choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 40
    assert "stop" not in sent(upstream)


def test_chat_unary_with_stop_ends_before_it(client):
    completion = client.chat.completions.create(
        model="any", messages=[{"role": "user", "content": "weather?"}], stop="Observation:",
        extra_headers={"x-replay-file": "react_text"})
    assert completion.choices[0].message.content == REACT_BEFORE_STOP
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.completion_tokens == 40


def test_chat_with_too_many_stop_sequences_is_refused_naming_stop(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="any", messages=[{"role": "user", "content": "x"}],
                                       stop=["a", "b", "c", "d", "e"],
                                       extra_headers={"x-replay-file": "react_text"})
    assert raised.value.param == "stop"


@pytest.fixture()
def genai_client(envoy):
    return genai.Client(api_key="x", http_options=types.HttpOptions(
        base_url=envoy.url, api_version="v1beta", timeout=20_000,
        retry_options=types.HttpRetryOptions(attempts=1)))


def test_interactions_stream_with_stop_sequences_completes_before_them(genai_client, envoy,
                                                                       upstream):
    config = {"stop_sequences": ["Observation:"]}
    events = list(genai_client.interactions.create(
        model="any", input="weather?", stream=True, generation_config=config,
        extra_headers={"x-replay-file": "react_text"}))
    text = "".join(e.delta.text for e in events
                   if e.event_type == "step.delta" and getattr(e.delta, "type", "") == "text")
    assert text == REACT_BEFORE_STOP
    assert events[-1].event_type == "interaction.completed"
    assert events[-1].interaction.status == "completed"
    assert "generation_config" not in sent(upstream)
    status, _, raw = post(envoy.url, "/v1beta/interactions",
                          body={"model": "any", "input": "x", "stream": True,
                                "generation_config": config},
                          headers={"x-replay-file": "react_text", "x-replay-split": "1"})
    assert status == 200
    for payload in parse_stream(raw):
        assert_strict(payload)


def test_interactions_unary_with_stop_sequences_completes_before_them(genai_client):
    interaction = genai_client.interactions.create(
        model="any", input="weather?", generation_config={"stop_sequences": ["Action:"]},
        extra_headers={"x-replay-file": "react_text"})
    assert interaction.status == "completed"
    texts = [c.text for s in interaction.steps if s.type == "model_output" for c in s.content]
    assert "".join(texts) == "Thought: call the tool.\n"


def test_one_participant_name_per_role_is_accepted(client, upstream):
    completion = client.chat.completions.create(
        model="any", messages=[{"role": "system", "content": "Be brief.", "name": "system"},
                               {"role": "user", "content": "hi", "name": "user"}],
        extra_headers={"x-replay-file": "final_text"})
    assert completion.choices[0].message.content == "The weather in Paris is sunny, 21 °C."
    assert "name" not in json.dumps(sent(upstream)["input"])


def test_several_participants_sharing_a_role_are_refused_naming_the_field(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model="any", messages=[{"role": "user", "content": "hi", "name": "alice"},
                                   {"role": "user", "content": "hey", "name": "bob"}],
            extra_headers={"x-replay-file": "final_text"})
    assert raised.value.param == "messages[1].name"


def test_participant_names_prefix_keeps_them_apart(upstream):
    proxy = Envoy(upstream, plugin_config='{"participant_names":"prefix"}')
    try:
        client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0, timeout=20)
        client.chat.completions.create(
            model="any", messages=[{"role": "user", "content": "hi", "name": "alice"},
                                   {"role": "user", "content": "hey", "name": "bob"}],
            extra_headers={"x-replay-file": "final_text"})
        contents = [item["content"] for item in sent(upstream)["input"]]
        assert contents == ["alice: hi", "bob: hey"]
    finally:
        proxy.stop()
