//! Options of `duplex publish`.

use clap::Args;

/// Where the API key comes from when --api-key is not given (the hub reads the same name).
pub const API_KEY_ENV: &str = "DUPLEX_HTTP_API_KEY";

pub const AFTER_HELP: &str = "\
Publishes through the hub's server API (POST URL/api/publish, the key in X-API-Key), as an
application's backend does, and prints where the publication went in the channel's stream:
its offset and epoch (none for channels without history). DATA must be JSON: quote text.

Examples:
  duplex publish chat:news '{\"text\":\"hello\"}' --api-key \"$KEY\"
  duplex publish chat:news '\"just a string\"' --api http://hub.internal:8000 --api-key \"$KEY\"
  DUPLEX_HTTP_API_KEY=$KEY duplex publish scores '[1,2,3]'
  duplex publish chat:news '{\"n\":1}' --api-key \"$KEY\" --json     # the API's answer as it came";

/// Options of `duplex publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The channel.
    pub channel: String,
    /// The publication: any JSON value.
    #[arg(value_name = "DATA", value_parser = parse_json)]
    pub data: serde_json::Value,
    /// The hub's HTTP address (its server API is under /api).
    #[arg(
        long = "api",
        value_name = "URL",
        default_value = "http://127.0.0.1:8000"
    )]
    pub api: String,
    /// The server API key (the hub's http_api.key). Default: $DUPLEX_HTTP_API_KEY.
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
    /// Print the API's JSON answer instead of a sentence.
    #[arg(long)]
    pub json: bool,
}

fn parse_json(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|e| {
        format!("not JSON ({e}); text must be quoted: '\"hello\"', objects look like '{{\"text\":\"hello\"}}'")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_must_be_json() {
        assert_eq!(parse_json(r#"{"a":1}"#), Ok(serde_json::json!({"a": 1})));
        assert_eq!(parse_json(r#""hi""#), Ok(serde_json::json!("hi")));
        let error = parse_json("hello").unwrap_err();
        assert!(
            error.contains("not JSON") && error.contains("quoted"),
            "{error}"
        );
    }
}
