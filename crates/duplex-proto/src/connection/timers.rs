//! Time as an input: the keepalive ping, the idle close, the closing-handshake deadline and the
//! opening-handshake deadline, decided here so that every driver behaves alike.
//!
//! The core still reads no clock. A driver picks its own unit (the tokio driver counts
//! milliseconds, the event loop whole seconds, so that its connections carry no timer object),
//! passes `now` as a count of that unit, and gives the limits in the same unit through
//! [`Timeouts`]. The counts may wrap (a `u32` of milliseconds does after 49 days): every
//! comparison is a wrapping difference, which is right for any limit under 2^31 units.
//!
//! The shape is quinn-proto's: [`Connection::poll_timeout`] says when the connection next
//! needs attention, [`Connection::handle_timeout`] acts when told the time. Limits live in one
//! shared [`Timeouts`] passed by reference rather than in every connection, which would cost
//! each of them 24 bytes for values all connections of a server share.

use std::time::Duration;

use super::Connection;
use crate::close::{CloseCode, CloseFrame};

/// The liveness limits of a server's or client's connections, in the driver's unit of time.
///
/// Built from durations and the length of one unit; durations round up to whole units and the
/// deadlines (idle, closing, handshake) gain one more, because a reading of `now` may lag the
/// true time by up to one unit: a deadline is then never early, and at most one unit late. The
/// ping interval gets no extra unit: a keepalive ping a little early does no harm, and with
/// the event loop's whole seconds one more would make a 1 s interval 2 s.
///
/// ```
/// use std::time::Duration;
/// use duplex_proto::Timeouts;
///
/// // The event loop counts whole seconds.
/// let timeouts = Timeouts::new(Duration::from_secs(1))
///     .ping_interval(Some(Duration::from_secs(30)))
///     .idle_timeout(Some(Duration::from_millis(59_500)))
///     .close_timeout(Duration::from_secs(5));
/// assert_eq!(timeouts.idle(), Some(61)); // 60 whole seconds, and one for the coarse clock
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    unit: Duration,
    ping: Option<u32>,
    idle: Option<u32>,
    close: u32,
    handshake: u32,
}

impl Timeouts {
    /// Limits for a clock whose `now` counts `unit`s, with nothing set: no pings, no idle close,
    /// and no time at all for the closing or opening handshake (set them).
    pub fn new(unit: Duration) -> Self {
        Timeouts {
            unit: unit.max(Duration::from_nanos(1)),
            ping: None,
            idle: None,
            close: 1,
            handshake: 1,
        }
    }

    /// Sends a ping after this long without hearing from the peer (or since the last ping).
    pub fn ping_interval(mut self, every: Option<Duration>) -> Self {
        self.ping = every.map(|d| self.units(d).saturating_sub(1).max(1));
        self
    }

    /// Closes with 1001 "idle timeout" after this long without a byte from the peer.
    pub fn idle_timeout(mut self, after: Option<Duration>) -> Self {
        self.idle = after.map(|d| self.units(d));
        self
    }

    /// How long the peer has to answer our close (and the transport to be torn down).
    pub fn close_timeout(mut self, after: Duration) -> Self {
        self.close = self.units(after);
        self
    }

    /// How long a client has to send its whole opening request.
    pub fn handshake_timeout(mut self, after: Duration) -> Self {
        self.handshake = self.units(after);
        self
    }

    /// The ping interval, in units.
    pub fn ping(&self) -> Option<u32> {
        self.ping
    }

    /// The idle limit, in units.
    pub fn idle(&self) -> Option<u32> {
        self.idle
    }

    /// The closing-handshake limit, in units.
    pub fn close(&self) -> u32 {
        self.close
    }

    /// The opening-handshake limit, in units.
    pub fn handshake(&self) -> u32 {
        self.handshake
    }

    /// The length of one unit.
    pub fn unit(&self) -> Duration {
        self.unit
    }

