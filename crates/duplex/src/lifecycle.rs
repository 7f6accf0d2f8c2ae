//! What both drivers decide alike about a connection's life, written once: the limits in the
//! driver's unit of time, the slow-consumer rule, the teardown sequence, and every close frame,
//! refusal and timeout a server gives.
//!
//! The protocol core ([`duplex_proto::Connection`]) keeps the protocol and its timers; this
//! file holds the rest of the policy that is not I/O. The tokio driver (`driver.rs`,
//! `server.rs`) and the event loop (`event_loop/`) only move bytes and call in here, so a fix
//! to how a connection ends is made once and both drivers answer a peer the same way.

use std::time::Duration;

use duplex_proto::{CloseCode, CloseFrame, Connection, HandshakeError, Role, Timeouts};

use crate::error::Error;
use crate::options::{Delivery, Options, SlowConsumer};
use crate::shutdown::NoSlot;

/// A driver's options with its timers converted to the unit of its clock. Shared by every
/// connection of a server (or a client) behind one `Arc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) options: Options,
    pub(crate) timeouts: Timeouts,
}

impl Policy {
    /// The tokio driver counts milliseconds since the connection began.
    pub(crate) const MILLIS: Duration = Duration::from_millis(1);
    /// The event loop counts whole seconds: its connections carry `u32` deadlines that one sweep
    /// a second compares, and no timer object.
    #[cfg_attr(not(all(unix, feature = "event-loop")), allow(dead_code))] // the loop's
    pub(crate) const SECONDS: Duration = Duration::from_secs(1);

    pub(crate) fn new(options: Options, handshake_timeout: Duration, unit: Duration) -> Self {
        let timeouts = Timeouts::new(unit)
            .ping_interval(options.ping_interval)
            .idle_timeout(options.idle_timeout)
            .close_timeout(options.close_timeout)
            .handshake_timeout(handshake_timeout);
        Policy { options, timeouts }
    }
}

/// What the slow-consumer rule says about offering a frame to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Queue it.
    Queue,
    /// Do not queue it; report this ([`Delivery::Full`] or [`Delivery::Dropped`]).
    Refuse(Delivery),
    /// Close the connection with [`slow_consumer`]; report [`Delivery::Closed`].
    Close,
}

/// The slow-consumer rule: a frame may join a queue that is empty (however large the frame) or
/// that stays within [`Options::max_buffered`] with it; otherwise the policy decides.
pub(crate) fn admit(queued: usize, frame_len: usize, options: &Options) -> Admission {
    if queued == 0 || queued + frame_len <= options.max_buffered {
        return Admission::Queue;
    }
    match options.slow_consumer {
        SlowConsumer::Wait => Admission::Refuse(Delivery::Full),
        SlowConsumer::Drop => Admission::Refuse(Delivery::Dropped),
        SlowConsumer::Close => Admission::Close,
    }
}

/// True while a peer that sends but does not read has more queued than we hold for it: the
/// driver then neither parses nor reads until the socket takes the queue, which bounds the
/// queue whatever one read brought (a read can be hundreds of KiB of pings).
pub(crate) fn is_backlogged(conn: &Connection, options: &Options) -> bool {
    conn.outgoing_len() > options.max_buffered
}

/// The close a slow consumer gets: 1008 "slow consumer".
pub(crate) fn slow_consumer() -> CloseFrame {
    CloseFrame::new(CloseCode::POLICY_VIOLATION, "slow consumer")
}

/// The close every open connection gets when its server shuts down: 1001.
pub(crate) fn shutting_down() -> CloseFrame {
    CloseFrame::new(CloseCode::GOING_AWAY, "server shutting down")
}

/// The error a connection ends with when the peer did not answer our close in time.
pub(crate) const CLOSE_TIMED_OUT: Error = Error::Timeout("closing handshake");
/// The error a connection ends with when the peer went quiet past the idle limit.
pub(crate) const PEER_IDLE: Error = Error::Timeout("peer idle");
/// The error a server's handshake ends with when the request was too slow (after the 408).
pub(crate) const HANDSHAKE_TIMED_OUT: Error = Error::Timeout("handshake");

/// The 503 refusal for a full or stopping server.
pub(crate) fn unavailable(why: NoSlot) -> HandshakeError {
    HandshakeError::BadRequest {
        status: 503,
        reason: "Service Unavailable",
        detail: match why {
            NoSlot::Full => "too many connections; try again shortly".into(),
            NoSlot::ShuttingDown => "the server is shutting down".into(),
        },
    }
}

/// The 408 refusal for a request that took longer than the handshake timeout.
pub(crate) fn request_timeout() -> HandshakeError {
    HandshakeError::BadRequest {
        status: 408,
        reason: "Request Timeout",
        detail: "the handshake took too long".into(),
    }
}

/// What a server's handshake ends with when the client leaves before its request is whole.
pub(crate) fn closed_during_request() -> HandshakeError {
    HandshakeError::Malformed("connection closed during the request".into())
}

