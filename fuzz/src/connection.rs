//! The `Connection` harness shared by `ws_connection_server` and
//! `ws_connection_client`: arbitrary incoming bytes interleaved with
//! arbitrary sends, polls and pulls, checking invariants after every step.
//!
//! Invariants:
//! - every `Event::Text` / `Event::TextPart` is valid UTF-8, every message
//!   and frame respects the configured size limits, control payloads
//!   fit in 125 bytes, close codes are valid (RFC 6455 §7.4);
//! - streamed messages are well nested (`MessageStart`, parts, `MessageEnd`);
//! - after `poll_event` returns `Err` or `Event::Close`, it only ever
//!   returns `Ok(None)`;
//! - the bytes we write decode as valid frames for the opposite role, with
//!   well-ordered fragments, at most one Close frame and nothing after it;
//! - the data and ping frames written are exactly those of the sends that
//!   succeeded, in order; a successful `send_close` is the Close written;
//! - memory: the payload bytes of all events never exceed the bytes read,
//!   and `buffered_amount()` never exceeds `max_outbound_buffer` plus one
//!   frame (the send that crossed the mark) plus the one Close frame;
//! - timers: driving `handle_timeout` until `poll_timeout` is in the future
//!   takes a few steps, never a busy loop; a keepalive ping is an empty Ping.

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use bytes::BytesMut;
use pushcodec::ws::{
    CloseCode, Config, Connection, Event, FrameDecoder, FrameEvent, FrameHeader, MAX_CLOSE_REASON,
    MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, MessageKind, OpCode, PreparedMessage, Role, SendError,
    SlowConsumer, Violation,
};

use crate::{Blob, Text, XorShift};

/// Finding F1: while open, the control frames we send are added to the
/// outbound allowance.
const CONTROL_SENDS_EXEMPT: bool = crate::open_findings::F1_CONTROL_SENDS_UNBOUNDED;

/// The whole scenario: a configuration and a list of steps.
#[derive(Debug, Arbitrary)]
pub struct Scenario {
    /// Limits: small values reach the limit checks; 0 keeps the default.
    pub max_frame_size: u16,
    /// See `max_frame_size`.
    pub max_message_size: u16,
    /// See `max_frame_size`.
    pub max_fragments: u8,
    /// Used as is (0 included).
    pub max_outbound_buffer: u16,
    /// `Config::auto_pong`.
    pub auto_pong: bool,
    /// `Config::stream_messages`.
    pub stream_messages: bool,
    /// `Config::slow_consumer`.
    pub slow_consumer: SlowPolicy,
    /// `Config::keepalive_interval` in ms (`None`: off).
    pub keepalive_ms: Option<u16>,
    /// `Config::pong_timeout` in ms.
    pub pong_timeout_ms: Option<u16>,
    /// `Config::close_timeout` in ms.
    pub close_timeout_ms: Option<u16>,
    /// Seed of the client's masking keys.
    pub seed: u64,
    /// What happens, in order.
    pub actions: Vec<Action>,
}

/// `Config::slow_consumer`.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum SlowPolicy {
    /// `SlowConsumer::Refuse`.
    Refuse,
    /// `SlowConsumer::Close(1008)`.
    Close1008,
    /// `SlowConsumer::Close(1013)`.
    Close1013,
}

