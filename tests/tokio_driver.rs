//! The tokio driver (feature `tokio`, issue 19) over real loopback TCP
//! against tokio-tungstenite: echo, the close handshake both ways,
//! backpressure, a cancel-safe `recv`, and pings answered while the
//! application is idle; the same for the direct driver (`Direct`).

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use pushcodec::tokio::{Acceptor, Direct, Message, Options, Receiver, Sender, WebSocket};
use pushcodec::ws::{CloseCode, Config, Event};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message as Peer;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as PeerCode;

#[path = "common/tokio_peer.rs"]
mod tokio_peer;
use tokio_peer::{handshake, peer_client};

/// Every wait in these tests is bounded by this.
const STEP: Duration = Duration::from_secs(5);

async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(STEP, f).await.expect("timed out")
}

/// A server on a loopback port that accepts one client with `acceptor`
/// and hands over what `start` makes of the connection.
async fn serve_with<H: Send + 'static>(
    acceptor: Acceptor,
    start: fn(WebSocket<TcpStream>) -> H,
) -> (SocketAddr, tokio::task::JoinHandle<H>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (ws, _request) = acceptor.accept(stream).await.unwrap();
        start(ws)
    });
    (addr, task)
}

/// `serve_with`, the driver spawned: its halves.
async fn serve_one(
    acceptor: Acceptor,
) -> (SocketAddr, tokio::task::JoinHandle<(Sender, Receiver)>) {
    serve_with(acceptor, WebSocket::spawn).await
}

/// Echoes text and binary until the peer's Close; returns that Close.
async fn echo(tx: Sender, mut rx: Receiver) -> Option<Event> {
    while let Some(item) = rx.recv().await {
        match item.expect("no error") {
            Event::Text(t) => tx.send_text(t).await.unwrap(),
            Event::Binary(b) => tx.send_binary(b).await.unwrap(),
            close @ Event::Close(_) => {
                assert!(rx.recv().await.is_none(), "nothing after the Close");
                return Some(close);
            }
            _ => {}
        }
    }
    None
}

#[tokio::test]
async fn echo_and_peer_initiated_close() {
    let (addr, server) = serve_one(Acceptor::new(Config::default())).await;
    let mut peer = peer_client(addr).await;
    let (tx, rx) = server.await.unwrap();
    let echoer = tokio::spawn(echo(tx, rx));

    let big = vec![7u8; 64 * 1024];
    for i in 0..10 {
        peer.send(Peer::text(format!("hello {i}"))).await.unwrap();
        assert_eq!(
            within(peer.next()).await.unwrap().unwrap(),
            Peer::text(format!("hello {i}"))
        );
    }
    peer.send(Peer::binary(big.clone())).await.unwrap();
    assert_eq!(
        within(peer.next()).await.unwrap().unwrap(),
        Peer::binary(big)
    );

    // The peer closes; the driver answers, delivers the Close and ends.
    peer.close(None).await.unwrap();
    let answer = within(peer.next()).await.unwrap().unwrap();
    assert!(matches!(answer, Peer::Close(_)), "{answer:?}");
    let close = within(echoer).await.unwrap();
    assert!(matches!(close, Some(Event::Close(None))), "{close:?}");
    // The server closed TCP first (RFC 6455 §7.1.1): the stream ends.
    assert!(within(peer.next()).await.is_none());
}

/// tungstenite reads our Close (1000, "bye") and answers it.
async fn answers_bye(peer: &mut tokio_tungstenite::WebSocketStream<TcpStream>) {
    let Peer::Close(Some(frame)) = within(peer.next()).await.unwrap().unwrap() else {
        panic!("no Close")
    };
    assert_eq!(
        (frame.code, frame.reason.as_str()),
        (PeerCode::Normal, "bye")
    );
    let _ = within(peer.flush()).await;
}

#[tokio::test]
async fn driver_initiated_close() {
    let (addr, server) = serve_one(Acceptor::new(Config::default())).await;
    let mut peer = peer_client(addr).await;
    let (tx, mut rx) = server.await.unwrap();

    tx.close(CloseCode::NORMAL, "bye").await.unwrap();
    assert!(tx.is_closed());
    assert_eq!(
        tx.send_text("late").await,
        Err(pushcodec::ws::SendError::Closed)
    );
    answers_bye(&mut peer).await;
    // The answer arrives, the handshake completes, the transport closes.
    let Some(Ok(Event::Close(Some(answer)))) = within(rx.recv()).await else {
        panic!("no Close answer")
    };
    assert_eq!(answer.code, CloseCode::NORMAL);
    assert!(within(rx.recv()).await.is_none());
    assert!(within(peer.next()).await.is_none());
}

