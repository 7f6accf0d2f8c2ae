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
mod subscriptions;

use std::future::Future;
use std::num::NonZeroI64;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::{Instant, Sleep};

use crate::codes::{Disconnect, Error};
use crate::node::sweep::NEVER;
use crate::node::Node;
use crate::protocol::{self, Command, Encoding, Reply};

pub(crate) use connect::VERSION;
pub(crate) use control::{Control, ServerSubscribe};
pub(crate) use inbound::{Inbound, Incoming};
pub(crate) use outbound::{
    client_key, frame, Format, Offer, Offered, Outbound, Queued, SessionHandle, Transport,
};
use subscriptions::{Subscription, Subscriptions};

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
    /// Connection info (raw JSON) from the token or a callback. Boxed: 32 bytes inline in
    /// every connection, and many have none.
    info: Option<Box<Bytes>>,
    /// When the connection's credentials expire (Unix seconds); `None`: never (see
    /// `set_expiry`).
    expires_at: Option<NonZeroI64>,
    subscriptions: Subscriptions,
    /// Replies of the message being answered, encoded into one frame. Boxed, and gone
    /// between messages: 24 bytes inline in every idle connection for a buffer that is only
    /// ever empty there.
    #[expect(
        clippy::box_collection,
        reason = "8 bytes in every idle connection instead of 24, for a buffer only a message in hand uses"
    )]
    batch: Option<Box<Vec<u8>>>,
    /// When presence entries are next refreshed (they expire unless renewed, so that a dead
    /// node's clients disappear). This and the next two are ticks of the node's clock
    /// (`node::sweep`), whose sweep wakes the session when the earliest comes.
    next_presence: u32,
    /// When the next server ping is due, and the pong deadline of the last one (`NEVER`:
    /// no pong owed).
    next_ping: u32,
    pong_due: u32,
    /// Before connect: when a client that has not sent it is dropped.
    connect_due: u32,
    /// Commands allowed before the rate limit's window refills.
    rate: RateLimit,
    /// Proxy state and the emulation session id; `None` for most connections.
    rare: Option<Box<Rare>>,
}

/// A per-second budget (commands, or a Pusher connection's client events), refilled at each
/// tick of the node's clock. The rate itself is the configuration's, passed in rather than
/// kept in every session.
pub(crate) struct RateLimit {
    left: u32,
    window: u32,
}

impl RateLimit {
    /// A full budget of `per_second` for the tick `now`.
    pub(crate) fn new(per_second: u32, now: u32) -> Self {
        RateLimit {
            left: per_second,
            window: now,
        }
    }

    /// Whether one more is allowed at tick `now`; `per_second` 0 is unlimited.
    pub(crate) fn allow(&mut self, per_second: u32, now: u32) -> bool {
        if per_second == 0 {
            return true;
        }
        if now != self.window {
            self.window = now;
            self.left = per_second;
        }
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        true
    }
}

/// What few connections have, boxed together so that the others pay 8 bytes for it.
struct Rare {
    /// What proxies to the application forward (headers) and keep (meta); `None` without
    /// proxies that need it.
    proxy: Option<crate::proxy::ConnectionState>,
    /// On an emulated transport (HTTP-streaming, SSE), the id its commands quote; sent in the
    /// connect reply.
    emulation_session: Option<Box<str>>,
}

/// Serves one connection until it ends: commands from `inbound`, everything sent through
/// `transport`.
pub(crate) fn run<I: Inbound>(
    node: Arc<Node>,
    inbound: I,
    transport: Transport,
    encoding: Encoding,
    proxy: Option<crate::proxy::ConnectionState>,
) -> impl Future<Output = ()> + Send {
    let handle = node.new_session(encoding, transport);
    let limits = &node.config().client;
    let clock = node.clock();
    // Without pings, a client that never connects still goes after a while.
    let ping = node.ping_interval().unwrap_or(Duration::from_secs(25));
    let pong = limits.pong_timeout.unwrap_or(Duration::from_secs(10));
    let session = Session {
        node: node.clone(),
        handle,
        connected: false,
        info: None,
        expires_at: None,
        subscriptions: Subscriptions::default(),
        batch: None,
        next_ping: clock.now() + whole_seconds(ping),
        // A client that never sends connect is gone after the ping interval and the pong
        // timeout.
        connect_due: clock.after(ping + pong),
        next_presence: clock.now() + whole_seconds(limits.presence_update_interval),
        pong_due: NEVER,
        rate: RateLimit::new(limits.commands_per_second, clock.now()),
        rare: match (proxy, inbound.emulation_session()) {
            (None, None) => None,
            (proxy, emulation_session) => Some(Box::new(Rare {
                proxy,
                emulation_session: emulation_session.map(Box::from),
            })),
        },
    };
    Connection {
        session,
        inbound,
        timer: None,
        wake_first: false,
    }
    .serve()
}

