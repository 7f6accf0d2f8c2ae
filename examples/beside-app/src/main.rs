//! beside-app: the deployment duplex is built for, small enough to read in one sitting.
//!
//! This program is the application's *main HTTP server*: it has a login form and a session
//! cookie, and REST endpoints for its commands. The hub (`duplex serve`) runs beside it on
//! another port and does the push. The two share what matters:
//! - **who the user is**: the hub's connect proxy forwards the browser's cookie to
//!   `POST /hub/connect` here, and this app answers with the user it belongs to (`session.rs`);
//! - **the data**: `POST /api/publish` publishes through the hub's server API (`hub_api.rs`), and
//!   `POST /api/outbox` writes a message and its outbox row in one PostgreSQL transaction, which
//!   the hub's outbox consumer delivers once committed (`outbox.rs`).
//!
//! Run it (README.md): `duplex serve --config examples/beside-app/duplex.json` and
//! `cargo run -p beside-app`, then open http://localhost:8000.

mod hub_api;
mod outbox;
mod pages;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::routing::{get, post};
use axum::Router;

/// What every handler shares.
pub struct App {
    /// Logged-in sessions, by cookie value.
    pub sessions: session::Sessions,
    /// The hub's server API.
    pub hub: hub_api::HubApi,
    /// The hub's WebSocket endpoint, as the browser reaches it.
    pub hub_websocket_url: String,
    /// The database, when `DATABASE_URL` names one: the outbox path needs it.
    pub database: Option<outbox::Database>,
}

/// The settings, from the environment, each with the default `duplex.json` agrees with.
struct Settings {
    address: SocketAddr,
    hub_url: String,
    hub_websocket_url: String,
    hub_api_key: String,
    database_url: Option<String>,
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        let var =
            |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
        let hub_url = var("HUB_URL", "http://localhost:8001");
        let address = var("APP_ADDRESS", "127.0.0.1:8000");
        Ok(Settings {
            address: address
                .parse()
                .with_context(|| format!("APP_ADDRESS {address:?} is no socket address"))?,
            hub_websocket_url: std::env::var("HUB_WEBSOCKET_URL").unwrap_or_else(|_| {
                format!("{}/connection/websocket", hub_url.replacen("http", "ws", 1))
            }),
            hub_url,
            // The example's key; a real deployment passes its own (and never ships it to pages).
            hub_api_key: var("HUB_API_KEY", "beside-app-demo-key"),
            database_url: std::env::var("DATABASE_URL")
                .ok()
                .filter(|url| !url.is_empty()),
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let database = match &settings.database_url {
        Some(url) => Some(outbox::Database::connect(url).await?),
        None => {
            eprintln!("DATABASE_URL is not set: the outbox path is off (the API path works)");
            None
        }
    };
    let app = Arc::new(App {
        sessions: session::Sessions::default(),
        hub: hub_api::HubApi::new(&settings.hub_url, &settings.hub_api_key),
        hub_websocket_url: settings.hub_websocket_url,
        database,
    });
    let router = Router::new()
        .route("/", get(pages::home))
        .route("/login", post(session::login))
        .route("/logout", post(session::logout))
        .route("/hub/connect", post(session::connect_proxy))
        .route("/api/publish", post(hub_api::publish))
        .route("/api/outbox", post(outbox::publish))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(settings.address)
        .await
        .with_context(|| format!("cannot listen on {}", settings.address))?;
    // The test harness waits for this line.
    println!("beside-app listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
