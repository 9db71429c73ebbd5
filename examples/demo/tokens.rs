//! The demo's token stream: `text/event-stream` answering a POST, the way
//! LLM APIs stream; the page reads it with `fetch` and a `ReadableStream`.

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use pushcodec::bytes::BytesMut;
use pushcodec::sse::{self, EventRef};

use super::{Demo, lock};

const ANSWER: &str = "pushcodec is a sans-IO toolkit for Server-Sent Events and WebSocket: \
bytes in, events out; events in, bytes out. It never opens a socket, reads a clock or spawns \
a task, so this std::net demo, a tokio server, a fuzzer and a benchmark all drive the same \
state machines.\n\nThis answer is an event stream too: each token is an SSE event encoded \
by pushcodec and decoded in the page from fetch() and a ReadableStream, the way LLM APIs \
stream over POST. Line breaks travel as several data: lines, and text like “naïve café” or 🦀 \
may be split across network chunks and still arrives whole.";

/// Splits text like a language model's tokenizer might: words with their
/// leading space, line breaks on their own.
fn tokenize(text: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for c in text.chars() {
        let starts_new = match tokens.last() {
            None => true,
            Some(last) => {
                c == ' ' || (c == '\n') != last.ends_with('\n') || last.chars().count() >= 8
            }
        };
        if starts_new {
            tokens.push(String::new());
        }
        if let Some(last) = tokens.last_mut() {
            last.push(c);
        }
    }
    tokens
}

pub(super) fn serve_tokens(
    demo: &Arc<Demo>,
    mut stream: TcpStream,
    prompt: &str,
) -> io::Result<()> {
    let prompt = prompt.replace("\r\n", "\n").replace('\r', "\n");
    let tokens = tokenize(&format!("> {}\n\n{ANSWER}", prompt.trim()));
    let mut out = BytesMut::new();
    sse::encode_response_head(&mut out);
    stream.write_all(&out)?;
    for token in &tokens {
        let bytes = EventRef::new(token)
            .event_type("token")
            .to_bytes()
            .map_err(io::Error::other)?;
        // Two writes per event, split mid-way (maybe inside a UTF-8 code
        // point): the page's decoder must not care where chunks end.
        let (a, b) = bytes.split_at(bytes.len() / 2);
        stream.write_all(a)?;
        thread::sleep(Duration::from_millis(1));
        stream.write_all(b)?;
        thread::sleep(demo.opts.token_delay);
    }
    let done = format!(r#"{{"tokens":{}}}"#, tokens.len());
    let bytes = EventRef::new(&done)
        .event_type("done")
        .to_bytes()
        .map_err(io::Error::other)?;
    stream.write_all(&bytes)?;
    lock(&demo.records).token_streams.push(tokens.concat());
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}
