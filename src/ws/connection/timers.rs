//! Liveness timers as plain state: keepalive pings, the pong deadline that
//! detects a half-open connection, and the close-handshake timeout.
//!
//! Time comes in through `handle_timeout(now)`; the crate never reads a
//! clock. Received bytes are stamped with the time of the next
//! `handle_timeout` call, so a caller that passes the time after each read
//! (the documented drive loop) gets exact deadlines, and one that only calls
//! at deadlines still gets a ping within two intervals of silence.

use core::time::Duration;

#[cfg(feature = "std")]
use crate::time::Origin;

/// What a deadline asks the connection to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    /// Nothing was received for a keepalive interval: send a ping.
    SendPing,
    /// Nothing was received for `pong_timeout` after that ping.
    PeerUnresponsive,
    /// The close handshake (or, for a client, the server's TCP close) took
    /// longer than `close_timeout`.
    CloseTimedOut,
}

/// Which timers apply in the connection's current state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Phase {
    /// Data may still be sent: keepalive pings are possible.
    pub(crate) open: bool,
    /// Waiting for the peer to finish the close handshake.
    pub(crate) closing: bool,
}

/// The configured durations (kept in the connection's `Config`, not here,
/// so an idle connection stays small).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Durations {
    pub(crate) keepalive: Option<Duration>,
    pub(crate) pong_timeout: Option<Duration>,
    pub(crate) close_timeout: Option<Duration>,
}

/// A time as nanoseconds on the caller's timeline (see `crate::time`):
/// eight bytes where a `Duration` takes sixteen, so an idle connection
/// stays small. `NEVER` stands for "not set".
type Stamp = u64;
const NEVER: Stamp = u64::MAX;

#[derive(Debug, Clone)]
pub(crate) struct Timers {
    /// Where `Instant`s passed in count from (feature `std`).
    #[cfg(feature = "std")]
    pub(crate) origin: Origin,
    /// The latest time passed in.
    now: Stamp,
    /// Bytes arrived since the last `handle_timeout`.
    received: bool,
    last_received: Stamp,
    pong_due: Stamp,
    close_due: Stamp,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            #[cfg(feature = "std")]
            origin: Origin::default(),
            now: 0,
            received: false,
            last_received: NEVER,
            pong_due: NEVER,
            close_due: NEVER,
        }
    }
}

/// `a + d`, saturating below `NEVER`.
fn after(a: Stamp, d: Duration) -> Stamp {
    let d = u64::try_from(d.as_nanos()).unwrap_or(NEVER - 1);
    a.saturating_add(d).min(NEVER - 1)
}

fn set(stamp: Stamp) -> Option<Stamp> {
    (stamp != NEVER).then_some(stamp)
}

impl Timers {
    pub(crate) fn on_received(&mut self) {
        self.received = true;
    }

    /// Takes the time and says which deadline, if any, has passed.
    pub(crate) fn handle_timeout(
        &mut self,
        now: Duration,
        phase: Phase,
        d: Durations,
    ) -> Option<Expired> {
        let stamp = u64::try_from(now.as_nanos())
            .unwrap_or(NEVER - 1)
            .min(NEVER - 1);
        // Time never runs backwards here, whatever the caller passes.
        let now = self.now.max(stamp);
        self.now = now;
        if self.received || self.last_received == NEVER {
            // Any byte proves the peer alive, a pong or not.
            self.received = false;
            self.last_received = now;
            self.pong_due = NEVER;
        }
        if phase.closing {
            if let Some(timeout) = d.close_timeout {
                if self.close_due == NEVER {
                    self.close_due = after(now, timeout);
                }
                if now >= self.close_due {
                    return Some(Expired::CloseTimedOut);
                }
            }
        } else {
            self.close_due = NEVER;
        }
        if !phase.open {
            // Closing or closed: the close timeout is the only deadline left.
            self.pong_due = NEVER;
        }
        if let (Some(due), Some(_)) = (set(self.pong_due), d.pong_timeout)
            && now >= due
        {
            return Some(Expired::PeerUnresponsive);
        }
        if phase.open
            && self.pong_due == NEVER
            && let Some(ping_at) = self.ping_at(d)
            && now >= ping_at
        {
            self.pong_due = d.pong_timeout.map_or(NEVER, |t| after(now, t));
            // Without a pong deadline, ping again an interval later.
            if self.pong_due == NEVER {
                self.last_received = now;
            }
            return Some(Expired::SendPing);
        }
        None
    }

    /// The next deadline, or `None` when no timer runs (or no time was
    /// ever passed in).
    pub(crate) fn poll_timeout(&self, phase: Phase, d: Durations) -> Option<Duration> {
        // No time passed in yet: no timer runs.
        set(self.last_received)?;
        let close = if phase.closing && d.close_timeout.is_some() {
            // Armed at the next call; ask for that call now.
            Some(set(self.close_due).unwrap_or(self.now))
        } else {
            None
        };
        let ping = if phase.open && self.pong_due == NEVER {
            self.ping_at(d)
        } else {
            None
        };
        let pong_deadline = if phase.open { set(self.pong_due) } else { None };
        let next = [close, pong_deadline, ping].into_iter().flatten().min()?;
        Some(Duration::from_nanos(next))
    }

    fn ping_at(&self, d: Durations) -> Option<Stamp> {
        // A zero interval would make every deadline due at once: off.
        let keepalive = d.keepalive.filter(|k| !k.is_zero())?;
        Some(after(set(self.last_received)?, keepalive))
    }
}
