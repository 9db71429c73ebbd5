//! Client reconnect state on deterministic timelines: a fake clock (a base
//! `Instant` plus offsets) and a seeded random source (WHATWG HTML §9.2.3
//! "Processing model", §9.2.4 "The Last-Event-ID header").

#[allow(unused_imports)]
use crate::clock::*;

use std::time::Duration;

use pushcodec::RandomSource;
use pushcodec::sse::{BackoffConfig, Client, Item, Limits, ReadyState, ResponseVerdict};

/// Seeded xorshift64*: uniform draws in [0, 1).
struct Seeded(u64);

impl RandomSource for Seeded {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = (self.unit() * 256.0) as u8;
        }
    }

    fn unit(&mut self) -> f64 {
        self.next_f64()
    }
}

/// Always the same draw.
struct Fixed(f64);

impl RandomSource for Fixed {
    fn fill(&mut self, buf: &mut [u8]) {
        buf.fill(0x80);
    }

    fn unit(&mut self) -> f64 {
        self.0
    }
}

impl Seeded {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn headers(client: &Client) -> Vec<(String, String)> {
    client
        .request_headers()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

fn last_event_id_header(client: &Client) -> Option<String> {
    client
        .request_headers()
        .find(|(n, _)| *n == "Last-Event-ID")
        .map(|(_, v)| v.to_owned())
}

/// Feeds a body and drains the items.
fn deliver(client: &mut Client, body: &[u8]) -> Vec<Item> {
    client.feed(body);
    let mut items = Vec::new();
    while let Some(item) = client.next_item() {
        items.push(item.expect("no limit error"));
    }
    items
}

#[test]
fn backoff_stays_within_jitter_bounds_and_grows() {
    let cfg = BackoffConfig::default();
    let mut rng = Seeded(0x1234_5678_9ABC_DEF1);
    for attempt in 0..40u32 {
        let raw = ms(500)
            .checked_mul(1u32 << attempt.min(31))
            .unwrap_or(Duration::MAX)
            .min(Duration::from_secs(30));
        for _ in 0..200 {
            let d = cfg.delay(attempt, rng.next_f64());
            assert!(d >= raw / 2, "attempt {attempt}: {d:?} < {:?}", raw / 2);
            assert!(
                d < raw * 3 / 2 || d == Duration::from_secs(30),
                "attempt {attempt}: {d:?}"
            );
            assert!(d <= Duration::from_secs(30), "cap broken: {d:?}");
        }
    }
    // With the middle draw (factor 1.0) the delay doubles up to the cap.
    let mid: Vec<u64> = (0..9)
        .map(|n| cfg.delay(n, 0.5).as_millis() as u64)
        .collect();
    assert_eq!(
        mid,
        [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
    );
    // The ends of the range: factor 0.5 and just under 1.5.
    assert_eq!(cfg.delay(0, 0.0), ms(250));
    assert!(cfg.delay(0, 0.999_999) < ms(750));
}

#[test]
fn configured_backoff_is_honoured() {
    let mut cfg = BackoffConfig::default();
    cfg.base = ms(100);
    cfg.cap = ms(1000);
    (cfg.jitter_min, cfg.jitter_max) = (1.0, 1.0);
    let got: Vec<u64> = (0..6)
        .map(|n| cfg.delay(n, 0.7).as_millis() as u64)
        .collect();
    assert_eq!(got, [100, 200, 400, 800, 1000, 1000]);
}

#[test]
fn failed_connects_back_off_and_a_delivering_stream_resets() {
    let t0 = t0();
    let mut cfg = BackoffConfig::default();
    (cfg.jitter_min, cfg.jitter_max) = (1.0, 1.0); // no jitter: exact timeline
    let mut client = Client::new(Limits::default(), cfg);
    let mut now = t0;
    // Three connects fail at the network level: 500, 1000, 2000 ms.
    for expected in [500, 1000, 2000] {
        assert_eq!(client.state(), ReadyState::Connecting);
        let at = client.handle_disconnect(now).unwrap();
        assert_eq!(at - now, ms(expected));
        assert_eq!(client.poll_timeout(), Some(at));
        // Not yet: one millisecond early does nothing.
        client.handle_timeout(at - ms(1));
        assert_ne!(client.state(), ReadyState::Connecting);
        assert!(matches!(client.state(), ReadyState::Waiting));
        now = at;
        client.handle_timeout(now);
        assert_eq!(client.state(), ReadyState::Connecting);
    }
    assert_eq!(client.attempt(), 3);
    // A stream that opens but delivers nothing does not reset the count.
    assert_eq!(
        client.handle_response(200, Some(b"text/event-stream")),
        ResponseVerdict::Stream
    );
    deliver(&mut client, b": just a comment\n\n");
    let at = client.handle_disconnect(now).unwrap();
    assert_eq!(at - now, ms(4000));
    now = at;
    client.handle_timeout(now);
    assert_eq!(client.state(), ReadyState::Connecting);
    // One that delivers an event does: back to the base delay.
    client.handle_response(200, Some(b"text/event-stream"));
    assert_eq!(deliver(&mut client, b"data: x\n\n").len(), 1);
    let at = client.handle_disconnect(now).unwrap();
    assert_eq!(at - now, ms(500));
    assert_eq!(client.attempt(), 1);
}

#[test]
fn server_retry_replaces_the_base_and_is_a_floor() {
    let t0 = t0();
    let mut client =
        Client::new(Limits::default(), BackoffConfig::default()).with_random(Box::new(Seeded(42)));
    client.handle_response(200, Some(b"text/event-stream"));
    assert_eq!(
        deliver(&mut client, b"retry: 3000\n\n"),
        [Item::Retry(3000)]
    );
    assert_eq!(client.server_retry(), Some(ms(3000)));
    let mut now = t0;
    for attempt in 0..8u32 {
        let at = client.handle_disconnect(now).unwrap();
        let d = at - now;
        let raw = ms(3000 << attempt).min(Duration::from_secs(30));
        // §9.2.3: never sooner than the server's reconnection time.
        assert!(d >= ms(3000), "attempt {attempt}: {d:?}");
        assert!(
            d >= raw / 2 && d < raw * 3 / 2,
            "attempt {attempt}: {d:?} vs {raw:?}"
        );
        assert!(d <= Duration::from_secs(30));
        now = at;
        client.handle_timeout(now);
        assert_eq!(client.state(), ReadyState::Connecting);
    }
}

#[test]
fn server_retry_above_the_cap_is_still_honoured() {
    let t0 = t0();
    let mut client =
        Client::new(Limits::default(), BackoffConfig::default()).with_random(Box::new(Fixed(0.0)));
    client.handle_response(200, Some(b"text/event-stream"));
    deliver(&mut client, b"retry: 60000\n\n");
    let at = client.handle_disconnect(t0).unwrap();
    assert_eq!(at - t0, ms(60000));
}

#[test]
fn last_event_id_is_carried_through_reconnects() {
    let t0 = t0();
    let mut client = Client::new(Limits::default(), BackoffConfig::default());
    assert_eq!(
        headers(&client),
        [
            ("Accept".to_owned(), "text/event-stream".to_owned()),
            ("Cache-Control".to_owned(), "no-cache".to_owned())
        ]
    );
    client.handle_response(200, Some(b"text/event-stream"));
    deliver(
        &mut client,
        b"id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: partial",
    );
    // The connection drops inside event 3: its id never took effect.
    let at = client.handle_disconnect(t0).unwrap();
    client.handle_timeout(at);
    assert_eq!(client.state(), ReadyState::Connecting);
    assert_eq!(last_event_id_header(&client).as_deref(), Some("2"));
    let mut raw = Vec::new();
    client.encode_request_headers(&mut raw);
    assert_eq!(
        raw,
        b"Accept: text/event-stream\r\nCache-Control: no-cache\r\nLast-Event-ID: 2\r\n"
    );

    // Second connection: a fresh body (a BOM is allowed again); events
    // carry the id in effect; an id-only block moves it on.
    client.handle_response(200, Some(b"text/event-stream; charset=utf-8"));
    let items = deliver(&mut client, b"\xEF\xBB\xBFdata: c\n\nid: 4\n\n");
    let Item::Event(ev) = &items[0] else { panic!() };
    assert_eq!((ev.data(), ev.id()), ("c", "2"));
    let at = client.handle_disconnect(at).unwrap();
    client.handle_timeout(at);
    assert_eq!(client.state(), ReadyState::Connecting);
    assert_eq!(last_event_id_header(&client).as_deref(), Some("4"));

    // Third: the server resets the id; no Last-Event-ID is sent after that.
    client.handle_response(200, Some(b"text/event-stream"));
    deliver(&mut client, b"id\ndata: d\n\n");
    let at = client.handle_disconnect(at).unwrap();
    client.handle_timeout(at);
    assert_eq!(client.state(), ReadyState::Connecting);
    assert_eq!(client.last_event_id(), "");
    assert_eq!(last_event_id_header(&client), None);
}

#[test]
fn responses_that_must_not_be_retried() {
    let t0 = t0();
    let cases: [(u16, Option<&[u8]>, ResponseVerdict); 7] = [
        (204, None, ResponseVerdict::NoContent),
        (204, Some(b"text/event-stream"), ResponseVerdict::NoContent),
        (
            500,
            Some(b"text/event-stream"),
            ResponseVerdict::BadStatus(500),
        ),
        (301, None, ResponseVerdict::BadStatus(301)),
        (200, None, ResponseVerdict::BadContentType),
        // WPT format-mime-bogus.
        (200, Some(b"text/x-bogus"), ResponseVerdict::BadContentType),
        (200, Some(b"text/html"), ResponseVerdict::BadContentType),
    ];
    for (status, ct, verdict) in cases {
        let mut client = Client::new(Limits::default(), BackoffConfig::default());
        assert_eq!(
            client.handle_response(status, ct),
            verdict,
            "{status} {ct:?}"
        );
        assert_eq!(client.state(), ReadyState::Closed);
        assert_eq!(
            client.handle_disconnect(t0),
            None,
            "no reconnect after {verdict:?}"
        );
        assert_eq!(client.poll_timeout(), None);
        client.handle_timeout(t0 + Duration::from_secs(3600));
        assert_ne!(client.state(), ReadyState::Connecting);
    }
    // WPT format-mime-trailing-semicolon and format-mime-valid-bogus: streams.
    for ct in [&b"text/event-stream;"[..], b"text/event-stream;+bogus"] {
        assert_eq!(
            ResponseVerdict::judge(200, Some(ct)),
            ResponseVerdict::Stream
        );
    }
}

#[test]
fn close_stops_for_good() {
    let t0 = t0();
    let mut client = Client::new(Limits::default(), BackoffConfig::default());
    client.handle_response(200, Some(b"text/event-stream"));
    client.close();
    assert_eq!(client.state(), ReadyState::Closed);
    assert_eq!(client.handle_disconnect(t0), None);
    // A late response after close does not reopen.
    client.handle_response(200, Some(b"text/event-stream"));
    assert_eq!(client.state(), ReadyState::Closed);
}

#[test]
fn seeded_timeline_is_reproducible_and_jittered() {
    let run = |seed| {
        let t0 = t0();
        let mut client = Client::new(Limits::default(), BackoffConfig::default())
            .with_random(Box::new(Seeded(seed)));
        let mut now = t0;
        let mut delays = Vec::new();
        for _ in 0..10 {
            let at = client.handle_disconnect(now).unwrap();
            delays.push(at - now);
            now = at;
            client.handle_timeout(now);
            assert_eq!(client.state(), ReadyState::Connecting);
        }
        delays
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
    // Jitter spreads clients: over many seeds, first delays are not all equal.
    let firsts: std::collections::BTreeSet<Duration> = (1..50).map(|s| run(s)[0]).collect();
    assert!(firsts.len() > 40);
}

/// Lends the items of `body` to `client`, copying each.
fn deliver_lent(client: &mut Client, body: &[u8]) -> Vec<Item> {
    let mut feed = client.feed_lent(body);
    let mut items = Vec::new();
    while let Some(item) = feed.next_item() {
        items.push(item.expect("no limit error").to_item());
    }
    items
}

#[test]
fn lent_items_are_noted_as_handed_over_ones_are() {
    // §9.2.6 retry sets the reconnection time; an event resets the backoff,
    // a comment does not — the same through feed_lent as through feed.
    let t0 = t0();
    let mut cfg = BackoffConfig::default();
    (cfg.jitter_min, cfg.jitter_max) = (1.0, 1.0);
    let mut client = Client::new(Limits::default(), cfg);
    let mut now = t0;
    for _ in 0..2 {
        now = client.handle_disconnect(now).unwrap();
        client.handle_timeout(now);
    }
    client.handle_response(200, Some(b"text/event-stream"));
    assert_eq!(deliver_lent(&mut client, b": only a comment\n\n"), []);
    let at = client.handle_disconnect(now).unwrap();
    assert_eq!(at - now, ms(2000), "a comment is no delivery");
    now = at;
    client.handle_timeout(now);
    client.handle_response(200, Some(b"text/event-stream"));
    let items = deliver_lent(&mut client, b"retry: 700\nid: 9\ndata: x\n\n");
    assert_eq!(items.len(), 2);
    assert_eq!(client.server_retry(), Some(ms(700)));
    assert_eq!(client.last_event_id(), "9");
    let at = client.handle_disconnect(now).unwrap();
    assert_eq!(
        at - now,
        ms(700),
        "delivered: back to the (server's) base delay"
    );
}
