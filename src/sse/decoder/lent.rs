//! Events lent rather than handed over ([`Decoder::feed_lent`]): values of
//! whole lines stay in the chunk as ranges, the data of other events stays
//! in the decoder's buffer, and the event borrows both until the next
//! call. Nothing is reference-counted or allocated per event; whatever is
//! still lent when the chunk is used up is copied into the decoder first.

use core::ops::Range;

use bytes::Bytes;

use super::feed::Step;
use super::scan::LentChunk;
use super::{Decoder, Event, Item, LimitError, Utf8Bytes};
use crate::sse::{LentEvent, LentItem};

/// Values of the chunk being read by a [`LentFeed`], left in it (every
/// range is of that chunk and valid UTF-8). Empty outside one.
#[derive(Debug, Default)]
pub(super) struct LentValues {
    /// The event's only data line so far (the data buffer is empty).
    pub(super) data: Option<Range<usize>>,
    /// The last event ID buffer (`id_buffer` is then empty).
    pub(super) id: Option<Range<usize>>,
    /// While an id is pending, the last event ID string
    /// (`last_event_id` is then empty).
    pub(super) committed_id: Option<Range<usize>>,
    /// The data buffer holds the data of the event lent last: cleared at
    /// the next call rather than split off.
    pub(super) data_out: bool,
    /// A `LentFeed` is reading: set by `feed_lent`, cleared when its chunk
    /// is used up. Still set at the next chunk's start, the feed was leaked
    /// (`mem::forget`) and its ranges point into a chunk that is gone.
    pub(super) active: bool,
}

/// Where the parts of a lent event are, beyond the decoder's id.
#[derive(Debug)]
pub(super) struct LentParts {
    /// The data: this range of the chunk, or (`None`) the data buffer.
    data: Option<Range<usize>>,
    /// The event type is `last_type` (otherwise the default).
    typed: bool,
}

impl Decoder {
    /// Copies a lent first data line into the data buffer, before anything
    /// is joined to it or the chunk ends.
    #[inline]
    pub(super) fn unlend_data(&mut self, chunk: &[u8]) {
        if let Some(range) = self.lent.data.take() {
            self.copy_lent_data(chunk.get(range).unwrap_or_default());
        }
    }

    #[inline(never)]
    fn copy_lent_data(&mut self, line: &[u8]) {
        // Within the data limit (checked when lent), valid (only valid
        // lines are lent), and the data buffer is empty.
        self.reserve_data(line.len());
        self.append_data(line, true);
    }

    /// Copies everything still lent from `chunk` into the decoder.
    #[inline]
    pub(super) fn unlend(&mut self, chunk: &[u8]) {
        // Checked at every chunk end and before every line the state
        // machine reads: inline, so that nothing lent costs a few compares
        // (7-byte chunks: 30 instructions a chunk saved).
        let lent = &self.lent;
        if lent.data.is_some() || lent.id.is_some() || lent.committed_id.is_some() {
            self.copy_lent(chunk);
        }
    }

    #[inline(never)]
    fn copy_lent(&mut self, chunk: &[u8]) {
        self.unlend_data(chunk);
        let own = |range: Range<usize>| {
            let bytes = chunk.get(range).unwrap_or_default();
            Utf8Bytes::from_validated(Bytes::copy_from_slice(bytes))
        };
        if let Some(range) = self.lent.id.take() {
            self.id_buffer = own(range);
            self.id_in_block = false;
        }
        if let Some(range) = self.lent.committed_id.take() {
            self.last_event_id = own(range);
        }
    }

    /// After a leaked `LentFeed`: what it still lent is lost (the event it
    /// was reading, the id it set), so that nothing reads a range of a
    /// chunk that is gone.
    #[cold]
    pub(super) fn forget_lent(&mut self) {
        let lent = core::mem::take(&mut self.lent);
        if lent.data_out {
            self.data.clear();
        }
        if lent.data.is_some() {
            self.reset_event();
        }
        if lent.id.is_some() {
            self.id_buffer = Utf8Bytes::new();
            self.id_in_block = false;
        }
        if lent.committed_id.is_some() {
            self.last_event_id = Utf8Bytes::new();
        }
    }

