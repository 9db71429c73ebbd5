//! The Topic against a model (issue 17): over random interleavings of
//! publish, subscribe(after), reconnect, polls, slow consumers and
//! eviction, every subscriber gets each entry after its cursor exactly
//! once and in order, or a verdict the model also reaches; the log stays
//! within its bounds. Run with topic-assigned `Seq`s, with gapped external
//! `Seq`s, and with Redis-style `StreamId`s; `Last-Event-ID`s fall on,
//! between, before and after the entries.
//!
//! The model applies the lag rule eagerly, at each publish, to every
//! subscriber; the topic applies it lazily, when a subscriber polls. The
//! two must agree.
//!
//! Memory: a topic with 100,000 idle subscribers, measured with a counting
//! allocator.

mod counting;

use bytes::Bytes;
use proptest::prelude::*;
use pushcodec::topic::{
    Lagged, LogId, PollError, PublishError, Seq, StreamId, SubscribeError, SubscriberId, Topic,
    TopicLimits,
};

#[derive(Clone, Debug)]
enum Op {
    /// Publish an entry whose key is the last plus `gap` (0: out of order
    /// for external ids), with `len` bytes after its 8-byte key.
    Publish { gap: u64, len: usize },
    /// A new client, resuming after this key (or live).
    Subscribe { after: Option<u64> },
    /// Up to `n` polls of one client.
    Poll { client: usize, n: usize },
    /// The client reconnects after the last key it got.
    Reconnect { client: usize },
    /// The client goes away.
    Unsubscribe { client: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u64..4, 0usize..40).prop_map(|(gap, len)| Op::Publish { gap, len }),
        2 => proptest::option::of(0u64..60).prop_map(|after| Op::Subscribe { after }),
        4 => (0usize..8, 1usize..6).prop_map(|(client, n)| Op::Poll { client, n }),
        1 => (0usize..8).prop_map(|client| Op::Reconnect { client }),
        1 => (0usize..8).prop_map(|client| Op::Unsubscribe { client }),
    ]
}

fn limits() -> impl Strategy<Value = TopicLimits> {
    (1usize..8, 8usize..200, 1usize..10, 1usize..300, 1usize..6).prop_map(
        |(max_entries, max_bytes, max_lag_entries, max_lag_bytes, max_subscribers)| {
            let mut l = TopicLimits::default();
            l.max_entries = max_entries;
            l.max_bytes = max_bytes;
            l.max_lag_entries = max_lag_entries;
            l.max_lag_bytes = max_lag_bytes;
            l.max_subscribers = max_subscribers;
            l
        },
    )
}

/// `Topic::publish`, for the runs where the topic assigns ids.
type Publish<I> = fn(&mut Topic<I>, Bytes) -> Result<I, PublishError<I>>;

/// How a run turns the model's keys into ids, and publishes.
struct Ids<I> {
    id: fn(u64) -> I,
    /// `Some`: the topic assigns ids (`Topic::publish`), keys 1, 2, 3, ...
    publish: Option<Publish<I>>,
    /// The topic starts after this key (`Topic::starting_after`).
    start_after: Option<u64>,
}

fn payload(key: u64, len: usize) -> Bytes {
    let mut bytes = key.to_le_bytes().to_vec();
    bytes.resize(8 + len, b'.');
    Bytes::from(bytes)
}

/// One client as the model sees it: its current subscription and where it
/// is in the sequence of everything published.
struct Client {
    sub: Option<SubscriberId>,
    /// Index in `Model::published` of its next entry.
    next: usize,
    /// The key it resumes after: its last entry's, or where it started.
    resume: Option<u64>,
    /// A verdict is due (the model's eager rule).
    lagged: bool,
}

struct Model {
    limits: TopicLimits,
    /// Every entry ever published: key and wire length.
    published: Vec<(u64, usize)>,
    /// How many of them were evicted.
    evicted: usize,
    floor: Option<u64>,
    clients: Vec<Client>,
}

impl Model {
    fn last_key(&self) -> Option<u64> {
        self.published.last().map(|&(k, _)| k).or(self.floor)
    }

    fn bytes(&self, from: usize) -> usize {
        self.published[from..].iter().map(|&(_, len)| len).sum()
    }

    fn live(&self) -> usize {
        self.clients.iter().filter(|c| c.sub.is_some()).count()
    }

    /// Where `after` resumes, or the verdict.
    fn position_after(&self, after: Option<u64>) -> Result<usize, SubscribeError> {
        let Some(k) = after else {
            return Ok(self.published.len());
        };
        if self.floor.is_some_and(|f| k < f) {
            return Err(SubscribeError::TooOld);
        }
        if self.last_key().is_none_or(|last| k > last) {
            return Err(SubscribeError::Ahead);
        }
        Ok(self.published.iter().filter(|&&(key, _)| key <= k).count())
    }

