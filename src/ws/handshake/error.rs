//! What can go wrong in the opening handshake, split by who is at fault:
//! [`RequestError`] for what a server finds in a client's request (with the
//! status and headers to answer), [`ResponseError`] for what a client finds
//! in the server's answer (nothing to answer: close), [`BuildError`] for a
//! value the application gave a builder. [`HandshakeError`] holds any of
//! the three, for code that drives both halves with one `?`.

use super::extended_connect::ConnectResponse;
use super::mode::Response;
use super::reject::write_reject;
use crate::http1::HeadError;
use crate::prelude::*;

/// What a server finds wrong in a client's opening handshake: which rule
/// broke, and the answer to send ([`status`](Self::status),
/// [`headers`](Self::headers), [`encode_response`](Self::encode_response),
/// `connect_reply` over HTTP/2 and HTTP/3).
///
/// # Example
/// ```
/// use pushcodec::ws::handshake::{self, Limits, RequestError};
///
/// let req = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n";
/// let err = handshake::parse_request(req, &Limits::default()).unwrap_err();
/// assert!(matches!(err, RequestError::UnsupportedVersion { .. }));
/// assert_eq!(err.status(), 426);
/// assert!(err.headers().contains(&("Sec-WebSocket-Version", "13")));
/// let mut answer = Vec::new();
/// err.encode_response(&mut answer);
/// assert!(answer.starts_with(b"HTTP/1.1 426 Upgrade Required\r\n"));
/// assert!(answer.windows(25).any(|w| w == b"Sec-WebSocket-Version: 13"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The HTTP/1.1 head is too large, has too many fields or is malformed
    /// (431 or 400): the crate's one head error, shared with SSE.
    #[error(transparent)]
    Head(#[from] HeadError),
    /// A header or field breaks a rule that holds whoever sends it (a
    /// repeated field, a bad offer list, an HTTP/2 or HTTP/3 field rule);
    /// 431 for a field section over the limits, else 400.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The request method is not GET (status 405, with `Allow: GET`).
    #[error("method {method:?} is not GET (RFC 6455 §4.2.1 item 1)")]
    MethodNotGet {
        /// The method as sent.
        method: String,
    },
    /// The request is not HTTP/1.1 (status 400). HTTP/1.0 has no Upgrade;
    /// HTTP/2 and HTTP/3 use extended CONNECT instead (RFC 8441, RFC 9220).
    #[error("request is {version}, the Upgrade handshake needs HTTP/1.1 (RFC 6455 §4.2.1 item 1)")]
    HttpVersion {
        /// The version as a string such as `HTTP/1.0`.
        version: String,
    },
    /// The request has no Host header (status 400).
    #[error("missing Host header (RFC 6455 §4.2.1 item 2)")]
    MissingHost,
    /// A header value that must be text is not, or is empty (status 400).
    #[error("invalid {name} header: {reason}")]
    InvalidHeader {
        /// The header's canonical name.
        name: &'static str,
        /// What is wrong with it, with the rule.
        reason: &'static str,
    },
    /// The request has no `Sec-WebSocket-Key` (status 400).
    #[error("missing Sec-WebSocket-Key header (RFC 6455 §4.2.1 item 5)")]
    MissingKey,
    /// The `Sec-WebSocket-Key` is not the base64 of 16 bytes (status 400).
    #[error(
        "Sec-WebSocket-Key {found:?} is not 16 bytes in base64: {reason} (RFC 6455 §4.2.1 item 5)"
    )]
    InvalidKey {
        /// The value received, lossily, cut to 64 characters.
        found: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `Sec-WebSocket-Version` is missing or not 13 (status 426, answered
    /// with `Sec-WebSocket-Version: 13`, RFC 6455 §4.2.2).
    #[error("Sec-WebSocket-Version {found:?} is not 13 (RFC 6455 §4.2.1 item 6)")]
    UnsupportedVersion {
        /// The value received; `None` if absent.
        found: Option<String>,
    },
    /// `:method` is not CONNECT (status 405, with `allow: CONNECT`).
    #[error("method {method:?} is not CONNECT (RFC 8441 §4)")]
    MethodNotConnect {
        /// The method as sent.
        method: String,
    },
    /// `:protocol` is absent (a plain CONNECT) or not exactly `websocket`
    /// (status 400).
    #[error(":protocol {found:?} is not websocket (RFC 8441 §4)")]
    ConnectProtocolNotWebSocket {
        /// The value received; `None` if absent.
        found: Option<String>,
    },
    /// `sec-websocket-version` is missing or not 13 on an extended CONNECT
    /// (status 400, answered with `sec-websocket-version: 13`; a 426 would
    /// need `Upgrade`, which HTTP/2 forbids).
    #[error("sec-websocket-version {found:?} is not 13 (RFC 8441 §5, RFC 6455 §4.2.1 item 6)")]
    ConnectUnsupportedVersion {
        /// The value received; `None` if absent.
        found: Option<String>,
    },
}

/// What a client finds wrong in a server's answer to its opening handshake
/// (RFC 6455 §4.1, RFC 8441 §5). There is nothing to answer: close the
/// connection (or the stream), or follow a redirect found in
/// [`UnexpectedStatus`](Self::UnexpectedStatus).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The HTTP/1.1 head is too large, has too many fields or is malformed.
    #[error(transparent)]
    Head(#[from] HeadError),
    /// A header or field breaks a rule that holds whoever sends it.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The server did not answer `101 Switching Protocols`.
    #[error("server answered {status} instead of 101 (RFC 6455 §4.1 item 1)")]
    UnexpectedStatus {
        /// The status received.
        status: u16,
        /// The whole response head, for redirects (`Location`) or
        /// authentication challenges (`WWW-Authenticate`).
        response: Box<Response>,
    },
    /// The response has no `Sec-WebSocket-Accept`.
    #[error("missing Sec-WebSocket-Accept header (RFC 6455 §4.1 item 4)")]
    MissingAccept,
    /// The `Sec-WebSocket-Accept` does not match our key.
    #[error("Sec-WebSocket-Accept {found:?} is not {expected:?} (RFC 6455 §4.1 item 4)")]
    AcceptMismatch {
        /// What our key requires.
        expected: String,
        /// What the server sent, lossily.
        found: String,
    },
    /// The server answered with an extension we did not offer.
    #[error("server accepted extension {name:?}, which was not offered (RFC 6455 §4.1 item 5)")]
    UnexpectedExtension {
        /// The extension's name.
        name: String,
    },
    /// The server selected a subprotocol we did not offer.
    #[error(
        "server selected subprotocol {protocol:?}, which was not offered (RFC 6455 §4.1 item 6)"
    )]
    UnexpectedProtocol {
        /// The subprotocol the server named.
        protocol: String,
    },
    /// We offered subprotocols, required one (the WHATWG `WebSockets` standard,
    /// "establish a WebSocket connection"), and the server selected none.
    #[error(
        "server selected no subprotocol although some were offered (WHATWG WebSockets, require_protocol)"
    )]
    MissingProtocol,
    /// The server answered an extended CONNECT with a status other than 200.
    #[error("server answered {status} instead of 200 (RFC 8441 §5)")]
    UnexpectedConnectStatus {
        /// The status received.
        status: u16,
        /// The whole answer, for redirects or authentication challenges.
        response: Box<ConnectResponse>,
    },
}

