//! Server-Sent Events throughput and per-event cost against
//! eventsource-stream and sse-stream, with limit rows on the same buffers
//! (issue 9).
//!
//! Contract for every row: the same stream bytes in the same chunks (each
//! a shared `Bytes`, handed to the async peers through
//! `futures::stream::iter`); every event materialized with its type, data
//! and id as validated text; output checked against the expected events
//! (decode) or wire bytes (encode) before timing. Decoders are built fresh
//! for each iteration, outside the timed part, and dropped outside it.
//!
//! Run one group at a time on a noisy machine:
//! `cargo bench --bench sse -- sse_decode/tokens_4KiB`.
//!
//! Decode rows: `pushcodec` feeds each chunk as a slice (`feed`, values
//! copied), `pushcodec_shared` as the shared `Bytes` it is (`feed_bytes`,
//! a value whose line lies inside one chunk is a slice of it).

mod common;

use std::convert::Infallible;
use std::hint::black_box;

use bytes::Bytes;
use common::{config, limits};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use pushcodec::sse::{Decoder, EventRef, Item, LentItem, Limits};

/// One expected event: type, data, id in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ev(String, String, String);

struct DecodeCase {
    name: &'static str,
    input: Bytes,
    chunks: Vec<Bytes>,
    expected: Vec<Ev>,
}

impl DecodeCase {
    fn new(name: &'static str, input: String, chunk: usize, expected: Vec<Ev>) -> Self {
        let input = Bytes::from(input);
        let chunks = (0..input.len())
            .step_by(chunk)
            .map(|s| input.slice(s..(s + chunk).min(input.len())))
            .collect();
        DecodeCase {
            name,
            input,
            chunks,
            expected,
        }
    }

    /// Chunks that end after each occurrence of `end` (a line, an event),
    /// as when a server flushes each one and the reads keep up.
    fn split_after(name: &'static str, input: String, end: &str, expected: Vec<Ev>) -> Self {
        let input = Bytes::from(input);
        let mut chunks = Vec::new();
        let mut start = 0;
        while let Some(i) = memchr::memmem::find(&input[start..], end.as_bytes()) {
            let stop = start + i + end.len();
            chunks.push(input.slice(start..stop));
            start = stop;
        }
        if start < input.len() {
            chunks.push(input.slice(start..));
        }
        DecodeCase {
            name,
            input,
            chunks,
            expected,
        }
    }
}

/// An LLM token stream: id, event type and a short JSON delta per event.
fn token_events() -> (Vec<Ev>, Vec<String>) {
    const WORDS: [&str; 8] = [
        " the", " model", " streams", " tokens", ",", " één", " за", " 🙂",
    ];
    let (mut events, mut data) = (Vec::new(), Vec::new());
    for i in 0..3000 {
        let d = format!(
            "{{\"id\":\"chatcmpl-9x\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{}\"}}}}]}}",
            WORDS[i % WORDS.len()]
        );
        events.push(Ev("delta".into(), d.clone(), i.to_string()));
        data.push(d);
    }
    (events, data)
}

fn tokens_wire(events: &[Ev], eol: &str) -> String {
    let mut s = String::new();
    for Ev(t, d, id) in events {
        s.push_str(&format!("id: {id}{eol}event: {t}{eol}data: {d}{eol}{eol}"));
    }
    s
}

fn cases() -> Vec<DecodeCase> {
    let (tokens, _) = token_events();
    let lf = tokens_wire(&tokens, "\n");
    let crlf = tokens_wire(&tokens, "\r\n");

    // 16 data lines of 64 bytes per event.
    let line = common::text(64);
    let mut multi = String::new();
    let mut multi_events = Vec::new();
    for _ in 0..256 {
        let lines = vec![line.as_str(); 16];
        for l in &lines {
            multi.push_str("data: ");
            multi.push_str(l);
            multi.push('\n');
        }
        multi.push('\n');
        multi_events.push(Ev("message".into(), lines.join("\n"), String::new()));
    }

    // Events of one 64 KiB data line.
    let big = common::text(64 * 1024);
    let mut long = String::new();
    let mut long_events = Vec::new();
    for _ in 0..4 {
        long.push_str("data: ");
        long.push_str(&big);
        long.push_str("\n\n");
        long_events.push(Ev("message".into(), big.clone(), String::new()));
    }

    vec![
        DecodeCase::new("tokens_4KiB_chunks", lf.clone(), 4096, tokens.clone()),
        DecodeCase::new("tokens_7B_chunks", lf.clone(), 7, tokens.clone()),
        DecodeCase::split_after("tokens_per_line", lf.clone(), "\n", tokens.clone()),
        DecodeCase::split_after("tokens_per_event", lf, "\n\n", tokens.clone()),
        DecodeCase::new("tokens_crlf_4KiB_chunks", crlf, 4096, tokens),
        DecodeCase::new("multiline_16x64B", multi, 4096, multi_events),
        DecodeCase::new("line_64KiB", long, 4096, long_events),
    ]
}

