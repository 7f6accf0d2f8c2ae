//! Accepting a server connection: read the request, apply policy, answer.
//!
//! [`accept`] takes any connected stream; [`ServerBuilder`] holds the policy: limits, the
//! subprotocols this server speaks, the origins it trusts and how long a client may take to
//! send its request. Refusals are answered with an HTTP status and a one-line reason (never a
//! silent drop), because the person debugging the client needs to know why.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::BytesMut;
use duplex_proto::handshake::server::{Request, DEFAULT_MAX_HEAD};
use duplex_proto::{Config, DeflateConfig, DeflateParams, HandshakeError, Role};

/// How long a client may take to send its request, unless told otherwise.
const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Result};
use crate::io::poll_read_into;
use crate::lifecycle::{self, unavailable, Policy};
use crate::options::Options;
use crate::shutdown::{NoSlot, ServerState, Shutdown, Slot};
use crate::websocket::WebSocket;

/// Accepts a WebSocket connection on a connected stream with default settings.
///
/// ```no_run
/// # async fn run() -> Result<(), duplex::Error> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
/// let (stream, _) = listener.accept().await?;
/// let mut ws = duplex::accept(stream).await?;
/// while let Some(message) = ws.recv().await? {
///     ws.send(message).await?;
/// }
/// # Ok(()) }
/// ```
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> Result<WebSocket<S>> {
    ServerBuilder::new().accept(stream).await
}

/// Chooses the subprotocol from the request, or refuses it with an HTTP status.
pub type ProtocolSelector =
    Arc<dyn Fn(&Request) -> std::result::Result<Option<String>, u16> + Send + Sync>;

/// Server-side policy and limits.
///
/// ```
/// use std::time::Duration;
/// let server = duplex::ServerBuilder::new()
///     .protocols(["chat", "superchat"])
///     .allow_origin("https://example.com")
///     .handshake_timeout(Duration::from_secs(5));
/// # let _ = server;
/// ```
///
/// Cloning is cheap (two reference counts), so a server can hand a clone to every
/// connection's task; the settings live once, not in every idle connection's memory.
#[derive(Clone)]
pub struct ServerBuilder {
    /// Copied on write: a builder method on a shared builder changes only that clone.
    settings: Arc<Settings>,
    /// Shared by clones: the connection count and the shutdown signal.
    state: Arc<ServerState>,
}

#[derive(Clone)]
struct Settings {
    config: Config,
    /// The options with their timers in the tokio driver's unit, shared by its connections.
    policy: Arc<Policy>,
    protocols: Vec<String>,
    selector: Option<ProtocolSelector>,
    allowed_origins: Option<Vec<String>>,
    deflate: Option<DeflateConfig>,
    handshake_timeout: Duration,
    max_head: usize,
    max_connections: Option<usize>,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("config", &self.settings.config)
            .field("options", &self.settings.policy.options)
            .field("protocols", &self.settings.protocols)
            .field("allowed_origins", &self.settings.allowed_origins)
            .field("deflate", &self.settings.deflate)
            .field("handshake_timeout", &self.settings.handshake_timeout)
            .field("max_head", &self.settings.max_head)
            .field("max_connections", &self.settings.max_connections)
            .finish_non_exhaustive()
    }
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            settings: Arc::new(Settings {
                config: Config::default(),
                policy: Arc::new(Policy::new(
                    Options::default(),
                    DEFAULT_HANDSHAKE_TIMEOUT,
                    Policy::MILLIS,
                )),
                protocols: Vec::new(),
                selector: None,
                allowed_origins: None,
                deflate: None,
                max_connections: None,
                handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
                max_head: DEFAULT_MAX_HEAD,
            }),
            state: ServerState::new(),
        }
    }
}

impl ServerBuilder {
    /// Default policy: any origin, no subprotocol, 10 s for the request, 8 KiB request head.
    pub fn new() -> Self {
        Self::default()
    }

