//! Per-channel options: what a namespace (or the channels without one) allows and keeps.
//!
//! The field names are Centrifugo's option names, so the one table of option keys at the bottom
//! is generated from the fields themselves: a key cannot be spelled differently from the field
//! it sets. Every default is off, so an unconfigured channel allows nothing to clients; the hub
//! adds two options of its own, `user_presence` and `slow_consumer`, that Centrifugo lacks.

use std::time::Duration;

use serde_json::Value;

use super::value::{describe, Raw, Setting};

/// Options for the channels of one namespace, or for channels without a namespace
/// (`channel.without_namespace`). Key names and defaults are Centrifugo's; see
/// docs/hub-config.md for each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelOptions {
    /// Keep presence information: who is subscribed (`presence`).
    pub presence: bool,
    /// Send join and leave pushes to subscribers who ask for them (`join_leave`).
    pub join_leave: bool,
    /// Send join and leave pushes to every subscriber (`force_push_join_leave`).
    pub force_push_join_leave: bool,
    /// How many publications the channel history keeps; 0 keeps none (`history_size`).
    pub history_size: u64,
    /// How long history is kept after the last publication (`history_ttl`); required with
    /// `history_size`.
    pub history_ttl: Duration,
    /// How long the stream position (offset and epoch) outlives its publications
    /// (`history_meta_ttl`); zero takes `channel.history_meta_ttl`.
    pub history_meta_ttl: Duration,
    /// Give every subscriber stream positions and detect gaps (`force_positioning`).
    pub force_positioning: bool,
    /// Give stream positions to subscribers who ask (`allow_positioning`).
    pub allow_positioning: bool,
    /// Recover missed publications for every resubscribing client (`force_recovery`).
    pub force_recovery: bool,
    /// Recover missed publications for clients who ask (`allow_recovery`).
    pub allow_recovery: bool,
    /// Any authenticated client may subscribe (`allow_subscribe_for_client`).
    pub allow_subscribe_for_client: bool,
    /// Anonymous clients may subscribe (`allow_subscribe_for_anonymous`).
    pub allow_subscribe_for_anonymous: bool,
    /// Any authenticated client may publish (`allow_publish_for_client`).
    pub allow_publish_for_client: bool,
    /// Subscribers of the channel may publish (`allow_publish_for_subscriber`).
    pub allow_publish_for_subscriber: bool,
    /// Anonymous clients may publish (`allow_publish_for_anonymous`).
    pub allow_publish_for_anonymous: bool,
    /// Any authenticated client may ask presence (`allow_presence_for_client`).
    pub allow_presence_for_client: bool,
    /// Subscribers may ask presence (`allow_presence_for_subscriber`).
    pub allow_presence_for_subscriber: bool,
    /// Anonymous clients may ask presence (`allow_presence_for_anonymous`).
    pub allow_presence_for_anonymous: bool,
    /// Any authenticated client may ask history (`allow_history_for_client`).
    pub allow_history_for_client: bool,
    /// Subscribers may ask history (`allow_history_for_subscriber`).
    pub allow_history_for_subscriber: bool,
    /// Anonymous clients may ask history (`allow_history_for_anonymous`).
    pub allow_history_for_anonymous: bool,
    /// Channels like `dialog#42,43` let the users they name subscribe
    /// (`allow_user_limited_channels`).
    pub allow_user_limited_channels: bool,
    /// Publish as deltas by default, for subscribers that negotiated them (`delta_publish`).
    pub delta_publish: bool,
    /// Delta encodings subscribers may negotiate; empty allows none (`allowed_delta_types`).
    pub allowed_delta_types: Vec<DeltaType>,
    /// Hub extension: presence per user rather than per connection; a user with three tabs
    /// joins once and leaves when the last tab goes (`user_presence`). Requires `presence`.
    pub user_presence: bool,
    /// Hub extension: what happens when a subscriber's outbound budget
    /// (`client.queue_max_size`) is full (`slow_consumer`).
    pub slow_consumer: SlowConsumerPolicy,
    /// Subscriptions without a token are decided by `channel.proxy.subscribe`
    /// (`subscribe_proxy_enabled`); user-limited channels the user is named in stay open.
    pub subscribe_proxy_enabled: bool,
    /// Publications are decided, and may be changed, by `channel.proxy.publish` instead of the
    /// `allow_publish_*` options (`publish_proxy_enabled`).
    pub publish_proxy_enabled: bool,
    /// Expiring subscriptions are extended by `channel.proxy.sub_refresh` instead of the client
    /// sending a new token (`sub_refresh_proxy_enabled`).
    pub sub_refresh_proxy_enabled: bool,
}

