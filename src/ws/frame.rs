//! Frame headers and the incremental frame decoder (RFC 6455 §5.2).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::Role;
use super::error::{ProtocolError, Violation};
use super::mask::apply_mask;

/// Longest frame header: 2 bytes, an 8-byte length and a 4-byte mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// Largest payload of a control frame (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame's opcode (RFC 6455 §5.2). Reserved opcodes never get this far:
/// parsing rejects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: starts a text message.
    Text,
    /// 0x2: starts a binary message.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// The 4-bit value on the wire.
    pub const fn to_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// The opcode for a 4-bit value; `None` for the reserved ones.
    pub const fn from_u8(value: u8) -> Option<OpCode> {
        Some(match value {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// Close, Ping and Pong (RFC 6455 §5.5).
    pub const fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// A frame header (RFC 6455 §5.2).
///
/// # Example
/// ```
/// use pushcodec::ws::{FrameHeader, OpCode};
///
/// // RFC 6455 §5.7: a single-frame masked text message "Hello".
/// let wire = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let (header, len) = FrameHeader::parse(&wire).unwrap().unwrap();
/// assert_eq!(len, 6);
/// assert_eq!(header.opcode, OpCode::Text);
/// assert_eq!(header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
/// assert_eq!(header.payload_len, 5);
///
/// let mut out = [0u8; pushcodec::ws::MAX_HEADER_LEN];
/// let n = header.encode(&mut out);
/// assert_eq!(&out[..n], &wire[..6]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The final fragment of a message.
    pub fin: bool,
    /// RSV1, RSV2, RSV3 as the three low bits (RSV1 = 0b100).
    pub rsv: u8,
    /// What the frame carries.
    pub opcode: OpCode,
    /// The masking key; every client frame has one, no server frame does.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub payload_len: u64,
}

impl FrameHeader {
    /// Parses a header from the start of `buf`.
    ///
    /// `Ok(None)`: `buf` holds only part of a header. On success, also the
    /// header's length in bytes. Rejects what the header bytes alone show
    /// to be invalid whatever the role: reserved opcodes, a length not in
    /// its minimal encoding, a 64-bit length with the top bit set. Errors
    /// carry offset 0; a [`FrameDecoder`] reports stream offsets.
    ///
    /// # Errors
    /// A [`ProtocolError`] naming the rule broken.
    pub fn parse(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        parse_header(buf).map_err(|v| ProtocolError::new(v, 0))
    }

    /// Writes the header into `out`; returns its length (2 to 14 bytes).
    /// Lengths are written in their minimal encoding.
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0b111) << 4) | self.opcode.to_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut n = match self.payload_len {
            #[expect(clippy::cast_possible_truncation, reason = "checked: < 126")]
            len @ 0..=125 => {
                out[1] = mask_bit | len as u8;
                2
            }
            #[expect(clippy::cast_possible_truncation, reason = "checked: fits in u16")]
            len @ 126..=0xFFFF => {
                out[1] = mask_bit | 0x7E;
                out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                out[1] = mask_bit | 0x7F;
                out[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[n..n + 4].copy_from_slice(&key);
            n += 4;
        }
        n
    }

    /// How many bytes [`encode`](Self::encode) writes.
    pub const fn encoded_len(&self) -> usize {
        let len_bytes = match self.payload_len {
            0..=125 => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        2 + len_bytes + if self.mask.is_some() { 4 } else { 0 }
    }
}

/// Writes a whole frame into `out`: the header, then the payload, masked
/// with `mask` for a client (RFC 6455 §5.3: a fresh random key per frame)
/// or as it is for a server. Masking happens while copying, in one pass.
///
/// For a large server payload that should not be copied, write
/// [`FrameHeader::encode`] to a stack buffer instead and send the payload
/// `Bytes` after it (vectored).
///
/// # Example
/// ```
/// use pushcodec::ws::{encode_frame, OpCode};
///
/// let mut out = Vec::new();
/// encode_frame(OpCode::Text, true, b"Hello", Some([0x37, 0xfa, 0x21, 0x3d]), &mut out);
/// assert_eq!(out, [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// ```
pub fn encode_frame(
    opcode: OpCode,
    fin: bool,
    payload: &[u8],
    mask: Option<[u8; 4]>,
    out: &mut impl BufMut,
) {
    let header = FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask,
        payload_len: payload.len() as u64,
    };
    encode_with_header(&header, payload, out);
}

/// Writes `header` and then `payload`, masked with `header.mask` if any.
/// `header.payload_len` must be `payload.len()`.
fn encode_with_header(header: &FrameHeader, payload: &[u8], out: &mut impl BufMut) {
    debug_assert_eq!(header.payload_len, payload.len() as u64);
    let mut head = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut head);
    out.put_slice(&head[..n]);
    match header.mask {
        None => out.put_slice(payload),
        Some(key) => {
            // Through a small stack buffer, so any `BufMut` works and the
            // payload is read once.
            let mut scratch = [0u8; 512];
            for piece in payload.chunks(scratch.len()) {
                let scratch = &mut scratch[..piece.len()];
                scratch.copy_from_slice(piece);
                // Pieces are multiples of 4 long, so every one starts at phase 0.
                apply_mask(scratch, key, 0);
                out.put_slice(scratch);
            }
        }
    }
}

