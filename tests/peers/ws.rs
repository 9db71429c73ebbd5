//! Interop with real peers (issue 6): Python `websockets` and Node `ws`.
//!
//! - Each peer's client (tests/interop/ws/peer.py, peer.js) runs its exchange
//!   (text, binary, a text message fragmented inside a code point, 1 MiB, ping,
//!   close 4000 "bye") against our echo server, once on `std::net` threads and
//!   once on tokio: the same `Connection`, two runtimes. Both sides check: the
//!   peer its echoes and our Close reply, our server every event it received.
//! - Our client runs the same exchange against each peer's echo server.
//! - With the `deflate` feature, both directions again with permessage-deflate
//!   (RFC 7692) on: with context takeover, with the peer asking for no context
//!   takeover, and with us asking for it. Each checks that the extension was
//!   agreed (the response header both sides saw, the parameters in force) and
//!   that it compressed: the exchange carries over 1 MiB each way, the wire
//!   far less.
//!
//! The peers are installed by `bash .ci/test` (through `.ci/install-ws-interop.sh`) into
//! tests/interop/ws/. When one is missing these tests fail and say so, unless
//! `PUSHCODEC_SKIP_INTEROP=1`. Every wait is bounded.
#![cfg(feature = "ws")]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pushcodec::ws::handshake::{self, ClientHandshake, Limits, Request, Response};
use pushcodec::ws::{CloseCode, Config, Connection, Event, MessageKind, Role};

const PEER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/ws");
/// Bound on any single wait (a read, a line from a peer, a peer's exit).
const STEP: Duration = Duration::from_secs(60);
const FRAGMENTS: [&[u8]; 3] = [b"fragmented \xc2", b"\xb5 mes", b"sage"];
const FRAGMENTED: &str = "fragmented \u{b5} message";
const PING: &[u8] = b"ping-1";

/// The 1 MiB message, the same bytes the peer scripts build.
fn big() -> Bytes {
    (0..1u32 << 20)
        .map(|i| i.wrapping_mul(7).wrapping_add(3).to_le_bytes()[0])
        .collect::<Vec<u8>>()
        .into()
}

fn all_bytes() -> Bytes {
    (0..=255u8).collect::<Vec<u8>>().into()
}

// ---------------------------------------------------------------------------
// The peers, as child processes.

#[derive(Debug, Clone, Copy)]
enum Peer {
    Python,
    Node,
}

impl Peer {
    /// The text message the peer's client sends first.
    fn greeting(self) -> &'static str {
        match self {
            Peer::Python => "hello from python \u{2713} \u{1f600}",
            Peer::Node => "hello from node \u{2713} \u{1f600}",
        }
    }

    fn command(self) -> Option<Command> {
        let dir = Path::new(PEER_DIR);
        match self {
            Peer::Python => {
                let python = dir.join(".venv/bin/python");
                python.is_file().then(|| {
                    let mut cmd = Command::new(python);
                    cmd.arg(dir.join("peer.py"));
                    cmd
                })
            }
            Peer::Node => dir.join("node_modules/ws/package.json").is_file().then(|| {
                let mut cmd = Command::new("node");
                cmd.arg(dir.join("peer.js")).current_dir(dir);
                cmd
            }),
        }
    }

    /// Starts `peer.{py,js} ARGS`; `None` only when it is not installed and
    /// the caller asked to skip.
    fn start(self, args: &[&str]) -> Option<PeerProcess> {
        let Some(mut cmd) = self.command() else {
            if std::env::var_os("PUSHCODEC_SKIP_INTEROP").is_some_and(|v| v == "1") {
                eprintln!("skipped: the {self:?} peer is not installed (PUSHCODEC_SKIP_INTEROP=1)");
                return None;
            }
            panic!(
                "the {self:?} WebSocket peer is not installed in {PEER_DIR}: run \
                 `bash .ci/test`, which installs it and runs the tests (or set \
                 PUSHCODEC_SKIP_INTEROP=1 to skip these tests)"
            );
        };
        let mut child = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {self:?} peer ({cmd:?}): {e}"));
        let lines = forward_lines(child.stdout.take().expect("piped stdout"));
        let errors = forward_lines(child.stderr.take().expect("piped stderr"));
        Some(PeerProcess {
            peer: self,
            child,
            lines,
            errors,
        })
    }
}

