//! End to end over loopback TCP (issue 19), same run, same clients, same
//! machine:
//!
//! 1. echo round trips per second and p99 latency through the tokio driver
//!    (`pushcodec::tokio`, spawned with its two channels, and `direct` in
//!    the connection's own task) beside tokio-tungstenite, fastwebsockets
//!    and tokio-websockets servers, 16 B and 64 KiB, 1, 100 and 1,000
//!    clients;
//! 2. the server's resident memory per idle connection at 10,000
//!    connections;
//! 3. SSE fan-out to 1,000 subscribers: pushcodec's `Feed` body beside
//!    axum's `Sse`, both served by axum over HTTP/1.1.
//!
//! ```text
//! cargo bench --bench e2e --features tokio        # 7 rounds of 500 ms a row, 10,000 idle
//! cargo test --bench e2e --features tokio          # quick mode: 200 ms a row, 200 (CI)
//! ```
//!
//! Every WebSocket server does the same upgrade (our `handshake::parse_request`
//! and `accept().encode`, or the driver's `Acceptor`, which is the same code)
//! and then wraps the stream, so only the frame path differs. Each server runs
//! on its own thread with a current-thread tokio runtime; the clients
//! (tokio-tungstenite, for every server) on another. Each client sends one
//! binary message, waits for its echo, and repeats until the row's time is
//! up. Loopback only, bounded in time, no timing asserted. On a two-core
//! machine the clients share the cores with the server, so the figures are
//! the pair's, not the server's alone; the same holds for every server.

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use pushcodec::sse::EventRef;
use pushcodec::tokio::{Acceptor, Feed};
use pushcodec::ws::handshake::{self, Limits};
use pushcodec::ws::{Config, Event};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

#[path = "../tests/common/tokio_peer.rs"]
#[allow(
    dead_code,
    reason = "the bench uses only the handshake and the peer client"
)]
mod tokio_peer;
use tokio_peer::peer_client;

/// Set in the environment of a child process that runs one server for the
/// memory rows (its value names the server).
const CHILD_ENV: &str = "PUSHCODEC_E2E_RSS_SERVER";

/// File descriptors the process needs besides its sockets (stdio, the
/// runtimes' epoll and event fds, the listeners, the binary's own).
const SPARE_FDS: usize = 64;

