//! Fan-out without gaps: one ordered log of encoded entries, and per
//! subscriber a cursor into it.
//!
//! A server that subscribes a reconnecting client to live events and then
//! replays what it missed (or the other way round) loses or repeats the
//! events published in between. A [`Topic`] does both in one step:
//! [`subscribe(after)`](Topic::subscribe) places a cursor right after the
//! client's last id, and [`poll_transmit`](Topic::poll_transmit) then hands
//! out the missed entries and the live ones as they are published, in log
//! order, each once. There is no second queue to fall out of step with the
//! log: a subscriber's queue *is* the part of the log after its cursor.
//!
//! # Encode once
//!
//! An entry is a [`Payload`]: the bytes as they go on the wire, encoded
//! once at publish and shared (a [`Bytes`] reference count) by every
//! subscriber that takes it. For SSE it is a
//! [`PreparedEvent`](crate::sse::PreparedEvent) whose `id:` field is the
//! entry's id ([`Topic::publish_event`], [`Topic::append_event`]); for
//! WebSocket a [`PreparedMessage`](crate::ws::PreparedMessage) that
//! [`Connection::send_prepared`](crate::ws::Connection::send_prepared)
//! queues without a copy (under permessage-deflate without context
//! takeover, prepare it with
//! [`with_compression`](crate::ws::PreparedMessage::with_compression)
//! before publishing, and it is compressed once too). A pair of payloads,
//! `(PreparedEvent, PreparedMessage)`, serves SSE and WebSocket
//! subscribers from one topic.
//!
//! # Ids
//!
//! Ids are a [`LogId`]: [`Seq`], assigned by the topic
//! ([`Topic::publish`]), or an external log's, such as Redis Streams'
//! [`StreamId`] ([`Topic::append`]). Cursors are placed by the ids' order,
//! so an id that falls between two entries (ids may have gaps) starts
//! after every entry not greater than it.
//!
//! # Verdicts, never silent loss
//!
//! The log is bounded by [`TopicLimits`] (entries and bytes); the oldest
//! entries are evicted first. A subscriber is never moved past an entry it
//! did not get:
//!
//! - [`subscribe`](Topic::subscribe) with an id older than the log, or
//!   newer than anything in it, is [`SubscribeError::TooOld`] or
//!   [`SubscribeError::Ahead`]: the client needs a full resync. SSE: send
//!   the current state (as events, or answer so that the client fetches
//!   it), then subscribe with `None`. WebSocket: send the state as an
//!   application message, then subscribe with `None`.
//! - A topic fed from an external log (`Topic::starting_after`) holds
//!   only its newest part: [`Topic::floor`] is where that part begins, so
//!   an application that can read the older part elsewhere (Redis
//!   `XRANGE`) replays a `TooOld` client up to the floor and subscribes it
//!   after the floor, without a gap or a repeat. When the external log is
//!   replaced (the server restarted without its data),
//!   [`Topic::restart_after`] gives every subscriber [`PollError::Reset`]:
//!   a resync, since entries it never got may be gone.
//! - A subscriber that falls too far behind ([`TopicLimits::max_lag_entries`],
//!   [`TopicLimits::max_lag_bytes`]), or whose next entry was evicted, gets
//!   [`PollError::Lagged`] and is unsubscribed. It is the policy of
//!   [`sse::SlowConsumer::Resume`](crate::sse::SlowConsumer::Resume) and of
//!   [`ws::SlowConsumer::Close`](crate::ws::SlowConsumer::Close): SSE ends
//!   the response, and the client reconnects with the `Last-Event-ID` of
//!   the last entry it got, which [`subscribe`](Topic::subscribe) resumes
//!   from while the log still holds what follows it; WebSocket closes with
//!   [`Lagged::close_code`] (1013, try again later), and the client
//!   reconnects and sends the id of the last message it got, as the
//!   application's protocol defines.
//!
//! # Driving
//!
//! After a publish, drain every subscriber whose transport can take more:
//! [`poll_ref`](Topic::poll_ref) (the entry lent from the log, no
//! reference count) or [`poll_transmit`](Topic::poll_transmit) (a shared
//! clone) until `Ok(None)`. A taken entry counts as delivered, so take one
//! only when it can be written: for WebSocket, while
//! [`Connection::is_backpressured`](crate::ws::Connection::is_backpressured)
//! is false, then `send_prepared` cannot refuse it. A subscriber whose
//! socket is not writable is not polled; its entries wait in the log, not
//! in a queue of its own, and [`Topic::lagging`] finds the ones that fell
//! behind, to end them without waiting for their sockets.
//!
//! # Memory
//!
//! The log holds at most [`TopicLimits::max_entries`] entries and
//! [`TopicLimits::max_bytes`] payload bytes, however many subscribers it
//! has. A subscriber is one 24-byte slot (a cursor, a mark and a
//! generation), whether it is idle or behind: 100,000 subscribers take
//! about 3.1 MB, 31.5 B each, with the slab's spare capacity
//! (`tests/topic.rs` counts the allocations).

