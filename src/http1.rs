//! The HTTP/1.1 head reader that SSE and WebSocket share: finding the end of
//! a request or response head in partial bytes, parsing it with httparse
//! within [`HeadLimits`], and the one [`HeadError`] for what is wrong with it.
//!
//! [`sse::parse_request`](crate::sse::parse_request) and the WebSocket
//! handshake (`ws::handshake::parse_request`, `ClientHandshake::parse_response`)
//! take the same limits and report the same errors, so a server that speaks
//! both on one port answers an oversized head with the same 431.
//!
//! Cost: each call scans at most `max_head_bytes` bytes for the blank line
//! (memchr) and runs httparse once, only when the head is complete. A caller
//! that calls again after every new read therefore spends at most
//! `O(max_head_bytes)` per call however slowly the peer sends, never the
//! unbounded re-parsing of tungstenite's CVE-2023-43669.
//!
//! # Example
//! ```
//! use pushcodec::http1::{HeadError, HeadLimits};
//!
//! let mut limits = HeadLimits::default();
//! assert_eq!((limits.max_head_bytes, limits.max_headers), (16 * 1024, 64));
//! limits.max_head_bytes = 32 * 1024; // big cookies
//! assert_eq!(HeadError::TooLarge { limit: 1 }.status(), 431);
//! ```

use crate::prelude::*;
/// Bounds on what an HTTP/1.1 head may cost, for every reader in the crate
/// (SSE requests, WebSocket requests and responses).
///
/// A head that passes [`max_head_bytes`](Self::max_head_bytes) before its
/// blank line is refused at once ([`HeadError::TooLarge`], status 431), so
/// a peer can never make the parser buffer or re-scan more than this many
/// bytes. For a WebSocket extended CONNECT (HTTP/2, HTTP/3) the same limits
/// bound the decoded field section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeadLimits {
    /// Most bytes the head (request or status line, header lines and the
    /// blank line) may take. Default 16 KiB (16384): room for large cookies,
    /// and as much as common servers allow in one header buffer.
    /// For an extended CONNECT (HTTP/2, HTTP/3), the most the field section
    /// may take, counted as RFC 9113 §6.5.2 does: name, value and 32 bytes
    /// per field, pseudo-headers included.
    pub max_head_bytes: usize,
    /// Most header fields the head may carry (pseudo-headers included for
    /// an extended CONNECT). Default 64.
    pub max_headers: usize,
}

impl HeadLimits {
    /// Default [`max_head_bytes`](Self::max_head_bytes): 16 KiB.
    pub const DEFAULT_MAX_HEAD_BYTES: usize = 16 * 1024;
    /// Default [`max_headers`](Self::max_headers): 64.
    pub const DEFAULT_MAX_HEADERS: usize = 64;

    /// The defaults: 16 KiB of head and 64 header fields.
    pub const fn new() -> Self {
        HeadLimits {
            max_head_bytes: Self::DEFAULT_MAX_HEAD_BYTES,
            max_headers: Self::DEFAULT_MAX_HEADERS,
        }
    }

    /// No limits: for header maps that the caller's HTTP stack already
    /// bounded (its `SETTINGS_MAX_HEADER_LIST_SIZE`).
    #[cfg(all(feature = "ws", feature = "http"))]
    pub(crate) const UNLIMITED: HeadLimits = HeadLimits {
        max_head_bytes: usize::MAX,
        max_headers: usize::MAX,
    };
}

impl Default for HeadLimits {
    fn default() -> Self {
        Self::new()
    }
}

/// What is wrong with an HTTP/1.1 head, whoever reads it. A server answers
/// with [`status`](Self::status); a client closes the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeadError {
    /// The head did not end within `limit` bytes (status 431).
    #[error(
        "head exceeds {limit} bytes before its blank line (HeadLimits::max_head_bytes; answer 431)"
    )]
    TooLarge {
        /// The configured [`HeadLimits::max_head_bytes`].
        limit: usize,
    },
    /// The head has more than `limit` header fields (status 431).
    #[error("head has more than {limit} header fields (HeadLimits::max_headers; answer 431)")]
    TooManyHeaders {
        /// The configured [`HeadLimits::max_headers`].
        limit: usize,
    },
    /// The head is not valid HTTP/1.1 syntax (status 400).
    #[error("malformed HTTP/1.1 head: {reason} (RFC 9112; answer 400)")]
    Malformed {
        /// What httparse or our own scan objected to.
        reason: &'static str,
    },
}

