//! SSE outbound queue and slow-consumer policies (issue 8), through the
//! public API only: the bytes each connection would write, what each push
//! says, and an in-memory server + `EventSource`-like client showing that a
//! dropped slow client resumes with `Last-Event-ID` (WHATWG HTML §9.2.4)
//! and ends with every event exactly once.

use bytes::Bytes;
use proptest::prelude::*;
use pushcodec::sse::{
    Decoder, EventRef, History, Item, Limits, Outbound, PreparedEvent, Push, Replay, RequestLimits,
    SlowConsumer, Utf8Bytes, parse_request,
};

fn event(id: &str, data: &str) -> PreparedEvent {
    PreparedEvent::new(&EventRef::new(data).id(id)).unwrap()
}

fn drain(out: &mut Outbound) -> Vec<u8> {
    let mut wire = Vec::new();
    while let Some(b) = out.poll_transmit() {
        wire.extend_from_slice(&b);
    }
    wire
}

const HEARTBEAT: &[u8] = b":\n";

#[test]
fn report_policy_queues_everything_and_says_when_over_the_mark() {
    // Each event is "id: N\ndata: xxxxxxxxxx\n\n" = 24 bytes; mark 50.
    let events: Vec<_> = (1..=4)
        .map(|i| event(&i.to_string(), "xxxxxxxxxx"))
        .collect();
    assert!(events.iter().all(|e| e.bytes().len() == 24));
    let mut out = Outbound::new(50, SlowConsumer::Report);
    assert_eq!(out.push_event(&events[0]), Push::Queued);
    assert_eq!(out.push_event(&events[1]), Push::Queued);
    assert_eq!(
        out.push_event(&events[2]),
        Push::OverMark {
            queued_bytes: 72,
            high_water: 50
        }
    );
    assert!(out.is_over_mark());
    assert_eq!(
        out.push_comment(Bytes::from_static(HEARTBEAT)),
        Push::OverMark {
            queued_bytes: 74,
            high_water: 50
        }
    );
    assert_eq!(
        out.push_event(&events[3]),
        Push::OverMark {
            queued_bytes: 98,
            high_water: 50
        }
    );
    // Nothing dropped: the connection writes all of it, in order.
    let expected: Vec<u8> = [
        events[0].bytes(),
        events[1].bytes(),
        events[2].bytes(),
        &Bytes::from_static(HEARTBEAT),
        events[3].bytes(),
    ]
    .iter()
    .flat_map(|b| b.iter().copied())
    .collect();
    assert_eq!(drain(&mut out), expected);
    assert_eq!(out.queued_bytes(), 0);
    assert!(!out.is_over_mark());
    assert_eq!(out.last_event_id().map(Utf8Bytes::as_str), Some("4"));
    assert!(!out.is_ended());
}

#[test]
fn resume_policy_drops_all_queued_and_names_the_resume_point() {
    let events: Vec<_> = (1..=6)
        .map(|i| event(&i.to_string(), "xxxxxxxxxx"))
        .collect();
    let mut out = Outbound::new(50, SlowConsumer::Resume);
    assert_eq!(out.push_event(&events[0]), Push::Queued);
    assert_eq!(out.push_event(&events[1]), Push::Queued);
    // The client reads e1 and e2.
    let mut written = drain(&mut out);
    assert_eq!(out.push_event(&events[2]), Push::Queued);
    assert_eq!(
        out.push_comment(Bytes::from_static(HEARTBEAT)),
        Push::Queued
    );
    assert!(matches!(
        out.push_event(&events[3]),
        Push::OverMark {
            queued_bytes: 50,
            ..
        }
    ));
    // The client stops reading; e5 finds the queue over the mark.
    let Push::Resume(resume) = out.push_event(&events[4]) else {
        panic!("expected a resume")
    };
    assert_eq!(resume.last_event_id.as_deref(), Some("2"));
    assert_eq!(resume.dropped, events[2..5].to_vec());
    assert_eq!(resume.dropped_comments, 1);
    assert_eq!(resume.dropped_bytes, 24 * 3 + HEARTBEAT.len());
    assert_eq!(resume.events_after_id, 0);
    assert!(out.is_ended());
    assert_eq!(out.queued_bytes(), 0);
    // Nothing more is written on this response, and later pushes say so.
    written.extend(drain(&mut out));
    assert_eq!(out.push_event(&events[5]), Push::Ended);
    assert_eq!(out.push_comment(Bytes::from_static(HEARTBEAT)), Push::Ended);
    let expected: Vec<u8> = [events[0].bytes(), events[1].bytes()]
        .iter()
        .flat_map(|b| b.iter().copied())
        .collect();
    assert_eq!(written, expected);
}

