"""Strict validation of Interactions events against the google-genai SDK's own pydantic models.

The SDK itself is lenient (unknown event types and extra fields pass silently). Here an event must
parse as one of the declared `InteractionSSEEvent` variants, contain no `Unknown*` variant anywhere,
no field the models do not declare, no value outside a declared enum, and survive a round trip through the models unchanged.
"""

import json

import pydantic
from google.genai._gaos.types.basemodel import UnrecognizedStr
from google.genai._gaos.types.interactions.interactionsseevent import InteractionSSEEvent

_ADAPTER = pydantic.TypeAdapter(InteractionSSEEvent)


def _walk(value, path: str):
    assert not isinstance(value, UnrecognizedStr), f"{path}: {value!r} is not a declared enum value"
    if isinstance(value, pydantic.BaseModel):
        name = type(value).__name__
        assert not name.startswith("Unknown") and not getattr(value, "is_unknown", False), \
            f"{path}: parsed as {name}, a variant the SDK does not know"
        extra = value.model_extra or {}
        assert not extra, f"{path}: fields not declared by {name}: {sorted(extra)}"
        for field in type(value).model_fields:
            _walk(getattr(value, field), f"{path}.{field}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _walk(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(item, f"{path}.{key}")


def assert_strict(payload: dict):
    """Fails unless `payload` (one event's JSON) is a declared, fully modelled Interactions event."""
    model = _ADAPTER.validate_python(payload)
    _walk(model, payload.get("event_type", "?"))
    dumped = model.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert dumped == payload, f"round trip changed the event:\n{payload}\n{dumped}"


def parse_stream(body: bytes) -> list:
    """Splits an Interactions SSE body into JSON events, checking the framing as it goes.

    Every block is `event: <type>\\ndata: <json>` with the JSON's `event_type` equal to the event
    line and as its last key; the stream ends with exactly one `event: done` / `data: [DONE]`.
    """
    text = body.decode("utf-8")
    assert text.endswith("event: done\ndata: [DONE]\n\n"), f"bad stream end: {text[-80:]!r}"
    events = []
    for block in text.split("\n\n")[:-2]:
        event_line, data_line = block.split("\n")
        assert event_line.startswith("event: ") and data_line.startswith("data: "), block
        name, data = event_line[len("event: "):], data_line[len("data: "):]
        payload = json.loads(data)
        assert payload["event_type"] == name, block
        assert data.endswith(f'"event_type":"{name}"}}'), f"event_type is not the last key: {block}"
        events.append(payload)
    return events
