//! Arguments of `duplex serve`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

pub const AFTER_HELP: &str = "\
Configuration, later sources winning: defaults, the file (--config), DUPLEX_* environment
variables (DUPLEX_CLIENT_TOKEN_HMAC_SECRET_KEY, DUPLEX_HTTP_API_KEY...), then flags. A
Centrifugo v6 config.json works as it is; keys duplex does not implement are listed at start.
See docs/hub-config.md for every option.

Secure by default: without a token secret every connection is refused, and without an API key
every server API call. --dev lifts both for development, and says so loudly.

Examples:
  duplex serve --demo                                  chat, a dashboard, live results and cursors
                                                       at http://127.0.0.1:8000/
  duplex serve --dev                                   try it: anyone may connect and publish
  duplex serve --config config.json                    a Centrifugo v6 configuration
  duplex serve --config duplex.toml --port 9000
  duplex serve --dev --data-dir /var/lib/duplex       history kept there across restarts
  duplex serve --dev --engine memory                   nothing on disk, history lost at exit
  duplex serve --set client.token.hmac_secret_key=S --set http_api.key=K
  duplex serve --config config.json --log-format json  one JSON object per log line
  duplex token --user 42 --secret S                    a connection token for user 42

A browser page connects with the centrifuge SDK:
  const client = new Centrifuge('ws://localhost:8000/connection/websocket', { token });
  const sub = client.newSubscription('chat:lobby');
  sub.on('publication', (ctx) => console.log(ctx.data));
  sub.subscribe(); client.connect();
and the backend publishes:
  curl -X POST localhost:8000/api/publish -H 'X-API-Key: K' \\
       -d '{\"channel\": \"chat:lobby\", \"data\": {\"text\": \"hi\"}}'";

/// `duplex serve`: the real-time hub.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file: Centrifugo v6 JSON (`.json`) or duplex TOML (`.toml`).
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Port to listen on (http_server.port; default 8000).
    #[arg(short, long)]
    pub port: Option<u16>,
    /// Address to listen on (http_server.address; default all interfaces).
    #[arg(long, value_name = "ADDR")]
    pub address: Option<String>,
    /// Development mode: connections without a token, the server API without a key, any
    /// origin. Never in production.
    #[arg(long)]
    pub dev: bool,
    /// The demos: chat, a live dashboard, live results and collaborative cursors at
    /// http://127.0.0.1:8000/, with tokens minted by the server for whoever asks. Listens on
    /// loopback only; its random keys are kept in --data-dir (new each start with
    /// `--engine memory`).
    #[arg(long, conflicts_with_all = ["dev", "config"])]
    pub demo: bool,
    /// Sets any configuration option by its key, as in the file: `--set client.channel_limit=64`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub settings: Vec<String>,
    /// Where channels' history lives (engine.type): `sqlite` (the default) keeps it in
    /// --data-dir across restarts, so clients recover what they missed; `memory` forgets it
    /// at exit.
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub engine: Option<EngineArg>,
    /// The SQLite engine's data folder (engine.sqlite.path; default `duplex-data` in the
    /// working directory), created if missing.
    #[arg(long, value_name = "PATH")]
    pub data_dir: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// How log lines look: `text` for a person, `json` (one object per line, on stderr) for a
    /// log collector.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// The engines `duplex serve --engine` chooses from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// History, epochs and offsets in a SQLite file: durable across restarts.
    Sqlite,
    /// Everything in memory: lost at exit.
    Memory,
    /// Broker, history and presence in Redis (engine.redis.address): shared by many nodes.
    Redis,
}

/// The shape of `duplex serve`'s log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Lines for a person to read.
    #[default]
    Text,
    /// One JSON object per line: time, level, target and the event's fields.
    Json,
}

impl ServeArgs {
    /// Whether every log line is to be a JSON object.
    pub fn json_logs(&self) -> bool {
        self.log_format == LogFormat::Json
    }
}
