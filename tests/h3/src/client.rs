//! The client: one QUIC connection from quiche on its own UDP socket, the
//! server's SETTINGS waited for, then an extended CONNECT per WebSocket.

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use pushcodec::ws::handshake::{ConnectHandshake, ConnectResponse};
use pushcodec::ws::{Config, Connection, Event, Role};
use quiche::h3;

use crate::{
    Error, H3_NO_ERROR, MAX_DATAGRAM_SIZE, Result, WsStream, earliest, field_pairs, flush,
    new_connection_id, recv_one, recv_ready, to_headers, transport_config,
};

/// A decoded field section, as pushcodec's checks take it.
pub type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// The QUIC connection and its socket, driven until a deadline.
struct Link {
    socket: UdpSocket,
    local: SocketAddr,
    peer: SocketAddr,
    conn: quiche::Connection,
    deadline: Instant,
    buf: Vec<u8>,
    out: Vec<u8>,
}

impl Link {
    /// Sends what is ready, waits for a datagram (or the next QUIC timer,
    /// `extra`, the deadline), feeds everything queued to quiche, sends again.
    fn step(&mut self, extra: Option<Instant>, what: &'static str) -> Result<()> {
        flush(&self.socket, &mut self.conn, &mut self.out)?;
        let now = Instant::now();
        if now >= self.deadline {
            return Err(Error::Timeout(what));
        }
        let quic = self.conn.timeout().map(|t| now + t);
        let wake = earliest([Some(self.deadline), quic, extra]).unwrap_or(now);
        let mut got = recv_one(
            &self.socket,
            &mut self.buf,
            wake.saturating_duration_since(now),
        )?;
        if got.is_none() {
            // A no-op unless the timer really expired.
            self.conn.on_timeout();
        }
        while let Some((n, from)) = got {
            if from == self.peer {
                let info = quiche::RecvInfo {
                    from,
                    to: self.local,
                };
                // Dropped packets are quiche's business; a broken connection
                // shows in `is_closed` below.
                let _ = self.conn.recv(&mut self.buf[..n], info);
            }
            got = recv_ready(&self.socket, &mut self.buf)?;
        }
        flush(&self.socket, &mut self.conn, &mut self.out)?;
        if self.conn.is_closed() {
            return Err(Error::Closed(what));
        }
        Ok(())
    }
}

/// An HTTP/3 client connection to one server.
pub struct Client {
    link: Link,
    h3: h3::Connection,
    /// Events polled while waiting for something else, for later.
    pending: VecDeque<(u64, h3::Event)>,
}

impl Client {
    /// Opens the QUIC connection (verifying the server's certificate for
    /// `server_name`) and HTTP/3 on it. `limit` bounds the client's whole
    /// life: every later wait fails with [`Error::Timeout`] after it.
    pub fn connect(server: SocketAddr, server_name: &str, limit: Duration) -> Result<Self> {
        let bind: SocketAddr = if server.is_ipv4() {
            "127.0.0.1:0".parse().expect("an address")
        } else {
            "[::1]:0".parse().expect("an address")
        };
        let socket = UdpSocket::bind(bind)?;
        let local = socket.local_addr()?;
        let mut config = transport_config(false)?;
        let conn = quiche::connect(
            Some(server_name),
            &new_connection_id(),
            local,
            server,
            &mut config,
        )?;
        let mut link = Link {
            socket,
            local,
            peer: server,
            conn,
            deadline: Instant::now() + limit,
            buf: vec![0u8; 65_535],
            out: vec![0u8; MAX_DATAGRAM_SIZE],
        };
        while !link.conn.is_established() {
            link.step(None, "the QUIC handshake")?;
        }
        // The client's SETTINGS need no extended CONNECT: the setting only
        // means something from a server (RFC 8441 §3).
        let h3 = h3::Connection::with_transport(&mut link.conn, &h3::Config::new()?)?;
        Ok(Client {
            link,
            h3,
            pending: VecDeque::new(),
        })
    }

