//! What all connections of one server share: how many are open, the cap, and the shutdown
//! signal.
//!
//! A [`ServerBuilder`](crate::ServerBuilder) and its clones share one state, so the usual
//! pattern (build once, clone into each accept task) counts every connection, handshakes in
//! progress included, which is what a cap against slowloris needs. Each connection holds a
//! [`Slot`]; dropping the connection gives the slot back.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Debug)]
pub(crate) struct ServerState {
    active: AtomicUsize,
    shutting_down: AtomicBool,
    /// The tasks to wake when shutdown begins, one entry per connection that waits for it.
    /// A waker in a shared list instead of a signal future in every connection: an idle
    /// connection is then about 180 bytes smaller (the boxed future and its heap header).
    waiters: Mutex<Waiters>,
    all_closed: Notify,
}

#[derive(Debug, Default)]
struct Waiters {
    wakers: Vec<Option<Waker>>,
    free: Vec<u32>,
}

impl Waiters {
    /// A free place for a waker: a freed one, or a new one.
    fn place(&mut self) -> u32 {
        match self.free.pop() {
            Some(index) => index,
            None => {
                self.wakers.push(None);
                u32::try_from(self.wakers.len() - 1)
                    .expect("fewer than 2^32 connections wait at once")
            }
        }
    }

    fn release(&mut self, index: u32) {
        self.wakers[index as usize] = None;
        self.free.push(index);
    }
}

/// A driver's registration for the shutdown signal (see [`ServerState::watch`]).
#[cfg_attr(not(all(unix, feature = "event-loop")), allow(dead_code))] // the loop's
#[derive(Debug)]
pub(crate) struct Watch {
    state: Arc<ServerState>,
    index: u32,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.state.waiters().release(self.index);
    }
}

/// One connection's place in the count; freed on drop. It is also how the connection learns
/// of a shutdown ([`Slot::poll_shutdown`]).
#[derive(Debug)]
pub(crate) struct Slot {
    state: Arc<ServerState>,
    /// This slot's entry in `state.waiters`, once it has waited. A `u32` (8 bytes with its
    /// `None`, not 16): no server holds four billion connections.
    waiter: Option<u32>,
    /// The waker stored there, to skip the lock while the task's waker stays the same.
    waker: Option<Waker>,
}

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
            shutting_down: AtomicBool::new(false),
            waiters: Mutex::new(Waiters::default()),
            all_closed: Notify::new(),
        })
    }

    /// Takes a slot unless `max` are taken or the server is shutting down.
    pub(crate) fn acquire(self: &Arc<Self>, max: Option<usize>) -> Result<Slot, NoSlot> {
        self.enter(max)?;
        Ok(Slot {
            state: self.clone(),
            waiter: None,
            waker: None,
        })
    }

    /// Counts a connection unless `max` are counted or the server is shutting down; the
    /// caller gives it back with [`ServerState::leave`]. A task holds a [`Slot`] that does
    /// this; the event loop calls both itself, so that its connections carry no slot.
    pub(crate) fn enter(&self, max: Option<usize>) -> Result<(), NoSlot> {
        if self.is_shutting_down() {
            return Err(NoSlot::ShuttingDown);
        }
        let before = self.active.fetch_add(1, Ordering::AcqRel);
        if max.is_some_and(|max| before >= max) {
            self.leave();
            return Err(NoSlot::Full);
        }
        Ok(())
    }

    /// Gives back a connection's place in the count.
    pub(crate) fn leave(&self) {
        if self.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.all_closed.notify_waiters();
        }
    }

    /// Registers `waker` to be woken when the shutdown begins (once); the registration ends
    /// when the returned watch is dropped. For a driver that watches for all its connections
    /// at once (the event loop).
    #[cfg_attr(not(all(unix, feature = "event-loop")), allow(dead_code))] // the loop's
    pub(crate) fn watch(self: &Arc<Self>, waker: Waker) -> Watch {
        let index = {
            let mut waiters = self.waiters();
            let index = waiters.place();
            waiters.wakers[index as usize] = Some(waker.clone());
            index
        };
        if self.is_shutting_down() {
            waker.wake();
        }
        Watch {
            state: self.clone(),
            index,
        }
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    fn waiters(&self) -> std::sync::MutexGuard<'_, Waiters> {
        self.waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts the shutdown: no new slots, and every waiting connection is woken.
    fn begin_shutdown(&self) {
        // Set before taking the lock: a slot that registers after we took the wakers sees it
        // when it checks again after registering.
        self.shutting_down.store(true, Ordering::Release);
        let wakers: Vec<Waker> = self
            .waiters()
            .wakers
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        for waker in wakers {
            waker.wake();
        }
    }
}

impl Slot {
    /// Ready once the server's shutdown has begun; until then, the task is woken when it does.
    pub(crate) fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.state.is_shutting_down() {
            return Poll::Ready(());
        }
        if self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            return Poll::Pending;
        }
        let waker = cx.waker().clone();
        {
            let mut waiters = self.state.waiters();
            let index = match self.waiter {
                Some(index) => index,
                None => *self.waiter.insert(waiters.place()),
            };
            waiters.wakers[index as usize] = Some(waker.clone());
        }
        self.waker = Some(waker);
        if self.state.is_shutting_down() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(index) = self.waiter {
            self.state.waiters().release(index);
        }
        self.state.leave();
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
        self.state.begin_shutdown();
    }

    /// True once [`Shutdown::begin`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.state.is_shutting_down()
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    use super::*;

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn wait(slot: &mut Slot, counter: &Arc<Counter>) -> Poll<()> {
        let waker = Waker::from(counter.clone());
        slot.poll_shutdown(&mut Context::from_waker(&waker))
    }

    #[test]
    fn a_closed_connections_place_is_reused_and_every_waiter_is_woken_once() {
        let state = ServerState::new();
        let (a, b, c) = (Arc::default(), Arc::default(), Arc::default());
        let mut first = state.acquire(None).unwrap();
        let mut second = state.acquire(None).unwrap();
        assert!(wait(&mut first, &a).is_pending());
        assert!(wait(&mut second, &b).is_pending());
        let freed = first.waiter;
        drop(first);
        let mut third = state.acquire(None).unwrap();
        assert!(wait(&mut third, &c).is_pending());
        assert_eq!(third.waiter, freed, "the freed place is taken again");
        assert_ne!(third.waiter, second.waiter);
        assert_eq!(state.waiters().wakers.len(), 2, "no place added");

        state.begin_shutdown();
        let woken = |w: &Arc<Counter>| w.0.load(Ordering::SeqCst);
        assert_eq!((woken(&a), woken(&b), woken(&c)), (0, 1, 1));
        assert!(wait(&mut second, &b).is_ready());
        assert!(wait(&mut third, &c).is_ready());
        assert!(matches!(state.acquire(None), Err(NoSlot::ShuttingDown)));
    }
}
