//! Server role: check an extended CONNECT request (RFC 8441 §4, RFC 9220)
//! and build the `200` that opens the WebSocket (RFC 8441 §5).

use super::{
    CONNECT_PROTOCOL, ConnectReply, REQUEST_PSEUDO, collect, lossy_cut, malformed,
    no_connection_specific,
};
use crate::ws::handshake::extensions::ExtensionOffer;
use crate::ws::handshake::fields::{Fields, check_outgoing};
use crate::ws::handshake::{HandshakeError, Limits, negotiate};

/// Fields the 200 answer writes itself, or that HTTP/2 and HTTP/3 forbid.
const REPLY_RESERVED: &[&str] = &[
    "sec-websocket-protocol",
    "sec-websocket-extensions",
    "sec-websocket-accept",
    "sec-websocket-version",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "te",
];

/// Checks a WebSocket extended CONNECT request (RFC 8441 §4 over HTTP/2,
/// RFC 9220 over HTTP/3) from the fields the caller's stack decoded:
/// pseudo-headers first (`:method`, `:protocol`, `:scheme`, `:authority`,
/// `:path`), then the regular fields, names lowercase as on the wire.
///
/// The checks, in order: the field rules of HTTP/2 and HTTP/3 and
/// `limits` (field count and the RFC 9113 §6.5.2 size, which the stack
/// usually bounds already); no connection-specific field (`connection`,
/// `upgrade`, `keep-alive`, `proxy-connection`, `transfer-encoding`, `te`
/// other than `trailers`); `:method` `CONNECT` (else 405); `:protocol`
/// exactly `websocket`; `:scheme` `http` or `https` and a `:path` starting
/// with `/`; `:authority` present, without userinfo (and equal to `host`
/// if one was sent); `sec-websocket-version: 13` (else 400 with
/// `sec-websocket-version: 13`: 426 would need `Upgrade`, which HTTP/2
/// forbids); at most one `origin`; no content; then the offered
/// subprotocols and extensions, parsed as on HTTP/1.1. `sec-websocket-key` is ignored: `:protocol` replaces it
/// (RFC 8441 §5).
///
/// Answer with [`ConnectRequest::accept`] or, on error,
/// [`HandshakeError::connect_reply`].
///
/// # Errors
/// The first rule broken; its [`status`](HandshakeError::status) is the
/// HTTP status to answer with.
///
/// # Example
/// ```
/// use pushcodec::ws::handshake::{self, Limits};
///
/// // As an HTTP/2 stack hands over a browser's request.
/// let fields = [
///     (":method", "CONNECT"),
///     (":protocol", "websocket"),
///     (":scheme", "https"),
///     (":authority", "example.com"),
///     (":path", "/chat?room=7"),
///     ("sec-websocket-version", "13"),
///     ("sec-websocket-protocol", "chat.v2, chat.v1"),
///     ("origin", "https://example.com"),
/// ];
/// let req = handshake::check_connect_request(fields, &Limits::default())?;
/// assert_eq!(req.query(), Some("room=7"));
/// let reply = req.accept().protocol("chat.v1").build()?;
/// assert_eq!(reply.status(), 200);
/// assert_eq!(
///     reply.fields().collect::<Vec<_>>(),
///     [(":status", "200"), ("sec-websocket-protocol", "chat.v1")]
/// );
///
/// // A request without sec-websocket-version: 400, naming version 13.
/// let err = handshake::check_connect_request(fields.into_iter().take(5), &Limits::default())
///     .unwrap_err();
/// let reject = err.connect_reply();
/// assert_eq!(reject.status(), 400);
/// assert!(reject.headers().any(|h| h == ("sec-websocket-version", "13")));
/// # Ok::<(), handshake::HandshakeError>(())
/// ```
pub fn check_connect_request<N, V>(
    fields: impl IntoIterator<Item = (N, V)>,
    limits: &Limits,
) -> Result<ConnectRequest, HandshakeError>
where
    N: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let (pseudo, fields) = collect(fields, REQUEST_PSEUDO, limits)?;
    ConnectRequest::check(pseudo, fields)
}