/// A connection's task: its session, where its commands come from, and the one timer it may
/// need for a while (see `node::sweep` for the others).
///
/// Every idle connection holds this, so what it does not need while idle stays out of it: the
/// command handlers' futures are boxed while they run (awaited inline, the largest of them,
/// connect or a subscribe with a recovery, would be part of every idle connection's memory),
/// the wait is one poll function that keeps no future of its own (`poll_event`), and the
/// timer is boxed and dropped once connected, unless a backlog waits.
struct Connection<I> {
    session: Session,
    inbound: I,
    /// Until connect: its deadline. After: set only while a backlog waits to be drained.
    timer: Option<Pin<Box<Sleep>>>,
    /// Whether wake-ups go before messages in the next wait (they take turns).
    wake_first: bool,
}

impl<I: Inbound> Connection<I> {
    /// Written as a method returning a future, with `self` used in place, because an `async
    /// fn`'s arguments are moved into locals that keep a second slot in its state.
    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn would keep a second copy of `self` in every connection's task"
    )]
    fn serve(mut self) -> impl Future<Output = ()> + Send {
        async move {
            // Whether the transport failed rather than the client closing (for the webhook).
            let mut lost = false;
            let ending = loop {
                self.session.handle.set_due(self.session.next_due());
                self.arm_timer();
                let event = match std::future::poll_fn(|cx| self.poll_event(cx)).await {
                    Ok(event) => event,
                    Err(Ending::Server(disconnect)) => break Some(disconnect),
                    Err(Ending::Client { lost: was_lost }) => {
                        lost = was_lost;
                        break None;
                    }
                };
                if let Err(disconnect) = Box::pin(self.session.handle_event(event)).await {
                    break Some(disconnect);
                }
            };
            // Boxed, like the handlers: the ending's state would otherwise be part of every
            // idle connection.
            Box::pin(self.finish(ending, lost)).await;
        }
    }

    /// Ends the session: its subscriptions, the application's event, the node's records, and
    /// the connection itself.
    async fn finish(self, ending: Option<Disconnect>, lost: bool) {
        let Connection {
            mut session,
            inbound,
            ..
        } = self;
        let handle = session.handle.clone();
        handle.set_closing();
        session.leave_all().await;
        session
            .report_disconnect(match &ending {
                Some(disconnect) => leave::Ending::Server(disconnect),
                None if lost => leave::Ending::Lost,
                None => leave::Ending::Closed,
            })
            .await;
        session
            .node
            .end_session(&handle, session.user(), ending.as_ref());
        match ending {
            Some(disconnect) => inbound.close(&disconnect).await,
            None => inbound.finish().await,
        }
    }

    /// Waits for what comes next: a message, a wake-up, the timer. Wake-ups and messages take
    /// turns going first, so that neither a chatty client nor a busy node starves the other.
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Result<Event, Ending>> {
        self.wake_first = !self.wake_first;
        if self.wake_first && self.session.handle.poll_woken(cx).is_ready() {
            return Poll::Ready(Ok(Event::Wake));
        }
        if let Poll::Ready(incoming) = self.inbound.poll_next(cx) {
            return Poll::Ready(match incoming {
                Incoming::Message(payload) => Ok(Event::Message(payload)),
                Incoming::Closed => Err(Ending::Client { lost: false }),
                Incoming::Lost => Err(Ending::Client { lost: true }),
            });
        }
        if !self.wake_first && self.session.handle.poll_woken(cx).is_ready() {
            return Poll::Ready(Ok(Event::Wake));
        }
        if let Some(timer) = &mut self.timer {
            if timer.as_mut().poll(cx).is_ready() {
                let session = &self.session;
                if !session.connected && session.node.clock().now() >= session.connect_due {
                    return Poll::Ready(Err(Ending::Server(Disconnect::STALE)));
                }
                return Poll::Ready(Ok(Event::Timer));
            }
        }
        Poll::Pending
    }

    /// Sets the timer for what needs finer timing than the node's sweep: the connect
    /// deadline, and the backlog's next drain (every 10 ms while it waits).
    fn arm_timer(&mut self) {
        let at = if self.session.handle.has_backlog() {
            Some(Instant::now() + Duration::from_millis(10))
        } else if !self.session.connected {
            Some(self.session.node.clock().instant(self.session.connect_due))
        } else {
            None
        };
        match (at, &mut self.timer) {
            (None, timer) => *timer = None,
            (Some(at), Some(sleep)) => {
                if sleep.deadline() != at {
                    sleep.as_mut().reset(at);
                }
            }
            (Some(at), timer) => *timer = Some(Box::pin(tokio::time::sleep_until(at))),
        }
    }
}

/// Why a connection's loop ends, before its session is finished.
enum Ending {
    /// The hub ends it with this code.
    Server(Disconnect),
    /// The client closed it, or (`lost`) the transport failed under it.
    Client { lost: bool },
}

/// What woke a connection's task.
enum Event {
    /// A message of commands from the client.
    Message(Bytes),
    /// A request from the node, a backlog to drain, or (from the node's sweep) a deadline.
    Wake,
    /// The connection's own timer (see [`Connection::arm_timer`]).
    Timer,
}

