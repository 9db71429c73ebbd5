//! Instructions per message on the hot paths, for callgrind: `instructions ROW N`
//! runs row ROW over N messages. `.ci/check-instructions.sh` runs each row twice
//! (N = 1000 and 2000) under callgrind, so set-up cancels out, and compares the
//! difference per message with the figures committed in `benches/instructions.txt`.
//! Instruction counts do not depend on machine noise; wall-clock ratios against
//! the peers are the criterion benches' job.
//!
//! SSE rows (`sse_*`) count per event on the workloads of `benches/sse.rs`:
//! LLM token events (`id`, `event`, a short JSON `data` line) in 4 KiB or
//! 7-byte chunks, with LF or CRLF line ends; events of 16 data lines of 64
//! bytes; one 64 KiB data line; and the encoding of a token event. `sse_*`
//! decode with `feed_bytes`, `lent_*` the same workloads with `feed_lent`.
use bytes::Bytes;
use pushcodec::sse::{self, Decoder, Item, LentItem, Limits};
use pushcodec::ws::{Config, Connection, Event, RandomSource};
use std::hint::black_box;

struct Fixed;
impl RandomSource for Fixed {
    fn fill(&mut self, buf: &mut [u8]) {
        buf.fill(0x5a);
    }
}

fn cfg() -> Config {
    let mut c = Config::default();
    c.keepalive_interval = None;
    c.pong_timeout = None;
    c.max_message_size = 1 << 24;
    c.max_frame_size = 1 << 24;
    c
}

/// One client frame of `len` bytes, masked.
fn client_frame(len: usize, text: bool) -> Vec<u8> {
    let mut c = Connection::client(cfg()).with_random(Box::new(Fixed));
    let payload = vec![b'a'; len];
    if text {
        c.send_text(String::from_utf8(payload).unwrap()).unwrap();
    } else {
        c.send_binary(payload).unwrap();
    }
    let mut out = Vec::new();
    while let Some(b) = c.poll_transmit() {
        out.extend_from_slice(&b);
    }
    out
}

fn decode(len: usize, text: bool, n: usize) {
    decode_with(len, text, n, false)
}

fn decode_with(len: usize, text: bool, n: usize, lent: bool) {
    // A block of whole frames of about 64 KiB, read again and again in
    // reads of at most 64 KiB, as from a socket.
    let per_block = (65536 / (len + 14)).clamp(1, n);
    let block = client_frame(len, text).repeat(per_block);
    let mut s = Connection::server(cfg());
    let mut got = 0usize;
    for _ in 0..n / per_block {
        for read in block.chunks(64 * 1024) {
            s.read_buf().extend_from_slice(read);
            if lent {
                while let Some(ev) = s.poll_event_ref().unwrap() {
                    match ev {
                        pushcodec::ws::EventRef::Text(t) => got += black_box(t).len(),
                        pushcodec::ws::EventRef::Binary(b) => got += black_box(b).len(),
                        _ => {}
                    }
                }
                continue;
            }
            while let Some(ev) = s.poll_event().unwrap() {
                match ev {
                    Event::Text(t) => got += black_box(t).len(),
                    Event::Binary(b) => got += black_box(b).len(),
                    _ => {}
                }
            }
        }
    }
    let n = n / per_block * per_block;
    assert_eq!(got, len * n);
}

fn encode(len: usize, client: bool, n: usize) {
    encode_via::<false>(len, client, n);
}

/// `COPIED`: the payload is borrowed (`send_binary_copied`), not a shared
/// `Bytes` cloned per message.
fn encode_via<const COPIED: bool>(len: usize, client: bool, n: usize) {
    let mut c = if client {
        Connection::client(cfg())
    } else {
        Connection::server(cfg())
    };
    let payload = Bytes::from(vec![b'a'; len]);
    let mut sent = 0usize;
    for _ in 0..n {
        if COPIED {
            c.send_binary_copied(&payload).unwrap();
        } else {
            c.send_binary(payload.clone()).unwrap();
        }
        loop {
            let out = c.pending_transmit();
            if out.is_empty() {
                break;
            }
            let k = black_box(out).len();
            sent += k;
            c.advance_transmit(k);
        }
    }
    assert!(sent >= len * n);
}

/// `events` token events as on the wire, the last ending the block.
fn sse_tokens(events: usize, eol: &str) -> String {
    (0..events)
        .map(|i| {
            format!(
                "id: {i}{eol}event: delta{eol}data: {{\"choices\":[{{\"delta\":{{\"content\":\" tok{i}\"}}}}]}}{eol}{eol}"
            )
        })
        .collect()
}

/// Events of 16 data lines of 64 bytes.
fn sse_multiline(events: usize) -> String {
    let line = format!("data: {}\n", "x".repeat(64));
    format!("{}\n", line.repeat(16)).repeat(events)
}