    /// The subprotocols this server speaks. The first one the client offers (in the client's
    /// order of preference) is chosen; when the client offers some and none match, the
    /// handshake is answered without one, as RFC 6455 allows.
    pub fn protocols<I: IntoIterator<Item = T>, T: Into<String>>(mut self, protocols: I) -> Self {
        self.settings_mut().protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Chooses subprotocols with a function instead (it may refuse with a status code).
    pub fn protocol_selector(
        mut self,
        select: impl Fn(&Request) -> std::result::Result<Option<String>, u16> + Send + Sync + 'static,
    ) -> Self {
        self.settings_mut().selector = Some(Arc::new(select));
        self
    }

    /// Accepts requests from this origin (exact match, such as `https://example.com`); once any
    /// origin is allowed, others are refused with 403. Requests without `Origin` (non-browser
    /// clients) are not affected.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.settings_mut()
            .allowed_origins
            .get_or_insert_with(Vec::new)
            .push(origin.into());
        self
    }

    /// Accepts permessage-deflate (RFC 7692) when a client offers it, with these settings.
    /// Off by default. [`DeflateConfig::lean`] keeps idle connections free of deflate memory.
    pub fn deflate(mut self, config: DeflateConfig) -> Self {
        self.settings_mut().deflate = Some(config);
        self
    }

    /// Sets the protocol limits.
    pub fn config(mut self, config: Config) -> Self {
        self.settings_mut().config = config;
        self
    }

    /// Sets the driver options.
    pub fn options(mut self, options: Options) -> Self {
        let settings = self.settings_mut();
        settings.policy = Arc::new(Policy::new(
            options,
            settings.handshake_timeout,
            Policy::MILLIS,
        ));
        self
    }

