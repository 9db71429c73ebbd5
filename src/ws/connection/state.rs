//! The close handshake (RFC 6455 §7.1) as one state: what may still be
//! sent and received, and when the transport is to be closed.

/// Where a [`Connection`](super::Connection) is in its life.
///
/// ```text
///            send_close                      peer's Close
///   Open ───────────────► CloseSent ──────────────────────► Closed
///     │                                                       ▲
///     │ peer's Close       (answered at once unless           │ send_close
///     └──────────────────► CloseReceived  auto_close_reply ───┘
///                                         is off)
///   any state ── protocol error, missed deadline, transport lost ──► Failed
/// ```
///
/// A server closes the transport once `Closed` and drained (§7.1.1: the
/// server closes TCP first); a client waits for the server to, within
/// [`Config::close_timeout`](crate::ws::Config::close_timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// This endpoint's Close is queued (§7.1.2): no data may follow it;
    /// the peer's messages are still received until its Close.
    CloseSent,
    /// The peer's Close arrived and has not been answered yet (only with
    /// [`Config::auto_close_reply`](crate::ws::Config::auto_close_reply)
    /// off): nothing more is received; what is left of a message may
    /// still be sent before the answering `send_close` (§7.1.3 lets an
    /// endpoint finish a fragmented message first).
    CloseReceived,
    /// Both Closes are exchanged: the close handshake is complete (§7.1.3).
    Closed,
    /// The connection failed (§7.1.7): the peer broke the protocol or a
    /// limit, a deadline passed, the send queue overflowed under
    /// `SlowConsumer::Close`, or the transport ended before the close
    /// handshake. A Close with the failure's code is queued when it has one.
    Failed,
}

impl State {
    /// Frames from the peer are still read.
    pub(super) fn is_receiving(self) -> bool {
        matches!(self, State::Open | State::CloseSent)
    }

    /// Data and pings may still be sent (RFC 6455 §5.5.1: nothing after
    /// our Close).
    pub(super) fn can_send(self) -> bool {
        matches!(self, State::Open | State::CloseReceived)
    }

    /// Our Close is queued: `send_close` sets this.
    pub(super) fn close_sent(self) -> Self {
        match self {
            State::Open => State::CloseSent,
            State::CloseReceived => State::Closed,
            other => other,
        }
    }

    /// The peer's Close arrived.
    pub(super) fn close_received(self) -> Self {
        match self {
            State::Open => State::CloseReceived,
            State::CloseSent => State::Closed,
            other => other,
        }
    }
}