use crate::prelude::*;
mod id;
#[cfg(feature = "sse")]
mod sse;
#[cfg(feature = "ws")]
mod ws;

use alloc::collections::VecDeque;

use bytes::Bytes;

pub use id::{LogId, ParseIdError, Seq, StreamId};

/// An entry's encoded form, shared by every subscriber that takes it.
///
/// `Clone` must be cheap (a reference count): a subscriber gets a clone.
/// [`wire_len`](Self::wire_len) is what the entry counts against
/// [`TopicLimits::max_bytes`] and [`TopicLimits::max_lag_bytes`].
pub trait Payload: Clone {
    /// Bytes this entry puts on the wire.
    fn wire_len(&self) -> usize;
}

impl Payload for Bytes {
    fn wire_len(&self) -> usize {
        self.len()
    }
}

/// Two encodings of the same entry, say one per transport: both are
/// stored, so both count.
impl<A: Payload, B: Payload> Payload for (A, B) {
    fn wire_len(&self) -> usize {
        self.0.wire_len() + self.1.wire_len()
    }
}

/// The bounds of a [`Topic`]. Each is enforced at every publish.
///
/// # Example
/// ```
/// use pushcodec::topic::TopicLimits;
///
/// let mut limits = TopicLimits::default();
/// limits.max_entries = 10_000; // replay up to 10,000 events after a reconnect
/// limits.max_lag_entries = 1_000; // but drop a subscriber 1,000 behind
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicLimits {
    /// Most entries the log keeps; the oldest are evicted first. Default
    /// 1,024. At least one is always kept (0 counts as 1).
    pub max_entries: usize,
    /// Most payload bytes ([`Payload::wire_len`]) the log keeps. Default
    /// 1 MiB. A single larger entry is refused
    /// ([`PublishError::TooLarge`]).
    pub max_bytes: usize,
    /// A publish that finds a subscriber at least this many entries
    /// behind drops it ([`PollError::Lagged`]). Default 256. As for the
    /// mark of [`sse::Outbound`](crate::sse::Outbound), a subscriber with
    /// nothing pending is never dropped, and a replay the driver drains
    /// before the next publish never is either.
    pub max_lag_entries: usize,
    /// The same, in payload bytes behind. Default 256 KiB.
    pub max_lag_bytes: usize,
    /// Most subscribers at once; more are refused
    /// ([`SubscribeError::Full`]). Default 1,048,576 (at most
    /// `u32::MAX`).
    pub max_subscribers: usize,
}

impl Default for TopicLimits {
    fn default() -> Self {
        TopicLimits {
            max_entries: 1024,
            max_bytes: 1 << 20,
            max_lag_entries: 256,
            max_lag_bytes: 256 << 10,
            max_subscribers: 1 << 20,
        }
    }
}

/// A subscriber of one [`Topic`]. A handle outlives its subscriber
/// harmlessly: its slot's generation changes when the slot is freed, so a
/// stale handle is [`PollError::UnknownSubscriber`], never another
/// subscriber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubscriberId {
    index: u32,
    generation: u32,
}

/// One entry taken by a subscriber.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery<I, P> {
    /// The entry's id: what the client sends back to resume after it.
    pub id: I,
    /// The shared encoded entry, to write as it is.
    pub payload: P,
}

/// Why a publish was refused. Nothing is stored then.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError<I> {
    /// The id is not after the newest id the topic has had (a log's ids
    /// increase; a [`Seq`] topic at `u64::MAX` has no next id).
    #[error("id {id} is not after the newest id {last}: a log's ids must increase")]
    OutOfOrder {
        /// The id given.
        id: I,
        /// The newest id, stored or evicted.
        last: I,
    },
    /// The entry alone is over [`TopicLimits::max_bytes`].
    #[error("entry of {len} bytes exceeds the topic's max_bytes of {max_bytes}")]
    TooLarge {
        /// The entry's [`Payload::wire_len`].
        len: usize,
        /// The limit.
        max_bytes: usize,
    },
    /// The SSE event could not be encoded.
    #[cfg(feature = "sse")]
    #[error(transparent)]
    Encode(#[from] crate::sse::EncodeError),
}

