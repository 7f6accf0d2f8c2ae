//! Hooks for `fuzz/` (the `fuzzing` feature, which only the fuzz crate turns on): thin
//! wrappers over the client's private HTTP parsing, so the fuzz targets drive the very code a
//! server's refusal or a proxy's answer reaches, without making that code public API.
//!
//! A refused handshake's status and body need no hook: [`crate::ClientBuilder::handshake`]
//! over an in-memory stream reaches them. Nothing here is stable; it changes with the code.

use tokio::io::{AsyncRead, AsyncWrite};

use crate::client::Target;
use crate::error::Result;
use crate::proxy::{Proxy, ProxySetting};

/// How many bytes of a refusal's body [`duplex_proto::HandshakeError::Rejected`] keeps.
pub const BODY_SNIPPET: usize = crate::client::refusal::BODY_SNIPPET;
/// How many bytes of a chunked refusal body the client reads at most.
pub const CHUNKED_READ_LIMIT: usize = crate::client::refusal::CHUNKED_READ_LIMIT;

/// The data of a chunked body, as far as it goes, up to `limit` bytes, and whether its last
/// chunk was reached.
pub fn dechunk(wire: &[u8], limit: usize) -> (Vec<u8>, bool) {
    crate::client::refusal::dechunk(wire, limit)
}

/// A proxy URL as the client reads it (`origin` names where it came from in errors): its
/// host, port, and the URL shown in messages (without credentials).
pub fn proxy_url(url: &str, origin: &str) -> Result<(String, u16, String)> {
    Proxy::parse(url, origin).map(|p| (p.host, p.port, p.shown))
}

/// Asks the proxy at `url` for a tunnel to `target` over `stream`, which plays the proxy.
pub async fn proxy_tunnel<S: AsyncRead + AsyncWrite + Unpin>(
    url: &str,
    stream: &mut S,
    target: &Target,
) -> Result<()> {
    Proxy::parse(url, "the configured proxy")?
        .tunnel(stream, target)
        .await
}

/// Whether the `no_proxy` list exempts `target` from the proxy.
pub fn no_proxy_matches(no_proxy: &str, target: &Target) -> bool {
    crate::proxy::bypass(Some(no_proxy), target)
}

/// The proxy (host and port) that these environment variables give `target`, if any.
pub fn proxy_from_env(
    target: &Target,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<(String, u16)>> {
    ProxySetting::FromEnv
        .resolve(target, env)
        .map(|proxy| proxy.map(|p| (p.host, p.port)))
}