/// [`apply_mask`] with the phase kept as a `u8`.
fn unmask(buf: &mut [u8], key: [u8; 4], phase: u8) -> u8 {
    let next = apply_mask(buf, key, usize::from(phase));
    #[expect(clippy::cast_possible_truncation, reason = "a phase is < 4")]
    let next = next as u8;
    next
}

fn parse_header(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, Violation> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    let opcode_bits = b0 & 0x0F;
    let opcode = OpCode::from_u8(opcode_bits).ok_or(Violation::ReservedOpcode {
        opcode: opcode_bits,
    })?;
    let masked = b1 & 0x80 != 0;
    let (payload_len, len_end) = match b1 & 0x7F {
        126 => {
            let Some(bytes) = buf.get(2..4) else {
                return Ok(None);
            };
            let len = u64::from(u16::from_be_bytes([bytes[0], bytes[1]]));
            if len < 126 {
                return Err(Violation::NonMinimalLength { len });
            }
            (len, 4)
        }
        127 => {
            let Some(bytes) = buf.get(2..10) else {
                return Ok(None);
            };
            let mut be = [0u8; 8];
            be.copy_from_slice(bytes);
            let len = u64::from_be_bytes(be);
            if len >> 63 != 0 {
                return Err(Violation::LengthTooLong);
            }
            if len <= 0xFFFF {
                return Err(Violation::NonMinimalLength { len });
            }
            (len, 10)
        }
        len => (u64::from(len), 2),
    };
    let (mask, header_len) = if masked {
        let Some(key) = buf.get(len_end..len_end + 4) else {
            return Ok(None);
        };
        (Some([key[0], key[1], key[2], key[3]]), len_end + 4)
    } else {
        (None, len_end)
    };
    Ok(Some((
        FrameHeader {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 0b111,
            opcode,
            mask,
            payload_len,
        },
        header_len,
    )))
}

/// What a [`FrameDecoder`] found next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameEvent {
    /// A header that passed every check; its payload follows.
    Header(FrameHeader),
    /// The next unmasked bytes of the current frame's payload. A payload
    /// comes in as many pieces as it arrived in; an empty one in none.
    Payload(Bytes),
    /// The current frame is complete.
    End,
}

/// Incremental frame decoding for one role: checks each header as soon as
/// its bytes are there (before any payload is buffered), then hands out the
/// payload unmasked, piece by piece, as it arrives.
///
/// Message-level rules (continuation order, message size, UTF-8) belong to
/// [`Connection`](super::Connection), which is built on this.
///
/// # Example
/// ```
/// use bytes::BytesMut;
/// use pushcodec::ws::{FrameDecoder, FrameEvent, Role};
///
/// let mut dec = FrameDecoder::new(Role::Server, 1 << 20);
/// let mut buf = BytesMut::from(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f][..]);
/// assert!(matches!(dec.decode(&mut buf), Ok(Some(FrameEvent::Header(_)))));
/// assert_eq!(dec.decode(&mut buf), Ok(Some(FrameEvent::Payload("He".into()))));
/// assert_eq!(dec.decode(&mut buf), Ok(None)); // the rest has not arrived
/// buf.extend_from_slice(&[0x4d, 0x51, 0x58]);
/// assert_eq!(dec.decode(&mut buf), Ok(Some(FrameEvent::Payload("llo".into()))));
/// assert_eq!(dec.decode(&mut buf), Ok(Some(FrameEvent::End)));
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    role: Role,
    max_frame_size: usize,
    /// RSV bits an extension has claimed (RSV1 = 0b100).
    allowed_rsv: u8,
    state: DecodeState,
    /// Stream offset of `buf[0]` on the next call.
    offset: u64,
}

