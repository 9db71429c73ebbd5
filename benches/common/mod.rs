//! Shared pieces of the benches: criterion settings, in-memory transports
//! for the peers that want a stream, deterministic inputs, and independent
//! (test-only) frame writers and readers to check every row's output.
//!
//! Every bench module includes this file; not every one uses all of it.
#![allow(dead_code)]

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use criterion::Criterion;

/// The size of one transport read, for every row alike: what a socket read
/// of a busy connection typically returns.
pub const READ: usize = 64 * 1024;

/// Short measurement windows: the whole `cargo bench` must finish in under
/// ten minutes on two shared cores.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(400))
        .measurement_time(Duration::from_millis(1200))
        .sample_size(20)
        .configure_from_args()
}

/// How many messages of `size` bytes one iteration handles: enough that
/// per-iteration costs vanish, few enough to stay in cache.
pub fn batch_count(size: usize) -> usize {
    ((1 << 20) / size.max(1)).clamp(1, 4096)
}

/// A deterministic xorshift generator for masking keys and filler.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 16) as u32
    }
}

/// Broadcast as today: `message` queued on every connection with
/// `send_prepared` (no copy), each drained with `poll_transmit` into a sink.
/// Returns the bytes handed out.
#[cfg(feature = "ws")]
pub fn send_prepared_to_all(
    conns: &mut [pushcodec::ws::Connection],
    message: &pushcodec::ws::PreparedMessage,
) -> u64 {
    let mut written = 0;
    for conn in conns.iter_mut() {
        conn.send_prepared(message).expect("not backpressured");
        while let Some(bytes) = conn.poll_transmit() {
            written += std::hint::black_box(bytes).len() as u64;
        }
    }
    written
}

/// Chat- and JSON-like text of exactly `len` bytes with 2- and 3-byte code
/// points throughout, so validators leave their ASCII fast path.
pub fn text(len: usize) -> String {
    const PATTERN: &str =
        "{\"id\":4711,\"user\":\"Jürgen\",\"msg\":\"ça va? 👍 ok\",\"t\":\"größe ✓\"} ";
    let mut s = String::with_capacity(len + 4);
    while s.len() < len {
        for c in PATTERN.chars() {
            if s.len() + c.len_utf8() > len {
                break;
            }
            s.push(c);
        }
        if s.len() + 4 > len {
            while s.len() < len {
                s.push('x');
            }
        }
    }
    s
}

/// Arbitrary bytes of `len`.
pub fn binary(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = XorShift(seed | 1);
    (0..len).map(|_| rng.next_u32() as u8).collect()
}

/// What a decode row reports per message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Binary,
    Ping,
    Pong,
}

/// A materialized message, for checking rows outside the timed loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg(pub Kind, pub Vec<u8>);

/// RFC 6455 frame writer, written independently of the crate under test.
pub fn write_frame(
    out: &mut Vec<u8>,
    fin: bool,
    opcode: u8,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    out.push(u8::from(fin) << 7 | opcode);
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(m | n as u8),
        n @ 126..=0xFFFF => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        None => out.extend_from_slice(payload),
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
    }
}

