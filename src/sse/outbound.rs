//! Per-connection outbound queue for a server's event stream: shared
//! encoded events in, bytes to write out, with accounting of what waits, a
//! high-water mark, and an exact policy for clients that read too slowly.
//!
//! # Why the drop policy ends the response
//!
//! An event stream has no gap signal. If a queue silently dropped `e1`
//! and `e2` and the client later received `e3`, its `Last-Event-ID` would
//! become `3` and `e1`, `e2` would be lost for good (WHATWG HTML §9.2.6:
//! the last event id is whatever the last dispatched event set). So
//! [`SlowConsumer::Resume`] never drops from the middle of a stream that
//! goes on: when a push finds the queue over its mark, everything still
//! queued is dropped *and the queue ends*. The caller ends the response;
//! the `EventSource` reconnects with the id of the last event it actually
//! got, which is the last one [`Outbound::poll_transmit`] handed out, and
//! the server's [`History`](super::History) replays exactly the dropped
//! events. [`Resume`] names that id and every dropped event.
//!
//! There is no separate "close" policy: ending an event stream *is* how a
//! server tells the client to reconnect and resume, so a close would be
//! the same thing under another name. To get rid of a client for good,
//! answer its reconnect with `204 No Content` (WHATWG HTML §9.2.3: the
//! client then stops reconnecting). [`Outbound::end`] ends the queue at
//! any time with the same report.
//!
//! # What "exactly once" needs
//!
//! - Every event has an id. Events without one cannot be reported by the
//!   client, so a replay repeats those handed out after the last id
//!   ([`Resume::events_after_id`] counts them), and a client that never got
//!   an id resumes with none ([`Resume::last_event_id`] is `None`).
//! - The history still holds the dropped events; if not,
//!   [`History::replay_after`](super::History::replay_after) answers
//!   `Unknown` and the caller sends a full resync.
//! - The caller writes what it took from `poll_transmit`. If the response
//!   ends in the middle of an event instead, the client discards that
//!   event (WHATWG HTML §9.2.6: pending data at the end is discarded),
//!   so its `Last-Event-ID` is one event earlier and the replay sends that
//!   event too: still once.
//!
//! # The mark
//!
//! As for WebSocket's `ws::Config::max_outbound_buffer`,
//! a push is over the mark when at least `high_water` bytes are already
//! queued; the push that crosses it is still queued whole, and an empty
//! queue is never over the mark. So any event, however large, goes out
//! from an empty queue: a reconnecting client always makes progress if
//! the caller writes as it pushes (a replay pushed all at once, before any
//! of it is written, can end the response again with nothing handed out:
//! [`Resume::last_event_id`] is then the same as before).
//!
//! Queued bytes are those not yet handed out by `poll_transmit`; bytes the
//! caller took and has not written yet are its own to account. They are
//! shared [`Bytes`]: the same event queued on many connections counts on
//! each (it is what each still has to write), but is stored once.

use crate::prelude::*;
use alloc::collections::VecDeque;

use bytes::Bytes;

use super::{EncodeError, EventRef, Utf8Bytes};

/// An event encoded once, with the id it sets, to queue on many
/// [`Outbound`] queues (and store in a [`History`](super::History)).
///
/// # Example
/// ```
/// use pushcodec::sse::{EventRef, History, PreparedEvent};
///
/// let mut history = History::new(1000, 1 << 20);
/// let event = PreparedEvent::new(&EventRef::new("hi").id("7"))?;
/// history.push(event.id().cloned(), event.bytes().clone());
/// assert_eq!(&event.bytes()[..], b"id: 7\ndata: hi\n\n");
/// assert_eq!(event.id().map(|id| id.as_str()), Some("7"));
/// # Ok::<(), pushcodec::sse::EncodeError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedEvent {
    bytes: Bytes,
    /// The `id` field, if the event has one (`Some("")` resets the
    /// client's last event id).
    id: Option<Utf8Bytes>,
}

impl PreparedEvent {
    /// Encodes `event` once.
    ///
    /// # Errors
    /// As [`encode_event`](super::encode_event).
    pub fn new(event: &EventRef<'_>) -> Result<Self, EncodeError> {
        Ok(PreparedEvent {
            bytes: event.to_bytes()?,
            id: event.id.map(Utf8Bytes::from),
        })
    }

