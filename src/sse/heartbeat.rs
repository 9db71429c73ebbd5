//! Server heartbeats as sans-IO timer state: a comment after a quiet
//! period keeps proxies from timing the stream out and lets both ends
//! notice a dead connection.

use core::time::Duration;
#[cfg(feature = "std")]
use std::time::Instant;

#[cfg(feature = "std")]
use crate::time::Origin;
use crate::time::after;

use bytes::Bytes;

/// The heartbeat on the wire: an empty comment line (§9.2.6: a line that
/// starts with a colon is ignored), ending no event.
const HEARTBEAT: &[u8] = b":\n";

/// When to send a heartbeat comment: after `interval` without any output.
///
/// The same loop as every pushcodec state machine: call
/// [`handle_output`](Self::handle_output) whenever anything is written to
/// the stream, wake at [`poll_timeout`](Self::poll_timeout), call
/// [`handle_timeout`](Self::handle_timeout), then write what
/// [`poll_transmit`](Self::poll_transmit) gives (the comment `:\n` when a
/// heartbeat is due). The timer is re-armed from that instant.
///
/// # Example
/// `t0` is whatever the caller's clock said when the stream started; the
/// same timeline runs on a fake clock in `tests/sse/server.rs`.
/// ```
/// use std::time::{Duration, Instant};
/// use pushcodec::sse::Heartbeat;
///
/// fn timeline(t0: Instant) {
///     let mut hb = Heartbeat::new(t0);
///     assert_eq!(hb.poll_timeout(), Some(t0 + Duration::from_secs(15)));
///     hb.handle_output(t0 + Duration::from_secs(10)); // an event was sent
///     hb.handle_timeout(t0 + Duration::from_secs(15));
///     assert_eq!(hb.poll_transmit(), None, "not quiet for long enough");
///     hb.handle_timeout(t0 + Duration::from_secs(25));
///     assert_eq!(hb.poll_transmit().as_deref(), Some(&b":\n"[..]));
///     assert_eq!(hb.poll_transmit(), None);
///     assert_eq!(hb.poll_timeout(), Some(t0 + Duration::from_secs(40)));
/// }
/// # let _ = timeline;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    interval: Duration,
    /// On the caller's timeline (see [`with_interval_at`](Self::with_interval_at)).
    deadline: Duration,
    #[cfg(feature = "std")]
    origin: Origin,
    /// A heartbeat is due and not yet handed out.
    due: bool,
}

impl Heartbeat {
    /// The default quiet period before a heartbeat: 15 s.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

    /// A timer with the default interval, counting from `now`.
    #[cfg(feature = "std")]
    pub fn new(now: Instant) -> Self {
        Self::with_interval(now, Self::DEFAULT_INTERVAL)
    }

    /// A timer with the given interval, counting from `now`.
    #[cfg(feature = "std")]
    pub fn with_interval(now: Instant, interval: Duration) -> Self {
        let mut origin = Origin::default();
        let at = origin.since(now);
        Heartbeat {
            origin,
            ..Self::with_interval_at(at, interval)
        }
    }

    /// As [`with_interval`](Self::with_interval), with the time as a
    /// `Duration` since an origin the caller picks (without `std`, the way
    /// time comes in; see the crate docs' "Without std"). Use the `_at`
    /// methods throughout with a timer made here.
    pub fn with_interval_at(now: Duration, interval: Duration) -> Self {
        Heartbeat {
            interval,
            deadline: after(now, interval),
            #[cfg(feature = "std")]
            origin: Origin::default(),
            due: false,
        }
    }

    /// The quiet period.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Something was written at `now`: the quiet period starts again (and a
    /// heartbeat due but not yet taken is not needed).
    #[cfg(feature = "std")]
    pub fn handle_output(&mut self, now: Instant) {
        let at = self.origin.since(now);
        self.handle_output_at(at);
    }

    /// As [`handle_output`](Self::handle_output), on the caller's timeline.
    pub fn handle_output_at(&mut self, now: Duration) {
        self.deadline = after(now, self.interval);
        self.due = false;
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next needed (always
    /// `Some` for a timer made from an `Instant`: a heartbeat is always
    /// armed; an `Option` like every other timer in the crate, so one drive
    /// loop serves them all).
    #[cfg(feature = "std")]
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.origin.instant(self.deadline)
    }

    /// As [`poll_timeout`](Self::poll_timeout), on the caller's timeline
    /// (always `Some`).
    #[must_use]
    pub fn poll_timeout_at(&self) -> Option<Duration> {
        Some(self.deadline)
    }

    /// Advances time: after `interval` of quiet a heartbeat is due, and
    /// the quiet period counts again from `now`.
    #[cfg(feature = "std")]
    pub fn handle_timeout(&mut self, now: Instant) {
        let at = self.origin.since(now);
        self.handle_timeout_at(at);
    }

    /// As [`handle_timeout`](Self::handle_timeout), on the caller's timeline.
    pub fn handle_timeout_at(&mut self, now: Duration) {
        if now >= self.deadline {
            self.deadline = after(now, self.interval);
            self.due = true;
        }
    }

    /// The heartbeat comment to write, once per heartbeat due.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        core::mem::take(&mut self.due).then(|| Bytes::from_static(HEARTBEAT))
    }
}
