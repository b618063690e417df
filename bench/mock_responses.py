#!/usr/bin/env python3
"""A small, fast mock of the OpenAI Responses API for the end-to-end benchmarks (standard library).

One asyncio process, HTTP/1.1 with keep-alive, listening on 127.0.0.1 only. Every streaming answer
is the same real-shaped text stream (`response_stream`: created, in_progress, item and part added,
`--deltas` text deltas with `logprobs` and `obfuscation` as the API sends them, the done events and
`response.completed` with usage), written either all at once (one write) or one event per write
with `--delay-ms` between events (as a model produces them). Paths:

* `POST /v1/responses` — the stream above; the body must be a streaming Responses request
  (`model`, `input`, `stream: true`, no Chat `messages`), else 400 with the API's error shape;
* `POST /v1/chat/completions` — the same answer already in Chat Completions form (`--chat-file`: a
  JSON list with, for each Responses event, the Chat bytes `transcode --to chat` writes for it; so
  byte-identical to what the filter sends, and written at the same times): Envoy without the filter
  forwards it as it is, for the filter's added latency;
* `GET /_counts` — how many requests each `METHOD path` got, and how many were refused;
* `POST /_pace/<ms>` — sets the delay between events (0: the whole stream in one write).

`python3 bench/mock_responses.py --write-stream FILE` writes the Responses stream and exits.
"""

import argparse
import asyncio
import collections
import json
import sys

TEXT_TOKENS = 100


def tokens(deltas: int) -> list:
    """The answer's text, one token per delta."""
    return [f"w{n} " for n in range(deltas)]


def response_stream(deltas: int = TEXT_TOKENS) -> bytes:
    """A text answer as the Responses API streams it."""
    rid, mid = "resp_bench0001", "msg_bench0001"
    text = "".join(tokens(deltas))
    base = {"id": rid, "object": "response", "created_at": 1767225600, "status": "in_progress",
            "background": False, "error": None, "incomplete_details": None, "instructions": None,
            "max_output_tokens": None, "model": "gpt-bench", "output": [],
            "parallel_tool_calls": True, "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None}, "store": True, "temperature": 1.0,
            "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [],
            "top_p": 1.0, "truncation": "disabled", "usage": None, "metadata": {}}
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    item = {"id": mid, "type": "message", "status": "in_progress", "content": [],
            "role": "assistant"}
    done_part = dict(part, text=text)
    done_item = dict(item, status="completed", content=[done_part])
    events = [
        ("response.created", {"response": base}),
        ("response.in_progress", {"response": base}),
        ("response.output_item.added", {"output_index": 0, "item": item}),
        ("response.content_part.added", {"item_id": mid, "output_index": 0, "content_index": 0,
                                         "part": part}),
    ]
    events += [("response.output_text.delta",
                {"item_id": mid, "output_index": 0, "content_index": 0, "delta": tok,
                 "logprobs": [], "obfuscation": "x" * (12 - len(tok))})
               for tok in tokens(deltas)]
    events += [
        ("response.output_text.done", {"item_id": mid, "output_index": 0, "content_index": 0,
                                       "text": text, "logprobs": []}),
        ("response.content_part.done", {"item_id": mid, "output_index": 0, "content_index": 0,
                                        "part": done_part}),
        ("response.output_item.done", {"output_index": 0, "item": done_item}),
        ("response.completed", {"response": dict(
            base, status="completed", output=[done_item],
            usage={"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0},
                   "output_tokens": deltas, "output_tokens_details": {"reasoning_tokens": 0},
                   "total_tokens": deltas + 12})}),
    ]
    out = []
    for seq, (kind, fields) in enumerate(events):
        payload = json.dumps({"type": kind, **fields, "sequence_number": seq},
                             separators=(",", ":"))
        out.append(f"event: {kind}\ndata: {payload}\n\n".encode())
    return b"".join(out)


def split_events(body: bytes) -> list:
    return [event + b"\n\n" for event in body.split(b"\n\n") if event.strip()]


class Mock:
    def __init__(self, args):
        self.responses = split_events(response_stream(args.deltas))
        self.chat = None
        if args.chat_file:
            with open(args.chat_file, encoding="utf-8") as groups:
                self.chat = [group.encode() for group in json.load(groups)]
        self.delay = args.delay_ms / 1000
        self.counts = collections.Counter()

    async def handle(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                body = await read_body(reader, headers)
                self.counts[f"{method} {path}"] += 1
                await self.answer(writer, method, path, body)
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def answer(self, writer, method, path, body):
        if method == "GET" and path == "/_counts":
            return send(writer, 200, "application/json", json.dumps(self.counts).encode())
        if method == "POST" and path.startswith("/_pace/"):
            self.delay = int(path[len("/_pace/"):]) / 1000
            return send(writer, 200, "application/json", b"{}")
        if method == "POST" and path == "/v1/responses":
            problem = refusal(body)
            if problem:
                self.counts["refused"] += 1
                return send(writer, 400, "application/json", json.dumps(
                    {"error": {"message": problem, "type": "invalid_request_error",
                               "param": None, "code": None}}).encode())
            return await self.stream(writer, self.responses)
        if method == "POST" and path == "/v1/chat/completions" and self.chat:
            return await self.stream(writer, self.chat)
        return send(writer, 404, "application/json",
                    json.dumps({"error": {"message": f"Invalid URL ({method} {path})"}}).encode())

    async def stream(self, writer, events):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                     b"transfer-encoding: chunked\r\n\r\n")
        if not self.delay:
            body = b"".join(events)
            writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
            await writer.drain()
            return
        for event in events:
            if event:
                writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                await writer.drain()
            await asyncio.sleep(self.delay)
        writer.write(b"0\r\n\r\n")
        await writer.drain()


async def read_body(reader, headers) -> bytes:
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                return b"".join(p[:-2] for p in parts)
    return b""


def refusal(body: bytes):
    """Why the real API would refuse this streaming request (the checks the translators must pass
    here), or None."""
    try:
        request = json.loads(body)
    except ValueError:
        return "We could not parse the JSON body of your request."
    if not isinstance(request, dict):
        return "Invalid body"
    if "messages" in request:
        return "Unknown parameter: 'messages'."
    for key in ("model", "input"):
        if key not in request:
            return f"Missing required parameter: '{key}'."
    if request.get("stream") is not True:
        return "this mock answers streaming requests only"
    return None


def send(writer, status: int, kind: str, body: bytes):
    writer.write(b"HTTP/1.1 %d X\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s"
                 % (status, kind.encode(), len(body), body))


async def serve(args):
    mock = Mock(args)
    server = await asyncio.start_server(mock.handle, "127.0.0.1", args.port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--deltas", type=int, default=TEXT_TOKENS)
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--chat-file", help="the Chat form of the stream per Responses event (JSON list)")
    parser.add_argument("--write-stream", metavar="FILE", help="write the Responses stream, exit")
    args = parser.parse_args()
    if args.write_stream:
        with open(args.write_stream, "wb") as out:
            out.write(response_stream(args.deltas))
        return 0
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
