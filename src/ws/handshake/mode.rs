//! What the two ways of opening a WebSocket share: the checked request, the
//! answer builder and the checked response, generic over how the handshake
//! is carried ([`Http1`]: the RFC 6455 §4 Upgrade; [`ExtendedConnect`]: RFC
//! 8441 over HTTP/2, RFC 9220 over HTTP/3). Each mode adds only what differs:
//! its checks, its own accessors (`key` / `scheme`) and how the answer is
//! written (`encode` / `build`).

use crate::prelude::*;
use core::marker::PhantomData;

use super::error::{BuildError, RequestError, ResponseError};
use super::extensions::ExtensionOffer;
use super::fields::{Fields, check_outgoing};
use super::negotiate;

mod sealed {
    pub trait Sealed {}
}

/// How a handshake is carried; implemented by [`Http1`] and
/// [`ExtendedConnect`] only.
pub trait Mode:
    sealed::Sealed + core::fmt::Debug + Clone + Copy + PartialEq + Eq + Default + 'static
{
    /// The request method this mode requires (`GET` / `CONNECT`).
    const METHOD: &'static str;
    /// Header names the server's answer writes itself, or that the mode
    /// forbids; a builder refuses them ([`BuildError::ReservedHeader`]).
    #[doc(hidden)]
    const ANSWER_RESERVED: &'static [&'static str];
}

/// The HTTP/1.1 Upgrade of RFC 6455 §4: `GET` with `Upgrade: websocket`,
/// answered by `101 Switching Protocols`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Http1;

/// The extended CONNECT of RFC 8441 (HTTP/2) and RFC 9220 (HTTP/3):
/// `CONNECT` with `:protocol websocket`, answered by `:status 200`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ExtendedConnect;

impl sealed::Sealed for Http1 {}
impl sealed::Sealed for ExtendedConnect {}

impl Mode for Http1 {
    const METHOD: &'static str = "GET";
    const ANSWER_RESERVED: &'static [&'static str] = &[
        "upgrade",
        "connection",
        "sec-websocket-accept",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
        "content-length",
        "transfer-encoding",
    ];
}

impl Mode for ExtendedConnect {
    const METHOD: &'static str = "CONNECT";
    // RFC 8441 §5: no accept; RFC 9113 §8.2.2, RFC 9114 §4.2: no
    // connection-specific field. The four sec-websocket-* names come first:
    // a rejection may carry them and reuses the rest of this list.
    const ANSWER_RESERVED: &'static [&'static str] = &[
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
}

/// A client's opening handshake that passed every check of its mode:
/// [`parse_request`](super::parse_request) (RFC 6455 §4.2.1) for
/// [`Http1`], [`check_connect_request`](super::check_connect_request)
/// (RFC 8441 §4) for [`ExtendedConnect`] (named
/// [`ConnectRequest`](super::ConnectRequest)).
///
/// Everything a server needs to decide whether to accept: the path and
/// query, `Origin`, the offered subprotocols and extensions and every other
/// header (cookies, `Authorization`), so it can authenticate by cookie,
/// query token or the bearer-in-subprotocol convention.
/// Answer with [`Request::accept`], or refuse with
/// [`encode_reject`](super::encode_reject) /
/// [`connect_reject`](super::connect_reject).
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
pub struct Request<M: Mode = Http1> {
    path: String,
    /// `Host` on HTTP/1.1, `:authority` on an extended CONNECT.
    authority: String,
    /// What ties the request to its mode: the `Sec-WebSocket-Key` on
    /// HTTP/1.1, the `:scheme` on an extended CONNECT.
    pub(crate) binding: String,
    fields: Fields,
    origin: Option<String>,
    pub(crate) protocols: Vec<String>,
    pub(crate) extensions: Vec<ExtensionOffer>,
    mode: PhantomData<M>,
}

impl<M: Mode> Request<M> {
    /// The checks both modes end with (RFC 6455 §4.2.1 items 7 to 9, which
    /// RFC 8441 §5 keeps): at most one UTF-8 `Origin`, then the syntax of
    /// the subprotocol and extension offers.
    pub(crate) fn offers(
        path: String,
        authority: String,
        binding: String,
        fields: Fields,
    ) -> Result<Self, RequestError> {
        // §4.2.1 item 7: Origin is optional; §10.2 leaves its policy to us.
        let origin = match fields.single("Origin")? {
            None => None,
            Some(v) => Some(
                core::str::from_utf8(v)
                    .map_err(|_| RequestError::InvalidHeader {
                        name: "Origin",
                        reason: "not UTF-8 (RFC 6454 §7)",
                    })?
                    .to_owned(),
            ),
        };
        let protocols = negotiate::offered_protocols(fields.all("Sec-WebSocket-Protocol"))?;
        let extensions = negotiate::extension_list(fields.all("Sec-WebSocket-Extensions"))?;
        Ok(Request {
            path,
            authority,
            binding,
            fields,
            origin,
            protocols,
            extensions,
            mode: PhantomData,
        })
    }

    /// The request method: always `GET` on HTTP/1.1 and `CONNECT` on an
    /// extended CONNECT once checked.
    pub fn method(&self) -> &str {
        M::METHOD
    }

    /// The request target as sent: path and query (`/chat?room=7`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query, without its `?`, if the target has one.
    pub fn query(&self) -> Option<&str> {
        self.path.split_once('?').map(|(_, q)| q)
    }

