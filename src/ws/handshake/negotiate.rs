//! Subprotocol and extension negotiation (RFC 6455 §4.1, §4.2, §9.1),
//! free of any HTTP/1.1 parsing.
//!
//! Each function takes the raw values of one header field, however the
//! caller got them (httparse, the `http` crate, an HTTP/2 or HTTP/3 header
//! block for RFC 8441 / RFC 9220), so every handshake mode shares the same
//! rules.

use super::error::{BuildError, FieldError, ResponseError};
use super::extensions::{ExtensionOffer, parse_bytes};
use super::fields::{is_token, trim_ows};
use crate::prelude::*;

/// The client's offered subprotocols, in order, merged over all
/// `Sec-WebSocket-Protocol` values (RFC 9110 §5.3: repeated fields form one
/// list). RFC 6455 §4.1 item 10: each is a token and all are unique.
pub(crate) fn offered_protocols<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        let mut offset = 0;
        for item in value.split(|&b| b == b',') {
            let trimmed = trim_ows(item);
            let lead = item.len() - trim_ows_start(item).len();
            // RFC 9110 §5.6.1.2: empty list elements are skipped.
            if !trimmed.is_empty() {
                let err = |reason| FieldError::InvalidProtocolHeader {
                    offset: offset + lead,
                    reason,
                    section: "§4.1 item 10",
                };
                if !is_token(trimmed) {
                    return Err(err("subprotocol is not a token"));
                }
                let p = String::from_utf8_lossy(trimmed).into_owned();
                if out.contains(&p) {
                    return Err(err("subprotocol offered twice"));
                }
                out.push(p);
            }
            offset += item.len() + 1;
        }
    }
    Ok(out)
}

fn trim_ows_start(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    v
}

/// All extension elements over every `Sec-WebSocket-Extensions` value, in
/// order (RFC 6455 §9.1: the header may be split over several fields).
pub(crate) fn extension_list<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<ExtensionOffer>, FieldError> {
    let mut out = Vec::new();
    for v in values {
        out.extend(parse_bytes(v)?);
    }
    Ok(out)
}

/// Server side: the subprotocol it picks must be one the client offered
/// (RFC 6455 §4.2.2 item 5.4), compared exactly.
pub(crate) fn check_choice(offered: &[String], chosen: &str) -> Result<(), BuildError> {
    if offered.iter().any(|p| p == chosen) {
        Ok(())
    } else {
        Err(BuildError::ProtocolNotOffered {
            protocol: chosen.to_owned(),
        })
    }
}

/// Whether `name` is among the offered extension names (ASCII
/// case-insensitive, like every HTTP token).
fn offered_name(offered: &[ExtensionOffer], name: &str) -> bool {
    offered.iter().any(|o| o.name().eq_ignore_ascii_case(name))
}

/// Server side: every extension in the answer must have been offered
/// (RFC 6455 §9.1: the server picks among the client's offers).
pub(crate) fn check_answer_extensions(
    offered: &[ExtensionOffer],
    answer: &[ExtensionOffer],
) -> Result<(), BuildError> {
    match answer.iter().find(|a| !offered_name(offered, a.name())) {
        Some(a) => Err(BuildError::ExtensionNotOffered {
            name: a.name().to_owned(),
        }),
        None => Ok(()),
    }
}

/// Server side, for any handshake mode (the 101 answer here, a 200 to an
/// extended CONNECT later): the checked `Sec-WebSocket-Protocol` and
/// `Sec-WebSocket-Extensions` answer fields. `extensions` are the server's
/// element strings, each parsed per §9.1 and among the offered names.
pub(crate) fn answer_fields(
    offered_protocols: &[String],
    offered_extensions: &[ExtensionOffer],
    protocol: Option<&str>,
    extensions: &[String],
) -> Result<Vec<(&'static str, String)>, BuildError> {
    let mut out = Vec::new();
    if let Some(p) = protocol {
        // RFC 6455 §4.2.2 item 5.4: one of the values the client sent.
        check_choice(offered_protocols, p)?;
        out.push(("Sec-WebSocket-Protocol", p.to_owned()));
    }
    let mut answer = Vec::new();
    for e in extensions {
        answer.extend(parse_bytes(e.as_bytes())?);
    }
    check_answer_extensions(offered_extensions, &answer)?;
    if !answer.is_empty() {
        let list: Vec<String> = answer.iter().map(ToString::to_string).collect();
        out.push(("Sec-WebSocket-Extensions", list.join(", ")));
    }
    Ok(out)
}