fn main() {
    if let Ok(kind) = std::env::var(CHILD_ENV) {
        rss_child(&kind);
        return;
    }
    // `cargo bench` passes --bench; `cargo test --benches` does not.
    let quick = !std::env::args().any(|a| a == "--bench");
    // Rounds with the servers taken in turn, the median reported: a
    // shared machine's slow spell then lands on one round of every server,
    // not on all the rounds of one.
    let (rounds, row_time) = if quick {
        (1, Duration::from_millis(200))
    } else {
        (7, Duration::from_millis(500))
    };
    let fd_limit = open_file_limit();
    let clients = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let ignored = Arc::new(AtomicUsize::new(0));
    let servers: Vec<_> = Server::ECHO
        .iter()
        .map(|&kind| (kind.name(), start(kind, ignored.clone())))
        .collect();
    println!(
        "| server | message | clients | round trips/s | p99 latency | server CPU per round trip |"
    );
    println!("|---|---|---|---|---|---|");
    for size in [16usize, 64 * 1024] {
        let label = if size < 1024 {
            format!("{size} B")
        } else {
            format!("{} KiB", size / 1024)
        };
        for n in [1usize, 100, 1000] {
            // Both ends of every connection are in this process.
            let need = 2 * n + SPARE_FDS;
            if let Some(limit) = fd_limit.filter(|&limit| limit < need) {
                for (name, _) in &servers {
                    println!(
                        "| {name} | {label} | {n} | skipped: open-file limit {limit} < {need} | | |"
                    );
                }
                continue;
            }
            let mut results = vec![Vec::new(); servers.len()];
            for _ in 0..rounds {
                for ((_, server), result) in servers.iter().zip(&mut results) {
                    result.push(clients.block_on(run(server, n, size, row_time)));
                }
            }
            for ((name, _), mut result) in servers.iter().zip(results) {
                let rate = median_by(&mut result, |a, b| a.0.total_cmp(&b.0)).0;
                let p99 = median_by(&mut result, |a, b| a.1.cmp(&b.1)).1;
                let cpu = match median_by(&mut result, |a, b| a.2.cmp(&b.2)).2 {
                    Some(per) => format!("{per:.1?}"),
                    None => "n/a".into(),
                };
                println!("| {name} | {label} | {n} | {rate:.0} | {p99:.1?} | {cpu} |");
            }
        }
    }

    let idle = if quick { 200 } else { 10_000 };
    println!();
    println!(
        "| server (own process) | idle connections | VmRSS before | VmRSS after | per connection |"
    );
    println!("|---|---|---|---|---|");
    for kind in Server::RSS {
        // The server's process holds one end of each connection, this one
        // the other.
        let need = idle + SPARE_FDS;
        if let Some(limit) = fd_limit.filter(|&limit| limit < need) {
            println!(
                "| {} | {idle} | skipped: open-file limit {limit} < {need} | | |",
                kind.name()
            );
            continue;
        }
        let (before, after) = rss_row(kind, idle, &clients);
        #[expect(clippy::cast_precision_loss, reason = "kilobytes and a count")]
        let per = (after.saturating_sub(before)) as f64 / idle as f64;
        println!(
            "| {} | {idle} | {before} kB | {after} kB | {per:.1} KiB |",
            kind.name()
        );
    }

    let subscribers = 1000;
    let events = if quick { 20 } else { 1000 };
    println!();
    println!(
        "| SSE server (axum 0.8, HTTP/1.1) | subscribers | events | deliveries/s | last delivery after |"
    );
    println!("|---|---|---|---|---|");
    for kind in [SseServer::Pushcodec, SseServer::Axum] {
        let need = 2 * subscribers + SPARE_FDS;
        if let Some(limit) = fd_limit.filter(|&limit| limit < need) {
            println!(
                "| {} | {subscribers} | {events} | skipped: open-file limit {limit} < {need} | |",
                kind.name()
            );
            continue;
        }
        let (rate, took) = clients.block_on(fan_out(kind, subscribers, events));
        println!(
            "| {} | {subscribers} | {events} | {rate:.0} | {took:.1?} |",
            kind.name()
        );
    }
}

#[derive(Clone, Copy)]
enum Server {
    Pushcodec,
    /// `WebSocket::direct`: the echo in the connection's own task.
    PushcodecDirect,
    Tungstenite,
    Fastwebsockets,
    TokioWebsockets,
    /// The upgrade, then the bare stream parked in a task: the floor under
    /// every server's memory per connection.
    Sink,
}

impl Server {
    const ECHO: [Server; 5] = [
        Server::Pushcodec,
        Server::PushcodecDirect,
        Server::Tungstenite,
        Server::Fastwebsockets,
        Server::TokioWebsockets,
    ];
    const RSS: [Server; 6] = [
        Server::Pushcodec,
        Server::PushcodecDirect,
        Server::Tungstenite,
        Server::Fastwebsockets,
        Server::TokioWebsockets,
        Server::Sink,
    ];

    fn name(self) -> &'static str {
        match self {
            Server::Pushcodec => "pushcodec (tokio driver)",
            Server::PushcodecDirect => "pushcodec (direct)",
            Server::Tungstenite => "tokio-tungstenite 0.30",
            Server::Fastwebsockets => "fastwebsockets 0.10",
            Server::TokioWebsockets => "tokio-websockets 0.13",
            Server::Sink => "handshake-only sink (floor)",
        }
    }

    /// The server thread's name, for `perf report --comm` (at most 15
    /// bytes, the kernel's limit).
    fn thread(self) -> &'static str {
        match self {
            Server::Pushcodec => "srv-pushcodec",
            Server::PushcodecDirect => "srv-pc-direct",
            Server::Tungstenite => "srv-tungstenite",
            Server::Fastwebsockets => "srv-fastws",
            Server::TokioWebsockets => "srv-tokio-ws",
            Server::Sink => "srv-sink",
        }
    }

    fn from_name(name: &str) -> Option<Server> {
        Server::RSS.into_iter().find(|kind| kind.name() == name)
    }
}

