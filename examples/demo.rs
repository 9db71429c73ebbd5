//! The pushcodec demo: one command shows Server-Sent Events and WebSocket
//! working in a real browser.
//!
//! ```sh
//! cargo run --example demo              # then open http://127.0.0.1:8080/
//! cargo run --example demo -- --port 9000
//! ```
//!
//! A `std::net` server, one thread per connection, no async runtime. Every
//! protocol byte comes from the crate: the WebSocket handshake and
//! [`Connection`], the SSE encoder, history, response head and heartbeats.
//! The example only moves bytes between sockets and those state machines,
//! and routes plain HTTP requests by their request line.
//!
//! - `GET /`: the page (`examples/demo/index.html`).
//! - `GET /events`: an SSE feed with ids, types, `retry` and heartbeats; the
//!   server drops it now and then, and the browser resumes with
//!   `Last-Event-ID` from the server's history.
//! - `GET /ws`: WebSocket echo, a chat between tabs, pings with round-trip
//!   times, close codes.
//! - `POST /tokens`: an LLM-style token stream (`text/event-stream` over a
//!   POST), read in the page with `fetch` and a `ReadableStream`.
//! - `POST /drop`: drops every SSE stream now. `POST /report`: the page's
//!   self-test result (`/?selftest=1`), used by `tests/demo_browser.rs`.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use pushcodec::Utf8Bytes;
use pushcodec::bytes::{Bytes, BytesMut};
use pushcodec::sse::{self, EventRef, Heartbeat, History, Replay};
use pushcodec::ws::{self, CloseCode, Connection, Event, handshake};

const INDEX_HTML: &str = include_str!("demo/index.html");

/// Longest request head the router reads; the WebSocket handshake has its
/// own limits on top.
const MAX_HEAD: usize = 16 * 1024;
/// Longest POST body (prompts and self-test reports).
const MAX_BODY: usize = 64 * 1024;

/// What the demo server does and how often.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time between two feed events.
    pub tick: Duration,
    /// Drop every SSE stream this often (`None`: only on request).
    pub drop_every: Option<Duration>,
    /// The SSE `retry` value sent to browsers, in milliseconds.
    pub retry_ms: u64,
    /// Quiet time on an SSE stream before a heartbeat comment.
    pub heartbeat: Duration,
    /// Time between two WebSocket pings.
    pub ping_every: Duration,
    /// Time between two tokens of the token stream.
    pub token_delay: Duration,
    /// Print a line per connection.
    pub verbose: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tick: Duration::from_millis(1000),
            drop_every: Some(Duration::from_secs(20)),
            retry_ms: 2000,
            heartbeat: Duration::from_millis(1500),
            ping_every: Duration::from_secs(2),
            token_delay: Duration::from_millis(40),
            verbose: true,
        }
    }
}

/// What the server saw, for the browser test and the console.
#[derive(Debug, Default, Clone)]
pub struct Records {
    /// One entry per SSE stream, in the order they opened.
    pub sse: Vec<SseRecord>,
    /// One entry per WebSocket connection, in the order they opened.
    pub ws: Vec<WsRecord>,
    /// The text of each token stream, as sent.
    pub token_streams: Vec<String>,
    /// The page's self-test report (`POST /report`), once it arrived.
    pub report: Option<String>,
}

/// What happened on one SSE stream.
#[derive(Debug, Default, Clone)]
pub struct SseRecord {
    /// The `Last-Event-ID` the browser sent, if any.
    pub last_event_id: Option<String>,
    /// The ids replayed from the history (`None`: not a resume, or the id
    /// was unknown).
    pub replayed: Option<Vec<String>>,
    /// Events sent after the replay.
    pub sent: usize,
    /// Heartbeat comments sent.
    pub heartbeats: usize,
}