impl HeadError {
    /// The status a server answers with: 431 (RFC 6585 §5) for a head over
    /// the limits, 400 for a malformed one.
    pub fn status(&self) -> u16 {
        match self {
            HeadError::TooLarge { .. } | HeadError::TooManyHeaders { .. } => 431,
            HeadError::Malformed { .. } => 400,
        }
    }
}

/// Where the head ends (the index just past its blank line), if it is
/// complete; an error if it cannot complete within the byte limit.
pub(crate) fn find_end(buf: &[u8], limits: &HeadLimits) -> Result<Option<usize>, HeadError> {
    let window = &buf[..buf.len().min(limits.max_head_bytes)];
    // RFC 9112 §2.2: a server SHOULD ignore empty lines before the request
    // line; skip them so their CRLF is not taken for the end of the head.
    let start = window
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(window.len());
    let mut from = start;
    while let Some(i) = memchr::memchr(b'\n', &window[from..]) {
        let lf = from + i;
        // RFC 9112 §2.2: a recipient MAY take a bare LF as a line end, as
        // httparse does; accept "\n\n" and "\n\r\n" as the blank line.
        match window.get(lf + 1..) {
            Some([b'\n', ..]) => return Ok(Some(lf + 2)),
            Some([b'\r', b'\n', ..]) => return Ok(Some(lf + 3)),
            _ => from = lf + 1,
        }
    }
    if buf.len() >= limits.max_head_bytes {
        return Err(HeadError::TooLarge {
            limit: limits.max_head_bytes,
        });
    }
    Ok(None)
}

/// Room for the header array: never more than the head has lines (so memory
/// follows the bytes actually received) nor more than the limit.
fn header_slots<'h>(head: &[u8], limits: &HeadLimits) -> Vec<httparse::Header<'h>> {
    let n = memchr::memchr_iter(b'\n', head)
        .count()
        .min(limits.max_headers);
    vec![httparse::EMPTY_HEADER; n]
}

fn malformed(e: httparse::Error, limits: &HeadLimits) -> HeadError {
    let reason = match e {
        httparse::Error::TooManyHeaders => {
            return HeadError::TooManyHeaders {
                limit: limits.max_headers,
            };
        }
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status code",
        httparse::Error::Token => "invalid method token",
        httparse::Error::Version => "invalid HTTP version",
    };
    HeadError::Malformed { reason }
}

/// httparse's verdict on a head that [`find_end`] found complete.
fn complete(
    parsed: Result<httparse::Status<usize>, httparse::Error>,
    limits: &HeadLimits,
) -> Result<(), HeadError> {
    match parsed.map_err(|e| malformed(e, limits))? {
        httparse::Status::Complete(_) => Ok(()),
        httparse::Status::Partial => Err(HeadError::Malformed {
            reason: "head ends before its blank line",
        }),
    }
}

/// One header field as received: the name as sent, the raw value (trim it
/// with [`trim_ows`]).
pub(crate) type Header<'h> = (&'h str, &'h [u8]);

/// A parsed request head, borrowing the bytes it was read from.
pub(crate) struct RequestHead<'h> {
    pub(crate) method: &'h str,
    pub(crate) target: &'h str,
    /// `1` for HTTP/1.1; SSE serves HTTP/1.0 as well and does not ask.
    #[cfg_attr(not(feature = "ws"), allow(dead_code))]
    pub(crate) minor_version: u8,
    pub(crate) headers: Vec<Header<'h>>,
}

/// A parsed response head, borrowing the bytes it was read from.
#[cfg(feature = "ws")]
pub(crate) struct ResponseHead<'h> {
    pub(crate) status: u16,
    pub(crate) reason: &'h str,
    pub(crate) headers: Vec<Header<'h>>,
}

fn pairs<'h>(headers: &[httparse::Header<'h>]) -> Vec<Header<'h>> {
    headers.iter().map(|h| (h.name, h.value)).collect()
}

/// Parses a request head that [`find_end`] found complete.
pub(crate) fn parse_request<'h>(
    head: &'h [u8],
    limits: &HeadLimits,
) -> Result<RequestHead<'h>, HeadError> {
    let mut slots = header_slots(head, limits);
    let mut req = httparse::Request::new(&mut slots);
    complete(req.parse(head), limits)?;
    Ok(RequestHead {
        method: req.method.unwrap_or_default(),
        target: req.path.unwrap_or_default(),
        minor_version: req.version.unwrap_or_default(),
        headers: pairs(req.headers),
    })
}

