use super::*;

#[test]
fn comment_and_unknown_lines_are_not_buffered() {
    let mut dec = Decoder::new(Limits::default());
    dec.feed(b": ");
    dec.feed(&[b'x'; 10_000]);
    assert_eq!(dec.buffered_len(), 0);
    dec.feed(b"\nsomefield: ");
    dec.feed(&[b'y'; 10_000]);
    assert_eq!(dec.buffered_len(), 0);
    dec.feed(b"\n\n");
    assert_eq!(dec.next_item(), None);
}

#[test]
fn too_long_line_is_discarded_as_it_streams() {
    let mut dec = Decoder::new(Limits {
        max_line_len: 16,
        ..Limits::default()
    });
    dec.feed(b"data: ");
    for _ in 0..100 {
        dec.feed(&[b'z'; 1000]);
        assert!(dec.buffered_len() <= 16);
    }
    assert!(matches!(
        dec.next_item(),
        Some(Err(LimitError::LineTooLong { .. }))
    ));
    assert_eq!(dec.next_item(), None);
    dec.feed(b"\n\ndata: ok\n\n");
    assert!(matches!(dec.next_item(), Some(Ok(Item::Event(_)))));
}

#[test]
fn reported_comments_are_buffered_up_to_the_line_limit() {
    let mut dec = Decoder::new(Limits {
        max_line_len: 8,
        ..Limits::default()
    })
    .with_comments(true);
    dec.feed(b": abcdefghijkl\n\n: ok\n");
    assert!(matches!(
        dec.next_item(),
        Some(Err(LimitError::LineTooLong {
            limit: 8,
            offset: 8
        }))
    ));
    assert_eq!(
        dec.next_item(),
        Some(Ok(Item::Comment(Utf8Bytes::from("ok"))))
    );
}

#[test]
fn invalid_bytes_in_id_and_type_stay_within_max_buffered() {
    // Every byte invalid: U+FFFD triples the id and the type.
    let limits = Limits {
        max_line_len: 20,
        max_event_data: 20,
        ..Limits::default()
    };
    let mut dec = Decoder::new(limits);
    let bad = [0xFF; 17];
    for field in [&b"id: "[..], b"event: "] {
        dec.feed(field);
        dec.feed(&bad[..20 - field.len()]);
        dec.feed(b"\n");
    }
    dec.feed(b"\n"); // commit the id: last_event_id == id buffer
    dec.feed(b"id: ");
    dec.feed(&bad[..16]);
    dec.feed(b"\nevent: ");
    dec.feed(&bad[..13]);
    dec.feed(b"\ndata: ");
    dec.feed(&bad[..14]);
    dec.feed(b"\ndata: ");
    dec.feed(&bad[..5]);
    assert!(
        dec.buffered_len() > 20 + 4 * 20,
        "the case needs the 10x bound"
    );
    assert!(dec.buffered_len() <= limits.max_buffered());
}

#[test]
fn a_long_data_line_streams_into_the_data_buffer_only() {
    let mut dec = Decoder::new(Limits::default());
    // The line start fills the carry exactly.
    let long = "x".repeat(super::CARRY_MAX - "data: ".len());
    dec.feed(format!("data: {long}").as_bytes());
    assert_eq!(dec.carry.len(), super::CARRY_MAX);
    assert_eq!(
        (dec.data.len(), dec.value.len()),
        (0, 0),
        "carried, not read"
    );
    dec.feed(b"0123");
    // Too long for the carry: read by the state machine, the value into
    // the data buffer and nowhere else.
    assert_eq!(dec.carry.len(), 0);
    assert_eq!((dec.data.len(), dec.value.len()), (long.len() + 4, 0));
    dec.feed(b"456789\n\n");
    let Some(Ok(Item::Event(ev))) = dec.next_item() else {
        panic!("no event");
    };
    assert_eq!(ev.data(), format!("{long}0123456789"));
    assert_eq!(dec.buffered_len(), 0);
}

