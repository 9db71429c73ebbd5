//! `Sec-WebSocket-Extensions` values: RFC 6455 §9.1's grammar.
//!
//! ```text
//! extension-list = 1#extension
//! extension      = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//! A quoted value must be a token once unescaped (§9.1). Only the syntax is
//! checked here; what parameters mean (and whether a duplicate one declines
//! an offer, RFC 7692 §7.1) is for the extension that reads them.

use crate::prelude::*;
use core::fmt;

use super::error::{BuildError, FieldError};
use super::fields::{is_tchar, is_token};

/// One extension element: a name and its parameters, as offered by a client
/// (or accepted by a server), in the order sent.
///
/// Several elements may share a name: RFC 7692 clients send several
/// `permessage-deflate` offers in order of preference. `Display` writes the
/// element back in canonical form (`name; p; q=v`).
///
/// # Example
/// ```
/// use pushcodec::ws::handshake::ExtensionOffer;
/// let offers = ExtensionOffer::parse_list(
///     r#"permessage-deflate; client_max_window_bits; server_max_window_bits="10", x-foo"#,
/// )?;
/// assert_eq!(offers.len(), 2);
/// assert_eq!(offers[0].name(), "permessage-deflate");
/// assert_eq!(offers[0].param("client_max_window_bits"), Some(None));
/// assert_eq!(offers[0].param("server_max_window_bits"), Some(Some("10")));
/// assert_eq!(
///     offers[0].to_string(),
///     "permessage-deflate; client_max_window_bits; server_max_window_bits=10"
/// );
/// # Ok::<(), pushcodec::ws::handshake::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionOffer {
    name: String,
    params: Vec<(String, Option<String>)>,
}

impl ExtensionOffer {
    /// The extension's name as sent (e.g. `permessage-deflate`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parameters, in order, each with its value if it had one (quoted
    /// values already unescaped). Duplicates are kept.
    pub fn params(&self) -> &[(String, Option<String>)] {
        &self.params
    }

    /// The first parameter named `name` (ASCII case-insensitive): `None` if
    /// absent, `Some(None)` if present without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// Parses one `Sec-WebSocket-Extensions` value into its elements.
    /// Empty list elements are skipped (RFC 9110 §5.6.1.2), so an empty
    /// value yields no elements.
    ///
    /// # Errors
    /// [`BuildError::InvalidExtensionHeader`] with the byte offset of the
    /// first place the value leaves the grammar (the value is the
    /// application's; one received is checked by the handshake itself).
    pub fn parse_list(value: &str) -> Result<Vec<Self>, BuildError> {
        parse_bytes(value.as_bytes()).map_err(Into::into)
    }
}

impl fmt::Display for ExtensionOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (n, v) in &self.params {
            write!(f, "; {n}")?;
            if let Some(v) = v {
                // Values are tokens (§9.1), so they never need quoting.
                write!(f, "={v}")?;
            }
        }
        Ok(())
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn err(&self, reason: &'static str) -> ExtensionSyntax {
        ExtensionSyntax {
            offset: self.pos,
            reason,
        }
    }

    fn token(&mut self, what: &'static str) -> Result<String, ExtensionSyntax> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.err(what));
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    /// RFC 9110 §5.6.4 quoted-string, the cursor on its opening quote.
    fn quoted(&mut self) -> Result<String, ExtensionSyntax> {
        let open = self.pos;
        self.pos += 1;
        let mut value = Vec::new();
        loop {
            match self.peek() {
                None => {
                    self.pos = open;
                    return Err(self.err("unterminated quoted string"));
                }
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b) if b == b'\t' || b >= b' ' && b != 0x7f => value.push(b),
                        _ => return Err(self.err("invalid escape in quoted string")),
                    }
                }
                Some(b) if b == b'\t' || b >= b' ' && b != 0x7f => value.push(b),
                Some(_) => return Err(self.err("control character in quoted string")),
            }
            self.pos += 1;
        }
        if !is_token(&value) {
            self.pos = open;
            return Err(self.err("quoted value is not a token once unescaped"));
        }
        Ok(String::from_utf8_lossy(&value).into_owned())
    }
}

/// Where a `Sec-WebSocket-Extensions` value leaves RFC 6455 §9.1's
/// grammar. Whose fault that is depends on who wrote the value: the peer's
/// ([`FieldError`], then a request or response error) or the application's
/// ([`BuildError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExtensionSyntax {
    offset: usize,
    reason: &'static str,
}

