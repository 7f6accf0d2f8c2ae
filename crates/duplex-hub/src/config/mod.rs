//! The hub's configuration: one tree of options, read from Centrifugo v6's `config.json`, from
//! our `duplex.toml` (the same tree and key names in TOML), from `DUPLEX_*` environment
//! variables and from command-line flags, later sources overriding earlier ones.
//!
//! Centrifugo's key paths (`client.token.hmac_secret_key`, `channel.namespaces`) are the
//! configuration's vocabulary: one table of known keys (`keys.rs`, and the channel option keys
//! in `options.rs`) drives reading a file, reading the environment and setting a flag, so each
//! option is parsed, checked and named in errors by one code path. Keys a file holds that the
//! hub does not implement are returned as "ignored" rather than refused, so a Centrifugo file
//! works unchanged and the operator sees what it did not do; an unknown `DUPLEX_*` variable is
//! reported the same way, since there a typo is the likelier cause.
//!
//! Everything defaults to deny: no token key means no connection is accepted (unless
//! `client.insecure` or `client.allow_anonymous_connect_without_token`), no API key means the
//! server API refuses every request (unless `http_api.insecure`), and channel options are all
//! off. Every option, its default, its Centrifugo key and its variable are in
//! docs/hub-config.md.
//!
//! ```
//! use duplex_hub::config::HubConfig;
//!
//! let loaded = HubConfig::from_centrifugo_json(r#"{
//!     "client": {"token": {"hmac_secret_key": "secret"}},
//!     "channel": {"namespaces": [{"name": "chat", "presence": true}]},
//!     "engine": {"redis": {"sentinel_address": "localhost:26379"}}
//! }"#).unwrap();
//! assert_eq!(loaded.ignored, ["engine.redis.sentinel_address"]);
//! let mut config = loaded.config;
//! config.apply_env([("DUPLEX_CLIENT_INSECURE".to_owned(), "true".to_owned())]).unwrap();
//! config.set("http_server.port", "9000").unwrap();
//! let (options, name) = config.channel_options("chat:lobby").unwrap();
//! assert!(options.presence);
//! assert_eq!(name.namespace, Some("chat"));
//! ```

mod consumers;
mod error;
mod keys;
mod options;
mod proxy;
mod pusher;
mod resolve;
mod source;
mod validate;
mod value;
mod webhook;

use std::time::Duration;

pub use consumers::{ConsumerConfig, PostgresConsumerConfig, MAX_PARTITIONS, MAX_SELECT_LIMIT};
pub use error::ConfigError;
pub use keys::{env_var_name, known_keys};
pub use options::{ChannelOptions, DeltaType, Namespace, SlowConsumerPolicy};
pub use proxy::{
    ChannelProxyConfig, ClientProxyConfig, ProxyConfig, RpcConfig, RpcNamespace, RpcOptions,
    SwitchedProxy,
};
pub use pusher::{PusherApp, PusherConfig};
pub use source::EnvReport;
pub use webhook::{WebhookConfig, WebhookEventKind};

use crate::channel::ChannelRules;

/// The whole hub configuration. Fields are grouped as Centrifugo groups its keys: the field
/// `client.channel_limit` is the key `client.channel_limit`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HubConfig {
    /// Where the HTTP server listens (`http_server.*`).
    pub http_server: HttpServerConfig,
    /// Real-time client connections (`client.*`).
    pub client: ClientConfig,
    /// The WebSocket transport (`websocket.*`).
    pub websocket: WebSocketConfig,
    /// The server HTTP API (`http_api.*`).
    pub http_api: HttpApiConfig,
    /// Channel names and per-namespace options (`channel.*`).
    pub channel: ChannelConfig,
    /// Client RPC calls and their proxy (`rpc.*`).
    pub rpc: RpcConfig,
    /// The HTTP-streaming fallback, `/connection/http_stream` (`http_stream.enabled`); with
    /// SSE, it brings the `/emulation` endpoint.
    pub http_stream: EndpointToggle,
    /// The Server-Sent Events fallback, `/connection/sse` (`sse.enabled`).
    pub sse: EndpointToggle,
    /// The `/health` endpoint (`health.enabled`).
    pub health: EndpointToggle,
    /// The `/metrics` endpoint (`prometheus.enabled`).
    pub prometheus: EndpointToggle,
    /// Logging (`log.level`).
    pub log: LogConfig,
    /// The engine behind brokering, history and presence (`engine.*`).
    pub engine: EngineConfig,
    /// A broker apart from the engine (`broker.*`): NATS, for fan-out across nodes without
    /// history.
    pub broker: BrokerConfig,
    /// Graceful shutdown (`shutdown.timeout`).
    pub shutdown: ShutdownConfig,
    /// Sources of server API commands beside the HTTP API: PostgreSQL outbox tables
    /// (`consumers`).
    pub consumers: Vec<ConsumerConfig>,
    /// Hub extension: disconnect and unsubscribe events posted to the application
    /// (`webhook.*`).
    pub webhook: WebhookConfig,
    /// Hub extension: the Pusher Channels protocol's apps and options (`pusher.*`).
    pub pusher: PusherConfig,
}