/// Decodes `n` events from `block` (holding `per_block` events) fed again
/// and again in shared chunks of `chunk` bytes, with `feed_bytes` or, when
/// `lent`, `feed_lent`.
fn sse_decode(block: &str, per_block: usize, chunk: usize, n: usize, lent: bool) {
    let block = Bytes::copy_from_slice(block.as_bytes());
    let chunks: Vec<Bytes> = (0..block.len())
        .step_by(chunk)
        .map(|at| block.slice(at..(at + chunk).min(block.len())))
        .collect();
    let mut dec = Decoder::new({
        let mut limits = Limits::default();
        limits.max_line_len = 1 << 20;
        limits.max_event_data = 1 << 20;
        limits
    });
    let mut got = 0usize;
    for _ in 0..n / per_block {
        for chunk in &chunks {
            if lent {
                let mut feed = dec.feed_lent(chunk);
                while let Some(item) = feed.next_item() {
                    if let LentItem::Event(ev) = item.unwrap() {
                        got += black_box(ev.data_bytes()).len() + ev.id_bytes().len();
                    }
                }
                continue;
            }
            for item in dec.feed_bytes(chunk) {
                if let Item::Event(ev) = item.unwrap() {
                    got += black_box(ev.data_bytes()).len() + ev.id_text().len();
                }
            }
        }
    }
    assert!(got >= n / per_block * per_block);
}

/// One event of one 64 KiB data line.
fn line_64k() -> String {
    format!("data: {}\n\n", "x".repeat(65536))
}

fn sse_encode(n: usize) {
    let mut sent = 0usize;
    for i in 0..n {
        let id = if i % 2 == 0 { "1041" } else { "1042" };
        let ev = sse::EventRef::new("{\"choices\":[{\"delta\":{\"content\":\" tok\"}}]}")
            .event_type("delta")
            .id(id);
        sent += black_box(ev.to_bytes().unwrap()).len();
    }
    assert!(sent > n);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` runs every bench with `--bench`: this one runs only
    // when asked for a row.
    let (Some(row), Some(n)) = (args.first(), args.get(1).and_then(|n| n.parse().ok())) else {
        eprintln!("instructions: run by .ci/check-instructions.sh (usage: instructions ROW N)");
        return;
    };
    match row.as_str() {
        "dec_bin16" => decode(16, false, n),
        "ref_bin16" => decode_with(16, false, n, true),
        "ref_txt16" => decode_with(16, true, n, true),
        "ref_bin125" => decode_with(125, false, n, true),
        "ref_txt125" => decode_with(125, true, n, true),
        "ref_txt1k" => decode_with(1024, true, n, true),
        "ref_bin64k" => decode_with(65536, false, n, true),
        "dec_txt16" => decode(16, true, n),
        "dec_bin125" => decode(125, false, n),
        "dec_txt125" => decode(125, true, n),
        "dec_txt1k" => decode(1024, true, n),
        "dec_bin64k" => decode(65536, false, n),
        "dec_txt64k" => decode(65536, true, n),
        "enc_srv16" => encode(16, false, n),
        "enc_srv125" => encode(125, false, n),
        "enc_cli16" => encode(16, true, n),
        "enc_cli125" => encode(125, true, n),
        "enc_srv64k" => encode(65536, false, n),
        "enc_cli64k" => encode(65536, true, n),
        "enc_srv16c" => encode_via::<true>(16, false, n),
        "enc_cli16c" => encode_via::<true>(16, true, n),
        "sse_tok4k" => sse_decode(&sse_tokens(100, "\n"), 100, 4096, n, false),
        "sse_tok7b" => sse_decode(&sse_tokens(100, "\n"), 100, 7, n, false),
        "sse_crlf4k" => sse_decode(&sse_tokens(100, "\r\n"), 100, 4096, n, false),
        "sse_multi" => sse_decode(&sse_multiline(10), 10, 4096, n, false),
        "sse_line64k" => sse_decode(&line_64k(), 1, 4096, n, false),
        "lent_tok4k" => sse_decode(&sse_tokens(100, "\n"), 100, 4096, n, true),
        "lent_tok7b" => sse_decode(&sse_tokens(100, "\n"), 100, 7, n, true),
        "lent_crlf4k" => sse_decode(&sse_tokens(100, "\r\n"), 100, 4096, n, true),
        "lent_multi" => sse_decode(&sse_multiline(10), 10, 4096, n, true),
        "lent_line64k" => sse_decode(&line_64k(), 1, 4096, n, true),
        "sse_enc_tok" => sse_encode(n),
        _ => {
            eprintln!("instructions: no row {row}");
            std::process::exit(2);
        }
    }
}
