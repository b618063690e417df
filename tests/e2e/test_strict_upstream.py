"""The strict replay upstream: the request validator (strict_responses.py) on its own, then
envoy/replay_upstream.py as a child process (no Envoy): it refuses what the real Responses API
refuses, answers unary requests with JSON and streaming ones with SSE, records what arrived, and
forwards validated bodies unchanged in proxy mode.

Every server is a child on a free 127.0.0.1 port, stopped by pid; every wait is bounded.
"""

import gzip
import http.client
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import typing
import pytest

import strict_responses
from conftest import REPLAY, STREAMS, free_port, http_get, stop, wait_until

SDK = strict_responses.load_validator()
STRUCTURAL = strict_responses.Validator(None)
MINIMAL = {"model": "gpt-4.1", "input": "hi"}

# Every feature a translated Chat or Interactions request may use, as the SDK types allow them.
RICH = {
    "model": "gpt-4.1",
    "instructions": "Be terse.",
    "input": [
        {"role": "system", "content": "You are a test."},
        {"role": "developer", "content": [{"type": "input_text", "text": "A developer note."}]},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "What is in these?"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
            {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "low"},
            {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="},
            {"type": "input_file", "file_id": "file-abc"},
        ]},
        {"role": "assistant", "content": "Let me check."},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather",
         "arguments": "{\"city\":\"Paris\"}"},
        {"type": "function_call", "call_id": "call_2", "name": "get_time", "arguments": "{}",
         "id": "fc_2", "status": "completed"},
        {"type": "function_call_output", "call_id": "call_1", "output": "{\"temp\":21}"},
        {"type": "function_call_output", "call_id": "call_2",
         "output": [{"type": "input_text", "text": "12:00"}]},
        {"role": "user", "content": "Thanks."},
    ],
    "tools": [
        {"type": "function", "name": "get_weather", "description": "Weather.", "strict": True,
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                        "required": ["city"], "additionalProperties": False}},
        {"type": "function", "name": "get_time", "strict": False,
         "parameters": {"type": "object", "properties": {}}},
        {"type": "function", "name": "noop"},
    ],
    "tool_choice": {"type": "function", "name": "get_weather"},
    "parallel_tool_calls": True,
    "text": {"format": {"type": "json_schema", "name": "answer", "strict": True,
                        "schema": {"type": "object", "properties": {"a": {"type": "string"}},
                                   "required": ["a"], "additionalProperties": False}},
             "verbosity": "low"},
    "reasoning": {"effort": "low", "summary": "auto"},
    "max_output_tokens": 256,
    "max_tool_calls": 4,
    "temperature": 0.7,
    "top_p": 0.9,
    "top_logprobs": 5,
    "store": True,
    "background": False,
    "metadata": {"k": "v"},
    "previous_response_id": None,
    "include": ["reasoning.encrypted_content", "message.output_text.logprobs"],
    "service_tier": "auto",
    "user": "u-1",
    "safety_identifier": "sid-1",
    "prompt_cache_key": "pk",
    "truncation": "auto",
    "stream": True,
    "stream_options": {"include_obfuscation": False},
}

CHAT_BODY = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}], "stream": True}
GEMINI_BODY = {"model": "gemini-3-flash", "input": "hi", "generation_config": {"temperature": 0.2}}
CHAT_TOOL = {"type": "function",
             "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
STRICT_OPEN = {"type": "object", "properties": {"a": {"type": "string"}}}


def rejection(validator, body: dict) -> strict_responses.Rejection:
    with pytest.raises(strict_responses.Rejection) as caught:
        validator.check(body)
    return caught.value


# ---------------------------------------------------------------- the validator


@pytest.mark.parametrize("validator", [SDK, STRUCTURAL], ids=["sdk", "structural"])
def test_minimal_and_rich_requests_pass(validator):
    validator.check(MINIMAL)
    validator.check(RICH)


def test_sdk_mode_is_active_with_the_venv():
    assert SDK.schema is not None and SDK.mode == "openai SDK types"


@pytest.mark.parametrize("tool_choice", [
    "auto", "none", "required", {"type": "function", "name": "get_weather"},
    {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "get_weather"}]},
])
def test_tool_choice_forms_pass(tool_choice):
    SDK.check({**RICH, "tool_choice": tool_choice})


