//! permessage-deflate (RFC 7692) beside Node `ws`, in the same run (issue
//! 10): compressed text throughput on a JSON-like stream, the bytes it
//! saves, and the memory of an idle compressed connection.
//!
//! The stream: 1000 chat and ticker events of 100–2000 bytes (seeded, the
//! same every run). One iteration = the whole stream, with the connection
//! kept across iterations (its compression context too, when taken over).
//!
//! - `deflate_compress/*`: a server sends every event as a compressed text
//!   message (level 6, 15-bit window, every message compressed). pushcodec:
//!   `send_text` then drain `poll_transmit`. Node: `ws`'s `Sender` with its
//!   `PerMessageDeflate`, into an in-memory sink.
//! - `deflate_decode/*`: a server receives the stream as masked, compressed
//!   client frames in reads of at most 64 KiB and materializes every message
//!   (inflated, UTF-8 validated). pushcodec: `handle_read` then drain
//!   `poll_event`. Node: `ws`'s `Receiver`.
//! - `*_context_takeover` / `*_no_context_takeover`: the contexts are kept
//!   across messages, or reset after each one in both directions.
//!
//! The Node rows run in one long-lived `node tests/interop/ws/deflate_peer.js`
//! (see that file for exactly what it times); criterion's `iter_custom` takes
//! the time Node measured with `process.hrtime.bigint()` for the batches. If
//! `node` or `ws` is missing, those rows are skipped with a note on stderr.
//!
//! - `deflate_fanout/*` (issue 17): 50 events of the stream broadcast to 100
//!   server connections with `send_prepared`, each drained: compressed once
//!   per parameter set (`PreparedMessage::with_compression`, connections
//!   without context takeover), compressed per connection (the same
//!   connections given a message not prepared for them; connections with
//!   context takeover), and uncompressed. Throughput per message per
//!   connection; the bytes each row puts on the wire go to stderr.
//!
//! Before timing, every row's output is checked: pushcodec's wire inflates
//! back to the exact stream (through flate2 directly, not our engine); Node's
//! wire decodes through a pushcodec client to the same messages; both decode
//! rows produce the exact messages. Once per run a report (bytes on the wire,
//! memory per idle connection; under `cargo bench` also Node's wall and CPU
//! time per batch) is printed to stderr. Results: benches/README.md.
//!
//! `cargo bench --bench deflate` (all), `cargo bench --bench deflate -- --test`
//! (checks only).

mod common;
/// The Node rows' peer process.
#[path = "deflate/node.rs"]
mod node;
// Counts live heap bytes of this thread for the memory report (measured on
// the main thread): a thread-local add per allocation, negligible next to deflate.
#[path = "../tests/counting/mod.rs"]
mod counting;

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use common::{READ, XorShift, config};
use counting::live;
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use node::{NodePeer, split_messages};
use pushcodec::Utf8Bytes;
use pushcodec::ws::deflate::{DeflateConfig, DeflateParams, PerMessageDeflate, negotiate_server};
use pushcodec::ws::handshake::ExtensionOffer;
use pushcodec::ws::{Config, Connection, Event, PreparedMessage, Role};

// --- the stream --------------------------------------------------------------

const EVENTS: usize = 1000;

const WORDS: &str = "the deploy is green again 👍 can you check größe of that build ça marche now \
                     lunch at noon? PR #4711 looks good to me 🎉 merged thanks naïve rebase please ✓";
const USERS: &str = "alice bob chloé dmitri eve françois grace jürgen";
const ROOMS: &str = "general ops random release-2026.11";
const SYMBOLS: &str = "BTC-USD ETH-USD SOL-USD EUR-USD AAPL";

fn pick<'a>(rng: &mut XorShift, from: &'a str) -> &'a str {
    let n = rng.next_u32() as usize % from.split_whitespace().count();
    from.split_whitespace().nth(n).unwrap_or_default()
}