    fn poll(&mut self) -> Result<Option<(u64, h3::Event)>> {
        if let Some(ev) = self.pending.pop_front() {
            return Ok(Some(ev));
        }
        match self.h3.poll(&mut self.link.conn) {
            Ok(ev) => Ok(Some(ev)),
            Err(h3::Error::Done) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Waits for the server's SETTINGS and says whether they carried
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (quiche's
    /// `extended_connect_enabled_by_peer`). quiche reads them from the
    /// server's control stream while `poll` runs, so poll until they are in.
    pub fn extended_connect_enabled(&mut self) -> Result<bool> {
        loop {
            loop {
                match self.h3.poll(&mut self.link.conn) {
                    Ok(ev) => self.pending.push_back(ev),
                    Err(h3::Error::Done) => break,
                    Err(e) => return Err(e.into()),
                }
            }
            if self.h3.peer_settings_raw().is_some() {
                return Ok(self.h3.extended_connect_enabled_by_peer());
            }
            self.link.step(None, "the server's SETTINGS")?;
        }
    }

    /// Sends the extended CONNECT of `hs` on a new request stream, once the
    /// server's SETTINGS are in. Fails with
    /// `Error::Build(BuildError::ConnectProtocolNotEnabled)`, sending
    /// nothing, when they did not enable extended CONNECT: RFC 8441 §3
    /// (RFC 9220 §3) forbids `:protocol` before that, and pushcodec's
    /// `request_fields` enforces it with what the stack reported.
    pub fn send_connect(&mut self, hs: &ConnectHandshake) -> Result<u64> {
        let enabled = self.extended_connect_enabled()?;
        let fields = hs.request_fields(enabled)?;
        self.send_fields(&fields)
    }

    /// Sends any request field section (`fin` false: the stream stays open),
    /// for tests that break the rules on purpose.
    pub fn send_fields(&mut self, fields: &[(String, String)]) -> Result<u64> {
        let headers = to_headers(fields.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        Ok(self.h3.send_request(&mut self.link.conn, &headers, false)?)
    }

    /// Waits for the response's field section on request stream `id`.
    pub fn response(&mut self, id: u64) -> Result<Fields> {
        let mut other = Vec::new();
        let found = loop {
            match self.poll()? {
                Some((sid, h3::Event::Headers { list, .. })) if sid == id => {
                    break Ok(field_pairs(&list));
                }
                Some((sid, h3::Event::Reset(code))) if sid == id => break Err(Error::Reset(code)),
                Some(ev) => other.push(ev),
                None => {
                    if let Err(e) = self.link.step(None, "the response") {
                        break Err(e);
                    }
                }
            }
        };
        // Events for other streams, and this one's body, stay for later.
        self.pending.extend(other);
        found
    }

    /// Reads request stream `id`'s body to its FIN (a rejection's text).
    pub fn body(&mut self, id: u64) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match self.poll()? {
                Some((sid, h3::Event::Data)) if sid == id => loop {
                    match self.h3.recv_body(&mut self.link.conn, id, &mut buf) {
                        Ok(n) => body.extend_from_slice(&buf[..n]),
                        Err(h3::Error::Done) => break,
                        Err(e) => return Err(e.into()),
                    }
                },
                Some((sid, h3::Event::Finished)) if sid == id => return Ok(body),
                Some((sid, h3::Event::Reset(code))) if sid == id => return Err(Error::Reset(code)),
                Some(_) => {}
                None => self.link.step(None, "the response body")?,
            }
        }
    }

    /// The whole client side of RFC 9220 §3: extended CONNECT, the
    /// response checked by `check_response` (exactly `200`, the subprotocol
    /// and extensions among those offered), then the stream as a
    /// `Role::Client` WebSocket.
    pub fn open(
        &mut self,
        hs: &ConnectHandshake,
        config: Config,
    ) -> Result<(WsStream, ConnectResponse)> {
        let id = self.send_connect(hs)?;
        let fields = self.response(id)?;
        let response = hs.check_response(fields)?;
        Ok((WsStream::new(id, Role::Client, config), response))
    }

    /// Drives `ws` until both ends have sent FIN (or the stream is reset),
    /// handing every event to `on_event`, which may send.
    pub fn run(
        &mut self,
        ws: &mut WsStream,
        on_event: &mut dyn FnMut(&mut Connection, &Event),
    ) -> Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            while let Some((id, ev)) = self.poll()? {
                if id != ws.id {
                    continue;
                }
                match ev {
                    h3::Event::Data => ws.on_data(&mut self.h3, &mut self.link.conn, &mut buf)?,
                    h3::Event::Finished => ws.on_fin(),
                    h3::Event::Reset(code) => ws.on_reset(code),
                    _ => {}
                }
            }
            ws.pump(&mut self.h3, &mut self.link.conn, on_event)?;
            if ws.is_done() {
                flush(&self.link.socket, &mut self.link.conn, &mut self.link.out)?;
                return Ok(());
            }
            self.link.step(ws.next_wake(), "the WebSocket")?;
        }
    }

    /// Keeps the connection going (acks, retransmissions) until `done`
    /// says so, e.g. until the server has reported.
    pub fn linger(&mut self, mut done: impl FnMut() -> bool) -> Result<()> {
        while !done() {
            while self.poll()?.is_some() {}
            let recheck = Instant::now() + Duration::from_millis(10);
            self.link.step(Some(recheck), "the server")?;
        }
        Ok(())
    }

    /// Ends our side of request stream `id` (FIN, as an empty DATA frame)
    /// without going through a WebSocket, for tests.
    pub fn finish_stream(&mut self, id: u64) -> Result<()> {
        self.h3.send_body(&mut self.link.conn, id, &[], true)?;
        flush(&self.link.socket, &mut self.link.conn, &mut self.link.out)
    }

    /// Closes the QUIC connection cleanly (H3_NO_ERROR).
    pub fn close(mut self) -> Result<()> {
        match self.link.conn.close(true, H3_NO_ERROR, b"done") {
            Ok(()) | Err(quiche::Error::Done) => {}
            Err(e) => return Err(e.into()),
        }
        flush(&self.link.socket, &mut self.link.conn, &mut self.link.out)
    }
}
