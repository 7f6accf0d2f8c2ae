//! Incremental UTF-8 validation for text messages that arrive in pieces.
//!
//! A text message may be split across frames, and a frame across reads, at any byte, even in
//! the middle of a code point. RFC 6455 8.1 says an endpoint should fail the connection as soon
//! as the bytes it has cannot be the start of valid UTF-8, not when the message is complete;
//! Autobahn's 6.* cases check exactly that. So the validator keeps the at most three bytes of an
//! unfinished code point between calls and rejects a prefix that can never be completed (such as
//! `0xF4 0x90`) immediately. Bulk validation is `simdutf8`; the slow path runs only on a split
//! code point or on an error.

/// The bytes seen so far are not, and cannot become, valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

/// Validates a stream of bytes as UTF-8, piece by piece.
///
/// ```
/// use duplex_proto::Utf8Validator;
/// let mut v = Utf8Validator::new();
/// let euro = "€".as_bytes(); // e2 82 ac
/// v.feed(&euro[..1]).unwrap(); // an unfinished code point is fine for now
/// v.feed(&euro[1..]).unwrap();
/// assert!(v.finish().is_ok());
/// assert!(Utf8Validator::new().feed(&[0xf4, 0x90]).is_err()); // beyond U+10FFFF: fail fast
/// ```
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    pending: [u8; 4],
    pending_len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when the bytes fed so far end on a code point boundary.
    pub fn is_complete(&self) -> bool {
        self.pending_len == 0
    }

    /// Checks the next piece of the message.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), InvalidUtf8> {
        if self.pending_len > 0 {
            data = self.complete_pending(data)?;
            if self.pending_len > 0 {
                return Ok(());
            }
        }
        if simdutf8::basic::from_utf8(data).is_ok() {
            return Ok(());
        }
        match simdutf8::compat::from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(InvalidUtf8),
            Err(e) => {
                // The input ends in the middle of a code point whose prefix is valid so far.
                let tail = &data[e.valid_up_to()..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.pending_len = tail.len() as u8;
                Ok(())
            }
        }
    }

    /// Ends the message: fails if it stopped in the middle of a code point.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.is_complete();
        self.pending_len = 0;
        if complete {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }

    /// Adds bytes to the unfinished code point one at a time until it is whole, invalid, or the
    /// input runs out; returns the input that is left.
    fn complete_pending<'a>(&mut self, data: &'a [u8]) -> Result<&'a [u8], InvalidUtf8> {
        let mut used = 0;
        while used < data.len() {
            self.pending[self.pending_len as usize] = data[used];
            self.pending_len += 1;
            used += 1;
            match std::str::from_utf8(&self.pending[..self.pending_len as usize]) {
                Ok(_) => {
                    self.pending_len = 0;
                    break;
                }
                Err(e) if e.error_len().is_some() => return Err(InvalidUtf8),
                Err(_) => {}
            }
        }
        Ok(&data[used..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_agrees(bytes: &[u8]) {
        let expected = std::str::from_utf8(bytes).is_ok();
        for cut in 0..=bytes.len() {
            let mut v = Utf8Validator::new();
            let ok = v.feed(&bytes[..cut]).is_ok()
                && v.feed(&bytes[cut..]).is_ok()
                && v.finish().is_ok();
            assert_eq!(ok, expected, "{bytes:x?} cut at {cut}");
        }
        let mut v = Utf8Validator::new();
        let ok = bytes
            .iter()
            .all(|b| v.feed(std::slice::from_ref(b)).is_ok())
            && v.finish().is_ok();
        assert_eq!(ok, expected, "{bytes:x?} byte by byte");
    }

    #[test]
    fn agrees_with_std_at_every_split() {
        for s in [
            "",
            "a",
            "κόσμε",
            "€uro",
            "𝄞 music",
            "日本語テキスト",
            "\u{10ffff}",
        ] {
            split_agrees(s.as_bytes());
        }
        for bad in [
            &[
                0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80,
            ][..],
            &[0xf4, 0x90, 0x80, 0x80],
            &[0xc0, 0xaf],
            &[0xe0, 0x80, 0xaf],
            &[0xed, 0xa0, 0x80],
            &[0xff],
            &[0x80],
            &[0xe2, 0x82],
        ] {
            split_agrees(bad);
        }
    }

    #[test]
    fn fails_fast_on_an_impossible_prefix() {
        // Autobahn 6.4.*: the error must be seen before the rest of the message arrives.
        let mut v = Utf8Validator::new();
        v.feed("κόσμε".as_bytes()).unwrap();
        assert_eq!(v.feed(&[0xf4]), Ok(()));
        assert_eq!(v.feed(&[0x90]), Err(InvalidUtf8));
    }

    #[test]
    fn an_unfinished_code_point_fails_at_the_end() {
        let mut v = Utf8Validator::new();
        v.feed(&[0xe2, 0x82]).unwrap();
        assert_eq!(v.finish(), Err(InvalidUtf8));
    }
}
