//! The results the backend returns, serialized as Centrifugo's server API does.
//!
//! Field presence follows Centrifugo's JSON exactly where clients depend on it: `presence`,
//! `channels`, `nodes`, `publications` and every counter are always written (the `cent` client
//! rejects a reply without them), while `offset`/`epoch` of a publish and the optional parts of a
//! client or node are left out when empty. Payloads (`data`, `conn_info`, `chan_info`) are the
//! bytes a client published, written into the reply as JSON text unchanged.

use std::collections::BTreeMap;

use base64::Engine as _;
use bytes::Bytes;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;

use super::error::ApiError;

/// `publish`'s result: where the publication landed in the channel's stream.
///
/// Both fields are zero/empty (and left out of the JSON) when the channel keeps no history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PublishResult {
    /// Offset of the publication.
    #[serde(skip_serializing_if = "is_zero")]
    pub offset: u64,
    /// Epoch of the stream.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub epoch: String,
}

/// `broadcast`'s result: one publish outcome per channel, in the request's order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BroadcastResult {
    /// Each written as `{"result": {...}}` or `{"error": {...}}`.
    #[serde(serialize_with = "serialize_responses")]
    pub responses: Vec<Result<PublishResult, ApiError>>,
}

/// A connection as presence and publications describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClientInfo {
    /// Client id.
    pub client: String,
    /// User id.
    pub user: String,
    /// Connection info from the token or connect proxy.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_optional_payload"
    )]
    pub conn_info: Option<Bytes>,
    /// Channel info from the subscription.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_optional_payload"
    )]
    pub chan_info: Option<Bytes>,
}

/// `presence`'s result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PresenceResult {
    /// Subscribed clients keyed by client id.
    pub presence: BTreeMap<String, ClientInfo>,
}

/// `presence_stats`'s result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PresenceStatsResult {
    /// Subscribed connections.
    pub num_clients: u32,
    /// Distinct users among them.
    pub num_users: u32,
}

/// One publication read from history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Publication {
    /// The payload as published.
    #[serde(serialize_with = "serialize_payload")]
    pub data: Bytes,
    /// Its offset in the stream.
    #[serde(skip_serializing_if = "is_zero")]
    pub offset: u64,
    /// Its tags.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The publishing client, when a client (not the server API) published it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<ClientInfo>,
}

/// `history`'s result: publications and the stream's current top position.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HistoryResult {
    /// The publications asked for (none when `limit` was 0).
    pub publications: Vec<Publication>,
    /// The stream's epoch.
    pub epoch: String,
    /// The stream's top offset.
    pub offset: u64,
}

/// A channel in `channels`'s result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelInfo {
    /// Connections subscribed to it.
    pub num_clients: u32,
}

/// `channels`'s result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelsResult {
    /// Active channels by name.
    pub channels: BTreeMap<String, ChannelInfo>,
}

/// Metrics a node reports in `info`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeMetrics {
    /// Aggregation interval in seconds.
    pub interval: f64,
    /// Metric values by name.
    pub items: BTreeMap<String, f64>,
}

/// Process statistics a node reports in `info`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProcessStats {
    /// CPU use in percent.
    pub cpu: f64,
    /// Resident set size in bytes.
    pub rss: i64,
}

/// One node in `info`'s result.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeInfo {
    /// Unique id of this node's run.
    pub uid: String,
    /// Node name.
    pub name: String,
    /// Server version.
    pub version: String,
    /// Connections.
    pub num_clients: u32,
    /// Distinct users.
    pub num_users: u32,
    /// Active channels.
    pub num_channels: u32,
    /// Uptime in seconds.
    pub uptime: u32,
    /// Subscriptions over all connections.
    pub num_subs: u32,
    /// Metrics, when collected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<NodeMetrics>,
    /// Process statistics, when collected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessStats>,
}

/// `info`'s result.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InfoResult {
    /// Every node of the cluster (one for a single hub).
    pub nodes: Vec<NodeInfo>,
}

/// An empty result (`{}`) for methods that only succeed or fail.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Empty {}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// Writes a payload as the JSON text it is; a payload that is not JSON (a binary publication)
/// cannot be embedded, so it is written as a base64 string instead of producing broken JSON.
pub(crate) fn serialize_payload<S: Serializer>(
    data: &Bytes,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match serde_json::from_slice::<&RawValue>(data) {
        Ok(raw) => raw.serialize(serializer),
        Err(_) => serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(data)),
    }
}

fn serialize_optional_payload<S: Serializer>(
    data: &Option<Bytes>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match data {
        Some(data) => serialize_payload(data, serializer),
        None => serializer.serialize_none(),
    }
}

fn serialize_responses<S: Serializer>(
    responses: &[Result<PublishResult, ApiError>],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(responses.iter().map(Envelope))
}

/// `{"result": ...}` or `{"error": ...}`, the shape of every single-method reply.
pub(crate) struct Envelope<'a, T>(pub(crate) &'a Result<T, ApiError>);

impl<T: Serialize> Serialize for Envelope<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self.0 {
            Ok(result) => map.serialize_entry("result", result)?,
            Err(error) => map.serialize_entry("error", error)?,
        }
        map.end()
    }
}
