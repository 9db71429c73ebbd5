//! The per-connection state machine (RFC 6455 §5, §7), for either role.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};

use super::close::{ClosePayloadError, MAX_CLOSE_REASON, parse_close_payload};
use super::error::{ProtocolError, SendError, Violation};
use super::frame::{
    FrameDecoder, FrameEvent, FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode,
};
use super::mask::{apply_mask, copy_masked};
use super::prepared::PreparedMessage;
use super::timers::{Durations, Expired, Phase, Timers};
use super::{CloseCode, CloseFrame, Config, OsRandom, RandomSource, Role, SlowConsumer};
use crate::Utf8Bytes;
use crate::utf8::Utf8Validator;

/// Payloads up to this size are copied next to their header, so a small
/// frame leaves as one write; larger ones are queued as their own shared
/// `Bytes`, without a copy.
const COPY_THRESHOLD: usize = 4096;

/// A drained output buffer is kept for the next sends up to this size (a
/// fresh buffer for each large masked message would cost page faults on
/// every one); `handle_timeout` gives it back once the connection is idle.
const RETAINED_OUT_CAPACITY: usize = 2 << 20;

/// Room [`Connection::read_buf`] offers at least: enough for many small
/// frames per read, or for the header and a first piece of a large one.
const MIN_READ_ROOM: usize = 16 * 1024;

/// The most room [`Connection::read_buf`] offers between frames on the
/// strength of the last frame's size.
const MAX_READ_HINT: u64 = 1 << 20;

/// `Connection::lent_len` when the receive buffer is not lent out.
const NOT_LENT: usize = usize::MAX;

/// Client payloads at least this long are copied and masked in one pass;
/// shorter ones are copied, then masked in place (fewer instructions when
/// the zeroing costs more than the second pass saves).
const FUSED_MASK_MIN: usize = 512;

/// The RSV1 bit of a frame header, as `FrameHeader::rsv` holds it.
const RSV1: u8 = 0b100;

/// What the peer sent, in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A whole text message, validated as UTF-8.
    Text(Utf8Bytes),
    /// A whole binary message.
    Binary(Bytes),
    /// A ping and its payload. With [`Config::auto_pong`] the pong is already queued.
    Ping(Bytes),
    /// A pong and its payload.
    Pong(Bytes),
    /// The peer's Close: its code and reason, or `None` when it gave no code
    /// (reported as 1005 by browsers). The answering Close is already
    /// queued; nothing more will be received.
    Close(Option<CloseFrame>),
    /// A streamed message begins ([`Config::stream_messages`]).
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
    fn opcode(self) -> OpCode {
        match self {
            MessageKind::Text => OpCode::Text,
            MessageKind::Binary => OpCode::Binary,
        }
    }
}

/// A data message being received.
#[derive(Debug)]
struct Incoming {
    kind: MessageKind,
    /// Payload bytes so far (inflated bytes for a compressed message).
    size: u64,
    /// Wire bytes of a compressed message so far.
    compressed_size: u64,
    fragments: usize,
    body: Body,
    /// RSV1 on the first frame: permessage-deflate (RFC 7692 §6.1).
    compressed: bool,
    /// A streamed compressed message whose last part has been delivered:
    /// `MessageEnd` comes next.
    ending: bool,
}

/// The payload of a message being received, in as few copies as possible.
#[derive(Debug, Default)]
enum Body {
    #[default]
    Empty,
    /// One piece so far: the common single-frame message is handed out as
    /// the very bytes received, without a copy.
    One(Bytes),
    /// Several pieces, copied together.
    Joined(BytesMut),
}

/// Where the receive side is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Receiving {
    Open,
    /// The peer's Close arrived: nothing after it is read (RFC 6455 §5.5.1).
    CloseReceived,
    /// A protocol error was reported; nothing more is emitted.
    Failed,
}

/// One WebSocket connection after the handshake, for either role: bytes in,
/// events out; messages in, bytes out. No I/O: the caller moves the bytes.
///
/// The drive loop: after every [`handle_read`](Self::handle_read) or
/// `send_*`, drain [`poll_event`](Self::poll_event) and
/// [`poll_transmit`](Self::poll_transmit) until both are empty; close the
/// transport when [`should_close_transport`](Self::should_close_transport)
/// says so. For one copy less each way, read into [`read_buf`](Self::read_buf)
/// and write from [`pending_transmit`](Self::pending_transmit) /
/// [`advance_transmit`](Self::advance_transmit) instead.
///
/// # Example
/// ```
/// use pushcodec::ws::{Config, Connection, Event, Role};
///
/// let mut server = Connection::new(Role::Server, Config::default());
/// // A masked text frame "Hello" from a client (RFC 6455 §5.7).
/// server.handle_read(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// while let Some(event) = server.poll_event()? {
///     if let Event::Text(text) = event {
///         server.send_text(text)?; // echo, without copying the payload
///     }
/// }
/// let out = server.poll_transmit().unwrap();
/// assert_eq!(&out[..], b"\x81\x05Hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts of the close handshake and the send queue, each read on its own path"
)]
pub struct Connection {
    role: Role,
    config: Config,
    decoder: FrameDecoder,
    in_buf: BytesMut,
    /// Length of `in_buf` when [`read_buf`](Self::read_buf) lent it out, or
    /// `NOT_LENT`: what was appended since is accounted on the next call.
    lent_len: usize,
    /// Recent data frames' payload length (capped, halved by each smaller
    /// one): [`read_buf`](Self::read_buf) offers that much room between
    /// frames, so a stream of large frames is not copied twice at each start.
    read_hint: u32,
    receiving: Receiving,
    eof: bool,
    /// The header of the frame being received (its progress is the
    /// decoder's).
    frame: Option<FrameStarted>,
    message: Option<Incoming>,
    /// Pieces of a control frame's payload (at most 125 bytes).
    control: BytesMut,
    validator: Utf8Validator,

    /// Whole small frames not yet written: a reused `Vec`, cheaper per
    /// frame than a `BytesMut` that hands out shared pieces.
    out_buf: Vec<u8>,
    out_queue: VecDeque<Outgoing>,
    /// Part of the front chunk of `out_queue` was handed out: the rest of
    /// its frame must go out whole (a frame cut short corrupts the stream).
    payload_owed: bool,
    queued: usize,
    close_sent: bool,
    /// Kind of the fragmented message being sent, if one is unfinished.
    sending: Option<Sending>,
    send_validator: Utf8Validator,
    rng: Option<Box<dyn RandomSource>>,
    /// permessage-deflate, when negotiated (boxed: most connections have
    /// none, and an idle one holds no compression context).
    #[cfg(feature = "deflate")]
    deflate: Option<Box<super::deflate::PerMessageDeflate>>,

