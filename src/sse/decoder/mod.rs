//! The incremental event-stream decoder (WHATWG HTML §9.2.5 "Parsing an
//! event stream" and §9.2.6 "Interpreting an event stream").
//!
//! The decoder works on bytes, not on decoded text: every byte the rules
//! look at (CR, LF, `:`, space, NUL, digits) is ASCII and can never be part
//! of a multi-byte UTF-8 sequence, so splitting bytes and then decoding each
//! value with U+FFFD replacement gives exactly what decoding the whole
//! stream first would. Field values stream straight from the caller's chunk
//! into their destination: `data` into the event's data buffer (its only
//! copy), `event`/`id`/`retry` into a small value buffer, and comment or
//! unknown-field bytes nowhere at all.

use crate::prelude::*;
use alloc::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::{Event, Item, Utf8Bytes};
use crate::utf8::Utf8Validator;

/// The UTF-8 byte order mark, stripped once at stream start (§9.2.5).
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Allocation granularity of the data buffer (capacity, not a limit).
const DATA_BLOCK: usize = 8 * 1024;
/// Allocation granularity of the field value buffer.
const VALUE_BLOCK: usize = 512;
/// The longest line start carried from one chunk to the next and read
/// whole once its end arrives (never past [`Limits::max_line_len`]).
/// Longer lines that span chunks go through the per-byte state machine,
/// which streams a long `data` value straight into the data buffer.
/// Measured on token events in 7-byte chunks: the carry costs a copy of a
/// few bytes per chunk where the state machine cost tens of instructions
/// per byte.
const CARRY_MAX: usize = 256;

mod feed;
mod fields;
mod lent;
mod limits;
mod scan;
#[cfg(test)]
mod tests;
mod whole;

pub use feed::Feed;
pub use lent::LentFeed;
pub use limits::{LimitError, Limits};
use scan::Line;

