//! WebSocket throughput and per-message cost against tungstenite and
//! fastwebsockets, with limit rows on the same buffers (issue 9).
//!
//! Contract for every row: the same wire bytes, handed over in reads of at
//! most 64 KiB; every message handed to the application one at a time, as
//! owned or shared bytes (`pushcodec`, tungstenite) or lent from the
//! decoder's buffer until the next read (`pushcodec_lent`, fastwebsockets'
//! frames, which borrow its read buffer); text validated; client frames unmasked; output checked against the expected
//! messages (decode) or wire bytes (encode) before timing.
//!
//! Run one group at a time on a noisy machine:
//! `cargo bench --bench ws -- ws_decode/text_16B`.

mod common;

use std::hint::black_box;

use bytes::Bytes;
use common::{Kind, MockIo, Msg, READ, batch_count, config, limits, write_frame};
use criterion::{
    BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime,
};
use pushcodec::ws::{Config, Connection, Event, EventRef};

const SIZES: [(usize, &str); 5] = [
    (16, "16B"),
    (125, "125B"),
    (1024, "1KiB"),
    (64 * 1024, "64KiB"),
    (1 << 20, "1MiB"),
];

/// One decode input: masked client frames and the messages they carry.
struct DecodeCase {
    name: String,
    wire: Vec<u8>,
    expected: Vec<Msg>,
    /// The unmasked data payloads back to back, for the UTF-8 limit rows.
    payloads: Vec<u8>,
    text: bool,
}

fn decode_case(text: bool, size: usize, label: &str) -> DecodeCase {
    let mut rng = common::XorShift(0x9E37_79B9_7F4A_7C15);
    let count = batch_count(size);
    let (mut wire, mut expected, mut payloads) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..count {
        let payload = if text {
            // Vary the start so messages differ.
            let t = common::text(size + 8);
            let start = (0..8)
                .find(|s| t.is_char_boundary((i + s) % 8))
                .unwrap_or(0);
            let start = (i + start) % 8;
            let mut s = t[start..].to_string();
            while s.len() > size {
                s.pop();
            }
            while s.len() < size {
                s.push('.');
            }
            s.into_bytes()
        } else {
            common::binary(size, i as u64 + 1)
        };
        let key = rng.next_u32().to_be_bytes();
        write_frame(
            &mut wire,
            true,
            if text { 1 } else { 2 },
            &payload,
            Some(key),
        );
        payloads.extend_from_slice(&payload);
        expected.push(Msg(if text { Kind::Text } else { Kind::Binary }, payload));
    }
    DecodeCase {
        name: format!("{}_{label}", if text { "text" } else { "binary" }),
        wire,
        expected,
        payloads,
        text,
    }
}

/// 1 MiB of text in 64 fragments with a ping after each but the last; the
/// fragments split code points.
fn fragmented_case() -> DecodeCase {
    let mut rng = common::XorShift(7);
    let text = common::text(1 << 20).into_bytes();
    let (mut wire, mut expected) = (Vec::new(), Vec::new());
    let pieces: Vec<&[u8]> = text.chunks(text.len() / 64).collect();
    for (i, piece) in pieces.iter().enumerate() {
        let last = i + 1 == pieces.len();
        let opcode = if i == 0 { 1 } else { 0 };
        write_frame(
            &mut wire,
            last,
            opcode,
            piece,
            Some(rng.next_u32().to_be_bytes()),
        );
        if !last {
            let ping = format!("ping {i}").into_bytes();
            write_frame(
                &mut wire,
                true,
                9,
                &ping,
                Some(rng.next_u32().to_be_bytes()),
            );
            expected.push(Msg(Kind::Ping, ping));
        }
    }
    expected.push(Msg(Kind::Text, text.clone()));
    DecodeCase {
        name: "text_1MiB_64frag_pings".into(),
        wire,
        expected,
        payloads: text,
        text: true,
    }
}

// --- decode rows -----------------------------------------------------------

