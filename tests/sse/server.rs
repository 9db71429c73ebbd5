//! Server-side pieces: the response head, reading `Last-Event-ID` from a
//! request head (WHATWG HTML §9.2.4, RFC 9112), heartbeat timing, and an
//! in-memory resume built only from pushcodec's pieces.

#[allow(unused_imports)]
use crate::clock::*;

use std::time::Duration;

use pushcodec::http1::HeadError;
use pushcodec::sse::{
    BackoffConfig, Client, EventRef, EventStreamRequest, Heartbeat, History, Item, Limits, Replay,
    RequestError, RequestLimits, encode_comment, encode_response_head, parse_request,
};

fn limits(bytes: usize, headers: usize) -> RequestLimits {
    let mut limits = RequestLimits::default();
    limits.max_head_bytes = bytes;
    limits.max_headers = headers;
    limits
}

#[test]
fn response_head_streams_through_proxies() {
    let mut out = Vec::new();
    encode_response_head(&mut out);
    assert_eq!(
        out,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
          X-Accel-Buffering: no\r\n\r\n"
    );
    let lower = String::from_utf8(out).unwrap().to_ascii_lowercase();
    assert!(!lower.contains("content-length"));
}

/// Parses `input` whole and fed in growing prefixes at every split point:
/// every proper prefix is incomplete (or the same error), and the full
/// input gives the same answer.
fn parse_all_ways(
    input: &[u8],
    limits: &RequestLimits,
) -> Result<Option<EventStreamRequest>, RequestError> {
    let whole = parse_request(input, limits);
    for end in 0..input.len() {
        let partial = parse_request(&input[..end], limits);
        match (&partial, &whole) {
            (Ok(None), _) => {}
            (Err(e), Err(w)) if e == w => {}
            // A complete head can end before the input does (a body follows).
            (Ok(Some(p)), Ok(Some(w))) if p == w => {}
            _ => panic!("prefix {end}: {partial:?}, whole: {whole:?}"),
        }
    }
    whole
}

fn id_of(req: &EventStreamRequest) -> Option<&str> {
    req.last_event_id.as_ref().map(|id| id.as_str())
}

#[test]
fn last_event_id_from_request_heads() {
    let limits = RequestLimits::default();
    let cases: [(&[u8], Option<&str>); 6] = [
        (
            b"GET /events HTTP/1.1\r\nHost: a\r\nAccept: text/event-stream\r\n\r\n",
            None,
        ),
        (
            b"GET /events HTTP/1.1\r\nHost: a\r\nLast-Event-ID: 42\r\n\r\n",
            Some("42"),
        ),
        // Field names are case-insensitive (RFC 9110 §5.1).
        (b"GET / HTTP/1.1\r\nlast-event-id: abc\r\n\r\n", Some("abc")),
        // Optional whitespace is not part of the value (RFC 9110 §5.5).
        (
            b"GET / HTTP/1.1\r\nLast-Event-ID: \t x y \t\r\n\r\n",
            Some("x y"),
        ),
        // An empty value is no id.
        (b"GET / HTTP/1.1\r\nLast-Event-ID:\r\n\r\n", None),
        // Non-ASCII ids arrive as UTF-8.
        (
            "GET / HTTP/1.1\r\nLast-Event-ID: é★\r\n\r\n".as_bytes(),
            Some("é★"),
        ),
    ];
    for (input, want) in cases {
        let req = parse_all_ways(input, &limits).unwrap().expect("complete");
        assert_eq!(id_of(&req), want, "{:?}", String::from_utf8_lossy(input));
        assert_eq!(req.method, "GET");
        assert_eq!(req.head_len, input.len());
    }
}

#[test]
fn bytes_after_the_head_are_left_alone() {
    let input = b"GET /e?x=1 HTTP/1.1\r\nLast-Event-ID: 7\r\n\r\nEXTRA";
    let req = parse_request(input, &RequestLimits::default())
        .unwrap()
        .unwrap();
    assert_eq!(req.path, "/e?x=1");
    assert_eq!(&input[req.head_len..], b"EXTRA");
}

#[test]
fn request_errors_name_the_rule_and_status() {
    let small = limits(64, 2);
    let long = format!("GET / HTTP/1.1\r\nX-Pad: {}\r\n\r\n", "p".repeat(100));
    let err = parse_all_ways(long.as_bytes(), &small).unwrap_err();
    assert_eq!(err, RequestError::Head(HeadError::TooLarge { limit: 64 }));
    assert_eq!(err.status(), 431);
    assert!(err.to_string().contains("max_head_bytes"));

    let many = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    let err = parse_request(many, &small).unwrap_err();
    assert_eq!(
        err,
        RequestError::Head(HeadError::TooManyHeaders { limit: 2 })
    );
    assert_eq!(err.status(), 431);

    let dup = b"GET / HTTP/1.1\r\nLast-Event-ID: 1\r\nLast-Event-ID: 2\r\n\r\n";
    let err = parse_all_ways(dup, &RequestLimits::default()).unwrap_err();
    assert_eq!(err, RequestError::DuplicateLastEventId);
    assert_eq!(err.status(), 400);

    let bad = b"GET / HTTP/1.1\r\nBad Name: 1\r\n\r\n";
    let err = parse_request(bad, &RequestLimits::default()).unwrap_err();
    assert!(
        matches!(err, RequestError::Head(HeadError::Malformed { .. })),
        "{err:?}"
    );
    assert_eq!(err.status(), 400);
}

