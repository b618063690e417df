"""End-to-end harness: a real Envoy running the freshly built filter, in front of the replay upstream.

Every server is a child of the test process, listens on 127.0.0.1 on a free port, and is stopped by
pid when the session ends. Every wait is bounded.
"""

import http.client
import json
import os
import random
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STREAMS = Path(__file__).resolve().parent / "streams"
CORPUS = REPO.parent / "shared" / "corpus"
WASM = REPO / "target" / "wasm32-wasip1" / "release" / "responses_transcoder.wasm"
TRANSCODE = REPO / "target" / "release" / "transcode"
ENVOY_YAML = REPO / "envoy" / "envoy.yaml"
REPLAY = REPO / "envoy" / "replay_upstream.py"


def envoy_command() -> list:
    """The Envoy command: $ENVOY (`make` sets it: `func-e run` or .venv/bin/envoy), else the venv's."""
    configured = os.environ.get("ENVOY")
    if configured:
        return shlex.split(configured)
    return [str(Path(sys.executable).parent / "envoy")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout_s: float, what: str):
    """Polls `predicate` until it is truthy; fails the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def http_get(url: str, timeout_s: float = 5.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as r:
            return r.status, r.read()
    except OSError:
        return None, b""


def stop(proc: subprocess.Popen):
    """Stops a child by pid: SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def corpus_files() -> list:
    """Every corpus stream, or a skip with the reason when ../shared/corpus is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"SKIPPED: corpus absent ({CORPUS} not found)")
    files = sorted(CORPUS.glob("*.sse"))
    assert files, f"no .sse files in {CORPUS}"
    return files


def transcode(path: Path, dialect: str, split: int = 0) -> bytes:
    """The native CLI's translation of `path` (the reference the filter must match byte for byte)."""
    args = [str(TRANSCODE), "--to", dialect, str(path)]
    if split:
        args[3:3] = ["--split", str(split)]
    done = subprocess.run(args, capture_output=True, timeout=60, check=True)
    return done.stdout


