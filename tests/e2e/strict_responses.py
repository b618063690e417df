"""Strict validation of OpenAI Responses API request bodies (`POST /v1/responses`), for the replay
upstream: a request the real API refuses must be refused here too, with the real API's error.

Two modes. With the openai SDK importable, the body is walked against the SDK's own request types
(`openai.types.responses.response_create_params.ResponseCreateParamsBase`, plus `stream`): required
keys, no unknown key at any depth, JSON types, Literal enums, unions picked by their `type` (then
`role`) discriminator. Without openai (the system python of `make run`) the check is structural:
the top-level key set (kept equal to the SDK's by a test), `model` and `input`, the top-level types
in `_STRUCTURAL_TYPES`, and every value rule below.

Report order, as measured against the live API: `model` missing or mistyped; `messages` (placed
here by inference: a Chat body has no `input`); `input` missing; unknown top-level keys (body order); then each field in `_FIELD_ORDER` (its type, then its value
rules; inside an object: missing keys, unknown keys, then the members); then the cross-field rules.
A top-level `null` means "omitted", except for `model` and `input`. Errors are
`{"error": {"message", "type": "invalid_request_error", "param", "code"}}`, status 400 unless noted.

Value rules the types do not encode, and where each was confirmed:

* `model`: required (`missing_required_parameter`); `null` is "expected a string, but got an
  object"; `""` is `model_not_found` ("The requested model '' does not exist.").  [P]
* `input`: required even with `previous_response_id` (`Missing required parameter: 'input'.`,
  checked right after `model`); `""` or `[]` without `previous_response_id`, `prompt` or
  `conversation` is `missing_required_parameter` with `param: null`, after the field pass.  [P]
  https://github.com/pydantic/pydantic-ai/pull/3470 (no input and no previous_response_id: 400)
* `messages` (a Chat body) is `unsupported_parameter`, `param: null`, "Unsupported parameter:
  'messages'. In the Responses API, this parameter has moved to 'input'. ...".  [P], and the same
  text quoted by many clients of api.openai.com (code index: "this parameter has moved to 'input'")
* Unknown top-level keys suggest known keys within 2 edits not already in the body ("Did you mean
  'store'?").  [P]  Nested unknown keys: `Unknown parameter: 'input[0].tool_calls'.`
  https://github.com/BerriAI/litellm/issues/13420 ("Unknown parameter: 'input[1].status'.")
* Inside an object a missing required key is reported before an unknown one: a Chat-shaped tool
  `{"type":"function","function":{...}}` is `Missing required parameter: 'tools[0].name'.`
  https://github.com/microsoft/vscode-copilot-release/issues/11157, [P]
* `max_output_tokens` >= 16 (`integer_below_min_value`).
  https://github.com/UKGovernmentBEIS/inspect_evals/issues/694, [P];  `max_tool_calls` >= 1.  [P]
* `temperature` 0..2, `top_p` 0..1 (`decimal_below_min_value` / `decimal_above_max_value`): API
  reference ranges; the error text as api.openai.com returns it is quoted in client fixtures (code
  index: "decimal above maximum value. Expected a value <= 2").
* `top_logprobs` 0..20 (`integer_below_min_value` / `integer_above_max_value`): API reference
  ("An integer between 0 and 20"), the SDK docstring.
* Function tool `name`: non-empty (`empty_string`), at most 128 characters
  (`string_above_max_length`: a public probe of api.openai.com/v1/responses, 2026-10-05, accepted
  128 and refused 129; Chat Completions' limit is 64), matching `^[a-zA-Z0-9_-]+$` (`invalid_value`).
  https://github.com/openai/openai-dotnet/issues/441 (the pattern error on `tools[0].name`)
* Function tool `parameters`: absent, `null`, `{}` or an object schema whose root `type` is
  "object"; otherwise `invalid_function_parameters` on `tools[i].parameters`, "Invalid schema for
  function 'f': schema must be a JSON Schema of 'type: "object"', got 'type: "string"'."
  https://github.com/kevinwatt/mysql-mcp/issues/5 (param and code), alibaba/spring-ai-alibaba#4576.
  With `strict: true` every object schema needs `properties`, `additionalProperties: false` and
  `required` listing every property ("In context=(), 'required' is required to be supplied and to
  be an array including every key in properties. Missing 'x'.").  Same sources, janhq/jan#7017.
  `text.format` `json_schema`: `name` and `schema` required (SDK types), and the same schema rules
  (`invalid_json_schema` on `text.format.schema`).
* `metadata`: at most 16 properties (`object_above_max_properties`), keys at most 64 characters
  (`property_name_above_max_length`), string values (`invalid_type`) of at most 512 characters
  (`string_above_max_length`).  [P] (the Chat twin of that table), SDK docstring.
* `function_call_output` whose `call_id` matches no earlier `function_call` in `input`, unless
  `previous_response_id` or `conversation` is set: "No tool call found for function call output
  with call_id call_x.", `param: "input"`, `code: null`.  https://github.com/james-6-23/codex2api/issues/414
* `background: true` with `store: false`: refused (background responses are stored; the exact
  wording of the real error is not confirmed).  https://developers.openai.com/api/docs/guides/background
* `instructions` a string, `reasoning.effort` in its Literal set: SDK types ([P] for the messages).

Where the SDK types and the live API disagree, the API wins (all [P]): a message item
(`type` absent or "message") is checked by role: assistant content is `output_text` / `refusal`
(`annotations` optional), other roles take `input_text` / `input_image` / `input_file`; messages
may carry `id` and `status`, only assistant messages `phase`. Keys the SDK marks `Required` that the
API accepts absent: a function tool's `strict` and `parameters` (litellm#13420 sends neither), an
`input_image`'s `detail` (OpenAI's own vision examples omit it).

[P] = the direct-API parity table of an OpenAI-compatible proxy, every row sent to
api.openai.com/v1/responses (2026-08-30): find "messages instead of input" / "order unknown key
beats input item" in the public code index (a test file beside its `docs/conformance-matrix.md`).
"""

