//! Exit statuses: how a run ended, as a number a script can test.
//!
//! The table is in `duplex connect --help`; this is the one place that computes it.

use duplex::CloseFrame;

/// The server ended the connection with a close code other than 1000 (normal).
#[derive(Debug)]
pub struct ClosedByPeer(pub Option<CloseFrame>);

impl std::fmt::Display for ClosedByPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(frame) if frame.reason.is_empty() => {
                write!(f, "closed by the server with code {}", frame.code.0)
            }
            Some(frame) => write!(
                f,
                "closed by the server with code {}: {}",
                frame.code.0, frame.reason
            ),
            None => write!(f, "closed by the server without a status code"),
        }
    }
}

impl std::error::Error for ClosedByPeer {}

/// A hub ended the connection for good (`duplex subscribe`): its disconnect code, or the error
/// code of a refused connect, and what the hub said, already phrased for a person.
#[derive(Debug)]
pub struct HubClosed {
    /// The close code (3500-3999, 4500-4999) or error code (100-1999).
    pub code: u32,
    /// The whole message.
    pub message: String,
}

impl std::fmt::Display for HubClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HubClosed {}

/// The error and its causes on one line, leaving out a cause the text already shows (the
/// library's errors often print their source as part of their own message).
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}

/// The exit status for an error: 1 in general, otherwise derived from the close code.
pub fn exit_status(error: &anyhow::Error) -> u8 {
    if let Some(ClosedByPeer(frame)) = error.downcast_ref() {
        return close_status(frame.as_ref().map_or(1005, |f| f.code.0));
    }
    if let Some(HubClosed { code, .. }) = error.downcast_ref() {
        return u16::try_from(*code).map_or(1, close_status);
    }
    if let Some(duplex::Error::AbnormalClosure) = error.downcast_ref() {
        return close_status(1006);
    }
    1
}

/// 1001-1015 map to 101-115; application codes to 3 (3000-3999) or 4 (4000-4999).
fn close_status(code: u16) -> u8 {
    match code {
        1000 => 0,
        1001..=1015 => (code - 900) as u8,
        3000..=3999 => 3,
        4000..=4999 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_shown_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error = anyhow::Error::new(duplex::Error::Connect {
            addr: "127.0.0.1:1".into(),
            source: io,
        });
        assert_eq!(
            describe(&error),
            "could not connect to 127.0.0.1:1: refused"
        );
        let error = anyhow::anyhow!("inner").context("outer");
        assert_eq!(describe(&error), "outer: inner");
    }

    #[test]
    fn statuses() {
        let closed = |code: u16| anyhow::Error::new(ClosedByPeer(Some(CloseFrame::new(code, ""))));
        assert_eq!(exit_status(&closed(1001)), 101);
        assert_eq!(exit_status(&closed(1011)), 111);
        assert_eq!(exit_status(&closed(3000)), 3);
        assert_eq!(exit_status(&closed(4000)), 4);
        assert_eq!(exit_status(&anyhow::Error::new(ClosedByPeer(None))), 105);
        assert_eq!(exit_status(&duplex::Error::AbnormalClosure.into()), 106);
        assert_eq!(exit_status(&anyhow::anyhow!("anything else")), 1);
        let hub = |code| {
            anyhow::Error::new(HubClosed {
                code,
                message: String::new(),
            })
        };
        assert_eq!(exit_status(&hub(3500)), 3);
        assert_eq!(exit_status(&hub(4501)), 4);
        assert_eq!(exit_status(&hub(109)), 1);
    }
}
