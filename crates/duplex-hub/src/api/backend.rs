//! What the server API needs from the hub: one async method per API method.
//!
//! The HTTP layer (decoding, authentication, error mode, batching) is written against this trait
//! rather than against the hub, so it can be tested with a recording fake and so an application
//! can put the same API in front of something else. Each method gets a validated request and
//! answers with a result or an [`ApiError`] carrying the code the reply shows.

use async_trait::async_trait;

use super::error::ApiError;
use super::replies::{
    BroadcastResult, ChannelsResult, HistoryResult, InfoResult, PresenceResult,
    PresenceStatsResult, PublishResult,
};
use super::requests::{
    BroadcastRequest, ChannelsRequest, DisconnectRequest, HistoryRemoveRequest, HistoryRequest,
    PresenceRequest, PublishRequest, RefreshRequest, SubscribeRequest, UnsubscribeRequest,
};

/// The operations behind `POST /api/<method>`.
///
/// Requests arrive validated: channels named where a channel is required, payloads decoded.
/// Whether a channel's namespace exists (102), whether presence or history is on for it (108)
/// and whether a position is still in the stream (112) are the backend's to answer.
#[async_trait]
pub trait ApiBackend: Send + Sync + 'static {
    /// Publish into one channel.
    async fn publish(&self, request: PublishRequest) -> Result<PublishResult, ApiError>;

    /// Publish the same data into many channels.
    ///
    /// The default publishes channel by channel through [`ApiBackend::publish`], answering an
    /// empty channel name with 107 in its slot; a backend that can fan out concurrently
    /// overrides it and must keep one response per channel, in order.
    async fn broadcast(&self, request: BroadcastRequest) -> Result<BroadcastResult, ApiError> {
        let mut responses = Vec::with_capacity(request.channels.len());
        for channel in &request.channels {
            if channel.is_empty() {
                responses.push(Err(ApiError::bad_request("channel required")));
                continue;
            }
            responses.push(self.publish(request.publish_for(channel)).await);
        }
        Ok(BroadcastResult { responses })
    }

    /// Subscribe a user's connections to a channel.
    async fn subscribe(&self, request: SubscribeRequest) -> Result<(), ApiError>;

    /// Unsubscribe a user's connections from a channel.
    async fn unsubscribe(&self, request: UnsubscribeRequest) -> Result<(), ApiError>;

    /// Disconnect a user's connections.
    async fn disconnect(&self, request: DisconnectRequest) -> Result<(), ApiError>;

    /// Refresh (extend or expire) a user's connections.
    async fn refresh(&self, request: RefreshRequest) -> Result<(), ApiError>;

    /// The clients subscribed to a channel.
    async fn presence(&self, request: PresenceRequest) -> Result<PresenceResult, ApiError>;

    /// How many clients and users are subscribed to a channel.
    async fn presence_stats(
        &self,
        request: PresenceRequest,
    ) -> Result<PresenceStatsResult, ApiError>;

    /// Read a channel's history.
    async fn history(&self, request: HistoryRequest) -> Result<HistoryResult, ApiError>;

    /// Remove a channel's history.
    async fn history_remove(&self, request: HistoryRemoveRequest) -> Result<(), ApiError>;

    /// Active channels.
    async fn channels(&self, request: ChannelsRequest) -> Result<ChannelsResult, ApiError>;

    /// Information about the running node(s).
    async fn info(&self) -> Result<InfoResult, ApiError>;
}
