//! Opening a client connection: URL, proxy, DNS, TCP, TLS, then the HTTP Upgrade.
//!
//! [`connect`] is the one-liner; [`ClientBuilder`] sets subprotocols, headers, origin, limits,
//! TLS trust, the proxy and the timeout. The handshake itself is
//! [`duplex_proto::handshake::client`]; this file only resolves, connects and moves bytes, and
//! keeps any bytes the server sent right after its 101 answer for the connection. Each step has
//! its own error (and its own name in [`Error::Timeout`]), so a failure says where it happened.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use duplex_proto::handshake::client::{ClientRequest, Response, DEFAULT_MAX_HEAD};
use duplex_proto::{Config, DeflateConfig, HandshakeError, Role};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::error::{Error, ProxyError, Result};
use crate::io::poll_read_into;
use crate::maybe_tls::MaybeTlsStream;
use crate::options::Options;
use crate::proxy::ProxySetting;
use crate::websocket::WebSocket;

#[cfg(feature = "http2")]
pub(crate) mod http2;
pub(crate) mod refusal;
#[cfg(feature = "http2")]
pub use http2::Http2;
use refusal::body_snippet;

/// Connects to a `ws://` or `wss://` URL with default settings; returns the connection and the
/// server's answer (see [`Response::protocol`]).
///
/// ```no_run
/// # async fn run() -> Result<(), duplex::Error> {
/// let (mut ws, _) = duplex::connect("ws://127.0.0.1:9001/chat").await?;
/// ws.send("hi").await?;
/// # Ok(()) }
/// ```
pub async fn connect(url: &str) -> Result<(WebSocket<MaybeTlsStream<TcpStream>>, Response)> {
    ClientBuilder::new().connect(url).await
}

/// Settings for a client connection.
///
/// ```no_run
/// # async fn run() -> Result<(), duplex::Error> {
/// use std::time::Duration;
/// let (ws, response) = duplex::ClientBuilder::new()
///     .protocol("chat")
///     .header("Authorization", "Bearer token")
///     .origin("https://example.com")
///     .connect_timeout(Duration::from_secs(5))
///     .connect("ws://[::1]:9001/room/1")
///     .await?;
/// assert_eq!(ws.protocol(), response.protocol.as_deref());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    protocols: Vec<String>,
    headers: Vec<(String, String)>,
    origin: Option<String>,
    config: Config,
    options: Options,
    deflate: Option<DeflateConfig>,
    connect_timeout: Duration,
    max_head: usize,
    proxy: ProxySetting,
    #[cfg(feature = "tls")]
    tls: crate::tls::ClientTls,
    #[cfg(feature = "http2")]
    http2: Http2,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            protocols: Vec::new(),
            headers: Vec::new(),
            origin: None,
            config: Config::default(),
            options: Options::default(),
            deflate: None,
            connect_timeout: Duration::from_secs(10),
            max_head: DEFAULT_MAX_HEAD,
            proxy: ProxySetting::FromEnv,
            #[cfg(feature = "tls")]
            tls: Default::default(),
            #[cfg(feature = "http2")]
            http2: Http2::Never,
        }
    }
}

/// The parts of a `ws://` URL that the connection needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or IP address (without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The `Host` header value.
    pub host_header: String,
    /// Path and query.
    pub path: String,
    /// True for `wss://`.
    pub secure: bool,
}

