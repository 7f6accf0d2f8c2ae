//! Every HMAC-SHA256 signature of the Pusher protocol, made and checked here: channel
//! authorization (`auth` in `pusher:subscribe`), user authentication (`pusher:signin`), the
//! signed query string of the HTTP API, and the `X-Pusher-Signature` of webhooks; plus socket
//! ids, which the first two sign over.
//!
//! The application's backend makes the first two with a Pusher server SDK and the hub checks
//! them, so the strings signed must match the SDKs' byte for byte: `socket_id:channel`,
//! `socket_id:channel:channel_data` (the `channel_data` exactly as the client sent it, never
//! re-encoded) and `socket_id::user::user_data`. The HTTP API check follows Pusher's
//! "Generating authentication signatures" and what pusher-http-node actually sends: it signs
//! the parameters unescaped and puts the same unescaped text in the URL, so the check decodes
//! what arrives before rebuilding the string to sign.
//!
//! Every comparison of a signature runs in constant time (through [`Mac::verify_slice`]), and
//! no function here reads a clock: the HTTP API check takes `now`.

use std::fmt;

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The `auth_version` the HTTP API accepts.
pub const AUTH_VERSION: &str = "1.0";

/// How far `auth_timestamp` may be from the server's clock, either way (Pusher's 600 s).
pub const MAX_TIMESTAMP_SKEW_SECS: u64 = 600;

/// An app's key and secret (Pusher calls the pair a token). The key is public: clients connect
/// with it. The secret signs everything and never leaves the server.
///
/// ```
/// use duplex_hub::pusher::signature::Credentials;
///
/// let app = Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8");
/// assert!(!format!("{app:?}").contains("7ad37731"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The app key (`auth_key`, the `key` in `key:signature`).
    pub key: String,
    /// The app secret.
    pub secret: String,
}

impl Credentials {
    /// A key and secret pair.
    pub fn new(key: impl Into<String>, secret: impl Into<String>) -> Credentials {
        Credentials {
            key: key.into(),
            secret: secret.into(),
        }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length; `new_from_slice` only fails for fixed-size MACs.
        match HmacSha256::new_from_slice(self.secret.as_bytes()) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC-SHA256 accepts keys of any length"),
        }
    }

    /// The lowercase hex HMAC-SHA256 of `message` with the secret.
    fn sign(&self, message: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(message);
        hex(&mac.finalize().into_bytes())
    }

    /// Whether `signature` (hex, either case) is the MAC of `message`, in constant time.
    fn verify(&self, message: &[u8], signature: &str) -> bool {
        let Some(tag) = unhex(signature) else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(message);
        mac.verify_slice(&tag).is_ok()
    }
}

// The secret must not end up in logs.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("key", &self.key)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A connection's id, `digits.digits` as Pusher makes them: clients get it in
/// `pusher:connection_established`, the backend signs over it, and the HTTP API's `socket_id`
/// names it to exclude it from an event.
///
/// ```
/// use duplex_hub::pusher::signature::SocketId;
///
/// let id = SocketId::random(&mut rand::rng());
/// assert_eq!(SocketId::parse(id.as_str()), Ok(id.clone()));
/// assert!(SocketId::parse("1234.1234").is_ok());
/// assert!(SocketId::parse("1234").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(String);

/// A socket id that is not `^\d+\.\d+$`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid socket id: expected digits, a dot and digits")]
pub struct InvalidSocketId;

impl SocketId {
    /// Each half is below 10^10, as in the ids Pusher hands out, so that both halves stay exact
    /// in JavaScript numbers should a client parse them; together they carry 66 random bits.
    const HALF_BOUND: u64 = 10_000_000_000;

    /// A fresh random id.
    pub fn random<R: rand::Rng + ?Sized>(rng: &mut R) -> SocketId {
        let high = rng.random_range(0..Self::HALF_BOUND);
        let low = rng.random_range(0..Self::HALF_BOUND);
        SocketId(format!("{high}.{low}"))
    }

