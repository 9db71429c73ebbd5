//! The side-by-side: the feed's events four ways at once (short polling,
//! long polling, SSE and WebSocket), with what each costs counted by the
//! server as it reads and writes: requests, and bytes on the wire above
//! TCP (request heads, response heads and bodies, SSE lines, WebSocket
//! frames, the upgrade). The page adds how late each event arrived.

use std::io;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use pushcodec::topic::{Seq, SubscribeError};

use super::{Demo, Head, lock};

/// The four ways, in the order the page shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    /// A request every half tick, answered at once.
    ShortPoll,
    /// A request held until there is an event (or 20 s).
    LongPoll,
    /// One `text/event-stream` response (`/events?race=1`).
    Sse,
    /// One WebSocket (`/ws?feed=1`).
    WebSocket,
}

impl Way {
    const ALL: [Way; 4] = [Way::ShortPoll, Way::LongPoll, Way::Sse, Way::WebSocket];

    fn key(self) -> &'static str {
        match self {
            Way::ShortPoll => "short",
            Way::LongPoll => "long",
            Way::Sse => "sse",
            Way::WebSocket => "ws",
        }
    }
}

/// What one way cost so far.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cost {
    /// HTTP requests (polls, SSE connections, WebSocket upgrades).
    pub requests: u64,
    /// Bytes the client sent.
    pub bytes_in: u64,
    /// Bytes the server sent.
    pub bytes_out: u64,
}

/// The four ways' costs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Race([Cost; 4]);

impl Race {
    /// What `way` cost so far.
    pub fn cost(&self, way: Way) -> Cost {
        self.0[way as usize]
    }

    fn as_json(&self, tick: Duration) -> String {
        let ways: Vec<String> = Way::ALL
            .iter()
            .map(|&w| {
                let c = self.cost(w);
                format!(
                    r#""{}":{{"requests":{},"bytes_in":{},"bytes_out":{}}}"#,
                    w.key(),
                    c.requests,
                    c.bytes_in,
                    c.bytes_out
                )
            })
            .collect();
        format!(r#"{{"tick_ms":{},{}}}"#, tick.as_millis(), ways.join(","))
    }
}

/// Counts a request of `way` (its head, `bytes_in`).
pub(super) fn request(demo: &Demo, way: Way, bytes_in: usize) {
    let mut race = lock(&demo.race);
    let cost = &mut race.0[way as usize];
    cost.requests += 1;
    cost.bytes_in += bytes_in as u64;
}

/// Counts bytes of `way` on the wire, each direction.
pub(super) fn bytes(demo: &Demo, way: Way, bytes_in: usize, bytes_out: usize) {
    let mut race = lock(&demo.race);
    let cost = &mut race.0[way as usize];
    cost.bytes_in += bytes_in as u64;
    cost.bytes_out += bytes_out as u64;
}

/// `GET /race`: the costs so far, and the feed's tick (the short polls'
/// pace). Not counted itself.
pub(super) fn serve_stats(demo: &Demo, stream: &mut TcpStream) -> io::Result<()> {
    let json = lock(&demo.race).as_json(demo.opts.tick);
    super::respond(stream, "200 OK", "application/json", json.as_bytes())
}

/// How long a long poll is held before it answers with no event.
const LONG_POLL_HOLD: Duration = Duration::from_secs(20);

/// `GET /poll?after=<id>` (short) and `GET /poll?after=<id>&wait=1` (long):
/// the feed's events after `id` as JSON, from the same topic the SSE
/// streams read (a subscription taken and given back in one lock), so no
/// poll misses or repeats an event. Without `after` (or with an id the
/// log no longer holds): no events, and the newest id to poll after.
pub(super) fn serve_poll(demo: &Demo, mut stream: TcpStream, head: &Head) -> io::Result<()> {
    let after = head.param("after").and_then(|a| a.parse::<Seq>().ok());
    let way = if head.param("wait") == Some("1") {
        Way::LongPoll
    } else {
        Way::ShortPoll
    };
    request(demo, way, head.len);
    let deadline = Instant::now() + LONG_POLL_HOLD;
    let mut feed = lock(&demo.feed);
    let body = loop {
        let (events, resync) = match feed.topic.subscribe(after.as_ref()) {
            Ok(sub) => {
                let mut events = Vec::new();
                while let Ok(Some(entry)) = feed.topic.poll_ref(sub) {
                    events.push(String::from_utf8_lossy(&entry.payload.1.payload()).into_owned());
                }
                feed.topic.unsubscribe(sub);
                (events, after.is_none())
            }
            // The id is gone from the log (or from before a restart).
            Err(SubscribeError::TooOld | SubscribeError::Ahead) => (Vec::new(), true),
            // A new topic has no id yet: nothing after anything.
            Err(_) => (Vec::new(), after.is_none()),
        };
        let now = Instant::now();
        if !events.is_empty() || resync || way == Way::ShortPoll || now >= deadline {
            let last = feed.topic.last_id().map_or(0, |s| s.0);
            break format!(
                r#"{{"last":{last},"resync":{resync},"events":[{}]}}"#,
                events.join(",")
            );
        }
        feed = demo
            .feed_changed
            .wait_timeout(feed, deadline - now)
            .map_or_else(|e| e.into_inner().0, |(guard, _)| guard);
    };
    drop(feed);
    let written =
        super::respond_counted(&mut stream, "200 OK", "application/json", body.as_bytes())?;
    bytes(demo, way, 0, written);
    Ok(())
}
