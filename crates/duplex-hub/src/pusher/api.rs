//! The Pusher HTTP API's requests and responses, and the checks each request must pass before
//! the hub acts on it, with the status Pusher answers when one fails.
//!
//! The routes (all under `/apps/{app_id}`, all signed, see [`super::signature`]):
//! - `POST /events`: [`TriggerRequest`] → [`Trigger`], answered with [`TriggerResponse`];
//! - `POST /batch_events`: [`BatchRequest`] → [`Trigger`]s, answered with [`BatchResponse`];
//! - `GET /channels`: [`ChannelsQuery`] → [`ChannelsFilter`], answered with
//!   [`ChannelsResponse`];
//! - `GET /channels/{name}`: [`ChannelQuery`], answered with [`ChannelResponse`];
//! - `GET /channels/{name}/users`: [`check_users_channel`], answered with [`UsersResponse`];
//! - `POST /users/{user_id}/terminate_connections`: [`check_user_id`], answered with `{}`.
//!
//! The request types mirror the JSON as sent, every field optional, so that a missing field
//! gets a message naming it rather than a deserializer's. Validation turns them into types the
//! hub can trust ([`Trigger`], [`ChannelsFilter`]), the way `api/requests.rs` does for the
//! Centrifugo API. Limits are Pusher's by default and configurable in [`ApiLimits`]; a
//! failure is a [`PusherApiError`]: 400 for a bad request, 413 for data over the limit, and
//! 401, 403 and 404 for the router's own refusals (signature, disabled app, unknown app).

use std::collections::BTreeMap;

use http::StatusCode;
use serde::{Deserialize, Serialize};

use super::channel::{ChannelKind, SERVER_TO_USER_PREFIX};
use super::signature::SocketId;

/// The HTTP API's limits, Pusher's by default.
///
/// ```
/// use duplex_hub::pusher::api::ApiLimits;
///
/// let limits = ApiLimits { max_data_bytes: 100 * 1024, ..ApiLimits::default() };
/// assert_eq!(limits.max_channels_per_event, 100);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiLimits {
    /// Longest event name, in characters. Default 200.
    pub max_event_name_len: usize,
    /// Largest event `data`, in bytes. Default 10 KiB; more is answered with 413.
    pub max_data_bytes: usize,
    /// Most channels one event goes to. Default 100.
    pub max_channels_per_event: usize,
    /// Most events in one `batch_events` call. Default 10.
    pub max_batch_events: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            max_event_name_len: 200,
            max_data_bytes: 10 * 1024,
            max_channels_per_event: 100,
            max_batch_events: 10,
        }
    }
}

/// A refused HTTP API request: the status and a short text for the body (Pusher answers with
/// plain text).
///
/// ```
/// use duplex_hub::pusher::api::PusherApiError;
///
/// let error = PusherApiError::payload_too_large("event data is too large");
/// assert_eq!(error.status.as_u16(), 413);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {}", .status.as_u16(), .message)]
pub struct PusherApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What is wrong, for the body.
    pub message: String,
}

impl PusherApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400: the request is malformed or breaks a rule; details in the message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: the signature check failed.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403: the app is disabled or over its message quota.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// 404: no such app (or route).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 413: the event data is over [`ApiLimits::max_data_bytes`].
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, message)
    }

    /// 500: the hub could not do what a valid request asked (its engine failed).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    fn in_batch(self, index: usize) -> Self {
        Self {
            message: format!("batch[{index}]: {}", self.message),
            ..self
        }
    }
}

impl From<super::signature::ApiAuthError> for PusherApiError {
    fn from(error: super::signature::ApiAuthError) -> Self {
        Self::new(error.status(), error.to_string())
    }
}

/// The attributes a request may ask for with `info=a,b`.
///
/// ```
/// use duplex_hub::pusher::api::Info;
///
/// let info = Info::parse("user_count,subscription_count").unwrap();
/// assert!(info.user_count && info.subscription_count);
/// assert!(Info::parse("occupied").is_err());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Info {
    /// `user_count`: distinct users (presence channels only).
    pub user_count: bool,
    /// `subscription_count`: subscribed connections.
    pub subscription_count: bool,
}

