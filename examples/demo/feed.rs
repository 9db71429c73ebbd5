//! The demo's SSE feed: a crate `Topic` holds the events, each encoded
//! once for SSE and once as a WebSocket message (the side-by-side's
//! polls read the message's JSON); every stream (first connection, resume,
//! live) is a subscriber of it, so a resume replays exactly what was missed
//! and then goes live without a gap. Heartbeats come from the crate's
//! `Heartbeat` timer.

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use pushcodec::bytes::{Bytes, BytesMut};
use pushcodec::sse::{self, EventRef, Heartbeat, PreparedEvent};
use pushcodec::topic::{PollError, Seq, SubscribeError, SubscriberId, Topic, TopicLimits};
use pushcodec::ws::PreparedMessage;

use super::race::{self, Way};
use super::{Demo, Head, SseRecord, json_str, lock, respond};

/// The live feed: the events, encoded once per transport, and a cursor per
/// open stream.
pub(super) struct Feed {
    pub(super) topic: Topic<Seq, (PreparedEvent, PreparedMessage)>,
    /// Bumped to make every open stream end (the "drop" button).
    drops: u64,
}

impl Feed {
    pub(super) fn new() -> Self {
        Feed {
            // The last 1,024 events or 1 MiB, whichever is less.
            topic: Topic::new(TopicLimits::default()),
            drops: 0,
        }
    }
}

const HEADLINES: &[&str] = &[
    "pushcodec encodes each event once\nand every client gets the same bytes",
    "EventSource resumes with Last-Event-ID",
    "the topic's log is bounded by count and by bytes",
    "heartbeat comments keep idle streams alive\n(EventSource never shows them)",
];

/// The feed thread: an event per tick, with a pause now and then (so
/// heartbeats show), and a drop now and then.
pub(super) fn run_feed(demo: &Demo) {
    let started = Instant::now();
    let mut last_drop = Instant::now();
    loop {
        let n = {
            let mut feed = lock(&demo.feed);
            let n = feed.topic.next_seq().0;
            let (event_type, data) = if n.is_multiple_of(4) {
                let i = usize::try_from(n / 4).unwrap_or(0) % HEADLINES.len();
                ("news", HEADLINES[i].to_owned())
            } else {
                let t = started.elapsed().as_secs_f64();
                ("tick", format!("tick {n} at +{t:.1} s"))
            };
            // The crate encodes (data lines, type, and the topic's id) once.
            let id = n.to_string();
            let event = EventRef::new(&data).event_type(event_type).id(&id);
            let json = format!(
                r#"{{"id":{n},"type":"{event_type}","data":{}}}"#,
                json_str(&data)
            );
            let published = PreparedEvent::new(&event)
                .map_err(|e| e.to_string())
                .and_then(|sse| {
                    let ws = PreparedMessage::text(json);
                    feed.topic.publish((sse, ws)).map_err(|e| e.to_string())
                });
            if let Err(e) = published {
                demo.log(format_args!("feed: cannot publish event {n}: {e}"));
            }
            if let Some(every) = demo.opts.drop_every
                && last_drop.elapsed() >= every
            {
                last_drop = Instant::now();
                feed.drops += 1;
            }
            n
        };
        demo.feed_changed.notify_all();
        // The side-by-side's WebSocket reads the same topic.
        for peer in lock(&demo.ws_peers).iter() {
            peer.wake();
        }
        let pause = if n.is_multiple_of(6) { 3 } else { 1 };
        thread::sleep(demo.opts.tick * pause);
    }
}

pub(super) fn drop_streams(demo: &Demo) {
    lock(&demo.feed).drops += 1;
    demo.feed_changed.notify_all();
}

/// A stream's subscription, given back when the stream ends however it ends.
struct Subscription<'a> {
    demo: &'a Demo,
    sub: SubscriberId,
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        lock(&self.demo.feed).topic.unsubscribe(self.sub);
    }
}

/// Everything the subscriber has not had yet, as shared bytes to write
/// once the lock is released.
fn take(
    topic: &mut Topic<Seq, (PreparedEvent, PreparedMessage)>,
    sub: SubscriberId,
) -> Result<Vec<(Seq, Bytes)>, PollError> {
    let mut batch = Vec::new();
    while let Some(entry) = topic.poll_ref(sub)? {
        batch.push((*entry.id, entry.payload.0.bytes().clone()));
    }
    Ok(batch)
}

