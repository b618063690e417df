"""End to end: Envoy + filter against the LiteLLM proxy server, as Chat Completions endpoints in
front of the same mock Responses upstream; and the filter's own added latency in Envoy.

Set-up (all on 127.0.0.1, every process started here and stopped by pid):

* upstream: `bench/mock_responses.py` (one asyncio process), a real-shaped 100-token text answer,
  either written at once or one event every `--pace-ms` (10 ms) as a model produces them. It counts
  the requests per path: both gateways must really call `POST /v1/responses` (checked);
* gateways, one after the other, each pinned to the last core (`taskset`; the upstream and this
  load generator share the other cores): Envoy `--concurrency 1` with the filter (`{}`: every
  default), and the LiteLLM proxy server (`litellm --num_workers 1`, model
  `openai/responses/gpt-bench`: LiteLLM's Responses bridge, no database, a master key);
* load: this process, `C` keep-alive connections (1, 16, 64), each sending the same streaming Chat
  request (`stream_options.include_usage`) again as soon as the last answer ended, for `--seconds`
  after `--warmup` seconds. Every answer is checked: status 200, the content equals the upstream's
  text, `finish_reason` is `stop`, the stream ends with `data: [DONE]`.

Reported per gateway, pace and concurrency: completed requests/s, CPU ms per request of the
gateway's process tree (all threads, children included, from /proc/<pid>/stat), p50 / p99 time
to the first content chunk and to the end of the answer, peak RSS of the tree, the upstream's and
this load generator's CPU per request (a client bottleneck shows there), and the ratios. The second table is Envoy with the filter (Chat route, translated) against Envoy
without it (the upstream answers `/v1/chat/completions` with the same Chat bytes the filter
writes, `transcode --to chat` of its stream): time to the first byte, to the first content chunk
and to the end, paced.

Run from the repository root with the test venv (`make bench` does; needs `make wasm transcode`
and the LiteLLM proxy in .venv-bench, `bench/litellm_baseline.sh --setup-only`):
`.venv/bin/python bench/proxy_bench.py [--seconds S] [--warmup W] [--concurrency 1,16,64]
[--latency-seconds S] [--pace-ms MS] [--only litellm|latency]`.
"""

import argparse
import asyncio
import json
import os
import pathlib
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO / "bench"))

from conftest import WASM, Envoy, free_port, stop, wait_until  # noqa: E402
from mock_responses import tokens  # noqa: E402

TRANSCODE = REPO / "target" / "release" / "transcode"
LITELLM = REPO / ".venv-bench" / "bin" / "litellm"
TICKS = os.sysconf("SC_CLK_TCK")
EXPECTED = "".join(tokens(100))
FIRST_TEXT = re.compile(rb'"content":"[^"]')


# --- processes -----------------------------------------------------------------------------------

def tree(pid: int) -> list:
    """`pid` and its descendants."""
    children = {}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def cpu_seconds(pid: int) -> float:
    """CPU of `pid`'s tree: user + system time of each process (its threads, the exited ones
    too) and of the children each one reaped, from /proc/<pid>/stat (clock ticks: the windows
    here are seconds long). Per-thread schedstat would be finer but loses exited threads, and
    the LiteLLM proxy's thread pools start and end threads as they go."""
    total = 0
    for p in tree(pid):
        try:
            fields = pathlib.Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])
    return total / TICKS


