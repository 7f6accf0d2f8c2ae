//! `handshake_response`: the client's parser of the server's answer.
//!
//! Input: one control byte, then the response bytes. The request it answers is fixed: host
//! `example.com`, path `/chat`, subprotocols `chat` and `superchat`, and a deflate offer.
//! Because `ClientRequest` draws its key at random, the literal `{accept}` in the input is
//! replaced by the right `Sec-WebSocket-Accept` value before parsing; that lets the fuzzer
//! reach the checks after the accept key. The head limit is `control * 64` (0: the default).
//!
//! Invariants: a parsed response's head fits the limit and the input, and parses the same
//! from the head alone; the chosen subprotocol is one we offered; the extensions are ones we
//! offered; a deflate answer `check_answer` agrees to gives parameters a `Connection`
//! accepts; a non-101 status is a `Rejected`; "need more bytes" only within the limit.

use duplex_proto::handshake::client::{self, ClientRequest};
use duplex_proto::{Config, Connection, DeflateConfig, HandshakeError, Role};

use crate::input::Input;

/// The placeholder for the accept key.
pub const ACCEPT_PLACEHOLDER: &[u8] = b"{accept}";

/// The target.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let control = input.byte();
    let raw = input.rest();
    let deflate = DeflateConfig::default();
    let request = ClientRequest::new("example.com", "/chat")
        .protocol("chat")
        .protocol("superchat")
        .extension(deflate.client_offer());
    let bytes = replace(raw, ACCEPT_PLACEHOLDER, request.accept_value().as_bytes());
    let max_head = match control as usize * 64 {
        0 => client::DEFAULT_MAX_HEAD,
        n => n,
    };
    match request.parse_response(&bytes, max_head) {
        Ok(None) => assert!(bytes.len() <= max_head),
        Ok(Some((response, head_len))) => {
            assert!(head_len <= bytes.len() && head_len <= max_head);
            assert_eq!(
                request.parse_response(&bytes[..head_len], max_head),
                Ok(Some((response.clone(), head_len)))
            );
            if let Some(protocol) = &response.protocol {
                assert!(request.protocols().contains(protocol), "{protocol:?}");
            }
            for ext in &response.extensions {
                let name = ext.split(';').next().unwrap_or("").trim();
                assert!(name.eq_ignore_ascii_case("permessage-deflate"), "{ext:?}");
            }
            if let Ok(Some(params)) = deflate.check_answer(&response.extensions) {
                for bits in [params.server_max_window_bits, params.client_max_window_bits] {
                    assert!((8..=15).contains(&bits), "{params:?}");
                }
                let mut conn = Connection::new(Role::Client, Config::default());
                conn.enable_deflate(&params, &deflate);
            }
        }
        Err(HandshakeError::Rejected { status, .. }) => assert_ne!(status, 101),
        Err(_) => {}
    }
}

/// `haystack` with every `needle` replaced by `with`.
fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// The accept value for a request's key.
trait AcceptValue {
    fn accept_value(&self) -> String;
}

impl AcceptValue for ClientRequest {
    fn accept_value(&self) -> String {
        duplex_proto::handshake::accept_key(self.key().as_bytes())
    }
}
