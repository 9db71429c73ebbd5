//! The extended CONNECT handshake (RFC 8441 over HTTP/2, RFC 9220 over
//! HTTP/3), client role, rule by rule: the request fields from a URI, and
//! each answer row with its verdict; then both roles against each other.

use proptest::prelude::*;
use pushcodec::ws::handshake::{
    BuildError, ConnectHandshake, FieldError, Limits, RequestError, ResponseError,
    check_connect_request,
};

type Fields = Vec<(&'static str, &'static str)>;

/// A response row: what it is, its fields, and the subprotocol accepted or
/// the error.
type Row = (
    &'static str,
    Fields,
    Result<Option<&'static str>, ResponseError>,
);

fn malformed(name: &str, reason: &'static str) -> ResponseError {
    ResponseError::Field(FieldError::MalformedField {
        name: name.to_owned(),
        reason,
    })
}

fn client() -> ConnectHandshake {
    ConnectHandshake::new("wss://example.com/chat?room=1")
        .protocols(&["chat", "superchat"])
        .extension("permessage-deflate; client_max_window_bits")
}

#[test]
fn client_request_fields() {
    // RFC 8441 §3: not before the server's SETTINGS enabled it.
    assert_eq!(
        client().request_fields(false),
        Err(BuildError::ConnectProtocolNotEnabled)
    );
    let fields = client()
        .origin("https://example.com")
        .header("Authorization", "Bearer x")
        .request_fields(true)
        .unwrap();
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    // RFC 8441 §4, §5: pseudo-headers first; no host, upgrade,
    // connection or key; names lowercase.
    assert_eq!(
        fields,
        [
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "https"),
            (":authority", "example.com"),
            (":path", "/chat?room=1"),
            ("sec-websocket-version", "13"),
            ("origin", "https://example.com"),
            ("sec-websocket-protocol", "chat, superchat"),
            (
                "sec-websocket-extensions",
                "permessage-deflate; client_max_window_bits"
            ),
            ("authorization", "Bearer x"),
        ]
    );
    // What the client sends, the server accepts.
    let req = check_connect_request(fields, &Limits::default()).unwrap();
    assert_eq!(req.protocols(), ["chat", "superchat"]);

    for (uri, scheme, authority, path) in [
        ("ws://h:8080", "http", "h:8080", "/"),
        ("wss://h/a/b", "https", "h", "/a/b"),
        ("WSS://h?x=1", "https", "h", "/?x=1"),
        ("https://[::1]:9/", "https", "[::1]:9", "/"),
    ] {
        let hs = ConnectHandshake::new(uri);
        assert_eq!(
            (hs.scheme(), hs.authority(), hs.path()),
            (scheme, authority, path),
            "{uri}"
        );
    }
    for bad in [
        "ftp://h/",
        "//h/",
        "wss://h/#frag",
        "wss://user@h/",
        "wss:///p",
    ] {
        assert!(
            matches!(
                ConnectHandshake::try_new(bad),
                Err(BuildError::InvalidRequestPart { .. })
            ),
            "{bad}"
        );
    }
    // Connection-specific fields are refused, as are those the handshake writes.
    for name in [
        "Keep-Alive",
        "te",
        "connection",
        "host",
        "sec-websocket-key",
    ] {
        assert!(
            matches!(
                client().try_header(name, "x"),
                Err(BuildError::ReservedHeader { .. })
            ),
            "{name}"
        );
    }
}

