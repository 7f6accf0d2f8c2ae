//! [`Hub`]: the real-time hub as one value — its routes to mount in an axum application and
//! the operations a backend calls (publish, presence, history, and the per-user commands).
//!
//! The standalone server (`duplex serve`) is this plus a listener; an application embeds the
//! same value and publishes from any handler.

mod backend;

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;

use crate::auth::{AuthConfigError, TokenVerifier};
use crate::callbacks::{Handler, NoHandler};
use crate::codes::{Disconnect, Error};
use crate::config::{ConfigError, EngineType, HubConfig};
use crate::engine::{
    ClientInfo, Engine, EngineError, HistoryPage, HistoryQuery, PresenceStats, StreamPosition,
};
use crate::metrics::Metrics;
use crate::node::Node;
pub use crate::node::PublishExtras;
use crate::outbox::{ConsumerError, Consumers};
use crate::session::{Control, ServerSubscribe};
use crate::transport::websocket;

/// Why a hub could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The configuration is inconsistent.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The token keys could not be used.
    #[error("token configuration: {0}")]
    Auth(#[from] AuthConfigError),
    /// The engine did not start.
    #[error("engine: {0}")]
    Engine(#[from] EngineError),
    /// A consumer (`consumers`) could not be started.
    #[error(transparent)]
    Consumer(#[from] ConsumerError),
    /// The webhook queue's file could not be opened.
    #[error(transparent)]
    Webhook(#[from] crate::webhook::QueueError),
    /// The proxies to the application's backend could not be set up.
    #[error(transparent)]
    Proxy(#[from] crate::proxy::ProxySetupError),
}

/// A real-time hub: connections, channels, presence, history and the server API.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use duplex_hub::{config::HubConfig, Hub};
///
/// let mut config = HubConfig::default();
/// config.set("client.token.hmac_secret_key", "secret")?;
/// let hub = Hub::new(config).await?;
/// let app = axum::Router::new().merge(hub.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// tokio::spawn(async move { axum::serve(listener, app).await });
/// hub.publish("news", r#"{"text":"hello"}"#).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Hub {
    node: Arc<Node>,
    /// The outbox consumers; they end when the last handle of the hub is dropped.
    consumers: Arc<Consumers>,
}

/// A hub that its background tasks (the outbox consumers) hold without keeping it alive.
#[derive(Clone)]
pub(crate) struct WeakHub {
    node: Weak<Node>,
    consumers: Weak<Consumers>,
}

impl WeakHub {
    /// The hub, while some handle of it is still held.
    pub(crate) fn upgrade(&self) -> Option<Hub> {
        Some(Hub {
            node: self.node.upgrade()?,
            consumers: self.consumers.upgrade()?,
        })
    }
}

/// Builds a [`Hub`] with an engine or hooks other than the defaults.
pub struct HubBuilder {
    config: HubConfig,
    engine: Option<Engine>,
    handler: Arc<dyn Handler>,
    webhook_queue: Option<std::path::PathBuf>,
}

impl HubBuilder {
    /// Uses this engine instead of the one the configuration names (`engine.type`; the memory
    /// engine when unset).
    pub fn engine(mut self, engine: Engine) -> Self {
        self.engine = Some(engine);
        self
    }

    /// The application's hooks.
    pub fn handler(mut self, handler: impl Handler) -> Self {
        self.handler = Arc::new(handler);
        self
    }

    /// Keeps the webhook events owed in this SQLite file (created if missing), instead of
    /// `webhook.queue_path`: for an application that decides where its data lives.
    pub fn webhook_queue(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.webhook_queue = Some(path.into());
        self
    }

    /// The hub, its configuration checked and its engine started.
    pub async fn build(self) -> Result<Hub, BuildError> {
        self.config.validate()?;
        let verifier = TokenVerifier::new(
            &self.config.client.token,
            Some(self.config.subscription_token_settings()),
        )?;
        let proxies = crate::proxy::Proxies::new(&self.config)?;
        let engine = match self.engine {
            Some(engine) => engine,
            None => {
                self.config
                    .engine
                    .open(&self.config.broker, EngineType::Memory)
                    .await?
            }
        };
        // The webhook events owed live with the hub's other data: beside the SQLite engine's
        // database when the hub runs on it, unless told otherwise.
        let webhook_queue = self
            .webhook_queue
            .or_else(|| {
                self.config
                    .webhook
                    .queue_path
                    .as_ref()
                    .map(std::path::PathBuf::from)
            })
            .or_else(|| {
                (self.config.engine.kind == Some(EngineType::Sqlite)).then(|| {
                    std::path::Path::new(&self.config.engine.sqlite.path).join("webhooks.sqlite3")
                })
            });
        let node = Node::new(
            self.config,
            engine,
            verifier,
            self.handler,
            proxies,
            webhook_queue.as_deref(),
        )?;
        Node::start(&node).await?;
        let hub = Hub {
            node,
            consumers: Arc::new(Consumers::new()),
        };
        // After the engine, so the first row read can be published.
        hub.consumers
            .start(&hub.node.config().consumers, &hub.downgrade())?;
        Ok(hub)
    }
}

/// What `info` reports about this node.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeInfo {
    /// The node's random name.
    pub name: String,
    /// The server's version.
    pub version: &'static str,
    /// Client connections.
    pub num_clients: usize,
    /// Distinct users connected.
    pub num_users: usize,
    /// Channels with subscribers here.
    pub num_channels: usize,
    /// Subscriptions held.
    pub num_subs: usize,
    /// Seconds since start.
    pub uptime: u64,
}

impl Hub {
    /// A hub with the engine its configuration names and no hooks. With `engine.type` unset,
    /// that is the memory engine: an embedded hub keeps nothing on disk unless asked to
    /// (`engine.type = "sqlite"`); `duplex serve` defaults to SQLite instead.
    pub async fn new(config: HubConfig) -> Result<Hub, BuildError> {
        Hub::builder(config).build().await
    }

    /// A builder, to choose the engine and the hooks.
    pub fn builder(config: HubConfig) -> HubBuilder {
        HubBuilder {
            config,
            engine: None,
            handler: Arc::new(NoHandler),
            webhook_queue: None,
        }
    }

    /// The hub's configuration.
    pub fn config(&self) -> &HubConfig {
        self.node.config()
    }

    /// Every route: `/connection/websocket`, the fallbacks `/connection/http_stream`,
    /// `/connection/sse` and `/emulation`, the server API under `/api`, `/health` and `/metrics`
    /// (each when enabled in the configuration).
    pub fn router(&self) -> Router {
        let mut router = Router::new()
            // CONNECT too: over HTTP/2 a WebSocket opens with an extended CONNECT (RFC 8441).
            .route(
                "/connection/websocket",
                get(websocket::handler).connect(websocket::handler),
            )
            .with_state(self.node.clone());
        let config = self.node.config();
        if config.http_stream.enabled || config.sse.enabled {
            use crate::transport::{emulation, stream};
            let mut fallbacks = Router::new().route(
                "/emulation",
                post(emulation::handler).options(emulation::preflight),
            );
            if config.http_stream.enabled {
                fallbacks = fallbacks.route(
                    "/connection/http_stream",
                    post(stream::http_stream).options(emulation::preflight),
                );
            }
            if config.sse.enabled {
                fallbacks = fallbacks.route("/connection/sse", get(stream::sse));
            }
            router =
                router.merge(fallbacks.with_state(emulation::Fallbacks::new(self.node.clone())));
        }
        if let Some(pusher) = crate::pusher::routes::router(self.node.clone()) {
            router = router.merge(pusher);
        }
        if !self.node.config().http_api.disabled {
            router = router.merge(crate::api::router(
                Arc::new(self.clone()),
                self.api_settings(),
            ));
        }
        if self.node.config().health.enabled {
            // 503 while the engine cannot serve (Redis unreachable), so a load balancer sends
            // clients to a node that can subscribe them.
            let node = self.node.clone();
            router = router.route(
                "/health",
                get(move || {
                    let healthy = node.broker().healthy();
                    async move {
                        if healthy {
                            (http::StatusCode::OK, axum::Json(serde_json::json!({})))
                        } else {
                            (
                                http::StatusCode::SERVICE_UNAVAILABLE,
                                axum::Json(serde_json::json!({"error": "engine unavailable"})),
                            )
                        }
                    }
                }),
            );
        }
        if self.node.config().prometheus.enabled {
            let node = self.node.clone();
            router = router.route(
                "/metrics",
                get(move || {
                    let node = node.clone();
                    async move {
                        (
                            [(
                                http::header::CONTENT_TYPE,
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            )],
                            node.metrics().render(),
                        )
                            .into_response()
                    }
                }),
            );
        }
        router
    }

    fn downgrade(&self) -> WeakHub {
        WeakHub {
            node: Arc::downgrade(&self.node),
            consumers: Arc::downgrade(&self.consumers),
        }
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        self.node.metrics()
    }

    /// Stops the outbox consumers (`consumers`): each finishes the transaction it is in, and
    /// rows written from now on wait in the table for the next hub. [`Hub::shutdown`] does
    /// this first.
    pub async fn stop_consumers(&self) {
        self.consumers.stop().await;
    }

    /// The server API's key and mode, from the configuration.
    fn api_settings(&self) -> crate::api::ApiSettings {
        let api = &self.node.config().http_api;
        crate::api::ApiSettings {
            key: api.key.clone().filter(|k| !k.is_empty()),
            insecure: api.insecure,
            ..Default::default()
        }
    }

    /// Publishes `data` into `channel`: kept in its history if the namespace keeps one, and
    /// sent to every subscriber. Returns the publication's position when kept.
    pub async fn publish(
        &self,
        channel: &str,
        data: impl Into<Bytes>,
    ) -> Result<Option<StreamPosition>, Error> {
        self.publish_with(channel, data, PublishExtras::default())
            .await
    }

    /// [`Hub::publish`] with tags, an idempotency key or without history.
    pub async fn publish_with(
        &self,
        channel: &str,
        data: impl Into<Bytes>,
        extras: PublishExtras,
    ) -> Result<Option<StreamPosition>, Error> {
        let options = self.node.channel_options(channel)?;
        self.node
            .publish_in(channel, &options, data.into(), None, extras)
            .await
    }

    /// Who is in a channel, by client id (the namespace must keep presence).
    pub async fn presence(&self, channel: &str) -> Result<HashMap<String, ClientInfo>, Error> {
        let options = self.node.channel_options(channel)?;
        if !options.presence {
            return Err(Error::NOT_AVAILABLE);
        }
        self.node
            .presence()
            .presence(channel)
            .await
            .map_err(|_| Error::INTERNAL)
    }

    /// How many clients and users are in a channel.
    pub async fn presence_stats(&self, channel: &str) -> Result<PresenceStats, Error> {
        let options = self.node.channel_options(channel)?;
        if !options.presence {
            return Err(Error::NOT_AVAILABLE);
        }
        self.node
            .presence()
            .presence_stats(channel)
            .await
            .map_err(|_| Error::INTERNAL)
    }

    /// A channel's history (the namespace must keep one).
    pub async fn history(&self, channel: &str, query: &HistoryQuery) -> Result<HistoryPage, Error> {
        let options = self.node.channel_options(channel)?;
        self.node.history_in(channel, &options, query).await
    }

    /// Forgets a channel's history.
    pub async fn remove_history(&self, channel: &str) -> Result<(), Error> {
        self.node.channel_options(channel)?;
        let removed = self.node.broker().remove_history(channel).await;
        self.node.channels().history_removed(channel);
        removed.map_err(|_| Error::INTERNAL)
    }

    /// Subscribes a connected user's connections (or one client of theirs) to a channel;
    /// each gets a subscribe push. Returns how many connections were asked.
    pub fn subscribe(
        &self,
        user: &str,
        channel: &str,
        client: Option<&str>,
        info: Option<Bytes>,
        data: Option<Bytes>,
        recover_since: Option<StreamPosition>,
    ) -> Result<usize, Error> {
        self.node.channel_options(channel)?;
        let request = ServerSubscribe {
            channel: channel.to_owned(),
            info,
            data,
            recover_since,
        };
        Ok(self
            .node
            .control_user(user, client, Control::Subscribe(request)))
    }

    /// Unsubscribes a user's connections (or one client) from a channel.
    pub fn unsubscribe(&self, user: &str, channel: &str, client: Option<&str>) -> usize {
        self.node.control_user(
            user,
            client,
            Control::Unsubscribe {
                channel: channel.to_owned(),
                code: crate::codes::Unsubscribe::SERVER,
            },
        )
    }

    /// Disconnects a user's connections (or one client), except the clients in `keep`.
    pub fn disconnect(
        &self,
        user: &str,
        client: Option<&str>,
        keep: &[String],
        disconnect: Disconnect,
    ) -> usize {
        let targets = self.node.targets(user, client);
        let mut count = 0;
        for target in targets {
            if keep.iter().any(|k| k == target.client()) {
                continue;
            }
            target.control(Control::Disconnect(disconnect.clone()));
            count += 1;
        }
        count
    }

    /// Sends a user's connections (or one client) an asynchronous message: the SDKs' `message`
    /// event. Returns how many connections were asked.
    pub fn send(&self, user: &str, client: Option<&str>, data: impl Into<Bytes>) -> usize {
        self.node
            .control_user(user, client, Control::Message(data.into()))
    }

    /// Changes the expiry of a user's connections (or one client): `expired` disconnects
    /// them as expired; `expire_at` (Unix seconds, 0 for never) sets a new one.
    pub fn refresh(
        &self,
        user: &str,
        client: Option<&str>,
        expired: bool,
        expire_at: Option<i64>,
        info: Option<Bytes>,
    ) -> usize {
        self.node.control_user(
            user,
            client,
            Control::Refresh {
                expired,
                expire_at,
                info,
            },
        )
    }

    /// The channels with subscribers on this node and their number of subscribers, those
    /// matching `pattern` (`*` matches any run of characters) if given.
    pub fn channels(&self, pattern: Option<&str>) -> Vec<(String, usize)> {
        let mut channels = self.node.channels().list();
        if let Some(pattern) = pattern.filter(|p| !p.is_empty()) {
            channels.retain(|(name, _)| crate::glob::matches(pattern, name));
        }
        channels.sort();
        channels
    }

    /// How many webhook events are owed to the application (queued, not yet answered with a
    /// 2xx); `None` when webhooks are off.
    pub fn webhooks_owed(&self) -> Option<usize> {
        self.node.webhooks_owed()
    }

    /// What this node has done and holds: connections, subscriptions, publications,
    /// deliveries, drops and command latency (the figures `/metrics` serves).
    ///
    /// ```no_run
    /// # fn example(hub: duplex_hub::Hub) {
    /// println!("{} connections", hub.stats().connections);
    /// # }
    /// ```
    pub fn stats(&self) -> crate::Stats {
        self.node.metrics().stats()
    }

    /// Facts about this node.
    pub fn info(&self) -> NodeInfo {
        let (num_clients, num_users) = self.node.counts();
        let channels = self.node.channels().list();
        NodeInfo {
            name: self.node.name().to_owned(),
            version: crate::session::VERSION,
            num_clients,
            num_users,
            num_channels: channels.len(),
            num_subs: channels.iter().map(|(_, n)| n).sum(),
            uptime: self.node.uptime().as_secs(),
        }
    }

    /// Stops the outbox consumers, then tells every client to reconnect elsewhere (3001
    /// "shutdown"), spread over `spread` so that they do not all come back at once, waits until
    /// they are gone or `spread` plus a second has passed, then closes the engine (the SQLite
    /// engine commits what is queued and checkpoints its log). Publishing after this fails.
    pub async fn shutdown(&self, spread: Duration) {
        // Nothing more from the outbox once clients are being told to leave.
        self.stop_consumers().await;
        let sessions = self.node.all_sessions();
        let count = sessions.len().max(1) as u32;
        for (i, session) in sessions.iter().enumerate() {
            session.control(Control::Disconnect(Disconnect::SHUTDOWN));
            if !spread.is_zero() && i + 1 < sessions.len() {
                tokio::time::sleep(spread / count).await;
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        while self.node.counts().0 > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Err(error) = self.node.broker().close().await {
            tracing::warn!("engine close failed: {error}");
        }
    }
}
