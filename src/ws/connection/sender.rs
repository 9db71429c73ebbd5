//! What this endpoint sends, into frames for the send queue: whole
//! messages and fragments (RFC 6455 §5.4, text fragments valid UTF-8
//! together, §5.6), masked with a fresh key per frame by a client (§5.3),
//! compressed when permessage-deflate is in force (RFC 7692 §6.1: RSV1 on
//! a message's first frame only).

use crate::prelude::*;
use bytes::{Bytes, BytesMut};

use super::compression::{Deflate, compress, shared_frame, should_compress};
use super::send::{COPY_THRESHOLD, Transmit};
use crate::utf8::Utf8Validator;
#[cfg(feature = "os-random")]
use crate::ws::OsRandom;
use crate::ws::error::SendError;
use crate::ws::frame::{OpCode, RSV1};
use crate::ws::{MessageKind, PreparedMessage, RandomSource, Role};

/// Where the masking keys come from (RFC 6455 §5.3: a client masks every
/// frame with a fresh, unpredictable key; a server masks nothing). Without
/// the OS source a client can only be built with the caller's, so no
/// client ever lacks one.
pub(super) enum Masking {
    /// A server's frames.
    Unmasked,
    /// The operating system's CSPRNG, through [`OsRandom`]'s pool.
    #[cfg(feature = "os-random")]
    Os,
    /// The caller's source.
    Caller(Box<dyn RandomSource>),
}

/// A fragmented message being sent.
#[derive(Debug, Clone, Copy)]
struct Fragmented {
    kind: MessageKind,
    /// Its first frame had RSV1: every fragment goes through the compressor.
    compressed: bool,
}

pub(super) struct Sender {
    pub(super) transmit: Transmit,
    fragmented: Option<Fragmented>,
    /// The UTF-8 state of the text message being sent in fragments.
    validator: Utf8Validator,
    masking: Masking,
    /// Follows from `masking`; kept apart because every message asks (one
    /// byte read, where the enum's discriminant is a niche in a pointer).
    role: Role,
}

impl Sender {
    pub(super) fn new(masking: Masking) -> Self {
        let role = if matches!(masking, Masking::Unmasked) {
            Role::Server
        } else {
            Role::Client
        };
        Sender {
            masking,
            role,
            transmit: Transmit::default(),
            fragmented: None,
            validator: Utf8Validator::new(),
        }
    }

    /// Replaces a client's source of keys; a server has no use for one.
    pub(super) fn set_random(&mut self, rng: Box<dyn RandomSource>) {
        if self.role() == Role::Client {
            self.masking = Masking::Caller(rng);
        }
    }

    fn role(&self) -> Role {
        self.role
    }

    /// A fragmented message is unfinished: no other message may start
    /// (§5.4).
    #[inline]
    pub(super) fn in_message(&self) -> bool {
        self.fragmented.is_some()
    }

    /// A fragment of `kind` may be sent now (§5.4: it continues the message
    /// in progress, or starts one).
    ///
    /// # Errors
    /// [`SendError::KindMismatch`] for another kind than the message in progress.
    pub(super) fn check_fragment(&self, kind: MessageKind) -> Result<(), SendError> {
        match self.fragmented {
            Some(message) if message.kind != kind => Err(SendError::KindMismatch),
            _ => Ok(()),
        }
    }

    /// Queues a whole data message, compressed when `deflate` is given and
    /// the message is big enough to be worth it.
    #[inline]
    pub(super) fn message(&mut self, opcode: OpCode, data: Bytes, deflate: Option<&mut Deflate>) {
        match compressed(&data, deflate) {
            Some(out) => self.payload(opcode, true, RSV1, out),
            None => self.payload(opcode, true, 0, data),
        }
    }

    /// As [`message`](Self::message), for a borrowed payload: copied
    /// straight into its frame, so no shared buffer is cloned or dropped.
    #[inline]
    pub(super) fn message_copied(
        &mut self,
        opcode: OpCode,
        data: &[u8],
        deflate: Option<&mut Deflate>,
    ) {
        match compressed(data, deflate) {
            Some(out) => self.payload(opcode, true, RSV1, out),
            None => self.frame(opcode, true, 0, data),
        }
    }

