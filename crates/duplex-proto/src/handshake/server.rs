//! The server's half of the opening handshake: parse and check the client's request, then
//! answer 101 or a refusal a person can read.
//!
//! Every refusal says what was wrong in a short `text/plain` body and, where RFC 6455 asks for
//! it, the header that tells the client how to do better (`Sec-WebSocket-Version: 13` with 426).
//! Choosing a subprotocol, checking `Origin` and negotiating extensions are policy, so they are
//! left to the caller, who gets them parsed in [`Request`].

use base64::Engine;

use super::{accept_key, header_has_token, header_items, is_token, reason_phrase, MAX_HEADERS};
use crate::error::HandshakeError;

/// Default limit on the size of a request head: 8 KiB, like most HTTP servers.
pub const DEFAULT_MAX_HEAD: usize = 8 * 1024;

/// A parsed, valid WebSocket upgrade request.
///
/// ```
/// use duplex_proto::handshake::server::Request;
/// let wire = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";
/// let (request, used) = Request::parse(wire, 8192).unwrap().unwrap();
/// assert_eq!(used, wire.len());
/// assert_eq!(request.path, "/chat");
/// assert_eq!(request.protocols, ["chat", "superchat"]);
/// let response = String::from_utf8(request.accept(Some("chat"), None, &[])).unwrap();
/// assert!(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
/// assert!(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
/// assert!(response.contains("Sec-WebSocket-Protocol: chat\r\n"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The request target, such as `/chat?room=1`.
    pub path: String,
    /// The `Host` header.
    pub host: String,
    /// The `Origin` header, which browsers always send.
    pub origin: Option<String>,
    /// The subprotocols offered, in the client's order of preference.
    pub protocols: Vec<String>,
    /// The extension offers, one item per offer, in order (`permessage-deflate; ...`).
    pub extensions: Vec<String>,
    /// The `Sec-WebSocket-Key` header.
    pub key: String,
    /// Every header as sent (names as the client spelled them).
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// Parses a request head from the front of `buf`: `Ok(None)` if it is not complete yet,
    /// else the request and the length of its head. Bytes after the head are the client's
    /// first frames.
    pub fn parse(buf: &[u8], max_head: usize) -> Result<Option<(Request, usize)>, HandshakeError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        let head_len = match req.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if buf.len() > max_head => {
                return Err(HandshakeError::HeadTooLarge { limit: max_head })
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(HandshakeError::bad_request(
                    431,
                    format!("more than {MAX_HEADERS} headers"),
                ))
            }
            Err(e) => return Err(HandshakeError::Malformed(e.to_string())),
        };
        if head_len > max_head {
            return Err(HandshakeError::HeadTooLarge { limit: max_head });
        }
        let headers: Vec<(&str, &[u8])> = req.headers.iter().map(|h| (h.name, h.value)).collect();
        let request = Self::from_head(
            req.method.unwrap_or(""),
            req.version.unwrap_or(0),
            req.path.unwrap_or("/"),
            &headers,
        )?;
        Ok(Some((request, head_len)))
    }

    /// Checks a request whose head another HTTP parser already read (hyper, for an upgrade
    /// inside an existing server): method, HTTP/1.`version_minor`, target and headers.
    ///
    /// ```
    /// use duplex_proto::handshake::server::Request;
    /// let headers: &[(&str, &[u8])] = &[
    ///     ("host", b"example.com"),
    ///     ("upgrade", b"websocket"),
    ///     ("connection", b"Upgrade"),
    ///     ("sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
    ///     ("sec-websocket-version", b"13"),
    /// ];
    /// let request = Request::from_head("GET", 1, "/ws", headers).unwrap();
    /// assert_eq!(request.path, "/ws");
    /// ```
    pub fn from_head(
        method: &str,
        version_minor: u8,
        path: &str,
        raw: &[(&str, &[u8])],
    ) -> Result<Request, HandshakeError> {
        check_request_line(method, version_minor)?;
        check_upgrade(raw)?;
        let key = websocket_key(raw)?;
        let host = match single(raw, "Host")? {
            Some(host) => String::from_utf8_lossy(host).into_owned(),
            None => return Err(HandshakeError::bad_request(400, "missing Host header")),
        };
        let origin = single(raw, "Origin")?.map(|o| String::from_utf8_lossy(o).into_owned());
        let headers: Vec<(String, String)> = raw
            .iter()
            .map(|h| (h.0.to_owned(), String::from_utf8_lossy(h.1).into_owned()))
            .collect();
        let protocols = items(&headers, "Sec-WebSocket-Protocol");
        if let Some(bad) = protocols.iter().find(|p| !is_token(p)) {
            return Err(HandshakeError::bad_request(
                400,
                format!("invalid subprotocol name {bad:?}"),
            ));
        }
        // Extension offers are separated by commas, parameters by semicolons (RFC 6455 9.1).
        let extensions = items(&headers, "Sec-WebSocket-Extensions");
        Ok(Request {
            path: path.to_owned(),
            host,
            origin,
            protocols,
            extensions,
            key: String::from_utf8_lossy(key).into_owned(),
            headers,
        })
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The 101 response that completes the handshake, with the chosen subprotocol (one of
    /// [`Request::protocols`]), the accepted extensions and any extra headers.
    pub fn accept(
        &self,
        protocol: Option<&str>,
        extensions: Option<&str>,
        extra_headers: &[(String, String)],
    ) -> Vec<u8> {
        let mut out = String::with_capacity(160);
        out.push_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n");
        out.push_str("Connection: Upgrade\r\nSec-WebSocket-Accept: ");
        out.push_str(&accept_key(self.key.as_bytes()));
        out.push_str("\r\n");
        if let Some(protocol) = protocol {
            out.push_str("Sec-WebSocket-Protocol: ");
            out.push_str(protocol);
            out.push_str("\r\n");
        }
        if let Some(extensions) = extensions {
            out.push_str("Sec-WebSocket-Extensions: ");
            out.push_str(extensions);
            out.push_str("\r\n");
        }
        push_headers(&mut out, extra_headers);
        out.push_str("\r\n");
        out.into_bytes()
    }
}

/// A complete refusal: status line, the headers that status calls for, and `body` as text.
///
/// ```
/// let response = duplex_proto::handshake::server::reject(426, "use version 13");
/// let text = String::from_utf8(response).unwrap();
/// assert!(text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
/// assert!(text.contains("Sec-WebSocket-Version: 13\r\n"));
/// assert!(text.ends_with("\r\n\r\nuse version 13\n"));
/// ```
pub fn reject(status: u16, body: &str) -> Vec<u8> {
    let mut extra = Vec::new();
    match status {
        426 => {
            extra.push(("Upgrade".to_owned(), "websocket".to_owned()));
            extra.push(("Sec-WebSocket-Version".to_owned(), "13".to_owned()));
        }
        405 => extra.push(("Allow".to_owned(), "GET".to_owned())),
        503 => extra.push(("Retry-After".to_owned(), "1".to_owned())),
        _ => {}
    }
    reject_with_headers(status, body, &extra)
}

/// A refusal with the caller's headers.
pub fn reject_with_headers(status: u16, body: &str, headers: &[(String, String)]) -> Vec<u8> {
    let body = format!("{body}\n");
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\n",
        reason_phrase(status),
        body.len()
    );
    push_headers(&mut out, headers);
    out.push_str("\r\n");
    out.push_str(&body);
    out.into_bytes()
}

