//! [`Client`]: the handle a program calls. Each call is a message to the client's task (which
//! owns the socket), answered through a oneshot channel; the handle enforces the request's
//! timeout, so a request waits at most that long whether the hub is slow, the connection is
//! down, or it is being re-established.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use duplex_hub::protocol::{
    ClientInfo, Command, HistoryRequest, HistoryResult, PresenceRequest, PresenceStatsRequest,
    PresenceStatsResult, PublishRequest, Reply, RpcRequest, StreamPosition,
};
use tokio::sync::{mpsc, oneshot};

use crate::error::Error;
use crate::subscription::{Subscription, SubscriptionOptions};

/// A message from a handle to the client's task.
#[derive(Debug)]
pub(crate) enum Control {
    /// Send this command (its `id` is set by the task) and answer with the reply.
    Request {
        command: Box<Command>,
        reply: oneshot::Sender<Result<Reply, Error>>,
    },
    /// Subscribe now, or as soon as connected.
    Subscribe {
        channel: String,
        options: SubscriptionOptions,
        done: oneshot::Sender<Result<(), Error>>,
    },
    /// Leave a channel.
    Unsubscribe {
        channel: String,
        done: oneshot::Sender<()>,
    },
    /// Close and stop for good.
    Disconnect { done: oneshot::Sender<()> },
}

/// A connection to the hub that stays up by itself: a cheap handle, clone it freely. The
/// client stops when [`Client::disconnect`] is called, on a terminal disconnect, or when every
/// handle (subscriptions included) is dropped.
///
/// ```no_run
/// # async fn run() -> Result<(), duplex_hub_client::Error> {
/// use duplex_hub_client::{ClientBuilder, Event};
///
/// let (client, mut events) = ClientBuilder::new("ws://127.0.0.1:8000/connection/websocket")
///     .token("eyJ...")
///     .connect();
/// client.subscribe("chat:lobby").await?;
/// client.publish("chat:lobby", r#"{"text":"hi"}"#).await?;
/// while let Some(event) = events.recv().await {
///     if let Event::Publication { data, .. } = event {
///         println!("{}", String::from_utf8_lossy(&data));
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    control: mpsc::UnboundedSender<Control>,
    timeout: Duration,
}

/// Which part of a channel's history to read.
///
/// ```
/// use duplex_hub_client::HistoryOptions;
///
/// let last_ten = HistoryOptions::last(10);
/// let missed = HistoryOptions::since(41, "xyz").limit(100);
/// # let _ = (last_ten, missed);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryOptions {
    /// At most this many publications: 0 for the stream position only, -1 for all the hub
    /// allows.
    pub limit: i32,
    /// Start after this position (none: from the start, or from the end with `reverse`).
    pub since: Option<StreamPosition>,
    /// Newest first.
    pub reverse: bool,
}

impl HistoryOptions {
    /// The last `limit` publications, oldest first.
    pub fn last(limit: i32) -> HistoryOptions {
        HistoryOptions {
            limit,
            since: None,
            reverse: false,
        }
    }

    /// The publications after `offset` in `epoch`, oldest first (all the hub allows).
    pub fn since(offset: u64, epoch: impl Into<String>) -> HistoryOptions {
        HistoryOptions {
            limit: -1,
            since: Some(StreamPosition {
                offset,
                epoch: epoch.into(),
            }),
            reverse: false,
        }
    }

    /// At most `limit` publications.
    pub fn limit(mut self, limit: i32) -> HistoryOptions {
        self.limit = limit;
        self
    }

    /// Newest first.
    pub fn reverse(mut self, reverse: bool) -> HistoryOptions {
        self.reverse = reverse;
        self
    }
}

impl Client {
    pub(crate) fn new(control: mpsc::UnboundedSender<Control>, timeout: Duration) -> Client {
        Client { control, timeout }
    }

