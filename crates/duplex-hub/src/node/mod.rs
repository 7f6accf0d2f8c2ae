//! The node: the hub's state on this process — its configuration, engine, connections,
//! subscription table, token verifier, hooks and metrics — and the operations that the client
//! sessions and the server API share (publish, history, presence, the targets of the server
//! API's per-user commands). Every rule lives here once; `session/` and `api/` only call it.

pub(crate) mod channels;
mod events;
mod flusher;
mod recovery;
pub(crate) mod sweep;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use crate::auth::TokenVerifier;
use crate::callbacks::{
    Call, ConnectDecision, Connecting, Disconnected, Handler, Publishing, SubscribeDecision,
    Subscribing,
};
use crate::codes::{Disconnect, Error};
use crate::config::{ChannelOptions, HubConfig};
use crate::engine::{
    Broker, ClientInfo, Engine, EngineError, HistoryPage, HistoryQuery, PresenceManager,
    Publication, PublishOptions, StreamOptions, StreamPosition,
};
use crate::metrics::Metrics;
use crate::protocol::ConnectRequest;
use crate::proxy::Proxies;
use crate::session::{client_key, Control, Format, SessionHandle, Transport};
use crate::webhook::{QueueError, WebhookEvent, Webhooks};

use channels::{Channels, Linking, Subscriber};

/// Extra fields of a publication from the server API.
#[derive(Debug, Default, Clone)]
pub struct PublishExtras {
    /// Tags delivered with the publication.
    pub tags: std::collections::BTreeMap<String, String>,
    /// A retry with the same key within a few minutes is not published again.
    pub idempotency_key: Option<String>,
    /// Deliver without keeping it in the channel's history.
    pub skip_history: bool,
    /// Send it as a fossil delta to the subscribers that negotiated deltas, even where the
    /// namespace's `delta_publish` is off (it must still allow `fossil`).
    pub delta: bool,
}

/// The hub's state on this process.
pub(crate) struct Node {
    config: Arc<HubConfig>,
    engine: Engine,
    channels: Arc<Channels>,
    verifier: TokenVerifier,
    handler: Arc<dyn Handler>,
    /// The application's backend, where the configuration sends events to it.
    proxies: Proxies,
    metrics: Metrics,
    sessions: Mutex<Sessions>,
    /// The WebSocket policy of every connection.
    websocket: duplex::ServerBuilder,
    /// Recovery and position reads shared between concurrent subscribers.
    shared_reads: recovery::SharedReads,
    /// A random name for this node, reported by `info`.
    name: String,
    started: std::time::Instant,
    /// Whole seconds since the node started: the unit of sessions' timers (see `sweep`).
    clock: sweep::Clock,
    /// Disconnect and unsubscribe events for the application, when `webhook.enabled`.
    webhooks: Option<Webhooks>,
    /// The Pusher apps served (`pusher.apps`), with their webhook sinks.
    pusher_apps: Arc<crate::pusher::apps::Apps>,
}

/// The connected sessions, by client id (as a number: see `session::client_key`) and by user
/// (keyed by the session's own `Arc<str>`, not a copy). Every connection has an entry in both.
#[derive(Default)]
struct Sessions {
    by_client: HashMap<u128, SessionHandle>,
    by_user: HashMap<Arc<str>, UserSessions>,
}

/// One user's sessions: most users have one, which needs no vector.
enum UserSessions {
    One(SessionHandle),
    Many(Vec<SessionHandle>),
}

impl UserSessions {
    fn len(&self) -> usize {
        match self {
            UserSessions::One(_) => 1,
            UserSessions::Many(list) => list.len(),
        }
    }

    fn push(&mut self, handle: SessionHandle) {
        match self {
            UserSessions::One(first) => {
                *self = UserSessions::Many(vec![first.clone(), handle]);
            }
            UserSessions::Many(list) => list.push(handle),
        }
    }

