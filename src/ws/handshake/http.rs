//! The same checks over the `http` crate's types (feature `http`), for
//! servers and clients whose HTTP layer (hyper, axum) parsed the head.

use crate::prelude::*;
use ::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};

use super::error::{BuildError, RequestError, ResponseError};
use super::fields::Fields;
use super::{
    AcceptBuilder, ClientHandshake, ConnectHandshake, ConnectReply, ConnectRequest,
    ConnectResponse, Request, Response,
};
use crate::http1::HeadLimits;

fn version_str(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "an unknown HTTP version",
    }
}

fn fields_of(headers: &HeaderMap) -> Fields {
    let mut f = Fields::with_capacity(headers.len());
    for (name, value) in headers {
        f.push(name.as_str(), value.as_bytes());
    }
    f
}

fn check(
    method: &Method,
    uri: &Uri,
    version: Version,
    headers: &HeaderMap,
) -> Result<Request, RequestError> {
    // Item 1 checks GET before the version, but an HTTP/2 or HTTP/3
    // request here is an extended CONNECT (RFC 8441, RFC 9220) that reached
    // the HTTP/1.1 check: name the version, not the method.
    if matches!(version, Version::HTTP_2 | Version::HTTP_3) {
        return Err(RequestError::HttpVersion {
            version: version_str(version).to_owned(),
        });
    }
    let mut fields = fields_of(headers);
    // An absolute-form target carries the host in the URI; HTTP stacks
    // that move it there must not make the request fail RFC 6455 §4.2.1
    // item 2.
    if let (false, Some(a)) = (headers.contains_key(::http::header::HOST), uri.authority()) {
        fields.push("Host", a.as_str().as_bytes());
    }
    let path = uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    Request::check(
        method.as_str().to_owned(),
        path,
        version_str(version),
        fields,
    )
}

/// Checks an HTTP/1.1 upgrade request that another HTTP stack parsed, with
/// the same RFC 6455 §4.2.1 rules as [`parse_request`](super::parse_request).
/// HTTP/2 and HTTP/3 requests fail with [`RequestError::HttpVersion`]:
/// they use extended CONNECT (RFC 8441), not Upgrade: check those with
/// [`check_http_connect_request`].
///
/// # Errors
/// As [`parse_request`](super::parse_request); answer with
/// [`RequestError::to_http_response`].
///
/// # Example
/// ```
/// use pushcodec::ws::handshake;
/// let req = http::Request::get("/chat?x=1")
///     .header("host", "example.com")
///     .header("upgrade", "websocket")
///     .header("connection", "Upgrade")
///     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
///     .header("sec-websocket-version", "13")
///     .body(())?;
/// let checked = handshake::check_http_request(&req)?;
/// assert_eq!(checked.query(), Some("x=1"));
/// let resp = checked.accept().into_http_response()?;
/// assert_eq!(resp.status(), http::StatusCode::SWITCHING_PROTOCOLS);
/// assert_eq!(resp.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_http_request<B>(req: &::http::Request<B>) -> Result<Request, RequestError> {
    check(req.method(), req.uri(), req.version(), req.headers())
}

/// As [`check_http_request`], for a request already split into parts.
///
/// # Errors
/// As [`check_http_request`].
pub fn check_http_parts(parts: &::http::request::Parts) -> Result<Request, RequestError> {
    check(&parts.method, &parts.uri, parts.version, &parts.headers)
}

fn header_pair(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), BuildError> {
    let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| BuildError::InvalidHeaderName {
        name: name.to_owned(),
    })?;
    let v = HeaderValue::from_str(value).map_err(|_| BuildError::InvalidHeaderValue {
        name: name.to_owned(),
    })?;
    Ok((n, v))
}

impl AcceptBuilder<'_> {
    /// The `101 Switching Protocols` answer as an `http::Response`, with
    /// the same checks as [`encode`](Self::encode).
    ///
    /// # Errors
    /// As [`encode`](Self::encode).
    pub fn into_http_response(self) -> Result<::http::Response<()>, BuildError> {
        let mut resp = ::http::Response::new(());
        *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = resp.headers_mut();
        for (name, value) in self.fields()? {
            let (n, v) = header_pair(name, &value)?;
            headers.append(n, v);
        }
        Ok(resp)
    }
}

