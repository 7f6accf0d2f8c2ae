//! duplex-hub: a real-time hub over duplex — channels, authentication, presence, history and
//! recovery, and a server API for the application's backend — speaking Centrifugo's client
//! protocol (v2, JSON and Protobuf) and server HTTP API, so the SDKs people already use
//! (`centrifuge` on npm, `centrifuge-python`, `cent`) work against it unchanged.
//!
//! The standalone server (`duplex serve`) is a thin shell over this crate; an axum application
//! can embed the same [`Hub`] instead and publish from any handler.

pub mod codes;
pub mod protocol;
