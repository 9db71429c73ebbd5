//! Tests against real third-party peers (Node `ws`, Python `websockets`, npm `eventsource-parser`),
//! installed by `bash .ci/test`; set PUSHCODEC_SKIP_INTEROP=1 to skip them.
//! One test binary per group: fewer links, faster builds.
#![cfg(any(feature = "sse", feature = "ws"))]

mod sse;
mod ws;
