//! Writes the seed corpora in `fuzz/seeds/<target>/` from the specs'
//! examples (RFC 6455 §1.2, §1.3, §5.7; WHATWG HTML §9.2 and its WPT
//! cases), in the byte format `arbitrary` reads. Connection seeds are
//! checked by parsing them back into the intended `Scenario`.
//!
//! Run from the repository root:
//! `cargo run --manifest-path fuzz/Cargo.toml --example make_seeds`

use std::fs;
use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use pushcodec_fuzz::connection::{Action, PeerFrame, PeerOpcode, Rsv, Scenario, SlowPolicy};
use pushcodec_fuzz::seed::Enc;
use pushcodec_fuzz::{Blob, Text};

/// RFC 6455 §5.7's masked "Hello" (client to server).
const MASKED_HELLO: &[u8] = &[
    0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("fuzz/seeds").join(target);
    fs::create_dir_all(&dir).expect("create seed dir");
    fs::write(dir.join(name), bytes).expect("write seed");
}

fn frame_decoder() {
    let mut seeds: Vec<(&str, bool, Vec<u8>, Vec<u8>)> = vec![
        // RFC 6455 §5.7, as a client receives them (unmasked).
        ("unmasked_text", true, vec![], b"\x81\x05Hello".to_vec()),
        (
            "fragmented_text",
            true,
            vec![3, 2],
            b"\x01\x03Hel\x80\x02lo".to_vec(),
        ),
        ("unmasked_ping", true, vec![], b"\x89\x05Hello".to_vec()),
        ("close_1000", true, vec![1], b"\x88\x02\x03\xe8".to_vec()),
        // As a server receives them (masked).
        ("masked_text", false, vec![1, 1, 4], MASKED_HELLO.to_vec()),
        ("masked_pong", false, vec![], {
            let mut v = MASKED_HELLO.to_vec();
            v[0] = 0x8a;
            v
        }),
        // Violations the header shows.
        ("reserved_opcode", true, vec![], b"\x83\x00".to_vec()),
        ("rsv1", true, vec![], b"\xc1\x00".to_vec()),
        (
            "non_minimal_16",
            true,
            vec![],
            b"\x81\x7e\x00\x05Hello".to_vec(),
        ),
        (
            "length_msb",
            true,
            vec![],
            b"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00".to_vec(),
        ),
        (
            "unmasked_to_server",
            false,
            vec![],
            b"\x81\x05Hello".to_vec(),
        ),
        ("fragmented_ping", true, vec![], b"\x09\x00".to_vec()),
    ];
    // §5.7: 256 bytes of binary in one unmasked frame (16-bit length);
    // a 64 KiB one (64-bit length), header only.
    let mut bin256 = b"\x82\x7e\x01\x00".to_vec();
    bin256.extend((0..=255u8).collect::<Vec<_>>());
    seeds.push(("binary_256", true, vec![100, 100], bin256));
    seeds.push((
        "binary_64k_header",
        true,
        vec![],
        b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00".to_vec(),
    ));
    for (name, client, chunks, wire) in seeds {
        let mut e = Enc::new();
        e.bool(client).u16(0).u8(0);
        for c in chunks {
            e.more().u8(c);
        }
        e.bool(false).raw(&wire);
        write("ws_frame_decoder", name, &e.0);
    }
}

fn peer(opcode: PeerOpcode, fin: bool, payload: &[u8]) -> PeerFrame {
    PeerFrame {
        fin,
        rsv: Rsv::Clear,
        opcode,
        key: [0x37, 0xfa, 0x21, 0x3d],
        wrong_mask: false,
        close_code: None,
        payload: Blob(payload.to_vec()),
        split: None,
    }
}

fn scenario(actions: Vec<Action>) -> Scenario {
    Scenario {
        max_frame_size: 0,
        max_message_size: 0,
        max_fragments: 0,
        max_outbound_buffer: 4096,
        auto_pong: true,
        stream_messages: false,
        slow_consumer: SlowPolicy::Refuse,
        keepalive_ms: Some(1000),
        pong_timeout_ms: Some(500),
        close_timeout_ms: Some(500),
        seed: 7,
        actions,
    }
}

