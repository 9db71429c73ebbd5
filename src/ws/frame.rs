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
#[repr(u8)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation = 0x0,
    /// 0x1: starts a text message.
    Text = 0x1,
    /// 0x2: starts a binary message.
    Binary = 0x2,
    /// 0x8: close.
    Close = 0x8,
    /// 0x9: ping.
    Ping = 0x9,
    /// 0xA: pong.
    Pong = 0xA,
}

impl OpCode {
    /// The 4-bit value on the wire.
    pub const fn to_u8(self) -> u8 {
        self as u8
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

    /// Close, Ping and Pong (RFC 6455 §5.5: the opcodes with the high bit set).
    pub const fn is_control(self) -> bool {
        self as u8 & 0x8 != 0
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
    #[inline]
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
    let mut head = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut head);
    out.put_slice(&head[..n]);
    match mask {
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
pub(crate) fn unmask(buf: &mut [u8], key: [u8; 4], phase: u8) -> u8 {
    let next = apply_mask(buf, key, usize::from(phase));
    #[expect(clippy::cast_possible_truncation, reason = "a phase is < 4")]
    let next = next as u8;
    next
}

/// Reads the header at the start of `buf` (RFC 6455 §5.2): `Ok(None)` until
/// all its bytes are there. The rules that the bytes alone decide (reserved
/// opcodes, minimal length encoding, the 64-bit length's top bit) are
/// checked here; the role's and the connection's are [`HeaderRules::check`].
#[inline]
pub(crate) fn parse_header(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, Violation> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    let opcode_bits = b0 & 0x0F;
    let Some(opcode) = OpCode::from_u8(opcode_bits) else {
        return Err(Violation::ReservedOpcode {
            opcode: opcode_bits,
        });
    };
    let (payload_len, len_end) = match b1 & 0x7F {
        126 => {
            let [_, _, hi, lo, ..] = *buf else {
                return Ok(None);
            };
            let len = u64::from(u16::from_be_bytes([hi, lo]));
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
    let (mask, header_len) = if b1 & 0x80 != 0 {
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

/// The RSV1 bit of a frame header, as `FrameHeader::rsv` holds it: the
/// "compressed" flag of permessage-deflate (RFC 7692 §6).
pub(crate) const RSV1: u8 = 0b100;

/// The header rules that depend on who receives the frame and what was
/// negotiated (RFC 6455 §5.1–§5.5, RFC 7692 §6.1), checked as soon as a
/// header is complete and before any of its payload is buffered. One set,
/// used by [`FrameDecoder`] and by the connection's frame reader.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeaderRules {
    pub(crate) role: Role,
    pub(crate) max_frame_size: usize,
    /// RSV bits an extension has claimed (RSV1 = 0b100).
    pub(crate) allowed_rsv: u8,
}

impl HeaderRules {
    pub(crate) fn new(role: Role, max_frame_size: usize) -> Self {
        HeaderRules {
            role,
            max_frame_size,
            allowed_rsv: 0,
        }
    }

    /// The checks, in wire order.
    #[inline]
    pub(crate) fn check(&self, h: &FrameHeader) -> Result<(), Violation> {
        if h.rsv != 0 {
            self.check_rsv(h)?;
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

    /// RSV bits are set: only those an extension claimed, and RSV1 only
    /// where permessage-deflate puts it.
    #[cold]
    fn check_rsv(&self, h: &FrameHeader) -> Result<(), Violation> {
        if h.rsv & !self.allowed_rsv != 0 {
            return Err(Violation::ReservedBits { rsv: h.rsv });
        }
        // RFC 7692 §6.1: RSV1 marks the first frame of a compressed message
        // only, never a continuation or a control frame.
        if h.rsv & RSV1 != 0 && !matches!(h.opcode, OpCode::Text | OpCode::Binary) {
            return Err(Violation::MisplacedCompressionBit);
        }
        Ok(())
    }

    /// [`parse_header`], then [`check`](Self::check).
    #[inline]
    pub(crate) fn read(&self, buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, Violation> {
        match parse_header(buf)? {
            Some((header, len)) => self.check(&header).map(|()| Some((header, len))),
            None => Ok(None),
        }
    }
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
/// [`Connection`](super::Connection), which reads frames under the same
/// header rules.
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
    rules: HeaderRules,
    /// The payload being decoded, or `None` between frames.
    payload: Option<PayloadCursor>,
    /// Stream offset of `buf[0]` on the next call.
    offset: u64,
}

/// Where the decoding of one frame's payload is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PayloadCursor {
    pub(crate) mask: Option<[u8; 4]>,
    /// Where in the key the next payload byte is (0..4).
    pub(crate) phase: u8,
    pub(crate) remaining: u64,
}

impl PayloadCursor {
    pub(crate) fn new(header: &FrameHeader) -> Self {
        PayloadCursor {
            mask: header.mask,
            phase: 0,
            remaining: header.payload_len,
        }
    }

    /// How many of `available` bytes belong to this payload.
    pub(crate) fn take(&self, available: usize) -> usize {
        usize::try_from(self.remaining).map_or(available, |r| r.min(available))
    }

    /// Unmasks `bytes`, the payload's next bytes, in place and moves past them.
    pub(crate) fn unmask(&mut self, bytes: &mut [u8]) {
        if let Some(key) = self.mask {
            self.phase = unmask(bytes, key, self.phase);
        }
        self.remaining -= bytes.len() as u64;
    }
}

impl FrameDecoder {
    /// A decoder for frames received by `role`, refusing payloads over
    /// `max_frame_size` bytes.
    pub fn new(role: Role, max_frame_size: usize) -> Self {
        FrameDecoder {
            rules: HeaderRules::new(role, max_frame_size),
            payload: None,
            offset: 0,
        }
    }

    /// Lets frames carry the given RSV bits (RSV1 = 0b100), for a negotiated
    /// extension. RSV1 is taken as permessage-deflate's "compressed" bit:
    /// allowed on the first frame of a data message only (RFC 7692 §6.1).
    pub fn allow_rsv(&mut self, rsv: u8) {
        self.rules.allowed_rsv = rsv & 0b111;
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
        match &mut self.payload {
            None => {
                let Some((header, len)) = self
                    .rules
                    .read(buf)
                    .map_err(|v| ProtocolError::new(v, self.offset))?
                else {
                    return Ok(None);
                };
                buf.advance(len);
                self.offset += len as u64;
                self.payload = Some(PayloadCursor::new(&header));
                Ok(Some(FrameEvent::Header(header)))
            }
            Some(PayloadCursor { remaining: 0, .. }) => {
                self.payload = None;
                Ok(Some(FrameEvent::End))
            }
            Some(cursor) => {
                if buf.is_empty() {
                    return Ok(None);
                }
                let mut piece = buf.split_to(cursor.take(buf.len()));
                cursor.unmask(&mut piece);
                self.offset += piece.len() as u64;
                Ok(Some(FrameEvent::Payload(piece.freeze())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

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
}