impl RequestError {
    /// The rejection for this error as an `http::Response`, with the same
    /// status, headers and plain-text body as
    /// [`encode_response`](Self::encode_response) (the HTTP stack adds
    /// `Content-Length` and framing).
    pub fn to_http_response(&self) -> ::http::Response<String> {
        let mut resp = ::http::Response::new(format!("{self}\n"));
        *resp.status_mut() = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let headers = resp.headers_mut();
        headers.insert(
            ::http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        for (name, value) in self.headers() {
            // A fixed set of valid names and values: this cannot fail.
            if let Ok((n, v)) = header_pair(name, value) {
                headers.append(n, v);
            }
        }
        resp
    }
}

impl ClientHandshake {
    /// The request as an `http::Request` (origin-form URI, `Host` header
    /// included), for an HTTP client such as hyper's `conn::http1`.
    ///
    /// # Errors
    /// [`BuildError::InvalidRequestPart`] if the path is not a URI the
    /// `http` crate accepts.
    ///
    /// # Example
    /// ```
    /// use pushcodec::ws::handshake::{self, ClientHandshake};
    /// let hs = ClientHandshake::new("example.com", "/chat");
    /// let req = hs.to_http_request()?;
    /// assert_eq!(req.uri(), "/chat");
    /// let resp = http::Response::builder()
    ///     .status(101)
    ///     .header("upgrade", "websocket")
    ///     .header("connection", "upgrade")
    ///     .header("sec-websocket-accept", handshake::accept_key(hs.key().as_bytes()))
    ///     .body(())?;
    /// let checked = hs.check_http_response(&resp)?;
    /// assert_eq!(checked.protocol(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_http_request(&self) -> Result<::http::Request<()>, BuildError> {
        let uri: Uri = self
            .path()
            .parse()
            .map_err(|_| BuildError::InvalidRequestPart {
                what: "path",
                reason: "not a URI the http crate accepts",
            })?;
        let mut req = ::http::Request::new(());
        *req.method_mut() = Method::GET;
        *req.uri_mut() = uri;
        *req.version_mut() = Version::HTTP_11;
        let headers = req.headers_mut();
        for (name, value) in self.fields() {
            let (n, v) = header_pair(name, &value)?;
            headers.append(n, v);
        }
        Ok(req)
    }

    /// Checks a response that another HTTP stack parsed, with the same
    /// RFC 6455 §4.1 rules as [`parse_response`](Self::parse_response).
    ///
    /// # Errors
    /// As [`parse_response`](Self::parse_response).
    pub fn check_http_response<T>(
        &self,
        resp: &::http::Response<T>,
    ) -> Result<Response, ResponseError> {
        let reason = resp.status().canonical_reason().unwrap_or("").to_owned();
        self.check(resp.status().as_u16(), reason, fields_of(resp.headers()))
    }
}

/// The pseudo-headers and fields of an HTTP/2 or HTTP/3 request as the
/// `http` crate holds them: `:method`, `:scheme`, `:authority` and `:path`
/// from the method and URI, `:protocol` from the request extension `P`.
fn connect_check<P>(
    method: &Method,
    uri: &Uri,
    extensions: &::http::Extensions,
    headers: &HeaderMap,
) -> Result<ConnectRequest, RequestError>
where
    P: AsRef<[u8]> + Send + Sync + 'static,
{
    let mut pairs: Vec<(&[u8], &[u8])> = Vec::with_capacity(headers.len() + 5);
    pairs.push((b":method", method.as_str().as_bytes()));
    if let Some(p) = extensions.get::<P>() {
        pairs.push((b":protocol", p.as_ref()));
    }
    if let Some(s) = uri.scheme_str() {
        pairs.push((b":scheme", s.as_bytes()));
    }
    if let Some(a) = uri.authority() {
        pairs.push((b":authority", a.as_str().as_bytes()));
    }
    if let Some(p) = uri.path_and_query() {
        pairs.push((b":path", p.as_str().as_bytes()));
    }
    for (name, value) in headers {
        pairs.push((name.as_str().as_bytes(), value.as_bytes()));
    }
    // The stack bounded the header list already (SETTINGS_MAX_HEADER_LIST_SIZE).
    super::check_connect_request(pairs, &HeadLimits::UNLIMITED)
}

