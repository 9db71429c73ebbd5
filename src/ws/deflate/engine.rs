//! RFC 7692 §7.2: compressing and inflating message payloads.

use bytes::{Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::{DeflateConfig, DeflateParams};
use crate::ws::{CloseCode, Role};

/// RFC 7692 §7.2.1: the sync-flush marker a sender strips and a receiver
/// appends.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Output is produced through a scratch buffer this big; it bounds how far
/// past the budget the backend can ever write (one byte, see `inflate`).
const CHUNK: usize = 8 * 1024;

/// Why an incoming compressed message could not be inflated. Either way
/// the connection must fail; the engine's inflater has been reset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InflateError {
    /// The message inflates to more than the budget: close with 1009
    /// (RFC 6455 §7.4.1). No more than `budget` bytes were produced.
    #[error(
        "compressed message inflates past the budget of {budget} bytes (RFC 6455 §7.4.1: close 1009)"
    )]
    TooLarge {
        /// The budget of the call that ran out.
        budget: usize,
    },
    /// The payload is not valid DEFLATE data: close with 1007 (RFC 6455
    /// §7.4.1, data inconsistent with the message; as Node `ws` does).
    #[error("invalid deflate data at compressed byte {offset} of the message (RFC 7692 §7.2.2)")]
    Corrupt {
        /// Offset in the message's compressed payload (across fragments)
        /// at or after which the inflater found the error (the backend
        /// reads input in bulk, so the exact byte is not known).
        offset: usize,
    },
}

impl InflateError {
    /// The close code to fail the connection with: 1009 for
    /// [`TooLarge`](Self::TooLarge), 1007 for [`Corrupt`](Self::Corrupt).
    #[must_use]
    pub fn close_code(&self) -> CloseCode {
        match self {
            InflateError::TooLarge { .. } => CloseCode::MESSAGE_TOO_BIG,
            InflateError::Corrupt { .. } => CloseCode::INVALID_PAYLOAD,
        }
    }
}

/// The per-connection permessage-deflate engine (RFC 7692 §7.2) for one
/// role: a compressor for what we send, an inflater for what we receive,
/// each reset after a message when the agreement says so.
///
/// # Example
/// ```
/// use bytes::BytesMut;
/// use pushcodec::ws::Role;
/// use pushcodec::ws::deflate::{DeflateConfig, PerMessageDeflate, negotiate_client};
/// use pushcodec::ws::handshake::ExtensionOffer;
/// let config = DeflateConfig::default();
/// let resp = ExtensionOffer::parse_list("permessage-deflate")?;
/// let params = negotiate_client(&config, &resp).unwrap().unwrap();
/// let mut client = PerMessageDeflate::new(&params, Role::Client, &config);
/// let mut server = PerMessageDeflate::new(&params, Role::Server, &config);
///
/// let mut wire = BytesMut::new();
/// client.compress(b"Hello", true, &mut wire);
/// assert_eq!(&wire[..], [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]); // RFC 7692 §7.2.3.1
///
/// let mut text = BytesMut::new();
/// server.inflate(&wire, true, 1024, &mut text)?;
/// assert_eq!(&text[..], b"Hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts: each direction's reset rule and where its message is"
)]
pub struct PerMessageDeflate {
    /// Created on first use; without context takeover, reset after each
    /// message and dropped by `release_idle`, so an idle connection holds
    /// no context it will not reuse.
    compress: Option<Compress>,
    bits: u8,
    level: Compression,
    /// Our compressor resets after each message.
    our_reset: bool,
    /// A message is being compressed (a fragment sent, not the last).
    compressing: bool,
    /// Created on first use; when the peer resets its context, reset after
    /// each message and dropped by `release_idle`.
    inflate: Option<Decompress>,
    /// The peer's compressor resets after each message, so ours may too.
    peer_reset: bool,
    /// Compressed bytes received for the current message.
    msg_in: usize,
    /// The current message hit a BFINAL block: the inflater is at stream
    /// end and is recreated at the message's end.
    stream_end: bool,
    /// Bytes received after the BFINAL block.
    trailer: usize,
    min_size: usize,
}

