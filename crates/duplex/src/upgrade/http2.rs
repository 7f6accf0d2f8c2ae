//! The server's side of WebSocket over HTTP/2 (RFC 8441): recognising an extended CONNECT and
//! checking it with the same rules as an HTTP/1.1 handshake. Everything else (policy, the
//! answer, the hand-over) is shared with HTTP/1.1 in the parent module.

#[cfg(feature = "http2")]
use duplex_proto::handshake::server::Request;
#[cfg(feature = "http2")]
use duplex_proto::HandshakeError;
#[cfg(feature = "http2")]
use http::header;
#[cfg(feature = "http2")]
use http::{HeaderMap, Uri};
use http::{Method, Version};

#[cfg(feature = "http2")]
use super::Refusal;

/// True for an HTTP/2 extended CONNECT whose `:protocol` is `websocket`.
#[cfg_attr(not(any(feature = "http2", feature = "axum")), allow(dead_code))]
pub(crate) fn is_extended_connect(
    method: &Method,
    version: Version,
    extensions: &http::Extensions,
) -> bool {
    #[cfg(feature = "http2")]
    {
        version == Version::HTTP_2
            && method == Method::CONNECT
            && extensions
                .get::<hyper::ext::Protocol>()
                .is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket"))
    }
    #[cfg(not(feature = "http2"))]
    {
        let _ = (method, version, extensions);
        false
    }
}

#[cfg(feature = "http2")]
/// An extended CONNECT (RFC 8441 section 5): `:protocol websocket`, `sec-websocket-version:
/// 13`, and the same optional headers as over HTTP/1.1, with `:authority` for `Host`. The
/// checks are [`Request::from_head`]'s, given what HTTP/2 leaves out (`Upgrade`, `Connection`,
/// the key); a version it refuses with 426 is refused with 400 here, as 426 means "upgrade
/// the connection", which HTTP/2 cannot.
pub(super) fn check(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    extensions: &http::Extensions,
) -> Result<Request, Refusal> {
    let refuse = |detail: String| {
        Refusal::from(HandshakeError::BadRequest {
            status: 400,
            reason: "Bad Request",
            detail,
        })
        .over_http2()
    };
    if !is_extended_connect(method, Version::HTTP_2, extensions) {
        return Err(match extensions.get::<hyper::ext::Protocol>() {
            Some(other) if method == Method::CONNECT => {
                refuse(format!("unsupported :protocol {:?}", other.as_str()))
            }
            _ => refuse(
                "this is a WebSocket endpoint: over HTTP/2, send an extended CONNECT with \
                 :protocol websocket (RFC 8441)"
                    .into(),
            ),
        });
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut raw: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    let sent = raw.len();
    // What from_head needs and HTTP/2 says otherwise: the key is a fixed, valid stand-in.
    raw.push(("upgrade", b"websocket"));
    raw.push(("connection", b"upgrade"));
    if !headers.contains_key(header::SEC_WEBSOCKET_KEY) {
        raw.push(("sec-websocket-key", b"AAAAAAAAAAAAAAAAAAAAAA=="));
    }
    let authority = uri.authority().map(|a| a.as_str().to_owned());
    if !headers.contains_key(header::HOST) {
        if let Some(authority) = &authority {
            raw.push(("host", authority.as_bytes()));
        }
    }
    let mut request =
        Request::from_head("GET", 1, path, &raw).map_err(|e| Refusal::from(e).over_http2())?;
    request.key = String::new();
    request.headers.truncate(sent);
    Ok(request)
}
