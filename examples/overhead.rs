//! What one message costs on each transport: wire bytes and CPU time per
//! message (produce + consume), for short and long polling, SSE and WebSocket in both
//! directions, at N = 16 B, 125 B, 1 KiB and 64 KiB (issue 9). Also the
//! memory of an idle connection or decoder next to the peers'.
//!
//! ```text
//! cargo run --release --example overhead             # prints the tables
//! cargo run --release --example overhead -- --write  # also benches/overhead.{md,svg}
//! cargo run --example overhead -- --quick            # a smoke run (CI)
//! ```
//!
//! Every transport's output is checked against the message before timing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::hint::black_box;
use std::io::Write as _;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;

use bytes::{Bytes, BytesMut};
use pushcodec::Utf8Bytes;
use pushcodec::sse::{Decoder, EventRef, Item, Limits};
use pushcodec::ws::{Config, Connection, Event};

/// Counts live heap bytes, for the memory table.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to `System`, only counting sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

const SIZES: [usize; 4] = [16, 125, 1024, 64 * 1024];

/// JSON-like text of exactly `len` bytes (no line breaks).
fn text(len: usize) -> String {
    const PATTERN: &str =
        "{\"id\":4711,\"user\":\"Jürgen\",\"msg\":\"ça va? ok\",\"t\":\"größe\"} ";
    let mut s = String::with_capacity(len);
    'fill: loop {
        for c in PATTERN.chars() {
            if s.len() + c.len_utf8() > len {
                break 'fill;
            }
            s.push(c);
        }
    }
    while s.len() < len {
        s.push(' ');
    }
    s
}

/// One transport: sends one message through producer and consumer and
/// returns the wire bytes and what the consumer materialized.
trait Transport {
    fn name(&self) -> &'static str;
    fn one(&mut self, msg: &Utf8Bytes, seq: u64) -> (usize, Bytes);
}

// --- long polling -----------------------------------------------------------

/// A realistic browser poll (`fetch` with cookies) and a JSON response:
/// one request head and one response head per message, both built with
/// `write!` and parsed with httparse, the body copied out.
struct LongPoll {
    req: Vec<u8>,
    resp: Vec<u8>,
}

impl Transport for LongPoll {
    fn name(&self) -> &'static str {
        "long polling (HTTP/1.1)"
    }

    fn one(&mut self, msg: &Utf8Bytes, seq: u64) -> (usize, Bytes) {
        self.round_trip(msg.as_bytes(), seq)
    }
}

/// Short polling: a poll a second for a message every 10 s on average, so
/// each message pays for 9 empty polls (`Content-Length: 0`) beside the
/// one that carries it. The same request and response as long polling.
struct ShortPoll(LongPoll);

/// Empty polls per message at the stated rates (1 s polls, a message per 10 s).
const EMPTY_POLLS_PER_MESSAGE: u64 = 9;

impl Transport for ShortPoll {
    fn name(&self) -> &'static str {
        "short polling (1 s polls, a message per 10 s)"
    }

    fn one(&mut self, msg: &Utf8Bytes, seq: u64) -> (usize, Bytes) {
        let mut wire = 0;
        for poll in 0..EMPTY_POLLS_PER_MESSAGE {
            let (bytes, body) = self.0.round_trip(b"", seq * 10 + poll);
            assert!(body.is_empty());
            wire += bytes;
        }
        let (bytes, body) = self.0.round_trip(msg.as_bytes(), seq * 10 + 9);
        (wire + bytes, body)
    }
}

