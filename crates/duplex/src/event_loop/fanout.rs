//! The broadcasts of one batch of events, held once for all their receivers.
//!
//! Queuing a broadcast on each receiver costs each one a queue slot per message until the
//! write: 10,000 receivers of a 50-message read hold 500,000 references at the peak of every
//! burst, tens of MB for bytes that are the same for all of them. Here the batch's frames are
//! copied once into shared chunks, and when the batch ends each open connection's view of them
//! (every frame but its own) leaves straight from there in one vectored write. Only what a
//! socket does not take is queued on its connection, by reference, so memory under load is
//! the backlog of the receivers that are actually behind.
//!
//! Order: a connection gets the batch's broadcasts after whatever was queued on it before
//! them, and before whatever is queued after them: anything queued on one connection during
//! the batch (a reply, a close) first [`absorb`](Fanout::absorb)s the broadcasts it has not
//! got yet into its own queue. Control frames the protocol core answers with (pongs) may go
//! ahead of the batch, which RFC 6455 allows between messages.

use std::io::IoSlice;

use bytes::{Bytes, BytesMut};

use std::os::fd::AsRawFd;

use super::entry::{Entry, Phase};
use super::sends::Sends;
use super::table::Table;
use crate::io::MAX_IOVECS;

/// Frames shorter than this are copied into the batch's shared chunk; longer ones are kept by
/// reference as chunks of their own.
const COPY_BELOW: usize = 4096;

/// A batch this large is written at once instead of waiting for the batch's end (it bounds
/// the memory a callback that broadcasts in a loop can hold, and keeps `Entry::absorbed`
/// small).
const MAX_FRAMES: usize = 4096;
const MAX_BYTES: usize = 256 * 1024;

/// `Frame::except` when every open connection gets the frame.
const EVERYONE: u32 = u32::MAX;

/// What `publish` notes on a send, to find the connection's view again with its result.
fn tag(from: usize, excepted: bool) -> u32 {
    from as u32 | (excepted as u32) << 31
}

fn untag(tag: u32) -> (usize, bool) {
    ((tag & !(1 << 31)) as usize, tag >> 31 == 1)
}

/// One broadcast: where its bytes are, and the connection that does not get it.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Index into `Fanout::chunks`; `chunks.len()` is the chunk still being filled.
    chunk: u32,
    start: u32,
    end: u32,
    except: u32,
}

/// The batch's broadcasts, in order.
#[derive(Debug, Default)]
pub(crate) struct Fanout {
    chunks: Vec<Bytes>,
    /// Small frames gathered since the last sealed chunk.
    filling: BytesMut,
    frames: Vec<Frame>,
    bytes: usize,
}

