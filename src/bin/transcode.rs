//! `transcode`: runs the transcoder offline over a Responses SSE stream, for debugging and
//! benchmarks.
//!
//! ```text
//! transcode --to chat|interactions [--split N] [FILE]
//! ```
//!
//! Reads FILE (or stdin), feeds it to the same core the filter uses in N-byte chunks (default:
//! all at once) and writes the translated stream to stdout. Exits 0 when the stream was
//! translated, in-band errors included; 2 on bad arguments; 1 on I/O errors.

use responses_transcoder::{Dialect, StreamOptions, Transcoder};
use std::io::{Read, Write};
use std::process::ExitCode;

const USAGE: &str = "usage: transcode --to chat|interactions [--split N] [FILE]";

struct Args {
    dialect: Dialect,
    split: Option<usize>,
    file: Option<String>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut dialect, mut split, mut file) = (None, None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--to" => {
                let name = args.next().ok_or("--to needs a dialect")?;
                dialect = match Dialect::parse(&name) {
                    Some(d @ (Dialect::Chat | Dialect::Interactions)) => Some(d),
                    _ => {
                        return Err(format!(
                            "--to: unknown dialect {name:?} (chat or interactions)"
                        ))
                    }
                };
            }
            "--split" => {
                let n = args.next().ok_or("--split needs a byte count")?;
                split =
                    Some(n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("--split: expected a positive integer, got {n:?}")
                    })?);
            }
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
    let dialect = dialect.ok_or("--to is required")?;
    Ok(Args {
        dialect,
        split,
        file,
    })
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("transcode: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut input = Vec::new();
    let read = match args.file.as_deref() {
        Some(path) if path != "-" => {
            std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut input))
        }
        _ => std::io::stdin().read_to_end(&mut input),
    };
    if let Err(err) = read {
        eprintln!(
            "transcode: cannot read {}: {err}",
            args.file.as_deref().unwrap_or("stdin")
        );
        return ExitCode::from(1);
    }
    let Some(mut transcoder) = Transcoder::new(args.dialect, StreamOptions::default()) else {
        eprintln!(
            "transcode: dialect {} is not available",
            args.dialect.name()
        );
        return ExitCode::from(2);
    };
    let mut out = Vec::new();
    for chunk in input.chunks(args.split.unwrap_or(input.len()).max(1)) {
        transcoder.feed(chunk, &mut out);
    }
    transcoder.finish(&mut out);
    if let Err(err) = std::io::stdout().lock().write_all(&out) {
        eprintln!("transcode: cannot write output: {err}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
