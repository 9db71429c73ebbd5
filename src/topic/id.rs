//! Entry ids and the order a cursor compares them by.

use core::fmt;
use core::str::FromStr;

/// The id of a log entry, ordered as the log orders its entries.
///
/// A [`Topic`](super::Topic) keeps its entries in strictly increasing id
/// order and places a cursor by comparison (`Ord`), never by string
/// equality alone: a `Last-Event-ID` that falls between two entries (ids
/// may have gaps) starts after every entry not greater than it. So `Ord`
/// **must** be the log's total order, and `Display` / `FromStr` must round
/// trip (the SSE `id:` field is the `Display` form, and the client sends it
/// back as `Last-Event-ID`, WHATWG HTML §9.2.4).
///
/// Two ids come with the crate: [`Seq`], assigned by the topic, and
/// [`StreamId`], the ids of an external log such as Redis Streams.
pub trait LogId: Clone + Ord + fmt::Debug + fmt::Display + FromStr {}

impl LogId for Seq {}
impl LogId for StreamId {}

/// A sequence number assigned by the topic itself: 1, 2, 3, ... in publish
/// order, ordered as integers (so `"10"` comes after `"9"`, which a string
/// comparison would get wrong).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Seq(pub u64);

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Seq {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_digits(s).map(Seq)
    }
}

/// An id from an external ordered log in the Redis Streams form
/// `<milliseconds>-<sequence>`, e.g. `1700000000000-3`.
///
/// Ordered by `ms`, then by `seq`, as Redis orders stream entries (the
/// derived `Ord` compares the fields in that order): `1700000000000-10`
/// comes after `1700000000000-9`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    /// The milliseconds part.
    pub ms: u64,
    /// The sequence number within that millisecond.
    pub seq: u64,
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl FromStr for StreamId {
    type Err = ParseIdError;

    /// Parses the full `ms-seq` form only: a bare `ms` is a range bound in
    /// Redis commands, not the id of an entry.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ms, seq) = s.split_once('-').ok_or(ParseIdError)?;
        Ok(StreamId {
            ms: parse_digits(ms)?,
            seq: parse_digits(seq)?,
        })
    }
}

/// An id string that is not of the topic's id form (say, a
/// `Last-Event-ID` from another server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a log id: expected decimal digits (`42`) or `<ms>-<seq>` (`1700000000000-3`)")]
pub struct ParseIdError;

/// ASCII digits only: `u64::from_str` also takes a leading `+`, which
/// would give one entry two spellings.
fn parse_digits(s: &str) -> Result<u64, ParseIdError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseIdError);
    }
    s.parse().map_err(|_| ParseIdError)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    #[test]
    fn seq_orders_as_integers() {
        assert!(Seq(10) > Seq(9));
        assert_eq!("42".parse(), Ok(Seq(42)));
        assert_eq!("+4".parse::<Seq>(), Err(ParseIdError));
        assert_eq!("".parse::<Seq>(), Err(ParseIdError));
        assert_eq!(Seq(7).to_string(), "7");
    }

    #[test]
    fn stream_ids_order_by_ms_then_seq() {
        let a: StreamId = "1700000000000-9".parse().unwrap();
        let b: StreamId = "1700000000000-10".parse().unwrap();
        let c: StreamId = "1700000000001-0".parse().unwrap();
        assert!(a < b && b < c);
        // A string comparison would put "-10" before "-9".
        assert!(a.to_string() > b.to_string());
        assert_eq!(b.to_string(), "1700000000000-10");
        for bad in ["1700000000000", "-3", "1-", "1-+2", "a-1", "1-2-3"] {
            assert_eq!(bad.parse::<StreamId>(), Err(ParseIdError), "{bad}");
        }
    }
}
