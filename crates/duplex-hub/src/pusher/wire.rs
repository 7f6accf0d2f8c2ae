//! The Pusher protocol's WebSocket messages (protocol 7): what clients send, parsed into
//! [`ClientMessage`], and what the server sends, encoded from [`ServerMessage`].
//!
//! Every message is one JSON text frame `{"event": .., "channel": .., "data": ..}`. Two
//! encodings of `data` meet here. Clients send it as an object (pusher-js does for
//! `pusher:subscribe`) or as a string holding JSON (other SDKs), so the parser accepts both.
//! The server sends it as a string holding JSON for everything the protocol documents that way
//! ("double encoding": `pusher:connection_established`, `pusher_internal:*`, channel events,
//! pings), and as a plain object where the protocol shows one (`pusher:error`,
//! `pusher:signin_success`, and `pusher:subscription_error`, whose shape is pusher-js's own
//! `{type, error, status}`). pusher-js decodes either, other SDKs expect what the docs say.
//!
//! Signed values are kept byte for byte: `channel_data` and `user_data` as the client sent them
//! (the signature covers that text, not its meaning), and a client event's `data` as its JSON
//! text, or the string itself when it is a string, so what other subscribers receive is what
//! the sender wrote. Sizes are checked before anything is allocated, against [`WireLimits`].
//! Malformed input is a [`ParseError`], never a panic; what to answer is the session's choice.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::codes::PusherCode;

/// The size limits of the WebSocket protocol, with Pusher's numbers as defaults.
///
/// ```
/// use duplex_hub::pusher::wire::WireLimits;
///
/// let limits = WireLimits { max_client_event_bytes: 64 * 1024, ..WireLimits::default() };
/// assert_eq!(limits.max_event_name_len, 200);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireLimits {
    /// Largest frame a client may send, in bytes. Default 32 KiB: a 10 KiB client event with
    /// its envelope, or a sign-in carrying a full watchlist, fits with room to spare.
    pub max_message_bytes: usize,
    /// Longest event name, in characters. Default 200, as for the HTTP API.
    pub max_event_name_len: usize,
    /// Largest client event `data`, in bytes. Default 10 KiB, Pusher's message size.
    pub max_client_event_bytes: usize,
    /// Longest presence or sign-in user id, in characters. Default 128, Pusher's.
    pub max_user_id_len: usize,
    /// Largest `user_info`, in bytes of JSON. Default 1 KiB, Pusher's user object limit.
    pub max_user_info_bytes: usize,
    /// Most user ids kept from a sign-in's `watchlist`. Default 100, Pusher's.
    pub max_watchlist: usize,
}

impl Default for WireLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 32 * 1024,
            max_event_name_len: 200,
            max_client_event_bytes: 10 * 1024,
            max_user_id_len: 128,
            max_user_info_bytes: 1024,
            max_watchlist: 100,
        }
    }
}

/// A message from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage {
    /// `pusher:subscribe`.
    Subscribe(Subscribe),
    /// `pusher:unsubscribe` from `channel`.
    Unsubscribe {
        /// The channel to leave.
        channel: String,
    },
    /// `pusher:ping`: answer with [`ServerMessage::Pong`].
    Ping,
    /// `pusher:pong`, the answer to the server's ping.
    Pong,
    /// `pusher:signin`.
    Signin(Signin),
    /// A `client-` event for the other subscribers of a channel.
    ClientEvent(ClientEvent),
}

/// `pusher:subscribe`'s data. Names are not checked here: the session asks
/// [`ChannelKind::from_name`](super::channel::ChannelKind::from_name), so that it can refuse
/// the one subscription rather than the whole message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// The channel.
    pub channel: String,
    /// `key:signature`; `None` when absent, null or empty (pusher-js sends `""` for public
    /// channels).
    pub auth: Option<String>,
    /// For presence channels, the signed member data, exactly as sent; `None` when absent,
    /// null or empty.
    pub channel_data: Option<String>,
}

/// `pusher:signin`'s data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signin {
    /// `key:signature` over `socket_id::user::user_data`.
    pub auth: String,
    /// The user object as a JSON string, exactly as sent (parse it with [`UserData::parse`]
    /// once the signature is checked).
    pub user_data: String,
}

/// A `client-` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientEvent {
    /// The event name, starting with `client-`.
    pub event: String,
    /// The channel to send it on.
    pub channel: String,
    /// The payload to deliver: the string itself when the client sent a string, otherwise the
    /// JSON text it sent (`null` when it sent none).
    pub data: String,
}

