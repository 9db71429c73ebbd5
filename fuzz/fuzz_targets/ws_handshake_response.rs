//! `ClientHandshake::parse_response` on arbitrary bytes, for a client with
//! the RFC 6455 §1.3 key, offering some subprotocols and extensions.
//!
//! Invariants: no panic; `used <= len` and `used <= max_head_bytes`; the
//! parse is incremental (shorter prefixes of the head are `Ok(None)`, the
//! head alone gives the same result); an accepted response is a 101 whose
//! subprotocol and extensions are among those offered; an error names its
//! rule.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pushcodec::ws::handshake::{ClientHandshake, Limits};
use pushcodec_fuzz::Fixed;

const PROTOCOLS: &[&str] = &["chat", "superchat", "v1.bearer.abc"];
const EXTENSIONS: &[&str] = &[
    "permessage-deflate; client_max_window_bits",
    "x-webkit-deflate-frame",
];

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    /// Bit i offers `PROTOCOLS[i]`.
    protocols: u8,
    /// Bit i offers `EXTENSIONS[i]`.
    extensions: u8,
    require_protocol: bool,
    max_head_bytes: u16,
    max_headers: u8,
    prefix: u16,
    /// The bytes (the rest of the input).
    data: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let mut limits = Limits::default();
    if input.max_head_bytes != 0 {
        limits.max_head_bytes = usize::from(input.max_head_bytes);
    }
    if input.max_headers != 0 {
        limits.max_headers = usize::from(input.max_headers);
    }
    let offered: Vec<&str> = PROTOCOLS
        .iter()
        .enumerate()
        .filter(|(i, _)| input.protocols & (1 << i) != 0)
        .map(|(_, p)| *p)
        .collect();
    // "the sample nonce": the key is dGhlIHNhbXBsZSBub25jZQ== (RFC 6455 §1.3).
    let mut client = ClientHandshake::try_new(
        "server.example.com",
        "/chat",
        &mut Fixed(b"the sample nonce".to_vec(), 0),
    )
    .expect("valid host and path")
    .protocols(&offered)
    .require_protocol(input.require_protocol)
    .limits(limits);
    assert_eq!(client.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    let mut ext_names: Vec<&str> = Vec::new();
    for (i, e) in EXTENSIONS.iter().enumerate() {
        if input.extensions & (1 << i) != 0 {
            client = client.extension(e);
            ext_names.push(e.split(';').next().unwrap_or(e));
        }
    }
    let buf = input.data;
    let result = client.parse_response(buf);
    let (resp, used) = match result {
        Ok(None) => return,
        Err(e) => {
            // A client has nothing to answer (a ResponseError has no status):
            // the error only names the rule.
            assert!(!e.to_string().is_empty(), "{e:?}");
            return;
        }
        Ok(Some(parsed)) => parsed,
    };
    assert!(
        used <= buf.len() && used <= limits.max_head_bytes,
        "used {used}"
    );
    assert_eq!(
        client.parse_response(&buf[..used]),
        Ok(Some((resp.clone(), used)))
    );
    let cut = usize::from(input.prefix) % used;
    assert_eq!(client.parse_response(&buf[..cut]), Ok(None), "prefix {cut}");

    assert_eq!(resp.status(), 101);
    if let Some(p) = resp.protocol() {
        assert!(offered.contains(&p), "protocol {p:?} was not offered");
    } else if input.require_protocol {
        assert!(offered.is_empty(), "a required protocol is missing");
    }
    for e in resp.extensions() {
        assert!(
            ext_names.iter().any(|n| n.eq_ignore_ascii_case(e.name())),
            "extension {:?} was not offered",
            e.name()
        );
    }
});
