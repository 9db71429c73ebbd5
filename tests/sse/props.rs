//! Property tests for the SSE decoder and encoder (WHATWG HTML §9.2.5–§9.2.6).

use proptest::prelude::*;
use pushcodec::sse::{
    Decoder, EncodeError, Event, EventRef, Item, Limits, Utf8Bytes, encode_comment, encode_event,
    encode_retry,
};

/// Pieces that exercise every rule: field names, colons, spaces, all line
/// ends, BOM, NUL, invalid and multi-byte UTF-8.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"data".to_vec()),
        Just(b"data:".to_vec()),
        Just(b"data: ".to_vec()),
        Just(b"id:".to_vec()),
        Just(b"event:".to_vec()),
        Just(b"retry:".to_vec()),
        Just(b":".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n\n".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\xEF".to_vec()),
        Just(b"\0".to_vec()),
        Just(b"\xFF".to_vec()),
        Just("é→".as_bytes().to_vec()),
        Just(b"12".to_vec()),
        Just(b"x".to_vec()),
        prop::collection::vec(any::<u8>(), 0..4),
    ]
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(piece(), 0..40).prop_map(|p| p.concat())
}

/// Streams shaped like real ones: field lines (known, unknown, comment,
/// colon-less) with awkward values, all line ends, and blank lines.
fn structured_stream() -> impl Strategy<Value = Vec<u8>> {
    let name = prop::sample::select(vec![
        &b"data"[..],
        b"data",
        b"id",
        b"event",
        b"retry",
        b"",
        b"Data",
        b"x",
        b"\xFF",
    ]);
    let sep = prop::sample::select(vec![&b":"[..], b": ", b":  ", b"", b":\t"]);
    let token = prop::sample::select(vec![
        &b"a"[..],
        b"1",
        b"0",
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
    (any::<bool>(), prop::collection::vec(piece, 0..30)).prop_map(|(bom, pieces)| {
        let mut out = if bom {
            b"\xEF\xBB\xBF".to_vec()
        } else {
            Vec::new()
        };
        out.extend(pieces.concat());
        out
    })
}

fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        Just(Limits::default()),
        (0usize..12, 0usize..12).prop_map(|(line, data)| {
            let mut limits = Limits::default();
            limits.max_line_len = line;
            limits.max_event_data = data;
            limits
        }),
    ]
}

type Outcome = (Items, String, bool);

type Items = Vec<Result<Item, pushcodec::sse::LimitError>>;

/// Feeds each chunk with `feed` (which may take items itself), checks the
/// memory bound, then takes what is queued; returns the items, the last
/// event id and whether `finish` dropped anything.
fn decode_with(
    limits: Limits,
    comments: bool,
    chunks: &[&[u8]],
    mut feed: impl FnMut(&mut Decoder, &[u8], &mut Items),
) -> Outcome {
    let bound = limits.max_buffered();
    let mut dec = Decoder::new(limits).with_comments(comments);
    let mut out = Vec::new();
    for chunk in chunks {
        feed(&mut dec, chunk, &mut out);
        assert!(
            dec.buffered_len() <= bound,
            "{} > {bound}",
            dec.buffered_len()
        );
        while let Some(item) = dec.next_item() {
            out.push(item);
        }
    }
    let last = dec.last_event_id().to_string();
    let dropped = dec.finish();
    (out, last, dropped)
}

fn decode_chunks(limits: Limits, comments: bool, chunks: &[&[u8]]) -> Outcome {
    decode_with(limits, comments, chunks, |dec, chunk, _| {
        dec.feed(chunk);
    })
}

/// The same, taking items lazily from each `feed` and dropping the
/// iterator after `take` items (the rest must be queued, not lost).
fn decode_lazily(limits: Limits, chunks: &[&[u8]], take: usize) -> Outcome {
    decode_with(limits, false, chunks, |dec, chunk, out| {
        out.extend(dec.feed(chunk).take(take));
    })
}