#[tokio::test]
async fn ping_answered_while_the_application_is_idle() {
    let (addr, server) = serve_one(Acceptor::new(Config::default())).await;
    let mut peer = peer_client(addr).await;
    // The application holds both halves and never touches them.
    let (_tx, _rx) = server.await.unwrap();
    for i in 0..100u8 {
        peer.send(Peer::Ping(vec![i; 4].into())).await.unwrap();
        let pong = within(peer.next()).await.unwrap().unwrap();
        assert_eq!(pong, Peer::Pong(vec![i; 4].into()));
    }
}

#[tokio::test]
async fn recv_is_cancel_safe() {
    let (addr, server) = serve_one(Acceptor::new(Config::default())).await;
    let mut peer = peer_client(addr).await;
    let (_tx, mut rx) = server.await.unwrap();
    const N: usize = 300;
    let sender = tokio::spawn(async move {
        for i in 0..N {
            peer.send(Peer::text(i.to_string())).await.unwrap();
            if i % 10 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        peer
    });
    // A timeout shorter than the gaps: many `recv`s lose the race and
    // are dropped, none may lose a message.
    let (mut got, mut lost_races) = (0, 0);
    while got < N {
        tokio::select! {
            item = rx.recv() => {
                let Some(Ok(Event::Text(t))) = item else { panic!("{item:?}") };
                assert_eq!(t, got.to_string().as_str(), "in order, none lost");
                got += 1;
            }
            () = tokio::time::sleep(Duration::from_micros(200)) => lost_races += 1,
        }
        assert!(lost_races < 1_000_000);
    }
    assert!(
        lost_races > 0,
        "the timeout never won: the test proved nothing"
    );
    drop(within(sender).await.unwrap());
}

#[tokio::test]
async fn backpressure_bounds_what_a_non_reading_peer_costs() {
    let mut config = Config::default();
    config.max_outbound_buffer = 256 * 1024;
    let acceptor = Acceptor::new(config).options(Options::default().channel_capacity(4));
    let (addr, server) = serve_one(acceptor).await;
    // A client that completes the handshake and then never reads.
    let (mut stalled, _) = handshake(addr).await;
    let (tx, _rx) = server.await.unwrap();

    let chunk = bytes::Bytes::from(vec![1u8; 64 * 1024]);
    let mut accepted = 0usize;
    // The senders come to wait: the socket buffers, the connection's
    // 256 KiB and the 4-message channel are full.
    let wait = Duration::from_millis(300);
    while let Ok(sent) = tokio::time::timeout(wait, tx.send_binary(chunk.clone())).await {
        sent.unwrap();
        accepted += 1;
        assert!(accepted < 2048, "128 MiB accepted: nothing pushes back");
    }
    // Once the peer reads, the senders move again.
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 1 << 16];
        while stalled.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    });
    within(tx.send_binary(chunk)).await.unwrap();
    eprintln!("accepted {accepted} x 64 KiB before the senders waited");
    reader.abort();
}

#[tokio::test]
async fn lockstep_sends_the_reply_before_a_protocol_errors_close() {
    let acceptor = Acceptor::new(Config::default()).options(Options::default().lockstep(true));
    let (addr, server) = serve_one(acceptor).await;
    let (mut raw, _) = handshake(addr).await;
    let (tx, rx) = server.await.unwrap();
    let echoer = tokio::spawn(async move {
        let mut rx = rx;
        while let Some(item) = rx.recv().await {
            if let Ok(Event::Text(t)) = item {
                let _ = tx.send_text(t).await;
            }
        }
    });
    // In one write: a masked text "hi", then a frame with RSV2 set, which
    // fails the connection with 1002 (RFC 6455 §5.2).
    let m = [1u8, 2, 3, 4];
    let mut wire = vec![0x81, 0x82, m[0], m[1], m[2], m[3], b'h' ^ m[0], b'i' ^ m[1]];
    wire.extend_from_slice(&[0xa1, 0x80, 0, 0, 0, 0]);
    raw.write_all(&wire).await.unwrap();
    let mut got = Vec::new();
    within(raw.read_to_end(&mut got)).await.unwrap();
    // The echo first, then the Close with 1002 (and a reason).
    assert!(got.starts_with(b"\x81\x02hi\x88"), "{got:?}");
    assert_eq!(&got[6..8], b"\x03\xea");
    within(echoer).await.unwrap();
}

