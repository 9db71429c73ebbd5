//! Client-side reconnection (WHATWG HTML §9.2.3 "Processing model"):
//! the last event id, the server's `retry`, the request headers of each
//! (re)connect, the verdict on a response head, and backoff with jitter.
//!
//! Time and randomness come from the caller: every method that can arm a
//! timer takes `now: Instant`, and the jitter is drawn from the client's
//! [`RandomSource`](crate::RandomSource).

use crate::prelude::*;
use core::time::Duration;
#[cfg(feature = "std")]
use std::time::Instant;

#[cfg(feature = "std")]
use crate::time::Origin;
use crate::time::after;

use bytes::BufMut;

use super::{Decoder, Feed, Item, LentFeed, LentItem, LimitError, Limits, Utf8Bytes};
use crate::RandomSource;

/// Exponential backoff with jitter: the delay before reconnect attempt `n`
/// (counting from 0) is `min(cap, base * 2^n) * factor`, with `factor`
/// drawn uniformly from `[jitter_min, jitter_max)`, and never more than
/// `cap`.
///
/// Defaults follow common practice: base 500 ms, cap 30 s, factor in
/// `[0.5, 1.5)`. Public fields, as every configuration in the crate
/// ([`ws::Config`](crate::ws::Config) likewise): start from `default()`
/// and set what differs.
///
/// # Example
/// ```
/// use std::time::Duration;
/// use pushcodec::sse::BackoffConfig;
///
/// let cfg = BackoffConfig::default();
/// // A random draw of 0.5 is the middle of [0.5, 1.5): factor 1.0.
/// assert_eq!(cfg.delay(0, 0.5), Duration::from_millis(500));
/// assert_eq!(cfg.delay(3, 0.5), Duration::from_millis(4000));
/// assert_eq!(cfg.delay(20, 0.99), Duration::from_secs(30)); // capped
///
/// let mut fixed = BackoffConfig::default();
/// (fixed.jitter_min, fixed.jitter_max) = (1.0, 1.0); // no jitter
/// assert_eq!(fixed.delay(1, 0.9), Duration::from_secs(1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct BackoffConfig {
    /// The first delay, before jitter.
    pub base: Duration,
    /// The longest delay.
    pub cap: Duration,
    /// The smallest jitter factor. Negative or non-finite factors count as
    /// 0; the two bounds are used in either order.
    pub jitter_min: f64,
    /// The jitter factor the draws stay below.
    pub jitter_max: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            jitter_min: 0.5,
            jitter_max: 1.5,
        }
    }
}

impl BackoffConfig {
    /// The delay before attempt `attempt` (0 = the first reconnect), for a
    /// `random` draw in `[0, 1)` (values outside are clamped into it), such
    /// as [`RandomSource::unit`] gives.
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        self.delay_from(self.base, attempt, random)
    }

    fn delay_from(&self, base: Duration, attempt: u32, random: f64) -> Duration {
        let grown = base
            .checked_mul(1u32 << attempt.min(31))
            .unwrap_or(Duration::MAX)
            .min(self.cap);
        let r = if random.is_finite() {
            random.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let clean = |f: f64| if f.is_finite() && f > 0.0 { f } else { 0.0 };
        let (a, b) = (clean(self.jitter_min), clean(self.jitter_max));
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let factor = low + (high - low) * r;
        Duration::try_from_secs_f64(grown.as_secs_f64() * factor)
            .unwrap_or(self.cap)
            .min(self.cap)
    }
}

/// What to do with a response to an event-stream request (WHATWG HTML
/// §9.2.3: "announce the connection" or "fail the connection").
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseVerdict {
    /// 200 with `Content-Type: text/event-stream`: read the body as the
    /// event stream.
    Stream,
    /// 204 No Content: the server asks the client to stop for good; do
    /// not reconnect.
    NoContent,
    /// Another status: fail the connection; do not reconnect. (Redirects
    /// are the HTTP client's job, as they are fetch's.)
    BadStatus(u16),
    /// 200, but the Content-Type is missing or not `text/event-stream`
    /// (parameters such as `charset` are ignored): fail the connection; do
    /// not reconnect.
    BadContentType,
}

