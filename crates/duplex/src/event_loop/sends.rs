//! A batch's writes to many sockets at once: one `io_uring_enter` for all of them where the
//! kernel offers io_uring, one `sendmsg` each where it does not.
//!
//! After a batch of events the loop owes a write to many connections: every receiver of a
//! broadcast, every connection whose messages were echoed. Handing them to the kernel
//! together saves a system call per connection and its entry and exit work; in the broadcast
//! to 1,000 receivers of docs/performance.md it cut the server's CPU per delivery by 6%.
//! Each send is `MSG_DONTWAIT`: the kernel tries it at once, as `sendmsg` would, and answers
//! a full socket with `EAGAIN` or a short count instead of parking the request, so a result
//! means what `sendmsg`'s means and the caller handles both paths alike. Nothing is left in
//! flight when [`Sends::submit`] returns, which is what lets the sends point straight at the
//! bytes of the queues and broadcast chunks they come from.

use std::io::IoSlice;
use std::os::fd::RawFd;

/// Most sends one `io_uring_enter` carries (the submission queue's size); a larger batch takes
/// several.
#[cfg(target_os = "linux")]
const RING_ENTRIES: u32 = 1024;

/// One send of the batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Send {
    /// The connection's slot.
    pub(crate) index: u32,
    /// The caller's own note about this send, given back with its result.
    pub(crate) tag: u32,
    fd: RawFd,
    /// Where its slices are in `Sends::iovecs`.
    first: u32,
    count: u32,
    /// Bytes given.
    pub(crate) total: usize,
    /// Bytes the socket took, or a negated `errno`; `NOT_SENT` until submitted.
    result: isize,
}

const NOT_SENT: isize = isize::MIN;

/// Never wait for room; a peer that went away is an error to report, not a SIGPIPE for
/// whoever embeds the loop.
#[cfg(target_os = "linux")]
const SEND_FLAGS: libc::c_int = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
#[cfg(not(target_os = "linux"))]
const SEND_FLAGS: libc::c_int = libc::MSG_DONTWAIT;

impl Send {
    /// What the send came to: bytes the socket took (fewer than `total` when it is full), or
    /// the error (`WouldBlock` when it took nothing).
    pub(crate) fn result(&self) -> std::io::Result<usize> {
        if self.result >= 0 {
            Ok(self.result as usize)
        } else if self.result == NOT_SENT {
            Err(std::io::Error::other("send not submitted"))
        } else {
            Err(std::io::Error::from_raw_os_error(-self.result as i32))
        }
    }
}

/// The sends of one batch, queued by [`push`](Sends::push) and made by
/// [`submit`](Sends::submit).
pub(crate) struct Sends {
    #[cfg(target_os = "linux")]
    ring: Option<io_uring::IoUring>,
    sends: Vec<Send>,
    iovecs: Vec<libc::iovec>,
    #[cfg(target_os = "linux")]
    headers: Vec<libc::msghdr>,
}

// SAFETY: the raw pointers in `iovecs` and `headers` point at bytes the caller of `push`
// keeps alive and unchanged until `submit` returns; they are never dereferenced after it
// (`clear` forgets them), so moving a `Sends` to another thread between batches is sound.
unsafe impl std::marker::Send for Sends {}

impl std::fmt::Debug for Sends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sends")
            .field("io_uring", &self.uses_io_uring())
            .field("queued", &self.sends.len())
            .finish()
    }
}

impl Sends {
    /// Batches through io_uring if `io_uring` is true and the kernel lets this process set up
    /// a ring (it may not: an old kernel, `kernel.io_uring_disabled`, a seccomp profile), one
    /// `sendmsg` per send otherwise.
    pub(crate) fn new(io_uring: bool) -> Self {
        Sends {
            #[cfg(target_os = "linux")]
            ring: if io_uring { new_ring() } else { None },
            sends: Vec::new(),
            iovecs: Vec::new(),
            #[cfg(target_os = "linux")]
            headers: Vec::new(),
        }
    }

    pub(crate) fn uses_io_uring(&self) -> bool {
        #[cfg(target_os = "linux")]
        return self.ring.is_some();
        #[cfg(not(target_os = "linux"))]
        false
    }