/// Reads straight into the connection's buffer (`read_buf`), as a socket
/// read would: at most [`READ`] bytes and what fits in the room offered.
/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn ours_decode(conn: &mut Connection, wire: &[u8], mut on: impl FnMut(Kind, &[u8])) {
    let mut pos = 0;
    while pos < wire.len() {
        let buf = conn.read_buf();
        let n = (buf.capacity() - buf.len()).min(READ).min(wire.len() - pos);
        buf.extend_from_slice(&wire[pos..pos + n]);
        pos += n;
        drain_events(conn, &mut on);
    }
}

/// As [`ours_decode`], each event lent (`poll_event_ref`) instead of
/// shared: no split of the buffer and no reference count per message.
/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn ours_decode_lent(conn: &mut Connection, wire: &[u8], mut on: impl FnMut(Kind, &[u8])) {
    let mut pos = 0;
    while pos < wire.len() {
        let buf = conn.read_buf();
        let n = (buf.capacity() - buf.len()).min(READ).min(wire.len() - pos);
        buf.extend_from_slice(&wire[pos..pos + n]);
        pos += n;
        while let Some(event) = conn.poll_event_ref().expect("valid input") {
            match event {
                EventRef::Text(t) => on(Kind::Text, t.as_bytes()),
                EventRef::Binary(b) => on(Kind::Binary, b),
                EventRef::Ping(p) => on(Kind::Ping, p),
                EventRef::Pong(p) => on(Kind::Pong, p),
                other => panic!("unexpected {other:?}"),
            }
        }
        while let Some(out) = conn.poll_transmit() {
            black_box(out);
        }
    }
}

/// The same through `handle_read`, which copies what the caller read.
/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn ours_decode_handle_read(conn: &mut Connection, wire: &[u8], mut on: impl FnMut(Kind, &[u8])) {
    for chunk in wire.chunks(READ) {
        conn.handle_read(chunk);
        drain_events(conn, &mut on);
    }
}

fn drain_events(conn: &mut Connection, on: &mut impl FnMut(Kind, &[u8])) {
    while let Some(event) = conn.poll_event().expect("valid input") {
        match event {
            // `as_bytes`, not `as_str`: no second validation.
            Event::Text(t) => on(Kind::Text, t.as_bytes()),
            Event::Binary(b) => on(Kind::Binary, &b),
            Event::Ping(p) => on(Kind::Ping, &p),
            Event::Pong(p) => on(Kind::Pong, &p),
            other => panic!("unexpected {other:?}"),
        }
    }
    // Auto-pongs go to the transport, as the peers write theirs.
    while let Some(out) = conn.poll_transmit() {
        black_box(out);
    }
}

type Tung = tungstenite::WebSocket<MockIo>;

fn tung_server() -> (Tung, MockIo) {
    let io = MockIo::new(Vec::new(), false);
    let ws = Tung::from_raw_socket(io.clone(), tungstenite::protocol::Role::Server, None);
    (ws, io)
}

/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn tung_decode(ws: &mut Tung, io: &MockIo, messages: usize, mut on: impl FnMut(Kind, &[u8])) {
    io.rewind();
    for _ in 0..messages {
        match ws.read().expect("valid input") {
            tungstenite::Message::Text(t) => on(Kind::Text, t.as_bytes()),
            tungstenite::Message::Binary(b) => on(Kind::Binary, &b),
            tungstenite::Message::Ping(p) => on(Kind::Ping, &p),
            tungstenite::Message::Pong(p) => on(Kind::Pong, &p),
            other => panic!("unexpected {other:?}"),
        }
    }
}

type Fws = fastwebsockets::FragmentCollector<MockIo>;

fn fws_server() -> (Fws, MockIo) {
    let io = MockIo::new(Vec::new(), false);
    let ws = fastwebsockets::WebSocket::after_handshake(io.clone(), fastwebsockets::Role::Server);
    (fastwebsockets::FragmentCollector::new(ws), io)
}

