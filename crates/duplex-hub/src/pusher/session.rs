//! One client connection speaking the Pusher protocol: its task and the messages it answers.
//!
//! It shares the Centrifugo session's machinery rather than copying it: the way in
//! ([`Inbound`]), the way out ([`SessionHandle`], with its byte budget and slow-consumer
//! policy), the node's channel table for the fan-out, and the engine's presence and broker, so
//! a Pusher client and a Centrifugo client of the same channel see the same publications, and
//! presence is the same set of entries. What is its own: Pusher's messages, its authorization
//! (the app's signature instead of tokens), and its one timer, Pusher's activity ping.
//!
//! Timers: after `activity_timeout` of silence from the client the server sends `pusher:ping`
//! and closes with 4201 if nothing comes within `pong_timeout`; presence entries are renewed
//! every `client.presence_update_interval`, as the Centrifugo session does; a backlog is
//! drained every 10 ms while it waits.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::{Instant, Sleep};

use crate::codes::Disconnect;
use crate::engine::ClientInfo;
use crate::node::channels::Subscriber;
use crate::node::{Node, PublishExtras};
use crate::session::{
    frame, Control, Format, Inbound, Incoming, Outbound, RateLimit, SessionHandle, Transport,
};

use super::apps::App;
use super::channel::{server_to_user_id, ChannelKind};
use super::codes::PusherCode;
use super::relay::{self, EVENT_TAG, SOCKET_TAG, USER_TAG};
use super::signature::{verify_channel_auth, verify_user_auth};
use super::webhook::WebhookEvent;
use super::wire::{
    parse_client_message, ClientEvent, ClientMessage, PresenceMember, ServerMessage, Signin,
    Subscribe, SubscriptionError, UserData, WireLimits,
};

/// One subscription of a Pusher connection.
struct Joined {
    /// The hub channel: the channel table's own name, not a copy; the Pusher name is its end.
    hub: Arc<str>,
    /// On a presence channel, this connection's entry.
    member: Option<ClientInfo>,
}

impl Joined {
    /// The Pusher channel name.
    fn name(&self) -> &str {
        relay::pusher_channel(&self.hub)
    }
}

/// The limits every Pusher message is read under.
fn limits() -> WireLimits {
    WireLimits::default()
}

/// The per-connection state the connection's task owns.
struct PusherSession {
    node: Arc<Node>,
    app: Arc<App>,
    handle: SessionHandle,
    socket_id: String,
    /// A few at most (`client.channel_limit`): a list, searched by name.
    subscriptions: Vec<Joined>,
    /// The user this connection signed in as (`pusher:signin`).
    user: Option<String>,
    /// Client events (`pusher.client_events_per_second`).
    client_events: RateLimit,
}

