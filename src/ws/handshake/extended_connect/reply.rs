//! Answers to an extended CONNECT: the `200` and rejections, as fields for
//! the caller's HTTP/2 or HTTP/3 stack.

use super::CONNECTION_SPECIFIC;
use crate::prelude::*;
use crate::ws::handshake::error::{BuildError, RequestError};
use crate::ws::handshake::fields::check_outgoing;
use crate::ws::handshake::mode::{ExtendedConnect, Mode as _};

/// Fields a rejection may not carry: those the `200` may not carry but
/// the four `sec-websocket-*` ones it writes itself. Its framing is the
/// stack's, and HTTP/2 and HTTP/3 forbid the connection-specific fields.
const REJECT_RESERVED: &[&str] = ExtendedConnect::ANSWER_RESERVED.split_at(4).1;

/// A server's answer to an extended CONNECT, for the caller's HTTP/2 or
/// HTTP/3 stack: the `200` that opens the WebSocket
/// ([`ConnectAcceptBuilder::build`](super::ConnectAcceptBuilder::build)) or a rejection
/// ([`RequestError::connect_reply`], [`connect_reject`]).
///
/// Field names are lowercase, as HTTP/2 and HTTP/3 require; no
/// connection-specific field is ever included.
///
/// # Example
/// ```
/// use pushcodec::ws::handshake::connect_reject;
/// let reply = connect_reject(403, "origin not allowed", &[("x-reason", "origin")])?;
/// assert_eq!(reply.status(), 403);
/// assert_eq!(
///     reply.fields().collect::<Vec<_>>(),
///     [
///         (":status", "403"),
///         ("x-reason", "origin"),
///         ("content-type", "text/plain; charset=utf-8"),
///     ]
/// );
/// assert_eq!(reply.body(), "origin not allowed\n");
/// # Ok::<(), pushcodec::ws::handshake::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectReply {
    status: u16,
    status_text: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl ConnectReply {
    pub(crate) fn new(status: u16, headers: Vec<(String, String)>, body: String) -> Self {
        ConnectReply {
            status,
            status_text: status.to_string(),
            headers,
            body,
        }
    }

    /// The status: 200 to open the WebSocket, else a rejection.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The regular fields, in order, names lowercase.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The whole field section: `:status` first, then
    /// [`headers`](Self::headers), as an HTTP/3 stack such as quiche takes it.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        core::iter::once((":status", self.status_text.as_str())).chain(self.headers())
    }

    /// The content to send after the fields: empty for the `200` (the
    /// stream then carries WebSocket frames), the reason as plain text for
    /// a rejection.
    pub fn body(&self) -> &str {
        &self.body
    }
}

fn plain_reject(status: u16, reason: &str, mut headers: Vec<(String, String)>) -> ConnectReply {
    let body = if reason.is_empty() {
        String::new()
    } else {
        headers.push((
            "content-type".to_owned(),
            "text/plain; charset=utf-8".to_owned(),
        ));
        format!("{reason}\n")
    };
    ConnectReply::new(status, headers, body)
}

/// A rejection of the application's own (authentication failed, origin
/// not allowed) for an extended CONNECT: `status`, the extra fields (names
/// sent lowercase) and `reason` as a `text/plain` body (none if empty). The
/// HTTP/2 or HTTP/3 equivalent of [`encode_reject`](crate::ws::handshake::encode_reject).
///
/// # Errors
/// [`BuildError::InvalidStatus`] unless `status` is 300–599;
/// [`BuildError::InvalidHeaderName`] / [`BuildError::InvalidHeaderValue`]
/// for a field that is not a token or holds a control character;
/// [`BuildError::ReservedHeader`] for `content-length` or a
/// connection-specific field.
///
/// # Example
/// See [`ConnectReply`].
pub fn connect_reject(
    status: u16,
    reason: &str,
    extra_headers: &[(&str, &str)],
) -> Result<ConnectReply, BuildError> {
    if !(300..=599).contains(&status) {
        return Err(BuildError::InvalidStatus { status });
    }
    let mut headers = Vec::with_capacity(extra_headers.len() + 1);
    for (name, value) in extra_headers {
        check_outgoing(name, value, REJECT_RESERVED)?;
        headers.push((name.to_ascii_lowercase(), (*value).to_owned()));
    }
    Ok(plain_reject(status, reason, headers))
}

impl RequestError {
    /// The rejection for this error over HTTP/2 or HTTP/3: its
    /// [`status`](Self::status) (but 400 for 426, whose required `Upgrade`
    /// field HTTP/2 forbids), the fields the status requires
    /// (`sec-websocket-version: 13`, `allow: CONNECT`) and the message as a
    /// `text/plain` body. Send it and end the stream.
    pub fn connect_reply(&self) -> ConnectReply {
        let status = match self.status() {
            426 => 400,
            s => s,
        };
        let headers = self
            .headers()
            .iter()
            .filter(|(n, _)| {
                !CONNECTION_SPECIFIC
                    .iter()
                    .any(|c| n.eq_ignore_ascii_case(c))
            })
            .map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned()))
            .collect();
        plain_reject(status, &self.to_string(), headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_may_set_websocket_fields_but_not_framing() {
        assert!(
            REJECT_RESERVED
                .iter()
                .all(|n| !n.starts_with("sec-websocket"))
        );
        assert!(REJECT_RESERVED.contains(&"content-length"));
        assert!(REJECT_RESERVED.contains(&"te"));
    }

    #[test]
    fn reply_for_an_http1_error_drops_upgrade() {
        let r = RequestError::UnsupportedVersion { found: None }.connect_reply();
        assert_eq!(r.status(), 400);
        assert_eq!(
            r.headers().map(|(n, _)| n).collect::<Vec<_>>(),
            ["sec-websocket-version", "content-type"]
        );
    }
}
