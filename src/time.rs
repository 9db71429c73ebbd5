//! Time as the caller passes it. The crate never reads a clock: every timer
//! method takes "now" from the caller, either as a `std::time::Instant` (feature
//! `std`) or as a `Duration` since an origin the caller picks (the `_at`
//! methods, always there; the only way without `std`). Inside, every deadline
//! is a `Duration` on the caller's timeline; [`Origin`] converts `Instant`s to
//! and from it, counting from the first `Instant` passed in.

#[cfg(any(feature = "std", feature = "sse"))]
use core::time::Duration;

/// The first `Instant` a state machine was given, so that `Instant`s map to
/// `Duration`s since it and back.
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Origin {
    first: Option<std::time::Instant>,
}

#[cfg(feature = "std")]
impl Origin {
    /// `now` as time since the origin; the first call sets the origin.
    pub(crate) fn since(&mut self, now: std::time::Instant) -> Duration {
        let first = *self.first.get_or_insert(now);
        now.saturating_duration_since(first)
    }

    /// The `Instant` at `at` since the origin; `None` before any `Instant`
    /// was passed in (the caller used only the `_at` methods).
    pub(crate) fn instant(self, at: Duration) -> Option<std::time::Instant> {
        let first = self.first?;
        // A deadline beyond what `Instant` holds is "never" in practice.
        Some(first.checked_add(at).unwrap_or_else(|| far_future(first)))
    }
}

#[cfg(feature = "std")]
fn far_future(from: std::time::Instant) -> std::time::Instant {
    from.checked_add(Duration::from_secs(100 * 365 * 24 * 3600))
        .unwrap_or(from)
}

/// `now + d`, saturating: a huge interval means "never" in practice.
#[cfg(feature = "sse")]
pub(crate) fn after(now: Duration, d: Duration) -> Duration {
    now.saturating_add(d)
}