/// Why a client's message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The frame is larger than [`WireLimits::max_message_bytes`].
    #[error("message is {size} bytes, at most {limit} are allowed")]
    TooLarge {
        /// The frame's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The frame is not JSON (or not UTF-8).
    #[error("message is not valid JSON")]
    NotJson,
    /// The frame is JSON but not an object.
    #[error("message is not a JSON object")]
    NotAnObject,
    /// A required field is missing or null (`data.channel` names a field inside `data`).
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// A field that must be a string is something else.
    #[error("field {0} must be a string")]
    NotAString(&'static str),
    /// A `pusher:` event's `data` is neither an object nor a string holding one.
    #[error("data must be a JSON object or a string holding one")]
    DataNotAnObject,
    /// The event is neither one of the protocol's nor a `client-` event.
    #[error("unsupported event {0:?}")]
    UnknownEvent(String),
    /// A client event's name is longer than [`WireLimits::max_event_name_len`].
    #[error("event name is {len} characters long, at most {limit} are allowed")]
    EventNameTooLong {
        /// The name's length in characters.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A client event's data is larger than [`WireLimits::max_client_event_bytes`].
    #[error("client event data is {size} bytes, at most {limit} are allowed")]
    ClientEventTooLarge {
        /// The data's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

type Fields<'a> = HashMap<String, &'a RawValue>;

/// Parses one text frame from a client.
///
/// ```
/// use duplex_hub::pusher::wire::{parse_client_message, ClientMessage, WireLimits};
///
/// let frame = br#"{"event":"pusher:subscribe","data":{"auth":"","channel":"my-channel"}}"#;
/// match parse_client_message(frame, &WireLimits::default()).unwrap() {
///     ClientMessage::Subscribe(sub) => {
///         assert_eq!(sub.channel, "my-channel");
///         assert_eq!(sub.auth, None);
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
pub fn parse_client_message(
    frame: &[u8],
    limits: &WireLimits,
) -> Result<ClientMessage, ParseError> {
    if frame.len() > limits.max_message_bytes {
        return Err(ParseError::TooLarge {
            size: frame.len(),
            limit: limits.max_message_bytes,
        });
    }
    let fields: Fields<'_> = serde_json::from_slice(frame).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ParseError::NotAnObject,
        _ => ParseError::NotJson,
    })?;
    let event = string_field(&fields, "event")?.ok_or(ParseError::MissingField("event"))?;
    match event.as_str() {
        "pusher:subscribe" => {
            let data = data_object(&fields)?;
            Ok(ClientMessage::Subscribe(Subscribe {
                channel: required(&data, "channel", "data.channel")?,
                auth: optional(&data, "auth", "data.auth")?,
                channel_data: optional(&data, "channel_data", "data.channel_data")?,
            }))
        }
        "pusher:unsubscribe" => {
            let data = data_object(&fields)?;
            Ok(ClientMessage::Unsubscribe {
                channel: required(&data, "channel", "data.channel")?,
            })
        }
        // Whatever data a ping or pong carries (`{}`, `"{}"` or none) means nothing.
        "pusher:ping" => Ok(ClientMessage::Ping),
        "pusher:pong" => Ok(ClientMessage::Pong),
        "pusher:signin" => {
            let data = data_object(&fields)?;
            Ok(ClientMessage::Signin(Signin {
                auth: required(&data, "auth", "data.auth")?,
                user_data: required(&data, "user_data", "data.user_data")?,
            }))
        }
        name if name.starts_with("client-") => client_event(event, &fields, limits),
        _ => Err(ParseError::UnknownEvent(event)),
    }
}

fn client_event(
    event: String,
    fields: &Fields<'_>,
    limits: &WireLimits,
) -> Result<ClientMessage, ParseError> {
    let len = event.chars().count();
    if len > limits.max_event_name_len {
        return Err(ParseError::EventNameTooLong {
            len,
            limit: limits.max_event_name_len,
        });
    }
    let channel = string_field(fields, "channel")?.ok_or(ParseError::MissingField("channel"))?;
    let data = match fields.get("data") {
        None => "null".to_owned(),
        Some(raw) if raw.get().starts_with('"') => {
            // A JSON string always decodes to a string.
            serde_json::from_str::<String>(raw.get()).map_err(|_| ParseError::NotJson)?
        }
        Some(raw) => raw.get().to_owned(),
    };
    if data.len() > limits.max_client_event_bytes {
        return Err(ParseError::ClientEventTooLarge {
            size: data.len(),
            limit: limits.max_client_event_bytes,
        });
    }
    Ok(ClientMessage::ClientEvent(ClientEvent {
        event,
        channel,
        data,
    }))
}

/// A top-level string field: `None` when absent or null.
fn string_field(fields: &Fields<'_>, name: &'static str) -> Result<Option<String>, ParseError> {
    match fields.get(name) {
        None => Ok(None),
        Some(raw) if raw.get() == "null" => Ok(None),
        Some(raw) => serde_json::from_str(raw.get())
            .map(Some)
            .map_err(|_| ParseError::NotAString(name)),
    }
}

/// A `pusher:` event's `data` as an object, decoding it first when it came as a string.
fn data_object(fields: &Fields<'_>) -> Result<Map<String, Value>, ParseError> {
    let raw = match fields.get("data") {
        Some(raw) if raw.get() != "null" => raw.get(),
        _ => return Err(ParseError::MissingField("data")),
    };
    let value: Value = serde_json::from_str(raw).map_err(|_| ParseError::NotJson)?;
    let value = match value {
        Value::String(inner) => {
            serde_json::from_str(&inner).map_err(|_| ParseError::DataNotAnObject)?
        }
        other => other,
    };
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ParseError::DataNotAnObject),
    }
}

fn optional(
    data: &Map<String, Value>,
    key: &str,
    name: &'static str,
) -> Result<Option<String>, ParseError> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ParseError::NotAString(name)),
    }
}

fn required(
    data: &Map<String, Value>,
    key: &str,
    name: &'static str,
) -> Result<String, ParseError> {
    match data.get(key) {
        None | Some(Value::Null) => Err(ParseError::MissingField(name)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(ParseError::NotAString(name)),
    }
}

/// A member of a presence channel: the user id and the `user_info` other members see.
#[derive(Debug, Clone)]
pub struct PresenceMember {
    /// The user id; numbers in `channel_data` become their decimal text.
    pub user_id: String,
    /// `user_info` as sent, any JSON; `None` when absent or null.
    pub user_info: Option<Box<RawValue>>,
}

// `RawValue` has no `PartialEq`; members are equal when their JSON text is.
impl PartialEq for PresenceMember {
    fn eq(&self, other: &Self) -> bool {
        self.user_id == other.user_id && same_json(&self.user_info, &other.user_info)
    }
}

impl Eq for PresenceMember {}

fn same_json(a: &Option<Box<RawValue>>, b: &Option<Box<RawValue>>) -> bool {
    a.as_deref().map(RawValue::get) == b.as_deref().map(RawValue::get)
}

/// The user object of a `pusher:signin`.
#[derive(Debug, Clone)]
pub struct UserData {
    /// The user id, a non-empty string.
    pub id: String,
    /// `user_info`, any JSON; `None` when absent or null.
    pub user_info: Option<Box<RawValue>>,
    /// The user ids whose online status this user follows, at most
    /// [`WireLimits::max_watchlist`] of them.
    pub watchlist: Vec<String>,
    /// Whether the watchlist was longer and was cut; the session then sends
    /// [`PusherCode::WATCHLIST_LIMIT`] after `pusher:signin_success`.
    pub watchlist_truncated: bool,
}

impl PartialEq for UserData {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && same_json(&self.user_info, &other.user_info)
            && self.watchlist == other.watchlist
            && self.watchlist_truncated == other.watchlist_truncated
    }
}

impl Eq for UserData {}

