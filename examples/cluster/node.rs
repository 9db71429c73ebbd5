//! One node of the cluster: an SSE feed (`GET /events`, `POST /publish`)
//! and WebSocket chat rooms (`GET /ws/<room>?after=<id>`), every channel a
//! Redis stream. Redis assigns the ids; each channel is followed with
//! `XREAD BLOCK` into a crate `Topic<StreamId, _>`, which does the ordering,
//! the cursors, replay-then-live and the verdicts. This file is the I/O:
//! Redis commands, sockets, and waking subscribers.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use pushcodec::bytes::{Bytes, BytesMut};
use pushcodec::sse::{self, EventRef, PreparedEvent};
use pushcodec::tokio::{Acceptor, Sender};
use pushcodec::topic::{
    Payload, PollError, StreamId, SubscribeError, SubscriberId, Topic, TopicLimits,
};
use pushcodec::ws::{self, CloseCode, PreparedMessage};
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::streams::{
    StreamId as Entry, StreamMaxlen, StreamRangeReply, StreamReadOptions, StreamReadReply,
};
use tokio::sync::{mpsc, watch};

/// Everything a node can be told; every bound explicit.
#[derive(Clone, Debug)]
pub struct Config {
    /// `redis://127.0.0.1:6379/`.
    pub redis_url: String,
    /// Where to listen (port 0: any free port).
    pub listen: SocketAddr,
    /// Stream keys are `<prefix>feed` and `<prefix>room:<name>`.
    pub prefix: String,
    /// Each channel's in-memory log (what a resume is served from without
    /// asking Redis) and its slow-consumer rule.
    pub topic: TopicLimits,
    /// `XADD ... MAXLEN`: what Redis keeps for resumes older than the topic.
    pub stream_maxlen: usize,
    /// `MAXLEN ~` (trims whole macro nodes, cheaper) instead of `MAXLEN =`.
    pub approx_trim: bool,
    /// Most entries one resume replays from Redis; further behind is a resync.
    pub max_replay: usize,
    /// `XREAD BLOCK` milliseconds and `COUNT`.
    pub block_ms: usize,
    pub read_count: usize,
    /// Most rooms a node follows (one reader connection each).
    pub max_rooms: usize,
    /// Most bytes of a published event or chat message.
    pub max_message: usize,
    /// How long a client whose id this node has not read yet (another node
    /// served it a moment ago) waits for this node's reader.
    pub ahead_wait: Duration,
    /// Quiet time before an SSE heartbeat comment.
    pub heartbeat: Duration,
    /// The SSE `retry:` sent first (the client's reconnection delay).
    pub retry_ms: u64,
}

impl Config {
    pub fn new(redis_url: &str, listen: SocketAddr) -> Self {
        let mut topic = TopicLimits::default();
        topic.max_entries = 1024;
        topic.max_bytes = 4 << 20;
        topic.max_lag_entries = 512;
        Config {
            redis_url: redis_url.to_owned(),
            listen,
            prefix: "pushcodec:".to_owned(),
            topic,
            stream_maxlen: 100_000,
            approx_trim: true,
            max_replay: 10_000,
            block_ms: 5_000,
            read_count: 1_000,
            max_rooms: 1_000,
            max_message: 64 << 10,
            ahead_wait: Duration::from_secs(2),
            heartbeat: Duration::from_secs(15),
            retry_ms: 1_000,
        }
    }
}

/// How clients were started, counted per node.
#[derive(Debug, Default)]
pub struct Stats {
    /// Resumed from the node's topic alone.
    pub from_topic: AtomicU64,
    /// Resumed through an `XRANGE` replay, then the topic.
    pub from_redis: AtomicU64,
    /// Told to resync: id trimmed from Redis, from another Redis, or not an id.
    pub resync: AtomicU64,
    /// Subscribers told to resync because Redis lost the log (restart).
    pub reset: AtomicU64,
    /// Ended for falling behind (they resume on reconnect).
    pub lagged: AtomicU64,
    /// Times a channel found its Redis stream replaced.
    pub log_restarts: AtomicU64,
}

impl Stats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("redis answered an id that is not <ms>-<seq>: {0}")]
    BadId(String),
    #[error("the node's thread ended before it started")]
    Thread,
}

