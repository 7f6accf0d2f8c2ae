//! What only `duplex::event_loop` has, over real sockets with tokio clients: the handler's
//! callbacks (`on_close` reaching the other connections, `SocketId`s, `send_to`) and the
//! loop's broadcast internals (one batch's broadcasts and direct messages in order, the
//! `Wait` policy, a receiver reset mid-batch). What both drivers do alike (echo, close codes,
//! refusals, keepalive, shutdown, backpressure, broadcast) is proven for both in the files
//! named for it, through `common::serve`.

use std::sync::{Arc, Mutex};

use duplex::event_loop::{Handler, Socket, SocketId, Sockets};
use duplex::{
    ClientBuilder, CloseCode, CloseFrame, Message, Options, PreparedFrame, ServerBuilder,
    SlowConsumer,
};
use tokio::io::AsyncReadExt;

mod common;
use common::{bounded, raw, serve_loop, wait_until};

/// What a test handler saw, one line per callback.
type Log = Arc<Mutex<Vec<String>>>;

fn lines(log: &Log) -> Vec<String> {
    log.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}

/// Relays every message to every other connection, tells everyone left who went, and logs
/// each open and close.
#[derive(Default)]
struct Announcer {
    log: Log,
}

impl Handler for Announcer {
    fn on_open(&mut self, socket: &mut Socket<'_>) {
        let line = format!("open {}", socket.id());
        self.log.lock().unwrap().push(line);
    }

    fn on_message(&mut self, socket: &mut Socket<'_>, message: Message) {
        socket.broadcast(&PreparedFrame::new(&message));
    }

    fn on_close(
        &mut self,
        sockets: &mut Sockets<'_>,
        id: SocketId,
        end: Result<Option<CloseFrame>, duplex::Error>,
    ) {
        let left = Message::text(format!("{id} left"));
        sockets.broadcast(&PreparedFrame::new(&left));
        let line = match end {
            Ok(Some(frame)) => format!("closed {} {}", frame.code, frame.reason),
            Ok(None) => "closed".to_owned(),
            Err(e) => format!("error {e}"),
        };
        self.log.lock().unwrap().push(line);
    }
}

/// Waits until `n` connections have opened on an [`Announcer`].
async fn opened(log: &Log, n: usize) {
    let what = format!("{n} connections open");
    wait_until(&what, || {
        lines(log).iter().filter(|l| l.starts_with("open")).count() >= n
    })
    .await;
}