/// Why a subscribe was refused. `TooOld`, `Ahead` and `NotAnId` mean the
/// client's view cannot be completed from the log: send it a full resync,
/// then subscribe with `None`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubscribeError {
    /// Entries after the id were evicted (or were never in this topic):
    /// a replay would leave a gap.
    #[error("the id is older than the log: entries after it were evicted")]
    TooOld,
    /// The id is newer than the newest entry: it comes from another log,
    /// or from before a restart.
    #[error("the id is newer than the newest entry of the log")]
    Ahead,
    /// A `Last-Event-ID` that is not of the topic's id form.
    #[error(transparent)]
    NotAnId(#[from] ParseIdError),
    /// [`TopicLimits::max_subscribers`] subscribers already.
    #[error("the topic has its maximum of {max} subscribers (max_subscribers)")]
    Full {
        /// The limit.
        max: usize,
    },
}

/// Why [`Topic::poll_transmit`] has nothing more for a subscriber.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PollError {
    /// The subscriber fell behind and is unsubscribed; its handle is now
    /// stale. End the connection so the client resumes (module docs).
    #[error(transparent)]
    Lagged(#[from] Lagged),
    /// The handle is not (or no longer) a subscriber of this topic.
    #[error("not a subscriber of this topic (unsubscribed, or dropped as lagged)")]
    UnknownSubscriber,
    /// The log was replaced under the subscriber ([`Topic::restart_after`]):
    /// entries it never got may be gone, so it is unsubscribed and needs a
    /// full resync (then subscribe with `None`), not a resume.
    #[error("the log was restarted: the subscriber needs a full resync")]
    Reset,
}

/// A subscriber was dropped for falling behind: end its connection so that
/// the client reconnects and resumes after the last entry it got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Lagged {
    /// Its next entry was evicted from the log before it took it.
    #[error("the subscriber's next entry was evicted from the log")]
    Evicted,
    /// A publish found it at or over [`TopicLimits::max_lag_entries`] or
    /// [`TopicLimits::max_lag_bytes`] behind.
    #[error("{entries} entries ({bytes} bytes) behind, at or over the topic's max lag")]
    TooFarBehind {
        /// Entries it had not taken when the publish came.
        entries: u64,
        /// Their payload bytes.
        bytes: u64,
    },
}

/// A stored entry.
#[derive(Debug)]
struct Entry<I, P> {
    id: I,
    payload: P,
    /// Payload bytes published before this entry: the bytes between two
    /// positions are a subtraction.
    start: u64,
}

/// A subscriber's state: what an idle subscriber costs.
#[derive(Clone, Copy, Debug)]
struct Slot {
    /// Position (in entries ever published) of its next entry.
    cursor: u64,
    /// The log's end when it last polled or subscribed: a publish since
    /// then is one the lag rule has not yet been applied to.
    seen_end: u64,
    /// Changes when the slot is freed, so stale handles miss.
    generation: u32,
    occupied: bool,
}

/// An ordered, bounded log of encoded entries and the cursors of its
/// subscribers (module docs).
///
/// # Example
/// ```
/// # #[cfg(feature = "sse")] {
/// use pushcodec::sse::EventRef;
/// use pushcodec::topic::{Delivery, Seq, Topic, TopicLimits};
///
/// let mut topic = Topic::new(TopicLimits::default());
/// topic.publish_event(&EventRef::new("one"))?;
/// let live = topic.subscribe(None)?; // from now on
/// topic.publish_event(&EventRef::new("two"))?;
///
/// // A client reconnects with `Last-Event-ID: 1`: it gets 2, then live ones.
/// let back = topic.subscribe_last_event_id(Some("1"))?;
/// topic.publish_event(&EventRef::new("three"))?;
/// for sub in [live, back] {
///     let mut got = Vec::new();
///     while let Some(Delivery { id, payload, .. }) = topic.poll_transmit(sub)? {
///         got.push(id); // write payload.bytes() to this client's socket
///     }
///     assert_eq!(got, [Seq(2), Seq(3)]);
/// }
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Topic<I = Seq, P = Bytes> {
    limits: TopicLimits,
    log: VecDeque<Entry<I, P>>,
    /// Position of `log[0]`: entries evicted so far.
    base: u64,
    /// Payload bytes ever published: the `start` of the next entry.
    published_bytes: u64,
    /// The newest evicted id, or the id the topic started after: a cursor
    /// at it misses nothing the log holds, one before it misses an entry.
    floor: Option<I>,
    /// Positions before it belong to a log replaced by
    /// [`restart_after`](Topic::restart_after): a cursor there is reset.
    restarted: u64,
    slots: Vec<Slot>,
    free: Vec<u32>,
    subscribers: usize,
}

