//! The one table of the codes the Pusher front door sends: WebSocket close codes (4000–4299)
//! and the codes in `pusher:error` events (4300–4399 and, for clients without close codes,
//! the same close codes).
//!
//! The numbers and texts are Pusher's (protocol 7, "Error codes"), because clients act on the
//! range: pusher-js gives up on 4000–4099 ("refused", and 4000 "TLS only"), backs off on
//! 4100–4199, reconnects at once on 4200–4299 and treats anything from 4300 on as refused when
//! it arrives as a close code. So 4300–4399 are never close codes here: they travel in a
//! `pusher:error` on a connection that stays open. Everything else in `pusher/` names a code
//! through the constants here, never through a literal.

use std::borrow::Cow;

/// A code with its short human-readable text, sent as the close code and reason or as
/// `pusher:error`'s `code` and `message`.
///
/// ```
/// use duplex_hub::pusher::codes::{PusherCode, Reconnect};
///
/// assert_eq!(PusherCode::PONG_NOT_RECEIVED.reconnect(), Reconnect::Immediately);
/// assert!(PusherCode::CLIENT_EVENT_RATE_LIMIT.keeps_connection());
/// let custom = PusherCode::APP_DISABLED.with_message("app 42 is disabled");
/// assert_eq!((custom.code, custom.reconnect()), (4003, Reconnect::Never));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{message} ({code})")]
pub struct PusherCode {
    /// The code: 4000–4299 close the connection, 4300–4399 do not.
    pub code: u16,
    /// A short text; clients show it, they do not parse it. At most 123 bytes, so that it fits
    /// a close frame's reason.
    pub message: Cow<'static, str>,
}

/// What a client should do after a code, by its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reconnect {
    /// 4000–4099: reconnecting with the same parameters cannot succeed.
    Never,
    /// 4100–4199: reconnect after at least a second, backing off.
    AfterBackoff,
    /// 4200–4299: reconnect immediately.
    Immediately,
    /// 4300–4399: not a close code; the connection stays open.
    StaysConnected,
}

impl PusherCode {
    /// 4000: the app accepts TLS connections only; the client should use `wss://`.
    pub const TLS_ONLY: PusherCode = PusherCode::of(
        4000,
        "Application only accepts SSL connections, reconnect using wss://",
    );
    /// 4001: no app has the key in the connection path.
    pub const APP_NOT_FOUND: PusherCode = PusherCode::of(4001, "Application does not exist");
    /// 4003: the app exists but is disabled.
    pub const APP_DISABLED: PusherCode = PusherCode::of(4003, "Application disabled");
    /// 4004: the app has as many connections as its quota allows.
    pub const OVER_CONNECTION_QUOTA: PusherCode =
        PusherCode::of(4004, "Application is over connection quota");
    /// 4005: the connection path is not `/app/{key}`.
    pub const PATH_NOT_FOUND: PusherCode = PusherCode::of(4005, "Path not found");
    /// 4006: the `protocol` query parameter is not an integer.
    pub const INVALID_VERSION: PusherCode = PusherCode::of(4006, "Invalid version string format");
    /// 4007: the protocol version is one this server does not speak (only 7 is).
    pub const UNSUPPORTED_PROTOCOL: PusherCode =
        PusherCode::of(4007, "Unsupported protocol version");
    /// 4008: the connection URL has no `protocol` query parameter.
    pub const NO_PROTOCOL: PusherCode = PusherCode::of(4008, "No protocol version supplied");
    /// 4009: the connection is not authorized (for example a bad `pusher:signin`).
    pub const UNAUTHORIZED: PusherCode = PusherCode::of(4009, "Connection is unauthorized");
    /// 4100: the server is over capacity; reconnect after a while.
    pub const OVER_CAPACITY: PusherCode = PusherCode::of(4100, "Over capacity");
    /// 4200: reconnect now (the node is shutting down, for example).
    pub const RECONNECT: PusherCode = PusherCode::of(4200, "Generic reconnect immediately");
    /// 4201: the server sent a ping and no pong came back in time.
    pub const PONG_NOT_RECEIVED: PusherCode = PusherCode::of(4201, "Pong reply not received");
    /// 4202: the connection was inactive too long.
    pub const CLOSED_AFTER_INACTIVITY: PusherCode = PusherCode::of(4202, "Closed after inactivity");
    /// 4301: a client event was refused because the connection sends them too fast.
    pub const CLIENT_EVENT_RATE_LIMIT: PusherCode =
        PusherCode::of(4301, "Client event rejected due to rate limit");
    /// 4302: a signed-in user's watchlist was longer than allowed; only its start was kept.
    pub const WATCHLIST_LIMIT: PusherCode = PusherCode::of(
        4302,
        "Watchlist limit exceeded. Only the first 100 user IDs are accepted",
    );

    const fn of(code: u16, message: &'static str) -> PusherCode {
        PusherCode {
            code,
            message: Cow::Borrowed(message),
        }
    }

    /// The same code with a more specific message.
    pub fn with_message(self, message: impl Into<Cow<'static, str>>) -> PusherCode {
        PusherCode {
            message: message.into(),
            ..self
        }
    }