    /// Wraps bytes that are already encoded (say, from
    /// [`History::replay_after`](super::History::replay_after)), finding
    /// the id they set as a receiver would (WHATWG HTML §9.2.6): the last
    /// `id` field without U+0000 before the last blank line. The bytes
    /// should be whole events, each ended by a blank line.
    pub fn from_encoded(bytes: Bytes) -> Self {
        let id = id_set_by(&bytes);
        PreparedEvent { bytes, id }
    }

    /// The encoded event.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The id the event sets, if it has an `id` field.
    pub fn id(&self) -> Option<&Utf8Bytes> {
        self.id.as_ref()
    }
}

/// What [`Outbound`] does with a push that finds the queue over its mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlowConsumer {
    /// Queue it anyway and say so ([`Push::OverMark`]). Memory is then the
    /// caller's to bound: it is told at every push past the mark.
    Report,
    /// Drop the push and everything queued, end the queue and return
    /// [`Push::Resume`]: the caller ends the response and the client
    /// resumes from [`History`](super::History) with `Last-Event-ID`.
    Resume,
}

/// The outcome of a push. Nothing is dropped without one saying so.
#[must_use = "a push may have dropped events and ended the stream"]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Push {
    /// Queued; the queue is under its mark.
    Queued,
    /// Queued; the queue is now at or over its mark. Under
    /// [`SlowConsumer::Resume`] the next push ends it.
    OverMark {
        /// Bytes queued, this push included.
        queued_bytes: usize,
        /// The mark.
        high_water: usize,
    },
    /// Not queued: the queue was over its mark under
    /// [`SlowConsumer::Resume`], so this push and everything queued were
    /// dropped and the queue ended. End the response once the bytes
    /// already taken from `poll_transmit` are written.
    Resume(Resume),
    /// Not queued: the queue had already ended (a [`Resume`] was
    /// returned before). The client gets the event from the replay when it
    /// reconnects, if it is in the history.
    Ended,
}

/// What was dropped when a queue ended, and where the client resumes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resume {
    /// What the client will send as `Last-Event-ID` once it has the bytes
    /// handed out so far: the id set by the last event `poll_transmit`
    /// handed out, else the one given to
    /// [`Outbound::with_last_event_id`]. `None`: it sends none, so a
    /// history cannot tell what it missed.
    pub last_event_id: Option<Utf8Bytes>,
    /// The dropped events, oldest first (the push that ended the queue
    /// last). A replay after `last_event_id` from a history that still
    /// holds them sends exactly these (plus any `events_after_id`).
    pub dropped: Vec<PreparedEvent>,
    /// Comment (heartbeat) and other non-event pushes dropped; they are
    /// not replayed and need not be.
    pub dropped_comments: usize,
    /// Bytes dropped, events and comments.
    pub dropped_bytes: usize,
    /// Events without an `id` field handed out after the one that set
    /// `last_event_id`: the client cannot report having them, so a replay
    /// after `last_event_id` sends them again. Zero when every event has
    /// an id.
    pub events_after_id: usize,
}

#[derive(Debug)]
enum Entry {
    Event(PreparedEvent),
    Comment(Bytes),
}

impl Entry {
    fn len(&self) -> usize {
        match self {
            Entry::Event(e) => e.bytes.len(),
            Entry::Comment(b) => b.len(),
        }
    }
}

/// One connection's outbound event stream: push shared encoded events
/// and comments, take the bytes to write with
/// [`poll_transmit`](Self::poll_transmit).
///
/// Every push returns a [`Push`] saying whether it was queued, queued past
/// the high-water mark, or dropped with everything queued (then the
/// response must end and the client resumes; see the module docs).
///
/// # Example
/// ```
/// use bytes::Bytes;
/// use pushcodec::sse::{EventRef, Outbound, PreparedEvent, Push, SlowConsumer};
///
/// let mut out = Outbound::new(32, SlowConsumer::Resume);
/// let e1 = PreparedEvent::new(&EventRef::new("one").id("1"))?;
/// let e2 = PreparedEvent::new(&EventRef::new("two").id("2"))?;
/// let e3 = PreparedEvent::new(&EventRef::new("three").id("3"))?;
/// assert_eq!(out.push_event(&e1), Push::Queued);
/// assert_eq!(out.poll_transmit(), Some(e1.bytes().clone())); // written
/// assert!(matches!(out.push_event(&e2), Push::Queued));
/// assert!(matches!(out.push_comment(Bytes::from_static(b":\n")), Push::Queued));
/// assert!(matches!(out.push_event(&e3), Push::OverMark { queued_bytes: 38, .. }));
/// // The client does not read; the next push drops everything queued.
/// let e4 = PreparedEvent::new(&EventRef::new("four").id("4"))?;
/// let Push::Resume(resume) = out.push_event(&e4) else { panic!() };
/// assert_eq!(resume.last_event_id.as_deref(), Some("1")); // what the client will send
/// assert_eq!(resume.dropped, [e2, e3, e4]); // what a replay after "1" sends
/// assert_eq!(resume.dropped_comments, 1);
/// assert_eq!(out.poll_transmit(), None); // end the response now
/// assert!(out.is_ended());
/// # Ok::<(), pushcodec::sse::EncodeError>(())
/// ```
pub struct Outbound {
    queue: VecDeque<Entry>,
    queued_bytes: usize,
    high_water: usize,
    policy: SlowConsumer,
    /// The client's last event id after the bytes handed out so far.
    last_event_id: Option<Utf8Bytes>,
    /// Id-less events handed out since `last_event_id` was set.
    events_after_id: usize,
    ended: bool,
}

