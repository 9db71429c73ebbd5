//! Client role: build the opening handshake (RFC 6455 §4.1) and check the
//! server's answer.

use crate::prelude::*;
use base64::Engine as _;

use super::Limits;
use super::error::{BuildError, ResponseError};
use super::extensions::ExtensionOffer;
use super::fields::{Fields, check_outgoing, is_field_value, is_token};
use super::mode::{Http1, Response};
use crate::http1::{self, lossy_cut};
#[cfg(feature = "os-random")]
use crate::ws::OsRandom;
use crate::ws::RandomSource;

/// Headers the request writes itself.
const REQUEST_RESERVED: &[&str] = &[
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
    "origin",
    "content-length",
    "transfer-encoding",
];

/// A client's opening handshake: builds the request and checks the answer.
///
/// The builder methods take values the program chooses; those that cannot
/// be valid in a request head panic (as `http::HeaderValue::from_static`
/// does). For values from outside (a user's URL, a token from a file) use
/// [`try_new`](Self::try_new) and [`try_header`](Self::try_header).
///
/// By default the server may select no subprotocol even when some were
/// offered (RFC 6455 §4.1 allows it); [`require_protocol`](Self::require_protocol)
/// applies the browsers' stricter WHATWG rule.
///
/// # Example
/// ```
/// use pushcodec::ws::handshake::{ClientHandshake, HandshakeError};
/// let hs = ClientHandshake::new("example.com", "/chat")
///     .protocols(&["chat.v2", "chat.v1"])
///     .origin("https://example.com")
///     .extension("permessage-deflate; client_max_window_bits")
///     .header("Authorization", "Bearer abc");
/// let mut out = Vec::new();
/// hs.encode_request(&mut out);
/// assert!(out.starts_with(b"GET /chat HTTP/1.1\r\nHost: example.com\r\n"));
///
/// let mut answer = format!(
///     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///      Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: chat.v1\r\n\r\n",
///     pushcodec::ws::handshake::accept_key(hs.key().as_bytes()),
/// )
/// .into_bytes();
/// answer.extend_from_slice(b"\x81\x00"); // the server's first frame, same read
/// assert_eq!(hs.parse_response(&answer[..10])?, None); // need more
/// let (resp, used) = hs.parse_response(&answer)?.unwrap();
/// assert_eq!(resp.protocol(), Some("chat.v1"));
/// assert_eq!(&answer[used..], b"\x81\x00"); // handed back
/// # Ok::<(), HandshakeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    host: String,
    path: String,
    key: String,
    origin: Option<String>,
    protocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
    headers: Vec<(String, String)>,
    require_protocol: bool,
    limits: Limits,
}

fn part_err(what: &'static str, reason: &'static str) -> BuildError {
    BuildError::InvalidRequestPart { what, reason }
}

/// Visible ASCII only: a request target or Host has no spaces, controls or
/// raw non-ASCII (RFC 3986 needs those percent-encoded).
fn visible_ascii(s: &str) -> bool {
    s.bytes().all(|b| (b'!'..=b'~').contains(&b))
}

impl ClientHandshake {
    /// A handshake for `path` (with its query, e.g. `/chat?room=7`) on
    /// `host` (with `:port` when not the default), with a fresh key from
    /// [`OsRandom`].
    ///
    /// # Panics
    /// If `host` or `path` cannot be valid (see [`try_new`](Self::try_new)).
    #[cfg(feature = "os-random")]
    pub fn new(host: &str, path: &str) -> Self {
        Self::with_random(host, path, &mut OsRandom::new())
    }

    /// As [`new`](Self::new), with the 16-byte key drawn from `rng`
    /// (RFC 6455 §4.1 item 7: it must be random per connection).
    ///
    /// # Panics
    /// If `host` or `path` cannot be valid (see [`try_new`](Self::try_new)).
    pub fn with_random(host: &str, path: &str, rng: &mut dyn RandomSource) -> Self {
        match Self::try_new(host, path, rng) {
            Ok(hs) => hs,
            Err(e) => panic!("{e}"),
        }
    }

    /// As [`with_random`](Self::with_random), for a host and path from
    /// outside the program.
    ///
    /// # Errors
    /// [`BuildError::InvalidRequestPart`] if `host` is empty or holds
    /// anything but visible ASCII or holds `/`, `?`, `#` or `@`, or if `path`
    /// does not start with `/` or holds anything but visible ASCII (spaces,
    /// controls and non-ASCII must be percent-encoded, RFC 3986 §2.1).
    pub fn try_new(host: &str, path: &str, rng: &mut dyn RandomSource) -> Result<Self, BuildError> {
        if host.is_empty() || !visible_ascii(host) || host.contains(['/', '?', '#', '@']) {
            return Err(part_err(
                "host",
                "must be a non-empty host[:port] in visible ASCII (RFC 3986 §3.2)",
            ));
        }
        if !path.starts_with('/') || !visible_ascii(path) || path.contains('#') {
            return Err(part_err(
                "path",
                "must start with '/' and be visible ASCII without a fragment (RFC 6455 §3)",
            ));
        }
        let mut nonce = [0u8; 16];
        rng.fill(&mut nonce);
        Ok(ClientHandshake {
            host: host.to_owned(),
            path: path.to_owned(),
            key: base64::engine::general_purpose::STANDARD.encode(nonce),
            origin: None,
            protocols: Vec::new(),
            extensions: Vec::new(),
            headers: Vec::new(),
            require_protocol: false,
            limits: Limits::new(),
        })
    }