    /// What a client should do after this code (see [`Reconnect`]). Codes outside 4000–4399
    /// are not Pusher's; pusher-js refuses to reconnect after them, and so does this.
    pub fn reconnect(&self) -> Reconnect {
        match self.code {
            4100..=4199 => Reconnect::AfterBackoff,
            4200..=4299 => Reconnect::Immediately,
            4300..=4399 => Reconnect::StaysConnected,
            _ => Reconnect::Never,
        }
    }

    /// Whether the code is sent in a `pusher:error` on an open connection rather than as a
    /// close code.
    pub fn keeps_connection(&self) -> bool {
        self.reconnect() == Reconnect::StaysConnected
    }

    /// The close a Pusher client gets for one of the hub's own closes (see
    /// [`Disconnect`](crate::codes::Disconnect)), its reason kept: the connection limit is over
    /// capacity (4100, back off); what a Centrifugo client reconnects after (shutdown, slow
    /// consumer, lost state) is 4200, reconnect now; the rest is 4009, do not. A code already
    /// in Pusher's close range passes as it is.
    ///
    /// ```
    /// use duplex_hub::codes::Disconnect;
    /// use duplex_hub::pusher::codes::PusherCode;
    ///
    /// assert_eq!(PusherCode::for_hub_close(&Disconnect::SHUTDOWN).code, 4200);
    /// assert_eq!(PusherCode::for_hub_close(&Disconnect::CONNECTION_LIMIT).code, 4100);
    /// assert_eq!(PusherCode::for_hub_close(&Disconnect::FORCE_NO_RECONNECT).code, 4009);
    /// ```
    pub fn for_hub_close(disconnect: &crate::codes::Disconnect) -> PusherCode {
        use crate::codes::Disconnect;
        let code = match disconnect.code {
            4000..=4299 => disconnect.code,
            code if code == Disconnect::CONNECTION_LIMIT.code => PusherCode::OVER_CAPACITY.code,
            3000..=3499 => PusherCode::RECONNECT.code,
            _ => PusherCode::UNAUTHORIZED.code,
        };
        PusherCode {
            code,
            message: disconnect.reason.clone(),
        }
    }

    /// The built-in code with this number, if there is one.
    pub fn from_code(code: u16) -> Option<&'static PusherCode> {
        ALL_CODES.iter().find(|c| c.code == code)
    }
}

/// Every built-in code, in code order.
pub const ALL_CODES: &[PusherCode] = &[
    PusherCode::TLS_ONLY,
    PusherCode::APP_NOT_FOUND,
    PusherCode::APP_DISABLED,
    PusherCode::OVER_CONNECTION_QUOTA,
    PusherCode::PATH_NOT_FOUND,
    PusherCode::INVALID_VERSION,
    PusherCode::UNSUPPORTED_PROTOCOL,
    PusherCode::NO_PROTOCOL,
    PusherCode::UNAUTHORIZED,
    PusherCode::OVER_CAPACITY,
    PusherCode::RECONNECT,
    PusherCode::PONG_NOT_RECEIVED,
    PusherCode::CLOSED_AFTER_INACTIVITY,
    PusherCode::CLIENT_EVENT_RATE_LIMIT,
    PusherCode::WATCHLIST_LIMIT,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_unique_and_fits_close_frames() {
        assert!(ALL_CODES.windows(2).all(|w| w[0].code < w[1].code));
        for code in ALL_CODES {
            assert!((4000..=4399).contains(&code.code), "{code:?}");
            assert!(code.message.len() <= 123, "{code:?}");
        }
    }

    #[test]
    fn the_documented_codes_are_all_here() {
        let codes: Vec<u16> = ALL_CODES.iter().map(|c| c.code).collect();
        assert_eq!(
            codes,
            [
                4000, 4001, 4003, 4004, 4005, 4006, 4007, 4008, 4009, 4100, 4200, 4201, 4202, 4301,
                4302
            ]
        );
    }

    #[test]
    fn ranges_decide_what_the_client_does() {
        let by_range = |code| PusherCode::of(code, "x").reconnect();
        assert_eq!(by_range(4000), Reconnect::Never);
        assert_eq!(by_range(4099), Reconnect::Never);
        assert_eq!(by_range(4100), Reconnect::AfterBackoff);
        assert_eq!(by_range(4199), Reconnect::AfterBackoff);
        assert_eq!(by_range(4200), Reconnect::Immediately);
        assert_eq!(by_range(4299), Reconnect::Immediately);
        assert_eq!(by_range(4300), Reconnect::StaysConnected);
        assert_eq!(by_range(4399), Reconnect::StaysConnected);
        // pusher-js refuses after codes it does not know.
        assert_eq!(by_range(4400), Reconnect::Never);
        assert_eq!(by_range(1006), Reconnect::Never);
    }

    #[test]
    fn only_the_4300s_keep_the_connection() {
        let open: Vec<u16> = ALL_CODES
            .iter()
            .filter(|c| c.keeps_connection())
            .map(|c| c.code)
            .collect();
        assert_eq!(open, [4301, 4302]);
    }

    #[test]
    fn lookup_and_custom_messages() {
        assert_eq!(
            PusherCode::from_code(4201),
            Some(&PusherCode::PONG_NOT_RECEIVED)
        );
        assert_eq!(PusherCode::from_code(4002), None);
        let custom = PusherCode::UNAUTHORIZED.with_message("invalid signature");
        assert_eq!(custom.code, 4009);
        assert_eq!(custom.to_string(), "invalid signature (4009)");
    }
}