    /// The host: the `Host` header on HTTP/1.1 (RFC 6455 §4.2.1 item 2),
    /// `:authority` on an extended CONNECT (RFC 8441 §4), with its port if
    /// not the default.
    pub(crate) fn authority_str(&self) -> &str {
        &self.authority
    }

    /// The `Origin` header, sent by browsers (RFC 6455 §4.2.1 item 7); a
    /// server that serves browsers should check it (§10.2).
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
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

    /// Every regular header (no pseudo-headers), in the order received,
    /// with names as sent and raw values without surrounding whitespace.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter()
    }

    /// Starts the answer that opens the WebSocket: `101 Switching
    /// Protocols` on HTTP/1.1, `:status 200` on an extended CONNECT.
    #[must_use]
    pub fn accept(&self) -> AcceptBuilder<'_, M> {
        AcceptBuilder {
            req: self,
            protocol: None,
            extensions: Vec::new(),
            headers: Vec::new(),
        }
    }
}

/// Builds the answer that opens the WebSocket for a [`Request`] of either
/// mode: an optional subprotocol, extensions and extra headers, all checked
/// when it is written ([`encode`](AcceptBuilder::encode) on HTTP/1.1,
/// [`build`](AcceptBuilder::build) on an extended CONNECT), which writes
/// nothing unless all of it is valid.
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
pub struct AcceptBuilder<'a, M: Mode = Http1> {
    pub(crate) req: &'a Request<M>,
    protocol: Option<String>,
    extensions: Vec<String>,
    headers: Vec<(String, String)>,
}

impl<M: Mode> AcceptBuilder<'_, M> {
    /// Selects the subprotocol; it must be one the client offered
    /// ([`BuildError::ProtocolNotOffered`] otherwise). A later call
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
    /// answer writes itself (`Upgrade`, `Connection`, `Sec-WebSocket-*`,
    /// `Content-Length`, `Transfer-Encoding`) or, on an extended CONNECT,
    /// one HTTP/2 forbids. Over HTTP/2 and HTTP/3 the name is sent lowercase.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The checked negotiation fields and the caller's headers, in order,
    /// after the `lead` fields the mode writes first.
    pub(crate) fn checked_fields<'s>(
        &'s self,
        mut lead: Vec<(&'s str, String)>,
    ) -> Result<Vec<(&'s str, String)>, BuildError> {
        lead.extend(negotiate::answer_fields(
            &self.req.protocols,
            &self.req.extensions,
            self.protocol.as_deref(),
            &self.extensions,
        )?);
        for (name, value) in &self.headers {
            check_outgoing(name, value, M::ANSWER_RESERVED)?;
            lead.push((name.as_str(), value.clone()));
        }
        Ok(lead)
    }
}

/// A server's answer that passed every check of its mode: RFC 6455 §4.1
/// for [`Http1`] ([`ClientHandshake::parse_response`](super::ClientHandshake::parse_response)),
/// RFC 8441 §5 for [`ExtendedConnect`]
/// ([`ConnectHandshake::check_response`](super::ConnectHandshake::check_response),
/// named [`ConnectResponse`](super::ConnectResponse)). The connection
/// speaks WebSocket (client role), with [`protocol`](Self::protocol) and
/// [`extensions`](Self::extensions) in force. Inside
/// [`ResponseError::UnexpectedStatus`] or
/// [`ResponseError::UnexpectedConnectStatus`] only the status and headers
/// are filled in.
///
/// # Example
/// See [`ClientHandshake`](super::ClientHandshake).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response<M: Mode = Http1> {
    status: u16,
    reason: String,
    fields: Fields,
    protocol: Option<String>,
    extensions: Vec<ExtensionOffer>,
    mode: PhantomData<M>,
}

impl<M: Mode> Response<M> {
    /// A response with only its status line and headers filled in.
    pub(crate) fn head(status: u16, reason: String, fields: Fields) -> Self {
        Response {
            status,
            reason,
            fields,
            protocol: None,
            extensions: Vec::new(),
            mode: PhantomData,
        }
    }

    /// RFC 6455 §4.1 items 5 and 6, which RFC 8441 §5 keeps: the
    /// extensions among those offered, then the subprotocol.
    pub(crate) fn negotiate(
        mut self,
        offered_protocols: &[String],
        offered_extensions: &[ExtensionOffer],
        require_protocol: bool,
    ) -> Result<Self, ResponseError> {
        let f = &self.fields;
        let extensions =
            negotiate::accepted_extensions(f.all("Sec-WebSocket-Extensions"), offered_extensions)?;
        let protocol = negotiate::selected_protocol(
            f.all("Sec-WebSocket-Protocol"),
            offered_protocols,
            require_protocol,
        )?;
        self.extensions = extensions;
        self.protocol = protocol;
        Ok(self)
    }

    pub(crate) fn fields(&self) -> &Fields {
        &self.fields
    }

    pub(crate) fn reason_str(&self) -> &str {
        &self.reason
    }

    /// The status code (101 on HTTP/1.1, 200 on an extended CONNECT, once
    /// accepted).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The subprotocol the server selected, one of those offered.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The extensions the server accepted, in order, each among the
    /// names offered; their parameters are for each extension to check.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// The first value of header `name` (ASCII case-insensitive), without
    /// surrounding whitespace; `None` if absent or not UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.fields.first_str(name)
    }

    /// Every regular header, in the order received.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter()
    }
}