    /// Queues one fragment of a message of `kind`: the first starts it,
    /// `fin` ends it. With `deflate`, the message is compressed, each
    /// fragment flushed so it can leave at once.
    ///
    /// # Errors
    /// [`SendError::KindMismatch`] (see [`check_fragment`](Self::check_fragment))
    /// and [`SendError::InvalidUtf8`]; nothing is queued then.
    pub(super) fn fragment(
        &mut self,
        kind: MessageKind,
        data: Bytes,
        fin: bool,
        deflate: Option<&mut Deflate>,
    ) -> Result<(), SendError> {
        let (opcode, compressed) = match self.fragmented {
            Some(message) if message.kind != kind => return Err(SendError::KindMismatch),
            Some(message) => (OpCode::Continuation, message.compressed),
            None => (kind.opcode(), deflate.is_some()),
        };
        if kind == MessageKind::Text {
            if self.fragmented.is_none() {
                self.validator.reset();
            }
            let mut probe = self.validator.clone();
            probe.feed(&data).map_err(|_| SendError::InvalidUtf8)?;
            if fin && probe.pending() > 0 {
                return Err(SendError::InvalidUtf8);
            }
            self.validator = probe;
        }
        let first = self.fragmented.is_none();
        self.fragmented = (!fin).then_some(Fragmented { kind, compressed });
        let rsv = if compressed && first { RSV1 } else { 0 };
        let payload = match deflate {
            Some(engine) if compressed => {
                let mut out = BytesMut::with_capacity(data.len() / 2 + 16);
                compress(engine, &data, fin, &mut out);
                out.freeze()
            }
            _ => data,
        };
        self.payload(opcode, fin, rsv, payload);
        Ok(())
    }

    /// Queues a message framed once for many connections: on a server the
    /// frame as it is, the compressed one when `deflate` has no context
    /// takeover and the message was compressed for its parameters; a
    /// client masks a copy like any frame. With context takeover the
    /// message goes through this connection's compressor, as any message.
    pub(super) fn prepared(&mut self, message: &PreparedMessage, deflate: Option<&mut Deflate>) {
        let (wire, header_len, rsv) = match deflate {
            Some(engine) if should_compress(engine, message.payload_len()) => {
                let Some((frame, header_len)) = shared_frame(engine, message) else {
                    self.message(message.kind().opcode(), message.payload(), Some(engine));
                    return;
                };
                (frame, header_len, RSV1)
            }
            _ => (
                message.wire_bytes(),
                message.wire_bytes().len() - message.payload_len(),
                0,
            ),
        };
        match self.role() {
            Role::Server => self.transmit.push_encoded(wire.clone()),
            Role::Client => {
                let payload = wire.get(header_len..).unwrap_or_default();
                self.frame(message.kind().opcode(), true, rsv, payload);
            }
        }
    }

    /// Queues a frame whose payload is given as shared bytes: a large
    /// unmasked payload is queued as it is, never copied.
    #[inline]
    fn payload(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: Bytes) {
        if self.role() == Role::Server && payload.len() > COPY_THRESHOLD {
            self.transmit.push_shared(opcode, fin, rsv, payload);
        } else {
            self.frame(opcode, fin, rsv, &payload);
        }
    }

    /// Queues a frame, its payload copied next to the header (masked with a
    /// fresh key for a client, RFC 6455 §5.3).
    #[inline]
    pub(super) fn frame(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: &[u8]) {
        let mask = match &mut self.masking {
            Masking::Unmasked => None,
            #[cfg(feature = "os-random")]
            Masking::Os => Some(OsRandom::new().mask_key()),
            Masking::Caller(rng) => Some(rng.mask_key()),
        };
        self.transmit.push_frame(opcode, fin, rsv, mask, payload);
    }
}

/// The message compressed (RFC 7692 §7.2.1), when `deflate` is in force
/// and the message is big enough to be worth it.
#[inline]
fn compressed(data: &[u8], deflate: Option<&mut Deflate>) -> Option<Bytes> {
    let engine = deflate.filter(|engine| should_compress(engine, data.len()))?;
    let mut out = BytesMut::with_capacity(data.len() / 2 + 16);
    compress(engine, data, true, &mut out);
    Some(out.freeze())
}
