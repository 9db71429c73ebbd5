//! The application's two halves of a driven connection: a cloneable
//! [`Sender`] and a cancel-safe [`Receiver`], each a bounded channel to
//! the one task that owns the `Connection` and the transport.

use crate::prelude::*;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use ::tokio::sync::mpsc;
use bytes::Bytes;
use tokio_util::sync::PollSender;

use crate::Utf8Bytes;
use crate::ws::{
    CloseCode, CloseFrame, Event, MAX_CLOSE_REASON, MAX_CONTROL_PAYLOAD, PreparedMessage,
    ProtocolError, SendError,
};

/// What a [`Sender`] hands the driver: a message or a control frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A message encoded once for many connections (server role).
    Prepared(PreparedMessage),
    /// A ping (at most 125 bytes of payload).
    Ping(Bytes),
    /// An unsolicited pong (at most 125 bytes of payload).
    Pong(Bytes),
    /// Starts the close handshake (RFC 6455 §7.1.2) with this code and reason.
    Close(CloseFrame),
}

impl Message {
    /// What the connection would refuse, found before the message is queued
    /// (the driver's `Connection` checks again; this is for reporting).
    fn check(&self) -> Result<(), SendError> {
        match self {
            Message::Ping(p) | Message::Pong(p) if p.len() > MAX_CONTROL_PAYLOAD => {
                Err(SendError::ControlPayloadTooLong { len: p.len() })
            }
            Message::Close(frame) if !frame.code.is_sendable() => {
                Err(SendError::InvalidCloseCode { code: frame.code.0 })
            }
            Message::Close(frame) if frame.reason.len() > MAX_CLOSE_REASON => {
                Err(SendError::CloseReasonTooLong {
                    len: frame.reason.len(),
                })
            }
            _ => Ok(()),
        }
    }
}

/// Why a [`Receiver`] stops: the last item it yields before `None`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke the protocol or a limit, or a deadline passed; the
    /// Close frame with the error's code was sent when it has one.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The transport failed (read, write, flush or shutdown).
    #[error("transport: {0}")]
    Io(#[from] io::Error),
}

/// The sending half: cloneable, each clone a handle on the same connection.
/// Every send waits while the driver's bounded queue is full, and the
/// driver takes from that queue only while the connection's outbound
/// buffer is under [`Config::max_outbound_buffer`](crate::ws::Config::max_outbound_buffer):
/// a peer that does not read slows the senders down instead of growing memory.
///
/// Errors: [`SendError::Closed`] once a Close was sent (by any clone, or
/// in answer to the peer's) or the driver has ended; the control-frame
/// limits before anything is queued. A message accepted just as the
/// connection starts closing is discarded by the driver (RFC 6455 §5.5.1:
/// nothing after a Close).
///
/// It is also a `futures` [`Sink`](futures_sink::Sink) of [`Message`]s.
///
/// # Example
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), pushcodec::ws::SendError> {
/// use pushcodec::tokio::WebSocket;
/// use pushcodec::ws::{CloseCode, Config, Connection, SendError};
///
/// let (io, _peer) = tokio::io::duplex(1024);
/// let (tx, _rx) = WebSocket::new(io, Connection::server(Config::default())).spawn();
/// let tx2 = tx.clone();
/// tx2.send_binary(vec![1, 2, 3]).await?;
/// tx.close(CloseCode::NORMAL, "done").await?;
/// assert_eq!(tx2.send_text("late").await, Err(SendError::Closed));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Sender {
    tx: mpsc::Sender<Message>,
    closed: Arc<AtomicBool>,
    /// The `Sink` side's reserved slot, made on first use.
    sink: Option<PollSender<Message>>,
}

impl Clone for Sender {
    fn clone(&self) -> Self {
        Sender::new(self.tx.clone(), Arc::clone(&self.closed))
    }
}

impl Sender {
    pub(super) fn new(tx: mpsc::Sender<Message>, closed: Arc<AtomicBool>) -> Self {
        Sender {
            tx,
            closed,
            sink: None,
        }
    }

    /// Queues `message` for the driver, waiting while its queue is full.
    /// Cancel-safe in the sense of `mpsc::Sender::send`: dropped before it
    /// completes, the message was not queued.
    ///
    /// # Errors
    /// [`SendError::Closed`], [`SendError::ControlPayloadTooLong`],
    /// [`SendError::InvalidCloseCode`], [`SendError::CloseReasonTooLong`].
    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        message.check()?;
        if self.is_closed() {
            return Err(SendError::Closed);
        }
        let closing = matches!(message, Message::Close(_));
        self.tx.send(message).await.map_err(|_| SendError::Closed)?;
        if closing {
            self.closed.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Sends a text message.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_text(&self, text: impl Into<Utf8Bytes>) -> Result<(), SendError> {
        self.send(Message::Text(text.into())).await
    }

    /// Sends a binary message.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Message::Binary(data.into())).await
    }