    /// A handle to the same client whose requests time out after `timeout` instead.
    ///
    /// ```no_run
    /// # async fn run(client: duplex_hub_client::Client) -> Result<(), duplex_hub_client::Error> {
    /// use std::time::Duration;
    /// let answer = client.with_timeout(Duration::from_secs(30)).rpc("report", "{}").await?;
    /// # Ok(()) }
    /// ```
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            control: self.control.clone(),
            timeout,
        }
    }

    /// This handle's request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Subscribes to a public channel (no token); see [`Client::subscribe_with`].
    ///
    /// ```no_run
    /// # async fn run(client: duplex_hub_client::Client) -> Result<(), duplex_hub_client::Error> {
    /// let news = client.subscribe("news").await?;
    /// assert_eq!(news.channel(), "news");
    /// # Ok(()) }
    /// ```
    pub async fn subscribe(&self, channel: &str) -> Result<Subscription, Error> {
        self.subscribe_with(channel, SubscriptionOptions::new())
            .await
    }

    /// Subscribes to a channel, now or as soon as the client is connected, and again after
    /// every reconnect (recovering what was missed). The outcome comes as an event:
    /// [`Event::Subscribed`](crate::Event::Subscribed), or
    /// [`Event::Unsubscribed`](crate::Event::Unsubscribed) with the hub's error code. Fails
    /// only if the client is closed ([`Error::Closed`]) or already has the channel (105, as
    /// the hub would answer).
    ///
    /// ```no_run
    /// # async fn run(client: duplex_hub_client::Client) -> Result<(), duplex_hub_client::Error> {
    /// use duplex_hub_client::{SubscriptionOptions, TokenError};
    /// let options = SubscriptionOptions::new()
    ///     .token_callback(|| async { Ok::<_, TokenError>("eyJ...".to_owned()) });
    /// let private = client.subscribe_with("$private:42", options).await?;
    /// # Ok(()) }
    /// ```
    pub async fn subscribe_with(
        &self,
        channel: &str,
        options: SubscriptionOptions,
    ) -> Result<Subscription, Error> {
        let (done, answer) = oneshot::channel();
        self.send(Control::Subscribe {
            channel: channel.to_owned(),
            options,
            done,
        })?;
        answer.await.map_err(|_| Error::Closed)??;
        Ok(Subscription::new(channel.to_owned(), self.clone()))
    }

    /// Leaves a channel; an [`Event::Unsubscribed`](crate::Event::Unsubscribed) with code 0
    /// follows. Leaving a channel the client is not in does nothing.
    ///
    /// ```no_run
    /// # async fn run(client: duplex_hub_client::Client) -> Result<(), duplex_hub_client::Error> {
    /// client.unsubscribe("news").await?;
    /// # Ok(()) }
    /// ```
    pub async fn unsubscribe(&self, channel: &str) -> Result<(), Error> {
        let (done, answer) = oneshot::channel();
        self.send(Control::Unsubscribe {
            channel: channel.to_owned(),
            done,
        })?;
        answer.await.map_err(|_| Error::Closed)
    }

    /// Publishes `data` (JSON text) into a channel the namespace lets this client publish to.
    ///
    /// ```no_run
    /// # async fn run(client: duplex_hub_client::Client) {
    /// match client.publish("chat:lobby", r#"{"text":"hi"}"#).await {
    ///     Ok(()) => {}
    ///     Err(duplex_hub_client::Error::Server { code: 103, .. }) => eprintln!("not allowed"),
    ///     Err(e) => eprintln!("{e}"),
    /// }
    /// # }
    /// ```
    pub async fn publish(&self, channel: &str, data: impl Into<Bytes>) -> Result<(), Error> {
        let command = Command {
            publish: Some(PublishRequest {
                channel: channel.to_owned(),
                data: data.into(),
            }),
            ..Command::default()
        };
        let reply = self.request(command).await?;
        reply.publish.map(|_| ()).ok_or(Error::UnexpectedReply)
    }

    /// Who is in a channel, by client id.
    ///
    /// ```no_run
    /// # async fn run(client: duplex_hub_client::Client) -> Result<(), duplex_hub_client::Error> {
    /// for (id, info) in client.presence("chat:lobby").await? {
    ///     println!("{id}: user {}", info.user);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn presence(&self, channel: &str) -> Result<BTreeMap<String, ClientInfo>, Error> {
        let command = Command {
            presence: Some(PresenceRequest {
                channel: channel.to_owned(),
            }),
            ..Command::default()
        };
        let reply = self.request(command).await?;
        reply
            .presence
            .map(|p| p.presence)
            .ok_or(Error::UnexpectedReply)
    }

    /// How many clients and distinct users are in a channel.
    ///
    /// ```no_run
    /// # async fn run(client: duplex_hub_client::Client) -> Result<(), duplex_hub_client::Error> {
    /// let stats = client.presence_stats("chat:lobby").await?;
    /// println!("{} clients, {} users", stats.num_clients, stats.num_users);
    /// # Ok(()) }
    /// ```
    pub async fn presence_stats(&self, channel: &str) -> Result<PresenceStatsResult, Error> {
        let command = Command {
            presence_stats: Some(PresenceStatsRequest {
                channel: channel.to_owned(),
            }),
            ..Command::default()
        };
        let reply = self.request(command).await?;
        reply.presence_stats.ok_or(Error::UnexpectedReply)
    }

    /// Publications from a channel's history, and the stream's current position.
    ///
    /// ```no_run
    /// # async fn run(client: duplex_hub_client::Client) -> Result<(), duplex_hub_client::Error> {
    /// use duplex_hub_client::HistoryOptions;
    /// let page = client.history("chat:lobby", HistoryOptions::last(20)).await?;
    /// for publication in &page.publications {
    ///     println!("#{}", publication.offset);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn history(
        &self,
        channel: &str,
        options: HistoryOptions,
    ) -> Result<HistoryResult, Error> {
        let command = Command {
            history: Some(HistoryRequest {
                channel: channel.to_owned(),
                limit: options.limit,
                since: options.since,
                reverse: options.reverse,
            }),
            ..Command::default()
        };
        let reply = self.request(command).await?;
        reply.history.ok_or(Error::UnexpectedReply)
    }

    /// Calls an application method (the hub's RPC handler or proxy); returns its answer
    /// (JSON text).
    ///
    /// ```no_run
    /// # async fn run(client: duplex_hub_client::Client) -> Result<(), duplex_hub_client::Error> {
    /// let answer = client.rpc("get_profile", r#"{"id":42}"#).await?;
    /// println!("{}", String::from_utf8_lossy(&answer));
    /// # Ok(()) }
    /// ```
    pub async fn rpc(&self, method: &str, data: impl Into<Bytes>) -> Result<Bytes, Error> {
        let command = Command {
            rpc: Some(RpcRequest {
                method: method.to_owned(),
                data: data.into(),
            }),
            ..Command::default()
        };
        let reply = self.request(command).await?;
        reply.rpc.map(|r| r.data).ok_or(Error::UnexpectedReply)
    }

    /// Sends any command and waits for its reply, within this handle's timeout: the
    /// protocol's other requests. The reply's error, if any, comes back as
    /// [`Error::Server`].
    ///
    /// ```no_run
    /// # async fn run(client: duplex_hub_client::Client) -> Result<(), duplex_hub_client::Error> {
    /// use duplex_hub::protocol::{Command, PingRequest};
    /// let pong = client.request(Command { ping: Some(PingRequest {}), ..Command::default() }).await?;
    /// assert!(pong.ping.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn request(&self, command: Command) -> Result<Reply, Error> {
        let (reply, answer) = oneshot::channel();
        self.send(Control::Request {
            command: Box::new(command),
            reply,
        })?;
        match tokio::time::timeout(self.timeout, answer).await {
            Err(_) => Err(Error::Timeout(self.timeout)),
            Ok(Err(_)) => Err(Error::Closed),
            Ok(Ok(result)) => result,
        }
    }

    /// Closes the connection (1000) and stops: no more reconnects; the event stream ends
    /// after an [`Event::Disconnected`](crate::Event::Disconnected) with code 0. Requests
    /// waiting for a reply fail with [`Error::Disconnected`], later ones with [`Error::Closed`].
    ///
    /// ```no_run
    /// # async fn run(client: duplex_hub_client::Client) {
    /// client.disconnect().await;
    /// assert!(client.is_closed());
    /// # }
    /// ```
    pub async fn disconnect(&self) {
        let (done, answer) = oneshot::channel();
        if self.send(Control::Disconnect { done }).is_ok() {
            let _ = answer.await;
        }
    }

    /// Whether the client has stopped for good.
    pub fn is_closed(&self) -> bool {
        self.control.is_closed()
    }

    fn send(&self, control: Control) -> Result<(), Error> {
        self.control.send(control).map_err(|_| Error::Closed)
    }
}
