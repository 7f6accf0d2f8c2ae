//! `duplex connect` on a terminal (a pseudo-terminal here): prompt, history, direction
//! marks, commands, and messages that arrive while the user is typing.

mod common;

use std::process::Command;

use common::Echo;
use rexpect::process::WaitStatus;
use rexpect::session::{spawn_command, PtySession};

const UP: &str = "\x1b[A";

fn start(args: &[&str]) -> PtySession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_duplex"));
    command.arg("connect").args(args).env("TERM", "xterm");
    spawn_command(command, Some(10_000)).expect("start duplex connect in a pty")
}

fn exit_code(session: &PtySession) -> i32 {
    match session.process().wait().expect("wait") {
        WaitStatus::Exited(_, code) => code,
        other => panic!("duplex ended with {other:?}"),
    }
}

#[test]
fn messages_history_ping_and_close() {
    let echo = Echo::start(&[]);
    let mut p = start(&[&echo.url]);
    p.exp_string("connected to").unwrap();
    p.exp_string("> ").unwrap();
    p.send_line("hello").unwrap();
    p.exp_string("< hello").unwrap();
    p.send_line("/ping are you there").unwrap();
    p.exp_string("< [pong] are you there").unwrap();
    p.send_line("/binary 00ff").unwrap();
    p.exp_string("< [binary] 00ff").unwrap();
    // Up three times walks back past /binary and /ping to `hello`.
    p.send(&UP.repeat(3)).unwrap();
    p.send_line("").unwrap();
    p.exp_string("< hello").unwrap();
    p.send_line("/nonsense").unwrap();
    p.exp_string("unknown command /nonsense").unwrap();
    p.send_line("/close 4000 bye").unwrap();
    p.exp_string("< [close] 4000 bye").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0, "a close we started ends well");
}

#[test]
fn timestamps_and_end_of_input() {
    let echo = Echo::start(&[]);
    let mut p = start(&["-t", &echo.url]);
    p.exp_string("> ").unwrap();
    p.send_line("stamped").unwrap();
    // `12:34:56.789 > stamped`, then the echo with its own time.
    p.exp_regex(r"\d\d:\d\d:\d\d\.\d\d\d > stamped").unwrap();
    p.exp_regex(r"\d\d:\d\d:\d\d\.\d\d\d < stamped").unwrap();
    p.send_control('d').unwrap();
    p.exp_string("< [close] 1000").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0);
}

#[test]
fn a_message_arriving_while_typing_keeps_the_typed_text() {
    let url = talkative_server();
    let mut p = start(&[&url]);
    p.exp_string("> ").unwrap();
    p.send("half typed").unwrap();
    p.flush().unwrap();
    p.exp_string("< news from the server").unwrap();
    p.send_line(" line").unwrap();
    p.exp_string("< half typed line").unwrap();
    p.send_line("/quit").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0);
}

#[test]
fn the_server_closing_ends_the_session_with_its_status() {
    let url = talkative_server();
    let mut p = start(&[&url]);
    p.exp_string("< news from the server").unwrap();
    p.send_line("please close").unwrap();
    p.exp_string("< [close] 4001 as you wish").unwrap();
    p.exp_string("closed by the server with code 4001").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 4);
}

/// A server that sends a message 300 ms after the handshake, echoes what it gets, and closes
/// with 4001 when asked to.
fn talkative_server() -> String {
    common::serve_in_thread(move |listener| async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = duplex::accept(stream).await.unwrap();
        let news = tokio::time::sleep(std::time::Duration::from_millis(300));
        tokio::pin!(news);
        let mut told = false;
        loop {
            tokio::select! {
                () = &mut news, if !told => {
                    told = true;
                    ws.send("news from the server").await.unwrap();
                }
                message = ws.recv() => match message {
                    Ok(Some(m)) if m.as_text() == Some("please close") => {
                        let _ = ws.close(4001, "as you wish").await;
                        return;
                    }
                    Ok(Some(m)) => ws.send(m).await.unwrap(),
                    _ => return,
                },
            }
        }
    })
}