/// What happened on one WebSocket connection.
#[derive(Debug, Default, Clone)]
pub struct WsRecord {
    /// Sizes of the text messages received.
    pub text_lens: Vec<usize>,
    /// Sizes of the binary messages received.
    pub binary_lens: Vec<usize>,
    /// Round-trip times of answered pings.
    pub rtts: Vec<Duration>,
    /// The code of the peer's Close (`Some(None)`: a Close without code).
    pub close_received: Option<Option<u16>>,
    /// The code of the Close this server started, if it did.
    pub close_sent: Option<u16>,
    /// The protocol error that ended the connection, if any.
    pub error: Option<String>,
}

/// Messages to a WebSocket connection's thread.
enum WsInput {
    Read(Vec<u8>),
    Eof,
    Chat(Utf8Bytes),
}

/// State shared by every connection thread.
pub struct Demo {
    opts: Options,
    feed: Mutex<Feed>,
    feed_changed: Condvar,
    records: Mutex<Records>,
    records_changed: Condvar,
    ws_peers: Mutex<Vec<(u64, mpsc::Sender<WsInput>)>>,
    next_peer: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking connection thread must not take the whole demo down.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Demo {
    /// A snapshot of what the server saw so far.
    pub fn records(&self) -> Records {
        lock(&self.records).clone()
    }

    /// Waits up to `timeout` for the page's self-test report.
    pub fn wait_report(&self, timeout: Duration) -> Option<String> {
        let guard = lock(&self.records);
        let (guard, _) = self
            .records_changed
            .wait_timeout_while(guard, timeout, |r| r.report.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        guard.report.clone()
    }

    fn log(&self, line: impl std::fmt::Display) {
        if self.opts.verbose {
            println!("{line}");
        }
    }
}

/// Starts the demo on `listener`: an accept thread and the feed thread.
/// Returns the shared state (what the server saw).
pub fn serve(listener: TcpListener, opts: Options) -> Arc<Demo> {
    let demo = Arc::new(Demo {
        opts,
        feed: Mutex::new(Feed {
            history: History::new(512, 256 * 1024),
            produced: 0,
            drops: 0,
        }),
        feed_changed: Condvar::new(),
        records: Mutex::new(Records::default()),
        records_changed: Condvar::new(),
        ws_peers: Mutex::new(Vec::new()),
        next_peer: AtomicU64::new(1),
    });
    let d = Arc::clone(&demo);
    thread::spawn(move || run_feed(&d));
    let d = Arc::clone(&demo);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let d = Arc::clone(&d);
            thread::spawn(move || {
                match handle_connection(&d, stream) {
                    // A closed tab or a dropped stream: nothing to report.
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                        ) => {}
                    Err(e) => d.log(format_args!("connection ended: {e}")),
                    Ok(()) => {}
                }
            });
        }
    });
    demo
}

/// A request head as the router needs it.
struct Head {
    method: String,
    path: String,
    /// The whole head plus any bytes read after it.
    raw: Vec<u8>,
    /// Where the head ends in `raw`.
    len: usize,
}

