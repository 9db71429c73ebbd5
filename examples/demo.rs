//! The pushcodec demo: one command shows Server-Sent Events and WebSocket
//! working in a real browser.
//!
//! ```sh
//! cargo run --example demo              # then open http://127.0.0.1:8080/
//! cargo run --example demo -- --port 9000
//! cargo run --example demo --features deflate   # WebSocket compression (RFC 7692)
//! ```
//!
//! A `std::net` server, one thread per connection, no async runtime. Every
//! protocol byte comes from the crate: the WebSocket handshake and
//! `Connection`, the SSE encoder, the `Topic` that replays and then goes
//! live, the response head and heartbeats.
//! The example only moves bytes between sockets and those state machines,
//! and routes plain HTTP requests by their request line.
//!
//! - `GET /`: the page (`examples/demo/index.html`).
//! - `GET /events`: an SSE feed with ids, types, `retry` and heartbeats; the
//!   server drops it now and then, and the browser resumes with
//!   `Last-Event-ID` from the server's topic.
//! - `GET /ws`: WebSocket echo, a chat between tabs on a `Topic` (a tab
//!   that reconnects with `?after=<id>` gets what it missed), pings with
//!   round-trip times, close codes; permessage-deflate with the `deflate`
//!   feature.
//! - `POST /tokens`: an LLM-style token stream (`text/event-stream` over a
//!   POST), read in the page with `fetch` and a `ReadableStream`.
//! - `GET /poll?after=<id>` (short polling) and `GET /poll?after=<id>&wait=1`
//!   (long polling): the feed's events as JSON, from the same topic; with
//!   `/events?race=1` and `/ws?feed=1` they are the page's side-by-side,
//!   whose requests and bytes `GET /race` counts.
//! - `POST /drop`: drops every SSE stream now. `POST /report`: the page's
//!   self-test result (`/?selftest=1`), used by `tests/demo_browser.rs`.
//!
//! This file holds the server and the router; `demo/websocket.rs`,
//! `demo/feed.rs`, `demo/tokens.rs` and `demo/race.rs` (the polls and the
//! side-by-side's counters) the endpoints.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

#[path = "demo/feed.rs"]
mod feed;
#[path = "demo/race.rs"]
pub mod race;
#[path = "demo/tokens.rs"]
mod tokens;
#[path = "demo/websocket.rs"]
mod websocket;

use feed::Feed;
use pushcodec::topic::{Seq, Topic};
use pushcodec::ws::PreparedMessage;

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

/// State shared by every connection thread.
pub struct Demo {
    opts: Options,
    feed: Mutex<Feed>,
    feed_changed: Condvar,
    records: Mutex<Records>,
    records_changed: Condvar,
    chat: Mutex<Topic<Seq, PreparedMessage>>,
    /// Open tabs, woken when the chat has something new.
    ws_peers: Mutex<Vec<websocket::Peer>>,
    next_peer: AtomicU64,
    race: Mutex<race::Race>,
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

    /// What the side-by-side's four ways cost so far.
    pub fn race(&self) -> race::Race {
        *lock(&self.race)
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
        feed: Mutex::new(Feed::new()),
        feed_changed: Condvar::new(),
        records: Mutex::new(Records::default()),
        records_changed: Condvar::new(),
        chat: Mutex::new(websocket::chat_topic()),
        ws_peers: Mutex::new(Vec::new()),
        next_peer: AtomicU64::new(1),
        race: Mutex::new(race::Race::default()),
    });
    let d = Arc::clone(&demo);
    thread::spawn(move || feed::run_feed(&d));
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
    /// The request target's query, without its `?`.
    query: String,
    /// The whole head plus any bytes read after it.
    raw: Vec<u8>,
    /// Where the head ends in `raw`.
    len: usize,
}

impl Head {
    /// A query parameter's value, as sent (the page sends numbers and flags).
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    }

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
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Ok(Some(Head {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
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
    respond_counted(stream, status, content_type, body).map(drop)
}

/// [`respond`], returning the bytes written (head and body).
fn respond_counted(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> io::Result<usize> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    Ok(head.len() + body.len())
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
        ("GET", "/ws") => websocket::serve_ws(demo, stream, &head),
        ("GET", "/events") => feed::serve_events(demo, stream, &head),
        ("POST", "/tokens") => {
            let prompt = read_body(&mut stream, &head)?;
            tokens::serve_tokens(demo, stream, &String::from_utf8_lossy(&prompt))
        }
        ("GET", "/poll") => race::serve_poll(demo, stream, &head),
        ("GET", "/race") => race::serve_stats(demo, &mut stream),
        ("POST", "/drop") => {
            feed::drop_streams(demo);
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
