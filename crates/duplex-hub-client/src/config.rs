//! [`ClientBuilder`]: every setting of a client, each with its documented default, and the
//! start of the client's task.
//!
//! The defaults are centrifuge-js's where it has one (reconnect delays 0.5–20 s, 5 s request
//! timeout, 10 s of slack after a missed server ping), so a Rust client behaves towards the hub
//! as the browser SDK does.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::client::Client;
use crate::driver::Driver;
use crate::error::TokenError;
use crate::events::Events;
use crate::token::TokenSource;

/// Settings of a client, then [`ClientBuilder::connect`].
///
/// ```no_run
/// # async fn run() {
/// use std::time::Duration;
/// use duplex_hub_client::{ClientBuilder, TokenError};
///
/// let (client, mut events) = ClientBuilder::new("ws://127.0.0.1:8000/connection/websocket")
///     .token_callback(|| async { Ok::<_, TokenError>("eyJ...".to_owned()) })
///     .reconnect_delay(Duration::from_millis(200), Duration::from_secs(10))
///     .request_timeout(Duration::from_secs(3))
///     .connect();
/// # let _ = (client, events.recv().await);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    pub(crate) settings: Settings,
}

/// What the client's task reads; shared by the handles.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub url: String,
    pub token: Option<String>,
    pub token_source: Option<TokenSource>,
    pub name: String,
    pub version: String,
    pub data: Bytes,
    pub min_delay: Duration,
    pub max_delay: Duration,
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub max_ping_delay: Duration,
    pub event_capacity: usize,
    pub websocket: duplex::ClientBuilder,
}

impl ClientBuilder {
    /// A client of the hub at `url` (`ws://host:port/connection/websocket`, or `wss://`).
    pub fn new(url: impl Into<String>) -> ClientBuilder {
        let websocket = duplex::ClientBuilder::new().options(
            // The hub's own pings (application level) tell whether it is alive; WebSocket
            // pings on top would only add traffic.
            duplex::Options::default()
                .ping_interval(None)
                .idle_timeout(None),
        );
        ClientBuilder {
            settings: Settings {
                url: url.into(),
                token: None,
                token_source: None,
                name: "duplex-hub-client".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                data: Bytes::new(),
                min_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(20),
                request_timeout: Duration::from_secs(5),
                connect_timeout: Duration::from_secs(10),
                max_ping_delay: Duration::from_secs(10),
                event_capacity: 1024,
                websocket,
            },
        }
    }

    /// A fixed connection token. It cannot be refreshed: when it expires the hub disconnects
    /// (3005) and the client reconnects with the same, expired, token and stops. Prefer
    /// [`ClientBuilder::token_callback`] for tokens that expire.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.settings.token = Some(token.into());
        self
    }

    /// Where connection tokens come from: called before each connection that needs a new
    /// token and before the current one expires (the client then sends `refresh`). Answer
    /// [`TokenError::Unauthorized`] to stop the client.
    ///
    /// ```no_run
    /// # async fn fetch_from_backend() -> Result<String, duplex_hub_client::TokenError> { todo!() }
    /// use duplex_hub_client::ClientBuilder;
    ///
    /// let builder = ClientBuilder::new("wss://ws.example.com/connection/websocket")
    ///     .token_callback(|| async { fetch_from_backend().await });
    /// ```
    pub fn token_callback<F, Fut>(mut self, callback: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<String, TokenError>> + Send + 'static,
    {
        self.settings.token_source = Some(TokenSource::new(callback));
        self
    }

    /// The SDK name and version sent in `connect` (default `duplex-hub-client` and this
    /// crate's version).
    pub fn name(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.settings.name = name.into();
        self.settings.version = version.into();
        self
    }

    /// Data for the hub's connect handler or proxy (JSON text). Default none.
    pub fn data(mut self, data: impl Into<Bytes>) -> Self {
        self.settings.data = data.into();
        self
    }

    /// The bounds of the reconnect delay (see [`Backoff`](crate::Backoff)). Default 500 ms
    /// to 20 s. A refusal with `Retry-After` (the hub's connection limit) waits at least that.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = duplex_hub_client::ClientBuilder::new("ws://127.0.0.1:8000/connection/websocket")
    ///     .reconnect_delay(Duration::from_millis(100), Duration::from_secs(5));
    /// # let _ = builder;
    /// ```
    pub fn reconnect_delay(mut self, min: Duration, max: Duration) -> Self {
        self.settings.min_delay = min;
        self.settings.max_delay = max;
        self
    }

    /// How long a request (publish, presence, history, rpc...) waits for its reply, waiting
    /// for a connection included. Default 5 s. [`Client::with_timeout`] changes it per call.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.settings.request_timeout = timeout;
        self
    }

    /// How long opening the WebSocket, and then the hub's answer to `connect` and to each
    /// `subscribe`, may take before the client gives the attempt up. Default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// How long past the hub's announced ping interval the client waits for a ping before it
    /// takes the connection for dead and reconnects. Default 10 s.
    pub fn max_ping_delay(mut self, delay: Duration) -> Self {
        self.settings.max_ping_delay = delay;
        self
    }

    /// How many events wait for the program before the client stops reading its socket.
    /// Default 1024.
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.settings.event_capacity = capacity.max(1);
        self
    }

    /// The WebSocket settings: headers, TLS trust, proxy (default: duplex's, without
    /// WebSocket pings).
    pub fn websocket(mut self, builder: duplex::ClientBuilder) -> Self {
        self.settings.websocket = builder;
        self
    }

    /// Starts the client's task (on the current tokio runtime), which connects and keeps
    /// reconnecting until the client is stopped. Returns the handle and the event stream.
    ///
    /// Panics outside a tokio runtime.
    pub fn connect(self) -> (Client, Events) {
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (event_tx, event_rx) = mpsc::channel(self.settings.event_capacity);
        let settings = Arc::new(self.settings);
        let client = Client::new(control_tx, settings.request_timeout);
        tokio::spawn(Driver::new(settings, control_rx, event_tx).run());
        (client, Events::new(event_rx))
    }
}
