//! Drives a WebSocket connection and the SSE decoder with a fake clock and
//! the caller's randomness, in a library with no standard library at all.
#![no_std]

extern crate alloc;

use core::time::Duration;

use pushcodec::RandomSource;
use pushcodec::sse::{Decoder, Item, Limits};
use pushcodec::ws::{Config, Connection, Event};

/// A counter standing in for a hardware RNG (this crate only proves linkage).
struct Counter(u8);

impl RandomSource for Counter {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
    }
}

/// Echoes one masked "Hello" through a server and counts a client's bytes and
/// an SSE stream's events; returns what came out, so nothing is optimised away.
#[unsafe(no_mangle)]
pub extern "C" fn pushcodec_no_std_check(ticks_ms: u64) -> usize {
    let now = Duration::from_millis(ticks_ms);
    let mut server = Connection::server(Config::default());
    server.handle_timeout_at(now);
    server.handle_read(&[
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ]);
    let mut out = 0;
    while let Ok(Some(event)) = server.poll_event() {
        if let Event::Text(text) = event {
            let _ = server.send_text(text);
        }
    }
    while let Some(bytes) = server.poll_transmit() {
        out += bytes.len();
    }
    let mut client =
        Connection::client_with_random(Config::default(), alloc::boxed::Box::new(Counter(0)));
    let _ = client.send_text("hi");
    while let Some(bytes) = client.poll_transmit() {
        out += bytes.len();
    }
    let mut decoder = Decoder::new(Limits::default());
    for item in decoder.feed(b"data: one\n\ndata: two\n\n") {
        if let Ok(Item::Event(_)) = item {
            out += 1;
        }
    }
    out + server.poll_timeout_at().map_or(0, |d| d.as_secs() as usize)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

/// A bump allocator over a static arena: enough to link; a real device
/// brings its own allocator.
mod arena {
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;
    use core::sync::atomic::{AtomicUsize, Ordering};

    const SIZE: usize = 1 << 20;

    struct Arena {
        memory: UnsafeCell<[u8; SIZE]>,
        next: AtomicUsize,
    }

    // SAFETY: `next` hands out each byte range once (an atomic bump), so no
    // two allocations alias.
    unsafe impl Sync for Arena {}

    // SAFETY: returns a pointer inside the arena aligned to `layout`, or null
    // when full; memory is never reused, so `dealloc` has nothing to do.
    unsafe impl GlobalAlloc for Arena {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let base = self.memory.get().cast::<u8>() as usize;
            let mut start = 0;
            let claimed = self
                .next
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |next| {
                    start = (base + next).next_multiple_of(layout.align()) - base;
                    let end = start.checked_add(layout.size())?;
                    (end <= SIZE).then_some(end)
                });
            match claimed {
                Ok(_) => (base + start) as *mut u8,
                Err(_) => core::ptr::null_mut(),
            }
        }
        unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
    }

    #[global_allocator]
    static ALLOCATOR: Arena = Arena {
        memory: UnsafeCell::new([0; SIZE]),
        next: AtomicUsize::new(0),
    };
}