impl ResponseVerdict {
    /// Judges an [`http::Response`] head (feature `http`).
    ///
    /// # Example
    /// ```
    /// use pushcodec::sse::ResponseVerdict;
    ///
    /// let res = http::Response::builder()
    ///     .header("content-type", "text/event-stream")
    ///     .body(())
    ///     .unwrap();
    /// assert_eq!(ResponseVerdict::of_http(&res), ResponseVerdict::Stream);
    /// ```
    #[cfg(feature = "http")]
    pub fn of_http<B>(response: &http::Response<B>) -> Self {
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(http::HeaderValue::as_bytes);
        Self::judge(response.status().as_u16(), content_type)
    }

    /// Judges a response head as WHATWG's `EventSource` does.
    ///
    /// # Example
    /// ```
    /// use pushcodec::sse::ResponseVerdict;
    ///
    /// let v = ResponseVerdict::judge(200, Some(b"Text/Event-Stream; charset=utf-8"));
    /// assert_eq!(v, ResponseVerdict::Stream);
    /// assert_eq!(ResponseVerdict::judge(204, None), ResponseVerdict::NoContent);
    /// assert_eq!(ResponseVerdict::judge(503, None), ResponseVerdict::BadStatus(503));
    /// ```
    pub fn judge(status: u16, content_type: Option<&[u8]>) -> Self {
        match status {
            200 if content_type.is_some_and(is_event_stream) => ResponseVerdict::Stream,
            200 => ResponseVerdict::BadContentType,
            204 => ResponseVerdict::NoContent,
            other => ResponseVerdict::BadStatus(other),
        }
    }
}

/// Whether a Content-Type value's MIME essence is `text/event-stream`
/// (type and subtype compared ASCII case-insensitively, parameters ignored).
fn is_event_stream(value: &[u8]) -> bool {
    let essence = value.split(|&b| b == b';').next().unwrap_or_default();
    let is_ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = essence
        .iter()
        .position(|b| !is_ws(b))
        .unwrap_or(essence.len());
    let end = essence
        .iter()
        .rposition(|b| !is_ws(b))
        .map_or(start, |i| i + 1);
    essence
        .get(start..end)
        .is_some_and(|e| e.eq_ignore_ascii_case(b"text/event-stream"))
}

/// Where a [`Client`] is (WHATWG `readyState`, with the wait made explicit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadyState {
    /// Open a connection now, sending [`Client::request_headers`].
    Connecting,
    /// The response was accepted; feed its body.
    Open,
    /// Waiting to reconnect, until [`Client::poll_timeout`].
    Waiting,
    /// Stopped for good (204, a failed response, or [`Client::close`]).
    Closed,
}

/// A sans-IO `EventSource`: the decoder plus everything a reconnecting
/// client must remember.
///
/// The drive loop: while [`state`](Self::state) is `Connecting`, send a
/// request with [`request_headers`](Self::request_headers); give the
/// response head to [`handle_response`](Self::handle_response); feed the
/// body to [`feed`](Self::feed) and drain [`next_item`](Self::next_item);
/// when the connection ends or fails, call
/// [`handle_disconnect`](Self::handle_disconnect), wait until
/// [`poll_timeout`](Self::poll_timeout), call
/// [`handle_timeout`](Self::handle_timeout), and start again when the
/// state is `Connecting`.
///
/// The jitter comes from [`with_random`](Self::with_random), or else from
/// [`OsRandom`](crate::OsRandom) (the `os-random` feature, on with `ws`).
/// A build with neither has no jitter: every delay takes the middle of
/// the jitter range.
///
/// # Example
/// The time comes from the caller's event loop (`start` below); the same
/// flow runs on a fake clock in `tests/sse/reconnect.rs`.
/// ```
/// use std::time::{Duration, Instant};
/// use pushcodec::RandomSource;
/// use pushcodec::sse::{BackoffConfig, Client, Item, Limits, ReadyState, ResponseVerdict};
///
/// /// Always the middle of the jitter range, so the example's times are fixed.
/// struct Middle;
/// impl RandomSource for Middle {
///     fn fill(&mut self, buf: &mut [u8]) { buf.fill(0x80) }
///     fn unit(&mut self) -> f64 { 0.5 }
/// }
///
/// fn first_drop(start: Instant) -> Result<(), pushcodec::sse::LimitError> {
///     let mut client = Client::new(Limits::default(), BackoffConfig::default())
///         .with_random(Box::new(Middle));
///     assert_eq!(client.state(), ReadyState::Connecting);
///     assert!(client.request_headers().all(|(name, _)| name != "Last-Event-ID"));
///
///     let verdict = client.handle_response(200, Some(b"text/event-stream"));
///     assert_eq!(verdict, ResponseVerdict::Stream);
///     for item in client.feed(b"retry: 2000\nid: 7\ndata: hi\n\n") {
///         let _ = item?;
///     }
///
///     // The connection drops: wait, then reconnect with Last-Event-ID.
///     let at = client.handle_disconnect(start).expect("reconnects");
///     assert_eq!(at, start + Duration::from_millis(2000));
///     assert_eq!(client.poll_timeout(), Some(at));
///     client.handle_timeout(at);
///     assert_eq!(client.state(), ReadyState::Connecting);
///     assert!(client.request_headers().any(|h| h == ("Last-Event-ID", "7")));
///     Ok(())
/// }
/// # let _ = first_drop;
/// ```
pub struct Client {
    decoder: Decoder,
    /// Where the jitter comes from; `None`: `OsRandom` when built in.
    random: Option<Box<dyn RandomSource>>,
    backoff: BackoffConfig,
    /// The server's reconnection time (`retry` field), if it sent one.
    retry: Option<Duration>,
    /// Consecutive reconnects without an event delivered.
    attempt: u32,
    /// Whether the current connection delivered an event.
    delivered: bool,
    state: ReadyState,
    /// While `Waiting`: when to reconnect, on the caller's timeline.
    until: Duration,
    #[cfg(feature = "std")]
    origin: Origin,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("state", &self.state)
            .field("attempt", &self.attempt)
            .field("retry", &self.retry)
            .field("last_event_id", self.last_event_id())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client about to make its first connection.
    pub fn new(limits: Limits, backoff: BackoffConfig) -> Self {
        Client {
            decoder: Decoder::new(limits),
            random: None,
            backoff,
            retry: None,
            attempt: 0,
            delivered: false,
            state: ReadyState::Connecting,
            until: Duration::ZERO,
            #[cfg(feature = "std")]
            origin: Origin::default(),
        }
    }

