//! The Pusher HTTP API (`/apps/{app_id}/...`), as the Pusher server SDKs call it: every request
//! signed with the app's secret (checked by `signature::verify_api_request`: key, timestamp
//! within 600 s, `body_md5`, HMAC), bodies and limits as `api.rs` reads them.
//!
//! Events become hub publications of the app's namespace (see `relay.rs`), so they reach
//! Centrifugo subscribers of the same channel too, and go through the broker to every node.
//! Channel listings and counts are this node's; presence (user counts, users) is the engine's,
//! so it covers every node.

use std::collections::BTreeMap;
use std::sync::Arc;

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use http::Uri;

use crate::codes::Disconnect;
use crate::node::PublishExtras;
use crate::session::{unix_now, Control};

use super::api::{
    check_user_id, check_users_channel, ApiLimits, BatchRequest, BatchResponse, ChannelAttributes,
    ChannelQuery, ChannelResponse, ChannelsQuery, ChannelsResponse, Info, PusherApiError, Trigger,
    TriggerRequest, TriggerResponse, UserRef, UsersResponse,
};
use super::apps::App;
use super::codes::PusherCode;
use super::relay::{self, EVENT_TAG, SOCKET_TAG};
use super::signature::{verify_api_request, ApiRequest};
use crate::node::Node;

impl IntoResponse for PusherApiError {
    fn into_response(self) -> Response {
        (self.status, format!("{}\n", self.message)).into_response()
    }
}

type ApiResult = Result<Response, PusherApiError>;

/// A request the app's secret signed: the app its path names, and the URI and body the
/// signature covered. Extracting it checks the signature, so a handler that takes one cannot
/// forget to.
pub(crate) struct Signed {
    app: Arc<App>,
    uri: Uri,
    body: Bytes,
}

impl FromRequest<Arc<Node>> for Signed {
    type Rejection = PusherApiError;

    async fn from_request(request: Request, node: &Arc<Node>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(&mut parts, node)
            .await
            .map_err(|error| PusherApiError::bad_request(error.body_text()))?;
        let app_id = params.get("app_id").map(String::as_str).unwrap_or("");
        let app = node
            .pusher_apps()
            .by_id(app_id)
            .ok_or_else(|| PusherApiError::not_found(format!("unknown app id {app_id:?}")))?
            .clone();
        // The path as the client sent and signed it, even where the hub's router is nested.
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.clone(), |original| original.0.clone());
        let method = parts.method.clone();
        let body = Bytes::from_request(Request::from_parts(parts, body), node)
            .await
            .map_err(|error| PusherApiError::bad_request(error.body_text()))?;
        let signed = ApiRequest {
            method: method.as_str(),
            path: uri.path(),
            query: uri.query().unwrap_or(""),
            body: &body,
        };
        verify_api_request(&signed, std::slice::from_ref(&app.credentials), unix_now())?;
        Ok(Signed { app, uri, body })
    }
}

/// The query's own parameters (the `auth_*` ones are ignored).
fn query<T: serde::de::DeserializeOwned>(uri: &Uri) -> Result<T, PusherApiError> {
    Query::<T>::try_from_uri(uri)
        .map(|Query(value)| value)
        .map_err(|error| PusherApiError::bad_request(error.body_text()))
}

/// `POST /apps/{app_id}/events`.
pub(crate) async fn events(State(node): State<Arc<Node>>, signed: Signed) -> ApiResult {
    let app = &signed.app;
    let trigger = TriggerRequest::from_body(&signed.body, &ApiLimits::default())?;
    publish(&node, app, &trigger).await?;
    let mut response = TriggerResponse::default();
    if trigger.info.any() {
        let mut channels = BTreeMap::new();
        for channel in &trigger.channels {
            channels.insert(
                channel.clone(),
                attributes(&node, app, channel, trigger.info).await,
            );
        }
        response.channels = Some(channels);
    }
    Ok(Json(response).into_response())
}

/// `POST /apps/{app_id}/batch_events`: each event published in order; all are checked before
/// any is published, so a bad one publishes none.
pub(crate) async fn batch_events(State(node): State<Arc<Node>>, signed: Signed) -> ApiResult {
    let app = &signed.app;
    let triggers = BatchRequest::from_body(&signed.body, &ApiLimits::default())?;
    let mut attributes_of = Vec::with_capacity(triggers.len());
    for trigger in &triggers {
        publish(&node, app, trigger).await?;
        let channel = trigger.channels.first().map(String::as_str).unwrap_or("");
        attributes_of.push((channel, trigger.info));
    }
    let mut response = BatchResponse::default();
    if attributes_of.iter().any(|(_, info)| info.any()) {
        let mut batch = Vec::with_capacity(attributes_of.len());
        for (channel, info) in attributes_of {
            batch.push(attributes(&node, app, channel, info).await);
        }
        response.batch = Some(batch);
    }
    Ok(Json(response).into_response())
}

