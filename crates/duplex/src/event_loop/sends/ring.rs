//! The io_uring side of [`Sends`](super::Sends): a batch's `sendmsg`s in one `io_uring_enter`,
//! and what becomes of them if that call fails.
//!
//! Here is the only place the kernel may read a batch's memory outside a system call of ours:
//! between the push of a submission entry and the reaping of its completion. Every function
//! that pushes an entry therefore takes the [`Batch`] by `&mut`, so the bytes it borrows are
//! alive and unchanged until the function returns, and returns only once no entry is in
//! flight (see [`settle`]).

use std::io;

use io_uring::{opcode, types, IoUring};

use super::{header, Batch, Send, NOT_SENT, SEND_FLAGS};

/// A ring of `entries` submission entries, if the kernel lets this process set one up.
pub(super) fn new_ring(entries: u32) -> Option<IoUring> {
    match IoUring::new(entries) {
        Ok(ring) => Some(ring),
        Err(e) => {
            tracing::debug!("no io_uring ({e}): the event loop writes with sendmsg");
            None
        }
    }
}

/// Submits the batch's sends in chunks of the submission queue's size and waits for each
/// chunk's completions, which come at once: with `MSG_DONTWAIT` the kernel makes each send
/// during the submission and answers `EAGAIN` rather than waiting for room. `headers` is
/// scratch memory for the sends' `msghdr`s.
///
/// On an error of `io_uring_enter`, the sends it leaves without a result were never given to
/// the kernel and nothing is in flight ([`settle`]); the ring must not be entered again.
pub(super) fn submit_to_ring(
    ring: &mut IoUring,
    batch: &mut Batch<'_>,
    headers: &mut Vec<libc::msghdr>,
    fault: &mut Hook,
) -> io::Result<()> {
    // Every header is in place before the first entry points at one: the list does not move
    // while the kernel reads them.
    headers.clear();
    headers.extend(batch.sends.iter().map(|send| header(batch.slices_of(send))));
    let sends = &mut batch.sends[..];
    let flags = SEND_FLAGS as u32;
    let chunk = ring.params().sq_entries() as usize;
    let mut start = 0;
    while start < sends.len() {
        let mut end = sends.len().min(start + chunk);
        {
            let mut queue = ring.submission();
            for (i, header) in headers.iter().enumerate().take(end).skip(start) {
                let entry = opcode::SendMsg::new(types::Fd(sends[i].fd), header)
                    .flags(flags)
                    .build()
                    .user_data(i as u64);
                // SAFETY: the entry points at `headers[i]`, which points at the batch's
                // slices, which point at the bytes the batch borrows. All three stay where
                // they are, unchanged, until this function returns (`headers` and the batch
                // are borrowed by it), and it returns only once the kernel is done with the
                // entry: its completion is reaped below, or `settle` finds it unconsumed
                // (never to be read: the ring is not entered again) or waits for it.
                if unsafe { queue.push(&entry) }.is_err() {
                    // Cannot happen (the queue is empty at each chunk's start and holds a
                    // chunk); were it to, the rest of the chunk goes by sendmsg.
                    end = i;
                    break;
                }
            }
        }
        let mut waiting = end - start;
        while waiting > 0 {
            match enter(ring, waiting, fault) {
                Ok(_) => reap(ring, sends, &mut waiting),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    settle(ring, sends, start..end, &e);
                    return Err(e);
                }
            }
        }
        if end < sends.len().min(start + chunk) {
            return Err(io::Error::other("submission queue full"));
        }
        start = end;
    }
    Ok(())
}

/// Takes the results the kernel has posted, one less to wait for each.
fn reap(ring: &mut IoUring, sends: &mut [Send], waiting: &mut usize) {
    for completion in ring.completion() {
        if let Some(send) = sends.get_mut(completion.user_data() as usize) {
            send.result = completion.result() as isize;
            *waiting = waiting.saturating_sub(1);
        }
    }
}