#[tokio::test]
async fn on_close_can_tell_the_others_who_left() {
    let announcer = Announcer::default();
    let log = announcer.log.clone();
    let server = serve_loop(ServerBuilder::new(), announcer);
    let (mut stays, _) = ClientBuilder::new().connect(&server.url).await.unwrap();
    let (mut goes, _) = ClientBuilder::new().connect(&server.url).await.unwrap();
    opened(&log, 2).await;
    goes.close(CloseCode::NORMAL, "bye").await.unwrap();
    let m = bounded("the departure is announced", stays.recv())
        .await
        .unwrap()
        .unwrap();
    let text = m.as_text().unwrap();
    assert!(text.starts_with('#') && text.ends_with(" left"), "{text}");
    // The id it names is the one the loop gave the connection that left.
    let log = lines(&log);
    let goes_id = log[1].strip_prefix("open ").unwrap();
    assert_eq!(text, format!("{goes_id} left"), "{log:?}");
    assert_eq!(log[2], "closed 1000 bye", "{log:?}");
    drop(stays); // not to wait for its answer to the shutdown's close
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_reset_during_broadcasts_is_reported_and_the_others_get_everything() {
    use std::os::fd::AsRawFd;
    let announcer = Announcer::default();
    let log = announcer.log.clone();
    let server = serve_loop(ServerBuilder::new(), announcer);
    let (mut stays, _) = ClientBuilder::new().connect(&server.url).await.unwrap();
    // A raw receiver that will vanish with a reset (SO_LINGER 0) while broadcasts flow.
    let mut vanishes = Some(raw::connect(server.addr, &raw::request()).await);
    let (mut sender, _) = ClientBuilder::new().connect(&server.url).await.unwrap();
    opened(&log, 3).await;
    let count = 200;
    for i in 0..count {
        sender.feed(vec![b'x'; 4096 + i]).await.unwrap();
        if let (true, Some(mut raw)) = (i == count / 2, vanishes.take()) {
            sender.flush().await.unwrap();
            // Broadcasts are reaching it: more than the 101 head has arrived.
            let mut got = Vec::new();
            while got.len() < 4096 {
                let mut buf = [0u8; 8192];
                let n = bounded("broadcasts to the raw receiver", raw.read(&mut buf)).await;
                let n = n.unwrap();
                assert!(n > 0, "the server closed the raw receiver");
                got.extend_from_slice(&buf[..n]);
            }
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: a valid descriptor and a linger struct with its size.
            let status = unsafe {
                libc::setsockopt(
                    raw.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&linger as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                )
            };
            assert_eq!(status, 0);
            drop(raw);
        }
    }
    sender.flush().await.unwrap();
    // Everything, in order, to the one that stayed, and the departure between them somewhere.
    let mut next = 0;
    let mut left = 0;
    while next < count || left == 0 {
        let m = bounded("every broadcast", stays.recv())
            .await
            .unwrap()
            .unwrap();
        match m.as_text() {
            Some(text) if text.ends_with(" left") => left += 1,
            _ => {
                assert_eq!(m.len(), 4096 + next, "broadcast {next}");
                next += 1;
            }
        }
    }
    wait_until("the reset reported", || {
        lines(&log).iter().any(|l| l.starts_with("error"))
    })
    .await;
    let end = lines(&log)
        .into_iter()
        .find(|l| l.starts_with("error"))
        .unwrap();
    // Seen by a read or by a send of the batch, whichever met the reset first.
    assert!(
        end.contains("reset") || end.contains("Broken pipe"),
        "{end}"
    );
    drop((stays, sender));
    server.stop().await;
}

/// For each message: a direct message to every other connection, the message broadcast, a
/// second direct message, and an acknowledgement to the sender; so queues of one's own and the
/// batch's shared broadcasts interleave.
#[derive(Default)]
struct Interleaver {
    open: Vec<SocketId>,
}

impl Handler for Interleaver {
    fn on_open(&mut self, socket: &mut Socket<'_>) {
        self.open.push(socket.id());
    }

    fn on_message(&mut self, socket: &mut Socket<'_>, message: Message) {
        let text = message.as_text().unwrap().to_owned();
        let others: Vec<SocketId> = self
            .open
            .iter()
            .copied()
            .filter(|&id| id != socket.id())
            .collect();
        for &id in &others {
            socket.send_to(
                id,
                &PreparedFrame::new(&Message::text(format!("before {text}"))),
            );
        }
        socket.broadcast(&PreparedFrame::new(&message));
        for &id in &others {
            socket.send_to(
                id,
                &PreparedFrame::new(&Message::text(format!("after {text}"))),
            );
        }
        socket.send(Message::text(format!("ack {text}"))).unwrap();
    }

    fn on_close(
        &mut self,
        _: &mut Sockets<'_>,
        id: SocketId,
        _: Result<Option<CloseFrame>, duplex::Error>,
    ) {
        self.open.retain(|&open| open != id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_and_direct_messages_keep_the_order_they_were_queued_in() {
    let server = serve_loop(ServerBuilder::new(), Interleaver::default());
    let url = server.url.clone();
    let names = ["a", "b", "c"];
    let mut clients = Vec::new();
    for _ in names {
        clients.push(ClientBuilder::new().connect(&url).await.unwrap().0);
    }
    // Every client has been seen open once it got an acknowledgement.
    for ws in &mut clients {
        ws.send("hello").await.unwrap();
        loop {
            let m = ws.recv().await.unwrap().unwrap();
            if m.as_text() == Some("ack hello") {
                break;
            }
        }
    }
    let count = 200;
    let mut tasks = Vec::new();
    for (me, mut ws) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for i in 0..count {
                ws.feed(format!("{}{i}", names[me])).await.unwrap();
            }
            ws.flush().await.unwrap();
            // Expected: my acks in order; from each other client, before/message/after
            // together, in its order.
            let mut acks = 0;
            let mut next = [0usize; 3];
            let mut pending: Option<(usize, u8)> = None; // sender, step of its triple
            let done = |acks: usize, next: &[usize; 3]| {
                acks == count && (0..3).all(|i| i == me || next[i] == count)
            };
            while !done(acks, &next) {
                let m = bounded("every message", ws.recv()).await.unwrap().unwrap();
                let text = m.as_text().unwrap().to_owned();
                if text.ends_with("hello") {
                    continue; // the greetings, some perhaps still arriving
                }
                if let Some(rest) = text.strip_prefix("ack ") {
                    assert_eq!(rest, format!("{}{acks}", names[me]));
                    acks += 1;
                    continue;
                }
                let (step, body) = match text.split_once(' ') {
                    Some(("before", body)) => (0, body),
                    Some(("after", body)) => (2, body),
                    _ => (1, text.as_str()),
                };
                let from = names.iter().position(|n| body.starts_with(n)).unwrap();
                assert_ne!(from, me, "{text} came back to its sender");
                assert_eq!(body, format!("{}{}", names[from], next[from]), "{text}");
                match pending {
                    None => assert_eq!(step, 0, "{text} is not the start of a triple"),
                    Some((sender, last)) => {
                        assert_eq!((sender, step), (from, last + 1), "{text} broke a triple")
                    }
                }
                pending = if step == 2 {
                    next[from] += 1;
                    None
                } else {
                    Some((from, step))
                };
            }
            assert_eq!(acks, count);
        }));
    }
    for task in tasks {
        bounded("every client finishes", task).await.unwrap();
    }
    server.stop().await;
}

