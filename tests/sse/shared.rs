//! `Decoder::feed_bytes` (shared chunks) against `Decoder::feed` (copied
//! slices): the same items for every input and chunking (WHATWG HTML
//! §9.2.5–§9.2.6), and values that share the chunk's memory exactly when
//! their line lies wholly inside it.

use bytes::Bytes;
use proptest::prelude::*;
use pushcodec::sse::{Decoder, Item, LimitError as Error, Limits};

type Outcome = (Vec<Result<Item, Error>>, String, bool);

fn run(limits: Limits, comments: bool, chunks: &[&[u8]], shared: bool) -> Outcome {
    let mut dec = Decoder::new(limits).with_comments(comments);
    let mut out = Vec::new();
    for chunk in chunks {
        if shared {
            out.extend(dec.feed_bytes(&Bytes::copy_from_slice(chunk)));
        } else {
            out.extend(dec.feed(chunk));
        }
        assert!(dec.buffered_len() <= limits.max_buffered());
    }
    let last = dec.last_event_id().to_string();
    let dropped = dec.finish();
    (out, last, dropped)
}

/// Whole, byte by byte and at every two-way split: `feed_bytes` gives what
/// `feed` gives on the whole input.
fn check_all_splits(limits: Limits, comments: bool, input: &[u8]) {
    let expected = run(limits, comments, &[input], false);
    assert_eq!(
        run(limits, comments, &[input], true),
        expected,
        "whole {input:?}"
    );
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(
        run(limits, comments, &bytes, true),
        expected,
        "byte by byte {input:?}"
    );
    for cut in 0..=input.len() {
        let (a, b) = input.split_at(cut);
        assert_eq!(
            run(limits, comments, &[a, b], true),
            expected,
            "split at {cut} {input:?}"
        );
    }
}

const CASES: &[&[u8]] = &[
    // §9.2.6 examples and rules: single and multi-line data, id carry-over,
    // event types, retry, comments, colon-less lines, leading space.
    b"data: hello\n\n",
    b"id: 1\nevent: delta\ndata: a\n\nid: 2\ndata: b\n\n",
    b"data: a\ndata: b\ndata\n\n",
    b"data\ndata: x\n\n",
    b": comment\nretry: 3000\nretry: x\ndata:no space\n\n",
    b"event: a\nevent: a\ndata:  two spaces\r\n\r\nevent:\rdata\r\r",
    b"id: 5\n\ndata: keeps id 5\n\nid\ndata: reset\n\n",
    b"id: a\0b\ndata: nul id ignored\n\n",
    b"\xEF\xBB\xBFdata: bom\n\n",
    b"data: \xFF\xFE invalid\nid: \xC3\n\n",
    "data: é→🙂\nevent: ü\n\n".as_bytes(),
    b"unknown: field\ndata: x\nDATA: y\n\n",
    b"data: unterminated event\n",
    b"data: a\n\ndata: b",
];

#[test]
fn feed_bytes_matches_feed_on_spec_cases() {
    for comments in [false, true] {
        for input in CASES {
            check_all_splits(Limits::default(), comments, input);
        }
    }
}

#[test]
fn feed_bytes_matches_feed_under_tight_limits() {
    // §9.2.6 has no limits; ours drop the event and resynchronise at the
    // next blank line, identically for both ways of feeding.
    for (line, data) in [(4, 100), (100, 3), (6, 6), (0, 0)] {
        let limits = {
            let mut limits = Limits::default();
            limits.max_line_len = line;
            limits.max_event_data = data;
            limits
        };
        for input in CASES {
            check_all_splits(limits, true, input);
        }
    }
}

/// Whether `value` lies inside `chunk`'s memory.
fn within(chunk: &Bytes, value: &[u8]) -> bool {
    let range = chunk.as_ptr_range();
    !value.is_empty() && range.contains(&value.as_ptr())
}

