//! The receive side's frame layer: owns the bytes received and turns them
//! into frames under the header rules (RFC 6455 §5.2), unmasked (§5.3).
//!
//! A frame whose bytes are all buffered when its header is read comes out
//! whole, in one step. One that is still arriving comes out as its header,
//! then, as the assembler asks: gathered in place until complete (its
//! payload is then copied once, by the read, and handed out in one piece),
//! or streamed piece by piece as it arrives.

use bytes::{Buf, Bytes, BytesMut};

use crate::ws::Role;
use crate::ws::error::ProtocolError;
use crate::ws::frame::{FrameHeader, HeaderRules, MAX_HEADER_LEN, OpCode, PayloadCursor};

/// Room [`FrameReader::read_buf`] offers at least: enough for many small
/// frames per read, or for the header and a first piece of a large one.
const MIN_READ_ROOM: usize = 16 * 1024;

/// The most room [`FrameReader::read_buf`] offers between frames on the
/// strength of recent frames' sizes.
const MAX_READ_HINT: u64 = 1 << 20;

/// `FrameReader::lent_len` when the buffer is not lent out.
const NOT_LENT: usize = usize::MAX;

/// A frame that was entirely buffered, taken in one step: its checked
/// header and its unmasked payload. Offsets (`at`) count received bytes
/// from the first one after the handshake.
#[derive(Debug)]
pub(super) struct WholeFrame {
    pub(super) header: FrameHeader,
    pub(super) payload: Bytes,
    /// The header's first byte.
    pub(super) at: u64,
}

/// A part of a frame that is still arriving.
/// A whole frame found at the front of the buffer (see
/// [`FrameReader::claim_whole`]).
#[derive(Debug)]
pub(super) struct Claim {
    pub(super) header: FrameHeader,
    header_len: usize,
    end: usize,
    pub(super) at: u64,
}

#[derive(Debug)]
pub(super) enum Frame {
    /// The header of a frame whose payload is still arriving; the caller
    /// picks how to take it ([`FrameReader::take_payload`]).
    Header { header: FrameHeader, at: u64 },
    /// [`Take::Gather`] with a check: payload bytes just unmasked in place,
    /// [`FrameReader::arrived`] lends them. `at`: the first one.
    Arrived { len: usize, at: u64 },
    /// [`Take::Gather`]: the whole payload, once all of it arrived; the
    /// frame is complete. `at`: the payload's first byte.
    Gathered {
        opcode: OpCode,
        fin: bool,
        payload: Bytes,
        at: u64,
    },
    /// [`Take::Stream`]: the next payload bytes, as they arrived.
    Piece { piece: Bytes, at: u64 },
    /// [`Take::Stream`]: the frame is complete. `at`: its end.
    End { fin: bool, at: u64 },
}

/// How the payload of a frame still arriving is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Take {
    /// Piece by piece, as it arrives.
    Stream,
    /// Gathered in place and handed out whole; with `check`, each newly
    /// arrived part is lent out first ([`Frame::Arrived`]) so it can be
    /// validated as it arrives (fail fast).
    Gather { check: bool },
}

/// The frame being received, past its header.
#[derive(Debug, Clone, Copy)]
struct InFrame {
    opcode: OpCode,
    fin: bool,
    cursor: PayloadCursor,
    take: Take,
    /// Gathered payload bytes at the front of the buffer, already unmasked.
    held: usize,
    /// Stream offset of the payload's first byte not yet handed out.
    at: u64,
}

#[derive(Debug)]
pub(super) struct FrameReader {
    buf: BytesMut,
    /// Length of `buf` when [`read_buf`](Self::read_buf) lent it out, or
    /// `NOT_LENT`: what was appended since is accounted on the next call.
    lent_len: usize,
    /// Bytes at the front of `buf` holding a frame lent to the
    /// application (already counted as read); they go at the next call.
    lent_frame: usize,
    /// Recent data frames' payload length (capped, halved by each smaller
    /// one): `read_buf` offers that much room between frames, so a stream
    /// of large frames does not copy each one's start twice.
    read_hint: u32,
    /// Stream offset of `buf[0]`.
    offset: u64,
    rules: HeaderRules,
    /// Frames entirely buffered come out whole (not when messages are
    /// streamed: a whole frame would then be several events at once).
    whole_frames: bool,
    /// No more input is taken: the peer's Close arrived, or the
    /// connection failed.
    closed: bool,
    frame: Option<InFrame>,
}

