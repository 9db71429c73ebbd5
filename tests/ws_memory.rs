//! Memory of an idle connection, measured with a counting allocator: after
//! a big message has been delivered and dropped, the connection keeps no
//! large buffer.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use common::client_frame;
use pushcodec::ws::{Config, Connection, Event};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts bytes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn idle_connection_holds_no_heap_and_gives_back_big_buffers() {
    let before = LIVE.load(Ordering::SeqCst);
    let mut server = Connection::server(Config::default());
    assert_eq!(
        LIVE.load(Ordering::SeqCst) - before,
        0,
        "a new connection allocates nothing"
    );
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
    let baseline = LIVE.load(Ordering::SeqCst);
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
    let idle = LIVE.load(Ordering::SeqCst) - baseline;
    assert!(idle <= 16 * 1024, "idle connection holds {idle} bytes");
}
