//! The names of the server API's methods, one place for the router, the batch decoder and the
//! OpenAPI document to agree on.

/// A server API method, named as in `POST /api/<method>` and in batch commands.
///
/// ```
/// use duplex_hub::api::Method;
///
/// assert_eq!(Method::from_name("presence_stats"), Some(Method::PresenceStats));
/// assert_eq!(Method::PresenceStats.name(), "presence_stats");
/// assert_eq!(Method::from_name("rpc"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `publish`
    Publish,
    /// `broadcast`
    Broadcast,
    /// `subscribe`
    Subscribe,
    /// `unsubscribe`
    Unsubscribe,
    /// `disconnect`
    Disconnect,
    /// `refresh`
    Refresh,
    /// `presence`
    Presence,
    /// `presence_stats`
    PresenceStats,
    /// `history`
    History,
    /// `history_remove`
    HistoryRemove,
    /// `channels`
    Channels,
    /// `info`
    Info,
    /// `batch`
    Batch,
}

impl Method {
    /// Every method, in the order a batch command's keys are looked at.
    pub const ALL: [Method; 13] = [
        Method::Publish,
        Method::Broadcast,
        Method::Subscribe,
        Method::Unsubscribe,
        Method::Disconnect,
        Method::Refresh,
        Method::Presence,
        Method::PresenceStats,
        Method::History,
        Method::HistoryRemove,
        Method::Channels,
        Method::Info,
        Method::Batch,
    ];

    /// The method's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Method::Publish => "publish",
            Method::Broadcast => "broadcast",
            Method::Subscribe => "subscribe",
            Method::Unsubscribe => "unsubscribe",
            Method::Disconnect => "disconnect",
            Method::Refresh => "refresh",
            Method::Presence => "presence",
            Method::PresenceStats => "presence_stats",
            Method::History => "history",
            Method::HistoryRemove => "history_remove",
            Method::Channels => "channels",
            Method::Info => "info",
            Method::Batch => "batch",
        }
    }

    /// The method with this wire name, if there is one.
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|method| method.name() == name)
    }
}