    /// The data buffer of the event lent last is free again.
    #[inline]
    fn take_back_data(&mut self) {
        if core::mem::take(&mut self.lent.data_out) {
            self.data.clear();
        }
    }

    /// A blank line of a lent chunk: dispatch, handing out where the parts
    /// are instead of an [`Event`].
    #[inline]
    pub(super) fn lend_event(&mut self) -> Option<LentParts> {
        if !self.end_event() {
            return None;
        }
        let typed = core::mem::take(&mut self.has_type);
        self.has_data = false;
        self.after_idle = false;
        let data = self.lent.data.take();
        if data.is_none() {
            // A first data line shared by an earlier `feed_bytes` chunk
            // joins the data buffer, which is lent.
            self.unshare_data();
            let valid =
                core::mem::replace(&mut self.data_valid, true) && self.data_utf8.pending() == 0;
            self.data_utf8.reset();
            if !valid {
                self.repair_data();
            }
            self.lent.data_out = true;
        }
        Some(LentParts { data, typed })
    }

    /// The data buffer decoded as the WHATWG UTF-8 decode reads it: each
    /// invalid sequence becomes U+FFFD (as `Utf8Bytes::from_lossy` does
    /// for owned events).
    #[cold]
    fn repair_data(&mut self) {
        if simdutf8::basic::from_utf8(&self.data).is_err() {
            let text = alloc::string::String::from_utf8_lossy(&self.data).into_owned();
            self.data.clear();
            self.data.extend_from_slice(text.as_bytes());
        }
    }

    /// The lent event `parts` of `chunk` as an owned event (one that must
    /// be queued).
    #[cold]
    #[inline(never)]
    pub(super) fn lent_to_owned(&mut self, parts: LentParts, chunk: &[u8]) -> Event {
        let copy = |bytes: &[u8]| Utf8Bytes::from_validated(Bytes::copy_from_slice(bytes));
        let data = if let Some(range) = parts.data {
            copy(chunk.get(range).unwrap_or_default())
        } else {
            self.lent.data_out = false;
            Utf8Bytes::from_validated(self.data.split().freeze())
        };
        let id = match &self.lent.id {
            Some(range) => copy(chunk.get(range.clone()).unwrap_or_default()),
            None => self.id_buffer.clone(),
        };
        let event_type = if parts.typed {
            self.last_type.clone()
        } else {
            Utf8Bytes::new()
        };
        Event::new(event_type, data, id)
    }

    /// Feeds the next chunk and lends its items one at a time: the same
    /// items as [`feed`](Self::feed), but an event's type, data and id are
    /// borrowed from `chunk` and the decoder until the next call instead of
    /// handed over. Take a copy ([`LentEvent::to_event`]) of what must
    /// outlive the call.
    ///
    /// Use it where each event is handled at once (parsed, forwarded,
    /// re-encoded). A single-line `data` value wholly inside the chunk,
    /// within `max_event_data` and known to be UTF-8 (in a chunk of 64
    /// bytes or more, as the chunk's valid prefix; in a shorter one, only
    /// ASCII) is lent from the chunk itself, and so is such an `id`; other
    /// data is gathered in the decoder's buffer and lent from there. An
    /// event of that kind costs no allocation and no reference count; per
    /// chunk, the id still lent when it is used up is copied into the
    /// decoder (one allocation), and comments and a new event type are
    /// copied as `feed` copies them.
    ///
    /// Leaking the returned feed (`mem::forget`) loses what it had lent:
    /// the event it was reading and the id it had set.
    ///
    /// # Example
    /// ```
    /// use pushcodec::sse::{Decoder, LentItem, Limits};
    ///
    /// let mut dec = Decoder::new(Limits::default());
    /// let mut ids = Vec::new();
    /// for chunk in [&b"id: 1\ndata: a\n\nid: 2\nda"[..], b"ta: b\n\nretry: 10\n"] {
    ///     let mut feed = dec.feed_lent(chunk);
    ///     while let Some(item) = feed.next_item() {
    ///         match item {
    ///             Ok(LentItem::Event(ev)) => ids.push((ev.id().to_owned(), ev.data().to_owned())),
    ///             Ok(LentItem::Retry(ms)) => assert_eq!(ms, 10),
    ///             Ok(_) => {}
    ///             Err(limit) => panic!("{limit}"),
    ///         }
    ///     }
    /// }
    /// assert_eq!(ids, [("1".into(), "a".into()), ("2".into(), "b".into())]);
    /// assert_eq!(dec.last_event_id(), "2");
    /// ```
    #[inline]
    pub fn feed_lent<'d, 'c>(&'d mut self, chunk: &'c [u8]) -> LentFeed<'d, 'c> {
        let (pos, start) = self.begin(chunk);
        self.lent.active = true;
        LentFeed {
            dec: self,
            chunk,
            pos,
            start,
            valid: None,
            done: false,
            held: None,
        }
    }
}

