//! Extended CONNECT (RFC 8441 for HTTP/2, RFC 9220 for HTTP/3): the opening
//! handshake of a WebSocket carried on one request stream, for both roles.
//!
//! The caller's HTTP/2 or HTTP/3 stack has already decoded the header block
//! (HPACK or QPACK); these checks take its fields as `(name, value)` pairs,
//! pseudo-headers included, and share subprotocol and extension negotiation
//! with the HTTP/1.1 path ([`negotiate`](super::negotiate)). The module docs of
//! [`handshake`](super) tell how the stream maps to `Connection`.

use super::extensions::ExtensionOffer;
use super::fields::{Fields, check_outgoing, is_field_value, is_token};
use super::{ClientHandshake, HandshakeError, Limits, negotiate};
use crate::ws::RandomSource;

/// The `:protocol` value that asks for a WebSocket (RFC 8441 §4, from the
/// HTTP Upgrade Token Registry).
pub const CONNECT_PROTOCOL: &str = "websocket";

/// Pseudo-headers a request may carry, in this order in [`collect`]'s
/// output (RFC 9113 §8.3.1, RFC 8441 §4).
const REQUEST_PSEUDO: &[&str] = &[":method", ":protocol", ":scheme", ":authority", ":path"];

/// The one pseudo-header of a response (RFC 9113 §8.3.2).
const RESPONSE_PSEUDO: &[&str] = &[":status"];

/// Fields that are malformed in HTTP/2 and HTTP/3 messages (RFC 9113
/// §8.2.2, RFC 9114 §4.2); `te` too unless its value is `trailers`.
const CONNECTION_SPECIFIC: &[&str] = &[
    "connection",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
];

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

/// Fields a rejection may not carry: its framing is the stack's, and
/// HTTP/2 and HTTP/3 forbid the connection-specific ones.
const REJECT_RESERVED: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "te",
];

/// Fields a client may not add besides those [`ClientHandshake`] refuses:
/// the connection-specific ones HTTP/2 and HTTP/3 forbid.
const REQUEST_RESERVED: &[&str] = &["keep-alive", "proxy-connection", "te"];

/// No limits: for header maps that the caller's HTTP stack already bounded
/// (its `SETTINGS_MAX_HEADER_LIST_SIZE`).
#[cfg(feature = "http")]
pub(crate) const UNLIMITED: Limits = Limits {
    max_head_bytes: usize::MAX,
    max_headers: usize::MAX,
};

fn lossy_cut(v: &[u8]) -> String {
    String::from_utf8_lossy(&v[..v.len().min(64)]).into_owned()
}

fn malformed(name: &[u8], reason: &'static str) -> HandshakeError {
    HandshakeError::MalformedField {
        name: lossy_cut(name),
        reason,
    }
}

/// Splits a decoded field section into its pseudo-headers (by position in
/// `allowed`) and its regular fields, checking the HTTP/2 and HTTP/3 field
/// rules and the limits on the way.
fn collect<N, V>(
    input: impl IntoIterator<Item = (N, V)>,
    allowed: &'static [&'static str],
    limits: &Limits,
) -> Result<(Vec<Option<String>>, Fields), HandshakeError>
where
    N: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let mut pseudo: Vec<Option<String>> = vec![None; allowed.len()];
    let mut fields = Fields::default();
    let (mut count, mut size, mut regular_seen) = (0usize, 0usize, false);
    for (name, value) in input {
        let (name, value) = (name.as_ref(), value.as_ref());
        count += 1;
        if count > limits.max_headers {
            return Err(HandshakeError::TooManyHeaders {
                limit: limits.max_headers,
            });
        }
        // RFC 9113 §6.5.2: a field costs its name, its value and 32 bytes.
        size = size
            .saturating_add(name.len())
            .saturating_add(value.len())
            .saturating_add(32);
        if size > limits.max_head_bytes {
            return Err(HandshakeError::FieldSectionTooLarge {
                limit: limits.max_head_bytes,
            });
        }
        if name.first() == Some(&b':') {
            if regular_seen {
                return Err(malformed(
                    name,
                    "pseudo-header after a regular field (RFC 9113 §8.3)",
                ));
            }
            let Some(slot) = allowed
                .iter()
                .position(|a| a.as_bytes() == name)
                .and_then(|i| pseudo.get_mut(i))
            else {
                return Err(malformed(
                    name,
                    "pseudo-header not defined for this message (RFC 9113 §8.3)",
                ));
            };
            if slot.is_some() {
                return Err(malformed(
                    name,
                    "pseudo-header appears twice (RFC 9113 §8.3)",
                ));
            }
            // Methods, schemes, authorities, paths, protocols and statuses
            // are all visible ASCII (RFC 9110 §9.1, RFC 3986, §15).
            match std::str::from_utf8(value) {
                Ok(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic()) => {
                    *slot = Some(v.to_owned());
                }
                _ => {
                    return Err(malformed(
                        name,
                        "pseudo-header value is empty or not visible ASCII (RFC 9113 §8.3)",
                    ));
                }
            }
        } else {
            regular_seen = true;
            if !is_token(name) || name.iter().any(u8::is_ascii_uppercase) {
                return Err(malformed(
                    name,
                    "field name is not a lowercase token (RFC 9113 §8.2.1, RFC 9114 §4.2)",
                ));
            }
            if !is_field_value(value) {
                return Err(malformed(
                    name,
                    "field value holds NUL, CR, LF or another control (RFC 9113 §8.2.1)",
                ));
            }
            // A token is ASCII, so this never falls back.
            fields.push(std::str::from_utf8(name).unwrap_or_default(), value);
        }
    }
    Ok((pseudo, fields))
}