/// A namespace: channels named `name:...` and their options. In a file the options sit beside
/// `name` in one object, as in Centrifugo's `channel.namespaces`.
#[derive(Debug, Clone, PartialEq)]
pub struct Namespace {
    /// The namespace name, matching `^[-a-zA-Z0-9_.]{2,}$` and unique.
    pub name: String,
    /// The options of its channels.
    pub options: ChannelOptions,
}

/// What the hub does with a subscriber whose outbound byte budget is full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SlowConsumerPolicy {
    /// Close the connection with Centrifugo's "slow" disconnect; the client reconnects and
    /// recovers from history (`"disconnect"`, the default).
    #[default]
    Disconnect,
    /// Drop the oldest queued publications of the channel to make room (`"drop_oldest"`).
    DropOldest,
    /// Keep only the latest queued publication per channel (`"conflate"`).
    Conflate,
}

/// A delta encoding for publications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaType {
    /// Fossil deltas, the one type Centrifugo's SDKs decode (`"fossil"`).
    Fossil,
}

impl Setting for SlowConsumerPolicy {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(text) => Self::from_text(text),
            other => Err(format!(
                "expected \"disconnect\", \"drop_oldest\" or \"conflate\", got {}",
                describe(other)
            )),
        }
    }

    fn from_text(text: &str) -> Result<Self, String> {
        match text.trim() {
            "disconnect" => Ok(Self::Disconnect),
            "drop_oldest" => Ok(Self::DropOldest),
            "conflate" => Ok(Self::Conflate),
            other => Err(format!(
                "expected \"disconnect\", \"drop_oldest\" or \"conflate\", got {other:?}"
            )),
        }
    }
}

impl Setting for Vec<DeltaType> {
    fn from_json(value: &Value) -> Result<Self, String> {
        Vec::<String>::from_json(value).and_then(|names| delta_types(&names))
    }

    fn from_text(text: &str) -> Result<Self, String> {
        Vec::<String>::from_text(text).and_then(|names| delta_types(&names))
    }
}

fn delta_types(names: &[String]) -> Result<Vec<DeltaType>, String> {
    names
        .iter()
        .map(|name| match name.as_str() {
            "fossil" => Ok(DeltaType::Fossil),
            other => Err(format!("unknown delta type {other:?} (only \"fossil\")")),
        })
        .collect()
}

/// One channel option key and how to set it.
pub(crate) struct OptionKey {
    /// The key, as written inside `channel.without_namespace` or a namespace object.
    pub(crate) name: &'static str,
    /// Reads a value into the option; the error is a phrase without the key.
    pub(crate) apply: fn(&mut ChannelOptions, Raw<'_>) -> Result<(), String>,
}

macro_rules! option_keys {
    ($($field:ident),* $(,)?) => {
        &[$(OptionKey {
            name: stringify!($field),
            apply: |options, raw| {
                options.$field = Setting::from_raw(raw)?;
                Ok(())
            },
        }),*]
    };
}

/// Every channel option the hub implements; any other key in a namespace is reported as
/// ignored.
pub(crate) const OPTION_KEYS: &[OptionKey] = option_keys![
    presence,
    join_leave,
    force_push_join_leave,
    history_size,
    history_ttl,
    history_meta_ttl,
    force_positioning,
    allow_positioning,
    force_recovery,
    allow_recovery,
    allow_subscribe_for_client,
    allow_subscribe_for_anonymous,
    allow_publish_for_client,
    allow_publish_for_subscriber,
    allow_publish_for_anonymous,
    allow_presence_for_client,
    allow_presence_for_subscriber,
    allow_presence_for_anonymous,
    allow_history_for_client,
    allow_history_for_subscriber,
    allow_history_for_anonymous,
    allow_user_limited_channels,
    delta_publish,
    allowed_delta_types,
    user_presence,
    slow_consumer,
    subscribe_proxy_enabled,
    publish_proxy_enabled,
    sub_refresh_proxy_enabled,
];

/// The option key named `name`, if the hub implements it.
pub(crate) fn option_key(name: &str) -> Option<&'static OptionKey> {
    OPTION_KEYS.iter().find(|key| key.name == name)
}