/// A checked extended CONNECT request: the server's side of a WebSocket
/// over HTTP/2 or HTTP/3. Made by [`check_connect_request`] (or, with the
/// `http` feature, `check_http_connect_request`).
///
/// # Example
/// See [`check_connect_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    scheme: String,
    authority: String,
    path: String,
    fields: Fields,
    origin: Option<String>,
    protocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
}

impl ConnectRequest {
    /// The checks of [`check_connect_request`] after [`collect`], in order.
    fn check(pseudo: Vec<Option<String>>, fields: Fields) -> Result<Self, HandshakeError> {
        let mut pseudo = pseudo.into_iter();
        let mut next = || pseudo.next().flatten();
        let (method, protocol, scheme, authority, path) = (next(), next(), next(), next(), next());
        no_connection_specific(&fields)?;
        // RFC 9113 §8.3.1: every request has a :method.
        let Some(method) = method else {
            return Err(HandshakeError::MissingPseudoHeader {
                name: ":method",
                section: "RFC 9113 §8.3.1",
            });
        };
        // RFC 8441 §4: the WebSocket is a CONNECT (methods are case-sensitive).
        if method != "CONNECT" {
            return Err(HandshakeError::MethodNotConnect { method });
        }
        // RFC 8441 §4, §5: :protocol names the protocol, here "websocket".
        if protocol.as_deref() != Some(CONNECT_PROTOCOL) {
            return Err(HandshakeError::ConnectProtocolNotWebSocket { found: protocol });
        }
        // RFC 8441 §4: with :protocol, :scheme and :path MUST be present.
        let scheme = scheme.ok_or(HandshakeError::MissingPseudoHeader {
            name: ":scheme",
            section: "RFC 8441 §4",
        })?;
        if scheme != "http" && scheme != "https" {
            return Err(malformed(
                b":scheme",
                "must be http (ws) or https (wss) (RFC 8441 §5)",
            ));
        }
        let path = path.ok_or(HandshakeError::MissingPseudoHeader {
            name: ":path",
            section: "RFC 8441 §4",
        })?;
        // RFC 9113 §8.3.1: an http or https :path is absolute ("/" at least).
        if !path.starts_with('/') {
            return Err(malformed(
                b":path",
                "must start with '/' for http and https (RFC 9113 §8.3.1)",
            ));
        }
        // RFC 8441 §4 (RFC 9113 §8.3.1): the host lives in :authority.
        let authority = authority.ok_or(HandshakeError::MissingPseudoHeader {
            name: ":authority",
            section: "RFC 8441 §4",
        })?;
        if authority.contains('@') {
            return Err(malformed(
                b":authority",
                "must not hold userinfo for http and https (RFC 9113 §8.3.1)",
            ));
        }
        if let Some(host) = fields.single("Host")?
            && !host.eq_ignore_ascii_case(authority.as_bytes())
        {
            return Err(HandshakeError::InvalidHeader {
                name: "Host",
                reason: "differs from :authority (RFC 9113 §8.3.1)",
            });
        }
        // RFC 8441 §5 keeps RFC 6455 §4.2.1 item 6: exactly one version, 13.
        match fields.single("Sec-WebSocket-Version")? {
            Some(b"13") => {}
            other => {
                return Err(HandshakeError::ConnectUnsupportedVersion {
                    found: other.map(lossy_cut),
                });
            }
        }
        // RFC 6455 §4.2.1 item 7, as on HTTP/1.1.
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
        // RFC 9110 §9.3.6: a CONNECT request has no content; DATA frames
        // carry the WebSocket stream.
        if fields.all("Content-Length").any(|v| v != b"0") {
            return Err(HandshakeError::InvalidHeader {
                name: "Content-Length",
                reason: "a CONNECT request has no content (RFC 9110 §9.3.6)",
            });
        }
        // RFC 8441 §5: subprotocols and extensions as in RFC 6455.
        let protocols = negotiate::offered_protocols(fields.all("Sec-WebSocket-Protocol"))?;
        let extensions = negotiate::extension_list(fields.all("Sec-WebSocket-Extensions"))?;
        Ok(ConnectRequest {
            scheme,
            authority,
            path,
            fields,
            origin,
            protocols,
            extensions,
        })
    }

