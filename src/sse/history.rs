//! Server-side replay history: a bounded ring of encoded events, so a
//! reconnecting client's `Last-Event-ID` (WHATWG HTML §9.2.4) can be
//! answered with exactly the events it missed.

use alloc::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

use super::{EncodeError, EventRef, Utf8Bytes};

/// One stored event.
#[derive(Clone, Debug)]
struct Entry {
    seq: u64,
    id: Option<Utf8Bytes>,
    bytes: Bytes,
}

/// A ring of encoded events, bounded by count and by bytes, keyed by id.
///
/// Push every event as it is sent (the same shared [`Bytes`] that went to
/// the clients). When a client reconnects with `Last-Event-ID`,
/// [`replay_after`](Self::replay_after) returns the events after that id,
/// oldest first, or [`Replay::Unknown`] if the id was never stored or has
/// been evicted (except the newest evicted one, which is still known to
/// come right before the oldest stored event), in which case the caller
/// sends a full resync. Ids are
/// opaque strings; they need not be numeric or ordered. Events without an
/// id are stored and replayed, but cannot be resumed from. If an id
/// repeats, its latest occurrence counts.
///
/// Memory: at most `max_events` entries whose encoded bytes plus ids add
/// up to at most `max_bytes`; the oldest entries are evicted first. An
/// event larger than `max_bytes` on its own empties the history (so no
/// client can be told a replay is complete when it is not).
///
/// # Example
/// ```
/// use pushcodec::sse::{EventRef, History, Replay};
///
/// let mut history = History::new(100, 64 * 1024);
/// for (id, data) in [("a", "one"), ("b", "two"), ("c", "three")] {
///     let bytes = history.push_event(&EventRef::new(data).id(id))?;
///     // ... send `bytes` to every connected client ...
/// }
/// let Replay::Events(missed) = history.replay_after("a") else { panic!() };
/// let missed: Vec<_> = missed.cloned().collect();
/// assert_eq!(missed.len(), 2);
/// assert_eq!(&missed[0][..], b"id: b\ndata: two\n\n");
/// assert!(matches!(history.replay_after("zzz"), Replay::Unknown));
/// # Ok::<(), pushcodec::sse::EncodeError>(())
/// ```
#[derive(Debug)]
pub struct History {
    max_events: usize,
    max_bytes: usize,
    entries: VecDeque<Entry>,
    /// Latest sequence number of each stored id.
    index: BTreeMap<Utf8Bytes, u64>,
    bytes: usize,
    next_seq: u64,
    /// Id of the newest evicted entry (the one just before the oldest
    /// stored): a client that saw it missed exactly what is stored.
    boundary: Option<Utf8Bytes>,
}

/// The answer to a `Last-Event-ID`.
#[derive(Debug)]
#[non_exhaustive]
pub enum Replay<'a> {
    /// The events after the id, oldest first (none if the client is up to
    /// date).
    Events(ReplayIter<'a>),
    /// The id is not in the history (never stored, or evicted): the client
    /// may have missed events that can no longer be replayed.
    Unknown,
}

/// The events to replay, oldest first, as shared [`Bytes`].
#[derive(Debug, Clone)]
pub struct ReplayIter<'a> {
    inner: alloc::collections::vec_deque::Iter<'a, Entry>,
}

impl<'a> Iterator for ReplayIter<'a> {
    type Item = &'a Bytes;

    fn next(&mut self) -> Option<&'a Bytes> {
        self.inner.next().map(|e| &e.bytes)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for ReplayIter<'_> {}

impl History {
    /// An empty history keeping at most `max_events` events and
    /// `max_bytes` bytes (encoded events plus their ids).
    pub fn new(max_events: usize, max_bytes: usize) -> Self {
        History {
            max_events,
            max_bytes,
            entries: VecDeque::new(),
            index: BTreeMap::new(),
            bytes: 0,
            next_seq: 0,
            boundary: None,
        }
    }

    /// Encodes `event`, stores it under its id, and returns the bytes to
    /// send.
    ///
    /// # Errors
    /// As [`encode_event`](super::encode_event); nothing is stored then.
    pub fn push_event(&mut self, event: &EventRef<'_>) -> Result<Bytes, EncodeError> {
        let bytes = event.to_bytes()?;
        self.push(event.id.map(Utf8Bytes::from), bytes.clone());
        Ok(bytes)
    }

