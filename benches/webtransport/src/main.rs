//! Issue 21: what one pushed message costs over WebTransport, measured on a real stack.
//!
//! A wtransport server and client in this process talk through a UDP relay on loopback
//! that counts every UDP payload byte and datagram in each direction. After the session
//! is up (handshake, SETTINGS, MTU discovery and the first ACKs are left out by taking the
//! counters once the link is quiet), the server pushes M messages of N bytes, each
//! (a) on a new unidirectional stream or (b) as one datagram, one at a time: the next
//! message is sent once the client has the previous one, as independent pushes arrive:
//! back to back, and 50 ms apart (past quinn's 25 ms max_ack_delay, so every message gets
//! its own ACK). The output is benches/overhead.md's table shape, the bytes by direction,
//! and the same bytes on paper checked against the count. See README.md beside this crate.
//!
//! `--quick`: 20 messages per cell (5 spaced), 1 run, for a smoke run. Every loop is
//! bounded and every wait has a deadline; nothing asserts on timing.

use std::error::Error;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wtransport::{ClientConfig, Connection, Endpoint, Identity, ServerConfig};

type Res<T> = Result<T, Box<dyn Error>>;

/// The sizes of benches/overhead.md's columns.
const SIZES: [usize; 4] = [16, 125, 1024, 65536];
/// The version Cargo.lock pins, printed in the row labels: update the two together.
const WTRANSPORT_VERSION: &str = "0.7.2";

/// quinn's defaults, which wtransport keeps: 8-byte connection ids on both sides
/// (`RandomConnectionIdGenerator::default()`), a 1-byte packet number while fewer than
/// 128 packets are unacknowledged (`PacketNumber::new`), and a 16-byte AEAD tag (RFC 9001
/// §5.3: AES-GCM and ChaCha20-Poly1305 alike).
const CID_LEN: usize = 8;
const PN_LEN: usize = 1;
const AEAD_TAG: usize = 16;
/// RFC 9000 §17.3.1: first byte (header form, spin, key phase, PN length) + DCID + PN.
const SHORT_HEADER: usize = 1 + CID_LEN + PN_LEN;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Uni,
    Datagram,
}

// ---------------------------------------------------------------------------------------
// The relay: two blocking sockets on their own threads, so its CPU time can be taken out of
// the process's (pthread_getcpuclockid) and its counters do not depend on the runtime.

#[derive(Default)]
struct Dir {
    bytes: AtomicU64,
    packets: AtomicU64,
    /// Sizes of the datagrams forwarded while `Shared::recording` is set: the histogram that
    /// the paper breakdown is checked against.
    sizes: Mutex<Vec<u16>>,
}

impl Dir {
    fn count(&self, n: usize, recording: bool) {
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        self.packets.fetch_add(1, Ordering::Relaxed);
        if recording {
            self.sizes.lock().unwrap().push(n as u16);
        }
    }
}

#[derive(Default)]
struct Shared {
    to_server: Dir,
    to_client: Dir,
    recording: AtomicBool,
    stop: AtomicBool,
}

struct Relay {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    addr: SocketAddr,
}

#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Counts {
    s2c_bytes: u64,
    s2c_packets: u64,
    c2s_bytes: u64,
    c2s_packets: u64,
}

impl Counts {
    fn minus(self, o: Counts) -> Counts {
        Counts {
            s2c_bytes: self.s2c_bytes - o.s2c_bytes,
            s2c_packets: self.s2c_packets - o.s2c_packets,
            c2s_bytes: self.c2s_bytes - o.c2s_bytes,
            c2s_packets: self.c2s_packets - o.c2s_packets,
        }
    }
}