    /// True when `at` has come by `now` on the driver's wrapping clock: the comparison every
    /// deadline here uses, for a driver that keeps one of them (in a timer, say).
    ///
    /// ```
    /// use duplex_proto::Timeouts;
    /// assert!(Timeouts::reached(10, 10));
    /// assert!(!Timeouts::reached(9, 10));
    /// assert!(Timeouts::reached(5, u32::MAX - 5)); // across the wrap
    /// ```
    pub fn reached(now: u32, at: u32) -> bool {
        reached(now, at)
    }

    /// A duration in whole units, rounded up, plus one (see the type's documentation); capped
    /// below 2^30 so that wrapping comparisons stay right.
    fn units(&self, d: Duration) -> u32 {
        let whole = d.as_nanos().div_ceil(self.unit.as_nanos());
        u32::try_from(whole.saturating_add(1))
            .unwrap_or(u32::MAX)
            .min(1 << 30)
    }
}

/// A limit that ran out, as [`Connection::handle_timeout`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// The opening request did not arrive in time: answer 408 and close.
    Handshake,
    /// Nothing heard from the peer for the idle limit: our close (1001 "idle timeout") is
    /// queued; tear down as after a failure.
    Idle,
    /// The peer did not answer our close (or the teardown did not finish) in time: close the
    /// transport now.
    Closing,
}

/// Which deadline is armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Deadline {
    None,
    Handshake,
    Closing,
}

/// The close an idle connection gets.
pub const IDLE_CLOSE: (CloseCode, &str) = (CloseCode::GOING_AWAY, "idle timeout");

/// `a` is at or after `b` on a wrapping clock.
fn reached(now: u32, at: u32) -> bool {
    (now.wrapping_sub(at) as i32) >= 0
}

impl Connection {
    /// Starts the opening-handshake deadline, for a server that makes its connection before
    /// reading the request (the event loop does: its connection slot is the `Connection`).
    pub fn expect_handshake(&mut self, now: u32, timeouts: &Timeouts) {
        self.deadline = now.wrapping_add(timeouts.handshake);
        self.deadline_for = Deadline::Handshake;
    }

    /// The handshake is done: the keepalive counts from `now`. Call it once, when the
    /// connection opens (a connection never told so counts from its creation at 0).
    pub fn handle_open(&mut self, now: u32) {
        if self.deadline_for == Deadline::Handshake {
            self.deadline_for = Deadline::None;
        }
        self.heard_at = now;
        self.quiet_since = now;
    }

    /// Bytes arrived from the peer at `now`: it is alive, and needs no ping for a while.
    pub fn handle_input(&mut self, now: u32) {
        self.heard_at = now;
        self.quiet_since = now;
    }