/// fastwebsockets answers pings itself and does not surface them.
/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn fws_decode(ws: &mut Fws, io: &MockIo, messages: usize, mut on: impl FnMut(Kind, &[u8])) {
    io.rewind();
    futures::executor::block_on(async {
        for _ in 0..messages {
            let frame = ws.read_frame().await.expect("valid input");
            let kind = match frame.opcode {
                fastwebsockets::OpCode::Text => Kind::Text,
                fastwebsockets::OpCode::Binary => Kind::Binary,
                fastwebsockets::OpCode::Pong => Kind::Pong,
                other => panic!("unexpected {other:?}"),
            };
            on(kind, &frame.payload);
        }
    });
}

fn collect(run: impl FnOnce(&mut dyn FnMut(Kind, &[u8]))) -> Vec<Msg> {
    let mut got = Vec::new();
    run(&mut |k, b| got.push(Msg(k, b.to_vec())));
    got
}

fn sink(k: Kind, b: &[u8]) {
    black_box((k, b.as_ptr(), b.len()));
}

fn add_limit_rows(group: &mut BenchmarkGroup<'_, WallTime>, case: &DecodeCase) {
    let mut dst = Vec::with_capacity(case.wire.len());
    group.bench_function("limit_memcpy", |b| {
        b.iter(|| limits::memcpy(&case.wire, &mut dst))
    });
    group.bench_function("limit_memchr_lf", |b| {
        b.iter(|| limits::count_lf(&case.wire))
    });
    if case.text {
        assert!(limits::utf8_std(&case.payloads) && limits::utf8_simd(&case.payloads));
        group.bench_function("limit_utf8_std", |b| {
            b.iter(|| limits::utf8_std(&case.payloads))
        });
        group.bench_function("limit_utf8_simd", |b| {
            b.iter(|| limits::utf8_simd(&case.payloads))
        });
    }
    let mut scratch = case.wire.clone();
    group.bench_function("limit_xor", |b| {
        b.iter(|| limits::xor(&mut scratch, [1, 2, 3, 4]))
    });
}

fn bench_decode_case(c: &mut Criterion, case: &DecodeCase) {
    let n_all = case.expected.len();
    let data_only: Vec<Msg> = case
        .expected
        .iter()
        .filter(|m| m.0 != Kind::Ping)
        .cloned()
        .collect();

    // Check every row once, outside the timed loop.
    let mut ours = Connection::server(Config::default());
    assert_eq!(
        collect(|on| ours_decode(&mut ours, &case.wire, on)),
        case.expected,
        "pushcodec {}",
        case.name
    );
    let mut ours_lent = Connection::server(Config::default());
    assert_eq!(
        collect(|on| ours_decode_lent(&mut ours_lent, &case.wire, on)),
        case.expected,
        "pushcodec lent {}",
        case.name
    );
    let mut ours_hr = Connection::server(Config::default());
    assert_eq!(
        collect(|on| ours_decode_handle_read(&mut ours_hr, &case.wire, on)),
        case.expected,
        "pushcodec handle_read {}",
        case.name
    );
    let (mut tung, tung_io) = tung_server();
    tung_io.0.borrow_mut().input = case.wire.clone();
    assert_eq!(
        collect(|on| tung_decode(&mut tung, &tung_io, n_all, on)),
        case.expected,
        "tungstenite {}",
        case.name
    );
    assert!(tung_io.done());
    let (mut fws, fws_io) = fws_server();
    fws_io.0.borrow_mut().input = case.wire.clone();
    assert_eq!(
        collect(|on| fws_decode(&mut fws, &fws_io, data_only.len(), on)),
        data_only,
        "fastwebsockets {}",
        case.name
    );
    assert!(fws_io.done());

    let mut group = c.benchmark_group(format!("ws_decode/{}", case.name));
    group.throughput(Throughput::Bytes(case.wire.len() as u64));
    group.bench_function("pushcodec", |b| {
        b.iter(|| ours_decode(&mut ours, &case.wire, sink))
    });
    group.bench_function("pushcodec_lent", |b| {
        b.iter(|| ours_decode_lent(&mut ours_lent, &case.wire, sink))
    });
    group.bench_function("pushcodec_handle_read", |b| {
        b.iter(|| ours_decode_handle_read(&mut ours_hr, &case.wire, sink))
    });
    group.bench_function("tungstenite", |b| {
        b.iter(|| tung_decode(&mut tung, &tung_io, n_all, sink))
    });
    group.bench_function("fastwebsockets", |b| {
        b.iter(|| fws_decode(&mut fws, &fws_io, data_only.len(), sink));
    });
    add_limit_rows(&mut group, case);
    group.finish();
}

