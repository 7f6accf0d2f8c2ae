//! One outbox row as a server API command: decoded and run by the same code as
//! `POST /api/<method>`, so a command means the same whichever way it arrives.
//!
//! What Centrifugo's consumers do with a row, and so what this does:
//! - a command that changes state (`publish`, `broadcast`, `subscribe`, `unsubscribe`,
//!   `disconnect`, `refresh`, `history_remove`) runs;
//! - a read (`presence`, `history`, `channels`, `info`...), `batch`, an unknown method or a
//!   payload that does not decode or validate is logged and dropped: running it again would
//!   fail again, and a stuck row would hold back its whole partition;
//! - an internal error (code 100, also inside one of a broadcast's results) is retried: the
//!   row stays and the partition stops there until it goes through, keeping the order.
//!
//! `publish` and `broadcast` get the row's id as their idempotency key unless the payload has
//! one, so a row delivered twice (a hub died before its commit) is published once.

use serde_json::Value;

use crate::api::dispatch::Command;
use crate::api::{ApiBackend, Method, INTERNAL};

/// What became of one row.
#[derive(Debug, PartialEq)]
pub(super) enum Outcome {
    /// The command ran: the row is done.
    Done,
    /// The command cannot run, now or later: the row is done, the reason is logged.
    Dropped(String),
    /// The command failed inside the hub: keep the row and try again later.
    Retry(String),
}

/// Runs the command of one row against `backend`; `key` is the idempotency key the row's
/// publications get unless the payload names its own.
pub(super) async fn dispatch<B: ApiBackend + ?Sized>(
    backend: &B,
    method: &str,
    payload: &str,
    key: &str,
) -> Outcome {
    let Some(method) = Method::from_name(method) else {
        return Outcome::Dropped(format!("unknown method {method:?}"));
    };
    let changes_state = matches!(
        method,
        Method::Publish
            | Method::Broadcast
            | Method::Subscribe
            | Method::Unsubscribe
            | Method::Disconnect
            | Method::Refresh
            | Method::HistoryRemove
    );
    if !changes_state {
        return Outcome::Dropped(format!(
            "{} does not change state and is not run from an outbox",
            method.name()
        ));
    }
    let body = match method {
        Method::Publish | Method::Broadcast => with_idempotency_key(payload, key),
        _ => Ok(payload.to_owned()),
    };
    let body = match body {
        Ok(body) => body,
        Err(reason) => return Outcome::Dropped(reason),
    };
    let command = match Command::decode(method, body.as_bytes()) {
        Some(Ok(command)) => command,
        Some(Err(error)) => return Outcome::Dropped(format!("payload does not decode: {error}")),
        None => return Outcome::Dropped("batch is not run from an outbox".to_owned()),
    };
    match command.execute(backend).await {
        Ok(result) if method == Method::Broadcast && has_internal_error(result.get()) => {
            Outcome::Retry("a publication of the broadcast failed".to_owned())
        }
        Ok(_) => Outcome::Done,
        Err(error) if error.code == INTERNAL => Outcome::Retry(error.message),
        Err(error) => Outcome::Dropped(format!("error {}: {}", error.code, error.message)),
    }
}

/// The payload with `idempotency_key` set to `key` where it has none (absent, null or empty).
fn with_idempotency_key(payload: &str, key: &str) -> Result<String, String> {
    let mut value: Value =
        serde_json::from_str(payload).map_err(|error| format!("payload is not JSON: {error}"))?;
    let Some(object) = value.as_object_mut() else {
        return Err("payload is not a JSON object".to_owned());
    };
    let has_key = object
        .get("idempotency_key")
        .and_then(Value::as_str)
        .is_some_and(|existing| !existing.is_empty());
    if !has_key {
        object.insert("idempotency_key".to_owned(), Value::from(key));
    }
    Ok(value.to_string())
}

/// Whether a broadcast's results hold an internal error (`{"responses": [{"error": {...}}]}`).
fn has_internal_error(result: &str) -> bool {
    let Ok(value) = serde_json::from_str::<Value>(result) else {
        return false;
    };
    value["responses"].as_array().is_some_and(|responses| {
        responses
            .iter()
            .any(|response| response["error"]["code"].as_u64() == Some(u64::from(INTERNAL)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_key_fills_only_a_missing_key() {
        let filled = with_idempotency_key(r#"{"channel":"a","data":{}}"#, "outbox:t:7").unwrap();
        let filled: Value = serde_json::from_str(&filled).unwrap();
        assert_eq!(filled["idempotency_key"], "outbox:t:7");
        let kept =
            with_idempotency_key(r#"{"channel":"a","idempotency_key":"mine"}"#, "x").unwrap();
        let kept: Value = serde_json::from_str(&kept).unwrap();
        assert_eq!(kept["idempotency_key"], "mine");
        assert!(with_idempotency_key("[1]", "x").is_err());
        assert!(with_idempotency_key("{", "x").is_err());
    }

    #[test]
    fn internal_errors_in_a_broadcast_are_found() {
        assert!(has_internal_error(
            r#"{"responses":[{"result":{}},{"error":{"code":100,"message":"internal"}}]}"#
        ));
        assert!(!has_internal_error(
            r#"{"responses":[{"error":{"code":102,"message":"unknown channel"}}]}"#
        ));
    }
}
