//! What [`Sends::submit`] does when `io_uring_enter` fails partway through a batch: a fault
//! injected here (the ring is ours and its queues never overflow, so a healthy kernel gives no
//! such error). Whatever the point of failure, every send is made at most once, the results
//! say what happened, and the loop goes on with `sendmsg`.

use std::io::{IoSlice, Read};
use std::os::fd::AsRawFd;

use super::ring::{new_ring, Fault};
use super::{send_vectored, Sends};

/// Sends through a ring of `entries` (so that a batch takes several submissions) that fails
/// as `fault` says; `None`, with the reason printed, where no ring can be set up, unless
/// `DUPLEX_REQUIRE_IO_URING` is set (then the test fails).
fn failing_ring(entries: u32, fault: Fault) -> Option<Sends> {
    let mut sends = Sends::new(false);
    sends.ring = new_ring(entries);
    if sends.ring.is_none() {
        assert!(
            std::env::var_os("DUPLEX_REQUIRE_IO_URING").is_none(),
            "no io_uring here"
        );
        eprintln!("no io_uring here: the failure path of the ring is not tested");
        return None;
    }
    sends.fault = Some(fault);
    Some(sends)
}

struct Peers {
    servers: Vec<std::net::TcpStream>,
    clients: Vec<std::net::TcpStream>,
    messages: Vec<Vec<u8>>,
}

/// `n` connected pairs and a distinct message for each.
fn peers(n: usize) -> Peers {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (mut servers, mut clients) = (Vec::new(), Vec::new());
    for _ in 0..n {
        clients.push(std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap());
        servers.push(listener.accept().unwrap().0);
    }
    let messages = (0..n)
        .map(|i| format!("message {i} ").repeat(i + 1).into_bytes())
        .collect();
    Peers {
        servers,
        clients,
        messages,
    }
}

/// Sends every peer its message, in two slices, in one batch; returns the results.
fn send_all(sends: &mut Sends, peers: &Peers) -> Vec<std::io::Result<usize>> {
    let mut batch = sends.batch();
    for (i, server) in peers.servers.iter().enumerate() {
        let (a, b) = peers.messages[i].split_at(3);
        batch.push(
            i as u32,
            0,
            server.as_raw_fd(),
            &[IoSlice::new(a), IoSlice::new(b)],
        );
    }
    let sent = sends.submit(batch);
    assert_eq!(sent.len(), peers.servers.len());
    sent.iter().map(|send| send.result()).collect()
}

/// Peer `i` got its message exactly once: the message, then nothing more (`closed`: the end
/// of the stream; otherwise: no byte waiting).
fn got_once(peers: &mut Peers, i: usize, closed: bool) {
    let mut got = vec![0; peers.messages[i].len()];
    peers.clients[i].read_exact(&mut got).unwrap();
    assert_eq!(got, peers.messages[i], "peer {i}");
    let mut more = [0u8; 64];
    if closed {
        assert_eq!(peers.clients[i].read(&mut more).unwrap(), 0, "peer {i}");
    } else {
        peers.clients[i].set_nonblocking(true).unwrap();
        let again = peers.clients[i].read(&mut more);
        assert_eq!(
            again.map_err(|e| e.kind()),
            Err(std::io::ErrorKind::WouldBlock),
            "peer {i} got more"
        );
    }
}

/// Ten sends through a ring of four entries: the first submission (sends 0-3) succeeds, the
/// second (4-7) fails, 8 and 9 are never pushed.
fn fail_second_submission(consume: bool, lose_completions: bool) -> Option<(Sends, Peers)> {
    let fault = Fault {
        on_enter: 2,
        consume,
        lose_completions,
    };
    let mut sends = failing_ring(4, fault)?;
    let mut peers = peers(10);
    let results = send_all(&mut sends, &peers);
    assert!(!sends.uses_io_uring(), "the ring is given up");
    let in_doubt = consume && lose_completions;
    for (i, result) in results.iter().enumerate() {
        if in_doubt && (4..8).contains(&i) {
            let e = result.as_ref().unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EIO), "send {i}");
            // Its socket is shut: the connection ends at its next write.
            assert!(send_vectored(peers.servers[i].as_raw_fd(), &[IoSlice::new(b"x")]).is_err());
            got_once(&mut peers, i, true);
        } else {
            assert_eq!(
                result.as_ref().ok(),
                Some(&peers.messages[i].len()),
                "send {i}"
            );
            got_once(&mut peers, i, false);
        }
    }
    Some((sends, peers))
}

/// The failed submission consumed nothing: its sends and the ones after are made by sendmsg.
#[test]
fn a_failed_submission_that_consumed_nothing_is_made_by_sendmsg_once() {
    let Some((mut sends, mut peers)) = fail_second_submission(false, false) else {
        return;
    };
    // The next batch goes by sendmsg, as well.
    for result in send_all(&mut sends, &peers) {
        assert!(result.is_ok());
    }
    for i in 0..10 {
        peers.clients[i].set_nonblocking(false).unwrap();
        got_once(&mut peers, i, false);
    }
}

/// The kernel consumed and completed the failed call's entries: their results are taken from
/// the completion queue, and they are not made again.
#[test]
fn sends_completed_before_the_failure_are_not_made_again() {
    fail_second_submission(true, false);
}

/// Consumed entries whose completions are lost are in doubt: reported failed and their
/// sockets shut, never resent; the others go through.
#[test]
fn sends_in_doubt_fail_their_connection_and_are_not_resent() {
    fail_second_submission(true, true);
}
