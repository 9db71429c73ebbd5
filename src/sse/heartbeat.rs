//! Server heartbeats as sans-IO timer state: a comment after a quiet
//! period keeps proxies from timing the stream out and lets both ends
//! notice a dead connection.

use std::time::{Duration, Instant};

/// When to send a heartbeat comment: after `interval` without any output.
///
/// Call [`handle_output`](Self::handle_output) whenever anything is
/// written to the stream, wake at [`poll_timeout`](Self::poll_timeout),
/// and call [`handle_timeout`](Self::handle_timeout); when it returns true,
/// write a comment (say with [`encode_comment`](super::encode_comment)).
/// The timer is then re-armed from that instant.
///
/// # Example
/// `t0` is whatever the caller's clock said when the stream started; the
/// same timeline runs on a fake clock in `tests/sse_server.rs`.
/// ```
/// use std::time::{Duration, Instant};
/// use pushcodec::sse::Heartbeat;
///
/// fn timeline(t0: Instant) {
///     let mut hb = Heartbeat::new(t0);
///     assert_eq!(hb.poll_timeout(), t0 + Duration::from_secs(15));
///     hb.handle_output(t0 + Duration::from_secs(10)); // an event was sent
///     assert!(!hb.handle_timeout(t0 + Duration::from_secs(15)));
///     assert!(hb.handle_timeout(t0 + Duration::from_secs(25)));
///     let mut out = Vec::new();
///     pushcodec::sse::encode_comment("", &mut out); // ":\n"
///     assert_eq!(hb.poll_timeout(), t0 + Duration::from_secs(40));
/// }
/// # let _ = timeline;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    interval: Duration,
    deadline: Instant,
}

impl Heartbeat {
    /// The default quiet period before a heartbeat: 15 s.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

    /// A timer with the default interval, counting from `now`.
    pub fn new(now: Instant) -> Self {
        Self::with_interval(now, Self::DEFAULT_INTERVAL)
    }

    /// A timer with the given interval, counting from `now`.
    pub fn with_interval(now: Instant, interval: Duration) -> Self {
        Heartbeat {
            interval,
            deadline: after(now, interval),
        }
    }

    /// The quiet period.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Something was written at `now`: the quiet period starts again.
    pub fn handle_output(&mut self, now: Instant) {
        self.deadline = after(now, self.interval);
    }

    /// When the next heartbeat is due.
    #[must_use]
    pub fn poll_timeout(&self) -> Instant {
        self.deadline
    }

    /// Advances time; true means "send a heartbeat comment now" (the timer
    /// counts that as output).
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        if now < self.deadline {
            return false;
        }
        self.handle_output(now);
        true
    }
}

fn after(now: Instant, d: Duration) -> Instant {
    // A huge interval means "never" in practice; don't overflow.
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}