/// One step.
#[derive(Debug, Arbitrary)]
pub enum Action {
    /// Raw bytes from the peer.
    Read(Blob),
    /// A frame from the peer, masked as the peer's role requires.
    ReadFrame(PeerFrame),
    /// The peer closed the transport.
    Eof,
    /// Calls `poll_event` up to n times (0: until `Ok(None)`).
    PollEvents(u8),
    /// Calls `poll_transmit` up to n times (0: until `None`).
    Transmit(u8),
    /// `send_text`.
    SendText(Text),
    /// `send_binary`.
    SendBinary(Blob),
    /// `send_prepared`.
    SendPrepared {
        /// Text (the bytes made valid) or binary.
        text: bool,
        /// The payload.
        data: Blob,
    },
    /// `send_fragment`.
    SendFragment {
        /// Text or binary.
        text: bool,
        /// May be invalid UTF-8 for text.
        data: Blob,
        /// Ends the message.
        fin: bool,
    },
    /// `send_ping`.
    SendPing(Blob),
    /// `send_pong`.
    SendPong(Blob),
    /// `send_close`.
    SendClose {
        /// Any code, sendable or not.
        code: u16,
        /// Any reason, maybe too long.
        reason: Text,
    },
    /// Time passes by this many ms; then the drive loop runs the timers.
    Advance(u16),
    /// Time jumps to `poll_timeout()`; then the timers run.
    WakeUp,
    /// `send_binary`, or `send_text` of the bytes made valid, with `data`
    /// repeated: messages past the zero-copy threshold (4 KiB) and the
    /// 16- and 64-bit length encodings.
    SendRepeated {
        /// Text or binary.
        text: bool,
        /// What is repeated.
        data: Blob,
        /// How many times.
        times: u8,
    },
    /// A peer frame whose payload is repeated `times` times.
    ReadRepeated {
        /// The frame.
        frame: PeerFrame,
        /// How many times its payload is repeated.
        times: u8,
    },
    /// Raw bytes from the peer, appended to `read_buf` (at most the room
    /// offered, as a socket read would; the rest is dropped).
    ReadIntoBuf(Blob),
    /// `pending_transmit`, then `advance_transmit` of at most n bytes
    /// (0: all of it), as a partial socket write.
    TransmitPartial(u16),
}

/// A frame the peer sends, built by the harness so the fuzzer reaches the
/// message layer without guessing masks.
#[derive(Debug, Clone, Arbitrary)]
pub struct PeerFrame {
    /// FIN bit.
    pub fin: bool,
    /// RSV bits (mostly 0).
    pub rsv: Rsv,
    /// The opcode.
    pub opcode: PeerOpcode,
    /// Masking key (used when the peer must mask).
    pub key: [u8; 4],
    /// Get the mask bit wrong for the role.
    pub wrong_mask: bool,
    /// A close code put before the payload.
    pub close_code: Option<u16>,
    /// The payload.
    pub payload: Blob,
    /// Deliver the frame in two reads, polling events in between.
    pub split: Option<u16>,
}

/// RSV bits, mostly clear.
#[derive(Debug, Clone, Arbitrary)]
pub enum Rsv {
    /// 0.
    Clear,
    /// Any bits.
    Bits(u8),
}

/// An opcode, mostly a defined one.
#[derive(Debug, Clone, Arbitrary)]
pub enum PeerOpcode {
    /// 0x0.
    Continuation,
    /// 0x1.
    Text,
    /// 0x2.
    Binary,
    /// 0x8.
    Close,
    /// 0x9.
    Ping,
    /// 0xA.
    Pong,
    /// Any 4 bits.
    Raw(u8),
}

impl PeerFrame {
    fn encode(&self, peer_masks: bool) -> Vec<u8> {
        let opcode = match self.opcode {
            PeerOpcode::Continuation => 0x0,
            PeerOpcode::Text => 0x1,
            PeerOpcode::Binary => 0x2,
            PeerOpcode::Close => 0x8,
            PeerOpcode::Ping => 0x9,
            PeerOpcode::Pong => 0xA,
            PeerOpcode::Raw(b) => b & 0x0F,
        };
        let rsv = match self.rsv {
            Rsv::Clear => 0,
            Rsv::Bits(b) => b & 0b111,
        };
        let mut payload = Vec::new();
        if let Some(code) = self.close_code {
            payload.extend_from_slice(&code.to_be_bytes());
        }
        payload.extend_from_slice(&self.payload.0);
        let masked = peer_masks != self.wrong_mask;
        let mut out = vec![(u8::from(self.fin) << 7) | (rsv << 4) | opcode];
        let mask_bit = if masked { 0x80 } else { 0 };
        match payload.len() {
            n @ 0..=125 => out.push(mask_bit | n as u8),
            n @ 126..=0xFFFF => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if masked {
            out.extend_from_slice(&self.key);
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= self.key[i % 4];
            }
        }
        out.extend_from_slice(&payload);
        out
    }
}

