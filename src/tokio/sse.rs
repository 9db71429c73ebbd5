//! Server-Sent Events on hyper 1.x: a response body ([`EventStream`]) that
//! flushes the head at once, sends heartbeats and replays what a client
//! missed, and a [`Feed`] that publishes to every such body.

use crate::prelude::*;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ::tokio::sync::broadcast::{self, error::RecvError};
use ::tokio::time::Sleep;
use bytes::Bytes;
use http_body::Frame;
use tokio_util::sync::ReusableBoxFuture;

use crate::sse::{
    EncodeError, EventRef, Heartbeat, History, PreparedEvent, Replay, encode_retry,
    last_event_id_from_headers, response_builder,
};

/// Where a new [`EventStream`] starts, as [`Feed::subscribe`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resumed {
    /// No `Last-Event-ID`: live events only.
    New,
    /// This many missed events are replayed before the live ones.
    Replayed(usize),
    /// The id is not (or no longer) in the history: the client may have
    /// missed events that cannot be replayed; live events follow. Send a
    /// full resync first if the application has one ([`EventStream::prepend`]).
    Unknown,
}

type Next = (
    Result<PreparedEvent, RecvError>,
    broadcast::Receiver<PreparedEvent>,
);

async fn next(mut rx: broadcast::Receiver<PreparedEvent>) -> Next {
    (rx.recv().await, rx)
}

/// A `text/event-stream` response body (`http-body` 1, for hyper 1.x and
/// axum): first an opening line sent at once, because hyper writes the
/// response head only with the first body frame (a comment, or the
/// `retry` line of [`retry`](Self::retry)); then the missed events, then
/// the live ones; a heartbeat comment after every quiet
/// [`Heartbeat::DEFAULT_INTERVAL`] (or [`heartbeat`](Self::heartbeat)).
///
/// The body ends when the [`Feed`] is dropped, or when this client fell
/// more than the feed's capacity behind: no event is lost silently; the
/// client reconnects with `Last-Event-ID` and is replayed from the history.
///
/// # Example
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use http_body_util::BodyExt;
/// use pushcodec::sse::{EventRef, History};
/// use pushcodec::tokio::Feed;
///
/// let feed = Feed::new(History::new(1000, 1 << 20), 64);
/// feed.publish(&EventRef::new("one").id("1"))?;
/// feed.publish(&EventRef::new("two").id("2"))?;
/// // A client that saw "1" reconnects.
/// let mut body = feed.subscribe(Some("1"));
/// let opening = body.frame().await.unwrap()?.into_data().unwrap();
/// assert_eq!(&opening[..], b":\n"); // the head goes out with it
/// let missed = body.frame().await.unwrap()?.into_data().unwrap();
/// assert_eq!(&missed[..], b"id: 2\ndata: two\n\n");
/// feed.publish(&EventRef::new("three").id("3"))?;
/// let live = body.frame().await.unwrap()?.into_data().unwrap();
/// assert_eq!(&live[..], b"id: 3\ndata: three\n\n");
/// # Ok(())
/// # }
/// ```
pub struct EventStream {
    /// Sent before anything else, at once.
    opening: Option<Bytes>,
    replay: VecDeque<Bytes>,
    /// `None` once the live events ended.
    live: Option<ReusableBoxFuture<'static, Next>>,
    heartbeat: Heartbeat,
    sleep: Pin<Box<Sleep>>,
    armed: Option<Instant>,
    resumed: Resumed,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("replay", &self.replay.len())
            .field("live", &self.live.is_some())
            .field("heartbeat", &self.heartbeat)
            .field("resumed", &self.resumed)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    fn new(
        replay: VecDeque<Bytes>,
        live: Option<broadcast::Receiver<PreparedEvent>>,
        resumed: Resumed,
    ) -> Self {
        let now = Instant::now();
        EventStream {
            opening: Some(Bytes::from_static(b":\n")),
            replay,
            live: live.map(|rx| ReusableBoxFuture::new(next(rx))),
            heartbeat: Heartbeat::new(now),
            sleep: Box::pin(::tokio::time::sleep(Duration::ZERO)),
            armed: None,
            resumed,
        }
    }

    /// The quiet period before a heartbeat comment (default 15 s).
    #[must_use]
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = Heartbeat::with_interval(Instant::now(), interval);
        self
    }

    /// Opens with `retry: ms` (the client's reconnection delay, WHATWG HTML
    /// §9.2.6) instead of an empty comment.
    #[must_use]
    pub fn retry(mut self, ms: u64) -> Self {
        let mut line = Vec::new();
        encode_retry(ms, &mut line);
        self.opening = Some(line.into());
        self
    }

    /// Sends `event` before the replay and the live events (say, a full
    /// resync after [`Resumed::Unknown`]).
    #[must_use]
    pub fn prepend(mut self, event: &PreparedEvent) -> Self {
        self.replay.push_front(event.bytes().clone());
        self
    }

    /// Where this stream starts.
    pub fn resumed(&self) -> Resumed {
        self.resumed
    }

    /// A `200 OK` response with the event-stream headers
    /// ([`RESPONSE_HEADERS`](crate::sse::RESPONSE_HEADERS)) and this body.
    pub fn into_response(self) -> http::Response<EventStream> {
        response_builder()
            .body(self)
            .unwrap_or_else(|_| unreachable!("the event-stream headers are valid"))
    }

    fn data(&mut self, bytes: Bytes) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.heartbeat.handle_output(Instant::now());
        Poll::Ready(Some(Ok(Frame::data(bytes))))
    }
}

