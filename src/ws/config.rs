//! Limits and policy for a [`Connection`](super::Connection).

use core::time::Duration;

/// The policy for a peer that reads slower than the application sends.
///
/// Either way nothing is dropped silently: a refused message is reported to
/// the caller, who decides what to do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlowConsumer {
    /// Refuse the send with [`SendError::Backpressure`](super::SendError::Backpressure);
    /// the connection stays open. The caller may retry after draining,
    /// drop or coalesce messages of its own.
    Refuse,
    /// Fail the connection: drop the frames not yet handed out by
    /// `poll_transmit` so that a Close with this code (1008 policy
    /// violation or 1013 try again later are the usual ones) is the next
    /// thing written, and refuse the send with
    /// [`SendError::SlowConsumer`](super::SendError::SlowConsumer), which
    /// counts what was dropped. The transport closes once the Close is out.
    Close(super::CloseCode),
}

/// Limits and policy for a connection. Every limit is enforced as the bytes
/// arrive, before anything over it is buffered.
///
/// # Example
/// ```
/// use pushcodec::ws::Config;
///
/// let mut config = Config::default();
/// config.max_message_size = 1 << 20; // 1 MiB is plenty for a chat
/// config.max_frame_size = 1 << 20;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest payload of one received frame, in bytes. Default 16 MiB.
    /// A larger frame fails the connection with 1009 as soon as its header
    /// arrives.
    pub max_frame_size: usize,
    /// Largest received message (all fragments), in bytes. Default 64 MiB.
    /// Checked at each frame header: the connection fails with 1009 before
    /// buffering a byte past the limit. Applies to streamed messages too.
    pub max_message_size: usize,
    /// Most frames one received message may span. Default 131,072 (as
    /// Node's `ws`): a 4 MiB message in 64-byte frames, the Autobahn 9.3.1
    /// case, takes 65,537. Empty fragments cost CPU without using the size
    /// limit; this bounds that.
    /// Exceeding it fails the connection with 1008.
    pub max_fragments: usize,
    /// Outbound bytes that may wait in the connection for `poll_transmit`.
    /// Default 16 MiB. A send is refused with
    /// [`SendError::Backpressure`](super::SendError::Backpressure) while at
    /// least this much is queued (the message that crosses the mark is
    /// accepted whole, so any message can be sent once the queue drains).
    /// Automatic pongs that would cross it fail the connection with 1008:
    /// the peer pings faster than the transport drains.
    pub max_outbound_buffer: usize,
    /// What a data send does while [`max_outbound_buffer`](Self::max_outbound_buffer)
    /// is reached. Default [`SlowConsumer::Refuse`].
    pub slow_consumer: SlowConsumer,
    /// Answer each ping with a pong carrying its payload (RFC 6455 §5.5.2).
    /// Default on. The [`Event::Ping`](super::Event::Ping) is delivered either way.
    pub auto_pong: bool,
    /// Answer the peer's Close at once with a Close carrying the same code
    /// and reason (RFC 6455 §5.5.1; browsers, Node `ws` and Python
    /// `websockets` echo both). Default on. Off, the
    /// [`Event::Close`](super::Event::Close) leaves the connection in
    /// [`State::CloseReceived`](super::State::CloseReceived): finish what
    /// you are sending if you like, then answer with `send_close` and the
    /// code and reason of your choice; [`close_timeout`](Self::close_timeout)
    /// bounds the wait.
    pub auto_close_reply: bool,
    /// Deliver data messages as [`Event::MessageStart`](super::Event::MessageStart),
    /// parts as they arrive, and [`Event::MessageEnd`](super::Event::MessageEnd),
    /// instead of whole. Text parts end on code point boundaries and are
    /// validated. Default off.
    pub stream_messages: bool,
    /// Send a ping after this long without receiving anything. Default
    /// 20 s (common practice is 15–30 s: under the idle timeouts of proxies
    /// and load balancers). `None` (or zero) turns keepalive off. Timers run only when
    /// the caller passes the time with
    /// [`Connection::handle_timeout`](super::Connection::handle_timeout).
    pub keepalive_interval: Option<Duration>,
    /// After a keepalive ping, how long the peer has to send anything
    /// before it is declared dead (a half-open connection). Default 20 s.
    pub pong_timeout: Option<Duration>,
    /// How long to wait for the peer's Close after sending ours (and, for a
    /// client, for the server to close the transport afterwards). Default 10 s.
    pub close_timeout: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_fragments: 131_072,
            max_outbound_buffer: 16 << 20,
            slow_consumer: SlowConsumer::Refuse,
            auto_pong: true,
            auto_close_reply: true,
            stream_messages: false,
            keepalive_interval: Some(Duration::from_secs(20)),
            pong_timeout: Some(Duration::from_secs(20)),
            close_timeout: Some(Duration::from_secs(10)),
        }
    }
}
