//! The echo server: QUIC + HTTP/3 from quiche on one UDP socket, every
//! request checked by `check_connect_request` and, when it is a WebSocket,
//! answered `:status 200` and echoed on its request stream.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pushcodec::ws::handshake::{self, ConnectReply, Limits};
use pushcodec::ws::{Config, Connection, Event, Role};
use quiche::h3;

use crate::{
    Error, MAX_DATAGRAM_SIZE, Result, Transcript, WsStream, earliest, field_pairs, flush,
    new_connection_id, recv_one, recv_ready, to_headers, transport_config,
};

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// Send SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3, RFC 9220 §3).
    /// Without it a WebSocket request is malformed and reset.
    pub extended_connect: bool,
    /// The subprotocols it speaks, in its order of preference.
    pub protocols: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            extended_connect: true,
            protocols: vec!["echo".into()],
        }
    }
}

/// One WebSocket the server finished (or lost with its connection).
#[derive(Debug, Clone)]
pub struct Report {
    pub peer: SocketAddr,
    /// The request's `:path`.
    pub path: String,
    /// The subprotocol the server chose.
    pub protocol: Option<String>,
    /// The server role's events and error.
    pub transcript: Transcript,
    /// Both ends sent FIN on the stream (the orderly end).
    pub both_fins: bool,
    /// The client reset the stream with this code instead.
    pub reset: Option<u64>,
    /// Writes the stream took short (see `WsStream::short_writes`).
    pub short_writes: usize,
}

struct Session {
    ws: WsStream,
    path: String,
    protocol: Option<String>,
}

struct Peer {
    conn: quiche::Connection,
    h3: Option<h3::Connection>,
    sessions: HashMap<u64, Session>,
}

/// A bound server, not yet running.
pub struct Server {
    socket: UdpSocket,
    local: SocketAddr,
    quic: quiche::Config,
    h3: h3::Config,
    options: Options,
    peers: HashMap<SocketAddr, Peer>,
}