impl LongPoll {
    /// One request and its response carrying `msg`: the wire bytes and the
    /// body as the client took it.
    fn round_trip(&mut self, msg: &[u8], seq: u64) -> (usize, Bytes) {
        // Client builds its request.
        self.req.clear();
        let _ = write!(
            self.req,
            "GET /api/poll?cursor={seq} HTTP/1.1\r\nHost: app.example.com\r\n\
             User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n\
             Accept: application/json\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n\
             Accept-Language: en-US,en;q=0.9\r\nReferer: https://app.example.com/chat\r\n\
             Cookie: session=9f8e7d6c5b4a39281706f5e4d3c2b1a0\r\nConnection: keep-alive\r\n\r\n"
        );
        // Server parses it and finds the cursor.
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        let status = req.parse(&self.req).expect("valid request");
        assert!(status.is_complete());
        let path = req.path.unwrap_or("");
        let cursor: u64 = path
            .rsplit('=')
            .next()
            .and_then(|c| c.parse().ok())
            .expect("cursor");
        black_box(cursor);
        // Server builds its response.
        self.resp.clear();
        let _ = write!(
            self.resp,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Cache-Control: no-store\r\nDate: Wed, 25 Nov 2026 17:00:00 GMT\r\n\
             Connection: keep-alive\r\n\r\n",
            msg.len()
        );
        self.resp.extend_from_slice(msg);
        // Client parses it and takes the body.
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        let httparse::Status::Complete(head) = resp.parse(&self.resp).expect("valid response")
        else {
            panic!("incomplete response");
        };
        let len: usize = resp
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .and_then(|h| std::str::from_utf8(h.value).ok()?.parse().ok())
            .expect("content-length");
        let body = &self.resp[head..head + len];
        // Text is validated, as every transport's is.
        let body = Utf8Bytes::try_from(Bytes::copy_from_slice(body)).expect("utf-8");
        (self.req.len() + self.resp.len(), body.into_bytes())
    }
}

// --- SSE -------------------------------------------------------------------

/// One `data:` event per message (no id or type), encoded by the server
/// and decoded by the client.
struct Sse {
    buf: BytesMut,
    decoder: Decoder,
}

impl Transport for Sse {
    fn name(&self) -> &'static str {
        "SSE"
    }

    fn one(&mut self, msg: &Utf8Bytes, _seq: u64) -> (usize, Bytes) {
        EventRef::new(msg.as_str())
            .encode(&mut self.buf)
            .expect("valid event");
        let wire = self.buf.split().freeze();
        match self.decoder.feed(&wire).next() {
            Some(Ok(Item::Event(ev))) => (wire.len(), ev.into_data().into_bytes()),
            other => panic!("unexpected {other:?}"),
        }
    }
}

// --- WebSocket -------------------------------------------------------------

struct WebSocket {
    name: &'static str,
    sender: Connection,
    receiver: Connection,
}

impl WebSocket {
    fn server_to_client() -> Self {
        WebSocket {
            name: "WebSocket server → client",
            sender: Connection::server(Config::default()),
            receiver: Connection::client(Config::default()),
        }
    }

    fn client_to_server() -> Self {
        WebSocket {
            name: "WebSocket client → server (masked)",
            sender: Connection::client(Config::default()),
            receiver: Connection::server(Config::default()),
        }
    }
}

impl Transport for WebSocket {
    fn name(&self) -> &'static str {
        self.name
    }

    fn one(&mut self, msg: &Utf8Bytes, _seq: u64) -> (usize, Bytes) {
        self.sender.send_text(msg.clone()).expect("open");
        let mut wire = 0;
        // The zero-copy pair: the sender's borrowed output is written into
        // the receiver's buffer, as one socket write and one socket read.
        loop {
            let pending = self.sender.pending_transmit();
            if pending.is_empty() {
                break;
            }
            let n = pending.len();
            wire += n;
            self.receiver.read_buf().extend_from_slice(pending);
            self.sender.advance_transmit(n);
        }
        match self.receiver.poll_event().expect("valid frames") {
            Some(Event::Text(t)) => (wire, t.into_bytes()),
            other => panic!("unexpected {other:?}"),
        }
    }
}

// --- measuring -------------------------------------------------------------

struct Row {
    name: &'static str,
    /// (N, wire bytes per message, ns per message)
    points: Vec<(usize, usize, f64)>,
}

fn measure(t: &mut dyn Transport, quick: bool) -> Row {
    let mut points = Vec::new();
    for n in SIZES {
        let msg = Utf8Bytes::from(text(n));
        // Check before timing.
        let (wire, got) = t.one(&msg, 1);
        assert_eq!(&got[..], msg.as_bytes(), "{}: N = {n}", t.name());
        // Enough messages for ~20 ms per run; the best of 7 runs.
        let per_run = if quick {
            4
        } else {
            (2_000_000 / (n + 200)).max(50)
        };
        let runs = if quick { 1 } else { 7 };
        let mut best = Duration::MAX;
        for _ in 0..runs {
            let start = Instant::now();
            for seq in 0..per_run as u64 {
                black_box(t.one(&msg, seq));
            }
            best = best.min(start.elapsed());
        }
        let ns = best.as_nanos() as f64 / per_run as f64;
        points.push((n, wire, ns));
    }
    Row {
        name: t.name(),
        points,
    }
}

