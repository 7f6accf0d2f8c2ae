//! A batch's writes to many sockets at once: one `io_uring_enter` for all of them where the
//! kernel offers io_uring, one `sendmsg` each where it does not.
//!
//! After a batch of events the loop owes a write to many connections: every receiver of a
//! broadcast, every connection whose messages were echoed. Handing them to the kernel
//! together saves a system call per connection and its entry and exit work; in the broadcast
//! to 1,000 receivers of docs/performance.md it cut the server's CPU per delivery by 6%.
//! Each send is `MSG_DONTWAIT`: the kernel tries it at once, as `sendmsg` would, and answers
//! a full socket with `EAGAIN` or a short count instead of parking the request, so a result
//! means what `sendmsg`'s means and the caller handles both paths alike.
//!
//! The sends point straight at the bytes of the queues and broadcast chunks they come from.
//! A [`Batch<'a>`](Batch) borrows those bytes for `'a`, and [`Sends::submit`] consumes it and
//! returns only when the kernel is done with them, so the borrow checker, not a comment, keeps
//! the bytes alive and unchanged while the kernel may read them: a caller builds the batch in
//! a pass that only reads its queues, submits it, and changes them after, with the results.
//! The memory of a batch's lists is kept between batches (see [`recycle`]): no allocation per
//! batch once the lists have grown.
//!
//! If `io_uring_enter` fails (nothing here should make it: the ring is ours, its queues never
//! overflow), see [`settle`] for what becomes of the sends in flight; in short, every send is
//! made at most once, the kernel has finished with every byte before `submit` returns, and the
//! loop uses `sendmsg` from then on.

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
    /// Where its slices are in the batch's list.
    first: u32,
    count: u32,
    /// Bytes given.
    pub(crate) total: usize,
    /// Bytes the socket took, or a negated `errno`; `NOT_SENT` until made.
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

/// The sends of one batch, borrowing the bytes they send for `'a`. Made by [`Sends::batch`],
/// filled by [`push`](Batch::push), consumed by [`Sends::submit`].
pub(crate) struct Batch<'a> {
    sends: Vec<Send>,
    slices: Vec<IoSlice<'a>>,
}

impl<'a> Batch<'a> {
    /// Queues a vectored send of `slices` to `fd` for connection `index`.
    pub(crate) fn push(&mut self, index: u32, tag: u32, fd: RawFd, slices: &[IoSlice<'a>]) {
        let first = self.slices.len() as u32;
        self.slices.extend_from_slice(slices);
        self.sends.push(Send {
            index,
            tag,
            fd,
            first,
            count: slices.len() as u32,
            total: slices.iter().map(|slice| slice.len()).sum(),
            result: NOT_SENT,
        });
    }

    fn slices_of(&self, send: &Send) -> &[IoSlice<'a>] {
        &self.slices[send.first as usize..][..send.count as usize]
    }
}

/// Room for one `msghdr` between batches. The headers hold raw pointers, so a list of them
/// would make the loop `!Send`; between batches they are only memory, kept as plain words of
/// the same layout and lent back to the next batch by [`recycle`].
#[cfg(target_os = "linux")]
type HeaderRoom = std::mem::MaybeUninit<[usize; HEADER_WORDS]>;
#[cfg(target_os = "linux")]
const HEADER_WORDS: usize = std::mem::size_of::<libc::msghdr>() / std::mem::size_of::<usize>();
#[cfg(target_os = "linux")]
const _: () = assert!(
    std::mem::size_of::<HeaderRoom>() == std::mem::size_of::<libc::msghdr>()
        && std::mem::align_of::<HeaderRoom>() == std::mem::align_of::<libc::msghdr>()
);

/// Empties `list` and gives its allocation to a list of another type of the same size and
/// alignment (here the same type with another lifetime, or a header and its room). Safe code:
/// std collects a `Vec`'s own `IntoIter` in place, so nothing is allocated; were it to stop
/// doing so, this would allocate and stay correct (`recycling_keeps_the_allocation` would
/// say so).
fn recycle<T, U>(mut list: Vec<T>) -> Vec<U> {
    list.clear();
    list.into_iter().filter_map(|_| None).collect()
}

/// Where a batch's sends go: the ring when there is one, and the memory batches reuse.
pub(crate) struct Sends {
    #[cfg(target_os = "linux")]
    ring: Option<io_uring::IoUring>,
    /// The last batch's sends, with their results.
    sent: Vec<Send>,
    /// Empty between batches: the allocations the next one reuses.
    spare_slices: Vec<IoSlice<'static>>,
    #[cfg(target_os = "linux")]
    spare_headers: Vec<HeaderRoom>,
    /// A failure the tests inject into the next submissions.
    #[cfg(all(test, target_os = "linux"))]
    fault: Option<Fault>,
}

impl std::fmt::Debug for Sends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sends")
            .field("io_uring", &self.uses_io_uring())
            .finish()
    }
}