/// A frame we wrote, as the peer decodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OutFrame {
    opcode: OpCode,
    fin: bool,
    payload: Vec<u8>,
}

/// Runs a scenario for `role`, panicking on any broken invariant.
pub fn run(role: Role, s: Scenario) {
    let mut config = Config::default();
    if s.max_frame_size != 0 {
        config.max_frame_size = usize::from(s.max_frame_size);
    }
    if s.max_message_size != 0 {
        config.max_message_size = usize::from(s.max_message_size);
    }
    if s.max_fragments != 0 {
        config.max_fragments = usize::from(s.max_fragments);
    }
    config.max_outbound_buffer = usize::from(s.max_outbound_buffer);
    config.auto_pong = s.auto_pong;
    config.stream_messages = s.stream_messages;
    config.slow_consumer = match s.slow_consumer {
        SlowPolicy::Refuse => SlowConsumer::Refuse,
        SlowPolicy::Close1008 => SlowConsumer::Close(CloseCode::POLICY_VIOLATION),
        SlowPolicy::Close1013 => SlowConsumer::Close(CloseCode::TRY_AGAIN_LATER),
    };
    let ms = |v: Option<u16>| v.map(|ms| Duration::from_millis(u64::from(ms)));
    let mut keepalive_ms = s.keepalive_ms;
    if crate::open_findings::F2_ZERO_KEEPALIVE_SPINS && s.pong_timeout_ms.is_none() {
        // Finding F2: a zero interval without a pong deadline spins.
        keepalive_ms = keepalive_ms.map(|ms| ms.max(1));
    }
    config.keepalive_interval = ms(keepalive_ms);
    config.pong_timeout = ms(s.pong_timeout_ms);
    config.close_timeout = ms(s.close_timeout_ms);
    let conn = Connection::new(role, config.clone()).with_random(Box::new(XorShift(s.seed)));
    let mut h = Harness::new(role, config, conn);
    for action in &s.actions {
        h.step(action);
    }
    // The end of the drive loop: drain both directions.
    h.poll_events(0);
    h.transmit(0);
    h.finish();
}

struct Harness {
    role: Role,
    config: Config,
    conn: Connection,
    /// Bytes handed to `handle_read`.
    read: u64,
    /// Payload bytes of all events.
    event_bytes: u64,
    /// `poll_event` returned an error or a Close: only `Ok(None)` may follow.
    done: bool,
    /// A streamed message is open: its kind and size so far.
    streaming: Option<(MessageKind, usize)>,
    /// The largest frame one step queued (the one allowed past the mark).
    largest_frame: usize,
    /// Bytes of control frames we chose to send (finding F1).
    control_allowance: usize,
    /// A timer error may still follow the peer's Close.
    close_event: bool,
    /// The clock passed to the timers.
    start: Instant,
    now: Instant,

    /// Our output, decoded as the peer would.
    out_dec: FrameDecoder,
    out_buf: BytesMut,
    out_current: Option<(FrameHeader, Vec<u8>)>,
    out_frames: Vec<OutFrame>,
    /// Data and ping frames the successful sends promised, in order.
    expected: Vec<OutFrame>,
    /// The Close payload a successful `send_close` promised.
    expected_close: Option<Vec<u8>>,
    /// A fragmented message we are sending.
    out_in_message: bool,
}