/// The items of one chunk, each lent until the next call; see
/// [`Decoder::feed_lent`]. Dropping it decodes the rest of the chunk into
/// the decoder's queue, as [`Feed`](super::Feed) does.
#[derive(Debug)]
pub struct LentFeed<'d, 'c> {
    dec: &'d mut Decoder,
    chunk: &'c [u8],
    pos: usize,
    start: u64,
    /// As `Feed::valid`.
    valid: Option<usize>,
    done: bool,
    /// The queued item lent last (retry, comment, or an event that had to
    /// be queued).
    held: Option<Item>,
}

impl LentFeed<'_, '_> {
    /// The next item, borrowed until the next call; `None` once the chunk
    /// is used up ("feed more bytes").
    pub fn next_item(&mut self) -> Option<Result<LentItem<'_>, LimitError>> {
        self.dec.take_back_data();
        self.held = None;
        let parts = loop {
            let item = match self.dec.out.pop_front() {
                Some(item) => item,
                // Used up (by `begin`, as a tiny chunk is, or by earlier
                // steps): no call into the decoding step, whose entry alone
                // costs tens of instructions.
                None if self.pos >= self.chunk.len() => {
                    self.used_up();
                    return None;
                }
                None => match self.advance() {
                    Step::Done => return None,
                    Step::More => continue,
                    Step::Item(item) => item,
                    Step::Lent(parts) => break Some(parts),
                },
            };
            match item {
                Ok(item) => self.held = Some(item),
                Err(limit) => return Some(Err(limit)),
            }
            break None;
        };
        match parts {
            Some(parts) => Some(Ok(LentItem::Event(self.view(parts)))),
            None => self.held.as_ref().map(|item| Ok(LentItem::of(item))),
        }
    }

    /// The lent event `parts` describe.
    fn view(&self, parts: LentParts) -> LentEvent<'_> {
        let dec = &*self.dec;
        let data = match parts.data {
            Some(range) => self.chunk.get(range).unwrap_or_default(),
            None => &dec.data[..],
        };
        let id = match &dec.lent.id {
            Some(range) => self.chunk.get(range.clone()).unwrap_or_default(),
            None => dec.id_buffer.as_bytes(),
        };
        let event_type: &[u8] = if parts.typed {
            dec.last_type.as_bytes()
        } else {
            &[]
        };
        LentEvent::from_validated(event_type, data, id)
    }

    /// One decoding step; at the chunk's end, what is still lent is copied
    /// into the decoder.
    fn advance(&mut self) -> Step {
        let step = self.dec.step(
            self.chunk,
            LentChunk(self.chunk),
            &mut self.pos,
            self.start,
            &mut self.valid,
        );
        if matches!(step, Step::Done) {
            self.used_up();
        }
        step
    }

    /// The chunk is used up: what is still lent is copied into the decoder
    /// (once).
    #[inline]
    fn used_up(&mut self) {
        if !self.done {
            self.done = true;
            self.dec.lent.active = false;
            self.dec.unlend(self.chunk);
            self.dec.offset = self.start + self.chunk.len() as u64;
            self.dec.settle();
        }
    }
}

impl Drop for LentFeed<'_, '_> {
    fn drop(&mut self) {
        self.dec.take_back_data();
        while !self.done {
            match self.advance() {
                Step::Done | Step::More => {}
                Step::Item(item) => self.dec.out.push_back(item),
                Step::Lent(parts) => {
                    let ev = self.dec.lent_to_owned(parts, self.chunk);
                    self.dec.out.push_back(Ok(Item::Event(ev)));
                }
            }
        }
    }
}