/// Accounts for the sends of a chunk (`sends[chunk]`, their entries pushed in that order)
/// after `io_uring_enter` failed with `error`, so that each send is made at most once
/// and the kernel reads none of the batch's memory after `submit` returns:
///
/// 1. Completions already posted are taken: those sends were made, with that result.
/// 2. Entries the kernel did not consume (still in the submission queue: the last ones pushed)
///    were never seen by it. Their sends keep no result, and [`Sends::submit`] makes them with
///    `sendmsg`; the ring is then dropped unentered, so the kernel never reads those entries.
///    (`io_uring_enter` fails only when it consumed nothing in that call, but an earlier call
///    of the same chunk may have consumed part of it.)
/// 3. Entries consumed without a completion would be in doubt: the kernel may have sent part
///    or all of the bytes. That should not happen: a `MSG_DONTWAIT` send (`REQ_F_NOWAIT` in
///    the kernel) is issued during the `io_uring_enter` that consumes it and never parked, so
///    its completion is posted before that call returns. Should it happen, the ring's
///    requests are cancelled synchronously (`IORING_REGISTER_SYNC_CANCEL`: when it returns,
///    the kernel holds none of them, so the bytes may go), the send is reported failed
///    (`EIO`), and its socket is shut down: resending could repeat bytes and not sending could
///    drop them, either a corrupt stream, so the connection ends on its next write instead.
///    (Before Linux 6.0 there is no synchronous cancel and the argument above is all there
///    is; the failure is logged.)
///
/// [`Sends::submit`]: super::Sends::submit
fn settle(
    ring: &mut IoUring,
    sends: &mut [Send],
    chunk: std::ops::Range<usize>,
    error: &io::Error,
) {
    let mut waiting = 0;
    reap(ring, sends, &mut waiting);
    let unconsumed = ring.submission().len().min(chunk.len());
    let consumed = chunk.start..chunk.end - unconsumed;
    let in_doubt = |send: &Send| send.result == NOT_SENT;
    let doubtful = sends[consumed.clone()]
        .iter()
        .filter(|s| in_doubt(s))
        .count();
    if doubtful == 0 {
        return;
    }
    tracing::error!("io_uring_enter failed ({error}) with {doubtful} sends in doubt");
    match ring
        .submitter()
        .register_sync_cancel(None, types::CancelBuilder::any())
    {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {} // nothing was in flight
        Err(e) => tracing::error!("io_uring sync cancel failed: {e}"),
    }
    for send in sends[consumed].iter_mut().filter(|s| in_doubt(s)) {
        send.result = -(libc::EIO as isize);
        // SAFETY: a plain system call on a descriptor the caller holds open.
        unsafe { libc::shutdown(send.fd, libc::SHUT_RDWR) };
    }
}

/// What the tests inject: the `on_enter`-th `io_uring_enter` from now fails with `EBUSY`,
/// after consuming the queued entries if `consume`, and losing the completions they posted if
/// `lose_completions` (to make them in doubt).
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fault {
    pub(crate) on_enter: u32,
    pub(crate) consume: bool,
    pub(crate) lose_completions: bool,
}

#[cfg(test)]
pub(super) type Hook = Option<Fault>;
#[cfg(not(test))]
pub(super) type Hook = ();

/// `io_uring_enter`: submits what is queued and waits for `want` completions.
fn enter(ring: &mut IoUring, want: usize, fault: &mut Hook) -> io::Result<usize> {
    #[cfg(test)]
    if let Some(f) = fault {
        f.on_enter -= 1;
        if f.on_enter == 0 {
            let f = fault.take().unwrap_or(Fault {
                on_enter: 0,
                consume: false,
                lose_completions: false,
            });
            if f.consume {
                ring.submit()?;
            }
            if f.lose_completions {
                ring.completion().for_each(drop);
            }
            return Err(io::Error::from_raw_os_error(libc::EBUSY));
        }
    }
    #[cfg(not(test))]
    let () = *fault;
    ring.submit_and_wait(want)
}
