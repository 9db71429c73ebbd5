//! tokio-util codecs, for users of `Framed`, `FramedRead` and
//! `FramedWrite`: [`SseCodec`] (SSE items in, events out) and
//! [`FrameCodec`] (whole WebSocket frames both ways).
//!
//! They are thin: the rules stay in the sans-IO decoders they wrap
//! ([`sse::Decoder`], [`FrameDecoder`](crate::ws::FrameDecoder)), so a
//! `Framed` stream decodes exactly as the rest of the crate does.

use crate::Utf8Bytes;
use crate::prelude::*;
use std::io;

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::sse::{self, EncodeError, EventRef, Item, LimitError, Limits, PreparedEvent};
use crate::ws::frame::HeaderRules;
use crate::ws::{
    FrameDecoder, FrameEvent, FrameHeader, MAX_HEADER_LEN, ProtocolError, Role, Violation,
    apply_mask,
};

/// What stopped a [`SseCodec`] or a [`FrameCodec`]. As after any decoder
/// error, tokio-util's `FramedRead` then ends the stream.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// Reading or writing the transport failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// An SSE line or event went past the decoder's [`Limits`] (which
    /// limit, and the stream offset).
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// An SSE event that cannot be written as given (an id or type with a
    /// line break, say).
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A received WebSocket frame broke RFC 6455 §5 for the codec's role
    /// or its size limit (the rule, and the stream offset of the frame).
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// A WebSocket frame to send breaks RFC 6455 §5 for the codec's role
    /// (an unmasked client frame, a fragmented control frame, ...).
    #[error("refused to send a frame that breaks RFC 6455 §5: {0}")]
    Send(Violation),
}

/// Server-Sent Events for `Framed`: decodes a `text/event-stream` body into
/// [`sse::Item`]s with [`sse::Decoder`] (WHATWG HTML §9.2.6, any chunking),
/// and encodes [`EventRef`]s and [`PreparedEvent`]s.
///
/// Each read is handed to the decoder as shared bytes
/// ([`Decoder::feed_bytes`](sse::Decoder::feed_bytes)), so a value whose
/// line arrived in one read is a slice of the read buffer, not a copy.
/// The stream's end drops an unfinished event, as the spec says.
///
/// # Example
/// ```
/// use futures::{SinkExt, StreamExt};
/// use pushcodec::sse::{EventRef, Item, Limits};
/// use pushcodec::tokio::SseCodec;
/// use tokio_util::codec::{FramedRead, FramedWrite};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), pushcodec::tokio::CodecError> {
/// let (server, client) = tokio::io::duplex(4096);
/// let mut events = FramedRead::new(client, SseCodec::new(Limits::default()));
/// let mut out = FramedWrite::new(server, SseCodec::new(Limits::default()));
/// out.send(EventRef::new("line 1\nline 2").event_type("note").id("7")).await?;
/// drop(out); // the end of the stream
///
/// let Some(Ok(Item::Event(event))) = events.next().await else { panic!() };
/// assert_eq!((event.event_type(), event.data(), event.id()), ("note", "line 1\nline 2", "7"));
/// assert!(events.next().await.is_none());
/// // What a reconnect sends as Last-Event-ID.
/// assert_eq!(events.decoder().last_event_id(), "7");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SseCodec {
    decoder: sse::Decoder,
}

impl SseCodec {
    /// A codec whose decoder enforces `limits`.
    pub fn new(limits: Limits) -> Self {
        SseCodec::from(sse::Decoder::new(limits))
    }

    /// The last event id in effect: what a reconnect sends as
    /// `Last-Event-ID` (see [`sse::Decoder::last_event_id`]).
    pub fn last_event_id(&self) -> &Utf8Bytes {
        self.decoder.last_event_id()
    }

    /// The decoder.
    pub fn decoder(&self) -> &sse::Decoder {
        &self.decoder
    }

    /// The decoder, to reuse it for the next connection's stream.
    pub fn decoder_mut(&mut self) -> &mut sse::Decoder {
        &mut self.decoder
    }
}

/// A codec over a configured decoder (comments reported, a last event id
/// to resume from, idle release).
impl From<sse::Decoder> for SseCodec {
    fn from(decoder: sse::Decoder) -> Self {
        SseCodec { decoder }
    }
}

