//! SSE entries: events whose `id:` field is the entry's id.

use super::{LogId, Payload, PublishError, Seq, Topic};
use crate::prelude::*;
use crate::sse::{EventRef, PreparedEvent};

impl Payload for PreparedEvent {
    fn wire_len(&self) -> usize {
        self.bytes().len()
    }
}

impl<I: LogId> Topic<I, PreparedEvent> {
    /// Encodes `event` once with its `id` field set to `id` (its
    /// `Display` form, which the client sends back as `Last-Event-ID`) and
    /// [`append`](Self::append)s it.
    ///
    /// # Errors
    /// [`PublishError::Encode`] for an event (or an id's `Display`) the
    /// encoder refuses, and those of [`append`](Self::append).
    pub fn append_event(&mut self, id: I, event: &EventRef<'_>) -> Result<(), PublishError<I>> {
        let id_field = id.to_string();
        let prepared = PreparedEvent::new(&event.id(&id_field))?;
        self.append(id, prepared)
    }
}

impl Topic<Seq, PreparedEvent> {
    /// [`append_event`](Self::append_event) under
    /// [`next_seq`](Self::next_seq); returns the id.
    ///
    /// # Errors
    /// As [`append_event`](Self::append_event).
    pub fn publish_event(&mut self, event: &EventRef<'_>) -> Result<Seq, PublishError<Seq>> {
        let seq = self.next_seq();
        self.append_event(seq, event)?;
        Ok(seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic::TopicLimits;

    #[test]
    fn the_id_field_is_the_entry_id() {
        let mut topic = Topic::new(TopicLimits::default());
        // An id given in the event is replaced by the entry's.
        topic.publish_event(&EventRef::new("a").id("x")).unwrap();
        let sub = topic.subscribe_last_event_id(Some("0")).unwrap();
        let got = topic.poll_transmit(sub).unwrap().unwrap();
        assert_eq!(&got.payload.bytes()[..], b"id: 1\ndata: a\n\n");
        assert_eq!(got.payload.id().map(crate::Utf8Bytes::as_str), Some("1"));
    }
}