/// One Redis stream followed into a topic, and the watch that wakes its
/// subscribers after each batch.
struct Channel<P> {
    key: String,
    topic: Mutex<Topic<StreamId, P>>,
    changed: watch::Sender<()>,
    encode: fn(&StreamId, &str) -> P,
}

impl<P: Payload> Channel<P> {
    fn lock(&self) -> MutexGuard<'_, Topic<StreamId, P>> {
        self.topic.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn sse_entry(id: &StreamId, text: &str) -> PreparedEvent {
    let id = id.to_string();
    // Plain text with an id of digits and '-': nothing the encoder refuses.
    PreparedEvent::new(&EventRef::new(text).id(&id)).unwrap_or_else(|_| unreachable!())
}

fn ws_entry(id: &StreamId, text: &str) -> PreparedMessage {
    PreparedMessage::text(format!("{id}\t{text}"))
}

struct Shared {
    cfg: Config,
    client: redis::Client,
    cmds: ConnectionManager,
    feed: Arc<Channel<PreparedEvent>>,
    rooms: tokio::sync::Mutex<HashMap<String, Arc<Channel<PreparedMessage>>>>,
    stats: Arc<Stats>,
    acceptor: Acceptor,
}

/// A running node.
pub struct Node {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
}

/// Connects to Redis, starts following the feed and serves until the
/// runtime ends.
pub async fn start(cfg: Config) -> Result<Node, Error> {
    let client = redis::Client::open(cfg.redis_url.as_str())?;
    let cmds = ConnectionManager::new(client.clone()).await?;
    let stats = Arc::new(Stats::default());
    let key = format!("{}feed", cfg.prefix);
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;
    let feed = follow(&client, &cmds, key, &cfg, &stats, sse_entry).await?;
    let shared = Arc::new(Shared {
        acceptor: Acceptor::new(ws::Config::default()),
        cfg,
        client,
        cmds,
        feed,
        rooms: tokio::sync::Mutex::new(HashMap::new()),
        stats: Arc::clone(&stats),
    });
    let (s1, s2, s3) = (shared.clone(), shared.clone(), shared);
    let app = Router::new()
        .route("/events", get(move |h: HeaderMap| events(s1, h)))
        .route("/publish", post(move |body: Bytes| publish(s2, body)))
        .route("/ws/{room}", get(move |req: Request| room(s3, req)));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Node { addr, stats })
}

// ---------------------------------------------------------------- Redis side

/// Where a topic starts (or restarts) following `key`: after the stream's
/// newest id, and never before the Redis clock, so that every id a client
/// can hold from an older log (before a restart without data) is older
/// than the topic's floor and gets checked against Redis.
async fn start_point(
    conn: &mut impl redis::aio::ConnectionLike,
    key: &str,
) -> Result<StreamId, Error> {
    let (secs, micros): (u64, u64) = redis::cmd("TIME").query_async(conn).await?;
    let clock = StreamId {
        ms: secs * 1000 + micros / 1000,
        seq: 0,
    };
    let newest: StreamRangeReply = redis::cmd("XREVRANGE")
        .arg(key)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(conn)
        .await?;
    let generated = match newest.ids.first() {
        Some(entry) => parse_id(&entry.id)?,
        None => StreamId::default(),
    };
    Ok(generated.max(clock))
}

async fn run_id(conn: &mut MultiplexedConnection) -> Result<String, Error> {
    let info: String = redis::cmd("INFO").arg("server").query_async(conn).await?;
    Ok(info
        .lines()
        .find_map(|l| l.strip_prefix("run_id:"))
        .unwrap_or_default()
        .trim()
        .to_owned())
}

fn parse_id(text: &str) -> Result<StreamId, Error> {
    text.parse().map_err(|_| Error::BadId(text.to_owned()))
}

fn text_of(entry: &Entry) -> String {
    entry.get::<String>("d").unwrap_or_default()
}

async fn reader(client: &redis::Client, block_ms: usize) -> Result<MultiplexedConnection, Error> {
    // The blocking read must outlast BLOCK (redis-rs times out at 500 ms).
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_millis(block_ms as u64 + 5_000)));
    Ok(client
        .get_multiplexed_async_connection_with_config(&config)
        .await?)
}

