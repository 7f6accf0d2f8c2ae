//! Options of `duplex bench hub`: load for a real-time hub through its client protocol, with
//! publications through its server API.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use super::bench::CommonBenchArgs;

/// Options of `duplex bench hub`.
#[derive(Debug, Args)]
pub struct HubBenchArgs {
    #[command(subcommand)]
    pub command: HubBenchCommand,
}

/// The hub benchmarks.
#[derive(Debug, Subcommand)]
pub enum HubBenchCommand {
    /// Fan-out: clients subscribed to channels, publications through the server API at a
    /// fixed rate; every delivery checked (once, in order) and timed.
    #[command(after_help = "Examples:
  duplex serve --dev &      # or any Centrifugo-protocol server
  duplex bench hub fanout --url ws://127.0.0.1:8000/connection/websocket \\
      --publish-url http://127.0.0.1:8000/api --api-key KEY --token-secret SECRET \\
      --clients 10000 --channels 1 --rate 20
  duplex bench hub fanout --hub-protocol pusher --url ws://127.0.0.1:6001/app/KEY \\
      --publish-url http://127.0.0.1:6001 --app-id ID --app-key KEY --app-secret SECRET \\
      --clients 10000 --channels 1000 --subs-per-client 5 --rate 2000

Client i subscribes to channels (i*S + j) mod C for j < S. Publications go round robin over
the channels, one publish stream per channel (a channel's next publication is sent once the
previous one was answered), so every subscriber can check that it got each channel's
publications once and in order. Each publication's data carries its channel, its sequence
number in the channel and its send time. Latency is from the publish request to the kernel's
receive timestamp on the subscriber's socket (SO_TIMESTAMPNS).")]
    Fanout(HubFanoutArgs),
    /// Idle clients, connected, authenticated and subscribed: the server's memory per client.
    #[command(after_help = "Examples:
  duplex bench hub idle --url ws://127.0.0.1:8000/connection/websocket --token-secret SECRET \\
      --clients 10000 --subs-per-client 5 --channels 1000 --server-pid $(pgrep -n duplex)")]
    Idle(HubIdleArgs),
    /// Connections per second: each task connects, authenticates (a JWT per connection with
    /// the Centrifugo protocol), subscribes, closes, and starts over.
    Connect(HubConnectArgs),
    /// A mass reconnect: clients subscribed with history drop their connections, miss
    /// publications, then all come back at once and recover what they missed (Centrifugo
    /// protocol: `recover` with the last offset and epoch).
    #[command(after_help = "Examples:
  duplex bench hub reconnect --url ws://127.0.0.1:8000/connection/websocket \\
      --publish-url http://127.0.0.1:8000/api --api-key KEY --token-secret SECRET \\
      --clients 10000 --channels 1000 --missed 100

Reported: the time from the first reconnect until every client has recovered every
publication it missed (each once, in order), the server's CPU for it, and with
--metrics-url the hub's engine reads (duplex_hub_engine_history_reads_total) during it.")]
    Reconnect(HubReconnectArgs),
}

/// The client protocols the loader speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HubProtocol {
    /// Centrifugo's JSON client protocol; publications through its server API
    /// (`POST {publish-url}/publish`, `X-API-Key`).
    Centrifugo,
    /// Pusher Channels, protocol 7; publications through its HTTP API
    /// (`POST {publish-url}/apps/{app-id}/events`, signed).
    Pusher,
    /// Socket.IO 4 over its WebSocket transport; the server joins rooms on a `subscribe` event
    /// and emits `pub` events for `POST {publish-url}` (bench/node/hub_socketio.mjs).
    Socketio,
    /// uWebSockets pub/sub, no hub features: `{"subscribe":[...]}` in, the published body out
    /// (bench/node/hub_uws.mjs).
    Uws,
}

