//! Errors of the WebSocket frame and connection layers.

use core::time::Duration;

use super::CloseCode;

/// A fatal violation by the peer: which rule it broke and where in the
/// received byte stream. The connection has queued the Close frame that
/// [`close_code`](Self::close_code) names; nothing more will be received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{violation} (at received byte {offset})")]
pub struct ProtocolError {
    violation: Violation,
    offset: u64,
}

impl ProtocolError {
    pub(crate) fn new(violation: Violation, offset: u64) -> Self {
        ProtocolError { violation, offset }
    }

    /// The rule that was broken.
    pub fn violation(&self) -> &Violation {
        &self.violation
    }

    /// Offset in the received stream (counting from the first byte after
    /// the handshake) of the frame or byte that broke the rule.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The code the Close frame answering this error carries; `None` when
    /// no Close can be sent (the transport ended, code 1006).
    pub fn close_code(&self) -> Option<CloseCode> {
        self.violation.close_code()
    }
}

/// The rule a peer broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// RSV bits set that no negotiated extension defines.
    #[error("reserved bits {rsv:#05b} set without an extension that defines them (RFC 6455 §5.2)")]
    ReservedBits {
        /// The three RSV bits, RSV1 as the high bit.
        rsv: u8,
    },
    /// An opcode the protocol reserves (3–7, 11–15).
    #[error("reserved opcode {opcode:#x} (RFC 6455 §5.2)")]
    ReservedOpcode {
        /// The opcode received.
        opcode: u8,
    },
    /// A server received an unmasked frame.
    #[error("client frame is not masked (RFC 6455 §5.1)")]
    UnmaskedFrame,
    /// A client received a masked frame.
    #[error("server frame is masked (RFC 6455 §5.1)")]
    MaskedFrame,
    /// A payload length encoded in more bytes than needed.
    #[error("payload length {len} not in minimal encoding (RFC 6455 §5.2)")]
    NonMinimalLength {
        /// The length received.
        len: u64,
    },
    /// A 64-bit payload length with its most significant bit set.
    #[error("64-bit payload length has its most significant bit set (RFC 6455 §5.2)")]
    LengthTooLong,
    /// A control frame with more than 125 bytes of payload.
    #[error("control frame payload of {len} bytes exceeds 125 (RFC 6455 §5.5)")]
    ControlFrameTooLong {
        /// The payload length received.
        len: u64,
    },
    /// A control frame without FIN.
    #[error("fragmented control frame (RFC 6455 §5.5)")]
    FragmentedControlFrame,
    /// A continuation frame with no message to continue.
    #[error("continuation frame without a message in progress (RFC 6455 §5.4)")]
    UnexpectedContinuation,
    /// A new data message began before the previous one ended.
    #[error("new data frame while a fragmented message is in progress (RFC 6455 §5.4)")]
    ExpectedContinuation,
    /// RSV1 (permessage-deflate's "compressed") on a continuation or
    /// control frame.
    #[error("RSV1 set on a continuation or control frame (RFC 7692 §6.1)")]
    MisplacedCompressionBit,
    /// A compressed message that does not inflate.
    #[error("compressed payload is not valid DEFLATE data (RFC 7692 §7.2.2)")]
    InvalidCompressedData,
    /// A frame over the configured frame size limit.
    #[error("frame payload of {len} bytes exceeds the limit of {limit} (max_frame_size)")]
    FrameTooLarge {
        /// The payload length announced.
        len: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A message over the configured message size limit.
    #[error("message of at least {size} bytes exceeds the limit of {limit} (max_message_size)")]
    MessageTooLarge {
        /// The size the message would reach.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A message in more fragments than the configured limit.
    #[error("message exceeds the limit of {limit} fragments (max_fragments)")]
    TooManyFragments {
        /// The configured limit.
        limit: usize,
    },
    /// A text message or close reason that is not valid UTF-8.
    #[error("invalid UTF-8 in text (RFC 6455 §8.1)")]
    InvalidUtf8,
    /// A Close frame whose payload is a single byte.
    #[error("close frame payload of 1 byte (RFC 6455 §5.5.1)")]
    TruncatedClosePayload,
    /// A Close frame with a code that may not be sent.
    #[error("invalid close code {code} (RFC 6455 §7.4)")]
    InvalidCloseCode {
        /// The code received.
        code: u16,
    },
    /// The peer sent pings faster than the transport drained the pongs.
    #[error(
        "outbound buffer over its limit of {limit} bytes while answering pings (max_outbound_buffer)"
    )]
    OutboundBufferFull {
        /// The configured limit.
        limit: usize,
    },
    /// Nothing arrived within `pong_timeout` of a keepalive ping: the peer
    /// or the path to it is gone (a half-open connection).
    #[error("peer silent for {timeout:?} after a keepalive ping (pong_timeout)")]
    PongTimeout {
        /// The configured deadline.
        timeout: Duration,
    },
    /// The close handshake did not finish within `close_timeout`.
    #[error("close handshake not finished within {timeout:?} (close_timeout)")]
    CloseTimeout {
        /// The configured deadline.
        timeout: Duration,
    },
    /// The transport ended before the close handshake.
    #[error("transport closed without a close handshake (RFC 6455 §7.1.5, code 1006)")]
    AbnormalClosure,
}

