//! RFC 6455 §4 opening handshake, both roles, through the public API only.
//!
//! Every table case runs whole, byte by byte (each shorter prefix must be
//! `Ok(None)`, "need more") and with frame bytes behind the head (they must
//! be handed back through the consumed count).

#[allow(unused_imports)]
use crate::common::*;

use proptest::prelude::*;
use pushcodec::http1::HeadError;
use pushcodec::ws::handshake::{
    self, BuildError, ClientHandshake, ExtensionOffer, FieldError, HandshakeError, Limits, Request,
    RequestError, ResponseError,
};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const FRAMES: &[u8] = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"; // RFC 6455 §5.7 masked "Hello"

fn limits() -> Limits {
    Limits::default()
}

/// Runs a request through every prefix; returns the result on the whole
/// input after checking that every shorter prefix asked for more.
fn parse_all_prefixes(raw: &[u8]) -> Result<(Request, usize), RequestError> {
    for n in 0..raw.len() {
        match handshake::parse_request(&raw[..n], &limits()) {
            Ok(None) => {}
            other => panic!("prefix of {n} bytes gave {other:?}"),
        }
    }
    let (req, used) = handshake::parse_request(raw, &limits())?.expect("complete head");
    assert_eq!(used, raw.len());
    // The client's first frames right behind the head are handed back.
    let mut with_frames = raw.to_vec();
    with_frames.extend_from_slice(FRAMES);
    for extra in 1..=FRAMES.len() {
        let (again, used) = handshake::parse_request(&with_frames[..raw.len() + extra], &limits())?
            .expect("complete head");
        assert_eq!(used, raw.len());
        assert_eq!(again, req);
    }
    Ok((req, used))
}

#[test]
fn rfc6455_1_3_accept_key() {
    assert_eq!(
        handshake::accept_key(KEY.as_bytes()),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

// ---------------------------------------------------------------- server --

struct Valid {
    name: &'static str,
    raw: &'static [u8],
    path: &'static str,
    query: Option<&'static str>,
    host: &'static str,
    origin: Option<&'static str>,
    protocols: &'static [&'static str],
    extensions: &'static [&'static str],
}

const VALID: &[Valid] = &[
    Valid {
        name: "RFC 6455 §1.2 example",
        raw: b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
               Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
               Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
               Sec-WebSocket-Version: 13\r\n\r\n",
        path: "/chat",
        query: None,
        host: "server.example.com",
        origin: Some("http://example.com"),
        protocols: &["chat", "superchat"],
        extensions: &[],
    },
    Valid {
        name: "Firefox: keep-alive, Upgrade; deflate offer; port",
        raw: b"GET /ws?room=1&t=x HTTP/1.1\r\nHost: localhost:8080\r\n\
               User-Agent: Mozilla/5.0\r\nAccept: */*\r\nSec-WebSocket-Version: 13\r\n\
               Origin: http://localhost:8080\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\
               Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nConnection: keep-alive, Upgrade\r\n\
               Upgrade: websocket\r\n\r\n",
        path: "/ws?room=1&t=x",
        query: Some("room=1&t=x"),
        host: "localhost:8080",
        origin: Some("http://localhost:8080"),
        protocols: &[],
        extensions: &["permessage-deflate"],
    },
    Valid {
        name: "Chrome: lowercase names, mixed-case tokens",
        raw: b"GET / HTTP/1.1\r\nhost: a.example\r\nconnection: UPGRADE\r\nupgrade: WebSocket\r\n\
               sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
               sec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
        path: "/",
        query: None,
        host: "a.example",
        origin: None,
        protocols: &[],
        extensions: &["permessage-deflate; client_max_window_bits"],
    },
    Valid {
        name: "repeated list headers merge (RFC 9110 §5.3)",
        raw: b"GET /x HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nConnection: Upgrade\r\n\
               Upgrade: h2c, websocket\r\nSec-WebSocket-Key:   dGhlIHNhbXBsZSBub25jZQ==  \r\n\
               Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a\r\n\
               Sec-WebSocket-Protocol: , b ,c\r\nSec-WebSocket-Extensions: x; y=\"1\"\r\n\
               Sec-WebSocket-Extensions: z\r\n\r\n",
        path: "/x",
        query: None,
        host: "h",
        origin: None,
        protocols: &["a", "b", "c"],
        extensions: &["x; y=1", "z"],
    },
    Valid {
        name: "bare LF line ends and a leading empty line (RFC 9112 §2.2)",
        raw: b"\r\nGET /lf HTTP/1.1\nHost: h\nUpgrade: websocket\nConnection: Upgrade\n\
               Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n",
        path: "/lf",
        query: None,
        host: "h",
        origin: None,
        protocols: &[],
        extensions: &[],
    },
];

