//! Server side of a connection: the response head that makes browsers and
//! proxies stream, and reading `Last-Event-ID` from a request head.

use crate::prelude::*;
use bytes::BufMut;

use super::Utf8Bytes;
use crate::http1::{self, HeadError, trim_ows};

/// The response headers of an event stream, for servers that build their
/// own responses (hyper, axum, ...). `X-Accel-Buffering: no` stops nginx
/// and similar proxies from buffering the stream. There is deliberately no
/// `Content-Length`: the body is open-ended.
pub const RESPONSE_HEADERS: [(&str, &str); 3] = [
    ("Content-Type", "text/event-stream"),
    ("Cache-Control", "no-cache"),
    ("X-Accel-Buffering", "no"),
];

/// Writes an HTTP/1.1 `200 OK` response head with [`RESPONSE_HEADERS`] and
/// the blank line; the event stream follows it. Without `Content-Length`
/// or chunked coding the body runs until the server closes the connection
/// (RFC 9112 §6.3), which is how an event stream ends.
///
/// # Example
/// ```
/// let mut out = Vec::new();
/// pushcodec::sse::encode_response_head(&mut out);
/// assert!(out.starts_with(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"));
/// assert!(out.ends_with(b"X-Accel-Buffering: no\r\n\r\n"));
/// ```
pub fn encode_response_head(out: &mut impl BufMut) {
    out.put_slice(b"HTTP/1.1 200 OK\r\n");
    crate::http1::put_header_lines(RESPONSE_HEADERS.iter().copied(), out);
    out.put_slice(b"\r\n");
}

/// Limits for reading a request head: the crate's one
/// [`HeadLimits`](crate::http1::HeadLimits), under the name this module
/// has always used.
pub type RequestLimits = crate::http1::HeadLimits;

/// Why a request head was refused. Each variant says which HTTP status to
/// answer with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The head is too large, has too many fields or is not valid HTTP/1.x
    /// (RFC 9112); the same error as every HTTP/1.1 head in the crate.
    #[error(transparent)]
    Head(#[from] HeadError),
    /// More than one `Last-Event-ID` field (WHATWG HTML §9.2.4 defines one).
    #[error(
        "request has more than one Last-Event-ID header field (WHATWG HTML §9.2.4; answer 400)"
    )]
    DuplicateLastEventId,
}

impl RequestError {
    /// The HTTP status code to answer with: 431 for a head over the limits,
    /// 400 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            RequestError::Head(e) => e.status(),
            RequestError::DuplicateLastEventId => 400,
        }
    }
}

/// What [`parse_request`] found in a complete request head.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventStreamRequest {
    /// The request method (`GET` for `EventSource`).
    pub method: String,
    /// The request target (path and query).
    pub path: String,
    /// The `Last-Event-ID` value, if the client sent a non-empty one
    /// (optional whitespace around it removed, as HTTP requires; invalid
    /// UTF-8 replaced with U+FFFD).
    pub last_event_id: Option<Utf8Bytes>,
    /// Bytes of the head, blank line included; anything after belongs to
    /// the body or the next request.
    pub head_len: usize,
}

/// Reads a request head from the bytes received so far. `Ok(None)` means
/// "incomplete, read more" (until `max_head_bytes` is reached). The head is
/// read by the crate's one HTTP/1.1 reader ([`http1`](crate::http1)), as
/// the WebSocket handshake's is.
///
/// # Errors
/// [`RequestError`] when the head is too large, has too many fields, is
/// malformed, or repeats `Last-Event-ID`.
///
/// # Example
/// ```
/// use pushcodec::sse::{parse_request, RequestLimits};
///
/// let limits = RequestLimits::default();
/// assert_eq!(parse_request(b"GET /events HTTP/1.1\r\nHost: x\r\n", &limits)?, None);
/// let req = parse_request(b"GET /events HTTP/1.1\r\nLast-Event-ID: 42\r\n\r\n", &limits)?
///     .expect("complete");
/// assert_eq!(req.last_event_id.as_ref().map(|id| id.as_str()), Some("42"));
/// assert_eq!(req.head_len, 43);
/// # Ok::<(), pushcodec::sse::RequestError>(())
/// ```
pub fn parse_request(
    buf: &[u8],
    limits: &RequestLimits,
) -> Result<Option<EventStreamRequest>, RequestError> {
    let Some(head_len) = http1::find_end(buf, limits)? else {
        return Ok(None);
    };
    let req = http1::parse_request(&buf[..head_len], limits)?;
    let mut last_event_id = None;
    let mut seen = false;
    for (name, value) in &req.headers {
        if name.eq_ignore_ascii_case("last-event-id") {
            if seen {
                return Err(RequestError::DuplicateLastEventId);
            }
            seen = true;
            let value = trim_ows(value);
            if !value.is_empty() {
                last_event_id = Some(Utf8Bytes::from_lossy(bytes::Bytes::copy_from_slice(value)));
            }
        }
    }
    Ok(Some(EventStreamRequest {
        method: req.method.to_owned(),
        path: req.target.to_owned(),
        last_event_id,
        head_len,
    }))
}

/// Reads `Last-Event-ID` from an [`http::HeaderMap`] (feature `http`), with
/// the same rules as [`parse_request`].
///
/// # Errors
/// [`RequestError::DuplicateLastEventId`] if the field appears twice.
///
/// # Example
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert("last-event-id", http::HeaderValue::from_static(" 42 "));
/// let id = pushcodec::sse::last_event_id_from_headers(&headers)?;
/// assert_eq!(id.as_ref().map(|id| id.as_str()), Some("42"));
/// # Ok::<(), pushcodec::sse::RequestError>(())
/// ```
#[cfg(feature = "http")]
pub fn last_event_id_from_headers(
    headers: &http::HeaderMap,
) -> Result<Option<Utf8Bytes>, RequestError> {
    let mut values = headers.get_all("last-event-id").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(RequestError::DuplicateLastEventId);
    }
    let value = trim_ows(value.as_bytes());
    Ok((!value.is_empty()).then(|| Utf8Bytes::from_lossy(bytes::Bytes::copy_from_slice(value))))
}

/// A `200 OK` [`http::response::Builder`] with [`RESPONSE_HEADERS`]
/// (feature `http`); add the body stream of your framework.
///
/// # Example
/// ```
/// let res = pushcodec::sse::response_builder().body(()).unwrap();
/// assert_eq!(res.headers()["content-type"], "text/event-stream");
/// assert_eq!(res.headers()["x-accel-buffering"], "no");
/// ```
#[cfg(feature = "http")]
pub fn response_builder() -> http::response::Builder {
    RESPONSE_HEADERS
        .iter()
        .fold(http::Response::builder().status(200), |b, (name, value)| {
            b.header(*name, *value)
        })
}