fn ws_decode(c: &mut Criterion) {
    for text in [true, false] {
        for (size, label) in SIZES {
            bench_decode_case(c, &decode_case(text, size, label));
        }
    }
    // Text frames that arrive whole, several to a 64 KiB read, yet are too
    // big to stay in L1 between unmasking and validating.
    bench_decode_case(c, &decode_case(true, 16 * 1024, "16KiB"));
    bench_decode_case(c, &fragmented_case());
}

// --- encode rows -----------------------------------------------------------

/// Hands each message to the transport through the borrowed output
/// (`pending_transmit` / `advance_transmit`), as a socket write would.
/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn ours_encode(conn: &mut Connection, payloads: &[Bytes], mut out: impl FnMut(&[u8])) {
    for p in payloads {
        conn.send_binary(p.clone()).expect("open connection");
        loop {
            let pending = conn.pending_transmit();
            if pending.is_empty() {
                break;
            }
            out(pending);
            let written = pending.len();
            conn.advance_transmit(written);
        }
    }
}

/// The same from borrowed payloads (`send_binary_copied`): no shared
/// `Bytes` cloned and dropped per message.
#[inline(never)]
fn ours_encode_copied(conn: &mut Connection, payloads: &[Bytes], mut out: impl FnMut(&[u8])) {
    for p in payloads {
        conn.send_binary_copied(p).expect("open connection");
        loop {
            let pending = conn.pending_transmit();
            if pending.is_empty() {
                break;
            }
            out(pending);
            let written = pending.len();
            conn.advance_transmit(written);
        }
    }
}

/// The same through `poll_transmit`, which hands out shared `Bytes`.
/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn ours_encode_poll(conn: &mut Connection, payloads: &[Bytes], mut out: impl FnMut(&[u8])) {
    for p in payloads {
        conn.send_binary(p.clone()).expect("open connection");
        while let Some(bytes) = conn.poll_transmit() {
            out(&bytes);
        }
    }
}

/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn tung_encode(ws: &mut Tung, payloads: &[Bytes]) {
    for p in payloads {
        ws.send(tungstenite::Message::Binary(p.clone()))
            .expect("mock write");
    }
}

/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn fws_encode(ws: &mut fastwebsockets::WebSocket<MockIo>, payloads: &[Bytes]) {
    futures::executor::block_on(async {
        for p in payloads {
            let frame = fastwebsockets::Frame::binary(fastwebsockets::Payload::Borrowed(p));
            ws.write_frame(frame).await.expect("mock write");
        }
    });
}

/// Checks encoder output: exact bytes for a server, unmasked payloads and
/// a mask on every frame for a client.
fn check_encoded(who: &str, client: bool, out: &[u8], payloads: &[Bytes], expected_server: &[u8]) {
    if client {
        let frames = common::parse_frames(out);
        assert_eq!(frames.len(), payloads.len(), "{who}: frame count");
        for (f, p) in frames.iter().zip(payloads) {
            assert!(f.fin && f.masked && f.opcode == 2, "{who}: header {f:?}");
            assert_eq!(&f.payload[..], &p[..], "{who}: payload");
        }
    } else {
        assert!(out == expected_server, "{who}: wire bytes differ");
    }
}