/// The one body of [`FrameReader::next_whole`] and
/// [`FrameReader::claim_whole`]: the whole frame at the front, checked,
/// unmasked and counted as read, as a [`Claim`]; returns `Ok(None)` from
/// the caller when there is none, `Err` on a broken rule. A macro, not a
/// function the two share: composed as functions, the small-message path
/// cost 70 more instructions a message (callgrind: the result moved
/// through memory twice).
macro_rules! front_frame {
    ($reader:ident) => {{
        let reader = &mut *$reader;
        debug_assert_eq!(reader.lent_frame, 0, "settle() first");
        if reader.frame.is_some() || !reader.whole_frames {
            return Ok(None);
        }
        let at = reader.offset;
        let Some((header, header_len)) = reader.read_header()? else {
            return Ok(None);
        };
        // `usize` holds it: the rules checked it against `max_frame_size`.
        let len = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
        let end = header_len.saturating_add(len);
        if end > reader.buf.len() {
            return Ok(None);
        }
        if !header.opcode.is_control() {
            reader.note_frame_size(header.payload_len);
        }
        if let Some(key) = header.mask {
            crate::ws::mask::apply_mask(&mut reader.buf[header_len..end], key, 0);
        }
        reader.offset += end as u64;
        Claim {
            header,
            header_len,
            end,
            at,
        }
    }};
}

impl FrameReader {
    pub(super) fn new(role: Role, max_frame_size: usize, whole_frames: bool) -> Self {
        FrameReader {
            buf: BytesMut::new(),
            lent_len: NOT_LENT,
            lent_frame: 0,
            read_hint: 0,
            offset: 0,
            rules: HeaderRules::new(role, max_frame_size),
            whole_frames,
            closed: false,
            frame: None,
        }
    }

    /// permessage-deflate was negotiated: frames may carry RSV1.
    #[cfg(feature = "deflate")]
    pub(super) fn allow_compressed(&mut self) {
        self.rules.allowed_rsv = crate::ws::frame::RSV1;
    }

    /// Takes received bytes; `false` when they are ignored (after the
    /// peer's Close or a failure).
    #[inline]
    pub(super) fn handle_read(&mut self, bytes: &[u8]) -> bool {
        self.settle();
        if self.closed || bytes.is_empty() {
            return false;
        }
        self.buf.extend_from_slice(bytes);
        true
    }

    /// The buffer to read into: see `Connection::read_buf`.
    pub(super) fn read_buf(&mut self) -> &mut BytesMut {
        self.settle();
        let room = match &self.frame {
            Some(
                frame @ InFrame {
                    take: Take::Gather { .. },
                    ..
                },
            ) => {
                // Exactly the rest of the frame being gathered: more (even
                // room for the next header) would move what is buffered to
                // a bigger allocation, a second copy of the frame's start.
                let unread = self.buf.len().saturating_sub(frame.held);
                let rest = frame.cursor.remaining.saturating_sub(unread as u64);
                usize::try_from(rest).unwrap_or(0).max(1)
            }
            _ => (self.read_hint as usize + MAX_HEADER_LEN).max(MIN_READ_ROOM),
        };
        self.buf.reserve(room);
        self.lent_len = self.buf.len();
        &mut self.buf
    }