/// How to reach the hub, shared by every hub benchmark.
#[derive(Debug, Args)]
pub struct HubTargetArgs {
    #[command(flatten)]
    pub common: CommonBenchArgs,
    /// The hub's client protocol (`--protocol` names WebSocket subprotocols, as elsewhere).
    #[arg(long, value_enum, default_value_t = HubProtocol::Centrifugo)]
    pub hub_protocol: HubProtocol,
    /// Where publications go: the server API's base URL (Centrifugo: `http://host:port/api`;
    /// Pusher: `http://host:port`; Socket.IO and uWS: the publish endpoint itself).
    #[arg(long, value_name = "URL")]
    pub publish_url: Option<String>,
    /// The server API key (Centrifugo protocol); default: $DUPLEX_HTTP_API_KEY, as for
    /// `duplex publish`.
    #[arg(long)]
    pub api_key: Option<String>,
    /// HS256 secret to mint one connection token per client (Centrifugo protocol); without
    /// it clients connect with no token.
    #[arg(long)]
    pub token_secret: Option<String>,
    /// The Pusher app's id (for the HTTP API's path).
    #[arg(long, default_value = "bench")]
    pub app_id: String,
    /// The Pusher app's key (signs the HTTP API's requests; the WebSocket URL holds it too).
    #[arg(long, default_value = "bench-key")]
    pub app_key: String,
    /// The Pusher app's secret.
    #[arg(long, default_value = "bench-secret")]
    pub app_secret: String,
    /// Channel names are this prefix and a number (default: `fan:` for Centrifugo, a
    /// namespace with history; `fan-` otherwise).
    #[arg(long)]
    pub channel_prefix: Option<String>,
    /// Source addresses for the clients, round robin: a range `127.0.0.1-127.0.0.20` or a
    /// list `127.0.0.1,127.0.0.2` (past ~28k connections from one address).
    #[arg(long, value_name = "ADDRS")]
    pub source_ips: Option<String>,
    /// Clients being opened at once.
    #[arg(long, default_value_t = 64)]
    pub open_concurrency: usize,
    /// The server's process id: its CPU time (and memory for `idle`) from /proc.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
}

/// Who subscribes to what.
#[derive(Debug, Args)]
pub struct HubLayoutArgs {
    /// Client connections.
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// Channels, named by prefix and number.
    #[arg(long, default_value_t = 1)]
    pub channels: usize,
    /// Subscriptions per client: client i takes channels (i*S + j) mod C.
    #[arg(long, default_value_t = 1)]
    pub subs_per_client: usize,
}

/// Options of `duplex bench hub fanout`.
#[derive(Debug, Args)]
pub struct HubFanoutArgs {
    #[command(flatten)]
    pub target: HubTargetArgs,
    #[command(flatten)]
    pub layout: HubLayoutArgs,
    /// Publications per second, over all channels.
    #[arg(long, default_value_t = 10)]
    pub rate: u64,
    /// Bytes of data per publication (at least 64: channel, sequence, send time).
    #[arg(long, default_value_t = 100)]
    pub size: usize,
    /// Seconds to measure, after the warmup.
    #[arg(long, short = 'd', value_name = "SECS", default_value = "5", value_parser = super::parse_secs)]
    pub duration: Duration,
    /// Seconds of load before measuring starts.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = super::parse_secs)]
    pub warmup: Duration,
}

/// Options of `duplex bench hub idle`.
#[derive(Debug, Args)]
pub struct HubIdleArgs {
    #[command(flatten)]
    pub target: HubTargetArgs,
    #[command(flatten)]
    pub layout: HubLayoutArgs,
    /// Seconds to hold the clients once all are subscribed.
    #[arg(long, value_name = "SECS", default_value = "3", value_parser = super::parse_secs)]
    pub hold: Duration,
}

/// Options of `duplex bench hub connect`.
#[derive(Debug, Args)]
pub struct HubConnectArgs {
    #[command(flatten)]
    pub target: HubTargetArgs,
    /// Subscriptions each connection makes before it closes.
    #[arg(long, default_value_t = 1)]
    pub subs_per_client: usize,
    /// Channels the subscriptions spread over.
    #[arg(long, default_value_t = 1000)]
    pub channels: usize,
    /// Connections in progress at once.
    #[arg(long, short = 'c', default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds to measure, after the warmup.
    #[arg(long, short = 'd', value_name = "SECS", default_value = "5", value_parser = super::parse_secs)]
    pub duration: Duration,
    /// Seconds of load before measuring starts.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = super::parse_secs)]
    pub warmup: Duration,
}

/// Options of `duplex bench hub reconnect`.
#[derive(Debug, Args)]
pub struct HubReconnectArgs {
    #[command(flatten)]
    pub target: HubTargetArgs,
    #[command(flatten)]
    pub layout: HubLayoutArgs,
    /// Publications each channel gets while the clients are away.
    #[arg(long, default_value_t = 100)]
    pub missed: u64,
    /// Bytes of data per publication.
    #[arg(long, default_value_t = 100)]
    pub size: usize,
    /// The hub's Prometheus endpoint, to count its engine reads during the recovery.
    #[arg(long, value_name = "URL")]
    pub metrics_url: Option<String>,
    /// How long the recovery may take before the run fails.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = super::parse_secs)]
    pub patience: Duration,
}
