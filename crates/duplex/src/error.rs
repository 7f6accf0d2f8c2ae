//! The one error type of the tokio driver, sorted by whose fault it is, with typed details for
//! the two steps of connecting that fail in many ways: TLS and the HTTP proxy.
//!
//! Like [`Error::Connect`], each message includes its source's text, so `to_string()` alone
//! is informative; a printer that walks [`std::error::Error::source`] should skip a cause the
//! text already shows (as the `duplex` binary does).

use std::path::PathBuf;

use duplex_proto::{HandshakeError, ProtocolError, SendError};

/// Anything that can go wrong on a WebSocket connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer broke the protocol; the connection was closed with [`ProtocolError::close_code`].
    #[error("protocol error by peer: {0}")]
    Protocol(#[from] ProtocolError),
    /// The opening handshake failed.
    #[error("handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// The application asked for something the protocol forbids.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The connection ended without a closing handshake (reported to browsers as 1006).
    #[error("connection closed without a close frame")]
    AbnormalClosure,
    /// The connection is already closed; nothing more can be received.
    #[error("connection already closed")]
    AlreadyClosed,
    /// The URL is not a WebSocket URL we can connect to.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The host name did not resolve.
    #[error("could not resolve {host}: {source}")]
    Resolve {
        /// The host name.
        host: String,
        /// Why.
        source: std::io::Error,
    },
    /// A time limit passed.
    #[error("timed out during {0}")]
    Timeout(&'static str),
    /// No address of the host accepted a TCP connection (refused, unreachable, ...).
    #[error("could not connect to {addr}: {source}")]
    Connect {
        /// What was tried: `host:port`, with the addresses it resolved to.
        addr: String,
        /// The last address's error.
        source: std::io::Error,
    },
    /// TLS failed: a certificate the client does not trust or that names another host, no
    /// shared protocol version, an unreadable certificate or key file. [`TlsError`] says which.
    #[error("TLS: {0}")]
    Tls(#[source] TlsError),
    /// The HTTP proxy could not be used: an invalid proxy URL, unreachable, or it refused the
    /// tunnel (for instance 407 when it wants credentials). [`ProxyError`] says which.
    #[error("{0}")]
    Proxy(#[source] ProxyError),
    /// HTTP/2 could not carry the WebSocket where `ClientBuilder::http2` required it
    /// (the server chose HTTP/1.1, or does not enable extended CONNECT), or the HTTP/2 stream
    /// failed before the server answered (feature `http2`).
    #[error("http/2: {0}")]
    Http2(String),
    /// A feature this build does not have.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}

/// A `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why TLS failed, in [`Error::Tls`].
///
/// ```
/// # #[cfg(feature = "tls")] {
/// let error = duplex::ClientBuilder::new().add_root_certificates_pem("not PEM").unwrap_err();
/// assert!(matches!(
///     error,
///     duplex::Error::Tls(duplex::TlsError::NoCertificate { .. })
/// ));
/// assert_eq!(
///     error.to_string(),
///     "TLS: root certificates: no certificate found (expected -----BEGIN CERTIFICATE-----)"
/// );
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// rustls refused the handshake or the configuration: an untrusted certificate or one for
    /// another name ([`rustls::Error::InvalidCertificate`]), no shared protocol version, ...
    #[cfg(feature = "tls")]
    #[error("{0}")]
    Rustls(#[source] rustls::Error),
    /// A certificate rustls cannot use, with what it was for.
    #[cfg(feature = "tls")]
    #[error("{what}: {source}")]
    Unusable {
        /// Which certificate (or certificate and key).
        what: String,
        /// Why.
        source: rustls::Error,
    },
    /// A PEM text that does not parse.
    #[cfg(feature = "tls")]
    #[error("{what}: invalid PEM: {source}")]
    Pem {
        /// The text or file at fault.
        what: String,
        /// Why.
        source: rustls::pki_types::pem::Error,
    },
    /// A certificate or key file that cannot be read.
    #[error("cannot read {what} {}: {source}", path.display())]
    ReadFile {
        /// "certificate file" or "key file".
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A PEM text with no certificate in it.
    #[error("{what}: no certificate found (expected -----BEGIN CERTIFICATE-----)")]
    NoCertificate {
        /// The text or file at fault.
        what: String,
    },
    /// A PEM text with no private key in it.
    #[error("{what}: no private key found (expected PKCS#8, RSA or EC PRIVATE KEY)")]
    NoPrivateKey {
        /// The text or file at fault.
        what: String,
    },
    /// The private key does not belong to the first certificate of the chain.
    #[error("the {key} does not match the {certificate}")]
    KeyMismatch {
        /// The certificate text or file.
        certificate: String,
        /// The key text or file.
        key: String,
    },
    /// A host that cannot be a TLS server name.
    #[error("{0:?} is not a valid TLS server name")]
    InvalidServerName(String),
    /// The TLS handshake failed on the socket, not in rustls (for servers that run it
    /// themselves and report it as [`Error::Tls`], like the `duplex` binary).
    #[error("handshake failed: {0}")]
    Handshake(#[source] std::io::Error),
}

impl TlsError {
    /// Whether the peer's certificate was refused: not trusted, expired, or for another name.
    /// A client can suggest trusting its CA.
    ///
    /// ```
    /// let error = duplex::TlsError::InvalidServerName("a b".into());
    /// assert!(!error.is_invalid_certificate());
    /// ```
    pub fn is_invalid_certificate(&self) -> bool {
        match self {
            #[cfg(feature = "tls")]
            TlsError::Rustls(rustls::Error::InvalidCertificate(_)) => true,
            _ => false,
        }
    }
}

impl From<TlsError> for Error {
    fn from(error: TlsError) -> Self {
        Error::Tls(error)
    }
}

/// Why the HTTP proxy could not be used, in [`Error::Proxy`]. `proxy` is the proxy's URL with
/// any credentials left out.
///
/// ```
/// # async fn run() {
/// use duplex::{ClientBuilder, Error, ProxyError};
/// match ClientBuilder::new().proxy("http://proxy.local:3128").connect("ws://example.com/").await {
///     Err(Error::Proxy(ProxyError::Refused { status: 407, .. })) => println!("credentials?"),
///     other => println!("{other:?}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL does not parse.
    #[error("invalid proxy URL in {origin}: {url}: {source}")]
    InvalidUrl {
        /// Where it came from: "the configured proxy" or the environment variable's name.
        origin: String,
        /// The URL as given.
        url: String,
        /// Why.
        source: url::ParseError,
    },
    /// The proxy URL is not `http://` (only HTTP `CONNECT` proxies are supported).
    #[error(
        "invalid proxy URL in {origin}: {url}: only http:// proxies (HTTP CONNECT) are supported"
    )]
    UnsupportedScheme {
        /// Where it came from: "the configured proxy" or the environment variable's name.
        origin: String,
        /// The URL, without its password.
        url: String,
    },
    /// The proxy's host name did not resolve.
    #[error("could not resolve proxy {proxy} ({host}): {source}")]
    Resolve {
        /// The proxy.
        proxy: String,
        /// Its host name.
        host: String,
        /// Why.
        source: std::io::Error,
    },
    /// No address of the proxy accepted a TCP connection.
    #[error("could not connect to proxy {proxy} ({addr}): {source}")]
    Connect {
        /// The proxy.
        proxy: String,
        /// What was tried, as in [`Error::Connect`].
        addr: String,
        /// The last address's error.
        source: std::io::Error,
    },
    /// The proxy answered `CONNECT` with a status other than 2xx.
    #[error(
        "proxy {proxy} refused CONNECT {authority}: {status} {reason}{}",
        refusal_hint(*status, *sent_credentials)
    )]
    Refused {
        /// The proxy.
        proxy: String,
        /// The `host:port` asked for.
        authority: String,
        /// The status code: 407 when the proxy wants (other) credentials.
        status: u16,
        /// The reason phrase.
        reason: String,
        /// Whether the request carried credentials from the proxy URL.
        sent_credentials: bool,
    },
    /// The proxy's answer to `CONNECT` is not HTTP.
    #[error("proxy {proxy} answered CONNECT with malformed HTTP: {source}")]
    Malformed {
        /// The proxy.
        proxy: String,
        /// What the HTTP parser found.
        source: httparse::Error,
    },
    /// The proxy's answer to `CONNECT` has a head longer than `limit` bytes.
    #[error("proxy {proxy} answered with a head over {limit} bytes")]
    HeadTooLarge {
        /// The proxy.
        proxy: String,
        /// The limit.
        limit: usize,
    },
    /// The proxy sent bytes after its 2xx answer, before the client spoke through the tunnel.
    #[error("proxy {proxy} sent data before the tunnel was used")]
    EarlyData {
        /// The proxy.
        proxy: String,
    },
    /// The proxy closed the connection before answering `CONNECT`.
    #[error("proxy {proxy} closed the connection before answering CONNECT {authority}")]
    Closed {
        /// The proxy.
        proxy: String,
        /// The `host:port` asked for.
        authority: String,
    },
}

/// What to do about a refused `CONNECT`, when there is something to say.
fn refusal_hint(status: u16, sent_credentials: bool) -> &'static str {
    match status {
        407 if sent_credentials => ": the proxy refused the credentials in its URL",
        407 => ": put credentials in the proxy URL (http://user:password@host:port)",
        _ => "",
    }
}

impl From<ProxyError> for Error {
    fn from(error: ProxyError) -> Self {
        Error::Proxy(error)
    }
}
