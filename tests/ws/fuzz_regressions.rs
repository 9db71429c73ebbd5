//! Findings of the fuzz targets in fuzz/ (and of writing their invariants),
//! each as a test through the public API. A finding that is not fixed yet is
//! `#[ignore = "finding: ..."]` (and tolerated by the targets through
//! `fuzz/src/lib.rs`'s `open_findings`); F1-F5 are fixed.
#![cfg(all(feature = "sse", feature = "ws"))]

#[allow(unused_imports)]
use crate::common::*;
use std::time::Duration;

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
    let t0 = t0();
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
    let limits = {
        let mut limits = sse::Limits::default();
        limits.max_line_len = 16;
        limits.max_event_data = 16;
        limits
    };
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
    let t0 = t0();
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

/// F5 (ws_connection_server, found by CI on the redesigned connection):
/// after a failure with no close code (a missed pong deadline: RFC 6455
/// §7.1.7 lets the endpoint drop the transport without a Close),
/// `is_close_sent` said true though no Close frame was written. It says
/// whether our Close was queued; `state()` says `Failed`.
/// Fuzz input (minimized by hand): server, keepalive and pong timeout set,
/// a fragmented text message with a ping inside, then time passes.
#[test]
fn f5_is_close_sent_only_when_a_close_was_written() {
    use pushcodec::ws::{State, Violation};
    let secs = Duration::from_secs;
    let mut config = Config::default();
    config.keepalive_interval = Some(secs(20));
    config.pong_timeout = Some(secs(20));
    let mut server = Connection::server(config);
    let t0 = t0();
    server.handle_timeout(t0);
    server.handle_timeout(t0 + secs(20)); // the keepalive ping
    let mut written = Vec::new();
    while let Some(bytes) = server.poll_transmit() {
        written.extend_from_slice(&bytes);
    }
    assert_eq!(written[0], 0x89, "a ping went out");
    server.handle_timeout(t0 + secs(40)); // no pong came
    let error = server.poll_event().expect_err("the pong deadline passed");
    assert!(matches!(error.violation(), Violation::PongTimeout { .. }));
    assert_eq!(error.close_code(), None);
    assert_eq!(server.state(), State::Failed);
    assert!(server.poll_transmit().is_none(), "no Close is written");
    assert!(!server.is_close_sent());
    assert!(server.should_close_transport());
}
