//! The borrowed output (`pending_transmit` / `advance_transmit`) against
//! the owned one (`poll_transmit`): the same bytes in the same order under
//! any pattern of partial writes, and a frame written in part is always
//! finished, even when a slow consumer's Close discards what was queued
//! (RFC 6455 §5.2: a frame cut short corrupts the rest of the stream).
#![cfg(feature = "ws")]

use bytes::Bytes;
use proptest::prelude::*;
use pushcodec::ws::{CloseCode, Config, Connection, FrameHeader, OpCode, SendError, SlowConsumer};

#[derive(Debug, Clone)]
enum Step {
    /// A binary message of this many bytes (large ones are queued
    /// without a copy, behind their header).
    Send(usize),
    Ping(u8),
    /// Write at most this many bytes of what is pending.
    Write(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        prop_oneof![0usize..200, 4000usize..9000].prop_map(Step::Send),
        (0u8..=125).prop_map(Step::Ping),
        prop_oneof![1usize..40, 1usize..10_000].prop_map(Step::Write),
    ]
}

fn payload(len: usize, seed: usize) -> Bytes {
    (0..len).map(|i| (i * 7 + seed) as u8).collect()
}

/// Parses `wire` as whole server frames: (opcode, payload) each, and
/// whether bytes were left over (a frame cut short).
fn frames(wire: &[u8]) -> (Vec<(OpCode, Vec<u8>)>, bool) {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < wire.len() {
        let Ok(Some((header, len))) = FrameHeader::parse(&wire[pos..]) else {
            return (out, true);
        };
        let end = pos + len + header.payload_len as usize;
        if end > wire.len() {
            return (out, true);
        }
        out.push((header.opcode, wire[pos + len..end].to_vec()));
        pos = end;
    }
    (out, false)
}

/// Runs the steps, writing through the borrowed output; then drains.
fn run(steps: &[Step], config: Config) -> (Vec<u8>, Vec<Result<(), SendError>>) {
    let mut conn = Connection::server(config);
    let mut wire = Vec::new();
    let mut results = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Send(len) => results.push(conn.send_binary(payload(*len, i))),
            Step::Ping(len) => results.push(conn.send_ping(&payload(usize::from(*len), i))),
            Step::Write(n) => {
                let pending = conn.pending_transmit();
                let n = (*n).min(pending.len());
                wire.extend_from_slice(&pending[..n]);
                conn.advance_transmit(n);
            }
        }
    }
    loop {
        let pending = conn.pending_transmit();
        if pending.is_empty() {
            break;
        }
        wire.extend_from_slice(pending);
        let n = pending.len();
        conn.advance_transmit(n);
    }
    assert_eq!(conn.buffered_amount(), 0);
    (wire, results)
}

proptest! {
    #[test]
    fn partial_writes_give_the_same_bytes_as_poll_transmit(
        steps in proptest::collection::vec(step(), 0..60)
    ) {
        let (wire, _) = run(&steps, Config::default());
        let mut owned = Connection::server(Config::default());
        let mut expected = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            match step {
                Step::Send(len) => owned.send_binary(payload(*len, i)).unwrap(),
                Step::Ping(len) => owned.send_ping(&payload(usize::from(*len), i)).unwrap(),
                Step::Write(_) => {}
            }
        }
        while let Some(bytes) = owned.poll_transmit() {
            expected.extend_from_slice(&bytes);
        }
        prop_assert_eq!(wire, expected);
    }

    #[test]
    fn a_slow_consumer_close_never_cuts_a_frame_written_in_part(
        steps in proptest::collection::vec(step(), 0..60),
        limit in 1usize..20_000,
    ) {
        let mut config = Config::default();
        config.max_outbound_buffer = limit;
        config.slow_consumer = SlowConsumer::Close(CloseCode::TRY_AGAIN_LATER);
        let (wire, results) = run(&steps, config);
        let (frames, cut) = frames(&wire);
        prop_assert!(!cut, "a frame was cut short");
        let closed = results.iter().any(|r| matches!(r, Err(SendError::SlowConsumer { .. })));
        if closed {
            // The Close is the last frame written, and nothing follows it.
            prop_assert_eq!(frames.last().map(|f| f.0), Some(OpCode::Close));
            prop_assert_eq!(frames.iter().filter(|f| f.0 == OpCode::Close).count(), 1);
        }
    }
}

#[test]
fn advance_past_the_end_counts_as_all_written() {
    let mut conn = Connection::server(Config::default());
    conn.send_text("Hello").unwrap();
    assert_eq!(conn.pending_transmit(), b"\x81\x05Hello");
    conn.advance_transmit(3);
    assert_eq!(conn.pending_transmit(), b"\x05Hello"[2..].as_ref());
    conn.advance_transmit(1000);
    assert!(conn.pending_transmit().is_empty());
    assert_eq!(conn.buffered_amount(), 0);
}
