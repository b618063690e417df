#!/usr/bin/env python3
"""Replay upstream: a local Responses API server that serves recorded SSE streams.

Used by `make run` and by the end-to-end tests, so that no API key is needed. Standard library only.

Which stream a request gets, first match wins:
  1. the request header `x-replay-file: NAME` (a file in one of the --dir folders, `.sse` optional);
  2. the request JSON's `model`, when a file `<model>.sse` exists in one of the --dir folders;
  3. the file given with --file;
  4. a built-in sample (a short text answer).

The stream is sent with chunked transfer encoding, one chunk per event (or smaller, see
`x-replay-split`), flushed as it goes. Request headers shape the delivery and inject faults:

  x-replay-delay-ms: N      sleep N ms before each event (default --delay-ms)
  x-replay-split: N         cut each event into N-byte chunks, splitting inside events
  x-replay-chunk: N         send the whole body in N-byte chunks as fast as possible, ignoring
                            event boundaries (and the delay, hold and reset headers)
  x-replay-id: ID           record when each event was written (time.monotonic()), for
                            `GET /_timings/<ID>` (latency measurements)
  x-replay-hold-after: N    after N events, hold the rest until `POST /_release/<token>` ...
  x-replay-release: TOKEN   ... with this token (bounded: released anyway after 30 s)
  x-replay-status: CODE     answer CODE with an OpenAI-style JSON error body instead of a stream
  x-replay-gzip: 1          send the stream gzip-compressed (content-encoding: gzip)
  x-replay-json: 1          answer 200 with the stream's final response as application/json
  x-replay-reset-after: N   after N events, reset the TCP connection (no terminating chunk)

`GET /_last_request` returns the method, path and headers of the last request as JSON (the tests use
it to see what the filter sent upstream).

With --proxy-base-url URL and OPENAI_API_KEY set, requests are instead forwarded to URL's
`/v1/responses` (the body turned into a minimal Responses request: model, input, stream) and the
upstream's stream is relayed as it arrives.
"""

import argparse
import gzip
import json
import os
import pathlib
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SAMPLE_TEXT = [
    "Hello",
    "! This",
    " answer",
    " was",
    " recorded",
    " as a",
    " Responses",
    " API",
    " stream",
    " and",
    " translated",
    " chunk",
    " by",
    " chunk",
    " by",
    " responses-transcoder",
    " inside",
    " Envoy",
    ".",
]

HOLD_LIMIT_S = 30.0


