//! Whether a live publication follows the last one this node delivered in its channel.
//!
//! Engines in the process never lose an event, but a networked one can: Redis pub/sub drops
//! what is published while a node's subscriber connection is down, or when it cuts a reader
//! that fell behind. The publications are still in the channel's history, so nothing is lost
//! for good — unless a subscriber is handed the next publication as if nothing happened, and
//! its position jumps past the hole. So the fan-out compares each publication's offset with
//! the last one the channel delivered here: the next one goes out; one already seen is
//! dropped; anything else (a hole, or another epoch) sends the channel's subscribers back to
//! history, where they recover exactly what they missed.

use std::sync::Arc;

/// The last position this node delivered in a channel.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    epoch: Arc<str>,
    offset: u64,
}

/// What a publication is, against what the channel delivered before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Continuity {
    /// The next one (or the first this node sees, or one without history): deliver it.
    Follows,
    /// Delivered already: drop it.
    Seen,
    /// Something was missed before it: the subscribers must recover from history.
    Gap,
}

/// Checks `offset` in `epoch` against `seen`, and moves `seen` to it unless it was seen.
/// Offset 0 is a publication without history: there is nothing to check.
pub(super) fn check(seen: &mut Option<Seen>, epoch: &str, offset: u64) -> Continuity {
    if offset == 0 {
        return Continuity::Follows;
    }
    let verdict = match seen.as_ref() {
        None => Continuity::Follows,
        Some(last) if *last.epoch != *epoch => Continuity::Gap,
        Some(last) if offset <= last.offset => return Continuity::Seen,
        Some(last) if offset == last.offset + 1 => Continuity::Follows,
        Some(_) => Continuity::Gap,
    };
    match seen {
        Some(last) if *last.epoch == *epoch => last.offset = offset,
        _ => {
            *seen = Some(Seen {
                epoch: Arc::from(epoch),
                offset,
            })
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_offset_follows_a_hole_or_a_new_epoch_is_a_gap_and_a_repeat_is_seen() {
        let mut seen = None;
        assert_eq!(check(&mut seen, "e1", 5), Continuity::Follows, "first");
        assert_eq!(check(&mut seen, "e1", 6), Continuity::Follows);
        assert_eq!(check(&mut seen, "e1", 6), Continuity::Seen);
        assert_eq!(check(&mut seen, "e1", 3), Continuity::Seen);
        assert_eq!(check(&mut seen, "e1", 9), Continuity::Gap, "7 and 8 missed");
        assert_eq!(check(&mut seen, "e1", 10), Continuity::Follows, "from 9 on");
        assert_eq!(check(&mut seen, "e2", 1), Continuity::Gap, "a new epoch");
        assert_eq!(check(&mut seen, "e2", 2), Continuity::Follows);
        assert_eq!(check(&mut seen, "", 0), Continuity::Follows, "no history");
        assert_eq!(check(&mut seen, "e2", 3), Continuity::Follows);
    }
}
