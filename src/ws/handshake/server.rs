//! Server role: check a client's opening handshake (RFC 6455 §4.2.1) and
//! build the 101 answer (§4.2.2).

use base64::Engine as _;

use super::extensions::ExtensionOffer;
use super::fields::{Fields, check_outgoing};
use super::{HandshakeError, Limits, negotiate};
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
/// A [`HandshakeError`] whose [`status`](HandshakeError::status) and
/// [`encode_response`](HandshakeError::encode_response) give the answer.
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
) -> Result<Option<(Request, usize)>, HandshakeError> {
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

/// A client's opening handshake that passed every RFC 6455 §4.2.1 check.
///
/// Everything a server needs to decide whether to accept: the path and
/// query, `Origin`, the offered subprotocols and extensions and every other
/// header (cookies, `Authorization`), so it can authenticate by cookie,
/// query token or the bearer-in-subprotocol convention.
/// Answer with [`Request::accept`], or refuse with
/// [`encode_reject`](super::encode_reject).
///
/// # Example
/// ```
/// use pushcodec::ws::handshake::{self, Limits};
/// let raw = b"GET /feed?token=abc HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\n\
///             Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///             Sec-WebSocket-Version: 13\r\nOrigin: https://h\r\nCookie: s=1\r\n\
///             Sec-WebSocket-Protocol: v1.bearer.xyz, v1\r\n\r\n";
/// let (req, _) = handshake::parse_request(raw, &Limits::default())?.unwrap();
/// assert_eq!(req.query(), Some("token=abc"));
/// assert_eq!(req.origin(), Some("https://h"));
/// assert_eq!(req.header("cookie"), Some("s=1"));
/// assert_eq!(req.protocols(), ["v1.bearer.xyz", "v1"]);
/// let mut out = Vec::new();
/// req.accept().protocol("v1").encode(&mut out)?;
/// assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
/// # Ok::<(), handshake::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: String,
    path: String,
    fields: Fields,
    host: String,
    origin: Option<String>,
    key: String,
    protocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
}

impl Request {
    /// RFC 6455 §4.2.1, in its order. Shared by every way of receiving a
    /// request (httparse here, the `http` crate's types with that feature).
    pub(crate) fn check(
        method: String,
        path: String,
        version: &str,
        fields: Fields,
    ) -> Result<Self, HandshakeError> {
        // §4.2.1 item 1: "An HTTP/1.1 or higher GET request". Methods are
        // case-sensitive (RFC 9110 §9.1).
        if method != "GET" {
            return Err(HandshakeError::MethodNotGet { method });
        }
        if version != "HTTP/1.1" {
            return Err(HandshakeError::HttpVersion {
                version: version.to_owned(),
            });
        }
        // §4.2.1 item 2; RFC 9112 §3.2: exactly one Host.
        let host = match fields.single("Host")? {
            None => return Err(HandshakeError::MissingHost),
            Some(v) => std::str::from_utf8(v)
                .ok()
                .filter(|h| !h.is_empty())
                .ok_or(HandshakeError::InvalidHeader {
                    name: "Host",
                    reason: "empty or not UTF-8 (RFC 6455 §4.2.1 item 2)",
                })?
                .to_owned(),
        };
        // §4.2.1 item 3: Upgrade holds "websocket", ASCII case-insensitive.
        if !fields.list_has_token("Upgrade", "websocket") {
            return Err(HandshakeError::UpgradeNotWebSocket {
                found: fields.joined_lossy("Upgrade"),
                section: "§4.2.1 item 3",
            });
        }
        // §4.2.1 item 4: Connection holds the token "Upgrade", among others
        // (Firefox sends "keep-alive, Upgrade").
        if !fields.list_has_token("Connection", "upgrade") {
            return Err(HandshakeError::ConnectionNotUpgrade {
                found: fields.joined_lossy("Connection"),
                section: "§4.2.1 item 4",
            });
        }
        // §4.2.1 item 5 and §11.3.1: one key, base64 of 16 bytes.
        let key = match fields.single("Sec-WebSocket-Key")? {
            None => return Err(HandshakeError::MissingKey),
            Some(v) => check_key(v)?,
        };
        // §4.2.1 item 6; §11.3.5: at most once in a request.
        match fields.single("Sec-WebSocket-Version")? {
            Some(b"13") => {}
            other => {
                return Err(HandshakeError::UnsupportedVersion {
                    found: other.map(lossy_cut),
                });
            }
        }
        // §4.2.1 item 7: Origin is optional; §10.2 leaves its policy to us.
        let origin = match fields.single("Origin")? {
            None => None,
            Some(v) => Some(
                std::str::from_utf8(v)
                    .map_err(|_| HandshakeError::InvalidHeader {
                        name: "Origin",
                        reason: "not UTF-8 (RFC 6454 §7)",
                    })?
                    .to_owned(),
            ),
        };
        // Not a §4.2.1 rule but its consequence: the handshake is a GET
        // without a body, and whatever follows the head is read as frames.
        // A body announced here would be framed differently by a proxy in
        // front of us (request smuggling, RFC 9112 §11.2), so refuse it.
        let body_reason = "a handshake request has no body (RFC 6455 §4.1, RFC 9112 §6)";
        if fields.all("Transfer-Encoding").next().is_some() {
            return Err(HandshakeError::InvalidHeader {
                name: "Transfer-Encoding",
                reason: body_reason,
            });
        }
        if fields.all("Content-Length").any(|v| v != b"0") {
            return Err(HandshakeError::InvalidHeader {
                name: "Content-Length",
                reason: body_reason,
            });
        }
        // §4.2.1 items 8 and 9: optional, but what is sent must parse.
        let protocols = negotiate::offered_protocols(fields.all("Sec-WebSocket-Protocol"))?;
        let extensions = negotiate::extension_list(fields.all("Sec-WebSocket-Extensions"))?;
        Ok(Request {
            method,
            path,
            fields,
            host,
            origin,
            key,
            protocols,
            extensions,
        })
    }