fn enc_opt_u16(e: &mut Enc, v: Option<u16>) {
    match v {
        Some(v) => e.some().u16(v),
        None => e.none(),
    };
}

fn enc_peer(e: &mut Enc, f: &PeerFrame) {
    e.bool(f.fin);
    match f.rsv {
        Rsv::Clear => e.variant(0, 2),
        Rsv::Bits(b) => e.variant(1, 2).u8(b),
    };
    match f.opcode {
        PeerOpcode::Continuation => e.variant(0, 7),
        PeerOpcode::Text => e.variant(1, 7),
        PeerOpcode::Binary => e.variant(2, 7),
        PeerOpcode::Close => e.variant(3, 7),
        PeerOpcode::Ping => e.variant(4, 7),
        PeerOpcode::Pong => e.variant(5, 7),
        PeerOpcode::Raw(b) => e.variant(6, 7).u8(b),
    };
    e.raw(&f.key).bool(f.wrong_mask);
    enc_opt_u16(e, f.close_code);
    e.blob(&f.payload.0);
    enc_opt_u16(e, f.split);
}

fn enc_scenario(s: &Scenario) -> Vec<u8> {
    const N: u32 = 18;
    let mut e = Enc::new();
    e.u16(s.max_frame_size)
        .u16(s.max_message_size)
        .u8(s.max_fragments)
        .u16(s.max_outbound_buffer)
        .bool(s.auto_pong)
        .bool(s.stream_messages);
    match s.slow_consumer {
        SlowPolicy::Refuse => e.variant(0, 3),
        SlowPolicy::Close1008 => e.variant(1, 3),
        SlowPolicy::Close1013 => e.variant(2, 3),
    };
    enc_opt_u16(&mut e, s.keepalive_ms);
    enc_opt_u16(&mut e, s.pong_timeout_ms);
    enc_opt_u16(&mut e, s.close_timeout_ms);
    e.u64(s.seed);
    for a in &s.actions {
        e.more();
        match a {
            Action::Read(b) => e.variant(0, N).blob(&b.0),
            Action::ReadFrame(f) => {
                e.variant(1, N);
                enc_peer(&mut e, f);
                &mut e
            }
            Action::Eof => e.variant(2, N),
            Action::PollEvents(n) => e.variant(3, N).u8(*n),
            Action::Transmit(n) => e.variant(4, N).u8(*n),
            Action::SendText(t) => e.variant(5, N).blob(t.0.as_bytes()),
            Action::SendBinary(b) => e.variant(6, N).blob(&b.0),
            Action::SendPrepared { text, data } => e.variant(7, N).bool(*text).blob(&data.0),
            Action::SendFragment { text, data, fin } => {
                e.variant(8, N).bool(*text).blob(&data.0).bool(*fin)
            }
            Action::SendPing(b) => e.variant(9, N).blob(&b.0),
            Action::SendPong(b) => e.variant(10, N).blob(&b.0),
            Action::SendClose { code, reason } => {
                e.variant(11, N).u16(*code).blob(reason.0.as_bytes())
            }
            Action::Advance(ms) => e.variant(12, N).u16(*ms),
            Action::WakeUp => e.variant(13, N),
            Action::SendRepeated { text, data, times } => {
                e.variant(14, N).bool(*text).blob(&data.0).u8(*times)
            }
            Action::ReadRepeated { frame, times } => {
                e.variant(15, N);
                enc_peer(&mut e, frame);
                e.u8(*times)
            }
            Action::ReadIntoBuf(b) => e.variant(16, N).blob(&b.0),
            Action::TransmitPartial(n) => e.variant(17, N).u16(*n),
        };
    }
    e.bool(false);
    // The bytes must read back as the scenario meant.
    let back = Scenario::arbitrary_take_rest(Unstructured::new(&e.0)).expect("parses");
    assert_eq!(
        format!("{back:?}"),
        format!("{s:?}"),
        "seed encoder out of date"
    );
    e.0
}

