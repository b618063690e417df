"""Runs real agent frameworks, default settings, against a real Envoy with the filter (`{}` config)
before the strict replay upstream, and saves the Chat Completions request bodies they send as
fixtures (`captured/<framework>-<version>.json`), which tests/e2e/test_frameworks.py replays in CI.

    make frameworks        (installs the frameworks into .venv-frameworks, then runs this)

Each framework runs in its own process from .venv-frameworks (scenarios/run_<framework>.py), with
BASE_URL pointing at a small recording proxy on 127.0.0.1 in front of Envoy. The proxy keeps each
request body and answers it with the next replay stream of the scenario's plan (`x-replay-file`),
so tool loops go round as with a real model. A scenario passes when its program ends with the
expected answer, every answer had status 200, and the upstream accepted every translated request.
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from conftest import REPO, Envoy, Upstream, free_port, http_get, stop  # noqa: E402

FRAMEWORKS_VENV = REPO / ".venv-frameworks"
STREAMS = HERE / "streams"
CAPTURED = HERE / "captured"

# Which replay stream answers the n-th request of each scenario (the last one repeats).
PLANS = {
    "autogen": ["weather_call", "final_text", "weather_call", "final_text"],
    "crewai": ["weather_call", "final_text"],
    "smolagents": ["weather_call", "final_answer_call", "code_step", "code_step"],
}
# The distribution whose version names the fixture.
DISTRIBUTIONS = {"autogen": "autogen-agentchat", "crewai": "crewai", "smolagents": "smolagents"}


class Recorder:
    """The requests of the scenario being run, and the plan that answers them."""

    def __init__(self, envoy_url: str):
        self.envoy = envoy_url.removeprefix("http://")
        self.plan = []
        self.records = []
        self.lock = threading.Lock()

    def start(self, plan):
        with self.lock:
            self.plan, self.records = plan, []


def proxy_handler(recorder: Recorder):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            with recorder.lock:
                n = len(recorder.records)
                replay = recorder.plan[min(n, len(recorder.plan) - 1)] if recorder.plan else "text"
                record = {"path": self.path, "replay": replay, "body": json.loads(body or b"null")}
                recorder.records.append(record)
            host, port = recorder.envoy.split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            headers = {"content-type": self.headers.get("content-type", "application/json"),
                       "authorization": self.headers.get("authorization", ""),
                       "x-replay-file": replay}
            try:
                path = self.path if self.path.startswith("/v1/") else "/v1" + self.path
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                answer = resp.read()
                record["status"] = resp.status
                record["answer"] = answer.decode("utf-8", "replace")
                self.send_response(resp.status)
                self.send_header("content-type", resp.getheader("content-type", "application/json"))
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            finally:
                conn.close()

    return Handler


def version(framework: str) -> str:
    out = subprocess.run(
        [str(FRAMEWORKS_VENV / "bin" / "python"), "-c",
         f"import importlib.metadata as m; print(m.version({DISTRIBUTIONS[framework]!r}))"],
        capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.strip()


def run(framework: str, recorder: Recorder, upstream: Upstream, base_url: str) -> dict:
    recorder.start(PLANS[framework])
    req = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=10)
    req.request("POST", "/_requests/clear", body=b"")
    req.getresponse().read()
    req.close()
    env = {**os.environ, "BASE_URL": base_url, "CREWAI_DISABLE_TELEMETRY": "true",
           "OTEL_SDK_DISABLED": "true", "CREWAI_TRACING_ENABLED": "false",
           "CREWAI_DISABLE_TRACKING": "true", "OPENAI_API_KEY": "x", "NO_COLOR": "1"}
    started = time.monotonic()
    result = subprocess.run([str(FRAMEWORKS_VENV / "bin" / "python"),
                             str(HERE / "scenarios" / f"run_{framework}.py")],
                            env=env, capture_output=True, text=True, timeout=600,
                            stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    upstream_requests = json.loads(http_get(upstream.url + "/_requests")[1])
    refused = [r for r in upstream_requests if r["status"] != 200]
    failed = [r for r in recorder.records if r.get("status") != 200]
    ok = result.returncode == 0 and not refused and not failed and recorder.records
    print(f"{framework}: {'ok' if ok else 'FAILED'} ({len(recorder.records)} requests, "
          f"{seconds:.0f} s)")
    if not ok:
        print(result.stdout[-3000:], result.stderr[-6000:], sep="\n")
        for r in failed:
            print("answer", r.get("status"), r.get("answer", "")[:2000])
        for r in refused:
            print("upstream refused", r)
    return {"ok": bool(ok), "requests": list(recorder.records)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("frameworks", nargs="*", default=list(PLANS))
    parser.add_argument("--no-save", action="store_true", help="run only; keep the fixtures")
    args = parser.parse_args()
    upstream = Upstream(extra_dirs=[STREAMS])
    envoy = Envoy(upstream)
    recorder = Recorder(envoy.url)
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), proxy_handler(recorder))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    failures = 0
    try:
        for framework in args.frameworks:
            outcome = run(framework, recorder, upstream, f"http://127.0.0.1:{port}/v1")
            failures += not outcome["ok"]
            if outcome["ok"] and not args.no_save:
                name = f"{framework}-{version(framework)}"
                CAPTURED.mkdir(exist_ok=True)
                fixture = {"framework": DISTRIBUTIONS[framework], "version": version(framework),
                           "requests": [{"replay": r["replay"], "body": r["body"]}
                                        for r in outcome["requests"]]}
                (CAPTURED / f"{name}.json").write_text(json.dumps(fixture, indent=1,
                                                                  ensure_ascii=False) + "\n")
    finally:
        server.shutdown()
        envoy.stop()
        stop(upstream.proc)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