/// A configuration read from a file, with the keys the file holds that the hub does not
/// implement.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The configuration: defaults overridden by the file.
    pub config: HubConfig,
    /// Key paths present in the file but not implemented, in file order, for a warning such
    /// as `ignored: engine.redis.sentinel_address, proxies`.
    pub ignored: Vec<String>,
}

/// Where the HTTP server listens: WebSocket, server API, health and metrics share it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpServerConfig {
    /// Interface address; empty listens on all interfaces, as Centrifugo does
    /// (`http_server.address`, default `""`).
    pub address: String,
    /// TCP port (`http_server.port`, default 8000).
    pub port: u16,
}

/// Token verification keys (`client.token.*`, `client.subscription_token.*`): the auth
/// module's own type, so the configuration and the verifier cannot drift apart.
pub use crate::auth::TokenConfig;

/// Separate keys for subscription tokens (`client.subscription_token.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionTokenConfig {
    /// Use `token` for subscription tokens instead of `client.token`
    /// (`client.subscription_token.enabled`).
    pub enabled: bool,
    /// The keys for subscription tokens (`client.subscription_token.hmac_secret_key`, ...).
    pub token: TokenConfig,
}

/// Subscribing each user to a personal channel on connect
/// (`client.subscribe_to_user_personal_channel.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonalChannelConfig {
    /// Subscribe every authenticated connection to its user's channel (`enabled`).
    pub enabled: bool,
    /// The namespace of personal channels; empty uses channels without namespace
    /// (`personal_channel_namespace`).
    pub personal_channel_namespace: String,
    /// Keep one connection per user: a new connection disconnects the older ones
    /// (`single_connection`); needs presence in the personal channel's namespace.
    pub single_connection: bool,
}