/// Publishes one event to each of its channels.
async fn publish(node: &Arc<Node>, app: &App, trigger: &Trigger) -> Result<(), PusherApiError> {
    let payload = relay::payload_from_data(&trigger.data);
    for channel in &trigger.channels {
        let hub = app.hub_channel(channel);
        let options = node
            .channel_options(&hub)
            .map_err(|error| PusherApiError::bad_request(error.message.to_string()))?;
        let options = super::cache::publish_options(&options, channel);
        let mut tags = BTreeMap::new();
        tags.insert(EVENT_TAG.to_owned(), trigger.name.clone());
        if let Some(socket_id) = &trigger.socket_id {
            tags.insert(SOCKET_TAG.to_owned(), socket_id.to_string());
        }
        let extras = PublishExtras {
            tags,
            ..Default::default()
        };
        node.publish_in(&hub, &options, payload.clone(), None, extras)
            .await
            .map_err(|error| PusherApiError::internal(error.message))?;
    }
    Ok(())
}

/// The attributes `info` asks for, of one channel.
async fn attributes(node: &Arc<Node>, app: &App, channel: &str, info: Info) -> ChannelAttributes {
    let hub = app.hub_channel(channel);
    let mut attributes = ChannelAttributes::default();
    if info.subscription_count {
        attributes.subscription_count = Some(node.channels().count(&hub) as u64);
    }
    if info.user_count {
        attributes.user_count = Some(match node.presence().presence_stats(&hub).await {
            Ok(stats) => u64::from(stats.num_users),
            Err(error) => {
                tracing::warn!(channel = %hub, "presence stats failed: {error}");
                0
            }
        });
    }
    attributes
}

/// `GET /apps/{app_id}/channels`: the occupied channels, by prefix.
pub(crate) async fn channels(State(node): State<Arc<Node>>, signed: Signed) -> ApiResult {
    let app = &signed.app;
    let filter = query::<ChannelsQuery>(&signed.uri)?.validate()?;
    let prefix = format!("{}:", app.namespace);
    let mut names: Vec<String> = node
        .channels()
        .list()
        .into_iter()
        .filter(|(_, subscribers)| *subscribers > 0)
        .filter_map(|(hub, _)| hub.strip_prefix(&prefix).map(str::to_owned))
        .filter(|name| {
            filter
                .prefix
                .as_deref()
                .is_none_or(|prefix| name.starts_with(prefix))
        })
        .collect();
    names.sort();
    let mut channels = BTreeMap::new();
    for name in names {
        let attributes = attributes(&node, app, &name, filter.info).await;
        channels.insert(name, attributes);
    }
    Ok(Json(ChannelsResponse { channels }).into_response())
}

/// `GET /apps/{app_id}/channels/{channel}`.
pub(crate) async fn channel(
    State(node): State<Arc<Node>>,
    Path((_, channel)): Path<(String, String)>,
    signed: Signed,
) -> ApiResult {
    let app = &signed.app;
    let info = query::<ChannelQuery>(&signed.uri)?.validate(&channel)?;
    let hub = app.hub_channel(&channel);
    let mut occupied = node.channels().count(&hub) > 0;
    if !occupied && super::channel::ChannelKind::from_name(&channel).is_ok_and(|k| k.is_presence())
    {
        occupied = node
            .presence()
            .presence_stats(&hub)
            .await
            .is_ok_and(|stats| stats.num_clients > 0);
    }
    let attributes = attributes(&node, app, &channel, info).await;
    Ok(Json(ChannelResponse {
        occupied,
        attributes,
    })
    .into_response())
}

/// `GET /apps/{app_id}/channels/{channel}/users`: a presence channel's user ids.
pub(crate) async fn users(
    State(node): State<Arc<Node>>,
    Path((_, channel)): Path<(String, String)>,
    signed: Signed,
) -> ApiResult {
    let app = &signed.app;
    check_users_channel(&channel)?;
    let hub = app.hub_channel(&channel);
    let entries = node
        .presence()
        .presence(&hub)
        .await
        .map_err(|error| PusherApiError::internal(error.to_string()))?;
    let mut ids: Vec<String> = entries.into_values().map(|info| info.user).collect();
    ids.sort();
    ids.dedup();
    Ok(Json(UsersResponse {
        users: ids.into_iter().map(|id| UserRef { id }).collect(),
    })
    .into_response())
}

/// `POST /apps/{app_id}/users/{user_id}/terminate_connections`: closes every connection the
/// user signed in with (on this node), with 4009.
pub(crate) async fn terminate_connections(
    Path((_, user_id)): Path<(String, String)>,
    signed: Signed,
) -> ApiResult {
    let app = &signed.app;
    check_user_id(&user_id)?;
    let code = &PusherCode::UNAUTHORIZED;
    for handle in app.connections_of(&user_id) {
        handle.control(Control::Disconnect(Disconnect::new(
            code.code,
            "terminated by the application",
        )));
    }
    Ok(Json(serde_json::json!({})).into_response())
}