    timers: Timers,
    /// A timer failed the connection; `poll_event` reports it next.
    timer_error: Option<ProtocolError>,
    /// A timer gave up on the peer: the transport goes now.
    abandoned: bool,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("receiving", &self.receiving)
            .field("close_sent", &self.close_sent)
            .field("eof", &self.eof)
            .field("buffered_in", &self.in_buf.len())
            .field("queued_out", &self.queued)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection for `role` whose handshake is complete.
    pub fn new(role: Role, config: Config) -> Self {
        Connection {
            role,
            decoder: FrameDecoder::new(role, config.max_frame_size),
            timers: Timers::default(),
            config,
            in_buf: BytesMut::new(),
            lent_len: NOT_LENT,
            read_hint: 0,
            receiving: Receiving::Open,
            eof: false,
            frame: None,
            message: None,
            control: BytesMut::new(),
            validator: Utf8Validator::new(),
            out_buf: Vec::new(),
            out_queue: VecDeque::new(),
            payload_owed: false,
            queued: 0,
            close_sent: false,
            sending: None,
            send_validator: Utf8Validator::new(),
            rng: None,
            #[cfg(feature = "deflate")]
            deflate: None,
            timer_error: None,
            abandoned: false,
        }
    }

    /// A server's connection.
    pub fn server(config: Config) -> Self {
        Self::new(Role::Server, config)
    }

    /// A client's connection; masking keys come from [`OsRandom`].
    pub fn client(config: Config) -> Self {
        Self::new(Role::Client, config)
    }

    /// Replaces the source of masking keys (clients only use it).
    #[must_use]
    pub fn with_random(mut self, rng: Box<dyn RandomSource>) -> Self {
        self.rng = Some(rng);
        self
    }

    /// Turns on permessage-deflate (RFC 7692) as negotiated in the
    /// handshake: received messages with RSV1 are inflated (held to
    /// [`Config::max_message_size`] while inflating), and sent messages of
    /// at least `config.min_compress_size` bytes are compressed.
    ///
    /// # Example
    /// ```
    /// use pushcodec::ws::deflate::{negotiate_server, DeflateConfig};
    /// use pushcodec::ws::handshake::ExtensionOffer;
    /// use pushcodec::ws::{Config, Connection};
    ///
    /// let offers = ExtensionOffer::parse_list("permessage-deflate; client_max_window_bits")?;
    /// let deflate = DeflateConfig::default();
    /// let (params, answer) = negotiate_server(&offers, &deflate).expect("accepted");
    /// assert!(answer.starts_with("permessage-deflate")); // for AcceptBuilder::extension
    /// let conn = Connection::server(Config::default()).with_deflate(&params, &deflate);
    /// # Ok::<(), pushcodec::ws::handshake::HandshakeError>(())
    /// ```
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn with_deflate(
        mut self,
        params: &super::deflate::DeflateParams,
        config: &super::deflate::DeflateConfig,
    ) -> Self {
        self.decoder.allow_rsv(RSV1);
        self.deflate = Some(Box::new(super::deflate::PerMessageDeflate::new(
            params, self.role, config,
        )));
        self
    }

    /// This endpoint's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Takes bytes received from the peer, of any size and split anywhere.
    /// They are decoded as [`poll_event`](Self::poll_event) is called.
    /// Bytes after the peer's Close or a protocol error are ignored.
    pub fn handle_read(&mut self, bytes: &[u8]) {
        self.settle_read();
        if self.receiving == Receiving::Open && !self.eof && !bytes.is_empty() {
            self.in_buf.extend_from_slice(bytes);
            self.timers.on_received();
        }
    }

    /// The receive buffer, for reading from the transport straight into
    /// it: the bytes are then copied once, by the read, where
    /// [`handle_read`](Self::handle_read) copies what the caller read.
    /// Append only (`BufMut::put_slice`, tokio's `AsyncReadExt::read_buf`,
    /// or `Read::read` into `chunk_mut`) and never remove bytes; the next
    /// `poll_event`, `handle_read`, `handle_eof` or `handle_timeout` takes
    /// what was appended as received, as `handle_read` would.
    ///
    /// The spare capacity is at least 16 KiB between frames; while a frame
    /// is arriving, the rest of that frame (bounded by
    /// [`Config::max_frame_size`], checked already), so its payload lands
    /// in one allocation and is handed out without another copy; between
    /// frames, about as much as the recent frames took (up to 1 MiB), so a
    /// stream of large frames starts each one in room enough for it.
    ///
    /// # Example
    /// ```
    /// use bytes::BufMut;
    /// use pushcodec::ws::{Config, Connection, Event};
    ///
    /// let mut server = Connection::server(Config::default());
    /// let wire = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    /// let buf = server.read_buf();
    /// assert!(buf.capacity() - buf.len() >= wire.len());
    /// buf.put_slice(&wire); // what `socket.read_buf(buf)` would do
    /// assert_eq!(server.poll_event()?, Some(Event::Text("Hello".into())));
    /// # Ok::<(), pushcodec::ws::ProtocolError>(())
    /// ```
    pub fn read_buf(&mut self) -> &mut BytesMut {
        self.settle_read();
        // The rest of a frame being gathered in place, and room for the
        // next header.
        let room = if self.decoder.is_collecting() {
            let rest = self
                .decoder
                .remaining_payload()
                .saturating_sub(self.in_buf.len() as u64);
            // Exactly the rest: more (even room for the next header) would
            // move what is buffered to a bigger allocation, a second copy
            // of the frame's start.
            usize::try_from(rest).unwrap_or(0).max(1)
        } else {
            // Between frames: as much as recent frames took.
            (self.read_hint as usize + MAX_HEADER_LEN).max(MIN_READ_ROOM)
        };
        self.in_buf.reserve(room);
        self.lent_len = self.in_buf.len();
        &mut self.in_buf
    }

    /// Accounts the bytes appended to the buffer [`read_buf`](Self::read_buf)
    /// lent out, as `handle_read` would have.
    fn settle_read(&mut self) {
        if self.lent_len == NOT_LENT {
            return;
        }
        let before = std::mem::replace(&mut self.lent_len, NOT_LENT);
        if self.in_buf.len() > before {
            if self.receiving == Receiving::Open && !self.eof {
                self.timers.on_received();
            } else {
                self.in_buf.truncate(before);
            }
        }
    }

    /// The peer closed its side of the transport. Without a prior close
    /// handshake this is reported as [`Violation::AbnormalClosure`].
    pub fn handle_eof(&mut self) {
        self.settle_read();
        self.eof = true;
    }

