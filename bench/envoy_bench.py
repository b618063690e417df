"""The filter inside a real Envoy (`--concurrency 1`), against Envoy without it, in one run.

1. **CPU per MB**: the replay upstream sends a large stream as fast as it can (64 KiB chunks); the
   Envoy process's CPU seconds (all its threads, from /proc schedstat in nanoseconds) per upstream
   MB, for (a) no filter, (b) a trivial rewrite filter (bench/copy-filter: reads each chunk and
   writes it back), (c) this filter passing through, (d) Chat, (e) Interactions, (f) Anthropic. Ratios are
   against (a) and (b).
2. **Added latency per event**: the upstream writes an event every 5 ms (20 ms at 100 streams) and records when
   (`x-replay-id`); the client records when the matching output arrives (both on this machine's
   monotonic clock). p50 / p99 at 1 and 100 concurrent streams, no filter vs Chat.
3. **Memory per open stream**: Envoy's RSS with 1,000 streams held open mid-answer, minus its RSS
   idle, divided by 1,000; no filter vs Chat.
4. The .wasm size.

Run from the repository root with the test venv (`make bench` does):
`.venv/bin/python bench/envoy_bench.py`. Uses the end-to-end harness (tests/e2e/conftest.py).
Options: `--only cpu|latency|memory` (repeatable), `--rounds N` streams per CPU measurement,
`--repeat K` CPU measurements per configuration, interleaved (the table gives the median and the
range: the machine may be shared), and `--wasm LABEL=PATH` to add Chat and Interactions rows for
another build of the module (e.g. the code before a change) measured in the same run.
"""

import argparse
import asyncio
import json
import os
import pathlib
import statistics
import sys
import time
import urllib.request
import uuid

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO / "bench"))

