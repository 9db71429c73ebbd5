//! The send queue: frames on their way to the transport, in order, offered
//! as a [`bytes::Buf`] so any writer (vectored or not) can drain it.
//!
//! Small frames are copied next to their header into one reused buffer (a
//! client's masked on the way); a large server payload is queued as the
//! shared `Bytes` it came in, behind its header kept inline. Where each
//! frame ends is kept as data: a frame written in part is owed whole (RFC
//! 6455 §5.2: a frame cut short corrupts the rest of the stream), so
//! dropping what is queued ([`Transmit::discard_unsent`]) keeps exactly the
//! rest of the frame begun.

use crate::prelude::*;
use alloc::collections::VecDeque;
#[cfg(feature = "std")]
use std::io::IoSlice;

use bytes::{Buf, Bytes};

use crate::ws::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};
use crate::ws::mask::extend_masked;

/// Payloads up to this size are copied next to their header, so a small
/// frame leaves as one write; larger ones are queued as their own shared
/// `Bytes`, without a copy.
pub(super) const COPY_THRESHOLD: usize = 4096;

/// A drained buffer is kept for the next sends up to this size (a fresh
/// buffer for each large masked message would cost page faults on every
/// one); [`Transmit::release_idle`] gives it back.
const RETAINED_CAPACITY: usize = 2 << 20;

/// A stretch of the output.
#[derive(Debug)]
enum Chunk {
    /// One frame whose payload is queued as it was given: its header
    /// inline (so it costs no allocation), then the payload.
    Shared {
        head: [u8; MAX_HEADER_LEN],
        head_len: u8,
        /// How much of `head` was handed out.
        head_sent: u8,
        /// Some of the frame was handed out: it is owed whole.
        begun: bool,
        bytes: Bytes,
    },
    /// The next `len` bytes of the frame buffer, written before the chunks
    /// after this one.
    Own { len: usize },
}

/// The bytes a [`Connection`](crate::ws::Connection) has queued for the
/// transport, as a [`bytes::Buf`]: [`chunk`](Buf::chunk) is what to write
/// next, [`advance`](Buf::advance) reports what was written, and
/// [`chunks_vectored`](Buf::chunks_vectored) offers several pieces for one
/// vectored write. Borrow it with [`Connection::transmit`](crate::ws::Connection::transmit).
///
/// # Example
/// ```
/// use std::io::Write;
/// use bytes::Buf;
/// use pushcodec::ws::{Config, Connection};
///
/// let mut server = Connection::server(Config::default());
/// server.send_text("Hello")?;
/// let mut socket = Vec::new(); // any `Write`, or tokio's `write_buf`
/// let out = server.transmit();
/// while out.has_remaining() {
///     let written = socket.write(out.chunk())?;
///     out.advance(written);
/// }
/// assert_eq!(socket, b"\x81\x05Hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct Transmit {
    /// Frames copied here, in order; the ones after every `Own` chunk are
    /// written after every chunk.
    buf: Vec<u8>,
    /// How much of `buf` was handed out.
    buf_sent: usize,
    chunks: VecDeque<Chunk>,
    /// Where each frame copied into `buf` ends, in order: the frame
    /// boundaries, kept as data for partial writes.
    buf_ends: Vec<usize>,
    /// Where in `buf` the frames copied after the last `Own` chunk start.
    tail_start: usize,
    /// Bytes not yet handed out.
    queued: usize,
}

impl Transmit {
    /// Bytes not yet handed out.
    #[inline]
    pub(super) fn queued(&self) -> usize {
        self.queued
    }

    /// Queues a frame, its payload copied next to the header (masked on
    /// the way when the header has a key).
    #[inline]
    pub(super) fn push_frame(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv: u8,
        mask: Option<[u8; 4]>,
        payload: &[u8],
    ) {
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        let start = self.buf.len();
        self.buf.reserve(MAX_HEADER_LEN + payload.len());
        // A fixed-size copy, then the length cut: cheaper than a copy of
        // a length known only at run time.
        self.buf.extend_from_slice(&head);
        self.buf.truncate(start + head_len);
        match mask {
            None => self.buf.extend_from_slice(payload),
            Some(key) => extend_masked(&mut self.buf, payload, key),
        }
        self.buf_ends.push(self.buf.len());
        self.queued += head_len + payload.len();
    }