impl<I: LogId, P: Payload> Topic<I, P> {
    /// An empty topic whose log starts at the beginning: every id a
    /// client can have is one it publishes.
    pub fn new(limits: TopicLimits) -> Self {
        Topic {
            limits,
            log: VecDeque::new(),
            base: 0,
            published_bytes: 0,
            floor: None,
            restarted: 0,
            slots: Vec::new(),
            free: Vec::new(),
            subscribers: 0,
        }
    }

    /// An empty topic fed from an external log after `id` (say, from a
    /// Redis stream read from its newest entry): a client whose id is
    /// older is [`SubscribeError::TooOld`], since what follows it is not
    /// here.
    pub fn starting_after(id: I, limits: TopicLimits) -> Self {
        let mut topic = Topic::new(limits);
        topic.floor = Some(id);
        topic
    }

    /// Stores an entry under `id`, which must be after every id so far,
    /// evicting the oldest entries to stay within the limits.
    ///
    /// # Errors
    /// [`PublishError::OutOfOrder`], [`PublishError::TooLarge`].
    pub fn append(&mut self, id: I, payload: P) -> Result<(), PublishError<I>> {
        if let Some(last) = self.last_id()
            && id <= *last
        {
            let last = last.clone();
            return Err(PublishError::OutOfOrder { id, last });
        }
        let len = payload.wire_len();
        if len > self.limits.max_bytes {
            let max_bytes = self.limits.max_bytes;
            return Err(PublishError::TooLarge { len, max_bytes });
        }
        let start = self.published_bytes;
        self.published_bytes += len as u64;
        self.log.push_back(Entry { id, payload, start });
        while self.log.len() > self.limits.max_entries.max(1)
            || self.byte_len() > self.limits.max_bytes
        {
            let Some(old) = self.log.pop_front() else {
                break;
            };
            self.base += 1;
            self.floor = Some(old.id);
        }
        Ok(())
    }

    /// The log this topic follows was replaced, and its entries may not all
    /// have reached it (say, a Redis server restarted without its data, or
    /// the stream was trimmed past the newest entry the topic had): every
    /// entry is dropped, every subscriber gets [`PollError::Reset`] from
    /// its next poll, and the topic continues after `id` as
    /// [`starting_after`](Self::starting_after) would.
    ///
    /// `id` may be lower than the ids the topic had (a new log's ids start
    /// again). Pick it not lower than any id a client can hold from the old
    /// log, so that such an id is [`SubscribeError::TooOld`] (and the
    /// application decides whether it still resumes elsewhere) instead of
    /// falling inside the new log.
    pub fn restart_after(&mut self, id: I) {
        // One position past every cursor, so that no cursor, caught up or
        // not, is also a position of the new log.
        let after = self.end() + 1;
        self.log.clear();
        self.base = after;
        self.restarted = after;
        self.floor = Some(id);
    }

    /// The newest id the log no longer holds: the newest evicted, or the
    /// one the topic started (or restarted) after; `None` while nothing was
    /// evicted from a [`new`](Self::new) topic. A client at or after it
    /// resumes from the log; one before it is
    /// [`SubscribeError::TooOld`], and an application that can read the
    /// log's older part elsewhere (Redis `XRANGE`) replays it up to and
    /// including the floor, then subscribes after the floor.
    pub fn floor(&self) -> Option<&I> {
        self.floor.as_ref()
    }

    /// Places a new subscriber right after `after` (the client's last id),
    /// or at the end of the log with `None` (live entries only).
    ///
    /// # Errors
    /// [`SubscribeError::TooOld`] and [`SubscribeError::Ahead`]: the
    /// client needs a full resync; [`SubscribeError::Full`].
    pub fn subscribe(&mut self, after: Option<&I>) -> Result<SubscriberId, SubscribeError> {
        let max = self.limits.max_subscribers.min(u32::MAX as usize);
        if self.subscribers >= max {
            return Err(SubscribeError::Full { max });
        }
        let cursor = match after {
            None => self.end(),
            Some(id) => self.position_after(id)?,
        };
        let slot = Slot {
            cursor,
            seen_end: self.end(),
            generation: 0,
            occupied: true,
        };
        let index = if let Some(index) = self.free.pop() {
            let old = &mut self.slots[index as usize];
            *old = Slot {
                generation: old.generation,
                ..slot
            };
            index
        } else {
            // Below `max`, itself at most u32::MAX: the index fits.
            let index = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
            self.slots.push(slot);
            index
        };
        self.subscribers += 1;
        let generation = self.slots[index as usize].generation;
        Ok(SubscriberId { index, generation })
    }

