#!/usr/bin/env bash
# Starts the replay upstream and Envoy (with the freshly built filter), sends demo requests through
# it with curl and the openai / google-genai SDKs (streamed and unary), then keeps Envoy in the
# foreground until Ctrl-C.
# Both servers are children of this script and stop with it. Run from the repository root
# (`make run` does); ENVOY is the Envoy command (`func-e run` or `.venv/bin/envoy`).
set -euo pipefail

ENVOY=${ENVOY:-.venv/bin/envoy}
PYTHON=${PYTHON:-.venv/bin/python}
DEMO=${DEMO:-1}
LISTEN=http://127.0.0.1:10000

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The venv's Python: with the openai SDK importable, the upstream validates requests in full.
"$PYTHON" envoy/replay_upstream.py --port 8080 --delay-ms "${REPLAY_DELAY_MS:-40}" &
pids+=($!)
# shellcheck disable=SC2086  # ENVOY may be "func-e run"
$ENVOY -c envoy/envoy.yaml --concurrency 2 --log-level warn &
pids+=($!)

# Bounded wait for Envoy's listener.
for _ in $(seq 1 100); do
    if curl -s -o /dev/null http://127.0.0.1:9901/ready; then break; fi
    sleep 0.1
done
curl -sf http://127.0.0.1:9901/ready >/dev/null || { echo "Envoy did not become ready" >&2; exit 1; }

if [ "$DEMO" = 1 ]; then
    echo "== curl: POST $LISTEN/v1/chat/completions (raw Chat Completions SSE)"
    curl -sN "$LISTEN/v1/chat/completions" -H 'content-type: application/json' \
        -d '{"model":"any","messages":[{"role":"user","content":"hi"}],"stream":true}' \
        | grep -v '^$' | cut -c1-220
    echo
    echo "== openai SDK: chat.completions.create(stream=True)"
    "$PYTHON" - <<'PY'
import openai
client = openai.OpenAI(base_url="http://127.0.0.1:10000/v1", api_key="x", max_retries=0)
for chunk in client.chat.completions.create(model="any", messages=[{"role": "user", "content": "hi"}], stream=True,
                                            stream_options={"include_usage": True}):
    if chunk.choices:
        print(chunk.choices[0].delta.content or "", end="", flush=True)
        if chunk.choices[0].finish_reason:
            print(f"\n[finish_reason={chunk.choices[0].finish_reason}]")
    elif chunk.usage:
        print(f"[usage: {chunk.usage.prompt_tokens} in, {chunk.usage.completion_tokens} out]")
completion = client.chat.completions.create(model="any", messages=[{"role": "user", "content": "hi"}])
print(f"unary: {completion.object}, finish_reason={completion.choices[0].finish_reason}, "
      f"{completion.usage.total_tokens} tokens: {completion.choices[0].message.content}")
PY
    echo
    echo "== google-genai SDK: interactions.create(stream=True)"
    "$PYTHON" - <<'PY'
from google import genai
from google.genai import types
client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url="http://127.0.0.1:10000", api_version="v1beta"))
for event in client.interactions.create(model="any", input="hi", stream=True):
    delta = getattr(event, "delta", None)
    if event.event_type == "step.delta" and getattr(delta, "text", None):
        print(delta.text, end="", flush=True)
    elif event.event_type in ("interaction.completed", "error"):
        status = getattr(getattr(event, "interaction", None), "status", None) or getattr(event, "error", None)
        print(f"\n[{event.event_type}: {status}]")
interaction = client.interactions.create(model="any", input="hi")
print(f"unary: interaction {interaction.id}, status={interaction.status}")
PY
    echo
fi
echo "Envoy on $LISTEN (admin http://127.0.0.1:9901/stats?filter=responses_transcoder); Ctrl-C stops it."
wait "${pids[1]}"