    /// Queues a frame whose payload is kept as given, behind its header.
    pub(super) fn push_shared(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: Bytes) {
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask: None,
            payload_len: payload.len() as u64,
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        self.queued += head_len + payload.len();
        #[expect(
            clippy::cast_possible_truncation,
            reason = "a header is at most 14 bytes"
        )]
        self.push_chunk(Chunk::Shared {
            head,
            head_len: head_len as u8,
            head_sent: 0,
            begun: false,
            bytes: payload,
        });
    }

    /// Queues a whole frame encoded elsewhere (a prepared message).
    pub(super) fn push_encoded(&mut self, frame: Bytes) {
        self.queued += frame.len();
        self.push_chunk(Chunk::Shared {
            head: [0; MAX_HEADER_LEN],
            head_len: 0,
            head_sent: 0,
            begun: false,
            bytes: frame,
        });
    }

    /// Appends a chunk; the frames copied since the last chunk go first.
    fn push_chunk(&mut self, chunk: Chunk) {
        let tail = self.tail_len();
        if tail > 0 {
            self.chunks.push_back(Chunk::Own { len: tail });
            self.tail_start = self.buf.len();
        }
        self.chunks.push_back(chunk);
    }

    /// Bytes of `buf` after the last `Own` chunk and what was sent.
    fn tail_len(&self) -> usize {
        self.buf.len() - self.tail_start.max(self.buf_sent)
    }

    /// Drops every frame not begun; returns the bytes dropped. The rest of
    /// a frame written in part stays, to be finished.
    pub(super) fn discard_unsent(&mut self) -> usize {
        // The frames of `buf` that were handed out in full.
        let done = self.buf_ends.partition_point(|&end| end <= self.buf_sent);
        let keep = match self.chunks.front_mut() {
            Some(Chunk::Shared {
                begun: true,
                head_len,
                head_sent,
                bytes,
                ..
            }) => {
                // A one-frame chunk: what is left of it is that frame's rest.
                usize::from(*head_len - *head_sent) + bytes.len()
            }
            Some(Chunk::Shared { .. }) => 0,
            front => {
                // The front frame is in `buf`, begun if `buf_sent` is past
                // its start.
                let start = done.checked_sub(1).map_or(0, |i| self.buf_ends[i]);
                match self.buf_ends.get(done) {
                    Some(&end) if self.buf_sent > start => {
                        if let Some(Chunk::Own { len }) = front {
                            *len = end - self.buf_sent;
                        }
                        end - self.buf_sent
                    }
                    _ => 0,
                }
            }
        };
        let kept_in_buf = match self.chunks.front() {
            Some(Chunk::Shared { .. }) => 0,
            _ => keep,
        };
        self.chunks.truncate(usize::from(keep > 0));
        self.buf.truncate(self.buf_sent + kept_in_buf);
        self.buf_ends.truncate(done + usize::from(kept_in_buf > 0));
        // Nothing of `buf` comes after a kept chunk; without one, the kept
        // bytes are the tail.
        self.tail_start = if self.chunks.is_empty() {
            self.buf_sent
        } else {
            self.buf.len()
        };
        let dropped = self.queued - keep;
        self.queued = keep;
        dropped
    }

    /// The next bytes to write, as shared bytes.
    pub(super) fn poll_transmit(&mut self) -> Option<Bytes> {
        let bytes = match self.chunks.front_mut() {
            Some(Chunk::Shared {
                head,
                head_len,
                head_sent,
                begun,
                ..
            }) if *head_sent < *head_len => {
                // The inline header first; its payload comes next.
                let bytes =
                    Bytes::copy_from_slice(&head[usize::from(*head_sent)..usize::from(*head_len)]);
                *head_sent = *head_len;
                *begun = true;
                bytes
            }
            Some(Chunk::Shared { .. }) => match self.chunks.pop_front() {
                Some(Chunk::Shared { bytes, .. }) => bytes,
                _ => Bytes::new(),
            },
            Some(Chunk::Own { len }) => {
                let len = *len;
                self.chunks.pop_front();
                let bytes = Bytes::copy_from_slice(&self.buf[self.buf_sent..self.buf_sent + len]);
                self.buf_sent += len;
                bytes
            }
            None if self.buf_sent < self.buf.len() => {
                if self.buf_sent == 0 && self.buf.len() > COPY_THRESHOLD {
                    // Large: moved out without a copy.
                    Bytes::from(core::mem::take(&mut self.buf))
                } else {
                    let bytes = Bytes::copy_from_slice(&self.buf[self.buf_sent..]);
                    self.buf_sent = self.buf.len();
                    bytes
                }
            }
            None => {
                self.reuse_buf();
                return None;
            }
        };
        self.queued -= bytes.len();
        if self.buf_sent == self.buf.len() {
            self.reuse_buf();
        }
        Some(bytes)
    }

    /// All of `buf` was handed out: it is reused from its start (or given
    /// back when a large message grew it).
    #[inline]
    fn reuse_buf(&mut self) {
        self.buf.clear();
        self.buf_ends.clear();
        self.buf_sent = 0;
        self.tail_start = 0;
        if self.buf.capacity() > RETAINED_CAPACITY {
            self.buf = Vec::new();
        }
    }

    /// Everything was handed out: nothing is kept. Gives back the buffers
    /// so an idle connection holds no heap.
    pub(super) fn release_idle(&mut self) {
        if self.queued == 0 {
            *self = Transmit::default();
        }
    }

    #[cold]
    fn advance_in_part(&mut self, n: usize) {
        let n = n.min(self.queued);
        let mut left = n;
        while left > 0 {
            match self.chunks.front_mut() {
                Some(Chunk::Shared {
                    head_len,
                    head_sent,
                    begun,
                    bytes,
                    ..
                }) => {
                    *begun = true;
                    let head_rest = usize::from(*head_len - *head_sent);
                    if head_rest > 0 {
                        let take = left.min(head_rest);
                        #[expect(clippy::cast_possible_truncation, reason = "at most 14")]
                        {
                            *head_sent += take as u8;
                        }
                        left -= take;
                    } else if left < bytes.len() {
                        bytes.advance(left);
                        left = 0;
                    } else {
                        left -= bytes.len();
                        self.chunks.pop_front();
                    }
                }
                Some(Chunk::Own { len }) => {
                    let take = left.min(*len);
                    *len -= take;
                    self.buf_sent += take;
                    left -= take;
                    if *len == 0 {
                        self.chunks.pop_front();
                    }
                }
                None => {
                    self.buf_sent += left;
                    left = 0;
                }
            }
        }
        self.queued -= n;
        if self.buf_sent == self.buf.len() {
            self.reuse_buf();
        }
    }
}

