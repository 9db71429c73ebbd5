//! The decoder's hot path does not allocate per event for single-line data
//! (the "no allocation per line"): counted with a global allocator.
#![cfg(feature = "sse")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use pushcodec::sse::{Decoder, Item, Limits};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_decoding_allocates_less_than_once_per_event() {
    // An LLM-style token stream: an id and one JSON data line per event.
    let mut stream = Vec::new();
    for i in 0..1000 {
        stream.extend_from_slice(
            format!("id: {i}\ndata: {{\"token\":\"t{i}\",\"index\":{i}}}\n\n").as_bytes(),
        );
    }
    let mut dec = Decoder::new(Limits::default());
    let mut events = 0usize;
    let mut run = |dec: &mut Decoder| {
        for chunk in stream.chunks(1500) {
            dec.feed(chunk);
            while let Some(item) = dec.next_item() {
                if let Ok(Item::Event(ev)) = item {
                    assert!(ev.data().starts_with("{\"token\""));
                    events += 1;
                }
            }
        }
    };
    run(&mut dec); // warm-up: buffers and queue reach their working size
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    run(&mut dec);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(events, 2000);
    // 1000 events, each with a data line and an id line: the buffers grow
    // in blocks and are reused once events are dropped.
    eprintln!("{allocations} allocations for 1000 events");
    assert!(
        allocations < 100,
        "{allocations} allocations for 1000 events"
    );
}
