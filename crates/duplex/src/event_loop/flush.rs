//! The end of a batch of events: what the callbacks queued leaves in one batch of writes.
//!
//! The batch is built in a pass that only reads the connections' queues (the sends borrow
//! their bytes, see `sends.rs`), submitted, and only then are the queues advanced past what
//! the sockets took, in a second pass over the results; the borrow checker keeps the two
//! apart.

use std::io::IoSlice;
use std::os::fd::AsRawFd;

use bytes::Buf;

use super::entry::{End, Phase};
use super::{EventLoop, Handler};
use crate::io::MAX_IOVECS;

impl EventLoop {
    /// Writes what the batch queued: its broadcasts, then the queues of the connections marked
    /// dirty, all in one submission (see `sends.rs`); then drives the connections that are
    /// closing and flushes again those whose send failed (to meet the error) or did not fit
    /// one write. Callbacks that these run may queue more, so it goes on until nothing is left.
    pub(super) fn flush_dirty<H: Handler>(&mut self, handler: &mut H) {
        loop {
            self.fanout
                .publish(&mut self.table, &mut self.sends, &mut self.dirty);
            if self.dirty.is_empty() {
                return;
            }
            let mut later = std::mem::take(&mut self.later);
            for &index in &self.dirty {
                let Some(entry) = self.table.get_mut(index) else {
                    continue;
                };
                entry.dirty = false;
                // Closing connections are driven after the batch (to tear down), but what
                // they have queued (a close frame, most often) goes with it.
                if entry.phase != Phase::Open {
                    later.push(index);
                }
            }
            let mut batch = self.sends.batch();
            for &index in &self.dirty {
                let Some(entry) = self.table.get(index) else {
                    continue;
                };
                let out = entry.conn.queued_output();
                if entry.phase == Phase::Handshake || out.is_empty() {
                    continue;
                }
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let count = out.chunks_vectored(&mut slices);
                batch.push(index, 0, entry.stream.as_raw_fd(), &slices[..count]);
            }
            self.dirty.clear();
            for send in self.sends.submit(batch) {
                let Some(entry) = self.table.get_mut(send.index) else {
                    continue;
                };
                match send.result() {
                    Ok(n) => {
                        let out = entry.conn.outgoing();
                        out.advance(n);
                        if out.is_empty() {
                            entry.conn.shrink_when_idle();
                        } else if n == send.total && entry.phase == Phase::Open {
                            later.push(send.index); // more chunks than one write takes
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    // The flush (or the teardown) after the batch meets the error again.
                    Err(_) if entry.phase == Phase::Open => later.push(send.index),
                    Err(_) => {}
                }
            }
            for index in later.drain(..) {
                let Some(entry) = self.table.get_mut(index) else {
                    continue;
                };
                if entry.phase != Phase::Open {
                    self.drive(index, handler);
                } else if let Err(e) = entry.flush() {
                    self.finish(index, End::Failed(e.into()), handler);
                }
            }
            self.later = later;
        }
    }
}