#[derive(Debug, Clone, Copy)]
enum DecodeState {
    Header,
    Payload {
        mask: Option<[u8; 4]>,
        /// Where in the key the next payload byte is (0..4); a `u8` keeps
        /// the state, and so `Connection`, small.
        phase: u8,
        remaining: u64,
        /// Payload bytes at the front of the buffer already unmasked in
        /// place and left there ([`FrameDecoder::unmask_in_place`]).
        held: usize,
        /// The payload is gathered in place ([`FrameDecoder::collect`]).
        collect: bool,
    },
}

impl FrameDecoder {
    /// A decoder for frames received by `role`, refusing payloads over
    /// `max_frame_size` bytes.
    pub fn new(role: Role, max_frame_size: usize) -> Self {
        FrameDecoder {
            role,
            max_frame_size,
            allowed_rsv: 0,
            state: DecodeState::Header,
            offset: 0,
        }
    }

    /// Lets frames carry the given RSV bits (RSV1 = 0b100), for a negotiated
    /// extension such as permessage-deflate (RFC 7692 uses RSV1).
    pub fn allow_rsv(&mut self, rsv: u8) {
        self.allowed_rsv = rsv & 0b111;
    }

    /// Payload bytes of the current frame not yet decoded (0 between frames).
    pub(crate) fn remaining_payload(&self) -> u64 {
        match self.state {
            DecodeState::Header => 0,
            DecodeState::Payload { remaining, .. } => remaining,
        }
    }

