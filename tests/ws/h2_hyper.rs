//! End to end over a real HTTP/2 stack (RFC 8441): a hyper h2c server with
//! `enable_connect_protocol` upgrades an extended CONNECT from a hyper
//! HTTP/2 client over loopback TCP, and a `Connection` on each end of the
//! stream (server role on the server, client role on the client) exchanges
//! text, binary, ping and close in the stream's DATA frames.
#![cfg(feature = "http")]

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::client::conn::http2 as client_h2;
use hyper::ext::Protocol;
use hyper::server::conn::http2 as server_h2;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use pushcodec::ws::handshake::{self, ConnectHandshake, ResponseError};
use pushcodec::ws::{
    CloseCode, CloseFrame, Config, Connection, Event, ProtocolError, Role, Violation,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Bounds every wait, so a bug fails the test instead of hanging it.
const LIMIT: Duration = Duration::from_secs(20);

/// What one end saw: its events in order, and the error that ended it, if any.
#[derive(Debug, Default)]
struct Transcript {
    events: Vec<Event>,
    error: Option<ProtocolError>,
}

/// The drive loop over an upgraded HTTP/2 stream: drain events and
/// transmits after every input, end our side of the stream (`END_STREAM`)
/// when the connection says the transport should close, and read the
/// peer's DATA until its `END_STREAM` (read returns 0: `handle_eof`).
async fn drive<S>(
    io: S,
    conn: &mut Connection,
    mut on_event: impl FnMut(&mut Connection, &Event),
) -> std::io::Result<Transcript>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(io);
    let mut t = Transcript::default();
    let mut buf = vec![0u8; 8 * 1024];
    loop {
        loop {
            match conn.poll_event() {
                Ok(Some(ev)) => {
                    on_event(conn, &ev);
                    t.events.push(ev);
                }
                Ok(None) => break,
                Err(e) => {
                    t.error = Some(e);
                    break;
                }
            }
        }
        while let Some(bytes) = conn.poll_transmit() {
            wr.write_all(&bytes).await?;
        }
        if conn.should_close_transport() {
            // END_STREAM on our side, as a TCP FIN after the close handshake.
            wr.shutdown().await?;
            // Let the peer end its side too, so the stream closes without a
            // reset; whatever it sends now is ignored by the connection.
            while rd.read(&mut buf).await? > 0 {}
            return Ok(t);
        }
        match rd.read(&mut buf).await? {
            0 => conn.handle_eof(), // the peer's END_STREAM
            n => conn.handle_read(&buf[..n]),
        }
    }
}

/// The server's service: every request goes through the extended CONNECT
/// check; a WebSocket is answered 200 and run on the upgraded stream.
async fn service(
    mut req: Request<Incoming>,
    done: std::sync::Arc<std::sync::Mutex<Option<oneshot::Sender<Transcript>>>>,
) -> Result<Response<String>, Infallible> {
    let checked = match handshake::check_http_connect_request::<Protocol, _>(&req) {
        Ok(checked) => checked,
        Err(e) => return Ok(e.connect_reply().to_http_response()),
    };
    assert_eq!(checked.protocols(), ["echo.v2", "echo"]);
    assert_eq!(checked.path(), "/echo?room=1");
    let Ok(reply) = checked.accept().protocol("echo").build() else {
        return Ok(Response::builder().status(500).body(String::new()).unwrap());
    };
    let upgrade = hyper::upgrade::on(&mut req);
    let done = done.lock().unwrap().take();
    tokio::spawn(async move {
        let stream = TokioIo::new(upgrade.await.expect("upgraded stream"));
        let mut conn = Connection::new(Role::Server, Config::default());
        let t = drive(stream, &mut conn, |conn, ev| match ev {
            Event::Text(text) => {
                conn.send_text(text.clone()).unwrap();
                // A ping of our own, for the client's auto-pong.
                conn.send_ping(b"s").unwrap();
            }
            Event::Binary(data) => conn.send_binary(data.clone()).unwrap(),
            _ => {} // pings are answered by auto_pong, the Close by the connection
        })
        .await
        .expect("server stream I/O");
        if let Some(done) = done {
            let _ = done.send(t);
        }
    });
    Ok(reply.to_http_response())
}

/// Starts the h2c server on a loopback port; its transcript arrives on the
/// returned channel once its WebSocket is done.
async fn start_server() -> (std::net::SocketAddr, oneshot::Receiver<Transcript>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel();
    let done = std::sync::Arc::new(std::sync::Mutex::new(Some(tx)));
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut builder = server_h2::Builder::new(TokioExecutor::new());
        // RFC 8441 §3: SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
        builder.enable_connect_protocol();
        let svc = service_fn(move |req| service(req, done.clone()));
        let _ = builder.serve_connection(TokioIo::new(tcp), svc).await;
    });
    (addr, rx)
}

type Sender = client_h2::SendRequest<String>;

/// An HTTP/2 client connection (prior knowledge, h2c) that has seen the
/// server's SETTINGS, and whether they enabled extended CONNECT. The server
/// sends its SETTINGS before any response, so once a first plain request
/// is answered, hyper's `Connection` knows.
async fn connect(addr: std::net::SocketAddr) -> (Sender, bool) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = client_h2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
        .await
        .unwrap();
    let mut conn = Box::pin(conn);
    let probe = Request::get(format!("http://{addr}/"))
        .body(String::new())
        .unwrap();
    let resp = tokio::select! {
        resp = sender.send_request(probe) => resp.unwrap(),
        end = &mut conn => panic!("the connection ended first: {end:?}"),
    };
    // A GET is not a WebSocket over HTTP/2: 405, allow CONNECT.
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "CONNECT");
    let enabled = conn.is_extended_connect_protocol_enabled();
    tokio::spawn(conn);
    (sender, enabled)
}

