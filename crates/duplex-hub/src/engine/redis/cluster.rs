//! One node's pub/sub on a Redis Cluster: the channels it listens to, the messages the cluster
//! pushes, and the cluster's health.
//!
//! With sharded pub/sub (Redis 7 and later, Valkey), a channel's messages live on the node that
//! owns the channel's slot, the same slot as its history, so the publish script's SPUBLISH and
//! the append happen on one node and a cluster of n primaries carries n times the pub/sub
//! traffic of one. Classic pub/sub (Redis 6.2) broadcasts every message to every node of the
//! cluster, which works everywhere but does not scale past one node's bandwidth; it is the
//! fallback when `sharded_pubsub` is off.
//!
//! redis-rs's cluster connection delivers messages as RESP3 pushes and resubscribes on its own
//! after a node reconnects or slots move, but a message published meanwhile is gone. So, as with
//! one server ([`super::subscriber`]), this listener reports unhealthy from the moment a node's
//! connection drops until every primary answers again, then subscribes its channels anew and
//! tells the hub which channels may have lost events, whose subscribers recover from history.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, ResponsePolicy, RoutingInfo};
use redis::{PushInfo, PushKind, Value};
use tokio::sync::mpsc::UnboundedReceiver;

use super::{bounded, subscriber, EngineError};
use crate::engine::BrokerEvents;

/// How often the cluster's primaries are pinged.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The pub/sub side of a Redis Cluster.
pub(super) struct ClusterListener {
    connection: ClusterConnection,
    /// The cluster connection's pushes; taken by [`run`](Self::run).
    pushes: Mutex<Option<UnboundedReceiver<PushInfo>>>,
    prefix: String,
    io_timeout: Duration,
    /// SSUBSCRIBE/SPUBLISH rather than SUBSCRIBE/PUBLISH.
    sharded: bool,
    /// The Redis channel names this node wants.
    channels: Mutex<HashSet<String>>,
    connected: AtomicBool,
}

impl ClusterListener {
    pub fn new(
        connection: ClusterConnection,
        pushes: UnboundedReceiver<PushInfo>,
        prefix: String,
        io_timeout: Duration,
        sharded: bool,
    ) -> Self {
        ClusterListener {
            connection,
            pushes: Mutex::new(Some(pushes)),
            prefix,
            io_timeout,
            sharded,
            channels: Mutex::new(HashSet::new()),
            connected: AtomicBool::new(false),
        }
    }

    /// Whether every primary answered the last check and no connection dropped since.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    fn lock_channels(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A panic while holding the lock leaves a plain set; keep using it.
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// SUBSCRIBE or SSUBSCRIBE `name` (one channel per command: sharded channels of one
    /// command must share a slot).
    async fn listen(&self, name: &str) -> Result<(), EngineError> {
        let mut connection = self.connection.clone();
        if self.sharded {
            bounded(self.io_timeout, connection.ssubscribe(name)).await
        } else {
            bounded(self.io_timeout, connection.subscribe(name)).await
        }
    }

    /// Listens to `channel` from now on.
    pub async fn subscribe(&self, channel: &str) -> Result<(), EngineError> {
        let name = &super::key(&self.prefix, channel, "c");
        if !self.lock_channels().insert(name.to_owned()) {
            return Ok(());
        }
        let result = if self.is_connected() {
            self.listen(name).await
        } else {
            Err(EngineError::Unavailable(
                "redis cluster: a node is unreachable".to_owned(),
            ))
        };
        if result.is_err() {
            self.lock_channels().remove(name);
        }
        result
    }

    /// Stops listening to `channel`.
    pub async fn unsubscribe(&self, channel: &str) -> Result<(), EngineError> {
        let name = &super::key(&self.prefix, channel, "c");
        if !self.lock_channels().remove(name) {
            return Ok(());
        }
        let mut connection = self.connection.clone();
        if self.sharded {
            bounded(self.io_timeout, connection.sunsubscribe(name)).await
        } else {
            bounded(self.io_timeout, connection.unsubscribe(name)).await
        }
    }

    /// Reads pushes and checks the cluster until the task is aborted.
    pub async fn run(self: Arc<Self>, events: Arc<dyn BrokerEvents>) {
        let Some(mut pushes) = self.pushes.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        let mut check = tokio::time::interval(CHECK_EVERY);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                push = pushes.recv() => match push {
                    Some(push) => self.on_push(events.as_ref(), push),
                    None => return,
                },
                _ = check.tick() => self.check(events.as_ref()).await,
            }
        }
    }

    fn on_push(&self, events: &dyn BrokerEvents, push: PushInfo) {
        match push.kind {
            PushKind::Message | PushKind::SMessage => {
                if let [Value::BulkString(name), Value::BulkString(payload)] = push.data.as_slice()
                {
                    if let Ok(name) = std::str::from_utf8(name) {
                        subscriber::deliver(events, &self.prefix, name, payload);
                    }
                }
            }
            PushKind::Disconnection if self.connected.swap(false, Ordering::AcqRel) => {
                tracing::warn!("redis cluster: a node's connection dropped");
            }
            // A sharded channel whose slot moved to another node: redis-rs subscribes it again
            // there, but what was published in between is lost.
            PushKind::SUnsubscribe => {
                let still_wanted = match push.data.first() {
                    Some(Value::BulkString(name)) => std::str::from_utf8(name)
                        .is_ok_and(|name| self.lock_channels().contains(name)),
                    _ => false,
                };
                if still_wanted {
                    self.connected.store(false, Ordering::Release);
                }
            }
            _ => {}
        }
    }

    /// Pings every primary; after a failure, the first success subscribes every channel again
    /// and reports them as possibly missing events.
    async fn check(&self, events: &dyn BrokerEvents) {
        let mut connection = self.connection.clone();
        let ping = connection.route_command(
            redis::cmd("PING"),
            RoutingInfo::MultiNode((
                MultipleNodeRoutingInfo::AllMasters,
                Some(ResponsePolicy::AllSucceeded),
            )),
        );
        if bounded(self.io_timeout, ping).await.is_err() {
            if self.connected.swap(false, Ordering::AcqRel) {
                tracing::warn!("redis cluster: a primary does not answer");
            }
            return;
        }
        if self.is_connected() {
            return;
        }
        let names: Vec<String> = self.lock_channels().iter().cloned().collect();
        for name in &names {
            if self.listen(name).await.is_err() {
                return;
            }
        }
        self.connected.store(true, Ordering::Release);
        tracing::debug!(channels = names.len(), "redis cluster: connected");
        subscriber::report_lost(events, &self.prefix, &names);
    }
}
