//! The codes the client reports by itself in [`Event::Disconnected`](crate::Event), for the
//! ends no close frame explains. They sit below 1000, so they never clash with WebSocket close
//! codes (1000–1015), the hub's disconnect codes (3000–3999) or an application's (4000–4999);
//! a refused `connect` reports the hub's error code (100–1999) instead.

/// The program called [`Client::disconnect`](crate::Client::disconnect), or dropped every
/// handle of the client. Terminal.
pub const DISCONNECT_CALLED: u32 = 0;
/// The connection token callback answered [`TokenError::Unauthorized`](crate::TokenError).
/// Terminal.
pub const UNAUTHORIZED: u32 = 1;
/// The hub's pings stopped: nothing arrived within the ping interval plus
/// [`ClientBuilder::max_ping_delay`](crate::ClientBuilder::max_ping_delay). The client
/// reconnects.
pub const NO_PING: u32 = 2;
/// The hub did not answer `connect` or a `subscribe` in time, or stopped reading what the
/// client writes. The client reconnects.
pub const TIMEOUT: u32 = 3;
/// The hub sent a frame this client cannot decode. The client reconnects.
pub const BAD_PROTOCOL: u32 = 4;
/// The connection dropped without a close frame (TCP reset, network gone): the browser's 1006.
/// The client reconnects.
pub const ABNORMAL_CLOSURE: u32 = 1006;
