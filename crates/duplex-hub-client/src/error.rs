//! Errors, by whose fault: the server refused ([`Error::Server`], with its code and message),
//! time ran out ([`Error::Timeout`]), the connection went away before the reply
//! ([`Error::Disconnected`]), the client was stopped ([`Error::Closed`]), or the request could
//! not be sent at all ([`Error::Encode`]).
//!
//! A token callback reports its own failures with [`TokenError`]: `Unauthorized` stops the
//! client (the user is logged out; reconnecting cannot help), anything else is retried.

use std::time::Duration;

/// Why a request (publish, presence, history, rpc, ...) failed.
///
/// ```
/// use duplex_hub_client::Error;
///
/// let refused = Error::Server { code: 103, message: "permission denied".into(), temporary: false };
/// assert_eq!(refused.to_string(), "permission denied (code 103)");
/// assert_eq!(refused.code(), Some(103));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The server answered with an error (see `duplex_hub::codes::Error` for the table).
    #[error("{message} (code {code})")]
    Server {
        /// The error code: 100–399 the protocol's, 400–1999 the application's.
        code: u32,
        /// The server's message.
        message: String,
        /// Whether the same request may succeed later.
        temporary: bool,
    },
    /// No reply within the request's timeout (waiting for a connection included).
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The connection closed before the reply came; the request may or may not have been
    /// carried out.
    #[error("disconnected before the reply")]
    Disconnected,
    /// The client was stopped ([`Client::disconnect`](crate::Client::disconnect), a terminal
    /// disconnect, or every handle dropped).
    #[error("the client is closed")]
    Closed,
    /// The request cannot be encoded: JSON connections carry JSON payloads only.
    #[error("cannot encode the request: {0}")]
    Encode(#[from] duplex_hub::protocol::EncodeError),
    /// The server's reply does not carry the result the request asked for.
    #[error("unexpected reply from the server")]
    UnexpectedReply,
}

impl Error {
    /// The server's error code, for [`Error::Server`].
    pub fn code(&self) -> Option<u32> {
        match self {
            Error::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl From<duplex_hub::protocol::Error> for Error {
    fn from(e: duplex_hub::protocol::Error) -> Self {
        Error::Server {
            code: e.code,
            message: e.message,
            temporary: e.temporary,
        }
    }
}

/// A token callback could not provide a token.
///
/// ```
/// use duplex_hub_client::TokenError;
///
/// let logged_out = TokenError::Unauthorized;
/// assert_eq!(logged_out.to_string(), "unauthorized");
/// let down = TokenError::failed("auth service unavailable");
/// assert_eq!(down.to_string(), "auth service unavailable");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The user may not connect (or subscribe) any more: the client stops (or the subscription
    /// ends) instead of retrying.
    #[error("unauthorized")]
    Unauthorized,
    /// The token could not be fetched this time; the client retries after a backoff delay.
    #[error("{0}")]
    Failed(String),
}

impl TokenError {
    /// A temporary failure with this message.
    pub fn failed(message: impl Into<String>) -> TokenError {
        TokenError::Failed(message.into())
    }
}
