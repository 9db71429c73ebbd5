//! An in-process port of the Autobahn 13.x matrix (12.x is 13.1 with other
//! corpora): each case's negotiation, then messages of the case sizes sent
//! both ways, unfragmented and with the compressed payload cut into frames
//! of 256 B, 1 KiB, 4 KiB and 32 KiB. Fewer messages per size than the real
//! suite (which sends 1000); the real suite runs against the examples.
#![cfg(feature = "deflate")]

use bytes::BytesMut;
use pushcodec::ws::Role;
use pushcodec::ws::deflate::{
    DeflateConfig, DeflateParams, PerMessageDeflate, client_offer, negotiate_client,
    negotiate_server,
};
use pushcodec::ws::handshake::ExtensionOffer;

/// Autobahn's client offers for 13.1–13.7 (accept_no_context_takeover and
/// accept_max_window_bits always on; then request_no_context_takeover and
/// request_max_window_bits per case).
const SERVER_CASES: [(&str, &str); 7] = [
    (
        "13.1",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits",
    ),
    (
        "13.2",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover",
    ),
    (
        "13.3",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=9",
    ),
    (
        "13.4",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=15",
    ),
    (
        "13.5",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=9",
    ),
    (
        "13.6",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=15",
    ),
    (
        "13.7",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=9, \
         permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover, \
         permessage-deflate; client_no_context_takeover; client_max_window_bits",
    ),
];

/// Autobahn's server answers to our client's offer for 13.1–13.6.
const CLIENT_CASES: [(&str, &str); 6] = [
    ("13.1", "permessage-deflate"),
    ("13.2", "permessage-deflate; client_no_context_takeover"),
    ("13.3", "permessage-deflate; client_max_window_bits=9"),
    ("13.4", "permessage-deflate; client_max_window_bits=15"),
    (
        "13.5",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits=9",
    ),
    (
        "13.6",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits=15",
    ),
];

/// Autobahn's 18 (size, frame size) combinations; 0 = unfragmented.
const SIZES: [(usize, usize); 18] = [
    (16, 0),
    (64, 0),
    (256, 0),
    (1024, 0),
    (4096, 0),
    (8192, 0),
    (16384, 0),
    (32768, 0),
    (65536, 0),
    (131_072, 0),
    (8192, 256),
    (16384, 256),
    (32768, 256),
    (65536, 256),
    (131_072, 256),
    (131_072, 1024),
    (131_072, 4096),
    (131_072, 32768),
];

fn text(seed: usize, len: usize) -> Vec<u8> {
    const WORDS: [&str; 8] = [
        "Faust ",
        "Mephisto ",
        "und ",
        "der ",
        "Geist, ",
        "der stets verneint. ",
        "Lena ",
        "\u{e4}\u{f6}\u{fc} ",
    ];
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    let mut v = Vec::with_capacity(len + 32);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(WORDS[x % WORDS.len()].as_bytes());
    }
    v.truncate(len);
    v
}

fn exchange(case: &str, params: &DeflateParams, sender: Role, config: &DeflateConfig) {
    let receiver = if sender == Role::Server {
        Role::Client
    } else {
        Role::Server
    };
    let mut tx = PerMessageDeflate::new(params, sender, config);
    let mut rx = PerMessageDeflate::new(params, receiver, config);
    for (i, &(size, frame)) in SIZES.iter().enumerate() {
        for n in 0..4 {
            let msg = text(i * 100 + n, size);
            let mut wire = BytesMut::new();
            tx.compress(&msg, true, &mut wire);
            let frames: Vec<&[u8]> = if frame == 0 {
                vec![&wire[..]]
            } else {
                wire.chunks(frame).collect()
            };
            let mut out = BytesMut::new();
            for (k, f) in frames.iter().enumerate() {
                let left = size - out.len();
                rx.inflate(f, k + 1 == frames.len(), left, &mut out)
                    .unwrap_or_else(|e| panic!("{case} {sender:?} size {size}/{frame}: {e}"));
            }
            assert!(out[..] == msg[..], "{case} {sender:?} size {size}/{frame}");
        }
    }
}

#[test]
fn autobahn_13_server_role() {
    let config = DeflateConfig::default();
    for (case, offer) in SERVER_CASES {
        let offers = ExtensionOffer::parse_list(offer).unwrap();
        let (params, _) =
            negotiate_server(&offers, &config).unwrap_or_else(|| panic!("{case}: declined"));
        if offer.contains("server_max_window_bits=9") {
            assert_eq!(params.server_max_window_bits(), 9, "{case}");
        }
        assert!(
            params.client_no_context_takeover(),
            "{case}: offered, echoed"
        );
        exchange(case, &params, Role::Server, &config);
        exchange(case, &params, Role::Client, &config);
    }
}

#[test]
fn autobahn_13_client_role() {
    let config = DeflateConfig::default();
    assert_eq!(
        client_offer(&config),
        "permessage-deflate; client_max_window_bits"
    );
    for (case, response) in CLIENT_CASES {
        let resp = ExtensionOffer::parse_list(response).unwrap();
        let params = negotiate_client(&config, &resp).unwrap().unwrap();
        if response.contains("=9") {
            assert_eq!(params.client_max_window_bits(), 9, "{case}");
        }
        exchange(case, &params, Role::Client, &config);
        exchange(case, &params, Role::Server, &config);
    }
}
