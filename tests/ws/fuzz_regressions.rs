//! Findings of the fuzz targets in fuzz/ (and of writing their invariants),
//! each as a test through the public API. A finding that is not fixed yet is
//! `#[ignore = "finding: ..."]` (and tolerated by the targets through
//! `fuzz/src/lib.rs`'s `open_findings`); F1-F4 are fixed.
#![cfg(all(feature = "sse", feature = "ws"))]

use std::time::{Duration, Instant};

use pushcodec::sse;
use pushcodec::ws::{Config, Connection, SendError};

/// F1 (ws_connection_*): `send_ping` and `send_pong` queue frames whatever
/// `Config::max_outbound_buffer` says, so a caller that pings faster than
/// the transport drains grows the outbound queue without bound. Data sends
/// are refused with `SendError::Backpressure` at the mark; control sends
/// should be too (or the limit documented as not covering them).
#[test]
fn f1_pings_respect_max_outbound_buffer() {
    let mut config = Config::default();
    config.max_outbound_buffer = 100;
    let mut conn = Connection::server(config);
    let mut refused = false;
    for _ in 0..100 {
        match conn.send_ping(&[0; 125]) {
            Ok(()) => {}
            Err(SendError::Backpressure { .. }) => {
                refused = true;
                break;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    // One 127-byte frame may cross the mark, as a data send may.
    assert!(
        refused,
        "100 pings queued: {} bytes",
        conn.buffered_amount()
    );
    assert!(conn.buffered_amount() <= 100 + 127);
}

/// F2 (ws_connection_server, ws_connection_client): with
/// `keepalive_interval = Some(Duration::ZERO)` and no pong deadline, the
/// next deadline after `handle_timeout(now)` is `now` again, so the
/// documented drive loop ("call `handle_timeout` when `poll_timeout`'s
/// instant arrives") never settles and queues an empty ping on every turn.
/// Fuzz input: `keepalive_ms: Some(0), pong_timeout_ms: None`, one
/// `Advance(54)`.
#[test]
fn f2_zero_keepalive_interval_settles() {
    let mut config = Config::default();
    config.keepalive_interval = Some(Duration::ZERO);
    config.pong_timeout = None;
    let mut conn = Connection::server(config);
    let t0 = Instant::now();
    conn.handle_timeout(t0);
    let now = t0 + Duration::from_millis(54);
    let mut rounds = 0;
    while let Some(at) = conn.poll_timeout() {
        if at > now {
            break;
        }
        conn.handle_timeout(now);
        rounds += 1;
        assert!(
            rounds <= 8,
            "still due after {rounds} rounds; {} bytes of pings queued",
            conn.buffered_amount()
        );
    }
}

/// F3 (sse_decoder): `Decoder::buffered_len` is documented to stay within
/// `max_event_data + 4 * max_line_len + 2`, but the limits count raw bytes
/// and ids and event types are stored after U+FFFD replacement, which
/// turns each invalid byte into 3 bytes; the id is also counted twice (id
/// buffer and last event id).
#[test]
fn f3_buffered_len_bound_holds_for_invalid_utf8() {
    let limits = sse::Limits::default().max_line_len(16).max_event_data(16);
    // Fixed by counting U+FFFD growth in the documented bound.
    let bound = limits.max_buffered();
    let mut dec = sse::Decoder::new(limits);
    // Lines of exactly 16 bytes.
    dec.feed(b"id:\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\n\n");
    dec.feed(b"event:\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\n");
    dec.feed(b"id:\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\n");
    dec.feed(b"event:");
    dec.feed(&[0xff; 10]);
    assert!(
        dec.buffered_len() <= bound,
        "buffered_len {} > {bound}",
        dec.buffered_len()
    );
}

/// F4 (ws_connection_server): a keepalive ping sent before the peer's
/// Close was polled leaves its pong deadline armed after the close
/// handshake, and when it passes `poll_event` returns
/// `Err(PongTimeout)` after it already returned `Event::Close` (whose
/// documentation says nothing more will be received). A completed close
/// handshake should stop the keepalive and pong timers.
/// Fuzz input (minimized): server, keepalive 62465 ms, pong timeout
/// 56065 ms, no close timeout; actions `ReadFrame(Close, no payload)`,
/// `WakeUp`, `WakeUp`, `PollEvents`, `WakeUp`.
#[test]
fn f4_no_pong_timeout_after_close_handshake() {
    use pushcodec::ws::Event;
    let secs = Duration::from_secs;
    let mut config = Config::default();
    config.keepalive_interval = Some(secs(20));
    config.pong_timeout = Some(secs(20));
    config.close_timeout = None;
    let mut server = Connection::server(config);
    let t0 = Instant::now();
    // A masked Close without payload arrives...
    server.handle_read(&[0x88, 0x80, 0x37, 0xfa, 0x21, 0x3d]);
    server.handle_timeout(t0);
    // ...and the keepalive ping goes out before the application polls it.
    server.handle_timeout(t0 + secs(20));
    assert_eq!(server.poll_event(), Ok(Some(Event::Close(None))));
    while server.poll_transmit().is_some() {}
    assert!(server.should_close_transport());
    server.handle_timeout(t0 + secs(40));
    assert_eq!(server.poll_event(), Ok(None), "an error after Event::Close");
}
