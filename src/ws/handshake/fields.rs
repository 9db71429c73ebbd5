//! Header fields as received, and the HTTP token rules (RFC 9110 §5.6) the
//! checks of both roles and both HTTP versions share.

use super::error::{BuildError, FieldError};
pub(crate) use crate::http1::trim_ows;
use crate::prelude::*;

/// One header field: the name as sent, the value with surrounding
/// whitespace removed (RFC 9110 §5.5: OWS is not part of the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) value: Vec<u8>,
}

/// The header fields of one request or response, in the order received.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Fields(Vec<Field>);

impl Fields {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Fields(Vec::with_capacity(n))
    }

    /// The fields of a head the HTTP/1.1 reader parsed, values trimmed.
    pub(crate) fn from_head(headers: &[crate::http1::Header<'_>]) -> Self {
        let mut fields = Fields::with_capacity(headers.len());
        for (name, value) in headers {
            fields.push(name, value);
        }
        fields
    }

    pub(crate) fn push(&mut self, name: &str, value: &[u8]) {
        self.0.push(Field {
            name: name.to_owned(),
            value: trim_ows(value).to_vec(),
        });
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0.iter().map(|f| (f.name.as_str(), f.value.as_slice()))
    }

    /// Every value of `name`, compared case-insensitively (RFC 9110 §5.1).
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.value.as_slice())
    }

    /// The first value of `name` if it is UTF-8.
    pub(crate) fn first_str(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .and_then(|f| core::str::from_utf8(&f.value).ok())
    }

    /// The value of a field that may appear at most once.
    pub(crate) fn single(&self, name: &'static str) -> Result<Option<&[u8]>, FieldError> {
        let mut it = self.all(name);
        let first = it.next();
        if it.next().is_some() {
            return Err(FieldError::DuplicateHeader { name });
        }
        Ok(first)
    }

    /// Whether a comma-separated token list (RFC 9110 §5.6.1), spread over
    /// any number of `name` fields, holds `token` (ASCII case-insensitive).
    pub(crate) fn list_has_token(&self, name: &str, token: &str) -> bool {
        self.all(name).any(|v| {
            v.split(|&b| b == b',')
                .any(|item| trim_ows(item).eq_ignore_ascii_case(token.as_bytes()))
        })
    }

    /// The Upgrade handshake's two token rules, the same for both roles:
    /// `Upgrade` holds `websocket` and `Connection` holds `Upgrade`, ASCII
    /// case-insensitive; `sections` names the rule each role breaks
    /// (RFC 6455 §4.2.1 items 3 and 4 for a request, §4.1 items 2 and 3
    /// for a response).
    pub(crate) fn upgrades_to_websocket(
        &self,
        sections: [&'static str; 2],
    ) -> Result<(), FieldError> {
        if !self.list_has_token("Upgrade", "websocket") {
            return Err(FieldError::UpgradeNotWebSocket {
                found: self.joined_lossy("Upgrade"),
                section: sections[0],
            });
        }
        if !self.list_has_token("Connection", "upgrade") {
            return Err(FieldError::ConnectionNotUpgrade {
                found: self.joined_lossy("Connection"),
                section: sections[1],
            });
        }
        Ok(())
    }

    /// All values of `name` joined with ", " (for error messages), lossily.
    pub(crate) fn joined_lossy(&self, name: &str) -> Option<String> {
        let mut out: Option<String> = None;
        for v in self.all(name) {
            let s = out.get_or_insert_with(String::new);
            if !s.is_empty() {
                s.push_str(", ");
            }
            s.push_str(&String::from_utf8_lossy(v));
        }
        out
    }
}

/// RFC 9110 §5.6.2 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 §5.6.2 `token = 1*tchar`.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// RFC 9110 §5.5 field-value bytes we are willing to write: visible ASCII,
/// SP, HTAB and obs-text; never CR, LF, NUL or other controls (they would
/// split the head and let a caller's data inject headers).
pub(crate) fn is_field_value(v: &[u8]) -> bool {
    v.iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80)
}

/// Checks a caller-supplied header for writing: a token name, a clean value,
/// and not one of the `reserved` names this crate writes itself.
pub(crate) fn check_outgoing(name: &str, value: &str, reserved: &[&str]) -> Result<(), BuildError> {
    if !is_token(name.as_bytes()) {
        return Err(BuildError::InvalidHeaderName {
            name: name.to_owned(),
        });
    }
    if reserved.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(BuildError::ReservedHeader {
            name: name.to_owned(),
        });
    }
    if !is_field_value(value.as_bytes()) {
        return Err(BuildError::InvalidHeaderValue {
            name: name.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        let mut f = Fields::default();
        for (n, v) in pairs {
            f.push(n, v.as_bytes());
        }
        f
    }

    #[test]
    fn token_lists_are_merged_and_case_insensitive() {
        let f = fields(&[("Connection", "keep-alive"), ("connection", " UPGRADE ")]);
        assert!(f.list_has_token("Connection", "upgrade"));
        assert!(!f.list_has_token("Connection", "close"));
        // A token inside another token does not count.
        let f = fields(&[("Connection", "upgrades, xupgrade")]);
        assert!(!f.list_has_token("connection", "upgrade"));
    }

    #[test]
    fn single_refuses_duplicates() {
        let f = fields(&[("Host", "a"), ("HOST", "b")]);
        assert_eq!(
            f.single("Host"),
            Err(FieldError::DuplicateHeader { name: "Host" })
        );
        assert_eq!(f.single("Origin"), Ok(None));
    }

    #[test]
    fn values_are_trimmed_and_tokens_checked() {
        assert!(is_token(b"chat.v2"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"a,b"));
        assert!(is_field_value("é\tx".as_bytes()));
        assert!(!is_field_value(b"a\r\nX-Evil: 1"));
        assert!(!is_field_value(b"a\0"));
    }

    #[test]
    fn outgoing_headers_are_validated() {
        assert!(check_outgoing("X-A", "1", &["upgrade"]).is_ok());
        assert!(matches!(
            check_outgoing("X A", "1", &[]),
            Err(BuildError::InvalidHeaderName { .. })
        ));
        assert!(matches!(
            check_outgoing("UPGRADE", "1", &["upgrade"]),
            Err(BuildError::ReservedHeader { .. })
        ));
        assert!(matches!(
            check_outgoing("X-A", "1\r\nX-B: 2", &[]),
            Err(BuildError::InvalidHeaderValue { .. })
        ));
    }
}
