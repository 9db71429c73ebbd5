//! Server-Sent Events (WHATWG HTML §9.2, "Server-sent events"), sans-IO.
//!
//! Codec:
//! - [`Decoder`]: feed a `text/event-stream` body in chunks of any size and
//!   take [`Item`]s (events, `retry` values, optional comments, limit
//!   errors). Spec-exact, the same output however the input is split,
//!   memory bounded by [`Limits`].
//! - [`encode_event`] / [`EventRef`], [`encode_comment`], [`encode_retry`]:
//!   always well-formed output into any [`bytes::BufMut`], or shared
//!   [`Bytes`](bytes::Bytes) via [`EventRef::to_bytes`] to send to many
//!   clients unchanged.
//!
//! Client: [`Client`] is a sans-IO `EventSource`: the decoder plus the last
//! event id, the server's `retry`, the (re)connect request headers, the
//! verdict on a response head ([`ResponseVerdict`]) and backoff with jitter
//! ([`BackoffConfig`]); the caller passes in time and randomness.
//!
//! Server: [`encode_response_head`] / [`RESPONSE_HEADERS`],
//! [`parse_request`] for `Last-Event-ID`, [`History`] to replay what a
//! reconnecting client missed, [`Heartbeat`] timer state, and
//! [`Outbound`]: a per-client queue of shared [`PreparedEvent`]s with a
//! high-water mark and a slow-consumer policy that never loses an event
//! silently (it ends the response so the client resumes from history).
//!
//! # Example
//! ```
//! use pushcodec::sse::{encode_comment, Decoder, EventRef, Item, Limits};
//!
//! // Server side: encode once, send the same bytes to every client.
//! let mut wire = Vec::new();
//! encode_comment("hello", &mut wire);
//! EventRef::new("first\nsecond").event_type("update").id("1").encode(&mut wire)?;
//!
//! // Client side: feed whatever chunks the socket gives; take items as
//! // they are decoded.
//! let mut dec = Decoder::new(Limits::default());
//! let mut events = Vec::new();
//! for chunk in wire.chunks(5) {
//!     for item in dec.feed(chunk) {
//!         match item? {
//!             Item::Event(ev) => events.push(ev),
//!             Item::Retry(ms) => println!("reconnect after {ms} ms"),
//!             _ => {}
//!         }
//!     }
//! }
//! dec.finish(); // end of stream: an unterminated event would be dropped here
//! assert_eq!(events[0].event_type(), "update");
//! assert_eq!(events[0].data(), "first\nsecond");
//! assert_eq!(dec.last_event_id(), "1"); // what a reconnect sends as Last-Event-ID
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decoder;
mod encoder;
mod event;
mod heartbeat;
mod history;
mod outbound;
mod reconnect;
mod server;

pub use crate::Utf8Bytes;
pub use decoder::{Decoder, Feed, LentFeed, LimitError, Limits};

/// The old name of [`LimitError`]: every error the decoder reports is a
/// broken limit (the spec itself never rejects a stream).
#[deprecated(since = "0.2.0", note = "renamed to `LimitError`")]
pub type Error = LimitError;
pub use encoder::{
    EncodeError, EventRef, encode_comment, encode_event, encode_retry, validate_event,
};
pub use event::{DEFAULT_EVENT_TYPE, Event, Item, LentEvent, LentItem};
pub use heartbeat::Heartbeat;
pub use history::{History, Replay, ReplayIter};
pub use outbound::{Outbound, PreparedEvent, Push, Resume, SlowConsumer};
pub use reconnect::{
    BackoffConfig, Client, ClientFeed, ClientLentFeed, ReadyState, ResponseVerdict,
};
pub use server::{
    EventStreamRequest, RESPONSE_HEADERS, RequestError, RequestLimits, encode_response_head,
    parse_request,
};
#[cfg(feature = "http")]
pub use server::{last_event_id_from_headers, response_builder};
