//! Keepalive, pong deadline and close timeout, on a fake clock.
#![cfg(feature = "ws")]

#[allow(unused_imports)]
use crate::common::*;
use std::time::Duration;

use crate::common::client_frame;
use pushcodec::ws::{CloseCode, Config, Connection, Event, Violation};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn drain(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    out
}

#[test]
fn keepalive_ping_after_silence_and_dead_peer_after_pong_timeout() {
    let t0 = t0();
    let mut server = Connection::server(Config::default());
    server.handle_timeout(t0);
    assert_eq!(server.poll_timeout(), Some(t0 + secs(20)));

    // Traffic at 10 s moves the ping to 30 s.
    server.handle_read(&client_frame(true, 0x1, b"hi"));
    server.handle_timeout(t0 + secs(10));
    assert_eq!(server.poll_event().unwrap(), Some(Event::Text("hi".into())));
    assert_eq!(server.poll_timeout(), Some(t0 + secs(30)));

    server.handle_timeout(t0 + secs(30));
    assert_eq!(drain(&mut server), [0x89, 0x00], "an empty ping");
    assert_eq!(server.poll_timeout(), Some(t0 + secs(50)));

    server.handle_timeout(t0 + secs(50));
    let err = server.poll_event().unwrap_err();
    assert_eq!(
        err.violation(),
        &Violation::PongTimeout { timeout: secs(20) }
    );
    assert!(server.should_close_transport());
    assert!(
        drain(&mut server).is_empty(),
        "no Close into a dead connection"
    );
    assert_eq!(server.poll_timeout(), None);
    assert_eq!(server.poll_event(), Ok(None));
}

#[test]
fn a_pong_keeps_the_connection_alive() {
    let t0 = t0();
    let mut server = Connection::server(Config::default());
    server.handle_timeout(t0);
    server.handle_timeout(t0 + secs(20));
    assert_eq!(drain(&mut server), [0x89, 0x00]);
    server.handle_read(&client_frame(true, 0xA, b""));
    server.handle_timeout(t0 + secs(21));
    assert!(matches!(server.poll_event(), Ok(Some(Event::Pong(_)))));
    assert_eq!(server.poll_timeout(), Some(t0 + secs(41)));
}

#[test]
fn server_gives_up_on_a_close_handshake_the_client_never_finishes() {
    let t0 = t0();
    let mut server = Connection::server(Config::default());
    server.handle_timeout(t0);
    server.send_close(CloseCode::GOING_AWAY, "restart").unwrap();
    drain(&mut server);
    assert_eq!(server.poll_timeout(), Some(t0), "arm the close timer now");
    server.handle_timeout(t0 + secs(1));
    assert_eq!(server.poll_timeout(), Some(t0 + secs(11)));
    server.handle_timeout(t0 + secs(11));
    assert_eq!(
        server.poll_event().unwrap_err().violation(),
        &Violation::CloseTimeout { timeout: secs(10) }
    );
    assert!(server.should_close_transport());
}

#[test]
fn client_waits_for_the_server_to_close_tcp_then_gives_up() {
    let t0 = t0();
    let mut client = Connection::client(Config::default());
    client.handle_timeout(t0);
    client.send_close(CloseCode::NORMAL, "").unwrap();
    drain(&mut client);
    client.handle_timeout(t0);
    client.handle_read(&[0x88, 0x02, 0x03, 0xE8]); // the server's answering Close
    client.handle_timeout(t0 + secs(1));
    assert!(matches!(client.poll_event(), Ok(Some(Event::Close(_)))));
    assert!(
        !client.should_close_transport(),
        "the server closes TCP first"
    );
    client.handle_timeout(t0 + secs(10));
    assert!(client.poll_event().is_err());
    assert!(client.should_close_transport());
}

#[test]
fn timers_can_be_turned_off() {
    let mut config = Config::default();
    config.keepalive_interval = None;
    config.close_timeout = None;
    let mut server = Connection::server(config);
    server.handle_timeout(t0());
    assert_eq!(server.poll_timeout(), None);
}

#[test]
fn time_never_goes_backwards() {
    let t0 = t0();
    let mut server = Connection::server(Config::default());
    server.handle_timeout(t0 + secs(5));
    server.handle_timeout(t0); // a clock that steps back changes nothing
    assert_eq!(server.poll_timeout(), Some(t0 + secs(25)));
}

#[test]
fn without_a_pong_deadline_pings_repeat_each_interval() {
    let t0 = t0();
    let mut config = Config::default();
    config.pong_timeout = None;
    let mut server = Connection::server(config);
    server.handle_timeout(t0);
    server.handle_timeout(t0 + secs(20));
    assert_eq!(drain(&mut server), [0x89, 0x00]);
    assert_eq!(server.poll_timeout(), Some(t0 + secs(40)));
    server.handle_timeout(t0 + secs(40));
    assert_eq!(drain(&mut server), [0x89, 0x00]);
    assert_eq!(
        server.poll_event(),
        Ok(None),
        "no timeout without a deadline"
    );
}
