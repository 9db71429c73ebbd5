//! The `ws_echo` server on tokio, through the crate's tokio driver
//! (feature `tokio`): the same [`Connection`](pushcodec::ws::Connection)
//! state machine, another runtime; `Acceptor` does the handshake and the
//! driver task the reads, writes, timers and close.
//!
//! ```text
//! cargo run --release --example ws_echo_tokio --features tokio -- --port 9002
//! cargo run --release --example ws_echo_tokio --features tokio,deflate -- --port 9002 --deflate
//! cargo run --release --example ws_echo_tokio --features tokio -- --port 9002 --direct
//! ```
//!
//! Listens on 127.0.0.1:PORT and sends every message back as it came, up to
//! 64 MiB and 131,072 fragments a message, one task per connection. With
//! `--deflate` (needs the `deflate` feature) it accepts permessage-deflate
//! (RFC 7692) with the default `DeflateConfig`, as `ws_echo --deflate` does.
//! With `--direct` each connection is driven from its own task through
//! `WebSocket::direct` instead of a spawned driver and two channels.

use std::io;

use pushcodec::tokio::{Acceptor, Error, Message, Options};
#[cfg(feature = "deflate")]
use pushcodec::ws::deflate::DeflateConfig;
use pushcodec::ws::{Config, Event};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut port = None;
    let (mut deflate, mut direct) = (false, false);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--port" => port = rest.next().and_then(|p| p.parse::<u16>().ok()),
            "--deflate" => deflate = true,
            "--direct" => direct = true,
            _ => port = None,
        }
    }
    let Some(port) = port else {
        eprintln!("usage: ws_echo_tokio --port PORT [--deflate] [--direct]");
        std::process::exit(2);
    };
    if deflate && !cfg!(feature = "deflate") {
        eprintln!(
            "ws_echo_tokio: --deflate needs the `deflate` feature: \
             cargo run --example ws_echo_tokio --features tokio,deflate -- --port {port} --deflate"
        );
        std::process::exit(2);
    }
    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 64 << 20;
    // More than 65,536: Autobahn 9.3.1 sends 4 MiB as 65,537 frames of at
    // most 64 bytes (the default limit is 65,536).
    config.max_fragments = 1 << 17;
    // Lockstep: each echo is queued before the next frame is decoded, so
    // it goes out before the Close of a protocol error right behind it (as
    // the hand-driven loop did, and Autobahn's strict cases check).
    let acceptor = Acceptor::new(config).options(Options::default().lockstep(true));
    // The defaults: context takeover both ways, 15-bit windows, level 6,
    // messages under 128 bytes sent as they are.
    #[cfg(feature = "deflate")]
    let acceptor = if deflate {
        acceptor.deflate(DeflateConfig::default())
    } else {
        acceptor
    };

    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let with = if deflate { " (permessage-deflate)" } else { "" };
    let how = if direct { ", direct" } else { "" };
    eprintln!("ws_echo_tokio: listening on ws://127.0.0.1:{port}{with}{how}");
    loop {
        let (stream, _) = listener.accept().await?;
        if direct {
            tokio::spawn(serve_direct(acceptor.clone(), stream));
        } else {
            tokio::spawn(serve(acceptor.clone(), stream));
        }
    }
}

/// The same echo driven from this task (`WebSocket::direct`): no driver
/// task and no channels. Each event is decoded only when `recv` asks, so
/// the echo is queued before the next frame is read, as lockstep does.
async fn serve_direct(acceptor: Acceptor, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut ws = match acceptor.accept(stream).await {
        Ok((ws, _request)) => ws.direct(),
        Err(e) => return eprintln!("ws_echo_tokio: handshake refused: {e}"),
    };
    while let Some(item) = ws.recv().await {
        if let Some(message) = echo_of(item)
            && let Err(e) = ws.send(message).await
        {
            eprintln!("ws_echo_tokio: not echoed: {e}");
        }
    }
}

async fn serve(acceptor: Acceptor, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let (tx, mut rx) = match acceptor.accept(stream).await {
        Ok((ws, _request)) => ws.spawn(),
        Err(e) => return eprintln!("ws_echo_tokio: handshake refused: {e}"),
    };
    // Pings are answered and Closes replied to by the connection; a
    // protocol error's Close is sent by it too. `None`: the driver closed
    // the transport (RFC 6455 §7.1.1: the server first).
    while let Some(item) = rx.recv().await {
        if let Some(message) = echo_of(item)
            && let Err(e) = tx.send(message).await
        {
            eprintln!("ws_echo_tokio: not echoed: {e}");
        }
    }
}

/// What goes back for `item`: data messages as they came; an error (the
/// connection already sent its Close) is logged.
fn echo_of(item: Result<Event, Error>) -> Option<Message> {
    match item {
        Ok(Event::Text(text)) => Some(Message::Text(text)),
        Ok(Event::Binary(data)) => Some(Message::Binary(data)),
        Ok(_) => None,
        Err(e) => {
            eprintln!("ws_echo_tokio: {e}");
            None
        }
    }
}
