//! End to end over loopback TCP (issue 19): echo round trips per second
//! and p99 latency through the tokio driver (`pushcodec::tokio`), beside a
//! tokio-tungstenite server, same run, same client, same machine.
//!
//! ```text
//! cargo bench --bench e2e --features tokio        # 3 s a row
//! cargo test --bench e2e --features tokio          # quick mode: 200 ms a row (CI)
//! ```
//!
//! Each server runs on its own thread with a current-thread tokio runtime;
//! the clients (tokio-tungstenite, for both servers) on another. Each client
//! sends one binary message, waits for its echo, and repeats until the row's
//! time is up. Loopback only, bounded in time, no timing asserted. On a
//! two-core machine the clients share the cores with the server, so the
//! figures are the pair's, not the server's alone; the same holds for both.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use pushcodec::tokio::Acceptor;
use pushcodec::ws::handshake::{self, Limits};
use pushcodec::ws::{Config, Event};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

#[path = "../tests/common/tokio_peer.rs"]
#[allow(dead_code, reason = "the bench uses only the peer client")]
mod tokio_peer;
use tokio_peer::peer_client;

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not.
    let quick = !std::env::args().any(|a| a == "--bench");
    let row_time = Duration::from_millis(if quick { 200 } else { 3000 });
    let servers = [
        ("pushcodec (tokio driver)", start(Server::Pushcodec)),
        ("tokio-tungstenite 0.30", start(Server::Tungstenite)),
    ];
    let clients = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("| server | message | clients | round trips/s | p99 latency |");
    println!("|---|---|---|---|---|");
    for size in [16usize, 64 * 1024] {
        for n in [1usize, 100] {
            for (name, addr) in &servers {
                let (rate, p99) = clients.block_on(run(*addr, n, size, row_time));
                let label = if size < 1024 {
                    format!("{size} B")
                } else {
                    format!("{} KiB", size / 1024)
                };
                println!("| {name} | {label} | {n} | {rate:.0} | {p99:.1?} |");
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Server {
    Pushcodec,
    Tungstenite,
}

/// Starts a server on its own thread; its address.
fn start(kind: Server) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
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
                match kind {
                    Server::Pushcodec => tokio::spawn(pushcodec_echo(acceptor.clone(), stream)),
                    Server::Tungstenite => tokio::spawn(tungstenite_echo(stream)),
                };
            }
        });
    });
    addr
}

async fn pushcodec_echo(acceptor: Acceptor, stream: TcpStream) {
    let Ok((ws, _)) = acceptor.accept(stream).await else {
        return;
    };
    let (tx, mut rx) = ws.spawn();
    while let Some(Ok(event)) = rx.recv().await {
        let _ = match event {
            Event::Text(text) => tx.send_text(text).await,
            Event::Binary(data) => tx.send_binary(data).await,
            _ => Ok(()),
        };
    }
}

/// tokio-tungstenite's server after the same handshake (its own needs a
/// feature whose dependencies this machine does not have).
async fn tungstenite_echo(mut stream: TcpStream) {
    let mut head = Vec::new();
    let (request, used) = loop {
        if stream.read_buf(&mut head).await.unwrap_or(0) == 0 {
            return;
        }
        if let Ok(Some(parsed)) = handshake::parse_request(&head, &Limits::default()) {
            break parsed;
        }
    };
    let mut answer = Vec::new();
    request.accept().encode(&mut answer).unwrap();
    stream.write_all(&answer).await.unwrap();
    let rest = head.split_off(used);
    let mut ws = WebSocketStream::from_partially_read(stream, rest, Role::Server, None).await;
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            return;
        }
    }
}

/// `n` clients echoing `size`-byte messages for `time`: round trips per
/// second over all of them, and the 99th-percentile round trip.
async fn run(addr: SocketAddr, n: usize, size: usize, time: Duration) -> (f64, Duration) {
    let mut clients = Vec::new();
    for _ in 0..n {
        clients.push(peer_client(addr).await);
    }
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
    (rate, p99)
}
