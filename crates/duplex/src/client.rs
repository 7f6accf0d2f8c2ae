//! Opening a client connection: URL, DNS, TCP, then the HTTP Upgrade.
//!
//! [`connect`] is the one-liner; [`ClientBuilder`] sets subprotocols, headers, origin, limits
//! and timeouts. The handshake itself is [`duplex_proto::handshake::client`]; this file only
//! resolves, connects and moves bytes, and keeps any bytes the server sent right after its 101
//! answer for the connection.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use duplex_proto::handshake::client::{ClientRequest, Response, DEFAULT_MAX_HEAD};
use duplex_proto::{Config, DeflateConfig, HandshakeError, Role};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{Error, Result};
use crate::io::poll_read_into;
use crate::websocket::{Options, WebSocket};

/// Connects to a `ws://` URL with default settings; returns the connection and the server's
/// answer (see [`Response::protocol`]).
///
/// ```no_run
/// # async fn run() -> Result<(), duplex::Error> {
/// let (mut ws, _) = duplex::connect("ws://127.0.0.1:9001/chat").await?;
/// ws.send("hi").await?;
/// # Ok(()) }
/// ```
pub async fn connect(url: &str) -> Result<(WebSocket<TcpStream>, Response)> {
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
    /// Parses a WebSocket URL: `ws://` or `wss://` (`http://` and `https://` are accepted as
    /// browsers do), with an optional port and no fragment.
    ///
    /// ```
    /// let t = duplex::Target::parse("ws://[::1]:9001/a?b=c").unwrap();
    /// assert_eq!((t.host.as_str(), t.port, t.path.as_str()), ("::1", 9001, "/a?b=c"));
    /// assert_eq!(t.host_header, "[::1]:9001");
    /// assert!(duplex::Target::parse("ftp://x").is_err());
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
    /// Default settings: no subprotocol, 16 MiB frames, 64 MiB messages, 10 s to connect.
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

    /// Limits DNS, TCP connect and the handshake together. Default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Resolves the URL's host, connects over TCP and performs the handshake.
    pub async fn connect(&self, url: &str) -> Result<(WebSocket<TcpStream>, Response)> {
        let target = Target::parse(url)?;
        if target.secure {
            return Err(Error::Unsupported(
                "wss:// needs TLS, which this build does not include yet",
            ));
        }
        let work = async {
            let stream = open_tcp(&target.host, target.port).await?;
            self.handshake(stream, &target).await
        };
        tokio::time::timeout(self.connect_timeout, work)
            .await
            .map_err(|_| Error::Timeout("connect"))?
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
            if let Some((response, head_len)) = request.parse_response(&buf, self.max_head)? {
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
                    ws.core.conn().enable_deflate(&params, &deflate);
                }
                return Ok((ws, response));
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
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(match last_error {
        Some(e) => Error::Io(e),
        None => Error::Resolve {
            host: host.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses"),
        },
    })
}
