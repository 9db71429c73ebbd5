//! The connection state machine against RFC 6455 rules and the Autobahn
//! testsuite's cases, as deterministic byte scripts under every chunking.
#![cfg(feature = "ws")]

#[allow(unused_imports)]
use crate::common::*;
use crate::common::{client_frame, frame, run, run_all_chunkings, run_chunks};
use bytes::Bytes;
use pushcodec::ws::{
    CloseCode, CloseFrame, Config, Connection, Event, MessageKind, Role, SendError, Violation,
};

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CONT: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

fn server(input: &[u8]) -> crate::common::Outcome {
    run_all_chunkings(Role::Server, &Config::default(), input, true)
}

fn text(s: &str) -> Event {
    Event::Text(s.into())
}

fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

fn violation(outcome: &crate::common::Outcome) -> Violation {
    outcome.error.clone().expect("an error").violation().clone()
}

/// The close frame a server writes last, as (code, reason) — `None` if none.
fn last_close_code(written: &[u8]) -> Option<u16> {
    let mut rest = written;
    let mut last = None;
    while rest.len() >= 2 {
        let len = usize::from(rest[1] & 0x7F);
        let (hlen, plen) = match len {
            126 => (4, usize::from(u16::from_be_bytes([rest[2], rest[3]]))),
            127 => (
                10,
                u64::from_be_bytes(rest[2..10].try_into().unwrap()) as usize,
            ),
            n => (2, n),
        };
        if rest[0] & 0x0F == CLOSE {
            last = Some(if plen >= 2 {
                u16::from_be_bytes([rest[hlen], rest[hlen + 1]])
            } else {
                1005
            });
        }
        rest = &rest[hlen + plen..];
    }
    last
}

// RFC 6455 §5.7 examples.

#[test]
fn rfc6455_5_7_single_frame_unmasked_text_to_client() {
    let out = run_all_chunkings(Role::Client, &Config::default(), b"\x81\x05Hello", false);
    assert_eq!(out.events, vec![text("Hello")]);
}

#[test]
fn rfc6455_5_7_single_frame_masked_text_to_server() {
    let wire = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let out = server(&wire);
    assert_eq!(out.events, vec![text("Hello")]);
    assert_eq!(out.written, b"\x81\x05Hello");
}

#[test]
fn rfc6455_5_7_fragmented_unmasked_text() {
    let wire = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
    let out = run_all_chunkings(Role::Client, &Config::default(), &wire, false);
    assert_eq!(out.events, vec![text("Hello")]);
}

#[test]
fn rfc6455_5_7_ping_and_pong() {
    let out = run_all_chunkings(Role::Client, &Config::default(), b"\x89\x05Hello", false);
    assert_eq!(out.events, vec![Event::Ping(Bytes::from_static(b"Hello"))]);
    // The client answers with a masked pong carrying the same payload.
    assert_eq!(out.written[0], 0x8A);
    assert_eq!(out.written[1], 0x85);
    let key = &out.written[2..6];
    let payload: Vec<u8> = out.written[6..]
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ key[i % 4])
        .collect();
    assert_eq!(payload, b"Hello");

    let wire = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let out = server(&wire);
    assert_eq!(out.events, vec![Event::Pong(Bytes::from_static(b"Hello"))]);
    assert!(out.written.is_empty());
}

