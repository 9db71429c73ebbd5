//! Close codes and Close frame payloads (RFC 6455 §5.5.1, §7.4).

use core::fmt;

use crate::Utf8Bytes;

/// Longest close reason: a control frame carries at most 125 bytes and the
/// code takes two (RFC 6455 §5.5).
pub const MAX_CLOSE_REASON: usize = 123;

/// A WebSocket close status code (RFC 6455 §7.4).
///
/// Any `u16` can be held, so a received code can be reported as it was; the
/// methods say what the rules allow.
///
/// # Example
/// ```
/// use pushcodec::ws::CloseCode;
///
/// assert!(CloseCode::NORMAL.is_sendable());
/// assert!(!CloseCode::NO_STATUS.is_sendable()); // 1005 is never put on the wire
/// assert!(CloseCode(4000).is_valid_received());
/// assert!(!CloseCode(1004).is_valid_received());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection is fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no code was present; reserved, never sent (§7.4.1).
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: closed without a Close frame; reserved, never sent (§7.4.1).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: data inconsistent with the message type (e.g. invalid UTF-8).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client needed an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting (IANA registry).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later, e.g. overloaded (IANA registry).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway got an invalid response upstream (IANA registry).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: TLS handshake failure; reserved, never sent (§7.4.1).
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether a Close frame received from the peer may carry this code.
    ///
    /// RFC 6455 §7.4: 1000–1003 and 1007–1011 are defined, 1012–1014 are
    /// registered with IANA since, 3000–4999 are for libraries and
    /// applications. Everything else (0–999, 1004–1006, 1015–2999, 5000 and
    /// up) is a protocol error.
    pub const fn is_valid_received(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// Whether this endpoint may send the code: the same set as
    /// [`is_valid_received`](Self::is_valid_received), so 1005, 1006 and 1015
    /// are never written (§7.4.1).
    pub const fn is_sendable(self) -> bool {
        self.is_valid_received()
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The body of a Close frame: a code and a UTF-8 reason of at most
/// [`MAX_CLOSE_REASON`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// Why, for humans; may be empty.
    pub reason: Utf8Bytes,
}

/// What is wrong with a received Close payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClosePayloadError {
    /// One byte: half a code (§5.5.1).
    Truncated,
    /// A code outside the allowed ranges (§7.4).
    InvalidCode(u16),
    /// The reason is not UTF-8 (§5.5.1).
    InvalidReason,
}

impl From<ClosePayloadError> for super::Violation {
    fn from(e: ClosePayloadError) -> Self {
        match e {
            ClosePayloadError::Truncated => super::Violation::TruncatedClosePayload,
            ClosePayloadError::InvalidCode(code) => super::Violation::InvalidCloseCode { code },
            ClosePayloadError::InvalidReason => super::Violation::InvalidUtf8,
        }
    }
}

/// A Close frame's payload as this endpoint sends it (RFC 6455 §5.5.1):
/// the code, then as much of the reason as fits in 123 bytes, cut at a
/// character boundary. Every Close the connection writes is built here.
#[derive(Clone, Copy)]
pub(crate) struct ClosePayload {
    bytes: [u8; 2 + MAX_CLOSE_REASON],
    len: u8,
}

impl ClosePayload {
    pub(crate) fn new(code: CloseCode, reason: &str) -> Self {
        let mut end = reason.len().min(MAX_CLOSE_REASON);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0u8; 2 + MAX_CLOSE_REASON];
        bytes[..2].copy_from_slice(&code.0.to_be_bytes());
        bytes[2..2 + end].copy_from_slice(&reason.as_bytes()[..end]);
        #[expect(clippy::cast_possible_truncation, reason = "at most 125")]
        let len = (2 + end) as u8;
        ClosePayload { bytes, len }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Parses a received Close payload (already unmasked). `Ok(None)`: no code.
pub(crate) fn parse_close_payload(
    payload: &bytes::Bytes,
) -> Result<Option<CloseFrame>, ClosePayloadError> {
    match payload.len() {
        0 => Ok(None),
        1 => Err(ClosePayloadError::Truncated),
        _ => {
            let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
            if !code.is_valid_received() {
                return Err(ClosePayloadError::InvalidCode(code.0));
            }
            let reason = Utf8Bytes::try_from(payload.slice(2..))
                .map_err(|_| ClosePayloadError::InvalidReason)?;
            Ok(Some(CloseFrame { code, reason }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn autobahn_7_7_codes_are_accepted_and_7_9_codes_rejected() {
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
        ] {
            assert!(CloseCode(code).is_valid_received(), "{code}");
        }
        for code in [
            0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!CloseCode(code).is_valid_received(), "{code}");
        }
    }

    #[test]
    fn rfc6455_7_4_1_reserved_codes_are_never_sendable() {
        for code in [1005, 1006, 1015] {
            assert!(!CloseCode(code).is_sendable());
        }
    }

    #[test]
    fn a_sent_reason_is_cut_at_a_character_boundary_to_fit_123_bytes() {
        let long = "é".repeat(100); // 200 bytes of 2-byte characters
        let payload = ClosePayload::new(CloseCode::NORMAL, &long);
        assert_eq!(payload.as_bytes().len(), 2 + 122);
        assert_eq!(&payload.as_bytes()[..2], &[0x03, 0xe8]);
        assert!(core::str::from_utf8(&payload.as_bytes()[2..]).is_ok());
        assert_eq!(
            ClosePayload::new(CloseCode(4000), "bye").as_bytes(),
            b"\x0f\xa0bye"
        );
    }

    #[test]
    fn close_payloads() {
        assert_eq!(parse_close_payload(&Bytes::new()), Ok(None));
        assert_eq!(
            parse_close_payload(&Bytes::from_static(&[0x03])),
            Err(ClosePayloadError::Truncated)
        );
        assert_eq!(
            parse_close_payload(&Bytes::from_static(&[0x03, 0xec])),
            Err(ClosePayloadError::InvalidCode(1004))
        );
        assert_eq!(
            parse_close_payload(&Bytes::from_static(b"\x03\xe8\xff")),
            Err(ClosePayloadError::InvalidReason)
        );
        let frame = parse_close_payload(&Bytes::from_static(b"\x0f\xa0bye"))
            .unwrap()
            .unwrap();
        assert_eq!(frame.code, CloseCode(4000));
        assert_eq!(frame.reason, "bye");
    }
}