/// Client side: the server's `Sec-WebSocket-Protocol` answer. At most one
/// field holding one token (§11.3.4), among those offered (§4.1 item 6);
/// with `require`, none at all fails too when some were offered (WHATWG).
pub(crate) fn selected_protocol<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
    offered: &[String],
    require: bool,
) -> Result<Option<String>, ResponseError> {
    let mut values = values.into_iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(FieldError::DuplicateHeader {
            name: "Sec-WebSocket-Protocol",
        }
        .into());
    }
    let Some(value) = first else {
        if require && !offered.is_empty() {
            return Err(ResponseError::MissingProtocol);
        }
        return Ok(None);
    };
    if !is_token(value) {
        let offset = value.iter().position(|&b| b == b',').unwrap_or(0);
        return Err(FieldError::InvalidProtocolHeader {
            offset,
            reason: "the server must select exactly one subprotocol token",
            section: "§11.3.4",
        }
        .into());
    }
    let p = String::from_utf8_lossy(value).into_owned();
    if !offered.contains(&p) {
        return Err(ResponseError::UnexpectedProtocol { protocol: p });
    }
    Ok(Some(p))
}

/// Client side: the extensions the server accepted, each among the names
/// offered (RFC 6455 §4.1 item 5). What their parameters mean is for each
/// extension's own negotiation (RFC 7692 §7.1 for permessage-deflate).
pub(crate) fn accepted_extensions<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
    offered: &[ExtensionOffer],
) -> Result<Vec<ExtensionOffer>, ResponseError> {
    let accepted = extension_list(values)?;
    if let Some(a) = accepted.iter().find(|a| !offered_name(offered, a.name())) {
        return Err(ResponseError::UnexpectedExtension {
            name: a.name().to_owned(),
        });
    }
    Ok(accepted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(vals: &[&str]) -> Result<Vec<String>, FieldError> {
        offered_protocols(vals.iter().map(|v| v.as_bytes()))
    }

    #[test]
    fn protocols_merge_over_fields_in_order() {
        assert_eq!(
            offered(&["chat, superchat", " , v2.bearer.abc"]).unwrap(),
            ["chat", "superchat", "v2.bearer.abc"]
        );
        assert_eq!(offered(&[]).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn protocols_must_be_unique_tokens() {
        assert_eq!(
            offered(&["chat, a b"]),
            Err(FieldError::InvalidProtocolHeader {
                offset: 6,
                reason: "subprotocol is not a token",
                section: "§4.1 item 10"
            })
        );
        assert!(matches!(
            offered(&["chat", "chat"]),
            Err(FieldError::InvalidProtocolHeader {
                reason: "subprotocol offered twice",
                ..
            })
        ));
    }

    #[test]
    fn client_checks_selected_protocol() {
        let off = vec!["a".to_owned(), "b".to_owned()];
        let sel = |v: &[&str], req| selected_protocol(v.iter().map(|s| s.as_bytes()), &off, req);
        assert_eq!(sel(&["b"], false), Ok(Some("b".into())));
        assert_eq!(sel(&[], false), Ok(None));
        assert_eq!(sel(&[], true), Err(ResponseError::MissingProtocol));
        assert_eq!(
            sel(&["c"], false),
            Err(ResponseError::UnexpectedProtocol {
                protocol: "c".into()
            })
        );
        assert!(matches!(
            sel(&["a, b"], false),
            Err(ResponseError::Field(FieldError::InvalidProtocolHeader {
                offset: 1,
                ..
            }))
        ));
        assert!(matches!(
            sel(&["a", "a"], false),
            Err(ResponseError::Field(FieldError::DuplicateHeader { .. }))
        ));
        // Nothing offered: nothing may be selected, and none is fine.
        assert_eq!(
            selected_protocol([&b"x"[..]], &[], true),
            Err(ResponseError::UnexpectedProtocol {
                protocol: "x".into()
            })
        );
        assert_eq!(selected_protocol([], &[], true), Ok(None));
    }

    #[test]
    fn extensions_only_among_offered() {
        let off = ExtensionOffer::parse_list("permessage-deflate; client_max_window_bits").unwrap();
        assert!(accepted_extensions([&b"Permessage-Deflate"[..]], &off).is_ok());
        assert_eq!(
            accepted_extensions([&b"x-other"[..]], &off),
            Err(ResponseError::UnexpectedExtension {
                name: "x-other".into()
            })
        );
        let answer = ExtensionOffer::parse_list("x-other").unwrap();
        assert!(matches!(
            check_answer_extensions(&off, &answer),
            Err(BuildError::ExtensionNotOffered { .. })
        ));
        assert_eq!(check_choice(&["a".into()], "a"), Ok(()));
        assert!(check_choice(&["a".into()], "A").is_err());
    }
}
