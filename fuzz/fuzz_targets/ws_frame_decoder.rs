//! `FrameDecoder`, both roles, under arbitrary chunking.
//!
//! Invariants: no panic; `Payload`/`End` only while a frame is open and
//! `Header` only between frames; every payload piece is non-empty; a frame's
//! pieces add up to its header's length and equal the wire bytes unmasked
//! with the header's key; each header re-encodes to the bytes it was parsed
//! from (lengths are minimal); the header passed this role's checks; the
//! decoder's offset counts exactly the bytes taken; fed whole and fed in
//! chunks, the decoder yields the same frames and the same error.
#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use pushcodec::ws::{
    FrameDecoder, FrameEvent, FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, ProtocolError, Role,
};
use pushcodec_fuzz::split_chunks;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    client: bool,
    /// Small limits reach the size check; 0 means "huge".
    max_frame_size: u16,
    allowed_rsv: u8,
    chunk_lens: Vec<u8>,
    /// The bytes (the rest of the input).
    wire: &'a [u8],
}

/// One decoded frame: its header and its whole payload.
#[derive(Debug, PartialEq, Eq)]
struct Frame {
    header: FrameHeader,
    payload: Vec<u8>,
    complete: bool,
}

fn decode(input: &Input<'_>, chunks: &[&[u8]]) -> (Vec<Frame>, Option<ProtocolError>) {
    let role = if input.client {
        Role::Client
    } else {
        Role::Server
    };
    let max = match input.max_frame_size {
        0 => usize::MAX,
        n => usize::from(n),
    };
    let mut dec = FrameDecoder::new(role, max);
    dec.allow_rsv(input.allowed_rsv);
    let mut buf = BytesMut::new();
    let mut fed = 0u64;
    let mut frames: Vec<Frame> = Vec::new();
    let mut open: Option<(u64, usize)> = None; // (payload start offset, index in frames)
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        fed += chunk.len() as u64;
        loop {
            let before = dec.offset();
            let event = match dec.decode(&mut buf) {
                Ok(Some(event)) => event,
                Ok(None) => break,
                Err(e) => {
                    assert!(e.offset() <= fed, "error offset past the input: {e:?}");
                    assert_eq!(e.offset(), before, "error not at the frame's first byte");
                    return (frames, Some(e));
                }
            };
            assert_eq!(
                dec.offset() + buf.len() as u64,
                fed,
                "offset + buffered != bytes fed"
            );
            match event {
                FrameEvent::Header(header) => {
                    assert!(open.is_none(), "header while a frame is open");
                    check_header(&header, role, max, input.allowed_rsv & 0b111);
                    let start = usize::try_from(before).unwrap();
                    let end = usize::try_from(dec.offset()).unwrap();
                    let mut re = [0u8; MAX_HEADER_LEN];
                    let n = header.encode(&mut re);
                    assert_eq!(n, header.encoded_len());
                    assert_eq!(
                        &re[..n],
                        &input.wire[start..end],
                        "header does not re-encode"
                    );
                    open = Some((dec.offset(), frames.len()));
                    frames.push(Frame {
                        header,
                        payload: Vec::new(),
                        complete: false,
                    });
                }
                FrameEvent::Payload(piece) => {
                    let (_, i) = open.expect("payload outside a frame");
                    assert!(!piece.is_empty(), "empty payload piece");
                    let frame = &mut frames[i];
                    frame.payload.extend_from_slice(&piece);
                    assert!(
                        frame.payload.len() as u64 <= frame.header.payload_len,
                        "more payload than the header said"
                    );
                }
                FrameEvent::End => {
                    let (start, i) = open.take().expect("end outside a frame");
                    let frame = &mut frames[i];
                    assert_eq!(frame.payload.len() as u64, frame.header.payload_len);
                    let start = usize::try_from(start).unwrap();
                    let raw = &input.wire[start..start + frame.payload.len()];
                    let expected: Vec<u8> = match frame.header.mask {
                        Some(key) => raw
                            .iter()
                            .enumerate()
                            .map(|(j, b)| b ^ key[j % 4])
                            .collect(),
                        None => raw.to_vec(),
                    };
                    assert_eq!(frame.payload, expected, "payload not unmasked correctly");
                    frame.complete = true;
                }
            }
        }
    }
    (frames, None)
}

fn check_header(h: &FrameHeader, role: Role, max: usize, allowed_rsv: u8) {
    assert_eq!(h.rsv & !allowed_rsv, 0, "reserved bits let through");
    if h.opcode.is_control() {
        assert!(h.fin, "fragmented control frame let through");
        assert!(h.payload_len <= MAX_CONTROL_PAYLOAD as u64);
    }
    match role {
        Role::Server => assert!(h.mask.is_some(), "unmasked client frame let through"),
        Role::Client => assert!(h.mask.is_none(), "masked server frame let through"),
    }
    assert!(
        h.payload_len <= max as u64,
        "frame over the limit let through"
    );
}

fuzz_target!(|input: Input<'_>| {
    let chunks = split_chunks(input.wire, &input.chunk_lens);
    let (split_frames, split_err) = decode(&input, &chunks);
    let (whole_frames, whole_err) = decode(&input, &[input.wire]);
    // Chunking changes how payloads are cut, never what is decoded.
    assert_eq!(split_frames, whole_frames);
    assert_eq!(split_err, whole_err);
});