    /// Checks that `text` is ASCII digits, one dot, ASCII digits.
    pub fn parse(text: &str) -> Result<SocketId, InvalidSocketId> {
        if is_valid_socket_id(text) {
            Ok(SocketId(text.to_owned()))
        } else {
            Err(InvalidSocketId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `text` matches `^\d+\.\d+$` (ASCII digits, as JavaScript's `\d`).
pub fn is_valid_socket_id(text: &str) -> bool {
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    text.split_once('.')
        .is_some_and(|(high, low)| digits(high) && digits(low))
}

/// Why an `auth` value (channel authorization or user sign-in) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The value is not `key:signature`.
    #[error("auth must be 'key:signature'")]
    Malformed,
    /// The key is not the app's.
    #[error("invalid key in auth: {0:?}")]
    WrongKey(String),
    /// The signature is not the HMAC of the string the server expected; the message names
    /// that string (it holds nothing secret) so that backend developers can compare.
    #[error("invalid signature: expected the HMAC-SHA256 hex digest of {string_to_sign:?}")]
    InvalidSignature {
        /// What the signature should have been made over.
        string_to_sign: String,
    },
}

/// The `auth` for subscribing `socket_id` to `channel`: `key:hex(hmac(secret,
/// "socket_id:channel"))`, with `:channel_data` appended for presence channels. What
/// `pusher.authorizeChannel` returns in the backend; the hub uses it in tests and tools.
///
/// ```
/// use duplex_hub::pusher::signature::{channel_auth, Credentials};
///
/// let app = Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8");
/// assert_eq!(
///     channel_auth(&app, "1234.1234", "private-foobar", None),
///     "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
/// );
/// ```
pub fn channel_auth(
    app: &Credentials,
    socket_id: &str,
    channel: &str,
    channel_data: Option<&str>,
) -> String {
    let message = channel_string_to_sign(socket_id, channel, channel_data);
    format!("{}:{}", app.key, app.sign(message.as_bytes()))
}

/// Checks a `pusher:subscribe`'s `auth` against the app: its key, and its signature over
/// `socket_id:channel[:channel_data]`, with `channel_data` exactly as the client sent it.
pub fn verify_channel_auth(
    app: &Credentials,
    auth: &str,
    socket_id: &str,
    channel: &str,
    channel_data: Option<&str>,
) -> Result<(), AuthError> {
    let message = channel_string_to_sign(socket_id, channel, channel_data);
    verify_auth(app, auth, message)
}

/// The `auth` for signing in `socket_id` as the user in `user_data`: `key:hex(hmac(secret,
/// "socket_id::user::user_data"))`. What `pusher.authenticateUser` returns in the backend.
///
/// ```
/// use duplex_hub::pusher::signature::{user_auth, verify_user_auth, Credentials};
///
/// let app = Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8");
/// let auth = user_auth(&app, "1234.1234", r#"{"id":"12345"}"#);
/// assert_eq!(verify_user_auth(&app, &auth, "1234.1234", r#"{"id":"12345"}"#), Ok(()));
/// ```
pub fn user_auth(app: &Credentials, socket_id: &str, user_data: &str) -> String {
    let message = user_string_to_sign(socket_id, user_data);
    format!("{}:{}", app.key, app.sign(message.as_bytes()))
}

/// Checks a `pusher:signin`'s `auth` against the app: its key, and its signature over
/// `socket_id::user::user_data`, with `user_data` exactly as the client sent it.
pub fn verify_user_auth(
    app: &Credentials,
    auth: &str,
    socket_id: &str,
    user_data: &str,
) -> Result<(), AuthError> {
    verify_auth(app, auth, user_string_to_sign(socket_id, user_data))
}

fn channel_string_to_sign(socket_id: &str, channel: &str, channel_data: Option<&str>) -> String {
    match channel_data {
        Some(data) => format!("{socket_id}:{channel}:{data}"),
        None => format!("{socket_id}:{channel}"),
    }
}

fn user_string_to_sign(socket_id: &str, user_data: &str) -> String {
    format!("{socket_id}::user::{user_data}")
}

fn verify_auth(app: &Credentials, auth: &str, string_to_sign: String) -> Result<(), AuthError> {
    // The key never holds a colon, the hex signature neither: the first colon splits them.
    let (key, signature) = auth.split_once(':').ok_or(AuthError::Malformed)?;
    if key != app.key {
        return Err(AuthError::WrongKey(key.to_owned()));
    }
    if app.verify(string_to_sign.as_bytes(), signature) {
        Ok(())
    } else {
        Err(AuthError::InvalidSignature { string_to_sign })
    }
}

/// The `X-Pusher-Signature` of a webhook body: hex HMAC-SHA256 of the body with the secret.
///
/// ```
/// use duplex_hub::pusher::signature::{verify_webhook_signature, webhook_signature, Credentials};
///
/// let app = Credentials::new("key", "secret");
/// let body = br#"{"time_ms":1327078148132,"events":[]}"#;
/// let signature = webhook_signature(&app, body);
/// assert!(verify_webhook_signature(&app, body, &signature));
/// assert!(!verify_webhook_signature(&app, b"{}", &signature));
/// ```
pub fn webhook_signature(app: &Credentials, body: &[u8]) -> String {
    app.sign(body)
}

/// Whether `signature` is the `X-Pusher-Signature` of `body`, in constant time.
pub fn verify_webhook_signature(app: &Credentials, body: &[u8], signature: &str) -> bool {
    app.verify(body, signature)
}

/// The lowercase hex MD5 of `body`: the HTTP API's `body_md5`.
pub fn body_md5(body: &[u8]) -> String {
    hex(&Md5::digest(body))
}

/// One HTTP API request as far as its signature is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRequest<'a> {
    /// The method (`GET`, `POST`); compared uppercased.
    pub method: &'a str,
    /// The path as it arrived (percent-encoded), without the query: `/apps/3/events`.
    pub path: &'a str,
    /// The query string as it arrived, without the `?`.
    pub query: &'a str,
    /// The body, byte for byte.
    pub body: &'a [u8],
}

/// Why an HTTP API request's signature was refused. [`status`](Self::status) gives the
/// HTTP status to answer with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiAuthError {
    /// The query string or the path holds a bad percent-escape or, decoded, is not UTF-8.
    #[error("malformed query string or path")]
    MalformedQuery,
    /// A parameter appears twice (keys compared lowercased): which one was signed is unclear.
    #[error("parameter {0:?} appears more than once")]
    DuplicateParameter(String),
    /// A required parameter is missing.
    #[error("missing parameter {0}")]
    MissingParameter(&'static str),
    /// `auth_version` is not `1.0`.
    #[error("unsupported auth_version {0:?}, expected 1.0")]
    UnsupportedVersion(String),
    /// No token of the app has this `auth_key`.
    #[error("unknown auth_key {0:?}")]
    UnknownKey(String),
    /// `auth_timestamp` is not an integer.
    #[error("auth_timestamp is not a Unix time in seconds")]
    InvalidTimestamp,
    /// `auth_timestamp` is more than [`MAX_TIMESTAMP_SKEW_SECS`] away from the server's time.
    #[error("auth_timestamp {timestamp} is more than 600 s from the server time {now}")]
    TimestampOutOfRange {
        /// The request's timestamp.
        timestamp: i64,
        /// The server's time.
        now: i64,
    },
    /// The body is not empty and there is no `body_md5`.
    #[error("missing parameter body_md5, required with a body")]
    MissingBodyMd5,
    /// `body_md5` is not the MD5 of the body.
    #[error("body_md5 does not match the body")]
    BodyMd5Mismatch,
    /// `auth_signature` is not the HMAC of the request; the message names the string it
    /// should have been made over (nothing secret), as Pusher's answer does.
    #[error("invalid signature: expected the HMAC-SHA256 hex digest of {string_to_sign:?}")]
    InvalidSignature {
        /// The string the signature should have been made over.
        string_to_sign: String,
    },
}

impl ApiAuthError {
    /// 400 when the request cannot even be read, 401 when it is not signed right.
    pub fn status(&self) -> http::StatusCode {
        match self {
            ApiAuthError::MalformedQuery | ApiAuthError::DuplicateParameter(_) => {
                http::StatusCode::BAD_REQUEST
            }
            _ => http::StatusCode::UNAUTHORIZED,
        }
    }
}

/// Checks an HTTP API request's signature against the app's tokens and returns the token that
/// signed it.
///
/// The checks, in order: the query parses (keys lowercased, values percent-decoded with `+` as
/// a space); `auth_key`, `auth_timestamp`, `auth_version` and `auth_signature` are there;
/// `auth_version` is `1.0`; `auth_key` is one of `tokens`; `auth_timestamp` is within 600 s of
/// `now` (Unix seconds); a non-empty body has a matching `body_md5`; and `auth_signature` is
/// the HMAC of `METHOD\n/decoded/path\nk1=v1&k2=v2...`, every parameter but `auth_signature`
/// sorted by key, unescaped.
///
/// ```
/// use duplex_hub::pusher::signature::{verify_api_request, ApiRequest, Credentials};
///
/// // Pusher's worked example from the HTTP API reference.
/// let tokens = [Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8")];
/// let request = ApiRequest {
///     method: "POST",
///     path: "/apps/3/events",
///     query: "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0\
///             &body_md5=ec365a775a4cd0599faeb73354201b6f&auth_signature=\
///             da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c",
///     body: br#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#,
/// };
/// assert_eq!(verify_api_request(&request, &tokens, 1353088179 + 600), Ok(&tokens[0]));
/// assert!(verify_api_request(&request, &tokens, 1353088179 + 601).is_err());
/// ```
pub fn verify_api_request<'t>(
    request: &ApiRequest<'_>,
    tokens: &'t [Credentials],
    now: i64,
) -> Result<&'t Credentials, ApiAuthError> {
    let mut params = parse_query(request.query)?;
    let signature = take(&mut params, "auth_signature")?;
    let key = param(&params, "auth_key")?;
    let timestamp = param(&params, "auth_timestamp")?;
    let version = param(&params, "auth_version")?;
    if version != AUTH_VERSION {
        return Err(ApiAuthError::UnsupportedVersion(version.to_owned()));
    }
    let token = tokens
        .iter()
        .find(|token| token.key == key)
        .ok_or_else(|| ApiAuthError::UnknownKey(key.to_owned()))?;
    let timestamp: i64 = timestamp
        .parse()
        .map_err(|_| ApiAuthError::InvalidTimestamp)?;
    if now.abs_diff(timestamp) > MAX_TIMESTAMP_SKEW_SECS {
        return Err(ApiAuthError::TimestampOutOfRange { timestamp, now });
    }
    if !request.body.is_empty() {
        let given = params
            .iter()
            .find(|(k, _)| k == "body_md5")
            .ok_or(ApiAuthError::MissingBodyMd5)?;
        if !given.1.eq_ignore_ascii_case(&body_md5(request.body)) {
            return Err(ApiAuthError::BodyMd5Mismatch);
        }
    }
    let path = percent_decode(request.path, false).ok_or(ApiAuthError::MalformedQuery)?;
    let string_to_sign = string_to_sign(request.method, &path, &params);
    if token.verify(string_to_sign.as_bytes(), &signature) {
        Ok(token)
    } else {
        Err(ApiAuthError::InvalidSignature { string_to_sign })
    }
}

/// The query string of a signed HTTP API request, `auth_signature` last: what a Pusher server
/// SDK's `createSignedQueryString` makes. `params` are the request's own parameters (none may
/// be an `auth_*` or `body_md5`); values are percent-encoded in the result, signed unescaped.
///
/// ```
/// use duplex_hub::pusher::signature::{sign_api_request, verify_api_request, ApiRequest, Credentials};
///
/// let app = Credentials::new("key", "secret");
/// let query = sign_api_request(&app, "GET", "/apps/1/channels", &[("info", "user_count"),
///     ("filter_by_prefix", "presence-")], b"", 1_700_000_000);
/// let request = ApiRequest { method: "GET", path: "/apps/1/channels", query: &query, body: b"" };
/// assert!(verify_api_request(&request, &[app], 1_700_000_000).is_ok());
/// ```
pub fn sign_api_request(
    app: &Credentials,
    method: &str,
    path: &str,
    params: &[(&str, &str)],
    body: &[u8],
    timestamp: i64,
) -> String {
    let mut all: Vec<(String, String)> = vec![
        ("auth_key".to_owned(), app.key.clone()),
        ("auth_timestamp".to_owned(), timestamp.to_string()),
        ("auth_version".to_owned(), AUTH_VERSION.to_owned()),
    ];
    if !body.is_empty() {
        all.push(("body_md5".to_owned(), body_md5(body)));
    }
    all.extend(
        params
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned())),
    );
    let signature = app.sign(string_to_sign(method, path, &all).as_bytes());
    let mut query = String::new();
    for (key, value) in &all {
        query.push_str(&percent_encode(key));
        query.push('=');
        query.push_str(&percent_encode(value));
        query.push('&');
    }
    query.push_str("auth_signature=");
    query.push_str(&signature);
    query
}

