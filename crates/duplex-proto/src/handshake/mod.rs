//! The opening handshake (RFC 6455 4): an HTTP/1.1 Upgrade, parsed and built without I/O.
//!
//! [`client`] builds the request and checks the server's answer; [`server`] parses and checks a
//! request and builds the 101 answer or a clear refusal. Both use `httparse` and answer "need
//! more bytes" with `Ok(None)`, so a driver can feed them whatever it has read so far.

pub mod client;
pub mod server;

use base64::Engine;
use sha1::{Digest, Sha1};

/// The GUID RFC 6455 appends to the client's key before hashing.
const WEBSOCKET_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The most headers a handshake may carry.
pub const MAX_HEADERS: usize = 64;

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`.
///
/// ```
/// // RFC 6455 1.3
/// assert_eq!(
///     duplex_proto::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/// );
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(WEBSOCKET_GUID);
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

/// A fresh `Sec-WebSocket-Key`: 16 bytes from the thread's CSPRNG, base64-encoded.
pub fn generate_key() -> String {
    encode_key(&rand::random())
}

/// The `Sec-WebSocket-Key` for a 16-byte nonce.
fn encode_key(nonce: &[u8; 16]) -> String {
    base64::engine::general_purpose::STANDARD.encode(nonce)
}

/// The reason phrase we send with a status code.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// True if a comma-separated header value contains `token`, compared case-insensitively
/// (`Connection: keep-alive, Upgrade`).
pub fn header_has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|part| part.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Splits a comma-separated header value into its trimmed, non-empty items.
pub(crate) fn header_items(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// A subprotocol name is an HTTP token (RFC 6455 4.1, RFC 2616 2.2).
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_lists_are_case_insensitive() {
        assert!(header_has_token(b"keep-alive, Upgrade", "upgrade"));
        assert!(header_has_token(b"UPGRADE", "upgrade"));
        assert!(!header_has_token(b"upgraded", "upgrade"));
    }

    #[test]
    fn keys_are_16_random_bytes() {
        use base64::Engine;
        let a = generate_key();
        let b = generate_key();
        assert_ne!(a, b);
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(a)
                .unwrap()
                .len(),
            16
        );
    }
}
