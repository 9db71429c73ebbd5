//! Whole lines inside one chunk (the common case): the field is matched
//! on the line itself and its value taken in one piece, without the
//! per-byte state machine of [`fields`](super::fields).

use bytes::Bytes;
use memchr::memchr;

use super::fields::Effect;
use super::scan::{Borrowed, Field, Source, text};
use super::{Decoder, Event, Item, Utf8Bytes};

impl Decoder {
    /// A whole line at stream offset `at` and chunk offset `line_at`,
    /// within the line limit, read from the state between lines (§9.2.6).
    pub(super) fn whole_line<S: Source>(
        &mut self,
        line: &[u8],
        line_at: usize,
        at: u64,
        valid: bool,
        src: S,
    ) -> Option<Event> {
        // Values are suffixes of the line: where one is in the chunk.
        let line_end = line_at + line.len();
        let range = |value: &[u8]| line_end - value.len()..line_end;
        // §9.2.6: the field name is everything before the first colon; the
        // known names are matched on the line itself.
        let (field, colon) = match line {
            [] => return self.blank_line(),
            // §9.2.6: a line starting with a colon is a comment.
            [b':', comment @ ..] => {
                if self.comments {
                    let comment = comment.strip_prefix(b" ").unwrap_or(comment);
                    let bytes = src
                        .share(range(comment))
                        .unwrap_or_else(|| Bytes::copy_from_slice(comment));
                    let text = text(bytes, valid);
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
                        if S::LENT {
                            self.unlend_data(src.lent_chunk());
                        }
                        let _ = self.start_data_line(at + line.len() as u64);
                    } else {
                        // Borrowed even in a lent chunk: `field_effect`
                        // knows the id buffer may be lent (passing `src`
                        // here cost the lent rows 60 instructions an event).
                        self.field_value(field, b"", true, Borrowed, 0..0);
                    }
                    return None;
                }
            }
        };
        let rest = line.get(colon + 1..).unwrap_or_default();
        // §9.2.6: one leading space (U+0020 only) is removed from the value.
        let value = rest.strip_prefix(b" ").unwrap_or(rest);
        if field == Field::Data {
            if S::SHARED && !self.has_data && value.len() <= self.limits.max_event_data {
                // The event's first data line, whole in a shared chunk:
                // kept as a slice of it until a second line needs a copy.
                self.shared_data = src.share(range(value));
                self.shared_data_valid = valid;
                self.has_data = true;
                return None;
            }
            if S::LENT
                && !self.has_data
                && (valid || value.is_ascii())
                && value.len() <= self.limits.max_event_data
            {
                // The same, lent: a range of the chunk, no reference count.
                self.lent.data = Some(range(value));
                self.has_data = true;
                return None;
            }
            if S::LENT {
                self.unlend_data(src.lent_chunk());
            }
            self.unshare_data();
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
            self.field_value(field, value, valid, src, range(value));
        }
        None
    }

    /// A complete `event`, `id` or `retry` value of a whole line in the
    /// chunk (§9.2.6, rules in [`field_effect`](Self::field_effect)).
    /// `value` is `chunk[range]` of the chunk `src` tells of.
    pub(super) fn field_value<S: Source>(
        &mut self,
        field: Field,
        value: &[u8],
        valid: bool,
        src: S,
        range: core::ops::Range<usize>,
    ) {
        // An equal id is kept rather than copied again; a slice of a
        // shared chunk costs less than the comparison.
        let effect = self.field_effect(field, value, !S::SHARED && !S::LENT);
        if S::LENT && effect == Effect::SetId && (valid || value.is_ascii()) {
            // Left in the chunk: copied out only if the chunk ends first.
            self.replace_id(Utf8Bytes::new(), Some(range), false);
            return;
        }
        self.apply_field(effect, |dec| dec.block_text(value, valid, src, range));
    }

    /// `value` as shared text, split off the value block (no allocation per
    /// line), or in an exact-size allocation of its own after idle, or a
    /// slice of the `shared` chunk; says whether it shares a bigger
    /// allocation (copied out when the decoder goes idle). `self.value` is
    /// empty whenever this is called.
    fn block_text<S: Source>(
        &mut self,
        value: &[u8],
        valid: bool,
        src: S,
        range: core::ops::Range<usize>,
    ) -> (Utf8Bytes, bool) {
        if value.is_empty() {
            return (Utf8Bytes::new(), false);
        }
        if let Some(bytes) = src.share(range) {
            return (text(bytes, valid), true);
        }
        if self.after_idle && self.value.capacity() == 0 {
            return (text(Bytes::copy_from_slice(value), valid), false);
        }
        self.push_value(value, valid);
        (self.take_value(), true)
    }
}
