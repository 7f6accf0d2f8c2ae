//! `close_payload`: [`CloseFrame::parse`] on arbitrary bytes.
//!
//! Whatever parses must encode back to the very same bytes (when it fits a control frame)
//! and parse again to the same frame; what fails must fail for a reason the bytes show.

use duplex_proto::{CloseFrame, ProtocolError, SendError};

/// The target: the whole input is the close frame's payload.
pub fn run(data: &[u8]) {
    match CloseFrame::parse(data) {
        Ok(None) => assert!(data.is_empty()),
        Ok(Some(frame)) => {
            assert!(frame.code.is_sendable());
            assert_eq!(frame.reason.as_bytes(), &data[2..]);
            match frame.encode() {
                Ok(encoded) => {
                    assert!(data.len() <= 125);
                    assert_eq!(&encoded[..], data);
                    assert_eq!(CloseFrame::parse(&encoded), Ok(Some(frame)));
                }
                Err(err) => {
                    // Only an over-long reason (more than a control frame holds) may fail.
                    assert!(data.len() > 125);
                    assert_eq!(err, SendError::ControlPayloadTooBig(data.len()));
                }
            }
        }
        Err(ProtocolError::InvalidClosePayload) => assert_eq!(data.len(), 1),
        Err(ProtocolError::InvalidCloseCode(code)) => {
            assert_eq!(code.to_be_bytes(), data[..2]);
        }
        Err(ProtocolError::InvalidUtf8) => assert!(std::str::from_utf8(&data[2..]).is_err()),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}