import collections.abc
import json
import re
import typing

_NONE = type(None)
_ARRAYS = (list, collections.abc.Iterable, collections.abc.Sequence)
_INPUT_ITEM = re.compile(r"input\[\d+\]$")
_AT_ITEM = re.compile(r"(^input|\.content)\[\d+\]$")  # unions the API names by position
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
TOOL_NAME_MAX = 128
MAX_OUTPUT_TOKENS_MIN = 16
METADATA_MAX_PROPERTIES, METADATA_KEY_MAX, METADATA_VALUE_MAX = 16, 64, 512

# The order the live API reports faults in, one field at a time (measured; see the module doc).
_FIELD_ORDER = (
    "input", "previous_response_id", "prompt", "moderation", "include", "tools", "tool_choice",
    "metadata", "text", "temperature", "top_p", "parallel_tool_calls", "stream", "stream_options",
    "background", "max_output_tokens", "max_tool_calls", "reasoning", "user", "safety_identifier",
    "prompt_cache_options", "prompt_cache_key", "prompt_cache_retention", "truncation",
    "instructions", "store", "service_tier", "top_logprobs", "context_management",
)

# Top-level keys of ResponseCreateParamsBase (openai 3.54.0) plus `stream`, for the structural
# mode; test_strict_upstream.py asserts it equals the SDK's set.
KNOWN_KEYS = frozenset({
    "access_programs", "background", "background_options", "context_management", "conversation",
    "image", "include", "input", "instructions", "max_output_tokens", "max_tool_calls", "metadata",
    "model", "moderation", "parallel_tool_calls", "previous_response_id", "prompt",
    "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention", "reasoning",
    "safety_identifier", "service_tier", "store", "stream", "stream_options", "temperature", "text",
    "tool_choice", "tools", "top_logprobs", "top_p", "truncation", "user",
})

# What the structural mode checks of each top-level value's JSON type (SDK mode checks them all).
_STRUCTURAL_TYPES = {
    "input": (str, list), "instructions": str, "previous_response_id": str, "stream": bool,
    "store": bool, "background": bool, "parallel_tool_calls": bool, "user": str,
    "safety_identifier": str, "prompt_cache_key": str, "tools": list, "include": list,
    "metadata": dict, "text": dict, "reasoning": dict, "prompt": dict, "stream_options": dict,
    "max_output_tokens": int, "max_tool_calls": int, "top_logprobs": int,
    "temperature": float, "top_p": float,
}

