//! Reads a `text/event-stream` on stdin, feeds it to the SSE decoder in
//! chunks of `--chunk-size N` bytes (default 4096), and prints one JSON
//! object per line, in stream order:
//!
//! - `{"type":"…","data":"…","id":"…"}` for each dispatched event (`id` is
//!   the last event id in effect),
//! - `{"retry":N}` for each valid `retry` field,
//! - `{"error":"…"}` for a limit error (decoding then goes on).
//!
//! ```sh
//! cargo run --example sse_dump -- --chunk-size 7 < tests/data/sse/sample.txt
//! ```

use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use pushcodec::sse::{Decoder, Item, Limits};

const USAGE: &str = "usage: sse_dump [--chunk-size N] < stream";

fn main() -> ExitCode {
    let chunk_size = match parse_args(std::env::args().skip(1)) {
        Ok(n) => n,
        Err(msg) => {
            eprintln!("sse_dump: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(chunk_size) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed stdout (`| head`) is a normal way to stop.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sse_dump: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<usize, String> {
    let mut chunk_size = 4096;
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--chunk-size" => args.next().ok_or("--chunk-size needs a value")?,
            other => match other.strip_prefix("--chunk-size=") {
                Some(v) => v.to_owned(),
                None => return Err(format!("unknown argument {other:?}")),
            },
        };
        chunk_size = value
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("--chunk-size must be a positive integer, not {value:?}"))?;
    }
    Ok(chunk_size)
}

fn run(chunk_size: usize) -> io::Result<()> {
    let mut input = io::stdin().lock();
    let mut out = BufWriter::new(io::stdout().lock());
    let mut dec = Decoder::new(Limits::default());
    let mut buf = vec![0u8; chunk_size];
    loop {
        // Fill a whole chunk (stdin may return less) so that the chunking is
        // exactly the one asked for.
        let mut filled = 0;
        while filled < chunk_size {
            match input.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            break;
        }
        for item in dec.feed(&buf[..filled]) {
            print_item(&mut out, item)?;
        }
    }
    // End of stream: an event without its closing blank line is dropped
    // (WHATWG HTML §9.2.6).
    dec.finish();
    out.flush()
}

fn print_item(
    out: &mut impl Write,
    item: Result<Item, pushcodec::sse::LimitError>,
) -> io::Result<()> {
    let mut line = String::new();
    match item {
        Ok(Item::Event(ev)) => {
            line.push_str("{\"type\":");
            push_json_string(&mut line, ev.event_type());
            line.push_str(",\"data\":");
            push_json_string(&mut line, ev.data());
            line.push_str(",\"id\":");
            push_json_string(&mut line, ev.id());
            line.push('}');
        }
        Ok(Item::Retry(ms)) => line = format!("{{\"retry\":{ms}}}"),
        Ok(_) => return Ok(()),
        Err(e) => {
            line.push_str("{\"error\":");
            push_json_string(&mut line, &e.to_string());
            line.push('}');
        }
    }
    writeln!(out, "{line}")
}

/// Appends `s` as a JSON string literal (RFC 8259 §7), escaped as
/// JavaScript's `JSON.stringify` does, so output compares byte for byte.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}
