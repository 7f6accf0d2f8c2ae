//! Options of `duplex relay`.

use std::net::SocketAddr;

use clap::Args;

pub const AFTER_HELP: &str =
    "Every text or binary message a client sends is sent to every other connected
client: a chat room or a pub/sub fan-out to test clients and load against. Each message is
encoded once and the same bytes are queued on every receiver; a receiver that stops reading
is closed with 1008 once --max-buffered bytes wait for it.

Examples:
  duplex relay                                  # ws://127.0.0.1:9002
  duplex relay --event-loop                     # one epoll loop instead of a task each
  duplex relay --event-loop --threads 2         # two loops; each relays to the other's clients too
  taskset -c 0 duplex relay --listen 127.0.0.1:9002 &
  taskset -c 1 duplex bench broadcast --url ws://127.0.0.1:9002 --receivers 1000 --rate 1000";

/// Options of `duplex relay`.
#[derive(Debug, Args)]
pub struct RelayArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9002")]
    pub listen: SocketAddr,
    /// An origin allowed to connect (repeatable); others get 403. Default: any.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
    /// Most connections open at once; more get 503.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Bytes that may wait for one receiver before it is closed as a slow consumer (1008).
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub max_buffered: usize,
    /// Worker threads; 1 runs everything on the current thread. With --event-loop: loops,
    /// one thread each, every one listening on the port (SO_REUSEPORT: the kernel spreads
    /// connections across them).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Serve from epoll loops (duplex::event_loop) instead of a tokio task per connection,
    /// one loop per --threads, all on the same port.
    #[arg(long)]
    pub event_loop: bool,
    /// With --event-loop: write each connection with its own sendmsg instead of one
    /// io_uring submission per batch (the default where the kernel allows io_uring).
    #[arg(long, requires = "event_loop")]
    pub no_io_uring: bool,
}