impl Target {
    /// `host:port`, with brackets around an IPv6 address: what `CONNECT` asks a proxy for.
    ///
    /// ```
    /// let t = duplex::handshake::Target::parse("wss://[::1]/").unwrap();
    /// assert_eq!(t.authority(), "[::1]:443");
    /// ```
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Parses a WebSocket URL: `ws://` or `wss://` (`http://` and `https://` are accepted as
    /// browsers do), with an optional port and no fragment.
    ///
    /// ```
    /// let t = duplex::handshake::Target::parse("ws://[::1]:9001/a?b=c").unwrap();
    /// assert_eq!((t.host.as_str(), t.port, t.path.as_str()), ("::1", 9001, "/a?b=c"));
    /// assert_eq!(t.host_header, "[::1]:9001");
    /// assert!(duplex::handshake::Target::parse("ftp://x").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<Target> {
        let parsed = url::Url::parse(url).map_err(|e| Error::InvalidUrl(format!("{url}: {e}")))?;
        let secure = match parsed.scheme() {
            "ws" | "http" => false,
            "wss" | "https" => true,
            other => {
                return Err(Error::InvalidUrl(format!(
                    "{url}: scheme {other:?} is not ws:// or wss://"
                )))
            }
        };
        if parsed.fragment().is_some() {
            return Err(Error::InvalidUrl(format!(
                "{url}: WebSocket URLs cannot have a fragment"
            )));
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(Error::InvalidUrl(format!("{url}: no host"))),
        };
        let default_port = if secure { 443 } else { 80 };
        let port = parsed.port().unwrap_or(default_port);
        let bracketed = match parsed.host() {
            Some(url::Host::Ipv6(_)) => format!("[{host}]"),
            _ => host.clone(),
        };
        let host_header = if port == default_port {
            bracketed
        } else {
            format!("{bracketed}:{port}")
        };
        let mut path = parsed.path().to_owned();
        if let Some(query) = parsed.query() {
            path.push('?');
            path.push_str(query);
        }
        Ok(Target {
            host,
            port,
            host_header,
            path,
            secure,
        })
    }
}

impl ClientBuilder {
    /// Default settings: no subprotocol, 16 MiB frames, 64 MiB messages, 10 s to connect, the
    /// proxy from the environment, and for `wss://` the web PKI roots (Mozilla's list).
    pub fn new() -> Self {
        Self::default()
    }

