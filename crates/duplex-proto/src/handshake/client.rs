//! The client's half of the opening handshake: build the request, check the server's answer.
//!
//! The key is 16 bytes from a CSPRNG, as RFC 6455 4.1 asks, so that no proxy can replay an old
//! answer. The answer is checked strictly: a 101 with the right `Sec-WebSocket-Accept`, the
//! Upgrade and Connection tokens, a subprotocol only if it is one we offered, and no extension
//! we did not offer.

use super::{accept_key, generate_key, header_has_token, header_items, MAX_HEADERS};
use crate::error::HandshakeError;

/// Default limit on the size of a response head: 16 KiB (servers send cookies and more).
pub const DEFAULT_MAX_HEAD: usize = 16 * 1024;

/// An opening handshake request, ready to encode.
///
/// ```
/// use duplex_proto::handshake::client::ClientRequest;
/// let request = ClientRequest::new("example.com:8080", "/chat")
///     .protocol("chat")
///     .origin("https://example.com")
///     .header("Authorization", "Bearer abc");
/// let text = String::from_utf8(request.encode().unwrap()).unwrap();
/// assert!(text.starts_with("GET /chat HTTP/1.1\r\nHost: example.com:8080\r\n"));
/// assert!(text.contains("Sec-WebSocket-Protocol: chat\r\n"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    host: String,
    path: String,
    key: String,
    protocols: Vec<String>,
    extensions: Vec<String>,
    origin: Option<String>,
    headers: Vec<(String, String)>,
}

/// The server's accepted answer, as far as the WebSocket layer cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The subprotocol the server chose, one of those offered.
    pub protocol: Option<String>,
    /// The extensions the server accepted, one item per extension.
    pub extensions: Vec<String>,
    /// Every header as sent.
    pub headers: Vec<(String, String)>,
}

impl ClientRequest {
    /// A request for `path` (with its query) on `host` (`host` or `host:port`, as it belongs in
    /// the `Host` header), with a fresh random key.
    pub fn new(host: impl Into<String>, path: impl Into<String>) -> Self {
        let path = path.into();
        ClientRequest {
            host: host.into(),
            path: if path.is_empty() {
                "/".to_owned()
            } else {
                path
            },
            key: generate_key(),
            protocols: Vec::new(),
            extensions: Vec::new(),
            origin: None,
            headers: Vec::new(),
        }
    }

    /// Uses `nonce` for the `Sec-WebSocket-Key` instead of 16 fresh random bytes, so that a
    /// test can reproduce the exact request. Never in production: the key must be
    /// unpredictable (RFC 6455 4.1).
    ///
    /// ```
    /// use duplex_proto::handshake::client::ClientRequest;
    /// let request = ClientRequest::new("example.com", "/chat").nonce([1; 16]);
    /// assert_eq!(request.key(), "AQEBAQEBAQEBAQEBAQEBAQ==");
    /// ```
    pub fn nonce(mut self, nonce: [u8; 16]) -> Self {
        self.key = super::encode_key(&nonce);
        self
    }

