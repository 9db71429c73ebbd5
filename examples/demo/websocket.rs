//! The demo's WebSocket endpoint: the crate's handshake and `Connection`
//! on a `TcpStream`, one thread per connection plus a reader thread. The
//! chat between tabs is a crate `Topic`: each message framed once, queued
//! on every tab, and replayed to a tab that reconnects with `?after=<id>`.
//! `?feed=1` is the side-by-side's WebSocket instead: the feed's events
//! (framed once, in the feed's topic) and nothing else, its bytes counted.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use pushcodec::topic::{Payload, PollError, Seq, SubscriberId, Topic, TopicLimits};
use pushcodec::ws::{self, CloseCode, Connection, Event, PreparedMessage, handshake};

use super::race::{self, Way};
use super::{Demo, Head, WsRecord, json_str, lock};

/// Messages to a WebSocket connection's thread.
pub(super) enum WsInput {
    Read(Vec<u8>),
    Eof,
    /// The chat or the feed has something new.
    Wake,
}

/// An open WebSocket, to wake when its topic has something new.
pub(super) struct Peer {
    id: u64,
    tx: mpsc::Sender<WsInput>,
    /// A tab (in the chat), not the side-by-side's feed socket.
    tab: bool,
}

impl Peer {
    pub(super) fn wake(&self) {
        let _ = self.tx.send(WsInput::Wake);
    }
}

/// What a connection reads from: the chat (a tab) or the feed (the
/// side-by-side's socket, whose bytes are counted).
#[derive(Clone, Copy)]
enum Reads {
    Chat(SubscriberId),
    Feed(SubscriberId),
    /// Dropped for lagging, or refused a subscription.
    Nothing,
}

/// The chat's log: the last 256 messages, at most 1 MiB of frames; a tab
/// 256 messages behind is closed with 1013 and resumes from the log.
pub(super) fn chat_topic() -> Topic<Seq, PreparedMessage> {
    let mut limits = TopicLimits::default();
    limits.max_entries = 256;
    Topic::new(limits)
}

/// Publishes `message(id)` to every tab (framed once by the crate) and
/// wakes their threads; the id lets a tab resume after it.
fn publish(demo: &Demo, message: impl FnOnce(Seq) -> String) {
    {
        let mut chat = lock(&demo.chat);
        let text = message(chat.next_seq());
        if let Err(e) = chat.publish(PreparedMessage::text(text)) {
            demo.log(format_args!("chat: not published: {e}"));
            return;
        }
    }
    for peer in lock(&demo.ws_peers).iter() {
        peer.wake();
    }
}

/// A presence line; the tab it is about skips it (it is in the log, so a
/// resuming tab replays its own "joined").
fn presence(demo: &Demo, id: u64, what: &str) {
    let online = tabs(demo);
    publish(demo, |seq| {
        format!(
            r#"{{"type":"presence","id":{seq},"tab":{id},"text":"tab #{id} {what}, {online} online"}}"#
        )
    });
}

/// Subscribes a tab to the chat: after the id it sent (`?after=`), or live.
/// An id the log no longer holds is a resync: the tab is told, then live.
fn subscribe(demo: &Demo, after: Option<&str>) -> (Option<SubscriberId>, bool) {
    let mut chat = lock(&demo.chat);
    match chat.subscribe_last_event_id(after) {
        Ok(sub) => (Some(sub), false),
        Err(_) => (chat.subscribe(None).ok(), true),
    }
}

fn tabs(demo: &Demo) -> usize {
    lock(&demo.ws_peers).iter().filter(|p| p.tab).count()
}

/// Queues what the subscriber has not had yet (the message `pick` takes
/// from each entry); the lag verdict if it fell behind.
fn take<P: Payload>(
    topic: &mut Topic<Seq, P>,
    sub: SubscriberId,
    conn: &mut Connection,
    pick: fn(&P) -> &PreparedMessage,
) -> Result<(), PollError> {
    while let Some(entry) = topic.poll_ref(sub)? {
        // The same frame bytes on every connection; the lock is held only
        // while queueing them.
        let _ = conn.send_prepared(pick(entry.payload));
    }
    Ok(())
}