impl Info {
    /// Reads a comma-separated list; empty items are skipped, unknown ones refused (400).
    pub fn parse(list: &str) -> Result<Info, PusherApiError> {
        let mut info = Info::default();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            match item {
                "user_count" => info.user_count = true,
                "subscription_count" => info.subscription_count = true,
                other => {
                    return Err(PusherApiError::bad_request(format!(
                    "unknown info attribute {other:?}: expected user_count or subscription_count"
                )))
                }
            }
        }
        Ok(info)
    }

    fn parse_optional(list: Option<&str>) -> Result<Info, PusherApiError> {
        list.map_or(Ok(Info::default()), Info::parse)
    }

    /// Whether any attribute was asked for.
    pub fn any(self) -> bool {
        self.user_count || self.subscription_count
    }
}

/// What an event says besides its channels, the same in `POST /events` and in each event of
/// `POST /batch_events`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFields {
    /// The event name (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The payload, a string (required; SDKs JSON-encode objects into it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// The connection not to deliver to (the sender's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_id: Option<String>,
    /// Attributes to return per channel, comma-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
}

/// `POST /apps/{app_id}/events` as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerRequest {
    /// Name, data, socket id and info.
    #[serde(flatten)]
    pub event: EventFields,
    /// The channels, 1 to 100; or else `channel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    /// A single channel, instead of `channels`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// `POST /apps/{app_id}/batch_events` as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRequest {
    /// The events (required), at most [`ApiLimits::max_batch_events`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Vec<BatchEvent>>,
}

/// One event of a batch as sent: as [`TriggerRequest`] with exactly one `channel`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchEvent {
    /// Name, data, socket id and info.
    #[serde(flatten)]
    pub event: EventFields,
    /// The channel (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// A validated event to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// The event name.
    pub name: String,
    /// The payload, delivered as `data` unchanged.
    pub data: String,
    /// The channels, each valid, without repeats, in the order first given.
    pub channels: Vec<String>,
    /// The connection to leave out.
    pub socket_id: Option<SocketId>,
    /// The attributes to answer with.
    pub info: Info,
}

impl TriggerRequest {
    /// Parses and validates a request body.
    ///
    /// ```
    /// use duplex_hub::pusher::api::{ApiLimits, TriggerRequest};
    ///
    /// let body = br#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#;
    /// let trigger = TriggerRequest::from_body(body, &ApiLimits::default()).unwrap();
    /// assert_eq!(trigger.channels, ["project-3"]);
    /// ```
    pub fn from_body(body: &[u8], limits: &ApiLimits) -> Result<Trigger, PusherApiError> {
        decode::<TriggerRequest>(body)?.validate(limits)
    }

    /// Checks every rule and returns the event to publish. `info=user_count` is no error on
    /// channels other than presence: Pusher answers it for the presence channels among them
    /// and leaves it out for the rest.
    pub fn validate(self, limits: &ApiLimits) -> Result<Trigger, PusherApiError> {
        let channels = match (self.channels, self.channel) {
            (Some(_), Some(_)) => {
                return Err(PusherApiError::bad_request(
                    "give either channels or channel, not both",
                ))
            }
            (Some(channels), None) => channels,
            (None, Some(channel)) => vec![channel],
            (None, None) => return Err(PusherApiError::bad_request("missing channels")),
        };
        event(self.event, channels, limits)
    }
}

impl BatchRequest {
    /// Parses and validates a request body.
    pub fn from_body(body: &[u8], limits: &ApiLimits) -> Result<Vec<Trigger>, PusherApiError> {
        decode::<BatchRequest>(body)?.validate(limits)
    }

    /// Checks the batch and each event; an event's error names its index.
    pub fn validate(self, limits: &ApiLimits) -> Result<Vec<Trigger>, PusherApiError> {
        let batch = self
            .batch
            .ok_or_else(|| PusherApiError::bad_request("missing batch"))?;
        if batch.len() > limits.max_batch_events {
            return Err(PusherApiError::bad_request(format!(
                "batch has {} events, at most {} are allowed",
                batch.len(),
                limits.max_batch_events
            )));
        }
        batch
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                let channel = item
                    .channel
                    .ok_or_else(|| PusherApiError::bad_request("missing channel"))
                    .map_err(|e| e.in_batch(index))?;
                event(item.event, vec![channel], limits).map_err(|e| e.in_batch(index))
            })
            .collect()
    }
}

