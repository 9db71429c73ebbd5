//! Helpers shared by the WebSocket integration tests.
#![allow(dead_code)]

mod clock;
pub use clock::*;

use pushcodec::ws::{Config, Connection, Event, ProtocolError, Role};

/// Builds one frame as a peer would put it on the wire.
pub fn frame(fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
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
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A frame as a client sends it to a server (masked).
pub fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(fin, opcode, payload, Some([0x37, 0xfa, 0x21, 0x3d]))
}

/// Everything a connection produced for one input script.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    pub events: Vec<Event>,
    pub error: Option<ProtocolError>,
    pub written: Vec<u8>,
    pub close_transport: bool,
}

/// Feeds `input` in chunks of `chop` bytes (0 = whole). See [`run_chunks`].
pub fn run(role: Role, config: Config, input: &[u8], chop: usize, echo: bool) -> Outcome {
    let chunks: Vec<&[u8]> = if chop == 0 {
        vec![input]
    } else {
        input.chunks(chop).collect()
    };
    run_chunks(role, config, &chunks, echo)
}

/// Feeds the chunks one by one, draining events after each, and echoing
/// data messages back like an echo server when `echo` is set.
pub fn run_chunks(role: Role, config: Config, chunks: &[&[u8]], echo: bool) -> Outcome {
    run_chunks_via(role, config, chunks, echo, false)
}

/// [`run_chunks`], appending each chunk to `Connection::read_buf` instead
/// of passing it to `handle_read` when `via_read_buf` is set.
pub fn run_chunks_via(
    role: Role,
    config: Config,
    chunks: &[&[u8]],
    echo: bool,
    via_read_buf: bool,
) -> Outcome {
    let mut conn = Connection::new(role, config);
    let mut events = Vec::new();
    let mut error = None;
    let mut written = Vec::new();
    for chunk in chunks {
        if via_read_buf {
            let buf = conn.read_buf();
            assert!(buf.capacity() > buf.len(), "no room offered");
            buf.extend_from_slice(chunk);
        } else {
            conn.handle_read(chunk);
        }
        loop {
            match conn.poll_event() {
                Ok(Some(event)) => {
                    if echo {
                        match &event {
                            Event::Text(t) => drop(conn.send_text(t.clone())),
                            Event::Binary(b) => drop(conn.send_binary(b.clone())),
                            _ => {}
                        }
                    }
                    events.push(event);
                }
                Ok(None) => break,
                Err(e) => {
                    assert!(error.is_none(), "a second error: {e}");
                    error = Some(e);
                }
            }
        }
        while let Some(bytes) = conn.poll_transmit() {
            written.extend_from_slice(&bytes);
        }
    }
    Outcome {
        events,
        error,
        written,
        close_transport: conn.should_close_transport(),
    }
}

/// Runs the script whole, byte by byte and split in two at every point
/// (the first 300), asserting the same events, error and (for a server,
/// whose output is unmasked) the same bytes written every time.
pub fn run_all_chunkings(role: Role, config: &Config, input: &[u8], echo: bool) -> Outcome {
    let whole = run(role, config.clone(), input, 0, echo);
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    let mut variants = vec![
        (
            "byte by byte".to_string(),
            run(role, config.clone(), input, 1, echo),
        ),
        (
            "whole, via read_buf".to_string(),
            run_chunks_via(role, config.clone(), &[input], echo, true),
        ),
        (
            "byte by byte, via read_buf".to_string(),
            run_chunks_via(role, config.clone(), &bytes, echo, true),
        ),
    ];
    for cut in 1..input.len().min(300) {
        let (a, b) = input.split_at(cut);
        variants.push((
            format!("split at {cut}"),
            run_chunks(role, config.clone(), &[a, b], echo),
        ));
    }
    for (name, got) in variants {
        assert_eq!(got.events, whole.events, "{name}");
        assert_eq!(got.error, whole.error, "{name}");
        assert_eq!(got.close_transport, whole.close_transport, "{name}");
        if role == Role::Server {
            assert_eq!(got.written, whole.written, "{name}");
        }
    }
    whole
}

/// A client and a server joined by an in-memory transport, on a fake
/// clock: the drive loop of the crate docs, run for both ends.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    /// The fake clock; starts at a real instant so deadlines are ordinary.
    pub now: Time,
    pub client_events: Vec<Event>,
    pub server_events: Vec<Event>,
    pub client_error: Option<ProtocolError>,
    pub server_error: Option<ProtocolError>,
    /// Bytes each way, so a test can count what crossed.
    pub to_server: usize,
    pub to_client: usize,
    /// While set, what the client writes is lost (a peer gone silent).
    pub client_muted: bool,
}

impl Pair {
    /// Both ends with `config`, their clocks started.
    pub fn new(config: Config) -> Self {
        let now = t0();
        let mut client = Connection::client(config.clone());
        let mut server = Connection::server(config);
        client.handle_timeout(now);
        server.handle_timeout(now);
        Pair {
            client,
            server,
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
            client_error: None,
            server_error: None,
            to_server: 0,
            to_client: 0,
            client_muted: false,
        }
    }

    /// Moves bytes both ways and drains events until nothing moves.
    pub fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(bytes) = self.client.poll_transmit() {
                moved = true;
                if !self.client_muted {
                    self.to_server += bytes.len();
                    self.server.handle_read(&bytes);
                }
            }
            moved |= drain(
                &mut self.server,
                &mut self.server_events,
                &mut self.server_error,
            );
            while let Some(bytes) = self.server.poll_transmit() {
                moved = true;
                self.to_client += bytes.len();
                self.client.handle_read(&bytes);
            }
            moved |= drain(
                &mut self.client,
                &mut self.client_events,
                &mut self.client_error,
            );
            if !moved {
                return;
            }
        }
    }

    /// Time passes: both ends' timers run at every deadline on the way, as
    /// a drive loop sleeping until `poll_timeout` would run them.
    pub fn advance(&mut self, by: std::time::Duration) {
        let end = self.now + by;
        for _ in 0..100_000 {
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .filter(|&at| at <= end)
                .min();
            let Some(at) = next else { break };
            self.now = self.now.max(at);
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
            self.pump();
            if self.now == end {
                break;
            }
        }
        assert!(
            [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .all(|at| at > self.now || self.now < end),
            "a deadline that handle_timeout does not move on"
        );
        self.now = end;
        self.client.handle_timeout(end);
        self.server.handle_timeout(end);
        self.pump();
    }
}

/// Events out of `conn` until none; `true` if any (or an error) came.
fn drain(
    conn: &mut Connection,
    events: &mut Vec<Event>,
    error: &mut Option<ProtocolError>,
) -> bool {
    let mut any = false;
    loop {
        match conn.poll_event() {
            Ok(Some(event)) => {
                any = true;
                events.push(event);
            }
            Ok(None) => return any,
            Err(e) => {
                assert!(error.is_none(), "a second error: {e}");
                *error = Some(e);
                return true;
            }
        }
    }
}
