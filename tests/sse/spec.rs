//! Spec tables for the SSE decoder (WHATWG HTML §9.2.5 "Parsing an event
//! stream", §9.2.6 "Interpreting an event stream") and the
//! web-platform-tests `eventsource/format-*` cases as our own table.
//!
//! Every case runs whole, byte by byte, and split at every point into two
//! chunks; all runs must give the same items.

use pushcodec::sse::{Decoder, Event, Item, LimitError as Error, Limits, Utf8Bytes};

fn ev(event_type: &str, data: &str, id: &str) -> Item {
    Item::Event(Event::new(
        Utf8Bytes::from(event_type),
        Utf8Bytes::from(data),
        Utf8Bytes::from(id),
    ))
}

fn msg(data: &str) -> Item {
    ev("message", data, "")
}

/// Runs `chunks` through `feed` and through `feed_lent`, which must agree.
fn run(limits: Limits, comments: bool, chunks: &[&[u8]]) -> (Vec<Result<Item, Error>>, String) {
    let fed = run_fed(limits, comments, chunks);
    assert_eq!(run_lent(limits, comments, chunks), fed, "lent: {chunks:?}");
    fed
}

fn run_lent(
    limits: Limits,
    comments: bool,
    chunks: &[&[u8]],
) -> (Vec<Result<Item, Error>>, String) {
    let mut dec = Decoder::new(limits).with_comments(comments);
    let mut out = Vec::new();
    for chunk in chunks {
        let mut feed = dec.feed_lent(chunk);
        while let Some(item) = feed.next_item() {
            out.push(item.map(|item| item.to_item()));
        }
        drop(feed);
        assert!(dec.buffered_len() <= limits.max_buffered());
        assert_eq!(dec.next_item(), None, "iterated to the end: nothing queued");
    }
    let last = dec.last_event_id().to_string();
    dec.finish();
    (out, last)
}

fn run_fed(limits: Limits, comments: bool, chunks: &[&[u8]]) -> (Vec<Result<Item, Error>>, String) {
    let mut dec = Decoder::new(limits).with_comments(comments);
    let mut out = Vec::new();
    for chunk in chunks {
        dec.feed(chunk);
        assert!(dec.buffered_len() <= limits.max_buffered());
        while let Some(item) = dec.next_item() {
            out.push(item);
        }
    }
    let last = dec.last_event_id().to_string();
    dec.finish();
    assert_eq!(dec.next_item(), None);
    (out, last)
}

/// Runs `input` whole, byte by byte, after empty chunks, and at every
/// two-way split; all must agree. Returns the items and the last event id.
fn decode_all_ways(
    limits: Limits,
    comments: bool,
    input: &[u8],
) -> (Vec<Result<Item, Error>>, String) {
    let whole = run(limits, comments, &[input]);
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(
        run(limits, comments, &bytes),
        whole,
        "byte by byte: {input:?}"
    );
    assert_eq!(
        run(limits, comments, &[b"", b"", input, b""]),
        whole,
        "with empty chunks: {input:?}"
    );
    for split in 1..input.len() {
        let (a, b) = input.split_at(split);
        assert_eq!(
            run(limits, comments, &[a, b"", b]),
            whole,
            "split at {split}: {input:?}"
        );
    }
    whole
}

fn decode(input: &[u8]) -> Vec<Item> {
    decode_all_ways(Limits::default(), false, input)
        .0
        .into_iter()
        .map(|r| r.expect("no limit error expected"))
        .collect()
}

macro_rules! cases {
    ($($name:ident: $input:expr => [$($item:expr),* $(,)?];)*) => {
        $(
            #[test]
            fn $name() {
                let expected: Vec<Item> = vec![$($item),*];
                assert_eq!(decode($input), expected);
            }
        )*
    };
}

