//! Options of `duplex bench` and its subcommands.

use std::time::Duration;

use clap::{Args, Subcommand};

use super::ClientArgs;

pub const AFTER_HELP: &str = "\
Each subcommand prints a table when done; --json adds one JSON object as the last line.
A progress bar shows on a terminal. The load runs on one thread unless --threads says
otherwise, so pinning it to a core with taskset measures the server, not the scheduler.

Examples:
  taskset -c 0 duplex echo &
  taskset -c 1 duplex bench echo --url ws://127.0.0.1:9001 --conns 50 --pipeline 8
  taskset -c 1 duplex bench connect --url ws://127.0.0.1:9001 --concurrency 16
  duplex bench idle --url ws://127.0.0.1:9001 --conns 50000 --source-ips 127.0.0.1-127.0.0.4 \\
      --server-pid $(pgrep -n duplex)
  duplex bench hub fanout --url ws://127.0.0.1:8000/connection/websocket \\
      --publish-url http://127.0.0.1:8000/api --api-key KEY --clients 10000 --rate 20";

/// Options of `duplex bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Echo throughput and latency: N connections each keep P messages in flight; every
    /// echo is checked (content and order).
    #[command(after_help = "Examples:
  duplex bench echo --url ws://127.0.0.1:9001                     # 1 connection, 1 in flight
  duplex bench echo --url ws://127.0.0.1:9001 --conns 100 --pipeline 16 --size 64
  duplex bench echo --url ws://127.0.0.1:9001 --size 1048576 --binary --duration 5
  duplex bench echo --url ws://127.0.0.1:9001 --server-pid $(pgrep -n duplex) --json | tail -1

Reported: messages/s and MB/s of echoed payload in the measured period (after --warmup),
round-trip latency percentiles, errors (failed connections, wrong or reordered echoes), and
with --server-pid the server's CPU time per message.")]
    Echo(EchoBenchArgs),
    /// Handshakes per second: C tasks each connect (handshake), close, and start over.
    #[command(after_help = "Examples:
  duplex bench connect --url ws://127.0.0.1:9001 --concurrency 16 --duration 10
  duplex bench connect --url wss://127.0.0.1:9443 --insecure --json | tail -1

Latency is from the start of the TCP connect to the end of the WebSocket handshake.")]
    Connect(ConnectBenchArgs),
    /// Idle connections: open N, hold them, and measure the server's memory for them.
    #[command(after_help = "Examples:
  duplex bench idle --url ws://127.0.0.1:9001 --conns 1000 --hold 5 --server-pid 4242
  duplex bench idle --url ws://127.0.0.1:9001 --conns 100000 \\
      --source-ips 127.0.0.1-127.0.0.8 --server-pid $(pgrep -n duplex)

One source address has about 28k ephemeral ports: beyond that, give several with
--source-ips (loopback answers on all of 127.0.0.0/8). The open-file limit is raised to its
hard maximum at start; the server needs one file descriptor per connection too.")]
    Idle(IdleBenchArgs),
    /// Fan-out: one publisher sends at a fixed rate through a relay to N receivers; every
    /// receiver must get every message, once, in order.
    #[command(after_help = "Examples:
  duplex relay &
  duplex bench broadcast --url ws://127.0.0.1:9002 --receivers 1000 --rate 1000
  duplex bench broadcast --url ws://127.0.0.1:9002 --receivers 10000 --rate 200 --duration 10

The server must send what one client says to every other client (`duplex relay`, or any
chat-style broadcast server), over ws:// (wss:// is refused: the latency needs the TCP
reads). Latency is from the publisher's send to the kernel's receive timestamp on the
receiver's socket (SO_TIMESTAMPNS), and also to the receiver's read, which adds this
process's own delay. Reported: deliveries/s, both latencies' percentiles, and messages lost,
duplicated or out of order.")]
    Broadcast(BroadcastBenchArgs),
    /// A real-time hub through its client protocol (Centrifugo, Pusher, Socket.IO or uWS
    /// pub/sub), publishing through its server API: fan-out, idle memory, connects, mass
    /// reconnect with recovery.
    Hub(Box<super::HubBenchArgs>),
}