    /// Sends a message encoded once for many connections.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_prepared(&self, message: PreparedMessage) -> Result<(), SendError> {
        self.send(Message::Prepared(message)).await
    }

    /// Sends a ping; the pong comes to the [`Receiver`] only with
    /// [`Options::control_events`](super::Options::control_events).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_ping(&self, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Message::Ping(payload.into())).await
    }

    /// Starts the close handshake: the driver sends the Close, reads until
    /// the peer's answer (or [`Config::close_timeout`](crate::ws::Config::close_timeout)),
    /// delivers it to the [`Receiver`] and closes the transport (RFC 6455
    /// §7.1.1: a server first, a client after the server). Returns once
    /// the Close is queued; the `Receiver` ending says the handshake is done.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn close(&self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        if reason.len() > MAX_CLOSE_REASON {
            return Err(SendError::CloseReasonTooLong { len: reason.len() });
        }
        let reason = Utf8Bytes::from(reason.to_owned());
        self.send(Message::Close(CloseFrame { code, reason })).await
    }

    /// Whether sends now fail with [`SendError::Closed`]: a Close was sent
    /// or received, or the driver has ended.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire) || self.tx.is_closed()
    }
}

/// The `futures` form of [`Sender::send`]: `poll_ready` waits for room in
/// the driver's queue, `start_send` checks and queues, `poll_close` starts
/// nothing (use [`Sender::close`] for the close handshake; dropping every
/// `Sender` and the `Receiver` closes with 1001).
impl futures_sink::Sink<Message> for Sender {
    type Error = SendError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        let this = self.get_mut();
        if this.is_closed() {
            return Poll::Ready(Err(SendError::Closed));
        }
        let tx = &this.tx;
        let sink = this.sink.get_or_insert_with(|| PollSender::new(tx.clone()));
        sink.poll_reserve(cx).map_err(|_| SendError::Closed)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), SendError> {
        let this = self.get_mut();
        message.check()?;
        if this.is_closed() {
            return Err(SendError::Closed);
        }
        let closing = matches!(message, Message::Close(_));
        let sink = this.sink.as_mut().ok_or(SendError::Closed)?;
        sink.send_item(message).map_err(|_| SendError::Closed)?;
        if closing {
            this.closed.store(true, Ordering::Release);
        }
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        // Queued is as far as a sender's message goes; the driver writes it.
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        Poll::Ready(Ok(()))
    }
}

/// The receiving half: what the peer sent, in order, then at most one
/// [`Error`], then `None` once the driver has closed the transport.
///
/// [`recv`](Self::recv) is cancel-safe: used as a `select!` branch beside a
/// timeout, a losing `recv` has taken nothing, and the next call returns
/// the same event. While the application does not call it, the driver
/// holds at most [`Options::channel_capacity`](super::Options::channel_capacity)
/// events, then stops reading from the transport (TCP backpressure); pings
/// are answered meanwhile as long as it is reading.
///
/// With the `futures` traits in mind, it is also a
/// [`Stream`](futures_core::Stream) of the same items.
#[derive(Debug)]
pub struct Receiver {
    rx: mpsc::Receiver<Result<Event, Error>>,
    demand: Option<Arc<Demand>>,
}

/// In lockstep ([`Options::lockstep`](super::Options::lockstep)): whether
/// the `Receiver` waits for an event, and the driver's waker to tell it.
#[derive(Debug, Default)]
pub(super) struct Demand {
    wanted: AtomicBool,
    driver: Mutex<Option<Waker>>,
}

impl Demand {
    /// The driver polls: wake this task when the `Receiver` asks.
    pub(super) fn register(&self, waker: &Waker) {
        let mut slot = self.driver.lock().unwrap_or_else(PoisonError::into_inner);
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    /// The `Receiver` found nothing and waits.
    fn ask(&self) {
        if !self.wanted.swap(true, Ordering::AcqRel) {
            let waker = self
                .driver
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    pub(super) fn is_wanted(&self) -> bool {
        self.wanted.load(Ordering::Acquire)
    }

    /// An event went to the `Receiver`.
    pub(super) fn satisfied(&self) {
        self.wanted.store(false, Ordering::Release);
    }
}

impl Receiver {
    pub(super) fn new(
        rx: mpsc::Receiver<Result<Event, Error>>,
        demand: Option<Arc<Demand>>,
    ) -> Self {
        Receiver { rx, demand }
    }

    /// The next event, the error that ended the connection, or `None` when
    /// it is over. Cancel-safe.
    pub async fn recv(&mut self) -> Option<Result<Event, Error>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The poll form of [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Event, Error>>> {
        let polled = self.rx.poll_recv(cx);
        if polled.is_pending()
            && let Some(demand) = &self.demand
        {
            demand.ask();
        }
        polled
    }
}

impl futures_core::Stream for Receiver {
    type Item = Result<Event, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}