# Expected-type phrases the live API uses where the generic wording differs.
_EXPECTED_AT = {
    "input": "one of a string or array of input items",
    "tools": "an array of tools",
    "metadata": "a metadata object",
}

_MESSAGES_MOVED = ("Unsupported parameter: 'messages'. In the Responses API, this parameter has "
                   "moved to 'input'. Try again with the new parameter. See the API documentation "
                   "for more information: https://platform.openai.com/docs/api-reference/responses/create.")
_INPUT_EMPTY = ("One of \"input\" or \"previous_response_id\" or 'prompt' or 'conversation' must be "
                "provided.")
NOT_JSON = ("We could not parse the JSON body of your request. (HINT: This likely means you aren't "
            "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
            "sent was not valid JSON. If you have trouble figuring out how to fix this, please "
            "contact us through our help center at help.openai.com.)")


class Rejection(Exception):
    """A request the real API refuses: its status and error body."""

    def __init__(self, message: str, param, code, status: int = 400):
        super().__init__(message)
        self.message, self.param, self.code, self.status = message, param, code, status

    def payload(self) -> dict:
        """The OpenAI error body."""
        return {"error": {"message": self.message, "type": "invalid_request_error",
                          "param": self.param, "code": self.code}}


# ---------------------------------------------------------------- wording


def _quote_list(values, last: str) -> str:
    """`'a'`, `'a' and 'b'`, `'a', 'b', and 'c'` (serial comma from three on, as the API writes)."""
    quoted = [f"'{v}'" for v in values]
    if len(quoted) < 3:
        return f" {last} ".join(quoted)
    return ", ".join(quoted[:-1]) + f", {last} " + quoted[-1]


def _abbrev(name: str) -> str:
    """The API's shortening of long names inside messages: `'pre..._id'`, `'kkk...kkk'`."""
    return name if len(name) <= 12 else f"{name[:3]}...{name[-3:]}"


def _got(value, null_word: str = "null") -> str:
    """The API's name for a JSON value's type."""
    if value is None:
        return null_word
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def invalid_type(path: str, expected: str, value, null_word: str = "null") -> Rejection:
    """`Invalid type for 'x': expected a string, but got an integer instead.`"""
    return Rejection(f"Invalid type for '{path}': expected {expected}, but got "
                     f"{_got(value, null_word)} instead.", path, "invalid_type")


def invalid_value(path: str, value, supported) -> Rejection:
    """`Invalid value: 'x'. Supported values are: 'a' and 'b'.` (a non-string shows as '')."""
    shown = value if isinstance(value, str) else ""
    return Rejection(f"Invalid value: '{shown}'. Supported values are: "
                     f"{_quote_list(supported, 'and')}.", path, "invalid_value")


def missing(path: str) -> Rejection:
    """`Missing required parameter: 'x'.`"""
    return Rejection(f"Missing required parameter: '{path}'.", path, "missing_required_parameter")


def unknown(path: str, hint: str = "") -> Rejection:
    """`Unknown parameter: 'x'.`, with an optional spelling hint."""
    return Rejection(f"Unknown parameter: '{path}'.{hint}", path, "unknown_parameter")


def _join(path: str, key: str) -> str:
    """The dotted path of a member."""
    return f"{path}.{key}" if path else key


# ---------------------------------------------------------------- value rules (raw JSON)


def _number(path: str, value, integer: bool):
    """Type check for a bounded number (the structural mode relies on it)."""
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok:
        raise invalid_type(path, "an integer" if integer else "a decimal", value)


def _bounds(path: str, value, low=None, high=None, integer: bool = True):
    """`Invalid 'x': integer below minimum value. Expected a value >= 16, but got 5 instead.`"""
    _number(path, value, integer)
    kind = "integer" if integer else "decimal"
    for limit, below in ((low, True), (high, False)):
        if limit is None or (value >= limit if below else value <= limit):
            continue
        word, sign, code = ("below minimum", ">=", "below_min") if below else ("above maximum", "<=", "above_max")
        raise Rejection(f"Invalid '{path}': {kind} {word} value. Expected a value {sign} "
                        f"{json.dumps(limit)}, but got {json.dumps(value)} instead.",
                        path, f"{kind}_{code}_value")


