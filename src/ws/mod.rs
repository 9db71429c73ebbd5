//! WebSocket (RFC 6455): handshake, frames and the connection state machine.
//!
//! - [`handshake`]: the HTTP/1.1 Upgrade (RFC 6455 §4) and the extended
//!   CONNECT of HTTP/2 and HTTP/3 (RFC 8441, RFC 9220), both roles.
//! - [`FrameHeader`], [`FrameDecoder`], [`apply_mask`]: the frame layer.
//! - [`Connection`]: what an application embeds after the handshake, with
//!   timers ([`Connection::handle_timeout`]), encode-once broadcast
//!   ([`PreparedMessage`]) and backpressure ([`SlowConsumer`]).
//! - `deflate` (feature `deflate`): permessage-deflate (RFC 7692).

mod close;
mod config;
mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
mod error;
mod event;
pub(crate) mod frame;
pub mod handshake;
mod mask;
mod prepared;

pub use crate::Utf8Bytes;
#[cfg(feature = "os-random")]
pub use crate::random::OsRandom;
pub use crate::random::RandomSource;
pub use close::{CloseCode, CloseFrame, MAX_CLOSE_REASON};
pub use config::{Config, SlowConsumer};
pub use connection::{Connection, State, Transmit};
pub use error::{ProtocolError, SendError, Violation};
pub use event::{Event, EventRef, MessageKind};
pub use frame::{
    FrameDecoder, FrameEvent, FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode,
    encode_frame,
};
pub use handshake::accept_key;
pub use mask::apply_mask;
pub use prepared::PreparedMessage;

/// Which end of the connection this endpoint is. It decides masking
/// (RFC 6455 §5.1) and who closes the transport first (§7.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Accepted the connection: sends unmasked frames, expects masked ones.
    Server,
    /// Opened the connection: masks every frame it sends.
    Client,
}
