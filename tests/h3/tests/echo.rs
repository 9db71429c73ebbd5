//! RFC 9220 end to end: our quiche client to our quiche server over
//! loopback UDP, pushcodec's extended CONNECT on the request stream and a
//! `ws::Connection` on each end of it.

use bytes::Bytes;
use pushcodec::ws::handshake::{BuildError, ConnectHandshake, ResponseError};
use pushcodec::ws::{CloseCode, Config, Event, Violation};
use pushcodec_h3::client::Client;
use pushcodec_h3::server::{self, Options};
use pushcodec_h3::{Error, H3_MESSAGE_ERROR};

mod common;
use common::{LIMIT, close, start};

fn connect(handle: &server::Handle) -> Client {
    Client::connect(handle.addr(), "localhost", LIMIT).expect("QUIC + HTTP/3 connection")
}

/// RFC 9220 §3 (RFC 8441 §4, §5): SETTINGS_ENABLE_CONNECT_PROTOCOL, the
/// extended CONNECT, `:status 200`, then text, binary and a 1 MiB message
/// echoed through quiche's flow control, and the close handshake (4000 and
/// a reason) ending with FIN on both sides of the stream.
#[test]
fn rfc9220_echo_text_binary_1mib_and_close_4000() {
    let (handle, reports) = start(Options::default());
    let mut client = connect(&handle);
    assert!(
        client.extended_connect_enabled().unwrap(),
        "the server's SETTINGS carried SETTINGS_ENABLE_CONNECT_PROTOCOL = 1"
    );

    let hs = ConnectHandshake::new(&format!(
        "wss://localhost:{}/echo?room=1",
        handle.addr().port()
    ))
    .protocols(&["echo.v2", "echo"]);
    let (mut ws, response) = client.open(&hs, Config::default()).expect("a WebSocket");
    assert_eq!(response.protocol(), Some("echo"));

    let text = "héllo, wörld — 你好 🦀";
    // 1 MiB, not a repeating byte, so a reordered or dropped chunk shows.
    let big: Bytes = (0..1u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
    ws.ws.send_text(text).unwrap();
    ws.ws
        .send_binary(Bytes::from_static(&[0, 1, 2, 254, 255]))
        .unwrap();
    ws.ws.send_binary(big.clone()).unwrap();
    let mut echoed = 0;
    client
        .run(&mut ws, &mut |conn, ev| {
            if matches!(ev, Event::Text(_) | Event::Binary(_)) {
                echoed += 1;
                if echoed == 3 {
                    conn.send_close(CloseCode(4000), "done: ünïcode reason")
                        .unwrap();
                }
            }
        })
        .expect("the client's WebSocket ran to its FIN");

    // The client saw the three echoes in order and the server's answering
    // Close, which echoes the code and the reason (RFC 6455 §5.5.1).
    let events = &ws.transcript.events;
    assert_eq!(
        events.len(),
        4,
        "{:?}",
        events.iter().map(short).collect::<Vec<_>>()
    );
    assert_eq!(events[0], Event::Text(text.into()));
    assert_eq!(
        events[1],
        Event::Binary(Bytes::from_static(&[0, 1, 2, 254, 255]))
    );
    assert!(
        events[2] == Event::Binary(big.clone()),
        "the 1 MiB echo differs"
    );
    assert_eq!(events[3], close(4000, "done: ünïcode reason"));
    assert!(ws.transcript.error.is_none(), "{:?}", ws.transcript.error);
    assert!(ws.both_fins(), "FIN went both ways");
    // The 1 MiB did not fit the 128 KiB stream window: the client's writes
    // stopped short and resumed as the server read and granted credit.
    assert!(ws.short_writes() > 0, "flow control was never reached");
    assert!(ws.ws.is_close_sent() && ws.ws.is_close_received());

    // The server's side: it unmasked every client frame (a masking error
    // would have failed it with 1002) and finished with both FINs.
    let report = {
        let mut got = None;
        client
            .linger(|| {
                got = got.take().or_else(|| reports.try_recv().ok());
                got.is_some()
            })
            .unwrap();
        got.unwrap()
    };
    assert_eq!(report.path, "/echo?room=1");
    assert_eq!(report.protocol.as_deref(), Some("echo"));
    let events = &report.transcript.events;
    assert_eq!(
        events.len(),
        4,
        "{:?}",
        events.iter().map(short).collect::<Vec<_>>()
    );
    assert_eq!(events[0], Event::Text(text.into()));
    assert!(
        events[2] == Event::Binary(big),
        "the server got the 1 MiB message whole"
    );
    assert_eq!(events[3], close(4000, "done: ünïcode reason"));
    assert!(
        report.transcript.error.is_none(),
        "{:?}",
        report.transcript.error
    );
    assert!(report.both_fins && report.reset.is_none());
    assert!(report.short_writes > 0, "the echo never hit flow control");
    client.close().unwrap();
    handle.stop().unwrap();
}

fn short(ev: &Event) -> String {
    match ev {
        Event::Binary(b) => format!("Binary({} bytes)", b.len()),
        other => format!("{other:?}"),
    }
}

/// RFC 8441 §3 (RFC 9220 §3): a client MUST NOT send `:protocol` unless the
/// server's SETTINGS enabled it. quiche reports the setting; the client
/// code hands it to `request_fields`, which refuses, and nothing is sent.
#[test]
fn rfc8441_3_no_extended_connect_in_settings_client_refuses_to_send() {
    let (handle, _reports) = start(Options {
        extended_connect: false,
        ..Options::default()
    });
    let mut client = connect(&handle);
    assert!(!client.extended_connect_enabled().unwrap());
    let hs = ConnectHandshake::new(&format!("wss://localhost:{}/echo", handle.addr().port()));
    match client.open(&hs, Config::default()) {
        Err(Error::Build(BuildError::ConnectProtocolNotEnabled)) => {}
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("a WebSocket without SETTINGS_ENABLE_CONNECT_PROTOCOL"),
    }
    client.close().unwrap();
}

/// RFC 8441 §3 from the server's side: a `:protocol` from a client that
/// ignored the SETTINGS is a malformed request (RFC 9114 §4.1.2), reset
/// with H3_MESSAGE_ERROR.
#[test]
fn rfc8441_3_protocol_without_the_setting_is_reset_h3_message_error() {
    let (handle, _reports) = start(Options {
        extended_connect: false,
        ..Options::default()
    });
    let mut client = connect(&handle);
    assert!(!client.extended_connect_enabled().unwrap());
    let hs = ConnectHandshake::new(&format!("wss://localhost:{}/echo", handle.addr().port()));
    // Lying to `request_fields` on purpose.
    let id = client
        .send_fields(&hs.request_fields(true).unwrap())
        .unwrap();
    match client.response(id) {
        Err(Error::Reset(code)) => assert_eq!(code, H3_MESSAGE_ERROR),
        Err(other) => panic!("{other}"),
        Ok(fields) => panic!("answered: {fields:?}"),
    }
    client.close().unwrap();
}

/// RFC 8441 §5 keeps RFC 6455 §4.2.1 item 6 (version 13 only): the server
/// answers `RequestError::connect_reply`, a 400 naming version 13 (not 426,
/// which needs Upgrade, forbidden in HTTP/3: RFC 9114 §4.2), and the client's
/// `check_response` refuses it.
#[test]
fn rfc8441_5_bad_websocket_version_is_rejected_400() {
    let (handle, _reports) = start(Options::default());
    let mut client = connect(&handle);
    assert!(client.extended_connect_enabled().unwrap());
    let hs = ConnectHandshake::new(&format!("wss://localhost:{}/echo", handle.addr().port()));
    let fields: Vec<(String, String)> = hs
        .request_fields(true)
        .unwrap()
        .into_iter()
        .map(|(n, v)| {
            let v = if n == "sec-websocket-version" {
                "8".into()
            } else {
                v
            };
            (n, v)
        })
        .collect();
    let id = client.send_fields(&fields).unwrap();
    let response = client.response(id).unwrap();
    let field = |name: &str| {
        response
            .iter()
            .find(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(field(":status").as_deref(), Some("400"));
    assert_eq!(field("sec-websocket-version").as_deref(), Some("13"));
    assert_eq!(field("upgrade"), None);
    match hs.check_response(response.clone()) {
        Err(ResponseError::UnexpectedConnectStatus { status, response }) => {
            assert_eq!(status, 400);
            assert_eq!(response.header("sec-websocket-version"), Some("13"));
        }
        other => panic!("{other:?}"),
    }
    // The rejection's reason, as text, then the server's FIN.
    let body = client.body(id).unwrap();
    assert!(!body.is_empty() && String::from_utf8(body).is_ok());
    client.close().unwrap();
}

/// The table in pushcodec's handshake docs: the peer's FIN before the close
/// handshake is an abnormal closure (1006), as a TCP EOF would be.
#[test]
fn fin_before_the_close_handshake_is_abnormal_closure() {
    let (handle, reports) = start(Options::default());
    let mut client = connect(&handle);
    let hs = ConnectHandshake::new(&format!("wss://localhost:{}/echo", handle.addr().port()));
    let (ws, _) = client.open(&hs, Config::default()).unwrap();
    // FIN from the client with no Close frame: an empty DATA with FIN.
    client.finish_stream(ws.id).unwrap();
    let mut got = None;
    client
        .linger(|| {
            got = got.take().or_else(|| reports.try_recv().ok());
            got.is_some()
        })
        .unwrap();
    let report = got.unwrap();
    assert!(report.transcript.events.is_empty());
    let err = report.transcript.error.expect("an abnormal closure");
    assert!(
        matches!(err.violation(), Violation::AbnormalClosure),
        "{err}"
    );
    client.close().unwrap();
}
