//! Command-line arguments: what each subcommand accepts, with help text and examples.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// duplex: a WebSocket toolkit.
#[derive(Debug, Parser)]
#[command(name = "duplex", version, about, long_about = None)]
pub struct Cli {
    /// Print debug logs (-v) or trace logs (-vv). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only print errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The tracing filter the flags ask for.
    pub fn log_level(&self) -> &'static str {
        match (self.quiet, self.verbose) {
            (true, _) => "error",
            (false, 0) => "info",
            (false, 1) => "debug",
            (false, _) => "trace",
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a WebSocket echo server: every text and binary message is sent back as it came.
    #[command(after_help = "Examples:\n  \
        duplex echo                                   # ws://127.0.0.1:9001\n  \
        duplex echo --listen 0.0.0.0:8080 --protocol chat\n  \
        duplex echo --deflate                         # permessage-deflate when offered
  \
        duplex echo --allow-origin https://example.com
  \
        duplex echo --cert cert.pem --key key.pem      # wss://127.0.0.1:9001")]
    Echo(EchoArgs),
}

/// Options of `duplex echo`.
#[derive(Debug, Args)]
pub struct EchoArgs {
    /// Address to listen on.
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
    /// Worker threads; 1 runs everything on the current thread.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}
