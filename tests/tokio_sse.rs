//! The SSE body of the tokio feature (issue 19) served by hyper 1.x over
//! real loopback TCP: the head comes before the first event, heartbeats
//! arrive on a quiet stream, and a reconnect with `Last-Event-ID` is
//! replayed exactly what it missed, then the live events. The feed is a
//! `Topic`: a lagging body ends (the client resumes), a dropped body
//! unsubscribes, a dropped feed ends its bodies, a full one answers 503.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use pushcodec::sse::EventRef;
use pushcodec::tokio::{Feed, Resumed};
use pushcodec::topic::TopicLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const STEP: Duration = Duration::from_secs(5);

/// A hyper HTTP/1.1 server answering every request from `feed`, with
/// heartbeats every `heartbeat`.
fn limits(max_entries: usize) -> TopicLimits {
    let mut limits = TopicLimits::default();
    limits.max_entries = max_entries;
    limits
}

async fn serve(feed: Feed, heartbeat: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let feed = feed.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let response = feed.respond(req.headers()).map(|b| b.heartbeat(heartbeat));
                    async move { Ok::<_, Infallible>(response) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// A raw HTTP/1.1 client: everything is checked on the bytes as they come.
struct Client {
    stream: TcpStream,
    got: Vec<u8>,
}

impl Client {
    async fn get(addr: SocketAddr, last_event_id: Option<&str>) -> Client {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let id = last_event_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
        let request =
            format!("GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n{id}\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        Client {
            stream,
            got: Vec::new(),
        }
    }

    /// Reads until `needle` has arrived; panics after `within`.
    async fn until(&mut self, needle: &str, within: Duration) {
        let found = tokio::time::timeout(within, async {
            while !contains(&self.got, needle.as_bytes()) {
                let n = self.stream.read_buf(&mut self.got).await.unwrap();
                assert!(
                    n > 0,
                    "closed before {needle:?}: {}",
                    String::from_utf8_lossy(&self.got)
                );
            }
        })
        .await;
        assert!(
            found.is_ok(),
            "no {needle:?} within {within:?}; got {:?}",
            String::from_utf8_lossy(&self.got)
        );
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.got).into_owned()
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn head_is_flushed_before_the_first_event() {
    let feed = Feed::new(limits(100));
    let addr = serve(feed.clone(), Duration::from_secs(60)).await;
    let mut client = Client::get(addr, None).await;
    // Nothing published, no heartbeat due for a minute: the head still
    // arrives at once, with the opening comment that carries it.
    client.until("\r\n\r\n", Duration::from_secs(1)).await;
    let head = client.text();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase().contains("x-accel-buffering: no"),
        "{head}"
    );
    feed.publish(&EventRef::new("hello")).unwrap();
    client.until("id: 1\ndata: hello\n\n", STEP).await;
}

#[tokio::test]
async fn heartbeat_arrives_on_a_quiet_stream() {
    let feed = Feed::new(limits(100));
    let addr = serve(feed.clone(), Duration::from_millis(100)).await;
    let mut client = Client::get(addr, None).await;
    client.until("\r\n\r\n", Duration::from_secs(1)).await;
    let start = tokio::time::Instant::now();
    // The opening `:\n`, then at least two heartbeats `:\n`.
    let before = client.text().matches(":\n").count();
    while client.text().matches(":\n").count() < before + 2 {
        let n = tokio::time::timeout(STEP, client.stream.read_buf(&mut client.got))
            .await
            .expect("a heartbeat")
            .unwrap();
        assert!(n > 0);
    }
    assert!(
        start.elapsed() >= Duration::from_millis(150),
        "not before the interval"
    );
}

#[tokio::test]
async fn resume_replays_exactly_the_missed_ids_then_live() {
    let feed = Feed::new(limits(100));
    let addr = serve(feed.clone(), Duration::from_secs(60)).await;
    for i in 1..=5 {
        feed.publish(&EventRef::new(&format!("event {i}"))).unwrap();
    }
    let mut client = Client::get(addr, Some("2")).await;
    client.until("id: 5\n", STEP).await;
    feed.publish(&EventRef::new("event 6")).unwrap();
    client.until("id: 6\n", STEP).await;
    let text = client.text();
    let ids: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .collect();
    assert_eq!(ids, ["3", "4", "5", "6"], "{text}");

    // An id the log never had: live events only.
    let mut stranger = Client::get(addr, Some("nope")).await;
    stranger.until("\r\n\r\n", STEP).await;
    feed.publish(&EventRef::new("event 7")).unwrap();
    stranger.until("id: 7\n", STEP).await;
    assert!(!stranger.text().contains("id: 6\n"));
}

/// The next data frame of a body, as text; `None` once it ended.
async fn next_frame(body: &mut pushcodec::tokio::EventStream) -> Option<String> {
    let frame = tokio::time::timeout(STEP, body.frame())
        .await
        .expect("a frame")?;
    let data = frame.unwrap().into_data().expect("a data frame");
    Some(String::from_utf8(data.to_vec()).unwrap())
}

#[tokio::test]
async fn a_body_past_the_lag_limit_ends_and_resumes_from_the_log() {
    let mut lag = limits(100);
    lag.max_lag_entries = 4;
    let feed = Feed::new(lag);
    let mut body = feed.subscribe(None).unwrap();
    assert_eq!(next_frame(&mut body).await.as_deref(), Some(":\n"));
    for i in 1..=6 {
        feed.publish(&EventRef::new(&format!("event {i}"))).unwrap();
    }
    // Not polled while six events went by: ended, never a silent gap.
    assert_eq!(next_frame(&mut body).await, None);
    assert_eq!(feed.subscribers(), 0);
    // The browser reconnects with the last id it had: all six, in order.
    let mut again = feed.subscribe(Some("0")).unwrap();
    assert_eq!(again.resumed(), Resumed::Replayed(6));
    assert_eq!(next_frame(&mut again).await.as_deref(), Some(":\n"));
    for i in 1..=6 {
        let frame = next_frame(&mut again).await.unwrap();
        assert_eq!(frame, format!("id: {i}\ndata: event {i}\n\n"));
    }
}

#[tokio::test]
async fn dropping_a_body_unsubscribes_and_dropping_the_feed_ends_the_bodies() {
    let feed = Feed::new(limits(100));
    let first = feed.subscribe(None).unwrap();
    let mut second = feed.subscribe(None).unwrap();
    assert_eq!(feed.subscribers(), 2);
    drop(first);
    assert_eq!(feed.subscribers(), 1);
    assert_eq!(next_frame(&mut second).await.as_deref(), Some(":\n"));
    let waiting = tokio::spawn(async move { next_frame(&mut second).await });
    tokio::task::yield_now().await;
    drop(feed);
    assert_eq!(waiting.await.unwrap(), None);
}

#[tokio::test]
async fn unknown_ids_resync_and_a_full_feed_answers_503() {
    let mut one = limits(100);
    one.max_subscribers = 1;
    let feed = Feed::new(one);
    feed.publish(&EventRef::new("a")).unwrap();
    for id in ["9", "x", "-1"] {
        let body = feed.subscribe(Some(id)).unwrap();
        assert_eq!(body.resumed(), Resumed::Unknown, "{id}");
    }
    let _held = feed.subscribe(None).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("last-event-id", "1".parse().unwrap());
    let response = feed.respond(&headers);
    assert_eq!(response.status(), 503);
    let mut body = response.into_body();
    assert_eq!(next_frame(&mut body).await, None);
}