/// A channel on `key`, and its reader task: `XREAD BLOCK` after the last id
/// appended, each batch appended to the topic under one lock.
async fn follow<P: Payload + Send + Sync + 'static>(
    client: &redis::Client,
    cmds: &ConnectionManager,
    key: String,
    cfg: &Config,
    stats: &Arc<Stats>,
    encode: fn(&StreamId, &str) -> P,
) -> Result<Arc<Channel<P>>, Error> {
    let mut conn = reader(client, cfg.block_ms).await?;
    let mut server = run_id(&mut conn).await?;
    let mut after = start_point(&mut cmds.clone(), &key).await?;
    let channel = Arc::new(Channel {
        key,
        topic: Mutex::new(Topic::starting_after(after, cfg.topic.clone())),
        changed: watch::Sender::new(()),
        encode,
    });
    let ch = Arc::clone(&channel);
    let (client, stats) = (client.clone(), Arc::clone(stats));
    let options = StreamReadOptions::default()
        .block(cfg.block_ms)
        .count(cfg.read_count);
    let block_ms = cfg.block_ms;
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(50);
        loop {
            let read: Result<StreamReadReply, _> = conn
                .xread_options(&[&ch.key], &[after.to_string()], &options)
                .await;
            match read {
                Ok(reply) => {
                    backoff = Duration::from_millis(50);
                    let Some(batch) = reply.keys.first() else {
                        continue;
                    };
                    let mut topic = ch.lock();
                    for entry in &batch.ids {
                        let Ok(id) = parse_id(&entry.id) else {
                            continue;
                        };
                        // In order by construction (XREAD after `after`); an
                        // entry over the topic's max_bytes is skipped, and
                        // clients that reach it are told to resync by eviction.
                        let _ = topic.append(id, (ch.encode)(&id, &text_of(entry)));
                        after = id;
                    }
                    drop(topic);
                    ch.changed.send_replace(());
                }
                Err(_) => {
                    // Redis went away: reconnect, then find out whether the
                    // log we follow is still the same one.
                    loop {
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                        let Ok(mut fresh) = reader(&client, block_ms).await else {
                            continue;
                        };
                        let Ok(now) = run_id(&mut fresh).await else {
                            continue;
                        };
                        let same = now == server || {
                            let probe: Result<StreamRangeReply, _> = fresh
                                .xrange_count(&ch.key, after.to_string(), after.to_string(), 1)
                                .await;
                            matches!(probe, Ok(r) if r.ids.len() == 1)
                        };
                        if !same {
                            let Ok(point) = start_point(&mut fresh, &ch.key).await else {
                                continue;
                            };
                            after = point;
                            let mut topic = ch.lock();
                            Stats::bump(&stats.log_restarts);
                            for _ in 0..topic.subscriber_count() {
                                Stats::bump(&stats.reset);
                            }
                            topic.restart_after(point);
                            drop(topic);
                            ch.changed.send_replace(());
                        }
                        (conn, server) = (fresh, now);
                        break;
                    }
                }
            }
        }
    });
    Ok(channel)
}

/// How a client starts on a channel: subscribed, with what Redis replayed
/// first; or subscribed live after being told to resync at the topic's
/// newest id.
enum Start<P> {
    Resumed(SubscriberId, Vec<P>),
    Resync(SubscriberId, Option<StreamId>),
}

enum Refused {
    /// The node's subscriber limit (503: try another node).
    Full,
    /// Redis did not answer, or the log kept moving (503: retry).
    Unavailable,
}