/// Options of every benchmark.
#[derive(Debug, Args)]
pub struct CommonBenchArgs {
    /// The server to load.
    #[arg(long, value_name = "URL")]
    pub url: String,
    #[command(flatten)]
    pub client: ClientArgs,
    /// Worker threads of the load generator (1: a single-threaded runtime).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Also print the results as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
}

/// Options of `duplex bench echo`.
#[derive(Debug, Args)]
pub struct EchoBenchArgs {
    #[command(flatten)]
    pub common: CommonBenchArgs,
    /// Connections.
    #[arg(long, short = 'c', default_value_t = 1)]
    pub conns: usize,
    /// Messages each connection keeps in flight.
    #[arg(long, short = 'p', default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub pipeline: u32,
    /// Payload bytes per message.
    #[arg(long, short = 's', default_value_t = 64)]
    pub size: usize,
    /// Send binary messages (default: text).
    #[arg(long)]
    pub binary: bool,
    /// Seconds to measure, after the warmup.
    #[arg(long, short = 'd', value_name = "SECS", default_value = "10", value_parser = super::parse_secs)]
    pub duration: Duration,
    /// Seconds of load before measuring starts.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = super::parse_secs)]
    pub warmup: Duration,
    /// The server's process id: report its CPU time per message (from /proc).
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
}

/// Options of `duplex bench connect`.
#[derive(Debug, Args)]
pub struct ConnectBenchArgs {
    #[command(flatten)]
    pub common: CommonBenchArgs,
    /// Handshakes in progress at once.
    #[arg(long, short = 'c', default_value_t = 1)]
    pub concurrency: usize,
    /// Seconds to measure, after the warmup.
    #[arg(long, short = 'd', value_name = "SECS", default_value = "10", value_parser = super::parse_secs)]
    pub duration: Duration,
    /// Seconds of load before measuring starts.
    #[arg(long, value_name = "SECS", default_value = "0", value_parser = super::parse_secs)]
    pub warmup: Duration,
    /// The server's process id: report its CPU time per handshake (from /proc).
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
}

/// Options of `duplex bench idle`.
#[derive(Debug, Args)]
pub struct IdleBenchArgs {
    #[command(flatten)]
    pub common: CommonBenchArgs,
    /// Connections to open.
    #[arg(long, short = 'c', default_value_t = 1000)]
    pub conns: usize,
    /// Seconds to hold them open once all are open.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = super::parse_secs)]
    pub hold: Duration,
    /// Source addresses to bind, round robin: a range `127.0.0.1-127.0.0.20` or a list
    /// `127.0.0.1,127.0.0.2` (ws:// only).
    #[arg(long, value_name = "ADDRS")]
    pub source_ips: Option<String>,
    /// Connections being opened at once.
    #[arg(long, default_value_t = 64)]
    pub open_concurrency: usize,
    /// After opening, each connection sends one JSON-like text message of this many bytes and
    /// waits for its echo before idling, so per-connection state that exists only once data has
    /// flowed (a permessage-deflate context, with --deflate) is counted too.
    #[arg(long, value_name = "BYTES")]
    pub message: Option<usize>,
    /// The server's process id: report its memory (VmRSS) before and with the connections.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
}

/// Options of `duplex bench broadcast`.
#[derive(Debug, Args)]
pub struct BroadcastBenchArgs {
    #[command(flatten)]
    pub common: CommonBenchArgs,
    /// Receiving connections.
    #[arg(long, default_value_t = 100)]
    pub receivers: usize,
    /// Messages per second the publisher sends.
    #[arg(long, default_value_t = 1000)]
    pub rate: u64,
    /// Message size in bytes (at least 16: sequence number and send time).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Seconds to measure, after the warmup.
    #[arg(long, short = 'd', value_name = "SECS", default_value = "5", value_parser = super::parse_secs)]
    pub duration: Duration,
    /// Seconds of load before measuring starts.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = super::parse_secs)]
    pub warmup: Duration,
    /// Source addresses for the receivers, round robin (see `bench idle`).
    #[arg(long, value_name = "ADDRS")]
    pub source_ips: Option<String>,
    /// The server's process id, to report its CPU time per delivery.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
}