impl Server {
    pub fn bind(addr: SocketAddr, options: Options) -> Result<Self> {
        let socket = UdpSocket::bind(addr)?;
        let local = socket.local_addr()?;
        let mut h3 = h3::Config::new()?;
        // RFC 9220 §3 (RFC 8441 §3): SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 lets
        // the client send `:protocol`. quiche only carries the setting; it
        // does not look at `:protocol` itself (the checks below do).
        h3.enable_extended_connect(options.extended_connect);
        Ok(Server {
            socket,
            local,
            quic: transport_config(true)?,
            h3,
            options,
            peers: HashMap::new(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Serves until `stop` is set or `deadline` passes, handing each
    /// finished WebSocket to `report`.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        deadline: Option<Instant>,
        report: &mut dyn FnMut(Report),
    ) -> Result<()> {
        let mut buf = vec![0u8; 65_535];
        let mut out = vec![0u8; MAX_DATAGRAM_SIZE];
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Err(Error::Timeout("the server's deadline"));
            }
            // Sleep until a datagram, a QUIC timer, a WebSocket timer or the
            // deadline, whichever comes first (1 s at most when idle).
            let wake = earliest(
                self.peers
                    .values()
                    .flat_map(|p| {
                        let quic = p.conn.timeout().map(|t| now + t);
                        let ws = p.sessions.values().map(|s| s.ws.next_wake());
                        std::iter::once(quic).chain(ws).collect::<Vec<_>>()
                    })
                    .chain([deadline, Some(now + Duration::from_secs(1))]),
            )
            .unwrap_or(now);
            let mut got = recv_one(&self.socket, &mut buf, wake.saturating_duration_since(now))?;
            if got.is_none() {
                for p in self.peers.values_mut() {
                    // A no-op unless this connection's timer has expired.
                    p.conn.on_timeout();
                }
            }
            // Everything queued now, before answering.
            while let Some((n, from)) = got {
                self.on_datagram(&mut buf[..n], from, &mut out)?;
                got = recv_ready(&self.socket, &mut buf)?;
            }
            self.service(&mut buf, &mut out, report)?;
        }
        Ok(())
    }

    fn on_datagram(&mut self, pkt: &mut [u8], from: SocketAddr, out: &mut [u8]) -> Result<()> {
        let Ok(hdr) = quiche::Header::from_slice(pkt, quiche::MAX_CONN_ID_LEN) else {
            return Ok(()); // not QUIC (the stop handle's wake-up, say)
        };
        // Peers are told apart by address: loopback has no NAT rebinding and
        // the transport config disables migration, so no CID routing is
        // needed for a test server.
        if !self.peers.contains_key(&from) {
            if hdr.ty != quiche::Type::Initial {
                return Ok(());
            }
            if !quiche::version_is_supported(hdr.version) {
                let n = quiche::negotiate_version(&hdr.scid, &hdr.dcid, out)?;
                self.socket.send_to(&out[..n], from)?;
                return Ok(());
            }
            let conn =
                quiche::accept(&new_connection_id(), None, self.local, from, &mut self.quic)?;
            self.peers.insert(
                from,
                Peer {
                    conn,
                    h3: None,
                    sessions: HashMap::new(),
                },
            );
        }
        let Some(peer) = self.peers.get_mut(&from) else {
            return Ok(());
        };
        let info = quiche::RecvInfo {
            from,
            to: self.local,
        };
        // A packet quiche drops (undecryptable, duplicate) is not an error
        // of ours; a broken connection shows in `is_closed`.
        let _ = peer.conn.recv(pkt, info);
        Ok(())
    }

    /// After the datagrams: HTTP/3 events, WebSocket work, packets out, and
    /// closed connections dropped.
    fn service(
        &mut self,
        buf: &mut [u8],
        out: &mut [u8],
        report: &mut dyn FnMut(Report),
    ) -> Result<()> {
        let options = &self.options;
        for (addr, peer) in &mut self.peers {
            if peer.h3.is_none() && (peer.conn.is_established() || peer.conn.is_in_early_data()) {
                // Opens the control stream and sends our SETTINGS.
                peer.h3 = Some(h3::Connection::with_transport(&mut peer.conn, &self.h3)?);
            }
            if let Some(h3) = &mut peer.h3 {
                if let Err(e) = serve_events(options, h3, &mut peer.conn, &mut peer.sessions, buf) {
                    // quiche already closed the connection with the right
                    // code; the test sees it as a closed connection.
                    eprintln!("server: HTTP/3 error from {addr}: {e}");
                }
                for s in peer.sessions.values_mut() {
                    s.ws.pump(h3, &mut peer.conn, &mut echo)?;
                }
                let done: Vec<u64> = peer
                    .sessions
                    .iter()
                    .filter(|(_, s)| s.ws.is_done())
                    .map(|(id, _)| *id)
                    .collect();
                for id in done {
                    if let Some(s) = peer.sessions.remove(&id) {
                        report(make_report(*addr, s));
                    }
                }
            }
            flush(&self.socket, &mut peer.conn, out)?;
        }
        let closed: Vec<SocketAddr> = self
            .peers
            .iter()
            .filter(|(_, p)| p.conn.is_closed())
            .map(|(a, _)| *a)
            .collect();
        for addr in closed {
            if let Some(peer) = self.peers.remove(&addr) {
                for (_, s) in peer.sessions {
                    report(make_report(addr, s));
                }
            }
        }
        Ok(())
    }
}

fn make_report(peer: SocketAddr, s: Session) -> Report {
    Report {
        peer,
        path: s.path,
        protocol: s.protocol,
        both_fins: s.ws.both_fins(),
        reset: s.ws.reset_code(),
        short_writes: s.ws.short_writes(),
        transcript: s.ws.transcript,
    }
}

/// The echo: text and binary go back as they came; pings are answered by
/// auto-pong and the Close by the connection itself.
fn echo(conn: &mut Connection, ev: &Event) {
    let sent = match ev {
        Event::Text(text) => conn.send_text(text.clone()),
        Event::Binary(data) => conn.send_binary(data.clone()),
        _ => Ok(()),
    };
    if let Err(e) = sent {
        eprintln!("server: echo not sent: {e}");
    }
}

fn serve_events(
    options: &Options,
    h3: &mut h3::Connection,
    conn: &mut quiche::Connection,
    sessions: &mut HashMap<u64, Session>,
    buf: &mut [u8],
) -> Result<()> {
    loop {
        match h3.poll(conn) {
            Ok((id, h3::Event::Headers { list, more_frames })) => {
                if let Some(s) = on_request(options, h3, conn, id, &list)? {
                    sessions.insert(id, s);
                    if !more_frames {
                        // The request ended with its headers: an EOF at once.
                        if let Some(s) = sessions.get_mut(&id) {
                            s.ws.on_fin();
                        }
                    }
                }
            }
            Ok((id, h3::Event::Data)) => match sessions.get_mut(&id) {
                Some(s) => s.ws.on_data(h3, conn, buf)?,
                // A body on a rejected request: read and dropped.
                None => while h3.recv_body(conn, id, buf).is_ok() {},
            },
            Ok((id, h3::Event::Finished)) => {
                if let Some(s) = sessions.get_mut(&id) {
                    s.ws.on_fin();
                }
            }
            Ok((id, h3::Event::Reset(code))) => {
                if let Some(s) = sessions.get_mut(&id) {
                    s.ws.on_reset(code);
                }
            }
            Ok((_, h3::Event::PriorityUpdate | h3::Event::GoAway)) => {}
            Err(h3::Error::Done) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}

/// One request's headers: a WebSocket is accepted (`200` and a session),
/// anything else answered with the crate's rejection.
fn on_request(
    options: &Options,
    h3: &mut h3::Connection,
    conn: &mut quiche::Connection,
    id: u64,
    list: &[h3::Header],
) -> Result<Option<Session>> {
    let fields = field_pairs(list);
    let has_protocol = fields.iter().any(|(n, _)| n == b":protocol");
    if has_protocol && !options.extended_connect {
        // RFC 8441 §3 (RFC 9220 §3 for HTTP/3): `:protocol` from a client
        // that was not told SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 makes the
        // request malformed, a stream error H3_MESSAGE_ERROR (RFC 9114 §4.1.2).
        let _ = conn.stream_shutdown(id, quiche::Shutdown::Read, crate::H3_MESSAGE_ERROR);
        let _ = conn.stream_shutdown(id, quiche::Shutdown::Write, crate::H3_MESSAGE_ERROR);
        return Ok(None);
    }
    let request = match handshake::check_connect_request(fields, &Limits::default()) {
        Ok(request) => request,
        Err(e) => {
            // The crate's answer: 400 with `sec-websocket-version: 13` for a
            // bad version, 405 for another method, and so on.
            send_reply(h3, conn, id, &e.connect_reply())?;
            return Ok(None);
        }
    };
    let protocol = options
        .protocols
        .iter()
        .find(|p| request.protocols().contains(p))
        .cloned();
    let mut accept = request.accept();
    if let Some(p) = &protocol {
        accept = accept.protocol(p);
    }
    let reply = match accept.build() {
        Ok(reply) => reply,
        Err(e) => {
            eprintln!("server: cannot answer {id}: {e}");
            let reject = handshake::connect_reject(500, "", &[]).map_err(Error::Build)?;
            send_reply(h3, conn, id, &reject)?;
            return Ok(None);
        }
    };
    send_reply(h3, conn, id, &reply)?;
    Ok(Some(Session {
        ws: WsStream::new(id, Role::Server, Config::default()),
        path: request.path().to_owned(),
        protocol,
    }))
}

/// Sends an answer's fields: the `200` leaves the stream open for the
/// WebSocket, a rejection carries its body and ends the stream.
fn send_reply(
    h3: &mut h3::Connection,
    conn: &mut quiche::Connection,
    id: u64,
    reply: &ConnectReply,
) -> Result<()> {
    let headers = to_headers(reply.fields());
    let body = reply.body().as_bytes();
    let open = reply.status() == 200;
    h3.send_response(conn, id, &headers, !open && body.is_empty())?;
    if !open && !body.is_empty() {
        // A few bytes at the start of a fresh stream: within any window.
        h3.send_body(conn, id, body, true)?;
    }
    Ok(())
}

/// A server running on its own thread; dropping the handle stops it.
pub struct Handle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl Handle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and returns how its loop ended.
    pub fn stop(mut self) -> Result<()> {
        self.stop_now()
    }

    fn stop_now(&mut self) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the loop out of its receive (not QUIC: ignored).
        if let Ok(s) = UdpSocket::bind("127.0.0.1:0") {
            let _ = s.send_to(b"stop", self.addr);
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or(Err(Error::Closed("the server thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = self.stop_now();
    }
}

/// Starts a server on a loopback port on its own thread, running at most
/// `limit`; each finished WebSocket goes to `report`.
pub fn spawn(
    options: Options,
    limit: Duration,
    mut report: impl FnMut(Report) + Send + 'static,
) -> Result<Handle> {
    let mut server = Server::bind("127.0.0.1:0".parse().expect("an address"), options)?;
    let addr = server.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread =
        std::thread::spawn(move || server.run(&flag, Some(Instant::now() + limit), &mut report));
    Ok(Handle {
        addr,
        stop,
        thread: Some(thread),
    })
}
