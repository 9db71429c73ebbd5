//! Line scanning, field names and value helpers of the decoder.

use core::ops::Range;

use bytes::Bytes;
use memchr::{memchr, memchr2};

use super::Utf8Bytes;

/// The field a line names (§9.2.6: names are compared case-sensitively).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Field {
    Data,
    Event,
    Id,
    Retry,
    Unknown,
}

impl Field {
    pub(super) fn from_name(name: &[u8]) -> Field {
        match name {
            b"data" => Field::Data,
            b"event" => Field::Event,
            b"id" => Field::Id,
            b"retry" => Field::Retry,
            _ => Field::Unknown,
        }
    }
}

/// Where the values of whole lines come from: copied out of a borrowed
/// chunk (`feed`), sliced from a shared one (`feed_bytes`), or left in the
/// chunk and lent with the event (`feed_lent`). A type rather than a flag,
/// so that `feed` compiles as if sharing and lending did not exist.
pub(super) trait Source: Copy {
    /// Values are slices of the chunk.
    const SHARED: bool;
    /// Values of whole lines stay in the chunk until it is used up.
    const LENT: bool;
    /// `chunk[range]` as bytes of its own, if the chunk is shared.
    fn share(self, range: Range<usize>) -> Option<Bytes>;
    /// The chunk, if values are lent from it (otherwise empty).
    fn lent_chunk(&self) -> &[u8];
}

/// A chunk fed as `&[u8]`: values are copied.
#[derive(Clone, Copy)]
pub(super) struct Borrowed;

impl Source for Borrowed {
    const SHARED: bool = false;
    const LENT: bool = false;
    #[inline]
    fn share(self, _: Range<usize>) -> Option<Bytes> {
        None
    }
    #[inline]
    fn lent_chunk(&self) -> &[u8] {
        &[]
    }
}

impl Source for &Bytes {
    const SHARED: bool = true;
    const LENT: bool = false;
    #[inline]
    fn share(self, range: Range<usize>) -> Option<Bytes> {
        Some(self.slice(range))
    }
    #[inline]
    fn lent_chunk(&self) -> &[u8] {
        &[]
    }
}

/// A chunk fed to `feed_lent`: values of whole lines are ranges of it.
#[derive(Clone, Copy)]
pub(super) struct LentChunk<'c>(pub(super) &'c [u8]);

impl Source for LentChunk<'_> {
    const SHARED: bool = false;
    const LENT: bool = true;
    #[inline]
    fn share(self, _: Range<usize>) -> Option<Bytes> {
        None
    }
    #[inline]
    fn lent_chunk(&self) -> &[u8] {
        self.0
    }
}

/// Byte equality, without a `memcmp` call for the short values (types,
/// ids) it is used on.
pub(super) fn eq_short(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        false
    } else if a.len() <= SHORT_SCAN {
        a.iter().zip(b).all(|(x, y)| x == y)
    } else {
        a == b
    }
}

/// Whether `value` holds a NUL byte; short values without a call.
pub(super) fn has_nul(value: &[u8]) -> bool {
    if value.len() < SHORT_SCAN {
        #[expect(
            clippy::manual_contains,
            reason = "an inline loop: `contains` calls core's memchr, a call per short id"
        )]
        value.iter().any(|&b| b == 0)
    } else {
        memchr(0, value).is_some()
    }
}

/// Where the current line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Line {
    /// Nothing of the line seen yet.
    Start,
    /// Inside the field name; `len` may exceed the 5 bytes kept, which makes
    /// it an unknown field.
    Name,
    /// After the colon; `strip` while the one optional space may still come.
    Value { field: Field, strip: bool },
    /// A `:` line.
    Comment { strip: bool },
}

/// The longest line end search done byte by byte: below this a SIMD search
/// costs more in set-up than it saves (7-byte chunks, short fields).
pub(super) const SHORT_SCAN: usize = 16;
/// The shortest chunk validated as a whole (see `Feed::valid`), and the
/// shortest data piece validated on its own: shorter ones are checked with
/// the whole event data at dispatch, in one call instead of many.
pub(super) const VALIDATE_CHUNK: usize = 64;
/// Data at least this long has its short pieces validated on their own
/// too, rather than checking it all again at dispatch.
pub(super) const VALIDATE_EVENT: usize = 1024;

/// Position of the first CR or LF.
pub(super) fn find_eol(bytes: &[u8]) -> Option<usize> {
    if let Some(b'\n' | b'\r') = bytes.first() {
        // A blank line: one in every event.
        return Some(0);
    }
    if bytes.len() < SHORT_SCAN {
        // Text bytes are almost all above CR: one compare each.
        bytes
            .iter()
            .position(|&b| b <= b'\r' && (b == b'\r' || b == b'\n'))
    } else {
        memchr2(b'\r', b'\n', bytes)
    }
}

/// Length of the prefix of `chunk` that is valid UTF-8. Fields are split at
/// ASCII bytes, so every value that lies inside it is valid as it is.
pub(super) fn valid_prefix(chunk: &[u8]) -> usize {
    if chunk.len() < VALIDATE_CHUNK {
        return 0;
    }
    // A chunk often ends inside a code point: leaving it out keeps the
    // common case to one pass of the fast validator.
    let complete = complete_len(chunk);
    if simdutf8::basic::from_utf8(chunk.get(..complete).unwrap_or_default()).is_ok() {
        return complete;
    }
    match simdutf8::compat::from_utf8(chunk) {
        Ok(_) => chunk.len(),
        Err(e) => e.valid_up_to(),
    }
}

/// `bytes` without a multi-byte sequence cut short at its end.
fn complete_len(bytes: &[u8]) -> usize {
    let n = bytes.len();
    for k in 1..=n.min(3) {
        let Some(&b) = bytes.get(n - k) else { break };
        if b & 0xC0 != 0x80 {
            // The last lead byte: how long its sequence should be.
            let need = match b {
                0xF0.. => 4,
                0xE0.. => 3,
                0xC0.. => 2,
                _ => 1,
            };
            return if need > k { n - k } else { n };
        }
    }
    n
}

/// Text from bytes known valid, or decoded with U+FFFD replacement.
pub(super) fn text(bytes: Bytes, valid: bool) -> Utf8Bytes {
    if valid {
        Utf8Bytes::from_validated(bytes)
    } else {
        Utf8Bytes::from_lossy(bytes)
    }
}

/// The value of a `retry` field, if it is all ASCII digits (§9.2.6; and,
/// as browsers and WPT format-field-retry-empty agree, not empty).
pub(super) fn retry_value(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(value.iter().fold(0u64, |acc, d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}
