//! A TCP stream that remembers when the kernel received the bytes it last read.
//!
//! Broadcast latency, as the benchmark's targets define it, runs from the publisher's send to
//! the receiver's kernel timestamp: when the bytes reached the receiving socket, not when a
//! busy load generator got round to reading them. With `SO_TIMESTAMPNS` set, every `recvmsg`
//! on a TCP socket carries the receive time of the last segment it copied (Linux's
//! `tcp_recv_timestamp`); this wrapper keeps it. Messages that arrive together share it, so
//! for the earlier ones it errs late, never early.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// A [`TcpStream`] whose reads record the kernel's receive timestamp.
pub struct Stamped {
    inner: TcpStream,
    /// `CLOCK_REALTIME` nanoseconds of the last segment read; 0 before any.
    received_ns: u64,
}

impl Stamped {
    /// Asks the kernel to timestamp what `inner` receives.
    pub fn new(inner: TcpStream) -> io::Result<Self> {
        super::sys::switch_on(&inner, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS)?;
        Ok(Stamped {
            inner,
            received_ns: 0,
        })
    }

    /// When the kernel received the last bytes read (`CLOCK_REALTIME`, nanoseconds since
    /// the epoch), if a read has carried a timestamp yet.
    pub fn received_ns(&self) -> Option<u64> {
        (self.received_ns != 0).then_some(self.received_ns)
    }
}

/// One `recvmsg` into `into`. A read that brought bytes sets `stamp` to their timestamp, or to
/// 0 if the kernel attached none (it turns timestamping on system-wide a moment after the
/// first socket asks, so the very first segments can come without).
fn recv_stamped(
    fd: std::os::fd::RawFd,
    into: &mut [MaybeUninit<u8>],
    stamp: &mut u64,
) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: into.as_mut_ptr().cast(),
        iov_len: into.len(),
    };
    // Room for one timestamp control message, aligned for `cmsghdr`.
    let mut control = [0u64; 8];
    // SAFETY: an all-zero msghdr is valid; the pointers set below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `msg` describes writable memory we borrow mutably (the buffer, the control
    // area) for the duration of the call.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut found = 0;
    // SAFETY: the CMSG macros walk the control area the kernel filled, within its length.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let ts: libc::timespec =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::timespec>());
                found = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    if n > 0 {
        *stamp = found;
    }
    Ok(n as usize)
}

impl AsyncRead for Stamped {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            ready!(this.inner.poll_read_ready(cx))?;
            let fd = this.inner.as_raw_fd();
            // SAFETY: `recv_stamped` only writes into the unfilled part, and we mark as
            // filled exactly what it reports.
            let unfilled = unsafe { buf.unfilled_mut() };
            let stamp = &mut this.received_ns;
            match this
                .inner
                .try_io(Interest::READABLE, || recv_stamped(fd, unfilled, stamp))
            {
                Ok(n) => {
                    // SAFETY: the kernel initialised the first `n` bytes.
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Stamped {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_read_carries_the_kernels_receive_time() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let mut stamped = Stamped::new(client.unwrap()).unwrap();
        assert_eq!(stamped.received_ns(), None);
        let (mut server, _) = server.unwrap();
        let mut buf = [0u8; 16];
        // The kernel turns timestamping on a moment after the first socket asks for it, so
        // on a machine where no socket had, the first reads may carry none.
        for attempt in 1.. {
            let before = now_ns();
            server.write_all(b"hello").await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let n = stamped.read(&mut buf).await.unwrap();
            let after = now_ns();
            assert_eq!(&buf[..n], b"hello");
            let Some(at) = stamped.received_ns() else {
                assert!(attempt < 20, "no timestamp in {attempt} reads");
                continue;
            };
            // Received when it was sent, not when it was read 50 ms later.
            assert!(
                before <= at && at < before + 40_000_000,
                "{before} {at} {after}"
            );
            break;
        }
        // And writes go through.
        stamped.write_all(b"back").await.unwrap();
        let n = server.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"back");
    }

    fn now_ns() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    }
}