    /// Queues a vectored send of `slices` to `fd` for connection `index`.
    ///
    /// # Safety
    ///
    /// The bytes `slices` point at must stay valid and unchanged until [`submit`] returns.
    ///
    /// [`submit`]: Sends::submit
    pub(crate) unsafe fn push(&mut self, index: u32, tag: u32, fd: RawFd, slices: &[IoSlice<'_>]) {
        let first = self.iovecs.len() as u32;
        let mut total = 0;
        for slice in slices {
            total += slice.len();
            self.iovecs.push(libc::iovec {
                iov_base: slice.as_ptr() as *mut libc::c_void,
                iov_len: slice.len(),
            });
        }
        self.sends.push(Send {
            index,
            tag,
            fd,
            first,
            count: slices.len() as u32,
            total,
            result: NOT_SENT,
        });
    }

    /// Makes every queued send, each at most once; their results are then in
    /// [`sent`](Sends::sent).
    pub(crate) fn submit(&mut self) {
        #[cfg(target_os = "linux")]
        if self.sends.len() > 1 {
            if let Some(ring) = &mut self.ring {
                if let Err(e) =
                    submit_to_ring(ring, &mut self.sends, &self.iovecs, &mut self.headers)
                {
                    // Nothing here should fail once the ring is set up; if it does, the
                    // sends without a result are reported failed (one may have been made,
                    // so none is made again) and later batches use sendmsg.
                    tracing::warn!("io_uring submission failed, using sendmsg from now on: {e}");
                    for send in &mut self.sends {
                        if send.result == NOT_SENT {
                            send.result = -(e.raw_os_error().unwrap_or(libc::EIO) as isize);
                        }
                    }
                    self.ring = None;
                }
                return;
            }
        }
        for send in &mut self.sends {
            let slices = &self.iovecs[send.first as usize..][..send.count as usize];
            send.result = send_one(send.fd, slices);
        }
    }

    /// The sends of the batch with their results, in the order they were pushed.
    pub(crate) fn sent(&self) -> &[Send] {
        &self.sends
    }

    /// Forgets the batch (keeping the memory for the next).
    pub(crate) fn clear(&mut self) {
        self.sends.clear();
        self.iovecs.clear();
        #[cfg(target_os = "linux")]
        self.headers.clear();
    }
}

/// One `sendmsg(2)` of `slices` to `fd` now, for a write that is not part of a batch.
pub(crate) fn send_vectored(fd: RawFd, slices: &[IoSlice<'_>]) -> std::io::Result<usize> {
    // `IoSlice` is ABI-compatible with `iovec` on Unix; the kernel only reads through it.
    // SAFETY: same layout, and the slice outlives the call.
    let iovecs = unsafe { std::slice::from_raw_parts(slices.as_ptr().cast(), slices.len()) };
    let n = send_one(fd, iovecs);
    if n < 0 {
        return Err(std::io::Error::from_raw_os_error(-n as i32));
    }
    Ok(n as usize)
}

/// `sendmsg(2)` with the slices, retried on `EINTR`; bytes taken or a negated `errno`. A
/// socket's send without the file layer `writev` goes through first (`vfs_writev`, the file
/// position lock: 7–10% of the server's time when a broadcast makes a small write to each of
/// 1,000 sockets).
fn send_one(fd: RawFd, slices: &[libc::iovec]) -> isize {
    // SAFETY: an all-zero msghdr is valid (no address, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = slices.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = slices.len() as _;
    loop {
        // SAFETY: `msg` points at `slices`, whose bytes the caller of `push` keeps alive.
        let n = unsafe { libc::sendmsg(fd, &msg, SEND_FLAGS) };
        if n >= 0 {
            return n as isize;
        }
        let errno = std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        if errno != libc::EINTR {
            return -(errno as isize);
        }
    }
}

#[cfg(target_os = "linux")]
fn new_ring() -> Option<io_uring::IoUring> {
    match io_uring::IoUring::new(RING_ENTRIES) {
        Ok(ring) => Some(ring),
        Err(e) => {
            tracing::debug!("no io_uring ({e}): the event loop writes with sendmsg");
            None
        }
    }
}

/// Submits the sends in chunks of the submission queue's size and waits for each chunk's
/// completions, which come at once: with `MSG_DONTWAIT` the kernel makes each send during the
/// submission and answers `EAGAIN` rather than waiting for room.
#[cfg(target_os = "linux")]
fn submit_to_ring(
    ring: &mut io_uring::IoUring,
    sends: &mut [Send],
    iovecs: &[libc::iovec],
    headers: &mut Vec<libc::msghdr>,
) -> std::io::Result<()> {
    use io_uring::{opcode, types};
    // Every header is in place before the first submission points at one: the vector does
    // not move while the kernel reads them.
    headers.clear();
    headers.extend(sends.iter().map(|send| {
        // SAFETY: an all-zero msghdr is valid (no address, no control data).
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iovecs[send.first as usize..].as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = send.count as _;
        msg
    }));
    let flags = SEND_FLAGS as u32;
    let chunk = ring.params().sq_entries() as usize;
    let mut start = 0;
    while start < sends.len() {
        let end = sends.len().min(start + chunk);
        {
            let mut queue = ring.submission();
            for (i, header) in headers.iter().enumerate().take(end).skip(start) {
                let entry = opcode::SendMsg::new(types::Fd(sends[i].fd), header)
                    .flags(flags)
                    .build()
                    .user_data(i as u64);
                // SAFETY: the header, its slices and their bytes stay alive and unchanged
                // until this chunk's completions are reaped below (the caller of `push`
                // promised the bytes; `headers` and `iovecs` are not touched meanwhile).
                unsafe { queue.push(&entry) }
                    .map_err(|_| std::io::Error::other("submission queue full"))?;
            }
        }
        let mut waiting = end - start;
        while waiting > 0 {
            match ring.submit_and_wait(waiting) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            for completion in ring.completion() {
                if let Some(send) = sends.get_mut(completion.user_data() as usize) {
                    send.result = completion.result() as isize;
                    waiting = waiting.saturating_sub(1);
                }
            }
        }
        start = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;

    fn pair() -> (std::net::TcpStream, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (server, client)
    }

    /// The tests of both ways below test the ring only if there is one.
    #[cfg(target_os = "linux")]
    #[test]
    fn io_uring_is_used_where_the_kernel_allows_it() {
        let allowed = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
            .is_ok_and(|value| value.trim() == "0");
        if allowed {
            assert!(Sends::new(true).uses_io_uring());
        }
        assert!(!Sends::new(false).uses_io_uring());
    }

    /// Both ways of sending give the same results: every byte, in order, to the right socket.
    #[test]
    fn a_batch_reaches_every_socket_whole_and_in_order() {
        for io_uring in [true, false] {
            let mut sends = Sends::new(io_uring);
            let mut pairs: Vec<_> = (0..3).map(|_| pair()).collect();
            let messages: Vec<Vec<u8>> = (0..3u8)
                .map(|i| vec![b'a' + i; 100 * (i as usize + 1)])
                .collect();
            for (i, (server, _)) in pairs.iter().enumerate() {
                let halves = messages[i].split_at(10);
                let slices = [IoSlice::new(halves.0), IoSlice::new(halves.1)];
                // SAFETY: `messages` outlives the submit below.
                unsafe { sends.push(i as u32, 7, server.as_raw_fd(), &slices) };
            }
            sends.submit();
            for (i, send) in sends.sent().iter().enumerate() {
                assert_eq!(
                    (send.index, send.tag, send.total),
                    (i as u32, 7, messages[i].len())
                );
                assert_eq!(
                    send.result().unwrap(),
                    messages[i].len(),
                    "io_uring: {io_uring}"
                );
                let mut got = vec![0; messages[i].len()];
                pairs[i].1.read_exact(&mut got).unwrap();
                assert_eq!(got, messages[i]);
            }
            sends.clear();
            assert!(sends.sent().is_empty());
        }
    }

    /// A socket that is full answers as sendmsg would: a short count, then `WouldBlock`, and a
    /// closed peer is an error; neither holds up the others.
    #[test]
    fn a_full_or_broken_socket_says_so_without_stopping_the_batch() {
        for io_uring in [true, false] {
            let mut sends = Sends::new(io_uring);
            let (full, _reader) = pair();
            let (broken, gone) = pair();
            let (fine, mut fine_reader) = pair();
            drop(gone);
            std::thread::sleep(std::time::Duration::from_millis(20));
            let big = vec![0u8; 64 << 20];
            let small = b"still here".to_vec();
            // The first write to a peer that closed succeeds (it resets); the second fails.
            let _ = send_one(
                broken.as_raw_fd(),
                &[libc::iovec {
                    iov_base: small.as_ptr() as *mut libc::c_void,
                    iov_len: small.len(),
                }],
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
            // SAFETY: `big` and `small` outlive the submit below.
            unsafe {
                sends.push(0, 0, full.as_raw_fd(), &[IoSlice::new(&big)]);
                sends.push(1, 0, full.as_raw_fd(), &[IoSlice::new(&big)]);
                sends.push(2, 0, broken.as_raw_fd(), &[IoSlice::new(&small)]);
                sends.push(3, 0, fine.as_raw_fd(), &[IoSlice::new(&small)]);
            }
            sends.submit();
            let sent = sends.sent();
            let short = sent[0].result().unwrap();
            assert!(
                short > 0 && short < big.len(),
                "io_uring {io_uring}: took {short}"
            );
            assert_eq!(
                sent[1].result().unwrap_err().kind(),
                std::io::ErrorKind::WouldBlock
            );
            assert!(
                sent[2].result().is_err(),
                "io_uring {io_uring}: {:?}",
                sent[2].result()
            );
            assert_eq!(sent[3].result().unwrap(), small.len());
            let mut got = vec![0; small.len()];
            fine_reader.read_exact(&mut got).unwrap();
            assert_eq!(got, small);
        }
    }
}
