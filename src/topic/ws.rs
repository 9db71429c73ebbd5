//! WebSocket entries: messages framed once.

use super::{Lagged, Payload};
use crate::ws::{CloseCode, PreparedMessage};

impl Payload for PreparedMessage {
    /// Every frame stored: the plain one and each compressed one.
    fn wire_len(&self) -> usize {
        self.stored_len()
    }
}

impl Lagged {
    /// The close code a WebSocket server sends a dropped subscriber: 1013,
    /// try again later (IANA registry), as
    /// [`ws::SlowConsumer::Close`](crate::ws::SlowConsumer::Close) is
    /// usually set. The client reconnects and resumes after the id of the
    /// last message it got.
    pub fn close_code(&self) -> CloseCode {
        CloseCode::TRY_AGAIN_LATER
    }
}
