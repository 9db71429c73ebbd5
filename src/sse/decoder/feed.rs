//! How a chunk is walked: the BOM and a split CRLF at its start, then
//! line after line until one gives an item, and the [`Feed`] iterator
//! that hands the items out.

use bytes::Bytes;

use super::lent::LentParts;
use super::scan::{Borrowed, Field, Line, Source, find_eol, valid_prefix};
use super::{CARRY_MAX, Decoder, Item, LimitError};

/// What one decoding step did.
pub(super) enum Step {
    /// The chunk is used up.
    Done,
    /// A line or part of one was read; items, if any, are queued.
    More,
    /// A line was read and produced this item (nothing else is queued).
    Item(Result<Item, LimitError>),
    /// A blank line dispatched this lent event (only for a lent chunk;
    /// nothing else is queued).
    Lent(LentParts),
}

impl Decoder {
    /// The start of a chunk: the BOM and a CRLF split by the previous
    /// chunk boundary. Returns where the lines start and the chunk's
    /// stream offset.
    #[inline]
    pub(super) fn begin(&mut self, chunk: &[u8]) -> (usize, u64) {
        if self.lent.active {
            self.forget_lent();
        }
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
        if !self.carry.is_empty() {
            pos = self.resume_carry(chunk, pos);
        }
        (pos, start)
    }

    /// How long the carried start of a line may grow.
    fn carry_limit(&self) -> usize {
        CARRY_MAX.min(self.limits.max_line_len)
    }

    /// Whether the unterminated tail of a chunk can wait in the carry: it
    /// starts a line and is short.
    fn can_carry(&self, tail: usize) -> bool {
        matches!(self.line, Line::Start)
            && self.line_len == 0
            && !self.skipping
            && self.carry.len() + tail <= self.carry_limit()
    }

    /// Sets `tail` (a line start without its end) aside for the next chunk.
    fn carry_tail(&mut self, tail: &[u8]) {
        if self.carry.is_empty() {
            self.carry.reserve_exact(self.carry_limit());
        }
        self.carry.extend_from_slice(tail);
    }

    /// Goes on with the carried line start in `chunk[pos..]`: its end there
    /// makes it a whole line, read as such; a chunk without one that still
    /// fits is carried on; a line grown too long for the carry goes to the
    /// state machine, which reads on from where it stands. Returns where
    /// the chunk's next line starts.
    fn resume_carry(&mut self, chunk: &[u8], mut pos: usize) -> usize {
        let rest = chunk.get(pos..).unwrap_or_default();
        let room = self.carry_limit() - self.carry.len();
        // The carry ends where this chunk starts.
        let at = self.offset - self.carry.len() as u64;
        // One byte past the room: a line end right there still counts.
        match find_eol(&rest[..rest.len().min(room + 1)]) {
            Some(i) if i <= room => {
                self.carry.extend_from_slice(&rest[..i]);
                let line = core::mem::take(&mut self.carry);
                // Not known valid: values are checked where they are kept.
                // A carried line is never blank, so never dispatches; were
                // it to, the event is queued, not lost.
                if let Some(ev) = self.whole_line(&line, 0, at, false, Borrowed) {
                    self.out.push_back(Ok(Item::Event(ev)));
                }
                self.carry = line;
                self.carry.clear();
                pos = self.past_line_end(chunk, pos + i);
            }
            None if rest.len() <= room => {
                self.carry.extend_from_slice(rest);
                pos = chunk.len();
            }
            _ => {
                let line = core::mem::take(&mut self.carry);
                self.line_bytes(&line, at, false);
                self.carry = line;
                self.carry.clear();
            }
        }
        pos
    }

