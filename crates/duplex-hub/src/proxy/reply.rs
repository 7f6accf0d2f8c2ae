//! Reading a backend's reply: `{"result": {...}}`, `{"error": {"code", "message",
//! "temporary"}}` or `{"disconnect": {"code", "reason"}}` (a disconnect wins over an error, and
//! an error over a result, as in Centrifugo).
//!
//! Whatever the backend sends is checked before it reaches a client: a reply with none of the
//! three is refused rather than taken as a yes; an error needs a code, a disconnect a code a
//! close frame may carry (3000–4999) and a reason that fits one; payloads are raw JSON
//! (`data`, `info`) or base64 (`b64data`, `b64info`), and bad base64 is a malformed reply.

use std::borrow::Cow;

use base64::Engine;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::ProxyError;
use crate::codes::{Disconnect, Error};

/// Longest close reason: a close frame's payload is at most 125 bytes, 2 of them the code.
const MAX_REASON: usize = 123;

/// A backend's answer to one event.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendReply<T> {
    /// The event's result.
    Result(T),
    /// An error for the client's command.
    Error(Error),
    /// Close the client's connection.
    Disconnect(Disconnect),
}

#[derive(Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
struct Envelope<T> {
    #[serde(default)]
    result: Option<T>,
    #[serde(default)]
    error: Option<ErrorObject>,
    #[serde(default)]
    disconnect: Option<DisconnectObject>,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(default)]
    code: u32,
    #[serde(default)]
    message: String,
    #[serde(default)]
    temporary: bool,
}

#[derive(Deserialize)]
struct DisconnectObject {
    #[serde(default)]
    code: u32,
    #[serde(default)]
    reason: String,
}

/// Parses a reply body whose result has the shape `T`.
///
/// ```
/// use duplex_hub::proxy::{parse_reply, BackendReply};
///
/// let reply: BackendReply<serde_json::Value> =
///     parse_reply(br#"{"error": {"code": 403, "message": "forbidden"}}"#).unwrap();
/// match reply {
///     BackendReply::Error(error) => assert_eq!((error.code, &*error.message), (403, "forbidden")),
///     other => panic!("{other:?}"),
/// }
/// assert!(parse_reply::<serde_json::Value>(b"{}").is_err());
/// assert!(parse_reply::<serde_json::Value>(b"<html>").is_err());
/// ```
pub fn parse_reply<T: DeserializeOwned>(body: &[u8]) -> Result<BackendReply<T>, ProxyError> {
    check_objects(body)?;
    let envelope: Envelope<T> =
        serde_json::from_slice(body).map_err(|error| ProxyError::Malformed(error.to_string()))?;
    if let Some(disconnect) = envelope.disconnect {
        if !(3000..=4999).contains(&disconnect.code) {
            return Err(ProxyError::Malformed(format!(
                "disconnect code {} is outside 3000-4999",
                disconnect.code
            )));
        }
        // The range check above keeps the code within u16.
        let code = disconnect.code as u16;
        return Ok(BackendReply::Disconnect(Disconnect::new(
            code,
            truncate(disconnect.reason, MAX_REASON),
        )));
    }
    if let Some(error) = envelope.error {
        if error.code == 0 {
            return Err(ProxyError::Malformed("error without a code".to_owned()));
        }
        return Ok(BackendReply::Error(Error {
            code: error.code,
            message: Cow::Owned(error.message),
            temporary: error.temporary,
        }));
    }
    match envelope.result {
        Some(result) => Ok(BackendReply::Result(result)),
        None => Err(ProxyError::Malformed(
            "no result, error or disconnect".to_owned(),
        )),
    }
}

