//! The hub's second front door: the Pusher Channels protocol (version 7), so that pusher-js,
//! Laravel Echo, the mobile SDKs and the Pusher server SDKs work against the hub unchanged,
//! beside the Centrifugo protocol of `protocol/` and `api/`.
//!
//! Two layers. The protocol itself, with no I/O and no clock: messages, names, signatures and
//! checks, each a pure function of its input (and `now` where time matters):
//! - [`wire`]: the WebSocket messages, parsed from clients ([`wire::ClientMessage`]) and
//!   encoded for them ([`wire::ServerMessage`]), with presence and sign-in user data;
//! - [`channel`]: what a channel name's prefix makes of it ([`channel::ChannelKind`]): auth,
//!   presence, encryption, cache, client events, and the reserved `#server-to-user-` names;
//! - [`signature`]: channel and user authorization, the HTTP API's signed query string,
//!   webhook signatures, socket ids;
//! - [`api`]: the HTTP API's request and response bodies and their validation, with Pusher's
//!   limits and statuses;
//! - [`webhook`]: the webhook body and its signing headers;
//! - [`codes`]: the one table of close and error codes, and what each range tells a client;
//! - [`relay`]: how hub publications and presence look to Pusher clients, and Pusher events
//!   to the hub.
//!
//! And the hub's side, which drives it over the node Centrifugo clients use: `routes.rs` (the
//! endpoints, mounted when the configuration has an app), `session.rs` (one connection),
//! `http_api.rs` (the HTTP API), `apps.rs` (the configured apps and their signed-in users).
//!
//! ```
//! use duplex_hub::pusher::channel::ChannelKind;
//! use duplex_hub::pusher::signature::{channel_auth, verify_channel_auth, Credentials};
//! use duplex_hub::pusher::wire::{parse_client_message, ClientMessage, ServerMessage, WireLimits};
//!
//! let app = Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8");
//! let auth = channel_auth(&app, "1234.1234", "private-foobar", None);
//! let frame = format!(
//!     r#"{{"event":"pusher:subscribe","data":{{"auth":"{auth}","channel":"private-foobar"}}}}"#
//! );
//! let ClientMessage::Subscribe(sub) = parse_client_message(frame.as_bytes(), &WireLimits::default())?
//! else {
//!     unreachable!()
//! };
//! assert!(ChannelKind::from_name(&sub.channel)?.needs_auth());
//! verify_channel_auth(&app, sub.auth.as_deref().unwrap_or(""), "1234.1234", &sub.channel, None)?;
//! let reply = ServerMessage::SubscriptionSucceeded { channel: &sub.channel }.encode();
//! assert!(reply.starts_with(r#"{"event":"pusher_internal:subscription_succeeded""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod api;
pub(crate) mod apps;
mod cache;
pub mod channel;
pub mod codes;
mod http_api;
pub mod relay;
pub(crate) mod routes;
mod session;
pub mod signature;
pub mod webhook;
pub mod wire;
