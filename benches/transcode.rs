//! Native throughput of the core (framer + encoders) against baselines measured in the same run.
//!
//! `cargo bench --bench transcode` — criterion groups:
//! * `corpus`: every stream of `../shared/corpus`, translated whole, per dialect;
//! * `synthetic_50k`: one long stream of 50,000 text deltas, whole and in 4096 / 64-byte chunks;
//! * `*_stop`: the same translations with a stop set that never matches (smolagents' CodeAgent
//!   set: `Observation:`, `Calling tools:`, `</code>`): every text delta goes through the stop
//!   matcher (the cost of honouring stop sequences); `chat_stop_tok` with `tok!`, which every
//!   synthetic delta starts like but none completes: each one is decoded, matched and re-escaped
//!   (the matcher's worst steady case);
//!
//! each next to two baselines: `copy` (append the input to an output buffer: the least any body
//! rewrite does) and `split_events` (also find every blank line). A ratio table follows, then the
//! heap allocations per event, counted by this binary's global allocator while a stream is fed
//! the way the filter feeds it (64 KiB chunks into one reused output buffer).

use criterion::{black_box, criterion_group, Criterion, Throughput};
use responses_transcoder::stop::StopSequences;
use responses_transcoder::{Dialect, StreamOptions, Transcoder};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The system allocator, counting allocations and reallocations.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The corpus streams, or none (with a note) when `../shared/corpus` is absent.
fn corpus() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("SKIPPED corpus benches: {} absent", dir.display());
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sse"))
        .collect();
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// `response.created`, 50,000 one-token text deltas, `response.completed`.
fn synthetic_50k() -> Vec<u8> {
    let mut s = String::from(
        "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_bench\",\"object\":\"response\",\"created_at\":1767225600,\"status\":\"in_progress\",\"model\":\"gpt-bench\",\"output\":[]}}\n\n",
    );
    for n in 1..=50_000 {
        s += &format!("event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"tok \",\"sequence_number\":{n}}}\n\n");
    }
    s += "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":50001,\"response\":{\"id\":\"resp_bench\",\"object\":\"response\",\"created_at\":1767225600,\"status\":\"completed\",\"model\":\"gpt-bench\",\"output\":[],\"usage\":{\"input_tokens\":10,\"output_tokens\":50000,\"total_tokens\":50010}}}\n\n";
    s.into_bytes()
}

/// The stop set of the `*_stop` jobs.
const STOP_SET: [&str; 3] = ["Observation:", "Calling tools:", "</code>"];

/// Translates `input` fed in `chunk`-byte pieces into the reused `out`; returns its length.
fn transcode(dialect: Dialect, input: &[u8], chunk: usize, out: &mut Vec<u8>) -> usize {
    transcode_with(dialect, &StopSequences::default(), input, chunk, out)
}

/// [`transcode`] honouring the stop sequences `stop`.
fn transcode_with(
    dialect: Dialect,
    stop: &StopSequences,
    input: &[u8],
    chunk: usize,
    out: &mut Vec<u8>,
) -> usize {
    out.clear();
    let Some(transcoder) = Transcoder::new(dialect, StreamOptions::default()) else {
        return 0;
    };
    let mut transcoder = transcoder.with_stop_sequences(stop);
    for piece in input.chunks(chunk) {
        transcoder.feed(piece, out);
    }
    transcoder.finish(out);
    out.len()
}

/// Baseline: copy the input into the output buffer.
fn copy(input: &[u8], out: &mut Vec<u8>) -> usize {
    out.clear();
    out.extend_from_slice(input);
    out.len()
}

/// Baseline: copy, and count the events (blank-line separators).
fn split_events(input: &[u8], out: &mut Vec<u8>) -> usize {
    out.clear();
    out.extend_from_slice(input);
    input.windows(2).filter(|w| w == b"\n\n").count()
}

/// One way of processing a whole input set, by name.
type Job<'a> = (&'a str, Box<dyn Fn(&[u8], &mut Vec<u8>) -> usize + 'a>);

fn jobs(with_chunks: bool) -> Vec<Job<'static>> {
    let mut jobs: Vec<Job> = vec![
        ("copy", Box::new(copy)),
        ("split_events", Box::new(split_events)),
        (
            "chat",
            Box::new(|i: &[u8], o: &mut Vec<u8>| transcode(Dialect::Chat, i, usize::MAX, o)),
        ),
        (
            "interactions",
            Box::new(|i: &[u8], o: &mut Vec<u8>| {
                transcode(Dialect::Interactions, i, usize::MAX, o)
            }),
        ),
        (
            "anthropic",
            Box::new(|i: &[u8], o: &mut Vec<u8>| transcode(Dialect::Anthropic, i, usize::MAX, o)),
        ),
    ];
    let stop = StopSequences::new(STOP_SET.map(String::from).to_vec());
    let interactions_stop = stop.clone();
    let tok = StopSequences::new(vec!["tok!".to_string()]);
    jobs.push((
        "chat_stop",
        Box::new(move |i: &[u8], o: &mut Vec<u8>| {
            transcode_with(Dialect::Chat, &stop, i, usize::MAX, o)
        }),
    ));
    jobs.push((
        "chat_stop_tok",
        Box::new(move |i: &[u8], o: &mut Vec<u8>| {
            transcode_with(Dialect::Chat, &tok, i, usize::MAX, o)
        }),
    ));
    jobs.push((
        "interactions_stop",
        Box::new(move |i: &[u8], o: &mut Vec<u8>| {
            transcode_with(Dialect::Interactions, &interactions_stop, i, usize::MAX, o)
        }),
    ));
    if with_chunks {
        jobs.push((
            "chat_chunks_4096",
            Box::new(|i: &[u8], o: &mut Vec<u8>| transcode(Dialect::Chat, i, 4096, o)),
        ));
        jobs.push((
            "chat_chunks_64",
            Box::new(|i: &[u8], o: &mut Vec<u8>| transcode(Dialect::Chat, i, 64, o)),
        ));
    }
    jobs
}