impl Relay {
    fn start(server: SocketAddr) -> Res<Relay> {
        let client_side = UdpSocket::bind("127.0.0.1:0")?;
        let server_side = UdpSocket::bind("127.0.0.1:0")?;
        server_side.connect(server)?;
        // The timeout only lets the threads see `stop`; it is not on the data path.
        let tick = Some(Duration::from_millis(50));
        client_side.set_read_timeout(tick)?;
        server_side.set_read_timeout(tick)?;
        let addr = client_side.local_addr()?;
        let shared = Arc::new(Shared::default());
        // The client's address, learnt from its first datagram (its Initial).
        let client: Arc<OnceLock<SocketAddr>> = Arc::new(OnceLock::new());

        let up = {
            let (rx, tx) = (client_side.try_clone()?, server_side.try_clone()?);
            let (shared, client) = (shared.clone(), client.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while !shared.stop.load(Ordering::Relaxed) {
                    let Ok((n, from)) = rx.recv_from(&mut buf) else {
                        continue;
                    };
                    let _ = client.set(from);
                    let recording = shared.recording.load(Ordering::Relaxed);
                    shared.to_server.count(n, recording);
                    let _ = tx.send(&buf[..n]);
                }
            })
        };
        let down = {
            let (rx, tx) = (server_side, client_side);
            let shared = shared.clone();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while !shared.stop.load(Ordering::Relaxed) {
                    let Ok(n) = rx.recv(&mut buf) else {
                        continue;
                    };
                    let recording = shared.recording.load(Ordering::Relaxed);
                    shared.to_client.count(n, recording);
                    if let Some(to) = client.get() {
                        let _ = tx.send_to(&buf[..n], to);
                    }
                }
            })
        };
        Ok(Relay {
            shared,
            threads: vec![up, down],
            addr,
        })
    }

    fn counts(&self) -> Counts {
        let s = &self.shared;
        Counts {
            s2c_bytes: s.to_client.bytes.load(Ordering::Relaxed),
            s2c_packets: s.to_client.packets.load(Ordering::Relaxed),
            c2s_bytes: s.to_server.bytes.load(Ordering::Relaxed),
            c2s_packets: s.to_server.packets.load(Ordering::Relaxed),
        }
    }

    /// CPU time of both relay threads, taken out of the process's: forwarding is the
    /// measurement's cost, not the transport's.
    fn cpu(&self) -> Duration {
        self.threads
            .iter()
            .map(|t| {
                let mut clock: libc::clockid_t = 0;
                // SAFETY: the thread is alive until `stop` joins it; the out-pointer is valid.
                let rc = unsafe { libc::pthread_getcpuclockid(t.as_pthread_t(), &mut clock) };
                assert_eq!(rc, 0, "pthread_getcpuclockid");
                clock_time(clock)
            })
            .sum()
    }

    fn stop(self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
    }

    /// Waits until neither direction has carried a datagram for `quiet` (longer than
    /// quinn's 25 ms max_ack_delay, so delayed ACKs are in), at most `limit`.
    async fn quiesce(&self, quiet: Duration, limit: Duration) -> Counts {
        let deadline = Instant::now() + limit;
        let mut last = self.counts();
        let mut since = Instant::now();
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let now = self.counts();
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() >= quiet {
                break;
            }
        }
        last
    }
}