    /// How long a client may take to send its whole request. Default 10 s.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        let settings = self.settings_mut();
        settings.handshake_timeout = timeout;
        let options = settings.policy.options;
        settings.policy = Arc::new(Policy::new(options, timeout, Policy::MILLIS));
        self
    }

    /// Most connections open at once, handshakes included; past it new ones get 503 with
    /// `Retry-After`. Default: no limit (the process's file descriptor limit applies).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.settings_mut().max_connections = Some(max);
        self
    }

    /// The protocol limits (for drivers other than [`ServerBuilder::accept`]).
    #[cfg_attr(not(all(unix, feature = "event-loop")), allow(dead_code))] // the loop's
    pub(crate) fn protocol_config(&self) -> Config {
        self.settings.config
    }

    /// The options and timers for a driver whose clock counts `unit`s.
    #[cfg_attr(not(all(unix, feature = "event-loop")), allow(dead_code))] // the loop's
    pub(crate) fn policy_in(&self, unit: Duration) -> Policy {
        let s = &self.settings;
        Policy::new(s.policy.options, s.handshake_timeout, unit)
    }

    /// The request-head limit.
    #[cfg_attr(not(all(unix, feature = "event-loop")), allow(dead_code))] // the loop's
    pub(crate) fn max_head_len(&self) -> usize {
        self.settings.max_head
    }

    /// Counts a new connection against the cap this builder and its clones share (each driver
    /// gives it back through [`ServerState::leave`] or by dropping the slot).
    #[cfg_attr(not(all(unix, feature = "event-loop")), allow(dead_code))] // the loop's
    pub(crate) fn enter(&self) -> std::result::Result<(), NoSlot> {
        self.state.enter(self.settings.max_connections)
    }

    /// What this builder's clones share: the count and the shutdown signal.
    #[cfg_attr(not(all(unix, feature = "event-loop")), allow(dead_code))] // the loop's
    pub(crate) fn state(&self) -> &Arc<ServerState> {
        &self.state
    }

    fn settings_mut(&mut self) -> &mut Settings {
        Arc::make_mut(&mut self.settings)
    }

    /// The handle that shuts down, gracefully, every connection this builder (and its clones)
    /// accepted.
    pub fn shutdown_handle(&self) -> Shutdown {
        Shutdown {
            state: self.state.clone(),
        }
    }

    /// Largest request head accepted (431 beyond). Default 8 KiB.
    pub fn max_request_head(mut self, bytes: usize) -> Self {
        self.settings_mut().max_head = bytes;
        self
    }

    /// Reads the request from `stream`, answers it, and returns the connection.
    ///
    /// The handshake runs in a boxed future: its buffers and timer are needed only until the
    /// answer is sent, and an unboxed one would make every connection's task that much larger
    /// for its whole life.
    pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: S,
    ) -> Result<WebSocket<S>> {
        Box::pin(self.handshake(stream)).await
    }

    async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut stream: S,
    ) -> Result<WebSocket<S>> {
        let slot = match self.state.acquire(self.settings.max_connections) {
            Ok(slot) => slot,
            Err(why) => {
                let e = unavailable(why);
                if let Some(response) = e.response() {
                    let _ = stream.write_all(&response).await;
                    let _ = stream.shutdown().await;
                }
                return Err(e.into());
            }
        };
        // No memory yet: the first read goes to the stack and allocates once bytes came.
        let mut buf = BytesMut::new();
        let mut slot = slot;
        let read = within(
            self.settings.handshake_timeout,
            self.read_request(&mut stream, &mut buf, &mut slot),
        )
        .await;
        let request = match read {
            Some(Ok(request)) => request,
            Some(Err(Error::Handshake(e))) => {
                if let Some(response) = e.response() {
                    let _ = stream.write_all(&response).await;
                    let _ = stream.shutdown().await;
                }
                return Err(e.into());
            }
            Some(Err(e)) => return Err(e),
            None => {
                if let Some(response) = lifecycle::request_timeout().response() {
                    let _ = stream.write_all(&response).await;
                }
                let _ = stream.shutdown().await;
                return Err(lifecycle::HANDSHAKE_TIMED_OUT);
            }
        };
        match self.apply_policy(&request) {
            Ok(accepted) => {
                stream.write_all(&accepted.response(&request)).await?;
                stream.flush().await?;
                Ok(self.wrap_in_slot(stream, accepted, buf, slot))
            }
            Err(e) => {
                if let Some(response) = e.response() {
                    let _ = stream.write_all(&response).await;
                    let _ = stream.shutdown().await;
                }
                Err(e.into())
            }
        }
    }

    /// Reads until a whole request head has arrived; leaves what follows it in `buf`. A
    /// shutdown that begins meanwhile ends it with the 503 the event loop gives too.
    async fn read_request<S: AsyncRead + Unpin>(
        &self,
        stream: &mut S,
        buf: &mut BytesMut,
        slot: &mut Slot,
    ) -> Result<Request> {
        loop {
            if let Some((request, head_len)) = Request::parse(buf, self.settings.max_head)? {
                let _ = buf.split_to(head_len);
                return Ok(request);
            }
            let n = std::future::poll_fn(|cx| match poll_read_into(stream, cx, buf) {
                Poll::Ready(read) => Poll::Ready(read.map_err(Error::from)),
                // Only while waiting: a request already in the socket costs no registration.
                Poll::Pending if slot.poll_shutdown(cx).is_ready() => {
                    Poll::Ready(Err(unavailable(NoSlot::ShuttingDown).into()))
                }
                Poll::Pending => Poll::Pending,
            })
            .await?;
            if n == 0 {
                return Err(lifecycle::closed_during_request().into());
            }
        }
    }

    /// Applies this server's policy (origin, subprotocol) to a valid request: what to answer,
    /// or the refusal. Used by [`ServerBuilder::accept`] and by upgrades inside another HTTP
    /// server, which send [`Accepted::response_headers`] with their own 101 response.
    pub fn negotiate(&self, request: &Request) -> std::result::Result<Accepted, HandshakeError> {
        // Checks the cap without taking a slot: `wrap` takes it once the upgrade happened.
        drop(
            self.state
                .acquire(self.settings.max_connections)
                .map_err(unavailable)?,
        );
        self.apply_policy(request)
    }

    /// Origin, subprotocol and extension policy.
    pub(crate) fn apply_policy(
        &self,
        request: &Request,
    ) -> std::result::Result<Accepted, HandshakeError> {
        if let (Some(allowed), Some(origin)) = (&self.settings.allowed_origins, &request.origin) {
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
                return Err(HandshakeError::BadRequest {
                    status: 403,
                    reason: "Forbidden",
                    detail: format!("origin {origin} is not allowed"),
                });
            }
        }
        let protocol = match &self.settings.selector {
            Some(select) => select(request).map_err(|status| HandshakeError::BadRequest {
                status,
                reason: duplex_proto::handshake::reason_phrase(status),
                detail: "subprotocol refused".into(),
            })?,
            None => request
                .protocols
                .iter()
                .find(|offered| self.settings.protocols.iter().any(|ours| ours == *offered))
                .cloned(),
        };
        let (deflate, extensions) = match self.settings.deflate.and_then(|config| {
            config
                .accept_offers(&request.extensions)
                .map(|agreed| (config, agreed))
        }) {
            Some((config, (params, answer))) => (Some((params, config)), Some(answer)),
            None => (None, None),
        };
        Ok(Accepted {
            protocol,
            extensions,
            deflate,
        })
    }

    /// Turns a stream whose 101 answer has been sent into a server connection.
    pub fn wrap<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        io: S,
        accepted: Accepted,
        leftover: BytesMut,
    ) -> WebSocket<S> {
        // The cap was checked in `negotiate`; the connection is counted from here on.
        match self.state.acquire(None) {
            Ok(slot) => self.wrap_in_slot(io, accepted, leftover, slot),
            // Shutdown began between negotiate and wrap: the connection closes at once with 1001.
            Err(_) => {
                let mut ws = self.wrap_detached(io, accepted, leftover);
                let _ = ws.core.start_close(Some(lifecycle::shutting_down()));
                ws
            }
        }
    }

    fn wrap_in_slot<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        io: S,
        accepted: Accepted,
        leftover: BytesMut,
        slot: Slot,
    ) -> WebSocket<S> {
        let mut ws = self.wrap_detached(io, accepted, leftover);
        ws.core.attach(slot);
        ws
    }

    fn wrap_detached<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        io: S,
        accepted: Accepted,
        leftover: BytesMut,
    ) -> WebSocket<S> {
        let mut ws = WebSocket::from_upgraded_shared(
            io,
            Role::Server,
            self.settings.config,
            self.settings.policy.clone(),
            accepted.protocol,
            leftover,
        );
        if let Some((params, config)) = accepted.deflate {
            ws.core.conn.enable_deflate(&params, &config);
        }
        ws
    }
}