/// Serves one Pusher connection until it ends.
pub(crate) async fn run<I: Inbound>(
    node: Arc<Node>,
    app: Arc<App>,
    mut inbound: I,
    transport: Transport,
) {
    let handle = node.new_session(Format::Pusher, transport);
    if let Err(disconnect) = node.register(&handle, "") {
        node.end_session(&handle, "", Some(&disconnect));
        inbound.close(&pusher_close(&disconnect)).await;
        return;
    }
    let pusher = &node.config().pusher;
    let (activity_timeout, pong_timeout) = (pusher.activity_timeout, pusher.pong_timeout);
    let presence_every = node.config().client.presence_update_interval;
    let socket_id = relay::socket_id(handle.client_key());
    let mut session = PusherSession {
        node: node.clone(),
        app,
        handle,
        socket_id,
        subscriptions: Vec::new(),
        user: None,
        client_events: RateLimit::new(pusher.client_events_per_second, node.clock().now()),
    };
    session.send(&ServerMessage::ConnectionEstablished {
        socket_id: &session.socket_id,
        activity_timeout: activity_timeout.as_secs().clamp(1, u64::from(u32::MAX)) as u32,
    });

    let mut activity_due = Instant::now() + activity_timeout;
    let mut pinged = false;
    let mut presence_due = Instant::now() + presence_every;
    let mut timer: std::pin::Pin<Box<Sleep>> = Box::pin(tokio::time::sleep_until(activity_due));
    let ending: Option<Disconnect> = loop {
        let backlog = session.handle.has_backlog();
        let mut due = activity_due;
        if session.subscriptions.iter().any(|s| s.member.is_some()) {
            due = due.min(presence_due);
        }
        if backlog {
            due = due.min(Instant::now() + Duration::from_millis(10));
        }
        if timer.deadline() != due {
            timer.as_mut().reset(due);
        }
        let event =
            std::future::poll_fn(|cx| poll_event(&session.handle, &mut inbound, &mut timer, cx))
                .await;
        match event {
            Event::Message(payload) => {
                activity_due = Instant::now() + activity_timeout;
                pinged = false;
                if let Err(disconnect) = Box::pin(session.handle_message(&payload)).await {
                    break Some(disconnect);
                }
            }
            Event::Closed => break None,
            Event::Wake => {
                session.handle.drain_backlog();
                if let Some(disconnect) = session.handle_control() {
                    break Some(disconnect);
                }
            }
            Event::Timer => {
                session.handle.drain_backlog();
                let now = Instant::now();
                if now >= activity_due {
                    if pinged {
                        break Some(code_disconnect(&PusherCode::PONG_NOT_RECEIVED));
                    }
                    session.send(&ServerMessage::Ping);
                    pinged = true;
                    activity_due = now + pong_timeout;
                }
                if now >= presence_due {
                    presence_due = now + presence_every;
                    session.refresh_presence().await;
                }
            }
        }
    };
    let handle = session.handle.clone();
    handle.set_closing();
    session.leave_all().await;
    if let Some(user) = &session.user {
        session.app.signed_out(user, &handle);
    }
    node.end_session(&handle, "", ending.as_ref());
    match ending {
        Some(disconnect) => inbound.close(&disconnect).await,
        None => inbound.finish().await,
    }
}

/// What woke the connection's task.
enum Event {
    Message(Bytes),
    Closed,
    Wake,
    Timer,
}

fn poll_event<I: Inbound>(
    handle: &SessionHandle,
    inbound: &mut I,
    timer: &mut std::pin::Pin<Box<Sleep>>,
    cx: &mut Context<'_>,
) -> Poll<Event> {
    if handle.poll_woken(cx).is_ready() {
        return Poll::Ready(Event::Wake);
    }
    if let Poll::Ready(incoming) = inbound.poll_next(cx) {
        return Poll::Ready(match incoming {
            Incoming::Message(payload) => Event::Message(payload),
            Incoming::Closed | Incoming::Lost => Event::Closed,
        });
    }
    if timer.as_mut().poll(cx).is_ready() {
        return Poll::Ready(Event::Timer);
    }
    Poll::Pending
}

/// A Pusher message as a WebSocket frame (text).
fn frame_of(bytes: Bytes) -> duplex::proto::PreparedFrame {
    frame(crate::protocol::Encoding::Json, bytes)
}

/// A close with a code from Pusher's table.
fn code_disconnect(code: &PusherCode) -> Disconnect {
    Disconnect::new(code.code, code.message.clone())
}

/// The hub's own closes in Pusher's ranges (see [`PusherCode::for_hub_close`]).
fn pusher_close(disconnect: &Disconnect) -> Disconnect {
    code_disconnect(&PusherCode::for_hub_close(disconnect))
}

impl PusherSession {
    /// Queues one message for the client.
    fn send(&self, message: &ServerMessage<'_>) {
        self.handle
            .deliver(Outbound::push(frame_of(Bytes::from(message.encode()))));
    }

    /// `pusher:error` without closing.
    fn error(&self, code: Option<u16>, message: &str) {
        self.send(&ServerMessage::Error { code, message });
    }

    /// Carries out the node's requests; a disconnect ends the connection.
    fn handle_control(&mut self) -> Option<Disconnect> {
        for request in self.handle.take_control() {
            match request {
                Control::Disconnect(disconnect) => return Some(pusher_close(&disconnect)),
                // The Centrifugo server API's per-connection requests have no Pusher
                // counterpart: a Pusher client cannot take a server-side subscription, an
                // asynchronous message or a token refresh.
                Control::Subscribe(_)
                | Control::Unsubscribe { .. }
                | Control::Message(_)
                | Control::Refresh { .. } => {}
            }
        }
        None
    }