/// `METHOD\npath\nk=v&k=v`, parameters sorted by key (bytewise, as JavaScript's `<`).
fn string_to_sign(method: &str, path: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let query: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path,
        query.join("&")
    )
}

/// The query's parameters, keys lowercased, both sides decoded. Empty pieces (`a=1&&b=2`) are
/// skipped; a piece without `=` is a key with an empty value.
fn parse_query(query: &str) -> Result<Vec<(String, String)>, ApiAuthError> {
    let mut params: Vec<(String, String)> = Vec::new();
    for piece in query.split('&').filter(|piece| !piece.is_empty()) {
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        let key = percent_decode(key, true)
            .ok_or(ApiAuthError::MalformedQuery)?
            .to_ascii_lowercase();
        let value = percent_decode(value, true).ok_or(ApiAuthError::MalformedQuery)?;
        if params.iter().any(|(k, _)| *k == key) {
            return Err(ApiAuthError::DuplicateParameter(key));
        }
        params.push((key, value));
    }
    Ok(params)
}

fn param<'p>(params: &'p [(String, String)], name: &'static str) -> Result<&'p str, ApiAuthError> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .ok_or(ApiAuthError::MissingParameter(name))
}

fn take(params: &mut Vec<(String, String)>, name: &'static str) -> Result<String, ApiAuthError> {
    let at = params
        .iter()
        .position(|(k, _)| k == name)
        .ok_or(ApiAuthError::MissingParameter(name))?;
    Ok(params.remove(at).1)
}

