//! The client side of the tokio tests and the end-to-end bench: our
//! opening handshake on a raw socket, and tokio-tungstenite on top of it
//! (its own handshake needs a feature whose dependencies are not here).

use std::net::SocketAddr;
use std::time::Duration;

use pushcodec::ws::handshake::{ClientHandshake, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;

/// Our client handshake on a raw socket: the socket and the bytes after
/// the 101 head.
pub async fn handshake(addr: SocketAddr) -> (TcpStream, Vec<u8>) {
    let (stream, _, rest) = handshake_offering(addr, None).await;
    (stream, rest)
}

/// As `handshake`, offering the extension `offer`; with the response.
pub async fn handshake_offering(
    addr: SocketAddr,
    offer: Option<&str>,
) -> (TcpStream, Response, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut hs = ClientHandshake::new(&addr.to_string(), "/");
    if let Some(offer) = offer {
        hs = hs.extension(offer);
    }
    let mut request = Vec::new();
    hs.encode_request(&mut request);
    stream.write_all(&request).await.unwrap();
    let mut head = Vec::new();
    loop {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_buf(&mut head));
        assert!(
            read.await.expect("timed out").unwrap() > 0,
            "closed in the handshake"
        );
        if let Some((response, used)) = hs.parse_response(&head).unwrap() {
            assert_eq!(response.status(), 101);
            return (stream, response, head.split_off(used));
        }
    }
}

/// tokio-tungstenite as the client of our server.
pub async fn peer_client(addr: SocketAddr) -> WebSocketStream<TcpStream> {
    let (stream, rest) = handshake(addr).await;
    WebSocketStream::from_partially_read(stream, rest, Role::Client, None).await
}
