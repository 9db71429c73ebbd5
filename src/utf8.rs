//! UTF-8 text as shared bytes, and incremental validation across chunks.
//!
//! Both protocols carry text in pieces: WebSocket text arrives split across
//! reads, frames and fragments (RFC 6455 §5.6, §8.1), and must be rejected at
//! the first invalid byte, even inside an incomplete frame. [`Utf8Validator`]
//! keeps at most three bytes of an unfinished code point between pieces and
//! runs a SIMD validator over everything else.

use crate::prelude::*;
use core::fmt;
use core::ops::Deref;

use bytes::Bytes;

/// `bytes`, which the caller validated, as a `str`.
pub(crate) fn validated_str(bytes: &[u8]) -> &str {
    // Turning validated bytes back into a `str` with only safe code means
    // checking again; the SIMD validator makes that a few nanoseconds for
    // short text and tens of GB/s for long text.
    match simdutf8::basic::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => unreachable!("validated UTF-8 by construction"),
    }
}

/// Bytes that are known to be valid UTF-8: a `str` that can be shared
/// without copying, like [`Bytes`] is for `[u8]`.
///
/// # Example
/// ```
/// use pushcodec::Utf8Bytes;
///
/// let text = Utf8Bytes::from("héllo");
/// let shared = text.clone(); // no copy: both point at the same buffer
/// assert_eq!(&*shared, "héllo");
/// assert!(Utf8Bytes::try_from(bytes::Bytes::from_static(b"\xff")).is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// An empty string.
    pub const fn new() -> Self {
        Utf8Bytes(Bytes::new())
    }

    /// A string from a `'static` literal, without copying.
    pub const fn from_static(s: &'static str) -> Self {
        Utf8Bytes(Bytes::from_static(s.as_bytes()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        validated_str(&self.0)
    }

    /// Text from bytes as the WHATWG UTF-8 decode reads them: valid UTF-8
    /// is kept as it is (no copy); each invalid sequence becomes U+FFFD.
    pub fn from_lossy(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        if simdutf8::basic::from_utf8(&bytes).is_ok() {
            Utf8Bytes(bytes)
        } else {
            Utf8Bytes(Bytes::from(String::from_utf8_lossy(&bytes).into_owned()))
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The underlying bytes, without copying.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Wraps bytes the caller has already validated.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(core::str::from_utf8(&bytes).is_ok());
        Utf8Bytes(bytes)
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Utf8Bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Utf8Bytes(Bytes::from(s))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(s: Utf8Bytes) -> Self {
        s.0
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = core::str::Utf8Error;
    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        core::str::from_utf8(&bytes)?;
        Ok(Utf8Bytes(bytes))
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<String> for Utf8Bytes {
    fn eq(&self, other: &String) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The first invalid byte found by [`Utf8Validator::feed`]: its index in
/// the piece that was fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidUtf8 {
    pub(crate) index: usize,
}

/// Incremental UTF-8 validation (RFC 3629: no overlongs, no surrogates,
/// nothing above U+10FFFF) that fails at the first byte that cannot start
/// or continue a valid sequence, whatever the piece boundaries.
#[derive(Debug, Clone, Default)]
pub(crate) struct Utf8Validator {
    /// Bytes of a code point that the last piece ended inside of.
    partial: [u8; 4],
    partial_len: u8,
}

impl Utf8Validator {
    pub(crate) const fn new() -> Self {
        Utf8Validator {
            partial: [0; 4],
            partial_len: 0,
        }
    }

    /// Number of trailing bytes of the input so far that are the start of
    /// an unfinished code point (0 to 3).
    pub(crate) fn pending(&self) -> usize {
        usize::from(self.partial_len)
    }

    /// The bytes of the unfinished code point, if any.
    #[cfg(feature = "ws")]
    pub(crate) fn pending_bytes(&self) -> &[u8] {
        &self.partial[..usize::from(self.partial_len)]
    }

    /// Forgets any unfinished code point (at a message boundary).
    pub(crate) fn reset(&mut self) {
        self.partial_len = 0;
    }

    /// Validates the next piece. An unfinished code point at its end is
    /// kept for the next call; a byte that can never become valid is an
    /// error at once.
    pub(crate) fn feed(&mut self, mut piece: &[u8]) -> Result<(), InvalidUtf8> {
        let mut consumed = 0;
        if self.partial_len > 0 {
            let have = usize::from(self.partial_len);
            let need = sequence_len(self.partial[0]);
            let take = (need - have).min(piece.len());
            let mut buf = self.partial;
            buf[have..have + take].copy_from_slice(&piece[..take]);
            match core::str::from_utf8(&buf[..have + take]) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still a valid prefix; the piece was too short to finish it.
                    self.partial = buf;
                    #[expect(clippy::cast_possible_truncation, reason = "at most 3")]
                    {
                        self.partial_len = (have + take) as u8;
                    }
                    return Ok(());
                }
                Err(e) => {
                    // The carried lead was valid, so the byte after the
                    // rejected sequence is the one that broke it.
                    let broken_at = e.error_len().unwrap_or(1);
                    return Err(InvalidUtf8 {
                        index: broken_at.saturating_sub(have),
                    });
                }
            }
            piece = &piece[take..];
            consumed = take;
        }
        // The common case first: everything but an unfinished last code
        // point is valid. The basic check is faster than the one that
        // locates errors, which runs only when this one fails.
        let split = unfinished_tail(piece);
        let tail = &piece[split..];
        if simdutf8::basic::from_utf8(&piece[..split]).is_ok() {
            if tail.is_empty() {
                return Ok(());
            }
            if matches!(core::str::from_utf8(tail),
                        Err(e) if e.valid_up_to() == 0 && e.error_len().is_none())
            {
                self.partial[..tail.len()].copy_from_slice(tail);
                #[expect(clippy::cast_possible_truncation, reason = "at most 3")]
                {
                    self.partial_len = tail.len() as u8;
                }
                return Ok(());
            }
        }
        match simdutf8::compat::from_utf8(piece) {
            Ok(_) => Ok(()),
            Err(e) => {
                let valid = e.valid_up_to();
                match e.error_len() {
                    None => {
                        let tail = &piece[valid..];
                        self.partial[..tail.len()].copy_from_slice(tail);
                        #[expect(clippy::cast_possible_truncation, reason = "at most 3")]
                        {
                            self.partial_len = tail.len() as u8;
                        }
                        Ok(())
                    }
                    Some(len) => {
                        // A legal lead byte is rejected because of the byte
                        // after its valid prefix; anything else is itself bad.
                        let offending = if sequence_len(piece[valid]) > 1 {
                            (valid + len).min(piece.len() - 1)
                        } else {
                            valid
                        };
                        Err(InvalidUtf8 {
                            index: consumed + offending,
                        })
                    }
                }
            }
        }
    }
}

/// Length of the sequence a lead byte starts; invalid leads answer 1, and the
/// validator then rejects them.
/// Where a code point that `bytes` ends before finishing starts, or
/// `bytes.len()` when the last one is complete (or not UTF-8 at all: the
/// full check decides).
fn unfinished_tail(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let at = bytes.len() - back;
        match bytes[at] {
            0x80..=0xBF => {}
            lead if sequence_len(lead) > back => return at,
            _ => return bytes.len(),
        }
    }
    bytes.len()
}

fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(pieces: &[&[u8]]) -> Result<usize, InvalidUtf8> {
        let mut v = Utf8Validator::new();
        for p in pieces {
            v.feed(p)?;
        }
        Ok(v.pending())
    }

    #[test]
    fn lossy_keeps_valid_and_replaces_invalid() {
        assert_eq!(Utf8Bytes::from_lossy(&b"abc"[..]), "abc");
        // WHATWG decode: each maximal invalid subpart is one U+FFFD.
        assert_eq!(
            Utf8Bytes::from_lossy(&b"a\xE2\x82b\xFF"[..]),
            "a\u{FFFD}b\u{FFFD}"
        );
        assert!(Utf8Bytes::new().is_empty());
        assert_eq!(Utf8Bytes::from_static("x").len(), 1);
    }

    #[test]
    fn accepts_code_points_split_at_every_byte() {
        // Autobahn 6.2.4: κόσμε one byte per piece.
        let s = "κόσμε".as_bytes();
        let pieces: Vec<&[u8]> = s.chunks(1).collect();
        assert_eq!(feed_all(&pieces), Ok(0));
    }

    #[test]
    fn fails_on_the_byte_that_breaks_a_carried_prefix() {
        // Autobahn 6.4.2: κόσμε + f4 is a valid prefix; 0x90 makes it U+110000+.
        let mut v = Utf8Validator::new();
        let mut first = "κόσμε".as_bytes().to_vec();
        first.push(0xF4);
        assert_eq!(v.feed(&first), Ok(()));
        assert_eq!(v.pending(), 1);
        assert_eq!(v.feed(&[0x90]), Err(InvalidUtf8 { index: 0 }));
    }

    #[test]
    fn fails_inside_a_piece_at_the_offending_byte() {
        // Autobahn 6.3: ed a0 80 encodes a surrogate; invalid at the a0.
        let bytes = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited";
        let err = Utf8Validator::new().feed(bytes).unwrap_err();
        assert_eq!(err.index, 12);
    }

    #[test]
    fn reports_incomplete_tail_as_pending() {
        assert_eq!(feed_all(&[b"a\xe2\x82"]), Ok(2));
        assert_eq!(feed_all(&[b"a\xe2", b"\x82"]), Ok(2));
        assert_eq!(feed_all(&[b"a\xe2", b"\x82\xac"]), Ok(0));
    }

    #[test]
    fn agrees_with_std_on_every_split_of_tricky_inputs() {
        let inputs: &[&[u8]] = &[
            b"\xf0\x90\x80\x80",
            b"\xf4\x8f\xbf\xbf",
            b"\xf4\x90\x80\x80",
            b"\xed\x9f\xbf\xed\xa0\x80",
            b"\xc0\xaf",
            b"\xe0\x80\xaf",
            b"\xef\xbf\xbe",
            b"a\xc2",
            b"\x80",
            b"\xfe",
        ];
        for input in inputs {
            let whole = core::str::from_utf8(input);
            for cut in 0..=input.len() {
                let got = feed_all(&[&input[..cut], &input[cut..]]);
                match whole {
                    Ok(_) => assert_eq!(got, Ok(0), "{input:x?} cut {cut}"),
                    Err(e) if e.error_len().is_none() => {
                        assert!(matches!(got, Ok(n) if n > 0), "{input:x?} cut {cut}");
                    }
                    Err(_) => assert!(got.is_err(), "{input:x?} cut {cut}"),
                }
            }
        }
    }
}