fn clock_time(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and out-pointer.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn process_cpu() -> Duration {
    clock_time(libc::CLOCK_PROCESS_CPUTIME_ID)
}

// ---------------------------------------------------------------------------------------
// One run of one cell: a fresh session (so stream ids and packet numbers start alike),
// warm-up, M messages, counters.

/// The quinn frame counters the breakdown uses, as a difference over the window.
#[derive(Clone, Copy, Default)]
struct Frames {
    acks: u64,
    stream: u64,
    datagram: u64,
    max_streams_uni: u64,
    max_data: u64,
    max_stream_data: u64,
    ping: u64,
}

impl Frames {
    fn of(f: &wtransport::quinn::FrameStats) -> Frames {
        Frames {
            acks: f.acks,
            stream: f.stream,
            datagram: f.datagram,
            max_streams_uni: f.max_streams_uni,
            max_data: f.max_data,
            max_stream_data: f.max_stream_data,
            ping: f.ping,
        }
    }

    fn minus(self, o: Frames) -> Frames {
        Frames {
            acks: self.acks - o.acks,
            stream: self.stream - o.stream,
            datagram: self.datagram - o.datagram,
            max_streams_uni: self.max_streams_uni - o.max_streams_uni,
            max_data: self.max_data - o.max_data,
            max_stream_data: self.max_stream_data - o.max_stream_data,
            ping: self.ping - o.ping,
        }
    }

    fn plus(self, o: Frames) -> Frames {
        Frames {
            acks: self.acks + o.acks,
            stream: self.stream + o.stream,
            datagram: self.datagram + o.datagram,
            max_streams_uni: self.max_streams_uni + o.max_streams_uni,
            max_data: self.max_data + o.max_data,
            max_stream_data: self.max_stream_data + o.max_stream_data,
            ping: self.ping + o.ping,
        }
    }
}

struct Run {
    m: usize,
    /// Messages the client did not get (datagrams only; loopback should lose none).
    lost: usize,
    wire: Counts,
    /// From the client's first Initial to a quiet link: handshake, SETTINGS, CONNECT.
    setup: Counts,
    cpu: Duration,
    s2c_sizes: Vec<u16>,
    c2s_sizes: Vec<u16>,
    mtu: u16,
    max_datagram: Option<usize>,
    session_id: u64,
    /// Stream ids of the first and last measured uni streams (their varint lengths).
    stream_ids: (u64, u64),
    server_tx: Frames,
    client_tx: Frames,
    lost_packets: u64,
}

type ServerEp = Endpoint<wtransport::endpoint::endpoint_side::Server>;
type ClientEp = Endpoint<wtransport::endpoint::endpoint_side::Client>;

async fn connect() -> Res<(Relay, ServerEp, ClientEp, Connection, Connection)> {
    let server_config = ServerConfig::builder()
        .with_bind_address("127.0.0.1:0".parse()?)
        .with_identity(Identity::self_signed(["localhost", "127.0.0.1"])?)
        .build();
    let server = Endpoint::server(server_config)?;
    let relay = Relay::start(server.local_addr()?)?;
    // Loopback only, a throwaway self-signed identity: validation would prove nothing here.
    let client_config = ClientConfig::builder()
        .with_bind_address("127.0.0.1:0".parse()?)
        .with_no_cert_validation()
        .build();
    let client = Endpoint::client(client_config)?;
    let url = format!("https://127.0.0.1:{}/", relay.addr.port());
    let accept = async {
        let request = server.accept().await.await?;
        Ok::<_, Box<dyn Error>>(request.accept().await?)
    };
    let (server_conn, client_conn) = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(accept, client.connect(url))
    })
    .await?;
    Ok((relay, server, client, server_conn?, client_conn?))
}

/// Sends one message server → client and waits until the client has all of it. Returns
/// the uni stream's id, or for a datagram whether it arrived within the deadline.
async fn push(
    mode: Mode,
    server: &Connection,
    client: &Connection,
    payload: &[u8],
    buf: &mut [u8],
) -> Res<(u64, bool)> {
    let wait = Duration::from_secs(5);
    match mode {
        Mode::Uni => {
            // open (the WT stream header, 0x54 + session id, is written here), write, finish.
            let mut send = server.open_uni().await?.await?;
            let id = send.id().into_u64();
            send.write_all(payload).await?;
            // quinn's finish queues the FIN; wtransport's `finish().await` would also wait
            // for the peer's ACK of the whole stream, which a pushing server does not do.
            send.quic_stream_mut().finish()?;
            drop(send);
            let mut recv = tokio::time::timeout(wait, client.accept_uni()).await??;
            let mut got = 0;
            while let Some(k) = tokio::time::timeout(wait, recv.read(buf)).await?? {
                got += k;
            }
            if got != payload.len() {
                return Err(format!("stream carried {got} bytes, not {}", payload.len()).into());
            }
            Ok((id, true))
        }
        Mode::Datagram => {
            server.send_datagram(payload)?;
            // Unreliable: a datagram that does not come is counted, not waited for forever.
            match tokio::time::timeout(Duration::from_secs(1), client.receive_datagram()).await {
                Ok(d)
                    if d.as_ref()
                        .map_or(true, |d| d.payload().len() == payload.len()) =>
                {
                    d?;
                    Ok((0, true))
                }
                Ok(_) => Err("datagram of the wrong size".into()),
                Err(_) => Ok((0, false)),
            }
        }
    }
}

