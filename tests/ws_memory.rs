//! Memory of an idle connection, measured with a counting allocator: after
//! a big message has been delivered and dropped, the connection keeps no
//! large buffer.
#![cfg(feature = "ws")]

mod common;
mod counting;

#[allow(unused_imports)]
use common::*;
use counting::live;
use pushcodec::ws::{Config, Connection, Event};

#[test]
fn idle_connection_holds_no_heap_and_gives_back_big_buffers() {
    let before = live();
    let mut server = Connection::server(Config::default());
    assert_eq!(live() - before, 0, "a new connection allocates nothing");
    assert!(std::mem::size_of::<Connection>() <= 512);

    let big = client_frame(true, 0x2, &vec![1u8; 1 << 20]);
    let mut wire = Vec::new();
    for part in [
        &big[..],
        &client_frame(false, 0x1, b"par"),
        &client_frame(true, 0x0, b"ts"),
    ] {
        wire.extend_from_slice(part);
    }
    let baseline = live();
    for chunk in wire.chunks(64 * 1024) {
        server.handle_read(chunk);
        while let Some(event) = server.poll_event().unwrap() {
            if let Event::Binary(data) = &event {
                server.send_binary(data.clone()).unwrap();
            }
            drop(event);
        }
        while server.poll_transmit().is_some() {}
    }
    let idle = live() - baseline;
    assert!(idle <= 16 * 1024, "idle connection holds {idle} bytes");

    // Once a drained connection's time passes, it holds nothing at all:
    // the input buffer went back when drained, the output one goes now.
    server.handle_timeout(t0());
    let idle = live() - baseline;
    assert_eq!(idle, 0, "idle connection holds {idle} bytes");
}

#[test]
fn rfc6455_5_5_2_an_answered_ping_leaves_no_heap_behind() {
    let mut server = Connection::server(Config::default());
    let baseline = live();
    server
        .read_buf()
        .extend_from_slice(&client_frame(true, 0x9, b"are you there"));
    assert!(matches!(server.poll_event(), Ok(Some(Event::Ping(_)))));
    assert_eq!(server.poll_event(), Ok(None));
    let mut wire = Vec::new();
    while let Some(bytes) = server.poll_transmit() {
        wire.extend_from_slice(&bytes);
    }
    assert_eq!(&wire[..2], &[0x8A, 13]);
    drop(wire);
    server.handle_timeout(t0());
    assert_eq!(live() - baseline, 0);
}
