//! RFC 7692 §5 and §7.1: permessage-deflate negotiation tables, both roles.
#![cfg(feature = "deflate")]

#[allow(unused_imports)]
use crate::common::*;
use pushcodec::ws::deflate::{
    DeflateConfig, DeflateNegotiationError as E, client_offer, negotiate_client, negotiate_server,
};
use pushcodec::ws::handshake::ExtensionOffer;

fn list(v: &str) -> Vec<ExtensionOffer> {
    ExtensionOffer::parse_list(v).unwrap()
}

fn cfg(f: impl FnOnce(&mut DeflateConfig)) -> DeflateConfig {
    let mut c = DeflateConfig::default();
    f(&mut c);
    c
}

const PMD: &str = "permessage-deflate";

/// (offers, config, expected response, expected (server bits, client bits,
/// server nct, client nct) when accepted).
type ServerCase = (
    &'static str,
    DeflateConfig,
    Option<&'static str>,
    Option<(u8, u8, bool, bool)>,
);

#[test]
#[allow(clippy::too_many_lines)]
fn rfc7692_7_1_server_table() {
    let d = DeflateConfig::default;
    let cases: Vec<ServerCase> = vec![
        // §5: accept a plain offer.
        (PMD, d(), Some(PMD), Some((15, 15, false, false))),
        // Policy: do not accept at all.
        (PMD, cfg(|c| c.accept = false), None, None),
        // No offer, or other extensions only.
        ("x-webkit-deflate-frame", d(), None, None),
        (
            "x-foo, permessage-deflate",
            d(),
            Some(PMD),
            Some((15, 15, false, false)),
        ),
        (
            "Permessage-Deflate",
            d(),
            Some(PMD),
            Some((15, 15, false, false)),
        ),
        // §7.1.2.2: client_max_window_bits without value in an offer is fine.
        (
            "permessage-deflate; client_max_window_bits",
            d(),
            Some(PMD),
            Some((15, 15, false, false)),
        ),
        // A hint is answered with the value (<= the hint).
        (
            "permessage-deflate; client_max_window_bits=10",
            d(),
            Some("permessage-deflate; client_max_window_bits=10"),
            Some((15, 10, false, false)),
        ),
        // The client's compressor may use 8: we inflate with 15.
        (
            "permessage-deflate; client_max_window_bits=8",
            d(),
            Some("permessage-deflate; client_max_window_bits=8"),
            Some((15, 8, false, false)),
        ),
        (
            "permessage-deflate; client_max_window_bits",
            cfg(|c| c.client_max_window_bits = 12),
            Some("permessage-deflate; client_max_window_bits=12"),
            Some((15, 12, false, false)),
        ),
        (
            "permessage-deflate; client_max_window_bits=10",
            cfg(|c| c.client_max_window_bits = 12),
            Some("permessage-deflate; client_max_window_bits=10"),
            Some((15, 10, false, false)),
        ),
        // §7.1.2.2: not offered -> must not appear; we accept a bigger window.
        (
            PMD,
            cfg(|c| c.client_max_window_bits = 12),
            Some(PMD),
            Some((15, 15, false, false)),
        ),
        // §7.1.2.1: server_max_window_bits answered with <= the offer.
        (
            "permessage-deflate; server_max_window_bits=10",
            d(),
            Some("permessage-deflate; server_max_window_bits=10"),
            Some((10, 15, false, false)),
        ),
        (
            "permessage-deflate; server_max_window_bits=15",
            d(),
            Some("permessage-deflate; server_max_window_bits=15"),
            Some((15, 15, false, false)),
        ),
        (
            "permessage-deflate; server_max_window_bits=14",
            cfg(|c| c.server_max_window_bits = 12),
            Some("permessage-deflate; server_max_window_bits=12"),
            Some((12, 15, false, false)),
        ),
        (
            PMD,
            cfg(|c| c.server_max_window_bits = 12),
            Some("permessage-deflate; server_max_window_bits=12"),
            Some((12, 15, false, false)),
        ),
        // A config below 9 is clamped to 9, never 8.
        (
            PMD,
            cfg(|c| c.server_max_window_bits = 8),
            Some("permessage-deflate; server_max_window_bits=9"),
            Some((9, 15, false, false)),
        ),
        // Our compressor cannot use 8 bits: decline, try the next offer.
        (
            "permessage-deflate; server_max_window_bits=8",
            d(),
            None,
            None,
        ),
        (
            "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9",
            d(),
            Some("permessage-deflate; server_max_window_bits=9"),
            Some((9, 15, false, false)),
        ),
        // A quoted value (RFC 6455 §9.1).
        (
            r#"permessage-deflate; server_max_window_bits="10""#,
            d(),
            Some("permessage-deflate; server_max_window_bits=10"),
            Some((10, 15, false, false)),
        ),
        // §7.1.1.1: server_no_context_takeover must be included when asked,
        // and may be unasked.
        (
            "permessage-deflate; server_no_context_takeover",
            d(),
            Some("permessage-deflate; server_no_context_takeover"),
            Some((15, 15, true, false)),
        ),
        (
            PMD,
            cfg(|c| c.server_no_context_takeover = true),
            Some("permessage-deflate; server_no_context_takeover"),
            Some((15, 15, true, false)),
        ),
        // §7.1.1.2: client_no_context_takeover echoed or required.
        (
            "permessage-deflate; client_no_context_takeover",
            d(),
            Some("permessage-deflate; client_no_context_takeover"),
            Some((15, 15, false, true)),
        ),
        (
            PMD,
            cfg(|c| c.client_no_context_takeover = true),
            Some("permessage-deflate; client_no_context_takeover"),
            Some((15, 15, false, true)),
        ),
        // Autobahn 13.7's offers: the first acceptable one wins.
        (
            "permessage-deflate; client_max_window_bits; server_no_context_takeover; server_max_window_bits=9, \
          permessage-deflate; client_max_window_bits; server_no_context_takeover, \
          permessage-deflate; client_max_window_bits",
            d(),
            Some("permessage-deflate; server_no_context_takeover; server_max_window_bits=9"),
            Some((9, 15, true, false)),
        ),
        // §7.1: declined: unknown parameter ...
        ("permessage-deflate; foo", d(), None, None),
        (
            "permessage-deflate; foo=1, permessage-deflate",
            d(),
            Some(PMD),
            Some((15, 15, false, false)),
        ),
        // ... duplicated parameter ...
        (
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            d(),
            None,
            None,
        ),
        (
            "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
            d(),
            None,
            None,
        ),
        (
            "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
            d(),
            None,
            None,
        ),
        // ... invalid value (no value, out of 8..=15, leading zero, not digits,
        // a value on a flag).
        (
            "permessage-deflate; server_max_window_bits",
            d(),
            None,
            None,
        ),
        (
            "permessage-deflate; server_max_window_bits=7",
            d(),
            None,
            None,
        ),
        (
            "permessage-deflate; server_max_window_bits=16",
            d(),
            None,
            None,
        ),
        (
            "permessage-deflate; server_max_window_bits=010",
            d(),
            None,
            None,
        ),
        (
            "permessage-deflate; server_max_window_bits=09",
            d(),
            None,
            None,
        ),
        (
            "permessage-deflate; server_max_window_bits=ten",
            d(),
            None,
            None,
        ),
        (
            "permessage-deflate; client_max_window_bits=16",
            d(),
            None,
            None,
        ),
        (
            "permessage-deflate; client_max_window_bits=+9",
            d(),
            None,
            None,
        ),
        (
            "permessage-deflate; server_no_context_takeover=1",
            d(),
            None,
            None,
        ),
        (
            r#"permessage-deflate; client_no_context_takeover="x""#,
            d(),
            None,
            None,
        ),
        // A bad offer first, a good one after.
        (
            "permessage-deflate; server_max_window_bits=99, permessage-deflate; client_no_context_takeover",
            d(),
            Some("permessage-deflate; client_no_context_takeover"),
            Some((15, 15, false, true)),
        ),
    ];
    for (offer, config, want, want_params) in cases {
        let got = negotiate_server(&list(offer), &config);
        assert_eq!(
            got.as_ref().map(|(_, r)| r.as_str()),
            want,
            "offer {offer:?}"
        );
        let got_params = got.map(|(p, _)| {
            (
                p.server_max_window_bits(),
                p.client_max_window_bits(),
                p.server_no_context_takeover(),
                p.client_no_context_takeover(),
            )
        });
        assert_eq!(got_params, want_params, "offer {offer:?}");
    }
}

