//! The one table of the codes the hub sends to clients: reply errors (100–113), unsubscribe
//! codes (2000–2999) and disconnect codes (3000–3999).
//!
//! The numbers and texts are Centrifugo's, because the SDKs act on them: `centrifuge-js`
//! refreshes its token on error 109, resubscribes on unsubscribe codes from 2500 and reconnects
//! after a disconnect code below 3500. Everything else in the hub names a code through the
//! constants here, never through a literal, and `docs/protocol.md` lists the same tables — a
//! test below fails when the two drift apart.
//!
//! The ranges carry the meaning, so custom codes from an application follow the same rules:
//! errors 400–1999; unsubscribes 2000–2499 (final) and 2500–2999 (resubscribe); disconnects
//! 4000–4499 (reconnect) and 4500–4999 (terminal).

use std::borrow::Cow;

/// An error sent in a reply to a command: `{"id":7,"error":{"code":103,"message":"permission
/// denied"}}`. The connection stays open.
///
/// ```
/// use duplex_hub::codes::Error;
///
/// let err = Error::LIMIT_EXCEEDED.with_message("too many channels");
/// assert_eq!(err.code, 106);
/// assert_eq!(err.to_string(), "too many channels (106)");
/// assert!(Error::TOO_MANY_REQUESTS.temporary);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{message} ({code})")]
pub struct Error {
    /// The error code: 100–399 are the protocol's own, 400–1999 are the application's.
    pub code: u32,
    /// A short human-readable text; SDKs show it, they do not parse it.
    pub message: Cow<'static, str>,
    /// Whether retrying the same command later may succeed (SDKs retry such subscribes).
    pub temporary: bool,
}

impl Error {
    /// Something went wrong in the server; the client is most likely not at fault.
    pub const INTERNAL: Error = Error::temporary(100, "internal server error");
    /// The request needs credentials the connection does not have.
    pub const UNAUTHORIZED: Error = Error::permanent(101, "unauthorized");
    /// The channel's namespace is not configured.
    pub const UNKNOWN_CHANNEL: Error = Error::permanent(102, "unknown channel");
    /// The connection may not do this to this resource.
    pub const PERMISSION_DENIED: Error = Error::permanent(103, "permission denied");
    /// The command names a method the server does not have (an RPC without a handler).
    pub const METHOD_NOT_FOUND: Error = Error::permanent(104, "method not found");
    /// The connection is already subscribed to the channel.
    pub const ALREADY_SUBSCRIBED: Error = Error::permanent(105, "already subscribed");
    /// A configured limit was reached (channels per connection, and the like).
    pub const LIMIT_EXCEEDED: Error = Error::permanent(106, "limit exceeded");
    /// The command is malformed; sending it again will not help.
    pub const BAD_REQUEST: Error = Error::permanent(107, "bad request");
    /// The feature is not enabled (history or presence off in the namespace).
    pub const NOT_AVAILABLE: Error = Error::permanent(108, "not available");
    /// The connection or subscription token expired; SDKs fetch a new one and retry.
    pub const TOKEN_EXPIRED: Error = Error::permanent(109, "token expired");
    /// The connection expired and no token is involved.
    pub const EXPIRED: Error = Error::permanent(110, "expired");
    /// A rate limit rejected the command.
    pub const TOO_MANY_REQUESTS: Error = Error::temporary(111, "too many requests");
    /// The stream no longer holds the position asked for (history trimmed or epoch changed).
    pub const UNRECOVERABLE_POSITION: Error = Error::permanent(112, "unrecoverable position");
    /// The token was revoked; SDKs fetch a new one.
    pub const TOKEN_REVOKED: Error = Error::permanent(113, "token revoked");

    const fn permanent(code: u32, message: &'static str) -> Error {
        Error {
            code,
            message: Cow::Borrowed(message),
            temporary: false,
        }
    }

    const fn temporary(code: u32, message: &'static str) -> Error {
        Error {
            code,
            message: Cow::Borrowed(message),
            temporary: true,
        }
    }

    /// An application error (codes 400–1999 by convention).
    pub fn new(code: u32, message: impl Into<Cow<'static, str>>) -> Error {
        Error {
            code,
            message: message.into(),
            temporary: false,
        }
    }