#[test]
fn resume_keeps_what_poll_transmit_already_handed_out() {
    let events: Vec<_> = (1..=3).map(|i| event(&i.to_string(), "data")).collect();
    let mut out = Outbound::new(1, SlowConsumer::Resume);
    assert!(matches!(out.push_event(&events[0]), Push::OverMark { .. }));
    // Taken by the caller (maybe not yet written): it counts as sent.
    let taken = out.poll_transmit().unwrap();
    assert_eq!(taken, *events[0].bytes());
    assert!(matches!(out.push_event(&events[1]), Push::OverMark { .. }));
    let Push::Resume(resume) = out.push_event(&events[2]) else {
        panic!()
    };
    assert_eq!(resume.last_event_id.as_deref(), Some("1"));
    assert_eq!(resume.dropped, events[1..].to_vec());
}

#[test]
fn an_event_larger_than_the_mark_goes_out_from_an_empty_queue() {
    let big = event("1", &"x".repeat(1000));
    for policy in [SlowConsumer::Report, SlowConsumer::Resume] {
        let mut out = Outbound::new(10, policy);
        assert!(matches!(out.push_event(&big), Push::OverMark { .. }));
        assert_eq!(drain(&mut out), big.bytes().to_vec());
    }
}

#[test]
fn resume_before_anything_handed_out_uses_the_request_id() {
    let mut out =
        Outbound::new(0, SlowConsumer::Resume).with_last_event_id(Some(Utf8Bytes::from("41")));
    assert!(matches!(
        out.push_event(&event("42", "a")),
        Push::OverMark { .. }
    ));
    let Push::Resume(resume) = out.push_event(&event("43", "b")) else {
        panic!()
    };
    assert_eq!(resume.last_event_id.as_deref(), Some("41"));
    // A client that sent no Last-Event-ID will send none: the caller sees
    // that and knows a history cannot place it.
    let mut fresh = Outbound::new(0, SlowConsumer::Resume);
    let _ = fresh.push_event(&event("1", "a"));
    let Push::Resume(resume) = fresh.push_event(&event("2", "b")) else {
        panic!()
    };
    assert_eq!(resume.last_event_id, None);
    assert_eq!(resume.dropped.len(), 2);
}

#[test]
fn events_without_id_are_counted_because_a_replay_repeats_them() {
    let with_id = event("1", "a");
    let no_id = PreparedEvent::new(&EventRef::new("b")).unwrap();
    let mut out = Outbound::new(1000, SlowConsumer::Resume);
    let _ = out.push_event(&with_id);
    let _ = out.push_event(&no_id);
    let _ = out.push_event(&no_id);
    let _ = drain(&mut out);
    let resume = out.end();
    assert_eq!(resume.last_event_id.as_deref(), Some("1"));
    assert_eq!(resume.events_after_id, 2);
    assert!(resume.dropped.is_empty());
}

#[test]
fn end_is_a_close_that_reports_what_was_not_sent() {
    let mut out = Outbound::new(1 << 20, SlowConsumer::Report);
    let (e1, e2) = (event("1", "a"), event("2", "b"));
    let _ = out.push_event(&e1);
    let _ = out.poll_transmit();
    let _ = out.push_event(&e2);
    let _ = out.push_comment(Bytes::from_static(HEARTBEAT));
    let resume = out.end();
    assert_eq!(resume.last_event_id.as_deref(), Some("1"));
    assert_eq!(resume.dropped, vec![e2]);
    assert_eq!(resume.dropped_comments, 1);
    assert_eq!(out.poll_transmit(), None);
    assert_eq!(out.push_event(&e1), Push::Ended);
}

#[test]
fn prepared_event_from_history_bytes_keeps_its_id() {
    let mut history = History::new(10, 1 << 10);
    let bytes = history
        .push_event(&EventRef::new("x").id("7").event_type("t"))
        .unwrap();
    let ev = PreparedEvent::from_encoded(bytes.clone());
    assert_eq!(ev.id().map(Utf8Bytes::as_str), Some("7"));
    assert_eq!(ev.bytes(), &bytes);
    assert_eq!(
        ev,
        PreparedEvent::new(&EventRef::new("x").id("7").event_type("t")).unwrap()
    );
}

