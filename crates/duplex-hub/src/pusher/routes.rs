//! The Pusher front door's HTTP routes, mounted beside the Centrifugo ones when the
//! configuration has an app: the WebSocket endpoint `/app/{key}` and the HTTP API under
//! `/apps/{app_id}` (see `http_api.rs`).
//!
//! A connection that cannot be served (an unknown key, no or another protocol version) is
//! still accepted as a WebSocket, told why with `pusher:error`, and closed with the code: that
//! is what Pusher's clients read, and what tells pusher-js not to retry (4000–4099).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use duplex::axum::WebSocketUpgrade;

use crate::node::Node;
use crate::session::Transport;
use crate::transport::websocket::WebSocketInbound;

use super::codes::PusherCode;
use super::wire::ServerMessage;

/// The protocol version this hub speaks (pusher-js 8 sends 7).
const PROTOCOL: &str = "7";

/// The routes, or `None` without an app.
pub(crate) fn router(node: Arc<Node>) -> Option<Router> {
    if node.pusher_apps().is_empty() {
        return None;
    }
    Some(
        Router::new()
            .route("/app/{key}", get(connect))
            .route("/apps/{app_id}/events", post(super::http_api::events))
            .route(
                "/apps/{app_id}/batch_events",
                post(super::http_api::batch_events),
            )
            .route("/apps/{app_id}/channels", get(super::http_api::channels))
            .route(
                "/apps/{app_id}/channels/{channel}",
                get(super::http_api::channel),
            )
            .route(
                "/apps/{app_id}/channels/{channel}/users",
                get(super::http_api::users),
            )
            .route(
                "/apps/{app_id}/users/{user_id}/terminate_connections",
                post(super::http_api::terminate_connections),
            )
            .with_state(node),
    )
}

/// `GET /app/{key}?protocol=7`: a Pusher connection.
async fn connect(
    State(node): State<Arc<Node>>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
    upgrade: WebSocketUpgrade,
) -> Response {
    let protocol = query.as_deref().and_then(|query| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("protocol="))
            .map(str::to_owned)
    });
    let app = node.pusher_apps().by_key(&key).cloned();
    let refusal = match (&app, protocol.as_deref()) {
        (None, _) => Some(PusherCode::APP_NOT_FOUND),
        (Some(_), None) => Some(PusherCode::NO_PROTOCOL),
        (Some(_), Some(version)) if version != PROTOCOL => Some(PusherCode::UNSUPPORTED_PROTOCOL),
        (Some(_), Some(_)) => None,
    };
    upgrade
        .server(node.websocket_server().clone())
        .on_upgrade(move |ws| async move {
            let (reader, mut writer) = ws.split();
            match (refusal, app) {
                (None, Some(app)) => {
                    let transport = Transport::WebSocket(writer.clone());
                    let inbound = WebSocketInbound { reader, writer };
                    tokio::spawn(super::session::run(node, app, inbound, transport));
                }
                (refusal, _) => {
                    let code = refusal.unwrap_or(PusherCode::APP_NOT_FOUND);
                    let message = ServerMessage::error(&code).encode();
                    if writer.send(message).await.is_ok() {
                        let _ = writer.close(code.code, &code.message).await;
                    }
                }
            }
        })
}