    /// [`subscribe`](Self::subscribe) with a `Last-Event-ID` as the client
    /// sent it (WHATWG HTML §9.2.4): `None` or empty is a new client.
    ///
    /// # Errors
    /// As [`subscribe`](Self::subscribe), and
    /// [`SubscribeError::NotAnId`] for an id not of the topic's form.
    pub fn subscribe_last_event_id(
        &mut self,
        last_event_id: Option<&str>,
    ) -> Result<SubscriberId, SubscribeError> {
        match last_event_id.filter(|id| !id.is_empty()) {
            None => self.subscribe(None),
            Some(text) => {
                let id = text.parse::<I>().map_err(|_| ParseIdError)?;
                self.subscribe(Some(&id))
            }
        }
    }

    /// Where a client whose last id is `id` resumes: after every entry
    /// not greater than it.
    fn position_after(&self, id: &I) -> Result<u64, SubscribeError> {
        if self.floor.as_ref().is_some_and(|floor| id < floor) {
            return Err(SubscribeError::TooOld);
        }
        if self.last_id().is_none_or(|last| id > last) {
            return Err(SubscribeError::Ahead);
        }
        let retained = self.log.partition_point(|entry| entry.id <= *id);
        Ok(self.base + retained as u64)
    }

    /// Removes a subscriber; `false` if it was not one (already
    /// unsubscribed, or dropped as lagged).
    pub fn unsubscribe(&mut self, sub: SubscriberId) -> bool {
        if self.slot(sub).is_none() {
            return false;
        }
        self.free_slot(sub.index);
        true
    }

