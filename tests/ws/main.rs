//! WebSocket tests that need no external peer: the handshakes (HTTP/1.1, extended CONNECT over
//! HTTP/2 and HTTP/3, hyper h2c), the connection, its timers and output queue, properties,
//! permessage-deflate.
//! One test binary per group: fewer links, faster builds.
#![cfg(feature = "ws")]

#[path = "../common/mod.rs"]
mod common;

mod broadcast;
mod connection;
mod deflate_autobahn;
mod deflate_connection;
mod deflate_engine;
mod deflate_negotiate;
mod fuzz_regressions;
mod h2_client;
mod h2_hyper;
mod h2_server;
mod handshake;
mod handshake_client;
mod handshake_http;
mod pair;
mod properties;
mod timers;
mod transmit;
