//! The opening handshake (RFC 6455 §4), both roles, as pure functions.
//!
//! A server feeds the bytes it has read so far to [`parse_request`]: it
//! answers `Ok(None)` until the request head is complete, then a checked
//! [`Request`] and how many bytes the head used. Bytes after that are the
//! client's first frames: hand them to the frame decoder, never drop them.
//! [`Request::accept`] builds the `101 Switching Protocols` answer, and every
//! [`RequestError`] knows the rejection to send ([`RequestError::status`],
//! [`RequestError::headers`], [`RequestError::encode_response`]).
//! [`encode_reject`] writes a rejection of the application's own
//! (authentication failed, forbidden origin).
//!
//! Errors say whose fault they are: [`RequestError`] for what a server finds
//! in a request (with the status to answer), [`ResponseError`] for what a
//! client finds in a response (close), [`BuildError`] for a value the
//! application gave a builder (nothing is written). [`HandshakeError`] holds
//! any of them, for one `?` over both halves.
//!
//! A client builds its request with [`ClientHandshake`] and checks the answer
//! with [`ClientHandshake::parse_response`], which returns the leftover bytes
//! the same way.
//!
//! Subprotocol and extension negotiation does not depend on HTTP/1.1 parsing:
//! the same checks serve the `http` crate types (feature `http`) and the
//! extended CONNECT handshake of HTTP/2 and HTTP/3.
//!
//! # WebSocket over HTTP/2 and HTTP/3 (RFC 8441, RFC 9220)
//!
//! Browsers open a WebSocket on one stream of an HTTP/2 connection when the
//! server's SETTINGS carry `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1`: a
//! `CONNECT` with `:protocol websocket`, answered by `:status 200`. The
//! caller's stack (hyper, h2, h3, quiche) decodes the fields; these checks
//! take them as `(name, value)` pairs, pseudo-headers first:
//!
//! - server: [`check_connect_request`] then [`ConnectRequest::accept`] →
//!   [`ConnectReply`] (`:status 200`, the chosen subprotocol and
//!   extensions; never Accept, Upgrade or Connection), or
//!   [`RequestError::connect_reply`] / [`connect_reject`] to refuse;
//! - client: [`ConnectHandshake::request_fields`], only once the server's
//!   SETTINGS enabled extended CONNECT (the caller says so), then
//!   [`ConnectHandshake::check_response`]: exactly 200, subprotocol and
//!   extensions among those offered. There is no key and no accept.
//!
//! With the `http` feature the same checks take and give `http::Request`
//! and `http::Response` (`check_http_connect_request`,
//! `ConnectHandshake::to_http_request`, `ConnectReply::to_http_response`).
//!
//! After the `200` the stream's DATA frames carry RFC 6455 frames in both
//! directions, byte for byte as a TCP connection would: run the same
//! [`Connection`](crate::ws::Connection) on it, `Role::Server` on the
//! server and `Role::Client` on the client, masking included (RFC 8441 §5).
//! Only the transport's close differs:
//!
//! | TCP (RFC 6455) | HTTP/2 stream | HTTP/3 stream |
//! |---|---|---|
//! | bytes received → `handle_read` | DATA payload | DATA payload |
//! | peer's FIN → `handle_eof` | peer's `END_STREAM` | peer's FIN |
//! | `should_close_transport()` → close / shut down writing | send `END_STREAM` (an empty DATA with the flag) | FIN |
//! | connection reset (abort) | `RST_STREAM`, `CANCEL` | `H3_REQUEST_CANCELLED` (0x010c) |
//!
//! An orderly close is the close handshake, then `END_STREAM`, as the TCP
//! close follows it on HTTP/1.1: the server ends its side first (RFC 6455
//! §7.1.1) and the client ends its own when it sees the server's
//! `END_STREAM`. `END_STREAM` from the peer before the close handshake is
//! reported by `poll_event` as an abnormal closure (1006), as a TCP EOF
//! would be. An `RST_STREAM` received, or a stream error from the stack, is an
//! abort: stop driving the `Connection` and drop it (there is no one left
//! to send a Close to). hyper's upgraded stream reads a reset with `CANCEL`
//! or `NO_ERROR` as the end of the stream, so it reaches `handle_eof` and
//! comes out as 1006 unless the close handshake was done; other reset codes
//! are I/O errors. To abort yourself (after a protocol error whose Close
//! could not be delivered, or a timeout), reset the stream with `CANCEL`
//! where the stack allows it, or drop it. Each WebSocket is one stream:
//! ending it leaves the HTTP/2 connection and its other streams open.
//!
//! A server that speaks both HTTP/1.1 and HTTP/2 on one route picks the
//! check by the request's version: the Upgrade for HTTP/1.1, extended
//! CONNECT for HTTP/2 and HTTP/3. `examples/ws_h2.rs` runs it all with hyper.
//!
//! # Example: both roles
//! ```
//! use pushcodec::ws::handshake::{self, ClientHandshake, Limits};
//!
//! let client = ClientHandshake::new("example.com", "/chat?room=7").protocols(&["chat.v2"]);
//! let mut wire = Vec::new();
//! client.encode_request(&mut wire);
//! wire.extend_from_slice(b"\x81\x85"); // the client's first frame may follow at once
//!
//! let (req, used) = handshake::parse_request(&wire, &Limits::default())?
//!     .expect("the head is complete");
//! assert_eq!(req.query(), Some("room=7"));
//! assert_eq!(&wire[used..], b"\x81\x85"); // handed back, not dropped
//!
//! let mut answer = Vec::new();
//! req.accept().protocol("chat.v2").encode(&mut answer)?;
//! let (resp, used) = client.parse_response(&answer)?.expect("complete");
//! assert_eq!(resp.protocol(), Some("chat.v2"));
//! assert_eq!(used, answer.len());
//! # Ok::<(), handshake::HandshakeError>(())
//! ```