    /// `:scheme`: `https` for a `wss` URI, `http` for `ws`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// `:authority`: the host, with its port if not the default.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// `:path`: path and query as sent (`/chat?room=7`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query, without its `?`, if the path has one.
    pub fn query(&self) -> Option<&str> {
        self.path.split_once('?').map(|(_, q)| q)
    }

    /// The `origin` field, sent by browsers; a server that serves browsers
    /// should check it (RFC 6455 §10.2).
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The offered subprotocols, in the client's order of preference.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The offered extensions, in order.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// The first value of field `name` (ASCII case-insensitive), if UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.fields.first_str(name)
    }

    /// Every regular field (no pseudo-headers), in the order received.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter()
    }

    /// Starts the `200` answer that opens the WebSocket.
    #[must_use]
    pub fn accept(&self) -> ConnectAcceptBuilder<'_> {
        ConnectAcceptBuilder {
            req: self,
            protocol: None,
            extensions: Vec::new(),
            headers: Vec::new(),
        }
    }
}

/// Builds the `200` answer to a [`ConnectRequest`] (RFC 8441 §5): an
/// optional subprotocol, extensions and extra fields, checked by
/// [`build`](Self::build). It never carries `sec-websocket-accept`,
/// `upgrade` or `connection`.
///
/// # Example
/// See [`check_connect_request`].
#[derive(Debug, Clone)]
pub struct ConnectAcceptBuilder<'a> {
    req: &'a ConnectRequest,
    protocol: Option<String>,
    extensions: Vec<String>,
    headers: Vec<(String, String)>,
}

impl ConnectAcceptBuilder<'_> {
    /// Selects the subprotocol; it must be one the client offered. A later
    /// call replaces an earlier one.
    #[must_use]
    pub fn protocol(mut self, p: &str) -> Self {
        self.protocol = Some(p.to_owned());
        self
    }

    /// Adds a `sec-websocket-extensions` element (e.g.
    /// `permessage-deflate; server_no_context_takeover`); it must parse per
    /// RFC 6455 §9.1 and name an extension the client offered.
    #[must_use]
    pub fn extension(mut self, value: &str) -> Self {
        self.extensions.push(value.to_owned());
        self
    }

    /// Adds a field (e.g. `set-cookie`); its name is sent lowercase.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The checked answer: `:status 200` and its fields, names lowercase.
    /// The stream then carries WebSocket frames (server role); send the
    /// answer without ending the stream and without content-length.
    ///
    /// # Errors
    /// [`HandshakeError::ProtocolNotOffered`],
    /// [`HandshakeError::ExtensionNotOffered`],
    /// [`HandshakeError::InvalidExtensionHeader`],
    /// [`HandshakeError::InvalidHeaderName`],
    /// [`HandshakeError::InvalidHeaderValue`] or
    /// [`HandshakeError::ReservedHeader`] (a field the answer writes itself
    /// or that HTTP/2 forbids).
    pub fn build(self) -> Result<ConnectReply, HandshakeError> {
        let mut headers: Vec<(String, String)> = negotiate::answer_fields(
            &self.req.protocols,
            &self.req.extensions,
            self.protocol.as_deref(),
            &self.extensions,
        )?
        .into_iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v))
        .collect();
        for (name, value) in self.headers {
            check_outgoing(&name, &value, REPLY_RESERVED)?;
            headers.push((name.to_ascii_lowercase(), value));
        }
        Ok(ConnectReply::new(200, headers, String::new()))
    }
}