    /// The same code with a more specific message.
    pub fn with_message(self, message: impl Into<Cow<'static, str>>) -> Error {
        Error {
            message: message.into(),
            ..self
        }
    }

    /// The built-in error with this code, if there is one.
    pub fn from_code(code: u32) -> Option<&'static Error> {
        ALL_ERRORS.iter().find(|e| e.code == code)
    }
}

/// Every built-in reply error, in code order.
pub const ALL_ERRORS: &[Error] = &[
    Error::INTERNAL,
    Error::UNAUTHORIZED,
    Error::UNKNOWN_CHANNEL,
    Error::PERMISSION_DENIED,
    Error::METHOD_NOT_FOUND,
    Error::ALREADY_SUBSCRIBED,
    Error::LIMIT_EXCEEDED,
    Error::BAD_REQUEST,
    Error::NOT_AVAILABLE,
    Error::TOKEN_EXPIRED,
    Error::EXPIRED,
    Error::TOO_MANY_REQUESTS,
    Error::UNRECOVERABLE_POSITION,
    Error::TOKEN_REVOKED,
];

/// Why the server closes a connection: sent as the WebSocket close code and reason.
///
/// The code's range tells the client what to do: 3000–3499 and 4000–4499 reconnect,
/// 3500–3999 and 4500–4999 are terminal. A reason must fit a close frame (123 bytes).
///
/// ```
/// use duplex_hub::codes::Disconnect;
///
/// assert!(Disconnect::SHUTDOWN.reconnect());
/// assert!(!Disconnect::BAD_REQUEST.reconnect());
/// assert!(!Disconnect::new(4501, "banned").reconnect());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("disconnect {code}: {reason}")]
pub struct Disconnect {
    /// The close code.
    pub code: u16,
    /// The close reason, short and human-readable.
    pub reason: Cow<'static, str>,
}

impl Disconnect {
    /// The connection closed without advice from the server (the client left, or the network
    /// went away). Recorded for callbacks and metrics; never sent.
    pub const CONNECTION_CLOSED: Disconnect = Disconnect::of(3000, "connection closed");
    /// The node is shutting down; reconnect to another.
    pub const SHUTDOWN: Disconnect = Disconnect::of(3001, "shutdown");
    /// An internal error on the server.
    pub const SERVER_ERROR: Disconnect = Disconnect::of(3004, "internal server error");
    /// The connection expired and was not refreshed in time.
    pub const EXPIRED: Disconnect = Disconnect::of(3005, "connection expired");
    /// A subscription expired and was not refreshed in time.
    pub const SUB_EXPIRED: Disconnect = Disconnect::of(3006, "subscription expired");
    /// The client did not read fast enough: its outbound queue went over budget.
    pub const SLOW: Disconnect = Disconnect::of(3008, "slow");
    /// Writing to the connection failed.
    pub const WRITE_ERROR: Disconnect = Disconnect::of(3009, "write error");
    /// The server saw a gap in a channel stream; reconnecting recovers it.
    pub const INSUFFICIENT_STATE: Disconnect = Disconnect::of(3010, "insufficient state");
    /// The server asks the client to reconnect.
    pub const FORCE_RECONNECT: Disconnect = Disconnect::of(3011, "force reconnect");
    /// The client did not answer the server's pings in time.
    pub const NO_PONG: Disconnect = Disconnect::of(3012, "no pong");
    /// The client sent commands faster than allowed.
    pub const TOO_MANY_REQUESTS: Disconnect = Disconnect::of(3013, "too many requests");
    /// The connection token is invalid.
    pub const INVALID_TOKEN: Disconnect = Disconnect::of(3500, "invalid token");
    /// Malformed frames or commands in the wrong order.
    pub const BAD_REQUEST: Disconnect = Disconnect::of(3501, "bad request");
    /// The connection did not authenticate in time after it opened.
    pub const STALE: Disconnect = Disconnect::of(3502, "stale");
    /// The server disconnects the client and asks it not to come back.
    pub const FORCE_NO_RECONNECT: Disconnect = Disconnect::of(3503, "force disconnect");
    /// Too many connections (for the user, or another rule).
    pub const CONNECTION_LIMIT: Disconnect = Disconnect::of(3504, "connection limit");
    /// Too many channels for one connection.
    pub const CHANNEL_LIMIT: Disconnect = Disconnect::of(3505, "channel limit");
    /// The connection's encoding cannot carry the data (binary data to a JSON client).
    pub const INAPPROPRIATE_PROTOCOL: Disconnect = Disconnect::of(3506, "inappropriate protocol");
    /// The client lacks the permission for what it attempted.
    pub const PERMISSION_DENIED: Disconnect = Disconnect::of(3507, "permission denied");
    /// A feature is off and no reply can say so (an async message with no handler).
    pub const NOT_AVAILABLE: Disconnect = Disconnect::of(3508, "not available");
    /// The client caused too many errors.
    pub const TOO_MANY_ERRORS: Disconnect = Disconnect::of(3509, "too many errors");