    /// Draws the reconnect jitter from `random` (a seeded source makes the
    /// delays reproducible).
    #[must_use]
    pub fn with_random(mut self, random: Box<dyn RandomSource>) -> Self {
        self.random = Some(random);
        self
    }

    /// A uniform draw in `[0, 1)` for the jitter.
    fn draw(&mut self) -> f64 {
        match &mut self.random {
            Some(random) => random.unit(),
            #[cfg(feature = "os-random")]
            None => crate::OsRandom::new().unit(),
            #[cfg(not(feature = "os-random"))]
            None => 0.5,
        }
    }

    /// Starts from a known last event id (say, one saved across restarts).
    #[must_use]
    pub fn with_last_event_id(mut self, id: Utf8Bytes) -> Self {
        self.decoder = self.decoder.with_last_event_id(id);
        self
    }

    /// Also report comments (heartbeats) as [`Item::Comment`].
    #[must_use]
    pub fn with_comments(mut self, report: bool) -> Self {
        self.decoder = self.decoder.with_comments(report);
        self
    }

    /// Where the client is.
    pub fn state(&self) -> ReadyState {
        self.state
    }

    /// The last event id in effect (empty after the server reset it).
    pub fn last_event_id(&self) -> &Utf8Bytes {
        self.decoder.last_event_id()
    }

    /// The server's reconnection time, if it sent a `retry` field.
    pub fn server_retry(&self) -> Option<Duration> {
        self.retry
    }

    /// Reconnects so far without an event delivered.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The headers of the next request (WHATWG HTML §9.2.3 and §9.2.4):
    /// `Accept: text/event-stream`, `Cache-Control: no-cache`, and
    /// `Last-Event-ID` when the last event id is not empty.
    pub fn request_headers(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        let id = self.decoder.last_event_id().as_str();
        [
            ("Accept", "text/event-stream"),
            ("Cache-Control", "no-cache"),
        ]
        .into_iter()
        .chain((!id.is_empty()).then_some(("Last-Event-ID", id)))
    }

    /// Writes [`request_headers`](Self::request_headers) as HTTP/1.1 header
    /// lines (`Name: value\r\n` each).
    pub fn encode_request_headers(&self, out: &mut impl BufMut) {
        crate::http1::put_header_lines(self.request_headers(), out);
    }