    /// Offers a subprotocol; call again for more, most preferred first.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocols.push(protocol.into());
        self
    }

    /// Adds a request header (cookies, authorization, ...).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the `Origin` header.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Sets the protocol limits.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets the driver options.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// Offers permessage-deflate (RFC 7692) with these settings; the server may decline.
    /// [`WebSocket::is_compressed`] tells whether it was agreed.
    pub fn deflate(mut self, config: DeflateConfig) -> Self {
        self.deflate = Some(config);
        self
    }

    /// Limits DNS, TCP connect, the proxy tunnel, TLS and the handshake together. Default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Tunnels every connection through this HTTP proxy with `CONNECT`:
    /// `http://[user:password@]host[:port]` (Basic authentication), ignoring the environment.
    /// An invalid URL fails [`ClientBuilder::connect`] with [`Error::Proxy`].
    ///
    /// Without this call the proxy comes from `https_proxy` (`wss://`) or `http_proxy`
    /// (`ws://`), then `all_proxy`, in lower or upper case, except for hosts listed in
    /// `no_proxy` (`*`, host names, domain suffixes, IP addresses) and loopback hosts.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxySetting::Url(url.into());
        self
    }

    /// Connects directly, whatever the environment says.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxySetting::Disabled;
        self
    }

    /// Also trusts the CA certificates in this PEM text (for `wss://` to a private CA), on top
    /// of the web PKI roots. Fails with [`Error::Tls`] when the text holds no certificate.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), duplex::Error> {
    /// let client = duplex::ClientBuilder::new().add_root_certificates_pem(b"-----BEGIN ...")?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    pub fn add_root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Result<Self> {
        let certs = crate::tls::certificates_from_pem(pem.as_ref(), "root certificates")?;
        self.tls.extra_roots.extend(certs);
        self.tls.changed();
        Ok(self)
    }

    /// [`ClientBuilder::add_root_certificates_pem`] from a file.
    #[cfg(feature = "tls")]
    pub fn add_root_certificates_pem_file(
        mut self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<Self> {
        let certs = crate::tls::certificates_from_pem_file(path.as_ref())?;
        self.tls.extra_roots.extend(certs);
        self.tls.changed();
        Ok(self)
    }

    /// Whether to trust the web PKI roots (Mozilla's list, built in). Default true; turn it off
    /// to trust only the certificates added with [`ClientBuilder::add_root_certificates_pem`].
    #[cfg(feature = "tls")]
    pub fn web_pki_roots(mut self, trust: bool) -> Self {
        self.tls.web_pki_roots = trust;
        self.tls.changed();
        self
    }

    /// Accepts any server certificate: expired, self-signed, for another host. The connection
    /// is encrypted but anyone on the path can impersonate the server, so use it only for tests
    /// and local development (the CLI's `--insecure`). Default false.
    #[cfg(feature = "tls")]
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.tls.accept_invalid_certs = accept;
        self.tls.changed();
        self
    }

    /// Uses this rustls config for `wss://` as it is, instead of the one the settings above
    /// build (set its `alpn_protocols` to `http/1.1` or leave it empty).
    ///
    /// With `ClientBuilder::http2` other than `Http2::Never`, a copy of it offering `h2`
    /// and `http/1.1` in ALPN is used instead.
    #[cfg(feature = "tls")]
    pub fn tls_config(mut self, config: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls.custom = Some(config);
        self.tls.changed();
        self
    }

    /// Opens WebSockets over HTTP/2 (RFC 8441's extended CONNECT) when `mode` says so. Default
    /// [`Http2::Never`]. Over HTTP/2 the connection's stream is [`MaybeTlsStream::Http2`], and
    /// the response has no `Sec-WebSocket-Accept` (HTTP/2 needs none).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), duplex::Error> {
    /// let (ws, _) = duplex::ClientBuilder::new()
    ///     .http2(duplex::Http2::Require)
    ///     .connect("ws://127.0.0.1:3000/ws") // cleartext: HTTP/2 with prior knowledge
    ///     .await?;
    /// assert!(ws.get_ref().is_http2());
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "http2")]
    pub fn http2(mut self, mode: Http2) -> Self {
        self.http2 = mode;
        self
    }

    /// Resolves the URL's host, connects over TCP (through a proxy if one applies), runs TLS for
    /// `wss://`, and performs the handshake.
    ///
    /// Errors name the step: [`Error::Resolve`], [`Error::Connect`] (refused, unreachable),
    /// [`Error::Proxy`], [`Error::Tls`], [`Error::Handshake`] (a refusal carries the status and
    /// the start of the body), or [`Error::Timeout`] with the step that ran out of time.
    pub async fn connect(
        &self,
        url: &str,
    ) -> Result<(WebSocket<MaybeTlsStream<TcpStream>>, Response)> {
        let target = Target::parse(url)?;
        let deadline = Instant::now() + self.connect_timeout;
        #[cfg(feature = "http2")]
        if self.http2 != Http2::Never {
            let require = self.http2 == Http2::Require;
            match http2::connect(self, &target, deadline).await? {
                http2::Attempt::Open(open) => return Ok(*open),
                http2::Attempt::Http1(_) if require => {
                    return Err(Error::Http2(
                        "the server chose HTTP/1.1 in ALPN, and HTTP/2 is required".into(),
                    ))
                }
                http2::Attempt::Http1(stream) => {
                    return step(
                        deadline,
                        "WebSocket handshake",
                        self.handshake(stream, &target),
                    )
                    .await
                }
                http2::Attempt::Unavailable(why) if require => return Err(Error::Http2(why)),
                http2::Attempt::Unavailable(why) => {
                    tracing::debug!("no WebSocket over HTTP/2 at {url}: {why}; using HTTP/1.1");
                }
            }
        }
        let stream = self.open(&target, deadline, false).await?;
        step(
            deadline,
            "WebSocket handshake",
            self.handshake(stream, &target),
        )
        .await
    }

    /// TCP (through the proxy, if one applies), then TLS for `wss://`, offering `h2` in ALPN
    /// when `offer_h2`.
    pub(crate) async fn open(
        &self,
        target: &Target,
        deadline: Instant,
        offer_h2: bool,
    ) -> Result<MaybeTlsStream<TcpStream>> {
        let proxy = self
            .proxy
            .resolve(target, |name| std::env::var(name).ok())?;
        let tcp = match &proxy {
            Some(proxy) => {
                let mut tcp = step(
                    deadline,
                    "connect to proxy",
                    open_tcp(&proxy.host, proxy.port),
                )
                .await
                .map_err(|e| match e {
                    Error::Connect { addr, source } => ProxyError::Connect {
                        proxy: proxy.shown.clone(),
                        addr,
                        source,
                    }
                    .into(),
                    Error::Resolve { host, source } => ProxyError::Resolve {
                        proxy: proxy.shown.clone(),
                        host,
                        source,
                    }
                    .into(),
                    e => e,
                })?;
                step(deadline, "proxy CONNECT", proxy.tunnel(&mut tcp, target)).await?;
                tcp
            }
            None => step(deadline, "TCP connect", open_tcp(&target.host, target.port)).await?,
        };
        if target.secure {
            self.start_tls(tcp, target, deadline, offer_h2).await
        } else {
            Ok(MaybeTlsStream::Plain(tcp))
        }
    }

    #[cfg(feature = "tls")]
    async fn start_tls(
        &self,
        tcp: TcpStream,
        target: &Target,
        deadline: Instant,
        offer_h2: bool,
    ) -> Result<MaybeTlsStream<TcpStream>> {
        let tls = step(
            deadline,
            "TLS handshake",
            self.tls.connect(&target.host, tcp, offer_h2),
        )
        .await?;
        Ok(tls.into())
    }

    #[cfg(not(feature = "tls"))]
    async fn start_tls(
        &self,
        _tcp: TcpStream,
        _target: &Target,
        _deadline: Instant,
        _offer_h2: bool,
    ) -> Result<MaybeTlsStream<TcpStream>> {
        Err(Error::Unsupported(
            "wss:// needs the `tls` feature of duplex, which this build leaves out",
        ))
    }

    /// Performs the handshake over a stream that is already connected (TLS, a proxy tunnel,
    /// an in-memory pipe).
    pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut stream: S,
        target: &Target,
    ) -> Result<(WebSocket<S>, Response)> {
        let mut request = ClientRequest::new(target.host_header.clone(), target.path.clone());
        for protocol in &self.protocols {
            request = request.protocol(protocol.clone());
        }
        if let Some(origin) = &self.origin {
            request = request.origin(origin.clone());
        }
        for (name, value) in &self.headers {
            request = request.header(name.clone(), value.clone());
        }
        if let Some(deflate) = &self.deflate {
            request = request.extension(deflate.client_offer());
        }
        stream.write_all(&request.encode()?).await?;
        stream.flush().await?;

        let mut buf = BytesMut::with_capacity(1024);
        loop {
            match request.parse_response(&buf, self.max_head) {
                Ok(Some((response, head_len))) => {
                    let _ = buf.split_to(head_len);
                    let agreed = match &self.deflate {
                        Some(deflate) => deflate
                            .check_answer(&response.extensions)
                            .map_err(HandshakeError::InvalidResponse)?
                            .map(|params| (params, *deflate)),
                        None => None,
                    };
                    let mut ws = WebSocket::from_upgraded(
                        stream,
                        Role::Client,
                        self.config,
                        self.options,
                        response.protocol.clone(),
                        buf,
                    );
                    if let Some((params, deflate)) = agreed {
                        ws.core.conn.enable_deflate(&params, &deflate);
                    }
                    return Ok((ws, response));
                }
                Ok(None) => {}
                Err(HandshakeError::Rejected {
                    status,
                    reason,
                    headers,
                    ..
                }) => {
                    let body = body_snippet(&mut stream, &mut buf, &headers).await;
                    return Err(HandshakeError::Rejected {
                        status,
                        reason,
                        headers,
                        body,
                    }
                    .into());
                }
                Err(e) => return Err(e.into()),
            }
            let n = std::future::poll_fn(|cx| poll_read_into(&mut stream, cx, &mut buf)).await?;
            if n == 0 {
                return Err(HandshakeError::InvalidResponse(
                    "connection closed before the handshake completed".into(),
                )
                .into());
            }
        }
    }
}

/// Runs one step of [`ClientBuilder::connect`] within the overall deadline.
async fn step<T>(
    deadline: Instant,
    name: &'static str,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout_at(deadline, work)
        .await
        .map_err(|_| Error::Timeout(name))?
}

/// Connects to the first address of `host` that answers, trying each in turn.
async fn open_tcp(host: &str, port: u16) -> Result<TcpStream> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|source| Error::Resolve {
            host: host.to_owned(),
            source,
        })?
        .collect();
    let mut last_error = None;
    for addr in &addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) => last_error = Some(e),
        }
    }
    let shown = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    Err(match last_error {
        Some(source) => {
            let resolved = addrs.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>();
            let addr = if resolved.len() == 1 && resolved[0] == host {
                shown
            } else {
                format!("{shown} ({})", resolved.join(", "))
            };
            Error::Connect { addr, source }
        }
        None => Error::Resolve {
            host: host.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses"),
        },
    })
}
