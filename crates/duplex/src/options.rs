//! The driver's limits and timers, with the defaults we ship and why.
//!
//! The protocol's own limits (frame and message size) are [`duplex_proto::Config`]; these are
//! the ones that need a clock or a socket: how long to wait, how often to ping, how much to
//! buffer for a peer that does not read.

use std::time::Duration;

/// What to do when a peer reads slower than we send and its queue passes
/// [`Options::max_buffered`].
///
/// `send`, `feed` and `flush` always wait for the socket, so this only decides the
/// non-waiting paths: [`WebSocketWriter::try_send_prepared`](crate::WebSocketWriter::try_send_prepared)
/// and [`Broadcaster`](crate::Broadcaster), where one stalled receiver must not hold up the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlowConsumer {
    /// Report the queue as full and queue nothing; the caller may wait and retry.
    Wait,
    /// Drop the message for this receiver only, and count it.
    Drop,
    /// Close the connection with 1008 (policy violation) "slow consumer". The default: a
    /// receiver that silently misses messages is worse than one that knows to reconnect.
    #[default]
    Close,
}

/// What became of a frame offered without waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Queued; it is being written.
    Queued,
    /// The receiver's queue is full ([`SlowConsumer::Wait`]): nothing was queued.
    Full,
    /// The receiver's queue is full ([`SlowConsumer::Drop`]): dropped for this receiver.
    Dropped,
    /// The connection is closing or closed (perhaps by [`SlowConsumer::Close`] just now).
    Closed,
}

/// Options of the driver.
///
/// ```
/// use std::time::Duration;
/// use duplex::{Options, SlowConsumer};
/// let options = Options::default()
///     .ping_interval(Some(Duration::from_secs(10)))
///     .idle_timeout(Some(Duration::from_secs(25)))
///     .slow_consumer(SlowConsumer::Drop);
/// assert_eq!(options.max_buffered, 4 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// How long to wait for the peer's part of the closing handshake. Default 5 s: a peer on a
    /// slow mobile link answers well within that; a dead one should not hold a socket longer.
    pub close_timeout: Duration,
    /// `feed` writes once this many bytes are queued. Default 64 KiB: large enough to coalesce
    /// hundreds of small messages into one syscall, small enough to stay in cache.
    pub write_buffer_size: usize,
    /// Most bytes queued for one peer before [`SlowConsumer`] applies. Default 4 MiB: several
    /// seconds of a busy feed for one receiver.
    pub max_buffered: usize,
    /// Policy for a peer whose queue is full. Default [`SlowConsumer::Close`].
    pub slow_consumer: SlowConsumer,
    /// Send a ping after this long without hearing from the peer. Default 30 s, under the idle
    /// timeouts of common proxies and NATs (often 60 s).
    pub ping_interval: Option<Duration>,
    /// Close (1001 "idle timeout") after this long without a single byte from the peer.
    /// Default 60 s: two missed pongs.
    pub idle_timeout: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            close_timeout: Duration::from_secs(5),
            write_buffer_size: 64 * 1024,
            max_buffered: 4 << 20,
            slow_consumer: SlowConsumer::Close,
            ping_interval: Some(Duration::from_secs(30)),
            idle_timeout: Some(Duration::from_secs(60)),
        }
    }
}

impl Options {
    /// Sets the closing-handshake timeout.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Sets how many queued bytes make `feed` write.
    pub fn write_buffer_size(mut self, bytes: usize) -> Self {
        self.write_buffer_size = bytes;
        self
    }

    /// Sets the most bytes queued for a peer before the slow-consumer policy applies.
    pub fn max_buffered(mut self, bytes: usize) -> Self {
        self.max_buffered = bytes;
        self
    }

    /// Sets the slow-consumer policy.
    pub fn slow_consumer(mut self, policy: SlowConsumer) -> Self {
        self.slow_consumer = policy;
        self
    }

    /// Sets (or, with `None`, turns off) automatic pings.
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Sets (or, with `None`, turns off) the idle timeout.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }
}
