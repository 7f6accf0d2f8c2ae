//! The Pusher front door's options (`pusher.*`): the applications it serves and how it treats
//! their connections. A hub extension (Centrifugo has no Pusher protocol); the app fields are
//! the ones every Pusher-protocol server takes (`id`, `key`, `secret`), so an application moves
//! over by changing a host name.
//!
//! Each app's channels live in one namespace of the hub (`pusher-<id>` unless the app names
//! another), so that apps never see each other's channels and a Centrifugo client or the server
//! API reaches Pusher channel `news` of app `42` as `pusher-42:news`. A namespace the file does
//! not declare is added with every option off: the server API can publish into it, and no
//! Centrifugo client can subscribe without a subscription token, until the operator declares it
//! with the options they want.
//!
//! ```
//! use duplex_hub::config::HubConfig;
//!
//! let loaded = HubConfig::from_centrifugo_json(r#"{
//!     "pusher": {"apps": [{"id": "42", "key": "app-key", "secret": "app-secret"}]}
//! }"#).unwrap();
//! let app = &loaded.config.pusher.apps[0];
//! assert_eq!(app.namespace(), "pusher-42");
//! ```

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::value::describe;
use super::{ConfigError, HubConfig, Namespace};

/// The key of the app list: a JSON array of objects.
pub(crate) const PUSHER_APPS: &str = "pusher.apps";

/// The Pusher protocol's options (`pusher.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct PusherConfig {
    /// The applications served; none turns the Pusher endpoints off (`pusher.apps`).
    pub apps: Vec<PusherApp>,
    /// Seconds of silence after which the server pings a connection, and tells clients to ping
    /// (`pusher.activity_timeout`, 120s as Pusher's servers; pusher-js pings after the smaller
    /// of this and its own setting).
    pub activity_timeout: Duration,
    /// How long a pinged connection has to answer before it is closed with 4201
    /// (`pusher.pong_timeout`, 30s as pusher-js's own).
    pub pong_timeout: Duration,
    /// Most client events one connection may send per second; past it the connection is closed
    /// with 4301 (`pusher.client_events_per_second`, 10 as Pusher's; 0 is unlimited).
    pub client_events_per_second: u32,
}

impl Default for PusherConfig {
    fn default() -> Self {
        Self {
            apps: Vec::new(),
            activity_timeout: Duration::from_secs(120),
            pong_timeout: Duration::from_secs(30),
            client_events_per_second: 10,
        }
    }
}

/// One application: what its clients and its backend identify themselves with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PusherApp {
    /// The app id in HTTP API paths (`/apps/{id}/events`).
    pub id: String,
    /// The public key clients connect with (`/app/{key}`) and requests are signed under.
    pub key: String,
    /// The secret that signs channel and user authorizations and API requests. Never logged.
    pub secret: String,
    /// The hub namespace of the app's channels (default `pusher-<id>`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Where the app's webhooks are posted (channel_occupied and vacated, member_added and
    /// removed, client_event, cache_miss), signed with its secret; none without one.
    #[serde(default)]
    pub webhook_url: Option<String>,
}

impl PusherApp {
    /// The hub namespace the app's channels live in.
    pub fn namespace(&self) -> String {
        self.namespace
            .clone()
            .unwrap_or_else(|| format!("pusher-{}", self.id))
    }
}

/// Reads the `pusher.apps` array.
pub(crate) fn apps_from_json(value: &Value) -> Result<Vec<PusherApp>, ConfigError> {
    if !value.is_array() {
        return Err(ConfigError::invalid(
            PUSHER_APPS,
            format!("expected a list of apps, got {}", describe(value)),
        ));
    }
    serde_json::from_value(value.clone())
        .map_err(|error| ConfigError::invalid(PUSHER_APPS, error.to_string()))
}

impl HubConfig {
    /// The app rules: ids, keys and namespaces unique, nothing empty, a namespace name the
    /// hub accepts.
    pub(super) fn validate_pusher(&self) -> Result<(), ConfigError> {
        let apps = &self.pusher.apps;
        for (index, app) in apps.iter().enumerate() {
            let key = |field: &str| format!("{PUSHER_APPS}[{index}].{field}");
            for (field, value) in [("id", &app.id), ("key", &app.key), ("secret", &app.secret)] {
                if value.is_empty() {
                    return Err(ConfigError::invalid(key(field), "must not be empty"));
                }
            }
            if !app
                .key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return Err(ConfigError::invalid(
                    key("key"),
                    "may hold only letters, digits, '-', '_' and '.' (it is a path segment)",
                ));
            }
            if let Some(url) = &app.webhook_url {
                super::webhook::check_http_url(&key("webhook_url"), url)?;
            }
            let namespace = app.namespace();
            if !super::validate::valid_namespace_name(&namespace) {
                return Err(ConfigError::invalid(
                    key("namespace"),
                    format!("{namespace:?} must match ^[-a-zA-Z0-9_.]{{2,}}$"),
                ));
            }
            for earlier in &apps[..index] {
                if earlier.id == app.id || earlier.key == app.key {
                    return Err(ConfigError::invalid(
                        key("id"),
                        "two apps share an id or a key",
                    ));
                }
                if earlier.namespace() == namespace {
                    return Err(ConfigError::invalid(
                        key("namespace"),
                        format!("two apps share the namespace {namespace:?}"),
                    ));
                }
            }
        }
        if !apps.is_empty() && self.channel.rules.namespace_boundary != ":" {
            return Err(ConfigError::invalid(
                PUSHER_APPS,
                "Pusher apps need channel.namespace_boundary at its default, \":\" (a Pusher \
                 channel name never holds one, so it always ends the namespace)",
            ));
        }
        if !apps.is_empty() && self.pusher.activity_timeout < Duration::from_secs(1) {
            return Err(ConfigError::invalid(
                "pusher.activity_timeout",
                "must be at least 1s",
            ));
        }
        Ok(())
    }

    /// Adds a namespace, every option off, for each app whose namespace the file does not
    /// declare (see the module's comment).
    pub(crate) fn add_pusher_namespaces(&mut self) {
        for app in &self.pusher.apps {
            let name = app.namespace();
            if self.namespace(&name).is_none() {
                self.channel.namespaces.push(Namespace {
                    name,
                    options: Default::default(),
                });
            }
        }
    }
}
