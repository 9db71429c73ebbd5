//! The driver task: one future that owns the `Connection` and the
//! transport, and runs the crate's drive loop on them with tokio's clock.

use crate::prelude::*;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ::tokio::io::{AsyncRead, AsyncWrite};
use ::tokio::sync::mpsc;
use ::tokio::time::Sleep;
use tokio_util::sync::PollSender;

use super::direct::Direct;
use super::handle::{Demand, Error, Message, Receiver, Sender};
use crate::ws::{CloseCode, Connection, Event, Role, SendError, State};

/// The stack buffer an idle connection's read waits on: most messages fit
/// in one, and a larger one's first bytes are copied once more.
const IDLE_READ: usize = 4096;

/// How the driver runs, beside the connection's own [`Config`](crate::ws::Config).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Capacity of each of the two channels, in messages (default 64): how
    /// many messages the senders may queue before they wait, and how many
    /// events the driver holds for the [`Receiver`] before it stops reading
    /// the transport.
    pub channel_capacity: usize,
    /// Deliver pings and pongs to the [`Receiver`] (default off: pings are
    /// answered by the connection, and an idle application's channel does
    /// not fill with keepalives).
    pub control_events: bool,
    /// How long a server reads (and discards) after closing its side, so the
    /// client's last bytes do not turn the close into a reset (default 5 s).
    pub linger: Duration,
    /// Decode the next event only when the [`Receiver`] asks for it, after
    /// taking what the senders queued (default off). A reply sent before
    /// the next `recv` then goes out before anything the following bytes
    /// cause: an echo before the Close of a protocol error in them, as the
    /// strict Autobahn cases (3.2, 4.1.3, 5.15, ...) check. The cost: no
    /// events decoded ahead (one wake-up per event), and an application
    /// that stops calling `recv` stops the reads too (pings then go
    /// unanswered until it asks again).
    pub lockstep: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            channel_capacity: 64,
            control_events: false,
            linger: Duration::from_secs(5),
            lockstep: false,
        }
    }
}

impl Options {
    /// Sets [`channel_capacity`](Self::channel_capacity) (at least 1).
    #[must_use]
    pub fn channel_capacity(mut self, n: usize) -> Self {
        self.channel_capacity = n.max(1);
        self
    }

    /// Sets [`control_events`](Self::control_events).
    #[must_use]
    pub fn control_events(mut self, on: bool) -> Self {
        self.control_events = on;
        self
    }

    /// Sets [`lockstep`](Self::lockstep).
    #[must_use]
    pub fn lockstep(mut self, on: bool) -> Self {
        self.lockstep = on;
        self
    }

    /// Sets [`linger`](Self::linger).
    #[must_use]
    pub fn linger(mut self, d: Duration) -> Self {
        self.linger = d;
        self
    }
}

