//! The one table of configuration keys the hub implements. A file, an environment variable and
//! a flag all reach an option through its entry here, so an option's parsing and its name in
//! errors are written once. Channel options (inside `channel.without_namespace` and each
//! namespace) have their own table in `options.rs`, generated from the option fields.

use serde_json::Value;

use super::options::OPTION_KEYS;
use super::value::{describe, Raw, Setting};
use super::{BrokerType, EngineType, HubConfig, LogLevel};
use crate::engine::sqlite::Synchronous;

/// Where the options of channels without namespace sit; its keys are the channel option keys.
pub(crate) const WITHOUT_NAMESPACE: &str = "channel.without_namespace";
/// The namespace list: an array of objects, each a `name` and channel options; from text, JSON.
pub(crate) const NAMESPACES: &str = "channel.namespaces";

/// One option: its key path and how to set it from a value.
pub(crate) struct Key {
    /// The key path, dot-separated as Centrifugo nests it.
    pub(crate) path: &'static str,
    /// Reads a value into the option; the error is a phrase without the key.
    pub(crate) apply: fn(&mut HubConfig, Raw<'_>) -> Result<(), String>,
}

macro_rules! keys {
    ($($path:literal => $($field:ident).+),* $(,)?) => {
        &[$(Key {
            path: $path,
            apply: |config, raw| {
                config.$($field).+ = Setting::from_raw(raw)?;
                Ok(())
            },
        }),*]
    };
}

/// Every top-level option the hub implements, beside the channel options and the namespace
/// list. Order is the order of docs/hub-config.md.
pub(crate) const KEYS: &[Key] = keys![
    "http_server.address" => http_server.address,
    "http_server.port" => http_server.port,
    "client.token.hmac_secret_key" => client.token.hmac_secret_key,
    "client.token.rsa_public_key" => client.token.rsa_public_key,
    "client.token.ecdsa_public_key" => client.token.ecdsa_public_key,
    "client.token.jwks_public_endpoint" => client.token.jwks_public_endpoint,
    "client.token.audience" => client.token.audience,
    "client.token.issuer" => client.token.issuer,
    "client.subscription_token.enabled" => client.subscription_token.enabled,
    "client.subscription_token.hmac_secret_key" => client.subscription_token.token.hmac_secret_key,
    "client.subscription_token.rsa_public_key" => client.subscription_token.token.rsa_public_key,
    "client.subscription_token.ecdsa_public_key" => client.subscription_token.token.ecdsa_public_key,
    "client.subscription_token.jwks_public_endpoint" => client.subscription_token.token.jwks_public_endpoint,
    "client.subscription_token.audience" => client.subscription_token.token.audience,
    "client.subscription_token.issuer" => client.subscription_token.token.issuer,
    "client.insecure" => client.insecure,
    "client.allow_anonymous_connect_without_token" => client.allow_anonymous_connect_without_token,
    "client.disallow_anonymous_connection_tokens" => client.disallow_anonymous_connection_tokens,
    "client.allowed_origins" => client.allowed_origins,
    "client.ping_interval" => client.ping_interval,
    "client.pong_timeout" => client.pong_timeout,
    "client.expired_close_delay" => client.expired_close_delay,
    "client.expired_sub_close_delay" => client.expired_sub_close_delay,
    "client.stale_close_delay" => client.stale_close_delay,
    "client.channel_limit" => client.channel_limit,
    "client.connection_limit" => client.connection_limit,
    "client.user_connection_limit" => client.user_connection_limit,
    "client.queue_max_size" => client.queue_max_size,
    "client.batch_from_subscribers" => client.batch_from_subscribers,
    "client.commands_per_second" => client.commands_per_second,
    "client.presence_update_interval" => client.presence_update_interval,
    "client.history_max_publication_limit" => client.history_max_publication_limit,
    "client.recovery_max_publication_limit" => client.recovery_max_publication_limit,
    "client.connect_include_server_time" => client.connect_include_server_time,
    "client.subscribe_to_user_personal_channel.enabled" => client.subscribe_to_user_personal_channel.enabled,
    "client.subscribe_to_user_personal_channel.personal_channel_namespace" => client.subscribe_to_user_personal_channel.personal_channel_namespace,
    "client.subscribe_to_user_personal_channel.single_connection" => client.subscribe_to_user_personal_channel.single_connection,
    "client.proxy.connect.enabled" => client.proxy.connect.enabled,
    "client.proxy.connect.endpoint" => client.proxy.connect.proxy.endpoint,
    "client.proxy.connect.timeout" => client.proxy.connect.proxy.timeout,
    "client.proxy.connect.http_headers" => client.proxy.connect.proxy.http_headers,
    "client.proxy.connect.http.static_headers" => client.proxy.connect.proxy.static_headers,
    "client.proxy.connect.binary_encoding" => client.proxy.connect.proxy.binary_encoding,
    "client.proxy.connect.include_connection_meta" => client.proxy.connect.proxy.include_connection_meta,
    "client.proxy.refresh.enabled" => client.proxy.refresh.enabled,
    "client.proxy.refresh.endpoint" => client.proxy.refresh.proxy.endpoint,
    "client.proxy.refresh.timeout" => client.proxy.refresh.proxy.timeout,
    "client.proxy.refresh.http_headers" => client.proxy.refresh.proxy.http_headers,
    "client.proxy.refresh.http.static_headers" => client.proxy.refresh.proxy.static_headers,
    "client.proxy.refresh.binary_encoding" => client.proxy.refresh.proxy.binary_encoding,
    "client.proxy.refresh.include_connection_meta" => client.proxy.refresh.proxy.include_connection_meta,
    "websocket.message_size_limit" => websocket.message_size_limit,
    "http_api.key" => http_api.key,
    "http_api.insecure" => http_api.insecure,
    "http_api.disabled" => http_api.disabled,
    "channel.namespace_boundary" => channel.rules.namespace_boundary,
    "channel.user_boundary" => channel.rules.user_boundary,
    "channel.user_separator" => channel.rules.user_separator,
    "channel.max_length" => channel.rules.max_length,
    "channel.history_meta_ttl" => channel.history_meta_ttl,
    "channel.proxy.subscribe.endpoint" => channel.proxy.subscribe.endpoint,
    "channel.proxy.subscribe.timeout" => channel.proxy.subscribe.timeout,
    "channel.proxy.subscribe.http_headers" => channel.proxy.subscribe.http_headers,
    "channel.proxy.subscribe.http.static_headers" => channel.proxy.subscribe.static_headers,
    "channel.proxy.subscribe.binary_encoding" => channel.proxy.subscribe.binary_encoding,
    "channel.proxy.subscribe.include_connection_meta" => channel.proxy.subscribe.include_connection_meta,
    "channel.proxy.publish.endpoint" => channel.proxy.publish.endpoint,
    "channel.proxy.publish.timeout" => channel.proxy.publish.timeout,
    "channel.proxy.publish.http_headers" => channel.proxy.publish.http_headers,
    "channel.proxy.publish.http.static_headers" => channel.proxy.publish.static_headers,
    "channel.proxy.publish.binary_encoding" => channel.proxy.publish.binary_encoding,
    "channel.proxy.publish.include_connection_meta" => channel.proxy.publish.include_connection_meta,
    "channel.proxy.sub_refresh.endpoint" => channel.proxy.sub_refresh.endpoint,
    "channel.proxy.sub_refresh.timeout" => channel.proxy.sub_refresh.timeout,
    "channel.proxy.sub_refresh.http_headers" => channel.proxy.sub_refresh.http_headers,
    "channel.proxy.sub_refresh.http.static_headers" => channel.proxy.sub_refresh.static_headers,
    "channel.proxy.sub_refresh.binary_encoding" => channel.proxy.sub_refresh.binary_encoding,
    "channel.proxy.sub_refresh.include_connection_meta" => channel.proxy.sub_refresh.include_connection_meta,
    "rpc.proxy.endpoint" => rpc.proxy.endpoint,
    "rpc.proxy.timeout" => rpc.proxy.timeout,
    "rpc.proxy.http_headers" => rpc.proxy.http_headers,
    "rpc.proxy.http.static_headers" => rpc.proxy.static_headers,
    "rpc.proxy.binary_encoding" => rpc.proxy.binary_encoding,
    "rpc.proxy.include_connection_meta" => rpc.proxy.include_connection_meta,
    "rpc.without_namespace.proxy_enabled" => rpc.without_namespace.proxy_enabled,
    "rpc.namespaces" => rpc.namespaces,
    "rpc.namespace_boundary" => rpc.namespace_boundary,
    "http_stream.enabled" => http_stream.enabled,
    "sse.enabled" => sse.enabled,
    "health.enabled" => health.enabled,
    "prometheus.enabled" => prometheus.enabled,
    "log.level" => log.level,
    "engine.type" => engine.kind,
    "engine.sqlite.path" => engine.sqlite.path,
    "engine.sqlite.synchronous" => engine.sqlite.synchronous,
    "engine.redis.address" => engine.redis.address,
    "engine.redis.prefix" => engine.redis.prefix,
    "engine.redis.user" => engine.redis.user,
    "engine.redis.password" => engine.redis.password,
    "engine.redis.db" => engine.redis.db,
    "engine.redis.connect_timeout" => engine.redis.connect_timeout,
    "engine.redis.io_timeout" => engine.redis.io_timeout,
    "engine.redis.cluster_address" => engine.redis.cluster_address,
    "engine.redis.sharded_pubsub" => engine.redis.sharded_pubsub,
    "broker.enabled" => broker.enabled,
    "broker.type" => broker.kind,
    "broker.nats.url" => broker.nats.url,
    "broker.nats.prefix" => broker.nats.prefix,
    "broker.nats.write_timeout" => broker.nats.write_timeout,
    "shutdown.timeout" => shutdown.timeout,
    "webhook.enabled" => webhook.enabled,
    "webhook.endpoint" => webhook.endpoint,
    "webhook.secret" => webhook.secret,
    "webhook.timeout" => webhook.timeout,
    "webhook.events" => webhook.events,
    "webhook.max_queue" => webhook.max_queue,
    "webhook.concurrency" => webhook.concurrency,
    "webhook.retry_min_delay" => webhook.retry_min_delay,
    "webhook.retry_max_delay" => webhook.retry_max_delay,
    "webhook.queue_path" => webhook.queue_path,
    "pusher.activity_timeout" => pusher.activity_timeout,
    "pusher.pong_timeout" => pusher.pong_timeout,
    "pusher.client_events_per_second" => pusher.client_events_per_second,
];

/// The entry for `path`, if the hub implements that option.
pub(crate) fn key(path: &str) -> Option<&'static Key> {
    KEYS.iter().find(|key| key.path == path)
}

