//! What a connection hands the application.

use bytes::Bytes;

use super::CloseFrame;
use super::frame::OpCode;
use crate::Utf8Bytes;

/// What the peer sent, in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A whole text message, validated as UTF-8.
    Text(Utf8Bytes),
    /// A whole binary message.
    Binary(Bytes),
    /// A ping and its payload. With [`Config::auto_pong`](super::Config::auto_pong)
    /// the pong is already queued.
    Ping(Bytes),
    /// A pong and its payload.
    Pong(Bytes),
    /// The peer's Close: its code and reason, or `None` when it gave no code
    /// (reported as 1005 by browsers). Nothing more will be received. With
    /// [`Config::auto_close_reply`](super::Config::auto_close_reply) (the
    /// default) the answering Close, with the same code and reason, is
    /// already queued; without it, send yours with `send_close`.
    Close(Option<CloseFrame>),
    /// A streamed message begins ([`Config::stream_messages`](super::Config::stream_messages)).
    MessageStart(MessageKind),
    /// The next part of a streamed text message: whole code points, validated.
    TextPart(Utf8Bytes),
    /// The next part of a streamed binary message.
    BinaryPart(Bytes),
    /// The streamed message is complete.
    MessageEnd,
}

/// An [`Event`] lent by [`Connection::poll_event_ref`](super::Connection::poll_event_ref):
/// the payload is borrowed from the connection until its next call, so a
/// message that is a frame by itself costs no split of the receive buffer
/// and no reference count. Same variants, same order, same rules as
/// [`Event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventRef<'a> {
    /// A whole text message, validated as UTF-8.
    Text(&'a str),
    /// A whole binary message.
    Binary(&'a [u8]),
    /// A ping and its payload (see [`Event::Ping`]).
    Ping(&'a [u8]),
    /// A pong and its payload.
    Pong(&'a [u8]),
    /// The peer's Close (see [`Event::Close`]).
    Close(Option<&'a CloseFrame>),
    /// A streamed message begins.
    MessageStart(MessageKind),
    /// The next part of a streamed text message: whole code points, validated.
    TextPart(&'a str),
    /// The next part of a streamed binary message.
    BinaryPart(&'a [u8]),
    /// The streamed message is complete.
    MessageEnd,
}

impl Event {
    /// The event with its payload borrowed.
    pub fn as_event_ref(&self) -> EventRef<'_> {
        match self {
            Event::Text(text) => EventRef::Text(text.as_str()),
            Event::Binary(data) => EventRef::Binary(data),
            Event::Ping(data) => EventRef::Ping(data),
            Event::Pong(data) => EventRef::Pong(data),
            Event::Close(frame) => EventRef::Close(frame.as_ref()),
            Event::MessageStart(kind) => EventRef::MessageStart(*kind),
            Event::TextPart(text) => EventRef::TextPart(text.as_str()),
            Event::BinaryPart(data) => EventRef::BinaryPart(data),
            Event::MessageEnd => EventRef::MessageEnd,
        }
    }
}

/// The two kinds of data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text.
    Text,
    /// Arbitrary bytes.
    Binary,
}

impl MessageKind {
    /// The opcode of a message's first frame (RFC 6455 §5.6).
    pub(crate) const fn opcode(self) -> OpCode {
        match self {
            MessageKind::Text => OpCode::Text,
            MessageKind::Binary => OpCode::Binary,
        }
    }
}
