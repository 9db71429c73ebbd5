//! A WebSocket echo and an SSE feed on axum 0.8, through the tokio driver
//! (features `hyper` and `deflate`): permessage-deflate when the client
//! offers it, a tick event every second, a heartbeat comment after 15 s of
//! quiet, and Last-Event-ID resume from a 1,024-event topic.
//!
//! User code: 25 lines (non-blank, non-comment, after rustfmt), issue 19's
//! budget: the issue counted 25 for axum's built-in WebSocket and SSE
//! (without resume or deflate) and 74 for pushcodec before the driver. The
//! echo answers text; any other message ends its loop, and dropping the
//! halves closes the connection (1001).
//!
//! ```text
//! cargo run --example axum_push --features hyper,deflate
//! curl -N localhost:3000/events -H 'Last-Event-ID: 3'   # replays 4, 5, ... then live
//! websocat ws://localhost:3000/ws                       # echoes what you type
//! ```

use axum::{Router, extract::Request, http::HeaderMap, routing::get};
use pushcodec::{sse, tokio::Acceptor, tokio::Feed, ws, ws::deflate::DeflateConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    // Keeps the last 1,024 events (at most 1 MiB) for resuming clients; a
    // client more than 256 events behind is ended and resumes from there.
    let feed = Feed::new(pushcodec::topic::TopicLimits::default());
    let acceptor = Acceptor::new(ws::Config::default()).deflate(DeflateConfig::default());
    let echo = |req: Request| async move {
        acceptor.upgrade(req, |tx, mut rx| async move {
            while let Some(Ok(ws::Event::Text(text))) = rx.recv().await {
                let _ = tx.send_text(text).await;
            }
        })
    };
    let events = feed.clone();
    let sse = |headers: HeaderMap| async move { events.respond(&headers) };
    let app = Router::new().route("/ws", get(echo));
    let app = app.route("/events", get(sse));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    for i in 1u64.. {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let _ = feed.publish(&sse::EventRef::new(&format!("tick {i}")));
    }
    Ok(())
}
