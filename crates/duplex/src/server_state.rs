//! What all connections of one server share: how many are open, the cap, and the shutdown
//! signal.
//!
//! A [`ServerBuilder`](crate::ServerBuilder) and its clones share one state, so the usual
//! pattern (build once, clone into each accept task) counts every connection, handshakes in
//! progress included, which is what a cap against slowloris needs. Each connection holds a
//! [`Slot`]; dropping the connection gives the slot back.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

#[derive(Debug)]
pub(crate) struct ServerState {
    active: AtomicUsize,
    shutting_down: watch::Sender<bool>,
    all_closed: Notify,
}

/// One connection's place in the count; freed on drop.
#[derive(Debug)]
pub(crate) struct Slot(Arc<ServerState>);

/// Why no slot was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoSlot {
    Full,
    ShuttingDown,
}

impl ServerState {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(ServerState {
            active: AtomicUsize::new(0),
            shutting_down: watch::channel(false).0,
            all_closed: Notify::new(),
        })
    }

    /// Takes a slot unless `max` are taken or the server is shutting down.
    pub(crate) fn acquire(self: &Arc<Self>, max: Option<usize>) -> Result<Slot, NoSlot> {
        if *self.shutting_down.borrow() {
            return Err(NoSlot::ShuttingDown);
        }
        let before = self.active.fetch_add(1, Ordering::AcqRel);
        let slot = Slot(self.clone());
        if max.is_some_and(|max| before >= max) {
            return Err(NoSlot::Full); // dropping `slot` gives the count back
        }
        Ok(slot)
    }

    /// A future that completes when shutdown begins.
    pub(crate) fn shutdown_signal(&self) -> Pin<Box<dyn Future<Output = ()> + Send + Sync>> {
        let mut receiver = self.shutting_down.subscribe();
        Box::pin(async move {
            let _ = receiver.wait_for(|down| *down).await;
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.0.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.all_closed.notify_waiters();
        }
    }
}

/// Graceful shutdown of every connection a [`ServerBuilder`](crate::ServerBuilder) accepted.
///
/// ```no_run
/// # async fn run(server: duplex::ServerBuilder) {
/// let shutdown = server.shutdown_handle();
/// // ... on SIGTERM:
/// shutdown.begin(); // every connection sends 1001 "server shutting down"; new ones get 503
/// let all_closed = shutdown.wait(std::time::Duration::from_secs(10)).await;
/// println!("{} connections left", if all_closed { 0 } else { shutdown.active_connections() });
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Shutdown {
    pub(crate) state: Arc<ServerState>,
}

impl Shutdown {
    /// Starts the shutdown: open connections close with 1001, new ones are refused with 503.
    pub fn begin(&self) {
        self.state.shutting_down.send_replace(true);
    }

    /// True once [`Shutdown::begin`] was called.
    pub fn is_shutting_down(&self) -> bool {
        *self.state.shutting_down.borrow()
    }

    /// Connections open or in their handshake.
    pub fn active_connections(&self) -> usize {
        self.state.active.load(Ordering::Acquire)
    }

    /// Waits until every connection has closed, at most `timeout`; true if they all did.
    pub async fn wait(&self, timeout: Duration) -> bool {
        let all_closed = async {
            loop {
                let notified = self.state.all_closed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.active_connections() == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, all_closed).await.is_ok()
    }
}
