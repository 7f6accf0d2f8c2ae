//! The NATS broker: many hub nodes share publications, joins and leaves through a NATS server,
//! with at-most-once delivery and no history — Centrifugo's NATS broker, for deployments that
//! want fan-out across nodes without keeping messages.
//!
//! What it does not do, on purpose (as Centrifugo's, which "does not support
//! history/recovery/cache"):
//! - **no history**: publishing with options that keep history, and reading history, fail with
//!   [`EngineError::Unavailable`](crate::engine::EngineError::Unavailable) saying so; the hub's
//!   configuration check refuses `broker.type = "nats"` with any namespace that keeps history,
//!   so a node never starts half-working. Positions are the zero value (offset 0, empty epoch),
//!   as for any channel without history.
//! - **presence per node**: [`Engine::nats`](crate::engine::Engine::nats) pairs the broker with
//!   the memory presence manager, so the presence a node reports is its own clients only (joins
//!   and leaves still reach every node through the broker).
//! - **idempotency per node**: a retried publish is recognised only by the node that saw the
//!   first one.
//!
//! The wire format (subjects in `subject.rs`, the envelope in `envelope.rs`) is duplex's own:
//! duplex and Centrifugo nodes do not mix on one NATS subject space.
//!
//! ```no_run
//! # async fn demo() -> Result<(), duplex_hub::engine::EngineError> {
//! use duplex_hub::engine::{nats::NatsConfig, Engine};
//! let engine = Engine::nats(&NatsConfig::new("nats://127.0.0.1:4222")).await?;
//! # Ok(())
//! # }
//! ```

mod broker;
mod envelope;
mod subject;

use std::sync::Arc;
use std::time::Duration;

pub use broker::NatsBroker;
pub use subject::validate_prefix;

/// How to reach NATS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfig {
    /// The server (`broker.nats.url`, default `nats://localhost:4222`, Centrifugo's).
    pub url: String,
    /// The first tokens of every subject (`broker.nats.prefix`, default `duplex`, not Centrifugo's `centrifugo`: the envelope is duplex's own):
    /// channel `chat` travels on `<prefix>.client.chat`. Hubs that must not hear each other on
    /// one NATS use different prefixes.
    pub prefix: String,
    /// How long a publish may wait to be handed to the connection (`broker.nats.write_timeout`,
    /// default 1 s).
    pub write_timeout: Duration,
    /// How long connecting at start may take before the node gives up (5 s).
    pub connect_timeout: Duration,
    /// How many idempotency keys the node remembers (100,000, as the memory engine).
    pub idempotency_capacity: usize,
}

impl NatsConfig {
    /// Defaults, with the server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        NatsConfig {
            url: url.into(),
            ..NatsConfig::default()
        }
    }
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            url: "nats://localhost:4222".to_owned(),
            prefix: "duplex".to_owned(),
            write_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(5),
            idempotency_capacity: 100_000,
        }
    }
}

impl super::Engine {
    /// The NATS broker with this node's memory presence (see the module documentation for what
    /// that leaves out). Connects before returning.
    pub async fn nats(config: &NatsConfig) -> Result<super::Engine, super::EngineError> {
        Ok(super::Engine {
            broker: Arc::new(NatsBroker::connect(config).await?),
            presence: Arc::new(super::memory::MemoryPresence::new(
                super::memory::MemoryConfig::default(),
            )),
        })
    }
}
