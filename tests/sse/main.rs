//! SSE tests that need no external peer: the WHATWG HTML §9.2 rules under
//! every chunking, properties, the client's reconnect state, the server
//! helpers, history, outbound queues and shared chunks. One test binary for
//! the group: fewer links, faster builds (allocation counts stay in
//! `tests/sse_alloc.rs`, which has its own global allocator).
#![cfg(feature = "sse")]

#[path = "../common/clock.rs"]
mod clock;

mod history;
mod outbound;
mod props;
mod reconnect;
mod server;
mod shared;
mod spec;
