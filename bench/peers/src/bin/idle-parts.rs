//! `idle-parts`: holds idle WebSocket connections at one layer of the stack at a time, so that
//! `duplex bench idle --server-pid` can measure what each layer costs in server RSS.
//!
//! Every level answers the client's upgrade request with a minimal `101 Switching Protocols`
//! and then holds the connection without reading from it. The levels, each one more layer than
//! the one before it (except the `mio` pair, the layers of a design without a task per
//! connection):
//!
//! - `std`: blocking `std::net` accept and handshake; the `TcpStream` is pushed into a `Vec`.
//!   Only the kernel socket and 4 bytes of `Vec` (kernel memory is not in the process's RSS).
//! - `registered`: as `std`, then converted to a tokio `TcpStream`, which registers it with the
//!   reactor (a `ScheduledIo` each); kept in a `Vec`, no task.
//! - `task`: tokio accept; one spawned task per connection runs the handshake (boxed, so it does
//!   not size the task) and then waits on `stream.readable()` until the peer sends something.
//! - `task-sleep`: `task` plus a boxed 30 s `tokio::time::sleep`, selected with `readable()`
//!   and reset on each wake, as a keepalive timer is.
//! - `task-read-buf`: `task` plus a 4 KiB heap read buffer per connection, which the handshake
//!   is read into and which is kept for the connection's life.
//! - `mio`: as `std`, then registered with a `mio::Poll` (epoll) directly; kept in a `Vec`.
//! - `mio-proto`: as `mio`, kept in a slab entry together with a `duplex_proto::Connection`
//!   and the three `u32`s a timer wheel indexed by slab position needs: what one event loop
//!   driving many sans-IO connections would hold per connection. Nothing polls; this measures
//!   memory at rest.
//!
//! `idle-parts --sizes` prints the `size_of` of the types and task futures involved.
//!
//! With a task, a connection is dropped when the peer sends anything (its close frame) or
//! closes; the `Vec` levels keep the connection until the process exits.

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::time::Duration;

use duplex_proto::{Config, Connection, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

const NAME: &str = "idle-parts";

/// The keepalive timer of `task-sleep`, as `duplex::Options::ping_interval`'s default.
const KEEPALIVE: Duration = Duration::from_secs(30);

/// The read buffer of `task-read-buf`.
const READ_BUF: usize = 4096;

/// The longest request head accepted.
const MAX_HEAD: usize = 8192;

/// How long a client may take to send its request head.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Level {
    Std,
    Registered,
    Task,
    TaskSleep,
    TaskReadBuf,
    Mio,
    MioProto,
}

const LEVELS: [(&str, Level); 7] = [
    ("std", Level::Std),
    ("registered", Level::Registered),
    ("task", Level::Task),
    ("task-sleep", Level::TaskSleep),
    ("task-read-buf", Level::TaskReadBuf),
    ("mio", Level::Mio),
    ("mio-proto", Level::MioProto),
];

fn usage() -> ! {
    let names: Vec<&str> = LEVELS.iter().map(|(name, _)| *name).collect();
    eprintln!(
        "usage: {NAME} [--listen ADDR] --level {}\n       {NAME} --sizes",
        names.join("|")
    );
    std::process::exit(2);
}

fn main() -> io::Result<()> {
    let mut addr: SocketAddr = ([127, 0, 0, 1], 9001).into();
    let mut level = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sizes" => {
                print_sizes();
                return Ok(());
            }
            "--listen" => match args.next().map(|text| text.parse()) {
                Some(Ok(parsed)) => addr = parsed,
                _ => usage(),
            },
            "--level" => {
                let name = args.next().unwrap_or_else(|| usage());
                match LEVELS.iter().find(|(known, _)| *known == name) {
                    Some((_, found)) => level = Some(*found),
                    None => usage(),
                }
            }
            _ => usage(),
        }
    }
    let Some(level) = level else { usage() };
    // A current-thread runtime with I/O and time, as `duplex echo --threads 1` builds, for every
    // level: its fixed memory is then in the RSS measured before the connections open.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match level {
        Level::Std | Level::Registered | Level::Mio | Level::MioProto => {
            let _entered = rt.enter();
            hold_without_tasks(addr, level)
        }
        Level::Task | Level::TaskSleep | Level::TaskReadBuf => {
            rt.block_on(hold_with_tasks(addr, level))
        }
    }
}