/// Whether `path` is a section holding implemented keys (`client`, `client.token`), so that a
/// file's object there is walked rather than reported as ignored.
pub(crate) fn is_section(path: &str) -> bool {
    KEYS.iter().any(|key| {
        key.path
            .strip_prefix(path)
            .is_some_and(|rest| rest.starts_with('.'))
    }) || path == "channel"
}

/// Every key path the hub implements: the table above, each channel option under
/// `channel.without_namespace.`, `channel.namespaces` and `consumers`. For help texts and docs checks.
pub fn known_keys() -> Vec<String> {
    let mut keys: Vec<String> = KEYS.iter().map(|key| key.path.to_owned()).collect();
    keys.extend(
        OPTION_KEYS
            .iter()
            .map(|option| format!("{WITHOUT_NAMESPACE}.{}", option.name)),
    );
    keys.push(NAMESPACES.to_owned());
    keys.push(super::consumers::CONSUMERS.to_owned());
    keys.push(super::pusher::PUSHER_APPS.to_owned());
    keys
}

/// The environment variable for a key path: `DUPLEX_` and the path in upper case with `_` for
/// `.` (`client.token.hmac_secret_key` is `DUPLEX_CLIENT_TOKEN_HMAC_SECRET_KEY`).
pub fn env_var_name(key_path: &str) -> String {
    format!("DUPLEX_{}", key_path.to_ascii_uppercase().replace('.', "_"))
}