#[test]
fn client_rule_table() {
    let rows: Vec<Row> = vec![
        (
            "200 with a chosen subprotocol",
            vec![(":status", "200"), ("sec-websocket-protocol", "chat")],
            Ok(Some("chat")),
        ),
        ("200 and nothing chosen", vec![(":status", "200")], Ok(None)),
        (
            "an accept field is ignored (RFC 8441 §5)",
            vec![(":status", "200"), ("sec-websocket-accept", "x")],
            Ok(None),
        ),
        (
            "an accepted extension among the offered",
            vec![
                (":status", "200"),
                (
                    "sec-websocket-extensions",
                    "permessage-deflate; client_max_window_bits=10",
                ),
            ],
            Ok(None),
        ),
        // RFC 8441 §5: exactly 200.
        ("101", vec![(":status", "101")], Err(status_err(101))),
        ("204", vec![(":status", "204")], Err(status_err(204))),
        ("302", vec![(":status", "302")], Err(status_err(302))),
        ("400", vec![(":status", "400")], Err(status_err(400))),
        // RFC 9113 §8.3.2: one well-formed :status, before the fields.
        (
            "no :status",
            vec![("sec-websocket-protocol", "chat")],
            Err(ResponseError::Field(FieldError::MissingPseudoHeader {
                name: ":status",
                section: "RFC 9113 §8.3.2",
            })),
        ),
        (
            "two-digit status",
            vec![(":status", "20")],
            Err(bad_status()),
        ),
        ("status 2000", vec![(":status", "2000")], Err(bad_status())),
        ("status +20", vec![(":status", "+20")], Err(bad_status())),
        (
            "two :status",
            vec![(":status", "200"), (":status", "200")],
            Err(malformed(
                ":status",
                "pseudo-header appears twice (RFC 9113 §8.3)",
            )),
        ),
        (
            "request pseudo-header in a response",
            vec![(":status", "200"), (":protocol", "websocket")],
            Err(malformed(
                ":protocol",
                "pseudo-header not defined for this message (RFC 9113 §8.3)",
            )),
        ),
        // RFC 9113 §8.2.2.
        (
            "upgrade",
            vec![(":status", "200"), ("upgrade", "websocket")],
            Err(ResponseError::Field(FieldError::ConnectionSpecificHeader {
                name: "upgrade".into(),
            })),
        ),
        // RFC 6455 §4.1 items 5 and 6.
        (
            "subprotocol not offered",
            vec![(":status", "200"), ("sec-websocket-protocol", "other")],
            Err(ResponseError::UnexpectedProtocol {
                protocol: "other".into(),
            }),
        ),
        (
            "two subprotocols",
            vec![
                (":status", "200"),
                ("sec-websocket-protocol", "chat, superchat"),
            ],
            Err(ResponseError::Field(FieldError::InvalidProtocolHeader {
                offset: 4,
                reason: "the server must select exactly one subprotocol token",
                section: "§11.3.4",
            })),
        ),
        (
            "two subprotocol fields",
            vec![
                (":status", "200"),
                ("sec-websocket-protocol", "chat"),
                ("sec-websocket-protocol", "chat"),
            ],
            Err(ResponseError::Field(FieldError::DuplicateHeader {
                name: "Sec-WebSocket-Protocol",
            })),
        ),
        (
            "extension not offered",
            vec![(":status", "200"), ("sec-websocket-extensions", "x-other")],
            Err(ResponseError::UnexpectedExtension {
                name: "x-other".into(),
            }),
        ),
    ];
    let hs = client();
    for (what, fields, expected) in rows {
        let got = hs.check_response(fields.iter().copied());
        match (&got, &expected) {
            (Ok(resp), Ok(protocol)) => {
                assert_eq!(resp.status(), 200, "{what}");
                assert_eq!(resp.protocol(), *protocol, "{what}");
            }
            (Err(ResponseError::UnexpectedConnectStatus { status, response }), Err(x)) => {
                assert!(
                    matches!(x, ResponseError::UnexpectedConnectStatus { status: s, .. } if s == status),
                    "{what}: {got:?}"
                );
                assert_eq!(response.status(), *status);
            }
            (Err(e), Err(x)) => assert_eq!(e, x, "{what}"),
            _ => panic!("{what}: got {got:?}, expected {expected:?}"),
        }
    }

    // The WHATWG rule, when asked: some offered, none chosen.
    let strict = client().require_protocol(true);
    assert_eq!(
        strict.check_response([(":status", "200")]),
        Err(ResponseError::MissingProtocol)
    );
}

fn status_err(status: u16) -> ResponseError {
    // Only the status is compared; the response is checked apart.
    match client().check_response([(":status", status.to_string())]) {
        Err(e) => e,
        Ok(r) => panic!("{status} accepted: {r:?}"),
    }
}

fn bad_status() -> ResponseError {
    malformed(":status", "not a three-digit status code (RFC 9110 §15)")
}

#[test]
fn round_trip_both_roles() {
    let hs = client();
    let req = check_connect_request(hs.request_fields(true).unwrap(), &Limits::default()).unwrap();
    let reply = req
        .accept()
        .protocol("chat")
        .extension("permessage-deflate")
        .build()
        .unwrap();
    let resp = hs.check_response(reply.fields()).unwrap();
    assert_eq!(resp.protocol(), Some("chat"));
    assert_eq!(resp.extensions()[0].name(), "permessage-deflate");
    assert_eq!(resp.header("sec-websocket-protocol"), Some("chat"));

    // A rejection reaches the client as UnexpectedConnectStatus, fields kept.
    let reply = RequestError::ConnectUnsupportedVersion { found: None }.connect_reply();
    match hs.check_response(reply.fields()) {
        Err(ResponseError::UnexpectedConnectStatus { status, response }) => {
            assert_eq!(status, 400);
            assert_eq!(response.header("sec-websocket-version"), Some("13"));
        }
        other => panic!("{other:?}"),
    }
}