impl Harness {
    fn new(role: Role, config: Config, conn: Connection) -> Self {
        let peer = match role {
            Role::Server => Role::Client,
            Role::Client => Role::Server,
        };
        let start = Instant::now();
        Harness {
            role,
            config,
            conn,
            read: 0,
            event_bytes: 0,
            done: false,
            streaming: None,
            largest_frame: 0,
            control_allowance: 0,
            close_event: false,
            start,
            now: start,
            out_dec: FrameDecoder::new(peer, usize::MAX),
            out_buf: BytesMut::new(),
            out_current: None,
            out_frames: Vec::new(),
            expected: Vec::new(),
            expected_close: None,
            out_in_message: false,
        }
    }

    fn step(&mut self, action: &Action) {
        match action {
            Action::Read(bytes) => self.read(&bytes.0),
            Action::ReadFrame(frame) => {
                let wire = frame.encode(self.role == Role::Server);
                match frame.split {
                    Some(at) if !wire.is_empty() => {
                        let at = usize::from(at) % wire.len();
                        self.read(&wire[..at]);
                        self.poll_events(0);
                        self.read(&wire[at..]);
                    }
                    _ => self.read(&wire),
                }
            }
            Action::SendRepeated { text, data, times } => {
                let data = data.0.repeat(usize::from(*times));
                if *text {
                    let text = String::from_utf8_lossy(&data).into_owned();
                    let r = self.conn.send_text(text.clone());
                    self.sent(r, OpCode::Text, true, text.as_bytes());
                } else {
                    let r = self.conn.send_binary(data.clone());
                    self.sent(r, OpCode::Binary, true, &data);
                }
            }
            Action::ReadRepeated { frame, times } => {
                let mut frame = frame.clone();
                frame.payload = Blob(frame.payload.0.repeat(usize::from(*times)));
                self.step(&Action::ReadFrame(frame));
            }
            Action::Eof => self.conn.handle_eof(),
            Action::PollEvents(n) => self.poll_events(*n),
            Action::Transmit(n) => self.transmit(*n),
            Action::ReadIntoBuf(bytes) => self.read_into_buf(&bytes.0),
            Action::TransmitPartial(n) => self.transmit_partial(*n),
            Action::SendText(Text(text)) => {
                let r = self.conn.send_text(text.clone());
                self.sent(r, OpCode::Text, true, text.as_bytes());
            }
            Action::SendBinary(Blob(data)) => {
                let r = self.conn.send_binary(data.clone());
                self.sent(r, OpCode::Binary, true, data);
            }
            Action::SendPrepared { text, data } => {
                let (message, opcode, payload) = if *text {
                    let s = String::from_utf8_lossy(&data.0).into_owned();
                    let payload = s.clone().into_bytes();
                    (PreparedMessage::text(s), OpCode::Text, payload)
                } else {
                    (
                        PreparedMessage::binary(&data.0),
                        OpCode::Binary,
                        data.0.clone(),
                    )
                };
                assert_eq!(message.payload(), payload);
                let r = self.conn.send_prepared(&message);
                self.sent(r, opcode, true, &payload);
            }
            Action::SendFragment {
                text,
                data: Blob(data),
                fin,
            } => {
                let kind = if *text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                let opcode = match (self.out_in_message, kind) {
                    (true, _) => OpCode::Continuation,
                    (false, MessageKind::Text) => OpCode::Text,
                    (false, MessageKind::Binary) => OpCode::Binary,
                };
                let r = self.conn.send_fragment(kind, data.clone(), *fin);
                if r.is_ok() {
                    self.out_in_message = !*fin;
                }
                self.sent(r, opcode, *fin, data);
            }
            Action::SendPing(Blob(payload)) => {
                let r = self.conn.send_ping(payload);
                if payload.len() > MAX_CONTROL_PAYLOAD {
                    assert!(matches!(r, Err(SendError::ControlPayloadTooLong { .. })));
                }
                if r.is_ok() {
                    self.control_sent(payload.len());
                }
                self.sent(r, OpCode::Ping, true, payload);
            }
            Action::SendPong(Blob(payload)) => {
                let r = self.conn.send_pong(payload);
                if payload.len() > MAX_CONTROL_PAYLOAD {
                    assert!(matches!(r, Err(SendError::ControlPayloadTooLong { .. })));
                }
                // Pongs are also written automatically: not in `expected`.
                self.on_send_error(&r);
                if r.is_ok() {
                    self.control_sent(payload.len());
                    self.note_frame(payload.len());
                }
                self.check_buffered();
            }
            Action::Advance(ms) => {
                self.now += Duration::from_millis(u64::from(*ms));
                self.run_timers();
            }
            Action::WakeUp => {
                if let Some(at) = self.conn.poll_timeout() {
                    self.now = self.now.max(at);
                }
                self.run_timers();
            }
            Action::SendClose {
                code,
                reason: Text(reason),
            } => {
                let closed_before = self.conn.is_close_sent();
                let r = self.conn.send_close(CloseCode(*code), reason);
                match r {
                    Ok(()) => {
                        assert!(CloseCode(*code).is_sendable());
                        assert!(reason.len() <= MAX_CLOSE_REASON);
                        assert!(!closed_before, "a second Close was accepted");
                        assert!(self.conn.is_close_sent());
                        let mut payload = code.to_be_bytes().to_vec();
                        payload.extend_from_slice(reason.as_bytes());
                        self.expected_close = Some(payload);
                    }
                    Err(SendError::InvalidCloseCode { .. }) => {
                        assert!(!CloseCode(*code).is_sendable());
                    }
                    Err(_) => {}
                }
                self.check_buffered();
            }
        }
    }