/// Why a presence `channel_data` or a sign-in `user_data` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserDataError {
    /// Not a JSON object.
    #[error("user data must be a JSON object")]
    NotAnObject,
    /// No `user_id` (presence) or `id` (sign-in).
    #[error("user data has no user id")]
    MissingUserId,
    /// The user id is not a string (nor, for presence, an integer).
    #[error("the user id must be a string")]
    InvalidUserId,
    /// The user id is empty.
    #[error("the user id is empty")]
    EmptyUserId,
    /// The user id is longer than [`WireLimits::max_user_id_len`].
    #[error("the user id is {len} characters long, at most {limit} are allowed")]
    UserIdTooLong {
        /// Its length in characters.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// `user_info` is larger than [`WireLimits::max_user_info_bytes`].
    #[error("user_info is {size} bytes, at most {limit} are allowed")]
    UserInfoTooLarge {
        /// Its size in bytes of JSON.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// `watchlist` is not an array of strings.
    #[error("watchlist must be an array of user id strings")]
    InvalidWatchlist,
}

impl PresenceMember {
    /// The member a presence channel's `channel_data` describes: `{"user_id": .., "user_info":
    /// ..}`. Pusher's SDKs and docs use both string and integer ids (the worked example has
    /// `10`), so integers are accepted and become their decimal text.
    ///
    /// ```
    /// use duplex_hub::pusher::wire::{PresenceMember, WireLimits};
    ///
    /// let data = r#"{"user_id":10,"user_info":{"name":"Mr. Channels"}}"#;
    /// let member = PresenceMember::from_channel_data(data, &WireLimits::default()).unwrap();
    /// assert_eq!(member.user_id, "10");
    /// assert_eq!(member.user_info.unwrap().get(), r#"{"name":"Mr. Channels"}"#);
    /// ```
    pub fn from_channel_data(
        channel_data: &str,
        limits: &WireLimits,
    ) -> Result<PresenceMember, UserDataError> {
        let fields: Fields<'_> =
            serde_json::from_str(channel_data).map_err(|_| UserDataError::NotAnObject)?;
        let user_id = match fields.get("user_id").map(|raw| raw.get()) {
            None | Some("null") => return Err(UserDataError::MissingUserId),
            Some(raw) if raw.starts_with('"') => {
                serde_json::from_str::<String>(raw).map_err(|_| UserDataError::InvalidUserId)?
            }
            Some(raw) => match (raw.parse::<i64>(), raw.parse::<u64>()) {
                (Ok(n), _) => n.to_string(),
                (_, Ok(n)) => n.to_string(),
                _ => return Err(UserDataError::InvalidUserId),
            },
        };
        check_user_id(&user_id, limits)?;
        Ok(PresenceMember {
            user_id,
            user_info: user_info(&fields, limits)?,
        })
    }
}

impl UserData {
    /// Reads a sign-in's `user_data`: `{"id": "..", "user_info": .., "watchlist": [..]}`. The
    /// id must be a non-empty string, as pusher-js itself insists.
    ///
    /// ```
    /// use duplex_hub::pusher::wire::{UserData, WireLimits};
    ///
    /// let user = UserData::parse(r#"{"id":"12345","watchlist":["7"]}"#, &WireLimits::default())
    ///     .unwrap();
    /// assert_eq!((user.id.as_str(), user.watchlist.len()), ("12345", 1));
    /// ```
    pub fn parse(user_data: &str, limits: &WireLimits) -> Result<UserData, UserDataError> {
        let fields: Fields<'_> =
            serde_json::from_str(user_data).map_err(|_| UserDataError::NotAnObject)?;
        let id = match fields.get("id").map(|raw| raw.get()) {
            None | Some("null") => return Err(UserDataError::MissingUserId),
            Some(raw) => {
                serde_json::from_str::<String>(raw).map_err(|_| UserDataError::InvalidUserId)?
            }
        };
        check_user_id(&id, limits)?;
        let mut watchlist = match fields.get("watchlist").map(|raw| raw.get()) {
            None | Some("null") => Vec::new(),
            Some(raw) => serde_json::from_str::<Vec<String>>(raw)
                .map_err(|_| UserDataError::InvalidWatchlist)?,
        };
        let watchlist_truncated = watchlist.len() > limits.max_watchlist;
        watchlist.truncate(limits.max_watchlist);
        Ok(UserData {
            id,
            user_info: user_info(&fields, limits)?,
            watchlist,
            watchlist_truncated,
        })
    }
}

fn check_user_id(id: &str, limits: &WireLimits) -> Result<(), UserDataError> {
    if id.is_empty() {
        return Err(UserDataError::EmptyUserId);
    }
    let len = id.chars().count();
    if len > limits.max_user_id_len {
        return Err(UserDataError::UserIdTooLong {
            len,
            limit: limits.max_user_id_len,
        });
    }
    Ok(())
}

fn user_info(
    fields: &Fields<'_>,
    limits: &WireLimits,
) -> Result<Option<Box<RawValue>>, UserDataError> {
    match fields.get("user_info") {
        None => Ok(None),
        Some(raw) if raw.get() == "null" => Ok(None),
        Some(raw) if raw.get().len() > limits.max_user_info_bytes => {
            Err(UserDataError::UserInfoTooLarge {
                size: raw.get().len(),
                limit: limits.max_user_info_bytes,
            })
        }
        Some(raw) => Ok(Some((*raw).to_owned())),
    }
}

/// `pusher:subscription_error`'s data, in the shape pusher-js gives its own authorization
/// failures, so an application handles both alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionError {
    /// What went wrong: `"AuthError"` for a missing or bad signature, `"LimitReached"` when a
    /// limit refused the subscription.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short human-readable text.
    pub error: String,
    /// An HTTP-like status: 401 for authorization, 403 or 413 for the rest.
    pub status: u16,
}

impl SubscriptionError {
    /// An authorization failure (401).
    pub fn auth(error: impl Into<String>) -> SubscriptionError {
        SubscriptionError {
            kind: "AuthError".to_owned(),
            error: error.into(),
            status: 401,
        }
    }
}

