//! RFC 7692 §5 and §7.1: the permessage-deflate offer and response.

use crate::prelude::*;
use core::fmt::Write as _;

use super::{DeflateConfig, DeflateParams};
use crate::ws::handshake::ExtensionOffer;

/// The extension's registered name (RFC 7692 §7).
pub(crate) const NAME: &str = "permessage-deflate";

const SERVER_NCT: &str = "server_no_context_takeover";
const CLIENT_NCT: &str = "client_no_context_takeover";
const SERVER_MWB: &str = "server_max_window_bits";
const CLIENT_MWB: &str = "client_max_window_bits";

/// Why a client fails the connection on the server's permessage-deflate
/// response (RFC 7692 §7.1: "the client MUST _Fail the WebSocket
/// Connection_"). Every variant means: close the transport; the handshake
/// response is unacceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeflateNegotiationError {
    /// The response has a parameter RFC 7692 does not define.
    #[error("unknown permessage-deflate parameter `{param}` in the response (RFC 7692 §7.1)")]
    UnknownParam {
        /// The parameter's name as sent.
        param: String,
    },
    /// A parameter appears twice in the response.
    #[error("duplicate permessage-deflate parameter `{param}` in the response (RFC 7692 §7.1)")]
    DuplicateParam {
        /// The parameter's name as sent.
        param: String,
    },
    /// A parameter has a value it may not have, lacks a value it needs, or
    /// its value is not a decimal 8..=15 without leading zeros.
    #[error(
        "invalid value {value:?} for permessage-deflate parameter `{param}` in the response (RFC 7692 §7.1.2)"
    )]
    InvalidValue {
        /// The parameter's name.
        param: String,
        /// The value as sent (`None`: no value).
        value: Option<String>,
    },
    /// `client_max_window_bits` without a value (RFC 7692 §7.1.2.2: a
    /// response must give one).
    #[error("client_max_window_bits without a value in the response (RFC 7692 §7.1.2.2)")]
    ClientWindowWithoutValue,
    /// `server_max_window_bits` above what we offered (RFC 7692 §7.1.2.1).
    #[error(
        "server_max_window_bits={answered} in the response is above the offered {offered} (RFC 7692 §7.1.2.1)"
    )]
    ServerWindowAboveOffered {
        /// The value we offered.
        offered: u8,
        /// The value the server answered.
        answered: u8,
    },
    /// We asked for `server_no_context_takeover` and the response left it out
    /// (RFC 7692 §7.1.1.1: the server must include it or decline).
    #[error(
        "server_no_context_takeover was offered but is missing from the response (RFC 7692 §7.1.1.1)"
    )]
    ServerNoContextTakeoverMissing,
    /// `permessage-deflate` appears more than once in the response
    /// (RFC 7692 §7.1: a server accepts at most one offer).
    #[error("permessage-deflate appears {count} times in the response (RFC 7692 §7.1)")]
    ExtensionTwice {
        /// How many times it appears.
        count: usize,
    },
    /// The response requires our compressor to use a window we cannot
    /// produce (8 bits: no raw 8-bit deflate exists in the backend).
    #[error(
        "client_max_window_bits={bits} in the response cannot be honoured: the compressor supports 9..=15 (RFC 7692 §7.1.2.2)"
    )]
    UnsupportedWindow {
        /// The window bits demanded.
        bits: u8,
    },
}

/// RFC 7692 §7.1.2.1/§7.1.2.2: "1*DIGIT", decimal 8..=15, no leading zeros.
fn window_value(v: &str) -> Option<u8> {
    match v.as_bytes() {
        [d @ b'8'..=b'9'] => Some(d - b'0'),
        [b'1', d @ b'0'..=b'5'] => Some(10 + d - b'0'),
        _ => None,
    }
}

/// One element's parameters, each known one at most once.
#[derive(Default)]
struct Parsed {
    server_nct: bool,
    client_nct: bool,
    /// `Some(v)`: present with value `v`.
    server_mwb: Option<u8>,
    client_mwb: ClientWindow,
}

/// `client_max_window_bits` in an element (§7.1.2.2): absent, present
/// without a value (legal only in an offer), or with one.
#[derive(Default, Clone, Copy)]
enum ClientWindow {
    #[default]
    Absent,
    NoValue,
    Bits(u8),
}

enum ParamError {
    Unknown(String),
    Duplicate(String),
    Invalid(String, Option<String>),
}