impl http_body::Body for EventStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(first) = this.opening.take() {
            return this.data(first);
        }
        if let Some(missed) = this.replay.pop_front() {
            return this.data(missed);
        }
        let Some(live) = this.live.as_mut() else {
            return Poll::Ready(None);
        };
        if let Poll::Ready((received, rx)) = live.poll(cx) {
            if let Ok(event) = received {
                live.set(next(rx));
                return this.data(event.bytes().clone());
            }
            // Lagged: events were lost for this client; ending the response
            // makes it resume from the history. Closed: the feed is gone.
            this.live = None;
            return Poll::Ready(None);
        }
        loop {
            let Some(at) = this.heartbeat.poll_timeout() else {
                return Poll::Pending;
            };
            if this.armed != Some(at) {
                this.sleep.as_mut().reset(at.into());
                this.armed = Some(at);
            }
            if this.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.heartbeat.handle_timeout(Instant::now());
            if let Some(comment) = this.heartbeat.poll_transmit() {
                return this.data(comment);
            }
        }
    }
}

/// One event stream for many clients: each event encoded once, kept in a
/// [`History`] and sent to every [`EventStream`] subscribed. Publishing and
/// subscribing take the same lock, so a reconnecting client gets every
/// event after its `Last-Event-ID` exactly once: the replay up to the
/// moment it subscribed, the live events after it.
///
/// Cloning gives another handle on the same feed.
///
/// # Example
/// See [`EventStream`].
#[derive(Debug, Clone)]
pub struct Feed {
    inner: Arc<Mutex<FeedInner>>,
}

#[derive(Debug)]
struct FeedInner {
    history: History,
    live: broadcast::Sender<PreparedEvent>,
}

impl Feed {
    /// A feed that keeps `history` for resuming clients and lets each
    /// client fall at most `capacity` events behind before its response
    /// ends (it then resumes from the history).
    pub fn new(history: History, capacity: usize) -> Self {
        let (live, _) = broadcast::channel(capacity.max(1));
        Feed {
            inner: Arc::new(Mutex::new(FeedInner { history, live })),
        }
    }

    /// Encodes `event` once, stores it and sends it to every subscriber.
    ///
    /// # Errors
    /// [`EncodeError`] for an id or event type with CR, LF or NUL; nothing
    /// is published then.
    pub fn publish(&self, event: &EventRef<'_>) -> Result<PreparedEvent, EncodeError> {
        let prepared = PreparedEvent::new(event)?;
        self.publish_prepared(prepared.clone());
        Ok(prepared)
    }

    /// Stores and sends an event encoded already.
    pub fn publish_prepared(&self, event: PreparedEvent) {
        let mut inner = self.lock();
        inner
            .history
            .push(event.id().cloned(), event.bytes().clone());
        // No subscriber is not an error: the history still has it.
        let _ = inner.live.send(event);
    }

    /// A body for a client that last saw `last_event_id` (`None`: a new
    /// client): the events it missed, then the live ones.
    pub fn subscribe(&self, last_event_id: Option<&str>) -> EventStream {
        let inner = self.lock();
        let live = inner.live.subscribe();
        let (replay, resumed) = match last_event_id.map(|id| inner.history.replay_after(id)) {
            None => (VecDeque::new(), Resumed::New),
            Some(Replay::Events(missed)) => {
                let missed: VecDeque<Bytes> = missed.cloned().collect();
                let n = missed.len();
                (missed, Resumed::Replayed(n))
            }
            Some(_) => (VecDeque::new(), Resumed::Unknown),
        };
        drop(inner);
        EventStream::new(replay, Some(live), resumed)
    }

    /// The whole answer to an event-stream request: `Last-Event-ID` read
    /// from `headers`, then [`subscribe`](Self::subscribe) and
    /// [`EventStream::into_response`]. A request with two `Last-Event-ID`
    /// fields is answered `400 Bad Request` with an empty body.
    pub fn respond(&self, headers: &http::HeaderMap) -> http::Response<EventStream> {
        match last_event_id_from_headers(headers) {
            Ok(id) => self.subscribe(id.as_deref()).into_response(),
            Err(e) => {
                let mut empty = EventStream::new(VecDeque::new(), None, Resumed::New);
                empty.opening = None;
                let mut response = http::Response::new(empty);
                *response.status_mut() =
                    http::StatusCode::from_u16(e.status()).unwrap_or(http::StatusCode::BAD_REQUEST);
                response
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FeedInner> {
        // The lock guards no invariant a panic could break halfway.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