/// A server thread: where to connect, and where the kernel keeps its CPU time.
struct Running {
    addr: SocketAddr,
    /// `/proc/<pid>/task/<tid>/schedstat`, when /proc has it.
    schedstat: Option<String>,
}

impl Running {
    /// The server thread's time on a CPU so far (ns): the server's own cost,
    /// steadier on a shared machine than what the pair gets through.
    fn cpu_ns(&self) -> Option<u64> {
        let stat = std::fs::read_to_string(self.schedstat.as_ref()?).ok()?;
        stat.split_whitespace().next()?.parse().ok()
    }
}

/// Starts a server on its own thread. `ready` counts the connections that
/// are through the upgrade and waiting for frames.
fn start(kind: Server, ready: Arc<AtomicUsize>) -> Running {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (tell, told) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new().name(kind.thread().into());
    let spawned = thread.spawn(move || {
        let me = std::fs::read_link("/proc/thread-self").ok();
        let _ = tell.send(me.map(|task| format!("/proc/{}/schedstat", task.display())));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            let mut config = Config::default();
            config.keepalive_interval = None;
            let acceptor = Acceptor::new(config);
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                let ready = ready.clone();
                match kind {
                    Server::Pushcodec => {
                        tokio::spawn(pushcodec_echo(acceptor.clone(), stream, ready))
                    }
                    Server::PushcodecDirect => {
                        tokio::spawn(pushcodec_direct_echo(acceptor.clone(), stream, ready))
                    }
                    Server::Tungstenite => tokio::spawn(tungstenite_echo(stream, ready)),
                    Server::Fastwebsockets => tokio::spawn(fastwebsockets_echo(stream, ready)),
                    Server::TokioWebsockets => tokio::spawn(tokio_websockets_echo(stream, ready)),
                    Server::Sink => tokio::spawn(sink(stream, ready)),
                };
            }
        });
    });
    spawned.unwrap();
    Running {
        addr,
        schedstat: told.recv().unwrap(),
    }
}

async fn pushcodec_echo(acceptor: Acceptor, stream: TcpStream, ready: Arc<AtomicUsize>) {
    let Ok((ws, _)) = acceptor.accept(stream).await else {
        return;
    };
    let (tx, mut rx) = ws.spawn();
    ready.fetch_add(1, Ordering::SeqCst);
    while let Some(Ok(event)) = rx.recv().await {
        let _ = match event {
            Event::Text(text) => tx.send_text(text).await,
            Event::Binary(data) => tx.send_binary(data).await,
            _ => Ok(()),
        };
    }
}

async fn pushcodec_direct_echo(acceptor: Acceptor, stream: TcpStream, ready: Arc<AtomicUsize>) {
    let Ok((ws, _)) = acceptor.accept(stream).await else {
        return;
    };
    let mut ws = ws.direct();
    ready.fetch_add(1, Ordering::SeqCst);
    while let Some(Ok(event)) = ws.recv().await {
        let _ = match event {
            Event::Text(text) => ws.send_text(text).await,
            Event::Binary(data) => ws.send_binary(data).await,
            _ => Ok(()),
        };
    }
}

/// The server's side of the opening handshake, as every peer server here
/// does it (tokio-tungstenite's own needs a feature whose dependencies this
/// machine does not have; fastwebsockets' needs hyper): the bytes read
/// after the request's head.
async fn upgrade(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let (request, used) = loop {
        if stream.read_buf(&mut head).await.unwrap_or(0) == 0 {
            return None;
        }
        if let Ok(Some(parsed)) = handshake::parse_request(&head, &Limits::default()) {
            break parsed;
        }
    };
    let mut answer = Vec::new();
    request.accept().encode(&mut answer).unwrap();
    stream.write_all(&answer).await.ok()?;
    Some(head.split_off(used))
}