/// A message from the server, encoded with [`encode`](ServerMessage::encode).
///
/// ```
/// use duplex_hub::pusher::wire::ServerMessage;
///
/// let hello = ServerMessage::ConnectionEstablished { socket_id: "123.456", activity_timeout: 120 };
/// assert_eq!(
///     hello.encode(),
///     r#"{"event":"pusher:connection_established","data":"{\"socket_id\":\"123.456\",\"activity_timeout\":120}"}"#,
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerMessage<'a> {
    /// `pusher:connection_established`: the socket id, and the seconds of silence after which
    /// the client should ping (pusher-js needs it non-zero).
    ConnectionEstablished {
        /// The connection's socket id.
        socket_id: &'a str,
        /// Seconds of inactivity before the client pings.
        activity_timeout: u32,
    },
    /// `pusher_internal:subscription_succeeded` on a channel other than presence.
    SubscriptionSucceeded {
        /// The channel.
        channel: &'a str,
    },
    /// `pusher_internal:subscription_succeeded` on a presence channel, with its members. A
    /// user id listed twice is sent once (the first entry wins), so `count` counts users.
    PresenceSubscriptionSucceeded {
        /// The channel.
        channel: &'a str,
        /// The channel's members, the subscriber included.
        members: &'a [PresenceMember],
    },
    /// `pusher:subscription_error`: the subscription was refused.
    SubscriptionError {
        /// The channel.
        channel: &'a str,
        /// Why.
        error: &'a SubscriptionError,
    },
    /// `pusher_internal:subscription_count`: how many connections are subscribed.
    SubscriptionCount {
        /// The channel.
        channel: &'a str,
        /// The number of subscribed connections.
        count: u64,
    },
    /// `pusher:error`: `code` is optional in the protocol (and sent as `null` when absent).
    Error {
        /// The code, from [`PusherCode`].
        code: Option<u16>,
        /// A short human-readable text.
        message: &'a str,
    },
    /// `pusher:ping`: the client answers `pusher:pong`.
    Ping,
    /// `pusher:pong`, the answer to a client's ping.
    Pong,
    /// `pusher_internal:member_added` on a presence channel.
    MemberAdded {
        /// The channel.
        channel: &'a str,
        /// The member who joined.
        member: &'a PresenceMember,
    },
    /// `pusher_internal:member_removed` on a presence channel.
    MemberRemoved {
        /// The channel.
        channel: &'a str,
        /// The user who left.
        user_id: &'a str,
    },
    /// `pusher:cache_miss`: a cache channel had no event to send to the new subscriber.
    CacheMiss {
        /// The channel.
        channel: &'a str,
    },
    /// `pusher:signin_success`, echoing the signed `user_data`.
    SigninSuccess {
        /// The user data as the client sent it.
        user_data: &'a str,
    },
    /// An event on a channel: published through the HTTP API, or a client event, which on a
    /// presence channel carries the sender's `user_id`.
    Event {
        /// The event name.
        event: &'a str,
        /// The channel.
        channel: &'a str,
        /// The payload, a string (usually JSON text).
        data: &'a str,
        /// For client events on presence channels, the sender's user id.
        user_id: Option<&'a str>,
    },
}

#[derive(Serialize)]
struct Frame<'a, D> {
    event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<D>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
}

#[derive(Serialize)]
struct Presence<'a> {
    presence: PresenceData<'a>,
}

#[derive(Serialize)]
struct PresenceData<'a> {
    ids: Vec<&'a str>,
    hash: Hash<'a>,
    count: usize,
}

/// The presence hash, user id to `user_info`, each info written exactly as the member sent it
/// and `null` when there is none, so that every id is still a key (pusher-js looks members up
/// by key).
struct Hash<'a>(Vec<&'a PresenceMember>);

impl Serialize for Hash<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for member in &self.0 {
            map.serialize_entry(&member.user_id, &member.user_info.as_deref())?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Member<'a> {
    user_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_info: Option<&'a RawValue>,
}

impl<'a> ServerMessage<'a> {
    /// `pusher:error` with a code from the table.
    pub fn error(code: &'a PusherCode) -> ServerMessage<'a> {
        ServerMessage::Error {
            code: Some(code.code),
            message: &code.message,
        }
    }

    /// The event name this message is sent with.
    pub fn event_name(&self) -> &'a str {
        match self {
            ServerMessage::ConnectionEstablished { .. } => "pusher:connection_established",
            ServerMessage::SubscriptionSucceeded { .. }
            | ServerMessage::PresenceSubscriptionSucceeded { .. } => {
                "pusher_internal:subscription_succeeded"
            }
            ServerMessage::SubscriptionError { .. } => "pusher:subscription_error",
            ServerMessage::SubscriptionCount { .. } => "pusher_internal:subscription_count",
            ServerMessage::Error { .. } => "pusher:error",
            ServerMessage::Ping => "pusher:ping",
            ServerMessage::Pong => "pusher:pong",
            ServerMessage::MemberAdded { .. } => "pusher_internal:member_added",
            ServerMessage::MemberRemoved { .. } => "pusher_internal:member_removed",
            ServerMessage::CacheMiss { .. } => "pusher:cache_miss",
            ServerMessage::SigninSuccess { .. } => "pusher:signin_success",
            ServerMessage::Event { event, .. } => event,
        }
    }

    /// The JSON text frame.
    pub fn encode(&self) -> String {
        let event = self.event_name();
        match *self {
            ServerMessage::ConnectionEstablished {
                socket_id,
                activity_timeout,
            } => {
                #[derive(Serialize)]
                struct Established<'a> {
                    socket_id: &'a str,
                    activity_timeout: u32,
                }
                let data = json(&Established {
                    socket_id,
                    activity_timeout,
                });
                frame(event, None, Some(data), None)
            }
            ServerMessage::SubscriptionSucceeded { channel } => {
                frame(event, Some(channel), Some("{}"), None)
            }
            ServerMessage::PresenceSubscriptionSucceeded { channel, members } => {
                let mut seen = HashSet::new();
                let distinct: Vec<&PresenceMember> = members
                    .iter()
                    .filter(|member| seen.insert(member.user_id.as_str()))
                    .collect();
                let data = json(&Presence {
                    presence: PresenceData {
                        ids: distinct.iter().map(|m| m.user_id.as_str()).collect(),
                        count: distinct.len(),
                        hash: Hash(distinct),
                    },
                });
                frame(event, Some(channel), Some(data), None)
            }
            ServerMessage::SubscriptionError { channel, error } => {
                frame(event, Some(channel), Some(error), None)
            }
            ServerMessage::SubscriptionCount { channel, count } => {
                let data = json(&serde_json::json!({ "subscription_count": count }));
                frame(event, Some(channel), Some(data), None)
            }
            ServerMessage::Error { code, message } => {
                #[derive(Serialize)]
                struct ErrorData<'a> {
                    code: Option<u16>,
                    message: &'a str,
                }
                frame(event, None, Some(ErrorData { code, message }), None)
            }
            ServerMessage::Ping | ServerMessage::Pong => frame(event, None, Some("{}"), None),
            ServerMessage::MemberAdded { channel, member } => {
                let data = json(&Member {
                    user_id: &member.user_id,
                    user_info: member.user_info.as_deref(),
                });
                frame(event, Some(channel), Some(data), None)
            }
            ServerMessage::MemberRemoved { channel, user_id } => {
                let data = json(&Member {
                    user_id,
                    user_info: None,
                });
                frame(event, Some(channel), Some(data), None)
            }
            ServerMessage::CacheMiss { channel } => frame::<&str>(event, Some(channel), None, None),
            ServerMessage::SigninSuccess { user_data } => {
                let data = serde_json::json!({ "user_data": user_data });
                frame(event, None, Some(data), None)
            }
            ServerMessage::Event {
                channel,
                data,
                user_id,
                ..
            } => frame(event, Some(channel), Some(data), user_id),
        }
    }
}

