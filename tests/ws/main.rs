//! WebSocket tests that need no external peer: the connection, its timers and output queue, properties, permessage-deflate.
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
mod pair;
mod properties;
mod timers;
mod transmit;
