//! Memory per connection of the permessage-deflate engine, measured with a
//! counting allocator, for each window and level; and the heap a zip bomb
//! can cost while inflating. Counted per thread.
#![cfg(feature = "deflate")]

mod counting;

use bytes::BytesMut;
use counting::{live, peak, reset_peak};
use pushcodec::ws::Role;
use pushcodec::ws::deflate::{DeflateConfig, InflateError, PerMessageDeflate, negotiate_server};
use pushcodec::ws::handshake::ExtensionOffer;

fn engine(bits: u8, level: u32, nct: bool) -> (PerMessageDeflate, PerMessageDeflate) {
    let mut offer =
        format!("permessage-deflate; server_max_window_bits={bits}; client_max_window_bits={bits}");
    if nct {
        offer.push_str("; server_no_context_takeover; client_no_context_takeover");
    }
    let offers = ExtensionOffer::parse_list(&offer).unwrap();
    let mut c = DeflateConfig::default();
    c.level = level;
    c.server_max_window_bits = bits;
    c.client_max_window_bits = bits;
    let (p, _) = negotiate_server(&offers, &c).unwrap();
    (
        PerMessageDeflate::new(&p, Role::Server, &c),
        PerMessageDeflate::new(&p, Role::Client, &c),
    )
}

/// zlib's documented estimate (zconf.h): deflate `(1 << (w+2)) +
/// (1 << (memLevel+9))` with memLevel 8, inflate `1 << w` (we inflate with
/// 15), each plus a few KiB of state. zlib-rs keeps a bigger hash table, so
/// the measured figures (documented in `ws::deflate`) are up to ~1.8x this.
fn formula(bits: u8) -> isize {
    (1 << (bits + 2)) + (1 << 17) + (1 << 15)
}

#[test]
fn memory_per_connection_and_zip_bomb_peak() {
    let msg: Vec<u8> = (0..65_536u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut table = String::new();
    for bits in (9..=15u8).rev() {
        for level in [0, 1, 6, 9] {
            let before = live();
            let (mut ours, mut peer) = engine(bits, level, false);
            assert_eq!(live(), before, "nothing allocated before the first message");
            let mut wire = BytesMut::new();
            ours.compress(&msg, true, &mut wire);
            let mut out = BytesMut::new();
            peer.inflate(&wire, true, msg.len(), &mut out).unwrap();
            let mut echo = BytesMut::new();
            peer.compress(&out, true, &mut echo);
            out.clear();
            ours.inflate(&echo, true, msg.len(), &mut out).unwrap();
            assert_eq!(&out[..], &msg[..]);
            drop((wire, out, echo));
            let both = live() - before;
            drop(peer);
            // One connection holds one engine: its compressor and inflater.
            let one = live() - before;
            assert_eq!(one * 2, both);
            drop(ours);
            assert_eq!(live(), before, "the engine frees everything it took");
            // With no context takeover both ways, the contexts are reset
            // between messages (kept for the next one while busy) and
            // nothing stays once the connection goes idle.
            let before = live();
            let (mut ours, mut peer) = engine(bits, level, true);
            let mut wire = BytesMut::new();
            ours.compress(&msg, true, &mut wire);
            let mut out = BytesMut::new();
            peer.inflate(&wire, true, msg.len(), &mut out).unwrap();
            assert_eq!(&out[..], &msg[..]);
            drop((wire, out));
            let busy = live() - before;
            assert_eq!(busy, one, "kept for the next message: {busy}");
            ours.release_idle();
            peer.release_idle();
            assert_eq!(
                live(),
                before,
                "idle without context takeover holds nothing"
            );
            drop((ours, peer));
            // The two halves, measured on the backend directly.
            let before = live();
            let c = flate2::Compress::new_with_window_bits(
                flate2::Compression::new(level),
                false,
                bits,
            );
            let compressor = live() - before;
            drop(c);
            let d = flate2::Decompress::new_with_window_bits(false, 15);
            let inflater = live() - before;
            drop(d);
            assert_eq!(
                compressor + inflater,
                one,
                "{bits} {level} c {compressor} i {inflater} both {both}"
            );
            assert!(inflater < 64 << 10, "inflater {inflater}");
            table.push_str(&format!(
                "| {bits} | {level} | {compressor} | {inflater} | {one} |\n"
            ));
            let f = formula(bits);
            assert!(
                one > f / 2 && one < f * 2,
                "window {bits} level {level}: {one} bytes, zlib formula {f}"
            );
        }
    }
    eprintln!("| window | level | compressor | inflater | per connection |\n{table}");

    // Zip bomb: 64 MiB of zeros, refused at a 1 MiB budget. The caller
    // reserves its message buffer once; inflate itself allocates no more
    // than the inflater's own window and state.
    let (mut tx, mut rx) = engine(15, 9, false);
    let mut bomb = BytesMut::new();
    tx.compress(&vec![0u8; 64 << 20], true, &mut bomb);
    drop(tx);
    assert!(bomb.len() < 100 << 10, "{}", bomb.len());
    let budget = 1 << 20;
    let mut out = BytesMut::with_capacity(budget);
    // The inflater exists already (a first message), as on a busy
    // connection; its creation is measured above.
    rx.inflate(
        &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
        true,
        5,
        &mut out,
    )
    .unwrap();
    out.clear();
    let base = live();
    reset_peak();
    let err = rx.inflate(&bomb, true, budget, &mut out).unwrap_err();
    let peak = peak() - base;
    assert_eq!(err, InflateError::TooLarge { budget });
    assert!(out.len() <= budget);
    assert!(out.capacity() <= budget, "the output buffer never grew");
    eprintln!(
        "zip bomb: {} compressed bytes, heap peak during inflate {peak} bytes",
        bomb.len()
    );
    assert!(peak < 64 << 10, "inflate allocated {peak} bytes");
}