    /// Accounts for the bytes appended to the lent buffer; `true` when some
    /// were (and are taken).
    #[inline]
    pub(super) fn settle(&mut self) -> bool {
        if self.lent_frame > 0 {
            self.release_lent_frame();
        }
        if self.lent_len == NOT_LENT {
            return false;
        }
        let before = core::mem::replace(&mut self.lent_len, NOT_LENT);
        // A caller that removed bytes against `read_buf`'s docs gets
        // garbage or an error, never an index past the end.
        let before = before.min(self.buf.len());
        if self.buf.len() == before {
            return false;
        }
        if self.closed {
            self.buf.truncate(before);
            return false;
        }
        true
    }

    /// Stream offset of the first byte not yet decoded, and how many bytes
    /// are buffered after it.
    pub(super) fn position(&self) -> (u64, usize) {
        (self.offset, self.buf.len() - self.lent_frame)
    }

    /// The lent frame's bytes leave the buffer: the application is done
    /// with them (it called the connection again).
    #[cold]
    fn release_lent_frame(&mut self) {
        let lent = core::mem::take(&mut self.lent_frame);
        self.buf.advance(lent);
        if self.lent_len != NOT_LENT {
            self.lent_len = self.lent_len.saturating_sub(lent);
        }
    }

    /// Takes no more input and lets go of what is buffered.
    pub(super) fn close(&mut self) {
        self.closed = true;
        self.frame = None;
        self.lent_frame = 0;
        self.buf = BytesMut::new();
    }

    /// Nothing is buffered, lent or half-read: the next bytes start a
    /// frame (a driver may read them elsewhere and hand them in).
    pub(super) fn is_idle(&self) -> bool {
        self.buf.is_empty()
            && self.frame.is_none()
            && self.lent_frame == 0
            && self.lent_len == NOT_LENT
    }

    /// Nothing left to decode: an idle reader holds no heap (what was
    /// handed out keeps the allocation alive only as long as the caller
    /// keeps it).
    pub(super) fn release_if_idle(&mut self) {
        if self.buf.is_empty() && self.frame.is_none() {
            self.buf = BytesMut::new();
        }
    }

