//! The extended CONNECT handshake (RFC 8441 over HTTP/2, RFC 9220 over
//! HTTP/3), server role, rule by rule: each row edits a browser's request
//! and names the verdict and the status the server answers with.

use pushcodec::ws::handshake::{
    self, BuildError, FieldError, Limits, RequestError, check_connect_request,
};

type Fields = Vec<(&'static str, &'static str)>;

/// What Firefox sends for `new WebSocket("wss://example.com/chat?room=1",
/// ["chat", "superchat"])` over HTTP/2, `sec-websocket-key` included
/// (ignored: `:protocol` replaces it, RFC 8441 §5).
fn browser_request() -> Fields {
    vec![
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "https"),
        (":authority", "example.com"),
        (":path", "/chat?room=1"),
        ("user-agent", "Mozilla/5.0"),
        ("sec-websocket-version", "13"),
        ("origin", "https://example.com"),
        ("sec-websocket-protocol", "chat, superchat"),
        (
            "sec-websocket-extensions",
            "permessage-deflate; client_max_window_bits",
        ),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ]
}

fn set(f: &mut Fields, name: &'static str, value: &'static str) {
    match f.iter_mut().find(|(n, _)| *n == name) {
        Some(field) => field.1 = value,
        None => f.push((name, value)),
    }
}

fn remove(f: &mut Fields, name: &str) {
    f.retain(|(n, _)| *n != name);
}

fn add(f: &mut Fields, name: &'static str, value: &'static str) {
    f.push((name, value));
}

type Edit = fn(&mut Fields);

fn malformed(name: &str, reason: &'static str) -> RequestError {
    RequestError::Field(FieldError::MalformedField {
        name: name.to_owned(),
        reason,
    })
}

const CONNECTION_SPECIFIC: &[&str] = &[
    "connection",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
];

/// Checks the rejection every server error produces over HTTP/2: its
/// status, and that it never carries a field HTTP/2 forbids.
fn check_reply(err: &RequestError, status: u16) {
    let reply = err.connect_reply();
    assert_eq!(reply.status(), status, "{err}");
    assert_ne!(
        reply.status(),
        426,
        "426 needs Upgrade, forbidden in HTTP/2"
    );
    for (name, _) in reply.headers() {
        assert_eq!(name, name.to_ascii_lowercase());
        assert!(!CONNECTION_SPECIFIC.contains(&name), "{name} in {reply:?}");
    }
    assert_eq!(reply.body(), format!("{err}\n"));
}

