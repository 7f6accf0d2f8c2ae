//! Options of `duplex echo`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

pub const AFTER_HELP: &str = "Examples:
  duplex echo                                   # ws://127.0.0.1:9001
  duplex echo --listen 0.0.0.0:8080 --protocol chat
  duplex echo --deflate                         # permessage-deflate when offered
  duplex echo --allow-origin https://example.com
  duplex echo --cert cert.pem --key key.pem      # wss://127.0.0.1:9001
  duplex echo -v                                # and a line for each connection's end
  duplex echo --event-loop                      # one epoll loop, ~250 B per idle connection
  duplex echo --event-loop --threads 4          # four loops on one port, one per core
  taskset -c 0 duplex echo --listen 127.0.0.1:0  # any free port, pinned to CPU 0";

/// Options of `duplex echo`.
#[derive(Debug, Args)]
pub struct EchoArgs {
    /// Address to listen on (port 0: any free port, logged at start).
    #[arg(long, default_value = "127.0.0.1:9001")]
    pub listen: SocketAddr,
    /// A subprotocol the server speaks (repeatable); the first one the client offers is chosen.
    #[arg(long = "protocol", value_name = "NAME")]
    pub protocols: Vec<String>,
    /// An origin allowed to connect (repeatable); others get 403. Default: any.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
    /// Largest message accepted, in bytes (larger ones close the connection with 1009).
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_message_size: usize,
    /// Accept permessage-deflate (RFC 7692) when the client offers it.
    #[arg(long)]
    pub deflate: bool,
    /// With --deflate: no context takeover either way, so idle connections hold no deflate
    /// memory (lower compression on small repetitive messages).
    #[arg(long, requires = "deflate")]
    pub deflate_lean: bool,
    /// PEM certificate chain (leaf first): serve wss:// instead of ws://. Needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM private key of --cert (PKCS#8, RSA or EC).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Most connections open at once; more get 503 (Retry-After: 1). Default: no cap.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Worker threads; 1 runs everything on the current thread. With --event-loop: loops,
    /// one thread each, every one listening on the port (SO_REUSEPORT: the kernel spreads
    /// connections across them).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Serve from epoll loops (duplex::event_loop) instead of a tokio task per connection:
    /// the leanest idle connections (no task, no heap while idle). One loop per --threads,
    /// all on the same port; no TLS.
    #[arg(long, conflicts_with = "cert")]
    pub event_loop: bool,
    /// With --event-loop: write each connection with its own sendmsg instead of one
    /// io_uring submission per batch (the default where the kernel allows io_uring).
    #[arg(long, requires = "event_loop")]
    pub no_io_uring: bool,
}
