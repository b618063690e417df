"""Responses → Chat, offline, on one core: LiteLLM's own bridge against `transcode`, same inputs.

Runs in the bench-only venv (`bench/litellm_baseline.sh` creates it). For each input set (a
synthetic stream of 50,000 text deltas, and the whole corpus when `../shared/corpus` exists):

* **python floor** — split the SSE lines and `json.loads` each `data:` payload: the least any
  Python bridge does;
* **litellm** — every line through `OpenAiResponsesToChatCompletionStreamIterator` (a fresh iterator
  per stream, as LiteLLM makes one per response): its `_handle_string_chunk` (JSON parsing + the
  Responses→Chat `chunk_parser`), then the chunk serialised as LiteLLM's proxy does
  (`model_dump_json(exclude_none=True)`);
* **transcode** — `target/release/transcode --to chat --repeat R FILE`, which reports the time per
  pass of the same core the filter runs, without process start-up;
* **transcode, whole process** — `transcode --to chat FILE > /dev/null` per file, timed from the
  outside: process start-up, reading the file, translating, writing the answer.

Inputs: the synthetic stream of 50,000 one-token deltas (`bench/synthetic.py`); a real-shaped
stream of 50,000 deltas (`bench/mock_responses.py`: the events carry `logprobs` and `obfuscation`
as the API sends them, with the item and part events around them); the corpus.

Each is the best of several passes, in CPU seconds (the Python rows: this process's CPU time;
the whole process: the child's user + system time; `--repeat`: transcode's own clock over its
passes, one core, no I/O). Prints a markdown table with events/s, MB/s and the ratio.
"""

import argparse
import json
import pathlib
import re
import resource
import subprocess
import sys
import tempfile
import time

from mock_responses import response_stream
from synthetic import synthetic_50k
from litellm.completion_extras.litellm_responses_transformation.transformation import (
    OpenAiResponsesToChatCompletionStreamIterator,
)

REPO = pathlib.Path(__file__).resolve().parents[1]
TRANSCODE = REPO / "target" / "release" / "transcode"
CORPUS = REPO.parent / "shared" / "corpus"


def data_lines(raw: bytes) -> list:
    return [line for line in raw.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
            if line.startswith("data:")]


def best(fn, passes: int) -> float:
    """The least CPU time (this process's, all threads) of `passes` calls of `fn`: CPU, not wall
    time, so that other work on a shared machine does not count."""
    times = []
    for _ in range(passes):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def python_floor(streams: list):
    for lines in streams:
        for line in lines:
            payload = line[5:].strip()
            if payload != "[DONE]":
                try:
                    json.loads(payload)
                except ValueError:
                    pass


def litellm_bridge(streams: list) -> int:
    errors = 0
    for lines in streams:
        iterator = OpenAiResponsesToChatCompletionStreamIterator(
            streaming_response=iter(()), sync_stream=True)
        for line in lines:
            if line[5:].strip() == "[DONE]":
                continue
            try:
                chunk = iterator._handle_string_chunk(line)
                if hasattr(chunk, "model_dump_json"):
                    chunk.model_dump_json(exclude_none=True)
            except Exception:  # LiteLLM rejects some real events; counted, not fatal
                errors += 1
    return errors


def transcode_seconds(files: list, repeat: int) -> float:
    """Sum over files of transcode's own best time per pass (reported on stderr)."""
    total = 0.0
    for path in files:
        runs = []
        for _ in range(3):
            done = subprocess.run([str(TRANSCODE), "--to", "chat", "--repeat", str(repeat), str(path)],
                                  capture_output=True, check=True, timeout=300)
            runs.append(float(re.search(rb"([0-9.]+) s/pass", done.stderr).group(1)))
        total += min(runs)
    return total


def whole_process_seconds(files: list, passes: int) -> float:
    """Sum over files of the least CPU time (user + system, from the kernel's accounting of the
    child) of a whole `transcode` run, output to /dev/null."""
    total = 0.0
    for path in files:
        runs = []
        with open("/dev/null", "wb") as sink:
            for _ in range(max(passes, 5)):
                before = child_cpu()
                subprocess.run([str(TRANSCODE), "--to", "chat", str(path)], stdout=sink,
                               check=True, timeout=300)
                runs.append(child_cpu() - before)
        total += min(runs)
    return total


def measure(name: str, files: list, passes: int, repeat: int) -> list:
    raws = [p.read_bytes() for p in files]
    streams = [data_lines(r) for r in raws]
    events = sum(len(s) for s in streams)
    size = sum(len(r) for r in raws)
    errors = litellm_bridge(streams)
    rows = [
        ("python floor (SSE split + json.loads)", best(lambda: python_floor(streams), passes)),
        ("litellm OpenAiResponsesToChatCompletionStreamIterator", best(lambda: litellm_bridge(streams), passes)),
        ("responses-transcoder, whole process (transcode --to chat FILE > /dev/null)",
         whole_process_seconds(files, passes)),
        ("responses-transcoder (transcode --repeat)", transcode_seconds(files, repeat)),
    ]
    ours = rows[-1][1]
    print(f"\n### {name}: {len(files)} stream(s), {size / 1e6:.2f} MB, {events} events"
          f"{f', {errors} events LiteLLM raised on' if errors else ''}\n")
    print("| implementation | CPU seconds | events/s | MB/s | ours is faster by |")
    print("|---|---:|---:|---:|---:|")
    for label, secs in rows:
        print(f"| {label} | {secs:.4f} | {events / secs:,.0f} | {size / secs / 1e6:.1f} | "
              f"{secs / ours:,.1f}× |")
    bridge, whole = rows[1][1], rows[2][1]
    print(f"\nwhole process: {bridge / whole:,.1f}× LiteLLM's bridge ({name})")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    if not TRANSCODE.is_file():
        sys.exit(f"{TRANSCODE} missing: run `cargo build --release --bin transcode`")
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = pathlib.Path(tmp) / "synthetic_50k.sse"
        synthetic.write_bytes(synthetic_50k())
        measure("synthetic 50k text deltas", [synthetic], args.passes, repeat=20)
        shaped = pathlib.Path(tmp) / "real_shaped_50k.sse"
        shaped.write_bytes(response_stream(50_000))
        measure("real-shaped 50k text deltas", [shaped], args.passes, repeat=20)
    if CORPUS.is_dir():
        measure("corpus", sorted(CORPUS.glob("*.sse")), args.passes, repeat=50)
    else:
        print(f"\nSKIPPED corpus: {CORPUS} absent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