    /// The subscription to Pusher channel `name`, if any.
    fn joined(&self, name: &str) -> Option<&Joined> {
        self.subscriptions
            .iter()
            .find(|joined| joined.name() == name)
    }

    /// Answers one message.
    async fn handle_message(&mut self, payload: &[u8]) -> Result<(), Disconnect> {
        let message = match parse_client_message(payload, &limits()) {
            Ok(message) => message,
            Err(error) => {
                // Pusher answers a message it cannot read with an error and keeps the
                // connection.
                self.error(None, &error.to_string());
                return Ok(());
            }
        };
        self.node.metrics().command_received();
        match message {
            ClientMessage::Ping => self.send(&ServerMessage::Pong),
            ClientMessage::Pong => {}
            ClientMessage::Subscribe(subscribe) => self.subscribe(subscribe).await,
            ClientMessage::Unsubscribe { channel } => self.unsubscribe(&channel).await,
            ClientMessage::ClientEvent(event) => self.client_event(event).await,
            ClientMessage::Signin(signin) => self.signin(signin)?,
        }
        Ok(())
    }

    /// `pusher:subscribe`: checked against the channel's kind and the app's signature, then
    /// registered with the node like any subscriber.
    async fn subscribe(&mut self, request: Subscribe) {
        let name = request.channel;
        let refuse = |session: &Self, error: SubscriptionError| {
            session.send(&ServerMessage::SubscriptionError {
                channel: &name,
                error: &error,
            });
        };
        let kind = match ChannelKind::from_name(&name) {
            Ok(kind) => kind,
            Err(error) => {
                self.error(None, &error.to_string());
                return;
            }
        };
        if self.joined(&name).is_some() {
            // Already subscribed: pusher-js never asks twice, and saying so again is harmless.
            if !kind.is_presence() {
                self.send(&ServerMessage::SubscriptionSucceeded { channel: &name });
            }
            return;
        }
        if kind == ChannelKind::ServerToUser && server_to_user_id(&name) != self.user.as_deref() {
            refuse(self, SubscriptionError::auth("sign in as this user first"));
            return;
        }
        let channel_data = kind
            .is_presence()
            .then_some(request.channel_data.as_deref().unwrap_or(""));
        if kind.needs_auth() {
            let auth = request.auth.as_deref().unwrap_or("");
            if let Err(error) = verify_channel_auth(
                &self.app.credentials,
                auth,
                &self.socket_id,
                &name,
                channel_data,
            ) {
                refuse(self, SubscriptionError::auth(error.to_string()));
                return;
            }
        }
        let member = match channel_data {
            Some(data) => match PresenceMember::from_channel_data(data, &limits()) {
                Ok(member) => Some(member),
                Err(error) => {
                    refuse(self, SubscriptionError::auth(error.to_string()));
                    return;
                }
            },
            None => None,
        };
        let limit = self.node.config().client.channel_limit;
        if limit > 0 && self.subscriptions.len() >= limit {
            refuse(
                self,
                SubscriptionError {
                    kind: "LimitReached".to_owned(),
                    error: format!("at most {limit} subscriptions per connection"),
                    status: 403,
                },
            );
            return;
        }
        let hub = self.app.hub_channel(&name);
        let node = self.node.clone();
        let policy = node
            .channel_options(&hub)
            .map(|options| options.slow_consumer)
            .unwrap_or_default();
        let subscriber = Subscriber::live(self.handle.clone(), member.is_some(), policy);
        let Ok((first, table_name)) = node.add_subscriber(&hub, subscriber).await else {
            refuse(
                self,
                SubscriptionError {
                    kind: "Unavailable".to_owned(),
                    error: "the hub cannot subscribe now".to_owned(),
                    status: 503,
                },
            );
            return;
        };
        node.metrics().subscribed();
        if first {
            let channel = name.clone();
            self.app
                .webhook(|| WebhookEvent::ChannelOccupied { channel })
                .await;
        }
        let Some(member) = member else {
            self.send(&ServerMessage::SubscriptionSucceeded { channel: &name });
            self.send_cached(kind, &name, &hub).await;
            self.subscriptions.push(Joined {
                hub: table_name,
                member: None,
            });
            return;
        };
        let info = ClientInfo {
            user: member.user_id.clone(),
            client: self.handle.client().to_owned(),
            conn_info: None,
            chan_info: member
                .user_info
                .as_ref()
                .map(|raw| Bytes::copy_from_slice(raw.get().as_bytes())),
        };
        let first_of_user = match node
            .presence()
            .add_presence(&hub, &info, node.presence_ttl())
            .await
        {
            Ok(first) => first,
            Err(error) => {
                tracing::warn!(channel = %hub, "presence add failed: {error}");
                false
            }
        };
        let mut members = match node.presence().presence(&hub).await {
            Ok(entries) => entries.values().map(relay::member).collect::<Vec<_>>(),
            Err(error) => {
                tracing::warn!(channel = %hub, "presence read failed: {error}");
                Vec::new()
            }
        };
        // The subscriber is a member even where the engine's read raced its own write.
        if !members.iter().any(|m| m.user_id == member.user_id) {
            members.push(member.clone());
        }
        // One per user, in a stable order; the list's first entry of a user wins.
        members.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        members.dedup_by(|a, b| a.user_id == b.user_id);
        self.send(&ServerMessage::PresenceSubscriptionSucceeded {
            channel: &name,
            members: &members,
        });
        if first_of_user {
            if let Err(error) = node.broker().publish_join(&hub, &info).await {
                tracing::warn!(channel = %hub, "join failed: {error}");
            }
            let (channel, user_id) = (name.clone(), info.user.clone());
            self.app
                .webhook(|| WebhookEvent::MemberAdded { channel, user_id })
                .await;
        }
        self.send_cached(kind, &name, &hub).await;
        self.subscriptions.push(Joined {
            hub: table_name,
            member: Some(info),
        });
    }

