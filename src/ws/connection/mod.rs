//! The per-connection state machine (RFC 6455 §5, §7), for either role: a
//! thin layer over its parts, each holding its own rules.
//!
//! - [`reader`]: the receive buffer and the frame layer (§5.2, §5.3);
//! - [`assembler`]: fragmentation (§5.4), limits, UTF-8 (§8.1), inflation
//!   (RFC 7692 §7.2.2);
//! - [`send`]: the send queue and partial writes;
//! - [`state`]: the close handshake (§7.1);
//! - [`timers`]: keepalive, pong deadline, close timeout.
//!
//! What is left here: control frames (auto-pong §5.5.2, the Close reply
//! §5.5.1), failing the connection (§7.1.7), and the public API.

use crate::prelude::*;
mod assembler;
mod compression;
mod reader;
mod send;
mod sender;
mod state;
mod timers;

use core::time::Duration;
#[cfg(feature = "std")]
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use self::assembler::{Assembler, is_utf8};
use self::compression::Deflate;
use self::reader::{Frame, FrameReader, Take, WholeFrame};
pub use self::send::Transmit;
use self::sender::{Masking, Sender};
pub use self::state::State;
use self::timers::{Durations, Expired, Phase, Timers};
use super::close::{ClosePayload, MAX_CLOSE_REASON, parse_close_payload};
use super::error::{ProtocolError, SendError, Violation};
use super::frame::{MAX_CONTROL_PAYLOAD, OpCode};
use super::prepared::PreparedMessage;
use super::{CloseCode, Config, Event, EventRef, MessageKind, RandomSource, Role, SlowConsumer};
use crate::Utf8Bytes;

/// One WebSocket connection after the handshake, for either role: bytes in,
/// events out; messages in, bytes out. No I/O: the caller moves the bytes
/// and passes the time, as the crate docs' drive loop shows.
///
/// Bytes in: [`handle_read`](Self::handle_read), or a read straight into
/// [`read_buf`](Self::read_buf); [`handle_eof`](Self::handle_eof). Events
/// out: [`poll_event`](Self::poll_event). Bytes out: [`transmit`](Self::transmit)
/// (a [`bytes::Buf`], vectored writes included) or
/// [`poll_transmit`](Self::poll_transmit) (owned `Bytes`). Time:
/// [`handle_timeout`](Self::handle_timeout) and
/// [`poll_timeout`](Self::poll_timeout). Where the close handshake is:
/// [`state`](Self::state) and [`should_close_transport`](Self::should_close_transport).
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
pub struct Connection {
    role: Role,
    state: State,
    /// The peer closed its side of the transport.
    eof: bool,
    /// Our Close frame is queued (see `queue_close`).
    close_queued: bool,
    /// A timer gave up on the peer: the transport goes now, drained or not.
    abandoned: bool,
    config: Config,
    reader: FrameReader,
    assembler: Assembler,
    sender: Sender,
    /// permessage-deflate, when negotiated (boxed: most connections have
    /// none, and an idle one holds no compression context).
    deflate: Option<Box<Deflate>>,
    timers: Timers,
    /// A deadline failed the connection; `poll_event` reports it next.
    timed_out: Option<TimedOut>,
    /// What `poll_event_ref` lends when it is not lent from the receive
    /// buffer (boxed: the connection stays within 512 bytes, and such
    /// events, control frames and fragmented messages, allocate anyway).
    lent_event: Option<Box<Event>>,
}

/// Which deadline failed the connection (one byte where the error would
/// take 32: it is rebuilt from the configuration when reported).
#[derive(Debug, Clone, Copy)]
enum TimedOut {
    Pong,
    Close,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("eof", &self.eof)
            .field("buffered_in", &self.reader.position().1)
            .field("queued_out", &self.sender.transmit.queued())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection for `role` whose handshake is complete; a client's
    /// masking keys come from [`OsRandom`](crate::ws::OsRandom).
    #[cfg(feature = "os-random")]
    pub fn new(role: Role, config: Config) -> Self {
        let masking = match role {
            Role::Server => Masking::Unmasked,
            Role::Client => Masking::Os,
        };
        Self::build(role, config, masking)
    }

