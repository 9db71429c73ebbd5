//! The server's opening handshake on a raw stream (RFC 6455 §4.2): read
//! the request, pick a subprotocol and permessage-deflate, answer 101 (or
//! the rejection), and hand over a [`WebSocket`] ready to drive.

use crate::prelude::*;
use std::io;
use std::time::Duration;

use ::tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::driver::{Options, WebSocket};
#[cfg(feature = "deflate")]
use crate::ws::deflate::{DeflateConfig, negotiate_server};
use crate::ws::handshake::{self, AcceptBuilder, BuildError, Limits, Request, RequestError};
use crate::ws::{Config, Connection};

/// Why [`Acceptor::accept`] gave no connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcceptError {
    /// The request broke RFC 6455 §4.2.1 or a limit; the rejection with
    /// [`RequestError::status`] was written and the transport closed.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The 101 answer could not be built (a header set on the acceptor).
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The client did not send a complete request within the timeout.
    #[error("no complete handshake request within {0:?}")]
    Timeout(Duration),
    /// The transport ended or failed during the handshake.
    #[error("transport: {0}")]
    Io(#[from] io::Error),
}

/// How a server accepts WebSocket clients on raw streams: the connection's
/// [`Config`], the subprotocols it speaks (in order of preference), and
/// permessage-deflate (feature `deflate`).
///
/// # Example
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use pushcodec::tokio::Acceptor;
/// use pushcodec::ws::Config;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let (server_io, mut client) = tokio::io::duplex(4096);
/// client.write_all(b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Version: 13\r\n\r\n").await?;
/// let acceptor = Acceptor::new(Config::default()).protocols(&["chat"]);
/// let (ws, request) = acceptor.accept(server_io).await?;
/// assert_eq!((request.path(), ws.protocol()), ("/chat", Some("chat")));
/// let mut head = [0u8; 12];
/// client.read_exact(&mut head).await?;
/// assert_eq!(&head, b"HTTP/1.1 101");
/// let (_tx, _rx) = ws.spawn();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Acceptor {
    config: Config,
    limits: Limits,
    protocols: Vec<String>,
    #[cfg(feature = "deflate")]
    deflate: Option<DeflateConfig>,
    timeout: Duration,
    options: Options,
}

impl Acceptor {
    /// Accepts with `config`, no subprotocol, no compression, the default
    /// head [`Limits`] and a 10 s handshake timeout.
    pub fn new(config: Config) -> Self {
        Acceptor {
            config,
            limits: Limits::default(),
            protocols: Vec::new(),
            #[cfg(feature = "deflate")]
            deflate: None,
            timeout: Duration::from_secs(10),
            options: Options::default(),
        }
    }

    /// The subprotocols this server speaks, preferred first: the first one
    /// the client offered is chosen (RFC 6455 §4.2.2 item 5.4).
    #[must_use]
    pub fn protocols(mut self, protocols: &[&str]) -> Self {
        self.protocols = protocols.iter().map(|&p| p.to_owned()).collect();
        self
    }

    /// Accepts permessage-deflate (RFC 7692) with `config` when offered.
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn deflate(mut self, config: DeflateConfig) -> Self {
        self.deflate = Some(config);
        self
    }

    /// Bounds on the request head.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// How long the client has to send its complete request.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The driver's [`Options`] for the accepted connections.
    #[must_use]
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// Reads the request from `io`, answers it and returns the connection
    /// (with the bytes the client sent after its request already fed in)
    /// and the checked request. A request that breaks the rules is answered
    /// with its rejection (400, 426 or 431) and the transport is closed.
    ///
    /// # Errors
    /// [`AcceptError`].
    pub async fn accept<T>(&self, mut io: T) -> Result<(WebSocket<T>, Request), AcceptError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (request, rest) = match ::tokio::time::timeout(self.timeout, self.read(&mut io)).await {
            Err(_) => return Err(AcceptError::Timeout(self.timeout)),
            Ok(Err(AcceptError::Request(e))) => {
                let mut answer = Vec::new();
                e.encode_response(&mut answer);
                io.write_all(&answer).await?;
                self.linger(&mut io).await;
                return Err(e.into());
            }
            Ok(read) => read?,
        };
        let (accept, mut conn, protocol) = self.agree(&request);
        let mut answer = Vec::new();
        accept.encode(&mut answer)?;
        io.write_all(&answer).await?;
        io.flush().await?;
        conn.handle_read(&rest);
        let ws = WebSocket::new(io, conn)
            .options(self.options.clone())
            .with_protocol(protocol);
        Ok((ws, request))
    }

    /// What this acceptor answers `request`: the 101 to send, the
    /// connection (with permessage-deflate when agreed) and the chosen
    /// subprotocol. Both handshake paths (raw stream, hyper) share it.
    pub(super) fn agree<'r>(
        &self,
        request: &'r Request,
    ) -> (AcceptBuilder<'r>, Connection, Option<String>) {
        let protocol = self
            .protocols
            .iter()
            .find(|p| request.protocols().contains(p))
            .cloned();
        let mut accept = request.accept();
        if let Some(p) = &protocol {
            accept = accept.protocol(p);
        }
        #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
        let mut conn = Connection::server(self.config.clone());
        // RFC 7692 §5: accept at most one offer; decline the others.
        #[cfg(feature = "deflate")]
        if let Some(config) = &self.deflate
            && let Some((params, value)) = negotiate_server(request.extensions(), config)
        {
            accept = accept.extension(&value);
            conn = conn.with_deflate(&params, config);
        }
        (accept, conn, protocol)
    }

    /// The driver options the accepted connections get.
    #[cfg(feature = "hyper")]
    pub(super) fn driver_options(&self) -> &Options {
        &self.options
    }

    /// Reads until the request head is complete: the request and the bytes
    /// after it.
    async fn read<T: AsyncRead + Unpin>(
        &self,
        io: &mut T,
    ) -> Result<(Request, Vec<u8>), AcceptError> {
        let mut head = Vec::with_capacity(1024);
        loop {
            if io.read_buf(&mut head).await? == 0 {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
            }
            if let Some((request, used)) = handshake::parse_request(&head, &self.limits)? {
                return Ok((request, head.split_off(used)));
            }
        }
    }

    /// After a rejection: close our side, then read (bounded) until the
    /// client's FIN so that unread input does not reset the connection
    /// before the answer arrives.
    async fn linger<T: AsyncRead + AsyncWrite + Unpin>(&self, io: &mut T) {
        let _ = io.shutdown().await;
        let mut buf = [0u8; 4096];
        let drain = async { while matches!(io.read(&mut buf).await, Ok(n) if n > 0) {} };
        let _ = ::tokio::time::timeout(self.options.linger, drain).await;
    }
}
