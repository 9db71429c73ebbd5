//! The `ws_echo` server on tokio: the same [`Connection`] state machine,
//! another runtime. Nothing in pushcodec knows which one drives it.
//!
//! ```text
//! cargo run --release --example ws_echo_tokio -- --port 9002
//! cargo run --release --example ws_echo_tokio --features deflate -- --port 9002 --deflate
//! ```
//!
//! Listens on 127.0.0.1:PORT and sends every message back as it came, up to
//! 64 MiB and 131,072 fragments a message, one task per connection. With
//! `--deflate` (needs the `deflate` feature) it accepts permessage-deflate
//! (RFC 7692) with the default `DeflateConfig`, as `ws_echo --deflate` does.

use std::io;
use std::time::{Duration, Instant};

#[cfg(feature = "deflate")]
use pushcodec::ws::deflate::{DeflateConfig, negotiate_server};
use pushcodec::ws::handshake::{self, Limits};
use pushcodec::ws::{Config, Connection, Event, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const READ_BUFFER: usize = 64 * 1024;
/// How long a client may take to send its opening handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the client's FIN after ours (see `linger_close`).
const LINGER: Duration = Duration::from_secs(5);

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (port, deflate) = match args.as_slice() {
        [flag, port] if flag == "--port" => (port.parse::<u16>().ok(), false),
        [flag, port, deflate] if flag == "--port" && deflate == "--deflate" => {
            (port.parse::<u16>().ok(), true)
        }
        _ => (None, false),
    };
    let Some(port) = port else {
        eprintln!("usage: ws_echo_tokio --port PORT [--deflate]");
        std::process::exit(2);
    };
    if deflate && !cfg!(feature = "deflate") {
        eprintln!(
            "ws_echo_tokio: --deflate needs the `deflate` feature: \
             cargo run --example ws_echo_tokio --features deflate -- --port {port} --deflate"
        );
        std::process::exit(2);
    }
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let with = if deflate { " (permessage-deflate)" } else { "" };
    eprintln!("ws_echo_tokio: listening on ws://127.0.0.1:{port}{with}");
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(e) = serve(stream, deflate).await {
                eprintln!("ws_echo_tokio: connection ended: {e}");
            }
        });
    }
}

async fn serve(mut stream: TcpStream, deflate: bool) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; READ_BUFFER];

    // The opening handshake (RFC 6455 §4.2); bytes after the head are frames.
    let mut head = Vec::new();
    let (first_frames, agreed) = loop {
        let n = tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.read(&mut buf)).await??;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
        match handshake::parse_request(&head, &Limits::default()) {
            Ok(None) => {}
            Ok(Some((request, used))) => {
                let accept = request.accept();
                // RFC 7692 §5: accept at most one offer; decline the others.
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
                stream.write_all(&response).await?;
                break (head.split_off(used), agreed);
            }
            Err(e) => {
                let mut response = Vec::new();
                e.encode_response(&mut response);
                stream.write_all(&response).await?;
                return linger_close(stream).await;
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
    #[cfg(feature = "deflate")]
    if let Some(params) = agreed {
        conn = conn.with_deflate(&params, &deflate_config());
    }
    // Without the feature, main refuses --deflate and nothing is agreed.
    #[cfg(not(feature = "deflate"))]
    let _ = (agreed, deflate);
    conn.handle_read(&first_frames);
    // Starts the clocks: keepalive pings, the pong and close deadlines.
    conn.handle_timeout(Instant::now());

    // The same drive loop as ws_echo, with `.await` on the socket calls.
    loop {
        loop {
            let sent = match conn.poll_event() {
                Ok(Some(Event::Text(text))) => conn.send_text(text),
                Ok(Some(Event::Binary(data))) => conn.send_binary(data),
                // Pings are answered and Closes replied to by the connection.
                Ok(Some(_)) => Ok(()),
                Ok(None) => break,
                // The Close frame with the right code is already queued.
                Err(e) => {
                    eprintln!("ws_echo_tokio: {e}");
                    Ok(())
                }
            };
            if let Err(e) = sent {
                eprintln!("ws_echo_tokio: not echoed: {e}");
            }
            transmit(&mut conn, &mut stream).await?;
        }
        transmit(&mut conn, &mut stream).await?;
        if conn.should_close_transport() {
            return linger_close(stream).await;
        }
        // Wait for bytes or the connection's next deadline, whichever is
        // first. The bytes land straight in the connection's buffer
        // (`read_buf`), copied once; ws_echo shows `handle_read`.
        let deadline = conn.poll_timeout();
        let read = stream.read_buf(conn.read_buf());
        let read = match deadline {
            Some(at) => tokio::time::timeout_at(at.into(), read).await.ok(),
            None => Some(read.await),
        };
        if read.transpose()? == Some(0) {
            conn.handle_eof();
        }
        conn.handle_timeout(Instant::now());
    }
}

/// The `--deflate` policy: the defaults (context takeover both ways,
/// 15-bit windows, level 6, messages under 128 bytes sent as they are).
#[cfg(feature = "deflate")]
fn deflate_config() -> DeflateConfig {
    DeflateConfig::default()
}

/// Writes from the connection's borrowed output (ws_echo shows the owned
/// `poll_transmit`), reporting each partial write.
async fn transmit(conn: &mut Connection, stream: &mut TcpStream) -> io::Result<()> {
    loop {
        let pending = conn.pending_transmit();
        if pending.is_empty() {
            return Ok(());
        }
        let written = stream.write(pending).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        conn.advance_transmit(written);
    }
}

/// The server closes TCP first (RFC 6455 §7.1.1): send our FIN, then read
/// until the client's (bounded) so that unread input does not turn the close
/// into a reset that could destroy our last frames.
async fn linger_close(mut stream: TcpStream) -> io::Result<()> {
    stream.shutdown().await?;
    let mut buf = [0u8; 4096];
    let drain = async { while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {} };
    let _ = tokio::time::timeout(LINGER, drain).await;
    Ok(())
}
