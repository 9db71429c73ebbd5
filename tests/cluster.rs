//! The Redis Streams backplane (issue 18, `examples/cluster/`) against a
//! real `redis-server`: three nodes, SSE and WebSocket clients spread over
//! them.
//!
//! - Published on one node, every entry reaches every client on every
//!   node, in stream order (SSE `id:` = the Redis stream id).
//! - A node killed mid-stream: its clients reconnect to another node with
//!   `Last-Event-ID` (SSE, WHATWG HTML §9.2.4) or `?after=` (WebSocket) and
//!   get exactly the entries they missed, checked by id: once from the
//!   node's topic, once through an `XRANGE` replay (the id fell out of the
//!   topic).
//! - An id Redis trimmed, or not an id: a resync, never a silent gap.
//! - Redis restarted without its data: every connected client is told to
//!   resync (its log is gone), publishing meanwhile is refused (503), and
//!   after the restart entries flow again; an id from before the restart is
//!   a resync, not a replay of the new log.
//!
//! The nodes run in this process, each on a runtime of its own in a thread:
//! cargo gives an integration test no path to an example's binary, and
//! killing a node drops its runtime, every task and socket with it, which
//! is what the clients and Redis see of a killed process (the kernel closes
//! its sockets). The load run (`cluster load`) runs nodes as processes.
//!
//! Needs Debian's `redis-server` (`bash .ci/test` installs it).
#![cfg(feature = "hyper")]

#[allow(dead_code)]
#[path = "../examples/cluster/client.rs"]
mod client;
#[allow(dead_code)]
#[path = "../examples/cluster/node.rs"]
mod node;
#[allow(dead_code)]
#[path = "../examples/cluster/redis_server.rs"]
mod redis_server;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use client::{Publisher, Seen};
use node::{Config, NodeThread, Stats};
use redis_server::RedisServer;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(15);

/// One client across its connections: everything it saw, in order.
struct Client {
    name: String,
    rx: mpsc::UnboundedReceiver<Seen>,
    tx: mpsc::UnboundedSender<Seen>,
    seen: Vec<Seen>,
}

impl Client {
    fn new(name: String) -> Client {
        let (tx, rx) = mpsc::unbounded_channel();
        Client {
            name,
            rx,
            tx,
            seen: Vec::new(),
        }
    }

    fn entries(&self) -> Vec<String> {
        self.seen
            .iter()
            .filter_map(|s| match s {
                Seen::Entry { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect()
    }

    fn last_id(&self) -> Option<String> {
        self.seen.iter().rev().find_map(|s| match s {
            Seen::Entry { id, .. } => Some(id.clone()),
            Seen::Resync { at } => Some(at.clone()),
            Seen::Ended(_) => None,
        })
    }

    /// Waits until `done` holds of what it saw.
    async fn until(&mut self, what: &str, done: impl Fn(&[Seen]) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(&self.seen) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(seen)) => self.seen.push(seen),
                _ => {
                    let tail = &self.seen[self.seen.len().saturating_sub(3)..];
                    panic!(
                        "{}: no {what} within {WAIT:?}; saw {} items, the last {tail:?}",
                        self.name,
                        self.seen.len()
                    )
                }
            }
        }
    }

    async fn until_entries(&mut self, n: usize) {
        self.until(&format!("{n} entries"), |s| {
            s.iter().filter(|x| matches!(x, Seen::Entry { .. })).count() >= n
        })
        .await;
    }
}

fn config(redis: &RedisServer) -> Config {
    let mut cfg = Config::new(&redis.url(), SocketAddr::from(([127, 0, 0, 1], 0)));
    // 16 entries in memory: a client 16 or more behind resumes through XRANGE.
    cfg.topic.max_entries = 16;
    // Redis keeps exactly 200 per stream: older ids are trimmed.
    cfg.stream_maxlen = 200;
    cfg.approx_trim = false;
    cfg.block_ms = 1_000;
    cfg.heartbeat = Duration::from_secs(1);
    cfg
}

