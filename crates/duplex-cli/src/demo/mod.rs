//! `duplex serve --demo`: the hub with four small apps in the browser — chat, a live
//! dashboard, live results and collaborative cursors — so the first command a reader runs
//! shows what the hub is for, and each page is an example to copy.
//!
//! What the demo adds to a plain `duplex serve`:
//! - the namespaces its pages use, each showing a feature ([`NAMESPACES`]);
//! - a token desk (`tokens`), standing in for the application's backend, and a random token key
//!   and server API key, so nothing is configured. With the SQLite engine the keys are kept
//!   beside the history (`demo-keys.json`), so that pages left open through a restart still
//!   hold valid tokens and recover what they missed; with `--engine memory` they are new at
//!   each start, like the history;
//! - the pages (`pages`), and the dashboard's feed of the hub's own figures (`dashboard`);
//! - loopback only: whoever reaches the desk gets a token for any name.
//!
//! The live results come from outside, as in an application: `examples/results-feed`
//! publishes through the server API with this run's key, which the server prints.

mod dashboard;
mod pages;
mod tokens;

use std::sync::Arc;

use anyhow::{bail, Context as _};
use axum::extract::RawQuery;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use duplex_hub::config::{EngineType, HubConfig};
use duplex_hub::Hub;
use rand::RngCore as _;
use serde_json::json;

/// The demos' namespaces (Centrifugo's option names): what each page may do, and what the
/// hub keeps for it.
pub const NAMESPACES: &str = r#"[
  {"name": "chat", "presence": true, "user_presence": true, "join_leave": true,
   "force_push_join_leave": true, "history_size": 100, "history_ttl": "1h",
   "force_recovery": true, "allow_subscribe_for_client": true,
   "allow_publish_for_subscriber": true, "allow_presence_for_subscriber": true,
   "allow_history_for_subscriber": true},
  {"name": "typing", "allow_subscribe_for_client": true, "allow_publish_for_subscriber": true},
  {"name": "metrics", "history_size": 300, "history_ttl": "10m", "force_recovery": true,
   "allow_subscribe_for_client": true, "allow_history_for_subscriber": true,
   "slow_consumer": "conflate"},
  {"name": "results", "history_size": 20, "history_ttl": "24h", "force_recovery": true,
   "allow_subscribe_for_client": true, "allow_history_for_subscriber": true},
  {"name": "cursors", "presence": true, "join_leave": true, "force_push_join_leave": true,
   "allow_subscribe_for_client": true, "allow_publish_for_subscriber": true,
   "allow_presence_for_subscriber": true, "slow_consumer": "drop_oldest"}
]"#;

/// Commands one connection may send per second: the pages stay well under it (cursors send at
/// most 20 positions a second), a runaway script does not.
const COMMANDS_PER_SECOND: &str = "50";

/// This run's demo: the keys it made, and where it is.
#[derive(Debug, Clone)]
pub struct Demo {
    token_key: String,
    api_key: String,
    port: u16,
}

impl Demo {
    /// Makes `config` the demo's: loopback, the demo namespaces, and random keys where none is
    /// set (a key from `DUPLEX_*` or `--set` is kept). Refuses an address that is not loopback.
    pub fn configure(config: &mut HubConfig) -> anyhow::Result<Demo> {
        let address = config.http_server.address.clone();
        if address.is_empty() {
            config.set("http_server.address", "127.0.0.1")?;
        } else if !tokens::is_loopback_name(address.trim_matches(['[', ']'])) {
            bail!(
                "--demo listens on loopback only (it mints tokens for whoever asks); \
                 {address} is not a loopback address"
            );
        }
        let kept = Keys::kept(config)?;
        let token_key = configured_or(
            config.client.token.hmac_secret_key.as_deref(),
            kept.token_key,
        );
        let api_key = configured_or(config.http_api.key.as_deref(), kept.api_key);
        config.set("client.token.hmac_secret_key", &token_key)?;
        config.set("http_api.key", &api_key)?;
        config.set("channel.namespaces", NAMESPACES)?;
        config
            .set("client.commands_per_second", COMMANDS_PER_SECOND)
            .context("demo settings")?;
        Ok(Demo {
            token_key,
            api_key,
            port: config.http_server.port,
        })
    }

    /// The demo on the port the server got (`--port 0` picks one).
    pub fn listening_on(self, port: u16) -> Demo {
        Demo { port, ..self }
    }

    /// The command that starts the live results' feed against this run.
    pub fn feed_command(&self) -> String {
        let url = if self.port == 8000 {
            String::new()
        } else {
            format!(" -- --url http://127.0.0.1:{}", self.port)
        };
        format!(
            "DUPLEX_HTTP_API_KEY={} cargo run -p results-feed{url}",
            self.api_key
        )
    }

    /// What to tell the person who started it.
    pub fn welcome(&self) -> [String; 3] {
        [
            format!(
                "DEMO: open http://127.0.0.1:{}/ (chat, live dashboard, live results, \
                 collaborative cursors)",
                self.port
            ),
            "DEMO: tokens are minted at /demo/token for any name, by anyone on this machine"
                .to_owned(),
            format!(
                "DEMO: live results: in another terminal, {}",
                self.feed_command()
            ),
        ]
    }

