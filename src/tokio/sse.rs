//! Server-Sent Events on hyper 1.x: a response body ([`EventStream`]) that
//! flushes the head at once, sends heartbeats and replays what a client
//! missed, and a [`Feed`] that publishes to every such body through one
//! [`Topic`]: the ordered log the replay comes from and the cursor of each
//! body are the same structure, so a resume is exact by construction.

use crate::prelude::*;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ::tokio::sync::watch;
use ::tokio::time::Sleep;
use bytes::Bytes;
use http_body::Frame;
use tokio_util::sync::ReusableBoxFuture;

use crate::sse::{
    EventRef, Heartbeat, PreparedEvent, encode_retry, last_event_id_from_headers, response_builder,
};
use crate::topic::{LogId, PublishError, Seq, SubscribeError, SubscriberId, Topic, TopicLimits};

/// Where a new [`EventStream`] starts, as [`Feed::subscribe`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resumed {
    /// No `Last-Event-ID`: live events only.
    New,
    /// This many missed events are replayed before the live ones.
    Replayed(u64),
    /// The id is not (or no longer) in the log, or not an id of its form:
    /// the client may have missed events that cannot be replayed; live
    /// events follow. Send a full resync first if the application has one
    /// ([`EventStream::prepend`]).
    Unknown,
}

/// Resolves when the feed has published since the receiver last looked.
async fn changed(mut rx: watch::Receiver<()>) -> watch::Receiver<()> {
    // An error is the feed gone: the next poll sees no subscriber.
    let _ = rx.changed().await;
    rx
}

/// A `text/event-stream` response body (`http-body` 1, for hyper 1.x and
/// axum): first an opening line sent at once, because hyper writes the
/// response head only with the first body frame (a comment, or the
/// `retry` line of [`retry`](Self::retry)); then the missed events, then
/// the live ones, all read from the [`Feed`]'s topic by this body's own
/// cursor; a heartbeat comment after every quiet
/// [`Heartbeat::DEFAULT_INTERVAL`] (or [`heartbeat`](Self::heartbeat)).
///
/// The body ends when the [`Feed`] is dropped, or when this client fell
/// behind the topic's lag limits (or the log evicted what it had not
/// taken, [`TopicLimits`]): no event is lost silently; the client
/// reconnects with `Last-Event-ID` and resumes from the log. Dropping the
/// body unsubscribes it.
///
/// # Example
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use http_body_util::BodyExt;
/// use pushcodec::sse::EventRef;
/// use pushcodec::tokio::{Feed, Resumed};
/// use pushcodec::topic::TopicLimits;
///
/// let feed = Feed::new(TopicLimits::default());
/// feed.publish(&EventRef::new("one"))?; // id 1, assigned by the feed
/// feed.publish(&EventRef::new("two"))?;
/// // A client that saw "1" reconnects.
/// let mut body = feed.subscribe(Some("1"))?;
/// assert_eq!(body.resumed(), Resumed::Replayed(1));
/// let opening = body.frame().await.unwrap()?.into_data().unwrap();
/// assert_eq!(&opening[..], b":\n"); // the head goes out with it
/// let missed = body.frame().await.unwrap()?.into_data().unwrap();
/// assert_eq!(&missed[..], b"id: 2\ndata: two\n\n");
/// feed.publish(&EventRef::new("three"))?;
/// let live = body.frame().await.unwrap()?.into_data().unwrap();
/// assert_eq!(&live[..], b"id: 3\ndata: three\n\n");
/// # Ok(())
/// # }
/// ```
pub struct EventStream {
    /// Sent before anything else, at once.
    opening: Option<Bytes>,
    /// Taken from the topic (or prepended), not yet handed to hyper.
    ready: VecDeque<Bytes>,
    /// The subscription; `None` once the live events ended. Weak, so that
    /// dropping the last [`Feed`] handle ends every body.
    source: Option<(Weak<dyn Source>, SubscriberId)>,
    /// Wakes the body when the feed publishes.
    changed: ReusableBoxFuture<'static, watch::Receiver<()>>,
    heartbeat: Heartbeat,
    sleep: Pin<Box<Sleep>>,
    armed: Option<Instant>,
    resumed: Resumed,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("ready", &self.ready.len())
            .field("live", &self.source.is_some())
            .field("heartbeat", &self.heartbeat)
            .field("resumed", &self.resumed)
            .finish_non_exhaustive()
    }
}