    /// Decodes one line (or the chunk's unterminated tail) of `chunk` from
    /// `*pos`. `valid` caches the length of the chunk's valid UTF-8 prefix,
    /// found when a whole line first needs it. `src` says whether `chunk`
    /// was fed as shared bytes.
    #[expect(
        clippy::inline_always,
        reason = "measured: inlined into Feed::next, the event is built in place (-8% instructions)"
    )]
    #[inline(always)]
    pub(super) fn step<S: Source>(
        &mut self,
        chunk: &[u8],
        src: S,
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
                if S::LENT {
                    self.unlend(chunk);
                }
                if self.can_carry(rest.len()) {
                    self.carry_tail(rest);
                } else {
                    self.partial_line(rest, at, valid.is_some_and(|v| chunk.len() <= v));
                }
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
            let item = if whole && line.is_empty() {
                // A blank line: one per event, worth skipping the field match.
                if S::LENT {
                    *pos = self.past_line_end(chunk, end);
                    match self.lend_event() {
                        Some(parts) if self.out.is_empty() => return Step::Lent(parts),
                        Some(parts) => Some(self.lent_to_owned(parts, chunk)),
                        None => None,
                    }
                } else {
                    self.blank_line()
                }
            } else if whole {
                // The whole line is in this chunk: no state machine.
                let valid = end <= *valid.get_or_insert_with(|| valid_prefix(chunk));
                self.whole_line(line, *pos, at, valid, src)
            } else {
                if S::LENT {
                    // The state machine keeps values in the decoder.
                    self.unlend(chunk);
                }
                self.line_bytes(line, at, valid.is_some_and(|v| end <= v));
                self.end_line(at + i as u64)
            };
            if !(S::LENT && whole && line.is_empty()) {
                *pos = self.past_line_end(chunk, end);
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

    /// Where the line after the one ending at `chunk[end]` starts (a CRLF
    /// split by the chunk's end is noted).
    #[expect(clippy::inline_always, reason = "as step")]
    #[inline(always)]
    fn past_line_end(&mut self, chunk: &[u8], end: usize) -> usize {
        let mut next = end + 1;
        if chunk.get(end) == Some(&b'\r') {
            match chunk.get(next) {
                Some(b'\n') => next += 1,
                Some(_) => {}
                None => self.pending_cr = true,
            }
        }
        next
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
}

/// The items of one chunk, decoded as they are taken; see
/// [`Decoder::feed`] and [`Decoder::feed_bytes`]. Dropping it decodes the rest of the chunk into the
/// decoder's queue.
#[derive(Debug)]
pub struct Feed<'d, 'c> {
    pub(super) dec: &'d mut Decoder,
    pub(super) chunk: &'c [u8],
    /// The chunk, when fed as shared bytes.
    pub(super) shared: Option<&'c Bytes>,
    pub(super) pos: usize,
    pub(super) start: u64,
    /// `chunk[..valid]` is valid UTF-8: values inside it are not checked
    /// again (one validation pass per chunk instead of one per field).
    /// Found when a whole line first needs it.
    pub(super) valid: Option<usize>,
    pub(super) done: bool,
}

impl Feed<'_, '_> {
    /// One decoding step; `SHARED` when the chunk is `self.shared`. The
    /// two ways are compiled apart, so that `feed` pays nothing for
    /// `feed_bytes`.
    #[expect(clippy::inline_always, reason = "as Decoder::step")]
    #[inline(always)]
    fn advance<const SHARED: bool>(&mut self) -> Step {
        let (step, len) = if SHARED {
            let Some(bytes) = self.shared else {
                return Step::Done;
            };
            let step = self.dec.step(
                self.chunk,
                bytes,
                &mut self.pos,
                self.start,
                &mut self.valid,
            );
            (step, self.chunk.len())
        } else {
            let step = self.dec.step(
                self.chunk,
                Borrowed,
                &mut self.pos,
                self.start,
                &mut self.valid,
            );
            (step, self.chunk.len())
        };
        if matches!(step, Step::Done) && !self.done {
            self.done = true;
            self.dec.offset = self.start + len as u64;
            self.dec.settle();
        }
        step
    }

    #[expect(clippy::inline_always, reason = "as Decoder::step")]
    #[inline(always)]
    fn next_in<const SHARED: bool>(&mut self) -> Option<Result<Item, LimitError>> {
        loop {
            if let Some(item) = self.dec.out.pop_front() {
                return Some(item);
            }
            match self.advance::<SHARED>() {
                Step::Done => return None,
                Step::More => {}
                Step::Item(item) => return Some(item),
                // Never from a chunk that is not lent; handed over if it were.
                Step::Lent(parts) => {
                    let ev = self.dec.lent_to_owned(parts, self.chunk);
                    return Some(Ok(Item::Event(ev)));
                }
            }
        }
    }

    #[inline(never)]
    fn next_shared(&mut self) -> Option<Result<Item, LimitError>> {
        self.next_in::<true>()
    }

    /// Decodes the rest of the chunk into the decoder's queue.
    #[inline(never)]
    fn drain<const SHARED: bool>(&mut self) {
        loop {
            match self.advance::<SHARED>() {
                Step::Done => return,
                Step::More => {}
                Step::Item(item) => self.dec.out.push_back(item),
                Step::Lent(parts) => {
                    let ev = self.dec.lent_to_owned(parts, self.chunk);
                    self.dec.out.push_back(Ok(Item::Event(ev)));
                }
            }
        }
    }
}

impl Feed<'_, '_> {
    /// The chunk is used up (by `begin`, as a tiny chunk is, or by earlier
    /// steps): what is queued, then the end. Kept out of the big decoding
    /// function, whose entry alone costs tens of instructions.
    #[inline]
    fn used_up(&mut self) -> Option<Result<Item, LimitError>> {
        if let Some(item) = self.dec.out.pop_front() {
            return Some(item);
        }
        if !self.done {
            self.done = true;
            self.dec.offset = self.start + self.chunk.len() as u64;
            self.dec.settle();
        }
        None
    }
}

impl Iterator for Feed<'_, '_> {
    type Item = Result<Item, LimitError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.chunk.len() {
            return self.used_up();
        }
        if self.shared.is_some() {
            return self.next_shared();
        }
        self.next_in::<false>()
    }
}

impl Drop for Feed<'_, '_> {
    #[inline]
    fn drop(&mut self) {
        // Iterated to the end, as usual: nothing left, no call.
        if self.done {
            return;
        }
        if self.shared.is_some() {
            self.drain::<true>();
        } else {
            self.drain::<false>();
        }
    }
}