fn run_all(job: &Job, inputs: &[Vec<u8>], out: &mut Vec<u8>) -> usize {
    inputs
        .iter()
        .map(|input| (job.1)(black_box(input), out))
        .sum()
}

fn bench_set(c: &mut Criterion, name: &str, inputs: &[Vec<u8>], with_chunks: bool) {
    let bytes: usize = inputs.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(20);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    let mut out = Vec::with_capacity(bytes * 2);
    for job in jobs(with_chunks) {
        group.bench_function(job.0, |b| b.iter(|| run_all(&job, inputs, &mut out)));
    }
    group.finish();
}

/// Prints MB/s, events/s and the ratio to the copy baseline, timed directly (best of 5).
fn ratio_table(name: &str, inputs: &[Vec<u8>], with_chunks: bool) {
    let bytes: usize = inputs.iter().map(Vec::len).sum();
    let events: usize = inputs
        .iter()
        .map(|i| i.windows(2).filter(|w| w == b"\n\n").count())
        .sum();
    let mut out = Vec::with_capacity(bytes * 2);
    let time = |job: &Job, out: &mut Vec<u8>| {
        let rounds = (20_000_000 / bytes.max(1)).clamp(3, 200);
        (0..5)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..rounds {
                    black_box(run_all(job, inputs, out));
                }
                start.elapsed().as_secs_f64() / rounds as f64
            })
            .fold(f64::INFINITY, f64::min)
    };
    let all = jobs(with_chunks);
    let baseline = time(&all[0], &mut out);
    println!("\n{name}: {bytes} bytes, {events} events, one core");
    println!("| job | MB/s | events/s | time ÷ copy |\n|---|---:|---:|---:|");
    for job in &all {
        let secs = time(job, &mut out);
        println!(
            "| {} | {:.0} | {:.0} | {:.1}× |",
            job.0,
            bytes as f64 / secs / 1e6,
            events as f64 / secs,
            secs / baseline
        );
    }
}

/// Heap allocations while `inputs` are translated as the filter does it: 64 KiB chunks into one
/// output buffer reused from chunk to chunk. `skip` chunks of each stream are fed first and not
/// counted (the stream's first events build its identity and its frame heads). Returns
/// (allocations, events counted).
fn allocations(dialect: Dialect, inputs: &[Vec<u8>], skip: usize) -> (u64, u64) {
    const CHUNK: usize = 65_536;
    let mut out = Vec::with_capacity(4 * CHUNK);
    let (mut counted, mut events) = (0, 0);
    for input in inputs {
        let Some(mut transcoder) = Transcoder::new(dialect, StreamOptions::default()) else {
            continue;
        };
        let mut chunks = input.chunks(CHUNK);
        for chunk in chunks.by_ref().take(skip) {
            out.clear();
            transcoder.feed(chunk, &mut out);
        }
        let before = (
            ALLOCATIONS.load(Ordering::Relaxed),
            transcoder.stats().events_in,
        );
        for chunk in chunks {
            out.clear();
            transcoder.feed(chunk, &mut out);
        }
        out.clear();
        transcoder.finish(&mut out);
        counted += ALLOCATIONS.load(Ordering::Relaxed) - before.0;
        events += transcoder.stats().events_in - before.1;
    }
    (counted, events)
}

/// Prints the heap allocations per event: the synthetic stream after its first chunk (its hot
/// path: text deltas), and every corpus stream from its first byte (every kind of event).
fn allocation_table(corpus: &[Vec<u8>]) {
    println!("\nheap allocations (64 KiB chunks, one reused output buffer)");
    println!("| input | dialect | allocations | events | per event |\n|---|---|---:|---:|---:|");
    let synthetic = [synthetic_50k()];
    for (name, inputs, skip) in [
        ("synthetic, after its first chunk", &synthetic[..], 1),
        ("corpus, whole streams", corpus, 0),
    ] {
        for dialect in [Dialect::Chat, Dialect::Interactions, Dialect::Anthropic] {
            let (counted, events) = allocations(dialect, inputs, skip);
            println!(
                "| {name} | {dialect:?} | {counted} | {events} | {:.3} |",
                counted as f64 / events.max(1) as f64
            );
        }
    }
}

fn benches(c: &mut Criterion) {
    let corpus = corpus();
    if !corpus.is_empty() {
        bench_set(c, "corpus", &corpus, false);
    }
    bench_set(c, "synthetic_50k", &[synthetic_50k()], true);
}

criterion_group!(group, benches);

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
    let corpus = corpus();
    if !corpus.is_empty() {
        ratio_table("corpus (104 streams)", &corpus, false);
    }
    ratio_table("synthetic_50k", &[synthetic_50k()], true);
    allocation_table(&corpus);
}
