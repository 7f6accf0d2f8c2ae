//! Bytes waiting to be written to the socket, as a queue of chunks.
//!
//! Small frames are copied into one staging buffer so that many of them leave in one write
//! (coalescing is worth 4x on small echo traffic, see FIELD-NOTES); a large unmasked payload is
//! queued as its own [`Bytes`] chunk so it is never copied, and the driver writes header and
//! payload together with one vectored write. The type implements [`bytes::Buf`], which is what
//! `tokio::io::AsyncWriteExt::write_buf` and vectored writes consume.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Payloads at least this long are queued by reference instead of copied.
const COPY_THRESHOLD: usize = 4096;

/// Outgoing bytes: queued chunks, then the staging buffer.
///
/// ```
/// use bytes::{Buf, Bytes};
/// use duplex_proto::SendBuffer;
/// let mut out = SendBuffer::default();
/// out.put_slice(b"ab");
/// out.put_shared(Bytes::from(vec![b'c'; 5000]));
/// out.put_slice(b"d");
/// assert_eq!(out.remaining(), 5003);
/// let all = out.copy_to_bytes(5003);
/// assert_eq!((&all[..3], all[5002]), (&b"abc"[..], b'd'));
/// ```
#[derive(Debug, Default)]
pub struct SendBuffer {
    /// Chunks ready to go, oldest first; everything here precedes `staged`.
    queue: Chunks,
    /// Small frames being gathered.
    staged: BytesMut,
    /// Total bytes in `queue`.
    queued_len: usize,
}

impl SendBuffer {
    /// Appends bytes by copying them.
    pub fn put_slice(&mut self, bytes: &[u8]) {
        self.staged.extend_from_slice(bytes);
    }

    /// Appends a shared payload: by reference if it is large, by copy if small.
    pub fn put_shared(&mut self, bytes: Bytes) {
        if bytes.len() < COPY_THRESHOLD {
            self.staged.extend_from_slice(&bytes);
            return;
        }
        self.put_by_reference(bytes);
    }

    /// Appends a shared chunk by reference, whatever its size (a prepared broadcast frame).
    pub fn put_by_reference(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        if !self.staged.is_empty() {
            let staged = self.staged.split().freeze();
            self.queued_len += staged.len();
            self.queue.push_back(staged);
        }
        self.queued_len += bytes.len();
        self.queue.push_back(bytes);
    }

    /// Room at the end of the staging buffer for `len` more bytes, to be filled in place (a
    /// client masks its payload while copying it here).
    pub(crate) fn stage(&mut self, len: usize) -> &mut [u8] {
        let start = self.staged.len();
        self.staged.put_bytes(0, len);
        &mut self.staged[start..]
    }

    /// Bytes waiting to be written.
    pub fn len(&self) -> usize {
        self.queued_len + self.staged.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Gives back the staging buffer's memory when nothing waits, so idle connections stay small.
    pub fn shrink_when_empty(&mut self) {
        if self.is_empty() {
            self.staged = BytesMut::new();
            self.queue = Chunks::default();
        }
    }
}

/// The queue of chunks, holding one chunk without an allocation: a broadcast queues one
/// prepared frame to each of thousands of idle connections and writes it at once, and a queue
/// that allocated for it (and was given back once written, to keep idle connections small)
/// cost every such delivery an allocation and a free.
#[derive(Debug)]
enum Chunks {
    /// At most one chunk; an empty `Bytes` (which allocates nothing) when there is none.
    One(Bytes),
    /// Two or more were queued at once; kept until the buffer is shrunk.
    Many(VecDeque<Bytes>),
}

impl Default for Chunks {
    fn default() -> Self {
        Chunks::One(Bytes::new())
    }
}

impl Chunks {
    /// Appends a chunk, which must not be empty (an empty `One` means no chunk).
    fn push_back(&mut self, chunk: Bytes) {
        debug_assert!(!chunk.is_empty());
        match self {
            Chunks::One(only) if only.is_empty() => *only = chunk,
            Chunks::One(only) => {
                let first = std::mem::take(only);
                *self = Chunks::Many(VecDeque::from([first, chunk]));
            }
            Chunks::Many(queue) => queue.push_back(chunk),
        }
    }