#[test]
fn valid_requests_whole_byte_by_byte_and_with_frames() {
    for case in VALID {
        let (req, _) =
            parse_all_prefixes(case.raw).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(req.method(), "GET", "{}", case.name);
        assert_eq!(req.path(), case.path, "{}", case.name);
        assert_eq!(req.query(), case.query, "{}", case.name);
        assert_eq!(req.host(), case.host, "{}", case.name);
        assert_eq!(req.origin(), case.origin, "{}", case.name);
        assert_eq!(req.key(), KEY, "{}", case.name);
        assert_eq!(req.protocols(), case.protocols, "{}", case.name);
        let ext: Vec<String> = req.extensions().iter().map(ToString::to_string).collect();
        assert_eq!(ext, case.extensions, "{}", case.name);
        // Accepting always works and carries the RFC's accept value.
        let mut out = Vec::new();
        req.accept().encode(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(text.contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }
}

#[test]
fn zero_content_length_is_no_body() {
    let raw = request(GET, &[], &[("Content-Length", "0")]);
    let (_, used) = handshake::parse_request(&raw, &limits()).unwrap().unwrap();
    assert_eq!(used, raw.len());
}

#[test]
fn headers_are_exposed_for_authentication() {
    let raw = b"GET /a HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
                Cookie: session=abc\r\nAuthorization: Bearer t\r\nX-Bin: \xff\r\n\r\n";
    let (req, _) = handshake::parse_request(raw, &limits()).unwrap().unwrap();
    assert_eq!(req.header("COOKIE"), Some("session=abc"));
    assert_eq!(req.header("authorization"), Some("Bearer t"));
    assert_eq!(req.header("x-bin"), None); // not UTF-8: raw bytes below
    assert_eq!(req.header("missing"), None);
    let all: Vec<(&str, &[u8])> = req.headers().collect();
    assert_eq!(all.len(), 8);
    assert_eq!(all[7], ("X-Bin", &b"\xff"[..]));
}

/// The header lines of a valid request; cases edit them.
const BASE: &[(&str, &str)] = &[
    ("Host", "h"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", KEY),
    ("Sec-WebSocket-Version", "13"),
];

fn request(line: &str, drop: &[&str], add: &[(&str, &str)]) -> Vec<u8> {
    let mut s = format!("{line}\r\n");
    for (n, v) in BASE.iter().filter(|(n, _)| !drop.contains(n)) {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    for (n, v) in add {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.into_bytes()
}

const GET: &str = "GET / HTTP/1.1";

#[test]
fn each_required_header_missing_or_wrong() {
    type Check = fn(&RequestError) -> bool;
    let cases: Vec<(&str, Vec<u8>, Check, u16)> = vec![
        (
            "§4.2.1 item 1: POST",
            request("POST / HTTP/1.1", &[], &[]),
            |e| matches!(e, RequestError::MethodNotGet { method } if method == "POST"),
            405,
        ),
        (
            "§4.2.1 item 1: methods are case-sensitive",
            request("get / HTTP/1.1", &[], &[]),
            |e| matches!(e, RequestError::MethodNotGet { .. }),
            405,
        ),
        (
            "§4.2.1 item 1: HTTP/1.0",
            request("GET / HTTP/1.0", &[], &[]),
            |e| matches!(e, RequestError::HttpVersion { version } if version == "HTTP/1.0"),
            400,
        ),
        (
            "§4.2.1 item 2: no Host",
            request(GET, &["Host"], &[]),
            |e| matches!(e, RequestError::MissingHost),
            400,
        ),
        (
            "RFC 9112 §3.2: two Hosts",
            request(GET, &[], &[("Host", "x")]),
            |e| {
                matches!(
                    e,
                    RequestError::Field(FieldError::DuplicateHeader { name: "Host" })
                )
            },
            400,
        ),
        (
            "§4.2.1 item 2: empty Host",
            request(GET, &["Host"], &[("Host", "")]),
            |e| matches!(e, RequestError::InvalidHeader { name: "Host", .. }),
            400,
        ),
        (
            "§4.2.1 item 3: no Upgrade",
            request(GET, &["Upgrade"], &[]),
            |e| {
                matches!(
                    e,
                    RequestError::Field(FieldError::UpgradeNotWebSocket { found: None, .. })
                )
            },
            400,
        ),
        (
            "§4.2.1 item 3: Upgrade h2c",
            request(GET, &["Upgrade"], &[("Upgrade", "h2c")]),
            |e| matches!(e, RequestError::Field(FieldError::UpgradeNotWebSocket { found: Some(f), .. }) if f == "h2c"),
            400,
        ),
        (
            "§4.2.1 item 3: Upgrade websockets",
            request(GET, &["Upgrade"], &[("Upgrade", "websockets")]),
            |e| {
                matches!(
                    e,
                    RequestError::Field(FieldError::UpgradeNotWebSocket { .. })
                )
            },
            400,
        ),
        (
            "§4.2.1 item 4: no Connection",
            request(GET, &["Connection"], &[]),
            |e| {
                matches!(
                    e,
                    RequestError::Field(FieldError::ConnectionNotUpgrade { found: None, .. })
                )
            },
            400,
        ),
        (
            "§4.2.1 item 4: Connection keep-alive",
            request(GET, &["Connection"], &[("Connection", "keep-alive")]),
            |e| {
                matches!(
                    e,
                    RequestError::Field(FieldError::ConnectionNotUpgrade { found: Some(_), .. })
                )
            },
            400,
        ),
        (
            "§4.2.1 item 4: token inside a token",
            request(GET, &["Connection"], &[("Connection", "upgraded")]),
            |e| {
                matches!(
                    e,
                    RequestError::Field(FieldError::ConnectionNotUpgrade { .. })
                )
            },
            400,
        ),
        (
            "§4.2.1 item 5: no key",
            request(GET, &["Sec-WebSocket-Key"], &[]),
            |e| matches!(e, RequestError::MissingKey),
            400,
        ),
        (
            "§4.2.1 item 5: key of 15 bytes",
            request(
                GET,
                &["Sec-WebSocket-Key"],
                &[("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA")],
            ),
            |e| matches!(e, RequestError::InvalidKey { .. }),
            400,
        ),
        (
            "§4.2.1 item 5: key of 17 bytes",
            request(
                GET,
                &["Sec-WebSocket-Key"],
                &[("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAAA=")],
            ),
            |e| matches!(e, RequestError::InvalidKey { .. }),
            400,
        ),
        (
            "§4.2.1 item 5: key not base64",
            request(
                GET,
                &["Sec-WebSocket-Key"],
                &[("Sec-WebSocket-Key", "not base64 at all!!!!!!!")],
            ),
            |e| matches!(e, RequestError::InvalidKey { .. }),
            400,
        ),
        (
            "§11.3.1: two keys",
            request(GET, &[], &[("Sec-WebSocket-Key", KEY)]),
            |e| {
                matches!(
                    e,
                    RequestError::Field(FieldError::DuplicateHeader {
                        name: "Sec-WebSocket-Key"
                    })
                )
            },
            400,
        ),
        (
            "§4.2.1 item 6: no version",
            request(GET, &["Sec-WebSocket-Version"], &[]),
            |e| matches!(e, RequestError::UnsupportedVersion { found: None }),
            426,
        ),
        (
            "§4.2.1 item 6: version 8",
            request(
                GET,
                &["Sec-WebSocket-Version"],
                &[("Sec-WebSocket-Version", "8")],
            ),
            |e| matches!(e, RequestError::UnsupportedVersion { found: Some(v) } if v == "8"),
            426,
        ),
        (
            "§4.2.1 item 6: version list",
            request(
                GET,
                &["Sec-WebSocket-Version"],
                &[("Sec-WebSocket-Version", "13, 8")],
            ),
            |e| matches!(e, RequestError::UnsupportedVersion { .. }),
            426,
        ),
        (
            "§4.1 item 10: protocol not a token",
            request(GET, &[], &[("Sec-WebSocket-Protocol", "chat, a b")]),
            |e| {
                matches!(
                    e,
                    RequestError::Field(FieldError::InvalidProtocolHeader { offset: 6, .. })
                )
            },
            400,
        ),
        (
            "§4.1 item 10: protocol offered twice",
            request(
                GET,
                &[],
                &[
                    ("Sec-WebSocket-Protocol", "a"),
                    ("Sec-WebSocket-Protocol", "a"),
                ],
            ),
            |e| {
                matches!(
                    e,
                    RequestError::Field(FieldError::InvalidProtocolHeader { .. })
                )
            },
            400,
        ),
        (
            "§9.1: extension grammar",
            request(
                GET,
                &[],
                &[("Sec-WebSocket-Extensions", "permessage-deflate; x=\"a b\"")],
            ),
            |e| {
                matches!(
                    e,
                    RequestError::Field(FieldError::InvalidExtensionHeader { offset: 22, .. })
                )
            },
            400,
        ),
        (
            "RFC 9112: malformed header line",
            request(GET, &[], &[("Bad Name", "1")]),
            |e| matches!(e, RequestError::Head(HeadError::Malformed { .. })),
            400,
        ),
        (
            "§4.2.1 order: method before Host",
            request("PUT / HTTP/1.1", &["Host"], &[]),
            |e| matches!(e, RequestError::MethodNotGet { .. }),
            405,
        ),
        (
            "§4.2.1 order: Host before key",
            request(GET, &["Host", "Sec-WebSocket-Key"], &[]),
            |e| matches!(e, RequestError::MissingHost),
            400,
        ),
        (
            "§4.2.1 order: Upgrade before version",
            request(GET, &["Upgrade", "Sec-WebSocket-Version"], &[]),
            |e| {
                matches!(
                    e,
                    RequestError::Field(FieldError::UpgradeNotWebSocket { .. })
                )
            },
            400,
        ),
    ];
    let body_cases: Vec<(&str, Vec<u8>, Check, u16)> = vec![
        (
            "RFC 9112 §6: no body on a handshake (Content-Length)",
            request(GET, &[], &[("Content-Length", "5")]),
            |e| {
                matches!(
                    e,
                    RequestError::InvalidHeader {
                        name: "Content-Length",
                        ..
                    }
                )
            },
            400,
        ),
        (
            "RFC 9112 §6: no body on a handshake (chunked)",
            request(GET, &[], &[("Transfer-Encoding", "chunked")]),
            |e| {
                matches!(
                    e,
                    RequestError::InvalidHeader {
                        name: "Transfer-Encoding",
                        ..
                    }
                )
            },
            400,
        ),
    ];
    for (name, raw, check, status) in cases.into_iter().chain(body_cases) {
        // The error comes only once the head is complete, never before.
        for n in 0..raw.len() {
            assert_eq!(
                handshake::parse_request(&raw[..n], &limits()),
                Ok(None),
                "{name}: prefix {n}"
            );
        }
        let err = handshake::parse_request(&raw, &limits()).expect_err(name);
        assert!(check(&err), "{name}: got {err:?}");
        assert_eq!(err.status(), status, "{name}");
        assert!(err.to_string().contains("RFC"), "{name}: message {err}");
        // The rejection parses as an HTTP response with that status.
        let mut out = Vec::new();
        err.encode_response(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(&format!("HTTP/1.1 {status} ")),
            "{name}: {text}"
        );
        assert!(text.contains("\r\nConnection: "), "{name}");
        if status == 426 {
            // RFC 6455 §4.2.2: tell the client which version we speak.
            assert!(text.contains("\r\nSec-WebSocket-Version: 13\r\n"), "{name}");
        }
    }
}

#[test]
fn rejection_parses_with_our_client_as_unexpected_status() {
    let hs = ClientHandshake::new("h", "/");
    let mut out = Vec::new();
    handshake::encode_reject(
        401,
        "bad token",
        &[("WWW-Authenticate", "Bearer realm=\"ws\"")],
        &mut out,
    )
    .unwrap();
    let (body_start, resp) = match hs.parse_response(&out) {
        Err(ResponseError::UnexpectedStatus {
            status: 401,
            response,
        }) => {
            let head_len = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            (head_len, response)
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(resp.header("www-authenticate"), Some("Bearer realm=\"ws\""));
    let len: usize = resp.header("content-length").unwrap().parse().unwrap();
    assert_eq!(&out[body_start..], b"bad token\n");
    assert_eq!(len, out.len() - body_start);
}

// ---------------------------------------------------------------- limits --

#[test]
fn head_byte_limit_is_exact_and_enforced_before_completion() {
    let raw = request(GET, &[], &[]);
    let mut l = Limits::default();
    l.max_head_bytes = raw.len();
    assert!(handshake::parse_request(&raw, &l).unwrap().is_some());
    l.max_head_bytes = raw.len() - 1;
    assert_eq!(
        handshake::parse_request(&raw, &l),
        Err(RequestError::Head(HeadError::TooLarge {
            limit: raw.len() - 1
        }))
    );
    // A peer dripping an endless header: "need more" up to the limit,
    // refused the moment the limit is reached, before any blank line.
    let mut drip = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
    drip.resize(Limits::default().max_head_bytes + 100, b'a');
    let limit = Limits::default().max_head_bytes;
    for n in [0, 1, limit / 2, limit - 1] {
        assert_eq!(handshake::parse_request(&drip[..n], &limits()), Ok(None));
    }
    for n in [limit, limit + 1, drip.len()] {
        let e = handshake::parse_request(&drip[..n], &limits()).unwrap_err();
        assert_eq!(e, RequestError::Head(HeadError::TooLarge { limit }));
        assert_eq!(e.status(), 431);
    }
    let mut out = Vec::new();
    RequestError::Head(HeadError::TooLarge { limit }).encode_response(&mut out);
    assert!(out.starts_with(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"));
}

#[test]
fn header_count_limit() {
    let extra: Vec<(String, String)> = (0..10)
        .map(|i| (format!("X-{i}"), "v".to_owned()))
        .collect();
    let extra_ref: Vec<(&str, &str)> = extra
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let raw = request(GET, &[], &extra_ref);
    let total = BASE.len() + extra.len();
    let mut l = Limits::default();
    l.max_headers = total;
    assert!(handshake::parse_request(&raw, &l).unwrap().is_some());
    l.max_headers = total - 1;
    let e = handshake::parse_request(&raw, &l).unwrap_err();
    assert_eq!(
        e,
        RequestError::Head(HeadError::TooManyHeaders { limit: total - 1 })
    );
    assert_eq!(e.status(), 431);
    // The same limit binds a client reading a response.
    let hs = ClientHandshake::new("h", "/").limits(l);
    let mut resp = String::from("HTTP/1.1 101 Switching Protocols\r\n");
    for i in 0..total {
        resp.push_str(&format!("X-{i}: v\r\n"));
    }
    resp.push_str("\r\n");
    assert_eq!(
        hs.parse_response(resp.as_bytes()),
        Err(ResponseError::Head(HeadError::TooManyHeaders {
            limit: total - 1
        }))
    );
}

// ---------------------------------------------------------------- accept --

fn rfc_request() -> Request {
    handshake::parse_request(VALID[0].raw, &limits())
        .unwrap()
        .unwrap()
        .0
}

#[test]
fn accept_builder_rules() {
    let req = rfc_request();
    let mut out = Vec::new();
    assert_eq!(
        req.accept().protocol("nope").encode(&mut out),
        Err(BuildError::ProtocolNotOffered {
            protocol: "nope".into()
        })
    );
    for name in [
        "Upgrade",
        "connection",
        "Sec-WebSocket-Accept",
        "Sec-WebSocket-Protocol",
    ] {
        assert!(
            matches!(
                req.accept().header(name, "x").encode(&mut out),
                Err(BuildError::ReservedHeader { .. })
            ),
            "{name}"
        );
    }
    assert!(matches!(
        req.accept()
            .header("X-A", "1\r\n\r\nHTTP/1.1 200 OK")
            .encode(&mut out),
        Err(BuildError::InvalidHeaderValue { .. })
    ));
    assert!(matches!(
        req.accept().header("X:A", "1").encode(&mut out),
        Err(BuildError::InvalidHeaderName { .. })
    ));
    assert!(out.is_empty(), "nothing written on error");
    // Builder misuse is the application's own fault: it has no status to
    // answer with, and converts into the wrapper like the others.
    assert!(matches!(
        HandshakeError::from(BuildError::ProtocolNotOffered {
            protocol: String::new()
        }),
        HandshakeError::Build(_)
    ));
}

// ------------------------------------------------------------- proptest --

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = handshake::parse_request(&bytes, &limits());
        let _ = ClientHandshake::new("h", "/").protocols(&["a"]).parse_response(&bytes);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = ExtensionOffer::parse_list(s);
        }
    }

    #[test]
    fn arbitrary_header_values_never_panic(
        name in "[A-Za-z-]{1,24}",
        value in proptest::collection::vec(any::<u8>().prop_filter("no line end", |b| *b != b'\r' && *b != b'\n'), 0..64),
        tail in proptest::collection::vec(any::<u8>(), 0..32),
    ) {
        let mut raw = request(GET, &[], &[]);
        raw.truncate(raw.len() - 2);
        raw.extend_from_slice(name.as_bytes());
        raw.extend_from_slice(b": ");
        raw.extend_from_slice(&value);
        raw.extend_from_slice(b"\r\n\r\n");
        let head_len = raw.len();
        raw.extend_from_slice(&tail);
        match handshake::parse_request(&raw, &limits()) {
            Ok(Some((_, used))) => prop_assert_eq!(used, head_len),
            Ok(None) => prop_assert!(false, "a complete head asked for more"),
            Err(e) => prop_assert!(e.status() >= 400),
        }
    }

    #[test]
    fn extension_lists_round_trip(
        items in proptest::collection::vec(
            ("[a-z][a-z0-9_-]{0,10}", proptest::collection::vec(("[a-z_]{1,8}", proptest::option::of("[0-9A-Za-z]{1,4}")), 0..4)),
            1..4,
        ),
        quote in any::<bool>(),
    ) {
        let text: Vec<String> = items.iter().map(|(n, ps)| {
            let mut s = n.clone();
            for (p, v) in ps {
                s.push_str(" ; ");
                s.push_str(p);
                if let Some(v) = v {
                    if quote { s.push_str(&format!("=\"{v}\"")); } else { s.push_str(&format!("={v}")); }
                }
            }
            s
        }).collect();
        let parsed = ExtensionOffer::parse_list(&text.join(" ,")).unwrap();
        prop_assert_eq!(parsed.len(), items.len());
        for (offer, (n, ps)) in parsed.iter().zip(&items) {
            prop_assert_eq!(offer.name(), n.as_str());
            prop_assert_eq!(offer.params(), ps.as_slice());
        }
        let again: Vec<String> = parsed.iter().map(ToString::to_string).collect();
        prop_assert_eq!(ExtensionOffer::parse_list(&again.join(", ")).unwrap(), parsed);
    }
}

#[test]
fn rejection_426_bytes() {
    let raw = request(
        GET,
        &["Sec-WebSocket-Version"],
        &[("Sec-WebSocket-Version", "8")],
    );
    let err = handshake::parse_request(&raw, &limits()).unwrap_err();
    let mut out = Vec::new();
    err.encode_response(&mut out);
    let body = format!("{err}\n");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!(
            "HTTP/1.1 426 Upgrade Required\r\nConnection: Upgrade, close\r\n\
             Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    );
}
