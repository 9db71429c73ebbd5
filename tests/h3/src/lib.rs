//! RFC 9220 (WebSocket over HTTP/3) end to end on a real HTTP/3 stack:
//! Cloudflare's quiche (sans-IO QUIC + HTTP/3) over a `std::net::UdpSocket`,
//! with pushcodec's extended CONNECT checks on the request stream and a
//! `pushcodec::ws::Connection` on each end of it.
//!
//! - [`transport_config`]: the QUIC settings both ends share (ALPN `h3`, the
//!   test certificate, flow-control windows smaller than the largest test
//!   message, so sends really block and resume).
//! - [`WsStream`]: a `ws::Connection` bound to one HTTP/3 request stream —
//!   DATA payload → `handle_read`, the peer's FIN → `handle_eof`,
//!   `pending_transmit` → `send_body` (as much as the stream takes),
//!   `should_close_transport()` → FIN.
//! - [`server`]: accepts QUIC connections, checks each request with
//!   `check_connect_request`, answers `ConnectReply` fields, echoes text and
//!   binary.
//! - [`client`]: waits for the server's SETTINGS, sends
//!   `ConnectHandshake::request_fields`, checks the response, runs the
//!   client role.
//!
//! Every loop is bounded by a deadline, so a bug fails a test instead of
//! hanging it.

use std::fmt;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use pushcodec::ws::handshake::{BuildError, ResponseError};
use pushcodec::ws::{Config, Connection, Event, ProtocolError, Role};
use quiche::h3;

pub mod client;
pub mod server;

/// The throwaway self-signed test certificate (CN and SAN `localhost`,
/// SAN `127.0.0.1`), see the README.
pub const CERT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/cert.pem");
/// The throwaway key of [`CERT`]: it protects nothing.
pub const KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/key.pem");

/// quiche's recommended UDP payload: fits any path's MTU, loopback's too.
pub const MAX_DATAGRAM_SIZE: usize = 1350;

/// The QUIC application error for a clean close (RFC 9114 §8.1,
/// `H3_NO_ERROR`).
pub const H3_NO_ERROR: u64 = 0x100;
/// A malformed request (RFC 9114 §8.1, `H3_MESSAGE_ERROR`): what a server
/// that did not enable extended CONNECT answers a `:protocol` with
/// (RFC 9220 §3, RFC 8441 §3).
pub const H3_MESSAGE_ERROR: u64 = 0x10e;

/// Flow-control windows: the stream window is smaller than the 1 MiB test
/// message and the connection window smaller than the echo in flight, so
/// `send_body` writes short and returns `Done`, and the sender must resume
/// when MAX_STREAM_DATA / MAX_DATA arrive (quiche sends them as the
/// receiver reads).
pub const STREAM_WINDOW: u64 = 128 * 1024;
/// See [`STREAM_WINDOW`].
pub const CONNECTION_WINDOW: u64 = 512 * 1024;