impl core::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Outbound")
            .field("queued_len", &self.queue.len())
            .field("queued_bytes", &self.queued_bytes)
            .field("high_water", &self.high_water)
            .field("policy", &self.policy)
            .field("last_event_id", &self.last_event_id)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Outbound {
    /// An empty queue whose pushes are over the mark while at least
    /// `high_water` bytes wait, with `policy` for them.
    pub fn new(high_water: usize, policy: SlowConsumer) -> Self {
        Outbound {
            queue: VecDeque::new(),
            queued_bytes: 0,
            high_water,
            policy,
            last_event_id: None,
            events_after_id: 0,
            ended: false,
        }
    }

    /// The `Last-Event-ID` the client sent with this request (as
    /// [`parse_request`](super::parse_request) gives it): where it resumes
    /// if nothing with an id is handed out before the queue ends.
    #[must_use]
    pub fn with_last_event_id(mut self, id: Option<Utf8Bytes>) -> Self {
        self.last_event_id = id.filter(|id| !id.is_empty());
        self
    }

    /// Queues an event (a reference-count increment, no copy).
    pub fn push_event(&mut self, event: &PreparedEvent) -> Push {
        self.push(Entry::Event(event.clone()))
    }

    /// Queues bytes that dispatch no event: comments such as heartbeats
    /// ([`encode_comment`](super::encode_comment)) or a `retry` block. They
    /// never change the client's last event id and are dropped, not
    /// replayed, when the queue ends.
    pub fn push_comment(&mut self, bytes: Bytes) -> Push {
        self.push(Entry::Comment(bytes))
    }

    fn push(&mut self, entry: Entry) -> Push {
        if self.ended {
            return Push::Ended;
        }
        if self.is_over_mark() && self.policy == SlowConsumer::Resume {
            self.queued_bytes += entry.len();
            self.queue.push_back(entry);
            return Push::Resume(self.end());
        }
        self.queued_bytes += entry.len();
        self.queue.push_back(entry);
        if self.is_over_mark() {
            Push::OverMark {
                queued_bytes: self.queued_bytes,
                high_water: self.high_water,
            }
        } else {
            Push::Queued
        }
    }

    /// Ends the queue now: drops everything queued and reports it, as
    /// [`SlowConsumer::Resume`] does. Later pushes return [`Push::Ended`].
    /// Use it to close a stream for any reason without losing track of
    /// what the client did not get.
    #[must_use = "the report says what the client did not get and where it resumes"]
    pub fn end(&mut self) -> Resume {
        self.ended = true;
        let mut resume = Resume {
            last_event_id: self.last_event_id.clone(),
            dropped_bytes: self.queued_bytes,
            events_after_id: self.events_after_id,
            ..Resume::default()
        };
        for entry in self.queue.drain(..) {
            match entry {
                Entry::Event(e) => resume.dropped.push(e),
                Entry::Comment(_) => resume.dropped_comments += 1,
            }
        }
        self.queued_bytes = 0;
        resume
    }

    /// The next bytes to write, oldest first: one whole event or comment.
    /// Once handed out they count as sent: the client's last event id
    /// moves past them.
    #[must_use = "the bytes must be written to the client"]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        let entry = self.queue.pop_front()?;
        self.queued_bytes -= entry.len();
        Some(match entry {
            Entry::Event(event) => {
                match event.id {
                    // WHATWG HTML §9.2.6: an empty id resets the last event
                    // id, and an empty one is not sent on reconnect.
                    Some(id) => {
                        self.last_event_id = (!id.is_empty()).then_some(id);
                        self.events_after_id = 0;
                    }
                    None => self.events_after_id += 1,
                }
                event.bytes
            }
            Entry::Comment(bytes) => bytes,
        })
    }

    /// Bytes queued and not yet handed out.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Entries (events and comments) queued.
    pub fn queued_len(&self) -> usize {
        self.queue.len()
    }

    /// Whether at least the high-water mark is queued (and something is:
    /// an empty queue is never over the mark, even a mark of 0).
    pub fn is_over_mark(&self) -> bool {
        !self.queue.is_empty() && self.queued_bytes >= self.high_water
    }

    /// The high-water mark, in bytes.
    pub fn high_water(&self) -> usize {
        self.high_water
    }

    /// The policy for pushes over the mark.
    pub fn policy(&self) -> SlowConsumer {
        self.policy
    }

    /// The client's `Last-Event-ID` once it has everything handed out.
    pub fn last_event_id(&self) -> Option<&Utf8Bytes> {
        self.last_event_id.as_ref()
    }

    /// Whether the queue has ended (the response should end).
    pub fn is_ended(&self) -> bool {
        self.ended
    }
}