/// RFC 9113 §8.2.2, RFC 9114 §4.2: a message with a connection-specific
/// field is malformed (names are lowercase once through [`collect`]).
fn no_connection_specific(fields: &Fields) -> Result<(), HandshakeError> {
    match fields
        .iter()
        .find(|(n, v)| CONNECTION_SPECIFIC.contains(n) || (*n == "te" && *v != b"trailers"))
    {
        Some((name, _)) => Err(HandshakeError::ConnectionSpecificHeader {
            name: name.to_owned(),
        }),
        None => Ok(()),
    }
}

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
/// with `/`; `:authority` present (and equal to `host` if one was sent);
/// `sec-websocket-version: 13` (else 400 with `sec-websocket-version: 13`:
/// 426 would need `Upgrade`, which HTTP/2 forbids); at most one `origin`;
/// no content; then the offered subprotocols and extensions, parsed as on
/// HTTP/1.1. `sec-websocket-key` is ignored: `:protocol` replaces it
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

/// A server's answer to an extended CONNECT, for the caller's HTTP/2 or
/// HTTP/3 stack: the `200` that opens the WebSocket
/// ([`ConnectAcceptBuilder::build`]) or a rejection
/// ([`HandshakeError::connect_reply`], [`connect_reject`]).
///
/// Field names are lowercase, as HTTP/2 and HTTP/3 require; no
/// connection-specific field is ever included.
///
/// # Example
/// ```
/// use pushcodec::ws::handshake::connect_reject;
/// let reply = connect_reject(403, "origin not allowed", &[("x-reason", "origin")])?;
/// assert_eq!(reply.status(), 403);
/// assert_eq!(
///     reply.fields().collect::<Vec<_>>(),
///     [
///         (":status", "403"),
///         ("x-reason", "origin"),
///         ("content-type", "text/plain; charset=utf-8"),
///     ]
/// );
/// assert_eq!(reply.body(), "origin not allowed\n");
/// # Ok::<(), pushcodec::ws::handshake::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectReply {
    status: u16,
    status_text: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl ConnectReply {
    fn new(status: u16, headers: Vec<(String, String)>, body: String) -> Self {
        ConnectReply {
            status,
            status_text: status.to_string(),
            headers,
            body,
        }
    }

    /// The status: 200 to open the WebSocket, else a rejection.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The regular fields, in order, names lowercase.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The whole field section: `:status` first, then
    /// [`headers`](Self::headers), as an HTTP/3 stack such as quiche takes it.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        std::iter::once((":status", self.status_text.as_str())).chain(self.headers())
    }

    /// The content to send after the fields: empty for the `200` (the
    /// stream then carries WebSocket frames), the reason as plain text for
    /// a rejection.
    pub fn body(&self) -> &str {
        &self.body
    }
}

