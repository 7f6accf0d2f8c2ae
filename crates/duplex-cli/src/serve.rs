//! `duplex serve`: the real-time hub as a standalone server — a thin shell over
//! `duplex_hub::Hub`: load the configuration, warn about what it leaves open, listen, and on
//! Ctrl-C (or SIGTERM) tell every client to reconnect elsewhere before exiting.
//!
//! The listener speaks HTTP/1.1 and cleartext HTTP/2 with prior knowledge (h2c) on the same
//! port (`axum::serve` with axum's `http2` feature), with extended CONNECT enabled, so a client
//! can open its WebSocket over HTTP/2 (RFC 8441). There is no TLS here, so browsers (which use
//! HTTP/2 only over TLS) still come over HTTP/1.1.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context};
use duplex_hub::config::{EngineType, HubConfig, LogLevel};
use duplex_hub::Hub;

use crate::args::{EngineArg, ServeArgs};
use crate::demo::Demo;

/// Runs the hub until Ctrl-C or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let notices = Notices {
        json: args.json_logs(),
    };
    let mut config = load(&args)?;
    let demo = match args.demo {
        true => Some(Demo::configure(&mut config)?),
        false => None,
    };
    crate::set_default_log_level(log_filter(config.log.level));
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let runtime = crate::runtime::build(threads).context("cannot start the runtime")?;
    runtime.block_on(serve(config, notices, demo))
}

/// What the server says about itself to its operator: what the configuration leaves open,
/// where it listens, that it stops. Plain lines for a person (printed whatever the log level:
/// they are the answer to "is it up, and is it safe?"); log events when the logs are JSON, so
/// that a log collector reads nothing but JSON on stderr.
#[derive(Debug, Clone, Copy)]
struct Notices {
    json: bool,
}

impl Notices {
    fn warn(self, text: &str) {
        if self.json {
            tracing::warn!("{text}");
        } else {
            eprintln!("duplex serve: {text}");
        }
    }

    fn info(self, text: &str) {
        if self.json {
            tracing::info!("{text}");
        } else {
            eprintln!("duplex serve: {text}");
        }
    }

    /// The listening address, as a field of its own in JSON for whoever waits for it.
    fn listening(self, local: SocketAddr) {
        if self.json {
            tracing::info!(
                address = %local,
                websocket = %format_args!("ws://{local}/connection/websocket"),
                api = %format_args!("http://{local}/api"),
                "listening on {local}"
            );
        } else {
            eprintln!("duplex serve: listening on {local}");
            eprintln!(
                "duplex serve: clients connect to ws://{local}/connection/websocket (HTTP/1.1, or \
                 HTTP/2 with prior knowledge); the server API is at http://{local}/api"
            );
        }
    }
}

/// The configuration from every source, later ones winning: file, environment, flags.
fn load(args: &ServeArgs) -> anyhow::Result<HubConfig> {
    let mut config = match &args.config {
        Some(path) => {
            let loaded =
                HubConfig::load(path).with_context(|| format!("cannot load {}", path.display()))?;
            for key in &loaded.ignored {
                tracing::warn!(
                    "{}: option {key} is not implemented by duplex; ignored",
                    path.display()
                );
            }
            loaded.config
        }
        None => HubConfig::default(),
    };
    let report = config
        .apply_env(std::env::vars())
        .context("bad DUPLEX_* environment variable")?;
    if let Some(name) = report.unknown.first() {
        bail!("unknown environment variable {name}: no such option (see docs/hub-config.md)");
    }
    for key in &report.ignored {
        tracing::warn!("environment: option {key} is not implemented by duplex; ignored");
    }
    for setting in &args.settings {
        let Some((key, value)) = setting.split_once('=') else {
            bail!("--set {setting}: expected KEY=VALUE");
        };
        config
            .set(key.trim(), value.trim())
            .with_context(|| format!("--set {setting}"))?;
    }
    if let Some(port) = args.port {
        config.set("http_server.port", &port.to_string())?;
    }
    if let Some(address) = &args.address {
        config.set("http_server.address", address)?;
    }
    if let Some(engine) = args.engine {
        config.engine.kind = Some(match engine {
            EngineArg::Sqlite => EngineType::Sqlite,
            EngineArg::Memory => EngineType::Memory,
            EngineArg::Redis => EngineType::Redis,
        });
    }
    if let Some(folder) = &args.data_dir {
        config.engine.sqlite.path = folder.display().to_string();
    }
    // Durable by default: a server that restarts keeps what its clients need to recover.
    config.engine.kind.get_or_insert(EngineType::Sqlite);
    if args.dev {
        config.set("client.insecure", "true")?;
        config.set("http_api.insecure", "true")?;
        config.set("client.allowed_origins", r#"["*"]"#)?;
    }
    Ok(config)
}

/// `log.level` as a tracing filter.
fn log_filter(level: LogLevel) -> &'static str {
    match level {
        LogLevel::None => "off",
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    }
}

