//! The demo's WebSocket endpoint: the crate's handshake and `Connection`
//! on a `TcpStream`, one thread per connection plus a reader thread.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use pushcodec::ws::{self, CloseCode, Connection, Event, PreparedMessage, handshake};

use super::{Demo, WsRecord, json_str, lock};

/// Messages to a WebSocket connection's thread.
pub(super) enum WsInput {
    Read(Vec<u8>),
    Eof,
    Chat(PreparedMessage),
}

/// Sends `text` to every open tab but `except`: framed once by the crate,
/// and the same bytes queued on each connection.
fn broadcast(demo: &Demo, text: &str, except: Option<u64>) {
    let message = PreparedMessage::text(text.to_owned());
    for (id, peer) in lock(&demo.ws_peers).iter() {
        if Some(*id) != except {
            let _ = peer.send(WsInput::Chat(message.clone()));
        }
    }
}

fn presence(demo: &Demo, id: u64, what: &str) {
    let online = lock(&demo.ws_peers).len();
    let msg = format!(r#"{{"type":"presence","text":"tab #{id} {what}, {online} online"}}"#);
    broadcast(demo, &msg, Some(id));
}

pub(super) fn serve_ws(demo: &Arc<Demo>, mut stream: TcpStream, raw: &[u8]) -> io::Result<()> {
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
    let online = {
        let mut peers = lock(&demo.ws_peers);
        peers.push((id, tx));
        peers.len()
    };
    let slot = {
        let mut records = lock(&demo.records);
        records.ws.push(WsRecord::default());
        records.ws.len() - 1
    };
    demo.log(format_args!("ws #{id}: open ({online} online)"));
    presence(demo, id, "joined");
    let _ = conn.send_text(format!(
        r#"{{"type":"hello","you":"tab #{id}","online":{online}}}"#
    ));

    let result = drive_ws(demo, id, slot, &mut conn, &mut stream, &rx);
    lock(&demo.ws_peers).retain(|(peer, _)| *peer != id);
    presence(demo, id, "left");
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
) -> io::Result<()> {
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
                    if let Some(chat) = text.strip_prefix("chat:") {
                        let msg = format!(
                            r#"{{"type":"chat","from":"tab #{id}","text":{}}}"#,
                            json_str(chat)
                        );
                        broadcast(demo, &msg, None);
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
                        let _ = conn.send_text(format!(r#"{{"type":"rtt","ms":{ms:.3}}}"#));
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
        while let Some(bytes) = conn.poll_transmit() {
            stream.write_all(&bytes)?;
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
            Ok(WsInput::Read(bytes)) => conn.handle_read(&bytes),
            Ok(WsInput::Eof) => conn.handle_eof(),
            Ok(WsInput::Chat(message)) => {
                let _ = conn.send_prepared(&message);
            }
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