    /// Removes session `id`; true if none is left.
    fn remove(&mut self, id: u64) -> bool {
        match self {
            UserSessions::One(only) => only.id() == id,
            UserSessions::Many(list) => {
                list.retain(|s| s.id() != id);
                match &list[..] {
                    [] => true,
                    [last] => {
                        *self = UserSessions::One(last.clone());
                        false
                    }
                    _ => false,
                }
            }
        }
    }

    fn to_vec(&self) -> Vec<SessionHandle> {
        match self {
            UserSessions::One(only) => vec![only.clone()],
            UserSessions::Many(list) => list.clone(),
        }
    }
}

impl Node {
    /// The node; its webhook queue (when webhooks are on) in the SQLite file `webhook_queue`,
    /// or in memory without one.
    pub(crate) fn new(
        config: HubConfig,
        engine: Engine,
        verifier: TokenVerifier,
        handler: Arc<dyn Handler>,
        proxies: Proxies,
        webhook_queue: Option<&std::path::Path>,
    ) -> Result<Arc<Node>, QueueError> {
        let mut config = config;
        config.add_pusher_namespaces();
        let metrics = Metrics::new();
        let channels = Arc::new(Channels::new(
            metrics.fan_out_counters(),
            config.client.batch_from_subscribers,
        ));
        let shared_reads =
            recovery::SharedReads::new(channels.clone(), metrics.subscriber_history_reads());
        let webhooks = Webhooks::open(&config.webhook, webhook_queue, metrics.webhooks().clone())?;
        // A Pusher app's webhooks wait beside the hub's own.
        let pusher_apps = Arc::new(crate::pusher::apps::Apps::new(
            &config.pusher,
            &config.webhook,
            webhook_queue.and_then(std::path::Path::parent),
        )?);
        Ok(Arc::new(Node {
            websocket: crate::transport::websocket::server_builder(&config),
            config: Arc::new(config),
            engine,
            channels,
            verifier,
            handler,
            proxies,
            metrics,
            sessions: Mutex::new(Sessions::default()),
            shared_reads,
            name: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
            started: std::time::Instant::now(),
            clock: sweep::Clock::new(),
            webhooks,
            pusher_apps,
        }))
    }

    /// Connects the engine's events to this node and starts the webhook worker; once, before
    /// serving.
    pub(crate) async fn start(node: &Arc<Node>) -> Result<(), EngineError> {
        node.engine
            .broker
            .start(Arc::new(events::Events::new(Arc::downgrade(node))))
            .await?;
        if let Some(webhooks) = &node.webhooks {
            webhooks.start();
        }
        node.pusher_apps.start();
        tokio::spawn(sweep::run(Arc::downgrade(node)));
        Ok(())
    }

    /// Queues a webhook event, when webhooks are on and want its kind; returns once it is
    /// committed to the queue.
    pub(crate) async fn webhook(&self, event: impl FnOnce() -> WebhookEvent) {
        if let Some(webhooks) = &self.webhooks {
            webhooks.emit(&event()).await;
        }
    }

    /// Webhook events owed to the application; `None` when webhooks are off.
    pub(crate) fn webhooks_owed(&self) -> Option<usize> {
        self.webhooks.as_ref().map(Webhooks::owed)
    }

    pub(crate) fn pusher_apps(&self) -> &Arc<crate::pusher::apps::Apps> {
        &self.pusher_apps
    }

    pub(crate) fn config(&self) -> &HubConfig {
        &self.config
    }

    pub(crate) fn websocket_server(&self) -> &duplex::ServerBuilder {
        &self.websocket
    }

    pub(crate) fn channels(&self) -> &Channels {
        &self.channels
    }

    pub(crate) fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub(crate) fn broker(&self) -> &dyn Broker {
        &*self.engine.broker
    }

    pub(crate) fn presence(&self) -> &dyn PresenceManager {
        &*self.engine.presence
    }

