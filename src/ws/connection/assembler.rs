//! Data frames into messages: fragmentation (RFC 6455 §5.4), the message
//! limits, UTF-8 for text (§5.6, §8.1, failing fast inside an unfinished
//! frame), permessage-deflate's inflation (RFC 7692 §7.2.2), and messages
//! streamed in parts.

use bytes::{Bytes, BytesMut};

use super::compression::Deflate;
use super::reader::Take;
use crate::Utf8Bytes;
use crate::utf8::Utf8Validator;
use crate::ws::error::{ProtocolError, Violation};
use crate::ws::frame::{FrameHeader, OpCode, RSV1};
use crate::ws::{Config, Event, MessageKind};

/// Texts shorter than this are checked for ASCII word-wise first: under
/// 64 bytes simdutf8 falls back to its byte-wise check, and short texts
/// are mostly ASCII.
const SHORT_TEXT: usize = 64;

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

/// The validator's unfinished code point before a piece was fed.
#[derive(Debug, Default, Clone, Copy)]
struct Held {
    bytes: [u8; 4],
    len: usize,
}

#[derive(Debug, Default)]
pub(super) struct Assembler {
    message: Option<Incoming>,
    validator: Utf8Validator,
}

impl Assembler {
    /// A data frame that arrived whole (not when messages are streamed).
    /// The common case, an unfragmented uncompressed message, is decided
    /// here in one step.
    #[expect(
        clippy::inline_always,
        reason = "the hot path of every small message; left to the compiler it is a call (+46 Ir a message, callgrind)"
    )]
    #[inline(always)]
    pub(super) fn whole(
        &mut self,
        header: &FrameHeader,
        payload: Bytes,
        at: u64,
        config: &Config,
        deflate: Option<&mut Deflate>,
    ) -> Result<Option<Event>, ProtocolError> {
        if self.is_lone_message(header, payload.len(), config) {
            match header.opcode {
                OpCode::Binary => return Ok(Some(Event::Binary(payload))),
                OpCode::Text if is_utf8(&payload) => {
                    return Ok(Some(Event::Text(Utf8Bytes::from_validated(payload))));
                }
                _ => {}
            }
        }
        self.whole_in_steps(header, payload, at, config, deflate)
    }

    /// A whole data frame that is a message by itself, within the limit,
    /// outside any fragmented message and uncompressed: it is handed out
    /// as it is (text once validated). Every other frame takes the steps.
    #[expect(clippy::inline_always, reason = "the hot path of every small message")]
    #[inline(always)]
    pub(super) fn is_lone_message(
        &self,
        header: &FrameHeader,
        len: usize,
        config: &Config,
    ) -> bool {
        header.fin
            && header.rsv == 0
            && matches!(header.opcode, OpCode::Text | OpCode::Binary)
            && self.message.is_none()
            && len <= config.max_message_size
    }

    /// Every other whole data frame, through the same steps as one that
    /// arrives in parts (and so with the same verdicts and offsets).
    #[inline(never)]
    fn whole_in_steps(
        &mut self,
        header: &FrameHeader,
        payload: Bytes,
        at: u64,
        config: &Config,
        mut deflate: Option<&mut Deflate>,
    ) -> Result<Option<Event>, ProtocolError> {
        let payload_at = at + header.encoded_len() as u64;
        let end = payload_at + payload.len() as u64;
        self.header(header, at, config)?;
        let part = self.piece(payload, payload_at, config, deflate.as_deref_mut())?;
        debug_assert!(part.is_none(), "whole frames come only when not streaming");
        self.end(header.fin, end, config, deflate)
    }

    /// A data frame's header (Text, Binary or Continuation): the §5.4
    /// order, the fragment and size limits, before any payload is buffered.
    /// Returns how to take its payload, and `MessageStart` when streaming.
    pub(super) fn header(
        &mut self,
        header: &FrameHeader,
        at: u64,
        config: &Config,
    ) -> Result<(Take, Option<Event>), ProtocolError> {
        let violation = |v| Err(ProtocolError::new(v, at));
        let mut start = None;
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
                let mut message = Incoming {
                    kind,
                    size: 0,
                    compressed_size: 0,
                    fragments: 1,
                    body: Body::Empty,
                    // The reader lets RSV1 through only when
                    // permessage-deflate was negotiated.
                    compressed: header.rsv & RSV1 != 0,
                    ending: false,
                };
                account(&mut message, header.payload_len, at, config)?;
                self.message = Some(message);
                self.validator.reset();
                if config.stream_messages {
                    start = Some(Event::MessageStart(kind));
                }
            }
            OpCode::Continuation => {
                let Some(message) = &mut self.message else {
                    return violation(Violation::UnexpectedContinuation);
                };
                if message.fragments >= config.max_fragments {
                    return violation(Violation::TooManyFragments {
                        limit: config.max_fragments,
                    });
                }
                message.fragments += 1;
                account(message, header.payload_len, at, config)?;
            }
            OpCode::Close | OpCode::Ping | OpCode::Pong => {}
        }
        let streamed =
            config.stream_messages || self.message.as_ref().is_some_and(|m| m.compressed);
        let take = if streamed {
            Take::Stream
        } else {
            Take::Gather {
                check: self.is_text(),
            }
        };
        Ok((take, start))
    }

    /// Gathered payload bytes as they arrive, before the frame is complete:
    /// an invalid byte fails the message at once, not at its end
    /// (Autobahn 6.4.3, 6.4.4).
    pub(super) fn arrived(&mut self, bytes: &[u8], at: u64) -> Result<(), ProtocolError> {
        self.validator
            .feed(bytes)
            .map_err(|e| ProtocolError::new(Violation::InvalidUtf8, at + e.index as u64))
    }

    /// A gathered frame's whole payload (seen by [`arrived`](Self::arrived)
    /// already if it is text); the frame is complete.
    pub(super) fn gathered(
        &mut self,
        fin: bool,
        payload: Bytes,
        at: u64,
        config: &Config,
    ) -> Result<Option<Event>, ProtocolError> {
        let end = at + payload.len() as u64;
        self.keep(payload);
        self.end(fin, end, config, None)
    }

    /// The next piece of a streamed or compressed frame's payload, as
    /// received: inflated if compressed, validated if text, then kept or
    /// handed out as a part.
    pub(super) fn piece(
        &mut self,
        piece: Bytes,
        at: u64,
        config: &Config,
        deflate: Option<&mut Deflate>,
    ) -> Result<Option<Event>, ProtocolError> {
        let piece = if self.message.as_ref().is_some_and(|m| m.compressed) {
            self.inflate(&piece, false, at, config, deflate)?
        } else {
            piece
        };
        self.take_data(piece, at, config)
    }

    /// A data frame is complete; `fin` ends its message.
    pub(super) fn end(
        &mut self,
        fin: bool,
        at: u64,
        config: &Config,
        deflate: Option<&mut Deflate>,
    ) -> Result<Option<Event>, ProtocolError> {
        if !fin {
            return Ok(None);
        }
        if self.message.as_ref().is_some_and(|m| m.compressed) {
            // RFC 7692 §7.2.2: the tail that ends the message.
            let tail = self.inflate(&[], true, at, config, deflate)?;
            let part = self.take_data(tail, at, config)?;
            self.check_complete_text(at)?;
            if let Some(part) = part {
                if let Some(message) = &mut self.message {
                    message.ending = true;
                }
                return Ok(Some(part));
            }
        }
        self.check_complete_text(at)?;
        let Some(message) = self.message.take() else {
            return Ok(None);
        };
        if config.stream_messages {
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

    /// `MessageEnd`, when a streamed compressed message's last part went out.
    pub(super) fn take_ending(&mut self) -> Option<Event> {
        if self.message.as_ref().is_some_and(|m| m.ending) {
            self.message = None;
            return Some(Event::MessageEnd);
        }
        None
    }

    /// Forgets the message in progress (the connection is closing or failed;
    /// an unfinished message is dropped with it, Autobahn 7.1.5).
    pub(super) fn reset(&mut self) {
        self.message = None;
    }

    fn is_text(&self) -> bool {
        self.message
            .as_ref()
            .is_some_and(|m| m.kind == MessageKind::Text)
    }

    /// RFC 6455 §8.1: a text message may not end inside a code point.
    fn check_complete_text(&self, at: u64) -> Result<(), ProtocolError> {
        if self.is_text() && self.validator.pending() > 0 {
            return Err(ProtocolError::new(Violation::InvalidUtf8, at));
        }
        Ok(())
    }

    /// Validates (text) and keeps or streams the next piece of payload, as
    /// received or as inflated.
    fn take_data(
        &mut self,
        piece: Bytes,
        at: u64,
        config: &Config,
    ) -> Result<Option<Event>, ProtocolError> {
        let Some(message) = &self.message else {
            return Ok(None);
        };
        let kind = message.kind;
        let held = if kind == MessageKind::Text {
            let pending = self.validator.pending_bytes();
            let mut held = Held::default();
            held.bytes[..pending.len()].copy_from_slice(pending);
            held.len = pending.len();
            self.arrived(&piece, at)?;
            held
        } else {
            Held::default()
        };
        if config.stream_messages {
            return Ok(self.stream_part(kind, held, piece));
        }
        self.keep(piece);
        Ok(None)
    }

    /// Adds a piece to the body of the message in progress.
    fn keep(&mut self, piece: Bytes) {
        let Some(message) = &mut self.message else {
            return;
        };
        if piece.is_empty() {
            return;
        }
        message.body = match core::mem::take(&mut message.body) {
            Body::Empty => Body::One(piece),
            Body::One(first) => {
                let mut joined = BytesMut::with_capacity(first.len() + piece.len());
                joined.extend_from_slice(&first);
                joined.extend_from_slice(&piece);
                Body::Joined(joined)
            }
            Body::Joined(mut joined) => {
                joined.extend_from_slice(&piece);
                Body::Joined(joined)
            }
        };
    }

    /// A part of a streamed message: for text, the code points completed by
    /// this piece (an unfinished one waits for the next piece).
    fn stream_part(&self, kind: MessageKind, held: Held, piece: Bytes) -> Option<Event> {
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

    /// Inflates a piece of a compressed message (RFC 7692 §7.2.2), held to
    /// what is left of the message limit while inflating: a bomb fails with
    /// 1009 before more than the limit is ever produced.
    fn inflate(
        &mut self,
        input: &[u8],
        fin: bool,
        at: u64,
        config: &Config,
        deflate: Option<&mut Deflate>,
    ) -> Result<Bytes, ProtocolError> {
        let (Some(engine), Some(message)) = (deflate, self.message.as_mut()) else {
            return Ok(Bytes::new());
        };
        let limit = config.max_message_size;
        let budget = limit.saturating_sub(usize::try_from(message.size).unwrap_or(usize::MAX));
        let mut out = BytesMut::new();
        super::compression::inflate(engine, input, fin, budget, &mut out).map_err(|too_large| {
            let violation = if too_large {
                Violation::MessageTooLarge {
                    size: message.size + budget as u64 + 1,
                    limit,
                }
            } else {
                Violation::InvalidCompressedData
            };
            ProtocolError::new(violation, at)
        })?;
        message.size += out.len() as u64;
        Ok(out.freeze())
    }
}

/// Whether a whole text payload is UTF-8.
#[expect(
    clippy::inline_always,
    reason = "short texts: a call costs more than the check (callgrind)"
)]
#[inline(always)]
pub(super) fn is_utf8(payload: &[u8]) -> bool {
    if payload.len() < SHORT_TEXT {
        payload.is_ascii() || core::str::from_utf8(payload).is_ok()
    } else {
        simdutf8::basic::from_utf8(payload).is_ok()
    }
}

/// Counts a data frame's payload against the message limit before any of
/// it is buffered. A compressed message is held to the limit as it
/// inflates; its wire bytes get the same limit plus what deflate can add to
/// incompressible data (5 bytes per 16 KiB block), which bounds the CPU a
/// peer can spend on messages that inflate to nothing.
fn account(
    message: &mut Incoming,
    len: u64,
    at: u64,
    config: &Config,
) -> Result<(), ProtocolError> {
    let limit = config.max_message_size as u64;
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
                limit: config.max_message_size,
            },
            at,
        ));
    }
    *counter = total;
    Ok(())
}