#[test]
fn a_short_line_split_by_chunks_is_carried_and_read_whole() {
    let mut dec = Decoder::new(Limits::default());
    for piece in [&b"da"[..], b"ta: 01", b"23", b"45\r"] {
        dec.feed(piece);
    }
    // The line ended (CR) and was read whole: its data, not the carry.
    assert_eq!((dec.carry.len(), dec.line_len), (0, 0));
    assert_eq!(&dec.data[..], b"012345");
    assert!(dec.pending_cr);
    dec.feed(b"\n\r\n");
    let Some(Ok(Item::Event(ev))) = dec.next_item() else {
        panic!("no event");
    };
    assert_eq!(ev.data(), "012345");
    assert_eq!(dec.buffered_len(), 0);
    // The carry counts as buffered and is dropped at end of stream.
    dec.feed(b"id: 12");
    assert_eq!(dec.buffered_len(), 6);
    assert!(dec.finish());
    assert_eq!(dec.buffered_len(), 0);
}

#[test]
fn the_carry_never_outgrows_the_line_limit() {
    let limits = Limits {
        max_line_len: 8,
        ..Limits::default()
    };
    let mut dec = Decoder::new(limits);
    dec.feed(b"data: 0");
    dec.feed(b"123");
    assert!(dec.carry.is_empty(), "longer than the limit: not carried");
    assert!(matches!(
        dec.next_item(),
        Some(Err(LimitError::LineTooLong {
            limit: 8,
            offset: 8
        }))
    ));
}

/// An event as written: id, type, data lines.
type Raw<'a> = (Vec<u8>, Vec<u8>, Vec<&'a [u8]>);

/// Events as (type, data, id) from `wire` fed in the given pieces.
fn decode_in(wire: &[u8], cuts: &[usize]) -> Vec<(String, String, String)> {
    let mut dec = Decoder::new(Limits::default());
    let mut got = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain([&wire.len()]) {
        for item in dec.feed(&wire[start..end]) {
            let Ok(Item::Event(ev)) = item else {
                panic!("unexpected {item:?}");
            };
            got.push((ev.event_type().into(), ev.data().into(), ev.id().into()));
        }
        start = end;
    }
    got
}

#[test]
fn utf8_shortcuts_agree_with_lossy_decoding_at_every_split() {
    // §9.2.6 decodes the stream as UTF-8 with U+FFFD replacement. Values
    // inside a chunk's valid prefix skip validation, pieces of long
    // lines go through the incremental validator, short events are
    // checked at dispatch: every chunking must give the same text
    // (debug builds also assert each shortcut's claim of validity).
    let pad = "é✓".repeat(20);
    let long = format!("{pad}\u{1F642}").repeat(12);
    let events: Vec<Raw<'_>> = vec![
        (
            format!("ü{pad}").into_bytes(),
            format!("t{pad}").into_bytes(),
            vec![pad.as_bytes(), b"a\xFFb"],
        ),
        (
            b"7".to_vec(),
            b"t\xE2\x82".to_vec(),
            vec![b"x\xE2\x82", b"y"],
        ),
        (
            b"8".to_vec(),
            b"delta".to_vec(),
            vec![long.as_bytes(), b"\xC0"],
        ),
        (b"9".to_vec(), b"delta".to_vec(), vec![long.as_bytes()]),
    ];
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (id, event_type, data) in &events {
        for (name, value) in [(&b"id: "[..], id), (b"event: ", event_type)] {
            wire.extend_from_slice(name);
            wire.extend_from_slice(value);
            wire.push(b'\n');
        }
        for line in data {
            wire.extend_from_slice(b"data: ");
            wire.extend_from_slice(line);
            wire.push(b'\n');
        }
        wire.push(b'\n');
        expected.push((lossy(event_type), lossy(&data.join(&b'\n')), lossy(id)));
    }
    assert_eq!(decode_in(&wire, &[]), expected);
    for size in [1, 2, 3, 7, 63, 64, 65, 100, 1000, 4096] {
        let cuts: Vec<usize> = (size..wire.len()).step_by(size).collect();
        assert_eq!(decode_in(&wire, &cuts), expected, "chunks of {size}");
    }
    for cut in 0..=wire.len() {
        assert_eq!(decode_in(&wire, &[cut]), expected, "split at {cut}");
    }
}