/// A chat message whose text grows word by word up to about `target` bytes.
fn chat(seq: usize, target: usize, rng: &mut XorShift) -> String {
    let uid = rng.next_u32() % 10_000;
    let mut s = format!(
        "{{\"type\":\"chat.message\",\"seq\":{seq},\"room\":\"{}\",\"user\":{{\"id\":{uid},\
         \"name\":\"{}\",\"avatar\":\"https://cdn.example.com/a/{uid}.png\"}},\"text\":\"",
        pick(rng, ROOMS),
        pick(rng, USERS),
    );
    let tail = format!(
        "\",\"ts\":\"2026-11-25T19:{:02}:{:02}.{:03}Z\"}}",
        rng.next_u32() % 60,
        rng.next_u32() % 60,
        rng.next_u32() % 1000
    );
    let mut first = true;
    loop {
        let w = pick(rng, WORDS);
        if s.len() + w.len() + 1 + tail.len() > target && !first {
            break;
        }
        if !first {
            s.push(' ');
        }
        s.push_str(w);
        first = false;
    }
    s + &tail
}

/// A ticker update with trades appended up to about `target` bytes.
fn ticker(seq: usize, target: usize, rng: &mut XorShift) -> String {
    let base = 100 + rng.next_u32() % 50_000;
    let mut s = format!(
        "{{\"type\":\"ticker\",\"seq\":{seq},\"symbol\":\"{}\",\"bid\":\"{base}.{:02}\",\
         \"ask\":\"{base}.{:02}\",\"volume_24h\":\"{}.{:04}\",\"trades\":[",
        pick(rng, SYMBOLS),
        rng.next_u32() % 100,
        rng.next_u32() % 100,
        rng.next_u32() % 1_000_000,
        rng.next_u32() % 10_000,
    );
    let mut first = true;
    loop {
        let t = format!(
            "{}{{\"id\":{},\"px\":\"{base}.{:02}\",\"qty\":\"0.{:04}\",\"side\":\"{}\",\"t\":{}}}",
            if first { "" } else { "," },
            9_000_000 + rng.next_u32() % 1_000_000,
            rng.next_u32() % 100,
            rng.next_u32() % 10_000,
            pick(rng, "buy sell"),
            1_795_000_000_000u64 + u64::from(rng.next_u32() % 1_000_000),
        );
        if s.len() + t.len() + 2 > target && !first {
            break;
        }
        s.push_str(&t);
        first = false;
    }
    s + "]}"
}

/// The deterministic stream: 1000 events of 100–2000 bytes, two in three
/// chat messages, the rest ticker updates.
fn stream() -> Vec<Utf8Bytes> {
    let mut rng = XorShift(0x5EED_DEF1_A7E0_0010);
    (0..EVENTS)
        .map(|seq| {
            let target = 100 + rng.next_u32() as usize % 1901;
            let s = if rng.next_u32().is_multiple_of(3) {
                ticker(seq, target, &mut rng)
            } else {
                chat(seq, target, &mut rng)
            };
            Utf8Bytes::from(s)
        })
        .collect()
}

// --- pushcodec's side --------------------------------------------------------

const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Both directions keep or both reset their contexts; every message is
/// compressed (as the Node rows, threshold 0); level 6, 15-bit windows.
fn negotiated(nct: bool, bits: u8) -> (DeflateParams, DeflateConfig) {
    let mut offer =
        format!("permessage-deflate; server_max_window_bits={bits}; client_max_window_bits={bits}");
    if nct {
        offer.push_str("; server_no_context_takeover; client_no_context_takeover");
    }
    let mut config = DeflateConfig::default();
    config.min_compress_size = 0;
    config.server_max_window_bits = bits;
    config.client_max_window_bits = bits;
    let offers = ExtensionOffer::parse_list(&offer).expect("valid offer");
    let (params, _) = negotiate_server(&offers, &config).expect("accepted");
    (params, config)
}

fn connection(role: Role, nct: bool) -> Connection {
    let (params, config) = negotiated(nct, 15);
    Connection::new(role, Config::default()).with_deflate(&params, &config)
}

/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn ours_send(conn: &mut Connection, msgs: &[Utf8Bytes], mut out: impl FnMut(&[u8])) {
    for m in msgs {
        conn.send_text(m.clone()).expect("open connection");
        while let Some(bytes) = conn.poll_transmit() {
            out(&bytes);
        }
    }
}

/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn ours_decode(conn: &mut Connection, wire: &[u8], mut on: impl FnMut(&[u8])) {
    for chunk in wire.chunks(READ) {
        conn.handle_read(chunk);
        while let Some(event) = conn.poll_event().expect("valid input") {
            match event {
                // `as_bytes`, not `as_str`: no second validation.
                Event::Text(t) => on(t.as_bytes()),
                other => panic!("unexpected {other:?}"),
            }
        }
        while let Some(out) = conn.poll_transmit() {
            black_box(out);
        }
    }
}