fn size_label(n: usize) -> String {
    if n >= 1024 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} B")
    }
}

fn overhead_table(rows: &[Row]) -> String {
    let mut s = String::from("| transport |");
    for n in SIZES {
        let _ = write!(s, " {} |", size_label(n));
    }
    s.push_str("\n|---|");
    for _ in SIZES {
        s.push_str("---|");
    }
    s.push('\n');
    for row in rows {
        let _ = write!(s, "| {} |", row.name);
        for &(n, wire, ns) in &row.points {
            let _ = write!(s, " {wire} B (+{}), {} |", wire - n, fmt_ns(ns));
        }
        s.push('\n');
    }
    s
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 10_000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

// --- memory ----------------------------------------------------------------

/// size_of plus the heap a value keeps while idle: just built, and again
/// after it carried one 1 KiB message and went back to idle.
struct Mem {
    what: &'static str,
    size: usize,
    heap_new: isize,
    heap_after: isize,
}

fn memory() -> Vec<Mem> {
    let mut out = Vec::new();
    let msg = Utf8Bytes::from(text(1024));
    let mut wire = Vec::new();
    pushcodec::ws::encode_frame(
        pushcodec::ws::OpCode::Text,
        true,
        msg.as_bytes(),
        Some([1, 2, 3, 4]),
        &mut wire,
    );

    // pushcodec server connection.
    let base = live();
    let mut conn = Connection::server(Config::default());
    let heap_new = live() - base;
    conn.handle_read(&wire);
    let ev = conn.poll_event().expect("valid");
    assert!(matches!(ev, Some(Event::Text(_))));
    drop(ev);
    assert!(conn.poll_event().expect("valid").is_none());
    out.push(Mem {
        what: "pushcodec `ws::Connection` (server)",
        size: std::mem::size_of::<Connection>(),
        heap_new,
        heap_after: live() - base,
    });
    drop(conn);

    // tungstenite over a stream that holds nothing.
    let base = live();
    let mut ws = tungstenite::WebSocket::from_raw_socket(
        Replay::new(wire.clone()),
        tungstenite::protocol::Role::Server,
        None,
    );
    let stream_heap = wire.len() as isize;
    let heap_new = live() - base - stream_heap;
    let m = ws.read().expect("valid");
    assert!(m.is_text());
    drop(m);
    ws.get_mut().data = Vec::new();
    out.push(Mem {
        what: "tungstenite `WebSocket<S>` (server; S excluded)",
        size: std::mem::size_of::<tungstenite::WebSocket<Replay>>() - std::mem::size_of::<Replay>(),
        heap_new,
        heap_after: live() - base,
    });
    drop(ws);

    // fastwebsockets over the same kind of stream.
    let base = live();
    let ws = fastwebsockets::WebSocket::after_handshake(
        Replay::new(wire.clone()),
        fastwebsockets::Role::Server,
    );
    let mut ws = fastwebsockets::FragmentCollector::new(ws);
    let heap_new = live() - base - stream_heap;
    futures::executor::block_on(async {
        let f = ws.read_frame().await.expect("valid");
        assert_eq!(f.opcode, fastwebsockets::OpCode::Text);
    });
    // The stream still holds the input; the rest is the collector's.
    let after = live() - base - stream_heap;
    out.push(Mem {
        what: "fastwebsockets `FragmentCollector<S>` (server; S excluded)",
        size: std::mem::size_of::<fastwebsockets::FragmentCollector<Replay>>()
            - std::mem::size_of::<Replay>(),
        heap_new,
        heap_after: after,
    });
    drop(ws);

    // SSE decoders.
    let mut event = Vec::new();
    EventRef::new(msg.as_str())
        .id("42")
        .encode(&mut event)
        .expect("valid event");
    let base = live();
    let mut dec = Decoder::new(Limits::default());
    let heap_new = live() - base;
    let ev = dec.feed(&event).next();
    assert!(matches!(ev, Some(Ok(Item::Event(_)))));
    drop(ev);
    out.push(Mem {
        what: "pushcodec `sse::Decoder` (keeps last id \"42\")",
        size: std::mem::size_of::<Decoder>(),
        heap_new,
        heap_after: live() - base,
    });
    drop(dec);

    type Chunks =
        futures::stream::Iter<std::vec::IntoIter<Result<Bytes, std::convert::Infallible>>>;
    let chunks = || -> Chunks { futures::stream::iter(vec![Ok(Bytes::from(event.clone()))]) };
    let base = live();
    let mut es = eventsource_stream::EventStream::new(chunks());
    let heap_new = live() - base - event.len() as isize;
    futures::executor::block_on(async {
        let e = es.next().await.expect("event").expect("valid");
        assert_eq!(e.data.len(), 1024);
    });
    out.push(Mem {
        what: "eventsource-stream `EventStream<S>` (S excluded)",
        size: std::mem::size_of::<eventsource_stream::EventStream<Chunks>>()
            - std::mem::size_of::<Chunks>(),
        heap_new,
        heap_after: live() - base,
    });
    drop(es);

    let base = live();
    let mut ss = sse_stream::SseByteStream::new(chunks());
    let heap_new = live() - base - event.len() as isize;
    futures::executor::block_on(async {
        let e = ss.next().await.expect("event").expect("valid");
        assert_eq!(e.data.map(|d| d.len()), Some(1024));
    });
    out.push(Mem {
        what: "sse-stream `SseByteStream<S>` (S excluded)",
        size: std::mem::size_of::<sse_stream::SseByteStream<Chunks>>()
            - std::mem::size_of::<Chunks>(),
        heap_new,
        heap_after: live() - base,
    });
    drop(ss);
    out
}

/// A stream that replays `data` once (sync and async), writes discarded.
struct Replay {
    data: Vec<u8>,
    pos: usize,
}

impl Replay {
    fn new(data: Vec<u8>) -> Self {
        Replay { data, pos: 0 }
    }
    fn take(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.data.len().saturating_sub(self.pos));
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        n
    }
}

