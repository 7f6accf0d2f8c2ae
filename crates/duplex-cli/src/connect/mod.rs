//! `duplex connect`: a WebSocket client for people (interactive) and for scripts (piped).
//!
//! Both modes run the same session: an input thread (the line editor, or stdin) sends
//! [`Input`]s over a channel; the session writes them with the connection's writing half while
//! its reading half shows every event. Reading never waits for writing, so a peer that echoes
//! faster than we send cannot deadlock us. The input thread is a plain thread because neither
//! stdin nor the line editor can be cancelled; the process ends without waiting for it.

mod command;
mod interactive;
mod output;
mod piped;

use std::cell::Cell;
use std::io::IsTerminal as _;
use std::time::Duration;

use duplex::{Bytes, CloseFrame, Event, Message, WebSocket};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::args::ConnectArgs;
use crate::status::ClosedByPeer;
use output::Output;

/// How long we wait for the server to answer our close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// The payload of `--ping-interval` pings, so their pongs are told from those of `/ping`.
const KEEPALIVE: &[u8] = b"duplex keepalive";

/// What the input side asks the session to do.
#[derive(Debug)]
pub enum Input {
    /// Send a message.
    Message(Message),
    /// Send a ping.
    Ping(Bytes),
    /// Close with this frame, wait for the answer, and end.
    Close(CloseFrame),
    /// The input failed (unreadable stdin): close with 1001 and report this.
    Failed(anyhow::Error),
}

/// Runs `duplex connect`: interactive when stdin and stdout are terminals, piped otherwise.
pub fn run(args: ConnectArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() && !args.json {
        interactive::run(&runtime, &args)
    } else {
        runtime.block_on(piped::run(&args))
    }
}

/// Connects as the options say.
async fn open(
    args: &ConnectArgs,
) -> anyhow::Result<(
    WebSocket<duplex::MaybeTlsStream<tokio::net::TcpStream>>,
    duplex::handshake::Response,
)> {
    let builder = crate::client::builder(&args.client)?;
    builder
        .connect(&args.url)
        .await
        .map_err(crate::client::explain)
}

/// How a session behaves, beyond what the input asks.
#[derive(Debug, Clone, Copy)]
struct Timing {
    /// Send a keepalive ping this often.
    ping_interval: Option<Duration>,
    /// When the input ends, close only after nothing has arrived for this long.
    linger: Duration,
}

/// Exchanges messages until the connection closes; `Ok` for a normal close.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    ws: WebSocket<S>,
    mut inputs: mpsc::Receiver<Input>,
    out: &Output,
    timing: Timing,
) -> anyhow::Result<()> {
    let (mut reader, mut writer) = ws.split();
    let closing = Cell::new(false);
    let awaiting_pong = Cell::new(false);
    let last_received = Cell::new(Instant::now());
    let ping_interval = timing.ping_interval;

    let writing = async {
        let mut keepalive =
            ping_interval.map(|every| tokio::time::interval_at(Instant::now() + every, every));
        loop {
            let input = tokio::select! {
                input = inputs.recv() => match input {
                    Some(input) => input,
                    None => {
                        // The end of input: replies may still be on their way (some servers
                        // drop them once they have answered our close), so wait for quiet.
                        let end = Instant::now();
                        loop {
                            let quiet_at = end.max(last_received.get()) + timing.linger;
                            if Instant::now() >= quiet_at {
                                break;
                            }
                            tokio::time::sleep_until(quiet_at).await;
                        }
                        Input::Close(CloseFrame::new(1000, ""))
                    }
                },
                _ = tick(keepalive.as_mut()) => {
                    if awaiting_pong.replace(true) {
                        let every = ping_interval.unwrap_or_default().as_secs_f64();
                        anyhow::bail!("no pong within {every} s: the connection looks dead");
                    }
                    writer.ping(KEEPALIVE).await?;
                    continue;
                }
            };
            match input {
                Input::Message(message) => {
                    out.sent(&message)?;
                    writer.send(message).await?;
                }
                Input::Ping(data) => writer.ping(data).await?,
                Input::Close(frame) => {
                    closing.set(true);
                    writer.close(frame.code, &frame.reason).await?;
                    return Ok(());
                }
                Input::Failed(error) => {
                    closing.set(true);
                    let _ = writer.close(duplex::CloseCode::GOING_AWAY, "").await;
                    return Err(error);
                }
            }
        }
    };

    let reading = async {
        loop {
            let event = reader.next_event().await?;
            match event {
                Event::Close(frame) => {
                    let ours = closing.get();
                    out.closed(frame.as_ref(), ours)?;
                    return match frame {
                        _ if ours => Ok(()),
                        Some(f) if f.code == duplex::CloseCode::NORMAL => Ok(()),
                        frame => Err(ClosedByPeer(frame).into()),
                    };
                }
                Event::Pong(ref data) if data.as_ref() == KEEPALIVE => {
                    awaiting_pong.set(false);
                }
                event => {
                    last_received.set(Instant::now());
                    out.received(&event)?;
                }
            }
        }
    };

    tokio::pin!(writing, reading);
    // The reading half decides how the session ends; the writing half ends first when we
    // close (then the server has CLOSE_TIMEOUT to answer) or when it fails.
    let written = tokio::select! {
        read = &mut reading => return read,
        written = &mut writing => written,
    };
    match written {
        Ok(()) => match tokio::time::timeout(CLOSE_TIMEOUT, reading).await {
            Ok(read) => read,
            Err(_) => Err(anyhow::anyhow!(
                "the server did not answer our close within {} s",
                CLOSE_TIMEOUT.as_secs()
            )),
        },
        // The reading half usually knows better why writing failed (the server's close code);
        // otherwise (a dead connection, unreadable input) the writing half's error stands.
        Err(write_error) => match tokio::time::timeout(Duration::from_secs(1), reading).await {
            Ok(Err(read_error)) => Err(read_error),
            _ => Err(write_error),
        },
    }
}

/// Waits for the next keepalive tick, or forever without keepalive.
async fn tick(interval: Option<&mut tokio::time::Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}