fn forward_lines(from: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

struct PeerProcess {
    peer: Peer,
    child: Child,
    lines: mpsc::Receiver<String>,
    errors: mpsc::Receiver<String>,
}

impl PeerProcess {
    fn stderr(&self) -> String {
        self.errors.try_iter().collect::<Vec<_>>().join("\n")
    }

    /// The next line the peer prints on stdout.
    fn line(&mut self) -> String {
        match self.lines.recv_timeout(STEP) {
            Ok(line) => line,
            Err(e) => panic!(
                "no output from the {:?} peer ({e}); stderr:\n{}",
                self.peer,
                self.stderr()
            ),
        }
    }

    /// Waits for the peer to exit; returns its status and the rest of stdout.
    fn finish(mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + STEP;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    // The reader thread has seen EOF once the process is gone.
                    thread::sleep(Duration::from_millis(50));
                    let out: Vec<String> = self.lines.try_iter().collect();
                    return (status, out.join("\n"));
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                Ok(None) => panic!(
                    "the {:?} peer did not exit within {STEP:?}; stderr:\n{}",
                    self.peer,
                    self.stderr()
                ),
                Err(e) => panic!("waiting for the {:?} peer: {e}", self.peer),
            }
        }
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        // Only ever this test's own child, by handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the peer's client (with `args` after the URL) against
/// `ws://127.0.0.1:PORT/` and checks its verdict; returns its summary line.
fn run_peer_client(peer: Peer, port: u16, args: &[&str]) -> Option<String> {
    let url = format!("ws://127.0.0.1:{port}/");
    let process = peer.start(&[&["client", url.as_str()], args].concat())?;
    let (status, out) = process.finish();
    assert!(
        status.success() && out.contains(r#""ok":true"#),
        "the {peer:?} client against our server failed ({status}):\n{out}"
    );
    Some(out)
}

// ---------------------------------------------------------------------------
// Our echo server, on std::net and on tokio.

/// What our server received on one connection.
#[derive(Debug, Default)]
struct Seen {
    messages: Vec<Event>,
    pings: Vec<Bytes>,
    /// The peer's close code and reason, once its Close arrived.
    close: Option<(u16, String)>,
    errors: Vec<String>,
    /// Our `Sec-WebSocket-Extensions` answer, if any.
    #[cfg_attr(
        not(feature = "deflate"),
        expect(dead_code, reason = "only the deflate tests offer extensions")
    )]
    extensions: Option<String>,
    /// Bytes read from and written to the socket after the handshake.
    read: usize,
    written: usize,
}

impl Seen {
    fn check(&self, peer: Peer) {
        assert!(
            self.errors.is_empty(),
            "our server saw errors from {peer:?}: {:?}",
            self.errors
        );
        let expected = [
            Event::Text(peer.greeting().into()),
            Event::Binary(all_bytes()),
            Event::Text(FRAGMENTED.into()),
            Event::Binary(big()),
        ];
        assert!(
            self.messages == expected,
            "our server received from {peer:?}: {:?}",
            self.messages.iter().map(describe).collect::<Vec<_>>()
        );
        assert_eq!(self.pings, [Bytes::from_static(PING)]);
        assert_eq!(self.close, Some((4000, "bye".to_owned())));
    }
}

fn describe(event: &Event) -> String {
    match event {
        Event::Text(t) => format!(
            "text of {} bytes: {:?}",
            t.len(),
            t.chars().take(40).collect::<String>()
        ),
        Event::Binary(b) => format!(
            "binary of {} bytes: {:02x?}",
            b.len(),
            &b[..b.len().min(16)]
        ),
        other => format!("{other:?}"),
    }
}