/// A hyper HTTP/1.1 server whose every request goes to `acceptor.upgrade`
/// and an echo; the echo's last event comes back through the channel.
#[cfg(feature = "hyper")]
async fn hyper_echo(
    acceptor: Acceptor,
) -> (SocketAddr, tokio::sync::oneshot::Receiver<Option<Event>>) {
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let closed_tx = std::sync::Mutex::new(Some(closed_tx));
        let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let closed_tx = closed_tx.lock().unwrap().take();
            let response = acceptor.upgrade(req, |tx, rx| async move {
                let close = echo(tx, rx).await;
                let _ = closed_tx.map(|c| c.send(close));
            });
            async move { Ok::<_, std::convert::Infallible>(response) }
        });
        hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades()
            .await
            .unwrap();
    });
    (addr, closed_rx)
}

/// `Acceptor::upgrade` inside a hyper HTTP/1.1 server (feature `hyper`).
#[cfg(feature = "hyper")]
#[tokio::test]
async fn hyper_upgrade_echoes() {
    let (addr, closed_rx) = hyper_echo(Acceptor::new(Config::default())).await;
    let mut peer = peer_client(addr).await;
    peer.send(Peer::text("through hyper")).await.unwrap();
    assert_eq!(
        within(peer.next()).await.unwrap().unwrap(),
        Peer::text("through hyper")
    );
    peer.close(None).await.unwrap();
    assert!(matches!(
        within(closed_rx).await.unwrap(),
        Some(Event::Close(None))
    ));
}

/// permessage-deflate is agreed in the same call (features `hyper`, `deflate`).
#[cfg(all(feature = "hyper", feature = "deflate"))]
#[tokio::test]
async fn hyper_upgrade_agrees_on_permessage_deflate() {
    use pushcodec::ws::deflate::DeflateConfig;
    let acceptor = Acceptor::new(Config::default()).deflate(DeflateConfig::default());
    let (addr, _closed) = hyper_echo(acceptor).await;
    let (_stream, response, _) =
        tokio_peer::handshake_offering(addr, Some("permessage-deflate")).await;
    let agreed = response
        .header("sec-websocket-extensions")
        .unwrap_or_default();
    assert!(agreed.starts_with("permessage-deflate"), "{agreed:?}");
}

#[tokio::test]
async fn a_vanished_peer_ends_the_receiver_with_an_error() {
    let (addr, server) = serve_one(Acceptor::new(Config::default())).await;
    let (raw, _) = handshake(addr).await;
    let (tx, mut rx) = server.await.unwrap();
    // The client goes without a Close (RFC 6455 §7.1.5: 1006).
    drop(raw);
    let Some(Err(pushcodec::tokio::Error::Protocol(e))) = within(rx.recv()).await else {
        panic!("no error")
    };
    assert_eq!(e.violation(), &pushcodec::ws::Violation::AbnormalClosure);
    assert!(within(rx.recv()).await.is_none());
    assert_eq!(
        tx.send_text("anyone?").await,
        Err(pushcodec::ws::SendError::Closed)
    );
}

#[tokio::test]
async fn keepalive_runs_on_tokio_time_and_finds_a_silent_peer() {
    let mut config = Config::default();
    config.keepalive_interval = Some(Duration::from_millis(50));
    config.pong_timeout = Some(Duration::from_millis(100));
    let (addr, server) = serve_one(Acceptor::new(config)).await;
    // A client that reads but never answers anything.
    let (mut raw, _) = handshake(addr).await;
    let (_tx, mut rx) = server.await.unwrap();
    let started = tokio::time::Instant::now();
    let Some(Err(pushcodec::tokio::Error::Protocol(e))) = within(rx.recv()).await else {
        panic!("no timeout")
    };
    assert!(
        matches!(e.violation(), pushcodec::ws::Violation::PongTimeout { .. }),
        "{e}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "not before the deadlines"
    );
    assert!(within(rx.recv()).await.is_none());
    // The keepalive ping came first (0x89: FIN + ping, unmasked, empty),
    // then the transport was closed.
    let mut got = Vec::new();
    within(raw.read_to_end(&mut got)).await.unwrap();
    assert!(got.starts_with(b"\x89\x00"), "{got:?}");
}