async fn tungstenite_echo(mut stream: TcpStream, ready: Arc<AtomicUsize>) {
    let Some(rest) = upgrade(&mut stream).await else {
        return;
    };
    let mut ws = WebSocketStream::from_partially_read(stream, rest, Role::Server, None).await;
    ready.fetch_add(1, Ordering::SeqCst);
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            return;
        }
    }
}

async fn fastwebsockets_echo(mut stream: TcpStream, ready: Arc<AtomicUsize>) {
    // fastwebsockets and tokio-websockets take no bytes read ahead; our
    // clients send nothing before the 101, so there are none.
    let Some(rest) = upgrade(&mut stream).await else {
        return;
    };
    if !rest.is_empty() {
        return;
    }
    let mut ws = fastwebsockets::WebSocket::after_handshake(stream, fastwebsockets::Role::Server);
    // Its defaults, said out loud: pings answered and the close echoed by
    // the library, payloads over 1 KiB written with writev (header and
    // payload in one call, no copy).
    ws.set_auto_pong(true);
    ws.set_auto_close(true);
    ws.set_writev(true);
    let mut ws = fastwebsockets::FragmentCollector::new(ws);
    ready.fetch_add(1, Ordering::SeqCst);
    while let Ok(frame) = ws.read_frame().await {
        let echo = match frame.opcode {
            fastwebsockets::OpCode::Text | fastwebsockets::OpCode::Binary => true,
            fastwebsockets::OpCode::Close => return,
            _ => false,
        };
        if echo && ws.write_frame(frame).await.is_err() {
            return;
        }
    }
}

async fn tokio_websockets_echo(mut stream: TcpStream, ready: Arc<AtomicUsize>) {
    let Some(rest) = upgrade(&mut stream).await else {
        return;
    };
    if !rest.is_empty() {
        return;
    }
    let mut ws = tokio_websockets::ServerBuilder::new().serve(stream);
    ready.fetch_add(1, Ordering::SeqCst);
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            return;
        }
    }
}

async fn sink(mut stream: TcpStream, ready: Arc<AtomicUsize>) {
    if upgrade(&mut stream).await.is_none() {
        return;
    }
    ready.fetch_add(1, Ordering::SeqCst);
    let mut byte = [0u8; 1];
    while stream.read(&mut byte).await.unwrap_or(0) > 0 {}
}

/// `n` clients echoing `size`-byte messages for `time`: round trips per
/// second over all of them, the 99th-percentile round trip, and the
/// server thread's CPU time per round trip (the handshakes left out).
async fn run(
    server: &Running,
    n: usize,
    size: usize,
    time: Duration,
) -> (f64, Duration, Option<Duration>) {
    let mut clients = Vec::new();
    for _ in 0..n {
        clients.push(peer_client(server.addr).await);
    }
    let cpu = server.cpu_ns();
    let payload = bytes::Bytes::from(vec![0x5a; size]);
    let start = Instant::now();
    let deadline = start + time;
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut ws| {
            let payload = payload.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    ws.send(Message::Binary(payload.clone())).await.unwrap();
                    let echo = ws.next().await.unwrap().unwrap();
                    assert_eq!(echo.len(), payload.len());
                    latencies.push(sent.elapsed());
                }
                let _ = ws.close(None).await;
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let p99 = all.get(all.len() * 99 / 100).copied().unwrap_or_default();
    #[expect(clippy::cast_precision_loss, reason = "a count of round trips")]
    let rate = all.len() as f64 / elapsed;
    #[expect(clippy::cast_precision_loss, reason = "nanoseconds and a count")]
    let per = cpu.zip(server.cpu_ns()).map(|(before, after)| {
        Duration::from_nanos((after.saturating_sub(before) as f64 / all.len().max(1) as f64) as u64)
    });
    (rate, p99, per)
}