impl Decoder for SseCodec {
    type Item = Item;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Item>, CodecError> {
        if let Some(item) = self.decoder.next_item() {
            return Ok(Some(item?));
        }
        if src.is_empty() {
            return Ok(None);
        }
        // The whole read at once, into the decoder's queue (dropping the
        // iterator decodes the rest); `src` keeps its spare capacity.
        let chunk = src.split().freeze();
        drop(self.decoder.feed_bytes(&chunk));
        Ok(self.decoder.next_item().transpose()?)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Item>, CodecError> {
        if let Some(item) = self.decode(src)? {
            return Ok(Some(item));
        }
        // §9.2.6: at the end of the stream an event without its blank line
        // is not dispatched. The decoder is ready for the next stream.
        self.decoder.finish();
        Ok(None)
    }
}

impl Encoder<EventRef<'_>> for SseCodec {
    type Error = CodecError;

    fn encode(&mut self, event: EventRef<'_>, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(sse::encode_event(&event, dst)?)
    }
}

/// An event encoded once (for many streams): its bytes are copied into the
/// write buffer as they are.
impl Encoder<&PreparedEvent> for SseCodec {
    type Error = CodecError;

    fn encode(&mut self, event: &PreparedEvent, dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.extend_from_slice(event.bytes());
        Ok(())
    }
}

/// One whole WebSocket frame: its header and its payload, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// FIN, RSV bits, opcode and masking key (`payload_len` is the
    /// payload's length on receipt, and taken from `payload` when sent).
    pub header: FrameHeader,
    /// The payload, unmasked.
    pub payload: Bytes,
}

/// WebSocket frames for `Framed`, for one role: decodes whole frames under
/// RFC 6455 §5's header rules for frames that role receives (checked from
/// the header alone, before any payload is buffered; payloads over
/// `max_frame_size` are refused), and encodes frames under the rules for
/// frames it sends (masked exactly when it is the client).
///
/// This is the frame layer only. Fragmented messages, UTF-8 of text,
/// control frames answered, the close handshake and permessage-deflate
/// are the connection's: for a WebSocket endpoint use
/// [`WebSocket`](super::WebSocket); this codec fits proxies, recorders and
/// test tools that work on frames as they are.
///
/// # Example
/// ```
/// use bytes::Bytes;
/// use futures::{SinkExt, StreamExt};
/// use pushcodec::tokio::{Frame, FrameCodec};
/// use pushcodec::ws::{FrameHeader, OpCode, Role};
/// use tokio_util::codec::{FramedRead, FramedWrite};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), pushcodec::tokio::CodecError> {
/// let (client_io, server_io) = tokio::io::duplex(4096);
/// let mut client = FramedWrite::new(client_io, FrameCodec::new(Role::Client, 1 << 20));
/// let mut server = FramedRead::new(server_io, FrameCodec::new(Role::Server, 1 << 20));
///
/// let header = FrameHeader { fin: true, rsv: 0, opcode: OpCode::Text, mask: Some(*b"abcd"), payload_len: 0 };
/// client.send(Frame { header, payload: Bytes::from_static(b"hello") }).await?;
/// let frame = server.next().await.unwrap()?;
/// assert_eq!((frame.header.opcode, &frame.payload[..]), (OpCode::Text, &b"hello"[..]));
///
/// // A client frame without a mask breaks RFC 6455 §5.1: not sent.
/// let unmasked = FrameHeader { mask: None, ..header };
/// assert!(client.send(Frame { header: unmasked, payload: Bytes::new() }).await.is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FrameCodec {
    decoder: FrameDecoder,
    /// The frame being received, once its header is in.
    header: Option<FrameHeader>,
    /// Its payload pieces, when it arrived in more than one read.
    payload: BytesMut,
    /// A payload that arrived in one piece (no copy).
    piece: Option<Bytes>,
    /// The rules the peer applies to what this codec sends.
    send_rules: HeaderRules,
}

impl FrameCodec {
    /// A codec for `role`, refusing received payloads over
    /// `max_frame_size` bytes.
    pub fn new(role: Role, max_frame_size: usize) -> Self {
        let peer = match role {
            Role::Server => Role::Client,
            Role::Client => Role::Server,
        };
        FrameCodec {
            decoder: FrameDecoder::new(role, max_frame_size),
            header: None,
            payload: BytesMut::new(),
            piece: None,
            send_rules: HeaderRules::new(peer, usize::MAX),
        }
    }

    /// Lets frames both ways carry the given RSV bits (RSV1 = 0b100), for
    /// a negotiated extension (see [`FrameDecoder::allow_rsv`]).
    pub fn allow_rsv(&mut self, rsv: u8) {
        self.decoder.allow_rsv(rsv);
        self.send_rules.allowed_rsv = rsv & 0b111;
    }
}