fn parse_params(offer: &ExtensionOffer) -> Result<Parsed, ParamError> {
    let mut p = Parsed::default();
    let mut seen = [false; 4];
    for (name, value) in offer.params() {
        let idx = [SERVER_NCT, CLIENT_NCT, SERVER_MWB, CLIENT_MWB]
            .iter()
            .position(|k| k.eq_ignore_ascii_case(name))
            .ok_or_else(|| ParamError::Unknown(name.clone()))?;
        // RFC 7692 §7.1: a duplicated parameter makes the element invalid.
        if core::mem::replace(&mut seen[idx], true) {
            return Err(ParamError::Duplicate(name.clone()));
        }
        let invalid = || ParamError::Invalid(name.clone(), value.clone());
        match (idx, value.as_deref()) {
            // §7.1.1: the no_context_takeover parameters have no value.
            (0, None) => p.server_nct = true,
            (1, None) => p.client_nct = true,
            (2, Some(v)) => p.server_mwb = Some(window_value(v).ok_or_else(invalid)?),
            (3, None) => p.client_mwb = ClientWindow::NoValue,
            (3, Some(v)) => p.client_mwb = ClientWindow::Bits(window_value(v).ok_or_else(invalid)?),
            _ => return Err(invalid()),
        }
    }
    Ok(p)
}

fn is_deflate(e: &ExtensionOffer) -> bool {
    e.name().eq_ignore_ascii_case(NAME)
}

/// Server side (RFC 7692 §5, §7.1): picks the first acceptable
/// `permessage-deflate` offer in the client's preference order.
///
/// Never fails: an offer with an unknown, duplicated or invalid parameter
/// is declined, as is one that would force our compressor below 9 window
/// bits (`server_max_window_bits=8`); the next offer is tried. Returns the
/// agreed parameters and the `Sec-WebSocket-Extensions` value to answer
/// with (pass it to the handshake's `AcceptBuilder::extension`), or `None`
/// (answer without the extension) when nothing is acceptable or
/// `config.accept` is false. Other extensions in `offers` are ignored.
///
/// The response says `server_no_context_takeover` when asked or configured,
/// `client_no_context_takeover` when offered or configured,
/// `server_max_window_bits` when offered or configured below 15, and
/// `client_max_window_bits` when offered and the agreed value is below 15.
///
/// # Example
/// ```
/// use pushcodec::ws::deflate::{DeflateConfig, negotiate_server};
/// use pushcodec::ws::handshake::ExtensionOffer;
/// let offers = ExtensionOffer::parse_list(
///     "permessage-deflate; server_max_window_bits=8, permessage-deflate; client_max_window_bits",
/// )?;
/// let (params, response) = negotiate_server(&offers, &DeflateConfig::default()).unwrap();
/// assert_eq!(response, "permessage-deflate"); // the 8-bit offer was declined
/// assert_eq!(params.client_max_window_bits(), 15);
/// # Ok::<(), pushcodec::ws::handshake::HandshakeError>(())
/// ```
#[must_use]
pub fn negotiate_server(
    offers: &[ExtensionOffer],
    config: &DeflateConfig,
) -> Option<(DeflateParams, String)> {
    if !config.accept {
        return None;
    }
    offers
        .iter()
        .filter(|o| is_deflate(o))
        .find_map(|o| accept_offer(o, config))
}

fn accept_offer(offer: &ExtensionOffer, config: &DeflateConfig) -> Option<(DeflateParams, String)> {
    let p = parse_params(offer).ok()?;
    // §7.1.2.1: answer with a value <= the offered one; we cannot go to 8.
    let server_bits = p
        .server_mwb
        .map_or(config.server_window(), |v| v.min(config.server_window()));
    if server_bits < 9 {
        return None;
    }
    // §7.1.2.2: only when offered, and at most the client's hint. The
    // client's compressor may use 8: we inflate with 15 whatever it uses.
    let client_bits = match p.client_mwb {
        ClientWindow::Absent => 15,
        ClientWindow::NoValue => config.client_window(),
        ClientWindow::Bits(hint) => hint.min(config.client_window()),
    };
    let params = DeflateParams {
        // §7.1.1.1: must be included when offered.
        server_no_context_takeover: p.server_nct || config.server_no_context_takeover,
        client_no_context_takeover: p.client_nct || config.client_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    };
    let mut resp = String::from(NAME);
    if params.server_no_context_takeover {
        let _ = write!(resp, "; {SERVER_NCT}");
    }
    if params.client_no_context_takeover {
        let _ = write!(resp, "; {CLIENT_NCT}");
    }
    if p.server_mwb.is_some() || server_bits < 15 {
        let _ = write!(resp, "; {SERVER_MWB}={server_bits}");
    }
    if !matches!(p.client_mwb, ClientWindow::Absent) && client_bits < 15 {
        let _ = write!(resp, "; {CLIENT_MWB}={client_bits}");
    }
    Some((params, resp))
}