impl Fanout {
    /// Frames waiting to be written.
    pub(crate) fn len(&self) -> usize {
        self.frames.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Bytes waiting to be written (what a receiver with nothing else queued will get, at
    /// most).
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// True when the batch should be written now rather than at its end.
    pub(crate) fn is_full(&self) -> bool {
        self.frames.len() >= MAX_FRAMES || self.bytes >= MAX_BYTES
    }

    /// Adds a frame for every open connection but `except`; returns its position.
    pub(crate) fn push(&mut self, bytes: &Bytes, except: Option<u32>) -> usize {
        let (chunk, start, end) = if bytes.len() < COPY_BELOW {
            let start = self.filling.len();
            self.filling.extend_from_slice(bytes);
            (self.chunks.len(), start, self.filling.len())
        } else {
            self.seal();
            self.chunks.push(bytes.clone());
            (self.chunks.len() - 1, 0, bytes.len())
        };
        self.frames.push(Frame {
            chunk: chunk as u32,
            start: start as u32,
            end: end as u32,
            except: except.unwrap_or(EVERYONE),
        });
        self.bytes += bytes.len();
        self.frames.len() - 1
    }

    /// Moves the frames `entry` (slot `index`) has not got yet, up to position `until`, into
    /// its own queue (by reference), so that what is queued on it next comes after them.
    /// Returns true if it queued bytes: the caller must see that the queue gets written (the
    /// batch's end no longer writes them for this connection).
    #[must_use]
    pub(crate) fn absorb_until(&mut self, entry: &mut Entry, index: u32, until: usize) -> bool {
        let from = entry.absorbed as usize;
        if from >= until {
            return false;
        }
        entry.absorbed = until as u16;
        if entry.phase != Phase::Open || !entry.conn.can_send() {
            return false;
        }
        self.seal();
        let out = entry.conn.outgoing();
        let before = out.len();
        self.for_each_range(index, from, until, entry.excepted, |chunk, start, end| {
            out.put_by_reference(chunk.slice(start..end));
            true
        });
        out.len() > before
    }

    /// [`absorb_until`](Self::absorb_until) everything pushed so far.
    #[must_use]
    pub(crate) fn absorb(&mut self, entry: &mut Entry, index: u32) -> bool {
        self.absorb_until(entry, index, self.frames.len())
    }

    /// Writes the batch to every open connection that has not got it, then forgets it.
    /// Connections that must still be written (their view went into their queue behind what
    /// was there, or their send failed, so that flushing them reports the error) are pushed
    /// on `dirty`.
    pub(crate) fn publish(&mut self, table: &mut Table, sends: &mut Sends, dirty: &mut Vec<u32>) {
        if self.frames.is_empty() {
            return;
        }
        self.seal();
        // From here to the end of the results the chunks are only read: the sends borrow them.
        let this = &*self;
        let until = this.frames.len();
        let mut batch = sends.batch();
        for index in 0..table.capacity() as u32 {
            let Some(entry) = table.get_mut(index) else {
                continue;
            };
            let from = entry.absorbed as usize;
            let excepted = entry.excepted;
            entry.absorbed = 0;
            entry.excepted = false;
            if from >= until || entry.phase != Phase::Open || !entry.conn.can_send() {
                continue;
            }
            // Straight from the shared chunks when nothing else waits in its queue.
            if entry.conn.outgoing_len() == 0 {
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let (mut count, mut fits) = (0, true);
                this.for_each_range(index, from, until, excepted, |chunk, start, end| {
                    if count == MAX_IOVECS {
                        fits = false;
                        return false;
                    }
                    slices[count] = IoSlice::new(&chunk[start..end]);
                    count += 1;
                    true
                });
                if count == 0 {
                    continue; // every frame was its own
                }
                if fits {
                    let fd = entry.stream.as_raw_fd();
                    batch.push(index, tag(from, excepted), fd, &slices[..count]);
                    continue;
                }
            }
            this.queue_view(entry, index, from, excepted, 0);
            entry.mark_dirty(index, dirty);
        }
        for send in sends.submit(batch) {
            let Some(entry) = table.get_mut(send.index) else {
                continue;
            };
            let (from, excepted) = untag(send.tag);
            match send.result() {
                Ok(n) if n == send.total => {}
                // The socket is full: its writable event will come (edge triggered) and write
                // the rest from the queue.
                Ok(n) => this.queue_view(entry, send.index, from, excepted, n),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    this.queue_view(entry, send.index, from, excepted, 0)
                }
                // Queued all the same, so that the flush meets the error and the loop
                // reports it.
                Err(_) => {
                    this.queue_view(entry, send.index, from, excepted, 0);
                    entry.mark_dirty(send.index, dirty);
                }
            }
        }
        self.chunks.clear();
        self.frames.clear();
        self.bytes = 0;
    }

    /// Queues (by reference) connection `index`'s view of the batch from frame `from`, less
    /// its first `skip` bytes (what the socket took already), after what its queue holds.
    fn queue_view(&self, entry: &mut Entry, index: u32, from: usize, excepted: bool, skip: usize) {
        let out = entry.conn.outgoing();
        let mut skip = skip;
        self.for_each_range(
            index,
            from,
            self.frames.len(),
            excepted,
            |chunk, start, end| {
                if skip >= end - start {
                    skip -= end - start;
                } else {
                    out.put_by_reference(chunk.slice(start + skip..end));
                    skip = 0;
                }
                true
            },
        );
    }

    /// Calls `each` with the byte ranges (chunk, start, end) connection `index` gets of
    /// frames `from..until`, in order, adjacent frames of one chunk merged; stops early if
    /// `each` returns false. The frames must be sealed. A connection that sent none of them
    /// (`excepted` false) gets whole chunks, without looking at the frames.
    fn for_each_range<'a>(
        &'a self,
        index: u32,
        from: usize,
        until: usize,
        excepted: bool,
        mut each: impl FnMut(&'a Bytes, usize, usize) -> bool,
    ) {
        if from == 0 && until == self.frames.len() && !excepted {
            for chunk in &self.chunks {
                if !each(chunk, 0, chunk.len()) {
                    return;
                }
            }
            return;
        }
        let mut run: Option<Frame> = None;
        for frame in &self.frames[from..until] {
            if frame.except == index {
                continue;
            }
            match &mut run {
                Some(r) if r.chunk == frame.chunk && r.end == frame.start => r.end = frame.end,
                _ => {
                    if let Some(r) = run.replace(*frame) {
                        let chunk = &self.chunks[r.chunk as usize];
                        if !each(chunk, r.start as usize, r.end as usize) {
                            return;
                        }
                    }
                }
            }
        }
        if let Some(r) = run {
            each(
                &self.chunks[r.chunk as usize],
                r.start as usize,
                r.end as usize,
            );
        }
    }

    /// Makes the frames gathered so far addressable as a shared chunk.
    fn seal(&mut self) {
        if !self.filling.is_empty() {
            self.chunks.push(self.filling.split().freeze());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What connection `index` gets of frames `from..`, as one byte string.
    fn view(fanout: &mut Fanout, index: u32, from: usize, excepted: bool) -> Vec<u8> {
        fanout.seal();
        let mut out = Vec::new();
        let mut ranges = 0;
        fanout.for_each_range(index, from, fanout.len(), excepted, |chunk, start, end| {
            out.extend_from_slice(&chunk[start..end]);
            ranges += 1;
            true
        });
        out.push(b'0' + ranges);
        out
    }

    #[test]
    fn each_connection_gets_every_frame_but_its_own_in_as_few_ranges_as_possible() {
        let mut fanout = Fanout::default();
        fanout.push(&Bytes::from_static(b"a1"), Some(1));
        fanout.push(&Bytes::from_static(b"b1"), Some(2));
        fanout.push(&Bytes::from_static(b"a2"), Some(1));
        let large = Bytes::from(vec![b'L'; COPY_BELOW]);
        fanout.push(&large, None);
        fanout.push(&Bytes::from_static(b"b2"), Some(2));
        assert_eq!(fanout.bytes(), 8 + COPY_BELOW);
        let everything = [&b"a1b1a2"[..], &large, b"b2"].concat();
        // A connection that sent nothing gets the chunks whole: three ranges.
        assert_eq!(
            view(&mut fanout, 7, 0, false),
            [&everything[..], b"3"].concat()
        );
        // The sender of a1 and a2 gets b1, the large frame and b2.
        assert_eq!(
            view(&mut fanout, 1, 0, true),
            [&b"b1"[..], &large, b"b23"].concat()
        );
        // The sender of b1 and b2: a1 and a2 are not adjacent, so two ranges, then the large.
        assert_eq!(
            view(&mut fanout, 2, 0, true),
            [&b"a1a2"[..], &large, b"3"].concat()
        );
        // From the fourth frame on.
        assert_eq!(
            view(&mut fanout, 7, 3, false),
            [&large[..], b"b22"].concat()
        );
    }

    #[test]
    fn a_full_batch_asks_to_be_written() {
        let mut fanout = Fanout::default();
        let frame = Bytes::from(vec![0u8; 1024]);
        while !fanout.is_full() {
            fanout.push(&frame, None);
        }
        assert_eq!(fanout.bytes(), MAX_BYTES);
        assert!(fanout.len() <= MAX_FRAMES && MAX_FRAMES <= u16::MAX as usize);
    }
}