/// The resume rule: the topic if it still holds what follows `after`; an
/// `XRANGE` replay up to the topic's floor if Redis still holds `after`
/// itself (Redis trims only the oldest entries, so then it holds all that
/// follows); a resync otherwise.
async fn resume<P: Payload>(
    shared: &Shared,
    ch: &Channel<P>,
    after: Option<&str>,
) -> Result<Start<P>, Refused> {
    let resync = |topic: &mut Topic<StreamId, P>| {
        Stats::bump(&shared.stats.resync);
        let sub = topic.subscribe(None).map_err(|_| Refused::Full)?;
        Ok(Start::Resync(sub, topic.last_id().copied()))
    };
    let Some(text) = after.filter(|t| !t.is_empty()) else {
        return ch
            .lock()
            .subscribe(None)
            .map(|s| Start::Resumed(s, Vec::new()))
            .map_err(|_| Refused::Full);
    };
    let Ok(mut cursor) = text.parse::<StreamId>() else {
        return resync(&mut ch.lock());
    };
    let mut changed = ch.changed.subscribe();
    let mut replay = Vec::new();
    let mut conn = shared.cmds.clone();
    // Each round either subscribes or moves the cursor up to a floor that
    // rose meanwhile; a few rounds cover any realistic publish rate.
    for round in 0..8 {
        changed.borrow_and_update();
        let verdict = {
            let mut topic = ch.lock();
            topic
                .subscribe(Some(&cursor))
                .map_err(|e| (e, topic.floor().copied()))
        };
        match verdict {
            Ok(sub) => {
                let path = if replay.is_empty() {
                    &shared.stats.from_topic
                } else {
                    &shared.stats.from_redis
                };
                Stats::bump(path);
                return Ok(Start::Resumed(sub, replay));
            }
            Err((SubscribeError::TooOld, Some(floor))) => {
                // One MULTI: the cursor itself, and what follows it up to the floor.
                let (present, first, range): (
                    StreamRangeReply,
                    StreamRangeReply,
                    StreamRangeReply,
                ) = redis::pipe()
                    .atomic()
                    .xrange_count(&ch.key, cursor.to_string(), cursor.to_string(), 1)
                    .xrange_count(&ch.key, "-", "+", 1)
                    .xrange_count(
                        &ch.key,
                        format!("({cursor}"),
                        floor.to_string(),
                        shared.cfg.max_replay + 1,
                    )
                    .query_async(&mut conn)
                    .await
                    .map_err(|_| Refused::Unavailable)?;
                // After the first round the cursor is a floor of ours, which
                // may be no entry (a start point): then nothing before the
                // stream's first entry may be missing.
                let oldest = first
                    .ids
                    .first()
                    .and_then(|e| e.id.parse::<StreamId>().ok());
                let kept =
                    present.ids.len() == 1 || (round > 0 && oldest.is_some_and(|o| o <= cursor));
                if !kept || range.ids.len() + replay.len() > shared.cfg.max_replay {
                    return resync(&mut ch.lock());
                }
                for entry in &range.ids {
                    let id = parse_id(&entry.id).map_err(|_| Refused::Unavailable)?;
                    replay.push((ch.encode)(&id, &text_of(entry)));
                }
                cursor = floor;
            }
            Err((SubscribeError::Ahead, _)) => {
                // Another node served this id already; ours will read it
                // soon, if Redis has it.
                let probe: StreamRangeReply = conn
                    .xrange_count(&ch.key, cursor.to_string(), cursor.to_string(), 1)
                    .await
                    .map_err(|_| Refused::Unavailable)?;
                if probe.ids.is_empty() {
                    return resync(&mut ch.lock());
                }
                let _ = tokio::time::timeout(shared.cfg.ahead_wait, changed.changed()).await;
            }
            Err((SubscribeError::Full { .. }, _)) => return Err(Refused::Full),
            Err(_) => return resync(&mut ch.lock()),
        }
    }
    Err(Refused::Unavailable)
}

/// Gives the subscription back however the client's task ends.
struct Subscription<P: Payload> {
    ch: Arc<Channel<P>>,
    sub: SubscriberId,
}

impl<P: Payload> Subscription<P> {
    /// After [`PollError::Reset`]: subscribed again, live, and the id the
    /// client resyncs at (`None`: not even a start point).
    fn resync(&mut self) -> Option<Option<StreamId>> {
        let mut topic = self.ch.lock();
        self.sub = topic.subscribe(None).ok()?;
        Some(topic.last_id().copied())
    }
}

impl<P: Payload> Drop for Subscription<P> {
    fn drop(&mut self) {
        self.ch.lock().unsubscribe(self.sub);
    }
}

/// Up to `budget` entries for the subscriber, taken under the lock.
fn take<P: Payload>(
    ch: &Channel<P>,
    sub: SubscriberId,
    budget: usize,
) -> Result<Vec<P>, PollError> {
    let mut topic = ch.lock();
    let mut batch = Vec::new();
    while batch.len() < budget {
        match topic.poll_ref(sub)? {
            Some(entry) => batch.push(entry.payload.clone()),
            None => break,
        }
    }
    Ok(batch)
}

fn unavailable(status: StatusCode, why: &str) -> Response {
    (status, why.to_owned()).into_response()
}

// ------------------------------------------------------------------ SSE feed