fn events(dec: &mut Decoder, chunk: &Bytes) -> Vec<pushcodec::sse::Event> {
    dec.feed_bytes(chunk)
        .map(|item| match item {
            Ok(Item::Event(ev)) => ev,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn whole_line_values_share_the_chunk() {
    let chunk = Bytes::from_static(b"id: 42\nevent: delta\ndata: {\"t\":\"hi\"}\n\n");
    let mut dec = Decoder::new(Limits::default());
    let evs = events(&mut dec, &chunk);
    let [ev] = &evs[..] else { panic!("{evs:?}") };
    assert_eq!(
        (ev.event_type(), ev.data(), ev.id()),
        ("delta", "{\"t\":\"hi\"}", "42")
    );
    assert!(within(&chunk, ev.data_bytes()));
    assert!(within(&chunk, ev.id_text().as_bytes()));
    assert!(within(&chunk, ev.event_type_text().as_bytes()));
    // The decoder itself lets go of the chunk once it is used up between
    // events: the id it keeps is a copy.
    assert_eq!(dec.last_event_id(), "42");
    assert!(!within(&chunk, dec.last_event_id().as_bytes()));
}

#[test]
fn multi_line_data_and_split_lines_are_copied() {
    // §9.2.6: data lines are joined with LF, which needs a buffer of its own.
    let chunk = Bytes::from_static(b"data: a\ndata: b\n\n");
    let mut dec = Decoder::new(Limits::default());
    let evs = events(&mut dec, &chunk);
    assert_eq!(evs[0].data(), "a\nb");
    assert!(!within(&chunk, evs[0].data_bytes()));

    // A line that spans chunks is gathered in the decoder.
    let (a, b) = (
        Bytes::from_static(b"id: 7\ndata: hel"),
        Bytes::from_static(b"lo\n\n"),
    );
    let mut dec = Decoder::new(Limits::default());
    assert!(events(&mut dec, &a).is_empty());
    let evs = events(&mut dec, &b);
    assert_eq!((evs[0].data(), evs[0].id()), ("hello", "7"));
    assert!(!within(&a, evs[0].data_bytes()) && !within(&b, evs[0].data_bytes()));
    // The id line was whole in the first chunk.
    assert!(within(&a, evs[0].id_text().as_bytes()));
}

#[test]
fn invalid_utf8_in_a_whole_line_is_replaced_not_shared() {
    // Decoding replaces invalid bytes with U+FFFD (§9.2.5), so the value is
    // new text rather than the chunk's bytes.
    let chunk = Bytes::from_static(b"data: a\xFFb\n\n");
    let mut dec = Decoder::new(Limits::default());
    let evs = events(&mut dec, &chunk);
    assert_eq!(evs[0].data(), "a\u{FFFD}b");
    assert!(!within(&chunk, evs[0].data_bytes()));
}

fn structured_stream() -> impl Strategy<Value = Vec<u8>> {
    let name = prop::sample::select(vec![
        &b"data"[..],
        b"data",
        b"id",
        b"event",
        b"retry",
        b"",
        b"x",
    ]);
    let sep = prop::sample::select(vec![&b":"[..], b": ", b":  ", b""]);
    let token = prop::sample::select(vec![
        &b"a"[..],
        b"1",
        b" ",
        b"\0",
        b"\xFF",
        "é".as_bytes(),
        b":",
        b"\xEF\xBB\xBF",
    ]);
    let end = prop::sample::select(vec![&b"\n"[..], b"\r", b"\r\n"]);
    let line = (name, sep, prop::collection::vec(token, 0..4), end.clone())
        .prop_map(|(name, sep, value, end)| [name, sep, &value.concat(), end].concat());
    let piece = prop_oneof![3 => line, 1 => end.prop_map(<[u8]>::to_vec)];
    prop::collection::vec(piece, 0..20).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any chunking, with any limits: the same items as `feed` on the whole.
    #[test]
    fn feed_bytes_agrees_with_feed(
        input in structured_stream(),
        line in 0usize..16,
        data in 0usize..16,
        tight in any::<bool>(),
        comments in any::<bool>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let limits = if tight {
            { let mut limits = Limits::default(); limits.max_line_len = line; limits.max_event_data = data; limits }
        } else {
            Limits::default()
        };
        let expected = run(limits, comments, &[&input], false);
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
        at.sort_unstable();
        let mut chunks = Vec::new();
        let mut prev = 0;
        for c in at.into_iter().chain([input.len()]) {
            chunks.push(&input[prev..c]);
            prev = c;
        }
        prop_assert_eq!(run(limits, comments, &chunks, true), expected);
    }
}

#[test]
fn an_idle_decoder_lets_go_of_the_chunk() {
    // Idle release (on by default): once the chunk is used up between
    // events, only the events refer to it; the decoder's last event id
    // and type (§9.2.6 "last event ID buffer") are copies.
    let chunk = Bytes::from(b"id: 1\nevent: delta\ndata: x\n\n".to_vec());
    let mut dec = Decoder::new(Limits::default());
    let evs = events(&mut dec, &chunk);
    assert!(within(&chunk, evs[0].data_bytes()));
    assert!(!chunk.is_unique(), "the event shares the chunk");
    drop(evs);
    assert!(
        chunk.is_unique(),
        "the idle decoder still refers to the chunk"
    );
    assert_eq!(dec.last_event_id(), "1");

    // Mid-event (the chunk ends inside one), the decoder may keep it.
    let chunk = Bytes::from(b"id: 2\nevent: other\ndata: y\n".to_vec());
    assert!(events(&mut dec, &chunk).is_empty());
    assert!(!chunk.is_unique());
    let evs = events(&mut dec, &Bytes::from_static(b"\n"));
    assert_eq!(
        (evs[0].event_type(), evs[0].data(), evs[0].id()),
        ("other", "y", "2")
    );
    drop(evs);
    assert!(chunk.is_unique());
}