fn event(
    fields: EventFields,
    channels: Vec<String>,
    limits: &ApiLimits,
) -> Result<Trigger, PusherApiError> {
    let EventFields {
        name,
        data,
        socket_id,
        info,
    } = fields;
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| PusherApiError::bad_request("missing event name"))?;
    let len = name.chars().count();
    if len > limits.max_event_name_len {
        return Err(PusherApiError::bad_request(format!(
            "event name is {len} characters long, at most {} are allowed",
            limits.max_event_name_len
        )));
    }
    // Clients act on these names themselves (pusher-js swallows `pusher_internal:` events and
    // takes `pusher:` ones for the protocol's own), so the backend may not send them.
    if name.starts_with("pusher:") || name.starts_with("pusher_internal:") {
        return Err(PusherApiError::bad_request(format!(
            "event name {name:?} is reserved: names starting with pusher: or pusher_internal: are the protocol's"
        )));
    }
    let data = data.ok_or_else(|| PusherApiError::bad_request("missing data"))?;
    if data.len() > limits.max_data_bytes {
        return Err(PusherApiError::payload_too_large(format!(
            "event data is {} bytes, at most {} are allowed",
            data.len(),
            limits.max_data_bytes
        )));
    }
    if channels.is_empty() {
        return Err(PusherApiError::bad_request("missing channels"));
    }
    if channels.len() > limits.max_channels_per_event {
        return Err(PusherApiError::bad_request(format!(
            "event is for {} channels, at most {} are allowed",
            channels.len(),
            limits.max_channels_per_event
        )));
    }
    let mut unique: Vec<String> = Vec::with_capacity(channels.len());
    for channel in channels {
        check_channel(&channel)?;
        if !unique.contains(&channel) {
            unique.push(channel);
        }
    }
    let socket_id = socket_id
        .map(|id| {
            SocketId::parse(&id)
                .map_err(|_| PusherApiError::bad_request(format!("invalid socket_id {id:?}")))
        })
        .transpose()?;
    Ok(Trigger {
        name,
        data,
        channels: unique,
        socket_id,
        info: Info::parse_optional(info.as_deref())?,
    })
}

fn check_channel(channel: &str) -> Result<ChannelKind, PusherApiError> {
    ChannelKind::from_name(channel)
        .map_err(|e| PusherApiError::bad_request(format!("invalid channel {channel:?}: {e}")))
}

/// A body as `T`, which must come from a JSON object: serde would also fill a struct from an
/// array, and `[]` is no request.
fn decode<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, PusherApiError> {
    let invalid =
        |e: serde_json::Error| PusherApiError::bad_request(format!("invalid request body: {e}"));
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(invalid)?;
    serde_json::from_value(serde_json::Value::Object(object)).map_err(invalid)
}

/// `GET /apps/{app_id}/channels`'s query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelsQuery {
    /// Only channels whose names start with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_by_prefix: Option<String>,
    /// Attributes to return per channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
}

/// A validated `GET /channels`: which occupied channels, and what to say about each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelsFilter {
    /// Only channels whose names start with this (`None`: all).
    pub prefix: Option<String>,
    /// The attributes to answer with.
    pub info: Info,
}

impl ChannelsQuery {
    /// Checks the query. `user_count` exists only for presence channels, so asking for it
    /// needs `filter_by_prefix` to start with `presence-` (400 otherwise, as Pusher answers).
    pub fn validate(self) -> Result<ChannelsFilter, PusherApiError> {
        let info = Info::parse_optional(self.info.as_deref())?;
        let presence_only = self
            .filter_by_prefix
            .as_deref()
            .is_some_and(|prefix| prefix.starts_with("presence-"));
        if info.user_count && !presence_only {
            return Err(PusherApiError::bad_request(
                "user_count is only available for presence channels: add filter_by_prefix=presence-",
            ));
        }
        Ok(ChannelsFilter {
            prefix: self.filter_by_prefix.filter(|p| !p.is_empty()),
            info,
        })
    }
}

