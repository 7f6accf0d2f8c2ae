//! One client connection speaking Centrifugo's client protocol: its task, its state, and the
//! commands it answers.
//!
//! The connection's task owns the [`Session`] and reads one WebSocket message at a time; a
//! message holds one or more commands, answered in order, their replies batched into one frame.
//! Everything the rest of the node sends this client (publications, joins, server-side
//! subscriptions) goes through the [`SessionHandle`] without waiting, or through a
//! [`Control`] request that the task carries out between messages.
//!
//! Files: `connect.rs` (connect and refresh), `subscribe.rs` (subscribe, unsubscribe,
//! sub_refresh, server-side subscriptions, recovery), `commands.rs` (publish, presence,
//! history, rpc, send), `outbound.rs` (the byte budget and slow-consumer policies),
//! `control.rs` (requests from the node), `leave.rs` (the application's webhook events when
//! a client leaves).

mod commands;
mod connect;
mod control;
mod inbound;
mod leave;
mod outbound;
mod subscribe;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use duplex::proto::PreparedFrame;
use duplex::WebSocketWriter;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use crate::codes::{Disconnect, Error};
use crate::node::Node;
use crate::protocol::{self, Command, Encoding, Reply};

pub(crate) use connect::VERSION;
pub(crate) use control::{Control, ServerSubscribe};
pub(crate) use inbound::{Inbound, Incoming};
pub(crate) use outbound::{frame, Outbound, Queued, SessionHandle, Transport};

/// Most commands one WebSocket message may carry: a bound on the work one message can cause
/// (a Protobuf message of zero bytes would otherwise be one empty command per byte).
const MAX_COMMANDS_PER_MESSAGE: usize = 1000;

/// What a command handler ends with: its reply, an error reply, or the end of the connection.
pub(crate) enum Outcome {
    /// Answer with this reply (its id is set by the caller). Boxed: a reply is large and most
    /// outcomes are not one.
    Reply(Box<Reply>),
    /// Answer with this error.
    Error(Error),
    /// Nothing to answer (`send`, or a reply already queued).
    Nothing,
}

impl From<Error> for Outcome {
    fn from(error: Error) -> Self {
        Outcome::Error(error)
    }
}

/// The per-connection state the connection's task owns.
pub(crate) struct Session {
    node: Arc<Node>,
    handle: SessionHandle,
    /// Set by a successful connect.
    connected: bool,
    user: String,
    /// Connection info (raw JSON) from the token or a callback.
    info: Option<Bytes>,
    /// When the connection's credentials expire (Unix seconds); `None`: never.
    expires_at: Option<i64>,
    subscriptions: HashMap<Box<str>, Subscription>,
    /// Replies of the message being answered, encoded into one frame.
    batch: Vec<u8>,
    /// When presence entries are next refreshed (they expire unless renewed, so that a dead
    /// node's clients disappear).
    next_presence: Instant,
    /// When the next server ping is due, and the pong deadline of the last one.
    next_ping: Instant,
    pong_due: Option<Instant>,
    /// Commands allowed before the rate limit's window refills.
    rate: RateLimit,
    /// What proxies to the application forward (headers) and keep (meta); `None` without
    /// proxies that need it.
    proxy: Option<Box<crate::proxy::ConnectionState>>,
    /// On an emulated transport (HTTP-streaming, SSE), the id its commands quote; sent in the
    /// connect reply.
    emulation_session: Option<Box<str>>,
}

/// One channel this connection is subscribed to.
pub(crate) struct Subscription {
    /// Made by the server (token `channels`, personal channel, server API), not the client.
    server_side: bool,
    /// When the subscription token expires (Unix seconds).
    expires_at: Option<i64>,
    /// Channel info of this subscriber (raw JSON), for presence and join/leave.
    chan_info: Option<Bytes>,
    /// Whether presence is kept for this subscription (its namespace has presence on).
    presence: bool,
    /// Whether this subscription counts its user once in presence (user-level presence).
    user_presence: bool,
    /// Whether joins and leaves are published (the namespace's join_leave).
    join_leave: bool,
    /// Extended by the sub_refresh proxy at its expiry, not by the client's new token.
    proxy_refresh: bool,
}

/// A commands-per-second budget.
struct RateLimit {
    per_second: u32,
    left: u32,
    window: Instant,
}

impl RateLimit {
    fn allow(&mut self, now: Instant) -> bool {
        if self.per_second == 0 {
            return true;
        }
        if now.duration_since(self.window) >= Duration::from_secs(1) {
            self.window = now;
            self.left = self.per_second;
        }
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        true
    }
}