    /// On a cache channel, its last event or `pusher:cache_miss`, after the subscription's
    /// success.
    async fn send_cached(&self, kind: ChannelKind, name: &str, hub: &str) {
        if !kind.is_cache() {
            return;
        }
        let frame = match super::cache::last_event(&self.node, hub, name).await {
            Some(publication) => relay::publication_frame(hub, &publication),
            None => None,
        };
        match frame {
            Some(bytes) => {
                self.handle.deliver(Outbound::push(frame_of(bytes)));
            }
            None => {
                self.send(&ServerMessage::CacheMiss { channel: name });
                self.app
                    .webhook(|| WebhookEvent::CacheMiss {
                        channel: name.to_owned(),
                    })
                    .await;
            }
        }
    }

    /// `pusher:unsubscribe`.
    async fn unsubscribe(&mut self, name: &str) {
        if let Some(at) = self.subscriptions.iter().position(|j| j.name() == name) {
            let joined = self.subscriptions.swap_remove(at);
            self.leave(joined).await;
        }
    }

    /// Leaves every channel, when the connection ends.
    async fn leave_all(&mut self) {
        for joined in std::mem::take(&mut self.subscriptions) {
            self.leave(joined).await;
        }
    }

    /// Ends one subscription: the node's table, the broker, presence and the user-level leave.
    async fn leave(&self, joined: Joined) {
        let node = &self.node;
        let name = joined.name();
        let vacated = node.channels().remove(&joined.hub, self.handle.id());
        if vacated {
            if let Err(error) = node.broker().unsubscribe(&joined.hub).await {
                tracing::warn!(channel = %joined.hub, "broker unsubscribe failed: {error}");
            }
        }
        node.metrics().unsubscribed();
        if let Some(info) = &joined.member {
            self.leave_presence(&joined.hub, name, info).await;
        }
        if vacated {
            self.app
                .webhook(|| WebhookEvent::ChannelVacated {
                    channel: name.to_owned(),
                })
                .await;
        }
    }

    /// Removes a presence entry; the user's last connection leaving is a member leaving.
    async fn leave_presence(&self, hub: &str, name: &str, info: &ClientInfo) {
        let node = &self.node;
        match node
            .presence()
            .remove_presence(hub, &info.client, &info.user)
            .await
        {
            Ok(true) => {
                if let Err(error) = node.broker().publish_leave(hub, info).await {
                    tracing::warn!(channel = %hub, "leave failed: {error}");
                }
                self.app
                    .webhook(|| WebhookEvent::MemberRemoved {
                        channel: name.to_owned(),
                        user_id: info.user.clone(),
                    })
                    .await;
            }
            Ok(false) => {}
            Err(error) => tracing::warn!(channel = %hub, "presence remove failed: {error}"),
        }
    }

