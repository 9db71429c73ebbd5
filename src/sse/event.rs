//! What the decoder produces: [`Item`] and [`Event`].

use bytes::Bytes;

use super::Utf8Bytes;

/// The default event type (WHATWG HTML §9.2.6: "Initialize event's type
/// attribute to `message`").
pub const DEFAULT_EVENT_TYPE: &str = "message";

/// One dispatched event (WHATWG HTML §9.2.6, "dispatch the event").
///
/// # Example
/// ```
/// use pushcodec::sse::{Decoder, Item, Limits};
///
/// let mut dec = Decoder::new(Limits::default());
/// dec.feed(b"id: 7\nevent: delta\ndata: a\ndata: b\n\n");
/// let Some(Ok(Item::Event(ev))) = dec.next_item() else { panic!() };
/// assert_eq!((ev.event_type(), ev.data(), ev.id()), ("delta", "a\nb", "7"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[expect(
    clippy::struct_field_names,
    reason = "`event_type` is the spec's name (the event type buffer)"
)]
pub struct Event {
    event_type: Utf8Bytes,
    data: Utf8Bytes,
    id: Utf8Bytes,
}

impl Event {
    /// An event as the decoder would dispatch it; an empty `event_type`
    /// means [`DEFAULT_EVENT_TYPE`].
    pub fn new(event_type: Utf8Bytes, data: Utf8Bytes, id: Utf8Bytes) -> Self {
        let event_type = if event_type.is_empty() {
            Utf8Bytes::from_static(DEFAULT_EVENT_TYPE)
        } else {
            event_type
        };
        Event {
            event_type,
            data,
            id,
        }
    }

    /// The event type: the last `event` field's value, or `message`.
    pub fn event_type(&self) -> &str {
        self.event_type.as_str()
    }

    /// The data: the `data` fields' values joined with LF.
    pub fn data(&self) -> &str {
        self.data.as_str()
    }

    /// The data as shared bytes (no copy, no UTF-8 re-check).
    pub fn data_bytes(&self) -> &Bytes {
        self.data.as_bytes()
    }

    /// The last event id in effect when the event was dispatched (carried
    /// forward from earlier events; empty if none was ever set or it was
    /// reset with an empty `id` field).
    pub fn id(&self) -> &str {
        self.id.as_str()
    }

    /// The type as shared text.
    pub fn event_type_text(&self) -> &Utf8Bytes {
        &self.event_type
    }

    /// The data as shared text.
    pub fn data_text(&self) -> &Utf8Bytes {
        &self.data
    }

    /// The id as shared text.
    pub fn id_text(&self) -> &Utf8Bytes {
        &self.id
    }

    /// Takes the data out of the event without copying.
    pub fn into_data(self) -> Utf8Bytes {
        self.data
    }
}

/// What [`Decoder::next_item`](super::Decoder::next_item) yields.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Item {
    /// A dispatched event.
    Event(Event),
    /// A valid `retry` field (all ASCII digits), in milliseconds, reported
    /// as soon as its line ends (WHATWG HTML §9.2.6: it sets the
    /// reconnection time). Values beyond `u64::MAX` saturate.
    Retry(u64),
    /// A comment line's text after the `:` (one leading space stripped).
    /// Only produced when [`Decoder::with_comments`](super::Decoder::with_comments)
    /// asked for it: servers send comments as heartbeats.
    Comment(Utf8Bytes),
}