/// Runs `work` to completion within `limit`, or gives up (`None`). The timer is armed only if
/// the first poll does not finish, so a request already waiting in the socket costs no timer.
/// That matters beyond the timer's own cost: a timer due earlier than every other one (the
/// handshake's 10 s against open connections' 30 s keepalives) makes the runtime's driver
/// wake itself, with an eventfd write and an extra epoll_wait.
async fn within<F: Future>(limit: Duration, work: F) -> Option<F::Output> {
    let start = tokio::time::Instant::now();
    let mut work = std::pin::pin!(work);
    let first = std::future::poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await;
    if let Poll::Ready(output) = first {
        return Some(output);
    }
    tokio::time::timeout_at(start + limit, work).await.ok()
}

/// What the server agreed to in the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The chosen subprotocol.
    pub protocol: Option<String>,
    /// The `Sec-WebSocket-Extensions` answer, if an extension was accepted.
    pub extensions: Option<String>,
    /// The permessage-deflate agreement and our settings for it.
    pub deflate: Option<(DeflateParams, DeflateConfig)>,
}

impl Accepted {
    /// The headers of the 101 answer besides `Upgrade` and `Connection`: the accept key, the
    /// subprotocol and the extensions.
    pub fn response_headers(&self, request: &Request) -> Vec<(&'static str, String)> {
        let mut headers = vec![(
            "Sec-WebSocket-Accept",
            duplex_proto::handshake::accept_key(request.key.as_bytes()),
        )];
        if let Some(protocol) = &self.protocol {
            headers.push(("Sec-WebSocket-Protocol", protocol.clone()));
        }
        if let Some(extensions) = &self.extensions {
            headers.push(("Sec-WebSocket-Extensions", extensions.clone()));
        }
        headers
    }

    /// The whole 101 answer.
    pub fn response(&self, request: &Request) -> Vec<u8> {
        request.accept(self.protocol.as_deref(), self.extensions.as_deref(), &[])
    }
}

#[cfg(test)]
mod within_tests {
    use std::time::Duration;

    use super::within;

    #[tokio::test(start_paused = true)]
    async fn work_done_on_the_first_poll_needs_no_time_left() {
        assert_eq!(within(Duration::ZERO, async { 7 }).await, Some(7));
    }

    #[tokio::test(start_paused = true)]
    async fn work_that_waits_finishes_inside_the_limit() {
        let work = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            8
        };
        assert_eq!(within(Duration::from_millis(100), work).await, Some(8));
    }

    #[tokio::test(start_paused = true)]
    async fn work_that_outlasts_the_limit_is_abandoned_at_the_limit() {
        let start = tokio::time::Instant::now();
        let work = tokio::time::sleep(Duration::from_secs(60));
        assert_eq!(within(Duration::from_millis(100), work).await, None);
        assert_eq!(start.elapsed(), Duration::from_millis(100));
    }
}