def _metadata(value):
    """At most 16 string pairs; keys up to 64 characters, values up to 512."""
    if not isinstance(value, dict):
        raise invalid_type("metadata", _EXPECTED_AT["metadata"], value)
    if len(value) > METADATA_MAX_PROPERTIES:
        raise Rejection(f"Invalid 'metadata': too many properties. Expected an object with at most "
                        f"{METADATA_MAX_PROPERTIES} properties, but got an object with {len(value)} "
                        "properties instead.", "metadata", "object_above_max_properties")
    for key, item in value.items():
        path = f"metadata.{key}"
        if len(key) > METADATA_KEY_MAX:
            raise Rejection(f"Invalid property name in 'metadata': '{_abbrev(key)}' is too long. "
                            f"Expected a string with maximum length {METADATA_KEY_MAX}, but got a "
                            f"string with length {len(key)} instead.", path,
                            "property_name_above_max_length")
        if not isinstance(item, str):
            raise invalid_type(path, "a string", item)
        if len(item) > METADATA_VALUE_MAX:
            raise Rejection(f"Invalid '{path}': string too long. Expected a string with maximum "
                            f"length {METADATA_VALUE_MAX}, but got a string with length "
                            f"{len(item)} instead.", path, "string_above_max_length")


def _tool_name(path: str, name):
    """Function names: 1 to 128 characters of `[a-zA-Z0-9_-]`."""
    if not isinstance(name, str):
        raise invalid_type(path, "a string", name)
    if not name:
        raise Rejection(f"Invalid '{path}': empty string. Expected a string with minimum length 1, "
                        "but got an empty string instead.", path, "empty_string")
    if len(name) > TOOL_NAME_MAX:
        raise Rejection(f"Invalid '{path}': string too long. Expected a string with maximum length "
                        f"{TOOL_NAME_MAX}, but got a string with length {len(name)} instead.",
                        path, "string_above_max_length")
    if not _TOOL_NAME.match(name):
        raise Rejection(f"Invalid '{path}': string does not match pattern. Expected a string that "
                        f"matches the pattern '{_TOOL_NAME.pattern}'.", path, "invalid_value")


def _schema_problem(schema, strict: bool):
    """Why a function / response-format schema is refused, or None. Root must be an object
    schema; with strict, every object schema lists and requires all its properties and closes."""
    root = schema.get("type")
    if root != "object":
        shown = root if isinstance(root, str) else "None"
        return f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{shown}\"'."
    if strict:
        return _strict_problem(schema, ())
    return None


def _strict_problem(schema, context: tuple):
    """Strict mode (Structured Outputs) rules, depth first, with the API's `In context=(...)`."""
    if not isinstance(schema, dict):
        return None
    where = f"In context={context!r}, "
    if schema.get("type") == "object":
        props = schema.get("properties")
        if not isinstance(props, dict):
            return where + "object schema missing properties."
        if schema.get("additionalProperties") is not False:
            return where + "'additionalProperties' is required to be supplied and to be false."
        required = schema.get("required")
        absent = [k for k in props if not isinstance(required, list) or k not in required]
        if absent:
            return (where + "'required' is required to be supplied and to be an array including "
                    f"every key in properties. Missing '{absent[0]}'.")
        for key, sub in props.items():
            found = _strict_problem(sub, context + ("properties", key))
            if found:
                return found
    if "items" in schema:
        found = _strict_problem(schema["items"], context + ("items",))
        if found:
            return found
    for key in ("anyOf", "$defs", "definitions"):
        members = schema.get(key)
        entries = members.items() if isinstance(members, dict) else enumerate(members or [])
        for name, sub in entries:
            found = _strict_problem(sub, context + (key, name))
            if found:
                return found
    return None


