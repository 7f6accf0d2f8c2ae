//! Options of `duplex subscribe`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

pub const AFTER_HELP: &str = "\
Prints each publication as it arrives (one line each), joins and leaves, and reconnects by
itself when the connection drops, recovering what it missed from the channel's history.
Status (connected, reconnected, recovered N) goes to stderr; publications to stdout.
--json prints one JSON object per line instead:
  {\"type\":\"publication\",\"channel\":\"chat:news\",\"offset\":7,\"data\":{\"text\":\"hi\"}}
  {\"type\":\"join\",\"channel\":\"chat:news\",\"user\":\"42\",\"client\":\"...\"}
  {\"type\":\"subscribed\",\"channel\":\"chat:news\",\"was_recovering\":true,\"recovered\":true,\"recovered_publications\":12,...}

Exit status: 0 after Ctrl-C; 1 when the hub cannot be reached or refuses every channel;
3 or 4 when the hub closes for good with a 3500-3999 or 4500-4999 code (a refused token
is 3500).

Examples:
  duplex subscribe ws://127.0.0.1:8000/connection/websocket chat:news --token \"$TOKEN\"
  duplex subscribe ws://127.0.0.1:8000/connection/websocket news sport     # --dev hubs: no token
  duplex subscribe --json ws://localhost:8000/connection/websocket chat:news --token \"$(duplex token --user 42)\" | jq .data
  duplex subscribe wss://ws.example.com/connection/websocket '$private:42' --token \"$TOKEN\" \\
      --sub-token '$private:42'=\"$(duplex token --user 42 --channel '$private:42')\"";

/// Options of `duplex subscribe`.
#[derive(Debug, Args)]
pub struct SubscribeArgs {
    /// The hub's WebSocket endpoint: ws://host:port/connection/websocket (or wss://).
    pub url: String,
    /// The channels to subscribe to.
    #[arg(required = true, value_name = "CHANNEL")]
    pub channels: Vec<String>,
    /// The connection token (a JWT signed with the hub's secret; see `duplex token`).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// A subscription token for one channel, CHANNEL=TOKEN (repeatable).
    #[arg(long = "sub-token", value_name = "CHANNEL=TOKEN", value_parser = parse_sub_token)]
    pub sub_tokens: Vec<(String, String)>,
    /// Print one JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Also trust the CA certificates in this PEM file (wss:// to a private CA).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Accept any server certificate (self-signed, expired, another host's). Testing only.
    #[arg(long)]
    pub insecure: bool,
    /// Time allowed for each connection attempt and the hub's answers.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = super::parse_secs)]
    pub connect_timeout: Duration,
}

fn parse_sub_token(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((channel, token)) if !channel.is_empty() && !token.is_empty() => {
            Ok((channel.to_owned(), token.to_owned()))
        }
        _ => Err(format!("{text:?} is not CHANNEL=TOKEN")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_tokens() {
        assert_eq!(
            parse_sub_token("$private:42=a.b=c"),
            Ok(("$private:42".into(), "a.b=c".into()))
        );
        assert!(parse_sub_token("no-token").is_err());
        assert!(parse_sub_token("=t").is_err());
    }
}
