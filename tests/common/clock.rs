//! One test script for both builds. With `std` the crate's timers take
//! `std::time::Instant` (`handle_timeout(now)`); without it, a `Duration`
//! since an origin the caller picks (`handle_timeout_at(now)`), and a client
//! needs the caller's random source. These traits give the no-std build the
//! std names, forwarding to the `_at` methods and a seeded source, so the
//! same scripts run through the `Instant` path with `std` and through the
//! injected clock and randomness without it (inherent methods win where
//! both exist). `.ci/check-no-std.sh` runs the pure tests that way.
#![allow(dead_code)]

#[cfg(all(not(feature = "std"), feature = "ws"))]
use pushcodec::ws::{Config, Connection, Role, handshake::ClientHandshake};

/// The tests' time: the caller's monotonic instant.
#[cfg(feature = "std")]
pub type Time = std::time::Instant;
/// The tests' time: a `Duration` since the test's own origin.
#[cfg(not(feature = "std"))]
pub type Time = core::time::Duration;

/// A starting time for a script.
pub fn t0() -> Time {
    #[cfg(feature = "std")]
    return std::time::Instant::now();
    // Not zero, so a test that subtracts a little still stays positive.
    #[cfg(not(feature = "std"))]
    return core::time::Duration::from_secs(1_000);
}

/// xorshift64*: reproducible masking keys for tests, never for a real
/// connection (RFC 6455 §5.3 wants them unpredictable).
#[derive(Debug, Clone)]
pub struct SeededRandom(pub u64);

impl pushcodec::RandomSource for SeededRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        }
    }
}

/// The std timer names, for the no-std build.
#[cfg(not(feature = "std"))]
pub trait Timed {
    /// `handle_timeout_at`.
    fn handle_timeout(&mut self, now: Time);
    /// `poll_timeout_at`.
    fn poll_timeout(&self) -> Option<Time>;
}

/// Every timed state machine forwards the same two methods.
macro_rules! timed {
    ($($machine:ty),*) => {$(
        #[cfg(not(feature = "std"))]
        impl Timed for $machine {
            fn handle_timeout(&mut self, now: Time) {
                self.handle_timeout_at(now);
            }
            fn poll_timeout(&self) -> Option<Time> {
                self.poll_timeout_at()
            }
        }
    )*};
}
#[cfg(feature = "ws")]
timed!(Connection);
#[cfg(feature = "sse")]
timed!(pushcodec::sse::Heartbeat, pushcodec::sse::Client);

/// The constructors that draw from `OsRandom` with std, from a seeded
/// source without it.
#[cfg(all(not(feature = "std"), feature = "ws"))]
pub trait Seeded {
    /// `Connection::new`.
    fn new(role: Role, config: Config) -> Self;
    /// `Connection::client`.
    fn client(config: Config) -> Self;
}

#[cfg(all(not(feature = "std"), feature = "ws"))]
impl Seeded for Connection {
    fn new(role: Role, config: Config) -> Self {
        match role {
            Role::Server => Connection::server(config),
            Role::Client => Self::client(config),
        }
    }
    fn client(config: Config) -> Self {
        Connection::client_with_random(config, Box::new(SeededRandom(0x9E37_79B9_7F4A_7C15)))
    }
}

/// `ClientHandshake::new` without std.
#[cfg(all(not(feature = "std"), feature = "ws"))]
pub trait SeededHandshake {
    /// A handshake with a seeded key.
    fn new(host: &str, path: &str) -> Self;
}

#[cfg(all(not(feature = "std"), feature = "ws"))]
impl SeededHandshake for ClientHandshake {
    fn new(host: &str, path: &str) -> Self {
        // A new seed per handshake: RFC 6455 §4.1 wants a fresh key per
        // connection, and the tests check that it is.
        static NEXT_SEED: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(7);
        let seed = NEXT_SEED.fetch_add(0x9E37_79B9, core::sync::atomic::Ordering::Relaxed);
        ClientHandshake::with_random(host, path, &mut SeededRandom(seed))
    }
}

/// The remaining std names of the SSE client and heartbeat.
#[cfg(all(not(feature = "std"), feature = "sse"))]
pub trait SseTimed {
    /// `Client::handle_disconnect`.
    fn handle_disconnect(&mut self, now: Time) -> Option<Time>;
}

#[cfg(all(not(feature = "std"), feature = "sse"))]
impl SseTimed for pushcodec::sse::Client {
    fn handle_disconnect(&mut self, now: Time) -> Option<Time> {
        self.handle_disconnect_at(now)
    }
}

/// `Heartbeat`'s std constructors and `handle_output`.
#[cfg(all(not(feature = "std"), feature = "sse"))]
pub trait HeartbeatAt {
    /// `Heartbeat::new`.
    fn new(now: Time) -> Self;
    /// `Heartbeat::with_interval`.
    fn with_interval(now: Time, interval: core::time::Duration) -> Self;
    /// `Heartbeat::handle_output`.
    fn handle_output(&mut self, now: Time);
}

#[cfg(all(not(feature = "std"), feature = "sse"))]
impl HeartbeatAt for pushcodec::sse::Heartbeat {
    fn new(now: Time) -> Self {
        Self::with_interval_at(now, Self::DEFAULT_INTERVAL)
    }
    fn with_interval(now: Time, interval: core::time::Duration) -> Self {
        Self::with_interval_at(now, interval)
    }
    fn handle_output(&mut self, now: Time) {
        self.handle_output_at(now);
    }
}