/// An in-memory `EventSource`: a decoder per response, and the events it
/// dispatched across all of them.
struct Client {
    decoder: Decoder,
    got: Vec<(String, String)>,
}

impl Client {
    /// A client that already has the event with id `seen`.
    fn having_seen(seen: &str) -> Self {
        Client {
            decoder: Decoder::new(Limits::default()).with_last_event_id(Utf8Bytes::from(seen)),
            got: Vec::new(),
        }
    }

    fn receive(&mut self, bytes: &[u8]) {
        for item in self.decoder.feed(bytes) {
            if let Item::Event(ev) = item.unwrap() {
                self.got.push((ev.id().to_owned(), ev.data().to_owned()));
            }
        }
    }

    /// The response ended: the request the client reconnects with
    /// (WHATWG HTML §9.2.4: `Last-Event-ID` if the last event id is set).
    fn reconnect_request(&mut self) -> Vec<u8> {
        self.decoder.finish();
        let id = self.decoder.last_event_id().clone();
        self.decoder = Decoder::new(Limits::default()).with_last_event_id(id.clone());
        let mut req =
            b"GET /events HTTP/1.1\r\nHost: example.com\r\nAccept: text/event-stream\r\n".to_vec();
        if !id.is_empty() {
            req.extend_from_slice(format!("Last-Event-ID: {id}\r\n").as_bytes());
        }
        req.extend_from_slice(b"\r\n");
        req
    }
}

/// The server's side of one response: parse the request, replay what the
/// client missed from history, then queue live events.
fn accept(request: &[u8], history: &History, mark: usize) -> (Outbound, Vec<u8>) {
    let req = parse_request(request, &RequestLimits::default())
        .unwrap()
        .expect("complete request");
    let mut out =
        Outbound::new(mark, SlowConsumer::Resume).with_last_event_id(req.last_event_id.clone());
    let mut written = Vec::new();
    if let Some(id) = &req.last_event_id {
        let Replay::Events(missed) = history.replay_after(id) else {
            panic!("history too short for this test")
        };
        for bytes in missed {
            // Written as it is pushed: a fresh connection's socket is free.
            let outcome = out.push_event(&PreparedEvent::from_encoded(bytes.clone()));
            assert!(!matches!(outcome, Push::Resume(_) | Push::Ended));
            written.extend(drain(&mut out));
        }
    }
    (out, written)
}

#[test]
fn slow_client_is_dropped_reconnects_and_gets_every_event_exactly_once() {
    let mut history = History::new(1000, 1 << 20);
    let _ = history
        .push_event(&EventRef::new("before").id("0"))
        .unwrap();
    let mark = 100;
    let mut fast = Outbound::new(mark, SlowConsumer::Resume);
    let mut fast_client = Client::having_seen("0");
    let mut slow_client = Client::having_seen("0");
    let (mut slow, _) = accept(&slow_client.reconnect_request(), &history, mark);
    let mut resumes = 0;
    let mut sent = Vec::new();
    for i in 1..=60 {
        let data = format!("event {i}");
        let id = i.to_string();
        let bytes = history.push_event(&EventRef::new(&data).id(&id)).unwrap();
        let ev = PreparedEvent::from_encoded(bytes);
        sent.push((id, data));
        // The fast client reads everything at once.
        assert!(!matches!(fast.push_event(&ev), Push::Resume(_)));
        fast_client.receive(&drain(&mut fast));
        // The slow one reads one event in three.
        match slow.push_event(&ev) {
            Push::Queued | Push::OverMark { .. } => {}
            Push::Resume(resume) => {
                resumes += 1;
                // The dropped events are exactly what the history replays
                // after the id the client will send.
                let replay = match history.replay_after(resume.last_event_id.as_deref().unwrap()) {
                    Replay::Events(it) => it.cloned().collect::<Vec<_>>(),
                    _ => panic!("unknown id"),
                };
                let dropped: Vec<_> = resume.dropped.iter().map(|e| e.bytes().clone()).collect();
                assert_eq!(replay, dropped);
                let request = slow_client.reconnect_request();
                let header = format!("\r\nLast-Event-ID: {}\r\n", resume.last_event_id.unwrap());
                assert!(
                    request
                        .windows(header.len())
                        .any(|w| w == header.as_bytes())
                );
                let (out, replayed) = accept(&request, &history, mark);
                slow = out;
                slow_client.receive(&replayed);
            }
            other => panic!("unexpected {other:?}"),
        }
        if i % 3 == 0
            && let Some(b) = slow.poll_transmit()
        {
            slow_client.receive(&b);
        }
    }
    slow_client.receive(&drain(&mut slow));
    assert!(
        resumes >= 2,
        "the test must exercise resumption, got {resumes}"
    );
    assert_eq!(fast_client.got, sent);
    assert_eq!(slow_client.got, sent, "every event exactly once, in order");
}