/// A [`Connection`] and its transport, before the driver starts: any
/// `AsyncRead + AsyncWrite + Unpin + Send` after the handshake.
///
/// [`spawn`](Self::spawn) runs the driver on a tokio task and returns the
/// [`Sender`] and [`Receiver`]; [`split`](Self::split) hands out the
/// [`Driver`] future too, to run where you like.
///
/// # Example
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use pushcodec::tokio::{Options, WebSocket};
/// use pushcodec::ws::{Config, Connection};
/// use tokio::io::AsyncReadExt;
///
/// let (io, mut peer) = tokio::io::duplex(1024);
/// let ws = WebSocket::new(io, Connection::server(Config::default()))
///     .options(Options::default().channel_capacity(16));
/// let (tx, rx, driver) = ws.split();
/// let task = tokio::spawn(driver);
/// drop((tx, rx)); // nobody left: the driver sends a Close (1001, going away)
/// let mut close = [0u8; 4];
/// peer.read_exact(&mut close).await?;
/// assert_eq!(close, [0x88, 0x02, 0x03, 0xe9]);
/// drop(peer); // the peer's side ends: so does the driver
/// task.await.unwrap();
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct WebSocket<T> {
    io: T,
    conn: Connection,
    options: Options,
    protocol: Option<String>,
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> WebSocket<T> {
    /// `conn` over `io`; bytes already read past the handshake belong in
    /// `conn` (`handle_read`) before this.
    pub fn new(io: T, conn: Connection) -> Self {
        WebSocket {
            io,
            conn,
            options: Options::default(),
            protocol: None,
        }
    }

    /// Records the subprotocol the handshake agreed on.
    pub(super) fn with_protocol(mut self, protocol: Option<String>) -> Self {
        self.protocol = protocol;
        self
    }

    /// The subprotocol the handshake agreed on, when an [`Acceptor`](super::Acceptor)
    /// made this connection.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Replaces the driver's [`Options`].
    #[must_use]
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// The connection, to inspect or configure before the driver starts.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The two halves and the driver future that serves them; the driver
    /// ends (with `()`: its outcome goes to the `Receiver`) once the
    /// transport is closed.
    pub fn split(self) -> (Sender, Receiver, Driver<T>) {
        let cap = self.options.channel_capacity.max(1);
        let (cmd_tx, cmd_rx) = mpsc::channel(cap);
        let (ev_tx, ev_rx) = mpsc::channel(cap);
        let closed = Arc::new(AtomicBool::new(false));
        let demand = self.options.lockstep.then(|| Arc::new(Demand::default()));
        let mut driver = self.into_driver(false);
        driver.commands = Some(cmd_rx);
        driver.events = Some(PollSender::new(ev_tx));
        driver.closed = Arc::clone(&closed);
        driver.demand.clone_from(&demand);
        (
            Sender::new(cmd_tx, closed),
            Receiver::new(ev_rx, demand),
            driver,
        )
    }

    /// The connection driven from the caller's own task instead: no
    /// channels and no second task (see [`Direct`]). `channel_capacity`
    /// and `lockstep` do not apply: an event is decoded when asked for.
    pub fn direct(mut self) -> Direct<T> {
        let protocol = self.protocol.take();
        // Nobody would drive a linger once `recv` has ended.
        self.options.linger = Duration::ZERO;
        Direct::new(self.into_driver(true), protocol)
    }

    /// The driver with no halves attached yet.
    fn into_driver(self, direct: bool) -> Driver<T> {
        let mut conn = self.conn;
        // Starts the clocks: keepalive pings, pong and close deadlines.
        conn.handle_timeout(Instant::now());
        Driver {
            io: self.io,
            conn,
            control_events: self.options.control_events,
            linger: self.options.linger,
            commands: None,
            events: None,
            direct,
            pending: None,
            sleep: Box::pin(::tokio::time::sleep(Duration::ZERO)),
            armed: None,
            closed: Arc::new(AtomicBool::new(false)),
            flush: false,
            read_eof: false,
            phase: Phase::Running,
            error: None,
            demand: None,
        }
    }

    /// Spawns the driver on the current tokio runtime and returns the
    /// halves.
    ///
    /// # Panics
    /// Outside a tokio runtime, as `tokio::spawn` does.
    pub fn spawn(self) -> (Sender, Receiver) {
        let (tx, rx, driver) = self.split();
        ::tokio::spawn(driver);
        (tx, rx)
    }
}

/// Hands `message` to the connection (one place for the split and the
/// direct driver).
pub(super) fn queue(conn: &mut Connection, message: Message) -> Result<(), SendError> {
    match message {
        Message::Text(text) => conn.send_text(text),
        Message::Binary(data) => conn.send_binary(data),
        Message::Prepared(m) => conn.send_prepared(&m),
        Message::Ping(p) => conn.send_ping(&p),
        Message::Pong(p) => conn.send_pong(&p),
        Message::Close(frame) => conn.send_close(frame.code, &frame.reason),
    }
}

/// Where the driver is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// Everything is written: closing our side of the transport.
    Shutdown,
    /// A server reads until the client's FIN, until the deadline.
    Linger,
    /// The transport failed: only the events already decoded and the error
    /// are still delivered.
    Failed,
    Done,
}