/// The id a receiver's last event id is set to by these bytes, if any
/// (WHATWG HTML §9.2.6): the last event id buffer at the last blank line.
fn id_set_by(bytes: &Bytes) -> Option<Utf8Bytes> {
    let mut buffer: Option<&[u8]> = None;
    let mut committed: Option<&[u8]> = None;
    let mut rest: &[u8] = bytes;
    while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
        let (line, after) = rest.split_at(end);
        // §9.2.5: CRLF, LF and CR each end a line.
        let skip = if after.starts_with(b"\r\n") { 2 } else { 1 };
        rest = after.get(skip..).unwrap_or_default();
        if line.is_empty() {
            if buffer.is_some() {
                committed = buffer;
            }
            continue;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = line.get(colon + 1..).unwrap_or_default();
                let value = value.strip_prefix(b" ").unwrap_or(value);
                (line.get(..colon).unwrap_or_default(), value)
            }
            None => (line, &[][..]),
        };
        // §9.2.6: an id containing U+0000 is ignored.
        if name == b"id" && !value.contains(&0) {
            buffer = Some(value);
        }
    }
    committed.map(|id| Utf8Bytes::from_lossy(bytes.slice_ref(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(bytes: &'static [u8]) -> Option<String> {
        id_set_by(&Bytes::from_static(bytes)).map(|id| id.as_str().to_owned())
    }

    #[test]
    fn id_set_by_follows_whatwg_9_2_6() {
        assert_eq!(id(b"id: 7\ndata: x\n\n").as_deref(), Some("7"));
        assert_eq!(id(b"data: x\n\n"), None);
        assert_eq!(id(b"id\n\n").as_deref(), Some(""));
        assert_eq!(id(b"id:  a\r\ndata\r\rid: b\n").as_deref(), Some(" a"));
        assert_eq!(id(b"id: 1\n\nid: 2\0\n\n").as_deref(), Some("1"));
        assert_eq!(id(b": comment\n\nid: 3\n\n").as_deref(), Some("3"));
        assert_eq!(id(b"id: 4"), None);
    }

    #[test]
    fn accounting_returns_to_zero() {
        let mut out = Outbound::new(10, SlowConsumer::Report);
        let ev = PreparedEvent::from_encoded(Bytes::from_static(b"data: 12345\n\n"));
        assert!(matches!(
            out.push_event(&ev),
            Push::OverMark {
                queued_bytes: 13,
                high_water: 10
            }
        ));
        assert!(matches!(
            out.push_comment(Bytes::from_static(b":\n")),
            Push::OverMark { .. }
        ));
        assert_eq!((out.queued_bytes(), out.queued_len()), (15, 2));
        while out.poll_transmit().is_some() {}
        assert_eq!(out.queued_bytes(), 0);
        assert!(!out.is_over_mark());
        assert_eq!(out.last_event_id(), None);
    }

    #[test]
    fn empty_id_resets_resume_point() {
        let mut out =
            Outbound::new(100, SlowConsumer::Resume).with_last_event_id(Some(Utf8Bytes::from("9")));
        let reset = PreparedEvent::from_encoded(Bytes::from_static(b"id\ndata: x\n\n"));
        assert_eq!(out.push_event(&reset), Push::Queued);
        assert_eq!(out.last_event_id().map(Utf8Bytes::as_str), Some("9"));
        let _ = out.poll_transmit();
        assert_eq!(out.last_event_id(), None);
        assert_eq!(out.end().last_event_id, None);
    }
}
