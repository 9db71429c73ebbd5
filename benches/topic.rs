//! Fan-out through a `Topic` (issue 17) beside the per-subscriber queues it
//! replaces: one 125-byte event or message published to 1, 1,000 and
//! 100,000 subscribers, each of which then takes it the way a driver hands
//! bytes to a socket (into a sink that discards them).
//!
//! Rows, SSE (`topic_sse/<subscribers>`):
//! - `topic_poll_ref`: `Topic::publish_event` once (the encode, with its
//!   `id:` field, included), then `poll_ref` for every subscriber until it
//!   has nothing more: the entry is lent, written from the log.
//! - `topic_poll_transmit`: the same with `poll_transmit`, which hands out
//!   a clone (reference counts) of the entry.
//! - `prepared_outbound`: `PreparedEvent::new` once, `Outbound::push_event`
//!   on every subscriber's queue, drained with `Outbound::poll_transmit`:
//!   today's path, without replay.
//!
//! Rows, WebSocket (`topic_ws/<subscribers>`):
//! - `topic_send_prepared`: `Topic::publish(PreparedMessage::text(..))`
//!   once, then per subscriber `poll_ref`, `Connection::send_prepared`
//!   and the connection's `poll_transmit`: what a driver does.
//! - `send_prepared`: `PreparedMessage::text` once, `send_prepared` on every
//!   connection, drained: today's path, without replay.
//!
//! Both paths copy no payload byte after the one encoding: every
//! subscriber gets a reference count of the same `Bytes` (checked below,
//! before timing, by pointer). The topic's log holds the last 1,024
//! entries (the default), so the timed loop runs with eviction on.
//! Throughput is per subscriber: criterion's time per element is the ns
//! per event per subscriber.
//!
//! Run: `cargo bench --bench topic` (one group: `-- topic_sse/1000`).

mod common;

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pushcodec::sse::{EventRef, Outbound, PreparedEvent, Push, SlowConsumer};
use pushcodec::topic::{Payload, Seq, SubscriberId, Topic, TopicLimits};
use pushcodec::ws::{Config, Connection, PreparedMessage, Utf8Bytes};

const SUBSCRIBERS: [usize; 3] = [1, 1_000, 100_000];

/// 125 bytes of chat-like text: the largest one-byte-length frame.
fn text() -> String {
    common::text(125)
}

fn subscribe_all<P: Payload>(topic: &mut Topic<Seq, P>, n: usize) -> Vec<SubscriberId> {
    (0..n).map(|_| topic.subscribe(None).unwrap()).collect()
}

/// Every subscriber drained; returns the bytes handed out, and the first
/// payload's address for the no-copy check.
fn sse_topic(
    topic: &mut Topic<Seq, PreparedEvent>,
    subs: &[SubscriberId],
    data: &str,
) -> (u64, Vec<*const u8>) {
    topic.publish_event(&EventRef::new(data)).unwrap();
    let mut written = 0;
    let mut at = Vec::new();
    for &sub in subs {
        while let Some(d) = topic.poll_ref(sub).unwrap() {
            let bytes = black_box(d.payload.bytes());
            written += bytes.len() as u64;
            if at.len() < 2 {
                at.push(bytes.as_ptr());
            }
        }
    }
    (written, at)
}

fn sse_topic_owned(
    topic: &mut Topic<Seq, PreparedEvent>,
    subs: &[SubscriberId],
    data: &str,
) -> u64 {
    topic.publish_event(&EventRef::new(data)).unwrap();
    let mut written = 0;
    for &sub in subs {
        while let Some(d) = topic.poll_transmit(sub).unwrap() {
            written += black_box(d.payload).bytes().len() as u64;
        }
    }
    written
}

fn sse_outbound(queues: &mut [Outbound], seq: &mut u64, data: &str) -> u64 {
    *seq += 1;
    let id = seq.to_string();
    let event = PreparedEvent::new(&EventRef::new(data).id(&id)).unwrap();
    let mut written = 0;
    for queue in queues.iter_mut() {
        assert_eq!(queue.push_event(&event), Push::Queued);
        while let Some(bytes) = queue.poll_transmit() {
            written += black_box(bytes).len() as u64;
        }
    }
    written
}