/// The middle item by `order`.
fn median_by<T: Copy>(items: &mut [T], order: impl FnMut(&T, &T) -> std::cmp::Ordering) -> T {
    items.sort_by(order);
    items[items.len() / 2]
}

/// The soft limit on open files (`ulimit -n`), where /proc says it.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// This process's resident set, in kB.
fn vm_rss_kb() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line["VmRSS:".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The server's VmRSS (kB) before and after `n` idle connections. The
/// server runs alone in a fresh child process (this binary again, with
/// [`CHILD_ENV`] set), so neither the clients' memory nor what an earlier
/// server freed into the allocator is in its figure; the clients are ours.
fn rss_row(kind: Server, n: usize, clients: &Runtime) -> (usize, usize) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, kind.name())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_child = child.stdin.take().unwrap();
    let mut from_child = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr: SocketAddr = from_child.next().unwrap().unwrap().parse().unwrap();
    let before: usize = from_child.next().unwrap().unwrap().parse().unwrap();
    let connections = clients.block_on(async {
        let mut connections = Vec::with_capacity(n);
        for _ in 0..n {
            connections.push(tokio_peer::handshake(addr).await);
        }
        connections
    });
    writeln!(to_child, "{n}").unwrap();
    let after: usize = from_child.next().unwrap().unwrap().parse().unwrap();
    // End of input tells the child to exit.
    drop(to_child);
    child.wait().unwrap();
    drop(connections);
    (before, after)
}

/// The child's side of [`rss_row`]: prints its address, its VmRSS with one
/// connection through the upgrade (the runtime, the allocator's arena for
/// the server thread and the first task's growth are in the baseline),
/// then, once told a count and that many more connections are ready, its
/// VmRSS again.
fn rss_child(name: &str) {
    let kind = Server::from_name(name).unwrap();
    let ready = Arc::new(AtomicUsize::new(0));
    let addr = start(kind, ready.clone()).addr;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _first = rt.block_on(tokio_peer::handshake(addr));
    wait_for(&ready, 1);
    let mut out = std::io::stdout();
    writeln!(out, "{addr}\n{}", vm_rss_kb()).unwrap();
    out.flush().unwrap();
    let mut lines = std::io::stdin().lock().lines();
    let Some(Ok(n)) = lines.next() else {
        return;
    };
    wait_for(&ready, 1 + n.parse::<usize>().unwrap());
    writeln!(out, "{}", vm_rss_kb()).unwrap();
    out.flush().unwrap();
    // Holds the connections until the parent is done.
    for _ in lines {}
}

/// Waits (at most 30 s) until `count` connections are ready, then lets the
/// server's tasks take their first poll. Fewer would make the row's figure
/// per connection wrong: that is a failure, not a figure.
fn wait_for(ready: &AtomicUsize, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while ready.load(Ordering::SeqCst) < count {
        let got = ready.load(Ordering::SeqCst);
        assert!(
            Instant::now() < deadline,
            "only {got} of {count} connections came up in 30 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
}

#[derive(Clone, Copy)]
enum SseServer {
    Pushcodec,
    Axum,
}

impl SseServer {
    fn name(self) -> &'static str {
        match self {
            SseServer::Pushcodec => "pushcodec Feed (EventStream body)",
            SseServer::Axum => "axum::response::Sse over a broadcast channel",
        }
    }

    fn thread(self) -> &'static str {
        match self {
            SseServer::Pushcodec => "sse-pushcodec",
            SseServer::Axum => "sse-axum",
        }
    }
}

/// What every event carries besides its id.
const SSE_DATA: &str = "0123456789abcdef0123456789abcdef";

enum Publisher {
    Feed(Feed),
    Axum(tokio::sync::broadcast::Sender<u64>),
}

impl Publisher {
    fn publish(&self, id: u64) {
        match self {
            Publisher::Feed(feed) => {
                // The feed assigns the same ids, 1, 2, 3, ...
                let seq = feed.publish(&EventRef::new(SSE_DATA)).unwrap();
                debug_assert_eq!(seq.0, id);
            }
            Publisher::Axum(tx) => {
                tx.send(id).unwrap();
            }
        }
    }
}

