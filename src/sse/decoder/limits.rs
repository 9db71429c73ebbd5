//! The decoder's size limits and the errors they raise.

#[cfg(doc)]
use super::Decoder;

/// Size limits of a [`Decoder`]. Together they bound its memory:
/// [`Decoder::buffered_len`] never exceeds [`Limits::max_buffered`].
///
/// Public fields over [`Default`], like every configuration in the crate
/// (`ws::Config`, `http1::HeadLimits`, `topic::TopicLimits`).
///
/// # Example
/// ```
/// use pushcodec::sse::{Decoder, Limits};
///
/// let mut limits = Limits::default();
/// limits.max_line_len = 4096;
/// limits.max_event_data = 64 * 1024;
/// assert_eq!(limits.max_buffered(), 64 * 1024 + 10 * 4096 + 2);
/// let decoder = Decoder::new(limits);
/// # let _ = decoder;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The longest line accepted, in bytes, not counting its line end.
    /// Default [`DEFAULT_MAX_LINE_LEN`](Self::DEFAULT_MAX_LINE_LEN).
    pub max_line_len: usize,
    /// The largest event data accepted, in bytes, counting the LF that
    /// joins data lines. Default [`DEFAULT_MAX_EVENT_DATA`](Self::DEFAULT_MAX_EVENT_DATA).
    pub max_event_data: usize,
}

impl Limits {
    /// Default longest line: 1 MiB (terminator not counted).
    pub const DEFAULT_MAX_LINE_LEN: usize = 1 << 20;
    /// Default largest event data: 4 MiB (data lines joined with LF).
    pub const DEFAULT_MAX_EVENT_DATA: usize = 4 << 20;

    /// The most bytes a decoder holds under these limits:
    /// `max_event_data + 10 * max_line_len + 2`. That is the data buffer,
    /// a field value being read (one line), the event type and the id
    /// buffer and last event id (up to three times a line each: U+FFFD
    /// replacement turns one invalid byte into three), and two bytes of a
    /// BOM being matched. An id given to
    /// [`Decoder::with_last_event_id`] counts on top.
    pub fn max_buffered(&self) -> usize {
        self.max_event_data
            .saturating_add(self.max_line_len.saturating_mul(10))
            .saturating_add(2)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_len: Self::DEFAULT_MAX_LINE_LEN,
            max_event_data: Self::DEFAULT_MAX_EVENT_DATA,
        }
    }
}

/// A limit broken by the stream. After reporting one, the decoder drops the
/// event in progress, ignores every line up to the next blank line, and
/// then goes on with the next event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// A line grew past [`Limits::max_line_len`].
    #[error(
        "line longer than max_line_len ({limit} bytes) at stream offset {offset}; \
         event dropped, skipping to the next blank line"
    )]
    LineTooLong {
        /// The configured limit.
        limit: usize,
        /// Stream offset (bytes since stream start) of the first byte over the limit.
        offset: u64,
    },
    /// An event's data grew past [`Limits::max_event_data`].
    #[error(
        "event data larger than max_event_data ({limit} bytes) at stream offset {offset}; \
         event dropped, skipping to the next blank line"
    )]
    EventDataTooLarge {
        /// The configured limit.
        limit: usize,
        /// Stream offset (bytes since stream start) of the first byte over the limit.
        offset: u64,
    },
}