#[tokio::test]
async fn the_halves_are_a_futures_stream_and_sink() {
    let (addr, server) = serve_one(Acceptor::new(Config::default())).await;
    let mut peer = peer_client(addr).await;
    let (mut tx, mut rx) = server.await.unwrap();
    let echoer = tokio::spawn(async move {
        while let Some(Ok(Event::Text(text))) = StreamExt::next(&mut rx).await {
            SinkExt::send(&mut tx, Message::Text(text)).await.unwrap();
        }
    });
    for i in 0..20 {
        peer.send(Peer::text(format!("{i}"))).await.unwrap();
        assert_eq!(
            within(peer.next()).await.unwrap().unwrap(),
            Peer::text(format!("{i}"))
        );
    }
    peer.close(None).await.unwrap();
    within(echoer).await.unwrap();
}

/// The frame codec against tokio-tungstenite: a server on `Framed` after
/// our handshake reads the peer's masked frames (RFC 6455 §5.3) and sends
/// unmasked ones the peer accepts, ping, text and the close handshake.
#[tokio::test]
async fn the_frame_codec_speaks_frames_with_tokio_tungstenite() {
    use bytes::Bytes;
    use pushcodec::tokio::{Frame, FrameCodec};
    use pushcodec::ws::handshake::{self, Limits};
    use pushcodec::ws::{FrameHeader, OpCode, Role};
    use tokio_util::codec::Framed;

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let (request, used) = loop {
            assert!(stream.read_buf(&mut head).await.unwrap() > 0);
            if let Some(parsed) = handshake::parse_request(&head, &Limits::default()).unwrap() {
                break parsed;
            }
        };
        let mut answer = Vec::new();
        request.accept().encode(&mut answer).unwrap();
        stream.write_all(&answer).await.unwrap();
        let mut framed = Framed::new(stream, FrameCodec::new(Role::Server, 1 << 20));
        framed.read_buffer_mut().extend_from_slice(&head[used..]);
        let mut seen = Vec::new();
        while let Some(frame) = framed.next().await {
            let frame = frame.expect("a valid frame");
            assert!(frame.header.mask.is_some(), "client frames are masked");
            let reply = |opcode, payload: Bytes| Frame {
                header: FrameHeader {
                    fin: true,
                    rsv: 0,
                    opcode,
                    mask: None,
                    payload_len: 0,
                },
                payload,
            };
            seen.push(frame.header.opcode);
            match frame.header.opcode {
                OpCode::Ping => framed
                    .send(reply(OpCode::Pong, frame.payload))
                    .await
                    .unwrap(),
                OpCode::Text => framed
                    .send(reply(OpCode::Text, frame.payload))
                    .await
                    .unwrap(),
                OpCode::Close => {
                    framed
                        .send(reply(OpCode::Close, frame.payload))
                        .await
                        .unwrap();
                    break;
                }
                _ => {}
            }
        }
        seen
    });
    let mut peer = peer_client(addr).await;
    peer.send(Peer::Ping(Bytes::from_static(b"p1")))
        .await
        .unwrap();
    peer.send(Peer::text("héllo")).await.unwrap();
    assert_eq!(
        within(peer.next()).await.unwrap().unwrap(),
        Peer::Pong(Bytes::from_static(b"p1"))
    );
    assert_eq!(
        within(peer.next()).await.unwrap().unwrap(),
        Peer::text("héllo")
    );
    peer.close(None).await.unwrap();
    while let Some(Ok(_)) = within(peer.next()).await {}
    assert_eq!(
        within(server).await.unwrap(),
        [OpCode::Ping, OpCode::Text, OpCode::Close]
    );
}

// --- the direct driver: the same drive loop in the caller's task ---------

/// `serve_with`, driven from the caller's task: a `Direct`.
async fn serve_one_direct(
    acceptor: Acceptor,
) -> (SocketAddr, tokio::task::JoinHandle<Direct<TcpStream>>) {
    serve_with(acceptor, WebSocket::direct).await
}