fn frame<D: Serialize>(
    event: &str,
    channel: Option<&str>,
    data: Option<D>,
    user_id: Option<&str>,
) -> String {
    json(&Frame {
        event,
        channel,
        data,
        user_id,
    })
}

fn json<T: Serialize + ?Sized>(value: &T) -> String {
    // Invariant: only structs, strings, numbers, raw JSON and string-keyed maps are serialized
    // here, and serde_json cannot fail on any of them.
    serde_json::to_string(value).unwrap_or_else(|e| unreachable!("serializing a frame: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(frame: &str) -> Result<ClientMessage, ParseError> {
        parse_client_message(frame.as_bytes(), &WireLimits::default())
    }

    fn subscribe(frame: &str) -> Subscribe {
        match parse(frame) {
            Ok(ClientMessage::Subscribe(sub)) => sub,
            other => panic!("{other:?}"),
        }
    }

    fn client_event(frame: &str) -> ClientEvent {
        match parse(frame) {
            Ok(ClientMessage::ClientEvent(event)) => event,
            other => panic!("{other:?}"),
        }
    }

    /// Decodes a frame as pusher-js does: the outer JSON, then `data` again when it is a
    /// string holding JSON.
    fn as_pusher_js_sees_it(frame: &str) -> Value {
        let mut value: Value = serde_json::from_str(frame).unwrap();
        if let Some(Value::String(data)) = value.get("data") {
            if let Ok(inner) = serde_json::from_str::<Value>(data) {
                value["data"] = inner;
            }
        }
        value
    }

    #[test]
    fn pusher_js_public_subscribe() {
        // pusher-js sends `auth: ""` and no channel_data for public channels.
        let sub =
            subscribe(r#"{"event":"pusher:subscribe","data":{"auth":"","channel":"my-channel"}}"#);
        assert_eq!(
            sub,
            Subscribe {
                channel: "my-channel".to_owned(),
                auth: None,
                channel_data: None
            }
        );
    }

    #[test]
    fn presence_subscribe_keeps_channel_data_as_sent() {
        let frame = r#"{"event":"pusher:subscribe","data":{"auth":"key:abc","channel_data":"{\"user_id\":10, \"user_info\":{}}","channel":"presence-room"}}"#;
        let sub = subscribe(frame);
        assert_eq!(sub.channel, "presence-room");
        assert_eq!(sub.auth.as_deref(), Some("key:abc"));
        assert_eq!(
            sub.channel_data.as_deref(),
            Some(r#"{"user_id":10, "user_info":{}}"#)
        );
    }

    #[test]
    fn data_may_be_a_string_holding_json() {
        let sub = subscribe(
            r#"{"event":"pusher:subscribe","data":"{\"channel\":\"private-x\",\"auth\":\"k:s\"}"}"#,
        );
        assert_eq!(sub.channel, "private-x");
        assert_eq!(sub.auth.as_deref(), Some("k:s"));
        assert_eq!(
            parse(r#"{"event":"pusher:unsubscribe","data":"{\"channel\":\"a\"}"}"#),
            Ok(ClientMessage::Unsubscribe {
                channel: "a".to_owned()
            })
        );
    }

    #[test]
    fn null_and_empty_optional_fields_are_absent() {
        let sub = subscribe(
            r#"{"event":"pusher:subscribe","data":{"channel":"c","auth":null,"channel_data":""}}"#,
        );
        assert_eq!((sub.auth, sub.channel_data), (None, None));
    }

    #[test]
    fn unsubscribe_ping_pong_and_signin() {
        assert_eq!(
            parse(r#"{"event":"pusher:unsubscribe","data":{"channel":"my-channel"}}"#),
            Ok(ClientMessage::Unsubscribe {
                channel: "my-channel".to_owned()
            })
        );
        for ping in [
            r#"{"event":"pusher:ping","data":{}}"#,
            r#"{"event":"pusher:ping","data":"{}"}"#,
            r#"{"event":"pusher:ping"}"#,
        ] {
            assert_eq!(parse(ping), Ok(ClientMessage::Ping), "{ping}");
        }
        assert_eq!(
            parse(r#"{"event":"pusher:pong","data":{}}"#),
            Ok(ClientMessage::Pong)
        );
        assert_eq!(
            parse(
                r#"{"event":"pusher:signin","data":{"auth":"key:sig","user_data":"{\"id\":\"1\"}"}}"#
            ),
            Ok(ClientMessage::Signin(Signin {
                auth: "key:sig".to_owned(),
                user_data: r#"{"id":"1"}"#.to_owned()
            }))
        );
    }

    #[test]
    fn client_event_data_is_delivered_as_written() {
        // An object is kept as its JSON text, spacing and number spelling included.
        let event = client_event(
            r#"{"event":"client-typing","channel":"private-chat","data":{"big": 12345678901234567890123}}"#,
        );
        assert_eq!(
            event,
            ClientEvent {
                event: "client-typing".to_owned(),
                channel: "private-chat".to_owned(),
                data: r#"{"big": 12345678901234567890123}"#.to_owned()
            }
        );
        // A string is the data itself.
        let event = client_event(r#"{"event":"client-x","channel":"c","data":"{\"a\":1}"}"#);
        assert_eq!(event.data, r#"{"a":1}"#);
        let event = client_event(r#"{"event":"client-x","channel":"c","data":"hello \"you\""}"#);
        assert_eq!(event.data, r#"hello "you""#);
        let event = client_event(r#"{"event":"client-x","channel":"c","data":42}"#);
        assert_eq!(event.data, "42");
        // No data (pusher-js drops an undefined one) is the same as null.
        let event = client_event(r#"{"event":"client-x","channel":"c"}"#);
        assert_eq!(event.data, "null");
        let event = client_event(r#"{"event":"client-x","channel":"c","data":null}"#);
        assert_eq!(event.data, "null");
    }

    #[test]
    fn later_duplicate_keys_win_as_in_javascript() {
        let sub = subscribe(
            r#"{"event":"pusher:ping","event":"pusher:subscribe","data":{"channel":"a","channel":"b"}}"#,
        );
        assert_eq!(sub.channel, "b");
    }

    #[test]
    fn frames_over_the_limit_are_refused_before_parsing() {
        let limits = WireLimits {
            max_message_bytes: 40,
            ..WireLimits::default()
        };
        let exact = r#"{"event":"pusher:ping","data":"xxxxxxx"}"#;
        assert_eq!(exact.len(), 40);
        assert_eq!(
            parse_client_message(exact.as_bytes(), &limits),
            Ok(ClientMessage::Ping)
        );
        let over = format!("{exact} ");
        assert_eq!(
            parse_client_message(over.as_bytes(), &limits),
            Err(ParseError::TooLarge {
                size: 41,
                limit: 40
            })
        );
        // Even garbage: the size is checked first.
        assert_eq!(
            parse_client_message(&[0xff; 41], &limits),
            Err(ParseError::TooLarge {
                size: 41,
                limit: 40
            })
        );
    }

    #[test]
    fn non_json_and_non_objects_are_told_apart() {
        for frame in ["", "{", "not json", r#"{"event":"pusher:ping",}"#, "{} {}"] {
            assert_eq!(parse(frame), Err(ParseError::NotJson), "{frame:?}");
        }
        assert_eq!(
            parse_client_message(b"{\"event\":\"client-\xff\"}", &WireLimits::default()),
            Err(ParseError::NotJson)
        );
        for frame in ["[]", "\"pusher:ping\"", "1", "null", "true"] {
            assert_eq!(parse(frame), Err(ParseError::NotAnObject), "{frame:?}");
        }
    }

    #[test]
    fn the_event_field_is_required_and_a_string() {
        assert_eq!(parse("{}"), Err(ParseError::MissingField("event")));
        assert_eq!(
            parse(r#"{"event":null}"#),
            Err(ParseError::MissingField("event"))
        );
        assert_eq!(
            parse(r#"{"event":1}"#),
            Err(ParseError::NotAString("event"))
        );
        assert_eq!(
            parse(r#"{"event":{"name":"pusher:ping"}}"#),
            Err(ParseError::NotAString("event"))
        );
    }

    #[test]
    fn pusher_events_need_object_data() {
        for event in ["pusher:subscribe", "pusher:unsubscribe", "pusher:signin"] {
            assert_eq!(
                parse(&format!(r#"{{"event":"{event}"}}"#)),
                Err(ParseError::MissingField("data")),
                "{event}"
            );
            assert_eq!(
                parse(&format!(r#"{{"event":"{event}","data":null}}"#)),
                Err(ParseError::MissingField("data")),
                "{event}"
            );
            for data in [r#"[1]"#, r#""not json""#, r#""[1]""#, "5", r#""""#] {
                assert_eq!(
                    parse(&format!(r#"{{"event":"{event}","data":{data}}}"#)),
                    Err(ParseError::DataNotAnObject),
                    "{event} {data}"
                );
            }
        }
    }

    #[test]
    fn subscribe_fields_are_checked() {
        let check = |data: &str| parse(&format!(r#"{{"event":"pusher:subscribe","data":{data}}}"#));
        assert_eq!(check("{}"), Err(ParseError::MissingField("data.channel")));
        assert_eq!(
            check(r#"{"channel":null}"#),
            Err(ParseError::MissingField("data.channel"))
        );
        assert_eq!(
            check(r#"{"channel":5}"#),
            Err(ParseError::NotAString("data.channel"))
        );
        assert_eq!(
            check(r#"{"channel":"c","auth":5}"#),
            Err(ParseError::NotAString("data.auth"))
        );
        // An object is not the string that was signed.
        assert_eq!(
            check(r#"{"channel":"c","channel_data":{"user_id":"1"}}"#),
            Err(ParseError::NotAString("data.channel_data"))
        );
        assert_eq!(
            parse(r#"{"event":"pusher:unsubscribe","data":{"channel":[]}}"#),
            Err(ParseError::NotAString("data.channel"))
        );
        assert_eq!(
            parse(r#"{"event":"pusher:unsubscribe","data":{}}"#),
            Err(ParseError::MissingField("data.channel"))
        );
    }

    #[test]
    fn signin_fields_are_checked() {
        let check = |data: &str| parse(&format!(r#"{{"event":"pusher:signin","data":{data}}}"#));
        assert_eq!(
            check(r#"{"user_data":"{}"}"#),
            Err(ParseError::MissingField("data.auth"))
        );
        assert_eq!(
            check(r#"{"auth":"k:s"}"#),
            Err(ParseError::MissingField("data.user_data"))
        );
        assert_eq!(
            check(r#"{"auth":"k:s","user_data":{"id":"1"}}"#),
            Err(ParseError::NotAString("data.user_data"))
        );
        assert_eq!(
            check(r#"{"auth":true,"user_data":"{}"}"#),
            Err(ParseError::NotAString("data.auth"))
        );
    }

    #[test]
    fn unknown_events_are_named() {
        for event in [
            "pusher:foo",
            "pusher_internal:member_added",
            "my-event",
            "Client-typing",
            "client",
        ] {
            assert_eq!(
                parse(&format!(
                    r#"{{"event":"{event}","channel":"c","data":{{}}}}"#
                )),
                Err(ParseError::UnknownEvent(event.to_owned())),
                "{event}"
            );
        }
    }

    #[test]
    fn client_events_need_a_string_channel() {
        assert_eq!(
            parse(r#"{"event":"client-x","data":{}}"#),
            Err(ParseError::MissingField("channel"))
        );
        assert_eq!(
            parse(r#"{"event":"client-x","channel":null,"data":{}}"#),
            Err(ParseError::MissingField("channel"))
        );
        assert_eq!(
            parse(r#"{"event":"client-x","channel":7,"data":{}}"#),
            Err(ParseError::NotAString("channel"))
        );
    }

    #[test]
    fn client_event_names_are_limited_in_characters() {
        let name = |len: usize| format!("client-{}", "é".repeat(len - 7));
        let frame = |name: &str| format!(r#"{{"event":"{name}","channel":"c","data":1}}"#);
        assert!(parse(&frame(&name(200))).is_ok());
        assert_eq!(
            parse(&frame(&name(201))),
            Err(ParseError::EventNameTooLong {
                len: 201,
                limit: 200
            })
        );
    }

    #[test]
    fn client_event_data_is_limited_after_decoding() {
        let limits = WireLimits {
            max_client_event_bytes: 10,
            ..WireLimits::default()
        };
        let check = |data: &str| {
            parse_client_message(
                format!(r#"{{"event":"client-x","channel":"c","data":{data}}}"#).as_bytes(),
                &limits,
            )
        };
        // A 10-character string is 10 bytes of data, its quotes and escapes aside.
        assert!(check(r#""0123456789""#).is_ok());
        assert!(check(r#""\"\"\"\"\"\"\"\"\"\"""#).is_ok());
        assert_eq!(
            check(r#""0123456789a""#),
            Err(ParseError::ClientEventTooLarge {
                size: 11,
                limit: 10
            })
        );
        assert!(check(r#"{"a":1234}"#).is_ok());
        assert_eq!(
            check(r#"{"a":12345}"#),
            Err(ParseError::ClientEventTooLarge {
                size: 11,
                limit: 10
            })
        );
    }

    fn member(channel_data: &str) -> Result<PresenceMember, UserDataError> {
        PresenceMember::from_channel_data(channel_data, &WireLimits::default())
    }

    #[test]
    fn presence_member_ids_may_be_strings_or_integers() {
        let docs = member(r#"{"user_id":10,"user_info":{"name":"Mr. Channels"}}"#).unwrap();
        assert_eq!(docs.user_id, "10");
        assert_eq!(
            docs.user_info.as_deref().map(RawValue::get),
            Some(r#"{"name":"Mr. Channels"}"#)
        );
        assert_eq!(member(r#"{"user_id":"abc"}"#).unwrap().user_id, "abc");
        assert_eq!(member(r#"{"user_id":-5}"#).unwrap().user_id, "-5");
        assert_eq!(
            member(r#"{"user_id":18446744073709551615}"#)
                .unwrap()
                .user_id,
            "18446744073709551615"
        );
        let bare = member(r#"{"user_id":"a","user_info":null}"#).unwrap();
        assert!(bare.user_info.is_none());
    }

    #[test]
    fn presence_member_refusals_say_why() {
        assert_eq!(member("[]"), Err(UserDataError::NotAnObject));
        assert_eq!(member("nope"), Err(UserDataError::NotAnObject));
        assert_eq!(member(r#"{}"#), Err(UserDataError::MissingUserId));
        assert_eq!(
            member(r#"{"user_id":null}"#),
            Err(UserDataError::MissingUserId)
        );
        for bad in ["1.5", "1e3", "true", "[]", "{}", "18446744073709551616"] {
            assert_eq!(
                member(&format!(r#"{{"user_id":{bad}}}"#)),
                Err(UserDataError::InvalidUserId),
                "{bad}"
            );
        }
        assert_eq!(member(r#"{"user_id":""}"#), Err(UserDataError::EmptyUserId));
        let id = |len: usize| format!(r#"{{"user_id":"{}"}}"#, "ü".repeat(len));
        assert!(member(&id(128)).is_ok());
        assert_eq!(
            member(&id(129)),
            Err(UserDataError::UserIdTooLong {
                len: 129,
                limit: 128
            })
        );
        // `"…"` is 1024 bytes of JSON with its quotes.
        let info = |len: usize| format!(r#"{{"user_id":"1","user_info":"{}"}}"#, "x".repeat(len));
        assert!(member(&info(1022)).is_ok());
        assert_eq!(
            member(&info(1023)),
            Err(UserDataError::UserInfoTooLarge {
                size: 1025,
                limit: 1024
            })
        );
    }

    fn user(user_data: &str) -> Result<UserData, UserDataError> {
        UserData::parse(user_data, &WireLimits::default())
    }

    #[test]
    fn signin_user_data_is_read() {
        let parsed =
            user(r#"{"id":"12345","user_info":{"name":"Ada"},"watchlist":["1","2"]}"#).unwrap();
        assert_eq!(parsed.id, "12345");
        assert_eq!(
            parsed.user_info.as_deref().map(RawValue::get),
            Some(r#"{"name":"Ada"}"#)
        );
        assert_eq!(parsed.watchlist, ["1", "2"]);
        assert!(!parsed.watchlist_truncated);
        let plain = user(r#"{"id":"1"}"#).unwrap();
        assert!(plain.watchlist.is_empty() && plain.user_info.is_none());
    }

    #[test]
    fn signin_user_data_refusals_say_why() {
        assert_eq!(user("1"), Err(UserDataError::NotAnObject));
        assert_eq!(
            user(r#"{"user_id":"1"}"#),
            Err(UserDataError::MissingUserId)
        );
        // pusher-js refuses numeric ids after sign-in, so the server does too.
        assert_eq!(user(r#"{"id":1}"#), Err(UserDataError::InvalidUserId));
        assert_eq!(user(r#"{"id":""}"#), Err(UserDataError::EmptyUserId));
        assert_eq!(
            user(r#"{"id":"1","watchlist":"2"}"#),
            Err(UserDataError::InvalidWatchlist)
        );
        assert_eq!(
            user(r#"{"id":"1","watchlist":[2]}"#),
            Err(UserDataError::InvalidWatchlist)
        );
    }

    #[test]
    fn long_watchlists_are_cut_and_flagged() {
        let list = |n: usize| {
            let ids: Vec<String> = (0..n).map(|i| format!("\"{i}\"")).collect();
            format!(r#"{{"id":"me","watchlist":[{}]}}"#, ids.join(","))
        };
        let full = user(&list(100)).unwrap();
        assert_eq!(
            (full.watchlist.len(), full.watchlist_truncated),
            (100, false)
        );
        let over = user(&list(101)).unwrap();
        assert_eq!(
            (over.watchlist.len(), over.watchlist_truncated),
            (100, true)
        );
        assert_eq!(over.watchlist.last().map(String::as_str), Some("99"));
    }

    #[test]
    fn connection_established_is_double_encoded() {
        let frame = ServerMessage::ConnectionEstablished {
            socket_id: "123.456",
            activity_timeout: 120,
        }
        .encode();
        assert_eq!(
            frame,
            r#"{"event":"pusher:connection_established","data":"{\"socket_id\":\"123.456\",\"activity_timeout\":120}"}"#
        );
        let seen = as_pusher_js_sees_it(&frame);
        assert_eq!(seen["data"]["activity_timeout"], 120);
    }

    #[test]
    fn subscription_replies() {
        assert_eq!(
            ServerMessage::SubscriptionSucceeded {
                channel: "my-channel"
            }
            .encode(),
            r#"{"event":"pusher_internal:subscription_succeeded","channel":"my-channel","data":"{}"}"#
        );
        let error = SubscriptionError::auth("invalid signature");
        assert_eq!(
            ServerMessage::SubscriptionError {
                channel: "private-x",
                error: &error
            }
            .encode(),
            r#"{"event":"pusher:subscription_error","channel":"private-x","data":{"type":"AuthError","error":"invalid signature","status":401}}"#
        );
        assert_eq!(
            ServerMessage::SubscriptionCount {
                channel: "c",
                count: 3
            }
            .encode(),
            r#"{"event":"pusher_internal:subscription_count","channel":"c","data":"{\"subscription_count\":3}"}"#
        );
        assert_eq!(
            ServerMessage::CacheMiss { channel: "cache-x" }.encode(),
            r#"{"event":"pusher:cache_miss","channel":"cache-x"}"#
        );
    }

    fn presence_member(id: &str, info: Option<&str>) -> PresenceMember {
        PresenceMember {
            user_id: id.to_owned(),
            user_info: info.map(|i| RawValue::from_string(i.to_owned()).unwrap()),
        }
    }

    #[test]
    fn presence_subscription_lists_each_user_once() {
        let members = [
            presence_member("1", Some(r#"{"name":"Ada", "n":12345678901234567890123}"#)),
            presence_member("2", None),
            presence_member("1", Some(r#"{"name":"other tab"}"#)),
        ];
        let frame = ServerMessage::PresenceSubscriptionSucceeded {
            channel: "presence-room",
            members: &members,
        }
        .encode();
        assert_eq!(
            frame,
            r#"{"event":"pusher_internal:subscription_succeeded","channel":"presence-room","data":"{\"presence\":{\"ids\":[\"1\",\"2\"],\"hash\":{\"1\":{\"name\":\"Ada\", \"n\":12345678901234567890123},\"2\":null},\"count\":2}}"}"#
        );
        let seen = as_pusher_js_sees_it(&frame);
        assert_eq!(seen["data"]["presence"]["count"], 2);
        assert_eq!(seen["data"]["presence"]["hash"]["1"]["name"], "Ada");
    }

    #[test]
    fn member_events() {
        let ada = presence_member("1", Some(r#"{"name":"Ada"}"#));
        assert_eq!(
            ServerMessage::MemberAdded {
                channel: "presence-room",
                member: &ada
            }
            .encode(),
            r#"{"event":"pusher_internal:member_added","channel":"presence-room","data":"{\"user_id\":\"1\",\"user_info\":{\"name\":\"Ada\"}}"}"#
        );
        let bare = presence_member("2", None);
        assert_eq!(
            ServerMessage::MemberAdded {
                channel: "presence-room",
                member: &bare
            }
            .encode(),
            r#"{"event":"pusher_internal:member_added","channel":"presence-room","data":"{\"user_id\":\"2\"}"}"#
        );
        assert_eq!(
            ServerMessage::MemberRemoved {
                channel: "presence-room",
                user_id: "1"
            }
            .encode(),
            r#"{"event":"pusher_internal:member_removed","channel":"presence-room","data":"{\"user_id\":\"1\"}"}"#
        );
    }

    #[test]
    fn errors_pings_and_signin() {
        assert_eq!(
            ServerMessage::error(&PusherCode::APP_NOT_FOUND).encode(),
            r#"{"event":"pusher:error","data":{"code":4001,"message":"Application does not exist"}}"#
        );
        assert_eq!(
            ServerMessage::Error {
                code: None,
                message: "unsupported event"
            }
            .encode(),
            r#"{"event":"pusher:error","data":{"code":null,"message":"unsupported event"}}"#
        );
        assert_eq!(
            ServerMessage::Ping.encode(),
            r#"{"event":"pusher:ping","data":"{}"}"#
        );
        assert_eq!(
            ServerMessage::Pong.encode(),
            r#"{"event":"pusher:pong","data":"{}"}"#
        );
        assert_eq!(
            ServerMessage::SigninSuccess {
                user_data: r#"{"id":"1"}"#
            }
            .encode(),
            r#"{"event":"pusher:signin_success","data":{"user_data":"{\"id\":\"1\"}"}}"#
        );
    }

    #[test]
    fn channel_events_carry_data_as_a_string() {
        assert_eq!(
            ServerMessage::Event {
                event: "my-event",
                channel: "my-channel",
                data: r#"{"message":"hello \"world\""}"#,
                user_id: None
            }
            .encode(),
            r#"{"event":"my-event","channel":"my-channel","data":"{\"message\":\"hello \\\"world\\\"\"}"}"#
        );
        assert_eq!(
            ServerMessage::Event {
                event: "client-typing",
                channel: "presence-room",
                data: "plain text",
                user_id: Some("7")
            }
            .encode(),
            r#"{"event":"client-typing","channel":"presence-room","data":"plain text","user_id":"7"}"#
        );
    }

    #[test]
    fn a_client_event_round_trips_to_other_subscribers() {
        let sent =
            r#"{"event":"client-move","channel":"private-game","data":{"x":1,"note":"\u2028"}}"#;
        let event = client_event(sent);
        let delivered = ServerMessage::Event {
            event: &event.event,
            channel: &event.channel,
            data: &event.data,
            user_id: None,
        }
        .encode();
        let seen = as_pusher_js_sees_it(&delivered);
        let original: Value = serde_json::from_str(sent).unwrap();
        assert_eq!(seen["data"], original["data"]);
        assert_eq!(seen["event"], "client-move");
    }
}