/// Says loudly what the configuration leaves open or shut.
fn announce(config: &HubConfig, notices: Notices) {
    if config.client.insecure {
        notices.warn(
            "DEVELOPMENT MODE (--dev or client.insecure): clients connect without a token and \
             every channel is open to them; never run this in production",
        );
    } else if !config.client.token.is_configured()
        && !config.client.allow_anonymous_connect_without_token
        && !config.client.proxy.connect.enabled
    {
        notices.warn(
            "no token key configured (client.token.hmac_secret_key, rsa_public_key, \
             ecdsa_public_key or jwks_public_endpoint) and no connect proxy \
             (client.proxy.connect): every Centrifugo-protocol connection will be refused; \
             use --dev to try it out",
        );
    }
    for app in &config.pusher.apps {
        notices.info(&format!(
            "Pusher app {:?}: clients connect to /app/{} (protocol 7), its HTTP API is at \
             /apps/{}, its channels are the hub's namespace {:?}{}",
            app.id,
            app.key,
            app.id,
            app.namespace(),
            if app.webhook_url.is_some() {
                ", with webhooks"
            } else {
                ""
            }
        ));
    }
    if config.broker.is_nats() {
        notices.info(&format!(
            "nats broker at {} (prefix {}): publications reach every node at most once, \
             without history; presence is per node",
            config.broker.nats.url, config.broker.nats.prefix
        ));
    } else {
        announce_engine(config, notices);
    }
    if config.http_api.insecure {
        notices.warn("the server API at /api accepts calls without a key");
    } else if config.http_api.key.as_deref().unwrap_or("").is_empty() {
        notices.warn("no http_api.key: the server API at /api refuses every call");
    }
}

/// Where the engine keeps channel history.
fn announce_engine(config: &HubConfig, notices: Notices) {
    match config.engine.kind {
        Some(EngineType::Memory) => notices.info(
            "memory engine: channel history is lost when the server stops (--engine sqlite \
             keeps it)",
        ),
        Some(EngineType::Redis) => notices.info(&format!(
            "redis engine: channels, history and presence shared through {}",
            config.engine.redis.address.join(", ")
        )),
        _ => notices.info(&format!(
            "sqlite engine: channel history is kept in {}",
            config.engine.sqlite.path
        )),
    }
}

async fn serve(config: HubConfig, notices: Notices, demo: Option<Demo>) -> anyhow::Result<()> {
    announce(&config, notices);
    let address = listen_address(&config);
    let shutdown_timeout = config.shutdown.timeout;
    let hub = Hub::new(config).await.context("cannot start the hub")?;
    let stop = StopSignals::listen().context("cannot listen for SIGTERM and Ctrl-C")?;
    let addr: SocketAddr = tokio::net::lookup_host(&address)
        .await
        .with_context(|| format!("cannot resolve {address}"))?
        .next()
        .with_context(|| format!("cannot resolve {address}"))?;
    let listener =
        crate::runtime::listen_nodelay(addr).with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let mut app = hub.router();
    if let Some(demo) = demo {
        let demo = demo.listening_on(local.port());
        for line in demo.welcome() {
            notices.warn(&line);
        }
        app = app.merge(demo.start(&hub));
    }
    notices.listening(local);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await
    });
    stop.wait().await;
    notices.info("shutting down: telling clients to reconnect elsewhere");
    // Stop accepting first: a client told to reconnect must not land on this server again
    // while it drains (and the port is free for the next one at once). Upgraded connections
    // are the hub's, so the graceful stop does not wait for them.
    let _ = stop_tx.send(());
    // Spread the reconnects over part of the shutdown timeout, so the next server is not hit
    // by every client in the same millisecond.
    hub.shutdown(shutdown_timeout.min(Duration::from_secs(5)) / 2)
        .await;
    match tokio::time::timeout(shutdown_timeout, server).await {
        Ok(Ok(Ok(()))) | Err(_) => Ok(()),
        Ok(Ok(Err(error))) => Err(error).context("server failed"),
        Ok(Err(error)) => Err(error).context("server task failed"),
    }
}

/// `http_server.address` and `port` as a socket address to resolve; no address means every
/// interface, as Centrifugo.
fn listen_address(config: &HubConfig) -> String {
    let host = match config.http_server.address.as_str() {
        "" => "0.0.0.0",
        host => host,
    };
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{}", config.http_server.port)
    } else {
        format!("{host}:{}", config.http_server.port)
    }
}

/// Ctrl-C and SIGTERM, listened for from before the server accepts its first connection: a
/// supervisor (or a test) that stops the server as soon as it answers must not meet the default
/// action, which ends the process without telling a single client.
struct StopSignals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn listen() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignals {
                terminate: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