/// `(first byte, unmasked payload)` of each frame in `buf` (test-only,
/// trusts lengths). Not `common::parse_frames`: the checks need RSV1,
/// which that one drops.
fn frames(mut buf: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let mut at = 2;
        let len = match buf[1] & 0x7F {
            126 => {
                at += 2;
                u16::from_be_bytes([buf[2], buf[3]]) as usize
            }
            127 => {
                at += 8;
                u64::from_be_bytes(buf[2..10].try_into().unwrap()) as usize
            }
            n => n as usize,
        };
        let mut key = [0; 4];
        if buf[1] & 0x80 != 0 {
            key.copy_from_slice(&buf[at..at + 4]);
            at += 4;
        }
        let mut payload = buf[at..at + len].to_vec();
        payload
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b ^= key[i % 4]);
        out.push((buf[0], payload));
        buf = &buf[at + len..];
    }
    out
}

/// Inflates compressed server frames with flate2 directly (not through our
/// engine), checking that each is one whole compressed text message.
fn inflate_independently(wire: &[u8], nct: bool) -> Vec<Vec<u8>> {
    let payloads = frames(wire).into_iter().map(|(b0, payload)| {
        assert_eq!(b0, 0x80 | 0x40 | 0x1, "FIN, RSV1 and text on every frame");
        payload
    });
    inflate_payloads(payloads, nct)
}

/// Inflates permessage-deflate payloads (without their tail) with flate2.
fn inflate_payloads(payloads: impl Iterator<Item = Vec<u8>>, nct: bool) -> Vec<Vec<u8>> {
    let with_tail: Vec<Vec<u8>> = payloads.map(|p| [&p[..], &TAIL].concat()).collect();
    let mut d = Decompress::new(false);
    collect(|on| flate2_inflate(&mut d, &with_tail, nct, &mut Vec::new(), on))
}

// --- limit rows: the backend alone ---------------------------------------------

/// flate2 (zlib-rs) alone: each message compressed with a sync flush and
/// its tail cut, as the engine does, without framing or buffers handed out.
/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn flate2_compress(
    c: &mut Compress,
    msgs: &[Utf8Bytes],
    nct: bool,
    out: &mut Vec<u8>,
    mut sink: impl FnMut(&[u8]),
) {
    for m in msgs {
        let m = m.as_bytes();
        out.clear();
        let start = c.total_in();
        loop {
            out.reserve(m.len() / 2 + 64);
            let used = (c.total_in() - start) as usize;
            c.compress_vec(&m[used..], out, FlushCompress::Sync)
                .expect("compress");
            if c.total_in() - start == m.len() as u64 && out.len() < out.capacity() {
                break;
            }
        }
        sink(&out[..out.len() - TAIL.len()]);
        if nct {
            c.reset();
        }
    }
}

/// flate2 (zlib-rs) alone: each payload (tail appended beforehand)
/// inflated into a reused buffer; no UTF-8 validation, nothing handed out.
/// Not inlined, so profilers can count calls and cost per iteration.
#[inline(never)]
fn flate2_inflate(
    d: &mut Decompress,
    payloads: &[Vec<u8>],
    nct: bool,
    out: &mut Vec<u8>,
    mut on: impl FnMut(&[u8]),
) {
    for p in payloads {
        out.clear();
        let start = d.total_in();
        while d.total_in() - start < p.len() as u64 {
            out.reserve(4096);
            let used = (d.total_in() - start) as usize;
            d.decompress_vec(&p[used..], out, FlushDecompress::Sync)
                .expect("valid deflate data");
        }
        on(out);
        if nct {
            d.reset(false);
        }
    }
}

fn compressor() -> Compress {
    Compress::new_with_window_bits(Compression::new(6), false, 15)
}

/// Decodes server frames through a pushcodec client with the same
/// agreement (our inflater).
fn decode_as_client(wire: &[u8], nct: bool) -> Vec<Vec<u8>> {
    collect(|on| ours_decode(&mut connection(Role::Client, nct), wire, on))
}

