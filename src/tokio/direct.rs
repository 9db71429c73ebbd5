//! The connection driven from the caller's own task: the same drive loop
//! as the [`Driver`](super::Driver), run inside `recv` and `send` instead
//! of a task of its own, with no channel between it and the application.

use crate::prelude::*;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite};
use bytes::Bytes;

use super::driver::{Driver, queue};
use super::handle::{Error, Message};
use crate::Utf8Bytes;
use crate::ws::{CloseCode, CloseFrame, Connection, Event, SendError};

/// A WebSocket driven from the task that uses it ([`WebSocket::direct`](super::WebSocket::direct)):
/// [`recv`](Self::recv) reads the transport, runs the timers and answers
/// pings until an event is ready; [`send`](Self::send) queues a message
/// and writes it out. No second task and no channels, so a message costs
/// no task wake-up or channel hop, and an idle connection holds the
/// connection, the transport and its timer.
///
/// The trade-offs against [`spawn`](super::WebSocket::spawn): the
/// connection moves only while `recv` or `send` is being awaited (call
/// `recv` whenever the application is not sending: that is when pings are
/// answered and keepalives sent; deadlines run in both), and one task owns
/// both directions (use `tokio::select!` to wait on `recv` and something
/// else; `recv` is cancel-safe). It is also a `futures` `Stream` of events
/// and `Sink` of messages, to be polled from that one task: the transport
/// keeps one waker. A failure of the transport while sending is reported
/// by the next `recv`, after the events before it. A server's `recv` ends
/// (`None`) once the close handshake is over and its side of the transport
/// shut down, without lingering for the client's FIN
/// ([`Options::linger`](super::Options::linger) does not apply): drop it
/// then.
///
/// # Example
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use pushcodec::tokio::WebSocket;
/// use pushcodec::ws::{CloseCode, Config, Connection, Event};
///
/// let (server_io, client_io) = tokio::io::duplex(64 * 1024);
/// let mut server = WebSocket::new(server_io, Connection::server(Config::default())).direct();
/// let mut client = WebSocket::new(client_io, Connection::client(Config::default())).direct();
/// let echo = tokio::spawn(async move {
///     // An echo server in one task.
///     while let Some(event) = server.recv().await {
///         match event? {
///             Event::Text(text) => server.send_text(text).await?,
///             Event::Binary(data) => server.send_binary(data).await?,
///             _ => {}
///         }
///     }
///     Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
/// });
/// client.send_text("hello").await?;
/// assert!(matches!(client.recv().await, Some(Ok(Event::Text(t))) if t == "hello"));
/// client.close(CloseCode::NORMAL, "bye").await?;
/// assert!(matches!(client.recv().await, Some(Ok(Event::Close(Some(_))))));
/// assert!(client.recv().await.is_none()); // the close handshake is over
/// echo.await?.unwrap();
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Direct<T> {
    driver: Driver<T>,
    protocol: Option<String>,
    /// The drive loop said it is done: `recv` gives `None` from now on.
    done: bool,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Direct<T> {
    pub(super) fn new(driver: Driver<T>, protocol: Option<String>) -> Self {
        Direct {
            driver,
            protocol,
            done: false,
        }
    }

    /// The subprotocol the handshake agreed on, when an
    /// [`Acceptor`](super::Acceptor) made this connection.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The connection, for what the methods here do not cover (its state,
    /// [`send_binary_copied`](Connection::send_binary_copied) of a
    /// borrowed payload, ...); what it queues goes out at the next `send`,
    /// [`flush`](Self::flush) or `recv`.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.driver.conn
    }

    /// The next event: data messages, the peer's Close, pings and pongs
    /// only if [`Options::control_events`](super::Options::control_events)
    /// asked for them, then a protocol or transport error if one ended the
    /// connection. `None` once the close handshake is over and the
    /// transport closed.
    ///
    /// Cancel-safe: what was read before the future was dropped stays in
    /// the connection, and no event is lost.
    pub async fn recv(&mut self) -> Option<Result<Event, Error>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`recv`](Self::recv) as a poll function.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Event, Error>>> {
        loop {
            if let Some(item) = self.driver.pending.take() {
                return Poll::Ready(Some(item));
            }
            if self.done {
                return Poll::Ready(None);
            }
            match self.driver.step(cx) {
                Poll::Ready(true) => {}
                Poll::Ready(false) => self.done = true,
                // Every source has registered the waker; an event decoded
                // in this round is handed out first.
                Poll::Pending => {
                    return match self.driver.pending.take() {
                        Some(item) => Poll::Ready(Some(item)),
                        None => Poll::Pending,
                    };
                }
            }
        }
    }

    /// Sends a message: queues it and waits until it and everything queued
    /// before it is written and flushed (a peer that does not read slows
    /// the sender down; the pong timeout gives up on one that stopped). A
    /// `send` cancelled while it waits has already queued its message,
    /// which still goes out: do not send it again.
    ///
    /// # Errors
    /// What [`Connection`] refuses to send (after our Close, a control
    /// payload over 125 bytes, ...), and [`SendError::Closed`] once the
    /// transport has failed (its error comes from `recv`); nothing is
    /// queued then.
    pub async fn send(&mut self, message: Message) -> Result<(), SendError> {
        poll_fn(|cx| self.poll_room(cx)).await;
        self.queue(message)?;
        self.flush().await;
        Ok(())
    }

    /// Hands `message` to the connection, unless the transport is gone:
    /// nothing would ever write it, so it must not pile up.
    fn queue(&mut self, message: Message) -> Result<(), SendError> {
        if self.driver.is_failed() {
            return Err(SendError::Closed);
        }
        queue(&mut self.driver.conn, message)
    }

    /// Sends a text message (see [`send`](Self::send)).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_text(&mut self, text: impl Into<Utf8Bytes>) -> Result<(), SendError> {
        self.send(Message::Text(text.into())).await
    }

    /// Sends a binary message (see [`send`](Self::send)).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Message::Binary(data.into())).await
    }

    /// Starts the close handshake (RFC 6455 §7.1.2); keep calling
    /// [`recv`](Self::recv) until `None` to finish it.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        let reason = Utf8Bytes::from(reason);
        self.send(Message::Close(CloseFrame { code, reason })).await
    }

    /// Writes and flushes what the connection has queued. A transport
    /// failure is kept for the next [`recv`](Self::recv).
    pub async fn flush(&mut self) {
        poll_fn(|cx| self.poll_flush(cx)).await;
    }

    /// Ready once the outbound buffer has room for another message (or
    /// the transport failed).
    fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.driver.conn.is_backpressured() {
            return Poll::Ready(());
        }
        self.poll_flush(cx)
    }

    /// Ready once everything queued is written and flushed, or once it
    /// never will be: the transport failed, or the connection gave up (a
    /// peer that stopped reading is found by the pong timeout, whose timer
    /// runs here too).
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // Until the timer waits: one that fired is armed for the next
        // deadline, which registers the waker.
        while self.driver.run_timer(cx) {}
        if self.driver.is_failed() || self.driver.conn.should_close_transport() {
            return Poll::Ready(());
        }
        match self.driver.write(cx) {
            Err(e) => {
                self.driver.fail(e);
                Poll::Ready(())
            }
            Ok(_) if self.driver.conn.buffered_amount() == 0 && !self.driver.flush => {
                Poll::Ready(())
            }
            // `write` stops only once the transport has registered the waker.
            Ok(_) => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> futures_core::Stream for Direct<T> {
    type Item = Result<Event, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}

/// The `futures` form of [`Direct::send`]: `poll_ready` waits for room in
/// the outbound buffer, `start_send` queues, `poll_flush` writes and
/// flushes; `poll_close` flushes and starts nothing (use
/// [`Direct::close`] for the close handshake).
impl<T: AsyncRead + AsyncWrite + Unpin> futures_sink::Sink<Message> for Direct<T> {
    type Error = SendError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        self.get_mut().poll_room(cx).map(Ok)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), SendError> {
        self.get_mut().queue(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        self.get_mut().poll_flush(cx).map(Ok)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        self.get_mut().poll_flush(cx).map(Ok)
    }
}