fn plain_reject(status: u16, reason: &str, mut headers: Vec<(String, String)>) -> ConnectReply {
    let body = if reason.is_empty() {
        String::new()
    } else {
        headers.push((
            "content-type".to_owned(),
            "text/plain; charset=utf-8".to_owned(),
        ));
        format!("{reason}\n")
    };
    ConnectReply::new(status, headers, body)
}

/// A rejection of the application's own (authentication failed, origin
/// not allowed) for an extended CONNECT: `status`, the extra fields (names
/// sent lowercase) and `reason` as a `text/plain` body (none if empty). The
/// HTTP/2 or HTTP/3 equivalent of [`encode_reject`](super::encode_reject).
///
/// # Errors
/// [`HandshakeError::InvalidStatus`] unless `status` is 300–599;
/// [`HandshakeError::InvalidHeaderName`] / [`HandshakeError::InvalidHeaderValue`]
/// for a field that is not a token or holds a control character;
/// [`HandshakeError::ReservedHeader`] for `content-length` or a
/// connection-specific field.
///
/// # Example
/// See [`ConnectReply`].
pub fn connect_reject(
    status: u16,
    reason: &str,
    extra_headers: &[(&str, &str)],
) -> Result<ConnectReply, HandshakeError> {
    if !(300..=599).contains(&status) {
        return Err(HandshakeError::InvalidStatus { status });
    }
    let mut headers = Vec::with_capacity(extra_headers.len() + 1);
    for (name, value) in extra_headers {
        check_outgoing(name, value, REJECT_RESERVED)?;
        headers.push((name.to_ascii_lowercase(), (*value).to_owned()));
    }
    Ok(plain_reject(status, reason, headers))
}

impl HandshakeError {
    /// The rejection for this error over HTTP/2 or HTTP/3: its
    /// [`status`](Self::status) (but 400 for 426, whose required `Upgrade`
    /// field HTTP/2 forbids), the fields the status requires
    /// (`sec-websocket-version: 13`, `allow: CONNECT`) and the message as a
    /// `text/plain` body. Send it and end the stream.
    pub fn connect_reply(&self) -> ConnectReply {
        let status = match self.status() {
            426 => 400,
            s => s,
        };
        let headers = self
            .extra_headers()
            .iter()
            .filter(|(n, _)| {
                !CONNECTION_SPECIFIC
                    .iter()
                    .any(|c| n.eq_ignore_ascii_case(c))
            })
            .map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned()))
            .collect();
        plain_reject(status, &self.to_string(), headers)
    }
}

/// Where the client's key would come from: nowhere. RFC 8441 §5 drops
/// `Sec-WebSocket-Key`, so the inner [`ClientHandshake`]'s key is never sent
/// and need not be random.
struct NoKey;

impl RandomSource for NoKey {
    fn fill(&mut self, buf: &mut [u8]) {
        buf.fill(0);
    }
}

/// A client's extended CONNECT handshake (RFC 8441 over HTTP/2, RFC 9220
/// over HTTP/3): builds the request fields from a `ws`/`wss` URI and checks
/// the answer. There is no key and no accept: `:protocol` replaces them.
///
/// Send the request only once the server's SETTINGS carried
/// `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1` (RFC 8441 §3); the caller's stack
/// knows (hyper: `SendRequest::is_extended_connect_protocol_enabled`) and
/// says so to [`request_fields`](Self::request_fields).
///
/// The builder methods are those of [`ClientHandshake`], with the same
/// checks, and the same panics for values that cannot be valid.
///
/// # Example
/// ```
/// use pushcodec::ws::handshake::{ConnectHandshake, HandshakeError};
///
/// let hs = ConnectHandshake::new("wss://example.com/chat?room=7").protocols(&["chat"]);
/// // Refused until the peer's SETTINGS enabled extended CONNECT.
/// assert_eq!(hs.request_fields(false), Err(HandshakeError::ConnectProtocolNotEnabled));
/// let fields = hs.request_fields(true)?;
/// assert_eq!(
///     fields[..6],
///     [
///         (":method".to_owned(), "CONNECT".to_owned()),
///         (":protocol".into(), "websocket".into()),
///         (":scheme".into(), "https".into()),
///         (":authority".into(), "example.com".into()),
///         (":path".into(), "/chat?room=7".into()),
///         ("sec-websocket-version".into(), "13".into()),
///     ]
/// );
/// let resp = hs.check_response([(":status", "200"), ("sec-websocket-protocol", "chat")])?;
/// assert_eq!(resp.protocol(), Some("chat"));
/// // Exactly 200 (RFC 8441 §5): not 101, not 204.
/// assert!(matches!(
///     hs.check_response([(":status", "204")]),
///     Err(HandshakeError::UnexpectedConnectStatus { status: 204, .. })
/// ));
/// # Ok::<(), HandshakeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ConnectHandshake {
    inner: ClientHandshake,
    scheme: &'static str,
    authority: String,
    path: String,
    require_protocol: bool,
    limits: Limits,
}