#[test]
fn client_offer_forms() {
    let cases = [
        (
            DeflateConfig::default(),
            "permessage-deflate; client_max_window_bits",
        ),
        (
            cfg(|c| {
                c.client_max_window_bits = 10;
                c.server_max_window_bits = 11;
                c.server_no_context_takeover = true;
                c.client_no_context_takeover = true;
            }),
            "permessage-deflate; client_max_window_bits=10; server_max_window_bits=11; \
             server_no_context_takeover; client_no_context_takeover",
        ),
        // Out-of-range config values are clamped, 8 never offered for ours.
        (
            cfg(|c| c.client_max_window_bits = 8),
            "permessage-deflate; client_max_window_bits=9",
        ),
    ];
    for (config, want) in cases {
        assert_eq!(client_offer(&config), want);
        // The offer is valid §9.1 syntax.
        assert_eq!(list(want).len(), 1);
    }
}

type ClientCase = (
    DeflateConfig,
    &'static str,
    Result<Option<(u8, u8, bool, bool)>, E>,
);

#[test]
#[allow(clippy::too_many_lines)]
fn rfc7692_7_1_client_table() {
    let d = DeflateConfig::default;
    let cases: Vec<ClientCase> = vec![
        // Declined.
        (d(), "", Ok(None)),
        (d(), "x-foo", Ok(None)),
        (d(), PMD, Ok(Some((15, 15, false, false)))),
        (
            d(),
            "x-foo; a=1, permessage-deflate",
            Ok(Some((15, 15, false, false))),
        ),
        // §7.1.2.2: the server picks our window; we honour 9..=15.
        (
            d(),
            "permessage-deflate; client_max_window_bits=10",
            Ok(Some((15, 10, false, false))),
        ),
        (
            d(),
            r#"permessage-deflate; client_max_window_bits="9""#,
            Ok(Some((15, 9, false, false))),
        ),
        (
            cfg(|c| c.client_max_window_bits = 12),
            "permessage-deflate; client_max_window_bits=14",
            Ok(Some((15, 12, false, false))),
        ),
        (
            cfg(|c| c.client_max_window_bits = 12),
            PMD,
            Ok(Some((15, 12, false, false))),
        ),
        // ... but not without a value, and not 8.
        (
            d(),
            "permessage-deflate; client_max_window_bits",
            Err(E::ClientWindowWithoutValue),
        ),
        (
            d(),
            "permessage-deflate; client_max_window_bits=8",
            Err(E::UnsupportedWindow { bits: 8 }),
        ),
        // §7.1.2.1: the server's own window: any 8..=15 unless we asked.
        (
            d(),
            "permessage-deflate; server_max_window_bits=8",
            Ok(Some((8, 15, false, false))),
        ),
        (
            cfg(|c| c.server_max_window_bits = 10),
            "permessage-deflate; server_max_window_bits=10",
            Ok(Some((10, 15, false, false))),
        ),
        (
            cfg(|c| c.server_max_window_bits = 10),
            "permessage-deflate; server_max_window_bits=9",
            Ok(Some((9, 15, false, false))),
        ),
        (
            cfg(|c| c.server_max_window_bits = 10),
            "permessage-deflate; server_max_window_bits=12",
            Err(E::ServerWindowAboveOffered {
                offered: 10,
                answered: 12,
            }),
        ),
        (
            cfg(|c| c.server_max_window_bits = 10),
            PMD,
            Ok(Some((15, 15, false, false))),
        ),
        // §7.1.1: context takeover flags.
        (
            d(),
            "permessage-deflate; server_no_context_takeover",
            Ok(Some((15, 15, true, false))),
        ),
        (
            d(),
            "permessage-deflate; client_no_context_takeover",
            Ok(Some((15, 15, false, true))),
        ),
        (
            cfg(|c| c.client_no_context_takeover = true),
            PMD,
            Ok(Some((15, 15, false, true))),
        ),
        (
            cfg(|c| c.server_no_context_takeover = true),
            "permessage-deflate; server_no_context_takeover",
            Ok(Some((15, 15, true, false))),
        ),
        (
            cfg(|c| c.server_no_context_takeover = true),
            PMD,
            Err(E::ServerNoContextTakeoverMissing),
        ),
        // §7.1: unknown, duplicate, invalid -> fail.
        (
            d(),
            "permessage-deflate; foo",
            Err(E::UnknownParam {
                param: "foo".into(),
            }),
        ),
        (
            d(),
            "permessage-deflate; foo=1",
            Err(E::UnknownParam {
                param: "foo".into(),
            }),
        ),
        (
            d(),
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            Err(E::DuplicateParam {
                param: "server_no_context_takeover".into(),
            }),
        ),
        (
            d(),
            "permessage-deflate; client_max_window_bits=9; client_max_window_bits=9",
            Err(E::DuplicateParam {
                param: "client_max_window_bits".into(),
            }),
        ),
        (
            d(),
            "permessage-deflate; server_max_window_bits",
            Err(E::InvalidValue {
                param: "server_max_window_bits".into(),
                value: None,
            }),
        ),
        (
            d(),
            "permessage-deflate; server_max_window_bits=16",
            Err(E::InvalidValue {
                param: "server_max_window_bits".into(),
                value: Some("16".into()),
            }),
        ),
        (
            d(),
            "permessage-deflate; server_max_window_bits=08",
            Err(E::InvalidValue {
                param: "server_max_window_bits".into(),
                value: Some("08".into()),
            }),
        ),
        (
            d(),
            "permessage-deflate; client_max_window_bits=x",
            Err(E::InvalidValue {
                param: "client_max_window_bits".into(),
                value: Some("x".into()),
            }),
        ),
        (
            d(),
            "permessage-deflate; client_no_context_takeover=1",
            Err(E::InvalidValue {
                param: "client_no_context_takeover".into(),
                value: Some("1".into()),
            }),
        ),
        // §7.1: at most one accepted element.
        (
            d(),
            "permessage-deflate, permessage-deflate",
            Err(E::ExtensionTwice { count: 2 }),
        ),
    ];
    for (config, response, want) in cases {
        let got = negotiate_client(&config, &list(response)).map(|o| {
            o.map(|p| {
                (
                    p.server_max_window_bits(),
                    p.client_max_window_bits(),
                    p.server_no_context_takeover(),
                    p.client_no_context_takeover(),
                )
            })
        });
        assert_eq!(got, want, "response {response:?}");
        if let Err(e) = got {
            let msg = e.to_string();
            assert!(msg.contains("RFC 7692"), "{msg}");
            assert!(msg.starts_with(|c: char| !c.is_ascii_uppercase()), "{msg}");
        }
    }
}