impl Buf for Transmit {
    #[inline]
    fn remaining(&self) -> usize {
        self.queued
    }

    #[inline]
    fn chunk(&self) -> &[u8] {
        match self.chunks.front() {
            Some(Chunk::Shared {
                head,
                head_len,
                head_sent,
                bytes,
                ..
            }) => {
                if head_sent < head_len {
                    &head[usize::from(*head_sent)..usize::from(*head_len)]
                } else {
                    bytes
                }
            }
            Some(Chunk::Own { len }) => &self.buf[self.buf_sent..self.buf_sent + len],
            None => &self.buf[self.buf_sent..],
        }
    }

    /// Reports that `n` bytes from the front were written (more than
    /// [`remaining`](Buf::remaining) counts as all of it).
    #[inline]
    fn advance(&mut self, n: usize) {
        if n >= self.queued && self.chunks.is_empty() {
            // The common case: every small frame was written at once.
            self.queued = 0;
            self.reuse_buf();
        } else {
            self.advance_in_part(n);
        }
    }

    #[cfg(feature = "std")]
    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        let mut from = self.buf_sent;
        let mut put = |slice: &'a [u8], n: &mut usize| -> bool {
            if *n == dst.len() {
                return false;
            }
            if !slice.is_empty() {
                dst[*n] = IoSlice::new(slice);
                *n += 1;
            }
            true
        };
        for chunk in &self.chunks {
            let more = match chunk {
                Chunk::Shared {
                    head,
                    head_len,
                    head_sent,
                    bytes,
                    ..
                } => {
                    put(
                        &head[usize::from(*head_sent)..usize::from(*head_len)],
                        &mut n,
                    ) && put(bytes, &mut n)
                }
                Chunk::Own { len } => {
                    let slice = &self.buf[from..from + len];
                    from += len;
                    put(slice, &mut n)
                }
            };
            if !more {
                return n;
            }
        }
        put(&self.buf[from..], &mut n);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "std")]
    fn drain_vectored(t: &mut Transmit) -> Vec<u8> {
        let mut out = Vec::new();
        while t.has_remaining() {
            let mut slices = [IoSlice::new(&[]); 3];
            let n = t.chunks_vectored(&mut slices);
            let mut len = 0;
            for s in &slices[..n] {
                out.extend_from_slice(s);
                len += s.len();
            }
            t.advance(len);
        }
        out
    }

    #[test]
    fn small_shared_and_encoded_frames_leave_in_order_however_they_are_drained() {
        let fill = |t: &mut Transmit| {
            t.push_frame(OpCode::Text, true, 0, None, b"one");
            t.push_shared(OpCode::Binary, true, 0, Bytes::from(vec![7u8; 5000]));
            t.push_frame(OpCode::Ping, true, 0, None, b"");
            t.push_encoded(Bytes::from_static(b"\x81\x03two"));
            t.push_frame(OpCode::Text, true, 0, None, b"three");
        };
        let mut expected = Vec::new();
        expected.extend_from_slice(b"\x81\x03one\x82\x7e\x13\x88");
        expected.extend_from_slice(&[7u8; 5000]);
        expected.extend_from_slice(b"\x89\x00\x81\x03two\x81\x05three");

        let mut owned = Transmit::default();
        fill(&mut owned);
        let mut got = Vec::new();
        while let Some(bytes) = owned.poll_transmit() {
            got.extend_from_slice(&bytes);
        }
        assert_eq!(got, expected);
        assert_eq!(owned.queued(), 0);

        #[cfg(feature = "std")]
        {
            let mut vectored = Transmit::default();
            fill(&mut vectored);
            assert_eq!(drain_vectored(&mut vectored), expected);
        }

        for step in [1, 2, 3, 7, 4097] {
            let mut t = Transmit::default();
            fill(&mut t);
            let mut got = Vec::new();
            while t.has_remaining() {
                let chunk = t.chunk();
                let n = step.min(chunk.len());
                got.extend_from_slice(&chunk[..n]);
                t.advance(n);
            }
            assert_eq!(got, expected, "writes of {step}");
        }
    }

    #[test]
    fn discarding_keeps_exactly_the_rest_of_the_frame_begun() {
        let mut t = Transmit::default();
        t.push_frame(OpCode::Text, true, 0, None, b"hello");
        t.push_frame(OpCode::Text, true, 0, None, b"world");
        t.advance(3); // into the first frame
        assert_eq!(t.discard_unsent(), 7);
        let mut rest = Vec::new();
        while let Some(b) = t.poll_transmit() {
            rest.extend_from_slice(&b);
        }
        assert_eq!(rest, b"ello");

        let mut t = Transmit::default();
        t.push_shared(OpCode::Binary, true, 0, Bytes::from(vec![1u8; 5000]));
        t.push_frame(OpCode::Text, true, 0, None, b"after");
        t.advance(2); // the inline header only
        assert_eq!(t.discard_unsent(), 7);
        assert_eq!(t.queued(), 5002);
        #[cfg(feature = "std")]
        assert_eq!(drain_vectored(&mut t).len(), 5002);

        let mut t = Transmit::default();
        t.push_frame(OpCode::Text, true, 0, None, b"hello");
        t.advance(7); // a frame boundary: nothing is owed
        t.push_frame(OpCode::Text, true, 0, None, b"x");
        assert_eq!(t.discard_unsent(), 3);
        assert!(!t.has_remaining());
    }
}
