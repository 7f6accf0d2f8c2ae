//! The loop's timers and its shutdown: once a second every connection is told the time (the
//! core decides pings, the idle close and the handshake and closing deadlines), and when the
//! server's shutdown begins every connection is closed with 1001.

use duplex_proto::Expired;

use super::drive::refuse;
use super::entry::{End, Phase};
use super::{EventLoop, Handler};
use crate::lifecycle::{self, unavailable};
use crate::shutdown::NoSlot;

impl EventLoop {
    /// Once a second: tells every connection the time, and acts on what ran out.
    pub(super) fn sweep<H: Handler>(&mut self, handler: &mut H) {
        let now = self.clock.now;
        let timeouts = self.policy.timeouts;
        for index in 0..self.table.capacity() as u32 {
            let Some(entry) = self.table.get_mut(index) else {
                continue;
            };
            // What the core queues (a ping, the idle close) must follow the broadcasts this
            // connection has yet to get.
            if entry.phase == Phase::Open && self.fanout.absorb(entry, index) {
                entry.mark_dirty(index, &mut self.dirty);
            }
            let queued = entry.conn.outgoing_len();
            let expired = match entry.conn.handle_timeout(now, &timeouts) {
                Ok(()) => {
                    if entry.conn.outgoing_len() > queued {
                        entry.mark_dirty(index, &mut self.dirty); // a keepalive ping
                    }
                    continue;
                }
                Err(expired) => expired,
            };
            match (entry.phase, expired) {
                (Phase::Handshake, _) => {
                    refuse(entry, &lifecycle::request_timeout(), now, &timeouts);
                    tracing::debug!("handshake failed: timed out");
                }
                (Phase::Open, Expired::Idle) => {
                    entry.set_end(End::Failed(lifecycle::PEER_IDLE));
                    entry.phase = Phase::Failing;
                }
                // Our close is out and the peer did not answer in time.
                (Phase::Open, _) => {
                    entry.set_end(End::Failed(lifecycle::CLOSE_TIMED_OUT));
                    entry.phase = Phase::Failing;
                }
                // A teardown past its deadline: `drive` ends it now.
                _ => {}
            }
            self.drive(index, handler);
        }
    }

    /// Stops accepting and starts closing every connection with 1001.
    pub(super) fn begin_shutdown<H: Handler>(&mut self, handler: &mut H) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        let now = self.clock.now;
        let timeouts = self.policy.timeouts;
        for index in 0..self.table.capacity() as u32 {
            let Some(entry) = self.table.get_mut(index) else {
                continue;
            };
            match entry.phase {
                Phase::Handshake => {
                    refuse(entry, &unavailable(NoSlot::ShuttingDown), now, &timeouts);
                }
                Phase::Open if entry.conn.can_send() => {
                    // `drive` below writes what this queues, after the broadcasts it is owed.
                    let _ = self.fanout.absorb(entry, index);
                    let _ = entry.conn.close(Some(lifecycle::shutting_down()));
                    let _ = entry.conn.poll_timeout(now, &timeouts);
                }
                _ => continue,
            }
            self.drive(index, handler);
        }
    }
}