#[tokio::test]
async fn direct_echo_and_peer_initiated_close() {
    let (addr, server) = serve_one_direct(Acceptor::new(Config::default())).await;
    let mut peer = peer_client(addr).await;
    let mut ws = server.await.unwrap();
    let echo = tokio::spawn(async move {
        // Through the `futures` traits (the other direct tests use `recv`).
        while let Some(item) = StreamExt::next(&mut ws).await {
            match item.expect("no error") {
                Event::Text(t) => SinkExt::send(&mut ws, Message::Text(t)).await.unwrap(),
                Event::Binary(b) => ws.send_binary(b).await.unwrap(),
                close @ Event::Close(_) => {
                    assert!(ws.recv().await.is_none(), "nothing after the Close");
                    return Some(close);
                }
                _ => {}
            }
        }
        None
    });
    for i in 0..50 {
        peer.send(Peer::text(format!("héllo {i}"))).await.unwrap();
        let got = within(peer.next()).await.unwrap().unwrap();
        assert_eq!(got, Peer::text(format!("héllo {i}")));
    }
    let big = vec![7u8; 300_000];
    peer.send(Peer::binary(big.clone())).await.unwrap();
    assert_eq!(
        within(peer.next()).await.unwrap().unwrap(),
        Peer::binary(big)
    );
    // RFC 6455 §5.5.1: the peer closes, we answer, the transport closes.
    peer.close(None).await.unwrap();
    let answer = within(peer.next()).await.unwrap().unwrap();
    assert!(matches!(answer, Peer::Close(_)), "{answer:?}");
    let close = within(echo).await.unwrap();
    assert!(matches!(close, Some(Event::Close(None))), "{close:?}");
    // The server closed TCP first (RFC 6455 §7.1.1): the stream ends.
    assert!(within(peer.next()).await.is_none());
}

#[tokio::test]
async fn direct_close_completes_the_handshake() {
    let (addr, server) = serve_one_direct(Acceptor::new(Config::default())).await;
    let mut peer = peer_client(addr).await;
    let mut ws = server.await.unwrap();
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    assert_eq!(
        ws.send_text("late").await,
        Err(pushcodec::ws::SendError::Closed)
    );
    answers_bye(&mut peer).await;
    let Some(Ok(Event::Close(Some(answer)))) = within(ws.recv()).await else {
        panic!("no Close answer")
    };
    assert_eq!(answer.code, CloseCode::NORMAL);
    assert!(within(ws.recv()).await.is_none());
    assert!(within(peer.next()).await.is_none());
}

#[tokio::test]
async fn direct_answers_pings_while_recv_waits_and_recv_is_cancel_safe() {
    let (addr, server) = serve_one_direct(Acceptor::new(Config::default())).await;
    let mut peer = peer_client(addr).await;
    let mut ws = server.await.unwrap();
    // The application waits in `recv`, with a timeout that keeps dropping
    // it: pings are answered from inside it, and no message is lost.
    let app = tokio::spawn(async move {
        let (mut got, mut lost_races) = (0, 0);
        while got < 200 {
            tokio::select! {
                item = ws.recv() => {
                    let Some(Ok(Event::Text(t))) = item else { panic!("{item:?}") };
                    assert_eq!(t, got.to_string().as_str(), "in order, none lost");
                    got += 1;
                }
                () = tokio::time::sleep(Duration::from_micros(200)) => lost_races += 1,
            }
        }
        lost_races
    });
    for i in 0..200u8 {
        peer.send(Peer::Ping(vec![i; 4].into())).await.unwrap();
        let pong = within(peer.next()).await.unwrap().unwrap();
        assert_eq!(pong, Peer::Pong(vec![i; 4].into()));
        peer.send(Peer::text(i.to_string())).await.unwrap();
        if i % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let lost_races = within(app).await.unwrap();
    assert!(
        lost_races > 0,
        "the timeout never won: the test proved nothing"
    );
}

#[tokio::test]
async fn direct_keepalive_finds_a_silent_peer_and_a_vanished_one_is_an_error() {
    let mut config = Config::default();
    config.keepalive_interval = Some(Duration::from_millis(50));
    config.pong_timeout = Some(Duration::from_millis(100));
    let (addr, server) = serve_one_direct(Acceptor::new(config)).await;
    let (mut raw, _) = handshake(addr).await;
    let mut ws = server.await.unwrap();
    let Some(Err(pushcodec::tokio::Error::Protocol(e))) = within(ws.recv()).await else {
        panic!("no timeout")
    };
    assert!(
        matches!(e.violation(), pushcodec::ws::Violation::PongTimeout { .. }),
        "{e}"
    );
    assert!(within(ws.recv()).await.is_none());
    let mut got = Vec::new();
    within(raw.read_to_end(&mut got)).await.unwrap();
    assert!(
        got.starts_with(b"\x89\x00"),
        "the keepalive ping first: {got:?}"
    );

    // RFC 6455 §7.1.5: a peer gone without a Close is 1006.
    let (addr, server) = serve_one_direct(Acceptor::new(Config::default())).await;
    let (raw, _) = handshake(addr).await;
    let mut ws = server.await.unwrap();
    drop(raw);
    let Some(Err(pushcodec::tokio::Error::Protocol(e))) = within(ws.recv()).await else {
        panic!("no error")
    };
    assert_eq!(e.violation(), &pushcodec::ws::Violation::AbnormalClosure);
    assert!(within(ws.recv()).await.is_none());
}

#[tokio::test]
async fn direct_send_waits_for_a_peer_that_does_not_read() {
    let mut config = Config::default();
    config.max_outbound_buffer = 256 * 1024;
    let (addr, server) = serve_one_direct(Acceptor::new(config)).await;
    let (mut stalled, _) = handshake(addr).await;
    let mut ws = server.await.unwrap();
    let chunk = bytes::Bytes::from(vec![1u8; 64 * 1024]);
    let mut accepted = 0usize;
    let wait = Duration::from_millis(300);
    while let Ok(sent) = tokio::time::timeout(wait, ws.send_binary(chunk.clone())).await {
        sent.unwrap();
        accepted += 1;
        assert!(accepted < 2048, "128 MiB accepted: nothing pushes back");
    }
    assert!(
        ws.connection().buffered_amount() <= 256 * 1024 + 64 * 1024 + 14,
        "the outbound buffer stays near its limit"
    );
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 1 << 16];
        while stalled.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    });
    within(ws.send_binary(chunk)).await.unwrap();
    reader.abort();
}