    fn read(&mut self, bytes: &[u8]) {
        self.read += bytes.len() as u64;
        self.conn.handle_read(bytes);
    }

    fn read_into_buf(&mut self, bytes: &[u8]) {
        let buf = self.conn.read_buf();
        let room = buf.capacity() - buf.len();
        assert!(room >= 1, "read_buf offers no room");
        let n = bytes.len().min(room);
        buf.extend_from_slice(&bytes[..n]);
        self.read += n as u64;
    }

    fn transmit_partial(&mut self, n: u16) {
        let before = self.conn.buffered_amount();
        let pending = self.conn.pending_transmit();
        if pending.is_empty() {
            assert_eq!(before, 0, "bytes buffered but none pending");
            return;
        }
        let n = if n == 0 {
            pending.len()
        } else {
            usize::from(n).min(pending.len())
        };
        self.out_buf.extend_from_slice(&pending[..n]);
        self.conn.advance_transmit(n);
        assert_eq!(self.conn.buffered_amount(), before - n);
        self.decode_output();
    }

    fn control_sent(&mut self, payload_len: usize) {
        if CONTROL_SENDS_EXEMPT {
            self.control_allowance += MAX_HEADER_LEN + payload_len;
        }
    }

    /// The drive loop's timer part: `handle_timeout(now)` until the next
    /// deadline is in the future. It must settle in a few rounds.
    fn run_timers(&mut self) {
        for _ in 0..8 {
            let before = self.conn.buffered_amount();
            let close_before = self.conn.is_close_sent();
            self.conn.handle_timeout(self.now);
            let after = self.conn.buffered_amount();
            let new_close = self.conn.is_close_sent() && !close_before;
            if after > before && !new_close {
                // Only a keepalive ping may be queued by a timer besides a Close.
                let ping_len = match self.role {
                    Role::Server => 2,
                    Role::Client => 6,
                };
                assert_eq!(after - before, ping_len, "a timer queued something else");
                self.expected.push(OutFrame {
                    opcode: OpCode::Ping,
                    fin: true,
                    payload: Vec::new(),
                });
                self.control_sent(0);
            }
            self.check_buffered();
            match self.conn.poll_timeout() {
                Some(at) if at <= self.now => {}
                _ => return,
            }
        }
        panic!(
            "timers still due at {:?} after 8 rounds",
            self.now - self.start
        );
    }

