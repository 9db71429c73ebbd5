//! Shared pieces of the pushcodec fuzz targets.
//!
//! Only the public API of `pushcodec` is used, so what the targets prove
//! holds for every caller.

pub mod connection;
pub mod seed;

/// Findings (tests/ws/fuzz_regressions.rs); `true` while open. While one is open the
/// targets tolerate its known shape so that fuzzing goes on finding other
/// problems; set its flag to `false` once it is fixed, and the targets check
/// the strict invariant again.
pub mod open_findings {
    /// F1: `send_ping`/`send_pong` (and keepalive pings) are queued past
    /// `max_outbound_buffer`.
    pub const F1_CONTROL_SENDS_UNBOUNDED: bool = false;
    /// F2: `keepalive_interval = 0` without a pong deadline never settles.
    pub const F2_ZERO_KEEPALIVE_SPINS: bool = false;
    /// F3: `sse::Decoder::buffered_len` can exceed its documented bound
    /// (ids and event types grow up to 3x under U+FFFD replacement).
    pub const F3_SSE_BOUND_IGNORES_REPLACEMENT: bool = false;
    /// F4: a pong deadline armed before the peer's Close is reported as
    /// `PongTimeout` after `Event::Close`.
    pub const F4_PONG_TIMEOUT_AFTER_CLOSE: bool = false;
}

use arbitrary::{Arbitrary, Unstructured};

/// Bytes with a little-endian `u16` length in front (capped at what is
/// left): cheaper for the fuzzer than `Vec<u8>` (which spends a byte per
/// element) and easy to write in a seed file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl<'a> Arbitrary<'a> for Blob {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let len = usize::from(u16::arbitrary(u)?).min(u.len());
        Ok(Blob(u.bytes(len)?.to_vec()))
    }
}

/// A string encoded like [`Blob`]; invalid UTF-8 is replaced by U+FFFD.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(pub String);

impl<'a> Arbitrary<'a> for Text {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let Blob(bytes) = Blob::arbitrary(u)?;
        Ok(Text(String::from_utf8_lossy(&bytes).into_owned()))
    }
}

/// Cuts `data` into consecutive chunks whose lengths come from `lens`
/// (each taken modulo what is left, 0 meaning "the rest"); the chunks
/// concatenate back to `data`.
pub fn split_chunks<'a>(data: &'a [u8], lens: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    for &len in lens {
        if rest.is_empty() {
            break;
        }
        let n = match usize::from(len) {
            0 => rest.len(),
            n => n.min(rest.len()),
        };
        let (head, tail) = rest.split_at(n);
        out.push(head);
        rest = tail;
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// A deterministic `RandomSource` (a xorshift generator), so every run of
/// a client connection is reproducible from its input.
#[derive(Debug, Clone)]
pub struct XorShift(pub u64);

impl pushcodec::ws::RandomSource for XorShift {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            // xorshift64; a zero state would stay zero, so nudge it.
            let mut x = self.0 | 1;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            *b = (x >> 24) as u8;
        }
    }
}

/// A `RandomSource` that hands out fixed bytes (cycling), e.g. to give a
/// `ClientHandshake` a known key.
#[derive(Debug, Clone)]
pub struct Fixed(pub Vec<u8>, pub usize);

impl pushcodec::ws::RandomSource for Fixed {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self
                .0
                .get(self.1 % self.0.len().max(1))
                .copied()
                .unwrap_or(0);
            self.1 += 1;
        }
    }
}