/// The reply and its `result`, `error` and `disconnect` must be JSON objects: serde reads a
/// struct from an array too, field by field, and `[{"result": ...}]` must not pass for a
/// reply (nor `{"result": []}` for an empty result that allows).
fn check_objects(body: &[u8]) -> Result<(), ProxyError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|error| ProxyError::Malformed(error.to_string()))?;
    let serde_json::Value::Object(map) = value else {
        return Err(ProxyError::Malformed("not a JSON object".to_owned()));
    };
    for key in ["result", "error", "disconnect"] {
        if map
            .get(key)
            .is_some_and(|v| !(v.is_object() || v.is_null()))
        {
            return Err(ProxyError::Malformed(format!("{key} is not an object")));
        }
    }
    Ok(())
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// A payload given as raw JSON (`data`) or base64 (`b64data`); base64 wins when both are set,
/// and a JSON `null` is no payload.
pub(super) fn payload(
    raw: Option<&RawValue>,
    b64: &str,
    field: &str,
) -> Result<Option<Bytes>, ProxyError> {
    if !b64.is_empty() {
        return base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map(|bytes| Some(Bytes::from(bytes)))
            .map_err(|_| ProxyError::Malformed(format!("b64{field} is not base64")));
    }
    Ok(raw
        .filter(|raw| raw.get() != "null")
        .map(|raw| Bytes::copy_from_slice(raw.get().as_bytes())))
}

/// Unix seconds written as a number or, as protobuf's JSON writes 64-bit integers, a string.
pub(super) fn unix_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seconds {
        Number(i64),
        Text(String),
    }
    match Option::<Seconds>::deserialize(deserializer)? {
        None => Ok(0),
        Some(Seconds::Number(seconds)) => Ok(seconds),
        Some(Seconds::Text(text)) => text.parse().map_err(serde::de::Error::custom),
    }
}

/// Checks `body` as a reply to every kind of event, the way the hub reads them. For fuzzing:
/// nothing a backend sends may panic or hang the parser.
#[doc(hidden)]
pub fn check_any_reply(body: &[u8]) {
    let _ = super::connect::interpret(body);
    let _ = super::refresh::interpret(body);
    let _ = super::subscribe::interpret(body);
    let _ = super::publish::interpret(body);
    let _ = super::rpc::interpret(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    type Any = BackendReply<serde_json::Value>;

    #[test]
    fn a_disconnect_wins_and_its_reason_is_cut_to_a_close_frame() {
        let long = "é".repeat(100);
        let body = format!(
            r#"{{"result": {{}}, "error": {{"code": 1000}}, "disconnect": {{"code": 4501, "reason": "{long}"}}}}"#
        );
        match parse_reply::<serde_json::Value>(body.as_bytes()).unwrap() {
            Any::Disconnect(disconnect) => {
                assert_eq!(disconnect.code, 4501);
                assert!(disconnect.reason.len() <= MAX_REASON);
                assert!(disconnect.reason.starts_with('é'));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn codes_a_client_cannot_be_given_are_malformed() {
        for body in [
            r#"{"disconnect": {"code": 1000, "reason": "x"}}"#,
            r#"{"disconnect": {"code": 70000}}"#,
            r#"{"error": {"message": "no code"}}"#,
            r#"{"result": null}"#,
            r#"[1, 2]"#,
            r#"[{"result": {"user": "56"}}]"#,
            r#"{"result": []}"#,
            r#"{"error": [403, "forbidden"]}"#,
            r#""yes""#,
        ] {
            assert!(
                matches!(
                    parse_reply::<serde_json::Value>(body.as_bytes()),
                    Err(ProxyError::Malformed(_))
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn base64_wins_over_json_and_null_is_nothing() {
        let raw: Box<RawValue> = serde_json::from_str(r#"{"a":1}"#).unwrap();
        assert_eq!(
            payload(Some(&raw), "aGk=", "data").unwrap().as_deref(),
            Some(&b"hi"[..])
        );
        assert_eq!(
            payload(Some(&raw), "", "data").unwrap().as_deref(),
            Some(&br#"{"a":1}"#[..])
        );
        let null: Box<RawValue> = serde_json::from_str("null").unwrap();
        assert_eq!(payload(Some(&null), "", "data").unwrap(), None);
        assert!(payload(None, "not base64!", "data").is_err());
    }
}