/// The future that runs one connection: reads into the connection, writes
/// what it queues, delivers its events, takes the senders' messages while
/// its outbound buffer has room, and runs its timers on `tokio::time`. It
/// completes once the transport is closed; spawn it (or use
/// [`WebSocket::spawn`]).
#[must_use = "the driver does nothing unless polled or spawned"]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent flags of the drive loop, each read on its own path"
)]
pub struct Driver<T> {
    io: T,
    pub(super) conn: Connection,
    control_events: bool,
    linger: Duration,
    /// `None` once every `Sender` is gone.
    commands: Option<mpsc::Receiver<Message>>,
    /// `None` once the `Receiver` is gone (events are then dropped).
    events: Option<PollSender<Result<Event, Error>>>,
    /// Driven by a [`Direct`]: an event waits in `pending` for its `recv`
    /// (there is no channel, and nobody is missing).
    direct: bool,
    /// An event taken from the connection, waiting for room in the channel
    /// (or for `Direct::recv`).
    pub(super) pending: Option<Result<Event, Error>>,
    sleep: Pin<Box<Sleep>>,
    armed: Option<Instant>,
    closed: Arc<AtomicBool>,
    /// Bytes were written and not yet flushed.
    pub(super) flush: bool,
    read_eof: bool,
    phase: Phase,
    /// The transport's failure, delivered after the events before it.
    error: Option<io::Error>,
    /// Lockstep: the `Receiver`'s requests for the next event.
    demand: Option<Arc<Demand>>,
}