/// `GET /apps/{app_id}/channels/{channel_name}`'s query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelQuery {
    /// Attributes to return.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
}

impl ChannelQuery {
    /// Checks the channel name and the attributes asked for it: `user_count` only for
    /// presence channels (400 otherwise).
    pub fn validate(self, channel: &str) -> Result<Info, PusherApiError> {
        let kind = check_channel(channel)?;
        let info = Info::parse_optional(self.info.as_deref())?;
        if info.user_count && !kind.is_presence() {
            return Err(PusherApiError::bad_request(format!(
                "user_count is only available for presence channels, not {channel:?}"
            )));
        }
        Ok(info)
    }
}

/// Checks `GET /apps/{app_id}/channels/{channel_name}/users`: only presence channels have
/// users (400 otherwise).
pub fn check_users_channel(channel: &str) -> Result<(), PusherApiError> {
    if check_channel(channel)?.is_presence() {
        Ok(())
    } else {
        Err(PusherApiError::bad_request(format!(
            "users are only available for presence channels, not {channel:?}"
        )))
    }
}

/// Checks the user id of `POST /apps/{app_id}/users/{user_id}/terminate_connections`: not
/// empty, and short enough to name the user's own channel.
pub fn check_user_id(user_id: &str) -> Result<(), PusherApiError> {
    if user_id.is_empty() {
        return Err(PusherApiError::bad_request("missing user id"));
    }
    ChannelKind::from_name(&format!("{SERVER_TO_USER_PREFIX}{user_id}"))
        .map(|_| ())
        .map_err(|e| PusherApiError::bad_request(format!("invalid user id {user_id:?}: {e}")))
}

/// What the API says about one channel, only the attributes asked for (and applicable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelAttributes {
    /// Distinct users (presence channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_count: Option<u64>,
    /// Subscribed connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_count: Option<u64>,
}

/// The answer to `POST /events`: `{}`, or with `info`, the attributes of each channel.
///
/// ```
/// use duplex_hub::pusher::api::TriggerResponse;
///
/// assert_eq!(serde_json::to_string(&TriggerResponse::default()).unwrap(), "{}");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerResponse {
    /// Channel name to attributes, when `info` was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<BTreeMap<String, ChannelAttributes>>,
}

/// The answer to `POST /batch_events`: `{}`, or when any event had `info`, one attributes
/// object per event, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    /// The attributes of each event's channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Vec<ChannelAttributes>>,
}

/// The answer to `GET /channels`: occupied channels and their attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelsResponse {
    /// Channel name to attributes (empty objects when none were asked for).
    pub channels: BTreeMap<String, ChannelAttributes>,
}

/// The answer to `GET /channels/{name}`: whether it is occupied, and the attributes asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelResponse {
    /// Whether anyone is subscribed; always sent.
    pub occupied: bool,
    /// The attributes asked for, beside `occupied` in the same object.
    #[serde(flatten)]
    pub attributes: ChannelAttributes,
}

/// The answer to `GET /channels/{name}/users`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersResponse {
    /// The users subscribed.
    pub users: Vec<UserRef>,
}

