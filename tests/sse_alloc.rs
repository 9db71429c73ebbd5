//! The decoder's hot path does not allocate per event for single-line data
//! (the "no allocation per line"): counted with a global allocator.
#![cfg(feature = "sse")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use pushcodec::sse::{Decoder, Item, LentItem, Limits};

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

/// The count is global: tests that read it run one at a time.
static COUNTING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// An LLM-style token stream: an id and one JSON data line per event, 1000 events.
fn token_stream() -> Vec<u8> {
    let mut stream = Vec::new();
    for i in 0..1000 {
        stream.extend_from_slice(
            format!("id: {i}\ndata: {{\"token\":\"t{i}\",\"index\":{i}}}\n\n").as_bytes(),
        );
    }
    stream
}

#[test]
fn steady_state_decoding_allocates_less_than_once_per_event() {
    let _alone = COUNTING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let stream = token_stream();
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

#[test]
fn lent_events_allocate_nothing_per_event() {
    let _alone = COUNTING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // The same token stream, lent: an event's data and id are ranges of the
    // chunk, so a chunk costs at most the copy of the id still in effect
    // when it ends, however many events it holds.
    let stream = token_stream();
    for chunk_len in [stream.len(), 1500] {
        let mut dec = Decoder::new(Limits::default());
        let mut events = 0usize;
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        let chunks = stream.chunks(chunk_len);
        let chunk_count = chunks.len();
        for chunk in chunks {
            let mut feed = dec.feed_lent(chunk);
            while let Some(item) = feed.next_item() {
                if let Ok(LentItem::Event(ev)) = item {
                    assert!(ev.data_bytes().starts_with(b"{\"token\""));
                    events += 1;
                }
            }
        }
        let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
        assert_eq!(events, 1000);
        eprintln!("{allocations} allocations for 1000 lent events in {chunk_count} chunks");
        // Per chunk: the id's copy, and the data and carry of the event
        // the chunk ends inside.
        assert!(
            allocations <= 3 * chunk_count,
            "{allocations} allocations for {chunk_count} chunks"
        );
    }
}
