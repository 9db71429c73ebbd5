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

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};
use memchr::{memchr, memchr2};

use super::{Event, Item, Utf8Bytes};
use crate::utf8::Utf8Validator;

/// The UTF-8 byte order mark, stripped once at stream start (§9.2.5).
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Allocation granularity of the data buffer (capacity, not a limit).
const DATA_BLOCK: usize = 8 * 1024;
/// Allocation granularity of the field value buffer.
const VALUE_BLOCK: usize = 512;

/// Size limits of a [`Decoder`]. Together they bound its memory:
/// [`Decoder::buffered_len`] never exceeds [`Limits::max_buffered`].
///
/// # Example
/// ```
/// use pushcodec::sse::Limits;
///
/// let limits = Limits::default().max_line_len(4096).max_event_data(64 * 1024);
/// assert_eq!(limits.line_limit(), 4096);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    max_line_len: usize,
    max_event_data: usize,
}

impl Limits {
    /// Default longest line: 1 MiB (terminator not counted).
    pub const DEFAULT_MAX_LINE_LEN: usize = 1 << 20;
    /// Default largest event data: 4 MiB (data lines joined with LF).
    pub const DEFAULT_MAX_EVENT_DATA: usize = 4 << 20;

    /// Sets the longest line accepted, in bytes, not counting its line end.
    #[must_use]
    pub fn max_line_len(mut self, bytes: usize) -> Self {
        self.max_line_len = bytes;
        self
    }

    /// Sets the largest event data accepted, in bytes, counting the LF that
    /// joins data lines.
    #[must_use]
    pub fn max_event_data(mut self, bytes: usize) -> Self {
        self.max_event_data = bytes;
        self
    }

    /// The longest line accepted.
    pub fn line_limit(&self) -> usize {
        self.max_line_len
    }

    /// The largest event data accepted.
    pub fn event_data_limit(&self) -> usize {
        self.max_event_data
    }

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
pub enum Error {
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

/// The field a line names (§9.2.6: names are compared case-sensitively).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Data,
    Event,
    Id,
    Retry,
    Unknown,
}

impl Field {
    fn from_name(name: &[u8]) -> Field {
        match name {
            b"data" => Field::Data,
            b"event" => Field::Event,
            b"id" => Field::Id,
            b"retry" => Field::Retry,
            _ => Field::Unknown,
        }
    }
}

/// Where the current line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line {
    /// Nothing of the line seen yet.
    Start,
    /// Inside the field name; `len` may exceed the 5 bytes kept, which makes
    /// it an unknown field.
    Name,
    /// After the colon; `strip` while the one optional space may still come.
    Value { field: Field, strip: bool },
    /// A `:` line.
    Comment { strip: bool },
}

/// Incremental, chunking-independent decoder of a `text/event-stream` body.
///
/// Feed the body in chunks of any size with [`feed`](Self::feed), take the
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
    event_type: Utf8Bytes,
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
    /// Ignoring lines until the next blank line, after a limit error.
    skipping: bool,
    /// Let go of the buffers between events (see `with_idle_release`).
    idle_release: bool,
    out: VecDeque<Result<Item, Error>>,
}

/// What one decoding step did.
enum Step {
    /// The chunk is used up.
    Done,
    /// A line or part of one was read; items, if any, are queued.
    More,
    /// A line was read and produced this item (nothing else is queued).
    Item(Result<Item, Error>),
}

/// The longest line end search done byte by byte: below this a SIMD search
/// costs more in set-up than it saves (7-byte chunks, short fields).
const SHORT_SCAN: usize = 16;
/// The shortest chunk validated as a whole (see `Feed::valid`), and the
/// shortest data piece validated on its own: shorter ones are checked with
/// the whole event data at dispatch, in one call instead of many.
const VALIDATE_CHUNK: usize = 64;
/// Data at least this long has its short pieces validated on their own
/// too, rather than checking it all again at dispatch.
const VALIDATE_EVENT: usize = 1024;

/// Position of the first CR or LF.
fn find_eol(bytes: &[u8]) -> Option<usize> {
    if let Some(b'\n' | b'\r') = bytes.first() {
        // A blank line: one in every event.
        return Some(0);
    }
    if bytes.len() < SHORT_SCAN {
        // Text bytes are almost all above CR: one compare each.
        bytes
            .iter()
            .position(|&b| b <= b'\r' && (b == b'\r' || b == b'\n'))
    } else {
        memchr2(b'\r', b'\n', bytes)
    }
}

/// Length of the prefix of `chunk` that is valid UTF-8. Fields are split at
/// ASCII bytes, so every value that lies inside it is valid as it is.
fn valid_prefix(chunk: &[u8]) -> usize {
    if chunk.len() < VALIDATE_CHUNK {
        return 0;
    }
    if simdutf8::basic::from_utf8(chunk).is_ok() {
        return chunk.len();
    }
    match simdutf8::compat::from_utf8(chunk) {
        Ok(_) => chunk.len(),
        Err(e) => e.valid_up_to(),
    }
}