    /// The next event, in wire order. `Ok(None)`: nothing more until more
    /// bytes arrive. After a protocol error is returned (once, after every
    /// event that came before it), only `Ok(None)` follows.
    ///
    /// # Errors
    /// A [`ProtocolError`] when the peer broke the protocol or a limit; the
    /// Close frame with its code is already queued for `poll_transmit`.
    #[must_use = "events and errors must be handled"]
    pub fn poll_event(&mut self) -> Result<Option<Event>, ProtocolError> {
        self.settle_read();
        if let Some(error) = self.timer_error.take() {
            return Err(error);
        }
        if self.receiving != Receiving::Open {
            return Ok(None);
        }
        loop {
            if self.message.as_ref().is_some_and(|m| m.ending) {
                self.message = None;
                return Ok(Some(Event::MessageEnd));
            }
            if self.frame.is_none()
                && self.message.is_none()
                && !self.config.stream_messages
                && let Some(event) = self.decode_whole_message()
            {
                return Ok(Some(event));
            }
            if self.decoder.is_collecting() {
                match self.collect_payload() {
                    Ok(true) => {}
                    Ok(false) => return self.need_more(),
                    Err(e) => return Err(self.fail(e)),
                }
            }
            let decoded = match self.decoder.decode(&mut self.in_buf) {
                Ok(Some(decoded)) => decoded,
                Ok(None) => return self.need_more(),
                Err(e) => return Err(self.fail(e)),
            };
            let step = match decoded {
                FrameEvent::Header(header) => self.on_header(header),
                FrameEvent::Payload(piece) => self.on_payload(piece),
                FrameEvent::End => self.on_frame_end(),
            };
            match step {
                Ok(Some(event)) => return Ok(Some(event)),
                Ok(None) => {}
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    /// Nothing more can be decoded from what is buffered.
    fn need_more(&mut self) -> Result<Option<Event>, ProtocolError> {
        if self.eof {
            let at = self.decoder.offset() + self.in_buf.len() as u64;
            return Err(self.fail(ProtocolError::new(Violation::AbnormalClosure, at)));
        }
        if self.in_buf.is_empty() && !self.decoder.is_collecting() {
            // An idle connection holds no heap; the allocation lives on
            // only in the payloads handed out, if the caller keeps them.
            self.in_buf = BytesMut::new();
        }
        Ok(None)
    }

    /// The common case in one step: a whole, unfragmented, uncompressed
    /// message already buffered becomes its event with one header parse,
    /// one unmasking pass and one split, without the per-frame steps.
    /// Anything else (and any rule broken) is left to the step-by-step path.
    fn decode_whole_message(&mut self) -> Option<Event> {
        let max_message = self.config.max_message_size as u64;
        let (header, payload) = self.decoder.decode_whole(&mut self.in_buf, |h, payload| {
            h.fin
                && h.rsv == 0
                && h.payload_len <= max_message
                && match h.opcode {
                    OpCode::Binary => true,
                    // Under 64 bytes simdutf8 falls back to the byte-wise
                    // check; short texts are mostly ASCII, which a word-wise
                    // test settles first.
                    OpCode::Text if payload.len() < 64 => {
                        payload.is_ascii() || std::str::from_utf8(payload).is_ok()
                    }
                    OpCode::Text => simdutf8::basic::from_utf8(payload).is_ok(),
                    _ => false,
                }
        })?;
        // Smaller frames wear the read hint down, so one large message
        // does not make every later read ask for its size.
        #[expect(clippy::cast_possible_truncation, reason = "at most MAX_READ_HINT")]
        let len = payload.len().min(MAX_READ_HINT as usize) as u32;
        self.read_hint = len.max(self.read_hint / 2);
        Some(if header.opcode == OpCode::Text {
            Event::Text(Utf8Bytes::from_validated(payload))
        } else {
            Event::Binary(payload)
        })
    }

    /// Unmasks (and for text validates, failing fast) the bytes of the
    /// frame being collected that arrived since the last call; once all
    /// are there, takes the payload in one piece. `Ok(false)`: more bytes
    /// are needed.
    fn collect_payload(&mut self) -> Result<bool, ProtocolError> {
        let fresh = self.decoder.unmask_in_place(&mut self.in_buf);
        if self
            .message
            .as_ref()
            .is_some_and(|m| m.kind == MessageKind::Text)
        {
            let at = self.decoder.offset() + fresh.start as u64;
            self.validator
                .feed(&self.in_buf[fresh])
                .map_err(|e| ProtocolError::new(Violation::InvalidUtf8, at + e.index as u64))?;
        }
        let at = self.decoder.offset();
        let Some(payload) = self.decoder.take_held(&mut self.in_buf) else {
            return Ok(false);
        };
        self.take_data(payload, at, true)?;
        Ok(true)
    }

    fn on_header(&mut self, header: FrameHeader) -> Result<Option<Event>, ProtocolError> {
        // The header's first byte, for error offsets.
        let at = self.decoder.offset() - header.encoded_len() as u64;
        let violation = |v| Err(ProtocolError::new(v, at));
        self.frame = Some(FrameStarted {
            opcode: header.opcode,
            fin: header.fin,
        });
        match header.opcode {
            OpCode::Text | OpCode::Binary => {
                // RFC 6455 §5.4: fragments of two messages never interleave.
                if self.message.is_some() {
                    return violation(Violation::ExpectedContinuation);
                }
                let kind = if header.opcode == OpCode::Text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                // The decoder lets RSV1 through only when permessage-deflate
                // was negotiated.
                let compressed = header.rsv & RSV1 != 0;
                let mut message = Incoming {
                    kind,
                    size: 0,
                    compressed_size: 0,
                    fragments: 1,
                    body: Body::Empty,
                    compressed,
                    ending: false,
                };
                self.account_frame(&mut message, header.payload_len, at)?;
                self.message = Some(message);
                self.validator.reset();
                if self.config.stream_messages {
                    return Ok(Some(Event::MessageStart(kind)));
                }
                self.start_collecting(&header);
            }
            OpCode::Continuation => {
                let Some(mut message) = self.message.take() else {
                    return violation(Violation::UnexpectedContinuation);
                };
                if message.fragments >= self.config.max_fragments {
                    return violation(Violation::TooManyFragments {
                        limit: self.config.max_fragments,
                    });
                }
                message.fragments += 1;
                self.account_frame(&mut message, header.payload_len, at)?;
                self.message = Some(message);
                self.start_collecting(&header);
            }
            OpCode::Close | OpCode::Ping | OpCode::Pong => self.control.clear(),
        }
        // RFC 7692 §6.1: RSV1 marks the first frame of a compressed message
        // only, never a continuation or control frame.
        if header.rsv & RSV1 != 0 && !matches!(header.opcode, OpCode::Text | OpCode::Binary) {
            return violation(Violation::MisplacedCompressionBit);
        }
        Ok(None)
    }

    /// A data frame's payload that has not all arrived is gathered in
    /// place, in one allocation of the announced size (bounded by
    /// [`Config::max_frame_size`] and [`Config::max_message_size`], both
    /// checked already), so it is copied once, by `handle_read`. Streamed
    /// and compressed messages are taken piece by piece instead.
    fn start_collecting(&mut self, header: &FrameHeader) {
        if self.config.stream_messages
            || header.rsv & RSV1 != 0
            || self.message.as_ref().is_some_and(|m| m.compressed)
            || header.payload_len == 0
        {
            return;
        }
        self.decoder.collect();
        let len = u32::try_from(header.payload_len.min(MAX_READ_HINT)).unwrap_or(0);
        self.read_hint = len.max(self.read_hint / 2);
        // `usize` holds it: the decoder checked it against `max_frame_size`.
        let len = usize::try_from(header.payload_len).unwrap_or(0);
        // Room for what has not arrived yet: the start may be buffered.
        self.in_buf.reserve(len.saturating_sub(self.in_buf.len()));
    }

    /// Counts a data frame's payload against the message limit before any
    /// of it is buffered. A compressed message is held to the limit as it
    /// inflates; its wire bytes get the same limit plus what deflate can add
    /// to incompressible data (5 bytes per 16 KiB block), which bounds the
    /// CPU a peer can spend on messages that inflate to nothing.
    fn account_frame(
        &self,
        message: &mut Incoming,
        len: u64,
        at: u64,
    ) -> Result<(), ProtocolError> {
        let limit = self.config.max_message_size as u64;
        let (counter, limit) = if message.compressed {
            (&mut message.compressed_size, limit + limit / 2048 + 64)
        } else {
            (&mut message.size, limit)
        };
        let total = counter.saturating_add(len);
        if total > limit {
            return Err(ProtocolError::new(
                Violation::MessageTooLarge {
                    size: total,
                    limit: self.config.max_message_size,
                },
                at,
            ));
        }
        *counter = total;
        Ok(())
    }

    fn on_payload(&mut self, piece: Bytes) -> Result<Option<Event>, ProtocolError> {
        let Some(frame) = &self.frame else {
            return Ok(None);
        };
        let piece_offset = self.decoder.offset() - piece.len() as u64;
        if frame.opcode.is_control() {
            self.control.extend_from_slice(&piece);
            return Ok(None);
        }
        let compressed = self.message.as_ref().is_some_and(|m| m.compressed);
        let piece = if compressed {
            self.inflate(&piece, false, piece_offset)?
        } else {
            piece
        };
        self.take_data(piece, piece_offset, false)
    }

    /// Validates (text, unless `validated`) and keeps or streams the next
    /// piece of message payload, as received or as inflated.
    fn take_data(
        &mut self,
        piece: Bytes,
        piece_offset: u64,
        validated: bool,
    ) -> Result<Option<Event>, ProtocolError> {
        let Some(message) = &mut self.message else {
            return Ok(None);
        };
        let kind = message.kind;
        let held = if kind == MessageKind::Text && !validated {
            // Fail fast: reject an invalid byte the moment it arrives,
            // even inside an unfinished frame (Autobahn 6.4.3, 6.4.4).
            let held = Held::from(self.validator.pending_bytes());
            self.validator.feed(&piece).map_err(|e| {
                ProtocolError::new(Violation::InvalidUtf8, piece_offset + e.index as u64)
            })?;
            held
        } else {
            Held::default()
        };
        if self.config.stream_messages {
            return Ok(self.stream_part(kind, held, piece));
        }
        if piece.is_empty() {
            return Ok(None);
        }
        message.body = match std::mem::take(&mut message.body) {
            Body::Empty => Body::One(piece),
            Body::One(first) => {
                // Room for the rest of this frame too, so a big frame that
                // arrives in many reads is copied once.
                let frame_rest = self.decoder.remaining_payload();
                let hint = usize::try_from(frame_rest).unwrap_or(0);
                let mut joined = BytesMut::with_capacity(first.len() + piece.len() + hint);
                joined.extend_from_slice(&first);
                joined.extend_from_slice(&piece);
                Body::Joined(joined)
            }
            Body::Joined(mut joined) => {
                joined.extend_from_slice(&piece);
                Body::Joined(joined)
            }
        };
        Ok(None)
    }

    /// Inflates a piece of a compressed message (RFC 7692 §7.2.2), held to
    /// what is left of the message limit while inflating: a bomb fails with
    /// 1009 before more than the limit is ever produced.
    #[cfg(feature = "deflate")]
    fn inflate(&mut self, input: &[u8], fin: bool, at: u64) -> Result<Bytes, ProtocolError> {
        use super::deflate::InflateError;
        let (Some(engine), Some(message)) = (self.deflate.as_deref_mut(), self.message.as_mut())
        else {
            return Ok(Bytes::new());
        };
        let limit = self.config.max_message_size;
        let budget = limit.saturating_sub(usize::try_from(message.size).unwrap_or(usize::MAX));
        let mut out = BytesMut::new();
        engine.inflate(input, fin, budget, &mut out).map_err(|e| {
            let violation = match e {
                InflateError::TooLarge { .. } => Violation::MessageTooLarge {
                    size: message.size + budget as u64 + 1,
                    limit,
                },
                _ => Violation::InvalidCompressedData,
            };
            ProtocolError::new(violation, at)
        })?;
        message.size += out.len() as u64;
        Ok(out.freeze())
    }

    #[cfg(not(feature = "deflate"))]
    #[expect(
        clippy::unused_self,
        clippy::unnecessary_wraps,
        reason = "the deflate build's signature"
    )]
    fn inflate(&mut self, _input: &[u8], _fin: bool, _at: u64) -> Result<Bytes, ProtocolError> {
        Ok(Bytes::new())
    }

    /// A part of a streamed message: for text, the code points completed by
    /// this piece (an unfinished one waits for the next piece).
    fn stream_part(&mut self, kind: MessageKind, held: Held, piece: Bytes) -> Option<Event> {
        if kind == MessageKind::Binary {
            return (!piece.is_empty()).then_some(Event::BinaryPart(piece));
        }
        let pending = self.validator.pending();
        let total = held.len + piece.len();
        let ready = total.saturating_sub(pending);
        if ready == 0 {
            return None;
        }
        let bytes = if held.len == 0 {
            piece.slice(..ready)
        } else {
            let mut joined = BytesMut::with_capacity(ready);
            joined.extend_from_slice(&held.bytes[..held.len]);
            joined.extend_from_slice(&piece[..ready - held.len]);
            joined.freeze()
        };
        Some(Event::TextPart(Utf8Bytes::from_validated(bytes)))
    }

    fn on_frame_end(&mut self) -> Result<Option<Event>, ProtocolError> {
        let Some(header) = self.frame.take() else {
            return Ok(None);
        };
        // The frame's end, for error offsets.
        let end = self.decoder.offset();
        match header.opcode {
            OpCode::Ping => {
                let payload = std::mem::take(&mut self.control).freeze();
                if self.config.auto_pong && !self.close_sent {
                    if self.queued >= self.config.max_outbound_buffer {
                        return Err(ProtocolError::new(
                            Violation::OutboundBufferFull {
                                limit: self.config.max_outbound_buffer,
                            },
                            end,
                        ));
                    }
                    self.queue_frame(OpCode::Pong, true, 0, &payload);
                }
                Ok(Some(Event::Ping(payload)))
            }
            OpCode::Pong => Ok(Some(Event::Pong(
                std::mem::take(&mut self.control).freeze(),
            ))),
            OpCode::Close => self.on_close(end),
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                if !header.fin {
                    return Ok(None);
                }
                if self.message.as_ref().is_some_and(|m| m.compressed) {
                    // RFC 7692 §7.2.2: the tail that ends the message.
                    let tail = self.inflate(&[], true, end)?;
                    let part = self.take_data(tail, end, false)?;
                    if self.validator.pending() > 0
                        && self
                            .message
                            .as_ref()
                            .is_some_and(|m| m.kind == MessageKind::Text)
                    {
                        return Err(ProtocolError::new(Violation::InvalidUtf8, end));
                    }
                    if let Some(part) = part {
                        if let Some(message) = &mut self.message {
                            message.ending = true;
                        }
                        return Ok(Some(part));
                    }
                }
                let Some(message) = self.message.take() else {
                    return Ok(None);
                };
                if message.kind == MessageKind::Text && self.validator.pending() > 0 {
                    // RFC 6455 §8.1: the message ended inside a code point.
                    return Err(ProtocolError::new(Violation::InvalidUtf8, end));
                }
                if self.config.stream_messages {
                    return Ok(Some(Event::MessageEnd));
                }
                let data = match message.body {
                    Body::Empty => Bytes::new(),
                    Body::One(data) => data,
                    Body::Joined(data) => data.freeze(),
                };
                Ok(Some(match message.kind {
                    MessageKind::Text => Event::Text(Utf8Bytes::from_validated(data)),
                    MessageKind::Binary => Event::Binary(data),
                }))
            }
        }
    }

