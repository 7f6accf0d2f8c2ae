//! Advancing one connection of the loop as far as its socket allows: its handshake, its open
//! life (parse, call the handler, write, read again) and its teardown.
//!
//! The protocol and its timers are the core's and the policy (slow consumers, backlog, the
//! teardown order, refusals) is `lifecycle.rs`, shared with the tokio driver; this file only
//! moves bytes between them and the non-blocking socket, and calls the [`Handler`].

use duplex_proto::{Event, HandshakeError};

use super::entry::{End, Entry, Phase, Read};
use super::{EventLoop, Handler, READ_BUDGET};
use crate::error::Error;
use crate::lifecycle;

/// What reading the request came to.
pub(super) enum Handshake {
    /// More of the request is yet to come.
    Wait,
    Opened,
    /// Answered with an HTTP error, being written.
    Refused,
    /// The client went away or the socket failed: nothing to answer.
    Gone(Error),
}

/// What one step of an open connection came to.
enum Open {
    /// Parsed an event (and acted on it): look again.
    Again,
    /// Read more bytes: parse them.
    Read,
    /// Nothing more to do until the socket's next event.
    Wait,
}

impl EventLoop {
    /// Advances one connection as far as its socket allows.
    pub(super) fn drive<H: Handler>(&mut self, index: u32, handler: &mut H) {
        let mut budget = READ_BUDGET;
        loop {
            let Some(entry) = self.table.get_mut(index) else {
                return;
            };
            match entry.phase {
                Phase::Handshake => match self.handshake(index) {
                    Handshake::Wait => return,
                    Handshake::Opened => self.call(index, |h, socket| h.on_open(socket), handler),
                    Handshake::Refused => {}
                    Handshake::Gone(e) => {
                        tracing::debug!("handshake failed: {e}");
                        self.remove(index);
                        return;
                    }
                },
                Phase::Open => match self.drive_open(index, &mut budget, handler) {
                    Open::Again | Open::Read => {}
                    Open::Wait => return,
                },
                Phase::Rejecting | Phase::Closing | Phase::Failing => {
                    return self.drive_teardown(index, handler)
                }
            }
        }
    }

    /// One step of an open connection: an event parsed and handled, or a read.
    fn drive_open<H: Handler>(&mut self, index: u32, budget: &mut u32, handler: &mut H) -> Open {
        let Some(entry) = self.table.get_mut(index) else {
            return Open::Wait;
        };
        // Past max_buffered (a peer that sends but does not read), neither parse nor read
        // until the socket takes the queue: its writable event resumes.
        if lifecycle::is_backlogged(&entry.conn, &self.policy.options) {
            if let Err(e) = entry.flush() {
                self.finish(index, End::Failed(e.into()), handler);
                return Open::Wait;
            }
            if lifecycle::is_backlogged(&entry.conn, &self.policy.options) {
                return Open::Wait;
            }
        }
        match entry.receive() {
            Ok(Some(Event::Message(message))) => {
                self.call(index, |h, socket| h.on_message(socket, message), handler);
                return Open::Again;
            }
            Ok(Some(Event::Close(frame))) => {
                entry.set_end(End::Closed(frame));
                entry.phase = Phase::Closing;
                // Our answer leaves with the batch's other writes, and the teardown follows
                // it there (`flush_dirty`).
                if entry.conn.outgoing_len() > 0 {
                    entry.mark_dirty(index, &mut self.dirty);
                    return Open::Wait;
                }
                return Open::Again;
            }
            Ok(Some(Event::Ping(_) | Event::Pong(_))) => return Open::Again,
            Ok(None) => {}
            Err(e) => {
                entry.set_end(End::Failed(e.into()));
                entry.phase = Phase::Failing;
                return Open::Again;
            }
        }
        self.read_more(index, budget, handler)
    }

