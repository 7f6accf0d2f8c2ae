//! `batch`: many commands in one request, `{"commands": [{"publish": {...}}, ...]}`, answered
//! with `{"replies": [{"publish": {...}}, {"error": {...}}, ...]}` in the same order.
//!
//! Every command is decoded before any runs, so a malformed one rejects the whole batch (HTTP
//! 400) rather than leaving it half-applied. A command naming no known method gets error 104 in
//! its slot. With `"parallel": true` the commands run concurrently, at most
//! [`MAX_PARALLEL`] at a time, and still reply in request order.

use std::collections::HashMap;
use std::sync::Arc;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::backend::ApiBackend;
use super::dispatch::Command;
use super::error::ApiError;
use super::method::Method;

/// How many commands of one parallel batch run at once.
pub const MAX_PARALLEL: usize = 1024;

/// One batch entry as sent: the method name holding its parameters.
type Entry = HashMap<String, Box<RawValue>>;

#[derive(Debug, Deserialize)]
struct BatchWire {
    commands: Option<Vec<Option<Entry>>>,
    parallel: Option<bool>,
}

/// One reply of a batch: the method's result under the method's name, or the error.
#[derive(Debug)]
pub(crate) struct BatchReply {
    method: Option<Method>,
    outcome: Result<Box<RawValue>, ApiError>,
}

impl Serialize for BatchReply {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match (&self.outcome, self.method) {
            (Ok(result), Some(method)) => map.serialize_entry(method.name(), result)?,
            (Ok(_), None) => map.serialize_entry("error", &ApiError::method_not_found())?,
            (Err(error), _) => map.serialize_entry("error", error)?,
        }
        map.end()
    }
}

/// The whole batch reply.
#[derive(Debug, Serialize)]
pub(crate) struct BatchReplies {
    replies: Vec<BatchReply>,
}

/// Decodes and runs a batch; `Err` when the body or any command in it does not decode.
pub(crate) async fn run<B: ApiBackend>(
    backend: &Arc<B>,
    body: &[u8],
) -> Result<BatchReplies, serde_json::Error> {
    let wire: BatchWire = serde_json::from_slice(body)?;
    let mut commands = Vec::new();
    for entry in wire.commands.unwrap_or_default() {
        commands.push(decode_entry(entry.unwrap_or_default())?);
    }
    let replies = if wire.parallel.unwrap_or(false) {
        run_parallel(backend, commands).await
    } else {
        let mut replies = Vec::with_capacity(commands.len());
        for command in commands {
            replies.push(run_one(backend.as_ref(), command).await);
        }
        replies
    };
    Ok(BatchReplies { replies })
}

/// The command in one batch entry; `None` when the entry names no method this hub has
/// (including a nested `batch`).
fn decode_entry(entry: Entry) -> Result<Option<Command>, serde_json::Error> {
    let Some((method, params)) = Method::ALL
        .into_iter()
        .find_map(|method| entry.get(method.name()).map(|params| (method, params)))
    else {
        return Ok(None);
    };
    match Command::decode(method, params.get().as_bytes()) {
        Some(decoded) => decoded.map(Some),
        None => Ok(None),
    }
}

async fn run_one<B: ApiBackend>(backend: &B, command: Option<Command>) -> BatchReply {
    match command {
        Some(command) => BatchReply {
            method: Some(command.method()),
            outcome: command.execute(backend).await,
        },
        None => BatchReply {
            method: None,
            outcome: Err(ApiError::method_not_found()),
        },
    }
}

async fn run_parallel<B: ApiBackend>(
    backend: &Arc<B>,
    commands: Vec<Option<Command>>,
) -> Vec<BatchReply> {
    let methods: Vec<Option<Method>> = commands
        .iter()
        .map(|command| command.as_ref().map(Command::method))
        .collect();
    let permits = Arc::new(Semaphore::new(MAX_PARALLEL));
    let mut tasks = JoinSet::new();
    for (index, command) in commands.into_iter().enumerate() {
        let backend = Arc::clone(backend);
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            // The semaphore is never closed, so acquiring only waits; a failure would mean
            // running without the cap, which is still correct.
            let _permit = permits.acquire().await.ok();
            (index, run_one(backend.as_ref(), command).await)
        });
    }
    let mut slots: Vec<Option<BatchReply>> = methods.iter().map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, reply)) => {
                if let Some(slot) = slots.get_mut(index) {
                    *slot = Some(reply);
                }
            }
            Err(error) => tracing::error!(%error, "server api: a batch command task failed"),
        }
    }
    // A slot left empty belongs to a task that panicked: its reply is an internal error.
    slots
        .into_iter()
        .zip(methods)
        .map(|(slot, method)| {
            slot.unwrap_or(BatchReply {
                method,
                outcome: Err(ApiError::internal()),
            })
        })
        .collect()
}
