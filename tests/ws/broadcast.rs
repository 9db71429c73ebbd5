//! Encode-once broadcast (issue 8): one message prepared once and queued
//! on many connections. Checks the exact bytes each connection would write,
//! that they are the same shared buffer (no per-connection copy), and that
//! a slow connection among them is handled by its policy without touching
//! the others.
#![cfg(all(feature = "sse", feature = "ws"))]

use crate::common::client_frame;
#[allow(unused_imports)]
use crate::common::*;
use bytes::Bytes;
use pushcodec::sse::{self, EventRef, Outbound, PreparedEvent, Push};
use pushcodec::ws::{
    CloseCode, Config, Connection, Event, PreparedMessage, SendError, SlowConsumer,
};

const N: usize = 100;

fn drain(conn: &mut Connection) -> Vec<Bytes> {
    std::iter::from_fn(|| conn.poll_transmit()).collect()
}

fn servers(n: usize, config: &Config) -> Vec<Connection> {
    (0..n).map(|_| Connection::server(config.clone())).collect()
}

/// RFC 6455 §5.2: FIN + opcode, then the 7-bit, 16-bit or 64-bit length,
/// no mask bit for a server.
fn expected_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => f.push(u8::try_from(n).unwrap()),
        n if n <= 0xFFFF => {
            f.push(126);
            f.extend_from_slice(&u16::try_from(n).unwrap().to_be_bytes());
        }
        n => {
            f.push(127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(payload);
    f
}

#[test]
fn ws_every_connection_writes_the_same_shared_frame() {
    // Lengths on each side of the 7/16/64-bit length encodings (RFC 6455 §5.2).
    for len in [0, 5, 125, 126, 65_535, 65_536] {
        let text = "x".repeat(len);
        let message = PreparedMessage::text(text.clone());
        let expected = expected_frame(0x1, text.as_bytes());
        assert_eq!(message.wire_bytes()[..], expected[..], "len {len}");
        let mut conns = servers(N, &Config::default());
        for conn in &mut conns {
            conn.send_prepared(&message).unwrap();
            assert_eq!(conn.buffered_amount(), expected.len());
        }
        for conn in &mut conns {
            let out = drain(conn);
            assert_eq!(out.len(), 1, "one write per connection");
            assert_eq!(out[0][..], expected[..]);
            // The very same buffer: a reference, not a copy.
            assert_eq!(out[0].as_ptr(), message.wire_bytes().as_ptr());
            assert_eq!(conn.buffered_amount(), 0);
        }
    }
}

#[test]
fn ws_binary_broadcast_and_what_a_client_reads() {
    let payload: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let message = PreparedMessage::binary(&payload);
    let mut conns = servers(N, &Config::default());
    for conn in &mut conns {
        conn.send_prepared(&message).unwrap();
    }
    let expected = expected_frame(0x2, &payload);
    for conn in &mut conns {
        let wire: Vec<u8> = drain(conn).concat();
        assert_eq!(wire, expected);
        let mut client = Connection::client(Config::default());
        client.handle_read(&wire);
        assert_eq!(
            client.poll_event().unwrap(),
            Some(Event::Binary(Bytes::from(payload.clone())))
        );
    }
}

#[test]
fn ws_broadcast_keeps_order_with_each_connections_own_frames() {
    let message = PreparedMessage::text("news");
    let mut conns = servers(3, &Config::default());
    // Connection 1 owes a pong (RFC 6455 §5.5.2), connection 2 sent its own
    // message first; connection 0 has nothing else.
    conns[1].handle_read(&client_frame(true, 0x9, b"p"));
    assert_eq!(
        conns[1].poll_event().unwrap(),
        Some(Event::Ping(Bytes::from_static(b"p")))
    );
    conns[2].send_text("mine").unwrap();
    for conn in &mut conns {
        conn.send_prepared(&message).unwrap();
        conn.send_text("after").unwrap();
    }
    let news = expected_frame(0x1, b"news");
    let after = expected_frame(0x1, b"after");
    let expected = [
        [news.clone(), after.clone()].concat(),
        [expected_frame(0xA, b"p"), news.clone(), after.clone()].concat(),
        [expected_frame(0x1, b"mine"), news, after].concat(),
    ];
    for (conn, expected) in conns.iter_mut().zip(expected) {
        let writes = drain(conn);
        assert!(
            writes
                .iter()
                .any(|w| w.as_ptr() == message.wire_bytes().as_ptr())
        );
        assert_eq!(writes.concat(), expected);
    }
}

#[test]
fn ws_slow_connection_refused_others_unaffected() {
    let mut config = Config::default();
    config.max_outbound_buffer = 20;
    let message = PreparedMessage::text("0123456789"); // 12-byte frame
    let mut conns = servers(4, &config);
    // Round 1 crosses the mark on every connection (the crossing message
    // is accepted whole); only connection 0 drains.
    for conn in &mut conns {
        conn.send_prepared(&message).unwrap();
        conn.send_prepared(&message).unwrap();
    }
    let _ = drain(&mut conns[0]);
    for (i, conn) in conns.iter_mut().enumerate() {
        let result = conn.send_prepared(&message);
        if i == 0 {
            assert_eq!(result, Ok(()));
        } else {
            assert_eq!(
                result,
                Err(SendError::Backpressure {
                    buffered: 24,
                    limit: 20
                })
            );
            assert!(conn.is_backpressured());
        }
    }
    // Refused means not queued: each writes exactly what was accepted.
    let frame = message.wire_bytes().to_vec();
    assert_eq!(drain(&mut conns[0]).concat(), frame);
    for conn in &mut conns[1..] {
        assert_eq!(
            drain(conn).concat(),
            [frame.clone(), frame.clone()].concat()
        );
        assert!(!conn.is_backpressured());
        assert!(!conn.should_close_transport());
    }
}

#[test]
fn ws_slow_connection_closed_with_1013() {
    let mut config = Config::default();
    config.max_outbound_buffer = 20;
    config.slow_consumer = SlowConsumer::Close(CloseCode::TRY_AGAIN_LATER);
    let message = PreparedMessage::text("0123456789");
    let mut fast = Connection::server(config.clone());
    let mut slow = Connection::server(config);
    for _ in 0..2 {
        fast.send_prepared(&message).unwrap();
        slow.send_prepared(&message).unwrap();
    }
    let fast_wire = drain(&mut fast).concat();
    fast.send_prepared(&message).unwrap();
    assert_eq!(
        slow.send_prepared(&message),
        Err(SendError::SlowConsumer {
            buffered: 24,
            limit: 20,
            code: CloseCode::TRY_AGAIN_LATER,
            discarded: 24,
        })
    );
    // RFC 6455 §5.5.1: the Close carries the code (1013 = 0x03F5) and a
    // reason. The two frames the client never read are dropped (and
    // counted) so that the Close is the next thing written.
    let close = expected_frame(0x8, b"\x03\xF5slow consumer");
    let frame = message.wire_bytes().to_vec();
    assert!(!slow.should_close_transport(), "the Close goes out first");
    assert_eq!(drain(&mut slow).concat(), close);
    assert!(slow.should_close_transport(), "then the transport");
    assert_eq!(slow.send_prepared(&message), Err(SendError::Closed));
    assert_eq!(
        [fast_wire, drain(&mut fast).concat()].concat(),
        [frame.clone(), frame.clone(), frame].concat()
    );
    assert!(!fast.should_close_transport());
}

#[test]
fn sse_every_queue_writes_the_same_shared_event() {
    let event =
        PreparedEvent::new(&EventRef::new("line 1\nline 2").event_type("news").id("9")).unwrap();
    let expected = b"id: 9\nevent: news\ndata: line 1\ndata: line 2\n\n";
    assert_eq!(event.bytes()[..], expected[..]);
    let mut queues: Vec<Outbound> = (0..N)
        .map(|_| Outbound::new(1 << 16, sse::SlowConsumer::Resume))
        .collect();
    for q in &mut queues {
        assert_eq!(q.push_event(&event), Push::Queued);
        assert_eq!(q.queued_bytes(), expected.len());
    }
    for q in &mut queues {
        let out = q.poll_transmit().unwrap();
        assert_eq!(out[..], expected[..]);
        assert_eq!(out.as_ptr(), event.bytes().as_ptr());
        assert_eq!(q.poll_transmit(), None);
        assert_eq!(q.last_event_id().map(|id| id.as_str()), Some("9"));
    }
}

#[test]
fn sse_slow_queue_resumes_others_unaffected() {
    let events: Vec<_> = (1..=4)
        .map(|i| PreparedEvent::new(&EventRef::new("0123456789").id(&i.to_string())).unwrap())
        .collect();
    let mut queues: Vec<Outbound> = (0..3)
        .map(|_| Outbound::new(30, sse::SlowConsumer::Resume))
        .collect();
    let mut wire = vec![Vec::new(); 3];
    let mut resumed = None;
    for (n, event) in events.iter().enumerate() {
        for (i, q) in queues.iter_mut().enumerate() {
            match q.push_event(event) {
                Push::Queued | Push::OverMark { .. } => {}
                Push::Resume(r) => {
                    assert_eq!(i, 2);
                    resumed = Some((n, r));
                }
                other => panic!("unexpected {other:?}"),
            }
            // Connection 2 reads only the first event.
            if i < 2 || n == 0 {
                while let Some(b) = q.poll_transmit() {
                    wire[i].extend_from_slice(&b);
                }
            }
        }
    }
    let all: Vec<u8> = events.iter().flat_map(|e| e.bytes().to_vec()).collect();
    assert_eq!(wire[0], all);
    assert_eq!(wire[1], all);
    assert_eq!(wire[2], events[0].bytes().to_vec());
    // Events are 24 bytes: e2 and e3 queue (48 >= 30), e4 ends the queue.
    let (at, resume) = resumed.expect("connection 2 resumes");
    assert_eq!(at, 3);
    assert_eq!(resume.last_event_id.as_deref(), Some("1"));
    assert_eq!(resume.dropped, events[1..].to_vec());
}