// --- decode rows -------------------------------------------------------------

/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn ours_decode(dec: &mut Decoder, chunks: &[Bytes], mut on: impl FnMut(&[u8], &[u8], &[u8])) {
    for chunk in chunks {
        for item in dec.feed(chunk) {
            match item.expect("valid stream") {
                // Validated when decoded: taken as bytes, not checked again
                // by `as_str`.
                Item::Event(ev) => on(
                    ev.event_type_text().as_bytes(),
                    ev.data_bytes(),
                    ev.id_text().as_bytes(),
                ),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

/// The same through `feed_bytes`: the chunks are shared `Bytes` for every
/// row, and a value whose line lies inside one is a slice of it.
/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn ours_shared(dec: &mut Decoder, chunks: &[Bytes], mut on: impl FnMut(&[u8], &[u8], &[u8])) {
    for chunk in chunks {
        for item in dec.feed_bytes(chunk) {
            match item.expect("valid stream") {
                Item::Event(ev) => on(
                    ev.event_type_text().as_bytes(),
                    ev.data_bytes(),
                    ev.id_text().as_bytes(),
                ),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

/// The same through `feed_lent`: each event borrowed from the chunk and
/// the decoder until the next one, with no reference count or allocation.
/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn ours_lent(dec: &mut Decoder, chunks: &[Bytes], mut on: impl FnMut(&[u8], &[u8], &[u8])) {
    for chunk in chunks {
        let mut feed = dec.feed_lent(chunk);
        while let Some(item) = feed.next_item() {
            match item.expect("valid stream") {
                LentItem::Event(ev) => on(ev.event_type_bytes(), ev.data_bytes(), ev.id_bytes()),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

type Chunks = futures::stream::Iter<
    std::iter::Map<std::vec::IntoIter<Bytes>, fn(Bytes) -> Result<Bytes, Infallible>>,
>;

#[allow(
    clippy::unnecessary_to_owned,
    reason = "the stream owns its chunks, as an HTTP body stream does"
)]
fn chunk_stream(chunks: &[Bytes]) -> Chunks {
    futures::stream::iter(
        chunks
            .to_vec()
            .into_iter()
            .map(Ok as fn(Bytes) -> Result<Bytes, Infallible>),
    )
}

/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn es_decode(
    mut stream: eventsource_stream::EventStream<Chunks>,
    mut on: impl FnMut(&[u8], &[u8], &[u8]),
) -> impl Sized {
    futures::executor::block_on(async {
        while let Some(ev) = stream.next().await {
            let ev = ev.expect("valid stream");
            on(ev.event.as_bytes(), ev.data.as_bytes(), ev.id.as_bytes());
        }
    });
    stream
}

/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn ss_decode(
    mut stream: sse_stream::SseByteStream<Chunks>,
    mut on: impl FnMut(&[u8], &[u8], &[u8]),
) -> impl Sized {
    futures::executor::block_on(async {
        while let Some(ev) = stream.next().await {
            let ev = ev.expect("valid stream");
            on(
                ev.event.as_deref().unwrap_or("message").as_bytes(),
                ev.data.as_deref().unwrap_or("").as_bytes(),
                ev.id.as_deref().unwrap_or("").as_bytes(),
            );
        }
    });
    stream
}

fn collect(run: impl FnOnce(&mut dyn FnMut(&[u8], &[u8], &[u8]))) -> Vec<Ev> {
    let mut got = Vec::new();
    run(&mut |t, d, id| {
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).expect("utf-8");
        got.push(Ev(text(t), text(d), text(id)));
    });
    got
}

fn sink(t: &[u8], d: &[u8], id: &[u8]) {
    black_box((t, d, id));
}

fn bench_decode_case(c: &mut Criterion, case: &DecodeCase) {
    let limits = {
        let mut limits = Limits::default();
        limits.max_line_len = 1 << 20;
        limits.max_event_data = 1 << 20;
        limits
    };
    let got = collect(|on| ours_decode(&mut Decoder::new(limits), &case.chunks, on));
    assert_eq!(got, case.expected, "pushcodec {}", case.name);
    let got = collect(|on| ours_shared(&mut Decoder::new(limits), &case.chunks, on));
    assert_eq!(got, case.expected, "pushcodec_shared {}", case.name);
    let got = collect(|on| ours_lent(&mut Decoder::new(limits), &case.chunks, on));
    assert_eq!(got, case.expected, "pushcodec_lent {}", case.name);
    let got = collect(|on| {
        es_decode(
            eventsource_stream::EventStream::new(chunk_stream(&case.chunks)),
            on,
        );
    });
    assert_eq!(got, case.expected, "eventsource-stream {}", case.name);
    let got = collect(|on| {
        ss_decode(
            sse_stream::SseByteStream::new(chunk_stream(&case.chunks)),
            on,
        );
    });
    assert_eq!(got, case.expected, "sse-stream {}", case.name);

    let mut group = c.benchmark_group(format!("sse_decode/{}", case.name));
    group.throughput(Throughput::Bytes(case.input.len() as u64));
    group.bench_function("pushcodec", |b| {
        b.iter_batched(
            || Decoder::new(limits),
            |mut dec| {
                ours_decode(&mut dec, &case.chunks, sink);
                dec
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("pushcodec_shared", |b| {
        b.iter_batched(
            || Decoder::new(limits),
            |mut dec| {
                ours_shared(&mut dec, &case.chunks, sink);
                dec
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("pushcodec_lent", |b| {
        b.iter_batched(
            || Decoder::new(limits),
            |mut dec| {
                ours_lent(&mut dec, &case.chunks, sink);
                dec
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("eventsource-stream", |b| {
        b.iter_batched(
            || eventsource_stream::EventStream::new(chunk_stream(&case.chunks)),
            |s| es_decode(s, sink),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("sse-stream", |b| {
        b.iter_batched(
            || sse_stream::SseByteStream::new(chunk_stream(&case.chunks)),
            |s| ss_decode(s, sink),
            BatchSize::SmallInput,
        );
    });
    let mut dst = Vec::with_capacity(case.input.len());
    group.bench_function("limit_memcpy", |b| {
        b.iter(|| limits::memcpy(&case.input, &mut dst))
    });
    group.bench_function("limit_memchr_lf", |b| {
        b.iter(|| limits::count_lf(&case.input))
    });
    assert!(limits::utf8_std(&case.input) && limits::utf8_simd(&case.input));
    group.bench_function("limit_utf8_std", |b| {
        b.iter(|| limits::utf8_std(&case.input))
    });
    group.bench_function("limit_utf8_simd", |b| {
        b.iter(|| limits::utf8_simd(&case.input))
    });
    group.finish();
}

fn sse_decode(c: &mut Criterion) {
    for case in cases() {
        bench_decode_case(c, &case);
    }
}

// --- encode rows -------------------------------------------------------------

/// Events to encode: (type, data, id).
struct EncodeCase {
    name: &'static str,
    events: Vec<(Option<String>, String, Option<String>)>,
    expected: Vec<u8>,
}

impl EncodeCase {
    fn expected_events(&self) -> Vec<Ev> {
        self.events
            .iter()
            .map(|(t, d, id)| {
                Ev(
                    t.clone().unwrap_or_else(|| "message".into()),
                    d.clone(),
                    id.clone().unwrap_or_default(),
                )
            })
            .collect()
    }
}

/// A test-only parser for LF-only, well-formed encoder output: events end
/// at a blank line; `data` lines join with LF; no id carry-over is needed
/// because every event here sets its own or none.
fn parse_simple(wire: &[u8]) -> Vec<Ev> {
    let text = std::str::from_utf8(wire).expect("utf-8");
    let mut events = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.is_empty()) {
        let (mut t, mut data, mut id) = ("message".to_string(), Vec::new(), String::new());
        for line in block.split('\n') {
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => t = value.into(),
                "data" => data.push(value),
                "id" => id = value.into(),
                _ => {}
            }
        }
        events.push(Ev(t, data.join("\n"), id));
    }
    events
}

fn encode_cases() -> Vec<EncodeCase> {
    let (tokens, _) = token_events();
    let expected = tokens_wire(&tokens, "\n").into_bytes();
    let token_case = EncodeCase {
        name: "tokens",
        events: tokens
            .into_iter()
            .map(|Ev(t, d, id)| (Some(t), d, Some(id)))
            .collect(),
        expected,
    };

    // 64 KiB of text with a line break every 100 bytes.
    let mut data = String::new();
    let mut expected = Vec::new();
    while data.len() < 64 * 1024 {
        let line = common::text(99);
        if !data.is_empty() {
            data.push('\n');
        }
        data.push_str(&line);
        expected.extend_from_slice(b"data: ");
        expected.extend_from_slice(line.as_bytes());
        expected.push(b'\n');
    }
    expected.push(b'\n');
    let multi_case = EncodeCase {
        name: "data_64KiB_lines_100B",
        events: vec![(None, data, None)],
        expected,
    };
    vec![token_case, multi_case]
}

/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn ours_encode(events: &[(Option<String>, String, Option<String>)], mut out: impl FnMut(Bytes)) {
    for (t, d, id) in events {
        let mut ev = EventRef::new(d);
        if let Some(t) = t {
            ev = ev.event_type(t);
        }
        if let Some(id) = id {
            ev = ev.id(id);
        }
        out(ev.to_bytes().expect("valid event"));
    }
}

/// sse-stream's `Sse` owns its fields: building one from the application's
/// `&str` is part of its cost.
/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn ss_encode(events: &[(Option<String>, String, Option<String>)], mut out: impl FnMut(Bytes)) {
    for (t, d, id) in events {
        let mut ev = sse_stream::Sse::default().data(d.as_str());
        if let Some(t) = t {
            ev = ev.event(t.as_str());
        }
        if let Some(id) = id {
            ev = ev.id(id.as_str());
        }
        out(ev.encode().expect("valid event"));
    }
}

fn bench_encode_case(c: &mut Criterion, case: &EncodeCase) {
    // Ours must write the exact bytes; any encoder's output must decode
    // (with a test-only parser) to the events it was given.
    let mut got = Vec::new();
    ours_encode(&case.events, |b| got.extend_from_slice(&b));
    assert!(
        got == case.expected,
        "pushcodec {}: wire bytes differ",
        case.name
    );
    assert_eq!(
        parse_simple(&got),
        case.expected_events(),
        "pushcodec {}",
        case.name
    );
    let mut got = Vec::new();
    ss_encode(&case.events, |b| got.extend_from_slice(&b));
    assert_eq!(
        parse_simple(&got),
        case.expected_events(),
        "sse-stream {}",
        case.name
    );

    let mut group = c.benchmark_group(format!("sse_encode/{}", case.name));
    group.throughput(Throughput::Bytes(case.expected.len() as u64));
    group.bench_function("pushcodec", |b| {
        b.iter(|| ours_encode(&case.events, |b| drop(black_box(b))))
    });
    group.bench_function("sse-stream", |b| {
        b.iter(|| ss_encode(&case.events, |b| drop(black_box(b))))
    });
    let mut dst = Vec::with_capacity(case.expected.len());
    group.bench_function("limit_memcpy", |b| {
        b.iter(|| limits::memcpy(&case.expected, &mut dst))
    });
    group.bench_function("limit_memchr_lf", |b| {
        b.iter(|| {
            case.events
                .iter()
                .map(|e| limits::count_lf(e.1.as_bytes()))
                .sum::<usize>()
        });
    });
    group.finish();
}

fn sse_encode(c: &mut Criterion) {
    for case in encode_cases() {
        bench_encode_case(c, &case);
    }
}

criterion_group! {
    name = benches;
    config = config();
    targets = sse_decode, sse_encode
}
criterion_main!(benches);