cases! {
    // §9.2.5: one UTF-8 BOM at stream start is stripped ...
    bom_stripped_once: b"\xEF\xBB\xBFdata: a\n\n" => [msg("a")];
    // ... and only one: a second BOM is part of the first field name.
    bom_only_once: b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n" => [msg("b")];
    // A partial BOM is ordinary (invalid UTF-8) bytes of the first line.
    partial_bom_is_data: b"\xEF\xBBdata: a\n\ndata: b\n\n" => [msg("b")];
    bom_not_at_start: b"data: a\n\n\xEF\xBB\xBFdata: b\n\ndata: c\n\n" => [msg("a"), msg("c")];
    // §9.2.5: CRLF, LF and CR each end a line.
    crlf_lines: b"data: a\r\ndata: b\r\n\r\n" => [msg("a\nb")];
    cr_lines: b"data: a\rdata: b\r\r" => [msg("a\nb")];
    lf_lines: b"data: a\ndata: b\n\n" => [msg("a\nb")];
    mixed_line_ends: b"data: a\r\rdata: b\n\ndata: c\r\n\r\n" => [msg("a"), msg("b"), msg("c")];
    // CR then LF is one line end, CR CR is two (a blank line).
    cr_cr_is_blank_line: b"data: a\r\r\ndata: b\r\n\r" => [msg("a"), msg("b")];
    // §9.2.6: a blank line dispatches; a lone blank line dispatches nothing.
    blank_lines_alone: b"\n\n\r\n\r\r" => [];
    // §9.2.6: lines starting with a colon are comments.
    comment_ignored: b": hi\ndata: a\n:\n\n" => [msg("a")];
    // §9.2.6: exactly one leading space is stripped; tabs are not spaces.
    one_space_stripped: b"data:  two\n\ndata:\tt\n\ndata:x\n\n" => [msg(" two"), msg("\tt"), msg("x")];
    // §9.2.6: a line without a colon is a field with an empty value.
    no_colon_field: b"data\n\n" => [msg("")];
    data_no_colon_twice: b"data\ndata\n\n" => [msg("\n")];
    // §9.2.6: field names are case-sensitive; unknown fields are ignored.
    field_case_sensitive: b"Data: x\nDATA: y\nfoo: z\ndata: a\n\n" => [msg("a")];
    // The first colon splits name from value; later colons are value.
    colon_in_value: b"data: a: b:c\n\n" => [msg("a: b:c")];
    // §9.2.6: data appends value + LF; one trailing LF stripped at dispatch.
    data_trailing_empty_line: b"data: a\ndata:\n\n" => [msg("a\n")];
    // §9.2.6: empty data buffer: no event.
    no_data_no_event: b"event: x\n\nid: 3\n\n" => [];
    // §9.2.6: event sets the type; it resets after each dispatch.
    event_type_resets: b"event: a\ndata: 1\n\ndata: 2\n\n" => [ev("a", "1", ""), msg("2")];
    // Empty event type means message.
    empty_event_type: b"event:\ndata: 1\n\n" => [msg("1")];
    // Type set but then an event without data: type still reset.
    type_reset_without_data: b"event: a\n\ndata: 1\n\n" => [msg("1")];
    // §9.2.6: the last event id carries forward to later events.
    id_carried_forward: b"id: 1\ndata: a\n\ndata: b\n\n" => [ev("message", "a", "1"), ev("message", "b", "1")];
    // An empty id resets it.
    id_reset: b"id: 1\ndata: a\n\nid\ndata: b\n\nid:\ndata: c\n\n" =>
        [ev("message", "a", "1"), msg("b"), msg("c")];
    // §9.2.6: an id containing U+0000 is ignored.
    id_with_nul_ignored: b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n" =>
        [ev("message", "a", "1"), ev("message", "b", "1")];
    // The id takes effect even when no event is dispatched.
    id_without_data_takes_effect: b"id: 9\n\ndata: a\n\n" => [ev("message", "a", "9")];
    // The last id line before the blank line wins.
    last_id_wins: b"id: 1\nid: 2\ndata: a\n\n" => [ev("message", "a", "2")];
    // §9.2.6: retry only when all ASCII digits; reported as it arrives.
    retry_valid: b"retry: 1500\ndata: a\n\n" => [Item::Retry(1500), msg("a")];
    retry_bogus: b"retry: 1s\nretry: -1\nretry: 1.5\nretry:  5\nretry: 0\n\n" => [Item::Retry(0)];
    retry_empty: b"retry\nretry:\n\n" => [];
    retry_saturates: b"retry: 99999999999999999999999\n\n" => [Item::Retry(u64::MAX)];
    retry_without_blank_line_still_reported: b"retry: 7\n" => [Item::Retry(7)];
    // §9.2.6: an unterminated event at end of stream is dropped.
    unterminated_event_dropped: b"data: a\n\ndata: b\n" => [msg("a")];
    unterminated_line_dropped: b"data: a\n\ndata: b" => [msg("a")];
    // Invalid UTF-8 becomes U+FFFD; valid multi-byte text is kept.
    invalid_utf8_replaced: b"data: a\xFFb\xE2\x82\n\n" => [msg("a\u{FFFD}b\u{FFFD}")];
    utf8_kept: "data: ok→★ é\n\n".as_bytes() => [msg("ok→★ é")];
    invalid_utf8_in_type_and_id: b"event: \xC0x\nid: \xFF\ndata: d\n\n" =>
        [ev("\u{FFFD}x", "d", "\u{FFFD}")];
    // NUL in data is data.
    nul_in_data: b"data: \x00\n\n" => [msg("\0")];
}