def rss_mib(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            for line in pathlib.Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def idle_ms_per_s(pid: int, seconds: float = 3.0) -> float:
    """The gateway's CPU while no request is open (timers, background tasks), ms per second."""
    time.sleep(1.0)
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds * 1e3


def cores() -> tuple:
    """(gateway core, the others) when the machine allows it, else (None, None)."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    return available[-1], set(available[:-1])


class Mock:
    def __init__(self, chat_file: pathlib.Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "bench" / "mock_responses.py"), "--port", str(self.port),
             "--chat-file", str(chat_file)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self._get("/_counts") is not None, 15, "the mock upstream")

    def _get(self, path: str):
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as r:
                return json.loads(r.read())
        except OSError:
            return None

    def counts(self) -> dict:
        return self._get("/_counts")

    def pace(self, ms: int):
        req = urllib.request.Request(f"{self.url}/_pace/{ms}", data=b"", method="POST")
        urllib.request.urlopen(req, timeout=5).close()


class LiteLLM:
    """The LiteLLM proxy server, one worker, in front of the mock."""

    def __init__(self, mock: Mock, core):
        self.port = free_port()
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="rt-litellm-"))
        config = self.dir / "config.yaml"
        config.write_text(
            "model_list:\n  - model_name: bench\n    litellm_params:\n"
            "      model: openai/responses/gpt-bench\n"
            f"      api_base: http://127.0.0.1:{mock.port}/v1\n      api_key: sk-upstream\n")
        self.key = "sk-" + secrets.token_hex(32)
        env = dict(os.environ, LITELLM_MASTER_KEY=self.key, LITELLM_LOCAL_MODEL_COST_MAP="True",
                   LITELLM_LOG="ERROR")
        pin = ["taskset", "-c", str(core)] if core is not None else []
        self.log = open(self.dir / "litellm.log", "wb")
        self.proc = subprocess.Popen(
            pin + [str(LITELLM), "--config", str(config), "--host", "127.0.0.1",
                   "--port", str(self.port), "--num_workers", "1"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)
        wait_until(self._ready, 180, "the LiteLLM proxy")

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("LiteLLM exited:\n" + (self.dir / "litellm.log").read_text()[-3000:])
        try:
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/health/liveliness", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def stop(self):
        stop(self.proc)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- load ----------------------------------------------------------------------------------------

class Result:
    """One request's timestamps (time.monotonic()) and verdict."""

    __slots__ = ("start", "first_byte", "first_content", "end", "ok", "why")


async def one_request(reader, writer, port: int, path: str, body: bytes, headers: str) -> Result:
    """One streaming Chat request on a keep-alive connection; the answer read and checked."""
    r = Result()
    r.first_byte = r.first_content = None
    r.start = time.monotonic()
    writer.write(f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
                 f"content-type: application/json\r\n{headers}"
                 f"content-length: {len(body)}\r\n\r\n".encode() + body)
    head = await reader.readuntil(b"\r\n\r\n")
    r.first_byte = time.monotonic()
    status = int(head.split(b" ", 2)[1])
    lowered = head.lower()
    if b"transfer-encoding: chunked" not in lowered:
        length = int(lowered.split(b"content-length:")[1].split(b"\r\n")[0])
        payload = await reader.readexactly(length)
        r.end, r.ok, r.why = time.monotonic(), False, f"{status}: {payload[:200]!r}"
        return r
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        data = await reader.readexactly(size + 2)
        if size == 0:
            break
        # The first chunk with text; the answer itself is parsed once, at its end (less load
        # generator CPU than a parse per chunk).
        if r.first_content is None and FIRST_TEXT.search(data):
            r.first_content = time.monotonic()
        parts.append(data[:-2])
    r.end = time.monotonic()
    lines = [line[6:] for line in b"".join(parts).split(b"\n") if line.startswith(b"data: ")]
    done = lines[-1:] == [b"[DONE]"]
    content, finish = [], None
    for chunk in json.loads(b"[" + b",".join(lines[:-1] if done else lines) + b"]"):
        for choice in chunk.get("choices") or ():
            text = (choice.get("delta") or {}).get("content")
            if text:
                content.append(text)
            finish = choice.get("finish_reason") or finish
    text = "".join(content)
    r.ok = status == 200 and text == EXPECTED and finish == "stop" and done
    r.why = None if r.ok else f"status {status}, finish {finish}, [DONE] {done}, text {text[:60]!r}"
    return r


async def load(port: int, path: str, model: str, key, concurrency: int, warmup: float,
               seconds: float, gateway_pid: int, upstream_pid: int) -> dict:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Say hi."}],
                       "stream": True, "stream_options": {"include_usage": True}}).encode()
    headers = f"authorization: Bearer {key}\r\n" if key else ""
    start = time.monotonic()
    window = (start + warmup, start + warmup + seconds)
    results, failures = [], []

    async def worker():
        reader = writer = None
        try:
            while time.monotonic() < window[1]:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port,
                                                                   limit=1 << 22)
                r = await asyncio.wait_for(one_request(reader, writer, port, path, body, headers),
                                           timeout=120)
                (results if r.ok else failures).append(r)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as e:
            failures.append(f"{type(e).__name__}: {e}")
        finally:
            if writer is not None:
                writer.close()

    async def sampler(marks: dict):
        rss = 0.0
        await asyncio.sleep(max(0.0, window[0] - time.monotonic()))
        marks["begin"] = (cpu_seconds(gateway_pid), cpu_seconds(upstream_pid), time.process_time())
        while time.monotonic() < window[1]:
            rss = max(rss, rss_mib(gateway_pid))
            await asyncio.sleep(min(0.5, max(0.0, window[1] - time.monotonic())))
        marks["end"] = (cpu_seconds(gateway_pid), cpu_seconds(upstream_pid), time.process_time())
        marks["rss"] = rss

    marks = {}
    await asyncio.gather(sampler(marks), *(worker() for _ in range(concurrency)))
    counted = [r for r in results if window[0] <= r.end <= window[1]]
    gateway, upstream, client = (b - a for a, b in zip(marks["begin"], marks["end"]))
    n = max(1, len(counted))
    return {
        "requests": len(results) + len(failures), "failures": failures, "completed": len(counted),
        "rps": len(counted) / seconds, "gateway_ms": gateway / n * 1e3,
        "upstream_ms": upstream / n * 1e3, "client_ms": client / n * 1e3,
        "client_busy": client / seconds, "rss": marks["rss"],
        "first_byte": [(r.first_byte - r.start) * 1e3 for r in counted],
        "first": [(r.first_content - r.start) * 1e3 for r in counted],
        "end": [(r.end - r.start) * 1e3 for r in counted],
    }


