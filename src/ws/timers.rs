//! Liveness timers as plain state: keepalive pings, the pong deadline that
//! detects a half-open connection, and the close-handshake timeout.
//!
//! Time comes in through `handle_timeout(now)`; the crate never reads a
//! clock. Received bytes are stamped with the time of the next
//! `handle_timeout` call, so a caller that passes the time after each read
//! (the documented drive loop) gets exact deadlines, and one that only calls
//! at deadlines still gets a ping within two intervals of silence.

use std::time::{Duration, Instant};

/// What a deadline asks the connection to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    /// Nothing was received for a keepalive interval: send a ping.
    SendPing,
    /// Nothing was received for `pong_timeout` after that ping.
    PeerUnresponsive(Duration),
    /// The close handshake (or, for a client, the server's TCP close) took
    /// longer than `close_timeout`.
    CloseTimedOut(Duration),
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

#[derive(Debug, Clone, Default)]
pub(crate) struct Timers {
    /// The latest time passed in.
    now: Option<Instant>,
    /// Bytes arrived since the last `handle_timeout`.
    received: bool,
    last_received: Option<Instant>,
    pong_due: Option<Instant>,
    close_due: Option<Instant>,
}

impl Timers {
    pub(crate) fn on_received(&mut self) {
        self.received = true;
    }

    /// Takes the time and says which deadline, if any, has passed.
    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        phase: Phase,
        d: Durations,
    ) -> Option<Expired> {
        let now = self.now.map_or(now, |before| before.max(now));
        self.now = Some(now);
        if self.received || self.last_received.is_none() {
            // Any byte proves the peer alive, a pong or not.
            self.received = false;
            self.last_received = Some(now);
            self.pong_due = None;
        }
        if phase.closing {
            if let Some(timeout) = d.close_timeout {
                let due = *self.close_due.get_or_insert(now + timeout);
                if now >= due {
                    return Some(Expired::CloseTimedOut(timeout));
                }
            }
        } else {
            self.close_due = None;
        }
        if !phase.open {
            // Closing or closed: the close timeout is the only deadline left.
            self.pong_due = None;
        }
        if let (Some(due), Some(timeout)) = (self.pong_due, d.pong_timeout)
            && now >= due
        {
            return Some(Expired::PeerUnresponsive(timeout));
        }
        if phase.open
            && self.pong_due.is_none()
            && let Some(ping_at) = self.ping_at(d)
            && now >= ping_at
        {
            self.pong_due = d.pong_timeout.map(|t| now + t);
            // Without a pong deadline, ping again an interval later.
            if self.pong_due.is_none() {
                self.last_received = Some(now);
            }
            return Some(Expired::SendPing);
        }
        None
    }

    /// The next deadline, or `None` when no timer runs (or no time was
    /// ever passed in).
    pub(crate) fn poll_timeout(&self, phase: Phase, d: Durations) -> Option<Instant> {
        let now = self.now?;
        let close = if phase.closing && d.close_timeout.is_some() {
            // Armed at the next call; ask for that call now.
            Some(self.close_due.unwrap_or(now))
        } else {
            None
        };
        let ping = if phase.open && self.pong_due.is_none() {
            self.ping_at(d)
        } else {
            None
        };
        let pong_deadline = if phase.open { self.pong_due } else { None };
        [close, pong_deadline, ping].into_iter().flatten().min()
    }

    fn ping_at(&self, d: Durations) -> Option<Instant> {
        // A zero interval would make every deadline due at once: off.
        let keepalive = d.keepalive.filter(|k| !k.is_zero())?;
        Some(self.last_received? + keepalive)
    }
}
