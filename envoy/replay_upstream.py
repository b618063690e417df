#!/usr/bin/env python3
"""Replay upstream: a local Responses API server that serves recorded SSE streams.

Used by `make run` and by the end-to-end tests, so that no API key is needed. Standard library only
(the request validator, tests/e2e/strict_responses.py, uses the openai SDK's types when importable).

It is as strict as the real OpenAI Responses API: only `POST <--responses-path>` (default
/v1/responses), `GET <--responses-path>/{id}`, `POST <--responses-path>/{id}/cancel` (the stream's
final response, `cancelled`) and `DELETE <--responses-path>/{id}` exist (other paths: 404
`Invalid URL (POST /x)`),
and a POST body the real API would refuse gets the real API's 400 (`Unknown parameter: 'messages'`,
`Missing required parameter: 'model'.`, ...; the rules are in strict_responses.py), with nothing
streamed. `--lenient` turns both checks off (for demos with odd clients). Without the openai SDK
(the system python) the check is structural only, and the server says so on stderr at start-up.

Which stream a request gets, first match wins:
  1. the request header `x-replay-file: NAME` (a file in one of the --dir folders, `.sse` optional);
  2. the request JSON's `model`, when a file `<model>.sse` exists in one of the --dir folders;
  3. the file given with --file;
  4. a built-in sample (a short text answer).

How it is answered, as the real API does: a POST whose `stream` is true, or a GET with
`?stream=true` (a resume), gets the stream as SSE; any other request gets the stream's final
`Response` object as `application/json` (status 200 whatever the response's status: completed,
incomplete or failed; a stream that ends with an `error` event gives that error with status 429 for
rate limits, else 500).

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
                            (after the request passed validation)
  x-replay-gzip: 1          send the stream (or the JSON answer) gzip-compressed (content-encoding: gzip)
  x-replay-json: 1          answer with the final response as application/json even when streaming
  x-replay-sse: 1           answer with the stream as SSE even when the request is not streaming
  x-replay-content-type: T  answer 200 with content type T and a short HTML body instead
  x-replay-pad-bytes: N     add an N-byte string field `x_padding` to a JSON answer
  x-replay-reset-after: N   after N events, reset the TCP connection (no terminating chunk)

What arrived is recorded: `GET /_last_request` returns the last request's method, path, headers,
body (the parsed JSON, or the raw text when it is not JSON; null when empty) and the status it got;
`GET /_requests` the last 200 of them, oldest first; `POST /_requests/clear` forgets them.

With --proxy-base-url URL and OPENAI_API_KEY set, each request that passed validation is forwarded
unchanged to URL's `/v1/responses` (a GET to `/v1/responses/{id}`) and the answer, SSE or JSON, is
relayed as it arrives.
"""

import argparse
import collections
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
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "e2e"))
import strict_responses  # noqa: E402  (stdlib at import; uses the openai SDK when importable)

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


def event_payloads(body: bytes):
    """The JSON object of each event (its `data:` lines joined with LF), in order; `[DONE]` and
    invalid JSON are skipped."""
    for block in split_events(body):
        data = [line[5:].removeprefix(b" ") for line in block.splitlines() if line.startswith(b"data:")]
        try:
            event = json.loads(b"\n".join(data)) if data else None
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event


def final_response(body: bytes) -> dict:
    """The `response` object of the stream's last event that has one. When a trimmed recording left
    its `output` empty, the items of the `response.output_item.done` events fill it, by index."""
    return _final(body)[0]


def _final(body: bytes):
    """(final response, error of an `error` event that came after it, or None)."""
    found, error, items = {}, None, []
    for event in event_payloads(body):
        if isinstance(event.get("response"), dict):
            found, error = event["response"], None
        elif event.get("type") == "error":
            error = event["error"] if isinstance(event.get("error"), dict) else event
        elif event.get("type") == "response.output_item.done" and isinstance(event.get("item"), dict):
            index = event.get("output_index")
            items.append((index if isinstance(index, int) else len(items), event["item"]))
    if found and not found.get("output") and items:
        found = {**found, "output": [item for _, item in sorted(items, key=lambda p: p[0])]}
    return found, error


def unary_answer(body: bytes):
    """(status, JSON) for a non-streaming request: the final response with 200, whatever its status
    (the real API answers failed and incomplete responses with 200 too); or, when the stream ended
    with an `error` event, that error (429 for rate limits, else 500)."""
    found, error = _final(body)
    if error is None:
        return 200, found
    code = error.get("code")
    status = 429 if code == "rate_limit_exceeded" else 500
    kind = error.get("type") if error.get("type") not in (None, "error") else None
    return status, {"error": {
        "message": error.get("message") or "The server had an error processing your request.",
        "type": kind or ("rate_limit_error" if status == 429 else "server_error"),
        "param": error.get("param"), "code": code}}