fn announce(addr: io::Result<SocketAddr>, level: Level) {
    match addr {
        Ok(addr) => println!("{NAME} ready ws://{addr} ({level:?})"),
        Err(err) => eprintln!("{NAME}: local_addr: {err}"),
    }
}

/// One slab entry of the `mio-proto` level. Held, never read.
#[allow(dead_code)]
struct Slot {
    stream: mio::net::TcpStream,
    conn: Connection,
    /// The tick this connection's keepalive is due, and its neighbours (slab indices) in that
    /// tick's list: the space a timer wheel over slab indices needs. No wheel runs here.
    timer: [u32; 3],
}

/// The levels without a task: accept, handshake and store, all blocking on the main thread.
fn hold_without_tasks(addr: SocketAddr, level: Level) -> io::Result<()> {
    let listener = StdListener::bind(addr)?;
    announce(listener.local_addr(), level);
    let poll = mio::Poll::new()?;
    let mut plain: Vec<StdStream> = Vec::new();
    let mut registered: Vec<TcpStream> = Vec::new();
    let mut polled: Vec<mio::net::TcpStream> = Vec::new();
    let mut slab: Vec<Slot> = Vec::new();
    for accepted in listener.incoming() {
        let mut stream = match accepted {
            Ok(stream) => stream,
            Err(err) => {
                eprintln!("{NAME}: accept: {err}");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if let Err(err) = handshake_blocking(&mut stream) {
            eprintln!("{NAME}: handshake: {err}");
            continue;
        }
        if level != Level::Std {
            stream.set_nonblocking(true)?;
        }
        match level {
            Level::Std => plain.push(stream),
            Level::Registered => registered.push(TcpStream::from_std(stream)?),
            Level::Mio => {
                let mut stream = mio::net::TcpStream::from_std(stream);
                let token = mio::Token(polled.len());
                poll.registry()
                    .register(&mut stream, token, mio::Interest::READABLE)?;
                polled.push(stream);
            }
            Level::MioProto => {
                let mut stream = mio::net::TcpStream::from_std(stream);
                let token = mio::Token(slab.len());
                poll.registry()
                    .register(&mut stream, token, mio::Interest::READABLE)?;
                slab.push(Slot {
                    stream,
                    conn: Connection::new(Role::Server, Config::default()),
                    timer: [u32::MAX; 3],
                });
            }
            Level::Task | Level::TaskSleep | Level::TaskReadBuf => unreachable!(),
        }
    }
    Ok(())
}

/// The levels with a task per connection.
async fn hold_with_tasks(addr: SocketAddr, level: Level) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    announce(listener.local_addr(), level);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                eprintln!("{NAME}: accept: {err}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        match level {
            Level::Task => drop(tokio::spawn(task(stream))),
            Level::TaskSleep => drop(tokio::spawn(task_sleep(stream))),
            Level::TaskReadBuf => drop(tokio::spawn(task_read_buf(stream))),
            _ => unreachable!(),
        }
    }
}

/// `task`: handshake, then wait until the peer sends something or closes.
async fn task(mut stream: TcpStream) {
    let mut head = Vec::new();
    if Box::pin(handshake(&mut stream, &mut head)).await.is_err() {
        return;
    }
    drop(head);
    loop {
        if stream.readable().await.is_err() || !spurious(stream.try_read(&mut [0; 1])) {
            return;
        }
    }
}