#[test]
fn idle_decoder_holds_only_the_last_id_and_type() {
    let wire = b"id: 42\nevent: delta\ndata: one\ndata: two\n\n";
    let mut dec = Decoder::new(Limits::default());
    let ev = dec.feed(wire).next();
    assert!(matches!(ev, Some(Ok(Item::Event(_)))));
    drop(ev);
    assert_eq!((dec.data.capacity(), dec.value.capacity()), (0, 0));
    assert!(!dec.type_in_block && !dec.id_in_block && dec.after_idle);
    assert_eq!(dec.last_type.as_str(), "delta");
    assert_eq!(
        (dec.last_event_id().as_str(), dec.id_buffer.as_str()),
        ("42", "42")
    );
    // Mid-event at the end of a chunk: the buffers stay.
    dec.feed(b"data: a\ndata: b");
    assert!(dec.data.capacity() > 0 && dec.carry.capacity() > 0);
    dec.feed(b"c\n\n");
    assert!(
        matches!(dec.next_item(), Some(Ok(Item::Event(ev))) if ev.data() == "a\nbc" && ev.id() == "42")
    );
    assert_eq!((dec.data.capacity(), dec.carry.capacity()), (0, 0));

    let mut keep = Decoder::new(Limits::default()).with_idle_release(false);
    keep.feed(wire);
    assert!(keep.data.capacity() > 0 && keep.value.capacity() > 0);
    let Some(Ok(Item::Event(ev))) = keep.next_item() else {
        panic!("no event");
    };
    assert_eq!(
        (ev.event_type(), ev.data(), ev.id()),
        ("delta", "one\ntwo", "42")
    );
}

#[test]
fn repeated_type_and_id_share_the_previous_text() {
    let mut dec = Decoder::new(Limits::default()).with_idle_release(false);
    dec.feed(b"id: 1\nevent: delta\ndata: a\n\nid: 1\nevent: delta\ndata: b\n\n");
    let mut evs = Vec::new();
    while let Some(Ok(Item::Event(ev))) = dec.next_item() {
        evs.push(ev);
    }
    let [a, b] = &evs[..] else {
        panic!("two events expected");
    };
    assert_eq!(
        a.event_type_text().as_bytes().as_ptr(),
        b.event_type_text().as_bytes().as_ptr()
    );
    assert_eq!(
        a.id_text().as_bytes().as_ptr(),
        b.id_text().as_bytes().as_ptr()
    );
    assert_eq!((b.event_type(), b.data(), b.id()), ("delta", "b", "1"));
}

#[test]
fn last_event_id_changes_only_at_the_blank_line() {
    // §9.2.6: the id field sets the buffer; the blank line commits it.
    let mut dec = Decoder::new(Limits::default()).with_last_event_id(Utf8Bytes::from("0"));
    dec.feed(b"id: 1\n");
    assert_eq!(dec.last_event_id(), "0");
    dec.feed(b"id: 2\n");
    assert_eq!(dec.last_event_id(), "0");
    dec.feed(b"\n");
    assert_eq!(dec.last_event_id(), "2");
    dec.feed(b"id: 3\ndata: x\n");
    assert!(dec.finish(), "the unterminated event is dropped");
    assert_eq!(dec.last_event_id(), "2");
    dec.feed(b"data: y\n\n");
    let Some(Ok(Item::Event(ev))) = dec.next_item() else {
        panic!("no event");
    };
    assert_eq!((ev.data(), ev.id()), ("y", "2"));
    // An id line equal to the committed one changes nothing.
    dec.feed(b"id: 2\n");
    assert!(!dec.finish());
}

#[test]
fn an_error_in_a_chunk_tail_is_yielded_by_the_iterator() {
    let mut dec = Decoder::new(Limits {
        max_line_len: 16,
        ..Limits::default()
    });
    let got: Vec<_> = dec.feed(b"data: 0123456789abcdef").collect();
    assert_eq!(
        got,
        [Err(LimitError::LineTooLong {
            limit: 16,
            offset: 16
        })]
    );
    let got: Vec<_> = dec.feed(b"more\n\ndata: ok\n\n").collect();
    assert!(matches!(&got[..], [Ok(Item::Event(ev))] if ev.data() == "ok"));
    assert_eq!(dec.feed(b"").next(), None);
}

#[test]
fn find_eol_agrees_with_a_byte_search() {
    // The word-at-a-time search must find the first CR or LF (§9.2.5 line
    // ends) wherever it is, past other control bytes and high bytes.
    let fillers: [&[u8]; 5] = [b"x", b"\t", b"\x0E", b"\xFF", b"\x0B\x0C\x0D"];
    for first in [&b"i"[..], b"d", b"e"] {
        for len in 0..80 {
            for filler in fillers {
                for end in [&b"\n"[..], b"\r", b""] {
                    let mut line = first.to_vec();
                    while line.len() < len {
                        line.extend_from_slice(if line.len() % 7 == 3 { filler } else { b"a" });
                    }
                    line.extend_from_slice(end);
                    line.extend_from_slice(b"tail\n");
                    let expected = line.iter().position(|&b| b == b'\r' || b == b'\n');
                    assert_eq!(scan::find_eol(&line), expected, "{line:?}");
                }
            }
        }
    }
}

