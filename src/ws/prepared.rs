//! Encode once, send to many: a server message whose frame is built once
//! and queued on any number of connections without a copy.

#[cfg(feature = "deflate")]
use crate::prelude::*;
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
    /// The message compressed once per parameter set, each as a whole
    /// frame with RSV1 (RFC 7692 §6.1) and its header length.
    #[cfg(feature = "deflate")]
    compressed: Vec<(crate::ws::deflate::SharedCompression, Bytes, usize)>,
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
        let (frame, header_len) = whole_frame(kind, 0, payload);
        PreparedMessage {
            kind,
            frame,
            header_len,
            #[cfg(feature = "deflate")]
            compressed: Vec::new(),
        }
    }

    /// Adds the message compressed for connections without context
    /// takeover whose [`shared_compression`](super::Connection::shared_compression)
    /// is `params` (once per distinct value; again is a no-op), so that
    /// [`send_prepared`](super::Connection::send_prepared) queues the same
    /// compressed frame on each of them. Connections with context takeover
    /// compress per connection, as for [`send_text`](super::Connection::send_text).
    ///
    /// # Example
    /// ```
    /// use pushcodec::ws::deflate::{DeflateConfig, negotiate_server};
    /// use pushcodec::ws::handshake::ExtensionOffer;
    /// use pushcodec::ws::{Config, Connection, PreparedMessage};
    ///
    /// let offers = ExtensionOffer::parse_list("permessage-deflate; server_no_context_takeover")?;
    /// let deflate = DeflateConfig::default();
    /// let (params, _) = negotiate_server(&offers, &deflate).expect("accepted");
    /// let mut conns: Vec<_> = (0..3)
    ///     .map(|_| Connection::server(Config::default()).with_deflate(&params, &deflate))
    ///     .collect();
    /// let params = conns[0].shared_compression().expect("no context takeover");
    /// let news = PreparedMessage::text("news ".repeat(100)).with_compression(params);
    /// for conn in &mut conns {
    ///     conn.send_prepared(&news)?; // the frame compressed once, shared
    ///     let frame = conn.poll_transmit().unwrap();
    ///     assert_eq!(frame[0], 0xc1); // FIN, RSV1 (compressed), text
    ///     assert!(frame.len() < 100);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn with_compression(mut self, params: crate::ws::deflate::SharedCompression) -> Self {
        if self.compressed_frame(params).is_none() {
            let payload = params.compress(&self.frame[self.header_len..]);
            let (frame, header_len) = whole_frame(self.kind, crate::ws::frame::RSV1, &payload);
            self.compressed.push((params, frame, header_len));
        }
        self
    }

    /// The compressed frame for `params` and its header length, if prepared.
    #[cfg(feature = "deflate")]
    pub(crate) fn compressed_frame(
        &self,
        params: crate::ws::deflate::SharedCompression,
    ) -> Option<(&Bytes, usize)> {
        self.compressed
            .iter()
            .find(|(p, ..)| *p == params)
            .map(|(_, frame, header_len)| (frame, *header_len))
    }

    /// Bytes of every frame held: the plain one and each compressed one.
    pub fn stored_len(&self) -> usize {
        #[cfg(feature = "deflate")]
        let compressed: usize = self.compressed.iter().map(|(_, f, _)| f.len()).sum();
        #[cfg(not(feature = "deflate"))]
        let compressed = 0;
        self.frame.len() + compressed
    }

    /// The payload's length, uncompressed.
    pub fn payload_len(&self) -> usize {
        self.frame.len() - self.header_len
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

/// An unmasked, unfragmented frame of `payload` and its header length.
fn whole_frame(kind: MessageKind, rsv: u8, payload: &[u8]) -> (Bytes, usize) {
    let header = FrameHeader {
        fin: true,
        rsv,
        opcode: kind.opcode(),
        mask: None,
        payload_len: payload.len() as u64,
    };
    let mut head = [0u8; MAX_HEADER_LEN];
    let header_len = header.encode(&mut head);
    let mut frame = BytesMut::with_capacity(header_len + payload.len());
    frame.put_slice(&head[..header_len]);
    frame.put_slice(payload);
    (frame.freeze(), header_len)
}
