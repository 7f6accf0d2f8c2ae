//! One decoded command and its execution against the backend, shared by `POST /api/<method>`,
//! batch commands and the legacy single endpoint.
//!
//! Decoding and execution are separate steps so a batch can decode every command before running
//! any: a batch with one malformed command fails whole with HTTP 400, as Centrifugo's does,
//! instead of half-running.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;

use super::backend::ApiBackend;
use super::error::ApiError;
use super::method::Method;
use super::replies::Empty;
use super::wire::{
    BroadcastWire, ChannelWire, ChannelsWire, DisconnectWire, HistoryWire, InfoWire, PublishWire,
    RefreshWire, SubscribeWire, UnsubscribeWire,
};

/// A single-method command whose body decoded.
#[derive(Debug)]
pub(crate) enum Command {
    Publish(PublishWire),
    Broadcast(BroadcastWire),
    Subscribe(SubscribeWire),
    Unsubscribe(UnsubscribeWire),
    Disconnect(DisconnectWire),
    Refresh(RefreshWire),
    Presence(ChannelWire),
    PresenceStats(ChannelWire),
    History(HistoryWire),
    HistoryRemove(ChannelWire),
    Channels(ChannelsWire),
    Info(InfoWire),
}

impl Command {
    /// Decodes `body` as the parameters of `method`; `None` for `batch`, which is not a single
    /// command. An empty body counts as `{}` so parameterless calls need no body.
    pub(crate) fn decode(
        method: Method,
        body: &[u8],
    ) -> Option<Result<Command, serde_json::Error>> {
        let body = if body.iter().all(u8::is_ascii_whitespace) {
            b"{}".as_slice()
        } else {
            body
        };
        Some(match method {
            Method::Publish => parse(body).map(Command::Publish),
            Method::Broadcast => parse(body).map(Command::Broadcast),
            Method::Subscribe => parse(body).map(Command::Subscribe),
            Method::Unsubscribe => parse(body).map(Command::Unsubscribe),
            Method::Disconnect => parse(body).map(Command::Disconnect),
            Method::Refresh => parse(body).map(Command::Refresh),
            Method::Presence => parse(body).map(Command::Presence),
            Method::PresenceStats => parse(body).map(Command::PresenceStats),
            Method::History => parse(body).map(Command::History),
            Method::HistoryRemove => parse(body).map(Command::HistoryRemove),
            Method::Channels => parse(body).map(Command::Channels),
            Method::Info => parse(body).map(Command::Info),
            Method::Batch => return None,
        })
    }

    /// The method this command calls.
    pub(crate) fn method(&self) -> Method {
        match self {
            Command::Publish(_) => Method::Publish,
            Command::Broadcast(_) => Method::Broadcast,
            Command::Subscribe(_) => Method::Subscribe,
            Command::Unsubscribe(_) => Method::Unsubscribe,
            Command::Disconnect(_) => Method::Disconnect,
            Command::Refresh(_) => Method::Refresh,
            Command::Presence(_) => Method::Presence,
            Command::PresenceStats(_) => Method::PresenceStats,
            Command::History(_) => Method::History,
            Command::HistoryRemove(_) => Method::HistoryRemove,
            Command::Channels(_) => Method::Channels,
            Command::Info(_) => Method::Info,
        }
    }

    /// Validates the command, runs it and returns its result as JSON text.
    pub(crate) async fn execute<B: ApiBackend + ?Sized>(
        self,
        backend: &B,
    ) -> Result<Box<RawValue>, ApiError> {
        match self {
            Command::Publish(wire) => encode(backend.publish(wire.validate()?).await?),
            Command::Broadcast(wire) => encode(backend.broadcast(wire.validate()?).await?),
            Command::Subscribe(wire) => {
                backend.subscribe(wire.validate()?).await?;
                encode(Empty {})
            }
            Command::Unsubscribe(wire) => {
                backend.unsubscribe(wire.validate()?).await?;
                encode(Empty {})
            }
            Command::Disconnect(wire) => {
                backend.disconnect(wire.validate()?).await?;
                encode(Empty {})
            }
            Command::Refresh(wire) => {
                backend.refresh(wire.validate()?).await?;
                encode(Empty {})
            }
            Command::Presence(wire) => encode(backend.presence(wire.presence()?).await?),
            Command::PresenceStats(wire) => encode(backend.presence_stats(wire.presence()?).await?),
            Command::History(wire) => encode(backend.history(wire.validate()?).await?),
            Command::HistoryRemove(wire) => {
                backend.history_remove(wire.history_remove()?).await?;
                encode(Empty {})
            }
            Command::Channels(wire) => encode(backend.channels(wire.validate()).await?),
            Command::Info(InfoWire {}) => encode(backend.info().await?),
        }
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(body)
}

fn encode<T: Serialize>(result: T) -> Result<Box<RawValue>, ApiError> {
    serde_json::value::to_raw_value(&result).map_err(|error| {
        tracing::error!(%error, "server api: encoding a result failed");
        ApiError::internal()
    })
}