/// Client side: the `Sec-WebSocket-Extensions` value to offer (pass it to
/// `ClientHandshake::extension`).
///
/// Always announces `client_max_window_bits` (we honour any value 9..=15 a
/// server picks), with our limit as the value when it is below 15; asks
/// for `server_max_window_bits` when configured below 15 and for the
/// no-context-takeover flags as configured.
///
/// # Example
/// ```
/// use pushcodec::ws::deflate::{DeflateConfig, client_offer};
/// assert_eq!(
///     client_offer(&DeflateConfig::default()),
///     "permessage-deflate; client_max_window_bits"
/// );
/// ```
#[must_use]
pub fn client_offer(config: &DeflateConfig) -> String {
    let mut s = String::from(NAME);
    let cw = config.client_window();
    if cw < 15 {
        let _ = write!(s, "; {CLIENT_MWB}={cw}");
    } else {
        let _ = write!(s, "; {CLIENT_MWB}");
    }
    let sw = config.server_window();
    if sw < 15 {
        let _ = write!(s, "; {SERVER_MWB}={sw}");
    }
    if config.server_no_context_takeover {
        let _ = write!(s, "; {SERVER_NCT}");
    }
    if config.client_no_context_takeover {
        let _ = write!(s, "; {CLIENT_NCT}");
    }
    s
}

/// Client side: checks the server's accepted extensions (the handshake
/// response's `extensions()`) against what [`client_offer`] with the same
/// `config` offered. `Ok(None)`: the server declined permessage-deflate.
///
/// Our compressor then uses the smaller of our `client_max_window_bits`
/// and the server's answer; we reset it after each message when
/// `client_no_context_takeover` is configured or answered.
///
/// # Errors
/// A [`DeflateNegotiationError`] for every response RFC 7692 §7.1 says
/// must fail the connection: unknown, duplicate or invalid parameter,
/// `client_max_window_bits` without a value or set to 8,
/// `server_max_window_bits` above what we asked, a requested
/// `server_no_context_takeover` left out, or the extension twice. (That
/// the server names only offered extensions is the handshake's check.)
///
/// # Example
/// ```
/// use pushcodec::ws::deflate::{DeflateConfig, DeflateNegotiationError, negotiate_client};
/// use pushcodec::ws::handshake::ExtensionOffer;
/// let config = DeflateConfig::default();
/// let ok = ExtensionOffer::parse_list("permessage-deflate; client_max_window_bits=10")?;
/// let params = negotiate_client(&config, &ok).unwrap().unwrap();
/// assert_eq!(params.client_max_window_bits(), 10);
/// let bad = ExtensionOffer::parse_list("permessage-deflate; client_max_window_bits")?;
/// assert_eq!(
///     negotiate_client(&config, &bad),
///     Err(DeflateNegotiationError::ClientWindowWithoutValue)
/// );
/// # Ok::<(), pushcodec::ws::handshake::HandshakeError>(())
/// ```
pub fn negotiate_client(
    config: &DeflateConfig,
    response: &[ExtensionOffer],
) -> Result<Option<DeflateParams>, DeflateNegotiationError> {
    let mut ours = response.iter().filter(|e| is_deflate(e));
    let Some(resp) = ours.next() else {
        return Ok(None);
    };
    let count = 1 + ours.count();
    if count > 1 {
        return Err(DeflateNegotiationError::ExtensionTwice { count });
    }
    let p = parse_params(resp).map_err(|e| match e {
        ParamError::Unknown(param) => DeflateNegotiationError::UnknownParam { param },
        ParamError::Duplicate(param) => DeflateNegotiationError::DuplicateParam { param },
        ParamError::Invalid(param, value) => DeflateNegotiationError::InvalidValue { param, value },
    })?;
    if config.server_no_context_takeover && !p.server_nct {
        return Err(DeflateNegotiationError::ServerNoContextTakeoverMissing);
    }
    let offered_server = config.server_window();
    let server_bits = match p.server_mwb {
        // §7.1.2.1: only a limit we asked for binds the server's answer.
        Some(v) if offered_server < 15 && v > offered_server => {
            return Err(DeflateNegotiationError::ServerWindowAboveOffered {
                offered: offered_server,
                answered: v,
            });
        }
        Some(v) => v,
        // The server did not commit to a limit (§7.1.2.1 wants one when
        // asked); harmless for us, as we inflate with 15 bits anyway.
        None => 15,
    };
    let client_bits = match p.client_mwb {
        ClientWindow::Absent => config.client_window(),
        ClientWindow::NoValue => return Err(DeflateNegotiationError::ClientWindowWithoutValue),
        ClientWindow::Bits(v) if v < 9 => {
            return Err(DeflateNegotiationError::UnsupportedWindow { bits: v });
        }
        ClientWindow::Bits(v) => v.min(config.client_window()),
    };
    Ok(Some(DeflateParams {
        server_no_context_takeover: p.server_nct,
        client_no_context_takeover: p.client_nct || config.client_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    }))
}

#[cfg(test)]
mod tests {
    use super::window_value;

    #[test]
    fn rfc7692_7_1_2_window_values() {
        for (v, want) in [
            ("8", Some(8)),
            ("9", Some(9)),
            ("10", Some(10)),
            ("15", Some(15)),
            ("7", None),
            ("16", None),
            ("08", None),
            ("010", None),
            ("", None),
            ("1", None),
            ("+9", None),
            ("9 ", None),
            ("١٠", None),
        ] {
            assert_eq!(window_value(v), want, "{v:?}");
        }
    }
}
