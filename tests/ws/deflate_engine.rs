//! RFC 7692 §7.2: the permessage-deflate engine through the public API:
//! the §7.2.3 example bytes, the inflate budget (zip bombs), context
//! takeover, window limits, and a compress→inflate round-trip property.
#![cfg(feature = "deflate")]

use bytes::BytesMut;
use proptest::prelude::*;
use pushcodec::ws::deflate::{
    DeflateConfig, DeflateParams, InflateError, PerMessageDeflate, negotiate_server,
};
use pushcodec::ws::handshake::ExtensionOffer;
use pushcodec::ws::{CloseCode, Role};

const HELLO: &[u8] = &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
const BIG: usize = 1 << 20;

/// Params as a server would agree them for this offer.
fn params(offer: &str) -> DeflateParams {
    let offers = ExtensionOffer::parse_list(offer).unwrap();
    negotiate_server(&offers, &DeflateConfig::default())
        .unwrap()
        .0
}

fn pair(offer: &str) -> (PerMessageDeflate, PerMessageDeflate) {
    let p = params(offer);
    let c = DeflateConfig::default();
    (
        PerMessageDeflate::new(&p, Role::Client, &c),
        PerMessageDeflate::new(&p, Role::Server, &c),
    )
}

fn compress(e: &mut PerMessageDeflate, msg: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    e.compress(msg, true, &mut out);
    out.to_vec()
}

fn inflate(e: &mut PerMessageDeflate, payload: &[u8]) -> Result<Vec<u8>, InflateError> {
    let mut out = BytesMut::new();
    e.inflate(payload, true, BIG, &mut out)?;
    Ok(out.to_vec())
}

/// Inflates `payload` whole, byte by byte and at every two-way split, each
/// on a fresh receiver; all must give `want`.
fn inflate_all_splits(payload: &[u8], want: &[u8]) {
    let (_, mut rx) = pair("permessage-deflate");
    assert_eq!(inflate(&mut rx, payload).unwrap(), want, "whole");
    let (_, mut rx) = pair("permessage-deflate");
    let mut out = BytesMut::new();
    for (i, b) in payload.iter().enumerate() {
        let left = BIG - out.len();
        rx.inflate(&[*b], i + 1 == payload.len(), left, &mut out)
            .unwrap();
    }
    assert_eq!(&out[..], want, "byte by byte");
    for cut in 0..=payload.len() {
        let (_, mut rx) = pair("permessage-deflate");
        let mut out = BytesMut::new();
        rx.inflate(&payload[..cut], false, BIG, &mut out).unwrap();
        let left = BIG - out.len();
        rx.inflate(&payload[cut..], true, left, &mut out).unwrap();
        assert_eq!(&out[..], want, "split at {cut}");
    }
}

#[test]
fn rfc7692_7_2_3_1_hello_compressed() {
    let (mut tx, _) = pair("permessage-deflate");
    assert_eq!(compress(&mut tx, b"Hello"), HELLO);
    inflate_all_splits(HELLO, b"Hello");
}

#[test]
fn rfc7692_7_2_3_1_fragmented_hello() {
    // The two frames `41 03 f2 48 cd` and `80 04 c9 c9 07 00`.
    let (_, mut rx) = pair("permessage-deflate");
    let mut out = BytesMut::new();
    rx.inflate(&[0xf2, 0x48, 0xcd], false, BIG, &mut out)
        .unwrap();
    rx.inflate(&[0xc9, 0xc9, 0x07, 0x00], true, BIG, &mut out)
        .unwrap();
    assert_eq!(&out[..], b"Hello");
}

#[test]
fn rfc7692_7_2_3_2_context_takeover_second_hello() {
    let (mut tx, mut rx) = pair("permessage-deflate");
    assert_eq!(compress(&mut tx, b"Hello"), HELLO);
    let second = compress(&mut tx, b"Hello");
    assert_eq!(second, [0xf2, 0x00, 0x11, 0x00, 0x00]);
    assert_eq!(inflate(&mut rx, HELLO).unwrap(), b"Hello");
    assert_eq!(inflate(&mut rx, &second).unwrap(), b"Hello");
}

