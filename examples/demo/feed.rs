//! The demo's SSE feed: events encoded once into the crate's `History`,
//! streams that resume from `Last-Event-ID`, heartbeats from the crate's
//! `Heartbeat` timer.

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use pushcodec::bytes::{Bytes, BytesMut};
use pushcodec::sse::{self, EventRef, Heartbeat, History, Replay};

use super::{Demo, Head, SseRecord, json_str, lock, respond};

/// The live feed: every event is encoded once into the crate's [`History`],
/// and every stream (first connection, resume, live) is served from it.
pub(super) struct Feed {
    history: History,
    /// Events produced so far; the newest event's id is `produced`.
    produced: u64,
    /// Bumped to make every open stream end (the "drop" button).
    drops: u64,
}

impl Feed {
    pub(super) fn new() -> Self {
        Feed {
            history: History::new(512, 256 * 1024),
            produced: 0,
            drops: 0,
        }
    }
}

const HEADLINES: &[&str] = &[
    "pushcodec encodes each event once\nand every client gets the same bytes",
    "EventSource resumes with Last-Event-ID",
    "the history ring is bounded by count and by bytes",
    "heartbeat comments keep idle streams alive\n(EventSource never shows them)",
];

/// The feed thread: an event per tick, with a pause now and then (so
/// heartbeats show), and a drop now and then.
pub(super) fn run_feed(demo: &Demo) {
    let started = Instant::now();
    let mut last_drop = Instant::now();
    loop {
        {
            let mut feed = lock(&demo.feed);
            feed.produced += 1;
            let n = feed.produced;
            let id = n.to_string();
            let (event_type, data) = if n.is_multiple_of(4) {
                let i = usize::try_from(n / 4).unwrap_or(0) % HEADLINES.len();
                ("news", HEADLINES[i].to_owned())
            } else {
                let t = started.elapsed().as_secs_f64();
                ("tick", format!("tick {n} at +{t:.1} s"))
            };
            // The crate encodes (data lines, id and type fields) and stores it.
            let event = EventRef::new(&data).event_type(event_type).id(&id);
            if let Err(e) = feed.history.push_event(&event) {
                demo.log(format_args!("feed: cannot encode event {id}: {e}"));
            }
            if let Some(every) = demo.opts.drop_every
                && last_drop.elapsed() >= every
            {
                last_drop = Instant::now();
                feed.drops += 1;
            }
        }
        demo.feed_changed.notify_all();
        let n = lock(&demo.feed).produced;
        let pause = if n.is_multiple_of(6) { 3 } else { 1 };
        thread::sleep(demo.opts.tick * pause);
    }
}

pub(super) fn drop_streams(demo: &Demo) {
    lock(&demo.feed).drops += 1;
    demo.feed_changed.notify_all();
}

/// The ids in encoded events, read back with the crate's decoder (for the
/// record and the page's "resume" note).
fn ids_of<'a>(events: impl IntoIterator<Item = &'a Bytes>) -> Vec<String> {
    let mut decoder = sse::Decoder::new(sse::Limits::default());
    let mut ids = Vec::new();
    for bytes in events {
        decoder.feed(bytes);
        while let Some(item) = decoder.next_item() {
            if let Ok(sse::Item::Event(event)) = item {
                ids.push(event.id().to_owned());
            }
        }
    }
    ids
}

pub(super) fn serve_events(demo: &Arc<Demo>, mut stream: TcpStream, head: &Head) -> io::Result<()> {
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
    let (mut cursor, drops) = {
        let feed = lock(&demo.feed);
        let newest = feed.produced;
        match &last_event_id {
            None => {}
            Some(id) => match feed.history.replay_after(id) {
                Replay::Events(missed) => {
                    let missed: Vec<Bytes> = missed.cloned().collect();
                    let ids = ids_of(&missed);
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
                    for bytes in &missed {
                        out.extend_from_slice(bytes);
                    }
                    demo.log(format_args!("sse: resume after {id}: replaying {ids:?}"));
                    record.replayed = Some(ids);
                }
                // Replay::Unknown: never seen, or evicted from the history.
                _ => {
                    let text = format!("id {id} is no longer in the history: full resync");
                    let _ = EventRef::new(&text).event_type("resync").encode(&mut out);
                }
            },
        }
        (newest, feed.drops)
    };
    let slot = {
        let mut records = lock(&demo.records);
        records.sse.push(record);
        records.sse.len() - 1
    };
    demo.log(format_args!("sse: open, Last-Event-ID {last_event_id:?}"));
    stream.write_all(&out)?;

    let mut heartbeat = Heartbeat::with_interval(Instant::now(), demo.opts.heartbeat);
    loop {
        // New events since the cursor, from the same history, the same bytes.
        let (batch, dropped) = {
            let feed = lock(&demo.feed);
            let wait = heartbeat.poll_timeout().map_or(Duration::ZERO, |at| {
                at.saturating_duration_since(Instant::now())
            });
            let (feed, _) = demo
                .feed_changed
                .wait_timeout_while(feed, wait, |f| f.produced == cursor && f.drops == drops)
                .unwrap_or_else(PoisonError::into_inner);
            let batch = match feed.history.replay_after(&cursor.to_string()) {
                Replay::Events(new) => Some(new.cloned().collect::<Vec<_>>()),
                // Fell out of the history (Replay::Unknown): end the
                // stream, the browser reconnects and gets a resync.
                _ => None,
            };
            cursor = feed.produced;
            (batch, feed.drops != drops)
        };
        let Some(batch) = batch else { break };
        let now = Instant::now();
        for bytes in &batch {
            stream.write_all(bytes)?;
        }
        if !batch.is_empty() {
            heartbeat.handle_output(now);
            if let Some(r) = lock(&demo.records).sse.get_mut(slot) {
                r.sent += batch.len();
            }
        }
        if dropped {
            demo.log(format_args!("sse: dropping the stream after id {cursor}"));
            break;
        }
        heartbeat.handle_timeout(Instant::now());
        if let Some(comment) = heartbeat.poll_transmit() {
            stream.write_all(&comment)?;
            if let Some(r) = lock(&demo.records).sse.get_mut(slot) {
                r.heartbeats += 1;
            }
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}