    /// Stream offset of the next byte to be decoded.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Takes what it can from the front of `buf`: a header, a piece of
    /// payload (unmasked in place and split off without copying), or the
    /// end of a frame. `Ok(None)`: more bytes are needed.
    ///
    /// # Errors
    /// A [`ProtocolError`] for a header that breaks RFC 6455 §5 for this
    /// role or the size limit, with the stream offset of the frame.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<FrameEvent>, ProtocolError> {
        match self.state {
            DecodeState::Header => {
                let Some((header, len)) = parse_header(buf)
                    .and_then(|parsed| match parsed {
                        Some((h, _)) => self.check(&h).map(|()| parsed),
                        None => Ok(None),
                    })
                    .map_err(|v| ProtocolError::new(v, self.offset))?
                else {
                    return Ok(None);
                };
                buf.advance(len);
                self.offset += len as u64;
                self.state = DecodeState::Payload {
                    mask: header.mask,
                    phase: 0,
                    remaining: header.payload_len,
                    held: 0,
                    collect: false,
                };
                Ok(Some(FrameEvent::Header(header)))
            }
            DecodeState::Payload { remaining: 0, .. } => {
                self.state = DecodeState::Header;
                Ok(Some(FrameEvent::End))
            }
            DecodeState::Payload {
                mask,
                phase,
                remaining,
                held,
                ..
            } => {
                if buf.is_empty() {
                    return Ok(None);
                }
                let take = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
                let mut piece = buf.split_to(take);
                // Bytes unmasked in place earlier are not unmasked twice.
                let phase = match mask {
                    Some(key) if take > held => unmask(&mut piece[held..], key, phase),
                    _ => phase,
                };
                self.offset += take as u64;
                self.state = DecodeState::Payload {
                    mask,
                    phase,
                    remaining: remaining - take as u64,
                    held: 0,
                    collect: false,
                };
                Ok(Some(FrameEvent::Payload(piece.freeze())))
            }
        }
    }

    /// A whole frame at the front of `buf`, in one step: header checked,
    /// payload unmasked in place and split off without copying. The frame
    /// is taken only if `accept` approves its header and unmasked payload;
    /// otherwise (and when the frame is not whole yet, or breaks a rule)
    /// `buf` is left as it was, for [`decode`](Self::decode) to go through
    /// step by step and report what is wrong.
    pub(crate) fn decode_whole(
        &mut self,
        buf: &mut BytesMut,
        accept: impl FnOnce(&FrameHeader, &[u8]) -> bool,
    ) -> Option<(FrameHeader, Bytes)> {
        if !matches!(self.state, DecodeState::Header) {
            return None;
        }
        let (header, header_len) = Self::parse_small_header(buf)?;
        let len = usize::try_from(header.payload_len).ok()?;
        let end = header_len.checked_add(len)?;
        if buf.len() < end || self.check(&header).is_err() {
            return None;
        }
        let payload = &mut buf[header_len..end];
        if let Some(key) = header.mask {
            apply_mask(payload, key, 0);
        }
        if !accept(&header, payload) {
            if let Some(key) = header.mask {
                // Masked again: the step-by-step decode starts from the wire bytes.
                apply_mask(payload, key, 0);
            }
            return None;
        }
        self.offset += end as u64;
        // One split for header and payload; skipping the header of the
        // frozen `Bytes` is a pointer bump, cheaper than `BytesMut::advance`.
        let mut frame = buf.split_to(end).freeze();
        frame.advance(header_len);
        Some((header, frame))
    }

    /// Gathers the current frame's payload in place from now on: the
    /// caller drives [`unmask_in_place`](Self::unmask_in_place) and
    /// [`take_held`](Self::take_held) until the payload is whole.
    pub(crate) fn collect(&mut self) {
        if let DecodeState::Payload { collect, .. } = &mut self.state {
            *collect = true;
        }
    }

    /// Whether the current frame's payload is being gathered in place.
    pub(crate) fn is_collecting(&self) -> bool {
        matches!(self.state, DecodeState::Payload { collect: true, .. })
    }

    /// The header at the front of `buf` if it has a 7- or 16-bit length in
    /// its minimal encoding, read with plain byte tests (no error values
    /// built); `None` for anything else, which [`parse_header`] then
    /// handles or reports. The role and limit rules stay in
    /// [`check`](Self::check).
    #[inline]
    fn parse_small_header(buf: &[u8]) -> Option<(FrameHeader, usize)> {
        let [b0, b1, ..] = *buf else {
            return None;
        };
        let opcode = OpCode::from_u8(b0 & 0x0F)?;
        let (payload_len, len_end) = match b1 & 0x7F {
            126 => {
                let len = u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?]);
                if len < 126 {
                    return None;
                }
                (u64::from(len), 4)
            }
            127 => return None,
            len => (u64::from(len), 2),
        };
        let (mask, header_len) = if b1 & 0x80 != 0 {
            let key = buf.get(len_end..len_end + 4)?;
            (Some([key[0], key[1], key[2], key[3]]), len_end + 4)
        } else {
            (None, len_end)
        };
        let header = FrameHeader {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 0b111,
            opcode,
            mask,
            payload_len,
        };
        Some((header, header_len))
    }

    /// Unmasks, in place, the current frame's payload bytes that arrived
    /// since the last call, leaving them at the front of `buf` so a payload
    /// spread over many reads is split off in one piece by
    /// [`take_held`](Self::take_held) instead of joined from many. Returns
    /// the range of `buf` just unmasked (empty between frames or when
    /// nothing new arrived).
    pub(crate) fn unmask_in_place(&mut self, buf: &mut BytesMut) -> std::ops::Range<usize> {
        let DecodeState::Payload {
            mask,
            phase,
            remaining,
            held,
            ..
        } = &mut self.state
        else {
            return 0..0;
        };
        let available = usize::try_from(*remaining).map_or(buf.len(), |r| r.min(buf.len()));
        // Held bytes are never removed by the decoder's user; should a
        // caller do it anyway (`Connection::read_buf` says not to), count
        // what is left rather than index past it.
        *held = (*held).min(available);
        let fresh = *held..available;
        if let Some(key) = *mask {
            *phase = unmask(&mut buf[fresh.clone()], key, *phase);
        }
        *held = fresh.end;
        fresh
    }

    /// The current frame's whole payload, once [`unmask_in_place`](Self::unmask_in_place)
    /// has seen all of it; [`decode`](Self::decode) then reports the frame's end.
    pub(crate) fn take_held(&mut self, buf: &mut BytesMut) -> Option<Bytes> {
        let DecodeState::Payload {
            remaining,
            held,
            collect,
            ..
        } = &mut self.state
        else {
            return None;
        };
        if *held as u64 != *remaining || *held > buf.len() {
            return None;
        }
        let payload = buf.split_to(*held).freeze();
        self.offset += *held as u64;
        *remaining = 0;
        *held = 0;
        *collect = false;
        Some(payload)
    }

    /// RFC 6455 §5.1–§5.5 checks the header alone allows, in wire order.
    #[inline]
    fn check(&self, h: &FrameHeader) -> Result<(), Violation> {
        if h.rsv & !self.allowed_rsv != 0 {
            return Err(Violation::ReservedBits { rsv: h.rsv });
        }
        if h.opcode.is_control() {
            if !h.fin {
                return Err(Violation::FragmentedControlFrame);
            }
            if h.payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(Violation::ControlFrameTooLong { len: h.payload_len });
            }
        }
        // §5.1: clients mask every frame; servers mask none.
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(Violation::UnmaskedFrame),
            (Role::Client, true) => return Err(Violation::MaskedFrame),
            _ => {}
        }
        if h.payload_len > self.max_frame_size as u64 {
            return Err(Violation::FrameTooLarge {
                len: h.payload_len,
                limit: self.max_frame_size,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `wire` as `role` and returns the first error's rule and offset.
    fn first_error(role: Role, max: usize, wire: &[u8]) -> Option<(Violation, u64)> {
        let mut dec = FrameDecoder::new(role, max);
        let mut buf = BytesMut::from(wire);
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(_)) => {}
                Ok(None) => return None,
                Err(e) => return Some((e.violation().clone(), e.offset())),
            }
        }
    }

    #[test]
    fn every_header_violation_is_caught_from_the_header_alone_in_both_roles() {
        // (role, header bytes, expected rule). No payload follows any of
        // them: the rule must be decided before payload is buffered.
        let key = [1, 2, 3, 4];
        let masked = |b0: u8, b1: u8| vec![b0, 0x80 | b1, key[0], key[1], key[2], key[3]];
        let table: Vec<(Role, Vec<u8>, Violation)> = vec![
            (
                Role::Server,
                masked(0xC1, 1),
                Violation::ReservedBits { rsv: 0b100 },
            ),
            (
                Role::Client,
                vec![0xA2, 1],
                Violation::ReservedBits { rsv: 0b010 },
            ),
            (
                Role::Client,
                vec![0x91, 1],
                Violation::ReservedBits { rsv: 0b001 },
            ),
            (
                Role::Server,
                masked(0x83, 0),
                Violation::ReservedOpcode { opcode: 3 },
            ),
            (
                Role::Client,
                vec![0x87, 0],
                Violation::ReservedOpcode { opcode: 7 },
            ),
            (
                Role::Server,
                masked(0x8B, 0),
                Violation::ReservedOpcode { opcode: 0xB },
            ),
            (
                Role::Client,
                vec![0x8F, 0],
                Violation::ReservedOpcode { opcode: 0xF },
            ),
            (Role::Server, vec![0x81, 5], Violation::UnmaskedFrame),
            (Role::Client, masked(0x81, 5), Violation::MaskedFrame),
            (
                Role::Server,
                masked(0x09, 0),
                Violation::FragmentedControlFrame,
            ),
            (
                Role::Client,
                vec![0x08, 0],
                Violation::FragmentedControlFrame,
            ),
            (
                Role::Client,
                vec![0x8A, 126, 0, 126],
                Violation::ControlFrameTooLong { len: 126 },
            ),
            (
                Role::Client,
                vec![0x82, 126, 0, 125],
                Violation::NonMinimalLength { len: 125 },
            ),
            (
                Role::Client,
                vec![0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF],
                Violation::NonMinimalLength { len: 0xFFFF },
            ),
            (
                Role::Server,
                vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0],
                Violation::LengthTooLong,
            ),
            (
                Role::Client,
                vec![0x82, 127, 0, 0, 0, 0, 0, 0x10, 0, 1],
                Violation::FrameTooLarge {
                    len: 0x10_0001,
                    limit: 1 << 20,
                },
            ),
        ];
        for (role, header, expected) in table {
            // Preceded by one valid empty frame, so the offset is checked too.
            let mut wire = match role {
                Role::Server => masked(0x82, 0),
                Role::Client => vec![0x82, 0],
            };
            let at = wire.len() as u64;
            wire.extend_from_slice(&header);
            let got = first_error(role, 1 << 20, &wire);
            assert_eq!(got, Some((expected.clone(), at)), "{role:?} {header:x?}");
            let code = expected.close_code().unwrap();
            let want = if matches!(expected, Violation::FrameTooLarge { .. }) {
                1009
            } else {
                1002
            };
            assert_eq!(code.0, want);
        }
    }

    #[test]
    fn payload_is_unmasked_piece_by_piece_with_the_key_phase_carried() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut wire = vec![0x82, 0x80 | 0x0A];
        wire.extend_from_slice(&key);
        let payload: Vec<u8> = (0..10).collect();
        wire.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        let mut dec = FrameDecoder::new(Role::Server, 100);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for byte in wire {
            buf.extend_from_slice(&[byte]);
            while let Some(event) = dec.decode(&mut buf).unwrap() {
                if let FrameEvent::Payload(piece) = event {
                    got.extend_from_slice(&piece);
                }
            }
        }
        assert_eq!(got, payload);
    }

    #[test]
    fn decode_whole_takes_only_an_accepted_whole_frame_and_leaves_the_rest_as_it_was() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        // RFC 6455 §5.7: masked "Hello", then the first byte of a next frame.
        let wire = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58, 0x82,
        ];
        let mut dec = FrameDecoder::new(Role::Server, 100);

        let mut partial = BytesMut::from(&wire[..10]);
        assert!(dec.decode_whole(&mut partial, |_, _| true).is_none());
        assert_eq!(&partial[..], &wire[..10], "a partial frame is left alone");

        let mut buf = BytesMut::from(&wire[..]);
        assert!(dec.decode_whole(&mut buf, |_, p| p == b"Hell").is_none());
        assert_eq!(&buf[..], &wire[..], "a declined frame is masked again");
        assert_eq!(dec.offset(), 0);

        let (header, payload) = dec.decode_whole(&mut buf, |_, p| p == b"Hello").unwrap();
        assert_eq!((header.opcode, header.mask), (OpCode::Text, Some(key)));
        assert_eq!(&payload[..], b"Hello");
        assert_eq!(&buf[..], &[0x82]);
        assert_eq!(dec.offset(), 11);
    }

    #[test]
    fn a_payload_unmasked_in_place_in_pieces_is_taken_whole_once_complete() {
        let key = [9, 8, 7, 6];
        let payload: Vec<u8> = (0..23).collect();
        let mut wire = vec![0x82, 0x80 | 0x17];
        wire.extend_from_slice(&key);
        wire.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        wire.extend_from_slice(&[0x82, 0x80]); // the next frame's first bytes
        let mut dec = FrameDecoder::new(Role::Server, 100);
        let mut buf = BytesMut::from(&wire[..6]);
        assert!(matches!(
            dec.decode(&mut buf),
            Ok(Some(FrameEvent::Header(_)))
        ));
        dec.collect();
        let mut seen = 0;
        for (at, end) in [(6, 9), (9, 10), (10, 22), (22, wire.len())] {
            buf.extend_from_slice(&wire[at..end]);
            let fresh = dec.unmask_in_place(&mut buf);
            assert_eq!(fresh.start, seen, "no byte is unmasked twice");
            seen = fresh.end;
            if end < 29 {
                assert!(dec.take_held(&mut buf).is_none());
            }
        }
        assert_eq!(&dec.take_held(&mut buf).unwrap()[..], &payload[..]);
        assert!(!dec.is_collecting());
        assert_eq!(dec.decode(&mut buf), Ok(Some(FrameEvent::End)));
        assert_eq!(&buf[..], &[0x82, 0x80]);
        assert_eq!(dec.offset(), 29);
    }
}
