//! Rejection responses: a server refusing to upgrade.

use super::error::BuildError;
use super::fields::check_outgoing;
use crate::prelude::*;

/// Headers a rejection writes itself; a caller may not add them again.
const RESERVED: &[&str] = &["content-length", "transfer-encoding", "connection"];

/// RFC 9110 §15's reason phrases for the statuses a handshake may answer
/// with. Any other status gets an empty phrase, which RFC 9112 §4 allows.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// Writes a rejection whose parts are already known to be valid.
pub(crate) fn write_reject(
    status: u16,
    body: &str,
    extra: &[(&str, &str)],
    upgrade: bool,
    out: &mut impl bytes::BufMut,
) {
    out.put_slice(format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status)).as_bytes());
    // The request was not taken up and may not even be fully read: close.
    // RFC 9110 §7.8: whoever sends Upgrade also sends the upgrade option.
    out.put_slice(if upgrade {
        b"Connection: Upgrade, close\r\n"
    } else {
        b"Connection: close\r\n"
    });
    crate::http1::put_header_lines(extra.iter().copied(), out);
    if body.is_empty() {
        out.put_slice(b"Content-Length: 0\r\n\r\n");
    } else {
        let length = (body.len() + 1).to_string();
        crate::http1::put_header_lines(
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", &length),
            ],
            out,
        );
        out.put_slice(b"\r\n");
        out.put_slice(body.as_bytes());
        out.put_u8(b'\n');
    }
}

/// Writes a complete HTTP/1.1 rejection: the status line, `Connection:
/// close`, the `extra_headers` and `reason` as a `text/plain` body (none if
/// empty). Use it for the application's own refusals, e.g. 401 with a
/// `WWW-Authenticate` challenge or 403 for a forbidden `Origin`; close the
/// connection once it is written.
///
/// # Errors
/// [`BuildError::InvalidStatus`] unless `status` is 300–599;
/// [`BuildError::InvalidHeaderName`] / [`BuildError::InvalidHeaderValue`]
/// for a header that is not a token or holds CR, LF or another control;
/// [`BuildError::ReservedHeader`] for `Content-Length`,
/// `Transfer-Encoding` or `Connection`. Nothing is written on error.
///
/// # Example
/// ```
/// use pushcodec::ws::handshake::encode_reject;
/// let mut out = Vec::new();
/// encode_reject(401, "token expired", &[("WWW-Authenticate", "Bearer")], &mut out)?;
/// assert!(out.starts_with(b"HTTP/1.1 401 Unauthorized\r\n"));
/// assert!(out.ends_with(b"\r\n\r\ntoken expired\n"));
/// # Ok::<(), pushcodec::ws::handshake::HandshakeError>(())
/// ```
pub fn encode_reject(
    status: u16,
    reason: &str,
    extra_headers: &[(&str, &str)],
    out: &mut impl bytes::BufMut,
) -> Result<(), BuildError> {
    if !(300..=599).contains(&status) {
        return Err(BuildError::InvalidStatus { status });
    }
    for (name, value) in extra_headers {
        check_outgoing(name, value, RESERVED)?;
    }
    let upgrade = extra_headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("upgrade"));
    write_reject(status, reason, extra_headers, upgrade, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_is_well_formed() {
        let mut out = Vec::new();
        encode_reject(403, "origin not allowed", &[("X-A", "1")], &mut out).unwrap();
        assert_eq!(
            out,
            b"HTTP/1.1 403 Forbidden\r\nConnection: close\r\nX-A: 1\r\n\
              Content-Type: text/plain; charset=utf-8\r\nContent-Length: 19\r\n\r\n\
              origin not allowed\n"
        );
    }

    #[test]
    fn empty_reason_has_no_body() {
        let mut out = Vec::new();
        encode_reject(400, "", &[], &mut out).unwrap();
        assert_eq!(
            out,
            b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn bad_inputs_write_nothing() {
        let mut out = Vec::new();
        assert_eq!(
            encode_reject(101, "", &[], &mut out),
            Err(BuildError::InvalidStatus { status: 101 })
        );
        assert_eq!(
            encode_reject(200, "", &[], &mut out),
            Err(BuildError::InvalidStatus { status: 200 })
        );
        assert!(matches!(
            encode_reject(400, "", &[("X-A", "a\r\nSet-Cookie: x")], &mut out),
            Err(BuildError::InvalidHeaderValue { .. })
        ));
        assert!(matches!(
            encode_reject(400, "", &[("Content-Length", "5")], &mut out),
            Err(BuildError::ReservedHeader { .. })
        ));
        assert!(out.is_empty());
    }
}