@pytest.mark.parametrize("fragment", [
    {"max_output_tokens": 16}, {"temperature": 0}, {"temperature": 2}, {"top_p": 0}, {"top_p": 1},
    {"top_logprobs": 0}, {"top_logprobs": 20}, {"max_tool_calls": 1},
    {"tools": [{"type": "function", "name": "a" * 128}]},
    {"tools": [{"type": "function", "name": "f", "parameters": {}}]},
    {"tools": [{"type": "function", "name": "f", "parameters": None, "strict": None}]},
    {"metadata": {f"k{i}": "v" for i in range(16)}},
    {"metadata": {"k" * 64: "v" * 512}},
    {"text": {"format": {"type": "json_object"}}}, {"text": {"format": {"type": "text"}}},
    {"input": "", "previous_response_id": "resp_1"},
    {"input": [{"type": "function_call_output", "call_id": "c1", "output": "x"}],
     "previous_response_id": "resp_1"},
    {"input": [{"role": "user", "content": "x", "id": "msg_1", "status": "completed"}]},
    {"input": [{"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
                "phase": "final_answer",
                "content": [{"type": "output_text", "text": "x", "annotations": []}]}]},
    {"input": [{"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]}]},
    {"user": None, "temperature": None, "tools": None, "metadata": None},
    {"background": True, "store": True}, {"stream": False},
])
def test_boundaries_and_api_accepted_shapes_pass(fragment):
    SDK.check({**MINIMAL, **fragment})


# (fragment merged into MINIMAL, param, code, message or None to skip the exact text)
REJECTED = [
    ({"model": "$delete"}, "model", "missing_required_parameter", "Missing required parameter: 'model'."),
    ({"model": None}, "model", "invalid_type",
     "Invalid type for 'model': expected a string, but got an object instead."),
    ({"model": ""}, "model", "model_not_found", "The requested model '' does not exist."),
    ({"input": "$delete"}, "input", "missing_required_parameter", "Missing required parameter: 'input'."),
    ({"input": "$delete", "previous_response_id": "resp_1"}, "input", "missing_required_parameter", None),
    ({"input": []}, None, "missing_required_parameter",
     "One of \"input\" or \"previous_response_id\" or 'prompt' or 'conversation' must be provided."),
    ({"input": ""}, None, "missing_required_parameter", None),
    ({"input": {"a": 1}}, "input", "invalid_type",
     "Invalid type for 'input': expected one of a string or array of input items, but got an object instead."),
    ({"max_output_tokens": 5}, "max_output_tokens", "integer_below_min_value",
     "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 5 instead."),
    ({"max_output_tokens": 16.5}, "max_output_tokens", "invalid_type",
     "Invalid type for 'max_output_tokens': expected an integer, but got a decimal number instead."),
    ({"temperature": "hot"}, "temperature", "invalid_type",
     "Invalid type for 'temperature': expected a decimal, but got a string instead."),
    ({"temperature": 2.5}, "temperature", "decimal_above_max_value",
     "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 instead."),
    ({"temperature": -0.1}, "temperature", "decimal_below_min_value", None),
    ({"top_p": 1.5}, "top_p", "decimal_above_max_value", None),
    ({"top_logprobs": 21}, "top_logprobs", "integer_above_max_value",
     "Invalid 'top_logprobs': integer above maximum value. Expected a value <= 20, but got 21 instead."),
    ({"top_logprobs": -1}, "top_logprobs", "integer_below_min_value", None),
    ({"max_tool_calls": 0}, "max_tool_calls", "integer_below_min_value", None),
    ({"tools": [{"type": "function", "name": "get weather"}]}, "tools[0].name", "invalid_value",
     "Invalid 'tools[0].name': string does not match pattern. Expected a string that matches the "
     "pattern '^[a-zA-Z0-9_-]+$'."),
    ({"tools": [{"type": "function", "name": ""}]}, "tools[0].name", "empty_string", None),
    ({"tools": [{"type": "function", "name": "a" * 129}]}, "tools[0].name", "string_above_max_length", None),
    ({"tools": [{"type": "function", "name": "f", "parameters": {"type": "string"}}]},
     "tools[0].parameters", "invalid_function_parameters",
     "Invalid schema for function 'f': schema must be a JSON Schema of 'type: \"object\"', got "
     "'type: \"string\"'."),
    ({"tools": [{"type": "function", "name": "f", "parameters": {"oneOf": [{"type": "object"}]}}]},
     "tools[0].parameters", "invalid_function_parameters", None),
    ({"tools": [{"type": "function", "name": "f", "parameters": STRICT_OPEN, "strict": True}]},
     "tools[0].parameters", "invalid_function_parameters",
     "Invalid schema for function 'f': In context=(), 'additionalProperties' is required to be "
     "supplied and to be false."),
    ({"tools": [{"type": "function", "name": "f", "strict": True,
                 "parameters": {**STRICT_OPEN, "additionalProperties": False}}]},
     "tools[0].parameters", "invalid_function_parameters",
     "Invalid schema for function 'f': In context=(), 'required' is required to be supplied and to "
     "be an array including every key in properties. Missing 'a'."),
    ({"tools": [CHAT_TOOL]}, "tools[0].name", "missing_required_parameter",
     "Missing required parameter: 'tools[0].name'."),
    ({"tools": [{}]}, "tools[0].type", "missing_required_parameter", None),
    ({"tools": "x"}, "tools", "invalid_type",
     "Invalid type for 'tools': expected an array of tools, but got a string instead."),
    ({"input": [{"type": "function_call_output", "call_id": "call_9", "output": "x"}]}, "input", None,
     "No tool call found for function call output with call_id call_9."),
    ({"input": [{"type": "function_call_output", "call_id": "call_1", "output": "x"},
                {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"}]},
     "input", None, None),
    ({"background": True, "store": False}, "background", "invalid_value", None),
    ({"text": {"format": {"type": "json_schema", "schema": {"type": "object"}}}},
     "text.format.name", "missing_required_parameter", "Missing required parameter: 'text.format.name'."),
    ({"text": {"format": {"type": "json_schema", "name": "n"}}},
     "text.format.schema", "missing_required_parameter", None),
    ({"text": {"format": {"type": "json_schema", "name": "n", "schema": {"type": "array"}}}},
     "text.format.schema", "invalid_json_schema", None),
    ({"text": {"format": {"type": "bogus"}}}, "text.format.type", "invalid_value", None),
    ({"instructions": 7}, "instructions", "invalid_type",
     "Invalid type for 'instructions': expected a string, but got an integer instead."),
    ({"reasoning": {"effort": "extreme"}}, "reasoning.effort", "invalid_value",
     "Invalid value: 'extreme'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high', "
     "'xhigh', and 'max'."),
    ({"truncation": "bogus"}, "truncation", "invalid_value",
     "Invalid value: 'bogus'. Supported values are: 'auto' and 'disabled'."),
    ({"tool_choice": 7}, "tool_choice", "invalid_type",
     "Invalid type for 'tool_choice': expected one of an object or 'none', 'auto', or 'required', "
     "but got an integer instead."),
    ({"tool_choice": {"type": "function", "function": {"name": "f"}}}, "tool_choice.name",
     "missing_required_parameter", None),
    ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "object_above_max_properties",
     "Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but "
     "got an object with 17 properties instead."),
    ({"metadata": {"k" * 65: "v"}}, "metadata." + "k" * 65, "property_name_above_max_length",
     "Invalid property name in 'metadata': 'kkk...kkk' is too long. Expected a string with maximum "
     "length 64, but got a string with length 65 instead."),
    ({"metadata": {"k": "v" * 513}}, "metadata.k", "string_above_max_length", None),
    ({"metadata": {"k": 7}}, "metadata.k", "invalid_type", None),
    ({"metadata": "x"}, "metadata", "invalid_type",
     "Invalid type for 'metadata': expected a metadata object, but got a string instead."),
    ({"messages": [{"role": "user", "content": "hi"}]}, None, "unsupported_parameter", None),
    ({"generation_config": {}}, "generation_config", "unknown_parameter",
     "Unknown parameter: 'generation_config'."),
    ({"max_tokens": 16}, "max_tokens", "unknown_parameter", "Unknown parameter: 'max_tokens'."),
    ({"stre": 1}, "stre", "unknown_parameter", "Unknown parameter: 'stre'. Did you mean 'store' or 'stream'?"),
    ({"stream_options": {"include_usage": True}}, "stream_options.include_usage", "unknown_parameter", None),
    ({"input": [{"role": "assistant", "content": None, "tool_calls": []}]}, "input[0].tool_calls",
     "unknown_parameter", "Unknown parameter: 'input[0].tool_calls'."),
    ({"input": [{"role": "tool", "tool_call_id": "c", "content": "x"}]}, "input[0]", "invalid_value",
     "Invalid value: 'tool'. Supported values are: 'assistant', 'system', 'developer', and 'user'."),
    ({"input": [{}]}, "input[0]", "invalid_value", None),
    ({"input": [7]}, "input[0]", "invalid_type",
     "Invalid type for 'input[0]': expected an input item, but got an integer instead."),
    ({"input": [{"role": "user", "content": "x", "phase": "final_answer"}]}, "input[0].phase",
     "unknown_parameter", None),
    ({"input": [{"role": "assistant", "content": [{"type": "input_text", "text": "x"}]}]},
     "input[0].content[0]", "invalid_value",
     "Invalid value: 'input_text'. Supported values are: 'output_text' and 'refusal'."),
    ({"input": [{"role": "user", "content": [{"type": "input_text"}]}]}, "input[0].content[0].text",
     "missing_required_parameter", None),
    ({"input": [{"type": "bogus_item"}]}, "input[0]", "invalid_value", None),
    ({"stream": "yes"}, "stream", "invalid_type",
     "Invalid type for 'stream': expected a boolean, but got a string instead."),
    # Report order: model, then input, then unknown keys, then the fields in the API's order.
    ({"model": "$delete", "zzz": 1}, "model", "missing_required_parameter", None),
    ({"input": "$delete", "zzz": 1}, "input", "missing_required_parameter", None),
    ({"zzz": 1, "input": [{"role": "user", "content": "x", "bogus": 1}]}, "zzz", "unknown_parameter", None),
    ({"input": [], "truncation": "bogus"}, "truncation", "invalid_value", None),
    ({"tools": "x", "metadata": "x"}, "tools", "invalid_type", None),
    ({"temperature": 9, "max_output_tokens": 1}, "temperature", "decimal_above_max_value", None),
]


def merged(fragment: dict) -> dict:
    body = {**MINIMAL, **fragment}
    return {k: v for k, v in body.items() if v != "$delete"}


@pytest.mark.parametrize("fragment,param,code,message", REJECTED,
                         ids=[json.dumps(r[0])[:60] for r in REJECTED])
def test_sdk_mode_rejects_as_the_api(fragment, param, code, message):
    err = rejection(SDK, merged(fragment))
    assert (err.status, err.param, err.code) == (400, param, code), err.message
    if message is not None:
        assert err.message == message
    assert err.payload() == {"error": {"message": err.message, "type": "invalid_request_error",
                                       "param": param, "code": code}}


# What the structural (no SDK) mode does not see: nested types, enums and discriminated items.
MISSED_BY_STRUCTURAL = {
    ("input[0].tool_calls", "unknown_parameter"), ("input[0]", "invalid_value"),
    ("input[0]", "invalid_type"), ("input[0].phase", "unknown_parameter"),
    ("input[0].content[0]", "invalid_value"), ("input[0].content[0].text", "missing_required_parameter"),
    ("tools[0].type", "missing_required_parameter"), ("tool_choice", "invalid_type"),
    ("tool_choice.name", "missing_required_parameter"), ("text.format.name", "missing_required_parameter"),
    ("text.format.schema", "missing_required_parameter"), ("text.format.type", "invalid_value"),
    ("reasoning.effort", "invalid_value"), ("truncation", "invalid_value"),
    ("stream_options.include_usage", "unknown_parameter"),
}


@pytest.mark.parametrize("fragment,param,code,message", REJECTED,
                         ids=[json.dumps(r[0])[:60] for r in REJECTED])
def test_structural_mode_catches_the_top_level_faults(fragment, param, code, message):
    try:
        STRUCTURAL.check(merged(fragment))
    except strict_responses.Rejection as err:
        if (param, code) in MISSED_BY_STRUCTURAL:
            return  # it may stop at a later fault of the same body
        assert (err.param, err.code) == (param, code), err.message
        if message is not None:
            assert err.message == message
        return
    assert (param, code) in MISSED_BY_STRUCTURAL, "the structural mode must refuse this body"


def test_messages_is_refused_with_the_real_sentence():
    err = rejection(SDK, CHAT_BODY)
    assert err.param is None and err.code == "unsupported_parameter"
    assert err.message.startswith("Unsupported parameter: 'messages'. In the Responses API, this "
                                  "parameter has moved to 'input'.")


def test_structural_key_set_is_the_sdk_key_set():
    from openai.types.responses.response_create_params import ResponseCreateParamsBase
    sdk_keys = set(typing.get_type_hints(ResponseCreateParamsBase)) | {"stream"}
    assert strict_responses.KNOWN_KEYS == sdk_keys


def test_bad_json_is_refused():
    with pytest.raises(strict_responses.Rejection) as caught:
        SDK.check_bytes(b"{not json")
    assert caught.value.message.startswith("We could not parse the JSON body of your request.")
    assert (caught.value.param, caught.value.code) == (None, None)
    for body in (b"[1]", b"\"x\""):
        with pytest.raises(strict_responses.Rejection):
            SDK.check_bytes(body)


# ---------------------------------------------------------------- recordings


def replay_module():
    spec = importlib.util.spec_from_file_location("replay_upstream", REPLAY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_final_response_fills_a_trimmed_output_and_reads_multiline_data():
    replay = replay_module()
    item = {"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}
    stream = (b'event: response.output_item.done\ndata: {"type":"response.output_item.done",\n'
              b'data: "output_index":0,"item":' + json.dumps(item).encode() + b'}\n\n'
              b'data: {"type":"response.completed","response":{"id":"r","status":"completed",'
              b'"output":[]}}\n\ndata: [DONE]\n\n')
    assert replay.final_response(stream) == {"id": "r", "status": "completed", "output": [item]}
    text = replay.final_response((STREAMS / "text.sse").read_bytes())
    assert text["id"] == "resp_e2e_text" and text["status"] == "completed" and text["output"]


def test_unary_answer_of_an_error_stream_is_the_error():
    replay = replay_module()
    status, body = replay.unary_answer((STREAMS / "error_event.sse").read_bytes())
    assert status == 429
    assert body == {"error": {"message": "Rate limit reached for requests.", "type": "rate_limit_error",
                              "param": None, "code": "rate_limit_exceeded"}}
    status, body = replay.unary_answer(
        b'data: {"type":"error","error":{"type":"server_error","code":"internal_error","message":"boom"}}\n\n')
    assert status == 500 and body["error"]["code"] == "internal_error"


# ---------------------------------------------------------------- the server


class Server:
    """envoy/replay_upstream.py as a child on a free port, its stderr kept in a file."""

    def __init__(self, *args, python=(sys.executable,), env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [*python, str(REPLAY), "--port", str(self.port), "--dir", str(STREAMS), *args],
            stdout=subprocess.DEVNULL, stderr=self.stderr, env=env)
        wait_until(self._ready, 15, "the replay upstream")

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"replay upstream exited: {self.errors()}")
        return http_get(self.url + "/_health", 1)[0] == 200

    def errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def request(self, method: str, path: str, body=None, headers=None, raw: bytes = None):
        """(status, lower-case headers, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
            conn.request(method, path, body=data,
                         headers={"content-type": "application/json", **(headers or {})})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def post(self, body, path="/v1/responses", headers=None):
        return self.request("POST", path, body, headers)

    def requests(self) -> list:
        return json.loads(http_get(self.url + "/_requests")[1])

    def stop(self):
        stop(self.proc)
        self.stderr.close()


@pytest.fixture(scope="module")
def strict():
    server = Server()
    yield server
    server.stop()


def error_of(body: bytes) -> dict:
    return json.loads(body)["error"]


def test_valid_request_without_stream_gets_the_final_response_as_json(strict):
    status, headers, body = strict.post({**MINIMAL, "model": "text"})
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    response = json.loads(body)
    assert (response["id"], response["status"]) == ("resp_e2e_text", "completed")
    assert response["output"][0]["content"][0]["text"]
    status, _, again = strict.post({**MINIMAL, "model": "text", "stream": False})
    assert status == 200 and again == body


def test_stream_true_gets_the_recording_as_sse(strict):
    status, headers, body = strict.post({**MINIMAL, "stream": True}, headers={"x-replay-file": "text"})
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    assert body == (STREAMS / "text.sse").read_bytes()


def test_rich_request_streams(strict):
    status, headers, body = strict.post(RICH, headers={"x-replay-file": "parallel_tools"})
    assert status == 200 and body == (STREAMS / "parallel_tools.sse").read_bytes()


def test_x_replay_json_forces_json(strict):
    status, headers, body = strict.post({**MINIMAL, "stream": True},
                                        headers={"x-replay-file": "text", "x-replay-json": "1"})
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body)["id"] == "resp_e2e_text"


@pytest.mark.parametrize("name,state", [("incomplete_length", "incomplete"), ("failed", "failed"),
                                        ("content_filter", "incomplete")])
def test_unary_incomplete_and_failed_are_200_with_their_status(strict, name, state):
    status, _, body = strict.post(MINIMAL, headers={"x-replay-file": name})
    assert status == 200 and json.loads(body)["status"] == state


def test_unary_error_stream_is_an_error_status(strict):
    status, _, body = strict.post(MINIMAL, headers={"x-replay-file": "error_event"})
    assert status == 429 and error_of(body)["code"] == "rate_limit_exceeded"


def test_retrieve_is_json_and_resume_is_sse(strict):
    status, headers, body = strict.request("GET", "/v1/responses/resp_e2e_text",
                                           headers={"x-replay-file": "text"})
    assert status == 200 and json.loads(body)["id"] == "resp_e2e_text"
    status, headers, body = strict.request(
        "GET", "/v1/responses/resp_e2e_text?stream=true&starting_after=5", headers={"x-replay-file": "text"})
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    assert body == (STREAMS / "text.sse").read_bytes()


@pytest.mark.parametrize("method,path", [("POST", "/v1/chat/completions"),
                                         ("POST", "/v1beta/interactions"),
                                         ("POST", "/v1/responses/resp_1/other"),
                                         ("DELETE", "/v1/responses"),
                                         ("GET", "/v1/models")])
def test_other_paths_are_invalid_urls(strict, method, path):
    status, headers, body = strict.request(method, path, CHAT_BODY if method == "POST" else None)
    assert status == 404
    assert json.loads(body) == {"error": {"message": f"Invalid URL ({method} {path})",
                                          "type": "invalid_request_error", "param": None, "code": None}}


@pytest.mark.parametrize("body,param,code", [
    (CHAT_BODY, None, "unsupported_parameter"),
    (GEMINI_BODY, "generation_config", "unknown_parameter"),
    ({**MINIMAL, "stream": True, "tools": [CHAT_TOOL]}, "tools[0].name", "missing_required_parameter"),
    ({**MINIMAL, "stream": True, "max_output_tokens": 5}, "max_output_tokens", "integer_below_min_value"),
])
def test_refused_bodies_get_400_and_nothing_is_streamed(strict, body, param, code):
    status, headers, raw = strict.post(body, headers={"x-replay-file": "text", "x-replay-status": "429"})
    assert status == 400
    assert headers["content-type"] == "application/json"
    error = error_of(raw)
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)
    last = json.loads(http_get(strict.url + "/_last_request")[1])
    assert (last["status"], last["body"]) == (400, body)


def test_replayed_status_applies_after_validation(strict):
    status, _, body = strict.post(MINIMAL, headers={"x-replay-status": "429"})
    assert status == 429 and error_of(body)["code"] == "rate_limit_exceeded"


def test_requests_are_recorded_oldest_first_and_bounded(strict):
    http_get(strict.url + "/_health")
    conn_status = strict.request("POST", "/_requests/clear")[0]
    assert conn_status == 200 and strict.requests() == []
    strict.post({**MINIMAL, "model": "first"})
    strict.request("POST", "/v1/responses", raw=b"not json")
    strict.request("GET", "/v1/responses/resp_x?stream=true", headers={"x-replay-file": "text"})
    records = strict.requests()
    assert [(r["method"], r["path"], r["status"]) for r in records] == [
        ("POST", "/v1/responses", 200), ("POST", "/v1/responses", 400),
        ("GET", "/v1/responses/resp_x?stream=true", 200)]
    assert records[0]["body"] == {**MINIMAL, "model": "first"}
    assert records[0]["headers"]["content-type"] == "application/json"
    assert records[1]["body"] == "not json"
    assert records[2]["body"] is None
    for _ in range(205):
        strict.request("GET", "/v1/responses/resp_x")
    records = strict.requests()
    assert len(records) == 200 and all(r["path"] == "/v1/responses/resp_x" for r in records)
    assert strict.request("POST", "/_requests/clear")[2] == b'{"cleared": 200}'


def test_delivery_headers_still_work(strict):
    """x-replay-split / -chunk / -gzip / -hold-after + release / -reset-after / -id, directly."""
    text = (STREAMS / "text.sse").read_bytes()
    streaming = {**MINIMAL, "stream": True}
    for headers in ({"x-replay-split": "7"}, {"x-replay-chunk": "5"}, {"x-replay-id": "t1"}):
        assert strict.post(streaming, headers={"x-replay-file": "text", **headers})[2] == text
    assert len(json.loads(http_get(strict.url + "/_timings/t1")[1])) == text.count(b"\n\n")
    status, headers, body = strict.post(streaming, headers={"x-replay-file": "text", "x-replay-gzip": "1"})
    assert headers["content-encoding"] == "gzip" and gzip.decompress(body) == text

    sock = socket.create_connection(("127.0.0.1", strict.port), timeout=15)
    payload = json.dumps(streaming).encode()
    sock.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
                 b"x-replay-file: text\r\nx-replay-hold-after: 2\r\nx-replay-release: tok-strict\r\n"
                 b"content-length: %d\r\n\r\n%s" % (len(payload), payload))
    held = b""
    while b"response.in_progress" not in held:
        held += sock.recv(65536)
    sock.settimeout(0.5)
    with pytest.raises(socket.timeout):
        sock.recv(65536)  # held: nothing more until the release
    sock.settimeout(15)
    assert strict.request("POST", "/_release/tok-strict")[0] == 200
    rest = b""
    while not rest.endswith(b"0\r\n\r\n"):
        rest += sock.recv(65536)
    sock.close()
    assert b"output_text.delta" not in held and b"response.completed" in rest

    conn = http.client.HTTPConnection("127.0.0.1", strict.port, timeout=15)
    conn.request("POST", "/v1/responses", body=json.dumps(streaming),
                 headers={"x-replay-file": "text", "x-replay-reset-after": "3"})
    resp = conn.getresponse()
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        resp.read()
    conn.close()


def test_responses_path_is_configurable():
    server = Server("--responses-path", "/openai/v1/responses")
    try:
        assert server.post(MINIMAL, path="/openai/v1/responses")[0] == 200
        assert server.request("GET", "/openai/v1/responses/resp_1")[0] == 200
        assert server.post(MINIMAL)[0] == 404
    finally:
        server.stop()


def test_lenient_accepts_any_path_and_body():
    server = Server("--lenient")
    try:
        status, headers, body = server.post(CHAT_BODY, path="/v1/chat/completions",
                                            headers={"x-replay-file": "text"})
        assert status == 200 and body == (STREAMS / "text.sse").read_bytes()
        assert server.post({"model": "any"})[0] == 200
    finally:
        server.stop()


def test_without_the_sdk_it_falls_back_and_says_so():
    server = Server(python=(sys.executable, "-S"))  # no site-packages: openai is not importable
    try:
        assert "structural" in server.errors()
        assert server.post(MINIMAL)[0] == 200
        status, _, body = server.post(CHAT_BODY)
        assert status == 400 and error_of(body)["code"] == "unsupported_parameter"
        status, _, body = server.post(GEMINI_BODY)
        assert status == 400 and error_of(body)["param"] == "generation_config"
    finally:
        server.stop()


def test_proxy_forwards_validated_bodies_unchanged():
    backend = Server()
    proxy = Server("--proxy-base-url", backend.url,
                   env={**os.environ, "OPENAI_API_KEY": "sk-test"})
    try:
        proxy.request("POST", "/_requests/clear")
        status, headers, body = proxy.post({**RICH, "stream": True})
        assert status == 200 and headers["content-type"].startswith("text/event-stream")
        assert b"response.completed" in body
        status, headers, body = proxy.post({**MINIMAL, "model": "text"})
        assert status == 200 and json.loads(body)["id"] == "resp_e2e_text"
        status, _, body = proxy.request("GET", "/v1/responses/resp_e2e_text?stream=true")
        assert status == 200 and b"response.created" in body
        assert proxy.post(CHAT_BODY)[0] == 400  # refused locally, never forwarded
        status, _, body = proxy.post({**MINIMAL, "model": "text"}, headers={"x-replay-status": "503"})
        assert status == 200, "x-replay-* headers are not forwarded"
        forwarded = backend.requests()
        assert [r["body"] for r in forwarded[:2]] == [{**RICH, "stream": True}, {**MINIMAL, "model": "text"}]
        assert forwarded[2]["path"] == "/v1/responses/resp_e2e_text?stream=true"
        assert len(forwarded) == 4
        assert all(r["headers"]["authorization"] == "Bearer sk-test" for r in forwarded)
    finally:
        proxy.stop()
        backend.stop()


def test_proxy_relays_upstream_errors():
    backend = Server()
    proxy = Server("--proxy-base-url", backend.url + "/nowhere",
                   env={**os.environ, "OPENAI_API_KEY": "sk-test"})
    try:
        status, _, body = proxy.post(MINIMAL)
        assert status == 404 and error_of(body)["message"] == "Invalid URL (POST /nowhere/v1/responses)"
    finally:
        proxy.stop()
        backend.stop()