#[test]
fn rfc6455_5_7_256_byte_and_64_kib_binary_lengths() {
    let small: Vec<u8> = (0..256).map(|i| i as u8).collect();
    let mut wire = vec![0x82, 0x7E, 0x01, 0x00];
    wire.extend_from_slice(&small);
    let out = run_all_chunkings(Role::Client, &Config::default(), &wire, false);
    assert_eq!(out.events, vec![Event::Binary(small.into())]);

    let big: Vec<u8> = (0..65536).map(|i| (i % 251) as u8).collect();
    let mut wire = vec![0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
    wire.extend_from_slice(&big);
    for chop in [0, 1, 997] {
        let out = run(Role::Client, Config::default(), &wire, chop, false);
        assert_eq!(
            out.events,
            vec![Event::Binary(big.clone().into())],
            "chop {chop}"
        );
    }
}

// Autobahn 1.x: echo of every length encoding.

#[test]
fn autobahn_1_echoes_text_and_binary_of_every_length_class() {
    for len in [0usize, 125, 126, 127, 128, 65535, 65536] {
        let payload = vec![b'*'; len];
        let wire = client_frame(true, TEXT, &payload);
        let out = run(Role::Server, Config::default(), &wire, 997, true);
        assert_eq!(
            out.events,
            vec![Event::Text(
                String::from_utf8(payload.clone()).unwrap().into()
            )]
        );
        assert_eq!(out.written, frame(true, TEXT, &payload, None), "len {len}");
    }
}

// Autobahn 2.x: pings and pongs.

#[test]
fn autobahn_2_ping_payloads_are_ponged_exactly_and_in_order() {
    let mut wire = Vec::new();
    for i in 0..10u8 {
        wire.extend(client_frame(true, PING, &[i; 125][..usize::from(i) * 12]));
    }
    let out = server(&wire);
    let mut expected = Vec::new();
    for i in 0..10u8 {
        expected.extend(frame(true, PONG, &[i; 125][..usize::from(i) * 12], None));
    }
    assert_eq!(out.written, expected);
    assert_eq!(out.events.len(), 10);
}

#[test]
fn autobahn_2_5_ping_of_126_bytes_fails_with_1002_before_payload() {
    let wire = client_frame(true, PING, &[0; 126]);
    // The header alone is enough: nothing of the payload is needed.
    let out = run(Role::Server, Config::default(), &wire[..8], 0, true);
    assert_eq!(violation(&out), Violation::ControlFrameTooLong { len: 126 });
    assert_eq!(last_close_code(&out.written), Some(1002));
}

#[test]
fn autobahn_2_7_unsolicited_pong_is_ignored() {
    let out = server(&client_frame(true, PONG, b"unsolicited"));
    assert!(out.written.is_empty());
    assert!(out.error.is_none());
}

// Autobahn 3.x and 4.x: RSV bits and reserved opcodes, after a valid message.

#[test]
fn autobahn_3_and_4_earlier_message_is_echoed_before_the_failure() {
    for (bad, expected) in [
        (
            frame(true, 0x40 | TEXT, b"x", Some([1, 2, 3, 4])),
            Violation::ReservedBits { rsv: 0b100 },
        ),
        (
            frame(true, 0x70 | PING, b"", Some([1, 2, 3, 4])),
            Violation::ReservedBits { rsv: 0b111 },
        ),
        (
            client_frame(true, 0x3, b""),
            Violation::ReservedOpcode { opcode: 3 },
        ),
        (
            client_frame(true, 0xB, b""),
            Violation::ReservedOpcode { opcode: 0xB },
        ),
    ] {
        let mut wire = client_frame(true, TEXT, b"Hello");
        let bad_at = wire.len() as u64;
        wire.extend(&bad);
        wire.extend(client_frame(true, PING, b"after"));
        let out = server(&wire);
        assert_eq!(out.events, vec![text("Hello")]);
        assert_eq!(violation(&out), expected);
        assert_eq!(out.error.as_ref().unwrap().offset(), bad_at);
        // The echo goes out first, then the Close 1002; no pong for the ping after.
        let echo = frame(true, TEXT, b"Hello", None);
        assert_eq!(&out.written[..echo.len()], &echo[..]);
        assert_eq!(last_close_code(&out.written), Some(1002));
        assert!(out.close_transport);
    }
}

// Autobahn 5.x: fragmentation.

#[test]
fn autobahn_5_1_and_5_2_fragmented_control_frames_fail() {
    for opcode in [PING, PONG] {
        let mut wire = client_frame(false, opcode, b"frag");
        wire.extend(client_frame(true, CONT, b"ment"));
        assert_eq!(violation(&server(&wire)), Violation::FragmentedControlFrame);
    }
}

#[test]
fn autobahn_5_6_to_5_8_pong_goes_out_before_the_message_echo() {
    let mut wire = client_frame(false, TEXT, b"frag");
    wire.extend(client_frame(true, PING, b"ping"));
    wire.extend(client_frame(true, CONT, b"ment"));
    let out = server(&wire);
    assert_eq!(
        out.events,
        vec![Event::Ping("ping".into()), text("fragment")]
    );
    let mut expected = frame(true, PONG, b"ping", None);
    expected.extend(frame(true, TEXT, b"fragment", None));
    assert_eq!(out.written, expected);
}

#[test]
fn autobahn_5_9_to_5_17_continuation_without_message_fails() {
    for fin in [true, false] {
        let out = server(&client_frame(fin, CONT, b"orphan"));
        assert_eq!(violation(&out), Violation::UnexpectedContinuation);
        assert_eq!(last_close_code(&out.written), Some(1002));
    }
    // 5.15: after a complete fragmented message, the message is echoed first.
    let mut wire = client_frame(false, TEXT, b"frag");
    wire.extend(client_frame(true, CONT, b"ment1"));
    wire.extend(client_frame(false, CONT, b"frag"));
    let out = server(&wire);
    assert_eq!(out.events, vec![text("fragment1")]);
    assert_eq!(violation(&out), Violation::UnexpectedContinuation);
}

#[test]
fn autobahn_5_18_two_text_starts_fail() {
    let mut wire = client_frame(false, TEXT, b"frag");
    wire.extend(client_frame(true, TEXT, b"ment"));
    assert_eq!(violation(&server(&wire)), Violation::ExpectedContinuation);
}

// Autobahn 6.x: UTF-8.

#[test]
fn autobahn_6_1_empty_text_messages() {
    let mut wire = client_frame(true, TEXT, b"");
    wire.extend(client_frame(false, TEXT, b""));
    wire.extend(client_frame(false, CONT, b""));
    wire.extend(client_frame(true, CONT, b""));
    let out = server(&wire);
    assert_eq!(out.events, vec![text(""), text("")]);
}

#[test]
fn autobahn_6_2_4_code_points_split_across_one_byte_fragments() {
    let s = "κόσμε".as_bytes();
    let mut wire = Vec::new();
    for (i, b) in s.iter().enumerate() {
        let opcode = if i == 0 { TEXT } else { CONT };
        wire.extend(client_frame(i == s.len() - 1, opcode, &[*b]));
    }
    assert_eq!(server(&wire).events, vec![text("κόσμε")]);
}

#[test]
fn autobahn_6_3_invalid_utf8_fails_with_1007_at_the_offending_byte() {
    let bytes = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64";
    let out = server(&client_frame(true, TEXT, bytes));
    assert_eq!(violation(&out), Violation::InvalidUtf8);
    assert_eq!(out.error.unwrap().offset(), 6 + 12);
    assert_eq!(last_close_code(&out.written), Some(1007));
}

#[test]
fn autobahn_6_4_3_fails_inside_an_incomplete_frame() {
    // One frame announcing the whole length; only the first two of three
    // chops arrive. The invalid U+110000 must be caught now.
    let mut payload = "κόσμε".as_bytes().to_vec();
    payload.extend_from_slice(b"\xf4\x90\x80\x80");
    payload.extend_from_slice(b"edited");
    let wire = client_frame(true, TEXT, &payload);
    let first = 6 + 10;
    let out = run_chunks(
        Role::Server,
        Config::default(),
        &[&wire[..first], &wire[first..first + 4]],
        true,
    );
    assert_eq!(violation(&out), Violation::InvalidUtf8);
    assert_eq!(last_close_code(&out.written), Some(1007));
}

#[test]
fn autobahn_6_4_2_fails_on_the_fragment_that_breaks_a_carried_code_point() {
    let mut first = "κόσμε".as_bytes().to_vec();
    first.push(0xf4);
    let f1 = client_frame(false, TEXT, &first);
    let f2 = client_frame(false, CONT, &[0x90]);
    let out = run_chunks(Role::Server, Config::default(), &[&f1], true);
    assert!(out.error.is_none());
    let out = run_chunks(Role::Server, Config::default(), &[&f1, &f2], true);
    assert_eq!(violation(&out), Violation::InvalidUtf8);
}

#[test]
fn autobahn_6_6_message_ending_inside_a_code_point_fails() {
    let out = server(&client_frame(true, TEXT, b"\xce\xba\xe1"));
    assert_eq!(violation(&out), Violation::InvalidUtf8);
}

// Autobahn 7.x: the close handshake.

#[test]
fn autobahn_7_1_1_echo_then_close_echoes_code() {
    let mut wire = client_frame(true, TEXT, b"Hello");
    wire.extend(client_frame(true, CLOSE, &close_payload(1000, "")));
    let out = server(&wire);
    assert_eq!(
        out.events,
        vec![
            text("Hello"),
            Event::Close(Some(CloseFrame {
                code: CloseCode::NORMAL,
                reason: "".into()
            }))
        ]
    );
    let mut expected = frame(true, TEXT, b"Hello", None);
    expected.extend(frame(true, CLOSE, &1000u16.to_be_bytes(), None));
    assert_eq!(out.written, expected);
    assert!(
        out.close_transport,
        "the server closes TCP first (RFC 6455 §7.1.1)"
    );
}

#[test]
fn autobahn_7_1_2_to_7_1_4_nothing_after_close_is_read() {
    let mut wire = client_frame(true, CLOSE, &close_payload(1000, ""));
    wire.extend(client_frame(true, CLOSE, &close_payload(1000, "")));
    wire.extend(client_frame(true, PING, b"no pong"));
    wire.extend(client_frame(true, TEXT, b"no echo"));
    wire.extend([0xFF; 20]); // even garbage
    let out = server(&wire);
    assert_eq!(out.events.len(), 1);
    assert!(out.error.is_none());
    assert_eq!(
        out.written,
        frame(true, CLOSE, &1000u16.to_be_bytes(), None)
    );
}

#[test]
fn autobahn_7_1_5_close_inside_a_fragmented_message_is_a_normal_close() {
    let mut wire = client_frame(false, TEXT, b"frag");
    wire.extend(client_frame(true, CLOSE, &close_payload(1000, "")));
    wire.extend(client_frame(true, CONT, b"ment"));
    let out = server(&wire);
    assert!(out.error.is_none());
    assert_eq!(last_close_code(&out.written), Some(1000));
}

#[test]
fn autobahn_7_3_close_payload_rules() {
    let out = server(&client_frame(true, CLOSE, b""));
    assert_eq!(out.events, vec![Event::Close(None)]);
    assert_eq!(out.written, frame(true, CLOSE, b"", None));

    assert_eq!(
        violation(&server(&client_frame(true, CLOSE, b"\x03"))),
        Violation::TruncatedClosePayload
    );

    let reason = "x".repeat(123);
    let out = server(&client_frame(true, CLOSE, &close_payload(1000, &reason)));
    assert!(out.error.is_none());

    let reason = "x".repeat(124);
    let wire = client_frame(true, CLOSE, &close_payload(1000, &reason));
    assert_eq!(
        violation(&server(&wire)),
        Violation::ControlFrameTooLong { len: 126 }
    );
}

#[test]
fn autobahn_7_5_1_close_reason_must_be_utf8() {
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80");
    let out = server(&client_frame(true, CLOSE, &payload));
    assert_eq!(violation(&out), Violation::InvalidUtf8);
    assert_eq!(last_close_code(&out.written), Some(1007));
}

#[test]
fn autobahn_7_7_and_7_9_close_codes() {
    for code in [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
    ] {
        let out = server(&client_frame(true, CLOSE, &close_payload(code, "")));
        assert!(out.error.is_none(), "{code}");
        assert_eq!(last_close_code(&out.written), Some(code), "echoed");
    }
    for code in [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999] {
        let out = server(&client_frame(true, CLOSE, &close_payload(code, "")));
        assert_eq!(violation(&out), Violation::InvalidCloseCode { code });
        assert_eq!(last_close_code(&out.written), Some(1002), "{code}");
    }
}

// Header rules that no Autobahn case covers (RFC 6455 §5.1, §5.2), both roles.

#[test]
fn rfc6455_5_1_mask_bit_must_match_the_role() {
    let out = run(
        Role::Server,
        Config::default(),
        &frame(true, TEXT, b"hi", None),
        0,
        false,
    );
    assert_eq!(violation(&out), Violation::UnmaskedFrame);
    let out = run(
        Role::Client,
        Config::default(),
        &client_frame(true, TEXT, b"hi"),
        0,
        false,
    );
    assert_eq!(violation(&out), Violation::MaskedFrame);
}

#[test]
fn rfc6455_5_2_length_must_be_minimal_and_msb_clear() {
    for (role, wire, expected) in [
        (
            Role::Client,
            vec![0x82, 126, 0, 125],
            Violation::NonMinimalLength { len: 125 },
        ),
        (
            Role::Client,
            vec![0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF],
            Violation::NonMinimalLength { len: 65535 },
        ),
        (
            Role::Client,
            vec![0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0],
            Violation::LengthTooLong,
        ),
        (
            Role::Server,
            vec![0x82, 0xFE, 0, 5, 1, 2, 3, 4],
            Violation::NonMinimalLength { len: 5 },
        ),
    ] {
        let out = run_all_chunkings(role, &Config::default(), &wire, false);
        assert_eq!(violation(&out), expected);
    }
}

#[test]
fn limits_fail_at_the_header_before_buffering() {
    let mut config = Config::default();
    config.max_frame_size = 1000;
    config.max_message_size = 1500;
    config.max_fragments = 3;
    // A frame over the limit: rejected from its 10 header bytes alone.
    let out = run(
        Role::Client,
        config.clone(),
        &[0x82, 127, 0, 0, 0, 0, 0x7F, 0, 0, 0],
        0,
        false,
    );
    assert_eq!(
        violation(&out),
        Violation::FrameTooLarge {
            len: 0x7F00_0000,
            limit: 1000
        }
    );
    assert_eq!(
        out.written[0], 0x88,
        "a Close goes out (masked: client role)"
    );

    let mut wire = client_frame(false, BINARY, &[0; 1000]);
    wire.extend(client_frame(true, CONT, &[0; 501])[..8].iter());
    let out = run_all_chunkings(Role::Server, &config, &wire, false);
    assert_eq!(
        violation(&out),
        Violation::MessageTooLarge {
            size: 1501,
            limit: 1500
        }
    );
    assert_eq!(last_close_code(&out.written), Some(1009));

    let mut wire = client_frame(false, BINARY, b"");
    for _ in 0..3 {
        wire.extend(client_frame(false, CONT, b""));
    }
    let out = run_all_chunkings(Role::Server, &config, &wire, false);
    assert_eq!(violation(&out), Violation::TooManyFragments { limit: 3 });
    assert_eq!(last_close_code(&out.written), Some(1008));
}

// Sending.

#[test]
fn sends_after_close_are_refused_and_close_codes_checked() {
    let mut conn = Connection::server(Config::default());
    assert_eq!(
        conn.send_close(CloseCode(1005), ""),
        Err(SendError::InvalidCloseCode { code: 1005 })
    );
    assert_eq!(
        conn.send_close(CloseCode::NORMAL, &"x".repeat(124)),
        Err(SendError::CloseReasonTooLong { len: 124 })
    );
    conn.send_close(CloseCode(4000), "bye").unwrap();
    assert_eq!(conn.send_text("late"), Err(SendError::Closed));
    assert_eq!(conn.send_ping(b""), Err(SendError::Closed));
    let out = conn.poll_transmit().unwrap();
    assert_eq!(
        &out[..],
        &frame(true, CLOSE, &close_payload(4000, "bye"), None)[..]
    );
    // The peer's answering Close completes the handshake.
    conn.handle_read(&client_frame(true, CLOSE, &close_payload(4000, "")));
    assert!(matches!(conn.poll_event(), Ok(Some(Event::Close(_)))));
    assert!(conn.poll_transmit().is_none(), "no second Close");
    assert!(conn.should_close_transport());
}

#[test]
fn client_frames_are_masked_and_decode_back() {
    let mut client = Connection::client(Config::default());
    client.send_text("Hello").unwrap();
    client.send_binary(vec![7u8; 70_000]).unwrap();
    let mut wire = Vec::new();
    while let Some(b) = client.poll_transmit() {
        wire.extend_from_slice(&b);
    }
    assert_ne!(&wire[6..11], b"Hello", "payload is masked");
    let out = run(Role::Server, Config::default(), &wire, 0, false);
    assert_eq!(
        out.events,
        vec![text("Hello"), Event::Binary(vec![7u8; 70_000].into())]
    );
}

#[test]
fn fragmented_send_validates_text_and_forbids_interleaving() {
    let mut client = Connection::client(Config::default());
    let euro = "€".as_bytes();
    client
        .send_fragment(MessageKind::Text, Bytes::copy_from_slice(&euro[..1]), false)
        .unwrap();
    assert_eq!(client.send_text("x"), Err(SendError::MessageInProgress));
    assert_eq!(
        client.send_fragment(MessageKind::Binary, Bytes::new(), true),
        Err(SendError::KindMismatch)
    );
    client.send_ping(b"between").unwrap();
    assert_eq!(
        client.send_fragment(MessageKind::Text, Bytes::from_static(b"\xff"), true),
        Err(SendError::InvalidUtf8)
    );
    client
        .send_fragment(MessageKind::Text, Bytes::copy_from_slice(&euro[1..]), true)
        .unwrap();
    let mut wire = Vec::new();
    while let Some(b) = client.poll_transmit() {
        wire.extend_from_slice(&b);
    }
    let out = run(Role::Server, Config::default(), &wire, 1, false);
    assert_eq!(out.events, vec![Event::Ping("between".into()), text("€")]);
}

#[test]
fn streamed_messages_arrive_in_validated_parts() {
    let mut config = Config::default();
    config.stream_messages = true;
    let mut wire = client_frame(false, TEXT, "aé".as_bytes());
    wire.extend(client_frame(true, CONT, "€z".as_bytes()));
    for chop in [0, 1, 2, 3] {
        let out = run(Role::Server, config.clone(), &wire, chop, false);
        assert_eq!(
            out.events.first(),
            Some(&Event::MessageStart(MessageKind::Text))
        );
        assert_eq!(out.events.last(), Some(&Event::MessageEnd));
        let mut joined = String::new();
        for event in &out.events[1..out.events.len() - 1] {
            match event {
                Event::TextPart(part) => joined.push_str(part),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(joined, "aé€z", "chop {chop}");
    }
}

#[test]
fn eof_without_close_is_abnormal() {
    let mut conn = Connection::server(Config::default());
    conn.handle_read(&client_frame(true, TEXT, b"last")[..5]);
    conn.handle_eof();
    assert_eq!(
        conn.poll_event().unwrap_err().violation(),
        &Violation::AbnormalClosure
    );
    assert!(
        conn.poll_transmit().is_none(),
        "no Close on a dead transport"
    );
    assert!(conn.should_close_transport());
}

#[test]
fn nothing_is_emitted_after_a_fatal_error() {
    let mut conn = Connection::server(Config::default());
    conn.handle_read(&frame(true, TEXT, b"unmasked", None));
    assert!(conn.poll_event().is_err());
    conn.handle_read(&client_frame(true, TEXT, b"more"));
    assert_eq!(conn.poll_event(), Ok(None));
    assert_eq!(conn.send_text("x"), Err(SendError::Closed));
}

// Autobahn 9.x and 10.1: big messages, many fragments, odd TCP chops.

#[test]
fn autobahn_9_big_messages_in_small_fragments_and_chops() {
    let payload: Vec<u8> = (0..1 << 20).map(|i| b'a' + (i % 26) as u8).collect();
    let mut wire = Vec::new();
    let frags: Vec<&[u8]> = payload.chunks(64).collect();
    for (i, f) in frags.iter().enumerate() {
        let opcode = if i == 0 { TEXT } else { CONT };
        wire.extend(client_frame(i == frags.len() - 1, opcode, f));
    }
    let expected = Event::Text(String::from_utf8(payload.clone()).unwrap().into());
    for chop in [0, 64, 1300, 2048] {
        let out = run(Role::Server, Config::default(), &wire, chop, true);
        assert_eq!(out.events, vec![expected.clone()], "chop {chop}");
        assert_eq!(out.written, frame(true, TEXT, &payload, None));
    }
}

// Backpressure: the caller always learns what was not sent.

#[test]
fn slow_consumer_refuse_reports_and_keeps_the_connection() {
    let mut config = Config::default();
    config.max_outbound_buffer = 100;
    let mut conn = Connection::server(config);
    conn.send_binary(vec![0u8; 150]).unwrap(); // crosses the mark: accepted whole
    assert!(conn.is_backpressured());
    assert_eq!(
        conn.send_text("refused"),
        Err(SendError::Backpressure {
            buffered: 154,
            limit: 100
        })
    );
    while conn.poll_transmit().is_some() {}
    assert!(!conn.is_backpressured());
    conn.send_text("now it goes").unwrap();
}

#[test]
fn slow_consumer_close_fails_the_connection_with_the_chosen_code() {
    let mut config = Config::default();
    config.max_outbound_buffer = 100;
    config.slow_consumer = pushcodec::ws::SlowConsumer::Close(CloseCode::TRY_AGAIN_LATER);
    let mut conn = Connection::server(config);
    conn.send_binary(vec![0u8; 150]).unwrap();
    assert_eq!(
        conn.send_text("refused"),
        Err(SendError::SlowConsumer {
            buffered: 154,
            limit: 100,
            code: CloseCode::TRY_AGAIN_LATER,
            discarded: 154,
        })
    );
    assert_eq!(conn.send_text("later"), Err(SendError::Closed));
    let mut written = Vec::new();
    while let Some(b) = conn.poll_transmit() {
        written.extend_from_slice(&b);
    }
    assert_eq!(
        written[0], 0x88,
        "the unsent message was dropped: the Close is next"
    );
    assert_eq!(last_close_code(&written), Some(1013));
    assert!(conn.should_close_transport());
}

#[test]
fn slow_consumer_close_finishes_a_frame_whose_header_already_went() {
    let mut config = Config::default();
    config.max_outbound_buffer = 20_010;
    config.slow_consumer = pushcodec::ws::SlowConsumer::Close(CloseCode::POLICY_VIOLATION);
    let mut conn = Connection::server(config);
    // A large payload is queued after its header, without a copy.
    conn.send_binary(vec![7u8; 20_000]).unwrap();
    conn.send_text("queued behind").unwrap();
    let header = conn.poll_transmit().unwrap();
    assert_eq!(header.len(), 4, "only the header went");
    let err = conn.send_text("refused").unwrap_err();
    assert!(matches!(err, SendError::SlowConsumer { discarded, .. } if discarded == 15));
    let mut written = header.to_vec();
    while let Some(b) = conn.poll_transmit() {
        written.extend_from_slice(&b);
    }
    // The owed payload completes its frame; the Close follows.
    assert_eq!(written.len(), 4 + 20_000 + 2 + 2 + 13);
    assert_eq!(last_close_code(&written), Some(1008));
    let out = run(Role::Client, Config::default(), &written, 0, false);
    assert!(out.error.is_none());
    assert_eq!(out.events.len(), 2, "the binary message and the Close");
}

#[test]
fn prepared_message_is_shared_not_copied() {
    let msg = pushcodec::ws::PreparedMessage::binary(vec![9u8; 10_000]);
    let mut a = Connection::server(Config::default());
    let mut b = Connection::server(Config::default());
    a.send_prepared(&msg).unwrap();
    b.send_prepared(&msg).unwrap();
    let (wa, wb) = (a.poll_transmit().unwrap(), b.poll_transmit().unwrap());
    assert_eq!(
        wa.as_ptr(),
        msg.wire_bytes().as_ptr(),
        "same buffer, no copy"
    );
    assert_eq!(wb.as_ptr(), msg.wire_bytes().as_ptr());
    // A client still masks it, and a server decodes it back.
    let mut client = Connection::client(Config::default());
    client.send_prepared(&msg).unwrap();
    let wire = client.poll_transmit().unwrap();
    let out = run(Role::Server, Config::default(), &wire, 0, false);
    assert_eq!(out.events, vec![Event::Binary(vec![9u8; 10_000].into())]);
}

#[test]
fn read_buf_offers_room_for_the_rest_of_a_large_frame_so_it_arrives_in_one_piece() {
    // 1 MiB binary in one frame, read 64 KiB at a time into `read_buf`: once
    // the header is in, the room offered covers the rest of the frame, so
    // the buffer never moves and the payload is handed out as read.
    let payload: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    let wire = client_frame(true, BINARY, &payload);
    let mut conn = Connection::server(Config::default());
    let mut pos = 0;
    let mut events = Vec::new();
    while pos < wire.len() {
        let buf = conn.read_buf();
        let room = buf.capacity() - buf.len();
        if pos > 0 {
            assert!(room >= wire.len() - pos, "room {room} at {pos}");
        }
        let n = room.min(64 * 1024).min(wire.len() - pos);
        buf.extend_from_slice(&wire[pos..pos + n]);
        pos += n;
        while let Some(event) = conn.poll_event().unwrap() {
            events.push(event);
        }
    }
    assert_eq!(events, vec![Event::Binary(Bytes::from(payload))]);
}

#[test]
fn rfc6455_5_5_1_bytes_appended_to_read_buf_after_the_close_are_ignored() {
    let mut conn = Connection::server(Config::default());
    conn.read_buf()
        .extend_from_slice(&client_frame(true, CLOSE, &close_payload(1000, "")));
    assert!(matches!(conn.poll_event(), Ok(Some(Event::Close(_)))));
    conn.read_buf()
        .extend_from_slice(&client_frame(true, TEXT, b"late"));
    assert_eq!(conn.poll_event(), Ok(None));
    assert_eq!(conn.read_buf().len(), 0, "dropped, not kept");
}

#[test]
fn removing_bytes_from_read_buf_against_its_docs_never_panics() {
    // `read_buf` says append only; a caller that clears it anyway must get
    // garbage or an error, never a panic (the held payload is gone).
    let wire = client_frame(true, TEXT, &[b'a'; 300]);
    for cut in [2, 6, 8, 100, 299] {
        let mut conn = Connection::server(Config::default());
        conn.read_buf().extend_from_slice(&wire[..cut]);
        while let Ok(Some(_)) = conn.poll_event() {}
        conn.read_buf().clear();
        conn.read_buf().extend_from_slice(&wire[cut..]);
        conn.read_buf().extend_from_slice(&wire);
        for _ in 0..4 {
            let _ = conn.poll_event();
        }
        while conn.poll_transmit().is_some() {}
    }
}

/// A borrowed payload (`send_*_copied`) goes on the wire exactly as the same
/// payload given owned: the same header for every length encoding (RFC 6455
/// §5.2), the same masking with the same keys (§5.3), for both roles.
#[test]
fn copied_sends_put_the_same_frames_on_the_wire_as_owned_sends() {
    fn wire(conn: &mut Connection) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(bytes) = conn.poll_transmit() {
            out.extend_from_slice(&bytes);
        }
        out
    }
    let make = |role: Role| match role {
        Role::Server => Connection::server(Config::default()),
        Role::Client => {
            Connection::client_with_random(Config::default(), Box::new(SeededRandom(3)))
        }
    };
    for role in [Role::Server, Role::Client] {
        for len in [0usize, 5, 125, 126, 4096, 65_535, 65_536, 70_000] {
            let binary: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let text: String = "aé€".chars().cycle().take(len / 2).collect();
            let (mut owned, mut copied) = (make(role), make(role));
            owned.send_binary(binary.clone()).unwrap();
            owned.send_text(text.clone()).unwrap();
            copied.send_binary_copied(&binary).unwrap();
            copied.send_text_copied(&text).unwrap();
            let expected = wire(&mut owned);
            assert!(expected.len() > len, "{role:?} {len}");
            assert_eq!(wire(&mut copied), expected, "{role:?} {len}");
        }
    }
}
