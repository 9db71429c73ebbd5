//! Interop: a real third-party SSE client reads our encoder's output.
//!
//! The test serves an event stream built with `pushcodec::sse` encoders as
//! a loopback HTTP/1.1 `text/event-stream` response (std::net, one thread),
//! runs `node tests/interop/sse/read.mjs URL`, which parses it with npm
//! `eventsource-parser` and prints JSON lines, and checks that those lines
//! equal what we encoded (data line ends read back as LF, the last event id
//! in effect, every retry) and what our own decoder reads.
//!
//! Needs the npm peer, which `bash .ci/test` installs (node >= 20 and npm). Without it
//! the test fails, unless `PUSHCODEC_SKIP_INTEROP=1` is set.
#![cfg(feature = "sse")]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::thread;

use pushcodec::sse::{Decoder, EventRef, Item, Limits, encode_comment, encode_retry};

/// What we send, and what any conforming reader must report.
enum Sent {
    Event {
        data: String,
        event_type: Option<String>,
        id: Option<String>,
        retry: Option<u64>,
    },
    Comment(String),
    Retry(u64),
}

/// JSON string literal exactly as JavaScript's `JSON.stringify` writes it.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn event_line(event_type: &str, data: &str, id: &str) -> String {
    format!(
        "{{\"type\":{},\"data\":{},\"id\":{}}}",
        json_string(event_type),
        json_string(data),
        json_string(id)
    )
}

/// Deterministic pseudo-random text with every awkward character (seeded
/// xorshift, so a failure reproduces).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn text(&mut self, max_len: u64, line_breaks: bool) -> String {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            " ",
            "  ",
            ":",
            "data:",
            "id: 3",
            "\0",
            "\t",
            "é",
            "→",
            "★",
            "😀",
            "\u{FEFF}",
            "\u{2028}",
            "{\"k\":1}",
            "\\",
            "\"",
        ];
        const BREAKS: &[&str] = &["\r", "\n", "\r\n", "\n\n", "\r\r"];
        let len = self.below(max_len + 1);
        let mut s = String::new();
        for _ in 0..len {
            if line_breaks && self.below(5) == 0 {
                s.push_str(BREAKS[self.below(BREAKS.len() as u64) as usize]);
            } else {
                s.push_str(PIECES[self.below(PIECES.len() as u64) as usize]);
            }
        }
        s
    }
}

fn script() -> Vec<Sent> {
    let mut sent = vec![
        Sent::Comment("interop stream".into()),
        Sent::Retry(2500),
        Sent::Event {
            data: "hello".into(),
            event_type: None,
            id: Some("1".into()),
            retry: None,
        },
        Sent::Event {
            data: String::new(),
            event_type: Some("empty".into()),
            id: None,
            retry: None,
        },
        Sent::Event {
            data: "  two leading spaces\r\nCRLF\rCR\nLF\n".into(),
            event_type: Some("lines".into()),
            id: Some("  spaced id".into()),
            retry: Some(1000),
        },
        Sent::Event {
            data: "after an id reset".into(),
            event_type: Some(String::new()),
            id: Some(String::new()),
            retry: None,
        },
        Sent::Comment("multi\nline\r\ncomment".into()),
    ];
    let mut rng = Rng(0x5EED_CAFE_F00D_0001);
    for i in 0..300 {
        let id = match rng.below(4) {
            0 => None,
            1 => Some(String::new()),
            _ => Some(format!("{i}-{}", rng.text(3, false).replace('\0', ""))),
        };
        let event_type = match rng.below(3) {
            0 => None,
            _ => Some(rng.text(3, false)),
        };
        sent.push(Sent::Event {
            data: rng.text(12, true),
            event_type,
            id,
            retry: (rng.below(8) == 0).then(|| rng.below(1 << 40)),
        });
        if rng.below(10) == 0 {
            sent.push(Sent::Comment(rng.text(5, true)));
        }
    }
    sent
}