impl Violation {
    /// The close code an endpoint sends when it fails the connection for
    /// this reason (RFC 6455 §7.4.1); `None` when the transport is to be
    /// dropped without one (it ended, or the peer stopped answering).
    pub fn close_code(&self) -> Option<CloseCode> {
        Some(match self {
            Violation::FrameTooLarge { .. } | Violation::MessageTooLarge { .. } => {
                CloseCode::MESSAGE_TOO_BIG
            }
            Violation::TooManyFragments { .. } | Violation::OutboundBufferFull { .. } => {
                CloseCode::POLICY_VIOLATION
            }
            Violation::InvalidUtf8 | Violation::InvalidCompressedData => CloseCode::INVALID_PAYLOAD,
            Violation::AbnormalClosure
            | Violation::PongTimeout { .. }
            | Violation::CloseTimeout { .. } => return None,
            _ => CloseCode::PROTOCOL_ERROR,
        })
    }
}

/// Why the connection refused to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// A Close was already sent (RFC 6455 §5.5.1: no data after Close), or
    /// the connection failed.
    #[error("the connection is closing or closed: no more frames may be sent (RFC 6455 §5.5.1)")]
    Closed,
    /// A whole message was sent while a fragmented one is unfinished.
    #[error("a fragmented message is in progress; finish it first (RFC 6455 §5.4)")]
    MessageInProgress,
    /// A fragment of a different kind than the message in progress.
    #[error("fragment kind differs from the message in progress")]
    KindMismatch,
    /// A control frame payload over 125 bytes.
    #[error("control frame payload of {len} bytes exceeds 125 (RFC 6455 §5.5)")]
    ControlPayloadTooLong {
        /// The payload length given.
        len: usize,
    },
    /// A close code that must not be sent (1005, 1006, 1015, out of range).
    #[error("close code {code} may not be sent (RFC 6455 §7.4)")]
    InvalidCloseCode {
        /// The code given.
        code: u16,
    },
    /// A close reason over 123 bytes.
    #[error("close reason of {len} bytes exceeds 123 (RFC 6455 §5.5)")]
    CloseReasonTooLong {
        /// The reason's length in bytes.
        len: usize,
    },
    /// Text fragments that do not form valid UTF-8.
    #[error("text fragment is not valid UTF-8 (RFC 6455 §5.6)")]
    InvalidUtf8,
    /// More bytes are queued than the configured limit; drain
    /// `poll_transmit` first.
    #[error(
        "{buffered} bytes already queued, at or over the limit of {limit} (max_outbound_buffer)"
    )]
    Backpressure {
        /// Bytes queued and not yet pulled by `poll_transmit`.
        buffered: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The outbound queue was full under [`SlowConsumer::Close`](super::SlowConsumer::Close):
    /// the message was not sent, the frames not yet handed out by
    /// `poll_transmit` were discarded (`discarded` bytes), and a Close with
    /// `code` is the next thing to write.
    #[error(
        "{buffered} bytes queued, over the limit of {limit}: connection closed with {code} (slow consumer)"
    )]
    SlowConsumer {
        /// Bytes queued and not yet pulled by `poll_transmit`.
        buffered: usize,
        /// The configured limit.
        limit: usize,
        /// The close code sent.
        code: CloseCode,
        /// Bytes of queued frames dropped so the Close can go out next.
        discarded: usize,
    },
}
