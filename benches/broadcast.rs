//! Broadcast one message to 10,000 connections' outbound queues (issue 8):
//! encode once and queue shared bytes (pushcodec) against the
//! per-connection encode a tungstenite user must do, in the same group.
//!
//! Contract for every row: one message (text of 125 B or 4 KiB) reaches
//! the outbound queue of each of 10,000 server connections, and each
//! connection's queue is then drained the way its library hands bytes to
//! a socket (`poll_transmit` / `flush` into a sink that discards them).
//! The connections are built before timing and reused; every row's wire
//! bytes are checked against the expected frame or event before timing.
//!
//! Rows, WebSocket (`broadcast_ws/<size>`):
//! - `pushcodec_prepared`: `PreparedMessage::text` once, `send_prepared` on
//!   each connection, drain `poll_transmit`.
//! - `pushcodec_send_text`: `send_text` on each connection (per-connection
//!   encode in pushcodec, for reference).
//! - `tungstenite_frame`: `Frame::message(..).format(..)` into each
//!   connection's write buffer: the encode alone, a lower bound on what a
//!   tungstenite user pays per connection.
//! - `tungstenite_websocket`: `WebSocket::write(msg.clone())` + `flush()`
//!   on each of 10,000 `WebSocket`s over an in-memory sink: what a
//!   tungstenite broadcast loop does.
//!
//! Rows, SSE (`broadcast_sse/<size>`):
//! - `pushcodec_prepared`: `PreparedEvent::new` once, `Outbound::push_event`
//!   on each queue, drain `poll_transmit`.
//! - `encode_per_connection_queued`: `PreparedEvent::new` for each
//!   connection, then the same queue: the per-connection encode alone is
//!   the difference.
//! - `encode_per_connection`: `encode_event` into each connection's
//!   reused write buffer, no queue: a lower bound for a server without
//!   shared encoded events.
//!
//! Run: `cargo bench --bench broadcast` (one group: `-- broadcast_ws/125B`).

mod common;

use std::hint::black_box;
use std::io::{self, Read, Write};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pushcodec::sse::{self, EventRef, Outbound, PreparedEvent, Push};
use pushcodec::ws::{Config, Connection, PreparedMessage, Utf8Bytes};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::{Role, WebSocket, WebSocketConfig};

const CONNECTIONS: usize = 10_000;
const SIZES: [(usize, &str); 2] = [(125, "125B"), (4096, "4KiB")];

/// A transport that accepts every write and has nothing to read; it can
/// keep what it was given, for the output check.
#[derive(Default)]
struct Sink {
    written: u64,
    capture: Option<Vec<u8>>,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += buf.len() as u64;
        if let Some(c) = &mut self.capture {
            c.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Sink {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

fn text_of(len: usize) -> String {
    "The quick brown fox jumps over the lazy dog. "
        .chars()
        .cycle()
        .take(len)
        .collect()
}

/// RFC 6455 §5.2: an unmasked FIN text frame.
fn expected_ws_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x81];
    if payload.len() < 126 {
        f.push(u8::try_from(payload.len()).unwrap());
    } else {
        f.push(126);
        f.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_be_bytes());
    }
    f.extend_from_slice(payload);
    f
}

fn tungstenite_sockets(n: usize) -> Vec<WebSocket<Sink>> {
    // Small read buffers: nothing is read here, and 10,000 default 128 KiB
    // buffers would only measure the allocator.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    (0..n)
        .map(|_| WebSocket::from_raw_socket(Sink::default(), Role::Server, Some(config)))
        .collect()
}

/// pushcodec: one prepared frame, queued on every connection, drained.
fn ws_prepared(conns: &mut [Connection], text: &Utf8Bytes) -> u64 {
    common::send_prepared_to_all(conns, &PreparedMessage::text(text.clone()))
}

/// pushcodec, encoding per connection.
fn ws_send_text(conns: &mut [Connection], text: &Utf8Bytes) -> u64 {
    let mut written = 0;
    for conn in conns.iter_mut() {
        conn.send_text(text.clone()).expect("not backpressured");
        while let Some(bytes) = conn.poll_transmit() {
            written += black_box(bytes).len() as u64;
        }
    }
    written
}