    /// Everything read was parsed: write what it queued, then read again if the socket may
    /// have more and the connection has budget left.
    fn read_more<H: Handler>(&mut self, index: u32, budget: &mut u32, handler: &mut H) -> Open {
        let Some(entry) = self.table.get_mut(index) else {
            return Open::Wait;
        };
        // The socket has nothing more: what this read's messages queued (for this connection
        // and others) leaves with the rest of the batch's writes.
        if entry.drained {
            if entry.conn.outgoing_len() > 0 {
                entry.mark_dirty(index, &mut self.dirty);
            }
            entry.settle();
            return Open::Wait;
        }
        // It will read again: what this read queued leaves first, as the task-per-connection
        // relay does, so that no queue grows by more than one read's worth at a time.
        if !self.dirty.is_empty() || !self.fanout.is_empty() {
            self.flush_dirty(handler);
        }
        let now = self.clock.now;
        let Some(entry) = self.table.get_mut(index) else {
            return Open::Wait;
        };
        if let Err(e) = entry.flush() {
            self.finish(index, End::Failed(e.into()), handler);
            return Open::Wait;
        }
        if lifecycle::is_backlogged(&entry.conn, &self.policy.options) {
            return Open::Wait;
        }
        if *budget == 0 {
            self.unfinished.push(index);
            return Open::Wait;
        }
        *budget -= 1;
        match entry.read() {
            Read::Bytes => {
                entry.conn.handle_input(now);
                Open::Read
            }
            Read::WouldBlock => Open::Wait,
            Read::Eof => {
                self.finish(index, End::Failed(Error::AbnormalClosure), handler);
                Open::Wait
            }
            Read::Error(e) => {
                self.finish(index, End::Failed(e.into()), handler);
                Open::Wait
            }
        }
    }

    /// Writes what is left and closes, then tells the handler (a refused handshake never
    /// opened, so it hears nothing).
    fn drive_teardown<H: Handler>(&mut self, index: u32, handler: &mut H) {
        let now = self.clock.now;
        let Some(entry) = self.table.get_mut(index) else {
            return;
        };
        let expired = entry.conn.is_overdue(now);
        if !entry.teardown(expired) {
            return;
        }
        let Some(id) = self.table.id_of(index) else {
            return;
        };
        let Some(mut entry) = self.remove(index) else {
            return;
        };
        if entry.phase != Phase::Rejecting {
            let end = entry
                .take_end()
                .unwrap_or(End::Failed(Error::AlreadyClosed));
            self.report_close(id, end, handler);
        }
    }

    /// Reads and answers the request: the 101 (queued, written with the first flush) or a
    /// refusal.
    fn handshake(&mut self, index: u32) -> Handshake {
        let now = self.clock.now;
        let Some(entry) = self.table.get_mut(index) else {
            return Handshake::Wait;
        };
        loop {
            match entry.request(self.max_head) {
                Ok(Some(request)) => {
                    return match self.server.apply_policy(&request) {
                        Ok(accepted) => {
                            entry
                                .conn
                                .outgoing()
                                .put_slice(&accepted.response(&request));
                            if let Some((params, config)) = &accepted.deflate {
                                entry.conn.enable_deflate(params, config);
                            }
                            entry.set_protocol(accepted.protocol);
                            entry.phase = Phase::Open;
                            // Broadcasts made before it opened are not for it.
                            entry.absorbed = self.fanout.len() as u16;
                            entry.conn.handle_open(now);
                            Handshake::Opened
                        }
                        Err(e) => {
                            refuse(entry, &e, now, &self.policy.timeouts);
                            Handshake::Refused
                        }
                    };
                }
                Ok(None) => {}
                Err(e) => {
                    refuse(entry, &e, now, &self.policy.timeouts);
                    return Handshake::Refused;
                }
            }
            if entry.drained {
                return Handshake::Wait;
            }
            match entry.read() {
                Read::Bytes => {}
                Read::WouldBlock => return Handshake::Wait,
                Read::Eof => {
                    return Handshake::Gone(lifecycle::closed_during_request().into());
                }
                Read::Error(e) => return Handshake::Gone(e.into()),
            }
        }
    }
}

/// Queues an HTTP refusal and moves the connection to writing it and closing.
pub(super) fn refuse(
    entry: &mut Entry,
    e: &HandshakeError,
    now: u32,
    timeouts: &duplex_proto::Timeouts,
) {
    tracing::debug!("handshake refused: {e}");
    if let Some(response) = e.response() {
        entry.conn.outgoing().put_slice(&response);
    }
    entry.phase = Phase::Rejecting;
    entry.conn.begin_teardown(now, timeouts);
}