pub(super) fn serve_events(demo: &Arc<Demo>, mut stream: TcpStream, head: &Head) -> io::Result<()> {
    // The side-by-side's stream (`?race=1`) is counted, not recorded.
    let race = head.param("race") == Some("1");
    let count = |bytes: usize| {
        if race {
            race::bytes(demo, Way::Sse, 0, bytes);
        }
    };
    if race {
        race::request(demo, Way::Sse, head.len);
    }
    // The crate reads Last-Event-ID (WHATWG HTML §9.2.4) from the head.
    let request = match sse::parse_request(&head.raw, &sse::RequestLimits::default()) {
        Ok(Some(request)) => request,
        Ok(None) => return respond(&mut stream, "400 Bad Request", "text/plain", b""),
        Err(e) => {
            let status = match e.status() {
                431 => "431 Request Header Fields Too Large",
                _ => "400 Bad Request",
            };
            return respond(&mut stream, status, "text/plain", e.to_string().as_bytes());
        }
    };
    let last_event_id = request.last_event_id.map(|id| id.as_str().to_owned());

    let mut out = BytesMut::new();
    sse::encode_response_head(&mut out);
    sse::encode_retry(demo.opts.retry_ms, &mut out);
    let mut record = SseRecord {
        last_event_id: last_event_id.clone(),
        ..SseRecord::default()
    };
    let (sub, drops) = {
        let mut feed = lock(&demo.feed);
        let feed = &mut *feed;
        let sub = match feed.topic.subscribe_last_event_id(last_event_id.as_deref()) {
            Ok(sub) => {
                if let Some(id) = &last_event_id {
                    let missed = take(&mut feed.topic, sub).unwrap_or_default();
                    let ids: Vec<String> = missed.iter().map(|(seq, _)| seq.to_string()).collect();
                    // A note for the page, without an id: the browser's
                    // last event id stays as it is.
                    let note = format!(
                        r#"{{"lastEventId":{},"replayed":[{}]}}"#,
                        json_str(id),
                        ids.iter()
                            .map(|i| json_str(i))
                            .collect::<Vec<_>>()
                            .join(",")
                    );
                    let _ = EventRef::new(&note).event_type("resume").encode(&mut out);
                    for (_, bytes) in &missed {
                        out.extend_from_slice(bytes);
                    }
                    demo.log(format_args!("sse: resume after {id}: replaying {ids:?}"));
                    record.replayed = Some(ids);
                }
                Ok(sub)
            }
            Err(e @ SubscribeError::Full { .. }) => Err(e),
            // Too old, from before a restart, or not an id: the events
            // after it cannot all be replayed.
            Err(_) => {
                let id = last_event_id.as_deref().unwrap_or_default();
                let text = format!("id {id} is no longer in the history: full resync");
                let _ = EventRef::new(&text).event_type("resync").encode(&mut out);
                feed.topic.subscribe(None)
            }
        };
        (sub, feed.drops)
    };
    let sub = match sub {
        Ok(sub) => Subscription { demo, sub },
        Err(e) => {
            let text = e.to_string();
            return respond(
                &mut stream,
                "503 Service Unavailable",
                "text/plain",
                text.as_bytes(),
            );
        }
    };
    let slot = if race {
        usize::MAX
    } else {
        let mut records = lock(&demo.records);
        records.sse.push(record);
        records.sse.len() - 1
    };
    demo.log(format_args!("sse: open, Last-Event-ID {last_event_id:?}"));
    stream.write_all(&out)?;
    count(out.len());

    let mut heartbeat = Heartbeat::with_interval(Instant::now(), demo.opts.heartbeat);
    let mut last_sent = None;
    loop {
        // New events since the stream's cursor: the same bytes for every stream.
        let (batch, dropped) = {
            let feed = lock(&demo.feed);
            let wait = heartbeat.poll_timeout().map_or(Duration::ZERO, |at| {
                at.saturating_duration_since(Instant::now())
            });
            let (mut feed, _) = demo
                .feed_changed
                .wait_timeout_while(feed, wait, |f| {
                    f.topic.pending(sub.sub) == Some(0) && f.drops == drops
                })
                .unwrap_or_else(PoisonError::into_inner);
            (take(&mut feed.topic, sub.sub), feed.drops != drops)
        };
        // Fell behind the log: end the stream, the browser resumes (or,
        // if its id is gone by then, gets a resync).
        let Ok(batch) = batch else { break };
        let now = Instant::now();
        for (_, bytes) in &batch {
            stream.write_all(bytes)?;
            count(bytes.len());
        }
        if let Some(&(last, _)) = batch.last() {
            heartbeat.handle_output(now);
            last_sent = Some(last);
            if let Some(r) = lock(&demo.records).sse.get_mut(slot) {
                r.sent += batch.len();
            }
        }
        if dropped {
            demo.log(format_args!(
                "sse: dropping the stream after id {last_sent:?}"
            ));
            break;
        }
        heartbeat.handle_timeout(Instant::now());
        if let Some(comment) = heartbeat.poll_transmit() {
            stream.write_all(&comment)?;
            count(comment.len());
            if let Some(r) = lock(&demo.records).sse.get_mut(slot) {
                r.heartbeats += 1;
            }
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}
