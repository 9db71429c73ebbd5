//! A WebSocket echo server on `std::net`, one thread per connection.
//!
//! ```text
//! cargo run --release --example ws_echo -- --port 9001
//! ```
//!
//! Listens on 127.0.0.1:PORT and sends every message back as it came (text
//! as text, binary as binary), up to 64 MiB and 65,536 fragments a message.
//! The Autobahn testsuite (`.ci/check-autobahn.sh`) drives it.
//!
//! pushcodec does no I/O: this program reads bytes, hands them to the
//! handshake and then to the [`Connection`], answers the events, and writes
//! what the connection wants sent.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use pushcodec::ws::handshake::{self, Limits};
use pushcodec::ws::{Config, Connection, Event, Role};

const READ_BUFFER: usize = 64 * 1024;
/// How long a client may take to send its opening handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the client's FIN after ours (see `linger_close`).
const LINGER: Duration = Duration::from_secs(5);

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = match args.as_slice() {
        [flag, port] if flag == "--port" => port.parse::<u16>().ok(),
        _ => None,
    };
    let Some(port) = port else {
        eprintln!("usage: ws_echo --port PORT");
        std::process::exit(2);
    };
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    eprintln!("ws_echo: listening on ws://127.0.0.1:{port}");
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                std::thread::spawn(move || {
                    if let Err(e) = serve(stream) {
                        eprintln!("ws_echo: connection ended: {e}");
                    }
                });
            }
            Err(e) => eprintln!("ws_echo: accept failed: {e}"),
        }
    }
    Ok(())
}

fn serve(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    let mut buf = vec![0u8; READ_BUFFER];

    // The opening handshake (RFC 6455 §4.2): read until the request head is
    // complete. The bytes after it are already WebSocket frames.
    let mut head = Vec::new();
    let first_frames = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
        match handshake::parse_request(&head, &Limits::default()) {
            Ok(None) => {}
            Ok(Some((request, used))) => {
                let mut response = Vec::new();
                request
                    .accept()
                    .encode(&mut response)
                    .map_err(io::Error::other)?;
                stream.write_all(&response)?;
                break head.split_off(used);
            }
            Err(e) => {
                let mut response = Vec::new();
                e.encode_response(&mut response);
                stream.write_all(&response)?;
                return linger_close(stream);
            }
        }
    };

    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 64 << 20;
    // More than 65,536: Autobahn 9.3.1 sends 4 MiB as 65,537 frames of at
    // most 64 bytes (the default limit is 65,536).
    config.max_fragments = 1 << 17;
    let mut conn = Connection::new(Role::Server, config);
    conn.handle_read(&first_frames);
    // Starts the clocks: keepalive pings, the pong and close deadlines.
    conn.handle_timeout(Instant::now());

    // The drive loop: bytes and time in, events out (answered), bytes out.
    loop {
        loop {
            match conn.poll_event() {
                Ok(Some(Event::Text(text))) => echo(conn.send_text(text)),
                Ok(Some(Event::Binary(data))) => echo(conn.send_binary(data)),
                // Pings are answered and Closes replied to by the connection.
                Ok(Some(_)) => {}
                Ok(None) => break,
                // The Close frame with the right code is already queued.
                Err(e) => eprintln!("ws_echo: {e}"),
            }
            // Write as we go, so one read full of messages never piles up
            // more than one echo in memory.
            transmit(&mut conn, &mut stream)?;
        }
        transmit(&mut conn, &mut stream)?;
        if conn.should_close_transport() {
            return linger_close(stream);
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
            Err(e) => return Err(e),
        }
        conn.handle_timeout(Instant::now());
    }
}

fn echo(sent: Result<(), pushcodec::ws::SendError>) {
    // Only fails after a Close was sent, when nothing may be echoed anyway.
    if let Err(e) = sent {
        eprintln!("ws_echo: not echoed: {e}");
    }
}

fn transmit(conn: &mut Connection, stream: &mut TcpStream) -> io::Result<()> {
    while let Some(bytes) = conn.poll_transmit() {
        stream.write_all(&bytes)?;
    }
    Ok(())
}

/// The server closes the TCP connection first (RFC 6455 §7.1.1). Closing a
/// socket with unread input makes the kernel send a reset, which can destroy
/// our last frames before the client reads them; so send our FIN, read until
/// the client's (bounded), then close.
fn linger_close(mut stream: TcpStream) -> io::Result<()> {
    stream.shutdown(Shutdown::Write)?;
    let deadline = Instant::now() + LINGER;
    let mut buf = [0u8; 4096];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        stream.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
        if !matches!(stream.read(&mut buf), Ok(n) if n > 0) {
            break;
        }
    }
    Ok(())
}
