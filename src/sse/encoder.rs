//! Encoding events, comments and `retry` blocks into `text/event-stream`
//! bytes that every conforming decoder reads back as they were meant.

use crate::prelude::*;
use bytes::{BufMut, Bytes, BytesMut};
use memchr::{memchr2, memchr3};

/// A field value the encoder refuses: writing it would change the stream's
/// meaning. Nothing is written when an encoder returns one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The event type contains CR or LF, which would end the field early
    /// (WHATWG HTML §9.2.5: CR and LF end a line).
    #[error(
        "event type contains a line break (CR or LF) at byte {index}; it would end the field (WHATWG HTML §9.2.5)"
    )]
    EventTypeLineBreak {
        /// Byte index of the CR or LF in the event type.
        index: usize,
    },
    /// The id contains CR or LF, which would end the field early
    /// (WHATWG HTML §9.2.5).
    #[error(
        "id contains a line break (CR or LF) at byte {index}; it would end the field (WHATWG HTML §9.2.5)"
    )]
    IdLineBreak {
        /// Byte index of the CR or LF in the id.
        index: usize,
    },
    /// The id contains U+0000 NULL, so a receiver would ignore the field
    /// (WHATWG HTML §9.2.6).
    #[error(
        "id contains U+0000 NULL at byte {index}; receivers ignore such an id (WHATWG HTML §9.2.6)"
    )]
    IdNul {
        /// Byte index of the NUL in the id.
        index: usize,
    },
}

/// An event to encode, borrowing its parts.
///
/// # Example
/// ```
/// use pushcodec::sse::EventRef;
///
/// let bytes = EventRef::new("line 1\r\nline 2").event_type("delta").id("42").to_bytes()?;
/// assert_eq!(&bytes[..], b"id: 42\nevent: delta\ndata: line 1\ndata: line 2\n\n");
/// # Ok::<(), pushcodec::sse::EncodeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventRef<'a> {
    /// The data; CR, LF and CRLF in it become separate `data` lines.
    pub data: &'a str,
    /// The event type (`event` field); `None` means the receiver's default, `message`.
    pub event_type: Option<&'a str>,
    /// The id (`id` field); `Some("")` resets the receiver's last event id.
    pub id: Option<&'a str>,
    /// A new reconnection time in milliseconds (`retry` field).
    pub retry: Option<u64>,
}

impl<'a> EventRef<'a> {
    /// An event of type `message` with this data, no id and no retry.
    pub fn new(data: &'a str) -> Self {
        EventRef {
            data,
            event_type: None,
            id: None,
            retry: None,
        }
    }

    /// Sets the event type.
    #[must_use]
    pub fn event_type(mut self, event_type: &'a str) -> Self {
        self.event_type = Some(event_type);
        self
    }

    /// Sets the id.
    #[must_use]
    pub fn id(mut self, id: &'a str) -> Self {
        self.id = Some(id);
        self
    }

    /// Sets the reconnection time in milliseconds.
    #[must_use]
    pub fn retry(mut self, ms: u64) -> Self {
        self.retry = Some(ms);
        self
    }

    /// Encodes into `out`; see [`encode_event`].
    ///
    /// # Errors
    /// As [`encode_event`].
    pub fn encode(&self, out: &mut impl BufMut) -> Result<(), EncodeError> {
        encode_event(self, out)
    }

    /// Encodes into shared [`Bytes`] that can be queued on many connections
    /// without copying.
    ///
    /// # Errors
    /// As [`encode_event`].
    pub fn to_bytes(&self) -> Result<Bytes, EncodeError> {
        validate_event(self)?;
        let data = self.data.as_bytes();
        // One scan of the data: single-line data (the common case) needs no
        // other, and its exact size is known, so the result is one
        // allocation of exactly that size (no spare capacity to track).
        let Some(first_break) = memchr2(b'\r', b'\n', data) else {
            let len = self.head_len() + field_len(b"data", data) + 1;
            let mut out = Vec::with_capacity(len);
            self.put_head(&mut out);
            put_field(&mut out, b"data", data);
            out.push(b'\n');
            debug_assert_eq!(out.len(), len);
            return Ok(Bytes::from(out));
        };
        let mut out = BytesMut::with_capacity(self.encoded_len_hint());
        self.put_head(&mut out);
        put_field(&mut out, b"data", &data[..first_break]);
        put_lines(&mut out, b"data", line_rest(data, first_break));
        out.put_u8(b'\n');
        Ok(out.freeze())
    }