impl HandshakeError {
    /// The HTTP response a server should send for this error, if any.
    pub fn response(&self) -> Option<Vec<u8>> {
        match self {
            HandshakeError::BadRequest { status, detail, .. } => Some(reject(*status, detail)),
            HandshakeError::HeadTooLarge { limit } => {
                Some(reject(431, &format!("request head exceeds {limit} bytes")))
            }
            HandshakeError::Malformed(detail) => {
                Some(reject(400, &format!("malformed HTTP: {detail}")))
            }
            _ => None,
        }
    }

    /// The HTTP status a server answers this error with.
    pub fn status(&self) -> Option<u16> {
        match self {
            HandshakeError::BadRequest { status, .. } => Some(*status),
            HandshakeError::HeadTooLarge { .. } => Some(431),
            HandshakeError::Malformed(_) => Some(400),
            HandshakeError::Rejected { status, .. } => Some(*status),
            HandshakeError::InvalidResponse(_) => None,
        }
    }
}

fn push_headers(out: &mut String, headers: &[(String, String)]) {
    for (name, value) in headers {
        // A header that would split the response is dropped rather than sent.
        if name.contains(['\r', '\n', ':']) || value.contains(['\r', '\n']) {
            continue;
        }
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
}

/// Every header named `name` (case-insensitive).
fn all<'a, 'n, 'h>(
    raw: &'a [(&'n str, &'h [u8])],
    name: &'static str,
) -> impl Iterator<Item = &'a (&'n str, &'h [u8])> {
    raw.iter().filter(move |h| h.0.eq_ignore_ascii_case(name))
}

