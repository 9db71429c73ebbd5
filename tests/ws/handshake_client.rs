//! RFC 6455 §4.1 client handshake through the public API only: the
//! request our client writes, and every rule it checks in the answer.
//!
//! Every table case runs whole and byte by byte (each shorter prefix must be
//! `Ok(None)`), and valid answers also with the server's first frame behind
//! the head (handed back through the consumed count).

#[allow(unused_imports)]
use crate::common::*;

use pushcodec::http1::HeadError;
use pushcodec::ws::RandomSource;
use pushcodec::ws::handshake::{
    self, ClientHandshake, FieldError, Limits, Response, ResponseError,
};

/// A fixed "random" source, so the expected accept value is known.
struct Fixed(u8);
impl RandomSource for Fixed {
    fn fill(&mut self, buf: &mut [u8]) {
        buf.fill(self.0);
    }
}

fn client() -> ClientHandshake {
    ClientHandshake::with_random("h", "/", &mut Fixed(1))
        .protocols(&["a", "b"])
        .extension("permessage-deflate; client_max_window_bits")
}

fn answer(hs: &ClientHandshake, lines: &[&str]) -> Vec<u8> {
    let accept = handshake::accept_key(hs.key().as_bytes());
    let mut s = String::new();
    for l in lines {
        s.push_str(&l.replace("{accept}", &accept));
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.into_bytes()
}

fn parse_response_all_prefixes(
    hs: &ClientHandshake,
    raw: &[u8],
) -> Result<Response, ResponseError> {
    for n in 0..raw.len() {
        assert_eq!(hs.parse_response(&raw[..n]), Ok(None), "prefix {n}");
    }
    let (resp, used) = hs.parse_response(raw)?.expect("complete");
    assert_eq!(used, raw.len());
    let mut more = raw.to_vec();
    more.extend_from_slice(b"\x81\x05Hello");
    let (again, used) = hs.parse_response(&more)?.expect("complete");
    assert_eq!((used, &again), (raw.len(), &resp));
    Ok(resp)
}

const UP: &str = "Upgrade: websocket";
const CONN: &str = "Connection: Upgrade";
const ACC: &str = "Sec-WebSocket-Accept: {accept}";
const S101: &str = "HTTP/1.1 101 Switching Protocols";

#[test]
fn client_keys_are_fresh_and_16_bytes() {
    let a = ClientHandshake::new("h", "/");
    let b = ClientHandshake::new("h", "/");
    assert_ne!(a.key(), b.key());
    let mut out = Vec::new();
    a.encode_request(&mut out);
    // Our own server accepts what our client sends.
    let (req, _) = handshake::parse_request(&out, &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(req.key(), a.key());
}

#[test]
fn valid_responses() {
    let hs = client();
    let r = parse_response_all_prefixes(&hs, &answer(&hs, &[S101, UP, CONN, ACC])).unwrap();
    assert_eq!(
        (r.status(), r.protocol(), r.extensions().len()),
        (101, None, 0)
    );

    let raw = answer(
        &hs,
        &[
            "HTTP/1.1 101 Web Socket Protocol Handshake",
            "upgrade: WebSocket",
            "connection: upgrade",
            "sec-websocket-accept: {accept}",
            "Sec-WebSocket-Protocol: b",
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10",
            "Server: x",
        ],
    );
    let r = parse_response_all_prefixes(&hs, &raw).unwrap();
    assert_eq!(r.protocol(), Some("b"));
    assert_eq!(
        r.extensions()[0].param("client_max_window_bits"),
        Some(Some("10"))
    );
    assert_eq!(r.header("server"), Some("x"));
}

#[test]
fn each_response_rule() {
    type Check = fn(&ResponseError) -> bool;
    let hs = client();
    let strict = client().require_protocol(true);
    let bare = ClientHandshake::with_random("h", "/", &mut Fixed(1));
    let cases: Vec<(&str, &ClientHandshake, Vec<&str>, Check)> = vec![
        (
            "§4.1 item 1: 200",
            &hs,
            vec!["HTTP/1.1 200 OK", UP, CONN, ACC],
            |e| matches!(e, ResponseError::UnexpectedStatus { status: 200, .. }),
        ),
        (
            "§4.1 item 1: redirect keeps Location",
            &hs,
            vec!["HTTP/1.1 302 Found", "Location: /x"],
            |e| matches!(e, ResponseError::UnexpectedStatus { status: 302, response } if response.header("location") == Some("/x")),
        ),
        (
            "§4.1 item 2: no Upgrade",
            &hs,
            vec![S101, CONN, ACC],
            |e| {
                matches!(
                    e,
                    ResponseError::Field(FieldError::UpgradeNotWebSocket { found: None, .. })
                )
            },
        ),
        (
            "§4.1 item 2: Upgrade h2c",
            &hs,
            vec![S101, "Upgrade: h2c", CONN, ACC],
            |e| {
                matches!(
                    e,
                    ResponseError::Field(FieldError::UpgradeNotWebSocket { .. })
                )
            },
        ),
        (
            "§4.1 item 3: no Connection",
            &hs,
            vec![S101, UP, ACC],
            |e| {
                matches!(
                    e,
                    ResponseError::Field(FieldError::ConnectionNotUpgrade { .. })
                )
            },
        ),
        (
            "§4.1 item 3: Connection close",
            &hs,
            vec![S101, UP, "Connection: close", ACC],
            |e| {
                matches!(
                    e,
                    ResponseError::Field(FieldError::ConnectionNotUpgrade { .. })
                )
            },
        ),
        ("§4.1 item 4: no accept", &hs, vec![S101, UP, CONN], |e| {
            matches!(e, ResponseError::MissingAccept)
        }),
        (
            "§4.1 item 4: wrong accept",
            &hs,
            vec![
                S101,
                UP,
                CONN,
                "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            ],
            |e| matches!(e, ResponseError::AcceptMismatch { .. }),
        ),
        (
            "§11.3.3: two accepts",
            &hs,
            vec![S101, UP, CONN, ACC, ACC],
            |e| {
                matches!(
                    e,
                    ResponseError::Field(FieldError::DuplicateHeader {
                        name: "Sec-WebSocket-Accept"
                    })
                )
            },
        ),
        (
            "§4.1 item 5: extension not offered",
            &hs,
            vec![S101, UP, CONN, ACC, "Sec-WebSocket-Extensions: x-other"],
            |e| matches!(e, ResponseError::UnexpectedExtension { name } if name == "x-other"),
        ),
        (
            "§9.1: extension grammar",
            &hs,
            vec![
                S101,
                UP,
                CONN,
                ACC,
                "Sec-WebSocket-Extensions: permessage-deflate;",
            ],
            |e| {
                matches!(
                    e,
                    ResponseError::Field(FieldError::InvalidExtensionHeader { .. })
                )
            },
        ),
        (
            "§4.1 item 6: protocol not offered",
            &hs,
            vec![S101, UP, CONN, ACC, "Sec-WebSocket-Protocol: c"],
            |e| matches!(e, ResponseError::UnexpectedProtocol { protocol } if protocol == "c"),
        ),
        (
            "§4.1 item 6: protocol when none offered",
            &bare,
            vec![S101, UP, CONN, ACC, "Sec-WebSocket-Protocol: a"],
            |e| matches!(e, ResponseError::UnexpectedProtocol { .. }),
        ),
        (
            "§11.3.4: two protocols selected",
            &hs,
            vec![S101, UP, CONN, ACC, "Sec-WebSocket-Protocol: a, b"],
            |e| {
                matches!(
                    e,
                    ResponseError::Field(FieldError::InvalidProtocolHeader { .. })
                )
            },
        ),
        (
            "WHATWG: none selected with require_protocol",
            &strict,
            vec![S101, UP, CONN, ACC],
            |e| matches!(e, ResponseError::MissingProtocol),
        ),
        (
            "RFC 9112: HTTP/1.0 response",
            &hs,
            vec!["HTTP/1.0 101 Switching Protocols", UP, CONN, ACC],
            |e| matches!(e, ResponseError::Head(HeadError::Malformed { .. })),
        ),
    ];
    for (name, hs, lines, check) in cases {
        let raw = answer(hs, &lines);
        for n in 0..raw.len() {
            assert_eq!(hs.parse_response(&raw[..n]), Ok(None), "{name}: prefix {n}");
        }
        let err = hs.parse_response(&raw).expect_err(name);
        assert!(check(&err), "{name}: got {err:?}");
    }
    // RFC 6455 (not WHATWG): no subprotocol selected is fine by default.
    assert!(
        hs.parse_response(&answer(&hs, &[S101, UP, CONN, ACC]))
            .is_ok()
    );
}

#[test]
fn full_round_trip_through_both_roles() {
    let hs = ClientHandshake::new("example.com:9001", "/echo?x=1")
        .protocols(&["v2", "v1"])
        .origin("https://example.com")
        .extension("permessage-deflate; client_max_window_bits, x-frame")
        .header("Cookie", "a=b");
    assert_eq!(hs.offered_protocols(), ["v2", "v1"]);
    assert_eq!(hs.offered_extensions()[1].name(), "x-frame");
    let mut wire = Vec::new();
    hs.encode_request(&mut wire);
    let (req, used) = handshake::parse_request(&wire, &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(used, wire.len());
    assert_eq!(req.host(), "example.com:9001");
    assert_eq!(req.origin(), Some("https://example.com"));
    assert_eq!(req.protocols(), ["v2", "v1"]);
    assert_eq!(req.extensions().len(), 2);
    assert_eq!(req.header("cookie"), Some("a=b"));
    let mut back = Vec::new();
    req.accept()
        .protocol("v1")
        .extension("permessage-deflate; server_no_context_takeover")
        .header("Set-Cookie", "s=1")
        .encode(&mut back)
        .unwrap();
    let resp = parse_response_all_prefixes(&hs, &back).unwrap();
    assert_eq!(resp.protocol(), Some("v1"));
    assert_eq!(resp.extensions()[0].name(), "permessage-deflate");
    assert_eq!(resp.header("set-cookie"), Some("s=1"));
}