    /// The pages, the token desk and `/demo/info`, to serve beside the hub's routes; and the
    /// dashboard's feed, started on the current runtime (it stops with the hub).
    pub fn start(self, hub: &Hub) -> Router {
        tokio::spawn(dashboard::run(hub.clone()));
        let demo = Arc::new(self);
        let desk = demo.clone();
        pages::Pages::from_env()
            .router()
            .route(
                "/demo/token",
                get(move |headers: HeaderMap, query: RawQuery| {
                    let desk = desk.clone();
                    async move { tokens::answer(&desk.token_key, &headers, query) }
                }),
            )
            .route(
                "/demo/info",
                get(move |headers: HeaderMap| {
                    let demo = demo.clone();
                    async move { demo.info(&headers) }
                }),
            )
    }

    /// `GET /demo/info`: what the results page shows while no feed runs. It holds the API key,
    /// so it goes where tokens go: loopback hosts only.
    fn info(&self, headers: &HeaderMap) -> Response {
        if let Some(refused) = tokens::refuse_foreign_host(headers) {
            return refused;
        }
        Json(json!({
            "feed_command": self.feed_command(),
            "metrics_channel": dashboard::CHANNEL,
            "token_lifetime_seconds": tokens::TOKEN_LIFETIME.as_secs(),
        }))
        .into_response()
    }
}

/// `key` when the operator set one, else `kept`.
fn configured_or(key: Option<&str>, kept: String) -> String {
    match key {
        Some(key) if !key.is_empty() => key.to_owned(),
        _ => kept,
    }
}

/// The demo's own keys: random, and kept in the SQLite engine's folder when there is one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Keys {
    token_key: String,
    api_key: String,
}

/// The file, in the SQLite engine's folder.
const KEYS_FILE: &str = "demo-keys.json";

impl Keys {
    fn random() -> Keys {
        let key = || {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        };
        Keys {
            token_key: key(),
            api_key: key(),
        }
    }

    /// The keys of the last run with this data folder, or new ones written there; new ones
    /// only, when the engine keeps nothing on disk.
    fn kept(config: &HubConfig) -> anyhow::Result<Keys> {
        if config.engine.kind != Some(EngineType::Sqlite) {
            return Ok(Keys::random());
        }
        let folder = std::path::Path::new(&config.engine.sqlite.path);
        let path = folder.join(KEYS_FILE);
        if let Ok(text) = std::fs::read_to_string(&path) {
            if let Ok(keys) = serde_json::from_str::<Keys>(&text) {
                return Ok(keys);
            }
        }
        let keys = Keys::random();
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
        let mut file = std::fs::OpenOptions::new();
        file.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
        let mut file = file
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        std::io::Write::write_all(&mut file, serde_json::to_string(&keys)?.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_listens_on_loopback_with_fresh_keys() {
        let mut config = HubConfig::default();
        let demo = Demo::configure(&mut config).unwrap();
        assert_eq!(config.http_server.address, "127.0.0.1");
        assert_eq!(demo.api_key.len(), 43);
        assert_ne!(demo.api_key, demo.token_key);
        assert_eq!(config.http_api.key.as_deref(), Some(demo.api_key.as_str()));
        let names: Vec<_> = config
            .channel
            .namespaces
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(names, ["chat", "typing", "metrics", "results", "cursors"]);
        let again = Demo::configure(&mut HubConfig::default()).unwrap();
        assert_ne!(again.token_key, demo.token_key);
    }

    #[test]
    fn the_sqlite_engine_keeps_the_keys_across_restarts() {
        let folder = tempfile::tempdir().unwrap();
        let config = || {
            let mut config = HubConfig::default();
            config.engine.kind = Some(EngineType::Sqlite);
            config.engine.sqlite.path = folder.path().join("data").display().to_string();
            config
        };
        let first = Demo::configure(&mut config()).unwrap();
        let second = Demo::configure(&mut config()).unwrap();
        assert_eq!(
            (&first.token_key, &first.api_key),
            (&second.token_key, &second.api_key)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let file = folder.path().join("data").join(KEYS_FILE);
            let mode = std::fs::metadata(file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_key_given_by_the_operator_is_kept() {
        let mut config = HubConfig::default();
        config.set("http_api.key", "mine").unwrap();
        let demo = Demo::configure(&mut config).unwrap();
        assert!(demo
            .feed_command()
            .starts_with("DUPLEX_HTTP_API_KEY=mine cargo run"));
    }

    #[test]
    fn the_demo_refuses_to_listen_beyond_this_machine() {
        for address in ["0.0.0.0", "192.168.1.2", "::"] {
            let mut config = HubConfig::default();
            config.set("http_server.address", address).unwrap();
            assert!(Demo::configure(&mut config).is_err(), "{address}");
        }
        for address in ["localhost", "::1", "127.0.0.1"] {
            let mut config = HubConfig::default();
            config.set("http_server.address", address).unwrap();
            assert!(Demo::configure(&mut config).is_ok(), "{address}");
        }
    }
}
