//! Piped mode: stdin lines become messages, received messages become stdout lines.

use std::io::BufRead as _;

use duplex::Message;
use tokio::sync::mpsc;

use super::output::{Output, Sink, Style};
use super::Input;
use crate::args::ConnectArgs;

/// Lines read ahead of the connection: enough to keep it busy, little enough to push back.
const READ_AHEAD: usize = 64;

/// Connects, sends every input line, closes at the end of the input.
pub async fn run(args: &ConnectArgs) -> anyhow::Result<()> {
    let style = if args.json { Style::Json } else { Style::Piped };
    let out = Output::new(style, Sink::Stdout, args.timestamps, args.base64);
    let result = connected(args, &out).await;
    if let Err(error) = &result {
        let _ = out.error(error);
    }
    result
}

async fn connected(args: &ConnectArgs, out: &Output) -> anyhow::Result<()> {
    let (ws, response) = super::open(args).await?;
    out.open(&args.url, &response)?;
    let (inputs, received) = mpsc::channel(READ_AHEAD);
    read_stdin(inputs, args.binary)?;
    let timing = super::Timing {
        ping_interval: args.ping_interval,
        linger: args.linger,
    };
    super::session(ws, received, out, timing).await
}

/// Reads stdin on its own thread (blocking reads cannot be cancelled; the process does not
/// wait for this thread when the connection ends first). The end of input drops `inputs`.
fn read_stdin(inputs: mpsc::Sender<Input>, binary: bool) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut number = 0u64;
            loop {
                let mut line = Vec::new();
                match stdin.read_until(b'\n', &mut line) {
                    Ok(0) => return,
                    Ok(_) => number += 1,
                    Err(e) => {
                        let error = anyhow::Error::new(e).context("cannot read stdin");
                        let _ = inputs.blocking_send(Input::Failed(error));
                        return;
                    }
                }
                if line.last() == Some(&b'\n') {
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                }
                let input = if binary {
                    Input::Message(Message::binary(line))
                } else {
                    match String::from_utf8(line) {
                        Ok(text) => Input::Message(Message::text(text)),
                        Err(_) => Input::Failed(anyhow::anyhow!(
                            "input line {number} is not UTF-8 text (send it with --binary)"
                        )),
                    }
                };
                let failed = matches!(input, Input::Failed(_));
                if inputs.blocking_send(input).is_err() || failed {
                    return;
                }
            }
        })?;
    Ok(())
}