fn connection() {
    let close = |code: u16, reason: &[u8]| PeerFrame {
        close_code: Some(code),
        ..peer(PeerOpcode::Close, true, reason)
    };
    let seeds: Vec<(&str, Scenario)> = vec![
        (
            "echo",
            scenario(vec![
                Action::WakeUp,
                Action::ReadFrame(peer(PeerOpcode::Text, true, b"Hello")),
                Action::PollEvents(0),
                Action::SendText(Text("Hello".into())),
                Action::Transmit(0),
            ]),
        ),
        (
            // RFC 6455 §5.4: a ping between the fragments of a message.
            "fragments_with_ping",
            scenario(vec![
                Action::ReadFrame(peer(PeerOpcode::Text, false, b"Hel")),
                Action::ReadFrame(peer(PeerOpcode::Ping, true, b"ping")),
                Action::ReadFrame(PeerFrame {
                    split: Some(2),
                    ..peer(PeerOpcode::Continuation, true, b"lo")
                }),
                Action::PollEvents(0),
                Action::SendFragment {
                    text: true,
                    data: Blob(b"\xce".to_vec()),
                    fin: false,
                },
                Action::SendPing(Blob(b"x".to_vec())),
                Action::SendFragment {
                    text: true,
                    data: Blob(b"\xba".to_vec()),
                    fin: true,
                },
                Action::Transmit(0),
            ]),
        ),
        (
            // §7.1.2: we close first, the peer answers.
            "close_handshake",
            scenario(vec![
                Action::SendClose {
                    code: 1000,
                    reason: Text("bye".into()),
                },
                Action::Transmit(0),
                Action::ReadFrame(close(1000, b"")),
                Action::PollEvents(0),
                Action::WakeUp,
                Action::PollEvents(0),
            ]),
        ),
        (
            // §5.5.1: the peer closes first; we answer once.
            "peer_closes",
            scenario(vec![
                Action::ReadFrame(close(1001, b"going away")),
                Action::PollEvents(0),
                Action::SendClose {
                    code: 1000,
                    reason: Text(String::new()),
                },
                Action::Transmit(0),
            ]),
        ),
        (
            // Autobahn 6.4.x: invalid UTF-8 inside an unfinished frame.
            "invalid_utf8",
            scenario(vec![
                Action::ReadFrame(PeerFrame {
                    split: Some(9),
                    ..peer(
                        PeerOpcode::Text,
                        true,
                        b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80",
                    )
                }),
                Action::PollEvents(1),
                Action::PollEvents(0),
                Action::Transmit(0),
            ]),
        ),
        (
            "keepalive",
            scenario(vec![
                Action::WakeUp,
                Action::Advance(1000),
                Action::Transmit(0),
                Action::ReadFrame(peer(PeerOpcode::Pong, true, b"")),
                Action::PollEvents(0),
                Action::Advance(1000),
                Action::WakeUp,
                Action::PollEvents(0),
            ]),
        ),
        (
            "streamed",
            Scenario {
                stream_messages: true,
                ..scenario(vec![
                    Action::ReadFrame(PeerFrame {
                        split: Some(8),
                        ..peer(PeerOpcode::Text, false, "κόσμε".as_bytes())
                    }),
                    Action::ReadFrame(peer(PeerOpcode::Continuation, true, b"!")),
                    Action::PollEvents(0),
                    Action::ReadFrame(peer(PeerOpcode::Binary, true, &[0, 1, 2])),
                    Action::PollEvents(0),
                ])
            },
        ),
        (
            "backpressure",
            Scenario {
                max_outbound_buffer: 8,
                slow_consumer: SlowPolicy::Close1008,
                ..scenario(vec![
                    Action::SendBinary(Blob(vec![1; 20])),
                    Action::SendPrepared {
                        text: true,
                        data: Blob(b"hi".to_vec()),
                    },
                    Action::Transmit(0),
                    Action::SendPrepared {
                        text: false,
                        data: Blob(b"hi".to_vec()),
                    },
                ])
            },
        ),
        (
            // Past the zero-copy threshold and both extended lengths.
            "large",
            scenario(vec![
                Action::SendRepeated {
                    text: false,
                    data: Blob(vec![7; 255]),
                    times: 255,
                },
                Action::SendRepeated {
                    text: true,
                    data: Blob(b"ab".to_vec()),
                    times: 100,
                },
                Action::ReadRepeated {
                    frame: peer(PeerOpcode::Binary, true, &[1; 255]),
                    times: 255,
                },
                Action::PollEvents(0),
                Action::Transmit(0),
            ]),
        ),
        (
            "limits",
            Scenario {
                max_frame_size: 4,
                max_message_size: 6,
                max_fragments: 2,
                ..scenario(vec![
                    Action::ReadFrame(peer(PeerOpcode::Binary, false, b"abc")),
                    Action::ReadFrame(peer(PeerOpcode::Continuation, false, b"def")),
                    Action::ReadFrame(peer(PeerOpcode::Continuation, true, b"g")),
                    Action::PollEvents(0),
                    Action::Eof,
                    Action::PollEvents(0),
                ])
            },
        ),
    ];
    for (name, s) in &seeds {
        let bytes = enc_scenario(s);
        write("ws_connection_server", name, &bytes);
        write("ws_connection_client", name, &bytes);
    }
    // RFC 6455 §5.7's masked "Hello" as raw bytes (the server's view).
    let raw = scenario(vec![
        Action::Read(Blob(MASKED_HELLO.to_vec())),
        Action::PollEvents(0),
    ]);
    write(
        "ws_connection_server",
        "raw_masked_hello",
        &enc_scenario(&raw),
    );
    let raw = scenario(vec![
        Action::Read(Blob(b"\x81\x05Hello".to_vec())),
        Action::PollEvents(0),
    ]);
    write(
        "ws_connection_client",
        "raw_unmasked_hello",
        &enc_scenario(&raw),
    );
}

