//! The one error type of the tokio driver, sorted by whose fault it is.

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
    /// shared protocol version, an unreadable certificate or key file. The text is rustls'
    /// (such as "invalid peer certificate: UnknownIssuer") or names the file at fault.
    #[error("TLS: {0}")]
    Tls(String),
    /// The HTTP proxy could not be used: an invalid proxy URL, or it refused the tunnel
    /// (for instance 407 when it wants credentials).
    #[error("{0}")]
    Proxy(String),
    /// A feature this build does not have.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}

/// A `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