    pub(crate) fn proxies(&self) -> &Proxies {
        &self.proxies
    }

    pub(crate) fn callbacks(&self) -> Callbacks<'_> {
        Callbacks(&*self.handler)
    }

    /// This node's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The clock of sessions' timers.
    pub(crate) fn clock(&self) -> &sweep::Clock {
        &self.clock
    }

    /// The connected sessions with a deadline at or before tick `now`.
    pub(crate) fn sessions_due(&self, now: u32) -> Vec<SessionHandle> {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions
            .by_client
            .values()
            .filter(|session| session.due() <= now)
            .cloned()
            .collect()
    }

    /// How long this node has run.
    pub(crate) fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// How long a presence entry lives without being refreshed: a node that died stops
    /// showing its clients after this.
    pub(crate) fn presence_ttl(&self) -> Duration {
        // Two refreshes may be missed (81 s by default; Centrifugo keeps 60 s).
        self.config.client.presence_update_interval * 3
    }

    /// A new session for an accepted connection.
    pub(crate) fn new_session(
        &self,
        format: impl Into<Format>,
        transport: Transport,
    ) -> SessionHandle {
        self.metrics.connection_opened();
        SessionHandle::new(
            uuid::Uuid::new_v4(),
            format.into(),
            transport,
            self.config.client.queue_max_size,
        )
    }

    /// Counts a connected user, within the per-user connection limit.
    pub(crate) fn register(&self, handle: &SessionHandle, user: &str) -> Result<(), Disconnect> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let limit = self.config.client.user_connection_limit;
        let user = match sessions.by_user.get_key_value(user) {
            Some((known, mine)) => {
                if limit > 0 && !user.is_empty() && mine.len() >= limit {
                    return Err(Disconnect::CONNECTION_LIMIT);
                }
                known.clone()
            }
            None => Arc::from(user),
        };
        match sessions.by_user.get_mut(&user) {
            Some(mine) => mine.push(handle.clone()),
            None => {
                sessions
                    .by_user
                    .insert(user.clone(), UserSessions::One(handle.clone()));
            }
        }
        handle.set_user(user);
        sessions
            .by_client
            .insert(handle.client_key(), handle.clone());
        Ok(())
    }

    /// Forgets a session that ended.
    pub(crate) fn end_session(&self, handle: &SessionHandle, user: &str, why: Option<&Disconnect>) {
        {
            let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
            if sessions.by_client.remove(&handle.client_key()).is_some() {
                let gone = sessions
                    .by_user
                    .get_mut(user)
                    .is_some_and(|mine| mine.remove(handle.id()));
                if gone {
                    sessions.by_user.remove(user);
                }
            }
        }
        self.metrics.connection_closed(why);
        self.handler.on_disconnect(Disconnected {
            client: handle.client(),
            user,
            disconnect: why,
        });
    }

    /// The sessions the server API's per-user commands address: a user's, or one client.
    pub(crate) fn targets(&self, user: &str, client: Option<&str>) -> Vec<SessionHandle> {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        match client.filter(|c| !c.is_empty()) {
            Some(client) => client_key(client)
                .and_then(|key| sessions.by_client.get(&key))
                .filter(|s| user.is_empty() || s.user() == user)
                .cloned()
                .into_iter()
                .collect(),
            None => sessions
                .by_user
                .get(user)
                .map(UserSessions::to_vec)
                .unwrap_or_default(),
        }
    }

    /// Asks every session of `user` (or one client) to do something.
    pub(crate) fn control_user(&self, user: &str, client: Option<&str>, request: Control) -> usize {
        let targets = self.targets(user, client);
        for target in &targets {
            target.control(request.clone());
        }
        targets.len()
    }

    /// Every connected session.
    pub(crate) fn all_sessions(&self) -> Vec<SessionHandle> {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.by_client.values().cloned().collect()
    }

    /// How many clients and distinct users are connected.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        (
            sessions.by_client.len(),
            sessions.by_user.keys().filter(|u| !u.is_empty()).count(),
        )
    }

    /// The options of a channel's namespace; 102 for an unknown namespace or a bad name.
    pub(crate) fn channel_options(&self, channel: &str) -> Result<ChannelOptions, Error> {
        self.config
            .channel_options(channel)
            .map(|(options, _)| options.clone())
            .map_err(|_| Error::UNKNOWN_CHANNEL)
    }

    /// The ping interval (`None`: no pings).
    pub(crate) fn ping_interval(&self) -> Option<Duration> {
        self.config.client.ping_interval.filter(|d| !d.is_zero())
    }

    /// For a user-limited channel (`dialog#42,43`) whose namespace allows them: whether `user`
    /// is one of its users. `None` for any other channel.
    pub(crate) fn user_limited(
        &self,
        channel: &str,
        options: &ChannelOptions,
        user: &str,
    ) -> Option<bool> {
        if !options.allow_user_limited_channels {
            return None;
        }
        let (_, name) = self.config.channel_options(channel).ok()?;
        if !name.is_user_limited() {
            return None;
        }
        Some(name.allows_user(user))
    }

    /// The personal channel of `user`, when the hub subscribes users to theirs on connect.
    pub(crate) fn personal_channel(&self, user: &str) -> Option<String> {
        self.config.personal_channel(user)
    }

    /// The history stream of a namespace.
    pub(crate) fn stream_options(&self, options: &ChannelOptions) -> StreamOptions {
        let meta_ttl = if options.history_meta_ttl.is_zero() {
            self.config.channel.history_meta_ttl
        } else {
            options.history_meta_ttl
        };
        StreamOptions {
            size: usize::try_from(options.history_size).unwrap_or(usize::MAX),
            ttl: options.history_ttl,
            meta_ttl: Some(meta_ttl),
        }
    }

    /// Publishes into a channel whose options are known: history (if the namespace keeps
    /// it), then every subscriber on every node.
    pub(crate) async fn publish_in(
        &self,
        channel: &str,
        options: &ChannelOptions,
        data: Bytes,
        info: Option<ClientInfo>,
        extras: PublishExtras,
    ) -> Result<Option<StreamPosition>, Error> {
        let stream = self.stream_options(options);
        let publish = PublishOptions {
            stream: (stream.keeps_history() && !extras.skip_history).then_some(stream),
            idempotency_key: extras.idempotency_key,
            ..Default::default()
        };
        let publication = Publication {
            offset: 0,
            data,
            info,
            tags: extras.tags,
            time_ms: 0,
            delta: extras.delta,
        };
        self.metrics.published();
        match self
            .engine
            .broker
            .publish(channel, publication, &publish)
            .await
        {
            Ok(outcome) => Ok(publish.stream.is_some().then_some(outcome.position)),
            Err(error) => {
                tracing::warn!(%channel, "publish failed: {error}");
                Err(Error::INTERNAL)
            }
        }
    }

    /// Adds a subscriber to this node's table and returns once the broker sends this node the
    /// channel's events: the channel's first subscriber here asks the broker for them, later
    /// ones wait for that ask (or take it over if it was abandoned). A subscriber whose ask
    /// failed, or who waited for one that did, is taken out again. Returns whether it was the
    /// first, and the table's name of the channel, which the session keeps instead of a copy
    /// of its own.
    pub(crate) async fn add_subscriber(
        &self,
        channel: &str,
        subscriber: Subscriber,
    ) -> Result<(bool, Arc<str>), EngineError> {
        let session_id = subscriber.session.id();
        let (first, name, mut linking) = self.channels.add(channel, subscriber);
        let failed = loop {
            match linking {
                Linking::Up => return Ok((first, name)),
                Linking::Ask(outcome) => {
                    let asked = self.engine.broker.subscribe(channel).await;
                    self.channels.linked(channel, outcome, asked.is_ok());
                    match asked {
                        Ok(()) => return Ok((first, name)),
                        Err(error) => {
                            tracing::warn!(%channel, "broker subscribe failed: {error}");
                            break error;
                        }
                    }
                }
                Linking::Wait(mut outcome) => {
                    let waited = outcome.wait_for(Option::is_some).await.map(|up| *up);
                    match waited {
                        Ok(Some(true)) => return Ok((first, name)),
                        Ok(_) => {
                            break EngineError::Unavailable(
                                "the broker subscribe for the channel failed".to_owned(),
                            )
                        }
                        // The subscriber asking went away before the broker answered.
                        Err(_) => match self.channels.linking(channel) {
                            Some(next) => linking = next,
                            None => {
                                break EngineError::Unavailable(
                                    "the channel was left meanwhile".to_owned(),
                                )
                            }
                        },
                    }
                }
            }
        };
        self.channels.remove(channel, session_id);
        Err(failed)
    }

    /// Reads a channel's stream for a subscriber's recovery or position; concurrent reads of
    /// one channel share one engine read (see `recovery.rs`), so a mass reconnect reads each
    /// channel's missed range once, not once per client.
    pub(crate) async fn subscriber_history(
        &self,
        channel: &str,
        query: &HistoryQuery,
        stream: &StreamOptions,
    ) -> Result<HistoryPage, EngineError> {
        self.shared_reads
            .history(&self.engine.broker, channel, query, stream)
            .await
    }

    /// Reads a channel's history.
    pub(crate) async fn history_in(
        &self,
        channel: &str,
        options: &ChannelOptions,
        query: &HistoryQuery,
    ) -> Result<HistoryPage, Error> {
        let stream = self.stream_options(options);
        if !stream.keeps_history() {
            return Err(Error::NOT_AVAILABLE);
        }
        self.engine
            .broker
            .history(channel, query, &stream)
            .await
            .map_err(|error| match error {
                EngineError::UnrecoverablePosition => Error::UNRECOVERABLE_POSITION,
                error => {
                    tracing::warn!(%channel, "history failed: {error}");
                    Error::INTERNAL
                }
            })
    }
}