/// Checks an extended CONNECT request (RFC 8441, RFC 9220) that an HTTP/2
/// or HTTP/3 stack parsed, with the rules of
/// [`check_connect_request`](super::check_connect_request).
///
/// `P` is the stack's type for the `:protocol` pseudo-header, read from the
/// request's extensions: `hyper::ext::Protocol` for hyper, `h2::ext::Protocol`
/// for the h2 crate (distinct types: hyper 1.12 wraps h2's in its own and
/// moves the value from one to the other). Taking it as a parameter keeps
/// those crates out of this one's dependencies (and their versions out of
/// its API) and works with any stack whose type gives the value as bytes;
/// for others, pass the fields to `check_connect_request`.
///
/// # Errors
/// As [`check_connect_request`](super::check_connect_request); answer with
/// [`RequestError::connect_reply`] and
/// [`ConnectReply::to_http_response`].
///
/// # Example
/// ```
/// use pushcodec::ws::handshake::{self, RequestError};
///
/// /// Stands for `hyper::ext::Protocol`.
/// #[derive(Clone)]
/// struct Protocol(&'static str);
/// impl AsRef<[u8]> for Protocol {
///     fn as_ref(&self) -> &[u8] {
///         self.0.as_bytes()
///     }
/// }
///
/// let mut req = http::Request::connect("https://example.com/chat")
///     .version(http::Version::HTTP_2)
///     .header("sec-websocket-version", "13")
///     .body(())?;
/// // Without :protocol this is a plain CONNECT to a proxy.
/// assert!(matches!(
///     handshake::check_http_connect_request::<Protocol, _>(&req),
///     Err(RequestError::ConnectProtocolNotWebSocket { found: None })
/// ));
/// req.extensions_mut().insert(Protocol("websocket"));
/// let checked = handshake::check_http_connect_request::<Protocol, _>(&req)?;
/// let resp = checked.accept().build()?.to_http_response();
/// assert_eq!(resp.status(), http::StatusCode::OK);
/// assert!(resp.headers().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_http_connect_request<P, B>(
    req: &::http::Request<B>,
) -> Result<ConnectRequest, RequestError>
where
    P: AsRef<[u8]> + Send + Sync + 'static,
{
    connect_check::<P>(req.method(), req.uri(), req.extensions(), req.headers())
}

/// As [`check_http_connect_request`], for a request already split into
/// parts.
///
/// # Errors
/// As [`check_http_connect_request`].
pub fn check_http_connect_parts<P>(
    parts: &::http::request::Parts,
) -> Result<ConnectRequest, RequestError>
where
    P: AsRef<[u8]> + Send + Sync + 'static,
{
    connect_check::<P>(&parts.method, &parts.uri, &parts.extensions, &parts.headers)
}

impl ConnectReply {
    /// This answer as an `http::Response`: the status, the fields and the
    /// body (empty for the `200`). Send a `200` without ending the stream:
    /// with hyper, return it from the service and take the stream from
    /// `hyper::upgrade::on(request)`.
    pub fn to_http_response(&self) -> ::http::Response<String> {
        let mut resp = ::http::Response::new(self.body().to_owned());
        *resp.status_mut() =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = resp.headers_mut();
        for (name, value) in self.headers() {
            // Every name and value was checked when the reply was built.
            if let Ok((n, v)) = header_pair(name, value) {
                headers.append(n, v);
            }
        }
        resp
    }
}