/// Incremental, chunking-independent decoder of a `text/event-stream` body.
///
/// Feed the body in chunks of any size with [`feed`](Self::feed) (or, for
/// chunks held as `Bytes`, [`feed_bytes`](Self::feed_bytes), which shares
/// single-line values with the chunk instead of copying them), take the
/// results with [`next_item`](Self::next_item), and call
/// [`finish`](Self::finish) at end of stream. Splitting the same bytes at
/// any points gives the same items.
///
/// Between events, once a chunk is used up, the decoder holds no buffer
/// of its own: only the last event id and event type, each in an
/// allocation of its exact size (see
/// [`with_idle_release`](Self::with_idle_release)).
///
/// # Example
/// ```
/// use pushcodec::sse::{Decoder, Item, Limits};
///
/// let mut dec = Decoder::new(Limits::default());
/// for chunk in [&b"\xEF\xBB"[..], b"\xBFretry: 3000\r", b"\nid: 1\ndata: hel", b"lo\n\n"] {
///     dec.feed(chunk);
/// }
/// assert_eq!(dec.next_item(), Some(Ok(Item::Retry(3000))));
/// let Some(Ok(Item::Event(ev))) = dec.next_item() else { panic!() };
/// assert_eq!((ev.event_type(), ev.data(), ev.id()), ("message", "hello", "1"));
/// assert_eq!(dec.next_item(), None);
/// assert_eq!(dec.last_event_id(), "1");
/// dec.finish();
/// ```
#[derive(Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent flags of the parsing state, each read on its own path"
)]
pub struct Decoder {
    limits: Limits,
    comments: bool,
    /// Bytes of the stream seen so far (for error offsets).
    offset: u64,
    /// BOM bytes matched so far at stream start; `None` once decided.
    bom: Option<u8>,
    /// The previous chunk ended with CR: an LF starting this one belongs to it.
    pending_cr: bool,
    line: Line,
    /// Bytes of the current line so far (saturating; terminator excluded).
    line_len: usize,
    /// The first bytes of the field name (enough to tell the known names).
    name: [u8; 5],
    /// Value of an `event`/`id`/`retry` line, or of a reported comment,
    /// while its line spans chunks.
    value: BytesMut,
    /// Every byte in `value` is known to be valid UTF-8.
    value_valid: bool,
    /// The data buffer, lines joined with LF (the spec's trailing LF is
    /// never written, which is the same as stripping it at dispatch).
    data: BytesMut,
    /// Every byte in `data` is known to be valid UTF-8, but for an
    /// unfinished code point held by `data_utf8`.
    data_valid: bool,
    /// Validates data pieces of lines that span chunks.
    data_utf8: Utf8Validator,
    /// Whether any `data` line was seen in this event.
    has_data: bool,
    /// The event's only data line so far, shared with the caller's chunk
    /// (see [`feed_bytes`](Self::feed_bytes)); `data` is then empty. A
    /// second data line copies it into `data` first.
    shared_data: Option<Bytes>,
    /// `shared_data` is known to be valid UTF-8.
    shared_data_valid: bool,
    /// The event type buffer holds `last_type` (otherwise it is empty):
    /// a flag rather than a second reference to the same text.
    has_type: bool,
    /// The last event type read: a stream repeats its types, and an equal
    /// value shares it instead of copying and validating again.
    last_type: Utf8Bytes,
    /// `last_type` shares a block of `value`.
    type_in_block: bool,
    /// The event being read is the first since the buffers were let go:
    /// its values get allocations of their exact size rather than new
    /// blocks (a stream that goes idle after each event then pays fewer
    /// allocations per event).
    after_idle: bool,
    /// The spec's "last event ID buffer".
    id_buffer: Utf8Bytes,
    /// An `id` line changed `id_buffer` since the last blank line.
    id_pending: bool,
    /// While `id_pending`, the event source's "last event ID string" (set
    /// at each blank line); otherwise empty, and the string is `id_buffer`
    /// (one shared reference fewer to take and drop per event).
    last_event_id: Utf8Bytes,
    /// `id_buffer` may share a block of `value`.
    id_in_block: bool,
    /// The start of a short line the previous chunk ended inside, not yet
    /// read: completed by the next chunk, it is read as a whole line (see
    /// [`CARRY_MAX`]). While it holds bytes, `line` is `Start` and
    /// `line_len` 0.
    /// Its bytes are those just before the chunk being read, so its stream
    /// offset is that chunk's minus its length.
    carry: Vec<u8>,
    /// Values left in the chunk being read by a [`LentFeed`].
    lent: lent::LentValues,
    /// Ignoring lines until the next blank line, after a limit error.
    skipping: bool,
    /// Let go of the buffers between events (see `with_idle_release`).
    idle_release: bool,
    out: VecDeque<Result<Item, LimitError>>,
}

impl Decoder {
    /// A decoder at the start of a stream, with no last event id.
    pub fn new(limits: Limits) -> Self {
        Decoder {
            limits,
            comments: false,
            offset: 0,
            bom: Some(0),
            pending_cr: false,
            line: Line::Start,
            line_len: 0,
            name: [0; 5],
            value: BytesMut::new(),
            value_valid: true,
            data: BytesMut::new(),
            data_valid: true,
            data_utf8: Utf8Validator::new(),
            has_data: false,
            shared_data: None,
            shared_data_valid: false,
            has_type: false,
            last_type: Utf8Bytes::new(),
            type_in_block: false,
            after_idle: false,
            id_buffer: Utf8Bytes::new(),
            id_pending: false,
            last_event_id: Utf8Bytes::new(),
            id_in_block: false,
            carry: Vec::new(),
            lent: lent::LentValues::default(),
            skipping: false,
            idle_release: true,
            out: VecDeque::new(),
        }
    }

    /// Also report comment lines as [`Item::Comment`] (off by default). A
    /// reported comment is buffered up to [`Limits::max_line_len`]; an
    /// unreported one is not buffered at all.
    #[must_use]
    pub fn with_comments(mut self, report: bool) -> Self {
        self.comments = report;
        self
    }