/// An axum server on its own thread answering `GET /events` with an event
/// stream that can hold `events` unread events (so that nobody lags in the
/// burst); `subscribed` counts the streams that are live.
fn start_sse(
    kind: SseServer,
    events: usize,
    subscribed: Arc<AtomicUsize>,
) -> (SocketAddr, Publisher) {
    use axum::response::sse::{Event as SseEvent, Sse};
    use axum::{Router, http::HeaderMap, routing::get};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (app, publisher) = match kind {
        SseServer::Pushcodec => {
            // A log as long as the burst, and room to lag all of it.
            let mut limits = pushcodec::topic::TopicLimits::default();
            limits.max_entries = events;
            limits.max_bytes = 1 << 24;
            limits.max_lag_entries = events;
            limits.max_lag_bytes = 1 << 24;
            let feed = Feed::new(limits);
            let handle = feed.clone();
            let app = Router::new().route(
                "/events",
                get(move |headers: HeaderMap| async move {
                    let response = feed.respond(&headers);
                    subscribed.fetch_add(1, Ordering::SeqCst);
                    response
                }),
            );
            (app, Publisher::Feed(handle))
        }
        SseServer::Axum => {
            let (tx, _) = tokio::sync::broadcast::channel::<u64>(events);
            let handle = tx.clone();
            let app = Router::new().route(
                "/events",
                get(move || async move {
                    let rx = tx.subscribe();
                    subscribed.fetch_add(1, Ordering::SeqCst);
                    // The idiom of axum's examples: each subscriber formats
                    // its own events.
                    let stream = futures::stream::unfold(rx, |mut rx| async move {
                        let id = rx.recv().await.ok()?;
                        let event = SseEvent::default().id(id.to_string()).data(SSE_DATA);
                        Some((Ok::<_, Infallible>(event), rx))
                    });
                    Sse::new(stream)
                }),
            );
            (app, Publisher::Axum(handle))
        }
    };
    let thread = std::thread::Builder::new().name(kind.thread().into());
    let spawned = thread.spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    spawned.unwrap();
    (addr, publisher)
}

/// `subscribers` raw HTTP/1.1 clients on one server; `events` published in
/// a burst once all are subscribed: deliveries per second (all the events
/// to all the subscribers, over the time from the first publish until the
/// last subscriber has the last event) and that time.
async fn fan_out(kind: SseServer, subscribers: usize, events: usize) -> (f64, Duration) {
    let subscribed = Arc::new(AtomicUsize::new(0));
    let (addr, publisher) = start_sse(kind, events, subscribed.clone());
    let mut streams = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
            .await
            .unwrap();
        streams.push(stream);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while subscribed.load(Ordering::SeqCst) < subscribers {
        assert!(Instant::now() < deadline, "subscribers did not arrive");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|stream| tokio::spawn(count_events(stream, events)))
        .collect();
    let start = Instant::now();
    for id in 1..=events as u64 {
        publisher.publish(id);
    }
    let mut last = start;
    for task in tasks {
        last = last.max(task.await.unwrap());
    }
    let took = last - start;
    #[expect(clippy::cast_precision_loss, reason = "a count of deliveries")]
    let rate = (subscribers * events) as f64 / took.as_secs_f64();
    (rate, took)
}

/// Reads until `events` events have arrived (each ends in a blank line;
/// the head's CRLFs and the chunk framing have none): when the last did.
async fn count_events(mut stream: TcpStream, events: usize) -> Instant {
    let mut buf = vec![0u8; 4096];
    let mut seen = 0;
    let mut last = 0u8;
    while seen < events {
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
            .await
            .expect("an event stream stalled")
            .unwrap();
        assert!(n > 0, "an event stream ended after {seen} events");
        for &byte in &buf[..n] {
            if byte == b'\n' && last == b'\n' {
                seen += 1;
            }
            last = byte;
        }
    }
    Instant::now()
}
