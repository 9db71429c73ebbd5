//! What the application sends: whole messages, fragments (§5.4), control
//! frames (§5.5), the Close (§5.5.1, §7.1.2), and the backpressure policy
//! that guards the send queue.

#[cfg(doc)]
use crate::ws::Config;
use bytes::Bytes;

use super::Connection;
use super::state::State;
use crate::Utf8Bytes;
use crate::ws::close::{ClosePayload, MAX_CLOSE_REASON};
use crate::ws::error::SendError;
use crate::ws::frame::{MAX_CONTROL_PAYLOAD, OpCode};
use crate::ws::prepared::PreparedMessage;
use crate::ws::{CloseCode, MessageKind, SlowConsumer};

impl Connection {
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

    /// Sends a whole text message from borrowed text, copied into its frame
    /// (masked on the way for a client). For a payload the application holds
    /// only by reference this is the cheapest way: no shared buffer is made,
    /// cloned or dropped (`send_text(Utf8Bytes)` is cheaper for a large
    /// payload a server already owns: it is queued without a copy).
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    #[inline]
    pub fn send_text_copied(&mut self, text: &str) -> Result<(), SendError> {
        self.check_data_send()?;
        let deflate = self.deflate.as_deref_mut();
        self.sender
            .message_copied(OpCode::Text, text.as_bytes(), deflate);
        Ok(())
    }

    /// Sends a whole binary message from a borrowed slice, copied into its
    /// frame; see [`send_text_copied`](Self::send_text_copied).
    ///
    /// # Errors
    /// As [`send_binary`](Self::send_binary).
    ///
    /// # Example
    /// ```
    /// use pushcodec::ws::{Config, Connection};
    ///
    /// let mut server = Connection::server(Config::default());
    /// let reading = [0x01, 0x02, 0x03];
    /// server.send_binary_copied(&reading)?;
    /// assert_eq!(&server.poll_transmit().unwrap()[..], b"\x82\x03\x01\x02\x03");
    /// # Ok::<(), pushcodec::ws::SendError>(())
    /// ```
    #[inline]
    pub fn send_binary_copied(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.check_data_send()?;
        let deflate = self.deflate.as_deref_mut();
        self.sender.message_copied(OpCode::Binary, data, deflate);
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
    pub fn shared_compression(&self) -> Option<crate::ws::deflate::SharedCompression> {
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
    pub(super) fn queue_close(&mut self, payload: &[u8]) {
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
}