impl Setting for LogLevel {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(text) => Self::from_text(text),
            other => Err(format!("expected a log level, got {}", describe(other))),
        }
    }

    fn from_text(text: &str) -> Result<Self, String> {
        match text.trim() {
            "none" => Ok(Self::None),
            "trace" => Ok(Self::Trace),
            "debug" => Ok(Self::Debug),
            "info" => Ok(Self::Info),
            "warn" => Ok(Self::Warn),
            "error" | "fatal" => Ok(Self::Error),
            other => Err(format!(
                "expected none, trace, debug, info, warn or error, got {other:?}"
            )),
        }
    }
}

/// Unset (`None`) until a source names an engine; an empty value is unset.
impl Setting for Option<EngineType> {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(text) => Self::from_text(text),
            other => Err(format!("expected an engine name, got {}", describe(other))),
        }
    }

    fn from_text(text: &str) -> Result<Self, String> {
        match text.trim() {
            "" => Ok(None),
            "memory" => Ok(Some(EngineType::Memory)),
            "sqlite" => Ok(Some(EngineType::Sqlite)),
            "redis" => Ok(Some(EngineType::Redis)),
            other => Err(format!(
                "the hub implements the \"memory\", \"sqlite\" and \"redis\" engines, not {other:?}"
            )),
        }
    }
}

impl Setting for BrokerType {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(text) => Self::from_text(text),
            other => Err(format!("expected a broker name, got {}", describe(other))),
        }
    }

    fn from_text(text: &str) -> Result<Self, String> {
        match text.trim() {
            "" | "memory" => Ok(Self::Memory),
            "nats" => Ok(Self::Nats),
            other => Err(format!(
                "the hub implements the \"memory\" and \"nats\" brokers, not {other:?}"
            )),
        }
    }
}

impl Setting for Synchronous {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(text) => Self::from_text(text),
            other => Err(format!("expected normal or full, got {}", describe(other))),
        }
    }

    fn from_text(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "normal" => Ok(Self::Normal),
            "full" => Ok(Self::Full),
            other => Err(format!("expected normal or full, got {other:?}")),
        }
    }
}