/// Encodes the script and computes the JSON lines a reader must print.
fn encode(sent: &[Sent]) -> (Vec<u8>, Vec<String>) {
    let mut body = Vec::new();
    let mut expected = Vec::new();
    let mut last_id = String::new();
    for item in sent {
        match item {
            Sent::Comment(text) => encode_comment(text, &mut body),
            Sent::Retry(ms) => {
                encode_retry(*ms, &mut body);
                expected.push(format!("{{\"retry\":{ms}}}"));
            }
            Sent::Event {
                data,
                event_type,
                id,
                retry,
            } => {
                let mut ev = EventRef::new(data);
                if let Some(t) = event_type {
                    ev = ev.event_type(t);
                }
                if let Some(i) = id {
                    ev = ev.id(i);
                    last_id.clone_from(i);
                }
                if let Some(ms) = retry {
                    ev = ev.retry(*ms);
                    expected.push(format!("{{\"retry\":{ms}}}"));
                }
                ev.encode(&mut body).expect("script values are valid");
                let t = match event_type.as_deref() {
                    None | Some("") => "message",
                    Some(t) => t,
                };
                let data = data.replace("\r\n", "\n").replace('\r', "\n");
                expected.push(event_line(t, &data, &last_id));
            }
        }
    }
    (body, expected)
}

/// Our own decoder's reading of the body, in the same JSON shape.
fn decode_ours(body: &[u8]) -> Vec<String> {
    let mut dec = Decoder::new(Limits::default());
    let mut out = Vec::new();
    for chunk in body.chunks(7) {
        dec.feed(chunk);
        while let Some(item) = dec.next_item() {
            match item.expect("no limit is reached") {
                Item::Event(ev) => out.push(event_line(ev.event_type(), ev.data(), ev.id())),
                Item::Retry(ms) => out.push(format!("{{\"retry\":{ms}}}")),
                other => panic!("unexpected item {other:?}"),
            }
        }
    }
    assert!(!dec.finish(), "the encoder ended every event");
    out
}

/// Serves `body` once as an SSE response, written in uneven small pieces so
/// that line ends and UTF-8 sequences straddle TCP segments.
fn serve_once(body: Vec<u8>) -> (String, thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream.set_nodelay(true).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let mut stream = stream;
        stream
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                  Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
            )
            .unwrap();
        let mut rest = &body[..];
        let mut n = 1;
        while !rest.is_empty() {
            let take = n.min(rest.len());
            stream.write_all(&rest[..take]).unwrap();
            stream.flush().unwrap();
            rest = &rest[take..];
            n = n % 23 + 3;
        }
        head
    });
    (url, handle)
}

#[test]
fn eventsource_parser_reads_our_encoder_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/sse");
    let installed = dir
        .join("node_modules/eventsource-parser/package.json")
        .is_file();
    if !installed {
        if std::env::var("PUSHCODEC_SKIP_INTEROP").as_deref() == Ok("1") {
            eprintln!("skipping SSE interop: PUSHCODEC_SKIP_INTEROP=1");
            return;
        }
        panic!(
            "npm eventsource-parser is not installed in {}: run `bash .ci/test` \
             (needs node >= 20 and npm), or set PUSHCODEC_SKIP_INTEROP=1 to skip this test",
            dir.display()
        );
    }

    let sent = script();
    let (body, expected) = encode(&sent);
    assert_eq!(
        decode_ours(&body),
        expected,
        "our decoder disagrees with the script"
    );

    let (url, server) = serve_once(body);
    let output = Command::new("node")
        .arg(dir.join("read.mjs"))
        .arg(&url)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run node ({e}): install node >= 20, then run `bash .ci/test`")
        });
    let head = server.join().expect("server thread");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "node failed: {stderr}");
    assert!(
        head.to_ascii_lowercase()
            .contains("accept: text/event-stream"),
        "request head: {head}"
    );

    let got: Vec<&str> = std::str::from_utf8(&output.stdout)
        .expect("node prints UTF-8")
        .lines()
        .collect();
    assert!(expected.len() > 300, "the script is not trivially small");
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "item {i} differs (eventsource-parser vs expected)");
    }
    assert_eq!(
        got.len(),
        expected.len(),
        "item count; node stderr: {stderr}"
    );
}