    /// Renews this connection's presence entries.
    async fn refresh_presence(&self) {
        let node = &self.node;
        for joined in &self.subscriptions {
            if let Some(info) = &joined.member {
                if let Err(error) = node
                    .presence()
                    .add_presence(&joined.hub, info, node.presence_ttl())
                    .await
                {
                    tracing::warn!(channel = %joined.hub, "presence refresh failed: {error}");
                }
            }
        }
    }

    /// A `client-` event: only on a private or presence channel this connection is subscribed
    /// to, within the rate limit, never back to the sender.
    async fn client_event(&mut self, event: ClientEvent) {
        let Some((hub, sender)) = self.joined(&event.channel).map(|joined| {
            (
                joined.hub.clone(),
                joined.member.as_ref().map(|m| m.user.clone()),
            )
        }) else {
            self.error(
                None,
                &format!(
                    "Client event rejected - not subscribed to {:?}",
                    event.channel
                ),
            );
            return;
        };
        if !ChannelKind::from_name(&event.channel).is_ok_and(ChannelKind::allows_client_events) {
            self.error(
                None,
                "Client event rejected - only supported on private and presence channels",
            );
            return;
        }
        let per_second = self.node.config().pusher.client_events_per_second;
        if !self
            .client_events
            .allow(per_second, self.node.clock().now())
        {
            let code = &PusherCode::CLIENT_EVENT_RATE_LIMIT;
            self.error(Some(code.code), &code.message);
            return;
        }
        self.app
            .webhook(|| WebhookEvent::ClientEvent {
                channel: event.channel.clone(),
                event: event.event.clone(),
                data: event.data.clone(),
                socket_id: self.socket_id.clone(),
                user_id: sender.clone(),
            })
            .await;
        let mut tags = std::collections::BTreeMap::new();
        tags.insert(EVENT_TAG.to_owned(), event.event);
        tags.insert(SOCKET_TAG.to_owned(), self.socket_id.clone());
        if let Some(user) = sender {
            tags.insert(USER_TAG.to_owned(), user);
        }
        let Ok(options) = self.node.channel_options(&hub) else {
            return;
        };
        let options = super::cache::publish_options(&options, &event.channel);
        // Only a cache channel keeps an event.
        let extras = PublishExtras {
            tags,
            skip_history: options.history_size == 0,
            ..Default::default()
        };
        if let Err(error) = self
            .node
            .publish_in(
                &hub,
                &options,
                relay::payload_from_data(&event.data),
                None,
                extras,
            )
            .await
        {
            self.error(None, &error.message);
        }
    }

    /// `pusher:signin`: the user data signed by the app's backend makes this connection the
    /// user's (for `terminate_connections` and `#server-to-user-` channels). A bad signature
    /// closes the connection with 4009, as Pusher does.
    fn signin(&mut self, signin: Signin) -> Result<(), Disconnect> {
        if let Err(error) = verify_user_auth(
            &self.app.credentials,
            &signin.auth,
            &self.socket_id,
            &signin.user_data,
        ) {
            tracing::debug!(socket_id = %self.socket_id, "sign-in refused: {error}");
            return Err(code_disconnect(&PusherCode::UNAUTHORIZED));
        }
        let user = match UserData::parse(&signin.user_data, &limits()) {
            Ok(user) => user,
            Err(error) => {
                tracing::debug!(socket_id = %self.socket_id, "sign-in refused: {error}");
                return Err(code_disconnect(&PusherCode::UNAUTHORIZED));
            }
        };
        if let Some(previous) = self.user.replace(user.id.clone()) {
            self.app.signed_out(&previous, &self.handle);
        }
        self.app.signed_in(&user.id, &self.handle);
        self.send(&ServerMessage::SigninSuccess {
            user_data: &signin.user_data,
        });
        Ok(())
    }
}