impl From<ExtensionSyntax> for FieldError {
    fn from(ExtensionSyntax { offset, reason }: ExtensionSyntax) -> Self {
        FieldError::InvalidExtensionHeader { offset, reason }
    }
}

impl From<ExtensionSyntax> for BuildError {
    fn from(ExtensionSyntax { offset, reason }: ExtensionSyntax) -> Self {
        BuildError::InvalidExtensionHeader { offset, reason }
    }
}

/// Parses one header value (already stripped of surrounding whitespace).
pub(crate) fn parse_bytes(value: &[u8]) -> Result<Vec<ExtensionOffer>, ExtensionSyntax> {
    let mut c = Cursor { s: value, pos: 0 };
    let mut out = Vec::new();
    loop {
        c.skip_ows();
        match c.peek() {
            None => return Ok(out),
            // RFC 9110 §5.6.1.2: empty list elements are skipped.
            Some(b',') => {
                c.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        let name = c.token("expected an extension name")?;
        let mut params = Vec::new();
        loop {
            c.skip_ows();
            match c.peek() {
                None => break,
                Some(b',') => {
                    c.pos += 1;
                    break;
                }
                Some(b';') => {
                    c.pos += 1;
                    c.skip_ows();
                    let pname = c.token("expected a parameter name")?;
                    c.skip_ows();
                    let mut pvalue = None;
                    if c.peek() == Some(b'=') {
                        c.pos += 1;
                        c.skip_ows();
                        pvalue = Some(if c.peek() == Some(b'"') {
                            c.quoted()?
                        } else {
                            c.token("expected a parameter value")?
                        });
                    }
                    params.push((pname, pvalue));
                }
                Some(_) => return Err(c.err("expected ';' or ','")),
            }
        }
        out.push(ExtensionOffer { name, params });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Vec<ExtensionOffer>, BuildError> {
        ExtensionOffer::parse_list(s)
    }

    fn offset(s: &str) -> usize {
        match p(s) {
            Err(BuildError::InvalidExtensionHeader { offset, .. }) => offset,
            other => panic!("{s:?} gave {other:?}"),
        }
    }

    #[test]
    fn browser_offer() {
        let v = p("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].params(),
            &[("client_max_window_bits".to_owned(), None)]
        );
    }

    #[test]
    fn several_offers_with_values_and_quotes() {
        let v = p(
            "permessage-deflate;server_max_window_bits=10 ;client_no_context_takeover , \
             permessage-deflate; server_max_window_bits = \"1\\1\",x",
        )
        .unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].param("server_max_window_bits"), Some(Some("10")));
        assert_eq!(v[0].param("CLIENT_NO_CONTEXT_TAKEOVER"), Some(None));
        assert_eq!(v[1].param("server_max_window_bits"), Some(Some("11")));
        assert_eq!(v[2].name(), "x");
        assert!(v[2].params().is_empty());
        assert_eq!(
            v[1].to_string(),
            "permessage-deflate; server_max_window_bits=11"
        );
    }

    #[test]
    fn duplicates_are_kept_for_the_extension_to_judge() {
        let v = p("a; x=1; x=2").unwrap();
        assert_eq!(v[0].params().len(), 2);
        assert_eq!(v[0].param("x"), Some(Some("1")));
    }

    #[test]
    fn empty_elements_are_skipped() {
        assert_eq!(p("").unwrap(), vec![]);
        assert_eq!(p(" , ,a,, ").unwrap().len(), 1);
    }

    #[test]
    fn grammar_violations_give_offsets() {
        assert_eq!(offset("a b"), 2);
        assert_eq!(offset("a;"), 2);
        assert_eq!(offset("a; =1"), 3);
        assert_eq!(offset("a; x="), 5);
        assert_eq!(offset("a; x=\"1"), 5);
        assert_eq!(offset("a; x=\"1 2\""), 5); // not a token once unquoted
        assert_eq!(offset("a; x=\"\""), 5);
        assert_eq!(offset("a; x=\"\\"), 7);
        assert_eq!(offset("a; x=\"\x01\""), 6);
        assert_eq!(offset(";x"), 0);
        assert_eq!(offset("a=1"), 1);
        assert_eq!(offset("é"), 0);
    }
}
