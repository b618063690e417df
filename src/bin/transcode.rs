//! `transcode`: runs the transcoder offline over a Responses SSE stream, for debugging and
//! benchmarks; and checks a plugin configuration before it is deployed.
//!
//! ```text
//! transcode --to chat|interactions|anthropic [--split N] [--repeat R] [FILE]
//! transcode --check-config FILE
//! ```
//!
//! Reads FILE (or stdin) in N-byte chunks (default: 64 KiB), feeds each to the same core the
//! filter uses and writes its translation to stdout before reading the next, as the filter does
//! with each body chunk (memory stays bounded whatever the stream's length). With `--repeat R` the
//! whole input is read first and translated R times (output written once, default chunk: all of
//! it) and the time per pass is reported on stderr, for benchmarks that must not count process
//! start-up. Exits 0 when the stream was translated,
//! in-band errors included; 2 on bad arguments; 1 on I/O errors.
//!
//! `--check-config FILE` (`-` for stdin) parses FILE as the plugin configuration (the JSON of
//! Envoy's `configuration` field) with `Config::parse`, the function the filter's `on_configure`
//! runs: prints `ok` and exits 0 when the filter would accept it; prints the error, which names
//! the field, to stderr and exits 1 when it would refuse it (or FILE cannot be read).

use responses_transcoder::{Config, Dialect, StreamOptions, Transcoder};
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = concat!(
    "usage: transcode --to chat|interactions|anthropic [--split N] [--repeat R] [FILE]\n",
    "       transcode --check-config FILE"
);

/// What the command line asks for.
enum Command {
    /// Translate a stream.
    Transcode(Args),
    /// Validate a plugin configuration file (`-` for stdin).
    CheckConfig(String),
}

struct Args {
    dialect: Dialect,
    split: Option<usize>,
    repeat: Option<usize>,
    file: Option<String>,
}

/// Parses a positive count given to `flag`.
fn count(flag: &str, value: Option<String>) -> Result<usize, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a positive integer"))?;
    value
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{flag}: expected a positive integer, got {value:?}"))
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let (mut dialect, mut split, mut repeat, mut file) = (None, None, None, None);
    let mut check_config = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--to" => {
                let name = args.next().ok_or("--to needs a dialect")?;
                dialect = match Dialect::parse(&name) {
                    Some(d @ (Dialect::Chat | Dialect::Interactions | Dialect::Anthropic)) => {
                        Some(d)
                    }
                    _ => {
                        return Err(format!(
                            "--to: unknown dialect {name:?} (chat, interactions or anthropic)"
                        ))
                    }
                };
            }
            "--check-config" => {
                check_config = Some(
                    args.next()
                        .ok_or("--check-config needs a FILE (- for stdin)")?,
                );
            }
            "--split" => split = Some(count("--split", args.next())?),
            "--repeat" => repeat = Some(count("--repeat", args.next())?),
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') && flag != "-" => {
                return Err(format!("unknown option {flag:?}"))
            }
            path => {
                if file.replace(path.to_string()).is_some() {
                    return Err("only one FILE may be given".into());
                }
            }
        }
    }
    if let Some(path) = check_config {
        if dialect.is_some() || split.is_some() || repeat.is_some() || file.is_some() {
            return Err("--check-config takes only its FILE".into());
        }
        return Ok(Command::CheckConfig(path));
    }
    let dialect = dialect.ok_or("--to is required")?;
    Ok(Command::Transcode(Args {
        dialect,
        split,
        repeat,
        file,
    }))
}

/// Reads FILE, or stdin for `None` and `-`.
fn read_input(path: Option<&str>) -> std::io::Result<Vec<u8>> {
    let mut input = Vec::new();
    match path {
        Some(path) if path != "-" => {
            std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut input))
        }
        _ => std::io::stdin().read_to_end(&mut input),
    }?;
    Ok(input)
}

/// Default chunk of the streaming mode: Envoy's usual body chunk.
const STREAM_CHUNK: usize = 64 * 1024;

