//! Engines: where publications travel between nodes, where channel history and presence live.
//!
//! The hub talks to an engine only through two traits, [`Broker`] (publish/subscribe and the
//! history stream) and [`PresenceManager`], as centrifuge splits them, so a single-node memory
//! engine and cluster-wide ones ([`redis`]; [`nats`] for pub/sub alone) are interchangeable. Every engine
//! must pass the same contract suite, `tests/engine_contract.rs`, which states the semantics the
//! hub relies on: offsets from 1 in an epoch, a gap is an error and never skipped, events in
//! offset order and only after the publication is in history, user-level presence transitions.
//!
//! ```
//! # async fn demo() -> Result<(), duplex_hub::engine::EngineError> {
//! use std::time::Duration;
//! use duplex_hub::engine::{Engine, HistoryQuery, Publication, PublishOptions, StreamOptions};
//!
//! let engine = Engine::memory();
//! # struct Ignore;
//! # impl duplex_hub::engine::BrokerEvents for Ignore {
//! #     fn on_publication(&self, _: &str, _: &Publication, _: &str) {}
//! #     fn on_join(&self, _: &str, _: &duplex_hub::engine::ClientInfo) {}
//! #     fn on_leave(&self, _: &str, _: &duplex_hub::engine::ClientInfo) {}
//! # }
//! # let hub = std::sync::Arc::new(Ignore);
//! engine.broker.start(hub).await?;
//! let stream = StreamOptions::new(100, Duration::from_secs(300));
//! let options = PublishOptions { stream: Some(stream.clone()), ..PublishOptions::default() };
//! let publication = Publication { data: "{\"x\":1}".into(), ..Publication::default() };
//! let outcome = engine.broker.publish("chat:lobby", publication, &options).await?;
//! assert_eq!(outcome.position.offset, 1);
//! let page = engine.broker.history("chat:lobby", &HistoryQuery::default(), &stream).await?;
//! assert_eq!(page.publications.len(), 1);
//! # Ok(())
//! # }
//! ```

mod broker;
mod error;
pub mod memory;
pub mod nats;
mod presence;
pub mod redis;
pub mod sqlite;
mod types;
mod wire;

use std::sync::Arc;

pub use broker::{Broker, BrokerEvents};
pub use error::EngineError;
pub use presence::PresenceManager;
pub use types::{
    ClientInfo, HistoryPage, HistoryQuery, PresenceStats, Publication, PublishOptions,
    PublishOutcome, StreamOptions, StreamPosition, DEFAULT_IDEMPOTENT_TTL, DEFAULT_META_TTL,
};

/// The engine a hub runs on: one broker and one presence manager, usually from the same backend.
#[derive(Clone)]
pub struct Engine {
    /// Publish/subscribe and history.
    pub broker: Arc<dyn Broker>,
    /// Presence.
    pub presence: Arc<dyn PresenceManager>,
}

impl Engine {
    /// A single-node engine in process memory with default limits.
    pub fn memory() -> Self {
        Self::memory_with(memory::MemoryConfig::default())
    }

    /// A single-node engine in process memory with the given limits.
    pub fn memory_with(config: memory::MemoryConfig) -> Self {
        Engine {
            broker: Arc::new(memory::MemoryBroker::new(config.clone())),
            presence: Arc::new(memory::MemoryPresence::new(config)),
        }
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}
