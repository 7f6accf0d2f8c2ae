//! Options of `duplex connect`, and the client options the bench subcommands share.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

pub const AFTER_HELP: &str = "\
Interactive (stdin is a terminal): type a line to send it as a text message. Sent lines show
after the prompt `> `, received messages after `< `. Commands:
  /ping [DATA]              send a ping (the pong shows as `< [pong] DATA`)
  /close [CODE [REASON]]    start the closing handshake (default 1000) and exit once answered
  /binary DATA              send a binary message; DATA in hex (base64 with --base64)
  /quit                     close normally (1000) and exit; so do Ctrl-D and Ctrl-C
  //TEXT                    send `/TEXT` as text
  /help                     list the commands
Received binary messages show as hex (base64 with --base64). Up/Down walk the history.

Piped (stdin is not a terminal): each input line is one message (text, or binary with
--binary), each received message one output line (binary as hex, or base64 with --base64).
At the end of the input, duplex waits until nothing has arrived for --linger seconds (some
servers drop replies they have not sent once they see a close), then closes with 1000 and
exits once the server answers. A server that keeps sending keeps the connection open.
--json writes one JSON object per line per event: open, message, ping, pong, close, error.

Exit status:
  0        closed normally: the server closed with 1000, or duplex closed (end of input,
           /close, /quit) and the server answered
  1        an error: bad URL, DNS, connection refused, TLS, an HTTP answer other than 101,
           a protocol violation by the server, a timeout, an I/O error
  2        bad command-line arguments
  3, 4     the server closed with a code in 3000-3999 (3) or 4000-4999 (4)
  101-115  the server closed with 1001-1015: 100 + (code - 1000), so 101 going away,
           102 protocol error, 105 no status code, 106 the connection dropped without a
           close frame, 108 policy violation, 109 message too big, 111 internal error

Examples:
  duplex connect ws://127.0.0.1:9001
  duplex connect -t --protocol chat wss://example.com/socket
  echo hello | duplex connect ws://127.0.0.1:9001            # prints hello
  printf 'a\\nb\\n' | duplex connect --json ws://127.0.0.1:9001 | jq .
  duplex connect -H 'Authorization: Bearer t0k3n' --origin https://example.com wss://example.com/ws
  duplex connect --ca my-ca.pem wss://internal.example:8443/
  duplex connect --insecure wss://127.0.0.1:9001/             # self-signed server (testing only)";

/// Options of `duplex connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The server: ws://host[:port]/path or wss://...
    pub url: String,
    #[command(flatten)]
    pub client: ClientArgs,
    /// Send input lines as binary messages instead of text.
    #[arg(long)]
    pub binary: bool,
    /// Show binary payloads (and read /binary DATA) as base64 instead of hex.
    #[arg(long)]
    pub base64: bool,
    /// Write one JSON object per event (open, message, ping, pong, close, error).
    #[arg(long)]
    pub json: bool,
    /// Show when each message was sent or received (UTC).
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Send a ping every SECS seconds; fail if its pong has not come back by the next one.
    #[arg(long, value_name = "SECS", value_parser = super::parse_secs)]
    pub ping_interval: Option<Duration>,
    /// Piped: after the end of input, close once nothing has arrived for SECS (0: at once).
    #[arg(long, value_name = "SECS", default_value = "0.5", value_parser = super::parse_secs)]
    pub linger: Duration,
}

/// How to reach the server: the options every client subcommand shares.
#[derive(Debug, Args, Clone)]
pub struct ClientArgs {
    /// A request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// Offer a subprotocol (repeatable, most preferred first).
    #[arg(long = "protocol", value_name = "NAME")]
    pub protocols: Vec<String>,
    /// The Origin header, as a browser would send it.
    #[arg(long, value_name = "ORIGIN")]
    pub origin: Option<String>,
    /// Also trust the CA certificates in this PEM file (wss:// to a private CA).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Accept any server certificate (self-signed, expired, another host's). Testing only.
    #[arg(long)]
    pub insecure: bool,
    /// Offer permessage-deflate compression.
    #[arg(long)]
    pub deflate: bool,
    /// Largest message accepted from the server, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_size: usize,
    /// Time allowed for DNS, TCP, TLS and the handshake together.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = super::parse_secs)]
    pub connect_timeout: Duration,
}

/// Parses `Name: value`.
fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not `Name: value`"))?;
    let name = name.trim();
    if name.is_empty() || name.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err(format!("{name:?} is not a valid header name"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(
            parse_header("Authorization: Bearer a:b"),
            Ok(("Authorization".into(), "Bearer a:b".into()))
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": empty name").is_err());
        assert!(parse_header("bad name: x").is_err());
    }
}