pub(super) fn serve_ws(demo: &Arc<Demo>, mut stream: TcpStream, head: &Head) -> io::Result<()> {
    let raw = &head.raw[..];
    let feed = head.param("feed") == Some("1");
    // The crate checks the handshake (RFC 6455 §4.2.1) and writes the answer.
    let mut out = Vec::new();
    let (request, used) = match handshake::parse_request(raw, &handshake::Limits::default()) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return Ok(()),
        Err(e) => {
            e.encode_response(&mut out);
            return stream.write_all(&out);
        }
    };
    #[cfg_attr(
        not(feature = "deflate"),
        expect(unused_mut, reason = "set with deflate")
    )]
    let mut accept = request.accept();
    // With the `deflate` feature, accept the browser's permessage-deflate
    // offer (RFC 7692): the crate negotiates, we pass its answer on.
    #[cfg(feature = "deflate")]
    let deflate_config = ws::deflate::DeflateConfig::default();
    #[cfg(feature = "deflate")]
    let deflate = ws::deflate::negotiate_server(request.extensions(), &deflate_config);
    #[cfg(feature = "deflate")]
    if let Some((_, answer)) = &deflate {
        accept = accept.extension(answer);
    }
    if let Err(e) = accept.encode(&mut out) {
        // An answer this server cannot send is its own mistake: 500.
        out.clear();
        handshake::encode_reject(500, &e.to_string(), &[], &mut out).map_err(io::Error::other)?;
        return stream.write_all(&out);
    }
    stream.write_all(&out)?;
    if feed {
        race::request(demo, Way::WebSocket, head.len);
        race::bytes(demo, Way::WebSocket, raw.len() - head.len, out.len());
    }

    let mut config = ws::Config::default();
    config.max_message_size = 4 << 20;
    config.max_frame_size = 4 << 20;
    let mut conn = Connection::server(config);
    #[cfg(feature = "deflate")]
    if let Some((params, _)) = &deflate {
        conn = conn.with_deflate(params, &deflate_config);
    }
    // Starts the crate's timers (keepalive, pong and close deadlines).
    conn.handle_timeout(Instant::now());
    conn.handle_read(&raw[used..]);

    let id = demo.next_peer.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel();
    let mut reader = stream.try_clone()?;
    let reader_tx = tx.clone();
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = reader_tx.send(WsInput::Eof);
                    break;
                }
                Ok(n) => {
                    if reader_tx.send(WsInput::Read(buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    lock(&demo.ws_peers).push(Peer { id, tx, tab: !feed });
    let slot = {
        let mut records = lock(&demo.records);
        records.ws.push(WsRecord::default());
        records.ws.len() - 1
    };
    let reads = if feed {
        demo.log(format_args!("ws #{id}: open (the side-by-side's feed)"));
        lock(&demo.feed)
            .topic
            .subscribe(None)
            .map_or(Reads::Nothing, Reads::Feed)
    } else {
        let online = tabs(demo);
        demo.log(format_args!("ws #{id}: open ({online} online)"));
        let _ = conn.send_text(format!(
            r#"{{"type":"hello","you":"tab #{id}","tab":{id},"online":{online}}}"#
        ));
        let (sub, resync) = subscribe(demo, head.param("after"));
        if resync {
            let _ = conn.send_text(r#"{"type":"resync"}"#.to_owned());
        }
        presence(demo, id, "joined");
        sub.map_or(Reads::Nothing, Reads::Chat)
    };

    let result = drive_ws(demo, id, slot, &mut conn, &mut stream, &rx, reads);
    lock(&demo.ws_peers).retain(|peer| peer.id != id);
    match reads {
        Reads::Chat(sub) => {
            lock(&demo.chat).unsubscribe(sub);
            presence(demo, id, "left");
        }
        Reads::Feed(sub) => {
            lock(&demo.feed).topic.unsubscribe(sub);
        }
        Reads::Nothing => {}
    }
    let _ = stream.shutdown(Shutdown::Both);
    demo.log(format_args!("ws #{id}: closed"));
    result
}

/// The crate docs' drive loop (`pushcodec`, "The drive loop"), whose wait
/// also ends at the demo's next RTT ping.
fn drive_ws(
    demo: &Demo,
    id: u64,
    slot: usize,
    conn: &mut Connection,
    stream: &mut TcpStream,
    rx: &mpsc::Receiver<WsInput>,
    mut reads: Reads,
) -> io::Result<()> {
    let counted = matches!(reads, Reads::Feed(_));
    let record = |f: &mut dyn FnMut(&mut WsRecord)| {
        if let Some(r) = lock(&demo.records).ws.get_mut(slot) {
            f(r);
        }
    };
    let mut next_ping = Instant::now() + demo.opts.ping_every;
    let mut ping_seq: u64 = 0;
    let mut pings: Vec<(u64, Instant)> = Vec::new();
    loop {
        loop {
            let event = match conn.poll_event() {
                Ok(Some(event)) => event,
                Ok(None) => break,
                Err(e) => {
                    // The Close with the right code is already queued.
                    demo.log(format_args!("ws #{id}: protocol error: {e}"));
                    record(&mut |r| r.error = Some(e.to_string()));
                    break;
                }
            };
            match event {
                Event::Text(text) => {
                    record(&mut |r| r.text_lens.push(text.len()));
                    if let Some(said) = text.strip_prefix("chat:") {
                        let said = json_str(said);
                        publish(demo, |seq| {
                            format!(
                                r#"{{"type":"chat","id":{seq},"from":"tab #{id}","text":{said}}}"#
                            )
                        });
                    } else if &*text == "close-me" {
                        if conn
                            .send_close(CloseCode::NORMAL, "server says bye")
                            .is_ok()
                        {
                            record(&mut |r| r.close_sent = Some(1000));
                        }
                    } else {
                        let _ = conn.send_text(text); // echo, without a copy
                    }
                }
                Event::Binary(data) => {
                    record(&mut |r| r.binary_lens.push(data.len()));
                    let _ = conn.send_binary(data);
                }
                Event::Pong(payload) => {
                    let seq = <[u8; 8]>::try_from(&payload[..])
                        .ok()
                        .map(u64::from_be_bytes);
                    if let Some(pos) = pings.iter().position(|(s, _)| Some(*s) == seq) {
                        let rtt = pings.swap_remove(pos).1.elapsed();
                        record(&mut |r| r.rtts.push(rtt));
                        let ms = rtt.as_secs_f64() * 1000.0;
                        // The feed socket carries the feed alone.
                        if !counted {
                            let _ = conn.send_text(format!(r#"{{"type":"rtt","ms":{ms:.3}}}"#));
                        }
                    }
                }
                Event::Close(frame) => {
                    let code = frame.as_ref().map(|f| f.code.0);
                    demo.log(format_args!("ws #{id}: peer closed with {code:?}"));
                    record(&mut |r| r.close_received = Some(code));
                }
                _ => {}
            }
        }
        let taken = match reads {
            Reads::Chat(sub) => take(&mut lock(&demo.chat), sub, conn, |m| m),
            Reads::Feed(sub) => take(&mut lock(&demo.feed).topic, sub, conn, |(_, m)| m),
            Reads::Nothing => Ok(()),
        };
        if let Err(e) = taken {
            reads = Reads::Nothing;
            if let PollError::Lagged(lagged) = e {
                demo.log(format_args!("ws #{id}: {lagged}"));
                let _ = conn.send_close(lagged.close_code(), "lagged: resume with ?after=");
            }
        }
        while let Some(bytes) = conn.poll_transmit() {
            stream.write_all(&bytes)?;
            if counted {
                race::bytes(demo, Way::WebSocket, 0, bytes.len());
            }
        }
        if conn.should_close_transport() {
            return Ok(());
        }
        let wake = conn
            .poll_timeout()
            .map_or(next_ping, |at| at.min(next_ping));
        let input = rx.recv_timeout(wake.saturating_duration_since(Instant::now()));
        let now = Instant::now();
        match input {
            Ok(WsInput::Read(bytes)) => {
                if counted {
                    race::bytes(demo, Way::WebSocket, bytes.len(), 0);
                }
                conn.handle_read(&bytes);
            }
            Ok(WsInput::Eof) => conn.handle_eof(),
            Ok(WsInput::Wake) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
        // The crate's keepalive and deadlines (a peer that stops answering
        // comes out of poll_event as a timeout error).
        conn.handle_timeout(now);
        // The demo's own pings, numbered, to show round-trip times.
        if now >= next_ping {
            next_ping = now + demo.opts.ping_every;
            ping_seq += 1;
            if conn.send_ping(&ping_seq.to_be_bytes()).is_ok() {
                pings.push((ping_seq, now));
                pings.retain(|(_, at)| at.elapsed() < Duration::from_secs(60));
            }
        }
    }
}
