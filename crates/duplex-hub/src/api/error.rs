//! The error a server API call answers with: a numeric code from the hub's one error table and
//! a short message, as Centrifugo puts it in `{"error": {"code": 102, "message": "..."}}`.
//!
//! The codes are the client protocol's (100-112) so an application sees the same number whether
//! it called the hub over HTTP or a browser got it over the WebSocket. In transport error mode
//! the code also picks the HTTP status, with Centrifugo's mapping so retries and proxies behave
//! the same against either server.

use http::StatusCode;
use serde::{Deserialize, Serialize};

// integrator: use codes::Error — these constants repeat src/codes.rs until the two are merged.

/// Something went wrong inside the hub (an engine failed); the request itself may be fine.
pub const INTERNAL: u32 = 100;
/// The channel's namespace is not configured.
pub const UNKNOWN_CHANNEL: u32 = 102;
/// The caller may not do this.
pub const PERMISSION_DENIED: u32 = 103;
/// No such method (Centrifugo calls it "not found").
pub const METHOD_NOT_FOUND: u32 = 104;
/// A configured limit was reached.
pub const LIMIT_EXCEEDED: u32 = 106;
/// The request is well-formed JSON but its content is not acceptable.
pub const BAD_REQUEST: u32 = 107;
/// The feature is off for this channel (presence or history not enabled).
pub const NOT_AVAILABLE: u32 = 108;
/// The stream no longer holds the position asked for (wrong epoch, or trimmed).
pub const UNRECOVERABLE_POSITION: u32 = 112;

/// An error reply of the server API.
///
/// ```
/// use duplex_hub::api::ApiError;
///
/// let error = ApiError::unknown_channel();
/// assert_eq!(error.code, 102);
/// assert_eq!(error.http_status(), http::StatusCode::NOT_FOUND);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The error code (see the constants in this module).
    pub code: u32,
    /// A short lowercase explanation.
    pub message: String,
}

impl ApiError {
    /// An error with any code and message.
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// 100, "internal server error".
    pub fn internal() -> Self {
        Self::new(INTERNAL, "internal server error")
    }

    /// 102, "unknown channel".
    pub fn unknown_channel() -> Self {
        Self::new(UNKNOWN_CHANNEL, "unknown channel")
    }

    /// 103, "permission denied".
    pub fn permission_denied() -> Self {
        Self::new(PERMISSION_DENIED, "permission denied")
    }

    /// 104, "not found": the method does not exist.
    pub fn method_not_found() -> Self {
        Self::new(METHOD_NOT_FOUND, "not found")
    }

    /// 106, "limit exceeded".
    pub fn limit_exceeded() -> Self {
        Self::new(LIMIT_EXCEEDED, "limit exceeded")
    }

    /// 107 with a message naming what is wrong, e.g. "channel required".
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(BAD_REQUEST, message)
    }

    /// 108, "not available".
    pub fn not_available() -> Self {
        Self::new(NOT_AVAILABLE, "not available")
    }

    /// 112, "unrecoverable position".
    pub fn unrecoverable_position() -> Self {
        Self::new(UNRECOVERABLE_POSITION, "unrecoverable position")
    }

    /// The HTTP status this error is sent with in transport error mode.
    ///
    /// Centrifugo's table: 100 → 500, 102 and 104 → 404, 107 and 108 → 400, 112 → 416, anything
    /// else → 500. Centrifugo's server API never answers 103; this hub maps it to 403 rather than
    /// calling a refusal a server fault.
    pub fn http_status(&self) -> StatusCode {
        match self.code {
            UNKNOWN_CHANNEL | METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
            BAD_REQUEST | NOT_AVAILABLE => StatusCode::BAD_REQUEST,
            UNRECOVERABLE_POSITION => StatusCode::RANGE_NOT_SATISFIABLE,
            PERMISSION_DENIED => StatusCode::FORBIDDEN,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