async fn run_once(
    mode: Mode,
    n: usize,
    m: usize,
    warmup: usize,
    gap: Option<Duration>,
) -> Res<Option<Run>> {
    let (relay, _server_ep, _client_ep, server, client) = connect().await?;
    let quiet = Duration::from_millis(150);
    let limit = Duration::from_secs(5);
    // Setup: handshake, HTTP/3 SETTINGS, the CONNECT exchange, PLPMTUD probes, NEW_TOKEN.
    let setup = relay.quiesce(quiet, limit).await;
    let max_datagram = server.max_datagram_size();
    if mode == Mode::Datagram && max_datagram.is_none_or(|max| n > max) {
        relay.stop();
        return Ok(None);
    }
    let payload = vec![b'x'; n];
    let mut buf = vec![0u8; 65536];
    // Warm-up: congestion window out of slow start, stream ids past the 1-byte varints.
    for _ in 0..warmup {
        push(mode, &server, &client, &payload, &mut buf).await?;
    }
    let before = relay.quiesce(quiet, limit).await;
    let (s0, c0) = (
        server.quic_connection().stats(),
        client.quic_connection().stats(),
    );
    relay.shared.recording.store(true, Ordering::Relaxed);
    let (cpu0, relay0) = (process_cpu(), relay.cpu());
    let mut lost = 0;
    let mut ids = (u64::MAX, 0);
    for _ in 0..m {
        let (id, arrived) = push(mode, &server, &client, &payload, &mut buf).await?;
        ids = (ids.0.min(id), ids.1.max(id));
        lost += usize::from(!arrived);
        if let Some(gap) = gap {
            tokio::time::sleep(gap).await;
        }
    }
    // The trailing ACKs belong to the messages: wait for them before reading.
    let after = relay.quiesce(quiet, limit).await;
    let cpu = (process_cpu() - cpu0).saturating_sub(relay.cpu() - relay0);
    relay.shared.recording.store(false, Ordering::Relaxed);
    let (s1, c1) = (
        server.quic_connection().stats(),
        client.quic_connection().stats(),
    );
    let run = Run {
        m,
        lost,
        wire: after.minus(before),
        setup,
        cpu,
        s2c_sizes: std::mem::take(&mut *relay.shared.to_client.sizes.lock().unwrap()),
        c2s_sizes: std::mem::take(&mut *relay.shared.to_server.sizes.lock().unwrap()),
        mtu: s1.path.current_mtu,
        max_datagram,
        session_id: server.session_id().into_u64(),
        stream_ids: ids,
        server_tx: Frames::of(&s1.frame_tx).minus(Frames::of(&s0.frame_tx)),
        client_tx: Frames::of(&c1.frame_tx).minus(Frames::of(&c0.frame_tx)),
        lost_packets: s1.path.lost_packets - s0.path.lost_packets,
    };
    server.close(0u32.into(), b"done");
    relay.stop();
    Ok(Some(run))
}

/// A cell: several runs pooled. Bytes and packets are summed over all runs (per message:
/// the mean); time is the best run's, as benches/overhead.md takes the best of 7.
struct Cell {
    mode: Mode,
    /// None: the next message as soon as the client has this one; Some: that long after.
    gap: Option<Duration>,
    n: usize,
    runs: Vec<Run>,
}