// web-platform-tests eventsource/format-*.any.js, as our own table. Their
// server (resources/message.py) appends "\n\n\n" to the message, or only
// "\n" when the test passes newline=none; that is spelled out here.
cases! {
    wpt_format_bom: b"\xEF\xBB\xBFdata:1\n\n\xEF\xBB\xBFdata:2\n\ndata:3\n\n\n" => [msg("1"), msg("3")];
    wpt_format_bom_2: b"\xEF\xBB\xBF\xEF\xBB\xBFdata:1\n\ndata:2\n\ndata:3\n\n\n" => [msg("2"), msg("3")];
    wpt_format_comments: concat!(
        "data:1\r:\0\n:\r\ndata:2\n:", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "\rdata:3\n:data:fail\r:", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "\ndata:4\n\n").as_bytes() => [msg("1\n2\n3\n4")];
    wpt_format_data_before_final_empty_line: b"retry:1000\ndata:test1\n\nid:test\ndata:test2\n" =>
        [Item::Retry(1000), msg("test1")];
    wpt_format_field_data: b"data:\n\ndata\ndata\n\ndata:test\n\n\n" => [msg(""), msg("\n"), msg("test")];
    wpt_format_field_event: b"event:test\ndata:x\n\ndata:x\n\n\n" => [ev("test", "x", ""), msg("x")];
    wpt_format_field_event_empty: b"event: \ndata:data\n\n\n" => [msg("data")];
    wpt_format_field_id: b"id: 1\ndata: x\n\nid: 2\ndata: y\n\ndata: z\n\n\n" =>
        [ev("message", "x", "1"), ev("message", "y", "2"), ev("message", "z", "2")];
    wpt_format_field_id_2: "id: …\ndata: hello\n\ndata: …\n\n".as_bytes() =>
        [ev("message", "hello", "…"), ev("message", "…", "…")];
    wpt_format_field_id_null_nul_nul: b"id: \x00\x00\ndata: hello\n\n" => [msg("hello")];
    wpt_format_field_id_null_x_nul: b"id: x\x00\ndata: hello\n\n" => [msg("hello")];
    wpt_format_field_id_null_nul_x: b"id: \x00x\ndata: hello\n\n" => [msg("hello")];
    wpt_format_field_id_null_x_nul_x: b"id: x\x00x\ndata: hello\n\n" => [msg("hello")];
    wpt_format_field_id_null_space_nul: b"id:  \x00\ndata: hello\n\n" => [msg("hello")];
    wpt_format_field_parsing: b"data:\x00\ndata:  2\rData:1\ndata\x00:2\ndata:1\r\x00data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n" =>
        [msg("\0\n 2\n1\n3\n\n4")];
    wpt_format_field_retry: b"retry:03000\ndata:x\n\n\n" => [Item::Retry(3000), msg("x")];
    wpt_format_field_retry_bogus: b"retry:3000\nretry:1000x\ndata:x\n\n\n" => [Item::Retry(3000), msg("x")];
    wpt_format_field_retry_empty: b"retry\ndata:test\n\n\n" => [msg("test")];
    wpt_format_field_unknown: b"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n\n" =>
        [msg("test\n\ntest")];
    wpt_format_leading_space: b"data:\ttest\rdata: \ndata:test\n\n\n" => [msg("\ttest\n\ntest")];
    wpt_format_newlines: b"data:test\r\ndata\ndata:test\r\n\r\n" => [msg("test\n\ntest")];
    wpt_format_null_character: b"data:\x00\n\n\n\n" => [msg("\0")];
    wpt_format_utf_8: "data:ok→★\n\n\n".as_bytes() => [msg("ok→★")];
    wpt_event_data_lines: b"data:msg\ndata:msg\n\ndata:\n\ndata:end\n\n" => [msg("msg\nmsg"), msg(""), msg("end")];
}

#[test]
fn comments_reported_when_asked() {
    let (items, _) = decode_all_ways(Limits::default(), true, b":\n: ping\n:  two\ndata: a\n\n");
    let expected = [
        Item::Comment(Utf8Bytes::from("")),
        Item::Comment(Utf8Bytes::from("ping")),
        Item::Comment(Utf8Bytes::from(" two")),
        msg("a"),
    ];
    assert_eq!(items, expected.map(Ok));
}

#[test]
fn last_event_id_committed_at_blank_line_only() {
    // §9.2.6 dispatch step 1: the id becomes the last event id string at
    // the blank line; an id line at end of stream never does.
    let (_, last) = decode_all_ways(Limits::default(), false, b"id: 1\n\nid: 2\ndata: x\n");
    assert_eq!(last, "1");
    let (_, last) = decode_all_ways(Limits::default(), false, b"id: 1\n\nid\n\n");
    assert_eq!(last, "");
}