    fn on_close(&mut self, end: u64) -> Result<Option<Event>, ProtocolError> {
        let payload = std::mem::take(&mut self.control).freeze();
        let at = end - payload.len() as u64;
        let close = parse_close_payload(&payload).map_err(|e| {
            let violation = match e {
                ClosePayloadError::Truncated => Violation::TruncatedClosePayload,
                ClosePayloadError::InvalidCode(code) => Violation::InvalidCloseCode { code },
                ClosePayloadError::InvalidReason => Violation::InvalidUtf8,
            };
            ProtocolError::new(violation, at)
        })?;
        // RFC 6455 §5.5.1: answer with a Close, echoing the code, unless we
        // sent ours first; read nothing after it. An unfinished message
        // is dropped with the connection (Autobahn 7.1.5).
        self.receiving = Receiving::CloseReceived;
        self.message = None;
        self.in_buf = BytesMut::new();
        self.control = BytesMut::new();
        if !self.close_sent {
            self.close_sent = true;
            match &close {
                Some(frame) => {
                    self.queue_frame(OpCode::Close, true, 0, &frame.code.0.to_be_bytes());
                }
                None => self.queue_frame(OpCode::Close, true, 0, &[]),
            }
        }
        Ok(Some(Event::Close(close)))
    }

    /// Ends the receive side after a violation and queues the Close that
    /// fails the connection (RFC 6455 §7.1.7).
    fn fail(&mut self, error: ProtocolError) -> ProtocolError {
        self.receiving = Receiving::Failed;
        self.message = None;
        self.frame = None;
        self.in_buf = BytesMut::new();
        self.control = BytesMut::new();
        if let Some(code) = error.close_code()
            && !self.close_sent
            && !self.eof
        {
            self.close_sent = true;
            let reason = error.violation().to_string();
            let reason = truncate_at_char(&reason, MAX_CLOSE_REASON);
            let mut payload = [0u8; 2 + MAX_CLOSE_REASON];
            payload[..2].copy_from_slice(&code.0.to_be_bytes());
            payload[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
            self.queue_frame(OpCode::Close, true, 0, &payload[..2 + reason.len()]);
        }
        error
    }

    /// Sends a whole text message. `Utf8Bytes` and `String` are sent
    /// without copying the text (server role).
    ///
    /// # Errors
    /// [`SendError`] after a Close, during a fragmented send, or under
    /// backpressure; nothing is queued then.
    pub fn send_text(&mut self, text: impl Into<Utf8Bytes>) -> Result<(), SendError> {
        self.check_data_send()?;
        self.queue_message(OpCode::Text, text.into().into_bytes(), true);
        Ok(())
    }

    /// Sends a whole binary message, without copying it (server role).
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.check_data_send()?;
        self.queue_message(OpCode::Binary, data.into(), true);
        Ok(())
    }