impl ConnectHandshake {
    /// A handshake for a `ws://` or `wss://` URI (`http` and `https` are
    /// taken as their WebSocket schemes, as browsers do).
    ///
    /// # Panics
    /// If the URI cannot be valid (see [`try_new`](Self::try_new)).
    pub fn new(uri: &str) -> Self {
        match Self::try_new(uri) {
            Ok(hs) => hs,
            Err(e) => panic!("{e}"),
        }
    }

    /// As [`new`](Self::new), for a URI from outside the program.
    ///
    /// # Errors
    /// [`HandshakeError::InvalidRequestPart`] if the scheme is not `ws`,
    /// `wss`, `http` or `https`, if the URI has a fragment (RFC 6455 §3) or
    /// userinfo, or if host or path hold anything but visible ASCII.
    pub fn try_new(uri: &str) -> Result<Self, HandshakeError> {
        let err = |reason| HandshakeError::InvalidRequestPart {
            what: "uri",
            reason,
        };
        let (scheme, rest) = uri
            .split_once("://")
            .ok_or(err("not an absolute ws:// or wss:// URI (RFC 6455 §3)"))?;
        // RFC 8441 §5: https for wss, http for ws.
        let scheme = if scheme.eq_ignore_ascii_case("wss") || scheme.eq_ignore_ascii_case("https") {
            "https"
        } else if scheme.eq_ignore_ascii_case("ws") || scheme.eq_ignore_ascii_case("http") {
            "http"
        } else {
            return Err(err("the scheme must be ws or wss (RFC 6455 §3)"));
        };
        if rest.contains('#') {
            return Err(err("a WebSocket URI has no fragment (RFC 6455 §3)"));
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        let path = match path.as_bytes().first() {
            None => "/".to_owned(),
            Some(b'?') => format!("/{path}"),
            Some(_) => path.to_owned(),
        };
        let inner = ClientHandshake::try_new(authority, &path, &mut NoKey)?;
        Ok(ConnectHandshake {
            inner,
            scheme,
            authority: authority.to_owned(),
            path,
            require_protocol: false,
            limits: Limits::new(),
        })
    }

    /// Offers these subprotocols, in order of preference.
    ///
    /// # Panics
    /// As [`ClientHandshake::protocols`].
    #[must_use]
    pub fn protocols(mut self, p: &[&str]) -> Self {
        self.inner = self.inner.protocols(p);
        self
    }

    /// Sends `origin`, as browsers do.
    ///
    /// # Panics
    /// As [`ClientHandshake::origin`].
    #[must_use]
    pub fn origin(mut self, o: &str) -> Self {
        self.inner = self.inner.origin(o);
        self
    }

    /// Offers an extension (`permessage-deflate; client_max_window_bits`).
    ///
    /// # Panics
    /// As [`ClientHandshake::extension`].
    #[must_use]
    pub fn extension(mut self, offer: &str) -> Self {
        self.inner = self.inner.extension(offer);
        self
    }

    /// Adds a field (`authorization`, `cookie`, ...), sent lowercase.
    ///
    /// # Panics
    /// Where [`try_header`](Self::try_header) returns an error.
    #[must_use]
    pub fn header(self, name: &str, value: &str) -> Self {
        match self.try_header(name, value) {
            Ok(hs) => hs,
            Err(e) => panic!("{e}"),
        }
    }

    /// Adds a field whose name or value comes from outside the program.
    ///
    /// # Errors
    /// As [`ClientHandshake::try_header`], and
    /// [`HandshakeError::ReservedHeader`] for the connection-specific fields
    /// HTTP/2 forbids (`keep-alive`, `proxy-connection`, `te`).
    pub fn try_header(mut self, name: &str, value: &str) -> Result<Self, HandshakeError> {
        check_outgoing(name, value, REQUEST_RESERVED)?;
        self.inner = self.inner.try_header(name, value)?;
        Ok(self)
    }

    /// With `yes`, fail when subprotocols were offered and the server
    /// selected none (the WHATWG rule). Default `false`.
    #[must_use]
    pub fn require_protocol(mut self, yes: bool) -> Self {
        self.inner = self.inner.require_protocol(yes);
        self.require_protocol = yes;
        self
    }

    /// Limits for the response's field section (default
    /// [`Limits::default`]; `max_head_bytes` bounds its RFC 9113 §6.5.2 size).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// `:scheme`: `https` for `wss`, `http` for `ws`.
    pub fn scheme(&self) -> &str {
        self.scheme
    }

    /// `:authority`: host and port as in the URI.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// `:path`: path and query (`/` if the URI had none).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The subprotocols offered, in order of preference.
    pub fn offered_protocols(&self) -> &[String] {
        self.inner.offered_protocols()
    }

    /// The extension elements offered, in order of preference.
    pub fn offered_extensions(&self) -> &[ExtensionOffer] {
        self.inner.offered_extensions()
    }

    /// The regular fields of the request, names lowercase.
    pub(crate) fn regular_fields(&self) -> Vec<(String, String)> {
        self.inner
            .fields()
            .into_iter()
            // RFC 8441 §4, §5: no Host (:authority), no Upgrade or
            // Connection (forbidden in HTTP/2), no key.
            .filter(|(n, _)| {
                !["host", "upgrade", "connection", "sec-websocket-key"]
                    .iter()
                    .any(|r| n.eq_ignore_ascii_case(r))
            })
            .map(|(n, v)| (n.to_ascii_lowercase(), v))
            .collect()
    }

    /// The request's whole field section: `:method CONNECT`, `:protocol
    /// websocket`, `:scheme`, `:authority`, `:path`, then
    /// `sec-websocket-version: 13` and the offers and extra fields, names
    /// lowercase. Send it on a new stream without ending it.
    ///
    /// # Errors
    /// [`HandshakeError::ConnectProtocolNotEnabled`] unless
    /// `connect_protocol_enabled`: whether the server's SETTINGS carried
    /// `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1` (RFC 8441 §3: a client MUST
    /// NOT send `:protocol` before that).
    pub fn request_fields(
        &self,
        connect_protocol_enabled: bool,
    ) -> Result<Vec<(String, String)>, HandshakeError> {
        if !connect_protocol_enabled {
            return Err(HandshakeError::ConnectProtocolNotEnabled);
        }
        let mut out = vec![
            (":method".to_owned(), "CONNECT".to_owned()),
            (":protocol".to_owned(), CONNECT_PROTOCOL.to_owned()),
            (":scheme".to_owned(), self.scheme.to_owned()),
            (":authority".to_owned(), self.authority.clone()),
            (":path".to_owned(), self.path.clone()),
        ];
        out.extend(self.regular_fields());
        Ok(out)
    }

    /// Checks the server's answer from the fields the stack decoded,
    /// `:status` first.
    ///
    /// # Errors
    /// In order: the field rules and limits (as for
    /// [`check_connect_request`]), [`HandshakeError::MissingPseudoHeader`]
    /// for `:status`, [`HandshakeError::UnexpectedConnectStatus`] unless it
    /// is exactly 200 (RFC 8441 §5), `ConnectionSpecificHeader`, then as
    /// RFC 6455 §4.1 items 5 and 6: `UnexpectedExtension`,
    /// `UnexpectedProtocol`, `MissingProtocol`. A `sec-websocket-accept`
    /// is ignored.
    pub fn check_response<N, V>(
        &self,
        fields: impl IntoIterator<Item = (N, V)>,
    ) -> Result<ConnectResponse, HandshakeError>
    where
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let (pseudo, fields) = collect(fields, RESPONSE_PSEUDO, &self.limits)?;
        // RFC 9113 §8.3.2: every response has a :status.
        let status = match pseudo.into_iter().next().flatten() {
            None => {
                return Err(HandshakeError::MissingPseudoHeader {
                    name: ":status",
                    section: "RFC 9113 §8.3.2",
                });
            }
            Some(s) => match s.parse::<u16>() {
                Ok(n) if s.len() == 3 && (100..=599).contains(&n) => n,
                _ => {
                    return Err(malformed(
                        b":status",
                        "not a three-digit status code (RFC 9110 §15)",
                    ));
                }
            },
        };
        let mut resp = ConnectResponse {
            status,
            fields,
            protocol: None,
            extensions: Vec::new(),
        };
        // RFC 8441 §5: "any status code other than 200" fails the handshake.
        if status != 200 {
            return Err(HandshakeError::UnexpectedConnectStatus {
                status,
                response: Box::new(resp),
            });
        }
        no_connection_specific(&resp.fields)?;
        let f = &resp.fields;
        // RFC 6455 §4.1 item 5, then item 6 (RFC 8441 §5 keeps both).
        let extensions = negotiate::accepted_extensions(
            f.all("Sec-WebSocket-Extensions"),
            self.offered_extensions(),
        )?;
        let protocol = negotiate::selected_protocol(
            f.all("Sec-WebSocket-Protocol"),
            self.offered_protocols(),
            self.require_protocol,
        )?;
        resp.extensions = extensions;
        resp.protocol = protocol;
        Ok(resp)
    }
}