/// `task-sleep`: `task` with a keepalive timer, boxed, reset on each wake.
async fn task_sleep(mut stream: TcpStream) {
    let mut head = Vec::new();
    if Box::pin(handshake(&mut stream, &mut head)).await.is_err() {
        return;
    }
    drop(head);
    let mut keepalive: std::pin::Pin<Box<Sleep>> = Box::pin(tokio::time::sleep(KEEPALIVE));
    loop {
        tokio::select! {
            ready = stream.readable() => {
                if ready.is_err() || !spurious(stream.try_read(&mut [0; 1])) {
                    return;
                }
            }
            () = keepalive.as_mut() => {}
        }
        keepalive.as_mut().reset(Instant::now() + KEEPALIVE);
    }
}

/// `task-read-buf`: `task` with a 4 KiB read buffer that the request head is read into and
/// that stays allocated.
async fn task_read_buf(mut stream: TcpStream) {
    let mut buf = Vec::with_capacity(READ_BUF);
    if Box::pin(handshake(&mut stream, &mut buf)).await.is_err() {
        return;
    }
    buf.clear();
    buf.resize(READ_BUF, 0);
    loop {
        if stream.readable().await.is_err() || !spurious(stream.try_read(&mut buf)) {
            return;
        }
    }
}

/// Whether a read after a readiness event found nothing after all (the connection lives on).
fn spurious(read: io::Result<usize>) -> bool {
    matches!(read, Err(ref err) if err.kind() == io::ErrorKind::WouldBlock)
}

/// Reads the request head into `head` (growing it as needed) and writes the 101 response.
async fn handshake(stream: &mut TcpStream, head: &mut Vec<u8>) -> io::Result<()> {
    let read_head = async {
        let mut chunk = [0u8; 1024];
        loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            head.extend_from_slice(&chunk[..n]);
            if let Some(end) = head_end(head) {
                return response(&head[..end]);
            }
            if head.len() > MAX_HEAD {
                return Err(invalid("request head too long"));
            }
        }
    };
    let reply = tokio::time::timeout(HANDSHAKE_TIMEOUT, read_head)
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    stream.write_all(&reply).await
}

/// The blocking twin of [`handshake`].
fn handshake_blocking(stream: &mut StdStream) -> io::Result<()> {
    stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    let reply = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = head_end(&head) {
            break response(&head[..end])?;
        }
        if head.len() > MAX_HEAD {
            return Err(invalid("request head too long"));
        }
    };
    stream.write_all(&reply)?;
    stream.set_read_timeout(None)
}

fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// The 101 response to a request head: only the key is looked at (no subprotocol, no
/// extension is ever accepted).
fn response(head: &[u8]) -> io::Result<Vec<u8>> {
    let text = std::str::from_utf8(head).map_err(|_| invalid("request head is not UTF-8"))?;
    let key = text
        .split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-key"))
        .map(|(_, value)| value.trim())
        .ok_or_else(|| invalid("no Sec-WebSocket-Key"))?;
    Ok(format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        duplex_proto::handshake::accept_key(key.as_bytes())
    )
    .into_bytes())
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// The size of the future a connection function returns, without making one.
fn future_size<F, Fut>(_: F) -> usize
where
    F: FnOnce(TcpStream) -> Fut,
    Fut: Future,
{
    std::mem::size_of::<Fut>()
}

fn print_sizes() {
    use std::mem::size_of;
    let rows = [
        ("std::net::TcpStream", size_of::<StdStream>()),
        ("mio::net::TcpStream", size_of::<mio::net::TcpStream>()),
        ("tokio::net::TcpStream", size_of::<TcpStream>()),
        ("tokio::time::Sleep", size_of::<Sleep>()),
        ("duplex_proto::Connection", size_of::<Connection>()),
        ("  of which duplex_proto::Config", size_of::<Config>()),
        (
            "  of which duplex_proto::SendBuffer",
            size_of::<duplex_proto::SendBuffer>(),
        ),
        (
            "  of which duplex_proto::Utf8Validator",
            size_of::<duplex_proto::Utf8Validator>(),
        ),
        ("mio-proto slab entry (Slot)", size_of::<Slot>()),
        ("task future: task", future_size(task)),
        ("task future: task-sleep", future_size(task_sleep)),
        ("task future: task-read-buf", future_size(task_read_buf)),
    ];
    for (what, size) in rows {
        println!("{size:>6}  {what}");
    }
}
