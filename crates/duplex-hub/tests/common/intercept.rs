//! The memory engine behind a broker a test can step into: deliveries of chosen offsets dropped
//! on their way to the hub (as Redis pub/sub drops what is published while a node's subscriber
//! connection is down), history reads slowed down and counted (as on a slow disk), and broker
//! subscribes slowed down (as over a network).
//!
//! ```ignore
//! let (engine, intercept) = Intercept::memory(&[3], Duration::ZERO);
//! let hub = TestHub::with_engine(engine).await;
//! ```

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use duplex_hub::engine::{
    Broker, BrokerEvents, ClientInfo, Engine, EngineError, HistoryPage, HistoryQuery, Publication,
    PublishOptions, PublishOutcome, StreamOptions,
};

/// The broker: everything forwarded to `inner`, but for the steps below.
pub struct Intercept {
    inner: Arc<dyn Broker>,
    /// What reaches the hub, and the hub itself once the broker is started.
    pub deliveries: Arc<Deliveries>,
    /// How long each history read takes beside the engine's own time.
    history_delay: Duration,
    /// History reads that recover from a position.
    pub recoveries: AtomicUsize,
    /// How long each broker subscribe takes before the engine's own.
    pub subscribe_delay: Mutex<Duration>,
    /// Broker subscribes fail (after their delay), as while the broker is unreachable.
    pub subscribe_fails: AtomicBool,
}

/// The events on their way from the engine to the hub.
pub struct Deliveries {
    hub: OnceLock<Arc<dyn BrokerEvents>>,
    /// Publications with these offsets never reach the hub.
    pub drop_offsets: Mutex<Vec<u64>>,
}

impl Deliveries {
    /// The hub's side, to tell it what an engine would (`on_events_lost`).
    pub fn hub(&self) -> &Arc<dyn BrokerEvents> {
        self.hub.get().expect("the broker is started")
    }
}

impl Intercept {
    /// The memory engine, its broker intercepted.
    pub fn memory(drop_offsets: &[u64], history_delay: Duration) -> (Engine, Arc<Intercept>) {
        let memory = Engine::memory();
        let intercept = Arc::new(Intercept {
            inner: memory.broker,
            deliveries: Arc::new(Deliveries {
                hub: OnceLock::new(),
                drop_offsets: Mutex::new(drop_offsets.to_vec()),
            }),
            history_delay,
            recoveries: AtomicUsize::new(0),
            subscribe_delay: Mutex::new(Duration::ZERO),
            subscribe_fails: AtomicBool::new(false),
        });
        let engine = Engine {
            broker: intercept.clone(),
            presence: memory.presence,
        };
        (engine, intercept)
    }
}

impl BrokerEvents for Deliveries {
    fn on_publication(&self, channel: &str, publication: &Publication, epoch: &str) {
        if self
            .drop_offsets
            .lock()
            .unwrap()
            .contains(&publication.offset)
        {
            return;
        }
        self.hub().on_publication(channel, publication, epoch);
    }
    fn on_join(&self, channel: &str, info: &ClientInfo) {
        self.hub().on_join(channel, info);
    }
    fn on_leave(&self, channel: &str, info: &ClientInfo) {
        self.hub().on_leave(channel, info);
    }
}

#[async_trait]
impl Broker for Intercept {
    async fn start(&self, events: Arc<dyn BrokerEvents>) -> Result<(), EngineError> {
        let _ = self.deliveries.hub.set(events);
        self.inner.start(self.deliveries.clone()).await
    }
    async fn subscribe(&self, channel: &str) -> Result<(), EngineError> {
        let delay = *self.subscribe_delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if self.subscribe_fails.load(Ordering::SeqCst) {
            return Err(EngineError::Unavailable("broker unreachable".to_owned()));
        }
        self.inner.subscribe(channel).await
    }
    async fn unsubscribe(&self, channel: &str) -> Result<(), EngineError> {
        self.inner.unsubscribe(channel).await
    }
    async fn publish(
        &self,
        channel: &str,
        publication: Publication,
        options: &PublishOptions,
    ) -> Result<PublishOutcome, EngineError> {
        self.inner.publish(channel, publication, options).await
    }
    async fn publish_join(&self, channel: &str, info: &ClientInfo) -> Result<(), EngineError> {
        self.inner.publish_join(channel, info).await
    }
    async fn publish_leave(&self, channel: &str, info: &ClientInfo) -> Result<(), EngineError> {
        self.inner.publish_leave(channel, info).await
    }
    async fn history(
        &self,
        channel: &str,
        query: &HistoryQuery,
        stream: &StreamOptions,
    ) -> Result<HistoryPage, EngineError> {
        if query.since.is_some() {
            self.recoveries.fetch_add(1, Ordering::SeqCst);
        }
        if !self.history_delay.is_zero() {
            tokio::time::sleep(self.history_delay).await;
        }
        self.inner.history(channel, query, stream).await
    }
    async fn remove_history(&self, channel: &str) -> Result<(), EngineError> {
        self.inner.remove_history(channel).await
    }
}