    /// Writes the fields before the data (already validated).
    fn put_head(&self, out: &mut impl BufMut) {
        if let Some(id) = self.id {
            put_field(out, b"id", id.as_bytes());
        }
        if let Some(t) = self.event_type {
            put_field(out, b"event", t.as_bytes());
        }
        if let Some(ms) = self.retry {
            put_retry(out, ms);
        }
    }

    /// Encoded length of the fields [`put_head`](Self::put_head) writes.
    fn head_len(&self) -> usize {
        self.id.map_or(0, |id| field_len(b"id", id.as_bytes()))
            + self
                .event_type
                .map_or(0, |t| field_len(b"event", t.as_bytes()))
            + self.retry.map_or(0, |ms| {
                let (start, digits) = retry_digits(ms);
                field_len(b"retry", &digits[start..])
            })
    }

    fn encoded_len_hint(&self) -> usize {
        self.data.len() + self.event_type.map_or(0, str::len) + self.id.map_or(0, str::len) + 48
    }
}

/// Checks an event without writing anything.
///
/// # Errors
/// As [`encode_event`].
pub fn validate_event(event: &EventRef<'_>) -> Result<(), EncodeError> {
    if let Some(t) = event.event_type
        && let Some(index) = find_stop(
            t.as_bytes(),
            |b| b == b'\r' || b == b'\n',
            |t| memchr2(b'\r', b'\n', t),
        )
    {
        return Err(EncodeError::EventTypeLineBreak { index });
    }
    if let Some(id) = event.id
        && let Some(index) = find_stop(
            id.as_bytes(),
            |b| b == b'\r' || b == b'\n' || b == 0,
            |id| memchr3(b'\r', b'\n', 0, id),
        )
    {
        return Err(if id.as_bytes()[index] == 0 {
            EncodeError::IdNul { index }
        } else {
            EncodeError::IdLineBreak { index }
        });
    }
    Ok(())
}

/// Types and ids are short: below this length a byte loop finds a stop
/// byte faster than a SIMD search can set up.
const SHORT_FIELD: usize = 16;

/// Position of the first byte matching `stop`: a byte loop for a short
/// value, the same search with `simd` for a long one.
fn find_stop(
    value: &[u8],
    stop: impl Fn(u8) -> bool,
    simd: impl Fn(&[u8]) -> Option<usize>,
) -> Option<usize> {
    if value.len() < SHORT_FIELD {
        value.iter().position(|&b| stop(b))
    } else {
        simd(value)
    }
}

/// Writes one event: `id`, `event`, `retry`, one `data` line per line of
/// data, then the blank line that dispatches it.
///
/// Every value is written as `field: value`: the receiver strips exactly one
/// space, so a value's own leading spaces survive. Data is split at CR, LF
/// and CRLF, so the receiver reads it back with LF line ends; empty data is
/// written as `data:` and still dispatches an event.
///
/// # Errors
/// [`EncodeError`] if the type or id contains CR or LF, or the id contains
/// NUL; nothing is written then.
///
/// # Example
/// ```
/// use pushcodec::sse::{encode_event, EventRef};
///
/// let mut out = Vec::new();
/// encode_event(&EventRef::new(" two\nlines").id("7"), &mut out)?;
/// assert_eq!(out, b"id: 7\ndata:  two\ndata: lines\n\n");
/// assert!(encode_event(&EventRef::new("x").id("a\nb"), &mut out).is_err());
/// # Ok::<(), pushcodec::sse::EncodeError>(())
/// ```
pub fn encode_event(event: &EventRef<'_>, out: &mut impl BufMut) -> Result<(), EncodeError> {
    validate_event(event)?;
    event.put_head(out);
    put_lines(out, b"data", event.data.as_bytes());
    out.put_u8(b'\n');
    Ok(())
}

/// Writes a comment (a heartbeat, for instance): `: text`. Text containing
/// CR, LF or CRLF becomes several comment lines; receivers ignore them all
/// (WHATWG HTML §9.2.6).
///
/// # Example
/// ```
/// let mut out = Vec::new();
/// pushcodec::sse::encode_comment("keep-alive", &mut out);
/// assert_eq!(out, b": keep-alive\n");
/// ```
pub fn encode_comment(text: &str, out: &mut impl BufMut) {
    put_lines(out, b"", text.as_bytes());
}