#[test]
fn server_rule_table() {
    let pseudo_order = "pseudo-header after a regular field (RFC 9113 §8.3)";
    let rows: Vec<(&str, Edit, Result<(), RequestError>, u16)> = vec![
        ("browser request", |_| {}, Ok(()), 200),
        (
            "te: trailers is allowed",
            |f| add(f, "te", "trailers"),
            Ok(()),
            200,
        ),
        (
            "content-length: 0 is allowed",
            |f| add(f, "content-length", "0"),
            Ok(()),
            200,
        ),
        (
            "host equal to :authority",
            |f| add(f, "host", "EXAMPLE.com"),
            Ok(()),
            200,
        ),
        (
            "no offers at all",
            |f| {
                remove(f, "sec-websocket-protocol");
                remove(f, "sec-websocket-extensions");
                remove(f, "origin");
            },
            Ok(()),
            200,
        ),
        // RFC 9113 §8.3.1, RFC 8441 §4: the method.
        (
            "no :method",
            |f| remove(f, ":method"),
            Err(RequestError::Field(FieldError::MissingPseudoHeader {
                name: ":method",
                section: "RFC 9113 §8.3.1",
            })),
            400,
        ),
        (
            "GET",
            |f| set(f, ":method", "GET"),
            Err(RequestError::MethodNotConnect {
                method: "GET".into(),
            }),
            405,
        ),
        (
            "methods are case-sensitive",
            |f| set(f, ":method", "connect"),
            Err(RequestError::MethodNotConnect {
                method: "connect".into(),
            }),
            405,
        ),
        // RFC 8441 §4: :protocol websocket, exactly.
        (
            "plain CONNECT",
            |f| remove(f, ":protocol"),
            Err(RequestError::ConnectProtocolNotWebSocket { found: None }),
            400,
        ),
        (
            "other protocol",
            |f| set(f, ":protocol", "connect-udp"),
            Err(RequestError::ConnectProtocolNotWebSocket {
                found: Some("connect-udp".into()),
            }),
            400,
        ),
        (
            "protocol is byte-exact",
            |f| set(f, ":protocol", "WebSocket"),
            Err(RequestError::ConnectProtocolNotWebSocket {
                found: Some("WebSocket".into()),
            }),
            400,
        ),
        // RFC 8441 §4: :scheme and :path MUST be present with :protocol.
        (
            "no :scheme",
            |f| remove(f, ":scheme"),
            Err(RequestError::Field(FieldError::MissingPseudoHeader {
                name: ":scheme",
                section: "RFC 8441 §4",
            })),
            400,
        ),
        (
            "scheme ws",
            |f| set(f, ":scheme", "ws"),
            Err(malformed(
                ":scheme",
                "must be http (ws) or https (wss) (RFC 8441 §5)",
            )),
            400,
        ),
        (
            "no :path",
            |f| remove(f, ":path"),
            Err(RequestError::Field(FieldError::MissingPseudoHeader {
                name: ":path",
                section: "RFC 8441 §4",
            })),
            400,
        ),
        (
            "relative path",
            |f| set(f, ":path", "chat"),
            Err(malformed(
                ":path",
                "must start with '/' for http and https (RFC 9113 §8.3.1)",
            )),
            400,
        ),
        (
            "asterisk path",
            |f| set(f, ":path", "*"),
            Err(malformed(
                ":path",
                "must start with '/' for http and https (RFC 9113 §8.3.1)",
            )),
            400,
        ),
        // RFC 8441 §4 / RFC 9113 §8.3.1: the host is :authority.
        (
            "no :authority",
            |f| remove(f, ":authority"),
            Err(RequestError::Field(FieldError::MissingPseudoHeader {
                name: ":authority",
                section: "RFC 8441 §4",
            })),
            400,
        ),
        (
            "userinfo in :authority",
            |f| set(f, ":authority", "user@example.com"),
            Err(malformed(
                ":authority",
                "must not hold userinfo for http and https (RFC 9113 §8.3.1)",
            )),
            400,
        ),
        (
            "host differs",
            |f| add(f, "host", "evil.example"),
            Err(RequestError::InvalidHeader {
                name: "Host",
                reason: "differs from :authority (RFC 9113 §8.3.1)",
            }),
            400,
        ),
        // RFC 8441 §5 keeps RFC 6455 §4.2.1 item 6; 400, not 426.
        (
            "no version",
            |f| remove(f, "sec-websocket-version"),
            Err(RequestError::ConnectUnsupportedVersion { found: None }),
            400,
        ),
        (
            "version 8",
            |f| set(f, "sec-websocket-version", "8"),
            Err(RequestError::ConnectUnsupportedVersion {
                found: Some("8".into()),
            }),
            400,
        ),
        (
            "two versions",
            |f| add(f, "sec-websocket-version", "13"),
            Err(RequestError::Field(FieldError::DuplicateHeader {
                name: "Sec-WebSocket-Version",
            })),
            400,
        ),
        // RFC 9113 §8.2.2, RFC 9114 §4.2: connection-specific fields.
        (
            "connection",
            |f| add(f, "connection", "upgrade"),
            Err(RequestError::Field(FieldError::ConnectionSpecificHeader {
                name: "connection".into(),
            })),
            400,
        ),
        (
            "upgrade",
            |f| add(f, "upgrade", "websocket"),
            Err(RequestError::Field(FieldError::ConnectionSpecificHeader {
                name: "upgrade".into(),
            })),
            400,
        ),
        (
            "keep-alive",
            |f| add(f, "keep-alive", "5"),
            Err(RequestError::Field(FieldError::ConnectionSpecificHeader {
                name: "keep-alive".into(),
            })),
            400,
        ),
        (
            "proxy-connection",
            |f| add(f, "proxy-connection", "keep-alive"),
            Err(RequestError::Field(FieldError::ConnectionSpecificHeader {
                name: "proxy-connection".into(),
            })),
            400,
        ),
        (
            "transfer-encoding",
            |f| add(f, "transfer-encoding", "chunked"),
            Err(RequestError::Field(FieldError::ConnectionSpecificHeader {
                name: "transfer-encoding".into(),
            })),
            400,
        ),
        (
            "te other than trailers",
            |f| add(f, "te", "gzip"),
            Err(RequestError::Field(FieldError::ConnectionSpecificHeader {
                name: "te".into(),
            })),
            400,
        ),
        (
            "connection-specific is checked before the method",
            |f| {
                set(f, ":method", "GET");
                add(f, "upgrade", "websocket");
            },
            Err(RequestError::Field(FieldError::ConnectionSpecificHeader {
                name: "upgrade".into(),
            })),
            400,
        ),
        // RFC 9110 §9.3.6: a CONNECT has no content.
        (
            "content",
            |f| add(f, "content-length", "5"),
            Err(RequestError::InvalidHeader {
                name: "Content-Length",
                reason: "a CONNECT request has no content (RFC 9110 §9.3.6)",
            }),
            400,
        ),
        // RFC 9113 §8.3 and §8.2.1: field syntax.
        (
            ":status in a request",
            |f| f.insert(0, (":status", "200")),
            Err(malformed(
                ":status",
                "pseudo-header not defined for this message (RFC 9113 §8.3)",
            )),
            400,
        ),
        (
            "unknown pseudo-header",
            |f| f.insert(0, (":foo", "x")),
            Err(malformed(
                ":foo",
                "pseudo-header not defined for this message (RFC 9113 §8.3)",
            )),
            400,
        ),
        (
            "repeated pseudo-header",
            |f| f.insert(1, (":path", "/other")),
            Err(malformed(
                ":path",
                "pseudo-header appears twice (RFC 9113 §8.3)",
            )),
            400,
        ),
        (
            "pseudo-header after a regular field",
            |f| add(f, ":path", "/x"),
            Err(malformed(":path", pseudo_order)),
            400,
        ),
        (
            "empty pseudo-header",
            |f| set(f, ":protocol", ""),
            Err(malformed(
                ":protocol",
                "pseudo-header value is empty or not visible ASCII (RFC 9113 §8.3)",
            )),
            400,
        ),
        (
            "uppercase name",
            |f| add(f, "X-Custom", "1"),
            Err(malformed(
                "X-Custom",
                "field name is not a lowercase token (RFC 9113 §8.2.1, RFC 9114 §4.2)",
            )),
            400,
        ),
        (
            "name not a token",
            |f| add(f, "x custom", "1"),
            Err(malformed(
                "x custom",
                "field name is not a lowercase token (RFC 9113 §8.2.1, RFC 9114 §4.2)",
            )),
            400,
        ),
        (
            "CR LF in a value",
            |f| add(f, "x-a", "1\r\nx-b: 2"),
            Err(malformed(
                "x-a",
                "field value holds NUL, CR, LF or another control (RFC 9113 §8.2.1)",
            )),
            400,
        ),
        (
            "NUL in a value",
            |f| add(f, "x-a", "1\0"),
            Err(malformed(
                "x-a",
                "field value holds NUL, CR, LF or another control (RFC 9113 §8.2.1)",
            )),
            400,
        ),
        // RFC 6455 §4.2.1 items 7 to 9, shared with HTTP/1.1.
        (
            "two origins",
            |f| add(f, "origin", "https://b.example"),
            Err(RequestError::Field(FieldError::DuplicateHeader {
                name: "Origin",
            })),
            400,
        ),
        (
            "subprotocol not a token",
            |f| set(f, "sec-websocket-protocol", "chat, a b"),
            Err(RequestError::Field(FieldError::InvalidProtocolHeader {
                offset: 6,
                reason: "subprotocol is not a token",
                section: "§4.1 item 10",
            })),
            400,
        ),
        (
            "subprotocol offered twice",
            |f| add(f, "sec-websocket-protocol", "chat"),
            Err(RequestError::Field(FieldError::InvalidProtocolHeader {
                offset: 0,
                reason: "subprotocol offered twice",
                section: "§4.1 item 10",
            })),
            400,
        ),
        (
            "extension grammar",
            |f| set(f, "sec-websocket-extensions", "permessage-deflate;"),
            Err(RequestError::Field(FieldError::InvalidExtensionHeader {
                offset: 19,
                reason: "expected a parameter name",
            })),
            400,
        ),
    ];
    for (what, edit, expected, status) in rows {
        let mut fields = browser_request();
        edit(&mut fields);
        let got = check_connect_request(fields.iter().copied(), &Limits::default());
        match (&got, &expected) {
            (Ok(req), Ok(())) => {
                let reply = req.accept().build().unwrap();
                assert_eq!(reply.status(), status, "{what}");
            }
            (Err(e), Err(x)) => {
                assert_eq!(e, x, "{what}");
                assert_eq!(e.status(), status, "{what}");
                check_reply(e, status);
            }
            _ => panic!("{what}: got {got:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn server_reads_the_request_and_answers_200() {
    let req = check_connect_request(browser_request(), &Limits::default()).unwrap();
    assert_eq!(req.scheme(), "https");
    assert_eq!(req.authority(), "example.com");
    assert_eq!(req.path(), "/chat?room=1");
    assert_eq!(req.query(), Some("room=1"));
    assert_eq!(req.origin(), Some("https://example.com"));
    assert_eq!(req.protocols(), ["chat", "superchat"]);
    assert_eq!(req.extensions()[0].name(), "permessage-deflate");
    assert_eq!(req.header("user-agent"), Some("Mozilla/5.0"));
    assert!(req.headers().all(|(n, _)| !n.starts_with(':')));

    let reply = req
        .accept()
        .protocol("superchat")
        .extension("permessage-deflate; server_no_context_takeover")
        .header("Set-Cookie", "s=1")
        .build()
        .unwrap();
    // RFC 8441 §5: 200, the choices, never Accept/Upgrade/Connection.
    assert_eq!(
        reply.fields().collect::<Vec<_>>(),
        [
            (":status", "200"),
            ("sec-websocket-protocol", "superchat"),
            (
                "sec-websocket-extensions",
                "permessage-deflate; server_no_context_takeover"
            ),
            ("set-cookie", "s=1"),
        ]
    );
    assert_eq!(reply.body(), "");

    // The answer's own mistakes are the server's (500), as on HTTP/1.1.
    for (builder, expected) in [
        (
            req.accept().protocol("other"),
            BuildError::ProtocolNotOffered {
                protocol: "other".into(),
            },
        ),
        (
            req.accept().extension("x-other"),
            BuildError::ExtensionNotOffered {
                name: "x-other".into(),
            },
        ),
        (
            req.accept().header("upgrade", "websocket"),
            BuildError::ReservedHeader {
                name: "upgrade".into(),
            },
        ),
        (
            req.accept().header("sec-websocket-accept", "x"),
            BuildError::ReservedHeader {
                name: "sec-websocket-accept".into(),
            },
        ),
        (
            req.accept().header("x-a", "1\r\n"),
            BuildError::InvalidHeaderValue { name: "x-a".into() },
        ),
    ] {
        let err = builder.build().unwrap_err();
        assert_eq!(err, expected);
    }
}

#[test]
fn server_limits() {
    let fields = browser_request();
    let mut limits = Limits::default();
    limits.max_headers = fields.len() - 1;
    let err = check_connect_request(fields.iter().copied(), &limits).unwrap_err();
    assert_eq!(
        err,
        RequestError::Field(FieldError::TooManyFields { limit: 10 })
    );
    assert_eq!(err.status(), 431);

    // RFC 9113 §6.5.2: name + value + 32 for each field.
    let size: usize = fields.iter().map(|(n, v)| n.len() + v.len() + 32).sum();
    let mut limits = Limits::default();
    limits.max_head_bytes = size;
    assert!(check_connect_request(fields.iter().copied(), &limits).is_ok());
    limits.max_head_bytes = size - 1;
    let err = check_connect_request(fields.iter().copied(), &limits).unwrap_err();
    assert_eq!(
        err,
        RequestError::Field(FieldError::FieldSectionTooLarge { limit: size - 1 })
    );
    check_reply(&err, 431);
}

#[test]
fn application_rejections() {
    let reply =
        handshake::connect_reject(401, "token expired", &[("WWW-Authenticate", "Bearer")]).unwrap();
    assert_eq!(
        reply.fields().collect::<Vec<_>>(),
        [
            (":status", "401"),
            ("www-authenticate", "Bearer"),
            ("content-type", "text/plain; charset=utf-8"),
        ]
    );
    assert_eq!(reply.body(), "token expired\n");
    let empty = handshake::connect_reject(403, "", &[]).unwrap();
    assert_eq!(empty.fields().count(), 1);
    assert_eq!(empty.body(), "");
    for (status, headers, expected) in [
        (200, &[][..], BuildError::InvalidStatus { status: 200 }),
        (
            403,
            &[("connection", "close")][..],
            BuildError::ReservedHeader {
                name: "connection".into(),
            },
        ),
        (
            403,
            &[("content-length", "3")][..],
            BuildError::ReservedHeader {
                name: "content-length".into(),
            },
        ),
    ] {
        assert_eq!(
            handshake::connect_reject(status, "x", headers).unwrap_err(),
            expected
        );
    }
}

/// The same verdicts over the `http` crate's types, as hyper hands them over.
#[cfg(feature = "http")]
mod http_types {
    use super::*;

    /// Stands for the stack's `:protocol` extension (`hyper::ext::Protocol`).
    #[derive(Clone, Debug, PartialEq)]
    struct Protocol(&'static str);

    impl AsRef<[u8]> for Protocol {
        fn as_ref(&self) -> &[u8] {
            self.0.as_bytes()
        }
    }

    /// The request as fields and as an `http::Request` carrying the same.
    fn both(fields: &Fields) -> http::Request<()> {
        let get = |name: &str| fields.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        let uri = match (get(":scheme"), get(":authority"), get(":path")) {
            (Some(s), Some(a), Some(p)) => format!("{s}://{a}{p}"),
            _ => unreachable!("the rows keep the URI parts"),
        };
        let mut b = http::Request::builder()
            .method(get(":method").unwrap())
            .uri(uri)
            .version(http::Version::HTTP_2);
        for (n, v) in fields.iter().filter(|(n, _)| !n.starts_with(':')) {
            b = b.header(*n, *v);
        }
        let mut req = b.body(()).unwrap();
        if let Some(p) = get(":protocol") {
            req.extensions_mut().insert(Protocol(p));
        }
        req
    }

    #[test]
    fn same_verdict_as_the_fields() {
        let rows: &[(&str, Edit)] = &[
            ("browser request", |_| {}),
            ("GET", |f| set(f, ":method", "GET")),
            ("plain CONNECT", |f| remove(f, ":protocol")),
            ("other protocol", |f| set(f, ":protocol", "connect-udp")),
            ("version 8", |f| set(f, "sec-websocket-version", "8")),
            ("upgrade", |f| add(f, "upgrade", "websocket")),
            ("te", |f| add(f, "te", "gzip")),
            ("host differs", |f| add(f, "host", "evil.example")),
            ("content", |f| add(f, "content-length", "5")),
            ("scheme http", |f| set(f, ":scheme", "http")),
        ];
        for (what, edit) in rows {
            let mut fields = browser_request();
            edit(&mut fields);
            let req = both(&fields);
            let by_fields = check_connect_request(fields.iter().copied(), &Limits::default());
            let by_http = handshake::check_http_connect_request::<Protocol, _>(&req);
            assert_eq!(by_http, by_fields, "{what}");
            let (parts, ()) = req.into_parts();
            let by_parts = handshake::check_http_connect_parts::<Protocol>(&parts);
            assert_eq!(by_parts, by_fields, "{what}");
        }
    }
}