impl Sends {
    /// Batches through io_uring if `io_uring` is true and the kernel lets this process set up
    /// a ring (it may not: an old kernel, `kernel.io_uring_disabled`, a seccomp profile), one
    /// `sendmsg` per send otherwise.
    pub(crate) fn new(io_uring: bool) -> Self {
        #[cfg(not(target_os = "linux"))]
        let _ = io_uring;
        Sends {
            #[cfg(target_os = "linux")]
            ring: if io_uring {
                new_ring(RING_ENTRIES)
            } else {
                None
            },
            sent: Vec::new(),
            spare_slices: Vec::new(),
            #[cfg(target_os = "linux")]
            spare_headers: Vec::new(),
            #[cfg(all(test, target_os = "linux"))]
            fault: None,
        }
    }

    pub(crate) fn uses_io_uring(&self) -> bool {
        #[cfg(target_os = "linux")]
        return self.ring.is_some();
        #[cfg(not(target_os = "linux"))]
        false
    }

    /// An empty batch, in the memory of the last one.
    pub(crate) fn batch<'a>(&mut self) -> Batch<'a> {
        let mut sends = std::mem::take(&mut self.sent);
        sends.clear();
        Batch {
            sends,
            slices: recycle(std::mem::take(&mut self.spare_slices)),
        }
    }

    /// Makes every send of `batch`, each at most once, and returns them with their results
    /// in the order they were pushed. When it returns, the kernel has finished with the bytes
    /// the batch borrowed.
    pub(crate) fn submit(&mut self, batch: Batch<'_>) -> &[Send] {
        let mut batch = batch;
        #[cfg(target_os = "linux")]
        if batch.sends.len() > 1 {
            if let Some(ring) = &mut self.ring {
                let mut headers = recycle(std::mem::take(&mut self.spare_headers));
                #[cfg(test)]
                let fault = &mut self.fault;
                #[cfg(not(test))]
                let fault = &mut ();
                let done = submit_to_ring(ring, &mut batch, &mut headers, fault);
                if let Err(e) = done {
                    // `settle` has left no request in flight: the ring, with what it may
                    // still hold unconsumed, goes, and the sends not made are made below.
                    tracing::warn!("io_uring submission failed, using sendmsg from now on: {e}");
                    self.ring = None;
                }
                self.spare_headers = recycle(headers);
            }
        }
        for i in 0..batch.sends.len() {
            let send = batch.sends[i];
            if send.result == NOT_SENT {
                batch.sends[i].result = send_one(send.fd, batch.slices_of(&send));
            }
        }
        self.spare_slices = recycle(batch.slices);
        self.sent = batch.sends;
        &self.sent
    }
}