/// Text from bytes known valid, or decoded with U+FFFD replacement.
fn text(bytes: Bytes, valid: bool) -> Utf8Bytes {
    if valid {
        Utf8Bytes::from_validated(bytes)
    } else {
        Utf8Bytes::from_lossy(bytes)
    }
}

/// The value of a `retry` field, if it is all ASCII digits (§9.2.6; and,
/// as browsers and WPT format-field-retry-empty agree, not empty).
fn retry_value(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(value.iter().fold(0u64, |acc, d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
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
            event_type: Utf8Bytes::new(),
            last_type: Utf8Bytes::new(),
            type_in_block: false,
            after_idle: false,
            id_buffer: Utf8Bytes::new(),
            id_pending: false,
            last_event_id: Utf8Bytes::new(),
            id_in_block: false,
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
        bom + self.value.len()
            + self.data.len()
            + self.event_type.len()
            + self.id_buffer.len()
            + self.last_event_id.len()
    }

    /// Takes the next decoded item: an event, a `retry` value, a comment if
    /// asked for, or a limit error. `None` means "feed more bytes".
    #[must_use]
    pub fn next_item(&mut self) -> Option<Result<Item, Error>> {
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
    pub fn feed<'d, 'c>(&'d mut self, chunk: &'c [u8]) -> Feed<'d, 'c> {
        let start = self.offset;
        let mut pos = 0;
        if let Some(matched) = self.bom {
            pos = self.strip_bom(chunk, matched);
        }
        // §9.2.5: CRLF is one line end even when a chunk boundary splits it.
        if self.pending_cr && pos < chunk.len() {
            self.pending_cr = false;
            if chunk.get(pos) == Some(&b'\n') {
                pos += 1;
            }
        }
        Feed {
            dec: self,
            chunk,
            pos,
            start,
            valid: None,
            done: false,
        }
    }

    /// Decodes one line (or the chunk's unterminated tail) of `chunk` from
    /// `*pos`. `valid` caches the length of the chunk's valid UTF-8 prefix,
    /// found when a whole line first needs it.
    #[expect(
        clippy::inline_always,
        reason = "measured: inlined into Feed::next, the event is built in place (-8% instructions)"
    )]
    #[inline(always)]
    fn step(
        &mut self,
        chunk: &[u8],
        pos: &mut usize,
        start: u64,
        valid: &mut Option<usize>,
    ) -> Step {
        // Whole lines are decoded in this loop until one gives an item: the
        // iterator's round trip is paid per item, not per line.
        loop {
            let Some(rest) = chunk.get(*pos..).filter(|r| !r.is_empty()) else {
                return Step::Done;
            };
            let at = start + *pos as u64;
            let Some(i) = find_eol(rest) else {
                self.partial_line(rest, at, valid.is_some_and(|v| chunk.len() <= v));
                *pos = chunk.len();
                // The chunk is used up: say so now unless an error is queued.
                return if self.out.is_empty() {
                    Step::Done
                } else {
                    Step::More
                };
            };
            let line = &rest[..i];
            let end = *pos + i;
            let whole = matches!(self.line, Line::Start)
                && self.line_len == 0
                && !self.skipping
                && i <= self.limits.max_line_len;
            let item = if whole {
                // The whole line is in this chunk: no state machine.
                let valid =
                    !line.is_empty() && end <= *valid.get_or_insert_with(|| valid_prefix(chunk));
                self.whole_line(line, at, valid)
            } else {
                self.line_bytes(line, at, valid.is_some_and(|v| end <= v));
                self.end_line(at + i as u64)
            };
            *pos = end + 1;
            if rest[i] == b'\r' {
                match chunk.get(*pos) {
                    Some(b'\n') => *pos += 1,
                    Some(_) => {}
                    None => self.pending_cr = true,
                }
            }
            match item {
                Some(ev) if self.out.is_empty() => return Step::Item(Ok(Item::Event(ev))),
                Some(ev) => {
                    self.out.push_back(Ok(Item::Event(ev)));
                    return Step::More;
                }
                None if !self.out.is_empty() => return Step::More,
                None => {}
            }
        }
    }

    /// Bytes of a line whose end is not in this chunk.
    fn partial_line(&mut self, rest: &[u8], at: u64, valid: bool) {
        let line_len = self.line_len.saturating_add(rest.len());
        if matches!(
            self.line,
            Line::Value {
                field: Field::Data,
                strip: false
            }
        ) && !self.skipping
            && line_len <= self.limits.max_line_len
        {
            // More of a data value that spans chunks (small chunks).
            self.line_len = line_len;
            self.push_data(rest, at, valid);
        } else {
            self.line_bytes(rest, at, valid);
        }
    }

    /// A whole line at stream offset `at`, within the line limit, read
    /// from the state between lines (§9.2.6).
    fn whole_line(&mut self, line: &[u8], at: u64, valid: bool) -> Option<Event> {
        // §9.2.6: the field name is everything before the first colon; the
        // known names are matched on the line itself.
        let (field, colon) = match line {
            [] => return self.blank_line(),
            // §9.2.6: a line starting with a colon is a comment.
            [b':', comment @ ..] => {
                if self.comments {
                    let comment = comment.strip_prefix(b" ").unwrap_or(comment);
                    let text = text(Bytes::copy_from_slice(comment), valid);
                    self.out.push_back(Ok(Item::Comment(text)));
                }
                return None;
            }
            [b'd', b'a', b't', b'a', b':', ..] => (Field::Data, 4),
            [b'i', b'd', b':', ..] => (Field::Id, 2),
            [b'e', b'v', b'e', b'n', b't', b':', ..] => (Field::Event, 5),
            _ => {
                if let Some(c) = memchr(b':', line) {
                    (Field::from_name(&line[..c]), c)
                } else {
                    // §9.2.6: a line without a colon is a field with an empty value.
                    let field = Field::from_name(line);
                    if field == Field::Data {
                        let _ = self.start_data_line(at + line.len() as u64);
                    } else {
                        self.field_value(field, b"", true);
                    }
                    return None;
                }
            }
        };
        let rest = line.get(colon + 1..).unwrap_or_default();
        // §9.2.6: one leading space (U+0020 only) is removed from the value.
        let value = rest.strip_prefix(b" ").unwrap_or(rest);
        if field == Field::Data {
            let join = usize::from(self.has_data);
            if self.data.len() + join + value.len() <= self.limits.max_event_data {
                // Within the data limit: the LF join and the value in one go.
                if self.after_idle && self.data.capacity() == 0 {
                    // Likely the event's only data line: its exact size.
                    self.data.reserve(value.len());
                }
                self.reserve_data(join + value.len());
                if self.has_data {
                    self.join_data_line();
                }
                self.has_data = true;
                self.append_data(value, valid);
            } else if self.start_data_line(at + colon as u64) {
                let value_at = at + (line.len() - value.len()) as u64;
                self.push_data(value, value_at, valid);
            }
        } else {
            self.field_value(field, value, valid);
        }
        None
    }

    /// A complete `event`, `id` or `retry` value (§9.2.6).
    fn field_value(&mut self, field: Field, value: &[u8], valid: bool) {
        match field {
            Field::Event => {
                if value == self.last_type.as_bytes() {
                    self.event_type = self.last_type.clone();
                } else {
                    let (text, in_block) = self.block_text(value, valid);
                    self.event_type = text;
                    self.last_type = self.event_type.clone();
                    self.type_in_block = in_block;
                }
            }
            // §9.2.6: an id containing U+0000 NULL is ignored.
            Field::Id => {
                if value != self.id_buffer.as_bytes() && !value.contains(&0) {
                    let (id, in_block) = self.block_text(value, valid);
                    self.set_id(id, in_block);
                }
            }
            Field::Retry => {
                if let Some(ms) = retry_value(value) {
                    self.out.push_back(Ok(Item::Retry(ms)));
                }
            }
            Field::Data | Field::Unknown => {}
        }
    }

    /// `value` as shared text, split off the value block (no allocation per
    /// line), or in an exact-size allocation of its own after idle; says
    /// whether it shares the block. `self.value` is empty whenever this is
    /// called.
    fn block_text(&mut self, value: &[u8], valid: bool) -> (Utf8Bytes, bool) {
        if value.is_empty() {
            return (Utf8Bytes::new(), false);
        }
        if self.after_idle && self.value.capacity() == 0 {
            return (text(Bytes::copy_from_slice(value), valid), false);
        }
        self.push_value(value, valid);
        (self.take_value(), true)
    }

    /// Takes the value buffer's bytes as text.
    fn take_value(&mut self) -> Utf8Bytes {
        let valid = std::mem::replace(&mut self.value_valid, true);
        text(self.value.split().freeze(), valid)
    }

    /// Ends the stream. An event without its closing blank line, and any
    /// partial line, are dropped as §9.2.6 requires; the return value says
    /// whether anything was. The decoder is then ready for the next
    /// connection's stream (BOM check, offsets and buffers start afresh)
    /// and keeps [`last_event_id`](Self::last_event_id). Queued items stay.
    pub fn finish(&mut self) -> bool {
        let dropped = self.has_data
            || self.line_len > 0
            || !self.event_type.is_empty()
            || (self.id_pending && self.id_buffer != self.last_event_id)
            || matches!(self.bom, Some(n) if n > 0);
        self.offset = 0;
        self.bom = Some(0);
        self.pending_cr = false;
        self.line = Line::Start;
        self.line_len = 0;
        self.clear_value();
        self.reset_event();
        if self.id_pending {
            self.id_buffer = std::mem::take(&mut self.last_event_id);
            self.id_pending = false;
        }
        self.skipping = false;
        self.settle();
        dropped
    }

    /// Between events, with the chunk used up: lets go of the buffer
    /// blocks (events still alive keep theirs) and moves the last event id
    /// into an allocation of its own size, so an idle decoder holds only
    /// that.
    fn settle(&mut self) {
        let between_events = self.line == Line::Start
            && !self.id_pending
            && self.line_len == 0
            && !self.has_data
            && self.event_type.is_empty()
            && self.value.is_empty();
        if !between_events || !self.idle_release {
            return;
        }
        if self.data.capacity() != 0 {
            self.data = BytesMut::new();
        }
        if self.value.capacity() != 0 {
            self.value = BytesMut::new();
        }
        self.after_idle = true;
        let own = |text: &Utf8Bytes| {
            if text.is_empty() {
                Utf8Bytes::new()
            } else {
                Utf8Bytes::from_validated(Bytes::copy_from_slice(text.as_bytes()))
            }
        };
        if std::mem::take(&mut self.id_in_block) {
            self.id_buffer = own(&self.id_buffer);
        }
        // Kept, at its own size: the next event most likely repeats it.
        if std::mem::take(&mut self.type_in_block) {
            self.last_type = own(&self.last_type);
        }
    }

    /// Matches the BOM at stream start; returns how many bytes it used.
    fn strip_bom(&mut self, chunk: &[u8], mut matched: u8) -> usize {
        let mut pos = 0;
        while let Some(&b) = chunk.get(pos) {
            if BOM.get(usize::from(matched)) != Some(&b) {
                // Not a BOM: the held bytes are ordinary stream bytes.
                self.bom = None;
                let held = &BOM[..usize::from(matched)];
                self.line_bytes(held, 0, false);
                return pos;
            }
            matched += 1;
            pos += 1;
            if usize::from(matched) == BOM.len() {
                self.bom = None;
                return pos;
            }
        }
        self.bom = Some(matched);
        pos
    }

    /// Handles bytes of the current line (no CR or LF among them); `valid`
    /// if they are known to be valid UTF-8.
    fn line_bytes(&mut self, seg: &[u8], at: u64, valid: bool) {
        if seg.is_empty() {
            return;
        }
        let old_len = self.line_len;
        self.line_len = old_len.saturating_add(seg.len());
        if self.skipping {
            return;
        }
        let room = self.limits.max_line_len.saturating_sub(old_len);
        if seg.len() <= room {
            self.line_value_bytes(seg, at, valid);
            return;
        }
        // Bytes within the line limit first, so that an earlier data-limit
        // error wins whatever the chunking. Cut short, they may end inside
        // a code point.
        let line_len = self.line_len;
        self.line_len = old_len + room;
        self.line_value_bytes(&seg[..room], at, false);
        self.line_len = line_len;
        if !self.skipping {
            self.fail(Error::LineTooLong {
                limit: self.limits.max_line_len,
                offset: at + room as u64,
            });
        }
    }

    /// Runs the line state machine over `seg`, already within the line limit.
    fn line_value_bytes(&mut self, mut seg: &[u8], mut at: u64, valid: bool) {
        loop {
            if seg.is_empty() {
                return;
            }
            match self.line {
                Line::Start => {
                    // §9.2.6: a line starting with a colon is a comment.
                    if seg.first() == Some(&b':') {
                        self.line = Line::Comment { strip: true };
                        seg = &seg[1..];
                        at += 1;
                    } else {
                        self.line = Line::Name;
                    }
                }
                Line::Name => {
                    let name_len = self.line_len - seg.len();
                    let (name, colon) = match memchr(b':', seg) {
                        Some(i) => (&seg[..i], true),
                        None => (seg, false),
                    };
                    for (k, &b) in name.iter().enumerate() {
                        match self.name.get_mut(name_len + k) {
                            Some(slot) => *slot = b,
                            None => break,
                        }
                    }
                    if !colon {
                        return;
                    }
                    // §9.2.6: the field name is everything before the first colon.
                    let field = self.field(name_len + name.len());
                    let colon_at = at + name.len() as u64;
                    seg = &seg[name.len() + 1..];
                    at = colon_at + 1;
                    if field == Field::Data && !self.start_data_line(colon_at) {
                        return;
                    }
                    self.line = Line::Value { field, strip: true };
                }
                Line::Value { field, strip } => {
                    // §9.2.6: one leading space (U+0020 only) is removed from the value.
                    if strip {
                        if seg.first() == Some(&b' ') {
                            seg = &seg[1..];
                            at += 1;
                        }
                        self.line = Line::Value {
                            field,
                            strip: false,
                        };
                    }
                    match field {
                        Field::Data => self.push_data(seg, at, valid),
                        Field::Event | Field::Id | Field::Retry => self.push_value(seg, valid),
                        Field::Unknown => {}
                    }
                    return;
                }
                Line::Comment { strip } => {
                    if self.comments {
                        if strip && seg.first() == Some(&b' ') {
                            seg = &seg[1..];
                        }
                        self.push_value(seg, valid);
                    }
                    self.line = Line::Comment { strip: false };
                    return;
                }
            }
        }
    }

    /// The field named by the first `len` bytes of the line.
    fn field(&self, len: usize) -> Field {
        match self.name.get(..len) {
            Some(name) => Field::from_name(name),
            None => Field::Unknown,
        }
    }

    /// A `data` line begins: joins it to the previous one with LF. Returns
    /// false if that broke the data limit.
    fn start_data_line(&mut self, at: u64) -> bool {
        if self.has_data {
            if self.data.len() >= self.limits.max_event_data {
                self.fail(Error::EventDataTooLarge {
                    limit: self.limits.max_event_data,
                    offset: at,
                });
                return false;
            }
            self.reserve_data(1);
            self.join_data_line();
        }
        self.has_data = true;
        true
    }

    /// The LF that joins a data line to the previous one (room reserved).
    fn join_data_line(&mut self) {
        if self.data_utf8.pending() > 0 {
            // The previous line ended inside a code point.
            self.data_valid = false;
            self.data_utf8.reset();
        }
        self.data.put_u8(b'\n');
    }

    fn push_value(&mut self, seg: &[u8], valid: bool) {
        if self.value.capacity() - self.value.len() < seg.len() {
            // Ids and types are split off the front and shared by events;
            // blocks keep that from allocating per line.
            self.value.reserve(seg.len().max(VALUE_BLOCK));
        }
        self.value_valid &= valid;
        self.value.extend_from_slice(seg);
    }

    fn reserve_data(&mut self, additional: usize) {
        if self.data.capacity() - self.data.len() < additional {
            // Grow in blocks: events split off the front share one
            // allocation, and once the caller has dropped them the block
            // is reused in place, so steady-state decoding allocates nothing
            // per event. A long event triples its buffer at a time, never
            // past the data limit (measured on 64 KiB events decoded by
            // fresh decoders: two reallocations instead of three, and the
            // page faults of the doubling pattern gone: 62 -> 30 us).
            let len = self.data.len();
            let room = self.limits.max_event_data.saturating_sub(len);
            let grow = additional
                .max(DATA_BLOCK)
                .max(len.saturating_mul(2))
                .min(room)
                .max(additional);
            self.data.reserve(grow);
        }
    }

    fn push_data(&mut self, seg: &[u8], at: u64, valid: bool) {
        let room = self.limits.max_event_data.saturating_sub(self.data.len());
        if seg.len() > room {
            self.fail(Error::EventDataTooLarge {
                limit: self.limits.max_event_data,
                offset: at + room as u64,
            });
            return;
        }
        self.reserve_data(seg.len());
        self.append_data(seg, valid);
    }

    /// Appends to the data buffer (room reserved, limit checked).
    fn append_data(&mut self, seg: &[u8], valid: bool) {
        if self.data_valid && !(valid && self.data_utf8.pending() == 0) {
            if seg.len() < VALIDATE_CHUNK && self.data.len() < VALIDATE_EVENT {
                // Cheaper to check the whole (short) data once at dispatch.
                self.data_valid = false;
            } else if self.data_utf8.feed(seg).is_err() {
                self.data_valid = false;
            }
        }
        self.data.extend_from_slice(seg);
    }

    /// Reports a limit error and drops the event until the next blank line.
    fn fail(&mut self, err: Error) {
        self.out.push_back(Err(err));
        self.line = Line::Start;
        self.skipping = true;
        self.clear_value();
        self.reset_event();
    }

    fn reset_event(&mut self) {
        self.data.clear();
        self.data_valid = true;
        self.data_utf8.reset();
        self.has_data = false;
        self.event_type = Utf8Bytes::new();
    }

    /// A line ended (CR, LF or CRLF) at stream offset `at`.
    fn end_line(&mut self, at: u64) -> Option<Event> {
        let line = std::mem::replace(&mut self.line, Line::Start);
        let len = std::mem::take(&mut self.line_len);
        if len == 0 {
            return self.blank_line();
        }
        if self.skipping {
            return None;
        }
        match line {
            // §9.2.6: a line without a colon is a field with an empty value.
            Line::Name => {
                let field = self.field(len);
                if field == Field::Data {
                    // A data-limit error is queued inside; nothing else to undo.
                    let _ = self.start_data_line(at);
                } else {
                    self.field_value(field, b"", true);
                }
            }
            Line::Value { field, .. } => self.field_done(field),
            Line::Comment { .. } => {
                if self.comments {
                    let text = self.take_value();
                    self.out.push_back(Ok(Item::Comment(text)));
                }
            }
            Line::Start => {}
        }
        None
    }

    /// A complete `event`, `id` or `retry` line gathered in `value`
    /// (§9.2.6, as in [`field_value`](Self::field_value)). The new text is
    /// split off the value block, which stays for the next line.
    fn field_done(&mut self, field: Field) {
        match field {
            Field::Event => {
                if self.value[..] == self.last_type.as_bytes()[..] {
                    self.event_type = self.last_type.clone();
                    self.clear_value();
                } else {
                    self.event_type = self.take_value();
                    self.last_type = self.event_type.clone();
                    self.type_in_block = true;
                }
            }
            Field::Id => {
                if self.value.contains(&0) || self.value[..] == self.id_buffer.as_bytes()[..] {
                    self.clear_value();
                } else {
                    let id = self.take_value();
                    self.set_id(id, true);
                }
            }
            Field::Retry => {
                if let Some(ms) = retry_value(&self.value) {
                    self.out.push_back(Ok(Item::Retry(ms)));
                }
                self.clear_value();
            }
            Field::Data | Field::Unknown => {}
        }
    }

    /// An `id` line sets the last event ID buffer (§9.2.6).
    fn set_id(&mut self, id: Utf8Bytes, in_block: bool) {
        let old = std::mem::replace(&mut self.id_buffer, id);
        if !self.id_pending {
            // The committed id lives on until the blank line.
            self.last_event_id = old;
            self.id_pending = true;
        }
        self.id_in_block = in_block;
    }

    fn clear_value(&mut self) {
        self.value.clear();
        self.value_valid = true;
    }

    /// A blank line: dispatch (§9.2.6 "dispatch the event"), or the end of
    /// a skipped event.
    fn blank_line(&mut self) -> Option<Event> {
        // Step 1: the last event id string takes the buffer's value, even
        // when no event is dispatched.
        if self.id_pending {
            self.last_event_id = Utf8Bytes::new();
            self.id_pending = false;
        }
        if self.skipping {
            self.skipping = false;
            self.reset_event();
            return None;
        }
        // Step 2: an empty data buffer (no data line) dispatches nothing.
        if !self.has_data {
            self.reset_event();
            return None;
        }
        let valid = std::mem::replace(&mut self.data_valid, true) && self.data_utf8.pending() == 0;
        self.data_utf8.reset();
        let data = if self.after_idle && self.data.len() == self.data.capacity() {
            // A buffer of the exact size goes with the event as it is (a
            // block stays for the next event, which reclaims it).
            std::mem::take(&mut self.data).freeze()
        } else {
            self.data.split().freeze()
        };
        let data = text(data, valid);
        self.after_idle = false;
        let event_type = std::mem::take(&mut self.event_type);
        self.has_data = false;
        Some(Event::new(event_type, data, self.id_buffer.clone()))
    }
}