const RFC_REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

fn handshake_request() {
    let seeds = [
        ("rfc6455_1_2", RFC_REQUEST.to_owned()),
        (
            "deflate_and_frame",
            RFC_REQUEST.replace(
                "Sec-WebSocket-Version: 13\r\n\r\n",
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; \
                 client_max_window_bits, x-foo; a=\"b\"\r\n\r\n\u{81}",
            ),
        ),
        (
            "version_8",
            RFC_REQUEST.replace("Version: 13", "Version: 8"),
        ),
        ("post", RFC_REQUEST.replace("GET", "POST")),
        ("http_1_0", RFC_REQUEST.replace("HTTP/1.1", "HTTP/1.0")),
        (
            "no_key",
            RFC_REQUEST.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
        ),
        ("bare_lf", RFC_REQUEST.replace("\r\n", "\n")),
        (
            "leading_crlf_query",
            format!("\r\n{}", RFC_REQUEST.replace("/chat", "/chat?room=7")),
        ),
        (
            "body",
            RFC_REQUEST.replace("\r\n\r\n", "\r\nContent-Length: 3\r\n\r\nabc"),
        ),
    ];
    for (name, head) in seeds {
        let mut e = Enc::new();
        e.u16(0).u8(0).u8(1).u8(0).u16(17).raw(head.as_bytes());
        write("ws_handshake_request", name, &e.0);
    }
}

const RFC_RESPONSE: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