impl Head {
    /// A header's value, by case-insensitive name (plain HTTP routing only).
    fn header(&self, name: &str) -> Option<&str> {
        let text = std::str::from_utf8(&self.raw[..self.len]).ok()?;
        text.split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

fn read_head(stream: &mut TcpStream) -> io::Result<Option<Head>> {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    let len = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if raw.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        raw.extend_from_slice(&chunk[..n]);
    };
    let line = String::from_utf8_lossy(&raw[..raw.iter().position(|&b| b == b'\r').unwrap_or(0)])
        .into_owned();
    let mut parts = line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default().to_owned();
    Ok(Some(Head {
        method,
        path,
        raw,
        len,
    }))
}

fn read_body(stream: &mut TcpStream, head: &Head) -> io::Result<Vec<u8>> {
    let want: usize = head
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if want > MAX_BODY {
        return Err(io::Error::other("request body too large"));
    }
    let mut body = head.raw[head.len..].to_vec();
    body.truncate(want);
    let mut rest = vec![0u8; want - body.len()];
    stream.read_exact(&mut rest)?;
    body.extend_from_slice(&rest);
    Ok(body)
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

fn handle_connection(demo: &Arc<Demo>, mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let Some(head) = read_head(&mut stream)? else {
        return respond(
            &mut stream,
            "400 Bad Request",
            "text/plain",
            b"bad request head\n",
        );
    };
    match (head.method.as_str(), head.path.as_str()) {
        ("GET", "/" | "/index.html") => respond(
            &mut stream,
            "200 OK",
            "text/html; charset=utf-8",
            INDEX_HTML.as_bytes(),
        ),
        ("GET", "/ws") => serve_ws(demo, stream, &head.raw),
        ("GET", "/events") => serve_events(demo, stream, &head),
        ("POST", "/tokens") => {
            let prompt = read_body(&mut stream, &head)?;
            serve_tokens(demo, stream, &String::from_utf8_lossy(&prompt))
        }
        ("POST", "/drop") => {
            drop_streams(demo);
            respond(&mut stream, "204 No Content", "text/plain", b"")
        }
        ("POST", "/report") => {
            let body = read_body(&mut stream, &head)?;
            let report = String::from_utf8_lossy(&body).into_owned();
            demo.log(format_args!("self-test report:\n{report}"));
            lock(&demo.records).report = Some(report);
            demo.records_changed.notify_all();
            respond(&mut stream, "204 No Content", "text/plain", b"")
        }
        ("GET", "/favicon.ico") => respond(&mut stream, "404 Not Found", "text/plain", b""),
        _ => respond(&mut stream, "404 Not Found", "text/plain", b"not found\n"),
    }
}

// ------------------------------------------------------------------ WebSocket

/// A JSON string literal (for the small JSON messages the page reads).
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn broadcast(demo: &Demo, text: &str) {
    let text = Utf8Bytes::from(text);
    for (_, peer) in lock(&demo.ws_peers).iter() {
        let _ = peer.send(WsInput::Chat(text.clone()));
    }
}

fn serve_ws(demo: &Arc<Demo>, mut stream: TcpStream, raw: &[u8]) -> io::Result<()> {
    // The crate checks the handshake (RFC 6455 §4.2.1) and writes the answer.
    let mut out = Vec::new();
    let (request, used) = match handshake::parse_request(raw, &handshake::Limits::default()) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return Ok(()),
        Err(e) => {
            e.encode_response(&mut out);
            return stream.write_all(&out);
        }
    };
    if let Err(e) = request.accept().encode(&mut out) {
        e.encode_response(&mut out);
        return stream.write_all(&out);
    }
    stream.write_all(&out)?;

    let mut config = ws::Config::default();
    config.max_message_size = 4 << 20;
    config.max_frame_size = 4 << 20;
    let mut conn = Connection::server(config);
    // Starts the crate's timers (keepalive, pong and close deadlines).
    conn.handle_timeout(Instant::now());
    conn.handle_read(&raw[used..]);

    let id = demo.next_peer.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel();
    let mut reader = stream.try_clone()?;
    let reader_tx = tx.clone();
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = reader_tx.send(WsInput::Eof);
                    break;
                }
                Ok(n) => {
                    if reader_tx.send(WsInput::Read(buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let online = {
        let mut peers = lock(&demo.ws_peers);
        peers.push((id, tx));
        peers.len()
    };
    let slot = {
        let mut records = lock(&demo.records);
        records.ws.push(WsRecord::default());
        records.ws.len() - 1
    };
    demo.log(format_args!("ws #{id}: open ({online} online)"));
    let _ = conn.send_text(format!(
        r#"{{"type":"hello","you":"tab #{id}","online":{online}}}"#
    ));

    let result = drive_ws(demo, id, slot, &mut conn, &mut stream, &rx);
    lock(&demo.ws_peers).retain(|(peer, _)| *peer != id);
    let _ = stream.shutdown(Shutdown::Both);
    demo.log(format_args!("ws #{id}: closed"));
    result
}

/// The drive loop: after every input, pass the time, drain `poll_event`
/// and `poll_transmit`; sleep until the next input, the connection's own
/// deadline (`poll_timeout`) or the demo's next RTT ping.
fn drive_ws(
    demo: &Demo,
    id: u64,
    slot: usize,
    conn: &mut Connection,
    stream: &mut TcpStream,
    rx: &mpsc::Receiver<WsInput>,
) -> io::Result<()> {
    let record = |f: &mut dyn FnMut(&mut WsRecord)| {
        if let Some(r) = lock(&demo.records).ws.get_mut(slot) {
            f(r);
        }
    };
    let mut next_ping = Instant::now() + demo.opts.ping_every;
    let mut ping_seq: u64 = 0;
    let mut pings: Vec<(u64, Instant)> = Vec::new();
    loop {
        loop {
            let event = match conn.poll_event() {
                Ok(Some(event)) => event,
                Ok(None) => break,
                Err(e) => {
                    // The Close with the right code is already queued.
                    demo.log(format_args!("ws #{id}: protocol error: {e}"));
                    record(&mut |r| r.error = Some(e.to_string()));
                    break;
                }
            };
            match event {
                Event::Text(text) => {
                    record(&mut |r| r.text_lens.push(text.len()));
                    if let Some(chat) = text.strip_prefix("chat:") {
                        let msg = format!(
                            r#"{{"type":"chat","from":"tab #{id}","text":{}}}"#,
                            json_str(chat)
                        );
                        broadcast(demo, &msg);
                    } else if &*text == "close-me" {
                        if conn
                            .send_close(CloseCode::NORMAL, "server says bye")
                            .is_ok()
                        {
                            record(&mut |r| r.close_sent = Some(1000));
                        }
                    } else {
                        let _ = conn.send_text(text); // echo, without a copy
                    }
                }
                Event::Binary(data) => {
                    record(&mut |r| r.binary_lens.push(data.len()));
                    let _ = conn.send_binary(data);
                }
                Event::Pong(payload) => {
                    let seq = <[u8; 8]>::try_from(&payload[..])
                        .ok()
                        .map(u64::from_be_bytes);
                    if let Some(pos) = pings.iter().position(|(s, _)| Some(*s) == seq) {
                        let rtt = pings.swap_remove(pos).1.elapsed();
                        record(&mut |r| r.rtts.push(rtt));
                        let ms = rtt.as_secs_f64() * 1000.0;
                        let _ = conn.send_text(format!(r#"{{"type":"rtt","ms":{ms:.3}}}"#));
                    }
                }
                Event::Close(frame) => {
                    let code = frame.as_ref().map(|f| f.code.0);
                    demo.log(format_args!("ws #{id}: peer closed with {code:?}"));
                    record(&mut |r| r.close_received = Some(code));
                }
                _ => {}
            }
        }
        while let Some(bytes) = conn.poll_transmit() {
            stream.write_all(&bytes)?;
        }
        if conn.should_close_transport() {
            return Ok(());
        }
        let wake = conn
            .poll_timeout()
            .map_or(next_ping, |at| at.min(next_ping));
        let input = rx.recv_timeout(wake.saturating_duration_since(Instant::now()));
        let now = Instant::now();
        match input {
            Ok(WsInput::Read(bytes)) => conn.handle_read(&bytes),
            Ok(WsInput::Eof) => conn.handle_eof(),
            Ok(WsInput::Chat(text)) => {
                let _ = conn.send_text(text);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
        // The crate's keepalive and deadlines (a peer that stops answering
        // comes out of poll_event as a timeout error).
        conn.handle_timeout(now);
        // The demo's own pings, numbered, to show round-trip times.
        if now >= next_ping {
            next_ping = now + demo.opts.ping_every;
            ping_seq += 1;
            if conn.send_ping(&ping_seq.to_be_bytes()).is_ok() {
                pings.push((ping_seq, now));
                pings.retain(|(_, at)| at.elapsed() < Duration::from_secs(60));
            }
        }
    }
}

// ------------------------------------------------------------ Server-Sent Events

/// The live feed: every event is encoded once into the crate's [`History`],
/// and every stream (first connection, resume, live) is served from it.
struct Feed {
    history: History,
    /// Events produced so far; the newest event's id is `produced`.
    produced: u64,
    /// Bumped to make every open stream end (the "drop" button).
    drops: u64,
}

const HEADLINES: &[&str] = &[
    "pushcodec encodes each event once\nand every client gets the same bytes",
    "EventSource resumes with Last-Event-ID",
    "the history ring is bounded by count and by bytes",
    "heartbeat comments keep idle streams alive\n(EventSource never shows them)",
];

/// The feed thread: an event per tick, with a pause now and then (so
/// heartbeats show), and a drop now and then.
fn run_feed(demo: &Demo) {
    let started = Instant::now();
    let mut last_drop = Instant::now();
    loop {
        {
            let mut feed = lock(&demo.feed);
            feed.produced += 1;
            let n = feed.produced;
            let id = n.to_string();
            let (event_type, data) = if n.is_multiple_of(4) {
                let i = usize::try_from(n / 4).unwrap_or(0) % HEADLINES.len();
                ("news", HEADLINES[i].to_owned())
            } else {
                let t = started.elapsed().as_secs_f64();
                ("tick", format!("tick {n} at +{t:.1} s"))
            };
            // The crate encodes (data lines, id and type fields) and stores it.
            let event = EventRef::new(&data).event_type(event_type).id(&id);
            if let Err(e) = feed.history.push_event(&event) {
                demo.log(format_args!("feed: cannot encode event {id}: {e}"));
            }
            if let Some(every) = demo.opts.drop_every
                && last_drop.elapsed() >= every
            {
                last_drop = Instant::now();
                feed.drops += 1;
            }
        }
        demo.feed_changed.notify_all();
        let n = lock(&demo.feed).produced;
        let pause = if n.is_multiple_of(6) { 3 } else { 1 };
        thread::sleep(demo.opts.tick * pause);
    }
}

fn drop_streams(demo: &Demo) {
    lock(&demo.feed).drops += 1;
    demo.feed_changed.notify_all();
}

/// The ids in encoded events, read back with the crate's decoder (for the
/// record and the page's "resume" note).
fn ids_of<'a>(events: impl IntoIterator<Item = &'a Bytes>) -> Vec<String> {
    let mut decoder = sse::Decoder::new(sse::Limits::default());
    let mut ids = Vec::new();
    for bytes in events {
        decoder.feed(bytes);
        while let Some(item) = decoder.next_item() {
            if let Ok(sse::Item::Event(event)) = item {
                ids.push(event.id().to_owned());
            }
        }
    }
    ids
}

fn serve_events(demo: &Arc<Demo>, mut stream: TcpStream, head: &Head) -> io::Result<()> {
    // The crate reads Last-Event-ID (WHATWG HTML §9.2.4) from the head.
    let request = match sse::parse_request(&head.raw, &sse::RequestLimits::default()) {
        Ok(Some(request)) => request,
        Ok(None) => return respond(&mut stream, "400 Bad Request", "text/plain", b""),
        Err(e) => {
            let status = format!("{} Bad Request", e.status());
            return respond(&mut stream, &status, "text/plain", e.to_string().as_bytes());
        }
    };
    let last_event_id = request.last_event_id.map(|id| id.as_str().to_owned());

    let mut out = BytesMut::new();
    sse::encode_response_head(&mut out);
    sse::encode_retry(demo.opts.retry_ms, &mut out);
    let (mut cursor, drops) = {
        let feed = lock(&demo.feed);
        let newest = feed.produced;
        let cursor = match &last_event_id {
            None => newest,
            Some(id) => match feed.history.replay_after(id) {
                Replay::Events(missed) => {
                    let missed: Vec<Bytes> = missed.cloned().collect();
                    let ids = ids_of(&missed);
                    // A note for the page, without an id: the browser's
                    // last event id stays as it is.
                    let note = format!(
                        r#"{{"lastEventId":{},"replayed":[{}]}}"#,
                        json_str(id),
                        ids.iter()
                            .map(|i| json_str(i))
                            .collect::<Vec<_>>()
                            .join(",")
                    );
                    let _ = EventRef::new(&note).event_type("resume").encode(&mut out);
                    for bytes in &missed {
                        out.extend_from_slice(bytes);
                    }
                    demo.log(format_args!("sse: resume after {id}: replaying {ids:?}"));
                    lock(&demo.records).sse.push(SseRecord {
                        last_event_id: last_event_id.clone(),
                        replayed: Some(ids),
                        ..SseRecord::default()
                    });
                    newest
                }
                _ => {
                    let text = format!("id {id} is no longer in the history: full resync");
                    let _ = EventRef::new(&text).event_type("resync").encode(&mut out);
                    lock(&demo.records).sse.push(SseRecord {
                        last_event_id: last_event_id.clone(),
                        ..SseRecord::default()
                    });
                    newest
                }
            },
        };
        (cursor, feed.drops)
    };
    if last_event_id.is_none() {
        lock(&demo.records).sse.push(SseRecord::default());
    }
    let slot = lock(&demo.records).sse.len() - 1;
    demo.log(format_args!("sse: open, Last-Event-ID {last_event_id:?}"));
    stream.write_all(&out)?;

    let mut heartbeat = Heartbeat::with_interval(Instant::now(), demo.opts.heartbeat);
    loop {
        // New events since the cursor, from the same history, the same bytes.
        let (batch, dropped) = {
            let feed = lock(&demo.feed);
            let wait = heartbeat
                .poll_timeout()
                .saturating_duration_since(Instant::now());
            let (feed, _) = demo
                .feed_changed
                .wait_timeout_while(feed, wait, |f| f.produced == cursor && f.drops == drops)
                .unwrap_or_else(PoisonError::into_inner);
            let batch = match feed.history.replay_after(&cursor.to_string()) {
                Replay::Events(new) => Some(new.cloned().collect::<Vec<_>>()),
                // Fell out of the history (Replay::Unknown): end the
                // stream, the browser reconnects and gets a resync.
                _ => None,
            };
            cursor = feed.produced;
            (batch, feed.drops != drops)
        };
        let Some(batch) = batch else { break };
        let now = Instant::now();
        for bytes in &batch {
            stream.write_all(bytes)?;
        }
        if !batch.is_empty() {
            heartbeat.handle_output(now);
            if let Some(r) = lock(&demo.records).sse.get_mut(slot) {
                r.sent += batch.len();
            }
        }
        if dropped {
            demo.log(format_args!("sse: dropping the stream after id {cursor}"));
            break;
        }
        if heartbeat.handle_timeout(Instant::now()) {
            let mut comment = Vec::new();
            sse::encode_comment("heartbeat", &mut comment);
            stream.write_all(&comment)?;
            if let Some(r) = lock(&demo.records).sse.get_mut(slot) {
                r.heartbeats += 1;
            }
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}

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

fn serve_tokens(demo: &Arc<Demo>, mut stream: TcpStream, prompt: &str) -> io::Result<()> {
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

// ------------------------------------------------------------------------ main

fn main() {
    let mut port: u16 = 8080;
    let mut opts = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage(&format!("{name} needs a number")))
        };
        match arg.as_str() {
            "--port" => {
                port = u16::try_from(value("--port")).unwrap_or_else(|_| usage("bad port"));
            }
            "--tick-ms" => opts.tick = Duration::from_millis(value("--tick-ms").max(10)),
            "--drop-every" => {
                let secs = value("--drop-every");
                opts.drop_every = (secs > 0).then(|| Duration::from_secs(secs));
            }
            "--retry-ms" => opts.retry_ms = value("--retry-ms"),
            "--quiet" => opts.verbose = false,
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| {
        eprintln!("cannot listen on 127.0.0.1:{port}: {e} (try --port N)");
        std::process::exit(1);
    });
    let port = listener.local_addr().map_or(port, |a| a.port());
    let _demo = serve(listener, opts);
    println!("pushcodec demo: open http://127.0.0.1:{port}/ (Ctrl-C stops)");
    loop {
        thread::park();
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("demo: {problem}");
    }
    eprintln!(
        "usage: cargo run --example demo -- [--port N] [--tick-ms MS] [--drop-every SECS, 0: never] [--retry-ms MS] [--quiet]"
    );
    std::process::exit(if problem.is_empty() { 0 } else { 2 });
}