impl Decoder for FrameCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        while let Some(event) = self.decoder.decode(src)? {
            match event {
                FrameEvent::Header(header) => self.header = Some(header),
                FrameEvent::Payload(piece) => match self.piece.take() {
                    None if self.payload.is_empty() => self.piece = Some(piece),
                    // Bounded: the header said how long, and the decoder
                    // refused lengths over max_frame_size.
                    first => {
                        if let Some(first) = first {
                            self.payload.extend_from_slice(&first);
                        }
                        self.payload.extend_from_slice(&piece);
                    }
                },
                FrameEvent::End => {
                    let Some(header) = self.header.take() else {
                        continue;
                    };
                    let payload = self
                        .piece
                        .take()
                        .unwrap_or_else(|| self.payload.split().freeze());
                    return Ok(Some(Frame { header, payload }));
                }
            }
        }
        Ok(None)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        // The decoder has taken the payload read so far out of `src`, so
        // an empty `src` alone does not mean the last frame was whole.
        if self.header.is_some() || !src.is_empty() {
            return Err(CodecError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the stream ended inside a WebSocket frame (stream offset {})",
                    self.decoder.offset() + src.len() as u64
                ),
            )));
        }
        Ok(None)
    }
}

impl Encoder<Frame> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        let header = FrameHeader {
            payload_len: frame.payload.len() as u64,
            ..frame.header
        };
        self.send_rules.check(&header).map_err(CodecError::Send)?;
        let mut head = [0u8; MAX_HEADER_LEN];
        let len = header.encode(&mut head);
        dst.reserve(len + frame.payload.len());
        dst.extend_from_slice(&head[..len]);
        let start = dst.len();
        dst.extend_from_slice(&frame.payload);
        if let Some(key) = header.mask {
            apply_mask(&mut dst[start..], key, 0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::OpCode;

    fn header(opcode: OpCode, fin: bool, mask: Option<[u8; 4]>) -> FrameHeader {
        FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask,
            payload_len: 0,
        }
    }

    /// Every split of `wire` into two reads gives the same items as one read.
    fn decode_split<D: Decoder>(codec: impl Fn() -> D, wire: &[u8]) -> Vec<Vec<D::Item>>
    where
        D::Error: core::fmt::Debug,
    {
        (0..=wire.len())
            .map(|cut| {
                let mut codec = codec();
                let mut buf = BytesMut::new();
                let mut items = Vec::new();
                for part in [&wire[..cut], &wire[cut..]] {
                    buf.extend_from_slice(part);
                    while let Some(item) = codec.decode(&mut buf).unwrap() {
                        items.push(item);
                    }
                }
                while let Some(item) = codec.decode_eof(&mut buf).unwrap() {
                    items.push(item);
                }
                items
            })
            .collect()
    }

    #[test]
    fn sse_items_are_the_same_for_every_split_and_the_unfinished_event_is_dropped() {
        // WHATWG HTML §9.2.6: BOM, CRLF, multi-line data, retry; the last
        // event has no blank line, so the end of the stream drops it.
        let wire = b"\xEF\xBB\xBFretry: 250\r\nid: 1\r\ndata: a\r\ndata: b\r\n\r\nevent: x\ndata: c\n\ndata: lost\n";
        let runs = decode_split(|| SseCodec::new(Limits::default()), wire);
        for items in &runs {
            assert_eq!(items, &runs[0]);
        }
        assert_eq!(runs[0].len(), 3, "{:?}", runs[0]);
        assert_eq!(runs[0][0], Item::Retry(250));
        let Item::Event(second) = &runs[0][2] else {
            panic!("{:?}", runs[0])
        };
        assert_eq!(
            (second.event_type(), second.data(), second.id()),
            ("x", "c", "1")
        );
    }

    #[test]
    fn sse_limit_error_names_the_limit_and_the_offset() {
        let mut codec = SseCodec::new(Limits {
            max_line_len: 8,
            ..Limits::default()
        });
        let mut buf = BytesMut::from(&b"data: 0123456789\n\n"[..]);
        match codec.decode(&mut buf) {
            Err(CodecError::Limit(LimitError::LineTooLong { limit: 8, offset })) => {
                assert!(offset <= 9, "{offset}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sse_encoder_writes_well_formed_events_or_refuses() {
        let mut codec = SseCodec::new(Limits::default());
        let mut out = BytesMut::new();
        codec
            .encode(EventRef::new("a\r\nb").id("9"), &mut out)
            .unwrap();
        let prepared = PreparedEvent::new(&EventRef::new("c")).unwrap();
        codec.encode(&prepared, &mut out).unwrap();
        assert_eq!(&out[..], b"id: 9\ndata: a\ndata: b\n\ndata: c\n\n");
        assert!(matches!(
            codec.encode(EventRef::new("x").id("1\n2"), &mut out),
            Err(CodecError::Encode(_))
        ));
        let mut decoded = Vec::new();
        while let Some(item) = codec.decode(&mut out).unwrap() {
            decoded.push(item);
        }
        assert_eq!(decoded.len(), 2);
    }

    #[test]
    fn frames_round_trip_in_both_roles_for_every_split() {
        for (sender, receiver, mask) in [
            (Role::Client, Role::Server, Some([9, 8, 7, 6])),
            (Role::Server, Role::Client, None),
        ] {
            let frames = [
                Frame {
                    header: header(OpCode::Text, false, mask),
                    payload: Bytes::from_static(b"frag"),
                },
                Frame {
                    header: header(OpCode::Ping, true, mask),
                    payload: Bytes::new(),
                },
                Frame {
                    header: header(OpCode::Continuation, true, mask),
                    payload: Bytes::from(vec![0xa5; 300]),
                },
            ];
            let mut wire = BytesMut::new();
            let mut out = FrameCodec::new(sender, 1024);
            for frame in frames.clone() {
                out.encode(frame, &mut wire).unwrap();
            }
            let expected: Vec<Frame> = frames
                .iter()
                .map(|f| Frame {
                    header: FrameHeader {
                        payload_len: f.payload.len() as u64,
                        ..f.header
                    },
                    payload: f.payload.clone(),
                })
                .collect();
            for items in decode_split(|| FrameCodec::new(receiver, 1024), &wire) {
                assert_eq!(items, expected, "{sender:?}");
            }
        }
    }

    #[test]
    fn frames_that_break_section_5_are_neither_sent_nor_received() {
        let mut client = FrameCodec::new(Role::Client, 16);
        let mut out = BytesMut::new();
        let refused = |codec: &mut FrameCodec, header, len: usize, out: &mut BytesMut| {
            let frame = Frame {
                header,
                payload: Bytes::from(vec![0; len]),
            };
            match codec.encode(frame, out) {
                Err(CodecError::Send(v)) => v,
                other => panic!("{other:?}"),
            }
        };
        // §5.1: a client masks every frame, a server none.
        let v = refused(&mut client, header(OpCode::Text, true, None), 1, &mut out);
        assert_eq!(v, Violation::UnmaskedFrame);
        let mut server = FrameCodec::new(Role::Server, 16);
        let v = refused(
            &mut server,
            header(OpCode::Text, true, Some([1; 4])),
            1,
            &mut out,
        );
        assert_eq!(v, Violation::MaskedFrame);
        // §5.5: control frames are whole and at most 125 bytes.
        let v = refused(&mut server, header(OpCode::Ping, false, None), 1, &mut out);
        assert_eq!(v, Violation::FragmentedControlFrame);
        let v = refused(
            &mut server,
            header(OpCode::Close, true, None),
            126,
            &mut out,
        );
        assert_eq!(v, Violation::ControlFrameTooLong { len: 126 });
        assert!(out.is_empty(), "nothing written for a refused frame");

        // The stream ends inside a frame's payload: an error, not a silent loss.
        let mut wire = BytesMut::new();
        server
            .encode(
                Frame {
                    header: header(OpCode::Binary, true, None),
                    payload: Bytes::from_static(b"abcdef"),
                },
                &mut wire,
            )
            .unwrap();
        wire.truncate(5);
        assert!(matches!(client.decode(&mut wire), Ok(None)));
        match client.decode_eof(&mut wire) {
            Err(CodecError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof),
            other => panic!("{other:?}"),
        }
        let mut client = FrameCodec::new(Role::Client, 16);

        // Received: over max_frame_size (16), refused from the header.
        let mut wire = BytesMut::new();
        FrameCodec::new(Role::Server, 1 << 20)
            .encode(
                Frame {
                    header: header(OpCode::Binary, true, None),
                    payload: Bytes::from(vec![0; 17]),
                },
                &mut wire,
            )
            .unwrap();
        wire.truncate(2);
        match client.decode(&mut wire) {
            Err(CodecError::Protocol(e)) => {
                assert_eq!(
                    e.violation(),
                    &Violation::FrameTooLarge { len: 17, limit: 16 }
                );
                assert_eq!(e.offset(), 0);
            }
            other => panic!("{other:?}"),
        }
    }
}