/// Drains the connection's events, echoing every message, and records them.
fn answer(conn: &mut Connection, seen: &mut Seen) {
    loop {
        match conn.poll_event() {
            Ok(Some(event)) => {
                let sent = match &event {
                    Event::Text(t) => conn.send_text(t.clone()),
                    Event::Binary(b) => conn.send_binary(b.clone()),
                    _ => Ok(()),
                };
                if let Err(e) = sent {
                    seen.errors.push(format!("echo refused: {e}"));
                }
                match event {
                    Event::Ping(payload) => seen.pings.push(payload),
                    Event::Close(frame) => {
                        seen.close = frame.map(|f| (f.code.0, f.reason.as_str().to_owned()));
                    }
                    Event::Pong(_) => {}
                    message => seen.messages.push(message),
                }
            }
            Ok(None) => return,
            Err(e) => seen.errors.push(e.to_string()),
        }
    }
}

/// How our server answers a request: the `Sec-WebSocket-Extensions` value
/// to accept with (if any) and the connection to run.
type Upgrader = fn(&Request) -> (Option<String>, Connection);

/// No extensions, the default configuration.
fn plain_upgrade(_: &Request) -> (Option<String>, Connection) {
    (None, Connection::new(Role::Server, Config::default()))
}

/// An upgrade: our response, the bytes that followed the request, the
/// connection, and our extensions answer.
type Upgraded = (Vec<u8>, Vec<u8>, Connection, Option<String>);

/// One connection's server handshake.
fn accept_upgrade(head: &[u8], upgrade: Upgrader) -> io::Result<Option<Upgraded>> {
    match handshake::parse_request(head, &Limits::default()) {
        Ok(None) => Ok(None),
        Ok(Some((request, used))) => {
            let (extension, conn) = upgrade(&request);
            let mut accept = request.accept();
            if let Some(value) = &extension {
                accept = accept.extension(value);
            }
            let mut response = Vec::new();
            accept.encode(&mut response).map_err(io::Error::other)?;
            Ok(Some((response, head[used..].to_vec(), conn, extension)))
        }
        Err(e) => Err(io::Error::other(e)),
    }
}

/// Serves one connection on a `std::net` thread; the result arrives on the channel.
fn start_std_echo() -> (u16, mpsc::Receiver<io::Result<Seen>>) {
    start_std_echo_with(plain_upgrade)
}

fn start_std_echo_with(upgrade: Upgrader) -> (u16, mpsc::Receiver<io::Result<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let served = listener
            .accept()
            .and_then(|(stream, _)| serve_std(stream, upgrade));
        let _ = tx.send(served);
    });
    (port, rx)
}

fn serve_std(mut stream: TcpStream, upgrade: Upgrader) -> io::Result<Seen> {
    stream.set_read_timeout(Some(STEP))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut head = Vec::new();
    let rest = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some((response, rest, conn, extensions)) = accept_upgrade(&head, upgrade)? {
            stream.write_all(&response)?;
            break (rest, conn, extensions);
        }
    };
    let (rest, mut conn, extensions) = rest;
    let mut seen = Seen {
        extensions,
        read: rest.len(),
        ..Seen::default()
    };
    conn.handle_read(&rest);
    loop {
        answer(&mut conn, &mut seen);
        while let Some(bytes) = conn.poll_transmit() {
            seen.written += bytes.len();
            stream.write_all(&bytes)?;
        }
        if conn.should_close_transport() {
            stream.shutdown(std::net::Shutdown::Write)?;
            return Ok(seen);
        }
        match stream.read(&mut buf)? {
            0 => conn.handle_eof(),
            n => {
                seen.read += n;
                conn.handle_read(&buf[..n]);
            }
        }
    }
}

/// Serves one connection on a tokio current-thread runtime.
fn start_tokio_echo() -> (u16, mpsc::Receiver<io::Result<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let served = runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let (stream, _) = within(listener.accept()).await??;
            serve_tokio(stream).await
        });
        let _ = tx.send(served);
    });
    (port, rx)
}

async fn within<T>(f: impl Future<Output = T>) -> io::Result<T> {
    tokio::time::timeout(STEP, f)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "tokio echo server timed out"))
}

