//! Server role: check an extended CONNECT request (RFC 8441 §4, RFC 9220)
//! and build the `200` that opens the WebSocket (RFC 8441 §5).

use super::{
    CONNECT_PROTOCOL, ConnectReply, REQUEST_PSEUDO, collect, lossy_cut, malformed,
    no_connection_specific,
};
use crate::prelude::*;
use crate::ws::handshake::Limits;
use crate::ws::handshake::error::{BuildError, FieldError, RequestError};
use crate::ws::handshake::fields::Fields;
use crate::ws::handshake::mode::{AcceptBuilder, ExtendedConnect, Request};

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
/// [`RequestError::connect_reply`].
///
/// # Errors
/// The first rule broken; its [`status`](RequestError::status) is the
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
) -> Result<ConnectRequest, RequestError>
where
    N: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let (pseudo, fields) = collect(fields, REQUEST_PSEUDO, limits)?;
    ConnectRequest::check_connect(pseudo, fields)
}

/// A checked extended CONNECT request: the server's side of a WebSocket
/// over HTTP/2 or HTTP/3, made by [`check_connect_request`] (or, with the
/// `http` feature, `check_http_connect_request`). The accessors are those
/// of every [`Request`]; [`scheme`](Request::scheme) and
/// [`authority`](Request::authority) are this mode's own.
pub type ConnectRequest = Request<ExtendedConnect>;

impl Request<ExtendedConnect> {
    /// The checks of [`check_connect_request`] after [`collect`], in order.
    fn check_connect(pseudo: Vec<Option<String>>, fields: Fields) -> Result<Self, RequestError> {
        let mut pseudo = pseudo.into_iter();
        let mut next = || pseudo.next().flatten();
        let (method, protocol, scheme, authority, path) = (next(), next(), next(), next(), next());
        no_connection_specific(&fields)?;
        // RFC 9113 §8.3.1: every request has a :method.
        let Some(method) = method else {
            return Err(RequestError::Field(FieldError::MissingPseudoHeader {
                name: ":method",
                section: "RFC 9113 §8.3.1",
            }));
        };
        // RFC 8441 §4: the WebSocket is a CONNECT (methods are case-sensitive).
        if method != "CONNECT" {
            return Err(RequestError::MethodNotConnect { method });
        }
        // RFC 8441 §4, §5: :protocol names the protocol, here "websocket".
        if protocol.as_deref() != Some(CONNECT_PROTOCOL) {
            return Err(RequestError::ConnectProtocolNotWebSocket { found: protocol });
        }
        // RFC 8441 §4: with :protocol, :scheme and :path MUST be present.
        let scheme = scheme.ok_or(RequestError::Field(FieldError::MissingPseudoHeader {
            name: ":scheme",
            section: "RFC 8441 §4",
        }))?;
        if scheme != "http" && scheme != "https" {
            return Err(
                malformed(b":scheme", "must be http (ws) or https (wss) (RFC 8441 §5)").into(),
            );
        }
        let path = path.ok_or(RequestError::Field(FieldError::MissingPseudoHeader {
            name: ":path",
            section: "RFC 8441 §4",
        }))?;
        // RFC 9113 §8.3.1: an http or https :path is absolute ("/" at least).
        if !path.starts_with('/') {
            return Err(malformed(
                b":path",
                "must start with '/' for http and https (RFC 9113 §8.3.1)",
            )
            .into());
        }
        // RFC 8441 §4 (RFC 9113 §8.3.1): the host lives in :authority.
        let authority = authority.ok_or(RequestError::Field(FieldError::MissingPseudoHeader {
            name: ":authority",
            section: "RFC 8441 §4",
        }))?;
        if authority.contains('@') {
            return Err(malformed(
                b":authority",
                "must not hold userinfo for http and https (RFC 9113 §8.3.1)",
            )
            .into());
        }
        if let Some(host) = fields.single("Host")?
            && !host.eq_ignore_ascii_case(authority.as_bytes())
        {
            return Err(RequestError::InvalidHeader {
                name: "Host",
                reason: "differs from :authority (RFC 9113 §8.3.1)",
            });
        }
        // RFC 8441 §5 keeps RFC 6455 §4.2.1 item 6: exactly one version, 13.
        match fields.single("Sec-WebSocket-Version")? {
            Some(b"13") => {}
            other => {
                return Err(RequestError::ConnectUnsupportedVersion {
                    found: other.map(lossy_cut),
                });
            }
        }
        // RFC 9110 §9.3.6: a CONNECT request has no content; DATA frames
        // carry the WebSocket stream.
        if fields.all("Content-Length").any(|v| v != b"0") {
            return Err(RequestError::InvalidHeader {
                name: "Content-Length",
                reason: "a CONNECT request has no content (RFC 9110 §9.3.6)",
            });
        }
        // RFC 8441 §5: origin, subprotocols and extensions as in RFC 6455.
        Request::offers(path, authority, scheme, fields)
    }

    /// `:scheme`: `https` for a `wss` URI, `http` for `ws`.
    pub fn scheme(&self) -> &str {
        &self.binding
    }

    /// `:authority`: the host, with its port if not the default.
    pub fn authority(&self) -> &str {
        self.authority_str()
    }
}

/// Builds the `200` answer to a [`ConnectRequest`] (RFC 8441 §5): the
/// builder of every [`Request`], written by [`build`](AcceptBuilder::build).
/// It never carries `sec-websocket-accept`, `upgrade` or `connection`.
pub type ConnectAcceptBuilder<'a> = AcceptBuilder<'a, ExtendedConnect>;

impl AcceptBuilder<'_, ExtendedConnect> {
    /// The checked answer: `:status 200` and its fields, names lowercase.
    /// The stream then carries WebSocket frames (server role); send the
    /// answer without ending the stream and without content-length.
    ///
    /// # Errors
    /// [`BuildError::ProtocolNotOffered`],
    /// [`BuildError::ExtensionNotOffered`],
    /// [`BuildError::InvalidExtensionHeader`],
    /// [`BuildError::InvalidHeaderName`],
    /// [`BuildError::InvalidHeaderValue`] or
    /// [`BuildError::ReservedHeader`] (a field the answer writes itself
    /// or that HTTP/2 forbids).
    pub fn build(self) -> Result<ConnectReply, BuildError> {
        // RFC 9113 §8.2.1, RFC 9114 §4.2: field names are lowercase.
        let headers = self
            .checked_fields(Vec::new())?
            .into_iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v))
            .collect();
        Ok(ConnectReply::new(200, headers, String::new()))
    }
}