/// A value the application gave a handshake builder that cannot be sent:
/// the application's own mistake, found before anything is written. Nothing
/// goes on the wire; there is no status to answer with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The server chose a subprotocol the client did not offer.
    #[error("subprotocol {protocol:?} was not offered by the client (RFC 6455 §4.2.2 item 5.4)")]
    ProtocolNotOffered {
        /// The subprotocol chosen.
        protocol: String,
    },
    /// The server answered with an extension the client did not offer.
    #[error("extension {name:?} was not offered by the client (RFC 6455 §9.1)")]
    ExtensionNotOffered {
        /// The extension's name.
        name: String,
    },
    /// A `Sec-WebSocket-Extensions` header does not fit RFC 6455 §9.1's
    /// grammar.
    #[error("invalid Sec-WebSocket-Extensions header at byte {offset}: {reason} (RFC 6455 §9.1)")]
    InvalidExtensionHeader {
        /// Byte offset of the problem within the header value.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A header name given to a builder is not a token (RFC 9110 §5.1).
    #[error("header name {name:?} is not an HTTP token (RFC 9110 §5.1)")]
    InvalidHeaderName {
        /// The name as given.
        name: String,
    },
    /// A header value given to a builder contains CR, LF, NUL or another
    /// control character (RFC 9110 §5.5).
    #[error("value of header {name:?} contains a control character (RFC 9110 §5.5)")]
    InvalidHeaderValue {
        /// The header's name.
        name: String,
    },
    /// A builder was given a header that the handshake writes itself (use the
    /// dedicated method instead, e.g. `protocol`).
    #[error("header {name:?} is written by the handshake itself")]
    ReservedHeader {
        /// The name as given.
        name: String,
    },
    /// A rejection status outside 300–599.
    #[error("status {status} is not a rejection (expected 300-599)")]
    InvalidStatus {
        /// The status given.
        status: u16,
    },
    /// A host, path or other value given to [`ClientHandshake`](super::ClientHandshake)
    /// is not valid in a request head.
    #[error("invalid {what} for a request: {reason}")]
    InvalidRequestPart {
        /// Which part: `host`, `path`, `origin`, `subprotocol`, `extension`.
        what: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A client was about to send an extended CONNECT although the server's
    /// SETTINGS did not carry `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1`.
    #[error(
        "the server did not enable extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL, RFC 8441 §3)"
    )]
    ConnectProtocolNotEnabled,
}

