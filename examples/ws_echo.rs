//! A WebSocket echo server on `std::net`, one thread per connection.
//!
//! ```text
//! cargo run --release --example ws_echo -- --port 9001
//! cargo run --release --example ws_echo --features deflate -- --port 9001 --deflate
//! ```
//!
//! Listens on 127.0.0.1:PORT and sends every message back as it came (text
//! as text, binary as binary), up to 64 MiB and 131,072 fragments a message.
//! The Autobahn testsuite (`.ci/check-autobahn.sh`) drives it.
//!
//! With `--deflate` (needs the `deflate` feature) it accepts a
//! permessage-deflate offer (RFC 7692) with the default [`DeflateConfig`]
//! policy, and echoes compressed messages compressed.
//!
//! pushcodec does no I/O: this program reads bytes, hands them to the
//! handshake and then to the [`Connection`], answers the events, and writes
//! what the connection wants sent.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant};

#[cfg(feature = "deflate")]
use pushcodec::ws::deflate::negotiate_server;
use pushcodec::ws::handshake::{self, Limits};
use pushcodec::ws::{Connection, Role};

#[path = "common/blocking.rs"]
mod blocking;
use blocking::READ_BUFFER;
#[cfg(feature = "deflate")]
use blocking::deflate_config;

/// How long a client may take to send its opening handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the client's FIN after ours (see `linger_close`).
const LINGER: Duration = Duration::from_secs(5);

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (port, deflate) = match args.as_slice() {
        [flag, port] if flag == "--port" => (port.parse::<u16>().ok(), false),
        [flag, port, deflate] if flag == "--port" && deflate == "--deflate" => {
            (port.parse::<u16>().ok(), true)
        }
        _ => (None, false),
    };
    let Some(port) = port else {
        eprintln!("usage: ws_echo --port PORT [--deflate]");
        std::process::exit(2);
    };
    if deflate && !cfg!(feature = "deflate") {
        eprintln!(
            "ws_echo: --deflate needs the `deflate` feature: \
             cargo run --example ws_echo --features deflate -- --port {port} --deflate"
        );
        std::process::exit(2);
    }
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let with = if deflate { " (permessage-deflate)" } else { "" };
    eprintln!("ws_echo: listening on ws://127.0.0.1:{port}{with}");
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                std::thread::spawn(move || {
                    if let Err(e) = serve(stream, deflate) {
                        eprintln!("ws_echo: connection ended: {e}");
                    }
                });
            }
            Err(e) => eprintln!("ws_echo: accept failed: {e}"),
        }
    }
    Ok(())
}

fn serve(mut stream: TcpStream, deflate: bool) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    let mut buf = vec![0u8; READ_BUFFER];

    // The opening handshake (RFC 6455 §4.2): read until the request head is
    // complete. The bytes after it are already WebSocket frames.
    let mut head = Vec::new();
    let (first_frames, agreed) = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
        match handshake::parse_request(&head, &Limits::default()) {
            Ok(None) => {}
            Ok(Some((request, used))) => {
                let accept = request.accept();
                // RFC 7692 §5: accept at most one offer, answering with the
                // parameters in force; offers we cannot honour are declined.
                #[cfg(feature = "deflate")]
                let (accept, agreed) = match deflate
                    .then(|| negotiate_server(request.extensions(), &deflate_config()))
                    .flatten()
                {
                    Some((params, value)) => (accept.extension(&value), Some(params)),
                    None => (accept, None),
                };
                #[cfg(not(feature = "deflate"))]
                let agreed: Option<std::convert::Infallible> = None;
                let mut response = Vec::new();
                accept.encode(&mut response).map_err(io::Error::other)?;
                stream.write_all(&response)?;
                break (head.split_off(used), agreed);
            }
            Err(e) => {
                let mut response = Vec::new();
                e.encode_response(&mut response);
                stream.write_all(&response)?;
                return linger_close(stream);
            }
        }
    };

    let mut conn = Connection::new(Role::Server, blocking::large_messages());
    #[cfg(feature = "deflate")]
    if let Some(params) = agreed {
        conn = conn.with_deflate(&params, &deflate_config());
    }
    // Without the feature, main refuses --deflate and nothing is agreed.
    #[cfg(not(feature = "deflate"))]
    let _ = (agreed, deflate);
    blocking::drive(
        &mut conn,
        &mut stream,
        &first_frames,
        "ws_echo",
        |conn, event| {
            blocking::echo(conn, event, "ws_echo");
        },
    )?;
    linger_close(stream)
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