/// A user in [`UsersResponse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    /// The user id.
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(body: &str) -> Result<Trigger, PusherApiError> {
        TriggerRequest::from_body(body.as_bytes(), &ApiLimits::default())
    }

    fn batch(body: &str) -> Result<Vec<Trigger>, PusherApiError> {
        BatchRequest::from_body(body.as_bytes(), &ApiLimits::default())
    }

    fn bad(message: &str) -> Result<Trigger, PusherApiError> {
        Err(PusherApiError::bad_request(message))
    }

    #[test]
    fn the_documented_trigger() {
        let got =
            trigger(r#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#);
        assert_eq!(
            got,
            Ok(Trigger {
                name: "foo".to_owned(),
                data: r#"{"some":"data"}"#.to_owned(),
                channels: vec!["project-3".to_owned()],
                socket_id: None,
                info: Info::default(),
            })
        );
    }

    #[test]
    fn a_single_channel_socket_id_and_info() {
        let got = trigger(
            r#"{"name":"e","channel":"presence-a","data":"x","socket_id":"123.456","info":"user_count,subscription_count"}"#,
        )
        .unwrap();
        assert_eq!(got.channels, ["presence-a"]);
        assert_eq!(
            got.socket_id.as_ref().map(SocketId::as_str),
            Some("123.456")
        );
        assert_eq!(
            got.info,
            Info {
                user_count: true,
                subscription_count: true
            }
        );
        // user_count on other channels is not an error for events: it is left out of the answer.
        assert!(
            trigger(r#"{"name":"e","channel":"public","data":"x","info":"user_count"}"#).is_ok()
        );
    }

    #[test]
    fn repeated_channels_are_sent_to_once() {
        let got = trigger(r#"{"name":"e","channels":["b","a","b"],"data":""}"#).unwrap();
        assert_eq!(got.channels, ["b", "a"]);
    }

    #[test]
    fn server_to_user_channels_may_be_sent_to() {
        // pusher-http-node's sendToUser posts to `#server-to-user-{id}` through /events.
        let got =
            trigger(r##"{"name":"e","channels":["#server-to-user-42"],"data":"{}"}"##).unwrap();
        assert_eq!(got.channels, ["#server-to-user-42"]);
    }

    #[test]
    fn required_fields_are_named() {
        assert_eq!(
            trigger(r#"{"channel":"a","data":"x"}"#),
            bad("missing event name")
        );
        assert_eq!(
            trigger(r#"{"name":"","channel":"a","data":"x"}"#),
            bad("missing event name")
        );
        assert_eq!(
            trigger(r#"{"name":"e","channel":"a"}"#),
            bad("missing data")
        );
        assert_eq!(
            trigger(r#"{"name":"e","data":"x"}"#),
            bad("missing channels")
        );
        assert_eq!(
            trigger(r#"{"name":"e","channels":[],"data":"x"}"#),
            bad("missing channels")
        );
        assert_eq!(
            trigger(r#"{"name":"e","channels":["a"],"channel":"b","data":"x"}"#),
            bad("give either channels or channel, not both")
        );
    }

    #[test]
    fn bodies_that_are_not_the_shape_are_bad_requests() {
        for body in [
            "",
            "nope",
            "[]",
            r#"["e", "x", ["a"]]"#,
            r#"{"name":"e","channel":"a","data":{"some":"data"}}"#,
            r#"{"name":1}"#,
        ] {
            let error = trigger(body).unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST, "{body}");
            assert!(
                error.message.starts_with("invalid request body: "),
                "{body}: {error}"
            );
        }
    }

    #[test]
    fn event_names_are_limited_and_some_are_reserved() {
        let named = |name: &str| format!(r#"{{"name":"{name}","channel":"a","data":"x"}}"#);
        assert!(trigger(&named(&"é".repeat(200))).is_ok());
        assert_eq!(
            trigger(&named(&"é".repeat(201))),
            bad("event name is 201 characters long, at most 200 are allowed")
        );
        assert_eq!(
            trigger(&named("pusher:subscription_succeeded")),
            bad(
                r#"event name "pusher:subscription_succeeded" is reserved: names starting with pusher: or pusher_internal: are the protocol's"#
            )
        );
        assert!(trigger(&named("pusher_internal:member_added")).is_err());
        assert!(trigger(&named("client-typing")).is_ok());
    }

    #[test]
    fn data_over_the_limit_is_413() {
        let with = |len: usize| {
            format!(
                r#"{{"name":"e","channel":"a","data":"{}"}}"#,
                "x".repeat(len)
            )
        };
        assert!(trigger(&with(10 * 1024)).is_ok());
        assert_eq!(
            trigger(&with(10 * 1024 + 1)),
            Err(PusherApiError::payload_too_large(
                "event data is 10241 bytes, at most 10240 are allowed"
            ))
        );
        let limits = ApiLimits {
            max_data_bytes: 20 * 1024,
            ..ApiLimits::default()
        };
        assert!(TriggerRequest::from_body(with(10 * 1024 + 1).as_bytes(), &limits).is_ok());
    }

    #[test]
    fn at_most_100_channels_each_valid() {
        let channels = |n: usize| {
            let names: Vec<String> = (0..n).map(|i| format!("\"c{i}\"")).collect();
            format!(
                r#"{{"name":"e","channels":[{}],"data":"x"}}"#,
                names.join(",")
            )
        };
        assert!(trigger(&channels(100)).is_ok());
        assert_eq!(
            trigger(&channels(101)),
            bad("event is for 101 channels, at most 100 are allowed")
        );
        assert_eq!(
            trigger(r#"{"name":"e","channels":["ok","not ok"],"data":"x"}"#),
            bad(
                r#"invalid channel "not ok": channel name has the character ' ' at byte 3; allowed are A-Z a-z 0-9 and _-=@,.;"#
            )
        );
    }

    #[test]
    fn socket_id_and_info_are_checked() {
        assert_eq!(
            trigger(r#"{"name":"e","channel":"a","data":"x","socket_id":"123"}"#),
            bad(r#"invalid socket_id "123""#)
        );
        assert_eq!(
            trigger(r#"{"name":"e","channel":"a","data":"x","info":"user_count,members"}"#),
            bad(r#"unknown info attribute "members": expected user_count or subscription_count"#)
        );
    }

    #[test]
    fn batches() {
        let got = batch(
            r#"{"batch":[{"name":"a","channel":"c1","data":"1"},{"name":"b","channel":"presence-c2","data":"2","info":"user_count"}]}"#,
        )
        .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].name.as_str(), got[0].channels[0].as_str()),
            ("a", "c1")
        );
        assert!(got[1].info.user_count);
        assert_eq!(batch(r#"{"batch":[]}"#), Ok(vec![]));
    }

    #[test]
    fn batch_errors_name_the_event() {
        let err = |message: &str| Err(PusherApiError::bad_request(message));
        assert_eq!(batch(r#"{}"#), err("missing batch"));
        let events: Vec<String> = (0..11)
            .map(|i| format!(r#"{{"name":"e","channel":"c{i}","data":"x"}}"#))
            .collect();
        assert_eq!(
            batch(&format!(r#"{{"batch":[{}]}}"#, events.join(","))),
            err("batch has 11 events, at most 10 are allowed")
        );
        assert_eq!(
            batch(r#"{"batch":[{"name":"e","channel":"c","data":"x"},{"name":"e","data":"x"}]}"#),
            err("batch[1]: missing channel")
        );
        assert_eq!(
            batch(r#"{"batch":[{"name":"e","channel":"c"}]}"#),
            err("batch[0]: missing data")
        );
        let big = format!(
            r#"{{"batch":[{{"name":"e","channel":"c","data":"{}"}}]}}"#,
            "x".repeat(10241)
        );
        assert_eq!(
            batch(&big),
            Err(PusherApiError::payload_too_large(
                "batch[0]: event data is 10241 bytes, at most 10240 are allowed"
            ))
        );
    }

    #[test]
    fn channels_query() {
        let query = |prefix: Option<&str>, info: Option<&str>| {
            ChannelsQuery {
                filter_by_prefix: prefix.map(str::to_owned),
                info: info.map(str::to_owned),
            }
            .validate()
        };
        assert_eq!(
            query(Some("presence-"), Some("user_count")),
            Ok(ChannelsFilter {
                prefix: Some("presence-".to_owned()),
                info: Info {
                    user_count: true,
                    subscription_count: false
                }
            })
        );
        assert_eq!(
            query(None, None),
            Ok(ChannelsFilter {
                prefix: None,
                info: Info::default()
            })
        );
        assert!(query(Some("private-"), Some("subscription_count")).is_ok());
        let refusal = Err(PusherApiError::bad_request(
            "user_count is only available for presence channels: add filter_by_prefix=presence-",
        ));
        assert_eq!(query(None, Some("user_count")), refusal);
        assert_eq!(query(Some("private-"), Some("user_count")), refusal);
        assert_eq!(
            query(None, Some("bogus")).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn channel_query() {
        let query = |info: Option<&str>| ChannelQuery {
            info: info.map(str::to_owned),
        };
        assert_eq!(
            query(Some("user_count,subscription_count")).validate("presence-room"),
            Ok(Info {
                user_count: true,
                subscription_count: true
            })
        );
        assert_eq!(
            query(Some("user_count")).validate("private-room"),
            Err(PusherApiError::bad_request(
                r#"user_count is only available for presence channels, not "private-room""#
            ))
        );
        assert!(query(Some("subscription_count")).validate("public").is_ok());
        assert_eq!(
            query(None).validate("").unwrap_err(),
            PusherApiError::bad_request(r#"invalid channel "": channel name is empty"#)
        );
    }

    #[test]
    fn users_and_terminate_connections() {
        assert_eq!(check_users_channel("presence-room"), Ok(()));
        assert_eq!(check_users_channel("presence-cache-room"), Ok(()));
        assert_eq!(
            check_users_channel("private-room"),
            Err(PusherApiError::bad_request(
                r#"users are only available for presence channels, not "private-room""#
            ))
        );
        assert_eq!(check_user_id("42"), Ok(()));
        assert_eq!(
            check_user_id(""),
            Err(PusherApiError::bad_request("missing user id"))
        );
        assert_eq!(check_user_id(&"u".repeat(148)), Ok(()));
        assert_eq!(
            check_user_id(&"u".repeat(149)).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn responses_have_pushers_shapes() {
        assert_eq!(json(&TriggerResponse::default()), "{}");
        let mut channels = BTreeMap::new();
        channels.insert(
            "presence-foobar".to_owned(),
            ChannelAttributes {
                user_count: Some(42),
                subscription_count: Some(51),
            },
        );
        channels.insert(
            "another".to_owned(),
            ChannelAttributes {
                user_count: None,
                subscription_count: Some(13),
            },
        );
        assert_eq!(
            json(&TriggerResponse {
                channels: Some(channels.clone())
            }),
            r#"{"channels":{"another":{"subscription_count":13},"presence-foobar":{"user_count":42,"subscription_count":51}}}"#
        );
        assert_eq!(json(&BatchResponse::default()), "{}");
        assert_eq!(
            json(&BatchResponse {
                batch: Some(vec![ChannelAttributes::default(), channels["another"]])
            }),
            r#"{"batch":[{},{"subscription_count":13}]}"#
        );
        assert_eq!(
            json(&ChannelsResponse { channels }),
            r#"{"channels":{"another":{"subscription_count":13},"presence-foobar":{"user_count":42,"subscription_count":51}}}"#
        );
        assert_eq!(
            json(&ChannelResponse {
                occupied: true,
                attributes: ChannelAttributes {
                    user_count: Some(42),
                    subscription_count: None
                }
            }),
            r#"{"occupied":true,"user_count":42}"#
        );
        assert_eq!(json(&ChannelResponse::default()), r#"{"occupied":false}"#);
        assert_eq!(
            json(&UsersResponse {
                users: vec![
                    UserRef { id: "1".to_owned() },
                    UserRef { id: "2".to_owned() }
                ]
            }),
            r#"{"users":[{"id":"1"},{"id":"2"}]}"#
        );
    }

    #[test]
    fn signature_errors_keep_their_status() {
        use super::super::signature::ApiAuthError;
        let error = PusherApiError::from(ApiAuthError::MissingParameter("auth_key"));
        assert_eq!(error.status, StatusCode::UNAUTHORIZED);
        assert_eq!(error.message, "missing parameter auth_key");
        assert_eq!(error.to_string(), "401 missing parameter auth_key");
        assert_eq!(
            PusherApiError::from(ApiAuthError::MalformedQuery).status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            PusherApiError::forbidden("app disabled").status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            PusherApiError::not_found("no app").status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            PusherApiError::unauthorized("x").status,
            StatusCode::UNAUTHORIZED
        );
    }

    fn json<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }
}
