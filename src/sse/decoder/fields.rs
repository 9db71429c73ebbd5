//! How a line's bytes become fields, values and events: the decoder's
//! per-byte state machine for lines that span chunks, and dispatch.

use core::ops::Range;

use bytes::BufMut;
use memchr::memchr;

use super::scan::{
    Field, Line, VALIDATE_CHUNK, VALIDATE_EVENT, eq_short, has_nul, retry_value, text,
};
use super::{BOM, DATA_BLOCK, Decoder, Event, Item, LimitError, Utf8Bytes, VALUE_BLOCK};

impl Decoder {
    /// Matches the BOM at stream start; returns how many bytes it used.
    pub(super) fn strip_bom(&mut self, chunk: &[u8], mut matched: u8) -> usize {
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
    pub(super) fn line_bytes(&mut self, seg: &[u8], at: u64, valid: bool) {
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
            self.fail(LimitError::LineTooLong {
                limit: self.limits.max_line_len,
                offset: at + room as u64,
            });
        }
    }

    /// Runs the line state machine over `seg`, already within the line limit.
    pub(super) fn line_value_bytes(&mut self, mut seg: &[u8], mut at: u64, valid: bool) {
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
    pub(super) fn field(&self, len: usize) -> Field {
        match self.name.get(..len) {
            Some(name) => Field::from_name(name),
            None => Field::Unknown,
        }
    }

    /// A `data` line begins: joins it to the previous one with LF. Returns
    /// false if that broke the data limit.
    pub(super) fn start_data_line(&mut self, at: u64) -> bool {
        self.unshare_data();
        if self.has_data {
            if self.data.len() >= self.limits.max_event_data {
                self.fail(LimitError::EventDataTooLarge {
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
    pub(super) fn join_data_line(&mut self) {
        if self.data_utf8.pending() > 0 {
            // The previous line ended inside a code point.
            self.data_valid = false;
            self.data_utf8.reset();
        }
        self.data.put_u8(b'\n');
    }

    pub(super) fn push_value(&mut self, seg: &[u8], valid: bool) {
        if self.value.capacity() - self.value.len() < seg.len() {
            // Ids and types are split off the front and shared by events;
            // blocks keep that from allocating per line.
            self.value.reserve(seg.len().max(VALUE_BLOCK));
        }
        self.value_valid &= valid;
        self.value.extend_from_slice(seg);
    }

    pub(super) fn reserve_data(&mut self, additional: usize) {
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

    /// Copies a shared first data line into the data buffer, before
    /// anything is joined to it.
    #[inline]
    pub(super) fn unshare_data(&mut self) {
        debug_assert!(
            self.lent.data.is_none(),
            "lent data joined without unlend_data"
        );
        if self.shared_data.is_some() {
            self.copy_shared_data();
        }
    }

    #[cold]
    #[inline(never)]
    fn copy_shared_data(&mut self) {
        if let Some(line) = self.shared_data.take() {
            // Within the data limit: checked when it was kept.
            self.reserve_data(line.len());
            self.append_data(&line, self.shared_data_valid);
        }
    }

    pub(super) fn push_data(&mut self, seg: &[u8], at: u64, valid: bool) {
        self.unshare_data();
        let room = self.limits.max_event_data.saturating_sub(self.data.len());
        if seg.len() > room {
            self.fail(LimitError::EventDataTooLarge {
                limit: self.limits.max_event_data,
                offset: at + room as u64,
            });
            return;
        }
        self.reserve_data(seg.len());
        self.append_data(seg, valid);
    }

    /// Appends to the data buffer (room reserved, limit checked).
    pub(super) fn append_data(&mut self, seg: &[u8], valid: bool) {
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
    pub(super) fn fail(&mut self, err: LimitError) {
        self.out.push_back(Err(err));
        self.line = Line::Start;
        self.skipping = true;
        self.clear_value();
        self.reset_event();
    }

    pub(super) fn reset_event(&mut self) {
        self.data.clear();
        self.shared_data = None;
        self.lent.data = None;
        self.data_valid = true;
        self.data_utf8.reset();
        self.has_data = false;
        self.has_type = false;
    }

    /// A line ended (CR, LF or CRLF) at stream offset `at`.
    pub(super) fn end_line(&mut self, at: u64) -> Option<Event> {
        let line = core::mem::replace(&mut self.line, Line::Start);
        let len = core::mem::take(&mut self.line_len);
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
                    self.field_value(field, b"", true, super::scan::Borrowed, 0..0);
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

    /// A complete `event`, `id` or `retry` value gathered in `value` from
    /// a line that spanned chunks (§9.2.6, rules in
    /// [`field_effect`](Self::field_effect)). New text is split off the
    /// value block, which stays for the next line.
    pub(super) fn field_done(&mut self, field: Field) {
        let effect = self.field_effect(field, &self.value, true);
        self.apply_field(effect, |dec| (dec.take_value(), true));
        self.clear_value();
    }

    /// What a complete `event`, `id` or `retry` value does (§9.2.6): the
    /// one place these rules are written, for whole lines and for lines
    /// gathered across chunks alike. `compare_id`: an id equal to the
    /// current one is left alone (when sharing it costs more than the
    /// comparison).
    pub(super) fn field_effect(&self, field: Field, value: &[u8], compare_id: bool) -> Effect {
        match field {
            // A stream repeats its types: an equal one shares the last.
            Field::Event if eq_short(value, self.last_type.as_bytes()) => Effect::RepeatType,
            Field::Event => Effect::SetType,
            // §9.2.6: an id containing U+0000 NULL is ignored.
            Field::Id if has_nul(value) => Effect::Nothing,
            // A lent id buffer is not `id_buffer`: no comparison then.
            Field::Id
                if compare_id
                    && self.lent.id.is_none()
                    && eq_short(value, self.id_buffer.as_bytes()) =>
            {
                Effect::Nothing
            }
            Field::Id => Effect::SetId,
            // §9.2.6: only ASCII digits set the reconnection time.
            Field::Retry => retry_value(value).map_or(Effect::Nothing, Effect::Retry),
            Field::Data | Field::Unknown => Effect::Nothing,
        }
    }

    /// Carries out `effect`; `text` gives the value as shared text and
    /// whether it shares a bigger allocation (see `block_text`).
    #[inline]
    pub(super) fn apply_field(
        &mut self,
        effect: Effect,
        text: impl FnOnce(&mut Self) -> (Utf8Bytes, bool),
    ) {
        match effect {
            Effect::Nothing => {}
            Effect::RepeatType => self.has_type = true,
            Effect::SetType => {
                let (event_type, in_block) = text(self);
                self.last_type = event_type;
                self.has_type = true;
                self.type_in_block = in_block;
            }
            Effect::SetId => {
                let (id, in_block) = text(self);
                self.set_id(id, in_block);
            }
            Effect::Retry(ms) => self.out.push_back(Ok(Item::Retry(ms))),
        }
    }

    /// An `id` line sets the last event ID buffer (§9.2.6).
    pub(super) fn set_id(&mut self, id: Utf8Bytes, in_block: bool) {
        self.replace_id(id, None, in_block);
    }

    /// The last event ID buffer becomes `id`, or the lent chunk's `lent`
    /// range (then `id` is empty); the committed id lives on until the
    /// blank line, in whichever of the two forms it had.
    pub(super) fn replace_id(&mut self, id: Utf8Bytes, lent: Option<Range<usize>>, in_block: bool) {
        let old = core::mem::replace(&mut self.id_buffer, id);
        let old_lent = core::mem::replace(&mut self.lent.id, lent);
        if !self.id_pending {
            self.last_event_id = old;
            self.lent.committed_id = old_lent;
            self.id_pending = true;
        }
        self.id_in_block = in_block;
    }

    pub(super) fn clear_value(&mut self) {
        self.value.clear();
        self.value_valid = true;
    }

    /// Takes the value buffer's bytes as text.
    pub(super) fn take_value(&mut self) -> Utf8Bytes {
        let valid = core::mem::replace(&mut self.value_valid, true);
        text(self.value.split().freeze(), valid)
    }

    /// A blank line: dispatch (§9.2.6 "dispatch the event"), or the end of
    /// a skipped event.
    pub(super) fn blank_line(&mut self) -> Option<Event> {
        if !self.end_event() {
            return None;
        }
        if let Some(data) = self.shared_data.take() {
            let data = text(data, self.shared_data_valid);
            let event_type = self.event_type();
            self.has_type = false;
            self.has_data = false;
            return Some(Event::new(event_type, data, self.id_buffer.clone()));
        }
        let valid = core::mem::replace(&mut self.data_valid, true) && self.data_utf8.pending() == 0;
        self.data_utf8.reset();
        let data = if self.after_idle && self.data.len() == self.data.capacity() {
            // A buffer of the exact size goes with the event as it is (a
            // block stays for the next event, which reclaims it).
            core::mem::take(&mut self.data).freeze()
        } else {
            self.data.split().freeze()
        };
        let data = text(data, valid);
        self.after_idle = false;
        let event_type = self.event_type();
        self.has_type = false;
        self.has_data = false;
        Some(Event::new(event_type, data, self.id_buffer.clone()))
    }

    /// The part of a blank line that does not depend on how the event is
    /// handed out; returns whether an event is to be dispatched.
    #[inline]
    pub(super) fn end_event(&mut self) -> bool {
        // Step 1: the last event id string takes the buffer's value, even
        // when no event is dispatched.
        if self.id_pending {
            self.last_event_id = Utf8Bytes::new();
            self.lent.committed_id = None;
            self.id_pending = false;
        }
        if self.skipping {
            self.skipping = false;
            self.reset_event();
            return false;
        }
        // Step 2: an empty data buffer (no data line) dispatches nothing.
        if !self.has_data {
            self.reset_event();
            return false;
        }
        true
    }
}

/// What a complete `event`, `id` or `retry` value does (see
/// [`Decoder::field_effect`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Effect {
    /// Nothing: an unknown field, an id with NUL, an id equal to the
    /// current one, a `retry` that is not all digits.
    Nothing,
    /// The event type is the last one read, shared.
    RepeatType,
    /// The value is the event type.
    SetType,
    /// The value is the last event ID buffer.
    SetId,
    /// The reconnection time, reported.
    Retry(u64),
}