fn as_vecs(msgs: &[Utf8Bytes]) -> Vec<Vec<u8>> {
    msgs.iter().map(|m| m.as_bytes().to_vec()).collect()
}

// --- the report ----------------------------------------------------------------

fn header_len(payload: usize) -> usize {
    match payload {
        0..=125 => 2,
        126..=0xFFFF => 4,
        _ => 10,
    }
}

/// size_of, heap when new, heap between messages (after one compressed
/// message each way) and once idle (after `handle_timeout`), of a server
/// `Connection` with deflate agreed at `bits`; and the heap of the engine
/// alone (`PerMessageDeflate`) after the same and `release_idle`.
fn idle_memory(msg: &Utf8Bytes, bits: u8, nct: bool) -> (usize, isize, isize, isize, isize) {
    let (params, config) = negotiated(nct, bits);
    // The client's frame is made before counting starts.
    let mut client = Connection::client(Config::default()).with_deflate(&params, &config);
    client.send_text(msg.clone()).expect("open");
    let mut wire = Vec::new();
    while let Some(b) = client.poll_transmit() {
        wire.extend_from_slice(&b);
    }
    drop(client);

    let base = live();
    let mut conn = Connection::server(Config::default()).with_deflate(&params, &config);
    let heap_new = live() - base;
    conn.handle_read(&wire);
    match conn.poll_event().expect("valid frame") {
        Some(Event::Text(t)) => assert_eq!(t.as_bytes(), msg.as_bytes()),
        other => panic!("unexpected {other:?}"),
    }
    assert!(conn.poll_event().expect("valid frame").is_none());
    conn.send_text(msg.clone()).expect("open");
    while let Some(b) = conn.poll_transmit() {
        assert_eq!(b[0], 0xC1, "compressed");
    }
    let heap_busy = live() - base;
    // The drive loop passes the time; a drained connection then gives back
    // what it keeps only for the next message.
    conn.handle_timeout(std::time::Instant::now());
    let heap_idle = live() - base;
    drop(conn);

    let payload = frames(&wire).swap_remove(0).1;
    let base = live();
    let mut engine = PerMessageDeflate::new(&params, Role::Server, &config);
    let mut out = bytes::BytesMut::new();
    engine.compress(msg.as_bytes(), true, &mut out);
    let mut text = bytes::BytesMut::new();
    engine
        .inflate(&payload, true, msg.len(), &mut text)
        .expect("valid");
    assert_eq!(&text[..], msg.as_bytes());
    drop((out, text));
    engine.release_idle();
    let engine_heap = live() - base;
    (
        std::mem::size_of::<Connection>(),
        heap_new,
        heap_busy,
        heap_idle,
        engine_heap,
    )
}

/// The bytes and memory tables, printed once per run.
fn report(
    msgs: &[Utf8Bytes],
    ours: &[(bool, Vec<u8>)],
    node: &[(bool, Vec<u8>)],
    node_note: &str,
) -> String {
    let raw: usize = msgs.iter().map(Utf8Bytes::len).sum();
    let frames_plain: usize = msgs.iter().map(|m| m.len() + header_len(m.len())).sum();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\npermessage-deflate report ({EVENTS} events, server -> client frames, level 6, \
         15-bit windows, every message compressed; Node: {node_note})\n"
    );
    let _ = writeln!(
        s,
        "| context | raw payload | uncompressed frames | pushcodec wire | Node ws wire | pushcodec ÷ raw | Node ws ÷ raw | pushcodec ÷ Node ws |\n|---|---|---|---|---|---|---|---|"
    );
    for (nct, wire) in ours {
        let node_len = node.iter().find(|(n, _)| n == nct).map(|(_, w)| w.len());
        let ratio = |n: usize| format!("{:.3}", n as f64 / raw as f64);
        let _ = writeln!(
            s,
            "| {} | {raw} | {frames_plain} | {} | {} | {} | {} | {} |",
            context_name(*nct),
            wire.len(),
            node_len.map_or("n/a".into(), |n| n.to_string()),
            ratio(wire.len()),
            node_len.map_or("n/a".into(), ratio),
            node_len.map_or("n/a".into(), |n| format!(
                "{:.3}",
                wire.len() as f64 / n as f64
            )),
        );
    }
    let big = msgs
        .iter()
        .find(|m| (1000..1100).contains(&m.len()))
        .expect("a message of about 1 KiB");
    let _ = writeln!(
        s,
        "\nMemory of a server `Connection` with permessage-deflate agreed (heap by a \
         counting allocator; \"between messages\" = after receiving and sending one compressed \
         {} B message, all outputs dropped; \"idle\" = then `handle_timeout`; \"engine alone\" = \
         `PerMessageDeflate` after the same and `release_idle`):\n",
        big.len()
    );
    let _ = writeln!(
        s,
        "| server window | context | size_of | heap, new | heap, between messages | heap, idle | engine alone, idle |\n|---|---|---|---|---|---|---|"
    );
    for bits in [15u8, 12, 9] {
        for nct in [false, true] {
            let (size, new, busy, idle, engine) = idle_memory(big, bits, nct);
            let _ = writeln!(
                s,
                "| {bits} | {} | {size} B | {new} B | {busy} B | {idle} B | {engine} B |",
                context_name(nct),
            );
        }
    }
    s
}