def _tools(value):
    """Function tools: the name rules, and a usable `parameters` schema."""
    if not isinstance(value, list):
        raise invalid_type("tools", _EXPECTED_AT["tools"], value)
    for i, tool in enumerate(value):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            continue
        if "name" not in tool:
            raise missing(f"tools[{i}].name")
        _tool_name(f"tools[{i}].name", tool["name"])
        params = tool.get("parameters")
        if params is None or params == {}:
            continue
        if not isinstance(params, dict):
            raise invalid_type(f"tools[{i}].parameters", "an object", params)
        problem = _schema_problem(params, tool.get("strict") is True)
        if problem:
            raise Rejection(f"Invalid schema for function '{tool['name']}': {problem}",
                            f"tools[{i}].parameters", "invalid_function_parameters")


def _text(value):
    """`text.format` json_schema: the schema rules of Structured Outputs."""
    fmt = value.get("format") if isinstance(value, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        return  # the type walk (or nothing, in the structural mode) reports it
    problem = _schema_problem(schema, fmt.get("strict") is True)
    if problem:
        raise Rejection(f"Invalid schema for response_format '{fmt.get('name')}': {problem}",
                        "text.format.schema", "invalid_json_schema")


_FIELD_RULES = {
    "max_output_tokens": lambda v: _bounds("max_output_tokens", v, low=MAX_OUTPUT_TOKENS_MIN),
    "max_tool_calls": lambda v: _bounds("max_tool_calls", v, low=1),
    "temperature": lambda v: _bounds("temperature", v, 0, 2, integer=False),
    "top_p": lambda v: _bounds("top_p", v, 0, 1, integer=False),
    "top_logprobs": lambda v: _bounds("top_logprobs", v, 0, 20),
    "metadata": _metadata,
    "tools": _tools,
    "text": _text,
}


def _cross_field(body: dict):
    """Rules across fields, after every field passed: empty input, background without store,
    function outputs without their call."""
    stateful = body.get("previous_response_id") or body.get("conversation")
    if body.get("input") in ("", []) and not (stateful or body.get("prompt")):
        raise Rejection(_INPUT_EMPTY, None, "missing_required_parameter")
    if body.get("background") is True and body.get("store") is False:
        raise Rejection("Invalid value for 'background': background mode requires 'store' to be "
                        "true.", "background", "invalid_value")
    if stateful or not isinstance(body.get("input"), list):
        return
    calls = set()
    for item in body["input"]:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call":
            calls.add(item.get("call_id"))
        elif item.get("type") == "function_call_output" and isinstance(item.get("call_id"), str) \
                and item["call_id"] not in calls:
            raise Rejection("No tool call found for function call output with call_id "
                            f"{item['call_id']}.", "input", None)


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def _did_you_mean(key: str, known, body: dict) -> str:
    """` Did you mean 'store'?`: known keys within 2 edits, not already sent, nearest first."""
    near = sorted((d, k) for k in known if k not in body and abs(len(k) - len(key)) <= 2
                  for d in [_edit_distance(key, k)] if d <= 2)
    if not near:
        return ""
    return f" Did you mean {_quote_list([k for _, k in near], 'or')}?"


# ---------------------------------------------------------------- the validator


class Validator:
    """Checks one request body; `schema` is the SDK-typed walker, or None for the structural mode."""

    def __init__(self, schema=None):
        self.schema = schema
        self.mode = "openai SDK types" if schema else "structural (stdlib)"
        self.known = schema.top_keys if schema else KNOWN_KEYS

    def check_bytes(self, raw: bytes):
        """Parses and checks a raw body; raises Rejection."""
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise Rejection(NOT_JSON, None, None) from None
        self.check(body)

    def check(self, body):
        """Raises Rejection for the first fault the live API would report."""
        if not isinstance(body, dict):
            raise Rejection(NOT_JSON, None, None)
        self._model(body)
        if "messages" in body:
            raise Rejection(_MESSAGES_MOVED, None, "unsupported_parameter")
        if "input" not in body:
            raise missing("input")
        for key in body:
            if key not in self.known:
                raise unknown(key, _did_you_mean(key, self.known, body))
        if body["input"] is None:
            raise invalid_type("input", "a string", None, null_word="an object")
        for key in sorted(body, key=_field_rank):
            value = body[key]
            if key == "model" or value is None:
                continue
            if self.schema:
                self.schema.check_top(key, value)
            elif key in _STRUCTURAL_TYPES:
                _structural_type(key, value)
            if key in _FIELD_RULES:
                _FIELD_RULES[key](value)
        _cross_field(body)

    @staticmethod
    def _model(body: dict):
        """`model`: required, a string, not empty."""
        if "model" not in body:
            raise missing("model")
        model = body["model"]
        if not isinstance(model, str):
            raise invalid_type("model", "a string", model, null_word="an object")
        if not model:
            raise Rejection("The requested model '' does not exist.", "model", "model_not_found")


def _field_rank(key: str):
    """Sort key: the API's field order, then the other keys alphabetically."""
    return (_FIELD_ORDER.index(key), "") if key in _FIELD_ORDER else (len(_FIELD_ORDER), key)


def _structural_type(key: str, value):
    """The JSON type check of the structural mode for one top-level value."""
    expected = _STRUCTURAL_TYPES[key]
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if float in kinds:
        return _number(key, value, integer=False)
    if int in kinds:
        return _number(key, value, integer=True)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        words = {str: "a string", bool: "a boolean", list: "an array", dict: "an object"}
        raise invalid_type(key, _EXPECTED_AT.get(key) or words[kinds[0]], value)


# ---------------------------------------------------------------- SDK-typed walker


class SdkSchema:
    """Walks a JSON value against the openai SDK's TypedDicts (see the module doc for overrides)."""

    def __init__(self):
        import typing_extensions
        from openai.types.responses import (FunctionToolParam, ResponseInputImageParam,
                                            ResponseOutputTextParam)
        from openai.types.responses.response_create_params import ResponseCreateParamsBase

        self._typing = typing_extensions
        self._hints = {}
        self.relaxed = {(FunctionToolParam, "strict"), (FunctionToolParam, "parameters"),
                        (ResponseInputImageParam, "detail"), (ResponseOutputTextParam, "annotations")}
        self.top = {**self.hints(ResponseCreateParamsBase), "stream": typing.Optional[bool]}
        self.top["input"] = typing.Union[str, typing.List[self._input_item()]]
        self.top_keys = frozenset(self.top)

    def _input_item(self):
        """The SDK's input item union, its three message members replaced by two role-checked
        ones as the live API checks them (assistant content is output_text / refusal)."""
        from openai.types.responses import ResponseOutputRefusalParam, ResponseOutputTextParam
        from openai.types.responses.easy_input_message_param import EasyInputMessageParam
        from openai.types.responses.response_input_message_content_list_param import (
            ResponseInputMessageContentListParam)
        from openai.types.responses.response_input_param import Message, ResponseInputItemParam
        from openai.types.responses.response_output_message_param import ResponseOutputMessageParam

        required, typed_dict = self._typing.Required, self._typing.TypedDict
        easy = self.hints(EasyInputMessageParam)
        meta = {"type": easy["type"], "id": str,
                "status": _strip(self.hints(ResponseOutputMessageParam)["status"])}
        parts = typing.Union[ResponseOutputTextParam, ResponseOutputRefusalParam]
        assistant = typed_dict("AssistantMessage", {
            "role": required[typing.Literal["assistant"]],
            "content": required[typing.Union[str, typing.List[parts]]],
            "phase": easy["phase"], **meta}, total=False)
        others = typed_dict("InputMessage", {
            "role": required[typing.Literal["system", "developer", "user"]],
            "content": required[typing.Union[str, ResponseInputMessageContentListParam]],
            **meta}, total=False)
        replaced = (EasyInputMessageParam, Message, ResponseOutputMessageParam)
        items = [m for m in typing.get_args(ResponseInputItemParam) if m not in replaced]
        return typing.Union[(assistant, others, *items)]

    def hints(self, td) -> dict:
        """A TypedDict's member types, with Required / NotRequired kept (cached)."""
        if td not in self._hints:
            self._hints[td] = typing.get_type_hints(td, include_extras=True)
        return self._hints[td]

    def required(self, td, key: str) -> bool:
        """Whether the API requires this member (the SDK's Required, minus `self.relaxed`)."""
        tp = self.hints(td).get(key)
        if tp is None or (td, key) in self.relaxed:
            return False
        origin = typing.get_origin(tp)
        return origin is typing.Required or (td.__total__ and origin is not typing.NotRequired)

    def check_top(self, key: str, value):
        """Checks one top-level value."""
        self.check(value, self.top[key], key)

    def check(self, value, tp, path: str):
        """Raises Rejection unless `value` fits `tp`."""
        tp = _strip(tp)
        origin = typing.get_origin(tp)
        if tp is object or tp is typing.Any:
            return
        if origin is typing.Union:
            return self._union(value, typing.get_args(tp), path)
        if origin is typing.Literal:
            return _literal(value, typing.get_args(tp), path, self.describe(tp, path))
        if self._typing.is_typeddict(tp):
            return self._object(value, tp, path)
        if origin in _ARRAYS:
            if not isinstance(value, list):
                raise invalid_type(path, self.describe(tp, path), value)
            for i, item in enumerate(value):
                self.check(item, typing.get_args(tp)[0], f"{path}[{i}]")
            return
        if origin is dict:
            if not isinstance(value, dict):
                raise invalid_type(path, self.describe(tp, path), value)
            for key, item in value.items():
                self.check(item, typing.get_args(tp)[1], _join(path, key))
            return
        if not _scalar_fits(value, tp):
            raise invalid_type(path, self.describe(tp, path), value)

    def _object(self, value, td, path: str):
        """Missing keys, then unknown keys, then each member in declaration order."""
        if not isinstance(value, dict):
            raise invalid_type(path, _EXPECTED_AT.get(path, "an object"), value)
        hints = self.hints(td)
        for key in hints:
            if key not in value and self.required(td, key):
                raise missing(_join(path, key))
        for key in value:
            if key not in hints:
                raise unknown(_join(path, key))
        for key, tp in hints.items():
            if key in value:
                self.check(value[key], tp, _join(path, key))

    def _union(self, value, members, path: str):
        """Optional, then the members that take this JSON kind, picked by discriminator."""
        members = _merge_literals([_strip(m) for m in members])
        if value is None and _NONE in members:
            return
        fits = [m for m in members if self._takes(m, value)]
        if not fits:
            raise invalid_type(path, self.describe(typing.Union[tuple(members)], path), value)
        if isinstance(value, dict):
            fits = self._discriminate(value, fits, path)
        failures = []
        for member in fits:
            try:
                return self.check(value, member, path)
            except Rejection as err:
                failures.append((self._strangers(value, member), len(failures), err))
        raise min(failures, key=lambda f: f[:2])[2]

    def _discriminate(self, value: dict, fits: list, path: str) -> list:
        """Narrows a union of objects by `type`, then `role` (an absent `type` rules out members
        that require it; an absent `role` is an error when a candidate requires one)."""
        for key in ("type", "role"):
            typed = [m for m in fits if self._typing.is_typeddict(m)]
            tags = {m: _literal_values(self.hints(m).get(key)) for m in typed}
            if key not in value:
                needed = [m for m in typed if self.required(m, key)]
                if key == "role" and needed:
                    raise invalid_value(path, "", _ordered(tags))
                if needed and len(needed) == len(fits):
                    raise missing(_join(path, key))
                fits = [m for m in fits if m not in needed]
                continue
            if not any(tags.values()):
                continue
            matching = [m for m in typed if value[key] in (tags[m] or ()) and
                        isinstance(value[key], str)]
            if not matching:
                where = path if key == "role" or _AT_ITEM.search(path) else _join(path, key)
                raise invalid_value(where, value[key], _ordered(tags))
            fits = matching
        return fits

    def _takes(self, tp, value) -> bool:
        """Whether a union member accepts this JSON kind at all."""
        origin = typing.get_origin(tp)
        if tp is object or tp is typing.Any:
            return True
        if self._typing.is_typeddict(tp) or origin is dict:
            return isinstance(value, dict)
        if origin in _ARRAYS:
            return isinstance(value, list)
        if origin is typing.Literal:
            return any(type(a) is type(value) for a in typing.get_args(tp))
        return _scalar_fits(value, tp)

    def _strangers(self, value: dict, member) -> int:
        """How many of the value's keys a member does not know (to pick the error to report)."""
        if not (isinstance(value, dict) and self._typing.is_typeddict(member)):
            return 0
        return sum(1 for key in value if key not in self.hints(member))

    def describe(self, tp, path: str = "") -> str:
        """The API's phrase for an expected type: "a string", "one of 'auto' or 'disabled'"."""
        if path in _EXPECTED_AT:
            return _EXPECTED_AT[path]
        if _INPUT_ITEM.fullmatch(path):
            return "an input item"
        tp = _strip(tp)
        origin = typing.get_origin(tp)
        if origin is typing.Literal:
            values = typing.get_args(tp)
            return f"'{values[0]}'" if len(values) == 1 else "one of " + _quote_list(values, "or")
        if origin is typing.Union:
            members = [m for m in _merge_literals([_strip(m) for m in typing.get_args(tp)])
                       if m is not _NONE]
            if len(members) == 1:
                return self.describe(members[0])
            words = list(dict.fromkeys(self.describe(m) for m in members
                                       if typing.get_origin(m) is not typing.Literal))
            words += [_quote_list(typing.get_args(m), "or") for m in members
                      if typing.get_origin(m) is typing.Literal]
            return "one of " + " or ".join(words)
        if origin in _ARRAYS:
            item = _strip(typing.get_args(tp)[0])
            if typing.get_origin(item) is typing.Literal:
                return "an array of one of " + _quote_list(
                    [_abbrev(v) for v in typing.get_args(item)], "or")
            inner = [item] if typing.get_origin(item) is not typing.Union else typing.get_args(item)
            if all(self._typing.is_typeddict(_strip(m)) for m in inner):
                return "an array of objects"
            return "an array of strings" if item is str else "an array"
        if self._typing.is_typeddict(tp) or origin is dict:
            return "an object"
        return {str: "a string", int: "an integer", float: "a decimal", bool: "a boolean",
                _NONE: "null"}.get(tp, "a value")


def _strip(tp):
    """Removes Required / NotRequired / Annotated wrappers."""
    while typing.get_origin(tp) in (typing.Required, typing.NotRequired, typing.Annotated):
        tp = typing.get_args(tp)[0]
    return tp


def _merge_literals(members: list) -> list:
    """One Literal for all Literal members of a union (their values in order)."""
    literals = [v for m in members if typing.get_origin(m) is typing.Literal
                for v in typing.get_args(m)]
    if len([m for m in members if typing.get_origin(m) is typing.Literal]) < 2:
        return members
    rest = [m for m in members if typing.get_origin(m) is not typing.Literal]
    return rest + [typing.Literal[tuple(dict.fromkeys(literals))]]


def _literal_values(tp):
    """The values of a (possibly Optional / Required) Literal, or None if it is not one."""
    tp = _strip(tp) if tp is not None else None
    if tp is not None and typing.get_origin(tp) is typing.Union:
        tp = next((_strip(m) for m in typing.get_args(tp) if m is not _NONE), None)
    return typing.get_args(tp) if tp is not None and typing.get_origin(tp) is typing.Literal else None


def _ordered(tags: dict) -> list:
    """Every discriminator value of the candidates, in declaration order."""
    return list(dict.fromkeys(v for values in tags.values() if values for v in values))


def _literal(value, allowed, path: str, expected: str):
    """A Literal: invalid_value for a wrong value of the right type, else invalid_type."""
    if any(type(value) is type(a) and value == a for a in allowed):
        return
    if any(type(value) is type(a) for a in allowed):
        raise invalid_value(path, value, allowed)
    raise invalid_type(path, expected, value)


def _scalar_fits(value, tp) -> bool:
    """JSON kinds: bool is not a number, an integer is a decimal."""
    if tp is _NONE:
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    raise TypeError(f"strict_responses: unsupported SDK type {tp!r}")


def load_validator() -> Validator:
    """The SDK-typed validator, or the structural one when the openai SDK is not importable."""
    try:
        return Validator(SdkSchema())
    except ImportError:
        return Validator(None)