async fn publish(shared: Arc<Shared>, body: Bytes) -> Response {
    if body.len() > shared.cfg.max_message {
        return unavailable(StatusCode::PAYLOAD_TOO_LARGE, "event over max_message");
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return unavailable(StatusCode::BAD_REQUEST, "not UTF-8");
    };
    match xadd(&shared, &shared.feed.key, text).await {
        Ok(id) => id.into_response(),
        // Not stored: the publisher is told, nothing is lost silently.
        Err(e) => unavailable(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

async fn xadd(shared: &Shared, key: &str, text: &str) -> Result<String, redis::RedisError> {
    let n = shared.cfg.stream_maxlen;
    let maxlen = if shared.cfg.approx_trim {
        StreamMaxlen::Approx(n)
    } else {
        StreamMaxlen::Equals(n)
    };
    let id: Option<String> = shared
        .cmds
        .clone()
        .xadd_maxlen(key, maxlen, "*", &[("d", text)])
        .await?;
    Ok(id.unwrap_or_default())
}

fn resync_event(at: Option<StreamId>) -> Bytes {
    // The id moves the client's Last-Event-ID to the point it resyncs at.
    let id = at.map(|id| id.to_string()).unwrap_or_default();
    let event = EventRef::new("resync").event_type("resync").id(&id);
    PreparedEvent::new(&event)
        .map(|e| e.bytes().clone())
        .unwrap_or_default()
}

async fn events(shared: Arc<Shared>, headers: HeaderMap) -> Response {
    let Ok(last) = sse::last_event_id_from_headers(&headers) else {
        return unavailable(StatusCode::BAD_REQUEST, "two Last-Event-ID fields");
    };
    let ch = Arc::clone(&shared.feed);
    let start = match resume(&shared, &ch, last.as_ref().map(|id| id.as_str())).await {
        Ok(start) => start,
        Err(Refused::Full) => return unavailable(StatusCode::SERVICE_UNAVAILABLE, "node full"),
        Err(Refused::Unavailable) => {
            return unavailable(StatusCode::SERVICE_UNAVAILABLE, "redis unavailable");
        }
    };
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let mut opening = BytesMut::new();
    sse::encode_retry(shared.cfg.retry_ms, &mut opening);
    let heartbeat = shared.cfg.heartbeat;
    let stats = Arc::clone(&shared.stats);
    tokio::spawn(async move {
        let (sub, first) = match start {
            Start::Resumed(sub, replay) => {
                (sub, replay.iter().map(|e| e.bytes().clone()).collect())
            }
            Start::Resync(sub, at) => (sub, vec![resync_event(at)]),
        };
        let mut subscription = Subscription { ch, sub };
        let _ = tx.send(opening.freeze()).await;
        for bytes in first {
            if tx.send(bytes).await.is_err() {
                return;
            }
        }
        let mut changed = subscription.ch.changed.subscribe();
        loop {
            changed.borrow_and_update();
            // Take only what the body can take now.
            let Ok(permit) = tx.reserve().await else {
                return;
            };
            match take(&subscription.ch, subscription.sub, 64) {
                Ok(batch) if batch.is_empty() => {
                    drop(permit);
                    tokio::select! {
                        _ = changed.changed() => {}
                        () = tokio::time::sleep(heartbeat) => { let _ = tx.send(Bytes::from_static(b":\n")).await; }
                        () = tx.closed() => return,
                    }
                }
                Ok(batch) => permit.send(concat(&batch)),
                Err(PollError::Reset) => {
                    let Some(at) = subscription.resync() else {
                        return;
                    };
                    permit.send(resync_event(at));
                }
                Err(_) => {
                    // Lagged: ending the response makes the client resume.
                    Stats::bump(&stats.lagged);
                    return;
                }
            }
        }
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, Infallible>(bytes), rx))
    }));
    sse::response_builder()
        .body(body)
        .unwrap_or_default()
        .into_response()
}

fn concat(batch: &[PreparedEvent]) -> Bytes {
    if let [one] = batch {
        return one.bytes().clone();
    }
    let mut out = BytesMut::with_capacity(batch.iter().map(Payload::wire_len).sum());
    for event in batch {
        out.extend_from_slice(event.bytes());
    }
    out.freeze()
}

// ---------------------------------------------------------------- chat rooms