async fn serve_tokio(mut stream: tokio::net::TcpStream) -> io::Result<Seen> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 * 1024];
    let mut head = Vec::new();
    let rest = loop {
        let n = within(stream.read(&mut buf)).await??;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some((response, rest, conn, _)) = accept_upgrade(&head, plain_upgrade)? {
            stream.write_all(&response).await?;
            break (rest, conn);
        }
    };
    let (rest, mut conn) = rest;
    let mut seen = Seen::default();
    conn.handle_read(&rest);
    loop {
        answer(&mut conn, &mut seen);
        while let Some(bytes) = conn.poll_transmit() {
            stream.write_all(&bytes).await?;
        }
        if conn.should_close_transport() {
            stream.shutdown().await?;
            return Ok(seen);
        }
        match within(stream.read(&mut buf)).await?? {
            0 => conn.handle_eof(),
            n => conn.handle_read(&buf[..n]),
        }
    }
}

fn peer_client_against(peer: Peer, server: (u16, mpsc::Receiver<io::Result<Seen>>)) {
    peer_client_against_with(peer, server, &[]);
}

/// Runs the peer's client (with `args`) against our server and checks both
/// verdicts; returns the peer's summary line and what our server saw.
fn peer_client_against_with(
    peer: Peer,
    (port, served): (u16, mpsc::Receiver<io::Result<Seen>>),
    args: &[&str],
) -> Option<(String, Seen)> {
    let out = run_peer_client(peer, port, args)?;
    let seen = served
        .recv_timeout(STEP)
        .expect("our server finished")
        .unwrap_or_else(|e| panic!("our server, serving {peer:?}: {e}"));
    seen.check(peer);
    Some((out, seen))
}

#[test]
fn python_client_against_std_echo_server() {
    peer_client_against(Peer::Python, start_std_echo());
}

#[test]
fn python_client_against_tokio_echo_server() {
    peer_client_against(Peer::Python, start_tokio_echo());
}

#[test]
fn node_client_against_std_echo_server() {
    peer_client_against(Peer::Node, start_std_echo());
}

#[test]
fn node_client_against_tokio_echo_server() {
    peer_client_against(Peer::Node, start_tokio_echo());
}

// ---------------------------------------------------------------------------
// Our client against the peers' echo servers.

struct Client {
    stream: TcpStream,
    conn: Connection,
    buf: Vec<u8>,
    /// Bytes read from and written to the socket after the handshake.
    read: usize,
    written: usize,
}

/// Our opening handshake with the peer's server, offering `offer` when
/// given; returns the socket, the server's response and the bytes after it.
fn client_handshake(port: u16, offer: Option<&str>) -> (TcpStream, Response, Vec<u8>) {
    let authority = format!("127.0.0.1:{port}");
    let mut stream = TcpStream::connect(&authority).expect("connect to the peer's server");
    stream.set_read_timeout(Some(STEP)).expect("read timeout");
    let mut hs = ClientHandshake::new(&authority, "/");
    if let Some(offer) = offer {
        hs = hs.extension(offer);
    }
    let mut request = Vec::new();
    hs.encode_request(&mut request);
    stream.write_all(&request).expect("write the request");
    let mut buf = vec![0u8; 64 * 1024];
    let mut head = Vec::new();
    loop {
        let n = stream.read(&mut buf).expect("read the response");
        assert!(n > 0, "the server closed during the handshake");
        head.extend_from_slice(&buf[..n]);
        match hs.parse_response(&head) {
            Ok(None) => {}
            Ok(Some((response, used))) => return (stream, response, head.split_off(used)),
            Err(e) => panic!("handshake answer rejected: {e}"),
        }
    }
}

impl Client {
    fn connect(port: u16) -> Client {
        let (stream, _, rest) = client_handshake(port, None);
        Client::over(
            stream,
            Connection::new(Role::Client, Config::default()),
            &rest,
        )
    }

    /// Runs `conn` over `stream`, starting with the bytes after the handshake.
    fn over(stream: TcpStream, mut conn: Connection, rest: &[u8]) -> Client {
        conn.handle_read(rest);
        Client {
            stream,
            conn,
            buf: vec![0u8; 64 * 1024],
            read: rest.len(),
            written: 0,
        }
    }