fn close(code: u16, reason: &str) -> Event {
    Event::Close(Some(CloseFrame {
        code: CloseCode(code),
        reason: reason.into(),
    }))
}

#[tokio::test(flavor = "current_thread")]
async fn rfc8441_websocket_over_hyper_h2c() {
    tokio::time::timeout(LIMIT, async {
        let (addr, server_done) = start_server().await;
        let (mut sender, enabled) = connect(addr).await;
        assert!(enabled, "the server's SETTINGS enabled extended CONNECT");

        let hs = ConnectHandshake::new(&format!("ws://{addr}/echo?room=1"))
            .protocols(&["echo.v2", "echo"]);
        let req = hs
            .to_http_request(enabled, Protocol::from_static)
            .unwrap()
            .map(|()| String::new());
        let mut resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        for forbidden in ["sec-websocket-accept", "upgrade", "connection"] {
            assert!(!resp.headers().contains_key(forbidden), "{forbidden}");
        }
        let checked = hs.check_http_response(&resp).unwrap();
        assert_eq!(checked.protocol(), Some("echo"));

        let stream = TokioIo::new(hyper::upgrade::on(&mut resp).await.unwrap());
        let mut conn = Connection::new(Role::Client, Config::default());
        conn.send_text("hello").unwrap();
        conn.send_binary(Bytes::from_static(&[0, 1, 2, 255]))
            .unwrap();
        conn.send_ping(b"p").unwrap();
        let mut replies = 0;
        let client = drive(stream, &mut conn, |conn, ev| {
            if matches!(ev, Event::Text(_) | Event::Binary(_) | Event::Pong(_)) {
                replies += 1;
                if replies == 3 {
                    conn.send_close(CloseCode::NORMAL, "bye").unwrap();
                }
            }
        })
        .await
        .unwrap();
        let server = server_done.await.unwrap();

        // The client saw the echoes, the server's ping, the pong to its own
        // ping and the server's answering Close; it closed only after the
        // server's END_STREAM (RFC 6455 §7.1.1: the server closes first).
        assert_eq!(
            client.events,
            [
                Event::Text("hello".into()),
                Event::Ping(Bytes::from_static(b"s")),
                Event::Binary(Bytes::from_static(&[0, 1, 2, 255])),
                Event::Pong(Bytes::from_static(b"p")),
                close(1000, "bye"), // the answering Close echoes the code and the reason
            ]
        );
        assert!(client.error.is_none(), "{:?}", client.error);
        // The server unmasked every client frame (a masking error would have
        // failed it with 1002) and got the client's auto-pong.
        assert_eq!(
            server.events,
            [
                Event::Text("hello".into()),
                Event::Binary(Bytes::from_static(&[0, 1, 2, 255])),
                Event::Ping(Bytes::from_static(b"p")),
                Event::Pong(Bytes::from_static(b"s")),
                close(1000, "bye"),
            ]
        );
        assert!(server.error.is_none(), "{:?}", server.error);
        assert!(conn.is_close_sent() && conn.is_close_received());
    })
    .await
    .expect("the test finished in time");
}

#[tokio::test(flavor = "current_thread")]
async fn end_stream_before_the_close_handshake_is_abnormal_closure() {
    tokio::time::timeout(LIMIT, async {
        let (addr, server_done) = start_server().await;
        let (mut sender, _) = connect(addr).await;
        let hs = ConnectHandshake::new(&format!("ws://{addr}/echo?room=1"))
            .protocols(&["echo.v2", "echo"]);
        let req = hs
            .to_http_request(true, Protocol::from_static)
            .unwrap()
            .map(|()| String::new());
        let mut resp = sender.send_request(req).await.unwrap();
        hs.check_http_response(&resp).unwrap();
        let mut stream = TokioIo::new(hyper::upgrade::on(&mut resp).await.unwrap());
        // The client ends its side of the stream without a Close.
        stream.shutdown().await.unwrap();
        let server = server_done.await.unwrap();
        assert!(server.events.is_empty());
        let err = server.error.expect("an abnormal closure");
        assert!(
            matches!(err.violation(), Violation::AbnormalClosure),
            "{err}"
        );
        assert_eq!(err.close_code(), None, "1006 is never sent");
    })
    .await
    .expect("the test finished in time");
}

#[tokio::test(flavor = "current_thread")]
async fn rejection_over_h2_carries_the_version_and_no_upgrade() {
    tokio::time::timeout(LIMIT, async {
        let (addr, _server_done) = start_server().await;
        let (mut sender, _) = connect(addr).await;
        let hs = ConnectHandshake::new(&format!("ws://{addr}/echo"));
        let mut req = hs
            .to_http_request(true, Protocol::from_static)
            .unwrap()
            .map(|()| String::new());
        req.headers_mut()
            .insert("sec-websocket-version", "8".parse().unwrap());
        let resp = sender.send_request(req).await.unwrap();
        // 400, not 426: a 426 needs Upgrade, which HTTP/2 forbids.
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(resp.headers()["sec-websocket-version"], "13");
        assert!(!resp.headers().contains_key("upgrade"));
        match hs.check_http_response(&resp) {
            Err(ResponseError::UnexpectedConnectStatus { status, response }) => {
                assert_eq!(status, 400);
                assert_eq!(response.header("sec-websocket-version"), Some("13"));
            }
            other => panic!("{other:?}"),
        }
    })
    .await
    .expect("the test finished in time");
}