/// A transport whose reads wait forever and whose writes fail.
struct BrokenPipe;

impl tokio::io::AsyncRead for BrokenPipe {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Pending
    }
}

impl tokio::io::AsyncWrite for BrokenPipe {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn direct_sends_stop_once_the_transport_failed() {
    let conn = pushcodec::ws::Connection::server(Config::default());
    let mut ws = WebSocket::new(BrokenPipe, conn).direct();
    // The first send finds the transport broken; its error waits for recv.
    within(ws.send_text("lost")).await.unwrap();
    // Nothing would write them: later sends are refused, not piled up.
    for _ in 0..3 {
        assert_eq!(
            within(ws.send_binary(vec![0u8; 1 << 16])).await,
            Err(pushcodec::ws::SendError::Closed)
        );
    }
    assert!(ws.connection().buffered_amount() < 1 << 16);
    let Some(Err(pushcodec::tokio::Error::Io(e))) = within(ws.recv()).await else {
        panic!("no transport error")
    };
    assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
    assert!(within(ws.recv()).await.is_none());
}

#[tokio::test]
async fn direct_send_gives_up_on_a_peer_that_stopped_reading() {
    // The pong timeout runs while a send waits: a peer that reads nothing
    // (not even our keepalive ping) is given up on, the send returns, and
    // recv reports why and ends.
    let mut config = Config::default();
    config.keepalive_interval = Some(Duration::from_millis(50));
    config.pong_timeout = Some(Duration::from_millis(100));
    let (addr, server) = serve_one_direct(Acceptor::new(config)).await;
    let (_stalled, _) = handshake(addr).await;
    let mut ws = server.await.unwrap();
    let chunk = bytes::Bytes::from(vec![1u8; 1 << 20]);
    let gave_up = within(async {
        for _ in 0..64 {
            if ws.send_binary(chunk.clone()).await.is_err() {
                return;
            }
        }
    });
    let started = std::time::Instant::now();
    gave_up.await;
    // Soon after the deadlines (150 ms), not when something else wakes it.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let Some(Err(pushcodec::tokio::Error::Protocol(e))) = within(ws.recv()).await else {
        panic!("no timeout")
    };
    assert!(
        matches!(e.violation(), pushcodec::ws::Violation::PongTimeout { .. }),
        "{e}"
    );
    assert!(
        within(ws.recv()).await.is_none(),
        "the transport closes though bytes were left"
    );
}