impl PerMessageDeflate {
    /// An engine for `role` under the agreed `params`; `config` gives the
    /// level and the minimum size to compress.
    ///
    /// Our compressor's window is the agreed one for our side, guarded to
    /// 9..=15 (negotiation never agrees to less for our side). The
    /// inflater always uses a 15-bit window, which decodes any smaller one
    /// (RFC 7692 §7.1.2). Nothing is allocated until the first compressed
    /// message in each direction.
    #[must_use]
    pub fn new(params: &DeflateParams, role: Role, config: &DeflateConfig) -> Self {
        let (ours, our_reset, peer_reset) = match role {
            Role::Server => (
                params.server_max_window_bits,
                params.server_no_context_takeover,
                params.client_no_context_takeover,
            ),
            Role::Client => (
                params.client_max_window_bits,
                params.client_no_context_takeover,
                params.server_no_context_takeover,
            ),
        };
        // flate2 panics outside 9..=15; negotiation keeps our side >= 9.
        let bits = ours.clamp(9, 15);
        let level = Compression::new(config.level.min(9));
        PerMessageDeflate {
            compress: None,
            bits,
            level,
            our_reset,
            compressing: false,
            inflate: None,
            peer_reset,
            msg_in: 0,
            stream_end: false,
            trailer: 0,
            min_size: config.min_compress_size,
        }
    }

    /// Whether a message of `len` bytes is worth compressing
    /// (`len >= min_compress_size`). A sender may always send a message
    /// uncompressed (RFC 7692 §6), e.g. one holding secrets next to
    /// attacker-chosen data (§9).
    #[must_use]
    pub fn should_compress(&self, len: usize) -> bool {
        len >= self.min_size
    }

    /// Compresses the next piece of an outgoing message into `out`
    /// (appending). Each piece is sync-flushed, so its output can go out as
    /// a frame at once; at `fin` the trailing `00 00 ff ff` is removed
    /// (RFC 7692 §7.2.1), and our compressor is reset if we agreed to no
    /// context takeover. The first frame of the message carries RSV1.
    pub fn compress(&mut self, input: &[u8], fin: bool, out: &mut BytesMut) {
        let (bits, level) = (self.bits, self.level);
        let c = self
            .compress
            .get_or_insert_with(|| Compress::new_with_window_bits(level, false, bits));
        compress_piece(c, input, fin, out);
        if fin && self.our_reset {
            // The next message starts from an empty window (RFC 7692
            // §7.1.1); the state's memory stays for it until the
            // connection goes idle (`release_idle`).
            c.reset();
        }
        self.compressing = !fin;
    }

    /// What decides the bytes this engine makes of a whole message, when
    /// that is nothing but the message: `Some` without context takeover on
    /// our side and no message half compressed. Every engine with the same
    /// value compresses a message to the same bytes, so
    /// [`SharedCompression::compress`] done once serves them all.
    #[must_use]
    pub fn shared_compression(&self) -> Option<SharedCompression> {
        (self.our_reset && !self.compressing).then_some(SharedCompression {
            bits: self.bits,
            level: self.level.level(),
        })
    }

    /// Inflates the next piece of a compressed message's payload, as
    /// received (pieces may cut anywhere, across fragments), appending the
    /// output to `out`. At `fin` (the last piece of the message) it also
    /// inflates the `00 00 ff ff` tail (RFC 7692 §7.2.2) and resets the
    /// inflater if the peer agreed to no context takeover. A message whose
    /// whole compressed payload is empty is an empty message.
    ///
    /// At most `budget` bytes are appended by this call; pass what remains
    /// of the message size limit.
    ///
    /// # Errors
    /// [`InflateError::TooLarge`] as soon as the output would pass
    /// `budget` (the output stays at most `budget` bytes longer);
    /// [`InflateError::Corrupt`] on invalid deflate data, or data after a
    /// final (BFINAL) block other than the single `00` of §7.2.3.4. After
    /// an error the inflater is reset and the connection must fail with
    /// [`InflateError::close_code`] (1009 or 1007); discard `out`'s
    /// partial message.
    pub fn inflate(
        &mut self,
        input: &[u8],
        fin: bool,
        budget: usize,
        out: &mut BytesMut,
    ) -> Result<(), InflateError> {
        let r = self.inflate_inner(input, fin, budget, out);
        if r.is_err() {
            self.reset_inflater();
        }
        r
    }

    fn inflate_inner(
        &mut self,
        input: &[u8],
        fin: bool,
        budget: usize,
        out: &mut BytesMut,
    ) -> Result<(), InflateError> {
        let mut left = budget;
        let offset = self.msg_in;
        if !input.is_empty() {
            self.msg_in += input.len();
            if self.stream_end {
                self.check_trailer(input, offset)?;
            } else {
                self.feed(input, offset, &mut left, out)?;
            }
        }
        if fin {
            // An empty compressed payload is an empty message: feeding the
            // tail alone would leave the inflater inside a stored block.
            if self.msg_in > 0 && !self.stream_end {
                self.feed(&TAIL, self.msg_in, &mut left, out)?;
            }
            if self.stream_end {
                self.reset_inflater();
            } else if self.peer_reset
                && let Some(inflate) = &mut self.inflate
            {
                // As for our compressor: reset now, given back when idle.
                inflate.reset(false);
            }
            self.msg_in = 0;
        }
        Ok(())
    }