#[test]
fn rfc7692_7_1_1_no_context_takeover_repeats_first_form() {
    // Our compressor resets after each message, and the peer's inflater
    // (told so) resets too: the second "Hello" is the first one again.
    let (mut tx, mut rx) = pair("permessage-deflate; client_no_context_takeover");
    assert_eq!(compress(&mut tx, b"Hello"), HELLO);
    assert_eq!(compress(&mut tx, b"Hello"), HELLO);
    assert_eq!(inflate(&mut rx, HELLO).unwrap(), b"Hello");
    assert_eq!(inflate(&mut rx, HELLO).unwrap(), b"Hello");
}

#[test]
fn rfc7692_7_2_3_3_stored_block() {
    inflate_all_splits(
        &[
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ],
        b"Hello",
    );
}

#[test]
fn rfc7692_7_2_3_4_bfinal_block_then_reset() {
    let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    inflate_all_splits(&bfinal, b"Hello");
    // Without the extra `00` too.
    inflate_all_splits(&bfinal[..7], b"Hello");
    // The stream ended: the inflater is recreated, so the next message
    // (with context takeover) still inflates.
    let (_, mut rx) = pair("permessage-deflate");
    assert_eq!(inflate(&mut rx, &bfinal).unwrap(), b"Hello");
    assert_eq!(inflate(&mut rx, HELLO).unwrap(), b"Hello");
}

#[test]
fn rfc7692_7_2_3_4_data_after_bfinal_is_refused() {
    let (_, mut rx) = pair("permessage-deflate");
    let bad = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x01];
    assert!(matches!(
        inflate(&mut rx, &bad),
        Err(InflateError::Corrupt { .. })
    ));
    // The engine was reset: a good message inflates.
    assert_eq!(inflate(&mut rx, HELLO).unwrap(), b"Hello");
}

#[test]
fn rfc7692_7_2_3_5_two_deflate_blocks() {
    inflate_all_splits(
        &[
            0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
        ],
        b"Hello",
    );
}

#[test]
fn rfc7692_7_2_3_6_empty_message() {
    let (mut tx, mut rx) = pair("permessage-deflate");
    let empty = compress(&mut tx, b"");
    assert_eq!(empty, [0x00]);
    assert_eq!(inflate(&mut rx, &empty).unwrap(), b"");
    // Context kept across the empty message.
    let hello = compress(&mut tx, b"Hello");
    assert_eq!(inflate(&mut rx, &hello).unwrap(), b"Hello");
    // An empty message right after a sync flush: the backend emits nothing
    // for a repeated flush, the engine still sends `00`.
    assert_eq!(compress(&mut tx, b""), [0x00]);
    assert_eq!(inflate(&mut rx, &[0x00]).unwrap(), b"");
    let hello = compress(&mut tx, b"Hello");
    assert_eq!(hello, [0xf2, 0x00, 0x11, 0x00, 0x00], "context still kept");
    assert_eq!(inflate(&mut rx, &hello).unwrap(), b"Hello");
}

#[test]
fn zero_length_compressed_payload_is_an_empty_message() {
    // Feeding only the tail would leave the inflater inside a stored block
    // and break the next message; the engine must not feed it.
    let (mut tx, mut rx) = pair("permessage-deflate");
    assert_eq!(inflate(&mut rx, &[]).unwrap(), b"");
    let first = compress(&mut tx, b"Hello");
    assert_eq!(inflate(&mut rx, &first).unwrap(), b"Hello");
    assert_eq!(inflate(&mut rx, &[]).unwrap(), b"");
    let second = compress(&mut tx, b"Hello");
    assert_eq!(inflate(&mut rx, &second).unwrap(), b"Hello");
}

#[test]
fn streaming_sender_keeps_tails_of_non_final_pieces() {
    let (mut tx, mut rx) = pair("permessage-deflate");
    let mut frames = Vec::new();
    for (piece, fin) in [(&b"Hel"[..], false), (b"lo", false), (b"", true)] {
        let mut out = BytesMut::new();
        tx.compress(piece, fin, &mut out);
        frames.push(out.to_vec());
    }
    assert!(frames[0].ends_with(&[0, 0, 0xff, 0xff]));
    assert_eq!(
        frames[2],
        [0x00],
        "an empty final piece still closes the block"
    );
    let mut out = BytesMut::new();
    for (i, f) in frames.iter().enumerate() {
        rx.inflate(f, i == 2, BIG, &mut out).unwrap();
    }
    assert_eq!(&out[..], b"Hello");
    let again = compress(&mut tx, b"Hello");
    assert_eq!(inflate(&mut rx, &again).unwrap(), b"Hello");
}