/// Any handshake error, for code that drives both halves with one `?`:
/// each function returns the one of the three kinds that it can produce.
///
/// # Example
/// ```
/// use pushcodec::ws::handshake::{self, HandshakeError, Limits, RequestError};
///
/// fn serve(raw: &[u8], out: &mut Vec<u8>) -> Result<(), HandshakeError> {
///     let (req, _) = handshake::parse_request(raw, &Limits::default())?.expect("complete");
///     req.accept().encode(out)?; // a BuildError, converted the same way
///     Ok(())
/// }
/// let err = serve(b"POST / HTTP/1.1\r\n\r\n", &mut Vec::new()).unwrap_err();
/// assert!(matches!(err, HandshakeError::Request(RequestError::MethodNotGet { .. })));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// Found by a server in a client's request: answer it.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// Found by a client in a server's answer: close.
    #[error(transparent)]
    Response(#[from] ResponseError),
    /// A builder was given a value that cannot be sent.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// A received header or field that breaks a rule holding for both roles:
/// a field that may appear once appears twice, a subprotocol or extension
/// list off its grammar, or one of the HTTP/2 and HTTP/3 field rules (RFC
/// 9113 §8.2, §8.3; RFC 9114 §4.2) and the field section's limits. A server
/// finds it in a [`RequestError::Field`], a client in a
/// [`ResponseError::Field`]; the rule is checked in one place for both.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// A header that may appear once appears more often.
    #[error("{name} header appears more than once (RFC 6455 §11.3, RFC 9110 §5.3)")]
    DuplicateHeader {
        /// The header's canonical name.
        name: &'static str,
    },
    /// A `Sec-WebSocket-Protocol` header does not fit its grammar: not
    /// tokens, a duplicate offer, or (from a server) more than one
    ///.
    #[error(
        "invalid Sec-WebSocket-Protocol header at byte {offset}: {reason} (RFC 6455 {section})"
    )]
    InvalidProtocolHeader {
        /// Byte offset of the problem within the header value.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
        /// `§4.1` / `§11.3.4`.
        section: &'static str,
    },
    /// A `Sec-WebSocket-Extensions` header does not fit RFC 6455 §9.1's
    /// grammar.
    #[error("invalid Sec-WebSocket-Extensions header at byte {offset}: {reason} (RFC 6455 §9.1)")]
    InvalidExtensionHeader {
        /// Byte offset of the problem within the header value.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The field section is larger than `Limits::max_head_bytes`, counted
    /// as RFC 9113 §6.5.2 does (name + value + 32 per field).
    #[error(
        "field section exceeds {limit} bytes counted per RFC 9113 §6.5.2 (Limits::max_head_bytes)"
    )]
    FieldSectionTooLarge {
        /// The configured `Limits::max_head_bytes`.
        limit: usize,
    },
    /// A field breaks the HTTP/2 or HTTP/3 field rules: an unknown, repeated
    /// or misplaced pseudo-header, a name that is not a lowercase token, a
    /// control character in a value, a bad `:scheme`, `:path` or `:status`
    ///.
    #[error("malformed field {name:?}: {reason}")]
    MalformedField {
        /// The field's name as received, lossily, cut to 64 characters.
        name: String,
        /// What is wrong, with the rule.
        reason: &'static str,
    },
    /// A connection-specific field (`connection`, `upgrade`, `keep-alive`,
    /// `proxy-connection`, `transfer-encoding`, `te` other than `trailers`)
    /// in an HTTP/2 or HTTP/3 message.
    #[error(
        "connection-specific field {name:?} is not allowed in HTTP/2 or HTTP/3 (RFC 9113 §8.2.2, RFC 9114 §4.2)"
    )]
    ConnectionSpecificHeader {
        /// The field's name.
        name: String,
    },
    /// No `Upgrade` header, or one without the `websocket` token.
    #[error("Upgrade header {found:?} lacks the token websocket (RFC 6455 {section})")]
    UpgradeNotWebSocket {
        /// The Upgrade values received, joined; `None` if absent.
        found: Option<String>,
        /// `§4.2.1 item 3` (server) or `§4.1 item 2` (client).
        section: &'static str,
    },
    /// No `Connection` header, or one without the `Upgrade` token.
    #[error("Connection header {found:?} lacks the token Upgrade (RFC 6455 {section})")]
    ConnectionNotUpgrade {
        /// The Connection values received, joined; `None` if absent.
        found: Option<String>,
        /// `§4.2.1 item 4` (server) or `§4.1 item 3` (client).
        section: &'static str,
    },
    /// A pseudo-header the message must carry is absent.
    #[error("missing {name} pseudo-header ({section})")]
    MissingPseudoHeader {
        /// `:method`, `:scheme`, `:path`, `:authority` or `:status`.
        name: &'static str,
        /// The rule that requires it.
        section: &'static str,
    },
    /// An HTTP/2 or HTTP/3 field section has more than `limit` fields,
    /// pseudo-headers included.
    #[error("field section has more than {limit} fields (Limits::max_headers)")]
    TooManyFields {
        /// The configured `Limits::max_headers`.
        limit: usize,
    },
}