    /// Judges the response head (status, Content-Type value) and moves to
    /// `Open` or, for anything but a stream, to `Closed` for good.
    pub fn handle_response(&mut self, status: u16, content_type: Option<&[u8]>) -> ResponseVerdict {
        let verdict = ResponseVerdict::judge(status, content_type);
        if self.state == ReadyState::Closed {
            return verdict;
        }
        if verdict == ResponseVerdict::Stream {
            // A fresh body: BOM check and buffers start over, the id stays.
            let _ = self.decoder.finish();
            self.delivered = false;
            self.state = ReadyState::Open;
        } else {
            self.state = ReadyState::Closed;
        }
        verdict
    }

    /// Feeds a chunk of the response body; as [`Decoder::feed`], iterate
    /// the result to take items as they are decoded, or drop it and use
    /// [`next_item`](Self::next_item). Either way, `retry` values update
    /// the reconnect delay and an event marks this connection as one that
    /// delivered.
    pub fn feed<'a, 'c>(&'a mut self, chunk: &'c [u8]) -> ClientFeed<'a, 'c> {
        ClientFeed {
            inner: self.decoder.feed(chunk),
            seen: Seen {
                retry: &mut self.retry,
                delivered: &mut self.delivered,
            },
        }
    }

    /// Feeds a chunk of the response body and lends its items one at a
    /// time, as [`Decoder::feed_lent`] does (no allocation or reference
    /// count per event); what they say is noted as [`feed`](Self::feed)
    /// notes it.
    ///
    /// # Example
    /// ```
    /// use std::time::Duration;
    /// use pushcodec::sse::{BackoffConfig, Client, LentItem, Limits};
    ///
    /// let mut client = Client::new(Limits::default(), BackoffConfig::default());
    /// client.handle_response(200, Some(b"text/event-stream"));
    /// let mut feed = client.feed_lent(b"retry: 500\nid: 3\ndata: hi\n\n");
    /// while let Some(item) = feed.next_item() {
    ///     if let Ok(LentItem::Event(ev)) = item {
    ///         assert_eq!((ev.id(), ev.data()), ("3", "hi"));
    ///     }
    /// }
    /// drop(feed);
    /// assert_eq!(client.server_retry(), Some(Duration::from_millis(500)));
    /// assert_eq!(client.last_event_id(), "3");
    /// ```
    pub fn feed_lent<'a, 'c>(&'a mut self, chunk: &'c [u8]) -> ClientLentFeed<'a, 'c> {
        ClientLentFeed {
            inner: self.decoder.feed_lent(chunk),
            seen: Seen {
                retry: &mut self.retry,
                delivered: &mut self.delivered,
            },
        }
    }

    /// The next queued item (see [`feed`](Self::feed)).
    #[must_use]
    pub fn next_item(&mut self) -> Option<Result<Item, LimitError>> {
        let item = self.decoder.next_item()?;
        Seen {
            retry: &mut self.retry,
            delivered: &mut self.delivered,
        }
        .note(&item);
        Some(item)
    }

    /// The connection ended or could not be made. Ends the stream (an
    /// unterminated event is dropped) and, unless the client is closed,
    /// schedules the reconnect: returns when it is due (the jitter drawn
    /// from the client's random source).
    ///
    /// The delay grows with each attempt and resets once a connection has
    /// delivered an event. A server `retry` replaces the base delay, and
    /// the delay is never shorter than it (§9.2.3: wait the reconnection
    /// time, optionally longer) nor longer than the larger of it and the
    /// cap.
    #[cfg(feature = "std")]
    pub fn handle_disconnect(&mut self, now: Instant) -> Option<Instant> {
        let at = self.origin.since(now);
        let until = self.handle_disconnect_at(at)?;
        self.origin.instant(until)
    }

    /// As [`handle_disconnect`](Self::handle_disconnect), with the time as
    /// a `Duration` since an origin the caller picks (without `std`, the
    /// way time comes in; see the crate docs' "Without std").
    pub fn handle_disconnect_at(&mut self, now: Duration) -> Option<Duration> {
        let _ = self.decoder.finish();
        if self.state == ReadyState::Closed {
            return None;
        }
        if self.delivered {
            self.attempt = 0;
            self.delivered = false;
        }
        let random = self.draw();
        let delay = match self.retry {
            Some(retry) => {
                let cfg = BackoffConfig {
                    cap: self.backoff.cap.max(retry),
                    ..self.backoff
                };
                cfg.delay_from(retry, self.attempt, random).max(retry)
            }
            None => self.backoff.delay(self.attempt, random),
        };
        self.attempt = self.attempt.saturating_add(1);
        self.until = after(now, delay);
        self.state = ReadyState::Waiting;
        Some(self.until)
    }

