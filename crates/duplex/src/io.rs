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
    let mut read_buf = ReadBuf::uninit(spare);
    ready!(Pin::new(io).poll_read(cx, &mut read_buf))?;
    let n = read_buf.filled().len();
    // SAFETY: `poll_read` initialised the first `n` bytes of the spare capacity.
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