    /// The request method (always `GET` once checked).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target as sent: path and query (`/chat?room=7`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query, without its `?`, if the target has one.
    pub fn query(&self) -> Option<&str> {
        self.path.split_once('?').map(|(_, q)| q)
    }

    /// The `Host` header.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The `Origin` header, sent by browsers (RFC 6455 §4.2.1 item 7); a
    /// server that serves browsers should check it (§10.2).
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The `Sec-WebSocket-Key` as sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The offered subprotocols, in the client's order of preference,
    /// merged over every `Sec-WebSocket-Protocol` header.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The offered extensions, in order, over every
    /// `Sec-WebSocket-Extensions` header.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// The first value of header `name` (ASCII case-insensitive), without
    /// surrounding whitespace; `None` if absent or not UTF-8 (see
    /// [`headers`](Self::headers) for raw bytes).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.fields.first_str(name)
    }

    /// Every header, in the order received, with names as sent and raw
    /// values without surrounding whitespace.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter()
    }

    /// Starts the `101 Switching Protocols` answer to this request.
    #[must_use]
    pub fn accept(&self) -> AcceptBuilder<'_> {
        AcceptBuilder {
            req: self,
            protocol: None,
            extensions: Vec::new(),
            headers: Vec::new(),
        }
    }
}