    fn free_slot(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        slot.occupied = false;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index);
        self.subscribers -= 1;
    }

    /// The subscriber's next entry, oldest first: a clone of the shared
    /// payload, and the subscriber moves past it. `Ok(None)`: it has
    /// everything so far. [`poll_ref`](Self::poll_ref) lends the entry
    /// instead.
    ///
    /// # Errors
    /// [`PollError::Lagged`], once: the subscriber fell behind and is
    /// unsubscribed. [`PollError::UnknownSubscriber`] afterwards, and for
    /// any handle that is not a subscriber.
    #[must_use = "the entry must be written to the subscriber"]
    pub fn poll_transmit(
        &mut self,
        sub: SubscriberId,
    ) -> Result<Option<Delivery<I, P>>, PollError> {
        Ok(self.poll_ref(sub)?.map(|d| Delivery {
            id: d.id.clone(),
            payload: d.payload.clone(),
        }))
    }

    /// [`poll_transmit`](Self::poll_transmit), lending the entry from the
    /// log until the next call: no reference count is taken, so writing
    /// it (or [`send_prepared`](crate::ws::Connection::send_prepared))
    /// costs no atomic operation here. The subscriber has moved past the
    /// entry already: write all of it.
    ///
    /// # Errors
    /// As [`poll_transmit`](Self::poll_transmit).
    #[must_use = "the entry must be written to the subscriber"]
    pub fn poll_ref(&mut self, sub: SubscriberId) -> Result<Option<Delivery<&I, &P>>, PollError> {
        let slot = *self.slot(sub).ok_or(PollError::UnknownSubscriber)?;
        if let Some(verdict) = self.verdict(&slot) {
            self.free_slot(sub.index);
            return Err(verdict);
        }
        let end = self.end();
        let stored = &mut self.slots[sub.index as usize];
        stored.seen_end = end;
        if slot.cursor == end {
            return Ok(None);
        }
        stored.cursor += 1;
        Ok(self.entry_at(slot.cursor).map(|entry| Delivery {
            id: &entry.id,
            payload: &entry.payload,
        }))
    }

    /// Whether the subscriber would get [`PollError::Lagged`] from its
    /// next [`poll_transmit`](Self::poll_transmit) (`None`: it would not,
    /// or it is not a subscriber). Nothing changes.
    pub fn lagged(&self, sub: SubscriberId) -> Option<Lagged> {
        match self.slot(sub).and_then(|slot| self.verdict(slot)) {
            Some(PollError::Lagged(lagged)) => Some(lagged),
            _ => None,
        }
    }

    /// Every subscriber whose next poll is an error: those that
    /// [`lagged`](Self::lagged) says have fallen behind, and those a
    /// [`restart_after`](Self::restart_after) reset. A driver whose slow
    /// connections are not writable (so it does not poll them) can end
    /// them early. Visits every subscriber.
    pub fn lagging(&self) -> impl Iterator<Item = SubscriberId> + '_ {
        self.slots.iter().zip(0u32..).filter_map(|(slot, index)| {
            (slot.occupied && self.verdict(slot).is_some()).then_some(SubscriberId {
                index,
                generation: slot.generation,
            })
        })
    }

    /// Entries the subscriber has not taken yet (`None`: not a subscriber).
    pub fn pending(&self, sub: SubscriberId) -> Option<u64> {
        self.slot(sub)
            .map(|slot| self.end().saturating_sub(slot.cursor))
    }

    /// A restart, the lag rule and eviction, applied to a subscriber
    /// (`None`: it keeps its place).
    fn verdict(&self, slot: &Slot) -> Option<PollError> {
        if slot.cursor < self.restarted {
            return Some(PollError::Reset);
        }
        if slot.cursor < self.base {
            return Some(PollError::Lagged(Lagged::Evicted));
        }
        let end = self.end();
        if end <= slot.seen_end {
            return None;
        }
        // The latest publish came after the subscriber last looked, and the
        // cursor has not moved since: that publish found it the furthest
        // behind of any since, with everything from the cursor to it
        // pending.
        let latest = end - 1;
        let entries = latest - slot.cursor;
        let bytes = self.start_of(latest) - self.start_of(slot.cursor);
        let over = entries >= self.limits.max_lag_entries as u64
            || bytes >= self.limits.max_lag_bytes as u64;
        (entries > 0 && over).then_some(PollError::Lagged(Lagged::TooFarBehind { entries, bytes }))
    }

    fn slot(&self, sub: SubscriberId) -> Option<&Slot> {
        self.slots
            .get(sub.index as usize)
            .filter(|slot| slot.occupied && slot.generation == sub.generation)
    }

    fn entry_at(&self, position: u64) -> Option<&Entry<I, P>> {
        let index = usize::try_from(position.checked_sub(self.base)?).ok()?;
        self.log.get(index)
    }

    /// Payload bytes published before `position` (a retained entry or the
    /// end).
    fn start_of(&self, position: u64) -> u64 {
        self.entry_at(position)
            .map_or(self.published_bytes, |entry| entry.start)
    }

    /// Position after the newest entry: entries ever published.
    fn end(&self) -> u64 {
        self.base + self.log.len() as u64
    }

    /// The newest id the topic has had (stored or evicted, or the one it
    /// started after).
    pub fn last_id(&self) -> Option<&I> {
        self.log
            .back()
            .map(|entry| &entry.id)
            .or(self.floor.as_ref())
    }

    /// The oldest id stored.
    pub fn first_id(&self) -> Option<&I> {
        self.log.front().map(|entry| &entry.id)
    }

    /// Entries stored.
    pub fn len(&self) -> usize {
        self.log.len()
    }

    /// Whether no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
    }

    /// Payload bytes stored, counted against [`TopicLimits::max_bytes`].
    pub fn byte_len(&self) -> usize {
        let oldest = self.log.front().map_or(self.published_bytes, |e| e.start);
        // At most max_bytes, a usize.
        usize::try_from(self.published_bytes - oldest).unwrap_or(usize::MAX)
    }

    /// Subscribers now.
    pub fn subscriber_count(&self) -> usize {
        self.subscribers
    }

    /// The limits.
    pub fn limits(&self) -> &TopicLimits {
        &self.limits
    }
}

impl<P: Payload> Topic<Seq, P> {
    /// The id the next [`publish`](Self::publish) assigns (to encode it
    /// into the payload first): 1 in a new topic.
    pub fn next_seq(&self) -> Seq {
        Seq(self.last_id().map_or(1, |last| last.0.saturating_add(1)))
    }