/// A server's answer to a [`ConnectHandshake`]. Once returned by
/// [`ConnectHandshake::check_response`] it passed every check: the stream
/// speaks WebSocket (client role), with [`protocol`](Self::protocol) and
/// [`extensions`](Self::extensions) in force. Inside
/// [`HandshakeError::UnexpectedConnectStatus`] only the status and fields
/// are filled in.
///
/// # Example
/// See [`ConnectHandshake`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectResponse {
    status: u16,
    fields: Fields,
    protocol: Option<String>,
    extensions: Vec<ExtensionOffer>,
}

impl ConnectResponse {
    /// The status (200 once accepted).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The subprotocol the server selected, one of those offered.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The extensions the server accepted, each among the names offered.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// The first value of field `name` (ASCII case-insensitive), if UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.fields.first_str(name)
    }

    /// Every regular field, in the order received.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_is_counted_as_rfc9113_6_5_2() {
        // Two fields of 1 + 1 bytes each cost 68 bytes.
        let limits = Limits {
            max_head_bytes: 67,
            max_headers: 64,
        };
        let two = [("a", "b"), ("c", "d")];
        assert_eq!(
            collect(two, REQUEST_PSEUDO, &limits).unwrap_err(),
            HandshakeError::FieldSectionTooLarge { limit: 67 }
        );
        let limits = Limits {
            max_head_bytes: 68,
            ..limits
        };
        assert!(collect(two, REQUEST_PSEUDO, &limits).is_ok());
    }

    #[test]
    fn pseudo_headers_land_in_their_slots() {
        let (p, f) = collect(
            [(":path", "/x"), (":method", "CONNECT"), ("a", "1")],
            REQUEST_PSEUDO,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(
            p,
            [Some("CONNECT".into()), None, None, None, Some("/x".into())]
        );
        assert_eq!(f.iter().collect::<Vec<_>>(), [("a", &b"1"[..])]);
    }

    #[test]
    fn uri_forms() {
        let hs = ConnectHandshake::new("WS://h:8080?q=1");
        assert_eq!(
            (hs.scheme(), hs.authority(), hs.path()),
            ("http", "h:8080", "/?q=1")
        );
        let hs = ConnectHandshake::new("https://[::1]");
        assert_eq!(
            (hs.scheme(), hs.authority(), hs.path()),
            ("https", "[::1]", "/")
        );
        for bad in [
            "ftp://h/",
            "h/x",
            "wss://h/#f",
            "wss://u@h/",
            "wss:///x",
            "wss://h/a b",
        ] {
            assert!(ConnectHandshake::try_new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reply_for_an_http1_error_drops_upgrade() {
        let r = HandshakeError::UnsupportedVersion { found: None }.connect_reply();
        assert_eq!(r.status(), 400);
        assert_eq!(
            r.headers().map(|(n, _)| n).collect::<Vec<_>>(),
            ["sec-websocket-version", "content-type"]
        );
    }
}
