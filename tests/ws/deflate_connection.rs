//! permessage-deflate through the Connection (RFC 7692 §6, §7.2): RSV1
//! rules, the §7.2.3 examples on the wire, the inflate limit, and round
//! trips in both roles under any chunking.
#![cfg(feature = "deflate")]

#[allow(unused_imports)]
use crate::common::*;
use crate::common::{client_frame, frame, run_chunks};
use bytes::Bytes;
use proptest::prelude::*;
use pushcodec::ws::deflate::{DeflateConfig, negotiate_server};
use pushcodec::ws::handshake::ExtensionOffer;
use pushcodec::ws::{Config, Connection, Event, MessageKind, PreparedMessage, Role, Violation};

fn deflated(role: Role, offer: &str, config: Config) -> Connection {
    let offers = ExtensionOffer::parse_list(offer).unwrap();
    let deflate = DeflateConfig::default();
    let (params, _) = negotiate_server(&offers, &deflate).unwrap();
    Connection::new(role, config).with_deflate(&params, &deflate)
}

fn receive(conn: &mut Connection, wire: &[u8]) -> (Vec<Event>, Option<Violation>) {
    conn.handle_read(wire);
    let mut events = Vec::new();
    loop {
        match conn.poll_event() {
            Ok(Some(e)) => events.push(e),
            Ok(None) => return (events, None),
            Err(e) => return (events, Some(e.violation().clone())),
        }
    }
}

fn drain(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    out
}

const HELLO: &[u8] = &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

#[test]
fn rfc7692_7_2_3_1_compressed_hello_with_rsv1() {
    let mut server = deflated(Role::Server, "permessage-deflate", Config::default());
    let wire = client_frame(true, 0x40 | 0x1, HELLO);
    for chop in [1, 3, wire.len()] {
        let mut server2 = deflated(Role::Server, "permessage-deflate", Config::default());
        let mut events = Vec::new();
        for c in wire.chunks(chop) {
            events.extend(receive(&mut server2, c).0);
        }
        assert_eq!(events, vec![Event::Text("Hello".into())], "chop {chop}");
    }
    assert_eq!(
        receive(&mut server, &wire).0,
        vec![Event::Text("Hello".into())]
    );
}

#[test]
fn rfc7692_7_2_3_1_fragmented_compressed_hello() {
    // The compressed bytes split over two frames; RSV1 on the first only.
    let mut wire = client_frame(false, 0x40 | 0x1, &HELLO[..3]);
    wire.extend(client_frame(true, 0x0, &HELLO[3..]));
    let mut server = deflated(Role::Server, "permessage-deflate", Config::default());
    assert_eq!(
        receive(&mut server, &wire).0,
        vec![Event::Text("Hello".into())]
    );
}

#[test]
fn rfc7692_7_2_3_2_context_takeover_second_hello() {
    let mut wire = client_frame(true, 0x41, HELLO);
    wire.extend(client_frame(true, 0x41, &[0xf2, 0x00, 0x11, 0x00, 0x00]));
    let mut server = deflated(Role::Server, "permessage-deflate", Config::default());
    assert_eq!(
        receive(&mut server, &wire).0,
        vec![Event::Text("Hello".into()), Event::Text("Hello".into())]
    );
}