fn handshake_response() {
    let with = |extra: &str| RFC_RESPONSE.replace("\r\n\r\n", &format!("\r\n{extra}\r\n\r\n"));
    let seeds = [
        ("rfc6455_1_3", 0u8, 0u8, RFC_RESPONSE.to_owned()),
        ("protocol_chat", 0b001, 0, with("Sec-WebSocket-Protocol: chat")),
        ("deflate", 0, 0b01, with("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=15")),
        ("unoffered_protocol", 0, 0, with("Sec-WebSocket-Protocol: chat")),
        ("wrong_accept", 0, 0, RFC_RESPONSE.replace("s3pP", "x3pP")),
        ("redirect", 0, 0, "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n\r\n".to_owned()),
        (
            "version_426",
            0,
            0,
            "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n\r\n"
                .to_owned(),
        ),
        ("first_frame", 0b011, 0, format!("{RFC_RESPONSE}\u{81}\u{0}")),
    ];
    for (name, protocols, extensions, head) in seeds {
        let mut e = Enc::new();
        e.u8(protocols)
            .u8(extensions)
            .bool(false)
            .u16(0)
            .u8(0)
            .u16(11)
            .raw(head.as_bytes());
        write("ws_handshake_response", name, &e.0);
    }
}

fn sse_decoder() {
    // WHATWG HTML §9.2.6's examples, then WPT format-* cases.
    let seeds: [(&str, &[u8]); 11] = [
        ("stock", b"data: YHOO\ndata: +2\ndata: 10\n\n"),
        (
            "four_blocks",
            b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
        ),
        ("empty_data", b"data\n\ndata\ndata\n\ndata:"),
        ("space", b"data:test\n\ndata: test\n\n"),
        ("bom_crlf", b"\xef\xbb\xbfdata: x\r\n\r\n"),
        ("cr_only", b"event: add\rdata: 73857293\r\rretry: 3000\r"),
        ("id_nul", b"id: a\x00b\ndata: x\n\nid: 2\n\n"),
        ("retry", b"retry: 1000\nretry:\nretry: 12a\nretry: 99999999999999999999999\n\n"),
        ("unknown_and_comment", b"foo: bar\n:comment\ndata:\xff\xfe\n\n"),
        ("event_type", b"event: \ndata: a\n\nevent:x\nevent:y\ndata: b\n\n"),
        ("unterminated", b"data: lost"),
    ];
    for (i, (name, stream)) in seeds.iter().enumerate() {
        let mut e = Enc::new();
        // Default limits in most, tiny ones in some; chunks of 1, 2, 3 bytes.
        let small = i % 3 == 2;
        e.u16(if small { 8 } else { 0 })
            .u16(if small { 12 } else { 0 })
            .bool(i % 2 == 0);
        if i == 1 {
            e.some().blob(b"0");
        } else {
            e.none();
        }
        for c in [1u8, 2, 3] {
            e.more().u8(c);
        }
        e.bool(false).raw(stream);
        write("sse_decoder", name, &e.0);
    }
}

fn sse_roundtrip() {
    let mut e = Enc::new();
    e.more().u8(5).bool(false);
    // Event { data, event_type, id, retry }.
    e.more().variant(0, 3).blob(b"a\r\nb\rc\nd");
    e.some().blob(b"delta").some().blob(b"42").some().u64(3000);
    e.more().variant(1, 3).blob(b"keep-alive");
    e.more().variant(2, 3).u64(0);
    e.more().variant(0, 3).blob(b"").none().none().none();
    e.more()
        .variant(0, 3)
        .blob(b" lead")
        .some()
        .blob(b"")
        .some()
        .blob(b"")
        .none();
    e.bool(false);
    write("sse_roundtrip", "mixed", &e.0);
    let mut e = Enc::new();
    e.bool(false)
        .more()
        .variant(0, 3)
        .blob(b"x")
        .none()
        .some()
        .blob(b"a\0b")
        .none();
    e.more()
        .variant(0, 3)
        .blob(b"y")
        .some()
        .blob(b"a\nb")
        .none()
        .none()
        .bool(false);
    write("sse_roundtrip", "refused", &e.0);
}

fn main() {
    frame_decoder();
    connection();
    handshake_request();
    handshake_response();
    sse_decoder();
    sse_roundtrip();
    println!("seeds written under fuzz/seeds/");
}
