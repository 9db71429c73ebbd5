//! `sse::Decoder` on arbitrary bytes under arbitrary chunking.
//!
//! Invariants: no panic; fed whole and fed in chunks, the decoder yields
//! the same items, the same last event id and the same `finish()`, and
//! so does `feed_lent` (its items copied); with
//! the configured limits, `buffered_len()` stays within the documented
//! `Limits::max_buffered()` and error offsets within the
//! stream; with the default limits (no limit can be hit by a fuzz input)
//! the items are exactly those of a literal reading of WHATWG HTML
//! §9.2.5–§9.2.6 (the `reference` function below: decode the whole stream
//! as UTF-8 with replacement, then split lines and interpret fields).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pushcodec::sse::{Decoder, Event, Item, LimitError as Error, Limits, Utf8Bytes};
use pushcodec_fuzz::{Text, split_chunks};

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    /// 0 keeps the default.
    max_line_len: u16,
    max_event_data: u16,
    comments: bool,
    last_event_id: Option<Text>,
    chunk_lens: Vec<u8>,
    /// The stream (the rest of the input).
    stream: &'a [u8],
}

type Items = Vec<Result<Item, Error>>;

fn decoder(limits: Limits, input: &Input<'_>) -> Decoder {
    let mut dec = Decoder::new(limits).with_comments(input.comments);
    if let Some(Text(id)) = &input.last_event_id {
        dec = dec.with_last_event_id(Utf8Bytes::from(id.as_str()));
    }
    dec
}

/// Feeds `chunks` through `feed`, or through `feed_lent` (each lent item
/// copied as it comes) when `lent`.
fn run(limits: Limits, input: &Input<'_>, chunks: &[&[u8]], lent: bool) -> (Items, String, bool) {
    let mut dec = decoder(limits, input);
    // The caller's own starting id is not the stream's doing; it is held
    // (and counted) as both the id buffer and the last event id until the
    // stream replaces it.
    let own_id = input.last_event_id.as_ref().map_or(0, |t| 2 * t.0.len());
    // Finding F3 (fixed): the documented bound counts U+FFFD growth.
    let bound = if pushcodec_fuzz::open_findings::F3_SSE_BOUND_IGNORES_REPLACEMENT {
        limits.max_buffered().max(
            limits
                .max_event_data
                .saturating_add(limits.max_line_len.saturating_mul(10))
                .saturating_add(2),
        )
    } else {
        limits.max_buffered()
    }
    .saturating_add(own_id);
    let mut items = Vec::new();
    let mut fed = 0u64;
    for chunk in chunks {
        let mut got = Vec::new();
        if lent {
            let mut feed = dec.feed_lent(chunk);
            while let Some(item) = feed.next_item() {
                got.push(item.map(|item| item.to_item()));
            }
        } else {
            dec.feed(chunk);
        }
        fed += chunk.len() as u64;
        assert!(
            dec.buffered_len() <= bound,
            "buffered_len {} over the documented bound {bound} ({limits:?})",
            dec.buffered_len()
        );
        got.extend(core::iter::from_fn(|| dec.next_item()));
        for item in got {
            if let Err(
                Error::LineTooLong { offset, .. } | Error::EventDataTooLarge { offset, .. },
            ) = &item
            {
                assert!(*offset < fed, "error offset {offset} past {fed} bytes fed");
            }
            items.push(item);
        }
    }
    let dropped = dec.finish();
    assert!(dec.next_item().is_none(), "finish() produced items");
    (items, dec.last_event_id().as_str().to_owned(), dropped)
}

/// WHATWG HTML §9.2.5–§9.2.6, read literally.
fn reference(stream: &[u8], comments: bool, last_id: &str) -> (Items, String, bool) {
    let text = String::from_utf8_lossy(stream);
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    let mut items = Vec::new();
    let (mut data, mut event_type) = (String::new(), String::new());
    let (mut id_buffer, mut last_event_id) = (last_id.to_owned(), last_id.to_owned());
    let mut rest = text;
    while let Some(i) = rest.find(['\r', '\n']) {
        let line = &rest[..i];
        let crlf = rest[i..].starts_with("\r\n");
        rest = &rest[i + if crlf { 2 } else { 1 }..];
        if line.is_empty() {
            // Dispatch.
            last_event_id.clone_from(&id_buffer);
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            if data.ends_with('\n') {
                data.pop();
            }
            items.push(Ok(Item::Event(Event::new(
                Utf8Bytes::from(event_type.as_str()),
                Utf8Bytes::from(data.as_str()),
                Utf8Bytes::from(id_buffer.as_str()),
            ))));
            data.clear();
            event_type.clear();
            continue;
        }
        if let Some(comment) = line.strip_prefix(':') {
            if comments {
                let comment = comment.strip_prefix(' ').unwrap_or(comment);
                items.push(Ok(Item::Comment(Utf8Bytes::from(comment))));
            }
            continue;
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match name {
            "event" => event_type = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => id_buffer = value.to_owned(),
            // Browsers and WPT (format-field-retry-empty) ignore an empty value.
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                let ms = value.bytes().fold(0u64, |acc, d| {
                    acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                });
                items.push(Ok(Item::Retry(ms)));
            }
            _ => {}
        }
    }
    // End of stream: an unfinished line or event is dropped.
    let dropped = !rest.is_empty()
        || !data.is_empty()
        || !event_type.is_empty()
        || id_buffer != last_event_id;
    (items, last_event_id, dropped)
}

fuzz_target!(|input: Input<'_>| {
    let mut limits = Limits::default();
    if input.max_line_len != 0 {
        limits.max_line_len = usize::from(input.max_line_len);
    }
    if input.max_event_data != 0 {
        limits.max_event_data = usize::from(input.max_event_data);
    }
    let chunks = split_chunks(input.stream, &input.chunk_lens);

    // The configured limits: chunking changes nothing, memory stays bounded.
    let split = run(limits, &input, &chunks, false);
    let whole = run(limits, &input, &[input.stream], false);
    assert_eq!(split, whole, "chunking changed the result");
    // Lent items are the same items.
    let lent = run(limits, &input, &chunks, true);
    assert_eq!(lent, split, "lent items differ from feed's");

    // Under the default limits (1 MiB lines): the spec's exact result.
    if input.stream.len() >= Limits::DEFAULT_MAX_LINE_LEN {
        return;
    }
    let split = run(Limits::default(), &input, &chunks, false);
    let last_id = input.last_event_id.as_ref().map_or("", |t| t.0.as_str());
    let expected = reference(input.stream, input.comments, last_id);
    assert_eq!(split, expected, "differs from WHATWG HTML §9.2.5-§9.2.6");
});
