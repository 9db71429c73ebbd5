//! Finding and parsing an HTTP/1.1 head from partial bytes within [`Limits`].
//!
//! Cost: each call scans at most `max_head_bytes` bytes for the blank line
//! (memchr) and runs httparse once, only when the head is complete. A caller
//! that calls again after every new read therefore spends at most
//! `O(max_head_bytes)` per call however slowly the peer sends, never the
//! unbounded re-parsing of tungstenite's CVE-2023-43669.

use super::fields::Fields;
use super::{HandshakeError, Limits};

/// Where the head ends (the index just past its blank line), if it is
/// complete; an error if it cannot complete within the byte limit.
pub(crate) fn find_end(buf: &[u8], limits: &Limits) -> Result<Option<usize>, HandshakeError> {
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
        return Err(HandshakeError::HeadTooLarge {
            limit: limits.max_head_bytes,
        });
    }
    Ok(None)
}

/// Room for the header array: never more than the head has lines (so memory
/// follows the bytes actually received) nor more than the limit.
fn header_slots(head: &[u8], limits: &Limits) -> usize {
    memchr::memchr_iter(b'\n', head)
        .count()
        .min(limits.max_headers)
}

fn malformed(e: httparse::Error, limits: &Limits) -> HandshakeError {
    let reason = match e {
        httparse::Error::TooManyHeaders => {
            return HandshakeError::TooManyHeaders {
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
    HandshakeError::MalformedHead { reason }
}

fn owned_fields(headers: &[httparse::Header<'_>]) -> Fields {
    let mut fields = Fields::with_capacity(headers.len());
    for h in headers {
        fields.push(h.name, h.value);
    }
    fields
}

/// A parsed request head, owned.
pub(crate) struct RequestHead {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) minor_version: u8,
    pub(crate) fields: Fields,
}

/// A parsed response head, owned.
pub(crate) struct ResponseHead {
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) fields: Fields,
}

const INCOMPLETE: HandshakeError = HandshakeError::MalformedHead {
    reason: "head ends before its blank line",
};

/// Parses a request head that [`find_end`] found complete.
pub(crate) fn parse_request(head: &[u8], limits: &Limits) -> Result<RequestHead, HandshakeError> {
    let mut slots = vec![httparse::EMPTY_HEADER; header_slots(head, limits)];
    let mut req = httparse::Request::new(&mut slots);
    match req.parse(head).map_err(|e| malformed(e, limits))? {
        httparse::Status::Complete(_) => {}
        httparse::Status::Partial => return Err(INCOMPLETE),
    }
    let fields = owned_fields(req.headers);
    Ok(RequestHead {
        method: req.method.unwrap_or_default().to_owned(),
        target: req.path.unwrap_or_default().to_owned(),
        minor_version: req.version.unwrap_or_default(),
        fields,
    })
}

/// Parses a response head that [`find_end`] found complete.
pub(crate) fn parse_response(head: &[u8], limits: &Limits) -> Result<ResponseHead, HandshakeError> {
    let mut slots = vec![httparse::EMPTY_HEADER; header_slots(head, limits)];
    let mut resp = httparse::Response::new(&mut slots);
    match resp.parse(head).map_err(|e| malformed(e, limits))? {
        httparse::Status::Complete(_) => {}
        httparse::Status::Partial => return Err(INCOMPLETE),
    }
    if resp.version != Some(1) {
        return Err(HandshakeError::MalformedHead {
            reason: "response is not HTTP/1.1",
        });
    }
    let fields = owned_fields(resp.headers);
    Ok(ResponseHead {
        status: resp.code.unwrap_or_default(),
        reason: resp.reason.unwrap_or_default().to_owned(),
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(bytes: usize, headers: usize) -> Limits {
        let mut l = Limits::new();
        l.max_head_bytes = bytes;
        l.max_headers = headers;
        l
    }

    #[test]
    fn end_found_for_crlf_and_bare_lf() {
        let l = Limits::new();
        assert_eq!(find_end(b"GET / HTTP/1.1\r\n\r\nxx", &l), Ok(Some(18)));
        assert_eq!(find_end(b"GET / HTTP/1.1\n\nxx", &l), Ok(Some(16)));
        assert_eq!(find_end(b"GET / HTTP/1.1\n\r\n", &l), Ok(Some(17)));
        assert_eq!(find_end(b"GET / HTTP/1.1\r\n\r", &l), Ok(None));
        assert_eq!(find_end(b"", &l), Ok(None));
    }

    #[test]
    fn leading_empty_lines_are_not_the_end() {
        let l = Limits::new();
        assert_eq!(find_end(b"\r\n\r\nGET / HTTP/1.1\r\n", &l), Ok(None));
        assert_eq!(find_end(b"\r\nGET / HTTP/1.1\r\n\r\n", &l), Ok(Some(20)));
    }

    #[test]
    fn head_at_exactly_the_limit_passes_and_one_more_fails() {
        let head = b"GET / HTTP/1.1\r\n\r\n";
        assert_eq!(find_end(head, &lim(head.len(), 4)), Ok(Some(head.len())));
        assert_eq!(
            find_end(head, &lim(head.len() - 1, 4)),
            Err(HandshakeError::HeadTooLarge {
                limit: head.len() - 1
            })
        );
        // Incomplete and already at the limit: it can never complete in time.
        assert_eq!(
            find_end(b"GET / HTTP/1.1\r\nA: b", &lim(10, 4)),
            Err(HandshakeError::HeadTooLarge { limit: 10 })
        );
    }

    #[test]
    fn header_count_limit() {
        let head = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert!(parse_request(head, &lim(1024, 3)).is_ok());
        assert!(matches!(
            parse_request(head, &lim(1024, 2)),
            Err(HandshakeError::TooManyHeaders { limit: 2 })
        ));
    }
}
