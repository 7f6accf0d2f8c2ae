//! Options of `duplex token`.

use std::time::Duration;

use clap::Args;

pub const AFTER_HELP: &str = "Examples:
  export DUPLEX_CLIENT_TOKEN_HMAC_SECRET_KEY=$(openssl rand -hex 32)   # the hub's secret too
  duplex token --user 42                          # connection token, valid for 1 hour
  duplex token --user 42 --ttl 7d                 # valid for a week
  duplex token --user 42 --channel '$private:42'  # subscription token for one channel
  duplex token --user 42 --info '{\"name\":\"Ada\"}'  # info others see in presence
  duplex token --user 42 --subscribe news --subscribe '#42'  # server-side subscriptions
  duplex token --user '' --no-expiry              # anonymous, never expires
  duplex token --user 42 --audience chat --issuer https://auth.example.com
  TOKEN=$(duplex token --user 42)                 # the token alone is printed

Tokens are HS256 JWTs in Centrifugo's format, signed with --secret or
$DUPLEX_CLIENT_TOKEN_HMAC_SECRET_KEY: the secret the hub verifies them with
(client.token.hmac_secret_key). For development and tests; in production your
backend signs tokens for its logged-in users.";

/// Options of `duplex token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The user id (the token's `sub`); '' for an anonymous user.
    #[arg(long, value_name = "ID")]
    pub user: String,
    /// Make a subscription token for this channel instead of a connection token.
    #[arg(long, value_name = "CHANNEL")]
    pub channel: Option<String>,
    /// How long the token is valid: 90s, 15m, 1h, 7d.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_ttl)]
    pub ttl: Duration,
    /// A token that never expires (no `exp` claim).
    #[arg(long, conflicts_with = "ttl")]
    pub no_expiry: bool,
    /// The HMAC secret. Default: $DUPLEX_CLIENT_TOKEN_HMAC_SECRET_KEY (better on shared machines:
    /// other users can see command lines).
    #[arg(long, value_name = "SECRET")]
    pub secret: Option<String>,
    /// Connection info (or channel info, with --channel): any JSON, shown to other clients
    /// in presence and join/leave.
    #[arg(long, value_name = "JSON", value_parser = parse_json)]
    pub info: Option<serde_json::Value>,
    /// A channel the hub subscribes the connection to on connect (repeatable).
    #[arg(long = "subscribe", value_name = "CHANNEL", conflicts_with = "channel")]
    pub channels: Vec<String>,
    /// The `aud` claim, for a hub configured with a token audience.
    #[arg(long, value_name = "AUDIENCE")]
    pub audience: Option<String>,
    /// The `iss` claim, for a hub configured with a token issuer.
    #[arg(long, value_name = "ISSUER")]
    pub issuer: Option<String>,
}

fn parse_ttl(text: &str) -> Result<Duration, String> {
    let ttl = humantime::parse_duration(text).map_err(|e| format!("{text:?}: {e}"))?;
    if ttl.is_zero() {
        return Err("a token valid for 0s is already expired (--no-expiry: never expires)".into());
    }
    Ok(ttl)
}

fn parse_json(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl() {
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("soon").is_err());
    }

    #[test]
    fn info() {
        assert_eq!(parse_json(r#"{"a":1}"#), Ok(serde_json::json!({"a": 1})));
        assert!(parse_json("{name: Ada}").is_err());
    }
}