    const fn of(code: u16, reason: &'static str) -> Disconnect {
        Disconnect {
            code,
            reason: Cow::Borrowed(reason),
        }
    }

    /// A custom disconnect; applications use 4000–4499 (reconnect) or 4500–4999 (terminal).
    pub fn new(code: u16, reason: impl Into<Cow<'static, str>>) -> Disconnect {
        Disconnect {
            code,
            reason: reason.into(),
        }
    }

    /// Whether a client should reconnect after this code: everything outside 3500–3999 and
    /// 4500–4999 (codes below 3000 are the transport's, and SDKs reconnect after them too).
    pub fn reconnect(&self) -> bool {
        !matches!(self.code, 3500..=3999 | 4500..=4999)
    }

    /// The built-in disconnect with this code, if there is one.
    pub fn from_code(code: u16) -> Option<&'static Disconnect> {
        ALL_DISCONNECTS.iter().find(|d| d.code == code)
    }
}

/// Every built-in disconnect, in code order.
pub const ALL_DISCONNECTS: &[Disconnect] = &[
    Disconnect::CONNECTION_CLOSED,
    Disconnect::SHUTDOWN,
    Disconnect::SERVER_ERROR,
    Disconnect::EXPIRED,
    Disconnect::SUB_EXPIRED,
    Disconnect::SLOW,
    Disconnect::WRITE_ERROR,
    Disconnect::INSUFFICIENT_STATE,
    Disconnect::FORCE_RECONNECT,
    Disconnect::NO_PONG,
    Disconnect::TOO_MANY_REQUESTS,
    Disconnect::INVALID_TOKEN,
    Disconnect::BAD_REQUEST,
    Disconnect::STALE,
    Disconnect::FORCE_NO_RECONNECT,
    Disconnect::CONNECTION_LIMIT,
    Disconnect::CHANNEL_LIMIT,
    Disconnect::INAPPROPRIATE_PROTOCOL,
    Disconnect::PERMISSION_DENIED,
    Disconnect::NOT_AVAILABLE,
    Disconnect::TOO_MANY_ERRORS,
];

/// Why a subscription ended: sent in an `unsubscribe` push, and given to unsubscribe callbacks.
///
/// Codes sent to clients are 2000–2999; from 2500 on the SDK resubscribes by itself.
///
/// ```
/// use duplex_hub::codes::Unsubscribe;
///
/// assert!(!Unsubscribe::SERVER.resubscribe());
/// assert!(Unsubscribe::INSUFFICIENT_STATE.resubscribe());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Unsubscribe {
    /// The unsubscribe code.
    pub code: u32,
    /// A short human-readable reason.
    pub reason: Cow<'static, str>,
}

impl Unsubscribe {
    /// The client asked to unsubscribe. Server-side only (callbacks, metrics); never sent.
    pub const CLIENT: Unsubscribe = Unsubscribe::of(0, "client unsubscribed");
    /// The connection went away. Server-side only (callbacks, metrics); never sent.
    pub const DISCONNECT: Unsubscribe = Unsubscribe::of(1, "client disconnected");
    /// The server unsubscribed the client (server API call); the SDK does not resubscribe.
    pub const SERVER: Unsubscribe = Unsubscribe::of(2000, "server unsubscribe");
    /// The server saw a gap in the channel's stream; the SDK resubscribes and recovers.
    pub const INSUFFICIENT_STATE: Unsubscribe = Unsubscribe::of(2500, "insufficient state");
    /// The subscription expired; the SDK resubscribes with a fresh token.
    pub const EXPIRED: Unsubscribe = Unsubscribe::of(2501, "subscription expired");