use crate::prelude::*;
mod client;
mod error;
mod extended_connect;
mod extensions;
mod fields;
#[cfg(feature = "http")]
mod http;
mod mode;
mod negotiate;
mod reject;
mod server;

pub use client::ClientHandshake;
pub use error::{BuildError, FieldError, HandshakeError, RequestError, ResponseError};
pub use extended_connect::{
    CONNECT_PROTOCOL, ConnectAcceptBuilder, ConnectHandshake, ConnectReply, ConnectRequest,
    ConnectResponse, check_connect_request, connect_reject,
};
pub use extensions::ExtensionOffer;
#[cfg(feature = "http")]
pub use http::{
    check_http_connect_parts, check_http_connect_request, check_http_parts, check_http_request,
};
pub use mode::{AcceptBuilder, ExtendedConnect, Http1, Mode, Request, Response};
pub use reject::encode_reject;
pub use server::parse_request;

use base64::Engine as _;
use sha1::{Digest as _, Sha1};

/// The GUID that RFC 6455 §1.3 appends to the key before hashing.
const WS_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only protocol version this crate speaks (RFC 6455 §4.1 item 9).
pub const VERSION: &str = "13";

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2
/// item 5.4): base64 of the SHA-1 of the key followed by the RFC's GUID.
///
/// The key is hashed as sent (after the caller trimmed surrounding
/// whitespace); [`parse_request`] has already checked that it is valid.
///
/// # Example
/// ```
/// use pushcodec::ws::handshake::accept_key;
/// // RFC 6455 §1.3's example.
/// assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(WS_GUID);
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// Bounds on a handshake head, for both roles: the crate's one
/// [`HeadLimits`](crate::http1::HeadLimits) (16 KiB and 64 fields by
/// default), the same as an SSE request's. For an extended CONNECT they
/// bound the decoded field section.
pub use crate::http1::HeadLimits as Limits;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_1_3_accept_key_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