impl std::io::Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.take(buf) {
            0 => Err(std::io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }
}

impl std::io::Write for Replay {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Replay {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let n = self.take(buf.initialize_unfilled());
        buf.advance(n);
        std::task::Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Replay {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

fn memory_table(mem: &[Mem]) -> String {
    let mut s = String::from(
        "| idle value | size_of | heap, new | heap, idle after one 1 KiB message |\n|---|---|---|---|\n",
    );
    for m in mem {
        let _ = writeln!(
            s,
            "| {} | {} B | {} B | {} B |",
            m.what, m.size, m.heap_new, m.heap_after
        );
    }
    s
}

// --- chart -----------------------------------------------------------------

/// Which value of a point a chart panel plots.
type Metric = fn(&(usize, usize, f64)) -> f64;

const COLORS: [&str; 5] = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"];

/// Three log-log panels against N: wire bytes, overhead bytes and CPU ns
/// per message.
fn svg(rows: &[Row], machine: &str) -> String {
    let (w, h, pad_l, pad_r, pad_t, pad_b) = (420.0, 300.0, 60.0, 30.0, 30.0, 45.0);
    let legend_h = 22.0 * rows.len() as f64 + 10.0;
    let total_w = 3.0 * w;
    let total_h = h + legend_h + 20.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{total_h}" viewBox="0 0 {total_w} {total_h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let panels: [(&str, Metric); 3] = [
        ("wire bytes per message", |p| p.1 as f64),
        ("overhead bytes per message (wire - N)", |p| {
            (p.1 - p.0) as f64
        }),
        ("CPU ns per message (produce + consume)", |p| p.2),
    ];
    let (x_lo, x_hi) = (
        (SIZES[0] as f64).log10(),
        (SIZES[SIZES.len() - 1] as f64).log10(),
    );
    for (i, (title, value)) in panels.iter().enumerate() {
        let ox = i as f64 * w;
        let vals: Vec<f64> = rows
            .iter()
            .flat_map(|r| r.points.iter().map(value))
            .collect();
        let lo = vals
            .iter()
            .copied()
            .fold(f64::MAX, f64::min)
            .max(1.0)
            .log10()
            .floor();
        let hi = vals
            .iter()
            .copied()
            .fold(0.0, f64::max)
            .log10()
            .ceil()
            .max(lo + 1.0);
        let px = |x: f64| ox + pad_l + (x.log10() - x_lo) / (x_hi - x_lo) * (w - pad_l - pad_r);
        let py = |y: f64| pad_t + (hi - y.max(1.0).log10()) / (hi - lo) * (h - pad_t - pad_b);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="18" text-anchor="middle" font-size="13">{title}</text>"#,
            ox + w / 2.0
        );
        // Grid and y labels at each power of ten.
        let mut e = lo;
        while e <= hi {
            let y = py(10f64.powf(e));
            let _ = writeln!(
                s,
                r##"<line x1="{}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                ox + pad_l,
                ox + w - pad_r,
                ox + pad_l - 5.0,
                y + 4.0,
                human(10f64.powf(e))
            );
            e += 1.0;
        }
        for n in SIZES {
            let x = px(n as f64);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{pad_t}" x2="{x:.1}" y2="{}" stroke="#eee"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
                h - pad_b,
                h - pad_b + 15.0,
                size_label(n)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">message size N (log)</text>"#,
            ox + pad_l + (w - pad_l - pad_r) / 2.0,
            h - 8.0
        );
        for (r, row) in rows.iter().enumerate() {
            let pts: Vec<String> = row
                .points
                .iter()
                .map(|p| format!("{:.1},{:.1}", px(p.0 as f64), py(value(p))))
                .collect();
            let color = COLORS[r % COLORS.len()];
            let _ = writeln!(
                s,
                r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
                pts.join(" ")
            );
            for p in &pts {
                let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
                let _ = writeln!(s, r#"<circle cx="{x}" cy="{y}" r="3" fill="{color}"/>"#);
            }
        }
    }
    for (r, row) in rows.iter().enumerate() {
        let y = h + 10.0 + 22.0 * r as f64;
        let color = COLORS[r % COLORS.len()];
        let _ = writeln!(
            s,
            r#"<line x1="{pad_l}" y1="{y}" x2="{}" y2="{y}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            pad_l + 25.0,
            pad_l + 32.0,
            y + 4.0,
            row.name
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" text-anchor="end" fill="#666">{}</text>"##,
        total_w - 10.0,
        total_h - 8.0,
        escape(machine)
    );
    s.push_str("</svg>\n");
    s
}

fn human(v: f64) -> String {
    match v {
        v if v >= 1e6 => format!("{}M", v / 1e6),
        v if v >= 1e3 => format!("{}k", v / 1e3),
        v => format!("{v}"),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "rustc ?".into(), |s| s.trim().to_string());
    format!("{model}, {cores} cores, {rustc}")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let write = args.iter().any(|a| a == "--write");
    let mut transports: Vec<Box<dyn Transport>> = vec![
        Box::new(ShortPoll(LongPoll {
            req: Vec::new(),
            resp: Vec::new(),
        })),
        Box::new(LongPoll {
            req: Vec::new(),
            resp: Vec::new(),
        }),
        Box::new(Sse {
            buf: BytesMut::new(),
            decoder: Decoder::new(Limits::default()),
        }),
        Box::new(WebSocket::server_to_client()),
        Box::new(WebSocket::client_to_server()),
    ];
    let rows: Vec<Row> = transports
        .iter_mut()
        .map(|t| measure(t.as_mut(), quick))
        .collect();
    let machine = machine();
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Per-message overhead: wire bytes per message (+ overhead over N) and CPU time per message, producer and consumer together, best of 7 runs. Machine: {machine}.\n"
    );
    md.push_str(&overhead_table(&rows));
    md.push_str("\nMemory of an idle connection or decoder (size_of plus heap held):\n\n");
    md.push_str(&memory_table(&memory()));
    print!("{md}");
    if write {
        std::fs::create_dir_all("benches").expect("create benches/");
        std::fs::write("benches/overhead.md", &md).expect("write benches/overhead.md");
        std::fs::write("benches/overhead.svg", svg(&rows, &machine))
            .expect("write benches/overhead.svg");
        eprintln!("wrote benches/overhead.md and benches/overhead.svg");
    }
    let _ = std::io::stdout().flush();
}
