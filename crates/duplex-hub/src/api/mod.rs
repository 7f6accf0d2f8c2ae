//! The server HTTP API: how the application's backend publishes and manages connections,
//! wire-compatible with Centrifugo v6's so `cent` (Python), `cent.js` and plain `curl` work
//! against the hub unchanged.
//!
//! [`router`] mounts `POST /api/<method>` (plus the legacy `POST /api` and
//! `GET /api/openapi.json`) over any [`ApiBackend`]; the hub implements that trait. The layers,
//! outermost first:
//! - [`auth`](ApiSettings::key): the API key, or 401;
//! - `handler`: method lookup (404), body decoding (400), error mode;
//! - `wire` → [`requests`]: validation (error 107), payloads decoded to bytes;
//! - [`ApiBackend`]: the operation, answering with [`replies`] or an [`ApiError`].
//!
//! ```no_run
//! # async fn example(backend: std::sync::Arc<impl duplex_hub::api::ApiBackend>) {
//! use duplex_hub::api::{router, ApiSettings};
//!
//! let settings = ApiSettings {
//!     key: Some("secret".to_owned()),
//!     ..ApiSettings::default()
//! };
//! let app = router(backend, settings);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```

mod auth;
mod backend;
mod batch;
pub(crate) mod dispatch;
mod error;
mod handler;
mod legacy;
mod method;
mod openapi;
pub mod replies;
pub mod requests;
mod wire;

use std::fmt;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

pub use auth::API_KEY_HEADER;
pub use backend::ApiBackend;
pub use batch::MAX_PARALLEL;
pub use error::{
    ApiError, BAD_REQUEST, INTERNAL, LIMIT_EXCEEDED, METHOD_NOT_FOUND, NOT_AVAILABLE,
    PERMISSION_DENIED, UNKNOWN_CHANNEL, UNRECOVERABLE_POSITION,
};
pub use handler::ERROR_MODE_HEADER;
pub use method::Method;
pub use openapi::OPENAPI_JSON;

/// The default for [`ApiSettings::max_body_bytes`]: 4 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How the server API is protected and answers.
#[derive(Clone)]
pub struct ApiSettings {
    /// The API key callers must present (`http_api.key`). `None` refuses every call unless
    /// `insecure` is set.
    pub key: Option<String>,
    /// Accept calls without a key (`http_api.insecure`): for development only.
    pub insecure: bool,
    /// Answer errors as HTTP statuses for every request (`http_api.error_mode: "transport"`),
    /// not only for those sending `X-Centrifugo-Error-Mode: transport`.
    pub transport_errors: bool,
    /// Largest request body accepted; a larger one is answered with 413.
    pub max_body_bytes: usize,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            key: None,
            insecure: false,
            transport_errors: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

// The key is a secret: logging the settings must not print it.
impl fmt::Debug for ApiSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiSettings")
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("insecure", &self.insecure)
            .field("transport_errors", &self.transport_errors)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

/// The server API's routes over `backend`: `POST /api/{method}`, `POST /api` (newline-delimited
/// legacy commands) and `GET /api/openapi.json`.
pub fn router<B: ApiBackend>(backend: Arc<B>, settings: ApiSettings) -> Router {
    if settings.key.as_deref().is_none_or(str::is_empty) && !settings.insecure {
        tracing::warn!("server api: no key configured and not insecure, every call is refused");
    }
    let body_limit = settings.max_body_bytes;
    let shared = Arc::new(handler::Shared { backend, settings });
    Router::new()
        .route("/api", post(legacy::call::<B>))
        .route("/api/openapi.json", get(openapi::serve))
        .route("/api/{method}", post(handler::call::<B>))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(shared)
}