    /// Sends a whole message that is never compressed, even when
    /// permessage-deflate is in force: RFC 7692 §9 warns that compressing
    /// secrets next to data an attacker chooses leaks them (CRIME, BREACH).
    /// Without the extension this is [`send_text`](Self::send_text) or
    /// [`send_binary`](Self::send_binary).
    ///
    /// # Errors
    /// [`SendError::InvalidUtf8`] for text that is not UTF-8, and the
    /// errors of [`send_text`](Self::send_text).
    pub fn send_uncompressed(
        &mut self,
        kind: MessageKind,
        data: impl Into<Bytes>,
    ) -> Result<(), SendError> {
        let data = data.into();
        if kind == MessageKind::Text && simdutf8::basic::from_utf8(&data).is_err() {
            return Err(SendError::InvalidUtf8);
        }
        self.check_data_send()?;
        self.queue_message(kind.opcode(), data, false);
        Ok(())
    }

    /// Queues a whole data message, compressed when permessage-deflate is
    /// in force, `compress` allows it and the message is big enough.
    #[inline]
    fn queue_message(&mut self, opcode: OpCode, data: Bytes, compress: bool) {
        #[cfg(feature = "deflate")]
        if compress
            && let Some(engine) = self.deflate.as_deref_mut()
            && engine.should_compress(data.len())
        {
            let mut out = BytesMut::with_capacity(data.len() / 2 + 16);
            engine.compress(&data, true, &mut out);
            self.queue_payload(opcode, true, RSV1, out.freeze());
            return;
        }
        let _ = compress;
        self.queue_payload(opcode, true, 0, data);
    }