/// The application's hooks, called with what the session knows.
pub(crate) struct Callbacks<'a>(&'a dyn Handler);

impl Callbacks<'_> {
    pub(crate) async fn connecting(
        &self,
        handle: &SessionHandle,
        user: Option<&str>,
        request: &ConnectRequest,
    ) -> Result<ConnectDecision, Disconnect> {
        self.0
            .on_connecting(Connecting {
                client: handle.client(),
                user: user.unwrap_or(""),
                authenticated: user.is_some(),
                data: &request.data,
                name: &request.name,
                version: &request.version,
            })
            .await
    }

    pub(crate) async fn subscribing(
        &self,
        handle: &SessionHandle,
        user: &str,
        channel: &str,
    ) -> Result<SubscribeDecision, Error> {
        self.0
            .on_subscribe(Subscribing {
                client: handle.client(),
                user,
                channel,
            })
            .await
    }

    pub(crate) async fn publishing(
        &self,
        handle: &SessionHandle,
        user: &str,
        channel: &str,
        data: Bytes,
    ) -> Result<Bytes, Error> {
        self.0
            .on_publish(Publishing {
                client: handle.client(),
                user,
                channel,
                data,
            })
            .await
    }

    pub(crate) async fn rpc(
        &self,
        handle: &SessionHandle,
        user: &str,
        method: &str,
        data: Bytes,
    ) -> Result<Bytes, Error> {
        self.0
            .on_rpc(Call {
                client: handle.client(),
                user,
                method,
                data,
            })
            .await
    }

    pub(crate) async fn message(&self, handle: &SessionHandle, user: &str, data: Bytes) {
        self.0
            .on_message(Call {
                client: handle.client(),
                user,
                method: "",
                data,
            })
            .await
    }
}
