//! `POST /api/<method>`: authenticate, decode, run, and answer in the caller's error mode.
//!
//! Status codes follow Centrifugo: 401 without the key, 404 for a method that does not exist,
//! 400 for a body that does not decode, and otherwise 200 with `{"result": ...}` or
//! `{"error": ...}`. In transport error mode (the `X-Centrifugo-Error-Mode: transport` header,
//! or [`ApiSettings::transport_errors`]) an error is sent instead as its HTTP status with the
//! bare error object as the body. `batch` always answers 200: its errors are per command.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode, Uri};
use serde::Serialize;

use super::auth::authorized;
use super::backend::ApiBackend;
use super::batch;
use super::dispatch::Command;
use super::method::Method;
use super::replies::Envelope;
use super::ApiSettings;

/// The header selecting the error mode per request.
pub const ERROR_MODE_HEADER: &str = "x-centrifugo-error-mode";

/// What every API route shares.
pub(crate) struct Shared<B> {
    pub(crate) backend: Arc<B>,
    pub(crate) settings: ApiSettings,
}

/// `POST /api/{method}`.
pub(crate) async fn call<B: ApiBackend>(
    State(shared): State<Arc<Shared<B>>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    if !authorized(&shared.settings, &headers, &uri) {
        return plain(StatusCode::UNAUTHORIZED);
    }
    let Some(method) = Method::from_name(&method) else {
        return plain(StatusCode::NOT_FOUND);
    };
    if method == Method::Batch {
        return match batch::run(&shared.backend, &body).await {
            Ok(replies) => json(StatusCode::OK, &replies),
            Err(error) => bad_body(method, &error),
        };
    }
    let command = match Command::decode(method, &body) {
        Some(Ok(command)) => command,
        Some(Err(error)) => return bad_body(method, &error),
        None => return plain(StatusCode::NOT_FOUND),
    };
    let outcome = command.execute(shared.backend.as_ref()).await;
    match outcome {
        Err(error) if transport_errors(&shared.settings, &headers) => {
            json(error.http_status(), &error)
        }
        outcome => json(StatusCode::OK, &Envelope(&outcome)),
    }
}

fn transport_errors(settings: &ApiSettings, headers: &HeaderMap) -> bool {
    settings.transport_errors
        || headers
            .get(ERROR_MODE_HEADER)
            .is_some_and(|mode| mode.as_bytes().eq_ignore_ascii_case(b"transport"))
}

fn bad_body(method: Method, error: &serde_json::Error) -> Response {
    tracing::debug!(method = method.name(), %error, "server api: request body does not decode");
    plain(StatusCode::BAD_REQUEST)
}

/// A status with its reason phrase as the body, as Go's `http.Error` writes it.
pub(crate) fn plain(status: StatusCode) -> Response {
    (status, status.canonical_reason().unwrap_or_default()).into_response()
}

/// A JSON reply.
pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(body) => json_bytes(status, body),
        Err(error) => {
            tracing::error!(%error, "server api: encoding a reply failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// Already-encoded JSON.
pub(crate) fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(CONTENT_TYPE, "application/json")], body).into_response()
}