/// Field names drawn so that real ones, pseudo-headers and bad ones all occur.
fn field() -> impl Strategy<Value = (String, Vec<u8>)> {
    let name = prop_oneof![
        Just(":method".to_owned()),
        Just(":protocol".to_owned()),
        Just(":scheme".to_owned()),
        Just(":authority".to_owned()),
        Just(":path".to_owned()),
        Just(":status".to_owned()),
        Just("sec-websocket-version".to_owned()),
        Just("sec-websocket-protocol".to_owned()),
        Just("sec-websocket-extensions".to_owned()),
        Just("host".to_owned()),
        Just("te".to_owned()),
        "[:a-zA-Z -]{0,8}",
    ];
    let value = prop_oneof![
        Just(b"CONNECT".to_vec()),
        Just(b"websocket".to_vec()),
        Just(b"https".to_vec()),
        Just(b"/".to_vec()),
        Just(b"13".to_vec()),
        Just(b"200".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..12),
    ];
    (name, value)
}

proptest! {
    /// Any field list: no panic, and a verdict that holds the rules.
    #[test]
    fn any_fields_never_panic_either_role(fields in proptest::collection::vec(field(), 0..14)) {
        let limits = Limits::default();
        match check_connect_request(fields.iter().map(|(n, v)| (n, v)), &limits) {
            Ok(req) => {
                prop_assert!(req.path().starts_with('/'));
                prop_assert!(req.scheme() == "http" || req.scheme() == "https");
                let reply = req.accept().build().unwrap();
                prop_assert_eq!(reply.status(), 200);
            }
            Err(e) => {
                let status = e.connect_reply().status();
                prop_assert!((400..=599).contains(&status) && status != 426);
            }
        }
        let _ = client().check_response(fields.iter().map(|(n, v)| (n, v)));
    }
}

/// The client over the `http` crate's types, as hyper hands them over.
#[cfg(feature = "http")]
mod http_types {
    use super::*;
    use pushcodec::ws::handshake;

    /// Stands for the stack's `:protocol` extension (`hyper::ext::Protocol`).
    #[derive(Clone, Debug, PartialEq)]
    struct Protocol(&'static str);

    impl AsRef<[u8]> for Protocol {
        fn as_ref(&self) -> &[u8] {
            self.0.as_bytes()
        }
    }

    #[test]
    fn http_round_trip_and_rejection() {
        let hs = client();
        assert_eq!(
            hs.to_http_request(false, Protocol).unwrap_err(),
            BuildError::ConnectProtocolNotEnabled
        );
        let req = hs.to_http_request(true, Protocol).unwrap();
        assert_eq!(req.method(), http::Method::CONNECT);
        assert_eq!(req.version(), http::Version::HTTP_2);
        assert_eq!(req.uri(), "https://example.com/chat?room=1");
        assert_eq!(
            req.extensions().get::<Protocol>(),
            Some(&Protocol("websocket"))
        );
        for absent in ["host", "upgrade", "connection", "sec-websocket-key"] {
            assert!(!req.headers().contains_key(absent), "{absent}");
        }
        let checked = handshake::check_http_connect_request::<Protocol, _>(&req).unwrap();
        let resp = checked
            .accept()
            .protocol("chat")
            .build()
            .unwrap()
            .to_http_response();
        assert_eq!(resp.status(), http::StatusCode::OK);
        assert_eq!(resp.body(), "");
        assert_eq!(
            hs.check_http_response(&resp).unwrap().protocol(),
            Some("chat")
        );

        let err = RequestError::MethodNotConnect {
            method: "GET".into(),
        };
        let resp = err.connect_reply().to_http_response();
        assert_eq!(resp.status(), http::StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(resp.headers()["allow"], "CONNECT");
        assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
        assert_eq!(resp.body(), &format!("{err}\n"));
        assert!(matches!(
            hs.check_http_response(&resp),
            Err(ResponseError::UnexpectedConnectStatus { status: 405, .. })
        ));
    }
}