    /// The frame at the front when all of it is buffered (and messages are
    /// not streamed), in one step: one header read under the same rules,
    /// one unmasking pass, one split. `Ok(None)` leaves everything as it
    /// was for [`next`](Self::next).
    #[expect(
        clippy::inline_always,
        reason = "the hot path of every small message (callgrind: a call costs ~10% of its instructions)"
    )]
    #[inline(always)]
    pub(super) fn next_whole(&mut self) -> Result<Option<WholeFrame>, ProtocolError> {
        let claim = front_frame!(self);
        Ok(Some(self.take(&claim)))
    }

    /// The frame at the front when all of it is buffered, unmasked in
    /// place and counted as read, its bytes left at the front of the
    /// buffer: [`take`](Self::take) them, or [`lend`](Self::lend) them to
    /// the application until the next call.
    #[expect(clippy::inline_always, reason = "the hot path of every small message")]
    #[inline(always)]
    pub(super) fn claim_whole(&mut self) -> Result<Option<Claim>, ProtocolError> {
        Ok(Some(front_frame!(self)))
    }

    /// The claimed frame's payload as shared bytes.
    #[expect(clippy::inline_always, reason = "the hot path of every small message")]
    #[inline(always)]
    pub(super) fn take(&mut self, claim: &Claim) -> WholeFrame {
        // One split for header and payload; skipping the header of the
        // frozen `Bytes` is a pointer bump, cheaper than `BytesMut::advance`.
        let mut payload = self.buf.split_to(claim.end).freeze();
        payload.advance(claim.header_len);
        WholeFrame {
            header: claim.header,
            payload,
            at: claim.at,
        }
    }

    /// The claimed frame's payload, unmasked.
    #[inline]
    pub(super) fn claimed(&self, claim: &Claim) -> &[u8] {
        &self.buf[claim.header_len..claim.end]
    }

    /// The claimed frame's payload, lent: its bytes leave the buffer at
    /// the next call, with no split and no reference count.
    #[inline]
    pub(super) fn lend(&mut self, claim: &Claim) -> &[u8] {
        self.lent_frame = claim.end;
        &self.buf[claim.header_len..claim.end]
    }

    /// The header at the front under the connection's rules, and its length.
    #[expect(
        clippy::inline_always,
        reason = "part of next_whole, the small-message hot path"
    )]
    #[inline(always)]
    fn read_header(&self) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        self.rules
            .read(&self.buf)
            .map_err(|v| ProtocolError::new(v, self.offset))
    }

    /// The next header or part of a frame still arriving; `Ok(None)` until
    /// more bytes arrive.
    pub(super) fn next(&mut self) -> Result<Option<Frame>, ProtocolError> {
        match self.frame {
            None => self.next_header(),
            Some(_) => Ok(self.next_payload()),
        }
    }

    fn next_header(&mut self) -> Result<Option<Frame>, ProtocolError> {
        let at = self.offset;
        let Some((header, header_len)) = self.read_header()? else {
            return Ok(None);
        };
        self.buf.advance(header_len);
        self.offset += header_len as u64;
        self.frame = Some(InFrame {
            opcode: header.opcode,
            fin: header.fin,
            cursor: PayloadCursor::new(&header),
            take: Take::Stream,
            held: 0,
            at: self.offset,
        });
        Ok(Some(Frame::Header { header, at }))
    }

    /// After [`Frame::Header`]: how to take that frame's payload. To gather
    /// it, room for all of it is reserved now, so it lands in one
    /// allocation (bounded by the frame and message limits, both checked).
    pub(super) fn take_payload(&mut self, take: Take) {
        let Some(frame) = &mut self.frame else {
            return;
        };
        frame.take = take;
        if let Take::Gather { .. } = take {
            let len = frame.cursor.remaining;
            if frame.opcode.is_control() {
                return;
            }
            self.note_frame_size(len);
            let len = usize::try_from(len).unwrap_or(0);
            self.buf.reserve(len.saturating_sub(self.buf.len()));
        }
    }

    /// Smaller frames wear the read hint down, so one large message does
    /// not make every later read ask for its size.
    fn note_frame_size(&mut self, len: u64) {
        let len = u32::try_from(len.min(MAX_READ_HINT)).unwrap_or(0);
        self.read_hint = len.max(self.read_hint / 2);
    }

    /// The bytes [`Frame::Arrived`] announced, unmasked.
    pub(super) fn arrived(&self, len: usize) -> &[u8] {
        let held = self.frame.map_or(0, |f| f.held);
        &self.buf[held - len..held]
    }

    fn next_payload(&mut self) -> Option<Frame> {
        let Some(frame) = &mut self.frame else {
            return None;
        };
        match frame.take {
            Take::Stream => {
                if frame.cursor.remaining == 0 {
                    let fin = frame.fin;
                    self.frame = None;
                    return Some(Frame::End {
                        fin,
                        at: self.offset,
                    });
                }
                if self.buf.is_empty() {
                    return None;
                }
                let mut piece = self.buf.split_to(frame.cursor.take(self.buf.len()));
                frame.cursor.unmask(&mut piece);
                let at = self.offset;
                self.offset += piece.len() as u64;
                Some(Frame::Piece {
                    piece: piece.freeze(),
                    at,
                })
            }
            Take::Gather { check } => {
                frame.held = frame.held.min(self.buf.len());
                let fresh = frame.cursor.take(self.buf.len() - frame.held);
                if fresh > 0 {
                    let start = frame.held;
                    frame.cursor.unmask(&mut self.buf[start..start + fresh]);
                    frame.held += fresh;
                    if check {
                        return Some(Frame::Arrived {
                            len: fresh,
                            at: frame.at + start as u64,
                        });
                    }
                }
                if frame.cursor.remaining > 0 {
                    return None;
                }
                let (opcode, fin, held, at) = (frame.opcode, frame.fin, frame.held, frame.at);
                self.frame = None;
                self.offset += held as u64;
                Some(Frame::Gathered {
                    opcode,
                    fin,
                    payload: self.buf.split_to(held).freeze(),
                    at,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    fn masked(opcode: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
        assert!(payload.len() < 126);
        #[expect(clippy::cast_possible_truncation, reason = "asserted < 126")]
        let mut wire = vec![0x80 | opcode, 0x80 | payload.len() as u8];
        wire.extend_from_slice(&key);
        wire.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        wire
    }

    #[test]
    fn a_buffered_frame_comes_out_whole_and_leaves_the_next_one_alone() {
        // RFC 6455 §5.7: masked "Hello", then the first byte of a next frame.
        let mut wire = masked(0x1, b"Hello", [0x37, 0xfa, 0x21, 0x3d]);
        wire.push(0x82);
        let mut reader = FrameReader::new(Role::Server, 100, true);
        assert!(reader.handle_read(&wire[..10]));
        // Not whole yet: the header, then the payload as asked.
        assert!(matches!(reader.next_whole(), Ok(None)));
        let Ok(Some(Frame::Header { header, at: 0 })) = reader.next() else {
            panic!("header first")
        };
        assert_eq!(header.payload_len, 5);
        reader.take_payload(Take::Stream);
        let Ok(Some(Frame::Piece { piece, at: 6 })) = reader.next() else {
            panic!("a piece")
        };
        assert_eq!(&piece[..], b"Hell");

        let mut reader = FrameReader::new(Role::Server, 100, true);
        reader.handle_read(&wire);
        let Ok(Some(WholeFrame {
            header,
            payload,
            at: 0,
        })) = reader.next_whole()
        else {
            panic!("whole")
        };
        assert_eq!(header.opcode, OpCode::Text);
        assert_eq!(&payload[..], b"Hello");
        assert_eq!(reader.position(), (11, 1));
        assert!(matches!(reader.next_whole(), Ok(None)));
        assert!(matches!(reader.next(), Ok(None)));
    }

    #[test]
    fn a_gathered_payload_is_unmasked_once_as_it_arrives_and_taken_in_one_piece() {
        let key = [9, 8, 7, 6];
        let payload: Vec<u8> = (0..23).collect();
        let mut wire = masked(0x2, &payload, key);
        wire.extend_from_slice(&[0x82, 0x80]); // the next frame's first bytes
        let mut reader = FrameReader::new(Role::Server, 100, true);
        reader.handle_read(&wire[..6]);
        assert!(matches!(reader.next(), Ok(Some(Frame::Header { .. }))));
        reader.take_payload(Take::Gather { check: true });
        let mut seen = Vec::new();
        for (from, to) in [(6, 9), (9, 10), (10, 22), (22, wire.len())] {
            reader.handle_read(&wire[from..to]);
            if let Ok(Some(Frame::Arrived { len, at })) = reader.next() {
                assert_eq!(at, 6 + seen.len() as u64, "no byte is lent twice");
                seen.extend_from_slice(reader.arrived(len));
            }
        }
        assert_eq!(seen, payload);
        let Ok(Some(Frame::Gathered {
            payload: got,
            at: 6,
            fin: true,
            ..
        })) = reader.next()
        else {
            panic!("gathered")
        };
        assert_eq!(&got[..], &payload[..]);
        assert_eq!(reader.position(), (29, 2));
    }

    #[test]
    fn bytes_removed_from_the_lent_buffer_give_an_error_or_nothing_never_a_panic() {
        let key = [1, 2, 3, 4];
        let wire = masked(0x2, &[7; 100], key);
        let mut reader = FrameReader::new(Role::Server, 1000, true);
        reader.handle_read(&wire[..20]);
        assert!(matches!(reader.next(), Ok(Some(Frame::Header { .. }))));
        reader.take_payload(Take::Gather { check: true });
        let _ = reader.next();
        reader.read_buf().clear(); // against the docs
        for _ in 0..3 {
            let _ = reader.next();
            reader.read_buf().extend_from_slice(&wire[20..40]);
        }
    }
}