    /// Whether to let go of the buffers between events (on by default).
    ///
    /// On: when a chunk is used up between two events, the decoder drops
    /// its data and value buffers and keeps only the last event id and
    /// event type, each in an allocation of its exact size, so an idle
    /// decoder holds no other heap. The next event's data and id then get
    /// allocations of their exact size: a stream fed one event per chunk
    /// pays about three allocations per event.
    ///
    /// Off: the buffers are kept and reused (events split off them share
    /// one block), so steady-state decoding allocates almost nothing per
    /// event whatever the chunking, at the cost of holding the last blocks
    /// (about 9 KiB) while idle.
    #[must_use]
    pub fn with_idle_release(mut self, release: bool) -> Self {
        self.idle_release = release;
        self
    }

    /// Starts from a known last event id, as a reconnecting client does.
    #[must_use]
    pub fn with_last_event_id(mut self, id: Utf8Bytes) -> Self {
        self.id_buffer = id;
        self.id_pending = false;
        self.last_event_id = Utf8Bytes::new();
        self.id_in_block = false;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The last event id in effect: set by an `id` field and committed at
    /// the blank line that ends its event, whether or not the event had
    /// data (§9.2.6). This is what a reconnect sends as `Last-Event-ID`.
    pub fn last_event_id(&self) -> &Utf8Bytes {
        if self.id_pending {
            &self.last_event_id
        } else {
            &self.id_buffer
        }
    }

    /// Bytes held by the decoder itself (partial BOM, field values, the
    /// event type, ids and the data buffer). Never more than
    /// [`Limits::max_buffered`]. Items waiting in the output queue are not
    /// counted: they are output, not state (iterate [`feed`](Self::feed)'s
    /// result to hold at most one).
    pub fn buffered_len(&self) -> usize {
        let bom = match self.bom {
            Some(n) => usize::from(n),
            None => 0,
        };
        bom + self.carry.len()
            + self.value.len()
            + self.data.len()
            + self.shared_data.as_ref().map_or(0, Bytes::len)
            + self.type_len()
            + self.id_buffer.len()
            + self.last_event_id.len()
    }

    /// Takes the next decoded item: an event, a `retry` value, a comment if
    /// asked for, or a limit error. `None` means "feed more bytes".
    #[must_use]
    pub fn next_item(&mut self) -> Option<Result<Item, LimitError>> {
        self.out.pop_front()
    }

    /// Feeds the next chunk of the stream (any size, empty included) and
    /// returns its items lazily.
    ///
    /// Two ways to use it, same results:
    /// - `for item in dec.feed(chunk) { .. }` decodes as you iterate, so
    ///   at most one item is held at a time however big the chunk;
    /// - `dec.feed(chunk);` (dropping the iterator) decodes the whole
    ///   chunk at once and queues its items for
    ///   [`next_item`](Self::next_item).
    ///
    /// Either way the whole chunk is consumed: dropping the iterator early
    /// decodes the rest and queues its items. Items queued by earlier calls
    /// come out first.
    #[inline]
    pub fn feed<'d, 'c>(&'d mut self, chunk: &'c [u8]) -> Feed<'d, 'c> {
        let (pos, start) = self.begin(chunk);
        Feed {
            dec: self,
            chunk,
            shared: None,
            pos,
            start,
            valid: None,
            done: false,
        }
    }

    /// Feeds the next chunk as shared bytes: the same items as
    /// [`feed`](Self::feed)`(chunk)`, but a value whose line lies wholly
    /// inside the chunk (a single-line `data`, an `id`, an `event`, a
    /// reported comment) is a slice of the chunk (`Bytes::slice`, a
    /// reference count): no copy and no allocation. Multi-line data and
    /// lines that span chunks are copied as `feed` copies them. The chunk
    /// is borrowed, not taken: only the values hold references to it.
    ///
    /// The trade-off: an event keeps the whole chunk's allocation alive for
    /// as long as it lives. So does the decoder's last event id and type
    /// until the chunk is used up between two events, when they are copied
    /// out (with [`with_idle_release`](Self::with_idle_release) off, until
    /// the next `id` and `event` lines replace them). Use it when events
    /// are handled and dropped soon, as a streaming client does; prefer
    /// `feed` when events are stored for long. With chunks too small to
    /// hold whole lines (a few bytes) nothing can be shared, and `feed` is
    /// a little cheaper.
    ///
    /// # Example
    /// ```
    /// use bytes::Bytes;
    /// use pushcodec::sse::{Decoder, Item, Limits};
    ///
    /// let chunk = Bytes::from_static(b"id: 7\nevent: delta\ndata: hello\n\n");
    /// let mut dec = Decoder::new(Limits::default());
    /// let Some(Ok(Item::Event(ev))) = dec.feed_bytes(&chunk).next() else { panic!() };
    /// assert_eq!((ev.event_type(), ev.data(), ev.id()), ("delta", "hello", "7"));
    /// // The data is the chunk's own memory.
    /// assert_eq!(ev.data_bytes().as_ptr(), chunk[25..].as_ptr());
    /// ```
    #[inline]
    pub fn feed_bytes<'d, 'c>(&'d mut self, chunk: &'c Bytes) -> Feed<'d, 'c> {
        let (pos, start) = self.begin(chunk);
        Feed {
            dec: self,
            chunk,
            shared: Some(chunk),
            pos,
            start,
            valid: None,
            done: false,
        }
    }

    /// Ends the stream. An event without its closing blank line, and any
    /// partial line, are dropped as §9.2.6 requires; the return value says
    /// whether anything was. The decoder is then ready for the next
    /// connection's stream (BOM check, offsets and buffers start afresh)
    /// and keeps [`last_event_id`](Self::last_event_id). Queued items stay.
    pub fn finish(&mut self) -> bool {
        let dropped = self.has_data
            || self.line_len > 0
            || !self.carry.is_empty()
            || self.type_len() != 0
            || (self.id_pending && self.id_buffer != self.last_event_id)
            || matches!(self.bom, Some(n) if n > 0);
        self.offset = 0;
        self.bom = Some(0);
        self.pending_cr = false;
        self.line = Line::Start;
        self.line_len = 0;
        self.carry.clear();
        self.clear_value();
        self.reset_event();
        if self.id_pending {
            self.id_buffer = core::mem::take(&mut self.last_event_id);
            self.id_pending = false;
        }
        self.skipping = false;
        self.settle();
        dropped
    }

    /// Length of the event type buffer.
    fn type_len(&self) -> usize {
        if self.has_type {
            self.last_type.len()
        } else {
            0
        }
    }

    /// The event type buffer as text (empty: the default type).
    fn event_type(&self) -> Utf8Bytes {
        if self.has_type {
            self.last_type.clone()
        } else {
            Utf8Bytes::new()
        }
    }

    /// Between events, with the chunk used up: lets go of the buffer
    /// blocks (events still alive keep theirs) and moves the last event id
    /// into an allocation of its own size, so an idle decoder holds only
    /// that.
    #[inline]
    pub(super) fn settle(&mut self) {
        // Checked at the end of every chunk: inline, so that a chunk ending
        // mid-event (all of them, in small chunks) pays a few compares.
        let between_events = self.line == Line::Start
            && !self.id_pending
            && self.line_len == 0
            && self.carry.is_empty()
            && !self.has_data
            && self.type_len() == 0
            && self.value.is_empty();
        if between_events && self.idle_release {
            self.release();
        }
    }

    /// The buffers let go of by [`settle`](Self::settle).
    #[inline(never)]
    fn release(&mut self) {
        if self.data.capacity() != 0 {
            self.data = BytesMut::new();
        }
        if self.value.capacity() != 0 {
            self.value = BytesMut::new();
        }
        if self.carry.capacity() != 0 {
            self.carry = Vec::new();
        }
        self.after_idle = true;
        let own = |text: &Utf8Bytes| {
            if text.is_empty() {
                Utf8Bytes::new()
            } else {
                Utf8Bytes::from_validated(Bytes::copy_from_slice(text.as_bytes()))
            }
        };
        if core::mem::take(&mut self.id_in_block) {
            self.id_buffer = own(&self.id_buffer);
        }
        // Kept, at its own size: the next event most likely repeats it.
        if core::mem::take(&mut self.type_in_block) {
            self.last_type = own(&self.last_type);
        }
    }
}