/// Everything that can end a test run early.
#[derive(Debug)]
pub enum Error {
    Io(io::Error),
    Quic(quiche::Error),
    H3(h3::Error),
    /// The client's request could not be built: with
    /// `BuildError::ConnectProtocolNotEnabled` when the server's SETTINGS did
    /// not enable extended CONNECT (RFC 8441 §3, RFC 9220 §3).
    Build(BuildError),
    /// The server's answer was not a WebSocket (`:status` not 200, and so on).
    Response(ResponseError),
    /// The deadline passed while waiting for `what`.
    Timeout(&'static str),
    /// The QUIC connection closed while waiting for `what`.
    Closed(&'static str),
    /// The peer reset the request stream with this HTTP/3 error code.
    Reset(u64),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "UDP socket: {e}"),
            Error::Quic(e) => write!(f, "QUIC: {e}"),
            Error::H3(e) => write!(f, "HTTP/3: {e}"),
            Error::Build(e) => write!(f, "extended CONNECT request: {e}"),
            Error::Response(e) => write!(f, "extended CONNECT response: {e}"),
            Error::Timeout(what) => write!(f, "deadline passed waiting for {what}"),
            Error::Closed(what) => write!(f, "QUIC connection closed waiting for {what}"),
            Error::Reset(code) => write!(f, "request stream reset with code {code:#x}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}
impl From<quiche::Error> for Error {
    fn from(e: quiche::Error) -> Self {
        Error::Quic(e)
    }
}
impl From<h3::Error> for Error {
    fn from(e: h3::Error) -> Self {
        Error::H3(e)
    }
}
impl From<BuildError> for Error {
    fn from(e: BuildError) -> Self {
        Error::Build(e)
    }
}
impl From<ResponseError> for Error {
    fn from(e: ResponseError) -> Self {
        Error::Response(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The QUIC configuration of either end: HTTP/3's ALPN, the test
/// certificate (the server presents it, the client trusts only it), and
/// windows that make the 1 MiB echo cross flow control.
pub fn transport_config(is_server: bool) -> Result<quiche::Config> {
    let mut c = quiche::Config::new(quiche::PROTOCOL_VERSION)?;
    c.set_application_protos(h3::APPLICATION_PROTOCOL)?;
    if is_server {
        c.load_cert_chain_from_pem_file(CERT)?;
        c.load_priv_key_from_pem_file(KEY)?;
    } else {
        // Verify the server for real: a pinned, self-signed certificate
        // rather than `verify_peer(false)`.
        c.load_verify_locations_from_file(CERT)?;
        c.verify_peer(true);
    }
    c.set_max_idle_timeout(10_000);
    c.set_max_recv_udp_payload_size(MAX_DATAGRAM_SIZE);
    c.set_max_send_udp_payload_size(MAX_DATAGRAM_SIZE);
    c.set_initial_max_data(CONNECTION_WINDOW);
    c.set_initial_max_stream_data_bidi_local(STREAM_WINDOW);
    c.set_initial_max_stream_data_bidi_remote(STREAM_WINDOW);
    // HTTP/3's own unidirectional streams: control and the two QPACK ones.
    c.set_initial_max_stream_data_uni(64 * 1024);
    c.set_initial_max_streams_bidi(16);
    c.set_initial_max_streams_uni(16);
    // Servers here route by the peer's address (see `server`).
    c.set_disable_active_migration(true);
    Ok(c)
}

/// A fresh random connection ID (RFC 9000 §5.1: unpredictable).
pub fn new_connection_id() -> quiche::ConnectionId<'static> {
    let mut id = [0u8; quiche::MAX_CONN_ID_LEN];
    getrandom::fill(&mut id).expect("the OS CSPRNG");
    quiche::ConnectionId::from_vec(id.to_vec())
}

/// Sends every packet quiche has ready.
pub fn flush(socket: &UdpSocket, conn: &mut quiche::Connection, out: &mut [u8]) -> Result<()> {
    loop {
        match conn.send(out) {
            // Pacing (`info.at`) is ignored: loopback needs none.
            Ok((n, info)) => {
                socket.send_to(&out[..n], info.to)?;
            }
            Err(quiche::Error::Done) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Waits up to `wait` for a datagram; `None` when the wait ran out.
pub fn recv_one(
    socket: &UdpSocket,
    buf: &mut [u8],
    wait: Duration,
) -> io::Result<Option<(usize, SocketAddr)>> {
    // A zero read timeout means "block forever" to std: wait at least 1 ms.
    socket.set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
    match socket.recv_from(buf) {
        Ok(got) => Ok(Some(got)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The next datagram already queued on the socket, without waiting.
pub fn recv_ready(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddr)>> {
    socket.set_nonblocking(true)?;
    let got = socket.recv_from(buf);
    socket.set_nonblocking(false)?;
    match got {
        Ok(got) => Ok(Some(got)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

/// What one WebSocket end saw: its events in order, and the error that
/// failed it, if any.
#[derive(Debug, Default, Clone)]
pub struct Transcript {
    pub events: Vec<Event>,
    pub error: Option<ProtocolError>,
}

/// A `ws::Connection` on one HTTP/3 request stream, after the extended
/// CONNECT's `200` (RFC 9220 §3, RFC 8441 §5): the stream's DATA carries
/// RFC 6455 frames both ways, and its FIN plays TCP's FIN.
pub struct WsStream {
    /// The request stream.
    pub id: u64,
    /// The WebSocket on it.
    pub ws: Connection,
    /// What it saw so far.
    pub transcript: Transcript,
    fin_sent: bool,
    peer_fin: bool,
    reset: Option<u64>,
    short_writes: usize,
}

impl WsStream {
    pub fn new(id: u64, role: Role, config: Config) -> Self {
        let mut ws = Connection::new(role, config);
        // Starts the keepalive and close timers.
        ws.handle_timeout(Instant::now());
        WsStream {
            id,
            ws,
            transcript: Transcript::default(),
            fin_sent: false,
            peer_fin: false,
            reset: None,
            short_writes: 0,
        }
    }

    /// After a `Data` event: reads the stream until quiche has nothing
    /// buffered (the event is re-armed only then, and reading is what
    /// reopens the peer's flow-control window).
    pub fn on_data(
        &mut self,
        h3: &mut h3::Connection,
        conn: &mut quiche::Connection,
        buf: &mut [u8],
    ) -> Result<()> {
        loop {
            match h3.recv_body(conn, self.id, buf) {
                Ok(n) => self.ws.handle_read(&buf[..n]),
                Err(h3::Error::Done) => break,
                Err(e) => return Err(e.into()),
            }
        }
        self.ws.handle_timeout(Instant::now());
        Ok(())
    }

    /// After a `Finished` event: the peer's FIN is the transport's end of
    /// stream (an abnormal closure, 1006, unless the close handshake is done).
    pub fn on_fin(&mut self) {
        if !self.peer_fin {
            self.peer_fin = true;
            self.ws.handle_eof();
        }
    }

    /// After a `Reset` event: an abort. The connection is not driven any
    /// more (nobody is left to read a Close).
    pub fn on_reset(&mut self, code: u64) {
        self.reset = Some(code);
    }

    /// Runs the timers, drains the events (each handed to `on_event`, which
    /// may send), writes what the stream takes now, and sends FIN once the
    /// connection says the transport should close and everything is out.
    pub fn pump(
        &mut self,
        h3: &mut h3::Connection,
        conn: &mut quiche::Connection,
        on_event: &mut dyn FnMut(&mut Connection, &Event),
    ) -> Result<()> {
        if self.reset.is_some() {
            return Ok(());
        }
        self.ws.handle_timeout(Instant::now());
        loop {
            match self.ws.poll_event() {
                Ok(Some(ev)) => {
                    on_event(&mut self.ws, &ev);
                    self.transcript.events.push(ev);
                }
                Ok(None) => break,
                Err(e) => {
                    self.transcript.error.get_or_insert(e);
                    break;
                }
            }
        }
        if self.fin_sent {
            return Ok(());
        }
        // As much as flow control and the congestion window allow; the rest
        // stays in the connection's queue for the next round (quiche asks
        // the peer for more credit when it writes short).
        loop {
            let chunk = self.ws.pending_transmit();
            if chunk.is_empty() {
                break;
            }
            let len = chunk.len();
            match h3.send_body(conn, self.id, chunk, false) {
                Ok(n) => {
                    self.ws.advance_transmit(n);
                    if n < len {
                        self.short_writes += 1;
                    }
                }
                Err(h3::Error::Done) => {
                    self.short_writes += 1;
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if self.ws.pending_transmit().is_empty() && self.ws.should_close_transport() {
            // RFC 9220 §3 / the handshake module's table: FIN plays the
            // TCP close, after the close handshake (server first).
            match h3.send_body(conn, self.id, &[], true) {
                Ok(_) => self.fin_sent = true,
                Err(h3::Error::Done) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// When the WebSocket's timers next need [`pump`](Self::pump).
    pub fn next_wake(&self) -> Option<Instant> {
        self.ws.poll_timeout()
    }

    /// Both FINs are through (the orderly end), or the stream was reset.
    pub fn is_done(&self) -> bool {
        (self.fin_sent && self.peer_fin) || self.reset.is_some()
    }

    /// Whether both ends sent FIN: the close finished as RFC 9220 §3 maps it.
    pub fn both_fins(&self) -> bool {
        self.fin_sent && self.peer_fin
    }

    /// How often the stream took less than was queued (flow control or
    /// congestion): the writes resumed later.
    pub fn short_writes(&self) -> usize {
        self.short_writes
    }

    /// The HTTP/3 error code the peer reset the stream with, if it did.
    pub fn reset_code(&self) -> Option<u64> {
        self.reset
    }
}

/// `(name, value)` pairs, as pushcodec's checks take them, from quiche's
/// decoded field section.
pub fn field_pairs(list: &[h3::Header]) -> Vec<(Vec<u8>, Vec<u8>)> {
    use quiche::h3::NameValue as _;
    list.iter()
        .map(|h| (h.name().to_vec(), h.value().to_vec()))
        .collect()
}

/// quiche headers from pushcodec's `(name, value)` fields.
pub fn to_headers<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<h3::Header> {
    fields
        .into_iter()
        .map(|(n, v)| h3::Header::new(n.as_bytes(), v.as_bytes()))
        .collect()
}

/// The earliest of some instants.
pub fn earliest(times: impl IntoIterator<Item = Option<Instant>>) -> Option<Instant> {
    times.into_iter().flatten().min()
}