/// The items of one chunk, decoded as they are taken; see
/// [`Decoder::feed`]. Dropping it decodes the rest of the chunk into the
/// decoder's queue.
#[derive(Debug)]
pub struct Feed<'d, 'c> {
    dec: &'d mut Decoder,
    chunk: &'c [u8],
    pos: usize,
    start: u64,
    /// `chunk[..valid]` is valid UTF-8: values inside it are not checked
    /// again (one validation pass per chunk instead of one per field).
    /// Found when a whole line first needs it.
    valid: Option<usize>,
    done: bool,
}

impl Feed<'_, '_> {
    #[expect(clippy::inline_always, reason = "as Decoder::step")]
    #[inline(always)]
    fn advance(&mut self) -> Step {
        let step = self
            .dec
            .step(self.chunk, &mut self.pos, self.start, &mut self.valid);
        if matches!(step, Step::Done) && !self.done {
            self.done = true;
            self.dec.offset = self.start + self.chunk.len() as u64;
            self.dec.settle();
        }
        step
    }
}

impl Iterator for Feed<'_, '_> {
    type Item = Result<Item, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.dec.out.pop_front() {
                return Some(item);
            }
            match self.advance() {
                Step::Done => return None,
                Step::More => {}
                Step::Item(item) => return Some(item),
            }
        }
    }
}

