//! The server API served by the hub: each method of [`ApiBackend`] in terms of [`Hub`]'s own
//! operations, so the HTTP API and an embedding application share one implementation.

use async_trait::async_trait;

use crate::api::replies::{
    ChannelInfo, ChannelsResult, ClientInfo as ApiClientInfo, HistoryResult, InfoResult,
    NodeInfo as ApiNodeInfo, PresenceResult, PresenceStatsResult, Publication as ApiPublication,
    PublishResult,
};
use crate::api::requests::{
    ChannelsRequest, DisconnectRequest, HistoryRemoveRequest, HistoryRequest, PresenceRequest,
    PublishRequest, RefreshRequest, SubscribeRequest, UnsubscribeRequest,
};
use crate::api::{ApiBackend, ApiError};
use crate::codes::{Disconnect, Error};
use crate::engine::{ClientInfo, HistoryQuery, StreamPosition};

use super::{Hub, PublishExtras};

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError::new(error.code, error.message)
    }
}

fn client_info(info: &ClientInfo) -> ApiClientInfo {
    ApiClientInfo {
        client: info.client.clone(),
        user: info.user.clone(),
        conn_info: info.conn_info.clone(),
        chan_info: info.chan_info.clone(),
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[async_trait]
impl ApiBackend for Hub {
    async fn publish(&self, request: PublishRequest) -> Result<PublishResult, ApiError> {
        let extras = PublishExtras {
            tags: request.tags,
            idempotency_key: request.idempotency_key,
            skip_history: request.skip_history,
            delta: request.delta,
        };
        let position = self
            .publish_with(&request.channel, request.data, extras)
            .await?;
        Ok(position
            .map(|p| PublishResult {
                offset: p.offset,
                epoch: p.epoch,
            })
            .unwrap_or_default())
    }

    async fn subscribe(&self, request: SubscribeRequest) -> Result<(), ApiError> {
        let since = request.recover_since.map(|since| StreamPosition {
            offset: since.offset,
            epoch: since.epoch,
        });
        Hub::subscribe(
            self,
            &request.user,
            &request.channel,
            request.client.as_deref(),
            request.info,
            request.data,
            since,
        )?;
        Ok(())
    }

    async fn unsubscribe(&self, request: UnsubscribeRequest) -> Result<(), ApiError> {
        Hub::unsubscribe(
            self,
            &request.user,
            &request.channel,
            request.client.as_deref(),
        );
        Ok(())
    }

    async fn disconnect(&self, request: DisconnectRequest) -> Result<(), ApiError> {
        let disconnect = match request.disconnect {
            None => Disconnect::FORCE_NO_RECONNECT,
            Some(custom) => match u16::try_from(custom.code) {
                Ok(code @ 3000..=4999) => Disconnect {
                    code,
                    reason: custom.reason.into(),
                },
                _ => return Err(ApiError::bad_request("disconnect code must be 3000-4999")),
            },
        };
        Hub::disconnect(
            self,
            &request.user,
            request.client.as_deref(),
            &request.whitelist,
            disconnect,
        );
        Ok(())
    }

    async fn refresh(&self, request: RefreshRequest) -> Result<(), ApiError> {
        Hub::refresh(
            self,
            &request.user,
            request.client.as_deref(),
            request.expired,
            request.expire_at,
            request.info,
        );
        Ok(())
    }

    async fn presence(&self, request: PresenceRequest) -> Result<PresenceResult, ApiError> {
        let clients = Hub::presence(self, &request.channel).await?;
        Ok(PresenceResult {
            presence: clients
                .iter()
                .map(|(client, info)| (client.clone(), client_info(info)))
                .collect(),
        })
    }

    async fn presence_stats(
        &self,
        request: PresenceRequest,
    ) -> Result<PresenceStatsResult, ApiError> {
        let stats = Hub::presence_stats(self, &request.channel).await?;
        Ok(PresenceStatsResult {
            num_clients: stats.num_clients,
            num_users: stats.num_users,
        })
    }

    async fn history(&self, request: HistoryRequest) -> Result<HistoryResult, ApiError> {
        // Centrifugo's server API: no limit (0) asks for the position only, a negative one for
        // everything the stream keeps.
        let limit = usize::try_from(request.limit).ok();
        let query = HistoryQuery {
            since: request.since.map(|since| StreamPosition {
                offset: since.offset,
                epoch: since.epoch,
            }),
            limit,
            reverse: request.reverse,
        };
        let page = Hub::history(self, &request.channel, &query).await?;
        Ok(HistoryResult {
            publications: page
                .publications
                .iter()
                .map(|p| ApiPublication {
                    data: p.data.clone(),
                    offset: p.offset,
                    tags: p.tags.clone(),
                    info: p.info.as_ref().map(client_info),
                })
                .collect(),
            epoch: page.position.epoch,
            offset: page.position.offset,
        })
    }

    async fn history_remove(&self, request: HistoryRemoveRequest) -> Result<(), ApiError> {
        Hub::remove_history(self, &request.channel).await?;
        Ok(())
    }

    async fn channels(&self, request: ChannelsRequest) -> Result<ChannelsResult, ApiError> {
        let pattern = (!request.pattern.is_empty()).then_some(request.pattern.as_str());
        Ok(ChannelsResult {
            channels: Hub::channels(self, pattern)
                .into_iter()
                .map(|(name, clients)| {
                    (
                        name,
                        ChannelInfo {
                            num_clients: clamp_u32(clients),
                        },
                    )
                })
                .collect(),
        })
    }

    async fn info(&self) -> Result<InfoResult, ApiError> {
        let info = Hub::info(self);
        Ok(InfoResult {
            nodes: vec![ApiNodeInfo {
                uid: info.name.clone(),
                name: info.name,
                version: info.version.to_owned(),
                num_clients: clamp_u32(info.num_clients),
                num_users: clamp_u32(info.num_users),
                num_channels: clamp_u32(info.num_channels),
                uptime: u32::try_from(info.uptime).unwrap_or(u32::MAX),
                num_subs: clamp_u32(info.num_subs),
                metrics: None,
                process: None,
            }],
        })
    }
}