    fn publish(&mut self, key: u64, len: usize) {
        // The lag rule: the publish finds each client with what it has not taken.
        let l = &self.limits;
        for c in 0..self.clients.len() {
            let client = &self.clients[c];
            if client.sub.is_none() || client.lagged {
                continue;
            }
            let pending = self.published.len() - client.next;
            let bytes = self.bytes(client.next);
            if pending > 0 && (pending >= l.max_lag_entries || bytes >= l.max_lag_bytes) {
                self.clients[c].lagged = true;
            }
        }
        self.published.push((key, len));
        while self.published.len() - self.evicted > self.limits.max_entries
            || self.bytes(self.evicted) > self.limits.max_bytes
        {
            self.floor = Some(self.published[self.evicted].0);
            self.evicted += 1;
        }
        for client in &mut self.clients {
            if client.sub.is_some() && client.next < self.evicted {
                client.lagged = true;
            }
        }
    }
}

fn run<I: LogId>(ids: &Ids<I>, limits: TopicLimits, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut topic: Topic<I> = match ids.start_after {
        Some(k) => Topic::starting_after((ids.id)(k), limits.clone()),
        None => Topic::new(limits.clone()),
    };
    let mut m = Model {
        limits: limits.clone(),
        published: Vec::new(),
        evicted: 0,
        floor: ids.start_after,
        clients: Vec::new(),
    };
    for op in ops {
        match *op {
            Op::Publish { gap, len } => {
                let wire = 8 + len;
                let last = m.last_key();
                let (key, got) = match ids.publish {
                    Some(publish) => {
                        let key = last.map_or(1, |k| k + 1);
                        (key, publish(&mut topic, payload(key, len)).map(|_| ()))
                    }
                    None => {
                        let key = last.map_or(gap, |k| k + gap);
                        (key, topic.append((ids.id)(key), payload(key, len)))
                    }
                };
                if let Some(last) = last.filter(|&last| key <= last) {
                    prop_assert_eq!(
                        got,
                        Err(PublishError::OutOfOrder {
                            id: (ids.id)(key),
                            last: (ids.id)(last)
                        })
                    );
                } else if wire > limits.max_bytes {
                    prop_assert_eq!(
                        got,
                        Err(PublishError::TooLarge {
                            len: wire,
                            max_bytes: limits.max_bytes
                        })
                    );
                } else {
                    prop_assert_eq!(got, Ok(()));
                    m.publish(key, wire);
                }
            }
            Op::Subscribe { after } => {
                let got = topic.subscribe(after.map(ids.id).as_ref());
                let resume = after.or(m.last_key());
                subscribed(&mut m, &topic, got, after, resume, None)?;
            }
            Op::Poll { client, n } => {
                let Some(c) = m.clients.get_mut(client) else {
                    continue;
                };
                let Some(sub) = c.sub else {
                    continue;
                };
                for _ in 0..n {
                    let got = topic.poll_transmit(sub);
                    if c.lagged {
                        prop_assert!(
                            matches!(got, Err(PollError::Lagged(_))),
                            "model says lagged, topic gave {:?}",
                            got
                        );
                        if c.next >= m.evicted {
                            // Still stored: it was the lag rule.
                            let lag_rule =
                                matches!(got, Err(PollError::Lagged(Lagged::TooFarBehind { .. })));
                            prop_assert!(lag_rule, "{:?}", got);
                        }
                        c.sub = None;
                        prop_assert_eq!(
                            topic.poll_transmit(sub),
                            Err(PollError::UnknownSubscriber)
                        );
                        break;
                    }
                    let Some(&(key, wire)) = m.published.get(c.next) else {
                        prop_assert_eq!(got, Ok(None));
                        break;
                    };
                    let d = got.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    let d = d.ok_or_else(|| TestCaseError::fail("nothing; model has more"))?;
                    prop_assert_eq!(d.id, (ids.id)(key));
                    prop_assert_eq!(d.payload, payload(key, wire - 8));
                    c.next += 1;
                    c.resume = Some(key);
                }
            }
            Op::Reconnect { client } => {
                let Some(c) = m.clients.get_mut(client) else {
                    continue;
                };
                if let Some(sub) = c.sub.take() {
                    prop_assert!(topic.unsubscribe(sub));
                }
                let resume = c.resume;
                let got = topic.subscribe(resume.map(ids.id).as_ref());
                subscribed(&mut m, &topic, got, resume, resume, Some(client))?;
            }
            Op::Unsubscribe { client } => {
                let Some(c) = m.clients.get_mut(client) else {
                    continue;
                };
                if let Some(sub) = c.sub.take() {
                    prop_assert!(topic.unsubscribe(sub));
                    prop_assert!(!topic.unsubscribe(sub));
                }
            }
        }
        // Bounds, after every step.
        prop_assert_eq!(topic.len(), m.published.len() - m.evicted);
        prop_assert!(topic.len() <= limits.max_entries);
        prop_assert_eq!(topic.byte_len(), m.bytes(m.evicted));
        prop_assert!(topic.byte_len() <= limits.max_bytes);
        prop_assert_eq!(topic.subscriber_count(), m.live());
        prop_assert!(topic.subscriber_count() <= limits.max_subscribers);
    }
    Ok(())
}