/// The header `name`, if sent; a 400 if sent twice.
fn single<'h>(
    raw: &[(&str, &'h [u8])],
    name: &'static str,
) -> Result<Option<&'h [u8]>, HandshakeError> {
    let mut values = all(raw, name);
    let first = values.next().map(|h| h.1);
    if values.next().is_some() {
        return Err(HandshakeError::bad_request(
            400,
            format!("duplicate {name} header"),
        ));
    }
    Ok(first)
}

/// GET over HTTP/1.1, as RFC 6455 4.1 requires.
fn check_request_line(method: &str, version_minor: u8) -> Result<(), HandshakeError> {
    if method != "GET" {
        return Err(HandshakeError::bad_request(
            405,
            "a WebSocket handshake must use GET",
        ));
    }
    if version_minor != 1 {
        return Err(HandshakeError::bad_request(
            400,
            "a WebSocket handshake needs HTTP/1.1",
        ));
    }
    Ok(())
}

/// `Upgrade: websocket`, `Connection: upgrade` and version 13 (426 tells a client what we
/// speak).
fn check_upgrade(raw: &[(&str, &[u8])]) -> Result<(), HandshakeError> {
    if !all(raw, "Upgrade").any(|h| header_has_token(h.1, "websocket")) {
        return Err(HandshakeError::bad_request(
            426,
            "this is a WebSocket endpoint: send Upgrade: websocket",
        ));
    }
    if !all(raw, "Connection").any(|h| header_has_token(h.1, "upgrade")) {
        return Err(HandshakeError::bad_request(
            400,
            "Connection header must contain the Upgrade token",
        ));
    }
    match single(raw, "Sec-WebSocket-Version")? {
        Some(b"13") => Ok(()),
        Some(other) => Err(HandshakeError::bad_request(
            426,
            format!(
                "unsupported Sec-WebSocket-Version {:?}; this server speaks 13",
                String::from_utf8_lossy(other)
            ),
        )),
        None => Err(HandshakeError::bad_request(
            426,
            "missing Sec-WebSocket-Version; this server speaks 13",
        )),
    }
}

/// The `Sec-WebSocket-Key`, which must be 16 bytes in base64.
fn websocket_key<'h>(raw: &[(&str, &'h [u8])]) -> Result<&'h [u8], HandshakeError> {
    let Some(key) = single(raw, "Sec-WebSocket-Key")? else {
        return Err(HandshakeError::bad_request(
            400,
            "missing Sec-WebSocket-Key",
        ));
    };
    let key = key.trim_ascii();
    let decoded = base64::engine::general_purpose::STANDARD.decode(key);
    if decoded.map(|k| k.len()) != Ok(16) {
        return Err(HandshakeError::bad_request(
            400,
            "Sec-WebSocket-Key must be 16 bytes in base64",
        ));
    }
    Ok(key)
}