/// Translates FILE (or stdin) chunk by chunk, each chunk's translation written before the next is
/// read.
fn stream(args: &Args) -> ExitCode {
    let name = args.file.as_deref().unwrap_or("stdin");
    let mut source: Box<dyn Read> = match args.file.as_deref() {
        Some(path) if path != "-" => match std::fs::File::open(path) {
            Ok(file) => Box::new(file),
            Err(err) => {
                eprintln!("transcode: cannot read {name}: {err}");
                return ExitCode::from(1);
            }
        },
        _ => Box::new(std::io::stdin().lock()),
    };
    let Some(mut transcoder) = Transcoder::new(args.dialect, StreamOptions::default()) else {
        eprintln!(
            "transcode: dialect {} does not transcode",
            args.dialect.name()
        );
        return ExitCode::from(2);
    };
    let mut chunk = vec![0; args.split.unwrap_or(STREAM_CHUNK)];
    let mut out = Vec::new();
    let mut sink = std::io::stdout().lock();
    loop {
        let filled = match fill(&mut source, &mut chunk) {
            Ok(filled) => filled,
            Err(err) => {
                eprintln!("transcode: cannot read {name}: {err}");
                return ExitCode::from(1);
            }
        };
        if filled == 0 {
            transcoder.finish(&mut out);
        } else {
            transcoder.feed(chunk.get(..filled).unwrap_or_default(), &mut out);
        }
        if let Err(err) = sink.write_all(&out) {
            eprintln!("transcode: cannot write output: {err}");
            return ExitCode::from(1);
        }
        out.clear();
        if filled == 0 {
            return ExitCode::SUCCESS;
        }
    }
}

/// Reads until `chunk` is full or the input ends; the number of bytes read.
fn fill(source: &mut dyn Read, chunk: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = chunk.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match source.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// `--check-config`: `ok` and 0 when the filter would accept the configuration, else the error
/// and 1.
fn check_config(path: &str) -> ExitCode {
    let input = match read_input(Some(path)) {
        Ok(input) => input,
        Err(err) => {
            eprintln!("transcode: cannot read {path}: {err}");
            return ExitCode::from(1);
        }
    };
    match Config::parse(&input) {
        Ok(_) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("transcode: {path}: {message}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Transcode(args)) => args,
        Ok(Command::CheckConfig(path)) => return check_config(&path),
        Err(message) => {
            if !message.is_empty() {
                eprintln!("transcode: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.repeat.is_none() {
        return stream(&args);
    }
    let input = match read_input(args.file.as_deref()) {
        Ok(input) => input,
        Err(err) => {
            eprintln!(
                "transcode: cannot read {}: {err}",
                args.file.as_deref().unwrap_or("stdin")
            );
            return ExitCode::from(1);
        }
    };
    let split = args.split.unwrap_or(input.len()).max(1);
    let passes = args.repeat.unwrap_or(1);
    let mut out = Vec::new();
    let mut events = 0;
    let start = Instant::now();
    for _ in 0..passes {
        out.clear();
        let Some(mut transcoder) = Transcoder::new(args.dialect, StreamOptions::default()) else {
            eprintln!(
                "transcode: dialect {} does not transcode",
                args.dialect.name()
            );
            return ExitCode::from(2);
        };
        for chunk in input.chunks(split) {
            transcoder.feed(chunk, &mut out);
        }
        transcoder.finish(&mut out);
        events = transcoder.stats().events_in;
    }
    if args.repeat.is_some() {
        let secs = start.elapsed().as_secs_f64() / passes as f64;
        eprintln!(
            "transcode: {passes} passes, {} bytes in, {events} events, {secs:.9} s/pass, {:.1} MB/s, {:.0} events/s",
            input.len(),
            input.len() as f64 / secs / 1e6,
            events as f64 / secs
        );
    }
    if let Err(err) = std::io::stdout().lock().write_all(&out) {
        eprintln!("transcode: cannot write output: {err}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
