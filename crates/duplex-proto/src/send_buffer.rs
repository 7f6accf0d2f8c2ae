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
    queue: VecDeque<Bytes>,
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
            self.queue = VecDeque::new();
        }
    }
}

impl Buf for SendBuffer {
    fn remaining(&self) -> usize {
        self.len()
    }

    fn chunk(&self) -> &[u8] {
        match self.queue.front() {
            Some(front) => front,
            None => &self.staged,
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for chunk in &self.queue {
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