// --- the benches ---------------------------------------------------------------

fn context_name(nct: bool) -> &'static str {
    if nct {
        "no_context_takeover"
    } else {
        "context_takeover"
    }
}

fn sink(b: &[u8]) {
    black_box(b);
}

fn collect(run: impl FnOnce(&mut dyn FnMut(&[u8]))) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    run(&mut |b| got.push(b.to_vec()));
    got
}

/// Wire bytes per setting (`true`: no context takeover).
type Wires = Vec<(bool, Vec<u8>)>;

/// Checks every row once, outside the timed loop; returns the wire of a
/// fresh connection of pushcodec and of Node for each setting.
fn check_rows(
    msgs: &[Utf8Bytes],
    wires: &[(bool, Vec<u8>)],
    payloads: &[Vec<Vec<u8>>],
    mut node: Option<&mut NodePeer>,
) -> (Wires, Wires) {
    let expected = as_vecs(msgs);
    let (mut ours_wire, mut node_wire) = (Vec::new(), Vec::new());
    for nct in [false, true] {
        let name = context_name(nct);
        let mut server = connection(Role::Server, nct);
        let wire = collect(|on| ours_send(&mut server, msgs, on)).concat();
        let ok = inflate_independently(&wire, nct) == expected;
        assert!(
            ok,
            "pushcodec compress {name}: the wire does not inflate to the stream"
        );
        ours_wire.push((nct, wire));
        let mut server = connection(Role::Server, nct);
        let got = collect(|on| ours_decode(&mut server, &wires[usize::from(nct)].1, on));
        assert!(got == expected, "pushcodec decode {name}");

        let got = collect(|on| flate2_compress(&mut compressor(), msgs, nct, &mut Vec::new(), on));
        let ok = inflate_payloads(got.into_iter(), nct) == expected;
        assert!(ok, "limit_flate2 compress {name}");
        let mut d = Decompress::new(false);
        let got = collect(|on| {
            flate2_inflate(
                &mut d,
                &payloads[usize::from(nct)],
                nct,
                &mut Vec::new(),
                on,
            )
        });
        assert!(got == expected, "limit_flate2 inflate {name}");

        let Some(peer) = node.as_deref_mut() else {
            continue;
        };
        if nct {
            let (_, _, out) = peer.run("zlib_compress", nct, 1, true, true);
            let ok = inflate_payloads(split_messages(&out).into_iter(), nct) == expected;
            assert!(ok, "limit_node_zlib_sync compress {name}");
            let (_, _, out) = peer.run("zlib_decode", nct, 1, true, true);
            assert!(
                split_messages(&out) == expected,
                "limit_node_zlib_sync decode {name}"
            );
        }
        let (_, _, wire) = peer.run("compress", nct, 1, true, true);
        let ok = frames(&wire).iter().all(|(b0, _)| *b0 == 0xC1);
        assert!(
            ok,
            "node_ws compress {name}: every frame a compressed text message"
        );
        let ok = decode_as_client(&wire, nct) == expected;
        assert!(
            ok,
            "node_ws compress {name}: the wire does not decode to the stream"
        );
        node_wire.push((nct, wire));
        let (_, _, out) = peer.run("decode", nct, 1, true, true);
        assert!(split_messages(&out) == expected, "node_ws decode {name}");
    }
    (ours_wire, node_wire)
}

