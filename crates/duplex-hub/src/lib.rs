//! duplex-hub: a real-time hub over duplex — channels, authentication, presence, history and
//! recovery, and a server API for the application's backend — speaking Centrifugo's client
//! protocol (v2, JSON and Protobuf) and server HTTP API, so the SDKs people already use
//! (`centrifuge` on npm, `centrifuge-python`, `cent`) work against it unchanged.
//!
//! The standalone server (`duplex serve`) is a thin shell over this crate; an axum application
//! can embed the same [`Hub`] instead and publish from any handler.
//!
//! Where things live: `protocol/` (the client protocol's messages and codecs), `codes.rs` (every
//! error and disconnect code), `config/` and `channel.rs` (configuration, namespaces, channel
//! names), `auth/` (tokens), `engine/` (broker, history and presence behind traits), `node/`
//! (the hub's state and fan-out), `session/` (one client connection), `transport/` (WebSocket),
//! `api/` (the server API), `proxy/` (HTTP proxies to the application's backend), `outbox/`
//! (the PostgreSQL outbox consumer), `webhook/` (disconnect and unsubscribe events posted to the
//! application), `pusher/` (the Pusher Channels protocol, a second front door), `callbacks.rs`
//! (hooks for embedding), `metrics.rs`.

pub mod api;
pub mod auth;
pub mod callbacks;
pub mod channel;
pub mod codes;
pub mod config;
pub mod delta;
pub mod engine;
pub mod glob;
mod hub;
mod metrics;
mod node;
mod outbox;
pub mod protocol;
pub mod proxy;
pub mod pusher;
mod session;
mod transport;
pub mod webhook;

pub use hub::{BuildError, Hub, HubBuilder, NodeInfo, PublishExtras};
pub use metrics::{LatencyCounts, Stats};
pub use outbox::ConsumerError;