#[derive(Debug, Clone)]
enum Action {
    Publish(usize),
    Heartbeat,
    Read(usize),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0usize..200).prop_map(Action::Publish),
        1 => Just(Action::Heartbeat),
        3 => (0usize..4).prop_map(Action::Read),
    ]
}

proptest! {
    /// Whatever the client's pace, the mark and the event sizes, a client
    /// dropped under `SlowConsumer::Resume` ends with every event once.
    #[test]
    fn resume_delivers_every_event_exactly_once(
        mark in prop_oneof![Just(0usize), 0usize..400],
        actions in proptest::collection::vec(action(), 0..120),
    ) {
        let mut history = History::new(10_000, 1 << 24);
        // The client already has event 0, so it always has an id to
        // resume from (without one, `Resume::last_event_id` is `None` and
        // a history cannot help; see the test above).
        let _ = history.push_event(&EventRef::new("before").id("0")).unwrap();
        let mut client = Client::having_seen("0");
        let (mut out, _) = accept(&client.reconnect_request(), &history, mark);
        let mut sent = Vec::new();
        let heartbeat = Bytes::from_static(HEARTBEAT);
        let handle = |outcome: Push, out: &mut Outbound, client: &mut Client, history: &History| {
            match outcome {
                Push::Queued | Push::OverMark { .. } => {}
                Push::Resume(_) => {
                    let (fresh, replayed) = accept(&client.reconnect_request(), history, mark);
                    *out = fresh;
                    client.receive(&replayed);
                }
                other => panic!("unexpected {other:?}"),
            }
        };
        for a in actions {
            match a {
                Action::Publish(len) => {
                    let id = (sent.len() + 1).to_string();
                    let data = "d".repeat(len);
                    let bytes = history.push_event(&EventRef::new(&data).id(&id)).unwrap();
                    sent.push((id, data));
                    let outcome = out.push_event(&PreparedEvent::from_encoded(bytes));
                    handle(outcome, &mut out, &mut client, &history);
                }
                Action::Heartbeat => {
                    let outcome = out.push_comment(heartbeat.clone());
                    handle(outcome, &mut out, &mut client, &history);
                }
                Action::Read(n) => {
                    for _ in 0..n {
                        if let Some(b) = out.poll_transmit() {
                            client.receive(&b);
                        }
                    }
                }
            }
        }
        client.receive(&drain(&mut out));
        prop_assert_eq!(client.got, sent);
    }
}

#[test]
fn response_cut_mid_event_still_delivers_each_event_once() {
    let mut history = History::new(100, 1 << 16);
    let _ = history
        .push_event(&EventRef::new("before").id("0"))
        .unwrap();
    let mut client = Client::having_seen("0");
    let (mut out, _) = accept(&client.reconnect_request(), &history, 1 << 16);
    let mut sent = Vec::new();
    for i in 1..=3 {
        let (id, data) = (i.to_string(), format!("event {i}"));
        let bytes = history.push_event(&EventRef::new(&data).id(&id)).unwrap();
        let _ = out.push_event(&PreparedEvent::from_encoded(bytes));
        sent.push((id, data));
    }
    client.receive(&out.poll_transmit().unwrap());
    // e2 is taken, but the connection dies after half of it is written.
    let e2 = out.poll_transmit().unwrap();
    client.receive(&e2[..e2.len() / 2]);
    let resume = out.end();
    assert_eq!(resume.last_event_id.as_deref(), Some("2")); // as if all written
    // WHATWG HTML §9.2.6: the half event is discarded, so the client
    // resumes from 1 and the history replays 2 and 3.
    let (mut out, replayed) = accept(&client.reconnect_request(), &history, 1 << 16);
    client.receive(&replayed);
    client.receive(&drain(&mut out));
    assert_eq!(client.got, sent);
}