def pct(values: list, q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def run_load(name: str, mock: Mock, gateway_pid: int, port: int, path: str, model: str, key,
             concurrency: int, args, expect_path: str) -> dict:
    before = mock.counts()
    m = asyncio.run(load(port, path, model, key, concurrency, args.warmup, args.seconds,
                         gateway_pid, mock.proc.pid))
    after = mock.counts()
    m["upstream_calls"] = after.get(expect_path, 0) - before.get(expect_path, 0)
    m["refused"] = after.get("refused", 0) - before.get("refused", 0)
    m["name"] = name
    if m["failures"] or m["upstream_calls"] < m["requests"] or m["refused"]:
        print(f"  !! {name} C={concurrency}: {len(m['failures'])} failed answers "
              f"(first: {m['failures'][:1]}), {m['upstream_calls']} upstream {expect_path} for "
              f"{m['requests']} requests, {m['refused']} refused", flush=True)
    return m


def chat_per_event(stream: bytes, tmp: pathlib.Path) -> list:
    """For each event of the Responses `stream`, the Chat events `transcode --to chat` writes once
    it has read that event (from the common prefix of its output on the stream's prefixes)."""
    def translate(data: bytes) -> bytes:
        path = tmp / "prefix.sse"
        path.write_bytes(data)
        return subprocess.run([str(TRANSCODE), "--to", "chat", str(path)], capture_output=True,
                              check=True, timeout=60).stdout
    events = [e + b"\n\n" for e in stream.split(b"\n\n") if e.strip()]
    full, groups, sent = translate(stream), [], 0
    for k in range(1, len(events) + 1):
        out = full if k == len(events) else translate(b"".join(events[:k]))
        common = 0
        while common < min(len(out), len(full)) and out[common] == full[common]:
            common += 1
        upto = len(full) if k == len(events) else full.rfind(b"\n\n", 0, common) + 2
        upto = max(upto, sent)
        groups.append(full[sent:upto].decode())
        sent = upto
    return groups


# --- main ----------------------------------------------------------------------------------------

def row(pace: str, c: int, m: dict) -> str:
    return (f"| {pace} | {c} | {m['name']} | {m['rps']:.1f} | {m['gateway_ms']:.2f} | "
            f"{pct(m['first'], .5):.1f} | {pct(m['first'], .99):.1f} | {pct(m['end'], .5):.1f} | "
            f"{pct(m['end'], .99):.1f} | {m['rss']:.0f} | {m['upstream_ms']:.2f} | "
            f"{m['client_ms']:.2f} ({m['client_busy'] * 100:.0f} %) | {m['completed']} | "
            f"{m['upstream_calls']} | {len(m['failures'])} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per point")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before the window")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--latency-seconds", type=float, default=20.0,
                        help="measured window per point of the added-latency table")
    parser.add_argument("--pace-ms", type=int, default=10, help="delay between paced events")
    parser.add_argument("--only", action="append", choices=("litellm", "latency"),
                        help="run only these parts (default: both)")
    args = parser.parse_args()
    parts = set(args.only or ("litellm", "latency"))
    levels = [int(c) for c in args.concurrency.split(",")]
    for needed in (WASM, TRANSCODE) + ((LITELLM,) if "litellm" in parts else ()):
        if not needed.is_file():
            sys.exit(f"{needed} missing: run `make wasm transcode` and "
                     "`bench/litellm_baseline.sh --setup-only`")
    gateway_core, other_cores = cores()
    if other_cores:
        os.sched_setaffinity(0, other_cores)  # this process and the mock it starts
        os.environ["ENVOY"] = f"taskset -c {gateway_core} " + os.environ.get(
            "ENVOY", str(pathlib.Path(sys.executable).parent / "envoy"))
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="rt-proxy-bench-"))
    stream = tmp / "responses.sse"
    subprocess.run([sys.executable, str(REPO / "bench" / "mock_responses.py"),
                    "--write-stream", str(stream)], check=True)
    chat = tmp / "chat.json"
    chat_bytes = chat_per_event(stream.read_bytes(), tmp)
    chat.write_text(json.dumps(chat_bytes))
    print(f"load: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; gateway on core "
          f"{gateway_core}, upstream and load generator on {sorted(other_cores or [])}; "
          f"{args.warmup:.0f} s warm-up + {args.seconds:.0f} s per point; answer: 100 text deltas "
          f"({stream.stat().st_size} bytes of Responses SSE, {sum(map(len, chat_bytes))} of Chat)",
          flush=True)
    mock = Mock(chat)
    paces = (("at once", 0), (f"{args.pace_ms} ms/event", args.pace_ms))
    try:
        if "litellm" in parts:
            table = {}
            idle = {}
            envoy = Envoy(mock)
            try:
                idle["Envoy + filter"] = idle_ms_per_s(envoy.proc.pid)
                for pace, ms in paces:
                    mock.pace(ms)
                    for c in levels:
                        table[pace, c, "envoy"] = run_load(
                            "Envoy + filter", mock, envoy.proc.pid, envoy.port,
                            "/v1/chat/completions", "gpt-bench", None, c, args, "POST /v1/responses")
            finally:
                envoy.stop()
            litellm = LiteLLM(mock, gateway_core)
            try:
                idle["LiteLLM proxy"] = idle_ms_per_s(litellm.proc.pid)
                for pace, ms in paces:
                    mock.pace(ms)
                    for c in levels:
                        table[pace, c, "litellm"] = run_load(
                            "LiteLLM proxy", mock, litellm.proc.pid, litellm.port,
                            "/v1/chat/completions", "bench", litellm.key, c, args,
                            "POST /v1/responses")
            finally:
                litellm.stop()
            version = subprocess.run([str(LITELLM.parent / "python"), "-c",
                                      "import importlib.metadata as m; print(m.version('litellm'))"],
                                     capture_output=True, text=True).stdout.strip()
            print(f"\n### Envoy + filter vs LiteLLM {version} proxy, Chat Completions streaming, "
                  "one gateway process each on its own core\n")
            print("| upstream | streams | gateway | requests/s | gateway CPU ms / request | "
                  "first content p50 ms | p99 | end p50 ms | p99 | peak RSS MiB | "
                  "upstream CPU ms / req | load generator CPU ms / req (busy) | completed | "
                  "upstream POST /v1/responses | failed |")
            print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for pace, _ in paces:
                for c in levels:
                    for g in ("envoy", "litellm"):
                        print(row(pace, c, table[pace, c, g]))
            print("\nIdle (no request open), CPU ms per second: " + ", ".join(
                f"{name} {ms:.2f}" for name, ms in idle.items()) + " (included in the CPU per "
                "request above, which matters at low request rates)")
            print("\n### Ratios (Envoy + filter ÷ LiteLLM proxy, same run)\n")
            print("| upstream | streams | throughput × | CPU per request: LiteLLM ÷ Envoy | "
                  "first content p99: LiteLLM ÷ Envoy | end p99: LiteLLM ÷ Envoy |")
            print("|---|---:|---:|---:|---:|---:|")
            for pace, _ in paces:
                for c in levels:
                    e, l_ = table[pace, c, "envoy"], table[pace, c, "litellm"]
                    print(f"| {pace} | {c} | {e['rps'] / max(l_['rps'], 1e-9):.1f}× | "
                          f"{l_['gateway_ms'] / max(e['gateway_ms'], 1e-9):.1f}× | "
                          f"{pct(l_['first'], .99) / pct(e['first'], .99):.1f}× | "
                          f"{pct(l_['end'], .99) / pct(e['end'], .99):.2f}× |")
        if "latency" in parts:
            mock.pace(args.pace_ms)
            print(f"\n### The filter's added latency: Envoy with and without it, {args.pace_ms} ms "
                  "per event (ms from sending the request)\n")
            print("| streams | configuration | first byte p50 | p99 | first content p50 | p99 | "
                  "end p50 | p99 | Envoy CPU ms / request | completed |")
            print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
            for c in (1, 16):
                for name, with_filter, expect in (
                        ("no filter (upstream answers Chat)", False, "POST /v1/chat/completions"),
                        ("filter (Chat → Responses)", True, "POST /v1/responses")):
                    envoy = Envoy(mock, with_filter=with_filter)
                    try:
                        m = run_load(name, mock, envoy.proc.pid, envoy.port,
                                     "/v1/chat/completions", "gpt-bench", None, c,
                                     argparse.Namespace(warmup=args.warmup,
                                                        seconds=args.latency_seconds), expect)
                    finally:
                        envoy.stop()
                    print(f"| {c} | {name} | {pct(m['first_byte'], .5):.2f} | "
                          f"{pct(m['first_byte'], .99):.2f} | {pct(m['first'], .5):.2f} | "
                          f"{pct(m['first'], .99):.2f} | {pct(m['end'], .5):.1f} | "
                          f"{pct(m['end'], .99):.1f} | {m['gateway_ms']:.2f} | {m['completed']} |",
                          flush=True)
    finally:
        stop(mock.proc)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