/// Parses a response head that [`find_end`] found complete.
#[cfg(feature = "ws")]
pub(crate) fn parse_response<'h>(
    head: &'h [u8],
    limits: &HeadLimits,
) -> Result<ResponseHead<'h>, HeadError> {
    let mut slots = header_slots(head, limits);
    let mut resp = httparse::Response::new(&mut slots);
    complete(resp.parse(head), limits)?;
    if resp.version != Some(1) {
        return Err(HeadError::Malformed {
            reason: "response is not HTTP/1.1",
        });
    }
    Ok(ResponseHead {
        status: resp.code.unwrap_or_default(),
        reason: resp.reason.unwrap_or_default(),
        headers: pairs(resp.headers),
    })
}

/// Writes each field as an HTTP/1.1 header line, `Name: value\r\n` (RFC 9112
/// §5); the one writer of header lines, for every head the crate sends.
/// Callers have checked names and values (no CR, LF or other controls).
pub(crate) fn put_header_lines<'a, V: AsRef<str>>(
    fields: impl IntoIterator<Item = (&'a str, V)>,
    out: &mut impl bytes::BufMut,
) {
    for (name, value) in fields {
        out.put_slice(name.as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_ref().as_bytes());
        out.put_slice(b"\r\n");
    }
}

/// RFC 9110 §5.5: optional whitespace (SP / HTAB) around a field value is
/// not part of it.
pub(crate) fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// A received value for an error message: at most its first 64 bytes,
/// lossily, so a hostile peer cannot make an error arbitrarily large.
#[cfg(feature = "ws")]
pub(crate) fn lossy_cut(v: &[u8]) -> String {
    String::from_utf8_lossy(&v[..v.len().min(64)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(bytes: usize, headers: usize) -> HeadLimits {
        let mut l = HeadLimits::new();
        l.max_head_bytes = bytes;
        l.max_headers = headers;
        l
    }

    #[test]
    fn defaults_are_documented_values() {
        let l = HeadLimits::default();
        assert_eq!(l.max_head_bytes, 16 * 1024);
        assert_eq!(l.max_headers, 64);
    }

    #[test]
    fn end_found_for_crlf_and_bare_lf() {
        let l = HeadLimits::new();
        assert_eq!(find_end(b"GET / HTTP/1.1\r\n\r\nxx", &l), Ok(Some(18)));
        assert_eq!(find_end(b"GET / HTTP/1.1\n\nxx", &l), Ok(Some(16)));
        assert_eq!(find_end(b"GET / HTTP/1.1\n\r\n", &l), Ok(Some(17)));
        assert_eq!(find_end(b"GET / HTTP/1.1\r\n\r", &l), Ok(None));
        assert_eq!(find_end(b"", &l), Ok(None));
    }

    #[test]
    fn leading_empty_lines_are_not_the_end() {
        let l = HeadLimits::new();
        assert_eq!(find_end(b"\r\n\r\nGET / HTTP/1.1\r\n", &l), Ok(None));
        assert_eq!(find_end(b"\r\nGET / HTTP/1.1\r\n\r\n", &l), Ok(Some(20)));
    }

    #[test]
    fn head_at_exactly_the_limit_passes_and_one_more_fails() {
        let head = b"GET / HTTP/1.1\r\n\r\n";
        assert_eq!(find_end(head, &lim(head.len(), 4)), Ok(Some(head.len())));
        assert_eq!(
            find_end(head, &lim(head.len() - 1, 4)),
            Err(HeadError::TooLarge {
                limit: head.len() - 1
            })
        );
        // Incomplete and already at the limit: it can never complete in time.
        assert_eq!(
            find_end(b"GET / HTTP/1.1\r\nA: b", &lim(10, 4)),
            Err(HeadError::TooLarge { limit: 10 })
        );
    }

    #[test]
    fn header_count_limit() {
        let head = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert!(parse_request(head, &lim(1024, 3)).is_ok());
        assert!(matches!(
            parse_request(head, &lim(1024, 2)),
            Err(HeadError::TooManyHeaders { limit: 2 })
        ));
    }

    #[test]
    fn ows_is_trimmed() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
    }
}