    /// Offers these subprotocols, in order of preference (replacing any
    /// offered before).
    ///
    /// # Panics
    /// If one is not an HTTP token or one is repeated (RFC 6455 §4.1 item 10).
    #[must_use]
    pub fn protocols(mut self, p: &[&str]) -> Self {
        let mut list: Vec<String> = Vec::with_capacity(p.len());
        for s in p {
            assert!(
                is_token(s.as_bytes()) && !list.iter().any(|x| x == s),
                "subprotocol {s:?} is not a unique HTTP token (RFC 6455 §4.1 item 10)"
            );
            list.push((*s).to_owned());
        }
        self.protocols = list;
        self
    }

    /// Sends `Origin` (RFC 6455 §4.1 item 8), as browsers do.
    ///
    /// # Panics
    /// If `o` holds CR, LF or another control character.
    #[must_use]
    pub fn origin(mut self, o: &str) -> Self {
        assert!(
            is_field_value(o.as_bytes()),
            "origin {o:?} holds a control character"
        );
        self.origin = Some(o.to_owned());
        self
    }

    /// Offers an extension: one or more `Sec-WebSocket-Extensions`
    /// elements such as `permessage-deflate; client_max_window_bits`. Calls
    /// add up, in order of preference.
    ///
    /// # Panics
    /// If `offer` does not parse per RFC 6455 §9.1 or is empty.
    #[must_use]
    pub fn extension(mut self, offer: &str) -> Self {
        match ExtensionOffer::parse_list(offer) {
            Ok(list) if !list.is_empty() => self.extensions.extend(list),
            Ok(_) => panic!("empty extension offer"),
            Err(e) => panic!("{e}"),
        }
        self
    }