async fn room_channel(shared: &Shared, name: &str) -> Option<Arc<Channel<PreparedMessage>>> {
    let mut rooms = shared.rooms.lock().await;
    if let Some(ch) = rooms.get(name) {
        return Some(Arc::clone(ch));
    }
    if rooms.len() >= shared.cfg.max_rooms {
        return None;
    }
    let key = format!("{}room:{name}", shared.prefix());
    let ch = follow(
        &shared.client,
        &shared.cmds,
        key,
        &shared.cfg,
        &shared.stats,
        ws_entry,
    )
    .await
    .ok()?;
    rooms.insert(name.to_owned(), Arc::clone(&ch));
    Some(ch)
}

impl Shared {
    fn prefix(&self) -> &str {
        &self.cfg.prefix
    }
}

async fn room(shared: Arc<Shared>, req: Request) -> Response {
    let name = req.uri().path().trim_start_matches("/ws/").to_owned();
    if name.is_empty()
        || name.len() > 64
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return unavailable(
            StatusCode::BAD_REQUEST,
            "room names are 1-64 of [A-Za-z0-9-]",
        );
    }
    // The WebSocket analogue of Last-Event-ID, as this application defines it.
    let after = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("after=")))
        .map(str::to_owned);
    let Some(ch) = room_channel(&shared, &name).await else {
        return unavailable(StatusCode::SERVICE_UNAVAILABLE, "max_rooms");
    };
    let start = match resume(&shared, &ch, after.as_deref()).await {
        Ok(start) => start,
        Err(_) => return unavailable(StatusCode::SERVICE_UNAVAILABLE, "retry"),
    };
    let node = Arc::clone(&shared);
    node.acceptor
        .upgrade(req, move |tx, mut rx| async move {
            let (sub, first) = match start {
                Start::Resumed(sub, replay) => (sub, replay),
                Start::Resync(sub, at) => (sub, vec![resync_message(at)]),
            };
            let mut subscription = Subscription { ch, sub };
            let mut changed = subscription.ch.changed.subscribe();
            if send_all(&tx, first).await.is_err() {
                return;
            }
            loop {
                changed.borrow_and_update();
                match take(&subscription.ch, subscription.sub, 64) {
                    Ok(batch) if batch.is_empty() => {}
                    Ok(batch) => {
                        if send_all(&tx, batch).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    Err(PollError::Reset) => {
                        let Some(at) = subscription.resync() else {
                            return;
                        };
                        if send_all(&tx, vec![resync_message(at)]).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    Err(PollError::Lagged(lagged)) => {
                        Stats::bump(&shared.stats.lagged);
                        let _ = tx
                            .close(lagged.close_code(), "lagged: resume with ?after=")
                            .await;
                        return;
                    }
                    Err(_) => return,
                }
                tokio::select! {
                    _ = changed.changed() => {}
                    event = rx.recv() => match event {
                        Some(Ok(ws::Event::Text(text))) if text.len() <= shared.cfg.max_message => {
                            if let Err(e) = xadd(&shared, &subscription.ch.key, &text).await {
                                // Not stored, and the sender is told so.
                                let _ = tx.send_text(format!("error\t{e}")).await;
                            }
                        }
                        Some(Ok(ws::Event::Text(_))) => {
                            let _ = tx.close(CloseCode::MESSAGE_TOO_BIG, "over max_message").await;
                            return;
                        }
                        Some(Ok(_)) => {}
                        _ => return,
                    }
                }
            }
        })
        .into_response()
}

fn resync_message(at: Option<StreamId>) -> PreparedMessage {
    let at = at.map(|id| id.to_string()).unwrap_or_default();
    PreparedMessage::text(format!("resync\t{at}"))
}

async fn send_all(tx: &Sender, batch: Vec<PreparedMessage>) -> Result<(), ws::SendError> {
    for message in batch {
        tx.send_prepared(message).await?;
    }
    Ok(())
}

// ------------------------------------------------------- a node as a thread

/// A node on a runtime of its own in a thread: `kill` drops the runtime,
/// and with it every task and socket, as ending the process would.
pub struct NodeThread {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NodeThread {
    pub fn spawn(cfg: Config) -> Result<NodeThread, Error> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let node = start(cfg).await;
                let ok = node.is_ok();
                let _ = ready_tx.send(node);
                if ok {
                    let _ = stopped.await;
                }
            });
            // Dropping the runtime drops every task: sockets close.
        });
        let node = ready_rx.recv().map_err(|_| Error::Thread)??;
        Ok(NodeThread {
            addr: node.addr,
            stats: node.stats,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn kill(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for NodeThread {
    fn drop(&mut self) {
        self.kill();
    }
}