#[test]
fn valid_prefix_stops_before_a_cut_code_point() {
    // Values inside the prefix are taken as valid UTF-8 without a check:
    // it must never include a partial or invalid sequence.
    let text = "aé→🙂".repeat(20);
    let bytes = text.as_bytes();
    for end in 0..=bytes.len() {
        let chunk = &bytes[..end];
        let got = scan::valid_prefix(chunk);
        assert!(core::str::from_utf8(&chunk[..got]).is_ok(), "{end}");
        if end >= scan::VALIDATE_CHUNK {
            let best = match core::str::from_utf8(chunk) {
                Ok(_) => end,
                Err(e) => e.valid_up_to(),
            };
            assert_eq!(got, best, "{end}");
        }
    }
    let mut bad = bytes.to_vec();
    bad[70] = 0xFF;
    assert_eq!(scan::valid_prefix(&bad), 70);
}

/// The items of `chunks`, each fed the way its tag says: `b` shared
/// (`feed_bytes`), `l` lent (`feed_lent`), anything else `feed`.
fn decode_mixed(chunks: &[(&[u8], char)]) -> (Vec<Result<Item, LimitError>>, String) {
    let mut dec = Decoder::new(Limits::default());
    let mut out = Vec::new();
    for &(chunk, how) in chunks {
        match how {
            'b' => out.extend(dec.feed_bytes(&bytes::Bytes::copy_from_slice(chunk))),
            'l' => {
                let mut feed = dec.feed_lent(chunk);
                while let Some(item) = feed.next_item() {
                    out.push(item.map(|item| item.to_item()));
                }
            }
            _ => out.extend(dec.feed(chunk)),
        }
    }
    (out, dec.last_event_id().to_string())
}

#[test]
fn an_event_started_by_one_way_of_feeding_ends_the_same_by_another() {
    // §9.2.6 does not care how the bytes came: a first data line shared by
    // feed_bytes, then lent chunks, give what feed alone gives.
    let chunks: [&[u8]; 3] = [b"id: 4\ndata: hello\n", b"\n", b"data: x\ndata: y\n\n"];
    let expected = decode_mixed(&chunks.map(|c| (c, 'f')));
    for ways in ["bll", "blf", "lbl", "flb", "lfb", "bbl"] {
        let tagged: Vec<_> = chunks
            .iter()
            .zip(ways.chars())
            .map(|(c, w)| (*c, w))
            .collect();
        assert_eq!(decode_mixed(&tagged), expected, "{ways}");
    }
}

#[test]
fn a_leaked_lent_feed_loses_what_it_lent_and_nothing_else() {
    let mut dec = Decoder::new(Limits::default());
    let mut feed = dec.feed_lent(b"id: abc\nretry: 1\ndata: x\n\n");
    assert_eq!(feed.next_item(), Some(Ok(crate::sse::LentItem::Retry(1))));
    core::mem::forget(feed);
    // The next chunk reads no range of the one that is gone.
    let mut next = Vec::new();
    let mut feed = dec.feed_lent("data: ééé\n\n".as_bytes());
    while let Some(item) = feed.next_item() {
        next.push(item.map(|item| item.to_item()));
    }
    drop(feed);
    let [Ok(Item::Event(ev))] = &next[..] else {
        panic!("{next:?}")
    };
    assert_eq!(ev.data(), "ééé");
    assert_eq!(ev.id(), "", "the leaked id is lost, not garbage");
    let _ = dec.last_event_id().as_str();
    // And through feed afterwards, too.
    // Leaked with its first data line lent (the retry came out first).
    let mut feed = dec.feed_lent(b"data: a\nretry: 5\n\n");
    assert_eq!(feed.next_item(), Some(Ok(crate::sse::LentItem::Retry(5))));
    core::mem::forget(feed);
    let items: Vec<_> = dec.feed(b"data: b\n\n").collect();
    let [Ok(Item::Event(ev))] = &items[..] else {
        panic!("{items:?}")
    };
    assert_eq!(ev.data(), "b", "the leaked event is dropped, not joined");
}
