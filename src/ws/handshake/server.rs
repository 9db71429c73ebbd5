//! Server role: check a client's opening handshake (RFC 6455 §4.2.1) and
//! build the 101 answer (§4.2.2).

use crate::prelude::*;
use base64::Engine as _;

use super::Limits;
use super::error::{BuildError, RequestError};
use super::fields::Fields;
use super::mode::{AcceptBuilder, Http1, Request};
use crate::http1::{self, lossy_cut};

/// Parses and checks a client's opening handshake from the bytes received so
/// far.
///
/// Returns `Ok(None)` while the head is incomplete (call again when more
/// bytes arrived), or the checked [`Request`] and the number of bytes the
/// head used: `buf[used..]` already belongs to the WebSocket stream (a
/// client may send its first frames right behind the request) and must go
/// to the frame decoder.
///
/// This is a pure function of `buf`, so each call scans the head again; the
/// scan stops at [`Limits::max_head_bytes`], so one call costs at most that
/// many bytes of memchr and one httparse run once complete. Call it when new
/// bytes arrived, not in a loop.
///
/// The checks run in RFC 6455 §4.2.1's order, so the first rule broken is
/// the one reported: GET, HTTP/1.1, `Host`, `Upgrade`, `Connection`,
/// `Sec-WebSocket-Key`, `Sec-WebSocket-Version`, then the syntax of
/// `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions`.
///
/// # Errors
/// A [`RequestError`] whose [`status`](RequestError::status) and
/// [`encode_response`](RequestError::encode_response) give the answer.
///
/// # Example
/// ```
/// use pushcodec::ws::handshake::{self, Limits};
/// let raw = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
///             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///             Sec-WebSocket-Version: 13\r\n\r\n";
/// let limits = Limits::default();
/// assert!(handshake::parse_request(&raw[..20], &limits)?.is_none()); // need more
/// let (req, used) = handshake::parse_request(raw, &limits)?.unwrap();
/// assert_eq!((req.path(), req.host(), used), ("/chat", "server.example.com", raw.len()));
/// # Ok::<(), handshake::HandshakeError>(())
/// ```
pub fn parse_request(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(Request, usize)>, RequestError> {
    let Some(end) = http1::find_end(buf, limits)? else {
        return Ok(None);
    };
    let h = http1::parse_request(&buf[..end], limits)?;
    let version = if h.minor_version == 1 {
        "HTTP/1.1"
    } else {
        "HTTP/1.0"
    };
    let req = Request::check(
        h.method.to_owned(),
        h.target.to_owned(),
        version,
        Fields::from_head(&h.headers),
    )?;
    Ok(Some((req, end)))
}

impl Request<Http1> {
    /// RFC 6455 §4.2.1, in its order. Shared by every way of receiving a
    /// request (httparse here, the `http` crate's types with that feature).
    pub(crate) fn check(
        method: String,
        path: String,
        version: &str,
        fields: Fields,
    ) -> Result<Self, RequestError> {
        // §4.2.1 item 1: "An HTTP/1.1 or higher GET request". Methods are
        // case-sensitive (RFC 9110 §9.1).
        if method != "GET" {
            return Err(RequestError::MethodNotGet { method });
        }
        if version != "HTTP/1.1" {
            return Err(RequestError::HttpVersion {
                version: version.to_owned(),
            });
        }
        // §4.2.1 item 2; RFC 9112 §3.2: exactly one Host.
        let host = match fields.single("Host")? {
            None => return Err(RequestError::MissingHost),
            Some(v) => core::str::from_utf8(v)
                .ok()
                .filter(|h| !h.is_empty())
                .ok_or(RequestError::InvalidHeader {
                    name: "Host",
                    reason: "empty or not UTF-8 (RFC 6455 §4.2.1 item 2)",
                })?
                .to_owned(),
        };
        // §4.2.1 items 3 and 4: Upgrade holds "websocket" and Connection
        // "Upgrade", among others (Firefox sends "keep-alive, Upgrade").
        fields.upgrades_to_websocket(["§4.2.1 item 3", "§4.2.1 item 4"])?;
        // §4.2.1 item 5 and §11.3.1: one key, base64 of 16 bytes.
        let key = match fields.single("Sec-WebSocket-Key")? {
            None => return Err(RequestError::MissingKey),
            Some(v) => check_key(v)?,
        };
        // §4.2.1 item 6; §11.3.5: at most once in a request.
        match fields.single("Sec-WebSocket-Version")? {
            Some(b"13") => {}
            other => {
                return Err(RequestError::UnsupportedVersion {
                    found: other.map(lossy_cut),
                });
            }
        }
        // Not a §4.2.1 rule but its consequence: the handshake is a GET
        // without a body, and whatever follows the head is read as frames.
        // A body announced here would be framed differently by a proxy in
        // front of us (request smuggling, RFC 9112 §11.2), so refuse it.
        let body_reason = "a handshake request has no body (RFC 6455 §4.1, RFC 9112 §6)";
        if fields.all("Transfer-Encoding").next().is_some() {
            return Err(RequestError::InvalidHeader {
                name: "Transfer-Encoding",
                reason: body_reason,
            });
        }
        if fields.all("Content-Length").any(|v| v != b"0") {
            return Err(RequestError::InvalidHeader {
                name: "Content-Length",
                reason: body_reason,
            });
        }
        // §4.2.1 items 7 to 9: optional, but what is sent must parse.
        Request::offers(path, host, key, fields)
    }

    /// The `Host` header (RFC 6455 §4.2.1 item 2).
    pub fn host(&self) -> &str {
        self.authority_str()
    }

    /// The `Sec-WebSocket-Key` as sent.
    pub fn key(&self) -> &str {
        &self.binding
    }
}

/// The key as a string if it is the base64 of exactly 16 bytes.
fn check_key(v: &[u8]) -> Result<String, RequestError> {
    let err = |reason| RequestError::InvalidKey {
        found: lossy_cut(v),
        reason,
    };
    // 16 bytes are always 24 base64 characters; checking first keeps a huge
    // value from being decoded at all.
    if v.len() != 24 {
        return Err(err("not 24 characters long"));
    }
    let mut decoded = [0u8; 18];
    match base64::engine::general_purpose::STANDARD.decode_slice(v, &mut decoded) {
        Ok(16) => Ok(String::from_utf8_lossy(v).into_owned()),
        Ok(_) => Err(err("does not decode to 16 bytes")),
        Err(_) => Err(err("not canonical padded base64")),
    }
}

impl AcceptBuilder<'_, Http1> {
    /// The checked header list of the answer, in order.
    pub(crate) fn fields(&self) -> Result<Vec<(&str, String)>, BuildError> {
        // RFC 6455 §4.2.2 item 5.
        self.checked_fields(vec![
            ("Upgrade", "websocket".to_owned()),
            ("Connection", "Upgrade".to_owned()),
            (
                "Sec-WebSocket-Accept",
                super::accept_key(self.req.key().as_bytes()),
            ),
        ])
    }

    /// Writes the complete `101 Switching Protocols` head into `out`. After
    /// it, the connection speaks WebSocket frames (server role).
    ///
    /// # Errors
    /// [`BuildError::ProtocolNotOffered`],
    /// [`BuildError::ExtensionNotOffered`],
    /// [`BuildError::InvalidExtensionHeader`],
    /// [`BuildError::InvalidHeaderName`],
    /// [`BuildError::InvalidHeaderValue`] or
    /// [`BuildError::ReservedHeader`]; nothing is written then.
    pub fn encode(self, out: &mut impl bytes::BufMut) -> Result<(), BuildError> {
        let fields = self.fields()?;
        out.put_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
        crate::http1::put_header_lines(fields, out);
        out.put_slice(b"\r\n");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    fn parse(b: &[u8]) -> Result<Option<(Request, usize)>, RequestError> {
        parse_request(b, &Limits::default())
    }

    #[test]
    fn rfc6455_1_3_example_request() {
        let (req, used) = parse(GOOD).unwrap().unwrap();
        assert_eq!(used, GOOD.len());
        assert_eq!(req.method(), "GET");
        assert_eq!(req.path(), "/chat");
        assert_eq!(req.query(), None);
        assert_eq!(req.origin(), Some("http://example.com"));
        assert_eq!(req.protocols(), ["chat", "superchat"]);
        assert_eq!(req.key(), "dGhlIHNhbXBsZSBub25jZQ==");
        let mut out = Vec::new();
        req.accept().protocol("chat").encode(&mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    }

    #[test]
    fn keys_must_be_16_bytes_of_canonical_base64() {
        assert!(check_key(b"dGhlIHNhbXBsZSBub25jZQ==").is_ok());
        // 15 bytes (20 chars) and 17 bytes (24 chars, "=" once).
        assert!(check_key(b"AAAAAAAAAAAAAAAAAAAA").is_err());
        assert!(check_key(b"AAAAAAAAAAAAAAAAAAAAAAA=").is_err());
        // Non-canonical trailing bits.
        assert!(check_key(b"dGhlIHNhbXBsZSBub25jZR==").is_err());
        assert!(check_key(b"dGhlIHNhbXBsZSBub25jZQ!!").is_err());
    }

    #[test]
    fn accept_rejects_unoffered_extension_and_bad_headers() {
        let (req, _) = parse(GOOD).unwrap().unwrap();
        let mut out = Vec::new();
        assert!(matches!(
            req.accept()
                .extension("permessage-deflate")
                .encode(&mut out),
            Err(BuildError::ExtensionNotOffered { .. })
        ));
        assert!(matches!(
            req.accept()
                .header("Sec-WebSocket-Accept", "x")
                .encode(&mut out),
            Err(BuildError::ReservedHeader { .. })
        ));
        assert!(matches!(
            req.accept().header("X", "a\nb").encode(&mut out),
            Err(BuildError::InvalidHeaderValue { .. })
        ));
        assert!(out.is_empty());
    }
}
