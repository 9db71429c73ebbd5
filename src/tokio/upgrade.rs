//! The WebSocket upgrade inside hyper 1.x and axum 0.8 (feature `hyper`):
//! check the request, answer 101 with the subprotocol and permessage-deflate
//! agreed, and run the connection on hyper's upgraded stream, in one call.

use crate::prelude::*;
use std::future::Future;

use hyper_util::rt::TokioIo;

use super::accept::Acceptor;
use super::driver::WebSocket;
use super::handle::{Receiver, Sender};
use crate::ws::handshake::check_http_request;

impl Acceptor {
    /// Answers an HTTP/1.1 Upgrade request (RFC 6455 §4.2) served by hyper
    /// (or axum, whose requests are hyper's): the `101 Switching Protocols`
    /// to return from the handler, after which hyper hands over the stream
    /// and `on_open` runs with the connection's halves on a new task. A
    /// request that breaks §4.2.1 gets its rejection (400 or 426) instead,
    /// and `on_open` never runs.
    ///
    /// # Example
    /// ```
    /// use pushcodec::tokio::Acceptor;
    /// use pushcodec::ws::{Config, Event};
    ///
    /// async fn handler(req: http::Request<hyper::body::Incoming>) -> http::Response<String> {
    ///     Acceptor::new(Config::default()).upgrade(req, |tx, mut rx| async move {
    ///         while let Some(Ok(Event::Text(text))) = rx.recv().await {
    ///             let _ = tx.send_text(text).await;
    ///         }
    ///     })
    /// }
    /// # let _ = handler;
    /// ```
    pub fn upgrade<B, F, Fut>(
        &self,
        mut req: http::Request<B>,
        on_open: F,
    ) -> http::Response<String>
    where
        F: FnOnce(Sender, Receiver) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let request = match check_http_request(&req) {
            Ok(request) => request,
            Err(e) => return e.to_http_response(),
        };
        let (accept, conn, protocol) = self.agree(&request);
        let response = match accept.into_http_response() {
            Ok(response) => response.map(|()| String::new()),
            // Only headers set on the acceptor can fail here: our fault.
            Err(e) => {
                let mut response = http::Response::new(e.to_string());
                *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                return response;
            }
        };
        let on_upgrade = hyper::upgrade::on(&mut req);
        let options = self.driver_options().clone();
        ::tokio::spawn(async move {
            // Err: the client went away before the switch; nothing to run.
            if let Ok(upgraded) = on_upgrade.await {
                let (tx, rx) = WebSocket::new(TokioIo::new(upgraded), conn)
                    .options(options)
                    .with_protocol(protocol)
                    .spawn();
                on_open(tx, rx).await;
            }
        });
        response
    }
}
