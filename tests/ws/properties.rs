//! Property tests: what one role sends, the other receives unchanged,
//! however the bytes are split; hostile bytes never panic.
#![cfg(feature = "ws")]

#[allow(unused_imports)]
use crate::common::*;
use bytes::Bytes;
use proptest::prelude::*;
use pushcodec::ws::{
    Config, Connection, Event, FrameHeader, MAX_HEADER_LEN, MessageKind, OpCode, Role,
};

#[derive(Debug, Clone)]
enum Msg {
    Text(String, usize),
    Binary(Vec<u8>, usize),
    Ping(Vec<u8>),
}

fn msg() -> impl Strategy<Value = Msg> {
    prop_oneof![
        (".{0,300}", 1usize..64).prop_map(|(s, f)| Msg::Text(s, f)),
        (proptest::collection::vec(any::<u8>(), 0..2000), 1usize..600)
            .prop_map(|(b, f)| Msg::Binary(b, f)),
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Msg::Ping),
    ]
}

/// Sends the messages, each split into fragments of `frag` bytes.
fn send_all(sender: &mut Connection, msgs: &[Msg]) -> Vec<u8> {
    for m in msgs {
        match m {
            Msg::Text(s, frag) => {
                let bytes = Bytes::copy_from_slice(s.as_bytes());
                send_fragmented(sender, MessageKind::Text, &bytes, *frag);
            }
            Msg::Binary(b, frag) => {
                send_fragmented(
                    sender,
                    MessageKind::Binary,
                    &Bytes::copy_from_slice(b),
                    *frag,
                );
            }
            Msg::Ping(p) => sender.send_ping(p).unwrap(),
        }
    }
    let mut wire = Vec::new();
    while let Some(b) = sender.poll_transmit() {
        wire.extend_from_slice(&b);
    }
    wire
}

fn send_fragmented(sender: &mut Connection, kind: MessageKind, data: &Bytes, frag: usize) {
    if data.is_empty() {
        sender.send_fragment(kind, Bytes::new(), true).unwrap();
        return;
    }
    let mut at = 0;
    while at < data.len() {
        let end = (at + frag).min(data.len());
        sender
            .send_fragment(kind, data.slice(at..end), end == data.len())
            .unwrap();
        at = end;
    }
}

fn expected(msgs: &[Msg]) -> Vec<Event> {
    msgs.iter()
        .map(|m| match m {
            Msg::Text(s, _) => Event::Text(s.clone().into()),
            Msg::Binary(b, _) => Event::Binary(b.clone().into()),
            Msg::Ping(p) => Event::Ping(p.clone().into()),
        })
        .collect()
}

fn receive(receiver: &mut Connection, wire: &[u8], cuts: &[usize]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    points.sort_unstable();
    let mut start = 0;
    for end in points.into_iter().chain([wire.len()]) {
        receiver.handle_read(&wire[start..end]);
        start = end;
        while let Some(e) = receiver.poll_event().expect("no protocol error") {
            events.push(e);
        }
    }
    events
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn what_a_client_sends_a_server_receives_under_any_chunking(
        msgs in proptest::collection::vec(msg(), 0..8),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        let wire = send_all(&mut Connection::client(Config::default()), &msgs);
        let mut server = Connection::server(Config::default());
        prop_assert_eq!(receive(&mut server, &wire, &cuts), expected(&msgs));
    }

    #[test]
    fn what_a_server_sends_a_client_receives_under_any_chunking(
        msgs in proptest::collection::vec(msg(), 0..8),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        let wire = send_all(&mut Connection::server(Config::default()), &msgs);
        let mut client = Connection::client(Config::default());
        prop_assert_eq!(receive(&mut client, &wire, &cuts), expected(&msgs));
    }

    #[test]
    fn frame_headers_round_trip(
        fin: bool,
        rsv in 0u8..8,
        op in prop::sample::select(vec![OpCode::Continuation, OpCode::Text, OpCode::Binary, OpCode::Close, OpCode::Ping, OpCode::Pong]),
        mask: Option<[u8; 4]>,
        len in prop_oneof![0u64..200, 0u64..70_000, 0u64..(1 << 63)],
    ) {
        let header = FrameHeader { fin, rsv, opcode: op, mask, payload_len: len };
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut out);
        prop_assert_eq!(n, header.encoded_len());
        for cut in 0..n {
            prop_assert_eq!(FrameHeader::parse(&out[..cut]).unwrap(), None);
        }
        prop_assert_eq!(FrameHeader::parse(&out[..n]).unwrap(), Some((header, n)));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_end_in_at_most_one_error(
        role in prop::sample::select(vec![Role::Server, Role::Client]),
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16),
    ) {
        let mut config = Config::default();
        config.max_frame_size = 1024;
        config.max_message_size = 4096;
        let mut conn = Connection::new(role, config);
        let mut errors = 0;
        for chunk in &chunks {
            conn.handle_read(chunk);
            loop {
                match conn.poll_event() {
                    Ok(Some(Event::Text(t))) => prop_assert!(std::str::from_utf8(t.as_bytes()).is_ok()),
                    Ok(Some(_)) => prop_assert_eq!(errors, 0, "nothing after an error"),
                    Ok(None) => break,
                    Err(_) => errors += 1,
                }
            }
            while conn.poll_transmit().is_some() {}
        }
        prop_assert!(errors <= 1);
    }
}

/// Everything a connection hands out for `chunks`, through `poll_event`
/// or through `poll_event_ref` (its lent events made owned to compare),
/// with what it queued to send.
fn drive(role: Role, config: &Config, chunks: &[Vec<u8>], lent: bool) -> (Vec<String>, Vec<u8>) {
    let mut conn = Connection::new(role, config.clone());
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for chunk in chunks {
        conn.read_buf().extend_from_slice(chunk);
        loop {
            let step = if lent {
                conn.poll_event_ref().map(|e| e.map(|e| format!("{e:?}")))
            } else {
                conn.poll_event()
                    .map(|e| e.map(|e| format!("{:?}", e.as_event_ref())))
            };
            match step {
                Ok(Some(event)) => seen.push(event),
                Ok(None) => break,
                Err(e) => seen.push(format!("error {e}")),
            }
        }
        while let Some(bytes) = conn.poll_transmit() {
            out.extend_from_slice(&bytes);
        }
    }
    (seen, out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// `poll_event_ref` lends what `poll_event` gives, in the same order,
    /// with the same errors at the same offsets and the same replies:
    /// valid traffic under any chunking, and hostile bytes.
    #[test]
    fn lent_events_are_the_owned_events(
        msgs in proptest::collection::vec(msg(), 0..8),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
        noise in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..6),
        stream in any::<bool>(),
    ) {
        let wire = send_all(&mut Connection::client(Config::default()), &msgs);
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for end in points.into_iter().chain([wire.len()]) {
            chunks.push(wire[start..end].to_vec());
            start = end;
        }
        chunks.extend(noise);
        let mut config = Config::default();
        config.max_frame_size = 1024;
        config.max_message_size = 2048;
        config.stream_messages = stream;
        prop_assert_eq!(
            drive(Role::Server, &config, &chunks, true),
            drive(Role::Server, &config, &chunks, false)
        );
    }
}