#[test]
fn rfc7692_7_2_3_3_and_4_stored_and_bfinal_blocks_and_empty_message() {
    let stored = [
        0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    let mut wire = client_frame(true, 0x41, &stored);
    wire.extend(client_frame(true, 0x41, &bfinal));
    wire.extend(client_frame(true, 0x42, &[0x00]));
    wire.extend(client_frame(true, 0x42, &[]));
    let mut server = deflated(Role::Server, "permessage-deflate", Config::default());
    let (events, error) = receive(&mut server, &wire);
    assert_eq!(error, None);
    assert_eq!(
        events,
        vec![
            Event::Text("Hello".into()),
            Event::Text("Hello".into()),
            Event::Binary(Bytes::new()),
            Event::Binary(Bytes::new()),
        ]
    );
}

#[test]
fn rfc7692_6_1_rsv1_only_on_the_first_data_frame() {
    let mut wire = client_frame(false, 0x41, &HELLO[..3]);
    wire.extend(client_frame(true, 0x40, &HELLO[3..]));
    let mut server = deflated(Role::Server, "permessage-deflate", Config::default());
    assert_eq!(
        receive(&mut server, &wire).1,
        Some(Violation::MisplacedCompressionBit)
    );

    let mut server = deflated(Role::Server, "permessage-deflate", Config::default());
    let ping = client_frame(true, 0x40 | 0x9, b"");
    assert_eq!(
        receive(&mut server, &ping).1,
        Some(Violation::MisplacedCompressionBit)
    );
    let close = drain(&mut server);
    assert_eq!(
        (close[0], &close[2..4]),
        (0x88, &[0x03, 0xEA][..]),
        "close 1002"
    );

    // Without the extension, RSV1 is a plain reserved-bit violation.
    let out = run_chunks(
        Role::Server,
        Config::default(),
        &[&client_frame(true, 0x41, HELLO)],
        false,
    );
    assert_eq!(
        out.error.unwrap().violation(),
        &Violation::ReservedBits { rsv: 0b100 }
    );
}

#[test]
fn zip_bomb_fails_with_1009_at_the_limit() {
    // 4 MiB of zeros compresses to a few KiB.
    let mut client = deflated(Role::Client, "permessage-deflate", Config::default());
    client.send_binary(vec![0u8; 4 << 20]).unwrap();
    let wire = drain(&mut client);
    assert!(wire.len() < 8 * 1024, "{} bytes on the wire", wire.len());
    let mut config = Config::default();
    config.max_message_size = 1 << 20;
    let mut server = deflated(Role::Server, "permessage-deflate", config);
    let (events, error) = receive(&mut server, &wire);
    assert!(events.is_empty());
    assert!(
        matches!(
            error,
            Some(Violation::MessageTooLarge {
                limit: 1_048_576,
                ..
            })
        ),
        "{error:?}"
    );
    assert_eq!(drain(&mut server)[2..4], [0x03, 0xF1], "close 1009");
}

#[test]
fn corrupt_compressed_data_fails_with_1007() {
    let mut server = deflated(Role::Server, "permessage-deflate", Config::default());
    let (_, error) = receive(&mut server, &client_frame(true, 0x41, &[0xff, 0xff, 0xff]));
    assert_eq!(error, Some(Violation::InvalidCompressedData));
}

#[test]
fn small_and_opted_out_messages_go_uncompressed() {
    let mut server = deflated(Role::Server, "permessage-deflate", Config::default());
    server.send_text("tiny").unwrap();
    assert_eq!(drain(&mut server), frame(true, 0x1, b"tiny", None));
    let secret = "token=".repeat(100);
    server
        .send_uncompressed(MessageKind::Text, secret.clone())
        .unwrap();
    assert_eq!(
        drain(&mut server),
        frame(true, 0x1, secret.as_bytes(), None)
    );
    server.send_text(secret.clone()).unwrap();
    let wire = drain(&mut server);
    assert_eq!(wire[0], 0xC1, "FIN + RSV1 + text");
    assert!(wire.len() < secret.len() / 4);
}

/// Compressed fan-out (issue 17): without context takeover, one
/// compression per parameter set serves every connection, byte for byte
/// what each would have made of the message itself.
#[test]
fn prepared_message_compressed_once_per_parameter_set() {
    const NCT: &str = "permessage-deflate; server_no_context_takeover";
    let text = "price: 42, volume: 1000; ".repeat(40);
    let mut conns: Vec<_> = (0..3)
        .map(|_| deflated(Role::Server, NCT, Config::default()))
        .collect();
    let params = conns[0].shared_compression().expect("no context takeover");
    let small = deflated(
        Role::Server,
        &format!("{NCT}; server_max_window_bits=10"),
        Config::default(),
    );
    let other = small.shared_compression().unwrap();
    assert_ne!(params, other);
    let message = PreparedMessage::text(text.clone())
        .with_compression(params)
        .with_compression(params);
    assert!(
        message.stored_len() < message.wire_bytes().len() * 2,
        "compressed once"
    );

    // What a connection makes of the message on its own.
    let mut alone = deflated(Role::Server, NCT, Config::default());
    alone.send_text(text.clone()).unwrap();
    let expected = drain(&mut alone);
    assert_eq!(expected[0], 0xC1);
    let mut shared = None;
    for conn in &mut conns {
        for _ in 0..2 {
            conn.send_prepared(&message).unwrap();
            let frame = conn.poll_transmit().unwrap();
            assert_eq!(&frame[..], &expected[..]);
            let at = *shared.get_or_insert(frame.as_ptr());
            assert_eq!(frame.as_ptr(), at, "one frame, shared");
            assert_eq!(conn.poll_transmit(), None);
        }
    }
    let mut client = deflated(Role::Client, NCT, Config::default());
    assert_eq!(
        receive(&mut client, &expected).0,
        vec![Event::Text(text.clone().into())]
    );

    // Parameters it was not prepared for, and context takeover: each
    // connection compresses itself, and the peer reads the same text.
    for offer in [
        format!("{NCT}; server_max_window_bits=10"),
        "permessage-deflate".to_owned(),
    ] {
        let mut conn = deflated(Role::Server, &offer, Config::default());
        let mut client = deflated(Role::Client, &offer, Config::default());
        for _ in 0..2 {
            conn.send_prepared(&message).unwrap();
            let wire = drain(&mut conn);
            assert_eq!(wire[0], 0xC1, "{offer}");
            assert!(wire.len() < text.len() / 4);
            assert_eq!(
                receive(&mut client, &wire).0,
                vec![Event::Text(text.clone().into())]
            );
        }
    }
    assert_eq!(
        deflated(Role::Server, "permessage-deflate", Config::default()).shared_compression(),
        None
    );

    // Below min_compress_size: the plain frame, shared.
    let tiny = PreparedMessage::text("tiny").with_compression(params);
    conns[0].send_prepared(&tiny).unwrap();
    assert_eq!(conns[0].poll_transmit().as_ref(), Some(tiny.wire_bytes()));

    // A client masks the compressed payload with its own key.
    let mut client = deflated(
        Role::Client,
        "permessage-deflate; client_no_context_takeover",
        Config::default(),
    );
    let key = client.shared_compression().unwrap();
    let mut server = deflated(
        Role::Server,
        "permessage-deflate; client_no_context_takeover",
        Config::default(),
    );
    client
        .send_prepared(&PreparedMessage::text(text.clone()).with_compression(key))
        .unwrap();
    let wire = drain(&mut client);
    assert_eq!(wire[0], 0xC1);
    assert_eq!(
        receive(&mut server, &wire).0,
        vec![Event::Text(text.into())]
    );
}

fn msgs() -> impl Strategy<Value = Vec<(bool, Vec<u8>, usize)>> {
    proptest::collection::vec(
        (
            any::<bool>(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..600),
                proptest::collection::vec(prop::sample::select(b"ab \n{}".to_vec()), 0..3000),
            ],
            1usize..700,
        ),
        1..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip_in_both_roles_with_and_without_context_takeover(
        msgs in msgs(),
        offer in prop::sample::select(vec![
            "permessage-deflate",
            "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
        ]),
        chop in 1usize..5000,
    ) {
        for (sender_role, receiver_role) in [(Role::Client, Role::Server), (Role::Server, Role::Client)] {
            let mut sender = deflated(sender_role, offer, Config::default());
            let mut receiver = deflated(receiver_role, offer, Config::default());
            let mut expected = Vec::new();
            for (fragmented, data, frag) in &msgs {
                if *fragmented {
                    let pieces: Vec<&[u8]> = if data.is_empty() { vec![&[][..]] } else { data.chunks(*frag).collect() };
                    for (i, p) in pieces.iter().enumerate() {
                        sender.send_fragment(MessageKind::Binary, Bytes::copy_from_slice(p), i + 1 == pieces.len()).unwrap();
                    }
                } else {
                    sender.send_binary(data.clone()).unwrap();
                }
                expected.push(Event::Binary(data.clone().into()));
            }
            let wire = drain(&mut sender);
            let mut events = Vec::new();
            for c in wire.chunks(chop) {
                let (e, err) = receive(&mut receiver, c);
                prop_assert_eq!(err, None);
                events.extend(e);
            }
            prop_assert_eq!(events, expected);
        }
    }
}

/// RFC 7692 §6.1: a borrowed payload is compressed (RSV1 on its frame) like
/// an owned one, and small messages stay uncompressed the same way.
#[test]
fn copied_sends_are_compressed_like_owned_sends() {
    let offer = "permessage-deflate; client_no_context_takeover; server_no_context_takeover";
    for len in [3usize, 200, 20_000] {
        let text: String = "the same words again ".chars().cycle().take(len).collect();
        let mut owned = deflated(Role::Server, offer, Config::default());
        let mut copied = deflated(Role::Server, offer, Config::default());
        owned.send_text(text.clone()).unwrap();
        copied.send_text_copied(&text).unwrap();
        let (a, b) = (
            owned.poll_transmit().unwrap(),
            copied.poll_transmit().unwrap(),
        );
        assert_eq!(a, b, "{len}");
        assert_eq!(a[0] & 0x40 != 0, len >= 200, "RSV1 for {len}");
    }
}