#[test]
fn arbitrary_garbage_never_panics() {
    let limits = limits(256, 4);
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..2000 {
        let mut buf = Vec::new();
        for _ in 0..(x % 300) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let b = b"GET / HTTP/1.1\r\n: Last-Event-ID\x00\xFF"[(x % 33) as usize];
            buf.push(b);
        }
        let _ = parse_request(&buf, &limits);
    }
}

#[test]
fn heartbeat_timeline() {
    let t0 = t0();
    let s = Duration::from_secs;
    let mut hb = Heartbeat::new(t0);
    assert_eq!(hb.interval(), s(15));
    // Events at 5 s and 12 s push the heartbeat back; quiet after that.
    let mut beats = Vec::new();
    let sends = [s(5), s(12)];
    let mut now = t0;
    for tick in 0..60 {
        now = t0 + s(tick);
        if sends.contains(&(now - t0)) {
            hb.handle_output(now);
        }
        hb.handle_timeout(now);
        while let Some(beat) = hb.poll_transmit() {
            assert_eq!(&beat[..], b":\n", "a comment line (§9.2.6)");
            beats.push((now - t0).as_secs());
        }
    }
    assert_eq!(beats, [27, 42, 57]);
    assert_eq!(hb.poll_timeout(), Some(now - s(2) + s(15)));

    let mut custom = Heartbeat::with_interval(t0, Duration::from_millis(250));
    custom.handle_timeout(t0 + Duration::from_millis(249));
    assert_eq!(custom.poll_transmit(), None);
    custom.handle_timeout(t0 + Duration::from_millis(250));
    // Output after the heartbeat fell due and before it was taken makes it moot.
    custom.handle_output(t0 + Duration::from_millis(251));
    assert_eq!(custom.poll_transmit(), None);
    assert_eq!(custom.poll_timeout(), Some(t0 + Duration::from_millis(501)));
}

/// A server built only from pushcodec's pieces, driven in memory: a client
/// gets part of a stream, the connection drops mid-event, the client
/// reconnects with Last-Event-ID and gets exactly the missed events.
#[test]
fn resume_replays_exactly_the_missed_events() {
    let t0 = t0();
    let mut history = History::new(16, 64 * 1024);
    let mut wire = Vec::new();
    encode_response_head(&mut wire);
    let head_len = wire.len();
    encode_comment("welcome", &mut wire);
    let ids: Vec<String> = (1..=10).map(|n| format!("ev-{n}")).collect();
    let mut cut = 0;
    for (n, id) in ids.iter().enumerate() {
        let data = format!("payload {n}\nline two");
        let bytes = history.push_event(&EventRef::new(&data).id(id)).unwrap();
        wire.extend_from_slice(&bytes);
        if n == 3 {
            // The connection will drop in the middle of event 5.
            cut = wire.len() + bytes.len() / 2;
        }
    }

    let mut client = Client::new(Limits::default(), BackoffConfig::default());
    let body = &wire[head_len..cut];
    assert_eq!(
        client.handle_response(200, Some(b"text/event-stream")),
        pushcodec::sse::ResponseVerdict::Stream
    );
    let mut got = Vec::new();
    for chunk in body.chunks(5) {
        client.feed(chunk);
        while let Some(item) = client.next_item() {
            if let Item::Event(ev) = item.unwrap() {
                got.push(ev.id().to_owned());
            }
        }
    }
    assert_eq!(got, &ids[..4]);
    let at = client.handle_disconnect(t0).unwrap();
    client.handle_timeout(at);
    assert_eq!(client.state(), pushcodec::sse::ReadyState::Connecting);

    // The reconnect request, as raw HTTP, read by the server.
    let mut request = b"GET /events HTTP/1.1\r\nHost: test\r\n".to_vec();
    client.encode_request_headers(&mut request);
    request.extend_from_slice(b"\r\n");
    let req = parse_request(&request, &RequestLimits::default())
        .unwrap()
        .unwrap();
    let last = req.last_event_id.expect("the client sends its last id");
    assert_eq!(last, "ev-4");
    let Replay::Events(missed) = history.replay_after(last.as_str()) else {
        panic!("ev-4 is in the history")
    };
    let mut second = Vec::new();
    for bytes in missed {
        second.extend_from_slice(bytes);
    }
    client.handle_response(200, Some(b"text/event-stream"));
    client.feed(&second);
    while let Some(item) = client.next_item() {
        if let Item::Event(ev) = item.unwrap() {
            got.push(ev.id().to_owned());
        }
    }
    // No gap, no duplicate.
    assert_eq!(got, ids);
}

#[cfg(feature = "http")]
#[test]
fn http_types_follow_the_same_rules() {
    use pushcodec::sse::{ResponseVerdict, last_event_id_from_headers, response_builder};

    let mut headers = http::HeaderMap::new();
    assert_eq!(last_event_id_from_headers(&headers), Ok(None));
    headers.insert("Last-Event-ID", http::HeaderValue::from_static(""));
    assert_eq!(last_event_id_from_headers(&headers), Ok(None));
    headers.insert("Last-Event-ID", http::HeaderValue::from_static("ev-9"));
    let id = last_event_id_from_headers(&headers).unwrap().unwrap();
    assert_eq!(id, "ev-9");
    headers.append("last-event-id", http::HeaderValue::from_static("ev-10"));
    assert_eq!(
        last_event_id_from_headers(&headers),
        Err(RequestError::DuplicateLastEventId)
    );

    let res = response_builder().body(()).unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("content-length").is_none());
    assert_eq!(ResponseVerdict::of_http(&res), ResponseVerdict::Stream);
    let no = http::Response::builder().status(204).body(()).unwrap();
    assert_eq!(ResponseVerdict::of_http(&no), ResponseVerdict::NoContent);
}
