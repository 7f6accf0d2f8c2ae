//! `duplex publish`: one publication through a hub's server API, as a backend sends it, with
//! the refusals a person meets first explained: a wrong key (401), a wrong address, a channel
//! the hub does not know.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use serde_json::{json, Value};

use crate::args::{PublishArgs, API_KEY_ENV};

/// Publishes and prints the position the publication got.
pub fn run(args: PublishArgs) -> anyhow::Result<()> {
    let endpoint = endpoint(&args.api)?;
    let key = args
        .api_key
        .clone()
        .or_else(|| std::env::var(API_KEY_ENV).ok())
        .filter(|key| !key.is_empty());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let text = runtime.block_on(post(&endpoint, key.as_deref(), &args))?;
    let answer: Value = serde_json::from_str(&text)
        .with_context(|| format!("{endpoint} answered something other than JSON: {text}"))?;
    if let Some(error) = answer.get("error") {
        let code = error["code"].as_u64().unwrap_or_default();
        let message = error["message"].as_str().unwrap_or("no message");
        bail!(
            "the hub refused the publication to {}: {message} (code {code})",
            args.channel
        );
    }
    if args.json {
        println!("{}", text.trim());
        return Ok(());
    }
    let result = &answer["result"];
    match (result["offset"].as_u64(), result["epoch"].as_str()) {
        (Some(offset), Some(epoch)) => {
            println!(
                "published to {}: offset {offset}, epoch {epoch}",
                args.channel
            )
        }
        _ => println!(
            "published to {} (its namespace keeps no history, so no offset)",
            args.channel
        ),
    }
    Ok(())
}

/// `URL/api/publish`, from the hub's address (with or without `/api`).
fn endpoint(api: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(api).map_err(|e| anyhow!("--api {api}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("--api {api}: the server API is at an http:// or https:// address");
    }
    let base = api.trim_end_matches('/');
    let base = base.strip_suffix("/api").unwrap_or(base);
    Ok(format!("{base}/api/publish"))
}

/// The API's answer (its body, for a 200).
async fn post(endpoint: &str, key: Option<&str>, args: &PublishArgs) -> anyhow::Result<String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut request = http
        .post(endpoint)
        .json(&json!({"channel": args.channel, "data": args.data}));
    if let Some(key) = key {
        request = request.header("X-API-Key", key);
    }
    let response = request.send().await.map_err(|e| {
        anyhow!(
            "cannot reach the hub's API at {endpoint}: {}",
            root_cause(&e)
        )
    })?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    match status.as_u16() {
        200 => Ok(body),
        401 if key.is_none() => bail!(
            "the hub wants an API key (401 Unauthorized): pass --api-key or set {API_KEY_ENV} \
             (the hub's http_api.key)"
        ),
        401 => bail!(
            "the hub refused the API key (401 Unauthorized): --api-key must be the hub's \
             http_api.key"
        ),
        404 => bail!(
            "{endpoint} answered 404 Not Found: is --api the hub's HTTP address (where \
             `duplex serve` listens)?"
        ),
        _ => bail!("{endpoint} answered {status}: {}", body.trim()),
    }
}

/// The innermost cause: "Connection refused", not three layers of "error sending request".
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let publish = "http://127.0.0.1:8000/api/publish";
        assert_eq!(endpoint("http://127.0.0.1:8000").unwrap(), publish);
        assert_eq!(endpoint("http://127.0.0.1:8000/").unwrap(), publish);
        assert_eq!(endpoint("http://127.0.0.1:8000/api").unwrap(), publish);
        assert!(endpoint("ws://127.0.0.1:8000").is_err());
        assert!(endpoint("127.0.0.1:8000").is_err());
    }
}
