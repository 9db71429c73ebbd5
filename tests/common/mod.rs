//! Helpers shared by the WebSocket integration tests.
#![allow(dead_code)]

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