/// tungstenite's frame encode into each connection's write buffer.
fn tungstenite_frame(buffers: &mut [Vec<u8>], msg: &tungstenite::Message) -> u64 {
    let mut written = 0;
    for buf in buffers.iter_mut() {
        let frame = Frame::message(msg.clone().into_data(), OpCode::Data(Data::Text), true);
        frame.format(buf).expect("write to Vec");
        written += black_box(&buf).len() as u64;
        buf.clear();
    }
    written
}

/// tungstenite's `WebSocket`: write + flush on each connection.
fn tungstenite_websocket(sockets: &mut [WebSocket<Sink>], msg: &tungstenite::Message) -> u64 {
    for ws in sockets.iter_mut() {
        ws.write(msg.clone()).expect("write");
        ws.flush().expect("flush");
    }
    sockets.iter().map(|ws| ws.get_ref().written).sum()
}

fn check_ws(text: &str) {
    let expected = expected_ws_frame(text.as_bytes());
    let utf8 = Utf8Bytes::from(text);
    let mut conns: Vec<_> = (0..3)
        .map(|_| Connection::server(Config::default()))
        .collect();
    let message = PreparedMessage::text(utf8.clone());
    for conn in &mut conns {
        conn.send_prepared(&message).unwrap();
        let wire: Vec<u8> = std::iter::from_fn(|| conn.poll_transmit())
            .flatten()
            .collect();
        assert_eq!(wire, expected, "pushcodec_prepared");
        conn.send_text(utf8.clone()).unwrap();
        let wire: Vec<u8> = std::iter::from_fn(|| conn.poll_transmit())
            .flatten()
            .collect();
        assert_eq!(wire, expected, "pushcodec_send_text");
    }
    let msg = tungstenite::Message::text(text.to_owned());
    let mut buf = Vec::new();
    Frame::message(msg.clone().into_data(), OpCode::Data(Data::Text), true)
        .format(&mut buf)
        .unwrap();
    assert_eq!(buf, expected, "tungstenite_frame");
    let mut sockets = tungstenite_sockets(2);
    for ws in &mut sockets {
        ws.get_mut().capture = Some(Vec::new());
        ws.write(msg.clone()).unwrap();
        ws.flush().unwrap();
        assert_eq!(
            ws.get_ref().capture.as_deref(),
            Some(&expected[..]),
            "tungstenite_websocket"
        );
    }
    // The counters the rows return agree with the frame size.
    let n = expected.len() as u64;
    let mut conns: Vec<_> = (0..4)
        .map(|_| Connection::server(Config::default()))
        .collect();
    assert_eq!(ws_prepared(&mut conns, &utf8), 4 * n);
    assert_eq!(ws_send_text(&mut conns, &utf8), 4 * n);
    assert_eq!(tungstenite_frame(&mut vec![Vec::new(); 4], &msg), 4 * n);
    assert_eq!(
        tungstenite_websocket(&mut tungstenite_sockets(4), &msg),
        4 * n
    );
}

fn bench_ws(c: &mut Criterion) {
    for (len, name) in SIZES {
        let text = text_of(len);
        check_ws(&text);
        let utf8 = Utf8Bytes::from(text.as_str());
        let msg = tungstenite::Message::text(text.clone());
        let mut group = c.benchmark_group(format!("broadcast_ws/{name}"));
        group.throughput(Throughput::Elements(CONNECTIONS as u64));
        group.sample_size(20);

        let mut conns: Vec<_> = (0..CONNECTIONS)
            .map(|_| Connection::server(Config::default()))
            .collect();
        group.bench_function("pushcodec_prepared", |b| {
            b.iter(|| ws_prepared(&mut conns, &utf8));
        });
        group.bench_function("pushcodec_send_text", |b| {
            b.iter(|| ws_send_text(&mut conns, &utf8));
        });
        drop(conns);

        let mut buffers = vec![Vec::new(); CONNECTIONS];
        group.bench_function("tungstenite_frame", |b| {
            b.iter(|| tungstenite_frame(&mut buffers, &msg));
        });
        drop(buffers);

        let mut sockets = tungstenite_sockets(CONNECTIONS);
        group.bench_function("tungstenite_websocket", |b| {
            b.iter(|| tungstenite_websocket(&mut sockets, &msg));
        });
        group.finish();
    }
}

