//! `duplex-hub-client`: a Rust client for duplex-hub (and Centrifugo), on `duplex`'s
//! WebSocket client, speaking the client protocol v2 in JSON.
//!
//! ```no_run
//! use duplex_hub_client::{ClientBuilder, Event, TokenError};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), duplex_hub_client::Error> {
//!     let (client, mut events) = ClientBuilder::new("ws://127.0.0.1:8000/connection/websocket")
//!         // Called on connect and again before the token expires.
//!         .token_callback(|| async { Ok::<_, TokenError>(std::env::var("TOKEN").unwrap_or_default()) })
//!         .connect();
//!     client.subscribe("chat:lobby").await?;
//!     while let Some(event) = events.recv().await {
//!         match event {
//!             Event::Publication { channel, offset, data, .. } => {
//!                 println!("{channel} #{offset}: {}", String::from_utf8_lossy(&data));
//!             }
//!             Event::Subscribed { channel, was_recovering: true, recovered, recovered_publications, .. } => {
//!                 println!("{channel}: back, recovered {recovered_publications} (complete: {recovered})");
//!             }
//!             Event::Disconnected { code, reason, reconnect: false } => {
//!                 eprintln!("stopped: {reason} ({code})");
//!             }
//!             _ => {}
//!         }
//!     }
//!     Ok(())
//! }
//! ```
//!
//! What it does by itself, as centrifuge-js does:
//!
//! - **Reconnects** with exponential backoff and full jitter ([`Backoff`]; 0.5–20 s by
//!   default), after any close except the terminal codes (3500–3999, 4500–4999, or Centrifugo's
//!   `"reconnect": false` advice), which stop the client with an [`Event::Disconnected`] that
//!   carries the hub's code and reason. A refusal with `Retry-After` waits at least that long.
//! - **Refreshes tokens**: the connection's token callback runs on connect and again before
//!   the token expires (a `refresh` command); a subscription's callback likewise
//!   (`sub_refresh`). An expired token (109) is fetched again.
//! - **Recovers**: each subscription keeps the last `{offset, epoch}` it saw and resubscribes
//!   with `recover: true`, so the publications missed while away arrive once, in order, after
//!   an [`Event::Subscribed`] that says whether recovery was complete.
//! - **Keeps the connection alive**: answers the hub's pings, and takes a connection that
//!   stopped pinging (interval plus [`ClientBuilder::max_ping_delay`]) for dead.
//!
//! Requests ([`Client::publish`], [`Client::presence`], [`Client::presence_stats`],
//! [`Client::history`], [`Client::rpc`]) wait for a connection if there is none, each within its
//! timeout, and fail with a typed [`Error`]: the hub's code and message, a timeout, or the
//! connection lost before the reply.
//!
//! Where things are: `config.rs` (the builder), `client.rs` (the handle), `subscription.rs`,
//! `events.rs`, `error.rs`, `backoff.rs`, `token.rs`, `codes.rs` (the client's own disconnect
//! codes); `driver.rs` (reconnecting), `session.rs` (one connection) and `replies.rs` (what the
//! hub sends) make up the client's task.

mod backoff;
mod client;
pub mod codes;
mod config;
mod driver;
mod error;
mod events;
mod replies;
mod session;
mod subscription;
mod token;

pub use backoff::Backoff;
pub use client::{Client, HistoryOptions};
pub use config::ClientBuilder;
pub use error::{Error, TokenError};
pub use events::{ErrorKind, Event, EventError, Events};
pub use subscription::{Subscription, SubscriptionOptions};
pub use token::{TokenFuture, TokenSource};

/// The protocol's types that results carry (client info, history, presence statistics).
pub use duplex_hub::protocol::{ClientInfo, HistoryResult, PresenceStatsResult, Publication};
