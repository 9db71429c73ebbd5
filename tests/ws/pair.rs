//! Our client against our server on a fake clock (tests/common `Pair`):
//! the keepalive, the pong deadline and the close handshake end to end.

use std::time::Duration;

use crate::common::Pair;
use pushcodec::ws::{CloseCode, Config, Event, State, Violation};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn quiet_config() -> Config {
    let mut config = Config::default();
    config.keepalive_interval = Some(secs(20));
    config.pong_timeout = Some(secs(20));
    config.close_timeout = Some(secs(10));
    config
}

#[test]
fn messages_cross_both_ways_in_order() {
    let mut pair = Pair::new(Config::default());
    pair.client.send_text("one").unwrap();
    pair.client.send_binary(vec![2u8; 70_000]).unwrap();
    pair.server.send_text("three").unwrap();
    pair.pump();
    assert_eq!(pair.server_events.len(), 2);
    assert_eq!(pair.server_events[0], Event::Text("one".into()));
    assert!(matches!(&pair.server_events[1], Event::Binary(b) if b.len() == 70_000));
    assert_eq!(pair.client_events, [Event::Text("three".into())]);
    // 70,000 bytes masked by the client: 14-byte header for 64-bit lengths.
    assert_eq!(pair.to_server, (2 + 4 + 3) + (2 + 8 + 4 + 70_000));
}

/// RFC 6455 §5.5.2/§5.5.3: an idle connection pings, the peer's automatic
/// pong keeps it alive for as long as time passes.
#[test]
fn keepalive_pings_are_answered_and_nobody_times_out() {
    let mut pair = Pair::new(quiet_config());
    pair.advance(secs(600));
    assert_eq!(pair.client_error, None);
    assert_eq!(pair.server_error, None);
    // A ping counts as traffic for the end that receives it, so the two
    // ends take turns: one ping per 20 s of silence between them.
    let pings = pair
        .client_events
        .iter()
        .chain(&pair.server_events)
        .filter(|e| matches!(e, Event::Ping(_)))
        .count();
    assert_eq!(pings, 600 / 20, "a ping every 20 s of silence");
    let pongs = pair
        .client_events
        .iter()
        .chain(&pair.server_events)
        .filter(|e| matches!(e, Event::Pong(_)))
        .count();
    assert_eq!(pongs, pings, "§5.5.2: every ping answered");
    assert_eq!(pair.client.state(), State::Open);
    assert_eq!(pair.server.state(), State::Open);
}

/// A peer that stops answering is failed when the pong deadline passes,
/// not before (keepalive 20 s, then 20 s for the pong).
#[test]
fn a_silent_peer_fails_at_the_pong_deadline() {
    let mut pair = Pair::new(quiet_config());
    pair.client_muted = true;
    pair.advance(secs(39));
    assert_eq!(pair.server_error, None, "not yet at 39 s");
    pair.advance(secs(1));
    let error = pair.server_error.clone().expect("failed at 40 s");
    assert!(
        matches!(error.violation(), Violation::PongTimeout { .. }),
        "{error}"
    );
    assert_eq!(pair.server.state(), State::Failed);
    assert!(pair.server.should_close_transport());
}

/// RFC 6455 §7.1: the close handshake completes on both ends, the reply
/// echoes code and reason, and the server closes the transport first.
#[test]
fn close_handshake_completes_and_echoes_code_and_reason() {
    let mut pair = Pair::new(quiet_config());
    pair.client
        .send_close(CloseCode::from(4000), "bye ✓")
        .unwrap();
    pair.pump();
    assert_eq!(pair.client.state(), State::Closed);
    assert_eq!(pair.server.state(), State::Closed);
    let Some(Event::Close(Some(got))) = pair.client_events.last() else {
        panic!(
            "the client got the server's Close: {:?}",
            pair.client_events
        );
    };
    assert_eq!((u16::from(got.code), got.reason.as_str()), (4000, "bye ✓"));
    assert!(
        pair.server.should_close_transport(),
        "§7.1.1: the server closes first"
    );
    assert!(
        !pair.client.should_close_transport(),
        "the client waits for it"
    );
    // Nothing times out after a clean close.
    pair.advance(secs(5));
    assert_eq!(
        (pair.client_error.clone(), pair.server_error.clone()),
        (None, None)
    );
}

/// With `auto_close_reply` off the application answers with its own code
/// and reason, after finishing what it was sending (§7.1.3).
#[test]
fn the_application_answers_a_close_itself_when_asked_to() {
    let mut config = quiet_config();
    config.auto_close_reply = false;
    let mut pair = Pair::new(config);
    pair.client.send_close(CloseCode::NORMAL, "done").unwrap();
    pair.pump();
    assert_eq!(pair.server.state(), State::CloseReceived);
    pair.server.send_text("last words").unwrap();
    pair.server
        .send_close(CloseCode::from(4001), "mine")
        .unwrap();
    pair.pump();
    assert_eq!(pair.server.state(), State::Closed);
    assert!(
        matches!(&pair.client_events[..], [Event::Text(t), Event::Close(Some(c))]
        if t.as_str() == "last words" && u16::from(c.code) == 4001 && c.reason.as_str() == "mine")
    );
}

/// A server that never answers a Close is given up on at the close
/// deadline (§7.1.1 leaves the wait to the endpoint).
#[test]
fn an_unanswered_close_times_out() {
    let mut config = quiet_config();
    config.auto_close_reply = false;
    let mut pair = Pair::new(config);
    pair.client.send_close(CloseCode::NORMAL, "").unwrap();
    pair.pump();
    pair.advance(secs(9));
    assert_eq!(pair.client_error, None);
    pair.advance(secs(1));
    let error = pair.client_error.clone().expect("close timeout at 10 s");
    assert!(
        matches!(error.violation(), Violation::CloseTimeout { .. }),
        "{error}"
    );
}
