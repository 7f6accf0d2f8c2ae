//! Limits and switches for one connection, with the defaults we ship.
//!
//! Every limit lives here, in one type, so a server operator can see them all at once and a
//! test can set them small. Defaults are generous enough for Autobahn's 16 MiB frames and tight
//! enough that a peer cannot make us buffer more than 64 MiB for a message.

/// Configuration of one WebSocket connection.
///
/// ```
/// use duplex_proto::Config;
/// let config = Config::default().max_message_size(1 << 20).auto_pong(false);
/// assert_eq!(config.max_message_size, 1 << 20);
/// assert_eq!(config.max_frame_size, 1 << 20); // a frame never exceeds the message limit
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest frame payload accepted; bigger frames fail the connection with 1009.
    /// Default 16 MiB.
    pub max_frame_size: usize,
    /// Largest message accepted, summed over its fragments; bigger messages fail the connection
    /// with 1009 as soon as the announced lengths exceed it. Default 64 MiB.
    pub max_message_size: usize,
    /// Answer pings with pongs automatically. Default on.
    pub auto_pong: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            auto_pong: true,
        }
    }
}

impl Config {
    /// Sets the largest frame payload accepted.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self.max_message_size = self.max_message_size.max(bytes);
        self
    }

    /// Sets the largest message accepted (and lowers the frame limit to match if needed).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self.max_frame_size = self.max_frame_size.min(bytes);
        self
    }

    /// Turns automatic pongs on or off.
    pub fn auto_pong(mut self, on: bool) -> Self {
        self.auto_pong = on;
        self
    }
}
