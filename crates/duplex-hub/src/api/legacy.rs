//! `POST /api` with newline-delimited `{"method": "...", "params": {...}}` commands: the single
//! endpoint Centrifugo had before per-method paths, still used by `cent.js`'s `pipeline`.
//!
//! Each line is answered by one line, `{"id": N, "result": ...}` or `{"id": N, "error": ...}`,
//! in order (`id` echoed when the command had one). Lines are all decoded before any runs, so a
//! line that is not JSON rejects the request with 400; a known method whose params do not
//! decode gets error 107 in its line, and an unknown method 104, as Centrifugo answered them.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, StatusCode, Uri};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::auth::authorized;
use super::backend::ApiBackend;
use super::dispatch::Command;
use super::error::ApiError;
use super::handler::{json_bytes, plain, Shared};
use super::method::Method;

#[derive(Debug, Deserialize)]
struct LegacyCommand {
    id: Option<u32>,
    method: Option<String>,
    params: Option<Box<RawValue>>,
}

struct LegacyReply {
    id: u32,
    outcome: Result<Box<RawValue>, ApiError>,
}

impl Serialize for LegacyReply {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if self.id != 0 {
            map.serialize_entry("id", &self.id)?;
        }
        match &self.outcome {
            Ok(result) => map.serialize_entry("result", result)?,
            Err(error) => map.serialize_entry("error", error)?,
        }
        map.end()
    }
}

/// `POST /api`.
pub(crate) async fn call<B: ApiBackend>(
    State(shared): State<Arc<Shared<B>>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    if !authorized(&shared.settings, &headers, &uri) {
        return plain(StatusCode::UNAUTHORIZED);
    }
    let mut commands = Vec::new();
    for line in body.split(|byte| *byte == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<LegacyCommand>(line) {
            Ok(command) => commands.push(command),
            Err(error) => {
                tracing::debug!(%error, "server api: legacy command does not decode");
                return plain(StatusCode::BAD_REQUEST);
            }
        }
    }
    if commands.is_empty() {
        return plain(StatusCode::BAD_REQUEST);
    }
    let mut out = Vec::new();
    for command in commands {
        let reply = LegacyReply {
            id: command.id.unwrap_or(0),
            outcome: run(shared.backend.as_ref(), command).await,
        };
        if !out.is_empty() {
            out.push(b'\n');
        }
        if serde_json::to_writer(&mut out, &reply).is_err() {
            return plain(StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
    json_bytes(StatusCode::OK, out)
}

async fn run<B: ApiBackend>(
    backend: &B,
    command: LegacyCommand,
) -> Result<Box<RawValue>, ApiError> {
    let method = command
        .method
        .as_deref()
        .and_then(Method::from_name)
        .ok_or_else(ApiError::method_not_found)?;
    let params = command.params.as_deref().map_or("{}", RawValue::get);
    match Command::decode(method, params.as_bytes()) {
        Some(Ok(decoded)) => decoded.execute(backend).await,
        Some(Err(_)) => Err(ApiError::bad_request("bad request")),
        None => Err(ApiError::method_not_found()),
    }
}