/// One `sendmsg(2)` of `slices` to `fd` now, for a write that is not part of a batch.
pub(crate) fn send_vectored(fd: RawFd, slices: &[IoSlice<'_>]) -> std::io::Result<usize> {
    let n = send_one(fd, slices);
    if n < 0 {
        return Err(std::io::Error::from_raw_os_error(-n as i32));
    }
    Ok(n as usize)
}

/// A header for a `sendmsg` of `slices`: no address, no control data.
fn header(slices: &[IoSlice<'_>]) -> libc::msghdr {
    // SAFETY: an all-zero msghdr is valid (null pointers, zero lengths).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // std guarantees `IoSlice` is ABI-compatible with `iovec` on Unix; the kernel only reads
    // through the pointer.
    msg.msg_iov = slices.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = slices.len() as _;
    msg
}

/// `sendmsg(2)` with the slices, retried on `EINTR`; bytes taken or a negated `errno`. A
/// socket's send without the file layer `writev` goes through first (`vfs_writev`, the file
/// position lock: 7–10% of the server's time when a broadcast makes a small write to each of
/// 1,000 sockets).
fn send_one(fd: RawFd, slices: &[IoSlice<'_>]) -> isize {
    let msg = header(slices);
    loop {
        // SAFETY: `msg` points at `slices` and they at their bytes, all borrowed for the
        // call; the kernel only reads them, and not after it returns.
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
mod ring;
#[cfg(all(test, target_os = "linux"))]
pub(crate) use ring::Fault;
#[cfg(target_os = "linux")]
use ring::{new_ring, submit_to_ring};

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

    /// Whether a ring can be set up here, as the loop would set it up.
    fn ring_possible() -> bool {
        #[cfg(target_os = "linux")]
        return io_uring::IoUring::new(RING_ENTRIES).is_ok();
        #[cfg(not(target_os = "linux"))]
        false
    }

    /// The tests of both ways below test the ring only if there is one: the loop must say
    /// which way it writes, and use the ring wherever one can be made.
    #[test]
    fn the_way_it_writes_is_reported_and_is_io_uring_where_a_ring_can_be_made() {
        assert_eq!(Sends::new(true).uses_io_uring(), ring_possible());
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
            for round in 0..2 {
                let mut batch = sends.batch();
                for (i, (server, _)) in pairs.iter().enumerate() {
                    let halves = messages[i].split_at(10);
                    let slices = [IoSlice::new(halves.0), IoSlice::new(halves.1)];
                    batch.push(i as u32, 7, server.as_raw_fd(), &slices);
                }
                let sent = sends.submit(batch);
                assert_eq!(sent.len(), 3);
                for (i, send) in sent.iter().enumerate() {
                    assert_eq!(
                        (send.index, send.tag, send.total),
                        (i as u32, 7, messages[i].len())
                    );
                    assert_eq!(
                        send.result().unwrap(),
                        messages[i].len(),
                        "io_uring: {io_uring}, round {round}"
                    );
                    let mut got = vec![0; messages[i].len()];
                    pairs[i].1.read_exact(&mut got).unwrap();
                    assert_eq!(got, messages[i]);
                }
            }
            let empty = sends.batch();
            assert!(sends.submit(empty).is_empty());
        }
    }

    /// Blocks until `socket` has an error or hang-up pending (the peer's reset arrived).
    fn await_reset(socket: &std::net::TcpStream) {
        let mut poll = libc::pollfd {
            fd: socket.as_raw_fd(),
            events: 0, // POLLERR and POLLHUP are always reported
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the duration of the call.
        let n = unsafe { libc::poll(&mut poll, 1, 30_000) };
        assert_eq!(n, 1, "no reset came: {}", std::io::Error::last_os_error());
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
            let big = vec![0u8; 64 << 20];
            let small = b"still here".to_vec();
            // The first write to a peer that closed succeeds and the peer resets; the second
            // fails.
            let _ = send_vectored(broken.as_raw_fd(), &[IoSlice::new(&small)]);
            await_reset(&broken);
            let mut batch = sends.batch();
            batch.push(0, 0, full.as_raw_fd(), &[IoSlice::new(&big)]);
            batch.push(1, 0, full.as_raw_fd(), &[IoSlice::new(&big)]);
            batch.push(2, 0, broken.as_raw_fd(), &[IoSlice::new(&small)]);
            batch.push(3, 0, fine.as_raw_fd(), &[IoSlice::new(&small)]);
            let sent = sends.submit(batch);
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

    /// A batch's lists live in the memory of the last one: no allocation per batch.
    #[test]
    fn recycling_keeps_the_allocation() {
        let bytes = [1u8; 8];
        let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(100);
        slices.push(IoSlice::new(&bytes));
        let at = slices.as_ptr() as usize;
        let spare: Vec<IoSlice<'static>> = recycle(slices);
        assert_eq!((spare.as_ptr() as usize, spare.capacity()), (at, 100));
        #[cfg(target_os = "linux")]
        {
            let rooms: Vec<HeaderRoom> = Vec::with_capacity(100);
            let at = rooms.as_ptr() as usize;
            let headers: Vec<libc::msghdr> = recycle(rooms);
            assert_eq!((headers.as_ptr() as usize, headers.capacity()), (at, 100));
            let rooms: Vec<HeaderRoom> = recycle(headers);
            assert_eq!((rooms.as_ptr() as usize, rooms.capacity()), (at, 100));
        }
        // And through the loop's own use, batch after batch.
        let mut sends = Sends::new(false);
        let (server, _client) = pair();
        let mut batch = sends.batch();
        batch.push(0, 0, server.as_raw_fd(), &[IoSlice::new(&bytes)]);
        sends.submit(batch);
        let (at, capacity) = (sends.spare_slices.as_ptr(), sends.spare_slices.capacity());
        let mut batch = sends.batch();
        batch.push(0, 0, server.as_raw_fd(), &[IoSlice::new(&bytes)]);
        sends.submit(batch);
        assert_eq!(sends.spare_slices.as_ptr(), at);
        assert_eq!(sends.spare_slices.capacity(), capacity);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod failure_tests;
