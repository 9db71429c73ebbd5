//! WebSocket (RFC 6455): handshake, frames and the connection state machine.

pub mod handshake;
mod rng;

pub use rng::{OsRandom, RandomSource};
