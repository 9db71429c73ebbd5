//! Sans-IO Server-Sent Events and WebSocket for Rust: pure state machines
//! that turn byte chunks into events and events into bytes.
//!
//! The crate never opens a socket, spawns a task or reads a clock; a blocking
//! loop, an async runtime, an embedded loop, a fuzzer or a benchmark drives the
//! same code.
//!
//! - [`sse`] (feature `sse`): the WHATWG HTML §9.2 `text/event-stream` decoder
//!   and encoder, an `EventSource`'s reconnect state, and what a server needs
//!   to resume a client from `Last-Event-ID`.
//! - [`ws`] (feature `ws`): RFC 6455 handshakes (HTTP/1.1 Upgrade and the
//!   extended CONNECT of RFC 8441 / RFC 9220), frames and the connection
//!   state machine for both roles, with permessage-deflate (RFC 7692, feature
//!   `deflate`).
//! - [`topic`] (always): fan-out without gaps, for either protocol: an
//!   ordered, bounded log of entries encoded once, and per subscriber a
//!   cursor, so a reconnecting client gets exactly what it missed, then
//!   live entries, each once.
//! - the runtime adapter (opt-in, in its own module): the same state
//!   machines driven on an async runtime, for servers in a few lines; its
//!   module documentation lists what it holds and the two features that
//!   build it.
//! - [`http1`] (with either protocol): the one HTTP/1.1 head reader both
//!   use, its [`HeadLimits`](http1::HeadLimits) (16 KiB, 64 fields by
//!   default) and [`HeadError`](http1::HeadError).
//!
//! # Features
//!
//! | feature | default | what it adds | dependencies |
//! |---|---|---|---|
//! | `std` | yes | `Instant` timer methods, `IoSlice` writes, the dependencies' runtime CPU detection | (std) |
//! | `os-random` | yes | [`OsRandom`], the default source of masking keys and nonces (needs `std`) | getrandom |
//! | `sse` | yes | [`sse`] | none of its own |
//! | `ws` | yes | [`ws`] | sha1, base64 |
//! | `deflate` | no | `ws::deflate`, permessage-deflate | flate2 (pure-Rust zlib-rs) |
//! | `http` | no | conversions from and to the `http` crate's types | http |
//!
//! Both protocols share bytes, httparse, memchr, simdutf8 and thiserror. An SSE-only
//! build (`default-features = false, features = ["std", "sse"]`) compiles none of the
//! WebSocket dependencies. The runtime adapter's two features (its module's
//! documentation and the README list them) add the only code that uses a runtime;
//! everything else stays sans-IO with them on.
//!
//! # Without std
//!
//! With `default-features = false` and `sse` and/or `ws`, the crate is `#![no_std]`
//! and needs only `alloc` (a global allocator): firmware, a WebAssembly worker, a
//! kernel-bypass stack. Two things then come from the caller:
//!
//! - **Time**: every timer has an `_at` twin that takes the time as a
//!   [`Duration`](core::time::Duration) since an origin the caller picks (a
//!   tick counter, a monotonic clock's reading): `handle_timeout_at(now)` and
//!   `poll_timeout_at()` on [`ws::Connection`], [`sse::Heartbeat`] and
//!   [`sse::Client`] (and `handle_disconnect_at`, `handle_output_at`,
//!   `Heartbeat::with_interval_at`). With `std` the `Instant` methods are
//!   there too; one state machine uses one of the two timelines.
//! - **Randomness**: there is no [`OsRandom`], so a client's masking keys
//!   (RFC 6455 §5.3) and handshake nonces (§4.1) come from the caller's
//!   [`RandomSource`] (a hardware RNG or a CSPRNG seeded from one):
//!   [`Connection::client_with_random`](ws::Connection::client_with_random),
//!   [`ClientHandshake::with_random`](ws::handshake::ClientHandshake::with_random).
//!   The constructors that would fall back to the OS do not exist then, so a
//!   client without a source does not compile; there is never a fixed key.
//!   An SSE [`Client`](sse::Client) without a source takes the middle of its
//!   jitter range.
//!
//! `deflate`, `http` and the runtime adapter's features need `std`. CI builds the library
//! without it, runs the pure tests through the `_at` methods and a seeded
//! source, and links a `#![no_std]` static library over it (which fails if
//! anything pulls in std). The same loop as above, on a fake clock:
//!
//! ```
//! # #[cfg(feature = "ws")] {
//! use core::time::Duration;
//! use pushcodec::RandomSource;
//! use pushcodec::ws::{Config, Connection, Event};
//!
//! /// Stands in for the device's hardware RNG.
//! struct Trng(u32);
//! impl RandomSource for Trng {
//!     fn fill(&mut self, buf: &mut [u8]) {
//!         for b in buf {
//!             self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
//!             *b = (self.0 >> 24) as u8;
//!         }
//!     }
//! }
//!
//! let mut config = Config::default();
//! config.keepalive_interval = Some(Duration::from_secs(20));
//! let mut client = Connection::client_with_random(config, Box::new(Trng(1)));
//! let mut ticks = Duration::from_millis(5); // the device's uptime
//! client.handle_timeout_at(ticks);
//! assert_eq!(client.poll_timeout_at(), Some(ticks + Duration::from_secs(20)));
//!
//! client.send_text("hello")?;
//! let frame = client.poll_transmit().expect("a frame");
//! assert_eq!(frame[..2], [0x81, 0x85]); // text, masked (§5.3), 5 bytes
//!
//! // Twenty quiet seconds later the keepalive ping is due.
//! ticks += Duration::from_secs(20);
//! client.handle_timeout_at(ticks);
//! let ping = client.poll_transmit().expect("a ping");
//! assert_eq!(ping[..2], [0x89, 0x80]); // ping, masked, empty
//!
//! // The server's pong arrives (unmasked, §5.5.3).
//! client.handle_read(&[0x8a, 0x00]);
//! assert!(matches!(client.poll_event()?, Some(Event::Pong(_))));
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The drive loop
//!
//! Every state machine here is driven the same way, written once here: feed
//! what arrived (`feed`, `handle_read`, `handle_eof`) and pass the time
//! (`handle_timeout(now)`); after **every** such call and after every send,
//! drain the outputs (`poll_event` and `poll_transmit`, or the iterator that
//! `feed` returns) until both are empty; then wait for more bytes or until
//! `poll_timeout()`, whichever comes first.
//!
//! The repository's examples run exactly this loop: on a blocking socket
//! in `examples/common/blocking.rs` (used by `ws_echo`
//! and `ws_client`), with a channel for its input in the demo, over an HTTP/2
//! server's upgrade in `ws_h2` and through the runtime adapter in `ws_echo_tokio`.
//!
//! ```
//! # #[cfg(feature = "ws")] {
//! use core::time::Duration;
//! use pushcodec::ws::{Config, Connection, Event};
//!
//! let mut server = Connection::server(Config::default());
//! // Starts the keepalive clock on the caller's timeline (with `std`,
//! // `handle_timeout` takes an `Instant` instead).
//! server.handle_timeout_at(Duration::ZERO);
//!
//! // What a socket read gave: a masked text frame "Hello" (RFC 6455 §5.7).
//! server.handle_read(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
//! while let Some(event) = server.poll_event()? {
//!     if let Event::Text(text) = event {
//!         server.send_text(text)?; // echo
//!     }
//! }
//! let mut socket = Vec::new();
//! while let Some(bytes) = server.poll_transmit() {
//!     socket.extend_from_slice(&bytes); // socket.write_all(&bytes)
//! }
//! assert_eq!(socket, b"\x81\x05Hello");
//! // Sleep until more bytes arrive or `poll_timeout_at` passes, then go round again.
//! assert!(server.poll_timeout_at().is_some());
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Errors and limits
//!
//! What the peer got wrong is a typed error naming the rule (with its spec
//! section) and where it was broken; a WebSocket [`ProtocolError`](ws::ProtocolError)
//! knows the close code to send, a handshake [`RequestError`](ws::handshake::RequestError)
//! the HTTP status to answer.
//! Local misuse is a different type. Every buffer is bounded by a limit you
//! can set (`ws::Config`, `sse::Limits`, `http1::HeadLimits`); no input
//! makes the crate panic.
//!
//! The repository's README shows the demo, the conformance runs (Autobahn in
//! both roles, browsers, third-party peers) and `benches/README.md` the
//! measurements against tungstenite, fastwebsockets, sse-stream and
//! eventsource-stream.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::pedantic)]
#![allow(clippy::module_name_repetitions, clippy::must_use_candidate)]
// Without either protocol only `Utf8Bytes` is left; its crate-internal helpers go unused.
#![cfg_attr(not(any(feature = "sse", feature = "ws")), allow(dead_code))]

// Always `#![no_std]`, so every module names where a type comes from; the standard
// library is one more crate, for the `std` feature's additions (and for tests).
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

/// What the standard prelude would bring, from `alloc`.
#[allow(unused_imports)]
mod prelude {
    pub(crate) use alloc::borrow::ToOwned;
    pub(crate) use alloc::boxed::Box;
    pub(crate) use alloc::string::{String, ToString};
    pub(crate) use alloc::vec::Vec;
    pub(crate) use alloc::{format, vec};
}

#[cfg(any(feature = "sse", feature = "ws"))]
mod random;
#[cfg(any(feature = "sse", feature = "ws"))]
mod time;
mod utf8;

#[cfg(any(feature = "sse", feature = "ws"))]
pub mod http1;
#[cfg(feature = "sse")]
pub mod sse;
pub mod topic;
#[cfg(feature = "ws")]
pub mod ws;
// The one place a runtime is used; see the module docs.
#[cfg(feature = "tokio")]
pub mod tokio;

pub use bytes;
#[cfg(feature = "os-random")]
pub use random::OsRandom;
#[cfg(any(feature = "sse", feature = "ws"))]
pub use random::RandomSource;
pub use utf8::Utf8Bytes;

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "sse", feature = "ws"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
