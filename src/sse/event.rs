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

/// One dispatched event lent by [`LentFeed`](super::LentFeed): its type,
/// data and id borrowed from the chunk and the decoder until the next
/// call, so that handing it out takes no reference count and no
/// allocation. The same values as the [`Event`] that
/// [`Decoder::feed`](super::Decoder::feed) would give, whichever way the
/// chunks before were fed.
///
/// # Example
/// ```
/// use pushcodec::sse::{Decoder, LentItem, Limits};
///
/// let mut dec = Decoder::new(Limits::default());
/// let mut feed = dec.feed_lent(b"id: 7\nevent: delta\ndata: a\ndata: b\n\n");
/// let Some(Ok(LentItem::Event(ev))) = feed.next_item() else { panic!() };
/// assert_eq!((ev.event_type(), ev.data(), ev.id()), ("delta", "a\nb", "7"));
/// let owned = ev.to_event(); // a copy that outlives the call
/// assert!(feed.next_item().is_none());
/// assert_eq!(owned.data(), "a\nb");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LentEvent<'a> {
    // Each is valid UTF-8 (checked when decoded); kept as bytes so that
    // only the text asked for is turned back into a `str`.
    event_type: &'a [u8],
    data: &'a [u8],
    id: &'a [u8],
}

impl<'a> LentEvent<'a> {
    /// Built by the decoder from values it checked; an empty `event_type`
    /// means [`DEFAULT_EVENT_TYPE`].
    pub(crate) fn from_validated(event_type: &'a [u8], data: &'a [u8], id: &'a [u8]) -> Self {
        let event_type = if event_type.is_empty() {
            DEFAULT_EVENT_TYPE.as_bytes()
        } else {
            event_type
        };
        LentEvent {
            event_type,
            data,
            id,
        }
    }

    /// The event type: the last `event` field's value, or `message`.
    pub fn event_type(&self) -> &'a str {
        crate::utf8::validated_str(self.event_type)
    }

    /// The data: the `data` fields' values joined with LF.
    pub fn data(&self) -> &'a str {
        crate::utf8::validated_str(self.data)
    }

    /// The last event id in effect when the event was dispatched.
    pub fn id(&self) -> &'a str {
        crate::utf8::validated_str(self.id)
    }

    /// The event type's bytes (valid UTF-8; no check on the way out).
    pub fn event_type_bytes(&self) -> &'a [u8] {
        self.event_type
    }

    /// The data's bytes (valid UTF-8; no check on the way out).
    pub fn data_bytes(&self) -> &'a [u8] {
        self.data
    }

    /// The id's bytes (valid UTF-8; no check on the way out).
    pub fn id_bytes(&self) -> &'a [u8] {
        self.id
    }

    /// A copy of the event that outlives the loan.
    pub fn to_event(&self) -> Event {
        let copy = |text: &[u8]| Utf8Bytes::from_validated(Bytes::copy_from_slice(text));
        // The default type is the static text, not a copy of it.
        let event_type = if self.event_type == DEFAULT_EVENT_TYPE.as_bytes() {
            Utf8Bytes::new()
        } else {
            copy(self.event_type)
        };
        Event::new(event_type, copy(self.data), copy(self.id))
    }
}

/// What [`LentFeed::next_item`](super::LentFeed::next_item) yields: an
/// [`Item`] whose text is borrowed until the next call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LentItem<'a> {
    /// A dispatched event.
    Event(LentEvent<'a>),
    /// A valid `retry` field, in milliseconds (see [`Item::Retry`]).
    Retry(u64),
    /// A comment line's text, when asked for (see [`Item::Comment`]).
    Comment(&'a str),
}

impl<'a> LentItem<'a> {
    /// A copy of the item that outlives the loan.
    pub fn to_item(&self) -> Item {
        match *self {
            LentItem::Event(ev) => Item::Event(ev.to_event()),
            LentItem::Retry(ms) => Item::Retry(ms),
            LentItem::Comment(text) => Item::Comment(Utf8Bytes::from(text)),
        }
    }

    /// The item lent from an owned one.
    pub(crate) fn of(item: &'a Item) -> Self {
        match item {
            Item::Event(ev) => LentItem::Event(LentEvent::from_validated(
                ev.event_type_text().as_bytes(),
                ev.data_bytes(),
                ev.id_text().as_bytes(),
            )),
            Item::Retry(ms) => LentItem::Retry(*ms),
            Item::Comment(text) => LentItem::Comment(text.as_str()),
        }
    }
}