    /// `SlowConsumer::Close` discards the frames not yet handed out (a frame
    /// of which any byte went out is finished): they leave `expected` too.
    fn on_send_error(&mut self, r: &Result<(), SendError>) {
        if let Err(SendError::SlowConsumer { .. }) = r {
            let is_expected = |op: OpCode| !matches!(op, OpCode::Close | OpCode::Pong);
            let started = self
                .out_frames
                .iter()
                .filter(|f| is_expected(f.opcode))
                .count()
                + usize::from(match &self.out_current {
                    Some((h, _)) => is_expected(h.opcode),
                    // Part of a header written (`advance_transmit` in the
                    // middle of one): that frame started too.
                    None => self
                        .out_buf
                        .first()
                        .and_then(|b0| OpCode::from_u8(b0 & 0x0F))
                        .is_some_and(is_expected),
                });
            assert!(started <= self.expected.len());
            self.expected.truncate(started);
            assert!(self.conn.is_close_sent());
        }
    }

    /// Bookkeeping after a send of a data or ping frame.
    fn sent(&mut self, r: Result<(), SendError>, opcode: OpCode, fin: bool, payload: &[u8]) {
        self.on_send_error(&r);
        if r.is_ok() {
            self.note_frame(payload.len());
            self.expected.push(OutFrame {
                opcode,
                fin,
                payload: payload.to_vec(),
            });
        }
        self.check_buffered();
    }

    fn note_frame(&mut self, payload_len: usize) {
        self.largest_frame = self.largest_frame.max(MAX_HEADER_LEN + payload_len);
    }

    fn check_buffered(&self) {
        // One Close (ours, the answer or the failure's) is never refused.
        let close = MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD;
        // An automatic pong may cross the mark like a send.
        let frame = self.largest_frame.max(MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD);
        let bound = self.config.max_outbound_buffer + frame + close + self.control_allowance;
        let buffered = self.conn.buffered_amount();
        assert!(
            buffered <= bound,
            "buffered_amount {buffered} > max_outbound_buffer {} + one frame {frame} + close {close} + control {}",
            self.config.max_outbound_buffer,
            self.control_allowance
        );
    }

    fn poll_events(&mut self, n: u8) {
        let mut polled = 0u32;
        loop {
            if n != 0 && polled >= u32::from(n) {
                break;
            }
            polled += 1;
            let r = self.conn.poll_event();
            if self.done {
                // A client waits for the server to close the transport
                // after the close handshake: that timeout may still come.
                // Finding F4: while open, a pong timeout may come too.
                if self.close_event
                    && let Err(e) = &r
                    && (matches!(e.violation(), Violation::CloseTimeout { .. })
                        || (crate::open_findings::F4_PONG_TIMEOUT_AFTER_CLOSE
                            && matches!(e.violation(), Violation::PongTimeout { .. })))
                {
                    self.close_event = false;
                    continue;
                }
                assert!(
                    matches!(r, Ok(None)),
                    "poll_event after an error or Close returned {r:?}"
                );
                break;
            }
            match r {
                Ok(None) => break,
                Ok(Some(event)) => self.on_event(event),
                Err(e) => {
                    assert!(e.offset() <= self.read, "error offset past the input: {e}");
                    self.done = true;
                    self.close_event = false;
                    self.streaming = None;
                    // The error is sticky: check at once too.
                    assert!(matches!(self.conn.poll_event(), Ok(None)));
                }
            }
            self.check_buffered();
        }
        self.check_buffered();
    }

