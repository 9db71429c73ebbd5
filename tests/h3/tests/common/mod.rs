//! What both test files need: the bound on every wait, a server that
//! reports each connection, and the Close event the peers end with.

use std::sync::mpsc;
use std::time::Duration;

use pushcodec::ws::{CloseCode, CloseFrame, Event};
use pushcodec_h3::server::{self, Options, Report};

/// Bounds every test: a bug fails it instead of hanging it.
pub const LIMIT: Duration = Duration::from_secs(30);

/// Our server on a loopback port, sending a report per connection.
pub fn start(options: Options) -> (server::Handle, mpsc::Receiver<Report>) {
    let (tx, rx) = mpsc::channel();
    let handle = server::spawn(options, LIMIT, move |r| {
        let _ = tx.send(r);
    })
    .expect("the server starts");
    (handle, rx)
}

/// The event a received Close with `code` and `reason` gives.
pub fn close(code: u16, reason: &str) -> Event {
    Event::Close(Some(CloseFrame {
        code: CloseCode(code),
        reason: reason.into(),
    }))
}