/// The comma-separated items of every header named `name`.
fn items(headers: &[(String, String)], name: &str) -> Vec<String> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| header_items(v).map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    fn status_of(request: &str) -> u16 {
        Request::parse(request.as_bytes(), DEFAULT_MAX_HEAD)
            .unwrap_err()
            .status()
            .unwrap()
    }

    #[test]
    fn accepts_a_good_request_in_any_case_and_order() {
        let wire = GOOD
            .replace("Upgrade: websocket", "upgrade: WebSocket")
            .replace("Connection: Upgrade", "connection: keep-alive, upgrade");
        let (req, n) = Request::parse(wire.as_bytes(), DEFAULT_MAX_HEAD)
            .unwrap()
            .unwrap();
        assert_eq!(n, wire.len());
        assert_eq!(req.key, "dGhlIHNhbXBsZSBub25jZQ==");
        for cut in 0..wire.len() {
            assert_eq!(
                Request::parse(&wire.as_bytes()[..cut], DEFAULT_MAX_HEAD),
                Ok(None)
            );
        }
    }

    #[test]
    fn refuses_bad_requests_with_the_right_status() {
        assert_eq!(status_of(&GOOD.replace("GET", "POST")), 405);
        assert_eq!(status_of(&GOOD.replace("HTTP/1.1", "HTTP/1.0")), 400);
        assert_eq!(status_of(&GOOD.replace("Upgrade: websocket\r\n", "")), 426);
        assert_eq!(
            status_of(&GOOD.replace("Connection: Upgrade", "Connection: close")),
            400
        );
        assert_eq!(status_of(&GOOD.replace("Version: 13", "Version: 8")), 426);
        assert_eq!(
            status_of(&GOOD.replace("Sec-WebSocket-Version: 13\r\n", "")),
            426
        );
        assert_eq!(
            status_of(&GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=")),
            400
        );
        assert_eq!(
            status_of(&GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", "!!!")),
            400
        );
        assert_eq!(
            status_of(&GOOD.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "")),
            400
        );
        let dup = GOOD.replace(
            "Host: h\r\n",
            "Host: h\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
        );
        assert_eq!(status_of(&dup), 400);
        assert_eq!(status_of(&GOOD.replace("Host: h\r\n", "")), 400);
        assert_eq!(
            status_of(&GOOD.replace("Host: h\r\n", "Sec-WebSocket-Protocol: a b\r\n")),
            400
        );
    }

    #[test]
    fn refuses_an_oversized_head() {
        let big = GOOD.replace(
            "Host: h",
            &format!("Host: h\r\nX-Pad: {}", "a".repeat(9000)),
        );
        assert_eq!(
            Request::parse(big.as_bytes(), DEFAULT_MAX_HEAD),
            Err(HandshakeError::HeadTooLarge {
                limit: DEFAULT_MAX_HEAD
            })
        );
        assert_eq!(
            Request::parse(&big.as_bytes()[..8500], DEFAULT_MAX_HEAD),
            Err(HandshakeError::HeadTooLarge {
                limit: DEFAULT_MAX_HEAD
            })
        );
    }

    #[test]
    fn collects_protocols_and_extensions_across_headers() {
        let wire = GOOD.replace(
            "Host: h\r\n",
            "Host: h\r\nSec-WebSocket-Protocol: a, b\r\nSec-WebSocket-Protocol: c\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo\r\n\
             Origin: https://example.com\r\n",
        );
        let (req, _) = Request::parse(wire.as_bytes(), DEFAULT_MAX_HEAD)
            .unwrap()
            .unwrap();
        assert_eq!(req.protocols, ["a", "b", "c"]);
        assert_eq!(
            req.extensions,
            ["permessage-deflate; client_max_window_bits", "x-foo"]
        );
        assert_eq!(req.origin.as_deref(), Some("https://example.com"));
    }
}