/// Real-time client connections.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// Keys for connection tokens, and for subscription tokens unless
    /// `subscription_token.enabled` (`client.token.*`).
    pub token: TokenConfig,
    /// Separate keys for subscription tokens (`client.subscription_token.*`).
    pub subscription_token: SubscriptionTokenConfig,
    /// Development mode: connect without a token and use every channel (`client.insecure`).
    pub insecure: bool,
    /// Accept connections without a token as anonymous (empty user)
    /// (`client.allow_anonymous_connect_without_token`).
    pub allow_anonymous_connect_without_token: bool,
    /// Refuse valid tokens whose `sub` is empty (`client.disallow_anonymous_connection_tokens`).
    pub disallow_anonymous_connection_tokens: bool,
    /// Origins allowed to open connections, `*` wildcards allowed; empty allows only requests
    /// without an `Origin` or from the same host (`client.allowed_origins`).
    pub allowed_origins: Vec<String>,
    /// Server ping period; `None` sends no pings (`client.ping_interval`, 25s; `-1` turns off).
    pub ping_interval: Option<Duration>,
    /// How long to wait for the client's pong after a ping; `None` does not check
    /// (`client.pong_timeout`, 8s; `-1` turns off).
    pub pong_timeout: Option<Duration>,
    /// Grace after a connection token expires before disconnecting
    /// (`client.expired_close_delay`, 25s).
    pub expired_close_delay: Duration,
    /// Grace after a subscription token expires before unsubscribing
    /// (`client.expired_sub_close_delay`, 25s).
    pub expired_sub_close_delay: Duration,
    /// How long a connection may stay without sending connect (`client.stale_close_delay`,
    /// 10s).
    pub stale_close_delay: Duration,
    /// Most subscriptions one connection may hold (`client.channel_limit`, 128).
    pub channel_limit: usize,
    /// Most connections this node accepts; 0 is unlimited (`client.connection_limit`).
    pub connection_limit: usize,
    /// Most connections per user on this node; 0 is unlimited
    /// (`client.user_connection_limit`).
    pub user_connection_limit: usize,
    /// Outbound byte budget per connection; past it the slow-consumer policy applies
    /// (`client.queue_max_size`, 1 MiB).
    pub queue_max_size: usize,
    /// Hub extension: the fewest subscribers a channel has on a node for the publications
    /// that arrive while the node writes to wait for its next round of writes and go out
    /// together, one frame per subscriber (`client.batch_from_subscribers`, 2048; 0: every
    /// channel).
    pub batch_from_subscribers: usize,
    /// Hub extension: most commands a connection may send per second; 0 is unlimited
    /// (`client.commands_per_second`).
    pub commands_per_second: u32,
    /// How often presence entries of live connections are refreshed
    /// (`client.presence_update_interval`, 27s).
    pub presence_update_interval: Duration,
    /// Most publications one history call returns (`client.history_max_publication_limit`,
    /// 300).
    pub history_max_publication_limit: usize,
    /// Most publications one recovery returns; past it the client is told recovery failed
    /// (`client.recovery_max_publication_limit`, 300).
    pub recovery_max_publication_limit: usize,
    /// Put the server time in the connect reply (`client.connect_include_server_time`).
    pub connect_include_server_time: bool,
    /// Personal channels subscribed on connect
    /// (`client.subscribe_to_user_personal_channel.*`).
    pub subscribe_to_user_personal_channel: PersonalChannelConfig,
    /// The connect and refresh proxies (`client.proxy.*`).
    pub proxy: ClientProxyConfig,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            token: TokenConfig::default(),
            subscription_token: SubscriptionTokenConfig::default(),
            insecure: false,
            allow_anonymous_connect_without_token: false,
            disallow_anonymous_connection_tokens: false,
            allowed_origins: Vec::new(),
            ping_interval: Some(Duration::from_secs(25)),
            pong_timeout: Some(Duration::from_secs(8)),
            expired_close_delay: Duration::from_secs(25),
            expired_sub_close_delay: Duration::from_secs(25),
            stale_close_delay: Duration::from_secs(10),
            channel_limit: 128,
            connection_limit: 0,
            user_connection_limit: 0,
            queue_max_size: 1024 * 1024,
            batch_from_subscribers: 2048,
            commands_per_second: 0,
            presence_update_interval: Duration::from_secs(27),
            history_max_publication_limit: 300,
            recovery_max_publication_limit: 300,
            connect_include_server_time: false,
            subscribe_to_user_personal_channel: PersonalChannelConfig::default(),
            proxy: ClientProxyConfig::default(),
        }
    }
}

/// The WebSocket transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketConfig {
    /// Largest incoming message (one frame of commands) in bytes
    /// (`websocket.message_size_limit`, 65536).
    pub message_size_limit: usize,
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        Self {
            message_size_limit: 65536,
        }
    }
}

/// The server HTTP API at `/api`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpApiConfig {
    /// The key requests carry in `X-API-Key` (or `Authorization: apikey <key>`); without one
    /// every request is refused unless `insecure` (`http_api.key`).
    pub key: Option<String>,
    /// Accept requests without a key, for development (`http_api.insecure`).
    pub insecure: bool,
    /// Do not serve the API at all (`http_api.disabled`).
    pub disabled: bool,
}

/// Channel name rules and the options of every channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelConfig {
    /// Boundaries, separator and maximum length (`channel.namespace_boundary`,
    /// `channel.user_boundary`, `channel.user_separator`, `channel.max_length`).
    pub rules: ChannelRules,
    /// How long a stream position (offset and epoch) is kept after its last publication, for
    /// namespaces that do not set their own (`channel.history_meta_ttl`, 720h).
    pub history_meta_ttl: Duration,
    /// Options of channels without namespace (`channel.without_namespace`).
    pub without_namespace: ChannelOptions,
    /// The namespaces (`channel.namespaces`).
    pub namespaces: Vec<Namespace>,
    /// The subscribe, publish and sub_refresh proxies (`channel.proxy.*`).
    pub proxy: ChannelProxyConfig,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        Self {
            rules: ChannelRules::default(),
            history_meta_ttl: Duration::from_secs(720 * 3600),
            without_namespace: ChannelOptions::default(),
            namespaces: Vec::new(),
            proxy: ChannelProxyConfig::default(),
        }
    }
}

/// An optional endpoint. On by default, unlike Centrifugo: a server that an orchestrator cannot
/// probe or scrape, or that a client behind a WebSocket-blocking proxy cannot reach, is one
/// more thing to forget at deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointToggle {
    /// Serve the endpoint (`health.enabled`, `prometheus.enabled`, `http_stream.enabled`,
    /// `sse.enabled`).
    pub enabled: bool,
}

