//! Moving bytes between a socket and the protocol core.
//!
//! The two helpers here are the only places that touch the socket's bytes: reads go straight
//! into the connection's read buffer (growing it only when it is nearly full), and writes drain
//! the core's [`SendBuffer`] with vectored writes, so queued frames leave in one syscall.

use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BytesMut};
use duplex_proto::SendBuffer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Reads are at least this large, so small messages arriving together take one syscall.
pub(crate) const MIN_READ: usize = 8 * 1024;

/// The stack buffer of a first read on a connection with no read buffer. As large as a normal
/// read, so a burst of small pipelined messages still arrives in one syscall.
pub(crate) const FIRST_READ: usize = MIN_READ;
const _: () = assert!(FIRST_READ <= MIN_READ);

/// How many chunks one vectored write gathers.
pub(crate) const MAX_IOVECS: usize = 64;

/// Reads what the socket has into `buf`; `Ok(0)` means end of stream.
///
/// An idle connection has no read buffer (see `Core`), and allocating one just to learn that
/// nothing is there would leave a touched, fragmented heap block per idle connection. So when
/// `buf` has no memory, the read goes to a stack buffer first and `buf` is allocated only once
/// bytes arrived; later reads in the same burst go straight into `buf`.
pub(crate) fn poll_read_into<S: AsyncRead + Unpin>(
    io: &mut S,
    cx: &mut Context<'_>,
    buf: &mut BytesMut,
) -> Poll<std::io::Result<usize>> {
    if buf.capacity() == 0 {
        let mut first = [MaybeUninit::<u8>::uninit(); FIRST_READ];
        let mut read_buf = ReadBuf::uninit(&mut first);
        ready!(Pin::new(io).poll_read(cx, &mut read_buf))?;
        let filled = read_buf.filled();
        if !filled.is_empty() {
            buf.reserve(MIN_READ); // FIRST_READ is no larger: the bytes fit
            buf.extend_from_slice(filled);
        }
        return Poll::Ready(Ok(filled.len()));
    }
    if buf.capacity() - buf.len() < MIN_READ / 4 {
        buf.reserve(MIN_READ);
    }
    let spare = buf.spare_capacity_mut();
    let spare_len = spare.len();
    let mut read_buf = ReadBuf::uninit(spare);
    let ours = read_buf.filled().as_ptr();
    ready!(Pin::new(io).poll_read(cx, &mut read_buf))?;
    // `S` is any caller's `AsyncRead`, and safe code can swap in a `ReadBuf` over memory of its
    // own; then the bytes it reports filled are not in `buf`, and `set_len` would expose
    // uninitialised memory. tokio-util's `poll_read_buf` makes the same check.
    assert_eq!(
        ours,
        read_buf.filled().as_ptr(),
        "AsyncRead::poll_read replaced the ReadBuf it was given"
    );
    let n = read_buf.filled().len();
    assert!(
        n <= spare_len,
        "AsyncRead::poll_read filled past the buffer"
    );
    // SAFETY: the ReadBuf is still the one over `buf`'s spare capacity (checked above), and a
    // ReadBuf's filled part is initialised, so the first `n` spare bytes are.
    unsafe { buf.set_len(buf.len() + n) };
    Poll::Ready(Ok(n))
}

/// Writes all of `out`, gathering its chunks into vectored writes, then flushes the socket.
pub(crate) fn poll_write_all<S: AsyncWrite + Unpin>(
    io: &mut S,
    cx: &mut Context<'_>,
    out: &mut SendBuffer,
) -> Poll<std::io::Result<()>> {
    while out.has_remaining() {
        let n = if io.is_write_vectored() {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let count = out.chunks_vectored(&mut slices);
            ready!(Pin::new(&mut *io).poll_write_vectored(cx, &slices[..count]))?
        } else {
            ready!(Pin::new(&mut *io).poll_write(cx, out.chunk()))?
        };
        if n == 0 {
            return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
        }
        out.advance(n);
    }
    Pin::new(io).poll_flush(cx)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A safe `AsyncRead` that reports a read into a buffer of its own instead of the one it
    /// was given.
    struct SwapsTheReadBuf;

    impl AsyncRead for SwapsTheReadBuf {
        fn poll_read(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let elsewhere: &'static mut [u8] = Box::leak(vec![7u8; 64].into_boxed_slice());
            *buf = ReadBuf::new(elsewhere);
            buf.advance(64);
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    #[should_panic(expected = "AsyncRead::poll_read replaced the ReadBuf it was given")]
    fn a_reader_that_swaps_the_read_buf_panics_instead_of_exposing_memory() {
        let mut buf = BytesMut::with_capacity(MIN_READ);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let _ = poll_read_into(&mut SwapsTheReadBuf, &mut cx, &mut buf);
    }

    #[test]
    fn an_honest_reader_fills_the_buffer() {
        let mut buf = BytesMut::with_capacity(MIN_READ);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut reader: &[u8] = b"hello";
        let read = poll_read_into(&mut reader, &mut cx, &mut buf);
        assert!(matches!(read, Poll::Ready(Ok(5))), "{read:?}");
        assert_eq!(&buf[..], b"hello");
    }
}
