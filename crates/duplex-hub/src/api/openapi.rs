//! The OpenAPI 3.0 document describing the server API, served at `GET /api/openapi.json` so
//! tools (Swagger UI, client generators) can be pointed at a running hub.
//!
//! It is a hand-written JSON file next to this one rather than generated from the Rust types:
//! the document states the wire contract (Centrifugo's field names and optionality), which is
//! what a reader needs even where our types say it differently. A test parses it and checks that
//! every [`Method`](super::Method) has a path.

use axum::response::Response;
use http::StatusCode;

use super::handler::json_bytes;

/// The OpenAPI document, as served.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// `GET /api/openapi.json`. Served without the API key: it describes the API, it grants nothing.
pub(crate) async fn serve() -> Response {
    json_bytes(StatusCode::OK, OPENAPI_JSON.as_bytes().to_vec())
}
