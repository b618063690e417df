"""Token and outcome telemetry through a real Envoy: after a known set of answers (streamed and
unary, both dialects, completed, incomplete and failed), the `tokens.*` and per-dialect outcome
counters on `/stats` and each access-log line equal what the upstream reported."""

import json

import pytest

from conftest import STREAMS, Envoy, post, wait_until

CHAT, INTERACTIONS = "/v1/chat/completions", "/v1beta/interactions"

# (route, stream file, streamed?, expected outcome)
ANSWERS = [
    (CHAT, "text", True, "completed"),
    (CHAT, "incomplete_length", False, "incomplete"),
    (CHAT, "parallel_tools", True, "completed"),
    (INTERACTIONS, "reasoning", True, "completed"),
    (INTERACTIONS, "content_filter", False, "content_filter"),
    (INTERACTIONS, "failed", True, "failed"),
]


def upstream_usage(name: str) -> dict:
    """The usage of the recorded stream's final response, as the upstream reported it."""
    usage = None
    for line in (STREAMS / f"{name}.sse").read_text().splitlines():
        if line.startswith("data:"):
            event = json.loads(line[5:])
            response = event.get("response") or {}
            usage = response.get("usage") or usage
    assert usage, f"{name}.sse reports no usage"
    return usage


def request_body(route: str, streamed: bool) -> dict:
    if route == CHAT:
        return {"model": "any", "messages": [{"role": "user", "content": "hi"}], "stream": streamed}
    return {"model": "any", "input": "hi", "stream": streamed}


@pytest.fixture(scope="module")
def measured(upstream):
    """A fresh Envoy (counters at zero) that served exactly ANSWERS, plus one refused request."""
    proxy = Envoy(upstream)
    try:
        for route, name, streamed, _ in ANSWERS:
            status, _, _ = post(proxy.url, route, body=request_body(route, streamed),
                                headers={"x-replay-file": name})
            assert status in (200, 400, 500), (name, status)
        status, _, _ = post(proxy.url, CHAT, body={"model": "any", "messages": []})
        assert status == 400
        wait_until(lambda: len(proxy.access_log_lines()) == len(ANSWERS) + 1, 15,
                   "one access-log line per request")
        yield proxy
    finally:
        proxy.stop()


def test_token_counters_sum_the_upstream_usage(measured):
    usages = [upstream_usage(name) for _, name, _, _ in ANSWERS]
    expected = {
        "tokens.input": sum(u["input_tokens"] for u in usages),
        "tokens.output": sum(u["output_tokens"] for u in usages),
        "tokens.cached": sum(u["input_tokens_details"]["cached_tokens"] for u in usages),
        "tokens.reasoning": sum(u["output_tokens_details"]["reasoning_tokens"] for u in usages),
    }
    assert expected["tokens.reasoning"] > 0 and expected["tokens.cached"] > 0
    wait_until(lambda: {k: measured.counter(k) for k in expected} == expected, 10,
               f"token counters {expected}")


def test_outcomes_are_counted_per_dialect(measured):
    expected = {}
    for route, _, _, outcome in ANSWERS:
        dialect = "chat" if route == CHAT else "interactions"
        for name in (f"{dialect}.outcome.{outcome}", f"outcome.{outcome}"):
            expected[name] = expected.get(name, 0) + 1
    wait_until(lambda: all(measured.counter(k) == v for k, v in expected.items()), 10,
               f"outcome counters {expected}")
    assert measured.counter("requests.rejected") == 1
    assert measured.counter("requests.translated") == len(ANSWERS)
    assert measured.counter("unary.chat") == 1 and measured.counter("unary.interactions") == 1


def test_access_log_carries_each_answers_values(measured):
    lines = measured.access_log_lines()
    for (route, name, _, outcome), line in zip(ANSWERS, lines):
        usage = upstream_usage(name)
        assert line["dialect"] == ("chat" if route == CHAT else "interactions"), line
        assert line["outcome"] == outcome, line
        assert line["response_id"].startswith("resp_e2e_"), line
        assert line["model"] == "gpt-test-2026", line
        assert int(line["input_tokens"]) == usage["input_tokens"], line
        assert int(line["output_tokens"]) == usage["output_tokens"], line
        assert int(line["cached_tokens"]) == usage["input_tokens_details"]["cached_tokens"], line
        assert int(line["reasoning_tokens"]) == usage["output_tokens_details"]["reasoning_tokens"]
        assert int(line["total_tokens"]) == usage["input_tokens"] + usage["output_tokens"], line
    refused = lines[len(ANSWERS)]
    assert refused["status"] == 400
    # A refused request is logged as such, with the client's own path and dialect.
    assert refused["outcome"] == "rejected" and refused["dialect"] == "chat", refused
    assert refused["path"] == "/v1/chat/completions", refused
    assert refused["input_tokens"] is None, refused
