//! Server side of a connection: the response head that makes browsers and
//! proxies stream, and reading `Last-Event-ID` from a request head.

use bytes::BufMut;

use super::Utf8Bytes;

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
    for (name, value) in RESPONSE_HEADERS {
        out.put_slice(name.as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
}

/// Limits for reading a request head.
///
/// # Example
/// ```
/// use pushcodec::sse::RequestLimits;
///
/// let limits = RequestLimits::default().max_head_len(4096).max_headers(32);
/// assert_eq!(limits.head_limit(), 4096);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestLimits {
    max_head_len: usize,
    max_headers: usize,
}

impl RequestLimits {
    /// Default largest request head: 16 KiB, blank line included.
    pub const DEFAULT_MAX_HEAD_LEN: usize = 16 * 1024;
    /// Default most header fields: 64.
    pub const DEFAULT_MAX_HEADERS: usize = 64;

    /// Sets the largest request head accepted, in bytes.
    #[must_use]
    pub fn max_head_len(mut self, bytes: usize) -> Self {
        self.max_head_len = bytes;
        self
    }

    /// Sets the most header fields accepted.
    #[must_use]
    pub fn max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// The largest request head accepted.
    pub fn head_limit(&self) -> usize {
        self.max_head_len
    }

    /// The most header fields accepted.
    pub fn headers_limit(&self) -> usize {
        self.max_headers
    }
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_head_len: Self::DEFAULT_MAX_HEAD_LEN,
            max_headers: Self::DEFAULT_MAX_HEADERS,
        }
    }
}

/// Why a request head was refused. Each variant says which HTTP status to
/// answer with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The head grew past [`RequestLimits::max_head_len`] without ending.
    #[error("request head longer than max_head_len ({limit} bytes) (answer 431)")]
    HeadTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// More header fields than [`RequestLimits::max_headers`].
    #[error("request has more than max_headers ({limit}) header fields (answer 431)")]
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// The head is not valid HTTP/1.x (RFC 9112 §2–§5).
    #[error("malformed request head: {reason} (RFC 9112; answer 400)")]
    Malformed {
        /// What the HTTP parser rejected.
        reason: &'static str,
    },
    /// More than one `Last-Event-ID` field (WHATWG HTML §9.2.4 defines one).
    #[error(
        "request has more than one Last-Event-ID header field (WHATWG HTML §9.2.4; answer 400)"
    )]
    DuplicateLastEventId,
}

impl RequestError {
    /// The HTTP status code to answer with.
    pub fn status(&self) -> u16 {
        match self {
            RequestError::HeadTooLarge { .. } | RequestError::TooManyHeaders { .. } => 431,
            RequestError::Malformed { .. } | RequestError::DuplicateLastEventId => 400,
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
/// "incomplete, read more" (until `max_head_len` is reached).
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
    // Look only at the allowed prefix, so the limit holds whatever arrives.
    let window = buf.get(..limits.max_head_len).unwrap_or(buf);
    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut req = httparse::Request::new(&mut headers);
    let status = req.parse(window).map_err(|e| match e {
        httparse::Error::TooManyHeaders => RequestError::TooManyHeaders {
            limit: limits.max_headers,
        },
        other => RequestError::Malformed {
            reason: malformed_reason(other),
        },
    })?;
    let httparse::Status::Complete(head_len) = status else {
        if buf.len() >= limits.max_head_len {
            return Err(RequestError::HeadTooLarge {
                limit: limits.max_head_len,
            });
        }
        return Ok(None);
    };
    let mut last_event_id = None;
    let mut seen = false;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("last-event-id") {
            if seen {
                return Err(RequestError::DuplicateLastEventId);
            }
            seen = true;
            let value = trim_ows(h.value);
            if !value.is_empty() {
                last_event_id = Some(Utf8Bytes::from_lossy(bytes::Bytes::copy_from_slice(value)));
            }
        }
    }
    Ok(Some(EventStreamRequest {
        method: req.method.unwrap_or_default().to_owned(),
        path: req.path.unwrap_or_default().to_owned(),
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

/// RFC 9110 §5.5: optional whitespace around a field value is not part of it.
fn trim_ows(v: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = v.iter().position(|b| !is_ows(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !is_ows(b)).map_or(start, |i| i + 1);
    v.get(start..end).unwrap_or_default()
}

fn malformed_reason(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header field name",
        httparse::Error::HeaderValue => "invalid header field value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status",
        httparse::Error::Token => "invalid token in request line",
        httparse::Error::Version => "invalid HTTP version",
        httparse::Error::TooManyHeaders => "too many header fields",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ows_is_trimmed() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"  "), b"");
    }
}