    /// Queues a message framed once for many connections
    /// ([`PreparedMessage`]): on a server, without copying or encoding
    /// anything; on a client, masked like any send.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), SendError> {
        self.check_data_send()?;
        match self.role {
            Role::Server => {
                self.flush_out_buf();
                let frame = message.wire_bytes().clone();
                self.queued += frame.len();
                self.out_queue.push_back(Outgoing::frames(frame));
            }
            Role::Client => {
                let opcode = match message.kind() {
                    MessageKind::Text => OpCode::Text,
                    MessageKind::Binary => OpCode::Binary,
                };
                // Uncompressed: a deflate context differs per connection.
                self.queue_frame(opcode, true, 0, &message.payload());
            }
        }
        Ok(())
    }

    /// Sends one fragment of a message of `kind` (RFC 6455 §5.4): the first
    /// call starts the message, `fin` ends it. Control frames may be sent
    /// between fragments; other messages may not. Text fragments may split
    /// a code point; together they must be valid UTF-8.
    ///
    /// # Errors
    /// [`SendError::KindMismatch`] for a fragment of another kind than the
    /// message in progress, [`SendError::InvalidUtf8`] for text that cannot
    /// be valid, and the errors of [`send_text`](Self::send_text).
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: impl Into<Bytes>,
        fin: bool,
    ) -> Result<(), SendError> {
        if self.close_sent || self.receiving == Receiving::Failed {
            return Err(SendError::Closed);
        }
        let (opcode, compressed) = match self.sending {
            Some(sending) if sending.kind != kind => return Err(SendError::KindMismatch),
            Some(sending) => (OpCode::Continuation, sending.compressed),
            None => (kind.opcode(), self.has_deflate()),
        };
        self.check_backpressure()?;
        let data = data.into();
        if kind == MessageKind::Text {
            if self.sending.is_none() {
                self.send_validator.reset();
            }
            let mut probe = self.send_validator.clone();
            probe.feed(&data).map_err(|_| SendError::InvalidUtf8)?;
            if fin && probe.pending() > 0 {
                return Err(SendError::InvalidUtf8);
            }
            self.send_validator = probe;
        }
        let first = self.sending.is_none();
        self.sending = (!fin).then_some(Sending { kind, compressed });
        // RFC 7692 §6.1: RSV1 on the first frame of a compressed message only.
        let rsv = if compressed && first { RSV1 } else { 0 };
        let payload = if compressed {
            self.compress_piece(&data, fin)
        } else {
            data
        };
        self.queue_payload(opcode, fin, rsv, payload);
        Ok(())
    }

    #[cfg(feature = "deflate")]
    fn has_deflate(&self) -> bool {
        self.deflate.is_some()
    }

    #[cfg(not(feature = "deflate"))]
    #[expect(clippy::unused_self, reason = "the deflate build's signature")]
    fn has_deflate(&self) -> bool {
        false
    }

    /// Compresses one fragment of a message: each one is flushed, so it can
    /// leave at once (RFC 7692 §7.2.1: only the last drops the tail).
    #[cfg(feature = "deflate")]
    fn compress_piece(&mut self, data: &[u8], fin: bool) -> Bytes {
        let mut out = BytesMut::with_capacity(data.len() / 2 + 16);
        if let Some(engine) = self.deflate.as_deref_mut() {
            engine.compress(data, fin, &mut out);
        }
        out.freeze()
    }

    #[cfg(not(feature = "deflate"))]
    #[expect(clippy::unused_self, reason = "the deflate build's signature")]
    fn compress_piece(&mut self, data: &[u8], _fin: bool) -> Bytes {
        Bytes::copy_from_slice(data)
    }

    /// Sends a ping with up to 125 bytes of payload.
    ///
    /// # Errors
    /// [`SendError::ControlPayloadTooLong`], [`SendError::Closed`], and the
    /// backpressure errors of [`send_text`](Self::send_text): pings count
    /// against [`Config::max_outbound_buffer`] too.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Sends an unsolicited pong (a unidirectional heartbeat, §5.5.3).
    ///
    /// # Errors
    /// As [`send_ping`](Self::send_ping).
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Pong, payload)
    }

    /// Starts the close handshake (RFC 6455 §7.1.2). No data frames can be
    /// sent afterwards; events keep coming until the peer's Close.
    ///
    /// # Errors
    /// [`SendError::InvalidCloseCode`] for 1005, 1006, 1015 and codes
    /// outside §7.4's ranges, [`SendError::CloseReasonTooLong`] past 123
    /// bytes, [`SendError::Closed`] if a Close was already sent.
    pub fn send_close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        if !code.is_sendable() {
            return Err(SendError::InvalidCloseCode { code: code.0 });
        }
        if reason.len() > MAX_CLOSE_REASON {
            return Err(SendError::CloseReasonTooLong { len: reason.len() });
        }
        if self.close_sent || self.receiving == Receiving::Failed {
            return Err(SendError::Closed);
        }
        let mut payload = [0u8; 2 + MAX_CLOSE_REASON];
        payload[..2].copy_from_slice(&code.0.to_be_bytes());
        payload[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
        self.close_sent = true;
        self.queue_frame(OpCode::Close, true, 0, &payload[..2 + reason.len()]);
        Ok(())
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlPayloadTooLong { len: payload.len() });
        }
        if self.close_sent || self.receiving == Receiving::Failed {
            return Err(SendError::Closed);
        }
        // Pings and pongs count against the outbound limit like data, so
        // a caller pinging faster than the transport drains is told so.
        self.check_backpressure()?;
        self.queue_frame(opcode, true, 0, payload);
        Ok(())
    }

    #[inline]
    fn check_data_send(&mut self) -> Result<(), SendError> {
        if self.close_sent || self.receiving == Receiving::Failed {
            return Err(SendError::Closed);
        }
        if self.sending.is_some() {
            return Err(SendError::MessageInProgress);
        }
        self.check_backpressure()
    }

    /// Applies [`Config::slow_consumer`] when the outbound queue is at or
    /// over [`Config::max_outbound_buffer`].
    #[inline]
    fn check_backpressure(&mut self) -> Result<(), SendError> {
        if self.queued < self.config.max_outbound_buffer {
            return Ok(());
        }
        self.apply_slow_consumer()
    }

    /// The outbound queue is full: refuse, or close (out of line, so the
    /// check above stays a comparison on every send).
    #[cold]
    #[inline(never)]
    fn apply_slow_consumer(&mut self) -> Result<(), SendError> {
        let (buffered, limit) = (self.queued, self.config.max_outbound_buffer);
        match self.config.slow_consumer {
            SlowConsumer::Refuse => Err(SendError::Backpressure { buffered, limit }),
            SlowConsumer::Close(code) => {
                // Behind data the peer is not reading, a Close would never
                // arrive: the frames not yet handed out are discarded (and
                // counted in the error), so the Close is the next thing the
                // transport writes.
                let discarded = self.discard_unsent();
                if !self.close_sent {
                    self.close_sent = true;
                    let mut payload = code.0.to_be_bytes().to_vec();
                    payload.extend_from_slice(b"slow consumer");
                    self.queue_frame(OpCode::Close, true, 0, &payload);
                }
                self.receiving = Receiving::Failed;
                self.message = None;
                self.in_buf = BytesMut::new();
                Err(SendError::SlowConsumer {
                    buffered,
                    limit,
                    code,
                    discarded,
                })
            }
        }
    }

    /// Drops every queued frame not yet handed out by `poll_transmit`,
    /// keeping the payload of a frame whose header already went; returns
    /// the bytes dropped.
    fn discard_unsent(&mut self) -> usize {
        // The rest of a frame already begun.
        let keep = usize::from(self.payload_owed);
        let mut dropped = self.out_buf.len();
        self.out_buf.clear();
        for item in self.out_queue.drain(keep.min(self.out_queue.len())..) {
            dropped += item.len();
        }
        self.queued -= dropped;
        dropped
    }

    /// Whether the outbound queue is at or over
    /// [`Config::max_outbound_buffer`]: data sends are refused (or close the
    /// connection, per [`Config::slow_consumer`]) until `poll_transmit`
    /// drains it.
    pub fn is_backpressured(&self) -> bool {
        self.queued >= self.config.max_outbound_buffer
    }

    /// Queues a frame whose payload is given as shared bytes: a large
    /// unmasked payload is queued as it is, never copied.
    #[inline]
    fn queue_payload(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: Bytes) {
        if self.role == Role::Server && payload.len() > COPY_THRESHOLD {
            self.flush_out_buf();
            let header = FrameHeader {
                fin,
                rsv,
                opcode,
                mask: None,
                payload_len: payload.len() as u64,
            };
            let item = Outgoing::with_header(&header, payload);
            self.queued += item.len();
            self.out_queue.push_back(item);
        } else {
            self.queue_frame(opcode, fin, rsv, &payload);
        }
    }

    /// Queues a frame, copying the payload next to its header (masked on
    /// the way for a client).
    #[inline]
    fn queue_frame(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: &[u8]) {
        let mask = match self.role {
            Role::Server => None,
            Role::Client => Some(match &mut self.rng {
                Some(rng) => rng.mask_key(),
                None => OsRandom::new().mask_key(),
            }),
        };
        self.out_buf.reserve(MAX_HEADER_LEN + payload.len());
        let header_len = self.put_header(opcode, fin, rsv, mask, payload.len());
        let start = self.out_buf.len();
        match mask {
            None => self.out_buf.extend_from_slice(payload),
            Some(key) if payload.len() < FUSED_MASK_MIN => {
                self.out_buf.extend_from_slice(payload);
                apply_mask(&mut self.out_buf[start..], key, 0);
            }
            Some(key) => {
                // Zeroed room, then one copy-and-mask pass: safe code, and
                // measured 3x faster at 64 KiB than copying, then masking
                // the copy in place.
                self.out_buf.resize(start + payload.len(), 0);
                copy_masked(&mut self.out_buf[start..], payload, key);
            }
        }
        self.queued += header_len + payload.len();
    }

    /// Writes a frame header into `out_buf` (RFC 6455 §5.2: lengths in
    /// their minimal encoding); returns the header's length. Plain stores,
    /// not a `FrameHeader` round trip: this is on every send.
    #[inline]
    fn put_header(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv: u8,
        mask: Option<[u8; 4]>,
        len: usize,
    ) -> usize {
        let out = &mut self.out_buf;
        let start = out.len();
        let b0 = (u8::from(fin) << 7) | ((rsv & 0b111) << 4) | opcode.to_u8();
        let mask_bit = if mask.is_some() { 0x80 } else { 0 };
        match u16::try_from(len) {
            #[expect(clippy::cast_possible_truncation, reason = "checked: < 126")]
            Ok(short) if short < 126 => out.extend_from_slice(&[b0, mask_bit | short as u8]),
            Ok(medium) => {
                let [hi, lo] = medium.to_be_bytes();
                out.extend_from_slice(&[b0, mask_bit | 0x7E, hi, lo]);
            }
            Err(_) => {
                out.extend_from_slice(&[b0, mask_bit | 0x7F]);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        if let Some(key) = mask {
            out.extend_from_slice(&key);
        }
        out.len() - start
    }

    /// Moves the small frames written so far into the queue, ahead of
    /// what is queued next.
    fn flush_out_buf(&mut self) {
        if !self.out_buf.is_empty() {
            let bytes = self.take_out_buf();
            self.out_queue.push_back(Outgoing::frames(bytes));
        }
    }

    /// What `out_buf` holds, as shared bytes: small contents are copied so
    /// the buffer is reused; large ones are moved without a copy.
    fn take_out_buf(&mut self) -> Bytes {
        if self.out_buf.len() <= COPY_THRESHOLD {
            let bytes = Bytes::copy_from_slice(&self.out_buf);
            self.out_buf.clear();
            bytes
        } else {
            Bytes::from(std::mem::take(&mut self.out_buf))
        }
    }

    /// The next bytes to write to the transport, in order. Writing them is
    /// the caller's job; until it pulls them they count against
    /// [`Config::max_outbound_buffer`].
    #[must_use = "the bytes must be written to the transport"]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        let bytes = match self.out_queue.front_mut() {
            Some(item) if item.head_sent < item.head_len => {
                // The inline header first; its payload is owed next.
                let head = Bytes::copy_from_slice(item.pending());
                item.head_sent = item.head_len;
                self.payload_owed = true;
                head
            }
            Some(_) => {
                self.payload_owed = false;
                self.out_queue
                    .pop_front()
                    .map(|item| item.bytes)
                    .unwrap_or_default()
            }
            None if !self.out_buf.is_empty() => {
                self.payload_owed = false;
                self.take_out_buf()
            }
            None => {
                if self.out_buf.capacity() > RETAINED_OUT_CAPACITY {
                    self.out_buf = Vec::new();
                }
                return None;
            }
        };
        self.queued -= bytes.len();
        Some(bytes)
    }

    /// The next bytes to write to the transport, borrowed: write what the
    /// transport takes, then report it with
    /// [`advance_transmit`](Self::advance_transmit). Empty when nothing is
    /// queued. The same bytes, in the same order, as
    /// [`poll_transmit`](Self::poll_transmit) hands out (the two may be
    /// mixed), without handing out shared buffers: the connection reuses
    /// its buffer for small frames.
    ///
    /// # Example
    /// ```
    /// use std::io::Write;
    /// use pushcodec::ws::{Config, Connection};
    ///
    /// let mut server = Connection::server(Config::default());
    /// server.send_text("Hello")?;
    /// let mut socket = Vec::new(); // any `Write`, or an async writer
    /// loop {
    ///     let pending = server.pending_transmit();
    ///     if pending.is_empty() {
    ///         break;
    ///     }
    ///     let written = socket.write(pending)?;
    ///     server.advance_transmit(written);
    /// }
    /// assert_eq!(socket, b"\x81\x05Hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use = "the bytes must be written to the transport"]
    #[inline]
    pub fn pending_transmit(&self) -> &[u8] {
        match self.out_queue.front() {
            Some(item) => item.pending(),
            None => &self.out_buf,
        }
    }

    /// Reports that the first `n` bytes of
    /// [`pending_transmit`](Self::pending_transmit) were written (more than
    /// it holds counts as all of it). A frame written in part is then owed
    /// whole: a later Close never cuts it.
    #[inline]
    pub fn advance_transmit(&mut self, n: usize) {
        // The common case inline: every small frame written at once.
        if n >= self.out_buf.len() && self.out_queue.is_empty() {
            self.queued -= self.out_buf.len();
            self.out_buf.clear();
            if self.out_buf.capacity() > RETAINED_OUT_CAPACITY {
                self.out_buf = Vec::new();
            }
            return;
        }
        self.advance_transmit_in_part(n);
    }

    /// [`advance_transmit`](Self::advance_transmit) past queued chunks or
    /// into the middle of a frame.
    #[inline(never)]
    fn advance_transmit_in_part(&mut self, n: usize) {
        let Some(front) = self.out_queue.front_mut() else {
            let n = n.min(self.out_buf.len());
            if n == self.out_buf.len() {
                // All written: the buffer is reused from its start.
                self.out_buf.clear();
                if self.out_buf.capacity() > RETAINED_OUT_CAPACITY {
                    self.out_buf = Vec::new();
                }
            } else if n > 0 {
                // Only whole frames are ever in `out_buf`: the frame written
                // in part moves to the queue, to be finished before anything
                // a `SlowConsumer::Close` might discard.
                let end = frame_end_after(&self.out_buf, n);
                if end == n {
                    self.out_buf.drain(..n);
                } else {
                    let rest = Bytes::copy_from_slice(&self.out_buf[n..end]);
                    self.out_buf.drain(..end);
                    self.out_queue.push_back(Outgoing::frames(rest));
                    self.payload_owed = true;
                }
            }
            self.queued -= n;
            return;
        };
        let n = n.min(front.pending().len());
        if front.head_sent < front.head_len {
            // Inside an inline header: its frame is begun, owed whole.
            #[expect(
                clippy::cast_possible_truncation,
                reason = "at most the header's 14 bytes"
            )]
            {
                front.head_sent += n as u8;
            }
            self.payload_owed = n > 0 || self.payload_owed;
        } else if n == front.bytes.len() {
            self.payload_owed = false;
            self.out_queue.pop_front();
        } else if n > 0 {
            // Unless it is owed already (or a payload behind its inline
            // header), the chunk starts at a frame boundary: the rest of a
            // frame written in part becomes owed whole, split from any
            // whole frames after it.
            let end = if self.payload_owed || front.head_len > 0 {
                front.bytes.len()
            } else {
                frame_end_after(&front.bytes, n)
            };
            if end < front.bytes.len() && end > n {
                let mut rest = front.bytes.split_to(end);
                rest.advance(n);
                self.out_queue.push_front(Outgoing::frames(rest));
            } else {
                front.bytes.advance(n);
            }
            self.payload_owed = end > n;
        }
        self.queued -= n;
    }

    /// Passes the time: stamps the bytes received since the last call and
    /// runs the deadlines that have passed ([`Config::keepalive_interval`],
    /// [`Config::pong_timeout`], [`Config::close_timeout`]). Call it once
    /// when the connection starts, after each read, and when
    /// [`poll_timeout`](Self::poll_timeout)'s instant arrives; then drain
    /// `poll_event` and `poll_transmit` as after any input.
    ///
    /// A connection with nothing left to write also gives back its output
    /// buffer here, so an idle connection holds no heap (the input buffer
    /// goes back as soon as it is drained).
    ///
    /// A keepalive ping is queued for `poll_transmit`; a missed deadline
    /// comes out of `poll_event` as [`Violation::PongTimeout`] or
    /// [`Violation::CloseTimeout`], after which
    /// [`should_close_transport`](Self::should_close_transport) is true.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.settle_read();
        if self.out_queue.is_empty() && self.out_buf.is_empty() {
            // Everything was written: the output buffers go back, so an
            // idle connection holds no heap. A busy one keeps them from
            // send to send, between the calls here.
            self.out_buf = Vec::new();
            self.out_queue = VecDeque::new();
        }
        #[cfg(feature = "deflate")]
        if let Some(engine) = self.deflate.as_deref_mut() {
            // Contexts without takeover carry nothing to the next message.
            engine.release_idle();
        }
        if self.abandoned || self.receiving == Receiving::Failed || self.eof {
            return;
        }
        let phase = self.timer_phase();
        let violation = match self.timers.handle_timeout(now, phase, self.durations()) {
            None => return,
            Some(Expired::SendPing) => {
                // Behind a queue the peer is not reading, another ping
                // proves nothing; the pong deadline still runs.
                if !self.is_backpressured() {
                    self.queue_frame(OpCode::Ping, true, 0, &[]);
                }
                return;
            }
            Some(Expired::PeerUnresponsive(timeout)) => Violation::PongTimeout { timeout },
            Some(Expired::CloseTimedOut(timeout)) => Violation::CloseTimeout { timeout },
        };
        let error = ProtocolError::new(violation, self.decoder.offset());
        self.abandoned = true;
        if self.receiving == Receiving::Open {
            let error = self.fail(error);
            self.timer_error = Some(error);
        } else {
            self.receiving = Receiving::Failed;
            self.timer_error = Some(error);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called;
    /// `None` when no timer runs (none configured, the connection is done,
    /// or the time was never passed in).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.abandoned || self.receiving == Receiving::Failed || self.eof {
            return None;
        }
        self.timers
            .poll_timeout(self.timer_phase(), self.durations())
    }

    fn durations(&self) -> Durations {
        Durations {
            keepalive: self.config.keepalive_interval,
            pong_timeout: self.config.pong_timeout,
            close_timeout: self.config.close_timeout,
        }
    }

    fn timer_phase(&self) -> Phase {
        let closing = self.close_sent
            && !(self.role == Role::Server && self.receiving == Receiving::CloseReceived);
        Phase {
            open: !self.close_sent && self.receiving == Receiving::Open,
            closing,
        }
    }

    /// Bytes queued and not yet pulled by [`poll_transmit`](Self::poll_transmit).
    pub fn buffered_amount(&self) -> usize {
        self.queued
    }

    /// Whether the caller should now close the transport: once everything
    /// queued has been pulled, when the peer closed it, after a protocol
    /// error, or when the close handshake is complete on a server (RFC 6455
    /// §7.1.1: the server closes TCP first). A client whose handshake is
    /// complete waits for the server to close, with a timeout of its choice.
    pub fn should_close_transport(&self) -> bool {
        if self.eof || self.abandoned {
            return true;
        }
        if self.queued > 0 {
            return false;
        }
        match self.receiving {
            Receiving::Failed => true,
            Receiving::CloseReceived => self.close_sent && self.role == Role::Server,
            Receiving::Open => false,
        }
    }

    /// Whether a Close has been sent (no data frames may follow).
    pub fn is_close_sent(&self) -> bool {
        self.close_sent
    }

    /// Whether the peer's Close has been received.
    pub fn is_close_received(&self) -> bool {
        self.receiving == Receiving::CloseReceived
    }
}

