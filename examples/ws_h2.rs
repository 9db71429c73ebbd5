//! WebSocket over HTTP/2 (RFC 8441) with hyper: the whole drive loop.
//!
//! A hyper HTTP/2 server (cleartext h2c, `enable_connect_protocol`) and a
//! hyper HTTP/2 client run in one process over loopback TCP. The client
//! opens a WebSocket with an extended CONNECT, the server answers 200, and a
//! pushcodec `Connection` runs on each end of the HTTP/2 stream: server role
//! on the server, client role (masking) on the client. The stream's DATA
//! frames carry the WebSocket bytes; END_STREAM plays the part of TCP's FIN.
//!
//! ```sh
//! cargo run --example ws_h2 --features http
//! ```
//! Browsers speak HTTP/2 only over TLS: put a TLS acceptor (tokio-rustls)
//! with ALPN `h2` in front of the same server code to serve them.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::client::conn::http2 as client_h2;
use hyper::ext::Protocol;
use hyper::server::conn::http2 as server_h2;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use pushcodec::ws::handshake::{self, ConnectHandshake};
use pushcodec::ws::{CloseCode, Config, Connection, Event, Role};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Runs one WebSocket over one HTTP/2 stream until it is done: the crate
/// docs' drive loop (`pushcodec`, "The drive loop") over hyper's upgraded
/// stream, whose writes become DATA frames; once `should_close_transport`,
/// the stream ends (END_STREAM).
async fn run_websocket<S>(
    stream: S,
    mut conn: Connection,
    who: &str,
    mut on_event: impl FnMut(&mut Connection, Event),
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut buf = vec![0u8; 16 * 1024];
    // Start the timers (keepalive ping, pong deadline, close timeout).
    conn.handle_timeout(std::time::Instant::now());
    loop {
        loop {
            match conn.poll_event() {
                Ok(Some(event)) => on_event(&mut conn, event),
                Ok(None) => break,
                // A protocol error or a timeout: the Close with its code is
                // already queued, and should_close_transport is now true.
                Err(e) => {
                    println!("{who}: connection failed: {e}");
                    break;
                }
            }
        }
        while let Some(bytes) = conn.poll_transmit() {
            wr.write_all(&bytes).await?;
        }
        if conn.should_close_transport() {
            // END_STREAM: an empty DATA frame with the flag, the HTTP/2 form
            // of TCP's FIN (RFC 8441 §5). The server gets here first, right
            // after the close handshake (RFC 6455 §7.1.1); the client once
            // the server's END_STREAM arrived.
            wr.shutdown().await?;
            // Read on until the peer ends its side too, so the stream closes
            // without a reset; the connection ignores what still comes.
            while rd.read(&mut buf).await? > 0 {}
            println!("{who}: stream closed");
            return Ok(());
        }
        let deadline = conn.poll_timeout();
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = rd.read(&mut buf) => match read {
                // The peer's END_STREAM: after the close handshake this is
                // the orderly end; before it, poll_event reports 1006.
                Ok(0) => conn.handle_eof(),
                Ok(n) => conn.handle_read(&buf[..n]),
                // RST_STREAM (other than CANCEL, which hyper reads as the
                // end of the stream) or a broken connection: an abort, like
                // a TCP reset. Nobody is left to send a Close to.
                Err(e) => {
                    println!("{who}: stream aborted: {e}");
                    return Err(e);
                }
            },
            () = sleep => {}
        }
        conn.handle_timeout(std::time::Instant::now());
    }
}