    fn transmit(&mut self) {
        while let Some(bytes) = self.conn.poll_transmit() {
            self.written += bytes.len();
            self.stream.write_all(&bytes).expect("write to the peer");
        }
    }

    fn read(&mut self) {
        match self.stream.read(&mut self.buf).expect("read from the peer") {
            0 => self.conn.handle_eof(),
            n => {
                self.read += n;
                self.conn.handle_read(&self.buf[..n]);
            }
        }
    }

    fn next_event(&mut self) -> Event {
        loop {
            self.transmit();
            match self.conn.poll_event() {
                Ok(Some(event)) => return event,
                Ok(None) => self.read(),
                Err(e) => panic!("protocol error from the peer: {e}"),
            }
        }
    }

    fn expect_echo(&mut self, step: &str, expected: &Event) {
        let got = self.next_event();
        assert!(
            &got == expected,
            "{step}: expected {}, got {}",
            describe(expected),
            describe(&got)
        );
    }
}

/// Starts the peer's echo server with `args` after `server 0`; returns it
/// and the port it listens on.
fn start_peer_server(peer: Peer, args: &[&str]) -> Option<(PeerProcess, u16)> {
    let mut server = peer.start(&[&["server", "0"], args].concat())?;
    let line = server.line();
    let port: u16 = line
        .strip_prefix(r#"{"listening":"#)
        .and_then(|rest| rest.strip_suffix('}'))
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("the {peer:?} server printed {line:?}, not its port"));
    Some((server, port))
}

fn our_client_against(peer: Peer) {
    let Some((server, port)) = start_peer_server(peer, &[]) else {
        return;
    };
    let client = Client::connect(port);
    our_exchange(client, peer);
    check_peer_server(server, peer);
}

/// Our side of the exchange (the peers' clients run the same), then the
/// close; returns the bytes read and written after the handshake.
fn our_exchange(mut client: Client, peer: Peer) -> (usize, usize) {
    let text = "hello from pushcodec \u{2713} \u{1f600}";
    client.conn.send_text(text).expect("send text");
    client.expect_echo("text", &Event::Text(text.into()));
    client.conn.send_binary(all_bytes()).expect("send binary");
    client.expect_echo("binary", &Event::Binary(all_bytes()));
    for (i, fragment) in FRAGMENTS.iter().enumerate() {
        let fin = i + 1 == FRAGMENTS.len();
        client
            .conn
            .send_fragment(MessageKind::Text, Bytes::from_static(fragment), fin)
            .expect("send fragment");
    }
    client.expect_echo("fragmented", &Event::Text(FRAGMENTED.into()));
    client.conn.send_binary(big()).expect("send 1 MiB");
    client.expect_echo("1 MiB", &Event::Binary(big()));
    client.conn.send_ping(PING).expect("send ping");
    client.expect_echo("ping", &Event::Pong(Bytes::from_static(PING)));
    client
        .conn
        .send_close(CloseCode(4000), "bye")
        .expect("send close");
    match client.next_event() {
        Event::Close(Some(frame)) => assert_eq!(
            frame.code,
            CloseCode(4000),
            "the {peer:?} server's close reply"
        ),
        other => panic!(
            "expected the {peer:?} server's Close, got {}",
            describe(&other)
        ),
    }
    // RFC 6455 §7.1.1: the server closes TCP first; the client waits for it.
    while !client.conn.should_close_transport() {
        client.read();
        assert!(
            matches!(client.conn.poll_event(), Ok(None)),
            "nothing may follow the Close"
        );
    }
    // Now close our end: the peer's server waits for it before it exits.
    let counts = (client.read, client.written);
    drop(client);
    counts
}