#[test]
fn corrupt_data_is_refused_and_the_engine_recovers() {
    let (_, mut rx) = pair("permessage-deflate");
    // BTYPE 11 is reserved (RFC 1951 §3.2.3).
    let err = inflate(&mut rx, &[0xff, 0xff, 0xff]).unwrap_err();
    assert_eq!(err, InflateError::Corrupt { offset: 0 });
    assert_eq!(err.close_code(), CloseCode::INVALID_PAYLOAD);
    assert_eq!(inflate(&mut rx, HELLO).unwrap(), b"Hello");
}

fn bomb(len: usize) -> Vec<u8> {
    let mut c = DeflateConfig::default();
    c.level = 9;
    let p = params("permessage-deflate");
    let mut tx = PerMessageDeflate::new(&p, Role::Client, &c);
    let mut out = BytesMut::new();
    tx.compress(&vec![0u8; len], true, &mut out);
    out.to_vec()
}

#[test]
fn zip_bomb_is_refused_at_the_budget() {
    // 16 MiB of zeros compress to ~16 KiB; the budget is 64 KiB.
    let payload = bomb(16 << 20);
    assert!(payload.len() < 32 << 10, "{}", payload.len());
    let budget = 64 << 10;
    let (_, mut rx) = pair("permessage-deflate");
    let mut out = BytesMut::new();
    let err = rx.inflate(&payload, true, budget, &mut out).unwrap_err();
    assert_eq!(err, InflateError::TooLarge { budget });
    assert_eq!(err.close_code(), CloseCode::MESSAGE_TOO_BIG); // RFC 6455 §7.4.1
    assert!(out.len() <= budget, "{} > {budget}", out.len());
    assert!(out.iter().all(|&b| b == 0));
}

#[test]
fn zip_bomb_across_fragments_with_the_remaining_budget() {
    let payload = bomb(4 << 20);
    let limit = 100_000;
    let (_, mut rx) = pair("permessage-deflate");
    let mut out = BytesMut::new();
    let mut result = Ok(());
    let pieces: Vec<&[u8]> = payload.chunks(700).collect();
    for (i, piece) in pieces.iter().enumerate() {
        let left = limit - out.len();
        result = rx.inflate(piece, i + 1 == pieces.len(), left, &mut out);
        assert!(out.len() <= limit);
        if result.is_err() {
            break;
        }
    }
    assert!(matches!(result, Err(InflateError::TooLarge { .. })));
}

#[test]
fn budget_is_exact() {
    let msg = vec![7u8; 10_000];
    for (budget, ok) in [(10_000, true), (9_999, false), (0, false)] {
        let (mut tx, mut rx) = pair("permessage-deflate");
        let payload = compress(&mut tx, &msg);
        let mut out = BytesMut::new();
        let r = rx.inflate(&payload, true, budget, &mut out);
        assert_eq!(r.is_ok(), ok, "budget {budget}");
        assert!(out.len() <= budget);
    }
    // An empty message fits a zero budget.
    let (_, mut rx) = pair("permessage-deflate");
    let mut out = BytesMut::new();
    rx.inflate(&[0x00], true, 0, &mut out).unwrap();
    assert!(out.is_empty());
}

#[test]
fn should_compress_follows_min_compress_size() {
    let mut c = DeflateConfig::default();
    c.min_compress_size = 100;
    let e = PerMessageDeflate::new(&params("permessage-deflate"), Role::Server, &c);
    assert!(!e.should_compress(99));
    assert!(e.should_compress(100));
}

/// Text that compresses (repeats) with some noise, from a seed.
fn corpus(seed: u64, len: usize) -> Vec<u8> {
    let words: [&[u8]; 6] = [
        b"{\"id\":",
        b"\"name\":\"",
        b"alpha",
        b"},",
        b"beta ",
        b"\xce\xbb ",
    ];
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if x.is_multiple_of(5) {
            v.push((x >> 24) as u8);
        } else {
            v.extend_from_slice(words[(x % 6) as usize]);
        }
    }
    v.truncate(len);
    v
}

fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