impl ConnectHandshake {
    /// The request as an `http::Request` for an HTTP/2 client such as
    /// hyper's `client::conn::http2`: method `CONNECT`, the absolute URI
    /// (`https://example.com/chat`, from which the stack takes `:scheme`,
    /// `:authority` and `:path`), version HTTP/2 (set HTTP/3 for an h3
    /// stack), the fields, and `:protocol` as the extension `protocol`
    /// makes from `"websocket"`: pass `hyper::ext::Protocol::from_static`
    /// for hyper, `h2::ext::Protocol::from_static` for h2.
    ///
    /// # Errors
    /// [`BuildError::ConnectProtocolNotEnabled`] unless
    /// `connect_protocol_enabled` (hyper:
    /// `SendRequest::is_extended_connect_protocol_enabled`);
    /// [`BuildError::InvalidRequestPart`] if the URI is not one the
    /// `http` crate accepts.
    ///
    /// # Example
    /// ```
    /// use pushcodec::ws::handshake::ConnectHandshake;
    ///
    /// /// Stands for `hyper::ext::Protocol`.
    /// #[derive(Clone, Debug, PartialEq)]
    /// struct Protocol(&'static str);
    ///
    /// let hs = ConnectHandshake::new("ws://127.0.0.1:8080/echo").protocols(&["echo"]);
    /// let req = hs.to_http_request(true, Protocol)?;
    /// assert_eq!(req.method(), http::Method::CONNECT);
    /// assert_eq!(req.uri(), "http://127.0.0.1:8080/echo");
    /// assert_eq!(req.extensions().get::<Protocol>(), Some(&Protocol("websocket")));
    /// assert_eq!(req.headers()["sec-websocket-protocol"], "echo");
    ///
    /// let resp = http::Response::builder()
    ///     .header("sec-websocket-protocol", "echo")
    ///     .body(())?;
    /// assert_eq!(hs.check_http_response(&resp)?.protocol(), Some("echo"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_http_request<P>(
        &self,
        connect_protocol_enabled: bool,
        protocol: impl FnOnce(&'static str) -> P,
    ) -> Result<::http::Request<()>, BuildError>
    where
        P: Clone + Send + Sync + 'static,
    {
        if !connect_protocol_enabled {
            return Err(BuildError::ConnectProtocolNotEnabled);
        }
        let uri: Uri = format!("{}://{}{}", self.scheme(), self.authority(), self.path())
            .parse()
            .map_err(|_| BuildError::InvalidRequestPart {
                what: "uri",
                reason: "not a URI the http crate accepts",
            })?;
        let mut req = ::http::Request::new(());
        *req.method_mut() = Method::CONNECT;
        *req.uri_mut() = uri;
        *req.version_mut() = Version::HTTP_2;
        req.extensions_mut()
            .insert(protocol(super::CONNECT_PROTOCOL));
        let headers = req.headers_mut();
        for (name, value) in self.regular_fields() {
            let (n, v) = header_pair(&name, &value)?;
            headers.append(n, v);
        }
        Ok(req)
    }

    /// Checks an answer that the HTTP/2 or HTTP/3 stack parsed, with the
    /// rules of [`check_response`](Self::check_response).
    ///
    /// # Errors
    /// As [`check_response`](Self::check_response).
    pub fn check_http_response<T>(
        &self,
        resp: &::http::Response<T>,
    ) -> Result<ConnectResponse, ResponseError> {
        let status = resp.status();
        let pairs = core::iter::once((&b":status"[..], status.as_str().as_bytes())).chain(
            resp.headers()
                .iter()
                .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes())),
        );
        self.check_response(pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ::http::request::Builder {
        ::http::Request::get("/p")
            .header("host", "h")
            .header("upgrade", "websocket")
            .header("connection", "upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", "13")
    }

    #[test]
    fn http2_and_post_are_refused() {
        let req = base()
            .method("CONNECT")
            .version(Version::HTTP_2)
            .body(())
            .unwrap();
        assert_eq!(
            check_http_request(&req),
            Err(RequestError::HttpVersion {
                version: "HTTP/2".into()
            })
        );
        let req = base().method("POST").body(()).unwrap();
        assert_eq!(check_http_request(&req).unwrap_err().status(), 405);
    }

    #[test]
    fn parts_and_host_from_authority() {
        let req = ::http::Request::get("http://example.com/x")
            .header("upgrade", "websocket")
            .header("connection", "upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", "13")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let r = check_http_parts(&parts).unwrap();
        assert_eq!(r.host(), "example.com");
        assert_eq!(r.path(), "/x");
    }

    #[test]
    fn rejection_as_http_response() {
        let req = base()
            .header("sec-websocket-version", "8")
            .body(())
            .unwrap();
        // Two versions: duplicate (400). One wrong version: 426.
        assert_eq!(check_http_request(&req).unwrap_err().status(), 400);
        let e = RequestError::UnsupportedVersion {
            found: Some("8".into()),
        };
        let resp = e.to_http_response();
        assert_eq!(resp.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(resp.headers()["sec-websocket-version"], "13");
        assert!(resp.body().contains("§4.2.1"));
    }

    #[test]
    fn accept_headers_round_trip_to_client() {
        let hs = ClientHandshake::new("h", "/p").protocols(&["a"]);
        let req = hs.to_http_request().unwrap();
        let checked = check_http_request(&req).unwrap();
        assert_eq!(checked.protocols(), ["a"]);
        let resp = checked.accept().protocol("a").into_http_response().unwrap();
        let r = hs.check_http_response(&resp).unwrap();
        assert_eq!(r.protocol(), Some("a"));
        let bad = ::http::Response::builder().status(403).body(()).unwrap();
        assert!(matches!(
            hs.check_http_response(&bad),
            Err(ResponseError::UnexpectedStatus { status: 403, .. })
        ));
    }
}
