//! `duplex::event_loop::Group`: several loops on one port (`SO_REUSEPORT`), one thread each.
//! The kernel spreads connections over the loops, every loop answers its own, one handle stops
//! them all (1001 to every connection), a handler reaches the other loops through their
//! wakers, and a loop that dies takes the group down instead of leaving it half-serving.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use duplex::event_loop::{Group, Handler, LoopWaker, Socket, Sockets};
use duplex::{CloseCode, Event, Message, PreparedFrame, ServerBuilder};

const CONNECTIONS: usize = 64;

/// Echoes, and counts the connections its loop opened.
struct CountingEcho {
    opened: Arc<AtomicUsize>,
}

impl Handler for CountingEcho {
    fn on_open(&mut self, _socket: &mut Socket<'_>) {
        self.opened.fetch_add(1, Ordering::SeqCst);
    }

    fn on_message(&mut self, socket: &mut Socket<'_>, message: Message) {
        socket.send(message).unwrap();
    }
}

/// Runs `group` on a thread of its own; the thread's result is `run`'s.
fn spawn<H: Handler>(
    group: Group,
    handler: impl Fn(usize) -> H + Send + Sync + 'static,
) -> std::thread::JoinHandle<std::io::Result<()>> {
    std::thread::spawn(move || group.run(handler))
}

/// Waits for the next event that is not a ping or pong.
async fn next(ws: &mut duplex::WebSocket<duplex::MaybeTlsStream<tokio::net::TcpStream>>) -> Event {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), ws.next_event())
            .await
            .expect("an event within 10 s")
            .unwrap();
        if !matches!(event, Event::Ping(_) | Event::Pong(_)) {
            return event;
        }
    }
}

#[tokio::test]
async fn two_loops_share_the_port_echo_every_connection_and_stop_together() {
    let group = Group::bind("127.0.0.1:0".parse().unwrap(), ServerBuilder::new(), 2).unwrap();
    assert_eq!(group.loops(), 2);
    let url = format!("ws://{}/", group.local_addr().unwrap());
    let stop = group.shutdown_handle();
    let counts: Arc<[Arc<AtomicUsize>]> = (0..2).map(|_| Arc::default()).collect();
    let opened = counts.clone();
    let server = spawn(group, move |i| CountingEcho {
        opened: opened[i].clone(),
    });

    let mut clients = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        clients.push(duplex::connect(&url).await.unwrap().0);
    }
    for (i, ws) in clients.iter_mut().enumerate() {
        ws.send(format!("hello {i}")).await.unwrap();
        match next(ws).await {
            Event::Message(m) => assert_eq!(m.as_text(), Some(format!("hello {i}").as_str())),
            other => panic!("connection {i}: expected its echo, got {other:?}"),
        }
    }
    // `on_open` runs before the 101 is written, so every connect above was counted.
    let per_loop: Vec<usize> = counts.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(per_loop.iter().sum::<usize>(), CONNECTIONS, "{per_loop:?}");
    // 64 connections hashed over two listeners: all on one has odds of 2^-63.
    assert!(
        per_loop.iter().all(|&n| n > 0),
        "a loop got none: {per_loop:?}"
    );

    stop.begin();
    for (i, ws) in clients.iter_mut().enumerate() {
        match next(ws).await {
            Event::Close(Some(frame)) => {
                assert_eq!(frame.code, CloseCode::GOING_AWAY, "connection {i}");
                assert_eq!(frame.reason, "server shutting down");
            }
            other => panic!("connection {i}: expected a 1001 close, got {other:?}"),
        }
    }
    tokio::task::spawn_blocking(move || server.join())
        .await
        .unwrap()
        .expect("no loop panicked")
        .expect("every loop returns Ok");
}

/// What one loop's connections send reaches every connection of every loop: each loop
/// broadcasts to its own and posts to the others' inboxes, and each broadcasts its inbox when
/// woken (the pattern the group's documentation describes).
struct Room {
    me: usize,
    inboxes: Arc<[Mutex<Vec<PreparedFrame>>]>,
    wakers: Arc<[LoopWaker]>,
    opened: Arc<AtomicUsize>,
}

impl Handler for Room {
    fn on_open(&mut self, _socket: &mut Socket<'_>) {
        self.opened.fetch_add(1, Ordering::SeqCst);
    }

    fn on_message(&mut self, socket: &mut Socket<'_>, message: Message) {
        let frame = PreparedFrame::new(&message);
        socket.broadcast(&frame);
        for (other, inbox) in self.inboxes.iter().enumerate() {
            if other != self.me {
                inbox.lock().unwrap().push(frame.clone());
                self.wakers[other].wake();
            }
        }
    }

    fn on_wake(&mut self, sockets: &mut Sockets<'_>) {
        let frames = std::mem::take(&mut *self.inboxes[self.me].lock().unwrap());
        for frame in &frames {
            sockets.broadcast(frame);
        }
    }
}

#[tokio::test]
async fn a_handler_reaches_the_other_loops_through_their_wakers() {
    let group = Group::bind("127.0.0.1:0".parse().unwrap(), ServerBuilder::new(), 2).unwrap();
    let url = format!("ws://{}/", group.local_addr().unwrap());
    let stop = group.shutdown_handle();
    let wakers: Arc<[LoopWaker]> = group.wakers().into();
    let inboxes: Arc<[Mutex<Vec<PreparedFrame>>]> = (0..2).map(|_| Mutex::default()).collect();
    let counts: Arc<[Arc<AtomicUsize>]> = (0..2).map(|_| Arc::default()).collect();
    let opened = counts.clone();
    let server = spawn(group, move |me| Room {
        me,
        inboxes: inboxes.clone(),
        wakers: wakers.clone(),
        opened: opened[me].clone(),
    });

    let mut clients = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        clients.push(duplex::connect(&url).await.unwrap().0);
    }
    let per_loop: Vec<usize> = counts.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert!(
        per_loop.iter().all(|&n| n > 0),
        "a loop got none: {per_loop:?}"
    );

    for round in 0..3 {
        let sender = round * 7 % CONNECTIONS;
        clients[sender]
            .send(format!("round {round}"))
            .await
            .unwrap();
        for (i, ws) in clients.iter_mut().enumerate() {
            if i == sender {
                continue;
            }
            match next(ws).await {
                Event::Message(m) => {
                    assert_eq!(m.as_text(), Some(format!("round {round}").as_str()), "{i}")
                }
                other => panic!("connection {i}: expected round {round}, got {other:?}"),
            }
        }
    }

    stop.begin();
    for ws in &mut clients {
        assert!(matches!(next(ws).await, Event::Close(Some(f)) if f.code == CloseCode::GOING_AWAY));
    }
    let joined = tokio::task::spawn_blocking(move || server.join());
    joined.await.unwrap().unwrap().unwrap();
}

#[test]
fn a_loop_that_dies_stops_the_group_and_its_panic_reaches_the_caller() {
    let group = Group::bind("127.0.0.1:0".parse().unwrap(), ServerBuilder::new(), 3).unwrap();
    let opened = Arc::new(AtomicUsize::new(0));
    let server = spawn(group, move |i| {
        assert_ne!(i, 2, "loop 2 cannot make its handler");
        CountingEcho {
            opened: opened.clone(),
        }
    });
    // Loops 0 and 1 were stopped by loop 2's end: otherwise this join would never return.
    let panic = server
        .join()
        .expect_err("the handler's panic is resumed by run");
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(
        message.contains("loop 2 cannot make its handler"),
        "{message:?}"
    );
}