/// A parsed frame, for checking encoder output.
#[derive(Debug)]
pub struct ParsedFrame {
    pub fin: bool,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

/// Parses a whole stream of frames (test-only, trusts lengths).
pub fn parse_frames(mut buf: &[u8]) -> Vec<ParsedFrame> {
    let mut frames = Vec::new();
    while !buf.is_empty() {
        let (b0, b1) = (buf[0], buf[1]);
        let mut at = 2;
        let len = match b1 & 0x7F {
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
        let masked = b1 & 0x80 != 0;
        let key = if masked {
            let k: [u8; 4] = buf[at..at + 4].try_into().unwrap();
            at += 4;
            Some(k)
        } else {
            None
        };
        let mut payload = buf[at..at + len].to_vec();
        if let Some(k) = key {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= k[i % 4];
            }
        }
        frames.push(ParsedFrame {
            fin: b0 & 0x80 != 0,
            opcode: b0 & 0x0F,
            masked,
            payload,
        });
        buf = &buf[at + len..];
    }
    frames
}

/// The state of an in-memory transport: input handed out in reads of at
/// most [`READ`] bytes, output either collected (for checks) or only
/// counted (for timing, like handing the bytes to a socket).
#[derive(Debug, Default)]
pub struct IoState {
    pub input: Vec<u8>,
    pub pos: usize,
    pub collect: bool,
    pub out: Vec<u8>,
    pub written: usize,
}

/// An in-memory stream for the peers that drive a socket themselves: sync
/// (`std::io`) for tungstenite, async (tokio traits) for fastwebsockets.
/// Reading past the input is `WouldBlock`, which no row expects.
#[derive(Debug, Clone, Default)]
pub struct MockIo(pub Rc<RefCell<IoState>>);

impl MockIo {
    pub fn new(input: Vec<u8>, collect: bool) -> Self {
        MockIo(Rc::new(RefCell::new(IoState {
            input,
            collect,
            ..IoState::default()
        })))
    }

    /// Rewinds the input and forgets the output, for the next iteration.
    pub fn rewind(&self) {
        let mut s = self.0.borrow_mut();
        s.pos = 0;
        s.out.clear();
        s.written = 0;
    }

    pub fn done(&self) -> bool {
        let s = self.0.borrow();
        s.pos == s.input.len()
    }

    pub fn take_out(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.borrow_mut().out)
    }

    fn read_into(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut s = self.0.borrow_mut();
        let n = (s.input.len() - s.pos).min(buf.len()).min(READ);
        if n == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        buf[..n].copy_from_slice(&s.input[s.pos..s.pos + n]);
        s.pos += n;
        Ok(n)
    }

    fn write_from(&self, buf: &[u8]) -> usize {
        let mut s = self.0.borrow_mut();
        if s.collect {
            s.out.extend_from_slice(buf);
        } else {
            std::hint::black_box(buf);
        }
        s.written += buf.len();
        buf.len()
    }
}

impl io::Read for MockIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_into(buf)
    }
}

impl io::Write for MockIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(self.write_from(buf))
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        Ok(bufs.iter().map(|b| self.write_from(b)).sum())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for MockIo {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // `put_slice` into the unfilled part: no zeroing first, as a
        // socket read into a `BytesMut` does not zero either.
        let mut s = self.0.borrow_mut();
        let n = (s.input.len() - s.pos).min(buf.remaining()).min(READ);
        if n == 0 && buf.remaining() > 0 {
            return Poll::Ready(Err(io::ErrorKind::WouldBlock.into()));
        }
        let start = s.pos;
        buf.put_slice(&s.input[start..start + n]);
        s.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for MockIo {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.write_from(buf)))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(bufs.iter().map(|b| self.write_from(b)).sum()))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Limit rows: what any decoder of `buf` must at least spend.
pub mod limits {
    use std::hint::black_box;

    pub fn memcpy(src: &[u8], dst: &mut Vec<u8>) {
        dst.clear();
        dst.extend_from_slice(black_box(src));
        black_box(dst);
    }

    pub fn count_lf(buf: &[u8]) -> usize {
        memchr::memchr_iter(b'\n', black_box(buf)).count()
    }

    pub fn utf8_std(buf: &[u8]) -> bool {
        std::str::from_utf8(black_box(buf)).is_ok()
    }

    pub fn utf8_simd(buf: &[u8]) -> bool {
        simdutf8::basic::from_utf8(black_box(buf)).is_ok()
    }

    /// A plain XOR with a 4-byte key widened to a word, in place.
    pub fn xor(buf: &mut [u8], key: [u8; 4]) {
        let k = u64::from_ne_bytes([
            key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
        ]);
        let mut words = buf.chunks_exact_mut(8);
        for w in &mut words {
            let v = u64::from_ne_bytes((&*w).try_into().unwrap()) ^ k;
            w.copy_from_slice(&v.to_ne_bytes());
        }
        for (i, b) in words.into_remainder().iter_mut().enumerate() {
            *b ^= key[i % 4];
        }
        black_box(buf);
    }
}
