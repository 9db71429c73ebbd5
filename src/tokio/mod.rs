//! A tokio runtime for the sans-IO state machines (feature `tokio`, off by
//! default): everything in the crate that touches a socket, a task or a
//! clock lives in this folder, and nothing outside it uses tokio.
//!
//! | feature | default | what it adds | dependencies |
//! |---|---|---|---|
//! | `tokio` | no | this module: the WebSocket drivers, `Acceptor`, the SSE body for hyper, the codecs | tokio, tokio-util, futures-core, futures-sink, http-body, http |
//! | `hyper` | no | [`Acceptor::upgrade`] for hyper 1.x and axum handlers (implies `tokio`) | hyper, hyper-util |
//!
//! - [`WebSocket`]: runs a [`ws::Connection`](crate::ws::Connection) over any
//!   `AsyncRead + AsyncWrite` with its timers on `tokio::time`, split into a
//!   cloneable [`Sender`] and a cancel-safe [`Receiver`] that talk to one
//!   driver task through bounded channels (backpressure both ways); or,
//!   with [`WebSocket::direct`], a [`Direct`] that runs the same drive loop
//!   inside its own `recv` and `send`, in the caller's task.
//! - [`Acceptor`]: the server's HTTP/1.1 Upgrade on a raw stream (subprotocol
//!   and permessage-deflate negotiation) in one call, giving a `WebSocket`;
//!   with feature `hyper`, [`Acceptor::upgrade`] does the same inside a
//!   hyper 1.x or axum handler.
//! - [`EventStream`]: an SSE response body for hyper 1.x (`http-body` 1)
//!   that flushes the response head at once, sends heartbeats and replays
//!   what a client missed; [`Feed`] publishes to many such bodies through
//!   one [`Topic`](crate::topic::Topic), the log they resume from.
//! - [`SseCodec`] and [`FrameCodec`]: tokio-util codecs for `Framed` users
//!   (SSE items and events; whole WebSocket frames under RFC 6455 §5).
//!
//! # Example
//! ```
//! use pushcodec::tokio::{Receiver, Sender, WebSocket};
//! use pushcodec::ws::{CloseCode, Config, Connection, Event};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), pushcodec::ws::SendError> {
//! // Any AsyncRead + AsyncWrite: a TcpStream after the handshake, hyper's
//! // Upgraded, a TLS stream; here one end of an in-memory pipe.
//! let (server_io, client_io) = tokio::io::duplex(64 * 1024);
//! let (server_tx, mut server_rx) = WebSocket::new(server_io, Connection::server(Config::default())).spawn();
//! let (client_tx, mut client_rx) = WebSocket::new(client_io, Connection::client(Config::default())).spawn();
//!
//! client_tx.send_text("hello").await?;
//! let Some(Ok(Event::Text(text))) = server_rx.recv().await else { panic!() };
//! server_tx.send_text(text).await?; // echo
//! assert!(matches!(client_rx.recv().await, Some(Ok(Event::Text(t))) if t == "hello"));
//!
//! // The driver finishes the close handshake and closes the transport.
//! client_tx.close(CloseCode::NORMAL, "bye").await?;
//! assert!(matches!(server_rx.recv().await, Some(Ok(Event::Close(Some(_))))));
//! assert!(server_rx.recv().await.is_none());
//! assert!(matches!(client_rx.recv().await, Some(Ok(Event::Close(Some(_))))));
//! assert!(client_rx.recv().await.is_none());
//! # Ok(())
//! # }
//! ```

mod accept;
mod codec;
mod direct;
mod driver;
mod handle;
mod sse;
#[cfg(feature = "hyper")]
mod upgrade;

pub use accept::{AcceptError, Acceptor};
pub use codec::{CodecError, Frame, FrameCodec, SseCodec};
pub use direct::Direct;
pub use driver::{Driver, Options, WebSocket};
pub use handle::{Error, Message, Receiver, Sender};
pub use sse::{EventStream, Feed, Resumed};