/// The server's service: check the extended CONNECT, answer, and run the
/// WebSocket on the upgraded stream.
async fn websocket_service(mut req: Request<Incoming>) -> Result<Response<String>, Infallible> {
    // `hyper::ext::Protocol` holds `:protocol` in the request's extensions.
    let checked = match handshake::check_http_connect_request::<Protocol, _>(&req) {
        Ok(checked) => checked,
        // E.g. a GET: 405 with `allow: CONNECT`; a wrong version: 400 with
        // `sec-websocket-version: 13`. Never Upgrade or Connection.
        Err(e) => return Ok(e.connect_reply().to_http_response()),
    };
    println!(
        "server: CONNECT {} from origin {:?}, offers {:?}",
        checked.path(),
        checked.origin(),
        checked.protocols()
    );
    let accept = checked.accept();
    let accept = match checked.protocols().iter().find(|p| *p == "chat") {
        Some(p) => accept.protocol(p),
        None => accept,
    };
    let reply = match accept.build() {
        Ok(reply) => reply,
        // A value this server gave the builder cannot be sent: its own
        // mistake, not the client's, so a bare 500.
        Err(e) => {
            println!("server: cannot build the answer: {e}");
            let mut resp = Response::new(String::new());
            *resp.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            return Ok(resp);
        }
    };
    // hyper hands over the stream once the 200 is sent.
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let stream = match upgrade.await {
            Ok(upgraded) => TokioIo::new(upgraded),
            Err(e) => return println!("server: upgrade failed: {e}"),
        };
        let conn = Connection::new(Role::Server, Config::default());
        let result = run_websocket(stream, conn, "server", |conn, event| {
            println!("server: got {event:?}");
            // Echo data; pings are answered by auto_pong, and the Close by
            // the connection itself.
            let sent = match event {
                Event::Text(text) => conn.send_text(text),
                Event::Binary(data) => conn.send_binary(data),
                _ => Ok(()),
            };
            if let Err(e) = sent {
                println!("server: send failed: {e}");
            }
        })
        .await;
        if let Err(e) = result {
            println!("server: {e}");
        }
    });
    // `:status 200`, the chosen subprotocol; no body, and the stream stays open.
    Ok(reply.to_http_response())
}

async fn serve(listener: TcpListener) -> Result<(), BoxError> {
    loop {
        let (tcp, _) = listener.accept().await?;
        tokio::spawn(async move {
            let mut http2 = server_h2::Builder::new(TokioExecutor::new());
            // SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3).
            http2.enable_connect_protocol();
            let conn = http2.serve_connection(TokioIo::new(tcp), service_fn(websocket_service));
            if let Err(e) = conn.await {
                println!("server: HTTP/2 connection: {e}");
            }
        });
    }
}

async fn client(addr: SocketAddr) -> Result<(), BoxError> {
    let tcp = TcpStream::connect(addr).await?;
    let (mut sender, conn) = client_h2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await?;
    let mut conn = Box::pin(conn);

    // RFC 8441 §3: extended CONNECT only after the server's SETTINGS said so.
    // The server sends its SETTINGS before any response, so the answer to a
    // first plain request proves they were read (a GET here: 405).
    let probe = Request::get(format!("http://{addr}/")).body(String::new())?;
    let resp = tokio::select! {
        resp = sender.send_request(probe) => resp?,
        end = &mut conn => return Err(format!("connection ended: {end:?}").into()),
    };
    println!("client: probe answered {}", resp.status());
    let enabled = conn.is_extended_connect_protocol_enabled();
    println!("client: SETTINGS_ENABLE_CONNECT_PROTOCOL = {enabled}");
    tokio::spawn(conn);

    let hs = ConnectHandshake::new(&format!("ws://{addr}/chat?room=1"))
        .protocols(&["chat", "superchat"])
        .origin("http://example.com");
    // Refused unless `enabled`; hyper turns the extension into `:protocol`.
    let req = hs
        .to_http_request(enabled, Protocol::from_static)?
        .map(|()| String::new());
    let mut resp = sender.send_request(req).await?;
    // Exactly 200, the subprotocol among those offered (RFC 8441 §5).
    let checked = hs.check_http_response(&resp)?;
    println!(
        "client: {} with subprotocol {:?}",
        resp.status(),
        checked.protocol()
    );

    let stream = TokioIo::new(hyper::upgrade::on(&mut resp).await?);
    let mut conn = Connection::new(Role::Client, Config::default());
    conn.send_text("hello over HTTP/2")?;
    conn.send_binary(Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]))?;
    conn.send_ping(b"are you there")?;
    let mut answers = 0;
    run_websocket(stream, conn, "client", |conn, event| {
        println!("client: got {event:?}");
        if matches!(event, Event::Text(_) | Event::Binary(_) | Event::Pong(_)) {
            answers += 1;
            // All three answered: start the close handshake.
            if answers == 3
                && let Err(e) = conn.send_close(CloseCode::NORMAL, "done")
            {
                println!("client: close failed: {e}");
            }
        }
    })
    .await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("server: h2c on {addr}");
    let server = tokio::spawn(serve(listener));
    let result = client(addr).await;
    server.abort();
    result
}