/// A duration in whole seconds as the node's clock counts: rounded up, at least one.
pub(crate) fn whole_seconds(duration: Duration) -> u32 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    seconds.clamp(1, u64::from(u32::MAX / 2)) as u32
}

impl Session {
    /// The authenticated user: "" for anonymous, or before connect.
    fn user(&self) -> &str {
        self.handle.user_str()
    }

    /// What proxies forward from this connection, when some proxy needs it.
    fn proxy_state(&self) -> Option<&crate::proxy::ConnectionState> {
        self.rare.as_ref()?.proxy.as_ref()
    }

    fn proxy_state_mut(&mut self) -> Option<&mut crate::proxy::ConnectionState> {
        self.rare.as_mut()?.proxy.as_mut()
    }

    /// On an emulated transport, the session id its commands quote.
    fn emulation_session(&self) -> Option<&str> {
        self.rare.as_ref()?.emulation_session.as_deref()
    }

    /// Records when the connection's credentials expire (`None`, 0 or less: never, as a
    /// server API refresh's `expire_at` has always been read).
    fn set_expiry(&mut self, at: Option<i64>) {
        self.expires_at = at.filter(|at| *at > 0).and_then(NonZeroI64::new);
    }

    /// The tick of the node's clock at which the timers next have work: a ping, a pong
    /// deadline, an expiry, a presence refresh. `NEVER` before connect: the connect deadline
    /// is the connection's own timer, and the sweep looks only at connected sessions.
    fn next_due(&self) -> u32 {
        if !self.connected {
            return NEVER;
        }
        let mut due = self.pong_due;
        if self.node.ping_interval().is_some() {
            due = due.min(self.next_ping);
        }
        if let Some(at) = self.earliest_expiry() {
            due = due.min(self.node.clock().at_unix(at, unix_now()));
        }
        if self.subscriptions.values().any(|s| s.presence) {
            due = due.min(self.next_presence);
        }
        due
    }

    /// When the earliest expiry is enforced: a token's `exp` plus the grace Centrifugo gives
    /// an SDK to refresh (`client.expired_close_delay`, `expired_sub_close_delay`).
    fn earliest_expiry(&self) -> Option<i64> {
        let (connection, subscription) = self.expiry_grace();
        self.subscriptions
            .values()
            .filter_map(|s| s.expires_at().map(|at| at + grace_after(s, subscription)))
            .chain(self.expires_at.map(|at| at.get() + connection))
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

    /// Handles what woke the connection's task. Boxed by the caller while it runs, so the
    /// handlers' futures (connect, a subscribe with a recovery) are not part of every idle
    /// connection's memory.
    async fn handle_event(&mut self, event: Event) -> Result<(), Disconnect> {
        match event {
            Event::Message(payload) => self.handle_message(&payload).await,
            Event::Wake => {
                self.handle_control().await?;
                self.handle_timer().await
            }
            Event::Timer => self.handle_timer().await,
        }
    }

    /// Pings, pong deadlines, expiries and the backlog: whatever is due.
    async fn handle_timer(&mut self) -> Result<(), Disconnect> {
        if self.handle.has_backlog() {
            self.handle.drain_backlog();
        }
        if !self.connected {
            return Ok(());
        }
        let clock = *self.node.clock();
        let now = clock.now();
        if now >= self.pong_due {
            return Err(Disconnect::NO_PONG);
        }
        if let Some(interval) = self.node.ping_interval() {
            if now >= self.next_ping {
                // A server ping is an empty reply; the client answers with an empty command.
                self.reply_now(Reply::default());
                self.next_ping = now + whole_seconds(interval);
                if let (NEVER, Some(timeout)) =
                    (self.pong_due, self.node.config().client.pong_timeout)
                {
                    self.pong_due = clock.after(timeout);
                }
            }
        }
        if now >= self.next_presence {
            self.next_presence =
                now + whole_seconds(self.node.config().client.presence_update_interval);
            self.refresh_presence().await;
        }
        let unix = unix_now();
        let (connection_grace, subscription_grace) = self.expiry_grace();
        if self
            .expires_at
            .is_some_and(|at| at.get() + connection_grace <= unix)
        {
            self.connection_expired().await?;
        }
        let expired: Vec<Arc<str>> = self
            .subscriptions
            .iter()
            .filter(|(_, s)| {
                s.expires_at()
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
                user: self.user().to_owned(),
                client: self.handle.client().to_owned(),
                conn_info: self.info.as_deref().cloned(),
                chan_info: subscription.chan_info().cloned(),
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
        self.pong_due = NEVER;
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
            let per_second = self.node.config().client.commands_per_second;
            if !self.rate.allow(per_second, self.node.clock().now()) {
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
        let batch = self.batch.get_or_insert_default();
        if protocol::encode_reply(self.handle.encoding(), &reply, batch).is_err() {
            self.handle
                .control(Control::Disconnect(Disconnect::INAPPROPRIATE_PROTOCOL));
        }
    }

    /// Queues the frame built so far.
    fn flush_batch(&mut self) {
        if let Some(mut batch) = self.batch.take() {
            flush_into(&self.handle, &mut batch);
        }
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