    fn front_mut(&mut self) -> Option<&mut Bytes> {
        match self {
            Chunks::One(only) => Some(only).filter(|only| !only.is_empty()),
            Chunks::Many(queue) => queue.front_mut(),
        }
    }

    fn pop_front(&mut self) {
        match self {
            Chunks::One(only) => *only = Bytes::new(),
            Chunks::Many(queue) => {
                queue.pop_front();
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Bytes> {
        let (one, many) = match self {
            Chunks::One(only) => (Some(only).filter(|only| !only.is_empty()), None),
            Chunks::Many(queue) => (None, Some(queue.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

impl Buf for SendBuffer {
    fn remaining(&self) -> usize {
        self.len()
    }

    fn chunk(&self) -> &[u8] {
        match self.queue.iter().next() {
            Some(front) => front,
            None => &self.staged,
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for chunk in self.queue.iter() {
            if n == dst.len() {
                return n;
            }
            dst[n] = IoSlice::new(chunk);
            n += 1;
        }
        if n < dst.len() && !self.staged.is_empty() {
            dst[n] = IoSlice::new(&self.staged);
            n += 1;
        }
        n
    }

    fn advance(&mut self, mut cnt: usize) {
        while cnt > 0 {
            let Some(front) = self.queue.front_mut() else {
                self.staged.advance(cnt);
                return;
            };
            let step = cnt.min(front.len());
            front.advance(step);
            self.queued_len -= step;
            cnt -= step;
            if front.is_empty() {
                self.queue.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(out: &mut SendBuffer) -> Vec<u8> {
        let mut written = Vec::new();
        while out.has_remaining() {
            let chunk = out.chunk();
            // Two bytes at a time: every advance that splits a chunk is exercised.
            let step = chunk.len().min(2);
            written.extend_from_slice(&chunk[..step]);
            out.advance(step);
        }
        written
    }

    fn vectored(out: &SendBuffer) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); 8];
        let n = out.chunks_vectored(&mut slices);
        slices[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn one_shared_chunk_is_written_whole_and_leaves_the_buffer_empty() {
        let mut out = SendBuffer::default();
        out.put_by_reference(Bytes::from_static(b"frame"));
        assert_eq!((out.len(), vectored(&out)), (5, b"frame".to_vec()));
        assert_eq!(drain(&mut out), b"frame");
        assert!(out.is_empty());
        assert!(out.chunk().is_empty());
    }

    #[test]
    fn chunks_and_staged_bytes_leave_in_the_order_they_were_queued() {
        let mut out = SendBuffer::default();
        out.put_slice(b"a");
        out.put_by_reference(Bytes::from_static(b"bc"));
        out.put_by_reference(Bytes::from_static(b"def"));
        out.put_slice(b"g");
        out.put_by_reference(Bytes::from_static(b"hij"));
        assert_eq!(out.len(), 10);
        assert_eq!(vectored(&out), b"abcdefghij");
        assert_eq!(drain(&mut out), b"abcdefghij");
        // Used again after it held more than one chunk.
        out.put_by_reference(Bytes::from_static(b"k"));
        out.put_slice(b"l");
        assert_eq!(drain(&mut out), b"kl");
    }

    #[test]
    fn shrinking_keeps_what_waits_and_frees_what_does_not() {
        let mut out = SendBuffer::default();
        out.put_by_reference(Bytes::from_static(b"xy"));
        out.put_by_reference(Bytes::from_static(b"z"));
        out.shrink_when_empty();
        assert_eq!(out.len(), 3);
        assert_eq!(drain(&mut out), b"xyz");
        out.shrink_when_empty();
        assert!(matches!(&out.queue, Chunks::One(only) if only.is_empty()));
        out.put_by_reference(Bytes::new());
        assert!(out.is_empty());
    }
}