fn ws_topic(
    topic: &mut Topic<Seq, PreparedMessage>,
    subs: &[SubscriberId],
    conns: &mut [Connection],
    text: &Utf8Bytes,
) -> u64 {
    topic.publish(PreparedMessage::text(text.clone())).unwrap();
    let mut written = 0;
    for (&sub, conn) in subs.iter().zip(conns.iter_mut()) {
        while let Some(d) = topic.poll_ref(sub).unwrap() {
            conn.send_prepared(d.payload).expect("not backpressured");
        }
        while let Some(bytes) = conn.poll_transmit() {
            written += black_box(bytes).len() as u64;
        }
    }
    written
}

fn ws_prepared(conns: &mut [Connection], text: &Utf8Bytes) -> u64 {
    common::send_prepared_to_all(conns, &PreparedMessage::text(text.clone()))
}

/// Outputs before timing: the same wire bytes on both paths, shared (one
/// address for all subscribers), not copied.
fn check(data: &str) {
    let mut topic = Topic::new(TopicLimits::default());
    let subs = subscribe_all(&mut topic, 3);
    let (written, at) = sse_topic(&mut topic, &subs, data);
    let mut queues: Vec<_> = (0..3)
        .map(|_| Outbound::new(1 << 16, SlowConsumer::Resume))
        .collect();
    assert_eq!(written, sse_outbound(&mut queues, &mut 0, data));
    assert_eq!(written, sse_topic_owned(&mut topic, &subs, data));
    assert_eq!(at[0], at[1], "one encoding, shared");
    let sub = topic.subscribe_last_event_id(Some("0")).unwrap();
    let first = topic.poll_transmit(sub).unwrap().unwrap();
    let expected = format!("id: 1\ndata: {data}\n\n");
    assert_eq!(first.payload.bytes(), &Bytes::from(expected));

    let utf8 = Utf8Bytes::from(data);
    let mut topic = Topic::new(TopicLimits::default());
    let subs = subscribe_all(&mut topic, 3);
    let mut conns: Vec<_> = (0..3)
        .map(|_| Connection::server(Config::default()))
        .collect();
    let a = ws_topic(&mut topic, &subs, &mut conns, &utf8);
    assert_eq!(a, ws_prepared(&mut conns, &utf8));
    assert_eq!(a, 3 * (2 + data.len() as u64));
}

fn bench_sse(c: &mut Criterion) {
    let data = text();
    check(&data);
    for n in SUBSCRIBERS {
        let mut group = c.benchmark_group(format!("topic_sse/{n}"));
        group.throughput(Throughput::Elements(n as u64));
        let mut topic = Topic::new(TopicLimits::default());
        let subs = subscribe_all(&mut topic, n);
        group.bench_function("topic_poll_ref", |b| {
            b.iter(|| sse_topic(&mut topic, &subs, &data).0);
        });
        group.bench_function("topic_poll_transmit", |b| {
            b.iter(|| sse_topic_owned(&mut topic, &subs, &data));
        });
        drop((topic, subs));
        let mut queues: Vec<_> = (0..n)
            .map(|_| Outbound::new(1 << 16, SlowConsumer::Resume))
            .collect();
        let mut seq = 0;
        group.bench_function("prepared_outbound", |b| {
            b.iter(|| sse_outbound(&mut queues, &mut seq, &data));
        });
        group.finish();
    }
}

fn bench_ws(c: &mut Criterion) {
    let text = Utf8Bytes::from(text());
    for n in SUBSCRIBERS {
        let mut group = c.benchmark_group(format!("topic_ws/{n}"));
        group.throughput(Throughput::Elements(n as u64));
        let mut conns: Vec<_> = (0..n)
            .map(|_| Connection::server(Config::default()))
            .collect();
        let mut topic = Topic::new(TopicLimits::default());
        let subs = subscribe_all(&mut topic, n);
        group.bench_function("topic_send_prepared", |b| {
            b.iter(|| ws_topic(&mut topic, &subs, &mut conns, &text));
        });
        group.bench_function("send_prepared", |b| {
            b.iter(|| ws_prepared(&mut conns, &text));
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = bench_sse, bench_ws
}
criterion_main!(benches);
