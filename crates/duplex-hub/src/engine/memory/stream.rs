//! One channel's history stream in memory: a window of the newest publications over a run of
//! offsets that only grows within an epoch.
//!
//! Publications enter at the back and leave only from the front (trimmed by size or expired by
//! ttl), so the kept offsets are always contiguous, ending at the top; reads index into the deque
//! by offset instead of searching, and a gap is detected by comparing with the oldest kept offset.

use std::collections::VecDeque;
use std::time::Instant;

use super::new_epoch;
use crate::engine::{
    EngineError, HistoryPage, HistoryQuery, Publication, StreamOptions, StreamPosition,
};

/// A kept publication and the instant it expires.
#[derive(Debug)]
struct Kept {
    publication: Publication,
    expires: Instant,
}

/// A channel's stream: its epoch, the last offset assigned and the publications still kept.
#[derive(Debug)]
pub(super) struct Stream {
    epoch: String,
    top: u64,
    kept: VecDeque<Kept>,
    /// When the epoch and top are forgotten unless published to or read again.
    meta_expires: Instant,
}

impl Stream {
    /// A new incarnation with a fresh epoch and no offset assigned yet.
    pub(super) fn new(now: Instant, options: &StreamOptions) -> Self {
        Stream {
            epoch: new_epoch(),
            top: 0,
            kept: VecDeque::new(),
            meta_expires: now + options.meta_keep(),
        }
    }

    /// The stream's top: last offset assigned, current epoch.
    pub(super) fn position(&self) -> StreamPosition {
        StreamPosition {
            offset: self.top,
            epoch: self.epoch.clone(),
        }
    }

    /// Whether the meta is past its ttl: the stream must be forgotten, and the next access
    /// starts a new epoch.
    pub(super) fn is_forgotten(&self, now: Instant) -> bool {
        self.meta_expires <= now
    }

    /// Whether no publication is kept (after [`Stream::expire`]).
    pub(super) fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// Drops publications past their ttl. Only from the front, so offsets stay contiguous: if a
    /// namespace's ttl shrank, a newer publication with the shorter ttl waits for the older ones.
    pub(super) fn expire(&mut self, now: Instant) {
        while self.kept.front().is_some_and(|kept| kept.expires <= now) {
            self.kept.pop_front();
        }
    }

    /// Keeps the meta alive for the stream's meta ttl from now.
    pub(super) fn touch(&mut self, now: Instant, options: &StreamOptions) {
        self.meta_expires = self.meta_expires.max(now + options.meta_keep());
    }

    /// Appends a publication at the next offset, trims to `size`, and returns the position
    /// with the publication as kept (offset set).
    pub(super) fn append(
        &mut self,
        mut publication: Publication,
        now: Instant,
        options: &StreamOptions,
    ) -> (StreamPosition, Publication) {
        self.expire(now);
        self.top += 1;
        publication.offset = self.top;
        self.kept.push_back(Kept {
            publication: publication.clone(),
            expires: now + options.ttl,
        });
        while self.kept.len() > options.size {
            self.kept.pop_front();
        }
        self.touch(now, options);
        (self.position(), publication)
    }

    /// Drops every kept publication; epoch and top stay, as centrifuge's memory engine does.
    pub(super) fn clear(&mut self) {
        self.kept.clear();
    }

    /// Reads per the query; the caller has expired the stream first.
    pub(super) fn read(&self, query: &HistoryQuery) -> Result<HistoryPage, EngineError> {
        let limit = query.limit.unwrap_or(usize::MAX);
        // Kept offsets are `first..=top`, contiguous; `first` is top + 1 when nothing is kept.
        let first = self.top + 1 - self.kept.len() as u64;
        // The deque index range [start, end) that the query may return, before the limit.
        let (start, end) = match &query.since {
            None => (0, self.kept.len()),
            Some(since) => {
                if since.epoch != self.epoch || since.offset > self.top {
                    return Err(EngineError::UnrecoverablePosition);
                }
                if query.reverse {
                    // Paging back: whatever is kept before `since`; the start of history is not
                    // a gap.
                    let end = since.offset.saturating_sub(first);
                    (
                        0,
                        usize::try_from(end)
                            .unwrap_or(usize::MAX)
                            .min(self.kept.len()),
                    )
                } else {
                    // Recovery: every offset after `since` must still be kept.
                    if since.offset + 1 < first {
                        return Err(EngineError::UnrecoverablePosition);
                    }
                    let start = usize::try_from(since.offset + 1 - first).unwrap_or(usize::MAX);
                    (start.min(self.kept.len()), self.kept.len())
                }
            }
        };
        let window = self.kept.range(start..end).map(|kept| &kept.publication);
        let publications = if query.reverse {
            window.rev().take(limit).cloned().collect()
        } else {
            window.take(limit).cloned().collect()
        };
        Ok(HistoryPage {
            position: self.position(),
            publications,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn filled(count: u64, size: usize) -> Stream {
        let now = Instant::now();
        let options = StreamOptions::new(size, Duration::from_secs(60));
        let mut stream = Stream::new(now, &options);
        for n in 0..count {
            let publication = Publication {
                data: n.to_string().into(),
                ..Publication::default()
            };
            stream.append(publication, now, &options);
        }
        stream
    }

    fn offsets(page: &HistoryPage) -> Vec<u64> {
        page.publications.iter().map(|p| p.offset).collect()
    }

    fn since(stream: &Stream, offset: u64, reverse: bool) -> Result<HistoryPage, EngineError> {
        let query = HistoryQuery {
            since: Some(StreamPosition {
                offset,
                epoch: stream.epoch.clone(),
            }),
            limit: None,
            reverse,
        };
        stream.read(&query)
    }

    #[test]
    fn trimmed_stream_keeps_contiguous_newest_offsets() {
        let stream = filled(10, 4);
        let page = stream.read(&HistoryQuery::default()).unwrap();
        assert_eq!(offsets(&page), [7, 8, 9, 10]);
        assert_eq!(page.position.offset, 10);
    }

    #[test]
    fn forward_since_at_the_edge_of_the_window_is_not_a_gap() {
        let stream = filled(10, 4);
        assert_eq!(offsets(&since(&stream, 6, false).unwrap()), [7, 8, 9, 10]);
        assert_eq!(
            since(&stream, 5, false),
            Err(EngineError::UnrecoverablePosition)
        );
        assert_eq!(
            offsets(&since(&stream, 10, false).unwrap()),
            Vec::<u64>::new()
        );
    }

    #[test]
    fn reverse_since_pages_back_to_the_oldest_kept() {
        let stream = filled(10, 4);
        assert_eq!(offsets(&since(&stream, 9, true).unwrap()), [8, 7]);
        assert_eq!(
            offsets(&since(&stream, 7, true).unwrap()),
            Vec::<u64>::new()
        );
        assert_eq!(
            offsets(&since(&stream, 3, true).unwrap()),
            Vec::<u64>::new()
        );
    }

    #[test]
    fn cleared_stream_keeps_epoch_and_top() {
        let mut stream = filled(3, 10);
        let before = stream.position();
        stream.clear();
        assert_eq!(stream.position(), before);
        assert_eq!(
            offsets(&since(&stream, 3, false).unwrap()),
            Vec::<u64>::new()
        );
        assert_eq!(
            since(&stream, 2, false),
            Err(EngineError::UnrecoverablePosition)
        );
    }
}