/// The key as a string if it is the base64 of exactly 16 bytes.
fn check_key(v: &[u8]) -> Result<String, HandshakeError> {
    let err = |reason| HandshakeError::InvalidKey {
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

/// Headers the 101 answer writes itself.
const ACCEPT_RESERVED: &[&str] = &[
    "upgrade",
    "connection",
    "sec-websocket-accept",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
    "content-length",
    "transfer-encoding",
];

/// Builds the `101 Switching Protocols` answer to a [`Request`] (RFC 6455
/// §4.2.2): the accept key, an optional subprotocol, extensions and extra
/// headers. Everything is checked in [`encode`](Self::encode), which
/// writes nothing unless all of it is valid.
///
/// # Example
/// ```
/// # use pushcodec::ws::handshake::{self, Limits};
/// # let raw = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
/// #   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
/// #   Sec-WebSocket-Protocol: chat\r\n\r\n";
/// # let (req, _) = handshake::parse_request(raw, &Limits::default())?.unwrap();
/// let mut out = Vec::new();
/// req.accept().protocol("chat").header("Set-Cookie", "s=2").encode(&mut out)?;
/// assert_eq!(
///     out,
///     b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///       Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\
///       Set-Cookie: s=2\r\n\r\n"
/// );
/// // Only an offered subprotocol may be chosen.
/// assert!(req.accept().protocol("other").encode(&mut Vec::new()).is_err());
/// # Ok::<(), handshake::HandshakeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct AcceptBuilder<'a> {
    req: &'a Request,
    protocol: Option<String>,
    extensions: Vec<String>,
    headers: Vec<(String, String)>,
}

impl AcceptBuilder<'_> {
    /// Selects the subprotocol; it must be one the client offered
    /// ([`HandshakeError::ProtocolNotOffered`] otherwise). A later call
    /// replaces an earlier one.
    #[must_use]
    pub fn protocol(mut self, p: &str) -> Self {
        self.protocol = Some(p.to_owned());
        self
    }

    /// Adds a `Sec-WebSocket-Extensions` element (e.g.
    /// `permessage-deflate; server_no_context_takeover`). It must parse
    /// per RFC 6455 §9.1 and name an extension the client offered.
    #[must_use]
    pub fn extension(mut self, value: &str) -> Self {
        self.extensions.push(value.to_owned());
        self
    }

    /// Adds a header (e.g. `Set-Cookie`). The name must be a token, the
    /// value free of CR, LF and other controls, and neither may be one the
    /// handshake writes itself (`Upgrade`, `Connection`,
    /// `Sec-WebSocket-*`, `Content-Length`, `Transfer-Encoding`).
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The checked header list of the answer, in order.
    pub(crate) fn fields(&self) -> Result<Vec<(&str, String)>, HandshakeError> {
        let mut out = vec![
            ("Upgrade", "websocket".to_owned()),
            ("Connection", "Upgrade".to_owned()),
            (
                "Sec-WebSocket-Accept",
                super::accept_key(self.req.key.as_bytes()),
            ),
        ];
        out.extend(negotiate::answer_fields(
            &self.req.protocols,
            &self.req.extensions,
            self.protocol.as_deref(),
            &self.extensions,
        )?);
        for (name, value) in &self.headers {
            check_outgoing(name, value, ACCEPT_RESERVED)?;
            out.push((name.as_str(), value.clone()));
        }
        Ok(out)
    }

    /// Writes the complete `101 Switching Protocols` head into `out`. After
    /// it, the connection speaks WebSocket frames (server role).
    ///
    /// # Errors
    /// [`HandshakeError::ProtocolNotOffered`],
    /// [`HandshakeError::ExtensionNotOffered`],
    /// [`HandshakeError::InvalidExtensionHeader`],
    /// [`HandshakeError::InvalidHeaderName`],
    /// [`HandshakeError::InvalidHeaderValue`] or
    /// [`HandshakeError::ReservedHeader`]; nothing is written then.
    pub fn encode(self, out: &mut impl bytes::BufMut) -> Result<(), HandshakeError> {
        let fields = self.fields()?;
        let mut head = String::from("HTTP/1.1 101 Switching Protocols\r\n");
        for (name, value) in fields {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(&value);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        out.put_slice(head.as_bytes());
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

    fn parse(b: &[u8]) -> Result<Option<(Request, usize)>, HandshakeError> {
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
            Err(HandshakeError::ExtensionNotOffered { .. })
        ));
        assert!(matches!(
            req.accept()
                .header("Sec-WebSocket-Accept", "x")
                .encode(&mut out),
            Err(HandshakeError::ReservedHeader { .. })
        ));
        assert!(matches!(
            req.accept().header("X", "a\nb").encode(&mut out),
            Err(HandshakeError::InvalidHeaderValue { .. })
        ));
        assert!(out.is_empty());
    }
}