/// A chunk waiting for `poll_transmit`.
#[derive(Debug)]
struct Outgoing {
    /// The header of the one frame whose payload is `bytes`, kept inline
    /// so a payload queued without a copy costs no allocation either;
    /// `head_len` is 0 when `bytes` holds whole frames.
    head: [u8; MAX_HEADER_LEN],
    head_len: u8,
    /// How much of `head` was handed out.
    head_sent: u8,
    bytes: Bytes,
}

impl Outgoing {
    /// Whole frames.
    fn frames(bytes: Bytes) -> Self {
        Outgoing {
            head: [0; MAX_HEADER_LEN],
            head_len: 0,
            head_sent: 0,
            bytes,
        }
    }

    /// One frame: `header`, then `payload` as it is.
    fn with_header(header: &FrameHeader, payload: Bytes) -> Self {
        let mut head = [0; MAX_HEADER_LEN];
        #[expect(
            clippy::cast_possible_truncation,
            reason = "a header is at most 14 bytes"
        )]
        let head_len = header.encode(&mut head) as u8;
        Outgoing {
            head,
            head_len,
            head_sent: 0,
            bytes: payload,
        }
    }

    /// What is left to hand out of the chunk it is at: the header, then
    /// the bytes.
    fn pending(&self) -> &[u8] {
        if self.head_sent < self.head_len {
            &self.head[usize::from(self.head_sent)..usize::from(self.head_len)]
        } else {
            &self.bytes
        }
    }

    /// Bytes not yet handed out.
    fn len(&self) -> usize {
        usize::from(self.head_len - self.head_sent) + self.bytes.len()
    }
}