#[test]
fn rfc7692_7_1_2_compressor_honours_negotiated_window() {
    // Random blocks 1.5 windows long, repeated: the only redundancy lies
    // one block back, out of reach of a compressor that keeps to its
    // window, so the output is no smaller than the input. (zlib-rs's
    // inflater does not enforce a small window, so it cannot be the judge.)
    for bits in 9..=15u8 {
        let offer = format!("permessage-deflate; server_max_window_bits={bits}");
        let p = params(&offer);
        assert_eq!(p.server_max_window_bits(), bits);
        let mut tx = PerMessageDeflate::new(&p, Role::Server, &DeflateConfig::default());
        let mut rx = PerMessageDeflate::new(&p, Role::Client, &DeflateConfig::default());
        let block = noise(u64::from(bits), (3usize << bits) / 2);
        let msg: Vec<u8> = block
            .iter()
            .copied()
            .cycle()
            .take(block.len() * 4)
            .collect();
        let payload = compress(&mut tx, &msg);
        assert!(
            payload.len() * 10 > msg.len() * 9,
            "window {bits}: {} -> {} bytes reaches past the window",
            msg.len(),
            payload.len()
        );
        assert_eq!(inflate(&mut rx, &payload).unwrap(), msg);
        // Within the window the same compressor does compress.
        // (zlib reaches back at most the window less 262 bytes.)
        let near: Vec<u8> = block[..(1usize << bits) / 4].repeat(8);
        assert!(
            compress(&mut tx, &near).len() * 2 < near.len(),
            "window {bits}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn arbitrary_payloads_never_panic_and_stay_in_budget(
        payload in prop::collection::vec(any::<u8>(), 0..2_000),
        cut in 1usize..500,
        budget in 0usize..5_000,
        nct in any::<bool>(),
    ) {
        let (_, mut rx) = pair(if nct { "permessage-deflate; client_no_context_takeover" } else { "permessage-deflate" });
        for _ in 0..2 {
            let mut out = BytesMut::new();
            let chunks: Vec<&[u8]> = if payload.is_empty() { vec![&[]] } else { payload.chunks(cut).collect() };
            for (i, c) in chunks.iter().enumerate() {
                let left = budget - out.len();
                if rx.inflate(c, i + 1 == chunks.len(), left, &mut out).is_err() {
                    break;
                }
                prop_assert!(out.len() <= budget);
            }
            prop_assert!(out.len() <= budget);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn round_trip_any_fragmentation(
        msgs in prop::collection::vec((any::<u64>(), 0usize..20_000, 1usize..5_000), 1..6),
        server_nct in any::<bool>(),
        client_nct in any::<bool>(),
        bits in 9u8..=15,
        level in 0u32..=9,
        recv_cut in 1usize..3_000,
    ) {
        let mut offer = format!("permessage-deflate; client_max_window_bits={bits}; server_max_window_bits={bits}");
        if server_nct { offer.push_str("; server_no_context_takeover"); }
        if client_nct { offer.push_str("; client_no_context_takeover"); }
        let p = params(&offer);
        let mut c = DeflateConfig::default();
        c.level = level;
        for role in [Role::Client, Role::Server] {
            let peer = if role == Role::Client { Role::Server } else { Role::Client };
            let mut tx = PerMessageDeflate::new(&p, role, &c);
            let mut rx = PerMessageDeflate::new(&p, peer, &c);
            for &(seed, len, send_cut) in &msgs {
                let msg = corpus(seed, len);
                // Sender: the message in pieces, each a frame.
                let mut wire = BytesMut::new();
                let pieces: Vec<&[u8]> = if msg.is_empty() { vec![&[]] } else { msg.chunks(send_cut).collect() };
                for (i, piece) in pieces.iter().enumerate() {
                    tx.compress(piece, i + 1 == pieces.len(), &mut wire);
                }
                // Receiver: the payload cut elsewhere.
                let mut out = BytesMut::new();
                let chunks: Vec<&[u8]> = if wire.is_empty() { vec![&[]] } else { wire.chunks(recv_cut).collect() };
                for (i, chunk) in chunks.iter().enumerate() {
                    let left = msg.len() - out.len();
                    rx.inflate(chunk, i + 1 == chunks.len(), left, &mut out).unwrap();
                }
                prop_assert_eq!(&out[..], &msg[..]);
            }
        }
    }
}

#[test]
fn the_boxed_engine_state_is_as_small_as_the_module_docs_say() {
    // src/ws/deflate/mod.rs: "boxes the engine's own state (under 400 bytes)".
    assert!(std::mem::size_of::<pushcodec::ws::deflate::PerMessageDeflate>() < 400);
}