impl Drop for Feed<'_, '_> {
    #[inline(never)]
    fn drop(&mut self) {
        if self.done {
            return;
        }
        loop {
            match self.advance() {
                Step::Done => return,
                Step::More => {}
                Step::Item(item) => self.dec.out.push_back(item),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_and_unknown_lines_are_not_buffered() {
        let mut dec = Decoder::new(Limits::default());
        dec.feed(b": ");
        dec.feed(&[b'x'; 10_000]);
        assert_eq!(dec.buffered_len(), 0);
        dec.feed(b"\nsomefield: ");
        dec.feed(&[b'y'; 10_000]);
        assert_eq!(dec.buffered_len(), 0);
        dec.feed(b"\n\n");
        assert_eq!(dec.next_item(), None);
    }

    #[test]
    fn too_long_line_is_discarded_as_it_streams() {
        let mut dec = Decoder::new(Limits::default().max_line_len(16));
        dec.feed(b"data: ");
        for _ in 0..100 {
            dec.feed(&[b'z'; 1000]);
            assert!(dec.buffered_len() <= 16);
        }
        assert!(matches!(
            dec.next_item(),
            Some(Err(Error::LineTooLong { .. }))
        ));
        assert_eq!(dec.next_item(), None);
        dec.feed(b"\n\ndata: ok\n\n");
        assert!(matches!(dec.next_item(), Some(Ok(Item::Event(_)))));
    }

    #[test]
    fn reported_comments_are_buffered_up_to_the_line_limit() {
        let mut dec = Decoder::new(Limits::default().max_line_len(8)).with_comments(true);
        dec.feed(b": abcdefghijkl\n\n: ok\n");
        assert!(matches!(
            dec.next_item(),
            Some(Err(Error::LineTooLong {
                limit: 8,
                offset: 8
            }))
        ));
        assert_eq!(
            dec.next_item(),
            Some(Ok(Item::Comment(Utf8Bytes::from("ok"))))
        );
    }

    #[test]
    fn invalid_bytes_in_id_and_type_stay_within_max_buffered() {
        // Every byte invalid: U+FFFD triples the id and the type.
        let limits = Limits::default().max_line_len(20).max_event_data(20);
        let mut dec = Decoder::new(limits);
        let bad = [0xFF; 17];
        for field in [&b"id: "[..], b"event: "] {
            dec.feed(field);
            dec.feed(&bad[..20 - field.len()]);
            dec.feed(b"\n");
        }
        dec.feed(b"\n"); // commit the id: last_event_id == id buffer
        dec.feed(b"id: ");
        dec.feed(&bad[..16]);
        dec.feed(b"\nevent: ");
        dec.feed(&bad[..13]);
        dec.feed(b"\ndata: ");
        dec.feed(&bad[..14]);
        dec.feed(b"\ndata: ");
        dec.feed(&bad[..5]);
        assert!(
            dec.buffered_len() > 20 + 4 * 20,
            "the case needs the 10x bound"
        );
        assert!(dec.buffered_len() <= limits.max_buffered());
    }

    #[test]
    fn single_line_data_streams_into_the_data_buffer_only() {
        let mut dec = Decoder::new(Limits::default());
        dec.feed(b"data: 0123");
        assert_eq!((dec.data.len(), dec.value.len()), (4, 0));
        dec.feed(b"456789\n\n");
        let Some(Ok(Item::Event(ev))) = dec.next_item() else {
            panic!("no event");
        };
        assert_eq!(ev.data(), "0123456789");
        assert_eq!(dec.buffered_len(), 0);
    }

    /// An event as written: id, type, data lines.
    type Raw<'a> = (Vec<u8>, Vec<u8>, Vec<&'a [u8]>);

    /// Events as (type, data, id) from `wire` fed in the given pieces.
    fn decode_in(wire: &[u8], cuts: &[usize]) -> Vec<(String, String, String)> {
        let mut dec = Decoder::new(Limits::default());
        let mut got = Vec::new();
        let mut start = 0;
        for &end in cuts.iter().chain([&wire.len()]) {
            for item in dec.feed(&wire[start..end]) {
                let Ok(Item::Event(ev)) = item else {
                    panic!("unexpected {item:?}");
                };
                got.push((ev.event_type().into(), ev.data().into(), ev.id().into()));
            }
            start = end;
        }
        got
    }

    #[test]
    fn utf8_shortcuts_agree_with_lossy_decoding_at_every_split() {
        // §9.2.6 decodes the stream as UTF-8 with U+FFFD replacement. Values
        // inside a chunk's valid prefix skip validation, pieces of long
        // lines go through the incremental validator, short events are
        // checked at dispatch: every chunking must give the same text
        // (debug builds also assert each shortcut's claim of validity).
        let pad = "é✓".repeat(20);
        let long = format!("{pad}\u{1F642}").repeat(12);
        let events: Vec<Raw<'_>> = vec![
            (
                format!("ü{pad}").into_bytes(),
                format!("t{pad}").into_bytes(),
                vec![pad.as_bytes(), b"a\xFFb"],
            ),
            (
                b"7".to_vec(),
                b"t\xE2\x82".to_vec(),
                vec![b"x\xE2\x82", b"y"],
            ),
            (
                b"8".to_vec(),
                b"delta".to_vec(),
                vec![long.as_bytes(), b"\xC0"],
            ),
            (b"9".to_vec(), b"delta".to_vec(), vec![long.as_bytes()]),
        ];
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        for (id, event_type, data) in &events {
            for (name, value) in [(&b"id: "[..], id), (b"event: ", event_type)] {
                wire.extend_from_slice(name);
                wire.extend_from_slice(value);
                wire.push(b'\n');
            }
            for line in data {
                wire.extend_from_slice(b"data: ");
                wire.extend_from_slice(line);
                wire.push(b'\n');
            }
            wire.push(b'\n');
            expected.push((lossy(event_type), lossy(&data.join(&b'\n')), lossy(id)));
        }
        assert_eq!(decode_in(&wire, &[]), expected);
        for size in [1, 2, 3, 7, 63, 64, 65, 100, 1000, 4096] {
            let cuts: Vec<usize> = (size..wire.len()).step_by(size).collect();
            assert_eq!(decode_in(&wire, &cuts), expected, "chunks of {size}");
        }
        for cut in 0..=wire.len() {
            assert_eq!(decode_in(&wire, &[cut]), expected, "split at {cut}");
        }
    }

    #[test]
    fn idle_decoder_holds_only_the_last_id_and_type() {
        let wire = b"id: 42\nevent: delta\ndata: one\ndata: two\n\n";
        let mut dec = Decoder::new(Limits::default());
        let ev = dec.feed(wire).next();
        assert!(matches!(ev, Some(Ok(Item::Event(_)))));
        drop(ev);
        assert_eq!((dec.data.capacity(), dec.value.capacity()), (0, 0));
        assert!(!dec.type_in_block && !dec.id_in_block && dec.after_idle);
        assert_eq!(dec.last_type.as_str(), "delta");
        assert_eq!(
            (dec.last_event_id().as_str(), dec.id_buffer.as_str()),
            ("42", "42")
        );
        // Mid-event at the end of a chunk: the buffers stay.
        dec.feed(b"data: a");
        assert!(dec.data.capacity() > 0);
        dec.feed(b"b\n\n");
        assert!(
            matches!(dec.next_item(), Some(Ok(Item::Event(ev))) if ev.data() == "ab" && ev.id() == "42")
        );
        assert_eq!(dec.data.capacity(), 0);

        let mut keep = Decoder::new(Limits::default()).with_idle_release(false);
        keep.feed(wire);
        assert!(keep.data.capacity() > 0 && keep.value.capacity() > 0);
        let Some(Ok(Item::Event(ev))) = keep.next_item() else {
            panic!("no event");
        };
        assert_eq!(
            (ev.event_type(), ev.data(), ev.id()),
            ("delta", "one\ntwo", "42")
        );
    }

    #[test]
    fn repeated_type_and_id_share_the_previous_text() {
        let mut dec = Decoder::new(Limits::default()).with_idle_release(false);
        dec.feed(b"id: 1\nevent: delta\ndata: a\n\nid: 1\nevent: delta\ndata: b\n\n");
        let mut evs = Vec::new();
        while let Some(Ok(Item::Event(ev))) = dec.next_item() {
            evs.push(ev);
        }
        let [a, b] = &evs[..] else {
            panic!("two events expected");
        };
        assert_eq!(
            a.event_type_text().as_bytes().as_ptr(),
            b.event_type_text().as_bytes().as_ptr()
        );
        assert_eq!(
            a.id_text().as_bytes().as_ptr(),
            b.id_text().as_bytes().as_ptr()
        );
        assert_eq!((b.event_type(), b.data(), b.id()), ("delta", "b", "1"));
    }

    #[test]
    fn last_event_id_changes_only_at_the_blank_line() {
        // §9.2.6: the id field sets the buffer; the blank line commits it.
        let mut dec = Decoder::new(Limits::default()).with_last_event_id(Utf8Bytes::from("0"));
        dec.feed(b"id: 1\n");
        assert_eq!(dec.last_event_id(), "0");
        dec.feed(b"id: 2\n");
        assert_eq!(dec.last_event_id(), "0");
        dec.feed(b"\n");
        assert_eq!(dec.last_event_id(), "2");
        dec.feed(b"id: 3\ndata: x\n");
        assert!(dec.finish(), "the unterminated event is dropped");
        assert_eq!(dec.last_event_id(), "2");
        dec.feed(b"data: y\n\n");
        let Some(Ok(Item::Event(ev))) = dec.next_item() else {
            panic!("no event");
        };
        assert_eq!((ev.data(), ev.id()), ("y", "2"));
        // An id line equal to the committed one changes nothing.
        dec.feed(b"id: 2\n");
        assert!(!dec.finish());
    }

    #[test]
    fn an_error_in_a_chunk_tail_is_yielded_by_the_iterator() {
        let mut dec = Decoder::new(Limits::default().max_line_len(16));
        let got: Vec<_> = dec.feed(b"data: 0123456789abcdef").collect();
        assert_eq!(
            got,
            [Err(Error::LineTooLong {
                limit: 16,
                offset: 16
            })]
        );
        let got: Vec<_> = dec.feed(b"more\n\ndata: ok\n\n").collect();
        assert!(matches!(&got[..], [Ok(Item::Event(ev))] if ev.data() == "ok"));
        assert_eq!(dec.feed(b"").next(), None);
    }
}
