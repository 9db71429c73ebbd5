//! The load run: a redis-server, N node processes (this binary's `node`
//! command), SSE subscribers and chat clients spread over them on loopback;
//! events published at a fixed rate, each carrying its publish time, so
//! every client measures publish-to-client latency. Bounded loops that
//! print figures, never a timed test.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use crate::client::{self, Publisher, Seen};
use crate::redis_server::RedisServer;

pub struct Options {
    pub nodes: usize,
    pub sse: usize,
    pub ws: usize,
    pub rooms: usize,
    pub events: usize,
    pub rate: u64,
}

impl Options {
    pub fn parse(args: &[String]) -> Options {
        let quick = args.iter().any(|a| a == "--quick");
        let get = |name: &str, full: usize, small: usize| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .map_or(if quick { small } else { full }, |v| {
                    v.parse().expect("a number")
                })
        };
        Options {
            nodes: get("--nodes", 3, 2),
            sse: get("--sse", 10_000, 200),
            ws: get("--ws", 1_000, 20),
            rooms: get("--rooms", 10, 2),
            events: get("--events", 1_000, 50),
            rate: get("--rate", 200, 100) as u64,
        }
    }
}

/// Latency histogram in microseconds: exact below 16 µs, then 8 buckets
/// per power of two (12.5 % wide).
struct Histogram {
    buckets: Vec<AtomicU64>,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            buckets: (0..16 + 60 * 8).map(|_| AtomicU64::new(0)).collect(),
        }
    }
    fn index(us: u64) -> usize {
        if us < 16 {
            return us as usize;
        }
        let e = 63 - us.leading_zeros() as usize;
        16 + (e - 4) * 8 + ((us >> (e - 3)) & 7) as usize
    }
    fn lower(index: usize) -> u64 {
        if index < 16 {
            return index as u64;
        }
        let (e, sub) = ((index - 16) / 8 + 4, (index - 16) % 8);
        (8 + sub as u64) << (e - 3)
    }
    fn record(&self, us: u64) {
        self.buckets[Self::index(us).min(self.buckets.len() - 1)].fetch_add(1, Ordering::Relaxed);
    }
    fn quantile(&self, q: f64) -> u64 {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let target = (total as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= target.max(1) {
                return Self::lower(i);
            }
        }
        0
    }
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Resident and peak resident KiB, and CPU ticks (user + system).
fn proc_figures(pid: u32) -> (u64, u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis: utime is the 12th, stime the 13th.
    let rest: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, r)| r)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| rest.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (kib("VmRSS:"), kib("VmHWM:"), ticks(11) + ticks(12))
}

fn fd_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        .unwrap_or(1024)
}

struct Counters {
    received: AtomicU64,
    out_of_order: AtomicU64,
    resync: AtomicU64,
    ended: AtomicU64,
}

