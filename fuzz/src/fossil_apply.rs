//! `fossil_apply`: duplex-hub's fossil delta applier on arbitrary source and delta, and the
//! encoder's round trip on arbitrary pairs.
//!
//! The applier will take deltas from the network (our Rust client applies what a hub sends),
//! so it must refuse any malformed delta with an error: no panic, no huge allocation from an
//! announced size, no copy outside the source. The encoder runs on every publication of a
//! delta channel, so it must be right and cheap on any pair.
//!
//! Input layout: byte 0's low bit picks the mode, bytes 1-2 (big-endian) where the rest is
//! split, modulo its length, into a first and a second part.
//! - apply (bit clear): `apply_fossil_delta(first, second)`. When it succeeds the result
//!   has the length the delta announced, and a delta made from it applies back to it.
//! - round trip (bit set): `fossil_delta(first, second)` applied to `first` gives `second`
//!   exactly, the delta is never much longer than `second` (one insert of all of it is
//!   always possible), and the delta cut in half is refused.

use duplex_hub::delta::{apply_fossil_delta, fossil_delta};

/// An insert of the whole target costs its bytes plus this much framing at most: size and
/// newline, count and colon, checksum and semicolon (numbers of at most 11 digits).
const MAX_OVERHEAD: usize = 3 * 11 + 3;

/// The target.
pub fn run(data: &[u8]) {
    let [control, high, low, rest @ ..] = data else {
        return;
    };
    let split = if rest.is_empty() {
        0
    } else {
        usize::from(u16::from_be_bytes([*high, *low])) % (rest.len() + 1)
    };
    let (first, second) = rest.split_at(split);
    if control & 1 == 0 {
        apply(first, second);
    } else {
        round_trip(first, second);
    }
}

fn apply(source: &[u8], delta: &[u8]) {
    let Ok(target) = apply_fossil_delta(source, delta) else {
        return;
    };
    assert_eq!(
        announced_size(delta),
        Some(target.len() as u64),
        "the result is not the size the delta announced"
    );
    let again = fossil_delta(source, &target);
    assert_eq!(
        apply_fossil_delta(source, &again).as_deref(),
        Ok(target.as_slice()),
        "our delta for an applied result does not give it back"
    );
}

fn round_trip(source: &[u8], target: &[u8]) {
    let delta = fossil_delta(source, target);
    assert!(
        delta.len() <= target.len() + MAX_OVERHEAD,
        "delta of {} bytes for a {}-byte target",
        delta.len(),
        target.len()
    );
    assert_eq!(
        apply_fossil_delta(source, &delta).as_deref(),
        Ok(target),
        "a delta does not give back its target"
    );
    // Cut short anywhere, a delta is refused: only its end command finishes it.
    let cut = delta.len() / 2;
    assert!(
        apply_fossil_delta(source, &delta[..cut]).is_err(),
        "a delta cut short was accepted"
    );
}

/// The size line of a delta: base-64 digits (`0-9A-Z_a-z~`) before the first newline.
fn announced_size(delta: &[u8]) -> Option<u64> {
    let end = delta.iter().position(|&b| b == b'\n')?;
    delta[..end].iter().try_fold(0u64, |size, &b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            b'_' => 36,
            b'a'..=b'z' => b - b'a' + 37,
            b'~' => 63,
            _ => return None,
        };
        size.checked_mul(64)?.checked_add(u64::from(digit))
    })
}
