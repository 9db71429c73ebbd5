//! permessage-deflate (RFC 7692), behind the `deflate` feature.
//!
//! Two halves:
//! - negotiation ([`negotiate_server`], [`client_offer`],
//!   [`negotiate_client`]): strict RFC 7692 §5/§7.1 rules, producing the
//!   agreed [`DeflateParams`];
//! - the engine ([`PerMessageDeflate`]): one per connection, compressing
//!   outgoing messages and inflating incoming ones (§7.2) with the inflated
//!   size bounded *while* inflating, so a zip bomb costs at most the budget.
//!
//! The backend is `flate2` on the pure-Rust `zlib-rs`. It cannot compress
//! with a raw 8-bit window (and flate2 panics on 8), so negotiation declines
//! (server) or fails (client) any agreement that would force our compressor
//! to 8 bits. The peer may compress with 8 bits: we always inflate with a
//! 15-bit window, which decodes any smaller one.
//!
//! # Memory per connection
//!
//! Measured with a counting allocator (`tests/ws_deflate_memory.rs`, which
//! also checks the figures stay within 2x of zlib's formula), flate2 1.1 on
//! zlib-rs 0.6: heap bytes one connection's engine holds once it has sent
//! and received a compressed message with context takeover. The level
//! (0–9) makes no difference; only our compressor's window does. The
//! inflater always uses a 15-bit window.
//!
//! | our compressor window | compressor | inflater | per connection |
//! | --- | --- | --- | --- |
//! | 15 | 380 032 | 47 552 | 427 584 (418 KiB) |
//! | 14 | 314 496 | 47 552 | 362 048 (354 KiB) |
//! | 13 | 281 728 | 47 552 | 329 280 (322 KiB) |
//! | 12 | 265 344 | 47 552 | 312 896 (306 KiB) |
//! | 11 | 257 152 | 47 552 | 304 704 (298 KiB) |
//! | 10 | 253 056 | 47 552 | 300 608 (294 KiB) |
//! | 9  | 251 008 | 47 552 | 298 560 (292 KiB) |
//!
//! That is `4 << bits` bytes plus about 245 KiB for the compressor (zlib's
//! formula `(1 << (bits + 2)) + (1 << (memLevel + 9))` gives 128 KiB for
//! the constant part: zlib-rs keeps a fixed 64 Ki-entry hash table, and
//! flate2 fixes memLevel at 8), and 46 KiB for the inflater.
//!
//! Each context is created at its first compressed message. Without
//! context takeover in a direction (RFC 7692 §7.1.1: that is what the
//! parameters are for), its context is reset after every message, which
//! keeps its memory for the next one, and given back when the connection
//! goes idle ([`Connection::handle_timeout`](crate::ws::Connection::handle_timeout)
//! with nothing left to write, or [`PerMessageDeflate::release_idle`]). So
//! an idle connection's engine holds no deflate context (0 bytes) with
//! `server_no_context_takeover` and `client_no_context_takeover` both
//! agreed, only the row's compressor or inflater with one of them, and
//! none before its first compressed message; `Connection::with_deflate`
//! boxes the engine's own state (under 400 bytes) from the start. Resetting
//! instead of rebuilding per message took the deflate bench's rows without
//! context takeover from 1.8× (decode) and 1.2× (compress) of the backend
//! alone (`limit_flate2`, which resets its contexts too) to 1.24× and 1.04×.
//! Inflating allocates nothing else: output goes through a stack buffer
//! into the caller's `BytesMut`.

mod engine;
mod negotiate;

pub use engine::{InflateError, PerMessageDeflate, SharedCompression};
pub use negotiate::{DeflateNegotiationError, client_offer, negotiate_client, negotiate_server};

/// Our permessage-deflate policy, for either role.
///
/// The window fields are the *limits we want* on each side's LZ77 window
/// (RFC 7692 §7.1.2); values outside 9..=15 are clamped into that range
/// (no backend can compress with a raw 8-bit window).
///
/// Memory: see the [module docs](self#memory-per-connection).
///
/// # Example
/// ```
/// use pushcodec::ws::deflate::{DeflateConfig, client_offer};
/// let mut config = DeflateConfig::default();
/// config.client_no_context_takeover = true;
/// config.server_max_window_bits = 12;
/// assert_eq!(
///     client_offer(&config),
///     "permessage-deflate; client_max_window_bits; server_max_window_bits=12; client_no_context_takeover"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// The server resets its compressor after each message. A server with
    /// this set always says so in its response; a client asks for it.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after each message. A server with
    /// this set requires it of the client; a client announces it.
    pub client_no_context_takeover: bool,
    /// Largest window (9..=15) the server's compressor may use.
    pub server_max_window_bits: u8,
    /// Largest window (9..=15) the client's compressor may use.
    pub client_max_window_bits: u8,
    /// Compression level, 0 (stored only) ..= 9 (best); higher is clamped.
    pub level: u32,
    /// Messages shorter than this are sent uncompressed (RSV1 clear): below
    /// a few hundred bytes deflate rarely pays for its CPU time.
    pub min_compress_size: usize,
    /// Server only: accept permessage-deflate offers at all. A client
    /// chooses by sending [`client_offer`] or not.
    pub accept: bool,
}

impl Default for DeflateConfig {
    /// Context takeover on both sides, 15-bit windows, level 6 (zlib's
    /// default, as in Node `ws` and Python `websockets`), messages under
    /// 128 bytes uncompressed, server accepts offers.
    fn default() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            level: 6,
            min_compress_size: 128,
            accept: true,
        }
    }
}

impl DeflateConfig {
    pub(crate) fn server_window(&self) -> u8 {
        self.server_max_window_bits.clamp(9, 15)
    }

    pub(crate) fn client_window(&self) -> u8 {
        self.client_max_window_bits.clamp(9, 15)
    }
}

/// The agreement reached in the handshake: for each direction, the
/// compressor's window bits (8..=15) and whether it resets after each
/// message. Produced by [`negotiate_server`] or [`negotiate_client`]; the
/// window of the side that negotiated it is always 9..=15.
///
/// # Example
/// ```
/// use pushcodec::ws::deflate::{DeflateConfig, negotiate_server};
/// use pushcodec::ws::handshake::ExtensionOffer;
/// let offers = ExtensionOffer::parse_list("permessage-deflate; server_max_window_bits=10")?;
/// let (params, response) = negotiate_server(&offers, &DeflateConfig::default()).unwrap();
/// assert_eq!(response, "permessage-deflate; server_max_window_bits=10");
/// assert_eq!(params.server_max_window_bits(), 10);
/// assert!(!params.server_no_context_takeover());
/// # Ok::<(), pushcodec::ws::handshake::HandshakeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeflateParams {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
}

impl DeflateParams {
    /// The server resets its compressor after each message.
    pub fn server_no_context_takeover(&self) -> bool {
        self.server_no_context_takeover
    }

    /// The client resets its compressor after each message.
    pub fn client_no_context_takeover(&self) -> bool {
        self.client_no_context_takeover
    }

    /// The server's compressor window, in bits.
    pub fn server_max_window_bits(&self) -> u8 {
        self.server_max_window_bits
    }

    /// The client's compressor window, in bits.
    pub fn client_max_window_bits(&self) -> u8 {
        self.client_max_window_bits
    }
}
