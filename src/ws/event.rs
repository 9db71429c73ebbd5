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
