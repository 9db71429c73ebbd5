//! Server-Sent Events (WHATWG HTML §9.2, "Server-sent events"), sans-IO.
//!
//! - [`Decoder`]: feed a `text/event-stream` body in chunks of any size,
//!   take [`Item`]s (events, `retry` values, optional comments, limit
//!   errors). Spec-exact, chunking-independent, memory bounded by [`Limits`].
//! - [`encode_event`], [`encode_comment`], [`encode_retry`]: always
//!   well-formed output into any [`bytes::BufMut`], or shared
//!   [`Bytes`](bytes::Bytes) via [`EventRef::to_bytes`].
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
//! // Client side: feed whatever chunks the socket gives, then take items.
//! let mut dec = Decoder::new(Limits::default());
//! for chunk in wire.chunks(5) {
//!     dec.feed(chunk);
//! }
//! while let Some(item) = dec.next_item() {
//!     match item? {
//!         Item::Event(ev) => {
//!             assert_eq!((ev.event_type(), ev.data(), ev.id()), ("update", "first\nsecond", "1"))
//!         }
//!         Item::Retry(ms) => println!("reconnect after {ms} ms"),
//!         _ => {}
//!     }
//! }
//! dec.finish(); // end of stream: an unterminated event would be dropped here
//! assert_eq!(dec.last_event_id(), "1"); // what a reconnect sends as Last-Event-ID
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decoder;
mod encoder;
mod event;
mod heartbeat;
mod history;
mod reconnect;
mod server;
mod text;

pub use decoder::{Decoder, Error, Limits};
pub use encoder::{
    EncodeError, EventRef, encode_comment, encode_event, encode_retry, validate_event,
};
pub use event::{DEFAULT_EVENT_TYPE, Event, Item};
pub use heartbeat::Heartbeat;
pub use history::{History, Replay, ReplayIter};
pub use reconnect::{BackoffConfig, Client, ReadyState, ResponseVerdict};
pub use server::{
    EventStreamRequest, RESPONSE_HEADERS, RequestError, RequestLimits, encode_response_head,
    parse_request,
};
pub use text::Utf8Bytes;
