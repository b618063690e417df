// The core (framer + fast path + encoders) compiled to wasm32-wasip1 and run by V8 (Node's),
// without Envoy: `transcode --repeat` per module, several runs each, interleaved, best run kept.
// Less noisy than Envoy's CPU counters on a shared machine, and it isolates the module's own
// time from the host calls (`bench/envoy_bench.py` measures the whole filter in Envoy).
//
//   cargo build --release --target wasm32-wasip1 --bin transcode
//   python3 -c 'import sys; sys.path.insert(0, "bench"); from synthetic import synthetic;
//               open("/tmp/synthetic_20k.sse", "wb").write(synthetic(20_000))'
//   node bench/v8_core.mjs [--runs N] [--repeat R] [--split S] /tmp/synthetic_20k.sse \
//        after=target/wasm32-wasip1/release/transcode.wasm [before=OTHER.wasm ...]
//
// Each run is its own `node --no-liftoff` process (TurboFan code from the first pass, as in a
// warmed-up Envoy; Node 20's WASI occasionally aborts a process, which is then run again).
// Inputs above ≈ 6 MB make Node 20's WASI abort: use a shorter stream than the 8.5 MB synthetic one.
// Prints one Markdown row per module and dialect: MB/s, ns per event, and time ÷ the first module.

import { readFileSync, openSync, closeSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** One `transcode --repeat` run inside this process; prints its report line. */
async function child([path, input, dialect, repeat, split]) {
  // Imported here: the parent needs no WASI (and so prints no experimental-feature warning).
  const { WASI } = await import("node:wasi");
  const module = new WebAssembly.Module(readFileSync(path));
  const stdout = openSync("/dev/null", "w");
  const wasi = new WASI({
    version: "preview1",
    args: ["transcode", "--to", dialect, "--repeat", repeat,
      ...(split !== "0" ? ["--split", split] : []), "/in/" + basename(input)],
    preopens: { "/in": dirname(resolve(input)) },
    stdout, returnOnExit: true,
  });
  // The library's proxy-wasm glue comes along with its host imports; the CLI never calls them.
  const env = Object.fromEntries(WebAssembly.Module.imports(module)
    .filter((i) => i.module === "env").map((i) => [i.name, () => 0]));
  const instance = new WebAssembly.Instance(module, { ...wasi.getImportObject(), env });
  // The glue also exports `_initialize`, which WASI.start refuses beside `_start`.
  const { _start, memory } = instance.exports;
  process.exitCode = wasi.start({ exports: { _start, memory } });
  closeSync(stdout);
}

/** Seconds per pass of one run of `path` in a child process (retried when Node aborts it). */
function pass(path, input, dialect, repeat, split) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const done = spawnSync(process.execPath, ["--no-liftoff", "--no-warnings",
      fileURLToPath(import.meta.url), "--child", path, input, dialect, String(repeat),
      String(split)], { encoding: "utf8" });
    const match = /([0-9]+) bytes in, ([0-9]+) events, ([0-9.]+) s\/pass/.exec(done.stderr);
    if (done.status === 0 && match) {
      const [, bytes, events, secs] = match;
      return { bytes: Number(bytes), events: Number(events), secs: Number(secs) };
    }
    if (done.signal !== "SIGABRT") throw new Error(`transcode failed: ${done.stderr}`);
  }
  throw new Error(`Node aborted ${path} five times`);
}

function main(args) {
  const option = (name, fallback) => {
    const at = args.indexOf(name);
    if (at < 0) return fallback;
    const [, value] = args.splice(at, 2);
    return Number(value);
  };
  const runs = option("--runs", 5);
  const repeat = option("--repeat", 50);
  const split = option("--split", 0);
  const [input, ...specs] = args;
  if (!input || specs.length === 0) {
    console.error("usage: node bench/v8_core.mjs [--runs N] [--repeat R] [--split S] INPUT " +
      "LABEL=MODULE ...");
    process.exit(2);
  }
  const modules = specs.map((spec) => {
    const [label, path] = spec.split("=");
    return { label, path: resolve(path) };
  });
  console.log(`${basename(input)}, best of ${runs} runs × ${repeat} passes` +
    (split > 0 ? `, ${split}-byte chunks` : "") + `, Node ${process.version} (V8 ` +
    `${process.versions.v8})`);
  console.log("| module | dialect | MB/s | ns / event | time ÷ first |\n|---|---|---:|---:|---:|");
  for (const dialect of ["chat", "interactions"]) {
    const best = modules.map(() => null);
    for (let run = 0; run < runs; run++) {
      modules.forEach(({ path }, i) => {
        const result = pass(path, input, dialect, repeat, split);
        if (!best[i] || result.secs < best[i].secs) best[i] = result;
      });
    }
    best.forEach((result, i) => {
      console.log(`| ${modules[i].label} | ${dialect} | ` +
        `${(result.bytes / result.secs / 1e6).toFixed(0)} | ` +
        `${(result.secs / result.events * 1e9).toFixed(0)} | ` +
        `${(result.secs / best[0].secs).toFixed(2)}× |`);
    });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") {
  await child(argv.slice(1));
} else {
  main(argv);
}
