//! Client role: the extended CONNECT request from a `ws`/`wss` URI, sent
//! only once the server enabled it (RFC 8441 §3), and the check of the
//! answer (exactly `200`, RFC 8441 §5; RFC 6455 §4.1 items 5 and 6).

use super::{CONNECT_PROTOCOL, RESPONSE_PSEUDO, collect, malformed, no_connection_specific};
use crate::prelude::*;
use crate::ws::RandomSource;
use crate::ws::handshake::error::{BuildError, FieldError, ResponseError};
use crate::ws::handshake::extensions::ExtensionOffer;
use crate::ws::handshake::fields::check_outgoing;
use crate::ws::handshake::mode::{ExtendedConnect, Response};
use crate::ws::handshake::{ClientHandshake, Limits};

/// Fields a client may not add besides those [`ClientHandshake`] refuses:
/// the connection-specific ones HTTP/2 and HTTP/3 forbid.
const REQUEST_RESERVED: &[&str] = &["keep-alive", "proxy-connection", "te"];

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
/// use pushcodec::ws::handshake::{BuildError, ConnectHandshake, HandshakeError, ResponseError};
///
/// let hs = ConnectHandshake::new("wss://example.com/chat?room=7").protocols(&["chat"]);
/// // Refused until the peer's SETTINGS enabled extended CONNECT.
/// assert_eq!(hs.request_fields(false), Err(BuildError::ConnectProtocolNotEnabled));
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
///     Err(ResponseError::UnexpectedConnectStatus { status: 204, .. })
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
    /// [`BuildError::InvalidRequestPart`] if the scheme is not `ws`,
    /// `wss`, `http` or `https`, if the URI has a fragment (RFC 6455 §3) or
    /// userinfo, or if host or path hold anything but visible ASCII.
    pub fn try_new(uri: &str) -> Result<Self, BuildError> {
        let err = |reason| BuildError::InvalidRequestPart {
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
        self.try_header(name, value)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Adds a field whose name or value comes from outside the program.
    ///
    /// # Errors
    /// As [`ClientHandshake::try_header`], and
    /// [`BuildError::ReservedHeader`] for the connection-specific fields
    /// HTTP/2 forbids (`keep-alive`, `proxy-connection`, `te`).
    pub fn try_header(mut self, name: &str, value: &str) -> Result<Self, BuildError> {
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
    /// [`BuildError::ConnectProtocolNotEnabled`] unless
    /// `connect_protocol_enabled`: whether the server's SETTINGS carried
    /// `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1` (RFC 8441 §3: a client MUST
    /// NOT send `:protocol` before that).
    pub fn request_fields(
        &self,
        connect_protocol_enabled: bool,
    ) -> Result<Vec<(String, String)>, BuildError> {
        if !connect_protocol_enabled {
            return Err(BuildError::ConnectProtocolNotEnabled);
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
    /// [`check_connect_request`](super::check_connect_request)), [`FieldError::MissingPseudoHeader`]
    /// for `:status`, [`ResponseError::UnexpectedConnectStatus`] unless it
    /// is exactly 200 (RFC 8441 §5), `ConnectionSpecificHeader`, then as
    /// RFC 6455 §4.1 items 5 and 6: `UnexpectedExtension`,
    /// `UnexpectedProtocol`, `MissingProtocol`. A `sec-websocket-accept`
    /// is ignored.
    pub fn check_response<N, V>(
        &self,
        fields: impl IntoIterator<Item = (N, V)>,
    ) -> Result<ConnectResponse, ResponseError>
    where
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let (pseudo, fields) = collect(fields, RESPONSE_PSEUDO, &self.limits)?;
        // RFC 9113 §8.3.2: every response has a :status.
        let status = match pseudo.into_iter().next().flatten() {
            None => {
                return Err(ResponseError::Field(FieldError::MissingPseudoHeader {
                    name: ":status",
                    section: "RFC 9113 §8.3.2",
                }));
            }
            Some(s) => match s.parse::<u16>() {
                Ok(n) if s.len() == 3 && (100..=599).contains(&n) => n,
                _ => {
                    return Err(malformed(
                        b":status",
                        "not a three-digit status code (RFC 9110 §15)",
                    )
                    .into());
                }
            },
        };
        let resp = ConnectResponse::head(status, String::new(), fields);
        // RFC 8441 §5: "any status code other than 200" fails the handshake.
        if status != 200 {
            return Err(ResponseError::UnexpectedConnectStatus {
                status,
                response: Box::new(resp),
            });
        }
        no_connection_specific(resp.fields())?;
        // RFC 6455 §4.1 item 5, then item 6 (RFC 8441 §5 keeps both).
        resp.negotiate(
            self.offered_protocols(),
            self.offered_extensions(),
            self.require_protocol,
        )
    }
}

/// A server's answer to a [`ConnectHandshake`]: the [`Response`] of every
/// mode, here after RFC 8441 §5's checks.
pub type ConnectResponse = Response<ExtendedConnect>;

#[cfg(test)]
mod tests {
    use super::*;

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
}
