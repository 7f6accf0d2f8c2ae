//! `utf8_split`: [`Utf8Validator`] against `std::str::from_utf8`, on bytes cut anywhere.
//!
//! Input: one chunking control byte (see [`Chunks`]), then the bytes. After each piece the
//! validator must agree with `std` about the prefix fed so far: it fails exactly when the
//! prefix can no longer become valid UTF-8 (std reports an error with a known length, not
//! merely a truncated code point), and it is "complete" exactly when the prefix is valid.
//! At the end, `finish` succeeds exactly when the whole input is valid.

use duplex_proto::Utf8Validator;

use crate::input::{Chunks, Input};

/// The target.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let chunking = input.byte();
    let bytes = input.rest();

    let mut validator = Utf8Validator::new();
    let mut fed = 0;
    for piece in Chunks::new(bytes, chunking) {
        fed += piece.len();
        let prefix = std::str::from_utf8(&bytes[..fed]);
        let doomed = matches!(&prefix, Err(e) if e.error_len().is_some());
        match validator.feed(piece) {
            Ok(()) => {
                assert!(
                    !doomed,
                    "accepted {:02x?}, which std rejects",
                    &bytes[..fed]
                );
                assert_eq!(
                    validator.is_complete(),
                    prefix.is_ok(),
                    "{:02x?}",
                    &bytes[..fed]
                );
            }
            Err(_) => {
                assert!(
                    doomed,
                    "rejected {:02x?}, which may still become valid",
                    &bytes[..fed]
                );
                return;
            }
        }
    }
    assert_eq!(
        validator.finish().is_ok(),
        std::str::from_utf8(bytes).is_ok(),
        "{bytes:02x?}"
    );
}