#[test]
fn our_offer_and_our_answer_agree() {
    // Whatever a pushcodec client offers, a pushcodec server's answer is
    // accepted by it, and both sides reach the same agreement.
    for server_nct in [false, true] {
        for client_nct in [false, true] {
            for bits in [9, 12, 15] {
                for server_side_bits in [9, 15] {
                    let client = cfg(|c| {
                        c.server_no_context_takeover = server_nct;
                        c.client_no_context_takeover = client_nct;
                        c.server_max_window_bits = bits;
                        c.client_max_window_bits = bits;
                    });
                    let server = cfg(|c| {
                        c.server_max_window_bits = server_side_bits;
                        c.client_max_window_bits = server_side_bits;
                    });
                    let offer = client_offer(&client);
                    let (sp, resp) = negotiate_server(&list(&offer), &server).unwrap();
                    let cp = negotiate_client(&client, &list(&resp)).unwrap().unwrap();
                    assert_eq!(sp, cp, "offer {offer:?} response {resp:?}");
                    assert!(cp.client_max_window_bits() <= bits);
                    assert!(sp.server_max_window_bits() <= bits);
                }
            }
        }
    }
}

#[test]
fn through_the_handshake_both_roles() {
    use pushcodec::ws::handshake::{ClientHandshake, Limits, parse_request};
    let client_cfg = cfg(|c| c.client_no_context_takeover = true);
    let hs = ClientHandshake::new("example.com", "/chat").extension(&client_offer(&client_cfg));
    let mut req = Vec::new();
    hs.encode_request(&mut req);
    let (request, _) = parse_request(&req, &Limits::default()).unwrap().unwrap();
    let (server_params, value) =
        negotiate_server(request.extensions(), &DeflateConfig::default()).unwrap();
    let mut resp = Vec::new();
    request
        .accept()
        .extension(&value)
        .encode(&mut resp)
        .unwrap();
    let (response, _) = hs.parse_response(&resp).unwrap().unwrap();
    let client_params = negotiate_client(&client_cfg, response.extensions())
        .unwrap()
        .unwrap();
    assert_eq!(server_params, client_params);
    assert!(client_params.client_no_context_takeover());
}
