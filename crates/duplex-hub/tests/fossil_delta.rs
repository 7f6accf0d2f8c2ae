//! Fossil deltas: what the hub encodes, an SDK can apply — and a delta that is wrong in any
//! way is refused by the applier, never a panic or a silently wrong result.

use duplex_hub::delta::{apply_fossil_delta, fossil_delta, DeltaError};
use proptest::prelude::*;

/// Made with the `fossil-delta` npm package 2.0.0 (the JavaScript port of Fossil's delta.c)
/// and checked both ways: Node applies our delta of these inputs, we apply its delta. The
/// same cross-check passed once by hand on 300 random similar pairs (binary and 4-letter).
const SOURCE: &[u8] = br#"{"id":7,"title":"Fossil delta vector","body":"The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog.","tags":["alpha","beta","gamma"],"count":41}"#;
const TARGET: &[u8] = br#"{"id":7,"title":"Fossil delta vector","body":"The quick brown fox jumps over the lazy cat. The quick brown fox jumps over the lazy dog!","tags":["alpha","beta","gamma","delta"],"count":42}"#;
const NPM_DELTA: &[u8] = b"2x\n1M@0,5:cat. g@j,1:!W@27,L:,\"delta\"],\"count\":42}MwC2A;";

#[test]
fn applies_a_delta_made_by_the_reference_encoder() {
    assert_eq!(apply_fossil_delta(SOURCE, NPM_DELTA).unwrap(), TARGET);
}

#[test]
fn encodes_the_reference_vector() {
    // Any valid delta would do; ours happens to match Fossil's here, byte for byte, which pins
    // the number alphabet, the command syntax and the checksum.
    assert_eq!(fossil_delta(SOURCE, TARGET), NPM_DELTA);
}

#[test]
fn small_change_gives_small_delta() {
    let delta = fossil_delta(SOURCE, TARGET);
    assert!(
        delta.len() < TARGET.len() / 3,
        "{}",
        String::from_utf8_lossy(&delta)
    );
    assert_eq!(apply_fossil_delta(SOURCE, &delta).unwrap(), TARGET);
}

#[test]
fn empty_and_tiny_inputs() {
    for (source, target) in [
        (&b""[..], &b""[..]),
        (b"", b"x"),
        (b"x", b""),
        (b"abc", b"abc"),
        (&[0u8; 100][..], &[0u8; 1000][..]),
    ] {
        let delta = fossil_delta(source, target);
        assert_eq!(apply_fossil_delta(source, &delta).unwrap(), target);
    }
    // The empty target: size 0, no commands, checksum 0.
    assert_eq!(fossil_delta(b"anything", b""), b"0\n0;");
}

#[test]
fn every_truncation_is_refused() {
    let delta = fossil_delta(SOURCE, TARGET);
    for len in 0..delta.len() {
        assert!(
            apply_fossil_delta(SOURCE, &delta[..len]).is_err(),
            "prefix {len}"
        );
    }
}

#[test]
fn corruption_is_refused() {
    let delta = fossil_delta(SOURCE, TARGET);
    // Another source: the copies fetch other bytes, and the checksum notices.
    let mut other = SOURCE.to_vec();
    other[60] ^= 1;
    assert_eq!(
        apply_fossil_delta(&other, &delta),
        Err(DeltaError::Checksum)
    );
    // A copy past the source's end.
    assert_eq!(
        apply_fossil_delta(b"short", b"5\n5@1,0;"),
        Err(DeltaError::CopyOutOfRange)
    );
    // More output than announced, less output than announced.
    assert_eq!(
        apply_fossil_delta(b"", b"1\n2:ab0;"),
        Err(DeltaError::TooLong)
    );
    assert_eq!(
        apply_fossil_delta(b"", b"3\n2:ab0;"),
        Err(DeltaError::TooShort)
    );
    // A number too large for 64 bits, an unknown command, a missing separator.
    assert!(matches!(
        apply_fossil_delta(b"", b"~~~~~~~~~~~~\n0;"),
        Err(DeltaError::BadNumber(0))
    ));
    assert!(matches!(
        apply_fossil_delta(b"", b"0\n0!"),
        Err(DeltaError::Unexpected { byte: b'!', .. })
    ));
    assert!(matches!(
        apply_fossil_delta(b"abc", b"3\n3@0;"),
        Err(DeltaError::Unexpected { byte: b';', .. })
    ));
}

/// A target made from the source by a few edits: the case deltas are for.
fn similar_pair() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    (
        proptest::collection::vec(any::<u8>(), 0..2000),
        proptest::collection::vec(
            (
                any::<prop::sample::Index>(),
                0..40usize,
                proptest::collection::vec(any::<u8>(), 0..20),
            ),
            0..8,
        ),
    )
        .prop_map(|(source, edits)| {
            let mut target = source.clone();
            for (at, remove, insert) in edits {
                let start = if target.is_empty() {
                    0
                } else {
                    at.index(target.len())
                };
                let end = (start + remove).min(target.len());
                target.splice(start..end, insert);
            }
            (source, target)
        })
}

proptest! {
    #[test]
    fn round_trip_unrelated(source in proptest::collection::vec(any::<u8>(), 0..600),
                            target in proptest::collection::vec(any::<u8>(), 0..600)) {
        let delta = fossil_delta(&source, &target);
        prop_assert_eq!(apply_fossil_delta(&source, &delta).unwrap(), target);
    }

    #[test]
    fn round_trip_similar((source, target) in similar_pair()) {
        let delta = fossil_delta(&source, &target);
        prop_assert_eq!(apply_fossil_delta(&source, &delta).unwrap(), target);
    }

    #[test]
    fn round_trip_repetitive(unit in proptest::collection::vec(0u8..3, 1..5), n in 0usize..500, m in 0usize..500) {
        let source: Vec<u8> = unit.iter().copied().cycle().take(n).collect();
        let target: Vec<u8> = unit.iter().copied().cycle().skip(1).take(m).collect();
        let delta = fossil_delta(&source, &target);
        prop_assert_eq!(apply_fossil_delta(&source, &delta).unwrap(), target);
    }

    #[test]
    fn garbage_never_panics(source in proptest::collection::vec(any::<u8>(), 0..64),
                            delta in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = apply_fossil_delta(&source, &delta);
    }

    #[test]
    fn mutated_delta_never_panics((source, target) in similar_pair(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut delta = fossil_delta(&source, &target);
        let i = at.index(delta.len());
        delta[i] = byte;
        // Either refused, or (when the byte did not matter) exactly the target.
        if let Ok(out) = apply_fossil_delta(&source, &delta) {
            prop_assert_eq!(out, target);
        }
    }
}