/// The same through `feed_lent`, copying each lent item and dropping the
/// feed after `take` items (the rest must be queued, not lost).
fn decode_lent(limits: Limits, comments: bool, chunks: &[&[u8]], take: usize) -> Outcome {
    decode_with(limits, comments, chunks, |dec, chunk, out| {
        let mut feed = dec.feed_lent(chunk);
        for _ in 0..take {
            match feed.next_item() {
                Some(item) => out.push(item.map(|item| item.to_item())),
                None => break,
            }
        }
    })
}

/// A direct, unoptimised transcription of WHATWG HTML §9.2.5–§9.2.6 over
/// the whole input: UTF-8 decode (with BOM strip and U+FFFD), split into
/// lines, interpret. The decoder must agree with it on every input.
fn reference(input: &[u8]) -> (Vec<Item>, String) {
    let decoded = String::from_utf8_lossy(input);
    let text = decoded.strip_prefix('\u{FEFF}').unwrap_or(&decoded);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut line));
            }
            '\n' => lines.push(std::mem::take(&mut line)),
            c => line.push(c),
        }
    }
    // A last line without its line end is incomplete: discarded.
    let (mut data, mut event_type, mut id_buffer, mut last_id) =
        (String::new(), String::new(), String::new(), String::new());
    let mut out = Vec::new();
    for line in lines {
        if line.is_empty() {
            last_id.clone_from(&id_buffer);
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            if data.ends_with('\n') {
                data.pop();
            }
            out.push(Item::Event(Event::new(
                Utf8Bytes::from(std::mem::take(&mut event_type)),
                Utf8Bytes::from(std::mem::take(&mut data)),
                Utf8Bytes::from(id_buffer.as_str()),
            )));
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.find(':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (line.as_str(), ""),
        };
        match field {
            "event" => event_type = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => id_buffer = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                let ms = value.bytes().fold(0u64, |a, d| {
                    a.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                });
                out.push(Item::Retry(ms));
            }
            _ => {}
        }
    }
    (out, last_id)
}

/// Splits `input` at the given (unsorted, possibly repeated) cut points.
fn split_at_cuts<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut prev = 0;
    for c in cuts {
        chunks.push(&input[prev..c]);
        prev = c;
    }
    chunks.push(&input[prev..]);
    chunks
}

/// What a receiver reads back from data: every CR, LF or CRLF as LF.
fn normalize_line_ends(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just('\r'),
            Just('\n'),
            Just('\0'),
            Just(' '),
            Just(':'),
            Just('\u{FEFF}'),
            prop::char::range('a', 'z'),
            any::<char>(),
        ],
        0..30,
    )
    .prop_map(|c| c.into_iter().collect())
}