    fn build(role: Role, config: Config, masking: Masking) -> Self {
        Connection {
            role,
            state: State::Open,
            eof: false,
            close_queued: false,
            abandoned: false,
            reader: FrameReader::new(role, config.max_frame_size, !config.stream_messages),
            config,
            assembler: Assembler::default(),
            sender: Sender::new(masking),
            deflate: None,
            timers: Timers::default(),
            timed_out: None,
            lent_event: None,
        }
    }

    /// A server's connection.
    pub fn server(config: Config) -> Self {
        Self::build(Role::Server, config, Masking::Unmasked)
    }

    /// A client's connection; masking keys come from [`OsRandom`](crate::ws::OsRandom).
    #[cfg(feature = "os-random")]
    pub fn client(config: Config) -> Self {
        Self::build(Role::Client, config, Masking::Os)
    }

    /// A client's connection with masking keys from `rng` (RFC 6455 §5.3:
    /// fresh and unpredictable for every frame, so a CSPRNG). Without the
    /// `os-random` feature this is the only way to build a client: there is
    /// no fallback key source, and never a fixed key.
    pub fn client_with_random(config: Config, rng: Box<dyn RandomSource>) -> Self {
        Self::build(Role::Client, config, Masking::Caller(rng))
    }

    /// Replaces the source of masking keys (clients only use it).
    #[must_use]
    pub fn with_random(mut self, rng: Box<dyn RandomSource>) -> Self {
        self.sender.set_random(rng);
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
        self.reader.allow_compressed();
        self.deflate = Some(Box::new(Deflate::new(params, self.role, config)));
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

    /// Where the connection is in its life, the close handshake included.
    pub fn state(&self) -> State {
        self.state
    }

    // --- bytes in -------------------------------------------------------

    /// Takes bytes received from the peer, of any size and split anywhere.
    /// They are decoded as [`poll_event`](Self::poll_event) is called.
    /// Bytes after the peer's Close or a protocol error are ignored.
    #[inline]
    pub fn handle_read(&mut self, bytes: &[u8]) {
        if self.eof {
            return;
        }
        if self.reader.handle_read(bytes) {
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
        self.reader.read_buf()
    }

    /// Accounts for the bytes appended to the buffer `read_buf` lent out.
    #[inline]
    fn settle_read(&mut self) {
        if self.reader.settle() {
            self.timers.on_received();
        }
    }

    /// The peer closed its side of the transport. Without a prior close
    /// handshake this is reported as [`Violation::AbnormalClosure`].
    pub fn handle_eof(&mut self) {
        self.settle_read();
        self.eof = true;
    }

    // --- events out -----------------------------------------------------

    /// The next event, in wire order. `Ok(None)`: nothing more until more
    /// bytes arrive. After a protocol error is returned (once, after every
    /// event that came before it), only `Ok(None)` follows.
    ///
    /// # Errors
    /// A [`ProtocolError`] when the peer broke the protocol or a limit; the
    /// Close frame with its code is already queued for the transport.
    #[must_use = "events and errors must be handled"]
    pub fn poll_event(&mut self) -> Result<Option<Event>, ProtocolError> {
        if !self.begin_poll()? {
            return Ok(None);
        }
        self.next_event()
    }

    /// The next event, as [`poll_event`](Self::poll_event) gives it, with
    /// its payload lent until the next call on the connection. A message
    /// that arrived as one frame is lent straight from the receive buffer:
    /// no split, no reference count, no copy (the fastest way to read
    /// small messages); every other event is made as by `poll_event` and
    /// lent from the connection.
    ///
    /// ```
    /// use pushcodec::ws::{Config, Connection, EventRef};
    ///
    /// let mut server = Connection::server(Config::default());
    /// // A masked text frame "Hi" from a client.
    /// server.handle_read(&[0x81, 0x82, 1, 2, 3, 4, b'H' ^ 1, b'i' ^ 2]);
    /// let mut total = 0;
    /// while let Some(event) = server.poll_event_ref()? {
    ///     if let EventRef::Text(text) = event {
    ///         total += text.len();
    ///     }
    /// }
    /// assert_eq!(total, 2);
    /// # Ok::<(), pushcodec::ws::ProtocolError>(())
    /// ```
    ///
    /// # Errors
    /// As [`poll_event`](Self::poll_event).
    #[must_use = "events and errors must be handled"]
    pub fn poll_event_ref(&mut self) -> Result<Option<EventRef<'_>>, ProtocolError> {
        self.lent_event = None;
        if !self.begin_poll()? {
            return Ok(None);
        }
        let claim = match self.reader.claim_whole() {
            Ok(claim) => claim,
            Err(e) => return Err(self.fail(e)),
        };
        if let Some(claim) = claim {
            let len = self.reader.claimed(&claim).len();
            let text = claim.header.opcode == OpCode::Text;
            if self
                .assembler
                .is_lone_message(&claim.header, len, &self.config)
                && (!text || is_utf8(self.reader.claimed(&claim)))
            {
                let payload = self.reader.lend(&claim);
                return Ok(Some(if text {
                    // Checked just above; without `unsafe` a `str` is made
                    // by checking again (cheap for the short messages this
                    // path is for).
                    EventRef::Text(core::str::from_utf8(payload).unwrap_or_default())
                } else {
                    EventRef::Binary(payload)
                }));
            }
            let frame = self.reader.take(&claim);
            match self.on_whole(frame) {
                Ok(Some(event)) => {
                    return Ok(Some(self.lent_event.insert(Box::new(event)).as_event_ref()));
                }
                Ok(None) => {}
                Err(e) => return Err(self.fail(e)),
            }
        }
        Ok(self
            .next_event()?
            .map(|event| self.lent_event.insert(Box::new(event)).as_event_ref()))
    }

    /// What every poll does first: takes what was read, reports a missed
    /// deadline; `false` when nothing more is to be received.
    #[expect(clippy::inline_always, reason = "the hot path of every small message")]
    #[inline(always)]
    fn begin_poll(&mut self) -> Result<bool, ProtocolError> {
        self.settle_read();
        if let Some(timed_out) = self.timed_out.take() {
            return Err(self.timed_out_error(timed_out));
        }
        Ok(self.state.is_receiving())
    }

    #[cold]
    fn timed_out_error(&self, timed_out: TimedOut) -> ProtocolError {
        let violation = match timed_out {
            TimedOut::Pong => Violation::PongTimeout {
                timeout: self.config.pong_timeout.unwrap_or_default(),
            },
            TimedOut::Close => Violation::CloseTimeout {
                timeout: self.config.close_timeout.unwrap_or_default(),
            },
        };
        ProtocolError::new(violation, self.reader.position().0)
    }

    /// Frames in, until one makes an event.
    #[expect(
        clippy::inline_always,
        reason = "the hot path of every small message (callgrind: +75 Ir a message as a call)"
    )]
    #[inline(always)]
    fn next_event(&mut self) -> Result<Option<Event>, ProtocolError> {
        loop {
            let step = match self.reader.next_whole() {
                Ok(Some(frame)) => self.on_whole(frame),
                Ok(None) => match self.assembler.take_ending() {
                    Some(end) => return Ok(Some(end)),
                    None => match self.reader.next() {
                        Ok(Some(part)) => self.on_part(part),
                        Ok(None) => return self.need_more(),
                        Err(e) => Err(e),
                    },
                },
                Err(e) => Err(e),
            };
            match step {
                Ok(Some(event)) => return Ok(Some(event)),
                Ok(None) => {}
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    /// A whole frame: data goes to the assembler (inline, the common case),
    /// control frames are answered here.
    #[expect(
        clippy::inline_always,
        reason = "the hot path of every small message (callgrind)"
    )]
    #[inline(always)]
    fn on_whole(&mut self, frame: WholeFrame) -> Result<Option<Event>, ProtocolError> {
        let WholeFrame {
            header,
            payload,
            at,
        } = frame;
        if header.opcode.is_control() {
            let end = at + header.encoded_len() as u64 + payload.len() as u64;
            return self.on_control(header.opcode, payload, end);
        }
        self.assembler.whole(
            &header,
            payload,
            at,
            &self.config,
            self.deflate.as_deref_mut(),
        )
    }

    /// A part of a frame still arriving.
    #[inline(never)]
    fn on_part(&mut self, part: Frame) -> Result<Option<Event>, ProtocolError> {
        let deflate = self.deflate.as_deref_mut();
        match part {
            Frame::Header { header, at } => {
                if header.opcode.is_control() {
                    // At most 125 bytes (checked): gathered whatever the mode.
                    self.reader.take_payload(Take::Gather { check: false });
                    return Ok(None);
                }
                let (take, start) = self.assembler.header(&header, at, &self.config)?;
                self.reader.take_payload(take);
                Ok(start)
            }
            Frame::Arrived { len, at } => {
                self.assembler.arrived(self.reader.arrived(len), at)?;
                Ok(None)
            }
            Frame::Gathered {
                opcode,
                fin,
                payload,
                at,
            } => {
                if opcode.is_control() {
                    let end = at + payload.len() as u64;
                    return self.on_control(opcode, payload, end);
                }
                self.assembler.gathered(fin, payload, at, &self.config)
            }
            Frame::Piece { piece, at } => self.assembler.piece(piece, at, &self.config, deflate),
            Frame::End { fin, at } => self.assembler.end(fin, at, &self.config, deflate),
        }
    }

    /// A whole control frame (RFC 6455 §5.5); `end`: its end's offset.
    fn on_control(
        &mut self,
        opcode: OpCode,
        payload: Bytes,
        end: u64,
    ) -> Result<Option<Event>, ProtocolError> {
        match opcode {
            OpCode::Ping => {
                // §5.5.2: answer with a pong carrying the same payload,
                // unless our Close is out already (§5.5.1).
                if self.config.auto_pong && self.state.can_send() {
                    if self.is_backpressured() {
                        return Err(ProtocolError::new(
                            Violation::OutboundBufferFull {
                                limit: self.config.max_outbound_buffer,
                            },
                            end,
                        ));
                    }
                    self.sender.frame(OpCode::Pong, true, 0, &payload);
                }
                Ok(Some(Event::Ping(payload)))
            }
            OpCode::Pong => Ok(Some(Event::Pong(payload))),
            _ => self.on_close(&payload, end),
        }
    }

    /// The peer's Close (RFC 6455 §5.5.1): nothing after it is read, and it
    /// is answered with the same code and reason unless our Close went
    /// first (or the application answers itself, `auto_close_reply` off).
    fn on_close(&mut self, payload: &Bytes, end: u64) -> Result<Option<Event>, ProtocolError> {
        let at = end - payload.len() as u64;
        let close = parse_close_payload(payload).map_err(|e| ProtocolError::new(e.into(), at))?;
        // An unfinished message is dropped with the connection (Autobahn 7.1.5).
        self.reader.close();
        self.assembler.reset();
        let answer = self.state == State::Open && self.config.auto_close_reply;
        self.state = self.state.close_received();
        if answer {
            match &close {
                Some(frame) => {
                    let reply = ClosePayload::new(frame.code, frame.reason.as_str());
                    self.queue_close(reply.as_bytes());
                }
                None => self.queue_close(&[]),
            }
            self.state = self.state.close_sent();
        }
        Ok(Some(Event::Close(close)))
    }

    /// Nothing more can be decoded from what is buffered.
    #[inline(never)]
    fn need_more(&mut self) -> Result<Option<Event>, ProtocolError> {
        if self.eof {
            let (offset, buffered) = self.reader.position();
            let at = offset + buffered as u64;
            return Err(self.fail(ProtocolError::new(Violation::AbnormalClosure, at)));
        }
        self.reader.release_if_idle();
        Ok(None)
    }

    /// Fails the connection (RFC 6455 §7.1.7): nothing more is received,
    /// and the Close that names the failure is queued unless ours went
    /// already or the transport is gone.
    #[cold]
    fn fail(&mut self, error: ProtocolError) -> ProtocolError {
        let close_out = !self.state.can_send();
        self.state = State::Failed;
        self.reader.close();
        self.assembler.reset();
        if let Some(code) = error.close_code()
            && !close_out
            && !self.eof
        {
            let reason = error.violation().to_string();
            self.queue_close(ClosePayload::new(code, &reason).as_bytes());
        }
        error
    }

    // --- messages in ----------------------------------------------------

    /// Sends a whole text message. `Utf8Bytes` and `String` are sent
    /// without copying the text (server role).
    ///
    /// # Errors
    /// [`SendError`] after a Close, during a fragmented send, or under
    /// backpressure; nothing is queued then.
    #[inline]
    pub fn send_text(&mut self, text: impl Into<Utf8Bytes>) -> Result<(), SendError> {
        self.check_data_send()?;
        let deflate = self.deflate.as_deref_mut();
        self.sender
            .message(OpCode::Text, text.into().into_bytes(), deflate);
        Ok(())
    }

    /// Sends a whole binary message, without copying it (server role).
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    #[inline]
    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.check_data_send()?;
        let deflate = self.deflate.as_deref_mut();
        self.sender.message(OpCode::Binary, data.into(), deflate);
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
        self.sender.message(kind.opcode(), data, None);
        Ok(())
    }

    /// Queues a message framed once for many connections
    /// ([`PreparedMessage`]): on a server, without copying or encoding
    /// anything; on a client, masked like any send. Under
    /// permessage-deflate, a message worth compressing goes out as the
    /// frame [`PreparedMessage::with_compression`] made for this
    /// connection's [`shared_compression`](Self::shared_compression) (no
    /// context takeover), or else through this connection's compressor.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), SendError> {
        self.check_data_send()?;
        let deflate = self.deflate.as_deref_mut();
        self.sender.prepared(message, deflate);
        Ok(())
    }

    /// The parameters a broadcast compresses a message for once, to serve
    /// this connection and every other with the same value
    /// ([`PreparedMessage::with_compression`]): `Some` when
    /// permessage-deflate is in force without context takeover on our
    /// side and no compressed fragmented message is half sent.
    #[cfg(feature = "deflate")]
    pub fn shared_compression(&self) -> Option<super::deflate::SharedCompression> {
        self.deflate.as_deref()?.shared_compression()
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
        if !self.state.can_send() {
            return Err(SendError::Closed);
        }
        self.sender.check_fragment(kind)?;
        self.check_backpressure()?;
        let deflate = self.deflate.as_deref_mut();
        self.sender.fragment(kind, data.into(), fin, deflate)
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

    /// Starts the close handshake (RFC 6455 §7.1.2), or answers the peer's
    /// Close when [`Config::auto_close_reply`] is off. No data frames can
    /// be sent afterwards; events keep coming until the peer's Close.
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
        if !self.state.can_send() {
            return Err(SendError::Closed);
        }
        let payload = ClosePayload::new(code, reason);
        self.queue_close(payload.as_bytes());
        self.state = self.state.close_sent();
        Ok(())
    }

    /// Queues our one Close frame (§5.5.1): every site that sends one goes
    /// through here, so `is_close_sent` says whether it was.
    fn queue_close(&mut self, payload: &[u8]) {
        debug_assert!(!self.close_queued, "a second Close");
        self.sender.frame(OpCode::Close, true, 0, payload);
        self.close_queued = true;
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlPayloadTooLong { len: payload.len() });
        }
        if !self.state.can_send() {
            return Err(SendError::Closed);
        }
        // Pings and pongs count against the outbound limit like data, so
        // a caller pinging faster than the transport drains is told so.
        self.check_backpressure()?;
        self.sender.frame(opcode, true, 0, payload);
        Ok(())
    }

    #[inline]
    fn check_data_send(&mut self) -> Result<(), SendError> {
        if !self.state.can_send() {
            return Err(SendError::Closed);
        }
        if self.sender.in_message() {
            return Err(SendError::MessageInProgress);
        }
        self.check_backpressure()
    }

    /// Applies [`Config::slow_consumer`] when the send queue is at or over
    /// [`Config::max_outbound_buffer`].
    #[inline]
    fn check_backpressure(&mut self) -> Result<(), SendError> {
        if !self.is_backpressured() {
            return Ok(());
        }
        self.apply_slow_consumer()
    }

    /// The send queue is full: refuse, or fail the connection (out of line,
    /// so the check above stays a comparison on every send).
    #[cold]
    #[inline(never)]
    fn apply_slow_consumer(&mut self) -> Result<(), SendError> {
        let (buffered, limit) = (self.buffered_amount(), self.config.max_outbound_buffer);
        match self.config.slow_consumer {
            SlowConsumer::Refuse => Err(SendError::Backpressure { buffered, limit }),
            SlowConsumer::Close(code) => {
                // Behind data the peer is not reading, a Close would never
                // arrive: the frames not begun are discarded (and counted
                // in the error), so the Close is the next frame written.
                let discarded = self.sender.transmit.discard_unsent();
                if self.state.can_send() {
                    let payload = ClosePayload::new(code, "slow consumer");
                    self.queue_close(payload.as_bytes());
                }
                self.state = State::Failed;
                self.reader.close();
                self.assembler.reset();
                Err(SendError::SlowConsumer {
                    buffered,
                    limit,
                    code,
                    discarded,
                })
            }
        }
    }

    /// Whether the send queue is at or over [`Config::max_outbound_buffer`]:
    /// data sends are refused (or fail the connection, per
    /// [`Config::slow_consumer`]) until the transport drains it.
    #[inline]
    pub fn is_backpressured(&self) -> bool {
        self.sender.transmit.queued() >= self.config.max_outbound_buffer
    }

    /// Bytes queued and not yet handed to the transport.
    pub fn buffered_amount(&self) -> usize {
        self.sender.transmit.queued()
    }

    // --- bytes out ------------------------------------------------------

    /// The queued bytes as a [`bytes::Buf`]: write [`chunk`](bytes::Buf::chunk)
    /// (or [`chunks_vectored`](bytes::Buf::chunks_vectored)) to the
    /// transport, then [`advance`](bytes::Buf::advance) by what it took.
    /// Until they are handed out they count against
    /// [`Config::max_outbound_buffer`]. A frame written in part is owed
    /// whole: a later Close never cuts it.
    #[must_use = "the bytes must be written to the transport"]
    #[inline]
    pub fn transmit(&mut self) -> &mut Transmit {
        &mut self.sender.transmit
    }

    /// The next bytes to write, as shared bytes: the same bytes, in the same
    /// order, as [`transmit`](Self::transmit) (the two may be mixed).
    #[must_use = "the bytes must be written to the transport"]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.sender.transmit.poll_transmit()
    }

    /// `transmit().chunk()`: the next bytes to write, borrowed; empty when
    /// nothing is queued.
    #[must_use = "the bytes must be written to the transport"]
    #[inline]
    pub fn pending_transmit(&self) -> &[u8] {
        bytes::Buf::chunk(&self.sender.transmit)
    }

    /// `transmit().advance(n)`: the first `n` bytes of
    /// [`pending_transmit`](Self::pending_transmit) were written (more
    /// than it holds counts as all of it).
    #[inline]
    pub fn advance_transmit(&mut self, n: usize) {
        let transmit = &mut self.sender.transmit;
        let n = n.min(bytes::Buf::chunk(transmit).len());
        bytes::Buf::advance(transmit, n);
    }

    // --- time -----------------------------------------------------------

    /// Passes the time: stamps the bytes received since the last call and
    /// runs the deadlines that have passed ([`Config::keepalive_interval`],
    /// [`Config::pong_timeout`], [`Config::close_timeout`]). Call it once
    /// when the connection starts, after each read, and when
    /// [`poll_timeout`](Self::poll_timeout)'s instant arrives; then drain
    /// the outputs as after any input.
    ///
    /// A connection with nothing left to write also gives back its output
    /// buffers here, so an idle connection holds no heap (the input buffer
    /// goes back as soon as it is drained).
    ///
    /// A keepalive ping is queued for the transport; a missed deadline
    /// comes out of `poll_event` as [`Violation::PongTimeout`] or
    /// [`Violation::CloseTimeout`], after which
    /// [`should_close_transport`](Self::should_close_transport) is true.
    #[cfg(feature = "std")]
    pub fn handle_timeout(&mut self, now: Instant) {
        let at = self.timers.origin.since(now);
        self.handle_timeout_at(at);
    }

    /// As [`handle_timeout`](Self::handle_timeout), with the time as a
    /// `Duration` since an origin the caller picks: any monotonic clock,
    /// such as a tick counter (without `std`, the way time comes in; see the
    /// crate docs' "Without std"). Use [`poll_timeout_at`](Self::poll_timeout_at)
    /// on the same timeline.
    pub fn handle_timeout_at(&mut self, now: Duration) {
        self.settle_read();
        self.sender.transmit.release_idle();
        #[cfg(feature = "deflate")]
        if let Some(engine) = self.deflate.as_deref_mut() {
            // Contexts without takeover carry nothing to the next message.
            engine.release_idle();
        }
        if self.abandoned || self.state == State::Failed || self.eof {
            return;
        }
        let phase = self.timer_phase();
        let timed_out = match self.timers.handle_timeout(now, phase, self.durations()) {
            None => return,
            Some(Expired::SendPing) => {
                // Behind a queue the peer is not reading, another ping
                // proves nothing; the pong deadline still runs.
                if !self.is_backpressured() {
                    self.sender.frame(OpCode::Ping, true, 0, &[]);
                }
                return;
            }
            Some(Expired::PeerUnresponsive) => TimedOut::Pong,
            Some(Expired::CloseTimedOut) => TimedOut::Close,
        };
        // The peer is given up on: no Close is sent (these failures have no
        // close code), the transport goes now.
        self.abandoned = true;
        self.state = State::Failed;
        self.reader.close();
        self.assembler.reset();
        self.timed_out = Some(timed_out);
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called;
    /// `None` when no timer runs (none configured, the connection is done,
    /// or the time was never passed in).
    #[cfg(feature = "std")]
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.origin.instant(self.poll_timeout_at()?)
    }

    /// As [`poll_timeout`](Self::poll_timeout), on the timeline of
    /// [`handle_timeout_at`](Self::handle_timeout_at).
    #[must_use]
    pub fn poll_timeout_at(&self) -> Option<Duration> {
        if self.abandoned || self.state == State::Failed || self.eof {
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

    /// Which timers run: keepalive while open; the close timeout while a
    /// Close waits for its answer, and for a client until the server closes
    /// the transport (§7.1.1).
    fn timer_phase(&self) -> Phase {
        Phase {
            open: self.state == State::Open,
            closing: match self.state {
                State::CloseSent | State::CloseReceived => true,
                State::Closed => self.role == Role::Client,
                State::Open | State::Failed => false,
            },
        }
    }

    // --- the end --------------------------------------------------------

    /// Whether the caller should now close the transport: once everything
    /// queued has been written, when the peer closed it, after a failure,
    /// or when the close handshake is complete on a server (RFC 6455
    /// §7.1.1: the server closes TCP first). A client whose handshake is
    /// complete waits for the server to close, up to `close_timeout`.
    pub fn should_close_transport(&self) -> bool {
        if self.eof || self.abandoned {
            return true;
        }
        if self.buffered_amount() > 0 {
            return false;
        }
        match self.state {
            State::Failed => true,
            State::Closed => self.role == Role::Server,
            State::Open | State::CloseSent | State::CloseReceived => false,
        }
    }

    /// Whether our Close frame has been queued (by `send_close`, the
    /// answer to the peer's Close, or a failure that has a close code). No
    /// data follows it; [`state`](Self::state) says more.
    pub fn is_close_sent(&self) -> bool {
        self.close_queued
    }

    /// Whether the peer's Close has been received: `state()` is
    /// `CloseReceived` or `Closed`.
    pub fn is_close_received(&self) -> bool {
        matches!(self.state, State::CloseReceived | State::Closed)
    }
}