    /// Adds a header (`Authorization`, `Cookie`, ...).
    ///
    /// # Panics
    /// Where [`try_header`](Self::try_header) returns an error.
    #[must_use]
    pub fn header(self, name: &str, value: &str) -> Self {
        self.try_header(name, value)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Adds a header whose name or value comes from outside the program.
    ///
    /// # Errors
    /// [`BuildError::InvalidHeaderName`] if `name` is not a token,
    /// [`BuildError::InvalidHeaderValue`] if `value` holds CR, LF or
    /// another control, [`BuildError::ReservedHeader`] for a header the
    /// handshake writes itself (`Host`, `Upgrade`, `Connection`, `Origin`,
    /// `Sec-WebSocket-*`, `Content-Length`, `Transfer-Encoding`).
    pub fn try_header(mut self, name: &str, value: &str) -> Result<Self, BuildError> {
        check_outgoing(name, value, REQUEST_RESERVED)?;
        self.headers.push((name.to_owned(), value.to_owned()));
        Ok(self)
    }

    /// With `yes`, fail when subprotocols were offered and the server
    /// selected none ([`ResponseError::MissingProtocol`]): the WHATWG rule
    /// browsers follow. Default `false`: RFC 6455 §4.1 lets the server
    /// select none.
    #[must_use]
    pub fn require_protocol(mut self, yes: bool) -> Self {
        self.require_protocol = yes;
        self
    }

    /// Limits for the response head (default [`Limits::default`]).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The `Sec-WebSocket-Key` this handshake sends.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The subprotocols offered, in order of preference.
    pub fn offered_protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The extension elements offered, in order of preference (an
    /// extension's own negotiation compares the answer with these, e.g.
    /// RFC 7692 §7.1.2.2's `server_max_window_bits`).
    pub fn offered_extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// The request's header fields, in the order written.
    pub(crate) fn fields(&self) -> Vec<(&str, String)> {
        let mut out = vec![
            ("Host", self.host.clone()),
            ("Upgrade", "websocket".to_owned()),
            ("Connection", "Upgrade".to_owned()),
            ("Sec-WebSocket-Key", self.key.clone()),
            ("Sec-WebSocket-Version", super::VERSION.to_owned()),
        ];
        if let Some(o) = &self.origin {
            out.push(("Origin", o.clone()));
        }
        if !self.protocols.is_empty() {
            out.push(("Sec-WebSocket-Protocol", self.protocols.join(", ")));
        }
        if !self.extensions.is_empty() {
            let list: Vec<String> = self.extensions.iter().map(ToString::to_string).collect();
            out.push(("Sec-WebSocket-Extensions", list.join(", ")));
        }
        for (n, v) in &self.headers {
            out.push((n.as_str(), v.clone()));
        }
        out
    }

    /// The request path (with query) as given.
    #[cfg(feature = "http")]
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Writes the complete request head into `out`.
    pub fn encode_request(&self, out: &mut impl bytes::BufMut) {
        out.put_slice(format!("GET {} HTTP/1.1\r\n", self.path).as_bytes());
        crate::http1::put_header_lines(self.fields(), out);
        out.put_slice(b"\r\n");
    }

    /// Parses and checks the server's answer from the bytes received so
    /// far: `Ok(None)` until the head is complete, then the [`Response`]
    /// and the bytes the head used (`buf[used..]` are the server's first
    /// frames). Each call scans at most the limit's bytes; call it when
    /// new bytes arrived.
    ///
    /// # Errors
    /// In RFC 6455 §4.1's order: [`ResponseError::UnexpectedStatus`] (with
    /// the response, e.g. for a redirect), `UpgradeNotWebSocket`,
    /// `ConnectionNotUpgrade`, `MissingAccept`, `AcceptMismatch`,
    /// `UnexpectedExtension`, `UnexpectedProtocol`, `MissingProtocol`; the
    /// [`ResponseError::Head`] for the head itself.
    pub fn parse_response(&self, buf: &[u8]) -> Result<Option<(Response, usize)>, ResponseError> {
        let Some(end) = http1::find_end(buf, &self.limits)? else {
            return Ok(None);
        };
        let h = http1::parse_response(&buf[..end], &self.limits)?;
        let resp = self.check(h.status, h.reason.to_owned(), Fields::from_head(&h.headers))?;
        Ok(Some((resp, end)))
    }

    /// RFC 6455 §4.1's checks of the server's answer, in order.
    pub(crate) fn check(
        &self,
        status: u16,
        reason: String,
        fields: Fields,
    ) -> Result<Response, ResponseError> {
        let resp = Response::head(status, reason, fields);
        // §4.1 item 1: anything but 101 is handled per HTTP (the caller may
        // follow a redirect or answer a challenge) and is not a WebSocket.
        if status != 101 {
            return Err(ResponseError::UnexpectedStatus {
                status,
                response: Box::new(resp),
            });
        }
        let f = resp.fields();
        // §4.1 items 2 and 3.
        f.upgrades_to_websocket(["§4.1 item 2", "§4.1 item 3"])?;
        // §4.1 item 4; §11.3.3: at most once.
        let expected = super::accept_key(self.key.as_bytes());
        match f.single("Sec-WebSocket-Accept")? {
            None => return Err(ResponseError::MissingAccept),
            Some(v) if v == expected.as_bytes() => {}
            Some(v) => {
                return Err(ResponseError::AcceptMismatch {
                    expected,
                    found: lossy_cut(v),
                });
            }
        }
        // §4.1 items 5 and 6 (plus the WHATWG rule when asked).
        resp.negotiate(&self.protocols, &self.extensions, self.require_protocol)
    }
}

impl Response<Http1> {
    /// The reason phrase as sent.
    pub fn reason(&self) -> &str {
        self.reason_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl RandomSource for Fixed {
        fn fill(&mut self, buf: &mut [u8]) {
            buf.fill(7);
        }
    }

    #[test]
    fn request_bytes_are_exact() {
        let hs = ClientHandshake::with_random("h:8080", "/p?q=1", &mut Fixed)
            .protocols(&["a", "b"])
            .extension("x; y=1");
        let mut out = Vec::new();
        hs.encode_request(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET /p?q=1 HTTP/1.1\r\nHost: h:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: BwcHBwcHBwcHBwcHBwcHBw==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: a, b\r\nSec-WebSocket-Extensions: x; y=1\r\n\r\n"
        );
    }

    #[test]
    fn bad_parts_are_refused() {
        for (host, path) in [
            ("", "/"),
            ("a b", "/"),
            ("h", "x"),
            ("h", "/a b"),
            ("h", "/\r\n"),
        ] {
            assert!(
                ClientHandshake::try_new(host, path, &mut Fixed).is_err(),
                "{host:?} {path:?}"
            );
        }
        let hs = ClientHandshake::with_random("h", "/", &mut Fixed);
        assert!(matches!(
            hs.clone().try_header("Host", "x"),
            Err(BuildError::ReservedHeader { .. })
        ));
        assert!(matches!(
            hs.try_header("X", "\r"),
            Err(BuildError::InvalidHeaderValue { .. })
        ));
    }

    #[test]
    #[should_panic(expected = "not a unique HTTP token")]
    fn duplicate_protocols_panic() {
        let _ = ClientHandshake::with_random("h", "/", &mut Fixed).protocols(&["a", "a"]);
    }
}
