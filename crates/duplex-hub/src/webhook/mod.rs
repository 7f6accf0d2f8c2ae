//! Webhooks: the hub tells the application when people leave. Centrifugo's protocol lets the
//! application hear connects, subscribes, publishes and RPCs through its proxies, but not
//! disconnects or unsubscribes (Centrifugo declines to send them, since a server cannot
//! promise to), so an application that keeps "who is online" or "who is in this room" in its
//! own database has no way to learn that someone left. The hub posts those events to an
//! endpoint of the application's, signed, retried until answered with a 2xx, and kept on disk
//! meanwhile so that a restart does not lose them: at least once, each with an `id` to
//! deduplicate on.
//!
//! Shape: the sessions build a [`WebhookEvent`] where a leave happens and hand it to the
//! node's `Webhooks`, which has it committed to the queue (`queue.rs` in memory, `sqlite.rs` on
//! disk, `writer.rs` committing) before the session goes on, then wakes the worker
//! (`delivery.rs`), which posts due events with bounded concurrency and backoff.
//! `signature.rs` signs them; receivers can use the same [`verify`]. docs/webhooks.md describes
//! the body, the headers and the retry policy.

mod delivery;
mod event;
mod queue;
mod signature;
mod sqlite;
mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::config::WebhookConfig;
use crate::metrics::WebhookMetrics;

pub use event::WebhookEvent;
pub(crate) use event::{unix_ms, Leaver};
pub use queue::QueueError;
pub use signature::{sign, verify, SignatureError, SIGNATURE_HEADER};

use queue::{Change, MemoryQueue, Owed, Queue};
use sqlite::SqliteQueue;
use writer::Writer;

/// The header with the event's id (the body's `id`), for deduplicating before parsing.
pub const ID_HEADER: &str = "X-Duplex-Webhook-Id";
/// The header with the attempt's number, 1 for the first.
pub const ATTEMPT_HEADER: &str = "X-Duplex-Webhook-Attempt";

/// The node's webhook sink: the queue and the worker that empties it. Dropping it stops the
/// worker; what it had not delivered stays in the queue.
pub(crate) struct Webhooks {
    shared: Arc<Shared>,
}

/// How a sink's requests are signed: the hub's own events (`X-Duplex-Signature`, see
/// `signature.rs`), or a Pusher app's (`X-Pusher-Key` and `X-Pusher-Signature`, as Pusher's
/// server SDKs verify them; see `pusher::webhook`).
pub(crate) enum Signing {
    /// The hub's events, with `webhook.secret`.
    Duplex,
    /// A Pusher app's events, with its key and secret.
    Pusher(crate::pusher::signature::Credentials),
}

/// What the sink, its worker and the worker's attempts share.
pub(crate) struct Shared {
    settings: WebhookConfig,
    signing: Signing,
    /// Read directly; changed only through `writer`.
    queue: Arc<dyn Queue>,
    writer: Writer,
    /// Rung on every new event (by the writer) and on stop.
    wake: Arc<Notify>,
    stopped: AtomicBool,
    metrics: WebhookMetrics,
    /// Keeps the failures' warning to one per few seconds while an endpoint is down.
    failures: delivery::Throttle,
}

impl Webhooks {
    /// The sink for `settings`, its queue in the SQLite file `queue_path` (created if missing),
    /// or in memory without one; `None` when webhooks are off. Call [`Webhooks::start`] inside
    /// the runtime to begin delivering.
    pub(crate) fn open(
        settings: &WebhookConfig,
        queue_path: Option<&Path>,
        metrics: WebhookMetrics,
    ) -> Result<Option<Webhooks>, QueueError> {
        if !settings.enabled {
            return Ok(None);
        }
        Webhooks::open_signed(settings, Signing::Duplex, queue_path, metrics).map(Some)
    }

    /// A sink posting to `settings.endpoint`, signed as `signing` says.
    pub(crate) fn open_signed(
        settings: &WebhookConfig,
        signing: Signing,
        queue_path: Option<&Path>,
        metrics: WebhookMetrics,
    ) -> Result<Webhooks, QueueError> {
        let queue: Arc<dyn Queue> = match queue_path {
            Some(path) => {
                let queue = SqliteQueue::open(path, settings.max_queue)?;
                tracing::info!(
                    path = %path.display(),
                    owed = queue.len(),
                    "webhook queue opened"
                );
                Arc::new(queue)
            }
            None => {
                tracing::warn!(
                    "webhook.queue_path is not set: webhook events are queued in memory, and \
                     those not yet delivered are lost when the hub stops"
                );
                Arc::new(MemoryQueue::new(settings.max_queue))
            }
        };
        metrics.owed(queue.len());
        let wake = Arc::new(Notify::new());
        let writer = Writer::new(
            queue.clone(),
            queue_path.is_some(),
            metrics.clone(),
            wake.clone(),
            settings.max_queue,
        )?;
        Ok(Webhooks {
            shared: Arc::new(Shared {
                settings: settings.clone(),
                signing,
                queue,
                writer,
                wake,
                stopped: AtomicBool::new(false),
                metrics,
                failures: delivery::Throttle::new(),
            }),
        })
    }

    /// Starts the worker: what the queue already owes (from before a restart) is sent first.
    pub(crate) fn start(&self) {
        tokio::spawn(delivery::run(self.shared.clone()));
    }

    /// Queues an event, if its kind is wanted; returns once it is committed.
    pub(crate) async fn emit(&self, event: &WebhookEvent) {
        let shared = &self.shared;
        if !shared.settings.wants(event.kind) {
            return;
        }
        let body = match serde_json::to_vec(event) {
            Ok(body) => body,
            Err(error) => {
                tracing::error!("cannot encode a webhook event: {error}");
                return;
            }
        };
        let owed = Owed {
            id: event.id.clone(),
            body,
            attempts: 0,
            due_ms: event.time_ms,
        };
        if let Err(error) = shared.writer.commit(Change::Add(owed)).await {
            tracing::error!(id = %event.id, "webhook event lost: {error}");
        }
    }

    /// Queues a body as it will be posted, under `id`; returns once it is committed.
    pub(crate) async fn emit_body(&self, id: String, body: Vec<u8>) {
        let owed = Owed {
            id: id.clone(),
            body,
            attempts: 0,
            due_ms: event::unix_ms(),
        };
        if let Err(error) = self.shared.writer.commit(Change::Add(owed)).await {
            tracing::error!(%id, "webhook event lost: {error}");
        }
    }

    /// How many events are owed (queued, not yet answered with a 2xx).
    pub(crate) fn owed(&self) -> usize {
        self.shared.queue.len()
    }
}

impl Drop for Webhooks {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}