/// pushcodec: one encoded event, pushed on every queue, drained.
fn sse_prepared(queues: &mut [Outbound], event: &EventRef<'_>) -> u64 {
    let prepared = PreparedEvent::new(event).expect("valid event");
    let mut written = 0;
    for q in queues.iter_mut() {
        if !matches!(q.push_event(&prepared), Push::Queued) {
            panic!("queue over its mark");
        }
        while let Some(bytes) = q.poll_transmit() {
            written += black_box(bytes).len() as u64;
        }
    }
    written
}

/// Encoding the event for each connection, queued the same way.
fn sse_per_connection_queued(queues: &mut [Outbound], event: &EventRef<'_>) -> u64 {
    let mut written = 0;
    for q in queues.iter_mut() {
        let prepared = PreparedEvent::new(event).expect("valid event");
        if !matches!(q.push_event(&prepared), Push::Queued) {
            panic!("queue over its mark");
        }
        while let Some(bytes) = q.poll_transmit() {
            written += black_box(bytes).len() as u64;
        }
    }
    written
}

/// Encoding the event into each connection's write buffer.
fn sse_per_connection(buffers: &mut [Vec<u8>], event: &EventRef<'_>) -> u64 {
    let mut written = 0;
    for buf in buffers.iter_mut() {
        sse::encode_event(event, buf).expect("valid event");
        written += black_box(&buf).len() as u64;
        buf.clear();
    }
    written
}

fn check_sse(event: &EventRef<'_>, data: &str) {
    let expected = [
        b"id: 12345\nevent: update\ndata: ",
        data.as_bytes(),
        b"\n\n",
    ]
    .concat();
    let mut queues: Vec<_> = (0..3).map(|_| outbound()).collect();
    let prepared = PreparedEvent::new(event).unwrap();
    for q in &mut queues {
        assert_eq!(q.push_event(&prepared), Push::Queued);
        assert_eq!(q.poll_transmit(), Some(Bytes::from(expected.clone())));
        assert_eq!(q.poll_transmit(), None);
    }
    let mut buf = Vec::new();
    sse::encode_event(event, &mut buf).unwrap();
    assert_eq!(buf, expected, "encode_per_connection");
    let n = expected.len() as u64;
    assert_eq!(sse_prepared(&mut queues, event), 3 * n);
    assert_eq!(sse_per_connection_queued(&mut queues, event), 3 * n);
    assert_eq!(sse_per_connection(&mut vec![Vec::new(); 3], event), 3 * n);
}

fn outbound() -> Outbound {
    Outbound::new(64 * 1024, sse::SlowConsumer::Resume)
}

fn bench_sse(c: &mut Criterion) {
    for (len, name) in SIZES {
        // Single-line data, so the wire event is exactly the row's size
        // plus its fields.
        let data = text_of(len);
        let event = EventRef::new(&data).event_type("update").id("12345");
        check_sse(&event, &data);
        let mut group = c.benchmark_group(format!("broadcast_sse/{name}"));
        group.throughput(Throughput::Elements(CONNECTIONS as u64));
        group.sample_size(20);

        let mut queues: Vec<_> = (0..CONNECTIONS).map(|_| outbound()).collect();
        group.bench_function("pushcodec_prepared", |b| {
            b.iter(|| sse_prepared(&mut queues, &event));
        });
        group.bench_function("encode_per_connection_queued", |b| {
            b.iter(|| sse_per_connection_queued(&mut queues, &event));
        });
        drop(queues);

        let mut buffers = vec![Vec::new(); CONNECTIONS];
        group.bench_function("encode_per_connection", |b| {
            b.iter(|| sse_per_connection(&mut buffers, &event));
        });
        group.finish();
    }
}

criterion_group!(benches, bench_ws, bench_sse);
criterion_main!(benches);