    /// Stores an entry under [`next_seq`](Self::next_seq) and returns it.
    ///
    /// # Errors
    /// [`PublishError::TooLarge`]; [`PublishError::OutOfOrder`] once
    /// `u64::MAX` is used.
    pub fn publish(&mut self, payload: P) -> Result<Seq, PublishError<Seq>> {
        let seq = self.next_seq();
        self.append(seq, payload)?;
        Ok(seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_entries: usize, max_bytes: usize) -> TopicLimits {
        TopicLimits {
            max_entries,
            max_bytes,
            max_lag_entries: usize::MAX,
            max_lag_bytes: usize::MAX,
            ..TopicLimits::default()
        }
    }

    fn drain(topic: &mut Topic, sub: SubscriberId) -> Result<Vec<u64>, PollError> {
        let mut ids = Vec::new();
        while let Some(d) = topic.poll_transmit(sub)? {
            ids.push(d.id.0);
        }
        Ok(ids)
    }

    fn entry(n: usize) -> Bytes {
        Bytes::from(vec![b'x'; n])
    }

    #[test]
    fn slot_is_small() {
        assert_eq!(core::mem::size_of::<Slot>(), 24);
    }

    #[test]
    fn replay_then_live_each_once() {
        let mut t = Topic::new(limits(8, 1024));
        for _ in 0..3 {
            t.publish(entry(1)).unwrap();
        }
        let sub = t.subscribe(Some(&Seq(1))).unwrap();
        t.publish(entry(1)).unwrap();
        assert_eq!(drain(&mut t, sub), Ok(vec![2, 3, 4]));
        t.publish(entry(1)).unwrap();
        assert_eq!(drain(&mut t, sub), Ok(vec![5]));
        assert_eq!(drain(&mut t, sub), Ok(vec![]));
    }

    #[test]
    fn verdicts_at_the_edges_of_the_log() {
        let mut t = Topic::new(limits(2, 1024));
        assert_eq!(t.subscribe(Some(&Seq(1))), Err(SubscribeError::Ahead));
        for _ in 0..4 {
            t.publish(entry(1)).unwrap();
        }
        // 3 and 4 stored, 2 the newest evicted.
        assert_eq!(t.subscribe(Some(&Seq(1))), Err(SubscribeError::TooOld));
        let at_floor = t.subscribe(Some(&Seq(2))).unwrap();
        assert_eq!(drain(&mut t, at_floor), Ok(vec![3, 4]));
        assert_eq!(t.subscribe(Some(&Seq(5))), Err(SubscribeError::Ahead));
        assert_eq!(
            t.subscribe_last_event_id(Some("x")),
            Err(SubscribeError::NotAnId(ParseIdError))
        );
    }

    #[test]
    fn eviction_of_an_unread_entry_is_a_verdict() {
        let mut t = Topic::new(limits(2, 1024));
        let sub = t.subscribe(None).unwrap();
        for _ in 0..3 {
            t.publish(entry(1)).unwrap();
        }
        assert_eq!(t.lagged(sub), Some(Lagged::Evicted));
        assert_eq!(t.lagging().collect::<Vec<_>>(), [sub]);
        assert_eq!(
            t.poll_transmit(sub),
            Err(PollError::Lagged(Lagged::Evicted))
        );
        assert_eq!(t.poll_transmit(sub), Err(PollError::UnknownSubscriber));
        assert_eq!(t.subscriber_count(), 0);
    }

    #[test]
    fn lag_rule_is_the_outbound_mark() {
        let mut t = Topic::new(TopicLimits {
            max_lag_entries: 2,
            ..limits(100, 1024)
        });
        let sub = t.subscribe(None).unwrap();
        t.publish(entry(1)).unwrap(); // found 0 pending
        t.publish(entry(1)).unwrap(); // found 1
        assert_eq!(t.lagged(sub), None);
        t.publish(entry(1)).unwrap(); // found 2: over
        assert_eq!(
            t.poll_transmit(sub),
            Err(PollError::Lagged(Lagged::TooFarBehind {
                entries: 2,
                bytes: 2
            }))
        );
        // A replay of any length drained before the next publish is fine.
        let back = t.subscribe(Some(&Seq(1))).unwrap();
        assert_eq!(drain(&mut t, back), Ok(vec![2, 3]));
    }

    #[test]
    fn bytes_bound_and_too_large() {
        let mut t = Topic::new(limits(100, 10));
        t.publish(entry(4)).unwrap();
        t.publish(entry(4)).unwrap();
        t.publish(entry(4)).unwrap();
        assert_eq!((t.len(), t.byte_len()), (2, 8));
        assert_eq!(
            t.publish(entry(11)),
            Err(PublishError::TooLarge {
                len: 11,
                max_bytes: 10
            })
        );
        assert_eq!(t.next_seq(), Seq(4));
    }

    #[test]
    fn stale_handles_miss() {
        let mut t: Topic = Topic::new(TopicLimits::default());
        let a = t.subscribe(None).unwrap();
        assert!(t.unsubscribe(a));
        assert!(!t.unsubscribe(a));
        let b = t.subscribe(None).unwrap();
        assert_ne!(a, b);
        assert_eq!(t.poll_transmit(a), Err(PollError::UnknownSubscriber));
        assert_eq!(t.poll_transmit(b), Ok(None));
    }

    #[test]
    fn subscriber_limit() {
        let mut t: Topic = Topic::new(TopicLimits {
            max_subscribers: 1,
            ..TopicLimits::default()
        });
        let _a = t.subscribe(None).unwrap();
        assert_eq!(t.subscribe(None), Err(SubscribeError::Full { max: 1 }));
    }

    #[test]
    fn external_ids_out_of_order_and_between() {
        let mut t: Topic<StreamId> =
            Topic::starting_after(StreamId { ms: 100, seq: 0 }, limits(8, 1024));
        let id = |ms, seq| StreamId { ms, seq };
        t.append(id(100, 5), entry(1)).unwrap();
        t.append(id(102, 0), entry(1)).unwrap();
        assert_eq!(
            t.append(id(101, 9), entry(1)),
            Err(PublishError::OutOfOrder {
                id: id(101, 9),
                last: id(102, 0)
            })
        );
        assert_eq!(t.subscribe(Some(&id(99, 0))), Err(SubscribeError::TooOld));
        // Between the two entries: only the second.
        let sub = t.subscribe_last_event_id(Some("101-3")).unwrap();
        let got = t.poll_transmit(sub).unwrap().unwrap();
        assert_eq!(got.id, id(102, 0));
        assert_eq!(t.poll_transmit(sub), Ok(None));
    }

    #[test]
    fn floor_is_where_an_external_replay_ends() {
        let id = |ms| StreamId { ms, seq: 0 };
        let mut t: Topic<StreamId> = Topic::starting_after(id(10), limits(2, 1024));
        assert_eq!(t.floor(), Some(&id(10)));
        for ms in 11..=14 {
            t.append(id(ms), entry(1)).unwrap();
        }
        // 13 and 14 stored: a client at 11 replays (11, 12] elsewhere,
        // then resumes after the floor with nothing missed or repeated.
        assert_eq!(t.floor(), Some(&id(12)));
        assert_eq!(t.subscribe(Some(&id(11))), Err(SubscribeError::TooOld));
        let sub = t.subscribe(t.floor().copied().as_ref()).unwrap();
        let got = t.poll_transmit(sub).unwrap().unwrap();
        assert_eq!(got.id, id(13));
        let fresh: Topic = Topic::new(limits(2, 1024));
        assert_eq!(fresh.floor(), None);
    }

    #[test]
    fn restart_resets_every_subscriber_once() {
        let id = |ms| StreamId { ms, seq: 0 };
        let mut t: Topic<StreamId> = Topic::starting_after(id(10), limits(8, 1024));
        let behind = t.subscribe(None).unwrap();
        t.append(id(11), entry(1)).unwrap();
        t.append(id(12), entry(1)).unwrap();
        let caught_up = t.subscribe(None).unwrap();
        let after_11 = t.subscribe(Some(&id(11))).unwrap();
        // The new log starts lower than the old one's newest id.
        t.restart_after(id(5));
        assert_eq!(
            (t.len(), t.last_id(), t.floor()),
            (0, Some(&id(5)), Some(&id(5)))
        );
        assert_eq!(t.lagging().count(), 3);
        for sub in [behind, caught_up, after_11] {
            assert_eq!(t.lagged(sub), None);
            assert_eq!(t.poll_transmit(sub), Err(PollError::Reset));
            assert_eq!(t.poll_transmit(sub), Err(PollError::UnknownSubscriber));
        }
        assert_eq!(t.subscriber_count(), 0);
        // An id of the old log above the new floor would land inside the
        // new log: `restart_after` says to pick the floor above them.
        assert_eq!(t.subscribe(Some(&id(4))), Err(SubscribeError::TooOld));
        let live = t.subscribe(None).unwrap();
        t.append(id(6), entry(1)).unwrap();
        let resumed = t.subscribe(Some(&id(5))).unwrap();
        for sub in [live, resumed] {
            assert_eq!(t.poll_transmit(sub).unwrap().map(|d| d.id), Some(id(6)));
            assert_eq!(t.poll_transmit(sub), Ok(None));
        }
        assert_eq!(
            t.append(id(6), entry(1)),
            Err(PublishError::OutOfOrder {
                id: id(6),
                last: id(6)
            })
        );
    }
}