/// Writes a block with only a `retry` field and the blank line after it
/// (`retry: ms\n\n`). Receivers set their reconnection time and dispatch
/// nothing.
///
/// # Example
/// ```
/// let mut out = Vec::new();
/// pushcodec::sse::encode_retry(2500, &mut out);
/// assert_eq!(out, b"retry: 2500\n\n");
/// ```
pub fn encode_retry(ms: u64, out: &mut impl BufMut) {
    put_retry(out, ms);
    out.put_u8(b'\n');
}

/// The decimal digits of `ms`, right-aligned: `(start, digits)`.
fn retry_digits(ms: u64) -> (usize, [u8; 20]) {
    let mut digits = [0u8; 20];
    let mut n = ms;
    let mut i = digits.len();
    loop {
        i -= 1;
        // n % 10 < 10, so the cast cannot truncate.
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    (i, digits)
}

/// A `retry: ms` line.
fn put_retry(out: &mut impl BufMut, ms: u64) {
    let (start, digits) = retry_digits(ms);
    put_field(out, b"retry", &digits[start..]);
}

/// Length of what [`put_field`] writes.
fn field_len(name: &[u8], value: &[u8]) -> usize {
    if value.is_empty() {
        name.len() + 2
    } else {
        name.len() + 3 + value.len()
    }
}

/// The text after the line break at `at` (CR, LF, or CRLF as one).
fn line_rest(text: &[u8], at: usize) -> &[u8] {
    let skip = if text.get(at) == Some(&b'\r') && text.get(at + 1) == Some(&b'\n') {
        2
    } else {
        1
    };
    text.get(at + skip..).unwrap_or_default()
}

/// `name: value\n`, or `name:\n` for an empty value.
fn put_field(out: &mut impl BufMut, name: &[u8], value: &[u8]) {
    out.put_slice(name);
    if value.is_empty() {
        out.put_slice(b":\n");
    } else {
        out.put_slice(b": ");
        out.put_slice(value);
        out.put_u8(b'\n');
    }
}

/// One `name: line` per line of `text`, split at CR, LF and CRLF.
fn put_lines(out: &mut impl BufMut, name: &[u8], text: &[u8]) {
    let mut rest = text;
    while let Some(i) = memchr2(b'\r', b'\n', rest) {
        put_field(out, name, &rest[..i]);
        rest = line_rest(rest, i);
    }
    put_field(out, name, rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(ev: EventRef<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        encode_event(&ev, &mut out).unwrap();
        out
    }

    #[test]
    fn data_line_breaks_become_data_lines() {
        assert_eq!(
            enc(EventRef::new("a\rb\nc\r\nd")),
            b"data: a\ndata: b\ndata: c\ndata: d\n\n"
        );
        assert_eq!(enc(EventRef::new("a\n")), b"data: a\ndata:\n\n");
        assert_eq!(enc(EventRef::new("\r\n")), b"data:\ndata:\n\n");
    }

    #[test]
    fn empty_data_still_has_a_data_line() {
        assert_eq!(enc(EventRef::new("")), b"data:\n\n");
    }

    #[test]
    fn fields_in_order_with_retry() {
        assert_eq!(
            enc(EventRef::new("x").event_type("t").id("").retry(0)),
            b"id:\nevent: t\nretry: 0\ndata: x\n\n"
        );
        let mut out = Vec::new();
        encode_retry(u64::MAX, &mut out);
        assert_eq!(out, b"retry: 18446744073709551615\n\n");
    }

    #[test]
    fn refused_fields_write_nothing() {
        let mut out = Vec::new();
        let cases = [
            (
                EventRef::new("x").event_type("a\rb"),
                EncodeError::EventTypeLineBreak { index: 1 },
            ),
            (
                EventRef::new("x").id("ab\n"),
                EncodeError::IdLineBreak { index: 2 },
            ),
            (EventRef::new("x").id("\0"), EncodeError::IdNul { index: 0 }),
        ];
        for (ev, err) in cases {
            assert_eq!(encode_event(&ev, &mut out), Err(err));
        }
        assert!(out.is_empty());
    }

    #[test]
    fn comments_split_into_lines() {
        let mut out = Vec::new();
        encode_comment("a\r\nb", &mut out);
        encode_comment("", &mut out);
        assert_eq!(out, b": a\n: b\n:\n");
    }
}
