//! `handshake::parse_request` (server role) on arbitrary bytes.
//!
//! Invariants: no panic; `used <= len` and `used <= max_head_bytes`; the
//! parse is incremental (every shorter prefix of the head is `Ok(None)`,
//! the head alone parses to the same request); a rejection writes an HTTP
//! response with its status; an accepted request's 101 answer (echoing an
//! offered subprotocol and extension) carries `accept_key(req.key())` and
//! passes the checks of a `ClientHandshake` holding the same key.
#![no_main]

use arbitrary::Arbitrary;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use pushcodec::ws::handshake::{self, ClientHandshake, ExtensionOffer, Limits, accept_key};
use pushcodec_fuzz::Fixed;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    /// 0 keeps the default.
    max_head_bytes: u16,
    max_headers: u8,
    protocol: u8,
    extension: u8,
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
    let buf = input.data;
    let (req, used) = match handshake::parse_request(buf, &limits) {
        Ok(None) => return,
        Err(e) => {
            let status = e.status();
            assert!((400..600).contains(&status), "status {status} for {e:?}");
            let mut out = Vec::new();
            e.encode_response(&mut out);
            let line = format!("HTTP/1.1 {status} ");
            assert!(out.starts_with(line.as_bytes()), "bad rejection for {e:?}");
            assert!(out.windows(4).any(|w| w == b"\r\n\r\n"));
            return;
        }
        Ok(Some(parsed)) => parsed,
    };
    assert!(
        used <= buf.len() && used <= limits.max_head_bytes,
        "used {used}"
    );
    // A pure function of the bytes: the head alone gives the same request,
    // and no shorter prefix is complete.
    assert_eq!(
        handshake::parse_request(&buf[..used], &limits),
        Ok(Some((req.clone(), used)))
    );
    let cut = usize::from(input.prefix) % used;
    assert_eq!(
        handshake::parse_request(&buf[..cut], &limits),
        Ok(None),
        "prefix {cut}"
    );

    // What the checks promise about the accepted request.
    assert_eq!(req.method(), "GET");
    let key = base64::engine::general_purpose::STANDARD
        .decode(req.key())
        .expect("accepted key is base64");
    assert_eq!(key.len(), 16, "accepted key is not 16 bytes");

    // The 101 answer, echoing what was offered.
    let protocol = (!req.protocols().is_empty())
        .then(|| req.protocols()[usize::from(input.protocol) % req.protocols().len()].clone());
    let extension: Option<ExtensionOffer> = (!req.extensions().is_empty())
        .then(|| req.extensions()[usize::from(input.extension) % req.extensions().len()].clone());
    if let Some(ext) = &extension {
        // Display writes an element back in a form that parses to itself.
        assert_eq!(
            ExtensionOffer::parse_list(&ext.to_string()).as_deref(),
            Ok(std::slice::from_ref(ext))
        );
    }
    let mut accept = req.accept();
    if let Some(p) = &protocol {
        accept = accept.protocol(p);
    }
    if let Some(e) = &extension {
        accept = accept.extension(&e.to_string());
    }
    let mut out = Vec::new();
    accept
        .encode(&mut out)
        .expect("accepting offered values must work");
    let line = format!(
        "\r\nSec-WebSocket-Accept: {}\r\n",
        accept_key(req.key().as_bytes())
    );
    assert!(out.windows(line.len()).any(|w| w == line.as_bytes()));

    // A client with the same key accepts the answer.
    let mut client = ClientHandshake::try_new("h", "/", &mut Fixed(key, 0)).expect("valid host");
    assert_eq!(client.key(), req.key());
    if let Some(p) = &protocol {
        client = client.protocols(&[p.as_str()]);
    }
    if let Some(e) = &extension {
        client = client.extension(&e.to_string());
    }
    let (resp, resp_used) = client
        .parse_response(&out)
        .unwrap_or_else(|e| panic!("client refuses our 101: {e}"))
        .expect("101 is complete");
    assert_eq!(resp_used, out.len());
    assert_eq!(resp.status(), 101);
    assert_eq!(resp.protocol(), protocol.as_deref());
    assert_eq!(resp.extensions(), extension.as_slice());
});