/// Node's wall and CPU time per batch of each ws row (its zlib work runs on
/// the thread pool, so the two differ); only under `cargo bench`.
fn node_cpu(peer: &mut NodePeer) -> String {
    let mut s = String::from(
        "\nNode ws per batch, 10 batches after the check (CPU = user + system of the node \
         process, all threads):\n\n| row | wall | CPU |\n|---|---|---|\n",
    );
    for row in ["compress", "decode"] {
        for nct in [false, true] {
            let (wall, cpu, _) = peer.run(row, nct, 10, false, false);
            let _ = writeln!(
                s,
                "| deflate_{row}/{}/node_ws | {:.1} ms | {:.1} ms |",
                context_name(nct),
                wall.as_secs_f64() * 100.0,
                cpu.as_secs_f64() * 100.0
            );
        }
    }
    s
}

fn deflate(c: &mut Criterion) {
    let msgs = stream();
    let raw: u64 = msgs.iter().map(|m| m.len() as u64).sum();
    let mut node = match NodePeer::start() {
        Ok(peer) => Some(peer),
        Err(why) => {
            eprintln!(
                "deflate bench: skipping the Node rows (node_ws, limit_node_zlib_sync): {why}"
            );
            None
        }
    };

    // Inputs of the decode rows: masked compressed client frames, made by
    // a pushcodec client (Node's decode of them checks them independently);
    // for the limit rows, their payloads unmasked with the tail appended.
    let wires: Vec<(bool, Vec<u8>)> = [false, true]
        .into_iter()
        .map(|nct| {
            let mut client = connection(Role::Client, nct);
            (
                nct,
                collect(|on| ours_send(&mut client, &msgs, on)).concat(),
            )
        })
        .collect();
    let payloads: Vec<Vec<Vec<u8>>> = wires
        .iter()
        .map(|(_, wire)| {
            frames(wire)
                .into_iter()
                .map(|(_, p)| [&p[..], &TAIL].concat())
                .collect()
        })
        .collect();
    if let Some(peer) = node.as_mut() {
        peer.load(&msgs, &wires);
    }

    let (ours_wire, node_wire) = check_rows(&msgs, &wires, &payloads, node.as_mut());
    let note = node
        .as_ref()
        .map_or("not run".to_string(), |p| p.version.clone());
    let mut text = report(&msgs, &ours_wire, &node_wire, &note);
    if let Some(peer) = node
        .as_mut()
        .filter(|_| std::env::args().any(|a| a == "--bench"))
    {
        text.push_str(&node_cpu(peer));
    }
    eprintln!("{text}");

    for nct in [false, true] {
        let mut group = c.benchmark_group(format!("deflate_compress/{}", context_name(nct)));
        group.throughput(Throughput::Bytes(raw));
        slow_rows(&mut group);
        let mut server = connection(Role::Server, nct);
        group.bench_function("pushcodec", |b| {
            b.iter(|| ours_send(&mut server, &msgs, sink))
        });
        let (mut c, mut out) = (compressor(), Vec::new());
        group.bench_function("limit_flate2", |b| {
            b.iter(|| flate2_compress(&mut c, &msgs, nct, &mut out, sink))
        });
        node_rows(&mut group, node.as_mut(), "compress", nct);
        group.finish();
    }
    for nct in [false, true] {
        let (wire, payloads) = (&wires[usize::from(nct)].1, &payloads[usize::from(nct)]);
        let mut group = c.benchmark_group(format!("deflate_decode/{}", context_name(nct)));
        group.throughput(Throughput::Bytes(raw));
        slow_rows(&mut group);
        let mut server = connection(Role::Server, nct);
        group.bench_function("pushcodec", |b| {
            b.iter(|| ours_decode(&mut server, wire, sink))
        });
        let (mut d, mut out) = (Decompress::new(false), Vec::new());
        group.bench_function("limit_flate2", |b| {
            b.iter(|| flate2_inflate(&mut d, payloads, nct, &mut out, sink))
        });
        node_rows(&mut group, node.as_mut(), "decode", nct);
        group.finish();
    }
}

/// One iteration takes 3–100 ms: flat sampling, and enough time that a
/// Node sample spans a few batches.
fn slow_rows(group: &mut BenchmarkGroup<'_, WallTime>) {
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(2));
}