    const fn of(code: u32, reason: &'static str) -> Unsubscribe {
        Unsubscribe {
            code,
            reason: Cow::Borrowed(reason),
        }
    }

    /// A custom unsubscribe: 2100–2499 (final) or 2600–2999 (the SDK resubscribes).
    pub fn new(code: u32, reason: impl Into<Cow<'static, str>>) -> Unsubscribe {
        Unsubscribe {
            code,
            reason: reason.into(),
        }
    }

    /// Whether the SDK resubscribes by itself after this code.
    pub fn resubscribe(&self) -> bool {
        self.code >= 2500
    }

    /// Whether this code is ever sent to a client (the first two are server-side only).
    pub fn is_sent(&self) -> bool {
        self.code >= 2000
    }
}

/// Every built-in unsubscribe code, in code order.
pub const ALL_UNSUBSCRIBES: &[Unsubscribe] = &[
    Unsubscribe::CLIENT,
    Unsubscribe::DISCONNECT,
    Unsubscribe::SERVER,
    Unsubscribe::INSUFFICIENT_STATE,
    Unsubscribe::EXPIRED,
];

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = include_str!("../../../docs/protocol.md");

    /// The rows `| code | text | yes/no |` of the table under the `## {heading}` section.
    fn doc_table(heading: &str) -> Vec<(u32, String, bool)> {
        let start = DOC
            .find(&format!("\n## {heading}\n"))
            .unwrap_or_else(|| panic!("docs/protocol.md has no section '## {heading}'"));
        let section = &DOC[start + 1..];
        let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
        section
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
                let code = cells.first()?.trim().parse().ok()?;
                assert!(cells.len() >= 3, "row should have 3 cells or more: {line}");
                let text = cells[1].trim().trim_matches('`').to_string();
                let flag = match cells[2].trim() {
                    "yes" => true,
                    "no" => false,
                    other => panic!("third cell must be yes or no, got {other:?} in {line}"),
                };
                Some((code, text, flag))
            })
            .collect()
    }

    #[test]
    fn docs_list_exactly_the_error_codes() {
        let expected: Vec<_> = ALL_ERRORS
            .iter()
            .map(|e| (e.code, e.message.to_string(), e.temporary))
            .collect();
        assert_eq!(doc_table("Error codes"), expected);
    }

    #[test]
    fn docs_list_exactly_the_disconnect_codes() {
        let expected: Vec<_> = ALL_DISCONNECTS
            .iter()
            .map(|d| (u32::from(d.code), d.reason.to_string(), d.reconnect()))
            .collect();
        assert_eq!(doc_table("Disconnect codes"), expected);
    }

    #[test]
    fn docs_list_exactly_the_unsubscribe_codes() {
        let expected: Vec<_> = ALL_UNSUBSCRIBES
            .iter()
            .map(|u| (u.code, u.reason.to_string(), u.resubscribe()))
            .collect();
        assert_eq!(doc_table("Unsubscribe codes"), expected);
    }

    #[test]
    fn tables_are_sorted_and_codes_unique() {
        assert!(ALL_ERRORS.windows(2).all(|w| w[0].code < w[1].code));
        assert!(ALL_DISCONNECTS.windows(2).all(|w| w[0].code < w[1].code));
        assert!(ALL_UNSUBSCRIBES.windows(2).all(|w| w[0].code < w[1].code));
    }

    #[test]
    fn ranges_decide_reconnect() {
        for d in ALL_DISCONNECTS {
            assert_eq!(d.reconnect(), d.code < 3500, "{d:?}");
            // A close frame holds 123 bytes of reason.
            assert!(d.reason.len() <= 123);
        }
        assert!(Disconnect::new(4499, "x").reconnect());
        assert!(!Disconnect::new(4500, "x").reconnect());
        assert!(Disconnect::new(5000, "x").reconnect());
    }

    #[test]
    fn only_temporary_errors_are_internal_and_rate_limit() {
        let temporary: Vec<u32> = ALL_ERRORS
            .iter()
            .filter(|e| e.temporary)
            .map(|e| e.code)
            .collect();
        assert_eq!(temporary, [100, 111]);
        assert_eq!(Error::from_code(109), Some(&Error::TOKEN_EXPIRED));
        assert_eq!(Disconnect::from_code(3008), Some(&Disconnect::SLOW));
    }
}