impl<T> std::fmt::Debug for Driver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("conn", &self.conn)
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Future for Driver<T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            match this.step(cx) {
                Poll::Ready(true) => {}
                Poll::Ready(false) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Driver<T> {
    /// One round of the drive loop. `Ready(true)`: something moved, go
    /// round again; `Ready(false)`: done; `Pending`: every source is
    /// waiting and has registered the waker.
    pub(super) fn step(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        if let Some(demand) = &self.demand {
            // Before `deliver` reads the flag, so no request is missed.
            demand.register(cx.waker());
        }
        let mut progress = self.run_timer(cx);
        // The senders' messages first: in lockstep, what the application
        // sent in answer to an event goes out before the next one is read.
        progress |= self.take_commands(cx);
        progress |= self.deliver(cx);
        if self.phase == Phase::Failed {
            // The transport is gone; what was decoded still goes out.
            return if self.pending.is_some() || self.error.is_some() {
                Poll::Pending
            } else {
                self.finish();
                Poll::Ready(false)
            };
        }
        match self.write(cx) {
            Ok(moved) => progress |= moved,
            Err(e) => return Poll::Ready(self.fail(e)),
        }
        if self.close_transport(cx) {
            return Poll::Ready(false);
        }
        if self.phase == Phase::Linger && self.pending.is_none() && self.events.is_some() {
            // The close is over for the application: lingering is the
            // transport's business.
            self.release();
        }
        match self.read(cx) {
            Ok(moved) => progress |= moved,
            Err(e) => return Poll::Ready(self.fail(e)),
        }
        if progress {
            Poll::Ready(true)
        } else {
            Poll::Pending
        }
    }

    /// The transport failed (the error waits for `deliver`).
    pub(super) fn is_failed(&self) -> bool {
        self.phase == Phase::Failed
    }

    /// Wakes at the connection's next deadline and passes the time.
    pub(super) fn run_timer(&mut self, cx: &mut Context<'_>) -> bool {
        let deadline = match self.phase {
            Phase::Running => self.conn.poll_timeout(),
            // The linger deadline was armed by `close_transport`.
            Phase::Linger | Phase::Shutdown => self.armed,
            Phase::Failed | Phase::Done => None,
        };
        let Some(at) = deadline else {
            return false;
        };
        if self.armed != Some(at) {
            self.sleep.as_mut().reset(at.into());
            self.armed = Some(at);
        }
        if self.sleep.as_mut().poll(cx).is_pending() {
            return false;
        }
        if self.phase == Phase::Running {
            self.armed = None;
            self.conn.handle_timeout(Instant::now());
            true
        } else {
            // The client never sent its FIN: stop lingering.
            self.phase = Phase::Done;
            true
        }
    }

    /// Moves decoded events into the channel while it has room.
    fn deliver(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        loop {
            if self.pending.is_none() {
                if !self.wanted() {
                    break;
                }
                self.pending = match self.conn.poll_event() {
                    // After a transport failure the error is the last item.
                    Ok(None) => match self.error.take() {
                        Some(e) => Some(Err(Error::Io(e))),
                        None => break,
                    },
                    Ok(Some(Event::Ping(_) | Event::Pong(_))) if !self.control_events => {
                        progress = true;
                        continue;
                    }
                    Ok(Some(event)) => Some(Ok(event)),
                    Err(e) => Some(Err(e.into())),
                };
                progress = true;
            }
            let Some(events) = self.events.as_mut() else {
                if self.direct {
                    // Taken by `Direct::recv`; nothing more is decoded
                    // (nor read) until it is.
                    break;
                }
                // Nobody listens: drop it (the connection still answers).
                self.pending = None;
                continue;
            };
            match events.poll_reserve(cx) {
                Poll::Ready(Ok(())) => {
                    if let Some(item) = self.pending.take() {
                        // Reserved just now, so it cannot fail.
                        let _ = events.send_item(item);
                        if let Some(demand) = &self.demand {
                            demand.satisfied();
                        }
                    }
                }
                Poll::Ready(Err(_)) => self.events = None,
                Poll::Pending => break,
            }
        }
        if self.conn.is_close_sent()
            || !matches!(self.conn.state(), State::Open | State::CloseReceived)
        {
            self.closed.store(true, Ordering::Release);
        }
        progress
    }

    /// Whether the next event may be decoded: always, but in lockstep only
    /// once the `Receiver` asks (and always after a transport failure, so
    /// the driver ends).
    fn wanted(&self) -> bool {
        // Nobody left to ask: decode (and so answer pings) as without lockstep.
        self.demand
            .as_ref()
            .is_none_or(|d| d.is_wanted() || self.unheard() || self.phase == Phase::Failed)
    }

    /// The `Receiver` is gone (dropped, or released by the driver).
    fn unheard(&self) -> bool {
        !self.direct
            && self
                .events
                .as_ref()
                .and_then(PollSender::get_ref)
                .is_none_or(mpsc::Sender::is_closed)
    }

    /// Takes the senders' messages while the outbound buffer has room.
    fn take_commands(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        while let Some(commands) = self.commands.as_mut() {
            if self.conn.is_backpressured() {
                break;
            }
            match commands.poll_recv(cx) {
                Poll::Ready(Some(message)) => {
                    progress = true;
                    // Errors here are the races the Sender cannot see (the
                    // peer's Close arrived first): RFC 6455 §5.5.1 leaves
                    // nothing to do but drop the message.
                    let _ = queue(&mut self.conn, message);
                }
                Poll::Ready(None) => {
                    self.commands = None;
                    progress = true;
                }
                Poll::Pending => break,
            }
        }
        if self.commands.is_none() && self.unheard() && self.conn.state() == State::Open {
            // Both halves dropped: nobody can use the connection any more
            // (a `Receiver` dropped last is noticed at the next event, read
            // or timer).
            let _ = self.conn.send_close(CloseCode::GOING_AWAY, "");
            progress = true;
        }
        progress
    }

    /// Writes what the connection queued, then flushes.
    pub(super) fn write(&mut self, cx: &mut Context<'_>) -> io::Result<bool> {
        let mut progress = false;
        while self.conn.buffered_amount() > 0 {
            let io = Pin::new(&mut self.io);
            let written = if io.is_write_vectored() {
                let mut slices = [io::IoSlice::new(&[]); 16];
                let n = bytes::Buf::chunks_vectored(self.conn.transmit(), &mut slices);
                io.poll_write_vectored(cx, &slices[..n])
            } else {
                io.poll_write(cx, self.conn.pending_transmit())
            };
            match written {
                Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => {
                    bytes::Buf::advance(self.conn.transmit(), n);
                    self.flush = true;
                    progress = true;
                }
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => return Ok(progress),
            }
        }
        if self.flush
            && let Poll::Ready(r) = Pin::new(&mut self.io).poll_flush(cx)
        {
            r?;
            self.flush = false;
            progress = true;
        }
        Ok(progress)
    }

    /// Closes the transport when the connection says so (RFC 6455 §7.1.1).
    /// `true`: the driver is done.
    fn close_transport(&mut self, cx: &mut Context<'_>) -> bool {
        if self.phase == Phase::Running {
            // It waits for the queue to drain, except when the peer is gone
            // or given up on: then what is left would never be read (the
            // shutdown flushes what was written).
            if !self.conn.should_close_transport() {
                return false;
            }
            self.phase = Phase::Shutdown;
        }
        if self.phase == Phase::Shutdown {
            match Pin::new(&mut self.io).poll_shutdown(cx) {
                Poll::Pending => return false,
                // A peer that already reset the connection makes shutdown
                // fail; the close is over either way.
                Poll::Ready(_) => {}
            }
            if self.read_eof || self.conn.role() == Role::Client || self.linger.is_zero() {
                self.phase = Phase::Done;
            } else {
                self.phase = Phase::Linger;
                self.armed = None;
                let at = Instant::now() + self.linger;
                self.sleep.as_mut().reset(at.into());
                self.armed = Some(at);
            }
        }
        if self.phase == Phase::Done && self.pending.is_none() {
            self.finish();
            return true;
        }
        false
    }

    /// Reads into the connection while the channel has room for its events
    /// (a full channel stops the reads: TCP backpressure).
    fn read(&mut self, cx: &mut Context<'_>) -> io::Result<bool> {
        if self.read_eof || self.pending.is_some() || self.phase == Phase::Done {
            return Ok(false);
        }
        if self.phase != Phase::Linger && !self.wanted() {
            // Lockstep: nothing is read that nobody asked for.
            return Ok(false);
        }
        if self.phase == Phase::Linger {
            // Read and drop until the client's FIN.
            let mut scratch = [0u8; 4096];
            let mut buf = ::tokio::io::ReadBuf::new(&mut scratch);
            return match Pin::new(&mut self.io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                    self.read_eof = true;
                    self.phase = Phase::Done;
                    Ok(true)
                }
                Poll::Ready(Ok(())) => Ok(true),
                // The linger is courtesy; a reset ends it.
                Poll::Ready(Err(_)) => {
                    self.phase = Phase::Done;
                    Ok(true)
                }
                Poll::Pending => Ok(false),
            };
        }
        let read = if self.conn.is_read_idle() {
            // Between messages the read waits on a stack buffer, not on the
            // connection's receive room: an idle connection then holds no
            // receive buffer (16 KiB of its memory otherwise). What arrives
            // is copied in once; the rest of a large frame is read straight
            // into its room as before.
            let mut scratch = [0u8; IDLE_READ];
            let mut buf = ::tokio::io::ReadBuf::new(&mut scratch);
            Pin::new(&mut self.io).poll_read(cx, &mut buf).map_ok(|()| {
                self.conn.handle_read(buf.filled());
                buf.filled().len()
            })
        } else {
            tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, self.conn.read_buf())
        };
        match read {
            Poll::Pending => Ok(false),
            Poll::Ready(Err(e)) => Err(e),
            Poll::Ready(Ok(0)) => {
                self.read_eof = true;
                self.conn.handle_eof();
                Ok(true)
            }
            Poll::Ready(Ok(_)) => {
                // Stamps the bytes as received (keepalive) and runs timers.
                self.conn.handle_timeout(Instant::now());
                Ok(true)
            }
        }
    }

    /// The transport failed: what was already decoded goes to the
    /// `Receiver`, then the error (see `deliver`).
    pub(super) fn fail(&mut self, e: io::Error) -> bool {
        self.phase = Phase::Failed;
        self.error = Some(e);
        true
    }

    /// The driver ends: the halves see it.
    fn finish(&mut self) {
        self.phase = Phase::Done;
        self.release();
    }

    /// Lets the halves go: the `Receiver` ends, sends fail.
    fn release(&mut self) {
        self.closed.store(true, Ordering::Release);
        self.events = None;
        self.commands = None;
    }
}
