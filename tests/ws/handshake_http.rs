//! The handshake over the `http` crate's types (feature `http`): the same
//! RFC 6455 §4.1 / §4.2.1 rules as the byte parser.
#![cfg(feature = "http")]

use pushcodec::ws::handshake::{self, BuildError, ClientHandshake, Limits, ResponseError};

fn base() -> http::request::Builder {
    http::Request::get("/chat?room=1")
        .header("host", "example.com")
        .header("upgrade", "websocket")
        .header("connection", "keep-alive, Upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
}

#[test]
fn same_verdict_as_the_byte_parser() {
    // Each request is checked both as http::Request and as bytes.
    type Edit = fn(http::request::Builder) -> http::request::Builder;
    let edits: &[(&str, Edit)] = &[
        ("valid", |b| b),
        ("post", |b| b.method("POST")),
        ("wrong version", |b| b.header("sec-websocket-version", "8")),
        ("offers", |b| {
            b.header("sec-websocket-protocol", "a, b").header(
                "sec-websocket-extensions",
                "permessage-deflate; client_max_window_bits",
            )
        }),
        ("bad protocol", |b| {
            b.header("sec-websocket-protocol", "a b")
        }),
        ("bad key", |b| b.header("sec-websocket-key", "AAAA")),
    ];
    for (name, edit) in edits {
        let req = edit(base()).body(()).unwrap();
        let via_http = handshake::check_http_request(&req);
        let mut raw = format!("{} {} HTTP/1.1\r\n", req.method(), req.uri());
        for (n, v) in req.headers() {
            raw.push_str(&format!("{}: {}\r\n", n, v.to_str().unwrap()));
        }
        raw.push_str("\r\n");
        let via_bytes = handshake::parse_request(raw.as_bytes(), &Limits::default())
            .map(|o| o.expect("complete").0);
        match (&via_http, &via_bytes) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.path(), b.path(), "{name}");
                assert_eq!(a.protocols(), b.protocols(), "{name}");
                assert_eq!(a.extensions(), b.extensions(), "{name}");
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "{name}"),
            _ => panic!("{name}: {via_http:?} vs {via_bytes:?}"),
        }
    }
}

#[test]
fn accept_and_reject_as_http_responses() {
    let req = base()
        .header("sec-websocket-protocol", "chat")
        .body(())
        .unwrap();
    let checked = handshake::check_http_request(&req).unwrap();
    let resp = checked
        .accept()
        .protocol("chat")
        .header("set-cookie", "s=1")
        .into_http_response()
        .unwrap();
    assert_eq!(resp.status(), 101);
    assert_eq!(resp.headers()["upgrade"], "websocket");
    assert_eq!(resp.headers()["sec-websocket-protocol"], "chat");
    assert_eq!(
        resp.headers()["sec-websocket-accept"],
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert_eq!(
        checked
            .accept()
            .protocol("other")
            .into_http_response()
            .unwrap_err(),
        BuildError::ProtocolNotOffered {
            protocol: "other".into()
        }
    );

    let err = handshake::check_http_request(&base().method("PUT").body(()).unwrap()).unwrap_err();
    let rejection = err.to_http_response();
    assert_eq!(rejection.status(), 405);
    assert_eq!(rejection.headers()["allow"], "GET");
}

#[test]
fn client_over_http_types() {
    let hs = ClientHandshake::new("example.com", "/chat")
        .protocols(&["a"])
        .require_protocol(true);
    let req = hs.to_http_request().unwrap();
    assert_eq!(req.method(), http::Method::GET);
    assert_eq!(req.headers()["host"], "example.com");
    assert_eq!(req.headers()["sec-websocket-key"], hs.key());

    let server_side = handshake::check_http_request(&req).unwrap();
    let ok = server_side
        .accept()
        .protocol("a")
        .into_http_response()
        .unwrap();
    assert_eq!(hs.check_http_response(&ok).unwrap().protocol(), Some("a"));

    // WHATWG rule: offered and required, none selected.
    let none = server_side.accept().into_http_response().unwrap();
    assert_eq!(
        hs.check_http_response(&none),
        Err(ResponseError::MissingProtocol)
    );
    // A wrong accept value is caught the same way as on bytes.
    let mut bad = ok.clone();
    bad.headers_mut().insert(
        "sec-websocket-accept",
        http::HeaderValue::from_static("AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    );
    assert!(matches!(
        hs.check_http_response(&bad),
        Err(ResponseError::AcceptMismatch { .. })
    ));
}