    fn on_event(&mut self, event: Event) {
        let max_message = self.config.max_message_size;
        let len = match &event {
            Event::Text(t) => {
                assert!(self.streaming.is_none() && !self.config.stream_messages);
                assert!(std::str::from_utf8(t.as_bytes()).is_ok(), "text not UTF-8");
                assert!(t.len() <= max_message, "text message over the limit");
                t.len()
            }
            Event::Binary(b) => {
                assert!(self.streaming.is_none() && !self.config.stream_messages);
                assert!(b.len() <= max_message, "binary message over the limit");
                b.len()
            }
            Event::Ping(p) | Event::Pong(p) => {
                assert!(p.len() <= MAX_CONTROL_PAYLOAD);
                if let Event::Ping(_) = event
                    && self.config.auto_pong
                {
                    self.note_frame(p.len());
                }
                p.len()
            }
            Event::Close(frame) => {
                assert!(self.conn.is_close_received());
                assert!(
                    self.conn.is_close_sent(),
                    "a received Close is not answered"
                );
                self.done = true;
                self.close_event = true;
                self.streaming = None;
                match frame {
                    Some(f) => {
                        assert!(f.code.is_valid_received(), "invalid close code {}", f.code);
                        assert!(f.reason.len() <= MAX_CLOSE_REASON);
                        assert!(std::str::from_utf8(f.reason.as_bytes()).is_ok());
                        2 + f.reason.len()
                    }
                    None => 0,
                }
            }
            Event::MessageStart(kind) => {
                assert!(self.config.stream_messages, "streamed event when not asked");
                assert!(self.streaming.is_none(), "message started inside a message");
                self.streaming = Some((*kind, 0));
                0
            }
            Event::TextPart(t) => {
                assert!(
                    std::str::from_utf8(t.as_bytes()).is_ok(),
                    "text part not UTF-8"
                );
                self.part(MessageKind::Text, t.len())
            }
            Event::BinaryPart(b) => self.part(MessageKind::Binary, b.len()),
            Event::MessageEnd => {
                assert!(
                    self.streaming.take().is_some(),
                    "message end outside a message"
                );
                0
            }
            _ => 0,
        };
        self.event_bytes += len as u64;
        assert!(
            self.event_bytes <= self.read,
            "events carry {} payload bytes from {} bytes read",
            self.event_bytes,
            self.read
        );
    }

    fn part(&mut self, kind: MessageKind, len: usize) -> usize {
        let Some((open, size)) = &mut self.streaming else {
            panic!("message part outside a message");
        };
        assert_eq!(*open, kind, "part of the wrong kind");
        *size += len;
        assert!(
            *size <= self.config.max_message_size,
            "streamed message over the limit"
        );
        len
    }

    fn transmit(&mut self, n: u8) {
        let mut pulled = 0u32;
        loop {
            if n != 0 && pulled >= u32::from(n) {
                break;
            }
            pulled += 1;
            let before = self.conn.buffered_amount();
            let Some(bytes) = self.conn.poll_transmit() else {
                assert_eq!(before, 0, "bytes buffered but none to transmit");
                break;
            };
            assert!(!bytes.is_empty(), "empty transmit");
            assert_eq!(self.conn.buffered_amount(), before - bytes.len());
            self.out_buf.extend_from_slice(&bytes);
            self.decode_output();
        }
    }

    /// Decodes our own output as the peer would.
    fn decode_output(&mut self) {
        loop {
            let event = match self.out_dec.decode(&mut self.out_buf) {
                Ok(Some(event)) => event,
                Ok(None) => break,
                Err(e) => panic!("our output does not decode for the peer: {e}"),
            };
            match event {
                FrameEvent::Header(header) => {
                    assert_eq!(header.rsv, 0);
                    assert!(
                        !self.out_frames.iter().any(|f| f.opcode == OpCode::Close),
                        "a frame written after our Close: {header:?}"
                    );
                    self.out_current = Some((header, Vec::new()));
                }
                FrameEvent::Payload(piece) => {
                    let (_, payload) = self.out_current.as_mut().expect("payload outside a frame");
                    payload.extend_from_slice(&piece);
                }
                FrameEvent::End => {
                    let (header, payload) = self.out_current.take().expect("end outside a frame");
                    self.out_frames.push(OutFrame {
                        opcode: header.opcode,
                        fin: header.fin,
                        payload,
                    });
                }
            }
        }
    }