/// The Node rows of a group: ws, and (without context takeover) Node's
/// zlib alone; the time is what Node measured.
fn node_rows(
    group: &mut BenchmarkGroup<'_, WallTime>,
    node: Option<&mut NodePeer>,
    row: &str,
    nct: bool,
) {
    let Some(peer) = node else { return };
    group.bench_function("node_ws", |b| {
        b.iter_custom(|iters| peer.run(row, nct, iters, false, false).0)
    });
    if nct {
        let zlib = format!("zlib_{row}");
        group.bench_function("limit_node_zlib_sync", |b| {
            b.iter_custom(|iters| peer.run(&zlib, nct, iters, false, false).0)
        });
    }
}

/// Fan-out rows: how many connections, how many events of the stream.
const FANOUT: (usize, usize) = (100, 50);

/// Broadcasts every message to every connection with `send_prepared`
/// (`prepare` makes the message from the text), drains each; returns the
/// bytes handed out.
fn fanout_send(
    conns: &mut [Connection],
    msgs: &[Utf8Bytes],
    prepare: impl Fn(&Utf8Bytes) -> PreparedMessage,
) -> u64 {
    let mut written = 0;
    for m in msgs {
        let message = prepare(m);
        written += common::send_prepared_to_all(conns, &message);
    }
    written
}

fn fanout(c: &mut Criterion) {
    let (n, events) = FANOUT;
    let msgs = &stream()[..events];
    let raw: usize = msgs.iter().map(|m| m.len()).sum();
    let nct = || {
        (0..n)
            .map(|_| connection(Role::Server, true))
            .collect::<Vec<_>>()
    };
    let takeover = || {
        (0..n)
            .map(|_| connection(Role::Server, false))
            .collect::<Vec<_>>()
    };
    let plain = || {
        (0..n)
            .map(|_| Connection::server(Config::default()))
            .collect::<Vec<_>>()
    };
    let shared = nct()[0].shared_compression().expect("no context takeover");
    let once = |m: &Utf8Bytes| PreparedMessage::text(m.clone()).with_compression(shared);
    let unprepared = |m: &Utf8Bytes| PreparedMessage::text(m.clone());

    // Checks and bytes: each row's wire decodes to the stream on a client.
    let mut bytes = format!(
        "deflate_fanout: {events} events ({raw} B) to each of {n} connections; bytes per connection:"
    );
    for (row, mut conns, nct, shared_frames) in [
        ("shared_no_context_takeover", nct(), Some(true), true),
        (
            "per_connection_no_context_takeover",
            nct(),
            Some(true),
            false,
        ),
        (
            "per_connection_context_takeover",
            takeover(),
            Some(false),
            false,
        ),
        ("uncompressed", plain(), None, false),
    ] {
        let wire: Vec<u8> = msgs
            .iter()
            .flat_map(|m| {
                let message = if shared_frames {
                    once(m)
                } else {
                    unprepared(m)
                };
                conns[0].send_prepared(&message).unwrap();
                std::iter::from_fn(|| conns[0].poll_transmit())
                    .flatten()
                    .collect::<Vec<u8>>()
            })
            .collect();
        if let Some(nct) = nct {
            assert_eq!(decode_as_client(&wire, nct), as_vecs(msgs), "{row}");
        }
        write!(bytes, " {row} {}", wire.len()).unwrap();
    }
    eprintln!("{bytes}");

    let mut group = c.benchmark_group("deflate_fanout");
    group.throughput(Throughput::Elements((n * events) as u64));
    group.sample_size(10);
    let mut conns = nct();
    group.bench_function("shared_no_context_takeover", |b| {
        b.iter(|| fanout_send(&mut conns, msgs, once))
    });
    group.bench_function("per_connection_no_context_takeover", |b| {
        b.iter(|| fanout_send(&mut conns, msgs, unprepared))
    });
    drop(conns);
    let mut conns = takeover();
    group.bench_function("per_connection_context_takeover", |b| {
        b.iter(|| fanout_send(&mut conns, msgs, unprepared))
    });
    drop(conns);
    let mut conns = plain();
    group.bench_function("uncompressed", |b| {
        b.iter(|| fanout_send(&mut conns, msgs, unprepared))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = deflate, fanout
}
criterion_main!(benches);