/// Broadcasts every message three times in one callback.
struct Thrice;

impl Handler for Thrice {
    fn on_message(&mut self, socket: &mut Socket<'_>, message: Message) {
        let frame = PreparedFrame::new(&message);
        for _ in 0..3 {
            socket.broadcast(&frame);
        }
    }
}

#[tokio::test]
async fn a_receiver_skipped_by_the_wait_policy_still_gets_what_was_queued_before() {
    // Two 600-byte broadcasts exceed max_buffered, so under `Wait` a receiver gets the first
    // of each three and skips the others; the first must still be written at once.
    let options = Options::default()
        .max_buffered(1000)
        .slow_consumer(SlowConsumer::Wait);
    let server = serve_loop(ServerBuilder::new().options(options), Thrice);
    let url = server.url.clone();
    let (mut receiver, _) = ClientBuilder::new().connect(&url).await.unwrap();
    let (mut sender, _) = ClientBuilder::new().connect(&url).await.unwrap();
    // The receiver got its 101 after the server saw it open, so it is in every broadcast.
    for round in 0..3u8 {
        let payload = vec![b'a' + round; 600];
        sender.send(payload.clone()).await.unwrap();
        let got = bounded("the first broadcast", receiver.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.payload(), &payload[..]);
    }
    // Only the first of each three was queued: a short message, which fits three times, comes
    // next, three times, with nothing skipped before it.
    sender.send("end").await.unwrap();
    for _ in 0..3 {
        let got = bounded("the last broadcasts", receiver.recv()).await;
        assert_eq!(got.unwrap().unwrap().as_text(), Some("end"));
    }
    drop((receiver, sender));
    server.stop().await;
}