/// The next thing to do to end a transport after the closing handshake, a failure or a
/// refusal. Both drivers loop on [`Teardown::next`], do the step, report what happened, and
/// ask again, so the order (and what a peer sees) is the same under both.
///
/// A server that failed the connection sends FIN right after its close frame: the peer may
/// never complete the frame we gave up on, so its close reply could be hidden inside that
/// frame's remaining length. Reading on until the peer closes too means nothing unread is left
/// in our receive buffer, which would turn our close into a reset (FIELD-NOTES: Node `ws` then
/// reports 1006). A client waits for the server to close TCP first (RFC 6455 7.1.1).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Teardown {
    /// Our side of TCP is shut down (FIN sent).
    pub(crate) write_shut: bool,
    /// The peer's end of stream (or a read error) was seen.
    pub(crate) eof: bool,
    /// A write failed: nothing more can be sent, so close.
    pub(crate) broken: bool,
}

/// One step of a [`Teardown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Write what is queued (our close frame, an HTTP refusal).
    Flush,
    /// Send FIN now, before reading on.
    ShutdownWrite,
    /// Read and discard (through the core) until the peer is done.
    Drain,
    /// Close the transport.
    Close,
}

impl Teardown {
    /// The next step for `conn`. `refused`: the handshake was refused and only the HTTP answer
    /// is left to write. `expired`: the deadline passed, so nothing more is waited for.
    pub(crate) fn next(&self, conn: &Connection, refused: bool, expired: bool) -> Step {
        if self.broken {
            return Step::Close;
        }
        if conn.outgoing_len() > 0 && !expired {
            return Step::Flush;
        }
        if refused || expired || self.eof {
            return Step::Close;
        }
        let is_server = conn.role() == Role::Server;
        if is_server && conn.is_failed() && !self.write_shut {
            return Step::ShutdownWrite;
        }
        // A server closes TCP once the peer is done sending; a client waits for the server to
        // close first, and so does a failed server that already sent FIN.
        let wait_for_eof = !is_server || self.write_shut;
        if wait_for_eof || !conn.is_receive_done() {
            return Step::Drain;
        }
        Step::Close
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use duplex_proto::Config;

    use super::*;

    #[test]
    fn the_slow_consumer_rule_lets_an_empty_queue_take_any_frame() {
        let options = Options::default().max_buffered(100);
        assert_eq!(admit(0, 1_000, &options), Admission::Queue);
        assert_eq!(admit(50, 50, &options), Admission::Queue);
        assert_eq!(admit(50, 51, &options), Admission::Close);
        let wait = options.slow_consumer(SlowConsumer::Wait);
        assert_eq!(admit(50, 51, &wait), Admission::Refuse(Delivery::Full));
        let drop = options.slow_consumer(SlowConsumer::Drop);
        assert_eq!(admit(50, 51, &drop), Admission::Refuse(Delivery::Dropped));
    }

    #[test]
    fn a_server_closing_cleanly_flushes_then_closes_once_the_peer_is_done() {
        let mut conn = Connection::new(Role::Server, Config::default());
        let mut wire = BytesMut::from(&[0x88, 0x80, 0, 0, 0, 0][..]);
        let _ = conn.receive(&mut wire);
        let teardown = Teardown::default();
        assert_eq!(
            teardown.next(&conn, false, false),
            Step::Flush,
            "our close reply"
        );
        let out = conn.outgoing();
        bytes::Buf::advance(out, bytes::Buf::remaining(out));
        assert_eq!(teardown.next(&conn, false, false), Step::Close);
    }

    #[test]
    fn a_failed_server_sends_fin_then_drains_until_the_peer_closes() {
        let mut conn = Connection::new(Role::Server, Config::default());
        let mut wire = BytesMut::from(&[0x81, 0x05][..]); // unmasked: a protocol error
        assert!(conn.receive(&mut wire).is_err());
        let out = conn.outgoing();
        bytes::Buf::advance(out, bytes::Buf::remaining(out));
        let mut teardown = Teardown::default();
        assert_eq!(teardown.next(&conn, false, false), Step::ShutdownWrite);
        teardown.write_shut = true;
        assert_eq!(teardown.next(&conn, false, false), Step::Drain);
        teardown.eof = true;
        assert_eq!(teardown.next(&conn, false, false), Step::Close);
    }

    #[test]
    fn a_client_waits_for_the_servers_end_of_stream_unless_time_is_up() {
        let mut conn = Connection::new(Role::Client, Config::default());
        conn.close(None).unwrap();
        let out = conn.outgoing();
        bytes::Buf::advance(out, bytes::Buf::remaining(out));
        let teardown = Teardown::default();
        assert_eq!(teardown.next(&conn, false, false), Step::Drain);
        assert_eq!(teardown.next(&conn, false, true), Step::Close);
    }

    #[test]
    fn a_refusal_is_written_then_closed() {
        let mut conn = Connection::new(Role::Server, Config::default());
        conn.outgoing()
            .put_slice(b"HTTP/1.1 503 Service Unavailable\r\n\r\n");
        let teardown = Teardown::default();
        assert_eq!(teardown.next(&conn, true, false), Step::Flush);
        assert_eq!(
            teardown.next(&conn, true, true),
            Step::Close,
            "no more waiting"
        );
    }
}