    fn feed(
        &mut self,
        mut input: &[u8],
        offset: usize,
        left: &mut usize,
        out: &mut BytesMut,
    ) -> Result<(), InflateError> {
        let budget = *left;
        let mut buf = [0u8; CHUNK];
        let mut offset = offset;
        let d = self
            .inflate
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, 15));
        let ended = loop {
            // One byte beyond what is left tells "more than the budget"
            // apart from "exactly the budget" without copying past it.
            let room = (*left).saturating_add(1).min(CHUNK);
            let slot = buf.get_mut(..room).unwrap_or_default();
            let (in0, out0) = (d.total_in(), d.total_out());
            let status = d
                .decompress(input, slot, FlushDecompress::Sync)
                .map_err(|_| InflateError::Corrupt { offset })?;
            let used = delta(in0, d.total_in());
            let made = delta(out0, d.total_out());
            if made > *left {
                return Err(InflateError::TooLarge { budget });
            }
            out.extend_from_slice(buf.get(..made).unwrap_or_default());
            *left -= made;
            input = input.get(used..).unwrap_or_default();
            offset += used;
            if status == Status::StreamEnd {
                break Some(input);
            }
            if input.is_empty() && made < room {
                break None;
            }
            if used == 0 && made == 0 {
                // No progress with input left would drop it: refuse.
                return Err(InflateError::Corrupt { offset });
            }
        };
        if let Some(rest) = ended {
            // RFC 7692 §7.2.3.4: a BFINAL block ends the DEFLATE stream.
            self.stream_end = true;
            return self.check_trailer(rest, offset);
        }
        Ok(())
    }

    /// RFC 7692 §7.2.3.4: after a BFINAL block a sender adds one `00` byte
    /// (the header of the empty stored block the receiver's tail
    /// completes). Anything else after the end would be data we drop:
    /// refuse it.
    fn check_trailer(&mut self, rest: &[u8], offset: usize) -> Result<(), InflateError> {
        self.trailer += rest.len();
        if self.trailer > 1 || rest.iter().any(|&b| b != 0) {
            return Err(InflateError::Corrupt { offset });
        }
        Ok(())
    }

    /// Gives back the contexts that carry nothing over (those of a
    /// direction without context takeover), unless a message is half way
    /// through them: the connection calls it when it goes idle, so an idle
    /// connection holds only the contexts it will reuse.
    pub fn release_idle(&mut self) {
        if self.our_reset && !self.compressing {
            self.compress = None;
        }
        if self.peer_reset && self.msg_in == 0 {
            self.inflate = None;
        }
    }

    fn reset_inflater(&mut self) {
        self.inflate = None;
        self.stream_end = false;
        self.trailer = 0;
        self.msg_in = 0;
    }
}

/// The parameters that decide a compressed message's bytes on a
/// connection whose compressor has no context takeover (RFC 7692 §7.1.1):
/// its window bits and level. Connections with equal values compress a
/// message identically, so a broadcast compresses it once per distinct
/// value ([`PreparedMessage::with_compression`](crate::ws::PreparedMessage::with_compression))
/// instead of once per connection. From
/// [`PerMessageDeflate::shared_compression`] or
/// [`Connection::shared_compression`](crate::ws::Connection::shared_compression).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SharedCompression {
    bits: u8,
    level: u32,
}

impl SharedCompression {
    /// A whole message's payload compressed as such a connection does it:
    /// from an empty window, sync-flushed, the `00 00 ff ff` tail removed
    /// (RFC 7692 §7.2.1). Builds a compressor for the call (its memory is
    /// in the table of the module docs) and drops it.
    #[must_use]
    pub fn compress(&self, payload: &[u8]) -> Bytes {
        let mut c = Compress::new_with_window_bits(Compression::new(self.level), false, self.bits);
        let mut out = BytesMut::with_capacity(payload.len() / 2 + 16);
        compress_piece(&mut c, payload, true, &mut out);
        out.freeze()
    }
}