impl Cell {
    fn messages(&self) -> u64 {
        self.runs.iter().map(|r| r.m as u64).sum()
    }
    fn wire(&self) -> Counts {
        self.runs.iter().fold(Counts::default(), |a, r| Counts {
            s2c_bytes: a.s2c_bytes + r.wire.s2c_bytes,
            s2c_packets: a.s2c_packets + r.wire.s2c_packets,
            c2s_bytes: a.c2s_bytes + r.wire.c2s_bytes,
            c2s_packets: a.c2s_packets + r.wire.c2s_packets,
        })
    }
    fn per_msg(&self, v: u64) -> f64 {
        v as f64 / self.messages() as f64
    }
    fn time(&self) -> Duration {
        self.runs
            .iter()
            .map(|r| r.cpu / r.m as u32)
            .min()
            .unwrap_or_default()
    }
    fn frames(&self, server: bool) -> Frames {
        self.runs.iter().fold(Frames::default(), |a, r| {
            a.plus(if server { r.server_tx } else { r.client_tx })
        })
    }
    fn lost(&self) -> (usize, u64) {
        let msgs = self.runs.iter().map(|r| r.lost).sum();
        (msgs, self.runs.iter().map(|r| r.lost_packets).sum())
    }
    /// The most common datagram sizes in one direction: (size, count), largest count first.
    fn sizes(&self, s2c: bool) -> Vec<(u16, usize)> {
        let mut h = std::collections::BTreeMap::new();
        for r in &self.runs {
            for &s in if s2c { &r.s2c_sizes } else { &r.c2s_sizes } {
                *h.entry(s).or_insert(0usize) += 1;
            }
        }
        let mut v: Vec<_> = h.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }
}

// ---------------------------------------------------------------------------------------
// The same bytes on paper.

/// RFC 9000 §16: a variable-length integer's encoded size.
fn varint_len(v: u64) -> usize {
    match v {
        0..64 => 1,
        64..16384 => 2,
        16384..1_073_741_824 => 4,
        _ => 8,
    }
}

/// draft-ietf-webtrans-http3, "Unidirectional Streams": a WT uni stream starts with the
/// stream type 0x54 and the session id (the CONNECT stream's id), both varints.
fn wt_uni_header(session_id: u64) -> usize {
    varint_len(0x54) + varint_len(session_id)
}

/// Packet sizes server → client for one message on a fresh uni stream, following RFC 9000
/// §19.8 (STREAM: type byte with OFF/LEN/FIN bits, stream id, offset if non-zero, length
/// unless the frame fills the packet) as quinn packs it (`SendBuffer::poll_transmit`: the
/// length is left out only of a frame that fills the packet).
fn paper_uni_packets(n: usize, stream_id: u64, session_id: u64, mtu: usize) -> Vec<usize> {
    let data = wt_uni_header(session_id) + n;
    let space = mtu - SHORT_HEADER - AEAD_TAG;
    let (mut off, mut packets) = (0usize, Vec::new());
    while off < data {
        let mut max_len = space - 1 - varint_len(stream_id);
        if off != 0 {
            max_len -= varint_len(off as u64);
        }
        let remaining = data - off;
        let with_len = remaining < max_len;
        if with_len {
            max_len -= 8;
        }
        let chunk = remaining.min(max_len);
        let frame = 1
            + varint_len(stream_id)
            + if off != 0 { varint_len(off as u64) } else { 0 }
            + if with_len {
                varint_len(chunk as u64)
            } else {
                0
            }
            + chunk;
        packets.push(SHORT_HEADER + frame + AEAD_TAG);
        off += chunk;
    }
    packets
}

/// One datagram's packet: RFC 9221 §4 DATAGRAM frame (type 0x31 with a length; quinn
/// always writes the length) whose payload is RFC 9297 §2.1's HTTP/3 datagram: the quarter
/// stream id (session id / 4) varint, then the message.
fn paper_datagram_packet(n: usize, session_id: u64) -> usize {
    let h3 = varint_len(session_id / 4) + n;
    SHORT_HEADER + 1 + varint_len(h3 as u64) + h3 + AEAD_TAG
}

/// An ACK-only packet: RFC 9000 §19.3 ACK (type 0x02, largest acknowledged, ACK delay,
/// range count 0, first range): past the warm-up the largest acknowledged packet number is
/// a 2-byte varint, the ACK delay (in 8 µs units) 1 byte when the ACK is not held back, so
/// the frame is 6 B and the packet 32 B.
const ACK_PACKET: usize = SHORT_HEADER + 6 + AEAD_TAG;

// ---------------------------------------------------------------------------------------
// Output.

fn fmt_time(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns >= 10_000 {
        format!("{:.1} µs", ns as f64 / 1000.0)
    } else {
        format!("{ns} ns")
    }
}

