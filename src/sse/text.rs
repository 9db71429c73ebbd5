//! [`Utf8Bytes`]: shared, cheaply cloned text backed by [`Bytes`].

use std::fmt;

use bytes::Bytes;

/// Text that is known to be valid UTF-8, stored in shared [`Bytes`].
///
/// The decoder hands out event data, types and ids as `Utf8Bytes` so that
/// an event's data is a slice of the decoder's buffer (no copy, no
/// allocation per event in the steady state) and the id in effect is shared
/// by every event that carries it. Cloning is a reference-count increment.
///
/// The crate forbids `unsafe`, so [`Utf8Bytes::as_str`] re-checks the bytes
/// with a SIMD validator (many GB/s, no allocation) instead of trusting them
/// blindly; the check cannot fail because every constructor validates.
///
/// # Example
/// ```
/// use pushcodec::sse::Utf8Bytes;
///
/// let text = Utf8Bytes::from_lossy(b"caf\xC3\xA9 \xFF".as_slice());
/// assert_eq!(text.as_str(), "café \u{FFFD}");
/// let shared = text.clone(); // no copy
/// assert_eq!(shared, "café \u{FFFD}");
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// The empty string.
    pub const fn new() -> Self {
        Utf8Bytes(Bytes::new())
    }

    /// A string from a `'static` str, without copying.
    pub const fn from_static(s: &'static str) -> Self {
        Utf8Bytes(Bytes::from_static(s.as_bytes()))
    }

    /// Valid UTF-8 is kept as it is (no copy); invalid sequences become
    /// U+FFFD REPLACEMENT CHARACTER, as the WHATWG UTF-8 decode does.
    pub fn from_lossy(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        if simdutf8::basic::from_utf8(&bytes).is_ok() {
            Utf8Bytes(bytes)
        } else {
            Utf8Bytes(Bytes::from(String::from_utf8_lossy(&bytes).into_owned()))
        }
    }

    /// The text as `&str` (an O(len) SIMD re-check, no allocation).
    pub fn as_str(&self) -> &str {
        // Every constructor validated the bytes, so this never falls back.
        simdutf8::basic::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The shared UTF-8 bytes, borrowed.
    pub fn bytes_ref(&self) -> &Bytes {
        &self.0
    }

    /// The shared UTF-8 bytes (no copy).
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Utf8Bytes(Bytes::from(s))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Utf8Bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(s: Utf8Bytes) -> Self {
        s.0
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<String> for Utf8Bytes {
    fn eq(&self, other: &String) -> bool {
        self.0 == other.as_bytes()
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