    /// When the client next needs [`handle_timeout`](Self::handle_timeout).
    #[cfg(feature = "std")]
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.origin.instant(self.poll_timeout_at()?)
    }

    /// As [`poll_timeout`](Self::poll_timeout), on the caller's timeline.
    #[must_use]
    pub fn poll_timeout_at(&self) -> Option<Duration> {
        (self.state == ReadyState::Waiting).then_some(self.until)
    }

    /// Advances time: once the reconnect is due the state is `Connecting`.
    #[cfg(feature = "std")]
    pub fn handle_timeout(&mut self, now: Instant) {
        let at = self.origin.since(now);
        self.handle_timeout_at(at);
    }

    /// As [`handle_timeout`](Self::handle_timeout), on the caller's timeline.
    pub fn handle_timeout_at(&mut self, now: Duration) {
        if self.state == ReadyState::Waiting && now >= self.until {
            self.state = ReadyState::Connecting;
        }
    }

    /// Stops for good, as `EventSource.close()` does.
    pub fn close(&mut self) {
        let _ = self.decoder.finish();
        self.state = ReadyState::Closed;
    }
}

/// What the client learns from items as they go by.
#[derive(Debug)]
struct Seen<'a> {
    retry: &'a mut Option<Duration>,
    delivered: &'a mut bool,
}

impl Seen<'_> {
    fn note(&mut self, item: &Result<Item, LimitError>) {
        match item {
            Ok(Item::Event(_)) => self.event(),
            Ok(Item::Retry(ms)) => self.retry(*ms),
            _ => {}
        }
    }

    fn note_lent(&mut self, item: &Result<LentItem<'_>, LimitError>) {
        match item {
            Ok(LentItem::Event(_)) => self.event(),
            Ok(LentItem::Retry(ms)) => self.retry(*ms),
            _ => {}
        }
    }

    fn event(&mut self) {
        *self.delivered = true;
    }

    /// §9.2.6: retry sets the event source's reconnection time.
    fn retry(&mut self, ms: u64) {
        *self.retry = Some(Duration::from_millis(ms));
    }
}

/// The items of one body chunk for a [`Client`], each lent until the next
/// call; see [`Client::feed_lent`].
#[derive(Debug)]
pub struct ClientLentFeed<'a, 'c> {
    inner: LentFeed<'a, 'c>,
    seen: Seen<'a>,
}

impl ClientLentFeed<'_, '_> {
    /// The next item, borrowed until the next call; `None` once the chunk
    /// is used up.
    pub fn next_item(&mut self) -> Option<Result<LentItem<'_>, LimitError>> {
        let item = self.inner.next_item()?;
        self.seen.note_lent(&item);
        Some(item)
    }
}

/// The items of one body chunk for a [`Client`]; see [`Client::feed`].
#[derive(Debug)]
pub struct ClientFeed<'a, 'c> {
    inner: Feed<'a, 'c>,
    seen: Seen<'a>,
}

impl Iterator for ClientFeed<'_, '_> {
    type Item = Result<Item, LimitError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.inner.next()?;
        self.seen.note(&item);
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_essence() {
        for ok in [
            &b"text/event-stream"[..],
            b"TEXT/Event-Stream",
            b"text/event-stream;",
            b"text/event-stream;+bogus",
            b" text/event-stream ; charset=utf-8",
        ] {
            assert!(is_event_stream(ok), "{ok:?}");
        }
        for bad in [
            &b""[..],
            b"text/x-bogus",
            b"text/event-streams",
            b"text/event-stream x",
            b"text/plain",
        ] {
            assert!(!is_event_stream(bad), "{bad:?}");
        }
    }

    #[test]
    fn jitter_bounds_are_sanitized() {
        let cfg = BackoffConfig {
            jitter_min: 2.0,
            jitter_max: f64::NAN,
            ..BackoffConfig::default()
        };
        assert_eq!(cfg.delay(0, 0.0), Duration::ZERO);
        assert_eq!(cfg.delay(0, 0.5), Duration::from_millis(500));
    }

    #[test]
    fn huge_values_do_not_panic() {
        let cfg = BackoffConfig {
            base: Duration::MAX,
            cap: Duration::MAX,
            ..BackoffConfig::default()
        };
        let _ = cfg.delay(u32::MAX, 0.999);
        let _ = cfg.delay(0, f64::INFINITY);
    }
}