from conftest import WASM, Envoy, Upstream, default_body, stop  # noqa: E402
from synthetic import synthetic_50k  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
COPY_WASM = REPO / "bench" / "copy-filter" / "target" / "wasm32-wasip1" / "release" / "copy_filter.wasm"
ROUTES = {"passthrough": "/v1/responses", "chat": "/v1/chat/completions",
          "anthropic": "/v1/messages",
          "interactions": "/v1beta/interactions"}


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of `pid`: nanoseconds on CPU from /proc/<pid>/task/*/schedstat
    where the kernel keeps them, else user + system time in clock ticks from /proc/<pid>/stat."""
    try:
        return sum(int((task / "schedstat").read_text().split()[0])
                   for task in pathlib.Path(f"/proc/{pid}/task").iterdir()) / 1e9
    except (OSError, ValueError, IndexError):
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def request(port: int, path: str, headers: dict, on_line=None) -> int:
    """One POST (a valid streaming request for the route's API) over a raw connection; returns the
    bytes received. `on_line` sees each line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    body = json.dumps(default_body(path))
    writer.write(f"POST {path} HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n"
                 f"content-type: application/json\r\n{head}content-length: {len(body)}\r\n\r\n"
                 f"{body}".encode())
    await writer.drain()
    received = 0
    while True:
        if on_line is None:
            data = await asyncio.wait_for(reader.read(1 << 20), timeout=120)
        else:
            data = await asyncio.wait_for(reader.readline(), timeout=120)
            on_line(data, time.monotonic())
        if not data:
            break
        received += len(data)
    writer.close()
    return received


def cpu_configurations(extra_wasm: list) -> list:
    """(name, with_filter, module, route) of every CPU row."""
    configurations = [
        # Without the filter nothing translates the request: the baselines send Responses
        # requests, which the upstream answers with the same stream.
        ("no filter", False, WASM, ROUTES["passthrough"]),
        ("trivial rewrite filter (copy)", True, COPY_WASM, ROUTES["passthrough"]),
        ("filter, passthrough", True, WASM, ROUTES["passthrough"]),
        ("filter, chat", True, WASM, ROUTES["chat"]),
        ("filter, interactions", True, WASM, ROUTES["interactions"]),
        ("filter, anthropic", True, WASM, ROUTES["anthropic"]),
    ]
    for label, path in extra_wasm:
        configurations += [(f"filter ({label}), chat", True, path, ROUTES["chat"]),
                           (f"filter ({label}), interactions", True, path,
                            ROUTES["interactions"])]
    return configurations


def cpu_per_mb(upstream: Upstream, body_bytes: int, rounds: int, configurations: list) -> dict:
    """Envoy CPU seconds per upstream MB of each configuration, measured once."""
    results = {}
    for name, with_filter, wasm, route in configurations:
        envoy = Envoy(upstream, with_filter=with_filter, wasm=wasm)
        try:
            headers = {"x-replay-file": "bench_synthetic_50k", "x-replay-chunk": "65536"}
            received = asyncio.run(request(envoy.port, route, headers))  # warm-up
            # A refused or failed request would measure nothing: the answer must be the stream.
            if received < body_bytes // 2:
                raise SystemExit(f"{name}: {received} bytes came back for {body_bytes} sent")
            before = cpu_seconds(envoy.proc.pid)
            for _ in range(rounds):
                asyncio.run(request(envoy.port, route, headers))
            cpu = cpu_seconds(envoy.proc.pid) - before
        finally:
            envoy.stop()
        results[name] = cpu / (body_bytes * rounds / 1e6)
    return results


def latencies(upstream: Upstream, with_filter: bool, streams: int, delay_ms: int) -> list:
    envoy = Envoy(upstream, with_filter=with_filter)
    try:
        async def one(rid: str) -> list:
            received = []

            def on_line(line: bytes, at: float):
                # One upstream text delta becomes one Chat chunk with content (or, with no
                # filter, is the delta event itself).
                if (b'"content":"w' in line) or (b'"delta":"w' in line):
                    received.append(at)

            await request(envoy.port, ROUTES["chat" if with_filter else "passthrough"],
                          {"x-replay-file": "long", "x-replay-delay-ms": str(delay_ms),
                           "x-replay-id": rid},
                          on_line)
            return received

        async def run(rids):
            return await asyncio.gather(*(one(rid) for rid in rids))

        rids = [uuid.uuid4().hex for _ in range(streams)]
        samples = []
        for rid, received in zip(rids, asyncio.run(run(rids))):
            with urllib.request.urlopen(f"{upstream.url}/_timings/{rid}", timeout=30) as r:
                sent = json.loads(r.read())
            deltas = sent[4:4 + len(received)]  # events 0-3 precede the first text delta
            samples += [(got - at) * 1e3 for got, at in zip(received, deltas)]
        return samples
    finally:
        envoy.stop()


def memory_per_stream(upstream: Upstream, with_filter: bool, streams: int) -> float:
    envoy = Envoy(upstream, with_filter=with_filter)
    token = uuid.uuid4().hex
    try:
        async def run():
            route = ROUTES["chat" if with_filter else "passthrough"]
            await request(envoy.port, route, {"x-replay-file": "long"})  # warm-up
            idle = rss_kib(envoy.proc.pid)
            tasks = [asyncio.create_task(request(
                envoy.port, route,
                {"x-replay-file": "long", "x-replay-hold-after": "20", "x-replay-release": token}))
                for _ in range(streams)]
            deadline = time.monotonic() + 60
            while (envoy.stats().get("http.transcoder.downstream_rq_active", 0) < streams
                   and time.monotonic() < deadline):
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)
            loaded = rss_kib(envoy.proc.pid)
            upstream.release(token)
            await asyncio.gather(*tasks)
            return (loaded - idle) / streams

        return asyncio.run(run())
    finally:
        envoy.stop()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=("cpu", "latency", "memory"),
                        help="run only these parts (repeatable; default: all)")
    parser.add_argument("--rounds", type=int, default=30, help="streams per CPU measurement")
    parser.add_argument("--repeat", type=int, default=1,
                        help="CPU measurements per configuration (median reported)")
    parser.add_argument("--wasm", action="append", default=[], metavar="LABEL=PATH",
                        help="another build of the module to measure beside target/'s")
    args = parser.parse_args()
    args.extra = []
    for spec in args.wasm:
        label, _, path = spec.partition("=")
        if not label or not pathlib.Path(path).is_file():
            parser.error(f"--wasm {spec!r}: expected LABEL=PATH of an existing module")
        args.extra.append((label, pathlib.Path(path).resolve()))
    return args


def print_cpu(upstream: Upstream, body: bytes, args: argparse.Namespace):
    configurations = cpu_configurations(args.extra)
    runs = [cpu_per_mb(upstream, len(body), args.rounds, configurations)
            for _ in range(args.repeat)]
    cpu = {name: statistics.median(run[name] for run in runs) for name, *_ in configurations}
    base = cpu["no filter"]
    copy = cpu["trivial rewrite filter (copy)"]
    print(f"\n### Envoy CPU per upstream MB, one worker ({args.rounds} × {len(body) / 1e6:.1f} MB, "
          f"64 KiB upstream chunks, median of {args.repeat})\n")
    print("| configuration | CPU ms / MB | MB / CPU s | ÷ no filter | ÷ trivial rewrite | "
          "range (ms / MB) |")
    print("|---|---:|---:|---:|---:|---|")
    for name, per_mb in cpu.items():
        spread = sorted(run[name] * 1e3 for run in runs)
        print(f"| {name} | {per_mb * 1e3:.2f} | {1 / per_mb:.0f} | {per_mb / base:.2f}× | "
              f"{per_mb / copy:.2f}× | {spread[0]:.2f}–{spread[-1]:.2f} |")
    for label, path in args.extra:
        print(f"\n`{label}`: {path} ({path.stat().st_size} bytes)")


def main() -> int:
    args = parse_args()
    parts = set(args.only or ("cpu", "latency", "memory"))
    for module in (WASM, COPY_WASM):
        if not module.is_file():
            sys.exit(f"{module} missing: run `make wasm bench-wasm`")
    body = synthetic_50k()
    tmp = REPO / "target" / "bench-streams"
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "bench_synthetic_50k.sse").write_bytes(body)
    upstream = Upstream(extra_dirs=[tmp])
    try:
        print(f"module: {WASM.stat().st_size} bytes ({WASM.relative_to(REPO)})")
        if "cpu" in parts:
            print_cpu(upstream, body, args)

        if "latency" in parts:
            print("\n### Latency, upstream write → client read, per text delta (ms)\n")
            print("| streams | configuration | p50 | p99 | samples |")
            print("|---:|---|---:|---:|---:|")
            for streams, delay_ms in ((1, 5), (100, 20)):
                for name, with_filter in (("no filter", False), ("filter, chat", True)):
                    ms = sorted(latencies(upstream, with_filter, streams, delay_ms))
                    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
                    print(f"| {streams} | {name} | {statistics.median(ms):.3f} | {p99:.3f} | "
                          f"{len(ms)} |")

        if "memory" in parts:
            print("\n### Envoy RSS per open stream (1,000 streams held mid-answer)\n")
            print("| configuration | KiB per stream |")
            print("|---|---:|")
            for name, with_filter in (("no filter", False), ("filter, chat", True)):
                print(f"| {name} | {memory_per_stream(upstream, with_filter, 1000):.1f} |")
    finally:
        stop(upstream.proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