/// Decodes `%XX` escapes (and `+` as a space in query components); `None` for a bad escape or
/// a result that is not UTF-8.
fn percent_decode(text: &str, plus_is_space: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let high = hex_value(*bytes.get(i + 1)?)?;
                let low = hex_value(*bytes.get(i + 2)?)?;
                out.push(high << 4 | low);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(hex_value(pair[0])? << 4 | hex_value(pair[1])?))
        .collect()
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The credentials of Pusher's worked examples.
    fn docs_app() -> Credentials {
        Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8")
    }

    const PRESENCE_DATA: &str = r#"{"user_id":10,"user_info":{"name":"Mr. Channels"}}"#;

    #[test]
    fn private_channel_matches_pusher_worked_example() {
        let auth = channel_auth(&docs_app(), "1234.1234", "private-foobar", None);
        assert_eq!(
            auth,
            "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
        );
        assert_eq!(
            verify_channel_auth(&docs_app(), &auth, "1234.1234", "private-foobar", None),
            Ok(())
        );
    }

    #[test]
    fn presence_channel_matches_pusher_worked_example() {
        let auth = channel_auth(
            &docs_app(),
            "1234.1234",
            "presence-foobar",
            Some(PRESENCE_DATA),
        );
        assert_eq!(
            auth,
            "278d425bdf160c739803:31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80"
        );
        assert_eq!(
            verify_channel_auth(
                &docs_app(),
                &auth,
                "1234.1234",
                "presence-foobar",
                Some(PRESENCE_DATA)
            ),
            Ok(())
        );
    }

    #[test]
    fn user_signin_matches_pusher_worked_example() {
        let auth = user_auth(&docs_app(), "1234.1234", r#"{"id":"12345"}"#);
        assert_eq!(
            auth,
            "278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
        );
    }

    #[test]
    fn channel_auth_refusals_say_why() {
        let app = docs_app();
        let good = channel_auth(&app, "1234.1234", "private-foobar", None);
        let check = |auth: &str, socket: &str, channel: &str, data: Option<&str>| {
            verify_channel_auth(&app, auth, socket, channel, data)
        };
        assert_eq!(
            check("no-colon-here", "1234.1234", "private-foobar", None),
            Err(AuthError::Malformed)
        );
        let other_key = good.replace("278d425bdf160c739803", "otherkey");
        assert_eq!(
            check(&other_key, "1234.1234", "private-foobar", None),
            Err(AuthError::WrongKey("otherkey".to_owned()))
        );
        // Signed for another socket: the signature names what was expected.
        assert_eq!(
            check(&good, "1234.1235", "private-foobar", None),
            Err(AuthError::InvalidSignature {
                string_to_sign: "1234.1235:private-foobar".to_owned()
            })
        );
        // Presence data that was not signed.
        assert_eq!(
            check(&good, "1234.1234", "private-foobar", Some("{}")),
            Err(AuthError::InvalidSignature {
                string_to_sign: "1234.1234:private-foobar:{}".to_owned()
            })
        );
        // Truncated, not hex, or empty signatures.
        for bad in [
            &good[..good.len() - 2],
            "278d425bdf160c739803:zz",
            "278d425bdf160c739803:",
        ] {
            assert!(
                matches!(
                    check(bad, "1234.1234", "private-foobar", None),
                    Err(AuthError::InvalidSignature { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn presence_data_is_checked_byte_for_byte() {
        let app = docs_app();
        let auth = channel_auth(&app, "1.2", "presence-room", Some(PRESENCE_DATA));
        // The same JSON with other spacing is another string: it was not what was signed.
        let respaced = r#"{"user_id": 10, "user_info": {"name": "Mr. Channels"}}"#;
        assert!(verify_channel_auth(&app, &auth, "1.2", "presence-room", Some(respaced)).is_err());
        assert!(verify_channel_auth(&app, &auth, "1.2", "presence-room", None).is_err());
    }

    #[test]
    fn uppercase_hex_signatures_are_accepted() {
        let app = docs_app();
        let auth = channel_auth(&app, "1.2", "private-x", None);
        let (key, signature) = auth.split_once(':').unwrap();
        let upper = format!("{key}:{}", signature.to_ascii_uppercase());
        assert_eq!(
            verify_channel_auth(&app, &upper, "1.2", "private-x", None),
            Ok(())
        );
    }

    #[test]
    fn user_auth_refusals_say_why() {
        let app = docs_app();
        let auth = user_auth(&app, "1.2", r#"{"id":"7"}"#);
        assert_eq!(
            verify_user_auth(&app, &auth, "1.2", r#"{"id":"7"}"#),
            Ok(())
        );
        assert_eq!(
            verify_user_auth(&app, &auth, "1.2", r#"{"id":"8"}"#),
            Err(AuthError::InvalidSignature {
                string_to_sign: r#"1.2::user::{"id":"8"}"#.to_owned()
            })
        );
        assert_eq!(
            verify_user_auth(&app, "nonsense", "1.2", r#"{"id":"7"}"#),
            Err(AuthError::Malformed)
        );
        // A channel auth is not a user auth.
        let channel = channel_auth(&app, "1.2", r#"{"id":"7"}"#, None);
        assert!(verify_user_auth(&app, &channel, "1.2", r#"{"id":"7"}"#).is_err());
    }

    #[test]
    fn webhook_signature_is_plain_hmac_of_the_body() {
        // RFC 4231, test case 2.
        let app = Credentials::new("key", "Jefe");
        let body = b"what do ya want for nothing?";
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(webhook_signature(&app, body), expected);
        assert!(verify_webhook_signature(&app, body, expected));
        assert!(!verify_webhook_signature(&app, body, &expected[..62]));
        assert!(!verify_webhook_signature(
            &app,
            b"what do ya want for nothing!",
            expected
        ));
    }

    #[test]
    fn body_md5_matches_known_digests() {
        assert_eq!(body_md5(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            body_md5(br#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#),
            "ec365a775a4cd0599faeb73354201b6f"
        );
    }

    #[test]
    fn socket_ids_are_digits_dot_digits() {
        for good in ["1.2", "1234.1234", "0.0", "12345678901234567890.1"] {
            assert!(is_valid_socket_id(good), "{good}");
            assert_eq!(
                SocketId::parse(good).map(|id| id.to_string()),
                Ok(good.to_owned())
            );
        }
        for bad in [
            "",
            "1",
            "1.",
            ".1",
            ".",
            "1.2.3",
            "a.1",
            "1.b",
            " 1.2",
            "1.2 ",
            "+1.2",
            "-1.2",
            "1,2",
            "\u{661}.\u{662}",
            "1.2\n",
        ] {
            assert!(!is_valid_socket_id(bad), "{bad:?}");
            assert_eq!(SocketId::parse(bad), Err(InvalidSocketId), "{bad:?}");
        }
    }

    #[test]
    fn random_socket_ids_are_valid_bounded_and_distinct() {
        let mut rng = rand::rng();
        let ids: std::collections::HashSet<SocketId> =
            (0..1000).map(|_| SocketId::random(&mut rng)).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            let (high, low) = id.as_str().split_once('.').unwrap();
            assert!(high.parse::<u64>().unwrap() < 10_000_000_000);
            assert!(low.parse::<u64>().unwrap() < 10_000_000_000);
            assert!(is_valid_socket_id(id.as_str()));
        }
    }

    const DOCS_BODY: &[u8] =
        br#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#;
    const DOCS_QUERY: &str = "auth_key=278d425bdf160c739803&auth_timestamp=1353088179\
        &auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f\
        &auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c";
    const DOCS_TIME: i64 = 1_353_088_179;

    fn docs_request(query: &str) -> ApiRequest<'_> {
        ApiRequest {
            method: "POST",
            path: "/apps/3/events",
            query,
            body: DOCS_BODY,
        }
    }

    #[test]
    fn http_api_matches_pusher_worked_example() {
        let tokens = [docs_app()];
        assert_eq!(
            verify_api_request(&docs_request(DOCS_QUERY), &tokens, DOCS_TIME),
            Ok(&tokens[0])
        );
        let query = sign_api_request(
            &docs_app(),
            "POST",
            "/apps/3/events",
            &[],
            DOCS_BODY,
            DOCS_TIME,
        );
        assert_eq!(query, DOCS_QUERY);
    }

    #[test]
    fn http_api_get_requests_match_pusher_http_go_vectors() {
        // Signed by an independent implementation (pusher-http-go's tests), secret
        // 4bf35003e819bb138249; the comma in `info` arrives unescaped, as those SDKs send it.
        let tokens = [Credentials::new(
            "d41a439c438a100756f5",
            "4bf35003e819bb138249",
        )];
        let cases = [
            (
                "/apps/102015/channels",
                "auth_key=d41a439c438a100756f5&auth_signature=4d8a02edcc8a758b0162cd6da690a9a45fb8ae326a276dca1e06a0bc42796c11&auth_timestamp=1427034994&auth_version=1.0&filter_by_prefix=presence-&info=user_count",
                1_427_034_994,
            ),
            (
                "/apps/102015/channels/presence-session-d41a439c438a100756f5-4bf35003e819bb138249-ROpCFmgFhXY",
                "auth_key=d41a439c438a100756f5&auth_signature=f93ceb31f396aef336226efe512aaf339bd5e39c7c2c04b81cc8681dc16ee785&auth_timestamp=1427053326&auth_version=1.0&info=user_count,subscription_count",
                1_427_053_326,
            ),
            (
                "/apps/102015/channels/presence-session-d41a439c438a100756f5-4bf35003e819bb138249-nYJLy67qh52/users",
                "auth_key=d41a439c438a100756f5&auth_signature=207feaf4e8efeb24e5f148011704251bf90e2059a5f97a3eb52d06178b11feca&auth_timestamp=1427053709&auth_version=1.0",
                1_427_053_709,
            ),
        ];
        for (path, query, now) in cases {
            let request = ApiRequest {
                method: "GET",
                path,
                query,
                body: b"",
            };
            assert_eq!(
                verify_api_request(&request, &tokens, now),
                Ok(&tokens[0]),
                "{path}"
            );
            // Escaping the comma, as a browser-grade encoder would, changes nothing.
            let escaped = query.replace(',', "%2C");
            let request = ApiRequest {
                method: "GET",
                path,
                query: &escaped,
                body: b"",
            };
            assert_eq!(
                verify_api_request(&request, &tokens, now),
                Ok(&tokens[0]),
                "{path}"
            );
        }
    }

    #[test]
    fn timestamps_are_accepted_within_600_seconds_either_way() {
        let tokens = [docs_app()];
        for now in [DOCS_TIME - 600, DOCS_TIME, DOCS_TIME + 600] {
            assert!(verify_api_request(&docs_request(DOCS_QUERY), &tokens, now).is_ok());
        }
        for now in [DOCS_TIME - 601, DOCS_TIME + 601] {
            assert_eq!(
                verify_api_request(&docs_request(DOCS_QUERY), &tokens, now),
                Err(ApiAuthError::TimestampOutOfRange {
                    timestamp: DOCS_TIME,
                    now
                })
            );
        }
    }

    #[test]
    fn each_missing_parameter_is_named() {
        let tokens = [docs_app()];
        for name in [
            "auth_signature",
            "auth_key",
            "auth_timestamp",
            "auth_version",
        ] {
            let query: Vec<&str> = DOCS_QUERY
                .split('&')
                .filter(|p| !p.starts_with(&format!("{name}=")))
                .collect();
            let query = query.join("&");
            assert_eq!(
                verify_api_request(&docs_request(&query), &tokens, DOCS_TIME),
                Err(ApiAuthError::MissingParameter(name))
            );
        }
    }

    #[test]
    fn body_md5_is_required_with_a_body_and_checked() {
        let tokens = [docs_app()];
        let without = DOCS_QUERY.replace("&body_md5=ec365a775a4cd0599faeb73354201b6f", "");
        assert_eq!(
            verify_api_request(&docs_request(&without), &tokens, DOCS_TIME),
            Err(ApiAuthError::MissingBodyMd5)
        );
        let mut request = docs_request(DOCS_QUERY);
        request.body = br#"{"name":"bar","channels":["project-3"],"data":"{}"}"#;
        assert_eq!(
            verify_api_request(&request, &tokens, DOCS_TIME),
            Err(ApiAuthError::BodyMd5Mismatch)
        );
    }

    #[test]
    fn version_key_and_timestamp_are_checked() {
        let tokens = [docs_app()];
        let check = |query: String| verify_api_request(&docs_request(&query), &tokens, DOCS_TIME);
        assert_eq!(
            check(DOCS_QUERY.replace("auth_version=1.0", "auth_version=2.0")),
            Err(ApiAuthError::UnsupportedVersion("2.0".to_owned()))
        );
        assert_eq!(
            check(DOCS_QUERY.replace("auth_key=278d425bdf160c739803", "auth_key=nobody")),
            Err(ApiAuthError::UnknownKey("nobody".to_owned()))
        );
        assert_eq!(
            check(DOCS_QUERY.replace("auth_timestamp=1353088179", "auth_timestamp=soon")),
            Err(ApiAuthError::InvalidTimestamp)
        );
        assert_eq!(
            check(DOCS_QUERY.replace("auth_timestamp=1353088179", "auth_timestamp=1353088179.5")),
            Err(ApiAuthError::InvalidTimestamp)
        );
    }

    #[test]
    fn a_wrong_signature_names_the_string_to_sign() {
        let tokens = [docs_app()];
        let query = DOCS_QUERY.replace("auth_signature=da45", "auth_signature=da46");
        assert_eq!(
            verify_api_request(&docs_request(&query), &tokens, DOCS_TIME),
            Err(ApiAuthError::InvalidSignature {
                string_to_sign: "POST\n/apps/3/events\nauth_key=278d425bdf160c739803\
                    &auth_timestamp=1353088179&auth_version=1.0\
                    &body_md5=ec365a775a4cd0599faeb73354201b6f"
                    .to_owned()
            })
        );
        // Another path, or an added parameter, is another request.
        let mut request = docs_request(DOCS_QUERY);
        request.path = "/apps/4/events";
        assert!(matches!(
            verify_api_request(&request, &tokens, DOCS_TIME),
            Err(ApiAuthError::InvalidSignature { .. })
        ));
        let added = format!("{DOCS_QUERY}&socket_id=1.2");
        assert!(matches!(
            verify_api_request(&docs_request(&added), &tokens, DOCS_TIME),
            Err(ApiAuthError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn parameter_order_key_case_and_method_case_do_not_matter() {
        let tokens = [docs_app()];
        let mut pieces: Vec<&str> = DOCS_QUERY.split('&').collect();
        pieces.reverse();
        let reversed = pieces.join("&");
        assert!(verify_api_request(&docs_request(&reversed), &tokens, DOCS_TIME).is_ok());
        let upper_keys = DOCS_QUERY
            .replace("auth_key=", "AUTH_KEY=")
            .replace("body_md5", "Body_MD5");
        assert!(verify_api_request(&docs_request(&upper_keys), &tokens, DOCS_TIME).is_ok());
        let mut request = docs_request(DOCS_QUERY);
        request.method = "post";
        assert!(verify_api_request(&request, &tokens, DOCS_TIME).is_ok());
        // Empty pieces are skipped.
        let sloppy = format!("&{}&&", DOCS_QUERY.replace('&', "&&"));
        assert!(verify_api_request(&docs_request(&sloppy), &tokens, DOCS_TIME).is_ok());
    }

    #[test]
    fn any_token_of_the_app_may_sign() {
        let tokens = [Credentials::new("old", "old-secret"), docs_app()];
        assert_eq!(
            verify_api_request(&docs_request(DOCS_QUERY), &tokens, DOCS_TIME),
            Ok(&tokens[1])
        );
    }

    #[test]
    fn unreadable_queries_are_bad_requests() {
        let tokens = [docs_app()];
        for query in [
            format!("{DOCS_QUERY}&x=%zz"),
            format!("{DOCS_QUERY}&x=%4"),
            format!("{DOCS_QUERY}&x=%ff"),
            format!("{DOCS_QUERY}&%e9=1"),
        ] {
            let error = verify_api_request(&docs_request(&query), &tokens, DOCS_TIME).unwrap_err();
            assert_eq!(error, ApiAuthError::MalformedQuery, "{query}");
            assert_eq!(error.status(), http::StatusCode::BAD_REQUEST);
        }
        let twice = format!("{DOCS_QUERY}&AUTH_KEY=x");
        let error = verify_api_request(&docs_request(&twice), &tokens, DOCS_TIME).unwrap_err();
        assert_eq!(
            error,
            ApiAuthError::DuplicateParameter("auth_key".to_owned())
        );
        assert_eq!(error.status(), http::StatusCode::BAD_REQUEST);
        let mut request = docs_request(DOCS_QUERY);
        request.path = "/apps/3/%zz";
        assert_eq!(
            verify_api_request(&request, &tokens, DOCS_TIME),
            Err(ApiAuthError::MalformedQuery)
        );
        assert_eq!(
            ApiAuthError::MissingBodyMd5.status(),
            http::StatusCode::UNAUTHORIZED
        );
    }

    #[test]
    fn values_and_paths_are_signed_unescaped() {
        // pusher-http-node signs `filter_by_prefix=presence-` and the raw user id; a client
        // library that escapes them in the URL (a space as %20 or +) must still match.
        let app = docs_app();
        let tokens = [app.clone()];
        let path = "/apps/3/users/ada lovelace/terminate_connections";
        let signed = sign_api_request(&app, "POST", path, &[], b"{}", DOCS_TIME);
        let escaped_path = "/apps/3/users/ada%20lovelace/terminate_connections";
        let request = ApiRequest {
            method: "POST",
            path: escaped_path,
            query: &signed,
            body: b"{}",
        };
        assert!(verify_api_request(&request, &tokens, DOCS_TIME).is_ok());

        let query = sign_api_request(
            &app,
            "GET",
            "/apps/3/channels",
            &[("q", "a b+c")],
            b"",
            DOCS_TIME,
        );
        assert!(query.contains("q=a%20b%2Bc"), "{query}");
        let request = ApiRequest {
            method: "GET",
            path: "/apps/3/channels",
            query: &query,
            body: b"",
        };
        assert!(verify_api_request(&request, &tokens, DOCS_TIME).is_ok());
        // `+` in a query is a space, as in every form decoder.
        let plus = query.replace("a%20b", "a+b");
        let request = ApiRequest {
            method: "GET",
            path: "/apps/3/channels",
            query: &plus,
            body: b"",
        };
        assert!(verify_api_request(&request, &tokens, DOCS_TIME).is_ok());
    }

    #[test]
    fn an_empty_body_needs_no_md5() {
        let app = docs_app();
        let query = sign_api_request(&app, "GET", "/apps/3/channels", &[], b"", DOCS_TIME);
        assert!(!query.contains("body_md5"));
        let request = ApiRequest {
            method: "GET",
            path: "/apps/3/channels",
            query: &query,
            body: b"",
        };
        assert!(verify_api_request(&request, &[app], DOCS_TIME).is_ok());
    }
}