    fn finish(&mut self) {
        assert!(self.out_buf.is_empty(), "output ends inside a frame");
        assert!(self.out_current.is_none(), "output ends inside a frame");
        assert_eq!(self.conn.buffered_amount(), 0);
        let closes: Vec<&OutFrame> = self
            .out_frames
            .iter()
            .filter(|f| f.opcode == OpCode::Close)
            .collect();
        assert!(closes.len() <= 1, "{} Close frames written", closes.len());
        assert_eq!(closes.len() == 1, self.conn.is_close_sent());
        if let Some(close) = closes.first() {
            let p = &close.payload;
            assert!(p.len() != 1 && p.len() <= MAX_CONTROL_PAYLOAD);
            if p.len() >= 2 {
                let code = CloseCode(u16::from_be_bytes([p[0], p[1]]));
                assert!(code.is_sendable(), "we wrote close code {code}");
                assert!(
                    std::str::from_utf8(&p[2..]).is_ok(),
                    "close reason not UTF-8"
                );
            }
            if let Some(expected) = &self.expected_close {
                assert_eq!(&close.payload, expected, "the Close written is not ours");
            }
        }
        // Fragments in order: continuations only inside a message.
        let mut in_message = false;
        let mut is_text = false;
        let mut text = Vec::new();
        for f in &self.out_frames {
            match f.opcode {
                OpCode::Text | OpCode::Binary => {
                    assert!(!in_message, "a new message inside a fragmented one");
                    in_message = !f.fin;
                    is_text = f.opcode == OpCode::Text;
                    text.clear();
                    if is_text {
                        text.extend_from_slice(&f.payload);
                    }
                }
                OpCode::Continuation => {
                    assert!(in_message, "a continuation outside a message");
                    in_message = !f.fin;
                    if is_text {
                        text.extend_from_slice(&f.payload);
                    }
                }
                _ => continue,
            }
            if !in_message {
                // Text messages are valid UTF-8 once complete (binary adds nothing).
                assert!(std::str::from_utf8(&text).is_ok(), "we sent invalid UTF-8");
                text.clear();
            }
        }
        let written: Vec<OutFrame> = self
            .out_frames
            .iter()
            .filter(|f| !matches!(f.opcode, OpCode::Close | OpCode::Pong))
            .cloned()
            .collect();
        assert_eq!(written, self.expected, "frames written differ from sends");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(max_outbound_buffer: u16, actions: Vec<Action>) -> Scenario {
        Scenario {
            max_frame_size: 0,
            max_message_size: 0,
            max_fragments: 0,
            max_outbound_buffer,
            auto_pong: true,
            stream_messages: false,
            slow_consumer: SlowPolicy::Refuse,
            keepalive_ms: Some(1000),
            pong_timeout_ms: Some(500),
            close_timeout_ms: Some(500),
            seed: 1,
            actions,
        }
    }

    fn text_frame() -> PeerFrame {
        PeerFrame {
            fin: true,
            rsv: Rsv::Clear,
            opcode: PeerOpcode::Text,
            key: [1, 2, 3, 4],
            wrong_mask: false,
            close_code: None,
            payload: Blob("héllo".into()),
            split: Some(3),
        }
    }

    /// The harness itself: a clean exchange passes every check.
    #[test]
    fn echo_ping_and_close_pass() {
        for role in [Role::Server, Role::Client] {
            let close = PeerFrame {
                opcode: PeerOpcode::Close,
                close_code: Some(1000),
                payload: Blob(b"bye".to_vec()),
                split: None,
                ..text_frame()
            };
            let actions = vec![
                Action::WakeUp,
                Action::SendText(Text("hi".into())),
                Action::ReadFrame(text_frame()),
                Action::PollEvents(0),
                Action::SendPing(Blob(b"p".to_vec())),
                Action::Advance(1000),
                Action::Transmit(1),
                Action::ReadFrame(close),
                Action::PollEvents(0),
                Action::SendText(Text("late".into())),
                Action::WakeUp,
                Action::PollEvents(0),
            ];
            run(role, scenario(1000, actions));
        }
    }
}
