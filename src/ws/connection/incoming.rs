//! What the peer sent, as events: data frames through the assembler (RFC
//! 6455 §5.4, §8.1), control frames answered (§5.5.2 auto-pong, the §5.5.1
//! Close reply), and failing the connection on a violation (§7.1.7).

use crate::prelude::*;
#[cfg(doc)]
use crate::ws::Config;
use bytes::Bytes;

use super::assembler::is_utf8;
use super::reader::{Frame, Take, WholeFrame};
use super::state::State;
use super::{Connection, TimedOut};
use crate::ws::close::{ClosePayload, parse_close_payload};
use crate::ws::error::{ProtocolError, Violation};
use crate::ws::frame::OpCode;
use crate::ws::{Event, EventRef};

impl Connection {
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
                    // Checked just above; the crate forbids unchecked
                    // conversions, so the `str` is made by checking again,
                    // with the SIMD validator (core's took 2.6x the time
                    // of fastwebsockets on 1 KiB texts).
                    EventRef::Text(crate::utf8::validated_str(payload))
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
}
