//! The bodies of the fuzz targets over `duplex-proto`, over the HTTP that `duplex`'s client
//! parses itself ([`http_client`]), and over duplex-hub's parsers of outside input: client
//! protocol frames ([`hub_commands`]), server API requests ([`hub_api_requests`]), tokens
//! ([`hub_tokens`]), fossil deltas ([`fossil_apply`]), configuration text ([`hub_config`]),
//! the application backend's proxy replies ([`hub_proxy_replies`]) and the Pusher front door's
//! messages and signed requests ([`pusher_messages`]), one module per target.
//!
//! They live in a library, not in the `fuzz_targets/` binaries, so that the same code runs
//! under libFuzzer (`cargo fuzz run TARGET`) and in the plain corpus replay test
//! (`cargo test --no-default-features`), which needs no fuzzing tool at all. Every `run`
//! takes the raw input, must never panic on any input, and panics (via `assert!`) when an
//! invariant of the protocol core is broken: a panic is what libFuzzer reports as a crash.
//!
//! Inputs that drive a [`duplex_proto::Connection`] start with a few control bytes (see
//! [`input`]) so the fuzzer also explores configurations, deflate parameters and how the
//! bytes are split into reads.

pub mod close_payload;
pub mod deflate_roundtrip;
pub mod fossil_apply;
pub mod frames;
pub mod handshake_request;
pub mod handshake_response;
pub mod http_client;
pub mod hub_api_requests;
pub mod hub_commands;
pub mod hub_config;
pub mod hub_proxy_replies;
pub mod hub_tokens;
pub mod input;
pub mod pusher_messages;
pub mod utf8_split;

/// A target's body: takes the raw input, panics on a broken invariant.
pub type Target = fn(&[u8]);

/// Every target by name, with its body: the replay test walks this.
pub const TARGETS: &[(&str, Target)] = &[
    ("frame_server", frames::run_server),
    ("frame_client", frames::run_client),
    ("handshake_request", handshake_request::run),
    ("handshake_response", handshake_response::run),
    ("close_payload", close_payload::run),
    ("utf8_split", utf8_split::run),
    ("deflate_roundtrip", deflate_roundtrip::run),
    ("http_client", http_client::run),
    ("hub_commands", hub_commands::run),
    ("hub_api_requests", hub_api_requests::run),
    ("hub_tokens", hub_tokens::run),
    ("fossil_apply", fossil_apply::run),
    ("hub_config", hub_config::run),
    ("hub_proxy_replies", hub_proxy_replies::run),
    ("pusher_messages", pusher_messages::run),
];