#[test]
fn line_limit_errors_then_resyncs() {
    let limits = {
        let mut limits = Limits::default();
        limits.max_line_len = 10;
        limits
    };
    let input = b"data: 0123456789\ndata: more\nid: 5\n\ndata: ok\n\n";
    let (items, last) = decode_all_ways(limits, false, input);
    assert_eq!(
        items,
        vec![
            Err(Error::LineTooLong {
                limit: 10,
                offset: 10
            }),
            Ok(msg("ok"))
        ]
    );
    // Fields after the error, up to the blank line, are ignored.
    assert_eq!(last, "");
}

#[test]
fn long_comment_and_unknown_lines_hit_the_line_limit_too() {
    let limits = {
        let mut limits = Limits::default();
        limits.max_line_len = 8;
        limits
    };
    let input = b": 0123456789\n\nfoo: 0123456789\n\ndata: ok\n\n";
    let (items, _) = decode_all_ways(limits, false, input);
    assert_eq!(
        items,
        vec![
            Err(Error::LineTooLong {
                limit: 8,
                offset: 8
            }),
            Err(Error::LineTooLong {
                limit: 8,
                offset: 22
            }),
            Ok(msg("ok"))
        ]
    );
}

#[test]
fn data_limit_errors_then_resyncs() {
    let limits = {
        let mut limits = Limits::default();
        limits.max_event_data = 5;
        limits
    };
    // "abc" + LF + "de" is 6 bytes: the second line's `e` (offset 17) breaks it.
    let input = b"data: abc\ndata: de\ndata: f\n\ndata: 12345\n\ndata: 123\ndata:\n\n";
    let (items, _) = decode_all_ways(limits, false, input);
    assert_eq!(
        items,
        vec![
            Err(Error::EventDataTooLarge {
                limit: 5,
                offset: 17
            }),
            Ok(msg("12345")),
            Ok(msg("123\n")),
        ]
    );
}

#[test]
fn data_limit_on_the_joining_line_feed() {
    let limits = {
        let mut limits = Limits::default();
        limits.max_event_data = 3;
        limits
    };
    let (items, _) = decode_all_ways(limits, false, b"data: abc\ndata\n\ndata: x\n\n");
    assert_eq!(
        items,
        vec![
            Err(Error::EventDataTooLarge {
                limit: 3,
                offset: 14
            }),
            Ok(msg("x")),
        ]
    );
}

#[test]
fn error_messages_name_limit_and_offset() {
    let e = Error::LineTooLong {
        limit: 10,
        offset: 42,
    };
    let text = e.to_string();
    assert!(
        text.contains("max_line_len") && text.contains("10") && text.contains("42"),
        "{text}"
    );
}

#[test]
fn finish_reports_drop_and_starts_a_new_stream() {
    let mut dec = Decoder::new(Limits::default());
    dec.feed(b"id: 1\ndata: a\n\ndata: partial");
    assert!(matches!(dec.next_item(), Some(Ok(Item::Event(_)))));
    assert!(dec.finish());
    // A new connection: BOM allowed again, last event id kept.
    dec.feed(b"\xEF\xBB\xBFdata: b\n\n");
    assert_eq!(dec.next_item(), Some(Ok(ev("message", "b", "1"))));
    assert!(!dec.finish());
}

#[test]
fn reconnecting_decoder_starts_from_a_known_id() {
    let mut dec = Decoder::new(Limits::default()).with_last_event_id(Utf8Bytes::from("41"));
    dec.feed(b"data: x\n\n");
    assert_eq!(dec.next_item(), Some(Ok(ev("message", "x", "41"))));
}

/// The README's sample stream (tests/data/sse/sample.txt) reads the same at
/// every chunk size, and gives the events the file was written to show.
#[test]
fn sample_file_at_every_chunk_size() {
    let input = include_bytes!("../data/sse/sample.txt");
    let whole = run(Limits::default(), false, &[input]);
    for size in 1..=64 {
        let chunks: Vec<&[u8]> = input.chunks(size).collect();
        assert_eq!(
            run(Limits::default(), false, &chunks),
            whole,
            "chunk size {size}"
        );
    }
    let items: Vec<Item> = whole.0.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        items,
        vec![
            Item::Retry(3000),
            ev("greeting", "hello", "1"),
            ev("message", "{\"token\":\"Hel\"}", "2"),
            ev("message", "{\"token\":\"lo\"}", "3"),
            ev(
                "multi",
                "first line\n second line keeps one leading space\n",
                "4"
            ),
            ev("message", "no id line here, so the id stays 4", "4"),
            ev("reset", "an empty id line resets the last event id", ""),
            ev("done", "café ★", ""),
        ]
    );
}
