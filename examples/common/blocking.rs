//! The crate docs' drive loop (`pushcodec`, "The drive loop") on a blocking
//! `std::net::TcpStream`, and the settings the Autobahn runs need; shared by
//! `ws_echo` and `ws_client` through `#[path]` (Cargo makes no example of a
//! folder without a `main.rs`).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[cfg(feature = "deflate")]
use pushcodec::ws::deflate::DeflateConfig;
use pushcodec::ws::{Config, Connection, Event};

/// The size of one socket read.
pub const READ_BUFFER: usize = 64 * 1024;

/// Room for the largest Autobahn cases: 64 MiB messages and frames, and more
/// than 65,536 fragments (9.3.1 sends 4 MiB as 65,537 frames of at most 64
/// bytes; the default limit is 65,536).
pub fn large_messages() -> Config {
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 64 << 20;
    config.max_fragments = 1 << 17;
    config
}

/// The `--deflate` policy: the defaults (context takeover both ways,
/// 15-bit windows, level 6, messages under 128 bytes sent as they are).
#[cfg(feature = "deflate")]
pub fn deflate_config() -> DeflateConfig {
    DeflateConfig::default()
}

/// Sends a data message back as it came; `who` prefixes what is logged.
pub fn echo(conn: &mut Connection, event: Event, who: &str) {
    let sent = match event {
        Event::Text(text) => conn.send_text(text),
        Event::Binary(data) => conn.send_binary(data),
        // Pings are answered and Closes replied to by the connection.
        _ => Ok(()),
    };
    // Only fails after a Close was sent, when nothing may be echoed anyway.
    if let Err(e) = sent {
        eprintln!("{who}: not echoed: {e}");
    }
}

/// Runs `conn` over `stream` until the connection says the transport may
/// close: bytes and time in, events to `on_event` (which may send), bytes
/// out. `first_frames` are bytes read with the handshake's head.
pub fn drive(
    conn: &mut Connection,
    stream: &mut TcpStream,
    first_frames: &[u8],
    who: &str,
    mut on_event: impl FnMut(&mut Connection, Event),
) -> io::Result<()> {
    let mut buf = vec![0u8; READ_BUFFER];
    conn.handle_read(first_frames);
    // Starts the clocks: keepalive pings, the pong and close deadlines.
    conn.handle_timeout(Instant::now());
    loop {
        loop {
            match conn.poll_event() {
                Ok(Some(event)) => on_event(conn, event),
                Ok(None) => break,
                // The Close frame with the right code is already queued.
                Err(e) => eprintln!("{who}: {e}"),
            }
            // Write as we go, so one read full of messages never piles up
            // more than one answer in memory.
            transmit(conn, stream)?;
        }
        transmit(conn, stream)?;
        if conn.should_close_transport() {
            return Ok(());
        }
        // Block until bytes arrive or the connection's next deadline.
        let deadline = conn
            .poll_timeout()
            .map(|at| at.saturating_duration_since(Instant::now()));
        stream.set_read_timeout(deadline.map(|d| d.max(Duration::from_millis(1))))?;
        match stream.read(&mut buf) {
            Ok(0) => conn.handle_eof(),
            Ok(n) => conn.handle_read(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            // Some peers abort (RST) instead of closing (FIN) once the close
            // handshake is done; either way the transport is gone, and the
            // connection tells whether that was clean.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => conn.handle_eof(),
            Err(e) => return Err(e),
        }
        conn.handle_timeout(Instant::now());
    }
}

fn transmit(conn: &mut Connection, stream: &mut TcpStream) -> io::Result<()> {
    while let Some(bytes) = conn.poll_transmit() {
        stream.write_all(&bytes)?;
    }
    Ok(())
}
