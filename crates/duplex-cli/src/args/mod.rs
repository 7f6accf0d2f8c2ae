//! Command-line arguments: what each subcommand accepts, with help text and examples.
//!
//! This layer only parses; turning arguments into library settings happens next to the code
//! that uses them (ripgrep's split between flags and the rest).

mod bench;
mod bench_hub;
mod connect;
mod echo;
mod publish;
mod relay;
mod serve;
mod subscribe;
mod token;

use std::time::Duration;

use clap::{Parser, Subcommand};

pub use bench::{
    BenchArgs, BenchCommand, BroadcastBenchArgs, ConnectBenchArgs, EchoBenchArgs, IdleBenchArgs,
};
pub use bench_hub::{
    HubBenchArgs, HubBenchCommand, HubConnectArgs, HubFanoutArgs, HubIdleArgs, HubLayoutArgs,
    HubProtocol, HubReconnectArgs, HubTargetArgs,
};
pub use connect::{ClientArgs, ConnectArgs};
pub use echo::EchoArgs;
pub use publish::{PublishArgs, API_KEY_ENV};
pub use relay::RelayArgs;
pub use serve::{EngineArg, ServeArgs};
pub use subscribe::SubscribeArgs;
pub use token::TokenArgs;

/// duplex: a WebSocket toolkit and real-time hub.
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
    /// The tracing filter the flags ask for. Client commands log less by default: their
    /// output is the conversation, not the library's progress.
    pub fn log_level(&self) -> &'static str {
        let quiet_by_default = !matches!(
            self.command,
            Command::Echo(_) | Command::Relay(_) | Command::Serve(_)
        );
        match (self.quiet, self.verbose) {
            (true, _) => "error",
            (false, 0) if quiet_by_default => "warn",
            (false, 0) => "info",
            (false, 1) => "debug",
            (false, _) => "trace",
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the real-time hub: channels, presence, history and recovery, a server API;
    /// Centrifugo's client protocol, so its SDKs connect unchanged.
    #[command(after_help = serve::AFTER_HELP)]
    Serve(ServeArgs),
    /// Connect to a WebSocket server: an interactive client on a terminal, a pipe otherwise.
    #[command(after_help = connect::AFTER_HELP)]
    Connect(ConnectArgs),
    /// Run a WebSocket echo server: every text and binary message is sent back as it came.
    #[command(after_help = echo::AFTER_HELP)]
    Echo(EchoArgs),
    /// Run a relay: every message a client sends goes to every other client (encoded once).
    #[command(after_help = relay::AFTER_HELP)]
    Relay(RelayArgs),
    /// Load-test any WebSocket server: echo throughput and latency, handshakes, idle memory.
    #[command(after_help = bench::AFTER_HELP)]
    Bench(BenchArgs),
    /// Subscribe to channels of a duplex hub (or Centrifugo) and print what is published.
    #[command(after_help = subscribe::AFTER_HELP)]
    Subscribe(SubscribeArgs),
    /// Publish into a channel through a hub's server API.
    #[command(after_help = publish::AFTER_HELP)]
    Publish(PublishArgs),
    /// Mint a token for a duplex hub (or Centrifugo): a connection or subscription JWT.
    #[command(after_help = token::AFTER_HELP)]
    Token(TokenArgs),
    /// Print a shell completion script to stdout.
    #[command(after_help = "Examples:\n  \
        duplex completions bash > ~/.local/share/bash-completion/completions/duplex\n  \
        duplex completions zsh > \"${fpath[1]}/_duplex\"\n  \
        duplex completions fish > ~/.config/fish/completions/duplex.fish\n  \
        duplex completions powershell >> $PROFILE\n  \
        duplex completions elvish >> ~/.config/elvish/rc.elv")]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

/// Parses a number of seconds, fractions allowed: `10`, `0.5`.
pub fn parse_secs(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{text:?} is not a valid duration"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_secs("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("soon").is_err());
    }
}