impl<S> Transport for WebSocketWriter<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn queue(&self, frame: &PreparedFrame) -> Queued {
        match self.queue_prepared(frame) {
            Ok(duplex::Delivery::Queued) => Queued::Yes,
            Ok(duplex::Delivery::Full | duplex::Delivery::Dropped) => Queued::Full,
            Ok(duplex::Delivery::Closed) | Err(_) => Queued::Closed,
        }
    }

    fn flush(&self) {
        self.write_queued();
    }
}

/// Serves one connection until it ends: commands from `inbound`, everything sent through
/// `transport`.
pub(crate) async fn run<I: Inbound>(
    node: Arc<Node>,
    mut inbound: I,
    transport: Box<dyn Transport>,
    encoding: Encoding,
    proxy: Option<Box<crate::proxy::ConnectionState>>,
) {
    let handle = node.new_session(encoding, transport);
    let limits = &node.config().client;
    let now = Instant::now();
    // Without pings, a client that never connects still goes after a while.
    let ping = node.ping_interval().unwrap_or(Duration::from_secs(25));
    let pong = limits.pong_timeout.unwrap_or(Duration::from_secs(10));
    let mut session = Session {
        node: node.clone(),
        handle: handle.clone(),
        connected: false,
        user: String::new(),
        info: None,
        expires_at: None,
        subscriptions: HashMap::new(),
        batch: Vec::new(),
        next_ping: now + ping,
        next_presence: now + limits.presence_update_interval,
        pong_due: None,
        rate: RateLimit {
            per_second: limits.commands_per_second,
            left: limits.commands_per_second,
            window: now,
        },
        proxy,
        emulation_session: inbound.emulation_session().map(Box::from),
    };
    // A client that never sends connect is gone after the ping interval and the pong timeout.
    let connect_deadline = now + ping + pong;
    // Whether the transport failed rather than the client closing (for the webhook).
    let mut lost = false;
    // The handlers' futures are boxed while they run: awaited inline, the largest of them
    // (connect, subscribe with a recovery) would be part of this task's future and so of
    // every idle connection's memory.
    let ending = loop {
        let deadline = session.next_deadline(connect_deadline);
        tokio::select! {
            incoming = inbound.next() => match incoming {
                Incoming::Message(payload) => {
                    if let Err(disconnect) = Box::pin(session.handle_message(&payload)).await {
                        break Some(disconnect);
                    }
                }
                Incoming::Closed => break None,
                Incoming::Lost => {
                    lost = true;
                    break None;
                }
            },
            () = handle.0.wake.notified() => {
                if let Err(disconnect) = Box::pin(session.handle_control()).await {
                    break Some(disconnect);
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                if let Err(disconnect) = Box::pin(session.handle_timer(connect_deadline)).await {
                    break Some(disconnect);
                }
            }
        }
    };
    handle.set_closing();
    Box::pin(session.leave_all()).await;
    // Boxed, like the handlers: its state would otherwise be part of every idle connection.
    Box::pin(session.report_disconnect(match &ending {
        Some(disconnect) => leave::Ending::Server(disconnect),
        None if lost => leave::Ending::Lost,
        None => leave::Ending::Closed,
    }))
    .await;
    node.end_session(&handle, &session.user, ending.as_ref());
    match ending {
        Some(disconnect) => inbound.close(&disconnect).await,
        None => inbound.finish().await,
    }
}

impl Session {
    /// The earliest moment the timer has work: a ping, a pong deadline, an expiry, the backlog.
    fn next_deadline(&self, connect_deadline: Instant) -> Instant {
        let now = Instant::now();
        let mut deadline = if !self.connected {
            connect_deadline
        } else if self.node.ping_interval().is_some() {
            self.next_ping
        } else {
            now + Duration::from_secs(3600)
        };
        if let Some(pong_due) = self.pong_due {
            deadline = deadline.min(pong_due);
        }
        if let Some(at) = self.earliest_expiry() {
            let secs = (at - unix_now()).max(0) as u64;
            deadline = deadline.min(now + Duration::from_secs(secs));
        }
        if self.handle.has_backlog() {
            deadline = deadline.min(now + Duration::from_millis(10));
        }
        if self.subscriptions.values().any(|s| s.presence) {
            deadline = deadline.min(self.next_presence);
        }
        deadline
    }

    /// When the earliest expiry is enforced: a token's `exp` plus the grace Centrifugo gives
    /// an SDK to refresh (`client.expired_close_delay`, `expired_sub_close_delay`).
    fn earliest_expiry(&self) -> Option<i64> {
        let (connection, subscription) = self.expiry_grace();
        self.subscriptions
            .values()
            .filter_map(|s| s.expires_at.map(|at| at + grace_after(s, subscription)))
            .chain(self.expires_at.map(|at| at + connection))
            .min()
    }

    /// The grace after a connection's and a subscription's expiry, in seconds. Zero where a
    /// proxy refreshes: the backend is asked at the expiry itself.
    fn expiry_grace(&self) -> (i64, i64) {
        let client = &self.node.config().client;
        let connection = if self.node.proxies().has_refresh() {
            0
        } else {
            client.expired_close_delay.as_secs() as i64
        };
        (connection, client.expired_sub_close_delay.as_secs() as i64)
    }

    /// Pings, pong deadlines, expiries and the backlog.
    async fn handle_timer(&mut self, connect_deadline: Instant) -> Result<(), Disconnect> {
        let now = Instant::now();
        if self.handle.has_backlog() {
            self.handle.drain_backlog();
        }
        if !self.connected {
            if now >= connect_deadline {
                return Err(Disconnect::STALE);
            }
            return Ok(());
        }
        if self.pong_due.is_some_and(|due| now >= due) {
            return Err(Disconnect::NO_PONG);
        }
        if let Some(interval) = self.node.ping_interval() {
            if now >= self.next_ping {
                // A server ping is an empty reply; the client answers with an empty command.
                self.reply_now(Reply::default());
                self.next_ping = now + interval;
                if let (None, Some(timeout)) =
                    (self.pong_due, self.node.config().client.pong_timeout)
                {
                    self.pong_due = Some(now + timeout);
                }
            }
        }
        if now >= self.next_presence {
            self.next_presence = now + self.node.config().client.presence_update_interval;
            self.refresh_presence().await;
        }
        let unix = unix_now();
        let (connection_grace, subscription_grace) = self.expiry_grace();
        if self
            .expires_at
            .is_some_and(|at| at + connection_grace <= unix)
        {
            self.connection_expired().await?;
        }
        let expired: Vec<Box<str>> = self
            .subscriptions
            .iter()
            .filter(|(_, s)| {
                s.expires_at
                    .is_some_and(|at| at + grace_after(s, subscription_grace) <= unix)
            })
            .map(|(channel, _)| channel.clone())
            .collect();
        for channel in expired {
            self.subscription_expired(&channel).await;
        }
        Ok(())
    }

    /// Renews this connection's presence in every channel that keeps it.
    async fn refresh_presence(&self) {
        let node = &self.node;
        for (channel, subscription) in self.subscriptions.iter().filter(|(_, s)| s.presence) {
            let info = crate::engine::ClientInfo {
                user: self.user.clone(),
                client: self.handle.client().to_owned(),
                conn_info: self.info.clone(),
                chan_info: subscription.chan_info.clone(),
            };
            if let Err(error) = node
                .presence()
                .add_presence(channel, &info, node.presence_ttl())
                .await
            {
                tracing::warn!(%channel, "presence refresh failed: {error}");
            }
        }
    }

    /// Answers every command of one WebSocket message, replies batched into one frame.
    async fn handle_message(&mut self, payload: &[u8]) -> Result<(), Disconnect> {
        // Any message from the client shows it is alive: the pong it owes is as good as paid.
        self.pong_due = None;
        if payload.is_empty() {
            return Err(Disconnect::BAD_REQUEST);
        }
        let mut count = 0;
        for command in protocol::Decoder::<Command>::new(self.handle.encoding(), payload) {
            let command = command.map_err(|e| {
                tracing::debug!(client = %self.handle.client(), "malformed command: {e}");
                Disconnect::BAD_REQUEST
            })?;
            count += 1;
            if count > MAX_COMMANDS_PER_MESSAGE {
                return Err(Disconnect::BAD_REQUEST);
            }
            // The client's pong (an empty command) is not a command to count or limit.
            if self.connected && command == Command::default() {
                continue;
            }
            self.node.metrics().command_received();
            if !self.rate.allow(Instant::now()) {
                if command.id != 0 {
                    self.append_reply(error_reply(command.id, Error::TOO_MANY_REQUESTS));
                }
                continue;
            }
            self.handle_command(command).await?;
        }
        self.flush_batch();
        Ok(())
    }

    /// Dispatches one command.
    async fn handle_command(&mut self, command: Command) -> Result<(), Disconnect> {
        let id = command.id;
        let started = std::time::Instant::now();
        // Only `send` (and the empty pong) may come without an id: every other command wants a
        // reply, which needs one.
        if id == 0 && command.send.is_none() && command != Command::default() {
            return Err(Disconnect::BAD_REQUEST);
        }
        let (method, outcome) = match command {
            Command {
                connect: Some(request),
                ..
            } => ("connect", self.connect(id, request).await?),
            _ if !self.connected => {
                // Nothing but connect is allowed before connect (not even an empty pong).
                return Err(Disconnect::BAD_REQUEST);
            }
            Command {
                subscribe: Some(request),
                ..
            } => ("subscribe", self.subscribe(id, request).await?),
            Command {
                unsubscribe: Some(request),
                ..
            } => ("unsubscribe", self.unsubscribe(request).await),
            Command {
                publish: Some(request),
                ..
            } => ("publish", self.publish(request).await?),
            Command {
                presence: Some(request),
                ..
            } => ("presence", self.presence(request).await),
            Command {
                presence_stats: Some(request),
                ..
            } => ("presence_stats", self.presence_stats(request).await),
            Command {
                history: Some(request),
                ..
            } => ("history", self.history(request).await),
            Command {
                rpc: Some(request), ..
            } => ("rpc", self.rpc(request).await?),
            Command {
                send: Some(request),
                ..
            } => ("send", self.send(request).await),
            Command {
                refresh: Some(request),
                ..
            } => ("refresh", self.refresh(request).await?),
            Command {
                sub_refresh: Some(request),
                ..
            } => ("sub_refresh", self.sub_refresh(request).await?),
            // A v1 ping command: v2 SDKs never send it; Centrifugo closes with 3501.
            Command { ping: Some(_), .. } => return Err(Disconnect::BAD_REQUEST),
            // The client's pong: an empty command, no reply.
            Command { id: 0, .. } => return Ok(()),
            // An id and no request: nothing we know.
            _ => ("unknown", Outcome::Error(Error::METHOD_NOT_FOUND)),
        };
        self.node.metrics().command_done(method, started.elapsed());
        match outcome {
            Outcome::Reply(reply) => {
                let mut reply = *reply;
                if id == 0 {
                    return Err(Disconnect::BAD_REQUEST);
                }
                reply.id = id;
                self.append_reply(reply);
            }
            Outcome::Error(error) => {
                if id == 0 {
                    return Err(Disconnect::BAD_REQUEST);
                }
                self.append_reply(error_reply(id, error));
            }
            Outcome::Nothing => {}
        }
        Ok(())
    }

    /// Adds a reply to the frame being built. A reply whose payload cannot be written in this
    /// connection's encoding (binary data to JSON) closes the connection with 3506.
    fn append_reply(&mut self, reply: Reply) {
        if protocol::encode_reply(self.handle.encoding(), &reply, &mut self.batch).is_err() {
            self.handle
                .control(Control::Disconnect(Disconnect::INAPPROPRIATE_PROTOCOL));
        }
    }

    /// Queues the frame built so far.
    fn flush_batch(&mut self) {
        flush_into(&self.handle, &mut self.batch);
    }

    /// Sends one reply or push at once (with whatever the batch holds).
    fn reply_now(&mut self, reply: Reply) {
        self.append_reply(reply);
        self.flush_batch();
    }

    /// Carries out the node's requests.
    async fn handle_control(&mut self) -> Result<(), Disconnect> {
        if self.handle.has_backlog() {
            self.handle.drain_backlog();
        }
        for request in self.handle.take_control() {
            match request {
                Control::Disconnect(disconnect) => return Err(disconnect),
                Control::Subscribe(request) => self.server_subscribe(request).await,
                Control::Unsubscribe { channel, code } => {
                    self.server_unsubscribe(&channel, code).await;
                }
                Control::Refresh {
                    expired,
                    expire_at,
                    info,
                } => self.server_refresh(expired, expire_at, info)?,
                Control::Message(data) => self.append_reply(Reply {
                    push: Some(protocol::Push {
                        message: Some(protocol::Message { data }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            }
        }
        self.flush_batch();
        Ok(())
    }
}

/// Queues `batch` (encoded replies) on `handle` as one frame.
pub(super) fn flush_into(handle: &SessionHandle, batch: &mut Vec<u8>) {
    if batch.is_empty() {
        return;
    }
    let bytes = Bytes::from(std::mem::take(batch));
    handle.deliver(Outbound::push(frame(handle.encoding(), bytes)));
}

/// The grace after `subscription`'s expiry: `grace`, or none where a proxy refreshes it.
fn grace_after(subscription: &Subscription, grace: i64) -> i64 {
    if subscription.proxy_refresh {
        0
    } else {
        grace
    }
}

/// An error reply to command `id`.
fn error_reply(id: u32, error: Error) -> Reply {
    Reply {
        id,
        error: Some(error.into()),
        ..Default::default()
    }
}

/// Seconds since the Unix epoch, as tokens count time.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
