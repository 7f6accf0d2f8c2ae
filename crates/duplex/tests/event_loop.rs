//! `duplex::event_loop` over real sockets: the same answers as the task-per-connection server
//! (echo, close codes, refusals, keepalive, shutdown) and its broadcast, with tokio clients.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use duplex::event_loop::{EventLoop, Handler, Socket, SocketId, Sockets};
use duplex::Shutdown;
use duplex::{
    ClientBuilder, CloseCode, CloseFrame, Config, Event, Message, Options, PreparedFrame,
    ServerBuilder, SlowConsumer,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const REQUEST: &str =
    "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// What a test handler saw, one line per callback.
type Log = Arc<Mutex<Vec<String>>>;

/// Echoes, or relays to every other connection, and logs every callback.
struct Recorder {
    log: Log,
    relay: bool,
}

impl Handler for Recorder {
    fn on_open(&mut self, socket: &mut Socket<'_>) {
        let protocol = socket.protocol().map(str::to_owned);
        self.log.lock().unwrap().push(format!("open {protocol:?}"));
    }

    fn on_message(&mut self, socket: &mut Socket<'_>, message: Message) {
        if self.relay {
            socket.broadcast(&PreparedFrame::new(&message));
        } else {
            socket.send(message).unwrap();
        }
    }

    fn on_close(
        &mut self,
        sockets: &mut Sockets<'_>,
        id: SocketId,
        end: Result<Option<CloseFrame>, duplex::Error>,
    ) {
        if self.relay {
            // Everyone left hears who went.
            let left = Message::text(format!("{id} left"));
            sockets.broadcast(&PreparedFrame::new(&left));
        }
        let line = match end {
            Ok(Some(frame)) => format!("closed {} {}", frame.code, frame.reason),
            Ok(None) => "closed".to_owned(),
            Err(e) => format!("error {e}"),
        };
        self.log.lock().unwrap().push(line);
    }
}

struct Running {
    url: String,
    addr: String,
    handle: Shutdown,
    log: Log,
    thread: JoinHandle<()>,
}

impl Running {
    /// Waits (bounded) until the handler logged a line starting with `prefix`.
    /// Waits (bounded) until the handler's log satisfies `done`; returns the log.
    async fn wait_for(&self, what: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log.lock().unwrap().clone();
            if done(&log) {
                return log;
            }
            assert!(Instant::now() < deadline, "never {what}: {log:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn logged(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(line) = self
                .log
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.starts_with(prefix))
            {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no {prefix:?} in {:?}",
                self.log.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn stop(self) {
        self.handle.begin();
        self.thread.join().unwrap();
    }
}

fn start(builder: ServerBuilder, relay: bool) -> Running {
    let event_loop = EventLoop::bind("127.0.0.1:0".parse().unwrap(), builder).unwrap();
    let addr = event_loop.local_addr().unwrap().to_string();
    let handle = event_loop.shutdown_handle();
    let log = Log::default();
    let mut handler = Recorder {
        log: log.clone(),
        relay,
    };
    let thread = std::thread::spawn(move || event_loop.run(&mut handler).unwrap());
    Running {
        url: format!("ws://{addr}/"),
        addr,
        handle,
        log,
        thread,
    }
}

fn masked(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let key = [1, 2, 3, 4];
    let mut out = vec![first_byte];
    assert!(payload.len() < 126);
    out.push(0x80 | payload.len() as u8);
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// Sends the request and `frames` on a raw socket, answers the server's close, and returns
/// the close code the server sent.
async fn close_code_after(addr: &str, frames: &[u8]) -> u16 {
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(REQUEST.as_bytes()).await.unwrap();
    client.write_all(frames).await.unwrap();
    let answer = read_to_end(&mut client, Some(&masked(0x88, &1000u16.to_be_bytes()))).await;
    let start = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let frame = &answer[start..];
    assert_eq!(frame[0], 0x88, "a close frame, not {frame:?}");
    u16::from_be_bytes([frame[2], frame[3]])
}

/// Reads until the server closes TCP; answers its close frame with `reply` once it came.
async fn read_to_end(client: &mut TcpStream, reply: Option<&[u8]>) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let mut replied = reply.is_none();
    loop {
        let read = tokio::time::timeout(Duration::from_secs(10), client.read(&mut buf));
        let n = read.await.expect("the server closes").unwrap_or(0);
        if n == 0 {
            return answer;
        }
        answer.extend_from_slice(&buf[..n]);
        let head_end = answer.windows(4).position(|w| w == b"\r\n\r\n");
        if let (false, Some(end)) = (replied, head_end) {
            if answer[end + 4..].first() == Some(&0x88) {
                client.write_all(reply.unwrap()).await.unwrap();
                replied = true;
            }
        }
    }
}

#[tokio::test]
async fn echoes_text_binary_and_large_messages_in_order_with_the_subprotocol() {
    let server = start(ServerBuilder::new().protocols(["chat"]), false);
    let (mut ws, response) = ClientBuilder::new()
        .protocol("chat")
        .connect(&server.url)
        .await
        .unwrap();
    assert_eq!(response.protocol.as_deref(), Some("chat"));
    assert_eq!(server.logged("open").await, "open Some(\"chat\")");
    for i in 0..200 {
        ws.feed(format!("message {i}")).await.unwrap();
    }
    ws.flush().await.unwrap();
    for i in 0..200 {
        let m = ws.recv().await.unwrap().unwrap();
        assert_eq!(m.as_text(), Some(format!("message {i}").as_str()));
    }
    let big: Vec<u8> = (0..3 << 20).map(|i| (i % 251) as u8).collect();
    ws.send(big.clone()).await.unwrap();
    let m = ws.recv().await.unwrap().unwrap();
    assert_eq!(m.payload().as_ref(), &big[..]);
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    assert_eq!(server.logged("closed").await, "closed 1000 bye");
    server.stop();
}

#[tokio::test]
async fn a_ping_is_answered_with_its_payload() {
    let server = start(ServerBuilder::new(), false);
    let (mut ws, _) = ClientBuilder::new().connect(&server.url).await.unwrap();
    ws.ping(b"are you there").await.unwrap();
    match ws.next_event().await.unwrap() {
        Event::Pong(payload) => assert_eq!(&payload[..], b"are you there"),
        other => panic!("expected a pong, got {other:?}"),
    }
    server.stop();
}

#[tokio::test]
async fn protocol_errors_get_their_exact_close_codes() {
    let server = start(
        ServerBuilder::new().config(Config::default().max_message_size(100)),
        false,
    );
    // Unmasked text frame from a client: 1002.
    assert_eq!(
        close_code_after(&server.addr, &[0x81, 0x02, b'h', b'i']).await,
        1002
    );
    // Invalid UTF-8 in a text message: 1007.
    assert_eq!(
        close_code_after(&server.addr, &masked(0x81, &[0xff, 0xfe])).await,
        1007
    );
    // A message over the limit: 1009.
    assert_eq!(
        close_code_after(&server.addr, &masked(0x82, &[7; 120])).await,
        1009
    );
    // A reserved opcode: 1002.
    assert_eq!(
        close_code_after(&server.addr, &masked(0x83, b"")).await,
        1002
    );
    // Each is reported once its teardown ends (after our end of stream), which may be a
    // moment after the client saw the close.
    let errors = |log: &[String]| {
        log.iter()
            .filter(|l| l.starts_with("error protocol error"))
            .count()
    };
    let log = server
        .wait_for("4 protocol errors reported", |log| errors(log) >= 4)
        .await;
    assert_eq!(errors(&log), 4, "{log:?}");
    server.stop();
}

#[tokio::test]
async fn bad_requests_are_refused_with_their_status() {
    let server = start(
        ServerBuilder::new()
            .allow_origin("https://good.example")
            .max_request_head(1024),
        false,
    );
    let status = |request: String| {
        let addr = server.addr.clone();
        async move {
            let mut client = TcpStream::connect(addr).await.unwrap();
            client.write_all(request.as_bytes()).await.unwrap();
            let answer = read_to_end(&mut client, None).await;
            String::from_utf8_lossy(&answer)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned()
        }
    };
    assert_eq!(
        status(REQUEST.replace("GET", "POST")).await,
        "HTTP/1.1 405 Method Not Allowed"
    );
    assert_eq!(
        status(REQUEST.replace("Version: 13", "Version: 8")).await,
        "HTTP/1.1 426 Upgrade Required"
    );
    let foreign = REQUEST.replace("\r\n\r\n", "\r\nOrigin: https://evil.example\r\n\r\n");
    assert_eq!(status(foreign).await, "HTTP/1.1 403 Forbidden");
    let huge = REQUEST.replace(
        "\r\n\r\n",
        &format!("\r\nX-Big: {}\r\n\r\n", "a".repeat(2000)),
    );
    assert_eq!(
        status(huge).await,
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    // Refused connections were never open: no callbacks.
    assert!(server.log.lock().unwrap().is_empty());
    server.stop();
}

#[tokio::test]
async fn a_slow_handshake_is_cut_with_408_and_a_full_server_answers_503() {
    let server = start(
        ServerBuilder::new()
            .handshake_timeout(Duration::from_millis(500))
            .max_connections(1),
        false,
    );
    let started = Instant::now();
    let mut slow = TcpStream::connect(&server.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: loc")
        .await
        .unwrap();
    // The slow one holds the only slot: the next connection is refused at once.
    let mut other = TcpStream::connect(&server.addr).await.unwrap();
    let answer = read_to_end(&mut other, None).await;
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 503"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let answer = read_to_end(&mut slow, None).await;
    let waited = started.elapsed();
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 408"));
    // Whole-second ticks: never early, at most a tick and a half late.
    assert!(waited >= Duration::from_millis(500), "{waited:?}");
    assert!(waited < Duration::from_millis(2600), "{waited:?}");
    server.stop();
}

#[tokio::test]
async fn a_silent_peer_is_pinged_then_closed_with_1001() {
    let options = Options::default()
        .ping_interval(Some(Duration::from_secs(1)))
        .idle_timeout(Some(Duration::from_secs(2)))
        .close_timeout(Duration::from_secs(1));
    let server = start(ServerBuilder::new().options(options), false);
    let started = Instant::now();
    let mut client = TcpStream::connect(&server.addr).await.unwrap();
    client.write_all(REQUEST.as_bytes()).await.unwrap();
    let answer = read_to_end(&mut client, None).await;
    let waited = started.elapsed();
    let start = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let frames = &answer[start..];
    // A ping (empty payload), then the close with 1001 "idle timeout".
    assert_eq!(&frames[..2], &[0x89, 0x00], "{frames:?}");
    assert_eq!(frames[2], 0x88);
    assert_eq!(u16::from_be_bytes([frames[4], frames[5]]), 1001);
    assert_eq!(&frames[6..], b"idle timeout");
    assert!(waited >= Duration::from_secs(2), "{waited:?}");
    assert!(waited < Duration::from_secs(6), "{waited:?}");
    assert_eq!(
        server.logged("error").await,
        "error timed out during peer idle"
    );
    server.stop();
}

#[tokio::test]
async fn a_peer_that_answers_pings_stays_open_past_the_idle_timeout() {
    let options = Options::default()
        .ping_interval(Some(Duration::from_secs(1)))
        .idle_timeout(Some(Duration::from_secs(2)));
    let server = start(ServerBuilder::new().options(options), false);
    let (mut ws, _) = ClientBuilder::new().connect(&server.url).await.unwrap();
    // The client answers pings while it waits for an event (none come but pings).
    let waited = tokio::time::timeout(Duration::from_millis(4500), ws.next_event()).await;
    match waited {
        Err(_) => {}                 // nothing but pings, answered: still open
        Ok(Ok(Event::Ping(_))) => {} // a ping surfaced as an event: also fine
        Ok(other) => panic!("expected the connection to stay open, got {other:?}"),
    }
    ws.send("still here").await.unwrap();
    loop {
        match ws.next_event().await.unwrap() {
            Event::Message(m) => break assert_eq!(m.as_text(), Some("still here")),
            Event::Ping(_) | Event::Pong(_) => continue,
            other => panic!("{other:?}"),
        }
    }
    server.stop();
}

#[tokio::test]
async fn shutdown_closes_every_connection_with_1001_and_run_returns() {
    let server = start(ServerBuilder::new(), false);
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(ClientBuilder::new().connect(&server.url).await.unwrap().0);
    }
    server.handle.begin();
    for ws in &mut clients {
        match ws.next_event().await.unwrap() {
            Event::Close(Some(frame)) => {
                assert_eq!(frame.code, CloseCode::GOING_AWAY);
                assert_eq!(frame.reason, "server shutting down");
            }
            other => panic!("expected a close, got {other:?}"),
        }
    }
    // The loop returns once the last connection is closed.
    let joined = tokio::task::spawn_blocking(move || server.thread.join());
    tokio::time::timeout(Duration::from_secs(10), joined)
        .await
        .expect("run returns")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_broadcast_reaches_every_other_connection_once_and_in_order() {
    let server = start(ServerBuilder::new(), true);
    let mut receivers = Vec::new();
    for _ in 0..5 {
        receivers.push(ClientBuilder::new().connect(&server.url).await.unwrap().0);
    }
    let (mut sender, _) = ClientBuilder::new().connect(&server.url).await.unwrap();
    // Every connection is open on the server before the first message.
    server
        .wait_for("6 connections open", |log| log.len() >= 6)
        .await;
    for i in 0..500 {
        sender.feed(format!("{i}")).await.unwrap();
    }
    sender.flush().await.unwrap();
    for ws in &mut receivers {
        for i in 0..500 {
            let m = ws.recv().await.unwrap().unwrap();
            assert_eq!(m.as_text(), Some(format!("{i}").as_str()));
        }
    }
    // The sender got none of its own messages.
    let own = tokio::time::timeout(Duration::from_millis(200), sender.recv()).await;
    assert!(own.is_err(), "the sender received {own:?}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_receiver_is_closed_with_1008_without_holding_up_the_others() {
    let options = Options::default()
        .max_buffered(256 * 1024)
        .slow_consumer(SlowConsumer::Close)
        .close_timeout(Duration::from_secs(1));
    let server = start(ServerBuilder::new().options(options), true);
    // A receiver that never reads, with a small receive buffer: its queue fills first.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(server.addr.parse().unwrap()).await.unwrap();
    stalled.write_all(REQUEST.as_bytes()).await.unwrap();
    let (mut reader, _) = ClientBuilder::new().connect(&server.url).await.unwrap();
    let (mut sender, _) = ClientBuilder::new().connect(&server.url).await.unwrap();
    server
        .wait_for("3 connections open", |log| log.len() >= 3)
        .await;
    let count = 400; // 6.4 MB: far past what the stalled socket and its queue take
    let receiving = tokio::spawn(async move {
        for i in 0..count {
            let m = reader.recv().await.unwrap().unwrap();
            assert_eq!(m.len(), 16 * 1024, "message {i}");
        }
    });
    let started = Instant::now();
    for i in 0..count {
        sender.send(vec![b'x'; 16 * 1024]).await.unwrap();
        // Let the live receiver drain; the stalled one cannot.
        if i % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    tokio::time::timeout(Duration::from_secs(10), receiving)
        .await
        .expect("the reading receiver got everything")
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "the stalled receiver slowed the rest: {elapsed:?}"
    );
    // The stalled one was sent 1008 after what it had queued; it sees the close once it
    // reads at all. It never answers, so the server gives up after the close timeout.
    let answer = read_to_end(&mut stalled, None).await;
    let tail = String::from_utf8_lossy(&answer[answer.len().saturating_sub(64)..]).into_owned();
    assert!(tail.ends_with("slow consumer"), "{tail:?}");
    let close = &answer[answer.len() - "slow consumer".len() - 4..];
    assert_eq!(
        &close[..4],
        &[0x88, 15, 0x03, 0xf0],
        "a close frame with 1008"
    );
    assert_eq!(
        server.logged("error timed out").await,
        "error timed out during closing handshake"
    );
    server.stop();
}

#[tokio::test]
async fn on_close_can_tell_the_others_who_left() {
    let server = start(ServerBuilder::new(), true);
    let (mut stays, _) = ClientBuilder::new().connect(&server.url).await.unwrap();
    let (mut goes, _) = ClientBuilder::new().connect(&server.url).await.unwrap();
    server
        .wait_for("2 connections open", |log| log.len() >= 2)
        .await;
    goes.close(CloseCode::NORMAL, "bye").await.unwrap();
    let m = tokio::time::timeout(Duration::from_secs(5), stays.recv())
        .await
        .expect("the departure is announced")
        .unwrap()
        .unwrap();
    let text = m.as_text().unwrap();
    assert!(text.starts_with('#') && text.ends_with(" left"), "{text}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_reset_during_broadcasts_is_reported_and_the_others_get_everything() {
    use std::os::fd::AsRawFd;
    let server = start(ServerBuilder::new(), true);
    let (mut stays, _) = ClientBuilder::new().connect(&server.url).await.unwrap();
    // A raw receiver that will vanish with a reset (SO_LINGER 0) while broadcasts flow.
    let mut vanishes = Some(TcpStream::connect(&server.addr).await.unwrap());
    if let Some(raw) = &mut vanishes {
        raw.write_all(REQUEST.as_bytes()).await.unwrap();
    }
    let (mut sender, _) = ClientBuilder::new().connect(&server.url).await.unwrap();
    server
        .wait_for("3 connections open", |log| log.len() >= 3)
        .await;
    let count = 200;
    for i in 0..count {
        sender.feed(vec![b'x'; 4096 + i]).await.unwrap();
        if let (true, Some(raw)) = (i == count / 2, vanishes.take()) {
            sender.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
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
        let m = tokio::time::timeout(Duration::from_secs(10), stays.recv())
            .await
            .expect("every broadcast arrives")
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
    let end = server.logged("error").await;
    // Seen by a read or by a send of the batch, whichever met the reset first.
    assert!(
        end.contains("reset") || end.contains("Broken pipe"),
        "{end}"
    );
    server.stop();
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
    let event_loop = EventLoop::bind("127.0.0.1:0".parse().unwrap(), ServerBuilder::new()).unwrap();
    let url = format!("ws://{}/", event_loop.local_addr().unwrap());
    let handle = event_loop.shutdown_handle();
    let thread = std::thread::spawn(move || event_loop.run(&mut Interleaver::default()).unwrap());
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
                let m = tokio::time::timeout(Duration::from_secs(10), ws.recv())
                    .await
                    .expect("every message arrives")
                    .unwrap()
                    .unwrap();
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
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("every client finishes")
            .unwrap();
    }
    handle.begin();
    thread.join().unwrap();
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
    let builder = ServerBuilder::new().options(options);
    let event_loop = EventLoop::bind("127.0.0.1:0".parse().unwrap(), builder).unwrap();
    let url = format!("ws://{}/", event_loop.local_addr().unwrap());
    let handle = event_loop.shutdown_handle();
    let thread = std::thread::spawn(move || event_loop.run(&mut Thrice).unwrap());
    let (mut receiver, _) = ClientBuilder::new().connect(&url).await.unwrap();
    let (mut sender, _) = ClientBuilder::new().connect(&url).await.unwrap();
    // The receiver got its 101 after the server saw it open, so it is in every broadcast.
    for round in 0..3u8 {
        let payload = vec![b'a' + round; 600];
        sender.send(payload.clone()).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(2), receiver.recv())
            .await
            .unwrap_or_else(|_| panic!("round {round}: the first broadcast was never written"))
            .unwrap()
            .unwrap();
        assert_eq!(got.payload(), &payload[..]);
    }
    // Only the first of each three was queued.
    let more = tokio::time::timeout(Duration::from_millis(300), receiver.recv()).await;
    assert!(more.is_err(), "a skipped broadcast arrived: {more:?}");
    handle.begin();
    thread.join().unwrap();
}