/// Reads one client's stream: counts, order and latency.
fn consume(mut rx: mpsc::UnboundedReceiver<Seen>, counters: Arc<Counters>, hist: Arc<Histogram>) {
    tokio::spawn(async move {
        let mut last: Option<pushcodec::topic::StreamId> = None;
        while let Some(seen) = rx.recv().await {
            match seen {
                Seen::Entry { id, text } => {
                    let id = id.parse().ok();
                    if id <= last {
                        counters.out_of_order.fetch_add(1, Ordering::Relaxed);
                    }
                    last = id;
                    let sent = text
                        .rsplit(' ')
                        .next()
                        .and_then(|t| t.strip_prefix("t=")?.parse::<u64>().ok());
                    if let Some(sent) = sent {
                        hist.record(now_us().saturating_sub(sent));
                    }
                    counters.received.fetch_add(1, Ordering::Relaxed);
                }
                Seen::Resync { .. } => {
                    counters.resync.fetch_add(1, Ordering::Relaxed);
                }
                Seen::Ended(_) => {
                    counters.ended.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    });
}

/// A node process (this binary's `node` command) and the address it printed.
fn spawn_node(redis: &str) -> (Child, SocketAddr) {
    use std::io::BufRead;
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(exe)
        .args(["node", "--redis", redis, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node process");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("piped");
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("node address");
    let addr = line
        .trim()
        .strip_prefix("listening ")
        .expect("`listening ADDR`")
        .parse()
        .expect("an address");
    (child, addr)
}

pub fn run(opts: &Options) {
    let limit = fd_limit();
    let needed = (opts.sse + opts.ws) as u64 + 200;
    assert!(
        needed <= limit,
        "{needed} file descriptors needed for the clients, the limit is {limit}: raise `ulimit -n` or pass a smaller --sse"
    );
    let mut redis = RedisServer::start().unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let nodes: Vec<_> = (0..opts.nodes).map(|_| spawn_node(&redis.url())).collect();
        let addrs: Vec<SocketAddr> = nodes.iter().map(|(_, a)| *a).collect();
        let pids: Vec<u32> = nodes.iter().map(|(c, _)| c.id()).collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let idle: Vec<_> = pids.iter().map(|p| proc_figures(*p)).collect();
        let counters = Arc::new(Counters {
            received: AtomicU64::new(0),
            out_of_order: AtomicU64::new(0),
            resync: AtomicU64::new(0),
            ended: AtomicU64::new(0),
        });
        let sse_hist = Arc::new(Histogram::new());
        let ws_hist = Arc::new(Histogram::new());
        let connect_start = Instant::now();
        for i in 0..opts.sse {
            let (tx, rx) = mpsc::unbounded_channel();
            client::sse(addrs[i % addrs.len()], None, tx).await.expect("sse connects");
            consume(rx, Arc::clone(&counters), Arc::clone(&sse_hist));
        }
        let mut speakers = Vec::new();
        for i in 0..opts.ws {
            let (tx, rx) = mpsc::unbounded_channel();
            let room = format!("room-{}", i % opts.rooms);
            let say = client::ws(addrs[(i / opts.rooms) % addrs.len()], &room, None, tx).await.expect("ws connects");
            if i < opts.rooms {
                speakers.push(say);
            }
            consume(rx, Arc::clone(&counters), Arc::clone(&ws_hist));
        }
        let connect_time = connect_start.elapsed();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let connected: Vec<_> = pids.iter().map(|p| proc_figures(*p)).collect();
        let redis_before = proc_figures(redis.pid().unwrap_or(0));

        // Publish: an SSE event per tick on node 0; every tenth tick one
        // chat message per room, each from a client on its own node.
        let mut publisher = Publisher::connect(addrs[0]).await.expect("publisher");
        let start = Instant::now();
        let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / opts.rate.max(1)));
        let mut ws_sent = 0usize;
        for i in 0..opts.events {
            ticker.tick().await;
            publisher.publish(&format!("event {i} t={}", now_us())).await.expect("publish");
            if i % 10 == 0 {
                for say in &speakers {
                    let _ = say.send(format!("chat {i} t={}", now_us()));
                    ws_sent += 1;
                }
            }
        }
        let publish_time = start.elapsed();
        let per_room = opts.ws.div_ceil(opts.rooms).max(1);
        let expected = (opts.events * opts.sse + ws_sent * per_room.min(opts.ws)) as u64;
        let deadline = Instant::now() + Duration::from_secs(30);
        while counters.received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let drain_time = start.elapsed();
        let after: Vec<_> = pids.iter().map(|p| proc_figures(*p)).collect();
        let redis_after = proc_figures(redis.pid().unwrap_or(0));

        let received = counters.received.load(Ordering::Relaxed);
        println!("cluster load: {} nodes, {} SSE subscribers, {} WebSocket clients in {} rooms (connected in {:.1} s)",
            opts.nodes, opts.sse, opts.ws, opts.rooms, connect_time.as_secs_f64());
        println!("published: {} events in {:.2} s = {:.0} events/s; {} chat messages",
            opts.events, publish_time.as_secs_f64(), opts.events as f64 / publish_time.as_secs_f64(), ws_sent);
        println!("delivered: {received} of {expected} ({} missing) in {:.2} s = {:.0} deliveries/s; out of order {}, resync {}, ended {}",
            expected.saturating_sub(received), drain_time.as_secs_f64(), received as f64 / drain_time.as_secs_f64(),
            counters.out_of_order.load(Ordering::Relaxed), counters.resync.load(Ordering::Relaxed), counters.ended.load(Ordering::Relaxed));
        println!("latency publish -> client (µs, 12.5 % buckets): SSE p50 {} p99 {} max-bucket {}; WS p50 {} p99 {}",
            sse_hist.quantile(0.5), sse_hist.quantile(0.99), sse_hist.quantile(1.0), ws_hist.quantile(0.5), ws_hist.quantile(0.99));
        let hz = 100.0; // USER_HZ on Linux
        for (i, ((a, b), c)) in idle.iter().zip(&connected).zip(&after).enumerate() {
            let conns = opts.sse.div_ceil(opts.nodes) + opts.ws.div_ceil(opts.nodes);
            let cpu = (c.2 - b.2) as f64 / hz / drain_time.as_secs_f64() * 100.0;
            println!("node {i}: RSS idle {} KiB, connected {} KiB ({:.1} KiB per connection over ~{conns}), after {} KiB, peak {} KiB; CPU {:.0} % of a core while publishing",
                a.0, b.0, (b.0.saturating_sub(a.0)) as f64 / conns as f64, c.0, c.1, cpu);
        }
        let rcpu = (redis_after.2 - redis_before.2) as f64 / hz / drain_time.as_secs_f64() * 100.0;
        println!("redis: RSS {} KiB, CPU {:.0} % of a core while publishing", redis_after.0, rcpu);
        assert_eq!(counters.out_of_order.load(Ordering::Relaxed), 0, "every client got its entries in stream order");
        assert_eq!(received, expected, "every client got every entry");
        for (mut child, _) in nodes {
            let _ = child.kill();
            let _ = child.wait();
        }
    });
    redis.kill();
}