/// The peer's server verdict: every echo made and our Close received.
/// Returns its summary line.
fn check_peer_server(server: PeerProcess, peer: Peer) -> String {
    let (status, out) = server.finish();
    assert!(
        status.success()
            && out.contains(r#""ok":true"#)
            && out.contains(r#""close_code":4000"#)
            && out.contains(r#""close_reason":"bye""#),
        "the {peer:?} server's verdict ({status}):\n{out}"
    );
    out
}

#[test]
fn our_client_against_python_server() {
    our_client_against(Peer::Python);
}

#[test]
fn our_client_against_node_server() {
    our_client_against(Peer::Node);
}

// ---------------------------------------------------------------------------
// permessage-deflate (RFC 7692), both directions, with and without context
// takeover.

#[cfg(feature = "deflate")]
mod deflate {
    use super::{
        Client, Config, Connection, Peer, Request, Role, check_peer_server, client_handshake,
        our_exchange, peer_client_against_with, start_peer_server, start_std_echo_with,
    };
    use pushcodec::ws::deflate::{
        DeflateConfig, DeflateParams, client_offer, negotiate_client, negotiate_server,
    };

    /// Each direction carries over 1 MiB of payload (the 1 MiB message
    /// repeats every 256 bytes); compressed, the wire carries far less.
    const COMPRESSED_WIRE: usize = 256 * 1024;

    /// Who asks for no context takeover.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Takeover {
        /// Nobody: both compressors keep their context between messages.
        Kept,
        /// The peer asks (its client offers, its server answers) both
        /// `server_no_context_takeover` and `client_no_context_takeover`.
        PeerAsksReset,
        /// We ask the same.
        WeAskReset,
    }

    impl Takeover {
        /// The peer script's COMPRESSION argument.
        fn peer_mode(self) -> &'static str {
            match self {
                Takeover::PeerAsksReset => "no-context",
                Takeover::Kept | Takeover::WeAskReset => "deflate",
            }
        }

        /// Our policy: every message compressed, so that small ones are
        /// covered too; no context takeover when we ask for it.
        fn ours(self) -> DeflateConfig {
            let mut config = DeflateConfig::default();
            config.min_compress_size = 0;
            if self == Takeover::WeAskReset {
                config.server_no_context_takeover = true;
                config.client_no_context_takeover = true;
            }
            config
        }

        /// Checks the agreement: both sides reset exactly when someone asked.
        fn check(self, params: &DeflateParams, header: &str) {
            let reset = self != Takeover::Kept;
            assert_eq!(
                (
                    params.server_no_context_takeover(),
                    params.client_no_context_takeover()
                ),
                (reset, reset),
                "{self:?}: agreed {params:?} from {header:?}"
            );
            for flag in ["server_no_context_takeover", "client_no_context_takeover"] {
                assert_eq!(
                    header.contains(flag),
                    reset,
                    "{self:?}: {flag} in the response {header:?}"
                );
            }
        }
    }

    /// The `"extensions"` field of a peer's JSON summary line.
    fn reported_extensions(out: &str) -> Option<String> {
        let rest = out.split(r#""extensions":"#).nth(1)?;
        let value = rest.strip_prefix('"')?;
        Some(value[..value.find('"')?].to_owned())
    }

    fn assert_compressed(who: &str, read: usize, written: usize) {
        assert!(
            read < COMPRESSED_WIRE && written < COMPRESSED_WIRE,
            "{who}: {read} bytes read and {written} written after the handshake: \
             not compressed (over 1 MiB of payload each way)"
        );
    }

    fn upgrade_with(config: &DeflateConfig, request: &Request) -> (Option<String>, Connection) {
        let conn = Connection::new(Role::Server, Config::default());
        match negotiate_server(request.extensions(), config) {
            Some((params, value)) => (Some(value), conn.with_deflate(&params, config)),
            None => (None, conn),
        }
    }

    /// The peer's client against our `std::net` echo server.
    fn peer_client(peer: Peer, takeover: Takeover) {
        // The upgrader is a plain fn: one per policy.
        let server = match takeover {
            Takeover::WeAskReset => {
                start_std_echo_with(|r| upgrade_with(&Takeover::WeAskReset.ours(), r))
            }
            Takeover::Kept | Takeover::PeerAsksReset => {
                start_std_echo_with(|r| upgrade_with(&Takeover::Kept.ours(), r))
            }
        };
        let Some((out, seen)) = peer_client_against_with(peer, server, &[takeover.peer_mode()])
        else {
            return;
        };
        let ours = seen
            .extensions
            .clone()
            .unwrap_or_else(|| panic!("{peer:?} {takeover:?}: we declined; the peer said {out}"));
        assert_eq!(
            reported_extensions(&out).as_deref(),
            Some(ours.as_str()),
            "{peer:?} {takeover:?}: the peer's client saw another answer than ours"
        );
        // What we answered is what we run with: parse it back as a client
        // offering the same would.
        let offers =
            pushcodec::ws::handshake::ExtensionOffer::parse_list(&ours).expect("our answer parses");
        let mut as_client = takeover.ours();
        as_client.server_no_context_takeover = false;
        let params = negotiate_client(&as_client, &offers)
            .expect("our answer is valid")
            .expect("our answer accepts permessage-deflate");
        takeover.check(&params, &ours);
        assert_compressed(
            &format!("our server with the {peer:?} client, {takeover:?}"),
            seen.read,
            seen.written,
        );
    }

    /// Our client against the peer's echo server.
    fn our_client(peer: Peer, takeover: Takeover) {
        let Some((server, port)) = start_peer_server(peer, &[takeover.peer_mode()]) else {
            return;
        };
        let config = takeover.ours();
        let (stream, response, rest) = client_handshake(port, Some(&client_offer(&config)));
        let params = negotiate_client(&config, response.extensions())
            .unwrap_or_else(|e| panic!("{peer:?} {takeover:?}: bad answer: {e}"))
            .unwrap_or_else(|| panic!("{peer:?} {takeover:?}: the server declined"));
        let header = response
            .header("sec-websocket-extensions")
            .expect("an extensions header")
            .to_owned();
        takeover.check(&params, &header);
        let conn = Connection::new(Role::Client, Config::default()).with_deflate(&params, &config);
        let (read, written) = our_exchange(Client::over(stream, conn, &rest), peer);
        let out = check_peer_server(server, peer);
        assert_eq!(
            reported_extensions(&out).as_deref(),
            Some(header.as_str()),
            "{peer:?} {takeover:?}: the peer's server says it answered otherwise"
        );
        assert_compressed(
            &format!("our client with the {peer:?} server, {takeover:?}"),
            read,
            written,
        );
    }

    #[test]
    fn python_client_against_our_server_context_takeover() {
        peer_client(Peer::Python, Takeover::Kept);
    }

    #[test]
    fn python_client_asking_no_context_takeover_against_our_server() {
        peer_client(Peer::Python, Takeover::PeerAsksReset);
    }

    #[test]
    fn python_client_against_our_server_asking_no_context_takeover() {
        peer_client(Peer::Python, Takeover::WeAskReset);
    }

    #[test]
    fn node_client_against_our_server_context_takeover() {
        peer_client(Peer::Node, Takeover::Kept);
    }

    #[test]
    fn node_client_asking_no_context_takeover_against_our_server() {
        peer_client(Peer::Node, Takeover::PeerAsksReset);
    }

    #[test]
    fn node_client_against_our_server_asking_no_context_takeover() {
        peer_client(Peer::Node, Takeover::WeAskReset);
    }

    #[test]
    fn our_client_against_python_server_context_takeover() {
        our_client(Peer::Python, Takeover::Kept);
    }

    #[test]
    fn our_client_against_python_server_asking_no_context_takeover() {
        our_client(Peer::Python, Takeover::PeerAsksReset);
    }

    #[test]
    fn our_client_asking_no_context_takeover_against_python_server() {
        our_client(Peer::Python, Takeover::WeAskReset);
    }

    #[test]
    fn our_client_against_node_server_context_takeover() {
        our_client(Peer::Node, Takeover::Kept);
    }

    #[test]
    fn our_client_against_node_server_asking_no_context_takeover() {
        our_client(Peer::Node, Takeover::PeerAsksReset);
    }

    #[test]
    fn our_client_asking_no_context_takeover_against_node_server() {
        our_client(Peer::Node, Takeover::WeAskReset);
    }
}