impl Default for EndpointToggle {
    fn default() -> Self {
        EndpointToggle { enabled: true }
    }
}

/// How much the hub logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogLevel {
    /// Nothing (`"none"`).
    None,
    /// Everything (`"trace"`).
    Trace,
    /// Debugging detail (`"debug"`).
    Debug,
    /// Normal operation (`"info"`, the default).
    #[default]
    Info,
    /// Problems worth a look (`"warn"`).
    Warn,
    /// Failures only (`"error"`; Centrifugo's `"fatal"` reads as this too).
    Error,
}

/// Logging.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogConfig {
    /// The level (`log.level`, default `"info"`).
    pub level: LogLevel,
}

/// The engine implementations the hub has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineType {
    /// In-process broker, history and presence (`"memory"`): fast, lost at every restart.
    Memory,
    /// History, epochs and offsets in a SQLite file in `engine.sqlite.path` (`"sqlite"`):
    /// durable across restarts; presence stays in memory.
    Sqlite,
    /// Broker, history and presence in Redis (`"redis"`, settings in `engine.redis.*`): every
    /// node pointing at the same Redis servers shares channels, history and presence.
    Redis,
}

/// The engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineConfig {
    /// Which engine (`engine.type`); unset leaves the choice to whoever runs the hub:
    /// [`Hub::new`](crate::Hub::new) embeds the memory engine, `duplex serve` the SQLite one.
    /// Other Centrifugo engines are refused, not ignored, since running in memory where Redis
    /// was asked for would lose data silently.
    pub kind: Option<EngineType>,
    /// The SQLite engine's settings (`engine.sqlite.*`).
    pub sqlite: SqliteEngineConfig,
    /// The Redis engine's settings (`engine.redis.*`).
    pub redis: RedisEngineConfig,
}

/// The Redis engine's settings, with Centrifugo v6's names and defaults except the prefix.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisEngineConfig {
    /// Redis servers, `redis://[user:password@]host:port/db` or `host:port`; several spread
    /// channels by consistent hashing (`engine.redis.address`, default
    /// `redis://127.0.0.1:6379`).
    pub address: Vec<String>,
    /// Prepended to every key and pub/sub channel (`engine.redis.prefix`, default `duplex`:
    /// not Centrifugo's `centrifugo`, since the data formats differ and must not mix).
    pub prefix: String,
    /// ACL user where the address has none (`engine.redis.user`).
    pub user: Option<String>,
    /// Password where the address has none (`engine.redis.password`).
    pub password: Option<String>,
    /// Database where the address has none (`engine.redis.db`, default 0).
    pub db: u32,
    /// How long connecting may take (`engine.redis.connect_timeout`, default 1s).
    pub connect_timeout: Duration,
    /// How long one call may take before it fails as unavailable (`engine.redis.io_timeout`,
    /// default 4s).
    pub io_timeout: Duration,
    /// Seed nodes of a Redis Cluster, `host:port` or `redis://host:port` (any nodes of it: the
    /// client learns the rest); when set, `address` is not used (`engine.redis.cluster_address`,
    /// default none).
    pub cluster_address: Vec<String>,
    /// On a cluster, sharded pub/sub, which needs Redis 7 or Valkey; `false` for a Redis 6.2
    /// cluster (`engine.redis.sharded_pubsub`, default true; every node must agree).
    pub sharded_pubsub: bool,
}

impl Default for RedisEngineConfig {
    fn default() -> Self {
        let engine = crate::engine::redis::RedisConfig::new(["redis://127.0.0.1:6379"]);
        Self {
            address: engine.addresses,
            prefix: engine.prefix,
            user: None,
            password: None,
            db: 0,
            connect_timeout: engine.connect_timeout,
            io_timeout: engine.io_timeout,
            cluster_address: Vec::new(),
            sharded_pubsub: engine.sharded_pubsub,
        }
    }
}

/// Debug without the password.
impl std::fmt::Debug for RedisEngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisEngineConfig")
            .field("address", &self.address)
            .field("prefix", &self.prefix)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<set>"))
            .field("db", &self.db)
            .field("connect_timeout", &self.connect_timeout)
            .field("io_timeout", &self.io_timeout)
            .finish()
    }
}