/// Compresses the next piece of a message with `c` into `out`
/// (appending), sync-flushed; at `fin` the message's end as RFC 7692
/// §7.2.1 writes it.
fn compress_piece(c: &mut Compress, input: &[u8], fin: bool, out: &mut BytesMut) {
    let start = out.len();
    let mut buf = [0u8; CHUNK];
    let mut input = input;
    loop {
        let (in0, out0) = (c.total_in(), c.total_out());
        // The backend only errors on misuse of its state machine
        // (never on data); an error here leaves nothing to emit.
        let res = c.compress(input, &mut buf, FlushCompress::Sync);
        let used = delta(in0, c.total_in());
        let made = delta(out0, c.total_out());
        input = input.get(used..).unwrap_or_default();
        out.extend_from_slice(buf.get(..made).unwrap_or_default());
        let progressed = used > 0 || made > 0;
        if res.is_err() || !progressed || (input.is_empty() && made < buf.len()) {
            break;
        }
    }
    if fin {
        if out.len() - start == 0 {
            // Nothing new since the last sync flush (zlib emits nothing
            // for a repeated flush): a lone `00` starts the empty stored
            // block the receiver's appended tail completes.
            out.extend_from_slice(&[0x00]);
        } else if out.get(start..).is_some_and(|o| o.ends_with(&TAIL)) {
            out.truncate(out.len() - TAIL.len());
        }
    }
}

/// Difference of two backend byte counters; within one call it is at
/// most the slice length given, so it fits a `usize`.
fn delta(before: u64, after: u64) -> usize {
    usize::try_from(after.saturating_sub(before)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(offer: &str, role: Role) -> PerMessageDeflate {
        let offers = crate::ws::handshake::ExtensionOffer::parse_list(offer).unwrap();
        let c = DeflateConfig::default();
        let (p, _) = super::super::negotiate_server(&offers, &c).unwrap();
        PerMessageDeflate::new(&p, role, &c)
    }

    #[test]
    fn roles_pick_their_own_direction() {
        // server_no_context_takeover: the server's compressor resets, the
        // client's inflater resets; the client's compressor keeps context.
        let offer = "permessage-deflate; server_no_context_takeover";
        let s = engine(offer, Role::Server);
        let c = engine(offer, Role::Client);
        assert!(s.our_reset && !s.peer_reset);
        assert!(!c.our_reset && c.peer_reset);
    }

    #[test]
    fn contexts_live_only_while_they_carry_over() {
        let mut out = BytesMut::new();
        // Context takeover both ways: created on first use, then kept.
        let mut e = engine("permessage-deflate", Role::Server);
        assert!(e.compress.is_none() && e.inflate.is_none());
        e.compress(b"Hello", true, &mut out);
        assert!(e.compress.is_some());
        let mut text = BytesMut::new();
        e.inflate(
            &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
            true,
            9,
            &mut text,
        )
        .unwrap();
        assert!(e.inflate.is_some());
        // An empty compressed payload creates nothing.
        let mut e = engine("permessage-deflate", Role::Server);
        e.inflate(&[], true, 9, &mut text).unwrap();
        assert!(e.inflate.is_none());
        // No context takeover both ways: reset at each message's end and
        // dropped when idle, never between the pieces of one message.
        let offer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
        let mut e = engine(offer, Role::Server);
        e.compress(b"Hel", false, &mut out);
        assert!(e.compress.is_some());
        e.release_idle();
        assert!(e.compress.is_some(), "kept while a message is half sent");
        e.compress(b"lo", true, &mut out);
        assert!(e.compress.is_some(), "reset, kept until idle");
        e.inflate(&[0xf2, 0x48, 0xcd], false, 9, &mut text).unwrap();
        e.release_idle();
        assert!(e.inflate.is_some(), "kept while a message is half received");
        e.inflate(&[0xc9, 0xc9, 0x07, 0x00], true, 9, &mut text)
            .unwrap();
        assert!(e.inflate.is_some());
        e.release_idle();
        assert!(e.compress.is_none() && e.inflate.is_none());
        // A reset context compresses the next message as a fresh one
        // (RFC 7692 §7.2.3.1: "Hello" always gives the same bytes).
        let mut again = BytesMut::new();
        e.compress(b"Hello", true, &mut again);
        let mut twice = BytesMut::new();
        e.compress(b"Hello", true, &mut twice);
        assert_eq!(again, twice);
        assert_eq!(&again[..], &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    }

    #[test]
    fn trailer_after_bfinal_is_at_most_one_zero() {
        let mut e = engine("permessage-deflate", Role::Server);
        e.stream_end = true;
        assert!(e.check_trailer(&[0], 0).is_ok());
        assert!(e.check_trailer(&[0], 1).is_err(), "a second byte");
        e.reset_inflater();
        e.stream_end = true;
        assert!(e.check_trailer(&[1], 0).is_err());
    }

    #[test]
    fn delta_saturates() {
        assert_eq!(delta(5, 9), 4);
        assert_eq!(delta(9, 5), 0);
    }
}