/// A fragmented message being sent.
#[derive(Debug, Clone, Copy)]
struct Sending {
    kind: MessageKind,
    /// Its first frame had RSV1: every fragment goes through the compressor.
    compressed: bool,
}

/// What `Connection` keeps of the header of the frame being received:
/// just what its payload and end need (the whole header would make the
/// connection bigger).
#[derive(Debug, Clone, Copy)]
struct FrameStarted {
    opcode: OpCode,
    fin: bool,
}

/// The end of the frame that holds byte `n` of `chunk`, which starts at a
/// frame boundary and holds frames this connection encoded; `n` itself when
/// it falls on a boundary, the chunk's end for a header whose payload is
/// queued after it.
fn frame_end_after(chunk: &[u8], n: usize) -> usize {
    let mut end = 0;
    while end < n {
        match FrameHeader::parse(&chunk[end..]) {
            Ok(Some((header, header_len))) => {
                let len = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
                end = end.saturating_add(header_len).saturating_add(len);
            }
            _ => return chunk.len(),
        }
    }
    end.min(chunk.len())
}

/// The validator's unfinished code point before a piece was fed.
#[derive(Debug, Default, Clone, Copy)]
struct Held {
    bytes: [u8; 4],
    len: usize,
}

impl From<&[u8]> for Held {
    fn from(pending: &[u8]) -> Self {
        let mut held = Held::default();
        held.bytes[..pending.len()].copy_from_slice(pending);
        held.len = pending.len();
        held
    }
}

fn truncate_at_char(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
