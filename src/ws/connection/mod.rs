//! The per-connection state machine (RFC 6455 §5, §7), for either role: a
//! thin layer over its parts, each holding its own rules.
//!
//! - [`reader`]: the receive buffer and the frame layer (§5.2, §5.3);
//! - [`assembler`]: fragmentation (§5.4), limits, UTF-8 (§8.1), inflation
//!   (RFC 7692 §7.2.2);
//! - [`incoming`]: what the peer sent, as events: control frames answered
//!   (auto-pong §5.5.2, the Close reply §5.5.1), failing the connection
//!   (§7.1.7);
//! - [`outgoing`]: what the application sends (§5.4 fragments, §5.5
//!   control frames, our Close) and the backpressure policy;
//! - [`sender`] and [`send`]: framing and masking (§5.3, RFC 7692 §6.1),
//!   the send queue and partial writes;
//! - [`state`]: the close handshake (§7.1);
//! - [`timers`]: keepalive, pong deadline, close timeout.
//!
//! What is left here: the connection's fields, its constructors, bytes in,
//! bytes out, time and the end of the connection.

use crate::prelude::*;

mod assembler;
mod compression;
mod incoming;
mod outgoing;
mod reader;
mod send;
mod sender;
mod state;
mod timers;

use core::time::Duration;
#[cfg(feature = "std")]
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use self::assembler::Assembler;
use self::compression::Deflate;
use self::reader::FrameReader;
pub use self::send::Transmit;
use self::sender::{Masking, Sender};
pub use self::state::State;
use self::timers::{Durations, Expired, Phase, Timers};
#[cfg(doc)]
use super::Violation;
use super::frame::OpCode;
use super::{Config, Event, RandomSource, Role};

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

    /// Whether nothing received is buffered or half-read: the next bytes
    /// start a frame. A driver may then read into a buffer of its own (a
    /// small one on the stack) and hand the bytes in with
    /// [`handle_read`](Self::handle_read), so that an idle connection
    /// holds no receive room; otherwise [`read_buf`](Self::read_buf) gives
    /// the room the frame being received needs. The tokio driver does so.
    pub fn is_read_idle(&self) -> bool {
        self.reader.is_idle()
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
