//! Encode once, send to many: a server message whose frame is built once
//! and queued on any number of connections without a copy.

use bytes::{BufMut, Bytes, BytesMut};

use super::MessageKind;
use super::frame::{FrameHeader, MAX_HEADER_LEN};
use crate::Utf8Bytes;

/// A whole data message framed once, for broadcast.
///
/// A server's frames are not masked (RFC 6455 §5.1), so the same bytes are
/// right for every connection: [`Connection::send_prepared`] queues a
/// reference to them (one reference-count increment), never a copy. On a
/// client connection, which must mask with a fresh key per frame, the
/// payload is copied and masked as for any send.
///
/// [`Connection::send_prepared`]: super::Connection::send_prepared
///
/// # Example
/// ```
/// use pushcodec::ws::{Config, Connection, PreparedMessage};
///
/// let news = PreparedMessage::text("breaking: sans-IO is fun");
/// let mut clients: Vec<Connection> = (0..3).map(|_| Connection::server(Config::default())).collect();
/// for conn in &mut clients {
///     conn.send_prepared(&news)?;
/// }
/// for conn in &mut clients {
///     assert_eq!(conn.poll_transmit().as_deref(), Some(news.wire_bytes().as_ref()));
/// }
/// # Ok::<(), pushcodec::ws::SendError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedMessage {
    kind: MessageKind,
    frame: Bytes,
    header_len: usize,
}

impl PreparedMessage {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Self::new(MessageKind::Text, &text.into().into_bytes())
    }

    /// A binary message.
    pub fn binary(data: impl AsRef<[u8]>) -> Self {
        Self::new(MessageKind::Binary, data.as_ref())
    }

    fn new(kind: MessageKind, payload: &[u8]) -> Self {
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: kind.opcode(),
            mask: None,
            payload_len: payload.len() as u64,
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let header_len = header.encode(&mut head);
        let mut frame = BytesMut::with_capacity(header_len + payload.len());
        frame.put_slice(&head[..header_len]);
        frame.put_slice(payload);
        PreparedMessage {
            kind,
            frame: frame.freeze(),
            header_len,
        }
    }

    /// Text or binary.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The whole unmasked frame, as a server writes it.
    pub fn wire_bytes(&self) -> &Bytes {
        &self.frame
    }

    /// The message payload.
    pub fn payload(&self) -> Bytes {
        self.frame.slice(self.header_len..)
    }
}