/// A value allowed in `id` / `event`: no CR, LF or NUL.
fn field_text() -> impl Strategy<Value = String> {
    text().prop_map(|s| s.replace(['\r', '\n', '\0'], "_"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Feeding the same bytes split at any points gives the same output
    /// (§9.2.5: the stream is one sequence of lines, whatever the chunking).
    #[test]
    fn any_chunking_same_output(
        input in prop_oneof![structured_stream(), stream()],
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        limits in limits(),
        comments in any::<bool>(),
    ) {
        let whole = decode_chunks(limits, comments, &[&input]);
        let chunks = split_at_cuts(&input, &cuts);
        prop_assert_eq!(&decode_chunks(limits, comments, &chunks), &whole);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(&decode_chunks(limits, comments, &bytes), &whole);
    }

    /// Taking items as they are decoded, stopping early or not, gives the
    /// same items as queueing them.
    #[test]
    fn lazy_and_queued_feeding_agree(
        input in stream(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        limits in limits(),
        take in prop_oneof![Just(usize::MAX), 0usize..3],
    ) {
        let chunks = split_at_cuts(&input, &cuts);
        prop_assert_eq!(
            decode_lazily(limits, &chunks, take),
            decode_chunks(limits, false, &chunks)
        );
    }

    /// Lent items are the items `feed` hands over, whatever the chunking,
    /// the limits, and however many are taken before the feed is dropped.
    #[test]
    fn lent_and_handed_over_items_agree(
        input in prop_oneof![structured_stream(), stream()],
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        limits in limits(),
        comments in any::<bool>(),
        take in prop_oneof![Just(usize::MAX), 0usize..3],
    ) {
        let chunks = split_at_cuts(&input, &cuts);
        let fed = decode_chunks(limits, comments, &chunks);
        prop_assert_eq!(&decode_lent(limits, comments, &chunks, take), &fed);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(&decode_lent(limits, comments, &bytes, take), &fed);
    }

    /// The decoder agrees with the naive transcription of the spec.
    #[test]
    fn matches_the_spec_reference(
        input in prop_oneof![
            2 => structured_stream(),
            1 => stream(),
            1 => prop::collection::vec(any::<u8>(), 0..200),
        ],
        cuts in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        let chunks = split_at_cuts(&input, &cuts);
        let (items, last, _) = decode_chunks(Limits::default(), false, &chunks);
        let items: Vec<Item> = items.into_iter().map(Result::unwrap).collect();
        prop_assert_eq!((items, last), reference(&input));
    }

    /// Arbitrary bytes never panic and stay within the limits.
    #[test]
    fn arbitrary_bytes_are_safe(
        input in prop::collection::vec(any::<u8>(), 0..512),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        limits in limits(),
    ) {
        let chunks = split_at_cuts(&input, &cuts);
        let (items, _, _) = decode_chunks(limits, true, &chunks);
        for item in items.into_iter().flatten() {
            if let Item::Event(ev) = item {
                prop_assert!(ev.data().len() <= limits.max_event_data);
            }
        }
    }

    /// encode → decode gives back the same data with LF line ends, the same
    /// type and id, and the retry value.
    #[test]
    fn encode_decode_round_trip(
        data in text(),
        event_type in prop::option::of(field_text()),
        id in prop::option::of(field_text()),
        retry in prop::option::of(any::<u64>()),
        chunk in 1usize..16,
    ) {
        let mut ev = EventRef::new(&data);
        if let Some(t) = &event_type { ev = ev.event_type(t); }
        if let Some(i) = &id { ev = ev.id(i); }
        if let Some(ms) = retry { ev = ev.retry(ms); }
        let mut wire = Vec::new();
        encode_comment(&data, &mut wire);
        encode_event(&ev, &mut wire).unwrap();
        encode_retry(5, &mut wire);
        let chunks: Vec<&[u8]> = wire.chunks(chunk).collect();
        let (items, last, dropped) = decode_chunks(Limits::default(), false, &chunks);
        let mut items = items.into_iter().map(Result::unwrap);
        if let Some(ms) = retry {
            prop_assert_eq!(items.next(), Some(Item::Retry(ms)));
        }
        let Some(Item::Event(got)) = items.next() else { panic!("no event") };
        prop_assert_eq!(got.data(), normalize_line_ends(&data));
        let want_type = match event_type.as_deref() { None | Some("") => "message", Some(t) => t };
        prop_assert_eq!(got.event_type(), want_type);
        prop_assert_eq!(got.id(), id.as_deref().unwrap_or(""));
        prop_assert_eq!(items.next(), Some(Item::Retry(5)));
        prop_assert_eq!(items.next(), None);
        prop_assert_eq!(last, id.unwrap_or_default());
        prop_assert!(!dropped);
    }

    /// A type or id with CR or LF, or an id with NUL, is refused and
    /// nothing is written.
    #[test]
    fn unsafe_fields_refused(prefix in field_text(), bad in prop_oneof![Just('\r'), Just('\n'), Just('\0')], as_id in any::<bool>()) {
        let value = format!("{prefix}{bad}tail");
        let ev = if as_id { EventRef::new("d").id(&value) } else { EventRef::new("d").event_type(&value) };
        let mut out = Vec::new();
        let res = encode_event(&ev, &mut out);
        let index = prefix.len();
        let expected = match (as_id, bad) {
            (true, '\0') => Err(EncodeError::IdNul { index }),
            (true, _) => Err(EncodeError::IdLineBreak { index }),
            (false, '\0') => Ok(()),
            (false, _) => Err(EncodeError::EventTypeLineBreak { index }),
        };
        if expected.is_ok() {
            // NUL in a type is harmless to receivers; only CR/LF are refused there.
            prop_assert!(res.is_ok());
        } else {
            prop_assert_eq!(res, expected);
            prop_assert!(out.is_empty());
        }
    }
}