fn label(mode: Mode, gap: Option<Duration>, short: bool) -> String {
    let what = match mode {
        Mode::Uni => "WebTransport uni stream per message",
        Mode::Datagram => "WebTransport datagram",
    };
    let pace = match gap {
        None => String::new(),
        Some(g) => format!(", {} ms apart", g.as_millis()),
    };
    if short {
        format!("{what}{pace}")
    } else {
        format!(
            "{what}{pace} (wtransport {WTRANSPORT_VERSION}, measured: UDP payload incl. QUIC header and AEAD tag)"
        )
    }
}

fn print_report(
    cells: &[Cell],
    plan: &Plan,
    max_datagram: Option<usize>,
    mtu: u16,
    wake: Duration,
) {
    let first = cells.iter().flat_map(|c| c.runs.first()).next();
    let session_id = first.map_or(0, |r| r.session_id);
    println!(
        "WebTransport over loopback through a counting UDP relay, server → client, one message \
         at a time: back to back (the next as soon as the client has the last), {} messages \
         per run after {} of warm-up, {} run(s) per cell (bytes: mean over the runs; time: \
         best run); {} ms apart, {} messages, 1 run. QUIC path MTU {mtu} B (quinn's PLPMTUD \
         ceiling), largest datagram payload {} B, session id {session_id}.\n",
        plan.m,
        plan.warmup,
        plan.runs,
        plan.gap.as_millis(),
        plan.gap_m,
        max_datagram.map_or("?".to_string(), |d| d.to_string())
    );
    println!("| transport | 16 B | 125 B | 1 KiB | 64 KiB |");
    println!("|---|---|---|---|---|");
    for (mode, gap) in plan.rows() {
        let mut row = format!("| {} |", label(mode, gap, false));
        for n in SIZES {
            match cells
                .iter()
                .find(|c| c.mode == mode && c.gap == gap && c.n == n)
            {
                Some(c) => {
                    let w = c.wire();
                    let total = c.per_msg(w.s2c_bytes + w.c2s_bytes);
                    row += &format!(
                        " {total:.0} B (+{:.0}), {} |",
                        total - n as f64,
                        fmt_time(c.time())
                    );
                }
                None => row += " — |",
            }
        }
        println!("{row}");
    }
    println!(
        "\n— : {} B cannot be one datagram (largest payload {} B at MTU {mtu}; RFC 9221 §5: a \
         DATAGRAM frame is never split across packets).",
        SIZES[3],
        max_datagram.map_or("?".to_string(), |d| d.to_string())
    );
    println!(
        "Time: process CPU time (user + system) over the M messages / M, both endpoints in \
         this one process, the relay threads' CPU taken out. It includes AEAD encryption and \
         decryption, header protection and a sendmsg/recvmsg per datagram on each side, \
         which the TCP rows of benches/overhead.md do not. The spaced rows' time is mostly \
         waking idle threads: one tokio wake-up from a 5 ms sleep costs {} of CPU here, and a \
         message after a pause wakes the sender, the receiver, the receiver's ACK timer and \
         the sender again for the ACK.\n",
        fmt_time(wake)
    );

    println!("Per message, by direction (packets per message in brackets) and \"framing only\":");
    println!(
        "the total less {SHORT_HEADER} B of QUIC short header (1 + {CID_LEN} B DCID + {PN_LEN} B packet number) and {AEAD_TAG} B of AEAD tag per packet, both directions.\n"
    );
    println!(
        "| cell | server → client | client → server | total (+overhead) | framing only (+overhead) | server → client framing only |"
    );
    println!("|---|---|---|---|---|---|");
    for c in cells {
        let w = c.wire();
        let n = c.n as f64;
        let total = c.per_msg(w.s2c_bytes + w.c2s_bytes);
        let per_packet = (SHORT_HEADER + AEAD_TAG) as f64;
        let framing = total - per_packet * c.per_msg(w.s2c_packets + w.c2s_packets);
        let s2c_framing = c.per_msg(w.s2c_bytes) - per_packet * c.per_msg(w.s2c_packets);
        println!(
            "| {}, {} B | {:.1} B ({:.2}) | {:.1} B ({:.2}) | {total:.1} B (+{:.1}) | {framing:.1} B (+{:.1}) | {s2c_framing:.1} B (+{:.1}) |",
            label(c.mode, c.gap, true),
            c.n,
            c.per_msg(w.s2c_bytes),
            c.per_msg(w.s2c_packets),
            c.per_msg(w.c2s_bytes),
            c.per_msg(w.c2s_packets),
            total - n,
            framing - n,
            s2c_framing - n,
        );
    }

    println!(
        "\nOn paper (RFC 9000, RFC 9114, RFC 9221, RFC 9297, draft-ietf-webtrans-http3), server → client:\n"
    );
    println!(
        "| cell | paper | measured | difference | server frames per message: STREAM or DATAGRAM, ACK | most common datagram sizes (B×count) |"
    );
    println!("|---|---|---|---|---|---|");
    for c in cells {
        let r = &c.runs[0];
        let mtu = r.mtu as usize;
        // (bytes, packets) per message on paper.
        let (paper, paper_packets): (f64, f64) = match c.mode {
            Mode::Uni => {
                // Over the measured streams' ids (server uni: 4k + 3, RFC 9000 §2.1): their
                // varints are 1 byte below 64, 2 below 16384, and every packet carries one.
                let (lo, hi) = r.stream_ids;
                let ids = (lo..=hi).step_by(4);
                let count = ids.clone().count();
                let (bytes, packets) = ids.fold((0, 0), |(b, k), id| {
                    let p = paper_uni_packets(c.n, id, r.session_id, mtu);
                    (b + p.iter().sum::<usize>(), k + p.len())
                });
                (bytes as f64 / count as f64, packets as f64 / count as f64)
            }
            Mode::Datagram => (paper_datagram_packet(c.n, r.session_id) as f64, 1.0),
        };
        let w = c.wire();
        let measured = c.per_msg(w.s2c_bytes);
        let sf = c.frames(true);
        let data_frames = match c.mode {
            Mode::Uni => sf.stream,
            Mode::Datagram => sf.datagram,
        };
        // The paper figure has no ACK frames in it: quinn acknowledges the client's packets
        // (ACK-only ones too, alongside data: RFC 9000 §13.2.1) in ACK frames of 6-8 B riding
        // a data packet, or in ACK-only packets of 31-34 B (the packets beyond the paper's
        // count). A difference within that, plus a byte per packet for a 2-byte packet
        // number, is noise; anything else is a mistake on paper or in the count.
        let diff = measured - paper;
        let acks = c.per_msg(sf.acks);
        let extra_packets = (c.per_msg(w.s2c_packets) - paper_packets).clamp(0.0, acks);
        let noise = (acks - extra_packets) * 8.0
            + extra_packets * (ACK_PACKET + 2) as f64
            + c.per_msg(w.s2c_packets);
        let verdict = if (-0.5..=noise).contains(&diff) {
            "matches"
        } else {
            "DIFFERS"
        };
        println!(
            "| {}, {} B | {paper:.1} B | {measured:.1} B | {diff:+.1} B ({verdict}: ACK/PN noise ≤ {noise:.1} B) | {:.2}, {:.3} | {} |",
            label(c.mode, c.gap, true),
            c.n,
            c.per_msg(data_frames),
            c.per_msg(sf.acks),
            top_sizes(c.sizes(true)),
        );
    }

    println!(
        "\nClient → server: ACK-only packets of {ACK_PACKET} B (RFC 9000 §19.3: type, largest \
         acknowledged 2 B, ACK delay, range count, first range; 31-34 B as the varints vary), \
         and a MAX_STREAMS (uni) frame of 3 B (§19.11) each time quinn raises the limit by \
         more than 100/8 streams. On paper (a) at RFC 9000 §13.2.2's pace, an ACK per two \
         ack-eliciting packets, as while messages come closer than max_ack_delay (25 ms, \
         §18.2); (b) no ACK shared between messages, as when they come further apart:\n"
    );
    println!(
        "| cell | paper (a) per 2 packets | paper (b) spaced out | measured | client frames per message: ACK, MAX_STREAMS, PING | most common datagram sizes (B×count) | lost |"
    );
    println!("|---|---|---|---|---|---|---|");
    for c in cells {
        let w = c.wire();
        let cf = c.frames(false);
        let s2c_packets = c.per_msg(w.s2c_packets);
        let max_streams = match c.mode {
            Mode::Uni => 3.0 / 13.0,
            Mode::Datagram => 0.0,
        };
        let paper_a = s2c_packets / 2.0 * ACK_PACKET as f64 + max_streams;
        // Spaced out, the 25 ms timer acknowledges a message's odd last packet on its own,
        // and its ACK delay (25 ms in 8 µs units, 3125) takes a 2-byte varint.
        let paper_b = ((s2c_packets / 2.0).ceil() - 1.0) * ACK_PACKET as f64
            + (ACK_PACKET + 1) as f64
            + max_streams;
        let (lost_msgs, lost_packets) = c.lost();
        println!(
            "| {}, {} B | {paper_a:.1} B | {paper_b:.1} B | {:.1} B | {:.2}, {:.3}, {:.3} | {} | {lost_msgs} msgs, {lost_packets} packets |",
            label(c.mode, c.gap, true),
            c.n,
            c.per_msg(w.c2s_bytes),
            c.per_msg(cf.acks),
            c.per_msg(cf.max_streams_uni + cf.max_data + cf.max_stream_data),
            c.per_msg(cf.ping),
            top_sizes(c.sizes(false)),
        );
    }

    if let Some(r) = first {
        let s = r.setup;
        println!(
            "\nNot in the rows: the session's setup (QUIC handshake with a self-signed \
             certificate, HTTP/3 SETTINGS, the extended CONNECT and its 200, PLPMTUD probes) \
             was {} B in {} datagrams server → client and {} B in {} datagrams client → server.",
            s.s2c_bytes, s.s2c_packets, s.c2s_bytes, s.c2s_packets
        );
    }
}