def sample_stream() -> bytes:
    """The built-in stream: a short text answer with usage, shaped like OpenAI's."""
    rid, mid, model, created = "resp_sample_0001", "msg_sample_0001", "replay-sample", 1767225600
    text = "".join(SAMPLE_TEXT)
    usage = {
        "input_tokens": 12,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": len(SAMPLE_TEXT),
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 12 + len(SAMPLE_TEXT),
    }
    base = {"id": rid, "object": "response", "created_at": created, "model": model, "output": []}
    message = {"id": mid, "type": "message", "role": "assistant", "status": "completed",
               "content": [{"type": "output_text", "text": text, "annotations": []}]}
    events = [
        {"type": "response.created", "response": {**base, "status": "in_progress"}},
        {"type": "response.in_progress", "response": {**base, "status": "in_progress"}},
        {"type": "response.output_item.added", "output_index": 0,
         "item": {**message, "status": "in_progress", "content": []}},
        {"type": "response.content_part.added", "item_id": mid, "output_index": 0,
         "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}},
    ]
    events += [{"type": "response.output_text.delta", "item_id": mid, "output_index": 0,
                "content_index": 0, "delta": piece} for piece in SAMPLE_TEXT]
    events += [
        {"type": "response.output_text.done", "item_id": mid, "output_index": 0,
         "content_index": 0, "text": text},
        {"type": "response.content_part.done", "item_id": mid, "output_index": 0,
         "content_index": 0, "part": message["content"][0]},
        {"type": "response.output_item.done", "output_index": 0, "item": message},
        {"type": "response.completed",
         "response": {**base, "status": "completed", "output": [message], "usage": usage}},
    ]
    out = bytearray()
    for seq, event in enumerate(events):
        event["sequence_number"] = seq
        out += b"event: %s\ndata: %s\n\n" % (event["type"].encode(),
                                               json.dumps(event, separators=(",", ":")).encode())
    return bytes(out)


def split_events(body: bytes) -> list:
    """Cuts a recorded stream after each blank line (LF or CRLF), keeping every byte."""
    events, start, i = [], 0, 0
    while i < len(body):
        for sep in (b"\r\n\r\n", b"\n\n"):
            if body.startswith(sep, i):
                events.append(body[start:i + len(sep)])
                start = i = i + len(sep)
                break
        else:
            i += 1
    if start < len(body):
        events.append(body[start:])
    return events


def final_response(body: bytes) -> dict:
    """The `response` object of the stream's last event that has one."""
    found = {}
    for line in body.splitlines():
        if line.startswith(b"data:"):
            try:
                event = json.loads(line[5:])
            except ValueError:
                continue
            if isinstance(event, dict) and isinstance(event.get("response"), dict):
                found = event["response"]
    return found


class Releases:
    """Tokens that `POST /_release/<token>` has released, for held streams."""

    def __init__(self):
        self._cond = threading.Condition()
        self._released = set()

    def release(self, token: str):
        with self._cond:
            self._released.add(token)
            self._cond.notify_all()

    def wait(self, token: str, limit_s: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: token in self._released, timeout=limit_s)


class Handler(BaseHTTPRequestHandler):
    """One request: pick a stream, deliver it as the headers ask."""

    protocol_version = "HTTP/1.1"
    server_version = "replay-upstream"

    def log_message(self, fmt, *args):
        if self.server.options.verbose:
            sys.stderr.write("replay: " + fmt % args + "\n")

    def do_GET(self):
        if self.path == "/_last_request":
            self._send_json(200, self.server.last_request)
            return
        if self.path.startswith("/_timings/"):
            self._send_json(200, self.server.timings.get(self.path[len("/_timings/"):], []))
            return
        if self.path == "/_health":
            self._send_json(200, {"ok": True})
            return
        self._serve(b"")

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/_release/"):
            self.server.releases.release(self.path[len("/_release/"):])
            self._send_json(200, {"released": True})
            return
        self._serve(body)

    def _serve(self, request_body: bytes):
        self.server.last_request = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
        }
        opts = self.server.options
        if opts.proxy_base_url:
            self._proxy(request_body)
            return
        status = self.headers.get("x-replay-status")
        if status:
            code = int(status)
            self._send_json(code, {"error": {
                "message": f"replayed upstream error {code}",
                "type": "rate_limit_error" if code == 429 else "server_error",
                "code": "rate_limit_exceeded" if code == 429 else "server_error",
                "param": None,
            }})
            return
        try:
            stream = self._pick_stream(request_body)
        except LookupError as err:
            self._send_json(404, {"error": {"message": str(err), "type": "invalid_request_error",
                                            "code": "replay_file_not_found", "param": None}})
            return
        if self.headers.get("x-replay-json") == "1":
            self._send_json(200, final_response(stream))
            return
        self._stream(stream)

    def _pick_stream(self, request_body: bytes) -> bytes:
        opts = self.server.options
        name = self.headers.get("x-replay-file")
        if name:
            path = self._find(name)
            if path is None:
                raise LookupError(f"x-replay-file {name!r} not found in {opts.dir}")
            return path.read_bytes()
        try:
            model = json.loads(request_body or b"{}").get("model")
        except (ValueError, AttributeError):
            model = None
        if isinstance(model, str) and model:
            path = self._find(model)
            if path is not None:
                return path.read_bytes()
        if opts.file:
            return pathlib.Path(opts.file).read_bytes()
        return sample_stream()

    def _find(self, name: str):
        if "/" in name or name.startswith("."):
            return None
        for folder in self.server.options.dir:
            for candidate in (name, name + ".sse"):
                path = pathlib.Path(folder) / candidate
                if path.is_file():
                    return path
        return None

    def _stream(self, stream: bytes):
        h = self.headers
        delay_s = int(h.get("x-replay-delay-ms") or self.server.options.delay_ms) / 1000.0
        split = int(h.get("x-replay-split") or 0)
        hold_after = int(h.get("x-replay-hold-after") or -1)
        token = h.get("x-replay-release") or ""
        reset_after = int(h.get("x-replay-reset-after") or -1)
        compress = h.get("x-replay-gzip") == "1"

        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        if compress:
            self.send_header("content-encoding", "gzip")
        self.end_headers()
        self.wfile.flush()

        burst = int(h.get("x-replay-chunk") or 0)
        if burst:
            for i in range(0, len(stream), burst):
                self._chunk(stream[i:i + burst])
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return
        timings = None
        if h.get("x-replay-id"):
            timings = self.server.timings.setdefault(h["x-replay-id"], [])
            while len(self.server.timings) > 10000:
                self.server.timings.pop(next(iter(self.server.timings)))
        events = [gzip.compress(stream)] if compress else split_events(stream)
        for n, event in enumerate(events):
            if n == reset_after:
                self._reset()
                return
            if n == hold_after:
                self.server.releases.wait(token, HOLD_LIMIT_S)
            if delay_s:
                time.sleep(delay_s)
            pieces = [event[i:i + split] for i in range(0, len(event), split)] if split else [event]
            if timings is not None:
                timings.append(time.monotonic())
            for piece in pieces:
                self._chunk(piece)
        if reset_after >= len(events):
            self._reset()
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _chunk(self, data: bytes):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def _reset(self):
        """Ends the connection with a TCP RST, as a crashed upstream would."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _send_json(self, code: int, payload):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _proxy(self, request_body: bytes):
        """Forwards the request to a real Responses endpoint and relays its stream."""
        opts = self.server.options
        try:
            incoming = json.loads(request_body or b"{}")
        except ValueError:
            incoming = {}
        outgoing = {"model": incoming.get("model") or opts.proxy_model, "stream": True}
        if isinstance(incoming.get("messages"), list):
            outgoing["input"] = [{"role": m.get("role", "user"), "content": m.get("content", "")}
                                 for m in incoming["messages"] if isinstance(m, dict)]
        else:
            outgoing["input"] = incoming.get("input", "")
        for src, dst in (("max_tokens", "max_output_tokens"),
                         ("max_completion_tokens", "max_output_tokens"),
                         ("max_output_tokens", "max_output_tokens")):
            if isinstance(incoming.get(src), int):
                outgoing[dst] = incoming[src]
        request = urllib.request.Request(
            opts.proxy_base_url.rstrip("/") + "/v1/responses",
            data=json.dumps(outgoing).encode(),
            headers={"content-type": "application/json", "accept": "text/event-stream",
                     "authorization": "Bearer " + os.environ.get("OPENAI_API_KEY", "")},
            method="POST",
        )
        try:
            upstream = urllib.request.urlopen(request, timeout=300)
        except urllib.error.HTTPError as err:
            data = err.read()
            self.send_response(err.code)
            self.send_header("content-type", err.headers.get("content-type", "application/json"))
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        except OSError as err:
            self._send_json(502, {"error": {"message": f"proxy: {err}", "type": "server_error",
                                            "code": "bad_gateway", "param": None}})
            return
        with upstream:
            self.send_response(upstream.status)
            self.send_header("content-type", upstream.headers.get("content-type", "text/event-stream"))
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            while True:
                data = upstream.read1(65536)
                if not data:
                    break
                self._chunk(data)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    """A threaded HTTP server with a listen backlog deep enough for 1,000 concurrent streams."""

    request_queue_size = 1024
    daemon_threads = True


def main(argv=None) -> int:
    here = pathlib.Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="See the module docstring for the request headers.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--file", help="stream served when the request names none")
    parser.add_argument("--dir", action="append", default=None,
                        help="folder of .sse files selectable by x-replay-file or model "
                             "(repeatable; default: ../shared/corpus beside the repository)")
    parser.add_argument("--delay-ms", type=int, default=0, help="default delay before each event")
    parser.add_argument("--proxy-base-url", help="forward to this Responses API base URL instead")
    parser.add_argument("--proxy-model", default="gpt-4.1-mini",
                        help="model for proxied requests that name none")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    options = parser.parse_args(argv)
    if options.dir is None:
        options.dir = [str(here.parent.parent / "shared" / "corpus")]
    if options.proxy_base_url and not os.environ.get("OPENAI_API_KEY"):
        parser.error("--proxy-base-url needs OPENAI_API_KEY in the environment")

    server = Server((options.host, options.port), Handler)
    server.options = options
    server.releases = Releases()
    server.last_request = {}
    server.timings = {}
    mode = f"proxy to {options.proxy_base_url}" if options.proxy_base_url else "replay"
    print(f"replay upstream ({mode}) on http://{options.host}:{options.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