fn bench_encode_case(c: &mut Criterion, client: bool, size: usize, label: &str) {
    let payloads: Vec<Bytes> = (0..batch_count(size))
        .map(|i| Bytes::from(common::binary(size, i as u64 + 1)))
        .collect();
    let mut expected_server = Vec::new();
    for p in &payloads {
        write_frame(&mut expected_server, true, 2, p, None);
    }
    let (ours_role, tung_role, fws_role) = if client {
        (
            pushcodec::ws::Role::Client,
            tungstenite::protocol::Role::Client,
            fastwebsockets::Role::Client,
        )
    } else {
        (
            pushcodec::ws::Role::Server,
            tungstenite::protocol::Role::Server,
            fastwebsockets::Role::Server,
        )
    };

    let mut ours = Connection::new(ours_role, Config::default());
    let mut got = Vec::new();
    ours_encode(&mut ours, &payloads, |b| got.extend_from_slice(b));
    check_encoded("pushcodec", client, &got, &payloads, &expected_server);

    let mut ours_copied = Connection::new(ours_role, Config::default());
    let mut got = Vec::new();
    ours_encode_copied(&mut ours_copied, &payloads, |b| got.extend_from_slice(b));
    check_encoded(
        "pushcodec copied",
        client,
        &got,
        &payloads,
        &expected_server,
    );

    let mut ours_poll = Connection::new(ours_role, Config::default());
    let mut got = Vec::new();
    ours_encode_poll(&mut ours_poll, &payloads, |b| got.extend_from_slice(b));
    check_encoded("pushcodec poll", client, &got, &payloads, &expected_server);

    let tung_io = MockIo::new(Vec::new(), true);
    let mut tung = Tung::from_raw_socket(tung_io.clone(), tung_role, None);
    tung_encode(&mut tung, &payloads);
    check_encoded(
        "tungstenite",
        client,
        &tung_io.take_out(),
        &payloads,
        &expected_server,
    );
    tung_io.0.borrow_mut().collect = false;

    let fws_io = MockIo::new(Vec::new(), true);
    let mut fws = fastwebsockets::WebSocket::after_handshake(fws_io.clone(), fws_role);
    fws_encode(&mut fws, &payloads);
    check_encoded(
        "fastwebsockets",
        client,
        &fws_io.take_out(),
        &payloads,
        &expected_server,
    );
    fws_io.0.borrow_mut().collect = false;

    let role = if client { "client_masked" } else { "server" };
    let mut group = c.benchmark_group(format!("ws_encode/{role}_binary_{label}"));
    group.throughput(Throughput::Bytes(expected_server.len() as u64));
    group.bench_function("pushcodec", |b| {
        b.iter(|| {
            ours_encode(&mut ours, &payloads, |bytes| {
                black_box(bytes);
            })
        });
    });
    group.bench_function("pushcodec_copied", |b| {
        b.iter(|| {
            ours_encode_copied(&mut ours_copied, &payloads, |bytes| {
                black_box(bytes);
            })
        });
    });
    group.bench_function("pushcodec_poll_transmit", |b| {
        b.iter(|| {
            ours_encode_poll(&mut ours_poll, &payloads, |bytes| {
                black_box(bytes);
            })
        });
    });
    group.bench_function("tungstenite", |b| {
        b.iter(|| {
            tung_io.rewind();
            tung_encode(&mut tung, &payloads);
        });
    });
    group.bench_function("fastwebsockets", |b| {
        b.iter(|| {
            fws_io.rewind();
            fws_encode(&mut fws, &payloads);
        });
    });
    if client {
        // Floors for a masked frame built from a borrowed payload: each
        // payload copied into one reused buffer, and copied then masked in
        // place (two passes).
        let mut dst = Vec::with_capacity(size + 14);
        group.bench_function("limit_memcpy", |b| {
            b.iter(|| {
                for p in &payloads {
                    limits::memcpy(p, &mut dst);
                }
            });
        });
        group.bench_function("limit_memcpy_then_xor", |b| {
            b.iter(|| {
                for p in &payloads {
                    limits::memcpy(p, &mut dst);
                    limits::xor(&mut dst, [1, 2, 3, 4]);
                }
            });
        });
    }
    group.finish();
}

fn ws_encode(c: &mut Criterion) {
    for client in [false, true] {
        for (size, label) in SIZES {
            bench_encode_case(c, client, size, label);
        }
    }
}

criterion_group! {
    name = benches;
    config = config();
    targets = ws_decode, ws_encode
}
criterion_main!(benches);