/// Checks a subscribe against the model and records the client
/// (`client`: a reconnect of that one; `None`: a new one).
fn subscribed<I: LogId>(
    m: &mut Model,
    topic: &Topic<I>,
    got: Result<SubscriberId, SubscribeError>,
    after: Option<u64>,
    resume: Option<u64>,
    client: Option<usize>,
) -> Result<(), TestCaseError> {
    let expected = if m.live() >= m.limits.max_subscribers {
        Err(SubscribeError::Full {
            max: m.limits.max_subscribers,
        })
    } else {
        m.position_after(after)
    };
    match (got, expected) {
        (Ok(sub), Ok(next)) => {
            prop_assert_eq!(topic.pending(sub), Some((m.published.len() - next) as u64));
            let c = Client {
                sub: Some(sub),
                next,
                resume,
                lagged: false,
            };
            match client {
                Some(i) => m.clients[i] = c,
                None => m.clients.push(c),
            }
        }
        (Err(e), Err(expected)) => prop_assert_eq!(e, expected),
        (got, expected) => {
            return Err(TestCaseError::fail(format!(
                "subscribe after {after:?}: topic {got:?}, model {expected:?}"
            )));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn assigned_seq(limits in limits(), ops in proptest::collection::vec(op(), 1..120)) {
        let ids = Ids {
            id: Seq,
            publish: Some(|t: &mut Topic<Seq>, p| t.publish(p)),
            start_after: None,
        };
        run(&ids, limits, &ops)?;
    }

    #[test]
    fn gapped_external_seq(limits in limits(), ops in proptest::collection::vec(op(), 1..120)) {
        let ids = Ids { id: Seq, publish: None, start_after: None };
        run(&ids, limits, &ops)?;
    }

    #[test]
    fn stream_ids(limits in limits(), ops in proptest::collection::vec(op(), 1..120)) {
        // Four ids a millisecond, so "ms-seq" and "ms+1-0" are neighbours,
        // and the topic is fed from after an id of the stream.
        let ids = Ids {
            id: |k| StreamId { ms: 1_700_000_000_000 + k / 4, seq: k % 4 },
            publish: None,
            start_after: Some(3),
        };
        run(&ids, limits, &ops)?;
    }
}

#[test]
fn a_last_event_id_between_entries_resumes_after_the_older() {
    let mut topic: Topic<StreamId> = Topic::new(TopicLimits::default());
    for id in ["5-0", "5-7", "9-1"] {
        topic.append(id.parse().unwrap(), Bytes::from(id)).unwrap();
    }
    // "5-10" sorts before "5-7" as a string, after it as a stream id.
    let sub = topic.subscribe_last_event_id(Some("5-10")).unwrap();
    let d = topic.poll_transmit(sub).unwrap().unwrap();
    assert_eq!(d.id.to_string(), "9-1");
    assert_eq!(topic.poll_transmit(sub), Ok(None));
}

/// 100,000 idle subscribers: the topic's heap per subscriber, counted.
#[test]
fn idle_subscribers_cost_under_128_bytes_each() {
    const N: usize = 100_000;
    let mut subs = Vec::with_capacity(N);
    let before = counting::live();
    let mut topic: Topic = Topic::new(TopicLimits::default());
    subs.extend((0..N).map(|_| topic.subscribe(None).unwrap()));
    let heap = counting::live() - before;
    let per = heap as f64 / N as f64;
    eprintln!("{N} idle subscribers: {heap} bytes of topic heap, {per:.1} B each");
    assert!(per < 128.0, "{per} B per idle subscriber");
    // A publish stores one entry, however many subscribers: nothing is
    // queued per subscriber.
    topic.publish(Bytes::from_static(b"x")).unwrap();
    let publish = counting::live() - before - heap;
    eprintln!("one publish to {N} subscribers: {publish} bytes");
    assert!(publish < 1024, "{publish} bytes for one publish");
    for &sub in &subs {
        assert_eq!(topic.pending(sub), Some(1));
    }
}
