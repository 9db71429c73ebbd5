//! Extended CONNECT (RFC 8441 for HTTP/2, RFC 9220 for HTTP/3): the opening
//! handshake of a WebSocket carried on one request stream, for both roles.
//!
//! The caller's HTTP/2 or HTTP/3 stack has already decoded the header block
//! (HPACK or QPACK); these checks take its fields as `(name, value)` pairs,
//! pseudo-headers included, and share subprotocol and extension negotiation
//! with the HTTP/1.1 path ([`negotiate`](super::negotiate)), as well as the
//! request, answer builder and response types ([`mode`](super::mode), as
//! `Request<ExtendedConnect>` and so on). The module docs of
//! [`handshake`](super) tell how the stream maps to `Connection`.
//!
//! This file holds what both roles share: the HTTP/2 and HTTP/3 field rules
//! (RFC 9113 §8.2, §8.3; RFC 9114 §4.2).

use crate::prelude::*;
mod client;
mod reply;
mod server;

pub use client::{ConnectHandshake, ConnectResponse};
pub use reply::{ConnectReply, connect_reject};
pub use server::{ConnectAcceptBuilder, ConnectRequest, check_connect_request};

use super::Limits;
use super::error::FieldError;
use super::fields::{Fields, is_field_value, is_token};

/// The `:protocol` value that asks for a WebSocket (RFC 8441 §4, from the
/// HTTP Upgrade Token Registry).
pub const CONNECT_PROTOCOL: &str = "websocket";

/// Pseudo-headers a request may carry, in this order in [`collect`]'s
/// output (RFC 9113 §8.3.1, RFC 8441 §4).
pub(crate) const REQUEST_PSEUDO: &[&str] =
    &[":method", ":protocol", ":scheme", ":authority", ":path"];

/// The one pseudo-header of a response (RFC 9113 §8.3.2).
pub(crate) const RESPONSE_PSEUDO: &[&str] = &[":status"];

/// Fields that are malformed in HTTP/2 and HTTP/3 messages (RFC 9113
/// §8.2.2, RFC 9114 §4.2); `te` too unless its value is `trailers`.
pub(crate) const CONNECTION_SPECIFIC: &[&str] = &[
    "connection",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
];

pub(crate) use crate::http1::lossy_cut;

pub(crate) fn malformed(name: &[u8], reason: &'static str) -> FieldError {
    FieldError::MalformedField {
        name: lossy_cut(name),
        reason,
    }
}

/// Splits a decoded field section into its pseudo-headers (by position in
/// `allowed`) and its regular fields, checking the HTTP/2 and HTTP/3 field
/// rules and the limits on the way.
pub(crate) fn collect<N, V>(
    input: impl IntoIterator<Item = (N, V)>,
    allowed: &'static [&'static str],
    limits: &Limits,
) -> Result<(Vec<Option<String>>, Fields), FieldError>
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
            return Err(FieldError::TooManyFields {
                limit: limits.max_headers,
            });
        }
        // RFC 9113 §6.5.2: a field costs its name, its value and 32 bytes.
        size = size
            .saturating_add(name.len())
            .saturating_add(value.len())
            .saturating_add(32);
        if size > limits.max_head_bytes {
            return Err(FieldError::FieldSectionTooLarge {
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
            match core::str::from_utf8(value) {
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
            fields.push(core::str::from_utf8(name).unwrap_or_default(), value);
        }
    }
    Ok((pseudo, fields))
}

/// RFC 9113 §8.2.2, RFC 9114 §4.2: a message with a connection-specific
/// field is malformed (names are lowercase once through [`collect`]).
pub(crate) fn no_connection_specific(fields: &Fields) -> Result<(), FieldError> {
    match fields
        .iter()
        .find(|(n, v)| CONNECTION_SPECIFIC.contains(n) || (*n == "te" && *v != b"trailers"))
    {
        Some((name, _)) => Err(FieldError::ConnectionSpecificHeader {
            name: name.to_owned(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_is_counted_as_rfc9113_6_5_2() {
        // Two fields of 1 + 1 bytes each cost 68 bytes.
        let mut limits = Limits::new();
        limits.max_head_bytes = 67;
        let two = [("a", "b"), ("c", "d")];
        assert_eq!(
            collect(two, REQUEST_PSEUDO, &limits).unwrap_err(),
            FieldError::FieldSectionTooLarge { limit: 67 }
        );
        limits.max_head_bytes = 68;
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
}
