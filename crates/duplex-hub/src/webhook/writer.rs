//! Where changes to the queue are committed: in place for the memory queue, and on one thread
//! of its own for the SQLite queue, many changes to a transaction.
//!
//! A SQLite commit of one event took 50 µs on tmpfs and 160 µs on ext4, where WAL checkpoints
//! fsync (measured with the same statements from Python's sqlite3). That is too long to block
//! a runtime thread for at every disconnect, and a mass disconnect (a network blip, a shutdown)
//! would serialise thousands of them. So a session hands its event to the writer thread and
//! awaits the commit. The thread takes everything that is waiting at once (group commit), so
//! the cost is per batch, not per event: in a debug build, 460 µs per event one at a time and
//! 62 µs per event with 1000 sessions leaving at once. The session goes on only once its event
//! is on disk, which is what lets a hub killed a moment later still owe it. The worker's
//! deliveries and retries are committed the same way.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Notify};

use crate::metrics::WebhookMetrics;

use super::delivery::Throttle;
use super::queue::{Change, Queue, QueueError};

/// Most changes committed in one transaction.
const BATCH: usize = 512;
/// Most changes waiting for the writer thread; past it, sessions wait to hand theirs over.
const BACKLOG: usize = 4096;

type Job = (Change, oneshot::Sender<Result<(), String>>);

/// Commits changes to the queue and keeps the metrics that follow from them.
pub(crate) struct Writer {
    tally: Arc<Tally>,
    /// The writer thread's inbox; `None` commits in place.
    thread: Option<mpsc::Sender<Job>>,
}

/// What a commit updates besides the queue.
struct Tally {
    queue: Arc<dyn Queue>,
    metrics: WebhookMetrics,
    /// Rung when events were added, for the delivery worker.
    wake: Arc<Notify>,
    /// Keeps a full queue's warning to one per few seconds.
    drops: Throttle,
    max_queue: usize,
}

impl Writer {
    /// A writer for `queue`: on a thread of its own when `threaded` (a queue on disk).
    pub(crate) fn new(
        queue: Arc<dyn Queue>,
        threaded: bool,
        metrics: WebhookMetrics,
        wake: Arc<Notify>,
        max_queue: usize,
    ) -> Result<Writer, QueueError> {
        let tally = Arc::new(Tally {
            queue,
            metrics,
            wake,
            drops: Throttle::new(),
            max_queue,
        });
        if !threaded {
            return Ok(Writer {
                tally,
                thread: None,
            });
        }
        let (sender, receiver) = mpsc::channel(BACKLOG);
        let on_thread = tally.clone();
        std::thread::Builder::new()
            .name("duplex-webhook-queue".into())
            .spawn(move || write_batches(&on_thread, receiver))
            .map_err(|e| QueueError(format!("cannot start the queue's writer: {e}")))?;
        Ok(Writer {
            tally,
            thread: Some(sender),
        })
    }

    /// Commits one change; returns once it is committed (or failed).
    pub(crate) async fn commit(&self, change: Change) -> Result<(), QueueError> {
        let Some(thread) = &self.thread else {
            return self.tally.apply(&[change]);
        };
        let (done, committed) = oneshot::channel();
        if thread.send((change, done)).await.is_err() {
            return Err(QueueError("the queue's writer has stopped".into()));
        }
        match committed.await {
            Ok(result) => result.map_err(QueueError),
            Err(_) => Err(QueueError("the queue's writer has stopped".into())),
        }
    }
}

/// The writer thread: waits for a change, takes every other one waiting, commits them in one
/// transaction, answers each. Ends when every sender is gone.
fn write_batches(tally: &Tally, mut receiver: mpsc::Receiver<Job>) {
    while let Some(first) = receiver.blocking_recv() {
        let mut jobs = vec![first];
        while jobs.len() < BATCH {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (changes, answers): (Vec<Change>, Vec<_>) = jobs.into_iter().unzip();
        let result = tally.apply(&changes).map_err(|error| error.0);
        for answer in answers {
            let _ = answer.send(result.clone());
        }
    }
}

impl Tally {
    fn apply(&self, changes: &[Change]) -> Result<(), QueueError> {
        let dropped = self.queue.apply(changes)?;
        let owed = self.queue.len();
        let mut added = false;
        for change in changes {
            match change {
                Change::Add(_) => {
                    added = true;
                    self.metrics.queued();
                }
                Change::Delivered(_) => self.metrics.delivered(),
                Change::Retry { .. } => {}
            }
        }
        self.metrics.dropped(dropped);
        self.metrics.owed(owed);
        if dropped > 0 {
            if let Some(suppressed) = self.drops.ready() {
                tracing::warn!(
                    dropped,
                    warnings_suppressed = suppressed,
                    max_queue = self.max_queue,
                    "webhook queue full: the oldest events were dropped \
                     (duplex_hub_webhook_dropped counts them all)"
                );
            }
        }
        if added {
            self.wake.notify_one();
        }
        Ok(())
    }
}
