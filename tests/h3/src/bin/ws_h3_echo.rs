//! A WebSocket-over-HTTP/3 (RFC 9220) echo server for a manual run:
//!
//! ```text
//! cargo run --manifest-path tests/h3/Cargo.toml --bin ws_h3_echo -- 4433
//! ```
//!
//! It listens on UDP 127.0.0.1:PORT (default 4433) with the throwaway test
//! certificate (`localhost`, testdata/cert.pem), enables extended CONNECT,
//! and echoes text and binary on every `:protocol websocket` stream (any
//! `:path`; subprotocol `echo` if offered). Stop it with Ctrl-C.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;

use pushcodec_h3::server::{Options, Server};

fn main() {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        None => 4433,
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            eprintln!("usage: ws_h3_echo [PORT]: {e}");
            std::process::exit(2);
        }
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut server = match Server::bind(addr, Options::default()) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("ws_h3_echo: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "ws_h3_echo: WebSocket over HTTP/3 on udp://{} (wss://localhost:{port}/, cert {})",
        server.local_addr(),
        pushcodec_h3::CERT
    );
    // Never set: the process runs until it is killed.
    let stop = AtomicBool::new(false);
    let result = server.run(&stop, None, &mut |r| {
        println!(
            "{} {} protocol={:?}: {} events, error {:?}, both FINs {}",
            r.peer,
            r.path,
            r.protocol,
            r.transcript.events.len(),
            r.transcript.error.as_ref().map(ToString::to_string),
            r.both_fins
        );
    });
    if let Err(e) = result {
        eprintln!("ws_h3_echo: {e}");
        std::process::exit(1);
    }
}
