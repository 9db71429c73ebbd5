//! SSE encode → decode: arbitrary events, comments and retry values,
//! encoded with `sse::encode_*` and decoded (whole and in chunks) with
//! `sse::Decoder`.
//!
//! Invariants: the encoder refuses exactly the event types and ids that
//! cannot be written (CR or LF in either, NUL in an id) and then writes
//! nothing; everything else decodes back to what was encoded: the same
//! data with every line end (CR, LF, CRLF) as LF, the same type (or
//! `message`), the id in effect, each comment line, each retry value.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pushcodec::sse::{
    Decoder, EncodeError, Event, EventRef, Item, Limits, Utf8Bytes, encode_comment, encode_event,
    encode_retry, validate_event,
};
use pushcodec_fuzz::{Text, split_chunks};

#[derive(Debug, Arbitrary)]
enum Block {
    Event {
        data: Text,
        event_type: Option<Text>,
        id: Option<Text>,
        retry: Option<u64>,
    },
    Comment(Text),
    Retry(u64),
}

#[derive(Debug, Arbitrary)]
struct Input {
    chunk_lens: Vec<u8>,
    blocks: Vec<Block>,
}

/// Splits text at CR, LF and CRLF.
fn lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['\r', '\n']) {
        out.push(&rest[..i]);
        let crlf = rest[i..].starts_with("\r\n");
        rest = &rest[i + if crlf { 2 } else { 1 }..];
    }
    out.push(rest);
    out
}

fuzz_target!(|input: Input| {
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    let mut id_in_effect = String::new();
    for block in &input.blocks {
        match block {
            Block::Event {
                data,
                event_type,
                id,
                retry,
            } => {
                let mut ev = EventRef::new(&data.0);
                if let Some(t) = event_type {
                    ev = ev.event_type(&t.0);
                }
                if let Some(id) = id {
                    ev = ev.id(&id.0);
                }
                if let Some(ms) = retry {
                    ev = ev.retry(*ms);
                }
                let bad_type = event_type
                    .as_ref()
                    .is_some_and(|t| t.0.contains(['\r', '\n']));
                let bad_id = id
                    .as_ref()
                    .is_some_and(|i| i.0.contains(['\r', '\n', '\0']));
                let before = wire.len();
                let result = encode_event(&ev, &mut wire);
                assert_eq!(result.clone().err(), validate_event(&ev).err());
                assert_eq!(ev.to_bytes().err(), result.clone().err());
                match result {
                    Err(e) => {
                        assert!(bad_type || bad_id, "refused a valid event: {e}");
                        assert!(
                            matches!(e, EncodeError::EventTypeLineBreak { .. }) == bad_type,
                            "wrong error {e:?}"
                        );
                        assert_eq!(wire.len(), before, "a refused event wrote bytes");
                        continue;
                    }
                    Ok(()) => assert!(!bad_type && !bad_id, "wrote an invalid event"),
                }
                if let Some(id) = id {
                    id_in_effect.clone_from(&id.0);
                }
                if let Some(ms) = retry {
                    expected.push(Item::Retry(*ms));
                }
                let data = lines(&data.0).join("\n");
                let event_type = event_type.as_ref().map_or("", |t| t.0.as_str());
                expected.push(Item::Event(Event::new(
                    Utf8Bytes::from(event_type),
                    Utf8Bytes::from(data.as_str()),
                    Utf8Bytes::from(id_in_effect.as_str()),
                )));
            }
            Block::Comment(text) => {
                encode_comment(&text.0, &mut wire);
                for line in lines(&text.0) {
                    expected.push(Item::Comment(Utf8Bytes::from(line)));
                }
            }
            Block::Retry(ms) => {
                encode_retry(*ms, &mut wire);
                expected.push(Item::Retry(*ms));
            }
        }
    }
    let limits = {
        let mut limits = Limits::default();
        limits.max_line_len = usize::MAX;
        limits.max_event_data = usize::MAX;
        limits
    };
    for chunks in [vec![&wire[..]], split_chunks(&wire, &input.chunk_lens)] {
        let mut dec = Decoder::new(limits).with_comments(true);
        let mut items = Vec::new();
        for chunk in chunks {
            dec.feed(chunk);
            while let Some(item) = dec.next_item() {
                items.push(item.expect("no limit can be hit"));
            }
        }
        assert_eq!(items, expected);
        assert_eq!(dec.last_event_id().as_str(), id_in_effect);
        // Every block ends with its blank line (or is a whole line).
        assert!(!dec.finish(), "the encoding left an unfinished event");
    }
});
