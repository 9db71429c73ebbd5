//! RFC 9220 against a third-party HTTP/3 WebSocket peer: aioquic (QUIC,
//! HTTP/3, extended CONNECT) with wsproto's RFC 6455 framing, both from
//! PyPI, driven by interop/aioquic_peer.py. Both directions: their client
//! to our server, our client to their server.
//!
//! The Python is `$H3_INTEROP_PYTHON`, else `tests/h3/.venv/bin/python`
//! (what .ci/check-h3.sh installs). Without it the tests print why and
//! pass, unless `H3_INTEROP_REQUIRED=1` (CI), where they fail.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use bytes::Bytes;
use pushcodec::ws::handshake::ConnectHandshake;
use pushcodec::ws::{CloseCode, Config, Event};
use pushcodec_h3::client::Client;
use pushcodec_h3::server::Options;
use pushcodec_h3::{CERT, KEY};

mod common;
use common::{LIMIT, close, start};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/aioquic_peer.py");

/// The Python with aioquic and wsproto, or `None` (and why) to skip.
fn python() -> Option<PathBuf> {
    let python = std::env::var_os("H3_INTEROP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python")));
    let usable = Command::new(&python)
        .args(["-c", "import aioquic, wsproto"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if usable {
        return Some(python);
    }
    let why = format!(
        "{} cannot import aioquic and wsproto (run .ci/check-h3.sh or set H3_INTEROP_PYTHON)",
        python.display()
    );
    assert!(
        std::env::var_os("H3_INTEROP_REQUIRED").is_none_or(|v| v != "1"),
        "H3_INTEROP_REQUIRED=1 but {why}"
    );
    eprintln!("skipped: {why}");
    None
}

/// aioquic's client to our server: it waits for our SETTINGS_ENABLE_CONNECT_PROTOCOL
/// (RFC 9220 §3), sends the extended CONNECT, and checks our echoes, pong,
/// answering Close and FIN; we check what the server role saw.
#[test]
fn rfc9220_aioquic_client_to_our_server() {
    let Some(python) = python() else { return };
    let (handle, reports) = start(Options::default());
    let out = Command::new(python)
        .arg(SCRIPT)
        .args([
            "client",
            "127.0.0.1",
            &handle.addr().port().to_string(),
            CERT,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with("ok:"),
        "aioquic client: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = reports.recv_timeout(LIMIT).expect("the server's report");
    assert_eq!(report.path, "/interop?from=aioquic");
    assert_eq!(report.protocol.as_deref(), Some("echo"));
    let events = &report.transcript.events;
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(events[0], Event::Text("héllo from aioquic — 🦀".into()));
    assert!(matches!(&events[1], Event::Binary(b) if b.len() == 200_000));
    assert_eq!(events[2], Event::Ping(Bytes::from_static(b"aioquic")));
    assert_eq!(events[3], close(4001, "interop bye"));
    assert!(
        report.transcript.error.is_none(),
        "{:?}",
        report.transcript.error
    );
    assert!(report.both_fins);
    handle.stop().unwrap();
}

/// Our client to aioquic's server: its SETTINGS enable extended CONNECT,
/// it answers `:status 200` with our subprotocol, echoes through wsproto,
/// answers our Close 4002 and sends FIN first.
#[test]
fn rfc9220_our_client_to_aioquic_server() {
    let Some(python) = python() else { return };
    let mut child = Command::new(python)
        .arg(SCRIPT)
        .args(["server", CERT, KEY])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let port: u16 = match line.trim().strip_prefix("port ").map(str::parse) {
        Some(Ok(port)) => port,
        _ => {
            let _ = child.kill();
            panic!("aioquic server did not start: {line:?}");
        }
    };

    let mut client = Client::connect(([127, 0, 0, 1], port).into(), "localhost", LIMIT).unwrap();
    assert!(client.extended_connect_enabled().unwrap());
    let hs = ConnectHandshake::new(&format!("wss://localhost:{port}/interop")).protocols(&["echo"]);
    let (mut ws, response) = client.open(&hs, Config::default()).unwrap();
    assert_eq!(response.protocol(), Some("echo"));
    let big: Bytes = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    ws.ws.send_text("from pushcodec: ünïcode 🦀").unwrap();
    ws.ws.send_binary(big.clone()).unwrap();
    ws.ws.send_ping(b"pc").unwrap();
    let mut replies = 0;
    client
        .run(&mut ws, &mut |conn, ev| {
            if matches!(ev, Event::Text(_) | Event::Binary(_) | Event::Pong(_)) {
                replies += 1;
                if replies == 3 {
                    conn.send_close(CloseCode(4002), "from pushcodec").unwrap();
                }
            }
        })
        .unwrap();
    let events = &ws.transcript.events;
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(events[0], Event::Text("from pushcodec: ünïcode 🦀".into()));
    assert!(events[1] == Event::Binary(big), "the binary echo differs");
    assert_eq!(events[2], Event::Pong(Bytes::from_static(b"pc")));
    assert_eq!(events[3], close(4002, "from pushcodec"));
    assert!(ws.transcript.error.is_none(), "{:?}", ws.transcript.error);
    assert!(ws.both_fins());

    // The server's verdict, after our FIN reached it.
    let (tx, verdict) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let _ = tx.send(line);
    });
    let mut line = None;
    client
        .linger(|| {
            line = line.take().or_else(|| verdict.try_recv().ok());
            line.is_some()
        })
        .unwrap();
    let line = line.unwrap();
    client.close().unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr);
    assert!(
        status.success() && line.starts_with("ok:"),
        "aioquic server: {line}\n{stderr}"
    );
}