/// The SQLite engine's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteEngineConfig {
    /// The data folder, created if missing; relative paths start at the working directory
    /// (`engine.sqlite.path`, default `duplex-data`).
    pub path: String,
    /// When commits reach the disk (`engine.sqlite.synchronous`, `normal` or `full`, default
    /// `normal`: durable across a crash of the process, not of the machine).
    pub synchronous: crate::engine::sqlite::Synchronous,
}

impl Default for SqliteEngineConfig {
    fn default() -> Self {
        Self {
            path: "duplex-data".to_owned(),
            synchronous: crate::engine::sqlite::Synchronous::Normal,
        }
    }
}

/// The brokers the hub can run apart from its engine (`broker.type`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BrokerType {
    /// The engine's own broker (`"memory"`, Centrifugo's default).
    #[default]
    Memory,
    /// NATS core pub/sub (`"nats"`): publications reach every node, at most once, without
    /// history; presence stays per node.
    Nats,
}

/// A broker configured apart from the engine, as Centrifugo v6's `broker` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerConfig {
    /// Use this broker instead of the engine's (`broker.enabled`, default false).
    pub enabled: bool,
    /// Which broker (`broker.type`, default `memory`).
    pub kind: BrokerType,
    /// The NATS broker's settings (`broker.nats.*`).
    pub nats: crate::engine::nats::NatsConfig,
}

impl BrokerConfig {
    /// Whether publications travel through NATS (`broker.enabled` and `broker.type = "nats"`).
    pub fn is_nats(&self) -> bool {
        self.enabled && self.kind == BrokerType::Nats
    }
}

impl EngineConfig {
    /// Opens the configured engine, `default` when `engine.type` is unset; with a NATS
    /// `broker`, the NATS broker and this node's memory presence instead. Async because a
    /// networked engine (Redis, NATS) connects first.
    pub async fn open(
        &self,
        broker: &BrokerConfig,
        default: EngineType,
    ) -> Result<crate::engine::Engine, crate::engine::EngineError> {
        if broker.is_nats() {
            return crate::engine::Engine::nats(&broker.nats).await;
        }
        match self.kind.unwrap_or(default) {
            EngineType::Memory => Ok(crate::engine::Engine::memory()),
            EngineType::Sqlite => {
                let mut config = crate::engine::sqlite::SqliteConfig::new(&self.sqlite.path);
                config.synchronous = self.sqlite.synchronous;
                crate::engine::Engine::sqlite_with(config)
            }
            EngineType::Redis => {
                let mut config = if self.redis.cluster_address.is_empty() {
                    crate::engine::redis::RedisConfig::new(self.redis.address.clone())
                } else {
                    crate::engine::redis::RedisConfig::cluster(self.redis.cluster_address.clone())
                };
                config.sharded_pubsub = self.redis.sharded_pubsub;
                config.prefix = self.redis.prefix.clone();
                config.user = self.redis.user.clone();
                config.password = self.redis.password.clone();
                config.db = (self.redis.db != 0).then_some(i64::from(self.redis.db));
                config.connect_timeout = self.redis.connect_timeout;
                config.io_timeout = self.redis.io_timeout;
                crate::engine::Engine::redis(config).await
            }
        }
    }
}

/// Graceful shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownConfig {
    /// How long to wait for connections to close before stopping (`shutdown.timeout`, 30s).
    pub timeout: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
        }
    }
}

impl Default for HttpServerConfig {
    fn default() -> Self {
        Self {
            address: String::new(),
            port: 8000,
        }
    }
}

impl HubConfig {
    /// The keys that verify subscription tokens: `client.subscription_token` when enabled,
    /// else the connection token keys, as in Centrifugo.
    pub fn subscription_token_settings(&self) -> &TokenConfig {
        if self.client.subscription_token.enabled {
            &self.client.subscription_token.token
        } else {
            &self.client.token
        }
    }

    /// The personal channel of `user` (`personal:#42`, or `#42` without a namespace), when
    /// `client.subscribe_to_user_personal_channel.enabled` and the user is not anonymous.
    pub fn personal_channel(&self, user: &str) -> Option<String> {
        let personal = &self.client.subscribe_to_user_personal_channel;
        if !personal.enabled || user.is_empty() {
            return None;
        }
        let rules = &self.channel.rules;
        let namespace = &personal.personal_channel_namespace;
        Some(if namespace.is_empty() {
            format!("{}{user}", rules.user_boundary)
        } else {
            format!(
                "{namespace}{}{}{user}",
                rules.namespace_boundary, rules.user_boundary
            )
        })
    }
}