class Upstream:
    """The replay upstream (envoy/replay_upstream.py) as a child process."""

    def __init__(self, extra_dirs=()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        dirs = [str(d) for d in (STREAMS, CORPUS, *extra_dirs)]
        self.proc = subprocess.Popen(
            [sys.executable, str(REPLAY), "--port", str(self.port),
             *[arg for d in dirs for arg in ("--dir", d)]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: http_get(self.url + "/_health")[0] == 200, 15, "the replay upstream")

    def release(self, token: str):
        req = urllib.request.Request(self.url + "/_release/" + token, data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 200

    def last_request(self) -> dict:
        return json.loads(http_get(self.url + "/_last_request")[1])


def sent(upstream: Upstream) -> dict:
    """The body the upstream last received, after checking it came to the Responses path and was
    accepted (the strict upstream answers 400 to what the real API refuses)."""
    request = upstream.last_request()
    assert request["path"] == "/v1/responses", request
    assert request["status"] == 200, f"the strict upstream refused the translated request: {request}"
    return request["body"]


def forwarded(upstream: Upstream, marker: str) -> bool:
    """Whether a request carrying the header `x-test-marker: <marker>` reached the upstream."""
    status, body = http_get(upstream.url + "/_requests")
    assert status == 200
    return any(r["headers"].get("x-test-marker") == marker for r in json.loads(body))


def plugin_json(plugin_config: str, hold_headers: bool) -> str:
    """The plugin configuration a test gives, stating `"header_hold": "on"` where Envoy holds
    headers (as every shipped configuration does) unless the test states a mode itself. A
    configuration that is not a JSON object is kept as it is (tests of rejected configurations)."""
    try:
        config = json.loads(plugin_config)
    except ValueError:
        return plugin_config
    if not isinstance(config, dict) or not hold_headers or "header_hold" in config:
        return plugin_config
    return json.dumps({"header_hold": "on", **config})


def render_config(listen: int, admin: int, upstream: int, plugin_config: str,
                  with_filter: bool = True, wasm: Path = WASM,
                  access_log: str = "/dev/null", hold_headers: bool = True,
                  template: str = None) -> str:
    """envoy/envoy.yaml with the test's ports, the absolute .wasm path, a plugin configuration and
    the access log's path (or, for the benchmarks' baselines, without the filter or with another
    module). `template` replaces envoy/envoy.yaml's text (another configuration of envoy/ with the
    same ports)."""
    text = template if template is not None else ENVOY_YAML.read_text()
    replacements = [
        (r"port_value: 10000\b", f"port_value: {listen}"),
        (r"port_value: 9901\b", f"port_value: {admin}"),
        (r"port_value: 8080\b", f"port_value: {upstream}"),
    ]
    if "path: /dev/stdout" in text:
        replacements.append((r"path: /dev/stdout\b", f"path: {access_log}"))
    if with_filter and not hold_headers:
        replacements.append((r"\n\s+allow_on_headers_stop_iteration: true", ""))
    if with_filter:
        replacements += [
            (r"filename: \S+\.wasm", f"filename: {wasm}"),
            (r"(value: \|\n\s+)\{[^\n]*\}",
             lambda m: m.group(1) + plugin_json(plugin_config, hold_headers)),
        ]
    else:
        replacements.append((r"( +)- name: envoy\.filters\.http\.wasm\n.*?(?=\1- name: )", ""))
    for pattern, repl in replacements:
        text, n = re.subn(pattern, repl, text, flags=re.S)
        assert n == 1, f"envoy/envoy.yaml: expected one match for {pattern!r}, found {n}"
    return text


class Envoy:
    """A real Envoy (one worker by default) running the built .wasm in front of `upstream`;
    `hold_headers=False` leaves out `allow_on_headers_stop_iteration`, as hosts that cannot set it
    (Istio, Envoy Gateway) run the filter."""

    def __init__(self, upstream: Upstream, plugin_config: str = "{}", concurrency: int = 1,
                 wait_ready: bool = True, with_filter: bool = True, wasm: Path = WASM,
                 hold_headers: bool = True, template: str = None):
        assert wasm.is_file(), f"{wasm} missing: run `make wasm` first"
        self.dir = Path(tempfile.mkdtemp(prefix="rt-envoy-"))
        self.port, self.admin_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin = f"http://127.0.0.1:{self.admin_port}"
        config = self.dir / "envoy.yaml"
        self.access_log = self.dir / "access.log"
        config.write_text(render_config(self.port, self.admin_port, upstream.port, plugin_config,
                                        with_filter, wasm, str(self.access_log), hold_headers,
                                        template))
        self.log = self.dir / "envoy.log"
        self.proc = subprocess.Popen(
            envoy_command() + ["-c", str(config), "--concurrency", str(concurrency),
                               "--base-id", str(random.randint(1000, 60000)),
                               "--log-path", str(self.log), "--log-level", os.environ.get("RT_ENVOY_LOG_LEVEL", "info"),
                               "--file-flush-interval-msec", "100"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        if wait_ready:
            wait_until(self._ready, 30, "Envoy /ready")

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"Envoy exited with {self.proc.returncode}:\n{self.log_text()}")
        return http_get(self.admin + "/ready", 1)[0] == 200

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def access_log_lines(self) -> list:
        """The access log so far, one parsed JSON object per request."""
        if not self.access_log.exists():
            return []
        return [json.loads(line) for line in self.access_log.read_text().splitlines() if line]

    def stats(self) -> dict:
        """Envoy's counters and gauges, by name."""
        status, body = http_get(self.admin + "/stats?format=json", 5)
        assert status == 200
        return {s["name"]: s.get("value", 0) for s in json.loads(body)["stats"] if "name" in s}

    def counter(self, name: str) -> int:
        return int(self.stats().get("wasmcustom.responses_transcoder." + name, 0))

    def stop(self):
        """Stops Envoy and removes its temporary folder (configuration, logs)."""
        stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


CHAT_BODY = {"model": "any", "messages": [{"role": "user", "content": "hi"}], "stream": True,
             "stream_options": {"include_usage": True}}
INTERACTIONS_BODY = {"model": "any", "input": "hi", "stream": True}
ANTHROPIC_BODY = {"model": "any", "max_tokens": 1024, "stream": True,
                  "messages": [{"role": "user", "content": "hi"}]}
RESPONSES_BODY = {"model": "any", "input": "hi", "stream": True}


def default_body(path: str) -> dict:
    """A valid streaming request for the API `path` belongs to (Chat asks for the usage chunk, so
    its answer equals `transcode --to chat` with the default stream options)."""
    route = path.split("?")[0]
    if route.endswith("/chat/completions"):
        return CHAT_BODY
    if route.endswith("/interactions"):
        return INTERACTIONS_BODY
    if route == "/v1/messages":
        return ANTHROPIC_BODY
    return RESPONSES_BODY


def post(base_url: str, path: str, body=None, headers: dict = None, timeout_s: float = 30):
    """Posts a JSON body (a dict, or raw bytes sent as they are; default: a valid streaming request
    for the path's API); returns (status, headers dict, raw body bytes)."""
    host, port = base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout_s)
    if body is None:
        body = default_body(path)
    data = body if isinstance(body, bytes) else json.dumps(body)
    try:
        conn.request("POST", path, body=data,
                     headers={"content-type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.fixture(scope="session")
def upstream():
    server = Upstream()
    yield server
    stop(server.proc)


@pytest.fixture(scope="session")
def envoy(upstream):
    proxy = Envoy(upstream)
    yield proxy
    proxy.stop()


def pytest_sessionfinish(session, exitstatus):
    """With RT_NO_SKIPS=1 (CI sets it), a run that skipped or collected nothing fails."""
    if os.environ.get("RT_NO_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if session.testscollected == 0 or skipped:
        print(f"\nRT_NO_SKIPS=1: {session.testscollected} collected, {skipped} skipped: failing")
        session.exitstatus = 1