/// A feed's topic, whatever its id type, as a body reads it.
trait Source: Send + Sync {
    /// Moves what `sub` has not had into `out`; `false` if its live events
    /// ended (it lagged, the log was restarted, or it is not a subscriber).
    fn take(&self, sub: SubscriberId, out: &mut VecDeque<Bytes>) -> bool;
    fn unsubscribe(&self, sub: SubscriberId);
}

impl EventStream {
    fn new(
        source: Option<(Weak<dyn Source>, SubscriberId)>,
        rx: watch::Receiver<()>,
        resumed: Resumed,
    ) -> Self {
        let now = Instant::now();
        EventStream {
            opening: Some(Bytes::from_static(b":\n")),
            ready: VecDeque::new(),
            source,
            changed: ReusableBoxFuture::new(changed(rx)),
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
        self.ready.push_front(event.bytes().clone());
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

    /// Takes what the topic has for this body; `false` once its live
    /// events ended.
    fn take(&mut self) -> bool {
        let Some((source, sub)) = &self.source else {
            return false;
        };
        if let Some(source) = source.upgrade()
            && source.take(*sub, &mut self.ready)
        {
            return true;
        }
        self.source = None;
        false
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        if let Some((source, sub)) = self.source.take()
            && let Some(source) = source.upgrade()
        {
            source.unsubscribe(sub);
        }
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
        loop {
            if let Some(next) = this.ready.pop_front() {
                return this.data(next);
            }
            // A publish after this poll of `changed` wakes it; one before
            // it is already in the topic, and `take` finds it.
            let woken = this.changed.poll(cx);
            if !this.take() {
                // Lagged, or the feed is gone: ending the response makes
                // the client resume from the log with its Last-Event-ID.
                return Poll::Ready(None);
            }
            match woken {
                Poll::Ready(rx) => this.changed.set(changed(rx)),
                Poll::Pending if this.ready.is_empty() => break,
                Poll::Pending => {}
            }
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

/// One event stream for many clients, on a [`Topic`]: each event encoded
/// once with its id, kept in the topic's bounded log and read by every
/// [`EventStream`] through its own cursor. Subscribing places the cursor
/// right after the client's `Last-Event-ID` under the topic's lock, so a
/// reconnecting client gets every event after it exactly once: the replay,
/// then the live events, with no gap between them.
///
/// Ids are the topic's: [`Seq`] (1, 2, 3, ... assigned by
/// [`publish`](Self::publish)), or those of an external ordered log
/// ([`Feed::from_topic`] and [`append`](Self::append), such as Redis
/// Stream ids). Cloning gives another handle on the same feed.
///
/// # Example
/// See [`EventStream`].
pub struct Feed<I: LogId = Seq> {
    shared: Arc<Shared<I>>,
}

impl<I: LogId> Clone for Feed<I> {
    fn clone(&self) -> Self {
        Feed {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<I: LogId> std::fmt::Debug for Feed<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let topic = self.shared.lock();
        f.debug_struct("Feed")
            .field("events", &topic.len())
            .field("subscribers", &topic.subscriber_count())
            .field("last_id", &topic.last_id())
            .finish()
    }
}

struct Shared<I: LogId> {
    topic: Mutex<Topic<I, PreparedEvent>>,
    /// Bumped after each publish; every body holds a receiver.
    changed: watch::Sender<()>,
}

impl<I: LogId> Shared<I> {
    fn lock(&self) -> MutexGuard<'_, Topic<I, PreparedEvent>> {
        // The topic's invariants hold between its calls; a panic elsewhere
        // while the lock was held cannot break them halfway.
        self.topic.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<I: LogId + Send + 'static> Source for Shared<I> {
    fn take(&self, sub: SubscriberId, out: &mut VecDeque<Bytes>) -> bool {
        let mut topic = self.lock();
        loop {
            match topic.poll_ref(sub) {
                Ok(Some(entry)) => out.push_back(entry.payload.bytes().clone()),
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
    }

    fn unsubscribe(&self, sub: SubscriberId) {
        self.lock().unsubscribe(sub);
    }
}

impl Feed<Seq> {
    /// A feed whose topic keeps its log and lets each client lag within
    /// `limits` (a client past them is ended, and resumes from the log).
    pub fn new(limits: TopicLimits) -> Self {
        Feed::from_topic(Topic::new(limits))
    }

    /// Encodes `event` once with the next id as its `id` field, stores it
    /// and wakes every subscriber; returns the id. An `id` set on `event`
    /// is replaced by the topic's.
    ///
    /// # Errors
    /// [`PublishError::Encode`] for an event type with CR, LF or NUL,
    /// [`PublishError::TooLarge`] for an event over the topic's
    /// `max_bytes`; nothing is published then.
    pub fn publish(&self, event: &EventRef<'_>) -> Result<Seq, PublishError<Seq>> {
        let seq = self.shared.lock().publish_event(event)?;
        self.shared.changed.send_replace(());
        Ok(seq)
    }
}

impl<I: LogId + Send + 'static> Feed<I> {
    /// A feed over `topic`, with the ids of the log it follows (see
    /// [`Topic::starting_after`]).
    pub fn from_topic(topic: Topic<I, PreparedEvent>) -> Self {
        Feed {
            shared: Arc::new(Shared {
                topic: Mutex::new(topic),
                changed: watch::Sender::new(()),
            }),
        }
    }

    /// Bodies subscribed now.
    pub fn subscribers(&self) -> usize {
        self.shared.lock().subscriber_count()
    }

    /// Appends `event` under `id` (the external log's id, after every id
    /// appended before) and wakes every subscriber.
    ///
    /// # Errors
    /// As [`Topic::append_event`]: an id not after the last one, an event
    /// that cannot be encoded, or one over `max_bytes`.
    pub fn append(&self, id: I, event: &EventRef<'_>) -> Result<(), PublishError<I>> {
        self.shared.lock().append_event(id, event)?;
        self.shared.changed.send_replace(());
        Ok(())
    }

    /// A body for a client that last saw `last_event_id` (`None` or empty:
    /// a new client): the events it missed, then the live ones. An id the
    /// log cannot resume from gives live events and [`Resumed::Unknown`].
    ///
    /// # Errors
    /// [`SubscribeError::Full`]: the topic has its `max_subscribers`.
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Result<EventStream, SubscribeError> {
        // Taken before the cursor is placed: a publish in between wakes
        // the body, and its entry is after the cursor.
        let rx = self.shared.changed.subscribe();
        let mut topic = self.shared.lock();
        let (sub, resumed) = match topic.subscribe_last_event_id(last_event_id) {
            Ok(sub) => {
                let resumed = if last_event_id.is_some_and(|id| !id.is_empty()) {
                    Resumed::Replayed(topic.pending(sub).unwrap_or(0))
                } else {
                    Resumed::New
                };
                (sub, resumed)
            }
            Err(full @ SubscribeError::Full { .. }) => return Err(full),
            Err(_) => (topic.subscribe(None)?, Resumed::Unknown),
        };
        drop(topic);
        let shared: Arc<dyn Source> = self.shared.clone();
        let source = Arc::downgrade(&shared);
        Ok(EventStream::new(Some((source, sub)), rx, resumed))
    }

    /// The whole answer to an event-stream request: `Last-Event-ID` read
    /// from `headers`, then [`subscribe`](Self::subscribe) and
    /// [`EventStream::into_response`]. A request with two `Last-Event-ID`
    /// fields is answered `400 Bad Request`, one over the subscriber limit
    /// `503 Service Unavailable` (try another node), each with an empty
    /// body.
    pub fn respond(&self, headers: &http::HeaderMap) -> http::Response<EventStream> {
        let status = match last_event_id_from_headers(headers) {
            Ok(id) => match self.subscribe(id.as_deref()) {
                Ok(body) => return body.into_response(),
                Err(_) => http::StatusCode::SERVICE_UNAVAILABLE,
            },
            Err(e) => {
                http::StatusCode::from_u16(e.status()).unwrap_or(http::StatusCode::BAD_REQUEST)
            }
        };
        let mut empty = EventStream::new(None, self.shared.changed.subscribe(), Resumed::New);
        empty.opening = None;
        let mut response = http::Response::new(empty);
        *response.status_mut() = status;
        response
    }
}