    /// The transport is ending without a closing handshake of its own (a refused opening
    /// request, say): bound the time left to write the answer and close.
    pub fn begin_teardown(&mut self, now: u32, timeouts: &Timeouts) {
        self.deadline = now.wrapping_add(timeouts.close);
        self.deadline_for = Deadline::Closing;
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called, in the driver's
    /// unit; `None` when nothing is timed.
    ///
    /// Call it after input and commands as well as after timeouts: a close that has started
    /// since the last call (ours, the peer's, or a failure) gets its deadline here, counted
    /// from `now`. A driver whose clock is coarse may instead rely on calling
    /// `handle_timeout` regularly, which arms it the same way.
    pub fn poll_timeout(&mut self, now: u32, timeouts: &Timeouts) -> Option<u32> {
        self.arm_closing(now, timeouts);
        if self.deadline_for != Deadline::None {
            return Some(self.deadline);
        }
        let idle = timeouts.idle.map(|idle| self.heard_at.wrapping_add(idle));
        let ping = timeouts
            .ping
            .map(|every| self.quiet_since.wrapping_add(every));
        match (idle, ping) {
            (Some(idle), Some(ping)) => Some(if reached(ping, idle) { idle } else { ping }),
            (one, other) => one.or(other),
        }
    }

    /// Acts on the time: queues a keepalive ping when one is due, starts the idle close, or
    /// reports a deadline that passed. Calling it early or often is harmless.
    ///
    /// ```
    /// use std::time::Duration;
    /// use duplex_proto::{Connection, Config, Expired, Role, Timeouts};
    ///
    /// let timeouts = Timeouts::new(Duration::from_secs(1))
    ///     .ping_interval(Some(Duration::from_secs(10)))
    ///     .idle_timeout(Some(Duration::from_secs(20)));
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// server.handle_open(100);
    /// assert_eq!(server.poll_timeout(100, &timeouts), Some(110));
    /// assert_eq!(server.handle_timeout(110, &timeouts), Ok(())); // a ping is queued
    /// assert_eq!(server.outgoing_len(), 2);
    /// assert_eq!(server.handle_timeout(121, &timeouts), Err(Expired::Idle)); // 1001 queued
    /// assert!(!server.can_send());
    /// ```
    pub fn handle_timeout(&mut self, now: u32, timeouts: &Timeouts) -> Result<(), Expired> {
        self.arm_closing(now, timeouts);
        match self.deadline_for {
            Deadline::Handshake if reached(now, self.deadline) => return Err(Expired::Handshake),
            Deadline::Closing if reached(now, self.deadline) => return Err(Expired::Closing),
            Deadline::None => {}
            Deadline::Handshake | Deadline::Closing => return Ok(()),
        }
        if timeouts
            .idle
            .is_some_and(|idle| reached(now, self.heard_at.wrapping_add(idle)))
        {
            let (code, reason) = IDLE_CLOSE;
            let _ = self.close(Some(CloseFrame::new(code, reason)));
            self.arm_closing(now, timeouts);
            return Err(Expired::Idle);
        }
        if timeouts
            .ping
            .is_some_and(|every| reached(now, self.quiet_since.wrapping_add(every)))
        {
            let _ = self.ping(b"");
            self.quiet_since = now;
        }
        Ok(())
    }

    /// True when a close has started (ours, the peer's, or a failure) whose deadline the next
    /// [`poll_timeout`](Self::poll_timeout) will arm: until then, the next deadline can only
    /// have moved later since the last call (input postpones the keepalive), so a driver whose
    /// timer is still pending at the deadline it was given has nothing to look at.
    pub fn has_unarmed_deadline(&self) -> bool {
        let closing = self.close_sent || self.close_received || self.failed;
        closing && self.deadline_for == Deadline::None
    }

    /// True once the armed deadline (handshake or closing) has passed at `now`.
    pub fn is_overdue(&self, now: u32) -> bool {
        self.deadline_for != Deadline::None && reached(now, self.deadline)
    }

    /// Arms the closing deadline once a close is under way (sent, received or failed).
    fn arm_closing(&mut self, now: u32, timeouts: &Timeouts) {
        let closing = self.close_sent || self.close_received || self.failed;
        if closing && self.deadline_for == Deadline::None {
            self.deadline = now.wrapping_add(timeouts.close);
            self.deadline_for = Deadline::Closing;
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::{Buf, BytesMut};

    use super::*;
    use crate::{Config, Event, Role};

    fn millis() -> Timeouts {
        Timeouts::new(Duration::from_millis(1))
            .ping_interval(Some(Duration::from_secs(30)))
            .idle_timeout(Some(Duration::from_secs(60)))
            .close_timeout(Duration::from_secs(5))
            .handshake_timeout(Duration::from_secs(10))
    }

    fn open_server(now: u32) -> Connection {
        let mut conn = Connection::new(Role::Server, Config::default());
        conn.handle_open(now);
        conn
    }

    fn take_out(conn: &mut Connection) -> Vec<u8> {
        let out = conn.outgoing();
        out.copy_to_bytes(out.remaining()).to_vec()
    }

    #[test]
    fn a_quiet_peer_is_pinged_then_closed_with_1001() {
        let t = millis();
        let mut conn = open_server(0);
        assert_eq!(conn.poll_timeout(0, &t), Some(30_000));
        assert_eq!(conn.handle_timeout(29_999, &t), Ok(()));
        assert!(take_out(&mut conn).is_empty(), "not yet due");
        assert_eq!(conn.handle_timeout(30_000, &t), Ok(()));
        assert_eq!(take_out(&mut conn), [0x89, 0x00], "an empty ping");
        // The next ping counts from this one; the idle close from the last byte heard.
        assert_eq!(conn.poll_timeout(30_000, &t), Some(60_000));
        assert_eq!(conn.handle_timeout(60_000, &t), Ok(()));
        assert_eq!(take_out(&mut conn), [0x89, 0x00], "a second ping");
        assert_eq!(conn.handle_timeout(60_001, &t), Err(Expired::Idle));
        assert_eq!(take_out(&mut conn)[..4], [0x88, 14, 0x03, 0xe9]);
        // Now the peer has the close timeout to answer.
        assert_eq!(conn.poll_timeout(60_001, &t), Some(65_002));
        assert_eq!(conn.handle_timeout(65_001, &t), Ok(()));
        assert_eq!(conn.handle_timeout(65_002, &t), Err(Expired::Closing));
    }

    #[test]
    fn input_postpones_both_the_ping_and_the_idle_close() {
        let t = millis();
        let mut conn = open_server(0);
        conn.handle_input(29_000);
        assert_eq!(conn.handle_timeout(30_001, &t), Ok(()));
        assert!(take_out(&mut conn).is_empty());
        assert_eq!(conn.poll_timeout(30_001, &t), Some(59_000));
    }

    #[test]
    fn our_close_gets_a_deadline_from_the_first_call_that_sees_it() {
        let t = millis();
        let mut conn = open_server(0);
        conn.close(None).unwrap();
        assert_eq!(conn.poll_timeout(1_000, &t), Some(6_001));
        // Later calls keep the deadline where it was.
        assert_eq!(conn.poll_timeout(2_000, &t), Some(6_001));
        assert!(!conn.is_overdue(6_000));
        assert!(conn.is_overdue(6_001));
    }

    #[test]
    fn a_received_close_bounds_the_teardown_too() {
        let t = millis();
        let mut conn = open_server(0);
        let mut wire = BytesMut::from(&[0x88, 0x80, 0, 0, 0, 0][..]);
        assert!(matches!(
            conn.receive(&mut wire),
            Ok(Some(Event::Close(None)))
        ));
        assert_eq!(conn.handle_timeout(10, &t), Ok(()));
        assert_eq!(conn.handle_timeout(5_011, &t), Err(Expired::Closing));
    }

    #[test]
    fn the_opening_handshake_has_its_own_deadline() {
        let t = millis();
        let mut conn = Connection::new(Role::Server, Config::default());
        conn.expect_handshake(500, &t);
        assert_eq!(conn.poll_timeout(500, &t), Some(10_501));
        assert_eq!(conn.handle_timeout(10_500, &t), Ok(()));
        assert_eq!(conn.handle_timeout(10_501, &t), Err(Expired::Handshake));
        // Opening in time clears it, and the keepalive starts.
        conn.handle_open(10_000);
        assert_eq!(conn.poll_timeout(10_000, &t), Some(40_000));
    }

    #[test]
    fn the_clock_may_wrap() {
        let t = millis();
        let start = u32::MAX - 10_000;
        let mut conn = open_server(start);
        let due = start.wrapping_add(30_000);
        assert_eq!(conn.poll_timeout(start, &t), Some(due));
        assert_eq!(conn.handle_timeout(due.wrapping_sub(1), &t), Ok(()));
        assert!(take_out(&mut conn).is_empty());
        assert_eq!(conn.handle_timeout(due, &t), Ok(()));
        assert_eq!(take_out(&mut conn), [0x89, 0x00]);
    }

    #[test]
    fn nothing_is_timed_without_limits() {
        let t = Timeouts::new(Duration::from_millis(1));
        let mut conn = open_server(0);
        assert_eq!(conn.poll_timeout(0, &t), None);
        assert_eq!(conn.handle_timeout(u32::MAX / 2, &t), Ok(()));
    }

    #[test]
    fn coarse_units_round_up_and_add_one() {
        let secs = Timeouts::new(Duration::from_secs(1)).close_timeout(Duration::from_millis(1));
        assert_eq!(secs.close(), 2);
        let secs = secs.close_timeout(Duration::ZERO);
        assert_eq!(secs.close(), 1);
    }
}