impl FieldError {
    /// Whether the fault is a limit (a server answers 431) rather than a
    /// malformed field (400).
    fn over_limit(&self) -> bool {
        matches!(
            self,
            FieldError::FieldSectionTooLarge { .. } | FieldError::TooManyFields { .. }
        )
    }
}

impl RequestError {
    /// The HTTP status a server answers this error with: 400 for a bad
    /// request, 405 for a method other than GET (CONNECT over HTTP/2 and
    /// HTTP/3), 426 for a version other than 13 (400 over HTTP/2 and
    /// HTTP/3, see `connect_reply`), 431 for a head over the limits.
    pub fn status(&self) -> u16 {
        match self {
            Self::Head(e) => e.status(),
            Self::Field(e) if e.over_limit() => 431,
            Self::MethodNotGet { .. } | Self::MethodNotConnect { .. } => 405,
            Self::UnsupportedVersion { .. } => 426,
            Self::Field(_)
            | Self::HttpVersion { .. }
            | Self::MissingHost
            | Self::InvalidHeader { .. }
            | Self::MissingKey
            | Self::InvalidKey { .. }
            | Self::ConnectProtocolNotWebSocket { .. }
            | Self::ConnectUnsupportedVersion { .. } => 400,
        }
    }

    /// The headers the answer must carry besides the framing ones, with the
    /// rule that requires each: `Allow` with a 405, `Sec-WebSocket-Version`
    /// (and, with a 426, `Upgrade`) when the version was refused.
    pub fn headers(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            // RFC 6455 §4.2.2: name the versions we understand. RFC 9110
            // §15.5.22: a 426 MUST carry Upgrade, and §7.8 then the
            // "upgrade" connection option.
            Self::UnsupportedVersion { .. } => &[
                ("Sec-WebSocket-Version", super::VERSION),
                ("Upgrade", "websocket"),
            ],
            // RFC 9110 §15.5.6: a 405 MUST carry Allow.
            Self::MethodNotGet { .. } => &[("Allow", "GET")],
            // RFC 6455 §4.2.2 over RFC 8441: name the version, without the
            // Upgrade that HTTP/2 forbids.
            Self::ConnectUnsupportedVersion { .. } => &[("Sec-WebSocket-Version", super::VERSION)],
            Self::MethodNotConnect { .. } => &[("Allow", "CONNECT")],
            _ => &[],
        }
    }

    /// Writes the complete HTTP/1.1 rejection for this error into `out`:
    /// status line, `Connection: close`, the [`headers`](Self::headers) the
    /// status requires and this error's message as a `text/plain` body.
    /// Close the connection once it is written.
    pub fn encode_response(&self, out: &mut impl bytes::BufMut) {
        let upgrade = matches!(self, Self::UnsupportedVersion { .. });
        write_reject(
            self.status(),
            &self.to_string(),
            self.headers(),
            upgrade,
            out,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_rules() {
        assert_eq!(RequestError::MissingKey.status(), 400);
        assert_eq!(
            RequestError::Head(HeadError::TooLarge { limit: 1 }).status(),
            431
        );
        assert_eq!(
            RequestError::MethodNotGet {
                method: "POST".into()
            }
            .status(),
            405
        );
        assert_eq!(
            RequestError::UnsupportedVersion { found: None }.status(),
            426
        );
    }

    #[test]
    fn messages_name_the_rule() {
        assert_eq!(
            RequestError::MissingKey.to_string(),
            "missing Sec-WebSocket-Key header (RFC 6455 §4.2.1 item 5)"
        );
        let e = RequestError::UnsupportedVersion {
            found: Some("8".into()),
        };
        assert!(e.to_string().contains("§4.2.1"), "{e}");
        // The wrapper says the same.
        assert_eq!(HandshakeError::from(e.clone()).to_string(), e.to_string());
    }

    #[test]
    fn rejection_405_carries_allow() {
        let mut out = Vec::new();
        RequestError::MethodNotGet {
            method: "POST".into(),
        }
        .encode_response(&mut out);
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{s}");
        assert!(s.contains("\r\nAllow: GET\r\n"), "{s}");
    }

    #[test]
    fn field_limits_answer_431_and_other_field_faults_400() {
        let e = RequestError::from(FieldError::TooManyFields { limit: 1 });
        assert_eq!(e.status(), 431);
        let e = RequestError::from(FieldError::DuplicateHeader { name: "Host" });
        assert_eq!(e.status(), 400);
        assert!(e.to_string().contains("Host"), "{e}");
    }
}
