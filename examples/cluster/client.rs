//! Clients of the cluster for the tests and the load run: an SSE client
//! (hyper's HTTP/1.1 client, the crate's SSE decoder) and a WebSocket client
//! (tokio-tungstenite after the crate's client handshake).

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use pushcodec::bytes::Bytes;
use pushcodec::sse::{Decoder, Item, Limits};
use pushcodec::ws::handshake::ClientHandshake;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

/// What a client saw, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// An entry: its stream id and text.
    Entry { id: String, text: String },
    /// The server said to resync, at this id.
    Resync { at: String },
    /// The connection ended (a WebSocket close code, if any).
    Ended(Option<u16>),
}

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// `GET /events` with `Last-Event-ID`; the events go to `out` until the
/// response ends. Returns once the response head is in.
pub async fn sse(
    addr: SocketAddr,
    last_event_id: Option<&str>,
    out: mpsc::UnboundedSender<Seen>,
) -> Result<(), Error> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut request = hyper::Request::get("/events")
        .header("host", addr.to_string())
        .header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new())?)
        .await?;
    if response.status() != 200 {
        return Err(format!("GET /events: {}", response.status()).into());
    }
    let mut body = response.into_body();
    tokio::spawn(async move {
        let _sender = sender;
        let mut decoder = Decoder::new(Limits::default());
        while let Some(Ok(frame)) = body.frame().await {
            let Ok(data) = frame.into_data() else {
                continue;
            };
            for item in decoder.feed(&data) {
                let Ok(Item::Event(event)) = item else {
                    continue;
                };
                let seen = match event.event_type() {
                    "resync" => Seen::Resync {
                        at: event.id().to_owned(),
                    },
                    _ => Seen::Entry {
                        id: event.id().to_owned(),
                        text: event.data().to_owned(),
                    },
                };
                if out.send(seen).is_err() {
                    return;
                }
            }
        }
        let _ = out.send(Seen::Ended(None));
    });
    Ok(())
}

/// A chat client in `room` (`after`: the last id it got); what it receives
/// goes to `out`, and what is sent on the returned channel goes to the room.
pub async fn ws(
    addr: SocketAddr,
    room: &str,
    after: Option<&str>,
    out: mpsc::UnboundedSender<Seen>,
) -> Result<mpsc::UnboundedSender<String>, Error> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let path = match after {
        Some(id) => format!("/ws/{room}?after={id}"),
        None => format!("/ws/{room}"),
    };
    let host = addr.to_string();
    let hs = ClientHandshake::new(&host, &path);
    let mut request = Vec::new();
    hs.encode_request(&mut request);
    stream.write_all(&request).await?;
    let mut head = Vec::new();
    let rest = loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read_buf(&mut head)).await??;
        if n == 0 {
            return Err("closed in the handshake".into());
        }
        if let Some((response, used)) = hs.parse_response(&head)? {
            if response.status() != 101 {
                return Err(format!("upgrade refused: {}", response.status()).into());
            }
            break head.split_off(used);
        }
    };
    let socket = WebSocketStream::from_partially_read(stream, rest, Role::Client, None).await;
    let (mut sink, mut source) = socket.split();
    let (tx, mut to_send) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Some(text) = to_send.recv().await {
            if sink.send(Message::text(text)).await.is_err() {
                return;
            }
        }
    });
    tokio::spawn(async move {
        let mut code = None;
        while let Some(Ok(message)) = source.next().await {
            match message {
                Message::Text(text) => {
                    let (head, tail) = text
                        .as_str()
                        .split_once('\t')
                        .unwrap_or((text.as_str(), ""));
                    let seen = match head {
                        "resync" => Seen::Resync {
                            at: tail.to_owned(),
                        },
                        _ => Seen::Entry {
                            id: head.to_owned(),
                            text: tail.to_owned(),
                        },
                    };
                    if out.send(seen).is_err() {
                        return;
                    }
                }
                Message::Close(frame) => code = frame.map(|f| u16::from(f.code)),
                _ => {}
            }
        }
        let _ = out.send(Seen::Ended(code));
    });
    Ok(tx)
}

/// `POST /publish` on one kept-alive connection.
pub struct Publisher {
    addr: SocketAddr,
    sender: hyper::client::conn::http1::SendRequest<http_body_util::Full<Bytes>>,
}

impl Publisher {
    pub async fn connect(addr: SocketAddr) -> Result<Publisher, Error> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Publisher { addr, sender })
    }

    /// The id Redis gave the event, or the node's refusal.
    pub async fn publish(&mut self, text: &str) -> Result<String, Error> {
        let request = hyper::Request::post("/publish")
            .header("host", self.addr.to_string())
            .body(http_body_util::Full::new(Bytes::from(text.to_owned())))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        let body = String::from_utf8_lossy(&body).into_owned();
        if status != 200 {
            return Err(format!("publish: {status} {body}").into());
        }
        Ok(body)
    }
}