    /// Stores already-encoded event bytes under `id` (`None` or empty: not
    /// resumable from), evicting the oldest entries to stay within bounds.
    pub fn push(&mut self, id: Option<Utf8Bytes>, bytes: Bytes) {
        let id = id.filter(|id| !id.is_empty());
        let seq = self.next_seq;
        self.next_seq += 1;
        let size = entry_size(id.as_ref(), &bytes);
        if let Some(id) = &id {
            self.index.insert(id.clone(), seq);
        }
        self.entries.push_back(Entry { seq, id, bytes });
        self.bytes += size;
        while self.entries.len() > self.max_events || self.bytes > self.max_bytes {
            self.evict_oldest();
        }
    }

    fn evict_oldest(&mut self) {
        let Some(old) = self.entries.pop_front() else {
            return;
        };
        self.bytes -= entry_size(old.id.as_ref(), &old.bytes);
        if let Some(id) = &old.id
            && self.index.get(id) == Some(&old.seq)
        {
            self.index.remove(id);
        }
        self.boundary = old.id;
    }

    /// The events after `last_event_id`, or [`Replay::Unknown`].
    #[must_use]
    pub fn replay_after(&self, last_event_id: &str) -> Replay<'_> {
        let key = Utf8Bytes::from(last_event_id);
        let (Some(&seq), Some(front)) = (self.index.get(&key), self.entries.front()) else {
            if self.boundary.as_ref() == Some(&key) {
                // The client saw the event just before the oldest stored.
                return Replay::Events(ReplayIter {
                    inner: self.entries.range(..),
                });
            }
            return Replay::Unknown;
        };
        // Sequence numbers are consecutive in the ring, so the position is
        // a subtraction.
        let Some(pos) = seq
            .checked_sub(front.seq)
            .and_then(|p| usize::try_from(p).ok())
            .map(|p| p + 1)
        else {
            return Replay::Unknown;
        };
        Replay::Events(ReplayIter {
            inner: self.entries.range(pos.min(self.entries.len())..),
        })
    }

    /// Number of stored events.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes accounted against `max_bytes` (encoded events plus ids).
    pub fn byte_len(&self) -> usize {
        self.bytes
    }

    /// The id of the newest stored event that has one.
    pub fn last_id(&self) -> Option<&Utf8Bytes> {
        self.entries.iter().rev().find_map(|e| e.id.as_ref())
    }
}

fn entry_size(id: Option<&Utf8Bytes>, bytes: &Bytes) -> usize {
    bytes.len() + id.map_or(0, Utf8Bytes::len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    fn ids(r: Replay<'_>) -> Option<Vec<Bytes>> {
        match r {
            Replay::Events(it) => Some(it.cloned().collect()),
            Replay::Unknown => None,
        }
    }

    #[test]
    fn up_to_date_client_gets_nothing() {
        let mut h = History::new(4, 1024);
        h.push(Some("1".into()), Bytes::from_static(b"x"));
        assert_eq!(ids(h.replay_after("1")), Some(vec![]));
    }

    #[test]
    fn oversized_event_empties_history() {
        let mut h = History::new(4, 10);
        h.push(Some("1".into()), Bytes::from_static(b"x"));
        h.push(Some("2".into()), Bytes::from(vec![0u8; 11]));
        assert!(h.is_empty());
        assert_eq!(h.byte_len(), 0);
        assert!(ids(h.replay_after("1")).is_none());
        // A client that got event 2 has missed nothing yet.
        assert_eq!(ids(h.replay_after("2")), Some(vec![]));
    }

    #[test]
    fn repeated_id_uses_latest() {
        let mut h = History::new(8, 1024);
        h.push(Some("a".into()), Bytes::from_static(b"1"));
        h.push(Some("b".into()), Bytes::from_static(b"2"));
        h.push(Some("a".into()), Bytes::from_static(b"3"));
        h.push(None, Bytes::from_static(b"4"));
        assert_eq!(
            ids(h.replay_after("a")),
            Some(vec![Bytes::from_static(b"4")])
        );
        assert_eq!(h.last_id().map(Utf8Bytes::as_str), Some("a"));
    }
}