def parse_body(raw: bytes):
    """The request body as recorded: parsed JSON, the raw text if it is not JSON, None if empty."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def invalid_url(method: str, path: str) -> dict:
    """The real API's 404 body for a path it does not serve."""
    return {"error": {"message": f"Invalid URL ({method} {path})", "type": "invalid_request_error",
                      "param": None, "code": None}}


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


class Recorder:
    """The last 200 requests (method, path, headers, body, status), for `/_requests`."""

    def __init__(self, limit: int = 200):
        self._lock = threading.Lock()
        self._records = collections.deque(maxlen=limit)

    def add(self, record: dict):
        with self._lock:
            self._records.append(record)

    def all(self) -> list:
        with self._lock:
            return [dict(r) for r in self._records]

    def last(self) -> dict:
        with self._lock:
            return dict(self._records[-1]) if self._records else {}

    def clear(self) -> int:
        with self._lock:
            count = len(self._records)
            self._records.clear()
            return count


class Handler(BaseHTTPRequestHandler):
    """One request: check it as the real API would, pick a stream, deliver it as the headers ask."""

    protocol_version = "HTTP/1.1"
    server_version = "replay-upstream"
    record = None

    def log_message(self, fmt, *args):
        if self.server.options.verbose:
            sys.stderr.write("replay: " + fmt % args + "\n")

    def send_response(self, code, message=None):
        """Also notes the status in the request's record."""
        if self.record is not None:
            self.record["status"] = code
        super().send_response(code, message)

    def do_GET(self):
        self.record = None  # a kept-alive connection reuses this handler
        path = urllib.parse.urlsplit(self.path).path
        if path == "/_last_request":
            self._send_json(200, self.server.recorder.last())
        elif path == "/_requests":
            self._send_json(200, self.server.recorder.all())
        elif path.startswith("/_timings/"):
            self._send_json(200, self.server.timings.get(path[len("/_timings/"):], []))
        elif path == "/_health":
            self._send_json(200, {"ok": True})
        else:
            self._serve(b"")

    def do_POST(self):
        self.record = None
        try:
            raw = self._read_body()
        except (OSError, ValueError):
            # The client went away (or sent a broken body) before its request was complete:
            # there is no request to record or answer, as with a real server.
            self.close_connection = True
            return
        if self.path.startswith("/_release/"):
            self.server.releases.release(self.path[len("/_release/"):])
            self._send_json(200, {"released": True})
        elif self.path == "/_requests/clear":
            self._send_json(200, {"cleared": self.server.recorder.clear()})
        else:
            self._serve(raw)

    def do_DELETE(self):
        self.record = None
        self._serve(b"")

    def _read_body(self) -> bytes:
        """The request body, sent with a content-length or chunked."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            body = bytearray()
            while True:
                size_line = self.rfile.readline(1024)
                if not size_line:
                    raise ValueError("connection closed inside a chunked body")
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(body)
                chunk = self.rfile.read(size + 2)
                if len(chunk) < size + 2:
                    raise ValueError("connection closed inside a chunk")
                body += chunk[:size]
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            raise ValueError("connection closed inside the body")
        return raw

    def _serve(self, raw: bytes):
        """Records the request, refuses what the real API refuses, then answers it."""
        body = parse_body(raw)
        self.record = {"method": self.command, "path": self.path,
                       "headers": {k.lower(): v for k, v in self.headers.items()},
                       "body": body, "status": None}
        self.server.recorder.add(self.record)
        opts = self.server.options
        route = self._route()
        if route is None and not opts.lenient:
            path = urllib.parse.urlsplit(self.path).path
            self._send_json(404, invalid_url(self.command, path))
            return
        if route == "create" and self.server.validator is not None:
            try:
                self.server.validator.check_bytes(raw)
            except strict_responses.Rejection as err:
                self._send_json(err.status, err.payload())
                return
        if opts.proxy_base_url:
            self._proxy(raw, route)
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
            stream = self._pick_stream(body)
        except LookupError as err:
            self._send_json(404, {"error": {"message": str(err), "type": "invalid_request_error",
                                            "code": "replay_file_not_found", "param": None}})
            return
        other_type = self.headers.get("x-replay-content-type")
        if other_type:
            self._send(200, other_type, b"<html><body>Service under maintenance</body></html>")
            return
        if route == "cancel":
            status, payload = unary_answer(stream)
            self._send_json(status, {**payload, "status": "cancelled"} if status == 200 else payload)
            return
        if route == "delete":
            rid = urllib.parse.urlsplit(self.path).path.rsplit("/", 1)[-1]
            self._send_json(200, {"id": rid, "object": "response", "deleted": True})
            return
        as_sse = self.headers.get("x-replay-sse") == "1"
        if not as_sse and (self.headers.get("x-replay-json") == "1" or not self._wants_stream(body)):
            status, payload = unary_answer(stream)
            pad = int(self.headers.get("x-replay-pad-bytes") or 0)
            if pad and status == 200:
                payload = {**payload, "x_padding": "x" * pad}
            self._send_json(status, payload)
            return
        self._stream(stream)

    def _route(self):
        """The endpoint: "create" (POST <responses path>), "retrieve" (GET .../<id>), "cancel"
        (POST .../<id>/cancel), "delete" (DELETE .../<id>), or None."""
        path = urllib.parse.urlsplit(self.path).path
        base = self.server.options.responses_path.rstrip("/")
        if self.command == "POST" and path == base:
            return "create"
        rest = path[len(base) + 1:] if path.startswith(base + "/") else ""
        if rest and "/" not in rest:
            return {"GET": "retrieve", "DELETE": "delete"}.get(self.command)
        if self.command == "POST" and rest.endswith("/cancel") and rest.count("/") == 1:
            return "cancel"
        return None

    def _wants_stream(self, body) -> bool:
        """SSE for a POST with `stream: true` and a GET with `?stream=true`, as the real API."""
        if self.command == "GET":
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            return query.get("stream", [""])[-1] == "true"
        return isinstance(body, dict) and body.get("stream") is True

    def _pick_stream(self, body) -> bytes:
        """The recording this request gets (see the module doc for the order)."""
        opts = self.server.options
        name = self.headers.get("x-replay-file")
        if name:
            path = self._find(name)
            if path is None:
                raise LookupError(f"x-replay-file {name!r} not found in {opts.dir}")
            return path.read_bytes()
        model = body.get("model") if isinstance(body, dict) else None
        if isinstance(model, str) and model:
            path = self._find(model)
            if path is not None:
                return path.read_bytes()
        if opts.file:
            return pathlib.Path(opts.file).read_bytes()
        return sample_stream()

    def _find(self, name: str):
        """The file NAME or NAME.sse in one of the --dir folders, or None."""
        if "/" in name or name.startswith("."):
            return None
        for folder in self.server.options.dir:
            for candidate in (name, name + ".sse"):
                path = pathlib.Path(folder) / candidate
                if path.is_file():
                    return path
        return None

    def _stream(self, stream: bytes):
        """Sends the recording as SSE, shaped by the x-replay-* headers."""
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
        """Writes one chunk of the chunked body."""
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
        """A complete JSON answer with a content-length (gzip-compressed with x-replay-gzip)."""
        self._send(code, "application/json", json.dumps(payload).encode())

    def _send(self, code: int, content_type: str, data: bytes):
        """A complete answer with a content-length."""
        compress = self.headers.get("x-replay-gzip") == "1"
        if compress:
            data = gzip.compress(data)
        self.send_response(code)
        self.send_header("content-type", content_type)
        if compress:
            self.send_header("content-encoding", "gzip")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _proxy(self, raw: bytes, route):
        """Forwards the request unchanged to the real Responses API and relays its answer."""
        opts = self.server.options
        base = opts.responses_path.rstrip("/")
        target = opts.proxy_base_url.rstrip("/") + (
            "/v1/responses" + self.path[len(base):] if route else self.path)
        streaming = self._wants_stream(parse_body(raw))
        headers = {"accept": "text/event-stream" if streaming else "application/json",
                   "authorization": "Bearer " + os.environ.get("OPENAI_API_KEY", "")}
        if self.command == "POST":
            headers["content-type"] = "application/json"
        request = urllib.request.Request(target, data=raw if self.command == "POST" else None,
                                         headers=headers, method=self.command)
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
            self.send_header("content-type", upstream.headers.get("content-type", "application/json"))
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
    """Parses the options and serves until interrupted."""
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
    parser.add_argument("--responses-path", default="/v1/responses",
                        help="the Responses endpoint's path (default /v1/responses)")
    parser.add_argument("--lenient", action="store_true",
                        help="accept any path and any body (no validation), for odd demo clients")
    parser.add_argument("--proxy-base-url",
                        help="forward each validated request unchanged to this Responses API base "
                             "URL (its /v1/responses) and relay the answer; needs OPENAI_API_KEY")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    options = parser.parse_args(argv)
    if options.dir is None:
        options.dir = [str(here.parent.parent / "shared" / "corpus")]
    if not options.responses_path.startswith("/"):
        parser.error("--responses-path must start with /")
    if options.proxy_base_url and not os.environ.get("OPENAI_API_KEY"):
        parser.error("--proxy-base-url needs OPENAI_API_KEY in the environment")

    server = Server((options.host, options.port), Handler)
    server.options = options
    server.releases = Releases()
    server.recorder = Recorder()
    server.timings = {}
    server.validator = None if options.lenient else strict_responses.load_validator()
    checks = "off (--lenient)" if server.validator is None else server.validator.mode
    if server.validator is not None and server.validator.schema is None:
        print("replay upstream: the openai SDK is not importable; request bodies get the structural "
              "(stdlib) check only, not the full SDK-typed validation", file=sys.stderr, flush=True)
    mode = f"proxy to {options.proxy_base_url}" if options.proxy_base_url else "replay"
    print(f"replay upstream ({mode}) on http://{options.host}:{options.port}; "
          f"{options.responses_path} request validation: {checks}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