fn top_sizes(v: Vec<(u16, usize)>) -> String {
    v.iter()
        .take(3)
        .map(|(s, k)| format!("{s}×{k}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// CPU time of one wake-up from idle on this machine: a tokio sleep of 5 ms, 200 times. A
/// message sent after a pause pays several (sender, receiver, the receiver's ACK timer, the
/// sender on the ACK); this says how much of the spaced rows' time is the platform's.
async fn wake_cost() -> Duration {
    let rounds = 200;
    let start = process_cpu();
    for _ in 0..rounds {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (process_cpu() - start) / rounds
}

/// How many messages, how many runs, at which paces.
struct Plan {
    m: usize,
    warmup: usize,
    runs: usize,
    /// Longer than quinn's 25 ms max_ack_delay: every message gets its own ACK, as pushes
    /// seconds apart would.
    gap: Duration,
    gap_m: usize,
}

impl Plan {
    fn rows(&self) -> [(Mode, Option<Duration>); 4] {
        [
            (Mode::Uni, None),
            (Mode::Datagram, None),
            (Mode::Uni, Some(self.gap)),
            (Mode::Datagram, Some(self.gap)),
        ]
    }
}

fn main() -> Res<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let plan = Plan {
        m: if quick { 20 } else { 1000 },
        warmup: if quick { 5 } else { 100 },
        runs: if quick { 1 } else { 3 },
        gap: Duration::from_millis(50),
        gap_m: if quick { 5 } else { 100 },
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let wake = rt.block_on(wake_cost());
    let mut cells = Vec::new();
    let (mut max_datagram, mut mtu) = (None, 0);
    for (mode, gap) in plan.rows() {
        let (m, runs) = match gap {
            None => (plan.m, plan.runs),
            Some(_) => (plan.gap_m, 1),
        };
        for n in SIZES {
            let mut cell = Cell {
                mode,
                gap,
                n,
                runs: Vec::new(),
            };
            for _ in 0..runs {
                match rt.block_on(run_once(mode, n, m, plan.warmup, gap))? {
                    Some(run) => {
                        max_datagram = run.max_datagram;
                        mtu = run.mtu;
                        cell.runs.push(run);
                    }
                    None => break,
                }
            }
            if !cell.runs.is_empty() {
                cells.push(cell);
            }
        }
    }
    print_report(&cells, &plan, max_datagram, mtu, wake);
    Ok(())
}