async fn publish_n(publisher: &mut Publisher, n: usize, tag: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            publisher
                .publish(&format!("{tag} {i}"))
                .await
                .expect("publish"),
        );
    }
    ids
}

fn count(c: &AtomicU64) -> u64 {
    Stats::get(c)
}

fn sorted(ids: &[String]) -> bool {
    let parsed: Vec<pushcodec::topic::StreamId> = ids
        .iter()
        .map(|id| id.parse().expect("a stream id"))
        .collect();
    parsed.windows(2).all(|w| w[0] < w[1])
}

#[test]
fn three_nodes_resume_exactly_and_resync_after_a_redis_restart() {
    let mut redis = RedisServer::start().unwrap_or_else(|e| panic!("{e}"));
    let mut nodes: Vec<NodeThread> = (0..3)
        .map(|_| NodeThread::spawn(config(&redis)).expect("node starts"))
        .collect();
    let addr: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Two SSE clients and one chat client per node.
        let mut sse: Vec<Client> = (0..6)
            .map(|i| Client::new(format!("sse{i}@node{}", i % 3)))
            .collect();
        for (i, c) in sse.iter().enumerate() {
            client::sse(addr[i % 3], None, c.tx.clone())
                .await
                .expect("sse connects");
        }
        let mut chat: Vec<Client> = (0..3)
            .map(|i| Client::new(format!("ws{i}@node{i}")))
            .collect();
        let mut say = Vec::new();
        for (i, c) in chat.iter().enumerate() {
            say.push(
                client::ws(addr[i], "lobby", None, c.tx.clone())
                    .await
                    .expect("ws connects"),
            );
        }
        // Let the subscriptions settle (they are live-only, so a publish
        // before them is not theirs).
        tokio::time::sleep(Duration::from_millis(200)).await;

        // 1. Published on node 0, every SSE client on every node gets it, in order.
        let mut publisher = Publisher::connect(addr[0]).await.unwrap();
        let mut published = publish_n(&mut publisher, 20, "first").await;
        assert!(sorted(&published));
        for c in &mut sse {
            c.until_entries(20).await;
            assert_eq!(c.entries(), published, "{}", c.name);
        }
        // Chat: each client says 5 things; all three see the same 15, in id order.
        for (i, s) in say.iter().enumerate() {
            for k in 0..5 {
                s.send(format!("ws{i} says {k}")).unwrap();
            }
        }
        for c in &mut chat {
            c.until_entries(15).await;
        }
        let room = chat[0].entries();
        assert!(sorted(&room), "{room:?}");
        for c in &chat {
            assert_eq!(c.entries(), room, "{}", c.name);
        }

        // 2. Node 1 dies mid-stream.
        let during = tokio::spawn(async move {
            let ids = publish_n(&mut publisher, 60, "during").await;
            (publisher, ids)
        });
        sse[0].until_entries(30).await; // ten of the 60 are out
        let mut killed = nodes.remove(1);
        tokio::task::block_in_place(|| killed.kill());
        let ended = |s: &[Seen]| matches!(s.last(), Some(Seen::Ended(_)));
        sse[1].until("the end of the connection", ended).await;
        sse[4].until("the end of the connection", ended).await;
        chat[1].until("the end of the connection", ended).await;
        // sse1 resumes at once on node 2 (nodes[1] now): the topic still holds its id.
        let last = sse[1].last_id();
        client::sse(addr[2], last.as_deref(), sse[1].tx.clone())
            .await
            .unwrap();
        for k in 0..20 {
            say[0].send(format!("ws0 during {k}")).unwrap();
        }
        let (mut publisher, during_ids) = during.await.unwrap();
        published.extend(during_ids);
        // sse4 and ws1 come back after all 60: 16 in node 2's topic at most,
        // so the rest is replayed from Redis.
        let last = sse[4].last_id();
        client::sse(addr[2], last.as_deref(), sse[4].tx.clone())
            .await
            .unwrap();
        chat[0].until_entries(35).await;
        let last = chat[1].last_id();
        let _say1 = client::ws(addr[2], "lobby", last.as_deref(), chat[1].tx.clone())
            .await
            .unwrap();
        for c in &mut sse {
            c.until_entries(80).await;
            assert_eq!(
                c.entries(),
                published,
                "{}: none lost, none repeated",
                c.name
            );
        }
        chat[2].until_entries(35).await;
        chat[1].until_entries(35).await;
        let room = chat[0].entries();
        assert!(sorted(&room));
        for c in &chat {
            assert_eq!(c.entries(), room, "{}", c.name);
        }
        let survivor = &nodes[1].stats;
        assert!(
            count(&survivor.from_topic) >= 1,
            "a resume served by the topic alone"
        );
        assert!(
            count(&survivor.from_redis) >= 2,
            "resumes replayed from XRANGE (sse4 and ws1)"
        );

        // 3. An id Redis trimmed (it keeps 200), and one that is not an id: resync.
        published.extend(publish_n(&mut publisher, 150, "more").await);
        for c in &mut sse {
            c.until_entries(230).await;
        }
        let mut trimmed = Client::new("sse@trimmed".into());
        client::sse(addr[0], Some(&published[0]), trimmed.tx.clone())
            .await
            .unwrap();
        trimmed
            .until("a resync", |s| {
                matches!(s.first(), Some(Seen::Resync { .. }))
            })
            .await;
        assert_eq!(
            trimmed.seen[0],
            Seen::Resync {
                at: published.last().unwrap().clone()
            }
        );
        let mut bogus = Client::new("sse@bogus".into());
        client::sse(addr[2], Some("not-an-id"), bogus.tx.clone())
            .await
            .unwrap();
        bogus
            .until("a resync", |s| {
                matches!(s.first(), Some(Seen::Resync { .. }))
            })
            .await;
        // Still within Redis's 200 but long out of the topic: a replay.
        let mut old = Client::new("sse@old".into());
        client::sse(addr[2], Some(&published[100]), old.tx.clone())
            .await
            .unwrap();
        old.until_entries(129).await;
        assert_eq!(old.entries(), published[101..]);

        // 4. Redis restarts without its data.
        let before: Vec<usize> = sse.iter().map(|c| c.seen.len()).collect();
        let stale = published.last().unwrap().clone();
        tokio::task::block_in_place(|| redis.restart()).expect("redis restarts");
        for c in &mut sse {
            c.until("a resync after the restart", |s| {
                s.iter().any(|x| matches!(x, Seen::Resync { .. }))
            })
            .await;
        }
        for c in &mut chat {
            c.until("a resync after the restart", |s| {
                s.iter().any(|x| matches!(x, Seen::Resync { .. }))
            })
            .await;
        }
        for (c, n) in sse.iter().zip(&before) {
            assert_eq!(
                c.entries().len(),
                *n.min(&230),
                "{}: nothing from a lost log",
                c.name
            );
        }
        // Publishing works again (the connection manager reconnects).
        let mut after = Vec::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        while after.len() < 5 {
            match publisher.publish(&format!("after {}", after.len())).await {
                Ok(id) => after.push(id),
                Err(e) if tokio::time::Instant::now() < deadline => {
                    assert!(e.to_string().contains("503"), "refused, not lost: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no publish after the restart: {e}"),
            }
        }
        for c in &mut sse {
            c.until_entries(235).await;
            let got = c.entries();
            assert_eq!(got[230..], after, "{}", c.name);
        }
        // An id of the lost log is a resync on any node, not a replay of the new one.
        let mut stale_client = Client::new("sse@stale".into());
        client::sse(addr[0], Some(&stale), stale_client.tx.clone())
            .await
            .unwrap();
        stale_client
            .until("a resync", |s| {
                matches!(s.first(), Some(Seen::Resync { .. }))
            })
            .await;
        for n in &nodes {
            assert!(count(&n.stats.log_restarts) >= 1);
            assert!(count(&n.stats.reset) >= 1);
        }
    });
    drop(nodes);
}