    /// Offers a subprotocol; call again for more, most preferred first.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocols.push(protocol.into());
        self
    }

    /// Offers an extension (`permessage-deflate; client_max_window_bits`).
    pub fn extension(mut self, offer: impl Into<String>) -> Self {
        self.extensions.push(offer.into());
        self
    }

    /// Sets the `Origin` header.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Adds a header (cookies, authorization, ...).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The `Sec-WebSocket-Key` sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The subprotocols offered.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The request bytes. Fails if a header or subprotocol would break the request's syntax.
    pub fn encode(&self) -> Result<Vec<u8>, HandshakeError> {
        let bad = |what: &str| HandshakeError::Malformed(format!("invalid {what} in request"));
        let clean = |s: &str| !s.contains(['\r', '\n']);
        if !clean(&self.host) || !clean(&self.path) || self.path.contains(' ') {
            return Err(bad("host or path"));
        }
        if let Some(p) = self.protocols.iter().find(|p| !super::is_token(p)) {
            return Err(bad(&format!("subprotocol {p:?}")));
        }
        let mut out = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n",
            self.path, self.host, self.key
        );
        if !self.protocols.is_empty() {
            out.push_str(&format!(
                "Sec-WebSocket-Protocol: {}\r\n",
                self.protocols.join(", ")
            ));
        }
        if !self.extensions.is_empty() {
            out.push_str(&format!(
                "Sec-WebSocket-Extensions: {}\r\n",
                self.extensions.join(", ")
            ));
        }
        if let Some(origin) = &self.origin {
            if !clean(origin) {
                return Err(bad("origin"));
            }
            out.push_str(&format!("Origin: {origin}\r\n"));
        }
        for (name, value) in &self.headers {
            if name.is_empty() || name.contains(['\r', '\n', ':', ' ']) || !clean(value) {
                return Err(bad(&format!("header {name:?}")));
            }
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        Ok(out.into_bytes())
    }

    /// Parses and checks the server's answer from the front of `buf`: `Ok(None)` until the head
    /// is complete, else the response and the head's length (what follows are frames).
    pub fn parse_response(
        &self,
        buf: &[u8],
        max_head: usize,
    ) -> Result<Option<(Response, usize)>, HandshakeError> {
        let mut raw = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut res = httparse::Response::new(&mut raw);
        let head_len = match res.parse(buf) {
            Ok(httparse::Status::Complete(n)) if n > max_head => {
                return Err(HandshakeError::HeadTooLarge { limit: max_head })
            }
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if buf.len() > max_head => {
                return Err(HandshakeError::HeadTooLarge { limit: max_head })
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(HandshakeError::Malformed(e.to_string())),
        };
        let headers: Vec<(String, String)> = res
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        let status = res.code.unwrap_or(0);
        if status != 101 {
            return Err(HandshakeError::Rejected {
                status,
                reason: res.reason.unwrap_or("").to_owned(),
                headers,
                body: String::new(),
            });
        }
        let invalid = |why: &str| Err(HandshakeError::InvalidResponse(why.to_owned()));
        if !values(&headers, "Upgrade").any(|v| header_has_token(v.as_bytes(), "websocket")) {
            return invalid("missing Upgrade: websocket");
        }
        if !values(&headers, "Connection").any(|v| header_has_token(v.as_bytes(), "upgrade")) {
            return invalid("missing Connection: Upgrade");
        }
        let expected = accept_key(self.key.as_bytes());
        let accepts: Vec<_> = values(&headers, "Sec-WebSocket-Accept").collect();
        if accepts.len() != 1 || accepts[0].trim() != expected {
            return invalid("Sec-WebSocket-Accept does not match the key sent");
        }
        let protocol = self.chosen_protocol(&headers)?;
        let extensions = self.accepted_extensions(&headers)?;
        Ok(Some((
            Response {
                protocol,
                extensions,
                headers,
            },
            head_len,
        )))
    }

    /// The subprotocol the server chose: none, or exactly one of those offered.
    fn chosen_protocol(
        &self,
        headers: &[(String, String)],
    ) -> Result<Option<String>, HandshakeError> {
        let chosen = items(headers, "Sec-WebSocket-Protocol");
        match chosen.as_slice() {
            [] => Ok(None),
            [one] if self.protocols.contains(one) => Ok(Some(one.clone())),
            [one] => Err(HandshakeError::InvalidResponse(format!(
                "server chose subprotocol {one:?}, which was not offered"
            ))),
            _ => Err(HandshakeError::InvalidResponse(
                "server chose more than one subprotocol".to_owned(),
            )),
        }
    }

    /// The extensions the server accepted, each one we offered.
    fn accepted_extensions(
        &self,
        headers: &[(String, String)],
    ) -> Result<Vec<String>, HandshakeError> {
        let name_of = |item: &str| item.split(';').next().unwrap_or("").trim().to_owned();
        let extensions = items(headers, "Sec-WebSocket-Extensions");
        let unoffered = extensions.iter().find(|e| {
            let name = name_of(e);
            !self
                .extensions
                .iter()
                .any(|offer| name_of(offer).eq_ignore_ascii_case(&name))
        });
        if let Some(ext) = unoffered {
            return Err(HandshakeError::InvalidResponse(format!(
                "server accepted extension {ext:?}, which was not offered"
            )));
        }
        Ok(extensions)
    }
}

/// The values of every header named `name` (case-insensitive).
fn values<'a>(
    headers: &'a [(String, String)],
    name: &'static str,
) -> impl Iterator<Item = &'a str> {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The comma-separated items of every header named `name`.
fn items(headers: &[(String, String)], name: &'static str) -> Vec<String> {
    values(headers, name)
        .flat_map(|v| header_items(v).map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(req: &ClientRequest, extra: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
            accept_key(req.key().as_bytes())
        )
    }

    #[test]
    fn accepts_a_valid_answer_and_reports_the_subprotocol() {
        let req = ClientRequest::new("h", "/").protocol("a").protocol("b");
        let mut wire = answer(&req, "Sec-WebSocket-Protocol: b\r\n").into_bytes();
        wire.extend_from_slice(b"\x81\x00");
        let (res, n) = req
            .parse_response(&wire, DEFAULT_MAX_HEAD)
            .unwrap()
            .unwrap();
        assert_eq!(res.protocol.as_deref(), Some("b"));
        assert_eq!(&wire[n..], b"\x81\x00");
        assert_eq!(req.parse_response(&wire[..20], DEFAULT_MAX_HEAD), Ok(None));
    }

    #[test]
    fn rejects_invalid_answers() {
        let req = ClientRequest::new("h", "/").protocol("a");
        let check = |wire: String| req.parse_response(wire.as_bytes(), DEFAULT_MAX_HEAD);
        assert!(matches!(
            check(answer(&req, "Sec-WebSocket-Protocol: zzz\r\n")),
            Err(HandshakeError::InvalidResponse(_))
        ));
        assert!(matches!(
            check(answer(
                &req,
                "Sec-WebSocket-Extensions: permessage-deflate\r\n"
            )),
            Err(HandshakeError::InvalidResponse(_))
        ));
        let wrong_key = answer(&req, "").replace(&accept_key(req.key().as_bytes()), "AAAA");
        assert!(matches!(
            check(wrong_key),
            Err(HandshakeError::InvalidResponse(_))
        ));
        let refused = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_owned();
        assert!(matches!(
            check(refused),
            Err(HandshakeError::Rejected { status: 403, .. })
        ));
    }

    #[test]
    fn refuses_to_encode_header_injection() {
        assert!(ClientRequest::new("h", "/")
            .header("X", "a\r\nB: c")
            .encode()
            .is_err());
        assert!(ClientRequest::new("h", "/")
            .protocol("a b")
            .encode()
            .is_err());
    }
}
